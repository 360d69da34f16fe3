/* rate_spec — `N/Ws` parsing (see rate_spec.h). */
#include "rate_spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int rate_spec_parse(const char *s, uint32_t *count, int64_t *window_ms)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno || *end != '/' || n == 0 || n > 100000000ULL)
        return -1;
    const char *w = end + 1;
    if (*w < '0' || *w > '9')
        return -1;
    unsigned long long win = strtoull(w, &end, 10);
    if (errno || win == 0 || win > 86400000ULL)
        return -1;
    int64_t ms;
    if (strcmp(end, "s") == 0)
        ms = (int64_t)win * 1000;
    else if (strcmp(end, "ms") == 0)
        ms = (int64_t)win;
    else
        return -1;
    *count = (uint32_t)n;
    *window_ms = ms;
    return 0;
}
