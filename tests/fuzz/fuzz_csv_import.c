/* fuzz_csv_import: CSV import (calib_import) on arbitrary bytes. The input is the read I-V
 * table (vstore_V,vin_V,current_A), optionally a line "--8<--" and the leakage table
 * (v0_V,time_s,vstore_V), with gcsim import's defaults (t_max 15 ns, 16 levels, 10 fF).
 * An import that succeeds writes a curves.h5 that calib_curves_load reads back with the
 * properties of fuzz_curves.h. */
#include <stdint.h>
#include <stdio.h>

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
    const uint8_t *part[2];
    size_t len[2];
    int n = fuzz_split(data, size, 2, part, len);
    char iv[4096], leak[4096], out[4096];
    fuzz_write("read_iv.csv", part[0], len[0], iv, sizeof iv);
    if (n > 1)
        fuzz_write("leak.csv", part[1], len[1], leak, sizeof leak);
    snprintf(out, sizeof out, "%s/curves.h5", fuzz_dir());
    calib_import_opts o = {.read_iv_csv = iv, .leak_csv = n > 1 ? leak : NULL,
                           .t_max_s = 15e-9, .levels = 16, .c_node_f = 10e-15,
                           .technology = "fuzz", .command_line = "fuzz_csv_import"};
    gc_err e = {{0}};
    int rc = calib_import(&o, out, &e);
    fuzz_note("csv_import", rc, e.msg);
    if (rc == 0) {
        calib_curves *c = NULL;
        FUZZ_CHECK(!calib_curves_load(out, &c, &e), "an import gcsim wrote does not load: %s",
                   e.msg);
        FUZZ_CHECK(c->imported, "an import is not marked source = import");
        fuzz_check_curves(c);
        calib_curves_free(c);
    } else {
        FUZZ_CHECK(e.msg[0], "calib_import failed without a message");
    }
    fuzz_remove("read_iv.csv");
    fuzz_remove("leak.csv");
    fuzz_remove("curves.h5");
    return 0;
}
