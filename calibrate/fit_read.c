/* The read fit: the charge table (kept whole in cell.h5, interpolated monotonically in the
 * stored voltage by cellmodel) with its held-out error, and the paper-style polynomial of the
 * full-pulse DC current in µA versus y = V_stored - V_mid at the largest V_in. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calib_internal.h"

/* Every pulse level's row, every other stored voltage held out; full scale = max |charge|. */
static int table_heldout(const calib_curves *c, calib_read_fit *r, gc_err *e)
{
    double fs = 0;
    for (int i = 0; i < c->n_p * c->n_v; i++)
        fs = fmax(fs, fabs(c->charge[i]));
    calib_acc a = {0};
    for (int p = 0; p < c->n_p; p++)
        if (calib_heldout_acc(c->v_store, c->charge + (size_t)p * c->n_v, c->n_v, &a))
            return gc_fail(e, "%s: /read: held-out interpolation failed", c->path);
    r->table_heldout = calib_acc_done(&a, fs);
    return 0;
}

/* Residual of the polynomial coef on the points i = first, first + step, ... */
static calib_resid poly_resid(const double *coef, int deg, const double *x, const double *y,
                              int n, int first, int step, double fs)
{
    calib_acc a = {0};
    for (int i = first; i < n; i += step)
        calib_acc_add(&a, calib_polyval(coef, deg, x[i]) - y[i]);
    return calib_acc_done(&a, fs);
}

static int poly_fits(const calib_curves *c, int deg, double *y, double *i_ua,
                     calib_read_fit *r, gc_err *e)
{
    int n = c->n_dc;
    double fs = 0;
    for (int i = 0; i < n; i++) {
        y[i] = c->dc_v[i] - c->v_mid_v;
        i_ua[i] = 1e6 * c->dc_i[(size_t)i * c->n_vin + (c->n_vin - 1)];
        fs = fmax(fs, fabs(i_ua[i]));
    }
    if (calib_polyfit(y, i_ua, n, deg, r->poly_ua, e))
        return gc_wrap(e, "%s: /read/dc_current", c->path);
    r->poly_fit = poly_resid(r->poly_ua, deg, y, i_ua, n, 0, 1, fs);
    /* Held out: fit on the even points (packed in place of the odd ones' order), check odd. */
    int m = 0;
    double *ey = malloc((size_t)n * sizeof *ey), *ei = malloc((size_t)n * sizeof *ei);
    double coef[CALIB_MAX_POLY_DEGREE + 1];
    int rc = ey && ei ? 0 : gc_fail(e, "out of memory");
    for (int i = 0; rc == 0 && i < n; i += 2, m++) {
        ey[m] = y[i];
        ei[m] = i_ua[i];
    }
    if (rc == 0 && m >= deg + 1 && n >= 2 * (deg + 1)) {
        rc = calib_polyfit(ey, ei, m, deg, coef, e);
        if (rc == 0)
            r->poly_heldout = poly_resid(coef, deg, y, i_ua, n, 1, 2, fs);
    }
    free(ey);
    free(ei);
    return rc;
}

/* The polynomial against the full-pulse row of the charge table (as a mean current). */
static void poly_vs_table(const calib_curves *c, calib_read_fit *r)
{
    const double *row = c->charge + (size_t)(c->n_p - 1) * c->n_v;
    double tf = c->pulse_s[c->n_p - 1], fs = 0;
    calib_acc a = {0};
    for (int i = 0; i < c->n_v; i++) {
        double i_ua = 1e6 * row[i] / tf;
        fs = fmax(fs, fabs(i_ua));
        calib_acc_add(&a, calib_polyval(r->poly_ua, r->poly_degree, c->v_store[i] - c->v_mid_v) -
                              i_ua);
    }
    r->poly_vs_table = calib_acc_done(&a, fs);
}

/* A cell delivers no less charge from a higher stored voltage, and cellmodel refuses a row
 * that falls. SPICE's integrated charges carry noise far below a read's resolution, though: at
 * the shortest pulse a row is about 1e-19 C and may fall by 1e-22 C from one stored voltage to
 * the next. A fall of at most LEVEL_TOL of the table's full scale is levelled (the row's
 * running maximum, counted in fit.json); a larger one is a cell that is not monotone. */
#define LEVEL_TOL 1e-6

static int level_rows(const calib_curves *c, calib_read_fit *r, gc_err *e)
{
    size_t n = (size_t)c->n_p * c->n_v;
    double fs = 0;
    for (size_t i = 0; i < n; i++)
        fs = fmax(fs, fabs(c->charge[i]));
    if (!(r->charge = malloc(n * sizeof *r->charge)))
        return gc_fail(e, "out of memory");
    memcpy(r->charge, c->charge, n * sizeof *r->charge);
    for (int p = 0; p < c->n_p; p++) {
        double *row = r->charge + (size_t)p * c->n_v;
        for (int i = 1; i < c->n_v; i++) {
            double fall = row[i - 1] - row[i];
            if (fall > LEVEL_TOL * fs)
                return gc_fail(e, "%s: /read/charge falls by %.3g C (%.2g of full scale) from "
                               "v_store %.4g V to %.4g V at pulse level %d: the cell is not "
                               "monotone", c->path, fall, fall / fs, c->v_store[i - 1],
                               c->v_store[i], p);
            if (fall > 0) {
                row[i] = row[i - 1];
                r->levelled++;
                r->levelled_max_c = fmax(r->levelled_max_c, fall);
            }
        }
    }
    return 0;
}

void calib_read_fit_free(calib_read_fit *r)
{
    free(r->charge);
    r->charge = NULL;
}

int calib_fit_read(const calib_curves *c, int degree, calib_read_fit *r, gc_err *e)
{
    if (degree < 0 || degree > CALIB_MAX_POLY_DEGREE)
        return gc_fail(e, "read polynomial degree %d: expected 0..%d", degree,
                       CALIB_MAX_POLY_DEGREE);
    if (level_rows(c, r, e))
        return -1;
    r->poly_degree = degree;
    r->poly_vin_v = c->vin[c->n_vin - 1];
    if (table_heldout(c, r, e))
        return -1;
    double *y = malloc((size_t)c->n_dc * sizeof *y), *i_ua = malloc((size_t)c->n_dc * sizeof *i_ua);
    int rc = y && i_ua ? poly_fits(c, degree, y, i_ua, r, e) : gc_fail(e, "out of memory");
    free(y);
    free(i_ua);
    if (rc == 0)
        poly_vs_table(c, r);
    return rc;
}
