/* cellmodel: the behavioural gain-cell model, loaded from a cell.h5 or built from the paper.
 *
 * Evaluates the write transfer (DAC level -> stored voltage), the read charge of one cell for
 * a pulse-width-modulated read, the leakage of a stored voltage over time, the charge-to-pulse
 * converter between the arrays and the signed readout of array 2. SI units throughout: volts,
 * seconds, coulombs. Depends on HDF5 only (no GSL, no ngspice): interpolation is monotone
 * cubic (Steffen) or linear, written here.
 *
 * Presets (PAPER.md §3 restated in SI): "paper-cubic", "paper-linear".
 *   charge(p, V) = p · T_max · g(V - 0.45) · 1e-6 C, g in µA (cubic, or 19.3 y), T_max = 15 ns;
 *   write_v(level) = 0.9 · level / 7;
 *   decay: y -> y · exp(-t / tau), tau = CELL_PAPER_TAU_S = 5 ms. The paper's rate
 *     lambda = 1.6e-4 per token is this decay with a token period of lambda · tau = 0.8 µs
 *     (12 layers × 65 ns). Only y decays, so the constant term of g does not;
 *   c2p(Q) = clamp(Q / S_sat, 0, 1) · T_max, S_sat = 80 µA · T_max;
 *   readout(Q) = clamp(Q / (40 µA · T_max), -1, 1). */
#ifndef GCSIM_CELLMODEL_H
#define GCSIM_CELLMODEL_H

#include "common.h"

/* Retention time constant of the paper's silicon cell, seconds. */
#define CELL_PAPER_TAU_S 5e-3

typedef struct cell_model cell_model;

/* Loads a cell.h5 (schema: cellmodel/load.c). Every missing or malformed object gives a
 * one-line error naming the file and the object. */
int cell_model_load(const char *path, cell_model **out, gc_err *e);

/* Builds a preset: "paper-cubic" or "paper-linear". */
int cell_model_preset(const char *name, cell_model **out, gc_err *e);

void cell_model_free(cell_model *m);

/* Where the model came from: the preset name or the file path. */
const char *cell_model_source(const cell_model *m);

int cell_k_levels(const cell_model *m);    /* DAC levels for K and V (8) */
int cell_q_levels(const cell_model *m);    /* input pulse levels (16) */
double cell_t_max_s(const cell_model *m);  /* full read pulse width, s */
double cell_v_mid_v(const cell_model *m);  /* mid-rail, the zero of a stored weight, V */
double cell_vdd_v(const cell_model *m);    /* supply, the top of the DAC range, V */

/* The pulse fractions the read charge is tabulated at (ascending, 0..1); charge is linear in
 * the pulse between them. A preset's charge is linear over all of [0,1]: {0, 1}. Returns n. */
int cell_pulse_axis(const cell_model *m, const double **pulse_frac);

/* Stored voltage (V) after writing DAC level 0..k_levels-1 (clamped to that range). */
double cell_write_v(const cell_model *m, int level);

/* Charge (C) one cell delivers for a read pulse of width pulse_frac·T_max (pulse_frac in
 * [0,1], clamped; linear between the tabulated pulse levels) from stored voltage v_store (V;
 * monotone cubic between tabulated voltages, clamped to the table's range). */
double cell_read_charge_c(const cell_model *m, double pulse_frac, double v_store);

/* Stored voltage (V) after a node written to v0 (V) has held for t_s seconds (t_s >= 0). */
double cell_decay_v(const cell_model *m, double v0, double t_s);

/* Charge-to-pulse: output pulse width (s, 0..T_max) for an integrated charge (C). */
double cell_c2p_s(const cell_model *m, double charge_c);

/* Signed readout of array 2 for an integrated charge (C): sign × width / T_max in [-1,1],
 * before the counter's quantisation. */
double cell_readout(const cell_model *m, double charge_c);

/* Charge (C) at which the charge-to-pulse converter saturates, and at which the readout of
 * array 2 reaches ±1. */
double cell_s_sat_c(const cell_model *m);
double cell_readout_sat_c(const cell_model *m);

/* ---------------------------------------------------------------------------------------- */
/* Monotone interpolation (Steffen 1990): never overshoots between points, so a monotone
 * table gives a monotone curve. x strictly ascending, n >= 2; outside [x0, x_{n-1}] the end
 * values are returned. slopes (n) is filled once by cell_monotone_init and reused. */
void cell_monotone_init(const double *x, const double *y, int n, double *slopes);
double cell_monotone_eval(const double *x, const double *y, const double *slopes, int n,
                          double xv);

#endif
