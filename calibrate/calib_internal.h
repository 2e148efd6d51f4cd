/* Helpers shared by the files of calibrate/ and nothing else: residual accumulation and a
 * monotone interpolant over GSL that never evaluates outside its table. */
#ifndef GCSIM_CALIB_INTERNAL_H
#define GCSIM_CALIB_INTERNAL_H

#include <gsl/gsl_interp.h>

#include "calibrate.h"

/* Running sum of squared errors and the largest |error|. */
typedef struct {
    int n;
    double ss, max;
} calib_acc;

void calib_acc_add(calib_acc *a, double err);
calib_resid calib_acc_done(const calib_acc *a, double full_scale);

/* y(x) through n points (x strictly ascending): Steffen's monotone cubic for n >= 3, a line
 * for n = 2. Outside [x0, x_{n-1}] the end values are returned, as cellmodel does. The
 * interpolant keeps pointers to x and y, which must outlive it. */
typedef struct {
    gsl_interp *ip;
    const double *x, *y;
    int n;
} calib_interp;

int calib_interp_init(calib_interp *s, const double *x, const double *y, int n);
double calib_interp_eval(const calib_interp *s, double xv);
double calib_interp_deriv(const calib_interp *s, double xv);
void calib_interp_free(calib_interp *s);

/* Held-out interpolation error of one row, added to a. */
int calib_heldout_acc(const double *x, const double *y, int n, calib_acc *a);

#endif
