/* gpt2: model allocation, the float32 forward kernels, prefill and streaming decode.
 * Follows llm.c's train_gpt2.c: one allocation for parameters, one for activations, kernels
 * <thing>_forward(out, in, dims) over flat arrays. Inference only: no gradients, and the
 * activations of a layer are overwritten by the next. Attention lives in gpt2_attn.c.
 * Threads: OpenMP only. Matrix products are split by output columns over the OpenMP threads,
 * each calling a one-threaded cblas_sgemm; attention runs one head per thread. Two thread
 * pools (OpenMP's and OpenBLAS's) spinning against each other, or BLAS threads nested inside
 * OpenMP threads, cost up to 8x on the benchmark (bench/gpt2_vs_torch.py), so gpt2_alloc sets
 * OpenBLAS to one thread for the whole process. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "gpt2_internal.h"

/* -------------------------------------------------------------------------------------- */
/* Kernels */

/* out is (B,T,C): token embedding plus position embedding. inp is (B,T) token ids. */
static void encoder_forward(float *out, const uint32_t *inp, const float *wte, const float *wpe,
                            int B, int T, int C, int pos0)
{
    #pragma omp parallel for collapse(2) if (B * T > 16)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *o = out + ((size_t)b * T + t) * C;
            const float *te = wte + (size_t)inp[b * T + t] * C;
            const float *pe = wpe + (size_t)(pos0 + t) * C;
            for (int i = 0; i < C; i++)
                o[i] = te[i] + pe[i];
        }
}

/* out and inp are (N,C); w and b are (C). */
static void layernorm_forward(float *out, const float *inp, const float *w, const float *b,
                              long N, int C, float eps)
{
    #pragma omp parallel for if (N > 16)
    for (long n = 0; n < N; n++) {
        const float *x = inp + n * C;
        float *o = out + n * C;
        double m = 0, v = 0;
        for (int i = 0; i < C; i++)
            m += x[i];
        m /= C;
        for (int i = 0; i < C; i++)
            v += (x[i] - m) * (x[i] - m);
        v /= C;
        float rstd = (float)(1.0 / sqrt(v + eps)), mf = (float)m;
        for (int i = 0; i < C; i++)
            o[i] = (x[i] - mf) * rstd * w[i] + b[i];
    }
}

void gpt2_matmul_nt(float *out, const float *inp, const float *weight, const float *bias,
                    long N, int C, int OC)
{
    #pragma omp parallel
    {
        int nt = omp_get_num_threads(), t = omp_get_thread_num();
        int per = (OC + nt - 1) / nt;
        per = (per + 15) / 16 * 16; /* whole cache lines of out */
        int o0 = t * per < OC ? t * per : OC, o1 = o0 + per < OC ? o0 + per : OC;
        if (o1 > o0) {
            for (long n = 0; n < N; n++) {
                float *row = out + n * OC + o0;
                if (bias)
                    memcpy(row, bias + o0, (size_t)(o1 - o0) * sizeof *out);
                else
                    memset(row, 0, (size_t)(o1 - o0) * sizeof *out);
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, o1 - o0, C, 1.0f, inp, C,
                        weight + (size_t)o0 * C, C, 1.0f, out + o0, OC);
        }
    }
}

/* x is (N) and is replaced by GELU(x). */
static void gelu_forward(float *x, long N, gpt2_gelu kind)
{
    const float s = 0.7978845608028654f; /* sqrt(2/pi) */
    if (kind == GPT2_GELU_TANH) {
        #pragma omp parallel for if (N > 4096)
        for (long i = 0; i < N; i++) {
            float v = x[i];
            x[i] = 0.5f * v * (1.0f + tanhf(s * (v + 0.044715f * v * v * v)));
        }
    } else {
        #pragma omp parallel for if (N > 4096)
        for (long i = 0; i < N; i++)
            x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.7071067811865476f));
    }
}

/* acc += x, both (N). */
static void residual_forward(float *acc, const float *x, long N)
{
    #pragma omp parallel for if (N > 4096)
    for (long i = 0; i < N; i++)
        acc[i] += x[i];
}

/* -------------------------------------------------------------------------------------- */
/* Allocation */

static void param_sizes(const gpt2_config *c, size_t s[GPT2_NUM_PARAMS])
{
    size_t Vp = (size_t)c->padded_vocab_size, C = (size_t)c->n_embd, L = (size_t)c->n_layer;
    size_t maxT = (size_t)c->max_seq_len, NH = (size_t)c->n_head;
    s[0] = Vp * C;          /* wte */
    s[1] = maxT * C;        /* wpe */
    s[2] = L * C;           /* ln1w */
    s[3] = L * C;           /* ln1b */
    s[4] = L * 3 * C * C;   /* qkvw */
    s[5] = L * 3 * C;       /* qkvb */
    s[6] = L * C * C;       /* attprojw */
    s[7] = L * C;           /* attprojb */
    s[8] = L * C;           /* ln2w */
    s[9] = L * C;           /* ln2b */
    s[10] = L * 4 * C * C;  /* fcw */
    s[11] = L * 4 * C;      /* fcb */
    s[12] = L * C * 4 * C;  /* fcprojw */
    s[13] = L * C;          /* fcprojb */
    s[14] = C;              /* lnfw */
    s[15] = C;              /* lnfb */
    for (int i = 16; i < 20; i++)
        s[i] = L * GPT2_HW_N * NH; /* hw_scale, hw_bias, target_mean, target_std */
}

void gpt2_hw_defaults(gpt2_model *m)
{
    const gpt2_config *c = &m->config;
    for (int l = 0; l < c->n_layer; l++)
        for (int s = 0; s < GPT2_HW_N; s++)
            for (int h = 0; h < c->n_head; h++) {
                size_t i = ((size_t)l * GPT2_HW_N + s) * c->n_head + h;
                m->params.hw_scale[i] = 1.0f;
                m->params.hw_bias[i] =
                    (s == GPT2_HW_K || s == GPT2_HW_V) ? (float)CELL_PAPER_V_MID_V : 0.0f;
            }
}

static int check_config(const gpt2_config *c, gc_err *e)
{
    if (c->n_layer < 1 || c->n_head < 1 || c->n_embd < 1 || c->max_seq_len < 1 ||
        c->vocab_size < 1 || c->padded_vocab_size < c->vocab_size)
        return gc_fail(e, "model config: sizes must be positive (n_layer %d, n_head %d, n_embd "
                          "%d, n_positions %d, vocab %d, padded vocab %d)",
                       c->n_layer, c->n_head, c->n_embd, c->max_seq_len, c->vocab_size,
                       c->padded_vocab_size);
    if (c->n_embd % c->n_head)
        return gc_fail(e, "model config: n_embd %d is not a multiple of n_head %d", c->n_embd,
                       c->n_head);
    if ((double)c->n_layer * c->n_embd * c->n_embd > 1e11 || c->max_seq_len > (1 << 20) ||
        c->padded_vocab_size > (1 << 24))
        return gc_fail(e, "model config: sizes are implausibly large");
    return 0;
}

int gpt2_alloc(gpt2_model **out, const gpt2_config *cfg, gc_err *e)
{
    *out = NULL;
    if (check_config(cfg, e))
        return -1;
    gpt2_model *m = calloc(1, sizeof *m);
    if (!m)
        return gc_fail(e, "model: out of memory");
    m->config = *cfg;
    param_sizes(cfg, m->param_sizes);
    for (int i = 0; i < GPT2_NUM_PARAMS; i++)
        m->num_parameters += m->param_sizes[i];
    openblas_set_num_threads(1); /* all parallelism is OpenMP's (see the top of this file) */
    m->params_memory = calloc(m->num_parameters, sizeof(float));
    if (!m->params_memory) {
        size_t n = m->num_parameters;
        free(m);
        return gc_fail(e, "model: out of memory for %zu parameters", n);
    }
    float **ptrs[GPT2_NUM_PARAMS] = {
        &m->params.wte, &m->params.wpe, &m->params.ln1w, &m->params.ln1b, &m->params.qkvw,
        &m->params.qkvb, &m->params.attprojw, &m->params.attprojb, &m->params.ln2w,
        &m->params.ln2b, &m->params.fcw, &m->params.fcb, &m->params.fcprojw,
        &m->params.fcprojb, &m->params.lnfw, &m->params.lnfb, &m->params.hw_scale,
        &m->params.hw_bias, &m->params.target_mean, &m->params.target_std};
    float *p = m->params_memory;
    for (int i = 0; i < GPT2_NUM_PARAMS; i++) {
        *ptrs[i] = p;
        p += m->param_sizes[i];
    }
    gpt2_hw_defaults(m);
    attn_config softmax;
    attn_config_default(&softmax, &attn_softmax);
    if (gpt2_attn_alloc(m, &softmax, e)) {
        gpt2_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

void gpt2_free(gpt2_model *m)
{
    if (!m)
        return;
    gpt2_attn_free(m->attn);
    free(m->params_memory);
    free(m->acts_memory);
    free(m->kv_cache);
    free(m->step_memory);
    free(m->stream_scratch);
    free(m->stats_sum);
    free(m->stats_count);
    free(m);
}

int gpt2_set_attention(gpt2_model *m, const attn_config *cfg, gc_err *e)
{
    gpt2_attn_state *old = m->attn;
    attn_config old_cfg = m->attn_cfg;
    m->attn = NULL;
    if (gpt2_attn_alloc(m, cfg, e)) {
        m->attn = old;
        m->attn_cfg = old_cfg;
        return -1;
    }
    gpt2_attn_free(old);
    /* streaming state belongs to the old variant: a new gpt2_stream_reset is needed */
    free(m->step_memory);
    m->step_memory = NULL;
    /* workspaces depend on the variant: size them again at the next forward */
    free(m->acts_memory);
    m->acts_memory = NULL;
    m->act_B = m->act_T = 0;
    return 0;
}

/* Sizes the activations for (B,T); reallocates only when they grow. */
static int acts_reserve(gpt2_model *m, int B, int T, gc_err *e)
{
    if (m->acts_memory && B <= m->act_B && T <= m->act_T &&
        omp_get_max_threads() <= m->act_threads)
        return 0;
    if (B < m->act_B)
        B = m->act_B;
    if (T < m->act_T)
        T = m->act_T;
    size_t C = (size_t)m->config.n_embd, BT = (size_t)B * T;
    size_t n = BT * C * 3 + BT * 3 * C + BT * 4 * C + gpt2_attn_scratch_floats(m, B, T);
    float *mem = malloc(n * sizeof *mem);
    if (!mem)
        return gc_fail(e, "model: out of memory for activations of %d x %d tokens", B, T);
    free(m->acts_memory);
    m->acts_memory = mem;
    m->acts_floats = n;
    m->act_B = B;
    m->act_T = T;
    m->act_threads = omp_get_max_threads();
    m->residual = mem;
    m->ln = m->residual + BT * C;
    m->atty = m->ln + BT * C;
    m->qkv = m->atty + BT * C;
    m->fch = m->qkv + BT * 3 * C;
    m->scratch = m->fch + BT * 4 * C;
    return 0;
}

/* -------------------------------------------------------------------------------------- */
/* Forward */

/* One transformer block on N = B·T rows. step set: B = 1, the T rows are tokens at positions
 * pos.. of the stream and attention runs one token at a time against it. */
static int block_forward(gpt2_model *m, int l, float *residual, float *ln, float *qkv,
                         float *atty, float *fch, int B, int T, int step, int pos, gc_err *e)
{
    const gpt2_config *c = &m->config;
    const gpt2_params *p = &m->params;
    int C = c->n_embd;
    long N = (long)B * T;
    size_t lc = (size_t)l * C;
    layernorm_forward(ln, residual, p->ln1w + lc, p->ln1b + lc, N, C, c->ln_eps);
    gpt2_matmul_nt(qkv, ln, p->qkvw + lc * 3 * C, p->qkvb + lc * 3, N, C, 3 * C);
    int rc = 0;
    if (!step)
        rc = gpt2_attn_forward(m, l, atty, qkv, B, T, e);
    for (int t = 0; step && t < T && !rc; t++) /* B = 1: token by token against the stream */
        rc = gpt2_attn_step(m, l, atty + (size_t)t * C, qkv + (size_t)t * 3 * C, pos + t, e);
    if (rc)
        return gc_wrap(e, "layer %d attention", l);
    gpt2_matmul_nt(ln, atty, p->attprojw + lc * C, p->attprojb + lc, N, C, C);
    residual_forward(residual, ln, N * C);
    layernorm_forward(ln, residual, p->ln2w + lc, p->ln2b + lc, N, C, c->ln_eps);
    gpt2_matmul_nt(fch, ln, p->fcw + lc * 4 * C, p->fcb + lc * 4, N, C, 4 * C);
    gelu_forward(fch, N * 4 * C, c->gelu);
    gpt2_matmul_nt(ln, fch, p->fcprojw + lc * 4 * C, p->fcprojb + lc, N, 4 * C, C);
    residual_forward(residual, ln, N * C);
    return 0;
}

static int check_tokens(const gpt2_model *m, const uint32_t *tokens, long n, gc_err *e)
{
    for (long i = 0; i < n; i++)
        if (tokens[i] >= (uint32_t)m->config.vocab_size)
            return gc_fail(e, "token id %u at position %ld is outside the vocabulary (%d)",
                           tokens[i], i, m->config.vocab_size);
    return 0;
}

int gpt2_forward_begin(gpt2_model *m, const uint32_t *tokens, int B, int T, gc_err *e)
{
    const gpt2_config *c = &m->config;
    if (B < 1 || T < 1 || T > c->max_seq_len)
        return gc_fail(e, "forward: %d x %d tokens (the model takes 1..%d per sequence)", B, T,
                       c->max_seq_len);
    if (check_tokens(m, tokens, (long)B * T, e) || acts_reserve(m, B, T, e))
        return -1;
    m->B = B;
    m->T = T;
    if (m->stats_on) {
        size_t n = (size_t)c->n_layer * GPT2_HW_N * c->n_head;
        memset(m->stats_sum, 0, 2 * n * sizeof *m->stats_sum);
        memset(m->stats_count, 0, n * sizeof *m->stats_count);
    }
    encoder_forward(m->residual, tokens, m->params.wte, m->params.wpe, B, T, c->n_embd, 0);
    return 0;
}

int gpt2_forward_layers(gpt2_model *m, int l0, int l1, gc_err *e)
{
    const gpt2_config *c = &m->config;
    for (int l = l0; l < l1; l++)
        if (block_forward(m, l, m->residual, m->ln, m->qkv, m->atty, m->fch, m->B, m->T, 0, 0,
                          e))
            return -1;
    if (l1 == c->n_layer)
        layernorm_forward(m->ln, m->residual, m->params.lnfw, m->params.lnfb,
                          (long)m->B * m->T, c->n_embd, c->ln_eps);
    return 0;
}

int gpt2_forward(gpt2_model *m, const uint32_t *tokens, int B, int T, gc_err *e)
{
    if (gpt2_forward_begin(m, tokens, B, T, e))
        return -1;
    return gpt2_forward_layers(m, 0, m->config.n_layer, e);
}

void gpt2_logits(const gpt2_model *m, long row, long n, float *out)
{
    int C = m->config.n_embd, V = m->config.vocab_size;
    gpt2_matmul_nt(out, m->ln + row * C, m->params.wte, NULL, n, C, V);
}

/* -------------------------------------------------------------------------------------- */
/* Streaming decode */

int gpt2_stream_reset(gpt2_model *m, gc_err *e)
{
    size_t C = (size_t)m->config.n_embd;
    if (!m->step_memory) {
        m->step_memory = malloc(10 * C * sizeof(float));
        if (!m->step_memory)
            return gc_fail(e, "model: out of memory");
    }
    m->pos = 0;
    return gpt2_attn_stream_reset(m, e);
}

int gpt2_stream_step(gpt2_model *m, uint32_t token, float *logits, gc_err *e)
{
    const gpt2_config *c = &m->config;
    size_t C = (size_t)c->n_embd;
    if (!m->step_memory)
        return gc_fail(e, "streaming: gpt2_stream_reset was not called");
    if (m->pos >= c->max_seq_len)
        return gc_fail(e, "streaming: the context of %d tokens is full", c->max_seq_len);
    if (check_tokens(m, &token, 1, e))
        return -1;
    float *residual = m->step_memory, *ln = residual + C, *atty = ln + C, *qkv = atty + C;
    float *fch = qkv + 3 * C;
    encoder_forward(residual, &token, m->params.wte, m->params.wpe, 1, 1, (int)C, m->pos);
    for (int l = 0; l < c->n_layer; l++)
        if (block_forward(m, l, residual, ln, qkv, atty, fch, 1, 1, 1, m->pos, e))
            return -1;
    layernorm_forward(ln, residual, m->params.lnfw, m->params.lnfb, 1, (int)C, c->ln_eps);
    gpt2_matmul_nt(logits, ln, m->params.wte, NULL, 1, (int)C, c->vocab_size);
    m->pos++;
    return 0;
}

int gpt2_stream_prefill(gpt2_model *m, const uint32_t *tokens, int T, gc_err *e)
{
    if (gpt2_stream_reset(m, e))
        return -1;
    m->stream_fill = 1;
    int rc = gpt2_forward(m, tokens, 1, T, e);
    m->stream_fill = 0;
    if (rc) { /* a partly filled stream: start again */
        gpt2_attn_stream_reset(m, NULL);
        return -1;
    }
    m->pos = T;
    return 0;
}

int gpt2_stream_extend(gpt2_model *m, const uint32_t *tokens, int n, gc_err *e)
{
    const gpt2_config *c = &m->config;
    if (!m->step_memory)
        return gc_fail(e, "streaming: gpt2_stream_reset was not called");
    if (n < 1 || n > c->max_seq_len - m->pos)
        return gc_fail(e, "streaming: %d more tokens after %d do not fit the context of %d", n,
                       m->pos, c->max_seq_len);
    if (check_tokens(m, tokens, n, e) || acts_reserve(m, 1, n, e))
        return -1;
    m->B = 1;
    m->T = n;
    encoder_forward(m->residual, tokens, m->params.wte, m->params.wpe, 1, n, c->n_embd, m->pos);
    for (int l = 0; l < c->n_layer; l++)
        if (block_forward(m, l, m->residual, m->ln, m->qkv, m->atty, m->fch, 1, n, 1, m->pos,
                          e))
            return -1;
    layernorm_forward(m->ln, m->residual, m->params.lnfw, m->params.lnfb, n, c->n_embd,
                      c->ln_eps);
    m->pos += n;
    return 0;
}

/* -------------------------------------------------------------------------------------- */
/* Statistics of the scaler outputs */

int gpt2_stats_enable(gpt2_model *m, int on, gc_err *e)
{
    size_t n = (size_t)m->config.n_layer * GPT2_HW_N * m->config.n_head;
    if (on && !m->stats_sum) {
        m->stats_sum = calloc(2 * n, sizeof *m->stats_sum);
        m->stats_count = calloc(n, sizeof *m->stats_count);
        if (!m->stats_sum || !m->stats_count)
            return gc_fail(e, "model: out of memory");
    }
    m->stats_on = on;
    return 0;
}

void gpt2_stats_get(const gpt2_model *m, float *mean, float *std)
{
    size_t n = (size_t)m->config.n_layer * GPT2_HW_N * m->config.n_head;
    for (size_t i = 0; i < n; i++) {
        double cnt = m->stats_count[i] > 0 ? m->stats_count[i] : 1;
        double mu = m->stats_sum[2 * i] / cnt;
        double var = m->stats_sum[2 * i + 1] / cnt - mu * mu;
        mean[i] = (float)mu;
        std[i] = (float)sqrt(var > 0 ? var : 0);
    }
}
