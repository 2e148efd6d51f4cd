/* report: the results folder as one self-contained HTML page (see report.h). */
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "report.h"
#include "spice.h"

/* ---------------------------------------------------------------------------------------- */
/* The page as a growing buffer */

typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} page;

static void grow(page *p, size_t need)
{
    if (p->oom || p->len + need + 1 <= p->cap)
        return;
    size_t cap = (p->cap + need + 1) * 2;
    char *b = realloc(p->buf, cap);
    if (!b) {
        p->oom = 1;
        return;
    }
    p->buf = b, p->cap = cap;
}

static void put(page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(page *p, const char *fmt, ...)
{
    va_list a;
    va_start(a, fmt);
    int n = vsnprintf(NULL, 0, fmt, a);
    va_end(a);
    grow(p, (size_t)n);
    if (p->oom)
        return;
    va_start(a, fmt);
    vsnprintf(p->buf + p->len, p->cap - p->len, fmt, a);
    va_end(a);
    p->len += (size_t)n;
}

static void put_text(page *p, const char *s)
{
    for (; s && *s; s++)
        switch (*s) {
        case '<': put(p, "&lt;"); break;
        case '>': put(p, "&gt;"); break;
        case '&': put(p, "&amp;"); break;
        case '"': put(p, "&quot;"); break;
        default: put(p, "%c", *s);
        }
}

/* A PNG file inline, as a data URI; a missing file is said so on the page. */
static void put_png(page *p, const char *path, const char *caption)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *data;
    size_t n;
    gc_err ignore;
    if (gc_read_file(path, &data, &n, &ignore)) {
        put(p, "<p class=missing>%s: not found</p>\n", path);
        return;
    }
    put(p, "<figure><img alt=\"");
    put_text(p, caption);
    put(p, "\" src=\"data:image/png;base64,");
    grow(p, (n + 2) / 3 * 4);
    const unsigned char *u = (const unsigned char *)data;
    for (size_t i = 0; i < n && !p->oom; i += 3) {
        unsigned v = u[i] << 16 | (i + 1 < n ? u[i + 1] << 8 : 0) | (i + 2 < n ? u[i + 2] : 0);
        p->buf[p->len++] = b64[v >> 18 & 63];
        p->buf[p->len++] = b64[v >> 12 & 63];
        p->buf[p->len++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        p->buf[p->len++] = i + 2 < n ? b64[v & 63] : '=';
    }
    put(p, "\"><figcaption>");
    put_text(p, caption);
    put(p, "</figcaption></figure>\n");
    free(data);
}

/* A number cell whose tooltip and class say where it came from and what kind it is. */
static void put_num(page *p, const cJSON *o, const char *key, const char *file,
                    const char *kind)
{
    const cJSON *x = o;
    char path[256], *save;
    snprintf(path, sizeof path, "%s", key);
    for (char *k = strtok_r(path, ".", &save); k && x; k = strtok_r(NULL, ".", &save))
        x = cJSON_IsArray(x) ? cJSON_GetArrayItem(x, atoi(k))
                             : cJSON_GetObjectItemCaseSensitive(x, k);
    if (!cJSON_IsNumber(x)) {
        put(p, "<td class=missing title=\"%s: %s\">-</td>", file, key);
        return;
    }
    put(p, "<td class=%s title=\"%s: %s (%s)\">%.6g</td>", kind, file, key, kind,
        x->valuedouble);
}

static void put_str(page *p, const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    put(p, "<td>");
    put_text(p, cJSON_IsString(x) ? x->valuestring : "-");
    put(p, "</td>");
}

/* ---------------------------------------------------------------------------------------- */
/* The folder */

/* Sorted names in dir that start with prefix and end with suffix; NULL-terminated, malloc'd. */
static char **names_in(const char *dir, const char *prefix, const char *suffix)
{
    DIR *d = opendir(dir);
    char **v = calloc(1, sizeof *v);
    int n = 0;
    for (struct dirent *x; d && v && (x = readdir(d));) {
        size_t l = strlen(x->d_name), lp = strlen(prefix), ls = strlen(suffix);
        if (l < lp + ls || strncmp(x->d_name, prefix, lp) || strcmp(x->d_name + l - ls, suffix))
            continue;
        char **w = realloc(v, (size_t)(n + 2) * sizeof *v);
        if (!w)
            break;
        v = w;
        v[n++] = strdup(x->d_name);
        v[n] = NULL;
    }
    if (d)
        closedir(d);
    for (int i = 0; i < n; i++) /* insertion sort: a handful of names */
        for (int j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            char *t = v[j];
            v[j] = v[j - 1], v[j - 1] = t;
        }
    return v;
}

static void names_free(char **v)
{
    for (int i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* dir/name as JSON (NULL when unreadable or not JSON: the page says so). */
static cJSON *load(page *p, const char *dir, const char *name)
{
    char path[4096], *text;
    size_t n;
    gc_err e;
    int len = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (len < 0 || (size_t)len >= sizeof path) {
        put(p, "<p class=missing>%s/%s: path too long</p>\n", dir, name);
        return NULL;
    }
    if (gc_read_file(path, &text, &n, &e)) {
        put(p, "<p class=missing>%s</p>\n", e.msg);
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength(text, n);
    free(text);
    if (!j)
        put(p, "<p class=missing>%s: not JSON</p>\n", path);
    return j;
}

/* ---------------------------------------------------------------------------------------- */
/* Sections */

static void section_curves(page *p, const char *dir)
{
    char **techs = names_in(dir, "plots_", "");
    put(p, "<h2>Circuit curves (simulated: ngspice on the technology's netlists)</h2>\n");
    for (int i = 0; techs && techs[i]; i++) {
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", dir, techs[i]);
        char **pngs = names_in(sub, "", ".png");
        put(p, "<h3>%s</h3>\n<div class=grid>\n", techs[i] + 6);
        for (int k = 0; pngs && pngs[k]; k++) {
            char path[8192], cap[8192];
            snprintf(path, sizeof path, "%s/%s", sub, pngs[k]);
            snprintf(cap, sizeof cap, "%s/%s (gcsim characterize, gcsim plot)", techs[i],
                     pngs[k]);
            put_png(p, path, cap);
        }
        put(p, "</div>\n");
        names_free(pngs);
    }
    names_free(techs);
}

static void section_fits(page *p, const char *dir)
{
    char **fits = names_in(dir, "fit_", ".json");
    if (!fits || !fits[0]) {
        names_free(fits);
        return;
    }
    put(p, "<h2>Behavioural model: fit residuals (simulated, fitted)</h2>\n<table>\n"
           "<tr><th>file</th><th>technology</th><th>read table held-out RMS (%% FS)</th>"
           "<th>max (%% FS)</th><th>cubic fit RMS (uA)</th><th>leak tau (s)</th>"
           "<th>decay model max error (V)</th><th>C node (F)</th><th>t_write (s)</th>"
           "<th>T_max (s)</th></tr>\n");
    for (int i = 0; fits && fits[i]; i++) {
        cJSON *j = load(p, dir, fits[i]);
        if (!j)
            continue;
        put(p, "<tr><td>%s</td>", fits[i]);
        put_str(p, j, "technology");
        put_num(p, j, "read.table_heldout_rms_pct_fs", fits[i], "simulated");
        put_num(p, j, "read.table_heldout_max_pct_fs", fits[i], "simulated");
        put_num(p, j, "read.poly_rms_uA", fits[i], "simulated");
        put_num(p, j, "leak.tau_s", fits[i], "simulated");
        put_num(p, j, "leak.model_max_err_V", fits[i], "simulated");
        put_num(p, j, "leak.c_node_F", fits[i], "simulated");
        put_num(p, j, "t_write_s", fits[i], "declared");
        put_num(p, j, "t_max_s", fits[i], "declared");
        put(p, "</tr>\n");
        cJSON_Delete(j);
    }
    put(p, "</table>\n");
    names_free(fits);
}

static void section_validation(page *p, const char *dir)
{
    char **subs = names_in(dir, "validate", "");
    put(p, "<h2>Behavioural model against SPICE (gcsim validate)</h2>\n");
    if (!subs || !subs[0])
        put(p, "<p>No validation in this folder.</p>\n");
    for (int i = 0; subs && subs[i]; i++) {
        char sub[4096], name[4200], png[8192];
        snprintf(sub, sizeof sub, "%s/%s", dir, subs[i]);
        snprintf(name, sizeof name, "%s/validate.json", subs[i]);
        cJSON *j = load(p, dir, name);
        if (!j)
            continue;
        put(p, "<table><tr><th>file</th><th>technology</th><th>patterns</th><th>rows</th>"
               "<th>columns</th><th>column charge RMS (%% FS)</th><th>max (%% FS)</th><th>pulse "
               "RMS (%% T_max)</th><th>SPICE s/pattern</th><th>model s/pattern</th></tr>\n<tr>");
        put(p, "<td>%s</td>", name);
        put_str(p, j, "technology");
        put_num(p, j, "samples", name, "declared");
        put_num(p, j, "rows", name, "declared");
        put_num(p, j, "columns", name, "declared");
        put_num(p, j, "column_charge_rms_pct_fs", name, "simulated");
        put_num(p, j, "column_charge_max_pct_fs", name, "simulated");
        put_num(p, j, "pulse_rms_pct_tmax", name, "simulated");
        put_num(p, j, "spice_seconds_per_pattern", name, "measured");
        put_num(p, j, "model_seconds", name, "measured");
        put(p, "</tr></table>\n");
        snprintf(png, sizeof png, "%s/charge_scatter.png", sub);
        put_png(p, png, "bit-line charge, SPICE against the behavioural model");
        cJSON_Delete(j);
    }
    names_free(subs);
}

/* One row of a perplexity table from ppl_<name>.json, with the energy and latency per token
 * of the same run from the cost report it names (key "cost", gcsim ppl --cost). */
static void ppl_row(page *p, const char *dir, const cJSON *j, const char *file)
{
    put(p, "<tr><td>%s</td>", file);
    put_str(p, j, "model");
    put_str(p, j, "attention");
    put_str(p, j, "tokenizer");
    put_num(p, j, "attention_config.token_period_s", file, "declared");
    put_num(p, j, "tokens", file, "measured");
    put_num(p, j, "bits_per_byte", file, "measured");
    put_num(p, j, "token_perplexity", file, "measured");
    const char *cost = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "cost"));
    cJSON *c = cost ? load(p, dir, cost) : NULL;
    if (c) {
        const cJSON *lat = cJSON_GetObjectItemCaseSensitive(c, "latency_per_token_s");
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(lat, "kind"));
        put_num(p, c, "energy_per_token_simulated_J", cost, "simulated");
        put_num(p, c, "energy_per_token_declared_J", cost, "declared");
        put_num(p, c, "latency_per_token_s.model", cost,
                kind && !strcmp(kind, "simulated") ? "simulated" : "declared");
    } else {
        put(p, "<td>-</td><td>-</td><td>-</td>");
    }
    cJSON_Delete(c);
    put(p, "</tr>\n");
}

static const char *ppl_header =
    "<table>\n<tr><th>file</th><th>model</th><th>attention</th><th>tokenizer</th>"
    "<th>token period (s)</th><th>tokens</th><th>bits per byte</th><th>token perplexity</th>"
    "<th>energy per token, simulated part (J)</th><th>declared part (J)</th>"
    "<th>latency per token (s)</th></tr>\n";

static void section_ppl(page *p, const char *dir)
{
    char **files = names_in(dir, "ppl_", ".json");
    int any = 0;
    for (int i = 0; files && files[i]; i++)
        any |= strncmp(files[i], "ppl_period_", 11) != 0;
    if (!any) {
        names_free(files);
        return;
    }
    put(p, "<h2>Perplexity per attention variant and technology (gcsim ppl)</h2>\n%s",
        ppl_header);
    for (int i = 0; files && files[i]; i++) {
        if (!strncmp(files[i], "ppl_period_", 11))
            continue;
        cJSON *j = load(p, dir, files[i]);
        if (j)
            ppl_row(p, dir, j, files[i]);
        cJSON_Delete(j);
    }
    put(p, "</table>\n");
    names_free(files);
}

/* ppl_period_*.json: bits per byte against the token period, a table and a plot. */
static void section_period(page *p, const char *dir)
{
    char **files = names_in(dir, "ppl_period_", ".json");
    double x[64], y[64];
    size_t n = 0;
    if (!files || !files[0]) {
        names_free(files);
        return;
    }
    put(p, "<h2>Perplexity against a circuit parameter: the token period</h2>\n"
           "<p>The same adapted model and cell, read with the stored values aged by "
           "different times between tokens (retention against the schedule).</p>\n%s",
        ppl_header);
    for (int i = 0; files && files[i] && n < 64; i++) {
        cJSON *j = load(p, dir, files[i]);
        const cJSON *c = j ? cJSON_GetObjectItem(j, "attention_config") : NULL;
        const cJSON *t = c ? cJSON_GetObjectItem(c, "token_period_s") : NULL;
        const cJSON *b = j ? cJSON_GetObjectItem(j, "bits_per_byte") : NULL;
        if (j)
            ppl_row(p, dir, j, files[i]);
        if (cJSON_IsNumber(t) && cJSON_IsNumber(b) && t->valuedouble > 0)
            x[n] = t->valuedouble, y[n++] = b->valuedouble;
        cJSON_Delete(j);
    }
    put(p, "</table>\n");
    names_free(files);
    for (size_t i = 1; i < n; i++) /* the curve in order of the period */
        for (size_t k = i; k > 0 && x[k - 1] > x[k]; k--) {
            double t = x[k];
            x[k] = x[k - 1], x[k - 1] = t, t = y[k], y[k] = y[k - 1], y[k - 1] = t;
        }
    char png[4096];
    gc_err e;
    snprintf(png, sizeof png, "%s/ppl_vs_token_period.png", dir);
    gc_series s = {x, y, n, "bits per byte"};
    gc_plot_style st = {"bits per byte against the token period", "token period (s)",
                        "bits per byte", 1, 0, 0, 0};
    if (n >= 2 && !gc_plot(png, &st, &s, 1, &e))
        put_png(p, png, "bits per byte against the token period (ppl_period_*.json)");
}

/* Axis values of the sweep rows as numbers, when every row's value is one. */
static int numeric_axis(const cJSON *rows, const char *axis, double *x, int max)
{
    int n = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        const cJSON *v = cJSON_GetObjectItem(row, axis);
        if (!cJSON_IsString(v) || n == max || spice_parse_number(v->valuestring, &x[n]))
            return 0;
        n++;
    }
    return n;
}

/* One plot of bits per byte against axis, a series per value of the other axes. */
static void sweep_plot(page *p, const char *dir, const cJSON *rows, const char *axis,
                       const char **axes, int n_axes)
{
    enum { MAXP = 256, MAXS = 8 };
    double x[MAXP], y[MAXS][MAXP], xs[MAXS][MAXP];
    char names[MAXS][256];
    gc_series s[MAXS];
    int n = numeric_axis(rows, axis, x, MAXP), ns = 0, k = 0;
    const cJSON *row;
    if (n < 2)
        return;
    cJSON_ArrayForEach(row, rows)
    {
        char key[256] = "";
        for (int a = 0; a < n_axes; a++)
            if (strcmp(axes[a], axis))
                snprintf(key + strlen(key), sizeof key - strlen(key), "%s%s=%s",
                         key[0] ? " " : "", axes[a],
                         cJSON_GetStringValue(cJSON_GetObjectItem(row, axes[a])));
        int i = 0;
        while (i < ns && strcmp(names[i], key))
            i++;
        const cJSON *b = cJSON_GetObjectItem(row, "bits_per_byte");
        if (i == MAXS || !cJSON_IsNumber(b)) {
            k++;
            continue;
        }
        if (i == ns) {
            snprintf(names[ns], sizeof names[ns], "%s", key[0] ? key : "bits per byte");
            s[ns] = (gc_series){xs[ns], y[ns], 0, names[ns]};
            ns++;
        }
        xs[i][s[i].n] = x[k++];
        y[i][s[i].n++] = b->valuedouble;
    }
    char png[4096], title[256];
    gc_err e;
    snprintf(png, sizeof png, "%s/sweep_%s.png", dir, axis + (strncmp(axis, "set:", 4) ? 0 : 4));
    snprintf(title, sizeof title, "bits per byte against %s", axis);
    gc_plot_style st = {title, axis, "bits per byte", 0, 0, 0, 0};
    if (ns && !gc_plot(png, &st, s, ns, &e))
        put_png(p, png, title);
}

/* Bits per byte against energy per token over the sweep's points, with the Pareto front:
 * the points no other point beats on both (drawn when the sweep measured cost). */
static void sweep_pareto(page *p, const char *dir, const cJSON *rows)
{
    enum { MAXP = 256 };
    double e[MAXP], b[MAXP], fe[MAXP], fb[MAXP];
    int n = 0, nf = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        const cJSON *x = cJSON_GetObjectItem(row, "energy_per_token_J");
        const cJSON *y = cJSON_GetObjectItem(row, "bits_per_byte");
        if (cJSON_IsNumber(x) && cJSON_IsNumber(y) && n < MAXP)
            e[n] = x->valuedouble, b[n++] = y->valuedouble;
    }
    for (int i = 0; i < n; i++) { /* insertion sort by energy, then bits */
        for (int k = i; k > 0 && (e[k] < e[k - 1] || (e[k] == e[k - 1] && b[k] < b[k - 1]));
             k--) {
            double t = e[k];
            e[k] = e[k - 1], e[k - 1] = t, t = b[k], b[k] = b[k - 1], b[k - 1] = t;
        }
    }
    for (int i = 0; i < n; i++) /* cheapest first: a point is on the front if it is better */
        if (nf == 0 || b[i] < fb[nf - 1])
            fe[nf] = e[i], fb[nf++] = b[i];
    if (n < 2)
        return;
    char png[4096];
    gc_err err;
    snprintf(png, sizeof png, "%s/sweep_pareto.png", dir);
    gc_series s[2] = {{e, b, (size_t)n, "design points"}, {fe, fb, (size_t)nf, "Pareto front"}};
    gc_plot_style st = {"bits per byte against energy per token", "energy per token (J)",
                        "bits per byte", 0, 0, 1, 0};
    if (!gc_plot(png, &st, s, 2, &err))
        put_png(p, png, "bits per byte against energy per token: the Pareto front "
                        "(table.json: energy_per_token_J, bits_per_byte)");
}

/* table.json of gcsim sweep: its rows and a plot per numeric axis. */
static void section_sweep(page *p, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/table.json", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    fclose(f);
    cJSON *rows = load(p, dir, "table.json");
    const cJSON *first = rows ? cJSON_GetArrayItem(rows, 0) : NULL, *c, *row;
    if (!first) {
        cJSON_Delete(rows);
        return;
    }
    const char *axes[16];
    int n_axes = 0, i = 0;
    put(p, "<h2>Design-space sweep (gcsim sweep, table.json)</h2>\n<table>\n<tr>");
    cJSON_ArrayForEach(c, first)
    {
        put(p, "<th>");
        put_text(p, c->string);
        put(p, "</th>");
        if (cJSON_IsString(c) && n_axes < 16)
            axes[n_axes++] = c->string;
    }
    put(p, "</tr>\n");
    cJSON_ArrayForEach(row, rows)
    {
        put(p, "<tr>");
        cJSON_ArrayForEach(c, row)
        {
            char key[300];
            snprintf(key, sizeof key, "%d.%s", i, c->string);
            if (cJSON_IsString(c)) {
                put(p, "<td>");
                put_text(p, c->valuestring);
                put(p, "</td>");
            } else {
                const char *n = c->string;
                put_num(p, rows, key, "table.json",
                        strstr(n, "simulated_J")  ? "simulated"
                        : strstr(n, "declared_J") ? "declared"
                        : strstr(n, "energy") || strstr(n, "latency")
                            ? "mixed" /* simulated and declared parts (the point's cost.json) */
                        : strstr(n, "bits") || strstr(n, "perplexity") || strstr(n, "period")
                            ? "measured"
                            : "simulated");
            }
        }
        put(p, "</tr>\n");
        i++;
    }
    put(p, "</table>\n");
    for (int a = 0; a < n_axes; a++)
        sweep_plot(p, dir, rows, axes[a], axes, n_axes);
    sweep_pareto(p, dir, rows);
    cJSON_Delete(rows);
}

static void section_eval(page *p, const char *dir)
{
    char **files = names_in(dir, "eval_", ".json");
    put(p, "<h2>Downstream tasks (gcsim eval)</h2>\n");
    if (!files || !files[0])
        put(p, "<p>No task evaluation in this folder.</p>\n");
    else
        put(p, "<table>\n<tr><th>file</th><th>task</th><th>model</th><th>attention</th>"
               "<th>examples</th><th>accuracy</th><th>stderr</th><th>perplexity</th></tr>\n");
    for (int i = 0; files && files[i]; i++) {
        cJSON *j = load(p, dir, files[i]);
        if (!j)
            continue;
        put(p, "<tr><td>%s</td>", files[i]);
        put_str(p, j, "task");
        put_str(p, j, "model");
        put_str(p, j, "attention");
        put_num(p, j, "examples", files[i], "measured");
        put_num(p, j, "acc", files[i], "measured");
        put_num(p, j, "acc_stderr", files[i], "measured");
        put_num(p, j, "perplexity", files[i], "measured");
        put(p, "</tr>\n");
        cJSON_Delete(j);
    }
    if (files && files[0])
        put(p, "</table>\n");
    names_free(files);
}

/* cost_*.json (gcsim cost): energy, latency and area per token, vs the GPU, and the
 * stacked bars beside each. */
static void section_cost(page *p, const char *dir)
{
    char **files = names_in(dir, "cost_", ".json");
    if (!files || !files[0]) {
        names_free(files);
        return;
    }
    put(p, "<h2>What a token costs (gcsim cost)</h2>\n<p>Energy counted on the run's own "
           "activity times the energy per operation of its cell (simulated: SPICE supply "
           "energy; declared: a parameter with its source, listed in the file); latency from "
           "the phase durations; for the shape in the file (per token: every head and layer "
           "of that shape).</p>\n<table>\n<tr><th>file</th><th>layers</th><th>heads</th>"
           "<th>energy per token per head, simulated (J)</th><th>declared (J)</th>"
           "<th>per token, simulated (J)</th><th>declared (J)</th><th>latency per layer (s)"
           "</th><th>per token (s)</th><th>area (m2)</th><th>latency ratio vs GPU</th>"
           "<th>energy ratio vs GPU</th><th>paper's claims</th></tr>\n");
    for (int i = 0; files[i]; i++) {
        cJSON *j = load(p, dir, files[i]);
        if (!j)
            continue;
        const char *f = files[i];
        const cJSON *lat = cJSON_GetObjectItemCaseSensitive(j, "latency_per_token_s");
        const char *lk = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(lat, "kind"));
        const char *lkind = lk && !strcmp(lk, "simulated") ? "simulated" : "declared";
        put(p, "<tr><td>%s</td>", f);
        put_num(p, j, "shape.layers", f, "declared");
        put_num(p, j, "shape.heads", f, "declared");
        put_num(p, j, "energy_per_token_per_head_simulated_J", f, "simulated");
        put_num(p, j, "energy_per_token_per_head_declared_J", f, "declared");
        put_num(p, j, "energy_per_token_simulated_J", f, "simulated");
        put_num(p, j, "energy_per_token_declared_J", f, "declared");
        put_num(p, j, "latency_per_token_s.per_layer", f, lkind);
        put_num(p, j, "latency_per_token_s.model", f, lkind);
        put_num(p, j, "area_m2.model", f, "declared");
        put_num(p, j, "vs_gpu.latency_ratio", f, "measured");
        put_num(p, j, "vs_gpu.energy_ratio", f, "measured");
        put(p, "<td>x100, x70,000 (PAPER.md section 2)</td></tr>\n");
        cJSON_Delete(j);
    }
    put(p, "</table>\n<div class=grid>\n");
    for (int i = 0; files[i]; i++) {
        char png[4096];
        snprintf(png, sizeof png, "%s/%.*s.png", dir, (int)strlen(files[i]) - 5, files[i]);
        put_png(p, png, files[i]);
    }
    put(p, "</div>\n");
    names_free(files);
}

static void section_gpu(page *p, const char *gpu_json)
{
    const char *slash = gpu_json ? strrchr(gpu_json, '/') : NULL;
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - gpu_json) : 1,
             slash ? gpu_json : ".");
    put(p, "<h2>The GPU baseline (measured, bench/gpu_attention_decode.py)</h2>\n");
    cJSON *j = gpu_json ? load(p, dir, slash ? slash + 1 : gpu_json) : NULL;
    if (!j) {
        put(p, "<p>No GPU measurement given.</p>\n");
        return;
    }
    const char *file = slash ? slash + 1 : gpu_json;
    put(p, "<p>");
    put_text(p, cJSON_GetStringValue(cJSON_GetObjectItem(j, "gpu")));
    put(p, ", driver ");
    put_text(p, cJSON_GetStringValue(cJSON_GetObjectItem(j, "driver")));
    put(p, ", measured ");
    put_text(p, cJSON_GetStringValue(cJSON_GetObjectItem(j, "date")));
    put(p, ". Ratios against the paper's analog attention (declared: 65 ns and 12 x 6.1 nJ "
           "per token, PAPER.md section 2; the paper claims x100 and x70,000).</p>\n"
           "<table>\n<tr><th>row</th><th>batch</th><th>CUDA graph</th><th>latency per token "
           "(s)</th><th>energy per token above idle (J)</th><th>total (J)</th>"
           "<th>latency ratio</th><th>energy ratio</th></tr>\n");
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(j, "attention"))
    {
        put(p, "<tr><td>attention</td>");
        put_num(p, m, "batch", file, "measured");
        put(p, "<td>%s</td>", cJSON_IsTrue(cJSON_GetObjectItem(m, "cuda_graph")) ? "yes" : "no");
        put_num(p, m, "latency_per_token_s", file, "measured");
        put_num(p, m, "energy_per_token_J_above_idle", file, "measured");
        put_num(p, m, "energy_per_token_J_total", file, "measured");
        put_num(p, m, "vs_paper.latency_ratio", file, "measured");
        put_num(p, m, "vs_paper.energy_ratio", file, "measured");
        put(p, "</tr>\n");
    }
    put(p, "</table>\n");
    cJSON_Delete(j);
}

/* ---------------------------------------------------------------------------------------- */

static const char *style =
    "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;"
    "text-align:right}th{background:#eee}td:first-child{text-align:left}"
    ".simulated{background:#eef6ff}.measured{background:#f0fff0}.declared{background:#fff8e6}"
    ".mixed{background:linear-gradient(90deg,#eef6ff 50%,#fff8e6 50%)}"
    ".missing{color:#a00}.grid{display:flex;flex-wrap:wrap;gap:8px}"
    "figure{margin:0;width:380px}figure img{width:100%}figcaption{font-size:80%}</style>\n";

int report_write(const char *dir, const char *gpu_json, const char *out_html, gc_err *e)
{
    page p = {0};
    time_t now = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    put(&p, "<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>gcsim report</title>\n%s"
            "</head><body>\n<h1>gcsim report</h1>\n<p>gcsim %s, %s, results folder ",
        style, GCSIM_VERSION, date);
    put_text(&p, dir);
    put(&p, ". Every number names its file and key (hover over it). Background: "
            "<span class=simulated>simulated</span> (our SPICE runs and the fits to them), "
            "<span class=measured>measured</span> (a run of gcsim or of the GPU bench), "
            "<span class=declared>declared</span> (a parameter of the technology or of the "
            "run), <span class=mixed>both</span> (a total of simulated and declared parts, "
            "each in its own column or file).</p>\n");
    section_sweep(&p, dir);
    section_ppl(&p, dir);
    section_cost(&p, dir);
    section_period(&p, dir);
    section_eval(&p, dir);
    section_fits(&p, dir);
    section_validation(&p, dir);
    section_gpu(&p, gpu_json);
    section_curves(&p, dir);
    put(&p, "</body></html>\n");
    int rc = p.oom ? gc_fail(e, "%s: out of memory", out_html)
                   : gc_write_file_atomic(out_html, p.buf, p.len, e);
    free(p.buf);
    return rc;
}
