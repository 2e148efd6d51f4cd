/* An array of gain cells for validating the behavioural model end to end: rows × columns
 * cells; each row has one read word-line pair, driven through the driver's output
 * resistance and a wire (an RC segment per cell pitch) across all columns; each column has
 * one bit line (a resistor per cell pitch) into its own integrator, then the
 * charge-to-pulse conversion window. A bit line reaches its integrator through a 0-V
 * source, so the charge the cells deliver is measured directly, whatever the integrator does
 * with it. A one-column array is the column of the validation. Timing matches the read and
 * c2p sweeps (sweep_read.c, sweep_convert.c), so the array is compared with curves measured
 * the same way. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"

#define T_READ 0.2e-9   /* read pulses start (the read sweep's PULSE_START_S) */
#define T_GAP 0.5e-9    /* end of integration to conversion window (sweep_convert.c) */
#define CLIP_MARGIN_V 0.02 /* integrator output this close to a rail counts as clipped */

double spice_array_window_s(const spice_tech *t)
{
    return T_READ + spice_tech_get(t, "t_max") + spice_tech_get(t, "t_edge") + T_GAP;
}

const char **spice_array_vectors(int n_rows, int n_cols)
{
    const char **v = calloc(1 + SPICE_ARRAY_NVEC_COL * (size_t)n_cols, sizeof *v);
    if (!v)
        return NULL;
    v[0] = "time";
    int ok = 1;
    for (int c = 0; c < n_cols; c++)
        for (int k = 0; k < SPICE_ARRAY_NVEC_COL; k++) {
            char buf[48];
            if (k == 0)
                snprintf(buf, sizeof buf, "vsense%d#branch", c);
            else if (k == 1)
                snprintf(buf, sizeof buf, "out%d", c);
            else if (k == 2)
                snprintf(buf, sizeof buf, "vo%d", c);
            else if (k == 3)
                snprintf(buf, sizeof buf, "bli%d", c); /* the integrator's input */
            else
                snprintf(buf, sizeof buf, "bl%d_%d", n_rows - 1, c); /* the far end */
            char *s = strdup(buf);
            ok &= s != NULL;
            v[1 + SPICE_ARRAY_NVEC_COL * c + k] = s;
        }
    if (!ok) {
        spice_array_vectors_free(v, n_cols);
        return NULL;
    }
    return v;
}

void spice_array_vectors_free(const char **v, int n_cols)
{
    if (!v)
        return;
    for (int i = 1; i < 1 + SPICE_ARRAY_NVEC_COL * n_cols; i++)
        free((char *)v[i]);
    free(v);
}

/* The source of row d's word-line pair: a pulse of width frac·t_max between the 50 % points
 * of its edges, or idle at mid-rail (no read current) for a zero-width pulse. */
static void row_sources(sweep_text *b, int d, double frac, double tmax, double te)
{
    double w = frac * tmax;
    if (w <= 0) {
        sweep_printf(b, "Vrwl%d rwl%d_d 0 {vdd/2}\nVrwlb%d rwlb%d_d 0 {vdd/2}\n", d, d, d, d);
        return;
    }
    for (int k = 0; k < 2; k++)
        sweep_printf(b, "Vrwl%s%d rwl%s%d_d 0 pwl(0 {vdd/2} %.6e {vdd/2} %.6e {%s} %.6e {%s} "
                        "%.6e {vdd/2})\n",
                     k ? "b" : "", d, k ? "b" : "", d, T_READ - te / 2, T_READ + te / 2,
                     k ? "vdd-v_in" : "v_in", T_READ + w - te / 2, k ? "vdd-v_in" : "v_in",
                     T_READ + w + te / 2);
}

/* Row d's word lines: the driver's output resistance, then one RC segment per column
 * pitch; the cell of column c hangs on node rwl<d>_<c>. */
static void row_wires(sweep_text *b, int d, int n_cols)
{
    for (int k = 0; k < 2; k++) {
        const char *s = k ? "b" : "";
        sweep_printf(b, "Rdrv%s%d rwl%s%d_d rwl%s%d_s {r_wl_drv}\n", s, d, s, d, s, d);
        for (int c = 0; c < n_cols; c++) {
            char from[32];
            if (c == 0)
                snprintf(from, sizeof from, "rwl%s%d_s", s, d);
            else
                snprintf(from, sizeof from, "rwl%s%d_%d", s, d, c - 1);
            sweep_printf(b, "Rwl%s%d_%d %s rwl%s%d_%d {r_wl_seg}\nCwl%s%d_%d rwl%s%d_%d 0 {c_wl_seg}\n",
                         s, d, c, from, s, d, c, s, d, c, s, d, c);
        }
    }
}

char *spice_array_netlist(const spice_tech *t, const char *title, int n_rows, int n_cols,
                          const double *v_store_v, const double *pulse_frac, gc_err *e)
{
    if (n_rows < 1 || n_cols < 1) {
        gc_fail(e, "%s: an array needs at least one row and one column", title);
        return NULL;
    }
    double tmax = spice_tech_get(t, "t_max"), te = spice_tech_get(t, "t_edge");
    double tw = spice_array_window_s(t);
    sweep_text b = {0};
    /* supply, idle write path (as in the read sweep), conversion window (as in c2p) */
    sweep_printf(&b, "Vdd vdd 0 {vdd}\nVwbl wbl 0 {vdd/2}\nVwwl wwl 0 {v_wwl_off}\n"
                     "Vwwlb wwlb 0 {vdd-v_wwl_off}\n"
                     "Vconv conv 0 pwl(0 0 %.6e 0 %.6e {vdd} %.6e {vdd} %.6e 0)\n",
                 tw - te / 2, tw + te / 2, tw + tmax - te / 2, tw + tmax + te / 2);
    for (int d = 0; d < n_rows; d++) {
        double f = pulse_frac[d] < 0 ? 0 : pulse_frac[d] > 1 ? 1 : pulse_frac[d];
        row_sources(&b, d, f, tmax, te);
        row_wires(&b, d, n_cols);
    }
    for (int c = 0; c < n_cols; c++) {
        for (int d = 0; d < n_rows; d++) {
            sweep_printf(&b, "X%d_%d sn%d_%d wbl wwl wwlb rwl%d_%d rwlb%d_%d bl%d_%d vdd gcell\n"
                             ".ic v(sn%d_%d)=%.10g\n",
                         d, c, d, c, d, c, d, c, d, c, d, c, v_store_v[(size_t)d * n_cols + c]);
            /* the bit line, one segment per cell pitch toward the integrator (row 0) */
            if (d == 0)
                sweep_printf(&b, "Rbl0_%d bl0_%d blc%d {r_bl_seg}\n", c, c, c);
            else
                sweep_printf(&b, "Rbl%d_%d bl%d_%d bl%d_%d {r_bl_seg}\n", d, c, d, c, d - 1, c);
        }
        /* the converter sinks its ramp current from the integrator side, past the sense
         * source */
        sweep_printf(&b, "Vsense%d blc%d bli%d 0\nXi%d bli%d vo%d vdd integ\n"
                         "Xc%d bli%d vo%d out%d conv vdd c2p\n",
                     c, c, c, c, c, c, c, c, c, c);
    }
    sweep_printf(&b, ".tran %.4e %.6e 0 %.4e\n", fmin(te / 5, 10e-12),
                 tw + tmax + te + 0.5e-9, 50e-12);
    const char *templates[] = {"cell", "integrator.sub", "c2p.sub"};
    char *net = sweep_text_check(&b, title, e)
                    ? NULL
                    : spice_netlist_build(t, title, templates, 3, SWEEP_OPTIONS, b.s, e);
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

int spice_array_measure(const spice_tech *t, const spice_result *r, int col,
                        spice_array_meas *out, gc_err *e)
{
    size_t n = r->len[0];
    const double *v[SPICE_ARRAY_NVEC_COL];
    for (int k = 0; k < SPICE_ARRAY_NVEC_COL; k++) {
        int i = 1 + SPICE_ARRAY_NVEC_COL * col + k;
        if (r->len[i] != n)
            return gc_fail(e, "array: column %d: a vector has %zu points, time has %zu", col,
                           r->len[i], n);
        v[k] = r->vec[i];
    }
    if (n < 2)
        return gc_fail(e, "array: the transient returned %zu time points", n);
    const double *time = r->vec[0], *isense = v[0], *vout = v[1], *vo = v[2], *bl = v[3];
    const double *far = v[4];
    double vdd = spice_tech_get(t, "vdd");
    double tw = spice_array_window_s(t), c_int = spice_tech_get(t, "c_int");
    /* charge: only the integration phase; in the window the converter moves the bit line */
    out->charge_c = sweep_trapz_window(time, isense, n, 0, tw);
    out->pulse_s = sweep_trapz(time, vout, n) / vdd;
    double vo_w = sweep_interp(time, vo, n, tw), bl_w = sweep_interp(time, bl, n, tw);
    out->vo_window_v = vo_w;
    /* what the feedback capacitor holds at the window, relative to the operating point */
    out->integrator_charge_c = c_int * ((bl_w - vo_w) - (bl[0] - vo[0]));
    out->bl_dev_max_v = max_dev(time, far, n, 0, tw, far[0]);
    out->clipped = 0;
    for (size_t i = 0; i < n && time[i] <= tw; i++)
        if (vo[i] < CLIP_MARGIN_V || vo[i] > vdd - CLIP_MARGIN_V)
            out->clipped = 1;
    return 0;
}
