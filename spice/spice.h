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

/* A process corner's global shift of one model-card parameter of every n- or p-type model
 * ("corner ss n vth0 + 0.045": add 45 mV to vth0 of every nmos model; "* 0.92" scales). */
typedef struct {
    char corner[16];   /* tt, ff, ss, fs, sf (first letter: n devices, second: p) */
    char polarity;     /* 'n' or 'p' */
    char param[32];    /* a .model parameter, e.g. vth0, u0 */
    char op;           /* '+' adds value, '*' multiplies by it */
    double value;
} spice_corner_shift;

#define SPICE_MAX_CARDS 8
#define SPICE_MAX_CORNER_SHIFTS 64
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
    spice_corner_shift shifts[SPICE_MAX_CORNER_SHIFTS]; /* every corner the file declares */
    int n_shifts;
    char corner[16];              /* the corner in use; "tt" (nominal cards) unless chosen */
} spice_tech;

/* Loads a technology: "si", "igzo" (found in root/spice/tech) or a path to a .tech file.
 * root is the gcsim source folder holding spice/. */
int spice_tech_load(const char *name_or_path, const char *root, spice_tech *t, gc_err *e);

/* Applies "NAME=VALUE" (VALUE a number, SPICE suffixes allowed: 8f, 15n, 0.9). A value outside
 * the parameter's declared range is refused with the range and the .tech file named. */
int spice_tech_set(spice_tech *t, const char *assignment, gc_err *e);

/* Chooses a process corner the .tech file declares ("tt" is always valid: the nominal
 * cards). Netlists then carry the model cards with the corner's shifts applied. */
int spice_tech_set_corner(spice_tech *t, const char *corner, gc_err *e);

/* Applies the chosen corner's shifts to a model card's text (malloc'd result, or NULL with
 * e set: a shifted parameter missing from a model of that polarity is an error). */
char *spice_card_apply_corner(const spice_tech *t, const char *card, const char *file,
                              gc_err *e);

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
/* Local mismatch (mismatch.c): one cell instance's own devices, drawn from the technology's
 * Pelgrom coefficients (a_vt_n, a_vt_p in mV um; a_beta_n, a_beta_p in % um; sigma_cs) */

#define SPICE_MC_DEVICES 4 /* wn, wp, rn, rp: write NMOS, write PMOS, read NMOS, read PMOS */

typedef struct {
    double dvt_v[SPICE_MC_DEVICES]; /* threshold shift (BSIM4 delvto), V; 0 for a device the
                                       cell does not have */
    double mu[SPICE_MC_DEVICES];    /* mobility factor (BSIM4 mulu0), 1 + dbeta/beta */
    double k_cs;                    /* storage capacitor factor, 1 + dC/C */
    char params[320];               /* the instance parameters for the gcell X line */
} spice_mismatch;

extern const char *const spice_mc_device[SPICE_MC_DEVICES]; /* "wn", "wp", "rn", "rp" */

/* Draws instance k of a Monte Carlo seeded with seed: every device its own Gaussian shifts
 * with sigma(dVth) = a_vt / sqrt(W L), sigma(dbeta/beta) = a_beta / sqrt(W L) (W, L the
 * technology's w_<dev>, l_<dev>), the capacitor sigma_cs. The draw depends only on (seed,
 * k), never on how many instances run. Fails if the technology lacks the coefficients. */
int spice_mismatch_draw(const spice_tech *t, unsigned long long seed, int k,
                        spice_mismatch *out, gc_err *e);

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
    int mc_instances;              /* > 0: also the read, leak and write sweeps of this many
                                      mismatched cells, into /mc/NNN (phase 0 of the leak
                                      sweep only: I_leak(V) and its tau estimate) */
    unsigned long long mc_seed;    /* seed of their draws */
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

/* How an array is simulated. The reference runs the whole array through the read and the
 * conversion window with the characterization's settings (SWEEP_OPTIONS, 50 ps largest
 * step). A split mode runs the array through the read only; each column's integrator and
 * converter then run alone (spice_array_convert_netlist), driven by the bit-line current
 * the read measured. */
typedef struct {
    const char *name;
    const char *summary;
    const char *options;      /* the read's .options */
    double max_step_s;        /* the read's largest time step */
    int save_measured;        /* .save only what spice_array_measure reads */
    int split;                /* read on the array, conversion on the columns alone */
    int word_line_nodes;      /* nodes of a row's wire (0: one per column pitch); fewer
                                 let neighbouring cells share one (array.c, row_wires) */
    int columns_per_job;      /* > 0: the columns mode, below; the columns of one job */
    int relaxations;          /* columns mode: word lines and columns again, this many times,
                                 the bit lines replayed from the columns run before */
} spice_array_mode;

extern const spice_array_mode spice_array_reference, spice_array_fast, spice_array_columns;

/* The mode called name ("fast", "reference"), or NULL. */
const spice_array_mode *spice_array_mode_find(const char *name);

/* Netlist of the array: cell (d, c) starts at v_store_v[d·n_cols + c] (V, set with .ic);
 * row d is read with a pulse of pulse_frac[d]·t_max (0..1); column c's bit line reaches its
 * integrator through a 0-V source "Vsense<c>". In a split mode it ends at the window.
 * Returns malloc'd text or NULL. */
char *spice_array_netlist(const spice_tech *t, const spice_array_mode *m, const char *title,
                          int n_rows, int n_cols, const double *v_store_v,
                          const double *pulse_frac, gc_err *e);

/* The same with each cell's own instance parameters (cell_params[d·n_cols + c], e.g. a
 * spice_mismatch's params; NULL: all nominal). */
char *spice_array_netlist_cells(const spice_tech *t, const spice_array_mode *m,
                                const char *title, int n_rows, int n_cols,
                                const double *v_store_v, const double *pulse_frac,
                                const char *const *cell_params, gc_err *e);

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

/* Measures column col of a finished array job (vectors as in spice_array_vectors). In a
 * split mode pulse_s covers only the read: spice_array_measure_pulse gives it. */
int spice_array_measure(const spice_tech *t, const spice_result *r, int col,
                        spice_array_meas *out, gc_err *e);

/* Split modes: the conversion netlist of the n_cols columns of a finished read (vectors as
 * in spice_array_vectors): each column's integrator and converter, its input the column's
 * sense current up to the window, then zero. Malloc'd text or NULL. */
char *spice_array_convert_netlist(const spice_tech *t, const char *title, int n_cols,
                                  const spice_result *read, gc_err *e);

/* Its vectors: "time", then each column's output pulse, then the supply's current
 * (SPICE_ARRAY_CONVERT_NVEC(n_cols) in all). Malloc'd; free with
 * spice_array_convert_vectors_free. NULL if out of memory. */
#define SPICE_ARRAY_CONVERT_NVEC(n_cols) (2 + (n_cols))
const char **spice_array_convert_vectors(int n_cols);
void spice_array_convert_vectors_free(const char **vectors, int n_cols);

/* Column col's output pulse width (integral of v(out)/vdd, s) from a finished conversion. */
int spice_array_measure_pulse(const spice_tech *t, const spice_result *r, int col,
                              double *pulse_s, gc_err *e);

/* The columns mode (columns_per_job > 0) runs an array of more than one column in two
 * steps (one column: as the fast mode, spice_array_netlist). The word lines: the array with every bit-line node held by an ideal source at
 * vdd/2, where the integrators hold the bit lines, so no row couples to another through the
 * bit lines; it saves every word-line node and the supplies. Then the columns, in groups:
 * their cells with the word lines replayed from the first step (PWL sources), and their bit
 * lines, integrators and converters as in the array netlist, through the read. A
 * relaxation runs both again, the word lines with every cell's bit-line node replayed from
 * the columns run (columns: its results, one per group of columns_per_job; NULL the first
 * time, the bit lines held). */
int spice_array_word_line_nodes(const spice_array_mode *m, int n_cols); /* per row */
char *spice_array_word_lines_netlist(const spice_tech *t, const spice_array_mode *m,
                                     const char *title, int n_rows, int n_cols,
                                     const double *v_store_v, const double *pulse_frac,
                                     const char *const *cell_params,
                                     const spice_result *columns, gc_err *e);
/* Its vectors: "time", then rwl and rwlb of each row's nodes (row-major); the supplies'
 * (spice_array_energy_vectors) may follow. */
#define SPICE_ARRAY_WORD_LINES_NVEC(n_rows, n_nodes) (1 + 2 * (size_t)(n_rows) * (n_nodes))
const char **spice_array_word_lines_vectors(const spice_array_mode *m, int n_rows, int n_cols);
void spice_array_word_lines_vectors_free(const char **vectors, int n_rows, int n_nodes);
/* Columns c0 .. c0 + n - 1, numbered 0 .. n - 1 in the netlist; word_lines is the
 * finished first step. Its vectors: spice_array_vectors(n_rows, n), then, if the mode
 * relaxes, every bit-line node (row-major). */
#define SPICE_ARRAY_COLUMNS_NVEC(m, n_rows, n)                                                \
    (1 + SPICE_ARRAY_NVEC_COL * (size_t)(n) + ((m)->relaxations > 0 ? (size_t)(n_rows) * (n) : 0))
const char **spice_array_columns_vectors(const spice_array_mode *m, int n_rows, int n);
void spice_array_columns_vectors_free(const spice_array_mode *m, const char **vectors,
                                      int n_rows, int n);
char *spice_array_columns_netlist(const spice_tech *t, const spice_array_mode *m,
                                  const char *title, int n_rows, int n_cols, int c0, int n,
                                  const double *v_store_v, const double *pulse_frac,
                                  const char *const *cell_params,
                                  const spice_result *word_lines, gc_err *e);

/* Supply energy of an array job (array_energy.c): the extra vectors to fetch (the supply's,
 * then each row's two word-line drivers': 1 + 2 n_rows; malloc'd, NULL if out of memory),
 * and from them, starting at vector index first: read_j, vdd times the charge the word-line
 * drivers deliver before the conversion window, and conv_j, the supply's energy within it
 * (all columns' converters). The sweeps measure the cost tables the same way. */
const char **spice_array_energy_vectors(int n_rows);
void spice_array_energy_vectors_free(const char **vectors, int n_rows);
int spice_array_energy(const spice_tech *t, const spice_result *r, int first, int n_rows,
                       double *read_j, double *conv_j, gc_err *e);
/* A split mode's conversion energy: the supply's within the window, from the conversion job
 * (its vector 1 + n_cols). */
int spice_array_convert_energy(const spice_tech *t, const spice_result *r, int n_cols,
                               double *conv_j, gc_err *e);

#endif
