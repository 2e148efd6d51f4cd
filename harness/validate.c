/* validate: the behavioural cell model against a whole column or array in SPICE (see
 * validate.h). Patterns, the model side, the SPICE side, statistics, plots and the JSON
 * report live here; the command (cli/cmd_validate.c) only parses options and prints. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "gpt2.h"
#include "validate.h"

#ifndef GCSIM_SOURCE_ROOT
#define GCSIM_SOURCE_ROOT "."
#endif

#define MODEL_MIN_SECONDS 0.2 /* time the model loop at least this long */

void validate_opts_default(validate_opts *o)
{
    *o = (validate_opts){.tech = "si", .root = GCSIM_SOURCE_ROOT, .samples = 200, .rows = 64,
                         .cols = 1, .jobs = 2, .max_age_tokens = 1024, .seed = 1,
                         /* 12 layers x 65 ns per token and layer (PAPER.md §2) */
                         .timeout_s = 300, .retries = SPICE_RETRIES_DEFAULT, .progress = 1,
                         .run_spice = spice_run, .writes = 1, .array_mode = &spice_array_columns,
                         .relaxations = -1, .mc_seed = 1};
    attn_config_default(&o->analog, &attn_calibrated);
    o->analog.layers = 12;
}

/* n_pat patterns of rows × cols cells: levels, ages (tokens) and stored voltages per cell
 * (pattern, row, column), pulse levels per (pattern, row); the results per (pattern, column). */
typedef struct {
    int n_pat, rows, cols;
    int *level, *age, *pulse;
    double *v_store, *frac;
    double *q_spice, *q_model, *p_spice, *p_model, *q_integ;
    spice_array_meas *meas;
    int retries;                /* simulations started again after their worker died */
    /* per pattern, J: SPICE supply energy of the read and the conversion, and the model's
     * (validate_energy) */
    double *e_spice_read, *e_spice_conv, *e_model_read, *e_model_conv;
} val_data;

/* ---------------------------------------------------------------------------------------- */
/* Patterns */

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
    d->e_spice_read = calloc((size_t)n_pat, sizeof(double));
    d->e_spice_conv = calloc((size_t)n_pat, sizeof(double));
    d->e_model_read = calloc((size_t)n_pat, sizeof(double));
    d->e_model_conv = calloc((size_t)n_pat, sizeof(double));
    return d->level && d->age && d->pulse && d->v_store && d->frac && d->q_spice &&
                   d->q_model && d->p_spice && d->p_model && d->q_integ && d->meas &&
                   d->e_spice_read && d->e_spice_conv && d->e_model_read && d->e_model_conv
               ? 0
               : -1;
}

static void data_free(val_data *d)
{
    free(d->level), free(d->age), free(d->pulse), free(d->v_store), free(d->frac);
    free(d->q_spice), free(d->q_model), free(d->p_spice), free(d->p_model), free(d->q_integ);
    free(d->meas);
    free(d->e_spice_read), free(d->e_spice_conv), free(d->e_model_read), free(d->e_model_conv);
}

/* Stored voltage of a cell: the written level's voltage, decayed over its age. */
static double aged_v(const cell_model *m, int level, int age, double token_period_s)
{
    return cell_decay_v(m, cell_write_v(m, level), age * token_period_s);
}

/* The draw order (pulse of a row, then level and age of each of its cells) fixes the
 * patterns of a seed: keep it. */
static void make_patterns(const cell_model *m, const validate_opts *o, double period_s,
                          val_data *d)
{
    gc_rng rng;
    gc_rng_seed(&rng, o->seed);
    int kl = cell_k_levels(m), ql = cell_q_levels(m);
    for (size_t r = 0; r < (size_t)d->n_pat * d->rows; r++) {
        d->pulse[r] = gc_rng_int(&rng, ql);
        d->frac[r] = (double)d->pulse[r] / (ql - 1);
        for (size_t i = r * d->cols; i < (r + 1) * d->cols; i++) {
            d->level[i] = gc_rng_int(&rng, kl);
            d->age[i] = gc_rng_int(&rng, o->max_age_tokens + 1);
            d->v_store[i] = aged_v(m, d->level[i], d->age[i], period_s);
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The model side */

/* Column charges (C) of pattern k: the per-cell sums from levels and ages, row by row. */
static void model_charges(const cell_model *m, const val_data *d, int k, double token_period_s,
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
                                                    token_period_s));
    }
}

/* Evaluates every pattern (charges and pulses); repeats until the time is measurable.
 * Returns seconds per pattern. */
static double model_run(const cell_model *m, val_data *d, double token_period_s, int *repeats)
{
    double t0 = gc_now(), t = 0;
    int r = 0;
    do {
        for (int k = 0; k < d->n_pat; k++) {
            double *q = d->q_model + (size_t)k * d->cols;
            model_charges(m, d, k, token_period_s, q);
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

/* One array netlist per pattern, all fetching the same vectors. */
static int make_jobs(const spice_tech *t, const spice_array_mode *mode, val_data *d,
                     spice_job *jobs, const char **vectors, int n_vectors, gc_err *e)
{
    for (int k = 0; k < d->n_pat; k++) {
        snprintf(jobs[k].name, sizeof jobs[k].name, "%s[pattern %d]",
                 d->cols > 1 ? "array" : "column", k);
        size_t off = (size_t)k * d->rows;
        jobs[k].netlist = spice_array_netlist(t, mode, jobs[k].name, d->rows, d->cols,
                                              d->v_store + off * d->cols, d->frac + off, e);
        jobs[k].vectors = vectors;
        jobs[k].n_vectors = n_vectors;
        if (!jobs[k].netlist)
            return -1;
    }
    return 0;
}

/* A read job's columns: c0 .. c0 + n - 1 of a pattern (all of them, but in the columns
 * mode). */
typedef struct {
    int pattern, c0, n;
} val_part;

/* Every column's charge and integrator charge from the finished read jobs (one per part),
 * their pulses unless a conversion follows; *sim_s adds their simulation time. */
static int measure(const spice_tech *t, const spice_result *res, const val_part *parts,
                   int n_parts, val_data *d, double *sim_s, gc_err *e)
{
    for (int p = 0; p < n_parts; p++) {
        for (int j = 0; j < parts[p].n; j++) {
            size_t i = (size_t)parts[p].pattern * d->cols + parts[p].c0 + j;
            if (spice_array_measure(t, &res[p], j, &d->meas[i], e))
                return -1;
            d->q_spice[i] = d->meas[i].charge_c, d->p_spice[i] = d->meas[i].pulse_s;
            d->q_integ[i] = d->meas[i].integrator_charge_c;
        }
        *sim_s += res[p].seconds;
        d->retries += res[p].attempts - 1;
    }
    return 0;
}

/* The supply energies of each pattern from its job that holds the word-line drivers' and
 * the supply's currents (vectors from index first). */
static int measure_energy(const spice_tech *t, const spice_result *res, int first,
                          val_data *d, gc_err *e)
{
    for (int k = 0; k < d->n_pat; k++)
        if (spice_array_energy(t, &res[k], first, d->rows, &d->e_spice_read[k],
                               &d->e_spice_conv[k], e))
            return gc_wrap(e, "%s", "pattern energy");
    return 0;
}

/* Split modes: each read job's columns convert alone, from the currents of its read; the
 * pulses come from there, the conversion energy adds up per pattern. */
static int convert_side(const spice_tech *t, const spice_run_opts *ro, const spice_result *read,
                        const val_part *parts, int n_parts, val_data *d, double *sim_s,
                        gc_err *e)
{
    spice_job *jobs = calloc((size_t)n_parts, sizeof *jobs);
    spice_result *res = calloc((size_t)n_parts, sizeof *res);
    const char ***vectors = calloc((size_t)n_parts, sizeof *vectors);
    int rc = jobs && res && vectors ? 0 : gc_fail(e, "out of memory");
    for (int p = 0; rc == 0 && p < n_parts; p++) {
        const val_part *q = &parts[p];
        snprintf(jobs[p].name, sizeof jobs[p].name, "conversion[pattern %d, columns %d-%d]",
                 q->pattern, q->c0, q->c0 + q->n - 1);
        jobs[p].netlist = spice_array_convert_netlist(t, jobs[p].name, q->n, &read[p], e);
        vectors[p] = spice_array_convert_vectors(q->n);
        jobs[p].vectors = vectors[p], jobs[p].n_vectors = SPICE_ARRAY_CONVERT_NVEC(q->n);
        rc = !jobs[p].netlist ? -1 : !vectors[p] ? gc_fail(e, "out of memory") : 0;
    }
    rc = rc || spice_run(jobs, n_parts, ro, res, e);
    for (int k = 0; rc == 0 && k < d->n_pat; k++)
        d->e_spice_conv[k] = 0;
    for (int p = 0; rc == 0 && p < n_parts; p++) {
        const val_part *q = &parts[p];
        for (int j = 0; rc == 0 && j < q->n; j++) {
            size_t i = (size_t)q->pattern * d->cols + q->c0 + j;
            rc = spice_array_measure_pulse(t, &res[p], j, &d->meas[i].pulse_s, e);
            d->p_spice[i] = d->meas[i].pulse_s;
        }
        double conv_j = 0;
        rc = rc || spice_array_convert_energy(t, &res[p], q->n, &conv_j, e);
        d->e_spice_conv[q->pattern] += conv_j;
        *sim_s += res[p].seconds;
        d->retries += res[p].attempts - 1;
    }
    for (int p = 0; jobs && res && vectors && p < n_parts; p++) {
        free((char *)jobs[p].netlist);
        if (res[p].vec)
            spice_result_free(&res[p], jobs[p].n_vectors);
        spice_array_convert_vectors_free(vectors[p], parts[p].n);
    }
    free(jobs), free(res), free(vectors);
    return rc;
}

/* The whole array in one read job per pattern (the reference and fast modes, and any
 * one-column array). */
static int array_side(const spice_tech *t, const validate_opts *o, const spice_run_opts *ro,
                      val_data *d, double *sim_s, gc_err *e)
{
    spice_job *jobs = calloc((size_t)d->n_pat, sizeof *jobs);
    spice_result *res = calloc((size_t)d->n_pat, sizeof *res);
    val_part *parts = calloc((size_t)d->n_pat, sizeof *parts);
    const char **vectors = spice_array_vectors(d->rows, d->cols);
    const char **supply = spice_array_energy_vectors(d->rows);
    int n_vec = 1 + SPICE_ARRAY_NVEC_COL * d->cols, n_all = n_vec + 1 + 2 * d->rows;
    const char **all = malloc((size_t)n_all * sizeof *all);
    int rc = jobs && res && parts && vectors && supply && all ? 0 : gc_fail(e, "out of memory");
    if (!rc) { /* the columns' vectors, then the supplies' (validate_energy) */
        memcpy(all, vectors, (size_t)n_vec * sizeof *all);
        memcpy(all + n_vec, supply, (size_t)(n_all - n_vec) * sizeof *all);
        for (int k = 0; k < d->n_pat; k++)
            parts[k] = (val_part){k, 0, d->cols};
    }
    rc = rc || make_jobs(t, o->array_mode, d, jobs, all, n_all, e);
    rc = rc || o->run_spice(jobs, d->n_pat, ro, res, e);
    rc = rc || (o->writes && (measure(t, res, parts, d->n_pat, d, sim_s, e) ||
                              measure_energy(t, res, n_vec, d, e)));
    /* the conversions need every read's currents: the rank that gathered them runs them */
    if (o->writes && o->array_mode->split)
        rc = rc || convert_side(t, ro, res, parts, d->n_pat, d, sim_s, e);
    for (int k = 0; jobs && res && k < d->n_pat; k++) {
        free((char *)jobs[k].netlist);
        if (res[k].vec)
            spice_result_free(&res[k], n_all);
    }
    spice_array_vectors_free(vectors, d->cols);
    spice_array_energy_vectors_free(supply, d->rows);
    free(all), free(parts);
    free(jobs), free(res);
    return rc;
}

/* The columns mode's word-line jobs, one per pattern; after the first pass (cols: the
 * columns jobs' results before, n_groups a pattern) every cell's bit line is replayed from
 * them. A rank that did not gather those (MPI, not rank 0) leaves the netlists NULL: the
 * runner takes them from rank 0. */
static int word_line_jobs(const spice_tech *t, const validate_opts *o, const val_data *d,
                          const spice_result *cols, int n_groups, spice_job *jobs,
                          const char **vectors, int n_vectors, gc_err *e)
{
    for (int k = 0; k < d->n_pat; k++) {
        snprintf(jobs[k].name, sizeof jobs[k].name, "word lines[pattern %d]", k);
        jobs[k].vectors = vectors, jobs[k].n_vectors = n_vectors;
        size_t off = (size_t)k * d->rows;
        if ((!cols || o->writes) &&
            !(jobs[k].netlist = spice_array_word_lines_netlist(
                  t, o->array_mode, jobs[k].name, d->rows, d->cols, d->v_store + off * d->cols,
                  d->frac + off, NULL, cols ? cols + (size_t)k * n_groups : NULL, e)))
            return -1;
    }
    return 0;
}

/* The columns mode's columns jobs: one per group of columns of a pattern, its word lines
 * from the pattern's word-line job (wl); NULL netlists as in word_line_jobs. */
static int columns_jobs(const spice_tech *t, const validate_opts *o, const val_data *d,
                        const spice_result *wl, const val_part *parts, int n_parts,
                        spice_job *jobs, const char ***vectors, gc_err *e)
{
    for (int p = 0; p < n_parts; p++) {
        const val_part *q = &parts[p];
        snprintf(jobs[p].name, sizeof jobs[p].name, "columns[pattern %d, columns %d-%d]",
                 q->pattern, q->c0, q->c0 + q->n - 1);
        if (!vectors[p] &&
            !(vectors[p] = spice_array_columns_vectors(o->array_mode, d->rows, q->n)))
            return gc_fail(e, "out of memory");
        jobs[p].vectors = vectors[p];
        jobs[p].n_vectors = (int)SPICE_ARRAY_COLUMNS_NVEC(o->array_mode, d->rows, q->n);
        size_t off = (size_t)q->pattern * d->rows;
        if (o->writes &&
            !(jobs[p].netlist = spice_array_columns_netlist(
                  t, o->array_mode, jobs[p].name, d->rows, d->cols, q->c0, q->n,
                  d->v_store + off * d->cols, d->frac + off, NULL, &wl[q->pattern], e)))
            return -1;
    }
    return 0;
}

/* Frees a batch's netlists and results (leaves the jobs' names and vectors). */
static void batch_clear(spice_job *jobs, spice_result *res, int n)
{
    for (int i = 0; jobs && res && i < n; i++) {
        free((char *)jobs[i].netlist), jobs[i].netlist = NULL;
        if (res[i].vec)
            spice_result_free(&res[i], jobs[i].n_vectors);
        res[i] = (spice_result){0};
    }
}

/* The columns mode: the word lines of each pattern (bit lines held), then its columns in
 * groups with their word lines replayed, as many times more as the mode relaxes (the word
 * lines then with the bit lines of the columns before), then the conversions. The read
 * energy is the last word-line run's. */
static int columns_side(const spice_tech *t, const validate_opts *o, const spice_run_opts *ro,
                        val_data *d, double *sim_s, gc_err *e)
{
    const spice_array_mode *m = o->array_mode;
    int n_nodes = spice_array_word_line_nodes(m, d->cols);
    int per_job = m->columns_per_job, groups = (d->cols + per_job - 1) / per_job;
    int n_parts = d->n_pat * groups;
    spice_job *wl_jobs = calloc((size_t)d->n_pat, sizeof *wl_jobs);
    spice_result *wl = calloc((size_t)d->n_pat, sizeof *wl);
    spice_job *jobs = calloc((size_t)n_parts, sizeof *jobs);
    spice_result *res = calloc((size_t)n_parts, sizeof *res);
    const char ***vectors = calloc((size_t)n_parts, sizeof *vectors);
    val_part *parts = calloc((size_t)n_parts, sizeof *parts);
    const char **wl_vec = spice_array_word_lines_vectors(m, d->rows, d->cols);
    const char **supply = spice_array_energy_vectors(d->rows);
    int n_wl = (int)SPICE_ARRAY_WORD_LINES_NVEC(d->rows, n_nodes);
    int n_all = n_wl + 1 + 2 * d->rows;
    const char **all = malloc((size_t)n_all * sizeof *all);
    int rc = wl_jobs && wl && jobs && res && vectors && parts && wl_vec && supply && all
                 ? 0
                 : gc_fail(e, "out of memory");
    if (!rc) {
        memcpy(all, wl_vec, (size_t)n_wl * sizeof *all);
        memcpy(all + n_wl, supply, (size_t)(n_all - n_wl) * sizeof *all);
        for (int p = 0; p < n_parts; p++) {
            int k = p / groups, c0 = p % groups * per_job;
            parts[p] = (val_part){k, c0, d->cols - c0 < per_job ? d->cols - c0 : per_job};
        }
    }
    for (int pass = 0; rc == 0 && pass <= m->relaxations; pass++) {
        rc = word_line_jobs(t, o, d, pass ? res : NULL, groups, wl_jobs, all, n_all, e) ||
             o->run_spice(wl_jobs, d->n_pat, ro, wl, e);
        if (!rc && o->writes) {
            rc = measure_energy(t, wl, n_wl, d, e);
            for (int k = 0; k < d->n_pat; k++)
                *sim_s += wl[k].seconds, d->retries += wl[k].attempts - 1;
        }
        if (pass) { /* the columns before: counted, replayed, done with */
            for (int p = 0; o->writes && p < n_parts; p++)
                *sim_s += res[p].seconds, d->retries += res[p].attempts - 1;
            batch_clear(jobs, res, n_parts);
        }
        rc = rc || columns_jobs(t, o, d, wl, parts, n_parts, jobs, vectors, e) ||
             o->run_spice(jobs, n_parts, ro, res, e);
        batch_clear(wl_jobs, wl, d->n_pat);
    }
    rc = rc || (o->writes && measure(t, res, parts, n_parts, d, sim_s, e));
    rc = rc || (o->writes && convert_side(t, ro, res, parts, n_parts, d, sim_s, e));
    batch_clear(wl_jobs, wl, d->n_pat);
    batch_clear(jobs, res, n_parts);
    for (int p = 0; vectors && p < n_parts; p++)
        spice_array_columns_vectors_free(m, vectors[p], d->rows, parts[p].n);
    spice_array_word_lines_vectors_free(wl_vec, d->rows, n_nodes);
    spice_array_energy_vectors_free(supply, d->rows);
    free(all), free(parts), free(vectors);
    free(wl_jobs), free(wl), free(jobs), free(res);
    return rc;
}

static int spice_side(const spice_tech *t, const validate_opts *o, val_data *d, double *sim_s,
                      double *wall_s, gc_err *e)
{
    spice_run_opts ro = {.jobs = o->jobs, .timeout_s = o->timeout_s, .progress = o->progress,
                         .retries = o->retries};
    double t0 = gc_now();
    *sim_s = 0;
    int rc = o->array_mode->columns_per_job > 0 && d->cols > 1
                 ? columns_side(t, o, &ro, d, sim_s, e)
                 : array_side(t, o, &ro, d, sim_s, e);
    *wall_s = gc_now() - t0;
    return rc;
}

/* The model's energy of each pattern, J: every cell's read (cell_read_energy_j at its pulse
 * and stored voltage, plus its pitch of the word-line wire, e_wordline_cell_j, where the
 * row pulses) and every column's charge-to-pulse conversion (cell_c2p_energy_j at the model's
 * charge), as the cost accounting sums them. */
static void validate_energy(const cell_model *m, val_data *d, double token_period_s)
{
    double inv = 1.0 / (cell_q_levels(m) - 1);
    const cell_cost_param *wire = cell_cost_param_find(m, "e_wordline_cell_j");
    for (int k = 0; k < d->n_pat; k++) {
        double read = 0, conv = 0;
        for (int r = 0; r < d->rows; r++) {
            size_t row = (size_t)k * d->rows + r, i0 = row * d->cols;
            if (wire && d->pulse[row] > 0)
                read += d->cols * wire->value;
            for (int c = 0; c < d->cols; c++)
                read += cell_read_energy_j(m, d->pulse[row] * inv,
                                           aged_v(m, d->level[i0 + c], d->age[i0 + c],
                                                  token_period_s));
        }
        for (int c = 0; c < d->cols; c++)
            conv += cell_c2p_energy_j(m, d->q_model[(size_t)k * d->cols + c]);
        d->e_model_read[k] = read, d->e_model_conv[k] = conv;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Statistics */

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

typedef struct {
    double fs_c, s_sat_c, tmax, sim_s, wall_s, model_s;
    int repeats, clipped;
    double bl_dev_max_v;
    val_err q, q_unclipped, p, integ; /* charge (C), pulse (s), integrator vs sense (C) */
    val_err energy, energy_read;      /* per pattern, % of the SPICE energy */
} val_summary;

/* RMS and worst |model - SPICE| / SPICE in %, over patterns (total, and the reads alone of
 * the patterns that read at all: a pattern of zero-width pulses has no read energy). */
static void energy_errors(const val_data *d, val_summary *s)
{
    s->energy = s->energy_read = (val_err){0, 0};
    int n_read = 0;
    for (int k = 0; k < d->n_pat; k++) {
        double sp = d->e_spice_read[k] + d->e_spice_conv[k];
        double x = sp > 0 ? 100 * (d->e_model_read[k] + d->e_model_conv[k] - sp) / sp : 0;
        s->energy.rms += x * x, s->energy.max = fmax(s->energy.max, fabs(x));
        if (!(d->e_spice_read[k] > 0))
            continue;
        double y = 100 * (d->e_model_read[k] - d->e_spice_read[k]) / d->e_spice_read[k];
        s->energy_read.rms += y * y, s->energy_read.max = fmax(s->energy_read.max, fabs(y));
        n_read++;
    }
    s->energy.rms = sqrt(s->energy.rms / d->n_pat);
    s->energy_read.rms = n_read ? sqrt(s->energy_read.rms / n_read) : 0;
}

static int summarize(const cell_model *m, const val_data *d, val_summary *s)
{
    int n = d->n_pat * d->cols;
    int *clip = malloc((size_t)n * sizeof *clip);
    if (!clip)
        return -1;
    s->clipped = 0, s->bl_dev_max_v = 0;
    for (int k = 0; k < n; k++) {
        clip[k] = d->meas[k].clipped;
        s->clipped += d->meas[k].clipped;
        s->bl_dev_max_v = fmax(s->bl_dev_max_v, d->meas[k].bl_dev_max_v);
    }
    s->fs_c = d->rows * cell_full_scale_c(m), s->tmax = cell_t_max_s(m);
    s->s_sat_c = cell_s_sat_c(m);
    s->q = err_of(d->q_spice, d->q_model, n, NULL);
    s->q_unclipped = err_of(d->q_spice, d->q_model, n, clip);
    s->p = err_of(d->p_spice, d->p_model, n, NULL);
    s->integ = err_of(d->q_integ, d->q_spice, n, NULL);
    energy_errors(d, s);
    free(clip);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Plots */

static int plots(const char *dir, const val_data *d, double fs_c, gc_err *e)
{
    int n = d->n_pat * d->cols, nb = 24;
    double *xm = malloc(n * sizeof *xm), *ys = malloc(n * sizeof *ys), *err = malloc(n * sizeof *err);
    if (!xm || !ys || !err) {
        free(xm), free(ys), free(err);
        return gc_fail(e, "out of memory");
    }
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

/* ---------------------------------------------------------------------------------------- */
/* The report (validate.json) */

static void add_array(cJSON *o, const char *name, const double *x, int n, double scale)
{
    cJSON *a = cJSON_AddArrayToObject(o, name);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(x[i] * scale));
}

/* The per-cell sum holds if the bit line stays at its virtual ground and the integrator
 * keeps every bit of charge; say plainly where it did not. */
static void add_integrity(cJSON *root, const val_data *d, const val_summary *s)
{
    cJSON *o = cJSON_AddObjectToObject(root, "bit_line_and_integrator");
    cJSON_AddNumberToObject(o, "clipped_columns", s->clipped);
    cJSON_AddNumberToObject(o, "bit_line_far_end_max_excursion_V", s->bl_dev_max_v);
    cJSON_AddNumberToObject(o, "integrator_vs_sense_rms_pct_fs", 100 * s->integ.rms / s->fs_c);
    cJSON_AddNumberToObject(o, "integrator_vs_sense_max_pct_fs", 100 * s->integ.max / s->fs_c);
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

static void add_errors(cJSON *root, const val_summary *s)
{
    const val_err *q = &s->q, *qu = &s->q_unclipped, *p = &s->p;
    cJSON_AddNumberToObject(root, "charge_full_scale_C", s->fs_c);
    cJSON_AddNumberToObject(root, "column_charge_rms_pct_fs", 100 * q->rms / s->fs_c);
    cJSON_AddNumberToObject(root, "column_charge_max_pct_fs", 100 * q->max / s->fs_c);
    cJSON_AddNumberToObject(root, "column_charge_rms_pct_fs_unclipped", 100 * qu->rms / s->fs_c);
    cJSON_AddNumberToObject(root, "column_charge_max_pct_fs_unclipped", 100 * qu->max / s->fs_c);
    /* full scale is every cell of a bit line at full charge; the converter saturates far
     * below it */
    cJSON_AddNumberToObject(root, "s_sat_C", s->s_sat_c);
    cJSON_AddNumberToObject(root, "column_charge_rms_pct_s_sat", 100 * q->rms / s->s_sat_c);
    cJSON_AddNumberToObject(root, "column_charge_max_pct_s_sat", 100 * q->max / s->s_sat_c);
    cJSON_AddNumberToObject(root, "pulse_rms_pct_tmax", 100 * p->rms / s->tmax);
    cJSON_AddNumberToObject(root, "pulse_max_pct_tmax", 100 * p->max / s->tmax);
    cJSON_AddNumberToObject(root, "t_max_s", s->tmax);
}

static void add_timing(cJSON *root, const val_data *d, const val_summary *s)
{
    double per = s->sim_s / d->n_pat;
    cJSON_AddNumberToObject(root, "spice_seconds", s->sim_s);
    cJSON_AddNumberToObject(root, "spice_wall_seconds", s->wall_s);
    cJSON_AddNumberToObject(root, "spice_worker_retries", d->retries);
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

static void add_patterns(cJSON *root, const val_data *d)
{
    int n = d->n_pat * d->cols;
    cJSON *tg = cJSON_AddObjectToObject(root, "targets");
    cJSON_AddNumberToObject(tg, "column_charge_rms_pct_fs", 2);
    cJSON_AddNumberToObject(tg, "pulse_rms_pct_tmax", 3);
    cJSON_AddNumberToObject(tg, "speedup_model_vs_spice", 1e5);
    cJSON *pp = cJSON_AddObjectToObject(root, "patterns");
    add_array(pp, "spice_charge_C", d->q_spice, n, 1);
    add_array(pp, "model_charge_C", d->q_model, n, 1);
    add_array(pp, "integrator_charge_C", d->q_integ, n, 1);
    add_array(pp, "spice_pulse_s", d->p_spice, n, 1);
    add_array(pp, "model_pulse_s", d->p_model, n, 1);
}

static void add_energy(cJSON *root, const val_data *d, const val_summary *s, const cell_model *m)
{
    cJSON_AddNumberToObject(root, "energy_rms_pct", s->energy.rms);
    cJSON_AddNumberToObject(root, "energy_max_pct", s->energy.max);
    cJSON_AddNumberToObject(root, "energy_read_rms_pct", s->energy_read.rms);
    cJSON_AddNumberToObject(root, "energy_read_max_pct", s->energy_read.max);
    cJSON_AddBoolToObject(root, "energy_model_simulated", cell_energy_is_simulated(m));
    cJSON_AddStringToObject(root, "energy_note",
                            "per pattern, 100 (model - SPICE) / SPICE of the analog energy: the "
                            "reads (vdd x the charge every word-line driver delivers before the "
                            "conversion window, wires included; model: cell_read_energy_j per "
                            "cell and e_wordline_cell_j per cell of a pulsed row) plus the "
                            "conversions (the supply within the window; model: "
                            "cell_c2p_energy_j per column). The integrator's and comparators' "
                            "bias is declared, not simulated, and not part of either side");
    cJSON *pp = cJSON_GetObjectItem(root, "patterns");
    add_array(pp, "spice_read_energy_J", d->e_spice_read, d->n_pat, 1);
    add_array(pp, "spice_conversion_energy_J", d->e_spice_conv, d->n_pat, 1);
    add_array(pp, "model_read_energy_J", d->e_model_read, d->n_pat, 1);
    add_array(pp, "model_conversion_energy_J", d->e_model_conv, d->n_pat, 1);
}

static cJSON *report(const validate_opts *o, const attn_config *analog, const spice_tech *t,
                     const val_data *d, const val_summary *s, const char *cmdline)
{
    const cell_model *m = analog->cell;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "command", cmdline ? cmdline : "");
    cJSON_AddStringToObject(root, "gcsim_version", GCSIM_VERSION);
    cJSON_AddStringToObject(root, "cell", cell_model_source(m));
    cJSON_AddStringToObject(root, "technology", t->name);
    cJSON_AddStringToObject(root, "spice_accuracy", o->array_mode->name);
    cJSON_AddStringToObject(root, "spice_accuracy_summary", o->array_mode->summary);
    if (o->array_mode->columns_per_job > 0)
        cJSON_AddNumberToObject(root, "spice_relaxations", o->array_mode->relaxations);
    cJSON_AddNumberToObject(root, "samples", d->n_pat);
    cJSON_AddNumberToObject(root, "rows", d->rows);
    cJSON_AddNumberToObject(root, "columns", d->cols);
    cJSON_AddNumberToObject(root, "seed", (double)o->seed);
    cJSON_AddNumberToObject(root, "token_period_s", attn_config_token_period_s(analog));
    gpt2_attn_config_json(root, analog);
    cJSON_AddNumberToObject(root, "max_age_tokens", o->max_age_tokens);
    cJSON_AddStringToObject(root, "leakage",
                            "not validated here: each cell's age is applied in SPICE as the "
                            "initial storage voltage cell_decay_v(write_v(level), age); the "
                            "decay model is validated against SPICE hold transients by gcsim fit");
    add_errors(root, s);
    add_integrity(root, d, s);
    add_timing(root, d, s);
    add_patterns(root, d);
    add_energy(root, d, s, m);
    return root;
}

/* dir/validate.json */
static int write_json(const char *dir, const cJSON *root, gc_err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/validate.json", dir);
    return gc_json_write(path, root, e);
}

/* ---------------------------------------------------------------------------------------- */
/* The run */

static int check_match(const spice_tech *t, const cell_model *m, gc_err *e)
{
    double tt = spice_tech_get(t, "t_max"), vt = spice_tech_get(t, "vdd");
    if (fabs(tt - cell_t_max_s(m)) > 1e-3 * tt || fabs(vt - cell_vdd_v(m)) > 1e-3 * vt)
        return gc_fail(e, "%s: t_max %.4g s, vdd %.4g V do not match technology %s "
                          "(t_max %.4g s, vdd %.4g V)", cell_model_source(m), cell_t_max_s(m),
                       cell_vdd_v(m), t->name, tt, vt);
    return 0;
}

static void fill_result(const val_data *d, const val_summary *s, validate_result *res)
{
    *res = (validate_result){
        .charge_rms_pct_fs = 100 * s->q.rms / s->fs_c,
        .charge_max_pct_fs = 100 * s->q.max / s->fs_c,
        .pulse_rms_pct_tmax = 100 * s->p.rms / s->tmax,
        .clipped_columns = s->clipped,
        .spice_s_per_pattern = s->sim_s / d->n_pat,
        .model_s_per_pattern = s->model_s,
        .energy_rms_pct = s->energy.rms,
        .energy_max_pct = s->energy.max,
    };
}

int validate_run_on(const spice_tech *t, const cell_model *m, const validate_opts *given,
                    const char *command_line, validate_result *res, gc_err *e)
{
    validate_opts own = *given;
    spice_array_mode mode = *given->array_mode;
    if (given->relaxations >= 0)
        mode.relaxations = given->relaxations;
    own.array_mode = &mode;
    const validate_opts *o = &own;
    val_data d = {0};
    val_summary s = {0};
    cJSON *root = NULL;
    attn_config analog = o->analog;
    analog.cell = m;
    double period_s = attn_config_token_period_s(&analog);
    int rc = check_match(t, m, e) || attn_config_check(&analog, e) ||
             (o->writes && (gc_mkdir_p(o->out_dir, e) || gc_check_writable(o->out_dir, e)));
    if (!rc && data_alloc(&d, o->samples, o->rows, o->cols))
        rc = gc_fail(e, "out of memory");
    if (!rc) {
        make_patterns(m, o, period_s, &d);
        rc = spice_side(t, o, &d, &s.sim_s, &s.wall_s, e);
    }
    if (!o->writes) { /* a helping rank: its simulations went to rank 0 */
        data_free(&d);
        return rc ? -1 : 0;
    }
    if (!rc) {
        s.model_s = model_run(m, &d, period_s, &s.repeats);
        validate_energy(m, &d, period_s);
        rc = summarize(m, &d, &s) ? gc_fail(e, "out of memory") : 0;
    }
    if (!rc) {
        root = report(o, &analog, t, &d, &s, command_line);
        rc = (o->mc_chips > 0 && validate_mc_column(t, m, o, root, e)) ||
             plots(o->out_dir, &d, s.fs_c, e) || write_json(o->out_dir, root, e);
    }
    if (!rc && res)
        fill_result(&d, &s, res);
    cJSON_Delete(root);
    data_free(&d);
    return rc ? -1 : 0;
}

int validate_run(const validate_opts *o, const char *command_line, validate_result *res,
                 gc_err *e)
{
    spice_tech *t = malloc(sizeof *t);
    cell_model *m = NULL;
    int rc = t ? 0 : gc_fail(e, "out of memory");
    rc = rc || spice_tech_load(o->tech, o->root, t, e) || spice_tech_check(t, e) ||
         attn_config_load_cell(&o->analog, &m, e) ||
         validate_run_on(t, m, o, command_line, res, e);
    cell_model_free(m);
    free(t);
    return rc ? -1 : 0;
}
