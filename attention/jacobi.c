/* Symmetric eigen-decomposition by cyclic Jacobi rotations, for the small Gram matrices of
 * the cell decomposition (n up to a few hundred). attention depends on BLAS but not LAPACK.
 * A chip's level × leak core (hundreds of points, a handful of eigenvalues that matter) goes
 * through a pivoted Cholesky factor first, so that Jacobi sees a matrix of its rank only. */
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

int attn_psd_eig_low_rank(const double *a, int n, double floor, double *w, double *v)
{
    double *L = calloc((size_t)n * n, sizeof *L), *d = malloc((size_t)n * sizeof *d);
    int *done = calloc((size_t)n, sizeof *done), k = 0;
    if (!L || !d || !done) {
        free(L);
        free(d);
        free(done);
        return -1;
    }
    /* Pivoted Cholesky a ≈ L Lᵀ, L (n, k) in row-major (n, n) storage: the largest residual
     * diagonal is the next pivot, until none exceeds the floor. */
    for (int i = 0; i < n; i++)
        d[i] = a[i * n + i];
    for (; k < n; k++) {
        int j = -1;
        for (int i = 0; i < n; i++)
            if (!done[i] && (j < 0 || d[i] > d[j]))
                j = i;
        if (!(d[j] > floor))
            break;
        double piv = sqrt(d[j]);
        for (int i = 0; i < n; i++) {
            double s = a[i * n + j];
            for (int m = 0; m < k; m++)
                s -= L[i * n + m] * L[j * n + m];
            L[i * n + k] = done[i] ? 0 : i == j ? piv : s / piv;
            d[i] -= L[i * n + k] * L[i * n + k];
        }
        done[j] = 1;
    }
    /* Lᵀ L (k, k) has a ≈ L Lᵀ's nonzero eigenvalues; its eigenvector u gives a's as
     * L u / sqrt(w). */
    double *M = malloc(((size_t)k * k + 1) * sizeof *M), *U = malloc(((size_t)k * k + 1) * sizeof *U);
    double *wk = malloc(((size_t)k + 1) * sizeof *wk);
    int rc = M && U && wk ? 0 : -1;
    if (!rc) {
        for (int r = 0; r < k; r++)
            for (int c = 0; c <= r; c++) {
                double s = 0;
                for (int i = 0; i < n; i++)
                    s += L[i * n + r] * L[i * n + c];
                M[r * k + c] = M[c * k + r] = s;
            }
        attn_jacobi_eig(M, k, wk, U);
        memset(v, 0, (size_t)n * n * sizeof *v);
        for (int s = 0; s < n; s++)
            w[s] = s < k && wk[s] > 0 ? wk[s] : 0;
        for (int s = 0; s < k && w[s] > 0; s++)
            for (int i = 0; i < n; i++) {
                double x = 0;
                for (int m = 0; m < k; m++)
                    x += L[i * n + m] * U[m * k + s];
                v[i * n + s] = x / sqrt(w[s]);
            }
    }
    free(M);
    free(U);
    free(wk);
    free(L);
    free(d);
    free(done);
    return rc;
}
