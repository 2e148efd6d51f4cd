/* HDF5 helpers: float64 datasets with units, axes as dimension scales, attributes, and
 * reads that turn HDF5's error stack into one line naming the file and the object. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5_hl.h>

#include "common.h"

void gc_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

hid_t gc_h5_group(hid_t loc, const char *path, gc_err *e)
{
    hid_t g;
    if (H5Lexists(loc, path, H5P_DEFAULT) > 0)
        g = H5Gopen2(loc, path, H5P_DEFAULT);
    else
        g = H5Gcreate2(loc, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        gc_fail(e, "cannot create group %s", path);
    return g;
}

int gc_h5_attr_str(hid_t loc, const char *obj, const char *name, const char *value, gc_err *e)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(value) + 1);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t s = H5Screate(H5S_SCALAR);
    if (H5Aexists_by_name(loc, obj, name, H5P_DEFAULT) > 0)
        H5Adelete_by_name(loc, obj, name, H5P_DEFAULT);
    hid_t a = H5Acreate_by_name(loc, obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = a < 0 ? -1 : H5Awrite(a, t, value);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    return st < 0 ? gc_fail(e, "cannot write attribute %s on %s", name, obj) : 0;
}

int gc_h5_attr_double(hid_t loc, const char *obj, const char *name, double value, gc_err *e)
{
    hid_t s = H5Screate(H5S_SCALAR);
    if (H5Aexists_by_name(loc, obj, name, H5P_DEFAULT) > 0)
        H5Adelete_by_name(loc, obj, name, H5P_DEFAULT);
    hid_t a = H5Acreate_by_name(loc, obj, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT,
                                H5P_DEFAULT);
    herr_t st = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_DOUBLE, &value);
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(s);
    return st < 0 ? gc_fail(e, "cannot write attribute %s on %s", name, obj) : 0;
}

int gc_h5_write(hid_t loc, const char *name, int rank, const size_t *dims, const double *data,
                const char *units, const char *description, gc_err *e)
{
    hsize_t hd[8];
    if (rank < 1 || rank > 8)
        return gc_fail(e, "dataset %s: bad rank %d", name, rank);
    for (int i = 0; i < rank; i++)
        hd[i] = dims[i];
    hid_t s = H5Screate_simple(rank, hd, NULL);
    hid_t d = H5Dcreate2(loc, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = d < 0 ? -1 : H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (d >= 0)
        H5Dclose(d);
    H5Sclose(s);
    if (st < 0)
        return gc_fail(e, "cannot write dataset %s", name);
    if (units && gc_h5_attr_str(loc, name, "units", units, e))
        return -1;
    if (description && gc_h5_attr_str(loc, name, "description", description, e))
        return -1;
    return 0;
}

int gc_h5_write_axis(hid_t loc, const char *name, size_t n, const double *data,
                     const char *units, const char *description, gc_err *e)
{
    if (gc_h5_write(loc, name, 1, &n, data, units, description, e))
        return -1;
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    herr_t st = H5DSset_scale(d, name);
    H5Dclose(d);
    return st < 0 ? gc_fail(e, "cannot make %s a dimension scale", name) : 0;
}

int gc_h5_attach(hid_t loc, const char *dset, int rank, const char *const *axes, gc_err *e)
{
    hid_t d = H5Dopen2(loc, dset, H5P_DEFAULT);
    if (d < 0)
        return gc_fail(e, "no dataset %s", dset);
    int rc = 0;
    for (int i = 0; i < rank && rc == 0; i++) {
        if (!axes[i])
            continue;
        hid_t a = H5Dopen2(loc, axes[i], H5P_DEFAULT);
        if (a < 0 || H5DSattach_scale(d, a, (unsigned)i) < 0)
            rc = gc_fail(e, "cannot attach axis %s to %s", axes[i], dset);
        if (a >= 0)
            H5Dclose(a);
    }
    H5Dclose(d);
    return rc;
}

int gc_h5_read(hid_t loc, const char *name, double **data, int *rank, size_t dims[8],
               const char *file, gc_err *e)
{
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return gc_fail(e, "%s: missing dataset %s", file, name);
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0)
        return gc_fail(e, "%s: cannot open dataset %s", file, name);
    hid_t s = H5Dget_space(d);
    int r = H5Sget_simple_extent_ndims(s);
    hsize_t hd[8];
    if (r < 0 || r > 8) {
        H5Sclose(s);
        H5Dclose(d);
        return gc_fail(e, "%s: dataset %s has an unsupported shape", file, name);
    }
    H5Sget_simple_extent_dims(s, hd, NULL);
    size_t n = 1;
    int too_big = 0;
    for (int i = 0; i < r; i++) {
        dims[i] = hd[i];
        too_big |= hd[i] > GC_H5_MAX_VALUES || (hd[i] && n > GC_H5_MAX_VALUES / hd[i]);
        n *= too_big ? 1 : hd[i];
    }
    H5Sclose(s);
    if (too_big) {
        H5Dclose(d);
        return gc_fail(e, "%s: dataset %s is larger than %lu numbers", file, name,
                       (unsigned long)GC_H5_MAX_VALUES);
    }
    hid_t t = H5Dget_type(d);
    int numeric = H5Tget_class(t) == H5T_FLOAT || H5Tget_class(t) == H5T_INTEGER;
    H5Tclose(t);
    double *buf = numeric ? malloc((n ? n : 1) * sizeof *buf) : NULL;
    if (numeric && !buf) {
        H5Dclose(d);
        return gc_fail(e, "%s: out of memory reading dataset %s (%zu numbers)", file, name, n);
    }
    herr_t st = buf ? H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) : -1;
    H5Dclose(d);
    if (st < 0) {
        free(buf);
        return gc_fail(e, "%s: cannot read dataset %s as numbers (damaged or wrong type)",
                       file, name);
    }
    *data = buf;
    *rank = r;
    return 0;
}

/* "the root" or "/group" for messages about an object's attributes. */
static const char *obj_name(const char *obj, char *buf, size_t n)
{
    if (!strcmp(obj, "."))
        return "the root";
    snprintf(buf, n, "%s%s", obj[0] == '/' ? "" : "/", obj);
    return buf;
}

/* Number of values an attribute holds (-1 if it cannot be told). */
static hssize_t attr_points(hid_t a)
{
    hid_t s = a < 0 ? H5I_INVALID_HID : H5Aget_space(a);
    hssize_t n = s < 0 ? -1 : H5Sget_simple_extent_npoints(s);
    if (s >= 0)
        H5Sclose(s);
    return n;
}

int gc_h5_read_attr_str(hid_t loc, const char *obj, const char *name, char **out,
                        const char *file, gc_err *e)
{
    char ob[256];
    const char *on = obj_name(obj, ob, sizeof ob);
    htri_t has = H5Aexists_by_name(loc, obj, name, H5P_DEFAULT);
    if (has <= 0)
        return gc_fail(e, has < 0 ? "%s: cannot read the attributes of %s (%s)"
                                  : "%s: %s has no attribute %s", file, on, name);
    hid_t a = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    hid_t t = H5Aget_type(a);
    int rc = 0;
    if (attr_points(a) != 1 || H5Tget_class(t) != H5T_STRING) {
        rc = gc_fail(e, "%s: attribute %s of %s is not one string", file, name, on);
    } else if (H5Tis_variable_str(t) > 0) {
        char *v = NULL;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t)); /* h5py writes UTF-8 */
        if (H5Aread(a, mt, &v) < 0 || !v)
            rc = gc_fail(e, "%s: cannot read attribute %s of %s", file, name, on);
        else {
            if (!(*out = strdup(v)))
                rc = gc_fail(e, "%s: out of memory reading attribute %s of %s", file, name, on);
            H5free_memory(v);
        }
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(t);
        char *v = calloc(n + 1, 1);
        if (!v)
            rc = gc_fail(e, "%s: out of memory reading attribute %s of %s", file, name, on);
        else if (H5Aread(a, t, v) < 0)
            rc = gc_fail(e, "%s: cannot read attribute %s of %s", file, name, on);
        if (rc)
            free(v);
        else
            *out = v;
    }
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

int gc_h5_read_attr_double(hid_t loc, const char *obj, const char *name, double *out,
                           const char *file, gc_err *e)
{
    char ob[256];
    const char *on = obj_name(obj, ob, sizeof ob);
    htri_t has = H5Aexists_by_name(loc, obj, name, H5P_DEFAULT);
    if (has <= 0)
        return gc_fail(e, has < 0 ? "%s: cannot read the attributes of %s (%s)"
                                  : "%s: %s has no attribute %s", file, on, name);
    hid_t a = H5Aopen_by_name(loc, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    hid_t t = a < 0 ? H5I_INVALID_HID : H5Aget_type(a);
    H5T_class_t cls = t < 0 ? H5T_NO_CLASS : H5Tget_class(t);
    int one = attr_points(a) == 1 && (cls == H5T_FLOAT || cls == H5T_INTEGER);
    herr_t st = one ? H5Aread(a, H5T_NATIVE_DOUBLE, out) : -1;
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    if (!one)
        return gc_fail(e, "%s: attribute %s of %s is not one number", file, name, on);
    return st < 0 ? gc_fail(e, "%s: cannot read attribute %s of %s", file, name, on) : 0;
}

int gc_h5_read_values(hid_t loc, const char *name, size_t n, double lo, double hi,
                      const char *unit, double **data, const char *file, gc_err *e)
{
    int rank;
    size_t dims[8], count = 1;
    if (gc_h5_read(loc, name, data, &rank, dims, file, e))
        return -1;
    for (int i = 0; i < rank; i++)
        count *= dims[i];
    if (count != n) {
        free(*data);
        *data = NULL;
        return gc_fail(e, "%s: dataset /%s must hold %zu values (holds %zu)", file, name, n,
                       count);
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite((*data)[i]) || (*data)[i] < lo || (*data)[i] > hi) {
            double bad = (*data)[i];
            free(*data);
            *data = NULL;
            return gc_fail(e, "%s: dataset /%s holds %g (element %zu), not a number in "
                              "[%g, %g] %s", file, name, bad, i, lo, hi, unit);
        }
    return 0;
}

int gc_h5_check_units(hid_t loc, const char *name, const char *unit, const char *file,
                      gc_err *e)
{
    if (H5Aexists_by_name(loc, name, "units", H5P_DEFAULT) <= 0)
        return 0;
    char *u = NULL;
    if (gc_h5_read_attr_str(loc, name, "units", &u, file, e))
        return -1;
    int same = !strcmp(u, unit);
    free(u);
    return same ? 0 : gc_fail(e, "%s: /%s has units other than \"%s\"", file, name, unit);
}
