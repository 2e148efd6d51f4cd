/* cost: the accounting. Each energy component is a count of the activity times an energy per
 * operation of the cell model (cellmodel.h, "Cost"):
 *   read array 1   Σ reads(pulse level p, K level l) · E_read(p, V_l), V_l = write_v(l)
 *   read array 2   Σ reads(no pulse, l) · E_read(0, V_l) + reads(full pulse, l) · E_read(1, V_l)
 *                  (the analog phi split linearly between them: the read is taken as linear
 *                  in its pulse width over [0, T_max])
 *   word lines     cell reads with a nonzero pulse (both arrays) × e_wordline_cell_j (the
 *                  wire of one cell pitch of a read word-line pair)
 *   charge-to-pulse  conversions · E_c2p(0) + Σ phi · (E_c2p(S_sat) - E_c2p(0)) (linear in
 *                  the output pulse width between the charge of no pulse and saturation)
 *   readout        readouts · E_ro(0) + Σ counter value⁺ · step · (E_ro(+sat) - E_ro(0))
 *                  + Σ counter value⁻ · step · (E_ro(-sat) - E_ro(0)) (linear in |value|)
 *   writes         Σ writes(level before, level written) · E_write(before, written)
 *   DAC            writes · e_dac_conversion_j
 *   bias (integrator, comparator, reference)  power × columns × time: per tile read,
 *                  `tile` columns of array 1 busy over the q and phi phases and D columns of
 *                  array 2 over the phi phase and the readout (integrators and the reference
 *                  share); comparators: one per column over the phi phase (c2p), two per
 *                  column of array 2 over the readout
 *   counters       2 · Σ |counter value| flip-flop toggles (counting up, then the reset)
 *                  × e_toggle_dff_j
 *   adder          adder bits × 4.5 · e_toggle_nand2_j (a full adder of 9 NAND2 gates, each
 *                  output toggling with probability 1/2)
 *   digital overhead  tokens × e_digital_overhead_token_head_j
 *   idle leakage   tokens × P_idle(cell) × cells of the head × token period
 * Latency per layer: t_write_settle (the write to half an LSB) + t_q_phase (the q pulses on
 * array 1 with the integrator's settling) + t_phi_phase (the charge-to-pulse conversion,
 * whose pulses read array 2) + t_readout + t_digital_sum; heads and tiles run in parallel,
 * the phases and the layers in series. Without those measurements (older cell files,
 * presets): t_write, T_max, t_c2p. */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cost.h"

#define ADDER_NAND2_TOGGLES 4.5 /* 9 NAND2 per full adder bit, half of them toggling */

static const struct {
    const char *key, *label;
} component_names[COST_N] = {
    {"read_array1", "read array 1 (K)"},
    {"c2p", "charge-to-pulse"},
    {"read_array2", "read array 2 (V)"},
    {"wordlines", "word-line wires"},
    {"readout", "signed readout"},
    {"write", "cell writes"},
    {"dac", "DAC"},
    {"integrator_bias", "integrator bias"},
    {"comparator_bias", "comparator bias"},
    {"reference_bias", "reference bias"},
    {"counters", "counters"},
    {"adder", "adder tree"},
    {"digital_overhead", "digital overhead"},
    {"idle_leakage", "idle leakage"},
};

/* A named parameter's value (0 if absent), its flag and source into c. */
static double param(const cell_model *m, const char *name, int *simulated, char *source,
                    size_t n)
{
    const cell_cost_param *p = cell_cost_param_find(m, name);
    if (!p) {
        if (simulated)
            *simulated = 0;
        if (source)
            snprintf(source, n, "%s absent from the cell model: counted as 0", name);
        return 0;
    }
    if (simulated)
        *simulated = p->simulated;
    if (source)
        snprintf(source, n, "%s = %.4g %s: %s", name, p->value, p->unit, p->source);
    return p->value;
}

static double param_value(const cell_model *m, const char *name)
{
    return param(m, name, NULL, NULL, 0);
}

int cost_parse_shape(const char *s, cost_options *o, gc_err *e)
{
    int l, h, c, used = 0;
    if (sscanf(s, "%dx%dx%d%n", &l, &h, &c, &used) != 3 || s[used] || l < 1 || h < 1 ||
        c < 1 || c % h)
        return gc_fail(e, "--shape '%s': expected LAYERSxHEADSxD_MODEL with D_MODEL a multiple "
                          "of HEADS, e.g. 12x12x768", s);
    o->layers = l;
    o->heads = h;
    o->d_model = c;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Energy of one (layer, head) slot, per component, J */

typedef struct {
    double t_max, t_c2p, t_readout, p_int, p_cmp, p_ref, e_dac, e_dff, e_nand2, e_overhead;
    double p_idle, cells_head, period, e_wordline;
} unit_costs;

static void slot_energy(const attn_activity *a, const attn_activity_counts *n,
                        const cell_model *m, const attn_config *c, const unit_costs *u,
                        double E[COST_N])
{
    const attn_activity_grid *g = attn_activity_grid_of(a);
    int np = g->n_pulse, nl = g->n_level, D = 64;
    (void)c;
    memset(E, 0, COST_N * sizeof *E);
    for (int l = 0; l < nl; l++) {
        double v = cell_write_v(m, l);
        for (int p = 0; p < np; p++)
            E[COST_READ_ARRAY1] += n->read1[(size_t)p * nl + l] *
                                   cell_read_energy_j(m, (double)p / (np - 1), v);
        E[COST_READ_ARRAY2] += n->read2[l] * cell_read_energy_j(m, 0, v) +
                               n->read2[nl + l] * cell_read_energy_j(m, 1, v);
    }
    double pulsed = n->read2_pulsed;
    for (int p = 1; p < np; p++)
        for (int l = 0; l < nl; l++)
            pulsed += n->read1[(size_t)p * nl + l];
    E[COST_WORDLINES] = pulsed * u->e_wordline;
    double c0 = cell_c2p_energy_j(m, 0), c1 = cell_c2p_energy_j(m, cell_s_sat_c(m));
    E[COST_C2P] = n->c2p_count * c0 + n->c2p_phi * (c1 - c0);
    double sat = cell_readout_sat_c(m), r0 = cell_readout_energy_j(m, 0);
    E[COST_READOUT] = n->readouts * r0 +
                      n->readout_pos_lsb * g->out_step * (cell_readout_energy_j(m, sat) - r0) +
                      n->readout_neg_lsb * g->out_step * (cell_readout_energy_j(m, -sat) - r0);
    double writes = 0;
    for (int x = 0; x < nl; x++)
        for (int y = 0; y < nl; y++) {
            double w = n->writes[(size_t)x * nl + y];
            writes += w;
            E[COST_WRITE] += w * cell_write_energy_j(m, x, y);
        }
    E[COST_DAC] = writes * u->e_dac;
    D = n->tokens > 0 ? (int)lround(n->readouts / n->tile_reads) : D; /* columns of array 2 */
    double cols1 = n->tile_reads * c->tile, cols2 = n->readouts;
    (void)D;
    /* array 1's columns read (q phase) and convert (phi phase), array 2's are read (phi
     * phase) and read out; one comparator per c2p, two per signed readout */
    double busy = cols1 * (u->t_max + u->t_c2p) + cols2 * (u->t_c2p + u->t_readout);
    E[COST_INTEGRATOR_BIAS] = u->p_int * busy;
    E[COST_COMPARATOR_BIAS] = u->p_cmp * (cols1 * u->t_c2p + 2 * cols2 * u->t_readout);
    E[COST_REFERENCE_BIAS] = u->p_ref * busy;
    E[COST_COUNTERS] = 2 * (n->readout_pos_lsb + n->readout_neg_lsb) * u->e_dff;
    E[COST_ADDER] = n->adder_bits * ADDER_NAND2_TOGGLES * u->e_nand2;
    E[COST_DIGITAL_OVERHEAD] = n->tokens * u->e_overhead;
    E[COST_IDLE_LEAKAGE] = n->tokens * u->p_idle * u->cells_head * u->period;
}

/* ---------------------------------------------------------------------------------------- */
/* Sources */

static void mark_components(cost_result *r, const cell_model *m)
{
    int sim = cell_energy_is_simulated(m);
    const char *tab = sim ? "SPICE supply energy of the cell file (/energy)"
                          : "declared by the cell model (a preset: PAPER.md §2)";
    cost_component *c = r->comp;
    for (int k = 0; k < COST_N; k++) {
        c[k].key = component_names[k].key;
        c[k].label = component_names[k].label;
    }
    int per_op[] = {COST_READ_ARRAY1, COST_C2P, COST_READ_ARRAY2, COST_READOUT, COST_WRITE};
    for (size_t i = 0; i < sizeof per_op / sizeof *per_op; i++) {
        c[per_op[i]].simulated = sim;
        snprintf(c[per_op[i]].source, sizeof c[per_op[i]].source, "%s", tab);
    }
    size_t n = sizeof c[0].source;
    param(m, "e_dac_conversion_j", &c[COST_DAC].simulated, c[COST_DAC].source, n);
    param(m, "e_wordline_cell_j", &c[COST_WORDLINES].simulated, c[COST_WORDLINES].source, n);
    param(m, "p_integrator_bias_w", &c[COST_INTEGRATOR_BIAS].simulated,
          c[COST_INTEGRATOR_BIAS].source, n);
    param(m, "p_comparator_bias_w", &c[COST_COMPARATOR_BIAS].simulated,
          c[COST_COMPARATOR_BIAS].source, n);
    param(m, "p_reference_bias_w", &c[COST_REFERENCE_BIAS].simulated,
          c[COST_REFERENCE_BIAS].source, n);
    param(m, "e_toggle_dff_j", &c[COST_COUNTERS].simulated, c[COST_COUNTERS].source, n);
    char s[400];
    param(m, "e_toggle_nand2_j", &c[COST_ADDER].simulated, s, sizeof s);
    snprintf(c[COST_ADDER].source, n, "%s; one adder bit = 9 NAND2, half toggling", s);
    param(m, "e_digital_overhead_token_head_j", &c[COST_DIGITAL_OVERHEAD].simulated,
          c[COST_DIGITAL_OVERHEAD].source, n);
    double p_idle = cell_idle_power_w(m);
    c[COST_IDLE_LEAKAGE].simulated = sim && p_idle > 0;
    snprintf(c[COST_IDLE_LEAKAGE].source, n,
             p_idle > 0 ? "idle power per cell %.3g W (SPICE, /energy/idle_power_cell) x cells x "
                          "token period"
                        : "the cell model records no idle power (%g W): counted as 0",
             p_idle);
}

/* ---------------------------------------------------------------------------------------- */
/* Latency and area */

static void latency(cost_result *r, const cell_model *m, int layers)
{
    /* each phase from its SPICE measurement where the cell file has one, else from the
     * declared pulse widths (older files, presets) */
    struct {
        const char *name, *fallback;
        double *out;
    } ph[] = {{"t_write_settle_s", "t_write_s", &r->t_write_s},
              {"t_q_phase_s", "t_max_s", &r->t_max_s},
              {"t_phi_phase_s", "t_c2p_s", &r->t_c2p_s},
              {"t_readout_s", NULL, &r->t_readout_s},
              {"t_digital_sum_s", NULL, &r->t_digital_sum_s}};
    r->latency_simulated = 1;
    for (size_t i = 0; i < sizeof ph / sizeof *ph; i++) {
        int sim = 0;
        const char *name = cell_cost_param_find(m, ph[i].name) || !ph[i].fallback
                               ? ph[i].name : ph[i].fallback;
        *ph[i].out = param(m, name, &sim, NULL, 0);
        r->latency_simulated &= sim;
    }
    if (r->t_write_s == 0)
        r->t_write_s = cell_t_write_s(m);
    if (r->t_max_s == 0)
        r->t_max_s = cell_t_max_s(m);
    r->latency_layer_s =
        r->t_write_s + r->t_max_s + r->t_c2p_s + r->t_readout_s + r->t_digital_sum_s;
    r->latency_model_s = layers * r->latency_layer_s;
    snprintf(r->schedule, sizeof r->schedule,
             "heads and tiles in parallel; per layer in series: write k, v to half an LSB "
             "(%.3g ns) -> q pulses on array 1 with integrator settling (%.3g ns) -> "
             "charge-to-pulse, its phi pulses reading array 2 (%.3g ns) -> signed readout "
             "(%.3g ns) -> digital sum over tiles (%.3g ns); layers in series",
             r->t_write_s * 1e9, r->t_max_s * 1e9, r->t_c2p_s * 1e9, r->t_readout_s * 1e9,
             r->t_digital_sum_s * 1e9);
}

/* ---------------------------------------------------------------------------------------- */
/* GPU */

static double num(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static int read_gpu(cost_result *r, const char *path, gc_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return gc_fail(e, "%s: cannot open the GPU measurement: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = len > 0 && len < (64L << 20) ? malloc((size_t)len) : NULL;
    size_t got = text ? fread(text, 1, (size_t)len, f) : 0;
    fclose(f);
    if (!text || got != (size_t)len) {
        free(text);
        return gc_fail(e, "%s: cannot read the GPU measurement (empty, too large or unreadable)",
                       path);
    }
    cJSON *root = gc_json_parse(text, (size_t)len, path, e);
    free(text);
    if (!root)
        return -1;
    int rc = 0;
    const cJSON *gpu = cJSON_GetObjectItemCaseSensitive(root, "gpu");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(root, "attention");
    const cJSON *settings = cJSON_GetObjectItemCaseSensitive(root, "settings");
    const cJSON *paper = cJSON_GetObjectItemCaseSensitive(root, "paper");
    const cJSON *claims = cJSON_GetObjectItemCaseSensitive(paper, "claimed_ratios_vs_h100");
    const cJSON *best = NULL, *row;
    cJSON_ArrayForEach(row, rows) /* batch 1 with CUDA graph, else the first batch 1 */
        if (num(row, "batch") == 1 &&
            (!best || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "cuda_graph"))))
            best = row;
    double heads = num(settings, "heads");
    if (!cJSON_IsString(gpu))
        rc = gc_fail(e, "%s: field gpu (a string) is missing", path);
    else if (!best)
        rc = gc_fail(e, "%s: field attention holds no batch-1 row", path);
    else if (!(heads >= 1))
        rc = gc_fail(e, "%s: field settings.heads is missing or not a positive number", path);
    else if (!(num(best, "latency_per_token_s") > 0) ||
             !(num(best, "energy_per_token_J_above_idle") > 0) ||
             !(num(best, "energy_per_token_J_total") > 0))
        rc = gc_fail(e, "%s: the batch-1 attention row lacks a positive latency_per_token_s, "
                        "energy_per_token_J_above_idle or energy_per_token_J_total", path);
    if (!rc) {
        r->has_gpu = 1;
        snprintf(r->gpu, sizeof r->gpu, "%s", gpu->valuestring);
        int graph = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(best, "cuda_graph"));
        snprintf(r->gpu_row, sizeof r->gpu_row,
                 "decode attention, one layer of %g heads x %g over %g KV slots, batch 1, %s",
                 heads, num(settings, "head_dim"), num(settings, "kv_slots"),
                 graph ? "CUDA graph" : "eager");
        r->gpu_latency_s = num(best, "latency_per_token_s");
        r->gpu_energy_above_idle_j = num(best, "energy_per_token_J_above_idle");
        r->gpu_energy_total_j = num(best, "energy_per_token_J_total");
        /* the same work here: one layer of as many heads, heads in parallel */
        double ours_j = heads * r->e_token_head_j;
        r->latency_ratio = r->gpu_latency_s / r->latency_layer_s;
        r->energy_ratio = ours_j > 0 ? r->gpu_energy_above_idle_j / ours_j : NAN;
        r->energy_ratio_total = ours_j > 0 ? r->gpu_energy_total_j / ours_j : NAN;
        r->paper_latency_ratio = num(claims, "latency_ratio_vs_h100");
        r->paper_energy_ratio = num(claims, "energy_ratio_vs_h100");
    }
    cJSON_Delete(root);
    return rc;
}

/* A tile: a K and a V array of tile x D cells (their footprint divided among the stacked
 * layers of an IGZO process), one periphery (integrator and converter) per column of both,
 * a counter per output column. A head: the ring of tiles, the adder tree over them and the
 * DACs of its 2 D rows. */
static void area(cost_result *r, const cell_model *m, const attn_activity_grid *g, int tile,
                 int window, int D)
{
    double stack = param_value(m, "igzo_stack_layers");
    r->stack_layers = stack >= 1 ? (int)stack : 1;
    double cell = param_value(m, "area_cell_m2"), col = param_value(m, "area_column_periphery_m2");
    double cbit = param_value(m, "area_counter_bit_m2"), abit = param_value(m, "area_adder_bit_m2");
    double dac = param_value(m, "area_dac_m2");
    int tiles = (window + tile - 1) / tile + 1;
    int width = g->counter_bits + (int)ceil(log2((double)tiles));
    r->area_tile_m2 = 2.0 * tile * D * cell / r->stack_layers + (double)(tile + D) * col +
                      (double)D * g->counter_bits * cbit;
    r->area_head_m2 = tiles * r->area_tile_m2 + (double)D * (tiles - 1) * width * abit +
                      2.0 * D * dac;
    r->area_model_m2 = r->area_head_m2 * r->heads * r->layers;
    const char *missing[5];
    int nm = 0;
    const char *names[] = {"area_cell_m2", "area_column_periphery_m2", "area_counter_bit_m2",
                           "area_adder_bit_m2", "area_dac_m2"};
    for (int i = 0; i < 5; i++)
        if (!cell_cost_param_find(m, names[i]))
            missing[nm++] = names[i];
    int at = snprintf(r->area_note, sizeof r->area_note,
                      "tile: 2 arrays of %d x %d cells%s, %d column peripheries, %d counters of "
                      "%d bits; head: %d tiles (the ring), a %d-bit adder tree, %d DACs",
                      tile, D, r->stack_layers > 1 ? " stacked in layers" : "", tile + D, D,
                      g->counter_bits, tiles, width, 2 * D);
    for (int i = 0; i < nm && at < (int)sizeof r->area_note; i++)
        at += snprintf(r->area_note + at, sizeof r->area_note - at, "%s%s", i ? ", " : "; absent (0): ",
                       missing[i]);
    if (r->stack_layers > 1 && at < (int)sizeof r->area_note)
        snprintf(r->area_note + at, sizeof r->area_note - at, "; IGZO, %d stacked layers",
                 r->stack_layers);
}

/* ---------------------------------------------------------------------------------------- */

int cost_compute(attn_activity *a, const cell_model *m, const attn_config *c,
                 const cost_options *o, cost_result *r, gc_err *e)
{
    memset(r, 0, sizeof *r);
    const attn_activity_grid *g = attn_activity_grid_of(a);
    if (!cell_has_energy(m))
        return gc_fail(e, "cost: %s holds no energies per operation (/energy): fit it from "
                          "curves that gcsim characterize measured", cell_model_source(m));
    if (g->n_level != cell_k_levels(m))
        return gc_fail(e, "cost: the run counted %d DAC levels, the cell model has %d",
                       g->n_level, cell_k_levels(m));
    int L = attn_activity_layers(a), H = attn_activity_heads(a), D = 64;
    r->run_layers = L;
    r->run_heads = H;
    r->window = c->window;
    r->tile = c->tile;
    r->layers = o->layers ? o->layers : L;
    r->heads = o->heads ? o->heads : H;
    snprintf(r->cell, sizeof r->cell, "%s", cell_model_source(m));
    double tokens = 0, pairs = 0;
    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++) {
            attn_activity_counts n;
            attn_activity_get(a, l, h, &n);
            tokens += n.tokens;
            pairs += n.c2p_count;
            if (n.tokens > 0 && n.tile_reads > 0)
                D = (int)lround(n.readouts / n.tile_reads);
        }
    if (!(tokens > 0))
        return gc_fail(e, "cost: the run counted no tokens (was counting on, and the variant "
                          "analog?)");
    r->head_dim = D;
    r->d_model = o->d_model ? o->d_model : H * D;
    if (o->d_model && o->d_model / o->heads != D)
        return gc_fail(e, "cost: --shape gives heads of %d, the run's heads are %d wide (the "
                          "arrays hold one head dimension per row)", o->d_model / o->heads, D);
    r->tokens_per_head = tokens / (L * H);
    r->keys_per_query = pairs / tokens;
    mark_components(r, m);
    latency(r, m, r->layers);
    r->token_period_s = o->token_period_s > 0 ? o->token_period_s : r->latency_model_s;
    unit_costs u = {r->t_max_s, r->t_c2p_s, r->t_readout_s,
                    param_value(m, "p_integrator_bias_w"), param_value(m, "p_comparator_bias_w"),
                    param_value(m, "p_reference_bias_w"), param_value(m, "e_dac_conversion_j"),
                    param_value(m, "e_toggle_dff_j"), param_value(m, "e_toggle_nand2_j"),
                    param_value(m, "e_digital_overhead_token_head_j"), cell_idle_power_w(m),
                    2.0 * ((c->window + c->tile - 1) / c->tile + 1) * c->tile * D,
                    r->token_period_s, param_value(m, "e_wordline_cell_j")};
    for (int k = 0; k < COST_N; k++)
        if (!(r->comp[k].j_layer_head = calloc((size_t)L, sizeof(double)))) {
            cost_result_free(r);
            return gc_fail(e, "cost: out of memory");
        }
    for (int l = 0; l < L; l++) {
        double sum[COST_N] = {0}, tok = 0;
        for (int h = 0; h < H; h++) {
            attn_activity_counts n;
            double E[COST_N];
            attn_activity_get(a, l, h, &n);
            slot_energy(a, &n, m, c, &u, E);
            for (int k = 0; k < COST_N; k++)
                sum[k] += E[k];
            tok += n.tokens;
        }
        for (int k = 0; k < COST_N; k++) {
            r->comp[k].j_layer_head[l] = tok > 0 ? sum[k] / tok : 0;
            r->comp[k].j_head += sum[k] / tokens;
        }
    }
    double sim = 0;
    for (int k = 0; k < COST_N; k++) {
        r->e_token_head_j += r->comp[k].j_head;
        sim += r->comp[k].simulated ? r->comp[k].j_head : 0;
    }
    r->simulated_share = r->e_token_head_j > 0 ? sim / r->e_token_head_j : 0;
    r->e_token_layer_j = r->e_token_head_j * r->heads;
    r->e_token_model_j = r->e_token_layer_j * r->layers;
    snprintf(r->scaling, sizeof r->scaling,
             "energy per token per head measured over %d layers x %d heads (%.0f tokens each, "
             "%.1f visible keys per query on average) and taken for each of the %d x %d heads "
             "of the shape; latency: %d layers in series; area: %d x %d heads",
             L, H, r->tokens_per_head, r->keys_per_query, r->layers, r->heads, r->layers,
             r->layers, r->heads);
    area(r, m, g, c->tile, c->window, D);
    if (o->gpu_file && read_gpu(r, o->gpu_file, e)) {
        cost_result_free(r);
        return -1;
    }
    return 0;
}

void cost_result_free(cost_result *r)
{
    for (int k = 0; k < COST_N; k++) {
        free(r->comp[k].j_layer_head);
        r->comp[k].j_layer_head = NULL;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Output */

int cost_write_json(const cost_result *r, const char *path, gc_err *e)
{
    cJSON *root = cJSON_CreateObject(), *x;
    cJSON_AddStringToObject(root, "cell", r->cell);
    x = cJSON_AddObjectToObject(root, "shape");
    cJSON_AddNumberToObject(x, "layers", r->layers);
    cJSON_AddNumberToObject(x, "heads", r->heads);
    cJSON_AddNumberToObject(x, "d_model", r->d_model);
    cJSON_AddNumberToObject(x, "head_dim", r->head_dim);
    x = cJSON_AddObjectToObject(root, "run");
    cJSON_AddNumberToObject(x, "layers", r->run_layers);
    cJSON_AddNumberToObject(x, "heads", r->run_heads);
    cJSON_AddNumberToObject(x, "tokens_per_head", r->tokens_per_head);
    cJSON_AddNumberToObject(x, "keys_per_query", r->keys_per_query);
    cJSON_AddNumberToObject(x, "window", r->window);
    cJSON_AddNumberToObject(x, "tile", r->tile);
    cJSON_AddStringToObject(root, "scaling", r->scaling);
    cJSON *model = cJSON_AddObjectToObject(root, "energy_per_token_J");
    cJSON *head = cJSON_AddObjectToObject(root, "energy_per_token_per_head_J");
    cJSON *marks = cJSON_AddObjectToObject(root, "energy_components");
    double scale = (double)r->heads * r->layers;
    for (int k = 0; k < COST_N; k++) {
        const cost_component *c = &r->comp[k];
        cJSON_AddNumberToObject(model, c->key, c->j_head * scale);
        cJSON_AddNumberToObject(head, c->key, c->j_head);
        cJSON *m = cJSON_AddObjectToObject(marks, c->key);
        cJSON_AddStringToObject(m, "label", c->label);
        cJSON_AddStringToObject(m, "kind", c->simulated ? "simulated" : "declared");
        cJSON_AddStringToObject(m, "source", c->source);
        cJSON *per_layer = cJSON_AddArrayToObject(m, "per_token_per_head_J_by_layer");
        for (int l = 0; l < r->run_layers; l++)
            cJSON_AddItemToArray(per_layer, cJSON_CreateNumber(c->j_layer_head[l]));
    }
    cJSON_AddNumberToObject(model, "total", r->e_token_model_j);
    cJSON_AddNumberToObject(head, "total", r->e_token_head_j);
    cJSON_AddNumberToObject(root, "energy_per_token_per_layer_J", r->e_token_layer_j);
    cJSON_AddNumberToObject(root, "energy_simulated_share", r->simulated_share);
    /* the total split by kind, so that a report can mark each part */
    cJSON_AddNumberToObject(root, "energy_per_token_simulated_J",
                            r->e_token_model_j * r->simulated_share);
    cJSON_AddNumberToObject(root, "energy_per_token_declared_J",
                            r->e_token_model_j * (1 - r->simulated_share));
    cJSON_AddNumberToObject(root, "energy_per_token_per_head_simulated_J",
                            r->e_token_head_j * r->simulated_share);
    cJSON_AddNumberToObject(root, "energy_per_token_per_head_declared_J",
                            r->e_token_head_j * (1 - r->simulated_share));
    x = cJSON_AddObjectToObject(root, "latency_per_token_s");
    cJSON_AddNumberToObject(x, "per_layer", r->latency_layer_s);
    cJSON_AddNumberToObject(x, "model", r->latency_model_s);
    cJSON *ph = cJSON_AddObjectToObject(x, "phases");
    cJSON_AddNumberToObject(ph, "write", r->t_write_s);
    cJSON_AddNumberToObject(ph, "q_pulses", r->t_max_s);
    cJSON_AddNumberToObject(ph, "c2p_and_phi_pulses", r->t_c2p_s);
    cJSON_AddNumberToObject(ph, "readout", r->t_readout_s);
    cJSON_AddNumberToObject(ph, "digital_sum", r->t_digital_sum_s);
    cJSON_AddStringToObject(x, "kind", r->latency_simulated ? "simulated" : "declared");
    cJSON_AddStringToObject(x, "schedule", r->schedule);
    cJSON_AddNumberToObject(root, "token_period_s", r->token_period_s);
    x = cJSON_AddObjectToObject(root, "area_m2");
    cJSON_AddNumberToObject(x, "tile", r->area_tile_m2);
    cJSON_AddNumberToObject(x, "head", r->area_head_m2);
    cJSON_AddNumberToObject(x, "model", r->area_model_m2);
    cJSON_AddNumberToObject(x, "stack_layers", r->stack_layers);
    cJSON_AddStringToObject(x, "kind", "declared");
    cJSON_AddStringToObject(x, "note", r->area_note);
    x = cJSON_AddObjectToObject(root, "vs_gpu");
    if (r->has_gpu) {
        cJSON_AddStringToObject(x, "gpu", r->gpu);
        cJSON_AddStringToObject(x, "row", r->gpu_row);
        cJSON_AddStringToObject(x, "kind", "measured");
        cJSON_AddNumberToObject(x, "gpu_latency_per_token_s", r->gpu_latency_s);
        cJSON_AddNumberToObject(x, "gpu_energy_per_token_J_above_idle",
                                r->gpu_energy_above_idle_j);
        cJSON_AddNumberToObject(x, "gpu_energy_per_token_J_total", r->gpu_energy_total_j);
        cJSON_AddNumberToObject(x, "latency_ratio", r->latency_ratio);
        cJSON_AddNumberToObject(x, "energy_ratio", r->energy_ratio);
        cJSON_AddNumberToObject(x, "energy_ratio_total", r->energy_ratio_total);
        cJSON_AddNumberToObject(x, "paper_latency_ratio", r->paper_latency_ratio);
        cJSON_AddNumberToObject(x, "paper_energy_ratio", r->paper_energy_ratio);
        cJSON_AddStringToObject(x, "compared", "the GPU row's per-token latency over this "
                                "layer's, its energy (above idle; total) over this layer's "
                                "energy for as many heads");
    } else {
        cJSON_AddNullToObject(x, "gpu");
        cJSON_AddNullToObject(x, "latency_ratio");
        cJSON_AddNullToObject(x, "energy_ratio");
    }
    int rc = gc_json_write(path, root, e);
    cJSON_Delete(root);
    return rc;
}

void cost_print_table(const cost_result *r, FILE *f)
{
    fprintf(f, "cost of %s, shape %d layers x %d heads x %d (d_model %d)\n", r->cell, r->layers,
            r->heads, r->head_dim, r->d_model);
    fprintf(f, "  %s\n", r->scaling);
    fprintf(f, "%-20s %14s %14s  %-9s %s\n", "energy component", "per token/head",
            "per token", "kind", "source");
    double scale = (double)r->heads * r->layers;
    for (int k = 0; k < COST_N; k++) {
        const cost_component *c = &r->comp[k];
        fprintf(f, "%-20s %11.4g pJ %11.4g nJ  %-9s %s\n", c->label, c->j_head * 1e12,
                c->j_head * scale * 1e9, c->simulated ? "simulated" : "declared", c->source);
    }
    fprintf(f, "%-20s %11.4g pJ %11.4g nJ  (%.1f %% simulated)\n", "total",
            r->e_token_head_j * 1e12, r->e_token_model_j * 1e9, 100 * r->simulated_share);
    fprintf(f, "latency per token: %.4g ns per layer, %.4g ns for %d layers (%s)\n",
            r->latency_layer_s * 1e9, r->latency_model_s * 1e9, r->layers,
            r->latency_simulated ? "simulated" : "declared");
    fprintf(f, "  schedule: %s\n", r->schedule);
    fprintf(f, "area: %.4g mm2 per tile, %.4g mm2 per head, %.4g mm2 for the model (declared)\n",
            r->area_tile_m2 * 1e6, r->area_head_m2 * 1e6, r->area_model_m2 * 1e6);
    fprintf(f, "  %s\n", r->area_note);
    if (r->has_gpu)
        fprintf(f, "vs %s (measured; %s): latency x%.4g, energy x%.4g above idle (x%.4g "
                   "total); the paper claims x%.4g and x%.4g\n",
                r->gpu, r->gpu_row, r->latency_ratio, r->energy_ratio, r->energy_ratio_total,
                r->paper_latency_ratio, r->paper_energy_ratio);
}

/* Stacked bars: bar 0 the mean over layers, bar l+1 layer l; each component a band (drawn
 * as boxes of the cumulative sums, the largest first, so each band shows its component). */
int cost_plot(const cost_result *r, const char *png, gc_err *e)
{
    int nb = r->run_layers + 1, ns = 0;
    double *xs = malloc((size_t)nb * sizeof *xs);
    double *cum = calloc((size_t)COST_N * nb, sizeof *cum);
    gc_series series[COST_N];
    char labels[COST_N][64];
    if (!xs || !cum) {
        free(xs), free(cum);
        return gc_fail(e, "%s: out of memory", png);
    }
    for (int b = 0; b < nb; b++)
        xs[b] = b;
    for (int k = 0; k < COST_N; k++)
        for (int b = 0; b < nb; b++) {
            double v = b ? r->comp[k].j_layer_head[b - 1] : r->comp[k].j_head;
            cum[k * nb + b] = (k ? cum[(k - 1) * nb + b] : 0) + v * 1e9;
        }
    for (int k = COST_N - 1; k >= 0; k--) {
        if (r->comp[k].j_head <= 0)
            continue; /* a component that is 0 everywhere has no band */
        snprintf(labels[ns], sizeof labels[ns], "%s (%s)", r->comp[k].label,
                 r->comp[k].simulated ? "simulated" : "declared");
        series[ns] = (gc_series){xs, cum + (size_t)k * nb, (size_t)nb, labels[ns]};
        ns++;
    }
    char title[300];
    snprintf(title, sizeof title, "Energy per token per head, %.3g nJ (%.0f %% simulated)",
             r->e_token_head_j * 1e9, 100 * r->simulated_share);
    gc_plot_style st = {title, "bar 0: mean over layers; bar l + 1: layer l",
                        "energy per token per head (nJ)",
                        0, 0, 0, 1};
    int rc = gc_plot(png, &st, series, ns, e);
    free(xs);
    free(cum);
    return rc;
}
