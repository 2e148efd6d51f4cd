/* The converter sweeps: a known charge is integrated on the bit line, then converted.
 * c2p (between the arrays): pulse width versus charge, both signs, through saturation.
 * readout (after the second array): signed pulse width versus signed charge.
 * Each simulation holds one converter with its own input current pulse of area
 * Q = i * t_max. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sweep.h"

#define T_IN 0.2e-9    /* input charge starts */
#define T_GAP 0.5e-9   /* between the end of integration and the conversion window */
#define SETTLE_LEVELS 16 /* input levels for the settling criterion (PAPER.md §2: 4 bit) */

typedef struct {
    const char *name;      /* sweep and group name */
    const char *subckt;    /* template file */
    const char *inst;      /* instance line format: copy index used 5 times */
    double lo, hi;         /* charge range in units of the saturation charge */
    const char *i_ramp;    /* parameter setting the saturation charge */
    int outputs;           /* 1: out; 2: outp - outn */
} converter;

static const converter c2p = {
    "c2p", "c2p.sub", "Xc%d bl%d vo%d out%d conv vdd c2p\n", -0.3, 1.5, "i_ramp", 1};
static const converter readout = {
    "readout", "readout.sub", "Xc%d bl%d vo%d outp%d outn%d conv vdd readout\n", -1.5, 1.5,
    "i_ramp_out", 2};

static int count_of(const sweep_ctx *c, const converter *k)
{
    return k == &c2p ? c->plan->c2p_n : c->plan->readout_n;
}

static double window_start(const sweep_ctx *c)
{
    return T_IN + sweep_p(c, "t_max") + sweep_p(c, "t_edge") + T_GAP;
}

static double q_sat(const sweep_ctx *c, const converter *k)
{
    return sweep_p(c, k->i_ramp) * sweep_p(c, "t_max");
}

/* One converter per simulation: copies in one netlist would switch at different times and
 * force each other onto small time steps, so the cost would grow with their square. */
static int plan_conv(sweep_ctx *c, const converter *k, gc_err *e)
{
    int n = count_of(c, k);
    double tmax = sweep_p(c, "t_max"), te = sweep_p(c, "t_edge"), tw = window_start(c);
    double *q = sweep_linspace(k->lo * q_sat(c, k), k->hi * q_sat(c, k), n);
    const char *templates[] = {"integrator.sub", k->subckt};
    if (!q)
        return gc_fail(e, "%s: out of memory", k->name);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        double amp = q[i] / tmax; /* a trapezoid of area amp * t_max */
        sweep_text b = {0};
        sweep_printf(&b, "Vdd vdd 0 {vdd}\n"
                         "Vconv conv 0 pwl(0 0 %.6e 0 %.6e {vdd} %.6e {vdd} %.6e 0)\n"
                         "Iq%d 0 bl%d pwl(0 0 %.6e 0 %.6e %.10g %.6e %.10g %.6e 0)\n"
                         "Xi%d bl%d vo%d vdd integ\n",
                     tw - te / 2, tw + te / 2, tw + tmax - te / 2, tw + tmax + te / 2, i, i, T_IN,
                     T_IN + te, amp, T_IN + tmax, amp, T_IN + tmax + te, i, i, i);
        sweep_printf(&b, k->inst, i, i, i, i, i);
        sweep_printf(&b, ".tran %.4e %.6e 0 %.4e\n", fmin(te / 5, 10e-12),
                     tw + tmax + te + 0.5e-9, 50e-12);
        char outs[3][24], name[64];
        snprintf(outs[0], sizeof outs[0], k->outputs == 1 ? "out%d" : "outp%d", i);
        snprintf(outs[1], sizeof outs[1], "outn%d", i);
        snprintf(outs[2], sizeof outs[2], "vo%d", i);
        /* the integrator output comes last: after out (c2p) or outp, outn (readout) */
        const char *vec[] = {"time", "vdd#branch", outs[0], k->outputs == 1 ? outs[2] : outs[1],
                             outs[2]};
        snprintf(name, sizeof name, "%s[q %d]", k->name, i);
        rc = sweep_text_check(&b, name, e) ||
             sweep_add(c, name, templates, 2, SWEEP_OPTIONS, b.s, vec, 3 + k->outputs, e);
        free(b.s);
    }
    free(q);
    return rc ? -1 : 0;
}

static int store_conv(sweep_ctx *c, const converter *k, int first, int count, hid_t file,
                      gc_err *e)
{
    int n = count_of(c, k);
    double vdd = sweep_p(c, "vdd"), tmax = sweep_p(c, "t_max"), tw = window_start(c);
    double *q = sweep_linspace(k->lo * q_sat(c, k), k->hi * q_sat(c, k), n);
    double *width = malloc((size_t)n * sizeof *width), e_conv = 0;
    double *energy = malloc((size_t)n * sizeof *energy);
    double *settle = malloc((size_t)n * sizeof *settle);
    int oom = !q || !width || !energy || !settle;
    /* half an input LSB (PAPER.md §2: 4-bit inputs, 16 levels up to saturation) on c_int */
    double half_lsb_v = 0.5 * q_sat(c, k) / SETTLE_LEVELS / sweep_p(c, "c_int");
    double t_in_end = T_IN + tmax + sweep_p(c, "t_edge");
    for (int i = 0; i < count && !oom; i++) { /* simulation i holds converter i */
        const spice_result *r = &c->res[first + i];
        const double *t = r->vec[0];
        size_t nt = r->len[0];
        double *pw = malloc(nt * sizeof *pw);
        if (!pw) {
            oom = 1;
            break;
        }
        for (size_t s = 0; s < nt; s++) /* supply power; absorbed power is not recovered */
            pw[s] = fmax(0, -vdd * r->vec[1][s]);
        energy[i] = sweep_trapz_window(t, pw, nt, tw, tw + tmax);
        /* integrator settling: from the end of the input until vo stays within half an LSB
         * of its value at the window */
        const double *vo = r->vec[2 + k->outputs];
        double v_end = sweep_interp(t, vo, nt, tw), last = t_in_end;
        for (size_t s = 0; s < nt && t[s] <= tw; s++)
            if (t[s] >= t_in_end && fabs(vo[s] - v_end) > half_lsb_v)
                last = t[s];
        settle[i] = last - t_in_end;
        e_conv += energy[i];
        free(pw);
        width[i] = sweep_trapz(t, r->vec[2], nt) / vdd;
        if (k->outputs == 2)
            width[i] -= sweep_trapz(t, r->vec[3], nt) / vdd;
    }
    if (oom) {
        free(q), free(width), free(energy), free(settle);
        return gc_fail(e, "%s: out of memory", k->name);
    }
    e_conv /= n;
    if (k == &c2p)
        c->c2p_energy_j = e_conv;
    else
        c->readout_energy_j = e_conv;
    hid_t g = gc_h5_group(file, k->name, e);
    size_t d = (size_t)n;
    const char *ax[] = {"charge"};
    int rc = g < 0 || gc_h5_write_axis(g, "charge", d, q, "C", "charge integrated on the bit line", e) ||
             gc_h5_write(g, k->outputs == 1 ? "pulse_width" : "pulse_signed", 1, &d, width, "s",
                         k->outputs == 1 ? "output pulse width"
                                         : "signed output pulse width (positive minus negative)",
                         e) ||
             gc_h5_attach(g, k->outputs == 1 ? "pulse_width" : "pulse_signed", 1, ax, e) ||
             gc_h5_write(g, "energy", 1, &d, energy, "J",
                         "supply energy of the conversion window at this charge (transistor "
                         "parts and reference currents from vdd; the behavioural comparators "
                         "draw none: see i_bias_cmp)", e) ||
             gc_h5_attach(g, "energy", 1, ax, e) ||
             gc_h5_write(g, "t_settle", 1, &d, settle, "s",
                         "integrator settling: from the end of the input charge until the "
                         "integrator output stays within half an input LSB (s_sat / 16 / 2 on "
                         "c_int) of its value at the conversion window", e) ||
             gc_h5_attach(g, "t_settle", 1, ax, e) ||
             gc_h5_attr_double(g, ".", "s_sat_nominal_C", q_sat(c, k), e) ||
             gc_h5_attr_double(g, ".", "t_max_s", tmax, e) ||
             gc_h5_attr_double(g, ".", "energy_per_conversion_J", e_conv, e);
    if (g >= 0)
        H5Gclose(g);
    free(q);
    free(width);
    free(energy);
    free(settle);
    return rc ? -1 : 0;
}

static int plan_c2p(sweep_ctx *c, int phase, gc_err *e)
{
    (void)phase;
    return plan_conv(c, &c2p, e);
}

static int store_c2p(sweep_ctx *c, int phase, int first, int count, hid_t file, gc_err *e)
{
    (void)phase;
    return store_conv(c, &c2p, first, count, file, e);
}

static int plan_readout(sweep_ctx *c, int phase, gc_err *e)
{
    (void)phase;
    return plan_conv(c, &readout, e);
}

static int store_readout(sweep_ctx *c, int phase, int first, int count, hid_t file, gc_err *e)
{
    (void)phase;
    return store_conv(c, &readout, first, count, file, e);
}

const sweep_def sweep_c2p = {"c2p", 1, plan_c2p, store_c2p};
const sweep_def sweep_readout = {"readout", 1, plan_readout, store_readout};
