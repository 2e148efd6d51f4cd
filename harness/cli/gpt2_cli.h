/* gpt2_cli: what the language-model commands (ppl, generate, adapt; tokenize for the data
 * paths) share: loading a model with its tokenizer and attention configured from the
 * model's description and the options, default data paths, and reading a text's tokens. */
#ifndef GCSIM_GPT2_CLI_H
#define GCSIM_GPT2_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "common.h"
#include "gpt2.h"
#include "tokenizer.h"

/* A loaded model ready to run, and how it was configured. */
typedef struct {
    gpt2_model *model;
    tok_tokenizer *tok;
    char tokenizer[16];      /* the tokenizer's name */
    int from_model[2];       /* the variant and the tokenizer came from the model's description */
} lm_session;

/* Loads the model at path, resolves its attention configuration and tokenizer (the model's
 * description, then the overrides over, see gpt2_run_config), runs attention so, loads the
 * tokenizer (GPT-2 BPE files from bpe_dir, see gpt2_cli_bpe_dir) and checks that the model
 * knows every token. Prints the configuration used on report (one line; NULL: not). lm_session_free
 * releases it, also after a failure. */
int lm_session_open(lm_session *s, const char *path, const gpt2_settings *over,
                    const char *bpe_dir, FILE *report, gc_err *e);
void lm_session_free(lm_session *s);

/* The GPT-2 BPE folder: opt if given, else $GCSIM_DATA/gpt2-bpe, else gpt2-bpe in the
 * shared data folder beside the source tree. buf has n bytes. */
const char *gpt2_cli_bpe_dir(const char *opt, char *buf, size_t n);

/* Reads a text file whole and tokenizes it. *text (NUL-terminated, *len bytes) and *ids
 * (*n ids) are malloc'd. */
int gpt2_cli_read_tokens(const char *path, const tok_tokenizer *tok, char **text, size_t *len,
                         uint32_t **ids, size_t *n, gc_err *e);

#endif
