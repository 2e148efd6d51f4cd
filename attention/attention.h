/* attention: the analog gain-cell attention layer of Leroux et al. and its baselines.
 *
 * One head at a time is the unit of work; a call covers B = batch × heads independent heads
 * (OpenMP over heads). Inputs are per-head, already-scaled float32 tensors q, k, v (the
 * per-head affine scalers of PAPER.md §3 are applied by the caller), so for the paper variants
 * q is a pulse fraction in [0,1] and k, v are stored voltages in [0, 0.9] V (values outside
 * are clamped, as the DAC and the pulse generator would).
 *
 * Variants are rows of one table (attn_variant_type below; the built-in ones):
 *   softmax         GPT-2 causal attention, S = scale·q·k, phi = softmax(S) (window ignored)
 *   softmax-swa     the same restricted to the sliding window of M keys
 *   paper-linear    PAPER.md §3 with g(y) = 19.3 y (µA)
 *   paper-cubic     PAPER.md §3 with the cubic g(y)
 *   calibrated      the same data path evaluated through a cell_model (cellmodel.h): DAC write
 *                   transfer, read charge table, leakage table, charge-to-pulse and signed
 *                   readout, all in SI units.
 * Row i sees keys max(0, i-M+1)..i; masked entries of S and phi are 0 and masked cells are
 * not read at all (they deliver no charge, whatever the cell's charge at zero pulse). Keys
 * are grouped into sub-tiles of `tile` keys at absolute positions (tile t holds keys
 * t·tile..t·tile+tile-1); each tile holding at least one visible key is read: its array-2
 * output is clamped to [-1,1] (readout), quantised on the counter grid (round half to even,
 * step 2/(out_levels-1), so a saturated ±1 reads ±32/31) and the tiles are summed digitally.
 * Quantisers switched off keep their clamp (the pulse range and the rails are physical).
 * Calibrated: q is quantised on cell_q_levels pulse levels over [0,1]; k and v (volts) on the
 * cell_k_levels DAC levels over [0, vdd] and written with cell_write_v (linear between
 * levels when not quantised); the age of a cell times the token period goes to
 * cell_decay_v; the config's q/k/v levels are replaced by the cell's.
 *
 * Output units: out is the digital sum of the tiles' readouts (dimensionless, one tile lies in
 * [-32/31, 32/31]). S is in coulombs for every analog variant (the paper's µA × T_max times
 * 1e-6 A × 15 ns) and dimensionless for softmax; phi is the charge-to-pulse output as a
 * fraction of T_max (for softmax: the attention probabilities).
 *
 * Two evaluators: the fast one (float32, BLAS; the cell is compiled into a few separable terms
 * F ≈ Σ_r x_r(pulse) y_r(level) z_r(age), see attn_plan_decomp_error) and a slow direct
 * per-cell reference in float64 (attn_reference_forward) that tests compare with. */
#ifndef GCSIM_ATTENTION_H
#define GCSIM_ATTENTION_H

#include "common.h"
#include "cellmodel.h"

typedef struct attn_config attn_config;

/* ---------------------------------------------------------------------------------------- */
/* Variants: rows of one type table (attention/variants.c), as GSL's gsl_interp_type. A row
 * says everything that distinguishes a variant; the three engines below evaluate them.
 * Adding a variant = one row (plus its functions, if it needs new ones). */

typedef enum {
    ATTN_ENGINE_SOFTMAX, /* digital softmax over the causal (optionally windowed) keys */
    ATTN_ENGINE_POLY,    /* the paper's data path with an analytic cell g(y) and exponential
                            decay of y (PAPER.md §3), exact separable terms */
    ATTN_ENGINE_CELL,    /* the same data path through a cell_model (cellmodel.h): write
                            transfer, charge tables, leakage, converters, in SI units */
} attn_engine;

typedef struct {
    const char *name;        /* command-line name, e.g. "paper-cubic" */
    const char *summary;     /* one line for help texts */
    attn_engine engine;
    int windowed;            /* softmax engine: 1 = keys limited to the window */
    const double *g_ua;      /* poly engine: g(y) = Σ_n g_ua[n] y^n in µA, n = 0..3,
                                y = stored voltage - mid-rail */
    /* The variant's own settings, applied over the paper's by attn_config_default (NULL:
     * none). */
    void (*defaults)(attn_config *c);
} attn_variant_type;

/* The built-in rows. */
extern const attn_variant_type attn_softmax, attn_softmax_swa, attn_paper_linear,
    attn_paper_cubic, attn_calibrated;

/* The table: attn_variant_at(0 .. attn_variant_count() - 1). */
int attn_variant_count(void);
const attn_variant_type *attn_variant_at(int i);

/* Finds a row by name; an unknown name gets an error listing the known ones. */
int attn_variant_parse(const char *name, const attn_variant_type **out, gc_err *e);

/* Writes "softmax, softmax-swa, ..." into buf (n bytes). */
void attn_variant_names(char *buf, size_t n);

/* Analog variants (poly and cell engines) take the per-head hardware scalers of PAPER.md §3,
 * quantisers, decay and converters; softmax variants are digital. */
int attn_variant_is_analog(const attn_variant_type *v);

/* ---------------------------------------------------------------------------------------- */
/* The configuration: every analog setting, parsed once (attn_config_set, by name) and carried
 * from the command line to the cell. */

/* Default cut of the calibrated cell's decomposition. The largest error of the compiled
 * charge table stays near 1e-3 of its full scale (silicon cell: 9.6e-4 with 3+3 terms; IGZO
 * 1.9e-4 with 1+1). That is 40x the fit's held-out table error but of the order of the
 * behavioural model's own error against SPICE (64-cell column: 0.08 % rms, 0.23 % max of
 * full scale), and it moved the shipped model's bits per byte on the silicon cell by 0.05 %
 * against a 1e-6 cut (9+9 terms, 2.3x slower). Tests that check exactness set 1e-6. */
#define ATTN_DECOMP_REL_TOL 1e-3

struct attn_config {
    const attn_variant_type *variant;
    int window;            /* M, keys a query sees (itself included); paper: 1024 */
    int tile;              /* keys per sub-array (columns of one K and one V array); paper: 64 */
    int quant_q, quant_k, quant_v, quant_out; /* 1: quantise that stream, 0: keep it analog */
    int q_levels;          /* input pulse levels over [0,1] (16); cell engine: the cell's */
    int k_levels, v_levels;/* DAC levels over [0, vdd] (8); cell engine: the cell's */
    int out_levels;        /* counter grid over [-1,1]: step 2/(out_levels-1) (32) */
    int decay;             /* 1: stored values leak with age, 0: ideal retention */
    double lambda_per_token; /* poly engine: decay rate per token of age when no token
                              * period is given (the paper's 1.6e-4) */
    double token_period_s; /* seconds between two tokens; 0: the variant's default (see
                            * attn_config_token_period_s) */
    int layers;            /* layers a token passes through, each with its own arrays in
                            * series: the default token period of a cell is layers × the
                            * per-layer latency (0: 1, a lone layer) */
    double softmax_scale;  /* softmax engine: S = scale·q·k; 0 means 1/sqrt(D) (GPT-2) */
    double decomp_rel_tol; /* cell engine: singular values below this × the largest are
                              dropped (0 means ATTN_DECOMP_REL_TOL; the plan's
                              config holds the value used) */
    char cell_file[1024];  /* cell engine: the cell.h5 it runs through ("" if a preset) */
    char cell_preset[32];  /* cell engine: or a built-in cell ("paper-cubic", "paper-linear") */
    const cell_model *cell;/* cell engine: the loaded cell; borrowed, must outlive the plan
                              (attn_config_load_cell loads it) */
    int chips;             /* cell engine: > 0: the cells are a chip's, one seeded draw per
                              physical cell from the cell's variation model (the plan runs
                              chip chip_seed; gcsim ppl scores chips chip_seed ..
                              chip_seed + chips - 1); 0: every cell nominal */
    int chip_seed;         /* the chip a plan runs */
    double mismatch_scale; /* every sigma of the variation model times this (0 means 1) */
    int read_noise;        /* cell engine: 1 = every read adds its noise, from the cell's
                              noise model (/noise; attention/noise.c): the integrator's
                              kT/C, the cells' channel noise, the converters' ramp; 0: none */
    int noise_seed;        /* the seed of the read noise's random streams */
    double noise_scale;    /* every noise sigma times this (0 means 1) */
};

/* Fills c with the paper's settings: M = 1024, tile 64, all quantisers on with 16/8/8/32
 * levels, decay on with lambda = 1.6e-4 per token and no token period, then the variant's
 * own defaults. */
void attn_config_default(attn_config *c, const attn_variant_type *v);

/* Sets one setting by name from text, with its range checked: the one parser behind the
 * command line's options, a model's config.json and sweep files. Setting cell_file clears
 * cell_preset and the other way round. Keys: see
 * attn_config_settings (window, tile, q_levels, k_levels, v_levels, kv_levels, out_levels,
 * quant, quant_q, quant_k, quant_v, quant_out, decay, lambda_per_token, token_period_s,
 * layers, softmax_scale, decomp_rel_tol, cell_file, cell_preset, chips, chip_seed,
 * mismatch_scale, read_noise, noise_seed, noise_scale). Booleans take
 * on/off/true/false/1/0. The error names the key and the allowed range. */
int attn_config_set(attn_config *c, const char *key, const char *value, gc_err *e);

/* Checks that c is complete and consistent: the cell engine has a cell file or preset (or
 * a loaded cell), other engines none; a cell's default token period can be computed; chips
 * run on a loaded cell only if it has a variation model, read noise only if it has a noise
 * model. */
int attn_config_check(const attn_config *c, gc_err *e);

/* Loads the cell named by cell_file or cell_preset (cell engine only; *out NULL otherwise).
 * The caller frees it with cell_model_free and sets c->cell. */
int attn_config_load_cell(const attn_config *c, cell_model **out, gc_err *e);

/* Per-layer latency of the analog attention of a cell, s: the write of k and v (t_write),
 * array 1 read by the q pulses (T_max), charge-to-pulse conversion while its pulses read
 * array 2 (T_max), and the signed readout (T_max). 0 if the cell records no write time. */
double attn_layer_latency_s(const cell_model *cell);

/* Seconds between two tokens, as used: 0 when decay is off; token_period_s when given;
 * else poly engine: lambda_per_token × CELL_PAPER_TAU_S (the paper's rate is a period over
 * its retention); cell engine: max(layers, 1) × attn_layer_latency_s(cell), the analog
 * schedule's own time (0 when no cell is loaded yet). */
double attn_config_token_period_s(const attn_config *c);

/* The decay rate per token the poly engine uses: token_period_s / CELL_PAPER_TAU_S when a
 * period is given, else lambda_per_token; 0 when decay is off. */
double attn_config_lambda(const attn_config *c);

/* One setting as the configuration resolves it, for recording with results. */
typedef struct {
    const char *key;       /* as attn_config_set takes it */
    const char *unit;      /* "s", "tokens", "" ... */
    int is_text, is_bool;
    double num;            /* numbers and booleans */
    const char *text;      /* text settings (variant, cell) */
} attn_setting;

/* The settings of c in a fixed order, the variant first; out has room for ATTN_MAX_SETTINGS.
 * resolved = 1: every setting as the plan uses it (the token period and lambda actually
 * used, the default cut); 0: as asked, leaving out what was not given (0 or ""), so that
 * attn_config_set of each reproduces c. Returns the count. */
#define ATTN_MAX_SETTINGS 32
int attn_config_settings(const attn_config *c, attn_setting *out, int resolved);

/* The read noise of c (read_noise on, its cell loaded) as standard deviations of a column's
 * charge, C (attention/noise.c): the integrator's reset; one cell read at full pulse (n cells
 * add n times its variance); each converter conveying its full scale (s_sat_c, the
 * charge-to-pulse converter's, readout_sat_c, array 2's readout's). noise_scale included. */
typedef struct {
    double reset_c, cell_full_pulse_c, c2p_full_scale_c, readout_full_scale_c;
    double s_sat_c, readout_sat_c;
} attn_read_noise_sigmas;
int attn_read_noise(const attn_config *c, attn_read_noise_sigmas *out, gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* Plan: the compiled cell, the settings and the workspaces for heads of dimension D and
 * sequences of up to max_T tokens. One plan serves one call at a time (it owns the
 * workspaces); make one plan per thread that calls attn_forward_parallel concurrently. */
typedef struct attn_plan attn_plan;

int attn_plan_alloc(const attn_config *cfg, int D, int max_T, attn_plan **out, gc_err *e);
void attn_plan_free(attn_plan *p);
const attn_config *attn_plan_config(const attn_plan *p);

/* Number of separable terms of array 1 and array 2 (0 for softmax variants). */
int attn_plan_rank(const attn_plan *p, int array);

/* Largest |F_exact - F_decomposed| over the whole (pulse, level, age) table, relative to the
 * table's largest |F|, for array 1 or 2 (exact zero for the paper variants, whose terms are
 * analytic). */
double attn_plan_decomp_error(const attn_plan *p, int array);

/* Calibrated: largest error of the dense tables the fast path evaluates the charge-to-pulse
 * converter and the array-2 readout with, as a fraction of their full scale (0 otherwise). */
double attn_plan_converter_error(const attn_plan *p);

/* A chip (cfg.chips > 0): draws every physical cell of chip chip_seed, `heads` heads in each
 * of the config's layers (max(layers, 1)), arrays 1 and 2; they stay the plan's until the
 * next call (the plan's config then records this seed). Head b of a call is head b mod
 * heads. Needed before evaluating a chip's plan; the compiled cell is shared by all chips.
 * A call for the chip and heads the plan holds already draws nothing. */
int attn_plan_chip(attn_plan *p, int chip_seed, int heads, gc_err *e);

/* The physical key columns of one head's array: key j sits in column j mod this many, the
 * ring of the streaming mode, (ceil(M/tile) + 1)·tile, in parallel mode too. */
int attn_plan_slots(const attn_plan *p);

/* The mismatch of one physical cell of chip cfg->chip_seed: array 1 (K) or 2 (V), column
 * `slot`, row d, of one head and layer, from the cell's variation model v with every sigma
 * times the config's mismatch scale. Its own gc_rng stream, seeded from these indices only:
 * the draw does not depend on the order cells are drawn in or on threads. */
void attn_chip_cell(const attn_config *cfg, const cell_variation *v, int layer, int head,
                    int array, int slot, int d, cell_mismatch *out);

/* Parallel (prefill / teacher-forced) evaluation. Heads are spread over the plan's OpenMP
 * threads; while they run, OpenBLAS is held to one thread (then restored), so do not run
 * other BLAS work concurrently from another thread during the call.
 * q, k, v are (B,T,D) float32, out is (B,T,D); S_opt and phi_opt, if not NULL, are (B,T,T)
 * and get S and phi (0 outside the causal window). T <= max_T, D = the plan's D. */
int attn_forward_parallel(attn_plan *p, const float *q, const float *k, const float *v,
                          int B, int T, int D, float *out, float *S_opt, float *phi_opt,
                          gc_err *e);

/* The same for the arrays of layer `layer` of a chip (attn_forward_parallel is layer 0). */
int attn_forward_layer(attn_plan *p, int layer, const float *q, const float *k,
                       const float *v, int B, int T, int D, float *out, float *S_opt,
                       float *phi_opt, gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* Streaming (generation): a KV ring buffer of sub-tiles per head. Each key column remembers
 * the step it was written at, so its age is counted in tokens from its own write. The ring
 * holds ceil(M/tile)+1 tiles: the extra tile keeps the tiles aligned to absolute positions
 * (as in parallel mode) while the window slides; a tile is overwritten, oldest first, once
 * all its keys have left the window. For softmax (no window) the ring holds max_T keys. */
typedef struct attn_stream attn_stream;

int attn_stream_alloc(const attn_plan *p, int B, attn_stream **out, gc_err *e);
void attn_stream_free(attn_stream *s);
void attn_stream_reset(attn_stream *s);

/* The layer whose arrays a chip's stream writes into (0 unless set; head b is b mod the
 * chip's heads). */
void attn_stream_set_layer(attn_stream *s, int layer);

/* Keys a query sees: the length of the S_row / phi_row of attn_stream_step. */
int attn_stream_window(const attn_stream *s);

/* Tokens processed so far (the position the next step writes). */
long attn_stream_pos(const attn_stream *s);

/* One token for all B heads: writes k, v (B,D) at the current position, reads with q (B,D),
 * out gets (B,D). S_row and phi_row, if not NULL, are (B,W) with W = attn_stream_window, for
 * key positions pos-W+1 .. pos (0 for positions before the start or outside the window). */
int attn_stream_step(attn_stream *s, const float *q, const float *k, const float *v,
                     float *out, float *S_row, float *phi_row, gc_err *e);

/* Writes T tokens' keys and values for all B heads without reading them: the state after T
 * steps with these k and v, whatever their queries (a step's query changes nothing stored).
 * k and v are (B,T,D), as attn_forward_parallel takes them, so a parallel (prefill) pass can
 * fill the ring and streaming continue from it. */
int attn_stream_append(attn_stream *s, const float *k, const float *v, int T, gc_err *e);

/* Makes dst the state of src (both from the same plan, same B): position, write times and the
 * stored columns in use. A snapshot to continue from more than once. */
int attn_stream_copy(attn_stream *dst, const attn_stream *src, gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* The slow direct evaluator, float64, cell by cell, written from PAPER.md (and, for
 * calibrated, from the cell_model functions) without the term decomposition. Same shapes as
 * attn_forward_parallel; out is (B,T,D), S_opt, phi_opt (B,T,T). Meant for tests: cost
 * O(B T² D) table look-ups. */
int attn_reference_forward(const attn_config *cfg, const float *q, const float *k,
                           const float *v, int B, int T, int D, double *out, double *S_opt,
                           double *phi_opt, gc_err *e);

/* The same for a chip (cfg->chips > 0): every cell of layer `layer`, head b mod heads, drawn
 * by attn_chip_cell and evaluated as cellmodel.h's variation says (gain, offset, write
 * offset, leak factor). attn_reference_forward is layer 0, heads = B. */
int attn_reference_forward_layer(const attn_config *cfg, int layer, int heads,
                                 const float *q, const float *k, const float *v, int B,
                                 int T, int D, double *out, double *S_opt, double *phi_opt,
                                 gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* Activity: what the energy of the analog layer depends on, counted while it runs
 * (attention/activity.c). Off unless a record is attached (attn_plan_set_activity; the
 * reference evaluator takes one directly). Counts are kept per layer and head (head = b mod
 * heads, b the index of attn_forward_parallel's B = batch × heads), in aggregate forms the
 * fast path already has (level histograms, sums over rows and columns), never per cell:
 *   read1 (n_pulse, n_level)  array-1 cell reads: the q pulse level applied × the K level
 *                             stored (each visible key, each of D rows, once per query);
 *   read2 (2, n_level)        array-2 cell reads by the V level stored, with their pulse
 *                             phi (analog) split linearly between no pulse (row 0: Σ 1-phi)
 *                             and the full pulse T_max (row 1: Σ phi);
 *   c2p_count, c2p_phi        charge-to-pulse conversions (one per visible query-key pair)
 *                             and the sum of their output pulses as fractions of T_max;
 *   read2_pulsed              array-2 cell reads with a pulse (phi > 0);
 *   readouts, readout_pos_lsb, readout_neg_lsb
 *                             signed readouts (one per column per tile read) and the sums of
 *                             their positive and negative counter values in counter steps;
 *   writes (n_level, n_level) cell writes of K and V: level before × level written (a cell
 *                             never written holds level 0);
 *   tokens, tile_reads        queries answered; (query, tile) pairs read;
 *   adder_bits                bit positions summed by the digital adder over tiles: per query
 *                             and column, the t-th tile read (t >= 2) adds counter_bits +
 *                             ceil(log2 t) bits.
 * Pulse levels are the q_levels points i/(n_pulse-1) of [0,1]; levels are the DAC levels
 * (stored voltage cell_write_v(level)). Analog (unquantised) q, k, v count at their nearest
 * level. The ring of a slot is (ceil(window/tile) + 1) × tile columns: key j overwrites the
 * cell of key j - ring, in parallel mode as in streaming. Softmax variants count nothing. */
typedef struct attn_activity attn_activity;

typedef struct {
    int n_pulse, n_level;
    int out_max;      /* counter values -out_max..out_max */
    int counter_bits; /* sign + magnitude bits of one counter */
    double out_step;  /* readout of counter value c: c · out_step (clamped to ±1) */
} attn_activity_grid;

typedef struct {
    double tokens, tile_reads, adder_bits, c2p_count, c2p_phi, readouts, readout_pos_lsb,
        readout_neg_lsb, read2_pulsed;
    const double *read1, *read2, *writes;
} attn_activity_counts;

/* A record for `layers` layers of `heads` heads of the configuration c (resolved: a
 * calibrated c has its cell loaded). */
int attn_activity_alloc(const attn_config *c, int layers, int heads, attn_activity **out,
                        gc_err *e);
void attn_activity_free(attn_activity *a);
void attn_activity_clear(attn_activity *a);
int attn_activity_layers(const attn_activity *a);
int attn_activity_heads(const attn_activity *a);
const attn_activity_grid *attn_activity_grid_of(const attn_activity *a);

/* The counts of one (layer, head), summed over threads. Valid until the next call that
 * counts into a. */
void attn_activity_get(attn_activity *a, int layer, int head, attn_activity_counts *out);

/* Attaches a (NULL: counting off) to the plan's calls and to its streams, counting as
 * layer `layer` (0 .. layers-1) until the next call. a must have been made for the plan's
 * configuration; the first call allocates the plan's counting workspaces. */
int attn_plan_set_activity(attn_plan *p, attn_activity *a, int layer, gc_err *e);

/* attn_reference_forward that also counts into a (if not NULL) as layer `layer`. */
int attn_reference_forward_counted(const attn_config *cfg, const float *q, const float *k,
                                   const float *v, int B, int T, int D, double *out,
                                   double *S_opt, double *phi_opt, attn_activity *a,
                                   int layer, gc_err *e);

#endif
