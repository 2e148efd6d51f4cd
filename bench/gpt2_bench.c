/* gpt2_bench: tokens per second of the full GPT-2 forward (prefill of one window, logits of
 * every position) for one attention variant, and the peak resident memory of the process.
 *
 * usage: gpt2_bench MODEL VARIANT [T] [REPEATS]
 * Prints one line: "variant V T n tokens_per_s X best_s Y peak_rss_mb Z". The first run is a
 * warm-up and is not timed. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "gpt2.h"

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s MODEL VARIANT [T] [REPEATS]\n", argv[0]);
        return 2;
    }
    gc_err e = {{0}};
    gpt2_model *m = NULL;
    attn_config cfg;
    float *logits = NULL;
    uint32_t *tok = NULL;
    int rc = 1;
    if (gpt2_load(&m, argv[1], &e) || attn_variant_parse(argv[2], &cfg.variant, &e))
        goto done;
    attn_config_default(&cfg, cfg.variant);
    if (cfg.variant->engine == ATTN_ENGINE_CELL) /* the paper-cubic cell, as a cell */
        snprintf(cfg.cell_preset, sizeof cfg.cell_preset, "paper-cubic");
    if (gpt2_set_attention(m, &cfg, &e))
        goto done;
    int T = argc > 3 ? atoi(argv[3]) : 1024, reps = argc > 4 ? atoi(argv[4]) : 3;
    int V = m->config.vocab_size;
    if (T < 1 || T > m->config.max_seq_len || reps < 1) {
        gc_fail(&e, "T must be in 1..%d and REPEATS positive", m->config.max_seq_len);
        goto done;
    }
    tok = malloc((size_t)T * sizeof *tok);
    logits = malloc((size_t)T * V * sizeof *logits);
    if (!tok || !logits) {
        gc_fail(&e, "out of memory");
        goto done;
    }
    uint64_t s = 88172645463325252ull;
    for (int t = 0; t < T; t++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        tok[t] = (uint32_t)(s % (uint64_t)V);
    }
    double best = 1e30;
    for (int r = 0; r <= reps; r++) {
        double t0 = gc_now();
        if (gpt2_forward(m, tok, 1, T, &e))
            goto done;
        gpt2_logits(m, 0, T, logits);
        double dt = gc_now() - t0;
        if (r > 0 && dt < best)
            best = dt;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("variant %s T %d tokens_per_s %.1f best_s %.4f peak_rss_mb %.1f\n", argv[2], T,
           T / best, best, ru.ru_maxrss / 1024.0);
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "gpt2_bench: %s\n", e.msg);
    free(tok);
    free(logits);
    gpt2_free(m);
    return rc;
}
