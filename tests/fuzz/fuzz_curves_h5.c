/* fuzz_curves_h5: curves.h5 files (calib_curves_load, through common's HDF5 containment) on
 * arbitrary bytes. A file that loads has the properties of fuzz_curves.h. libhdf5 itself is
 * not instrumented: the harness steers by gcsim's own code, and AddressSanitizer sees
 * libhdf5's heap use only through the intercepted malloc and free. */
#include <stdint.h>

#include "calibrate.h"
#include "fuzz_curves.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    gc_h5_quiet();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4096];
    fuzz_write("curves.h5", data, size, path, sizeof path);
    calib_curves *c = NULL;
    gc_err e = {{0}};
    int rc = calib_curves_load(path, &c, &e);
    fuzz_note_h5("curves_h5", path, rc, e.msg);
    if (rc == 0) {
        fuzz_check_curves(c);
        calib_curves_free(c);
    } else {
        FUZZ_CHECK(e.msg[0] && !c, "calib_curves_load failed without a message");
    }
    fuzz_remove("curves.h5");
    return 0;
}
