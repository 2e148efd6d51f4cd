/* JSON results: indented, with a final newline, replaced atomically. */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common.h"

int gc_json_write(const char *path, const struct cJSON *root, gc_err *e)
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
