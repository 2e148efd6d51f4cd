/* Streaming (generation): one token at a time against a KV ring buffer per head.
 * The ring holds whole sub-tiles at absolute positions: key j lives in column j mod cap with
 * cap = (ceil(M/tile) + 1)·tile, so the keys of one tile share one physical sub-array as in
 * parallel mode, and a tile's columns are overwritten (oldest first) only once every key
 * in it has left the window. Each column stores the term factors of the k and v written
 * into it and the step it was written at; the age of a cell is counted from that step.
 * Accumulation is in float64: the streaming path does O(W·R·D) work per token. */
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "attn_internal.h"

struct attn_stream {
    const attn_plan *p;
    int B, cap, R1, R2, W;
    int layer;          /* a chip's layer whose cells the stream writes into */
    long pos, limit;    /* limit: positions the ring can take (LONG_MAX when it wraps) */
    long *t_write;      /* (cap) step each column was written at, -1 if never */
    float *Y1, *Yv;     /* (B, cap, R, D) term factors; softmax: k and v (R = 1) */
    int n_threads;
    float *scratch;     /* per thread: P, X1 (R1·D), S, phi (W), O (D) */
    size_t scratch_len;
    double *coord;      /* per thread: (2, D) coordinates of one k and v row */
    double *z;          /* per thread: (z_len) read noise's deviates of one read */
    size_t z_len;
    /* Shadow for counting (analog variants with at most 256 levels; NULL otherwise): kept up
     * to date on every write, so that counting can start at any step. */
    int n_level;
    unsigned char *klev, *vlev; /* (B, cap, D) DAC levels of the cells (0 when unwritten) */
    int h_len;          /* n_level rounded up to a multiple of 8 (count_step's blocks) */
    float *H;           /* (B, cap, h_len) per column: cells holding each V level, 0 past
                           n_level */
    int *win;           /* (B, D, n_level) K levels of the keys in the window */
    float *winH;        /* (B, n_level) V levels of the cells of the keys in the window */
};

static int stream_softmax(const attn_plan *p)
{
    return attn_on_softmax(&p->cfg);
}

int attn_stream_alloc(const attn_plan *p, int B, attn_stream **out, gc_err *e)
{
    if (B < 1)
        return gc_fail(e, "attention stream: B must be positive");
    attn_stream *s = calloc(1, sizeof *s);
    if (!s)
        return gc_fail(e, "attention stream: out of memory");
    int tile = p->cfg.tile, D = p->D;
    s->p = p;
    s->B = B;
    s->W = p->M;
    s->R1 = stream_softmax(p) ? 1 : p->a1.n_terms;
    s->R2 = stream_softmax(p) ? 1 : p->a2.n_terms;
    if (p->M < p->max_T) {
        s->cap = ((p->M + tile - 1) / tile + 1) * tile;
        s->limit = LONG_MAX;
    } else { /* the window never slides within max_T tokens: no wrap, stop at max_T */
        s->cap = (p->max_T + tile - 1) / tile * tile;
        s->limit = p->max_T;
    }
    s->n_threads = p->n_threads;
    s->scratch_len = (size_t)D * (1 + s->R1) + 2 * (size_t)s->W + D;
    s->t_write = malloc((size_t)s->cap * sizeof *s->t_write);
    s->Y1 = calloc((size_t)B * s->cap * s->R1 * D, sizeof *s->Y1);
    s->Yv = calloc((size_t)B * s->cap * s->R2 * D, sizeof *s->Yv);
    s->scratch = malloc((size_t)s->n_threads * s->scratch_len * sizeof *s->scratch);
    s->coord = malloc((size_t)s->n_threads * 2 * D * sizeof *s->coord);
    s->z_len = (size_t)(s->W > D ? s->W : D);
    s->z = malloc((size_t)s->n_threads * s->z_len * sizeof *s->z);
    int nl = p->cfg.k_levels;
    if (!stream_softmax(p) && nl == p->cfg.v_levels && nl <= 256) {
        s->n_level = nl;
        s->h_len = (nl + 7) / 8 * 8;
        s->klev = calloc((size_t)B * s->cap * D, 1);
        s->vlev = calloc((size_t)B * s->cap * D, 1);
        s->H = calloc((size_t)B * s->cap * s->h_len, sizeof *s->H);
        s->win = calloc((size_t)B * D * nl, sizeof *s->win);
        s->winH = calloc((size_t)B * nl, sizeof *s->winH);
        if (!s->klev || !s->vlev || !s->H || !s->win || !s->winH)
            s->n_level = -1;
    }
    if (!s->t_write || !s->Y1 || !s->Yv || !s->scratch || !s->coord || !s->z ||
        s->n_level < 0) {
        attn_stream_free(s);
        return gc_fail(e, "attention stream: out of memory for %d heads", B);
    }
    attn_stream_reset(s);
    *out = s;
    return 0;
}

void attn_stream_free(attn_stream *s)
{
    if (!s)
        return;
    free(s->t_write);
    free(s->Y1);
    free(s->Yv);
    free(s->scratch);
    free(s->coord);
    free(s->z);
    free(s->klev);
    free(s->vlev);
    free(s->H);
    free(s->win);
    free(s->winH);
    free(s);
}

void attn_stream_reset(attn_stream *s)
{
    s->pos = 0;
    for (int c = 0; c < s->cap; c++)
        s->t_write[c] = -1;
    if (s->n_level > 0) { /* a fresh array: every cell at level 0 */
        size_t D = (size_t)s->p->D, n = (size_t)s->B * s->cap;
        memset(s->klev, 0, n * D);
        memset(s->vlev, 0, n * D);
        memset(s->H, 0, n * s->h_len * sizeof *s->H);
        memset(s->win, 0, (size_t)s->B * D * s->n_level * sizeof *s->win);
        memset(s->winH, 0, (size_t)s->B * s->n_level * sizeof *s->winH);
    }
}

void attn_stream_set_layer(attn_stream *s, int layer) { s->layer = layer; }

int attn_stream_window(const attn_stream *s) { return s->W; }
long attn_stream_pos(const attn_stream *s) { return s->pos; }

/* ---------------------------------------------------------------------------------------- */

/* The shadow of a write of k, v into column col of head b (and the write's count, into
 * slot if not NULL): levels, the column's V histogram; the window count gains key k. */
static void shadow_write(attn_stream *s, int b, int col, const float *k, const float *v,
                         attn_act_slot *slot)
{
    const attn_plan *p = s->p;
    int D = p->D, nl = s->n_level;
    double range = attn_on_cell(&p->cfg) ? cell_vdd_v(p->cfg.cell) : CELL_PAPER_VDD_V;
    unsigned char *kl = s->klev + ((size_t)b * s->cap + col) * D;
    unsigned char *vl = s->vlev + ((size_t)b * s->cap + col) * D;
    float *H = s->H + ((size_t)b * s->cap + col) * s->h_len;
    int *win = s->win + (size_t)b * D * nl;
    memset(H, 0, (size_t)nl * sizeof *H);
    for (int d = 0; d < D; d++) {
        int lk = attn_level_of(k[d], range, nl), lv = attn_level_of(v[d], range, nl);
        if (slot) {
            attn_act_write(p->act, slot, kl[d], lk);
            attn_act_write(p->act, slot, vl[d], lv);
        }
        kl[d] = (unsigned char)lk;
        vl[d] = (unsigned char)lv;
        H[lv] += 1;
        win[d * nl + lk]++;
    }
    for (int l = 0; l < nl; l++)
        s->winH[(size_t)b * nl + l] += H[l];
}

/* Key j leaves the window of head b: its K levels leave the window count. */
static void shadow_leave(attn_stream *s, int b, long j)
{
    int D = s->p->D, nl = s->n_level;
    const unsigned char *kl = s->klev + ((size_t)b * s->cap + j % s->cap) * D;
    int *win = s->win + (size_t)b * D * nl;
    for (int d = 0; d < D; d++)
        win[d * nl + kl[d]]--;
    const float *H = s->H + ((size_t)b * s->cap + j % s->cap) * s->h_len;
    for (int l = 0; l < nl; l++)
        s->winH[(size_t)b * nl + l] -= H[l];
}

/* Writes k, v of head b at position pos into column col; coord is scratch of 2·D. A chip's
 * key sits in its physical column pos mod slots, as in parallel mode. */
static void stream_write(attn_stream *s, int b, long pos, int col, const float *k,
                         const float *v, double *coord)
{
    const attn_plan *p = s->p;
    int D = p->D;
    float *y1 = s->Y1 + (((size_t)b * s->cap + col) * s->R1) * D;
    float *yv = s->Yv + (((size_t)b * s->cap + col) * s->R2) * D;
    if (stream_softmax(p)) {
        memcpy(y1, k, (size_t)D * sizeof *k);
        memcpy(yv, v, (size_t)D * sizeof *v);
    } else {
        size_t slot = (size_t)(pos % p->slots) * D;
        const attn_cell *c1 = p->chip ? attn_chip_cells(p, s->layer, b, 1) + slot : NULL;
        const attn_cell *c2 = p->chip ? attn_chip_cells(p, s->layer, b, 2) + slot : NULL;
        attn_factor_kv(p, k, v, c1, c2, y1, (size_t)D, yv, (size_t)D, coord);
    }
}

/* S and phi of one head over the visible keys lo..pos (index j - lo); P the query's pulse
 * fractions, z scratch for the read noise. */
static void stream_scores(const attn_stream *s, int b, const float *P, const float *X1,
                          long lo, float *S, float *phi, double *z)
{
    const attn_plan *p = s->p;
    int D = p->D;
    double rowc = 0;
    for (int r = 0; r < s->R1; r++)
        if (p->a1.t[r].row_const) {
            double sx = 0;
            for (int d = 0; d < D; d++)
                sx += X1[(size_t)r * D + d];
            rowc += p->a1.t[r].poly[0] * sx;
        }
    double psum = 0;
    if (p->noise.on) { /* attention/noise.c: one deviate per visible key, in key order */
        for (int d = 0; d < D; d++)
            psum += P[d];
        attn_noise_normals(&p->noise, s->layer, b, 1, s->pos, 0, (int)(s->pos - lo + 1), z);
    }
    for (long j = lo; j <= s->pos; j++) {
        int col = (int)(j % s->cap);
        long age = s->pos - s->t_write[col];
        const float *y1 = s->Y1 + (((size_t)b * s->cap + col) * s->R1) * D;
        double acc = rowc;
        for (int r = 0; r < s->R1; r++) {
            if (p->a1.t[r].row_const)
                continue;
            double dot = 0;
            for (int d = 0; d < D; d++)
                dot += (double)X1[(size_t)r * D + d] * y1[(size_t)r * D + d];
            acc += p->a1.t[r].z[age] * dot;
        }
        if (p->noise.on)
            acc += attn_noise_sigma1(&p->noise, psum, (float)acc) * z[j - lo];
        S[j - lo] = (float)acc;
        phi[j - lo] = attn_phi_fast(p, (float)acc);
    }
}

/* Adds the counter values c (D) of one tile read, in counter steps, by sign to pos and neg:
 * integers when quantised (c, rounded to float, is within rounding of one). */
static void count_readouts(const attn_plan *p, const float *restrict c, double *pos,
                           double *neg)
{
    int D = p->D;
    double step = p->act->g.out_step;
    if (!p->cfg.quant_out) {
        for (int d = 0; d < D; d++) {
            double lsb = c[d] / step;
            *pos += lsb > 0 ? lsb : 0;
            *neg += lsb < 0 ? -lsb : 0;
        }
        return;
    }
    float inv = (float)(1 / step);
    int sp = 0, sn = 0;
    for (int d = 0; d < D; d++) {
        int n = (int)attn_round_even_f(c[d] * inv);
        sp += n > 0 ? n : 0;
        sn += n < 0 ? -n : 0;
    }
    *pos += sp;
    *neg += sn;
}

/* Array 2: tile by tile over the visible keys, readout, counter, digital sum. */
static void stream_outputs(const attn_stream *s, int b, long lo, const float *phi, float *O,
                           float *out, attn_act_slot *slot, double *z)
{
    const attn_plan *p = s->p;
    int D = p->D, tile = p->cfg.tile;
    double pos = 0, neg = 0; /* counter values summed by sign, in counter steps */
    memset(out, 0, (size_t)D * sizeof *out);
    for (long t0 = lo / tile * tile; t0 <= s->pos; t0 += tile) {
        double rowc = 0;
        for (int d = 0; d < D; d++)
            O[d] = 0;
        for (long j = t0 > lo ? t0 : lo; j < t0 + tile && j <= s->pos; j++) {
            int col = (int)(j % s->cap);
            long age = s->pos - s->t_write[col];
            const float *yv = s->Yv + (((size_t)b * s->cap + col) * s->R2) * D;
            for (int r = 0; r < s->R2; r++) {
                const attn_term *t = &p->a2.t[r];
                double x = attn_term_x(p, t, phi[j - lo]);
                if (t->row_const) {
                    rowc += t->poly[0] * x;
                    continue;
                }
                double xz = x * t->z[age];
                for (int d = 0; d < D; d++)
                    O[d] += (float)(xz * yv[(size_t)r * D + d]);
            }
        }
        if (p->noise.on) { /* attention/noise.c: one deviate per output column */
            double psum = 0;
            for (long j = t0 > lo ? t0 : lo; j < t0 + tile && j <= s->pos; j++)
                psum += phi[j - lo];
            attn_noise_normals(&p->noise, s->layer, b, 2, s->pos, t0 / tile, D, z);
            for (int d = 0; d < D; d++)
                O[d] += (float)(attn_noise_sigma2(&p->noise, psum, (float)(O[d] + rowc)) * z[d]);
        }
        for (int d = 0; d < D; d++) {
            O[d] = (float)attn_out_quant(&p->cfg, attn_readout_fast(p, (float)(O[d] + rowc)));
            out[d] += O[d];
        }
        if (slot)
            count_readouts(p, O, &pos, &neg);
    }
    if (slot) {
        slot->scalars[ATTN_ACT_READOUT_POS] += pos;
        slot->scalars[ATTN_ACT_READOUT_NEG] += neg;
    }
}

/* Counts of one step of head b that need no array output (attention.h, "Activity"): the
 * array-1 reads from the window count, the conversions and array-2 reads of the visible keys
 * lo..pos (array 2's as the window's V levels less Σ phi_j H_j: the pulses' share), tokens,
 * tiles read and adder bits. P: the pulse fractions of q. */
static void count_step(const attn_stream *s, int b, attn_act_slot *slot, const float *P,
                       long lo, const float *phi)
{
    const attn_plan *p = s->p;
    const attn_activity *a = p->act;
    int D = p->D, nl = s->n_level, tile = p->cfg.tile;
    const int *win = s->win + (size_t)b * D * nl;
    for (int d = 0; d < D; d++) {
        double *r1 = slot->read1 + (size_t)attn_act_pulse(a, P[d]) * nl;
        for (int l = 0; l < nl; l++)
            r1[l] += win[d * nl + l];
    }
    /* Σ phi_j H_j over the visible keys, eight levels a pass so that the sums stay in
     * registers (H's rows are padded to whole passes); the first pass also sums the pulses */
    const float *H = s->H + (size_t)b * s->cap * s->h_len;
    const float *winH = s->winH + (size_t)b * nl;
    double phi_total = 0;
    long pulsed = 0;
    for (int l0 = 0; l0 < nl; l0 += 8) {
        double r2[8] = {0}, f_sum = 0;
        long f_pos = 0;
        for (long j = lo, col = lo % s->cap; j <= s->pos;
             j++, col = col + 1 < s->cap ? col + 1 : 0) {
            const float *restrict Hj = H + (size_t)col * s->h_len + l0;
            double f = phi[j - lo];
            for (int l = 0; l < 8; l++)
                r2[l] += f * Hj[l];
            f_sum += f;
            f_pos += f > 0;
        }
        for (int l = 0; l < 8 && l0 + l < nl; l++) {
            slot->read2[l0 + l] += (double)winH[l0 + l] - r2[l];
            slot->read2[nl + l0 + l] += r2[l];
        }
        phi_total = f_sum; /* the same in every pass */
        pulsed = f_pos;
    }
    int tiles = (int)(s->pos / tile - lo / tile + 1);
    slot->scalars[ATTN_ACT_TOKENS] += 1;
    slot->scalars[ATTN_ACT_TILE_READS] += tiles;
    slot->scalars[ATTN_ACT_READOUTS] += (double)tiles * D;
    slot->scalars[ATTN_ACT_ADDER_BITS] += D * attn_act_adder_bits(a, tiles);
    slot->scalars[ATTN_ACT_C2P_COUNT] += (double)(s->pos - lo + 1);
    slot->scalars[ATTN_ACT_C2P_PHI] += phi_total;
    slot->scalars[ATTN_ACT_READ2_PULSED] += (double)pulsed * D;
}

static void stream_softmax_head(const attn_stream *s, int b, const float *q, long lo,
                                float *S, float *phi, float *out)
{
    const attn_plan *p = s->p;
    int D = p->D;
    double scale = p->cfg.softmax_scale > 0 ? p->cfg.softmax_scale : 1 / sqrt((double)D);
    double mx = -INFINITY, sum = 0;
    for (long j = lo; j <= s->pos; j++) {
        const float *k = s->Y1 + ((size_t)b * s->cap + j % s->cap) * D;
        double dot = 0;
        for (int d = 0; d < D; d++)
            dot += (double)q[d] * k[d];
        S[j - lo] = (float)(dot * scale);
        mx = fmax(mx, dot * scale);
    }
    for (long j = lo; j <= s->pos; j++)
        sum += exp(S[j - lo] - mx);
    memset(out, 0, (size_t)D * sizeof *out);
    for (long j = lo; j <= s->pos; j++) {
        const float *v = s->Yv + ((size_t)b * s->cap + j % s->cap) * D;
        phi[j - lo] = (float)(exp(S[j - lo] - mx) / sum);
        for (int d = 0; d < D; d++)
            out[d] += phi[j - lo] * v[d];
    }
}

/* Copies the visible lo..pos entries, times unit, to a row of W ending at pos. */
static void stream_store(const attn_stream *s, long lo, const float *src, float unit,
                         float *row)
{
    if (!row)
        return;
    long first = s->pos - s->W + 1; /* position of row[0] */
    memset(row, 0, (size_t)s->W * sizeof *row);
    for (long j = lo; j <= s->pos; j++)
        row[j - first] = src[j - lo] * unit;
}

int attn_stream_step(attn_stream *s, const float *q, const float *k, const float *v,
                     float *out, float *S_row, float *phi_row, gc_err *e)
{
    const attn_plan *p = s->p;
    if (s->pos >= s->limit)
        return gc_fail(e, "attention stream: %ld tokens fill the plan's max_T with a window "
                          "that does not slide (window >= max_T)", s->limit);
    if (p->chip && (!p->cells || s->layer >= p->chip_layers))
        return gc_fail(e, "attention stream: the chip's cells of layer %d are not drawn",
                       s->layer);
    int D = p->D;
    long lo = s->pos - p->M + 1 < 0 ? 0 : s->pos - p->M + 1;
    s->t_write[s->pos % s->cap] = s->pos;
    /* One token is little work: threads only pay off for many heads over long windows. */
    long work = (long)s->B * (s->pos - lo + 1) * D * (s->R1 + s->R2);
#pragma omp parallel for schedule(static) num_threads(s->n_threads) if (work > 1L << 18)
    for (int b = 0; b < s->B; b++) {
        float *P = s->scratch + (size_t)omp_get_thread_num() * s->scratch_len;
        float *X1 = P + D, *S = X1 + (size_t)s->R1 * D, *phi = S + s->W, *O = phi + s->W;
        const float *qb = q + (size_t)b * D;
        int col = (int)(s->pos % s->cap);
        attn_act_slot slot, *sl = NULL;
        if (p->act && s->n_level > 0) {
            slot = attn_act_slot_of(p->act, p->act_layer, b);
            sl = &slot;
        }
        if (s->n_level > 0) {
            if (s->pos - p->M >= 0)
                shadow_leave(s, b, s->pos - p->M);
            shadow_write(s, b, col, k + (size_t)b * D, v + (size_t)b * D, sl);
        }
        stream_write(s, b, s->pos, col, k + (size_t)b * D, v + (size_t)b * D,
                     s->coord + (size_t)omp_get_thread_num() * 2 * D);
        if (stream_softmax(p)) {
            stream_softmax_head(s, b, qb, lo, S, phi, out + (size_t)b * D);
        } else {
            attn_factor_q(p, qb, P, X1, (size_t)D);
            double *z = s->z + (size_t)omp_get_thread_num() * s->z_len;
            stream_scores(s, b, P, X1, lo, S, phi, z);
            if (sl)
                count_step(s, b, sl, P, lo, phi);
            stream_outputs(s, b, lo, phi, O, out + (size_t)b * D, sl, z);
        }
        stream_store(s, lo, S, (float)p->charge_unit_c, S_row ? S_row + (size_t)b * s->W : NULL);
        stream_store(s, lo, phi, 1, phi_row ? phi_row + (size_t)b * s->W : NULL);
    }
    s->pos++;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Filling and snapshots */

int attn_stream_append(attn_stream *s, const float *k, const float *v, int T, gc_err *e)
{
    if (s->p->chip && (!s->p->cells || s->layer >= s->p->chip_layers))
        return gc_fail(e, "attention stream: the chip's cells of layer %d are not drawn",
                       s->layer);
    if (T < 0 || T > s->limit - s->pos)
        return gc_fail(e, "attention stream: %ld + %d tokens overflow the plan's max_T with a "
                          "window that does not slide (window >= max_T)", s->pos, T);
    int D = s->p->D;
    for (int t = 0; t < T; t++)
        s->t_write[(s->pos + t) % s->cap] = s->pos + t;
#pragma omp parallel for schedule(static) num_threads(s->n_threads) if ((long)s->B * T > 256)
    for (int b = 0; b < s->B; b++) {
        double *coord = s->coord + (size_t)omp_get_thread_num() * 2 * D;
        for (int t = 0; t < T; t++) {
            size_t at = ((size_t)b * T + t) * D;
            long j = s->pos + t;
            /* The shadow follows; the writes are not counted: the parallel pass that
             * produced k and v counted them. */
            if (s->n_level > 0) {
                if (j - s->p->M >= 0)
                    shadow_leave(s, b, j - s->p->M);
                shadow_write(s, b, (int)(j % s->cap), k + at, v + at, NULL);
            }
            stream_write(s, b, j, (int)(j % s->cap), k + at, v + at, coord);
        }
    }
    s->pos += T;
    return 0;
}

int attn_stream_copy(attn_stream *dst, const attn_stream *src, gc_err *e)
{
    if (dst->p != src->p || dst->B != src->B)
        return gc_fail(e, "attention stream: a copy needs two streams of one plan and as many "
                          "heads (%d and %d)", dst->B, src->B);
    size_t D = (size_t)src->p->D, cap = (size_t)src->cap;
    size_t used = src->pos < src->cap ? (size_t)src->pos : cap; /* columns 0..used-1 */
    for (int b = 0; b < src->B; b++) {
        size_t o1 = (size_t)b * cap * src->R1 * D, o2 = (size_t)b * cap * src->R2 * D;
        memcpy(dst->Y1 + o1, src->Y1 + o1, used * src->R1 * D * sizeof *dst->Y1);
        memcpy(dst->Yv + o2, src->Yv + o2, used * src->R2 * D * sizeof *dst->Yv);
    }
    memcpy(dst->t_write, src->t_write, cap * sizeof *dst->t_write);
    if (src->n_level > 0) {
        size_t n = (size_t)src->B * cap, nl = (size_t)src->n_level;
        memcpy(dst->klev, src->klev, n * D);
        memcpy(dst->vlev, src->vlev, n * D);
        memcpy(dst->H, src->H, n * src->h_len * sizeof *dst->H);
        memcpy(dst->win, src->win, (size_t)src->B * D * nl * sizeof *dst->win);
        memcpy(dst->winH, src->winH, (size_t)src->B * nl * sizeof *dst->winH);
    }
    dst->pos = src->pos;
    dst->layer = src->layer;
    return 0;
}
