/* validate: the behavioural cell model against a whole column or array in SPICE.
 *
 * Each seeded random pattern stores rows × columns levels (written with the model's write
 * transfer, aged with its decay over age × the token period, and set in SPICE as initial
 * conditions), reads them with one pulse level per row on the rows' word lines into each
 * column's bit line, integrator and charge-to-pulse converter, and compares every column's
 * bit-line charge and output pulse with the model's per-cell sum. It is not a check of the
 * leakage model: ages enter both sides through cell_decay_v; `gcsim fit` validates the decay
 * against SPICE hold transients.
 *
 * Writes out_dir/validate.json (errors, bit-line and integrator integrity, timings, every
 * pattern's charges and pulses), out_dir/charge_scatter.png and out_dir/charge_error_hist.png.
 * The patterns depend only on the seed (gc_rng), so a run repeats on any machine. */
#ifndef GCSIM_VALIDATE_H
#define GCSIM_VALIDATE_H

#include <stdint.h>

#include <cJSON.h>

#include "attention.h"
#include "cellmodel.h"
#include "common.h"
#include "spice.h"

/* Runs a batch of SPICE jobs with spice_run's contract: spice_run itself, or
 * validate_spice_run_mpi. */
typedef int (*validate_spice_runner)(const spice_job *jobs, int n, const spice_run_opts *opts,
                                     spice_result *res, gc_err *e);

typedef struct {
    attn_config analog;         /* the cell (cell_file: a cell.h5 of the same technology, or
                                   cell_preset) and the token period: age × the period is a
                                   cell's hold time (attn_config_token_period_s) */
    const char *tech;           /* "si", "igzo" or a .tech file */
    const char *root;           /* gcsim source folder holding spice/ (tech files, netlists) */
    const char *out_dir;        /* created if missing */
    int samples;                /* random patterns, one simulation each, >= 1 */
    int rows;                   /* cells on each bit line, >= 1 */
    int cols;                   /* bit lines, >= 1 */
    int jobs;                   /* simulations at once, >= 1 */
    int max_age_tokens;         /* ages are uniform in 0..max_age_tokens */
    uint64_t seed;              /* pattern seed */
    double timeout_s;           /* per simulation */
    int retries;                /* restarts of a simulation whose worker died without a
                                   result (spice_run_opts.retries) */
    int progress;               /* progress line on stderr (on a terminal only) */
    validate_spice_runner run_spice; /* spice_run, or validate_spice_run_mpi */
    int writes;                 /* 1: compares and writes out_dir; 0: only runs its share of
                                   the simulations (an MPI rank other than 0) */
    const spice_array_mode *array_mode; /* how the array is simulated (spice.h) */
    int relaxations;            /* >= 0: the columns mode's relaxations instead of its own */
    int mc_chips;               /* > 0: also the Monte Carlo column (validate_mc_column) */
    uint64_t mc_seed;           /* seed of its cells' mismatch draws */
} validate_opts;

/* Defaults: tech "si", root the source folder gcsim was built from, 200 samples, 64 rows,
 * 1 column, 2 jobs, ages 0..1024 tokens, seed 1, timeout 300 s, SPICE_RETRIES_DEFAULT
 * retries, progress on, the columns array mode; analog: the
 * calibrated variant in a 12-layer model (GPT-2 124M's depth), so that the token period is
 * 12 × the cell's per-layer latency unless a period is set. The cell and out_dir are
 * unset: the caller sets them. */
void validate_opts_default(validate_opts *o);

/* The headline numbers (validate.json has them all). */
typedef struct {
    double charge_rms_pct_fs;   /* column charge, SPICE - model, % of full scale */
    double charge_max_pct_fs;
    double pulse_rms_pct_tmax;  /* output pulse, SPICE - model, % of t_max */
    int clipped_columns;        /* columns whose integrator reached a rail */
    double spice_s_per_pattern; /* simulation seconds per pattern (one worker process each) */
    double model_s_per_pattern; /* model seconds per pattern */
    double energy_rms_pct;      /* pattern energy (reads and conversions), model vs SPICE, % */
    double energy_max_pct;
} validate_result;

/* Loads o->tech (under o->root) and o->analog's cell and runs validate_run_on. command_line is
 * recorded in validate.json (NULL: ""). res may be NULL. */
int validate_run(const validate_opts *o, const char *command_line, validate_result *res,
                 gc_err *e);

/* The same on a technology and a cell model already loaded (e.g. a sweep point's technology
 * with parameter overrides); o->tech, o->root and o->analog's cell file are not used. Fails unless
 * the cell's t_max and vdd match the technology's. */
int validate_run_on(const spice_tech *t, const cell_model *m, const validate_opts *o,
                    const char *command_line, validate_result *res, gc_err *e);

#ifdef GCSIM_MPI
/* The jobs spread over MPI_COMM_WORLD (after MPI_Init): rank r runs jobs r, r + N, ... with
 * its own workers, and rank 0 receives every result, so res is whole on rank 0 only (the
 * other ranks' res stays empty). A failure anywhere fails every rank (validate_mpi.c). */
int validate_spice_run_mpi(const spice_job *jobs, int n, const spice_run_opts *opts,
                           spice_result *res, gc_err *e);
#endif
/* The Monte Carlo column (validate_mc.c): o->mc_chips chips of one o->rows-cell column, every
 * cell its own mismatch draw (spice_mismatch_draw with o->mc_seed; chip k's row r is instance
 * k·rows + r), all storing one pattern (seed o->seed: levels of the upper half, fresh, read
 * with pulses of the lower half, a positive column that stays in the integrator's range),
 * plus the nominal chip. Their SPICE column charges are compared with the prediction of the
 * cell file's /variation: mean Σ q_r, variance Σ (σg² q_r² + σo² p_r² + 2 ρ σg σo q_r p_r)
 * with q_r the model's charge of row r and p_r its pulse fraction. Adds "monte_carlo" and
 * its headline keys mc_mean_err_pct and mc_std_err_pct (SPICE - prediction, % of the
 * prediction) to root. */
int validate_mc_column(const spice_tech *t, const cell_model *m, const validate_opts *o,
                       cJSON *root, gc_err *e);

#endif
