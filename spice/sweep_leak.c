/* The leakage sweeps. Phase 0: I_leak(V), the current leaving the storage node at the hold
 * bias (write path off, write bit line and read lines at mid-rail). Phase 1: hold transients
 * from several initial voltages, long enough for at least leak_tau_mult estimated time
 * constants, the estimate coming from integrating C dV/dt = -I_leak(V) over phase 0's curve. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sweep.h"

static const char *const cell_only[] = {"cell"};

/* Assumed node capacitance for the estimate only: the read transistors' gates add to c_store. */
#define PARASITIC_FACTOR 1.4

static void hold_bias(sweep_text *b)
{
    sweep_printf(b, "Vdd vdd 0 {vdd}\n"
                    "Vwbl wbl 0 {vdd/2}\n"
                    "Vwwl wwl 0 {v_wwl_off}\n"
                    "Vwwlb wwlb 0 {vdd-v_wwl_off}\n"
                    "Vrwl rwl 0 {vdd/2}\n"
                    "Vrwlb rwlb 0 {vdd/2}\n");
}

static int plan(sweep_ctx *c, int phase, gc_err *e)
{
    const spice_plan *p = c->plan;
    double vdd = sweep_p(c, "vdd");
    sweep_text b = {0};
    hold_bias(&b);
    int rc = 0;
    if (phase == 0) {
        /* integer sweep index scaled to volts, so no point is lost to rounding */
        sweep_printf(&b, "Vi_sn i_sn 0 0\nEsn snx 0 i_sn 0 %.12g\nVsn sn snx 0\n"
                         "Vbl bl 0 {vdd/2}\n"
                         "X1 sn wbl wwl wwlb rwl rwlb bl vdd gcell\n"
                         ".dc Vi_sn 0 %d 1\n", vdd / (p->leak_dc_n - 1), p->leak_dc_n - 1);
        /* the node's holding source, then every bias line's (for the idle power) */
        const char *vec[] = {"vsn#branch",   "vdd#branch",  "vwbl#branch", "vwwl#branch",
                             "vwwlb#branch", "vrwl#branch", "vrwlb#branch", "vbl#branch"};
        rc = sweep_text_check(&b, "leak_dc", e) ||
             sweep_add(c, "leak_dc", cell_only, 1, SWEEP_LEAK_OPTIONS, b.s, vec, 8, e);
        free(b.s);
        return rc ? -1 : 0;
    }
    if (sweep_text_check(&b, "leak_tran", e)) {
        free(b.s);
        return -1;
    }
    double tstop = p->leak_tau_mult * c->leak_tau_estimate_s;
    int per_job = (p->leak_n0 + p->jobs_per_sweep - 1) / p->jobs_per_sweep;
    size_t mark = b.len;
    for (int first = 0; first < p->leak_n0 && rc == 0; first += per_job) {
        b.len = mark;
        b.s[mark] = '\0';
        int last = first + per_job < p->leak_n0 ? first + per_job : p->leak_n0;
        char vnames[64][24];
        const char *vec[65] = {"time"};
        for (int i = first; i < last; i++) {
            double v0 = vdd * i / (p->leak_n0 - 1);
            sweep_printf(&b, "X%d sn%d wbl wwl wwlb rwl rwlb bl%d vdd gcell\n"
                             "Vbl%d bl%d 0 {vdd/2}\n.ic v(sn%d)=%.10g\n", i, i, i, i, i, i, v0);
            snprintf(vnames[i - first], sizeof vnames[0], "sn%d", i);
            vec[1 + i - first] = vnames[i - first];
        }
        /* a coarse step limit: finer ones make ngspice iterate far longer on these
         * femtoampere currents without changing the curve */
        sweep_printf(&b, ".tran %.6e %.6e\n", tstop / 200, tstop);
        char name[64];
        snprintf(name, sizeof name, "leak_tran[v0 %d..%d]", first, last - 1);
        rc = sweep_text_check(&b, name, e) ||
             sweep_add(c, name, cell_only, 1, SWEEP_LEAK_OPTIONS, b.s, vec, 1 + last - first, e);
    }
    free(b.s);
    return rc ? -1 : 0;
}

/* Voltage where the leak current changes sign (where decay tends to). */
static double equilibrium(const double *v, const double *i_leak, int n)
{
    for (int k = 1; k < n; k++)
        if (i_leak[k - 1] <= 0 && i_leak[k] > 0)
            return v[k - 1] - i_leak[k - 1] * (v[k] - v[k - 1]) / (i_leak[k] - i_leak[k - 1]);
    return NAN;
}

/* Time for a node starting at v0 to reach v1 under C dV/dt = -I_leak(V). */
static double decay_time(const double *v, const double *i_leak, int n, double c_node, double v0,
                         double v1)
{
    const int steps = 2000;
    double t = 0, h = (v1 - v0) / steps;
    for (int s = 0; s < steps; s++) {
        double a = v0 + s * h, b = a + h;
        double ia = sweep_interp(v, i_leak, (size_t)n, a), ib = sweep_interp(v, i_leak, (size_t)n, b);
        if (ia * h >= 0 || ib * h >= 0) /* no current towards v1: never gets there */
            return INFINITY;
        t += 0.5 * (-c_node * h / ia - c_node * h / ib);
    }
    return t;
}

static int store_dc(sweep_ctx *c, int first, hid_t g, gc_err *e)
{
    const spice_plan *p = c->plan;
    int n = p->leak_dc_n;
    double vdd = sweep_p(c, "vdd");
    const spice_result *r = &c->res[first];
    if (r->len[0] != (size_t)n)
        return gc_fail(e, "leak_dc: expected %d points, got %zu", n, r->len[0]);
    double *v = sweep_linspace(0, vdd, n), *i_leak = malloc((size_t)n * sizeof *i_leak);
    if (!v || !i_leak) {
        free(v);
        free(i_leak);
        return gc_fail(e, "leak_dc: out of memory");
    }
    for (int k = 0; k < n; k++) /* the source supplies what the node loses */
        i_leak[k] = -r->vec[0][k];
    /* idle supply power: every bias line is a buffer from vdd, so the current it delivers
     * (a source's branch current flows into it: delivered is its negative) is drawn from vdd */
    double *idle = malloc((size_t)n * sizeof *idle);
    if (!idle) {
        free(v), free(i_leak);
        return gc_fail(e, "leak_dc: out of memory");
    }
    c->idle_power_w = 0;
    for (int k = 0; k < n; k++) {
        double delivered = 0;
        for (int s = 1; s < 8; s++)
            delivered += fmax(0, -r->vec[s][k]);
        idle[k] = vdd * delivered;
        c->idle_power_w += idle[k] / n;
    }
    double v_eq = equilibrium(v, i_leak, n);
    double c_node = PARASITIC_FACTOR * sweep_p(c, "c_store");
    double t_lo = decay_time(v, i_leak, n, c_node, 0, v_eq - v_eq / M_E);
    double t_hi = decay_time(v, i_leak, n, c_node, vdd, v_eq + (vdd - v_eq) / M_E);
    c->leak_tau_estimate_s = fmin(t_lo, t_hi);
    int rc = 0;
    if (isnan(v_eq) || !isfinite(c->leak_tau_estimate_s))
        rc = gc_fail(e, "leak_dc: the leakage current does not restore the node towards a "
                        "hold voltage (no sign change in I_leak); cannot size the transients");
    size_t nn = (size_t)n;
    const char *axes[] = {"dc_v"};
    rc = rc || gc_h5_write_axis(g, "dc_v", nn, v, "V", "storage-node voltage (DC)", e) ||
         gc_h5_write(g, "i_leak", 1, &nn, i_leak, "A",
                     "current leaving the storage node at the hold bias; C dV/dt = -i_leak", e) ||
         gc_h5_attach(g, "i_leak", 1, axes, e) ||
         gc_h5_write(g, "idle_power", 1, &nn, idle, "W",
                     "supply power of one idle cell holding this voltage: vdd times the "
                     "current its bias lines (vdd, write and read word lines, bit lines) "
                     "deliver", e) ||
         gc_h5_attach(g, "idle_power", 1, axes, e) ||
         gc_h5_attr_double(g, ".", "idle_power_mean_W", c->idle_power_w, e) ||
         gc_h5_attr_double(g, ".", "v_eq_V", v_eq, e) ||
         gc_h5_attr_double(g, ".", "tau_estimate_s", c->leak_tau_estimate_s, e);
    free(v);
    free(i_leak);
    free(idle);
    return rc ? -1 : 0;
}

static int store_tran(sweep_ctx *c, int first, int count, hid_t g, gc_err *e)
{
    const spice_plan *p = c->plan;
    int n0 = p->leak_n0, np = p->leak_points;
    double vdd = sweep_p(c, "vdd");
    double tstop = p->leak_tau_mult * c->leak_tau_estimate_s, v_eq;
    if (gc_h5_read_attr_double(g, ".", "v_eq_V", &v_eq, "curves", e))
        return -1;
    double *time = sweep_linspace(0, tstop, np), *v0 = sweep_linspace(0, vdd, n0);
    double *vs = malloc((size_t)n0 * np * sizeof *vs), *t1e = malloc((size_t)n0 * sizeof *t1e);
    if (!time || !v0 || !vs || !t1e) {
        free(time), free(v0), free(vs), free(t1e);
        return gc_fail(e, "leak_tran: out of memory");
    }
    int cell = 0;
    for (int j = 0; j < count; j++) {
        const spice_result *r = &c->res[first + j];
        const spice_job *job = &c->jobs[first + j];
        for (int k = 1; k < job->n_vectors; k++, cell++) {
            const double *t = r->vec[0], *v = r->vec[k];
            size_t n = r->len[0];
            for (int s = 0; s < np; s++)
                vs[cell * np + s] = sweep_interp(t, v, n, time[s]);
            /* time for the deviation from v_eq to fall to 1/e of its start */
            double d0 = fabs(v[0] - v_eq);
            t1e[cell] = NAN;
            for (size_t s = 1; s < n && d0 > 0.05 * vdd; s++)
                if (fabs(v[s] - v_eq) <= d0 / M_E) {
                    double a = fabs(v[s - 1] - v_eq), b = fabs(v[s] - v_eq);
                    t1e[cell] = t[s - 1] + (a - d0 / M_E) / (a - b) * (t[s] - t[s - 1]);
                    break;
                }
        }
    }
    double tau = fmin(t1e[0], t1e[n0 - 1]);
    if (isnan(t1e[0]))
        tau = t1e[n0 - 1];
    if (isnan(t1e[n0 - 1]))
        tau = t1e[0];
    size_t d2[2] = {(size_t)n0, (size_t)np}, d1 = (size_t)n0;
    const char *axes[] = {"v0", "time"};
    int rc = gc_h5_write_axis(g, "v0", d1, v0, "V", "initial storage voltage", e) ||
             gc_h5_write_axis(g, "time", (size_t)np, time, "s", "hold time", e) ||
             gc_h5_write(g, "v_store", 2, d2, vs, "V", "storage voltage while holding", e) ||
             gc_h5_attach(g, "v_store", 2, axes, e) ||
             gc_h5_write(g, "t_1e", 1, &d1, t1e, "s",
                         "time for |V - v_eq| to fall to 1/e of its start (NaN: not reached "
                         "or start too close to v_eq)", e) ||
             gc_h5_attach(g, "t_1e", 1, axes, e) ||
             gc_h5_attr_double(g, ".", "tau_1e_s", tau, e) ||
             gc_h5_attr_str(g, ".", "tau_1e_definition",
                            "retention time constant: the shorter 1/e time of the two "
                            "full-scale starts (0 and vdd)", e);
    free(time), free(v0), free(vs), free(t1e);
    return rc ? -1 : 0;
}

static int store(sweep_ctx *c, int phase, int first, int count, hid_t file, gc_err *e)
{
    hid_t g = gc_h5_group(file, "leak", e);
    if (g < 0)
        return -1;
    int rc = phase == 0 ? store_dc(c, first, g, e) : store_tran(c, first, count, g, e);
    H5Gclose(g);
    return rc;
}

const sweep_def sweep_leak = {"leak", 2, plan, store};
