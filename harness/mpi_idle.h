/* Waiting for other ranks without spinning (built only with MPI). Open MPI's blocking calls
 * poll at full speed, so a rank that waits holds a core which another rank's work (its
 * threads, its SPICE workers) could use: on a machine with as many cores as ranks that
 * halves the speed-up. The work between messages takes seconds; a 2 ms poll costs nothing. */
#ifndef GCSIM_MPI_IDLE_H
#define GCSIM_MPI_IDLE_H

#include <mpi.h>
#include <time.h>

/* Completes req, sleeping between tests. */
static inline void mpi_wait_idle(MPI_Request *req, MPI_Status *st)
{
    const struct timespec nap = {0, 2000000};
    for (int done = 0;;) {
        MPI_Test(req, &done, st);
        if (done)
            return;
        nanosleep(&nap, NULL);
    }
}

/* A barrier that waits asleep. */
static inline void mpi_barrier_idle(void)
{
    MPI_Request req;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    mpi_wait_idle(&req, MPI_STATUS_IGNORE);
}

#endif
