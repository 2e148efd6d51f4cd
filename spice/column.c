/* One column of the array, for validating the behavioural model end to end: n gain cells,
 * each with its own read word-line pair, on ONE bit line into the integrator, then the
 * charge-to-pulse conversion window. The cells' bit line reaches the integrator through a
 * 0-V source, so the charge the cells deliver is measured directly, whatever the integrator
 * does with it. Timing matches the read and c2p sweeps (sweep_read.c, sweep_convert.c), so
 * the column is compared with curves measured the same way. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sweep.h"

#define T_READ 0.2e-9   /* read pulses start (the read sweep's PULSE_START_S) */
#define T_GAP 0.5e-9    /* end of integration to conversion window (sweep_convert.c) */
#define CLIP_MARGIN_V 0.02 /* integrator output this close to a rail counts as clipped */

const char *const spice_column_vectors[SPICE_COLUMN_NVEC] = {"time", "vsense#branch", "out",
                                                            "vo", "bl"};

double spice_column_window_s(const spice_tech *t)
{
    return T_READ + spice_tech_get(t, "t_max") + spice_tech_get(t, "t_edge") + T_GAP;
}

/* The word-line pair of row d: a pulse of width frac·t_max between the 50 % points of its
 * edges, or idle at mid-rail (no read current) for a zero-width pulse. */
static void row_drivers(sweep_text *b, int d, double frac, double tmax, double te)
{
    double w = frac * tmax;
    if (w <= 0) {
        sweep_printf(b, "Vrwl%d rwl%d 0 {vdd/2}\nVrwlb%d rwlb%d 0 {vdd/2}\n", d, d, d, d);
        return;
    }
    for (int k = 0; k < 2; k++)
        sweep_printf(b, "Vrwl%s%d rwl%s%d 0 pwl(0 {vdd/2} %.6e {vdd/2} %.6e {%s} %.6e {%s} "
                        "%.6e {vdd/2})\n",
                     k ? "b" : "", d, k ? "b" : "", d, T_READ - te / 2, T_READ + te / 2,
                     k ? "vdd-v_in" : "v_in", T_READ + w - te / 2, k ? "vdd-v_in" : "v_in",
                     T_READ + w + te / 2);
}

char *spice_column_netlist(const spice_tech *t, const char *title, int n,
                           const double *v_store_v, const double *pulse_frac, gc_err *e)
{
    if (n < 1) {
        gc_fail(e, "%s: a column needs at least one cell", title);
        return NULL;
    }
    double tmax = spice_tech_get(t, "t_max"), te = spice_tech_get(t, "t_edge");
    double tw = spice_column_window_s(t);
    sweep_text b = {0};
    /* supply, idle write path (as in the read sweep), conversion window (as in c2p) */
    sweep_printf(&b, "Vdd vdd 0 {vdd}\nVwbl wbl 0 {vdd/2}\nVwwl wwl 0 {v_wwl_off}\n"
                     "Vwwlb wwlb 0 {vdd-v_wwl_off}\n"
                     "Vconv conv 0 pwl(0 0 %.6e 0 %.6e {vdd} %.6e {vdd} %.6e 0)\n",
                 tw - te / 2, tw + te / 2, tw + tmax - te / 2, tw + tmax + te / 2);
    for (int d = 0; d < n; d++) {
        double f = pulse_frac[d] < 0 ? 0 : pulse_frac[d] > 1 ? 1 : pulse_frac[d];
        row_drivers(&b, d, f, tmax, te);
        sweep_printf(&b, "X%d sn%d wbl wwl wwlb rwl%d rwlb%d blc vdd gcell\n.ic v(sn%d)=%.10g\n",
                     d, d, d, d, d, v_store_v[d]);
    }
    /* the converter sinks its ramp current from the integrator side, past the sense source */
    sweep_printf(&b, "Vsense blc bl 0\nXi bl vo vdd integ\nXc bl vo out conv vdd c2p\n");
    sweep_printf(&b, ".tran %.4e %.6e 0 %.4e\n", fmin(te / 5, 10e-12),
                 tw + tmax + te + 0.5e-9, 50e-12);
    const char *templates[] = {"cell", "integrator.sub", "c2p.sub"};
    char *net = spice_netlist_build(t, title, templates, 3, SWEEP_OPTIONS, b.s, e);
    free(b.s);
    return net;
}

/* Largest |v - v0| over [t0, t1]; sample points only (the step limit keeps them dense). */
static double max_dev(const double *t, const double *v, size_t n, double t0, double t1,
                      double v0)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i] >= t0 && t[i] <= t1)
            m = fmax(m, fabs(v[i] - v0));
    return m;
}

int spice_column_measure(const spice_tech *t, const spice_result *r, spice_column_meas *out,
                         gc_err *e)
{
    size_t n = r->len[0];
    for (int k = 1; k < SPICE_COLUMN_NVEC; k++)
        if (r->len[k] != n)
            return gc_fail(e, "column: vector %s has %zu points, time has %zu",
                           spice_column_vectors[k], r->len[k], n);
    if (n < 2)
        return gc_fail(e, "column: the transient returned %zu time points", n);
    const double *time = r->vec[0], *isense = r->vec[1], *vout = r->vec[2], *vo = r->vec[3];
    const double *bl = r->vec[4];
    double vdd = spice_tech_get(t, "vdd");
    double tw = spice_column_window_s(t), c_int = spice_tech_get(t, "c_int");
    /* charge: only the integration phase; in the window the converter moves the bit line */
    out->charge_c = sweep_trapz_window(time, isense, n, 0, tw);
    out->pulse_s = sweep_trapz(time, vout, n) / vdd;
    double vo_w = sweep_interp(time, vo, n, tw), bl_w = sweep_interp(time, bl, n, tw);
    out->vo_window_v = vo_w;
    /* what the feedback capacitor holds at the window, relative to the operating point */
    out->integrator_charge_c = c_int * ((bl_w - vo_w) - (bl[0] - vo[0]));
    out->bl_dev_max_v = max_dev(time, bl, n, 0, tw, bl[0]);
    out->clipped = 0;
    for (size_t i = 0; i < n && time[i] <= tw; i++)
        if (vo[i] < CLIP_MARGIN_V || vo[i] > vdd - CLIP_MARGIN_V)
            out->clipped = 1;
    return 0;
}
