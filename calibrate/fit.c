/* calib_fit: every fit of one curves file, in the order of the data flow. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "calibrate.h"

/* The variation of another curves file (a coarser plan, with --mc) for the cell of c: the
 * same technology, supply, pulse, temperature and corner, else the numbers would not apply. */
static int fit_other_variation(const calib_curves *c, const calib_curves *v, calib_model *m,
                               gc_err *e)
{
    if (v->mc_n == 0)
        return gc_fail(e, "--variation %s: no Monte Carlo instances (/mc: characterize --mc)",
                       v->path);
    int same_temp = (isnan(c->temperature_c) && isnan(v->temperature_c)) ||
                    c->temperature_c == v->temperature_c;
    if (strcmp(c->technology, v->technology) || fabs(c->vdd_v - v->vdd_v) > 1e-9 ||
        fabs(c->t_max_s - v->t_max_s) > 1e-15 || !same_temp || strcmp(c->corner, v->corner))
        return gc_fail(e, "--variation %s: technology %s, vdd %g V, t_max %g s, %g C, corner "
                          "'%s' differ from the curves' (%s, %g V, %g s, %g C, '%s')",
                       v->path, v->technology, v->vdd_v, v->t_max_s, v->temperature_c,
                       v->corner, c->technology, c->vdd_v, c->t_max_s, c->temperature_c,
                       c->corner);
    return calib_fit_variation(v, &m->leak, &m->variation, e);
}

int calib_fit(const calib_curves *c, const calib_opts *o, calib_model **out, gc_err *e)
{
    calib_model *m = calloc(1, sizeof *m);
    if (!m)
        return gc_fail(e, "out of memory");
    m->src = c;
    char what_c2p[1100], what_ro[1100];
    snprintf(what_c2p, sizeof what_c2p, "%s: /c2p", c->path);
    snprintf(what_ro, sizeof what_ro, "%s: /readout", c->path);
    int rc = calib_fit_read(c, o->read_poly_degree, &m->read, e);
    if (rc == 0)
        rc = calib_fit_leak(c, &m->leak, e);
    if (rc == 0)
        rc = calib_fit_write(c, &m->write, e);
    if (rc == 0)
        rc = o->variation ? fit_other_variation(c, o->variation, m, e)
                          : calib_fit_variation(c, &m->leak, &m->variation, e);
    if (rc == 0)
        rc = calib_fit_converter(c->c2p_q, c->c2p_p, c->n_c2p, c->t_max_s, 0, what_c2p, &m->c2p, e);
    if (rc == 0)
        rc = calib_fit_converter(c->ro_q, c->ro_p, c->n_ro, c->t_max_s, 1, what_ro, &m->readout, e);
    if (rc) {
        calib_model_free(m);
        return -1;
    }
    m->s_sat_c = m->c2p.sat_hi_c;
    *out = m;
    return 0;
}

void calib_model_free(calib_model *m)
{
    if (!m)
        return;
    calib_leak_fit_free(&m->leak);
    calib_read_fit_free(&m->read);
    free(m);
}
