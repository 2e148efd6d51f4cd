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

/* Index i with x[i] <= xv < x[i+1], searching lo..hi, for x[lo] <= xv < x[hi]. */
static int find_interval(const double *x, int lo, int hi, double xv)
{
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (x[mid] <= xv)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* The cubic Hermite on [x_i, x_{i+1}]. */
static double hermite(const double *x, const double *y, const double *slopes, int i, double xv)
{
    double h = x[i + 1] - x[i], t = (xv - x[i]) / h;
    double t2 = t * t, t3 = t2 * t;
    return (2 * t3 - 3 * t2 + 1) * y[i] + (t3 - 2 * t2 + t) * h * slopes[i] +
           (-2 * t3 + 3 * t2) * y[i + 1] + (t3 - t2) * h * slopes[i + 1];
}

double cell_monotone_eval(const double *x, const double *y, const double *slopes, int n,
                          double xv)
{
    if (n == 1 || xv <= x[0])
        return y[0];
    if (xv >= x[n - 1])
        return y[n - 1];
    return hermite(x, y, slopes, find_interval(x, 0, n - 1, xv), xv);
}

int cell_curve_alloc(cell_curve *c, int n)
{
    c->n = n;
    c->x = calloc((size_t)n, sizeof *c->x);
    c->y = calloc((size_t)n, sizeof *c->y);
    c->slopes = calloc((size_t)n, sizeof *c->slopes);
    c->bucket = calloc((size_t)n + 1, sizeof *c->bucket);
    return c->x && c->y && c->slopes && c->bucket ? 0 : -1;
}

/* A lookup finds its interval by binary search between two precomputed indices instead of
 * over the whole table (validation evaluates every cell of an array this way). Bucket
 * b covers [x0 + b·w, x0 + (b+1)·w) with n buckets of width w; bucket[b] is the interval
 * holding its left edge. */
void cell_curve_finish(cell_curve *c)
{
    int n = c->n;
    cell_monotone_init(c->x, c->y, n, c->slopes);
    c->inv_w = n > 1 ? n / (c->x[n - 1] - c->x[0]) : 0;
    for (int b = 0, i = 0; b <= n; b++) {
        double edge = c->x[0] + b / c->inv_w;
        while (i < n - 2 && c->x[i + 1] <= edge)
            i++;
        c->bucket[b] = i;
    }
}

void cell_curve_free(cell_curve *c)
{
    free(c->x);
    free(c->y);
    free(c->slopes);
    free(c->bucket);
    c->x = c->y = c->slopes = NULL;
    c->bucket = NULL;
    c->n = 0;
}

/* The interval of x holding xv, x[0] < xv < x[n-1]. */
static int curve_interval(const cell_curve *c, double xv)
{
    const double *x = c->x;
    int n = c->n;
    double u = (xv - x[0]) * c->inv_w; /* in [0, n] unless the span overflowed */
    int b = u >= 0 && u < n ? (int)u : u >= n ? n - 1 : 0;
    int lo = c->bucket[b], hi = c->bucket[b + 1] + 1;
    /* the bucket arithmetic may be off by a rounding step at an edge */
    while (lo > 0 && x[lo] > xv)
        lo--;
    while (hi < n - 1 && x[hi] <= xv)
        hi++;
    return find_interval(x, lo, hi, xv);
}

double cell_curve_eval(const cell_curve *c, double xv)
{
    const double *x = c->x;
    int n = c->n;
    if (n == 1 || xv <= x[0])
        return c->y[0];
    if (xv >= x[n - 1])
        return c->y[n - 1];
    return hermite(x, c->y, c->slopes, curve_interval(c, xv), xv);
}

void cell_curves_eval(const cell_curve *c, int n_curves, double xv, double *out)
{
    const double *x = c->x;
    int n = c->n;
    if (n == 1 || xv <= x[0] || xv >= x[n - 1]) {
        int end = n == 1 || xv <= x[0] ? 0 : n - 1;
        for (int k = 0; k < n_curves; k++)
            out[k] = c[k].y[end];
        return;
    }
    /* hermite's arithmetic, its basis computed once */
    int i = curve_interval(c, xv);
    double h = x[i + 1] - x[i], t = (xv - x[i]) / h;
    double t2 = t * t, t3 = t2 * t;
    double b0 = 2 * t3 - 3 * t2 + 1, b1 = (t3 - 2 * t2 + t) * h, b2 = -2 * t3 + 3 * t2;
    double b3 = (t3 - t2) * h;
    for (int k = 0; k < n_curves; k++) {
        const double *y = c[k].y, *s = c[k].slopes;
        out[k] = b0 * y[i] + b1 * s[i] + b2 * y[i + 1] + b3 * s[i + 1];
    }
}
