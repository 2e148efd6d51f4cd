/* gcsim validate: the behavioural cell model against a whole column or array in SPICE.
 * Parses the options, runs the validation engine (harness/validate.h) and prints one line. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>

#include "analog_options.h"
#include "cli.h"
#ifdef GCSIM_MPI
#include <mpi.h>
#endif
#include "commands.h"
#include "validate.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: gcsim validate --cell cell.h5 [--tech si|igzo|FILE] [--samples N] [--seed S]\n"
            "                      [--cells N] [--columns N] [--jobs N] [--max-age N]\n"
            "                      [--timeout S] [--retries N]\n"
            "                      [--spice-accuracy columns|fast|reference] [--relaxations N]\n"
            "                      [--mc-chips N [--mc-seed S]]\n"
            "                      [analog options] --out DIR\n\n"
            "Simulates N random patterns of an array in ngspice (each column: cells on one bit\n"
            "line, the integrator and the charge-to-pulse converter; each row: one word-line\n"
            "driver and wire across the columns) and compares every column's bit-line charge\n"
            "and output pulse with the cell model's per-cell sum. Writes DIR/validate.json,\n"
            "DIR/charge_scatter.png and DIR/charge_error_hist.png.\n\n"
            "  --cell FILE     cell model (gcsim fit) of the same technology\n"
            "  --tech T        si (default), igzo, or a .tech file\n"
            "  --samples N     patterns (default 200), one simulation each\n"
            "  --seed S        pattern seed (default 1)\n"
            "  --cells N       cells on each bit line, i.e. rows (default 64)\n"
            "  --columns N     bit lines (default 1: one column; 64 for a 64 x 64 array)\n"
            "  --jobs N        simulations at once (default 2)\n"
            "  --max-age N     ages are uniform in 0..N tokens (default 1024); a cell's hold time\n"
            "                  is its age times the token period (--token-period; by default\n"
            "                  the cell's own schedule in a 12-layer model, --layers 12)\n"
            "  --timeout S     per-simulation limit in seconds (default 300)\n"
            "  --retries N     start a simulation again up to N times if its worker process\n"
            "                  dies without a result (killed, crashed; default 1)\n"
            "  --spice-accuracy M  columns (default): the word lines with every bit line\n"
            "                  held at mid-rail, then groups of 8 columns alone with their word\n"
            "                  lines replayed from that run, through the read; relaxed once\n"
            "                  (word lines again with the bit lines of that columns run, then\n"
            "                  the columns again); then each column's integrator and converter\n"
            "                  from its bit-line current;\n"
            "                  fast: the whole array through the read (2 ns largest step, 8\n"
            "                  word-line wire nodes per row), then the converters the same way;\n"
            "                  reference: the whole array through read and window at the\n"
            "                  characterization's settings (50 ps step, a wire node per cell);\n"
            "                  they agree within 0.1 %% of full scale (bench/array_spice.py)\n"
            "  --relaxations N columns mode: relax N times instead of once (0: none)\n"
            "  --mc-chips N    also N chips of one column in SPICE, every cell its own mismatch\n"
            "                  draw, one stored pattern: the column charge's mean and std vs\n"
            "                  the prediction of the cell's /variation (gcsim fit of curves\n"
            "                  made with characterize --mc): mc_mean_err_pct, mc_std_err_pct\n"
            "  --mc-seed S     seed of those draws (default 1)\n\n");
    analog_options_help(out);
}

/* An integer option into an int field. */
static int opt_int(const char *arg, const char *opt, long lo, long hi, int *out, gc_err *e)
{
    long v;
    if (gc_parse_long(arg, opt, lo, hi, &v, e))
        return -1;
    *out = (int)v;
    return 0;
}

/* One option into o; -1 with a message naming the option if its value is bad. */
static int set_opt(int c, const char *v, void *ctx, gc_err *e)
{
    validate_opts *o = ctx;
    long seed;
    switch (c) {
    case 't': o->tech = v; return 0;
    case 'o': o->out_dir = v; return 0;
    case 'n': return opt_int(v, "--samples", 1, 100000, &o->samples, e);
    case 'C': return opt_int(v, "--cells", 1, 1024, &o->rows, e);
    case 'L': return opt_int(v, "--columns", 1, 1024, &o->cols, e);
    case 'j': return opt_int(v, "--jobs", 1, 256, &o->jobs, e);
    case 'a': return opt_int(v, "--max-age", 0, 1 << 24, &o->max_age_tokens, e);
    case 'r': return opt_int(v, "--retries", 0, 100, &o->retries, e);
    case 'M': return opt_int(v, "--mc-chips", 2, 100000, &o->mc_chips, e);
    case 'S':
        if (gc_parse_long(v, "--mc-seed", 0, 2147483647, &seed, e))
            return -1;
        o->mc_seed = (uint64_t)seed;
        return 0;
    case 's':
        if (gc_parse_long(v, "--seed", 0, 2147483647, &seed, e))
            return -1;
        o->seed = (uint64_t)seed;
        return 0;
    case 'T': return gc_parse_double(v, "--timeout", 0, INFINITY, 1, 1, &o->timeout_s, e);
    case 'X':
        if (gc_parse_long(v, "--relaxations", 0, 10, &seed, e))
            return -1;
        o->relaxations = (int)seed;
        return 0;
    case 'A':
        o->array_mode = spice_array_mode_find(v);
        return o->array_mode ? 0
                             : gc_fail(e, "--spice-accuracy: '%s' is not columns, fast or "
                                          "reference", v);
    }
    return gc_fail(e, "option %d not handled", c);
}

/* Returns 1 after --help, 0 when parsed, -1 on an error. */
static int parse(int argc, char **argv, validate_opts *o, gc_err *e)
{
    static const struct option own[] = {
        {"tech", required_argument, 0, 't'},    {"samples", required_argument, 0, 'n'},
        {"seed", required_argument, 0, 's'},    {"cells", required_argument, 0, 'C'},
        {"jobs", required_argument, 0, 'j'},    {"columns", required_argument, 0, 'L'},
        {"max-age", required_argument, 0, 'a'}, {"timeout", required_argument, 0, 'T'},
        {"out", required_argument, 0, 'o'},     {"retries", required_argument, 0, 'r'},
        {"spice-accuracy", required_argument, 0, 'A'},
        {"relaxations", required_argument, 0, 'X'},
        {"mc-chips", required_argument, 0, 'M'}, {"mc-seed", required_argument, 0, 'S'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    gpt2_settings over = {0};
    int r = analog_getopt(argc, argv, own, set_opt, o, &over, e);
    if (r)
        return r;
    if (!o->out_dir)
        return gc_fail(e, "--out is required");
    if (analog_config_apply(&o->analog, &over, e))
        return -1;
    if (o->relaxations >= 0 && o->array_mode->columns_per_job <= 0)
        return gc_fail(e, "--relaxations: only with --spice-accuracy columns");
    if (o->analog.variant->engine != ATTN_ENGINE_CELL)
        return gc_fail(e, "validate compares a cell model with SPICE: give --cell");
    return 0;
}

int cmd_validate(int argc, char **argv)
{
    validate_opts o;
    validate_opts_default(&o);
    o.root = cli_root();
    gc_err e = {{0}};
    int prc = parse(argc, argv, &o, &e);
    if (prc)
        return cli_parse_exit("validate", prc, usage, &e);
    char cmdline[8192];
    cli_command_line(argc, argv, cmdline, sizeof cmdline);
    validate_result r;
    int rank = 0, rc = gc_interrupt_catch(&e);
#ifdef GCSIM_MPI
    int mpi = cli_under_mpirun();
    if (mpi) { /* ranks share the patterns' simulations; rank 0 compares and writes */
        MPI_Init(&argc, &argv);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        o.run_spice = validate_spice_run_mpi, o.writes = rank == 0;
        int bad = rc || (rank == 0 && (gc_mkdir_p(o.out_dir, &e) ||
                                      gc_check_writable(o.out_dir, &e))), any;
        MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD); /* -1 if any failed */
        rc = rc || bad || (any && gc_fail(&e, "another rank could not start"));
    }
#endif
    rc = rc || validate_run(&o, cmdline, &r, &e);
#ifdef GCSIM_MPI
    if (mpi)
        MPI_Finalize();
#endif
    if (rc || rank != 0) { /* every rank's failure is rank 0's too, said once */
        if (rc && rank == 0)
            fprintf(stderr, "gcsim validate: %s\n", e.msg[0] ? e.msg : "out of memory");
        return cli_exit_status(rc ? 1 : 0);
    }
    printf("%d x %d cells, %d patterns: charge RMS %.3g %% FS (max %.3g %%), pulse RMS "
           "%.3g %% of t_max, %d columns clipped; SPICE %.3g s/pattern, model %.3g "
           "s/pattern (x%.3g)\n",
           o.rows, o.cols, o.samples, r.charge_rms_pct_fs, r.charge_max_pct_fs,
           r.pulse_rms_pct_tmax, r.clipped_columns, r.spice_s_per_pattern,
           r.model_s_per_pattern, r.spice_s_per_pattern / r.model_s_per_pattern);
    printf("energy (reads and conversions): model vs SPICE RMS %.3g %% (max %.3g %%)\n",
           r.energy_rms_pct, r.energy_max_pct);
    if (o.mc_chips > 0)
        printf("Monte Carlo column: %d chips, see %s/validate.json (mc_mean_err_pct, "
               "mc_std_err_pct)\n", o.mc_chips, o.out_dir);
    return cli_exit_status(0);
}
