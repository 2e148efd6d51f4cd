/* The read-noise parameters of cell.h5 (/noise; cellmodel/noise.c reads them, the attention
 * layer's attention/noise.c turns them into the noise of each read). Each comes from the
 * circuit: the curves' temperature, the integrator capacitor of the technology
 * (integrator.sub's Cint, parameter c_int), the read pair's transconductance measured by the
 * read sweep, and two declared coefficients whose descriptions say why they hold here.
 * Curves without a temperature or without c_int (imported ones) give no /noise: read noise
 * is then unavailable for the cell. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "calibrate.h"

/* Long-channel saturation value of the channel thermal-noise coefficient (van der Ziel): the
 * read devices are long (si.tech: l_rn 0.8 um, l_rp 0.6 um) and sit at the edge of
 * saturation (drain at v_in, source at mid-rail). */
#define NOISE_GAMMA_READ (2.0 / 3.0)

/* The charge-to-pulse converter and the signed readout remove the integrated charge with a
 * ramp current from a 1:1 mirror (c2p.sub, readout.sub; the reference current is ideal).
 * Each of its two devices carries at most the shot noise 2 q I of the current (equal in weak
 * inversion; in strong inversion 4 k T (2/3) g_m = (8/3)(kT/q / V_ov) 2 q I, less once the
 * overdrive exceeds 2.7 kT/q), and the reference device's noise is mirrored to the output:
 * at most twice the shot noise of the conveyed current. */
#define NOISE_CONV_SHOT_FACTOR 2.0

static const struct calib_tech_param *tech(const calib_curves *c, const char *name)
{
    for (int i = 0; i < c->n_tech; i++)
        if (!strcmp(c->tech[i].name, name))
            return &c->tech[i];
    return NULL;
}

/* DC read current at the read's word-line amplitude, linear between the swept v_in. */
static double dc_current_at_vin(const calib_curves *c, int i)
{
    const double *row = c->dc_i + (size_t)i * c->n_vin;
    if (c->n_vin == 1 || c->v_in_v <= c->vin[0])
        return row[0];
    for (int k = 0; k + 1 < c->n_vin; k++)
        if (c->v_in_v <= c->vin[k + 1]) {
            double w = (c->v_in_v - c->vin[k]) / (c->vin[k + 1] - c->vin[k]);
            return row[k] + w * (row[k + 1] - row[k]);
        }
    return row[c->n_vin - 1];
}

double calib_noise_gm_read_s(const calib_curves *c)
{
    /* I = I_n - I_p: the gate of both read devices is the storage node, so dI/dV_store is
     * g_mn + g_mp, the sum whose channel noise the read delivers. The largest slope between
     * neighbouring points of the DC sweep: the noisiest stored voltage. */
    double g = 0;
    for (int i = 0; i + 1 < c->n_dc; i++)
        g = fmax(g, fabs(dc_current_at_vin(c, i + 1) - dc_current_at_vin(c, i)) /
                        (c->dc_v[i + 1] - c->dc_v[i]));
    return g;
}

int calib_noise_of(const calib_curves *c, calib_noise *out)
{
    const struct calib_tech_param *ci = tech(c, "c_int");
    if (isnan(c->temperature_c) || !ci || c->n_dc < 2)
        return 0;
    *out = (calib_noise){c->temperature_c + 273.15, ci->value, calib_noise_gm_read_s(c),
                         NOISE_GAMMA_READ, NOISE_CONV_SHOT_FACTOR, ci->description};
    return 1;
}

int calib_noise_write(const calib_curves *c, hid_t f, gc_err *e)
{
    calib_noise n;
    if (!calib_noise_of(c, &n))
        return 0;
    char src[600];
    snprintf(src, sizeof src, "declared: technology parameter c_int (integrator.sub Cint): %s; "
             "its reset leaves kT/C, a charge of variance k T c_int", n.c_int_source);
    size_t one = 1;
    hid_t g = gc_h5_group(f, "noise", e);
    if (g < 0)
        return -1;
    int rc =
        gc_h5_attr_str(g, ".", "description",
                       "read-noise parameters: per read, charge variance k T c_int_f of the "
                       "integrator's reset, 2 k T gamma_read gm_read_s t of each cell read "
                       "for a pulse of width t, and conv_shot_factor q Q of a converter that "
                       "conveys charge Q; attention/noise.c says why", e) ||
        gc_h5_attr_str(g, ".", "source_curves", c->path, e) ||
        gc_h5_write(g, "temperature_k", 1, &one, &n.temperature_k, "K",
                    "temperature of the curves (root attribute temperature_C)", e) ||
        gc_h5_write(g, "c_int_f", 1, &one, &n.c_int_f, "F", src, e) ||
        gc_h5_write(g, "gm_read_s", 1, &one, &n.gm_read_s, "S",
                    "simulated: the read pair's largest dI/dV_store at the read amplitude "
                    "v_in_V, from the DC read sweep (/read/dc_current of the curves); "
                    "g_mn + g_mp, since the storage node gates both devices", e) ||
        gc_h5_write(g, "gamma_read", 1, &one, &n.gamma_read, "1",
                    "declared: channel thermal-noise coefficient 2/3, the long-channel "
                    "saturation value (van der Ziel); the read devices are long and at the "
                    "edge of saturation (drain at v_in, source at mid-rail)", e) ||
        gc_h5_write(g, "conv_shot_factor", 1, &one, &n.conv_shot_factor, "1",
                    "declared: the converters' ramp mirror (c2p.sub, readout.sub; ideal "
                    "reference current) adds at most twice the shot noise 2 q I of the "
                    "current it conveys: each of its two devices at most shot noise (weak "
                    "inversion; less in strong inversion), the reference device's mirrored",
                    e);
    H5Gclose(g);
    return rc ? -1 : 0;
}
