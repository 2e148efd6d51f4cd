/* fuzz_util: temporary files, input splitting and property checks for the harnesses
 * (fuzz_util.h). */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"

static char dir[4096];
static long contained; /* inputs whose HDF5 reader process crashed or hung */

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

static void at_exit(void)
{
    if (dir[0]) /* the folder and what a harness left in it for all inputs (fuzz_tech) */
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (contained)
        fprintf(stderr, "fuzz: contained: %ld inputs crashed or hung the HDF5 reader process "
                        "(each one error line from the loader)\n", contained);
}

/* A forked child (common/h5_file.c's HDF5 reader) that crashes is the loader's business: it
 * dies without libFuzzer's handlers, which would save the input as a crash of the harness. */
static void child_death(void)
{
    _exit(1);
}

static void in_child(void)
{
    __sanitizer_set_death_callback(child_death);
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
}

const char *fuzz_dir(void)
{
    if (dir[0])
        return dir;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/gcsim-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "fuzz: cannot make a temporary folder %s: %s\n", dir, strerror(errno));
        exit(2);
    }
    atexit(at_exit);
    pthread_atfork(NULL, NULL, in_child);
    return dir;
}

void fuzz_write(const char *name, const void *data, size_t n, char *path, size_t cap)
{
    const char *slash = strchr(name, '/');
    if (slash) {
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%.*s", fuzz_dir(), (int)(slash - name), name);
        if (mkdir(sub, 0700) && errno != EEXIST) {
            fprintf(stderr, "fuzz: cannot make %s: %s\n", sub, strerror(errno));
            exit(2);
        }
    }
    snprintf(path, cap, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) {
        fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
}

void fuzz_remove(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    if (remove(path) && errno != ENOENT) {
        fprintf(stderr, "fuzz: cannot remove %s: %s\n", path, strerror(errno));
        exit(2);
    }
}

int fuzz_split(const uint8_t *data, size_t n, int max, const uint8_t **part, size_t *len)
{
    const size_t sep_len = strlen(FUZZ_SEP);
    int k = 0;
    while (k + 1 < max) {
        const uint8_t *at = memmem(data, n, FUZZ_SEP, sep_len);
        if (!at)
            break;
        part[k] = data;
        len[k++] = (size_t)(at - data);
        n -= (size_t)(at - data) + sep_len;
        data = at + sep_len;
    }
    part[k] = data;
    len[k++] = n;
    return k;
}

void fuzz_note(const char *what, int rc, const char *msg)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("GCSIM_FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "%s: %s\n", what, rc ? msg : "loaded");
}

void fuzz_note_h5(const char *what, const char *path, int rc, const char *msg)
{
    fuzz_note(what, rc, msg);
    /* the reader's own words right after the path: a message that merely quotes the input
     * cannot match */
    static const char *const said[] = {": damaged HDF5 file: the HDF5 library failed",
                                       ": damaged HDF5 file: reading it took over"};
    size_t n = strlen(path);
    for (size_t i = 0; rc && i < sizeof said / sizeof said[0]; i++)
        if (!strncmp(msg, path, n) && !strncmp(msg + n, said[i], strlen(said[i])))
            contained++;
}

void fuzz_touch(const void *p, size_t n)
{
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; i++)
        sink ^= ((const uint8_t *)p)[i];
    (void)sink;
}

void fuzz_violation(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz: property violated: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

int fuzz_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (i + k >= n) /* the sequence runs past the end */
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}
