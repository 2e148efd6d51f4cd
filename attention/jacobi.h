/* Private: symmetric eigen-decomposition (jacobi.c). */
#ifndef GCSIM_ATTN_JACOBI_H
#define GCSIM_ATTN_JACOBI_H

/* a (n,n) symmetric, destroyed; w (n) eigenvalues descending; v (n,n) eigenvectors in
 * columns. */
int attn_jacobi_eig(double *a, int n, double *w, double *v);

/* The same for a (n,n) symmetric positive semi-definite (kept) when only its eigenvalues well
 * above floor matter and they are few: through a pivoted Cholesky factor a ≈ L Lᵀ of rank k,
 * pivoting until no residual diagonal exceeds floor (each eigenvalue then moves by at most
 * n·floor), and Jacobi on the k × k matrix Lᵀ L. Eigenvalues past k are 0, their vectors
 * 0. O(n k²) instead of Jacobi's O(n³) per sweep. -1: out of memory. */
int attn_psd_eig_low_rank(const double *a, int n, double floor, double *w, double *v);

#endif
