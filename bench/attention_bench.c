/* Times every attention variant on one GPT-2-sized layer: T tokens, H heads of dimension D
 * (default T=1024, H=12, D=64), parallel mode, best of N runs, and prints the ratios to
 * softmax. Used by bench/attention_vs_torch.py, which adds a PyTorch run of the same
 * paper-cubic formulas; runnable by hand:
 *   attention_bench [--T n] [--heads n] [--D n] [--reps n] [--cell cell.h5] [--save DIR]
 *                   [--only VARIANT]
 * --save writes q, k, v and the paper-cubic output as .npy so the PyTorch run can check it
 * computes the same thing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attention.h"

typedef struct {
    int T, H, D, reps;
    const char *cell, *save, *only;
    double decomp_tol; /* calibrated: attn_config.decomp_rel_tol (0: the library default) */
} bench_args;

static int parse(int argc, char **argv, bench_args *a)
{
    *a = (bench_args){1024, 12, 64, 5, NULL, NULL, NULL, 0};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--T"))
            a->T = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--heads"))
            a->H = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--D"))
            a->D = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps"))
            a->reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--cell"))
            a->cell = argv[i + 1];
        else if (!strcmp(argv[i], "--save"))
            a->save = argv[i + 1];
        else if (!strcmp(argv[i], "--decomp-tol"))
            a->decomp_tol = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--only")) /* one variant, for profiling */
            a->only = argv[i + 1];
        else
            return -1;
    }
    return a->T > 0 && a->H > 0 && a->D > 0 && a->reps > 0 ? 0 : -1;
}

/* Process CPU seconds (all threads): less sensitive than wall time to a busy machine. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* One timed call; returns wall seconds, *cpu gets CPU seconds. */
static double time_once(attn_plan *p, const bench_args *a, const float *q, const float *k,
                        const float *v, float *out, double *cpu)
{
    gc_err e;
    double t0 = gc_now(), c0 = cpu_now();
    if (attn_forward_parallel(p, q, k, v, a->H, a->T, a->D, out, NULL, NULL, &e)) {
        fprintf(stderr, "attention_bench: %s\n", e.msg);
        exit(1);
    }
    *cpu = cpu_now() - c0;
    return gc_now() - t0;
}

static void save(const bench_args *a, const char *name, const float *x, int last)
{
    char path[4096];
    size_t shape[3] = {(size_t)a->H, (size_t)a->T, (size_t)last};
    gc_err e;
    snprintf(path, sizeof path, "%s/%s.npy", a->save, name);
    if (gc_mkdir_p(a->save, &e) || gc_npy_write(path, GC_NPY_F32, 3, shape, x, &e))
        fprintf(stderr, "attention_bench: %s\n", e.msg);
}

/* The cell's own fit error (gcsim fit's held-out residual of the read charge table), to
 * read beside the decomposition error: both are fractions of the table's full scale. */
static void print_fit_error(const char *path)
{
    gc_err e;
    double max_pct, rms_pct;
    hid_t f = gc_h5_open_read(path, &e);
    if (f < 0)
        return;
    if (!gc_h5_read_attr_double(f, "read", "table_heldout_max_pct_fs", &max_pct, path, &e) &&
        !gc_h5_read_attr_double(f, "read", "table_heldout_rms_pct_fs", &rms_pct, path, &e))
        printf("; fit error (read table, held out) max %.1e rms %.1e", max_pct / 100,
               rms_pct / 100);
    H5Fclose(f);
}

int main(int argc, char **argv)
{
    bench_args a;
    if (parse(argc, argv, &a)) {
        fprintf(stderr, "usage: attention_bench [--T n] [--heads n] [--D n] [--reps n] "
                        "[--cell cell.h5] [--decomp-tol X] [--save DIR] [--only VARIANT]\n");
        return 2;
    }
    size_t n = (size_t)a.H * a.T * a.D;
    float *q = malloc(n * sizeof *q), *k = malloc(n * sizeof *k), *v = malloc(n * sizeof *v);
    float *out = malloc(n * sizeof *out);
    srand(1);
    for (size_t i = 0; i < n; i++) {
        q[i] = (float)rand() / RAND_MAX;
        k[i] = 0.9f * rand() / RAND_MAX;
        v[i] = 0.9f * rand() / RAND_MAX;
    }
    cell_model *preset, *file = NULL;
    gc_err e;
    if (cell_model_preset("paper-cubic", &preset, &e) ||
        (a.cell && cell_model_load(a.cell, &file, &e))) {
        fprintf(stderr, "attention_bench: %s\n", e.msg);
        return 1;
    }
    printf("attention benchmark: T=%d heads=%d D=%d, best of %d, parallel mode\n", a.T, a.H,
           a.D, a.reps);
    /* The variants take turns within each repetition, so a busy machine slows all of them
     * alike, and each keeps its best time: the ratios stay meaningful on a shared box. */
    const attn_variant_type *const vs[] = {&attn_softmax,     &attn_softmax_swa,
                                           &attn_paper_linear, &attn_paper_cubic,
                                           &attn_calibrated,  &attn_calibrated};
    int nv = file ? 6 : 5;
    attn_plan *plans[6];
    double t[6], cpu[6];
    for (int i = 0; i < nv; i++) {
        attn_config c;
        attn_config_default(&c, vs[i]);
        c.cell = i == 5 ? file : preset;
        c.decomp_rel_tol = a.decomp_tol;
        if (attn_plan_alloc(&c, a.D, a.T, &plans[i], &e)) {
            fprintf(stderr, "attention_bench: %s\n", e.msg);
            return 1;
        }
        t[i] = cpu[i] = INFINITY;
    }
    for (int r = 0; r <= a.reps; r++)
        for (int i = 0; i < nv; i++) {
            if (a.only && strcmp(a.only, vs[i]->name))
                continue;
            double c, w = time_once(plans[i], &a, q, k, v, out, &c);
            if (r > 0) { /* the first round warms up */
                t[i] = fmin(t[i], w);
                cpu[i] = fmin(cpu[i], c);
            }
        }
    for (int i = 0; i < nv; i++) {
        if (a.only && strcmp(a.only, vs[i]->name))
            continue;
        printf("%-14s %-28s %9.3f ms  x%.2f softmax  (cpu %8.3f ms x%.2f)",
               vs[i]->name,
               i == 4 ? "(cell: paper-cubic preset)" : i == 5 ? a.cell : "", t[i] * 1e3,
               t[i] / t[0], cpu[i] * 1e3, cpu[i] / cpu[0]);
        if (vs[i] == &attn_calibrated)
            printf("  terms %d+%d, decomposition error %.1e/%.1e", attn_plan_rank(plans[i], 1),
                   attn_plan_rank(plans[i], 2), attn_plan_decomp_error(plans[i], 1),
                   attn_plan_decomp_error(plans[i], 2));
        if (i == 5)
            print_fit_error(a.cell);
        printf("\n");
    }
    if (a.save) {
        double c;
        time_once(plans[3], &a, q, k, v, out, &c);
        save(&a, "q", q, a.D);
        save(&a, "k", k, a.D);
        save(&a, "v", v, a.D);
        save(&a, "out", out, a.D);
    }
    if (!a.only) { /* a profiling run of one variant has no ratios */
        printf("RESULT softmax_ms %.4f paper_cubic_ms %.4f calibrated_ms %.4f cpu_ms %.4f "
               "%.4f %.4f\n", t[0] * 1e3, t[3] * 1e3, t[4] * 1e3, cpu[0] * 1e3, cpu[3] * 1e3,
               cpu[4] * 1e3);
        printf("ratio paper-cubic/softmax %.2f wall, %.2f cpu (target <= 2)\n", t[3] / t[0],
               cpu[3] / cpu[0]);
        printf("ratio calibrated/softmax  %.2f wall, %.2f cpu (target <= 3)\n", t[4] / t[0],
               cpu[4] / cpu[0]);
        if (file)
            printf("RESULT_CELL calibrated_cell_ms %.4f cpu_ms %.4f terms %d %d decomp_error "
                   "%.3g %.3g\n", t[5] * 1e3, cpu[5] * 1e3, attn_plan_rank(plans[5], 1),
                   attn_plan_rank(plans[5], 2), attn_plan_decomp_error(plans[5], 1),
                   attn_plan_decomp_error(plans[5], 2));
    }
    for (int i = 0; i < nv; i++)
        attn_plan_free(plans[i]);
    cell_model_free(preset);
    cell_model_free(file);
    free(q);
    free(k);
    free(v);
    free(out);
    return 0;
}
