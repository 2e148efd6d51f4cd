/* The variation model: from the Monte Carlo instances of the curves (/mc), each instance's
 * read-charge gain and offset against the nominal cell, its leak-rate factor and its write
 * shift, then their means, standard deviations and the gain-offset correlation. */
#include <math.h>
#include <stdlib.h>

#include "calib_internal.h"

/* Least squares of dq = (gain - 1) q0 + offset p over the table: the 2 x 2 normal equations. */
static int fit_instance(const calib_curves *c, const double *q, double *gain, double *offset)
{
    double sqq = 0, sqp = 0, spp = 0, sdq = 0, sdp = 0;
    for (int i = 0; i < c->n_p; i++) {
        double p = c->pulse_s[i] / c->t_max_s;
        for (int j = 0; j < c->n_v; j++) {
            double q0 = c->charge[i * c->n_v + j], d = q[i * c->n_v + j] - q0;
            sqq += q0 * q0, sqp += q0 * p, spp += p * p, sdq += d * q0, sdp += d * p;
        }
    }
    double det = sqq * spp - sqp * sqp;
    if (!(det > 1e-12 * sqq * spp))
        return -1;
    *gain = 1 + (sdq * spp - sdp * sqp) / det;
    *offset = (sqq * sdp - sqp * sdq) / det;
    return 0;
}

static void mean_sd(const double *x, int n, double *mean, double *sd)
{
    double m = 0, s = 0;
    for (int i = 0; i < n; i++)
        m += x[i];
    m /= n;
    for (int i = 0; i < n; i++)
        s += (x[i] - m) * (x[i] - m);
    *mean = m;
    *sd = sqrt(s / (n - 1));
}

int calib_fit_variation(const calib_curves *c, const calib_leak_fit *l, calib_variation_fit *v,
                        gc_err *e)
{
    *v = (calib_variation_fit){.n = c->mc_n, .src = c, .seed = c->mc_seed};
    if (c->mc_n == 0)
        return 0;
    int n = c->mc_n;
    double *x = malloc(4 * (size_t)n * sizeof *x);
    if (!x)
        return gc_fail(e, "variation: out of memory");
    double *gain = x, *offset = x + n, *log_leak = x + 2 * n, *shift = x + 3 * n;
    size_t tab = (size_t)c->n_p * c->n_v;
    calib_acc acc = {0};
    double dev_ss = 0, q_full = 0;
    for (size_t i = 0; i < tab; i++)
        q_full = fmax(q_full, fabs(c->charge[i]));
    for (int k = 0; k < n; k++) {
        const double *q = c->mc_charge + k * tab;
        if (fit_instance(c, q, &gain[k], &offset[k])) {
            free(x);
            return gc_fail(e, "%s: /mc: the nominal read table cannot separate gain from "
                              "offset (all charges zero?)", c->path);
        }
        for (int i = 0; i < c->n_p; i++)
            for (int j = 0; j < c->n_v; j++) {
                double q0 = c->charge[i * c->n_v + j], qk = q[i * c->n_v + j];
                double p = c->pulse_s[i] / c->t_max_s;
                calib_acc_add(&acc, gain[k] * q0 + offset[k] * p - qk);
                dev_ss += (qk - q0) * (qk - q0);
            }
        /* the leak rate is I_leak / C: the retention estimates compare the currents (both
         * used the same capacitance), the capacitor's draw changes C by (k_cs - 1) c_store */
        double c_node = l->c_node_f, c_k = c_node + (c->mc_k_cs[k] - 1) * c->c_store_f;
        log_leak[k] = log(c->leak_tau_est_s / c->mc_tau_est_s[k]) - log(c_k / c_node);
        double s = 0;
        for (int w = 0; w < c->n_w; w++)
            s += c->mc_w_stored[k * c->n_w + w] - c->w_stored[w];
        shift[k] = s / c->n_w;
    }
    mean_sd(gain, n, &v->gain_mean, &v->gain_sigma);
    mean_sd(offset, n, &v->offset_mean_c, &v->offset_sigma_c);
    mean_sd(log_leak, n, &v->log_leak_mean, &v->log_leak_sigma);
    mean_sd(shift, n, &v->write_mean_v, &v->write_sigma_v);
    double cov = 0;
    for (int k = 0; k < n; k++)
        cov += (gain[k] - v->gain_mean) * (offset[k] - v->offset_mean_c);
    cov /= n - 1;
    double rho = v->gain_sigma > 0 && v->offset_sigma_c > 0
                     ? cov / (v->gain_sigma * v->offset_sigma_c)
                     : 0;
    /* rounding can carry a perfect correlation (two instances) past 1 */
    v->rho_gain_offset = rho > 1 ? 1 : rho < -1 ? -1 : rho;
    v->resid = calib_acc_done(&acc, q_full);
    v->resid_share = dev_ss > 0 ? sqrt(acc.ss / dev_ss) : 0;
    free(x);
    return 0;
}
