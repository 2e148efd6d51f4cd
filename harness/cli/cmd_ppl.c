/* gcsim ppl: perplexity of a GPT-2 (digital or analog attention) on a text file, with Hugging
 * Face's sliding-window protocol; token perplexity, bits per byte and word perplexity as
 * lm-eval-harness defines them. */
#include <cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analog_options.h"
#include "cli.h"
#include "commands.h"
#include "cost_options.h"
#include "gpt2.h"
#include "gpt2_cli.h"
#include "tokenizer.h"

#ifdef GCSIM_MPI
#include <mpi.h>
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gcsim ppl --model PATH --text FILE [--tokenizer gpt2|bytes] [--bpe-dir DIR]\n"
            "                 [--ctx N] [--stride N] [--max-tokens N] [--shard K/N]\n"
            "                 [--json out.json] [cost options] [analog options]\n\n"
            "The model's config.json (its \"gcsim\" block) says which tokenizer and attention\n"
            "settings it runs with; options override them (a model without the block: gpt2\n"
            "BPE and softmax). The settings used are printed and recorded in the JSON.\n"
            "FILE is read as raw bytes (UTF-8 for gpt2) and tokenized whole. Windows of ctx\n"
            "tokens (default: the model's context, at most 1024) start every stride tokens\n"
            "(default: ctx); each token is scored once, with the longest context its window\n"
            "gives, if it has at least one token of context there (stride = ctx skips the first\n"
            "token of every window). Reports token perplexity exp(NLL / scored tokens), bits per byte\n"
            "NLL / (bytes ln 2) and word perplexity exp(NLL / words), words split at ASCII\n"
            "whitespace. --max-tokens keeps the first N tokens (bytes and words are then those\n"
            "of the kept tokens).\n"
            "--shard K/N scores only the K-th of N contiguous runs of windows (K = 1..N), so a\n"
            "long text can be split over processes or machines: the shards' nll_nats and\n"
            "tokens_scored add up to the whole run's; bits per byte = sum of nll_nats / (bytes\n"
            "ln 2), bytes and words being the whole text's (in every shard's JSON).\n"
            "Under mpirun (or srun) each rank scores one shard and rank 0 adds them in window\n"
            "order, prints and writes the JSON: the serial run's numbers, bit for bit.\n"
            "--chips N (a cell with a variation model) scores N chip instances, seeds\n"
            "--chip-seed S .. S+N-1, each cell of each a seeded draw fixed for the run: a line per\n"
            "chip, and in the JSON \"chips\" (each chip's seed and results), bpb_mean, bpb_std\n"
            "(sample standard deviation) and bpb_worst (the largest).\n\n");
    cost_options_help(f);
    analog_options_help(f);
}

typedef struct {
    const char *model, *text, *bpe, *json;
    long ctx, stride, max_tokens;
    int shard, n_shards; /* 1-based; 0 and 0: no sharding */
    gpt2_settings over;  /* tokenizer and analog options, in order */
    cost_request cost;   /* --cost and its options */
} ppl_args;

static int parse_shard(const char *v, ppl_args *a, gc_err *e)
{
    char extra;
    if (sscanf(v, "%d/%d%c", &a->shard, &a->n_shards, &extra) != 2 || a->n_shards < 1 ||
        a->shard < 1 || a->shard > a->n_shards)
        return gc_fail(e, "--shard must be K/N with 1 <= K <= N, not '%s'", v);
    return 0;
}

static int set_opt(int c, const char *v, void *ctx, gc_err *e)
{
    ppl_args *a = ctx;
    switch (c) {
    case 'm': a->model = v; return 0;
    case 't': a->text = v; return 0;
    case 'b': a->bpe = v; return 0;
    case 'j': a->json = v; return 0;
    case 'k': return gpt2_settings_add(&a->over, "tokenizer", v, e);
    case 'c': return gc_parse_long(v, "--ctx", 1, 1L << 40, &a->ctx, e);
    case 's': return gc_parse_long(v, "--stride", 1, 1L << 40, &a->stride, e);
    case 'n': return gc_parse_long(v, "--max-tokens", 1, 1L << 40, &a->max_tokens, e);
    case 'S': return parse_shard(v, a, e);
    }
    int taken = cost_option_take(&a->cost, c, v, e);
    if (taken)
        return taken < 0 ? -1 : 0;
    return gc_fail(e, "option %d not handled", c);
}

/* Returns 1 after --help, 0 when parsed, -1 on an error. */
static int parse_args(int argc, char **argv, ppl_args *a, gc_err *e)
{
    static const struct option own[] = {
        {"model", required_argument, 0, 'm'}, {"text", required_argument, 0, 't'},
        {"tokenizer", required_argument, 0, 'k'}, {"bpe-dir", required_argument, 0, 'b'},
        {"json", required_argument, 0, 'j'}, {"ctx", required_argument, 0, 'c'},
        {"stride", required_argument, 0, 's'}, {"max-tokens", required_argument, 0, 'n'},
        {"shard", required_argument, 0, 'S'}, COST_OPTIONS, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    *a = (ppl_args){0};
    int r = analog_getopt(argc, argv, own, set_opt, a, &a->over, e);
    if (!r && (!a->model || !a->text))
        return gc_fail(e, "--model and --text are required");
    return r;
}

/* What the calibrated cell compiled to: the fast path's approximation, beside the results. */
static void add_decomposition(cJSON *o, const gpt2_model *m)
{
    const attn_plan *p = gpt2_attention_plan(m);
    if (!p || attn_plan_config(p)->variant->engine != ATTN_ENGINE_CELL)
        return;
    cJSON *d = cJSON_AddObjectToObject(o, "cell_decomposition");
    cJSON_AddNumberToObject(d, "rel_tol", attn_plan_config(p)->decomp_rel_tol);
    cJSON_AddNumberToObject(d, "terms_array1", attn_plan_rank(p, 1));
    cJSON_AddNumberToObject(d, "terms_array2", attn_plan_rank(p, 2));
    cJSON_AddNumberToObject(d, "error_array1", attn_plan_decomp_error(p, 1));
    cJSON_AddNumberToObject(d, "error_array2", attn_plan_decomp_error(p, 2));
}

/* The text as scored: its tokens, bytes and words. */
typedef struct {
    long tokens, words;
    size_t bytes;
} ppl_text;

/* The chips' results: r (n_chips) of chips seed0 .. seed0 + n_chips - 1. */
static void add_chips(cJSON *o, const gpt2_ppl_result *r, int n_chips, int seed0,
                      const ppl_text *t)
{
    cJSON *list = cJSON_AddArrayToObject(o, "chips");
    double sum = 0, sum2 = 0, worst = -INFINITY;
    for (int c = 0; c < n_chips; c++) {
        double bpb = r[c].nll / ((double)t->bytes * log(2.0));
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "seed", seed0 + c);
        cJSON_AddNumberToObject(j, "nll_nats", r[c].nll);
        cJSON_AddNumberToObject(j, "token_perplexity", exp(r[c].nll / (double)r[c].scored));
        cJSON_AddNumberToObject(j, "bits_per_byte", bpb);
        cJSON_AddNumberToObject(j, "seconds", r[c].seconds);
        cJSON_AddItemToArray(list, j);
        sum += bpb;
        worst = fmax(worst, bpb);
    }
    double mean = sum / n_chips;
    for (int c = 0; c < n_chips; c++) {
        double d = r[c].nll / ((double)t->bytes * log(2.0)) - mean;
        sum2 += d * d;
    }
    cJSON_AddNumberToObject(o, "bpb_mean", mean);
    cJSON_AddNumberToObject(o, "bpb_std", n_chips > 1 ? sqrt(sum2 / (n_chips - 1)) : 0);
    cJSON_AddNumberToObject(o, "bpb_worst", worst);
}

/* The cell's variation model, as the chips were drawn from it. */
static void add_variation(cJSON *o, const attn_config *c)
{
    cell_variation v;
    if (!c->cell || !cell_variation_get(c->cell, &v))
        return;
    cJSON *j = cJSON_AddObjectToObject(o, "cell_variation");
    cJSON_AddNumberToObject(j, "gain_sigma", v.gain_sigma);
    cJSON_AddNumberToObject(j, "offset_sigma_c", v.offset_sigma_c);
    cJSON_AddNumberToObject(j, "log_leak_sigma", v.log_leak_sigma);
    cJSON_AddNumberToObject(j, "rho_gain_offset", v.rho_gain_offset);
    cJSON_AddNumberToObject(j, "write_offset_sigma_v", v.write_offset_sigma_v);
    cJSON_AddNumberToObject(j, "temp_c", v.temp_c);
    cJSON_AddStringToObject(j, "corner", v.corner);
    cJSON_AddNumberToObject(j, "n_instances", v.n_instances);
    cJSON_AddNumberToObject(j, "seed", (double)v.seed);
    cJSON_AddStringToObject(j, "source", v.source);
}

static int write_json(const ppl_args *a, const char *tokenizer, const gpt2_ppl_result *r,
                      int n_chips, const ppl_text *t, const gpt2_model *m, int argc,
                      char **argv, gc_err *e)
{
    cJSON *o = cJSON_CreateObject();
    char cmd[4096];
    cli_command_line(argc, argv, cmd, sizeof cmd);
    cJSON_AddStringToObject(o, "producer", "gcsim " GCSIM_VERSION " ppl");
    cJSON_AddStringToObject(o, "command", cmd);
    cJSON_AddStringToObject(o, "model", a->model);
    cJSON_AddStringToObject(o, "text", a->text);
    cJSON_AddStringToObject(o, "tokenizer", tokenizer);
    cJSON_AddStringToObject(o, "attention", m->attn_cfg.variant->name);
    if (m->attn_cfg.cell)
        cJSON_AddStringToObject(o, "cell", cell_model_source(m->attn_cfg.cell));
    attn_config recorded = m->attn_cfg;
    recorded.chip_seed -= n_chips > 0 ? n_chips - 1 : 0; /* the first chip's seed */
    gpt2_attn_config_json(o, &recorded);
    add_variation(o, &m->attn_cfg);
    add_decomposition(o, m);
    cJSON_AddNumberToObject(o, "ctx", (double)a->ctx);
    cJSON_AddNumberToObject(o, "stride", (double)a->stride);
    cJSON_AddNumberToObject(o, "tokens", (double)t->tokens);
    cJSON_AddNumberToObject(o, "tokens_scored", (double)r->scored);
    cJSON_AddNumberToObject(o, "bytes", (double)t->bytes);
    cJSON_AddNumberToObject(o, "words", (double)t->words);
    cJSON_AddNumberToObject(o, "windows", (double)r->windows);
    if (n_chips > 0) {
        add_chips(o, r, n_chips, recorded.chip_seed, t);
        double secs = 0;
        for (int c = 0; c < n_chips; c++)
            secs += r[c].seconds;
        cJSON_AddNumberToObject(o, "seconds", secs);
        int rc = gc_json_write(a->json, o, e);
        cJSON_Delete(o);
        return rc;
    }
    cJSON_AddNumberToObject(o, "nll_nats", r->nll);
    if (a->n_shards) { /* a part: the metrics need every shard's nll */
        cJSON_AddNumberToObject(o, "shard", a->shard);
        cJSON_AddNumberToObject(o, "shards", a->n_shards);
    } else {
        cJSON_AddNumberToObject(o, "token_perplexity", exp(r->nll / (double)r->scored));
        cJSON_AddNumberToObject(o, "bits_per_byte", r->nll / ((double)t->bytes * log(2.0)));
        cJSON_AddNumberToObject(o, "word_perplexity", exp(r->nll / (double)t->words));
    }
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    cJSON_AddNumberToObject(o, "tokens_per_second", (double)r->scored / r->seconds);
    if (a->cost.json) { /* the run's cost report, as seen from this file's folder */
        char dir[4096], rel[4096];
        const char *slash = strrchr(a->json, '/');
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - a->json) : 1,
                 slash ? a->json : ".");
        if (gc_path_relative_to(dir, a->cost.json, rel, sizeof rel, e)) {
            cJSON_Delete(o);
            return -1;
        }
        cJSON_AddStringToObject(o, "cost", rel);
    }
    int rc = gc_json_write(a->json, o, e);
    cJSON_Delete(o);
    return rc;
}

/* Keeps the first max_tokens ids (0: all); the kept tokens decode to a prefix of the file. */
static int measure_text(const ppl_args *a, const tok_tokenizer *tok, const uint32_t *ids,
                        const char *text, size_t len, size_t *n, ppl_text *t, gc_err *e)
{
    t->bytes = len;
    if (a->max_tokens && (size_t)a->max_tokens < *n) {
        *n = (size_t)a->max_tokens;
        t->bytes = 0;
        for (size_t i = 0; i < *n; i++) {
            size_t l;
            tok_token_bytes(tok, ids[i], &l);
            t->bytes += l;
        }
    }
    t->tokens = (long)*n;
    t->words = gpt2_count_words(text, t->bytes);
    if (t->words < 1)
        return gc_fail(e, "%s: no words in the text", a->text);
    return 0;
}

/* Windows of ctx tokens every stride (defaults: the model's context up to 1024, ctx). */
static int resolve_windows(ppl_args *a, const gpt2_model *m, gc_err *e)
{
    if (!a->ctx)
        a->ctx = m->config.max_seq_len < 1024 ? m->config.max_seq_len : 1024;
    if (!a->stride)
        a->stride = a->ctx;
    if (a->ctx > m->config.max_seq_len)
        return gc_fail(e, "--ctx %ld is longer than the model's context %d", a->ctx,
                       m->config.max_seq_len);
    return 0;
}

static void print_result(const ppl_args *a, const gpt2_ppl_result *r, const ppl_text *t)
{
    printf("tokens %ld (scored %ld), bytes %zu, words %ld, windows %ld, ctx %ld, stride %ld\n",
           t->tokens, r->scored, t->bytes, t->words, r->windows, a->ctx, a->stride);
    if (a->n_shards) {
        printf("shard %d/%d: nll %.9g nats over %ld tokens (add every shard's)\n", a->shard,
               a->n_shards, r->nll, r->scored);
    } else {
        printf("token perplexity %.6f\n", exp(r->nll / (double)r->scored));
        printf("bits per byte %.6f\n", r->nll / ((double)t->bytes * log(2.0)));
        printf("word perplexity %.6f\n", exp(r->nll / (double)t->words));
    }
    printf("time %.2f s (%.1f tokens/s)\n", r->seconds, (double)r->scored / r->seconds);
}

/* Scores the windows here, or, under mpirun, one shard per rank with the sum on rank 0.
 * *quiet: the failure is another rank's (which says it), or every rank's (rank 0 says it). */
static int score(lm_session *s, const uint32_t *ids, size_t n, const ppl_args *a, int mpi,
                 int rank, int not_started, gpt2_ppl_result *r, int *quiet, gc_err *e)
{
    gpt2_ppl_opts o = {.ctx = (int)a->ctx, .stride = (int)a->stride, .progress = 1,
                       .shard = a->n_shards ? a->shard - 1 : 0, .n_shards = a->n_shards};
    *quiet = 0;
    if (!mpi)
        return not_started ? -1 : gpt2_ppl(s->model, ids, (long)n, &o, r, e);
#ifdef GCSIM_MPI
    int rc = not_started ? -1 : 0, lo, hi;
    MPI_Allreduce(&rc, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&rc, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (lo) { /* some rank could not start; when every rank failed, rank 0 says why */
        *quiet = hi ? rank != 0 : 1;
        return rc ? rc : gc_fail(e, "another rank could not start");
    }
    if (a->n_shards) /* every rank refuses alike */
        return *quiet = rank != 0, gc_fail(e, "--shard and mpirun: give one of them");
    rc = gpt2_ppl_mpi(s->model, ids, (long)n, &o, r, e);
    *quiet = rc && !strcmp(e->msg, "ppl: another rank failed");
    return rc;
#else
    (void)rank;
    return gc_fail(e, "built without MPI");
#endif
}

/* Chips seed0 .. seed0 + n_chips - 1 of the model's cell, one after the other (each scored as
 * score does, so under mpirun too): a line each, then their mean and worst. */
static int score_chips(lm_session *s, const uint32_t *ids, size_t n, const ppl_args *a,
                       int mpi, int rank, const ppl_text *t, gpt2_ppl_result *r, int n_chips,
                       int *quiet, gc_err *e)
{
    int seed0 = s->model->attn_cfg.chip_seed;
    double sum = 0, worst = -INFINITY;
    if (rank == 0)
        printf("tokens %ld, bytes %zu, words %ld, ctx %ld, stride %ld, %d chips\n", t->tokens,
               t->bytes, t->words, a->ctx, a->stride, n_chips);
    for (int c = 0; c < n_chips; c++) {
        int rc = gpt2_attn_set_chip(s->model, seed0 + c, e);
        if (score(s, ids, n, a, mpi, rank, rc, &r[c], quiet, e))
            return -1;
        double bpb = r[c].nll / ((double)t->bytes * log(2.0));
        if (rank == 0)
            printf("chip %d: bits per byte %.6f, token perplexity %.6f, %.2f s\n", seed0 + c,
                   bpb, exp(r[c].nll / (double)r[c].scored), r[c].seconds);
        fflush(stdout);
        sum += bpb;
        worst = fmax(worst, bpb);
    }
    if (rank == 0)
        printf("chips %d: bits per byte mean %.6f, worst %.6f\n", n_chips, sum / n_chips,
               worst);
    return 0;
}

/* gcsim ppl, or gcsim cost (name "cost": --cost required, its help). */
static int ppl_main(int argc, char **argv, const char *name, void (*help)(FILE *))
{
    gc_err e = {{0}};
    ppl_args a;
    int prc = parse_args(argc, argv, &a, &e);
    if (!prc && !strcmp(name, "cost") && !a.cost.json)
        prc = gc_fail(&e, "--cost FILE.json is required");
    if (prc)
        return cli_parse_exit(name, prc, help, &e);
    attn_activity *act = NULL;
    int mpi = 0, rank = 0;
#ifdef GCSIM_MPI
    if ((mpi = cli_under_mpirun())) {
        MPI_Init(&argc, &argv);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    }
#endif
    char *text = NULL;
    size_t len = 0, n = 0;
    uint32_t *ids = NULL;
    lm_session s = {0};
    ppl_text t = {0};
    gpt2_ppl_result one = {0};
    int quiet = 0;
    int rc = gc_interrupt_catch(&e) || (rank == 0 && a.json && gc_check_writable(a.json, &e)) ||
             lm_session_open(&s, a.model, &a.over, a.bpe, rank == 0 ? stdout : NULL, &e) ||
             gpt2_cli_read_tokens(a.text, s.tok, &text, &len, &ids, &n, &e) ||
             measure_text(&a, s.tok, ids, text, len, &n, &t, &e) ||
             resolve_windows(&a, s.model, &e) ||
             (a.cost.json && mpi &&
              gc_fail(&e, "--cost counts the activity of one process: run it without mpirun")) ||
             (a.cost.json && (gc_check_writable(a.cost.json, &e) ||
                              gpt2_count_activity(s.model, &act, &e)));
    int n_chips = rc ? 0 : s.model->attn_cfg.chips;
    if (!rc && n_chips > 0 && a.n_shards)
        rc = gc_fail(&e, "--shard and --chips: score the chips of one run in one process");
    gpt2_ppl_result *res = n_chips > 0 ? calloc((size_t)n_chips, sizeof *res) : &one;
    if (!rc && !res)
        rc = gc_fail(&e, "out of memory for %d chips' results", n_chips);
    if (n_chips > 0 && res) {
        rc = rc ? -1 : score_chips(&s, ids, n, &a, mpi, rank, &t, res, n_chips, &quiet, &e);
    } else {
        rc = score(&s, ids, n, &a, mpi, rank, rc, &one, &quiet, &e);
        if (!rc && rank == 0)
            print_result(&a, &one, &t);
    }
    rc = rc || (act && cost_report(&a.cost, act, &s.model->attn_cfg, &e));
    rc = rc || (rank == 0 && a.json &&
                write_json(&a, s.tokenizer, res, n_chips, &t, s.model, argc, argv, &e));
    if (res && res != &one)
        free(res);
    if (rc && !quiet)
        fprintf(stderr, "gcsim %s: %s\n", name, e.msg);
    if (s.model)
        gpt2_count_activity_stop(s.model);
    attn_activity_free(act);
    free(text);
    free(ids);
    lm_session_free(&s);
#ifdef GCSIM_MPI
    if (mpi)
        MPI_Finalize();
#endif
    return cli_exit_status(rc);
}

int cmd_ppl(int argc, char **argv) { return ppl_main(argc, argv, "ppl", usage); }

static void cost_usage(FILE *f)
{
    fprintf(f,
            "usage: gcsim cost --model PATH --text FILE --cost out.json [--shape LxHxD_MODEL]\n"
            "                  [--gpu FILE] [--leak-period S] [ppl options] [analog options]\n\n"
            "What a token costs: runs the model over the text as gcsim ppl does (same options),\n"
            "counting the analog attention's activity, and reports energy per token by\n"
            "component, latency, area and the ratios against the measured GPU.\n\n");
    usage(f);
}

int cmd_cost(int argc, char **argv) { return ppl_main(argc, argv, "cost", cost_usage); }
