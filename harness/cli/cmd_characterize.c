/* gcsim characterize: run the SPICE sweeps of a technology and write curves.h5. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "spice.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: gcsim characterize [--tech si|igzo|FILE] [--set NAME=VALUE]... [--jobs N]\n"
            "                          [--timeout S] [--plan FILE] [-v] --out curves.h5\n"
            "       gcsim characterize --list-params [--tech T]\n\n"
            "Runs the read, leakage, write, charge-to-pulse and readout sweeps of a technology\n"
            "in ngspice (one worker process per simulation) and writes curves.h5 atomically.\n\n"
            "  --tech T        si (default), igzo, or a .tech file\n"
            "  --set N=V       override any netlist parameter (see --list-params), repeatable\n"
            "  --jobs N        simulations at once (default 2)\n"
            "  --timeout S     per-simulation limit in seconds (default 300)\n"
            "  --plan FILE     sweep resolution (default data/sweeps/default.plan)\n"
            "  --dump-netlists DIR  also write every netlist run to DIR (to re-run by hand)\n"
            "  -v              print the time of every simulation\n"
            "  --list-params   print every parameter with its default and unit\n");
}

static void list_params(const spice_tech *t)
{
    printf("# technology %s (%s)\n# %-11s %-12s %-6s %s\n", t->name, t->path, "name", "default",
           "unit", "description");
    for (int i = 0; i < t->n_params; i++)
        printf("%-13s %-12.6g %-6s %s\n", t->params[i].name, t->params[i].value,
               t->params[i].unit, t->params[i].description);
}

int cmd_characterize(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tech", required_argument, 0, 't'}, {"set", required_argument, 0, 's'},
        {"jobs", required_argument, 0, 'j'}, {"timeout", required_argument, 0, 'T'},
        {"plan", required_argument, 0, 'p'}, {"out", required_argument, 0, 'o'},
        {"list-params", no_argument, 0, 'l'}, {"dump-netlists", required_argument, 0, 'd'}, {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *tech = "si", *out = NULL, *plan_path = NULL, *dump = NULL;
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    int n_sets = 0, list = 0, verbose = 0, c;
    spice_run_opts run = {.jobs = 2, .timeout_s = 300, .progress = 1};
    optind = 1;
    while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 't': tech = optarg; break;
        case 's': sets[n_sets++] = optarg; break;
        case 'j':
            run.jobs = (int)strtol(optarg, &end, 10);
            if (*end || run.jobs < 1 || run.jobs > 256) {
                fprintf(stderr, "gcsim characterize: --jobs %s: expected 1..256\n", optarg);
                free(sets);
                return 2;
            }
            break;
        case 'T':
            run.timeout_s = strtod(optarg, &end);
            if (*end || !(run.timeout_s > 0)) {
                fprintf(stderr, "gcsim characterize: --timeout %s: expected seconds > 0\n", optarg);
                free(sets);
                return 2;
            }
            break;
        case 'p': plan_path = optarg; break;
        case 'd': dump = optarg; break;
        case 'o': out = optarg; break;
        case 'l': list = 1; break;
        case 'v': verbose = 1; break;
        case 'h': usage(stdout); free(sets); return 0;
        default: usage(stderr); free(sets); return 2;
        }
    }
    if (optind < argc || (!list && !out)) {
        fprintf(stderr, "gcsim characterize: %s\n",
                optind < argc ? "unexpected argument" : "--out is required");
        usage(stderr);
        free(sets);
        return 2;
    }
    gc_err e = {0};
    spice_tech *t = malloc(sizeof *t);
    spice_plan plan;
    spice_plan_default(&plan);
    char default_plan[4096];
    snprintf(default_plan, sizeof default_plan, "%s/data/sweeps/default.plan", cli_root());
    int rc = !t || spice_tech_load(tech, cli_root(), t, &e);
    for (int i = 0; i < n_sets && !rc; i++)
        rc = spice_tech_set(t, sets[i], &e);
    if (!rc && list) {
        list_params(t);
    } else if (!rc) {
        rc = spice_plan_load(plan_path ? plan_path : default_plan, &plan, &e);
        char cmdline[8192];
        cli_command_line(argc, argv, cmdline, sizeof cmdline);
        spice_char_opts o = {.plan = &plan, .run = run, .command_line = cmdline,
                             .dump_dir = dump, .verbose = verbose};
        double t0 = gc_now();
        rc = rc || spice_characterize(t, &o, out, &e);
        if (!rc)
            fprintf(stderr, "gcsim characterize: %s written (technology %s, %.1f s)\n", out,
                    t->name, gc_now() - t0);
    }
    if (rc)
        fprintf(stderr, "gcsim characterize: %s\n", e.msg[0] ? e.msg : "out of memory");
    free(t);
    free(sets);
    return rc ? 1 : 0;
}
