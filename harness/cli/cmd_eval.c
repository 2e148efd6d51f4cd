/* gcsim eval: downstream task accuracy (LAMBADA, multiple choice) of a GPT-2 on digital or
 * analog attention, scored as lm-evaluation-harness does (the engine: harness/eval.c). */
#include <cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "analog_options.h"
#include "cli.h"
#include "commands.h"
#include "eval.h"
#include "gpt2.h"
#include "gpt2_cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gcsim eval --task lambada|mc --data FILE --model PATH [--max-length N]\n"
            "                  [--limit N] [--no-share] [--per-example FILE] [--json out.json]\n"
            "                  [--tokenizer gpt2|bytes] [--bpe-dir DIR] [analog options]\n\n"
            "Scores a task as lm-evaluation-harness does. FILE is JSON Lines, one example a\n"
            "line:\n"
            "  lambada  {\"text\": T} (lambada_openai): the context is T up to its last space,\n"
            "           the target the rest with that space. acc: greedy decoding of the\n"
            "           target's tokens reproduces them all; perplexity: exp(-mean over\n"
            "           examples of the target's log-likelihood) (per example, as the harness;\n"
            "           token_perplexity is per target token).\n"
            "  mc       {\"context\": C, \"choices\": [c0, c1, ...], \"gold\": i}, choice k scored\n"
            "           as \" \" + ck after C (\"target_delimiter\" replaces the space); or, for\n"
            "           choices that differ in the context (WinoGrande), {\"contexts\": [C0,\n"
            "           C1, ...], \"continuation\": X, \"gold\": i}. acc: the largest\n"
            "           log-likelihood (sum over the choice's tokens) is gold's; acc_norm: the\n"
            "           same divided by the choice's length in characters (ck, or Ck).\n"
            "Standard errors: sqrt(p (1 - p) / (n - 1)) (the harness's mean_stderr).\n"
            "Truncation: a request sees the last N + 1 tokens of context + continuation but\n"
            "the last one (N = --max-length, default the model's context): the context is\n"
            "cut from the left, the continuation kept whole.\n"
            "Consecutive requests with the same context evaluate it once: one prefill fills\n"
            "the streaming state and each continues from a snapshot of it (streaming decode).\n"
            "Other requests, and all with --no-share, run one pass over context +\n"
            "continuation, as the harness. The two agree to float rounding, which for an\n"
            "analog variant can flip a quantiser level (log-likelihoods then differ by about\n"
            "1e-3).\n"
            "--limit keeps the first N examples.\n"
            "--per-example writes one JSON line per example: loglik, greedy, tokens and\n"
            "context_tokens per choice, pred, pred_norm, gold and the line in FILE.\n"
            "The model's config.json names its tokenizer and attention settings; options\n"
            "override them.\n\n");
    analog_options_help(f);
}

typedef struct {
    const char *model, *data, *bpe, *json, *examples, *task;
    long max_length, limit;
    int no_share;
    gpt2_settings over; /* tokenizer and analog options, in order */
} eval_args;

static int set_opt(int c, const char *v, void *ctx, gc_err *e)
{
    eval_args *a = ctx;
    switch (c) {
    case 'm': a->model = v; return 0;
    case 'd': a->data = v; return 0;
    case 't': a->task = v; return 0;
    case 'b': a->bpe = v; return 0;
    case 'j': a->json = v; return 0;
    case 'p': a->examples = v; return 0;
    case 's': a->no_share = 1; return 0;
    case 'k': return gpt2_settings_add(&a->over, "tokenizer", v, e);
    case 'L': return gc_parse_long(v, "--max-length", 1, 1L << 30, &a->max_length, e);
    case 'n': return gc_parse_long(v, "--limit", 1, 1L << 40, &a->limit, e);
    }
    return gc_fail(e, "option %d not handled", c);
}

/* Returns 1 after --help, 0 when parsed, -1 on an error. */
static int parse_args(int argc, char **argv, eval_args *a, eval_kind *kind, gc_err *e)
{
    static const struct option own[] = {
        {"model", required_argument, 0, 'm'}, {"data", required_argument, 0, 'd'},
        {"task", required_argument, 0, 't'}, {"tokenizer", required_argument, 0, 'k'},
        {"bpe-dir", required_argument, 0, 'b'}, {"json", required_argument, 0, 'j'},
        {"per-example", required_argument, 0, 'p'}, {"no-share", no_argument, 0, 's'},
        {"max-length", required_argument, 0, 'L'}, {"limit", required_argument, 0, 'n'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    *a = (eval_args){0};
    int r = analog_getopt(argc, argv, own, set_opt, a, &a->over, e);
    if (!r && (!a->model || !a->data || !a->task))
        return gc_fail(e, "--task, --data and --model are required");
    return r ? r : eval_kind_parse(a->task, kind, e);
}

static void print_result(const eval_task *t, const eval_result *r, int share)
{
    printf("%s: %ld examples, %ld requests, %ld contexts evaluated (%s), %ld truncated\n",
           eval_kind_name(t->kind), r->items, r->requests, r->prefills,
           share ? "shared" : "--no-share", r->truncated);
    printf("acc %.4f +- %.4f\n", r->acc, r->acc_stderr);
    if (t->kind == EVAL_MC)
        printf("acc_norm %.4f +- %.4f\n", r->acc_norm, r->acc_norm_stderr);
    else
        printf("perplexity %.4f (+- %.4f, delta method), token perplexity %.4f over %ld "
               "target tokens\n", r->perplexity, r->perplexity_stderr_delta,
               r->token_perplexity, r->tokens_scored);
    printf("time %.2f s (%.1f tokens/s through the model)\n", r->seconds,
           (double)r->tokens_run / r->seconds);
}

/* A number, or null when it is not one (a standard error of one example). */
static void add_number(cJSON *o, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static int write_json(const eval_args *a, const lm_session *s, const eval_task *t,
                      const eval_result *r, int window, int argc, char **argv, gc_err *e)
{
    cJSON *o = cJSON_CreateObject();
    char cmd[4096];
    cli_command_line(argc, argv, cmd, sizeof cmd);
    cJSON_AddStringToObject(o, "producer", "gcsim " GCSIM_VERSION " eval");
    cJSON_AddStringToObject(o, "command", cmd);
    cJSON_AddStringToObject(o, "task", eval_kind_name(t->kind));
    cJSON_AddStringToObject(o, "data", a->data);
    cJSON_AddStringToObject(o, "model", a->model);
    cJSON_AddStringToObject(o, "tokenizer", s->tokenizer);
    cJSON_AddStringToObject(o, "attention", s->model->attn_cfg.variant->name);
    if (s->model->attn_cfg.cell)
        cJSON_AddStringToObject(o, "cell", cell_model_source(s->model->attn_cfg.cell));
    gpt2_attn_config_json(o, &s->model->attn_cfg);
    cJSON_AddNumberToObject(o, "max_length", window);
    cJSON_AddBoolToObject(o, "shared_contexts", !a->no_share);
    cJSON_AddNumberToObject(o, "examples", (double)r->items);
    cJSON_AddNumberToObject(o, "requests", (double)r->requests);
    cJSON_AddNumberToObject(o, "acc", r->acc);
    add_number(o, "acc_stderr", r->acc_stderr);
    if (t->kind == EVAL_MC) {
        cJSON_AddNumberToObject(o, "acc_norm", r->acc_norm);
        add_number(o, "acc_norm_stderr", r->acc_norm_stderr);
    } else {
        cJSON_AddNumberToObject(o, "perplexity", r->perplexity);
        add_number(o, "perplexity_stderr_delta", r->perplexity_stderr_delta);
        cJSON_AddNumberToObject(o, "token_perplexity", r->token_perplexity);
    }
    cJSON_AddNumberToObject(o, "tokens_scored", (double)r->tokens_scored);
    cJSON_AddNumberToObject(o, "truncated", (double)r->truncated);
    cJSON_AddNumberToObject(o, "contexts_evaluated", (double)r->prefills);
    cJSON_AddNumberToObject(o, "tokens_run", (double)r->tokens_run);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    int rc = gc_json_write(a->json, o, e);
    cJSON_Delete(o);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    gc_err e = {{0}};
    eval_args a;
    eval_kind kind;
    int prc = parse_args(argc, argv, &a, &kind, &e);
    if (prc)
        return cli_parse_exit("eval", prc, usage, &e);
    lm_session s = {0};
    eval_task *t = NULL;
    eval_score *scores = NULL;
    eval_result r;
    int rc = (a.json && gc_check_writable(a.json, &e)) ||
             (a.examples && gc_check_writable(a.examples, &e)) ||
             lm_session_open(&s, a.model, &a.over, a.bpe, stdout, &e) ||
             eval_task_load(&t, a.data, kind, s.tok, a.limit, &e);
    if (!rc && !(scores = calloc((size_t)t->n_requests, sizeof *scores)))
        rc = gc_fail(&e, "out of memory");
    int window = rc ? 0 : a.max_length ? (int)a.max_length : s.model->config.max_seq_len;
    eval_opts o = {.window = window, .share = !a.no_share, .progress = 1};
    rc = rc || eval_run(s.model, t, &o, scores, &r, &e);
    if (!rc)
        print_result(t, &r, o.share);
    rc = rc || (a.examples && eval_write_examples(a.examples, t, scores, &e)) ||
         (a.json && write_json(&a, &s, t, &r, window, argc, argv, &e));
    if (rc)
        fprintf(stderr, "gcsim eval: %s\n", e.msg);
    free(scores);
    eval_task_free(t);
    lm_session_free(&s);
    return rc;
}
