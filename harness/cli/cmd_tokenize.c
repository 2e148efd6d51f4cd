/* gcsim tokenize: encodes a text file, prints the token count, optionally writes the ids as a
 * uint32 .npy and checks that decoding gives the file back byte for byte. */
#include <getopt.h>
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

typedef struct {
    const char *file, *name, *bpe, *out;
    int check;
} tokenize_args;

/* 0: run; 1: --help was printed; 2: a usage error was printed. */
static int parse(int argc, char **argv, tokenize_args *a)
{
    static const struct option opts[] = {
        {"tokenizer", required_argument, 0, 't'}, {"bpe-dir", required_argument, 0, 'b'},
        {"out", required_argument, 0, 'o'},       {"check", no_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': a->name = optarg; break;
        case 'b': a->bpe = optarg; break;
        case 'o': a->out = optarg; break;
        case 'c': a->check = 1; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 1 < argc)
        fprintf(stderr, "gcsim tokenize: unexpected argument '%s'\n", argv[optind + 1]);
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    a->file = argv[optind];
    return 0;
}

int cmd_tokenize(int argc, char **argv)
{
    tokenize_args a = {.name = "gpt2"};
    int prc = parse(argc, argv, &a);
    if (prc)
        return prc == 1 ? 0 : 2;
    gc_err e = {{0}};
    char buf[4096], *text = NULL, *back = NULL;
    size_t len = 0, n = 0, back_len = 0;
    uint32_t *ids = NULL;
    tok_tokenizer *tok = NULL;
    int rc = 1;
    const char *in[] = {a.file};
    if ((a.out && gc_check_output("--out", a.out, in, 1, &e)) ||
        tok_alloc_by_name(&tok, a.name, gpt2_cli_bpe_dir(a.bpe, buf, sizeof buf), &e) ||
        gpt2_cli_read_tokens(a.file, tok, &text, &len, &ids, &n, &e))
        goto done;
    printf("%s: %zu tokens (%zu bytes, tokenizer %s)\n", a.file, n, len, a.name);
    if (a.out && gc_npy_write(a.out, GC_NPY_U32, 1, &n, ids, &e))
        goto done;
    if (a.check) {
        if (tok_decode(tok, ids, n, &back, &back_len, &e))
            goto done;
        if (back_len != len || memcmp(back, text, len)) {
            gc_fail(&e, "%s: decoding the tokens does not give the file back", a.file);
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
