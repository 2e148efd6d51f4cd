/* gcsim characterize: run the SPICE sweeps of a technology and write curves.h5. */
#include <getopt.h>
#include <math.h>
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
            "                          [--corner tt|ff|ss|fs|sf] [--mc N [--seed S]]\n"
            "                          [--timeout S] [--retries N] [--plan FILE]\n"
            "                          [--dump-netlists DIR] [-v] --out curves.h5\n"
            "       gcsim characterize --list-params [--tech T] [--set NAME=VALUE]...\n\n"
            "Runs the read, leakage, write, charge-to-pulse and readout sweeps of a technology\n"
            "in ngspice (one worker process per simulation) and writes curves.h5 atomically.\n\n"
            "  --tech T        si (default), igzo, or a .tech file\n"
            "  --set N=V       override any netlist parameter (see --list-params), repeatable;\n"
            "                  --set temp=85 simulates at 85 C (the cards' temperature laws)\n"
            "  --corner C      process corner: global shifts of the cards' parameters that the\n"
            "                  .tech file declares (corner lines); tt (default) is nominal\n"
            "  --mc N          also N Monte Carlo instances of the cell: each device its own\n"
            "                  Pelgrom draw (a_vt_*, a_beta_*, sigma_cs of the .tech), their\n"
            "                  read, I_leak(V) and write sweeps into /mc/000.. (for gcsim fit)\n"
            "  --seed S        seed of the draws, 0..2147483647 (default 1); recorded in /mc\n"
            "  --jobs N        simulations at once (default 2)\n"
            "  --timeout S     per-simulation limit in seconds (default 300)\n"
            "  --retries N     start a simulation again up to N times if its worker process\n"
            "                  dies without a result (killed, crashed; default 1)\n"
            "  --plan FILE     sweep resolution (default data/sweeps/default.plan)\n"
            "  --dump-netlists DIR  also write every netlist run to DIR (to re-run by hand)\n"
            "  -v, --verbose   print the time of every simulation (and its retries)\n"
            "  --list-params   print every parameter with its default, unit and valid range\n");
}

static void list_params(const spice_tech *t)
{
    printf("# technology %s (%s)\n# %-11s %-12s %-6s %-20s %s\n", t->name, t->path, "name",
           "default", "unit", "valid range", "description");
    for (int i = 0; i < t->n_params; i++) {
        const spice_param *p = &t->params[i];
        char range[64] = "any";
        if (p->has_range)
            snprintf(range, sizeof range, "[%g, %g]", p->min, p->max);
        printf("%-13s %-12.6g %-6s %-20s %s\n", p->name, p->value, p->unit, range,
               p->description);
    }
}

typedef struct {
    const char *tech, *out, *plan, *dump, *corner;
    const char **sets;          /* --set assignments, n_sets of them */
    int n_sets, list, verbose, mc;
    long seed;
    spice_run_opts run;
} char_args;

/* One option into a; -1 with a message naming the option if its value is bad. */
static int set_opt(int c, char_args *a, gc_err *e)
{
    long jobs, retries, mc;
    switch (c) {
    case 't': a->tech = optarg; return 0;
    case 's': a->sets[a->n_sets++] = optarg; return 0;
    case 'p': a->plan = optarg; return 0;
    case 'C': a->corner = optarg; return 0;
    case 'M':
        if (gc_parse_long(optarg, "--mc", 1, 100000, &mc, e))
            return -1;
        a->mc = (int)mc;
        return 0;
    case 'S': return gc_parse_long(optarg, "--seed", 0, 2147483647, &a->seed, e);
    case 'd': a->dump = optarg; return 0;
    case 'o': a->out = optarg; return 0;
    case 'l': a->list = 1; return 0;
    case 'v': a->verbose = 1; return 0;
    case 'j':
        if (gc_parse_long(optarg, "--jobs", 1, 256, &jobs, e))
            return -1;
        a->run.jobs = (int)jobs;
        return 0;
    case 'r':
        if (gc_parse_long(optarg, "--retries", 0, 100, &retries, e))
            return -1;
        a->run.retries = (int)retries;
        return 0;
    case 'T': return gc_parse_double(optarg, "--timeout", 0, INFINITY, 1, 1, &a->run.timeout_s, e);
    }
    return -1;
}

/* 0: run; 1: --help was printed; 2: a usage error was printed. a->sets has argc slots. */
static int parse(int argc, char **argv, char_args *a)
{
    static const struct option opts[] = {
        {"tech", required_argument, 0, 't'}, {"set", required_argument, 0, 's'},
        {"jobs", required_argument, 0, 'j'}, {"timeout", required_argument, 0, 'T'},
        {"plan", required_argument, 0, 'p'}, {"out", required_argument, 0, 'o'},
        {"list-params", no_argument, 0, 'l'}, {"dump-netlists", required_argument, 0, 'd'},
        {"verbose", no_argument, 0, 'v'},     {"help", no_argument, 0, 'h'},
        {"retries", required_argument, 0, 'r'}, {"corner", required_argument, 0, 'C'},
        {"mc", required_argument, 0, 'M'},      {"seed", required_argument, 0, 'S'},
        {0, 0, 0, 0}};
    gc_err e = {{0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
        if (c == 'h' || c == '?') {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 1 : 2;
        }
        if (set_opt(c, a, &e)) {
            fprintf(stderr, "gcsim characterize: %s\n", e.msg);
            return 2;
        }
    }
    if (optind < argc || (!a->list && !a->out)) {
        fprintf(stderr, "gcsim characterize: %s\n",
                optind < argc ? "unexpected argument" : "--out is required");
        usage(stderr);
        return 2;
    }
    return 0;
}

/* Loads the technology with its overrides, then lists its parameters or runs the sweeps. */
static int run(const char_args *a, const char *cmdline, spice_tech *t, gc_err *e)
{
    spice_plan plan;
    spice_plan_default(&plan);
    char default_plan[4096];
    snprintf(default_plan, sizeof default_plan, "%s/data/sweeps/default.plan", cli_root());
    int rc = spice_tech_load(a->tech, cli_root(), t, e);
    for (int i = 0; i < a->n_sets && !rc; i++)
        rc = spice_tech_set(t, a->sets[i], e);
    if (!rc && a->corner)
        rc = spice_tech_set_corner(t, a->corner, e);
    if (rc || a->list) {
        if (!rc)
            list_params(t);
        return rc ? -1 : 0;
    }
    spice_char_opts o = {.plan = &plan, .run = a->run, .command_line = cmdline,
                         .dump_dir = a->dump, .verbose = a->verbose, .mc_instances = a->mc,
                         .mc_seed = (unsigned long long)a->seed};
    const char *in[] = {a->plan, t->path, a->dump};
    if (gc_check_output("--out", a->out, in, 3, e))
        return -1;
    double t0 = gc_now();
    rc = spice_plan_load(a->plan ? a->plan : default_plan, &plan, e) ||
         spice_characterize(t, &o, a->out, e);
    if (!rc)
        fprintf(stderr, "gcsim characterize: %s written (technology %s, %.1f s)\n", a->out,
                t->name, gc_now() - t0);
    return rc ? -1 : 0;
}

int cmd_characterize(int argc, char **argv)
{
    char_args a = {.tech = "si", .seed = 1, .run = {.jobs = 2, .timeout_s = 300, .progress = 1,
                                         .retries = SPICE_RETRIES_DEFAULT}};
    a.sets = calloc((size_t)argc + 1, sizeof *a.sets);
    spice_tech *t = malloc(sizeof *t);
    gc_err e = {{0}};
    int rc = a.sets && t ? parse(argc, argv, &a) : -1;
    if (rc == 0 && !a.list && gc_interrupt_catch(&e))
        rc = -1;
    if (rc == 0) {
        char cmdline[8192];
        cli_command_line(argc, argv, cmdline, sizeof cmdline);
        rc = run(&a, cmdline, t, &e);
    }
    if (rc < 0)
        fprintf(stderr, "gcsim characterize: %s\n", e.msg[0] ? e.msg : "out of memory");
    free(t);
    free(a.sets);
    return cli_exit_status(rc < 0 ? 1 : rc == 1 ? 0 : rc);
}
