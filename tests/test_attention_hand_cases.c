/* Hand-checkable cases of the analog attention (fast path, parallel and streaming), each
 * against values worked out here from PAPER.md §3 rather than by the library:
 * a single key, all-equal keys, saturation at S_sat, and eviction from the window. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"

static int failures;

static void expect(const char *what, double got, double want, double tol)
{
    int ok = fabs(got - want) <= tol;
    printf("%-58s got %.9g want %.9g %s\n", what, got, want, ok ? "ok" : "FAIL");
    failures += !ok;
}

/* The paper's cubic in µA, y in volts. */
static double g(double y)
{
    return 0.52136361 + 13.61226063 * y - 2.62044562 * y * y + 46.05483778 * y * y * y;
}

/* Runs the fast path, parallel; out (T,D), S, phi (T,T). */
static void run(const attn_config *c, const float *q, const float *k, const float *v, int T,
                int D, float *out, float *S, float *phi)
{
    attn_plan *p;
    gc_err e;
    if (attn_plan_alloc(c, D, T, &p, &e) ||
        attn_forward_parallel(p, q, k, v, 1, T, D, out, S, phi, &e)) {
        printf("FAIL: %s\n", e.msg);
        exit(1);
    }
    attn_plan_free(p);
}

/* S leaves the library in coulombs: the paper's unit, 1 uA for T_max = 15 ns, is this. */
#define UA_TMAX_C (1e-6 * 15e-9)

/* One key: the quantisers (ties to even), g, phi, and the counter, by hand. */
static void single_key(void)
{
    attn_config c;
    attn_config_default(&c, &attn_paper_cubic);
    float q[4] = {1.0f, 0.5f, 0.0f, 0.2f}, k[4] = {0.9f, 0.45f, -0.1f, 0.6f};
    float v[4] = {0.9f, 0.0f, 0.45f, 0.3f}, out[4], S, phi;
    run(&c, q, k, v, 1, 4, out, &S, &phi);
    /* q 0.5 = 7.5 steps of 1/15, a tie -> 8 (even): 8/15. k 0.45f is 0.44999998, just
     * below 3.5 steps of 0.9/7 -> 3: 2.7/7; k -0.1 clamps to 0 -> g(-0.45), times q = 0;
     * k 0.6 = 4.67 steps -> 5: 4.5/7. Age 0: no decay. */
    double s = 1 * g(0.45) + 8.0 / 15 * g(2.7 / 7 - 0.45) + 0 + 0.2 * g(4.5 / 7 - 0.45);
    expect("single key: S = sum q g(k - 0.45) uA x T_max, in C", S / UA_TMAX_C, s,
           1e-5 * fabs(s));
    expect("single key: phi = clamp(S/80)", phi, fmin(fmax(s / 80, 0), 1), 1e-6);
    /* v 0.3 = 2.33 steps -> 2: 1.8/7; v 0.45f -> 3 (just below the tie): 2.7/7. */
    double vq[4] = {0.9, 0.0, 2.7 / 7, 1.8 / 7};
    for (int d = 0; d < 4; d++) {
        double r = fmin(fmax(phi * g(vq[d] - 0.45) / 40, -1), 1);
        char what[64];
        snprintf(what, sizeof what, "single key: out[%d] = round31(clamp(phi g / 40))", d);
        expect(what, out[d], 2.0 / 31 * nearbyint(r * 31 / 2), 1e-6);
    }
}

/* T identical tokens, no decay: every visible key gives the same S; tile t's output is
 * (number of visible keys in t) × phi × g(v - 0.45) / 40, clamped and counted. */
static void all_equal_keys(void)
{
    enum { T = 100, D = 8 };
    attn_config c;
    attn_config_default(&c, &attn_paper_linear);
    c.decay = 0;
    c.tile = 16;
    c.window = 40;
    static float q[T * D], k[T * D], v[T * D], out[T * D], S[T * T], phi[T * T];
    for (int i = 0; i < T * D; i++) {
        q[i] = 2.0f / 15; /* on the grid */
        k[i] = 0.9f * 5 / 7;
        v[i] = 0.9f * 4 / 7;
    }
    run(&c, q, k, v, T, D, out, S, phi);
    double s = D * 2.0 / 15 * 19.3 * (0.9 * 5 / 7 - 0.45), ph = s / 80;
    double worst = 0;
    for (int i = 0; i < T; i++) {
        int lo = i - c.window + 1 < 0 ? 0 : i - c.window + 1;
        double want = 0;
        for (int t0 = lo / c.tile * c.tile; t0 <= i; t0 += c.tile) {
            int n = (i < t0 + c.tile - 1 ? i : t0 + c.tile - 1) - (t0 > lo ? t0 : lo) + 1;
            double r = fmin(fmax(n * ph * 19.3 * (0.9 * 4 / 7 - 0.45) / 40, -1), 1);
            want += 2.0 / 31 * nearbyint(r * 31 / 2);
        }
        worst = fmax(worst, fabs(out[i * D] - want));
        worst = fmax(worst, fabs(S[i * T + i] / UA_TMAX_C - s) / s);
    }
    expect("all-equal keys: counted tiles, max deviation", worst, 0, 2e-6);
}

/* q = 1 and k = v = 0.9 everywhere: S = D g(0.45) > S_sat so phi = 1 exactly, and every
 * tile's readout saturates at 1, which the counter rounds to 32/31 (16 steps, half to
 * even from 15.5). Just below saturation, phi = S/80. */
static void saturation(void)
{
    enum { T = 70, D = 64 };
    attn_config c;
    attn_config_default(&c, &attn_paper_cubic);
    c.decay = 0;
    static float q[T * D], k[T * D], v[T * D], out[T * D], S[T * T], phi[T * T];
    for (int i = 0; i < T * D; i++)
        q[i] = 1, k[i] = 0.9f, v[i] = 0.9f;
    run(&c, q, k, v, T, D, out, S, phi);
    expect("saturation: S = 64 g(0.45) uA x T_max, in C", S[0] / UA_TMAX_C, 64 * g(0.45),
           1e-4);
    expect("saturation: phi = 1", phi[5 * T + 3], 1, 0);
    expect("saturation: one tile -> 32/31", out[10 * D], 32.0 / 31, 1e-6);
    expect("saturation: two tiles -> 64/31", out[69 * D + 5], 64.0 / 31, 1e-6);
    /* Calibrated preset: the same in coulombs; S_sat = 80 µA · 15 ns. */
    cell_model *m;
    gc_err e;
    if (cell_model_preset("paper-cubic", &m, &e)) {
        printf("FAIL: %s\n", e.msg);
        exit(1);
    }
    attn_config_default(&c, &attn_calibrated);
    c.decay = 0;
    c.cell = m;
    run(&c, q, k, v, T, D, out, S, phi);
    expect("saturation (calibrated preset): S / S_sat", S[0] / cell_s_sat_c(m),
           64 * g(0.45) / 80, 1e-5);
    expect("saturation (calibrated preset): phi = 1", phi[5 * T + 3], 1, 0);
    expect("saturation (calibrated preset): out 32/31", out[10 * D], 32.0 / 31, 1e-6);
    cell_model_free(m);
    /* Below S_sat, analog q: q = 0.5 · 80 / (64 g(0.45)) gives phi = 0.5. */
    attn_config_default(&c, &attn_paper_cubic);
    c.decay = 0;
    c.quant_q = 0;
    for (int i = 0; i < T * D; i++)
        q[i] = (float)(0.5 * 80 / (64 * g(0.45)));
    run(&c, q, k, v, T, D, out, S, phi);
    expect("half saturation: phi = S/80 = 0.5", phi[3 * T + 2], 0.5, 1e-6);
}

/* Window 8, tile 4: changing the oldest key changes rows 0..7 only; rows >= 8 are
 * bit-identical, in parallel and in streaming (whose ring of 3 tiles has wrapped). */
static void eviction(void)
{
    enum { T = 40, D = 32 };
    attn_config c;
    attn_config_default(&c, &attn_paper_cubic);
    c.window = 8;
    c.tile = 4;
    c.lambda_per_token = 0.05;
    static float q[T * D], k[T * D], v[T * D], o1[T * D], o2[T * D], S1[T * T], S2[T * T],
        phi[T * T];
    srand(3);
    for (int i = 0; i < T * D; i++) {
        q[i] = 0.5f + 0.5f * rand() / RAND_MAX;
        k[i] = 0.9f * rand() / RAND_MAX;
        v[i] = 0.9f * rand() / RAND_MAX;
    }
    run(&c, q, k, v, T, D, o1, S1, phi);
    for (int d = 0; d < D; d++)
        k[d] = 0.9f - k[d], v[d] = 0.9f - v[d];
    run(&c, q, k, v, T, D, o2, S2, phi);
    double early = 0, late = 0, s_early = 0;
    for (int i = 0; i < T; i++) {
        for (int d = 0; d < D; d++)
            *(i < 8 ? &early : &late) += fabs(o1[i * D + d] - o2[i * D + d]);
        for (int j = 0; j < T; j++)
            *(i < 8 ? &s_early : &late) += fabs(S1[i * T + j] - S2[i * T + j]);
    }
    printf("eviction: while in the window, the key changed out by %.3g and S by %.3g\n",
           early, s_early);
    expect("eviction: rows >= M do not see the evicted key", late, 0, 0);
    failures += early == 0 || s_early == 0; /* visible while the key is in the window */
    /* Streaming: the evicted key's column has been overwritten; same outputs. */
    attn_plan *p;
    attn_stream *st;
    gc_err e;
    if (attn_plan_alloc(&c, D, T, &p, &e) || attn_stream_alloc(p, 1, &st, &e)) {
        printf("FAIL: %s\n", e.msg);
        exit(1);
    }
    double worst = 0;
    for (int i = 0; i < T; i++) {
        float o[D];
        if (attn_stream_step(st, q + i * D, k + i * D, v + i * D, o, NULL, NULL, &e)) {
            printf("FAIL: %s\n", e.msg);
            exit(1);
        }
        for (int d = 0; d < D; d++)
            worst = fmax(worst, fabs(o[d] - o2[i * D + d]));
    }
    expect("eviction: streaming ring == parallel", worst, 0, 1e-5);
    attn_stream_free(st);
    attn_plan_free(p);
}

int main(void)
{
    single_key();
    all_equal_keys();
    saturation();
    eviction();
    if (failures)
        printf("%d FAILED\n", failures);
    return failures != 0;
}
