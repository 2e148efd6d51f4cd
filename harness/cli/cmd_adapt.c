/* gcsim adapt: sets the per-head hardware scalers of a checkpoint by moment matching on one
 * fixed calibration batch (PAPER.md §4), optionally followed by a coordinate search of the
 * same scalers on the calibration loss, and writes the adapted checkpoint (safetensors with
 * the scalers and the targets, loadable wherever the input was). */
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
            "usage: gcsim adapt --model PATH --text FILE --attention paper-cubic|calibrated\n"
            "                   [--cell cell.h5] [--targets checkpoint|VARIANT] --out PATH\n"
            "                   [--batch B] [--ctx T] [--max-iter N] [--tokenizer gpt2|bytes]\n"
            "                   [--bpe-dir DIR] [--decomp-tol X]\n"
            "                   [--search PASSES] [--search-windows W] [--search-from P]\n\n"
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
            "The search is not part of PAPER.md's method.\n" GPT2_CLI_DECOMP_TOL_HELP);
}

typedef struct {
    const char *model, *text, *attention, *cell, *targets, *out, *tokenizer, *bpe;
    long batch, ctx, max_iter, search, search_windows, search_from;
    double decomp_tol;
} adapt_args;

static int parse_args(int argc, char **argv, adapt_args *a, gc_err *e)
{
    *a = (adapt_args){.tokenizer = "gpt2", .batch = 4, .max_iter = 100, .search_from = 1};
    const char *v;
    const char *names[] = {"model",     "text",     "attention", "cell",   "targets",
                           "out",       "tokenizer", "bpe-dir",  "batch",  "ctx",
                           "max-iter",  "search",   "search-windows", "search-from",
                           "decomp-tol"};
    const char **dst[] = {&a->model, &a->text, &a->attention, &a->cell, &a->targets, &a->out,
                          &a->tokenizer, &a->bpe};
    long *num[] = {&a->batch, &a->ctx, &a->max_iter, &a->search, &a->search_windows,
                   &a->search_from};
    for (int i = 1; i < argc; i++) {
        int k, r = 0;
        for (k = 0; k < (int)(sizeof names / sizeof *names); k++)
            if ((r = gpt2_cli_opt(argc, argv, &i, names[k], &v)))
                break;
        if (r < 0)
            return gc_fail(e, "--%s needs a value", names[k]);
        if (!r)
            return gc_fail(e, "unexpected argument '%s'", argv[i]);
        if (k < 8)
            *dst[k] = v;
        else if (k == 14) {
            if (gpt2_cli_decomp_tol(v, &a->decomp_tol, e))
                return -1;
        } else if (gpt2_cli_long(v, names[k], k == 10 || k == 11 ? 0 : 1, 1 << 20, num[k - 8],
                                 e))
            return -1;
    }
    if (!a->model || !a->text || !a->attention || !a->out)
        return gc_fail(e, "--model, --text, --attention and --out are required");
    return 0;
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

/* Targets from the checkpoint or from running variant src on the batch. */
static int get_targets(gpt2_model *m, const adapt_args *a, const uint32_t *ids, int B, int T,
                       float *tm, float *ts, gc_err *e)
{
    size_t n = (size_t)m->config.n_layer * GPT2_HW_N * m->config.n_head;
    const char *src = a->targets ? a->targets : "checkpoint";
    if (!strcmp(src, "checkpoint")) {
        if (!m->has_targets)
            return gc_fail(e, "%s has no target statistics (h.N.attn.hw.target_mean/std); "
                              "record them with --targets VARIANT, e.g. paper-linear", a->model);
        memcpy(tm, m->params.target_mean, n * sizeof *tm);
        memcpy(ts, m->params.target_std, n * sizeof *ts);
        return 0;
    }
    gpt2_attn_kind kind;
    if (gpt2_attn_kind_parse(src, &kind, e) || gpt2_set_attention(m, kind, a->cell, e) ||
        gpt2_stats_enable(m, 1, e) || gpt2_forward(m, ids, B, T, e))
        return -1;
    gpt2_stats_get(m, tm, ts);
    return gpt2_stats_enable(m, 0, e);
}

int cmd_adapt(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    gc_err e = {{0}};
    adapt_args a;
    if (parse_args(argc, argv, &a, &e)) {
        fprintf(stderr, "gcsim adapt: %s\n", e.msg);
        usage(stderr);
        return 2;
    }
    char buf[4096], *text = NULL;
    size_t len = 0, n = 0;
    uint32_t *ids = NULL;
    float *tm = NULL;
    tok_tokenizer *tok = NULL;
    gpt2_model *m = NULL;
    gpt2_attn_kind kind;
    int rc = 1;
    if (gpt2_attn_kind_parse(a.attention, &kind, &e))
        goto done;
    if (kind != GPT2_ATTN_PAPER_CUBIC && kind != GPT2_ATTN_CALIBRATED &&
        kind != GPT2_ATTN_PAPER_LINEAR) {
        gc_fail(&e, "--attention %s has no hardware scalers to adapt", a.attention);
        goto done;
    }
    if (tok_alloc_by_name(&tok, a.tokenizer, gpt2_cli_bpe_dir(a.bpe, buf, sizeof buf), &e) ||
        gpt2_load(&m, a.model, &e) ||
        gpt2_cli_read_tokens(a.text, tok, &text, &len, &ids, &n, &e))
        goto done;
    m->attn_decomp_tol = a.decomp_tol;
    int T = (int)(a.ctx ? a.ctx : m->config.max_seq_len);
    int B = (int)a.batch;
    if (T > m->config.max_seq_len || (size_t)B * T > n) {
        gc_fail(&e, "the batch of %d x %d tokens needs T <= %d and %s to hold %d tokens (it has "
                    "%zu)", B, T, m->config.max_seq_len, a.text, B * T, n);
        goto done;
    }
    /* search windows: W of T tokens, each with its next token as target */
    int W = (int)(a.search_windows ? a.search_windows : 64);
    if ((size_t)W * T + 1 > n)
        W = (int)((n - 1) / T);
    if (a.search && W < 1) {
        gc_fail(&e, "--search needs %s to hold one window of %d tokens and one more (it has "
                    "%zu)", a.text, T, n);
        goto done;
    }
    size_t nh = (size_t)m->config.n_layer * GPT2_HW_N * m->config.n_head;
    tm = malloc(2 * nh * sizeof *tm);
    if (!tm) {
        gc_fail(&e, "out of memory");
        goto done;
    }
    if (get_targets(m, &a, ids, B, T, tm, tm + nh, &e) ||
        gpt2_set_attention(m, kind, a.cell, &e))
        goto done;
    gpt2_adapt_opts o;
    gpt2_adapt_opts_default(&o);
    o.max_iter = (int)a.max_iter;
    o.on_iter = print_iter;
    int iters;
    double loss;
    printf("adapting %s scalers of %s on %d x %d tokens of %s (targets: %s)\n", a.attention,
           a.model, B, T, a.text, a.targets ? a.targets : "checkpoint");
    if (gpt2_adapt(m, ids, B, T, tm, tm + nh, &o, &iters, &loss, &e))
        goto done;
    printf("%s after %d iterations: largest moment error %.3e (tolerance %.0e)\n",
           loss < o.tol ? "converged" : "stopped", iters, loss, o.tol);
    if (a.search) {
        gpt2_search_opts so;
        gpt2_search_opts_default(&so);
        so.passes = (int)a.search;
        so.first_pass = (int)a.search_from;
        so.on_layer = print_layer;
        so.ctx = &m->config.n_layer;
        long evals;
        printf("searching the scalers on %d windows of %d tokens of %s, %d pass%s\n", W, T,
               a.text, so.passes, so.passes > 1 ? "es" : "");
        if (gpt2_search(m, ids, W, T, &so, &evals, &loss, &e))
            goto done;
    }
    if (gpt2_save(m, a.out, &e))
        goto done;
    printf("wrote %s\n", a.out);
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "gcsim adapt: %s\n", e.msg);
    free(text);
    free(ids);
    free(tm);
    tok_free(tok);
    gpt2_free(m);
    return rc;
}
