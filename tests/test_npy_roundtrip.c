/* gc_npy_write then gc_npy_read gives back the same array for every supported dtype and
 * for 0-, 1- and 3-d shapes; reading with another dtype is refused with a message naming
 * the file and both dtypes; the file left behind is a well-formed .npy (64-byte aligned
 * header ending in a newline). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static int failures;

static void check(const char *what, int ok)
{
    printf("%-56s %s\n", what, ok ? "ok" : "FAIL");
    failures += !ok;
}

static void roundtrip(const char *dir, gc_npy_dtype t, int ndim, const size_t *shape)
{
    char path[600], what[128];
    size_t n = 1, sz = gc_npy_item_size(t);
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    unsigned char *data = malloc(n * sz + 1);
    for (size_t i = 0; i < n * sz; i++)
        data[i] = (unsigned char)(i * 37 + 11);
    snprintf(path, sizeof path, "%s/a_%d_%d.npy", dir, (int)t, ndim);
    snprintf(what, sizeof what, "round trip %s, %d-d", gc_npy_descr(t), ndim);
    gc_err e;
    gc_npy a;
    int ok = gc_npy_write(path, t, ndim, shape, data, &e) == 0 &&
             gc_npy_read(path, t, &a, &e) == 0;
    ok = ok && a.ndim == ndim && !memcmp(a.data, data, n * sz);
    for (int i = 0; ok && i < ndim; i++)
        ok = a.shape[i] == shape[i];
    check(what, ok);
    if (ok)
        gc_npy_free(&a);
    /* header: magic, version 1, total header length a multiple of 64, ends in newline */
    char *buf;
    size_t len;
    if (gc_read_file(path, &buf, &len, &e) == 0) {
        size_t hl = (unsigned char)buf[8] | (size_t)(unsigned char)buf[9] << 8;
        check("  header aligned to 64 bytes, ends in a newline",
              !memcmp(buf, "\x93NUMPY\x01\x00", 8) && (10 + hl) % 64 == 0 &&
                  buf[10 + hl - 1] == '\n' && len == 10 + hl + n * sz);
        free(buf);
    }
    gc_npy_dtype other = t == GC_NPY_F32 ? GC_NPY_F64 : GC_NPY_F32;
    int refused = gc_npy_read(path, other, &a, &e) != 0 && strstr(e.msg, path) &&
                  strstr(e.msg, gc_npy_descr(t)) && strstr(e.msg, gc_npy_descr(other));
    check("  read as another dtype is refused by name", refused);
    free(data);
}

int main(void)
{
    /* a scratch folder under $TMPDIR, else the system's temporary directory */
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir;
    char dir[400];
    snprintf(dir, sizeof dir, "%s/gcsim-npy-XXXXXX", base);
    if (!mkdtemp(dir))
        return 1;
    size_t s3[3] = {2, 3, 5}, s1[1] = {7};
    gc_npy_dtype all[4] = {GC_NPY_F32, GC_NPY_F64, GC_NPY_U32, GC_NPY_U8};
    for (int i = 0; i < 4; i++) {
        roundtrip(dir, all[i], 3, s3);
        roundtrip(dir, all[i], 1, s1);
    }
    roundtrip(dir, GC_NPY_F64, 0, NULL);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("(could not remove %s)\n", dir);
    return failures != 0;
}
