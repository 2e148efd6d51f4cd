/* gcsim: the command line. Dispatches to one subcommand; every library error reaches the
 * user here as one line on stderr and a non-zero exit status. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const gcsim_command commands[] = {
    {"characterize", "run the SPICE sweeps of a technology and write curves.h5", cmd_characterize},
    {"plot", "write one PNG per sweep of a curves.h5", cmd_plot},
    {"tokenize", "tokenize a text file (GPT-2 BPE or bytes), print the count, write .npy", cmd_tokenize},
    {"ppl", "perplexity of a GPT-2 on a text, digital or analog attention", cmd_ppl},
    {"cost", "energy, latency and area per token of the analog attention, vs a GPU", cmd_cost},
    {"eval", "LAMBADA and multiple-choice accuracy, as lm-evaluation-harness scores them", cmd_eval},
    {"generate", "sample text from a GPT-2 with streaming decode (seeded)", cmd_generate},
    {"adapt", "set the per-head hardware scalers by moment matching (PAPER.md 4)", cmd_adapt},
    {"attention", "run one attention variant on q, k, v .npy files (S, phi, out)", cmd_attention},
    {"fit", "fit curves.h5 to a behavioural cell model cell.h5 (with residuals)", cmd_fit},
    {"import", "turn external I-V / leakage CSV curves into a curves.h5", cmd_import},
    {"validate", "a 64-cell column in SPICE against the cell model's per-cell sum", cmd_validate},
    {"report", "one self-contained HTML page from a results folder", cmd_report},
    {"sweep", "a design space through characterize, fit, adapt and ppl, cached", cmd_sweep},
};
static const int n_commands = sizeof commands / sizeof commands[0];

static void usage(FILE *out)
{
    fprintf(out, "gcsim %s: SPICE-calibrated gain-cell analog attention.\n\n"
                 "usage: gcsim <command> [options]   (gcsim <command> --help for details)\n\n"
                 "commands:\n", GCSIM_VERSION);
    for (int i = 0; i < n_commands; i++)
        fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
        if (argc > 2) {
            for (int i = 0; i < n_commands; i++)
                if (!strcmp(commands[i].name, argv[2])) {
                    char *help_argv[] = {argv[2], "--help", NULL};
                    return commands[i].run(2, help_argv);
                }
        }
        usage(stdout);
        return 0;
    }
    if (!strcmp(name, "--version")) {
        printf("gcsim %s\n", GCSIM_VERSION);
        return 0;
    }
    for (int i = 0; i < n_commands; i++)
        if (!strcmp(commands[i].name, name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "gcsim: unknown command '%s' (try gcsim help)\n", name);
    return 2;
}
