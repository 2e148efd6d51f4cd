/* The leakage fit. The node obeys C dV/dt = -I_leak(V). Away from the equilibrium v_eq
 * (the root of I_leak) the time to fall from the end of the swept range to V is
 * t(V) = C ∫ dv / |I_leak(v)|, tabulated on each side so that decay(V0, t) is two lookups:
 * t0 = t(V0), V = V(t0 + t). Near v_eq the leak is linear, I ≈ G (V - v_eq), and the tail is
 * the exponential of tau = C / G. C is not known from the DC curve alone: it is the value
 * that makes this model match the SPICE hold transients best: one C for all of them (the
 * number reported), one per side of v_eq, and for the tables a C(V) per side whose shape
 * comes from the transients and whose scale is fitted, because the gate capacitance of the
 * read pair changes by a few per cent with V and a single C leaves millivolt errors.
 * Every table time is proportional to the scale of C, so the tables are computed once per
 * farad and only rescaled while it is searched. */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_roots.h>

#include "calib_internal.h"

#define N_TAB 1024         /* points per side: the end slopes of the monotone interpolant
                            * are first order, so the first interval must be short */
#define D_MIN_FRAC 1e-5    /* the tables stop this close to v_eq (relative to the range) */
#define GL_POINTS 8        /* Gauss-Legendre points per table interval */

/* One side of v_eq: v runs from the range end toward v_eq, T (s per farad) from 0 up. */
typedef struct {
    double v[N_TAB], T[N_TAB], va[N_TAB], Ta[N_TAB]; /* va, Ta: the same with v ascending */
    calib_interp t_of_v, v_of_t;
} side;

typedef struct {
    calib_interp i_of_v;
    double v_eq, g;        /* equilibrium (V) and dI/dV there (A/V) */
    side s[2];             /* 0: upper, 1: lower */
    double sign_s;         /* integrand orientation of the side being built */
    /* Shape of C(V) per side, relative: C = scale · w(V - v_eq), w a quadratic (wdeg -1: 1).
     * The tables hold time per unit scale; g_side = G / w(0) is the tail rate in those units. */
    int wdeg[2];
    double wc[2][3], g_side[2];
    int cur;               /* side being built */
} leak_work;

static double i_at(const leak_work *w, double v)
{
    return calib_interp_eval(&w->i_of_v, v);
}

/* ---------------------------------------------------------------------------------------- */
/* Equilibrium: I_leak must go from negative (node charges up) to positive (it discharges)
 * exactly once. */

static double i_root_fn(double v, void *p)
{
    return i_at(p, v);
}

static int find_v_eq(const calib_curves *c, leak_work *w, gc_err *e)
{
    int n = c->n_leak, k = -1;
    double imax = 0;
    for (int i = 0; i < n; i++)
        imax = fmax(imax, fabs(c->leak_i[i]));
    int last_sign = -1;
    for (int i = 0; i < n; i++) {
        int sg = fabs(c->leak_i[i]) <= 1e-12 * imax ? 0 : c->leak_i[i] > 0 ? 1 : -1;
        if (sg < last_sign)
            return gc_fail(e, "%s: /leak/i_leak crosses zero more than once (needs one "
                              "equilibrium: negative below it, positive above)", c->path);
        if (sg >= 0 && k < 0)
            k = i;
        last_sign = sg;
    }
    if (k <= 0 || c->leak_i[n - 1] <= 0)
        return gc_fail(e, "%s: /leak/i_leak does not change sign inside the swept range: no "
                          "equilibrium between %g and %g V", c->path, c->leak_v[0],
                       c->leak_v[n - 1]);
    if (fabs(c->leak_i[k]) <= 1e-12 * imax) { /* a sweep point sits on v_eq */
        w->v_eq = c->leak_v[k];
        return 0;
    }
    gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    gsl_function F = {i_root_fn, w};
    if (!s || gsl_root_fsolver_set(s, &F, c->leak_v[k - 1], c->leak_v[k])) {
        gsl_root_fsolver_free(s);
        return gc_fail(e, "%s: cannot bracket the root of /leak/i_leak", c->path);
    }
    for (int it = 0; it < 200; it++) {
        gsl_root_fsolver_iterate(s);
        if (gsl_root_test_interval(gsl_root_fsolver_x_lower(s), gsl_root_fsolver_x_upper(s),
                                   1e-13, 0) == GSL_SUCCESS)
            break;
    }
    w->v_eq = gsl_root_fsolver_root(s);
    gsl_root_fsolver_free(s);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Unit-capacitance tables. With d = |V - v_eq| and λ = ln d, dt/C = d / |I| dλ, smooth even
 * as d -> 0 (it tends to 1/G), so fixed Gauss-Legendre rules per interval are accurate. */

static double dT_dlambda(double lambda, void *p)
{
    const leak_work *w = p;
    double d = exp(lambda), i = w->sign_s * i_at(w, w->v_eq + w->sign_s * d);
    double wt = w->wdeg[w->cur] < 0 ? 1 : calib_polyval(w->wc[w->cur], 2, w->sign_s * d);
    return i > 0 && wt > 0 ? wt * d / i : NAN;
}

static int build_side(const calib_curves *c, leak_work *w, int which,
                      gsl_integration_glfixed_table *gl, gc_err *e)
{
    side *sd = &w->s[which];
    w->sign_s = which == 0 ? 1 : -1;
    w->cur = which;
    w->g_side[which] = w->wdeg[which] < 0 ? w->g : w->g / w->wc[which][0];
    calib_interp_free(&sd->t_of_v); /* a rebuild replaces the previous tables */
    calib_interp_free(&sd->v_of_t);
    double end = which == 0 ? c->leak_v[c->n_leak - 1] : c->leak_v[0];
    double d0 = fabs(end - w->v_eq);
    gsl_function F = {dT_dlambda, w};
    double lam_prev = log(d0);
    sd->v[0] = end;
    sd->T[0] = 0;
    for (int k = 1; k < N_TAB; k++) {
        double lam = log(d0) + log(D_MIN_FRAC) * k / (N_TAB - 1);
        double dT = gsl_integration_glfixed(&F, lam, lam_prev, gl);
        if (!(dT > 0))
            return gc_fail(e, "%s: /leak/i_leak has the wrong sign between %g V and the "
                              "equilibrium %g V", c->path, end, w->v_eq);
        sd->v[k] = w->v_eq + w->sign_s * exp(lam);
        sd->T[k] = sd->T[k - 1] + dT;
        lam_prev = lam;
    }
    for (int k = 0; k < N_TAB; k++) {
        int j = which == 0 ? N_TAB - 1 - k : k; /* t(v) needs v ascending */
        sd->va[k] = sd->v[j];
        sd->Ta[k] = sd->T[j];
    }
    if (calib_interp_init(&sd->t_of_v, sd->va, sd->Ta, N_TAB) ||
        calib_interp_init(&sd->v_of_t, sd->T, sd->v, N_TAB))
        return gc_fail(e, "%s: leakage tables are not monotone", c->path);
    return 0;
}

/* Voltage after u = t / C (s per farad) from v0: the lookups and tail of cellmodel. */
static double decay_u(const leak_work *w, double v0, double u)
{
    if (u <= 0 || v0 == w->v_eq)
        return v0;
    int which = v0 > w->v_eq ? 0 : 1;
    const side *sd = &w->s[which];
    double T_end = sd->T[N_TAB - 1], v_end = sd->v[N_TAB - 1], g = w->g_side[which];
    if (fabs(v0 - w->v_eq) <= fabs(v_end - w->v_eq))
        return w->v_eq + (v0 - w->v_eq) * exp(-u * g);
    double T1 = calib_interp_eval(&sd->t_of_v, v0) + u;
    if (T1 >= T_end)
        return w->v_eq + (v_end - w->v_eq) * exp(-(T1 - T_end) * g);
    return calib_interp_eval(&sd->v_of_t, T1);
}

/* ---------------------------------------------------------------------------------------- */
/* Matching the transients. A selection: the transients on one side of v_eq (side = +1 upper,
 * -1 lower, 0 both) and, counted within that side, all of them (parity -1), the even ones (0)
 * or the odd ones (1). cap[0] / cap[1] are the capacitances of the upper / lower side. */

typedef struct {
    const calib_curves *c;
    const leak_work *w;
    int side, parity;
} match;

static int selected(const match *m, int j, int *count)
{
    double dv = m->c->v0[j] - m->w->v_eq;
    int on_side = m->side == 0 || (m->side > 0 ? dv > 0 : dv < 0);
    if (!on_side)
        return 0;
    int idx = (*count)++;
    return m->parity < 0 || idx % 2 == m->parity;
}

static double model_err(const match *m, const double cap[2], calib_acc *acc)
{
    const calib_curves *c = m->c;
    double ss = 0;
    int count = 0;
    for (int j = 0; j < c->n_v0; j++) {
        if (!selected(m, j, &count))
            continue;
        double cf = cap[c->v0[j] > m->w->v_eq ? 0 : 1];
        for (int k = 0; k < c->n_t; k++) {
            double err = decay_u(m->w, c->v0[j], c->t[k] / cf) - c->vt[(size_t)j * c->n_t + k];
            ss += err * err;
            if (acc)
                calib_acc_add(acc, err);
        }
    }
    return ss;
}

static double exp_err(const match *m, double tau_s, calib_acc *acc)
{
    const calib_curves *c = m->c;
    double ss = 0;
    int count = 0;
    for (int j = 0; j < c->n_v0; j++) {
        if (!selected(m, j, &count))
            continue;
        for (int k = 0; k < c->n_t; k++) {
            double v = m->w->v_eq + (c->v0[j] - m->w->v_eq) * exp(-c->t[k] / tau_s);
            double err = v - c->vt[(size_t)j * c->n_t + k];
            ss += err * err;
            if (acc)
                calib_acc_add(acc, err);
        }
    }
    return ss;
}

/* x = ln C, the same C on both sides (only the selected side matters when side != 0). */
static double model_err_log(double x, void *p)
{
    double cap[2] = {exp(x), exp(x)};
    return model_err(p, cap, NULL);
}

static double exp_err_log(double x, void *p)
{
    return exp_err(p, exp(x), NULL);
}

/* Minimises f over x = ln(value) in [lo, hi]: a grid finds the basin, Brent refines it. */
static int minimize_log(double (*f)(double, void *), void *p, double lo, double hi,
                        double *best, const char *what, gc_err *e)
{
    enum { N = 161 };
    double x[N], y[N];
    int ib = 0;
    for (int i = 0; i < N; i++) {
        x[i] = log(lo) + (log(hi) - log(lo)) * i / (N - 1);
        y[i] = f(x[i], p);
        if (!isfinite(y[i]))
            return gc_fail(e, "%s: model error is not finite at %g", what, exp(x[i]));
        if (y[i] < y[ib])
            ib = i;
    }
    if (ib == 0 || ib == N - 1)
        return gc_fail(e, "%s: best value lies outside %g..%g", what, lo, hi);
    *best = exp(x[ib]);
    gsl_min_fminimizer *s = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
    gsl_function F = {f, p};
    /* A flat objective cannot be bracketed strictly; the grid value then stands. */
    if (!s || gsl_min_fminimizer_set_with_values(s, &F, x[ib], y[ib], x[ib - 1], y[ib - 1],
                                                 x[ib + 1], y[ib + 1])) {
        gsl_min_fminimizer_free(s);
        return 0;
    }
    for (int it = 0; it < 100; it++) {
        if (gsl_min_fminimizer_iterate(s))
            break;
        if (gsl_min_test_interval(gsl_min_fminimizer_x_lower(s), gsl_min_fminimizer_x_upper(s),
                                  1e-10, 0) == GSL_SUCCESS)
            break;
    }
    *best = exp(gsl_min_fminimizer_x_minimum(s));
    gsl_min_fminimizer_free(s);
    return 0;
}

/* How many transients a selection holds. */
static int n_selected(const match *m)
{
    int count = 0, n = 0;
    for (int j = 0; j < m->c->n_v0; j++)
        n += selected(m, j, &count);
    return n;
}

/* C for one selection; fallback where it holds no transient. */
static int fit_cap(const calib_curves *c, const leak_work *w, int side, int parity,
                   double fallback, double *cap, gc_err *e)
{
    match m = {c, w, side, parity};
    if (n_selected(&m) == 0) {
        *cap = fallback;
        return 0;
    }
    if (minimize_log(model_err_log, &m, 1e-18, 1e-10, cap,
                     "leak: node capacitance from the hold transients", e))
        return gc_wrap(e, "%s", c->path);
    return 0;
}

/* C over all transients and per side, and the best single exponential for comparison with
 * the paper. */
static int match_transients(const calib_curves *c, leak_work *w, calib_leak_fit *l, gc_err *e)
{
    match all = {c, w, 0, -1};
    calib_acc a = {0}, a1 = {0}, s = {0};
    if (fit_cap(c, w, 0, -1, 0, &l->c_node_f, e) ||
        fit_cap(c, w, 1, -1, l->c_node_f, &l->c_upper_f, e) ||
        fit_cap(c, w, -1, -1, l->c_node_f, &l->c_lower_f, e))
        return -1;
    double one[2] = {l->c_node_f, l->c_node_f}, sides[2] = {l->c_upper_f, l->c_lower_f};
    model_err(&all, one, &a1);
    model_err(&all, sides, &a);
    l->model_one_c = calib_acc_done(&a1, c->vdd_v);
    l->model_side_c = calib_acc_done(&a, c->vdd_v);
    l->span_s = c->t[c->n_t - 1];
    if (minimize_log(exp_err_log, &all, l->span_s * 1e-4, l->span_s * 1e4, &l->tau_single_s,
                     "leak: single-exponential time constant", e))
        return gc_wrap(e, "%s", c->path);
    exp_err(&all, l->tau_single_s, &s);
    l->single = calib_acc_done(&s, c->vdd_v);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* C(V). The gate capacitance of the read pair changes with the stored voltage by a few per
 * cent, which a constant C per side turns into about a millivolt of error. Each sample of a
 * transient gives a local C = -I_leak(V) / (dV/dt); a quadratic through them fixes the shape
 * of C(V) on a side, and the 1-d search then fits its scale to the transients as before.
 * The shape is kept only where it matches the transients better than a constant. */

/* Local C samples of the selected transients, away from v_eq where both I and dV/dt vanish;
 * fits w (normalised to w(0) = 1). Leaves wdeg = -1 (constant) when there are too few, or
 * memory runs out, or the quadratic is not positive over the side. */
static void shape_from_samples(const calib_curves *c, leak_work *w, int which, int parity)
{
    match m = {c, w, which == 0 ? 1 : -1, parity};
    double d_end = fabs((which == 0 ? c->leak_v[c->n_leak - 1] : c->leak_v[0]) - w->v_eq);
    size_t cap = (size_t)c->n_v0 * c->n_t;
    double *x = malloc(cap * sizeof *x), *y = malloc(cap * sizeof *y), coef[3];
    int n = 0, count = 0;
    w->wdeg[which] = -1;
    for (int j = 0; x && y && j < c->n_v0; j++) {
        if (!selected(&m, j, &count))
            continue;
        const double *v = c->vt + (size_t)j * c->n_t;
        for (int k = 1; k + 1 < c->n_t; k++) {
            double dvdt = (v[k + 1] - v[k - 1]) / (c->t[k + 1] - c->t[k - 1]);
            double i = i_at(w, v[k]), loc = -i / dvdt;
            if (fabs(v[k] - w->v_eq) > 0.05 * d_end && dvdt != 0 && loc > 0) {
                x[n] = v[k] - w->v_eq;
                y[n++] = loc;
            }
        }
    }
    int ok = n >= 8 && calib_polyfit(x, y, n, 2, coef, NULL) == 0 && coef[0] > 0;
    for (int k = 0; ok && k <= 20; k++) /* positive over the whole side */
        ok = calib_polyval(coef, 2, (which == 0 ? d_end : -d_end) * k / 20) > 0;
    if (ok) {
        w->wdeg[which] = 2;
        for (int i = 0; i < 3; i++)
            w->wc[which][i] = coef[i] / coef[0];
    }
    free(x);
    free(y);
}

/* One side's tables and scale, from the selected transients: C(V) if use_cv, else constant. */
static int side_model(const calib_curves *c, leak_work *w, int which, int parity, int use_cv,
                      gsl_integration_glfixed_table *gl, double fallback, double *scale,
                      gc_err *e)
{
    w->wdeg[which] = -1;
    if (use_cv)
        shape_from_samples(c, w, which, parity);
    if (build_side(c, w, which, gl, e))
        return -1;
    return fit_cap(c, w, which == 0 ? 1 : -1, parity, fallback, scale, e);
}

static double side_sse(const calib_curves *c, const leak_work *w, int which, double scale)
{
    match m = {c, w, which == 0 ? 1 : -1, -1};
    double cap[2] = {scale, scale};
    return model_err(&m, cap, NULL);
}

/* Chooses each side's kind of model, measures it held out, and leaves the final tables in w
 * with their scales in scale[2]. */
static int choose_models(const calib_curves *c, leak_work *w, calib_leak_fit *l,
                         gsl_integration_glfixed_table *gl, double scale[2], gc_err *e)
{
    calib_acc h = {0};
    for (int which = 0; which < 2; which++) {
        double c_side = which == 0 ? l->c_upper_f : l->c_lower_f, s_cv, s_h;
        match side = {c, w, which == 0 ? 1 : -1, -1}, odd = {c, w, which == 0 ? 1 : -1, 1};
        double sse_const = side_sse(c, w, which, c_side);
        if (side_model(c, w, which, -1, 1, gl, c_side, &s_cv, e))
            return -1;
        int use_cv = n_selected(&side) > 0 && w->wdeg[which] >= 0 &&
                     side_sse(c, w, which, s_cv) < sse_const;
        if (n_selected(&odd) > 0) {
            if (side_model(c, w, which, 0, use_cv, gl, c_side, &s_h, e))
                return -1;
            double cap[2] = {s_h, s_h};
            model_err(&odd, cap, &h);
        }
        if (side_model(c, w, which, -1, use_cv, gl, c_side, &scale[which], e))
            return -1;
        l->cv_used[which] = w->wdeg[which] >= 0;
        for (int i = 0; i < 3 && l->cv_used[which]; i++)
            l->cv_f[which][i] = scale[which] * w->wc[which][i];
    }
    l->model_heldout = calib_acc_done(&h, c->vdd_v);
    match all = {c, w, 0, -1};
    calib_acc a = {0};
    model_err(&all, scale, &a);
    l->model = calib_acc_done(&a, c->vdd_v);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */

static int copy_tables(const leak_work *w, const double scale[2], calib_leak_fit *l)
{
    l->n_up = l->n_lo = N_TAB;
    double **bufs[] = {&l->up_v, &l->up_t, &l->lo_v, &l->lo_t};
    for (int i = 0; i < 4; i++)
        if (!(*bufs[i] = malloc(N_TAB * sizeof(double))))
            return -1;
    for (int k = 0; k < N_TAB; k++) {
        l->up_v[k] = w->s[0].v[k];
        l->up_t[k] = scale[0] * w->s[0].T[k];
        l->lo_v[k] = w->s[1].v[k];
        l->lo_t[k] = scale[1] * w->s[1].T[k];
    }
    return 0;
}

static int fit_leak_work(const calib_curves *c, leak_work *w, calib_leak_fit *l, gc_err *e)
{
    double imax = 0;
    for (int i = 0; i < c->n_leak; i++)
        imax = fmax(imax, fabs(c->leak_i[i]));
    calib_acc a = {0};
    if (calib_heldout_acc(c->leak_v, c->leak_i, c->n_leak, &a))
        return gc_fail(e, "%s: /leak: held-out interpolation failed", c->path);
    l->i_heldout = calib_acc_done(&a, imax);
    if (calib_interp_init(&w->i_of_v, c->leak_v, c->leak_i, c->n_leak))
        return gc_fail(e, "%s: /leak/dc_v must be strictly ascending", c->path);
    if (find_v_eq(c, w, e))
        return -1;
    w->g = calib_interp_deriv(&w->i_of_v, w->v_eq);
    if (!(w->g > 0))
        return gc_fail(e, "%s: /leak/i_leak has no positive slope at the equilibrium %g V",
                       c->path, w->v_eq);
    l->v_eq_v = w->v_eq;
    gsl_integration_glfixed_table *gl = gsl_integration_glfixed_table_alloc(GL_POINTS);
    int rc = gl ? 0 : gc_fail(e, "out of memory");
    if (rc == 0)
        rc = build_side(c, w, 0, gl, e) || build_side(c, w, 1, gl, e) ? -1 : 0;
    double scale[2];
    if (rc == 0 && c->n_v0 > 0) {
        rc = match_transients(c, w, l, e) || choose_models(c, w, l, gl, scale, e) ? -1 : 0;
    } else if (rc == 0) {
        /* No transients (imported without --leak): C is the assumed one; nothing to match. */
        l->c_node_f = l->c_upper_f = l->c_lower_f = c->c_node_assumed_f;
        l->tau_single_s = l->c_node_f / w->g;
        scale[0] = scale[1] = l->c_node_f;
    }
    gsl_integration_glfixed_table_free(gl);
    if (rc)
        return -1;
    l->tau_tail_s = l->c_node_f / w->g;
    return copy_tables(w, scale, l) ? gc_fail(e, "out of memory") : 0;
}

int calib_fit_leak(const calib_curves *c, calib_leak_fit *l, gc_err *e)
{
    leak_work *w = calloc(1, sizeof *w);
    if (!w)
        return gc_fail(e, "out of memory");
    w->wdeg[0] = w->wdeg[1] = -1;
    if (c->n_v0 == 0 && !(c->c_node_assumed_f > 0)) {
        free(w);
        return gc_fail(e, "%s: /leak has no hold transients (v0, time, v_store) to find the "
                          "node capacitance from", c->path);
    }
    int rc = fit_leak_work(c, w, l, e);
    calib_interp_free(&w->i_of_v);
    for (int s = 0; s < 2; s++) {
        calib_interp_free(&w->s[s].t_of_v);
        calib_interp_free(&w->s[s].v_of_t);
    }
    free(w);
    return rc;
}

void calib_leak_fit_free(calib_leak_fit *l)
{
    free(l->up_v);
    free(l->up_t);
    free(l->lo_v);
    free(l->lo_t);
    l->up_v = l->up_t = l->lo_v = l->lo_t = NULL;
}
