/* gcsim report: the results folder as one self-contained HTML page (harness/report.h). */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "report.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gcsim report [--results DIR] [--gpu FILE] [--out FILE]\n\n"
            "Writes one self-contained HTML page (images inline) from what the main job and\n"
            "the commands left in DIR (default results): perplexity per variant and\n"
            "technology (ppl_*.json), perplexity against the token period (ppl_period_*.json),\n"
            "task accuracy (eval_*.json), fit residuals (fit_*.json), validation against SPICE\n"
            "(validate*/validate.json), the circuit curves (plots_*/*.png) and the GPU baseline\n"
            "(FILE, default data/gpu/h100_attention_decode.json of the source tree). Every\n"
            "number names its file and key and is marked simulated, measured or declared.\n"
            "Default --out: DIR/report.html.\n");
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"results", required_argument, 0, 'r'}, {"gpu", required_argument, 0, 'g'},
        {"out", required_argument, 0, 'o'},     {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    char gpu[4096], out[4096];
    const char *dir = "results", *gpu_json = NULL, *out_html = NULL;
    gc_err e = {{0}};
    int c, prc = 0;
    optind = 1;
    opterr = 0;
    while (!prc && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'r')
            dir = optarg;
        else if (c == 'g')
            gpu_json = optarg;
        else if (c == 'o')
            out_html = optarg;
        else
            prc = c == 'h' ? 1 : cli_bad_option(argv, &e);
    }
    if (!prc && optind < argc)
        prc = gc_fail(&e, "unexpected argument '%s'", argv[optind]);
    if (prc)
        return cli_parse_exit("report", prc, usage, &e);
    snprintf(gpu, sizeof gpu, "%s/data/gpu/h100_attention_decode.json", cli_root());
    snprintf(out, sizeof out, "%s/report.html", dir);
    if (report_write(dir, gpu_json ? gpu_json : gpu, out_html ? out_html : out, &e)) {
        fprintf(stderr, "gcsim report: %s\n", e.msg);
        return 1;
    }
    printf("wrote %s\n", out_html ? out_html : out);
    return 0;
}
