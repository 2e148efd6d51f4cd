/* Whole-file reads and atomic replacement (temporary file beside the target, then rename). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

int gc_tmp_path_beside(const char *path, char *tmp, size_t n, gc_err *e)
{
    static const char suffix[] = ".tmp-XXXXXX";
    if (strlen(path) + sizeof suffix > n)
        return gc_fail(e, "%s: path too long", path);
    snprintf(tmp, n, "%s%s", path, suffix);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return gc_fail(e, "%s: cannot create a temporary file beside it: %s", path,
                       strerror(errno));
    close(fd);
    return 0;
}

int gc_commit_file(const char *tmp, const char *path, gc_err *e)
{
    int fd = open(tmp, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return gc_fail(e, "%s: cannot replace: %s", path, strerror(err));
    }
    return 0;
}

int gc_write_file_atomic(const char *path, const void *data, size_t len, gc_err *e)
{
    char tmp[4096];
    if (gc_tmp_path_beside(path, tmp, sizeof tmp, e))
        return -1;
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        int err = errno;
        unlink(tmp);
        return gc_fail(e, "%s: write failed: %s", path, strerror(err));
    }
    return gc_commit_file(tmp, path, e);
}

int gc_read_file(const char *path, char **data, size_t *len, gc_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return gc_fail(e, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, 2 * cap + 1);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        free(buf);
        return gc_fail(e, "%s: read failed", path);
    }
    buf[n] = '\0';
    *data = buf;
    if (len)
        *len = n;
    return 0;
}

int gc_mkdir_p(const char *path, gc_err *e)
{
    char buf[4096];
    if (strlen(path) >= sizeof buf)
        return gc_fail(e, "%s: path too long", path);
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return gc_fail(e, "%s: cannot create folder: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return gc_fail(e, "%s: cannot create folder: %s", buf, strerror(errno));
    return 0;
}

/* Splits an absolute path into its components in place; returns their count (at most max). */
static int components(char *p, char **c, int max)
{
    int n = 0;
    char *save;
    for (char *t = strtok_r(p, "/", &save); t && n < max; t = strtok_r(NULL, "/", &save))
        c[n++] = t;
    return n;
}

int gc_path_relative_to(const char *dir, const char *path, char *out, size_t n, gc_err *e)
{
    char *d = realpath(dir, NULL), *p = realpath(path, NULL);
    char *dc[256], *pc[256];
    int rc = d && p ? 0 : gc_fail(e, "%s: %s", d ? path : dir, strerror(errno));
    int nd = rc ? 0 : components(d, dc, 256), np = rc ? 0 : components(p, pc, 256), k = 0;
    while (k < nd && k < np && !strcmp(dc[k], pc[k]))
        k++;
    size_t used = 0;
    out[0] = 0;
    for (int i = k; !rc && i < nd; i++)
        used += (size_t)snprintf(out + used, used < n ? n - used : 0, "../");
    for (int i = k; !rc && i < np; i++)
        used += (size_t)snprintf(out + used, used < n ? n - used : 0, "%s%s", pc[i],
                                 i + 1 < np ? "/" : "");
    if (!rc && used >= n)
        rc = gc_fail(e, "%s: path too long", path);
    free(d);
    free(p);
    return rc;
}

int gc_path_resolve(const char *dir, const char *path, char *out, size_t n, gc_err *e)
{
    int len = path[0] == '/' ? snprintf(out, n, "%s", path)
                             : snprintf(out, n, "%s/%s", dir, path);
    return len < 0 || (size_t)len >= n ? gc_fail(e, "%s: path too long", path) : 0;
}
