/* safetensors: reading and writing Hugging Face safetensors files, and GPT-2's tensors in
 * one (names and layout; checkpoint.c adds config.json). The names and the hardware tensors
 * are documented in harness/README-checkpoint.md. */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpt2_internal.h"

/* -------------------------------------------------------------------------------------- */
/* Reader */

static const struct {
    const char *name;
    gpt2_st_dtype dtype;
    int size;
} st_dtypes[] = {
    {"F32", GPT2_ST_F32, 4},    {"F16", GPT2_ST_F16, 2},    {"BF16", GPT2_ST_BF16, 2},
    {"F64", GPT2_ST_OTHER, 8},  {"I64", GPT2_ST_OTHER, 8},  {"U64", GPT2_ST_OTHER, 8},
    {"I32", GPT2_ST_OTHER, 4},  {"U32", GPT2_ST_OTHER, 4},  {"I16", GPT2_ST_OTHER, 2},
    {"U16", GPT2_ST_OTHER, 2},  {"I8", GPT2_ST_OTHER, 1},   {"U8", GPT2_ST_OTHER, 1},
    {"BOOL", GPT2_ST_OTHER, 1}, {"F8_E4M3", GPT2_ST_OTHER, 1}, {"F8_E5M2", GPT2_ST_OTHER, 1},
};

/* Parses one header entry into t. Returns 0 or fails naming the tensor. */
static int parse_entry(const gpt2_st_file *f, const cJSON *it, gpt2_st_tensor *t, gc_err *e)
{
    const char *name = it->string;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
    if (!cJSON_IsObject(it) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) ||
        !cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2)
        return gc_fail(e, "%s: tensor '%s': header entry needs dtype, shape and two "
                          "data_offsets", f->path, name);
    int size = 0;
    t->dtype = GPT2_ST_OTHER;
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (!strcmp(dt->valuestring, st_dtypes[i].name)) {
            t->dtype = st_dtypes[i].dtype;
            size = st_dtypes[i].size;
        }
    if (!size)
        return gc_fail(e, "%s: tensor '%s': unknown dtype '%.15s'", f->path, name,
                       dt->valuestring);
    snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dt->valuestring);
    t->rank = cJSON_GetArraySize(sh);
    if (t->rank > 8)
        return gc_fail(e, "%s: tensor '%s': rank %d is more than 8", f->path, name, t->rank);
    double numel = 1;
    for (int d = 0; d < t->rank; d++) {
        const cJSON *x = cJSON_GetArrayItem(sh, d);
        if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble != floor(x->valuedouble)
            || x->valuedouble > 1e15)
            return gc_fail(e, "%s: tensor '%s': bad shape", f->path, name);
        t->shape[d] = (int64_t)x->valuedouble;
        numel *= x->valuedouble;
    }
    const cJSON *b = cJSON_GetArrayItem(off, 0), *en = cJSON_GetArrayItem(off, 1);
    if (!cJSON_IsNumber(b) || !cJSON_IsNumber(en) || b->valuedouble < 0 ||
        en->valuedouble < b->valuedouble || b->valuedouble != floor(b->valuedouble) ||
        en->valuedouble != floor(en->valuedouble))
        return gc_fail(e, "%s: tensor '%s': bad data_offsets", f->path, name);
    if (en->valuedouble > (double)f->data_size)
        return gc_fail(e, "%s: tensor '%s': data [%.0f, %.0f) runs past the end of the file "
                          "(%zu bytes of data; truncated?)",
                       f->path, name, b->valuedouble, en->valuedouble, f->data_size);
    t->begin = (size_t)b->valuedouble;
    t->end = (size_t)en->valuedouble;
    if ((double)(t->end - t->begin) != numel * size)
        return gc_fail(e, "%s: tensor '%s': %zu bytes of data for %.0f elements of %s", f->path,
                       name, t->end - t->begin, numel, t->dtype_name);
    t->name = strdup(name);
    if (!t->name)
        return gc_fail(e, "%s: out of memory", f->path);
    return 0;
}

static int by_begin(const void *a, const void *b)
{
    const gpt2_st_tensor *x = *(const gpt2_st_tensor *const *)a;
    const gpt2_st_tensor *y = *(const gpt2_st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* No two tensors share bytes (their data_offsets must not overlap). */
static int check_layout(const gpt2_st_file *f, gc_err *e)
{
    const gpt2_st_tensor **order = malloc(((size_t)f->n + 1) * sizeof *order);
    if (!order)
        return gc_fail(e, "%s: out of memory", f->path);
    for (int i = 0; i < f->n; i++)
        order[i] = &f->tensors[i];
    qsort(order, (size_t)f->n, sizeof *order, by_begin);
    int rc = 0;
    for (int i = 1; i < f->n && rc == 0; i++)
        if (order[i]->begin < order[i - 1]->end)
            rc = gc_fail(e, "%s: tensors '%s' and '%s' overlap (data_offsets [%zu, %zu) and "
                         "[%zu, %zu))", f->path, order[i - 1]->name, order[i]->name,
                         order[i - 1]->begin, order[i - 1]->end, order[i]->begin,
                         order[i]->end);
    free(order);
    return rc;
}

static int parse_header(gpt2_st_file *f, const char *text, size_t len, gc_err *e)
{
    char what[4200];
    snprintf(what, sizeof what, "%s (safetensors header)", f->path);
    cJSON *root = gc_json_parse(text, len, what, e);
    if (!root)
        return -1;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return gc_fail(e, "%s: the safetensors header is not a JSON object", f->path);
    }
    int n = cJSON_GetArraySize(root), rc = 0;
    f->tensors = calloc((size_t)n + 1, sizeof *f->tensors);
    if (!f->tensors) {
        cJSON_Delete(root);
        return gc_fail(e, "%s: out of memory", f->path);
    }
    cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        if (!strcmp(it->string, "__metadata__"))
            continue;
        if ((rc = parse_entry(f, it, &f->tensors[f->n], e)))
            break;
        f->n++;
    }
    cJSON_Delete(root);
    return rc ? rc : check_layout(f, e);
}

int gpt2_st_open(gpt2_st_file *f, const char *path, gc_err *e)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return gc_fail(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return gc_fail(e, "%s: not a regular file", path);
    }
    f->size = (size_t)st.st_size;
    if (f->size < 8) {
        close(fd);
        return gc_fail(e, "%s: truncated safetensors file (%zu bytes, no header length)", path,
                       f->size);
    }
    void *map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return gc_fail(e, "%s: cannot map: %s", path, strerror(errno));
    f->map = map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | f->map[i];
    if (hlen > f->size - 8 || hlen > (100u << 20)) {
        gc_fail(e, "%s: safetensors header length %llu does not fit in the file (%zu bytes; "
                   "truncated or not safetensors)", path, (unsigned long long)hlen, f->size);
        gpt2_st_close(f);
        return -1;
    }
    f->data = f->map + 8 + hlen;
    f->data_size = f->size - 8 - hlen;
    if (parse_header(f, (const char *)f->map + 8, hlen, e)) {
        gpt2_st_close(f);
        return -1;
    }
    return 0;
}

void gpt2_st_close(gpt2_st_file *f)
{
    if (f->map)
        munmap((void *)f->map, f->size);
    for (int i = 0; i < f->n; i++)
        free(f->tensors[i].name);
    free(f->tensors);
    memset(f, 0, sizeof *f);
}

const gpt2_st_tensor *gpt2_st_find(const gpt2_st_file *f, const char *name)
{
    static const char prefix[] = "transformer.";
    for (int i = 0; i < f->n; i++) {
        const char *n = f->tensors[i].name;
        if (!strncmp(n, prefix, sizeof prefix - 1))
            n += sizeof prefix - 1;
        if (!strcmp(n, name))
            return &f->tensors[i];
    }
    return NULL;
}

static float half_to_float(uint16_t h)
{
    int s = h >> 15, ex = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v;
    if (ex == 0)
        v = ldexpf((float)man, -24);
    else if (ex == 31)
        v = man ? NAN : INFINITY;
    else
        v = ldexpf((float)(man | 0x400), ex - 25);
    return s ? -v : v;
}

int gpt2_st_read(const gpt2_st_file *f, const char *name, int rank, const int64_t *shape,
                 float *out, gc_err *e)
{
    const gpt2_st_tensor *t = gpt2_st_find(f, name);
    if (!t)
        return gc_fail(e, "%s: missing tensor '%s'", f->path, name);
    int same = t->rank == rank;
    for (int d = 0; same && d < rank; d++)
        same = t->shape[d] == shape[d];
    if (!same) {
        char got[160] = "", want[160] = "";
        for (int d = 0; d < t->rank; d++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? ", " : "",
                     (long long)t->shape[d]);
        for (int d = 0; d < rank; d++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", d ? ", " : "",
                     (long long)shape[d]);
        return gc_fail(e, "%s: tensor '%s' has shape [%s], expected [%s]", f->path, t->name, got,
                       want);
    }
    size_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= (size_t)shape[d];
    const unsigned char *src = f->data + t->begin;
    switch (t->dtype) {
    case GPT2_ST_F32:
        memcpy(out, src, n * sizeof(float));
        break;
    case GPT2_ST_F16:
        for (size_t i = 0; i < n; i++)
            out[i] = half_to_float((uint16_t)(src[2 * i] | (src[2 * i + 1] << 8)));
        break;
    case GPT2_ST_BF16:
        for (size_t i = 0; i < n; i++) {
            uint32_t bits = (uint32_t)(src[2 * i] | (src[2 * i + 1] << 8)) << 16;
            memcpy(&out[i], &bits, sizeof bits);
        }
        break;
    default:
        return gc_fail(e, "%s: tensor '%s' has dtype %s (F32, F16 or BF16 expected)", f->path,
                       t->name, t->dtype_name);
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(out[i]))
            return gc_fail(e, "%s: tensor '%s' holds a non-finite value at element %zu", f->path,
                           t->name, i);
        if (fabsf(out[i]) > GPT2_MAX_ABS_PARAM)
            return gc_fail(e, "%s: tensor '%s' element %zu is %g, outside the range +-%g of a "
                           "trained weight", f->path, t->name, i, out[i], GPT2_MAX_ABS_PARAM);
    }
    return 0;
}

/* -------------------------------------------------------------------------------------- */
/* The GPT-2 tensor table: file name, file shape, and where it goes (llm.c layout) */

typedef struct {
    char name[96];
    int rank;
    int64_t shape[2];  /* as stored in the file */
    float *dst;
    int transpose;     /* file (rows, cols) is Conv1D; dst is (cols, rows) */
    int group;         /* 0 GPT-2, 1 scalers, 2 target statistics */
} st_entry;

enum { ST_GROUP_GPT2, ST_GROUP_HW, ST_GROUP_TARGETS };

static void entry(st_entry *t, int *n, int group, float *dst, int transpose, int rank, int64_t d0,
                  int64_t d1, const char *fmt, int layer)
{
    st_entry *x = &t[(*n)++];
    snprintf(x->name, sizeof x->name, fmt, layer);
    x->rank = rank;
    x->shape[0] = d0;
    x->shape[1] = d1;
    x->dst = dst;
    x->transpose = transpose;
    x->group = group;
}

/* Fills table (room for 4 + 22 L entries); returns the count. */
static int tensor_table(const gpt2_model *m, st_entry *t)
{
    const gpt2_config *c = &m->config;
    const gpt2_params *p = &m->params;
    int64_t C = c->n_embd, NH = c->n_head;
    int n = 0;
    entry(t, &n, 0, p->wte, 0, 2, c->vocab_size, C, "wte.weight", 0);
    entry(t, &n, 0, p->wpe, 0, 2, c->max_seq_len, C, "wpe.weight", 0);
    for (int l = 0; l < c->n_layer; l++) {
        size_t lc = (size_t)l * (size_t)C;
        entry(t, &n, 0, p->ln1w + lc, 0, 1, C, 0, "h.%d.ln_1.weight", l);
        entry(t, &n, 0, p->ln1b + lc, 0, 1, C, 0, "h.%d.ln_1.bias", l);
        entry(t, &n, 0, p->qkvw + lc * 3 * C, 1, 2, C, 3 * C, "h.%d.attn.c_attn.weight", l);
        entry(t, &n, 0, p->qkvb + lc * 3, 0, 1, 3 * C, 0, "h.%d.attn.c_attn.bias", l);
        entry(t, &n, 0, p->attprojw + lc * C, 1, 2, C, C, "h.%d.attn.c_proj.weight", l);
        entry(t, &n, 0, p->attprojb + lc, 0, 1, C, 0, "h.%d.attn.c_proj.bias", l);
        entry(t, &n, 0, p->ln2w + lc, 0, 1, C, 0, "h.%d.ln_2.weight", l);
        entry(t, &n, 0, p->ln2b + lc, 0, 1, C, 0, "h.%d.ln_2.bias", l);
        entry(t, &n, 0, p->fcw + lc * 4 * C, 1, 2, C, 4 * C, "h.%d.mlp.c_fc.weight", l);
        entry(t, &n, 0, p->fcb + lc * 4, 0, 1, 4 * C, 0, "h.%d.mlp.c_fc.bias", l);
        entry(t, &n, 0, p->fcprojw + lc * 4 * C, 1, 2, 4 * C, C, "h.%d.mlp.c_proj.weight", l);
        entry(t, &n, 0, p->fcprojb + lc, 0, 1, C, 0, "h.%d.mlp.c_proj.bias", l);
    }
    entry(t, &n, 0, p->lnfw, 0, 1, C, 0, "ln_f.weight", 0);
    entry(t, &n, 0, p->lnfb, 0, 1, C, 0, "ln_f.bias", 0);
    static const char *const sc[GPT2_HW_N] = {"q", "k", "v", "o"};
    for (int l = 0; l < c->n_layer; l++)
        for (int s = 0; s < GPT2_HW_N; s++) {
            size_t at = ((size_t)l * GPT2_HW_N + s) * (size_t)NH;
            char fmt[64];
            snprintf(fmt, sizeof fmt, "h.%%d.attn.hw.%s_scale", sc[s]);
            entry(t, &n, 1, p->hw_scale + at, 0, 1, NH, 0, fmt, l);
            snprintf(fmt, sizeof fmt, "h.%%d.attn.hw.%s_bias", sc[s]);
            entry(t, &n, 1, p->hw_bias + at, 0, 1, NH, 0, fmt, l);
        }
    for (int l = 0; l < c->n_layer; l++) {
        size_t at = (size_t)l * GPT2_HW_N * (size_t)NH;
        entry(t, &n, 2, p->target_mean + at, 0, 2, GPT2_HW_N, NH, "h.%d.attn.hw.target_mean", l);
        entry(t, &n, 2, p->target_std + at, 0, 2, GPT2_HW_N, NH, "h.%d.attn.hw.target_std", l);
    }
    return n;
}

/* -------------------------------------------------------------------------------------- */
/* Loading */

/* Reads entry x, transposing a Conv1D weight into the llm.c layout (tmp has room). */
static int read_entry(const gpt2_st_file *f, const st_entry *x, float *tmp, gc_err *e)
{
    if (!x->transpose)
        return gpt2_st_read(f, x->name, x->rank, x->shape, x->dst, e);
    if (gpt2_st_read(f, x->name, x->rank, x->shape, tmp, e))
        return -1;
    int64_t R = x->shape[0], K = x->shape[1];
    for (int64_t r = 0; r < R; r++)
        for (int64_t k = 0; k < K; k++)
            x->dst[k * R + r] = tmp[r * K + k];
    return 0;
}

int gpt2_load_safetensors(gpt2_model **out, const char *path, const gpt2_config *config,
                          gc_err *e)
{
    *out = NULL;
    gpt2_config cfg = *config;
    gpt2_model *m;
    if (gpt2_alloc(&m, &cfg, e))
        return -1;
    gpt2_st_file f;
    if (gpt2_st_open(&f, path, e)) {
        gpt2_free(m);
        return -1;
    }
    size_t C = (size_t)cfg.n_embd;
    st_entry *table = malloc((4 + 22 * (size_t)cfg.n_layer) * sizeof *table);
    float *tmp = malloc(4 * C * C * sizeof *tmp);
    int rc = -1;
    if (!table || !tmp) {
        gc_fail(e, "%s: out of memory", path);
        goto done;
    }
    int n = tensor_table(m, table);
    /* a hardware group is optional as a whole; when its first tensor is there, all must be */
    int has[3] = {1, 0, 0};
    for (int i = 0; i < n; i++)
        if (table[i].group && gpt2_st_find(&f, table[i].name))
            has[table[i].group] = 1;
    for (int i = 0; i < n; i++)
        if (has[table[i].group] && read_entry(&f, &table[i], tmp, e))
            goto done;
    m->has_hw = has[ST_GROUP_HW];
    m->has_targets = has[ST_GROUP_TARGETS];
    for (size_t i = 0; has[ST_GROUP_TARGETS] && i < m->param_sizes[19]; i++)
        if (m->params.target_std[i] < 0) {
            gc_fail(e, "%s: tensor 'h.%zu.attn.hw.target_std' has a negative entry", path,
                    i / (GPT2_HW_N * (size_t)cfg.n_head));
            goto done;
        }
    rc = 0;
done:
    free(table);
    free(tmp);
    gpt2_st_close(&f);
    if (rc)
        gpt2_free(m);
    else
        *out = m;
    return rc;
}

/* -------------------------------------------------------------------------------------- */
/* Saving */

static char *header_json(const st_entry *t, int n, size_t *hlen)
{
    cJSON *root = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(root, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");
    cJSON_AddStringToObject(meta, "producer", "gcsim " GCSIM_VERSION);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        cJSON *x = cJSON_AddObjectToObject(root, t[i].name);
        cJSON_AddStringToObject(x, "dtype", "F32");
        cJSON *sh = cJSON_AddArrayToObject(x, "shape");
        size_t numel = 1;
        for (int d = 0; d < t[i].rank; d++) {
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t[i].shape[d]));
            numel *= (size_t)t[i].shape[d];
        }
        cJSON *off = cJSON_AddArrayToObject(x, "data_offsets");
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)at));
        at += numel * sizeof(float);
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)at));
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        return NULL;
    size_t len = strlen(s), padded = (len + 7) / 8 * 8;
    char *h = malloc(padded + 1);
    if (h) {
        memcpy(h, s, len);
        memset(h + len, ' ', padded - len);
        h[padded] = 0;
        *hlen = padded;
    }
    free(s);
    return h;
}

int gpt2_write_safetensors(const gpt2_model *m, const char *path, gc_err *e)
{
    size_t C = (size_t)m->config.n_embd;
    st_entry *t = malloc((4 + 22 * (size_t)m->config.n_layer) * sizeof *t);
    float *tmp = malloc(4 * C * C * sizeof *tmp);
    char tmp_path[4200];
    int rc = -1;
    FILE *f = NULL;
    size_t hlen = 0;
    char *header = NULL;
    int n = 0;
    if (t && tmp) {
        n = tensor_table(m, t);
        header = header_json(t, n, &hlen);
    }
    if (!header) {
        gc_fail(e, "%s: out of memory", path);
        goto done;
    }
    if (gc_tmp_path_beside(path, tmp_path, sizeof tmp_path, e))
        goto done;
    f = fopen(tmp_path, "wb");
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)(hlen >> (8 * i));
    int ok = f && fwrite(len8, 1, 8, f) == 8 && fwrite(header, 1, hlen, f) == hlen;
    for (int i = 0; ok && i < n; i++) {
        size_t numel = (size_t)t[i].shape[0] * (t[i].rank == 2 ? (size_t)t[i].shape[1] : 1);
        const float *src = t[i].dst;
        if (t[i].transpose) {
            int64_t R = t[i].shape[0], K = t[i].shape[1];
            for (int64_t r = 0; r < R; r++)
                for (int64_t k = 0; k < K; k++)
                    tmp[r * K + k] = t[i].dst[k * R + r];
            src = tmp;
        }
        ok = fwrite(src, sizeof(float), numel, f) == numel;
    }
    if (f && fclose(f) != 0)
        ok = 0;
    f = NULL;
    if (!ok) {
        unlink(tmp_path);
        gc_fail(e, "%s: cannot write: %s", path, strerror(errno));
        goto done;
    }
    rc = gc_commit_file(tmp_path, path, e);
done:
    free(header);
    free(t);
    free(tmp);
    return rc;
}
