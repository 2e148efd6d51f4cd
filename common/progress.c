/* A progress line on stderr (done/total, rate, time left), shown only on a terminal. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

double gc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

void gc_progress_start(gc_progress *p, const char *what, long total)
{
    p->what = what;
    p->total = total;
    p->t0 = p->last = gc_now();
    p->tty = isatty(STDERR_FILENO);
}

void gc_progress_update(gc_progress *p, long done)
{
    double t = gc_now();
    if (!p->tty || (t - p->last < 0.2 && done < p->total))
        return;
    p->last = t;
    double rate = done / (t - p->t0 + 1e-9);
    double left = rate > 0 ? (p->total - done) / rate : 0;
    fprintf(stderr, "\r%s: %ld/%ld  %.1f/s  %.0f s left   ", p->what, done, p->total, rate, left);
    fflush(stderr);
}

void gc_progress_end(gc_progress *p)
{
    if (p->tty)
        fprintf(stderr, "\r%s: done in %.1f s%30s\n", p->what, gc_now() - p->t0, "");
}
