/* The read sweeps: DC cell current I(V_stored, V_in) into a bit line held at mid-rail, and
 * the charge one cell delivers in a transient read for each of the pulse levels (pulse edges
 * and gate coupling included), with the read-driver energy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sweep.h"

static const char *const cell_only[] = {"cell"};

/* Bias of a cell whose write path is off and whose bit line is held at mid-rail. */
static void hold_bias(sweep_text *b)
{
    sweep_printf(b, "Vdd vdd 0 {vdd}\n"
                    "Vwbl wbl 0 {vdd/2}\n"
                    "Vwwl wwl 0 {v_wwl_off}\n"
                    "Vwwlb wwlb 0 {vdd-v_wwl_off}\n");
}

/* Reads start after the operating point has settled. */
#define PULSE_START_S 0.2e-9

/* The DC grid, split by word-line amplitude into chunks that run in parallel. */
static int plan_dc(sweep_ctx *c, int in_first, int in_last, gc_err *e)
{
    const spice_plan *p = c->plan;
    double vdd = sweep_p(c, "vdd");
    sweep_text b = {0};
    hold_bias(&b);
    /* The sweeps run over integer indices (exact in floating point, so ngspice never drops
     * the last point); E sources scale them to volts. rwlb = vdd - rwl. */
    sweep_printf(&b, "Vi_sn i_sn 0 0\nVi_in i_in 0 0\n"
                     "Esn sn 0 i_sn 0 %.12g\n"
                     "Erwl rwl 0 i_in 0 %.12g\n"
                     "Erwlb rwlb vdd rwl 0 -1\n"
                     "Vbl bl 0 {vdd/2}\n"
                     "X1 sn wbl wwl wwlb rwl rwlb bl vdd gcell\n"
                     ".dc Vi_sn 0 %d 1 Vi_in %d %d 1\n",
                 vdd / (p->read_dc_nv - 1), vdd / (p->read_dc_nvin - 1), p->read_dc_nv - 1,
                 in_first, in_last);
    const char *vec[] = {"vbl#branch"};
    char name[64];
    snprintf(name, sizeof name, "read_dc[v_in %d..%d]", in_first, in_last);
    int rc = sweep_text_check(&b, name, e) ||
             sweep_add(c, name, cell_only, 1, SWEEP_OPTIONS, b.s, vec, 1, e);
    free(b.s);
    return rc ? -1 : 0;
}

/* One simulation per pulse level: read_nv independent cells, one per stored voltage, each
 * into its own bit-line source; the word lines are shared. */
static int plan_tran(sweep_ctx *c, int level, gc_err *e)
{
    const spice_plan *p = c->plan;
    double vdd = sweep_p(c, "vdd"), te = sweep_p(c, "t_edge"), tmax = sweep_p(c, "t_max");
    double width = tmax * level / (p->read_levels - 1), t1 = PULSE_START_S;
    double tstop = t1 + tmax + te + 1e-9;
    sweep_text b = {0};
    hold_bias(&b);
    if (level == 0)
        sweep_printf(&b, "Vrwl rwl 0 {vdd/2}\nVrwlb rwlb 0 {vdd/2}\n");
    else
        /* the pulse is width long between the 50 %% points of its edges */
        for (int k = 0; k < 2; k++)
            sweep_printf(&b, "Vrwl%s rwl%s 0 pwl(0 {vdd/2} %.6e {vdd/2} %.6e {%s} %.6e {%s} "
                             "%.6e {vdd/2})\n",
                         k ? "b" : "", k ? "b" : "", t1 - te / 2, t1 + te / 2,
                         k ? "vdd-v_in" : "v_in", t1 + width - te / 2, k ? "vdd-v_in" : "v_in",
                         t1 + width + te / 2);
    /* each cell reaches the shared word lines through its own 0 V sources, so the current
     * each line delivers to each cell is known */
    for (int i = 0; i < p->read_nv; i++) {
        double v = vdd * i / (p->read_nv - 1);
        sweep_printf(&b, "X%d sn%d wbl wwl wwlb rwl%d rwlb%d bl%d vdd gcell\n"
                         "Vbl%d bl%d 0 {vdd/2}\n.ic v(sn%d)=%.10g\n"
                         "Vw%d rwl rwl%d 0\nVwb%d rwlb rwlb%d 0\n",
                     i, i, i, i, i, i, i, i, v, i, i, i, i);
    }
    /* breakpoints resolve the pulse corners; between them a 100 ps step limit keeps the
     * charge within 0.1 % of a 2 ps-limited run */
    sweep_printf(&b, ".tran %.4e %.6e 0 %.4e\n", fmin(te / 5, 10e-12), tstop, 100e-12);
    char name[64];
    snprintf(name, sizeof name, "read_tran[level %d]", level);
    int nvec = 3 * p->read_nv + 5;
    char **vec = malloc((size_t)nvec * sizeof *vec);
    char names[5][32] = {"time", "rwl", "rwlb", "vrwl#branch", "vrwlb#branch"};
    char (*bl)[32] = malloc((size_t)3 * p->read_nv * sizeof *bl);
    int rc = !vec || !bl ? gc_fail(e, "%s: out of memory", name) : sweep_text_check(&b, name, e);
    if (rc) {
        free(vec), free(bl), free(b.s);
        return -1;
    }
    for (int k = 0; k < 5; k++)
        vec[k] = names[k];
    for (int i = 0; i < p->read_nv; i++) {
        snprintf(bl[i], sizeof bl[i], "vbl%d#branch", i);
        vec[5 + i] = bl[i];
        /* per cell: current from rwl into the cell, and from rwlb */
        snprintf(bl[p->read_nv + i], sizeof bl[i], "vw%d#branch", i);
        snprintf(bl[2 * p->read_nv + i], sizeof bl[i], "vwb%d#branch", i);
        vec[5 + p->read_nv + i] = bl[p->read_nv + i];
        vec[5 + 2 * p->read_nv + i] = bl[2 * p->read_nv + i];
    }
    if (level == 0) /* constant sources: no pulse to account */
        vec[3] = vec[4] = names[0];
    rc = sweep_add(c, name, cell_only, 1, SWEEP_OPTIONS, b.s, (const char *const *)vec,
                   nvec, e);
    free(vec);
    free(bl);
    free(b.s);
    return rc;
}

static int plan(sweep_ctx *c, int phase, gc_err *e)
{
    (void)phase;
    int nin = c->plan->read_dc_nvin, chunk = (nin + c->plan->jobs_per_sweep - 1) / c->plan->jobs_per_sweep;
    for (int first = 0; first < nin; first += chunk)
        if (plan_dc(c, first, first + chunk < nin ? first + chunk - 1 : nin - 1, e))
            return -1;
    for (int l = 0; l < c->plan->read_levels; l++)
        if (plan_tran(c, l, e))
            return -1;
    return 0;
}

/* Supply energy of each of nq cells of one read: vdd times the charge its rwl and rwlb lines
 * deliver to it (each line a buffer from vdd; a 0 V source's branch current flows from the
 * line into the cell). The bit line is held by the integrator, whose class-A output stage
 * draws its bias whatever the cells do: that is the declared p_integrator_bias_w, not this.
 * -1 if out of memory. */
static int supply_energy(const spice_result *r, int nq, double vdd, double *out)
{
    size_t n = r->len[0];
    double *q = malloc(n * sizeof *q);
    if (!q)
        return -1;
    for (int i = 0; i < nq; i++) {
        const double *i_w = r->vec[5 + nq + i], *i_wb = r->vec[5 + 2 * nq + i];
        for (size_t k = 0; k < n; k++)
            q[k] = fmax(0, i_w[k]) + fmax(0, i_wb[k]);
        out[i] = vdd * sweep_trapz(r->vec[0], q, n);
    }
    free(q);
    return 0;
}

static int store(sweep_ctx *c, int phase, int first, int count, hid_t file, gc_err *e)
{
    (void)phase;
    const spice_plan *p = c->plan;
    double vdd = sweep_p(c, "vdd"), tmax = sweep_p(c, "t_max");
    int nv = p->read_dc_nv, nin = p->read_dc_nvin, nl = p->read_levels, nq = p->read_nv;
    hid_t g = gc_h5_group(file, "read", e);
    if (g < 0)
        return -1;
    double *cur = malloc((size_t)nv * nin * sizeof *cur);
    if (!cur) {
        H5Gclose(g);
        return gc_fail(e, "read: out of memory");
    }
    int j = 0, n_dc = count - nl;
    for (int k = 0; k < n_dc; k++) { /* ngspice's inner sweep is the first source */
        const spice_result *dc = &c->res[first + k];
        if (dc->len[0] % (size_t)nv) {
            free(cur);
            H5Gclose(g);
            return gc_fail(e, "%s: %zu points is not a whole number of rows of %d",
                           c->jobs[first + k].name, dc->len[0], nv);
        }
        for (size_t r = 0; r < dc->len[0] / (size_t)nv && j < nin; r++, j++)
            for (int i = 0; i < nv; i++)
                cur[i * nin + j] = dc->vec[0][r * nv + i];
    }
    if (j != nin) {
        free(cur);
        H5Gclose(g);
        return gc_fail(e, "read_dc: expected %d amplitudes, got %d", nin, j);
    }
    double *ax_v = sweep_linspace(0, vdd, nv), *ax_in = sweep_linspace(0, vdd, nin);
    double *ax_q = sweep_linspace(0, vdd, nq), *ax_w = sweep_linspace(0, tmax, nl);
    double *charge = malloc((size_t)nl * nq * sizeof *charge);
    double *energy = malloc((size_t)nl * sizeof *energy);
    double *supply = malloc((size_t)nl * nq * sizeof *supply);
    int oom = !ax_v || !ax_in || !ax_q || !ax_w || !charge || !energy || !supply;
    for (int l = 0; l < nl && !oom; l++) {
        const spice_result *r = &c->res[first + n_dc + l];
        const double *t = r->vec[0];
        size_t n = r->len[0];
        for (int i = 0; i < nq; i++)
            charge[l * nq + i] = sweep_trapz(t, r->vec[5 + i], n);
        if (supply_energy(r, nq, vdd, supply + (size_t)l * nq)) {
            oom = 1;
            break;
        }
        double e_drv = 0;
        /* energy drawn by the two word-line drivers: power -v * i when they deliver it;
         * a driver that absorbs power dissipates it rather than recovering it */
        if (l > 0) {
            double *pw = malloc(n * sizeof *pw);
            if (!pw) {
                oom = 1;
                break;
            }
            for (size_t k = 0; k < n; k++)
                pw[k] = fmax(0, -r->vec[1][k] * r->vec[3][k]) + fmax(0, -r->vec[2][k] * r->vec[4][k]);
            e_drv = sweep_trapz(t, pw, n);
            free(pw);
        }
        energy[l] = e_drv / nq;
    }
    if (!oom)
        c->read_energy_j = energy[nl - 1];
    size_t d2[2] = {(size_t)nv, (size_t)nin}, q2[2] = {(size_t)nl, (size_t)nq};
    size_t d1 = (size_t)nl;
    const char *dc_axes[] = {"dc_v_store", "v_in"}, *q_axes[] = {"pulse_width", "v_store"};
    int rc = (oom && gc_fail(e, "read: out of memory")) ||
             gc_h5_write_axis(g, "dc_v_store", nv, ax_v, "V", "stored voltage (DC sweep)", e) ||
             gc_h5_write_axis(g, "v_in", nin, ax_in, "V",
                              "read word-line amplitude (rwl = v_in, rwlb = vdd - v_in)", e) ||
             gc_h5_write(g, "dc_current", 2, d2, cur, "A",
                         "DC current from the cell into the bit line held at vdd/2", e) ||
             gc_h5_attach(g, "dc_current", 2, dc_axes, e) ||
             gc_h5_write_axis(g, "v_store", nq, ax_q, "V", "stored voltage (transient reads)", e) ||
             gc_h5_write_axis(g, "pulse_width", nl, ax_w, "s",
                              "read pulse width, level * t_max / (levels - 1)", e) ||
             gc_h5_write(g, "charge", 2, q2, charge, "C",
                         "charge delivered to the bit line by one cell in one read", e) ||
             gc_h5_attach(g, "charge", 2, q_axes, e) ||
             gc_h5_write(g, "driver_energy_per_cell", 1, &d1, energy, "J",
                         "energy from the read word-line drivers per cell and read, averaged "
                         "over stored voltages", e) ||
             gc_h5_attach(g, "driver_energy_per_cell", 1, q_axes, e) ||
             gc_h5_write(g, "supply_energy", 2, q2, supply, "J",
                         "supply energy of one cell's read: vdd times the charge its read "
                         "word lines deliver to it (each a buffer from vdd; the integrator "
                         "holding the bit line is a class-A stage whose bias is declared, "
                         "i_bias_int)", e) ||
             gc_h5_attach(g, "supply_energy", 2, q_axes, e) ||
             gc_h5_attr_double(g, ".", "v_in_V", sweep_p(c, "v_in"), e) ||
             gc_h5_attr_double(g, ".", "t_max_s", tmax, e) ||
             gc_h5_attr_double(g, ".", "v_mid_V", vdd / 2, e);
    free(cur), free(ax_v), free(ax_in), free(ax_q), free(ax_w), free(charge), free(energy);
    free(supply);
    H5Gclose(g);
    return rc ? -1 : 0;
}

const sweep_def sweep_read = {"read", 1, plan, store};
