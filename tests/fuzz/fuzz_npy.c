/* fuzz_npy: NumPy .npy files (gc_npy_read) on arbitrary bytes, read as each of the four
 * dtypes gcsim accepts. A file that loads has a shape within GC_NPY_MAX_DIMS whose product
 * (without overflow) is the number of elements, all of which can be read, and passes gc_npy_check_shape of its
 * own shape. */
#include <stdint.h>
#include <stdlib.h>

#include "common.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4096];
    fuzz_write("a.npy", data, size, path, sizeof path);
    static const gc_npy_dtype types[] = {GC_NPY_F32, GC_NPY_F64, GC_NPY_U32, GC_NPY_U8};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        gc_npy a = {0};
        gc_err e = {{0}};
        int rc = gc_npy_read(path, types[t], &a, &e);
        fuzz_note(gc_npy_descr(types[t]), rc, e.msg);
        if (rc) {
            FUZZ_CHECK(e.msg[0], "gc_npy_read failed without a message");
            continue;
        }
        FUZZ_CHECK(a.dtype == types[t], "dtype %d read as %d", (int)types[t], (int)a.dtype);
        FUZZ_CHECK(a.ndim >= 0 && a.ndim <= GC_NPY_MAX_DIMS, "ndim %d", a.ndim);
        size_t count = 1, bytes;
        int empty = 0;
        for (int i = 0; i < a.ndim; i++)
            empty |= a.shape[i] == 0;
        for (int i = 0; i < a.ndim && !empty; i++)
            FUZZ_CHECK(!__builtin_mul_overflow(count, a.shape[i], &count),
                       "the shape's product overflows size_t (dimension %d is %zu)", i,
                       a.shape[i]);
        if (empty)
            count = 0;
        FUZZ_CHECK(count == gc_npy_count(&a), "shape product %zu, gc_npy_count %zu", count,
                   gc_npy_count(&a));
        FUZZ_CHECK(!__builtin_mul_overflow(count, gc_npy_item_size(a.dtype), &bytes),
                   "%zu elements overflow size_t in bytes", count);
        FUZZ_CHECK(bytes <= size, "%zu data bytes from a %zu-byte file", bytes, size);
        FUZZ_CHECK(count == 0 || a.data, "no data for %zu elements", count);
        fuzz_touch(a.data, bytes);
        size_t any[GC_NPY_MAX_DIMS] = {0};
        FUZZ_CHECK(!gc_npy_check_shape(&a, path, a.ndim, any, &e),
                   "a loaded array fails its own shape check: %s", e.msg);
        gc_npy_free(&a);
    }
    fuzz_remove("a.npy");
    return 0;
}
