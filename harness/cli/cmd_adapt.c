/* gcsim adapt: sets the per-head hardware scalers of a checkpoint by moment matching on one
 * fixed calibration batch (PAPER.md §4), optionally followed by a coordinate search of the
 * same scalers on the calibration loss, and writes the adapted checkpoint (safetensors with
 * the scalers and the targets, loadable wherever the input was). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analog_options.h"
#include "cli.h"
#include "commands.h"
#include "gpt2.h"
#include "gpt2_cli.h"
#include "tokenizer.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gcsim adapt --model PATH --text FILE --out PATH [--targets checkpoint|VARIANT]\n"
            "                   [--batch B] [--ctx T] [--max-iter N] [--tokenizer gpt2|bytes]\n"
            "                   [--bpe-dir DIR] [--search PASSES] [--search-windows W]\n"
            "                   [--search-from P] [analog options, e.g. --attention paper-cubic\n"
            "                   or --cell cell.h5]\n\n"
            "Adapts the model to the analog attention the options (over the model's own\n"
            "description) configure; it must be an analog variant. The output's config.json\n"
            "records that configuration and the tokenizer, so later commands need no flags.\n"
            "The calibration batch is the first B x T tokens of FILE (B = 4, T = the model's\n"
            "context by default: a head's output moments grow with the keys it sees, so they\n"
            "must be measured at the length the targets were recorded at), cut into B\n"
            "sequences. Targets are the mean and\n"
            "standard deviation of every scaler output (q', k', v', head output; per layer and\n"
            "head): from the checkpoint (default when it has them), or recorded by running\n"
            "VARIANT (e.g. paper-linear) on the same batch. Each iteration measures the moments\n"
            "and sets a <- a*std_target/std, b <- b + mean_target - mean, blended with a\n"
            "relaxation falling from 1 to 0.1 over 50 iterations; it stops when every moment\n"
            "is within 1e-4 or after --max-iter (100) iterations. Prints the errors per\n"
            "iteration. PATH for --out is a folder (model.safetensors + config.json) or a\n"
            ".safetensors file.\n"
            "--search PASSES (default 0: none) then tunes the same scalers without gradients on\n"
            "the loss (mean next-token cross-entropy) of the first W windows of T tokens of FILE\n"
            "(--search-windows, default 64 or as many as FILE holds): layer by layer, stream\n"
            "(k, v, o, q) and head, it tries a*(1 +- ds) and b +- db and keeps the first that\n"
            "lowers the loss; ds = 0.08 and db = 0.02 halve after each pass. A pass makes 8 to\n"
            "16 loss evaluations per layer and head, each running the layers from the one\n"
            "searched up. --search-from P numbers the passes from P (steps halved P - 1 times):\n"
            "a search stopped after pass P - 1 resumes from its output with --max-iter 0.\n"
            "The search is not part of PAPER.md's method.\n\n");
    analog_options_help(f);
}

typedef struct {
    const char *model, *text, *targets, *out, *bpe;
    long batch, ctx, max_iter, search, search_windows, search_from;
    gpt2_settings over;
} adapt_args;

static int set_opt(int c, const char *v, void *ctx, gc_err *e)
{
    adapt_args *a = ctx;
    switch (c) {
    case 'm': a->model = v; return 0;
    case 't': a->text = v; return 0;
    case 'g': a->targets = v; return 0;
    case 'o': a->out = v; return 0;
    case 'b': a->bpe = v; return 0;
    case 'k': return gpt2_settings_add(&a->over, "tokenizer", v, e);
    case 'B': return gc_parse_long(v, "--batch", 1, 1 << 20, &a->batch, e);
    case 'T': return gc_parse_long(v, "--ctx", 1, 1 << 20, &a->ctx, e);
    case 'i': return gc_parse_long(v, "--max-iter", 0, 1 << 20, &a->max_iter, e);
    case 's': return gc_parse_long(v, "--search", 0, 1 << 20, &a->search, e);
    case 'w': return gc_parse_long(v, "--search-windows", 1, 1 << 20, &a->search_windows, e);
    case 'f': return gc_parse_long(v, "--search-from", 1, 1 << 20, &a->search_from, e);
    }
    return gc_fail(e, "option %d not handled", c);
}

/* Returns 1 after --help, 0 when parsed, -1 on an error. */
static int parse_args(int argc, char **argv, adapt_args *a, gc_err *e)
{
    static const struct option own[] = {
        {"model", required_argument, 0, 'm'}, {"text", required_argument, 0, 't'},
        {"targets", required_argument, 0, 'g'}, {"out", required_argument, 0, 'o'},
        {"tokenizer", required_argument, 0, 'k'}, {"bpe-dir", required_argument, 0, 'b'},
        {"batch", required_argument, 0, 'B'}, {"ctx", required_argument, 0, 'T'},
        {"max-iter", required_argument, 0, 'i'}, {"search", required_argument, 0, 's'},
        {"search-windows", required_argument, 0, 'w'},
        {"search-from", required_argument, 0, 'f'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    *a = (adapt_args){.batch = 4, .max_iter = 100, .search_from = 1};
    int r = analog_getopt(argc, argv, own, set_opt, a, &a->over, e);
    if (!r && (!a->model || !a->text || !a->out))
        return gc_fail(e, "--model, --text and --out are required");
    const char *in[] = {a->model, a->text};
    if (!r && gc_check_output("--out", a->out, in, 2, e))
        return -1;
    return r;
}

static void print_layer(void *ctx, int pass, int layer, double loss, long evals)
{
    int L = *(const int *)ctx;
    if (pass == 0)
        printf("search: calibration loss %.6f nats per token\n", loss);
    else
        printf("search pass %d, layer %d of %d: loss %.6f after %ld evaluations\n", pass,
               layer, L, loss, evals);
    fflush(stdout);
}

static void print_iter(void *ctx, int iter, double relax, double em, double es)
{
    (void)ctx;
    printf("iter %3d  relax %.3f  max |mean - target| %.3e  max |std - target| %.3e\n", iter,
           relax, em, es);
    fflush(stdout);
}

/* Targets from the checkpoint, or recorded by running variant `targets` on the batch with
 * the rest of the configuration cfg. */
static int get_targets(gpt2_model *m, const adapt_args *a, const attn_config *cfg,
                       const uint32_t *ids, int B, int T, float *tm, float *ts, gc_err *e)
{
    size_t n = (size_t)m->config.n_layer * GPT2_HW_N * m->config.n_head;
    if (!a->targets || !strcmp(a->targets, "checkpoint")) {
        if (!m->has_targets)
            return gc_fail(e, "%s has no target statistics (h.N.attn.hw.target_mean/std); "
                              "record them with --targets VARIANT, e.g. paper-linear", a->model);
        memcpy(tm, m->params.target_mean, n * sizeof *tm);
        memcpy(ts, m->params.target_std, n * sizeof *ts);
        return 0;
    }
    attn_config t = *cfg;
    if (attn_variant_parse(a->targets, &t.variant, e))
        return gc_wrap(e, "--targets");
    if (t.variant->engine != ATTN_ENGINE_CELL)
        t.cell_file[0] = t.cell_preset[0] = 0;
    if (gpt2_set_attention(m, &t, e) || gpt2_stats_enable(m, 1, e) ||
        gpt2_forward(m, ids, B, T, e))
        return -1;
    gpt2_stats_get(m, tm, ts);
    return gpt2_stats_enable(m, 0, e) || gpt2_set_attention(m, cfg, e);
}

/* The calibration batch (B x T tokens) and the search windows (W of T, each with its next
 * token as target). */
static int batch_shape(const adapt_args *a, const gpt2_model *m, size_t n, int *B, int *T,
                       int *W, gc_err *e)
{
    *T = (int)(a->ctx ? a->ctx : m->config.max_seq_len);
    *B = (int)a->batch;
    if (*T > m->config.max_seq_len || (size_t)*B * *T > n)
        return gc_fail(e, "the batch of %d x %d tokens needs T <= %d and %s to hold %d tokens "
                          "(it has %zu)", *B, *T, m->config.max_seq_len, a->text, *B * *T, n);
    *W = (int)(a->search_windows ? a->search_windows : 64);
    if ((size_t)*W * *T + 1 > n)
        *W = (int)((n - 1) / *T);
    if (a->search && *W < 1)
        return gc_fail(e, "--search needs %s to hold one window of %d tokens and one more (it "
                          "has %zu)", a->text, *T, n);
    return 0;
}

static int moment_matching(gpt2_model *m, const adapt_args *a, const uint32_t *ids, int B,
                           int T, const float *tm, const float *ts, gc_err *e)
{
    gpt2_adapt_opts o;
    gpt2_adapt_opts_default(&o);
    o.max_iter = (int)a->max_iter;
    o.on_iter = print_iter;
    int iters;
    double loss;
    printf("adapting the %s scalers of %s on %d x %d tokens of %s (targets: %s)\n",
           m->attn_cfg.variant->name, a->model, B, T, a->text,
           a->targets ? a->targets : "checkpoint");
    if (gpt2_adapt(m, ids, B, T, tm, ts, &o, &iters, &loss, e))
        return -1;
    printf("%s after %d iterations: largest moment error %.3e (tolerance %.0e)\n",
           loss < o.tol ? "converged" : "stopped", iters, loss, o.tol);
    return 0;
}

static int search(gpt2_model *m, const adapt_args *a, const uint32_t *ids, int W, int T,
                  gc_err *e)
{
    gpt2_search_opts so;
    gpt2_search_opts_default(&so);
    so.passes = (int)a->search;
    so.first_pass = (int)a->search_from;
    so.on_layer = print_layer;
    so.ctx = &m->config.n_layer;
    long evals;
    double loss;
    printf("searching the scalers on %d windows of %d tokens of %s, %d pass%s\n", W, T, a->text,
           so.passes, so.passes > 1 ? "es" : "");
    return gpt2_search(m, ids, W, T, &so, &evals, &loss, e);
}

static int adapt(const adapt_args *a, lm_session *s, const uint32_t *ids, size_t n, gc_err *e)
{
    gpt2_model *m = s->model;
    attn_config cfg = m->attn_cfg;
    int B = 0, T = 0, W = 0; /* set by batch_shape; zero keeps -Wmaybe-uninitialized quiet */
    if (!attn_variant_is_analog(cfg.variant))
        return gc_fail(e, "attention %s has no hardware scalers to adapt (give an analog "
                          "variant, e.g. --attention paper-cubic or --cell cell.h5)",
                       cfg.variant->name);
    if (batch_shape(a, m, n, &B, &T, &W, e))
        return -1;
    size_t nh = (size_t)m->config.n_layer * GPT2_HW_N * m->config.n_head;
    float *tm = malloc(2 * nh * sizeof *tm);
    int rc = tm ? 0 : gc_fail(e, "out of memory");
    rc = rc || get_targets(m, a, &cfg, ids, B, T, tm, tm + nh, e) ||
         moment_matching(m, a, ids, B, T, tm, tm + nh, e) ||
         (a->search && search(m, a, ids, W, T, e)) ||
         gpt2_settings_put(&m->described, "tokenizer", s->tokenizer, e) ||
         gpt2_save(m, a->out, e);
    free(tm);
    if (!rc)
        printf("wrote %s\n", a->out);
    return rc ? -1 : 0;
}

int cmd_adapt(int argc, char **argv)
{
    gc_err e = {{0}};
    adapt_args a;
    int prc = parse_args(argc, argv, &a, &e);
    if (prc)
        return cli_parse_exit("adapt", prc, usage, &e);
    char *text = NULL;
    size_t len = 0, n = 0;
    uint32_t *ids = NULL;
    lm_session s = {0};
    int rc = gc_check_writable(a.out, &e) ||
             lm_session_open(&s, a.model, &a.over, a.bpe, stdout, &e) ||
             gpt2_cli_read_tokens(a.text, s.tok, &text, &len, &ids, &n, &e) ||
             adapt(&a, &s, ids, n, &e);
    if (rc)
        fprintf(stderr, "gcsim adapt: %s\n", e.msg);
    free(text);
    free(ids);
    lm_session_free(&s);
    return rc;
}
