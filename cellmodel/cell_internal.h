/* The cell_model structure, shared by the files of cellmodel/ and nothing else. */
#ifndef GCSIM_CELL_INTERNAL_H
#define GCSIM_CELL_INTERNAL_H

#include "cellmodel.h"

/* One monotone curve y(x): x ascending, slopes from cell_monotone_init; bucket and inv_w
 * index the intervals (cell_curve_finish). */
typedef struct {
    int n;
    double *x, *y, *slopes;
    int *bucket;
    double inv_w;
} cell_curve;

struct cell_model {
    char source[512];
    int analytic;          /* 1: a preset evaluated from its formulas, 0: tables */
    double v_mid_v, t_max_s, vdd_v;
    double t_write_s;      /* write pulse width, s; 0: not recorded in the cell file */
    int k_levels, q_levels;
    double *write_v;       /* (k_levels) stored voltage per DAC level, V */
    double s_sat_c, readout_sat_c;

    /* analytic (preset): g(y) = Σ_i poly_ua[i] y^i in µA, y = V - v_mid; y decays with tau */
    double poly_ua[4];
    double tau_s;

    /* tables (loaded): read charge (n_p, n_v) in C, one monotone curve in V per pulse level */
    int n_p, n_v;
    double *pulse_frac;    /* (n_p) ascending, 0..1 */
    cell_curve *read_rows; /* (n_p) charge vs v_store */
    /* leakage: time-to-voltage tables on each side of v_eq */
    double v_eq_v, tau_tail_s;
    cell_curve up_t_of_v, up_v_of_t, lo_t_of_v, lo_v_of_t;
    cell_curve c2p;        /* pulse width (s) vs charge (C) */
    cell_curve readout;    /* signed pulse (s) vs charge (C) */
    cell_variation variation; /* /variation, if the file has one */
    cell_noise noise;      /* /noise, if the file has one */

    /* cost (energy.c): per-operation means (J), tables where the file holds them */
    int energy_simulated;  /* 1: from SPICE runs (a cell file's /energy), 0: declared */
    int has_energy;        /* 0: no energies known (a cell file without /energy) */
    double e_read_full_j, e_write_j, e_c2p_j, e_readout_j, p_idle_w;
    cell_curve *e_read_rows;      /* (n_p) supply energy per cell and read vs v_store */
    cell_curve e_c2p, e_readout;  /* J per conversion vs charge (n = 0: none) */
    double *e_write_tab;          /* (k_levels, k_levels) J, [previous][new]; NULL: none */
    cell_cost_param *params;      /* n_params, strings owned */
    int n_params;
};

/* Allocates a curve of n points (x, y, slopes zeroed). Returns -1 if out of memory. */
int cell_curve_alloc(cell_curve *c, int n);
/* Fills the slopes once x and y are set. */
void cell_curve_finish(cell_curve *c);
void cell_curve_free(cell_curve *c);
double cell_curve_eval(const cell_curve *c, double x);
/* out[k] = cell_curve_eval(&c[k], x) for n_curves curves on one x grid (c[0]'s), located
 * once: the same values. */
void cell_curves_eval(const cell_curve *c, int n_curves, double x, double *out);

/* A table of rows, one monotone curve in v per tabulated pulse level (m->pulse_frac):
 * linear in the pulse between levels (the quantity grows with the time the cell conducts),
 * one row where a quantised pulse falls on a level. p in [0, 1]. */
double cell_pulse_rows_eval(const cell_model *m, const cell_curve *rows, double p, double v);

/* Reads /variation of an open cell.h5 into v (v->present 0 when absent). */
int cell_variation_load(hid_t f, const char *path, cell_variation *v, double vdd_v, gc_err *e);
/* Reads /noise of an open cell.h5 into n (n->present 0 when absent). */
int cell_noise_load(hid_t f, const char *path, cell_noise *n, gc_err *e);
/* Reads the optional /energy tables and /cost parameters of an open cell file into m (after
 * /params, /write and /read are loaded). One-line error naming the file and object. */
int cell_cost_load(hid_t f, const char *path, cell_model *m, gc_err *e);
/* Sets a preset's declared energies and parameters (PAPER.md §2). */
int cell_cost_preset(cell_model *m, gc_err *e);
/* Frees what the two above allocated. */
void cell_cost_free(cell_model *m);

/* An empty model with its source name set; NULL if out of memory. */
cell_model *cell_model_new(const char *source);

#endif
