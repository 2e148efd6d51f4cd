/* Test tool for the harness tests: runs the C GPT-2 on token ids and writes the logits, so that
 * a Python script can compare them with its independent float64 reference.
 *
 * usage: test_gpt2_logits MODEL TOKENS.npy VARIANT OUT.npy [STREAM_OUT.npy [PROBE_DIR]]
 *   TOKENS.npy is uint32 (T) or (B, T); OUT.npy gets float32 (B, T, V) from the parallel
 *   forward; STREAM_OUT.npy gets (T, V) from streaming decode of the first sequence.
 *   PROBE_DIR (an existing folder) gets what the attention library saw and returned in every
 *   layer (gpt2_attn_probe): parallel_{q,k,v,o}.npy (L, B·NH, T, D) and stream_{q,k,v,o}.npy
 *   (L, NH, T, D), so that the reference can follow the library's quantiser decisions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpt2.h"

/* Probe record: four (L, heads, T, D) arrays, filled one call at a time. */
typedef struct {
    int L, heads, T, D;
    int t;         /* streaming: the step being recorded */
    float *x[4];   /* q', k', v', O */
} probe_rec;

static void probe_parallel(void *ctx, int l, const float *qs, const float *ks, const float *vs,
                           const float *o, int heads, int T, int D)
{
    probe_rec *r = ctx;
    const float *src[4] = {qs, ks, vs, o};
    size_t n = (size_t)heads * T * D;
    for (int s = 0; s < 4; s++)
        memcpy(r->x[s] + (size_t)l * n, src[s], n * sizeof(float));
}

static void probe_stream(void *ctx, int l, const float *qs, const float *ks, const float *vs,
                         const float *o, int heads, int T, int D)
{
    probe_rec *r = ctx;
    const float *src[4] = {qs, ks, vs, o};
    (void)T;
    for (int s = 0; s < 4; s++)
        for (int h = 0; h < heads; h++)
            memcpy(r->x[s] + (((size_t)l * heads + h) * r->T + r->t) * D, src[s] + (size_t)h * D,
                   (size_t)D * sizeof(float));
}

static int probe_alloc(probe_rec *r, int L, int heads, int T, int D, gc_err *e)
{
    *r = (probe_rec){.L = L, .heads = heads, .T = T, .D = D};
    for (int s = 0; s < 4; s++)
        if (!(r->x[s] = calloc((size_t)L * heads * T * D, sizeof(float))))
            return gc_fail(e, "out of memory");
    return 0;
}

static int probe_write(const probe_rec *r, const char *dir, const char *mode, gc_err *e)
{
    const char names[] = "qkvo";
    size_t shape[4] = {(size_t)r->L, (size_t)r->heads, (size_t)r->T, (size_t)r->D};
    char path[4096];
    for (int s = 0; s < 4; s++) {
        snprintf(path, sizeof path, "%s/%s_%c.npy", dir, mode, names[s]);
        if (gc_npy_write(path, GC_NPY_F32, 4, shape, r->x[s], e))
            return -1;
    }
    return 0;
}

static void probe_free(probe_rec *r)
{
    for (int s = 0; s < 4; s++)
        free(r->x[s]);
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 7) {
        fprintf(stderr, "usage: %s MODEL TOKENS.npy VARIANT OUT.npy [STREAM_OUT.npy "
                        "[PROBE_DIR]]\n", argv[0]);
        return 2;
    }
    const char *probe_dir = argc == 7 ? argv[6] : NULL;
    gc_err e = {{0}};
    gpt2_model *m = NULL;
    gc_npy tok = {0};
    float *logits = NULL;
    probe_rec par = {0}, str = {0};
    int rc = 1;
    attn_config cfg;
    if (gpt2_load(&m, argv[1], &e) || gc_npy_read(argv[2], GC_NPY_U32, &tok, &e) ||
        attn_variant_parse(argv[3], &cfg.variant, &e))
        goto done;
    attn_config_default(&cfg, cfg.variant);
    if (gpt2_set_attention(m, &cfg, &e))
        goto done;
    int B = tok.ndim == 2 ? (int)tok.shape[0] : 1;
    int T = (int)tok.shape[tok.ndim - 1], V = m->config.vocab_size;
    int L = m->config.n_layer, NH = m->config.n_head, D = m->config.n_embd / NH;
    if (probe_dir) {
        if (probe_alloc(&par, L, B * NH, T, D, &e) || probe_alloc(&str, L, NH, T, D, &e))
            goto done;
        m->probe = probe_parallel;
        m->probe_ctx = &par;
    }
    if (gpt2_forward(m, tok.data, B, T, &e))
        goto done;
    logits = malloc((size_t)B * T * V * sizeof *logits);
    if (!logits) {
        gc_fail(&e, "out of memory");
        goto done;
    }
    gpt2_logits(m, 0, (long)B * T, logits);
    size_t shape[3] = {(size_t)B, (size_t)T, (size_t)V};
    if (gc_npy_write(argv[4], GC_NPY_F32, 3, shape, logits, &e))
        goto done;
    if (argc >= 6) {
        const uint32_t *ids = tok.data;
        m->probe = probe_dir ? probe_stream : NULL;
        m->probe_ctx = &str;
        if (gpt2_stream_reset(m, &e))
            goto done;
        for (int t = 0; t < T; t++) {
            str.t = t;
            if (gpt2_stream_step(m, ids[t], logits + (size_t)t * V, &e))
                goto done;
        }
        if (gc_npy_write(argv[5], GC_NPY_F32, 2, shape + 1, logits, &e))
            goto done;
    }
    if (probe_dir &&
        (probe_write(&par, probe_dir, "parallel", &e) || probe_write(&str, probe_dir, "stream", &e)))
        goto done;
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "test_gpt2_logits: %s\n", e.msg);
    free(logits);
    probe_free(&par);
    probe_free(&str);
    gc_npy_free(&tok);
    gpt2_free(m);
    return rc;
}
