/* gpt2_adapt: moment matching of the per-head hardware scalers (PAPER.md §4), no gradients.
 * Each iteration runs the model on the same calibration batch, measures the mean and standard
 * deviation of every scaler output (q', k', v' and the head output y) and moves a and b so
 * that they would hit the targets, blended with the old values by a relaxation factor that
 * falls linearly from relax_start to relax_end over relax_iters iterations. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpt2.h"

void gpt2_adapt_opts_default(gpt2_adapt_opts *o)
{
    *o = (gpt2_adapt_opts){.max_iter = 100, .relax_iters = 50, .relax_start = 1.0,
                           .relax_end = 0.1, .tol = 1e-4};
}

/* Relaxation of iteration it: relax_start at 0, relax_end from relax_iters on. */
static double relax_at(const gpt2_adapt_opts *o, int it)
{
    if (o->relax_iters <= 0 || it >= o->relax_iters)
        return o->relax_end;
    return o->relax_start + (o->relax_end - o->relax_start) * it / o->relax_iters;
}

/* Largest |mean - target| and |std - target| over all scalers (n entries). */
static void moment_errors(const float *mean, const float *std, const float *tm, const float *ts,
                          size_t n, double *err_mean, double *err_std)
{
    *err_mean = *err_std = 0;
    for (size_t i = 0; i < n; i++) {
        double dm = fabs((double)mean[i] - tm[i]), ds = fabs((double)std[i] - ts[i]);
        *err_mean = dm > *err_mean ? dm : *err_mean;
        *err_std = ds > *err_std ? ds : *err_std;
    }
}

int gpt2_adapt(gpt2_model *m, const uint32_t *tokens, int B, int T, const float *target_mean,
               const float *target_std, const gpt2_adapt_opts *o, int *iters, double *loss,
               gc_err *e)
{
    size_t n = (size_t)m->config.n_layer * GPT2_HW_N * m->config.n_head;
    for (size_t i = 0; i < n; i++)
        if (!(target_std[i] >= 0) || !isfinite(target_mean[i]))
            return gc_fail(e, "adapt: target statistics of layer %zu are not finite and "
                              "non-negative", i / (GPT2_HW_N * (size_t)m->config.n_head));
    float *mean = malloc(2 * n * sizeof *mean), *std = mean ? mean + n : NULL;
    if (!mean)
        return gc_fail(e, "adapt: out of memory");
    memmove(m->params.target_mean, target_mean, n * sizeof *target_mean);
    memmove(m->params.target_std, target_std, n * sizeof *target_std);
    m->has_targets = m->has_hw = 1;
    int rc = gpt2_stats_enable(m, 1, e), it = 0;
    double em = 0, es = 0;
    float *a = m->params.hw_scale, *b = m->params.hw_bias;
    const float *tm = m->params.target_mean, *ts = m->params.target_std;
    for (it = 0; rc == 0; it++) {
        if ((rc = gpt2_forward(m, tokens, B, T, e)))
            break;
        gpt2_stats_get(m, mean, std);
        moment_errors(mean, std, tm, ts, n, &em, &es);
        double r = relax_at(o, it);
        if (o->on_iter)
            o->on_iter(o->ctx, it, r, em, es);
        if ((em < o->tol && es < o->tol) || it == o->max_iter)
            break;
        for (size_t i = 0; i < n; i++) {
            double a_new = std[i] > 0 ? a[i] * ts[i] / std[i] : a[i];
            double b_new = b[i] + tm[i] - mean[i];
            a[i] = (float)((1 - r) * a[i] + r * a_new);
            b[i] = (float)((1 - r) * b[i] + r * b_new);
        }
    }
    gpt2_stats_enable(m, 0, NULL);
    free(mean);
    *iters = it;
    *loss = em > es ? em : es;
    return rc;
}
