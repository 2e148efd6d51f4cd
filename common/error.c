/* One-line error messages carried back to the command line. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
                          : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 2 && s[0] < 0xc2)
        return 0; /* overlong */
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* A message stays one line of valid UTF-8 whatever text from a file it quotes: control
 * characters and bytes that are not UTF-8 become '?'. */
static void one_line(char *msg)
{
    unsigned char *s = (unsigned char *)msg;
    while (*s) {
        int n = utf8_len(s);
        if (n == 0 || (n == 1 && (*s < 0x20 || *s == 0x7f))) {
            *s++ = '?';
            continue;
        }
        s += n;
    }
}

int gc_fail(gc_err *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    one_line(e->msg);
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
    one_line(e->msg);
    return -1;
}
