/* A streaming state filled in one call (attn_stream_append, from a prefill's k and v) or
 * restored from a copy (attn_stream_copy) continues exactly as the stream that stepped every
 * token itself: the outputs of the following steps are equal bit for bit, for every variant,
 * with a window that slides (the ring wraps) and one that does not. The copy is deep: the
 * source, stepped after the copy was used, still continues exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"

enum { B = 3, T = 300, T0 = 170, D = 16 };
static int failures;

/* Steps tokens t0..t1-1 of (B,T,D) q, k, v; out (B,T,D) gets their outputs. */
static int step_range(attn_stream *st, const float *q, const float *k, const float *v, int t0,
                      int t1, float *out, gc_err *e)
{
    float qt[B * D], kt[B * D], vt[B * D], ot[B * D];
    for (int t = t0; t < t1; t++) {
        for (int b = 0; b < B; b++)
            for (int d = 0; d < D; d++) {
                size_t src = ((size_t)b * T + t) * D + d;
                qt[b * D + d] = q[src], kt[b * D + d] = k[src], vt[b * D + d] = v[src];
            }
        if (attn_stream_step(st, qt, kt, vt, ot, NULL, NULL, e))
            return -1;
        for (int b = 0; b < B; b++)
            memcpy(out + ((size_t)b * T + t) * D, ot + b * D, D * sizeof(float));
    }
    return 0;
}

/* Outputs of tokens T0..T-1 equal bit for bit. */
static int same_tail(const float *a, const float *b)
{
    for (int h = 0; h < B; h++)
        if (memcmp(a + ((size_t)h * T + T0) * D, b + ((size_t)h * T + T0) * D,
                   (size_t)(T - T0) * D * sizeof(float)))
            return 0;
    return 1;
}

static void check(const char *name, const attn_config *c, const float *q, const float *k,
                  const float *v)
{
    static float ref[B * T * D], got[B * T * D], kh[B * T0 * D], vh[B * T0 * D];
    attn_plan *p = NULL;
    attn_stream *s1 = NULL, *s2 = NULL, *s3 = NULL;
    gc_err e;
    for (int b = 0; b < B; b++) /* the first T0 tokens as (B,T0,D) */
        for (int t = 0; t < T0; t++)
            for (int d = 0; d < D; d++) {
                kh[((size_t)b * T0 + t) * D + d] = k[((size_t)b * T + t) * D + d];
                vh[((size_t)b * T0 + t) * D + d] = v[((size_t)b * T + t) * D + d];
            }
    int ok_append = 0, ok_copy = 0, ok_source = 0;
    int rc = attn_plan_alloc(c, D, T, &p, &e) || attn_stream_alloc(p, B, &s1, &e) ||
             attn_stream_alloc(p, B, &s2, &e) || attn_stream_alloc(p, B, &s3, &e) ||
             step_range(s1, q, k, v, 0, T, ref, &e);
    if (!rc) { /* filled by append, then stepped */
        rc = attn_stream_append(s2, kh, vh, T0, &e) || step_range(s2, q, k, v, T0, T, got, &e);
        ok_append = !rc && attn_stream_pos(s2) == T && same_tail(ref, got);
    }
    if (!rc) { /* s3 stepped to T0; s2 (dirty, at T) restored from it, stepped, then s3 */
        rc = step_range(s3, k, v, q, 0, 40, got, &e) || /* other content first */
             (attn_stream_reset(s3), 0) || step_range(s3, q, k, v, 0, T0, got, &e) ||
             attn_stream_copy(s2, s3, &e) || step_range(s2, q, k, v, T0, T, got, &e);
        ok_copy = !rc && same_tail(ref, got);
        rc = rc || step_range(s3, q, k, v, T0, T, got, &e);
        ok_source = !rc && same_tail(ref, got);
    }
    if (rc) {
        printf("FAIL %s: %s\n", name, e.msg);
        failures++;
    } else {
        int ok = ok_append && ok_copy && ok_source;
        printf("%-36s append %s, copy %s, source after copy %s  %s\n", name,
               ok_append ? "equal" : "DIFFERS", ok_copy ? "equal" : "DIFFERS",
               ok_source ? "equal" : "DIFFERS", ok ? "ok" : "FAIL");
        failures += !ok;
    }
    attn_stream_free(s1);
    attn_stream_free(s2);
    attn_stream_free(s3);
    attn_plan_free(p);
}

int main(void)
{
    static float q[B * T * D], k[B * T * D], v[B * T * D];
    srand(5);
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
        for (int window = 100; window <= 1000; window += 900) {
            attn_config c;
            attn_config_default(&c, attn_variant_at(i));
            c.window = window;
            c.tile = 32;
            c.lambda_per_token = 0.01;
            c.cell = m;
            char name[64];
            snprintf(name, sizeof name, "%s M=%d T=%d", attn_variant_at(i)->name, window, T);
            check(name, &c, q, k, v);
        }
    /* a copy between streams of different plans is refused */
    attn_config c;
    attn_config_default(&c, &attn_paper_cubic);
    attn_plan *p1, *p2;
    attn_stream *a, *b;
    if (attn_plan_alloc(&c, D, T, &p1, &e) || attn_plan_alloc(&c, D, T, &p2, &e) ||
        attn_stream_alloc(p1, B, &a, &e) || attn_stream_alloc(p2, B, &b, &e)) {
        printf("FAIL: %s\n", e.msg);
        return 1;
    }
    int refused = attn_stream_copy(a, b, &e) != 0;
    printf("copy across plans refused: %s  %s\n", refused ? e.msg : "accepted",
           refused ? "ok" : "FAIL");
    failures += !refused;
    attn_stream_free(a);
    attn_stream_free(b);
    attn_plan_free(p1);
    attn_plan_free(p2);
    cell_model_free(m);
    return failures != 0;
}
