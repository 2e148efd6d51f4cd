/* Reading curves.h5 into calib_curves. Every dataset is checked for shape, finite values and
 * a physical range so that the fits can trust what they get; a file with source = "import"
 * may lack the write, converter and leakage sweeps, which are then filled with PAPER.md's
 * values. Ranges: vdd in (0, 10] V, voltages in [-vdd, 2 vdd], t_max and t_write in (0, 1] s,
 * leakage times in [0, 1e9] s, read charges within 1e-9 C and converter charges within
 * 1e-6 C, currents within 10 mA, pulses within 1 s, energies within 1 J. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"

typedef struct {
    hid_t f;
    const char *path;
    gc_err *e;
} reader;

/* Reads a dataset of the given rank; d0 / d1 > 0 demand those lengths. */
static int read_nd(reader *R, const char *name, int rank_want, int d0, int d1, double **out,
                   int *n0, int *n1)
{
    int rank;
    size_t dims[8];
    if (gc_h5_read(R->f, name, out, &rank, dims, R->path, R->e))
        return -1;
    if (rank != rank_want) {
        free(*out);
        *out = NULL;
        return gc_fail(R->e, "%s: dataset /%s must be %d-d", R->path, name, rank_want);
    }
    size_t n = rank == 2 ? dims[0] * dims[1] : dims[0];
    int shape_ok = dims[0] >= 1 && (d0 <= 0 || dims[0] == (size_t)d0) &&
                   (rank == 1 || d1 <= 0 || dims[1] == (size_t)d1);
    size_t bad = n;
    for (size_t i = 0; shape_ok && i < n && bad == n; i++)
        if (!isfinite((*out)[i]))
            bad = i;
    if (!shape_ok || bad < n) {
        free(*out);
        *out = NULL;
        if (bad < n)
            return gc_fail(R->e, "%s: dataset /%s holds a non-finite value (element %zu)",
                           R->path, name, bad);
        if (rank == 2)
            return gc_fail(R->e, "%s: dataset /%s must be (%d, %d), is (%zu, %zu)", R->path,
                           name, d0, d1, dims[0], dims[1]);
        return gc_fail(R->e, "%s: dataset /%s must have %d points, has %zu", R->path, name,
                       d0 > 0 ? d0 : 1, dims[0]);
    }
    if (n0)
        *n0 = (int)dims[0];
    if (n1)
        *n1 = rank == 2 ? (int)dims[1] : 1;
    return 0;
}

static int read_1d(reader *R, const char *name, int n_want, double **out, int *n)
{
    return read_nd(R, name, 1, n_want, 0, out, n, NULL);
}

#define CURVES_MAX_V 10.0
#define CURVES_MAX_S 1.0
#define CURVES_MAX_TIME_S 1e9
#define CURVES_MAX_READ_C 1e-9
#define CURVES_MAX_CHARGE_C 1e-6
#define CURVES_MAX_A 1e-2
#define CURVES_MAX_J 1.0

/* Every value of dataset name in [lo, hi] (already known finite). */
static int in_range(reader *R, const char *name, const double *x, size_t n, double lo,
                    double hi, const char *unit)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] < lo || x[i] > hi)
            return gc_fail(R->e, "%s: dataset /%s holds %g %s (element %zu), outside [%g, %g] %s",
                           R->path, name, x[i], unit, i, lo, hi, unit);
    return 0;
}

/* Voltages: [-vdd, 2 vdd]. */
static int volts(reader *R, const calib_curves *c, const char *name, const double *x, size_t n)
{
    return in_range(R, name, x, n, -c->vdd_v, 2 * c->vdd_v, "V");
}

/* A numeric attribute, finite and in (lo, hi] (lo_open) or [lo, hi]. */
static int attr_in(reader *R, const char *obj, const char *name, double lo, int lo_open,
                   double hi, const char *unit, double *out)
{
    if (gc_h5_read_attr_double(R->f, obj, name, out, R->path, R->e))
        return -1;
    if (!isfinite(*out) || (lo_open ? !(*out > lo) : !(*out >= lo)) || !(*out <= hi))
        return gc_fail(R->e, "%s: /%s attribute %s is %g, not a number in %s%g, %g] %s", R->path,
                       obj, name, *out, lo_open ? "(" : "[", lo, hi, unit);
    return 0;
}

static int ascending(reader *R, const char *name, const double *x, int n, int min_n)
{
    if (n < min_n)
        return gc_fail(R->e, "%s: dataset /%s needs at least %d points (has %d)", R->path, name,
                       min_n, n);
    for (int i = 1; i < n; i++)
        if (!(x[i] > x[i - 1]))
            return gc_fail(R->e, "%s: dataset /%s is not strictly ascending", R->path, name);
    return 0;
}

static int has(reader *R, const char *name)
{
    return H5Lexists(R->f, name, H5P_DEFAULT) > 0;
}

/* One float from a 1-element dataset, e.g. /params/vdd or /energy/write. */
static int read_scalar(reader *R, const char *name, double *v)
{
    double *d = NULL;
    int n;
    if (read_1d(R, name, 1, &d, &n))
        return -1;
    *v = d[0];
    free(d);
    return 0;
}

static int load_header(reader *R, calib_curves *c)
{
    char *s = NULL;
    if (H5Aexists_by_name(R->f, ".", "format", H5P_DEFAULT) <= 0)
        return gc_fail(R->e, "%s: not a gcsim curves file (no attribute format on the root)",
                       R->path);
    if (gc_h5_read_attr_str(R->f, ".", "format", &s, R->path, R->e))
        return -1;
    int ok = !strcmp(s, "gcsim-curves");
    free(s);
    if (!ok)
        return gc_fail(R->e, "%s: attribute format is not \"gcsim-curves\" (a foreign HDF5 file)",
                       R->path);
    double version;
    if (gc_h5_read_attr_double(R->f, ".", "format_version", &version, R->path, R->e))
        return -1;
    if (version != 1)
        return gc_fail(R->e, "%s: root attribute format_version %g is not supported (expected 1)",
                       R->path, version);
    if (H5Aexists_by_name(R->f, ".", "source", H5P_DEFAULT) > 0) {
        if (gc_h5_read_attr_str(R->f, ".", "source", &s, R->path, R->e))
            return -1;
        c->imported = !strcmp(s, "import");
        free(s);
    }
    snprintf(c->technology, sizeof c->technology, "unknown");
    if (H5Aexists_by_name(R->f, ".", "technology", H5P_DEFAULT) > 0) {
        if (gc_h5_read_attr_str(R->f, ".", "technology", &s, R->path, R->e))
            return -1;
        snprintf(c->technology, sizeof c->technology, "%s", s);
        free(s);
    }
    if (!has(R, "params") || !has(R, "read"))
        return gc_fail(R->e, "%s: missing group /%s", R->path,
                       has(R, "params") ? "read" : "params");
    if (read_scalar(R, "params/vdd", &c->vdd_v))
        return -1;
    if (!(c->vdd_v > 0 && c->vdd_v <= CURVES_MAX_V))
        return gc_fail(R->e, "%s: dataset /params/vdd is %g V, not in (0, %g] V", R->path,
                       c->vdd_v, CURVES_MAX_V);
    if (attr_in(R, "read", "t_max_s", 0, 1, CURVES_MAX_S, "s", &c->t_max_s) ||
        attr_in(R, "read", "v_in_V", 0, 0, 2 * c->vdd_v, "V", &c->v_in_v) ||
        attr_in(R, "read", "v_mid_V", 0, 1, c->vdd_v, "V", &c->v_mid_v))
        return -1;
    if (!(c->v_mid_v < c->vdd_v))
        return gc_fail(R->e, "%s: /read attribute v_mid_V %g V must lie below vdd = %g V",
                       R->path, c->v_mid_v, c->vdd_v);
    /* the write pulse width: every characterization records it, an import only on request */
    if (!has(R, "params/t_write"))
        return 0;
    if (read_scalar(R, "params/t_write", &c->t_write_s))
        return -1;
    if (!(c->t_write_s > 0 && c->t_write_s <= CURVES_MAX_S))
        return gc_fail(R->e, "%s: dataset /params/t_write is %g s, not a positive time in "
                       "(0, %g] s", R->path, c->t_write_s, CURVES_MAX_S);
    return 0;
}

static int load_read(reader *R, calib_curves *c)
{
    if (read_1d(R, "read/pulse_width", 0, &c->pulse_s, &c->n_p) ||
        ascending(R, "read/pulse_width", c->pulse_s, c->n_p, 2) ||
        read_1d(R, "read/v_store", 0, &c->v_store, &c->n_v) ||
        ascending(R, "read/v_store", c->v_store, c->n_v, 4) ||
        read_nd(R, "read/charge", 2, c->n_p, c->n_v, &c->charge, NULL, NULL) ||
        read_1d(R, "read/dc_v_store", 0, &c->dc_v, &c->n_dc) ||
        ascending(R, "read/dc_v_store", c->dc_v, c->n_dc, 4) ||
        read_1d(R, "read/v_in", 0, &c->vin, &c->n_vin) ||
        ascending(R, "read/v_in", c->vin, c->n_vin, 1) ||
        read_nd(R, "read/dc_current", 2, c->n_dc, c->n_vin, &c->dc_i, NULL, NULL))
        return -1;
    size_t n_tab = (size_t)c->n_p * c->n_v, n_dc = (size_t)c->n_dc * c->n_vin;
    if (volts(R, c, "read/v_store", c->v_store, (size_t)c->n_v) ||
        volts(R, c, "read/dc_v_store", c->dc_v, (size_t)c->n_dc) ||
        volts(R, c, "read/v_in", c->vin, (size_t)c->n_vin) ||
        in_range(R, "read/charge", c->charge, n_tab, -CURVES_MAX_READ_C, CURVES_MAX_READ_C, "C") ||
        in_range(R, "read/dc_current", c->dc_i, n_dc, -CURVES_MAX_A, CURVES_MAX_A, "A"))
        return -1;
    /* The table's pulse axis is stored as fractions 0..1 of t_max: check it spans that. */
    double tol = 1e-6 * c->t_max_s;
    if (fabs(c->pulse_s[0]) > tol || fabs(c->pulse_s[c->n_p - 1] - c->t_max_s) > tol)
        return gc_fail(R->e, "%s: /read/pulse_width must run from 0 to t_max_s = %g s", R->path,
                       c->t_max_s);
    return 0;
}

static int load_leak(reader *R, calib_curves *c)
{
    if (read_1d(R, "leak/dc_v", 0, &c->leak_v, &c->n_leak) ||
        ascending(R, "leak/dc_v", c->leak_v, c->n_leak, 4) ||
        volts(R, c, "leak/dc_v", c->leak_v, (size_t)c->n_leak) ||
        read_1d(R, "leak/i_leak", c->n_leak, &c->leak_i, NULL) ||
        in_range(R, "leak/i_leak", c->leak_i, (size_t)c->n_leak, -CURVES_MAX_A, CURVES_MAX_A, "A"))
        return -1;
    if (H5Aexists_by_name(R->f, "leak", "c_node_assumed_F", H5P_DEFAULT) > 0 &&
        attr_in(R, "leak", "c_node_assumed_F", 0, 1, 1e-9, "F", &c->c_node_assumed_f))
        return -1;
    if (!has(R, "leak/v_store"))
        return 0; /* no hold transients: C cannot be fitted, see fit_leak.c */
    return read_1d(R, "leak/v0", 0, &c->v0, &c->n_v0) ||
                   volts(R, c, "leak/v0", c->v0, (size_t)c->n_v0) ||
                   read_1d(R, "leak/time", 0, &c->t, &c->n_t) ||
                   ascending(R, "leak/time", c->t, c->n_t, 3) ||
                   in_range(R, "leak/time", c->t, (size_t)c->n_t, 0, CURVES_MAX_TIME_S, "s") ||
                   read_nd(R, "leak/v_store", 2, c->n_v0, c->n_t, &c->vt, NULL, NULL) ||
                   volts(R, c, "leak/v_store", c->vt, (size_t)c->n_v0 * c->n_t)
               ? -1
               : 0;
}

static int load_converters(reader *R, calib_curves *c)
{
    if (has(R, "write") &&
        (read_1d(R, "write/level", 0, &c->w_level, &c->n_w) ||
         read_1d(R, "write/v_dac", c->n_w, &c->w_dac, NULL) ||
         volts(R, c, "write/v_dac", c->w_dac, (size_t)c->n_w) ||
         read_1d(R, "write/v_stored", c->n_w, &c->w_stored, NULL) ||
         ascending(R, "write/v_stored", c->w_stored, c->n_w, 2) ||
         volts(R, c, "write/v_stored", c->w_stored, (size_t)c->n_w)))
        return -1;
    if (has(R, "c2p") &&
        (read_1d(R, "c2p/charge", 0, &c->c2p_q, &c->n_c2p) ||
         ascending(R, "c2p/charge", c->c2p_q, c->n_c2p, 4) ||
         in_range(R, "c2p/charge", c->c2p_q, (size_t)c->n_c2p, -CURVES_MAX_CHARGE_C,
                  CURVES_MAX_CHARGE_C, "C") ||
         read_1d(R, "c2p/pulse_width", c->n_c2p, &c->c2p_p, NULL) ||
         in_range(R, "c2p/pulse_width", c->c2p_p, (size_t)c->n_c2p, -CURVES_MAX_S, CURVES_MAX_S,
                  "s")))
        return -1;
    if (has(R, "readout") &&
        (read_1d(R, "readout/charge", 0, &c->ro_q, &c->n_ro) ||
         ascending(R, "readout/charge", c->ro_q, c->n_ro, 4) ||
         in_range(R, "readout/charge", c->ro_q, (size_t)c->n_ro, -CURVES_MAX_CHARGE_C,
                  CURVES_MAX_CHARGE_C, "C") ||
         read_1d(R, "readout/pulse_signed", c->n_ro, &c->ro_p, NULL) ||
         in_range(R, "readout/pulse_signed", c->ro_p, (size_t)c->n_ro, -CURVES_MAX_S,
                  CURVES_MAX_S, "s")))
        return -1;
    if (!has(R, "energy"))
        return 0;
    c->has_energy = 1;
    return read_scalar(R, "energy/read_per_cell", &c->e_read_j) ||
                   read_scalar(R, "energy/write", &c->e_write_j) ||
                   read_scalar(R, "energy/c2p_conversion", &c->e_c2p_j) ||
                   read_scalar(R, "energy/readout_conversion", &c->e_readout_j) ||
                   in_range(R, "energy/read_per_cell", &c->e_read_j, 1, -CURVES_MAX_J,
                            CURVES_MAX_J, "J") ||
                   in_range(R, "energy/write", &c->e_write_j, 1, -CURVES_MAX_J, CURVES_MAX_J,
                            "J") ||
                   in_range(R, "energy/c2p_conversion", &c->e_c2p_j, 1, -CURVES_MAX_J,
                            CURVES_MAX_J, "J") ||
                   in_range(R, "energy/readout_conversion", &c->e_readout_j, 1, -CURVES_MAX_J,
                            CURVES_MAX_J, "J")
               ? -1
               : 0;
}

/* n points of a clamped line y = clamp(x / sat, lo, 1) · t_max over x in [x0, x1] · sat. */
static int default_converter(double sat_c, double lo, double x0, double x1, double t_max,
                             int n, double **q, double **p)
{
    *q = malloc((size_t)n * sizeof **q);
    *p = malloc((size_t)n * sizeof **p);
    if (!*q || !*p)
        return -1;
    for (int i = 0; i < n; i++) {
        double x = x0 + (x1 - x0) * i / (n - 1);
        (*q)[i] = x * sat_c;
        (*p)[i] = fmin(fmax(x, lo), 1.0) * t_max;
    }
    return 0;
}

/* PAPER.md's values for an imported file's missing sweeps; the flags say which were used. */
static int fill_defaults(reader *R, calib_curves *c)
{
    int rc = 0;
    if (!c->w_stored) {
        c->default_write = 1;
        c->n_w = CALIB_IMPORT_WRITE_LEVELS;
        c->w_level = malloc((size_t)c->n_w * sizeof(double));
        c->w_dac = malloc((size_t)c->n_w * sizeof(double));
        c->w_stored = malloc((size_t)c->n_w * sizeof(double));
        if (!c->w_level || !c->w_dac || !c->w_stored)
            rc = -1;
        for (int i = 0; rc == 0 && i < c->n_w; i++) {
            c->w_level[i] = i;
            c->w_dac[i] = c->w_stored[i] = c->vdd_v * i / (c->n_w - 1.0);
        }
    }
    if (rc == 0 && !c->c2p_q) {
        c->default_c2p = 1;
        rc = default_converter(CALIB_IMPORT_S_SAT_A * c->t_max_s, 0, -0.25, 1.25, c->t_max_s,
                               61, &c->c2p_q, &c->c2p_p);
        c->n_c2p = 61;
    }
    if (rc == 0 && !c->ro_q) {
        c->default_readout = 1;
        rc = default_converter(CALIB_IMPORT_READOUT_SAT_A * c->t_max_s, -1, -1.5, 1.5,
                               c->t_max_s, 61, &c->ro_q, &c->ro_p);
        c->n_ro = 61;
    }
    return rc ? gc_fail(R->e, "%s: out of memory", R->path) : 0;
}

/* Without a /leak group (import without --leak): a linear leak with the paper's retention,
 * CALIB_IMPORT_LEAK_TAU_S, around mid-rail through the default capacitance, and no
 * transients. */
static int default_leak(reader *R, calib_curves *c)
{
    c->default_leak = 1;
    c->n_leak = 91;
    c->leak_v = malloc((size_t)c->n_leak * sizeof *c->leak_v);
    c->leak_i = malloc((size_t)c->n_leak * sizeof *c->leak_i);
    if (!c->leak_v || !c->leak_i)
        return gc_fail(R->e, "%s: out of memory", R->path);
    for (int i = 0; i < c->n_leak; i++) {
        c->leak_v[i] = c->vdd_v * i / (c->n_leak - 1);
        c->leak_i[i] = CALIB_DEFAULT_C_NODE_F * (c->leak_v[i] - c->v_mid_v) / CALIB_IMPORT_LEAK_TAU_S;
    }
    c->c_node_assumed_f = CALIB_DEFAULT_C_NODE_F;
    return 0;
}

static int load_all(reader *R, calib_curves *c)
{
    if (load_header(R, c) || load_read(R, c) || load_converters(R, c) ||
        calib_cost_load(R->f, R->path, c, R->e))
        return -1;
    if (has(R, "leak")) {
        if (load_leak(R, c))
            return -1;
    } else if (!c->imported) {
        return gc_fail(R->e, "%s: missing group /leak", R->path);
    } else if (default_leak(R, c)) {
        return -1;
    }
    if (!c->imported) {
        const char *missing = !c->w_stored ? "write"
                              : !c->c2p_q  ? "c2p"
                              : !c->ro_q   ? "readout"
                                           : NULL;
        if (missing)
            return gc_fail(R->e, "%s: missing group /%s (allowed only when the root attribute "
                                 "source is \"import\")", R->path, missing);
        return 0;
    }
    return fill_defaults(R, c);
}

int calib_curves_load(const char *path, calib_curves **out, gc_err *e)
{
    calib_curves *c = calloc(1, sizeof *c);
    if (!c)
        return gc_fail(e, "%s: out of memory", path);
    snprintf(c->path, sizeof c->path, "%s", path);
    if (gc_sha256_file(path, c->sha256, e)) {
        free(c);
        return -1;
    }
    hid_t f = gc_h5_open_read(path, e);
    if (f < 0) {
        free(c);
        return -1;
    }
    reader R = {f, path, e};
    int rc = load_all(&R, c);
    H5Fclose(f);
    if (rc) {
        calib_curves_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void calib_curves_free(calib_curves *c)
{
    if (!c)
        return;
    double *bufs[] = {c->pulse_s, c->v_store, c->charge, c->dc_v,  c->vin,     c->dc_i,
                      c->leak_v,  c->leak_i,  c->v0,     c->t,     c->vt,      c->w_level,
                      c->w_dac,   c->w_stored, c->c2p_q, c->c2p_p, c->ro_q,    c->ro_p,
                      c->e_read_supply, c->e_c2p_tab, c->e_ro_tab, c->e_write_pair};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    free(c->tech);
    free(c);
}
