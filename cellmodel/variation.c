/* The variation model of a cell (cell.h5 /variation, fitted from a SPICE Monte Carlo of cell
 * instances) and the seeded draw of one physical cell from it. Schema:
 *   /variation            attrs n_instances (0: declared, not fitted), seed, temp_c (°C),
 *                         corner, source
 *     gain_sigma          (1) "1": sigma of a cell's relative read-charge gain
 *     offset_sigma_c      (1) "C": sigma of its read-charge offset at full pulse
 *     log_leak_sigma      (1) "1": sigma of ln(leak-rate factor)
 *     rho_gain_offset     (1) "1": correlation of gain and offset
 *     write_offset_sigma_v (1) "V": sigma of the shift of its stored voltage
 * A cell then delivers gain · charge(p, V) + offset · p from the stored voltage
 * V = decay(write_v(level) + write offset, leak factor · t). A file without the group has
 * no variation model; a group with a missing or malformed member is refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cell_internal.h"

/* Physical ranges of the sigmas: a gain spread that keeps 4 sigma below 1 (the gain stays
 * positive), offsets within one read's largest charge, leak factors within e^±20. */
#define VAR_MAX_GAIN_SIGMA 0.25
#define VAR_MAX_OFFSET_C 1e-9
#define VAR_MAX_LOG_LEAK 5.0

/* One number of a 1-element dataset /variation/name, in [lo, hi], its units attribute checked
 * when present. */
static int read_sigma(hid_t f, const char *path, const char *name, const char *unit,
                      double lo, double hi, double *out, gc_err *e)
{
    char full[64];
    snprintf(full, sizeof full, "variation/%s", name);
    double *x = NULL;
    int rank;
    size_t dims[8];
    if (H5Lexists(f, full, H5P_DEFAULT) <= 0)
        return gc_fail(e, "%s: /variation has no dataset %s", path, name);
    if (gc_h5_read(f, full, &x, &rank, dims, path, e))
        return -1;
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    *out = n == 1 ? x[0] : NAN;
    free(x);
    if (n != 1)
        return gc_fail(e, "%s: /variation/%s must hold one number (holds %zu)", path, name, n);
    if (!isfinite(*out) || *out < lo || *out > hi)
        return gc_fail(e, "%s: /variation/%s is %g %s, not in [%g, %g]", path, name, *out,
                       unit, lo, hi);
    return gc_h5_check_units(f, full, unit, path, e);
}

static int read_text(hid_t f, const char *path, const char *name, char *buf, size_t n,
                     gc_err *e)
{
    char *s = NULL;
    if (gc_h5_read_attr_str(f, "variation", name, &s, path, e))
        return -1;
    snprintf(buf, n, "%s", s);
    free(s);
    return 0;
}

int cell_variation_load(hid_t f, const char *path, cell_variation *v, double vdd_v, gc_err *e)
{
    memset(v, 0, sizeof *v);
    htri_t has = H5Lexists(f, "variation", H5P_DEFAULT);
    if (has < 0)
        return gc_fail(e, "%s: cannot look for /variation", path);
    if (!has)
        return 0;
    double n, seed, temp;
    if (gc_h5_read_attr_double(f, "variation", "n_instances", &n, path, e) ||
        gc_h5_read_attr_double(f, "variation", "seed", &seed, path, e) ||
        gc_h5_read_attr_double(f, "variation", "temp_c", &temp, path, e) ||
        read_text(f, path, "corner", v->corner, sizeof v->corner, e) ||
        read_text(f, path, "source", v->source, sizeof v->source, e))
        return -1;
    if (!(n >= 0 && n <= 1e9 && n == floor(n)))
        return gc_fail(e, "%s: /variation attribute n_instances is %g, not a count", path, n);
    if (!(seed >= 0 && seed < 0x1p53 && seed == floor(seed)))
        return gc_fail(e, "%s: /variation attribute seed is %g, not an integer in [0, 2^53)",
                       path, seed);
    if (!(temp >= -273.15 && temp <= 1000))
        return gc_fail(e, "%s: /variation attribute temp_c is %g, not in [-273.15, 1000] C",
                       path, temp);
    v->n_instances = (int)n;
    v->seed = (uint64_t)seed;
    v->temp_c = temp;
    if (read_sigma(f, path, "gain_sigma", "1", 0, VAR_MAX_GAIN_SIGMA, &v->gain_sigma, e) ||
        read_sigma(f, path, "offset_sigma_c", "C", 0, VAR_MAX_OFFSET_C, &v->offset_sigma_c, e) ||
        read_sigma(f, path, "log_leak_sigma", "1", 0, VAR_MAX_LOG_LEAK, &v->log_leak_sigma, e) ||
        read_sigma(f, path, "rho_gain_offset", "1", -1, 1, &v->rho_gain_offset, e) ||
        read_sigma(f, path, "write_offset_sigma_v", "V", 0, vdd_v, &v->write_offset_sigma_v, e))
        return -1;
    v->present = 1;
    return 0;
}

int cell_variation_get(const cell_model *m, cell_variation *out)
{
    *out = m->variation;
    return m->variation.present;
}

/* ---------------------------------------------------------------------------------------- */
/* One cell's draw */

/* A standard normal deviate (Box-Muller on two uniforms), truncated at ±CELL_MISMATCH_TRUNC
 * so that every draw lies on the grids the attention layer tabulates. */
static double normal(gc_rng *r)
{
    double u1 = 1 - gc_rng_uniform(r), u2 = gc_rng_uniform(r); /* u1 in (0, 1] */
    double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2); /* finite: compared, not fmin'd */
    return z < -CELL_MISMATCH_TRUNC ? -CELL_MISMATCH_TRUNC
           : z > CELL_MISMATCH_TRUNC ? CELL_MISMATCH_TRUNC : z;
}

void cell_mismatch_draw(const cell_variation *v, double scale, uint64_t seed,
                        cell_mismatch *out)
{
    gc_rng r;
    gc_rng_seed(&r, seed);
    double z1 = normal(&r), z2 = normal(&r), z3 = normal(&r), z4 = normal(&r);
    double rho = v->rho_gain_offset;
    out->gain = fmax(0, 1 + scale * v->gain_sigma * z1);
    out->offset_c = scale * v->offset_sigma_c * (rho * z1 + sqrt(fmax(0, 1 - rho * rho)) * z2);
    out->log_leak = scale * v->log_leak_sigma * z3;
    out->write_offset_v = scale * v->write_offset_sigma_v * z4;
}
