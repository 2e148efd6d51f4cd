/* describe: how a model says it should be run (the "gcsim" block of its config.json), and how
 * that description and the user's overrides become one attention configuration and a
 * tokenizer. A model without the block is a Hugging Face GPT-2: BPE and softmax. */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gpt2_internal.h"
#include "tokenizer.h"

int gpt2_settings_add(gpt2_settings *s, const char *key, const char *value, gc_err *e)
{
    if (s->n >= GPT2_MAX_SETTINGS)
        return gc_fail(e, "more than %d settings", GPT2_MAX_SETTINGS);
    if (strlen(key) >= sizeof s->set[0].key || strlen(value) >= sizeof s->set[0].value)
        return gc_fail(e, "setting %.32s: too long", key);
    strcpy(s->set[s->n].key, key);
    strcpy(s->set[s->n].value, value);
    s->n++;
    return 0;
}

int gpt2_settings_put(gpt2_settings *s, const char *key, const char *value, gc_err *e)
{
    int found = 0;
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->set[i].key, key)) {
            if (strlen(value) >= sizeof s->set[i].value)
                return gc_fail(e, "setting %.32s: too long", key);
            strcpy(s->set[i].value, value);
            found = 1;
        }
    return found ? 0 : gpt2_settings_add(s, key, value, e);
}

/* ---------------------------------------------------------------------------------------- */
/* Reading the block */

/* The block's older names (written by train/checkpoint.py) for attn_config_set's keys. */
static const char *canonical_key(const char *k)
{
    static const char *const alias[][2] = {
        {"cell_h5", "cell_file"}, {"cell", "cell_file"}, {"seconds_per_token", "token_period_s"}};
    for (size_t i = 0; i < sizeof alias / sizeof *alias; i++)
        if (!strcmp(k, alias[i][0]))
            return alias[i][1];
    return k;
}

/* Keys of the block that describe the architecture (config.json says them already). */
static int architecture_key(const char *k)
{
    static const char *const keys[] = {"vocab_size", "n_ctx", "n_layer", "n_head", "n_embd",
                                       "gelu", "ln_eps", "checkpoint_attn"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!strcmp(k, keys[i]))
            return 1;
    return 0;
}

/* One item of the block as text; 0 with *skip set for null. */
static int item_text(const cJSON *it, char *buf, size_t n, int *skip, const char *path,
                     gc_err *e)
{
    *skip = cJSON_IsNull(it);
    if (cJSON_IsString(it))
        snprintf(buf, n, "%s", it->valuestring);
    else if (cJSON_IsBool(it))
        snprintf(buf, n, "%s", cJSON_IsTrue(it) ? "on" : "off");
    else if (cJSON_IsNumber(it))
        snprintf(buf, n, "%.17g", it->valuedouble);
    else if (!*skip)
        return gc_fail(e, "%s: gcsim.%s must be a string, number, boolean or null", path,
                       it->string);
    return 0;
}

/* A cell file named in config.json at path is relative to that file's folder. */
static int resolve_beside(const char *path, char *value, size_t n, gc_err *e)
{
    char dir[4096], full[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (gc_path_resolve(dir, value, full, sizeof full, e))
        return -1;
    if (strlen(full) >= n)
        return gc_fail(e, "%s: path too long", value);
    strcpy(value, full);
    return 0;
}

int gpt2_description_parse(const cJSON *block, gpt2_settings *out, const char *path, gc_err *e)
{
    memset(out, 0, sizeof *out);
    if (!block)
        return 0;
    if (!cJSON_IsObject(block))
        return gc_fail(e, "%s: \"gcsim\" must be an object", path);
    attn_config probe;
    attn_config_default(&probe, &attn_softmax);
    for (const cJSON *it = block->child; it; it = it->next) {
        const char *key = canonical_key(it->string);
        char value[1024];
        int skip;
        if (architecture_key(key))
            continue;
        if (item_text(it, value, sizeof value, &skip, path, e))
            return -1;
        if (skip)
            continue;
        const attn_variant_type *v;
        int ok = !strcmp(key, "tokenizer") ? tok_name_check(value, e)
                 : !strcmp(key, "attention") ? attn_variant_parse(value, &v, e)
                                             : attn_config_set(&probe, key, value, e);
        if (!ok && !strcmp(key, "cell_file"))
            ok = resolve_beside(path, value, sizeof value, e);
        if (ok || gpt2_settings_add(out, key, value, e))
            return gc_wrap(e, "%s: gcsim.%s", path, it->string);
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Resolving */

static const char *last_value(const gpt2_settings *s, const char *key)
{
    const char *v = NULL;
    for (int i = 0; s && i < s->n; i++)
        if (!strcmp(s->set[i].key, key))
            v = s->set[i].value;
    return v;
}

static int is_cell_key(const char *k)
{
    return !strcmp(k, "cell_file") || !strcmp(k, "cell_preset");
}

/* The variant: the overrides' last "attention", else "calibrated" when they name a cell,
 * else the model's, else softmax. */
static int pick_variant(const gpt2_settings *d, const gpt2_settings *over,
                        const attn_variant_type **v, int *from_model, gc_err *e)
{
    const char *name = last_value(over, "attention");
    *from_model = 0;
    if (!name && (last_value(over, "cell_file") || last_value(over, "cell_preset")))
        name = attn_calibrated.name;
    if (!name && (name = last_value(d, "attention")))
        *from_model = 1;
    return attn_variant_parse(name ? name : attn_softmax.name, v, e);
}

/* Applies the settings of s (all but the variant and the tokenizer). The model's cell applies
 * only when the variant runs through a cell. */
static int apply(attn_config *c, const gpt2_settings *s, int from_model, gc_err *e)
{
    for (int i = 0; s && i < s->n; i++) {
        const char *k = s->set[i].key;
        if (!strcmp(k, "attention") || !strcmp(k, "tokenizer"))
            continue;
        if (from_model && is_cell_key(k) && c->variant->engine != ATTN_ENGINE_CELL)
            continue;
        if (attn_config_set(c, k, s->set[i].value, e))
            return from_model ? gc_wrap(e, "the model's description") : -1;
    }
    return 0;
}

int gpt2_run_config(const gpt2_model *m, const gpt2_settings *over, attn_config *cfg,
                    char *tokenizer, size_t n, int from_model[2], gc_err *e)
{
    const gpt2_settings *d = &m->described;
    const attn_variant_type *v;
    int fm[2] = {0, 0};
    if (pick_variant(d, over, &v, &fm[0], e))
        return -1;
    attn_config_default(cfg, v);
    if (apply(cfg, d, 1, e) || apply(cfg, over, 0, e))
        return -1;
    const char *tok = last_value(over, "tokenizer");
    if (!tok && (tok = last_value(d, "tokenizer")))
        fm[1] = 1;
    snprintf(tokenizer, n, "%s", tok ? tok : "gpt2");
    if (from_model)
        from_model[0] = fm[0], from_model[1] = fm[1];
    return attn_config_check(cfg, e);
}

/* ---------------------------------------------------------------------------------------- */
/* Writing the block */

cJSON *gpt2_description_json(const gpt2_model *m, const char *dir, gc_err *e)
{
    char rel[4096];
    if (m->attn_cfg.cell_file[0] &&
        gc_path_relative_to(dir, m->attn_cfg.cell_file, rel, sizeof rel, e))
        return NULL;
    cJSON *b = cJSON_CreateObject();
    const char *tok = last_value(&m->described, "tokenizer");
    if (tok)
        cJSON_AddStringToObject(b, "tokenizer", tok);
    attn_setting s[ATTN_MAX_SETTINGS];
    int n = attn_config_settings(&m->attn_cfg, s, 0);
    for (int i = 0; i < n; i++) {
        const char *key = !strcmp(s[i].key, "variant") ? "attention" : s[i].key;
        if (!strcmp(key, "layers")) /* the model's own n_layer */
            continue;
        if (s[i].is_text)
            cJSON_AddStringToObject(b, key, !strcmp(key, "cell_file") ? rel : s[i].text);
        else if (s[i].is_bool)
            cJSON_AddBoolToObject(b, key, s[i].num != 0);
        else
            cJSON_AddNumberToObject(b, key, s[i].num);
    }
    return b;
}

void gpt2_attn_config_json(cJSON *o, const attn_config *c)
{
    cJSON *j = cJSON_AddObjectToObject(o, "attention_config");
    cJSON *u = cJSON_AddObjectToObject(o, "attention_config_units");
    attn_setting s[ATTN_MAX_SETTINGS];
    int n = attn_config_settings(c, s, 1);
    for (int i = 0; i < n; i++) {
        if (s[i].is_text)
            cJSON_AddStringToObject(j, s[i].key, s[i].text);
        else if (s[i].is_bool)
            cJSON_AddBoolToObject(j, s[i].key, s[i].num != 0);
        else
            cJSON_AddNumberToObject(j, s[i].key, s[i].num);
        if (s[i].unit[0])
            cJSON_AddStringToObject(u, s[i].key, s[i].unit);
    }
    attn_read_noise_sigmas ns;
    gc_err e;
    if (c->read_noise && c->cell && !attn_read_noise(c, &ns, &e)) {
        cJSON *r = cJSON_AddObjectToObject(o, "read_noise_sigma_c");
        cJSON_AddNumberToObject(r, "integrator_reset", ns.reset_c);
        cJSON_AddNumberToObject(r, "cell_full_pulse", ns.cell_full_pulse_c);
        cJSON_AddNumberToObject(r, "c2p_full_scale", ns.c2p_full_scale_c);
        cJSON_AddNumberToObject(r, "readout_full_scale", ns.readout_full_scale_c);
        cJSON_AddNumberToObject(r, "c2p_s_sat", ns.s_sat_c);
        cJSON_AddNumberToObject(r, "readout_sat", ns.readout_sat_c);
    }
}
