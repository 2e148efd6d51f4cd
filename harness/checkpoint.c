/* checkpoint: a GPT-2 checkpoint as a whole: model.safetensors with config.json beside it
 * (Hugging Face's GPT-2 fields plus our "gcsim" block: how to run the model), or an llm.c
 * .bin. gpt2_load and gpt2_save. */
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gpt2_internal.h"

/* -------------------------------------------------------------------------------------- */
/* config.json */

static int json_int(const cJSON *root, const char *key, const char *alt, int *out,
                    const char *path, gc_err *e)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!x && alt)
        x = cJSON_GetObjectItemCaseSensitive(root, alt);
    if (!cJSON_IsNumber(x) || x->valuedouble != (int)x->valuedouble)
        return gc_fail(e, "%s: missing or non-integer \"%s\"", path, key);
    *out = (int)x->valuedouble;
    return 0;
}

static int read_config(const char *path, gpt2_config *c, gpt2_settings *described, gc_err *e)
{
    char *text;
    size_t len;
    if (gc_read_file(path, &text, &len, e))
        return -1;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return gc_fail(e, "%s: not a JSON object", path);
    }
    int rc = -1;
    memset(c, 0, sizeof *c);
    if (gpt2_description_parse(cJSON_GetObjectItemCaseSensitive(root, "gcsim"), described,
                               path, e))
        goto done;
    if (json_int(root, "n_layer", NULL, &c->n_layer, path, e) ||
        json_int(root, "n_head", NULL, &c->n_head, path, e) ||
        json_int(root, "n_embd", NULL, &c->n_embd, path, e) ||
        json_int(root, "n_positions", "n_ctx", &c->max_seq_len, path, e) ||
        json_int(root, "vocab_size", NULL, &c->vocab_size, path, e))
        goto done;
    c->padded_vocab_size = c->vocab_size;
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(root, "n_inner");
    if (cJSON_IsNumber(inner) && inner->valuedouble != 4.0 * c->n_embd) {
        gc_fail(e, "%s: n_inner %.0f is not supported (the MLP is 4 n_embd = %d wide)", path,
                inner->valuedouble, 4 * c->n_embd);
        goto done;
    }
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_epsilon");
    c->ln_eps = cJSON_IsNumber(eps) ? (float)eps->valuedouble : 1e-5f;
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "activation_function");
    const char *a = cJSON_IsString(act) ? act->valuestring : "gelu_new";
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
    FILE *f = fopen(path, "rb");
    if (!f)
        return gc_fail(e, "%s: cannot open: %s", path, strerror(errno));
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
