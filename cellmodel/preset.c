/* The paper's two behavioural models (PAPER.md §3) as cell models in SI units, so the
 * calibrated attention path can be checked against the paper variants. */
#include <stdlib.h>
#include <string.h>

#include "cell_internal.h"

/* g(y) in µA at full pulse, y = V - 0.45 V: the authors' cubic fit and the linear model. */
static const double paper_cubic_ua[4] = {0.52136361, 13.61226063, -2.62044562, 46.05483778};
static const double paper_linear_ua[4] = {0, 19.3, 0, 0};

int cell_model_preset(const char *name, cell_model **out, gc_err *e)
{
    const double *poly;
    if (!strcmp(name, "paper-cubic"))
        poly = paper_cubic_ua;
    else if (!strcmp(name, "paper-linear"))
        poly = paper_linear_ua;
    else
        return gc_fail(e, "unknown cell preset '%s' (paper-cubic, paper-linear)", name);
    cell_model *m = cell_model_new(name);
    if (!m || !(m->write_v = malloc(8 * sizeof *m->write_v))) {
        cell_model_free(m);
        return gc_fail(e, "cell preset %s: out of memory", name);
    }
    m->analytic = 1;
    m->v_mid_v = 0.45;
    m->vdd_v = 0.9;
    m->t_max_s = 15e-9;
    m->k_levels = 8;
    m->q_levels = 16;
    for (int l = 0; l < 8; l++)
        m->write_v[l] = 0.9 * l / 7;
    memcpy(m->poly_ua, poly, sizeof m->poly_ua);
    m->tau_s = CELL_PAPER_TAU_S;
    m->s_sat_c = 80e-6 * m->t_max_s;       /* S_sat = 80 in µA × T_max */
    m->readout_sat_c = 40e-6 * m->t_max_s; /* array-2 readout full scale, 40 µA × T_max */
    m->v_eq_v = m->v_mid_v;
    *out = m;
    return 0;
}
