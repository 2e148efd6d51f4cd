/* Activity counting: the record of what the analog layer did (attention.h, "Activity"),
 * kept per layer and head, with one block per thread so that heads counted concurrently
 * never share memory; attn_activity_get sums the blocks. The helpers here are the one
 * definition of every count's bin, shared by the fast paths and the reference evaluator. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "attn_internal.h"

enum { ACT_N_C2P = 129, ACT_MAX_LEVELS = 256 };

/* Slot layout: the three scalars, then the histograms. */
enum { ACT_TOKENS, ACT_TILE_READS, ACT_ADDER_BITS, ACT_HEAD };

static size_t off_read1(const attn_activity *a) { (void)a; return ACT_HEAD; }
static size_t off_read2(const attn_activity *a)
{
    return off_read1(a) + (size_t)a->g.n_pulse * a->g.n_level;
}
static size_t off_c2p(const attn_activity *a)
{
    return off_read2(a) + (size_t)a->g.n_pulse * a->g.n_level;
}
static size_t off_readout(const attn_activity *a) { return off_c2p(a) + a->g.n_c2p; }
static size_t off_writes(const attn_activity *a) { return off_readout(a) + a->g.n_out; }

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
    a->g.n_c2p = ACT_N_C2P;
    a->g.out_step = 2.0 / (c->out_levels - 1);
    a->g.out_max = (int)nearbyint(1 / a->g.out_step);
    a->g.n_out = 2 * a->g.out_max + 1;
    a->g.counter_bits = 1 + (int)ceil(log2(a->g.out_max + 1.0));
    double unit = cell ? 1 : 1e-6 * CELL_PAPER_T_MAX_S; /* the engine's charge unit, C */
    double s_sat = cell ? cell_s_sat_c(c->cell) : CELL_PAPER_S_SAT_A * CELL_PAPER_T_MAX_S;
    a->g.c2p_lo_c = -2 * s_sat;
    a->g.c2p_step_c = 4 * s_sat / (ACT_N_C2P - 1);
    a->c2p_lo_u = (float)(a->g.c2p_lo_c / unit);
    a->c2p_scale_u = (float)(unit / a->g.c2p_step_c);
    a->range = cell ? cell_vdd_v(c->cell) : CELL_PAPER_VDD_V;
    a->ring = ((c->window + c->tile - 1) / c->tile + 1) * c->tile;
    a->n_threads = omp_get_max_threads();
    a->slot_len = off_writes(a) + (size_t)nk * nk;
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
    out->tokens = a->sum[ACT_TOKENS];
    out->tile_reads = a->sum[ACT_TILE_READS];
    out->adder_bits = a->sum[ACT_ADDER_BITS];
    out->read1 = a->sum + off_read1(a);
    out->read2 = a->sum + off_read2(a);
    out->c2p = a->sum + off_c2p(a);
    out->readout = a->sum + off_readout(a);
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
        free(w->H);
        free(w->Phi);
        free(w->win);
        w->klev = malloc(TD);
        w->vlev = malloc(TD);
        w->H = malloc((size_t)p->max_T * nl * sizeof *w->H);
        w->Phi = malloc((size_t)p->max_T * np * sizeof *w->Phi);
        w->win = malloc((size_t)D * nl * sizeof *w->win);
        w->act_levels = nl;
        w->act_pulses = np;
        if (!w->klev || !w->vlev || !w->H || !w->Phi || !w->win) {
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
    attn_act_slot o = {s, s + off_read1(a), s + off_read2(a), s + off_c2p(a),
                       s + off_readout(a), s + off_writes(a)};
    return o;
}

int attn_act_level(const attn_activity *a, float x)
{
    return attn_level_of(x, a->range, a->g.n_level);
}

int attn_act_pulse(const attn_activity *a, float q)
{
    return (int)nearbyint((q < 0 ? 0 : q > 1 ? 1 : q) * (a->g.n_pulse - 1));
}

double attn_act_adder_bits(const attn_activity *a, int tiles_read)
{
    double bits = 0;
    for (int t = 2; t <= tiles_read; t++)
        bits += a->g.counter_bits + ceil(log2((double)t));
    return bits;
}

void attn_act_write(const attn_activity *a, attn_act_slot *s, int prev, int now)
{
    s->writes[(size_t)prev * a->g.n_level + now] += 1;
}
