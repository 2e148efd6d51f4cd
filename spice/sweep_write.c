/* The write sweep: each DAC level written into a cell that starts at the opposite rail
 * (the slowest case), then the word line turns off (charge injection and clock
 * feed-through shift the node) and the write bit line returns to mid-rail. Records the
 * stored voltage, the shift at turn-off, the settling time and the energy per write. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sweep.h"

static const char *const cell_only[] = {"cell"};

#define T_DAC 0.1e-9  /* the DAC drives the write bit line */
#define T_ON 0.3e-9   /* word line rises */
#define T_TAIL 2e-9   /* hold after turn-off before the stored voltage is read */

static double t_off(const sweep_ctx *c)
{
    return T_ON + sweep_p(c, "t_edge") + sweep_p(c, "t_write");
}

/* The word-line pulses of a write, one pair of sources shared by the cells. */
static void word_lines(sweep_text *b, double te, double toff)
{
    for (int k = 0; k < 2; k++)
        sweep_printf(b, "Vwwl%s wwl%s 0 pwl(0 {%s} %.6e {%s} %.6e {%s} %.6e {%s} %.6e {%s})\n",
                     k ? "b" : "", k ? "b" : "", k ? "vdd-v_wwl_off" : "v_wwl_off", T_ON,
                     k ? "vdd-v_wwl_off" : "v_wwl_off", T_ON + te, k ? "vdd-v_wwl_on" : "v_wwl_on",
                     toff, k ? "vdd-v_wwl_on" : "v_wwl_on", toff + te,
                     k ? "vdd-v_wwl_off" : "v_wwl_off");
}

/* Energy per write for every (previous level, new level): levels^2 cells, cell p*n+q starting
 * at DAC level p's voltage and written to level q, each from its own bit-line driver. */
static int plan_pairs(sweep_ctx *c, gc_err *e)
{
    int n = c->plan->write_levels;
    double vdd = sweep_p(c, "vdd"), te = sweep_p(c, "t_edge"), toff = t_off(c);
    double tret = toff + te + 0.2e-9, tstop = toff + te + T_TAIL;
    sweep_text b = {0};
    sweep_printf(&b, "Vdd vdd 0 {vdd}\nVrwl rwl 0 {vdd/2}\nVrwlb rwlb 0 {vdd/2}\n"
                     "Vbl bl 0 {vdd/2}\n");
    word_lines(&b, te, toff);
    for (int i = 0; i < n * n; i++) {
        double v0 = vdd * (i / n) / (n - 1), v = vdd * (i % n) / (n - 1);
        sweep_printf(&b, "Vwbl%d wbl%d 0 pwl(0 {vdd/2} %.6e {vdd/2} %.6e %.10g %.6e %.10g "
                         "%.6e {vdd/2})\n"
                         "X%d sn%d wbl%d wwl wwlb rwl rwlb bl vdd gcell\n.ic v(sn%d)=%.10g\n",
                     i, i, T_DAC, T_DAC + te, v, tret, v, tret + te, i, i, i, i, v0);
    }
    sweep_printf(&b, ".tran %.4e %.6e\n", fmin(te / 5, 10e-12), tstop);
    int nvec = 5 + 2 * n * n;
    const char **vec = malloc((size_t)nvec * sizeof *vec);
    char (*names)[24] = malloc((size_t)nvec * sizeof *names);
    int rc = !vec || !names ? gc_fail(e, "write_pairs: out of memory")
                            : sweep_text_check(&b, "write_pairs", e);
    if (rc == 0) {
        const char *fixed[] = {"time", "wwl", "wwlb", "vwwl#branch", "vwwlb#branch"};
        for (int k = 0; k < 5; k++)
            vec[k] = fixed[k];
        for (int i = 0; i < n * n; i++) {
            snprintf(names[2 * i], 24, "wbl%d", i);
            snprintf(names[2 * i + 1], 24, "vwbl%d#branch", i);
            vec[5 + 2 * i] = names[2 * i];
            vec[6 + 2 * i] = names[2 * i + 1];
        }
        rc = sweep_add(c, "write_pairs", cell_only, 1, SWEEP_OPTIONS, b.s, vec, nvec, e);
    }
    free(vec);
    free(names);
    free(b.s);
    return rc;
}

/* Energy of each (previous, new) write: the cell's bit-line driver plus a 1/levels^2 share of
 * the word-line drivers, each counted as power it delivers (-v i > 0). */
static int store_pairs(sweep_ctx *c, int job, hid_t file, gc_err *e)
{
    int n = c->plan->write_levels;
    const spice_result *r = &c->res[job];
    const double *t = r->vec[0];
    size_t nt = r->len[0];
    double *pw = malloc(nt * sizeof *pw), *energy = malloc((size_t)n * n * sizeof *energy);
    if (!pw || !energy) {
        free(pw), free(energy);
        return gc_fail(e, "write_pairs: out of memory");
    }
    for (size_t k = 0; k < nt; k++)
        pw[k] = fmax(0, -r->vec[1][k] * r->vec[3][k]) + fmax(0, -r->vec[2][k] * r->vec[4][k]);
    double e_wl = sweep_trapz(t, pw, nt) / (n * n);
    for (int i = 0; i < n * n; i++) {
        const double *wbl = r->vec[5 + 2 * i], *iw = r->vec[6 + 2 * i];
        for (size_t k = 0; k < nt; k++)
            pw[k] = fmax(0, -wbl[k] * iw[k]);
        energy[i] = sweep_trapz(t, pw, nt) + e_wl;
    }
    free(pw);
    hid_t g = gc_h5_group(file, "write", e);
    size_t d[2] = {(size_t)n, (size_t)n};
    const char *ax[] = {"level", "level"};
    int rc = g < 0 ||
             gc_h5_write(g, "energy_pair", 2, d, energy, "J",
                         "energy per write from the previous level (row; the node starts at "
                         "that level's DAC voltage) to the new level (column): bit-line driver "
                         "plus a 1/levels^2 share of the word-line drivers", e) ||
             gc_h5_attach(g, "energy_pair", 2, ax, e);
    if (g >= 0)
        H5Gclose(g);
    free(energy);
    return rc ? -1 : 0;
}

static int plan(sweep_ctx *c, int phase, gc_err *e)
{
    (void)phase;
    int n = c->plan->write_levels;
    double vdd = sweep_p(c, "vdd"), te = sweep_p(c, "t_edge"), toff = t_off(c);
    double tret = toff + te + 0.2e-9, tstop = toff + te + T_TAIL;
    sweep_text b = {0};
    sweep_printf(&b, "Vdd vdd 0 {vdd}\nVrwl rwl 0 {vdd/2}\nVrwlb rwlb 0 {vdd/2}\n"
                     "Vbl bl 0 {vdd/2}\n");
    word_lines(&b, te, toff);
    for (int i = 0; i < n; i++) {
        double v = vdd * i / (n - 1);
        sweep_printf(&b, "Vwbl%d wbl%d 0 pwl(0 {vdd/2} %.6e {vdd/2} %.6e %.10g %.6e %.10g "
                         "%.6e {vdd/2})\n"
                         "X%d sn%d wbl%d wwl wwlb rwl rwlb bl vdd gcell\n.ic v(sn%d)=%.10g\n",
                     i, i, T_DAC, T_DAC + te, v, tret, v, tret + te, i, i, i, i, vdd - v);
    }
    sweep_printf(&b, ".tran %.4e %.6e\n", fmin(te / 5, 10e-12), tstop);
    int nvec = 5 + 3 * n;
    const char **vec = malloc((size_t)nvec * sizeof *vec);
    char (*names)[24] = malloc((size_t)nvec * sizeof *names);
    int rc = !vec || !names ? gc_fail(e, "write: out of memory") : sweep_text_check(&b, "write", e);
    if (rc) {
        free(vec), free(names), free(b.s);
        return -1;
    }
    const char *fixed[] = {"time", "wwl", "wwlb", "vwwl#branch", "vwwlb#branch"};
    for (int k = 0; k < 5; k++)
        vec[k] = fixed[k];
    for (int i = 0; i < n; i++) {
        snprintf(names[3 * i], 24, "sn%d", i);
        snprintf(names[3 * i + 1], 24, "wbl%d", i);
        snprintf(names[3 * i + 2], 24, "vwbl%d#branch", i);
        for (int k = 0; k < 3; k++)
            vec[5 + 3 * i + k] = names[3 * i + k];
    }
    rc = sweep_add(c, "write", cell_only, 1, SWEEP_OPTIONS, b.s, vec, nvec, e);
    free(vec);
    free(names);
    free(b.s);
    return rc || plan_pairs(c, e) ? -1 : 0;
}

static int store(sweep_ctx *c, int phase, int first, int count, hid_t file, gc_err *e)
{
    (void)phase, (void)count;
    int n = c->plan->write_levels;
    double vdd = sweep_p(c, "vdd"), toff = t_off(c);
    const spice_result *r = &c->res[first];
    const double *t = r->vec[0];
    size_t nt = r->len[0];
    double *level = sweep_linspace(0, n - 1, n), *v_dac = sweep_linspace(0, vdd, n);
    double *stored = malloc((size_t)n * sizeof *stored), *before = malloc((size_t)n * sizeof *before);
    double *settle = malloc((size_t)n * sizeof *settle), *energy = malloc((size_t)n * sizeof *energy);
    double *settle_lsb = malloc((size_t)n * sizeof *settle_lsb);
    double *pw = malloc(nt * sizeof *pw);
    if (!level || !v_dac || !stored || !before || !settle || !energy || !pw || !settle_lsb) {
        free(level), free(v_dac), free(stored), free(before), free(settle), free(energy);
        free(pw), free(settle_lsb);
        return gc_fail(e, "write: out of memory");
    }
    /* drivers deliver -v * i; power they absorb is dissipated, not recovered */
    for (size_t k = 0; k < nt; k++) /* word-line drivers, shared by the n cells */
        pw[k] = fmax(0, -r->vec[1][k] * r->vec[3][k]) + fmax(0, -r->vec[2][k] * r->vec[4][k]);
    double e_wl = sweep_trapz(t, pw, nt) / n;
    for (int i = 0; i < n; i++) {
        const double *sn = r->vec[5 + 3 * i], *wbl = r->vec[6 + 3 * i], *iw = r->vec[7 + 3 * i];
        stored[i] = sn[nt - 1];
        before[i] = sweep_interp(t, sn, nt, toff);
        /* settled: the last time before turn-off that the node was more than 1 % of vdd away */
        double last_out = T_ON;
        for (size_t k = 0; k < nt && t[k] <= toff; k++)
            if (t[k] >= T_ON && fabs(sn[k] - before[i]) > 0.01 * vdd)
                last_out = t[k];
        settle[i] = last_out - T_ON;
        /* the same to half a DAC step, the accuracy a write needs */
        double half_lsb = 0.5 * vdd / (n - 1);
        last_out = T_ON;
        for (size_t k = 0; k < nt && t[k] <= toff; k++)
            if (t[k] >= T_ON && fabs(sn[k] - before[i]) > half_lsb)
                last_out = t[k];
        settle_lsb[i] = last_out - T_ON;
        for (size_t k = 0; k < nt; k++)
            pw[k] = fmax(0, -wbl[k] * iw[k]);
        energy[i] = sweep_trapz(t, pw, nt) + e_wl;
        c->write_energy_j += energy[i] / n;
    }
    free(pw);
    hid_t g = gc_h5_group(file, "write", e);
    size_t d = (size_t)n;
    const char *ax[] = {"level"};
    int rc = g < 0 || gc_h5_write_axis(g, "level", d, level, "1", "DAC level", e) ||
             gc_h5_write(g, "v_dac", 1, &d, v_dac, "V", "write bit-line voltage of the level", e) ||
             gc_h5_write(g, "v_stored", 1, &d, stored, "V",
                         "storage voltage after the write, turn-off and bit-line return", e) ||
             gc_h5_write(g, "v_before_off", 1, &d, before, "V",
                         "storage voltage just before the word line turns off", e) ||
             gc_h5_write(g, "t_settle", 1, &d, settle, "s",
                         "time from word-line rise until the node stays within 1 % of vdd of "
                         "its final on-state value (start at the opposite rail)", e) ||
             gc_h5_write(g, "t_settle_half_lsb", 1, &d, settle_lsb, "s",
                         "time from word-line rise until the node stays within half a DAC step "
                         "(vdd / (levels - 1) / 2) of its final on-state value (start at the "
                         "opposite rail)", e) ||
             gc_h5_attach(g, "t_settle_half_lsb", 1, ax, e) ||
             gc_h5_write(g, "energy", 1, &d, energy, "J",
                         "energy per write: bit-line driver plus a 1/levels share of the "
                         "word-line drivers", e) ||
             gc_h5_attach(g, "v_dac", 1, ax, e) || gc_h5_attach(g, "v_stored", 1, ax, e) ||
             gc_h5_attach(g, "v_before_off", 1, ax, e) || gc_h5_attach(g, "t_settle", 1, ax, e) ||
             gc_h5_attach(g, "energy", 1, ax, e) ||
             gc_h5_attr_double(g, ".", "t_write_s", sweep_p(c, "t_write"), e);
    if (g >= 0)
        H5Gclose(g);
    free(level), free(v_dac), free(stored), free(before), free(settle), free(energy);
    free(settle_lsb);
    return rc || store_pairs(c, first + 1, file, e) ? -1 : 0;
}

const sweep_def sweep_write = {"write", 1, plan, store};
