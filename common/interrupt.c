/* Interruption: SIGINT and SIGTERM ask a long run to stop cleanly.
 *
 * The handler only records the signal; the long loops (the SPICE job loop, ppl's windows)
 * poll gc_interrupted(), stop their workers, remove their temporary files and return an
 * error, and gc_commit_file refuses to replace a result once a signal came. The command
 * line turns the interruption into exit status 128 + the signal (130, 143). The flag is the
 * one piece of global mutable state outside main: a signal handler has nowhere else to write. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "common.h"

static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
    if (!caught)
        caught = sig;
}

int gc_interrupt_catch(gc_err *e)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* a second signal of the same kind stops the process at once (the default action) */
    sa.sa_flags = SA_RESETHAND;
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return gc_fail(e, "cannot catch SIGINT and SIGTERM: %s", strerror(errno));
    return 0;
}

void gc_interrupt_default(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

int gc_interrupted(void)
{
    return caught;
}

int gc_fail_interrupted(gc_err *e)
{
    return gc_fail(e, "interrupted by %s",
                   caught == SIGTERM ? "SIGTERM" : caught == SIGINT ? "SIGINT" : "a signal");
}
