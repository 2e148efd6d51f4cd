/* gpt2_cli: helpers shared by the language-model subcommands (see gpt2_cli.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpt2_cli.h"

#ifndef GCSIM_SOURCE_ROOT
#define GCSIM_SOURCE_ROOT "."
#endif

int gpt2_cli_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, "--", 2) || strncmp(a + 2, name, n))
        return 0;
    if (a[2 + n] == '=') {
        *val = a + 3 + n;
        return 1;
    }
    if (a[2 + n] != 0)
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

int gpt2_cli_long(const char *s, const char *opt, long lo, long hi, long *out, gc_err *e)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return gc_fail(e, "--%s: '%s' is not an integer in %ld..%ld", opt, s, lo, hi);
    *out = v;
    return 0;
}

int gpt2_cli_decomp_tol(const char *s, double *out, gc_err *e)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v > 0 && v < 1))
        return gc_fail(e, "--decomp-tol: '%s' is not a number between 0 and 1", s);
    *out = v;
    return 0;
}

const char *gpt2_cli_bpe_dir(const char *opt, char *buf, size_t n)
{
    if (opt)
        return opt;
    const char *data = getenv("GCSIM_DATA");
    if (data && *data)
        snprintf(buf, n, "%s/gpt2-bpe", data);
    else
        snprintf(buf, n, "%s/../shared/data/gpt2-bpe", GCSIM_SOURCE_ROOT);
    return buf;
}

int gpt2_cli_read_tokens(const char *path, const tok_tokenizer *tok, char **text, size_t *len,
                         uint32_t **ids, size_t *n, gc_err *e)
{
    if (gc_read_file(path, text, len, e))
        return -1;
    if (tok_encode(tok, *text, *len, ids, n, e)) {
        free(*text);
        *text = NULL;
        return gc_wrap(e, "%s", path);
    }
    return 0;
}
