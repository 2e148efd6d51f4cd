/* gcsim ppl: perplexity of a GPT-2 (digital or analog attention) on a text file, with Hugging
 * Face's sliding-window protocol; token perplexity, bits per byte and word perplexity as
 * lm-eval-harness defines them. */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "cli.h"
#include "commands.h"
#include "gpt2.h"
#include "gpt2_cli.h"
#include "tokenizer.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gcsim ppl --model PATH --text FILE [--tokenizer gpt2|bytes] [--bpe-dir DIR]\n"
            "                 [--attention VARIANT] [--cell cell.h5] [--ctx N] [--stride N]\n"
            "                 [--max-tokens N] [--shard K/N] [--decomp-tol X] [--json out.json]\n\n"
            "FILE is read as raw bytes (UTF-8 for gpt2) and tokenized whole. Windows of ctx\n"
            "tokens (default: the model's context, at most 1024) start every stride tokens\n"
            "(default: ctx); each token is scored once, with the longest context its window\n"
            "gives, if it has at least one token of context there (stride = ctx skips the first\n"
            "token of every window). Reports token perplexity exp(NLL / scored tokens), bits per byte\n"
            "NLL / (bytes ln 2) and word perplexity exp(NLL / words), words split at ASCII\n"
            "whitespace. --max-tokens keeps the first N tokens (bytes and words are then those\n"
            "of the kept tokens). VARIANT: softmax (default), softmax-swa, paper-linear,\n"
            "paper-cubic, calibrated (--cell, default the paper-cubic preset).\n"
            "--shard K/N scores only the K-th of N contiguous runs of windows (K = 1..N), so a\n"
            "long text can be split over processes or machines: the shards' nll_nats and\n"
            "tokens_scored add up to the whole run's; bits per byte = sum of nll_nats / (bytes\n"
            "ln 2), bytes and words being the whole text's (in every shard's JSON).\n"
            GPT2_CLI_DECOMP_TOL_HELP);
}

typedef struct {
    const char *model, *text, *tokenizer, *bpe, *attention, *cell, *json;
    long ctx, stride, max_tokens;
    double decomp_tol;
    int shard, n_shards; /* 1-based; 0 and 0: no sharding */
} ppl_args;

static int parse_args(int argc, char **argv, ppl_args *a, gc_err *e)
{
    *a = (ppl_args){.tokenizer = "gpt2", .attention = "softmax"};
    const char *v;
    for (int i = 1; i < argc; i++) {
        const char *names[] = {"model", "text", "tokenizer", "bpe-dir", "attention",
                               "cell", "json", "ctx", "stride", "max-tokens", "shard",
                               "decomp-tol"};
        const char **dst[] = {&a->model, &a->text, &a->tokenizer, &a->bpe, &a->attention,
                              &a->cell, &a->json};
        int k, r = 0;
        for (k = 0; k < 12; k++)
            if ((r = gpt2_cli_opt(argc, argv, &i, names[k], &v)))
                break;
        if (r < 0)
            return gc_fail(e, "--%s needs a value", names[k]);
        if (!r)
            return gc_fail(e, "unexpected argument '%s'", argv[i]);
        if (k < 7)
            *dst[k] = v;
        else if (k == 11) {
            if (gpt2_cli_decomp_tol(v, &a->decomp_tol, e))
                return -1;
        } else if (k == 10) {
            char extra;
            if (sscanf(v, "%d/%d%c", &a->shard, &a->n_shards, &extra) != 2 || a->n_shards < 1 ||
                a->shard < 1 || a->shard > a->n_shards)
                return gc_fail(e, "--shard must be K/N with 1 <= K <= N, not '%s'", v);
        } else if (gpt2_cli_long(v, names[k], 1, 1L << 40,
                               k == 7 ? &a->ctx : k == 8 ? &a->stride : &a->max_tokens, e))
            return -1;
    }
    if (!a->model || !a->text)
        return gc_fail(e, "--model and --text are required");
    return 0;
}

/* What the calibrated cell compiled to: the fast path's approximation, beside the results. */
static void add_decomposition(cJSON *o, const gpt2_model *m)
{
    const attn_plan *p = gpt2_attention_plan(m);
    if (!p || attn_plan_config(p)->variant != ATTN_CALIBRATED)
        return;
    cJSON *d = cJSON_AddObjectToObject(o, "cell_decomposition");
    cJSON_AddNumberToObject(d, "rel_tol", attn_plan_config(p)->decomp_rel_tol);
    cJSON_AddNumberToObject(d, "terms_array1", attn_plan_rank(p, 1));
    cJSON_AddNumberToObject(d, "terms_array2", attn_plan_rank(p, 2));
    cJSON_AddNumberToObject(d, "error_array1", attn_plan_decomp_error(p, 1));
    cJSON_AddNumberToObject(d, "error_array2", attn_plan_decomp_error(p, 2));
}

static int write_json(const char *path, const ppl_args *a, const gpt2_ppl_result *r, long tokens,
                      size_t bytes, long words, const gpt2_model *m, int argc, char **argv,
                      gc_err *e)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "producer", "gcsim " GCSIM_VERSION " ppl");
    char cmd[4096] = "gcsim";
    for (int i = 0; i < argc; i++)
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", argv[i]);
    cJSON_AddStringToObject(o, "command", cmd);
    cJSON_AddStringToObject(o, "model", a->model);
    cJSON_AddStringToObject(o, "text", a->text);
    cJSON_AddStringToObject(o, "tokenizer", a->tokenizer);
    cJSON_AddStringToObject(o, "attention", a->attention);
    if (a->cell)
        cJSON_AddStringToObject(o, "cell", a->cell);
    add_decomposition(o, m);
    cJSON_AddNumberToObject(o, "ctx", (double)a->ctx);
    cJSON_AddNumberToObject(o, "stride", (double)a->stride);
    cJSON_AddNumberToObject(o, "tokens", (double)tokens);
    cJSON_AddNumberToObject(o, "tokens_scored", (double)r->scored);
    cJSON_AddNumberToObject(o, "bytes", (double)bytes);
    cJSON_AddNumberToObject(o, "words", (double)words);
    cJSON_AddNumberToObject(o, "windows", (double)r->windows);
    cJSON_AddNumberToObject(o, "nll_nats", r->nll);
    if (a->n_shards) { /* a part: the metrics need every shard's nll */
        cJSON_AddNumberToObject(o, "shard", a->shard);
        cJSON_AddNumberToObject(o, "shards", a->n_shards);
    } else {
        cJSON_AddNumberToObject(o, "token_perplexity", exp(r->nll / (double)r->scored));
        cJSON_AddNumberToObject(o, "bits_per_byte", r->nll / ((double)bytes * log(2.0)));
        cJSON_AddNumberToObject(o, "word_perplexity", exp(r->nll / (double)words));
    }
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    cJSON_AddNumberToObject(o, "tokens_per_second", (double)r->scored / r->seconds);
    int rc = cli_write_json(path, o, e);
    cJSON_Delete(o);
    return rc;
}

int cmd_ppl(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    gc_err e = {{0}};
    ppl_args a;
    if (parse_args(argc, argv, &a, &e)) {
        fprintf(stderr, "gcsim ppl: %s\n", e.msg);
        usage(stderr);
        return 2;
    }
    char buf[4096], *text = NULL;
    size_t len = 0, n = 0;
    uint32_t *ids = NULL;
    tok_tokenizer *tok = NULL;
    gpt2_model *m = NULL;
    gpt2_attn_kind kind;
    int rc = 1;
    if (gpt2_attn_kind_parse(a.attention, &kind, &e) ||
        tok_alloc_by_name(&tok, a.tokenizer, gpt2_cli_bpe_dir(a.bpe, buf, sizeof buf), &e) ||
        gpt2_load(&m, a.model, &e))
        goto done;
    m->attn_decomp_tol = a.decomp_tol;
    if (gpt2_set_attention(m, kind, a.cell, &e))
        goto done;
    if (tok_vocab_size(tok) > m->config.vocab_size) {
        gc_fail(&e, "tokenizer %s has %d tokens, the model only %d", a.tokenizer,
                tok_vocab_size(tok), m->config.vocab_size);
        goto done;
    }
    if (gpt2_cli_read_tokens(a.text, tok, &text, &len, &ids, &n, &e))
        goto done;
    size_t bytes = len;
    if (a.max_tokens && (size_t)a.max_tokens < n) {
        /* the kept tokens decode to a prefix of the file */
        bytes = 0;
        for (size_t i = 0; i < (size_t)a.max_tokens; i++) {
            size_t l;
            tok_token_bytes(tok, ids[i], &l);
            bytes += l;
        }
        n = (size_t)a.max_tokens;
    }
    long words = gpt2_count_words(text, bytes);
    if (!a.ctx)
        a.ctx = m->config.max_seq_len < 1024 ? m->config.max_seq_len : 1024;
    if (!a.stride)
        a.stride = a.ctx;
    if (a.ctx > m->config.max_seq_len) {
        gc_fail(&e, "--ctx %ld is longer than the model's context %d", a.ctx,
                m->config.max_seq_len);
        goto done;
    }
    if (words < 1) {
        gc_fail(&e, "%s: no words in the text", a.text);
        goto done;
    }
    gpt2_ppl_opts o = {.ctx = (int)a.ctx, .stride = (int)a.stride, .progress = 1,
                       .shard = a.n_shards ? a.shard - 1 : 0, .n_shards = a.n_shards};
    gpt2_ppl_result r;
    if (gpt2_ppl(m, ids, (long)n, &o, &r, &e))
        goto done;
    printf("model %s, attention %s, tokenizer %s, ctx %ld, stride %ld\n", a.model, a.attention,
           a.tokenizer, a.ctx, a.stride);
    printf("tokens %zu (scored %ld), bytes %zu, words %ld, windows %ld\n", n, r.scored, bytes,
           words, r.windows);
    if (a.n_shards) {
        printf("shard %d/%d: nll %.9g nats over %ld tokens (add every shard's)\n", a.shard,
               a.n_shards, r.nll, r.scored);
    } else {
        printf("token perplexity %.6f\n", exp(r.nll / (double)r.scored));
        printf("bits per byte %.6f\n", r.nll / ((double)bytes * log(2.0)));
        printf("word perplexity %.6f\n", exp(r.nll / (double)words));
    }
    printf("time %.2f s (%.1f tokens/s)\n", r.seconds, (double)r.scored / r.seconds);
    if (a.json && write_json(a.json, &a, &r, (long)n, bytes, words, m, argc, argv, &e))
        goto done;
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "gcsim ppl: %s\n", e.msg);
    free(text);
    free(ids);
    tok_free(tok);
    gpt2_free(m);
    return rc;
}
