/* NumPy .npy reader and writer (format 1.0, 2.0, 3.0), C order, little-endian only.
 * Layout: "\x93NUMPY", major, minor, header length (u16 for v1, u32 for v2/v3), a Python
 * dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
 * spaces and a newline so the data starts on a 64-byte boundary, then the raw data. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

const char *gc_npy_descr(gc_npy_dtype t)
{
    switch (t) {
    case GC_NPY_F32: return "<f4";
    case GC_NPY_F64: return "<f8";
    case GC_NPY_U32: return "<u4";
    case GC_NPY_U8: return "|u1";
    }
    return "?";
}

size_t gc_npy_item_size(gc_npy_dtype t)
{
    switch (t) {
    case GC_NPY_F32: return 4;
    case GC_NPY_F64: return 8;
    case GC_NPY_U32: return 4;
    case GC_NPY_U8: return 1;
    }
    return 0;
}

size_t gc_npy_count(const gc_npy *a)
{
    size_t n = 1;
    for (int i = 0; i < a->ndim; i++)
        n *= a->shape[i];
    return n;
}

void gc_npy_free(gc_npy *a)
{
    if (a) {
        free(a->data);
        a->data = NULL;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Header parsing: a tiny scanner over the dict literal, strict enough to reject garbage. */

/* Finds the value that follows key 'name': in the header; NULL if absent. */
static const char *header_value(const char *h, const char *name)
{
    char key[32];
    snprintf(key, sizeof key, "'%s'", name);
    const char *p = strstr(h, key);
    if (!p) {
        snprintf(key, sizeof key, "\"%s\"", name);
        p = strstr(h, key);
    }
    if (!p)
        return NULL;
    p += strlen(key);
    while (isspace((unsigned char)*p))
        p++;
    if (*p != ':')
        return NULL;
    p++;
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

static int parse_descr(const char *h, char *descr, size_t n)
{
    const char *p = header_value(h, "descr");
    if (!p || (*p != '\'' && *p != '"'))
        return -1;
    char quote = *p++;
    const char *end = strchr(p, quote);
    if (!end || (size_t)(end - p) >= n)
        return -1;
    memcpy(descr, p, (size_t)(end - p));
    descr[end - p] = 0;
    return 0;
}

/* Returns 1 (True), 0 (False) or -1 (missing / malformed). */
static int parse_fortran(const char *h)
{
    const char *p = header_value(h, "fortran_order");
    if (!p)
        return -1;
    if (!strncmp(p, "True", 4))
        return 1;
    if (!strncmp(p, "False", 5))
        return 0;
    return -1;
}

static int parse_shape(const char *h, gc_npy *a)
{
    const char *p = header_value(h, "shape");
    if (!p || *p != '(')
        return -1;
    p++;
    a->ndim = 0;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (*p == ')')
            return 0;
        if (!isdigit((unsigned char)*p) || a->ndim == GC_NPY_MAX_DIMS)
            return -1;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno)
            return -1;
        a->shape[a->ndim++] = (size_t)v;
        p = end;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == ',')
            p++;
        else if (*p != ')')
            return -1;
    }
}

/* Checks the magic and version, returns the header text (in buf) and the data offset. */
static int parse_preamble(const char *path, const unsigned char *buf, size_t len,
                          size_t *hdr_len, size_t *data_off, gc_err *e)
{
    if (len < 10 || memcmp(buf, npy_magic, 6) != 0)
        return gc_fail(e, "%s: not a .npy file (bad magic)", path);
    int major = buf[6];
    if (major == 1) {
        *hdr_len = (size_t)buf[8] | (size_t)buf[9] << 8;
        *data_off = 10 + *hdr_len;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return gc_fail(e, "%s: .npy format version %d needs a 12-byte preamble, the file "
                           "has %zu bytes (truncated)", path, major, len);
        *hdr_len = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
                   (size_t)buf[11] << 24;
        *data_off = 12 + *hdr_len;
    } else {
        return gc_fail(e, "%s: unsupported .npy format version %d", path, major);
    }
    if (*data_off > len)
        return gc_fail(e, "%s: the .npy header (format version %d) declares %zu bytes, the file "
                       "holds %zu after the preamble (truncated or corrupt)", path, major,
                       *hdr_len, len - (*data_off - *hdr_len));
    return 0;
}

static int parse_header(const char *path, const char *h, gc_npy_dtype want, gc_npy *a,
                        gc_err *e)
{
    char descr[16];
    if (h[0] != '{' || !strchr(h, '}'))
        return gc_fail(e, "%s: malformed .npy header (not a dict)", path);
    if (parse_descr(h, descr, sizeof descr))
        return gc_fail(e, "%s: malformed .npy header (no 'descr')", path);
    if (strcmp(descr, gc_npy_descr(want)) != 0)
        return gc_fail(e, "%s: dtype %s, expected %s", path, descr, gc_npy_descr(want));
    int fortran = parse_fortran(h);
    if (fortran < 0)
        return gc_fail(e, "%s: malformed .npy header (no 'fortran_order')", path);
    if (fortran)
        return gc_fail(e, "%s: Fortran-order array, expected C order (use np.ascontiguousarray)",
                       path);
    if (parse_shape(h, a))
        return gc_fail(e, "%s: malformed .npy header (bad 'shape')", path);
    a->dtype = want;
    return 0;
}

/* "(a,b,c)" */
static void shape_text(const gc_npy *a, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < a->ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%zu", i ? "," : "", a->shape[i]);
    if (used < n)
        snprintf(buf + used, n - used, ")");
}

/* The data size in bytes; -1 if it does not fit in size_t. */
static int shape_bytes(const gc_npy *a, size_t *bytes)
{
    size_t n = gc_npy_item_size(a->dtype);
    for (int i = 0; i < a->ndim; i++) {
        if (a->shape[i] && n > SIZE_MAX / a->shape[i])
            return -1;
        n *= a->shape[i];
    }
    *bytes = n;
    return 0;
}

int gc_npy_check_finite(const gc_npy *a, const char *path, gc_err *e)
{
    size_t n = gc_npy_count(a);
    for (size_t i = 0; i < n; i++) {
        double v = a->dtype == GC_NPY_F32 ? ((const float *)a->data)[i]
                   : a->dtype == GC_NPY_F64 ? ((const double *)a->data)[i]
                                            : 0;
        if (!isfinite(v))
            return gc_fail(e, "%s: element %zu is %s: the values must be finite numbers", path,
                           i, isnan(v) ? "NaN" : v > 0 ? "+inf" : "-inf");
    }
    return 0;
}

int gc_npy_read(const char *path, gc_npy_dtype want, gc_npy *out, gc_err *e)
{
    char *buf;
    size_t len, hdr_len = 0, off = 0;
    memset(out, 0, sizeof *out);
    if (gc_read_file(path, &buf, &len, e))
        return -1;
    const unsigned char *u = (const unsigned char *)buf;
    int rc = parse_preamble(path, u, len, &hdr_len, &off, e);
    char *h = rc ? NULL : strndup(buf + off - hdr_len, hdr_len);
    if (!rc && !h)
        rc = gc_fail(e, "%s: out of memory", path);
    if (!rc)
        rc = parse_header(path, h, want, out, e);
    free(h);
    char shape[GC_NPY_MAX_DIMS * 24 + 4];
    size_t bytes = 0;
    if (!rc) {
        shape_text(out, shape, sizeof shape);
        if (shape_bytes(out, &bytes))
            rc = gc_fail(e, "%s: shape %s is too large (its size overflows)", path, shape);
    }
    if (!rc && len - off < bytes)
        rc = gc_fail(e, "%s: truncated data: %zu bytes after the header, shape %s of %s needs "
                     "%zu", path, len - off, shape, gc_npy_descr(want), bytes);
    else if (!rc && len - off > bytes)
        rc = gc_fail(e, "%s: %zu bytes of data after the header, but shape %s of %s needs %zu: "
                     "the header and the data disagree", path, len - off, shape,
                     gc_npy_descr(want), bytes);
    if (!rc && !(out->data = malloc(bytes ? bytes : 1)))
        rc = gc_fail(e, "%s: out of memory", path);
    if (!rc)
        memcpy(out->data, buf + off, bytes);
    free(buf);
    return rc;
}

int gc_npy_check_shape(const gc_npy *a, const char *path, int ndim, const size_t *shape,
                       gc_err *e)
{
    char want[128] = "(", got[128] = "(";
    int ok = a->ndim == ndim;
    for (int i = 0; i < ndim; i++) {
        if (ok && shape[i] && a->shape[i] != shape[i])
            ok = 0;
        size_t l = strlen(want);
        if (shape[i])
            snprintf(want + l, sizeof want - l, "%s%zu", i ? "," : "", shape[i]);
        else
            snprintf(want + l, sizeof want - l, "%s*", i ? "," : "");
    }
    if (ok)
        return 0;
    for (int i = 0; i < a->ndim; i++) {
        size_t l = strlen(got);
        snprintf(got + l, sizeof got - l, "%s%zu", i ? "," : "", a->shape[i]);
    }
    strcat(want, ")");
    strcat(got, ")");
    return gc_fail(e, "%s: shape %s, expected %s", path, got, want);
}

/* ---------------------------------------------------------------------------------------- */

int gc_npy_write(const char *path, gc_npy_dtype dtype, int ndim, const size_t *shape,
                 const void *data, gc_err *e)
{
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     gc_npy_descr(dtype));
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%zu%s", shape[i],
                      ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
        count *= shape[i];
    }
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    /* Pad with spaces and a final newline so magic + lengths + header is a multiple of 64. */
    int v2 = n + 1 + 10 > 65535;
    size_t pre = v2 ? 12 : 10, hlen = (size_t)n + 1;
    hlen += (64 - (pre + hlen) % 64) % 64;
    size_t bytes = count * gc_npy_item_size(dtype);
    unsigned char *buf = malloc(pre + hlen + bytes);
    if (!buf)
        return gc_fail(e, "%s: out of memory", path);
    memcpy(buf, npy_magic, 6);
    buf[6] = v2 ? 2 : 1;
    buf[7] = 0;
    for (size_t i = 0; i < pre - 8; i++)
        buf[8 + i] = (unsigned char)(hlen >> (8 * i));
    memset(buf + pre, ' ', hlen);
    memcpy(buf + pre, dict, (size_t)n);
    buf[pre + hlen - 1] = '\n';
    if (bytes)
        memcpy(buf + pre + hlen, data, bytes);
    int rc = gc_write_file_atomic(path, buf, pre + hlen + bytes, e);
    free(buf);
    return rc;
}
