/* The cost of activity counting (attention.h, "Activity"): one GPT-2-sized layer (T tokens,
 * H heads of D) in parallel mode, and S streaming steps after a prefill of T tokens, each
 * timed with counting off and on in interleaved rounds (the order alternating), printing
 * the median of the per-round ratios on/off (a round is off, on, on, off). Target: at
 * most 1.05.
 *   activity_overhead [--T n] [--heads n] [--rounds n] [--steps n] [--cell cell.h5]
 * Without --cell, the calibrated variant runs on the paper-cubic preset cell. One thread:
 * counting adds work per head, and heads run one per thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <omp.h>

#include "attention.h"

enum { D = 64 };

/* CPU seconds of the calling thread: the run is held to one thread (BLAS included), so this
 * is all its work, and neither idle BLAS threads nor other processes count. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void die(const gc_err *e)
{
    fprintf(stderr, "activity_overhead: %s\n", e->msg);
    exit(1);
}

typedef struct {
    attn_plan *p;
    attn_stream *st;
    attn_activity *act;
    const float *q, *k, *v;
    float *out;
    int T, H, steps;
} bench_case;

/* One parallel call, counting on or off: CPU seconds. */
static double time_parallel(bench_case *c, int on)
{
    gc_err e;
    if (attn_plan_set_activity(c->p, on ? c->act : NULL, 0, &e))
        die(&e);
    double t0 = cpu_now();
    if (attn_forward_parallel(c->p, c->q, c->k, c->v, c->H, c->T, D, c->out, NULL, NULL, &e))
        die(&e);
    return cpu_now() - t0;
}

/* steps streaming steps after a prefill of T tokens (not timed). */
static double time_stream(bench_case *c, int on)
{
    gc_err e;
    attn_stream_reset(c->st);
    if (attn_plan_set_activity(c->p, NULL, 0, &e) ||
        attn_stream_append(c->st, c->k, c->v, c->T - c->steps, &e) ||
        attn_plan_set_activity(c->p, on ? c->act : NULL, 0, &e))
        die(&e);
    float *qs = malloc((size_t)3 * c->H * D * sizeof *qs), *ks = qs + c->H * D,
          *vs = ks + c->H * D;
    double t0 = cpu_now();
    for (int s = 0; s < c->steps; s++) {
        int t = c->T - c->steps + s;
        for (int h = 0; h < c->H; h++) {
            size_t at = ((size_t)h * c->T + t) * D;
            memcpy(qs + h * D, c->q + at, D * sizeof *qs);
            memcpy(ks + h * D, c->k + at, D * sizeof *ks);
            memcpy(vs + h * D, c->v + at, D * sizeof *vs);
        }
        if (attn_stream_step(c->st, qs, ks, vs, c->out, NULL, NULL, &e))
            die(&e);
    }
    double dt = cpu_now() - t0;
    free(qs);
    return dt;
}

static double median_ratio(bench_case *c, double (*f)(bench_case *, int), int rounds,
                           double *t_off)
{
    double *r = malloc((size_t)rounds * sizeof *r), *off = malloc((size_t)rounds * sizeof *off);
    f(c, 0); /* warm up */
    f(c, 1);
    for (int i = 0; i < rounds; i++) {
        /* off, on, on, off: a call's place in the round weighs the same on both sides */
        double a = f(c, 0), b = f(c, 1);
        b += f(c, 1);
        a += f(c, 0);
        r[i] = b / a;
        off[i] = a / 2;
    }
    qsort(r, (size_t)rounds, sizeof *r, cmp);
    qsort(off, (size_t)rounds, sizeof *off, cmp);
    double m = r[rounds / 2];
    *t_off = off[rounds / 2];
    free(r);
    free(off);
    return m;
}

int main(int argc, char **argv)
{
    int T = 1024, H = 12, rounds = 7, steps = 64;
    const char *cell_file = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--T"))
            T = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--heads"))
            H = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds"))
            rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps"))
            steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--cell"))
            cell_file = argv[i + 1];
        else {
            fprintf(stderr, "activity_overhead: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (T < 2 || H < 1 || rounds < 1 || steps < 1 || steps >= T) {
        fprintf(stderr, "activity_overhead: need T >= 2, heads, rounds >= 1, 1 <= steps < T\n");
        return 2;
    }
    omp_set_num_threads(1);
    openblas_set_num_threads(1);
    size_t n = (size_t)H * T * D;
    float *q = malloc(n * sizeof *q), *k = malloc(n * sizeof *k), *v = malloc(n * sizeof *v),
          *out = malloc(n * sizeof *out);
    srand(1);
    for (size_t i = 0; i < n; i++) {
        q[i] = (float)rand() / RAND_MAX;
        k[i] = 0.9f * rand() / RAND_MAX;
        v[i] = 0.9f * rand() / RAND_MAX;
    }
    const attn_variant_type *vars[2] = {&attn_paper_cubic, &attn_calibrated};
    printf("activity counting overhead, T=%d, %d heads of %d, %d rounds (median of on/off)\n",
           T, H, D, rounds);
    int bad = 0;
    for (int vi = 0; vi < 2; vi++) {
        gc_err e;
        attn_config c;
        cell_model *cell = NULL;
        attn_config_default(&c, vars[vi]);
        if (vi == 1) {
            if (attn_config_set(&c, cell_file ? "cell_file" : "cell_preset",
                                cell_file ? cell_file : "paper-cubic", &e) ||
                attn_config_load_cell(&c, &cell, &e))
                die(&e);
            c.cell = cell;
            c.layers = 12;
        }
        bench_case bc = {0};
        if (attn_plan_alloc(&c, D, T, &bc.p, &e) || attn_stream_alloc(bc.p, H, &bc.st, &e) ||
            attn_activity_alloc(attn_plan_config(bc.p), 1, H, &bc.act, &e))
            die(&e);
        bc.q = q, bc.k = k, bc.v = v, bc.out = out, bc.T = T, bc.H = H, bc.steps = steps;
        double tp, ts;
        double rp = median_ratio(&bc, time_parallel, rounds, &tp);
        double rs = median_ratio(&bc, time_stream, rounds, &ts);
        const char *name = vi ? (cell_file ? cell_file : "calibrated (paper-cubic cell)")
                              : "paper-cubic";
        printf("%-34s parallel %.3f (off %.3f s)   streaming %.3f (off %.3f s, %d steps)\n",
               name, rp, tp, rs, ts, steps);
        bad |= rp > 1.05 || rs > 1.05;
        attn_activity_free(bc.act);
        attn_stream_free(bc.st);
        attn_plan_free(bc.p);
        cell_model_free(cell);
    }
    printf("%s\n", bad ? "ABOVE the 5 % target" : "within the 5 % target");
    free(q), free(k), free(v), free(out);
    return 0;
}
