/* tokenizer: text to token ids and back.
 *
 * Two tokenizers behind one handle:
 *  - "gpt2": OpenAI's GPT-2 byte-level BPE (encoder.json + vocab.bpe, 50,257 tokens), with the
 *    pre-tokeniser pattern
 *      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *    run through PCRE2 in UTF mode. \s is spelled out as the Unicode White_Space set
 *    [\t-\r\x{85}\p{Z}], which is what Python's `regex` module (the reference's own
 *    dependency) matches; PCRE2's UCP \s would miss U+0085. Encoding equals OpenAI's
 *    encoder.py on any valid UTF-8 text (up to differences between the Unicode versions of
 *    PCRE2 and `regex` in newly assigned letters and digits). "<|endoftext|>" in a text is
 *    plain text, as in encoder.py.
 *    Invalid UTF-8 input is refused with an error naming the byte offset (encoder.py works
 *    on decoded str and cannot see it either); use the byte tokenizer for arbitrary bytes.
 *    Decoding concatenates the bytes of the tokens, so it returns exactly the original bytes
 *    of an encoded text; a slice of ids may end inside a UTF-8 sequence.
 *  - "bytes": one token per byte (vocabulary 256); any input is accepted.
 *
 * Not here: special-token parsing, normalisation, other vocabularies. */
#ifndef GCSIM_TOKENIZER_H
#define GCSIM_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct tok_tokenizer tok_tokenizer;

/* Loads the GPT-2 BPE from bpe_dir/encoder.json and bpe_dir/vocab.bpe. */
int tok_gpt2_alloc(tok_tokenizer **out, const char *bpe_dir, gc_err *e);

/* The byte tokenizer (vocabulary 256, no end-of-text token). */
int tok_bytes_alloc(tok_tokenizer **out, gc_err *e);

/* 0 for a known tokenizer name ("gpt2", "bytes"), else an error listing them. */
int tok_name_check(const char *name, gc_err *e);

/* Makes "gpt2" (reading bpe_dir) or "bytes" by name. */
int tok_alloc_by_name(tok_tokenizer **out, const char *name, const char *bpe_dir, gc_err *e);

void tok_free(tok_tokenizer *t);

/* Number of token ids (50257 for GPT-2, 256 for bytes). */
int tok_vocab_size(const tok_tokenizer *t);

/* The end-of-text id (50256 for GPT-2), or -1 when the tokenizer has none. */
int tok_eot(const tok_tokenizer *t);

/* Encodes len bytes of text. *ids gets a malloc'd array of *n ids (free with free()). */
int tok_encode(const tok_tokenizer *t, const char *text, size_t len, uint32_t **ids, size_t *n,
               gc_err *e);

/* Decodes n ids into a malloc'd, NUL-terminated byte string of *len bytes. Ids out of range
 * are an error. */
int tok_decode(const tok_tokenizer *t, const uint32_t *ids, size_t n, char **text, size_t *len,
               gc_err *e);

/* The bytes of one token (not NUL-terminated); NULL for an id out of range. */
const char *tok_token_bytes(const tok_tokenizer *t, uint32_t id, size_t *len);

#endif
