/* gcsim plot: one PNG per sweep of a curves.h5, read through calibrate's loader (the one
 * reader of curves.h5). Sweeps an imported file does not hold are not plotted: the loader's
 * PAPER.md defaults for them are not curves of that file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"
#include "commands.h"
#include "common.h"

/* One plot: a curve per row of y against x. y is (n_rows, n_x), or (n_x, n_rows) with
 * transpose; every > 1 keeps every n-th row. With row, label is a printf format for each
 * curve's row[i] × row_scale; without, there is one row and label is its name. */
typedef struct {
    const char *png, *label;
    const double *x, *y, *row;
    int n_x, n_rows, transpose, every;
    double x_scale, y_scale, row_scale;
    gc_plot_style style;
} plot_spec;

static int plot_one(const char *dir, const plot_spec *p, gc_err *e)
{
    size_t cols = (size_t)p->n_x, rows = (size_t)p->n_rows;
    gc_series *s = calloc(rows, sizeof *s);
    double *xs = malloc(cols * sizeof *xs), *ys = malloc(rows * cols * sizeof *ys);
    char (*labels)[48] = malloc(rows * sizeof *labels);
    int n = 0, rc = s && xs && ys && labels ? 0 : gc_fail(e, "out of memory");
    for (size_t j = 0; !rc && j < cols; j++)
        xs[j] = p->x[j] * p->x_scale;
    for (size_t i = 0; !rc && i < rows; i += (size_t)p->every, n++) {
        for (size_t j = 0; j < cols; j++)
            ys[i * cols + j] = p->y_scale * (p->transpose ? p->y[j * rows + i] : p->y[i * cols + j]);
        if (p->row)
            snprintf(labels[n], sizeof labels[n], p->label, p->row[i] * p->row_scale);
        else
            snprintf(labels[n], sizeof labels[n], "%s", p->label);
        s[n] = (gc_series){xs, ys + i * cols, cols, labels[n]};
    }
    char out[4096];
    snprintf(out, sizeof out, "%s/%s", dir, p->png);
    rc = rc || gc_plot(out, &p->style, s, n, e);
    free(s), free(xs), free(ys), free(labels);
    return rc ? -1 : 0;
}

#define N_PLOTS 7

static const gc_plot_style READ = {"read: charge per cell and read (per pulse level)",
                                   "stored voltage (V)", "charge (fC)", 0, 0, 0, 0};
static const gc_plot_style DC = {"read: DC cell current into the bit line (per V_in)",
                                 "stored voltage (V)", "current (uA)", 0, 0, 0, 0};
static const gc_plot_style LEAK = {"leak: storage voltage while holding", "time (ms)",
                                   "V_store (V)", 0, 0, 0, 0};
static const gc_plot_style ILEAK = {"leak: current leaving the storage node", "V_store (V)",
                                    "I_leak (fA)", 0, 0, 0, 0};
static const gc_plot_style WRITE = {"write: stored voltage per DAC level", "DAC level",
                                    "V_stored (V)", 0, 0, 1, 0};
static const gc_plot_style C2P = {"c2p: output pulse width vs charge", "charge (pC)",
                                  "pulse (ns)", 0, 0, 0, 0};
static const gc_plot_style RO = {"readout: signed pulse width vs charge", "charge (pC)",
                                 "signed pulse (ns)", 0, 0, 0, 0};

/* The plots of c in drawing order; n_rows = 0 marks a sweep the file does not hold. */
static void plot_specs(const calib_curves *c, plot_spec p[N_PLOTS])
{
    plot_spec all[N_PLOTS] = {
        {.png = "read.png", .x = c->v_store, .n_x = c->n_v, .y = c->charge, .y_scale = 1e15,
         .row = c->pulse_s, .n_rows = c->n_p, .row_scale = 1e9, .label = "%.1f ns",
         .style = READ},
        {.png = "read_dc.png", .x = c->dc_v, .n_x = c->n_dc, .y = c->dc_i, .y_scale = 1e6,
         .transpose = 1, .every = 4, .row = c->vin, .n_rows = c->n_vin, .row_scale = 1,
         .label = "V_in = %.2f V", .style = DC},
        {.png = "leak.png", .x = c->t, .n_x = c->n_t, .x_scale = 1e3, .y = c->vt,
         .row = c->v0, .n_rows = c->n_v0, .row_scale = 1, .label = "V0 = %.2f V",
         .style = LEAK},
        {.png = "leak_current.png", .x = c->leak_v, .n_x = c->n_leak, .y = c->leak_i,
         .y_scale = 1e15, .n_rows = !c->default_leak, .label = "I_leak", .style = ILEAK},
        {.png = "write.png", .x = c->w_level, .n_x = c->n_w, .y = c->w_stored,
         .n_rows = !c->default_write, .label = "stored", .style = WRITE},
        {.png = "c2p.png", .x = c->c2p_q, .n_x = c->n_c2p, .x_scale = 1e12, .y = c->c2p_p,
         .y_scale = 1e9, .n_rows = !c->default_c2p, .label = "pulse", .style = C2P},
        {.png = "readout.png", .x = c->ro_q, .n_x = c->n_ro, .x_scale = 1e12, .y = c->ro_p,
         .y_scale = 1e9, .n_rows = !c->default_readout, .label = "signed pulse", .style = RO},
    };
    for (int i = 0; i < N_PLOTS; i++) {
        p[i] = all[i];
        p[i].x_scale = p[i].x_scale ? p[i].x_scale : 1;
        p[i].y_scale = p[i].y_scale ? p[i].y_scale : 1;
        p[i].every = p[i].every ? p[i].every : 1;
    }
}

/* Draws every sweep the file holds into dir; skipped gets the names of the others. */
static int plot_all(const char *path, const char *dir, char *skipped, size_t n, gc_err *e)
{
    calib_curves *c = NULL;
    plot_spec p[N_PLOTS];
    if (calib_curves_load(path, &c, e))
        return -1;
    plot_specs(c, p);
    int rc = 0;
    skipped[0] = 0;
    for (int i = 0; i < N_PLOTS && !rc; i++) {
        if (p[i].n_rows > 0)
            rc = plot_one(dir, &p[i], e);
        else
            snprintf(skipped + strlen(skipped), n - strlen(skipped), "%s%s",
                     skipped[0] ? ", " : "", p[i].png);
    }
    calib_curves_free(c);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: gcsim plot curves.h5 --out DIR\n\n"
                 "Writes one PNG per sweep (read, read_dc, leak, leak_current, write, c2p,\n"
                 "readout) into DIR; sweeps an imported file does not hold are skipped.\n");
}

int cmd_plot(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'o') {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
        out = optarg;
    }
    if (optind != argc - 1 || !out) {
        fprintf(stderr, "usage: gcsim plot curves.h5 --out DIR\n");
        return 2;
    }
    gc_err e = {{0}};
    char skipped[256];
    if (gc_mkdir_p(out, &e) || plot_all(argv[optind], out, skipped, sizeof skipped, &e)) {
        fprintf(stderr, "gcsim plot: %s\n", e.msg);
        return 1;
    }
    if (skipped[0])
        fprintf(stderr, "gcsim plot: PNGs written to %s (not in the file: %s)\n", out, skipped);
    else
        fprintf(stderr, "gcsim plot: PNGs written to %s\n", out);
    return 0;
}
