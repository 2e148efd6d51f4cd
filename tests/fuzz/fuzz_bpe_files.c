/* fuzz_bpe_files: the GPT-2 BPE loader (tok_gpt2_alloc) on arbitrary encoder.json and
 * vocab.bpe. The input is encoder.json, a line "--8<--", then vocab.bpe (empty without the
 * line). A tokenizer that loads has at least the 256 byte tokens, a non-empty byte string
 * for every id, and round-trips (decode(encode(x)) == x) a fixed text and the input itself
 * when that is valid UTF-8. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const tok_tokenizer *t, const uint8_t *s, size_t n)
{
    uint32_t *ids = NULL;
    size_t m = 0;
    char *text = NULL;
    size_t len = 0;
    gc_err e = {{0}};
    FUZZ_CHECK(!tok_encode(t, (const char *)s, n, &ids, &m, &e),
               "a loaded tokenizer refuses valid UTF-8: %s", e.msg);
    for (size_t i = 0; i < m; i++)
        FUZZ_CHECK(ids[i] < (uint32_t)tok_vocab_size(t), "id %u outside the vocabulary %d",
                   ids[i], tok_vocab_size(t));
    FUZZ_CHECK(!tok_decode(t, ids, m, &text, &len, &e), "decode of its own ids: %s", e.msg);
    FUZZ_CHECK(len == n && (n == 0 || !memcmp(text, s, n)), "decode(encode(x)) != x");
    free(text);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[2];
    size_t len[2] = {0, 0};
    int n = fuzz_split(data, size, 2, part, len);
    char enc[4096], bpe[4096], dir[4096];
    fuzz_write("bpe/encoder.json", part[0], len[0], enc, sizeof enc);
    fuzz_write("bpe/vocab.bpe", n > 1 ? part[1] : data, n > 1 ? len[1] : 0, bpe, sizeof bpe);
    snprintf(dir, sizeof dir, "%s/bpe", fuzz_dir());
    tok_tokenizer *t = NULL;
    gc_err e = {{0}};
    int rc = tok_gpt2_alloc(&t, dir, &e);
    fuzz_note("bpe_files", rc, e.msg);
    if (rc == 0) {
        int v = tok_vocab_size(t);
        FUZZ_CHECK(v >= 256, "a vocabulary of %d ids loaded", v);
        for (int id = 0; id < v; id++) {
            size_t l = 0;
            const char *b = tok_token_bytes(t, (uint32_t)id, &l);
            FUZZ_CHECK(b && l > 0, "token %d has no bytes", id);
            fuzz_touch(b, l);
        }
        FUZZ_CHECK(!tok_token_bytes(t, (uint32_t)v, &(size_t){0}), "token %d past the end", v);
        static const char sample[] = "Hello, world! It's 2024: caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c"
                                     "\xac  \t\n x'll 123 \xf0\x9f\x98\x80";
        check_round_trip(t, (const uint8_t *)sample, sizeof sample - 1);
        for (int i = 0; i < n; i++)
            if (fuzz_utf8_valid(part[i], len[i]))
                check_round_trip(t, part[i], len[i]);
        tok_free(t);
    } else {
        FUZZ_CHECK(e.msg[0] && !t, "tok_gpt2_alloc failed without a message or left a handle");
    }
    fuzz_remove("bpe/encoder.json");
    fuzz_remove("bpe/vocab.bpe");
    fuzz_remove("bpe");
    return 0;
}
