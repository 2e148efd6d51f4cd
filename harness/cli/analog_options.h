/* analog_options: the one option group of every command that runs attention (attention, ppl,
 * generate, adapt, validate), its one help text, and how the configuration a run used is
 * printed (gpt2_attn_config_json records it). Options become settings (key = value) that
 * gpt2_run_config or attn_config_set apply, in command-line order. */
#ifndef GCSIM_ANALOG_OPTIONS_H
#define GCSIM_ANALOG_OPTIONS_H

#include <getopt.h>
#include <stdio.h>

#include "gpt2.h"

/* getopt_long ids of the group start here; a command's own ids stay below. */
enum { ANALOG_OPTION_FIRST = 1000 };

/* The group's help text, with the variants of the table. */
void analog_options_help(FILE *f);

/* The option loop of a command that runs attention: getopt_long over the command's own
 * options (own, zero-terminated, with "help" given the id 'h') and the group's. Each own
 * option goes to set(id, optarg, ctx, e); the group's are appended to over. Returns 1 after
 * --help, 0 when every argument was an option that parsed, -1 with a message otherwise. */
int analog_getopt(int argc, char **argv, const struct option *own,
                  int (*set)(int id, const char *arg, void *ctx, gc_err *e), void *ctx,
                  gpt2_settings *over, gc_err *e);

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
