/* Local mismatch: each device of one cell instance gets its own Gaussian threshold shift and
 * current-factor change by Pelgrom's law, the storage capacitor its own relative error. Our
 * own draw (gc_rng's splitmix64 and Box-Muller), so a draw is the same on every machine and
 * depends only on the seed and the instance number. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "spice.h"

const char *const spice_mc_device[SPICE_MC_DEVICES] = {"wn", "wp", "rn", "rp"};

/* Standard normal by Box-Muller; 1 - u lies in (0, 1], so the logarithm is finite. */
static double gaussian(gc_rng *r)
{
    double u = 1 - gc_rng_uniform(r), v = gc_rng_uniform(r);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

int spice_mismatch_draw(const spice_tech *t, unsigned long long seed, int k,
                        spice_mismatch *out, gc_err *e)
{
    static const char *const coef[] = {"a_vt_n", "a_vt_p", "a_beta_n", "a_beta_p", "sigma_cs"};
    for (size_t i = 0; i < sizeof coef / sizeof coef[0]; i++)
        if (isnan(spice_tech_get(t, coef[i])))
            return gc_fail(e, "%s: technology %s declares no mismatch coefficient %s (needed by "
                              "--mc)", t->path, t->name, coef[i]);
    gc_rng s;
    gc_rng_seed(&s, seed ^ (0xD1B54A32D192ED03ULL * (uint64_t)(k + 1)));
    size_t used = 0;
    out->params[0] = '\0';
    for (int d = 0; d < SPICE_MC_DEVICES; d++) {
        char w[8], l[8];
        snprintf(w, sizeof w, "w_%s", spice_mc_device[d]);
        snprintf(l, sizeof l, "l_%s", spice_mc_device[d]);
        double area_um2 = spice_tech_get(t, w) * spice_tech_get(t, l) * 1e12;
        double gv = gaussian(&s), gb = gaussian(&s); /* drawn for every device, so one
                                                        device's absence moves no other */
        out->dvt_v[d] = 0;
        out->mu[d] = 1;
        if (isnan(area_um2)) /* the cell has no such device (IGZO: no write PMOS) */
            continue;
        int p = spice_mc_device[d][1] == 'p';
        double a_vt_v = spice_tech_get(t, p ? "a_vt_p" : "a_vt_n") * 1e-3;
        double a_beta = spice_tech_get(t, p ? "a_beta_p" : "a_beta_n") * 1e-2;
        out->dvt_v[d] = gv * a_vt_v / sqrt(area_um2);
        out->mu[d] = 1 + gb * a_beta / sqrt(area_um2);
        if (!(out->mu[d] > 0))
            return gc_fail(e, "--mc: instance %d draws a non-positive mobility factor for %s "
                              "(a_beta too large for its area)", k, spice_mc_device[d]);
        used += (size_t)snprintf(out->params + used, sizeof out->params - used,
                                 " dvt_%s=%.8g mu_%s=%.8g", spice_mc_device[d], out->dvt_v[d],
                                 spice_mc_device[d], out->mu[d]);
    }
    out->k_cs = 1 + gaussian(&s) * spice_tech_get(t, "sigma_cs");
    if (!(out->k_cs > 0))
        return gc_fail(e, "--mc: instance %d draws a non-positive storage capacitor", k);
    snprintf(out->params + used, sizeof out->params - used, " k_cs=%.8g", out->k_cs);
    return 0;
}
