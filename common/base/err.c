/* err — error codes and messages (see err.h). */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *err_strerror(int code)
{
    switch (code) {
    case ERR_OK:
        return "success";
    case ERR_NOMEM:
        return "out of memory";
    case ERR_SYS:
        return "system call failed";
    case ERR_INVALID:
        return "invalid argument";
    case ERR_PARSE:
        return "malformed input";
    case ERR_SHAPE:
        return "unexpected shape";
    case ERR_TOO_BIG:
        return "too large";
    case ERR_CORRUPT:
        return "corrupt data";
    case ERR_STORE:
        return "database error";
    case ERR_MAP_FULL:
        return "database map full";
    case ERR_LOCKED:
        return "database locked by another run";
    case ERR_HTTP:
        return "HTTP request failed";
    case ERR_AUTH:
        return "authentication failed";
    case ERR_DAILY:
        return "daily API limit exhausted";
    case ERR_TIMEOUT:
        return "timed out";
    case ERR_AGAIN:
        return "try again";
    case ERR_NOT_FOUND:
        return "not found";
    case ERR_REJECTED:
        return "request rejected";
    case ERR_TLS:
        return "TLS certificate not trusted";
    }
    return "unknown error";
}

int err_set(err_info *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    e->ei_code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->ei_msg, sizeof(e->ei_msg), fmt, ap);
    va_end(ap);
    return code;
}

int err_wrap(err_info *e, const char *fmt, ...)
{
    if (!e)
        return 0;
    char prefix[ERR_MSG_MAX], old[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, e->ei_msg, sizeof(old));
    /* Truncation is fine: the message is for people. */
    size_t n = strnlen(prefix, sizeof(prefix) - 1);
    memcpy(e->ei_msg, prefix, n);
    size_t rest = strnlen(old, sizeof(old) - 1);
    if (rest > sizeof(e->ei_msg) - 1 - n)
        rest = sizeof(e->ei_msg) - 1 - n;
    memcpy(e->ei_msg + n, old, rest);
    e->ei_msg[n + rest] = '\0';
    return e->ei_code;
}
