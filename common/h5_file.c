/* Opening HDF5 files from outside, and writing our own, so that neither a damaged file nor a
 * full disk can crash gcsim.
 *
 * Reading: libhdf5 (1.10) can overflow its heap or loop on a malformed file, which we cannot
 * fix. So a file is never parsed in the gcsim process: a child process opens it, copies every
 * group, numeric dataset and numeric or string attribute (values only, within size limits)
 * into a fresh in-memory HDF5 file, and sends that file's image back through a pipe. The
 * parent opens the image, which libhdf5 itself wrote from plain values; a crash or hang of
 * the child becomes one line naming the file. Links other than hard links, named datatypes,
 * references (dimension-scale bookkeeping) and non-scalar strings are not copied: no loader
 * reads them.
 *
 * Writing: a file is built in memory (core driver, no backing store) and its image written
 * with ordinary checked writes, so a full disk is an error message, not a half-closed file
 * inside libhdf5 (which 1.10 then crashes on at exit). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5_hl.h>

#include "common.h"

#define H5_MAX_DEPTH 32               /* nested groups */
#define H5_MAX_OBJECTS 100000         /* groups + datasets + attributes */
#define H5_MAX_VALUES (1ul << 26)     /* numbers in one dataset (512 MiB as float64) */
#define H5_MAX_ATTR_VALUES (1ul << 20)
#define H5_MAX_STRING (1ul << 24)     /* bytes in one string */
#define H5_READ_TIMEOUT_S 120.0

/* ---------------------------------------------------------------------------------------- */
/* In-memory files */

static hid_t create_mem(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return H5I_INVALID_HID;
    hid_t f = H5I_INVALID_HID;
    if (H5Pset_fapl_core(fapl, 1 << 20, 0) >= 0)
        f = H5Fcreate("gcsim-in-memory.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    return f;
}

/* The image of an in-memory file in a malloc'd buffer. */
static int mem_image(hid_t f, void **buf, size_t *len)
{
    if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0)
        return -1;
    ssize_t n = H5Fget_file_image(f, NULL, 0);
    if (n <= 0)
        return -1;
    *buf = malloc((size_t)n);
    if (!*buf || H5Fget_file_image(f, *buf, (size_t)n) != n) {
        free(*buf);
        *buf = NULL;
        return -1;
    }
    *len = (size_t)n;
    return 0;
}

hid_t gc_h5_create(const char *path, gc_err *e)
{
    gc_h5_quiet();
    hid_t f = create_mem();
    if (f < 0)
        gc_fail(e, "%s: cannot create an HDF5 file in memory", path);
    return f;
}

/* Writes all of buf to fd; -1 with errno set on failure. */
static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The file a temporary path (gc_tmp_path_beside) stands for, for messages. */
static int shown_len(const char *path)
{
    const char *tmp = strstr(path, ".tmp-");
    return tmp ? (int)(tmp - path) : (int)strlen(path);
}

int gc_h5_save(hid_t f, const char *path, int keep, gc_err *e)
{
    void *buf = NULL;
    size_t len = 0;
    int rc = keep ? mem_image(f, &buf, &len) : 0;
    H5Fclose(f);
    if (!keep)
        return 0;
    if (rc)
        return gc_fail(e, "%.*s: cannot build the HDF5 file (out of memory?)", shown_len(path),
                       path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0 || write_all(fd, buf, len) || fsync(fd)) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        free(buf);
        return gc_fail(e, "%.*s: cannot write: %s", shown_len(path), path, strerror(err));
    }
    free(buf);
    if (close(fd))
        return gc_fail(e, "%.*s: cannot write: %s", shown_len(path), path, strerror(errno));
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The child: copy values from the file into a clean in-memory file. */

typedef struct {
    hid_t dst;
    long objects;
    gc_err *e;
} copier;

static int count_object(copier *c)
{
    if (++c->objects > H5_MAX_OBJECTS)
        return gc_fail(c->e, "more than %d objects", H5_MAX_OBJECTS);
    return 0;
}

/* Number of elements of a simple or scalar space (rank and dims out), capped at max. */
static int space_size(hid_t s, size_t max, int *rank, hsize_t dims[8], size_t *n)
{
    H5S_class_t cls = H5Sget_simple_extent_type(s);
    if (cls == H5S_SCALAR) {
        *rank = 0;
        *n = 1;
        return 0;
    }
    int r = cls == H5S_SIMPLE ? H5Sget_simple_extent_ndims(s) : -1;
    if (r < 1 || r > 8 || H5Sget_simple_extent_dims(s, dims, NULL) != r)
        return -1;
    size_t total = 1;
    for (int i = 0; i < r; i++) {
        if (dims[i] > max || (dims[i] && total > max / dims[i]))
            return -1;
        total *= dims[i];
    }
    *rank = r;
    *n = total;
    return 0;
}

/* A scalar string read through its own type (fixed or variable length) into malloc'd text. */
static char *read_string(hid_t obj, hid_t t, int is_attr)
{
    char *out = NULL;
    if (H5Tis_variable_str(t) > 0) {
        char *v = NULL;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));
        herr_t st = is_attr ? H5Aread(obj, mt, &v)
                            : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v);
        if (st >= 0 && v && strlen(v) < H5_MAX_STRING)
            out = strdup(v);
        if (v)
            H5free_memory(v);
        H5Tclose(mt);
        return out;
    }
    size_t n = H5Tget_size(t);
    if (n == 0 || n > H5_MAX_STRING || !(out = calloc(n + 1, 1)))
        return NULL;
    herr_t st = is_attr ? H5Aread(obj, t, out)
                        : H5Dread(obj, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    if (st < 0) {
        free(out);
        return NULL;
    }
    return out;
}

static hid_t string_type(const char *s, H5T_cset_t cset)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(s) + 1);
    H5Tset_cset(t, cset == H5T_CSET_UTF8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
    return t;
}

/* One attribute of src copied onto dst: numbers as float64 of the same shape, scalar
 * strings as fixed-length strings; anything else is left out. */
static herr_t copy_attr(hid_t src, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    copier *c = data;
    if (count_object(c))
        return -1;
    hid_t a = H5Aopen(src, name, H5P_DEFAULT);
    if (a < 0)
        return gc_fail(c->e, "attribute %s: cannot open", name);
    hid_t t = H5Aget_type(a), s = H5Aget_space(a);
    H5T_class_t cls = t < 0 ? H5T_NO_CLASS : H5Tget_class(t);
    int rank, rc = 0;
    hsize_t dims[8];
    size_t n;
    if (s < 0 || space_size(s, H5_MAX_ATTR_VALUES, &rank, dims, &n)) {
        rc = gc_fail(c->e, "attribute %s: unsupported or oversized shape", name);
    } else if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
        double *v = malloc((n ? n : 1) * sizeof *v);
        hid_t ds = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
        hid_t b = !v || H5Aread(a, H5T_NATIVE_DOUBLE, v) < 0
                      ? H5I_INVALID_HID
                      : H5Acreate2(c->dst, name, H5T_IEEE_F64LE, ds, H5P_DEFAULT, H5P_DEFAULT);
        if (b < 0 || H5Awrite(b, H5T_NATIVE_DOUBLE, v) < 0)
            rc = gc_fail(c->e, "attribute %s: cannot read its numbers", name);
        if (b >= 0)
            H5Aclose(b);
        H5Sclose(ds);
        free(v);
    } else if (cls == H5T_STRING && n == 1) {
        char *v = read_string(a, t, 1);
        hid_t st = v ? string_type(v, H5Tget_cset(t)) : H5I_INVALID_HID;
        hid_t ds = H5Screate(H5S_SCALAR);
        hid_t b = st < 0 ? H5I_INVALID_HID
                         : H5Acreate2(c->dst, name, st, ds, H5P_DEFAULT, H5P_DEFAULT);
        if (b < 0 || H5Awrite(b, st, v) < 0)
            rc = gc_fail(c->e, "attribute %s: cannot read its text", name);
        if (b >= 0)
            H5Aclose(b);
        if (st >= 0)
            H5Tclose(st);
        H5Sclose(ds);
        free(v);
    }
    if (s >= 0)
        H5Sclose(s);
    if (t >= 0)
        H5Tclose(t);
    H5Aclose(a);
    return rc;
}

static int copy_attrs(copier *c, hid_t src, hid_t dst, const char *path)
{
    copier sub = *c;
    sub.dst = dst;
    hsize_t idx = 0;
    herr_t st = H5Aiterate2(src, H5_INDEX_NAME, H5_ITER_INC, &idx, copy_attr, &sub);
    c->objects = sub.objects;
    if (st < 0)
        return c->e->msg[0] ? gc_wrap(c->e, "%s", path)
                            : gc_fail(c->e, "%s: cannot read its attributes", path);
    return 0;
}

/* A dataset's values into dst/name: numbers as float64 of the same shape, a scalar string as
 * a fixed-length string; other datasets are left out. Returns the new dataset or
 * H5I_INVALID_HID with 0 in *skip when it failed (1: left out). */
static hid_t copy_values(copier *c, hid_t d, hid_t dst, const char *name, const char *path,
                         int *skip)
{
    hid_t t = H5Dget_type(d), s = H5Dget_space(d), out = H5I_INVALID_HID;
    H5T_class_t cls = t < 0 ? H5T_NO_CLASS : H5Tget_class(t);
    int rank;
    hsize_t dims[8];
    size_t n;
    *skip = 0;
    if (s < 0 || space_size(s, H5_MAX_VALUES, &rank, dims, &n)) {
        gc_fail(c->e, "%s: unsupported or oversized shape", path);
    } else if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
        double *v = malloc((n ? n : 1) * sizeof *v);
        hid_t ds = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
        if (v &&
            (n == 0 || H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0))
            out = H5Dcreate2(dst, name, H5T_IEEE_F64LE, ds, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT);
        if (out >= 0 && n &&
            H5Dwrite(out, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
            H5Dclose(out);
            out = H5I_INVALID_HID;
        }
        if (out < 0)
            gc_fail(c->e, "%s: cannot read its numbers (damaged)", path);
        H5Sclose(ds);
        free(v);
    } else if (cls == H5T_STRING && n == 1) {
        char *v = read_string(d, t, 0);
        hid_t st = v ? string_type(v, H5Tget_cset(t)) : H5I_INVALID_HID;
        hid_t ds = H5Screate(H5S_SCALAR);
        if (st >= 0)
            out = H5Dcreate2(dst, name, st, ds, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (out >= 0 && H5Dwrite(out, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
            H5Dclose(out);
            out = H5I_INVALID_HID;
        }
        if (out < 0)
            gc_fail(c->e, "%s: cannot read its text (damaged)", path);
        if (st >= 0)
            H5Tclose(st);
        H5Sclose(ds);
        free(v);
    } else {
        *skip = 1;
    }
    if (s >= 0)
        H5Sclose(s);
    if (t >= 0)
        H5Tclose(t);
    return out;
}

static int copy_group(copier *c, hid_t src, hid_t dst, const char *path, int depth);

typedef struct {
    copier *c;
    hid_t dst;
    const char *path;
    int depth;
} walk;

static herr_t copy_link(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    walk *w = data;
    copier *c = w->c;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", strcmp(w->path, "/") ? w->path : "", name);
    if (count_object(c))
        return -1;
    if (info->type != H5L_TYPE_HARD)
        return 0; /* soft and external links are not followed */
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    if (o < 0)
        return gc_fail(c->e, "%s: cannot open", path);
    int rc = 0;
    H5I_type_t type = H5Iget_type(o);
    if (type == H5I_GROUP) {
        hid_t sub = H5Gcreate2(w->dst, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        rc = sub < 0 ? gc_fail(c->e, "%s: cannot copy the group", path)
                     : copy_group(c, o, sub, path, w->depth + 1);
        if (sub >= 0)
            H5Gclose(sub);
    } else if (type == H5I_DATASET) {
        int skip;
        hid_t d = copy_values(c, o, w->dst, name, path, &skip);
        if (d >= 0) {
            rc = copy_attrs(c, o, d, path);
            H5Dclose(d);
        } else if (!skip) {
            rc = -1;
        }
    }
    H5Oclose(o);
    return rc;
}

static int copy_group(copier *c, hid_t src, hid_t dst, const char *path, int depth)
{
    if (depth > H5_MAX_DEPTH)
        return gc_fail(c->e, "%s: groups nested deeper than %d", path, H5_MAX_DEPTH);
    if (copy_attrs(c, src, dst, path))
        return -1;
    walk w = {c, dst, path, depth};
    hsize_t idx = 0;
    if (H5Literate(src, H5_INDEX_NAME, H5_ITER_INC, &idx, copy_link, &w) < 0)
        return c->e->msg[0] ? -1 : gc_fail(c->e, "%s: cannot list the group", path);
    return 0;
}

/* Opens path and copies it into a new in-memory file; its image in *buf. */
static int sanitize(const char *path, void **buf, size_t *len, gc_err *e)
{
    gc_h5_quiet();
    if (H5Fis_hdf5(path) <= 0)
        return gc_fail(e, "not an HDF5 file (or truncated)");
    hid_t src = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (src < 0)
        return gc_fail(e, "cannot open as HDF5 (truncated or damaged)");
    hid_t dst = create_mem();
    copier c = {dst, 0, e};
    int rc = dst < 0 ? gc_fail(e, "cannot create an HDF5 file in memory")
                     : copy_group(&c, src, dst, "/", 0);
    if (rc == 0 && mem_image(dst, buf, len))
        rc = gc_fail(e, "cannot build the copy (out of memory?)");
    if (rc)
        gc_wrap(e, "damaged HDF5 file");
    return rc;
}

static void child_main(const char *path, int fd)
{
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO); /* the parent reports; a crash here is the file's fault */
    }
    gc_err e = {{0}};
    void *buf = NULL;
    size_t len = 0;
    int rc = sanitize(path, &buf, &len, &e);
    char tag = rc ? 'E' : 'I';
    if (write_all(fd, &tag, 1) == 0)
        write_all(fd, rc ? (const void *)e.msg : buf, rc ? strlen(e.msg) : len);
    /* _exit: no atexit handlers, so the parent's open HDF5 files are not touched here */
    _exit(0);
}

/* ---------------------------------------------------------------------------------------- */
/* The parent */

/* Reads the child's answer until EOF or the deadline; 1 on timeout. */
static int read_answer(int fd, char **buf, size_t *len, double deadline)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    if (!b)
        return -1;
    for (;;) {
        double left = deadline - gc_now();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = left > 0 ? poll(&p, 1, (int)(left * 1000) + 1) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(b);
            return r == 0 ? 1 : -1;
        }
        if (n == cap) {
            char *bigger = cap < ((size_t)1 << 32) ? realloc(b, 2 * cap) : NULL;
            if (!bigger) {
                free(b);
                return -1;
            }
            b = bigger;
            cap *= 2;
        }
        ssize_t got = read(fd, b + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            free(b);
            return -1;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    *buf = b;
    *len = n;
    return 0;
}

hid_t gc_h5_open_read(const char *path, gc_err *e)
{
    gc_h5_quiet();
    if (gc_check_input_file(path, NULL, e))
        return H5I_INVALID_HID;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC)) {
        gc_fail(e, "%s: cannot start the HDF5 reader: %s", path, strerror(errno));
        return H5I_INVALID_HID;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        gc_fail(e, "%s: cannot start the HDF5 reader: %s", path, strerror(errno));
        return H5I_INVALID_HID;
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(path, fds[1]);
    }
    close(fds[1]);
    char *ans = NULL;
    size_t len = 0;
    int r = read_answer(fds[0], &ans, &len, gc_now() + H5_READ_TIMEOUT_S);
    close(fds[0]);
    if (r == 1)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    hid_t f = H5I_INVALID_HID;
    if (r == 1)
        gc_fail(e, "%s: damaged HDF5 file: reading it took over %g s", path, H5_READ_TIMEOUT_S);
    else if (r < 0)
        gc_fail(e, "%s: out of memory reading it", path);
    else if (WIFSIGNALED(status) || !WIFEXITED(status) || WEXITSTATUS(status) || len < 1)
        gc_fail(e, "%s: damaged HDF5 file: the HDF5 library failed reading it (%s %d)", path,
                WIFSIGNALED(status) ? "signal" : "exit status",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    else if (ans[0] == 'E')
        gc_fail(e, "%s: %.*s", path, (int)(len - 1 < 900 ? len - 1 : 900), ans + 1);
    else if ((f = H5LTopen_file_image(ans + 1, len - 1, 0)) < 0)
        gc_fail(e, "%s: cannot open the HDF5 copy (out of memory?)", path);
    free(ans);
    return f;
}
