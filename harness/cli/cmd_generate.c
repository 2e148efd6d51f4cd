/* gcsim generate: samples text from a GPT-2 with streaming (KV-cached) decode, one token at a
 * time, from a seeded generator so that a run can be repeated exactly. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analog_options.h"
#include "cost_options.h"
#include "cli.h"
#include "commands.h"
#include "gpt2.h"
#include "gpt2_cli.h"
#include "tokenizer.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gcsim generate --model PATH [--prompt TEXT | --prompt-file FILE]\n"
            "                      [--tokens N] [--temperature T] [--top-k K] [--seed S]\n"
            "                      [--tokenizer gpt2|bytes] [--bpe-dir DIR] [cost options]\n"
            "                      [analog options]\n\n"
            "Feeds the prompt (default: the end-of-text token) through streaming decode, then\n"
            "samples N new tokens (default 64) at temperature T (default 1; 0 = greedy) from the\n"
            "K most likely (default 0 = all), with generator seed S (default 1). Prints the\n"
            "prompt and the continuation; the settings used go to stderr. The model's\n"
            "config.json names its tokenizer and attention settings; options override them.\n"
            "With --cost, every token streamed (prompt and new) is counted; the table follows\n"
            "the text.\n\n");
    cost_options_help(f);
    analog_options_help(f);
}

static int cmp_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* Samples an id from logits (V) at temperature temp from the top_k best; scratch has V floats. */
static uint32_t sample(const float *logits, int V, double temp, int top_k, float *scratch,
                       gc_rng *rng)
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
    double u = gc_rng_uniform(rng) * sum, acc = 0;
    for (int i = 0; i < V; i++) {
        acc += logits[i] >= cut ? exp((logits[i] - logits[best]) / temp) : 0;
        if (acc > u)
            return (uint32_t)i;
    }
    return (uint32_t)best;
}

typedef struct {
    const char *model, *prompt, *prompt_file, *bpe;
    long n_new, top_k, seed;
    double temp;
    gpt2_settings over;
    cost_request cost;
} gen_args;

static int set_opt(int c, const char *v, void *ctx, gc_err *e)
{
    gen_args *a = ctx;
    switch (c) {
    case 'm': a->model = v; return 0;
    case 'p': a->prompt = v; return 0;
    case 'f': a->prompt_file = v; return 0;
    case 'b': a->bpe = v; return 0;
    case 'k': return gpt2_settings_add(&a->over, "tokenizer", v, e);
    case 'n': return gc_parse_long(v, "--tokens", 0, 1 << 20, &a->n_new, e);
    case 'K': return gc_parse_long(v, "--top-k", 0, 1 << 24, &a->top_k, e);
    case 's': return gc_parse_long(v, "--seed", 0, 1L << 62, &a->seed, e);
    case 'T': return gc_parse_double(v, "--temperature", 0, 100, 0, 0, &a->temp, e);
    }
    int taken = cost_option_take(&a->cost, c, v, e);
    if (taken)
        return taken < 0 ? -1 : 0;
    return gc_fail(e, "option %d not handled", c);
}

/* Returns 1 after --help, 0 when parsed, -1 on an error. */
static int parse_args(int argc, char **argv, gen_args *a, gc_err *e)
{
    static const struct option own[] = {
        {"model", required_argument, 0, 'm'}, {"prompt", required_argument, 0, 'p'},
        {"prompt-file", required_argument, 0, 'f'}, {"tokenizer", required_argument, 0, 'k'},
        {"bpe-dir", required_argument, 0, 'b'}, {"tokens", required_argument, 0, 'n'},
        {"top-k", required_argument, 0, 'K'}, {"seed", required_argument, 0, 's'},
        {"temperature", required_argument, 0, 'T'}, COST_OPTIONS,
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    *a = (gen_args){.n_new = 64, .seed = 1, .temp = 1.0};
    int r = analog_getopt(argc, argv, own, set_opt, a, &a->over, e);
    if (!r && (!a->model || (a->prompt && a->prompt_file)))
        return gc_fail(e, "--model is required; give at most one of --prompt and --prompt-file");
    return r;
}

/* The prompt's ids (the end-of-text token for an empty one), each known to the model. */
static int prompt_ids(const gen_args *a, const lm_session *s, char **text, uint32_t **ids,
                      size_t *n, gc_err *e)
{
    size_t len;
    if (a->prompt_file ? gpt2_cli_read_tokens(a->prompt_file, s->tok, text, &len, ids, n, e)
                       : tok_encode(s->tok, a->prompt ? a->prompt : "",
                                    a->prompt ? strlen(a->prompt) : 0, ids, n, e))
        return -1;
    if (*n == 0) {
        if (tok_eot(s->tok) < 0)
            return gc_fail(e, "an empty prompt needs a tokenizer with an end-of-text token");
        (*ids)[0] = (uint32_t)tok_eot(s->tok);
        *n = 1;
    }
    int V = s->model->config.vocab_size;
    for (size_t i = 0; i < *n; i++)
        if ((*ids)[i] >= (uint32_t)V)
            return gc_fail(e, "prompt token %u is outside the model's vocabulary (%d)",
                           (*ids)[i], V);
    if ((long)*n + a->n_new > s->model->config.max_seq_len)
        return gc_fail(e, "prompt (%zu tokens) plus %ld new tokens exceed the context of %d", *n,
                       a->n_new, s->model->config.max_seq_len);
    return 0;
}

/* Echoes the prompt while it streams in, then samples and prints the new tokens. */
static int run(const gen_args *a, lm_session *s, const uint32_t *ids, size_t n, gc_err *e)
{
    gpt2_model *m = s->model;
    int V = m->config.vocab_size, Vt = tok_vocab_size(s->tok) < V ? tok_vocab_size(s->tok) : V;
    float *logits = malloc((size_t)V * sizeof *logits), *scratch = malloc((size_t)V * sizeof *scratch);
    int rc = logits && scratch ? gpt2_stream_reset(m, e) : gc_fail(e, "out of memory");
    gc_rng rng;
    gc_rng_seed(&rng, (uint64_t)a->seed);
    for (size_t i = 0; !rc && i < n; i++) {
        size_t l;
        const char *b = tok_token_bytes(s->tok, ids[i], &l);
        if (b && (int)ids[i] != tok_eot(s->tok))
            fwrite(b, 1, l, stdout);
        rc = gpt2_stream_step(m, ids[i], logits, e);
    }
    for (long t = 0; !rc && t < a->n_new; t++) {
        uint32_t next = sample(logits, Vt, a->temp, (int)a->top_k, scratch, &rng);
        size_t l;
        const char *b = tok_token_bytes(s->tok, next, &l);
        if (b)
            fwrite(b, 1, l, stdout);
        fflush(stdout);
        if (t + 1 < a->n_new)
            rc = gpt2_stream_step(m, next, logits, e);
    }
    if (!rc)
        printf("\n");
    free(logits);
    free(scratch);
    return rc;
}

int cmd_generate(int argc, char **argv)
{
    gc_err e = {{0}};
    gen_args a;
    int prc = parse_args(argc, argv, &a, &e);
    if (prc)
        return cli_parse_exit("generate", prc, usage, &e);
    char *text = NULL;
    uint32_t *ids = NULL;
    size_t n = 0;
    lm_session s = {0};
    attn_activity *act = NULL;
    int rc = (a.cost.json && gc_check_writable(a.cost.json, &e)) ||
             lm_session_open(&s, a.model, &a.over, a.bpe, stderr, &e) ||
             prompt_ids(&a, &s, &text, &ids, &n, &e) ||
             (a.cost.json && gpt2_count_activity(s.model, &act, &e)) ||
             run(&a, &s, ids, n, &e);
    rc = rc || (act && cost_report(&a.cost, act, &s.model->attn_cfg, &e));
    if (rc)
        fprintf(stderr, "gcsim generate: %s\n", e.msg);
    if (s.model)
        gpt2_count_activity_stop(s.model);
    attn_activity_free(act);
    free(text);
    free(ids);
    lm_session_free(&s);
    return rc;
}
