/* ppl_mpi: the sliding-window perplexity spread over MPI ranks (built only with MPI).
 *
 * Windows cost the same, so each rank takes one contiguous shard (the split of --shard) and
 * no dispatcher is needed. Every rank sends its windows' nll to rank 0, which adds them in
 * window order as the serial run does: the same bits, not merely the same value to rounding. */
#include <mpi.h>
#include <stdlib.h>

#include "gpt2.h"
#include "mpi_idle.h"

int gpt2_ppl_mpi(gpt2_model *m, const uint32_t *ids, long n, const gpt2_ppl_opts *o,
                 gpt2_ppl_result *r, gc_err *e)
{
    int rank, n_ranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n_ranks);
    long n_windows = gpt2_ppl_windows(n, o);
    if (n_windows > 0x7fffffff)
        return gc_fail(e, "ppl: %ld windows are too many to gather over MPI", n_windows);
    gpt2_ppl_opts mine = *o;
    mine.shard = rank, mine.n_shards = n_ranks;
    long w0, w1;
    gpt2_ppl_shard_windows(n, &mine, &w0, &w1);
    mine.window_nll = malloc((size_t)(w1 - w0 + 1) * sizeof *mine.window_nll);
    int *counts = malloc((size_t)n_ranks * sizeof *counts);
    int *displs = malloc((size_t)n_ranks * sizeof *displs);
    double *all = rank == 0 ? malloc((size_t)n_windows * sizeof *all) : NULL;
    int rc = !mine.window_nll || !counts || !displs || (rank == 0 && !all)
                 ? gc_fail(e, "ppl: out of memory")
                 : gpt2_ppl(m, ids, n, &mine, r, e);
    mpi_barrier_idle(); /* a rank done early sleeps while the others score */
    int failed;
    MPI_Allreduce(&rc, &failed, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD); /* -1 if any failed */
    if (failed && !rc)
        rc = gc_fail(e, "ppl: another rank failed");
    if (!failed) {
        for (int k = 0; k < n_ranks; k++) {
            gpt2_ppl_opts part = *o;
            part.shard = k, part.n_shards = n_ranks;
            long a, b;
            gpt2_ppl_shard_windows(n, &part, &a, &b);
            counts[k] = (int)(b - a), displs[k] = (int)a;
        }
        MPI_Gatherv(mine.window_nll, (int)(w1 - w0), MPI_DOUBLE, all, counts, displs,
                    MPI_DOUBLE, 0, MPI_COMM_WORLD);
        long scored = r->scored, windows = r->windows;
        double seconds = r->seconds;
        MPI_Reduce(&scored, &r->scored, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
        MPI_Reduce(&windows, &r->windows, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
        MPI_Reduce(&seconds, &r->seconds, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
        if (rank == 0) {
            r->nll = 0;
            for (long w = 0; w < n_windows; w++)
                r->nll += all[w];
        } else {
            r->scored = scored, r->windows = windows, r->seconds = seconds;
        }
    }
    free(mine.window_nll), free(counts), free(displs), free(all);
    return rc;
}
