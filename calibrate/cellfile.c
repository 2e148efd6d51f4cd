/* Writing cell.h5: the schema cellmodel/load.c reads, plus what a person needs to trust it:
 * the fitted coefficients, held-out residuals as attributes on each group, units and
 * descriptions on every dataset, axes as dimension scales, and the SHA-256 of the curves.
 * The caller passes a fresh path (a temporary file it renames on success). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "calibrate.h"

/* Writes name_{n, rms_U, max_U, full_scale_U, rms_pct_fs, max_pct_fs} on loc/obj. */
static int put_resid(hid_t loc, const char *obj, const char *name, const calib_resid *r,
                     const char *unit, gc_err *e)
{
    char key[128];
    struct {
        const char *suffix;
        double v;
    } a[] = {{"n", r->n},
             {"rms_", r->rms},
             {"max_", r->max},
             {"full_scale_", r->full_scale},
             {"rms_pct_fs", calib_pct(r->rms, r->full_scale)},
             {"max_pct_fs", calib_pct(r->max, r->full_scale)}};
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) {
        int with_unit = a[i].suffix[strlen(a[i].suffix) - 1] == '_';
        snprintf(key, sizeof key, "%s_%s%s", name, a[i].suffix, with_unit ? unit : "");
        if (gc_h5_attr_double(loc, obj, key, a[i].v, e))
            return -1;
    }
    return 0;
}

static int write_root(const calib_model *m, hid_t f, const char *cmd, gc_err *e)
{
    const calib_curves *c = m->src;
    char when[32];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if (gc_h5_attr_str(f, ".", "format", "gcsim-cell", e) ||
        gc_h5_attr_double(f, ".", "format_version", 1, e) ||
        gc_h5_attr_str(f, ".", "technology", c->technology, e) ||
        gc_h5_attr_str(f, ".", "source_curves", c->path, e) ||
        gc_h5_attr_str(f, ".", "source_curves_sha256", c->sha256, e) ||
        gc_h5_attr_str(f, ".", "source", c->imported ? "import" : "spice", e) ||
        gc_h5_attr_str(f, ".", "gcsim_version", GCSIM_VERSION, e) ||
        gc_h5_attr_str(f, ".", "created_utc", when, e) ||
        gc_h5_attr_str(f, ".", "command_line", cmd ? cmd : "", e) ||
        gc_h5_attr_str(f, ".", "description",
                       "gcsim behavioural gain-cell model fitted from the curves named in "
                       "source_curves; SI units; residual attributes are held-out errors", e) ||
        (!isnan(c->temperature_c) &&
         gc_h5_attr_double(f, ".", "temperature_C", c->temperature_c, e)) ||
        (c->corner[0] && gc_h5_attr_str(f, ".", "corner", c->corner, e)))
        return -1;
    hid_t g = gc_h5_group(f, "params", e);
    if (g < 0)
        return -1;
    int rc = gc_h5_attr_double(g, ".", "v_mid_V", c->v_mid_v, e) ||
             gc_h5_attr_double(g, ".", "t_max_s", c->t_max_s, e) ||
             gc_h5_attr_double(g, ".", "vdd_V", c->vdd_v, e) ||
             gc_h5_attr_double(g, ".", "v_in_V", c->v_in_v, e) ||
             (c->t_write_s > 0 && gc_h5_attr_double(g, ".", "t_write_s", c->t_write_s, e));
    H5Gclose(g);
    return rc ? -1 : 0;
}

static int write_write(const calib_model *m, hid_t g, gc_err *e)
{
    const calib_curves *c = m->src;
    size_t n = (size_t)c->n_w;
    const char *ax[] = {"level"};
    char defaults[128] = "none";
    if (c->default_write)
        snprintf(defaults, sizeof defaults,
                 "PAPER.md: %d ideal levels over 0..vdd (imported curves had no /write)",
                 CALIB_IMPORT_WRITE_LEVELS);
    return gc_h5_write_axis(g, "level", n, c->w_level, "1", "DAC level", e) ||
                   gc_h5_write(g, "v_dac", 1, &n, c->w_dac, "V", "DAC output voltage per level",
                               e) ||
                   gc_h5_write(g, "v_stored", 1, &n, c->w_stored, "V",
                               "voltage left on the storage node after the write transistor "
                               "turns off (charge injection, feed-through)", e) ||
                   gc_h5_attach(g, "v_dac", 1, ax, e) || gc_h5_attach(g, "v_stored", 1, ax, e) ||
                   gc_h5_attr_double(g, ".", "line_gain", m->write.gain, e) ||
                   gc_h5_attr_double(g, ".", "line_offset_V", m->write.offset_v, e) ||
                   gc_h5_attr_str(g, ".", "line_definition",
                                  "v_stored = line_offset_V + line_gain * v_dac (least squares; "
                                  "the table v_stored is the model)", e) ||
                   gc_h5_attr_str(g, ".", "defaults", defaults, e) ||
                   put_resid(g, ".", "line_heldout", &m->write.line_heldout, "V", e)
               ? -1
               : 0;
}

static int write_read(const calib_model *m, hid_t g, gc_err *e)
{
    const calib_curves *c = m->src;
    const calib_read_fit *r = &m->read;
    double pf[256];
    if (c->n_p > 256)
        return gc_fail(e, "too many pulse levels (%d)", c->n_p);
    for (int i = 0; i < c->n_p; i++)
        pf[i] = c->pulse_s[i] / c->t_max_s;
    pf[0] = 0;
    pf[c->n_p - 1] = 1; /* exact ends, as cellmodel demands */
    size_t dims[2] = {(size_t)c->n_p, (size_t)c->n_v}, np = (size_t)r->poly_degree + 1;
    const char *ax[] = {"pulse_frac", "v_store"};
    if (gc_h5_write_axis(g, "pulse_frac", dims[0], pf, "1",
                         "read pulse width as a fraction of t_max (input level / (levels-1))", e) ||
        gc_h5_write_axis(g, "v_store", dims[1], c->v_store, "V", "stored voltage", e) ||
        gc_h5_write(g, "charge", 2, dims, r->charge, "C",
                    "charge one cell delivers into the bit line in one read (all measured points;"
                    " monotone cubic in v_store, linear in pulse_frac)", e) ||
        gc_h5_attach(g, "charge", 2, ax, e) ||
        gc_h5_write(g, "poly_uA", 1, &np, r->poly_ua, "uA",
                    "least-squares polynomial of the full-pulse DC read current, ascending powers "
                    "of y = V_stored - v_mid_V (PAPER.md 3's g(y))", e))
        return -1;
    return gc_h5_attr_double(g, ".", "poly_degree", r->poly_degree, e) ||
                   gc_h5_attr_double(g, ".", "poly_v_in_V", r->poly_vin_v, e) ||
                   gc_h5_attr_str(g, ".", "table_heldout_definition",
                                  "every other v_store point left out of a Steffen "
                                  "interpolation of each pulse row; full scale = max |charge|",
                                  e) ||
                   put_resid(g, ".", "table_heldout", &r->table_heldout, "C", e) ||
                   put_resid(g, ".", "poly_fit", &r->poly_fit, "uA", e) ||
                   put_resid(g, ".", "poly_heldout", &r->poly_heldout, "uA", e) ||
                   put_resid(g, ".", "poly_vs_table", &r->poly_vs_table, "uA", e)
               ? -1
               : 0;
}

static int write_leak_tables(const calib_model *m, hid_t g, gc_err *e)
{
    const calib_leak_fit *l = &m->leak;
    const calib_curves *c = m->src;
    size_t nu = (size_t)l->n_up, nl = (size_t)l->n_lo, ni = (size_t)c->n_leak;
    const char *up[] = {"upper_t"}, *lo[] = {"lower_t"}, *iv[] = {"i_leak_v"};
    return gc_h5_write_axis(g, "upper_t", nu, l->up_t, "s",
                            "hold time from vdd (ascending from 0)", e) ||
                   gc_h5_write(g, "upper_v", 1, &nu, l->up_v, "V",
                               "stored voltage after upper_t, starting at the top of the range "
                               "(descending toward v_eq_V)", e) ||
                   gc_h5_attach(g, "upper_v", 1, up, e) ||
                   gc_h5_write_axis(g, "lower_t", nl, l->lo_t, "s",
                                    "hold time from 0 V (ascending from 0)", e) ||
                   gc_h5_write(g, "lower_v", 1, &nl, l->lo_v, "V",
                               "stored voltage after lower_t, starting at the bottom of the "
                               "range (ascending toward v_eq_V)", e) ||
                   gc_h5_attach(g, "lower_v", 1, lo, e) ||
                   gc_h5_write_axis(g, "i_leak_v", ni, c->leak_v, "V", "stored voltage", e) ||
                   gc_h5_write(g, "i_leak", 1, &ni, c->leak_i, "A",
                               "current leaving the storage node at hold bias (C dV/dt = "
                               "-i_leak)", e) ||
                   gc_h5_attach(g, "i_leak", 1, iv, e)
               ? -1
               : 0;
}

/* Where a side's tables use C(V), its coefficients as a dataset c_of_v_upper / _lower. */
static int write_cv(const calib_leak_fit *l, hid_t g, gc_err *e)
{
    const char *names[2] = {"c_of_v_upper", "c_of_v_lower"};
    size_t three = 3;
    for (int s = 0; s < 2; s++)
        if (l->cv_used[s] &&
            gc_h5_write(g, names[s], 1, &three, l->cv_f[s], "F",
                        "node capacitance on this side of v_eq_V used for its table: C(V) = "
                        "sum c[i] (V - v_eq_V)^i (shape from local -I_leak/(dV/dt) of the "
                        "transients, scale fitted to them)", e))
            return -1;
    return 0;
}

static int write_leak(const calib_model *m, hid_t g, gc_err *e)
{
    const calib_leak_fit *l = &m->leak;
    const calib_curves *c = m->src;
    char paper_leak[128];
    snprintf(paper_leak, sizeof paper_leak,
             "PAPER.md default: linear leak, tau %g s, assumed C (imported curves had no /leak)",
             CALIB_IMPORT_LEAK_TAU_S);
    const char *how = c->default_leak ? paper_leak
                      : c->n_v0 ? "C fitted to the hold transients (1-d minimisation of the "
                                  "squared voltage error; c_node_F over all of them, c_upper_F "
                                  "and c_lower_F over each side)"
                                : "C assumed (no hold transients)";
    if (write_leak_tables(m, g, e))
        return -1;
    return gc_h5_attr_double(g, ".", "v_eq_V", l->v_eq_v, e) ||
                   gc_h5_attr_double(g, ".", "tau_tail_s", l->tau_tail_s, e) ||
                   gc_h5_attr_double(g, ".", "c_node_F", l->c_node_f, e) ||
                   gc_h5_attr_double(g, ".", "c_upper_F", l->c_upper_f, e) ||
                   gc_h5_attr_double(g, ".", "c_lower_F", l->c_lower_f, e) ||
                   gc_h5_attr_str(g, ".", "c_node_method", how, e) ||
                   gc_h5_attr_double(g, ".", "tau_single_s", l->tau_single_s, e) ||
                   gc_h5_attr_double(g, ".", "span_s", l->span_s, e) ||
                   gc_h5_attr_str(g, ".", "model",
                                  "C(V) dV/dt = -I_leak(V), C(V) = dataset c_of_v_upper / _lower "
                                  "where present, else the constant c_upper_F above v_eq_V and "
                                  "c_lower_F below: decay(V0, t) = "
                                  "V(t(V0) + t) on the side of V0; beyond the tables v_eq + "
                                  "(V - v_eq) exp(-t/tau_tail_s), tau_tail_s = c_node_F / "
                                  "(dI_leak/dV at v_eq)",
                                  e) ||
                   put_resid(g, ".", "model", &l->model, "V", e) ||
                   put_resid(g, ".", "model_heldout", &l->model_heldout, "V", e) ||
                   put_resid(g, ".", "model_one_c", &l->model_one_c, "V", e) ||
                   put_resid(g, ".", "model_side_c", &l->model_side_c, "V", e) ||
                   write_cv(l, g, e) ||
                   put_resid(g, ".", "single_exp", &l->single, "V", e) ||
                   put_resid(g, ".", "i_leak_heldout", &l->i_heldout, "A", e)
               ? -1
               : 0;
}

static int write_conv(const calib_conv_fit *f, const double *q, const double *p, int n,
                      const char *pname, const char *pdesc, int is_default, hid_t g, gc_err *e)
{
    size_t nn = (size_t)n;
    const char *ax[] = {"charge"};
    return gc_h5_write_axis(g, "charge", nn, q, "C", "integrated bit-line charge", e) ||
                   gc_h5_write(g, pname, 1, &nn, p, "s", pdesc, e) ||
                   gc_h5_attach(g, pname, 1, ax, e) ||
                   gc_h5_attr_double(g, ".", "line_gain_s_per_C", f->gain_s_per_c, e) ||
                   gc_h5_attr_double(g, ".", "line_offset_C", f->offset_c, e) ||
                   gc_h5_attr_double(g, ".", "plateau_high_s", f->hi_s, e) ||
                   gc_h5_attr_double(g, ".", "plateau_low_s", f->lo_s, e) ||
                   gc_h5_attr_double(g, ".", "sat_high_C", f->sat_hi_c, e) ||
                   gc_h5_attr_double(g, ".", "sat_low_C", f->sat_lo_c, e) ||
                   gc_h5_attr_str(g, ".", "line_definition",
                                  "pulse = clamp(line_gain_s_per_C (charge - line_offset_C), "
                                  "plateau_low_s, plateau_high_s); a side without a plateau in the "
                                  "sweep is clamped at the converter's limit (0 or -+t_max)",
                                  e) ||
                   gc_h5_attr_str(g, ".", "defaults", is_default ? "PAPER.md clamped line "
                                  "(imported curves had no such sweep)" : "none", e) ||
                   put_resid(g, ".", "line_fit", &f->line_fit, "s", e) ||
                   put_resid(g, ".", "line_heldout", &f->line_heldout, "s", e) ||
                   put_resid(g, ".", "table_heldout", &f->table_heldout, "s", e)
               ? -1
               : 0;
}

static int write_energy(const calib_curves *c, hid_t g, gc_err *e)
{
    struct {
        const char *name, *desc;
        double v;
    } en[] = {{"read_per_cell", "supply energy per cell per full-pulse read", c->e_read_j},
              {"write", "energy per write of one cell", c->e_write_j},
              {"c2p_conversion", "energy per charge-to-pulse conversion", c->e_c2p_j},
              {"readout_conversion", "energy per signed readout conversion", c->e_readout_j}};
    size_t one = 1;
    for (size_t i = 0; i < sizeof en / sizeof en[0]; i++)
        if (gc_h5_write(g, en[i].name, 1, &one, &en[i].v, "J", en[i].desc, e))
            return -1;
    return 0;
}

/* Creates group name, runs fn on it, closes it. */
static int in_group(hid_t f, const char *name, const char *desc,
                    int (*fn)(const calib_model *, hid_t, gc_err *), const calib_model *m,
                    gc_err *e)
{
    hid_t g = gc_h5_group(f, name, e);
    if (g < 0)
        return -1;
    int rc = gc_h5_attr_str(g, ".", "description", desc, e) || fn(m, g, e) ? -1 : 0;
    H5Gclose(g);
    return rc;
}

static int write_c2p(const calib_model *m, hid_t g, gc_err *e)
{
    const calib_curves *c = m->src;
    return write_conv(&m->c2p, c->c2p_q, c->c2p_p, c->n_c2p, "pulse",
                      "output pulse width of the charge-to-pulse converter", c->default_c2p, g,
                      e) ||
                   gc_h5_attr_double(g, ".", "s_sat_C", m->s_sat_c, e) ||
                   gc_h5_attr_double(g, ".", "t_max_s", c->t_max_s, e)
               ? -1
               : 0;
}

static int write_readout(const calib_model *m, hid_t g, gc_err *e)
{
    const calib_curves *c = m->src;
    return write_conv(&m->readout, c->ro_q, c->ro_p, c->n_ro, "pulse_signed",
                      "sign x width of the signed readout pulse of array 2", c->default_readout,
                      g, e);
}

/* /variation: the per-cell mismatch model (read by cellmodel to draw a chip's cells). */
static int write_variation(const calib_model *m, hid_t g, gc_err *e)
{
    const calib_variation_fit *v = &m->variation;
    const calib_curves *c = v->src;
    size_t one = 1;
    return gc_h5_write(g, "gain_sigma", 1, &one, &v->gain_sigma, "1",
                       "sigma of a cell's relative read-charge gain: charge = gain "
                       "nominal(p, V) + offset p", e) ||
                   gc_h5_write(g, "offset_sigma_c", 1, &one, &v->offset_sigma_c, "C",
                               "sigma of a cell's read-charge offset at full pulse (scales "
                               "with the pulse fraction p)", e) ||
                   gc_h5_write(g, "log_leak_sigma", 1, &one, &v->log_leak_sigma, "1",
                               "sigma of ln(leak-rate factor): I_leak / C of a cell over the "
                               "nominal", e) ||
                   gc_h5_write(g, "rho_gain_offset", 1, &one, &v->rho_gain_offset, "1",
                               "correlation of gain and offset", e) ||
                   gc_h5_write(g, "write_offset_sigma_v", 1, &one, &v->write_sigma_v, "V",
                               "sigma of the stored voltage's shift per cell (write path "
                               "mismatch; mean over DAC levels)", e) ||
                   gc_h5_attr_double(g, ".", "n_instances", v->n, e) ||
                   gc_h5_attr_double(g, ".", "seed", v->seed, e) ||
                   gc_h5_attr_double(g, ".", "temp_c", c->temperature_c, e) ||
                   gc_h5_attr_str(g, ".", "corner", c->corner[0] ? c->corner : "tt", e) ||
                   gc_h5_attr_str(g, ".", "source", "spice-mc", e) ||
                   gc_h5_attr_str(g, ".", "source_curves", c->path, e) ||
                   put_resid(g, ".", "read_resid", &v->resid, "C", e) ||
                   gc_h5_attr_double(g, ".", "read_resid_share", v->resid_share, e)
               ? -1
               : 0;
}

static int write_energy_group(const calib_model *m, hid_t g, gc_err *e)
{
    return write_energy(m->src, g, e);
}

int calib_write_cell(const calib_model *m, const char *path, const char *command_line,
                     gc_err *e)
{
    hid_t f = gc_h5_create(path, e);
    if (f < 0)
        return -1;
    int rc = write_root(m, f, command_line, e);
    if (rc == 0)
        rc = in_group(f, "write", "write transfer: stored voltage per DAC level", write_write, m,
                      e);
    if (rc == 0)
        rc = in_group(f, "read", "read charge per (pulse level, stored voltage) and the "
                      "polynomial of the full-pulse current", write_read, m, e);
    if (rc == 0)
        rc = in_group(f, "leak", "retention: time-to-voltage tables of C dV/dt = -I_leak(V) on "
                      "each side of v_eq_V", write_leak, m, e);
    if (rc == 0)
        rc = in_group(f, "c2p", "charge-to-pulse converter between the arrays (measured curve "
                      "is the model)", write_c2p, m, e);
    if (rc == 0)
        rc = in_group(f, "readout", "signed readout of array 2 (measured curve is the model)",
                      write_readout, m, e);
    if (rc == 0 && m->variation.n > 0)
        rc = in_group(f, "variation", "local mismatch model fitted from the Monte Carlo "
                      "instances of the curves (/mc): per-cell gain, offset, leak-rate factor "
                      "and write shift, Gaussian, means 1, 0, 0, 0; read_resid: charge of "
                      "every instance vs its gain-offset model; read_resid_share: that "
                      "residual over the instances' deviation from nominal (RMS)",
                      write_variation, m, e);
    if (rc == 0 && m->src->has_energy)
        rc = in_group(f, "energy", "energy per operation, copied from the curves",
                      write_energy_group, m, e);
    if (rc == 0)
        rc = calib_cost_write(m->src, f, e);
    if (rc == 0)
        rc = calib_noise_write(m->src, f, e);
    if (rc)
        return gc_h5_save(f, path, 0, e), gc_wrap(e, "%s", path);
    return gc_h5_save(f, path, 1, e);
}
