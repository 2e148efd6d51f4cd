/* The configuration of the attention layer: the paper's defaults, one parser of settings by
 * name, the token period and decay rate it resolves to, and its record for results. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "attn_internal.h"

void attn_config_default(attn_config *c, const attn_variant_type *v)
{
    memset(c, 0, sizeof *c);
    c->variant = v;
    c->window = 1024;
    c->tile = 64;
    c->quant_q = c->quant_k = c->quant_v = c->quant_out = 1;
    c->q_levels = CELL_PAPER_Q_LEVELS;
    c->k_levels = c->v_levels = CELL_PAPER_K_LEVELS;
    c->out_levels = CELL_PAPER_OUT_LEVELS;
    c->decay = 1;
    c->lambda_per_token = CELL_PAPER_LAMBDA_PER_TOKEN;
    if (v->defaults)
        v->defaults(c);
}

/* ---------------------------------------------------------------------------------------- */
/* Settings by name */

typedef enum { SET_INT, SET_DOUBLE, SET_BOOL, SET_TEXT } setting_kind;

typedef struct {
    const char *key, *unit;
    setting_kind kind;
    size_t offset;         /* into attn_config; kv_levels and quant write several fields */
    size_t size;           /* text: the buffer's size */
    double lo, hi;         /* numbers: the allowed range */
    int lo_open, hi_open;  /* 1: that bound itself is excluded */
} setting;

#define FIELD(f) offsetof(attn_config, f)
static const setting settings[] = {
    {"window", "tokens", SET_INT, FIELD(window), 0, 1, 1 << 24, 0, 0},
    {"tile", "keys", SET_INT, FIELD(tile), 0, 1, 1 << 16, 0, 0},
    {"q_levels", "", SET_INT, FIELD(q_levels), 0, 2, 1 << 16, 0, 0},
    {"k_levels", "", SET_INT, FIELD(k_levels), 0, 2, 1 << 16, 0, 0},
    {"v_levels", "", SET_INT, FIELD(v_levels), 0, 2, 1 << 16, 0, 0},
    {"out_levels", "", SET_INT, FIELD(out_levels), 0, 2, 1 << 16, 0, 0},
    {"quant_q", "", SET_BOOL, FIELD(quant_q), 0, 0, 1, 0, 0},
    {"quant_k", "", SET_BOOL, FIELD(quant_k), 0, 0, 1, 0, 0},
    {"quant_v", "", SET_BOOL, FIELD(quant_v), 0, 0, 1, 0, 0},
    {"quant_out", "", SET_BOOL, FIELD(quant_out), 0, 0, 1, 0, 0},
    {"decay", "", SET_BOOL, FIELD(decay), 0, 0, 1, 0, 0},
    {"lambda_per_token", "1/token", SET_DOUBLE, FIELD(lambda_per_token), 0, 0, 1e3, 0, 0},
    {"token_period_s", "s", SET_DOUBLE, FIELD(token_period_s), 0, 0, 1e6, 1, 0},
    {"layers", "", SET_INT, FIELD(layers), 0, 1, 1 << 16, 0, 0},
    {"softmax_scale", "", SET_DOUBLE, FIELD(softmax_scale), 0, 0, 1e6, 1, 0},
    {"decomp_rel_tol", "", SET_DOUBLE, FIELD(decomp_rel_tol), 0, 0, 1, 1, 1},
    {"cell_file", "", SET_TEXT, FIELD(cell_file), sizeof ((attn_config *)0)->cell_file, 0, 0, 0, 0},
    {"cell_preset", "", SET_TEXT, FIELD(cell_preset), sizeof ((attn_config *)0)->cell_preset,
     0, 0, 0, 0},
    {"chips", "", SET_INT, FIELD(chips), 0, 0, 1 << 20, 0, 0},
    {"chip_seed", "", SET_INT, FIELD(chip_seed), 0, 0, INT_MAX, 0, 0},
    {"mismatch_scale", "", SET_DOUBLE, FIELD(mismatch_scale), 0, 0, 1e3, 1, 0},
    {"read_noise", "", SET_BOOL, FIELD(read_noise), 0, 0, 1, 0, 0},
    {"noise_seed", "", SET_INT, FIELD(noise_seed), 0, 0, INT_MAX, 0, 0},
    {"noise_scale", "", SET_DOUBLE, FIELD(noise_scale), 0, 0, 1e6, 1, 0},
};
#undef FIELD
enum { N_SETTINGS = sizeof settings / sizeof *settings };

static int parse_bool(const char *key, const char *v, int *out, gc_err *e)
{
    if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "1"))
        *out = 1;
    else if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "0"))
        *out = 0;
    else
        return gc_fail(e, "%s: '%s' is not on or off", key, v);
    return 0;
}

static int set_one(attn_config *c, const setting *s, const char *v, gc_err *e)
{
    char *field = (char *)c + s->offset;
    long n;
    int b;
    switch (s->kind) {
    case SET_INT:
        if (gc_parse_long(v, s->key, (long)s->lo, (long)s->hi, &n, e))
            return -1;
        *(int *)field = (int)n;
        return 0;
    case SET_DOUBLE:
        return gc_parse_double(v, s->key, s->lo, s->hi, s->lo_open, s->hi_open,
                               (double *)field, e);
    case SET_BOOL:
        if (parse_bool(s->key, v, &b, e))
            return -1;
        *(int *)field = b;
        return 0;
    case SET_TEXT: /* a cell file or a preset: setting one clears the other */
        if (strlen(v) >= s->size)
            return gc_fail(e, "%s: '%.40s...' is longer than %zu bytes", s->key, v, s->size - 1);
        c->cell_file[0] = c->cell_preset[0] = 0;
        memcpy(field, v, strlen(v) + 1);
        return 0;
    }
    return -1;
}

int attn_config_set(attn_config *c, const char *key, const char *value, gc_err *e)
{
    if (!strcmp(key, "kv_levels"))
        return attn_config_set(c, "k_levels", value, e) ||
               attn_config_set(c, "v_levels", value, e) ? -1 : 0;
    if (!strcmp(key, "quant")) {
        int b;
        if (parse_bool(key, value, &b, e))
            return -1;
        c->quant_q = c->quant_k = c->quant_v = c->quant_out = b;
        return 0;
    }
    for (int i = 0; i < N_SETTINGS; i++)
        if (!strcmp(key, settings[i].key))
            return set_one(c, &settings[i], value, e);
    return gc_fail(e, "unknown attention setting '%s'", key);
}

/* ---------------------------------------------------------------------------------------- */
/* The cell, the token period and the decay */

int attn_config_check(const attn_config *c, gc_err *e)
{
    const attn_variant_type *v = c->variant;
    if (!v)
        return gc_fail(e, "attention: no variant");
    int has_cell = c->cell || c->cell_file[0] || c->cell_preset[0];
    if (v->engine == ATTN_ENGINE_CELL && !has_cell)
        return gc_fail(e, "attention '%s' needs a cell (--cell cell.h5 or --cell-preset NAME)",
                       v->name);
    if (v->engine != ATTN_ENGINE_CELL && (c->cell_file[0] || c->cell_preset[0]))
        return gc_fail(e, "attention '%s' runs through no cell: --cell and --cell-preset apply "
                          "to a cell variant such as calibrated", v->name);
    if (c->chips > 0 && v->engine != ATTN_ENGINE_CELL)
        return gc_fail(e, "attention '%s': chips are drawn from a cell's variation model: they "
                          "need a cell variant such as calibrated", v->name);
    cell_variation var;
    if (c->chips > 0 && c->cell && !cell_variation_get(c->cell, &var))
        return gc_fail(e, "%s has no variation model (/variation), so it cannot make chips",
                       cell_model_source(c->cell));
    if (c->read_noise && (v->engine != ATTN_ENGINE_CELL || c->cell_preset[0]))
        return gc_fail(e, "attention '%s'%s: read noise comes from a cell file's noise model "
                          "(/noise): it needs a cell variant such as calibrated with --cell",
                       v->name, c->cell_preset[0] ? " on a preset cell" : "");
    cell_noise noise;
    if (c->read_noise && c->cell && !cell_noise_get(c->cell, &noise))
        return gc_fail(e, "%s has no noise model (/noise), so read noise is unavailable: "
                          "re-run gcsim fit on curves from gcsim characterize",
                       cell_model_source(c->cell));
    if (v->engine == ATTN_ENGINE_CELL && c->cell && c->decay && !(c->token_period_s > 0) &&
        !(attn_layer_latency_s(c->cell) > 0))
        return gc_fail(e, "%s records no write time, so the token period cannot be computed "
                          "from the cell's phases: give --token-period (or re-run gcsim fit)",
                       cell_model_source(c->cell));
    return 0;
}

int attn_config_load_cell(const attn_config *c, cell_model **out, gc_err *e)
{
    *out = NULL;
    if (attn_config_check(c, e))
        return -1;
    if (c->variant->engine != ATTN_ENGINE_CELL)
        return 0;
    return c->cell_file[0] ? cell_model_load(c->cell_file, out, e)
                           : cell_model_preset(c->cell_preset, out, e);
}

double attn_layer_latency_s(const cell_model *cell)
{
    double t_write = cell_t_write_s(cell);
    return t_write > 0 ? t_write + 3 * cell_t_max_s(cell) : 0;
}

double attn_config_token_period_s(const attn_config *c)
{
    if (!c->decay)
        return 0;
    if (c->token_period_s > 0)
        return c->token_period_s;
    if (c->variant->engine == ATTN_ENGINE_POLY)
        return c->lambda_per_token * CELL_PAPER_TAU_S;
    if (c->variant->engine == ATTN_ENGINE_CELL && c->cell)
        return (c->layers > 1 ? c->layers : 1) * attn_layer_latency_s(c->cell);
    return 0;
}

double attn_config_lambda(const attn_config *c)
{
    if (!c->decay)
        return 0;
    return c->token_period_s > 0 ? c->token_period_s / CELL_PAPER_TAU_S : c->lambda_per_token;
}

/* ---------------------------------------------------------------------------------------- */
/* The record */

/* Settings whose 0 or "" means "not given" (the default is resolved elsewhere), and read
 * noise when off. */
static int unset(const setting *s, const char *field)
{
    if (s->kind == SET_TEXT)
        return !field[0];
    if (s->kind == SET_BOOL) /* read noise is an addition, off unless asked for */
        return !strcmp(s->key, "read_noise") && !*(const int *)field;
    if (s->kind == SET_INT)
        return *(const int *)field == 0;
    return s->kind == SET_DOUBLE && s->lo_open && *(const double *)field == 0;
}

int attn_config_settings(const attn_config *c, attn_setting *out, int resolved)
{
    int n = 0;
    out[n++] = (attn_setting){"variant", "", 1, 0, 0, c->variant->name};
    for (int i = 0; i < N_SETTINGS; i++) {
        const setting *s = &settings[i];
        const char *field = (const char *)c + s->offset;
        if (!resolved && unset(s, field))
            continue;
        attn_setting *o = &out[n++];
        *o = (attn_setting){s->key, s->unit, s->kind == SET_TEXT, s->kind == SET_BOOL, 0,
                            s->kind == SET_TEXT ? field : NULL};
        if (s->kind == SET_INT || s->kind == SET_BOOL)
            o->num = *(const int *)field;
        else if (s->kind == SET_DOUBLE)
            o->num = *(const double *)field;
    }
    /* what the plan uses, not what was asked for */
    for (int i = 0; resolved && i < n; i++) {
        if (!strcmp(out[i].key, "token_period_s"))
            out[i].num = attn_config_token_period_s(c);
        else if (!strcmp(out[i].key, "lambda_per_token"))
            out[i].num = attn_config_lambda(c);
        else if (!strcmp(out[i].key, "layers"))
            out[i].num = c->layers > 1 ? c->layers : 1;
        else if (!strcmp(out[i].key, "decomp_rel_tol") && !(c->decomp_rel_tol > 0))
            out[i].num = ATTN_DECOMP_REL_TOL;
        else if (!strcmp(out[i].key, "mismatch_scale") && !(c->mismatch_scale > 0))
            out[i].num = 1;
        else if (!strcmp(out[i].key, "noise_scale") && !(c->noise_scale > 0))
            out[i].num = 1;
    }
    return n;
}

/* ---------------------------------------------------------------------------------------- */
/* Helpers of the engines */

double attn_out_quant(const attn_config *c, double r)
{
    return c->quant_out ? attn_quantise(r, 2.0 / (c->out_levels - 1)) : r;
}

double attn_lerp_grid(const double *grid, const double *val, int n, double x)
{
    if (x <= grid[0])
        return val[0];
    if (x >= grid[n - 1])
        return val[n - 1];
    int lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (grid[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    double w = (x - grid[lo]) / (grid[lo + 1] - grid[lo]);
    return val[lo] + w * (val[lo + 1] - val[lo]);
}
