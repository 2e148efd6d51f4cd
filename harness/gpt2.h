/* gpt2: the GPT-2 language model on digital or analog (gain-cell) attention.
 *
 * Pre-LayerNorm transformer with learned positions, tied embeddings and a GELU MLP, as
 * Hugging Face's GPT2LMHeadModel and llm.c. Forward in float32 with OpenBLAS (cblas_sgemm)
 * and OpenMP, in two modes: prefill (parallel over B sequences of T tokens) and streaming
 * decode with a KV cache, one token at a time. Attention is one call per layer: plain causal
 * softmax here, or an analog variant of the attention library with the per-head hardware
 * scalers of PAPER.md §3 (q' = a_q q + b_q, k', v' likewise; head output y = a_o O + b_o).
 *
 * Loads Hugging Face checkpoints (model.safetensors + config.json, Conv1D layout, names
 * with or without "transformer.", F32/F16/BF16) and llm.c's gpt2_*.bin (version 3);
 * saves safetensors. The hardware tensors stored beside GPT-2's are documented in
 * harness/README-checkpoint.md.
 *
 * Not here: training, dropout, attention masks other than causal/windowed, KV caches for
 * batches of sequences in streaming mode. */
#ifndef GCSIM_GPT2_H
#define GCSIM_GPT2_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "attention.h"
#include "common.h"

/* ---------------------------------------------------------------------------------------- */
/* Configuration and parameters */

typedef enum { GPT2_GELU_TANH, GPT2_GELU_ERF } gpt2_gelu;

typedef struct {
    int max_seq_len;       /* n_positions */
    int vocab_size;        /* V, the number of real tokens */
    int padded_vocab_size; /* Vp >= V: rows of wte (llm.c pads to a multiple of 128) */
    int n_layer;           /* L */
    int n_head;            /* NH */
    int n_embd;            /* C; head size C / NH */
    float ln_eps;          /* LayerNorm epsilon (1e-5) */
    gpt2_gelu gelu;        /* tanh ("gelu_new", HF and llm.c) or erf ("gelu", nanoGPT) */
} gpt2_config;

/* The hardware scalers, in the order of the second axis of hw_scale etc. */
enum { GPT2_HW_Q, GPT2_HW_K, GPT2_HW_V, GPT2_HW_O, GPT2_HW_N };

#define GPT2_NUM_PARAMS 20
typedef struct {
    float *wte;            /* (Vp, C) token embeddings, also the LM head */
    float *wpe;            /* (maxT, C) */
    float *ln1w, *ln1b;    /* (L, C) */
    float *qkvw;           /* (L, 3C, C) out-major (llm.c layout; HF Conv1D is transposed) */
    float *qkvb;           /* (L, 3C) */
    float *attprojw;       /* (L, C, C) */
    float *attprojb;       /* (L, C) */
    float *ln2w, *ln2b;    /* (L, C) */
    float *fcw;            /* (L, 4C, C) */
    float *fcb;            /* (L, 4C) */
    float *fcprojw;        /* (L, C, 4C) */
    float *fcprojb;        /* (L, C) */
    float *lnfw, *lnfb;    /* (C) */
    float *hw_scale;       /* (L, 4, NH) a of the q, k, v, output scalers (dimensionless) */
    float *hw_bias;        /* (L, 4, NH) b: q in pulse units [0,1], k, v in volts, output */
    float *target_mean;    /* (L, 4, NH) recorded mean of each scaler output */
    float *target_std;     /* (L, 4, NH) recorded standard deviation */
} gpt2_params;

/* What a model directory says about how to run it: the "gcsim" block of its config.json
 * (tokenizer, attention variant, window, ...). Settings are key/value text pairs for
 * attn_config_set, plus "attention" (the variant) and "tokenizer". */
#define GPT2_MAX_SETTINGS 32
typedef struct {
    char key[32];
    char value[1024];
} gpt2_setting;

typedef struct {
    int n;
    gpt2_setting set[GPT2_MAX_SETTINGS];
} gpt2_settings;

/* Appends key = value. */
int gpt2_settings_add(gpt2_settings *s, const char *key, const char *value, gc_err *e);

/* Replaces the value of key (every occurrence), or appends it. */
int gpt2_settings_put(gpt2_settings *s, const char *key, const char *value, gc_err *e);

typedef struct gpt2_attn_state gpt2_attn_state; /* per-variant runtime (gpt2_attn.c) */

/* Sees every call into the attention library (analog variants and softmax-swa): layer l,
 * the scaled inputs q', k', v' and the library's output O before the output scaler, each
 * (heads, T, D) with heads = B·NH in prefill and NH, T = 1 in a streaming step. For
 * inspection; the tests use it to follow the library's quantiser decisions where a float64
 * reference lies within rounding of a boundary. */
typedef void (*gpt2_attn_probe)(void *ctx, int l, const float *qs, const float *ks,
                                const float *vs, const float *o, int heads, int T, int D);

typedef struct {
    gpt2_config config;
    gpt2_params params;
    size_t param_sizes[GPT2_NUM_PARAMS];
    float *params_memory;  /* one allocation for all parameters */
    size_t num_parameters;
    int has_hw;            /* scalers were in the checkpoint (else the defaults of §3) */
    int has_targets;       /* target statistics were in the checkpoint */

    gpt2_settings described; /* the model's own description (config.json "gcsim" block) */

    /* attention */
    attn_config attn_cfg;  /* the configuration in use (softmax after loading) */
    gpt2_attn_state *attn;
    gpt2_attn_probe probe; /* NULL, or called after each attention library call */
    void *probe_ctx;

    /* activations of the last gpt2_forward, one allocation sized for (act_B, act_T) */
    float *acts_memory;
    size_t acts_floats;
    int act_B, act_T;      /* capacity */
    int act_threads;       /* OpenMP threads the attention workspace was sized for */
    int B, T;              /* of the last forward */
    float *residual;       /* (B, T, C) */
    float *ln;             /* (B, T, C) LayerNorm output, ends as ln_f output */
    float *qkv;            /* (B, T, 3C) */
    float *atty;           /* (B, T, C) attention output, heads concatenated */
    float *fch;            /* (B, T, 4C) */
    float *scratch;        /* attention workspace */

    /* streaming decode: one sequence, KV cache (L, maxT, 2C) for softmax */
    float *kv_cache;
    int pos;               /* tokens consumed since gpt2_stream_reset */
    int stream_fill;       /* set by gpt2_stream_prefill: the forward also fills the stream */
    float *step_memory;    /* per-token activations */
    float *stream_scratch; /* (NH, maxT) attention workspace of a step */

    /* statistics of the scaler outputs recorded by the last forward when stats_on */
    int stats_on;
    double *stats_sum;     /* (L, 4, NH, 2): sum and sum of squares */
    double *stats_count;   /* (L, 4, NH) */
} gpt2_model;

/* ---------------------------------------------------------------------------------------- */
/* Loading and saving */

/* Loads a model from a directory (model.safetensors + config.json), a .safetensors file
 * (config.json beside it) or an llm.c .bin file. Attention starts as softmax. */
int gpt2_load(gpt2_model **out, const char *path, gc_err *e);

/* Allocates a model with the given configuration, zero parameters and default scalers. */
int gpt2_alloc(gpt2_model **out, const gpt2_config *cfg, gc_err *e);

void gpt2_free(gpt2_model *m);

/* Writes the model as Hugging Face safetensors (F32, Conv1D layout, names without prefix,
 * plus the hardware tensors) and config.json. path is a directory (created if needed;
 * files model.safetensors and config.json) or a file ending in .safetensors (config.json
 * beside it). Both files are replaced atomically. */
int gpt2_save(const gpt2_model *m, const char *path, gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* Attention */

/* Runs attention as cfg says (its cell, if any, is loaded from cfg's cell_file or
 * cell_preset and owned by the model; cfg->cell is ignored). layers 0 becomes the model's
 * n_layer, so a cell's default token period is the model's own. Analog variants need head
 * size 64. Discards the activations of the last forward and the streaming state (call
 * gpt2_stream_reset again). m->attn_cfg then holds the configuration in use. */
int gpt2_set_attention(gpt2_model *m, const attn_config *cfg, gc_err *e);

/* Adds c as used (every setting resolved) to o under "attention_config", the units under
 * "attention_config_units": the record every result carries. */
void gpt2_attn_config_json(cJSON *o, const attn_config *c);

/* How to run m: the attention configuration and the tokenizer from the model's description,
 * then the overrides in order (keys as in gpt2_settings; "attention" picks the variant and
 * resets the others to its defaults first; a cell file or preset without "attention" picks
 * "calibrated"). A model that describes nothing runs softmax with the GPT-2 BPE tokenizer.
 * tokenizer gets n bytes. from_model, if not NULL, gets for "attention" and "tokenizer"
 * whether the model's description chose it (1) or an override or the default did (0). */
int gpt2_run_config(const gpt2_model *m, const gpt2_settings *over, attn_config *cfg,
                    char *tokenizer, size_t n, int from_model[2], gc_err *e);

/* The attention library's plan for the current variant (NULL for softmax): for reporting
 * what it compiled (attn_plan_rank, attn_plan_decomp_error, attn_plan_config). */
const struct attn_plan *gpt2_attention_plan(const gpt2_model *m);

/* A chip's model (its attention config has chips > 0): draws the cells of chip chip_seed
 * into every layer and head (attn_plan_chip), keeping the compiled cell. */
int gpt2_attn_set_chip(gpt2_model *m, int chip_seed, gc_err *e);
/* Counting the analog attention's activity (attention.h, "Activity"): a record for every
 * layer and head of m, filled by every forward and streaming step until
 * gpt2_count_activity_stop; the caller frees it (attn_activity_free) after stopping. An
 * error for the digital variants. */
int gpt2_count_activity(gpt2_model *m, struct attn_activity **out, gc_err *e);
void gpt2_count_activity_stop(gpt2_model *m);

/* Resets the scalers to the defaults of PAPER.md §3: a = 1, b_q = 0, b_k = b_v = 0.45,
 * b_o = 0. */
void gpt2_hw_defaults(gpt2_model *m);

/* ---------------------------------------------------------------------------------------- */
/* Forward */

/* Prefill: runs B sequences of T tokens (tokens is (B, T), ids < V, T <= maxT) up to the
 * final LayerNorm; the hidden states stay in m->ln (B, T, C). */
int gpt2_forward(gpt2_model *m, const uint32_t *tokens, int B, int T, gc_err *e);

/* Logits of rows [row, row + n) of the last forward (a row is one (b, t) position):
 * out is (n, V). */
void gpt2_logits(const gpt2_model *m, long row, long n, float *out);

/* Streaming decode of one sequence. Reset before the first token; each step consumes one
 * token at position m->pos and writes the next-token logits (V) to logits. */
int gpt2_stream_reset(gpt2_model *m, gc_err *e);
int gpt2_stream_step(gpt2_model *m, uint32_t token, float *logits, gc_err *e);

/* Resets the stream and runs T tokens as one prefill (gpt2_forward of one sequence: the
 * hidden states are rows 0..T-1 for gpt2_logits) that also leaves the streaming state as T
 * steps would have (KV cache or analog arrays filled, m->pos = T), so that decoding
 * continues from it. */
int gpt2_stream_prefill(gpt2_model *m, const uint32_t *tokens, int T, gc_err *e);

/* n more tokens through the stream, at positions m->pos .. m->pos + n - 1: the dense layers
 * on the n rows at once, attention token by token against the stream (as gpt2_stream_step).
 * The hidden states of the n rows replace those of the last forward: gpt2_logits rows
 * 0..n-1 give the next-token logits after each. */
int gpt2_stream_extend(gpt2_model *m, const uint32_t *tokens, int n, gc_err *e);

/* A snapshot of the streaming state (position and KV cache or analog arrays, the used part
 * only), to continue from one context more than once. save allocates *st when NULL and
 * reuses it otherwise; restore puts m back to the saved state. A state belongs to the model
 * and attention configuration it was saved under: restore refuses one from another variant
 * or attention plan; after gpt2_set_attention, save again. */
typedef struct gpt2_stream_state gpt2_stream_state;
int gpt2_stream_save(const gpt2_model *m, gpt2_stream_state **st, gc_err *e);
int gpt2_stream_restore(gpt2_model *m, const gpt2_stream_state *st, gc_err *e);
void gpt2_stream_state_free(gpt2_stream_state *st);

/* ---------------------------------------------------------------------------------------- */
/* Scaler statistics and adaptation (PAPER.md §4) */

/* Turns recording of the mean and standard deviation of every scaler output on or off;
 * gpt2_forward then accumulates them (reset at each forward). */
int gpt2_stats_enable(gpt2_model *m, int on, gc_err *e);

/* The recorded moments of the last forward: mean and std are (L, 4, NH). */
void gpt2_stats_get(const gpt2_model *m, float *mean, float *std);

typedef struct {
    int max_iter;          /* 100 */
    int relax_iters;       /* relaxation falls from relax_start to relax_end over this (50) */
    double relax_start;    /* 1.0 */
    double relax_end;      /* 0.1 */
    double tol;            /* 1e-4: stop when every |mean - target| and |std - target| is below */
    /* called after each measurement (iteration 0 is the starting point) with the relaxation
     * about to be applied and the largest moment errors; may be NULL */
    void (*on_iter)(void *ctx, int iter, double relax, double err_mean, double err_std);
    void *ctx;
} gpt2_adapt_opts;

void gpt2_adapt_opts_default(gpt2_adapt_opts *o);

/* Moment matching of the scalers on one fixed batch tokens (B, T) towards target_mean and
 * target_std (L, 4, NH): a <- a·σ*÷σ and b <- b + μ* − μ, blended with the old values by the
 * relaxation factor, all scalers at once per iteration. *iters gets the updates made and
 * *loss the largest moment error measured last. Copies the targets into m->params.target_*.
 * Returns 0 whether or not the tolerance was reached (compare *loss with o->tol). */
int gpt2_adapt(gpt2_model *m, const uint32_t *tokens, int B, int T, const float *target_mean,
               const float *target_std, const gpt2_adapt_opts *o, int *iters, double *loss,
               gc_err *e);

/* Coordinate search of the scalers on the loss (gpt2_search.c), an optional second stage
 * after gpt2_adapt, without gradients: layer by layer, stream (k, v, o, q), head, it tries
 * a(1 + ds), a(1 - ds), b + db, b - db in that order, keeping the first that strictly lowers
 * the mean next-token cross-entropy of the W windows of T tokens in tokens (W·T + 1 ids:
 * window w is tokens[wT, wT + T), its targets one position later); ds and db halve after each
 * pass. */
typedef struct {
    int passes;            /* 1 */
    int first_pass;        /* 1; pass P searches with the steps halved P - 1 times, so a search
                              run as passes 1..2 then 3..4 equals one run of 1..4 */
    double scale_step;     /* ds of the first pass: 0.08 (relative) */
    double bias_step;      /* db of the first pass: 0.02 (the scaler's output unit) */
    /* called with the loss at the start (pass 0, layer 0) and after each layer of each pass
     * (layer = layers searched in this pass); may be NULL */
    void (*on_layer)(void *ctx, int pass, int layer, double loss, long evals);
    void *ctx;
} gpt2_search_opts;

void gpt2_search_opts_default(gpt2_search_opts *o);

/* *evals gets the loss evaluations made, *loss the final loss (nats per token). */
int gpt2_search(gpt2_model *m, const uint32_t *tokens, int W, int T,
                const gpt2_search_opts *o, long *evals, double *loss, gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* Perplexity (ppl.c) */

typedef struct {
    int ctx;               /* window length in tokens (<= max_seq_len) */
    int stride;            /* windows start every stride tokens (1..ctx) */
    int progress;          /* show a progress line on stderr (when it is a terminal) */
    int shard, n_shards;   /* score only the shard-th of n_shards contiguous runs of windows
                              (0 and 0: all); the shards' nll and scored add up to the whole */
    double *window_nll;    /* if not NULL: each window's nll, in order (room for the shard's
                              windows, gpt2_ppl_shard_windows); nll is their sum in order */
} gpt2_ppl_opts;

typedef struct {
    double nll;            /* total negative log-likelihood of the scored tokens, nats */
    long scored;           /* tokens scored: n - 1 when stride < ctx; n - windows when
                              stride = ctx (a window's first token has no context in it) */
    long windows;          /* forward passes */
    double seconds;        /* wall time */
} gpt2_ppl_result;

/* Hugging Face's sliding-window protocol over ids (n tokens): windows of ctx tokens start
 * every stride tokens; each window scores only the tokens no earlier window scored, each with
 * the longest context its window gives it. A token is scored only with at least one token of
 * context in its window: with stride < ctx every token but the first is scored once; with
 * stride = ctx (no overlap) the first token of every window is skipped, as in Hugging Face.
 * After SIGINT or SIGTERM (gc_interrupted) it stops before the next window and fails. */
int gpt2_ppl(gpt2_model *m, const uint32_t *ids, long n, const gpt2_ppl_opts *o,
             gpt2_ppl_result *r, gc_err *e);

/* Windows over n tokens, and the shard's windows [*w0, *w1) of them. */
long gpt2_ppl_windows(long n, const gpt2_ppl_opts *o);
void gpt2_ppl_shard_windows(long n, const gpt2_ppl_opts *o, long *w0, long *w1);

#ifdef GCSIM_MPI
/* gpt2_ppl over MPI_COMM_WORLD (after MPI_Init): rank k scores the k-th of N contiguous
 * shards, rank 0 adds the windows' nll in window order, so *r (on rank 0) equals the serial
 * run's bit for bit when every rank runs the same number of threads (ppl_mpi.c). Fails on
 * every rank if one fails. */
int gpt2_ppl_mpi(gpt2_model *m, const uint32_t *ids, long n, const gpt2_ppl_opts *o,
                 gpt2_ppl_result *r, gc_err *e);
#endif

/* Counts whitespace-separated words of text, as Python's str.split() on ASCII whitespace
 * (lm-eval-harness's word count). */
long gpt2_count_words(const char *text, size_t len);

#endif
