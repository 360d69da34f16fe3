/*
 * http — the HTTP engine every worker runs (and setup and doctor, in
 * process): one curl multi handle with up to K transfers in flight, paced by the shared rate
 * limiter, retrying what HubSpot says is worth retrying, and keeping the OAuth token fresh for
 * every worker at once.
 *
 * Lifecycle of a request: submitted → waiting (for its retry time, a fresh
 * token and a free transfer) → reserved (a limiter slot; reserve-then-wait;
 * a 429 since the reservation sends it back to waiting) → in flight (started
 * at once) → completed: the caller's callback sees the final response and
 * says DONE (the engine frees the request) or RETRY (the body was unusable,
 * e.g. truncated JSON: sent again with backoff, as an attempt).
 *
 * Every answer feeds the request's budget (common/ipc/budget): how long the
 * request took to go out, how long the answer took, and HubSpot's
 * X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds headers.
 *
 * Retried by the engine itself, with jittered exponential backoff and a bound
 * on attempts: 429 (after pushing the shared limiter forward, by Retry-After
 * or X-HubSpot-RateLimit-Interval-Milliseconds when present, else a whole
 * window), 5xx, 423 (≥ 2 s), connection failures, resets, timeouts and
 * truncated transfers. Every send goes through the limiter: libcurl's own
 * resend of a request whose reused connection died before any answer is
 * refused, and the engine retries it, paced and counted. A 401
 * EXPIRED_AUTHENTICATION refreshes the token once (single flight across
 * processes via the shared region) and resends; the token is also
 * refreshed ahead of its expiry. Final failures reach the callback with
 * hr_error set: ERR_HTTP (attempts exhausted), ERR_AUTH, ERR_TLS (the
 * server's certificate is not trusted: never retried, and every request
 * still waiting fails with it at once), or ERR_DAILY (the daily limit is
 * spent: no retry can help today).
 *
 * Time limits: an answer must start within its family's limit (the
 * request class: association reads, searches, lists, the rest), learned by
 * every process from the family's answers: six smoothed round trips plus
 * four deviations (rtt_limit_ns), at least HTTP_ANSWER_FLOOR_MS, at most
 * hc_total_timeout_ms; a body must not stop coming for as long (a body
 * still coming may take up to hc_total_timeout_ms). A send given up is retried as a timeout is
 * (backoff, a new limiter slot, counted as a retry), with its limit
 * doubled. The engine beats the process's heartbeat (shm_beat) at every
 * round, before every completion and during a token refresh.
 *
 * TLS certificates are always verified (against hc_ca_file when set, else
 * the system's CAs; nothing turns verification off) for every transfer,
 * token refreshes included; plain http:// is accepted only for loopback
 * hosts (url_check_base) and never goes through a proxy. One engine per
 * process, used from one thread; create it after fork (curl state never
 * crosses fork()).
 */
#ifndef HUBSYNC_HTTP_H
#define HUBSYNC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/err.h"
#include "../base/jbuf.h"
#include "../ipc/shm.h"

/* What a request is, for the limiter policy it spends and the counters. */
typedef enum http_class {
    HTTP_ASSOC,  /* association batch reads: burst policy */
    HTTP_SEARCH, /* CRM search: the search policy */
    HTTP_LIST,   /* object lists and batch reads: burst policy */
    HTTP_OTHER   /* properties and the rest: burst policy */
} http_class;

/* No answer is given up before it has had this long to start (nor before
 * the first answer of its family has been timed): HubSpot's ordinary
 * answers take 0.2–1.5 s, a connection's handshakes some more, and a
 * send cut for nothing costs a call of the budget. Above it the limit
 * follows the family's measured latency (rtt_limit_ns). */
#define HTTP_ANSWER_FLOOR_MS 4000

typedef struct http_config {
    const char *hc_base_url;      /* "https://api.hubapi.com" (no trailing slash) */
    shm_region *hc_shm;           /* limiter, token, counters */
    int hc_slot;                  /* this worker's slot in hc_shm */
    int hc_inflight;              /* the cap on transfers in flight (1..256); handles and
                                   * connections are made as they are needed */
    long hc_connect_timeout_ms;   /* 0: 10 s */
    long hc_total_timeout_ms;     /* 0: 60 s: the most a transfer may take, and the ceiling
                                   * on the learned wait for an answer to start */
    int hc_max_attempts;          /* 0: 8 */
    uint64_t hc_backoff_base_ms;  /* 0: 250 ms; doubles per attempt, ±50% jitter */
    uint64_t hc_backoff_max_ms;   /* 0: 15 s */
    uint64_t hc_reserve_ahead_ms; /* how far ahead a limiter slot may be reserved; 0: 2 s */
    /* OAuth: when set, the token in hc_shm is refreshed with these. */
    const char *hc_refresh_token;
    const char *hc_client_id;
    const char *hc_client_secret;
    uint64_t hc_refresh_ahead_ms; /* refresh this long before expiry; 0: 5 min */
    const char *hc_ca_file;       /* extra CA bundle (NULL: the system's) */
} http_config;

typedef struct http_engine http_engine;
typedef struct http_request http_request;

typedef struct http_response {
    int hr_status;       /* final HTTP status, 0 when no response */
    int hr_error;        /* 0, or ERR_HTTP / ERR_AUTH / ERR_TLS / ERR_DAILY / ERR_NOMEM */
    const char *hr_body; /* NUL-terminated; valid during the callback */
    size_t hr_body_len;
    int hr_attempts; /* sends, this one included, but for expired-token 401s */
    /* Figures since the previous delivery of this request (a caller's
     * HTTP_RETRY delivers it again): every send, the 401s of an expired
     * token included; the sends that repeated an earlier one; the 429s. */
    int hr_sends, hr_resends, hr_throttled;
    char hr_message[ERR_MSG_MAX]; /* why it failed, when hr_error */
} http_response;

typedef enum http_verdict { HTTP_DONE, HTTP_RETRY } http_verdict;

/* Called once per request with its final response. */
typedef http_verdict (*http_done_fn)(void *user, http_request *req, const http_response *resp);

/* Creates an engine (initialises curl for this process). Returns 0 and *out,
 * or ERR_INVALID (a bad config or base URL) / ERR_NOMEM. */
int http_engine_create(const http_config *cfg, http_engine **out, err_info *e);

/* Frees the engine; requests still queued are dropped without callbacks. */
void http_engine_destroy(http_engine *eng);

/* A new request: method "GET" or "POST", path (and query) appended to the
 * base URL. The body, for POSTs, is written into http_request_body(). */
http_request *http_request_new(http_class cls, const char *method, const char *path);

/* Frees a request that was never submitted (NULL is fine). */
void http_request_free(http_request *req);

/* The request's body buffer (JSON; Content-Type application/json). */
jbuf *http_request_body(http_request *req);

/* The request's path, as given. */
const char *http_request_path(const http_request *req);

/* Queues a request; the engine owns it from here. */
void http_submit(http_engine *eng, http_request *req, http_done_fn done, void *user);

/* Does one round of work: starts what may start, waits up to max_wait_ms for
 * network activity (or for `extra_fd` to become readable, when ≥ 0; then
 * *extra_ready is set), and completes finished transfers (callbacks run
 * here). Returns the number of requests completed, or a negative ERR_*. */
int http_run(http_engine *eng, int max_wait_ms, int extra_fd, bool *extra_ready);

/* Requests queued or in flight. */
size_t http_pending(const http_engine *eng);

#endif
