/* Compiling the cell into separable terms F(pulse, level, age) ≈ Σ_r x_r y_r z_r
 * (DESIGN.md "Fast evaluation").
 * Poly engine (the paper's variants): exact analytic terms, g(yδ) = Σ_n c_n y^n δ^n, so x = pulse,
 * y = c_n (V - 0.45)^n, z = exp(-n λ age); without decay one term y = g.
 * Calibrated: the table F is built from the cell model on (pulse grid = the cell's own pulse
 * axis, level grid = DAC levels or a fine grid, ages 0..n_age-1) and decomposed by two
 * nested SVDs: first over the pulse (Gram n_pulse²), then, per pulse component, over
 * level × age (Gram n_level²). Singular values below decomp_rel_tol × the largest are
 * dropped, and the largest reconstruction error over the whole table is recorded (for
 * analog k, v also halfway between the grid levels, where the interpolation of y errs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn_internal.h"
#include "jacobi.h"

void attn_array_free(attn_array *a)
{
    for (int r = 0; a->t && r < a->n_terms; r++) {
        free(a->t[r].x);
        free(a->t[r].y);
        free(a->t[r].z);
        free(a->t[r].zrev);
        free(a->t[r].xf);
        free(a->t[r].dxf);
    }
    free(a->t);
    a->t = NULL;
    a->n_terms = 0;
}

/* Allocates n analytic terms with x on the pulse grid and z on the ages. */
static int terms_alloc(attn_plan *p, attn_array *a, int n)
{
    a->t = calloc((size_t)n, sizeof *a->t);
    if (!a->t)
        return -1;
    a->n_terms = n;
    for (int r = 0; r < n; r++) {
        attn_term *t = &a->t[r];
        t->x = calloc((size_t)p->n_pulse, sizeof *t->x);
        t->z = calloc((size_t)p->n_age, sizeof *t->z);
        if (!t->x || !t->z)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The poly engine (the paper's variants): g of the variant's row */

static int compile_paper(attn_plan *p, attn_array *a)
{
    const double *c = p->cfg.variant->g_ua;
    double lambda = attn_config_lambda(&p->cfg);
    int powers[4], n = 0;
    if (lambda == 0)
        powers[n++] = -1; /* one term carrying the whole polynomial */
    else
        for (int k = 0; k < 4; k++)
            if (c[k] != 0)
                powers[n++] = k;
    if (terms_alloc(p, a, n))
        return -1;
    for (int r = 0; r < n; r++) {
        attn_term *t = &a->t[r];
        t->x[0] = 0;
        t->x[1] = 1;
        t->is_poly = 1;
        for (int k = 0; k < 4; k++)
            t->poly[k] = powers[r] < 0 || powers[r] == k ? c[k] : 0;
        t->mu = powers[r] < 0 ? 0 : powers[r] * lambda;
        t->row_const = powers[r] == 0; /* c_0: constant y, never decays */
        for (int g = 0; g < p->n_age; g++)
            t->z[g] = (float)exp(-t->mu * g);
    }
    a->decomp_err = 0; /* analytic: exact */
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Calibrated */

/* The charge table F (n_pulse, n_level, n_age) of one array, in coulombs, at DAC levels
 * offset + l · level_step. */
static double *charge_table(const attn_plan *p, int n_level, double level_step, double offset)
{
    const cell_model *m = p->cfg.cell;
    int nk = cell_k_levels(m), np = p->n_pulse, na = p->n_age;
    double period = attn_config_token_period_s(&p->cfg);
    double *F = malloc((size_t)np * n_level * na * sizeof *F);
    if (!F)
        return NULL;
    for (int l = 0; l < n_level; l++) {
        double level = offset + l * level_step;
        int l0 = (int)floor(level);
        if (l0 > nk - 2)
            l0 = nk - 2;
        double w = level - l0;
        double v0 = (1 - w) * cell_write_v(m, l0) + w * cell_write_v(m, l0 + 1);
        for (int g = 0; g < na; g++) {
            double vs = cell_decay_v(m, v0, g * period);
            for (int i = 0; i < np; i++)
                F[((size_t)i * n_level + l) * na + g] =
                    cell_read_charge_c(m, p->pulse_grid[i], vs);
        }
    }
    return F;
}

/* fmax of the error loops, inlined (libm's is a call; no NaN reaches them). */
static inline double larger(double a, double b)
{
    return b > a ? b : a;
}

/* Gram matrix G = A Aᵀ of A (n, len) row-major; each entry summed in one thread, in order.
 * Four entries of a row at a time: their sums are independent, so they overlap instead of
 * each waiting on its own last addition (the same additions, the same result). */
static void gram(const double *A, int n, size_t len, double *G)
{
#pragma omp parallel for schedule(dynamic)
    for (int i = 0; i < n; i++) {
        const double *a = A + i * len;
        int j = 0;
        for (; j + 3 <= i; j += 4) {
            const double *b = A + j * len;
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (size_t x = 0; x < len; x++) {
                s0 += a[x] * b[x];
                s1 += a[x] * b[len + x];
                s2 += a[x] * b[2 * len + x];
                s3 += a[x] * b[3 * len + x];
            }
            G[i * n + j] = G[j * n + i] = s0;
            G[i * n + j + 1] = G[(j + 1) * n + i] = s1;
            G[i * n + j + 2] = G[(j + 2) * n + i] = s2;
            G[i * n + j + 3] = G[(j + 3) * n + i] = s3;
        }
        for (; j <= i; j++) {
            double s = 0;
            for (size_t x = 0; x < len; x++)
                s += a[x] * A[j * len + x];
            G[i * n + j] = G[j * n + i] = s;
        }
    }
}

/* acc (n_age) = Σ_r x_r[i] · yl_r · z_r: the reconstruction at pulse i for all ages, with
 * yl_r the term's y at the level in question. */
static void reconstruct_ages(const attn_array *a, int i, const double *yl, int na, double *acc)
{
    for (int g = 0; g < na; g++)
        acc[g] = 0;
    for (int r = 0; r < a->n_terms; r++) {
        double c = a->t[r].x[i] * yl[r];
        const float *z = a->t[r].z;
        for (int g = 0; g < na; g++)
            acc[g] += c * z[g];
    }
}

/* Largest |F - Σ x y z| over the table, relative to max |F|. */
static double decomp_error(const attn_plan *p, const attn_array *a, const double *F,
                           int n_level)
{
    int np = p->n_pulse, na = p->n_age, failed = 0;
    double err = 0, fabs_max = 0;
#pragma omp parallel for schedule(dynamic) reduction(max : err, fabs_max)
    for (int l = 0; l < n_level; l++) { /* maxima: the same in any order */
        double *acc = malloc((size_t)na * sizeof *acc);
        double *yl = malloc((a->n_terms + 1) * sizeof *yl);
        if (!acc || !yl) {
#pragma omp atomic write
            failed = 1;
            free(acc);
            free(yl);
            continue;
        }
        for (int r = 0; r < a->n_terms; r++)
            yl[r] = a->t[r].y[l];
        for (int i = 0; i < np; i++) {
            reconstruct_ages(a, i, yl, na, acc);
            const double *f = F + ((size_t)i * n_level + l) * na;
            for (int g = 0; g < na; g++) {
                err = larger(err, fabs(f[g] - acc[g]));
                fabs_max = larger(fabs_max, fabs(f[g]));
            }
        }
        free(acc);
        free(yl);
    }
    if (failed)
        return INFINITY;
    return fabs_max > 0 ? err / fabs_max : err;
}

/* Keeps the components of one level × age core C (n_level, n_age) above cut, appending
 * terms with x = u (the pulse component). */
static int split_core(attn_plan *p, attn_array *a, const double *u, const double *C,
                      int n_level, double cut, int *cap)
{
    int na = p->n_age, rc = -1;
    double *G = malloc((size_t)n_level * n_level * sizeof *G);
    double *w = malloc((size_t)n_level * sizeof *w);
    double *V = malloc((size_t)n_level * n_level * sizeof *V);
    if (!G || !w || !V)
        goto done;
    gram(C, n_level, (size_t)na, G);
    /* A chip's core spans levels × leak factors (hundreds) at low numerical rank: a floor
     * 1e-4 cut² / n_level leaves what it drops 100 times below the cut. */
    if (p->chip ? attn_psd_eig_low_rank(G, n_level, 1e-4 * cut * cut / n_level, w, V)
                : attn_jacobi_eig(G, n_level, w, V))
        goto done;
    for (int s = 0; s < n_level && w[s] > cut * cut; s++) {
        if (a->n_terms == *cap) {
            attn_term *bigger = realloc(a->t, (size_t)(*cap *= 2) * sizeof *bigger);
            if (!bigger)
                goto done;
            a->t = bigger;
        }
        attn_term *t = &a->t[a->n_terms];
        memset(t, 0, sizeof *t);
        a->n_terms++;
        t->x = malloc((size_t)p->n_pulse * sizeof *t->x);
        t->y = malloc((size_t)n_level * sizeof *t->y);
        t->z = malloc((size_t)na * sizeof *t->z);
        if (!t->x || !t->y || !t->z)
            goto done;
        memcpy(t->x, u, (size_t)p->n_pulse * sizeof *u);
        for (int l = 0; l < n_level; l++)
            t->y[l] = V[l * n_level + s];
        for (int g = 0; g < na; g++) {
            double z = 0;
            for (int l = 0; l < n_level; l++)
                z += V[l * n_level + s] * C[(size_t)l * na + g];
            t->z[g] = (float)z;
        }
    }
    rc = 0;
done:
    free(G);
    free(w);
    free(V);
    return rc;
}

static int decompose(attn_plan *p, attn_array *a, const double *F, int n_level)
{
    int np = p->n_pulse, na = p->n_age, cap = 8, rc = -1;
    size_t len = (size_t)n_level * na;
    double tol = p->cfg.decomp_rel_tol; /* the default is filled in by attn_plan_alloc */
    double *G = malloc((size_t)np * np * sizeof *G), *w = malloc((size_t)np * sizeof *w);
    double *U = malloc((size_t)np * np * sizeof *U), *C = malloc(len * sizeof *C);
    double *u = malloc((size_t)np * sizeof *u);
    a->t = calloc((size_t)cap, sizeof *a->t);
    if (!G || !w || !U || !C || !u || !a->t)
        goto done;
    gram(F, np, len, G);
    attn_jacobi_eig(G, np, w, U);
    double cut = tol * sqrt(fmax(w[0], 0));
    for (int r = 0; r < np && w[r] > cut * cut; r++) {
        for (int i = 0; i < np; i++)
            u[i] = U[i * np + r];
#pragma omp parallel for schedule(static)
        for (size_t x = 0; x < len; x++) {
            double s = 0;
            for (int i = 0; i < np; i++)
                s += u[i] * F[i * len + x];
            C[x] = s;
        }
        if (split_core(p, a, u, C, n_level, cut, &cap))
            goto done;
    }
    a->decomp_err = decomp_error(p, a, F, n_level);
    rc = 0;
done:
    free(G);
    free(w);
    free(U);
    free(C);
    free(u);
    return rc;
}

/* Analog k or v: y_r is interpolated linearly between grid levels, so the error the fast
 * path makes is largest halfway between them; measured there over all pulses and ages and
 * folded into decomp_err (relative to the largest |F| on the grid, fmax_grid). */
static int midpoint_error(attn_plan *p, attn_array *a, int n_level, double level_step,
                          double fmax_grid)
{
    int np = p->n_pulse, na = p->n_age, nm = n_level - 1;
    double *Fm = charge_table(p, nm, level_step, level_step / 2), err = 0;
    double *acc = malloc((size_t)na * sizeof *acc), *yl = malloc((a->n_terms + 1) * sizeof *yl);
    int rc = Fm && acc && yl ? 0 : -1;
    for (int l = 0; !rc && l < nm; l++) {
        for (int r = 0; r < a->n_terms; r++)
            yl[r] = 0.5 * (a->t[r].y[l] + a->t[r].y[l + 1]);
        for (int i = 0; i < np; i++) {
            reconstruct_ages(a, i, yl, na, acc);
            const double *f = Fm + ((size_t)i * nm + l) * na;
            for (int g = 0; g < na; g++)
                err = larger(err, fabs(f[g] - acc[g]));
        }
    }
    free(Fm);
    free(acc);
    free(yl);
    if (!rc)
        a->decomp_err = fmax(a->decomp_err, fmax_grid > 0 ? err / fmax_grid : err);
    return rc;
}

static int compile_calibrated(attn_plan *p, attn_array *a, int n_level, double level_step)
{
    double *F = charge_table(p, n_level, level_step, 0);
    if (!F)
        return -1;
    int rc = decompose(p, a, F, n_level);
    double fmax_grid = 0;
    for (size_t x = 0; x < (size_t)p->n_pulse * n_level * p->n_age; x++)
        fmax_grid = fmax(fmax_grid, fabs(F[x]));
    free(F);
    if (!rc && level_step < 1)
        rc = midpoint_error(p, a, n_level, level_step, fmax_grid);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* A chip: the table over (level, leak factor), then the cells' own offset term */

/* The charge table (n_pulse, nl·nm, ceil(n_age / gs)) at levels offset + l·level_step, leak
 * grid points lam_lo + (m + mo)·lam_step (mo: 0 on the grid, 0.5 between grid points), index
 * l·nm + m, and every gs-th age: the stored voltage of the level through the write transfer, then the leakage
 * with time scaled by the leak factor. */
static double *chip_charge_table(const attn_plan *p, int nl, double level_step, double offset,
                                 int nm, double mo, int gs)
{
    const cell_model *m = p->cfg.cell;
    int nk = cell_k_levels(m), np = p->n_pulse, na = (p->n_age + gs - 1) / gs, nc = nl * nm;
    double period = attn_config_token_period_s(&p->cfg);
    double *F = malloc((size_t)np * nc * na * sizeof *F);
    if (!F)
        return NULL;
    /* Every (level, leak, age) on its own: the cell model is pure, so threads change nothing
     * in the table. The pulse grid is the cell's own axis: all its charges at once. */
    int failed = 0;
    double *f = malloc((size_t)nm * sizeof *f), *v0 = malloc((size_t)nl * sizeof *v0);
    if (!f || !v0) {
        free(f);
        free(v0);
        free(F);
        return NULL;
    }
    for (int k = 0; k < nm; k++) /* leak factors */
        f[k] = exp(p->lam_lo + (k + mo) * p->lam_step);
    for (int l = 0; l < nl; l++) { /* written voltages */
        double level = offset + l * level_step;
        int l0 = (int)floor(level) < nk - 2 ? (int)floor(level) : nk - 2;
        v0[l] = p->write_v[l0] + (level - l0) * (p->write_v[l0 + 1] - p->write_v[l0]);
    }
#pragma omp parallel
    {
        double *q = malloc((size_t)np * sizeof *q);
        if (!q) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (long x = 0; x < (long)nc * na; x++) {
            if (!q)
                continue;
            int c = (int)(x / na), g = (int)(x % na);
            cell_read_charges_c(m, cell_decay_v(m, v0[c / nm], f[c % nm] * g * gs * period), q);
            for (int i = 0; i < np; i++)
                F[((size_t)i * nc + c) * na + g] = q[i];
        }
        free(q);
    }
    free(f);
    free(v0);
    if (failed) {
        free(F);
        return NULL;
    }
    return F;
}

/* The error of the bilinear y between grid points: at the midpoints in level (on leak grid
 * points), in leak (on level grid points) and at the centres, relative to fmax_grid. A grid
 * of whole DAC levels is read on its points only (quantised, unshifted levels). One level
 * row of charges at a time, at every CHIP_CHECK_AGES-th age (the charges are smooth in age:
 * the table's own error is measured at every age). */
#define CHIP_CHECK_AGES 8
static int chip_midpoint_error(attn_plan *p, attn_array *a, int n_level, double level_step,
                               double fmax_grid)
{
    int np = p->n_pulse, gs = CHIP_CHECK_AGES, na = (p->n_age + gs - 1) / gs;
    int nm = p->n_lam, rc = 0;
    double err = 0;
    for (int kind = 0; kind < 3; kind++) {
        int half_l = kind != 1, half_m = kind != 0;
        if ((half_m && nm < 2) || (half_l && level_step >= 1)) /* no such midpoint is read */
            continue;
        int nl = n_level - half_l, nmk = nm - half_m;
#pragma omp parallel for schedule(dynamic) reduction(max : err)
        for (int l = 0; l < nl; l++) { /* one level row of charges a thread */
            double *F = chip_charge_table(p, 1, level_step, (l + 0.5 * half_l) * level_step,
                                          nmk, half_m * 0.5, gs);
            double *yl = malloc((a->n_terms + 1) * sizeof *yl);
            if (!F || !yl) {
#pragma omp atomic write
                rc = -1;
            }
            for (int k = 0; F && yl && k < nmk; k++) {
                for (int r = 0; r < a->n_terms; r++) {
                    const double *y = a->t[r].y + (size_t)l * nm + k;
                    double sum = 0;
                    for (int dl = 0; dl <= half_l; dl++)
                        for (int dm = 0; dm <= half_m; dm++)
                            sum += y[(size_t)dl * nm + dm];
                    yl[r] = sum / ((1 + half_l) * (1 + half_m));
                }
                for (int i = 0; i < np; i++) {
                    const double *f = F + ((size_t)i * nmk + k) * na;
                    for (int g = 0; g < na; g++) {
                        double sum = 0;
                        for (int r = 0; r < a->n_terms; r++)
                            sum += a->t[r].x[i] * yl[r] * a->t[r].z[g * gs];
                        err = larger(err, fabs(f[g] - sum));
                    }
                }
            }
            free(F);
            free(yl);
        }
    }
    if (!rc)
        a->decomp_err = fmax(a->decomp_err, fmax_grid > 0 ? err / fmax_grid : err);
    return rc;
}

/* y_r on a finer level grid (step `fine`, dividing the decomposition's `step`), by
 * projecting the charges there onto the terms: the x_r ⊗ z_r of the decomposition are
 * orthogonal (x orthonormal across pulse components, z orthogonal within one), so
 * y_r(c) = <F(., c, .), x_r ⊗ z_r> / (|x_r|² |z_r|²) is the least-squares y at any coordinate
 * and equals the decomposition's own y on its grid, which is taken there as it is (its error
 * is measured already). The error between joins decomp_err. One level row at a time. */
static int chip_refine_levels(attn_plan *p, attn_array *a, int nk, double step, double fine,
                              double fmax_grid)
{
    int np = p->n_pulse, na = p->n_age, nm = p->n_lam, R = a->n_terms;
    int nl = (int)lround((nk - 1) / fine) + 1, rc = 0;
    double *norm = malloc((size_t)R * sizeof *norm), err = 0;
    double **ny = calloc((size_t)R, sizeof *ny);
    rc = norm && ny ? 0 : -1;
    for (int r = 0; !rc && r < R; r++) {
        double xx = 0, zz = 0;
        for (int i = 0; i < np; i++)
            xx += a->t[r].x[i] * a->t[r].x[i];
        for (int g = 0; g < na; g++)
            zz += (double)a->t[r].z[g] * a->t[r].z[g];
        norm[r] = xx * zz;
        if (!(ny[r] = malloc((size_t)nl * nm * sizeof **ny)))
            rc = -1;
    }
    int rows = rc ? 0 : nl, every = (int)lround(step / fine);
#pragma omp parallel for schedule(dynamic) reduction(max : err)
    for (int l = 0; l < rows; l++) { /* one level row of charges a thread */
        if (l % every == 0) { /* a level of the decomposition's grid */
            for (int r = 0; r < R; r++)
                memcpy(ny[r] + (size_t)l * nm, a->t[r].y + (size_t)(l / every) * nm,
                       (size_t)nm * sizeof **ny);
            continue;
        }
        double *F = chip_charge_table(p, 1, fine, l * fine, nm, 0, 1);
        double *acc = malloc((size_t)na * sizeof *acc), *yl = malloc((size_t)R * sizeof *yl);
        if (!F || !acc || !yl) {
#pragma omp atomic write
            rc = -1;
        }
        for (int k = 0; F && acc && yl && k < nm; k++) {
            for (int r = 0; r < R; r++) {
                const float *z = a->t[r].z;
                double sum = 0, fz[4];
                for (int i0 = 0; i0 < np; i0 += 4) { /* four pulses' sums overlapping */
                    int n = np - i0 < 4 ? np - i0 : 4;
                    const double *f = F + ((size_t)i0 * nm + k) * na;
                    size_t step = (size_t)nm * na;
                    if (n == 4) {
                        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                        for (int g = 0; g < na; g++) {
                            s0 += f[g] * z[g];
                            s1 += f[step + g] * z[g];
                            s2 += f[2 * step + g] * z[g];
                            s3 += f[3 * step + g] * z[g];
                        }
                        fz[0] = s0, fz[1] = s1, fz[2] = s2, fz[3] = s3;
                    } else {
                        for (int m = 0; m < n; m++) {
                            fz[m] = 0;
                            for (int g = 0; g < na; g++)
                                fz[m] += f[m * step + g] * z[g];
                        }
                    }
                    for (int m = 0; m < n; m++)
                        sum += a->t[r].x[i0 + m] * fz[m];
                }
                ny[r][(size_t)l * nm + k] = yl[r] = norm[r] > 0 ? sum / norm[r] : 0;
            }
            for (int i = 0; i < np; i++) {
                reconstruct_ages(a, i, yl, na, acc);
                const double *f = F + ((size_t)i * nm + k) * na;
                for (int g = 0; g < na; g++)
                    err = larger(err, fabs(f[g] - acc[g]));
            }
        }
        free(F);
        free(acc);
        free(yl);
    }
    for (int r = 0; r < R; r++) {
        if (!rc) {
            free(a->t[r].y);
            a->t[r].y = ny[r];
        } else if (ny) {
            free(ny[r]);
        }
    }
    if (!rc)
        a->decomp_err = fmax(a->decomp_err, fmax_grid > 0 ? err / fmax_grid : err);
    free(ny);
    free(norm);
    return rc;
}

/* The offset term: x = the pulse fraction, y the cell's own offset, z ≡ 1. */
static int add_offset_term(attn_plan *p, attn_array *a)
{
    attn_term *bigger = realloc(a->t, (size_t)(a->n_terms + 1) * sizeof *bigger);
    if (!bigger)
        return -1;
    a->t = bigger;
    attn_term *t = &a->t[a->n_terms++];
    memset(t, 0, sizeof *t);
    t->cell_offset = 1;
    t->x = malloc((size_t)p->n_pulse * sizeof *t->x);
    t->z = malloc((size_t)p->n_age * sizeof *t->z);
    if (!t->x || !t->z)
        return -1;
    memcpy(t->x, p->pulse_grid, (size_t)p->n_pulse * sizeof *t->x);
    for (int g = 0; g < p->n_age; g++)
        t->z[g] = 1;
    return 0;
}

/* dst = a deep copy of src's terms (x, y on n_level_k · n_lam points, z). */
static int array_copy(const attn_plan *p, attn_array *dst, const attn_array *src)
{
    size_t ny = (size_t)p->n_level_k * p->n_lam;
    dst->t = calloc((size_t)src->n_terms, sizeof *dst->t);
    if (!dst->t)
        return -1;
    dst->n_terms = src->n_terms;
    dst->decomp_err = src->decomp_err;
    for (int r = 0; r < src->n_terms; r++) {
        const attn_term *a = &src->t[r];
        attn_term *b = &dst->t[r];
        *b = *a;
        b->x = malloc((size_t)p->n_pulse * sizeof *b->x);
        b->z = malloc((size_t)p->n_age * sizeof *b->z);
        b->y = a->y ? malloc(ny * sizeof *b->y) : NULL;
        b->zrev = b->xf = b->dxf = NULL;
        if (!b->x || !b->z || (a->y && !b->y))
            return -1;
        memcpy(b->x, a->x, (size_t)p->n_pulse * sizeof *b->x);
        memcpy(b->z, a->z, (size_t)p->n_age * sizeof *b->z);
        if (a->y)
            memcpy(b->y, a->y, ny * sizeof *b->y);
    }
    return 0;
}

/* The terms from the table on the plan's grid of levels (*level_step); levels read between
 * grid points (shifted or analog) then get y on a grid of CHIP_FINE_LEVEL, by projection,
 * and *n_level, *level_step say that grid. */
#define CHIP_FINE_LEVEL (1.0 / 16)
static int compile_chip(attn_plan *p, attn_array *a, int *n_level, double *level_step)
{
    int nm = p->n_lam, nc = *n_level * nm, nk = cell_k_levels(p->cfg.cell);
    double *F = chip_charge_table(p, *n_level, *level_step, 0, nm, 0, 1);
    if (!F)
        return -1;
    int rc = decompose(p, a, F, nc);
    double fmax_grid = 0;
    for (size_t x = 0; x < (size_t)p->n_pulse * nc * p->n_age; x++)
        fmax_grid = fmax(fmax_grid, fabs(F[x]));
    free(F);
    if (!rc && *level_step < 1) {
        rc = chip_refine_levels(p, a, nk, *level_step, CHIP_FINE_LEVEL, fmax_grid);
        *level_step = CHIP_FINE_LEVEL;
        *n_level = (int)lround((nk - 1) / CHIP_FINE_LEVEL) + 1;
    }
    if (!rc)
        rc = chip_midpoint_error(p, a, *n_level, *level_step, fmax_grid);
    return rc ? -1 : add_offset_term(p, a);
}

/* ---------------------------------------------------------------------------------------- */

/* zrev[k] = z[n_age - 1 - k] for every term; x and its steps in float. */
static int reverse_ages(const attn_plan *p, attn_array *a)
{
    for (int r = 0; r < a->n_terms; r++) {
        attn_term *t = &a->t[r];
        t->zrev = malloc((size_t)p->n_age * sizeof *t->zrev);
        t->xf = malloc((size_t)p->n_pulse * sizeof *t->xf);
        t->dxf = calloc((size_t)p->n_pulse, sizeof *t->dxf);
        if (!t->zrev || !t->xf || !t->dxf)
            return -1;
        for (int g = 0; g < p->n_age; g++)
            t->zrev[g] = t->z[p->n_age - 1 - g];
        for (int i = 0; i < p->n_pulse; i++) {
            t->xf[i] = (float)t->x[i];
            if (i + 1 < p->n_pulse)
                t->dxf[i] = (float)(t->x[i + 1] - t->x[i]);
        }
    }
    return 0;
}

int attn_compile(attn_plan *p, gc_err *e)
{
    attn_engine engine = p->cfg.variant->engine;
    int rc = 0;
    if (engine == ATTN_ENGINE_POLY) {
        rc = compile_paper(p, &p->a1);
        if (!rc)
            rc = compile_paper(p, &p->a2);
    } else if (engine == ATTN_ENGINE_CELL && p->chip) {
        /* one table when both arrays read on the same grid */
        int same = p->n_level_k == p->n_level_v && p->level_step_k == p->level_step_v;
        rc = compile_chip(p, &p->a1, &p->n_level_k, &p->level_step_k);
        if (!rc && same) {
            rc = array_copy(p, &p->a2, &p->a1);
            p->n_level_v = p->n_level_k;
            p->level_step_v = p->level_step_k;
        } else if (!rc) {
            rc = compile_chip(p, &p->a2, &p->n_level_v, &p->level_step_v);
        }
    } else if (engine == ATTN_ENGINE_CELL) {
        rc = compile_calibrated(p, &p->a1, p->n_level_k, p->level_step_k);
        if (!rc)
            rc = compile_calibrated(p, &p->a2, p->n_level_v, p->level_step_v);
    }
    if (!rc)
        rc = reverse_ages(p, &p->a1) || reverse_ages(p, &p->a2) ? -1 : 0;
    return rc ? gc_fail(e, "attention plan: out of memory compiling the cell") : 0;
}
