/* SHA-256 through OpenSSL's EVP interface, for provenance records. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "common.h"

static void to_hex(const unsigned char *d, unsigned n, char hex[65])
{
    for (unsigned i = 0; i < n && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    hex[64] = '\0';
}

void gc_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(data, len, d, &n, EVP_sha256(), NULL);
    to_hex(d, n, hex);
}

int gc_sha256_file(const char *path, char hex[65], gc_err *e)
{
    FILE *f = gc_open_input(path, e);
    if (!f)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    unsigned char buf[1 << 15];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        EVP_DigestUpdate(ctx, buf, got);
    int failed = ferror(f);
    fclose(f);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_DigestFinal_ex(ctx, d, &n);
    EVP_MD_CTX_free(ctx);
    if (failed)
        return gc_fail(e, "%s: read failed", path);
    to_hex(d, n, hex);
    return 0;
}
