/* calibrate: from curves.h5 (SPICE sweeps, or curves imported from CSV) to cell.h5, the
 * behavioural model that cellmodel/load.c reads.
 *
 * Per sweep it keeps the measured curve as a table (the model cellmodel evaluates) and fits
 * the few numbers a person compares with the paper: a polynomial of the full-pulse read
 * current (PAPER.md 3), the node capacitance and a single-exponential retention time, the
 * offset / gain / saturation of both converters. Every fit reports its residual on points held
 * out of the fit (every other point), so the numbers say how well the model predicts, not
 * how well it memorises. SI units throughout (V, s, C, A, F, J) unless a name says µA.
 * Uses GSL (interpolation, least squares, 1-d minimisation) and HDF5; not cellmodel: the
 * command line checks the written file with cellmodel's loader. */
#ifndef GCSIM_CALIBRATE_H
#define GCSIM_CALIBRATE_H

#include <cjson/cJSON.h>

#include "common.h"

/* ---------------------------------------------------------------------------------------- */
/* Input: the curves of one curves.h5, with defaults filled in where an imported file has no
 * such sweep: the paper's values below. They are the same numbers as cellmodel.h's
 * CELL_PAPER_K_LEVELS, CELL_PAPER_S_SAT_A, CELL_PAPER_READOUT_SAT_A and CELL_PAPER_TAU_S,
 * restated here because calibrate does not depend on cellmodel (DESIGN.md). */

#define CALIB_IMPORT_WRITE_LEVELS 8      /* ideal DAC levels over 0..vdd (PAPER.md §2) */
#define CALIB_IMPORT_S_SAT_A 80e-6       /* c2p saturates at 80 uA x T_max (PAPER.md §3) */
#define CALIB_IMPORT_READOUT_SAT_A 40e-6 /* readout full scale 40 uA x T_max (PAPER.md §3) */
#define CALIB_IMPORT_LEAK_TAU_S 5e-3     /* time constant of the linear leak assumed without
                                          * leakage curves: the paper's silicon retention
                                          * (PAPER.md §2) */
#define CALIB_DEFAULT_C_NODE_F 10e-15    /* node capacitance assumed for that leak, F */

typedef struct {
    char path[1024];
    char sha256[65];
    char technology[128];
    int imported;              /* root attribute source = "import" */
    double temperature_c;      /* root attribute temperature_C; NaN when not recorded */
    char corner[16];           /* root attribute corner; "" when not recorded */
    double vdd_v, v_mid_v, t_max_s, v_in_v;
    double t_write_s;          /* /params/t_write, s: write pulse width; 0 when not recorded */

    /* /read: charge (n_p, n_v) C over pulse_s (n_p, s, 0..t_max) and v_store (n_v, V);
     * dc_i (n_dc, n_vin) A over dc_v (n_dc, V) and vin (n_vin, V) */
    int n_p, n_v, n_dc, n_vin;
    double *pulse_s, *v_store, *charge;
    double *dc_v, *vin, *dc_i;

    /* /leak: i_leak (n_leak, A leaving the node) over leak_v (V); hold transients vt (n_v0,
     * n_t) V over v0 (V) and t (s). n_v0 = 0 when the file has none. */
    int n_leak, n_v0, n_t;
    double *leak_v, *leak_i, *v0, *t, *vt;
    double c_node_assumed_f;   /* > 0 when i_leak was derived with an assumed C (import) */

    int n_w;                   /* /write: stored voltage per DAC level */
    double *w_level, *w_dac, *w_stored;
    int n_c2p, n_ro;           /* /c2p: pulse (s) vs charge (C); /readout: signed pulse */
    double *c2p_q, *c2p_p, *ro_q, *ro_p;

    int has_energy;            /* /energy, J per operation */
    double e_read_j, e_write_j, e_c2p_j, e_readout_j;

    /* which groups were filled with PAPER.md defaults (imported files only) */
    int default_write, default_c2p, default_readout, default_leak;

    /* /mc (characterize --mc): mc_n mismatched instances, 0 when absent. Instance k: read
     * charge mc_charge[k] (n_p, n_v) C on the nominal axes, the retention estimate of its
     * I_leak(V) mc_tau_est_s[k] (nominal: leak_tau_est_s), its stored voltage per DAC level
     * mc_w_stored[k] (n_w) V and its capacitor factor mc_k_cs[k]. */
    int mc_n;
    double mc_seed, leak_tau_est_s, c_store_f; /* c_store_f: /params/c_store */
    double *mc_charge, *mc_tau_est_s, *mc_w_stored, *mc_k_cs;

    /* cost (cost.c): energy tables of the sweeps where the file holds them (NULL: none),
     * the standard cells' figures, and every /params value with its unit and source */
    double *e_read_supply;     /* (n_p, n_v) J: /read/supply_energy */
    double *e_c2p_tab, *e_ro_tab; /* (n_c2p), (n_ro) J: /c2p/energy, /readout/energy */
    double *e_write_pair;      /* (n_w, n_w) J: /write/energy_pair, [previous][new] */
    double p_idle_w;           /* /energy/idle_power_cell, W; has_idle */
    int has_idle;
    double t_settle_lsb_s;     /* slowest /write/t_settle_half_lsb, s; 0: none */
    double t_integ_settle_s;   /* slowest /c2p/t_settle and /readout/t_settle, s; 0: none */
    int n_stdcell;             /* /stdcell: energy per output toggle and delay, per cell */
    struct {
        char name[16];
        double e_toggle_j, delay_s;
    } stdcell[8];
    int n_tech;
    struct calib_tech_param {
        char name[48], unit[16], description[400];
        double value;
    } *tech;
} calib_curves;

/* Reads path (format "gcsim-curves"). A missing /write, /c2p, /readout or /leak is an error
 * unless the root attribute source is "import"; then PAPER.md defaults are used. */
int calib_curves_load(const char *path, calib_curves **out, gc_err *e);
void calib_curves_free(calib_curves *c);

/* Reads the optional cost data of an open curves file into c (cost.c): a malformed table is a
 * one-line error naming the file and the dataset. */
int calib_cost_load(hid_t f, const char *path, calib_curves *c, gc_err *e);

/* Writes the cost data into an open cell file: the /energy tables and the /cost group (one
 * dataset per parameter, attributes units, description with its source, simulated). */
int calib_cost_write(const calib_curves *c, hid_t f, gc_err *e);

/* The read-noise parameters of cell.h5 /noise (noise.c says where each comes from). */
typedef struct {
    double temperature_k, c_int_f, gm_read_s, gamma_read, conv_shot_factor;
    const char *c_int_source;  /* the technology's description of c_int (borrowed) */
} calib_noise;

/* Fills out and returns 1, or returns 0 when the curves record no temperature or no c_int
 * (imported curves): the cell then has no noise model. */
int calib_noise_of(const calib_curves *c, calib_noise *out);

/* Writes /noise into an open cell file (nothing when calib_noise_of has none). */
int calib_noise_write(const calib_curves *c, hid_t f, gc_err *e);

/* The read pair's largest dI/dV_store at the read amplitude, S (the DC read sweep). */
double calib_noise_gm_read_s(const calib_curves *c);

/* ---------------------------------------------------------------------------------------- */
/* Residuals: n points, RMS and max of |model - measured| in the quantity's unit, and the full
 * scale that the percentages are relative to. */

typedef struct {
    int n;
    double rms, max, full_scale;
} calib_resid;

double calib_pct(double x, double full_scale);  /* 100 x / full_scale */

/* Monotone (Steffen) interpolation of y(x) through every other point (the two ends always
 * kept), evaluated on the points left out. x strictly ascending, n >= 4. */
int calib_heldout_steffen(const double *x, const double *y, int n, double full_scale,
                          calib_resid *r, gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* Fits. */

#define CALIB_MAX_POLY_DEGREE 9

typedef struct {
    /* read: table residual (charge, C) on held-out stored voltages, all pulse levels */
    calib_resid table_heldout;
    int poly_degree;
    double poly_ua[CALIB_MAX_POLY_DEGREE + 1];  /* µA, ascending powers of y = V - v_mid */
    calib_resid poly_fit;       /* µA, on the points fitted (all) */
    calib_resid poly_heldout;   /* µA, fit on every other point, evaluated on the rest */
    calib_resid poly_vs_table;  /* µA, polynomial vs full-pulse table charge / t_max */
    double poly_vin_v;          /* the V_in the polynomial describes */
    double *charge;             /* (n_p, n_v) C: the table written, rows levelled (see fit) */
    int levelled;               /* points raised to their row's running maximum */
    double levelled_max_c;      /* the largest such raise, C */
} calib_read_fit;

typedef struct {
    double v_eq_v;              /* root of the interpolated I_leak(V) */
    double c_node_f;            /* the one capacitance that makes the integrated model fit
                                 * all transients best */
    double c_upper_f, c_lower_f;/* the same, fitted on each side of v_eq separately: the
                                 * read pair's gate capacitance differs between the sides, and
                                 * the tables use these */
    double tau_tail_s;          /* C / (dI/dV at v_eq): the tail beyond the tables */
    double tau_single_s;        /* best single exponential over all transients */
    int cv_used[2];             /* upper, lower: 1 if that side's tables use C(V) */
    double cv_f[2][3];          /* C(V) = Σ cv_f[i] (V - v_eq)^i in F, where cv_used */
    calib_resid model;          /* V: the written model vs the transients */
    calib_resid model_one_c;    /* V: the same with the single c_node_f */
    calib_resid model_side_c;   /* V: with a constant C per side (c_upper_f, c_lower_f) */
    calib_resid model_heldout;  /* V: the written model's kind, fitted on every other
                                 * transient of each side, checked on the others */
    calib_resid single;         /* V: single exponential vs the transients */
    double span_s;              /* simulated hold time */
    calib_resid i_heldout;      /* A: I_leak table held-out interpolation */
    int n_up, n_lo;             /* time-to-voltage tables, t in s */
    double *up_v, *up_t, *lo_v, *lo_t;
} calib_leak_fit;

/* A clamped line y = clamp(gain (q - offset), lo, hi) through a measured converter curve.
 * lo / hi are the plateaus found in the data or, where the curve does not saturate on that
 * side within the sweep, the converter's physical limits (0 or -t_max, and t_max), where
 * cellmodel clamps it too. */
typedef struct {
    double gain_s_per_c, offset_c, lo_s, hi_s;
    double sat_hi_c, sat_lo_c;  /* charges where the line meets the plateaus (or T_max) */
    calib_resid line_fit;       /* s, all points */
    calib_resid line_heldout;   /* s, fit on every other point */
    calib_resid table_heldout;  /* s, Steffen table on every other point */
} calib_conv_fit;

typedef struct {
    double gain, offset_v;      /* v_stored = offset + gain v_dac, least squares */
    calib_resid line_heldout;   /* V */
} calib_write_fit;

/* The variation model fitted from the Monte Carlo (/mc of the curves). Instance k reads
 * charge_k(p, V) = gain_k nominal(p, V) + offset_k p (p: pulse fraction 0..1; least squares
 * over every pulse level and stored voltage), leaks at leak_k times the nominal rate and
 * stores its written voltages shifted by shift_k (mean over DAC levels). */
typedef struct {
    int n;                      /* instances; 0: the curves have no Monte Carlo */
    const calib_curves *src;    /* borrowed: the curves whose /mc was fitted */
    double seed;
    double gain_mean, gain_sigma;           /* 1 */
    double offset_mean_c, offset_sigma_c;   /* C at full pulse */
    double rho_gain_offset;
    double log_leak_mean, log_leak_sigma;   /* ln of the leak-rate factor */
    double write_mean_v, write_sigma_v;     /* stored-voltage shift, V */
    calib_resid resid;          /* C: every instance's charge vs its gain-offset model */
    double resid_share;         /* rms residual / rms deviation from nominal, all instances:
                                   the part of the mismatch the model does not describe */
} calib_variation_fit;

typedef struct {
    const calib_curves *src;    /* borrowed: the tables copied into cell.h5 */
    calib_read_fit read;
    calib_leak_fit leak;
    calib_write_fit write;
    calib_variation_fit variation;
    calib_conv_fit c2p, readout;
    double s_sat_c;             /* charge where the c2p converter saturates */
} calib_model;

typedef struct {
    int read_poly_degree;       /* default 3 */
    const calib_curves *variation; /* curves whose /mc gives /variation (same technology,
                                      temperature and corner); NULL: the fitted curves' own */
} calib_opts;

/* Runs every fit. The model borrows c, which must outlive it. */
int calib_fit(const calib_curves *c, const calib_opts *o, calib_model **out, gc_err *e);
void calib_model_free(calib_model *m);

/* Individual fits (calib_fit calls these). */
int calib_fit_read(const calib_curves *c, int degree, calib_read_fit *r, gc_err *e);
void calib_read_fit_free(calib_read_fit *r);
int calib_fit_leak(const calib_curves *c, calib_leak_fit *l, gc_err *e);
void calib_leak_fit_free(calib_leak_fit *l);
/* is_signed = 0: c2p (pulse in 0..t_max); 1: the signed readout (-t_max..t_max). */
int calib_fit_converter(const double *q, const double *p, int n, double t_max_s, int is_signed,
                        const char *what, calib_conv_fit *f, gc_err *e);
int calib_fit_write(const calib_curves *c, calib_write_fit *w, gc_err *e);
/* Needs the leak fit's node capacitance l->c_node_f (the capacitor's draw changes it). */
int calib_fit_variation(const calib_curves *c, const calib_leak_fit *l, calib_variation_fit *v,
                        gc_err *e);

/* Least-squares polynomial of degree deg through (x, y): coef (deg + 1), ascending powers. */
int calib_polyfit(const double *x, const double *y, int n, int deg, double *coef, gc_err *e);
double calib_polyval(const double *coef, int deg, double x);

/* ---------------------------------------------------------------------------------------- */
/* Output. */

/* Writes cell.h5 (schema: cellmodel/load.c, plus fit coefficients, residuals and provenance)
 * to path, created or truncated: the caller passes a temporary file and renames it.
 * command_line goes into the root attributes. */
int calib_write_cell(const calib_model *m, const char *path, const char *command_line,
                     gc_err *e);

/* The fit summary as JSON (read.poly, leak.tau_s, c2p.s_sat, ... ; see summary.c). */
cJSON *calib_summary(const calib_model *m);

/* ---------------------------------------------------------------------------------------- */
/* Import of external curves: CSV files to a curves.h5 that calib_curves_load reads. */

typedef struct {
    const char *read_iv_csv;    /* vstore_V,vin_V,current_A */
    const char *leak_csv;       /* v0_V,time_s,vstore_V, or NULL */
    double t_max_s;             /* full read pulse, s (gcsim import: the paper's 15e-9) */
    int levels;                 /* read pulse levels (default 16) */
    double c_node_f;            /* assumed node capacitance to derive I_leak (10e-15) */
    double vdd_v;               /* supply; <= 0: the largest vstore_V of the I-V table */
    double t_write_s;           /* write pulse width, s, stored as /params/t_write;
                                 * 0: not recorded (cell.h5 then has no t_write_s) */
    const char *technology;     /* name stored in the file ("imported") */
    const char *command_line;
} calib_import_opts;

/* Parses the CSV files (one-line errors "file:line: problem") and writes curves.h5 to path,
 * created or truncated (the caller passes a temporary file and renames it). */
int calib_import(const calib_import_opts *o, const char *path, gc_err *e);

#endif
