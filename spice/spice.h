/* spice: from netlists and model cards to curves.h5 through libngspice.
 *
 * A technology is a model-card file plus a parameter file (spice/tech/NAME.tech); netlists
 * are templates in spice/netlists. Every simulation runs in its own worker process, since
 * libngspice keeps global state and grows memory across runs; a crashed, hung or killed
 * worker fails that simulation with a one-line reason, never the whole program.
 * Units are SI throughout (V, A, s, F, C, J) unless a name says otherwise. */
#ifndef GCSIM_SPICE_H
#define GCSIM_SPICE_H

#include <stddef.h>

#include "common.h"

/* ---------------------------------------------------------------------------------------- */
/* Technologies */

typedef struct {
    char name[48];
    double value;
    char unit[16];
    char description[400];
    int has_range;     /* the .tech file declares [min, max] (older files may not) */
    double min, max;   /* valid values, inclusive, in unit */
} spice_param;

typedef struct {
    char role[32];  /* write_n, write_p, read_n, read_p, logic_n, logic_p */
    char model[48]; /* a .model name of the cards */
} spice_device;

#define SPICE_MAX_CARDS 8
#define SPICE_MAX_DEVICES 16
#define SPICE_MAX_PARAMS 96

typedef struct {
    char name[64];
    char path[4096];              /* the .tech file */
    char netlist_dir[4096];       /* where the templates live */
    char cards[SPICE_MAX_CARDS][4096];
    int n_cards;
    char cell[256];               /* cell template file name */
    spice_device devices[SPICE_MAX_DEVICES];
    int n_devices;
    spice_param params[SPICE_MAX_PARAMS];
    int n_params;
} spice_tech;

/* Loads a technology: "si", "igzo" (found in root/spice/tech) or a path to a .tech file.
 * root is the gcsim source folder holding spice/. */
int spice_tech_load(const char *name_or_path, const char *root, spice_tech *t, gc_err *e);

/* Applies "NAME=VALUE" (VALUE a number, SPICE suffixes allowed: 8f, 15n, 0.9). A value outside
 * the parameter's declared range is refused with the range and the .tech file named. */
int spice_tech_set(spice_tech *t, const char *assignment, gc_err *e);

/* The value of a parameter; the program's own names must exist, so a missing one is a bug in
 * a technology file and reported by spice_tech_check. */
double spice_tech_get(const spice_tech *t, const char *name);

/* Checks that every parameter the sweeps and templates use is defined, every value lies in
 * its declared range, and the few rules between parameters hold (vdd/2 < v_in <= vdd,
 * v_wwl_off < v_wwl_on, t_edge below t_write and t_max). Run before any simulation. */
int spice_tech_check(const spice_tech *t, gc_err *e);

/* Parses a number with an optional SPICE scale suffix (f p n u m k meg g t). */
int spice_parse_number(const char *s, double *out);

/* ---------------------------------------------------------------------------------------- */
/* Netlists */

/* Builds a self-contained netlist (model cards and templates inlined, so it runs anywhere
 * with the ngspice command line): title, .param lines for every technology parameter,
 * temperature, the cards, the named templates with ${role} replaced by device models, then
 * body (elements, analysis, .end added). Returns malloc'd text or NULL. */
char *spice_netlist_build(const spice_tech *t, const char *title, const char *const *templates,
                          int n_templates, const char *options, const char *body, gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* Running simulations in worker processes */

typedef struct {
    char name[96];           /* shown in messages, e.g. "read_tran[level 7]" */
    const char *netlist;     /* full netlist text */
    const char *const *vectors; /* vectors to fetch after the run (ngspice names) */
    int n_vectors;
} spice_job;

typedef struct {
    int ok;
    char error[GC_ERR_LEN];  /* one line when !ok */
    double **vec;            /* n_vectors arrays */
    size_t *len;
    double seconds;
    char ngspice_version[32];
    int attempts;            /* worker processes started for this job (2 after one retry) */
} spice_result;

/* Retries of a simulation whose worker died without a result, unless told otherwise. */
#define SPICE_RETRIES_DEFAULT 1

typedef struct {
    int jobs;                /* worker processes at once (>= 1) */
    double timeout_s;        /* per simulation */
    int progress;            /* show a progress line (on a terminal only) */
    int retries;             /* a worker that dies without a result (killed, crashed, out of
                                memory) is started again up to this many times per job (0:
                                none); a reported failure (netlist error, no convergence) or
                                a timeout is final */
} spice_run_opts;

/* Runs n jobs, at most opts->jobs at a time, each in a fresh process. Fills res[i] for
 * every job. Returns 0 when all succeeded; else -1 with the first failure in e
 * ("job: reason"); the jobs still running are stopped. After SIGINT or SIGTERM
 * (gc_interrupted) it stops and reaps every worker and fails with "interrupted by ...".
 * Workers restore the default actions of SIGINT and SIGTERM, so a terminal's Ctrl-C stops
 * them too. */
int spice_run(const spice_job *jobs, int n, const spice_run_opts *opts, spice_result *res,
              gc_err *e);

void spice_result_free(spice_result *r, int n_vectors);

/* ---------------------------------------------------------------------------------------- */
/* Characterization: all sweeps of one technology into curves.h5 */

typedef struct {
    int read_dc_nv, read_dc_nvin;  /* DC current grid */
    int read_nv, read_levels;      /* transient read charge: stored voltages x pulse levels */
    int leak_dc_n, leak_n0;        /* I_leak(V) points, initial voltages of the transients */
    double leak_tau_mult;          /* transient length in estimated time constants */
    int leak_points;               /* samples per leak transient */
    int write_levels;              /* DAC levels */
    int c2p_n, readout_n;          /* charge points of the converters */
    int jobs_per_sweep;            /* split wide sweeps into this many simulations */
} spice_plan;

/* Reads a sweep plan ("key value" lines); keys not given keep their defaults. */
void spice_plan_default(spice_plan *p);
int spice_plan_load(const char *path, spice_plan *p, gc_err *e);

typedef struct {
    const spice_plan *plan;
    spice_run_opts run;
    const char *command_line;      /* recorded as provenance */
    const char *dump_dir;          /* if set, every netlist is also written there */
    int verbose;
} spice_char_opts;

/* Runs every sweep and writes curves.h5 atomically: out_path is replaced only when all
 * simulations succeeded. */
int spice_characterize(const spice_tech *t, const spice_char_opts *o, const char *out_path,
                       gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* An array for validation (array.c): rows x columns cells; a row's word-line pair runs
 * through the driver resistance r_wl_drv and an RC wire (r_wl_seg, c_wl_seg per cell) across
 * the columns, a column's bit line (r_bl_seg per cell) into its own integrator and
 * charge-to-pulse converter. One column is the column of the validation. */

/* Netlist of the array: cell (d, c) starts at v_store_v[d·n_cols + c] (V, set with .ic);
 * row d is read with a pulse of pulse_frac[d]·t_max (0..1); column c's bit line reaches its
 * integrator through a 0-V source "Vsense<c>". Returns malloc'd text or NULL. */
char *spice_array_netlist(const spice_tech *t, const char *title, int n_rows, int n_cols,
                          const double *v_store_v, const double *pulse_frac, gc_err *e);

/* The vectors an array job must fetch (for spice_job.vectors): "time", then per column its
 * sense current, output pulse, integrator output, integrator input and the bit line's far
 * end. Malloc'd; free with spice_array_vectors_free. NULL if out of memory. */
#define SPICE_ARRAY_NVEC_COL 5
const char **spice_array_vectors(int n_rows, int n_cols);
void spice_array_vectors_free(const char **vectors, int n_cols);

/* Start of the conversion window, s; the cells' charge is integrated before it. */
double spice_array_window_s(const spice_tech *t);

typedef struct {
    double charge_c;            /* cells' charge into the integrator before the window, C */
    double pulse_s;             /* output pulse width, integral of v(out)/vdd, s */
    double integrator_charge_c; /* c_int x the change of its voltage at the window, C */
    double vo_window_v;         /* integrator output at the window, V */
    double bl_dev_max_v;        /* largest excursion of the bit line's far end while reading, V */
    int clipped;                /* the integrator output reached a rail while reading */
} spice_array_meas;

/* Measures column col of a finished array job (vectors as in spice_array_vectors). */
int spice_array_measure(const spice_tech *t, const spice_result *r, int col,
                        spice_array_meas *out, gc_err *e);

/* Supply energy of an array job (array_energy.c): the extra vectors to fetch (the supply's,
 * then each row's two word-line drivers': 1 + 2 n_rows; malloc'd, NULL if out of memory),
 * and from them, starting at vector index first: read_j, vdd times the charge the word-line
 * drivers deliver before the conversion window, and conv_j, the supply's energy within it
 * (all columns' converters). The sweeps measure the cost tables the same way. */
const char **spice_array_energy_vectors(int n_rows);
void spice_array_energy_vectors_free(const char **vectors, int n_rows);
int spice_array_energy(const spice_tech *t, const spice_result *r, int first, int n_rows,
                       double *read_j, double *conv_j, gc_err *e);

#endif
