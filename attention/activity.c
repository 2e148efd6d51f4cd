/* Activity counting: the record of what the analog layer did (attention.h, "Activity"),
 * kept per layer and head, with one block per thread so that heads counted concurrently
 * never share memory; attn_activity_get sums the blocks. The helpers here are the one
 * definition of every count's bin, shared by the fast paths and the reference evaluator. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "attn_internal.h"

enum { ACT_MAX_LEVELS = 256 };

/* Slot layout: the scalars (ATTN_ACT_*), then the histograms. */
static size_t off_read1(const attn_activity *a) { (void)a; return ATTN_ACT_N_SCALARS; }
static size_t off_read2(const attn_activity *a)
{
    return off_read1(a) + (size_t)a->g.n_pulse * a->g.n_level;
}
static size_t off_writes(const attn_activity *a) { return off_read2(a) + 2 * (size_t)a->g.n_level; }

int attn_activity_alloc(const attn_config *c, int layers, int heads, attn_activity **out,
                        gc_err *e)
{
    *out = NULL;
    if (!attn_variant_is_analog(c->variant))
        return gc_fail(e, "activity: variant %s is digital; only analog variants are counted",
                       c->variant->name);
    if (attn_on_cell(c) && !c->cell)
        return gc_fail(e, "activity: variant %s needs its cell loaded", c->variant->name);
    if (layers < 1 || heads < 1)
        return gc_fail(e, "activity: layers and heads must be positive (got %d, %d)", layers,
                       heads);
    int cell = attn_on_cell(c);
    int nq = cell ? cell_q_levels(c->cell) : c->q_levels;
    int nk = cell ? cell_k_levels(c->cell) : c->k_levels;
    if (!cell && c->k_levels != c->v_levels)
        return gc_fail(e, "activity: K and V must share one DAC (k_levels %d, v_levels %d)",
                       c->k_levels, c->v_levels);
    if (nq > ACT_MAX_LEVELS || nk > ACT_MAX_LEVELS)
        return gc_fail(e, "activity: at most %d pulse or DAC levels are counted (got %d, %d)",
                       ACT_MAX_LEVELS, nq, nk);
    attn_activity *a = calloc(1, sizeof *a);
    if (!a)
        return gc_fail(e, "activity: out of memory");
    a->layers = layers;
    a->heads = heads;
    a->g.n_pulse = nq;
    a->g.n_level = nk;
    a->g.out_step = 2.0 / (c->out_levels - 1);
    a->g.out_max = (int)nearbyint(1 / a->g.out_step);
    a->g.counter_bits = 1 + (int)ceil(log2(a->g.out_max + 1.0));
    a->range = cell ? cell_vdd_v(c->cell) : CELL_PAPER_VDD_V;
    a->ring = ((c->window + c->tile - 1) / c->tile + 1) * c->tile;
    a->n_threads = omp_get_max_threads();
    a->slot_len = off_writes(a) + (size_t)nk * nk;
    a->max_tiles = a->ring / c->tile;
    a->adder_bits = malloc((size_t)(a->max_tiles + 1) * sizeof *a->adder_bits);
    if (!a->adder_bits) {
        attn_activity_free(a);
        return gc_fail(e, "activity: out of memory");
    }
    /* the t-th tile read (t >= 2) adds counter_bits + ceil(log2 t) bits */
    a->adder_bits[0] = a->adder_bits[1] = 0;
    for (int t = 2; t <= a->max_tiles; t++)
        a->adder_bits[t] = a->adder_bits[t - 1] + a->g.counter_bits + ceil(log2((double)t));
    a->blocks = calloc((size_t)a->n_threads * layers * heads * a->slot_len, sizeof *a->blocks);
    a->sum = calloc(a->slot_len, sizeof *a->sum);
    if (!a->blocks || !a->sum) {
        attn_activity_free(a);
        return gc_fail(e, "activity: out of memory for %d layers of %d heads", layers, heads);
    }
    *out = a;
    return 0;
}

void attn_activity_free(attn_activity *a)
{
    if (!a)
        return;
    free(a->blocks);
    free(a->sum);
    free(a->adder_bits);
    free(a);
}

void attn_activity_clear(attn_activity *a)
{
    memset(a->blocks, 0,
           (size_t)a->n_threads * a->layers * a->heads * a->slot_len * sizeof *a->blocks);
}

int attn_activity_layers(const attn_activity *a) { return a->layers; }
int attn_activity_heads(const attn_activity *a) { return a->heads; }
const attn_activity_grid *attn_activity_grid_of(const attn_activity *a) { return &a->g; }

void attn_activity_get(attn_activity *a, int layer, int head, attn_activity_counts *out)
{
    memset(a->sum, 0, a->slot_len * sizeof *a->sum);
    for (int t = 0; t < a->n_threads; t++) {
        const double *s =
            a->blocks + (((size_t)t * a->layers + layer) * a->heads + head) * a->slot_len;
        for (size_t i = 0; i < a->slot_len; i++)
            a->sum[i] += s[i];
    }
    out->tokens = a->sum[ATTN_ACT_TOKENS];
    out->tile_reads = a->sum[ATTN_ACT_TILE_READS];
    out->adder_bits = a->sum[ATTN_ACT_ADDER_BITS];
    out->c2p_count = a->sum[ATTN_ACT_C2P_COUNT];
    out->c2p_phi = a->sum[ATTN_ACT_C2P_PHI];
    out->readouts = a->sum[ATTN_ACT_READOUTS];
    out->readout_pos_lsb = a->sum[ATTN_ACT_READOUT_POS];
    out->readout_neg_lsb = a->sum[ATTN_ACT_READOUT_NEG];
    out->read2_pulsed = a->sum[ATTN_ACT_READ2_PULSED];
    out->read1 = a->sum + off_read1(a);
    out->read2 = a->sum + off_read2(a);
    out->writes = a->sum + off_writes(a);
}

int attn_plan_set_activity(attn_plan *p, attn_activity *a, int layer, gc_err *e)
{
    p->act = NULL;
    if (!a)
        return 0;
    if (layer < 0 || layer >= a->layers)
        return gc_fail(e, "activity: layer %d outside the record's 0..%d", layer,
                       a->layers - 1);
    if (attn_on_softmax(&p->cfg) || a->g.n_level != p->cfg.k_levels ||
        a->g.n_pulse != p->cfg.q_levels || a->ring != ((p->cfg.window + p->cfg.tile - 1) / p->cfg.tile + 1) * p->cfg.tile)
        return gc_fail(e, "activity: the record was made for another configuration than the "
                          "plan's");
    int nl = a->g.n_level, np = a->g.n_pulse, D = p->D;
    size_t TD = (size_t)p->max_T * D;
    for (int t = 0; t < p->n_threads; t++) {
        attn_work *w = &p->work[t];
        if (w->klev && w->act_levels == nl && w->act_pulses == np)
            continue;
        free(w->klev);
        free(w->vlev);
        free(w->plev);
        free(w->H);
        free(w->phisum);
        free(w->win);
        free(w->acc1);
        w->klev = malloc(TD);
        w->vlev = malloc(TD);
        w->plev = malloc(TD);
        w->H = malloc((size_t)p->max_T * nl * sizeof *w->H);
        w->phisum = malloc((size_t)p->max_T * sizeof *w->phisum);
        w->win = malloc((size_t)D * attn_act_row(nl) * sizeof *w->win);
        w->acc1 = malloc((size_t)np * attn_act_row(nl) * sizeof *w->acc1);
        w->act_levels = nl;
        w->act_pulses = np;
        if (!w->klev || !w->vlev || !w->plev || !w->H || !w->phisum || !w->win || !w->acc1) {
            w->act_levels = 0;
            return gc_fail(e, "activity: out of memory for the counting workspaces");
        }
    }
    p->act = a;
    p->act_layer = layer;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The bins, one definition for every evaluator */

attn_act_slot attn_act_slot_of(attn_activity *a, int layer, int b)
{
    double *s = a->blocks + (((size_t)omp_get_thread_num() * a->layers + layer) * a->heads +
                             b % a->heads) * a->slot_len;
    attn_act_slot o = {s, s + off_read1(a), s + off_read2(a), s + off_writes(a)};
    return o;
}

int attn_act_level(const attn_activity *a, float x)
{
    return attn_level_of(x, a->range, a->g.n_level);
}

int attn_act_pulse(const attn_activity *a, float q) { return attn_pulse_of(q, a->g.n_pulse); }

/* The level read off the low bits of the rounding shift (attn_round_even_f; levels <= 256):
 * in this form the loops below are vectorised. */
static inline unsigned char level_byte(float u)
{
    union { float f; unsigned u; } b = {u + 12582912.0f};
    return (unsigned char)b.u;
}

void attn_act_row_levels(const attn_activity *a, const float *restrict P,
                         const float *restrict k, const float *restrict v, int D,
                         unsigned char *restrict pl, unsigned char *restrict kl,
                         unsigned char *restrict vl)
{
    float r = (float)a->range, scale = (float)((a->g.n_level - 1) / a->range);
    float pscale = (float)(a->g.n_pulse - 1);
    for (int d = 0; d < D; d++) /* attn_pulse_of: P is at most 1 already (NaN: 0) */
        pl[d] = level_byte((P[d] > 0 ? P[d] : 0) * pscale);
    for (int d = 0; d < D; d++) {
        float u = k[d] > 0 ? k[d] : 0;
        kl[d] = level_byte((u < r ? u : r) * scale);
    }
    for (int d = 0; d < D; d++) {
        float u = v[d] > 0 ? v[d] : 0;
        vl[d] = level_byte((u < r ? u : r) * scale);
    }
}
