/* fuzz_sweep_plan: sweep plans (spice_plan_load) on arbitrary bytes. A plan that loads keeps
 * every setting within the range spice/plan.c documents (restated here), integers where it
 * asks for integers. */
#include <math.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "spice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void in_range(const char *key, double v, double lo, double hi)
{
    FUZZ_CHECK(isfinite(v) && v >= lo && v <= hi, "%s = %g outside [%g, %g]", key, v, lo, hi);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4096];
    fuzz_write("sweep.plan", data, size, path, sizeof path);
    spice_plan p;
    spice_plan_default(&p);
    gc_err e = {{0}};
    int rc = spice_plan_load(path, &p, &e);
    fuzz_note("sweep_plan", rc, e.msg);
    if (rc == 0) {
        in_range("read_dc_nv", p.read_dc_nv, 2, 1000);
        in_range("read_dc_nvin", p.read_dc_nvin, 2, 1000);
        in_range("read_nv", p.read_nv, 2, 256);
        in_range("read_levels", p.read_levels, 2, 256);
        in_range("leak_dc_n", p.leak_dc_n, 3, 10000);
        in_range("leak_n0", p.leak_n0, 2, 64);
        in_range("leak_tau_mult", p.leak_tau_mult, 1, 100);
        in_range("leak_points", p.leak_points, 2, 100000);
        in_range("write_levels", p.write_levels, 2, 64);
        in_range("c2p_n", p.c2p_n, 2, 256);
        in_range("readout_n", p.readout_n, 2, 256);
        in_range("jobs_per_sweep", p.jobs_per_sweep, 1, 64);
    } else {
        FUZZ_CHECK(e.msg[0], "spice_plan_load failed without a message");
    }
    fuzz_remove("sweep.plan");
    return 0;
}
