/* Process corners: global shifts of model-card parameters, declared in the .tech file
 * ("corner ss n vth0 + 0.045") and applied to the card text every netlist inlines, so a
 * corner's netlists are as self-contained as the nominal ones. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spice.h"

int spice_tech_set_corner(spice_tech *t, const char *corner, gc_err *e)
{
    int known = !strcmp(corner, "tt");
    for (int i = 0; i < t->n_shifts && !known; i++)
        known = !strcmp(t->shifts[i].corner, corner);
    if (!known || strlen(corner) >= sizeof t->corner)
        return gc_fail(e, "--corner %s: technology %s (%s) declares no such corner", corner,
                       t->name, t->path);
    snprintf(t->corner, sizeof t->corner, "%s", corner);
    return 0;
}

/* Where "param=" starts as a whole word in line[0..n), or NULL. */
static const char *find_param(const char *line, size_t n, const char *param)
{
    size_t k = strlen(param);
    for (const char *p = line; p + k < line + n; p++)
        if ((p == line || isspace((unsigned char)p[-1])) && !strncasecmp(p, param, k) &&
            p[k] == '=')
            return p + k + 1;
    return NULL;
}

typedef struct {
    char *s;
    size_t len, cap;
} text;

static int put(text *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = 2 * (b->cap + n) + 256;
        char *p = realloc(b->s, cap);
        if (!p)
            return -1;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

/* Polarity of a ".model NAME nmos|pmos ..." line: 'n', 'p', or 0 for anything else. */
static char model_polarity(const char *line, char *name, size_t name_len)
{
    char nm[64], type[16];
    if (strncasecmp(line, ".model", 6) || !isspace((unsigned char)line[6]) ||
        sscanf(line + 6, " %63[^ \t\n] %15[^ \t\n]", nm, type) != 2)
        return 0;
    snprintf(name, name_len, "%s", nm);
    return !strcasecmp(type, "nmos") ? 'n' : !strcasecmp(type, "pmos") ? 'p' : 0;
}

/* Copies one model's lines [start, end) with the corner's shifts of its polarity applied. */
static int shift_model(const spice_tech *t, char pol, const char *model, const char *start,
                       const char *end, text *out, const char *file, gc_err *e)
{
    size_t n = (size_t)(end - start);
    char *m = malloc(n + 1);
    if (!m)
        return gc_fail(e, "out of memory applying corner %s", t->corner);
    memcpy(m, start, n);
    m[n] = '\0';
    int rc = 0;
    for (int i = 0; i < t->n_shifts && rc == 0; i++) {
        const spice_corner_shift *c = &t->shifts[i];
        if (strcmp(c->corner, t->corner) || c->polarity != pol)
            continue;
        const char *v = find_param(m, n, c->param);
        double old = 0;
        char *after = NULL;
        if (v)
            old = strtod(v, &after);
        if (!v || after == v) {
            rc = gc_fail(e, "%s: corner %s shifts %s, which model %s does not set", file,
                         t->corner, c->param, model);
            break;
        }
        char num[64];
        snprintf(num, sizeof num, "%.10g", c->op == '+' ? old + c->value : old * c->value);
        size_t head = (size_t)(v - m), tail = n - (size_t)(after - m);
        char *r = malloc(head + strlen(num) + tail + 1);
        if (!r) {
            rc = gc_fail(e, "out of memory applying corner %s", t->corner);
            break;
        }
        memcpy(r, m, head);
        strcpy(r + head, num);
        memcpy(r + head + strlen(num), after, tail + 1);
        free(m);
        m = r;
        n = strlen(m);
    }
    if (rc == 0 && put(out, m, n))
        rc = gc_fail(e, "out of memory applying corner %s", t->corner);
    free(m);
    return rc;
}

char *spice_card_apply_corner(const spice_tech *t, const char *card, const char *file,
                              gc_err *e)
{
    text out = {0};
    const char *p = card;
    int rc = 0;
    while (*p && rc == 0) {
        const char *eol = strchr(p, '\n');
        eol = eol ? eol + 1 : p + strlen(p);
        char name[64] = "";
        char pol = model_polarity(p, name, sizeof name);
        if (!pol) {
            rc = put(&out, p, (size_t)(eol - p)) ? gc_fail(e, "out of memory") : 0;
            p = eol;
            continue;
        }
        const char *end = eol; /* the model goes on over '+' continuation lines */
        while (*end == '+') {
            const char *next = strchr(end, '\n');
            end = next ? next + 1 : end + strlen(end);
        }
        rc = shift_model(t, pol, name, p, end, &out, file, e);
        p = end;
    }
    if (rc == 0 && !out.s && put(&out, "", 0))
        rc = gc_fail(e, "out of memory");
    if (rc) {
        free(out.s);
        return NULL;
    }
    return out.s;
}
