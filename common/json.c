/* JSON results: indented, with a final newline, replaced atomically; and JSON inputs parsed
 * strictly (nothing after the value, no key twice). */
#include <stdio.h>
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

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first key that appears twice in an object at or under x, or NULL; *dup_in gets the
 * name of the object holding it ("" for the top). -1 if out of memory. */
static int find_duplicate(const cJSON *x, const char **dup, const char **dup_in)
{
    if (!cJSON_IsObject(x) && !cJSON_IsArray(x))
        return 0;
    int n = cJSON_GetArraySize(x), rc = 0;
    if (cJSON_IsObject(x) && n > 1) {
        const char **keys = malloc((size_t)n * sizeof *keys);
        if (!keys)
            return -1;
        int k = 0;
        for (const cJSON *c = x->child; c; c = c->next)
            keys[k++] = c->string ? c->string : "";
        qsort(keys, (size_t)k, sizeof *keys, compare_keys);
        for (int i = 1; i < k && !*dup; i++)
            if (!strcmp(keys[i], keys[i - 1])) {
                *dup = keys[i];
                *dup_in = x->string ? x->string : "";
            }
        free(keys);
    }
    for (const cJSON *c = x->child; c && !*dup && rc == 0; c = c->next)
        rc = find_duplicate(c, dup, dup_in);
    return rc;
}

struct cJSON *gc_json_parse(const char *text, size_t len, const char *path, gc_err *e)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= text && at <= text + len ? (size_t)(at - text) : 0;
        gc_fail(e, "%s: not valid JSON (error near byte %zu)", path, off);
        return NULL;
    }
    size_t used = (size_t)(end - text);
    while (used < len && strchr(" \t\r\n", text[used]) && text[used])
        used++;
    const char *dup = NULL, *dup_in = "";
    int rc = 0;
    if (used < len)
        rc = gc_fail(e, "%s: unexpected text after the JSON value at byte %zu", path, used);
    else if (find_duplicate(root, &dup, &dup_in) < 0)
        rc = gc_fail(e, "%s: out of memory", path);
    else if (dup)
        rc = gc_fail(e, "%s: key \"%.100s\" appears twice%s%.100s%s (readers disagree on which "
                     "one counts)", path, dup, *dup_in ? " in \"" : "", dup_in,
                     *dup_in ? "\"" : "");
    if (rc) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}
