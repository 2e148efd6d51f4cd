/* Helpers shared by the subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_root(void)
{
    const char *root = getenv("GCSIM_ROOT");
    return root && *root ? root : GCSIM_SOURCE_ROOT;
}

void cli_command_line(int argc, char **argv, char *buf, size_t n)
{
    snprintf(buf, n, "gcsim");
    for (int i = 0; i < argc; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, " %s", argv[i]);
    }
}
