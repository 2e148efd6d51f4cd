/* A chip: one seeded draw of the cell's variation model per physical cell, static for a run
 * (mismatch does not change while the chip works). Each cell has its own gc_rng stream whose
 * seed mixes the chip's seed with the cell's address (layer, head, array, column, row), so a
 * cell's draw depends on nothing else: not on the order of drawing, the threads or the
 * evaluator (fast path, streaming or the direct reference). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "attn_internal.h"

/* splitmix64 of the running seed and one more index. */
static uint64_t mix(uint64_t h, uint64_t x)
{
    gc_rng r;
    gc_rng_seed(&r, h ^ (x * 0x9e3779b97f4a7c15ull));
    return gc_rng_next(&r);
}

/* The seed of one array's cells: the chip, then the array's address. */
static uint64_t array_seed(const attn_config *cfg, int layer, int head, int array)
{
    uint64_t h = mix(0x6763736d2d636869ull, (uint64_t)cfg->chip_seed);
    return mix(mix(mix(h, (uint64_t)layer), (uint64_t)head), (uint64_t)array);
}

static double scale_of(const attn_config *cfg)
{
    return cfg->mismatch_scale > 0 ? cfg->mismatch_scale : 1;
}

void attn_chip_cell(const attn_config *cfg, const cell_variation *v, int layer, int head,
                    int array, int slot, int d, cell_mismatch *out)
{
    uint64_t h = mix(mix(array_seed(cfg, layer, head, array), (uint64_t)slot), (uint64_t)d);
    cell_mismatch_draw(v, scale_of(cfg), h, out);
}

int attn_plan_chip(attn_plan *p, int chip_seed, int heads, gc_err *e)
{
    if (!p->chip)
        return gc_fail(e, "attention: the configuration is not a chip (chips = 0)");
    if (heads < 1 || chip_seed < 0)
        return gc_fail(e, "attention: a chip needs at least one head and a seed >= 0 (got %d, "
                          "%d)", heads, chip_seed);
    if (p->cells && p->cfg.chip_seed == chip_seed && p->chip_heads == heads)
        return 0; /* drawn already: the cells depend on nothing else the plan can change */
    p->cfg.chip_seed = chip_seed;
    cell_variation v;
    cell_variation_get(p->cfg.cell, &v);
    int layers = p->cfg.layers > 1 ? p->cfg.layers : 1, D = p->D, S = p->slots;
    size_t per = (size_t)S * D, n = (size_t)layers * heads * 2 * per;
    attn_cell *cells = malloc(n * sizeof *cells);
    if (!cells)
        return gc_fail(e, "attention: out of memory for a chip of %zu cells", n);
    double charge = 1 / p->charge_unit_c, scale = scale_of(&p->cfg);
    /* attn_chip_cell's seeds, their common prefix mixed once per array and column */
#pragma omp parallel for schedule(static) num_threads(p->n_threads)
    for (long x = 0; x < (long)(n / per); x++) {
        int array = (int)(x % 2) + 1, head = (int)(x / 2 % heads), layer = (int)(x / 2 / heads);
        attn_cell *c = cells + (size_t)x * per;
        uint64_t ha = array_seed(&p->cfg, layer, head, array);
        for (int s = 0; s < S; s++) {
            uint64_t hs = mix(ha, (uint64_t)s);
            for (int d = 0; d < D; d++) {
                cell_mismatch m;
                cell_mismatch_draw(&v, scale, mix(hs, (uint64_t)d), &m);
                attn_cell *o = &c[(size_t)s * D + d];
                o->gain = (float)m.gain;
                o->offset = (float)(m.offset_c * charge);
                o->lam = (float)((m.log_leak - p->lam_lo) / p->lam_step);
                o->dv = (float)m.write_offset_v;
            }
        }
    }
    free(p->cells);
    p->cells = cells;
    p->chip_layers = layers;
    p->chip_heads = heads;
    return 0;
}
