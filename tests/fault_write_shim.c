/* fault_write_shim: an LD_PRELOAD library that makes writes to files in one folder fail, as a
 * failing disk (EIO) or a full one (ENOSPC) makes them fail. Test-only: built by
 * test_outputs_survive_failures.py with the system compiler, never linked into gcsim.
 *
 * Environment:
 *   GCSIM_FAULT_DIR    folder whose regular files (at any depth) get the faults
 *   GCSIM_FAULT_ERRNO  EIO (default) or ENOSPC
 *   GCSIM_FAULT_AFTER  bytes written there (by this process) that still succeed; default 0
 *   GCSIM_FAULT_ON     "write" (write, writev, pwrite fail once the budget is spent),
 *                      "fsync" (only fsync and fdatasync fail: the delayed error of a disk
 *                      that took the data into its cache), or "both" (default)
 * Other files (stderr, pipes, files elsewhere) are left alone. LD_PRELOAD is removed from
 * the environment at load, so programs that gcsim starts (gnuplot) run without the shim.
 * Under AddressSanitizer put the ASan runtime first: LD_PRELOAD="libasan.so.N shim.so". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *dir;
static size_t dir_len, budget;
static int fail_errno = EIO, on_write = 1, on_fsync = 1;

__attribute__((constructor)) static void shim_init(void)
{
    dir = getenv("GCSIM_FAULT_DIR");
    dir_len = dir ? strlen(dir) : 0;
    const char *e = getenv("GCSIM_FAULT_ERRNO"), *a = getenv("GCSIM_FAULT_AFTER"),
               *on = getenv("GCSIM_FAULT_ON");
    if (e && !strcmp(e, "ENOSPC"))
        fail_errno = ENOSPC;
    if (a)
        budget = strtoull(a, NULL, 10);
    if (on && !strcmp(on, "write"))
        on_fsync = 0;
    if (on && !strcmp(on, "fsync"))
        on_write = 0;
    unsetenv("LD_PRELOAD");
}

/* 1 if fd is a regular file under dir. */
static int targeted(int fd)
{
    if (!dir_len)
        return 0;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = '\0';
    return !strncmp(path, dir, dir_len) && path[dir_len] == '/';
}

/* 1 if a write of len bytes to fd must fail; else spends the budget. */
static int write_fails(int fd, size_t len)
{
    if (!on_write || !targeted(fd))
        return 0;
    if (len <= budget) {
        budget -= len;
        return 0;
    }
    return 1;
}

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

ssize_t write(int fd, const void *buf, size_t len)
{
    if (write_fails(fd, len)) {
        errno = fail_errno;
        return -1;
    }
    return REAL(write)(fd, buf, len);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
    if (write_fails(fd, len)) {
        errno = fail_errno;
        return -1;
    }
    return REAL(pwrite)(fd, buf, len, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
    if (write_fails(fd, len)) {
        errno = fail_errno;
        return -1;
    }
    return REAL(pwrite64)(fd, buf, len, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += iov[i].iov_len;
    if (write_fails(fd, len)) {
        errno = fail_errno;
        return -1;
    }
    return REAL(writev)(fd, iov, n);
}

int fsync(int fd)
{
    if (on_fsync && targeted(fd)) {
        errno = fail_errno;
        return -1;
    }
    return REAL(fsync)(fd);
}

int fdatasync(int fd)
{
    if (on_fsync && targeted(fd)) {
        errno = fail_errno;
        return -1;
    }
    return REAL(fdatasync)(fd);
}
