/* common: the few helpers every gcsim module shares.
 * Error messages, atomic file replacement, SHA-256, HDF5 dataset helpers with units and
 * dimension scales, NumPy .npy files, and a progress line. Nothing here knows about circuits
 * or language models. */
#ifndef GCSIM_COMMON_H
#define GCSIM_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <hdf5.h>

/* ---------------------------------------------------------------------------------------- */
/* Errors: a library function returns 0 on success or -1 on failure, with a one-line message
 * (naming the file and the problem) left in a caller-provided gc_err. */

#define GC_ERR_LEN 1024
typedef struct {
    char msg[GC_ERR_LEN];
} gc_err;

/* Formats the message into e (if e is not NULL) and returns -1. Control characters and bytes
 * that are not UTF-8 (from quoted file content) become '?', so a message is one line. */
int gc_fail(gc_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes an existing message: "prefix: old message". Returns -1. */
int gc_wrap(gc_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------------------------------- */
/* Interruption (SIGINT, SIGTERM). The handler only records the signal: long loops poll
 * gc_interrupted(), stop and reap their worker processes, remove their temporary files and
 * fail with gc_fail_interrupted; gc_commit_file refuses to replace a result once a signal
 * came. Libraries never exit: the command line maps an interruption to exit status 128 +
 * the signal (130 for SIGINT, 143 for SIGTERM). */

/* Installs the handler for SIGINT and SIGTERM (a second signal of a kind kills at once). */
int gc_interrupt_catch(gc_err *e);

/* Restores the default actions, e.g. in a forked worker process. */
void gc_interrupt_default(void);

/* The signal caught (SIGINT, SIGTERM) or 0. */
int gc_interrupted(void);

/* "interrupted by SIGINT" into e; returns -1. */
int gc_fail_interrupted(gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* Atomic replacement: write to a temporary file in the same folder, then rename over the
 * target, so an existing result survives any failure. */

/* Fills tmp (size n) with a unique temporary name beside path. */
int gc_tmp_path_beside(const char *path, char *tmp, size_t n, gc_err *e);

/* Renames tmp over path after fsync (a failed fsync, e.g. EIO, is an error). On failure, or
 * after an interruption (gc_interrupted), removes tmp and leaves path as it was. */
int gc_commit_file(const char *tmp, const char *path, gc_err *e);

/* Writes len bytes to path atomically. */
int gc_write_file_atomic(const char *path, const void *data, size_t len, gc_err *e);

/* Largest input file gcsim reads, in bytes. */
#define GC_INPUT_MAX_BYTES ((size_t)1 << 34)

/* Checks that path is a regular file of at most GC_INPUT_MAX_BYTES that can be opened:
 * directories, devices (/dev/zero), pipes and sockets are refused with one line naming the
 * path. The size goes to *size if size is not NULL. */
int gc_check_input_file(const char *path, size_t *size, gc_err *e);

/* fopen(path, "rb") after gc_check_input_file; NULL with the message in e. */
FILE *gc_open_input(const char *path, gc_err *e);

/* Reads a whole regular file (gc_check_input_file) into a NUL-terminated malloc'd buffer;
 * *len gets its size. */
int gc_read_file(const char *path, char **data, size_t *len, gc_err *e);

/* 1 if the two paths name the same existing file (same device and inode), else 0. */
int gc_same_file(const char *a, const char *b);

/* Refuses an output that would replace one of the inputs (n paths, NULL entries skipped):
 * "OPTION OUT is also the input IN". */
int gc_check_output(const char *what, const char *out, const char *const *inputs, int n,
                    gc_err *e);

/* Checks, before long work whose result would be lost, that path (a file or a folder to be
 * written, existing or not) can be written: its nearest existing folder (path itself if it
 * is one) must allow creating files. "PATH: cannot write in DIR: REASON" otherwise (a
 * read-only file system, no permission). */
int gc_check_writable(const char *path, gc_err *e);

/* Creates a directory and its parents (like mkdir -p). */
int gc_mkdir_p(const char *path, gc_err *e);

/* path (an existing file) relative to the existing folder dir, e.g. "../cells/si.h5", so that
 * a file that names another keeps working when both move together. */
int gc_path_relative_to(const char *dir, const char *path, char *out, size_t n, gc_err *e);

/* path as seen from the folder dir: itself when absolute, else dir/path. */
int gc_path_resolve(const char *dir, const char *path, char *out, size_t n, gc_err *e);

/* Writes a cJSON tree to path as indented JSON plus a final newline, atomically. */
struct cJSON;
int gc_json_write(const char *path, const struct cJSON *root, gc_err *e);

/* Parses len bytes of JSON from path (named in messages) strictly: only white space may
 * follow the value, and no object may hold a key twice (JSON readers disagree on which one
 * wins). Returns the tree (cJSON_Delete it) or NULL with the message in e. */
struct cJSON *gc_json_parse(const char *text, size_t len, const char *path, gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* SHA-256 as 64 lowercase hex characters plus NUL. */

void gc_sha256_hex(const void *data, size_t len, char hex[65]);
int gc_sha256_file(const char *path, char hex[65], gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* HDF5 helpers. All datasets are float64 unless stated. Units go in the attribute "units",
 * a human description in "description". Axes are attached as dimension scales. */

/* Silences HDF5's own error stack printing for the whole process (we report our own). */
void gc_h5_quiet(void);

/* Creates (or opens) group path under loc. Returns a handle or H5I_INVALID_HID. */
hid_t gc_h5_group(hid_t loc, const char *path, gc_err *e);

/* Writes an n-d float64 dataset. dims has rank entries. */
int gc_h5_write(hid_t loc, const char *name, int rank, const size_t *dims, const double *data,
                const char *units, const char *description, gc_err *e);

/* Writes a 1-d float64 axis and makes it a dimension scale named name. */
int gc_h5_write_axis(hid_t loc, const char *name, size_t n, const double *data,
                     const char *units, const char *description, gc_err *e);

/* Attaches axis datasets (by name, relative to loc) to the dimensions of dataset dset. */
int gc_h5_attach(hid_t loc, const char *dset, int rank, const char *const *axes, gc_err *e);

/* String and numeric attributes on an object (group or dataset) at loc/obj ("." = loc). */
int gc_h5_attr_str(hid_t loc, const char *obj, const char *name, const char *value, gc_err *e);
int gc_h5_attr_double(hid_t loc, const char *obj, const char *name, double value, gc_err *e);

/* Reads a float64 dataset into a malloc'd buffer; rank and dims (up to 8) are returned. */
int gc_h5_read(hid_t loc, const char *name, double **data, int *rank, size_t dims[8],
               const char *file, gc_err *e);

/* Reads dataset name as exactly n values (rank ignored), each finite and in [lo, hi] (unit
 * names them in the message); on failure *data is NULL and e names the file, the dataset
 * and the first bad value. */
int gc_h5_read_values(hid_t loc, const char *name, size_t n, double lo, double hi,
                      const char *unit, double **data, const char *file, gc_err *e);

/* A dataset's "units" attribute, when it has one, must read unit; a dataset without one is
 * taken to be in unit. */
int gc_h5_check_units(hid_t loc, const char *name, const char *unit, const char *file,
                      gc_err *e);

/* Reads a string / numeric attribute. out gets a malloc'd string. */
int gc_h5_read_attr_str(hid_t loc, const char *obj, const char *name, char **out,
                        const char *file, gc_err *e);
int gc_h5_read_attr_double(hid_t loc, const char *obj, const char *name, double *out,
                           const char *file, gc_err *e);

/* Opens an existing HDF5 file read-only with a clear error for missing, truncated, damaged
 * or non-HDF5 files. The file is parsed in a child process, which copies its groups, numeric
 * datasets and numeric or string attributes into an in-memory file handed back here: a
 * malformed file that crashes or hangs libhdf5 is one error line, never a crash of gcsim.
 * Soft and external links, references and non-scalar strings are not carried over. */
hid_t gc_h5_open_read(const char *path, gc_err *e);

/* Largest dataset gc_h5_read and gc_h5_open_read accept, in numbers. */
#define GC_H5_MAX_VALUES (1ul << 26)

/* A new HDF5 file built in memory for path (nothing touches the disk until gc_h5_save).
 * Returns a handle or H5I_INVALID_HID. */
hid_t gc_h5_create(const char *path, gc_err *e);

/* Closes f and, if keep, writes its image to path (created or truncated) with checked writes:
 * a full disk is an error naming path, never a crash inside libhdf5. Write to a temporary
 * file (gc_tmp_path_beside) and commit it to replace a result atomically. */
int gc_h5_save(hid_t f, const char *path, int keep, gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* PNG plots through gnuplot. */

typedef struct {
    const double *x, *y;
    size_t n;
    const char *label;
} gc_series;

typedef struct {
    const char *title, *xlabel, *ylabel;
    int logx, logy;
    int points;     /* scatter instead of lines */
    int histogram;  /* boxes (x = bin centre, y = count) */
} gc_plot_style;

/* Draws the series into png (replaced atomically). */
int gc_plot(const char *png, const gc_plot_style *s, const gc_series *series, int n, gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* Progress on stderr (done/total, rate, time left), only when stderr is a terminal. */

typedef struct {
    const char *what;
    long total;
    double t0;
    double last;
    int tty;
} gc_progress;

void gc_progress_start(gc_progress *p, const char *what, long total);
void gc_progress_update(gc_progress *p, long done);
void gc_progress_end(gc_progress *p);

/* Monotonic wall time in seconds. */
double gc_now(void);

/* ---------------------------------------------------------------------------------------- */
/* NumPy .npy files (format versions 1, 2 and 3), C order, little-endian. The reader rejects
 * a wrong dtype, Fortran order, a malformed header and truncated or oversized data with one
 * line naming the file and the problem. Writes are atomic. */

typedef enum { GC_NPY_F32, GC_NPY_F64, GC_NPY_U32, GC_NPY_U8 } gc_npy_dtype;

#define GC_NPY_MAX_DIMS 8
typedef struct {
    gc_npy_dtype dtype;
    int ndim;
    size_t shape[GC_NPY_MAX_DIMS];
    void *data;            /* malloc'd, count × item size bytes, C order */
} gc_npy;

/* "<f4", "<f8", "<u4", "|u1" and the item size in bytes. */
const char *gc_npy_descr(gc_npy_dtype t);
size_t gc_npy_item_size(gc_npy_dtype t);

/* Reads path, which must hold dtype want. */
int gc_npy_read(const char *path, gc_npy_dtype want, gc_npy *out, gc_err *e);

/* Checks out's shape: ndim dimensions, and shape[i] unless shape[i] is 0 (any). */
int gc_npy_check_shape(const gc_npy *a, const char *path, int ndim, const size_t *shape,
                       gc_err *e);

/* Number of elements. */
size_t gc_npy_count(const gc_npy *a);

/* Refuses a NaN or infinite element (float arrays), naming the file and the element. */
int gc_npy_check_finite(const gc_npy *a, const char *path, gc_err *e);

void gc_npy_free(gc_npy *a);

/* Writes data (ndim dims, C order) to path atomically as format version 1 (2 when the
 * header needs more than 65535 bytes). */
int gc_npy_write(const char *path, gc_npy_dtype dtype, int ndim, const size_t *shape,
                 const void *data, gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* Numbers from text (options, parameter files): the whole string must be the number. On
 * failure the message is "WHAT: 'TEXT' is not ..." with the allowed range. */

/* A decimal integer in [lo, hi]. */
int gc_parse_long(const char *text, const char *what, long lo, long hi, long *out, gc_err *e);

/* A finite number in [lo, hi] (lo_open / hi_open: the bound itself is excluded). */
int gc_parse_double(const char *text, const char *what, double lo, double hi, int lo_open,
                    int hi_open, double *out, gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* Random numbers: splitmix64, small and well mixed; a stream depends only on its seed, on
 * every machine. */

typedef struct {
    uint64_t state;
} gc_rng;

void gc_rng_seed(gc_rng *r, uint64_t seed);
uint64_t gc_rng_next(gc_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double gc_rng_uniform(gc_rng *r);
/* Uniform integer in [0, n), n >= 1. */
int gc_rng_int(gc_rng *r, int n);

#endif
