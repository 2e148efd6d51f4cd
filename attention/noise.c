/* Read noise: every read of a column adds a zero-mean Gaussian charge to what it integrates,
 * fresh for each read (a query's read of a key column in array 1; one output column of one
 * tile in array 2), from the cell's /noise parameters (cellmodel/noise.c):
 *
 *   var = k T C_int                      the integrator's reset (its kT/C, as a charge)
 *       + 2 k T gamma g_m T_max Σ p      the channel noise of the cells read, pulses p·T_max
 *       + conv_shot_factor q Q_conv      the converter's ramp current conveying Q_conv
 *
 * Channel noise: a read device's drain current carries white noise of one-sided density
 * S_I = 4 k T gamma g_m (A²/Hz). Its charge over a pulse of width t is the integral of the
 * current, whose variance is the two-sided density S_I / 2 times t (the autocorrelation of
 * white noise is (S_I / 2) delta): 2 k T gamma g_m t per cell; cells add independently.
 * g_m is the read pair's largest transconductance over stored voltages, so the term is an
 * upper bound for every cell. The converters of the netlists (c2p.sub, readout.sub) hold no
 * capacitor of their own: they convert on the integrator's, whose reset is the kT/C above;
 * their ramp mirror adds at most conv_shot_factor × the shot noise 2 q I of its current, over
 * the time it conveys: variance conv_shot_factor q Q_conv, with Q_conv the charge removed
 * (array 1: S clamped to [0, S_sat], the charge-to-pulse ramp stops at T_max; array 2: |O|
 * up to the readout's full scale). The variances use the noiseless charges.
 *
 * Random numbers: each read's deviates come from their own gc_rng stream, seeded from the
 * noise seed, the layer, the head (b of a call's B heads), the array, the query's position
 * and (array 2) the key tile: array 1 draws one deviate per visible key in key order, array
 * 2 one per output column. A read's noise thus depends on nothing else: not on threads, the
 * evaluator (parallel, streaming, direct reference) or the order of evaluation. */
#include <math.h>

#include "attn_internal.h"

#define NOISE_K_B 1.380649e-23     /* J/K, SI exact */
#define NOISE_Q_E 1.602176634e-19  /* C, SI exact */

int attn_noise_init(const attn_config *c, attn_noise *nz, gc_err *e)
{
    *nz = (attn_noise){0};
    if (!c->read_noise)
        return 0;
    cell_noise n;
    if (!attn_on_cell(c) || !c->cell)
        return gc_fail(e, "attention '%s': read noise needs a cell variant with a cell file "
                          "(--cell cell.h5)", c->variant->name);
    if (!cell_noise_get(c->cell, &n))
        return gc_fail(e, "%s has no noise model (/noise), so read noise is unavailable: "
                          "re-run gcsim fit on curves from gcsim characterize",
                       cell_model_source(c->cell));
    double scale = c->noise_scale > 0 ? c->noise_scale : 1, s2 = scale * scale;
    double kt = NOISE_K_B * n.temperature_k;
    nz->on = 1;
    nz->reset_var_c2 = s2 * kt * n.c_int_f;
    nz->cell_var_c2 = s2 * 2 * kt * n.gamma_read * n.gm_read_s * cell_t_max_s(c->cell);
    nz->conv_var_c = s2 * n.conv_shot_factor * NOISE_Q_E;
    nz->s_sat_c = cell_s_sat_c(c->cell);
    nz->ro_sat_c = cell_readout_sat_c(c->cell);
    nz->seed = (uint64_t)c->noise_seed;
    return 0;
}

double attn_noise_sigma1(const attn_noise *nz, double pulse_sum, double s_c)
{
    double conv = fmin(fmax(s_c, 0), nz->s_sat_c);
    return sqrt(nz->reset_var_c2 + nz->cell_var_c2 * pulse_sum + nz->conv_var_c * conv);
}

double attn_noise_sigma2(const attn_noise *nz, double pulse_sum, double o_c)
{
    double conv = fmin(fabs(o_c), nz->ro_sat_c);
    return sqrt(nz->reset_var_c2 + nz->cell_var_c2 * pulse_sum + nz->conv_var_c * conv);
}

/* splitmix64 of the running seed and one more index (as a chip's cells are seeded). */
static uint64_t mix(uint64_t h, uint64_t x)
{
    gc_rng r;
    gc_rng_seed(&r, h ^ (x * 0x9e3779b97f4a7c15ull));
    return gc_rng_next(&r);
}

void attn_noise_normals(const attn_noise *nz, int layer, int head, int array, long row,
                        long tile, int n, double *z)
{
    uint64_t h = mix(0x6763736d2d6e6f69ull, nz->seed);
    h = mix(mix(mix(h, (uint64_t)layer), (uint64_t)head), (uint64_t)array);
    h = mix(mix(h, (uint64_t)row), (uint64_t)tile);
    gc_rng r;
    gc_rng_seed(&r, h);
    /* Marsaglia's polar method: a pair of deviates per accepted point of the unit disc, one
     * logarithm and no trigonometry (a read draws millions) */
    for (int i = 0; i < n; i += 2) {
        double u, v, s;
        do {
            u = 2 * gc_rng_uniform(&r) - 1;
            v = 2 * gc_rng_uniform(&r) - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        double f = sqrt(-2 * log(s) / s);
        z[i] = u * f;
        if (i + 1 < n)
            z[i + 1] = v * f;
    }
}

int attn_read_noise(const attn_config *c, attn_read_noise_sigmas *out, gc_err *e)
{
    attn_noise nz;
    if (attn_noise_init(c, &nz, e))
        return -1;
    out->reset_c = sqrt(nz.reset_var_c2);
    out->cell_full_pulse_c = sqrt(nz.cell_var_c2);
    out->c2p_full_scale_c = sqrt(nz.conv_var_c * nz.s_sat_c);
    out->readout_full_scale_c = sqrt(nz.conv_var_c * nz.ro_sat_c);
    out->s_sat_c = nz.s_sat_c;
    out->readout_sat_c = nz.ro_sat_c;
    return 0;
}
