/* ppl: perplexity of a token sequence with Hugging Face's sliding-window protocol.
 * Logits are formed a chunk of rows at a time from the final hidden states, so memory stays
 * at (chunk, V) however long the window. */
#include <math.h>
#include <stdlib.h>

#include "gpt2.h"
#include "gpt2_internal.h"

enum { PPL_CHUNK = 64 }; /* rows of logits formed at once */

double gpt2_nll_rows(const float *logits, const uint32_t *targets, long n, int V)
{
    double total = 0;
    #pragma omp parallel for reduction(+ : total)
    for (long r = 0; r < n; r++) {
        const float *x = logits + r * V;
        float mx = x[0];
        for (int i = 1; i < V; i++)
            mx = x[i] > mx ? x[i] : mx;
        double sum = 0;
        for (int i = 0; i < V; i++)
            sum += exp((double)x[i] - mx);
        total += log(sum) + mx - x[targets[r]];
    }
    return total;
}

long gpt2_ppl_windows(long n, const gpt2_ppl_opts *o)
{
    return n <= o->ctx ? 1 : 1 + (n - o->ctx + o->stride - 1) / o->stride;
}

void gpt2_ppl_shard_windows(long n, const gpt2_ppl_opts *o, long *w0, long *w1)
{
    long n_windows = gpt2_ppl_windows(n, o);
    int n_shards = o->n_shards > 0 ? o->n_shards : 1;
    *w0 = n_windows * o->shard / n_shards;
    *w1 = n_windows * (o->shard + 1) / n_shards;
}

int gpt2_ppl(gpt2_model *m, const uint32_t *ids, long n, const gpt2_ppl_opts *o,
             gpt2_ppl_result *r, gc_err *e)
{
    int V = m->config.vocab_size;
    if (o->ctx < 2 || o->ctx > m->config.max_seq_len)
        return gc_fail(e, "ppl: context %d outside 2..%d", o->ctx, m->config.max_seq_len);
    if (o->stride < 1 || o->stride > o->ctx)
        return gc_fail(e, "ppl: stride %d outside 1..%d (the context)", o->stride, o->ctx);
    if (n < 2)
        return gc_fail(e, "ppl: %ld tokens; at least 2 are needed", n);
    int n_shards = o->n_shards > 0 ? o->n_shards : 1;
    if (o->shard < 0 || o->shard >= n_shards)
        return gc_fail(e, "ppl: shard %d outside 0..%d", o->shard, n_shards - 1);
    float *logits = malloc((size_t)PPL_CHUNK * V * sizeof *logits);
    if (!logits)
        return gc_fail(e, "ppl: out of memory");
    double t0 = gc_now();
    *r = (gpt2_ppl_result){0};
    gc_progress p;
    long w0, w1;
    gpt2_ppl_shard_windows(n, o, &w0, &w1);
    if (o->progress)
        gc_progress_start(&p, "ppl windows", w1 - w0);
    int rc = 0;
    for (long w = w0; w < w1; w++) {
        if (gc_interrupted()) {
            rc = gc_fail_interrupted(e);
            break;
        }
        long begin = w * o->stride;
        long end = begin + o->ctx < n ? begin + o->ctx : n;
        /* where the previous window's scoring ended */
        long prev_end = w == 0 ? 0 : begin - o->stride + o->ctx;
        prev_end = prev_end < n ? prev_end : n;
        if ((rc = gpt2_forward(m, ids + begin, 1, (int)(end - begin), e)))
            break;
        /* row t of the window predicts token begin + t + 1; score tokens first..end-1 */
        long first = prev_end > begin + 1 ? prev_end : begin + 1;
        double window_nll = 0; /* summed per window, then in window order: any split of the
                                  windows over processes adds up to the same bits */
        for (long tok = first; tok < end; tok += PPL_CHUNK) {
            long rows = end - tok < PPL_CHUNK ? end - tok : PPL_CHUNK;
            gpt2_logits(m, tok - 1 - begin, rows, logits);
            window_nll += gpt2_nll_rows(logits, ids + tok, rows, V);
        }
        r->nll += window_nll;
        if (o->window_nll)
            o->window_nll[w - w0] = window_nll;
        r->scored += end > first ? end - first : 0;
        r->windows++;
        if (o->progress)
            gc_progress_update(&p, r->windows);
    }
    if (o->progress)
        gc_progress_end(&p);
    r->seconds = gc_now() - t0;
    free(logits);
    if (rc == 0 && !isfinite(r->nll))
        rc = gc_fail(e, "ppl: the model's outputs are not finite numbers (its weights overflow "
                        "float32)");
    return rc;
}

long gpt2_count_words(const char *text, size_t len)
{
    long words = 0;
    int in_word = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        int space = c == ' ' || (c >= '\t' && c <= '\r');
        if (!space && !in_word)
            words++;
        in_word = !space;
    }
    return words;
}
