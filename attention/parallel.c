/* The fast parallel path: one head per OpenMP thread, a block of `tile` query rows at a
 * time against the keys of its window, in float32 with BLAS.
 * Array 1: S = Σ_r z_r(age) ⊙ (X_r Y_rᵀ). When every z_r is exp(-mu_r·age) (paper variants)
 * the age factor splits into a row part exp(-mu_r (i - i0)) and a key part
 * exp(-mu_r (i0 - j)), so all terms become one product of packed matrices with inner
 * dimension R·D. Otherwise (calibrated) each term is one product followed by an
 * element-wise multiply with its tabulated z_r.
 * Array 2, per key tile: O_t = Σ_r (x_r(phi) ⊙ z_r(age)) V_r, again one packed product per
 * tile (its value matrix built once per head), then the readout, the counter quantisation
 * and the digital sum over tiles. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <string.h>

#include "attn_internal.h"

/* One row block: rows i0..i0+bs-1 against keys js..js+W-1. */
typedef struct {
    int i0, bs, js, W, T;
} attn_block;

static int visible(const attn_plan *p, int i, int j)
{
    return j <= i && j > i - p->M;
}

/* ---------------------------------------------------------------------------------------- */
/* Array 1 */

/* rowc[u]: the constant terms (c_0 of the cubic), the same for every visible key. */
static void array1_rowconst(const attn_plan *p, attn_work *w, const attn_block *b)
{
    size_t TD = (size_t)b->T * p->D;
    for (int u = 0; u < b->bs; u++) {
        double s = 0;
        for (int r = 0; r < p->a1.n_terms; r++) {
            if (!p->a1.t[r].row_const)
                continue;
            const float *x = w->X1 + r * TD + (size_t)(b->i0 + u) * p->D;
            double sx = 0;
            for (int d = 0; d < p->D; d++)
                sx += x[d];
            s += p->a1.t[r].poly[0] * sx;
        }
        w->rowc[u] = (float)s;
    }
}

/* S (bs,W) = Xc (bs,K) · Yc (W,K)ᵀ with the age factors folded into Xc and Yc. */
static void array1_exponential(const attn_plan *p, attn_work *w, const attn_block *b)
{
    int D = p->D, K = 0;
    size_t TD = (size_t)b->T * D;
    for (int r = 0; r < p->a1.n_terms; r++) {
        const attn_term *t = &p->a1.t[r];
        if (t->row_const)
            continue;
        for (int u = 0; u < b->bs; u++) {
            float f = (float)exp(-t->mu * u);
            const float *x = w->X1 + r * TD + (size_t)(b->i0 + u) * D;
            for (int d = 0; d < D; d++)
                w->Xc[(size_t)u * p->a1.n_terms * D + K + d] = x[d] * f;
        }
        for (int c = 0; c < b->W; c++) {
            float f = (float)exp(-t->mu * (b->i0 - b->js - c));
            const float *y = w->Y1 + r * TD + (size_t)(b->js + c) * D;
            for (int d = 0; d < D; d++)
                w->Yc[(size_t)c * p->a1.n_terms * D + K + d] = y[d] * f;
        }
        K += D;
    }
    int ld = p->a1.n_terms * D;
    if (K == 0) {
        memset(w->S, 0, (size_t)b->bs * b->W * sizeof *w->S);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b->bs, b->W, K, 1.0f, w->Xc, ld,
                w->Yc, ld, 0.0f, w->S, b->W);
}

/* S = Σ_r z_r(age) ⊙ (X_r Y_rᵀ), one product per term. */
static void array1_tabulated(const attn_plan *p, attn_work *w, const attn_block *b)
{
    int D = p->D;
    size_t TD = (size_t)b->T * D;
    memset(w->S, 0, (size_t)b->bs * b->W * sizeof *w->S);
    for (int r = 0; r < p->a1.n_terms; r++) {
        const attn_term *t = &p->a1.t[r];
        if (t->row_const)
            continue;
        if (t->cell_offset) { /* z ≡ 1: straight into S (array1_finish masks it) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b->bs, b->W, D, 1.0f,
                        w->X1 + r * TD + (size_t)b->i0 * D, D,
                        w->Y1 + r * TD + (size_t)b->js * D, D, 1.0f, w->S, b->W);
            continue;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b->bs, b->W, D, 1.0f,
                    w->X1 + r * TD + (size_t)b->i0 * D, D, w->Y1 + r * TD + (size_t)b->js * D,
                    D, 0.0f, w->C, b->W);
        for (int u = 0; u < b->bs; u++) {
            int i = b->i0 + u;
            int c_lo = i - p->M + 1 - b->js, c_hi = i - b->js; /* visible columns */
            if (c_lo < 0)
                c_lo = 0;
            float *restrict s = w->S + (size_t)u * b->W;
            const float *restrict cc = w->C + (size_t)u * b->W;
            const float *restrict zr = t->zrev + (p->n_age - 1 - (i - b->js)); /* age i-js-c */
            for (int c = c_lo; c <= c_hi; c++)
                s[c] += zr[c] * cc[c];
        }
    }
}

/* Visible key columns of row i of block b: [*lo, *hi] (empty when *lo > *hi). */
static void visible_cols(const attn_plan *p, const attn_block *b, int i, int *lo, int *hi)
{
    *lo = i - p->M + 1 - b->js;
    if (*lo < 0)
        *lo = 0;
    *hi = i - b->js;
}

/* Read noise of row u of block b (attention/noise.c): one deviate per visible key, in key
 * order, added to the charges s[lo..hi]. */
static void array1_noise(const attn_plan *p, attn_work *w, const attn_block *b, int u, int lo,
                         int hi, float *s)
{
    int i = b->i0 + u;
    double psum = 0;
    for (int d = 0; d < p->D; d++)
        psum += w->P[(size_t)i * p->D + d];
    attn_noise_normals(&p->noise, w->layer, w->head, 1, i, 0, hi - lo + 1, w->z);
    for (int c = lo; c <= hi; c++)
        s[c] += (float)(attn_noise_sigma1(&p->noise, psum, s[c]) * w->z[c - lo]);
}

/* Array 2's reads (attention.h, "Activity"): the pulses of one row's visible keys j0 ..
 * j0+n-1 added to their keys' sums, and those with phi > 0 counted. */
static void count_pulses(attn_work *w, int j0, const float *restrict ph, int n)
{
    float *restrict ps = w->phisum + j0;
    int pulsed = 0;
    for (int x = 0; x < n; x++) {
        ps[x] += ph[x];
        pulsed += ph[x] > 0;
    }
    w->pulsed += pulsed;
}

/* Adds the constant terms, masks, and applies the charge-to-pulse converter. */
static void array1_finish(const attn_plan *p, attn_work *w, const attn_block *b)
{
    int calibrated = attn_on_cell(&p->cfg);
    float inv_sat = (float)(1 / p->s_sat);
    for (int u = 0; u < b->bs; u++) {
        int lo, hi;
        visible_cols(p, b, b->i0 + u, &lo, &hi);
        float *s = w->S + (size_t)u * b->W, *ph = w->phi + (size_t)u * b->W, rc = w->rowc[u];
        for (int c = 0; c < lo; c++)
            s[c] = ph[c] = 0;
        for (int c = hi + 1; c < b->W; c++)
            s[c] = ph[c] = 0;
        if (calibrated) {
            for (int c = lo; c <= hi; c++)
                s[c] += rc;
            if (p->noise.on)
                array1_noise(p, w, b, u, lo, hi, s);
            for (int c = lo; c <= hi; c++)
                ph[c] = attn_phi_fast(p, s[c]);
        } else if (!p->act) {
            for (int c = lo; c <= hi; c++) {
                s[c] += rc;
                float x = s[c] * inv_sat;
                ph[c] = x < 0 ? 0 : x > 1 ? 1 : x;
            }
        } else { /* the same with count_pulses in the loop, phi still in a register */
            float *restrict ps = w->phisum + b->js;
            int pulsed = 0;
            for (int c = lo; c <= hi; c++) {
                s[c] += rc;
                float x = s[c] * inv_sat;
                ph[c] = x < 0 ? 0 : x > 1 ? 1 : x;
                ps[c] += ph[c];
                pulsed += ph[c] > 0;
            }
            w->pulsed += pulsed;
        }
        if (p->act && calibrated)
            count_pulses(w, b->js + lo, ph + lo, hi - lo + 1);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Array 2 */

/* Positions of the pulses ph[lo..hi] on the plan's pulse grid: interval index and weight,
 * found once per key and shared by all terms (O(1) on a uniform grid). */
static void pulse_locate(const attn_plan *p, const float *restrict ph, int lo, int hi,
                         int *restrict idx, float *restrict wt)
{
    const double *g = p->pulse_grid;
    int n = p->n_pulse;
    if (p->pulse_uniform) { /* in float, no division: this runs for every key of a row */
        float scale = (float)(n - 1);
        for (int x = lo; x <= hi; x++) {
            float s = ph[x] * scale;
            int i = (int)s;
            i = i < 0 ? 0 : i > n - 2 ? n - 2 : i;
            float u = s - (float)i;
            idx[x] = i;
            wt[x] = u < 0 ? 0 : u > 1 ? 1 : u;
        }
        return;
    }
    for (int x = lo; x <= hi; x++) {
        int i;
        for (i = 0; i < n - 2 && ph[x] > g[i + 1]; i++)
            ;
        float u = (float)((ph[x] - g[i]) / (g[i + 1] - g[i]));
        idx[x] = i;
        wt[x] = u < 0 ? 0 : u > 1 ? 1 : u;
    }
}

/* x_r(phi) · z_r(age) of one term over the visible keys lo..hi of one row: a fast loop for
 * a pulse grid of two points (x linear in phi: the paper, the presets), else through the
 * located grid positions. a gets the weights; returns Σ x_r(phi) (for constant terms). */
static double array2_row_term(const attn_plan *p, const attn_work *w, const attn_term *t,
                              int r, int u, const float *restrict ph,
                              const float *restrict z, int lo, int hi, float *restrict a)
{
    double sum = 0;
    float f = p->exponential ? w->rowf[r * p->cfg.tile + u] : 1.0f;
    if (p->n_pulse == 2) {
        float x0 = (float)t->x[0], dx = (float)(t->x[1] - t->x[0]);
        if (t->row_const) {
            for (int x = lo; x <= hi; x++)
                sum += x0 + ph[x] * dx;
        } else if (p->exponential) {
            for (int x = lo; x <= hi; x++)
                a[x] = (x0 + ph[x] * dx) * f;
        } else {
            for (int x = lo; x <= hi; x++)
                a[x] = (x0 + ph[x] * dx) * z[x];
        }
        return sum;
    }
    const int *restrict idx = w->loc_idx;
    const float *restrict wt = w->loc_wt, *restrict xf = t->xf, *restrict dxf = t->dxf;
    if (t->row_const) {
        for (int x = lo; x <= hi; x++)
            sum += xf[idx[x]] + wt[x] * dxf[idx[x]];
    } else if (p->exponential) {
        for (int x = lo; x <= hi; x++)
            a[x] = (xf[idx[x]] + wt[x] * dxf[idx[x]]) * f;
    } else {
        for (int x = lo; x <= hi; x++)
            a[x] = (xf[idx[x]] + wt[x] * dxf[idx[x]]) * z[x];
    }
    return sum;
}

/* Packs Ac (bs, R·tile) and Vc (R·tile, D) for the key tile starting at jt0, R the number
 * of non-constant terms; constant terms go to rowc. Masked and padding keys weigh 0.
 * Returns the inner dimension R·tile. */
static int array2_pack(const attn_plan *p, attn_work *w, const attn_block *b, int jt0)
{
    int tile = p->cfg.tile, R2 = p->a2.n_terms, K = 0;
    for (int r = 0; r < R2; r++)
        K += p->a2.t[r].row_const ? 0 : tile;
    /* Separable path: v of key jt0 + x carries exp(mu x) (scale_values), so row i takes
     * exp(-mu (i - jt0)) = exp(-mu u) exp(-mu (i0 - jt0)). */
    for (int r = 0; p->exponential && r < R2; r++) {
        float ft = (float)exp(-p->a2.t[r].mu * (b->i0 - jt0));
        for (int u = 0; u < b->bs; u++)
            w->rowf[r * tile + u] = w->rowf0[r * tile + u] * ft;
    }
    for (int u = 0; u < b->bs; u++) {
        int i = b->i0 + u, lo, hi;
        visible_cols(p, b, i, &lo, &hi);
        lo = lo + b->js > jt0 ? lo + b->js - jt0 : 0; /* now relative to the tile */
        hi = hi + b->js - jt0 < tile - 1 ? hi + b->js - jt0 : tile - 1;
        if (jt0 + hi >= b->T)
            hi = b->T - 1 - jt0;
        float *a = w->Ac + (size_t)u * K;
        const float *ph = w->phi + (size_t)u * b->W + (jt0 - b->js);
        double rowc = 0;
        memset(a, 0, (size_t)K * sizeof *a);
        if (p->n_pulse > 2)
            pulse_locate(p, ph, lo, hi, w->loc_idx, w->loc_wt);
        for (int r = 0, col = 0; r < R2; r++) {
            const attn_term *t = &p->a2.t[r];
            /* z[x]: the factor for the age i - jt0 - x of key jt0 + x (visible keys only) */
            const float *z = t->zrev + (p->n_age - 1 - (i - jt0));
            double sx = array2_row_term(p, w, t, r, u, ph, z, lo, hi, a + col);
            if (t->row_const)
                rowc += t->poly[0] * sx;
            else
                col += tile;
        }
        w->rowc[u] = (float)rowc;
    }
    return K;
}

/* The tile's non-constant terms of v as one (K, D) matrix: a view into Yv when the constant
 * terms (summed apart, into rowc) come first, else copied together into Vc. */
static const float *array2_values(const attn_plan *p, attn_work *w, int jt0)
{
    int tile = p->cfg.tile, D = p->D, R2 = p->a2.n_terms, r0 = 0;
    const float *yv = w->Yv + (size_t)(jt0 / tile) * R2 * tile * D;
    while (r0 < R2 && p->a2.t[r0].row_const)
        r0++;
    int prefix = 1;
    for (int r = r0; r < R2; r++)
        prefix &= !p->a2.t[r].row_const;
    if (prefix)
        return yv + (size_t)r0 * tile * D;
    float *dst = w->Vc;
    for (int r = 0; r < R2; r++) {
        if (p->a2.t[r].row_const)
            continue;
        memcpy(dst, yv + (size_t)r * tile * D, (size_t)tile * D * sizeof *yv);
        dst += (size_t)tile * D;
    }
    return w->Vc;
}

/* The readout of one tile output, clamped to [-1, 1]; cell: the variant runs on a cell (a
 * constant at each call, so that the loops below compile without the variant's branch). */
static inline __attribute__((always_inline)) float readout(const attn_plan *p, int cell,
                                                           float o)
{
    if (cell)
        return attn_readout_fast(p, o);
    float r = o * (float)(1 / p->ro_sat);
    return r < -1 ? -1 : r > 1 ? 1 : r;
}

/* The quantised counter's value, in counter steps of size step (quant_out). */
static inline __attribute__((always_inline)) float counter_steps(const attn_plan *p, int cell,
                                                                 float o, float step)
{
    return attn_round_even_f(readout(p, cell, o) / step);
}

/* Adds the counters of row u of the tile output O to the row's output o (D). Counting, their
 * values are summed by sign in counter steps: when quantised, integers kept in O's row and
 * summed in a second, vectorised pass (exact). */
static inline __attribute__((always_inline)) void add_row(const attn_plan *p, attn_work *w,
                                                         int cell, int u, float *restrict o)
{
    int D = p->D;
    float rc = w->rowc[u], step = 2.0f / (float)(p->cfg.out_levels - 1);
    float *restrict ot = w->O + (size_t)u * D;
    if (p->act && p->cfg.quant_out) {
        for (int d = 0; d < D; d++) {
            ot[d] = counter_steps(p, cell, ot[d] + rc, step);
            o[d] += step * ot[d];
        }
        int sum = 0, mag = 0; /* Σ n and Σ |n| */
        for (int d = 0; d < D; d++) {
            int n = (int)ot[d];
            sum += n;
            mag += n < 0 ? -n : n;
        }
        w->slot.scalars[ATTN_ACT_READOUT_POS] += (mag + sum) / 2;
        w->slot.scalars[ATTN_ACT_READOUT_NEG] += (mag - sum) / 2;
    } else if (p->act) { /* analog counter values */
        double pos = 0, neg = 0;
        for (int d = 0; d < D; d++) {
            float r = readout(p, cell, ot[d] + rc);
            o[d] += r;
            pos += r > 0 ? r : 0;
            neg += r < 0 ? -r : 0;
        }
        w->slot.scalars[ATTN_ACT_READOUT_POS] += pos / p->act->g.out_step;
        w->slot.scalars[ATTN_ACT_READOUT_NEG] += neg / p->act->g.out_step;
    } else if (p->cfg.quant_out) {
        for (int d = 0; d < D; d++)
            o[d] += step * counter_steps(p, cell, ot[d] + rc, step);
    } else {
        for (int d = 0; d < D; d++)
            o[d] += readout(p, cell, ot[d] + rc);
    }
}

/* add_row with the variant's branch taken once per row, not per counter. */
static void add_counters(const attn_plan *p, attn_work *w, int u, float *restrict o)
{
    if (attn_on_cell(&p->cfg))
        add_row(p, w, 1, u, o);
    else
        add_row(p, w, 0, u, o);
}

/* Read noise of the tile at jt0 read by row u: one deviate per output column, added to the
 * tile's charges o (D) before the readout; the cells' pulses are the row's phi over the
 * tile's visible keys. rowc is the row's constant-term charge (o + rowc is the charge). */
static void array2_noise(const attn_plan *p, attn_work *w, const attn_block *b, int u,
                         int jt0, float rowc, float *o)
{
    int i = b->i0 + u, lo = jt0, hi = jt0 + p->cfg.tile - 1;
    if (lo < i - p->M + 1)
        lo = i - p->M + 1;
    if (hi > i)
        hi = i;
    const float *ph = w->phi + (size_t)u * b->W;
    double psum = 0;
    for (int j = lo; j <= hi; j++)
        psum += ph[j - b->js];
    attn_noise_normals(&p->noise, w->layer, w->head, 2, i, jt0 / p->cfg.tile, p->D, w->z);
    for (int d = 0; d < p->D; d++)
        o[d] += (float)(attn_noise_sigma2(&p->noise, psum, o[d] + rowc) * w->z[d]);
}

static void array2_block(const attn_plan *p, attn_work *w, const attn_block *b, float *out)
{
    int tile = p->cfg.tile, D = p->D;
    int i1 = b->i0 + b->bs - 1;
    /* Row factors exp(-mu_r u) of the separable path, once per block. */
    for (int r = 0; p->exponential && r < p->a2.n_terms; r++)
        for (int u = 0; u < b->bs; u++)
            w->rowf0[r * tile + u] = (float)exp(-p->a2.t[r].mu * u);
    for (int jt0 = b->js; jt0 <= i1; jt0 += tile) {
        int K = array2_pack(p, w, b, jt0);
        if (K > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b->bs, D, K, 1.0f, w->Ac,
                        K, array2_values(p, w, jt0), D, 0.0f, w->O, D);
        else
            memset(w->O, 0, (size_t)b->bs * D * sizeof *w->O);
        for (int u = 0; u < b->bs; u++) {
            int i = b->i0 + u;
            /* A tile with no key in the row's window is not read at all. */
            if (jt0 > i || jt0 + tile - 1 <= i - p->M)
                continue;
            if (p->noise.on)
                array2_noise(p, w, b, u, jt0, w->rowc[u], w->O + (size_t)u * D);
            add_counters(p, w, u, out + (size_t)i * D);
        }
    }
}

/* ---------------------------------------------------------------------------------------- */

/* The keys block b sees: from the tile holding the oldest visible key to the last row. */
static attn_block block_at(const attn_plan *p, int i0, int T)
{
    attn_block b = {i0, T - i0 < p->cfg.tile ? T - i0 : p->cfg.tile, 0, 0, T};
    int jstart = i0 - p->M + 1 < 0 ? 0 : i0 - p->M + 1;
    b.js = jstart / p->cfg.tile * p->cfg.tile;
    b.W = i0 + b.bs - b.js;
    return b;
}

/* Copies the block's visible S (in coulombs) and phi into the (T,T) outputs of the head. */
static void store_rows(const attn_plan *p, const attn_block *b, const float *S,
                       const float *phi, float *S_h, float *phi_h)
{
    float unit = (float)p->charge_unit_c;
    for (int u = 0; u < b->bs; u++) {
        size_t row = (size_t)(b->i0 + u) * b->T + b->js;
        for (int c = 0; S_h && c < b->W; c++)
            S_h[row + c] = S[(size_t)u * b->W + c] * unit;
        if (phi_h)
            memcpy(phi_h + row, phi + (size_t)u * b->W, (size_t)b->W * sizeof *phi);
    }
}

/* Separable path: the v factors of key jt0 + x of every tile times exp(mu_r x), once per
 * head, so that one tile's value matrix serves every row block (array2_pack). */
static void scale_values(const attn_plan *p, attn_work *w, int T)
{
    int tile = p->cfg.tile, D = p->D, R2 = p->a2.n_terms;
    for (int r = 0; r < R2; r++) {
        if (p->a2.t[r].row_const)
            continue;
        for (int x = 0; x < tile; x++) {
            float f = (float)exp(p->a2.t[r].mu * x);
            for (int jt = 0; jt * tile < T; jt++) {
                float *y = w->Yv + (((size_t)jt * R2 + r) * tile + x) * D;
                for (int d = 0; d < D; d++)
                    y[d] *= f;
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Counting (attention.h, "Activity"), per head in O(T·D·levels), on the levels of q, k and
 * v that attn_factors took: the writes, array-1 reads from a sliding count of the K levels
 * in the window; array 2's pulses are summed per key while it runs (array1_finish), and
 * folded with the keys' V levels at the end. */

/* V levels per key (H), and the writes: a cell's level before is that of key j - ring (0
 * for the first ring keys: a histogram of the levels written). After count_reads1: when no
 * key leaves the window (M >= T), its final count holds every key's K levels. */
static void count_writes(const attn_activity *a, attn_work *w, int T, int D, int M)
{
    int nl = a->g.n_level;
    size_t TD = (size_t)T * D, ring = (size_t)a->ring * D;
    const unsigned char *restrict kl = w->klev, *restrict vl = w->vlev;
    int *restrict wr = w->acc1; /* scratch here: the writes from level 0 by new level (nl) */
    memset(wr, 0, (size_t)nl * sizeof *wr);
    memset(w->H, 0, (size_t)T * nl * sizeof *w->H);
    for (int j = 0; j < T; j++) {
        int *restrict H = w->H + (size_t)j * nl;
        for (int d = 0; d < D; d++)
            H[vl[(size_t)j * D + d]]++;
        for (int l = 0; j < a->ring && l < nl; l++)
            wr[l] += H[l];
    }
    if (M >= T) /* then T < ring */
        for (int d = 0; d < D; d++)
            for (int l = 0; l < nl; l++)
                wr[l] += w->win[d * attn_act_row(nl) + l];
    else
        for (size_t x = 0; x < TD && x < ring; x++)
            wr[kl[x]]++;
    for (int l = 0; l < nl; l++)
        w->slot.writes[l] += wr[l];
    for (size_t x = ring; x < TD; x++) {
        attn_act_write(a, &w->slot, kl[x - ring], kl[x]);
        attn_act_write(a, &w->slot, vl[x - ring], vl[x]);
    }
}

/* Array-1 reads: row d of query i meets the K levels of row d in its window (win). The
 * integer sums go to the record before they could overflow: at most min(M, T)·D a query. */
static void count_reads1(const attn_activity *a, attn_work *w, int T, int D, int M)
{
    int nl = a->g.n_level, np = a->g.n_pulse, row = attn_act_row(nl);
    const unsigned char *restrict kl = w->klev, *restrict pl = w->plev;
    int *restrict win = w->win, *restrict acc1 = w->acc1;
    memset(win, 0, (size_t)D * row * sizeof *win);
    memset(acc1, 0, (size_t)np * row * sizeof *acc1);
    long per_query = (long)(M < T ? M : T) * D;
    int batch = per_query < INT_MAX ? (int)(INT_MAX / per_query) : 1, held = 0;
    for (int i = 0; i < T; i++) {
        const unsigned char *kin = kl + (size_t)i * D, *qp = pl + (size_t)i * D;
        for (int d = 0; d < D; d++) /* key i enters the window, key i - M leaves */
            win[d * row + kin[d]]++;
        for (int d = 0; i >= M && d < D; d++)
            win[d * row + kin[d - (ptrdiff_t)M * D]]--;
        for (int d = 0; d < D; d++) {
            int *restrict acc = acc1 + (size_t)qp[d] * row;
            const int *restrict wn = win + d * row;
            for (int l0 = 0; l0 < row; l0 += 8)
                for (int l = 0; l < 8; l++)
                    acc[l0 + l] += wn[l0 + l];
        }
        if (++held == batch || i == T - 1) {
            for (int q = 0; q < np; q++)
                for (int l = 0; l < nl; l++)
                    w->slot.read1[q * nl + l] += acc1[q * row + l];
            memset(acc1, 0, (size_t)np * row * sizeof *acc1);
            held = 0;
        }
    }
}

static void count_begin(const attn_plan *p, attn_work *w, int b, int T)
{
    const attn_activity *a = p->act;
    int D = p->D, tile = p->cfg.tile, M = p->M;
    w->slot = attn_act_slot_of(p->act, p->act_layer, b);
    memset(w->phisum, 0, (size_t)T * sizeof *w->phisum);
    w->pulsed = 0;
    count_reads1(a, w, T, D, M); /* on the levels attn_factors took */
    count_writes(a, w, T, D, M);
    /* per query: the conversions of its visible keys, the tiles it reads */
    double *sc = w->slot.scalars, pairs = 0;
    for (int i = 0; i < T; i++) {
        int lo = i - M + 1 < 0 ? 0 : i - M + 1, tiles = i / tile - lo / tile + 1;
        pairs += i - lo + 1;
        sc[ATTN_ACT_TILE_READS] += tiles;
        sc[ATTN_ACT_READOUTS] += (double)tiles * D;
        sc[ATTN_ACT_ADDER_BITS] += D * attn_act_adder_bits(a, tiles);
    }
    sc[ATTN_ACT_TOKENS] += T;
    sc[ATTN_ACT_C2P_COUNT] += pairs;
}

/* Array 2's reads: key j is read by the queries j .. min(T, j + M) - 1, with pulses summing
 * to phisum_j, on each of its cells (H_j by V level). */
static void count_end(const attn_plan *p, attn_work *w, int T)
{
    int nl = p->act->g.n_level;
    double *r2 = w->slot.read2, phi_total = 0;
    for (int j = 0; j < T; j++) {
        double reads = (j + p->M < T ? j + p->M : T) - j, f = w->phisum[j];
        const int *H = w->H + (size_t)j * nl;
        for (int l = 0; l < nl; l++) {
            r2[l] += (reads - f) * H[l];
            r2[nl + l] += f * H[l];
        }
        phi_total += f;
    }
    w->slot.scalars[ATTN_ACT_C2P_PHI] += phi_total;
    w->slot.scalars[ATTN_ACT_READ2_PULSED] += (double)w->pulsed * p->D;
}

/* q, k, v, out are (T,D) of head b; c1, c2 its chip's cells (NULL: nominal); S_h, phi_h
 * (T,T) or NULL. */
static void head_analog(const attn_plan *p, attn_work *w, int layer, int b,
                        const attn_cell *c1, const attn_cell *c2, const float *q,
                        const float *k, const float *v, int T, float *out, float *S_h,
                        float *phi_h)
{
    w->layer = layer;
    w->head = b;
    attn_factors(p, q, k, v, T, c1, c2, w);
    if (p->act)
        count_begin(p, w, b, T);
    if (p->exponential)
        scale_values(p, w, T);
    memset(out, 0, (size_t)T * p->D * sizeof *out);
    for (int i0 = 0; i0 < T; i0 += p->cfg.tile) {
        attn_block b = block_at(p, i0, T);
        array1_rowconst(p, w, &b);
        if (p->exponential)
            array1_exponential(p, w, &b);
        else
            array1_tabulated(p, w, &b);
        array1_finish(p, w, &b);
        store_rows(p, &b, w->S, w->phi, S_h, phi_h);
        array2_block(p, w, &b, out);
    }
    if (p->act)
        count_end(p, w, T);
}

/* GPT-2 attention on the same blocks: S = scale q·k, row softmax over the window, P·V. */
static void head_softmax(const attn_plan *p, attn_work *w, const float *q, const float *k,
                         const float *v, int T, float *out, float *S_h, float *phi_h)
{
    int D = p->D;
    float scale = p->cfg.softmax_scale > 0 ? (float)p->cfg.softmax_scale
                                           : 1.0f / sqrtf((float)D);
    for (int i0 = 0; i0 < T; i0 += p->cfg.tile) {
        attn_block b = block_at(p, i0, T);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b.bs, b.W, D, scale,
                    q + (size_t)i0 * D, D, k + (size_t)b.js * D, D, 0.0f, w->S, b.W);
        for (int u = 0; u < b.bs; u++) {
            int i = i0 + u;
            float *s = w->S + (size_t)u * b.W, *ph = w->phi + (size_t)u * b.W;
            float mx = -INFINITY, sum = 0;
            for (int c = 0; c < b.W; c++)
                if (visible(p, i, b.js + c) && s[c] > mx)
                    mx = s[c];
            for (int c = 0; c < b.W; c++) {
                int vis = visible(p, i, b.js + c);
                ph[c] = vis ? expf(s[c] - mx) : 0;
                s[c] = vis ? s[c] : 0;
                sum += ph[c];
            }
            for (int c = 0; c < b.W; c++)
                ph[c] /= sum;
        }
        store_rows(p, &b, w->S, w->phi, S_h, phi_h);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b.bs, D, b.W, 1.0f, w->phi, b.W,
                    v + (size_t)b.js * D, D, 0.0f, out + (size_t)i0 * D, D);
    }
}

int attn_forward_parallel(attn_plan *p, const float *q, const float *k, const float *v,
                          int B, int T, int D, float *out, float *S_opt, float *phi_opt,
                          gc_err *e)
{
    return attn_forward_layer(p, 0, q, k, v, B, T, D, out, S_opt, phi_opt, e);
}

int attn_forward_layer(attn_plan *p, int layer, const float *q, const float *k,
                       const float *v, int B, int T, int D, float *out, float *S_opt,
                       float *phi_opt, gc_err *e)
{
    if (p->chip && !p->cells)
        return gc_fail(e, "attention: the chip's cells are not drawn (attn_plan_chip)");
    if (p->chip && (layer < 0 || layer >= p->chip_layers))
        return gc_fail(e, "attention: layer %d of a chip of %d layers", layer, p->chip_layers);
    if (D != p->D)
        return gc_fail(e, "attention: head dimension %d, the plan was made for %d", D, p->D);
    if (T < 1 || T > p->max_T || B < 0)
        return gc_fail(e, "attention: %d tokens, the plan holds 1..%d", T, p->max_T);
    size_t TD = (size_t)T * D, TT = (size_t)T * T;
    if (S_opt)
        memset(S_opt, 0, (size_t)B * TT * sizeof *S_opt);
    if (phi_opt)
        memset(phi_opt, 0, (size_t)B * TT * sizeof *phi_opt);
    int softmax = attn_on_softmax(&p->cfg);
    long work = (long)B * T * (T < p->M ? T : p->M) * D;
    int threaded = work > 1L << 20 && p->n_threads > 1 && B > 1;
    /* Heads already share the cores: BLAS threads inside them would only oversubscribe.
     * OpenBLAS has no per-call setting, so its count is held at 1 for the call. */
    int blas_threads = openblas_get_num_threads();
    if (threaded)
        openblas_set_num_threads(1);
    /* Heads cost the same, so a fixed assignment loses nothing, and it keeps each thread's
     * activity block (attention.h, "Activity"), and so the order of the counts' float sums,
     * the same from run to run. */
#pragma omp parallel for schedule(static) num_threads(p->n_threads) if (threaded)
    for (int b = 0; b < B; b++) {
        attn_work *w = &p->work[omp_get_thread_num()];
        float *S_h = S_opt ? S_opt + (size_t)b * TT : NULL;
        float *phi_h = phi_opt ? phi_opt + (size_t)b * TT : NULL;
        if (softmax)
            head_softmax(p, w, q + b * TD, k + b * TD, v + b * TD, T, out + b * TD, S_h,
                         phi_h);
        else
            head_analog(p, w, layer, b, p->chip ? attn_chip_cells(p, layer, b, 1) : NULL,
                        p->chip ? attn_chip_cells(p, layer, b, 2) : NULL, q + b * TD,
                        k + b * TD, v + b * TD, T, out + b * TD, S_h, phi_h);
    }
    if (threaded)
        openblas_set_num_threads(blas_threads);
    return 0;
}
