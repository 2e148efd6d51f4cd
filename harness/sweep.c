/* sweep: the design-space engine (see sweep.h). */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "attention.h"
#include "sweep.h"

#define MAX_AXES 16
#define MAX_POINTS 4096
#define PATH_N 4096

typedef struct {
    char name[64];
} axis;

typedef struct {
    char dir[PATH_N];                 /* the sweep file's folder */
    int n_axes, n_points;
    axis axes[MAX_AXES];
    char *value[MAX_POINTS][MAX_AXES]; /* text of each point's value, NULL: not set */
    char plan[PATH_N], model[PATH_N], calibration[PATH_N], text[PATH_N];
    long tokens, ctx, stride, adapt_max_iter, adapt_batch, jobs, threads;
    long mc, mc_seed; /* Monte Carlo instances characterized with each point (0: none) */
} spec;

struct sweep_session {
    const sweep_opts *o;
    spec *s;
    sweep_result r;
    char cache[PATH_N];
    int collect; /* 1: run nothing, only read what the cache holds */
    cJSON **row;  /* (n_points) each point's row once known here */
};
typedef sweep_session run_ctx;

/* ---------------------------------------------------------------------------------------- */
/* The sweep file */

static void value_text(const cJSON *v, char *buf, size_t n)
{
    if (cJSON_IsString(v))
        snprintf(buf, n, "%s", v->valuestring);
    else
        snprintf(buf, n, "%.15g", v->valuedouble);
}

static int axis_index(spec *s, const char *name, const char *file, gc_err *e)
{
    for (int i = 0; i < s->n_axes; i++)
        if (!strcmp(s->axes[i].name, name))
            return i;
    if (s->n_axes == MAX_AXES || strlen(name) >= sizeof s->axes[0].name)
        return gc_fail(e, "%s: too many axes or axis name too long ('%s')", file, name);
    attn_config probe;
    attn_setting st[ATTN_MAX_SETTINGS];
    attn_config_default(&probe, &attn_softmax);
    int n = attn_config_settings(&probe, st, 1);
    int known = !strcmp(name, "tech") || !strncmp(name, "set:", 4) ||
                !strcmp(name, "corner") || !strcmp(name, "attention");
    for (int k = 1; !known && k < n; k++) /* 0 is the variant, named "attention" here */
        known = !strcmp(st[k].key, name);
    if (!known)
        return gc_fail(e, "%s: axis '%s' is not tech, set:NAME, corner or an analog setting", file,
                       name);
    snprintf(s->axes[s->n_axes].name, sizeof s->axes[0].name, "%s", name);
    return s->n_axes++;
}

/* One value of axis a at point p, checked to be a string or a finite number. */
static int set_value(spec *s, int p, int a, const cJSON *v, const char *file, gc_err *e)
{
    char buf[PATH_N];
    if (!cJSON_IsString(v) && !(cJSON_IsNumber(v) && v->valuedouble == v->valuedouble))
        return gc_fail(e, "%s: axis %s: each value must be a string or a number", file,
                       s->axes[a].name);
    value_text(v, buf, sizeof buf);
    return (s->value[p][a] = strdup(buf)) ? 0 : gc_fail(e, "out of memory");
}

/* "axes": the full grid, the first axis varying slowest. */
static int read_grid(spec *s, const cJSON *axes, const char *file, gc_err *e)
{
    int count[MAX_AXES], total = 1;
    const cJSON *ax;
    cJSON_ArrayForEach(ax, axes)
    {
        int a = axis_index(s, ax->string, file, e);
        if (a < 0)
            return -1;
        count[a] = cJSON_GetArraySize(ax);
        if (!cJSON_IsArray(ax) || count[a] < 1 || total * count[a] > MAX_POINTS)
            return gc_fail(e, "%s: axes.%s must be a non-empty list (at most %d points in "
                              "all)", file, ax->string, MAX_POINTS);
        total *= count[a];
    }
    s->n_points = total;
    for (int p = 0; p < total; p++) {
        int rest = p, a = s->n_axes;
        const cJSON *x;
        for (a = s->n_axes - 1; a >= 0; a--) { /* the last axis varies fastest */
            int k = rest % count[a];
            rest /= count[a];
            x = cJSON_GetArrayItem(cJSON_GetObjectItem(axes, s->axes[a].name), k);
            if (set_value(s, p, a, x, file, e))
                return -1;
        }
    }
    return 0;
}

/* "points": an explicit list of objects. */
static int read_points(spec *s, const cJSON *points, const char *file, gc_err *e)
{
    const cJSON *pt, *v;
    cJSON_ArrayForEach(pt, points)
    {
        if (!cJSON_IsObject(pt) || s->n_points == MAX_POINTS)
            return gc_fail(e, "%s: points[%d] must be an object (at most %d points)", file,
                           s->n_points, MAX_POINTS);
        cJSON_ArrayForEach(v, pt)
        {
            int a = axis_index(s, v->string, file, e);
            if (a < 0 || set_value(s, s->n_points, a, v, file, e))
                return -1;
        }
        s->n_points++;
    }
    return s->n_points ? 0 : gc_fail(e, "%s: points is empty", file);
}

/* A path of the chain, relative to the sweep file's folder; "" when absent. */
static int chain_path(const spec *s, const cJSON *c, const char *key, char *out, gc_err *e)
{
    const cJSON *v = cJSON_GetObjectItem(c, key);
    out[0] = 0;
    if (!v)
        return 0;
    if (!cJSON_IsString(v))
        return gc_fail(e, "chain.%s must be a path", key);
    return gc_path_resolve(s->dir, v->valuestring, out, PATH_N, e);
}

static int chain_long(const cJSON *c, const char *key, long lo, long hi, long *out, gc_err *e)
{
    const cJSON *v = cJSON_GetObjectItem(c, key);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != (long)v->valuedouble || v->valuedouble < lo ||
        v->valuedouble > hi)
        return gc_fail(e, "chain.%s must be an integer in %ld..%ld", key, lo, hi);
    *out = (long)v->valuedouble;
    return 0;
}

static int read_chain(spec *s, const cJSON *c, const char *file, gc_err *e)
{
    s->tokens = 32768, s->ctx = 1024, s->stride = 512;
    s->adapt_max_iter = 100, s->adapt_batch = 4, s->jobs = 2, s->threads = 2;
    s->mc = 0, s->mc_seed = 1;
    if (c && !cJSON_IsObject(c))
        return gc_fail(e, "%s: chain must be an object", file);
    int rc = chain_path(s, c, "plan", s->plan, e) || chain_path(s, c, "model", s->model, e) ||
             chain_path(s, c, "calibration", s->calibration, e) ||
             chain_path(s, c, "text", s->text, e) ||
             chain_long(c, "tokens", 2, 1L << 40, &s->tokens, e) ||
             chain_long(c, "ctx", 2, 1 << 20, &s->ctx, e) ||
             chain_long(c, "stride", 1, 1 << 20, &s->stride, e) ||
             chain_long(c, "adapt_max_iter", 0, 1 << 20, &s->adapt_max_iter, e) ||
             chain_long(c, "adapt_batch", 1, 1 << 20, &s->adapt_batch, e) ||
             chain_long(c, "jobs", 1, 256, &s->jobs, e) ||
             chain_long(c, "threads", 1, 256, &s->threads, e) ||
             chain_long(c, "mc", 0, 100000, &s->mc, e) ||
             chain_long(c, "mc_seed", 0, INT_MAX, &s->mc_seed, e);
    if (rc)
        return gc_wrap(e, "%s", file);
    if (s->model[0] && (!s->calibration[0] || !s->text[0]))
        return gc_fail(e, "%s: chain.model needs chain.calibration and chain.text", file);
    return 0;
}

static void spec_free(spec *s)
{
    for (int p = 0; p < s->n_points; p++)
        for (int a = 0; a < s->n_axes; a++)
            free(s->value[p][a]);
}

static int spec_load(const char *file, spec *s, gc_err *e)
{
    char *text;
    size_t len;
    memset(s, 0, sizeof *s);
    const char *slash = strrchr(file, '/');
    snprintf(s->dir, sizeof s->dir, "%.*s", slash ? (int)(slash - file) : 1, slash ? file : ".");
    if (gc_read_file(file, &text, &len, e))
        return -1;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *axes = cJSON_GetObjectItem(j, "axes"), *pts = cJSON_GetObjectItem(j, "points");
    int rc = !cJSON_IsObject(j)           ? gc_fail(e, "%s: not a JSON object", file)
             : !!axes == !!pts            ? gc_fail(e, "%s: give either axes or points", file)
             : axes && !cJSON_IsObject(axes) ? gc_fail(e, "%s: axes must be an object", file)
             : pts && !cJSON_IsArray(pts) ? gc_fail(e, "%s: points must be a list", file)
             : axes                       ? read_grid(s, axes, file, e)
                                          : read_points(s, pts, file, e);
    rc = rc || read_chain(s, cJSON_GetObjectItem(j, "chain"), file, e);
    cJSON_Delete(j);
    return rc ? -1 : 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Steps: hashed, cached, atomic */

typedef struct {
    char text[1 << 16]; /* what the step's hash covers */
    size_t len;
} hash_in;

static void hash_add(hash_in *h, const char *s)
{
    int n = snprintf(h->text + h->len, sizeof h->text - h->len, "%s\n", s);
    if (n > 0)
        h->len += (size_t)n < sizeof h->text - h->len ? (size_t)n : 0;
}

static int hash_file(hash_in *h, const char *path, gc_err *e)
{
    char hex[65], line[PATH_N + 80];
    if (gc_sha256_file(path, hex, e))
        return -1;
    const char *base = strrchr(path, '/');
    snprintf(line, sizeof line, "file %s %s", base ? base + 1 : path, hex);
    hash_add(h, line);
    return 0;
}

/* Every regular file of a folder, in name order. */
static int hash_folder(hash_in *h, const char *dir, gc_err *e)
{
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort), rc = 0;
    if (n < 0)
        return gc_fail(e, "%s: %s", dir, strerror(errno));
    for (int i = 0; i < n; i++) {
        char path[PATH_N + 256];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
        if (!rc && !stat(path, &st) && S_ISREG(st.st_mode))
            rc = hash_file(h, path, e);
        free(list[i]);
    }
    free(list);
    return rc;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir) { nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS); }

/* Runs gcsim `argv` (NULL-ended; "{OUT}" in an argument stands for the step's folder) unless
 * cache/<name>-<hash> exists; dir gets that folder. */
static int step(run_ctx *c, const char *name, char **argv, hash_in *h, char *dir, gc_err *e)
{
    char hex[65], tmp[PATH_N + 64], log[PATH_N + 80], *args[64], threads[32];
    hash_add(h, "gcsim " GCSIM_VERSION);
    snprintf(threads, sizeof threads, "threads %ld", c->s->threads);
    hash_add(h, threads);
    for (int i = 0; argv[i]; i++)
        hash_add(h, argv[i]);
    gc_sha256_hex(h->text, h->len, hex);
    if (snprintf(dir, PATH_N, "%s/%s-%.16s", c->cache, name, hex) >= PATH_N)
        return gc_fail(e, "%s: path too long", c->cache);
    struct stat st;
    if (!stat(dir, &st) && S_ISDIR(st.st_mode)) {
        c->r.steps_cached++;
        return 0;
    }
    if (c->collect)
        return gc_fail(e, "%s: not done", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", dir, (long)getpid());
    remove_tree(tmp);
    if (gc_mkdir_p(tmp, e))
        return -1;
    int n = 0;
    char expanded[64][PATH_N + 64];
    for (; argv[n] && n < 63; n++) {
        const char *at = strstr(argv[n], "{OUT}");
        int len = at ? snprintf(expanded[n], sizeof expanded[n], "%.*s%s%s",
                                (int)(at - argv[n]), argv[n], tmp, at + 5)
                     : snprintf(expanded[n], sizeof expanded[n], "%s", argv[n]);
        if (len < 0 || (size_t)len >= sizeof expanded[n])
            return gc_fail(e, "%s: argument too long", name);
        args[n] = expanded[n];
    }
    args[n] = NULL;
    snprintf(log, sizeof log, "%s/log.txt", tmp);
    if (c->o->progress)
        fprintf(stderr, "sweep: %s %s\n", name, dir);
    if (c->o->run(c->o->run_ctx, args, log, (int)c->s->threads, e)) {
        gc_wrap(e, "%s (log: %s)", name, log);
        return -1;
    }
    if (rename(tmp, dir)) {
        /* another process (an MPI rank) finished the same step first: the same content */
        if ((errno == ENOTEMPTY || errno == EEXIST) && !stat(dir, &st) && S_ISDIR(st.st_mode)) {
            remove_tree(tmp);
            c->r.steps_cached++;
            return 0;
        }
        return gc_fail(e, "%s: cannot rename to %s: %s", tmp, dir, strerror(errno));
    }
    c->r.steps_run++;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* One point: the chain */

/* The value of axis name at point p, or NULL. */
static const char *point_value(const spec *s, int p, const char *name)
{
    for (int a = 0; a < s->n_axes; a++)
        if (!strcmp(s->axes[a].name, name))
            return s->value[p][a];
    return NULL;
}

/* The technology file a name stands for (spice/tech/NAME.tech), or the path itself. */
static void tech_file(const run_ctx *c, const char *tech, char *out)
{
    if (strchr(tech, '/') || strstr(tech, ".tech"))
        gc_path_resolve(c->s->dir, tech, out, PATH_N, NULL);
    else
        snprintf(out, PATH_N, "%s/spice/tech/%s.tech", c->o->root, tech);
}

static int characterize(run_ctx *c, int p, char *dir, gc_err *e)
{
    const spec *s = c->s;
    char tfile[PATH_N], folder[PATH_N + 32], sets[MAX_AXES][PATH_N], jobs[16], *argv[64];
    char mc[24], seed[24];
    const char *tech = point_value(s, p, "tech"), *corner = point_value(s, p, "corner");
    int n = 0;
    hash_in *h = calloc(1, sizeof *h);
    if (!h)
        return gc_fail(e, "out of memory");
    tech_file(c, tech ? tech : "si", tfile);
    snprintf(jobs, sizeof jobs, "%ld", s->jobs);
    argv[n++] = "characterize", argv[n++] = "--tech", argv[n++] = tfile;
    for (int a = 0; a < s->n_axes; a++)
        if (!strncmp(s->axes[a].name, "set:", 4) && s->value[p][a]) {
            snprintf(sets[a], PATH_N, "%s=%s", s->axes[a].name + 4, s->value[p][a]);
            argv[n++] = "--set", argv[n++] = sets[a];
        }
    if (corner)
        argv[n++] = "--corner", argv[n++] = (char *)corner;
    if (s->mc) { /* the instances for the variation model that chips are drawn from */
        snprintf(mc, sizeof mc, "%ld", s->mc);
        snprintf(seed, sizeof seed, "%ld", s->mc_seed);
        argv[n++] = "--mc", argv[n++] = mc, argv[n++] = "--seed", argv[n++] = seed;
    }
    if (s->plan[0])
        argv[n++] = "--plan", argv[n++] = (char *)s->plan;
    argv[n++] = "--jobs", argv[n++] = jobs, argv[n++] = "--out", argv[n++] = "{OUT}/curves.h5";
    argv[n] = NULL;
    snprintf(folder, sizeof folder, "%s/spice/netlists", c->o->root);
    int rc = hash_file(h, tfile, e) || hash_folder(h, folder, e) ||
             (snprintf(folder, sizeof folder, "%s/spice/models", c->o->root),
              hash_folder(h, folder, e)) ||
             (s->plan[0] && hash_file(h, s->plan, e)) || step(c, "characterize", argv, h, dir, e);
    free(h);
    return rc ? -1 : 0;
}

static int fit(run_ctx *c, const char *char_dir, char *dir, gc_err *e)
{
    char curves[PATH_N + 16];
    snprintf(curves, sizeof curves, "%s/curves.h5", char_dir);
    char *argv[] = {"fit", "--curves", curves, "--out", "{OUT}/cell.h5", "--json",
                    "{OUT}/fit.json", NULL, NULL, NULL};
    if (c->s->mc) /* the same file holds the instances: the cell gets its /variation */
        argv[7] = "--variation", argv[8] = curves;
    hash_in *h = calloc(1, sizeof *h);
    int rc = !h ? gc_fail(e, "out of memory")
                : hash_file(h, curves, e) || step(c, "fit", argv, h, dir, e);
    free(h);
    return rc ? -1 : 0;
}

/* A chip or read-noise setting: the model is adapted to the nominal cell and scored on the
 * chips, or with the noise. */
static int chip_setting(const char *name)
{
    return !strcmp(name, "chips") || !strcmp(name, "chip_seed") ||
           !strcmp(name, "mismatch_scale") || !strcmp(name, "read_noise") ||
           !strcmp(name, "noise_seed") || !strcmp(name, "noise_scale");
}

/* The analog axes of point p as --analog KEY=VALUE pairs appended to argv from n (for adapt:
 * without the chip settings); cell (the fitted cell.h5) goes in when the point's variant runs
 * through a cell. Returns the new n. */
static int analog_args(const spec *s, int p, const char *cell, int for_adapt, char **argv,
                       int n, char kv[][PATH_N], char *cell_kv)
{
    const char *variant = point_value(s, p, "attention");
    const attn_variant_type *v = &attn_calibrated;
    gc_err ignore;
    if (variant && attn_variant_parse(variant, &v, &ignore))
        v = &attn_calibrated;
    if (v->engine == ATTN_ENGINE_CELL) {
        snprintf(cell_kv, PATH_N, "cell_file=%s", cell);
        argv[n++] = "--analog", argv[n++] = cell_kv;
    }
    for (int a = 0; a < s->n_axes; a++) {
        const char *name = s->axes[a].name;
        if (!s->value[p][a] || !strcmp(name, "tech") || !strncmp(name, "set:", 4) ||
            !strcmp(name, "corner") || (for_adapt && chip_setting(name)))
            continue;
        snprintf(kv[a], PATH_N, "%s=%s", name, s->value[p][a]);
        argv[n++] = "--analog", argv[n++] = kv[a];
    }
    return n;
}

static int adapt(run_ctx *c, int p, const char *fit_dir, char *dir, gc_err *e)
{
    const spec *s = c->s;
    char cell[PATH_N + 16], iters[24], batch[24], ctx[24], kv[MAX_AXES][PATH_N], cell_kv[PATH_N];
    char model_st[PATH_N + 32], model_cfg[PATH_N + 32], *argv[64];
    snprintf(cell, sizeof cell, "%s/cell.h5", fit_dir);
    snprintf(iters, sizeof iters, "%ld", s->adapt_max_iter);
    snprintf(batch, sizeof batch, "%ld", s->adapt_batch);
    snprintf(ctx, sizeof ctx, "%ld", s->ctx);
    int n = 0;
    argv[n++] = "adapt", argv[n++] = "--model", argv[n++] = (char *)s->model;
    argv[n++] = "--text", argv[n++] = (char *)s->calibration, argv[n++] = "--max-iter";
    argv[n++] = iters, argv[n++] = "--batch", argv[n++] = batch, argv[n++] = "--ctx";
    argv[n++] = ctx;
    n = analog_args(s, p, cell, 1, argv, n, kv, cell_kv);
    argv[n++] = "--out", argv[n++] = "{OUT}/model", argv[n] = NULL;
    snprintf(model_st, sizeof model_st, "%s/model.safetensors", s->model);
    snprintf(model_cfg, sizeof model_cfg, "%s/config.json", s->model);
    hash_in *h = calloc(1, sizeof *h);
    int rc = !h ? gc_fail(e, "out of memory")
                : hash_file(h, model_st, e) || hash_file(h, model_cfg, e) ||
                      hash_file(h, s->calibration, e) || hash_file(h, cell, e) ||
                      step(c, "adapt", argv, h, dir, e);
    free(h);
    return rc ? -1 : 0;
}

static int ppl(run_ctx *c, int p, const char *adapt_dir, const char *fit_dir, char *dir,
               gc_err *e)
{
    const spec *s = c->s;
    char model[PATH_N + 16], st[PATH_N + 40], cfg[PATH_N + 32], cell[PATH_N + 16];
    char tokens[24], ctx[24], stride[24], kv[MAX_AXES][PATH_N], cell_kv[PATH_N], *argv[64];
    snprintf(model, sizeof model, "%s/model", adapt_dir);
    snprintf(cell, sizeof cell, "%s/cell.h5", fit_dir);
    snprintf(tokens, sizeof tokens, "%ld", s->tokens);
    snprintf(ctx, sizeof ctx, "%ld", s->ctx);
    snprintf(stride, sizeof stride, "%ld", s->stride);
    int n = 0;
    argv[n++] = "ppl", argv[n++] = "--model", argv[n++] = model, argv[n++] = "--text";
    argv[n++] = (char *)s->text, argv[n++] = "--max-tokens", argv[n++] = tokens;
    argv[n++] = "--ctx", argv[n++] = ctx, argv[n++] = "--stride", argv[n++] = stride;
    n = analog_args(s, p, cell, 0, argv, n, kv, cell_kv);
    argv[n++] = "--json", argv[n++] = "{OUT}/ppl.json";
    const char *variant = point_value(s, p, "attention");
    const attn_variant_type *v = &attn_calibrated;
    gc_err ignore;
    if (variant && attn_variant_parse(variant, &v, &ignore))
        v = &attn_calibrated;
    if (attn_variant_is_analog(v)) /* what a token costs, counted on the same run */
        argv[n++] = "--cost", argv[n++] = "{OUT}/cost.json";
    argv[n] = NULL;
    snprintf(st, sizeof st, "%s/model.safetensors", model);
    snprintf(cfg, sizeof cfg, "%s/config.json", model);
    hash_in *h = calloc(1, sizeof *h);
    int rc = !h ? gc_fail(e, "out of memory")
                : hash_file(h, st, e) || hash_file(h, cfg, e) || hash_file(h, s->text, e) ||
                      hash_file(h, cell, e) || step(c, "ppl", argv, h, dir, e);
    free(h);
    return rc ? -1 : 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Metrics, points and the table */

static cJSON *load_json(const char *path, gc_err *e)
{
    char *text;
    size_t n;
    if (gc_read_file(path, &text, &n, e))
        return NULL;
    cJSON *j = cJSON_ParseWithLength(text, n);
    free(text);
    if (!j)
        gc_fail(e, "%s: not JSON", path);
    return j;
}

/* metrics[name] = the number at key (dotted) of file dir/name, when there. */
static void add_metric(cJSON *metrics, const cJSON *j, const char *key, const char *name)
{
    const cJSON *x = j;
    char path[128], *save;
    snprintf(path, sizeof path, "%s", key);
    for (char *k = strtok_r(path, ".", &save); k && x; k = strtok_r(NULL, ".", &save))
        x = cJSON_GetObjectItemCaseSensitive(x, k);
    if (cJSON_IsNumber(x))
        cJSON_AddNumberToObject(metrics, name, x->valuedouble);
}

/* The point's row: its axes and metrics, read from the step folders. */
static cJSON *point_row(const spec *s, int p, const char *fit_dir, const char *ppl_dir,
                        gc_err *e)
{
    char path[PATH_N + 16];
    cJSON *row = cJSON_CreateObject();
    for (int a = 0; a < s->n_axes; a++)
        if (s->value[p][a])
            cJSON_AddStringToObject(row, s->axes[a].name, s->value[p][a]);
    snprintf(path, sizeof path, "%s/fit.json", fit_dir);
    cJSON *f = load_json(path, e), *q = NULL;
    if (f) {
        add_metric(row, f, "read.table_heldout_rms_pct_fs", "read_heldout_rms_pct_fs");
        add_metric(row, f, "leak.tau_s", "retention_tau_s");
    }
    if (f && ppl_dir) {
        snprintf(path, sizeof path, "%s/ppl.json", ppl_dir);
        if ((q = load_json(path, e))) {
            add_metric(row, q, "bits_per_byte", "bits_per_byte");
            /* a point scored on chips: bits_per_byte is their mean, beside spread and worst */
            add_metric(row, q, "bpb_mean", "bits_per_byte");
            add_metric(row, q, "bpb_std", "bits_per_byte_chip_std");
            add_metric(row, q, "bpb_worst", "bits_per_byte_chip_worst");
            add_metric(row, q, "token_perplexity", "token_perplexity");
            add_metric(row, q, "attention_config.token_period_s", "token_period_s_used");
        }
        snprintf(path, sizeof path, "%s/cost.json", ppl_dir);
        cJSON *cost = access(path, F_OK) ? NULL : load_json(path, e);
        if (cost) {
            add_metric(row, cost, "energy_per_token_J.total", "energy_per_token_J");
            add_metric(row, cost, "energy_per_token_simulated_J", "energy_simulated_J");
            add_metric(row, cost, "energy_per_token_declared_J", "energy_declared_J");
            add_metric(row, cost, "latency_per_token_s.model", "latency_per_token_s");
            cJSON_Delete(cost);
        }
    }
    int ok = f && (!ppl_dir || q);
    cJSON_Delete(f);
    cJSON_Delete(q);
    if (!ok)
        cJSON_Delete(row);
    return ok ? row : NULL;
}

static int run_point(run_ctx *c, int p, cJSON **row, gc_err *e)
{
    char cd[PATH_N], fd[PATH_N], ad[PATH_N], pd[PATH_N];
    const spec *s = c->s;
    if (characterize(c, p, cd, e) || fit(c, cd, fd, e) ||
        (s->model[0] && (adapt(c, p, fd, ad, e) || ppl(c, p, ad, fd, pd, e))))
        return -1;
    return (*row = point_row(s, p, fd, s->model[0] ? pd : NULL, e)) ? 0 : -1;
}

/* table.json and table.csv of the rows so far, in the sweep file's order. */
static int write_table(const run_ctx *c, cJSON *rows, gc_err *e)
{
    char path[PATH_N + 32];
    snprintf(path, sizeof path, "%s/table.json", c->o->out_dir);
    if (gc_json_write(path, rows, e))
        return -1;
    size_t cap = 1 << 16, len = 0;
    char *csv = malloc(cap);
    if (!csv)
        return gc_fail(e, "out of memory");
    const cJSON *row, *cell;
    int first = 1;
    cJSON_ArrayForEach(row, rows)
    {
        char *bigger = len + 4096 > cap ? realloc(csv, cap *= 2) : csv;
        if (!bigger) {
            free(csv);
            return gc_fail(e, "out of memory");
        }
        csv = bigger;
        if (first) { /* the header: the first row's names (every row has the axes) */
            cJSON_ArrayForEach(cell, row)
            len += (size_t)snprintf(csv + len, cap - len, "%s%s", cell == row->child ? "" : ",",
                                    cell->string);
            len += (size_t)snprintf(csv + len, cap - len, "\n");
            first = 0;
        }
        cJSON_ArrayForEach(cell, row)
        {
            char v[64];
            if (cJSON_IsString(cell))
                snprintf(v, sizeof v, "%s", cell->valuestring);
            else
                snprintf(v, sizeof v, "%.9g", cell->valuedouble);
            len += (size_t)snprintf(csv + len, cap - len, "%s%s", cell == row->child ? "" : ",", v);
        }
        len += (size_t)snprintf(csv + len, cap - len, "\n");
    }
    snprintf(path, sizeof path, "%s/table.csv", c->o->out_dir);
    int rc = gc_write_file_atomic(path, csv, len, e);
    free(csv);
    return rc;
}

/* Removes temporary step folders a killed run left. */
static void clean_cache(const char *cache)
{
    DIR *d = opendir(cache);
    for (struct dirent *x; d && (x = readdir(d));)
        if (strstr(x->d_name, ".tmp-")) {
            char path[PATH_N + 256];
            snprintf(path, sizeof path, "%s/%s", cache, x->d_name);
            remove_tree(path);
        }
    if (d)
        closedir(d);
}

int sweep_open(const sweep_opts *o, int clean, sweep_session **out, gc_err *e)
{
    sweep_session *c = calloc(1, sizeof *c);
    *out = c;
    if (!c || !(c->s = calloc(1, sizeof *c->s)))
        return gc_fail(e, "out of memory");
    c->o = o;
    snprintf(c->cache, sizeof c->cache, "%s/cache", o->out_dir);
    if (spec_load(o->file, c->s, e) || gc_mkdir_p(c->cache, e))
        return -1;
    if (!(c->row = calloc((size_t)c->s->n_points, sizeof *c->row)))
        return gc_fail(e, "out of memory");
    if (clean)
        clean_cache(c->cache);
    return 0;
}

int sweep_point_count(const sweep_session *c) { return c->s->n_points; }

int sweep_point(sweep_session *c, int p, gc_err *e)
{
    cJSON_Delete(c->row[p]);
    c->row[p] = NULL;
    return run_point(c, p, &c->row[p], e);
}

int sweep_table(sweep_session *c, int n, int *missing, gc_err *e)
{
    cJSON *rows = cJSON_CreateArray();
    int saved_run = c->r.steps_run, saved_cached = c->r.steps_cached, rc = 0;
    c->collect = 1;
    *missing = 0;
    for (int p = 0; p < n && p < c->s->n_points; p++) {
        gc_err ignore;
        if (!c->row[p] && run_point(c, p, &c->row[p], &ignore))
            missing[0]++, missing[missing[0]] = p;
        else
            cJSON_AddItemToArray(rows, cJSON_Duplicate(c->row[p], 1));
    }
    c->collect = 0;
    c->r.steps_run = saved_run, c->r.steps_cached = saved_cached;
    c->r.points = cJSON_GetArraySize(rows);
    rc = write_table(c, rows, e);
    cJSON_Delete(rows);
    return rc;
}

void sweep_close(sweep_session *c, sweep_result *r)
{
    if (!c)
        return;
    if (r)
        *r = c->r;
    for (int p = 0; c->row && p < c->s->n_points; p++)
        cJSON_Delete(c->row[p]);
    free(c->row);
    if (c->s)
        spec_free(c->s);
    free(c->s);
    free(c);
}

int sweep_run(const sweep_opts *o, sweep_result *r, gc_err *e)
{
    sweep_session *c;
    int rc = sweep_open(o, 1, &c, e), n = rc ? 0 : sweep_point_count(c);
    int *missing = rc ? NULL : calloc((size_t)n + 1, sizeof *missing);
    if (!rc && !missing)
        rc = gc_fail(e, "out of memory");
    for (int p = 0; !rc && p < n; p++) /* the table after every point */
        rc = sweep_point(c, p, e) || sweep_table(c, p + 1, missing, e);
    free(missing);
    sweep_close(c, r);
    return rc ? -1 : 0;
}
