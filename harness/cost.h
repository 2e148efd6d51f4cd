/* cost: energy, latency and area per token of the analog attention, from the activity a run
 * counted (attention.h, "Activity") and the cell's cost side (cellmodel.h, "Cost"): every
 * component marked simulated (our SPICE runs) or declared (a parameter, with its source), and
 * set against the shipped GPU measurement (data/gpu). */
#ifndef GCSIM_COST_H
#define GCSIM_COST_H

#include <stdio.h>

#include "attention.h"

/* Energy components, in the order they are stacked. */
typedef enum {
    COST_READ_ARRAY1, COST_C2P, COST_READ_ARRAY2, COST_WORDLINES, COST_READOUT, COST_WRITE,
    COST_DAC,
    COST_INTEGRATOR_BIAS, COST_COMPARATOR_BIAS, COST_REFERENCE_BIAS, COST_COUNTERS,
    COST_ADDER, COST_DIGITAL_OVERHEAD, COST_IDLE_LEAKAGE, COST_N
} cost_component_id;

typedef struct {
    const char *key;      /* JSON key, e.g. "read_array1" */
    const char *label;    /* for the table and the plot */
    double j_head;        /* J per token per head, over every counted layer and head */
    double *j_layer_head; /* (layers) J per token per head, layer by layer */
    int simulated;        /* 1: from our SPICE runs; 0: declared */
    char source[512];     /* where the number comes from */
} cost_component;

typedef struct {
    int layers, heads, d_model; /* 0: the shape that ran */
    double token_period_s;      /* leakage period; 0: the model's latency per token */
    const char *gpu_file;       /* GPU measurement JSON; NULL: none */
} cost_options;

typedef struct {
    /* what ran and what is reported */
    int run_layers, run_heads, head_dim, window, tile;
    int layers, heads, d_model;
    double tokens_per_head;     /* queries counted per (layer, head), mean */
    double keys_per_query;      /* visible keys per query, mean */
    char scaling[512];          /* how the run's activity was scaled to the shape */
    char cell[1024];            /* the cell model's source */
    cost_component comp[COST_N];
    double e_token_head_j, e_token_layer_j, e_token_model_j;
    double simulated_share;     /* of e_token_head_j */
    /* latency */
    double t_write_s, t_max_s, t_c2p_s, t_readout_s, t_digital_sum_s;
    double latency_layer_s, latency_model_s, token_period_s;
    char schedule[512];
    int latency_simulated;
    /* area */
    double area_tile_m2, area_head_m2, area_model_m2;
    int stack_layers;
    char area_note[512];
    /* GPU */
    int has_gpu;
    char gpu[256], gpu_row[256];
    double gpu_latency_s, gpu_energy_above_idle_j, gpu_energy_total_j;
    double latency_ratio, energy_ratio, energy_ratio_total;
    double paper_latency_ratio, paper_energy_ratio;
} cost_result;

/* Computes r from the counts of a (every layer and head) for the cell m (the one the run
 * used; a preset for the paper's variants) and the configuration c the run used. */
int cost_compute(attn_activity *a, const cell_model *m, const attn_config *c,
                 const cost_options *o, cost_result *r, gc_err *e);
void cost_result_free(cost_result *r);

/* Parses "12x12x768" (layers x heads x d_model) into o. */
int cost_parse_shape(const char *s, cost_options *o, gc_err *e);

/* The JSON (keys energy_per_token_J, latency_per_token_s, area_m2, vs_gpu, ...), the text
 * table and the stacked-bar PNG (one bar per layer and their mean, one band per component). */
int cost_write_json(const cost_result *r, const char *path, gc_err *e);
void cost_print_table(const cost_result *r, FILE *f);
int cost_plot(const cost_result *r, const char *png, gc_err *e);

#endif
