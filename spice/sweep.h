/* Private to spice/: the sweeps that make up a characterization. Each sweep adds its
 * simulations to a shared job list, then turns their results into one group of curves.h5. */
#ifndef GCSIM_SPICE_SWEEP_H
#define GCSIM_SPICE_SWEEP_H

#include <hdf5.h>

#include "spice.h"

typedef struct {
    const spice_tech *t;
    const spice_plan *plan;
    spice_job *jobs;
    spice_result *res;
    char **owned;          /* netlists and vector names to free */
    int n_jobs, cap_jobs, n_owned, cap_owned;
    /* values one sweep hands to a later one or to the energy summary */
    double leak_tau_estimate_s;
    double read_energy_j, write_energy_j, c2p_energy_j, readout_energy_j;
    double idle_power_w;   /* mean over stored voltages, W */
} sweep_ctx;

typedef struct {
    const char *name;
    int phases;                                          /* 1, or 2 if it needs phase 0 results */
    int (*plan)(sweep_ctx *c, int phase, gc_err *e);     /* adds jobs */
    int (*store)(sweep_ctx *c, int phase, int first, int count, hid_t file, gc_err *e);
} sweep_def;

extern const sweep_def sweep_read, sweep_leak, sweep_write, sweep_c2p, sweep_readout,
    sweep_stdcell;

/* Adds a job whose netlist is built from templates and body; vectors are ngspice names. */
int sweep_add(sweep_ctx *c, const char *name, const char *const *templates, int n_templates,
              const char *options, const char *body, const char *const *vectors, int n_vectors,
              gc_err *e);

/* A growable text for netlist bodies. When an append runs out of memory, failed is set and
 * the text stops growing: build it, then check it once with sweep_text_check. */
typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} sweep_text;
void sweep_printf(sweep_text *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 0 if every append succeeded; else -1 with "NAME: out of memory building the netlist". */
int sweep_text_check(const sweep_text *b, const char *name, gc_err *e);

/* Keeps a malloc'd string alive until the characterization ends; returns it. */
char *sweep_keep(sweep_ctx *c, char *s);

/* Numerics on simulator output (non-uniform time points). */
double sweep_trapz(const double *t, const double *y, size_t n);
double sweep_trapz_window(const double *t, const double *y, size_t n, double t0, double t1);
double sweep_interp(const double *x, const double *y, size_t n, double at);
double sweep_p(const sweep_ctx *c, const char *name);
/* n points from a to b, malloc'd; NULL if out of memory (the caller reports it). */
double *sweep_linspace(double a, double b, int n);

/* Standard options of every netlist, and of the low-current leakage runs. */
#define SWEEP_OPTIONS "reltol=1e-4 abstol=1e-15 vntol=1e-7 gmin=1e-18 method=gear"
#define SWEEP_LEAK_OPTIONS "reltol=1e-5 abstol=1e-21 vntol=1e-9 chgtol=1e-22 gmin=1e-24 method=gear"

#endif
