/* The paper's two behavioural models (PAPER.md §3) as cell models in SI units, so the
 * calibrated attention path can be checked against the paper variants. */
#include <stdlib.h>
#include <string.h>

#include "cell_internal.h"

const double cell_paper_g_cubic_ua[4] = {0.52136361, 13.61226063, -2.62044562, 46.05483778};
const double cell_paper_g_linear_ua[4] = {0, 19.3, 0, 0};

int cell_model_preset(const char *name, cell_model **out, gc_err *e)
{
    const double *poly;
    if (!strcmp(name, "paper-cubic"))
        poly = cell_paper_g_cubic_ua;
    else if (!strcmp(name, "paper-linear"))
        poly = cell_paper_g_linear_ua;
    else
        return gc_fail(e, "unknown cell preset '%s' (paper-cubic, paper-linear)", name);
    cell_model *m = cell_model_new(name);
    if (!m || !(m->write_v = malloc(CELL_PAPER_K_LEVELS * sizeof *m->write_v))) {
        cell_model_free(m);
        return gc_fail(e, "cell preset %s: out of memory", name);
    }
    m->analytic = 1;
    m->v_mid_v = CELL_PAPER_V_MID_V;
    m->vdd_v = CELL_PAPER_VDD_V;
    m->t_max_s = CELL_PAPER_T_MAX_S;
    /* The paper gives no write time: this one makes the per-layer latency t_write + 3 T_max
     * equal its 65 ns per token per layer (PAPER.md §2), i.e. 20 ns. */
    m->t_write_s = CELL_PAPER_LAYER_LATENCY_S - 3 * CELL_PAPER_T_MAX_S;
    m->k_levels = CELL_PAPER_K_LEVELS;
    m->q_levels = CELL_PAPER_Q_LEVELS;
    for (int l = 0; l < m->k_levels; l++)
        m->write_v[l] = m->vdd_v * l / (m->k_levels - 1);
    memcpy(m->poly_ua, poly, sizeof m->poly_ua);
    m->tau_s = CELL_PAPER_TAU_S;
    m->s_sat_c = CELL_PAPER_S_SAT_A * m->t_max_s;
    m->readout_sat_c = CELL_PAPER_READOUT_SAT_A * m->t_max_s;
    m->v_eq_v = m->v_mid_v;
    if (cell_cost_preset(m, e)) {
        cell_model_free(m);
        return -1;
    }
    *out = m;
    return 0;
}
