/* The slow direct evaluator: every cell of every key evaluated on its own, in float64,
 * written from PAPER.md §3 (paper variants) and from the cell_model functions (calibrated),
 * sharing nothing with the fast path but the configuration. Tests compare the fast path
 * with it; it is O(T² D) table look-ups per head and meant for small problems only. */
#include <math.h>
#include <stdlib.h>

#include "attn_internal.h"

/* PAPER.md §3 quantiser: clamp to [0, range], step = range/(levels-1), round half to even. */
static double ref_quant(double x, double range, int levels, int on)
{
    x = fmin(fmax(x, 0), range);
    if (!on)
        return x;
    double step = range / (levels - 1);
    return step * nearbyint(x / step);
}

/* The poly engine's cell current at full pulse, µA (PAPER.md §3), y = V - mid-rail. */
static double ref_g(const attn_variant_type *v, double y)
{
    const double *c = v->g_ua;
    return c[0] + c[1] * y + c[2] * y * y + c[3] * y * y * y;
}

/* First key row i sees. */
static int ref_lo(const attn_config *c, int i)
{
    if (!c->variant->windowed || i - c->window + 1 < 0)
        return 0;
    return i - c->window + 1;
}

/* ---------------------------------------------------------------------------------------- */
/* softmax: S = scale · q·k, phi = softmax over the visible keys, out = phi · v */
static void ref_softmax_head(const attn_config *c, const float *q, const float *k,
                             const float *v, int T, int D, double *out, double *S,
                             double *phi)
{
    double scale = c->softmax_scale > 0 ? c->softmax_scale : 1 / sqrt((double)D);
    for (int i = 0; i < T; i++) {
        int lo = ref_lo(c, i);
        double mx = -INFINITY, sum = 0;
        for (int j = lo; j <= i; j++) {
            double s = 0;
            for (int d = 0; d < D; d++)
                s += (double)q[i * D + d] * k[j * D + d];
            S[(size_t)i * T + j] = s * scale;
            mx = fmax(mx, s * scale);
        }
        for (int j = lo; j <= i; j++)
            sum += exp(S[(size_t)i * T + j] - mx);
        for (int d = 0; d < D; d++)
            out[i * D + d] = 0;
        for (int j = lo; j <= i; j++) {
            double pj = exp(S[(size_t)i * T + j] - mx) / sum;
            phi[(size_t)i * T + j] = pj;
            for (int d = 0; d < D; d++)
                out[i * D + d] += pj * v[j * D + d];
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Paper variants and calibrated share the data path; only the cell differs. */

typedef struct {
    const attn_config *c;
    int D;
    double lambda, period_s;  /* decay per token (paper), token period (calibrated) */
    /* a chip: the cells of this head and layer are drawn here, one by one */
    int chip, layer, head, slots;
    cell_variation var;
    attn_activity *act;       /* counting (NULL: off), into slot */
    attn_act_slot slot;
    /* read noise (attention/noise.c): head b of the call; one row's deviates of array 1
     * (T) and of array 2 per tile read (tiles, D) with the tiles' pulse sums (tiles) */
    attn_noise nz;
    int b;
    double *z1, *z2, *psum2;
} ref_ctx;

/* The mismatch of the cell holding key j, row d, of array 1 or 2 (nominal without a chip). */
static cell_mismatch ref_cell(const ref_ctx *r, int array, int j, int d)
{
    cell_mismatch m = {1, 0, 0, 0};
    if (r->chip)
        attn_chip_cell(r->c, &r->var, r->layer, r->head, array, j % r->slots, d, &m);
    return m;
}

/* Stored value of one cell after `age` tokens: poly engine in volts (the deviation decays
 * toward mid-rail), cell engine through the cell's write transfer and leakage. */
static double ref_stored(const ref_ctx *r, double x, int quant, int levels, int age,
                         const cell_mismatch *cm)
{
    const attn_config *c = r->c;
    if (c->variant->engine == ATTN_ENGINE_POLY) {
        double vq = ref_quant(x, CELL_PAPER_VDD_V, levels, quant);
        return CELL_PAPER_V_MID_V + (vq - CELL_PAPER_V_MID_V) * exp(-r->lambda * age);
    }
    const cell_model *m = c->cell;
    int n = cell_k_levels(m);
    double level = ref_quant(x, cell_vdd_v(m), n, quant) / (cell_vdd_v(m) / (n - 1));
    int l0 = (int)floor(level);
    if (l0 > n - 2)
        l0 = n - 2;
    double w = level - l0;
    double v0 = (1 - w) * cell_write_v(m, l0) + w * cell_write_v(m, l0 + 1);
    if (!r->chip)
        return cell_decay_v(m, v0, age * r->period_s);
    /* a chip's cell: its shift, within the written range; its leakage scaled */
    v0 = fmin(fmax(v0 + cm->write_offset_v, cell_write_v(m, 0)), cell_write_v(m, n - 1));
    return cell_decay_v(m, v0, exp(cm->log_leak) * age * r->period_s);
}

/* Charge of one cell read with pulse fraction p: poly engine in the paper's µA·T_max,
 * cell engine in C. */
static double ref_charge(const ref_ctx *r, double p, double v_stored, const cell_mismatch *cm)
{
    if (r->c->variant->engine == ATTN_ENGINE_CELL)
        return cm->gain * cell_read_charge_c(r->c->cell, p, v_stored) + cm->offset_c * p;
    return p * ref_g(r->c->variant, v_stored - CELL_PAPER_V_MID_V);
}

static double ref_phi(const ref_ctx *r, double s)
{
    if (r->c->variant->engine == ATTN_ENGINE_CELL)
        return cell_c2p_s(r->c->cell, s) / cell_t_max_s(r->c->cell);
    return fmin(fmax(s / (CELL_PAPER_S_SAT_A / 1e-6), 0), 1);
}

static double ref_readout(const ref_ctx *r, double o)
{
    double x = r->c->variant->engine == ATTN_ENGINE_CELL
                   ? cell_readout(r->c->cell, o)
                   : fmin(fmax(o / (CELL_PAPER_READOUT_SAT_A / 1e-6), -1), 1);
    if (!r->c->quant_out)
        return x;
    double step = 2.0 / (r->c->out_levels - 1);
    return step * nearbyint(x / step);
}

static double ref_pulse(const ref_ctx *r, double q)
{
    int levels = r->c->variant->engine == ATTN_ENGINE_CELL ? cell_q_levels(r->c->cell)
                                                            : r->c->q_levels;
    return ref_quant(q, 1, levels, r->c->quant_q);
}

/* One row i: S and phi over the visible keys, then array 2 tile by tile. */
static void ref_analog_row(const ref_ctx *r, const float *q, const float *k, const float *v,
                           int i, int T, double *out, double *S, double *phi)
{
    const attn_config *c = r->c;
    int D = r->D, lo = ref_lo(c, i), tile = c->tile;
    double psum = 0;
    if (r->nz.on) {
        for (int d = 0; d < D; d++)
            psum += ref_pulse(r, q[i * D + d]);
        attn_noise_normals(&r->nz, r->layer, r->b, 1, i, 0, i - lo + 1, r->z1);
    }
    for (int j = lo; j <= i; j++) {
        double s = 0;
        for (int d = 0; d < D; d++) {
            cell_mismatch cm = ref_cell(r, 1, j, d);
            s += ref_charge(r, ref_pulse(r, q[i * D + d]),
                            ref_stored(r, k[j * D + d], c->quant_k, c->k_levels, i - j, &cm),
                            &cm);
        }
        if (r->nz.on)
            s += attn_noise_sigma1(&r->nz, psum, s) * r->z1[j - lo];
        S[(size_t)i * T + j] = s;
        phi[(size_t)i * T + j] = ref_phi(r, s);
    }
    for (int t0 = (lo / tile) * tile, x = 0; r->nz.on && t0 <= i; t0 += tile, x++) {
        r->psum2[x] = 0;
        for (int j = t0 > lo ? t0 : lo; j < t0 + tile && j <= i; j++)
            r->psum2[x] += phi[(size_t)i * T + j];
        attn_noise_normals(&r->nz, r->layer, r->b, 2, i, t0 / tile, D, r->z2 + (size_t)x * D);
    }
    for (int d = 0; d < D; d++) {
        double total = 0;
        for (int t0 = (lo / tile) * tile, x = 0; t0 <= i; t0 += tile, x++) {
            double o = 0;
            for (int j = t0 > lo ? t0 : lo; j < t0 + tile && j <= i; j++) {
                cell_mismatch cm = ref_cell(r, 2, j, d);
                o += ref_charge(r, phi[(size_t)i * T + j],
                                ref_stored(r, v[j * D + d], c->quant_v, c->v_levels, i - j,
                                           &cm),
                                &cm);
            }
            if (r->nz.on)
                o += attn_noise_sigma2(&r->nz, r->psum2[x], o) * r->z2[(size_t)x * D + d];
            double ro = ref_readout(r, o);
            total += ro;
            if (r->act) {
                double lsb = ro / r->act->g.out_step;
                r->slot.scalars[lsb > 0 ? ATTN_ACT_READOUT_POS : ATTN_ACT_READOUT_NEG] +=
                    fabs(lsb);
                r->slot.scalars[ATTN_ACT_READOUTS] += 1;
            }
        }
        out[i * D + d] = total;
    }
}

/* Counts of row i, cell by cell (attention.h, "Activity"). */
static void ref_count_row(ref_ctx *r, const float *q, const float *k, const float *v, int i,
                          int T, const double *phi)
{
    const attn_activity *a = r->act;
    attn_act_slot *sl = &r->slot;
    int D = r->D, lo = ref_lo(r->c, i), nl = a->g.n_level, tile = r->c->tile, tiles = 0;
    for (int j = lo; j <= i; j++) {
        double f = phi[(size_t)i * T + j];
        for (int d = 0; d < D; d++) {
            int pl = attn_act_pulse(a, (float)ref_pulse(r, q[i * D + d]));
            sl->read1[(size_t)pl * nl + attn_act_level(a, k[j * D + d])] += 1;
            int vl = attn_act_level(a, v[j * D + d]);
            sl->read2[vl] += 1 - f;
            sl->read2[nl + vl] += f;
            sl->scalars[ATTN_ACT_READ2_PULSED] += f > 0;
        }
        sl->scalars[ATTN_ACT_C2P_COUNT] += 1;
        sl->scalars[ATTN_ACT_C2P_PHI] += f;
    }
    for (int t0 = (lo / tile) * tile; t0 <= i; t0 += tile)
        tiles++;
    sl->scalars[ATTN_ACT_TOKENS] += 1;
    sl->scalars[ATTN_ACT_TILE_READS] += tiles;
    sl->scalars[ATTN_ACT_ADDER_BITS] += D * attn_act_adder_bits(a, tiles);
}

/* Writes of every key of one head: the level before is that of key j - ring (0 if none). */
static void ref_count_writes(ref_ctx *r, const float *k, const float *v, int T)
{
    const attn_activity *a = r->act;
    int D = r->D;
    for (int j = 0; j < T; j++)
        for (int d = 0; d < D; d++) {
            int old = j >= a->ring;
            attn_act_write(a, &r->slot, old ? attn_act_level(a, k[(j - a->ring) * D + d]) : 0,
                           attn_act_level(a, k[j * D + d]));
            attn_act_write(a, &r->slot, old ? attn_act_level(a, v[(j - a->ring) * D + d]) : 0,
                           attn_act_level(a, v[j * D + d]));
        }
}

static void ref_noise_free(ref_ctx *r)
{
    free(r->z1);
    free(r->z2);
    free(r->psum2);
}

/* The direct evaluation of B heads (head b mod heads of layer `layer`, for a chip's cells),
 * counting into act if not NULL. */
static int reference_run(const attn_config *cfg, int layer, int heads, const float *q,
                         const float *k, const float *v, int B, int T, int D, double *out,
                         double *S_opt, double *phi_opt, attn_activity *act, gc_err *e)
{
    if (cfg->variant->engine == ATTN_ENGINE_SOFTMAX)
        act = NULL;
    if (act && (layer < 0 || layer >= act->layers))
        return gc_fail(e, "attention reference: layer %d outside the activity record's 0..%d",
                       layer, act->layers - 1);
    if (cfg->variant->engine == ATTN_ENGINE_CELL && !cfg->cell)
        return gc_fail(e, "attention reference: %s needs a cell model", cfg->variant->name);
    if (cfg->window < 1 || cfg->tile < 1)
        return gc_fail(e, "attention reference: window and tile must be positive");
    size_t TT = (size_t)T * T;
    double *S = calloc(TT, sizeof *S), *phi = calloc(TT, sizeof *phi);
    if (!S || !phi) {
        free(S);
        free(phi);
        return gc_fail(e, "attention reference: out of memory");
    }
    ref_ctx r = {cfg, D, cfg->decay ? attn_config_lambda(cfg) : 0,
                 cfg->decay ? attn_config_token_period_s(cfg) : 0, 0, layer, 0, 0, {0}, act,
                 {0}, {0}, 0, NULL, NULL, NULL};
    if (cfg->read_noise) {
        int tiles = T / cfg->tile + 2;
        r.z1 = malloc((size_t)T * sizeof *r.z1);
        r.z2 = malloc((size_t)tiles * D * sizeof *r.z2);
        r.psum2 = malloc((size_t)tiles * sizeof *r.psum2);
        int bad = attn_noise_init(cfg, &r.nz, e) ||
                  ((!r.z1 || !r.z2 || !r.psum2) &&
                   gc_fail(e, "attention reference: out of memory"));
        if (bad) {
            free(S);
            free(phi);
            ref_noise_free(&r);
            return -1;
        }
    }
    if (cfg->chips > 0) {
        int bad = attn_config_check(cfg, e) ||
                  ((heads < 1 || layer < 0) &&
                   gc_fail(e, "attention reference: a chip needs heads >= 1 and a layer >= 0"));
        if (bad) {
            free(S);
            free(phi);
            ref_noise_free(&r);
            return -1;
        }
        r.chip = 1;
        /* the physical columns: the ring of the window (attn_plan_slots) */
        int M = cfg->window < T ? cfg->window : T;
        r.slots = ((M + cfg->tile - 1) / cfg->tile + 1) * cfg->tile;
        cell_variation_get(cfg->cell, &r.var);
    }
    double unit = cfg->variant->engine == ATTN_ENGINE_POLY ? 1e-6 * CELL_PAPER_T_MAX_S : 1;
    for (int b = 0; b < B; b++) {
        size_t o = (size_t)b * T * D;
        r.head = heads > 0 ? b % heads : b;
        r.b = b;
        for (size_t x = 0; x < TT; x++)
            S[x] = phi[x] = 0;
        if (cfg->variant->engine == ATTN_ENGINE_SOFTMAX)
            ref_softmax_head(cfg, q + o, k + o, v + o, T, D, out + o, S, phi);
        else {
            if (act) {
                r.slot = attn_act_slot_of(act, layer, b);
                ref_count_writes(&r, k + o, v + o, T);
            }
            for (int i = 0; i < T; i++) {
                ref_analog_row(&r, q + o, k + o, v + o, i, T, out + o, S, phi);
                if (act)
                    ref_count_row(&r, q + o, k + o, v + o, i, T, phi);
            }
        }
        for (size_t x = 0; S_opt && x < TT; x++) /* S in coulombs */
            S_opt[(size_t)b * TT + x] = S[x] * unit;
        for (size_t x = 0; phi_opt && x < TT; x++)
            phi_opt[(size_t)b * TT + x] = phi[x];
    }
    free(S);
    free(phi);
    ref_noise_free(&r);
    return 0;
}

int attn_reference_forward(const attn_config *cfg, const float *q, const float *k,
                           const float *v, int B, int T, int D, double *out, double *S_opt,
                           double *phi_opt, gc_err *e)
{
    return reference_run(cfg, 0, B, q, k, v, B, T, D, out, S_opt, phi_opt, NULL, e);
}

int attn_reference_forward_layer(const attn_config *cfg, int layer, int heads,
                                 const float *q, const float *k, const float *v, int B,
                                 int T, int D, double *out, double *S_opt, double *phi_opt,
                                 gc_err *e)
{
    return reference_run(cfg, layer, heads, q, k, v, B, T, D, out, S_opt, phi_opt, NULL, e);
}

int attn_reference_forward_counted(const attn_config *cfg, const float *q, const float *k,
                                   const float *v, int B, int T, int D, double *out,
                                   double *S_opt, double *phi_opt, attn_activity *act,
                                   int layer, gc_err *e)
{
    return reference_run(cfg, layer, act ? attn_activity_heads(act) : B, q, k, v, B, T, D,
                         out, S_opt, phi_opt, act, e);
}
