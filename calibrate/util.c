/* Residuals, held-out interpolation error, monotone interpolation and polynomial least
 * squares: the small numerical pieces every fit of calibrate/ uses. */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_multifit.h>

#include "calib_internal.h"

void calib_acc_add(calib_acc *a, double err)
{
    a->n++;
    a->ss += err * err;
    if (fabs(err) > a->max)
        a->max = fabs(err);
}

calib_resid calib_acc_done(const calib_acc *a, double full_scale)
{
    calib_resid r = {a->n, a->n ? sqrt(a->ss / a->n) : 0, a->max, full_scale};
    return r;
}

double calib_pct(double x, double full_scale)
{
    return full_scale > 0 ? 100 * x / full_scale : 0;
}

int calib_interp_init(calib_interp *s, const double *x, const double *y, int n)
{
    s->x = x;
    s->y = y;
    s->n = n;
    s->ip = gsl_interp_alloc(n >= 3 ? gsl_interp_steffen : gsl_interp_linear, (size_t)n);
    if (!s->ip)
        return -1;
    if (gsl_interp_init(s->ip, x, y, (size_t)n)) {
        gsl_interp_free(s->ip);
        s->ip = NULL;
        return -1;
    }
    return 0;
}

double calib_interp_eval(const calib_interp *s, double xv)
{
    if (xv <= s->x[0])
        return s->y[0];
    if (xv >= s->x[s->n - 1])
        return s->y[s->n - 1];
    double y;
    return gsl_interp_eval_e(s->ip, s->x, s->y, xv, NULL, &y) ? NAN : y;
}

double calib_interp_deriv(const calib_interp *s, double xv)
{
    double d;
    xv = fmin(fmax(xv, s->x[0]), s->x[s->n - 1]);
    return gsl_interp_eval_deriv_e(s->ip, s->x, s->y, xv, NULL, &d) ? NAN : d;
}

void calib_interp_free(calib_interp *s)
{
    if (s->ip)
        gsl_interp_free(s->ip);
    s->ip = NULL;
}

/* Keeps the even points and the last one (so no held-out point needs extrapolation),
 * interpolates through them and measures the error on the others. */
int calib_heldout_acc(const double *x, const double *y, int n, calib_acc *a)
{
    if (n < 4)
        return 0; /* too few points to leave any out: nothing measured */
    double *kx = malloc((size_t)n * sizeof *kx), *ky = malloc((size_t)n * sizeof *ky);
    int m = 0, rc = -1;
    if (!kx || !ky)
        goto done;
    for (int i = 0; i < n; i++)
        if (i % 2 == 0 || i == n - 1) {
            kx[m] = x[i];
            ky[m++] = y[i];
        }
    calib_interp s;
    if (calib_interp_init(&s, kx, ky, m))
        goto done;
    for (int i = 1; i < n - 1; i += 2)
        calib_acc_add(a, calib_interp_eval(&s, x[i]) - y[i]);
    calib_interp_free(&s);
    rc = 0;
done:
    free(kx);
    free(ky);
    return rc;
}

int calib_heldout_steffen(const double *x, const double *y, int n, double full_scale,
                          calib_resid *r, gc_err *e)
{
    calib_acc a = {0};
    if (calib_heldout_acc(x, y, n, &a))
        return gc_fail(e, "held-out interpolation failed (axis not strictly ascending?)");
    *r = calib_acc_done(&a, full_scale);
    return 0;
}

int calib_polyfit(const double *x, const double *y, int n, int deg, double *coef, gc_err *e)
{
    if (deg < 0 || deg > CALIB_MAX_POLY_DEGREE || n < deg + 1)
        return gc_fail(e, "polynomial of degree %d needs %d points (has %d)", deg, deg + 1, n);
    size_t p = (size_t)deg + 1;
    gsl_matrix *X = gsl_matrix_alloc((size_t)n, p);
    gsl_vector *Y = gsl_vector_alloc((size_t)n), *c = gsl_vector_alloc(p);
    gsl_matrix *cov = gsl_matrix_alloc(p, p);
    gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc((size_t)n, p);
    int rc = -1;
    if (X && Y && c && cov && w) {
        for (int i = 0; i < n; i++) {
            double xp = 1;
            for (size_t j = 0; j < p; j++, xp *= x[i])
                gsl_matrix_set(X, (size_t)i, j, xp);
            gsl_vector_set(Y, (size_t)i, y[i]);
        }
        double chisq;
        rc = gsl_multifit_linear(X, Y, c, cov, &chisq, w) ? -1 : 0;
        for (size_t j = 0; rc == 0 && j < p; j++)
            coef[j] = gsl_vector_get(c, j);
    }
    gsl_multifit_linear_free(w);
    gsl_matrix_free(cov);
    gsl_vector_free(c);
    gsl_vector_free(Y);
    gsl_matrix_free(X);
    return rc ? gc_fail(e, "polynomial least squares (degree %d) failed", deg) : 0;
}

double calib_polyval(const double *coef, int deg, double x)
{
    double v = 0;
    for (int j = deg; j >= 0; j--)
        v = v * x + coef[j];
    return v;
}
