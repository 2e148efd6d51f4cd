/* Term factors: the per-element values x_r(pulse of q), y_r(k) and y_r(v) that the fast
 * path multiplies with BLAS. The quantisers here are those of PAPER.md §3 (clamp, step
 * range/(levels-1), round half to even); for calibrated, k and v are DAC levels. */
#include <math.h>
#include <string.h>

#include "attn_internal.h"

float attn_term_x(const attn_plan *p, const attn_term *t, float pulse)
{
    if (p->n_pulse == 2) /* linear over [0,1] */
        return (float)(t->x[0] + pulse * (t->x[1] - t->x[0]));
    return (float)attn_lerp_grid(p->pulse_grid, t->x, p->n_pulse, pulse);
}

static double pulse_of(const attn_plan *p, float q)
{
    return attn_clamp_quant(q, 1, p->cfg.quant_q ? p->cfg.q_levels : 0);
}

/* Paper: the stored voltage; calibrated: the DAC level (fractional when analog). */
static double coord_of(const attn_plan *p, float x, int quant, int levels, double range)
{
    double c = attn_clamp_quant(x, range, quant ? levels : 0);
    return p->cfg.variant == ATTN_CALIBRATED ? c / (range / (levels - 1)) : c;
}

/* y_r at a coordinate: the polynomial in V - 0.45, or linear on the level grid. */
static float term_y(const attn_term *t, double coord, int n_level, double level_step)
{
    if (t->is_poly) {
        double y = coord - 0.45;
        return (float)(t->poly[0] + y * (t->poly[1] + y * (t->poly[2] + y * t->poly[3])));
    }
    double u = coord / level_step;
    int i = (int)floor(u);
    if (i < 0)
        return (float)t->y[0];
    if (i >= n_level - 1)
        return (float)t->y[n_level - 1];
    double w = u - i;
    return (float)(t->y[i] + w * (t->y[i + 1] - t->y[i]));
}

void attn_factor_q(const attn_plan *p, const float *q, float *P, float *X1, size_t stride)
{
    for (int d = 0; d < p->D; d++)
        P[d] = (float)pulse_of(p, q[d]);
    for (int r = 0; r < p->a1.n_terms; r++)
        for (int d = 0; d < p->D; d++)
            X1[r * stride + d] = attn_term_x(p, &p->a1.t[r], P[d]);
}

void attn_factor_kv(const attn_plan *p, const float *k, const float *v, float *Y1,
                    size_t stride1, float *Yv, size_t stride2)
{
    const attn_config *c = &p->cfg;
    for (int d = 0; d < p->D; d++) {
        double ck = coord_of(p, k[d], c->quant_k, c->k_levels, p->k_range);
        double cv = coord_of(p, v[d], c->quant_v, c->v_levels, p->v_range);
        for (int r = 0; r < p->a1.n_terms; r++)
            Y1[r * stride1 + d] = term_y(&p->a1.t[r], ck, p->n_level_k, p->level_step_k);
        for (int r = 0; r < p->a2.n_terms; r++)
            Yv[r * stride2 + d] = term_y(&p->a2.t[r], cv, p->n_level_v, p->level_step_v);
    }
}

/* q, k, v are (T,D) of one head. X1, Y1 are (R1,T,D); Yv is (n_tiles,R2,tile,D). */
void attn_factors(const attn_plan *p, const float *q, const float *k, const float *v, int T,
                  attn_work *w)
{
    int D = p->D, tile = p->cfg.tile, R2 = p->a2.n_terms;
    size_t TD = (size_t)T * D;
    float *yv = w->Vc; /* scratch: R2·D floats (it holds R2·tile·D) */
    for (int i = 0; i < T; i++) {
        attn_factor_q(p, q + (size_t)i * D, w->P + (size_t)i * D, w->X1 + (size_t)i * D, TD);
        attn_factor_kv(p, k + (size_t)i * D, v + (size_t)i * D, w->Y1 + (size_t)i * D, TD, yv,
                       (size_t)D);
        int t = i / tile, u = i % tile;
        for (int r = 0; r < R2; r++)
            memcpy(w->Yv + (((size_t)t * R2 + r) * tile + u) * D, yv + (size_t)r * D,
                   (size_t)D * sizeof(float));
    }
    /* Zero the padding rows of the last tile: they are multiplied by zero weights, but must
     * not hold NaN garbage from an earlier, longer call. */
    int n_tiles = (T + tile - 1) / tile;
    for (int i = T; i < n_tiles * tile; i++)
        for (int r = 0; r < R2; r++)
            memset(w->Yv + (((size_t)(i / tile) * R2 + r) * tile + i % tile) * D, 0,
                   (size_t)D * sizeof(float));
}
