/* Streaming (KV ring buffer, one token at a time) equals parallel evaluation on sequences
 * three times longer than the window, for every variant: S and phi to 1e-5 of their scale,
 * out to 1e-5 with the counter off. With the counter on, the two float32 evaluations (BLAS
 * products in parallel, dot products in streaming) may round one tile's readout to the two
 * sides of a counter threshold: allowed for at most 0.1 % of outputs, by whole steps only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "attention.h"

enum { B = 3, T = 300, D = 16 };
static int failures;

static double max_abs(const float *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

/* Streams all T tokens; out (B,T,D), S and phi (B,T,T). */
static int stream_all(const attn_plan *p, const float *q, const float *k, const float *v,
                      float *out, float *S, float *phi, gc_err *e)
{
    attn_stream *st;
    if (attn_stream_alloc(p, B, &st, e))
        return -1;
    int W = attn_stream_window(st);
    float *buf = malloc(sizeof(float) * (4 * B * D + 2 * B * W));
    float *qt = buf, *kt = qt + B * D, *vt = kt + B * D, *ot = vt + B * D;
    float *sr = ot + B * D, *pr = sr + B * W;
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++)
            for (int d = 0; d < D; d++) {
                size_t src = ((size_t)b * T + t) * D + d;
                qt[b * D + d] = q[src], kt[b * D + d] = k[src], vt[b * D + d] = v[src];
            }
        if (attn_stream_step(st, qt, kt, vt, ot, sr, pr, e))
            return -1;
        for (int b = 0; b < B; b++) {
            for (int d = 0; d < D; d++)
                out[((size_t)b * T + t) * D + d] = ot[b * D + d];
            for (int c = 0; c < W; c++) {
                long j = (long)t - W + 1 + c;
                if (j >= 0) {
                    S[((size_t)b * T + t) * T + j] = sr[b * W + c];
                    phi[((size_t)b * T + t) * T + j] = pr[b * W + c];
                }
            }
        }
    }
    free(buf);
    attn_stream_free(st);
    return 0;
}

static void compare(const char *name, const attn_config *c, const float *q, const float *k,
                    const float *v)
{
    static float o1[B * T * D], o2[B * T * D], S1[B * T * T], S2[B * T * T], p1[B * T * T],
        p2[B * T * T];
    attn_plan *p;
    gc_err e;
    for (size_t i = 0; i < (size_t)B * T * T; i++)
        S2[i] = p2[i] = 0;
    if (attn_plan_alloc(c, D, T, &p, &e) ||
        attn_forward_parallel(p, q, k, v, B, T, D, o1, S1, p1, &e) ||
        stream_all(p, q, k, v, o2, S2, p2, &e)) {
        printf("FAIL %s: %s\n", name, e.msg);
        failures++;
        return;
    }
    attn_plan_free(p);
    double sS = max_abs(S1, (size_t)B * T * T), so = fmax(max_abs(o1, (size_t)B * T * D), 1);
    double dS = 0, dp = 0, dout = 0;
    int ties = 0;
    for (size_t i = 0; i < (size_t)B * T * T; i++) {
        dS = fmax(dS, fabs(S1[i] - S2[i]) / sS);
        dp = fmax(dp, fabs(p1[i] - p2[i]));
    }
    for (size_t i = 0; i < (size_t)B * T * D; i++) {
        double d = fabs(o1[i] - o2[i]);
        double steps = d / (2.0 / (c->out_levels - 1));
        if (c->quant_out && d > 1e-5 * so && fabs(steps - nearbyint(steps)) < 1e-3) {
            ties++;
            continue;
        }
        dout = fmax(dout, d / so);
    }
    int ok = dS <= 1e-5 && dp <= 1e-5 && dout <= 1e-5 && ties <= B * T * D / 1000;
    printf("%-40s S %.2e phi %.2e out %.2e (counter ties %d)  %s\n", name, dS, dp, dout, ties,
           ok ? "ok" : "FAIL");
    failures += !ok;
}

int main(void)
{
    static float q[B * T * D], k[B * T * D], v[B * T * D];
    srand(11);
    for (int i = 0; i < B * T * D; i++) {
        q[i] = 1.2f * rand() / RAND_MAX - 0.1f;
        k[i] = 1.0f * rand() / RAND_MAX - 0.05f;
        v[i] = 1.0f * rand() / RAND_MAX - 0.05f;
    }
    cell_model *m;
    gc_err e;
    if (cell_model_preset("paper-cubic", &m, &e)) {
        printf("FAIL: %s\n", e.msg);
        return 1;
    }
    for (int i = 0; i < attn_variant_count(); i++)
        for (int quant = 0; quant < 2; quant++) {
            attn_config c;
            attn_config_default(&c, attn_variant_at(i));
            c.window = 100;
            c.tile = 32;
            c.lambda_per_token = 0.01;
            c.cell = m;
            c.quant_q = c.quant_k = c.quant_v = c.quant_out = quant;
            char name[64];
            snprintf(name, sizeof name, "%s quant=%d M=100 T=300", attn_variant_at(i)->name,
                     quant);
            compare(name, &c, q, k, v);
        }
    cell_model_free(m);
    return failures != 0;
}
