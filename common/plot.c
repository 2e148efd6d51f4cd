/* PNG plots through gnuplot: the series go into a data file and the commands into a script
 * beside the target, gnuplot draws them, and the PNG replaces its target atomically once it
 * is known to be whole. Every write is checked, so a full disk is reported as such. */
#include <errno.h>
#include <fcntl.h>
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

/* Closes f, which was written to path; -1 with the reason if any write failed. */
static int close_checked(FILE *f, const char *what, const char *png, gc_err *e)
{
    int failed = ferror(f), err = errno;
    if (fclose(f) != 0 && !failed) {
        failed = 1;
        err = errno;
    }
    return failed ? gc_fail(e, "%s: cannot write the %s: %s", png, what, strerror(err)) : 0;
}

static int write_data(const char *data, const gc_series *series, int n, const char *png,
                      gc_err *e)
{
    FILE *f = fopen(data, "w");
    if (!f)
        return gc_fail(e, "%s: cannot write the plot data: %s", png, strerror(errno));
    for (int k = 0; k < n; k++) {
        for (size_t i = 0; i < series[k].n; i++)
            fprintf(f, "%.9g %.9g\n", series[k].x[i], series[k].y[i]);
        fprintf(f, "\n\n");
    }
    return close_checked(f, "plot data", png, e);
}

static int write_script(const char *script, const char *data, const char *tmp_png,
                        const gc_plot_style *s, const gc_series *series, int n, const char *png,
                        gc_err *e)
{
    FILE *g = fopen(script, "w");
    if (!g)
        return gc_fail(e, "%s: cannot write the gnuplot script: %s", png, strerror(errno));
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
    if (s->histogram) {
        /* 16 distinct colours: stacked bars need more than gnuplot's 8 */
        static const char *palette[16] = {
            "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
            "#ff9da7", "#9c755f", "#bab0ac", "#1f3a93", "#8c564b", "#17becf", "#bcbd22",
            "#7f7f7f", "#d62728"};
        for (int k = 0; k < 16; k++)
            fprintf(g, "set linetype %d lc rgb \"%s\"\n", k + 1, palette[k]);
        fprintf(g, "set style fill solid 0.8 border -1\n");
    }
    fprintf(g, "plot ");
    for (int k = 0; k < n; k++) {
        fprintf(g, "%s", k ? ", " : "");
        quote(g, data);
        fprintf(g, " index %d using 1:2 with %s title ", k,
                s->histogram ? "boxes" : s->points ? "points pt 7 ps 0.5" : "lines lw 2");
        quote(g, series[k].label ? series[k].label : "");
    }
    fprintf(g, "\nset output\n");
    return close_checked(g, "gnuplot script", png, e);
}

/* Runs gnuplot on script; its first line on stderr goes to err. Returns the wait status, or
 * -1 if it could not be started. */
static int run_gnuplot(const char *script, char *err, size_t n)
{
    int fds[2];
    err[0] = 0;
    if (pipe(fds))
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t used = 0;
    char buf[512];
    ssize_t got;
    while ((got = read(fds[0], buf, sizeof buf)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            break;
        size_t take = (size_t)got < n - 1 - used ? (size_t)got : n - 1 - used;
        memcpy(err + used, buf, take);
        used += take;
    }
    close(fds[0]);
    err[used] = 0;
    for (char *p = err; *p; p++)
        if (*p == '\n' && p > err) {
            *p = 0; /* the first non-empty line */
            break;
        }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}

/* 1 if path holds a whole PNG (signature and the closing IEND chunk). */
static int png_complete(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60,
                                           0x82};
    unsigned char head[8], tail[12];
    FILE *f = fopen(path, "rb");
    int ok = f && fread(head, 1, 8, f) == 8 && !memcmp(head, sig, 8) &&
             fseek(f, -12, SEEK_END) == 0 && fread(tail, 1, 12, f) == 12 &&
             !memcmp(tail, iend, 12);
    if (f)
        fclose(f);
    return ok;
}

int gc_plot(const char *png, const gc_plot_style *s, const gc_series *series, int n, gc_err *e)
{
    char data[4096], script[4096], tmp_png[4096], err[256];
    if (gc_tmp_path_beside(png, data, sizeof data, e))
        return -1;
    if (gc_tmp_path_beside(png, script, sizeof script, e)) {
        unlink(data);
        return -1;
    }
    if (gc_tmp_path_beside(png, tmp_png, sizeof tmp_png, e)) {
        unlink(data);
        unlink(script);
        return -1;
    }
    int rc = write_data(data, series, n, png, e) ||
             write_script(script, data, tmp_png, s, series, n, png, e);
    int status = rc ? 0 : run_gnuplot(script, err, sizeof err);
    unlink(data);
    unlink(script);
    if (!rc && (status == -1 || (WIFEXITED(status) && WEXITSTATUS(status) == 127)))
        rc = gc_fail(e, "%s: cannot run gnuplot (is gnuplot installed and on PATH?)", png);
    else if (!rc && status != 0)
        rc = gc_fail(e, "%s: gnuplot failed: %s", png,
                     err[0] ? err : "no message (does it have the pngcairo terminal?)");
    else if (!rc && !png_complete(tmp_png))
        rc = gc_fail(e, "%s: gnuplot left an incomplete PNG (disk full or file size limit?)%s%s",
                     png, err[0] ? ": " : "", err);
    if (rc) {
        unlink(tmp_png);
        return -1;
    }
    return gc_commit_file(tmp_png, png, e);
}
