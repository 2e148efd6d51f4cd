/* The one number parser of gcsim and its one random number generator. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "common.h"

int gc_parse_long(const char *text, const char *what, long lo, long hi, long *out, gc_err *e)
{
    char *end;
    errno = 0;
    long v = text ? strtol(text, &end, 10) : 0;
    if (!text || errno || end == text || *end || v < lo || v > hi)
        return gc_fail(e, "%s: '%s' is not an integer in %ld..%ld", what, text ? text : "",
                       lo, hi);
    *out = v;
    return 0;
}

int gc_parse_double(const char *text, const char *what, double lo, double hi, int lo_open,
                    int hi_open, double *out, gc_err *e)
{
    char *end;
    double v = text ? strtod(text, &end) : NAN;
    int ok = text && end != text && !*end && isfinite(v) && (lo_open ? v > lo : v >= lo) &&
             (hi_open ? v < hi : v <= hi);
    if (!ok)
        return gc_fail(e, "%s: '%s' is not a number in %s%g, %g%s", what, text ? text : "",
                       lo_open ? "(" : "[", lo, hi, hi_open ? ")" : "]");
    *out = v;
    return 0;
}

void gc_rng_seed(gc_rng *r, uint64_t seed) { r->state = seed; }

uint64_t gc_rng_next(gc_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double gc_rng_uniform(gc_rng *r) { return (double)(gc_rng_next(r) >> 11) * 0x1.0p-53; }

int gc_rng_int(gc_rng *r, int n) { return (int)(gc_rng_next(r) % (uint64_t)n); }
