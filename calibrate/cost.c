/* The cost side of calibration: the energy tables of the sweeps and the parameters a cost
 * report needs, carried from curves.h5 into cell.h5 (cellmodel/energy.c reads them).
 *
 * A parameter is simulated (measured by our SPICE runs: the phase durations of the sweeps,
 * the standard cells' toggle energies) or declared (a technology parameter; its description
 * names the source, and a derived one says how it follows from them). Curves without a
 * technology parameter give no parameter derived from it: cellmodel then reports it absent. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"

#define COST_MAX_J 1.0   /* J, the largest energy a table may hold */
#define COST_MAX_W 1.0   /* W, one idle cell */

/* ---------------------------------------------------------------------------------------- */
/* Reading curves.h5 */

typedef struct {
    hid_t f;
    const char *path;
    gc_err *e;
} reader;

static int has(reader *R, const char *name)
{
    return H5Lexists(R->f, name, H5P_DEFAULT) > 0;
}

/* An optional dataset of exactly n finite values in [lo, hi]; *out stays NULL if absent. */
static int optional(reader *R, const char *name, size_t n, double lo, double hi,
                    const char *unit, double **out)
{
    return has(R, name) ? gc_h5_read_values(R->f, name, n, lo, hi, unit, out, R->path, R->e)
                        : 0;
}

/* Every /params dataset (one value each) with its units and description. */
static int load_tech(reader *R, calib_curves *c)
{
    if (!has(R, "params"))
        return 0;
    hid_t g = H5Gopen2(R->f, "params", H5P_DEFAULT);
    H5G_info_t info;
    if (g < 0 || H5Gget_info(g, &info) < 0) {
        if (g >= 0)
            H5Gclose(g);
        return gc_fail(R->e, "%s: cannot read group /params", R->path);
    }
    c->tech = calloc(info.nlinks ? info.nlinks : 1, sizeof *c->tech);
    int rc = c->tech ? 0 : gc_fail(R->e, "%s: out of memory", R->path);
    for (hsize_t i = 0; rc == 0 && i < info.nlinks; i++) {
        struct calib_tech_param *p = &c->tech[c->n_tech];
        char obj[80], *s = NULL;
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, p->name,
                                         sizeof p->name, H5P_DEFAULT);
        if (len < 0 || len >= (ssize_t)sizeof p->name) {
            rc = gc_fail(R->e, "%s: cannot read the names in /params", R->path);
            break;
        }
        snprintf(obj, sizeof obj, "params/%s", p->name);
        double *v = NULL;
        if (optional(R, obj, 1, -HUGE_VAL, HUGE_VAL, "", &v)) {
            rc = -1;
            break;
        }
        p->value = v[0];
        free(v);
        if (H5Aexists_by_name(g, p->name, "units", H5P_DEFAULT) > 0) {
            if (gc_h5_read_attr_str(g, p->name, "units", &s, R->path, R->e)) {
                rc = -1;
                break;
            }
            snprintf(p->unit, sizeof p->unit, "%s", s);
            free(s);
        }
        if (H5Aexists_by_name(g, p->name, "description", H5P_DEFAULT) > 0) {
            if (gc_h5_read_attr_str(g, p->name, "description", &s, R->path, R->e)) {
                rc = -1;
                break;
            }
            snprintf(p->description, sizeof p->description, "%s", s);
            free(s);
        }
        c->n_tech++;
    }
    H5Gclose(g);
    return rc;
}

/* /stdcell: one subgroup per cell with attributes e_toggle_J and delay_s. */
static int load_stdcells(reader *R, calib_curves *c)
{
    static const char *const names[] = {"inv", "nand2", "dff"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char obj[64];
        snprintf(obj, sizeof obj, "stdcell/%s", names[i]);
        if (!has(R, obj))
            continue;
        double et, d;
        if (gc_h5_read_attr_double(R->f, obj, "e_toggle_J", &et, R->path, R->e) ||
            gc_h5_read_attr_double(R->f, obj, "delay_s", &d, R->path, R->e))
            return -1;
        if (!isfinite(et) || et < 0 || et > COST_MAX_J || !isfinite(d) || d < 0 || d > 1)
            return gc_fail(R->e, "%s: /%s: e_toggle_J %g or delay_s %g is not a number in "
                           "[0, 1]", R->path, obj, et, d);
        snprintf(c->stdcell[c->n_stdcell].name, sizeof c->stdcell[0].name, "%s", names[i]);
        c->stdcell[c->n_stdcell].e_toggle_j = et;
        c->stdcell[c->n_stdcell].delay_s = d;
        c->n_stdcell++;
    }
    return 0;
}

int calib_cost_load(hid_t f, const char *path, calib_curves *c, gc_err *e)
{
    reader R = {f, path, e};
    double *settle = NULL, *idle = NULL, *s_c2p = NULL, *s_ro = NULL;
    int rc = optional(&R, "read/supply_energy", (size_t)c->n_p * c->n_v, -COST_MAX_J,
                      COST_MAX_J, "J", &c->e_read_supply) ||
             (c->c2p_q && optional(&R, "c2p/energy", (size_t)c->n_c2p, -COST_MAX_J, COST_MAX_J,
                                   "J", &c->e_c2p_tab)) ||
             (c->ro_q && optional(&R, "readout/energy", (size_t)c->n_ro, -COST_MAX_J,
                                  COST_MAX_J, "J", &c->e_ro_tab)) ||
             (c->w_level && optional(&R, "write/energy_pair", (size_t)c->n_w * c->n_w,
                                     -COST_MAX_J, COST_MAX_J, "J", &c->e_write_pair)) ||
             (c->w_level && optional(&R, "write/t_settle_half_lsb", (size_t)c->n_w, 0, 1, "s",
                                     &settle)) ||
             optional(&R, "energy/idle_power_cell", 1, 0, COST_MAX_W, "W", &idle) ||
             (c->c2p_q && optional(&R, "c2p/t_settle", (size_t)c->n_c2p, 0, 1, "s", &s_c2p)) ||
             (c->ro_q && optional(&R, "readout/t_settle", (size_t)c->n_ro, 0, 1, "s", &s_ro)) ||
             load_stdcells(&R, c) || load_tech(&R, c);
    if (settle)
        for (int i = 0; i < c->n_w; i++)
            c->t_settle_lsb_s = fmax(c->t_settle_lsb_s, settle[i]);
    if (idle) {
        c->p_idle_w = idle[0];
        c->has_idle = 1;
    }
    for (int i = 0; s_c2p && i < c->n_c2p; i++)
        c->t_integ_settle_s = fmax(c->t_integ_settle_s, s_c2p[i]);
    for (int i = 0; s_ro && i < c->n_ro; i++)
        c->t_integ_settle_s = fmax(c->t_integ_settle_s, s_ro[i]);
    free(settle);
    free(idle);
    free(s_c2p);
    free(s_ro);
    return rc ? -1 : 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The cost parameters */

static const struct calib_tech_param *tech(const calib_curves *c, const char *name)
{
    for (int i = 0; i < c->n_tech; i++)
        if (!strcmp(c->tech[i].name, name))
            return &c->tech[i];
    return NULL;
}

static int put(hid_t g, const char *name, const char *unit, const char *source, double v,
               int simulated, gc_err *e)
{
    size_t one = 1;
    return gc_h5_write(g, name, 1, &one, &v, unit, source, e) ||
                   gc_h5_attr_double(g, name, "simulated", simulated, e)
               ? -1
               : 0;
}

/* A declared parameter copied from the technology parameter tname, times vdd for a power. */
static int put_tech(const calib_curves *c, hid_t g, const char *name, const char *unit,
                    const char *tname, int times_vdd, gc_err *e)
{
    const struct calib_tech_param *p = tech(c, tname);
    if (!p)
        return 0;
    char src[600];
    snprintf(src, sizeof src, "declared: technology parameter %s%s: %s", tname,
             times_vdd ? " x vdd" : "", p->description);
    return put(g, name, unit, src, p->value * (times_vdd ? c->vdd_v : 1), 0, e);
}

static double max_abs(const double *x, int n)
{
    double m = 0;
    for (int i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

/* Phase durations: measured where the sweeps measure them, else the technology's. */
static int put_times(const calib_curves *c, hid_t g, gc_err *e)
{
    int spice = !c->imported;
    if (put_tech(c, g, "t_write_s", "s", "t_write", 0, e) ||
        put_tech(c, g, "t_max_s", "s", "t_max", 0, e))
        return -1;
    if (spice && c->c2p_p &&
        put(g, "t_c2p_s", "s", "simulated: the longest charge-to-pulse output pulse of the c2p "
            "sweep (the saturated conversion)", max_abs(c->c2p_p, c->n_c2p), 1, e))
        return -1;
    if (spice && c->ro_p &&
        put(g, "t_readout_s", "s", "simulated: the longest signed readout pulse of the readout "
            "sweep (the saturated conversion)", max_abs(c->ro_p, c->n_ro), 1, e))
        return -1;
    if (c->t_integ_settle_s > 0 &&
        (put(g, "t_integrator_settle_s", "s", "simulated: slowest integrator settling to half "
             "an input LSB after the input ends, c2p and readout sweeps (t_settle)",
             c->t_integ_settle_s, 1, e) ||
         put(g, "t_q_phase_s", "s", "simulated: the Q pulse phase, the technology's full pulse "
             "t_max plus the integrator's settling t_integrator_settle_s",
             c->t_max_s + c->t_integ_settle_s, 1, e) ||
         (spice && c->c2p_p &&
          put(g, "t_phi_phase_s", "s", "simulated: the phi pulse phase, the longest "
              "charge-to-pulse output t_c2p_s plus the integrator's settling",
              max_abs(c->c2p_p, c->n_c2p) + c->t_integ_settle_s, 1, e))))
        return -1;
    if (c->t_settle_lsb_s > 0 &&
        put(g, "t_write_settle_s", "s", "simulated: slowest write (from the opposite rail) "
            "to within half a DAC step, write/t_settle_half_lsb", c->t_settle_lsb_s, 1, e))
        return -1;
    return 0;
}

/* Areas from layout rules: the capacitors over their density, plus declared blocks. */
static int put_areas(const calib_curves *c, hid_t g, gc_err *e)
{
    const struct calib_tech_param *dens = tech(c, "c_mim_density"), *cs = tech(c, "c_store"),
                                    *ci = tech(c, "c_int"), *ota = tech(c, "area_ota"),
                                    *conv = tech(c, "area_conv");
    char src[1100];
    if (dens && cs && dens->value > 0) {
        snprintf(src, sizeof src, "declared: c_store / c_mim_density (the capacitor over the "
                 "cell's transistors sets its footprint); c_mim_density: %s", dens->description);
        if (put(g, "area_cell_m2", "m2", src, cs->value / dens->value, 0, e))
            return -1;
    }
    if (dens && ci && ota && conv && dens->value > 0) {
        snprintf(src, sizeof src, "declared: c_int / c_mim_density + area_ota + area_conv; "
                 "area_ota: %s; area_conv: %s", ota->description, conv->description);
        if (put(g, "area_column_periphery_m2", "m2", src,
                ci->value / dens->value + ota->value + conv->value, 0, e))
            return -1;
    }
    return put_tech(c, g, "area_counter_bit_m2", "m2", "area_counter_bit", 0, e) ||
                   put_tech(c, g, "area_adder_bit_m2", "m2", "area_adder_bit", 0, e) ||
                   put_tech(c, g, "area_dac_m2", "m2", "area_dac", 0, e) ||
                   put_tech(c, g, "igzo_stack_layers", "1", "igzo_stack_layers", 0, e)
               ? -1
               : 0;
}

/* The digital sum over the tiles of a head: a tree of ripple-carry adders, log2(16) = 4
 * levels for the paper's 16 sub-tiles (PAPER.md §2) on signed 6-bit counter outputs (32
 * levels and a sign); level L adds (5 + L)-bit numbers, each bit one carry stage of two NAND2
 * delays (carry = NAND(NAND(a, b), NAND(c, a xor b))). */
#define SUM_TILE_LEVELS 4
#define SUM_INPUT_BITS 6

/* Standard cells: energy per output toggle and delay, simulated. */
static int put_stdcells(const calib_curves *c, hid_t g, gc_err *e)
{
    for (int i = 0; i < c->n_stdcell; i++) {
        if (strcmp(c->stdcell[i].name, "nand2"))
            continue;
        double stage = 2 * c->stdcell[i].delay_s;
        int bits = 0;
        for (int l = 1; l <= SUM_TILE_LEVELS; l++)
            bits += SUM_INPUT_BITS + l - 1;
        if (put(g, "t_carry_stage_s", "s", "simulated: one ripple-carry stage, two NAND2 delays "
                "(fan-out 4, /stdcell/nand2)", stage, 1, e) ||
            put(g, "t_digital_sum_s", "s", "simulated: sum of 16 tile outputs (PAPER.md 2) by a "
                "tree of 4 ripple-carry adder levels on signed 6-bit inputs, 6+7+8+9 = 30 carry "
                "stages of t_carry_stage_s", bits * stage, 1, e))
            return -1;
    }
    for (int i = 0; i < c->n_stdcell; i++) {
        char name[64], src[200];
        snprintf(name, sizeof name, "e_toggle_%s_j", c->stdcell[i].name);
        snprintf(src, sizeof src, "simulated: supply energy per output toggle of the %s "
                 "standard cell (fan-out of 4 of its kind), /stdcell/%s", c->stdcell[i].name,
                 c->stdcell[i].name);
        if (put(g, name, "J", src, c->stdcell[i].e_toggle_j, 1, e))
            return -1;
        snprintf(name, sizeof name, "t_delay_%s_s", c->stdcell[i].name);
        snprintf(src, sizeof src, "simulated: 50 %% propagation delay of the %s standard cell "
                 "(fan-out of 4), /stdcell/%s", c->stdcell[i].name, c->stdcell[i].name);
        if (put(g, name, "s", src, c->stdcell[i].delay_s, 1, e))
            return -1;
    }
    return 0;
}

/* The read word lines' wire per cell pitch: a pulse moves rwl from vdd/2 up to v_in and rwlb
 * down to vdd - v_in; each line's buffer draws c_wl_seg (v_in - vdd/2) from vdd once (rwl on
 * the way up, rwlb on the way back), so a pulse costs 2 vdd c_wl_seg (v_in - vdd/2). */
static int put_wordline(const calib_curves *c, hid_t g, gc_err *e)
{
    const struct calib_tech_param *cw = tech(c, "c_wl_seg");
    if (!cw)
        return 0;
    char src[600];
    snprintf(src, sizeof src, "declared: 2 vdd c_wl_seg (v_in - vdd/2), the read word-line "
             "pair's wire per cell pitch charged once per read pulse of nonzero width; c_wl_seg: "
             "%s", cw->description);
    return put(g, "e_wordline_cell_j", "J", src,
               2 * c->vdd_v * cw->value * fabs(c->v_in_v - c->vdd_v / 2), 0, e);
}

static int write_params(const calib_curves *c, hid_t f, gc_err *e)
{
    hid_t g = gc_h5_group(f, "cost", e);
    if (g < 0)
        return -1;
    int rc = gc_h5_attr_str(g, ".", "description",
                            "cost parameters, SI units: simulated = 1 measured by the SPICE "
                            "sweeps of source_curves, 0 declared (the description names the "
                            "source)", e) ||
             put_times(c, g, e) ||
             put_tech(c, g, "p_integrator_bias_w", "W", "i_bias_int", 1, e) ||
             put_tech(c, g, "p_comparator_bias_w", "W", "i_bias_cmp", 1, e) ||
             put_tech(c, g, "p_reference_bias_w", "W", "i_bias_ref", 1, e) ||
             put_tech(c, g, "e_dac_conversion_j", "J", "e_dac_conversion", 0, e) ||
             put_tech(c, g, "e_digital_overhead_token_head_j", "J", "e_digital_overhead", 0,
                      e) ||
             put_tech(c, g, "t_digital_sum_s", "s", "t_digital_sum", 0, e) ||
             put_wordline(c, g, e) || put_stdcells(c, g, e) || put_areas(c, g, e);
    H5Gclose(g);
    return rc ? -1 : 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The energy tables into /energy (created by cellfile.c when the curves have /energy) */

int calib_cost_write(const calib_curves *c, hid_t f, gc_err *e)
{
    if (write_params(c, f, e))
        return -1;
    if (!c->has_energy)
        return 0;
    hid_t g = H5Gopen2(f, "energy", H5P_DEFAULT);
    if (g < 0)
        return gc_fail(e, "cannot open group /energy");
    size_t d_read[2] = {(size_t)c->n_p, (size_t)c->n_v}, d_w[2] = {(size_t)c->n_w, (size_t)c->n_w};
    size_t n_c2p = (size_t)c->n_c2p, n_ro = (size_t)c->n_ro, one = 1;
    int rc = (c->e_read_supply &&
              gc_h5_write(g, "read_supply", 2, d_read, c->e_read_supply, "J",
                          "supply energy of one cell's read per (pulse_frac, v_store) of /read: "
                          "vdd times the charge its read word lines deliver "
                          "(simulated, curves /read/supply_energy)", e)) ||
             (c->e_c2p_tab &&
              (gc_h5_write(g, "c2p_charge", 1, &n_c2p, c->c2p_q, "C", "integrated charge", e) ||
               gc_h5_write(g, "c2p_energy", 1, &n_c2p, c->e_c2p_tab, "J",
                           "supply energy of one charge-to-pulse conversion (simulated, curves "
                           "/c2p/energy)", e))) ||
             (c->e_ro_tab &&
              (gc_h5_write(g, "readout_charge", 1, &n_ro, c->ro_q, "C", "integrated charge",
                           e) ||
               gc_h5_write(g, "readout_energy", 1, &n_ro, c->e_ro_tab, "J",
                           "supply energy of one signed readout (simulated, curves "
                           "/readout/energy)", e))) ||
             (c->e_write_pair &&
              gc_h5_write(g, "write_energy", 2, d_w, c->e_write_pair, "J",
                          "energy of one cell write from the previous level (row) to the new "
                          "(column) (simulated, curves /write/energy_pair)", e)) ||
             (c->has_idle &&
              gc_h5_write(g, "idle_power_cell", 1, &one, &c->p_idle_w, "W",
                          "supply power of one idle cell, mean over stored voltages "
                          "(simulated, curves /leak/idle_power)", e));
    H5Gclose(g);
    return rc ? -1 : 0;
}
