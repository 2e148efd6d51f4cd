/* The plan: settings resolved against the cell, the compiled terms, dense converter tables
 * for calibrated, per-thread workspaces, and the per-head term factors of q, k, v. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "attn_internal.h"

#define CONV_N 65537 /* dense converter table points: spacing full scale / 8192 */

static int check_config(const attn_config *c, int D, int max_T, gc_err *e)
{
    if (!c->variant)
        return gc_fail(e, "attention: no variant");
    if (D < 1 || max_T < 1)
        return gc_fail(e, "attention: D and max_T must be positive (got %d, %d)", D, max_T);
    if (c->window < 1 || c->tile < 1)
        return gc_fail(e, "attention: window and tile must be positive (got %d, %d)",
                       c->window, c->tile);
    if (c->q_levels < 2 || c->k_levels < 2 || c->v_levels < 2 || c->out_levels < 2)
        return gc_fail(e, "attention: quantiser levels must be at least 2");
    if (c->decay && !(c->lambda_per_token >= 0) && !(c->token_period_s > 0))
        return gc_fail(e, "attention: decay needs lambda >= 0 or a token period > 0");
    if (attn_on_cell(c) && !c->cell)
        return gc_fail(e, "attention: variant %s needs a loaded cell model", c->variant->name);
    if (attn_config_check(c, e))
        return -1;
    if (c->chips > 0) { /* the chip's levels go back through the write transfer */
        for (int l = 0; l + 1 < cell_k_levels(c->cell); l++)
            if (!(cell_write_v(c->cell, l + 1) > cell_write_v(c->cell, l)))
                return gc_fail(e, "%s: the write transfer does not rise from level %d to %d, "
                                  "so a chip's shifted stored voltage has no level",
                               cell_model_source(c->cell), l, l + 1);
    }
    return 0;
}

/* A chip's grids: the terms are found on levels every 1/4 DAC level when stored voltages
 * shift or k, v are analog (compile.c then tabulates y every 1/16 level by projection; the
 * bilinear y errs at most midway, which it measures); the leak axis spans
 * ±CELL_MISMATCH_TRUNC sigma in at most 16 steps of about 0.25 in ln f. */
#define CHIP_LEVEL_STEP 0.25
#define CHIP_LAM_STEP 0.25
#define CHIP_MAX_LAM 17
static void chip_axes(attn_plan *p)
{
    const attn_config *c = &p->cfg;
    cell_variation v;
    cell_variation_get(c->cell, &v);
    double scale = c->mismatch_scale > 0 ? c->mismatch_scale : 1;
    if (v.write_offset_sigma_v * scale > 0 || !c->quant_k)
        p->level_step_k = CHIP_LEVEL_STEP;
    if (v.write_offset_sigma_v * scale > 0 || !c->quant_v)
        p->level_step_v = CHIP_LEVEL_STEP;
    double half = CELL_MISMATCH_TRUNC * v.log_leak_sigma * scale;
    p->n_lam = 1;
    p->lam_lo = 0;
    p->lam_step = 1;
    if (half > 0) {
        int steps = 2 * (int)ceil(half / CHIP_LAM_STEP);
        p->n_lam = (steps < CHIP_MAX_LAM - 1 ? steps : CHIP_MAX_LAM - 1) + 1;
        p->lam_lo = -half;
        p->lam_step = 2 * half / (p->n_lam - 1);
    }
}

/* Coordinates of k, v and the pulse grid, from the paper or from the cell. */
static void resolve_axes(attn_plan *p)
{
    attn_config *c = &p->cfg;
    static const double unit[2] = {0, 1};
    const double *grid = unit;
    p->n_pulse = 2;
    p->k_range = p->v_range = CELL_PAPER_VDD_V;
    if (attn_on_cell(c)) {
        c->q_levels = cell_q_levels(c->cell);
        c->k_levels = c->v_levels = cell_k_levels(c->cell);
        p->k_range = p->v_range = cell_vdd_v(c->cell);
        p->n_pulse = cell_pulse_axis(c->cell, &grid);
        /* Analog k or v: a fine level grid, y_r linear in between (see the header). */
        p->level_step_k = c->quant_k ? 1 : 1.0 / 32;
        p->level_step_v = c->quant_v ? 1 : 1.0 / 32;
        if (p->chip) /* shifted levels and analog ones alike: a grid of 1/4 level */
            chip_axes(p);
        p->n_level_k = (int)lround((c->k_levels - 1) / p->level_step_k) + 1;
        p->n_level_v = (int)lround((c->v_levels - 1) / p->level_step_v) + 1;
    }
    p->pulse_grid = malloc((size_t)p->n_pulse * sizeof *p->pulse_grid);
    if (!p->pulse_grid)
        return;
    memcpy(p->pulse_grid, grid, (size_t)p->n_pulse * sizeof *grid);
    p->pulse_uniform = 1;
    for (int i = 0; i < p->n_pulse; i++)
        if (fabs(grid[i] - (double)i / (p->n_pulse - 1)) > 1e-12)
            p->pulse_uniform = 0;
}

/* Dense tables of phi(S) and readout(O) for calibrated, spanning ±4 × full scale, so the
 * preset's kinks (0, S_sat, ±readout_sat) fall on grid points. */
static int build_converters(attn_plan *p)
{
    const cell_model *m = p->cfg.cell;
    p->c2p_lo = -4 * p->s_sat;
    p->c2p_hi = 4 * p->s_sat;
    p->ro_lo = -4 * p->ro_sat;
    p->ro_hi = 4 * p->ro_sat;
    p->n_conv = CONV_N;
    p->c2p_tab = malloc(CONV_N * sizeof *p->c2p_tab);
    p->ro_tab = malloc(CONV_N * sizeof *p->ro_tab);
    if (!p->c2p_tab || !p->ro_tab)
        return -1;
    double hc = (p->c2p_hi - p->c2p_lo) / (CONV_N - 1), hr = (p->ro_hi - p->ro_lo) / (CONV_N - 1);
    p->c2p_lo_f = (float)p->c2p_lo;
    p->c2p_scale_f = (float)(1 / hc);
    p->ro_lo_f = (float)p->ro_lo;
    p->ro_scale_f = (float)(1 / hr);
    for (int i = 0; i < CONV_N; i++) {
        p->c2p_tab[i] = (float)(cell_c2p_s(m, p->c2p_lo + i * hc) / cell_t_max_s(m));
        p->ro_tab[i] = (float)cell_readout(m, p->ro_lo + i * hr);
    }
    p->conv_err = 0;
    for (int i = 0; i + 1 < CONV_N; i++) {
        double sc = p->c2p_lo + (i + 0.5) * hc, so = p->ro_lo + (i + 0.5) * hr;
        p->conv_err = fmax(p->conv_err, fabs(cell_c2p_s(m, sc) / cell_t_max_s(m) -
                                             attn_phi_fast(p, (float)sc)));
        p->conv_err = fmax(p->conv_err, fabs(cell_readout(m, so) -
                                             attn_readout_fast(p, (float)so)) / 2);
    }
    return 0;
}

static int work_alloc(attn_plan *p)
{
    int bs = p->cfg.tile, D = p->D;
    int R1 = p->a1.n_terms > 0 ? p->a1.n_terms : 1, R2 = p->a2.n_terms > 0 ? p->a2.n_terms : 1;
    int n_tiles = (p->max_T + bs - 1) / bs;
    size_t Wmax = (size_t)(p->M + 2 * bs < p->max_T ? p->M + 2 * bs : p->max_T);
    size_t TD = (size_t)p->max_T * D;
    p->n_threads = omp_get_max_threads();
    p->work = calloc((size_t)p->n_threads, sizeof *p->work);
    if (!p->work)
        return -1;
    for (int t = 0; t < p->n_threads; t++) {
        attn_work *w = &p->work[t];
        w->P = malloc(TD * sizeof(float));
        w->X1 = malloc(R1 * TD * sizeof(float));
        w->Y1 = malloc(R1 * TD * sizeof(float));
        w->Yv = calloc((size_t)n_tiles * R2 * bs * D, sizeof(float));
        w->S = malloc(bs * Wmax * sizeof(float));
        w->phi = malloc(bs * Wmax * sizeof(float));
        w->C = malloc(bs * Wmax * sizeof(float));
        w->Xc = malloc((size_t)bs * R1 * D * sizeof(float));
        w->Yc = malloc(Wmax * R1 * D * sizeof(float));
        w->Ac = malloc((size_t)bs * R2 * bs * sizeof(float));
        w->Vc = malloc((size_t)R2 * bs * D * sizeof(float));
        w->O = malloc((size_t)bs * D * sizeof(float));
        w->rowc = malloc((size_t)bs * sizeof(float));
        w->rowf = malloc((size_t)R2 * bs * sizeof(float));
        w->rowf0 = malloc((size_t)R2 * bs * sizeof(float));
        w->loc_idx = malloc((size_t)bs * sizeof(int));
        w->loc_wt = malloc((size_t)bs * sizeof(float));
        w->coord = malloc(2 * (size_t)D * sizeof(double));
        w->z = malloc(((size_t)D > Wmax ? (size_t)D : Wmax) * sizeof(double));
        if (!w->coord || !w->z || !w->rowf || !w->rowf0 || !w->loc_idx || !w->loc_wt || !w->P || !w->X1 || !w->Y1 || !w->Yv || !w->S || !w->phi || !w->C || !w->Xc ||
            !w->Yc || !w->Ac || !w->Vc || !w->O || !w->rowc)
            return -1;
    }
    return 0;
}

/* The separable path needs exp(±mu·(tile-1)) to stay far inside float range. */
static int exponential_ok(const attn_plan *p)
{
    if (p->cfg.variant->engine != ATTN_ENGINE_POLY)
        return 0;
    for (int r = 0; r < p->a1.n_terms; r++)
        if (p->a1.t[r].mu * (p->cfg.tile - 1) > 60)
            return 0;
    return 1;
}

int attn_plan_alloc(const attn_config *cfg, int D, int max_T, attn_plan **out, gc_err *e)
{
    if (check_config(cfg, D, max_T, e))
        return -1;
    attn_plan *p = calloc(1, sizeof *p);
    if (!p)
        return gc_fail(e, "attention plan: out of memory");
    p->cfg = *cfg;
    if (!(p->cfg.decomp_rel_tol > 0)) /* attn_plan_config reports the cut actually used */
        p->cfg.decomp_rel_tol = ATTN_DECOMP_REL_TOL;
    p->D = D;
    p->max_T = max_T;
    p->M = attn_on_softmax(cfg) && !cfg->variant->windowed ? max_T
           : cfg->window < max_T ? cfg->window : max_T;
    p->n_age = p->M;
    p->slots = ((p->M + cfg->tile - 1) / cfg->tile + 1) * cfg->tile;
    p->chip = cfg->chips > 0;
    p->charge_unit_c = 1;
    if (cfg->variant->engine == ATTN_ENGINE_POLY) {
        /* the paper's arithmetic, in µA × T_max */
        p->charge_unit_c = 1e-6 * CELL_PAPER_T_MAX_S;
        p->s_sat = CELL_PAPER_S_SAT_A / 1e-6;
        p->ro_sat = CELL_PAPER_READOUT_SAT_A / 1e-6;
    } else if (attn_on_cell(cfg)) {
        p->s_sat = cell_s_sat_c(cfg->cell);
        p->ro_sat = cell_readout_sat_c(cfg->cell);
    }
    if (p->chip) {
        int nk = cell_k_levels(cfg->cell);
        p->write_v = malloc((size_t)nk * sizeof *p->write_v);
        if (!p->write_v) {
            attn_plan_free(p);
            return gc_fail(e, "attention plan: out of memory");
        }
        for (int l = 0; l < nk; l++)
            p->write_v[l] = cell_write_v(cfg->cell, l);
    }
    if (attn_noise_init(cfg, &p->noise, e)) {
        attn_plan_free(p);
        return -1;
    }
    resolve_axes(p);
    int rc = p->pulse_grid ? attn_compile(p, e) : gc_fail(e, "attention plan: out of memory");
    if (!rc && attn_on_cell(cfg) && build_converters(p))
        rc = gc_fail(e, "attention plan: out of memory");
    if (!rc && work_alloc(p))
        rc = gc_fail(e, "attention plan: out of memory for the workspaces");
    if (rc) {
        attn_plan_free(p);
        return -1;
    }
    p->exponential = exponential_ok(p);
    *out = p;
    return 0;
}

void attn_plan_free(attn_plan *p)
{
    if (!p)
        return;
    for (int t = 0; p->work && t < p->n_threads; t++) {
        attn_work *w = &p->work[t];
        free(w->P);
        free(w->X1);
        free(w->Y1);
        free(w->Yv);
        free(w->S);
        free(w->phi);
        free(w->C);
        free(w->Xc);
        free(w->Yc);
        free(w->Ac);
        free(w->Vc);
        free(w->O);
        free(w->rowc);
        free(w->rowf);
        free(w->rowf0);
        free(w->loc_idx);
        free(w->loc_wt);
        free(w->coord);
        free(w->z);
        free(w->klev);
        free(w->vlev);
        free(w->plev);
        free(w->H);
        free(w->phisum);
        free(w->win);
        free(w->acc1);
    }
    free(p->work);
    attn_array_free(&p->a1);
    attn_array_free(&p->a2);
    free(p->pulse_grid);
    free(p->write_v);
    free(p->cells);
    free(p->c2p_tab);
    free(p->ro_tab);
    free(p);
}

const attn_config *attn_plan_config(const attn_plan *p) { return &p->cfg; }

int attn_plan_slots(const attn_plan *p) { return p->slots; }

int attn_plan_rank(const attn_plan *p, int array)
{
    return array == 2 ? p->a2.n_terms : p->a1.n_terms;
}

double attn_plan_decomp_error(const attn_plan *p, int array)
{
    return array == 2 ? p->a2.decomp_err : p->a1.decomp_err;
}

double attn_plan_converter_error(const attn_plan *p) { return p->conv_err; }

/* ---------------------------------------------------------------------------------------- */
/* Converters: the dense-table evaluation is inline in attn_internal.h; beyond the table
 * (rare) the exact cell functions are used. */

float attn_phi_exact(const attn_plan *p, float s)
{
    return (float)(cell_c2p_s(p->cfg.cell, s) / cell_t_max_s(p->cfg.cell));
}

float attn_readout_exact(const attn_plan *p, float o)
{
    return (float)cell_readout(p->cfg.cell, o);
}
