/* checkpoint: a GPT-2 checkpoint as a whole: model.safetensors with config.json beside it
 * (Hugging Face's GPT-2 fields plus our "gcsim" block: how to run the model), or an llm.c
 * .bin. gpt2_load and gpt2_save. */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gpt2_internal.h"

/* -------------------------------------------------------------------------------------- */
/* config.json */

/* What a JSON value is, for messages. */
static const char *json_kind(const cJSON *x)
{
    return cJSON_IsString(x)   ? "a string"
           : cJSON_IsNumber(x) ? "a number"
           : cJSON_IsBool(x)   ? "a boolean"
           : cJSON_IsNull(x)   ? "null"
           : cJSON_IsArray(x)  ? "an array"
                               : "an object";
}

/* root[key] (or root[alt]) as an integer in [lo, hi]. */
static int json_int(const cJSON *root, const char *key, const char *alt, long lo, long hi,
                    int *out, const char *path, gc_err *e)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!x && alt)
        x = cJSON_GetObjectItemCaseSensitive(root, alt);
    if (!x)
        return gc_fail(e, "%s: missing \"%s\"", path, key);
    if (!cJSON_IsNumber(x))
        return gc_fail(e, "%s: \"%s\" must be an integer in %ld..%ld (is %s)", path, x->string,
                       lo, hi, json_kind(x));
    double v = x->valuedouble;
    if (!(v >= lo && v <= hi) || v != floor(v))
        return gc_fail(e, "%s: \"%s\" must be an integer in %ld..%ld (is %.17g)", path,
                       x->string, lo, hi, v);
    *out = (int)v;
    return 0;
}

/* An optional field: *out is NULL when absent (or null); present, it must be of its type. */
static int json_optional(const cJSON *root, const char *key, int want_string,
                         const cJSON **out, const char *path, gc_err *e)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, key);
    *out = NULL;
    if (!x || cJSON_IsNull(x))
        return 0;
    if (want_string ? !cJSON_IsString(x) : !cJSON_IsNumber(x))
        return gc_fail(e, "%s: \"%s\" must be %s (is %s)", path, key,
                       want_string ? "a string" : "a number", json_kind(x));
    *out = x;
    return 0;
}

static int read_config(const char *path, gpt2_config *c, gpt2_settings *described, gc_err *e)
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
    int rc = -1;
    memset(c, 0, sizeof *c);
    const cJSON *inner, *eps, *act;
    if (gpt2_description_parse(cJSON_GetObjectItemCaseSensitive(root, "gcsim"), described,
                               path, e))
        goto done;
    if (json_int(root, "n_layer", NULL, 1, 4096, &c->n_layer, path, e) ||
        json_int(root, "n_head", NULL, 1, 4096, &c->n_head, path, e) ||
        json_int(root, "n_embd", NULL, 1, 1 << 20, &c->n_embd, path, e) ||
        json_int(root, "n_positions", "n_ctx", 1, 1 << 20, &c->max_seq_len, path, e) ||
        json_int(root, "vocab_size", NULL, 1, 1 << 24, &c->vocab_size, path, e))
        goto done;
    c->padded_vocab_size = c->vocab_size;
    if (json_optional(root, "n_inner", 0, &inner, path, e) ||
        json_optional(root, "layer_norm_epsilon", 0, &eps, path, e) ||
        json_optional(root, "activation_function", 1, &act, path, e))
        goto done;
    if (inner && inner->valuedouble != 4.0 * c->n_embd) {
        gc_fail(e, "%s: n_inner %.0f is not supported (the MLP is 4 n_embd = %d wide)", path,
                inner->valuedouble, 4 * c->n_embd);
        goto done;
    }
    if (eps && !(eps->valuedouble > 0 && eps->valuedouble <= 0.1)) {
        gc_fail(e, "%s: \"layer_norm_epsilon\" is %g, not a number in (0, 0.1]", path,
                eps->valuedouble);
        goto done;
    }
    c->ln_eps = eps ? (float)eps->valuedouble : 1e-5f;
    const char *a = act ? act->valuestring : "gelu_new";
    if (!strcmp(a, "gelu_new") || !strcmp(a, "gelu_pytorch_tanh") || !strcmp(a, "gelu_fast"))
        c->gelu = GPT2_GELU_TANH;
    else if (!strcmp(a, "gelu"))
        c->gelu = GPT2_GELU_ERF;
    else {
        gc_fail(e, "%s: unsupported activation_function \"%s\" (gelu_new or gelu)", path, a);
        goto done;
    }
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}

/* Splits path into model.safetensors and config.json paths (directory or .safetensors). */
static int model_paths(const char *path, char *st, char *cfg, size_t n, int *is_dir, gc_err *e)
{
    struct stat s;
    size_t len = strlen(path);
    if (len + 32 > n)
        return gc_fail(e, "%s: path too long", path);
    *is_dir = !stat(path, &s) && S_ISDIR(s.st_mode);
    if (*is_dir) {
        snprintf(st, n, "%s/model.safetensors", path);
        snprintf(cfg, n, "%s/config.json", path);
        return 0;
    }
    memcpy(st, path, len + 1);
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(cfg, n, "%.*s/config.json", (int)(slash - path), path);
    else
        snprintf(cfg, n, "config.json");
    return 0;
}

int gpt2_load(gpt2_model **out, const char *path, gc_err *e)
{
    char st[4096], cfg[4096];
    int is_dir;
    *out = NULL;
    if (model_paths(path, st, cfg, sizeof st, &is_dir, e))
        return -1;
    size_t len = strlen(path);
    if (is_dir || (len > 12 && !strcmp(path + len - 12, ".safetensors"))) {
        gpt2_config c;
        gpt2_settings d;
        if (read_config(cfg, &c, &d, e) || gpt2_load_safetensors(out, st, &c, e))
            return -1;
        (*out)->described = d;
        return 0;
    }
    FILE *f = gc_open_input(path, e);
    if (!f)
        return -1;
    int32_t magic = 0;
    size_t got = fread(&magic, sizeof magic, 1, f);
    fclose(f);
    if (got == 1 && magic == 20240326)
        return gpt2_load_llmc(out, path, e);
    return gc_fail(e, "%s: not a model (a directory with model.safetensors, a .safetensors "
                      "file or an llm.c .bin)", path);
}

/* -------------------------------------------------------------------------------------- */
/* Saving */

static int write_config(const gpt2_model *m, const char *path, gc_err *e)
{
    const gpt2_config *c = &m->config;
    char dir[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    cJSON *gcsim = gpt2_description_json(m, dir, e);
    if (!gcsim)
        return gc_wrap(e, "%s", path);
    cJSON *root = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(root, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("GPT2LMHeadModel"));
    cJSON_AddStringToObject(root, "model_type", "gpt2");
    cJSON_AddNumberToObject(root, "n_layer", c->n_layer);
    cJSON_AddNumberToObject(root, "n_head", c->n_head);
    cJSON_AddNumberToObject(root, "n_embd", c->n_embd);
    cJSON_AddNumberToObject(root, "n_positions", c->max_seq_len);
    cJSON_AddNumberToObject(root, "n_ctx", c->max_seq_len);
    cJSON_AddNumberToObject(root, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(root, "layer_norm_epsilon", c->ln_eps);
    cJSON_AddStringToObject(root, "activation_function",
                            c->gelu == GPT2_GELU_TANH ? "gelu_new" : "gelu");
    cJSON_AddItemToObject(root, "gcsim", gcsim);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s)
        return gc_fail(e, "%s: out of memory", path);
    int rc = gc_write_file_atomic(path, s, strlen(s), e);
    free(s);
    return rc;
}

int gpt2_save(const gpt2_model *m, const char *path, gc_err *e)
{
    char st[4096], cfg[4096];
    int is_dir;
    size_t len = strlen(path);
    if (!(len > 12 && !strcmp(path + len - 12, ".safetensors")) && gc_mkdir_p(path, e))
        return -1;
    if (model_paths(path, st, cfg, sizeof st, &is_dir, e))
        return -1;
    if (gpt2_write_safetensors(m, st, e))
        return -1;
    return write_config(m, cfg, e);
}
