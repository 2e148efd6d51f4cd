/* The cell model's evaluation: accessors, the five transfer functions, and the lifetime of a
 * model. A preset is evaluated from the paper's formulas; a loaded model from its tables. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cell_internal.h"

cell_model *cell_model_new(const char *source)
{
    cell_model *m = calloc(1, sizeof *m);
    if (m)
        snprintf(m->source, sizeof m->source, "%s", source);
    return m;
}

void cell_model_free(cell_model *m)
{
    if (!m)
        return;
    free(m->write_v);
    free(m->pulse_frac);
    if (m->read_rows)
        for (int i = 0; i < m->n_p; i++)
            cell_curve_free(&m->read_rows[i]);
    free(m->read_rows);
    cell_curve_free(&m->up_t_of_v);
    cell_curve_free(&m->up_v_of_t);
    cell_curve_free(&m->lo_t_of_v);
    cell_curve_free(&m->lo_v_of_t);
    cell_curve_free(&m->c2p);
    cell_curve_free(&m->readout);
    cell_cost_free(m);
    free(m);
}

const char *cell_model_source(const cell_model *m) { return m->source; }
int cell_k_levels(const cell_model *m) { return m->k_levels; }
int cell_q_levels(const cell_model *m) { return m->q_levels; }
double cell_t_max_s(const cell_model *m) { return m->t_max_s; }
double cell_v_mid_v(const cell_model *m) { return m->v_mid_v; }
double cell_vdd_v(const cell_model *m) { return m->vdd_v; }
double cell_t_write_s(const cell_model *m) { return m->t_write_s; }
double cell_s_sat_c(const cell_model *m) { return m->s_sat_c; }
double cell_readout_sat_c(const cell_model *m) { return m->readout_sat_c; }

int cell_pulse_axis(const cell_model *m, const double **pulse_frac)
{
    static const double full[2] = {0, 1};
    if (m->analytic) {
        *pulse_frac = full;
        return 2;
    }
    *pulse_frac = m->pulse_frac;
    return m->n_p;
}

double cell_write_v(const cell_model *m, int level)
{
    if (level < 0)
        level = 0;
    if (level > m->k_levels - 1)
        level = m->k_levels - 1;
    return m->write_v[level];
}

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* g(y) of the preset in µA (Horner). */
static double preset_g_ua(const cell_model *m, double y)
{
    const double *c = m->poly_ua;
    return c[0] + y * (c[1] + y * (c[2] + y * c[3]));
}

double cell_read_charge_c(const cell_model *m, double pulse_frac, double v_store)
{
    double p = clamp(pulse_frac, 0, 1);
    if (m->analytic)
        return p * m->t_max_s * preset_g_ua(m, v_store - m->v_mid_v) * 1e-6;
    return cell_pulse_rows_eval(m, m->read_rows, p, v_store);
}

void cell_read_charges_c(const cell_model *m, double v_store, double *q)
{
    const double *pf;
    int n = cell_pulse_axis(m, &pf);
    if (m->analytic) {
        for (int i = 0; i < n; i++)
            q[i] = cell_read_charge_c(m, pf[i], v_store);
        return;
    }
    cell_curves_eval(m->read_rows, n, v_store, q); /* a pulse on a level reads its row */
}

double cell_pulse_rows_eval(const cell_model *m, const cell_curve *rows, double p, double v)
{
    const double *pf = m->pulse_frac;
    int i = 0;
    while (i < m->n_p - 2 && p > pf[i + 1])
        i++;
    double w = (p - pf[i]) / (pf[i + 1] - pf[i]);
    if (w < 1e-9 || w > 1 - 1e-9)
        return cell_curve_eval(&rows[i + (w > 0.5)], v);
    double y0 = cell_curve_eval(&rows[i], v), y1 = cell_curve_eval(&rows[i + 1], v);
    return y0 + w * (y1 - y0);
}

/* Decay on one side of v_eq through its time-to-voltage table. */
static double decay_side(const cell_model *m, const cell_curve *t_of_v,
                         const cell_curve *v_of_t, double v0, double t_s)
{
    int n = v_of_t->n;
    double t_end = v_of_t->x[n - 1], v_end = v_of_t->y[n - 1];
    /* Closer to v_eq than the table reaches: only the exponential tail applies. */
    if (fabs(v0 - m->v_eq_v) <= fabs(v_end - m->v_eq_v))
        return m->v_eq_v + (v0 - m->v_eq_v) * exp(-t_s / m->tau_tail_s);
    double t1 = cell_curve_eval(t_of_v, v0) + t_s;
    if (t1 >= t_end)
        return m->v_eq_v + (v_end - m->v_eq_v) * exp(-(t1 - t_end) / m->tau_tail_s);
    return cell_curve_eval(v_of_t, t1);
}

double cell_decay_v(const cell_model *m, double v0, double t_s)
{
    if (t_s <= 0)
        return v0;
    if (m->analytic)
        return m->v_mid_v + (v0 - m->v_mid_v) * exp(-t_s / m->tau_s);
    if (v0 > m->v_eq_v)
        return decay_side(m, &m->up_t_of_v, &m->up_v_of_t, v0, t_s);
    if (v0 < m->v_eq_v)
        return decay_side(m, &m->lo_t_of_v, &m->lo_v_of_t, v0, t_s);
    return v0;
}

double cell_c2p_s(const cell_model *m, double charge_c)
{
    if (m->analytic)
        return clamp(charge_c / m->s_sat_c, 0, 1) * m->t_max_s;
    return clamp(cell_curve_eval(&m->c2p, charge_c), 0, m->t_max_s);
}

double cell_readout(const cell_model *m, double charge_c)
{
    if (m->analytic)
        return clamp(charge_c / m->readout_sat_c, -1, 1);
    return clamp(cell_curve_eval(&m->readout, charge_c) / m->t_max_s, -1, 1);
}
