/* Test tool for the harness tests: runs the C GPT-2 on token ids and writes the logits, so that
 * a Python script can compare them with its independent float64 reference.
 *
 * usage: test_gpt2_logits MODEL TOKENS.npy VARIANT OUT.npy [STREAM_OUT.npy]
 *   TOKENS.npy is uint32 (T) or (B, T); OUT.npy gets float32 (B, T, V) from the parallel
 *   forward; STREAM_OUT.npy gets (T, V) from streaming decode of the first sequence. */
#include <stdio.h>
#include <stdlib.h>

#include "gpt2.h"

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s MODEL TOKENS.npy VARIANT OUT.npy [STREAM_OUT.npy]\n", argv[0]);
        return 2;
    }
    gc_err e = {{0}};
    gpt2_model *m = NULL;
    gc_npy tok = {0};
    float *logits = NULL;
    int rc = 1;
    gpt2_attn_kind kind;
    if (gpt2_load(&m, argv[1], &e) || gc_npy_read(argv[2], GC_NPY_U32, &tok, &e) ||
        gpt2_attn_kind_parse(argv[3], &kind, &e) || gpt2_set_attention(m, kind, NULL, &e))
        goto done;
    int B = tok.ndim == 2 ? (int)tok.shape[0] : 1;
    int T = (int)tok.shape[tok.ndim - 1], V = m->config.vocab_size;
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
    if (argc == 6) {
        const uint32_t *ids = tok.data;
        if (gpt2_stream_reset(m, &e))
            goto done;
        for (int t = 0; t < T; t++)
            if (gpt2_stream_step(m, ids[t], logits + (size_t)t * V, &e))
                goto done;
        if (gc_npy_write(argv[5], GC_NPY_F32, 2, shape + 1, logits, &e))
            goto done;
    }
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "test_gpt2_logits: %s\n", e.msg);
    free(logits);
    gc_npy_free(&tok);
    gpt2_free(m);
    return rc;
}
