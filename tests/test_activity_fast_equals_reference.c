/* The activity counts of the fast paths (parallel and streaming) equal those of the direct
 * reference evaluator, which counts cell by cell, on random inputs with a sliding window,
 * several tiles, decay and two batches of three heads; and the totals obey what the counts
 * mean (every visible (query, key, column) cell read once per array, one conversion per
 * visible pair, one readout per tile read and column, two writes per key and column).
 * Integer counts (reads of array 1, writes, tokens, tiles, adder bits) must agree exactly.
 * Array 2's reads split the analog phi between no pulse and the full pulse, and the
 * conversions sum phi: the fast path's phi is float32 against the reference's float64
 * (relative 1e-6 on each pair), so they agree to 1e-5 of their total. Counter values are
 * rounded from float32 readouts: one within rounding of a step's edge may fall on either
 * side, so their sums may differ by 0.5 % (the count of readouts agrees exactly). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"

static int failures;

static void check(const char *what, int ok)
{
    printf("%-70s %s\n", what, ok ? "ok" : "FAIL");
    failures += !ok;
}

static double sum(const double *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s;
}

static double l1(const double *x, const double *y, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += fabs(x[i] - y[i]);
    return s;
}

static void die(const gc_err *e)
{
    printf("FAIL: %s\n", e->msg);
    exit(1);
}

enum { T = 150, D = 8, HEADS = 3, BATCH = 2, B = HEADS * BATCH, LAYER = 1 };

static void compare(const char *name, attn_activity *x, attn_activity *ref, int window,
                    int tile)
{
    const attn_activity_grid *g = attn_activity_grid_of(ref);
    int np = g->n_pulse, nl = g->n_level;
    for (int h = 0; h < HEADS; h++) {
        attn_activity_counts a, r;
        attn_activity_get(ref, LAYER, h, &r);
        /* keep the reference's counts: get() reuses its buffer */
        size_t n = (size_t)np * nl + 2 * (size_t)nl + (size_t)nl * nl;
        double *keep = malloc(n * sizeof *keep), *k = keep;
        memcpy(k, r.read1, (size_t)np * nl * sizeof *k), r.read1 = k, k += np * nl;
        memcpy(k, r.read2, 2 * (size_t)nl * sizeof *k), r.read2 = k, k += 2 * nl;
        memcpy(k, r.writes, (size_t)nl * nl * sizeof *k), r.writes = k;
        attn_activity_get(x, LAYER, h, &a);
        /* the meaning of the totals, counted here by hand */
        double pairs = 0, tiles = 0;
        for (int i = 0; i < T; i++) {
            int lo = i - window + 1 < 0 ? 0 : i - window + 1;
            pairs += i - lo + 1;
            tiles += i / tile - lo / tile + 1;
        }
        char what[128];
        snprintf(what, sizeof what, "%s head %d: tokens, tiles, adder bits, readouts", name, h);
        check(what, a.tokens == r.tokens && r.tokens == BATCH * T &&
                        a.tile_reads == r.tile_reads && r.tile_reads == BATCH * tiles &&
                        a.adder_bits == r.adder_bits && a.readouts == r.readouts &&
                        r.readouts == BATCH * tiles * D);
        snprintf(what, sizeof what, "%s head %d: array-1 reads equal, = visible cells", name, h);
        check(what, l1(a.read1, r.read1, np * nl) == 0 &&
                        sum(r.read1, np * nl) == BATCH * pairs * D);
        snprintf(what, sizeof what, "%s head %d: array-2 reads within 1e-5, = visible cells",
                 name, h);
        check(what, l1(a.read2, r.read2, 2 * nl) <= 1e-5 * sum(r.read2, 2 * nl) &&
                        fabs(sum(a.read2, 2 * nl) - BATCH * pairs * D) < 1e-6 * pairs * D);
        snprintf(what, sizeof what, "%s head %d: writes equal, 2 per key and column", name, h);
        check(what, l1(a.writes, r.writes, nl * nl) == 0 &&
                        sum(r.writes, nl * nl) == 2.0 * BATCH * T * D);
        snprintf(what, sizeof what, "%s head %d: conversions, their pulses within 1e-5", name,
                 h);
        check(what, a.c2p_count == r.c2p_count && r.c2p_count == BATCH * pairs &&
                        fabs(a.c2p_phi - r.c2p_phi) <= 1e-5 * r.c2p_phi && r.c2p_phi > 0);
        /* phi > 0 read off float32 S: where the exact S is 0 (levels symmetric about mid-rail
         * cancel, about 0.6 % of the pairs of the linear cell) float32 gives +-1 ulp */
        snprintf(what, sizeof what, "%s head %d: array-2 cells read with a pulse (1 %%)", name,
                 h);
        check(what, fabs(a.read2_pulsed - r.read2_pulsed) <= 0.01 * r.read2_pulsed &&
                        r.read2_pulsed > 0 && r.read2_pulsed < BATCH * pairs * D);
        snprintf(what, sizeof what, "%s head %d: readout sums (0.5 %% may change value)", name,
                 h);
        double lsb = r.readout_pos_lsb + r.readout_neg_lsb;
        check(what, fabs(a.readout_pos_lsb - r.readout_pos_lsb) <= 0.005 * lsb &&
                        fabs(a.readout_neg_lsb - r.readout_neg_lsb) <= 0.005 * lsb && lsb > 0);
        free(keep);
    }
}

static void run_case(const char *name, attn_config *c, const float *q, const float *k,
                     const float *v)
{
    gc_err e;
    attn_plan *p;
    attn_stream *st;
    attn_activity *par, *str, *ref;
    if (attn_plan_alloc(c, D, T, &p, &e) || attn_stream_alloc(p, B, &st, &e) ||
        attn_activity_alloc(attn_plan_config(p), 2, HEADS, &par, &e) ||
        attn_activity_alloc(attn_plan_config(p), 2, HEADS, &str, &e) ||
        attn_activity_alloc(attn_plan_config(p), 2, HEADS, &ref, &e))
        die(&e);
    static float out[B * T * D];
    static double dout[B * T * D];
    if (attn_plan_set_activity(p, par, LAYER, &e) ||
        attn_forward_parallel(p, q, k, v, B, T, D, out, NULL, NULL, &e) ||
        attn_plan_set_activity(p, str, LAYER, &e))
        die(&e);
    float qs[B * D], ks[B * D], vs[B * D], os[B * D];
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++)
            for (int d = 0; d < D; d++) {
                size_t at = ((size_t)b * T + t) * D + d;
                qs[b * D + d] = q[at], ks[b * D + d] = k[at], vs[b * D + d] = v[at];
            }
        if (attn_stream_step(st, qs, ks, vs, os, NULL, NULL, &e))
            die(&e);
    }
    if (attn_reference_forward_counted(attn_plan_config(p), q, k, v, B, T, D, dout, NULL,
                                       NULL, ref, LAYER, &e))
        die(&e);
    char label[96];
    snprintf(label, sizeof label, "%s parallel", name);
    compare(label, par, ref, c->window, c->tile);
    snprintf(label, sizeof label, "%s streaming", name);
    compare(label, str, ref, c->window, c->tile);
    /* counting off counts nothing more */
    attn_activity_counts before, after;
    attn_activity_get(par, LAYER, 0, &before);
    double t0 = before.tokens;
    if (attn_plan_set_activity(p, NULL, 0, &e) ||
        attn_forward_parallel(p, q, k, v, B, T, D, out, NULL, NULL, &e))
        die(&e);
    attn_activity_get(par, LAYER, 0, &after);
    check("counting off: the record is unchanged", after.tokens == t0);
    attn_activity_free(par);
    attn_activity_free(str);
    attn_activity_free(ref);
    attn_stream_free(st);
    attn_plan_free(p);
}

int main(void)
{
    static float q[B * T * D], k[B * T * D], v[B * T * D];
    srand(7);
    for (int i = 0; i < B * T * D; i++) {
        q[i] = (float)rand() / RAND_MAX * 1.1f - 0.05f;
        k[i] = (float)rand() / RAND_MAX * 1.0f - 0.05f;
        v[i] = (float)rand() / RAND_MAX * 1.0f - 0.05f;
    }
    attn_config c;
    attn_config_default(&c, &attn_paper_cubic);
    c.window = 40;
    c.tile = 16;
    c.token_period_s = 2e-6; /* strong decay: ages matter */
    run_case("paper-cubic", &c, q, k, v);

    attn_config_default(&c, &attn_calibrated);
    gc_err e;
    if (attn_config_set(&c, "cell_preset", "paper-linear", &e) ||
        attn_config_set(&c, "window", "64", &e) || attn_config_set(&c, "tile", "16", &e))
        die(&e);
    cell_model *cell;
    if (attn_config_load_cell(&c, &cell, &e))
        die(&e);
    c.cell = cell;
    run_case("calibrated (paper-linear cell)", &c, q, k, v);
    cell_model_free(cell);
    return failures ? 1 : 0;
}
