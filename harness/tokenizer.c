/* tokenizer: GPT-2 byte-level BPE and the byte tokenizer (see tokenizer.h).
 * The BPE works on token ids: every merge of vocab.bpe joins two tokens of encoder.json into
 * a third, so a merge is a map (left id, right id) -> (rank, merged id). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"

/* -------------------------------------------------------------------------------------- */
/* The tokenizer object */

enum { TOK_KIND_GPT2, TOK_KIND_BYTES };

typedef struct {
    uint64_t key;   /* (left << 32 | right) + 1; 0 marks an empty slot */
    int32_t rank;
    int32_t merged;
} tok_pair_slot;

struct tok_tokenizer {
    int kind;
    int vocab;             /* number of ids */
    char *pool;            /* bytes of all tokens */
    size_t *offset;        /* (vocab + 1) offsets into pool */
    int32_t byte_id[256];  /* id of the one-byte token of each byte */
    tok_pair_slot *pairs;  /* open-addressing map of merges */
    size_t pair_cap;       /* power of two */
    pcre2_code *re;
};

/* GPT-2's pre-tokeniser with \s spelled out as Unicode White_Space (see tokenizer.h). */
static const char tok_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\t-\\r\\x{85}\\p{Z}\\p{L}\\p{N}]+"
    "|[\\t-\\r\\x{85}\\p{Z}]+(?![^\\t-\\r\\x{85}\\p{Z}])|[\\t-\\r\\x{85}\\p{Z}]+";

/* -------------------------------------------------------------------------------------- */
/* Byte <-> unicode map of encoder.py: printable Latin-1 bytes map to themselves, the other
 * 68 bytes to U+0100 onwards, in byte order. */

static void bytes_to_unicode(int cp_of_byte[256])
{
    int n = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        cp_of_byte[b] = printable ? b : 256 + n++;
    }
}

/* Decodes one UTF-8 sequence at s (n bytes left); returns its length or 0 if invalid. */
static int utf8_decode(const unsigned char *s, size_t n, int *cp)
{
    if (n >= 1 && s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (n >= 2 && (s[0] & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80) {
        *cp = ((s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        return *cp >= 0x80 ? 2 : 0;
    }
    if (n >= 3 && (s[0] & 0xF0) == 0xE0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
        *cp = ((s[0] & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return *cp >= 0x800 && (*cp < 0xD800 || *cp > 0xDFFF) ? 3 : 0;
    }
    if (n >= 4 && (s[0] & 0xF8) == 0xF0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
        (s[3] & 0xC0) == 0x80) {
        *cp = ((s[0] & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) |
              (s[3] & 0x3F);
        return *cp >= 0x10000 && *cp <= 0x10FFFF ? 4 : 0;
    }
    return 0;
}

/* Turns an encoder.json key (UTF-8 of mapped code points) into token bytes in out (room for
 * strlen(key) bytes). Returns the byte count, or -1 for a code point outside the map. */
static long unmap_token(const char *key, const int byte_of_cp[324], char *out)
{
    size_t n = strlen(key), i = 0;
    long len = 0;
    while (i < n) {
        int cp, l = utf8_decode((const unsigned char *)key + i, n - i, &cp);
        if (!l || cp >= 324 || byte_of_cp[cp] < 0)
            return -1;
        out[len++] = (char)byte_of_cp[cp];
        i += (size_t)l;
    }
    return len;
}

/* -------------------------------------------------------------------------------------- */
/* Hash maps: token bytes -> id (used while loading) and merge pairs -> (rank, merged). */

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

typedef struct {
    int32_t *slot;  /* token id or -1 */
    size_t cap;
} tok_str_map;

static int32_t str_map_find(const tok_tokenizer *t, const tok_str_map *m, const char *s,
                            size_t n)
{
    for (size_t i = fnv1a(s, n) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        int32_t id = m->slot[i];
        if (id < 0)
            return -1;
        size_t len = t->offset[id + 1] - t->offset[id];
        if (len == n && !memcmp(t->pool + t->offset[id], s, n))
            return id;
    }
}

static int32_t *pair_slot_rank(const tok_tokenizer *t, uint32_t a, uint32_t b, int32_t *merged)
{
    uint64_t key = (((uint64_t)a << 32) | b) + 1;
    for (size_t i = mix64(key) & (t->pair_cap - 1);; i = (i + 1) & (t->pair_cap - 1)) {
        tok_pair_slot *s = &t->pairs[i];
        if (s->key == 0)
            return NULL;
        if (s->key == key) {
            *merged = s->merged;
            return &s->rank;
        }
    }
}

static void pair_insert(tok_tokenizer *t, uint32_t a, uint32_t b, int32_t rank, int32_t merged)
{
    uint64_t key = (((uint64_t)a << 32) | b) + 1;
    size_t i = mix64(key) & (t->pair_cap - 1);
    while (t->pairs[i].key != 0 && t->pairs[i].key != key)
        i = (i + 1) & (t->pair_cap - 1);
    if (t->pairs[i].key == key)
        return; /* a repeated merge keeps its first (lowest) rank */
    t->pairs[i] = (tok_pair_slot){key, rank, merged};
}

/* -------------------------------------------------------------------------------------- */
/* Loading */

static int load_encoder(tok_tokenizer *t, const char *path, tok_str_map *map, gc_err *e)
{
    char *text;
    size_t len;
    if (gc_read_file(path, &text, &len, e))
        return -1;
    cJSON *root = gc_json_parse(text, len, path, e);
    free(text);
    if (!root)
        return -1;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return gc_fail(e, "%s: not a JSON object", path);
    }
    int n = cJSON_GetArraySize(root), rc = -1;
    int cp_of_byte[256], byte_of_cp[324];
    bytes_to_unicode(cp_of_byte);
    for (int i = 0; i < 324; i++)
        byte_of_cp[i] = -1;
    for (int b = 0; b < 256; b++)
        byte_of_cp[cp_of_byte[b]] = b;

    size_t pool_len = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, root) pool_len += strlen(it->string);
    t->vocab = n;
    t->pool = malloc(pool_len + 1);
    t->offset = calloc((size_t)n + 1, sizeof *t->offset);
    char **tok = calloc((size_t)n, sizeof *tok);
    long *tok_len = calloc((size_t)n, sizeof *tok_len);
    char *scratch = malloc(pool_len + 1);
    map->cap = 1;
    while (map->cap < 2 * (size_t)n)
        map->cap <<= 1;
    map->slot = malloc(map->cap * sizeof *map->slot);
    if (!t->pool || !t->offset || !tok || !tok_len || !scratch || !map->slot) {
        gc_fail(e, "%s: out of memory", path);
        goto done;
    }
    /* ids must be a permutation of 0..n-1 */
    size_t at = 0;
    cJSON_ArrayForEach(it, root)
    {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= n ||
            it->valuedouble != (int)it->valuedouble || tok[(int)it->valuedouble]) {
            gc_fail(e, "%s: entry \"%s\" has a bad or repeated id", path, it->string);
            goto done;
        }
        long l = unmap_token(it->string, byte_of_cp, scratch + at);
        if (l <= 0) {
            gc_fail(e, "%s: entry \"%s\" is not a byte-level token", path, it->string);
            goto done;
        }
        tok[(int)it->valuedouble] = scratch + at;
        tok_len[(int)it->valuedouble] = l;
        at += (size_t)l;
    }
    at = 0;
    for (int id = 0; id < n; id++) {
        t->offset[id] = at;
        memcpy(t->pool + at, tok[id], (size_t)tok_len[id]);
        at += (size_t)tok_len[id];
    }
    t->offset[n] = at;
    for (size_t i = 0; i < map->cap; i++)
        map->slot[i] = -1;
    for (int id = 0; id < n; id++) {
        const char *s = t->pool + t->offset[id];
        size_t l = t->offset[id + 1] - t->offset[id];
        if (str_map_find(t, map, s, l) >= 0) {
            gc_fail(e, "%s: token id %d repeats an earlier token", path, id);
            goto done;
        }
        size_t i = fnv1a(s, l) & (map->cap - 1);
        while (map->slot[i] >= 0)
            i = (i + 1) & (map->cap - 1);
        map->slot[i] = id;
    }
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        t->byte_id[b] = str_map_find(t, map, &c, 1);
        if (t->byte_id[b] < 0) {
            gc_fail(e, "%s: no token for byte 0x%02x", path, b);
            goto done;
        }
    }
    rc = 0;
done:
    free(tok);
    free(tok_len);
    free(scratch);
    cJSON_Delete(root);
    return rc;
}

static int load_merges(tok_tokenizer *t, const char *path, const tok_str_map *map, gc_err *e)
{
    char *text;
    size_t len;
    if (gc_read_file(path, &text, &len, e))
        return -1;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    t->pair_cap = 1;
    while (t->pair_cap < 2 * (lines + 1))
        t->pair_cap <<= 1;
    t->pairs = calloc(t->pair_cap, sizeof *t->pairs);
    if (!t->pairs) {
        free(text);
        return gc_fail(e, "%s: out of memory", path);
    }
    int byte_of_cp[324], cp_of_byte[256];
    bytes_to_unicode(cp_of_byte);
    for (int i = 0; i < 324; i++)
        byte_of_cp[i] = -1;
    for (int b = 0; b < 256; b++)
        byte_of_cp[cp_of_byte[b]] = b;

    int rank = 0, rc = -1;
    size_t line_no = 0;
    char *buf = malloc(len + 1);
    for (char *p = text, *end = text + len; p < end; line_no++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        *nl = 0;
        char *line = p;
        p = nl + 1;
        if ((line_no == 0 && !strncmp(line, "#version", 8)) || !*line)
            continue;
        char *sp = strchr(line, ' ');
        if (!sp || strchr(sp + 1, ' ')) {
            gc_fail(e, "%s:%zu: expected two tokens separated by one space", path, line_no + 1);
            goto done;
        }
        *sp = 0;
        long la = buf ? unmap_token(line, byte_of_cp, buf) : -1;
        long lb = la > 0 ? unmap_token(sp + 1, byte_of_cp, buf + la) : -1;
        if (la <= 0 || lb <= 0) {
            gc_fail(e, "%s:%zu: not a byte-level token pair", path, line_no + 1);
            goto done;
        }
        int32_t a = str_map_find(t, map, buf, (size_t)la);
        int32_t b = str_map_find(t, map, buf + la, (size_t)lb);
        int32_t m = str_map_find(t, map, buf, (size_t)(la + lb));
        if (a < 0 || b < 0 || m < 0) {
            gc_fail(e, "%s:%zu: merge '%s %s' names a token missing from encoder.json", path,
                    line_no + 1, line, sp + 1);
            goto done;
        }
        pair_insert(t, (uint32_t)a, (uint32_t)b, rank++, m);
    }
    if (rank == 0)
        gc_fail(e, "%s: no merges (empty or only a #version line): a BPE tokenizer needs the "
                   "merge list", path);
    else
        rc = 0;
done:
    free(buf);
    free(text);
    return rc;
}

static int compile_pattern(tok_tokenizer *t, gc_err *e)
{
    int code;
    PCRE2_SIZE at;
    t->re = pcre2_compile((PCRE2_SPTR)tok_pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &at,
                          NULL);
    if (!t->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return gc_fail(e, "tokenizer: cannot compile the pre-tokeniser pattern at %zu: %s",
                       (size_t)at, (const char *)msg);
    }
    pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE); /* optional speed-up; falls back if absent */
    return 0;
}

int tok_gpt2_alloc(tok_tokenizer **out, const char *bpe_dir, gc_err *e)
{
    *out = NULL;
    tok_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return gc_fail(e, "tokenizer: out of memory");
    t->kind = TOK_KIND_GPT2;
    char path[4096];
    tok_str_map map = {0};
    snprintf(path, sizeof path, "%s/encoder.json", bpe_dir);
    int rc = load_encoder(t, path, &map, e);
    if (!rc) {
        snprintf(path, sizeof path, "%s/vocab.bpe", bpe_dir);
        rc = load_merges(t, path, &map, e);
    }
    free(map.slot);
    if (!rc)
        rc = compile_pattern(t, e);
    if (rc) {
        tok_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

int tok_bytes_alloc(tok_tokenizer **out, gc_err *e)
{
    *out = NULL;
    tok_tokenizer *t = calloc(1, sizeof *t);
    if (t) {
        t->pool = malloc(256);
        t->offset = malloc(257 * sizeof *t->offset);
    }
    if (!t || !t->pool || !t->offset) {
        tok_free(t);
        return gc_fail(e, "tokenizer: out of memory");
    }
    t->kind = TOK_KIND_BYTES;
    t->vocab = 256;
    for (int b = 0; b < 256; b++) {
        t->pool[b] = (char)b;
        t->offset[b] = (size_t)b;
        t->byte_id[b] = b;
    }
    t->offset[256] = 256;
    *out = t;
    return 0;
}

int tok_name_check(const char *name, gc_err *e)
{
    if (!strcmp(name, "gpt2") || !strcmp(name, "bytes"))
        return 0;
    return gc_fail(e, "unknown tokenizer '%s' (gpt2 or bytes)", name);
}

int tok_alloc_by_name(tok_tokenizer **out, const char *name, const char *bpe_dir, gc_err *e)
{
    if (!strcmp(name, "gpt2"))
        return tok_gpt2_alloc(out, bpe_dir, e);
    if (!strcmp(name, "bytes"))
        return tok_bytes_alloc(out, e);
    *out = NULL;
    return gc_fail(e, "unknown tokenizer '%s' (gpt2 or bytes)", name);
}

void tok_free(tok_tokenizer *t)
{
    if (!t)
        return;
    free(t->pool);
    free(t->offset);
    free(t->pairs);
    pcre2_code_free(t->re);
    free(t);
}

int tok_vocab_size(const tok_tokenizer *t) { return t->vocab; }

int tok_eot(const tok_tokenizer *t)
{
    return t->kind == TOK_KIND_GPT2 && t->vocab > 50256 ? 50256 : -1;
}

const char *tok_token_bytes(const tok_tokenizer *t, uint32_t id, size_t *len)
{
    if (id >= (uint32_t)t->vocab)
        return NULL;
    *len = t->offset[id + 1] - t->offset[id];
    return t->pool + t->offset[id];
}

/* -------------------------------------------------------------------------------------- */
/* Encoding */

/* Growable id array. */
typedef struct {
    uint32_t *v;
    size_t n, cap;
} tok_ids;

static int ids_push(tok_ids *a, uint32_t id)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 1024;
        uint32_t *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = id;
    return 0;
}

/* BPE of one pre-token, as encoder.py: repeatedly merge every occurrence (left to right, not
 * overlapping) of the adjacent pair with the lowest rank. sym has room for n ids. */
static int bpe_word(const tok_tokenizer *t, const unsigned char *s, size_t n, uint32_t *sym,
                    tok_ids *out)
{
    for (size_t i = 0; i < n; i++)
        sym[i] = (uint32_t)t->byte_id[s[i]];
    size_t m = n;
    while (m > 1) {
        int32_t best = INT32_MAX, merged = -1, mg;
        uint32_t a = 0, b = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            int32_t *r = pair_slot_rank(t, sym[i], sym[i + 1], &mg);
            if (r && *r < best) {
                best = *r;
                merged = mg;
                a = sym[i];
                b = sym[i + 1];
            }
        }
        if (merged < 0)
            break;
        size_t w = 0;
        for (size_t i = 0; i < m;) {
            if (i + 1 < m && sym[i] == a && sym[i + 1] == b) {
                sym[w++] = (uint32_t)merged;
                i += 2;
            } else {
                sym[w++] = sym[i++];
            }
        }
        m = w;
    }
    for (size_t i = 0; i < m; i++)
        if (ids_push(out, sym[i]))
            return -1;
    return 0;
}

/* Offset of the first invalid UTF-8 sequence, or len when all is valid. */
static size_t utf8_first_invalid(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        int cp, l = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (!l)
            return i;
        i += (size_t)l;
    }
    return len;
}

static int encode_gpt2(const tok_tokenizer *t, const char *text, size_t len, tok_ids *out,
                       gc_err *e)
{
    size_t bad = utf8_first_invalid(text, len);
    if (bad < len)
        return gc_fail(e, "invalid UTF-8 at byte %zu (byte 0x%02x); the gpt2 tokenizer needs "
                          "UTF-8 text (use --tokenizer bytes for arbitrary bytes)",
                       bad, (unsigned char)text[bad]);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(t->re, NULL);
    uint32_t *sym = NULL;
    size_t sym_cap = 0;
    int rc = 0;
    if (!md)
        return gc_fail(e, "tokenizer: out of memory");
    for (size_t at = 0; at < len && rc == 0;) {
        int r = pcre2_match(t->re, (PCRE2_SPTR)text, len, at, PCRE2_NO_UTF_CHECK, md, NULL);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (r < 0 || ov[0] != at || ov[1] <= at) {
            rc = gc_fail(e, "tokenizer: the pre-tokeniser does not match at byte %zu", at);
            break;
        }
        size_t n = ov[1] - ov[0];
        if (n > sym_cap) {
            free(sym);
            sym_cap = 2 * n;
            sym = malloc(sym_cap * sizeof *sym);
            if (!sym) {
                rc = gc_fail(e, "tokenizer: out of memory");
                break;
            }
        }
        if (bpe_word(t, (const unsigned char *)text + at, n, sym, out))
            rc = gc_fail(e, "tokenizer: out of memory");
        at = ov[1];
    }
    free(sym);
    pcre2_match_data_free(md);
    return rc;
}

int tok_encode(const tok_tokenizer *t, const char *text, size_t len, uint32_t **ids, size_t *n,
               gc_err *e)
{
    tok_ids out = {0};
    int rc = 0;
    if (t->kind == TOK_KIND_BYTES) {
        for (size_t i = 0; i < len && rc == 0; i++)
            if (ids_push(&out, (unsigned char)text[i]))
                rc = gc_fail(e, "tokenizer: out of memory");
    } else {
        rc = encode_gpt2(t, text, len, &out, e);
    }
    if (rc == 0 && !out.v && !(out.v = malloc(sizeof *out.v)))
        rc = gc_fail(e, "tokenizer: out of memory");
    if (rc) {
        free(out.v);
        return -1;
    }
    *ids = out.v;
    *n = out.n;
    return 0;
}

int tok_decode(const tok_tokenizer *t, const uint32_t *ids, size_t n, char **text, size_t *len,
               gc_err *e)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= (uint32_t)t->vocab)
            return gc_fail(e, "token id %u at position %zu is outside the vocabulary (%d)",
                           ids[i], i, t->vocab);
        total += t->offset[ids[i] + 1] - t->offset[ids[i]];
    }
    char *s = malloc(total + 1);
    if (!s)
        return gc_fail(e, "tokenizer: out of memory");
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = t->offset[ids[i] + 1] - t->offset[ids[i]];
        memcpy(s + at, t->pool + t->offset[ids[i]], l);
        at += l;
    }
    s[at] = 0;
    *text = s;
    *len = at;
    return 0;
}
