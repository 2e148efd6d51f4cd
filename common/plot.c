/* PNG plots through gnuplot: each series goes into a data block, gnuplot draws them, and
 * the PNG replaces its target atomically. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static void quote(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int gc_plot(const char *png, const gc_plot_style *s, const gc_series *series, int n, gc_err *e)
{
    char data[4096], tmp_png[4096];
    if (gc_tmp_path_beside(png, data, sizeof data, e) ||
        gc_tmp_path_beside(png, tmp_png, sizeof tmp_png, e))
        return -1;
    FILE *f = fopen(data, "w");
    if (!f) {
        unlink(tmp_png);
        return gc_fail(e, "%s: cannot write plot data: %s", data, strerror(errno));
    }
    for (int k = 0; k < n; k++) {
        for (size_t i = 0; i < series[k].n; i++)
            fprintf(f, "%.9g %.9g\n", series[k].x[i], series[k].y[i]);
        fprintf(f, "\n\n");
    }
    fclose(f);
    FILE *g = popen("gnuplot 2>/dev/null", "w");
    if (!g) {
        unlink(data);
        unlink(tmp_png);
        return gc_fail(e, "%s: cannot run gnuplot", png);
    }
    fprintf(g, "set terminal pngcairo size 900,600 noenhanced\nset output ");
    quote(g, tmp_png);
    fprintf(g, "\nset title ");
    quote(g, s->title);
    fprintf(g, "\nset xlabel ");
    quote(g, s->xlabel);
    fprintf(g, "\nset ylabel ");
    quote(g, s->ylabel);
    fprintf(g, "\nset grid\nset key outside right\n%s%s", s->logx ? "set logscale x\n" : "",
            s->logy ? "set logscale y\n" : "");
    if (s->histogram)
        fprintf(g, "set style fill solid 0.5\n");
    fprintf(g, "plot ");
    for (int k = 0; k < n; k++) {
        fprintf(g, "%s", k ? ", " : "");
        quote(g, data);
        fprintf(g, " index %d using 1:2 with %s title ", k,
                s->histogram ? "boxes" : s->points ? "points pt 7 ps 0.5" : "lines lw 2");
        quote(g, series[k].label ? series[k].label : "");
    }
    fprintf(g, "\n");
    int status = pclose(g);
    unlink(data);
    if (status != 0 || access(tmp_png, R_OK) != 0) {
        unlink(tmp_png);
        return gc_fail(e, "%s: gnuplot failed (is gnuplot with the pngcairo terminal "
                          "installed?)", png);
    }
    return gc_commit_file(tmp_png, png, e);
}
