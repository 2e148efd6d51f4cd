/* attention: the analog gain-cell attention layer of Leroux et al. and its baselines.
 *
 * One head at a time is the unit of work; a call covers B = batch × heads independent heads
 * (OpenMP over heads). Inputs are per-head, already-scaled float32 tensors q, k, v (the
 * per-head affine scalers of PAPER.md §3 are applied by the caller), so for the paper variants
 * q is a pulse fraction in [0,1] and k, v are stored voltages in [0, 0.9] V (values outside
 * are clamped, as the DAC and the pulse generator would).
 *
 * Variants:
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
 * [-32/31, 32/31]). S is in the paper's units (µA × T_max) for paper variants and in coulombs
 * for calibrated; phi is the charge-to-pulse output as a fraction of T_max (for softmax: the
 * attention probabilities).
 *
 * Two evaluators: the fast one (float32, BLAS; the cell is compiled into a few separable terms
 * F ≈ Σ_r x_r(pulse) y_r(level) z_r(age), see attn_plan_decomp_error) and a slow direct
 * per-cell reference in float64 (attn_reference_forward) that tests compare with. */
#ifndef GCSIM_ATTENTION_H
#define GCSIM_ATTENTION_H

#include "common.h"
#include "cellmodel.h"

typedef enum {
    ATTN_SOFTMAX = 0,
    ATTN_SOFTMAX_SWA,
    ATTN_PAPER_LINEAR,
    ATTN_PAPER_CUBIC,
    ATTN_CALIBRATED,
} attn_variant;

/* Default cut of the calibrated cell's decomposition. The largest error of the compiled
 * charge table stays near 1e-3 of its full scale (silicon cell: 9.6e-4 with 3+3 terms; IGZO
 * 1.9e-4 with 1+1). That is 40x the fit's held-out table error but of the order of the
 * behavioural model's own error against SPICE (64-cell column: 0.08 % rms, 0.23 % max of
 * full scale), and it moved the shipped model's bits per byte on the silicon cell by 0.05 %
 * against a 1e-6 cut (9+9 terms, 2.3x slower). Tests that check exactness set 1e-6. */
#define ATTN_DECOMP_REL_TOL 1e-3

typedef struct {
    attn_variant variant;
    int window;            /* M, keys a query sees (itself included); paper: 1024 */
    int tile;              /* keys per sub-array (columns of one K and one V array); paper: 64 */
    int quant_q, quant_k, quant_v, quant_out; /* 1: quantise that stream, 0: keep it analog */
    int q_levels;          /* input pulse levels over [0,1] (16); calibrated: cell_q_levels */
    int k_levels, v_levels;/* DAC levels over [0, 0.9] V (8); calibrated: cell_k_levels */
    int out_levels;        /* counter grid over [-1,1]: step 2/(out_levels-1) (32) */
    int decay;             /* 1: stored values leak with age, 0: ideal retention */
    double lambda_per_token; /* decay rate per token of age (paper: 1.6e-4); used when
                              * token_period_s is 0 */
    double token_period_s; /* seconds between two tokens (latency per layer × layers); > 0
                            * overrides lambda. The two are tied by the paper's retention:
                            * lambda = period / CELL_PAPER_TAU_S (5 ms), so paper variants
                            * and the calibrated path see the same decay for a preset cell */
    double softmax_scale;  /* softmax variants: S = scale·q·k; 0 means 1/sqrt(D) (GPT-2) */
    const cell_model *cell;/* calibrated only; borrowed, must outlive the plan */
    double decomp_rel_tol; /* calibrated: singular values below this × the largest are
                              dropped (0 means ATTN_DECOMP_REL_TOL; the plan's
                              config holds the value used) */
} attn_config;

/* Fills c with the paper's settings for variant v: M = 1024, tile 64, all quantisers on with
 * 16/8/8/32 levels, decay on with lambda = 1.6e-4 per token, cell NULL. */
void attn_config_default(attn_config *c, attn_variant v);

/* "softmax", "softmax-swa", "paper-linear", "paper-cubic", "calibrated". */
int attn_variant_parse(const char *name, attn_variant *v, gc_err *e);
const char *attn_variant_name(attn_variant v);

/* The decay rate per token the configuration implies for the paper variants: lambda, or
 * token_period_s / CELL_PAPER_TAU_S when a period is given; 0 when decay is off. */
double attn_config_lambda(const attn_config *c);

/* Seconds between tokens for the calibrated path: token_period_s, or
 * lambda_per_token × CELL_PAPER_TAU_S when no period is given; 0 when decay is off. */
double attn_config_token_period_s(const attn_config *c);

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

/* Parallel (prefill / teacher-forced) evaluation. Heads are spread over the plan's OpenMP
 * threads; while they run, OpenBLAS is held to one thread (then restored), so do not run
 * other BLAS work concurrently from another thread during the call.
 * q, k, v are (B,T,D) float32, out is (B,T,D); S_opt and phi_opt, if not NULL, are (B,T,T)
 * and get S and phi (0 outside the causal window). T <= max_T, D = the plan's D. */
int attn_forward_parallel(attn_plan *p, const float *q, const float *k, const float *v,
                          int B, int T, int D, float *out, float *S_opt, float *phi_opt,
                          gc_err *e);

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

/* Keys a query sees: the length of the S_row / phi_row of attn_stream_step. */
int attn_stream_window(const attn_stream *s);

/* Tokens processed so far (the position the next step writes). */
long attn_stream_pos(const attn_stream *s);

/* One token for all B heads: writes k, v (B,D) at the current position, reads with q (B,D),
 * out gets (B,D). S_row and phi_row, if not NULL, are (B,W) with W = attn_stream_window, for
 * key positions pos-W+1 .. pos (0 for positions before the start or outside the window). */
int attn_stream_step(attn_stream *s, const float *q, const float *k, const float *v,
                     float *out, float *S_row, float *phi_row, gc_err *e);

/* ---------------------------------------------------------------------------------------- */
/* The slow direct evaluator, float64, cell by cell, written from PAPER.md (and, for
 * calibrated, from the cell_model functions) without the term decomposition. Same shapes as
 * attn_forward_parallel; out is (B,T,D), S_opt, phi_opt (B,T,T). Meant for tests: cost
 * O(B T² D) table look-ups. */
int attn_reference_forward(const attn_config *cfg, const float *q, const float *k,
                           const float *v, int B, int T, int D, double *out, double *S_opt,
                           double *phi_opt, gc_err *e);

#endif
