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
    if (p->pulse_uniform) { /* the interval directly, no search */
        double s = (pulse < 0 ? 0 : pulse > 1 ? 1 : pulse) * (p->n_pulse - 1);
        int i = (int)s < p->n_pulse - 2 ? (int)s : p->n_pulse - 2;
        return (float)(t->x[i] + (s - i) * (t->x[i + 1] - t->x[i]));
    }
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
    return attn_on_cell(&p->cfg) ? c / (range / (levels - 1)) : c;
}

/* Y (D) = y of one term at the D coordinates c: the polynomial in V - 0.45 (paper), or
 * linear on the level grid (calibrated). Two plain loops the compiler can vectorise. */
static void term_y_row(const attn_term *t, const double *c, int D, int n_level,
                       double level_step, float *Y)
{
    if (t->is_poly) {
        const double *a = t->poly;
        for (int d = 0; d < D; d++) {
            double y = c[d] - CELL_PAPER_V_MID_V;
            Y[d] = (float)(a[0] + y * (a[1] + y * (a[2] + y * a[3])));
        }
        return;
    }
    for (int d = 0; d < D; d++) {
        double u = c[d] / level_step;
        int i = (int)u; /* u >= 0: coordinates are clamped */
        if (i > n_level - 2)
            i = n_level - 2;
        double w = u - i;
        Y[d] = (float)(t->y[i] + w * (t->y[i + 1] - t->y[i]));
    }
}

/* A chip's cell at level coordinate c (DAC levels): its shifted stored voltage, clamped to
 * the written range, back as a level coordinate (the write transfer is piecewise linear and
 * ascending: attn_plan_chip checks), divided by the grid step. The shift is small, so the
 * interval is searched from the written level's own. */
static double chip_level(const attn_plan *p, double c, double dv)
{
    const double *wv = p->write_v;
    int n = p->cfg.k_levels, l0 = (int)c < n - 2 ? (int)c : n - 2;
    double v = wv[l0] + (c - l0) * (wv[l0 + 1] - wv[l0]) + dv;
    v = v < wv[0] ? wv[0] : v > wv[n - 1] ? wv[n - 1] : v;
    int i = l0 - ((l0 > 0) & (v <= wv[l0])); /* one step without a branch: the shift's sign
                                                is random from cell to cell */
    while (i > 0 && v <= wv[i])
        i--;
    while (i < n - 2 && v > wv[i + 1])
        i++;
    return (i + (v - wv[i]) / (wv[i + 1] - wv[i]));
}

/* Y (R rows of stride) of the terms of one array for the D cells of a chip's column at grid
 * coordinates u (the shifted levels over the grid step): y bilinear on (level, leak) times
 * the cell's gain; the offset term takes the cell's offset. The grid position of a cell is
 * found once for all terms. */
static void cells_y(const attn_plan *p, const attn_array *a, const double *u_d,
                    const attn_cell *cell, int n_level, float *Y, size_t stride)
{
    int D = p->D, nl = p->n_lam;
    for (int d = 0; d < D; d++) {
        double u = u_d[d];
        int i = (int)u < n_level - 2 ? (int)u : n_level - 2;
        double wu = u - i, lm = cell[d].lam;
        int m = nl < 2 ? 0 : (int)lm < nl - 2 ? (int)lm : nl - 2;
        double wm = nl < 2 ? 0 : lm - m;
        size_t at = (size_t)i * nl + m;
        for (int r = 0; r < a->n_terms; r++) {
            if (a->t[r].cell_offset) {
                Y[(size_t)r * stride + d] = cell[d].offset;
                continue;
            }
            const double *y0 = a->t[r].y + at, *y1 = y0 + nl;
            double lo = y0[0] + wu * (y1[0] - y0[0]);
            double hi = nl < 2 ? lo : y0[1] + wu * (y1[1] - y0[1]);
            Y[(size_t)r * stride + d] = (float)(cell[d].gain * (lo + wm * (hi - lo)));
        }
    }
}

void attn_factor_q(const attn_plan *p, const float *q, float *P, float *X1, size_t stride)
{
    int D = p->D;
    for (int d = 0; d < D; d++)
        P[d] = (float)pulse_of(p, q[d]);
    for (int r = 0; r < p->a1.n_terms; r++) {
        const attn_term *t = &p->a1.t[r];
        float *x = X1 + r * stride;
        if (p->n_pulse == 2) { /* linear in the pulse: no grid search */
            float x0 = (float)t->x[0], dx = (float)(t->x[1] - t->x[0]);
            for (int d = 0; d < D; d++)
                x[d] = x0 + P[d] * dx;
        } else {
            for (int d = 0; d < D; d++)
                x[d] = attn_term_x(p, t, P[d]);
        }
    }
}

void attn_factor_kv(const attn_plan *p, const float *k, const float *v, const attn_cell *c1,
                    const attn_cell *c2, float *Y1, size_t stride1, float *Yv,
                    size_t stride2, double *coord)
{
    const attn_config *c = &p->cfg;
    int D = p->D;
    double *ck = coord, *cv = coord + D;
    for (int d = 0; d < D; d++) {
        ck[d] = coord_of(p, k[d], c->quant_k, c->k_levels, p->k_range);
        cv[d] = coord_of(p, v[d], c->quant_v, c->v_levels, p->v_range);
    }
    if (c1) { /* a chip: each cell's grid coordinate once, then every term's y there */
        for (int d = 0; d < D; d++) {
            ck[d] = chip_level(p, ck[d], c1[d].dv) / p->level_step_k;
            cv[d] = chip_level(p, cv[d], c2[d].dv) / p->level_step_v;
        }
        cells_y(p, &p->a1, ck, c1, p->n_level_k, Y1, stride1);
        cells_y(p, &p->a2, cv, c2, p->n_level_v, Yv, stride2);
        return;
    }
    for (int r = 0; r < p->a1.n_terms; r++)
        term_y_row(&p->a1.t[r], ck, D, p->n_level_k, p->level_step_k, Y1 + r * stride1);
    for (int r = 0; r < p->a2.n_terms; r++)
        term_y_row(&p->a2.t[r], cv, D, p->n_level_v, p->level_step_v, Yv + r * stride2);
}

/* q, k, v are (T,D) of one head. X1, Y1 are (R1,T,D); Yv is (n_tiles,R2,tile,D). */
void attn_factors(const attn_plan *p, const float *q, const float *k, const float *v, int T,
                  const attn_cell *c1, const attn_cell *c2, attn_work *w)
{
    int D = p->D, tile = p->cfg.tile, R2 = p->a2.n_terms;
    size_t TD = (size_t)T * D;
    float *yv = w->Vc; /* scratch: R2·D floats (it holds R2·tile·D) */
    for (int i = 0; i < T; i++) {
        attn_factor_q(p, q + (size_t)i * D, w->P + (size_t)i * D, w->X1 + (size_t)i * D, TD);
        size_t col = (size_t)(i % p->slots) * D;
        attn_factor_kv(p, k + (size_t)i * D, v + (size_t)i * D, c1 ? c1 + col : NULL,
                       c2 ? c2 + col : NULL, w->Y1 + (size_t)i * D, TD, yv, (size_t)D,
                       w->coord);
        if (p->act) /* the row's levels for counting, while it is in cache */
            attn_act_row_levels(p->act, w->P + (size_t)i * D, k + (size_t)i * D,
                                v + (size_t)i * D, D, w->plev + (size_t)i * D,
                                w->klev + (size_t)i * D, w->vlev + (size_t)i * D);
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
