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

/* The GPT-2 BPE folder: opt if given, else $GCSIM_DATA/gpt2-bpe, else gpt2-bpe in the
 * shared data folder beside the source tree. buf has n bytes. */
const char *gpt2_cli_bpe_dir(const char *opt, char *buf, size_t n);

/* Reads a text file whole and tokenizes it. *text (NUL-terminated, *len bytes) and *ids
 * (*n ids) are malloc'd. */
int gpt2_cli_read_tokens(const char *path, const tok_tokenizer *tok, char **text, size_t *len,
                         uint32_t **ids, size_t *n, gc_err *e);

#endif
