/* One-line error messages carried back to the command line. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

int gc_fail(gc_err *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int gc_wrap(gc_err *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    char prefix[GC_ERR_LEN], old[GC_ERR_LEN];
    memcpy(old, e->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* prefix, ": ", old message, cut to fit */
    size_t n = strlen(prefix);
    memcpy(e->msg, prefix, n);
    if (n + 2 < sizeof e->msg) {
        memcpy(e->msg + n, ": ", 2);
        n += 2;
    }
    size_t room = sizeof e->msg - 1 - n, len = strlen(old);
    memcpy(e->msg + n, old, len < room ? len : room);
    e->msg[n + (len < room ? len : room)] = '\0';
    return -1;
}
