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
 * of up to 2 ns (its currents are flat between the word-line edges, which are
 * breakpoints), saves only what is measured, and gives a row's wire 8 nodes instead of one
 * per column: with a node per pitch, the word-line and bit-line wires make a 2-D grid
 * whose sparse LU fills in, and at 64 x 64 the factorization dominated each iteration. On
 * 16 x 16 and 8 x 64 arrays the charges agree with the reference within 0.03 % of full
 * scale, the pulses within 0.03 % of t_max (bench/array_spice.py measures both).
 *
 * The columns mode (the default) removes the 2-D grid: the columns couple only through the
 * word lines, and the bit lines stay within millivolts of the mid-rail the integrators hold
 * them at. So the word lines run first, with every bit line held at mid-rail by an ideal
 * source: each row is then a chain of its own (an ideal source ends the coupling), and the
 * factorization stays linear in the cells. Then each group of columns runs alone, its
 * cells' word lines replayed from that run, its bit lines, integrators and converters as in
 * the fast mode; the bit lines' millivolts then act on the cells. Their effect back on the
 * word lines' drop is what a relaxation adds: the word lines again, every cell's bit-line
 * node replayed from the columns run, then the columns again (on a 64 x 64 array it moved
 * the pulses by up to 0.18 % of t_max; the mode relaxes once by default). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"

#define T_READ 0.2e-9   /* read pulses start (the read sweep's PULSE_START_S) */
#define T_GAP 0.5e-9    /* end of integration to conversion window (sweep_convert.c) */
#define CLIP_MARGIN_V 0.02 /* integrator output this close to a rail counts as clipped */
#define MAX_STEP_S 50e-12  /* the reference's largest step, and the converters' */
#define REPLAY_TOL_V 10e-6 /* a replayed word line's largest deviation from its samples
                              (the drivers' IR drop is about 0.1 V) */
#define BL_REPLAY_TOL_V 100e-6 /* the same for a cell's bit-line node in the relaxation: the
                                  bit lines move by millivolts and reach the word lines only
                                  through the cells' currents. On the 64 x 64 silicon array
                                  against the reference, 10 uV: 0.0078 % FS in 235 CPU s,
                                  100 uV: 0.0075 % FS in 151 CPU s */

const spice_array_mode spice_array_reference = {
    .name = "reference",
    .summary = "the whole array through read and conversion window, the characterization's "
               "settings, every vector saved",
    .options = SWEEP_OPTIONS,
    .max_step_s = MAX_STEP_S,
};

const spice_array_mode spice_array_fast = {
    .name = "fast",
    .summary = "the array through the read only (2 ns largest step, 8 word-line nodes per "
               "row, measured vectors only), then each column's integrator and converter from "
               "its measured bit-line current",
    .options = SWEEP_OPTIONS,
    .max_step_s = 2e-9,
    .save_measured = 1,
    .split = 1,
    .word_line_nodes = 8,
};

const spice_array_mode spice_array_columns = {
    .name = "columns",
    .summary = "the word lines with every bit line held at the integrators' virtual ground "
               "(vdd/2), then the columns in groups of 8, their cells' word lines replayed "
               "from that run, through the read as in fast; relaxed: the word lines again "
               "with every cell's bit line replayed from the columns run, then the columns "
               "again; then each column's integrator and converter from its measured "
               "bit-line current (a one-column array: as fast)",
    .options = SWEEP_OPTIONS,
    .max_step_s = 2e-9,
    .save_measured = 1,
    .split = 1,
    .word_line_nodes = 8,
    .columns_per_job = 8,
    .relaxations = 1,
};

const spice_array_mode *spice_array_mode_find(const char *name)
{
    const spice_array_mode *all[] = {&spice_array_columns, &spice_array_fast,
                                     &spice_array_reference};
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

/* Cell (d, c) on its word lines and on bit-line node bl, with its initial storage voltage
 * and instance parameters. */
static void cell_line(sweep_text *b, int d, int c, int n_cols, int n_nodes, const char *bl,
                      double v_store, const char *params)
{
    int g = wl_node(c, n_cols, n_nodes);
    sweep_printf(b, "X%d_%d sn%d_%d wbl wwl wwlb rwl%d_%d rwlb%d_%d %s vdd gcell%s\n"
                    ".ic v(sn%d_%d)=%.10g\n",
                 d, c, d, c, d, g, d, g, bl, params, d, c, v_store);
}

/* Array column c, named j in the netlist (its bit line, sense source, integrator and
 * converter carry j): its cells, the bit line, one segment per cell pitch toward the
 * integrator (row 0), and the integrator and converter. v_store and cell_params are the
 * whole array's (row-major, n_cols columns). */
static void column_lines(sweep_text *b, int n_rows, int n_cols, int n_nodes, int c, int j,
                         const double *v_store, const char *const *cell_params)
{
    for (int d = 0; d < n_rows; d++) {
        size_t i = (size_t)d * n_cols + c;
        char bl[32];
        snprintf(bl, sizeof bl, "bl%d_%d", d, j);
        cell_line(b, d, c, n_cols, n_nodes, bl, v_store[i], cell_params ? cell_params[i] : "");
        if (d == 0)
            sweep_printf(b, "Rbl0_%d bl0_%d blc%d {r_bl_seg}\n", j, j, j);
        else
            sweep_printf(b, "Rbl%d_%d bl%d_%d bl%d_%d {r_bl_seg}\n", d, j, d, j, d - 1, j);
    }
    /* the converter sinks its ramp current from the integrator side, past the sense source */
    sweep_printf(b, "Vsense%d blc%d bli%d 0\nXi%d bli%d vo%d vdd integ\n"
                    "Xc%d bli%d vo%d out%d conv vdd c2p\n",
                 j, j, j, j, j, j, j, j, j, j);
}

/* The supply and the idle write path (as in the read sweep). */
static void supply_lines(sweep_text *b)
{
    sweep_printf(b, "Vdd vdd 0 {vdd}\nVwbl wbl 0 {vdd/2}\nVwwl wwl 0 {v_wwl_off}\n"
                    "Vwwlb wwlb 0 {vdd-v_wwl_off}\n");
}

/* .save of the vectors spice_array_measure reads. */
static void save_columns(sweep_text *b, int n_rows, int n_cols)
{
    for (int c = 0; c < n_cols; c++)
        sweep_printf(b, ".save vsense%d#branch v(out%d) v(vo%d) v(bli%d) v(bl%d_%d)\n", c, c, c,
                     c, n_rows - 1, c);
}

/* .save of the supplies' currents (array_energy.c). */
static void save_supplies(sweep_text *b, int n_rows)
{
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
    supply_lines(&b);
    conv_source(&b, t); /* the conversion window, as in c2p */
    for (int d = 0; d < n_rows; d++) {
        double f = pulse_frac[d] < 0 ? 0 : pulse_frac[d] > 1 ? 1 : pulse_frac[d];
        row_sources(&b, d, f, tmax, te);
        row_wires(&b, d, n_cols, m->word_line_nodes);
    }
    for (int c = 0; c < n_cols; c++)
        column_lines(&b, n_rows, n_cols, m->word_line_nodes, c, c, v_store_v, cell_params);
    if (m->save_measured)
        save_columns(&b, n_rows, n_cols), save_supplies(&b, n_rows);
    sweep_printf(&b, ".tran %.4e %.6e 0 %.4e\n", fmin(te / 5, 10e-12),
                 m->split ? tw : array_end_s(t), m->max_step_s);
    const char *templates[] = {"cell", "integrator.sub", "c2p.sub"};
    char *net = sweep_text_check(&b, title, e)
                    ? NULL
                    : spice_netlist_build(t, title, templates, 3, m->options, b.s, e);
    free(b.s);
    return net;
}

/* ---------------------------------------------------------------------------------------- */
/* The columns mode: the word lines first, then the columns in groups */

/* A waveform of another run replayed: source `name` holds `node` at the samples (t, v) up to
 * tw, as a behavioural source linear between corners, every sample within tol of
 * the line through the corners around it. Not a PWL source: each of its corners would be a
 * breakpoint after which ngspice restarts from small steps (a replayed edge has a dozen
 * samples); the row drivers' own corners set the breakpoints instead. */
static void replay(sweep_text *b, const char *name, const char *node, const double *time,
                   const double *v, size_t len, double tw, double tol)
{
    size_t n = 0;
    while (n < len && time[n] <= tw)
        n++;
    sweep_printf(b, "%s %s 0 V = pwl(time, %.12e, %.9e", name, node, time[0], v[0]);
    for (size_t i = 0; i + 1 < n;) { /* i: the last corner; the next is the farthest j whose
                                         line from i passes every sample between */
        size_t j = i + 1;
        while (j + 1 < n) {
            size_t m = i + 1, c = j + 1;
            for (; m < c; m++) {
                double line = v[i] + (v[c] - v[i]) * (time[m] - time[i]) / (time[c] - time[i]);
                if (fabs(v[m] - line) > tol)
                    break;
            }
            if (m < c)
                break;
            j = c;
        }
        sweep_printf(b, ",\n+ %.12e, %.9e", time[j], v[j]);
        i = j;
    }
    sweep_printf(b, ")\n");
}

const char **spice_array_columns_vectors(const spice_array_mode *m, int n_rows, int n)
{
    size_t n_col = 1 + SPICE_ARRAY_NVEC_COL * (size_t)n;
    size_t n_all = SPICE_ARRAY_COLUMNS_NVEC(m, n_rows, n);
    const char **col = spice_array_vectors(n_rows, n), **v = calloc(n_all, sizeof *v);
    if (!col || !v) {
        spice_array_vectors_free(col, n);
        free(v);
        return NULL;
    }
    memcpy(v, col, n_col * sizeof *v);
    free(col); /* its names live on in v */
    int ok = 1;
    for (size_t i = n_col; i < n_all; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "bl%d_%d", (int)((i - n_col) / n), (int)((i - n_col) % n));
        ok &= (v[i] = strdup(buf)) != NULL;
    }
    if (!ok) {
        spice_array_columns_vectors_free(m, v, n_rows, n);
        return NULL;
    }
    return v;
}

void spice_array_columns_vectors_free(const spice_array_mode *m, const char **v, int n_rows,
                                      int n)
{
    if (!v)
        return;
    for (size_t i = 1; i < SPICE_ARRAY_COLUMNS_NVEC(m, n_rows, n); i++)
        free((char *)v[i]);
    free(v);
}

int spice_array_word_line_nodes(const spice_array_mode *m, int n_cols)
{
    return m->word_line_nodes <= 0 || m->word_line_nodes >= n_cols ? n_cols : m->word_line_nodes;
}

/* Cell (d, c)'s bit-line node in a relaxation: the sample of the columns run that holds
 * column c (columns_per_job to a run); NULL if that run lacks it. */
static const double *bit_line_samples(const spice_array_mode *m, const spice_result *columns,
                                      int n_cols, int d, int c, size_t *len)
{
    int per_job = m->columns_per_job, p = c / per_job, j = c % per_job;
    int n = n_cols - p * per_job < per_job ? n_cols - p * per_job : per_job;
    const spice_result *r = &columns[p];
    size_t i = 1 + SPICE_ARRAY_NVEC_COL * (size_t)n + (size_t)d * n + j;
    *len = r->len[0];
    return r->len[i] == r->len[0] && r->len[0] >= 2 ? r->vec[i] : NULL;
}

char *spice_array_word_lines_netlist(const spice_tech *t, const spice_array_mode *m,
                                     const char *title, int n_rows, int n_cols,
                                     const double *v_store_v, const double *pulse_frac,
                                     const char *const *cell_params,
                                     const spice_result *columns, gc_err *e)
{
    if (n_rows < 1 || n_cols < 1) {
        gc_fail(e, "%s: an array needs at least one row and one column", title);
        return NULL;
    }
    double tmax = spice_tech_get(t, "t_max"), te = spice_tech_get(t, "t_edge");
    int n_nodes = spice_array_word_line_nodes(m, n_cols);
    sweep_text b = {0};
    supply_lines(&b);
    for (int d = 0; d < n_rows; d++) {
        double f = pulse_frac[d] < 0 ? 0 : pulse_frac[d] > 1 ? 1 : pulse_frac[d];
        row_sources(&b, d, f, tmax, te);
        row_wires(&b, d, n_cols, m->word_line_nodes);
    }
    double tw = spice_array_window_s(t);
    for (int c = 0; c < n_cols; c++) {
        char bl[32], name[40];
        if (!columns) { /* the column's cells on one node, held where the integrator holds
                           the bit line */
            snprintf(bl, sizeof bl, "blv%d", c);
            sweep_printf(&b, "Vblv%d blv%d 0 {vdd/2}\n", c, c);
        }
        for (int d = 0; d < n_rows; d++) {
            size_t i = (size_t)d * n_cols + c, len;
            if (columns) { /* each cell's node where the columns run had it */
                const double *v = bit_line_samples(m, columns, n_cols, d, c, &len);
                int p = c / m->columns_per_job;
                if (!v) {
                    free(b.s);
                    return gc_fail(e, "%s: the columns run returned %zu points in bit line "
                                      "%d_%d", title, columns[p].len[0], d, c),
                           NULL;
                }
                snprintf(bl, sizeof bl, "blv%d_%d", d, c);
                snprintf(name, sizeof name, "Bblv%d_%d", d, c);
                replay(&b, name, bl, columns[p].vec[0], v, len, tw, BL_REPLAY_TOL_V);
            }
            cell_line(&b, d, c, n_cols, m->word_line_nodes, bl, v_store_v[i],
                      cell_params ? cell_params[i] : "");
        }
    }
    for (int d = 0; d < n_rows; d++)
        for (int g = 0; g < n_nodes; g++)
            sweep_printf(&b, ".save v(rwl%d_%d) v(rwlb%d_%d)\n", d, g, d, g);
    save_supplies(&b, n_rows);
    sweep_printf(&b, ".tran %.4e %.6e 0 %.4e\n", fmin(te / 5, 10e-12), tw, m->max_step_s);
    const char *templates[] = {"cell"};
    char *net = sweep_text_check(&b, title, e)
                    ? NULL
                    : spice_netlist_build(t, title, templates, 1, m->options, b.s, e);
    free(b.s);
    return net;
}

const char **spice_array_word_lines_vectors(const spice_array_mode *m, int n_rows, int n_cols)
{
    int n_nodes = spice_array_word_line_nodes(m, n_cols);
    size_t n = SPICE_ARRAY_WORD_LINES_NVEC(n_rows, n_nodes);
    const char **v = calloc(n, sizeof *v);
    if (!v)
        return NULL;
    v[0] = "time";
    int ok = 1;
    for (int d = 0; d < n_rows; d++)
        for (int g = 0; g < n_nodes; g++)
            for (int k = 0; k < 2; k++) {
                char buf[48];
                snprintf(buf, sizeof buf, "rwl%s%d_%d", k ? "b" : "", d, g);
                ok &= (v[1 + 2 * ((size_t)d * n_nodes + g) + k] = strdup(buf)) != NULL;
            }
    if (!ok) {
        spice_array_word_lines_vectors_free(v, n_rows, n_nodes);
        return NULL;
    }
    return v;
}

void spice_array_word_lines_vectors_free(const char **v, int n_rows, int n_nodes)
{
    if (!v)
        return;
    for (size_t i = 1; i < SPICE_ARRAY_WORD_LINES_NVEC(n_rows, n_nodes); i++)
        free((char *)v[i]);
    free(v);
}

/* Word line k (0: rwl, 1: rwlb) of row d at node g, replayed from the word-line run. */
static void word_line_replay(sweep_text *b, const spice_result *wl, int d, int g, int k,
                             int n_nodes, double tw)
{
    char name[48], node[48];
    snprintf(name, sizeof name, "Brwl%s%d_%d", k ? "b" : "", d, g);
    snprintf(node, sizeof node, "rwl%s%d_%d", k ? "b" : "", d, g);
    replay(b, name, node, wl->vec[0], wl->vec[1 + 2 * ((size_t)d * n_nodes + g) + k],
           wl->len[0], tw, REPLAY_TOL_V);
}

char *spice_array_columns_netlist(const spice_tech *t, const spice_array_mode *m,
                                  const char *title, int n_rows, int n_cols, int c0, int n,
                                  const double *v_store_v, const double *pulse_frac,
                                  const char *const *cell_params,
                                  const spice_result *word_lines, gc_err *e)
{
    int n_nodes = spice_array_word_line_nodes(m, n_cols);
    if (n_rows < 1 || c0 < 0 || n < 1 || c0 + n > n_cols) {
        gc_fail(e, "%s: columns %d..%d of a %d x %d array", title, c0, c0 + n - 1, n_rows,
                n_cols);
        return NULL;
    }
    size_t len = word_lines->len[0];
    for (size_t k = 0; k < SPICE_ARRAY_WORD_LINES_NVEC(n_rows, n_nodes); k++)
        if (word_lines->len[k] != len || len < 2)
            return gc_fail(e, "%s: the word-line run returned %zu points in a vector, %zu in "
                              "time", title, word_lines->len[k], len),
                   NULL;
    double te = spice_tech_get(t, "t_edge"), tw = spice_array_window_s(t);
    sweep_text b = {0};
    supply_lines(&b);
    conv_source(&b, t);
    /* the rows' drivers, on their own nodes: their corners are the breakpoints of the
     * word-line edges, as in the array netlist (the replay sets none) */
    double tmax = spice_tech_get(t, "t_max");
    for (int d = 0; d < n_rows; d++)
        row_sources(&b, d, pulse_frac[d] < 0 ? 0 : pulse_frac[d] > 1 ? 1 : pulse_frac[d], tmax,
                    te);
    int g0 = wl_node(c0, n_cols, m->word_line_nodes);
    int g1 = wl_node(c0 + n - 1, n_cols, m->word_line_nodes);
    for (int d = 0; d < n_rows; d++)
        for (int g = g0; g <= g1; g++)
            for (int k = 0; k < 2; k++)
                word_line_replay(&b, word_lines, d, g, k, n_nodes, tw);
    for (int j = 0; j < n; j++)
        column_lines(&b, n_rows, n_cols, m->word_line_nodes, c0 + j, j, v_store_v,
                     cell_params);
    save_columns(&b, n_rows, n);
    for (int d = 0; m->relaxations > 0 && d < n_rows; d++)
        for (int j = 0; j < n; j++)
            sweep_printf(&b, ".save v(bl%d_%d)\n", d, j);
    sweep_printf(&b, ".tran %.4e %.6e 0 %.4e\n", fmin(te / 5, 10e-12), tw, m->max_step_s);
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
