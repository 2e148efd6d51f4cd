/* Netlist assembly: a self-contained text made of the technology's parameters, its model
 * cards, the templates of spice/netlists with device roles filled in, and a sweep body. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spice.h"

typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} strbuf;

static void sb_add(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(strbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->cap ? 2 * b->cap : 4096) + (size_t)n;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Appends template text with every ${role} replaced by the technology's model name. */
static int add_template(strbuf *b, const spice_tech *t, const char *text, const char *file,
                        gc_err *e)
{
    const char *p = text;
    while (*p) {
        const char *open = strstr(p, "${");
        if (!open) {
            sb_add(b, "%s", p);
            break;
        }
        sb_add(b, "%.*s", (int)(open - p), p);
        const char *close = strchr(open, '}');
        if (!close)
            return gc_fail(e, "%s: unterminated ${ in template", file);
        int n = (int)(close - open - 2);
        const char *model = NULL;
        for (int i = 0; i < t->n_devices; i++)
            if ((int)strlen(t->devices[i].role) == n && !strncmp(t->devices[i].role, open + 2, n))
                model = t->devices[i].model;
        if (!model)
            return gc_fail(e, "%s: template needs device role '%.*s', which technology %s "
                              "does not define", file, n, open + 2, t->name);
        sb_add(b, "%s", model);
        p = close + 1;
    }
    sb_add(b, "\n");
    return 0;
}

char *spice_netlist_build(const spice_tech *t, const char *title, const char *const *templates,
                          int n_templates, const char *options, const char *body, gc_err *e)
{
    strbuf b = {0};
    if (strcmp(t->corner, "tt"))
        sb_add(&b, "* gcsim %s: %s (technology %s, corner %s)\n", GCSIM_VERSION, title,
               t->name, t->corner);
    else
        sb_add(&b, "* gcsim %s: %s (technology %s)\n", GCSIM_VERSION, title, t->name);
    for (int i = 0; i < t->n_params; i++)
        if (strcmp(t->params[i].name, "temp"))
            sb_add(&b, ".param %s=%.10g\n", t->params[i].name, t->params[i].value);
    sb_add(&b, ".temp %.10g\n", spice_tech_get(t, "temp"));
    sb_add(&b, ".options %s\n", options ? options : "");
    int rc = 0;
    for (int i = 0; i < t->n_cards && rc == 0; i++) {
        char *text;
        if (gc_read_file(t->cards[i], &text, NULL, e)) {
            rc = -1;
            break;
        }
        if (strcmp(t->corner, "tt")) {
            char *shifted = spice_card_apply_corner(t, text, t->cards[i], e);
            free(text);
            if (!(text = shifted)) {
                rc = -1;
                break;
            }
        }
        sb_add(&b, "%s\n", text);
        free(text);
    }
    for (int i = 0; i < n_templates && rc == 0; i++) {
        char path[4096 + 300];
        const char *name = strcmp(templates[i], "cell") ? templates[i] : t->cell;
        snprintf(path, sizeof path, "%s/%s", t->netlist_dir, name);
        char *text;
        if (gc_read_file(path, &text, NULL, e)) {
            rc = -1;
            break;
        }
        rc = add_template(&b, t, text, path, e);
        free(text);
    }
    sb_add(&b, "%s\n.end\n", body);
    if (rc || b.failed) {
        if (b.failed)
            gc_fail(e, "out of memory building netlist %s", title);
        free(b.s);
        return NULL;
    }
    return b.s;
}
