/* gcsim plot: one PNG per sweep of a curves.h5. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "common.h"

typedef struct {
    hid_t f;
    const char *path, *dir;
    gc_err *e;
} plot_ctx;

/* Reads name; rank and dims must match what the plot expects. */
static double *get(plot_ctx *p, const char *name, int rank, size_t *dims)
{
    double *d = NULL;
    int r;
    size_t got[8];
    if (gc_h5_read(p->f, name, &d, &r, got, p->path, p->e))
        return NULL;
    if (r != rank) {
        free(d);
        gc_fail(p->e, "%s: dataset %s has rank %d, expected %d", p->path, name, r, rank);
        return NULL;
    }
    memcpy(dims, got, (size_t)rank * sizeof *dims);
    return d;
}

/* One curve per row of a 2-d dataset against a 1-d axis; with transpose, the dataset is
 * (axis points x rows). every > 1 keeps every n-th row. */
static int plot_rows(plot_ctx *p, const char *png, const char *axis, const char *data,
                     const char *row_axis, const char *row_fmt, double row_scale, double xs,
                     double ys, int transpose, int every, const gc_plot_style *st)
{
    size_t dx[1], dd[2], dr[1];
    double *x = get(p, axis, 1, dx), *y = x ? get(p, data, 2, dd) : NULL;
    double *r = y ? get(p, row_axis, 1, dr) : NULL;
    size_t rows = transpose ? dd[1] : dd[0], cols = transpose ? dd[0] : dd[1];
    int rc = -1;
    if (r && cols == dx[0] && rows == dr[0]) {
        gc_series *s = calloc(rows, sizeof *s);
        double *xsc = malloc(cols * sizeof *xsc), *ysc = malloc(rows * cols * sizeof *ysc);
        char (*labels)[48] = malloc(rows * sizeof *labels);
        int n = 0;
        for (size_t j = 0; j < cols; j++)
            xsc[j] = x[j] * xs;
        for (size_t i = 0; i < rows; i += (size_t)every, n++) {
            for (size_t j = 0; j < cols; j++)
                ysc[i * cols + j] = ys * (transpose ? y[j * rows + i] : y[i * cols + j]);
            snprintf(labels[n], sizeof labels[n], row_fmt, r[i] * row_scale);
            s[n] = (gc_series){xsc, ysc + i * cols, cols, labels[n]};
        }
        char out[4096];
        snprintf(out, sizeof out, "%s/%s", p->dir, png);
        rc = gc_plot(out, st, s, n, p->e);
        free(s), free(xsc), free(ysc), free(labels);
    } else if (r) {
        gc_fail(p->e, "%s: %s does not match its axes", p->path, data);
    }
    free(x), free(y), free(r);
    return rc;
}

static int plot_1d(plot_ctx *p, const char *png, const char *axis, const char *data, double xs,
                   double ys, const char *label, const gc_plot_style *st)
{
    size_t dx[1], dy[1];
    double *x = get(p, axis, 1, dx), *y = x ? get(p, data, 1, dy) : NULL;
    int rc = -1;
    if (y && dx[0] == dy[0]) {
        for (size_t i = 0; i < dx[0]; i++)
            x[i] *= xs, y[i] *= ys;
        gc_series s = {x, y, dx[0], label};
        char out[4096];
        snprintf(out, sizeof out, "%s/%s", p->dir, png);
        rc = gc_plot(out, st, &s, 1, p->e);
    } else if (y) {
        gc_fail(p->e, "%s: %s does not match its axis", p->path, data);
    }
    free(x), free(y);
    return rc;
}

static int plot_all(plot_ctx *p)
{
    gc_plot_style read = {"read: charge per cell and read (per pulse level)", "stored voltage (V)",
                          "charge (fC)", 0, 0, 0, 0};
    gc_plot_style dc = {"read: DC cell current into the bit line (per V_in)", "stored voltage (V)",
                        "current (uA)", 0, 0, 0, 0};
    gc_plot_style leak = {"leak: storage voltage while holding", "time (ms)", "V_store (V)", 0, 0, 0, 0};
    gc_plot_style ileak = {"leak: current leaving the storage node", "V_store (V)", "I_leak (fA)", 0, 0, 0, 0};
    gc_plot_style wr = {"write: stored voltage per DAC level", "DAC level", "V_stored (V)", 0, 0, 1, 0};
    gc_plot_style c2p = {"c2p: output pulse width vs charge", "charge (pC)", "pulse (ns)", 0, 0, 0, 0};
    gc_plot_style ro = {"readout: signed pulse width vs charge", "charge (pC)", "signed pulse (ns)", 0, 0, 0, 0};
    return plot_rows(p, "read.png", "read/v_store", "read/charge", "read/pulse_width",
                     "%.1f ns", 1e9, 1, 1e15, 0, 1, &read) ||
           plot_rows(p, "read_dc.png", "read/dc_v_store", "read/dc_current", "read/v_in",
                     "V_in = %.2f V", 1, 1, 1e6, 1, 4, &dc) ||
           plot_rows(p, "leak.png", "leak/time", "leak/v_store", "leak/v0", "V0 = %.2f V", 1,
                     1e3, 1, 0, 1, &leak) ||
           plot_1d(p, "leak_current.png", "leak/dc_v", "leak/i_leak", 1, 1e15, "I_leak", &ileak) ||
           plot_1d(p, "write.png", "write/level", "write/v_stored", 1, 1, "stored", &wr) ||
           plot_1d(p, "c2p.png", "c2p/charge", "c2p/pulse_width", 1e12, 1e9, "pulse", &c2p) ||
           plot_1d(p, "readout.png", "readout/charge", "readout/pulse_signed", 1e12, 1e9,
                   "signed pulse", &ro);
}

int cmd_plot(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'o')
            out = optarg;
        else {
            FILE *f = c == 'h' ? stdout : stderr;
            fprintf(f, "usage: gcsim plot curves.h5 --out DIR\n\n"
                       "Writes one PNG per sweep (read, read_dc, leak, leak_current, write, "
                       "c2p, readout) into DIR.\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind != argc - 1 || !out) {
        fprintf(stderr, "usage: gcsim plot curves.h5 --out DIR\n");
        return 2;
    }
    gc_err e = {0};
    plot_ctx p = {.path = argv[optind], .dir = out, .e = &e};
    int rc = gc_mkdir_p(out, &e);
    if (!rc) {
        p.f = gc_h5_open_read(p.path, &e);
        rc = p.f < 0;
    }
    if (!rc) {
        rc = plot_all(&p);
        H5Fclose(p.f);
    }
    if (rc) {
        fprintf(stderr, "gcsim plot: %s\n", e.msg);
        return 1;
    }
    fprintf(stderr, "gcsim plot: PNGs written to %s\n", out);
    return 0;
}
