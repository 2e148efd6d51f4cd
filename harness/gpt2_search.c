/* gpt2_search: coordinate search of the per-head hardware scalers on the language-model loss
 * of W calibration windows, no gradients. An optional second adaptation stage after moment
 * matching (not in PAPER.md): two moments per stream cannot see how a nonlinear read distorts
 * the attention; the loss can. Layer by layer, stream by stream (k, v, o, q), head by head it
 * tries scale a(1 + ds) then a(1 - ds), and bias b + db then b - db, keeping the first that
 * lowers the loss strictly; ds and db halve after each pass. train/adapt.py (search) is the
 * same algorithm.
 *
 * A scaler of layer l changes nothing below l, so the inputs of the layer being searched are
 * kept for all windows and one evaluation runs only layers l and up. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpt2.h"
#include "gpt2_internal.h"

enum { SEARCH_CHUNK = 8,     /* windows run at once */
       LOGIT_ROWS = 64 };    /* rows of logits formed at once */

static const int search_order[GPT2_HW_N] = {GPT2_HW_K, GPT2_HW_V, GPT2_HW_O, GPT2_HW_Q};

void gpt2_search_opts_default(gpt2_search_opts *o)
{
    *o = (gpt2_search_opts){.passes = 1, .first_pass = 1, .scale_step = 0.08,
                               .bias_step = 0.02};
}

typedef struct {
    gpt2_model *m;
    const uint32_t *tokens; /* W * T + 1: window w is [w T, w T + T), its targets one later */
    int W, T;
    float *inputs;          /* (W, T, C): the input of the layer being searched */
    float *logits;          /* (LOGIT_ROWS, V) */
    long evals;
} searcher;

static int chunk_windows(const searcher *s, int w0)
{
    return s->W - w0 < SEARCH_CHUNK ? s->W - w0 : SEARCH_CHUNK;
}

static size_t chunk_floats(const searcher *s, int w0)
{
    return (size_t)chunk_windows(s, w0) * s->T * s->m->config.n_embd;
}

static float *chunk_inputs(const searcher *s, int w0)
{
    return s->inputs + (size_t)w0 * s->T * s->m->config.n_embd;
}

/* Embeds chunk w0's windows (sizing the model for the chunk). */
static int begin_chunk(searcher *s, int w0, gc_err *e)
{
    return gpt2_forward_begin(s->m, s->tokens + (size_t)w0 * s->T, chunk_windows(s, w0), s->T, e);
}

/* Loads chunk w0's stored inputs into the model's residual stream. */
static int load_chunk(searcher *s, int w0, gc_err *e)
{
    if (begin_chunk(s, w0, e))
        return -1;
    memcpy(s->m->residual, chunk_inputs(s, w0), chunk_floats(s, w0) * sizeof(float));
    return 0;
}

/* The model's residual stream becomes chunk w0's stored inputs. */
static void store_chunk(searcher *s, int w0)
{
    memcpy(chunk_inputs(s, w0), s->m->residual, chunk_floats(s, w0) * sizeof(float));
}

/* The stored inputs become those of layer l + 1 (runs layer l on them). */
static int advance(searcher *s, int l, gc_err *e)
{
    for (int w0 = 0; w0 < s->W; w0 += SEARCH_CHUNK) {
        if (load_chunk(s, w0, e) || gpt2_forward_layers(s->m, l, l + 1, e))
            return -1;
        store_chunk(s, w0);
    }
    return 0;
}

/* Mean next-token cross-entropy over all W T positions, running layers l and up. */
static int loss_from(searcher *s, int l, double *loss, gc_err *e)
{
    gpt2_model *m = s->m;
    int V = m->config.vocab_size;
    double nll = 0;
    for (int w0 = 0; w0 < s->W; w0 += SEARCH_CHUNK) {
        if (load_chunk(s, w0, e) || gpt2_forward_layers(m, l, m->config.n_layer, e))
            return -1;
        long rows = (long)m->B * s->T, first = (long)w0 * s->T;
        for (long r = 0; r < rows; r += LOGIT_ROWS) {
            long n = rows - r < LOGIT_ROWS ? rows - r : LOGIT_ROWS;
            gpt2_logits(m, r, n, s->logits);
            nll += gpt2_nll_rows(s->logits, s->tokens + first + r + 1, n, V);
        }
    }
    s->evals++;
    *loss = nll / ((double)s->W * s->T);
    return isfinite(*loss) ? 0 : gc_fail(e, "search: the loss is not finite");
}

/* Tries the two candidates of one scaler value *x; keeps the first that lowers *best. */
static int try_value(searcher *s, int l, float *x, int is_scale, double step, double *best,
                     gc_err *e)
{
    float old = *x;
    float cand[2] = {is_scale ? (float)(old * (1 + step)) : (float)(old + step),
                     is_scale ? (float)(old * (1 - step)) : (float)(old - step)};
    for (int i = 0; i < 2; i++) {
        double cur;
        *x = cand[i];
        if (loss_from(s, l, &cur, e)) {
            *x = old;
            return -1;
        }
        if (cur < *best) {
            *best = cur;
            return 0;
        }
    }
    *x = old;
    return 0;
}

/* The stored inputs become those of layer 0: the embeddings. */
static int embed(searcher *s, gc_err *e)
{
    for (int w0 = 0; w0 < s->W; w0 += SEARCH_CHUNK) {
        if (begin_chunk(s, w0, e))
            return -1;
        store_chunk(s, w0);
    }
    return 0;
}

int gpt2_search(gpt2_model *m, const uint32_t *tokens, int W, int T,
                const gpt2_search_opts *o, long *evals, double *loss, gc_err *e)
{
    const gpt2_config *c = &m->config;
    if (o->first_pass < 1 || o->passes < 0)
        return gc_fail(e, "search: passes %d to %d", o->first_pass,
                       o->first_pass + o->passes - 1);
    if (W < 1 || T < 2 || T > c->max_seq_len)
        return gc_fail(e, "search: %d windows of %d tokens (need at least 1 of 2..%d)", W, T,
                       c->max_seq_len);
    /* the forward checks the ids it embeds; the last target of the last window it never sees */
    if (tokens[(size_t)W * T] >= (uint32_t)c->vocab_size)
        return gc_fail(e, "search: token id %u at position %zu is outside the vocabulary (%d)",
                       tokens[(size_t)W * T], (size_t)W * T, c->vocab_size);
    int L = c->n_layer, NH = c->n_head, stats = m->stats_on, rc = -1;
    searcher s = {.m = m, .tokens = tokens, .W = W, .T = T};
    s.inputs = malloc((size_t)W * T * c->n_embd * sizeof *s.inputs);
    s.logits = malloc((size_t)LOGIT_ROWS * c->vocab_size * sizeof *s.logits);
    double best, ds = ldexp(o->scale_step, 1 - o->first_pass),
                 db = ldexp(o->bias_step, 1 - o->first_pass);
    if (!s.inputs || !s.logits) {
        gc_fail(e, "search: out of memory for %d windows of %d tokens", W, T);
        goto done;
    }
    if ((stats && gpt2_stats_enable(m, 0, e)) || embed(&s, e) || loss_from(&s, 0, &best, e))
        goto done;
    if (o->on_layer)
        o->on_layer(o->ctx, 0, 0, best, s.evals);
    for (int p = o->first_pass; p < o->first_pass + o->passes; p++) {
        if (p > o->first_pass && embed(&s, e))
            goto done;
        for (int l = 0; l < L; l++) {
            for (int k = 0; k < GPT2_HW_N; k++)
                for (int h = 0; h < NH; h++) {
                    size_t i = ((size_t)l * GPT2_HW_N + search_order[k]) * NH + h;
                    if (try_value(&s, l, &m->params.hw_scale[i], 1, ds, &best, e) ||
                        try_value(&s, l, &m->params.hw_bias[i], 0, db, &best, e))
                        goto done;
                }
            if (o->on_layer)
                o->on_layer(o->ctx, p, l + 1, best, s.evals);
            if (l + 1 < L && advance(&s, l, e))
                goto done;
        }
        ds /= 2;
        db /= 2;
    }
    *evals = s.evals;
    *loss = best;
    rc = 0;
done:
    if (stats)
        gpt2_stats_enable(m, 1, NULL);
    free(s.inputs);
    free(s.logits);
    return rc;
}
