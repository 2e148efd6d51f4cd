/* sweep: a design space, run point by point through the chain characterize -> fit -> adapt ->
 * ppl, every step cached by a content hash of its inputs, every point written atomically,
 * resumable after any kill.
 *
 * A sweep file (JSON) names the axes and the chain:
 *   {"name": "...",
 *    "axes": {"tech": ["si", "igzo"], "set:c_store": ["4f", "8f"], "token_period_s": [1e-6]},
 *    "points": [{...}, ...],          (instead of "axes": an explicit list of points)
 *    "chain": {"plan": "data/sweeps/test.plan", "model": "...", "calibration": "FILE",
 *              "text": "FILE", "tokens": 32768, "ctx": 1024, "stride": 512,
 *              "adapt_max_iter": 100, "adapt_batch": 4, "jobs": 2, "threads": 2}}
 * Axes: "tech" (a technology name or .tech file), "set:NAME" (a technology parameter, as
 * `characterize --set NAME=VALUE`), and any analog setting by its attn_config_set name
 * (attention, token_period_s, window, ...: given to adapt and ppl as --analog KEY=VALUE).
 * "axes" form the full grid, the first axis varying slowest. Without "model" the chain stops
 * after fit. Relative paths are relative to the sweep file's folder.
 *
 * Steps run as commands (gcsim characterize, fit, adapt, ppl) through the caller's runner,
 * each into OUT/cache/<step>-<hash>, where the hash covers the gcsim version, the step's
 * arguments and the SHA-256 of every input file (netlists and model cards included); a step
 * runs in a temporary folder renamed into place when it succeeds. So a rerun runs nothing, an
 * extended sweep only the new points, and a killed run loses no finished step: its temporary
 * folder is removed at the next start. After each point OUT/table.json and OUT/table.csv (a
 * row per point done, in the file's order, a column per axis and metric) are rewritten
 * atomically. */
#ifndef GCSIM_SWEEP_H
#define GCSIM_SWEEP_H

#include "common.h"

/* Runs one command, argv[0] being the gcsim subcommand ("characterize", ...), NULL-ended,
 * with `threads` OpenMP threads (OMP_NUM_THREADS: results depend on the thread count at the
 * last bit, so every process of a sweep uses the same); stdout and stderr go to log (a file
 * path). Returns 0 on success. */
typedef int (*sweep_runner)(void *ctx, char *const argv[], const char *log, int threads,
                            gc_err *e);

typedef struct {
    const char *file;      /* the sweep file */
    const char *out_dir;   /* created if missing */
    const char *root;      /* gcsim source folder: spice/ for the input hashes */
    sweep_runner run;
    void *run_ctx;
    int progress;          /* one line per step on stderr */
} sweep_opts;

/* Points in the table and steps run (not cached) by this process. */
typedef struct {
    int points, steps_run, steps_cached;
} sweep_result;

/* The whole sweep in this process, point after point, the table after each. */
int sweep_run(const sweep_opts *o, sweep_result *r, gc_err *e);

/* The same in parts, for schedulers that spread points over processes (sweep_mpi.c). */
typedef struct sweep_session sweep_session;

/* Loads the sweep file; clean removes temporary step folders a killed run left (only one
 * process may, before any runs). sweep_close frees it, also after a failure. */
int sweep_open(const sweep_opts *o, int clean, sweep_session **out, gc_err *e);
int sweep_point_count(const sweep_session *s);

/* Runs point p's chain (steps already cached are not run). */
int sweep_point(sweep_session *s, int p, gc_err *e);

/* Writes the table of points 0..n-1 whose every step is done, running nothing; missing gets
 * the count of the others then their indices (room for n + 1). */
int sweep_table(sweep_session *s, int n, int *missing, gc_err *e);

/* The counts of steps run and cached by this process, and the points in the last table. */
void sweep_close(sweep_session *s, sweep_result *r);

#ifdef GCSIM_MPI
/* The whole sweep over MPI_COMM_WORLD (after MPI_Init_thread with at least
 * MPI_THREAD_FUNNELED): rank 0 hands out points and writes the table (sweep_mpi.c). */
int sweep_run_mpi(const sweep_opts *o, sweep_result *r, gc_err *e);
#endif

#endif
