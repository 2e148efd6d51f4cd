/* Monotone cubic interpolation (M. Steffen, A&A 239, 443, 1990): the slope at each point is
 * limited so the Hermite cubic never overshoots its neighbours, hence a monotone table gives
 * a monotone curve. Written here because cellmodel must not depend on GSL. */
#include <math.h>
#include <stdlib.h>

#include "cell_internal.h"

static double sign1(double a)
{
    return (a > 0) - (a < 0);
}

void cell_monotone_init(const double *x, const double *y, int n, double *slopes)
{
    if (n < 2) {
        if (n == 1)
            slopes[0] = 0;
        return;
    }
    for (int i = 1; i < n - 1; i++) {
        double h0 = x[i] - x[i - 1], h1 = x[i + 1] - x[i];
        double s0 = (y[i] - y[i - 1]) / h0, s1 = (y[i + 1] - y[i]) / h1;
        double p = (s0 * h1 + s1 * h0) / (h0 + h1);
        double lim = fmin(fabs(s0), fmin(fabs(s1), 0.5 * fabs(p)));
        slopes[i] = (sign1(s0) + sign1(s1)) * lim;
    }
    /* End points: the slope of the end interval (as GSL's steffen), monotone by construction. */
    slopes[0] = (y[1] - y[0]) / (x[1] - x[0]);
    slopes[n - 1] = (y[n - 1] - y[n - 2]) / (x[n - 1] - x[n - 2]);
}

/* Index i with x[i] <= xv < x[i+1], for x[0] <= xv < x[n-1]. */
static int find_interval(const double *x, int n, double xv)
{
    int lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (x[mid] <= xv)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

double cell_monotone_eval(const double *x, const double *y, const double *slopes, int n,
                          double xv)
{
    if (n == 1 || xv <= x[0])
        return y[0];
    if (xv >= x[n - 1])
        return y[n - 1];
    int i = find_interval(x, n, xv);
    double h = x[i + 1] - x[i], t = (xv - x[i]) / h;
    double t2 = t * t, t3 = t2 * t;
    /* Cubic Hermite basis on [x_i, x_{i+1}]. */
    return (2 * t3 - 3 * t2 + 1) * y[i] + (t3 - 2 * t2 + t) * h * slopes[i] +
           (-2 * t3 + 3 * t2) * y[i + 1] + (t3 - t2) * h * slopes[i + 1];
}

int cell_curve_alloc(cell_curve *c, int n)
{
    c->n = n;
    c->x = calloc((size_t)n, sizeof *c->x);
    c->y = calloc((size_t)n, sizeof *c->y);
    c->slopes = calloc((size_t)n, sizeof *c->slopes);
    return c->x && c->y && c->slopes ? 0 : -1;
}

void cell_curve_finish(cell_curve *c)
{
    cell_monotone_init(c->x, c->y, c->n, c->slopes);
}

void cell_curve_free(cell_curve *c)
{
    free(c->x);
    free(c->y);
    free(c->slopes);
    c->x = c->y = c->slopes = NULL;
    c->n = 0;
}

double cell_curve_eval(const cell_curve *c, double x)
{
    return cell_monotone_eval(c->x, c->y, c->slopes, c->n, x);
}
