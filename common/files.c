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
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask); /* as fopen would make it, not mkstemp's 0600 */
    close(fd);
    return 0;
}

int gc_commit_file(const char *tmp, const char *path, gc_err *e)
{
    if (gc_interrupted()) {
        unlink(tmp);
        return gc_fail_interrupted(e);
    }
    /* a delayed write error (EIO, ENOSPC on a network or thin-provisioned disk) shows here */
    int fd = open(tmp, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return gc_fail(e, "%s: cannot write: %s", path, strerror(err));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return gc_fail(e, "%s: cannot replace: %s", path, strerror(err));
    }
    return 0;
}

/* write() until len bytes are out; -1 with errno on failure. */
static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int gc_write_file_atomic(const char *path, const void *data, size_t len, gc_err *e)
{
    char tmp[4096];
    if (gc_tmp_path_beside(path, tmp, sizeof tmp, e))
        return -1;
    int fd = open(tmp, O_WRONLY | O_TRUNC | O_CLOEXEC);
    int failed = fd < 0 || write_all(fd, data, len) != 0;
    int err = errno;
    if (fd >= 0 && close(fd) != 0 && !failed)
        failed = 1, err = errno;
    if (failed) {
        unlink(tmp);
        return gc_fail(e, "%s: write failed: %s", path, strerror(err));
    }
    return gc_commit_file(tmp, path, e);
}

/* The kind of file st describes, for a message; NULL for a regular file. */
static const char *not_regular(const struct stat *st)
{
    if (S_ISREG(st->st_mode))
        return NULL;
    if (S_ISDIR(st->st_mode))
        return "is a folder, not a file";
    return S_ISFIFO(st->st_mode)   ? "is a pipe, not a regular file"
           : S_ISCHR(st->st_mode)  ? "is a device, not a regular file"
           : S_ISSOCK(st->st_mode) ? "is a socket, not a regular file"
                                   : "is not a regular file";
}

static int check_stat(const char *path, const struct stat *st, size_t *size, gc_err *e)
{
    const char *why = not_regular(st);
    if (why)
        return gc_fail(e, "%s: %s", path, why);
    if ((unsigned long long)st->st_size > GC_INPUT_MAX_BYTES)
        return gc_fail(e, "%s: larger than %llu bytes", path,
                       (unsigned long long)GC_INPUT_MAX_BYTES);
    if (size)
        *size = (size_t)st->st_size;
    return 0;
}

int gc_check_input_file(const char *path, size_t *size, gc_err *e)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return gc_fail(e, "%s: cannot open: %s", path,
                       errno == ENOENT ? "no such file" : strerror(errno));
    if (check_stat(path, &st, size, e))
        return -1;
    if (access(path, R_OK) != 0)
        return gc_fail(e, "%s: cannot open: %s", path, strerror(errno));
    return 0;
}

FILE *gc_open_input(const char *path, gc_err *e)
{
    if (gc_check_input_file(path, NULL, e))
        return NULL;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f) {
        gc_fail(e, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) != 0 || check_stat(path, &st, NULL, e)) {
        fclose(f);
        return NULL;
    }
    return f;
}

int gc_read_file(const char *path, char **data, size_t *len, gc_err *e)
{
    FILE *f = gc_open_input(path, e);
    if (!f)
        return -1;
    struct stat st;
    size_t size = fstat(fileno(f), &st) == 0 ? (size_t)st.st_size : 0;
    char *buf = malloc(size + 1);
    if (!buf) {
        fclose(f);
        return gc_fail(e, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t n = fread(buf, 1, size, f);
    int failed = ferror(f) || n != size || fgetc(f) != EOF;
    fclose(f);
    if (failed) {
        free(buf);
        return gc_fail(e, "%s: read failed (the file changed while being read?)", path);
    }
    buf[n] = '\0';
    *data = buf;
    if (len)
        *len = n;
    return 0;
}

int gc_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int gc_check_output(const char *what, const char *out, const char *const *inputs, int n,
                    gc_err *e)
{
    for (int i = 0; i < n; i++)
        if (inputs[i] && (gc_same_file(out, inputs[i]) || !strcmp(out, inputs[i])))
            return gc_fail(e, "%s %s is also an input (%s): choose another output", what, out,
                           inputs[i]);
    return 0;
}

int gc_check_writable(const char *path, gc_err *e)
{
    char dir[4096];
    struct stat st;
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return gc_fail(e, "%s: path too long", path);
    /* the nearest existing folder: path itself, else its parents */
    while (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        char *slash = strrchr(dir, '/');
        if (!slash) {
            strcpy(dir, ".");
            break;
        }
        while (slash > dir && slash[-1] == '/')
            slash--;
        if (slash == dir)
            slash[1] = '\0'; /* "/" */
        else
            *slash = '\0';
        if (!strcmp(dir, "/"))
            break;
    }
    if (access(dir, W_OK | X_OK) == 0)
        return 0;
    if (!strcmp(dir, path))
        return gc_fail(e, "%s: cannot write there: %s", path, strerror(errno));
    return gc_fail(e, "%s: cannot write in %s: %s", path, dir, strerror(errno));
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
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return gc_fail(e, "%s: exists and is not a folder", buf);
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
