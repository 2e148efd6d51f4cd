/* calib_fit: every fit of one curves file, in the order of the data flow. */
#include <stdlib.h>
#include <stdio.h>

#include "calibrate.h"

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
        rc = calib_fit_variation(c, &m->leak, &m->variation, e);
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
    free(m);
}
