/* fuzz_tokenizer: both tokenizers on arbitrary bytes.
 *  - bytes: every input encodes to one id per byte, and decode(encode(x)) == x.
 *  - gpt2 (the real encoder.json and vocab.bpe from $GCSIM_DATA/gpt2-bpe, or
 *    $GCSIM_BPE_DIR): valid UTF-8 (fuzz_utf8_valid, written independently of the tokenizer)
 *    encodes, every id is in the vocabulary and decode(encode(x)) == x; invalid UTF-8 is
 *    refused with a message.
 * Without the BPE files the harness stops at start-up with exit status 77 (a skip for meson):
 * fetch them with scripts/fetch-gpt2-bpe.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tokenizer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tok_tokenizer *bytes_tok, *gpt2_tok;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char dir[4096];
    const char *bpe = getenv("GCSIM_BPE_DIR"), *data = getenv("GCSIM_DATA");
    if (bpe && *bpe)
        snprintf(dir, sizeof dir, "%s", bpe);
    else
        snprintf(dir, sizeof dir, "%s/gpt2-bpe", data && *data ? data : "../shared/data");
    gc_err e = {{0}};
    if (tok_bytes_alloc(&bytes_tok, &e)) {
        fprintf(stderr, "fuzz_tokenizer: %s\n", e.msg);
        exit(1);
    }
    if (tok_gpt2_alloc(&gpt2_tok, dir, &e)) {
        fprintf(stderr, "fuzz_tokenizer: skipped: no GPT-2 BPE files (%s); "
                        "scripts/fetch-gpt2-bpe.sh fetches them\n", e.msg);
        exit(77);
    }
    return 0;
}

/* decode(encode(x)) == x, ids below the vocabulary size; returns 0, or -1 if encoding
 * failed (its message in e). */
static int round_trip(const tok_tokenizer *t, const char *name, const uint8_t *data,
                      size_t size, gc_err *e)
{
    uint32_t *ids = NULL;
    size_t n = 0;
    if (tok_encode(t, (const char *)data, size, &ids, &n, e)) {
        FUZZ_CHECK(e->msg[0], "%s: encode failed without a message", name);
        free(ids);
        return -1;
    }
    FUZZ_CHECK(n <= size, "%s: %zu ids for %zu bytes", name, n, size);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(ids[i] < (uint32_t)tok_vocab_size(t), "%s: id %u at %zu is outside the "
                   "vocabulary (%d)", name, ids[i], i, tok_vocab_size(t));
    char *text = NULL;
    size_t len = 0;
    FUZZ_CHECK(!tok_decode(t, ids, n, &text, &len, e), "%s: decode of its own ids failed: %s",
               name, e->msg);
    FUZZ_CHECK(len == size && (size == 0 || !memcmp(text, data, size)) && text[len] == 0,
               "%s: decode(encode(x)) != x (%zu bytes in, %zu out)", name, size, len);
    free(text);
    free(ids);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gc_err e = {{0}};
    FUZZ_CHECK(!round_trip(bytes_tok, "bytes", data, size, &e), "bytes: encode refused: %s",
               e.msg);
    uint32_t *ids = NULL;
    size_t n = 0;
    FUZZ_CHECK(!tok_encode(bytes_tok, (const char *)data, size, &ids, &n, &e) && n == size,
               "bytes: %zu ids for %zu bytes", n, size);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(ids[i] == data[i], "bytes: id %u for byte 0x%02x", ids[i], data[i]);
    free(ids);

    int valid = fuzz_utf8_valid(data, size);
    e.msg[0] = 0;
    int rc = round_trip(gpt2_tok, "gpt2", data, size, &e);
    fuzz_note("gpt2", rc, e.msg);
    FUZZ_CHECK(valid ? rc == 0 : rc != 0, "gpt2: %s UTF-8 was %s%s%s", valid ? "valid" : "invalid",
               rc ? "refused" : "accepted", rc ? ": " : "", rc ? e.msg : "");
    return 0;
}
