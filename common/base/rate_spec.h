/*
 * rate_spec — parses a rate limit written as `N/Ws` ("190/10s", "5/1s",
 * "100/1s", "50/500ms"): N requests in any rolling window of W. Used by the
 * simulator's --rate/--search-rate and by the client's flags of the same name.
 */
#ifndef HUBSYNC_RATE_SPEC_H
#define HUBSYNC_RATE_SPEC_H

#include <stdint.h>

/* Parses `s`. Returns 0 and sets *count (≥ 1) and *window_ms (≥ 1), or -1 when
 * `s` is not of the form N/W followed by "s" or "ms". */
int rate_spec_parse(const char *s, uint32_t *count, int64_t *window_ms);

#endif
