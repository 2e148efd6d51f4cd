/* Characterization: plans every sweep of a technology, runs them in worker processes, and
 * writes curves.h5 (datasets with units and axes, the exact netlists run, provenance)
 * through a temporary file, so an existing curves.h5 survives any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sweep.h"

static const sweep_def *const sweeps[] = {&sweep_read,    &sweep_leak,   &sweep_write,
                                          &sweep_c2p,     &sweep_readout, &sweep_stdcell};
#define N_SWEEPS (int)(sizeof sweeps / sizeof sweeps[0])

static int write_params(const spice_tech *t, hid_t file, gc_err *e)
{
    hid_t g = gc_h5_group(file, "params", e);
    if (g < 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < t->n_params && rc == 0; i++) {
        size_t one = 1;
        rc = gc_h5_write(g, t->params[i].name, 1, &one, &t->params[i].value, t->params[i].unit,
                         t->params[i].description, e);
    }
    H5Gclose(g);
    return rc;
}

static int write_netlists(const sweep_ctx *c, int first, int count, hid_t file, gc_err *e)
{
    hid_t g = gc_h5_group(file, "netlists", e);
    if (g < 0)
        return -1;
    int rc = 0;
    for (int i = first; i < first + count && rc == 0; i++) {
        char name[128];
        snprintf(name, sizeof name, "%03d", i);
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, strlen(c->jobs[i].netlist) + 1);
        hid_t s = H5Screate(H5S_SCALAR);
        hid_t d = H5Dcreate2(g, name, t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (d < 0 || H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->jobs[i].netlist) < 0)
            rc = gc_fail(e, "cannot store netlist %s", c->jobs[i].name);
        if (d >= 0)
            H5Dclose(d);
        H5Sclose(s);
        H5Tclose(t);
        if (rc == 0)
            rc = gc_h5_attr_str(g, name, "simulation", c->jobs[i].name, e);
        for (int v = 0; v < c->jobs[i].n_vectors && rc == 0; v++) {
            char key[32];
            snprintf(key, sizeof key, "vector_%d", v);
            rc = gc_h5_attr_str(g, name, key, c->jobs[i].vectors[v], e);
        }
    }
    H5Gclose(g);
    return rc;
}

static int write_energy(const sweep_ctx *c, hid_t file, gc_err *e)
{
    hid_t g = gc_h5_group(file, "energy", e);
    if (g < 0)
        return -1;
    size_t one = 1;
    int rc = gc_h5_write(g, "read_per_cell", 1, &one, &c->read_energy_j, "J",
                         "word-line driver energy per cell for one full-width read, mean over "
                         "stored voltages", e) ||
             gc_h5_write(g, "write", 1, &one, &c->write_energy_j, "J",
                         "energy per write, mean over DAC levels", e) ||
             gc_h5_write(g, "c2p_conversion", 1, &one, &c->c2p_energy_j, "J",
                         "supply energy of one charge-to-pulse conversion window (transistor "
                         "parts only: the behavioural comparator and op-amp draw none)", e) ||
             gc_h5_write(g, "readout_conversion", 1, &one, &c->readout_energy_j, "J",
                         "supply energy of one signed readout conversion window (transistor "
                         "parts only)", e) ||
             gc_h5_write(g, "idle_power_cell", 1, &one, &c->idle_power_w, "W",
                         "supply power of one idle cell, mean over stored voltages (leak/"
                         "idle_power)", e);
    H5Gclose(g);
    return rc ? -1 : 0;
}

/* Provenance on the root: what produced this file. */
static int write_provenance(const spice_tech *t, const spice_char_opts *o, const char *ngspice,
                            hid_t file, gc_err *e)
{
    char hex[65], buf[8192] = "";
    if (gc_sha256_file(t->path, hex, e))
        return -1;
    int rc = gc_h5_attr_str(file, ".", "format", "gcsim-curves", e) ||
             gc_h5_attr_double(file, ".", "format_version", 1, e) ||
             gc_h5_attr_str(file, ".", "gcsim_version", GCSIM_VERSION, e) ||
             gc_h5_attr_str(file, ".", "command_line", o->command_line ? o->command_line : "", e) ||
             gc_h5_attr_str(file, ".", "technology", t->name, e) ||
             gc_h5_attr_str(file, ".", "technology_file", t->path, e) ||
             gc_h5_attr_str(file, ".", "technology_file_sha256", hex, e) ||
             gc_h5_attr_str(file, ".", "ngspice_version", ngspice, e) ||
             gc_h5_attr_double(file, ".", "temperature_C", spice_tech_get(t, "temp"), e) ||
             gc_h5_attr_str(file, ".", "simulator_options",
                            "default: " SWEEP_OPTIONS "; leakage: " SWEEP_LEAK_OPTIONS, e);
    for (int i = 0; i < t->n_cards && rc == 0; i++) {
        if (gc_sha256_file(t->cards[i], hex, e))
            return -1;
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof buf - n, "%s%s=%s", i ? ";" : "", strrchr(t->cards[i], '/') + 1,
                 hex);
    }
    rc = rc || gc_h5_attr_str(file, ".", "model_cards_sha256", buf, e);
    const char *templates[] = {t->cell, "integrator.sub", "c2p.sub", "readout.sub",
                               "stdcells.sub"};
    buf[0] = '\0';
    for (int i = 0; i < 5 && rc == 0; i++) {
        char path[4096 + 300];
        snprintf(path, sizeof path, "%s/%s", t->netlist_dir, templates[i]);
        if (gc_sha256_file(path, hex, e))
            return -1;
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof buf - n, "%s%s=%s", i ? ";" : "", templates[i], hex);
    }
    rc = rc || gc_h5_attr_str(file, ".", "netlist_templates_sha256", buf, e);
    time_t now = time(NULL);
    char stamp[64];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    const spice_plan *p = o->plan;
    snprintf(buf, sizeof buf,
             "read_dc_nv=%d read_dc_nvin=%d read_nv=%d read_levels=%d leak_dc_n=%d leak_n0=%d "
             "leak_tau_mult=%g leak_points=%d write_levels=%d c2p_n=%d readout_n=%d",
             p->read_dc_nv, p->read_dc_nvin, p->read_nv, p->read_levels, p->leak_dc_n,
             p->leak_n0, p->leak_tau_mult, p->leak_points, p->write_levels, p->c2p_n,
             p->readout_n);
    rc = rc || gc_h5_attr_str(file, ".", "created_utc", stamp, e) ||
         gc_h5_attr_str(file, ".", "sweep_plan", buf, e);
    return rc ? -1 : 0;
}

static void ctx_free(sweep_ctx *c)
{
    for (int i = 0; i < c->n_jobs; i++)
        spice_result_free(&c->res[i], c->jobs[i].n_vectors);
    for (int i = 0; i < c->n_owned; i++)
        free(c->owned[i]);
    free(c->owned);
    free(c->jobs);
    free(c->res);
}

/* Runs the jobs added since first and stores each sweep of this phase. */
static int run_phase(sweep_ctx *c, const spice_char_opts *o, int phase, hid_t file,
                     char *ngspice, gc_err *e)
{
    int first[N_SWEEPS], count[N_SWEEPS], start = c->n_jobs;
    for (int s = 0; s < N_SWEEPS; s++) {
        first[s] = c->n_jobs;
        if (phase < sweeps[s]->phases && sweeps[s]->plan(c, phase, e))
            return gc_wrap(e, "sweep %s", sweeps[s]->name);
        count[s] = c->n_jobs - first[s];
    }
    spice_result *res = realloc(c->res, (size_t)c->n_jobs * sizeof *res);
    if (!res)
        return gc_fail(e, "out of memory");
    c->res = res;
    /* empty until spice_run fills them, so a failure before it frees nothing unset */
    memset(c->res + start, 0, (size_t)(c->n_jobs - start) * sizeof *res);
    for (int i = start; i < c->n_jobs && o->dump_dir; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%03d.cir", o->dump_dir, i);
        if (gc_mkdir_p(o->dump_dir, e) ||
            gc_write_file_atomic(path, c->jobs[i].netlist, strlen(c->jobs[i].netlist), e))
            return -1;
    }
    double t0 = gc_now();
    if (spice_run(c->jobs + start, c->n_jobs - start, &o->run, c->res + start, e))
        return -1;
    if (o->verbose) {
        for (int i = start; i < c->n_jobs; i++) {
            fprintf(stderr, "  %-28s %8.2f s", c->jobs[i].name, c->res[i].seconds);
            if (c->res[i].attempts > 1)
                fprintf(stderr, "  (%d attempts: a worker died)", c->res[i].attempts);
            fputc('\n', stderr);
        }
        fprintf(stderr, "phase %d: %d simulations in %.1f s\n", phase, c->n_jobs - start,
                gc_now() - t0);
    }
    snprintf(ngspice, 32, "%s", c->res[start].ngspice_version);
    for (int s = 0; s < N_SWEEPS; s++)
        if (count[s] && (sweeps[s]->store(c, phase, first[s], count[s], file, e) ||
                         write_netlists(c, first[s], count[s], file, e)))
            return gc_wrap(e, "sweep %s", sweeps[s]->name);
    return 0;
}

int spice_characterize(const spice_tech *t, const spice_char_opts *o, const char *out_path,
                       gc_err *e)
{
    char tmp[4096];
    if (spice_tech_check(t, e))
        return -1;
    if (o->dump_dir && gc_mkdir_p(o->dump_dir, e))
        return gc_wrap(e, "--dump-netlists");
    if (gc_tmp_path_beside(out_path, tmp, sizeof tmp, e))
        return -1;
    hid_t file = gc_h5_create(tmp, e);
    if (file < 0) {
        unlink(tmp);
        return -1;
    }
    sweep_ctx c = {.t = t, .plan = o->plan};
    char ngspice[32] = "";
    int rc = run_phase(&c, o, 0, file, ngspice, e) || run_phase(&c, o, 1, file, ngspice, e) ||
             write_energy(&c, file, e) || write_params(t, file, e) ||
             write_provenance(t, o, ngspice, file, e);
    ctx_free(&c);
    if (gc_h5_save(file, tmp, !rc, e) || rc) {
        unlink(tmp);
        return -1;
    }
    return gc_commit_file(tmp, out_path, e);
}
