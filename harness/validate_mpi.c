/* validate_mpi: validate's SPICE simulations spread over MPI ranks (built only with MPI).
 *
 * Rank r runs jobs r, r + N, r + 2N, ... with its own workers (spice_run), then sends every
 * result to rank 0, which ends up with the whole batch as if it had run it alone: a job's
 * result depends only on its netlist, so what rank 0 computes from it is the serial run's.
 * The netlists are rank 0's: it sends each rank those of its jobs (a batch built from an
 * earlier batch's results, which only rank 0 holds, exists only there). */
#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_idle.h"
#include "validate.h"

enum { TAG_HEAD = 11, TAG_LEN = 12, TAG_VEC = 13, TAG_NET = 14 };

/* What travels besides the vectors. */
typedef struct {
    double seconds;
    int ok, attempts;
    char ngspice_version[32];
} head;

static void send_result(const spice_result *r, int n_vec)
{
    head h = {r->seconds, r->ok, r->attempts, {0}};
    memcpy(h.ngspice_version, r->ngspice_version, sizeof h.ngspice_version);
    MPI_Send(&h, (int)sizeof h, MPI_BYTE, 0, TAG_HEAD, MPI_COMM_WORLD);
    uint64_t *len = malloc((size_t)n_vec * sizeof *len);
    for (int v = 0; v < n_vec; v++)
        len[v] = len ? r->len[v] : 0;
    MPI_Send(len, len ? n_vec : 0, MPI_UINT64_T, 0, TAG_LEN, MPI_COMM_WORLD);
    for (int v = 0; len && v < n_vec; v++)
        MPI_Send(r->vec[v], (int)r->len[v], MPI_DOUBLE, 0, TAG_VEC, MPI_COMM_WORLD);
    free(len);
}

static int recv_result(spice_result *r, int n_vec, int from)
{
    head h;
    MPI_Recv(&h, (int)sizeof h, MPI_BYTE, from, TAG_HEAD, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    r->seconds = h.seconds, r->ok = h.ok, r->attempts = h.attempts;
    memcpy(r->ngspice_version, h.ngspice_version, sizeof r->ngspice_version);
    uint64_t *len = malloc((size_t)n_vec * sizeof *len);
    r->vec = calloc((size_t)n_vec, sizeof *r->vec);
    r->len = calloc((size_t)n_vec, sizeof *r->len);
    int got;
    MPI_Status st;
    MPI_Probe(from, TAG_LEN, MPI_COMM_WORLD, &st);
    MPI_Get_count(&st, MPI_UINT64_T, &got);
    uint64_t dummy;
    MPI_Recv(len ? (void *)len : &dummy, got, MPI_UINT64_T, from, TAG_LEN, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
    int oom = !len || !r->vec || !r->len || got != n_vec;
    for (int v = 0; v < got; v++) {
        MPI_Probe(from, TAG_VEC, MPI_COMM_WORLD, &st);
        int count;
        MPI_Get_count(&st, MPI_DOUBLE, &count);
        double *x = oom ? NULL : malloc(((size_t)count + 1) * sizeof *x);
        if (x) {
            r->vec[v] = x, r->len[v] = (size_t)count;
        } else {
            oom = 1;
            x = malloc(((size_t)count + 1) * sizeof *x); /* drain the message */
        }
        MPI_Recv(x, x ? count : 0, MPI_DOUBLE, from, TAG_VEC, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        if (oom)
            free(x);
    }
    free(len);
    return oom ? -1 : 0;
}

/* Rank 0 sends job k's netlist to the rank that runs it, which keeps it in *mine (malloc'd,
 * NULL if out of memory; the message is received either way). */
static void share_netlist(const spice_job *job, int owner, int rank, char **mine)
{
    if (rank == 0) {
        const char *s = job->netlist ? job->netlist : "";
        MPI_Send(s, (int)strlen(s) + 1, MPI_CHAR, owner, TAG_NET, MPI_COMM_WORLD);
        return;
    }
    MPI_Status st;
    int count;
    MPI_Probe(0, TAG_NET, MPI_COMM_WORLD, &st);
    MPI_Get_count(&st, MPI_CHAR, &count);
    char *s = malloc((size_t)count + 1), drain;
    MPI_Recv(s ? s : &drain, s ? count : 1, MPI_CHAR, 0, TAG_NET, MPI_COMM_WORLD,
             MPI_STATUS_IGNORE);
    if (mine)
        *mine = s;
    else
        free(s);
}

int validate_spice_run_mpi(const spice_job *jobs, int n, const spice_run_opts *opts, spice_result *res,
                  gc_err *e)
{
    int rank, n_ranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n_ranks);
    int mine = n / n_ranks + (rank < n % n_ranks);
    spice_job *my_jobs = malloc(((size_t)mine + 1) * sizeof *my_jobs);
    spice_result *my_res = calloc((size_t)mine + 1, sizeof *my_res);
    char **nets = calloc((size_t)mine + 1, sizeof *nets);
    int rc = my_jobs && my_res && nets ? 0 : gc_fail(e, "out of memory");
    for (int k = 0; k < n; k++) /* every rank takes part, even one out of memory */
        if (k % n_ranks && (rank == 0 || k % n_ranks == rank))
            share_netlist(&jobs[k], k % n_ranks, rank, nets ? &nets[k / n_ranks] : NULL);
    for (int i = 0; !rc && i < mine; i++) {
        my_jobs[i] = jobs[rank + i * n_ranks];
        if (rank)
            rc = (my_jobs[i].netlist = nets[i]) ? 0 : gc_fail(e, "out of memory");
    }
    rc = rc || (mine && spice_run(my_jobs, mine, opts, my_res, e));
    mpi_barrier_idle(); /* a rank done early sleeps while the others simulate */
    /* a failure anywhere fails every rank; rank 0 says the first failing rank's reason */
    char (*msgs)[GC_ERR_LEN] = rank == 0 ? calloc((size_t)n_ranks, GC_ERR_LEN) : NULL;
    char mine_msg[GC_ERR_LEN] = "";
    if (rc)
        snprintf(mine_msg, sizeof mine_msg, "%s", e->msg);
    MPI_Gather(mine_msg, GC_ERR_LEN, MPI_CHAR, msgs, GC_ERR_LEN, MPI_CHAR, 0, MPI_COMM_WORLD);
    int failed;
    MPI_Allreduce(&rc, &failed, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (failed && rank == 0)
        for (int r = 0; msgs && r < n_ranks; r++)
            if (msgs[r][0]) {
                rc = gc_fail(e, "%s", msgs[r]);
                break;
            }
    if (failed && !rc)
        rc = gc_fail(e, "another rank's simulation failed");
    int recv_failed = 0;
    if (!failed) {
        for (int k = 0; k < n; k++) {
            int owner = k % n_ranks, n_vec = jobs[k].n_vectors;
            if (owner == 0 && rank == 0)
                res[k] = my_res[k / n_ranks], my_res[k / n_ranks] = (spice_result){0};
            else if (owner == rank)
                send_result(&my_res[k / n_ranks], n_vec);
            else if (rank == 0 && recv_result(&res[k], n_vec, owner))
                recv_failed = 1;
        }
        if (recv_failed)
            rc = gc_fail(e, "out of memory gathering the simulations' results");
    }
    for (int i = 0; my_res && i < mine; i++)
        if (my_res[i].vec)
            spice_result_free(&my_res[i], my_jobs[i].n_vectors);
    for (int i = 0; nets && i < mine; i++)
        free(nets[i]);
    free(nets), free(my_jobs), free(my_res), free(msgs);
    return rc;
}
