/* The cell model presets reproduce PAPER.md §3 in SI units (checked against the formulas
 * and numbers written out here, the named CELL_PAPER_* constants included), their write time
 * makes t_write + 3 T_max the paper's 65 ns per layer, and the monotone interpolator never
 * overshoots. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cellmodel.h"

static int failures;

static void expect(const char *what, double got, double want, double rel)
{
    int ok = fabs(got - want) <= rel * fmax(fabs(want), 1e-300);
    printf("%-52s got %.9g want %.9g %s\n", what, got, want, ok ? "ok" : "FAIL");
    failures += !ok;
}

static double g_cubic(double y)
{
    return 0.52136361 + 13.61226063 * y - 2.62044562 * y * y + 46.05483778 * y * y * y;
}

/* The named constants against PAPER.md's numbers, written out here once more. */
static void constants(void)
{
    expect("CELL_PAPER_VDD_V", CELL_PAPER_VDD_V, 0.9, 0);
    expect("CELL_PAPER_V_MID_V", CELL_PAPER_V_MID_V, 0.45, 0);
    expect("CELL_PAPER_T_MAX_S", CELL_PAPER_T_MAX_S, 15e-9, 0);
    expect("CELL_PAPER_TAU_S", CELL_PAPER_TAU_S, 5e-3, 0);
    expect("CELL_PAPER_K_LEVELS", CELL_PAPER_K_LEVELS, 8, 0);
    expect("CELL_PAPER_Q_LEVELS", CELL_PAPER_Q_LEVELS, 16, 0);
    expect("CELL_PAPER_OUT_LEVELS", CELL_PAPER_OUT_LEVELS, 32, 0);
    expect("CELL_PAPER_S_SAT_A", CELL_PAPER_S_SAT_A, 80e-6, 0);
    expect("CELL_PAPER_READOUT_SAT_A", CELL_PAPER_READOUT_SAT_A, 40e-6, 0);
    expect("CELL_PAPER_LAMBDA_PER_TOKEN", CELL_PAPER_LAMBDA_PER_TOKEN, 1.6e-4, 0);
    expect("CELL_PAPER_LAYER_LATENCY_S", CELL_PAPER_LAYER_LATENCY_S, 65e-9, 0);
    const double cubic[4] = {0.52136361, 13.61226063, -2.62044562, 46.05483778};
    const double linear[4] = {0, 19.3, 0, 0};
    for (int i = 0; i < 4; i++) {
        char what[64];
        snprintf(what, sizeof what, "cell_paper_g_cubic_ua[%d]", i);
        expect(what, cell_paper_g_cubic_ua[i], cubic[i], 0);
        snprintf(what, sizeof what, "cell_paper_g_linear_ua[%d]", i);
        expect(what, cell_paper_g_linear_ua[i], linear[i], 0);
    }
}

static void presets(void)
{
    cell_model *m, *lin;
    gc_err e;
    if (cell_model_preset("paper-cubic", &m, &e) || cell_model_preset("paper-linear", &lin, &e)) {
        printf("FAIL: %s\n", e.msg);
        failures++;
        return;
    }
    expect("levels: K/V 8", cell_k_levels(m), 8, 0);
    expect("levels: Q 16", cell_q_levels(m), 16, 0);
    expect("T_max 15 ns", cell_t_max_s(m), 15e-9, 1e-12);
    expect("write_v(5) = 0.9 * 5 / 7", cell_write_v(m, 5), 0.9 * 5 / 7, 1e-15);
    expect("charge(1, 0.9 V) = T_max g(0.45) uA", cell_read_charge_c(m, 1, 0.9),
           15e-9 * g_cubic(0.45) * 1e-6, 1e-12);
    expect("charge(0.4, 0.2 V)", cell_read_charge_c(m, 0.4, 0.2),
           0.4 * 15e-9 * g_cubic(-0.25) * 1e-6, 1e-12);
    expect("linear: charge(1, 0.7 V) = T_max 19.3 * 0.25 uA", cell_read_charge_c(lin, 1, 0.7),
           15e-9 * 19.3 * 0.25 * 1e-6, 1e-12);
    expect("decay(0.9 V, 5 ms) = 0.45 + 0.45/e", cell_decay_v(m, 0.9, 5e-3),
           0.45 + 0.45 * exp(-1), 1e-12);
    /* lambda = 1.6e-4 per token is a token period of lambda · 5 ms = 0.8 us */
    expect("decay over 100 tokens of 0.8 us = exp(-0.016)",
           (cell_decay_v(m, 0.1, 100 * 0.8e-6) - 0.45) / (0.1 - 0.45), exp(-0.016), 1e-12);
    double s_sat = 80e-6 * 15e-9;
    expect("S_sat = 80 uA x T_max", cell_s_sat_c(m), s_sat, 1e-12);
    expect("c2p(S_sat / 4) = T_max / 4", cell_c2p_s(m, s_sat / 4), 15e-9 / 4, 1e-12);
    expect("c2p(2 S_sat) = T_max", cell_c2p_s(m, 2 * s_sat), 15e-9, 1e-12);
    expect("c2p(-S_sat) = 0", cell_c2p_s(m, -s_sat), 0, 0);
    expect("readout(-20 uA T_max) = -0.5", cell_readout(m, -20e-6 * 15e-9), -0.5, 1e-12);
    expect("readout(100 uA T_max) = 1", cell_readout(m, 100e-6 * 15e-9), 1, 0);
    expect("t_write 20 ns", cell_t_write_s(m), 20e-9, 1e-12);
    expect("t_write + 3 T_max = 65 ns per layer", cell_t_write_s(m) + 3 * cell_t_max_s(m),
           65e-9, 1e-12);
    expect("linear: t_write 20 ns", cell_t_write_s(lin), 20e-9, 1e-12);
    cell_model *bad;
    failures += cell_model_preset("paper-quartic", &bad, &e) == 0;
    printf("unknown preset: %s\n", e.msg);
    cell_model_free(m);
    cell_model_free(lin);
}

/* The presets' declared cost: PAPER.md §2's figures per token and head (1120 pJ array 1 with
 * charge-to-pulse, 700 pJ array 2, 330 pJ DACs, 4 nJ digital) come back when the per-
 * operation energies are summed over one token and head (M = 1024, d = 64), to rounding. */
static void preset_cost(void)
{
    cell_model *m;
    gc_err e;
    if (cell_model_preset("paper-cubic", &m, &e)) {
        printf("FAIL: %s\n", e.msg);
        failures++;
        return;
    }
    double reads = 1024.0 * 64;
    expect("cost: array 2 = 65536 reads = 700 pJ", reads * cell_read_energy_j(m, 0.3, 0.7),
           700e-12, 1e-12);
    expect("cost: array 1 = 65536 reads + 1024 c2p = 1120 pJ",
           reads * cell_read_energy_j(m, 1, 0.2) + 1024 * cell_c2p_energy_j(m, 1e-13),
           1120e-12, 1e-12);
    const cell_cost_param *dac = cell_cost_param_find(m, "e_dac_conversion_j");
    const cell_cost_param *dig = cell_cost_param_find(m, "e_digital_overhead_token_head_j");
    expect("cost: DAC 128 conversions = 330 pJ", dac ? 128 * dac->value : 0, 330e-12, 1e-12);
    expect("cost: digital 4 nJ", dig ? dig->value : 0, 4e-9, 1e-12);
    expect("cost: declared, not simulated", cell_energy_is_simulated(m) + (dac && dac->simulated),
           0, 0);
    expect("cost: a preset holds energies", cell_has_energy(m), 1, 0);
    expect("cost: unknown name is NULL", cell_cost_param_find(m, "no_such") == NULL, 1, 0);
    const cell_cost_param *all;
    int n = cell_cost_params(m, &all), sourced = 1;
    for (int i = 0; i < n; i++)
        sourced &= all[i].source && strstr(all[i].source, "PAPER.md") != NULL;
    expect("cost: every parameter names PAPER.md", sourced && n >= 15, 1, 0);
    cell_model_free(m);
}

/* A step-like monotone table: Steffen stays within [y_i, y_{i+1}] on every interval (a
 * natural cubic spline overshoots here). */
static void monotone(void)
{
    double x[6] = {0, 1, 2, 3, 4, 5}, y[6] = {0, 0, 0.1, 1, 1, 1}, s[6];
    cell_monotone_init(x, y, 6, s);
    double worst = 0, prev = -1;
    int ascending = 1;
    for (int i = 0; i <= 500; i++) {
        double xv = i / 100.0, v = cell_monotone_eval(x, y, s, 6, xv);
        int k = xv >= 5 ? 4 : (int)xv;
        worst = fmax(worst, fmax(y[k] - v, v - y[k + 1]));
        ascending &= v >= prev;
        prev = v;
    }
    expect("monotone: no overshoot", worst <= 0 ? 0 : worst, 0, 0);
    expect("monotone: non-decreasing", ascending, 1, 0);
    expect("monotone: passes through the points", cell_monotone_eval(x, y, s, 6, 2), 0.1, 1e-15);
    expect("monotone: clamped beyond the table", cell_monotone_eval(x, y, s, 6, 9), 1, 0);
}

int main(void)
{
    constants();
    presets();
    preset_cost();
    monotone();
    return failures != 0;
}
