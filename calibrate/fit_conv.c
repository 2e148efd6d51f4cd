/* The converters and the write transfer. A charge-to-pulse curve is summarised as a clamped
 * line, pulse = clamp(gain (Q - offset), lo, hi): the plateaus are read off the data (a level
 * shared by at least two points at an end of the sweep), the line is a least-squares fit to
 * the points clear of both plateaus. The measured curve itself stays the model (a table). */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_fit.h>

#include "calib_internal.h"

#define PLATEAU_TOL 2e-3   /* of t_max: points this close to an extreme belong to a plateau */
#define KNEE_MARGIN 2e-2   /* of t_max: points this close to a plateau are left out of the line */

static double clamped(const calib_conv_fit *f, double q)
{
    return fmin(fmax(f->gain_s_per_c * (q - f->offset_c), f->lo_s), f->hi_s);
}

/* Mean of the points within tol of the extreme ext, or limit if fewer than two. */
static double plateau(const double *p, int n, double ext, double tol, double limit)
{
    double sum = 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (fabs(p[i] - ext) <= tol) {
            sum += p[i];
            m++;
        }
    return m >= 2 ? sum / m : limit;
}

/* Fits f from the points i = first, first + step, ... */
static int fit_line(const double *q, const double *p, int n, int first, int step, double t_max,
                    int is_signed, calib_conv_fit *f)
{
    double hi = -INFINITY, lo = INFINITY;
    int m = 0;
    double *sq = malloc((size_t)n * sizeof *sq), *sp = malloc((size_t)n * sizeof *sp);
    if (!sq || !sp) {
        free(sq);
        free(sp);
        return -1;
    }
    for (int i = first; i < n; i += step, m++) {
        sq[m] = q[i];
        sp[m] = p[i];
        hi = fmax(hi, p[i]);
        lo = fmin(lo, p[i]);
    }
    f->hi_s = plateau(sp, m, hi, PLATEAU_TOL * t_max, t_max);
    f->lo_s = plateau(sp, m, lo, PLATEAU_TOL * t_max, is_signed ? -t_max : 0);
    /* The points clear of both plateaus by the knee margin (or, if that leaves fewer than
     * two, by the plateau tolerance). */
    double margins[2] = {KNEE_MARGIN * t_max, PLATEAU_TOL * t_max};
    int k = 0;
    for (int pass = 0; pass < 2 && k < 2; pass++) {
        k = 0;
        for (int i = 0; i < m; i++)
            if (sp[i] < f->hi_s - margins[pass] && sp[i] > f->lo_s + margins[pass]) {
                sq[k] = sq[i];
                sp[k++] = sp[i];
            }
        if (k < 2) /* restore the subset for the second pass */
            for (int i = first, j = 0; i < n; i += step, j++) {
                sq[j] = q[i];
                sp[j] = p[i];
            }
    }
    double c0, c1, cov00, cov01, cov11, ss;
    int rc = k >= 2 ? gsl_fit_linear(sq, 1, sp, 1, (size_t)k, &c0, &c1, &cov00, &cov01, &cov11, &ss)
                    : -1;
    free(sq);
    free(sp);
    if (rc || !(c1 > 0))
        return -1;
    f->gain_s_per_c = c1;
    f->offset_c = -c0 / c1;
    f->sat_hi_c = f->offset_c + f->hi_s / c1;
    f->sat_lo_c = f->offset_c + f->lo_s / c1;
    return 0;
}

static calib_resid line_resid(const calib_conv_fit *f, const double *q, const double *p, int n,
                              int first, int step, double fs)
{
    calib_acc a = {0};
    for (int i = first; i < n; i += step)
        calib_acc_add(&a, clamped(f, q[i]) - p[i]);
    return calib_acc_done(&a, fs);
}

int calib_fit_converter(const double *q, const double *p, int n, double t_max_s, int is_signed,
                        const char *what, calib_conv_fit *f, gc_err *e)
{
    if (fit_line(q, p, n, 0, 1, t_max_s, is_signed, f))
        return gc_fail(e, "%s: no rising linear range between the plateaus to fit a line to",
                       what);
    f->line_fit = line_resid(f, q, p, n, 0, 1, t_max_s);
    calib_conv_fit h;
    if (n >= 8 && fit_line(q, p, n, 0, 2, t_max_s, is_signed, &h) == 0)
        f->line_heldout = line_resid(&h, q, p, n, 1, 2, t_max_s);
    calib_acc a = {0};
    if (calib_heldout_acc(q, p, n, &a))
        return gc_fail(e, "%s: held-out interpolation failed", what);
    f->table_heldout = calib_acc_done(&a, t_max_s);
    return 0;
}

int calib_fit_write(const calib_curves *c, calib_write_fit *w, gc_err *e)
{
    double cov00, cov01, cov11, ss;
    if (c->n_w < 2 || gsl_fit_linear(c->w_dac, 1, c->w_stored, 1, (size_t)c->n_w, &w->offset_v,
                                     &w->gain, &cov00, &cov01, &cov11, &ss))
        return gc_fail(e, "%s: /write: cannot fit the stored voltage against the DAC voltage",
                       c->path);
    if (c->n_w < 4)
        return 0;
    /* Held out: the line through the even levels, checked on the odd ones. */
    double off, gain;
    gsl_fit_linear(c->w_dac, 2, c->w_stored, 2, (size_t)(c->n_w + 1) / 2, &off, &gain, &cov00,
                   &cov01, &cov11, &ss);
    calib_acc a = {0};
    for (int i = 1; i < c->n_w; i += 2)
        calib_acc_add(&a, off + gain * c->w_dac[i] - c->w_stored[i]);
    w->line_heldout = calib_acc_done(&a, c->vdd_v);
    return 0;
}
