/* gcsim fit: curves.h5 -> cell.h5 (calibrate), checked by loading it back with cellmodel
 * before it replaces anything, plus an optional JSON summary. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>

#include "calibrate.h"
#include "cellmodel.h"
#include "cli.h"
#include "commands.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: gcsim fit --curves curves.h5 --out cell.h5 [--json summary.json]\n"
            "                 [--read-poly-degree N] [--variation mc_curves.h5]\n\n"
            "Fits the behavioural cell model to the curves of `gcsim characterize` or\n"
            "`gcsim import` and writes cell.h5 atomically: read charge table and polynomial,\n"
            "leakage time-to-voltage tables (node capacitance fitted to the hold transients),\n"
            "write transfer, charge-to-pulse and readout curves, energies, and held-out\n"
            "residuals of every fit.\n\n"
            "  --curves FILE         input curves.h5\n"
            "  --out FILE            output cell.h5 (replaced only on success)\n"
            "  --json FILE           also write the fit summary as JSON\n"
            "  --read-poly-degree N  degree of the full-pulse current polynomial (default 3)\n"
            "  --variation FILE      fit /variation (per-cell gain, offset, leak and write\n"
            "                        spread) from FILE's Monte Carlo (characterize --mc; same\n"
            "                        technology, temperature and corner) instead of the\n"
            "                        curves' own /mc, e.g. a coarser plan with many instances\n");
}

/* What cellmodel makes of the written file: the decay model against the transients and the
 * read table at its own points (which must reproduce them). */
static int check_with_cellmodel(const char *tmp, const calib_curves *c, cJSON *summary,
                                gc_err *e)
{
    cell_model *m;
    if (cell_model_load(tmp, &m, e))
        return gc_wrap(e, "the written cell model does not load");
    double leak_max = 0, read_max = 0;
    for (int j = 0; j < c->n_v0; j++)
        for (int k = 0; k < c->n_t; k++)
            leak_max = fmax(leak_max, fabs(cell_decay_v(m, c->v0[j], c->t[k]) -
                                           c->vt[(size_t)j * c->n_t + k]));
    for (int p = 0; p < c->n_p; p++)
        for (int i = 0; i < c->n_v; i++)
            read_max = fmax(read_max, fabs(cell_read_charge_c(m, c->pulse_s[p] / c->t_max_s,
                                                              c->v_store[i]) -
                                           c->charge[(size_t)p * c->n_v + i]));
    cell_model_free(m);
    cJSON *o = cJSON_AddObjectToObject(summary, "cellmodel_check");
    cJSON_AddNumberToObject(o, "leak_max_err_V", leak_max);
    cJSON_AddNumberToObject(o, "read_table_max_err_C", read_max);
    return 0;
}

static void print_summary(const calib_model *m)
{
    const calib_read_fit *r = &m->read;
    printf("read: table held-out RMS %.3g %% FS (max %.3g %%), poly degree %d RMS %.3g uA\n",
           calib_pct(r->table_heldout.rms, r->table_heldout.full_scale),
           calib_pct(r->table_heldout.max, r->table_heldout.full_scale), r->poly_degree,
           r->poly_fit.rms);
    printf("leak: C = %.4g F (upper %.4g, lower %.4g), v_eq = %.6g V, single-exp tau = %.4g s, "
           "model max error %.3g mV over %.3g tau (single exp %.3g mV)\n",
           m->leak.c_node_f, m->leak.c_upper_f, m->leak.c_lower_f, m->leak.v_eq_v,
           m->leak.tau_single_s, 1e3 * m->leak.model.max,
           m->leak.tau_single_s > 0 ? m->leak.span_s / m->leak.tau_single_s : 0,
           1e3 * m->leak.single.max);
    printf("c2p: S_sat = %.4g C, offset %.4g C; readout gain %.4g s/C\n", m->s_sat_c,
           m->c2p.offset_c, m->readout.gain_s_per_c);
    calib_noise n;
    if (calib_noise_of(m->src, &n))
        printf("noise: %.5g K, c_int %.4g F, read pair's largest g_m %.4g S, gamma %.3g, "
               "converter shot-noise factor %.3g\n", n.temperature_k, n.c_int_f, n.gm_read_s,
               n.gamma_read, n.conv_shot_factor);
}

/* Writes the cell file through a temporary beside out, checks it, then renames it. */
static int fit_and_write(const char *curves, const char *variation, const char *out,
                         const char *json, int degree, const char *cmdline, gc_err *e)
{
    calib_curves *c = NULL, *vc = NULL;
    calib_model *m = NULL;
    cJSON *summary = NULL;
    char tmp[4096];
    int rc = -1, have_tmp = 0;
    calib_opts o = {.read_poly_degree = degree};
    const char *in[] = {curves, variation};
    int n_in = variation ? 2 : 1;
    if (gc_check_output("--out", out, in, n_in, e) ||
        (json && gc_check_output("--json", json, in, n_in, e)))
        goto done;
    if (json && (gc_same_file(json, out) || !strcmp(json, out))) {
        gc_fail(e, "--json %s is the same file as --out: choose another", json);
        goto done;
    }
    /* both outputs writable before cell.h5 is replaced */
    if (gc_check_writable(out, e) || (json && gc_check_writable(json, e)))
        goto done;
    if (calib_curves_load(curves, &c, e) ||
        (variation && calib_curves_load(variation, &vc, e)))
        goto done;
    o.variation = vc;
    if (calib_fit(c, &o, &m, e))
        goto done;
    if (!(summary = calib_summary(m))) {
        gc_fail(e, "out of memory");
        goto done;
    }
    if (gc_tmp_path_beside(out, tmp, sizeof tmp, e))
        goto done;
    have_tmp = 1;
    if (calib_write_cell(m, tmp, cmdline, e) || check_with_cellmodel(tmp, c, summary, e))
        goto done;
    have_tmp = 0;
    if (gc_commit_file(tmp, out, e) || (json && gc_json_write(json, summary, e)))
        goto done;
    print_summary(m);
    rc = 0;
done:
    if (have_tmp)
        unlink(tmp);
    cJSON_Delete(summary);
    calib_model_free(m);
    calib_curves_free(c);
    calib_curves_free(vc);
    return rc;
}

int cmd_fit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"curves", required_argument, 0, 'c'}, {"out", required_argument, 0, 'o'},
        {"json", required_argument, 0, 'j'},   {"read-poly-degree", required_argument, 0, 'd'},
        {"variation", required_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *curves = NULL, *out = NULL, *json = NULL, *variation = NULL;
    long degree = 3;
    int ch;
    gc_err e = {{0}};
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': curves = optarg; break;
        case 'o': out = optarg; break;
        case 'j': json = optarg; break;
        case 'v': variation = optarg; break;
        case 'd':
            if (gc_parse_long(optarg, "--read-poly-degree", 0, CALIB_MAX_POLY_DEGREE, &degree,
                              &e)) {
                fprintf(stderr, "gcsim fit: %s\n", e.msg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!curves || !out || optind < argc) {
        usage(stderr);
        return 2;
    }
    /* GSL reports through return codes here, never by aborting the process. */
    gsl_set_error_handler_off();
    char cmdline[8192];
    cli_command_line(argc, argv, cmdline, sizeof cmdline);
    if (fit_and_write(curves, variation, out, json, (int)degree, cmdline, &e)) {
        fprintf(stderr, "gcsim fit: %s\n", e.msg);
        return 1;
    }
    return 0;
}
