/* gcsim attention: run one attention variant on q, k, v from .npy files and write S, phi and
 * the output as .npy (float32) plus settings.json, so results can be compared with a
 * PyTorch model. Parallel or streaming mode; the fast path or the float64 reference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "attention.h"
#include "cli.h"
#include "commands.h"
#include "gpt2_cli.h"

typedef struct {
    const char *q, *k, *v, *out, *preset, *cell, *cell_preset, *mode;
    int reference;
    attn_config cfg;
} attention_args;

static void attention_usage(FILE *f)
{
    fprintf(f,
        "usage: gcsim attention --q Q.npy --k K.npy --v V.npy\n"
        "         (--preset softmax|softmax-swa|paper-linear|paper-cubic | --cell cell.h5 |\n"
        "          --cell-preset paper-cubic|paper-linear)\n"
        "         [--mode parallel|streaming] [--window M] [--tile N] [--no-quant]\n"
        "         [--no-quant-q] [--no-quant-k] [--no-quant-v] [--no-quant-out]\n"
        "         [--q-levels N] [--kv-levels N] [--out-levels N] [--no-decay]\n"
        "         [--decay-lambda X | --token-period S] [--softmax-scale X] [--decomp-tol X]\n"
        "         [--reference]\n"
        "         --out DIR\n"
        "q, k, v: float32 (B,T,D) (B = batch x heads), per-head already-scaled inputs.\n"
        "Writes DIR/S.npy, DIR/phi.npy (B,T,T), DIR/out.npy (B,T,D) and DIR/settings.json.\n"
        "--cell runs the calibrated variant through a cell model; --cell-preset through the\n"
        "paper's model expressed as a cell (it must match --preset paper-cubic).\n"
        GPT2_CLI_DECOMP_TOL_HELP
        "--reference uses the slow direct float64 evaluator instead of the fast path.\n");
}

/* Parses a positive integer / a number; returns -1 with a message on junk. */
static int parse_int(const char *opt, const char *s, int *out, gc_err *e)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end || v < 1 || v > 1 << 30)
        return gc_fail(e, "%s: expected a positive integer, got '%s'", opt, s);
    *out = (int)v;
    return 0;
}

static int parse_num(const char *opt, const char *s, double *out, gc_err *e)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == 0 || *end || !(v >= 0))
        return gc_fail(e, "%s: expected a non-negative number, got '%s'", opt, s);
    *out = v;
    return 0;
}

/* One option with a value; returns 1 if consumed, 0 if not this option, -1 on error. */
static int value_opt(attention_args *a, const char *opt, const char *val, gc_err *e)
{
    attn_config *c = &a->cfg;
    const char **str = !strcmp(opt, "--q") ? &a->q : !strcmp(opt, "--k") ? &a->k
                     : !strcmp(opt, "--v") ? &a->v : !strcmp(opt, "--out") ? &a->out
                     : !strcmp(opt, "--preset") ? &a->preset : !strcmp(opt, "--cell") ? &a->cell
                     : !strcmp(opt, "--cell-preset") ? &a->cell_preset
                     : !strcmp(opt, "--mode") ? &a->mode : NULL;
    if (str) {
        *str = val;
        return 1;
    }
    int kv = 0, rc = 0;
    if (!strcmp(opt, "--window"))
        rc = parse_int(opt, val, &c->window, e);
    else if (!strcmp(opt, "--tile"))
        rc = parse_int(opt, val, &c->tile, e);
    else if (!strcmp(opt, "--q-levels"))
        rc = parse_int(opt, val, &c->q_levels, e);
    else if (!strcmp(opt, "--kv-levels") && !(rc = parse_int(opt, val, &kv, e)))
        c->k_levels = c->v_levels = kv;
    else if (!strcmp(opt, "--out-levels"))
        rc = parse_int(opt, val, &c->out_levels, e);
    else if (!strcmp(opt, "--decay-lambda"))
        rc = parse_num(opt, val, &c->lambda_per_token, e);
    else if (!strcmp(opt, "--token-period"))
        rc = parse_num(opt, val, &c->token_period_s, e);
    else if (!strcmp(opt, "--softmax-scale"))
        rc = parse_num(opt, val, &c->softmax_scale, e);
    else if (!strcmp(opt, "--decomp-tol"))
        rc = gpt2_cli_decomp_tol(val, &c->decomp_rel_tol, e);
    else if (strcmp(opt, "--kv-levels"))
        return 0;
    return rc ? -1 : 1;
}

static int flag_opt(attention_args *a, const char *opt)
{
    attn_config *c = &a->cfg;
    if (!strcmp(opt, "--no-quant"))
        c->quant_q = c->quant_k = c->quant_v = c->quant_out = 0;
    else if (!strcmp(opt, "--no-quant-q"))
        c->quant_q = 0;
    else if (!strcmp(opt, "--no-quant-k"))
        c->quant_k = 0;
    else if (!strcmp(opt, "--no-quant-v"))
        c->quant_v = 0;
    else if (!strcmp(opt, "--no-quant-out"))
        c->quant_out = 0;
    else if (!strcmp(opt, "--no-decay"))
        c->decay = 0;
    else if (!strcmp(opt, "--reference"))
        a->reference = 1;
    else
        return 0;
    return 1;
}

static int parse_args(int argc, char **argv, attention_args *a, gc_err *e)
{
    memset(a, 0, sizeof *a);
    attn_config_default(&a->cfg, ATTN_PAPER_CUBIC);
    a->mode = "parallel";
    for (int i = 1; i < argc; i++) {
        if (flag_opt(a, argv[i]))
            continue;
        if (i + 1 >= argc)
            return gc_fail(e, "unknown option or missing value: %s", argv[i]);
        int rc = value_opt(a, argv[i], argv[i + 1], e);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return gc_fail(e, "unknown option %s", argv[i]);
        i++;
    }
    if (!a->q || !a->k || !a->v || !a->out)
        return gc_fail(e, "--q, --k, --v and --out are required");
    if (!!a->preset + !!a->cell + !!a->cell_preset != 1)
        return gc_fail(e, "give exactly one of --preset, --cell, --cell-preset");
    if (strcmp(a->mode, "parallel") && strcmp(a->mode, "streaming"))
        return gc_fail(e, "--mode: expected parallel or streaming, got '%s'", a->mode);
    if (a->preset) {
        attn_variant v;
        if (attn_variant_parse(a->preset, &v, e))
            return -1;
        if (v == ATTN_CALIBRATED)
            return gc_fail(e, "--preset calibrated: use --cell or --cell-preset");
        a->cfg.variant = v;
    } else {
        a->cfg.variant = ATTN_CALIBRATED;
    }
    return 0;
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
    if (in->q.shape[0] == 0 || in->q.shape[1] == 0 || in->q.shape[2] == 0 ||
        in->q.shape[1] > 65536 || in->q.shape[2] > 65536)
        return gc_fail(e, "%s: shape must be (B,T,D) with 1 <= T, D <= 65536", a->q);
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
                         float *S, float *phi, gc_err *e)
{
    size_t nO = (size_t)in->B * in->T * in->D, nS = (size_t)in->B * in->T * in->T;
    double *o = malloc(nO * sizeof *o), *s = malloc(nS * sizeof *s), *p = malloc(nS * sizeof *p);
    int rc = o && s && p ? attn_reference_forward(cfg, in->q.data, in->k.data, in->v.data,
                                                  in->B, in->T, in->D, o, s, p, e)
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
    cJSON_AddStringToObject(j, "variant", attn_variant_name(c->variant));
    cJSON_AddStringToObject(j, "mode", a->mode);
    cJSON_AddStringToObject(j, "engine", a->reference ? "reference-float64" : "fast-float32");
    cJSON_AddStringToObject(j, "cell", c->cell ? cell_model_source(c->cell) : "");
    cJSON_AddNumberToObject(j, "B", in->B);
    cJSON_AddNumberToObject(j, "T", in->T);
    cJSON_AddNumberToObject(j, "D", in->D);
    cJSON_AddNumberToObject(j, "window", c->window);
    cJSON_AddNumberToObject(j, "tile", c->tile);
    cJSON_AddBoolToObject(j, "quant_q", c->quant_q);
    cJSON_AddBoolToObject(j, "quant_k", c->quant_k);
    cJSON_AddBoolToObject(j, "quant_v", c->quant_v);
    cJSON_AddBoolToObject(j, "quant_out", c->quant_out);
    cJSON_AddNumberToObject(j, "q_levels", c->q_levels);
    cJSON_AddNumberToObject(j, "k_levels", c->k_levels);
    cJSON_AddNumberToObject(j, "v_levels", c->v_levels);
    cJSON_AddNumberToObject(j, "out_levels", c->out_levels);
    cJSON_AddBoolToObject(j, "decay", c->decay);
    cJSON_AddNumberToObject(j, "lambda_per_token", attn_config_lambda(c));
    cJSON_AddNumberToObject(j, "token_period_s", attn_config_token_period_s(c));
    cJSON_AddNumberToObject(j, "softmax_scale", c->softmax_scale);
    if (plan) {
        cJSON_AddNumberToObject(j, "decomp_rel_tol", c->decomp_rel_tol);
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
    return cli_write_json(path, settings, e);
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
    if (!rc && a->cell)
        rc = cell_model_load(a->cell, &cell, e);
    if (!rc && a->cell_preset)
        rc = cell_model_preset(a->cell_preset, &cell, e);
    args.cfg.cell = cell;
    size_t nS = rc ? 0 : (size_t)in.B * in.T * in.T;
    if (!rc && !(out = malloc((size_t)in.B * in.T * in.D * sizeof *out)))
        rc = gc_fail(e, "out of memory");
    if (!rc && (!(S = calloc(nS, sizeof *S)) || !(phi = calloc(nS, sizeof *phi))))
        rc = gc_fail(e, "out of memory for S and phi (B·T² = %zu floats each)", nS);
    if (!rc && !a->reference)
        rc = attn_plan_alloc(&args.cfg, in.D, in.T, &plan, e);
    double t0 = gc_now();
    if (!rc && a->reference)
        rc = run_reference(&args.cfg, &in, out, S, phi, e);
    else if (!rc && !strcmp(a->mode, "streaming"))
        rc = run_streaming(plan, &in, out, S, phi, e);
    else if (!rc)
        rc = attn_forward_parallel(plan, in.q.data, in.k.data, in.v.data, in.B, in.T, in.D,
                                   out, S, phi, e);
    if (!rc) {
        settings = settings_json(&args, plan, &in, gc_now() - t0);
        rc = write_outputs(a, &in, out, S, phi, settings, e);
    }
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
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            attention_usage(stdout);
            return 0;
        }
    attention_args a;
    gc_err e = {{0}};
    if (parse_args(argc, argv, &a, &e) || attention_run(&a, &e)) {
        fprintf(stderr, "gcsim attention: %s\n", e.msg);
        return 1;
    }
    return 0;
}
