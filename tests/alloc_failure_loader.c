/* alloc_failure_loader: every allocation of a loader fails in turn, in SQLite's way.
 *
 * For k = 1, 2, ... one load runs with its k-th allocation failing (with --persistent, the
 * k-th and every one after it), until a load makes fewer than k allocations and succeeds.
 * Every failed load must return an error with a one-line message and free all it allocated;
 * none may crash (AddressSanitizer and UBSan report that). A load that absorbs a failure
 * and succeeds is fine, and is freed like any other.
 *
 * Not a general-purpose allocator test: allocations are counted and failed by wrapping
 * malloc, calloc, realloc, strdup, strndup and free at link time (-Wl,--wrap=..., see
 * tests/meson.build) in the code of gcsim's static libraries, and through cJSON_InitHooks
 * in cJSON; the system libraries' own allocations (libhdf5, PCRE2, libc) are not failed.
 * Live allocations are kept in a table, so a leak shows at once, without a sanitizer.
 *
 * usage: alloc_failure_loader cell|curves|model|npy|bpe PATH [--persistent]
 * Prints one summary line per loader and the distinct error messages; exit 0 when every
 * run ended as it must. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "calibrate.h"
#include "cellmodel.h"
#include "common.h"
#include "gpt2.h"
#include "tokenizer.h"

/* ---------------------------------------------------------------------------------------- */
/* The wrapped allocator */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

#define SLOTS (1u << 20) /* live allocations tracked at once, at most half of this */
#define TOMB ((void *)1)

static struct {
    pthread_mutex_t lock;
    void **slot;         /* open addressing: NULL empty, TOMB deleted */
    long live;           /* tracked allocations not yet freed */
    long count;          /* allocations since the load started */
    long fail_at;        /* the allocation that fails (1-based); 0: none */
    int persistent;      /* every allocation from fail_at on fails */
    long failed;         /* allocations failed in this load */
    pid_t pid;           /* this process: a loader's child processes (the HDF5 reader) are
                            not counted or failed; what they send back is checked anyway */
} A = {.lock = PTHREAD_MUTEX_INITIALIZER};

static size_t hash(const void *p)
{
    uint64_t x = (uintptr_t)p;
    x ^= x >> 33, x *= 0xff51afd7ed558ccdull, x ^= x >> 33;
    return (size_t)x & (SLOTS - 1);
}

static void track(void *p)
{
    size_t i = hash(p);
    while (A.slot[i] && A.slot[i] != TOMB)
        i = (i + 1) & (SLOTS - 1);
    A.slot[i] = p;
    A.live++;
}

/* Removes p if tracked; 1 if it was. */
static int untrack(void *p)
{
    for (size_t i = hash(p); A.slot[i]; i = (i + 1) & (SLOTS - 1))
        if (A.slot[i] == p) {
            A.slot[i] = TOMB;
            A.live--;
            return 1;
        }
    return 0;
}

/* Counts one allocation; 1 if it must fail. Called with the lock held. */
static int must_fail(void)
{
    if (getpid() != A.pid)
        return 0;
    long k = ++A.count;
    int fail = A.fail_at && (k == A.fail_at || (A.persistent && k > A.fail_at));
    A.failed += fail;
    return fail || A.live >= (long)SLOTS / 2;
}

void *__wrap_malloc(size_t n)
{
    pthread_mutex_lock(&A.lock);
    void *p = must_fail() ? NULL : __real_malloc(n);
    if (p)
        track(p);
    pthread_mutex_unlock(&A.lock);
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    pthread_mutex_lock(&A.lock);
    void *p = must_fail() ? NULL : __real_calloc(n, size);
    if (p)
        track(p);
    pthread_mutex_unlock(&A.lock);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    pthread_mutex_lock(&A.lock);
    void *q = NULL;
    if (!must_fail()) {
        int mine = p && untrack(p);
        q = __real_realloc(p, n);
        if (q)
            track(q);
        else if (mine)
            track(p); /* a failed realloc keeps the old block */
    }
    pthread_mutex_unlock(&A.lock);
    return q;
}

void __wrap_free(void *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&A.lock);
    untrack(p);
    pthread_mutex_unlock(&A.lock);
    __real_free(p);
}

char *__wrap_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = __wrap_malloc(n);
    return p ? memcpy(p, s, n) : NULL;
}

char *__wrap_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = __wrap_malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* ---------------------------------------------------------------------------------------- */
/* The loaders */

/* Loads path with one loader; frees what it returned on success. */
static int load(const char *kind, const char *path, gc_err *e)
{
    if (!strcmp(kind, "cell")) {
        cell_model *m = NULL;
        int rc = cell_model_load(path, &m, e);
        if (!rc)
            cell_model_free(m);
        return rc;
    }
    if (!strcmp(kind, "curves")) {
        calib_curves *c = NULL;
        int rc = calib_curves_load(path, &c, e);
        if (!rc)
            calib_curves_free(c);
        return rc;
    }
    if (!strcmp(kind, "model")) {
        gpt2_model *m = NULL;
        int rc = gpt2_load(&m, path, e);
        if (!rc)
            gpt2_free(m);
        return rc;
    }
    if (!strcmp(kind, "npy")) {
        gc_npy a = {0};
        int rc = gc_npy_read(path, GC_NPY_F32, &a, e);
        if (!rc)
            gc_npy_free(&a);
        return rc;
    }
    if (!strcmp(kind, "bpe")) {
        tok_tokenizer *t = NULL;
        int rc = tok_gpt2_alloc(&t, path, e);
        if (!rc)
            tok_free(t);
        return rc;
    }
    fprintf(stderr, "unknown loader %s\n", kind);
    exit(2);
}

/* The distinct error messages, with counts. */
#define MAX_MSGS 64
static struct {
    char msg[GC_ERR_LEN];
    long n;
} msgs[MAX_MSGS];
static int n_msgs;

static void note(const char *m)
{
    for (int i = 0; i < n_msgs; i++)
        if (!strcmp(msgs[i].msg, m)) {
            msgs[i].n++;
            return;
        }
    if (n_msgs < MAX_MSGS) {
        snprintf(msgs[n_msgs].msg, sizeof msgs[n_msgs].msg, "%s", m);
        msgs[n_msgs++].n = 1;
    }
}

/* One load with allocation k failing; 0 if it ended as it must. *made gets the count of
 * allocations, *ok whether the load succeeded. */
static int one_run(const char *kind, const char *path, long k, int persistent, long *made,
                   int *ok)
{
    pthread_mutex_lock(&A.lock);
    memset(A.slot, 0, SLOTS * sizeof *A.slot);
    A.live = A.count = A.failed = 0;
    A.fail_at = k, A.persistent = persistent;
    pthread_mutex_unlock(&A.lock);
    gc_err e = {{0}};
    int rc = load(kind, path, &e);
    pthread_mutex_lock(&A.lock);
    long live = A.live, failed = A.failed;
    *made = A.count;
    A.fail_at = 0;
    pthread_mutex_unlock(&A.lock);
    *ok = rc == 0;
    int bad = 0;
    if (rc != 0 && rc != -1)
        bad = printf("FAIL k=%ld: returned %d, not 0 or -1\n", k, rc) > 0;
    if (rc && (!e.msg[0] || strchr(e.msg, '\n')))
        bad = printf("FAIL k=%ld: the error is not one line: '%s'\n", k, e.msg) > 0;
    if (rc && !failed)
        bad = printf("FAIL k=%ld: failed with no allocation failing: %s\n", k, e.msg) > 0;
    if (live)
        bad = printf("FAIL k=%ld: %ld allocation(s) leaked (%s)\n", k, live,
                     rc ? e.msg : "after a successful load and free") > 0;
    if (rc)
        note(e.msg);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s cell|curves|model|npy|bpe PATH [--persistent]\n", argv[0]);
        return 2;
    }
    const char *kind = argv[1], *path = argv[2];
    int persistent = argc > 3 && !strcmp(argv[3], "--persistent");
    A.slot = __real_calloc(SLOTS, sizeof *A.slot);
    A.pid = getpid();
    if (!A.slot)
        return 2;
    cJSON_InitHooks(&(cJSON_Hooks){.malloc_fn = __wrap_malloc, .free_fn = __wrap_free});
    long made = 0, runs = 0, absorbed = 0, problems = 0;
    int ok = 0;
    if (one_run(kind, path, 0, 0, &made, &ok) || !ok) {
        printf("FAIL: %s does not load with no failure injected\n", path);
        return 1;
    }
    long total = made;
    for (long k = 1;; k++) {
        problems += one_run(kind, path, k, persistent, &made, &ok);
        runs++;
        if (made < k) /* no allocation failed: the load is done */
            break;
        absorbed += ok;
        if (problems > 20) {
            printf("FAIL: stopping after 20 problems\n");
            break;
        }
    }
    printf("%s %s%s: %ld allocations; %ld runs, each with one allocation failing%s: %ld errors "
           "(%d distinct), %ld absorbed, %ld problems\n", kind, path,
           persistent ? " (persistent)" : "", total, runs - 1,
           persistent ? " and all after it" : "", runs - 1 - absorbed, n_msgs, absorbed,
           problems);
    for (int i = 0; i < n_msgs; i++)
        printf("  %5ld x %s\n", msgs[i].n, msgs[i].msg);
    free(A.slot);
    return problems ? 1 : 0;
}
