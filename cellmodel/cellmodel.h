/* cellmodel: the behavioural gain-cell model, loaded from a cell.h5 or built from the paper.
 *
 * Evaluates the write transfer (DAC level -> stored voltage), the read charge of one cell for
 * a pulse-width-modulated read, the leakage of a stored voltage over time, the charge-to-pulse
 * converter between the arrays and the signed readout of array 2. SI units throughout: volts,
 * seconds, coulombs. Depends on HDF5 only (no GSL, no ngspice): interpolation is monotone
 * cubic (Steffen) or linear, written here.
 *
 * Presets (PAPER.md §3 restated in SI, from the CELL_PAPER_* constants below):
 * "paper-cubic", "paper-linear".
 *   charge(p, V) = p · T_max · g(V - 0.45) · 1e-6 C, g in µA (cubic, or 19.3 y), T_max = 15 ns;
 *   write_v(level) = 0.9 · level / 7;
 *   decay: y -> y · exp(-t / tau), tau = CELL_PAPER_TAU_S = 5 ms. The paper's rate
 *     lambda = 1.6e-4 per token is this decay with a token period of lambda · tau = 0.8 µs
 *     (12 layers × 65 ns). Only y decays, so the constant term of g does not;
 *   c2p(Q) = clamp(Q / S_sat, 0, 1) · T_max, S_sat = 80 µA · T_max;
 *   readout(Q) = clamp(Q / (40 µA · T_max), -1, 1);
 *   t_write = 65 ns - 3 T_max = 20 ns (the paper gives no write time: this makes the
 *     per-layer latency t_write + 3 T_max equal its 65 ns per token per layer). */
#ifndef GCSIM_CELLMODEL_H
#define GCSIM_CELLMODEL_H

#include "common.h"

/* ---------------------------------------------------------------------------------------- */
/* The paper's numbers, named once (PAPER.md §2 and §3). The presets are built from them;
 * other modules use them only where they mean the paper's system, never in place of a loaded
 * cell's own values (cell_t_max_s, cell_vdd_v, ...). */

#define CELL_PAPER_VDD_V 0.9          /* supply and read pulse amplitude (PAPER.md §2) */
#define CELL_PAPER_V_MID_V 0.45       /* mid-rail, the zero of a stored weight (PAPER.md §2) */
#define CELL_PAPER_T_MAX_S 15e-9      /* full read pulse width T_max (PAPER.md §2) */
#define CELL_PAPER_TAU_S 5e-3         /* retention time constant, silicon cell (PAPER.md §2) */
#define CELL_PAPER_K_LEVELS 8         /* stored K, V levels, 3 bit (PAPER.md §2) */
#define CELL_PAPER_Q_LEVELS 16        /* input pulse-width levels, 4 bit (PAPER.md §2) */
#define CELL_PAPER_OUT_LEVELS 32      /* array-2 output levels per sub-array (PAPER.md §2) */
#define CELL_PAPER_S_SAT_A 80e-6      /* S_sat = 80 uA x T_max (PAPER.md §3) */
#define CELL_PAPER_READOUT_SAT_A 40e-6 /* array-2 readout full scale 40 uA x T_max (PAPER.md §3) */
#define CELL_PAPER_LAMBDA_PER_TOKEN 1.6e-4 /* decay per token, δ = exp(-λ age) (PAPER.md §3) */
#define CELL_PAPER_LAYER_LATENCY_S 65e-9   /* per token per layer (PAPER.md §2) */

/* g(y) = sum c_n y^n in uA at full pulse, y = V - 0.45 V (PAPER.md §3): the authors' cubic
 * fit, and the linear "intermediate" model 19.3 y. */
extern const double cell_paper_g_cubic_ua[4];  /* g(y) = sum c_n y^n, uA (PAPER.md §3) */
extern const double cell_paper_g_linear_ua[4]; /* g(y) = 19.3 y, uA (PAPER.md §3) */

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

/* Write pulse width of the cell's technology, s; 0 when the cell file records none. */
double cell_t_write_s(const cell_model *m);

/* The pulse fractions the read charge is tabulated at (ascending, 0..1); charge is linear in
 * the pulse between them. A preset's charge is linear over all of [0,1]: {0, 1}. Returns n. */
int cell_pulse_axis(const cell_model *m, const double **pulse_frac);

/* Stored voltage (V) after writing DAC level 0..k_levels-1 (clamped to that range). */
double cell_write_v(const cell_model *m, int level);

/* Charge (C) one cell delivers for a read pulse of width pulse_frac·T_max (pulse_frac in
 * [0,1], clamped; linear between the tabulated pulse levels) from stored voltage v_store (V;
 * monotone cubic between tabulated voltages, clamped to the table's range). */
double cell_read_charge_c(const cell_model *m, double pulse_frac, double v_store);
/* The same at every pulse of the cell's own axis (cell_pulse_axis): q[i] =
 * cell_read_charge_c(m, pulse_frac[i], v_store), the voltage located once. */
void cell_read_charges_c(const cell_model *m, double v_store, double *q);

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
/* Variation: the per-cell mismatch model of cell.h5 /variation (cellmodel/variation.c says
 * the schema), fitted from a SPICE Monte Carlo of cell instances. A cell of a chip delivers
 * gain · cell_read_charge_c(p, V) + offset_c · p, with V the decay of
 * write_v(level) + write_offset_v over leak factor × t (the leakage current scaled by the
 * factor e^log_leak). */
typedef struct {
    int present;             /* 0: the file has no /variation (every field 0) */
    int n_instances;         /* Monte Carlo instances the model was fitted from (0: declared
                                sigmas, not a fit) */
    uint64_t seed;           /* the Monte Carlo's seed */
    double temp_c;           /* temperature of the Monte Carlo, °C */
    char corner[16];         /* process corner ("tt", ...) */
    char source[256];        /* what produced the model */
    double gain_sigma;       /* sigma of the relative read-charge gain (1) */
    double offset_sigma_c;   /* sigma of the read-charge offset at full pulse, C */
    double log_leak_sigma;   /* sigma of ln(leak-rate factor) (1) */
    double rho_gain_offset;  /* correlation of gain and offset, [-1, 1] */
    double write_offset_sigma_v; /* sigma of the stored voltage's shift, V */
} cell_variation;

/* One physical cell's draw. */
typedef struct {
    double gain;             /* relative read-charge gain (1 nominal, >= 0) */
    double offset_c;         /* read-charge offset at full pulse, C */
    double log_leak;         /* ln of the leak-rate factor (0 nominal) */
    double write_offset_v;   /* shift of the stored voltage, V */
} cell_mismatch;

/* Every standard normal deviate of a draw lies within ±CELL_MISMATCH_TRUNC (a cell beyond
 * 4 sigma is drawn at 4 sigma: 6e-5 of the cells), so a draw's range is known in advance. */
#define CELL_MISMATCH_TRUNC 4.0

/* Copies m's variation model into out; returns out->present. */
int cell_variation_get(const cell_model *m, cell_variation *out);

/* The mismatch of one cell from its own seed: four normal deviates from a gc_rng stream
 * seeded with seed, gain and offset correlated by rho, every sigma times scale. */
void cell_mismatch_draw(const cell_variation *v, double scale, uint64_t seed,
                        cell_mismatch *out);

/* ---------------------------------------------------------------------------------------- */
/* Read noise: the parameters of cell.h5 /noise (cellmodel/noise.c says the schema), from the
 * curves' temperature, the technology's integrator capacitor and the read sweep. The
 * attention layer turns them into the noise of each read (attention/noise.c). */
typedef struct {
    int present;             /* 0: the file has no /noise (every field 0) */
    double temperature_k;    /* temperature of the curves, K */
    double c_int_f;          /* integrator feedback capacitor, F: kT/C of its reset */
    double gm_read_s;        /* the read pair's largest transconductance dI/dV_store at the
                                read's word-line amplitude, S */
    double gamma_read;       /* channel thermal-noise coefficient of the read pair (1) */
    double conv_shot_factor; /* converters' ramp mirror: current noise at most this many
                                times the shot noise 2 q I of the current it conveys (1) */
} cell_noise;

/* Copies m's noise parameters into out; returns out->present. */
int cell_noise_get(const cell_model *m, cell_noise *out);

/* ---------------------------------------------------------------------------------------- */
/* Monotone interpolation (Steffen 1990): never overshoots between points, so a monotone
 * table gives a monotone curve. x strictly ascending, n >= 2; outside [x0, x_{n-1}] the end
 * values are returned. slopes (n) is filled once by cell_monotone_init and reused. */
void cell_monotone_init(const double *x, const double *y, int n, double *slopes);
double cell_monotone_eval(const double *x, const double *y, const double *slopes, int n,
                          double xv);

/* ---------------------------------------------------------------------------------------- */
/* Cost: energy, latency and area (cellmodel/energy.c). SI units: J, W, s, m².
 *
 * Energy of one operation, J: from the cell file's SPICE tables (simulated), or its
 * per-operation means where the file holds no table; presets: the paper's figures (declared).
 * Preset split of PAPER.md §2's per-token-per-head figures over the operations of one token
 * and head (window 1024 = 16 sub-tiles of 64 × 64 cells): a cell read is array 2's 700 pJ
 * over its 65,536 reads (its readout included: the paper gives no split, so readout is 0);
 * a charge-to-pulse conversion is the rest of array 1's 1120 pJ over its 1024 conversions;
 * a cell write is part of the DAC figure (0 here; e_dac_conversion_j = 330 pJ over the 128
 * values written per token and head); idle leakage is not given (0). */
double cell_read_energy_j(const cell_model *m, double pulse_frac, double v_store); /* one cell, one read */
double cell_c2p_energy_j(const cell_model *m, double charge_c);     /* one charge-to-pulse conversion, one column */
double cell_readout_energy_j(const cell_model *m, double charge_c); /* one signed readout, one column */
double cell_write_energy_j(const cell_model *m, int level_prev, int level_new); /* one cell write */
double cell_idle_power_w(const cell_model *m);                      /* one idle cell's leakage, W */

/* Everything else the cost needs, by name: phase durations, declared bias powers, DAC,
 * digital energies per toggle, areas. simulated: 1 = from our SPICE runs, 0 = declared
 * (source then names the .tech parameter's source, or PAPER.md for a preset).
 * Names (units): t_write_s, t_max_s, t_c2p_s, t_readout_s, t_write_settle_s,
 * t_digital_sum_s (the sum over the paper's 16 tiles), t_carry_stage_s (one ripple-carry bit),
 * t_delay_inv_s, t_delay_nand2_s, t_delay_dff_s (s); p_integrator_bias_w (one column's
 * integrator), p_comparator_bias_w (one comparator: c2p has one per column, the signed
 * readout two), p_reference_bias_w (one column's share of the mid-rail reference) (W, drawn
 * while the column reads or converts); e_dac_conversion_j (J per value written),
 * e_toggle_inv_j, e_toggle_nand2_j (J per output toggle), e_toggle_dff_j (J per clock cycle in
 * which the output toggles, a counter bit), e_digital_overhead_token_head_j (J per token and
 * head), e_wordline_cell_j (J per cell pitch of a read word-line pair per nonzero pulse: the
 * wire, beside the cell's own read energy); area_cell_m2 (one cell, one layer), area_column_periphery_m2 (integrator and
 * converter of one column), area_counter_bit_m2, area_adder_bit_m2, area_dac_m2 (one
 * column's DAC) (m²); igzo_stack_layers (1, IGZO only). A cell file holds those its curves
 * recorded (group /cost); older files give t_write_s, t_max_s, t_c2p_s and t_readout_s only
 * (the last two: one T_max window). A cell read's energy counts its word lines only; the
 * integrator holding the bit line is a class-A stage whose bias is p_integrator_bias_w. */
typedef struct { const char *name, *unit, *source; double value; int simulated; } cell_cost_param;
int cell_cost_params(const cell_model *m, const cell_cost_param **out);   /* returns the count */
const cell_cost_param *cell_cost_param_find(const cell_model *m, const char *name); /* NULL if absent */
int cell_energy_is_simulated(const cell_model *m); /* 1 when the per-operation energies come from SPICE */
/* 0 when the model holds no per-operation energies at all (a cell file without /energy, e.g.
 * fitted from imported curves): the five energy functions then return 0, which means unknown,
 * not free. 1 for presets and cell files with /energy. */
int cell_has_energy(const cell_model *m);

#endif
