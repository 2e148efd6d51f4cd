/* Loading a cell.h5 written by the calibrate module. Schema (SI units):
 *   /              attrs format = "gcsim-cell", format_version = 1, technology
 *   /params        attrs v_mid_V, t_max_s, vdd_V; optional t_write_s (s, the write pulse
 *                  width of the technology; finite and > 0 when present, absent in files
 *                  that record none, e.g. older ones or imports without it)
 *   /write         level (n_k), v_stored (n_k, V)
 *   /read          pulse_frac (n_q, ascending 0..1), v_store (n_v, V, ascending),
 *                  charge (n_q, n_v, C)
 *   /leak          attrs v_eq_V, tau_tail_s; upper_v (descending toward v_eq) with upper_t
 *                  (s, ascending from 0), lower_v (ascending toward v_eq) with lower_t
 *   /c2p           charge (n, C, ascending), pulse (n, s); attrs s_sat_C, t_max_s
 *   /readout       charge (n, C, ascending), pulse_signed (n, s)
 *   /energy, /cost optional: energy per operation and cost parameters (cellmodel/energy.c)
 * Physical ranges (every number is also finite): vdd_V in (0, 10] V; v_mid_V in [0, vdd];
 * stored voltages and v_eq_V in [-vdd, 2 vdd]; times (t_max_s, t_write_s, pulses) within 1 s and leakage
 * times and tau_tail_s within 1e9 s; charges within 1e-6 C (a read: 1e-9 C), converter full
 * scales (s_sat_C, where the readout first reaches t_max) at least 1e-18 C. Each row of
 * /read/charge is non-decreasing in v_store and the full-pulse row rises; the converters'
 * pulses rise from the first charge to the last.
 * Every check failure names the file and the object; nothing is half-loaded. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cell_internal.h"

/* What one load needs to carry around: the file handle and its name for messages. */
typedef struct {
    hid_t f;
    const char *path;
    gc_err *e;
} loader;

/* Reads a 1-d dataset of at least 2 points; n_expect > 0 demands that length. */
static int read_1d(loader *L, const char *name, int n_expect, double **out, int *n)
{
    int rank;
    size_t dims[8];
    if (gc_h5_read(L->f, name, out, &rank, dims, L->path, L->e))
        return -1;
    if (rank != 1 || dims[0] < 2 || (n_expect > 0 && dims[0] != (size_t)n_expect)) {
        free(*out);
        *out = NULL;
        if (n_expect > 0)
            return gc_fail(L->e, "%s: dataset %s must be 1-d with %d points", L->path, name,
                           n_expect);
        return gc_fail(L->e, "%s: dataset %s must be 1-d with at least 2 points", L->path,
                       name);
    }
    *n = (int)dims[0];
    return 0;
}

#define LOAD_MAX_V 10.0         /* V, the largest supply a cell file may name */
#define LOAD_MAX_PULSE_S 1.0    /* s, read pulses and converter outputs */
#define LOAD_MAX_TIME_S 1e9     /* s, leakage tables and time constants */
#define LOAD_MAX_CHARGE_C 1e-6  /* C, converter inputs */
#define LOAD_MAX_READ_C 1e-9    /* C, one cell's read */
#define LOAD_MIN_SAT_C 1e-18    /* C, the smallest converter full scale (a few electrons) */

/* Every value of dataset name finite and in [lo, hi] (unit for the message). */
static int check_range(loader *L, const char *name, const double *x, size_t n, double lo,
                       double hi, const char *unit)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            return gc_fail(L->e, "%s: dataset %s holds a non-finite value", L->path, name);
        if (x[i] < lo || x[i] > hi)
            return gc_fail(L->e, "%s: dataset %s holds %g %s, outside [%g, %g] %s", L->path,
                           name, x[i], unit, lo, hi, unit);
    }
    return 0;
}

/* A numeric attribute obj/name, finite and in [lo, hi] (lo_open: lo itself excluded). */
static int read_attr(loader *L, const char *obj, const char *name, double lo, int lo_open,
                     double hi, const char *unit, double *out)
{
    if (gc_h5_read_attr_double(L->f, obj, name, out, L->path, L->e))
        return -1;
    if (!isfinite(*out) || (lo_open ? !(*out > lo) : !(*out >= lo)) || !(*out <= hi))
        return gc_fail(L->e, "%s: /%s attribute %s is %g, not a number in %s%g, %g] %s", L->path,
                       strcmp(obj, ".") ? obj : "", name, *out, lo_open ? "(" : "[", lo, hi,
                       unit);
    return 0;
}

/* Stored voltages: [-vdd, 2 vdd]. */
static int check_volts(loader *L, const cell_model *m, const char *name, const double *x,
                       size_t n)
{
    return check_range(L, name, x, n, -m->vdd_v, 2 * m->vdd_v, "V");
}

/* dir > 0: strictly ascending; dir < 0: strictly descending. */
static int check_monotone(loader *L, const char *name, const double *x, int n, int dir)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return gc_fail(L->e, "%s: dataset %s holds a non-finite value", L->path, name);
    for (int i = 1; i < n; i++)
        if ((x[i] - x[i - 1]) * dir <= 0)
            return gc_fail(L->e, "%s: dataset %s is not strictly %s", L->path, name,
                           dir > 0 ? "ascending" : "descending");
    return 0;
}

static int need_group(loader *L, const char *name)
{
    if (H5Lexists(L->f, name, H5P_DEFAULT) <= 0)
        return gc_fail(L->e, "%s: missing group /%s", L->path, name);
    return 0;
}

/* /params t_write_s: optional (0 when absent), finite and positive when present. */
static int load_t_write(loader *L, cell_model *m)
{
    m->t_write_s = 0;
    htri_t has = H5Aexists_by_name(L->f, "params", "t_write_s", H5P_DEFAULT);
    if (has < 0)
        return gc_fail(L->e, "%s: cannot read the attributes of /params", L->path);
    if (!has)
        return 0;
    if (gc_h5_read_attr_double(L->f, "params", "t_write_s", &m->t_write_s, L->path, L->e))
        return -1;
    if (!isfinite(m->t_write_s) || !(m->t_write_s > 0) || m->t_write_s > LOAD_MAX_PULSE_S)
        return gc_fail(L->e, "%s: /params t_write_s must be a finite positive time in s, at "
                       "most %g (is %g)", L->path, LOAD_MAX_PULSE_S, m->t_write_s);
    return 0;
}

static int load_header(loader *L, cell_model *m)
{
    char *format = NULL, *tech = NULL;
    double version;
    if (H5Aexists_by_name(L->f, ".", "format", H5P_DEFAULT) <= 0)
        return gc_fail(L->e, "%s: not a gcsim cell model (no attribute format on the root)",
                       L->path);
    if (gc_h5_read_attr_str(L->f, ".", "format", &format, L->path, L->e))
        return -1;
    int ok = !strcmp(format, "gcsim-cell");
    free(format);
    if (!ok)
        return gc_fail(L->e, "%s: attribute format is not \"gcsim-cell\" (a foreign HDF5 file)",
                       L->path);
    if (gc_h5_read_attr_double(L->f, ".", "format_version", &version, L->path, L->e))
        return -1;
    if (version != 1)
        return gc_fail(L->e, "%s: root attribute format_version %g is not supported (expected 1)",
                       L->path, version);
    if (gc_h5_read_attr_str(L->f, ".", "technology", &tech, L->path, L->e))
        return -1;
    free(tech);
    if (need_group(L, "params") ||
        read_attr(L, "params", "vdd_V", 0, 1, LOAD_MAX_V, "V", &m->vdd_v) ||
        read_attr(L, "params", "v_mid_V", 0, 0, m->vdd_v, "V", &m->v_mid_v) ||
        read_attr(L, "params", "t_max_s", 0, 1, LOAD_MAX_PULSE_S, "s", &m->t_max_s))
        return -1;
    return load_t_write(L, m);
}

static int load_write(loader *L, cell_model *m)
{
    double *level = NULL;
    int n = 0, n2;
    if (need_group(L, "write") || read_1d(L, "write/level", 0, &level, &n))
        return -1;
    int ok = 1;
    for (int i = 0; i < n; i++)
        ok &= level[i] == i; /* the DAC codes, in order: v_stored[i] belongs to code i */
    free(level);
    if (!ok)
        return gc_fail(L->e, "%s: dataset /write/level must be 0, 1, ..., %d", L->path, n - 1);
    if (read_1d(L, "write/v_stored", n, &m->write_v, &n2))
        return -1;
    m->k_levels = n;
    return check_monotone(L, "/write/v_stored", m->write_v, n, 1) ||
                   check_volts(L, m, "/write/v_stored", m->write_v, (size_t)n)
               ? -1
               : 0;
}

/* A cell delivers more charge from a higher stored voltage: every row non-decreasing, and
 * the full pulse's row rises (a reversed or all-zero table is not a cell). */
static int check_read_rows(loader *L, const double *charge, int n_p, int n_v)
{
    for (int p = 0; p < n_p; p++)
        for (int i = 1; i < n_v; i++)
            if (charge[(size_t)p * n_v + i] < charge[(size_t)p * n_v + i - 1])
                return gc_fail(L->e, "%s: dataset /read/charge falls with v_store (row %d, "
                               "columns %d..%d): the charge must not decrease as the stored "
                               "voltage rises", L->path, p, i - 1, i);
    const double *full = charge + (size_t)(n_p - 1) * n_v;
    if (!(full[n_v - 1] > full[0]))
        return gc_fail(L->e, "%s: dataset /read/charge is flat at the full pulse (all equal, "
                       "e.g. all zero): not a cell", L->path);
    return 0;
}

static int load_read(loader *L, cell_model *m)
{
    double *v = NULL, *charge = NULL;
    int n_v = 0, rank, rc = -1;
    size_t dims[8];
    if (need_group(L, "read") || read_1d(L, "read/pulse_frac", 0, &m->pulse_frac, &m->n_p))
        return -1;
    if (check_monotone(L, "/read/pulse_frac", m->pulse_frac, m->n_p, 1))
        return -1;
    if (m->pulse_frac[0] != 0 || m->pulse_frac[m->n_p - 1] != 1)
        return gc_fail(L->e, "%s: /read/pulse_frac must run from 0 to 1", L->path);
    if (read_1d(L, "read/v_store", 0, &v, &n_v) ||
        check_monotone(L, "/read/v_store", v, n_v, 1) ||
        check_volts(L, m, "/read/v_store", v, (size_t)n_v) ||
        gc_h5_read(L->f, "read/charge", &charge, &rank, dims, L->path, L->e))
        goto done;
    if (rank != 2 || dims[0] != (size_t)m->n_p || dims[1] != (size_t)n_v) {
        gc_fail(L->e, "%s: dataset /read/charge must be (%d, %d) = (pulse_frac, v_store)",
                L->path, m->n_p, n_v);
        goto done;
    }
    if (check_range(L, "/read/charge", charge, (size_t)m->n_p * n_v, -LOAD_MAX_READ_C,
                    LOAD_MAX_READ_C, "C") ||
        check_read_rows(L, charge, m->n_p, n_v))
        goto done;
    m->n_v = n_v;
    m->q_levels = m->n_p;
    m->read_rows = calloc((size_t)m->n_p, sizeof *m->read_rows);
    for (int i = 0; m->read_rows && i < m->n_p; i++) {
        if (cell_curve_alloc(&m->read_rows[i], n_v))
            goto oom;
        memcpy(m->read_rows[i].x, v, (size_t)n_v * sizeof *v);
        memcpy(m->read_rows[i].y, charge + (size_t)i * n_v, (size_t)n_v * sizeof *v);
        cell_curve_finish(&m->read_rows[i]);
    }
    if (!m->read_rows)
        goto oom;
    rc = 0;
    goto done;
oom:
    gc_fail(L->e, "%s: out of memory loading /read", L->path);
done:
    free(v);
    free(charge);
    return rc;
}

/* One side of the leakage table: v_name runs from the range end toward v_eq (dir_v), t_name
 * ascends from 0. Builds t(v) with v ascending and v(t). */
static int load_leak_side(loader *L, const cell_model *m, const char *v_name,
                          const char *t_name, int dir_v, cell_curve *t_of_v, cell_curve *v_of_t)
{
    double *v = NULL, *t = NULL;
    int n = 0, n2, rc = -1;
    if (read_1d(L, v_name, 0, &v, &n) || read_1d(L, t_name, n, &t, &n2) ||
        check_monotone(L, v_name, v, n, dir_v) || check_monotone(L, t_name, t, n, 1) ||
        check_volts(L, m, v_name, v, (size_t)n) ||
        check_range(L, t_name, t, (size_t)n, 0, LOAD_MAX_TIME_S, "s"))
        goto done;
    if (t[0] != 0) {
        gc_fail(L->e, "%s: dataset /%s must start at time 0", L->path, t_name);
        goto done;
    }
    if (cell_curve_alloc(t_of_v, n) || cell_curve_alloc(v_of_t, n)) {
        gc_fail(L->e, "%s: out of memory loading /leak", L->path);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        int j = dir_v > 0 ? i : n - 1 - i; /* t(v) needs v ascending */
        t_of_v->x[i] = v[j];
        t_of_v->y[i] = t[j];
        v_of_t->x[i] = t[i];
        v_of_t->y[i] = v[i];
    }
    cell_curve_finish(t_of_v);
    cell_curve_finish(v_of_t);
    rc = 0;
done:
    free(v);
    free(t);
    return rc;
}

static int load_leak(loader *L, cell_model *m)
{
    if (need_group(L, "leak") ||
        read_attr(L, "leak", "v_eq_V", -m->vdd_v, 0, 2 * m->vdd_v, "V", &m->v_eq_v) ||
        read_attr(L, "leak", "tau_tail_s", 0, 1, LOAD_MAX_TIME_S, "s", &m->tau_tail_s))
        return -1;
    if (load_leak_side(L, m, "leak/upper_v", "leak/upper_t", -1, &m->up_t_of_v,
                       &m->up_v_of_t) ||
        load_leak_side(L, m, "leak/lower_v", "leak/lower_t", 1, &m->lo_t_of_v, &m->lo_v_of_t))
        return -1;
    if (m->up_v_of_t.y[m->up_v_of_t.n - 1] < m->v_eq_v ||
        m->lo_v_of_t.y[m->lo_v_of_t.n - 1] > m->v_eq_v)
        return gc_fail(L->e, "%s: /leak tables must stay on their side of v_eq_V", L->path);
    return 0;
}

/* A measured curve y(charge) in group/name_y, charge ascending. */
static int load_curve(loader *L, const char *charge_name, const char *y_name, cell_curve *c)
{
    double *x = NULL, *y = NULL;
    int n = 0, n2, rc = -1;
    if (read_1d(L, charge_name, 0, &x, &n) || read_1d(L, y_name, n, &y, &n2) ||
        check_monotone(L, charge_name, x, n, 1) ||
        check_range(L, charge_name, x, (size_t)n, -LOAD_MAX_CHARGE_C, LOAD_MAX_CHARGE_C, "C") ||
        check_range(L, y_name, y, (size_t)n, -LOAD_MAX_PULSE_S, LOAD_MAX_PULSE_S, "s"))
        goto done;
    if (!(y[n - 1] > y[0])) {
        gc_fail(L->e, "%s: dataset /%s does not rise from the first charge to the last (flat or "
                "reversed): not a converter", L->path, y_name);
        goto done;
    }
    c->n = n;
    c->x = x;
    c->y = y;
    c->slopes = calloc((size_t)n, sizeof *c->slopes);
    c->bucket = calloc((size_t)n + 1, sizeof *c->bucket);
    x = y = NULL;
    if (!c->slopes || !c->bucket) {
        gc_fail(L->e, "%s: out of memory", L->path);
        goto done;
    }
    cell_curve_finish(c);
    rc = 0;
done:
    free(x);
    free(y);
    return rc;
}

static int load_converters(loader *L, cell_model *m)
{
    double t_max;
    if (need_group(L, "c2p") ||
        read_attr(L, "c2p", "s_sat_C", LOAD_MIN_SAT_C, 0, LOAD_MAX_CHARGE_C, "C", &m->s_sat_c) ||
        read_attr(L, "c2p", "t_max_s", 0, 1, LOAD_MAX_PULSE_S, "s", &t_max) ||
        load_curve(L, "c2p/charge", "c2p/pulse", &m->c2p))
        return -1;
    if (need_group(L, "readout") ||
        load_curve(L, "readout/charge", "readout/pulse_signed", &m->readout))
        return -1;
    /* The charge where the signed readout first reaches full scale on the positive side. */
    m->readout_sat_c = m->readout.x[m->readout.n - 1];
    for (int i = 0; i < m->readout.n; i++)
        if (m->readout.y[i] >= m->t_max_s) {
            m->readout_sat_c = m->readout.x[i];
            break;
        }
    if (!(m->readout_sat_c >= LOAD_MIN_SAT_C))
        return gc_fail(L->e, "%s: dataset /readout/charge: the signed readout reaches full scale "
                       "at %g C, not at a positive charge of at least %g C", L->path,
                       m->readout_sat_c, LOAD_MIN_SAT_C);
    return 0;
}

int cell_model_load(const char *path, cell_model **out, gc_err *e)
{
    hid_t f = gc_h5_open_read(path, e);
    if (f < 0)
        return -1;
    cell_model *m = cell_model_new(path);
    loader L = {f, path, e};
    int rc = m ? 0 : gc_fail(e, "%s: out of memory", path);
    if (!rc)
        rc = load_header(&L, m);
    if (!rc)
        rc = load_write(&L, m);
    if (!rc)
        rc = load_read(&L, m);
    if (!rc)
        rc = load_leak(&L, m);
    if (!rc)
        rc = load_converters(&L, m);
    if (!rc)
        rc = cell_variation_load(f, path, &m->variation, m->vdd_v, e);
    if (!rc)
        rc = cell_noise_load(f, path, &m->noise, e);
    if (!rc)
        rc = cell_cost_load(f, path, m, e);
    H5Fclose(f);
    if (rc) {
        cell_model_free(m);
        return -1;
    }
    *out = m;
    return 0;
}
