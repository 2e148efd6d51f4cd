/* gpt2_cli: small helpers the language-model subcommands (tokenize, ppl, generate, adapt)
 * share: option matching, default data paths, and loading a text and its tokens. */
#ifndef GCSIM_GPT2_CLI_H
#define GCSIM_GPT2_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "tokenizer.h"

/* Matches argv[*i] against "--name VALUE" or "--name=VALUE". On a match *val gets the value,
 * *i advances past it and 1 is returned; a missing value returns -1; no match returns 0. */
int gpt2_cli_opt(int argc, char **argv, int *i, const char *name, const char **val);

/* Parses a whole decimal integer in [lo, hi]; -1 with a message naming the option if not. */
int gpt2_cli_long(const char *s, const char *opt, long lo, long hi, long *out, gc_err *e);

/* --decomp-tol: a number in (0, 1), the calibrated cell's decomposition cut. */
int gpt2_cli_decomp_tol(const char *s, double *out, gc_err *e);

/* Help text line for --decomp-tol, shared by the commands that take it. */
#define GPT2_CLI_DECOMP_TOL_HELP \
    "--decomp-tol X: the calibrated cell is compiled into separable terms, dropping singular\n" \
    "values below X times the largest (default 1e-3, about 1e-3 of full scale).\n"

/* The GPT-2 BPE folder: opt if given, else $GCSIM_DATA/gpt2-bpe, else gpt2-bpe in the
 * shared data folder beside the source tree. buf has n bytes. */
const char *gpt2_cli_bpe_dir(const char *opt, char *buf, size_t n);

/* Reads a text file whole and tokenizes it. *text (NUL-terminated, *len bytes) and *ids
 * (*n ids) are malloc'd. */
int gpt2_cli_read_tokens(const char *path, const tok_tokenizer *tok, char **text, size_t *len,
                         uint32_t **ids, size_t *n, gc_err *e);

#endif
