/* fuzz_cell_h5: cell.h5 files (cell_model_load, through common's HDF5 containment) on
 * arbitrary bytes. A model that loads evaluates, everywhere the harness probes it, to finite
 * values within the ranges cellmodel/load.c documents: stored voltages in [-vdd, 2 vdd], a
 * read charge within 1e-9 C, decay from a stored voltage staying in [-vdd, 2 vdd], the
 * charge-to-pulse output in [0, t_max] and the signed readout in [-1, 1]. */
#include <math.h>
#include <stdint.h>

#include "cellmodel.h"
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

#define IN(x, lo, hi) (isfinite(x) && (x) >= (lo) && (x) <= (hi))

static void check_cell(const cell_model *m)
{
    double vdd = cell_vdd_v(m), t_max = cell_t_max_s(m);
    FUZZ_CHECK(IN(vdd, 1e-300, 10), "vdd %g", vdd);
    FUZZ_CHECK(IN(t_max, 1e-300, 1), "t_max %g", t_max);
    FUZZ_CHECK(IN(cell_v_mid_v(m), 0, vdd), "v_mid %g", cell_v_mid_v(m));
    FUZZ_CHECK(IN(cell_t_write_s(m), 0, 1), "t_write %g", cell_t_write_s(m));
    int k = cell_k_levels(m), q = cell_q_levels(m);
    FUZZ_CHECK(k >= 2 && q >= 2, "%d k levels, %d q levels", k, q);
    for (int l = -1; l <= k; l++)
        FUZZ_CHECK(IN(cell_write_v(m, l), -vdd, 2 * vdd), "write_v(%d) = %g", l,
                   cell_write_v(m, l));
    const double *pf;
    int np = cell_pulse_axis(m, &pf);
    FUZZ_CHECK(np >= 2 && pf[0] == 0 && pf[np - 1] == 1, "pulse axis of %d points", np);
    static const double fr[] = {-1, 0, 0.3, 0.5, 1, 2};
    static const double vs[] = {-1e9, -1, 0, 0.2, 0.45, 0.9, 1.5, 1e9};
    for (size_t i = 0; i < sizeof fr / sizeof fr[0]; i++)
        for (size_t j = 0; j < sizeof vs / sizeof vs[0]; j++) {
            double c = cell_read_charge_c(m, fr[i], vs[j] * vdd / 0.9);
            FUZZ_CHECK(IN(c, -1e-9, 1e-9), "read_charge(%g, %g) = %g", fr[i], vs[j], c);
        }
    static const double ts[] = {0, 1e-12, 1e-9, 1e-6, 1e-3, 1, 1e3, 1e9, 1e12};
    for (int l = 0; l < k; l++)
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
            double v = cell_decay_v(m, cell_write_v(m, l), ts[i]);
            FUZZ_CHECK(IN(v, -vdd, 2 * vdd), "decay_v(level %d, %g s) = %g", l, ts[i], v);
        }
    double sat = cell_s_sat_c(m), ro_sat = cell_readout_sat_c(m);
    FUZZ_CHECK(IN(sat, -1e-6, 1e-6) && IN(ro_sat, -1e-6, 1e-6), "s_sat %g, readout_sat %g",
               sat, ro_sat);
    static const double qs[] = {-1, -1e-6, -1e-12, 0, 1e-15, 1e-12, 1e-9, 1e-6, 1};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double p = cell_c2p_s(m, qs[i]), r = cell_readout(m, qs[i]);
        FUZZ_CHECK(IN(p, 0, t_max), "c2p(%g) = %g s (t_max %g s)", qs[i], p, t_max);
        FUZZ_CHECK(IN(r, -1, 1), "readout(%g) = %g", qs[i], r);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4096];
    fuzz_write("cell.h5", data, size, path, sizeof path);
    cell_model *m = NULL;
    gc_err e = {{0}};
    int rc = cell_model_load(path, &m, &e);
    fuzz_note_h5("cell_h5", path, rc, e.msg);
    if (rc == 0) {
        check_cell(m);
        cell_model_free(m);
    } else {
        FUZZ_CHECK(e.msg[0] && !m, "cell_model_load failed without a message");
    }
    fuzz_remove("cell.h5");
    return 0;
}
