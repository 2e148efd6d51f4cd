/* The standard-cell sweep: an inverter, a 2-input NAND and a D flip-flop in the
 * technology's logic devices (spice/netlists/stdcells.sub), each driven by an inverter and
 * loaded by four of its kind (fan-out of 4) plus a local wire. The cell under test has its
 * own supply, so its energy per output toggle is the charge that supply delivers over whole
 * cycles times vdd, divided by the output toggles; the delay is the mean 50 % delay from
 * input (the clock for the flip-flop) to output. The flip-flop toggles (d = qb), as a
 * counter bit does: one output toggle per clock cycle. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sweep.h"

#define PERIOD_S 2e-9   /* input (clock) period */
#define T0_S 0.2e-9     /* first input edge */
#define CYCLES 4        /* measured cycles, after one to settle */

typedef struct {
    const char *name;      /* group name under /stdcell */
    const char *dut;       /* instance line of the cell under test: input a, output y */
    const char *load;      /* one load instance, %d its index, input y */
    int toggles_per_cycle; /* output toggles per input period */
} stdcell;

static const stdcell cells[] = {
    {"inv", "Xdut a y vdut inv\n", "Xl%d y l%d vdd inv\n", 2},
    {"nand2", "Xdut a vdd y vdut nand2\n", "Xl%d y vdd l%d vdd nand2\n", 2},
    {"dff", "Xdut qb a y qb vdut dff\n", "Xl%d y l%d vdd inv\n", 1},
};
#define N_CELLS (int)(sizeof cells / sizeof cells[0])

static const char *const templates[] = {"stdcells.sub"};

static int plan(sweep_ctx *c, int phase, gc_err *e)
{
    (void)phase;
    double vdd = sweep_p(c, "vdd"), te = sweep_p(c, "t_edge");
    for (int k = 0; k < N_CELLS; k++) {
        sweep_text b = {0};
        /* the driver inverts: a starts low (the flip-flop's master transparent) */
        sweep_printf(&b, "Vdd vdd 0 {vdd}\nVdut vdut 0 {vdd}\n"
                         "Vin in 0 pulse({vdd} 0 %.6e %.6e %.6e %.6e %.6e)\n"
                         "Xdrv in a vdd inv\n%s"
                         "Cw y 0 {c_wire_logic}\n",
                     T0_S, te, te, PERIOD_S / 2 - te, PERIOD_S, cells[k].dut);
        for (int l = 0; l < 4; l++)
            sweep_printf(&b, cells[k].load, l, l);
        if (k == 2) /* a defined start: q low, so d = qb high */
            sweep_printf(&b, ".ic v(y)=0 v(qb)=%.6g v(xdut.s1)=0 v(xdut.m1)=%.6g\n", vdd, vdd);
        sweep_printf(&b, ".tran %.4e %.6e 0 %.4e\n", fmin(te / 5, 5e-12),
                     T0_S + (CYCLES + 1) * PERIOD_S, 10e-12);
        char name[64];
        snprintf(name, sizeof name, "stdcell[%s]", cells[k].name);
        const char *vec[] = {"time", "vdut#branch", "a", "y"};
        int rc = sweep_text_check(&b, name, e) ||
                 sweep_add(c, name, templates, 1, SWEEP_OPTIONS, b.s, vec, 4, e);
        free(b.s);
        if (rc)
            return -1;
    }
    return 0;
}

/* Times at which x crosses level in [t0, t1] (rising if dir > 0, falling if < 0, both if 0). */
static int crossings(const double *t, const double *x, size_t n, double level, int dir,
                     double t0, double t1, double *out, int max)
{
    int m = 0;
    for (size_t k = 1; k < n && m < max; k++) {
        if (t[k] < t0 || t[k - 1] > t1)
            continue;
        int up = x[k - 1] < level && x[k] >= level, down = x[k - 1] > level && x[k] <= level;
        if ((up && dir >= 0) || (down && dir <= 0))
            out[m++] = t[k - 1] + (level - x[k - 1]) / (x[k] - x[k - 1]) * (t[k] - t[k - 1]);
    }
    return m;
}

static int store(sweep_ctx *c, int phase, int first, int count, hid_t file, gc_err *e)
{
    (void)phase;
    double vdd = sweep_p(c, "vdd");
    double w0 = T0_S + PERIOD_S, w1 = T0_S + (CYCLES + 1) * PERIOD_S;
    hid_t g = gc_h5_group(file, "stdcell", e);
    if (g < 0)
        return -1;
    int rc = gc_h5_attr_str(g, ".", "description",
                            "standard cells at fan-out 4: supply energy per output toggle "
                            "and 50 % delay (input or clock to output)", e);
    for (int k = 0; k < count && k < N_CELLS && rc == 0; k++) {
        const spice_result *r = &c->res[first + k];
        const double *t = r->vec[0];
        size_t n = r->len[0];
        double *pw = malloc(n * sizeof *pw);
        if (!pw) {
            rc = gc_fail(e, "stdcell: out of memory");
            break;
        }
        for (size_t s = 0; s < n; s++) /* power the cell's supply delivers */
            pw[s] = -vdd * r->vec[1][s];
        double energy = sweep_trapz_window(t, pw, n, w0, w1);
        free(pw);
        int toggles = CYCLES * cells[k].toggles_per_cycle;
        double tin[64], tout[64], delay = 0;
        int dir = k == 2 ? 1 : 0; /* the flip-flop responds to the rising clock only */
        int nin = crossings(t, r->vec[2], n, vdd / 2, dir, w0, w1, tin, 64);
        int nout = crossings(t, r->vec[3], n, vdd / 2, 0, w0, w1 + PERIOD_S / 2, tout, 64);
        int used = 0;
        for (int i = 0, j = 0; i < nin; i++) {
            while (j < nout && tout[j] < tin[i])
                j++;
            if (j < nout) {
                delay += tout[j] - tin[i];
                used++;
            }
        }
        if (nout < toggles || used == 0) {
            rc = gc_fail(e, "%s: the output toggled %d times in %d cycles (expected %d): the "
                         "cell does not switch", c->jobs[first + k].name, nout, CYCLES,
                         toggles);
            break;
        }
        delay /= used;
        hid_t s = gc_h5_group(g, cells[k].name, e);
        rc = s < 0 || gc_h5_attr_double(s, ".", "e_toggle_J", energy / toggles, e) ||
             gc_h5_attr_double(s, ".", "delay_s", delay, e) ||
             gc_h5_attr_double(s, ".", "period_s", PERIOD_S, e) ||
             gc_h5_attr_double(s, ".", "output_toggles", toggles, e) ||
             gc_h5_attr_str(s, ".", "definition",
                            "e_toggle_J = vdd x charge from the cell's own supply over the "
                            "measured cycles / output toggles (fan-out 4 of its kind plus "
                            "c_wire_logic); delay_s = mean 50 % delay from input (flip-flop: "
                            "rising clock) to the next output crossing", e);
        if (s >= 0)
            H5Gclose(s);
    }
    H5Gclose(g);
    return rc ? -1 : 0;
}

const sweep_def sweep_stdcell = {"stdcell", 1, plan, store};
