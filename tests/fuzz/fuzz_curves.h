/* fuzz_curves: the properties of a loaded curves.h5 (calib_curves_load), for fuzz_curves_h5.c
 * and fuzz_csv_import.c: every array present with its length, finite and within the ranges
 * calibrate/curves.c documents (vdd in (0, 10] V, voltages in [-vdd, 2 vdd], t_max in (0, 1] s,
 * t_write 0 or in (0, 1] s, leakage times in [0, 1e9] s, read charges within 1e-9 C,
 * converter charges within 1e-6 C, currents within 10 mA, pulses within 1 s, energies within
 * 1 J), axes strictly ascending; an imported file's missing sweeps filled in. */
#ifndef GCSIM_FUZZ_CURVES_H
#define GCSIM_FUZZ_CURVES_H

#include <math.h>

#include "calibrate.h"
#include "fuzz_util.h"

static void fuzz_curves_range(const char *name, const double *x, long n, double lo, double hi)
{
    FUZZ_CHECK(n >= 1 && x, "%s: %ld points, data %p", name, n, (const void *)x);
    fuzz_touch(x, (size_t)n * sizeof *x);
    for (long i = 0; i < n; i++)
        FUZZ_CHECK(isfinite(x[i]) && x[i] >= lo && x[i] <= hi,
                   "%s[%ld] = %g outside [%g, %g]", name, i, x[i], lo, hi);
}

static void fuzz_curves_ascending(const char *name, const double *x, int n, int min_n)
{
    FUZZ_CHECK(n >= min_n, "%s: %d points, needs %d", name, n, min_n);
    for (int i = 1; i < n; i++)
        FUZZ_CHECK(x[i] > x[i - 1], "%s is not strictly ascending at %d", name, i);
}

static void fuzz_check_curves(const calib_curves *c)
{
    double vdd = c->vdd_v, lo_v = -vdd, hi_v = 2 * vdd;
    FUZZ_CHECK(isfinite(vdd) && vdd > 0 && vdd <= 10, "vdd %g", vdd);
    FUZZ_CHECK(isfinite(c->t_max_s) && c->t_max_s > 0 && c->t_max_s <= 1, "t_max %g",
               c->t_max_s);
    FUZZ_CHECK(c->v_mid_v > 0 && c->v_mid_v < vdd, "v_mid %g (vdd %g)", c->v_mid_v, vdd);
    FUZZ_CHECK(c->v_in_v >= 0 && c->v_in_v <= 2 * vdd, "v_in %g", c->v_in_v);
    FUZZ_CHECK(c->t_write_s == 0 || (c->t_write_s > 0 && c->t_write_s <= 1), "t_write %g",
               c->t_write_s);

    fuzz_curves_ascending("read/pulse_width", c->pulse_s, c->n_p, 2);
    fuzz_curves_range("read/pulse_width", c->pulse_s, c->n_p, -1e-6 * c->t_max_s,
                      c->t_max_s * (1 + 1e-6));
    fuzz_curves_ascending("read/v_store", c->v_store, c->n_v, 4);
    fuzz_curves_range("read/v_store", c->v_store, c->n_v, lo_v, hi_v);
    fuzz_curves_range("read/charge", c->charge, (long)c->n_p * c->n_v, -1e-9, 1e-9);
    fuzz_curves_ascending("read/dc_v_store", c->dc_v, c->n_dc, 4);
    fuzz_curves_range("read/dc_v_store", c->dc_v, c->n_dc, lo_v, hi_v);
    fuzz_curves_ascending("read/v_in", c->vin, c->n_vin, 1);
    fuzz_curves_range("read/v_in", c->vin, c->n_vin, lo_v, hi_v);
    fuzz_curves_range("read/dc_current", c->dc_i, (long)c->n_dc * c->n_vin, -1e-2, 1e-2);

    fuzz_curves_ascending("leak/dc_v", c->leak_v, c->n_leak, 4);
    fuzz_curves_range("leak/dc_v", c->leak_v, c->n_leak, lo_v, hi_v);
    fuzz_curves_range("leak/i_leak", c->leak_i, c->n_leak, -1e-2, 1e-2);
    FUZZ_CHECK(c->c_node_assumed_f >= 0 && c->c_node_assumed_f <= 1e-9, "c_node_assumed %g",
               c->c_node_assumed_f);
    if (c->n_v0 > 0) {
        fuzz_curves_range("leak/v0", c->v0, c->n_v0, lo_v, hi_v);
        fuzz_curves_ascending("leak/time", c->t, c->n_t, 3);
        fuzz_curves_range("leak/time", c->t, c->n_t, 0, 1e9);
        fuzz_curves_range("leak/v_store", c->vt, (long)c->n_v0 * c->n_t, lo_v, hi_v);
    }

    FUZZ_CHECK(c->w_level && c->w_dac && c->w_stored, "no /write after loading");
    fuzz_curves_range("write/level", c->w_level, c->n_w, -INFINITY, INFINITY);
    fuzz_curves_range("write/v_dac", c->w_dac, c->n_w, lo_v, hi_v);
    fuzz_curves_ascending("write/v_stored", c->w_stored, c->n_w, 2);
    fuzz_curves_range("write/v_stored", c->w_stored, c->n_w, lo_v, hi_v);
    fuzz_curves_ascending("c2p/charge", c->c2p_q, c->n_c2p, 4);
    fuzz_curves_range("c2p/charge", c->c2p_q, c->n_c2p, -1e-6, 1e-6);
    fuzz_curves_range("c2p/pulse_width", c->c2p_p, c->n_c2p, -1, 1);
    fuzz_curves_ascending("readout/charge", c->ro_q, c->n_ro, 4);
    fuzz_curves_range("readout/charge", c->ro_q, c->n_ro, -1e-6, 1e-6);
    fuzz_curves_range("readout/pulse_signed", c->ro_p, c->n_ro, -1, 1);
    if (c->has_energy) {
        double e[4] = {c->e_read_j, c->e_write_j, c->e_c2p_j, c->e_readout_j};
        fuzz_curves_range("energy", e, 4, -1, 1);
    }
}

#endif
