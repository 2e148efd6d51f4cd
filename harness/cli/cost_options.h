/* cost_options: the cost options of the commands that run attention (--cost, --shape, --gpu,
 * --leak-period), their help, and the report they ask for (harness/cost.h): JSON at the
 * --cost path, a PNG beside it (same name, .png) and the table on stdout. */
#ifndef GCSIM_COST_OPTIONS_H
#define GCSIM_COST_OPTIONS_H

#include <getopt.h>
#include <stdio.h>

#include "attention.h"
#include "cost.h"

/* getopt_long ids of the group (below analog_options' and above every command's own). */
enum { COST_OPT_COST = 900, COST_OPT_SHAPE, COST_OPT_GPU, COST_OPT_LEAK_PERIOD };

#define COST_OPTIONS                                                                          \
    {"cost", required_argument, 0, COST_OPT_COST},                                            \
        {"shape", required_argument, 0, COST_OPT_SHAPE},                                      \
        {"gpu", required_argument, 0, COST_OPT_GPU},                                          \
        {"leak-period", required_argument, 0, COST_OPT_LEAK_PERIOD}

typedef struct {
    const char *json;   /* NULL: no cost report */
    const char *gpu;    /* NULL: the shipped data/gpu/h100_attention_decode.json */
    cost_options opts;
} cost_request;

void cost_options_help(FILE *f);

/* If id is one of the group's, takes arg into r and returns 1 (-1 with a message on a bad
 * value); 0 for any other id. */
int cost_option_take(cost_request *r, int id, const char *arg, gc_err *e);

/* The report of the counted activity a of a run with configuration c (its cell loaded for
 * calibrated; the paper's variants are costed with their preset cell). */
int cost_report(const cost_request *r, attn_activity *a, const attn_config *c, gc_err *e);

#endif
