/* Symmetric eigen-decomposition by cyclic Jacobi rotations, for the small Gram matrices of
 * the cell decomposition (n up to a few hundred). attention depends on BLAS but not LAPACK,
 * and these matrices are too small for speed to matter. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn_internal.h"
#include "jacobi.h"

/* One rotation zeroing a[p][q]; v accumulates the eigenvectors in its columns. */
static void rotate(double *a, double *v, int n, int p, int q)
{
    double apq = a[p * n + q];
    double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
    double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
    double c = 1 / sqrt(t * t + 1), s = t * c;
    for (int k = 0; k < n; k++) {
        double akp = a[k * n + p], akq = a[k * n + q];
        a[k * n + p] = c * akp - s * akq;
        a[k * n + q] = s * akp + c * akq;
    }
    for (int k = 0; k < n; k++) {
        double apk = a[p * n + k], aqk = a[q * n + k];
        a[p * n + k] = c * apk - s * aqk;
        a[q * n + k] = s * apk + c * aqk;
    }
    for (int k = 0; k < n; k++) {
        double vkp = v[k * n + p], vkq = v[k * n + q];
        v[k * n + p] = c * vkp - s * vkq;
        v[k * n + q] = s * vkp + c * vkq;
    }
}

/* Sorts eigenpairs by descending eigenvalue (selection sort: n is small). */
static void sort_desc(double *w, double *v, int n)
{
    for (int i = 0; i < n; i++) {
        int best = i;
        for (int j = i + 1; j < n; j++)
            if (w[j] > w[best])
                best = j;
        if (best == i)
            continue;
        double t = w[i];
        w[i] = w[best];
        w[best] = t;
        for (int k = 0; k < n; k++) {
            t = v[k * n + i];
            v[k * n + i] = v[k * n + best];
            v[k * n + best] = t;
        }
    }
}

int attn_jacobi_eig(double *a, int n, double *w, double *v)
{
    memset(v, 0, (size_t)n * n * sizeof *v);
    for (int i = 0; i < n; i++)
        v[i * n + i] = 1;
    double norm = 0;
    for (int i = 0; i < n * n; i++)
        norm += a[i] * a[i];
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++)
                off += a[p * n + q] * a[p * n + q];
        if (off <= 1e-30 * norm)
            break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++)
                if (a[p * n + q] != 0)
                    rotate(a, v, n, p, q);
    }
    for (int i = 0; i < n; i++)
        w[i] = a[i * n + i];
    sort_desc(w, v, n);
    return 0;
}
