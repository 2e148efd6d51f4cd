/* An array of gain cells for validating the behavioural model end to end: rows × columns
 * cells; each row has one read word-line pair, driven through the driver's output
 * resistance and a wire (an RC segment per cell pitch) across all columns; each column has
 * one bit line (a resistor per cell pitch) into its own integrator, then the
 * charge-to-pulse conversion window. A bit line reaches its integrator through a 0-V
 * source, so the charge the cells deliver is measured directly, whatever the integrator does
 * with it. A one-column array is the column of the validation. Timing matches the read and
 * c2p sweeps (sweep_read.c, sweep_convert.c), so the array is compared with curves measured
 * the same way.
 *
 * Two ways to simulate it (spice_array_mode). The reference runs the whole array through
 * read and conversion window with the characterization's settings. The fast mode splits the
 * time: the array runs the read only (up to the window, where its charge is measured);
 * then each column's integrator and converter run alone, driven by the bit-line current the
 * array delivered. In the window the word lines idle at mid-rail and the integrator holds
 * the bit line there, so the cells deliver no charge (the reference's window charge is below
 * 1e-18 C); the converters' events at 64 different times, which kept the whole array at
 * small steps through the window, then cost a small circuit. The read itself takes steps
 * of up to 500 ps (its currents are flat between the word-line edges, which are
 * breakpoints), saves only what is measured, and gives a row's wire 8 nodes instead of one
 * per column: with a node per pitch, the word-line and bit-line wires make a 2-D grid
 * whose sparse LU fills in, and at 64 x 64 the factorization dominated each iteration. On
 * 16 x 16 and 8 x 64 arrays the charges agree with the reference within 0.03 % of full
 * scale, the pulses within 0.03 % of t_max (bench/array_spice.py measures both). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"

#define T_READ 0.2e-9   /* read pulses start (the read sweep's PULSE_START_S) */
#define T_GAP 0.5e-9    /* end of integration to conversion window (sweep_convert.c) */
#define CLIP_MARGIN_V 0.02 /* integrator output this close to a rail counts as clipped */
#define MAX_STEP_S 50e-12  /* the reference's largest step, and the converters' */

const spice_array_mode spice_array_reference = {
    .name = "reference",
    .summary = "the whole array through read and conversion window, the characterization's "
               "settings, every vector saved",
    .options = SWEEP_OPTIONS,
    .max_step_s = MAX_STEP_S,
};

const spice_array_mode spice_array_fast = {
    .name = "fast",
    .summary = "the array through the read only (500 ps largest step, 8 word-line nodes per "
               "row, measured vectors only), then each column's integrator and converter from "
               "its measured bit-line current",
    .options = SWEEP_OPTIONS,
    .max_step_s = 2e-9,
    .save_measured = 1,
    .split = 1,
    .word_line_nodes = 8,
};

const spice_array_mode *spice_array_mode_find(const char *name)
{
    const spice_array_mode *all[] = {&spice_array_fast, &spice_array_reference};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(all[i]->name, name))
            return all[i];
    return NULL;
}

double spice_array_window_s(const spice_tech *t)
{
    return T_READ + spice_tech_get(t, "t_max") + spice_tech_get(t, "t_edge") + T_GAP;
}

/* End of the transient: the window, its closing edge and a margin. */
static double array_end_s(const spice_tech *t)
{
    double tmax = spice_tech_get(t, "t_max"), te = spice_tech_get(t, "t_edge");
    return spice_array_window_s(t) + tmax + te + 0.5e-9;
}

/* The conversion window's control: low, then high for t_max from the window on. */
static void conv_source(sweep_text *b, const spice_tech *t)
{
    double tmax = spice_tech_get(t, "t_max"), te = spice_tech_get(t, "t_edge");
    double tw = spice_array_window_s(t);
    sweep_printf(b, "Vconv conv 0 pwl(0 0 %.6e 0 %.6e {vdd} %.6e {vdd} %.6e 0)\n", tw - te / 2,
                 tw + te / 2, tw + tmax - te / 2, tw + tmax + te / 2);
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

/* Word-line node of column c when a row's wire has n_nodes nodes over n_cols columns (a
 * node per column pitch when n_nodes is 0 or n_cols). */
static int wl_node(int c, int n_cols, int n_nodes)
{
    return n_nodes <= 0 || n_nodes >= n_cols ? c : (int)((long)c * n_nodes / n_cols);
}

/* Row d's word lines: the driver's output resistance, then the wire: one RC segment per
 * column pitch, the cell of column c on node rwl<d>_<c>. With fewer nodes, the cells of
 * consecutive columns share a node placed at their mean distance from the driver, holding
 * their wire capacitance (one node per column reproduces the per-pitch wire). */
static void row_wires(sweep_text *b, int d, int n_cols, int n_nodes)
{
    for (int k = 0; k < 2; k++) {
        const char *s = k ? "b" : "";
        sweep_printf(b, "Rdrv%s%d rwl%s%d_d rwl%s%d_s {r_wl_drv}\n", s, d, s, d, s, d);
        double prev = 0; /* distance of the previous node from the driver, in pitches */
        for (int c = 0; c < n_cols;) {
            int g = wl_node(c, n_cols, n_nodes), first = c, count = 0;
            while (c < n_cols && wl_node(c, n_cols, n_nodes) == g)
                c++, count++;
            double at = first + (count + 1) / 2.0; /* mean of positions first+1..first+count */
            char from[32];
            if (first == 0)
                snprintf(from, sizeof from, "rwl%s%d_s", s, d);
            else
                snprintf(from, sizeof from, "rwl%s%d_%d", s, d, g - 1);
            sweep_printf(b, "Rwl%s%d_%d %s rwl%s%d_%d {r_wl_seg*%.10g}\n"
                            "Cwl%s%d_%d rwl%s%d_%d 0 {c_wl_seg*%d}\n",
                         s, d, g, from, s, d, g, at - prev, s, d, g, s, d, g, count);
            prev = at;
        }
    }
}

/* Cell (d, c) on its word lines, with its initial storage voltage and instance parameters. */
static void cell_line(sweep_text *b, int d, int c, int n_cols, int n_nodes, double v_store,
                      const char *params)
{
    int g = wl_node(c, n_cols, n_nodes);
    sweep_printf(b, "X%d_%d sn%d_%d wbl wwl wwlb rwl%d_%d rwlb%d_%d bl%d_%d vdd gcell%s\n"
                    ".ic v(sn%d_%d)=%.10g\n",
                 d, c, d, c, d, g, d, g, d, c, params, d, c, v_store);
}

/* .save of the vectors spice_array_measure reads, and the supplies' (array_energy.c). */
static void save_measured(sweep_text *b, int n_rows, int n_cols)
{
    for (int c = 0; c < n_cols; c++)
        sweep_printf(b, ".save vsense%d#branch v(out%d) v(vo%d) v(bli%d) v(bl%d_%d)\n", c, c, c,
                     c, n_rows - 1, c);
    sweep_printf(b, ".save vdd#branch\n");
    for (int d = 0; d < n_rows; d++)
        sweep_printf(b, ".save vrwl%d#branch vrwlb%d#branch\n", d, d);
}

char *spice_array_netlist(const spice_tech *t, const spice_array_mode *m, const char *title,
                          int n_rows, int n_cols, const double *v_store_v,
                          const double *pulse_frac, gc_err *e)
{
    return spice_array_netlist_cells(t, m, title, n_rows, n_cols, v_store_v, pulse_frac, NULL,
                                     e);
}

char *spice_array_netlist_cells(const spice_tech *t, const spice_array_mode *m,
                                const char *title, int n_rows, int n_cols,
                                const double *v_store_v, const double *pulse_frac,
                                const char *const *cell_params, gc_err *e)
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
                     "Vwwlb wwlb 0 {vdd-v_wwl_off}\n");
    conv_source(&b, t);
    for (int d = 0; d < n_rows; d++) {
        double f = pulse_frac[d] < 0 ? 0 : pulse_frac[d] > 1 ? 1 : pulse_frac[d];
        row_sources(&b, d, f, tmax, te);
        row_wires(&b, d, n_cols, m->word_line_nodes);
    }
    for (int c = 0; c < n_cols; c++) {
        for (int d = 0; d < n_rows; d++) {
            size_t i = (size_t)d * n_cols + c;
            cell_line(&b, d, c, n_cols, m->word_line_nodes, v_store_v[i],
                      cell_params ? cell_params[i] : "");
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
    if (m->save_measured)
        save_measured(&b, n_rows, n_cols);
    sweep_printf(&b, ".tran %.4e %.6e 0 %.4e\n", fmin(te / 5, 10e-12),
                 m->split ? tw : array_end_s(t), m->max_step_s);
    const char *templates[] = {"cell", "integrator.sub", "c2p.sub"};
    char *net = sweep_text_check(&b, title, e)
                    ? NULL
                    : spice_netlist_build(t, title, templates, 3, m->options, b.s, e);
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

/* ---------------------------------------------------------------------------------------- */
/* The conversion on the columns alone (split modes) */

/* Column c's bit-line current as a PWL current source into its integrator: the read's
 * samples up to the window, then zero after one edge time (the cells are idle). */
static void replay_source(sweep_text *b, const spice_result *read, int c, double tw, double te)
{
    const double *time = read->vec[0], *i = read->vec[1 + SPICE_ARRAY_NVEC_COL * c];
    size_t n = read->len[0];
    sweep_printf(b, "Iread%d 0 bli%d pwl(", c, c);
    for (size_t k = 0; k < n && time[k] <= tw; k++)
        sweep_printf(b, "%s%.12e %.9e", k ? "\n+ " : "", time[k], i[k]);
    sweep_printf(b, "\n+ %.12e 0)\n", fmax(tw, time[n - 1]) + te);
}

char *spice_array_convert_netlist(const spice_tech *t, const char *title, int n_cols,
                                  const spice_result *read, gc_err *e)
{
    size_t n = read->len[0];
    for (int k = 0; k < 1 + SPICE_ARRAY_NVEC_COL * n_cols; k++)
        if (read->len[k] != n || n < 2)
            return gc_fail(e, "%s: the read returned %zu points in a vector, %zu in time",
                           title, read->len[k], n),
                   NULL;
    double te = spice_tech_get(t, "t_edge"), tw = spice_array_window_s(t);
    sweep_text b = {0};
    sweep_printf(&b, "Vdd vdd 0 {vdd}\n");
    conv_source(&b, t);
    for (int c = 0; c < n_cols; c++) {
        replay_source(&b, read, c, tw, te);
        sweep_printf(&b, "Xi%d bli%d vo%d vdd integ\nXc%d bli%d vo%d out%d conv vdd c2p\n", c, c,
                     c, c, c, c, c);
    }
    /* the reference's settings: this circuit is small */
    sweep_printf(&b, ".tran %.4e %.6e 0 %.4e\n", fmin(te / 5, 10e-12), array_end_s(t),
                 MAX_STEP_S);
    const char *templates[] = {"integrator.sub", "c2p.sub"};
    char *net = sweep_text_check(&b, title, e)
                    ? NULL
                    : spice_netlist_build(t, title, templates, 2, SWEEP_OPTIONS, b.s, e);
    free(b.s);
    return net;
}

const char **spice_array_convert_vectors(int n_cols)
{
    const char **v = calloc(2 + (size_t)n_cols, sizeof *v);
    if (!v)
        return NULL;
    v[0] = "time";
    v[1 + n_cols] = "vdd#branch"; /* the supply (array_energy.c) */
    int ok = 1;
    for (int c = 0; c < n_cols; c++) {
        char buf[32];
        snprintf(buf, sizeof buf, "out%d", c);
        ok &= (v[1 + c] = strdup(buf)) != NULL;
    }
    if (!ok) {
        spice_array_convert_vectors_free(v, n_cols);
        return NULL;
    }
    return v;
}

void spice_array_convert_vectors_free(const char **v, int n_cols)
{
    if (!v)
        return;
    for (int i = 1; i < 1 + n_cols; i++)
        free((char *)v[i]);
    free(v);
}

int spice_array_measure_pulse(const spice_tech *t, const spice_result *r, int col,
                              double *pulse_s, gc_err *e)
{
    size_t n = r->len[0];
    if (r->len[1 + col] != n || n < 2)
        return gc_fail(e, "array conversion: column %d: %zu points, time has %zu", col,
                       r->len[1 + col], n);
    *pulse_s = sweep_trapz(r->vec[0], r->vec[1 + col], n) / spice_tech_get(t, "vdd");
    return 0;
}
