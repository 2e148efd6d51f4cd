/* Private: symmetric eigen-decomposition (jacobi.c). */
#ifndef GCSIM_ATTN_JACOBI_H
#define GCSIM_ATTN_JACOBI_H

/* a (n,n) symmetric, destroyed; w (n) eigenvalues descending; v (n,n) eigenvectors in
 * columns. */
int attn_jacobi_eig(double *a, int n, double *w, double *v);

#endif
