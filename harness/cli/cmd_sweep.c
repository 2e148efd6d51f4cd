/* gcsim sweep: a design space through characterize -> fit -> adapt -> ppl (harness/sweep.h);
 * each step runs as this same executable's subcommand in a child process. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "sweep.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gcsim sweep FILE --out DIR\n\n"
            "Runs every point of the sweep file FILE (README: Sweeps) through characterize,\n"
            "fit, adapt and ppl, each step cached in DIR/cache by a hash of its inputs, and\n"
            "writes DIR/table.json and DIR/table.csv after each point. A rerun runs nothing; a\n"
            "killed run resumes where it stopped; `gcsim report --results DIR` shows it.\n"
            "Under mpirun (or srun), rank 0 hands points to the ranks as they ask; the table is\n"
            "the serial run's, bit for bit.\n");
}

#ifdef GCSIM_MPI
#include <mpi.h>
#endif

/* argv[0] is the subcommand: exec this program with it, output to log. */
static int run_gcsim(void *ctx, char *const argv[], const char *log, int threads, gc_err *e)
{
    (void)ctx;
    char *args[72];
    int n = 0;
    args[n++] = "gcsim";
    for (; argv[n - 1] && n < 71; n++)
        args[n] = argv[n - 1];
    args[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return gc_fail(e, "cannot start %s: fork failed", argv[0]);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        char n[16];
        snprintf(n, sizeof n, "%d", threads);
        setenv("OMP_NUM_THREADS", n, 1);
        cli_leave_mpirun(); /* a step is a serial run, also when this sweep is a rank */
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv("/proc/self/exe", args);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    return gc_fail(e, "gcsim %s failed (%s %d)", argv[0], WIFEXITED(status) ? "exit" : "signal",
                   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

int cmd_sweep(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    gc_err e = {{0}};
    int c, prc = 0;
    optind = 1;
    opterr = 0;
    while (!prc && (c = getopt_long(argc, argv, "", opts, NULL)) != -1)
        prc = c == 'o' ? (out = optarg, 0) : c == 'h' ? 1 : cli_bad_option(argv, &e);
    if (!prc && (optind != argc - 1 || !out))
        prc = gc_fail(&e, "give one sweep FILE and --out DIR");
    if (prc)
        return cli_parse_exit("sweep", prc, usage, &e);
    sweep_opts o = {argv[optind], out, cli_root(), run_gcsim, NULL, 1};
    sweep_result r;
    int rank = 0, rc;
#ifdef GCSIM_MPI
    if (cli_under_mpirun()) {
        int level;
        MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &level);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        rc = level < MPI_THREAD_FUNNELED ? gc_fail(&e, "MPI gives no thread support")
                                         : sweep_run_mpi(&o, &r, &e);
        MPI_Finalize();
    } else
#endif
        rc = sweep_run(&o, &r, &e);
    if (rc) {
        fprintf(stderr, "gcsim sweep: %s\n", e.msg);
        return 1;
    }
    if (rank == 0)
        printf("%d points; %d steps run, %d cached; table in %s/table.csv\n", r.points,
               r.steps_run, r.steps_cached, out);
    return 0;
}
