/* The accounting (harness/cost.c) against counts made by hand:
 *  1. the paper's own figures: a token at full window (1024 keys, D = 64) through the
 *     paper's cell (the paper-cubic preset, whose energies are PAPER.md §2's per-token
 *     figures spread over its operations) costs 1120 pJ array 1 + charge-to-pulse, 700 pJ
 *     array 2, 330 pJ DAC and 4 nJ digital: 6.15 nJ per token per head; one layer takes
 *     65 ns;
 *  2. a tiny layer (3 tokens, D = 2, window 2, tile 2) with chosen q, k, v: every count
 *     (cells read by pulse and level, conversions and their pulses, readouts and their
 *     counter values, writes by level) worked out here from PAPER.md §3, and the energy
 *     as those counts times the cell's energy per operation.
 * Energies to 1e-9 relative (sums of exact products in float64). The counts that carry phi
 * agree to 1e-5: the fast path's S and phi are float32 (relative 1e-6 each, as the
 * attention tests allow); the paper's cells spend the same energy whatever the pulse, so
 * the energy does not see it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cost.h"

static int failures;

static void expect(const char *what, double got, double want, double rel)
{
    int ok = fabs(got - want) <= rel * fabs(want);
    printf("%-62s got %.12g want %.12g %s\n", what, got, want, ok ? "ok" : "FAIL");
    failures += !ok;
}

static void die(const gc_err *e)
{
    printf("FAIL: %s\n", e->msg);
    exit(1);
}

/* The paper-linear cell's preset as the calibrated variant's cell. */
static cell_model *preset_config(attn_config *c, const char *preset, int window, int tile)
{
    gc_err e;
    cell_model *cell;
    char w[16], t[16];
    snprintf(w, sizeof w, "%d", window);
    snprintf(t, sizeof t, "%d", tile);
    attn_config_default(c, &attn_calibrated);
    if (attn_config_set(c, "cell_preset", preset, &e) || attn_config_set(c, "window", w, &e) ||
        attn_config_set(c, "tile", t, &e) || attn_config_load_cell(c, &cell, &e))
        die(&e);
    c->cell = cell;
    return cell;
}

static void paper_figures(void)
{
    enum { D = 64, T = 1025 };
    attn_config c;
    cell_model *cell = preset_config(&c, "paper-cubic", 1024, 64);
    gc_err e;
    attn_plan *p;
    attn_stream *st;
    attn_activity *a;
    if (attn_plan_alloc(&c, D, T, &p, &e) || attn_stream_alloc(p, 1, &st, &e) ||
        attn_activity_alloc(attn_plan_config(p), 1, 1, &a, &e))
        die(&e);
    float q[D], k[D], v[D], o[D];
    srand(3);
    for (int t = 0; t < T; t++) {
        for (int d = 0; d < D; d++) {
            q[d] = (float)rand() / RAND_MAX;
            k[d] = 0.9f * rand() / RAND_MAX;
            v[d] = 0.9f * rand() / RAND_MAX;
        }
        /* count only the last token: it sees a full window of 1024 keys */
        if (t == T - 1 && attn_plan_set_activity(p, a, 0, &e))
            die(&e);
        if (attn_stream_step(st, q, k, v, o, NULL, NULL, &e))
            die(&e);
    }
    cost_options opt = {0};
    cost_result r;
    if (cost_compute(a, cell, attn_plan_config(p), &opt, &r, &e))
        die(&e);
    double pj = 1e-12;
    expect("paper: array 1 + charge-to-pulse = 1120 pJ",
           r.comp[COST_READ_ARRAY1].j_head + r.comp[COST_C2P].j_head, 1120 * pj, 1e-9);
    expect("paper: array 2 = 700 pJ", r.comp[COST_READ_ARRAY2].j_head, 700 * pj, 1e-9);
    expect("paper: DAC = 330 pJ", r.comp[COST_DAC].j_head, 330 * pj, 1e-9);
    expect("paper: digital = 4 nJ", r.comp[COST_DIGITAL_OVERHEAD].j_head, 4000 * pj, 1e-9);
    expect("paper: total = 6.15 nJ per token per head", r.e_token_head_j, 6150 * pj, 1e-9);
    expect("paper: 65 ns per token per layer", r.latency_layer_s, 65e-9, 1e-9);
    expect("paper: declared, nothing simulated", r.simulated_share, 0, 0);
    cost_result_free(&r);
    attn_activity_free(a);
    attn_stream_free(st);
    attn_plan_free(p);
    cell_model_free(cell);
}

/* g of the linear model, µA, and its charge to pulse: phi = clamp(S / 80) (PAPER.md §3). */
static double g_lin(double vq) { return 19.3 * (vq - 0.45); }

static void tiny_layer(void)
{
    enum { T = 3, D = 8 };
    attn_config c;
    cell_model *cell = preset_config(&c, "paper-linear", 2, 2);
    c.decay = 0; /* ideal retention: the stored levels are the written ones */
    /* On the grids: q levels i/15, k and v levels l · 0.9/7; mostly high q and k, so that
     * phi and the counters reach several steps, and v on both sides of mid-rail. */
    int ql[T][D], kl[T][D], vl[T][D];
    for (int i = 0; i < T; i++)
        for (int d = 0; d < D; d++) {
            ql[i][d] = 15 - (3 * i + d) % 4;
            kl[i][d] = 7 - (i + 2 * d) % 3;
            vl[i][d] = (5 * i + 3 * d + 1) % 8;
        }
    float q[T * D], k[T * D], v[T * D], out[T * D];
    for (int i = 0; i < T * D; i++) {
        q[i] = ql[i / D][i % D] / 15.0f;
        k[i] = kl[i / D][i % D] * 0.9f / 7;
        v[i] = vl[i / D][i % D] * 0.9f / 7;
    }
    gc_err e;
    attn_plan *p;
    attn_activity *a;
    if (attn_plan_alloc(&c, D, T, &p, &e) ||
        attn_activity_alloc(attn_plan_config(p), 1, 1, &a, &e) ||
        attn_plan_set_activity(p, a, 0, &e) ||
        attn_forward_parallel(p, q, k, v, 1, T, D, out, NULL, NULL, &e))
        die(&e);
    /* By hand. Row i sees keys max(0, i-1)..i (window 2); tiles {0,1} and {2}. */
    double read1[16][8] = {{0}}, read2_phi[8] = {0}, read2_n[8] = {0}, pairs = 0, phi_sum = 0;
    double pos = 0, neg = 0, readouts = 0, writes[8][8] = {{0}}, pulsed = 0;
    for (int i = 0; i < T; i++) {
        int lo = i - 1 < 0 ? 0 : i - 1;
        double phi[T] = {0};
        for (int j = lo; j <= i; j++) {
            double s = 0;
            for (int d = 0; d < D; d++) {
                s += ql[i][d] / 15.0 * g_lin(kl[j][d] * 0.9 / 7);
                read1[ql[i][d]][kl[j][d]] += 1;
            }
            phi[j] = fmin(fmax(s / 80, 0), 1);
            pairs += 1;
            phi_sum += phi[j];
            pulsed += phi[j] > 0 ? D : 0;
            for (int d = 0; d < D; d++) {
                read2_n[vl[j][d]] += 1;
                read2_phi[vl[j][d]] += phi[j];
            }
        }
        for (int t0 = lo / 2 * 2; t0 <= i; t0 += 2)
            for (int d = 0; d < D; d++) {
                double o = 0;
                for (int j = t0 > lo ? t0 : lo; j < t0 + 2 && j <= i; j++)
                    o += phi[j] * g_lin(vl[j][d] * 0.9 / 7);
                double val = nearbyint(fmin(fmax(o / 40, -1), 1) * 15.5); /* counter value */
                pos += val > 0 ? val : 0;
                neg += val < 0 ? -val : 0;
                readouts += 1;
            }
    }
    for (int j = 0; j < T; j++) /* ring (ceil(2/2)+1)·2 = 4 > T: every cell was at level 0 */
        for (int d = 0; d < D; d++) {
            writes[0][kl[j][d]] += 1;
            writes[0][vl[j][d]] += 1;
        }
    attn_activity_counts n;
    attn_activity_get(a, 0, 0, &n);
    double d1 = 0, d2 = 0, dw = 0;
    for (int x = 0; x < 16; x++)
        for (int l = 0; l < 8; l++)
            d1 += fabs(n.read1[x * 8 + l] - read1[x][l]);
    for (int l = 0; l < 8; l++) {
        d2 += fabs(n.read2[l] - (read2_n[l] - read2_phi[l])) + fabs(n.read2[8 + l] - read2_phi[l]);
        for (int m = 0; m < 8; m++)
            dw += fabs(n.writes[l * 8 + m] - writes[l][m]);
    }
    expect("tiny: array-1 reads by pulse and level (L1 difference)", d1 + 1, 1, 0);
    expect("tiny: array-2 reads by level and pulse (L1 difference)", d2 + 1, 1, 1e-5);
    expect("tiny: writes by level before and after (L1 difference)", dw + 1, 1, 0);
    expect("tiny: conversions", n.c2p_count, pairs, 0);
    expect("tiny: their pulses, sum of phi", n.c2p_phi, phi_sum, 1e-5);
    expect("tiny: readouts", n.readouts, readouts, 0);
    expect("tiny: array-2 cells read with a pulse", n.read2_pulsed, pulsed, 0);
    /* summed in float32 by the fast path: relative 1e-6 */
    expect("tiny: positive counter values", n.readout_pos_lsb, pos, 1e-6);
    expect("tiny: negative counter values", n.readout_neg_lsb, neg, 1e-6);
    expect("tiny: the counters counted", pos > 3 && neg > 3, 1, 0);
    /* Energy: those counts times the cell's energies per operation. */
    double E = 0, nwrites = 0;
    for (int x = 0; x < 16; x++)
        for (int l = 0; l < 8; l++)
            E += read1[x][l] * cell_read_energy_j(cell, x / 15.0, cell_write_v(cell, l));
    for (int l = 0; l < 8; l++)
        E += (read2_n[l] - read2_phi[l]) * cell_read_energy_j(cell, 0, cell_write_v(cell, l)) +
             read2_phi[l] * cell_read_energy_j(cell, 1, cell_write_v(cell, l));
    double c0 = cell_c2p_energy_j(cell, 0), c1 = cell_c2p_energy_j(cell, cell_s_sat_c(cell));
    E += pairs * c0 + phi_sum * (c1 - c0);
    for (int l = 0; l < 8; l++)
        for (int m = 0; m < 8; m++) {
            E += writes[l][m] * cell_write_energy_j(cell, l, m);
            nwrites += writes[l][m];
        }
    E += nwrites * cell_cost_param_find(cell, "e_dac_conversion_j")->value;
    E += T * cell_cost_param_find(cell, "e_digital_overhead_token_head_j")->value;
    cost_options opt = {0};
    cost_result r;
    if (cost_compute(a, cell, attn_plan_config(p), &opt, &r, &e))
        die(&e);
    expect("tiny: energy per token per head = counts x energies / tokens", r.e_token_head_j,
           E / T, 1e-9);
    double sum = 0;
    for (int k2 = 0; k2 < COST_N; k2++)
        sum += r.comp[k2].j_head;
    expect("tiny: components add up to the total", sum, r.e_token_head_j, 1e-12);
    cost_result_free(&r);
    attn_activity_free(a);
    attn_plan_free(p);
    cell_model_free(cell);
}

int main(void)
{
    paper_figures();
    tiny_layer();
    return failures ? 1 : 0;
}
