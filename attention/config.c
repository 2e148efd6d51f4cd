/* Configuration of the attention layer: the paper's defaults, variant names, decay units. */
#include <math.h>
#include <string.h>

#include "attn_internal.h"

static const char *const variant_names[] = {"softmax", "softmax-swa", "paper-linear",
                                            "paper-cubic", "calibrated"};

void attn_config_default(attn_config *c, attn_variant v)
{
    memset(c, 0, sizeof *c);
    c->variant = v;
    c->window = 1024;
    c->tile = 64;
    c->quant_q = c->quant_k = c->quant_v = c->quant_out = 1;
    c->q_levels = 16;
    c->k_levels = c->v_levels = 8;
    c->out_levels = 32;
    c->decay = 1;
    c->lambda_per_token = 1.6e-4;
}

int attn_variant_parse(const char *name, attn_variant *v, gc_err *e)
{
    for (int i = 0; i < (int)(sizeof variant_names / sizeof *variant_names); i++)
        if (!strcmp(name, variant_names[i])) {
            *v = (attn_variant)i;
            return 0;
        }
    return gc_fail(e, "unknown attention variant '%s' (softmax, softmax-swa, paper-linear, "
                      "paper-cubic, calibrated)", name);
}

const char *attn_variant_name(attn_variant v)
{
    return (unsigned)v < sizeof variant_names / sizeof *variant_names ? variant_names[v] : "?";
}

double attn_config_lambda(const attn_config *c)
{
    if (!c->decay)
        return 0;
    return c->token_period_s > 0 ? c->token_period_s / CELL_PAPER_TAU_S : c->lambda_per_token;
}

double attn_config_token_period_s(const attn_config *c)
{
    if (!c->decay)
        return 0;
    return c->token_period_s > 0 ? c->token_period_s : c->lambda_per_token * CELL_PAPER_TAU_S;
}

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
