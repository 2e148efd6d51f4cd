/* The Monte Carlo draws of spice_mismatch_draw follow Pelgrom's law of the technology:
 * over 20000 instances of silicon, each device's threshold shifts have the standard
 * deviation a_vt / sqrt(W L) and its mobility factors a_beta / sqrt(W L) (within 3 %: the
 * sampling error of a standard deviation from 20000 draws is 0.5 %), means within 4 sigma
 * of zero (one), the capacitor sigma_cs, no correlation between devices (|r| < 0.04, 5
 * sampling sigmas), the same (seed, instance) gives the same draw and another seed another;
 * a technology without coefficients is refused with a message naming the coefficient. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spice.h"

#define N 20000

static int failures;

static void check(const char *what, int ok)
{
    printf("%-64s %s\n", what, ok ? "ok" : "FAIL");
    failures += !ok;
}

static double mean(const double *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s / n;
}

static double sd(const double *x, int n)
{
    double m = mean(x, n), s = 0;
    for (int i = 0; i < n; i++)
        s += (x[i] - m) * (x[i] - m);
    return sqrt(s / (n - 1));
}

static double corr(const double *x, const double *y, int n)
{
    double mx = mean(x, n), my = mean(y, n), sxy = 0;
    for (int i = 0; i < n; i++)
        sxy += (x[i] - mx) * (y[i] - my);
    return sxy / (n - 1) / (sd(x, n) * sd(y, n));
}

int main(void)
{
    const char *root = getenv("GCSIM_ROOT");
    spice_tech *t = malloc(sizeof *t);
    double *dvt = malloc(sizeof(double) * N * SPICE_MC_DEVICES);
    double *mu = malloc(sizeof(double) * N * SPICE_MC_DEVICES), *cs = malloc(sizeof(double) * N);
    gc_err e = {{0}};
    if (!t || !dvt || !mu || !cs || spice_tech_load("si", root ? root : ".", t, &e)) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return 1;
    }
    for (int k = 0; k < N; k++) {
        spice_mismatch m;
        if (spice_mismatch_draw(t, 42, k, &m, &e)) {
            fprintf(stderr, "draw %d: %s\n", k, e.msg);
            return 1;
        }
        for (int d = 0; d < SPICE_MC_DEVICES; d++) {
            dvt[d * N + k] = m.dvt_v[d];
            mu[d * N + k] = m.mu[d];
        }
        cs[k] = m.k_cs;
    }
    char what[128];
    for (int d = 0; d < SPICE_MC_DEVICES; d++) {
        const char *dev = spice_mc_device[d];
        char w[8], l[8];
        snprintf(w, sizeof w, "w_%s", dev);
        snprintf(l, sizeof l, "l_%s", dev);
        double root_area = sqrt(spice_tech_get(t, w) * spice_tech_get(t, l) * 1e12);
        int p = dev[1] == 'p';
        double s_vt = spice_tech_get(t, p ? "a_vt_p" : "a_vt_n") * 1e-3 / root_area;
        double s_mu = spice_tech_get(t, p ? "a_beta_p" : "a_beta_n") * 1e-2 / root_area;
        double got_vt = sd(dvt + d * N, N), got_mu = sd(mu + d * N, N);
        snprintf(what, sizeof what, "%s: sigma(dVth) %.2f mV (Pelgrom %.2f mV)", dev,
                 got_vt * 1e3, s_vt * 1e3);
        check(what, fabs(got_vt / s_vt - 1) < 0.03);
        snprintf(what, sizeof what, "%s: sigma(dbeta/beta) %.3f %% (Pelgrom %.3f %%)", dev,
                 got_mu * 1e2, s_mu * 1e2);
        check(what, fabs(got_mu / s_mu - 1) < 0.03);
        snprintf(what, sizeof what, "%s: means %.3g mV, %.5f", dev, mean(dvt + d * N, N) * 1e3,
                 mean(mu + d * N, N));
        check(what, fabs(mean(dvt + d * N, N)) < 4 * s_vt / sqrt(N) &&
                        fabs(mean(mu + d * N, N) - 1) < 4 * s_mu / sqrt(N));
        for (int d2 = 0; d2 < d; d2++) {
            double r = corr(dvt + d * N, dvt + d2 * N, N);
            snprintf(what, sizeof what, "dVth of %s and %s uncorrelated (r = %.4f)", dev,
                     spice_mc_device[d2], r);
            check(what, fabs(r) < 0.04);
        }
        double r = corr(dvt + d * N, mu + d * N, N);
        snprintf(what, sizeof what, "%s: dVth and dbeta uncorrelated (r = %.4f)", dev, r);
        check(what, fabs(r) < 0.04);
    }
    double s_cs = spice_tech_get(t, "sigma_cs");
    snprintf(what, sizeof what, "sigma(dC/C) %.4f (sigma_cs %.4f)", sd(cs, N), s_cs);
    check(what, fabs(sd(cs, N) / s_cs - 1) < 0.03);
    spice_mismatch a, b, c;
    spice_mismatch_draw(t, 42, 17, &a, &e);
    spice_mismatch_draw(t, 42, 17, &b, &e);
    spice_mismatch_draw(t, 43, 17, &c, &e);
    check("the same seed and instance draw the same instance parameters",
          !strcmp(a.params, b.params) && a.dvt_v[0] == dvt[17]);
    check("another seed draws other ones", a.dvt_v[0] != c.dvt_v[0]);
    spice_tech *z = malloc(sizeof *z);
    int refused = z && !spice_tech_load("igzo", root ? root : ".", z, &e) &&
                  spice_mismatch_draw(z, 1, 0, &a, &e) && strstr(e.msg, "a_vt_n");
    printf("  igzo: %s\n", e.msg);
    check("a technology without coefficients is refused, naming one", refused);
    free(z), free(t), free(dvt), free(mu), free(cs);
    return failures ? 1 : 0;
}
