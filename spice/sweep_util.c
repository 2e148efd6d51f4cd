/* Shared pieces of the sweeps: job bookkeeping, text building, and integrals/interpolation
 * on the simulator's non-uniform time points. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"

char *sweep_keep(sweep_ctx *c, char *s)
{
    if (!s)
        return NULL;
    if (c->n_owned == c->cap_owned) {
        int cap = c->cap_owned ? 2 * c->cap_owned : 64;
        char **o = realloc(c->owned, (size_t)cap * sizeof *o);
        if (!o) {
            free(s);
            return NULL;
        }
        c->owned = o;
        c->cap_owned = cap;
    }
    c->owned[c->n_owned++] = s;
    return s;
}

int sweep_add(sweep_ctx *c, const char *name, const char *const *templates, int n_templates,
              const char *options, const char *body, const char *const *vectors, int n_vectors,
              gc_err *e)
{
    char *net = sweep_keep(c, spice_netlist_build(c->t, name, templates, n_templates, options,
                                                  body, e));
    if (!net)
        return -1;
    const char **vec = malloc((size_t)n_vectors * sizeof *vec);
    if (!vec || !sweep_keep(c, (char *)vec))
        return gc_fail(e, "out of memory");
    for (int i = 0; i < n_vectors; i++)
        if (!(vec[i] = sweep_keep(c, strdup(vectors[i]))))
            return gc_fail(e, "out of memory");
    if (c->n_jobs == c->cap_jobs) {
        int cap = c->cap_jobs ? 2 * c->cap_jobs : 32;
        spice_job *j = realloc(c->jobs, (size_t)cap * sizeof *j);
        if (!j)
            return gc_fail(e, "out of memory");
        c->jobs = j;
        c->cap_jobs = cap;
    }
    spice_job *j = &c->jobs[c->n_jobs++];
    memset(j, 0, sizeof *j);
    snprintf(j->name, sizeof j->name, "%s", name);
    j->netlist = net;
    j->vectors = vec;
    j->n_vectors = n_vectors;
    return 0;
}

void sweep_printf(sweep_text *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = 2 * b->cap + (size_t)n + 1024;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = 1; /* b->s stays as it was, for the caller to free */
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

int sweep_text_check(const sweep_text *b, const char *name, gc_err *e)
{
    if (b->failed || !b->s)
        return gc_fail(e, "%s: out of memory building the netlist", name);
    return 0;
}

double sweep_trapz(const double *t, const double *y, size_t n)
{
    double s = 0;
    for (size_t i = 1; i < n; i++)
        s += 0.5 * (y[i] + y[i - 1]) * (t[i] - t[i - 1]);
    return s;
}

double sweep_interp(const double *x, const double *y, size_t n, double at)
{
    if (n == 0)
        return NAN;
    if (at <= x[0])
        return y[0];
    if (at >= x[n - 1])
        return y[n - 1];
    size_t lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (x[mid] <= at)
            lo = mid;
        else
            hi = mid;
    }
    double f = x[hi] > x[lo] ? (at - x[lo]) / (x[hi] - x[lo]) : 0;
    return y[lo] + f * (y[hi] - y[lo]);
}

double sweep_trapz_window(const double *t, const double *y, size_t n, double t0, double t1)
{
    double s = 0;
    for (size_t i = 1; i < n; i++) {
        double a = fmax(t[i - 1], t0), b = fmin(t[i], t1);
        if (b <= a)
            continue;
        double ya = sweep_interp(t, y, n, a), yb = sweep_interp(t, y, n, b);
        s += 0.5 * (ya + yb) * (b - a);
    }
    return s;
}

double sweep_p(const sweep_ctx *c, const char *name)
{
    return spice_tech_get(c->t, name);
}

double *sweep_linspace(double a, double b, int n)
{
    double *x = malloc((size_t)(n > 0 ? n : 1) * sizeof *x);
    if (!x)
        return NULL;
    for (int i = 0; i < n; i++)
        x[i] = n > 1 ? a + (b - a) * i / (n - 1) : a;
    return x;
}
