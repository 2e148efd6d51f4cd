/* gcsim attention: run one attention variant on q, k, v from .npy files and write S, phi and
 * the output as .npy (float32) plus settings.json, so results can be compared with a
 * PyTorch model. Parallel or streaming mode; the fast path or the float64 reference. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "attention.h"
#include "cli.h"
#include "commands.h"
#include "analog_options.h"
#include "cost_options.h"

typedef struct {
    const char *q, *k, *v, *out, *mode;
    int reference;
    attn_config cfg;
    cost_request cost;
} attention_args;

static void attention_usage(FILE *f)
{
    fprintf(f,
        "usage: gcsim attention --q Q.npy --k K.npy --v V.npy --out DIR\n"
        "         (--attention VARIANT | --cell cell.h5 | --cell-preset paper-cubic|paper-linear)\n"
        "         [--mode parallel|streaming] [--reference] [cost options] [analog options]\n\n"
        "q, k, v: float32 (B,T,D) (B = batch x heads), per-head already-scaled inputs.\n"
        "Writes DIR/S.npy (coulombs for analog variants), DIR/phi.npy (B,T,T), DIR/out.npy\n"
        "(B,T,D) and DIR/settings.json (with the whole configuration used). --cell runs the\n"
        "calibrated variant through a cell model; --cell-preset through the paper's model\n"
        "expressed as a cell. A lone layer: the default token period of a cell is one layer's\n"
        "latency unless --layers or --token-period says otherwise.\n"
        "--reference uses the slow direct float64 evaluator instead of the fast path.\n"
        "With --cost, each of the B heads is counted as one head of one layer.\n\n");
    cost_options_help(f);
    analog_options_help(f);
}

static int set_opt(int c, const char *v, void *ctx, gc_err *e)
{
    attention_args *a = ctx;
    switch (c) {
    case 'q': a->q = v; return 0;
    case 'k': a->k = v; return 0;
    case 'v': a->v = v; return 0;
    case 'o': a->out = v; return 0;
    case 'm': a->mode = v; return 0;
    case 'r': a->reference = 1; return 0;
    }
    int taken = cost_option_take(&a->cost, c, v, e);
    if (taken)
        return taken < 0 ? -1 : 0;
    return gc_fail(e, "option %d not handled", c);
}

/* No model here to say which variant: the options must. */
static int names_variant(const gpt2_settings *over)
{
    for (int i = 0; i < over->n; i++)
        if (!strcmp(over->set[i].key, "attention") || !strcmp(over->set[i].key, "cell_file") ||
            !strcmp(over->set[i].key, "cell_preset"))
            return 1;
    return 0;
}

/* Returns 1 after --help, 0 when parsed, -1 on an error. */
static int parse_args(int argc, char **argv, attention_args *a, gc_err *e)
{
    static const struct option own[] = {
        {"q", required_argument, 0, 'q'}, {"k", required_argument, 0, 'k'},
        {"v", required_argument, 0, 'v'}, {"out", required_argument, 0, 'o'},
        {"mode", required_argument, 0, 'm'}, {"reference", no_argument, 0, 'r'},
        COST_OPTIONS, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    gpt2_settings over = {0};
    memset(a, 0, sizeof *a);
    a->mode = "parallel";
    int r = analog_getopt(argc, argv, own, set_opt, a, &over, e);
    if (r)
        return r;
    if (!a->q || !a->k || !a->v || !a->out)
        return gc_fail(e, "--q, --k, --v and --out are required");
    if (strcmp(a->mode, "parallel") && strcmp(a->mode, "streaming"))
        return gc_fail(e, "--mode: expected parallel or streaming, got '%s'", a->mode);
    if (!names_variant(&over))
        return gc_fail(e, "give --attention VARIANT, --cell or --cell-preset");
    attn_config_default(&a->cfg, &attn_softmax);
    return analog_config_apply(&a->cfg, &over, e);
}

/* ---------------------------------------------------------------------------------------- */

typedef struct {
    gc_npy q, k, v;
    int B, T, D;
} attention_inputs;

static int load_inputs(const attention_args *a, attention_inputs *in, gc_err *e)
{
    memset(in, 0, sizeof *in);
    if (gc_npy_read(a->q, GC_NPY_F32, &in->q, e))
        return -1;
    size_t any3[3] = {0, 0, 0};
    if (gc_npy_check_shape(&in->q, a->q, 3, any3, e))
        return -1;
    if (gc_npy_read(a->k, GC_NPY_F32, &in->k, e) ||
        gc_npy_check_shape(&in->k, a->k, 3, in->q.shape, e) ||
        gc_npy_read(a->v, GC_NPY_F32, &in->v, e) ||
        gc_npy_check_shape(&in->v, a->v, 3, in->q.shape, e))
        return -1;
    const size_t *sh = in->q.shape;
    if (sh[0] == 0 || sh[1] == 0 || sh[2] == 0 || sh[0] > 65536 || sh[1] > 65536 ||
        sh[2] > 65536 || sh[0] * sh[1] * sh[1] > ((size_t)1 << 32))
        return gc_fail(e, "%s: shape (%zu,%zu,%zu) must be (B,T,D) with 1 <= B, T, D <= 65536 "
                       "and B*T*T <= 2^32 (the size of S)", a->q, sh[0], sh[1], sh[2]);
    if (gc_npy_check_finite(&in->q, a->q, e) || gc_npy_check_finite(&in->k, a->k, e) ||
        gc_npy_check_finite(&in->v, a->v, e))
        return -1;
    in->B = (int)in->q.shape[0];
    in->T = (int)in->q.shape[1];
    in->D = (int)in->q.shape[2];
    return 0;
}

static void free_inputs(attention_inputs *in)
{
    gc_npy_free(&in->q);
    gc_npy_free(&in->k);
    gc_npy_free(&in->v);
}

/* Streaming: token by token, the rows of S and phi placed into (B,T,T). */
static int run_streaming(attn_plan *plan, const attention_inputs *in, float *out, float *S,
                         float *phi, gc_err *e)
{
    int B = in->B, T = in->T, D = in->D;
    attn_stream *st;
    if (attn_stream_alloc(plan, B, &st, e))
        return -1;
    int W = attn_stream_window(st);
    float *buf = malloc(((size_t)4 * B * D + 2 * (size_t)B * W) * sizeof *buf);
    int rc = buf ? 0 : gc_fail(e, "out of memory");
    float *q = buf, *k = q + (size_t)B * D, *v = k + (size_t)B * D, *o = v + (size_t)B * D;
    float *srow = o + (size_t)B * D, *prow = srow + (size_t)B * W;
    const float *Q = in->q.data, *K = in->k.data, *V = in->v.data;
    for (int t = 0; !rc && t < T; t++) {
        for (int b = 0; b < B; b++) {
            size_t src = ((size_t)b * T + t) * D;
            memcpy(q + (size_t)b * D, Q + src, (size_t)D * sizeof *q);
            memcpy(k + (size_t)b * D, K + src, (size_t)D * sizeof *k);
            memcpy(v + (size_t)b * D, V + src, (size_t)D * sizeof *v);
        }
        rc = attn_stream_step(st, q, k, v, o, srow, prow, e);
        for (int b = 0; !rc && b < B; b++) {
            memcpy(out + ((size_t)b * T + t) * D, o + (size_t)b * D, (size_t)D * sizeof *o);
            for (int c = 0; c < W; c++) {
                long j = (long)t - W + 1 + c;
                if (j < 0)
                    continue;
                S[((size_t)b * T + t) * T + j] = srow[(size_t)b * W + c];
                phi[((size_t)b * T + t) * T + j] = prow[(size_t)b * W + c];
            }
        }
    }
    free(buf);
    attn_stream_free(st);
    return rc;
}

/* The float64 reference, converted to float32 for the outputs. */
static int run_reference(const attn_config *cfg, const attention_inputs *in, float *out,
                         float *S, float *phi, attn_activity *act, gc_err *e)
{
    size_t nO = (size_t)in->B * in->T * in->D, nS = (size_t)in->B * in->T * in->T;
    double *o = malloc(nO * sizeof *o), *s = malloc(nS * sizeof *s), *p = malloc(nS * sizeof *p);
    int rc = o && s && p ? attn_reference_forward_counted(cfg, in->q.data, in->k.data,
                                                          in->v.data, in->B, in->T, in->D, o, s,
                                                          p, act, 0, e)
                         : gc_fail(e, "out of memory");
    for (size_t i = 0; !rc && i < nO; i++)
        out[i] = (float)o[i];
    for (size_t i = 0; !rc && i < nS; i++) {
        S[i] = (float)s[i];
        phi[i] = (float)p[i];
    }
    free(o);
    free(s);
    free(p);
    return rc;
}

static cJSON *settings_json(const attention_args *a, const attn_plan *plan,
                            const attention_inputs *in, double seconds)
{
    const attn_config *c = plan ? attn_plan_config(plan) : &a->cfg;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "gcsim_version", GCSIM_VERSION);
    cJSON_AddStringToObject(j, "variant", c->variant->name);
    cJSON_AddStringToObject(j, "mode", a->mode);
    cJSON_AddStringToObject(j, "engine", a->reference ? "reference-float64" : "fast-float32");
    cJSON_AddStringToObject(j, "cell", c->cell ? cell_model_source(c->cell) : "");
    cJSON_AddNumberToObject(j, "B", in->B);
    cJSON_AddNumberToObject(j, "T", in->T);
    cJSON_AddNumberToObject(j, "D", in->D);
    gpt2_attn_config_json(j, c);
    if (plan) {
        cJSON_AddNumberToObject(j, "terms_array1", attn_plan_rank(plan, 1));
        cJSON_AddNumberToObject(j, "terms_array2", attn_plan_rank(plan, 2));
        cJSON_AddNumberToObject(j, "decomp_error_array1", attn_plan_decomp_error(plan, 1));
        cJSON_AddNumberToObject(j, "decomp_error_array2", attn_plan_decomp_error(plan, 2));
        cJSON_AddNumberToObject(j, "converter_table_error", attn_plan_converter_error(plan));
    }
    cJSON_AddNumberToObject(j, "seconds", seconds);
    return j;
}

static int write_outputs(const attention_args *a, const attention_inputs *in, const float *out,
                         const float *S, const float *phi, cJSON *settings, gc_err *e)
{
    char path[4096];
    size_t sO[3] = {(size_t)in->B, (size_t)in->T, (size_t)in->D};
    size_t sS[3] = {(size_t)in->B, (size_t)in->T, (size_t)in->T};
    if (gc_mkdir_p(a->out, e))
        return -1;
    snprintf(path, sizeof path, "%s/S.npy", a->out);
    if (gc_npy_write(path, GC_NPY_F32, 3, sS, S, e))
        return -1;
    snprintf(path, sizeof path, "%s/phi.npy", a->out);
    if (gc_npy_write(path, GC_NPY_F32, 3, sS, phi, e))
        return -1;
    snprintf(path, sizeof path, "%s/out.npy", a->out);
    if (gc_npy_write(path, GC_NPY_F32, 3, sO, out, e))
        return -1;
    snprintf(path, sizeof path, "%s/settings.json", a->out);
    return gc_json_write(path, settings, e);
}

static int attention_run(const attention_args *a, gc_err *e)
{
    attention_args args = *a;
    attention_inputs in;
    cell_model *cell = NULL;
    attn_plan *plan = NULL;
    float *out = NULL, *S = NULL, *phi = NULL;
    cJSON *settings = NULL;
    int rc = load_inputs(a, &in, e);
    if (!rc)
        rc = attn_config_load_cell(&args.cfg, &cell, e);
    args.cfg.cell = cell;
    size_t nS = rc ? 0 : (size_t)in.B * in.T * in.T;
    if (!rc && !(out = malloc((size_t)in.B * in.T * in.D * sizeof *out)))
        rc = gc_fail(e, "out of memory");
    if (!rc && (!(S = calloc(nS, sizeof *S)) || !(phi = calloc(nS, sizeof *phi))))
        rc = gc_fail(e, "out of memory for S and phi (B·T² = %zu floats each)", nS);
    if (!rc && !a->reference)
        rc = attn_plan_alloc(&args.cfg, in.D, in.T, &plan, e);
    if (!rc && plan && args.cfg.chips > 0) /* a chip of B heads, one layer */
        rc = attn_plan_chip(plan, args.cfg.chip_seed, in.B, e);
    attn_activity *act = NULL;
    const attn_config *used = plan ? attn_plan_config(plan) : &args.cfg;
    if (!rc && a->cost.json)
        rc = gc_check_writable(a->cost.json, e) ||
             attn_activity_alloc(used, 1, in.B, &act, e) ||
             (plan && attn_plan_set_activity(plan, act, 0, e));
    double t0 = gc_now();
    if (!rc && a->reference)
        rc = run_reference(&args.cfg, &in, out, S, phi, act, e);
    else if (!rc && !strcmp(a->mode, "streaming"))
        rc = run_streaming(plan, &in, out, S, phi, e);
    else if (!rc)
        rc = attn_forward_parallel(plan, in.q.data, in.k.data, in.v.data, in.B, in.T, in.D,
                                   out, S, phi, e);
    if (!rc) {
        settings = settings_json(&args, plan, &in, gc_now() - t0);
        rc = write_outputs(a, &in, out, S, phi, settings, e);
    }
    if (!rc && act)
        rc = cost_report(&a->cost, act, used, e);
    attn_activity_free(act);
    cJSON_Delete(settings);
    free(out);
    free(S);
    free(phi);
    attn_plan_free(plan);
    cell_model_free(cell);
    free_inputs(&in);
    return rc;
}

int cmd_attention(int argc, char **argv)
{
    attention_args a;
    gc_err e = {{0}};
    int prc = parse_args(argc, argv, &a, &e);
    if (prc)
        return cli_parse_exit("attention", prc, attention_usage, &e);
    if (attention_run(&a, &e)) {
        fprintf(stderr, "gcsim attention: %s\n", e.msg);
        return 1;
    }
    return 0;
}
