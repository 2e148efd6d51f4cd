/* gcsim generate: samples text from a GPT-2 with streaming (KV-cached) decode, one token at a
 * time, from a seeded generator so that a run can be repeated exactly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "gpt2.h"
#include "gpt2_cli.h"
#include "tokenizer.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gcsim generate --model PATH [--prompt TEXT | --prompt-file FILE]\n"
            "                      [--tokens N] [--temperature T] [--top-k K] [--seed S]\n"
            "                      [--tokenizer gpt2|bytes] [--bpe-dir DIR]\n"
            "                      [--attention VARIANT] [--cell cell.h5] [--decomp-tol X]\n\n"
            "Feeds the prompt (default: the end-of-text token) through streaming decode, then\n"
            "samples N new tokens (default 64) at temperature T (default 1; 0 = greedy) from the\n"
            "K most likely (default 0 = all), with generator seed S (default 1). Prints the\n"
            "prompt and the continuation.\n" GPT2_CLI_DECOMP_TOL_HELP);
}

/* xorshift64*: small, seeded, identical on every machine. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static double rng_uniform(uint64_t *s) { return (double)(rng_next(s) >> 11) / 9007199254740992.0; }

static int cmp_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* Samples an id from logits (V) at temperature temp from the top_k best; scratch has V floats. */
static uint32_t sample(const float *logits, int V, double temp, int top_k, float *scratch,
                       uint64_t *rng)
{
    int best = 0;
    for (int i = 1; i < V; i++)
        best = logits[i] > logits[best] ? i : best;
    if (temp <= 0)
        return (uint32_t)best;
    float cut = -INFINITY;
    if (top_k > 0 && top_k < V) {
        memcpy(scratch, logits, (size_t)V * sizeof *scratch);
        qsort(scratch, (size_t)V, sizeof *scratch, cmp_desc);
        cut = scratch[top_k - 1];
    }
    double sum = 0;
    for (int i = 0; i < V; i++)
        sum += logits[i] >= cut ? exp((logits[i] - logits[best]) / temp) : 0;
    double u = rng_uniform(rng) * sum, acc = 0;
    for (int i = 0; i < V; i++) {
        acc += logits[i] >= cut ? exp((logits[i] - logits[best]) / temp) : 0;
        if (acc > u)
            return (uint32_t)i;
    }
    return (uint32_t)best;
}

int cmd_generate(int argc, char **argv)
{
    const char *model = NULL, *prompt = NULL, *prompt_file = NULL, *tname = "gpt2", *bpe = NULL;
    const char *attention = "softmax", *cell = NULL, *v;
    long n_new = 64, top_k = 0, seed = 1;
    double temp = 1.0, decomp_tol = 0;
    gc_err e = {{0}};
    for (int i = 1; i < argc; i++) {
        int r = 0;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        const char *names[] = {"model", "prompt", "prompt-file", "tokenizer", "bpe-dir",
                               "attention", "cell", "tokens", "top-k", "seed", "temperature",
                               "decomp-tol"};
        const char **dst[] = {&model, &prompt, &prompt_file, &tname, &bpe, &attention, &cell};
        int k;
        for (k = 0; k < 12; k++)
            if ((r = gpt2_cli_opt(argc, argv, &i, names[k], &v)))
                break;
        if (r < 0) {
            fprintf(stderr, "gcsim generate: --%s needs a value\n", names[k]);
            return 2;
        }
        if (!r) {
            fprintf(stderr, "gcsim generate: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
        int bad = 0;
        if (k < 7)
            *dst[k] = v;
        else if (k == 7)
            bad = gpt2_cli_long(v, "tokens", 0, 1 << 20, &n_new, &e);
        else if (k == 8)
            bad = gpt2_cli_long(v, "top-k", 0, 1 << 24, &top_k, &e);
        else if (k == 9)
            bad = gpt2_cli_long(v, "seed", 0, (1L << 62), &seed, &e);
        else if (k == 11)
            bad = gpt2_cli_decomp_tol(v, &decomp_tol, &e);
        else {
            char *end;
            temp = strtod(v, &end);
            if (*end || end == v || !(temp >= 0) || temp > 100)
                bad = gc_fail(&e, "--temperature: '%s' is not a number in 0..100", v);
        }
        if (bad) {
            fprintf(stderr, "gcsim generate: %s\n", e.msg);
            return 2;
        }
    }
    if (!model || (prompt && prompt_file)) {
        fprintf(stderr, "gcsim generate: --model is required; give at most one of --prompt "
                        "and --prompt-file\n");
        return 2;
    }
    char buf[4096], *text = NULL;
    size_t len = 0, n = 0;
    uint32_t *ids = NULL;
    float *logits = NULL, *scratch = NULL;
    tok_tokenizer *tok = NULL;
    gpt2_model *m = NULL;
    gpt2_attn_kind kind;
    int rc = 1;
    if (gpt2_attn_kind_parse(attention, &kind, &e) ||
        tok_alloc_by_name(&tok, tname, gpt2_cli_bpe_dir(bpe, buf, sizeof buf), &e) ||
        gpt2_load(&m, model, &e))
        goto done;
    m->attn_decomp_tol = decomp_tol;
    if (gpt2_set_attention(m, kind, cell, &e))
        goto done;
    if (prompt_file) {
        if (gpt2_cli_read_tokens(prompt_file, tok, &text, &len, &ids, &n, &e))
            goto done;
    } else if (tok_encode(tok, prompt ? prompt : "", prompt ? strlen(prompt) : 0, &ids, &n,
                          &e)) {
        goto done;
    }
    if (n == 0) {
        if (tok_eot(tok) < 0) {
            gc_fail(&e, "an empty prompt needs a tokenizer with an end-of-text token");
            goto done;
        }
        ids[0] = (uint32_t)tok_eot(tok);
        n = 1;
    }
    int V = m->config.vocab_size;
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= (uint32_t)V) {
            gc_fail(&e, "prompt token %u is outside the model's vocabulary (%d)", ids[i], V);
            goto done;
        }
    if ((long)n + n_new > m->config.max_seq_len) {
        gc_fail(&e, "prompt (%zu tokens) plus %ld new tokens exceed the context of %d", n, n_new,
                m->config.max_seq_len);
        goto done;
    }
    logits = malloc((size_t)V * sizeof *logits);
    scratch = malloc((size_t)V * sizeof *scratch);
    if (!logits || !scratch) {
        gc_fail(&e, "out of memory");
        goto done;
    }
    if (gpt2_stream_reset(m, &e))
        goto done;
    uint64_t state = (uint64_t)seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        const char *b = tok_token_bytes(tok, ids[i], &l);
        if (b && (int)ids[i] != tok_eot(tok))
            fwrite(b, 1, l, stdout);
        if (gpt2_stream_step(m, ids[i], logits, &e))
            goto done;
    }
    for (long t = 0; t < n_new; t++) {
        uint32_t next = sample(logits, tok_vocab_size(tok) < V ? tok_vocab_size(tok) : V, temp,
                               (int)top_k, scratch, &state);
        size_t l;
        const char *b = tok_token_bytes(tok, next, &l);
        if (b)
            fwrite(b, 1, l, stdout);
        fflush(stdout);
        if (t + 1 < n_new && gpt2_stream_step(m, next, logits, &e))
            goto done;
    }
    printf("\n");
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "gcsim generate: %s\n", e.msg);
    free(text);
    free(ids);
    free(logits);
    free(scratch);
    tok_free(tok);
    gpt2_free(m);
    return rc;
}
