/* Private to attention/: the compiled cell (separable terms), the plan and its workspaces. */
#ifndef GCSIM_ATTN_INTERNAL_H
#define GCSIM_ATTN_INTERNAL_H

#include <math.h>

#include "attention.h"

/* One (layer, head) slot of activity counts in the calling thread's block (activity.c). */
typedef struct {
    double *scalars; /* ATTN_ACT_TOKENS .. (activity.c) */
    double *read1, *read2, *writes;
} attn_act_slot;

enum { ATTN_ACT_TOKENS, ATTN_ACT_TILE_READS, ATTN_ACT_ADDER_BITS, ATTN_ACT_C2P_COUNT,
       ATTN_ACT_C2P_PHI, ATTN_ACT_READOUTS, ATTN_ACT_READOUT_POS, ATTN_ACT_READOUT_NEG,
       ATTN_ACT_READ2_PULSED, ATTN_ACT_N_SCALARS };

/* One separable term of the charge table F(pulse, level, age) ≈ Σ_r x_r y_r z_r.
 * x on the plan's pulse grid (linear in between, exact for the cell's own tables);
 * y as a polynomial power (paper) or on the plan's level grid (calibrated);
 * z on ages 0..n_age-1, or exp(-mu·age) when the plan is exponential. */
typedef struct {
    double *x;       /* (n_pulse) */
    int is_poly;     /* paper: y = Σ_n poly[n] (V - 0.45)^n */
    double poly[4];
    double *y;       /* (n_level) calibrated: on the level grid */
    double mu;       /* paper: decay rate of this term per token (power · lambda) */
    float *z;        /* (n_age) */
    float *zrev;     /* (n_age) z reversed, so that ages of ascending keys run forward */
    float *xf, *dxf; /* (n_pulse) x in float and its steps x[i+1] - x[i], for array 2's
                        per-key interpolation */
    int row_const;   /* y constant and z ≡ 1: contributes coef · Σ_d x(q_d) to every key */
    int cell_offset; /* a chip's offset term: x = pulse, y = the cell's own offset (charge
                        units), z ≡ 1 */
} attn_term;

/* One physical cell of a chip, as the fast path uses it (attn_plan_chip). */
typedef struct {
    float gain;      /* relative read-charge gain */
    float offset;    /* read-charge offset at full pulse, in the plan's charge units */
    float lam;       /* ln(leak factor) on the plan's leak grid: (ln f - lam_lo) / lam_step */
    float dv;        /* stored-voltage shift, V */
} attn_cell;

/* Read noise (noise.c): the variances of one read, from the cell's /noise and the config's
 * scale. */
typedef struct {
    int on;
    double reset_var_c2;   /* k T C_int, C²: the integrator's reset, once per read */
    double cell_var_c2;    /* 2 k T gamma g_m T_max, C²: one cell read at full pulse */
    double conv_var_c;     /* conv_shot_factor q, C: per coulomb a converter conveys */
    double s_sat_c, ro_sat_c; /* the converters convey at most these, C */
    uint64_t seed;
} attn_noise;

/* Resolves the noise of c (off unless c->read_noise); an error if the cell has none. */
int attn_noise_init(const attn_config *c, attn_noise *nz, gc_err *e);
/* Sigma (C) of a read of array 1 whose pulses sum to pulse_sum (fractions of T_max) and whose
 * noiseless charge is s_c; of array 2 with pulses pulse_sum and noiseless charge o_c. */
double attn_noise_sigma1(const attn_noise *nz, double pulse_sum, double s_c);
double attn_noise_sigma2(const attn_noise *nz, double pulse_sum, double o_c);
/* n standard normal deviates of one read's stream into z (the header of noise.c says how
 * they are keyed): array 1: tile 0, one per visible key from the oldest; array 2: the key
 * tile's index, one per output column. */
void attn_noise_normals(const attn_noise *nz, int layer, int head, int array, long row,
                        long tile, int n, double *z);

/* The compiled cell of one array. */
typedef struct {
    int n_terms;
    attn_term *t;
    double decomp_err;    /* max |F - F̂| / max |F| over the table */
} attn_array;

/* Per-thread scratch for one head; sizes fixed at plan time. */
typedef struct {
    float *P;        /* (T,D) pulse fractions of q */
    float *X1, *Y1;  /* (R1, T, D) term factors of q and k */
    float *Yv;       /* (n_tiles, R2, tile, D) term factors of v, tile-major so that one
                        tile's terms are one contiguous (R2·tile, D) matrix; zero padded */
    float *S, *phi;  /* (tile, Wmax) one row block */
    float *C;        /* (tile, Wmax) one term's product (tabulated z) */
    float *Xc, *Yc;  /* (tile, R1·D), (Wmax, R1·D) packed, age-scaled factors */
    float *Ac, *Vc;  /* (tile, R2·tile), (R2·tile, D) packed array-2 factors of one tile */
    float *O;        /* (tile, D) one tile's output */
    float *rowc;     /* (tile) constant-term contribution per row */
    float *rowf0;    /* (R2, tile) row factors exp(-mu_r u) of the separable path */
    float *rowf;     /* (R2, tile) and exp(-mu_r (i - jt0)) for the current key tile */
    int *loc_idx;    /* (tile) pulse grid interval of each key of one row (array 2) */
    float *loc_wt;   /* (tile) and the weight within it */
    double *coord;   /* (2, D) coordinates of one k and v row */
    double *z;       /* (max(Wmax, D)) read noise: one read's normal deviates */
    int layer, head; /* the head being evaluated (read noise's streams) */
    /* Counting (allocated by attn_plan_set_activity; used while p->act is set) */
    unsigned char *klev, *vlev; /* (max_T, D) DAC levels of k and v (attn_factors) */
    unsigned char *plev;        /* (max_T, D) pulse levels of q (attn_factors) */
    int *H;          /* (max_T, n_level) per key: how many of its D cells hold each V level */
    float *phisum;   /* (max_T) per key: Σ phi over the queries that read it */
    long pulsed;     /* (query, key) pairs read with phi > 0 */
    int *win;        /* (D, row) K levels of the keys in the current row's window */
    int *acc1;       /* (n_pulse, row) the head's array-1 reads; row: attn_act_row */
    int act_levels, act_pulses; /* sizes they were made for */
    attn_act_slot slot; /* the head being counted */
} attn_work;

struct attn_plan {
    attn_config cfg;
    int D, max_T, M;      /* M: window, at most max_T (softmax: max_T) */
    int n_age;            /* ages tabulated: min(M, max_T) */
    int exponential;      /* terms are exp(-mu·age): use the separable fast path */
    /* coordinates: q -> pulse in [0,1]; k, v -> volts (paper) or DAC level (calibrated) */
    double k_range, v_range;   /* full scale of k, v before quantisation */
    int n_pulse;
    double *pulse_grid;        /* (n_pulse) */
    int pulse_uniform;         /* grid points evenly spaced: O(1) location */
    int n_level_k, n_level_v;  /* level grid points (calibrated) */
    double level_step_k, level_step_v; /* grid spacing in DAC levels */
    attn_array a1, a2;
    attn_noise noise;          /* read noise (noise.on 0: none) */
    /* A chip: the y_r of the grid terms are tabulated on (level, leak) with the leak-factor
     * axis ln f = lam_lo + m·lam_step, m = 0..n_lam-1 (n_lam 1: no leak spread), index
     * level·n_lam + m; the stored voltage of a level goes through write_v (k_levels), the
     * cell's write transfer, and its shift. */
    int chip;                  /* cfg.chips > 0 */
    int slots;                 /* key columns per head (attn_plan_slots) */
    int n_lam;
    double lam_lo, lam_step;
    double *write_v;           /* (k_levels) chip: stored voltage per DAC level, V */
    int chip_layers, chip_heads;
    attn_cell *cells;          /* (layers, heads, 2, slots, D) drawn by attn_plan_chip */
    /* Charges inside the engines are in units of charge_unit_c coulombs: 1 for the cell
     * engine; 1e-6 A × T_max for the poly engine, which keeps the paper's arithmetic (g in
     * µA) bit for bit. S leaves the library in coulombs. */
    double charge_unit_c;
    /* converters in that unit: phi = c2p(S) (fraction of T_max), readout(O) in [-1,1] */
    double s_sat;              /* charge-to-pulse saturation (poly: 80 µA × T_max) */
    double ro_sat;             /* array-2 readout full scale (poly: 40 µA × T_max) */
    int n_conv;                /* calibrated: dense tables of c2p and readout */
    double c2p_lo, c2p_hi, ro_lo, ro_hi;
    float *c2p_tab, *ro_tab;
    float c2p_lo_f, c2p_scale_f, ro_lo_f, ro_scale_f; /* the same in float, for the lookups */
    double conv_err;           /* max error of the dense converter tables, of full scale */
    int n_threads;
    attn_work *work;
    attn_activity *act;        /* counting into this record (NULL: off), as layer act_layer */
    int act_layer;
};

/* ---------------------------------------------------------------------------------------- */
/* Activity (activity.c) */

struct attn_activity {
    attn_activity_grid g;
    int layers, heads, n_threads, ring;
    double range;              /* DAC full scale (V): level = round(x / range · (n_level-1)) */
    int max_tiles;             /* tiles a query can read: ceil(window/tile) + 1 */
    double *adder_bits;        /* (max_tiles + 1) adder bits per column by tiles read */
    size_t slot_len;
    double *blocks;            /* (n_threads, layers, heads, slot_len) */
    double *sum;               /* (slot_len) attn_activity_get's result */
};

attn_act_slot attn_act_slot_of(attn_activity *a, int layer, int b);

/* Round half to even by the 1.5·2^23 shift: exact for |x| < 2^22 in the default rounding
 * mode (which the library never changes), the same result as nearbyintf, inlined and
 * vectorisable. */
static inline float attn_round_even_f(float x)
{
    const float big = 12582912.0f;
    return (x + big) - big;
}

/* Nearest of n_level DAC levels over [0, range] of a value x (clamped), ties to even. */
static inline int attn_level_of(float x, double range, int n_level)
{
    float u = (x < 0 ? 0 : x > (float)range ? (float)range : x) * (float)((n_level - 1) / range);
    return (int)attn_round_even_f(u);
}

/* Nearest of n_pulse pulse levels over [0,1] of a pulse fraction q (clamped), ties to
 * even. */
static inline int attn_pulse_of(float q, int n_pulse)
{
    float u = (q < 0 ? 0 : q > 1 ? 1 : q) * (float)(n_pulse - 1);
    return (int)attn_round_even_f(u);
}

int attn_act_level(const attn_activity *a, float x);   /* nearest DAC level of k or v */
int attn_act_pulse(const attn_activity *a, float q);   /* nearest pulse level of q */
/* The same for a row of D pulse fractions P and D values of k and v, into bytes. */
void attn_act_row_levels(const attn_activity *a, const float *P, const float *k,
                         const float *v, int D, unsigned char *pl, unsigned char *kl,
                         unsigned char *vl);
/* Adder bits of one column when tiles_read tiles are summed (tabulated at allocation). */
static inline double attn_act_adder_bits(const attn_activity *a, int tiles_read)
{
    return a->adder_bits[tiles_read < a->max_tiles ? tiles_read : a->max_tiles];
}
/* Row length of the window and array-1 counts: n_level padded to whole blocks of 8, so that
 * their inner loop has a fixed length (vectorised, no remainder). */
static inline int attn_act_row(int n_level)
{
    return (n_level + 7) / 8 * 8;
}
/* One cell write: level before × level written. */
static inline void attn_act_write(const attn_activity *a, attn_act_slot *s, int prev, int now)
{
    s->writes[(size_t)prev * a->g.n_level + now] += 1;
}

/* The engine a configuration runs on. */
static inline int attn_on_cell(const attn_config *c)
{
    return c->variant->engine == ATTN_ENGINE_CELL;
}

static inline int attn_on_softmax(const attn_config *c)
{
    return c->variant->engine == ATTN_ENGINE_SOFTMAX;
}

/* Round half to even of x / step, times step (PAPER.md §3 quantiser anchored at 0), by the
 * 1.5·2^52 shift: exact for |x/step| < 2^51 in the default rounding mode (which the
 * library never changes), the same result as nearbyint and inlined into the loops. */
static inline double attn_quantise(double x, double step)
{
    const double big = 6755399441055744.0;
    double u = x / step;
    return fabs(u) < 1e15 ? step * ((u + big) - big) : step * nearbyint(u);
}

/* Clamp to [0, range] then (if levels > 1) quantise with step range / (levels - 1). */
static inline double attn_clamp_quant(double x, double range, int levels)
{
    x = x < 0 ? 0 : x > range ? range : x;
    return levels > 1 ? attn_quantise(x, range / (levels - 1)) : x;
}

/* Builds the terms of both arrays for the plan's variant (compile.c). */
int attn_compile(attn_plan *p, gc_err *e);
void attn_array_free(attn_array *a);

/* Values of a function tabulated on a grid, linear in between, clamped at the ends. */
double attn_lerp_grid(const double *grid, const double *val, int n, double x);

/* Counter quantisation of one tile readout (out_levels grid) when quant_out is on. */
double attn_out_quant(const attn_config *c, double r);

/* Converters of the fast path (float, from the dense tables for calibrated); inline
 * because they run once per (query, key) pair. */
float attn_phi_exact(const attn_plan *p, float s);
float attn_readout_exact(const attn_plan *p, float o);

/* tab (n) sampled uniformly from lo with spacing 1/scale; x inside the table. */
static inline float attn_lerp_uniform(const float *tab, int n, float lo, float scale, float x)
{
    float u = (x - lo) * scale;
    int i = (int)u;
    if (i > n - 2)
        i = n - 2;
    float w = u - (float)i;
    return tab[i] + w * (tab[i + 1] - tab[i]);
}

static inline float attn_phi_fast(const attn_plan *p, float s)
{
    if (!attn_on_cell(&p->cfg)) {
        float x = s / (float)p->s_sat;
        return x < 0 ? 0 : x > 1 ? 1 : x;
    }
    if (!(s > p->c2p_lo && s < p->c2p_hi))
        return attn_phi_exact(p, s);
    return attn_lerp_uniform(p->c2p_tab, p->n_conv, p->c2p_lo_f, p->c2p_scale_f, s);
}

static inline float attn_readout_fast(const attn_plan *p, float o)
{
    if (!attn_on_cell(&p->cfg)) {
        float x = o / (float)p->ro_sat;
        return x < -1 ? -1 : x > 1 ? 1 : x;
    }
    if (!(o > p->ro_lo && o < p->ro_hi))
        return attn_readout_exact(p, o);
    return attn_lerp_uniform(p->ro_tab, p->n_conv, p->ro_lo_f, p->ro_scale_f, o);
}

/* A chip's cells of one head, layer and array (1 or 2): (slots, D). */
static inline const attn_cell *attn_chip_cells(const attn_plan *p, int layer, int head,
                                               int array)
{
    size_t n = (size_t)p->slots * p->D;
    return p->cells + (((size_t)layer * p->chip_heads + head % p->chip_heads) * 2 +
                       (array - 1)) * n;
}

/* Term factors of one head: P and X1 (R1,T,D) from q, Y1 from k, Yv from v (T rows);
 * c1, c2 the chip's cells of the head's arrays ((slots, D), key j in column j mod slots),
 * NULL for nominal cells. Counting (p->act), also the levels plev, klev and vlev of w. */
void attn_factors(const attn_plan *p, const float *q, const float *k, const float *v, int T,
                  const attn_cell *c1, const attn_cell *c2, attn_work *w);
/* The same for a single token (rows of D), used by streaming; c1, c2 the D cells of the
 * key's column, or NULL. */
void attn_factor_q(const attn_plan *p, const float *q, float *P, float *X1, size_t stride);
void attn_factor_kv(const attn_plan *p, const float *k, const float *v, const attn_cell *c1,
                    const attn_cell *c2, float *Y1, size_t stride1, float *Yv,
                    size_t stride2, double *coord /* (2D) */);
/* x_r(pulse) for one term of one array at pulse in [0,1]. */
float attn_term_x(const attn_plan *p, const attn_term *t, float pulse);

#endif
