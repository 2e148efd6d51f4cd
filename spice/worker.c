/* Running simulations: one fresh process per netlist, a bounded number at a time.
 *
 * libngspice keeps global state, grows its memory across runs and reports errors only as
 * text, so the parent never loads a circuit itself. Each child inherits an initialised
 * ngspice, loads one netlist, runs it, sends the requested vectors back through a pipe and exits; the parent
 * polls the pipes, enforces the per-simulation timeout and turns a crash, a kill, a parse
 * error or a non-converging run into one line naming the simulation. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ngspice/sharedspice.h>

#include "spice.h"

#define RESULT_MAGIC 0x52534347u /* "GCSR" */

/* ---------------------------------------------------------------------------------------- */
/* Child side */

typedef struct {
    char first_error[640];   /* first error-like line ngspice printed */
    char last_line[512];
    char version[32];
    int n_errors;
    int aborted;             /* the analysis stopped (no convergence, timestep too small) */
} child_log;

static int contains(const char *s, const char *what)
{
    return strcasestr(s, what) != NULL;
}

/* ngspice reports everything as text lines ("stdout ..." / "stderr ..."); keep what tells
 * us whether the netlist parsed and the analysis finished. */
static int on_char(char *line, int id, void *user)
{
    (void)id;
    child_log *log = user;
    const char *text = line;
    if (!strncmp(text, "stdout ", 7) || !strncmp(text, "stderr ", 7))
        text += 7;
    size_t n = strlen(text);
    n = n < sizeof log->last_line - 1 ? n : sizeof log->last_line - 1;
    memcpy(log->last_line, text, n);
    log->last_line[n] = '\0';
    const char *v = strstr(text, "ngspice-");
    if (v && !log->version[0])
        sscanf(v, "ngspice-%31[0-9.+a-z]", log->version);
    /* "Error on line 113 or its substitute:" — the offending line follows */
    size_t fe = strlen(log->first_error);
    if (fe && log->first_error[fe - 1] == ':' && fe + 2 < sizeof log->first_error) {
        snprintf(log->first_error + fe, sizeof log->first_error - fe, " %.*s",
                 (int)(sizeof log->first_error - fe - 2), text);
        return 0;
    }
    int is_error = (contains(text, "error") && !contains(text, "reltol")) ||
                   contains(text, "unknown subckt") || contains(text, "unknown model") ||
                   contains(text, "could not find");
    int is_abort = contains(text, "timestep too small") || contains(text, "aborted") ||
                   contains(text, "no convergence") || contains(text, "singular matrix") ||
                   contains(text, "iteration limit reached") || contains(text, "failed");
    /* gmin and source stepping report failed steps on the way to a solution they may
     * still find: only their final verdict counts */
    if (contains(text, "gmin step") || contains(text, "source step") || contains(text, "trying") ||
        contains(text, "supplies reduced"))
        is_abort = 0;
    if (is_abort)
        log->aborted = 1;
    if ((is_error || is_abort) && !log->first_error[0])
        snprintf(log->first_error, sizeof log->first_error, "%s", text);
    if (is_error)
        log->n_errors++;
    return 0;
}

static int on_stat(char *status, int id, void *user)
{
    (void)status, (void)id, (void)user;
    return 0;
}

static int on_exit_request(int status, NG_BOOL unload, NG_BOOL quit, int id, void *user)
{
    (void)unload, (void)quit, (void)id;
    child_log *log = user;
    if (!log->first_error[0])
        snprintf(log->first_error, sizeof log->first_error,
                 "ngspice stopped with status %d: %s", status, log->last_line);
    log->n_errors++;
    return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static void send_failure(int fd, const char *version, const char *fmt, const char *detail)
{
    char msg[GC_ERR_LEN];
    snprintf(msg, sizeof msg, fmt, detail);
    uint32_t head[2] = {RESULT_MAGIC, 1};
    char ver[32] = {0};
    snprintf(ver, sizeof ver, "%.31s", version);
    write_all(fd, head, sizeof head);
    write_all(fd, msg, sizeof msg);
    write_all(fd, ver, sizeof ver);
}

/* Splits the netlist into the NULL-terminated line array ngSpice_Circ wants. */
static char **netlist_lines(const char *text)
{
    size_t n = 2;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    char **lines = calloc(n, sizeof *lines);
    char *copy = strdup(text);
    if (!lines || !copy)
        return NULL;
    size_t i = 0;
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        lines[i++] = l;
    lines[i] = NULL;
    return lines;
}

/* What ngspice said in this process; its callbacks write here. */
static child_log the_log;

/* The parent initialises ngspice once (loading its code models and reading its init
 * scripts) and every worker inherits that state through fork instead of redoing it. No
 * circuit is ever loaded in the parent. */
static void init_ngspice_once(void)
{
    static int ready;
    if (ready)
        return;
    ngSpice_Init(on_char, on_stat, on_exit_request, NULL, NULL, NULL, &the_log);
    /* libngspice evaluates BSIM4 devices with OpenMP threads that busy-wait; with one
     * worker per core they fight over the cores and run 30x slower. Parallelism comes
     * from the worker processes instead. */
    ngSpice_Command("set num_threads=1");
    ready = 1;
}

static void child_main(const spice_job *job, int fd)
{
    child_log *log = &the_log;
    memset(log, 0, sizeof *log);
    ngSpice_Command("version");
    char **lines = netlist_lines(job->netlist);
    if (!lines)
        _exit(3);
    ngSpice_Circ(lines);
    if (log->n_errors || !ngSpice_CurPlot()) {
        send_failure(fd, log->version, "netlist does not parse: %s",
                     log->first_error[0] ? log->first_error : "no circuit loaded");
        _exit(0);
    }
    ngSpice_Command("run");
    if (log->aborted || log->n_errors) {
        send_failure(fd, log->version, "simulation did not converge: %s", log->first_error);
        _exit(0);
    }
    for (int i = 0; i < job->n_vectors; i++) {
        pvector_info v = ngGet_Vec_Info((char *)job->vectors[i]);
        if (!v || !v->v_realdata || v->v_length <= 0) {
            send_failure(fd, log->version, "missing vector %s in the results", job->vectors[i]);
            _exit(0);
        }
    }
    uint32_t head[2] = {RESULT_MAGIC, 0};
    char msg[GC_ERR_LEN] = {0}, ver[32] = {0};
    snprintf(ver, sizeof ver, "%.31s", log->version);
    int bad = write_all(fd, head, sizeof head) || write_all(fd, msg, sizeof msg) ||
              write_all(fd, ver, sizeof ver);
    for (int i = 0; i < job->n_vectors && !bad; i++) {
        pvector_info v = ngGet_Vec_Info((char *)job->vectors[i]);
        uint64_t len = (uint64_t)v->v_length;
        bad = write_all(fd, &len, sizeof len) ||
              write_all(fd, v->v_realdata, len * sizeof(double));
    }
    _exit(bad ? 4 : 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Parent side */

typedef struct {
    pid_t pid;
    int fd;
    int job;
    double deadline, t0;
    char *buf;
    size_t len, cap;
} worker;

static int read_into(worker *w)
{
    if (w->cap - w->len < 65536) {
        size_t cap = w->cap ? 2 * w->cap : 1 << 20;
        char *b = realloc(w->buf, cap);
        if (!b)
            return -1;
        w->buf = b;
        w->cap = cap;
    }
    ssize_t got = read(w->fd, w->buf + w->len, w->cap - w->len);
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    if (got <= 0)
        return 0; /* EOF or error: the child is done */
    w->len += (size_t)got;
    return 1;
}

/* Decodes what a child sent; fails when it is incomplete (the child died). */
static int decode(const worker *w, const spice_job *job, spice_result *r)
{
    size_t need = 2 * sizeof(uint32_t) + GC_ERR_LEN + 32;
    if (w->len < need)
        return -1;
    uint32_t head[2];
    memcpy(head, w->buf, sizeof head);
    if (head[0] != RESULT_MAGIC)
        return -1;
    memcpy(r->error, w->buf + sizeof head, GC_ERR_LEN);
    r->error[GC_ERR_LEN - 1] = '\0';
    memcpy(r->ngspice_version, w->buf + sizeof head + GC_ERR_LEN, 32);
    r->ngspice_version[31] = '\0';
    if (head[1] != 0)
        return 0; /* a reported failure: r->ok stays 0 */
    size_t off = need;
    r->vec = calloc((size_t)job->n_vectors + 1, sizeof *r->vec);
    r->len = calloc((size_t)job->n_vectors + 1, sizeof *r->len);
    if (!r->vec || !r->len)
        return -1;
    for (int i = 0; i < job->n_vectors; i++) {
        uint64_t len;
        if (w->len - off < sizeof len)
            return -1;
        memcpy(&len, w->buf + off, sizeof len);
        off += sizeof len;
        if (len > (w->len - off) / sizeof(double))
            return -1;
        r->vec[i] = malloc(len * sizeof(double) + 1);
        if (!r->vec[i])
            return -1;
        memcpy(r->vec[i], w->buf + off, len * sizeof(double));
        r->len[i] = (size_t)len;
        off += len * sizeof(double);
    }
    r->ok = 1;
    return 0;
}

static void describe_death(int status, char *out, size_t n)
{
    if (WIFSIGNALED(status))
        snprintf(out, n, "worker process died (signal %d: %s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status))
        snprintf(out, n, "worker process exited with status %d without a result",
                 WEXITSTATUS(status));
    else
        snprintf(out, n, "worker process ended abnormally");
}

/* Reaps w's process and fills its job's result. Returns 1 when the worker died without
 * sending a result (a crash or a kill: worth another attempt), else 0. */
static int finish(worker *w, const spice_job *jobs, spice_result *res, const char *forced)
{
    spice_result *r = &res[w->job];
    int status = 0, died = 0;
    if (forced)
        kill(w->pid, SIGKILL);
    close(w->fd);
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
        ;
    r->seconds = gc_now() - w->t0;
    if (forced)
        snprintf(r->error, sizeof r->error, "%s", forced);
    else if (decode(w, &jobs[w->job], r) != 0) {
        spice_result_free(r, jobs[w->job].n_vectors);
        describe_death(status, r->error, sizeof r->error);
        died = 1;
    }
    free(w->buf);
    w->buf = NULL;
    w->pid = 0;
    return died;
}

static int start(worker *w, const spice_job *jobs, int job, const spice_run_opts *o,
                 spice_result *res, gc_err *e)
{
    int fds[2];
    if (pipe(fds))
        return gc_fail(e, "cannot create a pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return gc_fail(e, "cannot start a worker process: %s", strerror(errno));
    }
    if (pid == 0) {
        gc_interrupt_default();
        prctl(PR_SET_NAME, "gcsim-spice"); /* how ps and top show a worker */
        close(fds[0]);
        /* ngspice's own chatter goes to our pipe-less stdout: silence it. */
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, STDOUT_FILENO);
            dup2(devnull, STDERR_FILENO);
        }
        child_main(&jobs[job], fds[1]);
    }
    close(fds[1]);
    *w = (worker){.pid = pid, .fd = fds[0], .job = job, .t0 = gc_now()};
    w->deadline = w->t0 + o->timeout_s;
    res[job].attempts++;
    res[job].error[0] = '\0';
    return 0;
}

/* Handles what worker w's poll said: reads its output, or finishes it (done, died, timed
 * out) and starts it again if it died and has retries left. Returns 1 when its job is
 * over, 0 when it is still running, -1 with e set when a retry could not start. */
static int step(worker *w, short revents, const spice_job *jobs, const spice_run_opts *o,
                spice_result *res, gc_err *e)
{
    const char *forced = NULL;
    char why[128];
    if (revents && read_into(w) == 1)
        return 0;
    if (!revents) {
        if (gc_now() < w->deadline)
            return 0;
        snprintf(why, sizeof why, "timed out after %g s (raise --timeout)", o->timeout_s);
        forced = why;
    }
    int job = w->job;
    if (!finish(w, jobs, res, forced))
        return 1;
    if (res[job].attempts <= o->retries && !gc_interrupted())
        return start(w, jobs, job, o, res, e) ? -1 : 0;
    if (res[job].attempts > 1) {
        size_t len = strlen(res[job].error);
        snprintf(res[job].error + len, sizeof res[job].error - len, " (%d attempts)",
                 res[job].attempts);
    }
    return 1;
}

int spice_run(const spice_job *jobs, int n, const spice_run_opts *o, spice_result *res,
              gc_err *e)
{
    int n_workers = o->jobs < 1 ? 1 : o->jobs;
    worker *ws = calloc((size_t)n_workers, sizeof *ws);
    struct pollfd *pf = calloc((size_t)n_workers, sizeof *pf);
    if (!ws || !pf) {
        free(ws);
        free(pf);
        return gc_fail(e, "out of memory");
    }
    memset(res, 0, (size_t)n * sizeof *res);
    init_ngspice_once();
    gc_progress prog;
    gc_progress_start(&prog, "simulations", n);
    if (!o->progress)
        prog.tty = 0;
    int next = 0, done = 0, failed = -1, rc = 0;
    while (done < n && rc == 0 && !gc_interrupted()) {
        for (int i = 0; i < n_workers && next < n && failed < 0 && rc == 0; i++)
            if (!ws[i].pid && (rc = start(&ws[i], jobs, next, o, res, e)) == 0)
                next++;
        int active = 0;
        double wait = 1.0;
        for (int i = 0; i < n_workers; i++) {
            pf[i] = (struct pollfd){.fd = ws[i].pid ? ws[i].fd : -1, .events = POLLIN};
            if (ws[i].pid) {
                active++;
                double left = ws[i].deadline - gc_now();
                wait = left < wait ? left : wait;
            }
        }
        if (!active)
            break;
        int ms = wait > 0 ? (int)(wait * 1000) + 1 : 0;
        if (poll(pf, (nfds_t)n_workers, ms) < 0 && errno != EINTR) {
            rc = gc_fail(e, "poll failed: %s", strerror(errno));
            break;
        }
        if (gc_interrupted())
            break;
        for (int i = 0; i < n_workers && rc == 0; i++) {
            if (!ws[i].pid)
                continue;
            int job = ws[i].job, over = step(&ws[i], pf[i].revents, jobs, o, res, e);
            if (over < 0)
                rc = -1;
            if (over != 1)
                continue;
            done++;
            gc_progress_update(&prog, done);
            if (!res[job].ok && failed < 0)
                failed = job;
        }
        if (failed >= 0)
            break;
    }
    const char *why = gc_interrupted() ? "stopped (interrupted)"
                      : failed >= 0    ? "stopped after another simulation failed"
                                       : "stopped";
    for (int i = 0; i < n_workers; i++)
        if (ws[i].pid)
            finish(&ws[i], jobs, res, why);
    gc_progress_end(&prog);
    free(ws);
    free(pf);
    if (gc_interrupted())
        return gc_fail_interrupted(e);
    if (rc)
        return rc;
    if (failed >= 0)
        return gc_fail(e, "%s: %s", jobs[failed].name, res[failed].error);
    return 0;
}

void spice_result_free(spice_result *r, int n_vectors)
{
    if (r->vec)
        for (int i = 0; i < n_vectors; i++)
            free(r->vec[i]);
    free(r->vec);
    free(r->len);
    r->vec = NULL;
    r->len = NULL;
}
