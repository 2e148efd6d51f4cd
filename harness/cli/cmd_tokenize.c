/* gcsim tokenize: encodes a text file, prints the token count, optionally writes the ids as a
 * uint32 .npy and checks that decoding gives the file back byte for byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "gpt2_cli.h"
#include "tokenizer.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: gcsim tokenize FILE [--tokenizer gpt2|bytes] [--bpe-dir DIR] "
               "[--out ids.npy] [--check]\n\n"
               "Tokenizes FILE (raw bytes; UTF-8 for gpt2) and prints the token count.\n"
               "  --tokenizer  gpt2 (byte-level BPE, default) or bytes (one token per byte)\n"
               "  --bpe-dir    folder with encoder.json and vocab.bpe (default: "
               "$GCSIM_DATA/gpt2-bpe)\n"
               "  --out        write the ids as a uint32 .npy\n"
               "  --check      decode the ids again and check the result equals FILE\n");
}

int cmd_tokenize(int argc, char **argv)
{
    const char *file = NULL, *name = "gpt2", *bpe = NULL, *out = NULL, *v;
    int check = 0;
    for (int i = 1; i < argc; i++) {
        int r;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--check")) {
            check = 1;
        } else if ((r = gpt2_cli_opt(argc, argv, &i, "tokenizer", &v))) {
            if (r < 0)
                goto missing;
            name = v;
        } else if ((r = gpt2_cli_opt(argc, argv, &i, "bpe-dir", &v))) {
            if (r < 0)
                goto missing;
            bpe = v;
        } else if ((r = gpt2_cli_opt(argc, argv, &i, "out", &v))) {
            if (r < 0)
                goto missing;
            out = v;
        } else if (argv[i][0] == '-' || file) {
            fprintf(stderr, "gcsim tokenize: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            file = argv[i];
        }
        continue;
missing:
        fprintf(stderr, "gcsim tokenize: %s needs a value\n", argv[i]);
        return 2;
    }
    if (!file) {
        usage(stderr);
        return 2;
    }
    gc_err e = {{0}};
    char buf[4096], *text = NULL, *back = NULL;
    size_t len = 0, n = 0, back_len = 0;
    uint32_t *ids = NULL;
    tok_tokenizer *tok = NULL;
    int rc = 1;
    if (tok_alloc_by_name(&tok, name, gpt2_cli_bpe_dir(bpe, buf, sizeof buf), &e) ||
        gpt2_cli_read_tokens(file, tok, &text, &len, &ids, &n, &e))
        goto done;
    printf("%s: %zu tokens (%zu bytes, tokenizer %s)\n", file, n, len, name);
    if (out && gc_npy_write(out, GC_NPY_U32, 1, &n, ids, &e))
        goto done;
    if (check) {
        if (tok_decode(tok, ids, n, &back, &back_len, &e))
            goto done;
        if (back_len != len || memcmp(back, text, len)) {
            gc_fail(&e, "%s: decoding the tokens does not give the file back", file);
            goto done;
        }
        printf("round trip: decode(encode(file)) == file\n");
    }
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "gcsim tokenize: %s\n", e.msg);
    free(text);
    free(back);
    free(ids);
    tok_free(tok);
    return rc;
}
