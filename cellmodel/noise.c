/* The read-noise parameters of a cell (cell.h5 /noise, written by gcsim fit from the curves'
 * temperature, the technology's integrator capacitor and the read sweep). Schema:
 *   /noise                attrs source_curves, description
 *     temperature_k       (1) "K": temperature of the curves
 *     c_int_f             (1) "F": integrator feedback capacitor (technology parameter c_int)
 *     gm_read_s           (1) "S": the read pair's largest dI/dV_store at the read amplitude
 *     gamma_read          (1) "1": channel thermal-noise coefficient of the read pair
 *     conv_shot_factor    (1) "1": converters' ramp mirror noise in units of shot noise
 * A file without the group has no noise model (read noise is then unavailable); a group with
 * a missing or malformed member is refused. */
#include <stdlib.h>
#include <string.h>

#include "cell_internal.h"

/* One number of a 1-element dataset /noise/name in [lo, hi], its units checked if given. */
static int read_one(hid_t f, const char *path, const char *name, const char *unit, double lo,
                    double hi, double *out, gc_err *e)
{
    char full[64];
    snprintf(full, sizeof full, "noise/%s", name);
    if (H5Lexists(f, full, H5P_DEFAULT) <= 0)
        return gc_fail(e, "%s: /noise has no dataset %s", path, name);
    double *x = NULL;
    if (gc_h5_read_values(f, full, 1, lo, hi, unit, &x, path, e))
        return -1;
    *out = x[0];
    free(x);
    return gc_h5_check_units(f, full, unit, path, e);
}

int cell_noise_load(hid_t f, const char *path, cell_noise *n, gc_err *e)
{
    memset(n, 0, sizeof *n);
    htri_t has = H5Lexists(f, "noise", H5P_DEFAULT);
    if (has < 0)
        return gc_fail(e, "%s: cannot look for /noise", path);
    if (!has)
        return 0;
    /* Physical ranges: a temperature a circuit works at, an on-chip capacitor, a cell's
     * transconductance below 1 S, gamma of long (2/3) to short channels (a few), a mirror of
     * a few devices. */
    if (read_one(f, path, "temperature_k", "K", 1, 1300, &n->temperature_k, e) ||
        read_one(f, path, "c_int_f", "F", 1e-18, 1e-9, &n->c_int_f, e) ||
        read_one(f, path, "gm_read_s", "S", 0, 1, &n->gm_read_s, e) ||
        read_one(f, path, "gamma_read", "1", 0, 10, &n->gamma_read, e) ||
        read_one(f, path, "conv_shot_factor", "1", 0, 10, &n->conv_shot_factor, e))
        return -1;
    n->present = 1;
    return 0;
}

int cell_noise_get(const cell_model *m, cell_noise *out)
{
    *out = m->noise;
    return m->noise.present;
}
