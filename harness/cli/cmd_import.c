/* gcsim import: external I-V and leakage curves (CSV) -> curves.h5 for `gcsim fit`. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "calibrate.h"
#include "cli.h"
#include "commands.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: gcsim import --read-iv FILE.csv [--leak FILE.csv] --out curves.h5\n"
            "                    [--t-max S] [--t-write S] [--levels N] [--c-node F] [--vdd V]\n"
            "                    [--technology NAME]\n\n"
            "Turns measured or foreign-simulator curves into a curves.h5 that `gcsim fit`\n"
            "reads (written atomically). CSV files have one header line, then rows in any\n"
            "order forming a full grid:\n"
            "  --read-iv  vstore_V,vin_V,current_A   DC current into the bit line\n"
            "  --leak     v0_V,time_s,vstore_V       hold transients on one time axis\n"
            "Missing write, converter and (without --leak) leakage sweeps get PAPER.md\n"
            "defaults when fitted.\n\n"
            "  --t-max S      full read pulse width (default 15e-9)\n"
            "  --t-write S    write pulse width, recorded for the cell's default token period\n"
            "                 (default: none recorded; then give --token-period when running it)\n"
            "  --levels N     read pulse levels of the charge table (default 16)\n"
            "  --c-node F     node capacitance assumed to derive I_leak = -C dV/dt from the\n"
            "                 transients (default 10e-15)\n"
            "  --vdd V        supply (default: the largest vstore_V)\n"
            "  --technology NAME  name stored in the file (default imported)\n");
}

/* A number in (0, max] (its physical range); -1 with a message naming the option if not. */
static int parse_pos(const char *opt, double max, double *v, gc_err *e)
{
    return gc_parse_double(optarg, opt, 0, max, 1, 0, v, e);
}

/* One option into o (out gets --out); -1 with a message naming the option if its value is
 * bad. */
static int set_opt(int ch, calib_import_opts *o, const char **out, gc_err *e)
{
    long levels;
    switch (ch) {
    case 'r': o->read_iv_csv = optarg; return 0;
    case 'l': o->leak_csv = optarg; return 0;
    case 'o': *out = optarg; return 0;
    case 'T': o->technology = optarg; return 0;
    case 't': return parse_pos("--t-max (s)", 1, &o->t_max_s, e);
    case 'w': return parse_pos("--t-write (s)", 1, &o->t_write_s, e);
    case 'c': return parse_pos("--c-node (F)", 1e-9, &o->c_node_f, e);
    case 'v': return parse_pos("--vdd (V)", 10, &o->vdd_v, e);
    case 'n':
        if (gc_parse_long(optarg, "--levels", 2, 256, &levels, e))
            return -1;
        o->levels = (int)levels;
        return 0;
    }
    return -1;
}

int cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"read-iv", required_argument, 0, 'r'}, {"leak", required_argument, 0, 'l'},
        {"out", required_argument, 0, 'o'},     {"t-max", required_argument, 0, 't'},
        {"levels", required_argument, 0, 'n'},  {"c-node", required_argument, 0, 'c'},
        {"vdd", required_argument, 0, 'v'},     {"technology", required_argument, 0, 'T'},
        {"t-write", required_argument, 0, 'w'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    calib_import_opts o = {.t_max_s = 15e-9, .levels = 16, .c_node_f = 10e-15};
    const char *out = NULL;
    gc_err e = {{0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'h' || ch == '?') {
            usage(ch == 'h' ? stdout : stderr);
            return ch == 'h' ? 0 : 2;
        }
        if (set_opt(ch, &o, &out, &e)) {
            fprintf(stderr, "gcsim import: %s\n", e.msg);
            return 2;
        }
    }
    if (!o.read_iv_csv || !out || optind < argc) {
        usage(stderr);
        return 2;
    }
    char cmdline[8192], tmp[4096];
    cli_command_line(argc, argv, cmdline, sizeof cmdline);
    o.command_line = cmdline;
    const char *inputs[] = {o.read_iv_csv, o.leak_csv};
    int rc = gc_check_output("--out", out, inputs, 2, &e) ||
             gc_tmp_path_beside(out, tmp, sizeof tmp, &e);
    if (rc == 0) {
        rc = calib_import(&o, tmp, &e);
        if (rc)
            unlink(tmp);
        else
            rc = gc_commit_file(tmp, out, &e);
    }
    if (rc) {
        fprintf(stderr, "gcsim import: %s\n", e.msg);
        return 1;
    }
    printf("wrote %s\n", out);
    return 0;
}
