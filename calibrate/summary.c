/* The fit summary as JSON: the numbers a person compares with the paper at the top level of
 * each section (read.poly, read.poly_rms_uA, read.table_heldout_rms_pct_fs, leak.tau_s,
 * leak.model_max_err_V, c2p.s_sat, c2p.t_max_s, ...), every residual as an object
 * {n, rms, max, full_scale, unit, rms_pct_fs, max_pct_fs}, and which values are PAPER.md
 * defaults rather than measurements. */
#include <math.h>
#include <stdio.h>

#include "calibrate.h"

static void add_resid(cJSON *o, const char *name, const calib_resid *r, const char *unit)
{
    cJSON *x = cJSON_AddObjectToObject(o, name);
    cJSON_AddNumberToObject(x, "n", r->n);
    cJSON_AddNumberToObject(x, "rms", r->rms);
    cJSON_AddNumberToObject(x, "max", r->max);
    cJSON_AddNumberToObject(x, "full_scale", r->full_scale);
    cJSON_AddStringToObject(x, "unit", unit);
    cJSON_AddNumberToObject(x, "rms_pct_fs", calib_pct(r->rms, r->full_scale));
    cJSON_AddNumberToObject(x, "max_pct_fs", calib_pct(r->max, r->full_scale));
}

/* JSON has no infinity: a missing plateau is null. */
static void add_finite(cJSON *o, const char *name, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

static void add_read(cJSON *root, const calib_model *m)
{
    const calib_read_fit *r = &m->read;
    cJSON *o = cJSON_AddObjectToObject(root, "read");
    cJSON *p = cJSON_AddArrayToObject(o, "poly");
    for (int i = 0; i <= r->poly_degree; i++)
        cJSON_AddItemToArray(p, cJSON_CreateNumber(r->poly_ua[i]));
    cJSON_AddStringToObject(o, "poly_definition",
                            "full-pulse DC current in uA = sum poly[i] y^i, y = V_stored - v_mid");
    cJSON_AddNumberToObject(o, "poly_degree", r->poly_degree);
    cJSON_AddNumberToObject(o, "poly_v_in_V", r->poly_vin_v);
    cJSON_AddNumberToObject(o, "poly_rms_uA", r->poly_fit.rms);
    cJSON_AddNumberToObject(o, "poly_max_uA", r->poly_fit.max);
    cJSON_AddNumberToObject(o, "poly_heldout_rms_uA", r->poly_heldout.rms);
    cJSON_AddNumberToObject(o, "table_heldout_rms_pct_fs",
                            calib_pct(r->table_heldout.rms, r->table_heldout.full_scale));
    cJSON_AddNumberToObject(o, "table_heldout_max_pct_fs",
                            calib_pct(r->table_heldout.max, r->table_heldout.full_scale));
    cJSON_AddNumberToObject(o, "n_pulse_levels", m->src->n_p);
    cJSON_AddNumberToObject(o, "n_v_store", m->src->n_v);
    cJSON_AddNumberToObject(o, "table_levelled_points", r->levelled);
    cJSON_AddNumberToObject(o, "table_levelled_max_C", r->levelled_max_c);
    add_resid(o, "table_heldout", &r->table_heldout, "C");
    add_resid(o, "poly_fit", &r->poly_fit, "uA");
    add_resid(o, "poly_heldout", &r->poly_heldout, "uA");
    add_resid(o, "poly_vs_table", &r->poly_vs_table, "uA");
}

static void add_leak(cJSON *root, const calib_model *m)
{
    const calib_leak_fit *l = &m->leak;
    const calib_curves *c = m->src;
    cJSON *o = cJSON_AddObjectToObject(root, "leak");
    cJSON_AddNumberToObject(o, "tau_s", l->tau_single_s);
    cJSON_AddNumberToObject(o, "model_max_err_V", l->model.max);
    cJSON_AddNumberToObject(o, "model_rms_err_V", l->model.rms);
    cJSON_AddNumberToObject(o, "single_exp_max_err_V", l->single.max);
    cJSON_AddNumberToObject(o, "c_node_F", l->c_node_f);
    cJSON_AddNumberToObject(o, "c_upper_F", l->c_upper_f);
    cJSON_AddNumberToObject(o, "c_lower_F", l->c_lower_f);
    cJSON_AddNumberToObject(o, "model_one_c_max_err_V", l->model_one_c.max);
    cJSON_AddNumberToObject(o, "model_side_c_max_err_V", l->model_side_c.max);
    const char *side_names[2] = {"c_of_v_upper_F", "c_of_v_lower_F"};
    for (int s = 0; s < 2; s++) {
        if (!l->cv_used[s]) {
            cJSON_AddNullToObject(o, side_names[s]);
            continue;
        }
        cJSON *cv = cJSON_AddArrayToObject(o, side_names[s]);
        for (int i = 0; i < 3; i++)
            cJSON_AddItemToArray(cv, cJSON_CreateNumber(l->cv_f[s][i]));
    }
    cJSON_AddStringToObject(o, "c_of_v_definition",
                            "where not null, that side's tables use C(V) = sum c[i] (V - v_eq)^i "
                            "(shape from local -I/(dV/dt), scale fitted); else its constant C");
    cJSON_AddStringToObject(o, "c_node_method",
                            c->default_leak ? "assumed (PAPER.md default leak)"
                            : c->n_v0      ? "fitted to the hold transients"
                                           : "assumed (no transients)");
    if (c->c_node_assumed_f > 0)
        cJSON_AddNumberToObject(o, "c_node_assumed_F", c->c_node_assumed_f);
    cJSON_AddNumberToObject(o, "v_eq_V", l->v_eq_v);
    cJSON_AddNumberToObject(o, "tau_tail_s", l->tau_tail_s);
    cJSON_AddNumberToObject(o, "span_s", l->span_s);
    cJSON_AddNumberToObject(o, "span_taus", l->tau_single_s > 0 ? l->span_s / l->tau_single_s : 0);
    cJSON_AddNumberToObject(o, "n_transients", c->n_v0);
    add_resid(o, "model", &l->model, "V");
    add_resid(o, "model_heldout", &l->model_heldout, "V");
    add_resid(o, "model_one_c", &l->model_one_c, "V");
    add_resid(o, "model_side_c", &l->model_side_c, "V");
    add_resid(o, "single_exp", &l->single, "V");
    add_resid(o, "i_leak_heldout", &l->i_heldout, "A");
}

static void add_conv(cJSON *o, const calib_conv_fit *f)
{
    cJSON_AddNumberToObject(o, "gain_s_per_C", f->gain_s_per_c);
    cJSON_AddNumberToObject(o, "offset_C", f->offset_c);
    add_finite(o, "plateau_high_s", f->hi_s);
    add_finite(o, "plateau_low_s", f->lo_s);
    cJSON_AddNumberToObject(o, "sat_high_C", f->sat_hi_c);
    cJSON_AddNumberToObject(o, "sat_low_C", f->sat_lo_c);
    add_resid(o, "line_fit", &f->line_fit, "s");
    add_resid(o, "line_heldout", &f->line_heldout, "s");
    add_resid(o, "table_heldout", &f->table_heldout, "s");
}

static void add_defaults(cJSON *root, const calib_curves *c)
{
    cJSON *d = cJSON_AddArrayToObject(root, "defaults_used");
    const char *names[] = {"write", "c2p", "readout", "leak"};
    int used[] = {c->default_write, c->default_c2p, c->default_readout, c->default_leak};
    for (int i = 0; i < 4; i++)
        if (used[i])
            cJSON_AddItemToArray(d, cJSON_CreateString(names[i]));
    char note[256];
    snprintf(note, sizeof note,
             "imported curves lack these sweeps; PAPER.md values were used: write %d ideal "
             "levels over 0..vdd, c2p S_sat = %g uA x T_max, readout %g uA x T_max, leak single "
             "exponential %g ms", CALIB_IMPORT_WRITE_LEVELS, CALIB_IMPORT_S_SAT_A * 1e6,
             CALIB_IMPORT_READOUT_SAT_A * 1e6, CALIB_IMPORT_LEAK_TAU_S * 1e3);
    if (cJSON_GetArraySize(d))
        cJSON_AddStringToObject(root, "defaults_note", note);
}

cJSON *calib_summary(const calib_model *m)
{
    const calib_curves *c = m->src;
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "curves", c->path);
    cJSON_AddStringToObject(root, "curves_sha256", c->sha256);
    cJSON_AddStringToObject(root, "technology", c->technology);
    cJSON_AddStringToObject(root, "source", c->imported ? "import" : "spice");
    cJSON_AddNumberToObject(root, "vdd_V", c->vdd_v);
    cJSON_AddNumberToObject(root, "v_mid_V", c->v_mid_v);
    cJSON_AddNumberToObject(root, "t_max_s", c->t_max_s);
    if (c->t_write_s > 0)
        cJSON_AddNumberToObject(root, "t_write_s", c->t_write_s);
    add_defaults(root, c);
    add_read(root, m);
    add_leak(root, m);
    cJSON *w = cJSON_AddObjectToObject(root, "write");
    cJSON_AddNumberToObject(w, "line_gain", m->write.gain);
    cJSON_AddNumberToObject(w, "line_offset_V", m->write.offset_v);
    cJSON *vs = cJSON_AddArrayToObject(w, "v_stored_V");
    for (int i = 0; i < c->n_w; i++)
        cJSON_AddItemToArray(vs, cJSON_CreateNumber(c->w_stored[i]));
    add_resid(w, "line_heldout", &m->write.line_heldout, "V");
    cJSON *p = cJSON_AddObjectToObject(root, "c2p");
    cJSON_AddNumberToObject(p, "s_sat", m->s_sat_c);
    cJSON_AddStringToObject(p, "s_sat_unit", "C");
    cJSON_AddNumberToObject(p, "t_max_s", c->t_max_s);
    add_conv(p, &m->c2p);
    add_conv(cJSON_AddObjectToObject(root, "readout"), &m->readout);
    if (m->variation.n > 0) {
        const calib_variation_fit *v = &m->variation;
        cJSON *o = cJSON_AddObjectToObject(root, "variation");
        cJSON_AddNumberToObject(o, "n_instances", v->n);
        cJSON_AddNumberToObject(o, "seed", v->seed);
        cJSON_AddStringToObject(o, "curves", v->src->path);
        add_finite(o, "temp_C", v->src->temperature_c);
        cJSON_AddStringToObject(o, "corner", v->src->corner[0] ? v->src->corner : "tt");
        cJSON_AddNumberToObject(o, "gain_mean", v->gain_mean);
        cJSON_AddNumberToObject(o, "gain_sigma", v->gain_sigma);
        cJSON_AddNumberToObject(o, "offset_mean_C", v->offset_mean_c);
        cJSON_AddNumberToObject(o, "offset_sigma_C", v->offset_sigma_c);
        cJSON_AddNumberToObject(o, "rho_gain_offset", v->rho_gain_offset);
        cJSON_AddNumberToObject(o, "log_leak_mean", v->log_leak_mean);
        cJSON_AddNumberToObject(o, "log_leak_sigma", v->log_leak_sigma);
        cJSON_AddNumberToObject(o, "write_offset_mean_V", v->write_mean_v);
        cJSON_AddNumberToObject(o, "write_offset_sigma_V", v->write_sigma_v);
        add_resid(o, "read_resid", &v->resid, "C");
        cJSON_AddNumberToObject(o, "read_resid_share", v->resid_share);
    }
    calib_noise n;
    if (calib_noise_of(c, &n)) {
        cJSON *o = cJSON_AddObjectToObject(root, "noise");
        cJSON_AddNumberToObject(o, "temperature_K", n.temperature_k);
        cJSON_AddNumberToObject(o, "c_int_F", n.c_int_f);
        cJSON_AddNumberToObject(o, "gm_read_S", n.gm_read_s);
        cJSON_AddNumberToObject(o, "gamma_read", n.gamma_read);
        cJSON_AddNumberToObject(o, "conv_shot_factor", n.conv_shot_factor);
    }
    if (c->has_energy) {
        cJSON *en = cJSON_AddObjectToObject(root, "energy_J");
        cJSON_AddNumberToObject(en, "read_per_cell", c->e_read_j);
        cJSON_AddNumberToObject(en, "write", c->e_write_j);
        cJSON_AddNumberToObject(en, "c2p_conversion", c->e_c2p_j);
        cJSON_AddNumberToObject(en, "readout_conversion", c->e_readout_j);
    }
    return root;
}
