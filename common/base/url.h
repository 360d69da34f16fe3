/*
 * url — the one rule for where hubsync may send its token: the HubSpot base
 * URL must be https:// (certificates always verified), or plain http:// to
 * a loopback address (the simulator, a local test double). Used by the
 * config (to refuse a bad --base-url with exit 2 before any request) and by
 * the HTTP engine (which refuses to start with one).
 *
 * The URL is parsed by libcurl's own URL parser, so the host checked here
 * is the host curl will connect to: "http://127.0.0.1:80@evil.com" is
 * userinfo then evil.com, "http://127.1" and "http://0x7f000001" are
 * 127.0.0.1. Anything beyond scheme, host, port and path is refused
 * outright: userinfo (it would put a secret or a decoy in the URL), a query
 * or a fragment (the engine appends API paths to the base), percent-escapes
 * and backslashes (hosts that parsers disagree about).
 */
#ifndef HUBSYNC_URL_H
#define HUBSYNC_URL_H

#include <stdbool.h>

#include "err.h"

/* Checks `url` (no trailing-slash handling: the caller trims). Returns 0 and
 * sets *plain_http (may be NULL) to whether it is an http:// URL (then to a
 * loopback host), or ERR_INVALID with a message naming the URL and what is
 * wrong with it. */
int url_check_base(const char *url, bool *plain_http, err_info *e);

/* Whether `host`, as libcurl's URL parser returns it (IPv6 in brackets), is
 * a loopback address: localhost, 127.0.0.0/8, [::1], or [::ffff:127.x.y.z]. */
bool url_host_is_loopback(const char *host);

#endif
