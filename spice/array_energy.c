/* The supply energy of an array transient (array.c), measured the way the sweeps measure the
 * cost tables, so the behavioural energies can be set against it: the read is vdd times the
 * charge every row's word-line drivers deliver up to the conversion window (each driver a
 * buffer from vdd; the wires' charging included), and the conversion is what the supply
 * delivers within the window (the converters' reference currents and transistors). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep.h"

const char **spice_array_energy_vectors(int n_rows)
{
    const char **v = calloc(1 + 2 * (size_t)n_rows, sizeof *v);
    if (!v)
        return NULL;
    int ok = (v[0] = strdup("vdd#branch")) != NULL;
    for (int d = 0; d < n_rows && ok; d++) {
        char buf[48];
        snprintf(buf, sizeof buf, "vrwl%d#branch", d);
        ok &= (v[1 + 2 * d] = strdup(buf)) != NULL;
        snprintf(buf, sizeof buf, "vrwlb%d#branch", d);
        ok &= (v[2 + 2 * d] = strdup(buf)) != NULL;
    }
    if (!ok) {
        spice_array_energy_vectors_free(v, n_rows);
        return NULL;
    }
    return v;
}

void spice_array_energy_vectors_free(const char **v, int n_rows)
{
    if (!v)
        return;
    for (int i = 0; i < 1 + 2 * n_rows; i++)
        free((char *)v[i]);
    free(v);
}

int spice_array_energy(const spice_tech *t, const spice_result *r, int first, int n_rows,
                       double *read_j, double *conv_j, gc_err *e)
{
    size_t n = r->len[0];
    for (int i = first; i < first + 1 + 2 * n_rows; i++)
        if (r->len[i] != n)
            return gc_fail(e, "array: supply vector %d has %zu points, time has %zu", i - first,
                           r->len[i], n);
    double *p = malloc(n * sizeof *p);
    if (!p)
        return gc_fail(e, "array: out of memory");
    double vdd = spice_tech_get(t, "vdd"), tw = spice_array_window_s(t);
    double tmax = spice_tech_get(t, "t_max");
    const double *time = r->vec[0];
    for (size_t k = 0; k < n; k++) { /* a source delivers the negative of its branch current */
        double q = 0;
        for (int d = 0; d < 2 * n_rows; d++)
            q += fmax(0, -r->vec[first + 1 + d][k]);
        p[k] = vdd * q;
    }
    *read_j = sweep_trapz_window(time, p, n, 0, tw);
    for (size_t k = 0; k < n; k++)
        p[k] = fmax(0, -vdd * r->vec[first][k]);
    *conv_j = sweep_trapz_window(time, p, n, tw, tw + tmax);
    free(p);
    return 0;
}
