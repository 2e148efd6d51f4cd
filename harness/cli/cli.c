/* Helpers shared by the subcommands. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_root(void)
{
    const char *root = getenv("GCSIM_ROOT");
    return root && *root ? root : GCSIM_SOURCE_ROOT;
}

int cli_under_mpirun(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_SIZE");
}

void cli_leave_mpirun(void)
{
    extern char **environ;
    static const char *const prefix[] = {"OMPI_", "PMIX_", "PMI_"};
    for (size_t i = 0; environ[i];) {
        int launcher = 0;
        for (size_t k = 0; k < sizeof prefix / sizeof *prefix; k++)
            launcher |= !strncmp(environ[i], prefix[k], strlen(prefix[k]));
        const char *eq = strchr(environ[i], '=');
        if (!launcher || !eq || eq - environ[i] >= 256) {
            i++;
            continue;
        }
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(eq - environ[i]), environ[i]);
        unsetenv(name); /* environ[i] is now the next variable */
    }
}

void cli_command_line(int argc, char **argv, char *buf, size_t n)
{
    snprintf(buf, n, "gcsim");
    for (int i = 0; i < argc; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, " %s", argv[i]);
    }
}

int cli_bad_option(char **argv, gc_err *e)
{
    const char *a = argv[optind - 1];
    if (optopt && !strncmp(a, "--", 2))
        return gc_fail(e, "%s needs a value", a);
    return gc_fail(e, "unknown option '%s'", a);
}

int cli_parse_exit(const char *name, int prc, void (*usage)(FILE *), const gc_err *e)
{
    if (prc > 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "gcsim %s: %s (see gcsim %s --help)\n", name, e->msg, name);
    return 2;
}

int cli_exit_status(int status)
{
    int sig = gc_interrupted();
    return sig ? 128 + sig : status;
}
