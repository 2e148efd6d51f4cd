/* analog_options: the one option group of every command that runs attention (attention, ppl,
 * generate, adapt, validate), its one help text, and how the configuration a run used is
 * printed and recorded. Options become settings (key = value) that gpt2_run_config or
 * attn_config_set apply, in command-line order. */
#ifndef GCSIM_ANALOG_OPTIONS_H
#define GCSIM_ANALOG_OPTIONS_H

#include <getopt.h>
#include <stdio.h>

#include <cJSON.h>

#include "gpt2.h"

/* getopt_long ids of the group start here; a command's own ids stay below. */
enum { ANALOG_OPTION_FIRST = 1000 };

/* A command's options: its own (zero-terminated) followed by the group's, into out (room
 * for cap entries, zero-terminated). */
int analog_options_join(struct option *out, int cap, const struct option *own, gc_err *e);

#define ANALOG_OPTIONS_HELP \
    "Analog attention (the same options in every command that runs attention):\n" \
    "  --attention VARIANT  softmax, softmax-swa, paper-linear, paper-cubic, calibrated\n" \
    "  --cell FILE          calibrated: the behavioural cell model (gcsim fit); implies\n" \
    "                       --attention calibrated when no variant is given\n" \
    "  --cell-preset NAME   calibrated through a built-in cell: paper-cubic, paper-linear\n" \
    "  --token-period S     seconds between two tokens (the cells' age step). Default: for a\n" \
    "                       cell, the analog schedule's own time, layers x (t_write + 3 T_max)\n" \
    "                       from the cell file; for paper-*: lambda x 5 ms (the paper's rate)\n" \
    "  --layers N           layers a token passes through, for that default (the model's)\n" \
    "  --window M  --tile N keys a query sees (1024); keys per sub-array (64)\n" \
    "  --q-levels N --kv-levels N --out-levels N   quantiser levels (16, 8, 32; a cell's own)\n" \
    "  --no-quant, --no-quant-q, --no-quant-k, --no-quant-v, --no-quant-out\n" \
    "  --decay on|off (--no-decay)   leakage with age (on)\n" \
    "  --decay-lambda X     paper-*: decay per token when no period is given (1.6e-4)\n" \
    "  --softmax-scale X    softmax variants: S = X q.k (1/sqrt(D))\n" \
    "  --decomp-tol X       calibrated: the cell is compiled into separable terms, dropping\n" \
    "                       singular values below X times the largest (1e-3)\n"

/* If id is one of the group's, appends its setting to s and returns 1 (-1 with a message
 * naming the option on a bad value); returns 0 for any other id. */
int analog_option_take(gpt2_settings *s, int id, const char *arg, gc_err *e);

/* Applies settings s to c (attn_config_set, in order; "attention" first resets c to that
 * variant's defaults; a cell without "attention" picks calibrated): for commands without a
 * model (attention, validate). */
int analog_config_apply(attn_config *c, const gpt2_settings *s, gc_err *e);

/* "attention paper-cubic (from the model), tokenizer bytes (from the model); window 1024,
 * ..., token period 8e-07 s": what a run used, one line on f. tokenizer may be NULL. */
void analog_config_print(FILE *f, const attn_config *c, const char *tokenizer,
                         const int from_model[2]);

#endif
