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

void cli_command_line(int argc, char **argv, char *buf, size_t n)
{
    snprintf(buf, n, "gcsim");
    for (int i = 0; i < argc; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, " %s", argv[i]);
    }
}

int cli_write_json(const char *path, const cJSON *root, gc_err *e)
{
    char *text = cJSON_Print(root);
    if (!text)
        return gc_fail(e, "%s: cannot format JSON (out of memory)", path);
    size_t n = strlen(text);
    char *buf = realloc(text, n + 2);
    if (!buf) {
        free(text);
        return gc_fail(e, "%s: out of memory", path);
    }
    buf[n] = '\n';
    int rc = gc_write_file_atomic(path, buf, n + 1, e);
    free(buf);
    return rc;
}

int cli_bad_option(char **argv, gc_err *e)
{
    const char *a = argv[optind - 1];
    if (optopt && !strncmp(a, "--", 2))
        return gc_fail(e, "%s needs a value", a);
    return gc_fail(e, "unknown option '%s'", a);
}
