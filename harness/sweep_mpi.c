/* sweep_mpi: gcsim sweep spread over MPI ranks (Open MPI; built only when meson finds MPI).
 *
 * Rank 0 hands out points one at a time, in the file's order, to whichever rank asks; its own
 * main thread does only that (the one thread that calls MPI), while a second thread of rank 0
 * takes points from the same counter and runs them, so every rank works. A step's result
 * depends only on its inputs, and a step two ranks happen to run at once is kept once (the
 * engine renames the first into place), so the table equals the serial run's bit for bit.
 * Rank 0 writes the table at the end, from the cache; points a dead or failed rank left
 * undone are named, and a rerun (serial or MPI) runs only their missing steps. */
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_idle.h"
#include "sweep.h"

enum { TAG_ASK = 1, TAG_POINT = 2 };

typedef struct {
    sweep_session *s;
    pthread_mutex_t lock;
    int next, n;
    int failed;     /* points that failed here or in a rank */
} dispatch;

static int take(dispatch *d)
{
    pthread_mutex_lock(&d->lock);
    int p = d->next < d->n ? d->next++ : -1;
    pthread_mutex_unlock(&d->lock);
    return p;
}

/* Rank 0's worker thread: runs points until none is left (no MPI calls here). */
static void *local_worker(void *arg)
{
    dispatch *d = arg;
    for (int p; (p = take(d)) >= 0;) {
        gc_err e;
        if (sweep_point(d->s, p, &e)) {
            fprintf(stderr, "gcsim sweep: rank 0, point %d: %s\n", p, e.msg);
            pthread_mutex_lock(&d->lock);
            d->failed++;
            pthread_mutex_unlock(&d->lock);
        }
    }
    return NULL;
}

/* Rank 0's main thread: answers every other rank's requests until each got "no more". */
static void serve(dispatch *d, int n_ranks)
{
    int stopped = 0;
    while (stopped < n_ranks - 1) {
        int status;
        MPI_Status st;
        MPI_Request req;
        MPI_Irecv(&status, 1, MPI_INT, MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &req);
        mpi_wait_idle(&req, &st);
        if (status) {
            pthread_mutex_lock(&d->lock);
            d->failed++;
            pthread_mutex_unlock(&d->lock);
        }
        int p = take(d);
        stopped += p < 0;
        MPI_Send(&p, 1, MPI_INT, st.MPI_SOURCE, TAG_POINT, MPI_COMM_WORLD);
    }
}

/* Any other rank: asks for a point (saying whether the last one failed) until told to stop. */
static void work(sweep_session *s, int rank)
{
    int status = 0;
    for (;;) {
        int p;
        MPI_Request req;
        MPI_Send(&status, 1, MPI_INT, 0, TAG_ASK, MPI_COMM_WORLD);
        MPI_Irecv(&p, 1, MPI_INT, 0, TAG_POINT, MPI_COMM_WORLD, &req);
        mpi_wait_idle(&req, MPI_STATUS_IGNORE);
        if (p < 0)
            return;
        gc_err e;
        status = sweep_point(s, p, &e) != 0;
        if (status)
            fprintf(stderr, "gcsim sweep: rank %d, point %d: %s\n", rank, p, e.msg);
    }
}

/* Rank 0 writes the table and names the points left undone. */
static int finish(sweep_session *s, int n, gc_err *e)
{
    int *missing = calloc((size_t)n + 1, sizeof *missing);
    if (!missing)
        return gc_fail(e, "out of memory");
    int rc = sweep_table(s, n, missing, e);
    if (!rc && missing[0]) {
        char list[512] = "";
        for (int i = 1; i <= missing[0] && strlen(list) < sizeof list - 16; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", i > 1 ? ", " : "",
                     missing[i]);
        rc = gc_fail(e, "%d point(s) not done (%s): run the sweep again to do only those",
                     missing[0], list);
    }
    free(missing);
    return rc;
}

int sweep_run_mpi(const sweep_opts *o, sweep_result *r, gc_err *e)
{
    int rank, n_ranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n_ranks);
    sweep_session *s = NULL;
    int rc = sweep_open(o, rank == 0, &s, e), all;
    MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD); /* -1 if any failed */
    if (all) {
        sweep_close(s, r);
        return rc ? -1 : gc_fail(e, "another rank could not open the sweep");
    }
    int n = sweep_point_count(s);
    if (rank == 0) {
        dispatch d = {s, PTHREAD_MUTEX_INITIALIZER, 0, n, 0};
        pthread_t t;
        int threaded = !pthread_create(&t, NULL, local_worker, &d);
        serve(&d, n_ranks);
        if (threaded)
            pthread_join(t, NULL);
        else
            local_worker(&d);
        rc = finish(s, n, e);
    } else {
        work(s, rank);
    }
    /* a rank out of points waits here, idle, rather than spinning in MPI_Finalize beside
     * rank 0's last point */
    mpi_barrier_idle();
    sweep_close(s, r);
    return rc;
}
