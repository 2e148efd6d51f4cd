/* gcsim validate: the behavioural cell model against a whole column or array in SPICE.
 *
 * Each seeded random pattern stores rows × columns levels (written with the model's write
 * transfer, aged with its decay, and set in SPICE as initial conditions), reads them with one
 * pulse level per row on the rows' word lines into each column's bit line, integrator and
 * charge-to-pulse converter, and compares every column's bit-line charge and output pulse
 * with the model's per-cell sum. It is not a check of the leakage model: ages enter both
 * sides through cell_decay_v; `gcsim fit` validates the decay against SPICE hold
 * transients. */
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cellmodel.h"
#include "cli.h"
#include "commands.h"
#include "spice.h"

/* 12 layers x 65 ns per token and layer (PAPER.md §2) */
#define DEFAULT_TOKEN_S 780e-9
#define MODEL_MIN_SECONDS 0.2 /* time the model loop at least this long */

typedef struct {
    const char *cell, *tech, *out;
    int samples, rows, cols, jobs, max_age;
    uint64_t seed;
    double token_s, timeout_s;
} val_opts;

/* n_pat patterns of rows × cols cells: levels, ages (tokens) and stored voltages per cell
 * (pattern, row, column), pulse levels per (pattern, row); the results per (pattern, column). */
typedef struct {
    int n_pat, rows, cols;
    int *level, *age, *pulse;
    double *v_store, *frac;
    double *q_spice, *q_model, *p_spice, *p_model, *q_integ;
    spice_array_meas *meas;
} val_data;

/* ---------------------------------------------------------------------------------------- */
/* Patterns */

/* splitmix64: a small, well-mixed generator whose stream depends only on the seed */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int rng_int(uint64_t *s, int n) { return (int)(rng_next(s) % (uint64_t)n); }

static int data_alloc(val_data *d, int n_pat, int rows, int cols)
{
    size_t c = (size_t)n_pat * rows * cols, r = (size_t)n_pat * rows, p = (size_t)n_pat * cols;
    d->n_pat = n_pat, d->rows = rows, d->cols = cols;
    d->level = malloc(c * sizeof *d->level), d->age = malloc(c * sizeof *d->age);
    d->pulse = malloc(r * sizeof *d->pulse);
    d->v_store = malloc(c * sizeof *d->v_store), d->frac = malloc(r * sizeof *d->frac);
    d->q_spice = calloc(p, sizeof(double)), d->q_model = calloc(p, sizeof(double));
    d->p_spice = calloc(p, sizeof(double)), d->p_model = calloc(p, sizeof(double));
    d->q_integ = calloc(p, sizeof(double)), d->meas = calloc(p, sizeof *d->meas);
    return d->level && d->age && d->pulse && d->v_store && d->frac && d->q_spice &&
                   d->q_model && d->p_spice && d->p_model && d->q_integ && d->meas
               ? 0
               : -1;
}

static void data_free(val_data *d)
{
    free(d->level), free(d->age), free(d->pulse), free(d->v_store), free(d->frac);
    free(d->q_spice), free(d->q_model), free(d->p_spice), free(d->p_model), free(d->q_integ);
    free(d->meas);
}

/* Stored voltage of a cell: the written level's voltage, decayed over its age. */
static double aged_v(const cell_model *m, int level, int age, double token_s)
{
    return cell_decay_v(m, cell_write_v(m, level), age * token_s);
}

static void make_patterns(const cell_model *m, const val_opts *o, val_data *d)
{
    uint64_t s = o->seed;
    int kl = cell_k_levels(m), ql = cell_q_levels(m);
    for (size_t r = 0; r < (size_t)d->n_pat * d->rows; r++) {
        d->pulse[r] = rng_int(&s, ql);
        d->frac[r] = (double)d->pulse[r] / (ql - 1);
        for (size_t i = r * d->cols; i < (r + 1) * d->cols; i++) {
            d->level[i] = rng_int(&s, kl);
            d->age[i] = rng_int(&s, o->max_age + 1);
            d->v_store[i] = aged_v(m, d->level[i], d->age[i], o->token_s);
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The model side */

/* Column charges (C) of pattern k: the per-cell sums from levels and ages, row by row. */
static void model_charges(const cell_model *m, const val_data *d, int k, double token_s,
                          double *q)
{
    size_t row0 = (size_t)k * d->rows;
    double inv = 1.0 / (cell_q_levels(m) - 1);
    for (int c = 0; c < d->cols; c++)
        q[c] = 0;
    for (int r = 0; r < d->rows; r++) {
        double p = d->pulse[row0 + r] * inv;
        size_t i0 = (row0 + r) * d->cols;
        for (int c = 0; c < d->cols; c++)
            q[c] += cell_read_charge_c(m, p, aged_v(m, d->level[i0 + c], d->age[i0 + c],
                                                    token_s));
    }
}

/* Evaluates every pattern (charges and pulses); repeats until the time is measurable.
 * Returns seconds per pattern. */
static double model_run(const cell_model *m, val_data *d, double token_s, int *repeats)
{
    double t0 = gc_now(), t = 0;
    int r = 0;
    do {
        for (int k = 0; k < d->n_pat; k++) {
            double *q = d->q_model + (size_t)k * d->cols;
            model_charges(m, d, k, token_s, q);
            for (int c = 0; c < d->cols; c++)
                d->p_model[(size_t)k * d->cols + c] = cell_c2p_s(m, q[c]);
        }
        r++;
        t = gc_now() - t0;
    } while (t < MODEL_MIN_SECONDS);
    *repeats = r;
    return t / ((double)r * d->n_pat);
}

/* Largest single-cell full-pulse |charge| over the stored-voltage range, C. */
static double cell_full_scale_c(const cell_model *m)
{
    double fs = 0, vdd = cell_vdd_v(m);
    for (int i = 0; i <= 256; i++)
        fs = fmax(fs, fabs(cell_read_charge_c(m, 1.0, vdd * i / 256)));
    return fs;
}

/* ---------------------------------------------------------------------------------------- */
/* The SPICE side */

static int spice_side(const spice_tech *t, const val_opts *o, val_data *d, double *sim_s,
                      double *wall_s, gc_err *e)
{
    spice_job *jobs = calloc((size_t)d->n_pat, sizeof *jobs);
    spice_result *res = calloc((size_t)d->n_pat, sizeof *res);
    const char **vectors = spice_array_vectors(d->rows, d->cols);
    int n_vec = 1 + SPICE_ARRAY_NVEC_COL * d->cols;
    int rc = jobs && res && vectors ? 0 : gc_fail(e, "out of memory");
    for (int k = 0; k < d->n_pat && !rc; k++) {
        snprintf(jobs[k].name, sizeof jobs[k].name, "%s[pattern %d]",
                 d->cols > 1 ? "array" : "column", k);
        size_t off = (size_t)k * d->rows;
        char *net = spice_array_netlist(t, jobs[k].name, d->rows, d->cols,
                                        d->v_store + off * d->cols, d->frac + off, e);
        jobs[k].netlist = net;
        jobs[k].vectors = vectors;
        jobs[k].n_vectors = n_vec;
        rc = net ? 0 : -1;
    }
    spice_run_opts ro = {.jobs = o->jobs, .timeout_s = o->timeout_s, .progress = 1};
    double t0 = gc_now();
    rc = rc || spice_run(jobs, d->n_pat, &ro, res, e);
    *wall_s = gc_now() - t0;
    *sim_s = 0;
    for (int k = 0; k < d->n_pat && !rc; k++) {
        for (int c = 0; c < d->cols && !rc; c++) {
            size_t i = (size_t)k * d->cols + c;
            rc = spice_array_measure(t, &res[k], c, &d->meas[i], e);
            d->q_spice[i] = d->meas[i].charge_c, d->p_spice[i] = d->meas[i].pulse_s;
            d->q_integ[i] = d->meas[i].integrator_charge_c;
        }
        *sim_s += res[k].seconds;
    }
    for (int k = 0; jobs && res && k < d->n_pat; k++) {
        free((char *)jobs[k].netlist);
        if (res[k].vec)
            spice_result_free(&res[k], n_vec);
    }
    spice_array_vectors_free(vectors, d->cols);
    free(jobs), free(res);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Statistics, plots and the report */

typedef struct {
    double rms, max;
} val_err;

static val_err err_of(const double *a, const double *b, int n, const int *skip)
{
    val_err r = {0, 0};
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (skip && skip[i])
            continue;
        double x = a[i] - b[i];
        r.rms += x * x, r.max = fmax(r.max, fabs(x)), m++;
    }
    r.rms = m ? sqrt(r.rms / m) : 0;
    return r;
}

static int plots(const char *dir, const val_data *d, double fs_c, gc_err *e)
{
    int n = d->n_pat * d->cols, nb = 24;
    double *xm = malloc(n * sizeof *xm), *ys = malloc(n * sizeof *ys), *err = malloc(n * sizeof *err);
    double lo = INFINITY, hi = -INFINITY, line[2][64], bx[24], by[24] = {0};
    for (int i = 0; i < n; i++) {
        xm[i] = 1e12 * d->q_model[i], ys[i] = 1e12 * d->q_spice[i];
        err[i] = 100 * (d->q_spice[i] - d->q_model[i]) / fs_c;
        lo = fmin(lo, fmin(xm[i], ys[i])), hi = fmax(hi, fmax(xm[i], ys[i]));
    }
    for (int i = 0; i < 64; i++)
        line[0][i] = line[1][i] = lo + (hi - lo) * i / 63;
    gc_series sc[2] = {{xm, ys, (size_t)n, "columns"}, {line[0], line[1], 64, "SPICE = model"}};
    gc_plot_style s1 = {"bit-line charge: SPICE vs model", "model charge (pC)", "SPICE charge (pC)",
                        0, 0, 1, 0};
    double elo = INFINITY, ehi = -INFINITY;
    for (int i = 0; i < n; i++)
        elo = fmin(elo, err[i]), ehi = fmax(ehi, err[i]);
    double w = ehi > elo ? (ehi - elo) / nb : 1e-3;
    for (int b = 0; b < nb; b++)
        bx[b] = elo + (b + 0.5) * w;
    for (int i = 0; i < n; i++)
        by[(int)fmin(nb - 1, floor((err[i] - elo) / w))] += 1;
    gc_series hs = {bx, by, (size_t)nb, "columns"};
    gc_plot_style s2 = {"bit-line charge error (SPICE - model)", "error (% of full scale)",
                        "columns (all patterns)", 0, 0, 0, 1};
    char p1[4096], p2[4096];
    snprintf(p1, sizeof p1, "%s/charge_scatter.png", dir);
    snprintf(p2, sizeof p2, "%s/charge_error_hist.png", dir);
    int rc = gc_plot(p1, &s1, sc, 2, e) || gc_plot(p2, &s2, &hs, 1, e);
    free(xm), free(ys), free(err);
    return rc ? -1 : 0;
}

static void add_array(cJSON *o, const char *name, const double *x, int n, double scale)
{
    cJSON *a = cJSON_AddArrayToObject(o, name);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(x[i] * scale));
}

typedef struct {
    double fs_c, s_sat_c, tmax, sim_s, wall_s, model_s;
    int repeats, clipped;
    double bl_dev_max_v;
} val_summary;

/* The per-cell sum holds if the bit line stays at its virtual ground and the integrator
 * keeps every bit of charge; say plainly where it did not. */
static void add_integrity(cJSON *root, const val_data *d, const val_summary *s)
{
    val_err ig = err_of(d->q_integ, d->q_spice, d->n_pat * d->cols, NULL);
    cJSON *o = cJSON_AddObjectToObject(root, "bit_line_and_integrator");
    cJSON_AddNumberToObject(o, "clipped_columns", s->clipped);
    cJSON_AddNumberToObject(o, "bit_line_far_end_max_excursion_V", s->bl_dev_max_v);
    cJSON_AddNumberToObject(o, "integrator_vs_sense_rms_pct_fs", 100 * ig.rms / s->fs_c);
    cJSON_AddNumberToObject(o, "integrator_vs_sense_max_pct_fs", 100 * ig.max / s->fs_c);
    char note[512];
    snprintf(note, sizeof note,
             s->clipped ? "%d of %d columns drove the integrator output to a rail: there the "
                          "bit line leaves its virtual ground and the per-cell sum breaks "
                          "(excluded from the *_unclipped errors)"
                        : "no column clipped its integrator (%d of %d); the finite op-amp gain "
                          "and the wire's IR drop move the bit line's far end by at most "
                          "bit_line_far_end_max_excursion_V",
             s->clipped, d->n_pat * d->cols);
    cJSON_AddStringToObject(o, "note", note);
}

static void add_errors(cJSON *root, const val_data *d, const val_summary *s)
{
    int n = d->n_pat * d->cols;
    int *clip = malloc((size_t)n * sizeof *clip);
    for (int k = 0; clip && k < n; k++)
        clip[k] = d->meas[k].clipped;
    val_err q = err_of(d->q_spice, d->q_model, n, NULL);
    val_err qu = err_of(d->q_spice, d->q_model, n, clip);
    val_err p = err_of(d->p_spice, d->p_model, n, NULL);
    free(clip);
    cJSON_AddNumberToObject(root, "charge_full_scale_C", s->fs_c);
    cJSON_AddNumberToObject(root, "column_charge_rms_pct_fs", 100 * q.rms / s->fs_c);
    cJSON_AddNumberToObject(root, "column_charge_max_pct_fs", 100 * q.max / s->fs_c);
    cJSON_AddNumberToObject(root, "column_charge_rms_pct_fs_unclipped", 100 * qu.rms / s->fs_c);
    cJSON_AddNumberToObject(root, "column_charge_max_pct_fs_unclipped", 100 * qu.max / s->fs_c);
    /* full scale is every cell of a bit line at full charge; the converter saturates far
     * below it */
    cJSON_AddNumberToObject(root, "s_sat_C", s->s_sat_c);
    cJSON_AddNumberToObject(root, "column_charge_rms_pct_s_sat", 100 * q.rms / s->s_sat_c);
    cJSON_AddNumberToObject(root, "column_charge_max_pct_s_sat", 100 * q.max / s->s_sat_c);
    cJSON_AddNumberToObject(root, "pulse_rms_pct_tmax", 100 * p.rms / s->tmax);
    cJSON_AddNumberToObject(root, "pulse_max_pct_tmax", 100 * p.max / s->tmax);
    cJSON_AddNumberToObject(root, "t_max_s", s->tmax);
}

static void add_timing(cJSON *root, const val_data *d, const val_summary *s)
{
    double per = s->sim_s / d->n_pat;
    cJSON_AddNumberToObject(root, "spice_seconds", s->sim_s);
    cJSON_AddNumberToObject(root, "spice_wall_seconds", s->wall_s);
    cJSON_AddNumberToObject(root, "spice_seconds_per_pattern", per);
    cJSON_AddNumberToObject(root, "model_seconds", s->model_s);
    cJSON_AddNumberToObject(root, "model_seconds_total_once", s->model_s * d->n_pat);
    cJSON_AddNumberToObject(root, "model_seconds_per_cell", s->model_s / d->rows / d->cols);
    cJSON_AddNumberToObject(root, "model_repeats", s->repeats);
    cJSON_AddNumberToObject(root, "speedup_model_vs_spice", per / s->model_s);
    cJSON_AddStringToObject(root, "timing_note",
                            "spice_seconds: simulation time summed over patterns (one worker "
                            "process each); model_seconds: per pattern (per cell write, decay "
                            "and read, per column c2p), averaged over model_repeats passes");
}

static cJSON *report(const val_opts *o, const cell_model *m, const spice_tech *t,
                     const val_data *d, const val_summary *s, const char *cmdline)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "command", cmdline);
    cJSON_AddStringToObject(root, "gcsim_version", GCSIM_VERSION);
    cJSON_AddStringToObject(root, "cell", cell_model_source(m));
    cJSON_AddStringToObject(root, "technology", t->name);
    cJSON_AddNumberToObject(root, "samples", d->n_pat);
    cJSON_AddNumberToObject(root, "rows", d->rows);
    cJSON_AddNumberToObject(root, "columns", d->cols);
    cJSON_AddNumberToObject(root, "seed", (double)o->seed);
    cJSON_AddNumberToObject(root, "token_period_s", o->token_s);
    cJSON_AddNumberToObject(root, "max_age_tokens", o->max_age);
    cJSON_AddStringToObject(root, "leakage",
                            "not validated here: each cell's age is applied in SPICE as the "
                            "initial storage voltage cell_decay_v(write_v(level), age); the "
                            "decay model is validated against SPICE hold transients by gcsim fit");
    add_errors(root, d, s);
    add_integrity(root, d, s);
    add_timing(root, d, s);
    cJSON *tg = cJSON_AddObjectToObject(root, "targets");
    cJSON_AddNumberToObject(tg, "column_charge_rms_pct_fs", 2);
    cJSON_AddNumberToObject(tg, "pulse_rms_pct_tmax", 3);
    cJSON_AddNumberToObject(tg, "speedup_model_vs_spice", 1e5);
    cJSON *pp = cJSON_AddObjectToObject(root, "patterns");
    add_array(pp, "spice_charge_C", d->q_spice, d->n_pat * d->cols, 1);
    add_array(pp, "model_charge_C", d->q_model, d->n_pat * d->cols, 1);
    add_array(pp, "integrator_charge_C", d->q_integ, d->n_pat * d->cols, 1);
    add_array(pp, "spice_pulse_s", d->p_spice, d->n_pat * d->cols, 1);
    add_array(pp, "model_pulse_s", d->p_model, d->n_pat * d->cols, 1);
    return root;
}

static int write_json(const char *dir, cJSON *root, gc_err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/validate.json", dir);
    return cli_write_json(path, root, e);
}

/* ---------------------------------------------------------------------------------------- */
/* The command */

static void summarize(const val_data *d, val_summary *s)
{
    s->clipped = 0, s->bl_dev_max_v = 0;
    for (int k = 0; k < d->n_pat * d->cols; k++) {
        s->clipped += d->meas[k].clipped;
        s->bl_dev_max_v = fmax(s->bl_dev_max_v, d->meas[k].bl_dev_max_v);
    }
}

static int check_match(const spice_tech *t, const cell_model *m, const val_opts *o, gc_err *e)
{
    double tt = spice_tech_get(t, "t_max"), vt = spice_tech_get(t, "vdd");
    if (fabs(tt - cell_t_max_s(m)) > 1e-3 * tt || fabs(vt - cell_vdd_v(m)) > 1e-3 * vt)
        return gc_fail(e, "%s: t_max %.4g s, vdd %.4g V do not match technology %s "
                          "(t_max %.4g s, vdd %.4g V)", o->cell, cell_t_max_s(m),
                       cell_vdd_v(m), t->name, tt, vt);
    return 0;
}

static int validate(const val_opts *o, const char *cmdline, gc_err *e)
{
    spice_tech *t = malloc(sizeof *t);
    cell_model *m = NULL;
    val_data d = {0};
    val_summary s = {0};
    cJSON *root = NULL;
    int rc = t ? 0 : gc_fail(e, "out of memory");
    rc = rc || spice_tech_load(o->tech, cli_root(), t, e) || spice_tech_check(t, e) ||
         cell_model_load(o->cell, &m, e) || check_match(t, m, o, e) || gc_mkdir_p(o->out, e);
    if (!rc && data_alloc(&d, o->samples, o->rows, o->cols))
        rc = gc_fail(e, "out of memory");
    if (!rc) {
        make_patterns(m, o, &d);
        rc = spice_side(t, o, &d, &s.sim_s, &s.wall_s, e);
    }
    if (!rc) {
        s.model_s = model_run(m, &d, o->token_s, &s.repeats);
        s.fs_c = o->rows * cell_full_scale_c(m), s.tmax = cell_t_max_s(m);
        s.s_sat_c = cell_s_sat_c(m);
        summarize(&d, &s);
        root = report(o, m, t, &d, &s, cmdline);
        rc = plots(o->out, &d, s.fs_c, e) || write_json(o->out, root, e);
    }
    if (!rc)
        printf("%d x %d cells, %d patterns: charge RMS %.3g %% FS (max %.3g %%), pulse RMS "
               "%.3g %% of t_max, %d columns clipped; SPICE %.3g s/pattern, model %.3g "
               "s/pattern (x%.3g)\n",
               o->rows, o->cols, o->samples,
               cJSON_GetObjectItem(root, "column_charge_rms_pct_fs")->valuedouble,
               cJSON_GetObjectItem(root, "column_charge_max_pct_fs")->valuedouble,
               cJSON_GetObjectItem(root, "pulse_rms_pct_tmax")->valuedouble, s.clipped,
               s.sim_s / o->samples, s.model_s, s.sim_s / o->samples / s.model_s);
    cJSON_Delete(root);
    data_free(&d);
    cell_model_free(m);
    free(t);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: gcsim validate --cell cell.h5 [--tech si|igzo|FILE] [--samples N] [--seed S]\n"
            "                      [--cells N] [--columns N] [--jobs N] [--token-s T]\n"
            "                      [--max-age N] [--timeout S] --out DIR\n\n"
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
            "  --token-s T     time per token for the ages, s (default 780e-9: 12 x 65 ns)\n"
            "  --max-age N     ages are uniform in 0..N tokens (default 1024)\n"
            "  --timeout S     per-simulation limit in seconds (default 300)\n");
}

static int parse_int(const char *what, const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < lo || v > hi) {
        fprintf(stderr, "gcsim validate: %s %s: expected %d..%d\n", what, s, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_pos(const char *what, const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    if (*s == '\0' || *end || !(*out > 0) || !isfinite(*out)) {
        fprintf(stderr, "gcsim validate: %s %s: expected a number > 0\n", what, s);
        return -1;
    }
    return 0;
}

static int parse(int argc, char **argv, val_opts *o)
{
    static const struct option opts[] = {
        {"cell", required_argument, 0, 'c'},   {"tech", required_argument, 0, 't'},
        {"samples", required_argument, 0, 'n'}, {"seed", required_argument, 0, 's'},
        {"cells", required_argument, 0, 'C'},  {"jobs", required_argument, 0, 'j'},
        {"columns", required_argument, 0, 'L'},
        {"token-s", required_argument, 0, 'k'}, {"max-age", required_argument, 0, 'a'},
        {"timeout", required_argument, 0, 'T'}, {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    int c, seed;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'c': o->cell = optarg; break;
        case 't': o->tech = optarg; break;
        case 'o': o->out = optarg; break;
        case 'n': bad = parse_int("--samples", optarg, 1, 100000, &o->samples); break;
        case 'C': bad = parse_int("--cells", optarg, 1, 1024, &o->rows); break;
        case 'L': bad = parse_int("--columns", optarg, 1, 1024, &o->cols); break;
        case 'j': bad = parse_int("--jobs", optarg, 1, 256, &o->jobs); break;
        case 'a': bad = parse_int("--max-age", optarg, 0, 1 << 24, &o->max_age); break;
        case 's':
            bad = parse_int("--seed", optarg, 0, 2147483647, &seed);
            o->seed = (uint64_t)seed;
            break;
        case 'k': bad = parse_pos("--token-s", optarg, &o->token_s); break;
        case 'T': bad = parse_pos("--timeout", optarg, &o->timeout_s); break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
        if (bad)
            return 2;
    }
    if (optind < argc || !o->cell || !o->out) {
        fprintf(stderr, "gcsim validate: %s\n",
                optind < argc ? "unexpected argument" : "--cell and --out are required");
        usage(stderr);
        return 2;
    }
    return 0;
}

int cmd_validate(int argc, char **argv)
{
    val_opts o = {.tech = "si", .samples = 200, .rows = 64, .cols = 1, .jobs = 2, .max_age = 1024,
                  .seed = 1, .token_s = DEFAULT_TOKEN_S, .timeout_s = 300};
    int prc = parse(argc, argv, &o);
    if (prc)
        return prc == 1 ? 0 : 2;
    char cmdline[8192];
    cli_command_line(argc, argv, cmdline, sizeof cmdline);
    gc_err e = {0};
    if (validate(&o, cmdline, &e)) {
        fprintf(stderr, "gcsim validate: %s\n", e.msg[0] ? e.msg : "out of memory");
        return 1;
    }
    return 0;
}
