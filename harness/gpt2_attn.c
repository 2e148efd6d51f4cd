/* gpt2_attn: one attention call per layer. The causal softmax reference is computed here
 * with cblas_sgemm per head; the analog variants go to the attention library, with the
 * per-head scalers of PAPER.md §3 applied around it. Also records the moments of every
 * scaler output for adaptation. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "gpt2_internal.h"

struct gpt2_attn_state {
    cell_model *cell;      /* cell variants: the loaded cell (m->attn_cfg.cell points here) */
    attn_plan *plan;       /* library variants: one plan, one call per layer at a time */
    attn_stream **streams; /* (L) streaming state of the library variants, or NULL */
    float *step_buf;       /* (4, NH, D) q', k', v', out of one streaming step */
    attn_activity *act;    /* counting into this record (borrowed), or NULL */
};

/* Plain causal softmax runs here, not in the library: the reference path, and faster. */
static int own_softmax(const attn_config *c)
{
    return c->variant->engine == ATTN_ENGINE_SOFTMAX && !c->variant->windowed;
}

/* -------------------------------------------------------------------------------------- */
/* Moments of the scaler outputs */

/* Adds the (rows, hs) block x (row stride ld) to the moments of scaler s of head h, layer l. */
static void stats_add(gpt2_model *m, int l, int s, int h, const float *x, long rows, int ld,
                      int hs)
{
    if (!m->stats_on)
        return;
    size_t i = ((size_t)l * GPT2_HW_N + s) * m->config.n_head + h;
    double sum = 0, sq = 0;
    for (long r = 0; r < rows; r++)
        for (int d = 0; d < hs; d++) {
            double v = x[r * ld + d];
            sum += v;
            sq += v * v;
        }
    m->stats_sum[2 * i] += sum;
    m->stats_sum[2 * i + 1] += sq;
    m->stats_count[i] += (double)rows * hs;
}

/* -------------------------------------------------------------------------------------- */
/* Causal softmax, parallel mode */

/* Row block height of the causal score computation: blocks above the diagonal are skipped. */
enum { SOFTMAX_BLOCK = 128 };

/* s is (n, keys) scores of rows r0..r0+n-1 against keys 0..keys-1 (keys = r0 + n); replaced
 * by the causal softmax (keys after the row get 0). */
static void softmax_rows_forward(float *s, int r0, int n, int keys)
{
    for (int r = 0; r < n; r++) {
        float *row = s + (size_t)r * keys;
        int last = r0 + r;
        float mx = -INFINITY;
        for (int j = 0; j <= last; j++)
            mx = row[j] > mx ? row[j] : mx;
        float sum = 0;
        for (int j = 0; j <= last; j++) {
            row[j] = expf(row[j] - mx);
            sum += row[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j <= last; j++)
            row[j] *= inv;
        for (int j = last + 1; j < keys; j++)
            row[j] = 0;
    }
}

/* out (T, hs) with row stride C = causal softmax(q kᵀ / sqrt(hs)) v for one head; q, k, v
 * are (T, hs) with row stride 3C; s is (SOFTMAX_BLOCK, T) workspace. Row blocks above the
 * diagonal are skipped. */
static void softmax_head_forward(float *out, const float *q, const float *k, const float *v,
                                 float *s, int T, int hs, int C)
{
    float scale = 1.0f / sqrtf((float)hs);
    for (int r0 = 0; r0 < T; r0 += SOFTMAX_BLOCK) {
        int n = T - r0 < SOFTMAX_BLOCK ? T - r0 : SOFTMAX_BLOCK, keys = r0 + n;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, keys, hs, scale,
                    q + (size_t)r0 * 3 * C, 3 * C, k, 3 * C, 0.0f, s, keys);
        softmax_rows_forward(s, r0, n, keys);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hs, keys, 1.0f, s, keys, v,
                    3 * C, 0.0f, out + (size_t)r0 * C, C);
    }
}

/* One head per OpenMP thread (as the attention library does), each with its own block of
 * m->scratch. */
static void softmax_layer_forward(gpt2_model *m, int l, float *out, const float *qkv, int B,
                                  int T)
{
    int C = m->config.n_embd, NH = m->config.n_head, hs = C / NH;
    #pragma omp parallel for schedule(dynamic, 1) num_threads(m->act_threads)
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH;
        const float *q = qkv + (size_t)b * T * 3 * C + h * hs;
        float *s = m->scratch + (size_t)omp_get_thread_num() * SOFTMAX_BLOCK * T;
        softmax_head_forward(out + (size_t)b * T * C + h * hs, q, q + C, q + 2 * C, s, T, hs, C);
    }
    for (int b = 0; m->stats_on && b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * 3 * C + h * hs;
            stats_add(m, l, GPT2_HW_Q, h, q, T, 3 * C, hs);
            stats_add(m, l, GPT2_HW_K, h, q + C, T, 3 * C, hs);
            stats_add(m, l, GPT2_HW_V, h, q + 2 * C, T, 3 * C, hs);
            stats_add(m, l, GPT2_HW_O, h, out + (size_t)b * T * C + h * hs, T, C, hs);
        }
}

/* -------------------------------------------------------------------------------------- */
/* Causal softmax, streaming mode: KV cache (L, maxT, 2C) */

/* Rows 0..T-1 of the cache of layer l get k and v of a prefill's qkv (T, 3C). */
static void softmax_layer_fill(gpt2_model *m, int l, const float *qkv, int T)
{
    size_t C = (size_t)m->config.n_embd;
    float *cache = m->kv_cache + (size_t)l * m->config.max_seq_len * 2 * C;
    for (int t = 0; t < T; t++)
        memcpy(cache + (size_t)t * 2 * C, qkv + (size_t)t * 3 * C + C, 2 * C * sizeof(float));
}

static void softmax_layer_step(gpt2_model *m, int l, float *out, const float *qkv, int pos)
{
    int C = m->config.n_embd, NH = m->config.n_head, hs = C / NH;
    float *cache = m->kv_cache + (size_t)l * m->config.max_seq_len * 2 * C;
    memcpy(cache + (size_t)pos * 2 * C, qkv + C, 2 * (size_t)C * sizeof(float));
    float scale = 1.0f / sqrtf((float)hs);
    #pragma omp parallel for if (pos > 64)
    for (int h = 0; h < NH; h++) {
        const float *q = qkv + h * hs;
        float *o = out + h * hs;
        float mx = -INFINITY, sum = 0;
        float *s = m->stream_scratch + (size_t)h * m->config.max_seq_len;
        for (int j = 0; j <= pos; j++) {
            const float *k = cache + (size_t)j * 2 * C + h * hs;
            float d = 0;
            for (int i = 0; i < hs; i++)
                d += q[i] * k[i];
            s[j] = d * scale;
            mx = s[j] > mx ? s[j] : mx;
        }
        for (int j = 0; j <= pos; j++) {
            s[j] = expf(s[j] - mx);
            sum += s[j];
        }
        for (int i = 0; i < hs; i++)
            o[i] = 0;
        for (int j = 0; j <= pos; j++) {
            const float *v = cache + (size_t)j * 2 * C + C + h * hs;
            float w = s[j] / sum;
            for (int i = 0; i < hs; i++)
                o[i] += w * v[i];
        }
    }
}

/* -------------------------------------------------------------------------------------- */
/* Library variants: per-head scalers around attn_forward_parallel / attn_stream_step */

/* Scalers of layer l: a and b are (4, NH) for q, k, v, output. The paper's scalers apply to
 * the analog variants; softmax variants are digital and see q, k, v unscaled. */
static int uses_scalers(const gpt2_model *m)
{
    return attn_variant_is_analog(m->attn_cfg.variant);
}

/* qs, ks, vs are (B·NH, T, D) = a·x + b per head from qkv (B,T,3C). */
static void scale_in_forward(const gpt2_model *m, int l, float *qs, float *ks, float *vs,
                             const float *qkv, int B, int T)
{
    int C = m->config.n_embd, NH = m->config.n_head, D = C / NH;
    const float *a = m->params.hw_scale + (size_t)l * GPT2_HW_N * NH;
    const float *bb = m->params.hw_bias + (size_t)l * GPT2_HW_N * NH;
    int on = uses_scalers(m);
    float *dst[3] = {qs, ks, vs};
    #pragma omp parallel for collapse(2) if (B * T > 16)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int s = 0; s < 3; s++) {
                float sa = on ? a[s * NH + h] : 1.0f, sb = on ? bb[s * NH + h] : 0.0f;
                for (int t = 0; t < T; t++) {
                    const float *x = qkv + ((size_t)b * T + t) * 3 * C + s * C + h * D;
                    float *y = dst[s] + (((size_t)b * NH + h) * T + t) * D;
                    for (int d = 0; d < D; d++)
                        y[d] = sa * x[d] + sb;
                }
            }
}

/* out (B,T,C) = a_o·o + b_o per head, from o (B·NH, T, D). */
static void scale_out_forward(const gpt2_model *m, int l, float *out, const float *o, int B,
                              int T)
{
    int C = m->config.n_embd, NH = m->config.n_head, D = C / NH;
    const float *a = m->params.hw_scale + ((size_t)l * GPT2_HW_N + GPT2_HW_O) * NH;
    const float *bb = m->params.hw_bias + ((size_t)l * GPT2_HW_N + GPT2_HW_O) * NH;
    int on = uses_scalers(m);
    #pragma omp parallel for collapse(2) if (B * T > 16)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            float sa = on ? a[h] : 1.0f, sb = on ? bb[h] : 0.0f;
            for (int t = 0; t < T; t++) {
                const float *x = o + (((size_t)b * NH + h) * T + t) * D;
                float *y = out + ((size_t)b * T + t) * C + h * D;
                for (int d = 0; d < D; d++)
                    y[d] = sa * x[d] + sb;
            }
        }
}

static int library_layer_forward(gpt2_model *m, int l, float *out, const float *qkv, int B,
                                 int T, gc_err *e)
{
    int C = m->config.n_embd, NH = m->config.n_head, D = C / NH;
    size_t n = (size_t)B * T * C;
    float *qs = m->scratch, *ks = qs + n, *vs = ks + n, *o = vs + n;
    scale_in_forward(m, l, qs, ks, vs, qkv, B, T);
    if (m->attn->act && attn_plan_set_activity(m->attn->plan, m->attn->act, l, e))
        return -1;
    if (attn_forward_layer(m->attn->plan, l, qs, ks, vs, B * NH, T, D, o, NULL, NULL, e))
        return -1;
    if (m->stream_fill && attn_stream_append(m->attn->streams[l], ks, vs, T, e))
        return -1;
    if (m->probe)
        m->probe(m->probe_ctx, l, qs, ks, vs, o, B * NH, T, D);
    scale_out_forward(m, l, out, o, B, T);
    if (m->stats_on)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++) {
                size_t at = ((size_t)b * NH + h) * T * D;
                stats_add(m, l, GPT2_HW_Q, h, qs + at, T, D, D);
                stats_add(m, l, GPT2_HW_K, h, ks + at, T, D, D);
                stats_add(m, l, GPT2_HW_V, h, vs + at, T, D, D);
                stats_add(m, l, GPT2_HW_O, h, out + (size_t)b * T * C + h * D, T, C, D);
            }
    return 0;
}

static int library_layer_step(gpt2_model *m, int l, float *out, const float *qkv, gc_err *e)
{
    int C = m->config.n_embd;
    float *qs = m->attn->step_buf, *ks = qs + C, *vs = ks + C, *o = vs + C;
    scale_in_forward(m, l, qs, ks, vs, qkv, 1, 1);
    if (m->attn->act && attn_plan_set_activity(m->attn->plan, m->attn->act, l, e))
        return -1;
    if (attn_stream_step(m->attn->streams[l], qs, ks, vs, o, NULL, NULL, e))
        return -1;
    if (m->probe)
        m->probe(m->probe_ctx, l, qs, ks, vs, o, m->config.n_head, 1, C / m->config.n_head);
    scale_out_forward(m, l, out, o, 1, 1);
    return 0;
}

/* -------------------------------------------------------------------------------------- */
/* Dispatch */

/* The library's plan for cfg (its cell loaded into s); m->attn_cfg gets the result. */
static int library_alloc(gpt2_model *m, gpt2_attn_state *s, const attn_config *cfg, gc_err *e)
{
    int C = m->config.n_embd, NH = m->config.n_head;
    attn_config c = *cfg;
    if (attn_variant_is_analog(c.variant) && C / NH != 64)
        return gc_fail(e, "attention '%s' needs head size 64 (the model has %d)",
                       c.variant->name, C / NH);
    if (!c.layers)
        c.layers = m->config.n_layer;
    if (attn_config_load_cell(&c, &s->cell, e))
        return -1;
    c.cell = s->cell;
    if (attn_plan_alloc(&c, C / NH, m->config.max_seq_len, &s->plan, e))
        return -1;
    if (c.chips > 0 && attn_plan_chip(s->plan, c.chip_seed, NH, e)) /* every cell */
        return -1;
    m->attn_cfg = *attn_plan_config(s->plan);
    s->step_buf = malloc(4 * (size_t)C * sizeof *s->step_buf);
    if (!s->step_buf)
        return gc_fail(e, "attention: out of memory");
    return 0;
}

int gpt2_attn_set_chip(gpt2_model *m, int chip_seed, gc_err *e)
{
    if (!m->attn || !m->attn->plan || !(m->attn_cfg.chips > 0))
        return gc_fail(e, "attention: the model's attention runs no chip (chips = 0)");
    if (attn_plan_chip(m->attn->plan, chip_seed, m->config.n_head, e))
        return -1;
    m->attn_cfg.chip_seed = chip_seed;
    return 0;
}

int gpt2_count_activity(gpt2_model *m, attn_activity **out, gc_err *e)
{
    *out = NULL;
    if (!m->attn || !m->attn->plan || !attn_variant_is_analog(m->attn_cfg.variant))
        return gc_fail(e, "cost: attention '%s' is digital; energy is counted for the analog "
                          "variants", m->attn_cfg.variant->name);
    if (attn_activity_alloc(&m->attn_cfg, m->config.n_layer, m->config.n_head, out, e))
        return -1;
    m->attn->act = *out;
    return 0;
}

void gpt2_count_activity_stop(gpt2_model *m)
{
    if (m->attn) {
        m->attn->act = NULL;
        if (m->attn->plan)
            attn_plan_set_activity(m->attn->plan, NULL, 0, NULL);
    }
}

const attn_plan *gpt2_attention_plan(const gpt2_model *m)
{
    return m->attn ? m->attn->plan : NULL;
}

int gpt2_attn_alloc(gpt2_model *m, const attn_config *cfg, gc_err *e)
{
    gpt2_attn_state *s = calloc(1, sizeof *s);
    if (!s)
        return gc_fail(e, "attention: out of memory");
    if (own_softmax(cfg)) {
        m->attn_cfg = *cfg;
        m->attn_cfg.cell = NULL;
    } else if (library_alloc(m, s, cfg, e)) {
        gpt2_attn_free(s);
        return -1;
    }
    m->attn = s;
    return 0;
}

void gpt2_attn_free(gpt2_attn_state *s)
{
    if (!s)
        return;
    if (s->streams) {
        for (int l = 0; s->streams[l]; l++)
            attn_stream_free(s->streams[l]);
        free(s->streams);
    }
    attn_plan_free(s->plan);
    cell_model_free(s->cell);
    free(s->step_buf);
    free(s);
}

size_t gpt2_attn_scratch_floats(const gpt2_model *m, int B, int T)
{
    if (own_softmax(&m->attn_cfg))
        return (size_t)omp_get_max_threads() * SOFTMAX_BLOCK * T; /* see acts_reserve */
    return 4 * (size_t)B * T * m->config.n_embd;
}

int gpt2_attn_forward(gpt2_model *m, int l, float *out, const float *qkv, int B, int T,
                      gc_err *e)
{
    if (m->stream_fill && B != 1)
        return gc_fail(e, "streaming: a prefill fills the stream of one sequence, not %d", B);
    if (own_softmax(&m->attn_cfg)) {
        softmax_layer_forward(m, l, out, qkv, B, T);
        if (m->stream_fill)
            softmax_layer_fill(m, l, qkv, T);
        return 0;
    }
    return library_layer_forward(m, l, out, qkv, B, T, e);
}

int gpt2_attn_stream_reset(gpt2_model *m, gc_err *e)
{
    const gpt2_config *c = &m->config;
    gpt2_attn_state *s = m->attn;
    if (!own_softmax(&m->attn_cfg)) {
        if (!s->streams) {
            s->streams = calloc((size_t)c->n_layer + 1, sizeof *s->streams);
            if (!s->streams)
                return gc_fail(e, "streaming: out of memory");
            for (int l = 0; l < c->n_layer; l++) {
                if (attn_stream_alloc(s->plan, c->n_head, &s->streams[l], e))
                    return -1;
                attn_stream_set_layer(s->streams[l], l);
            }
        }
        for (int l = 0; l < c->n_layer; l++)
            attn_stream_reset(s->streams[l]);
        return 0;
    }
    size_t kv = (size_t)c->n_layer * c->max_seq_len * 2 * c->n_embd;
    if (!m->kv_cache && !(m->kv_cache = malloc(kv * sizeof(float))))
        return gc_fail(e, "streaming: out of memory for the KV cache");
    if (!m->stream_scratch &&
        !(m->stream_scratch = malloc((size_t)c->n_head * c->max_seq_len * sizeof(float))))
        return gc_fail(e, "streaming: out of memory");
    return 0;
}

int gpt2_attn_step(gpt2_model *m, int l, float *out, const float *qkv, int pos, gc_err *e)
{
    if (own_softmax(&m->attn_cfg)) {
        softmax_layer_step(m, l, out, qkv, pos);
        return 0;
    }
    return library_layer_step(m, l, out, qkv, e);
}

/* -------------------------------------------------------------------------------------- */
/* Snapshots of the streaming state */

struct gpt2_stream_state {
    int pos;
    const attn_plan *plan; /* library variants: the plan the streams belong to; NULL: softmax */
    attn_stream **streams; /* (L) library variants */
    float *kv;             /* softmax: (L, pos, 2C), the used rows of the KV cache */
    size_t kv_cap;         /* floats allocated in kv */
    int n_layer;
};

void gpt2_stream_state_free(gpt2_stream_state *st)
{
    if (!st)
        return;
    for (int l = 0; st->streams && l < st->n_layer; l++)
        attn_stream_free(st->streams[l]);
    free(st->streams);
    free(st->kv);
    free(st);
}

/* Softmax: copies the rows 0..pos-1 of every layer's KV cache between the model's cache
 * (L, maxT, 2C) and the packed snapshot (L, pos, 2C). */
static void kv_rows_copy(const gpt2_model *m, float *packed, int pos, int to_packed)
{
    size_t C = (size_t)m->config.n_embd, n = (size_t)pos * 2 * C;
    for (int l = 0; l < m->config.n_layer; l++) {
        float *cache = m->kv_cache + (size_t)l * m->config.max_seq_len * 2 * C;
        if (to_packed)
            memcpy(packed + l * n, cache, n * sizeof(float));
        else
            memcpy(cache, packed + l * n, n * sizeof(float));
    }
}

/* The snapshot's streams for the model's plan (allocated once per plan). */
static int state_streams(gpt2_stream_state *st, const gpt2_model *m, gc_err *e)
{
    const attn_plan *plan = m->attn->plan;
    if (st->streams && st->plan == plan)
        return 0;
    for (int l = 0; st->streams && l < st->n_layer; l++)
        attn_stream_free(st->streams[l]);
    free(st->streams);
    st->plan = NULL;
    st->n_layer = m->config.n_layer;
    if (!(st->streams = calloc((size_t)st->n_layer, sizeof *st->streams)))
        return gc_fail(e, "streaming: out of memory for a snapshot");
    for (int l = 0; l < st->n_layer; l++) {
        if (attn_stream_alloc(plan, m->config.n_head, &st->streams[l], e))
            return -1;
        attn_stream_set_layer(st->streams[l], l);
    }
    st->plan = plan;
    return 0;
}

int gpt2_stream_save(const gpt2_model *m, gpt2_stream_state **out, gc_err *e)
{
    if (!m->step_memory)
        return gc_fail(e, "streaming: gpt2_stream_reset was not called");
    gpt2_stream_state *st = *out;
    if (!st && !(st = *out = calloc(1, sizeof *st)))
        return gc_fail(e, "streaming: out of memory for a snapshot");
    st->pos = m->pos;
    if (!own_softmax(&m->attn_cfg)) {
        if (state_streams(st, m, e))
            return -1;
        for (int l = 0; l < m->config.n_layer; l++)
            if (attn_stream_copy(st->streams[l], m->attn->streams[l], e))
                return -1;
        return 0;
    }
    st->plan = NULL;
    size_t need = (size_t)m->config.n_layer * m->pos * 2 * m->config.n_embd;
    if (need > st->kv_cap) {
        float *kv = realloc(st->kv, need * sizeof *kv);
        if (!kv)
            return gc_fail(e, "streaming: out of memory for a snapshot of %d tokens", m->pos);
        st->kv = kv;
        st->kv_cap = need;
    }
    kv_rows_copy(m, st->kv, m->pos, 1);
    return 0;
}

int gpt2_stream_restore(gpt2_model *m, const gpt2_stream_state *st, gc_err *e)
{
    if (!m->step_memory)
        return gc_fail(e, "streaming: gpt2_stream_reset was not called");
    int own = own_softmax(&m->attn_cfg);
    if (own ? st->plan != NULL || (st->pos && !st->kv) : st->plan != m->attn->plan)
        return gc_fail(e, "streaming: the snapshot was saved under another attention "
                          "configuration");
    if (own) {
        kv_rows_copy(m, st->kv, st->pos, 0);
    } else {
        for (int l = 0; l < m->config.n_layer; l++)
            if (attn_stream_copy(m->attn->streams[l], st->streams[l], e))
                return -1;
    }
    m->pos = st->pos;
    return 0;
}
