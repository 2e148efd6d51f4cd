/* The Monte Carlo column of gcsim validate (see validate.h): many chips of one column in
 * SPICE, each cell with its own mismatch draw, against the variation model of cell.h5. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

typedef struct {
    double gain_sigma, offset_sigma_c, rho, n_instances, seed;
} mc_variation;

/* /variation of the cell file: the sigmas the prediction uses. */
static int load_variation(const char *path, mc_variation *v, gc_err *e)
{
    hid_t f = gc_h5_open_read(path, e);
    if (f < 0)
        return -1;
    const char *names[] = {"variation/gain_sigma", "variation/offset_sigma_c",
                           "variation/rho_gain_offset"};
    double *vals[] = {&v->gain_sigma, &v->offset_sigma_c, &v->rho};
    int rc = H5Lexists(f, "variation", H5P_DEFAULT) > 0
                 ? 0
                 : gc_fail(e, "%s: no /variation (fit curves made with characterize --mc)",
                           path);
    for (int i = 0; i < 3 && rc == 0; i++) {
        double *d = NULL;
        int rank;
        size_t dims[8];
        rc = gc_h5_read(f, names[i], &d, &rank, dims, path, e);
        if (rc == 0 && !(rank == 1 && dims[0] == 1 && isfinite(d[0])))
            rc = gc_fail(e, "%s: /%s must be one finite number", path, names[i]);
        if (rc == 0)
            *vals[i] = d[0];
        free(d);
    }
    rc = rc || gc_h5_read_attr_double(f, "variation", "n_instances", &v->n_instances, path, e) ||
         gc_h5_read_attr_double(f, "variation", "seed", &v->seed, path, e);
    H5Fclose(f);
    if (rc == 0 && !(v->gain_sigma >= 0 && v->offset_sigma_c >= 0 && fabs(v->rho) <= 1))
        rc = gc_fail(e, "%s: /variation holds a negative sigma or |rho| > 1", path);
    return rc ? -1 : 0;
}

/* Chip k's netlist (k = 0: the nominal chip; k >= 1: draws of instances (k-1)·rows + r). */
static char *chip_netlist(const spice_tech *t, const validate_opts *o, int k, const double *v,
                          const double *frac, gc_err *e)
{
    char name[96];
    snprintf(name, sizeof name, "mc_column[chip %d]", k);
    if (k == 0)
        return spice_array_netlist(t, o->array_mode, name, o->rows, 1, v, frac, e);
    spice_mismatch *mm = malloc((size_t)o->rows * sizeof *mm);
    const char **params = malloc((size_t)o->rows * sizeof *params);
    char *net = NULL;
    if (!mm || !params)
        gc_fail(e, "out of memory");
    int ok = mm && params;
    for (int r = 0; ok && r < o->rows; r++) {
        ok = !spice_mismatch_draw(t, o->mc_seed, (k - 1) * o->rows + r, &mm[r], e);
        params[r] = ok ? mm[r].params : "";
    }
    if (ok)
        net = spice_array_netlist_cells(t, o->array_mode, name, o->rows, 1, v, frac, params,
                                        e);
    free(mm);
    free(params);
    return net;
}

static void mean_sd(const double *x, int n, double *mean, double *sd)
{
    double m = 0, s = 0;
    for (int i = 0; i < n; i++)
        m += x[i];
    m /= n;
    for (int i = 0; i < n; i++)
        s += (x[i] - m) * (x[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(s / (n - 1)) : 0;
}

/* Runs the chips and measures each column's charge into q (n_chips + 1, nominal first). The
 * charge comes from the read, so a split array mode needs no conversion runs here. */
static int run_chips(const spice_tech *t, const validate_opts *o, const double *v,
                     const double *frac, double *q, int *clipped, double *sim_s, gc_err *e)
{
    int n = o->mc_chips + 1, n_vec = 1 + SPICE_ARRAY_NVEC_COL;
    spice_job *jobs = calloc((size_t)n, sizeof *jobs);
    spice_result *res = calloc((size_t)n, sizeof *res);
    const char **vectors = spice_array_vectors(o->rows, 1);
    int rc = jobs && res && vectors ? 0 : gc_fail(e, "out of memory");
    for (int k = 0; k < n && rc == 0; k++) {
        snprintf(jobs[k].name, sizeof jobs[k].name, "mc_column[chip %d]", k);
        jobs[k].netlist = chip_netlist(t, o, k, v, frac, e);
        jobs[k].vectors = vectors;
        jobs[k].n_vectors = n_vec;
        rc = jobs[k].netlist ? 0 : -1;
    }
    spice_run_opts ro = {.jobs = o->jobs, .timeout_s = o->timeout_s, .progress = o->progress,
                         .retries = o->retries};
    rc = rc || spice_run(jobs, n, &ro, res, e);
    *clipped = 0, *sim_s = 0;
    for (int k = 0; k < n && rc == 0; k++) {
        spice_array_meas meas;
        rc = spice_array_measure(t, &res[k], 0, &meas, e);
        q[k] = meas.charge_c;
        *clipped += meas.clipped;
        *sim_s += res[k].seconds;
    }
    for (int k = 0; jobs && res && k < n; k++) {
        free((char *)jobs[k].netlist);
        if (res[k].vec)
            spice_result_free(&res[k], n_vec);
    }
    if (vectors)
        spice_array_vectors_free(vectors, 1);
    free(jobs), free(res);
    return rc;
}

int validate_mc_column(const spice_tech *t, const cell_model *m, const validate_opts *o,
                       cJSON *root, gc_err *e)
{
    mc_variation var;
    if (load_variation(cell_model_source(m), &var, e))
        return -1;
    int rows = o->rows, kl = cell_k_levels(m), ql = cell_q_levels(m);
    double *v = malloc((size_t)rows * sizeof *v), *frac = malloc((size_t)rows * sizeof *frac);
    double *q = malloc((size_t)(o->mc_chips + 1) * sizeof *q);
    if (!v || !frac || !q) {
        free(v), free(frac), free(q);
        return gc_fail(e, "out of memory");
    }
    gc_rng rng;
    gc_rng_seed(&rng, o->seed);
    double mean_m = 0, var_m = 0;
    for (int r = 0; r < rows; r++) {
        int level = kl / 2 + gc_rng_int(&rng, kl - kl / 2), pulse = gc_rng_int(&rng, ql / 2);
        frac[r] = (double)pulse / (ql - 1);
        v[r] = cell_write_v(m, level);
        double qr = cell_read_charge_c(m, frac[r], v[r]);
        double sg = var.gain_sigma * qr, so = var.offset_sigma_c * frac[r];
        mean_m += qr;
        var_m += sg * sg + so * so + 2 * var.rho * sg * so;
    }
    int clipped = 0;
    double sim_s = 0, mean_s, sd_s, sd_m = sqrt(var_m);
    int rc = run_chips(t, o, v, frac, q, &clipped, &sim_s, e);
    if (rc == 0) {
        mean_sd(q + 1, o->mc_chips, &mean_s, &sd_s);
        double mean_err = 100 * (mean_s - mean_m) / fabs(mean_m);
        double sd_err = sd_m > 0 ? 100 * (sd_s - sd_m) / sd_m : INFINITY;
        cJSON *mc = cJSON_AddObjectToObject(root, "monte_carlo");
        cJSON_AddNumberToObject(mc, "chips", o->mc_chips);
        cJSON_AddNumberToObject(mc, "cells", rows);
        cJSON_AddNumberToObject(mc, "draw_seed", (double)o->mc_seed);
        cJSON_AddNumberToObject(mc, "pattern_seed", (double)o->seed);
        cJSON_AddStringToObject(mc, "spice_accuracy", o->array_mode->name);
        cJSON_AddNumberToObject(mc, "variation_instances", var.n_instances);
        cJSON_AddNumberToObject(mc, "variation_seed", var.seed);
        cJSON_AddNumberToObject(mc, "spice_mean_C", mean_s);
        cJSON_AddNumberToObject(mc, "spice_std_C", sd_s);
        cJSON_AddNumberToObject(mc, "spice_nominal_chip_C", q[0]);
        cJSON_AddNumberToObject(mc, "model_mean_C", mean_m);
        cJSON_AddNumberToObject(mc, "model_std_C", sd_m);
        cJSON_AddNumberToObject(mc, "std_sampling_error_pct", 100 / sqrt(2.0 * (o->mc_chips - 1)));
        cJSON_AddNumberToObject(mc, "clipped_chips", clipped);
        cJSON_AddNumberToObject(mc, "spice_seconds", sim_s);
        cJSON *a = cJSON_AddArrayToObject(mc, "spice_charge_C");
        for (int k = 1; k <= o->mc_chips; k++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(q[k]));
        cJSON_AddStringToObject(mc, "pattern",
                                "one column, every cell written fresh at a level of the upper "
                                "half and read with a pulse of the lower half (seed "
                                "pattern_seed); chip k's row r draws mismatch instance "
                                "(k-1)*cells + r of draw_seed; chip 0 is nominal");
        cJSON_AddNumberToObject(root, "mc_mean_err_pct", mean_err);
        cJSON_AddNumberToObject(root, "mc_std_err_pct", sd_err);
    }
    free(v), free(frac), free(q);
    return rc;
}
