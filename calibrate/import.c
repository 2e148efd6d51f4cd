/* Import of external curves from CSV into the curves.h5 schema, so that `gcsim fit` works on
 * measured or foreign-simulator data unchanged. Long format, any row order, one header line:
 *   read I-V:  vstore_V,vin_V,current_A    (a full grid: every vstore with every vin)
 *   leakage:   v0_V,time_s,vstore_V        (hold transients on one shared time axis)
 * A duplicate row, a gap in the grid, a field that is not a number or a wrong header is an
 * error "file:line: problem". Only DC currents exist, so the read charge table is current x
 * pulse width at the largest V_in; only transients exist for leakage, so I_leak(V) = -C dV/dt
 * needs an assumed C (recorded in an attribute). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "calib_internal.h"

/* One parsed table: rows of (a, b, value) with their line numbers; then the grid. */
/* A CSV column: its name (as in the header) and physical range. */
typedef struct {
    const char *name, *unit;
    double lo, hi;
} column;

typedef struct {
    const char *path;
    const column *cols;        /* the three columns */
    int n, cap;
    double *a, *b, *val;
    int *line;
    int na, nb;
    double *ga, *gb, *grid;    /* axes (ascending) and values (na, nb) */
} table;

static void table_free(table *t)
{
    free(t->a);
    free(t->b);
    free(t->val);
    free(t->line);
    free(t->ga);
    free(t->gb);
    free(t->grid);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        *--end = '\0';
    return s;
}

static int parse_number(const table *t, int line, char *field, double *out, gc_err *e)
{
    char *s = trim(field);
    if (gc_parse_double(s, "value", -HUGE_VAL, HUGE_VAL, 0, 0, out, NULL))
        return gc_fail(e, "%s:%d: '%s' is not a number", t->path, line, s);
    return 0;
}

static int push_row(table *t, int line, const double v[3], gc_err *e)
{
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 256;
        double *a = realloc(t->a, (size_t)cap * sizeof *a);
        if (a)
            t->a = a;
        double *b = realloc(t->b, (size_t)cap * sizeof *b);
        if (b)
            t->b = b;
        double *val = realloc(t->val, (size_t)cap * sizeof *val);
        if (val)
            t->val = val;
        int *ln = realloc(t->line, (size_t)cap * sizeof *ln);
        if (ln)
            t->line = ln;
        if (!a || !b || !val || !ln)
            return gc_fail(e, "%s: out of memory", t->path);
        t->cap = cap;
    }
    t->a[t->n] = v[0];
    t->b[t->n] = v[1];
    t->val[t->n] = v[2];
    t->line[t->n++] = line;
    return 0;
}

/* One data line: exactly three comma-separated numbers. */
static int parse_line(table *t, int line, char *s, gc_err *e)
{
    char *f[3];
    int k = 0;
    f[k++] = s;
    for (char *p = s; *p; p++)
        if (*p == ',') {
            if (k == 3)
                return gc_fail(e, "%s:%d: expected 3 fields, got more", t->path, line);
            *p = '\0';
            f[k++] = p + 1;
        }
    if (k != 3)
        return gc_fail(e, "%s:%d: expected 3 fields, got %d", t->path, line, k);
    double v[3];
    for (int i = 0; i < 3; i++) {
        if (parse_number(t, line, f[i], &v[i], e))
            return -1;
        const column *c = &t->cols[i];
        if (v[i] < c->lo || v[i] > c->hi)
            return gc_fail(e, "%s:%d: %s = %g is outside [%g, %g] %s", t->path, line, c->name,
                           v[i], c->lo, c->hi, c->unit);
    }
    return push_row(t, line, v, e);
}

static int parse_csv(table *t, const char *header, gc_err *e)
{
    char *text;
    size_t len;
    if (gc_read_file(t->path, &text, &len, e))
        return -1;
    if (strlen(text) != len) {
        free(text);
        return gc_fail(e, "%s: not a text file (holds a NUL byte)", t->path);
    }
    int line = 0, rc = 0;
    for (char *s = text, *nl; rc == 0 && s && *s; s = nl ? nl + 1 : NULL) {
        nl = strchr(s, '\n');
        if (nl)
            *nl = '\0';
        line++;
        char *l = trim(s);
        if (line == 1 && !strncmp(l, "\xef\xbb\xbf", 3))
            l += 3; /* a UTF-8 byte-order mark, as spreadsheets write */
        if (line == 1) {
            if (strcmp(l, header))
                rc = gc_fail(e, "%s:1: header must be '%s' (got '%.80s')", t->path, header, l);
        } else if (*l) {
            rc = parse_line(t, line, l, e);
        }
    }
    free(text);
    if (rc == 0 && line == 0)
        rc = gc_fail(e, "%s: empty file (expected the header '%s')", t->path, header);
    if (rc == 0 && t->n == 0)
        rc = gc_fail(e, "%s: no data rows after the header", t->path);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* The grid: the distinct values of the two key columns; every pair must appear exactly once. */

static int row_cmp(const void *x, const void *y, void *arg)
{
    int i = *(const int *)x, j = *(const int *)y;
    const table *t = arg;
    if (t->a[i] != t->a[j])
        return t->a[i] < t->a[j] ? -1 : 1;
    if (t->b[i] != t->b[j])
        return t->b[i] < t->b[j] ? -1 : 1;
    return t->line[i] - t->line[j];
}

static int dbl_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Sorted distinct values of col (n) into a malloc'd array; *m gets their count. */
static double *distinct(const double *col, int n, int *m)
{
    double *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return NULL;
    memcpy(v, col, (size_t)n * sizeof *v);
    qsort(v, (size_t)n, sizeof *v, dbl_cmp);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (k == 0 || v[i] != v[k - 1])
            v[k++] = v[i];
    *m = k;
    return v;
}

static int build_grid(table *t, const char *na, const char *nb, gc_err *e)
{
    int *ord = malloc((size_t)t->n * sizeof *ord), rc = 0;
    t->ga = distinct(t->a, t->n, &t->na);
    t->gb = distinct(t->b, t->n, &t->nb);
    if (!ord || !t->ga || !t->gb) {
        free(ord);
        return gc_fail(e, "%s: out of memory", t->path);
    }
    for (int i = 0; i < t->n; i++)
        ord[i] = i;
    qsort_r(ord, (size_t)t->n, sizeof *ord, row_cmp, t);
    for (int k = 1; k < t->n && rc == 0; k++) {
        int i = ord[k - 1], j = ord[k];
        if (t->a[i] == t->a[j] && t->b[i] == t->b[j])
            rc = gc_fail(e, "%s:%d: duplicate of line %d (%s=%.15g, %s=%.15g)", t->path,
                         t->line[j], t->line[i], na, t->a[j], nb, t->b[j]);
    }
    /* Sorted rows and no duplicates: row k must be grid point (k / nb, k % nb). */
    for (int k = 0; k < t->na * t->nb && rc == 0; k++) {
        double wa = t->ga[k / t->nb], wb = t->gb[k % t->nb];
        if (k >= t->n || t->a[ord[k]] != wa || t->b[ord[k]] != wb)
            rc = gc_fail(e, "%s: the grid has a gap: no row for %s=%.15g, %s=%.15g", t->path,
                         na, wa, nb, wb);
    }
    if (rc == 0 && !(t->grid = malloc((size_t)t->n * sizeof *t->grid)))
        rc = gc_fail(e, "%s: out of memory", t->path);
    for (int k = 0; k < t->n && rc == 0; k++)
        t->grid[k] = t->val[ord[k]];
    free(ord);
    return rc;
}

/* The columns of the two tables and their physical ranges. */
static const column iv_cols[3] = {{"vstore_V", "V", -10, 10},
                                  {"vin_V", "V", -10, 10},
                                  {"current_A", "A", -1e-2, 1e-2}};
static const column leak_cols[3] = {{"v0_V", "V", -10, 10},
                                    {"time_s", "s", 0, 1e9},
                                    {"vstore_V", "V", -10, 10}};

static int load_table(table *t, const char *path, const char *header, const column *cols,
                      gc_err *e)
{
    memset(t, 0, sizeof *t);
    t->path = path;
    t->cols = cols;
    return parse_csv(t, header, e) || build_grid(t, cols[0].name, cols[1].name, e) ? -1 : 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Writing. */

static int write_scalar(hid_t g, const char *name, double v, const char *unit, const char *d,
                        gc_err *e)
{
    size_t one = 1;
    return gc_h5_write(g, name, 1, &one, &v, unit, d, e);
}

static int write_read(const table *iv, const calib_import_opts *o, double vdd, hid_t f,
                      gc_err *e)
{
    hid_t g = gc_h5_group(f, "read", e);
    if (g < 0)
        return -1;
    int nl = o->levels, nv = iv->na, rc;
    double *pw = malloc((size_t)nl * sizeof *pw), *q = malloc((size_t)nl * nv * sizeof *q);
    rc = pw && q ? 0 : gc_fail(e, "out of memory");
    for (int l = 0; rc == 0 && l < nl; l++) {
        pw[l] = o->t_max_s * l / (nl - 1);
        for (int i = 0; i < nv; i++)
            q[(size_t)l * nv + i] = iv->grid[(size_t)i * iv->nb + iv->nb - 1] * pw[l];
    }
    size_t d2[2] = {(size_t)nv, (size_t)iv->nb}, dq[2] = {(size_t)nl, (size_t)nv};
    const char *ax_dc[] = {"dc_v_store", "v_in"}, *ax_q[] = {"pulse_width", "v_store"};
    if (rc == 0)
        rc = gc_h5_write_axis(g, "dc_v_store", d2[0], iv->ga, "V", "stored voltage", e) ||
                     gc_h5_write_axis(g, "v_in", d2[1], iv->gb, "V", "read word-line voltage", e) ||
                     gc_h5_write(g, "dc_current", 2, d2, iv->grid, "A",
                                 "DC current into the bit line (imported)", e) ||
                     gc_h5_attach(g, "dc_current", 2, ax_dc, e) ||
                     gc_h5_write_axis(g, "v_store", d2[0], iv->ga, "V", "stored voltage", e) ||
                     gc_h5_write_axis(g, "pulse_width", (size_t)nl, pw, "s", "read pulse width",
                                      e) ||
                     gc_h5_write(g, "charge", 2, dq, q, "C",
                                 "charge per read = DC current at the largest v_in x pulse width "
                                 "(imported DC data: no transient effects)", e) ||
                     gc_h5_attach(g, "charge", 2, ax_q, e) ||
                     gc_h5_attr_double(g, ".", "v_in_V", iv->gb[iv->nb - 1], e) ||
                     gc_h5_attr_double(g, ".", "t_max_s", o->t_max_s, e) ||
                     gc_h5_attr_double(g, ".", "v_mid_V", vdd / 2, e)
                 ? -1
                 : 0;
    free(pw);
    free(q);
    H5Gclose(g);
    return rc;
}

/* I at voltage v along one transient (samples V_k, I_k), or NAN where it never passes v. */
static double i_along(const double *vk, const double *ik, int n, double v)
{
    for (int k = 0; k + 1 < n; k++) {
        double lo = fmin(vk[k], vk[k + 1]), hi = fmax(vk[k], vk[k + 1]);
        if (v >= lo && v <= hi)
            return hi > lo ? ik[k] + (ik[k + 1] - ik[k]) * (v - vk[k]) / (vk[k + 1] - vk[k])
                           : 0.5 * (ik[k] + ik[k + 1]);
    }
    return NAN;
}

/* I_leak on a voltage grid from the transients: -C dV/dt per sample (central differences),
 * averaged over the transients that pass each grid voltage; voltages no transient passes
 * (around the equilibrium) are interpolated linearly between their neighbours. */
static int derive_i_leak(const table *lk, double c_f, int ng, double *gv, double *gi)
{
    int nt = lk->nb;
    double *ik = malloc((size_t)nt * sizeof *ik), vmin = INFINITY, vmax = -INFINITY;
    if (!ik)
        return -1;
    for (int i = 0; i < lk->n; i++) {
        vmin = fmin(vmin, lk->grid[i]);
        vmax = fmax(vmax, lk->grid[i]);
    }
    for (int g = 0; g < ng; g++) {
        gv[g] = vmin + (vmax - vmin) * g / (ng - 1);
        gi[g] = 0;
    }
    int *cnt = calloc((size_t)ng, sizeof *cnt);
    for (int j = 0; cnt && j < lk->na; j++) {
        const double *v = lk->grid + (size_t)j * nt, *t = lk->gb;
        for (int k = 0; k < nt; k++) {
            int a = k > 0 ? k - 1 : 0, b = k < nt - 1 ? k + 1 : nt - 1;
            ik[k] = -c_f * (v[b] - v[a]) / (t[b] - t[a]);
        }
        for (int g = 0; g < ng; g++) {
            double x = i_along(v, ik, nt, gv[g]);
            if (!isnan(x)) {
                gi[g] += x;
                cnt[g]++;
            }
        }
    }
    for (int g = 0; cnt && g < ng; g++)
        gi[g] = cnt[g] ? gi[g] / cnt[g] : NAN;
    for (int g = 0; cnt && g < ng; g++) {
        if (cnt[g])
            continue;
        int a = g - 1, b = g + 1;
        while (b < ng && !cnt[b])
            b++;
        gi[g] = a < 0 ? gi[b] : b >= ng ? gi[a] : gi[a] + (gi[b] - gi[a]) * (g - a) / (b - a);
    }
    int rc = cnt ? 0 : -1;
    free(cnt);
    free(ik);
    return rc;
}

static int write_leak(const table *lk, double c_f, hid_t f, gc_err *e)
{
    enum { NG = 181 };
    double gv[NG], gi[NG];
    if (lk->na < 1 || lk->nb < 3)
        return gc_fail(e, "%s: needs at least 3 time points per transient", lk->path);
    if (derive_i_leak(lk, c_f, NG, gv, gi))
        return gc_fail(e, "out of memory");
    double v_eq = NAN;
    for (int g = 0; g + 1 < NG && isnan(v_eq); g++)
        if (gi[g] <= 0 && gi[g + 1] > 0)
            v_eq = gi[g] == 0 ? gv[g] : gv[g] - gi[g] * (gv[g + 1] - gv[g]) / (gi[g + 1] - gi[g]);
    hid_t g = gc_h5_group(f, "leak", e);
    if (g < 0)
        return -1;
    size_t d2[2] = {(size_t)lk->na, (size_t)lk->nb}, ng = NG;
    const char *ax[] = {"v0", "time"}, *axd[] = {"dc_v"};
    int rc = gc_h5_write_axis(g, "v0", d2[0], lk->ga, "V", "initial stored voltage", e) ||
                     gc_h5_write_axis(g, "time", d2[1], lk->gb, "s", "hold time", e) ||
                     gc_h5_write(g, "v_store", 2, d2, lk->grid, "V",
                                 "stored voltage during hold (imported)", e) ||
                     gc_h5_attach(g, "v_store", 2, ax, e) ||
                     gc_h5_write_axis(g, "dc_v", ng, gv, "V", "stored voltage", e) ||
                     gc_h5_write(g, "i_leak", 1, &ng, gi, "A",
                                 "current leaving the node, derived as -C dV/dt from the "
                                 "transients with the assumed C (c_node_assumed_F)", e) ||
                     gc_h5_attach(g, "i_leak", 1, axd, e) ||
                     gc_h5_attr_double(g, ".", "c_node_assumed_F", c_f, e) ||
                     gc_h5_attr_str(g, ".", "i_leak_derivation",
                                    "imported transients only: i_leak = -C dV/dt needs C, which "
                                    "was assumed (gcsim import --c-node), not measured", e) ||
                     gc_h5_attr_double(g, ".", "v_eq_V", v_eq, e)
                 ? -1
                 : 0;
    H5Gclose(g);
    return rc;
}

static int write_root(const calib_import_opts *o, double vdd, hid_t f, gc_err *e)
{
    char when[32], sha[65], sources[4200];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if (gc_sha256_file(o->read_iv_csv, sha, e))
        return -1;
    snprintf(sources, sizeof sources, "%s sha256=%s", o->read_iv_csv, sha);
    if (o->leak_csv) {
        if (gc_sha256_file(o->leak_csv, sha, e))
            return -1;
        size_t l = strlen(sources);
        snprintf(sources + l, sizeof sources - l, "; %s sha256=%s", o->leak_csv, sha);
    }
    hid_t g = gc_h5_group(f, "params", e);
    if (g < 0)
        return -1;
    int rc = write_scalar(g, "vdd", vdd, "V", "supply voltage", e) ||
             write_scalar(g, "t_max", o->t_max_s, "s", "full read pulse width", e) ||
             (o->t_write_s > 0 &&
              write_scalar(g, "t_write", o->t_write_s, "s", "write pulse width", e));
    H5Gclose(g);
    return rc || gc_h5_attr_str(f, ".", "format", "gcsim-curves", e) ||
                   gc_h5_attr_double(f, ".", "format_version", 1, e) ||
                   gc_h5_attr_str(f, ".", "source", "import", e) ||
                   gc_h5_attr_str(f, ".", "technology",
                                  o->technology ? o->technology : "imported", e) ||
                   gc_h5_attr_str(f, ".", "imported_from", sources, e) ||
                   gc_h5_attr_str(f, ".", "gcsim_version", GCSIM_VERSION, e) ||
                   gc_h5_attr_str(f, ".", "created_utc", when, e) ||
                   gc_h5_attr_str(f, ".", "command_line", o->command_line ? o->command_line : "", e)
               ? -1
               : 0;
}

static int import_tables(const calib_import_opts *o, const table *iv, const table *lk,
                         const char *path, gc_err *e)
{
    if (iv->na < 4)
        return gc_fail(e, "%s: needs at least 4 distinct vstore_V values (has %d)", iv->path,
                       iv->na);
    double vdd = o->vdd_v > 0 ? o->vdd_v : iv->ga[iv->na - 1];
    if (!(vdd > 0))
        return gc_fail(e, "%s: the largest vstore_V must be positive (it sets vdd)", iv->path);
    if (vdd < iv->ga[iv->na - 1])
        return gc_fail(e, "--vdd %g V is below the largest vstore_V of %s (%g V): the "
                       "supply bounds every stored voltage", vdd, iv->path, iv->ga[iv->na - 1]);
    char tmp[4200];
    if (gc_tmp_path_beside(path, tmp, sizeof tmp, e))
        return -1;
    hid_t f = gc_h5_create(tmp, e);
    if (f < 0)
        return -1;
    int rc = write_root(o, vdd, f, e) || write_read(iv, o, vdd, f, e) ||
             (lk && write_leak(lk, o->c_node_f, f, e));
    if (gc_h5_save(f, tmp, !rc, e) || rc) {
        unlink(tmp);
        return -1;
    }
    /* what fit would refuse is refused here: the file is loaded back before it replaces path */
    calib_curves *c = NULL;
    if (calib_curves_load(tmp, &c, e)) {
        unlink(tmp);
        return gc_wrap(e, "import: the curves made from the CSV do not pass their own checks");
    }
    calib_curves_free(c);
    return gc_commit_file(tmp, path, e);
}

int calib_import(const calib_import_opts *o, const char *path, gc_err *e)
{
    if (!o->read_iv_csv)
        return gc_fail(e, "import: --read-iv FILE.csv is required");
    if (o->levels < 2 || o->levels > 256 || !(o->t_max_s > 0) || !(o->c_node_f > 0))
        return gc_fail(e, "import: need 2..256 levels, t_max > 0 and c_node > 0");
    if (!(o->t_write_s >= 0) || !isfinite(o->t_write_s))
        return gc_fail(e, "import: t_write must be a positive time in s (or 0: not recorded)");
    table iv, lk;
    memset(&lk, 0, sizeof lk);
    int rc = load_table(&iv, o->read_iv_csv, "vstore_V,vin_V,current_A", iv_cols, e);
    if (rc == 0 && o->leak_csv)
        rc = load_table(&lk, o->leak_csv, "v0_V,time_s,vstore_V", leak_cols, e);
    if (rc == 0)
        rc = import_tables(o, &iv, o->leak_csv ? &lk : NULL, path, e);
    table_free(&iv);
    table_free(&lk);
    return rc;
}
