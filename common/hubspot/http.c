/*
 * http — curl multi engine with shared pacing, retries and token refresh
 * (see http.h). Modelled on curl's 10-at-a-time example: a bounded set of
 * transfers, refilled as each completes, driven by curl_multi_poll.
 */
#include "http.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../base/clock.h"
#include "hs_codec.h"
#include "hs_paths.h"
#include "../ipc/rl.h"
#include "../base/url.h"

enum { MAX_INFLIGHT = 256, MAX_AUTH_RETRIES = 3, MAX_RESLOTS = 4 };
#define RESPONSE_CAP ((size_t)64 << 20)
#define MS_NS        1000000ULL

struct http_request {
    http_class rq_class;
    bool rq_post;
    char *rq_path;
    jbuf rq_body;
    http_done_fn rq_done;
    void *rq_user;
    int rq_attempts;
    int rq_sends, rq_throttled; /* since the last delivery, for the caller's figures */
    bool rq_delivered;          /* so every send after the first counts as a resend */
    int rq_auth_retries;
    uint64_t rq_not_before_ns; /* waiting: not before this (retry backoff) */
    uint64_t rq_slot_ns;       /* reserved: the limiter slot's start */
    int rq_slots_missed;       /* woken too late for a slot: re-reserved, up to MAX_RESLOTS */
    uint64_t rq_penalties;     /* the policy's 429 count when the slot was reserved */
    uint64_t rq_sent_ns;
    uint64_t rq_limit_ns;     /* in flight: how long the answer may take to start, or stop */
    uint64_t rq_last_byte_ns; /* the send, then the latest byte of the answer */
    int rq_cuts;              /* sends given up for want of an answer (each doubles the limit) */
    uint64_t rq_token_gen;    /* the token generation it was sent with */
    jbuf rq_resp;
    bool rq_resp_too_big;
    int64_t rq_retry_after_ms, rq_interval_ms, rq_daily_remaining; /* -1: absent */
    int64_t rq_daily_limit;                                        /* -1: absent */
    int64_t rq_rate_max, rq_rate_remaining; /* X-HubSpot-RateLimit-Max, -Remaining; -1: absent */
    uint64_t rq_gate_ticket;                /* holds the daily gate (rl_daily_admit) */
    struct curl_slist *rq_headers;
    char rq_curl_error[CURL_ERROR_SIZE]; /* curl's detail on a failed transfer */
    int rq_wire_sends; /* times this send reached the wire (on_prereq): 1, or libcurl's resend */
    int64_t rq_sent_wall_ms; /* the send, by this machine's clock (skew_sample) */
    int64_t rq_date_s;       /* the answer's Date header (epoch s; 0: none) */
    CURL *rq_easy;
    http_request *rq_next;
};

/* A FIFO of requests linked through rq_next. */
typedef struct req_list {
    http_request *rl_head, *rl_tail;
    size_t rl_len;
} req_list;

struct http_engine {
    http_config he_cfg;
    shm_region *he_shm;
    shm_counters *he_counters;
    CURLM *he_multi;
    CURL *he_easies[MAX_INFLIGHT];    /* every handle made so far, for cleanup */
    CURL *he_easy_pool[MAX_INFLIGHT]; /* the idle ones */
    int he_easy_count, he_easy_free;  /* made on demand: connections follow concurrency */
    req_list he_waiting;              /* submitted or backing off */
    req_list he_reserved;             /* holding a limiter slot in the future */
    int he_inflight;
    bool he_oauth;
    bool he_plain_http; /* http:// (loopback only): never through a proxy */
    char he_token[SHM_TOKEN_MAX];
    uint64_t he_token_gen;
    uint64_t he_bad_token_gen; /* a 401 EXPIRED named this generation: refresh it */
    uint64_t he_refresh_after_ns;
    int he_fatal; /* ERR_AUTH or ERR_TLS: every waiting request fails with it */
    char he_fatal_msg[ERR_MSG_MAX];
    uint64_t he_rng;
};

/* ------------------------------------------------------------ FIFO lists */

static void list_push(req_list *l, http_request *r)
{
    r->rq_next = NULL;
    if (l->rl_tail)
        l->rl_tail->rq_next = r;
    else
        l->rl_head = r;
    l->rl_tail = r;
    l->rl_len++;
}

static void list_push_front(req_list *l, http_request *r)
{
    r->rq_next = l->rl_head;
    l->rl_head = r;
    if (!l->rl_tail)
        l->rl_tail = r;
    l->rl_len++;
}

/* Unlinks r, whose predecessor is prev (NULL for the head). */
static void list_unlink(req_list *l, http_request *prev, http_request *r)
{
    if (prev)
        prev->rq_next = r->rq_next;
    else
        l->rl_head = r->rq_next;
    if (l->rl_tail == r)
        l->rl_tail = prev;
    r->rq_next = NULL;
    l->rl_len--;
}

/* ---------------------------------------------------------------- requests */

static void request_free(http_request *r);

http_request *http_request_new(http_class cls, const char *method, const char *path)
{
    http_request *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->rq_path = strdup(path);
    if (!r->rq_path) {
        free(r);
        return NULL;
    }
    r->rq_class = cls;
    r->rq_post = strcmp(method, "POST") == 0;
    jb_init(&r->rq_body);
    jb_init(&r->rq_resp);
    return r;
}

jbuf *http_request_body(http_request *req)
{
    return &req->rq_body;
}

const char *http_request_path(const http_request *req)
{
    return req->rq_path;
}

void http_request_free(http_request *req)
{
    request_free(req);
}

static void request_free(http_request *r)
{
    if (!r)
        return;
    free(r->rq_path);
    jb_free(&r->rq_body);
    jb_free(&r->rq_resp);
    curl_slist_free_all(r->rq_headers);
    free(r);
}

/* ------------------------------------------------------------ curl glue */

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    http_request *r = user;
    size_t len = size * n;
    r->rq_last_byte_ns = clock_mono_ns();
    if (r->rq_resp.jb_len + len > RESPONSE_CAP) {
        r->rq_resp_too_big = true;
        return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
    }
    jb_raw(&r->rq_resp, data, len);
    return jb_ok(&r->rq_resp) ? len : 0;
}

/* A header line's value when its name matches (case-insensitive), else NULL. */
static const char *header_value(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return NULL;
    const char *v = line + n + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    return v;
}

static int64_t header_number(const char *v)
{
    int64_t x = 0;
    if (*v < '0' || *v > '9')
        return -1;
    for (; *v >= '0' && *v <= '9' && x < INT64_MAX / 10; v++)
        x = x * 10 + (*v - '0');
    return x;
}

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    http_request *r = user;
    size_t len = size * n;
    r->rq_last_byte_ns = clock_mono_ns();
    char line[256];
    size_t m = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
    memcpy(line, data, m);
    line[m] = '\0';
    const char *v;
    if (strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue, say): forget earlier headers. */
        r->rq_retry_after_ms = r->rq_interval_ms = r->rq_daily_remaining = -1;
        r->rq_daily_limit = r->rq_rate_max = r->rq_rate_remaining = -1;
        r->rq_date_s = 0;
    } else if ((v = header_value(line, m, "Date"))) {
        line[strcspn(line, "\r\n")] = '\0';
        time_t t = curl_getdate(v, NULL);
        r->rq_date_s = t > 0 ? (int64_t)t : 0;
    } else if ((v = header_value(line, m, "Retry-After"))) {
        int64_t s = header_number(v);
        r->rq_retry_after_ms = s >= 0 ? s * 1000 : -1;
    } else if ((v = header_value(line, m, "X-HubSpot-RateLimit-Interval-Milliseconds"))) {
        r->rq_interval_ms = header_number(v);
    } else if ((v = header_value(line, m, "X-HubSpot-RateLimit-Daily-Remaining"))) {
        r->rq_daily_remaining = header_number(v);
    } else if ((v = header_value(line, m, "X-HubSpot-RateLimit-Daily"))) {
        r->rq_daily_limit = header_number(v);
    } else if ((v = header_value(line, m, "X-HubSpot-RateLimit-Max"))) {
        r->rq_rate_max = header_number(v);
    } else if ((v = header_value(line, m, "X-HubSpot-RateLimit-Remaining"))) {
        r->rq_rate_remaining = header_number(v);
    }
    return len;
}

/* ------------------------------------------------------------------ engine */

int http_engine_create(const http_config *cfg, http_engine **out, err_info *e)
{
    static bool curl_ready;
    bool plain_http = false;
    int rc = url_check_base(cfg->hc_base_url, &plain_http, e);
    if (rc)
        return rc;
    if (!cfg->hc_shm || cfg->hc_slot < 0 || cfg->hc_slot >= SHM_MAX_WORKERS ||
        cfg->hc_inflight < 1 || cfg->hc_inflight > MAX_INFLIGHT)
        return err_set(e, ERR_INVALID, "http engine: inflight must be 1 to %d", MAX_INFLIGHT);
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return err_set(e, ERR_NOMEM, "curl_global_init failed");
        curl_ready = true;
    }
    http_engine *eng = calloc(1, sizeof(*eng));
    if (!eng)
        return err_set(e, ERR_NOMEM, "http engine: out of memory");
    eng->he_cfg = *cfg;
    http_config *c = &eng->he_cfg;
    if (!c->hc_connect_timeout_ms)
        c->hc_connect_timeout_ms = 10000;
    if (!c->hc_total_timeout_ms)
        c->hc_total_timeout_ms = 60000;
    if (!c->hc_max_attempts)
        c->hc_max_attempts = 8;
    if (!c->hc_backoff_base_ms)
        c->hc_backoff_base_ms = 250;
    if (!c->hc_backoff_max_ms)
        c->hc_backoff_max_ms = 15000;
    if (!c->hc_reserve_ahead_ms)
        c->hc_reserve_ahead_ms = 2000;
    if (!c->hc_refresh_ahead_ms)
        c->hc_refresh_ahead_ms = 300000;
    eng->he_shm = cfg->hc_shm;
    eng->he_counters = &cfg->hc_shm->sr_slots[cfg->hc_slot].sl_counters;
    eng->he_oauth = cfg->hc_refresh_token && cfg->hc_client_id && cfg->hc_client_secret;
    eng->he_plain_http = plain_http;
    eng->he_rng = clock_mono_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
    eng->he_multi = curl_multi_init();
    if (!eng->he_multi)
        goto nomem;
    curl_multi_setopt(eng->he_multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(eng->he_multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)cfg->hc_inflight);
    *out = eng;
    return 0;
nomem:
    http_engine_destroy(eng);
    return err_set(e, ERR_NOMEM, "http engine: out of memory");
}

static void drop_list(req_list *l)
{
    while (l->rl_head) {
        http_request *r = l->rl_head;
        list_unlink(l, NULL, r);
        request_free(r);
    }
}

void http_engine_destroy(http_engine *eng)
{
    if (!eng)
        return;
    drop_list(&eng->he_waiting);
    drop_list(&eng->he_reserved);
    for (int i = 0; i < eng->he_easy_count; i++) {
        http_request *r = NULL; /* set while the handle carries a transfer */
        curl_easy_getinfo(eng->he_easies[i], CURLINFO_PRIVATE, (char **)&r);
        if (r) {
            curl_multi_remove_handle(eng->he_multi, eng->he_easies[i]);
            request_free(r);
        }
        curl_easy_cleanup(eng->he_easies[i]);
    }
    if (eng->he_multi)
        curl_multi_cleanup(eng->he_multi);
    free(eng);
}

void http_submit(http_engine *eng, http_request *req, http_done_fn done, void *user)
{
    req->rq_done = done;
    req->rq_user = user;
    req->rq_not_before_ns = 0;
    list_push(&eng->he_waiting, req);
}

size_t http_pending(const http_engine *eng)
{
    return eng->he_waiting.rl_len + eng->he_reserved.rl_len + (size_t)eng->he_inflight;
}

/* ------------------------------------------------------------- transport */

/* The connection options every transfer gets, API calls and token refreshes
 * alike: one place, so none can miss the CA file or the verification. */
static void set_transport(const http_engine *eng, CURL *h, char *error_buf)
{
    const http_config *c = &eng->he_cfg;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->hc_connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->hc_total_timeout_ms);
    /* Certificates are always verified: there is no switch to turn it off. */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->hc_ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->hc_ca_file);
    /* Plain http:// is allowed because it stays on this machine; an
     * http_proxy from the environment would carry the token off it. */
    if (eng->he_plain_http)
        curl_easy_setopt(h, CURLOPT_PROXY, "");
    error_buf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buf);
}

/* Whether a failed transfer failed because the server's certificate cannot
 * be trusted (or the CA file cannot be used): sending again cannot help. */
static bool tls_trust_failure(CURLcode cc)
{
    return cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
           cc == CURLE_SSL_ISSUER_ERROR || cc == CURLE_SSL_CRL_BADFILE ||
           cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH || cc == CURLE_SSL_INVALIDCERTSTATUS;
}

/* Formats the message of a TLS trust failure: what curl saw, which CAs were
 * trusted, and the fix. */
static void tls_failure_message(const http_engine *eng, CURLcode cc, const char *curl_detail,
                                char *buf, size_t size)
{
    const char *ca = eng->he_cfg.hc_ca_file;
    /* Long paths may cut the tail; the certificate problem comes first. */
    int n = snprintf(buf, size,
                     "TLS certificate of %.100s not trusted: %.120s (CA file: %.100s); "
                     "pass the issuing CA with --ca-file",
                     eng->he_cfg.hc_base_url, curl_detail[0] ? curl_detail : curl_easy_strerror(cc),
                     ca ? ca : "the system's");
    if (n < 0)
        snprintf(buf, size, "TLS certificate not trusted");
}

/* Makes every request still waiting fail with `code` and `msg` (the failure
 * is not the request's: credentials refused, a certificate not trusted). */
static void engine_fail(http_engine *eng, int code, const char *msg)
{
    if (eng->he_fatal)
        return;
    eng->he_fatal = code;
    snprintf(eng->he_fatal_msg, sizeof(eng->he_fatal_msg), "%s", msg);
}

/* ------------------------------------------------------------- the token */

/* libcurl's progress callback during a token refresh, which blocks the
 * event loop: it beats for the process (at least once a second), so a
 * refresh waiting on a slow token endpoint is not taken for a hung worker;
 * the transfer's own time limit bounds it. */
static int refresh_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                            curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    const http_engine *eng = user;
    shm_beat(eng->he_shm, eng->he_cfg.hc_slot);
    return 0;
}

/* Synchronously exchanges the refresh token for a new access token and
 * publishes it. Returns 0, ERR_AUTH (the credentials were refused), ERR_TLS
 * (the server's certificate is not trusted) or ERR_HTTP (try again later). */
static int refresh_now(http_engine *eng, err_info *e)
{
    const http_config *c = &eng->he_cfg;
    jbuf form;
    jb_init(&form);
    CURL *h = curl_easy_init();
    int rc = ERR_HTTP;
    if (!h || hs_build_oauth_refresh(&form, c->hc_refresh_token, c->hc_client_id,
                                     c->hc_client_secret, e)) {
        rc = err_set(e, ERR_NOMEM, "token refresh: out of memory");
        goto out;
    }
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", c->hc_base_url, hs_path_token);
    http_request sink = {0}; /* on_body appends to sink.rq_resp */
    jb_init(&sink.rq_resp);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, jb_cstr(&form));
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)form.jb_len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, refresh_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, eng);
    char curl_error[CURL_ERROR_SIZE];
    set_transport(eng, h, curl_error);
    SHM_COUNT(eng->he_counters, requests, 1);
    SHM_COUNT(eng->he_counters, req_other, 1);
    SHM_COUNT(eng->he_counters, token_requests, 1);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK && tls_trust_failure(cc)) {
        char msg[ERR_MSG_MAX];
        tls_failure_message(eng, cc, curl_error, msg, sizeof(msg));
        rc = err_set(e, ERR_TLS, "token refresh: %s", msg);
    } else if (cc != CURLE_OK) {
        rc = err_set(e, ERR_HTTP, "token refresh: %s",
                     curl_error[0] ? curl_error : curl_easy_strerror(cc));
    } else if (status == 200) {
        hs_token tok;
        rc = hs_parse_token(jb_cstr(&sink.rq_resp), sink.rq_resp.jb_len, &tok, e);
        if (rc == 0) {
            /* Refresh ahead by the configured margin, but never by more
             * than a quarter of the token's life: a margin longer than the
             * life would make every request refresh. Published before the
             * token, so no reader sees the new token with the old time. */
            uint64_t now = clock_mono_ns(),
                     life_ns = (uint64_t)tok.tok_expires_in_s * 1000000000ULL;
            uint64_t ahead_ns = c->hc_refresh_ahead_ms * MS_NS;
            if (ahead_ns > life_ns / 4)
                ahead_ns = life_ns / 4;
            atomic_store(&eng->he_shm->sr_token.tk_refresh_at_ns, now + life_ns - ahead_ns);
            if (shm_token_set(eng->he_shm, tok.tok_access, now + life_ns) == 0)
                rc = err_set(e, ERR_AUTH, "token refresh: the access token is too long");
            SHM_COUNT(eng->he_counters, token_refreshes, 1);
        } else {
            rc = ERR_HTTP;
        }
    } else if (status >= 400 && status < 500 && status != 429) {
        hs_error_body eb;
        hs_parse_error(jb_cstr(&sink.rq_resp), sink.rq_resp.jb_len, &eb);
        rc = err_set(e, ERR_AUTH, "token refresh refused (HTTP %ld): %s %s", status, eb.eb_status,
                     eb.eb_message);
    } else {
        rc = err_set(e, ERR_HTTP, "token refresh: HTTP %ld", status);
    }
    jb_free(&sink.rq_resp);
out:
    if (h)
        curl_easy_cleanup(h);
    jb_free(&form);
    return rc;
}

/* Reads the shared token, refreshing it first when it is missing, about to
 * expire, or was refused as expired. Returns true when it may be used now. */
static bool token_ready(http_engine *eng, uint64_t now)
{
    shm_token *t = &eng->he_shm->sr_token;
    if (atomic_load(&t->tk_generation) != eng->he_token_gen || !eng->he_token[0])
        eng->he_token_gen = shm_token_get(eng->he_shm, eng->he_token, sizeof(eng->he_token));
    if (!eng->he_oauth)
        return eng->he_token[0] != '\0';
    uint64_t expires = atomic_load(&t->tk_expires_ns);
    uint64_t refresh_at = atomic_load(&t->tk_refresh_at_ns);
    bool expired = expires && now >= expires;
    bool stale = !eng->he_token[0] || eng->he_bad_token_gen == eng->he_token_gen ||
                 (refresh_at && now >= refresh_at) || expired;
    if (stale && now >= eng->he_refresh_after_ns &&
        shm_token_begin_refresh(eng->he_shm, getpid(), eng->he_token_gen, now,
                                now + eng->he_cfg.hc_total_timeout_ms * MS_NS)) {
        err_info e = {0};
        int rc = refresh_now(eng, &e);
        shm_token_end_refresh(eng->he_shm, getpid());
        if (rc == ERR_AUTH || rc == ERR_TLS) {
            engine_fail(eng, rc, e.ei_msg);
        } else if (rc) {
            eng->he_refresh_after_ns = now + 1000 * MS_NS;
        }
        eng->he_token_gen = shm_token_get(eng->he_shm, eng->he_token, sizeof(eng->he_token));
        expires = atomic_load(&t->tk_expires_ns);
        expired = expires && clock_mono_ns() >= expires;
    }
    /* Refreshing ahead of expiry is a courtesy: the old token still works. */
    return eng->he_token[0] && !expired && eng->he_bad_token_gen != eng->he_token_gen;
}

/* ------------------------------------------------------------ completion */

static void deliver(http_engine *eng, http_request *r, int status, int error, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void schedule_retry(http_engine *eng, http_request *r, uint64_t delay_ns, const char *why);

static uint64_t jitter_backoff_ns(http_engine *eng, int attempt)
{
    const http_config *c = &eng->he_cfg;
    uint64_t ms = c->hc_backoff_base_ms;
    for (int i = 1; i < attempt && ms < c->hc_backoff_max_ms; i++)
        ms *= 2;
    if (ms > c->hc_backoff_max_ms)
        ms = c->hc_backoff_max_ms;
    /* xorshift64: ±50% so that workers that failed together retry apart. */
    eng->he_rng ^= eng->he_rng << 13;
    eng->he_rng ^= eng->he_rng >> 7;
    eng->he_rng ^= eng->he_rng << 17;
    double f = 0.5 + (double)(eng->he_rng >> 11) * 0x1.0p-53;
    return (uint64_t)((double)ms * f * 1e6);
}

/* Hands the final response to the caller; frees or re-queues the request. */
static void deliver(http_engine *eng, http_request *r, int status, int error, const char *fmt, ...)
{
    int resends = r->rq_sends - (r->rq_delivered || r->rq_sends == 0 ? 0 : 1);
    http_response resp = {status,
                          error,
                          jb_cstr(&r->rq_resp),
                          r->rq_resp.jb_len,
                          r->rq_attempts,
                          r->rq_sends,
                          resends,
                          r->rq_throttled,
                          ""};
    r->rq_delivered = true;
    r->rq_sends = r->rq_throttled = 0;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(resp.hr_message, sizeof(resp.hr_message), fmt, ap);
        va_end(ap);
    }
    http_verdict v = r->rq_done ? r->rq_done(r->rq_user, r, &resp) : HTTP_DONE;
    if (v == HTTP_RETRY && error == 0)
        schedule_retry(eng, r, jitter_backoff_ns(eng, r->rq_attempts),
                       "the caller could not use the response");
    else
        request_free(r);
}

static void schedule_retry(http_engine *eng, http_request *r, uint64_t delay_ns, const char *why)
{
    if (r->rq_attempts >= eng->he_cfg.hc_max_attempts) {
        deliver(eng, r, 0, ERR_HTTP, "%s %s: gave up after %d attempts: %s",
                r->rq_post ? "POST" : "GET", r->rq_path, r->rq_attempts, why);
        return;
    }
    SHM_COUNT(eng->he_counters, retries, 1);
    jb_reset(&r->rq_resp);
    r->rq_resp_too_big = false;
    r->rq_not_before_ns = clock_mono_ns() + delay_ns;
    list_push(&eng->he_waiting, r);
}

static budget *budget_of(http_engine *eng, http_class cls)
{
    return cls == HTTP_SEARCH ? &eng->he_shm->sr_search : &eng->he_shm->sr_burst;
}

static rl_policy *policy_of(http_engine *eng, http_class cls)
{
    return &budget_of(eng, cls)->bu_rl;
}

/* A 429, its body parsed into *eb (the daily limit has heard of it
 * already: daily_answered). */
static void on_429(http_engine *eng, http_request *r, const hs_error_body *eb)
{
    SHM_COUNT(eng->he_counters, status_429, 1);
    r->rq_throttled++;
    if (eb->eb_policy == HS_POLICY_DAILY) {
        deliver(eng, r, 429, ERR_DAILY, "the portal's daily API limit is spent: %s",
                eb->eb_message);
        return;
    }
    budget *b = eb->eb_policy == HS_POLICY_SECONDLY               ? &eng->he_shm->sr_search
                : eb->eb_policy == HS_POLICY_TEN_SECONDLY_ROLLING ? &eng->he_shm->sr_burst
                                                                  : budget_of(eng, r->rq_class);
    uint64_t wait =
        rl_backoff_ns(&b->bu_rl, r->rq_retry_after_ms > 0 ? (uint64_t)r->rq_retry_after_ms : 0,
                      r->rq_interval_ms > 0 ? (uint64_t)r->rq_interval_ms : 0);
    /* Every worker waits: the next slot anyone gets is after the penalty;
     * and the budget runs slower from then on, not only later. */
    rl_penalize(&b->bu_rl, clock_mono_ns() + wait);
    budget_throttled(b);
    schedule_retry(eng, r, 0, "rate limited (429)");
}

static void on_401(http_engine *eng, http_request *r)
{
    hs_error_body eb;
    hs_parse_error(jb_cstr(&r->rq_resp), r->rq_resp.jb_len, &eb);
    SHM_COUNT(eng->he_counters, status_other, 1);
    if (eng->he_oauth && eb.eb_auth == HS_AUTH_EXPIRED && r->rq_auth_retries < MAX_AUTH_RETRIES) {
        /* Refresh that generation (once, whoever gets there first) and resend. */
        r->rq_auth_retries++;
        r->rq_attempts--; /* an expired token is not the request's fault */
        if (eng->he_bad_token_gen < r->rq_token_gen)
            eng->he_bad_token_gen = r->rq_token_gen;
        schedule_retry(eng, r, 0, "token expired");
        return;
    }
    deliver(eng, r, 401, ERR_AUTH, "authentication failed: %s %s", eb.eb_category, eb.eb_message);
}

/* ------------------------------------------------------------ daily limit */

/* How long a gate holder may keep it before it is presumed dead: its slot
 * wait plus a whole transfer, and some. */
static uint64_t gate_lease_ns(const http_engine *eng)
{
    return (eng->he_cfg.hc_reserve_ahead_ms + eng->he_cfg.hc_total_timeout_ms + 5000) * MS_NS;
}

/* Tells the shared region which gate ticket this process holds (0: none),
 * so that if it dies holding it, the gate opens at once (shm.h). */
static void gate_mark(http_engine *eng, uint64_t ticket)
{
    atomic_store(&eng->he_shm->sr_slots[eng->he_cfg.hc_slot].sl_gate_ticket, ticket);
}

/* The request gives back the daily gate it holds, if any (not sent after all). */
static void gate_leave(http_engine *eng, http_request *r)
{
    bool held = r->rq_gate_ticket != 0;
    rl_daily_release(&eng->he_shm->sr_daily, &r->rq_gate_ticket);
    if (held)
        gate_mark(eng, 0);
}

/* A cheap request whose answer carries the daily headers (an object list's
 * first record), sent while the limit is not known and only searches wait.
 * Its answer is used for its headers only. */
static http_request *daily_probe(http_engine *eng, uint64_t ticket)
{
    (void)eng;
    http_request *r = http_request_new(HTTP_OTHER, "GET", hs_path_daily_probe);
    if (r)
        r->rq_gate_ticket = ticket;
    return r;
}

/* A response (status 0: none; a 429's body parsed into *eb) came back:
 * tells the daily limit what it says (rl_daily_answered), which gives the
 * gate back. */
static void daily_answered(http_engine *eng, http_request *r, long status, const hs_error_body *eb)
{
    rl_daily_answer a = {
        .da_status = status,
        .da_tells_count = r->rq_class != HTTP_SEARCH,
        .da_daily_429 = status == 429 && eb->eb_policy == HS_POLICY_DAILY,
        .da_headers = r->rq_daily_remaining >= 0,
        .da_limit = r->rq_daily_limit > 0 ? (uint64_t)r->rq_daily_limit : 0,
        .da_remaining = r->rq_daily_remaining >= 0 ? (uint64_t)r->rq_daily_remaining : 0,
    };
    bool held = r->rq_gate_ticket != 0;
    rl_daily_answered(&eng->he_shm->sr_daily, rl_utc_day(), &a, &r->rq_gate_ticket);
    if (held)
        gate_mark(eng, 0);
}

/* What an answer (status 0: none) tells the request's budget: how long the
 * request took to go out, how long the answer took, and, from HubSpot's headers,
 * the limit and what other apps spend of it. */
static void budget_answered_by(http_engine *eng, http_request *r, CURL *h, long status,
                               uint64_t now)
{
    budget *b = budget_of(eng, r->rq_class);
    curl_off_t pretransfer_us = 0;
    curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
    /* A late wake-up is bounded already (a new slot past half the margin);
     * connecting (TCP, TLS) delays the request unseen by the limiter. */
    budget_sent(b, (uint64_t)pretransfer_us * 1000);
    if (status == 0)
        return;
    if (status != 429 && status < 500) {
        /* The others say nothing of the usual time. */
        budget_answered(b, now - r->rq_sent_ns);
        rtt_sample(&eng->he_shm->sr_latency[r->rq_class], now - r->rq_sent_ns);
    }
    if (r->rq_class == HTTP_SEARCH)
        return; /* search answers carry no burst headers */
    if (r->rq_rate_max > 0)
        budget_learn(b, (uint32_t)r->rq_rate_max,
                     r->rq_interval_ms > 0 ? (uint64_t)r->rq_interval_ms : 0, r->rq_rate_remaining,
                     r->rq_slot_ns);
    else if (status >= 200 && status < 300)
        budget_no_headers(b);
}

static void complete(http_engine *eng, CURL *h, CURLcode cc)
{
    http_request *r = NULL;
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&r);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(eng->he_multi, h);
    curl_easy_setopt(h, CURLOPT_PRIVATE, NULL);
    eng->he_easy_pool[eng->he_easy_free++] = h;
    eng->he_inflight--;
    r->rq_easy = NULL;
    curl_slist_free_all(r->rq_headers);
    r->rq_headers = NULL;
    uint64_t now = clock_mono_ns();
    SHM_COUNT(eng->he_counters, latency_us, (now - r->rq_sent_ns) / 1000);
    SHM_COUNT(eng->he_counters, bytes_in, r->rq_resp.jb_len);
    hs_error_body eb = {0};
    if (cc == CURLE_OK && status == 429)
        hs_parse_error(jb_cstr(&r->rq_resp), r->rq_resp.jb_len, &eb);
    daily_answered(eng, r, cc == CURLE_OK ? status : 0, &eb);
    budget_answered_by(eng, r, h, cc == CURLE_OK ? status : 0, now);
    if (cc == CURLE_OK)
        skew_sample(&eng->he_shm->sr_skew, r->rq_date_s, r->rq_sent_wall_ms, clock_wall_ms());
    if (cc != CURLE_OK) {
        if (r->rq_resp_too_big) {
            deliver(eng, r, (int)status, ERR_HTTP, "%s: response larger than %zu bytes", r->rq_path,
                    RESPONSE_CAP);
            return;
        }
        SHM_COUNT(eng->he_counters, net_errors, 1);
        if (tls_trust_failure(cc)) {
            /* Not transient: fail this request and every waiting one now,
             * rather than knock on the same certificate again and again. */
            char msg[ERR_MSG_MAX];
            tls_failure_message(eng, cc, r->rq_curl_error, msg, sizeof(msg));
            engine_fail(eng, ERR_TLS, msg);
            deliver(eng, r, 0, ERR_TLS, "%s", msg);
            return;
        }
        /* Resets, timeouts, refused connections, truncated bodies, and
         * answers that did not start in time or whose body stopped coming
         * (cut_stalled): a time limit that ran out is doubled for the
         * resend (Karn), so an answer that is slow but real cannot be cut
         * for ever. */
        if (cc == CURLE_OPERATION_TIMEDOUT)
            r->rq_cuts++;
        char why[CURL_ERROR_SIZE];
        if (cc == CURLE_ABORTED_BY_CALLBACK && r->rq_wire_sends > 1)
            snprintf(why, sizeof(why), "the connection closed before an answer");
        else
            snprintf(why, sizeof(why), "%s",
                     r->rq_curl_error[0] ? r->rq_curl_error : curl_easy_strerror(cc));
        schedule_retry(eng, r, jitter_backoff_ns(eng, r->rq_attempts), why);
        return;
    }
    if (status == 429) {
        on_429(eng, r, &eb);
    } else if (status == 401) {
        on_401(eng, r);
    } else if (status >= 500 || status == 423 || status == 477) {
        if (status >= 500)
            SHM_COUNT(eng->he_counters, status_5xx, 1);
        else
            SHM_COUNT(eng->he_counters, status_other, 1);
        uint64_t wait = jitter_backoff_ns(eng, r->rq_attempts);
        if (r->rq_retry_after_ms > 0 && (uint64_t)r->rq_retry_after_ms * MS_NS > wait)
            wait = (uint64_t)r->rq_retry_after_ms * MS_NS;
        if (status == 423 && wait < 2000 * MS_NS)
            wait = 2000 * MS_NS; /* HubSpot: a lock lasts 2 s */
        char why[32];
        snprintf(why, sizeof(why), "HTTP %ld", status);
        schedule_retry(eng, r, wait, why);
    } else {
        SHM_COUNT(eng->he_counters, status_2xx, status >= 200 && status < 300);
        SHM_COUNT(eng->he_counters, status_other, !(status >= 200 && status < 300));
        deliver(eng, r, (int)status, 0, NULL);
    }
}

/* ----------------------------------------------------------------- start */

/* Called by libcurl just before a request goes on the wire. libcurl sends
 * a request again by itself when the connection it reused died before any
 * answer came (a reset): HubSpot may have counted the first send, and the
 * second would go out past the limiter, unpaced (a search then fills its
 * one-second window: a 429). So the second is refused here; the transfer
 * fails as the reset did, and the engine sends it again (complete) with a
 * slot of its own. */
static int on_prereq(void *clientp, char *primary_ip, char *local_ip, int primary_port,
                     int local_port)
{
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    http_request *r = clientp;
    return r->rq_wire_sends++ == 0 ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

/* An idle transfer handle, or a new one while fewer than the cap exist:
 * handles, and the connections they keep, grow with the concurrency the
 * run asks for. NULL when out of memory. */
static CURL *take_easy(http_engine *eng)
{
    if (eng->he_easy_free > 0)
        return eng->he_easy_pool[--eng->he_easy_free];
    if (eng->he_easy_count >= eng->he_cfg.hc_inflight)
        return NULL;
    CURL *h = curl_easy_init();
    if (h)
        eng->he_easies[eng->he_easy_count++] = h;
    return h;
}

/* How long the answer to r may take to start: its family's learned limit
 * (rtt_limit_ns: never under HTTP_ANSWER_FLOOR_MS), doubled for every send
 * of r already given up, never over the ceiling (hc_total_timeout_ms). */
static uint64_t answer_limit_ns(http_engine *eng, const http_request *r)
{
    uint64_t ceiling = (uint64_t)eng->he_cfg.hc_total_timeout_ms * MS_NS;
    uint64_t limit = rtt_limit_ns(&eng->he_shm->sr_latency[r->rq_class],
                                  (uint64_t)HTTP_ANSWER_FLOOR_MS * MS_NS, ceiling);
    for (int i = 0; i < r->rq_cuts && limit < ceiling; i++)
        limit *= 2;
    return limit < ceiling ? limit : ceiling;
}

static int launch(http_engine *eng, http_request *r)
{
    rl_daily *d = &eng->he_shm->sr_daily;
    uint64_t left;
    bool held = r->rq_gate_ticket != 0;
    rl_daily_verdict v = rl_daily_charge(d, rl_utc_day(), &r->rq_gate_ticket, &left);
    if (v != RL_DAILY_SEND && held)
        gate_mark(eng, 0); /* not sent: the charge gave the gate back */
    switch (v) {
    case RL_DAILY_SEND:
        break;
    case RL_DAILY_RESERVE_REACHED:
        deliver(eng, r, 0, ERR_DAILY,
                "stopped with %llu calls of the day left (--daily-reserve %llu): %s not sent",
                (unsigned long long)left, (unsigned long long)rl_daily_reserve(d), r->rq_path);
        return 0;
    default:
        deliver(eng, r, 0, ERR_DAILY, "the daily API limit is spent (%s not sent)", r->rq_path);
        return 0;
    }
    const http_config *c = &eng->he_cfg;
    CURL *h = take_easy(eng);
    if (!h) {
        gate_leave(eng, r);
        deliver(eng, r, 0, ERR_NOMEM, "%s: could not start the transfer", r->rq_path);
        return 0;
    }
    curl_easy_reset(h);
    char url[4096], auth[SHM_TOKEN_MAX + 32];
    snprintf(url, sizeof(url), "%s%s", c->hc_base_url, r->rq_path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", eng->he_token);
    r->rq_headers = curl_slist_append(NULL, auth);
    r->rq_headers = curl_slist_append(r->rq_headers, "Accept: application/json");
    if (r->rq_post) {
        r->rq_headers = curl_slist_append(r->rq_headers, "Content-Type: application/json");
        /* No "Expect: 100-continue" (curl's default above 1 KiB): the
         * body would wait up to a second for the server's go-ahead, and
         * HubSpot counts the request only when it has all of it, late. */
        r->rq_headers = curl_slist_append(r->rq_headers, "Expect:");
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->rq_headers);
    if (r->rq_post) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, jb_cstr(&r->rq_body));
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)r->rq_body.jb_len);
    }
    curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)r);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(h, CURLOPT_PREREQDATA, r);
    r->rq_wire_sends = 0;
    set_transport(eng, h, r->rq_curl_error);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    /* Over TLS, wait for the handshake and multiplex on HTTP/2. Over plain
     * HTTP there is no HTTP/2 to wait for, but curl would still hold each new
     * request until an open connection's first answer says so: a whole
     * round trip at the start, with the limiter's slot spent meanwhile. */
    curl_easy_setopt(h, CURLOPT_PIPEWAIT, eng->he_plain_http ? 0L : 1L);
    r->rq_retry_after_ms = r->rq_interval_ms = r->rq_daily_remaining = r->rq_daily_limit = -1;
    r->rq_rate_max = r->rq_rate_remaining = -1;
    r->rq_token_gen = eng->he_token_gen;
    r->rq_sent_ns = clock_mono_ns();
    r->rq_sent_wall_ms = clock_wall_ms();
    r->rq_date_s = 0;
    r->rq_limit_ns = answer_limit_ns(eng, r);
    r->rq_last_byte_ns = r->rq_sent_ns;
    r->rq_attempts++;
    r->rq_sends++;
    r->rq_easy = h;
    SHM_COUNT(eng->he_counters, requests, 1);
    switch (r->rq_class) {
    case HTTP_ASSOC:
        SHM_COUNT(eng->he_counters, req_assoc, 1);
        break;
    case HTTP_SEARCH:
        SHM_COUNT(eng->he_counters, req_search, 1);
        break;
    case HTTP_LIST:
        SHM_COUNT(eng->he_counters, req_list, 1);
        break;
    case HTTP_OTHER:
        SHM_COUNT(eng->he_counters, req_other, 1);
        break;
    }
    if (!r->rq_headers || curl_multi_add_handle(eng->he_multi, h) != CURLM_OK) {
        curl_easy_setopt(h, CURLOPT_PRIVATE, NULL);
        eng->he_easy_pool[eng->he_easy_free++] = h;
        r->rq_easy = NULL;
        gate_leave(eng, r);
        deliver(eng, r, 0, ERR_NOMEM, "%s: could not start the transfer", r->rq_path);
        return 0;
    }
    eng->he_inflight++;
    return 0;
}

/* Fails every request of `l` with the engine's fatal error (callbacks may
 * submit more: they land in he_waiting and fail in turn). */
static void fail_list(http_engine *eng, req_list *l)
{
    while (l->rl_head) {
        http_request *r = l->rl_head;
        list_unlink(l, NULL, r);
        gate_leave(eng, r);
        deliver(eng, r, 0, eng->he_fatal, "%s", eng->he_fatal_msg);
    }
}

/* Keeps in *wake the earlier of it and t (0: nothing yet). */
static void wake_at(uint64_t *wake, uint64_t t)
{
    if (*wake == 0 || t < *wake)
        *wake = t;
}

/* Sends the reserved requests whose slot has come; a request whose budget
 * took a 429 since it reserved, or that woke too late for its slot, goes
 * back to wait for a new one. */
static void start_reserved(http_engine *eng, uint64_t now, uint64_t *wake)
{
    for (http_request *prev = NULL, *r = eng->he_reserved.rl_head; r;) {
        http_request *next = r->rq_next;
        rl_policy *p = policy_of(eng, r->rq_class);
        if (rl_penalties(p) != r->rq_penalties) {
            /* A 429 since the slot was reserved: its pace is no longer the
             * budget's; take a new slot, after the penalty. */
            list_unlink(&eng->he_reserved, prev, r);
            list_push_front(&eng->he_waiting, r);
        } else if (r->rq_slot_ns <= now) {
            list_unlink(&eng->he_reserved, prev, r);
            /* Woken too late for its slot (a busy or starved process): sent
             * now it could share a window with the limit's worth after it;
             * a new slot instead (a few times: a worker that cannot keep
             * time must still make progress, and its lateness widens the
             * margin, budget_sent). */
            if (r->rq_slots_missed < MAX_RESLOTS && now - r->rq_slot_ns > rl_late_tolerance_ns(p)) {
                r->rq_slots_missed++;
                SHM_COUNT(eng->he_counters, reslots, 1);
                list_push_front(&eng->he_waiting, r);
            } else {
                r->rq_slots_missed = 0;
                launch(eng, r);
            }
        } else {
            wake_at(wake, r->rq_slot_ns);
            prev = r;
        }
        r = next;
    }
}

/* Reserves limiter slots for waiting requests while transfers are free:
 * past the daily gate (and its probe, for a search), sent at once when the
 * slot is now, else kept until it comes. */
static void reserve_waiting(http_engine *eng, uint64_t now, uint64_t *wake)
{
    uint64_t ahead = eng->he_cfg.hc_reserve_ahead_ms * MS_NS;
    http_request *prev = NULL, *r = eng->he_waiting.rl_head;
    while (r && eng->he_inflight + (int)eng->he_reserved.rl_len < eng->he_cfg.hc_inflight) {
        http_request *next = r->rq_next;
        if (r->rq_not_before_ns > now) {
            wake_at(wake, r->rq_not_before_ns);
            prev = r;
            r = next;
            continue;
        }
        if (!r->rq_gate_ticket) {
            uint64_t ticket;
            rl_daily_verdict v =
                rl_daily_admit(&eng->he_shm->sr_daily, rl_utc_day(), now, gate_lease_ns(eng),
                               r->rq_class != HTTP_SEARCH, &ticket);
            if (v == RL_DAILY_WAIT) {
                wake_at(wake, now + 20 * MS_NS); /* another request is learning the limit */
                break;
            }
            if (v == RL_DAILY_PROBE_FIRST) {
                /* The probe holds the gate; r waits for its answer. */
                http_request *probe = daily_probe(eng, ticket);
                if (!probe) {
                    rl_daily_release(&eng->he_shm->sr_daily, &ticket);
                    wake_at(wake, now + 20 * MS_NS);
                    break;
                }
                list_push_front(&eng->he_waiting, probe);
                prev = NULL;
                r = probe;
                next = r->rq_next;
            }
            r->rq_gate_ticket = ticket;
            if (ticket)
                gate_mark(eng, ticket);
        }
        uint64_t start;
        if (!rl_reserve(policy_of(eng, r->rq_class), now, ahead, &start)) {
            gate_leave(eng, r);
            wake_at(wake, start - ahead);
            break; /* the budget is booked that far ahead: wait */
        }
        list_unlink(&eng->he_waiting, prev, r);
        r->rq_slot_ns = start;
        r->rq_penalties = rl_penalties(policy_of(eng, r->rq_class));
        if (start <= now) {
            launch(eng, r);
        } else {
            list_push(&eng->he_reserved, r);
            wake_at(wake, start);
        }
        r = next;
    }
}

/* Starts due reservations and reserves slots for waiting requests while
 * transfers are free. Returns the time of the next thing to do (0: none). */
static uint64_t start_ready(http_engine *eng, uint64_t now)
{
    uint64_t wake = 0;
    if (eng->he_fatal) {
        /* Nothing is sent once the credentials or the certificate are known
         * to be refused, not even what already holds a limiter slot. */
        fail_list(eng, &eng->he_reserved);
        fail_list(eng, &eng->he_waiting);
        return 0;
    }
    start_reserved(eng, now, &wake);
    if (eng->he_waiting.rl_len == 0)
        return wake;
    bool token_ok = token_ready(eng, now);
    if (eng->he_fatal)
        return start_ready(eng, now); /* the refresh was refused: fail what waits */
    if (!token_ok) {
        wake_at(&wake, now + 20 * MS_NS); /* another worker is refreshing: look again soon */
        return wake;
    }
    reserve_waiting(eng, now, &wake);
    return wake;
}

/* Runs curl's transfers as far as they go without waiting, then completes
 * what finished (callbacks run here). Returns how many completed, or a
 * negative ERR_*. */
static int perform(http_engine *eng)
{
    int running, completed = 0, left;
    if (curl_multi_perform(eng->he_multi, &running) != CURLM_OK)
        return ERR_HTTP;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(eng->he_multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        /* A callback may parse a large body: beat before each. */
        shm_beat(eng->he_shm, eng->he_cfg.hc_slot);
        complete(eng, msg->easy_handle, msg->data.result);
        completed++;
    }
    return completed;
}

/* Gives up every transfer that has gone its limit (launch) without a byte:
 * an answer that does not start, or a body that stops coming. A stall then
 * costs its family's limit and a resend under the same limiter, rather
 * than libcurl's whole timeout. (libcurl's CURLOPT_LOW_SPEED_TIME would
 * see a body stop too, but it judges an average over the last five
 * seconds or so: a 1-second setting gave up a stopped body after 7.2 s,
 * tests/sim/it_robust.c fault_stall_body.) Returns how many were given
 * up; keeps in *wake the earliest deadline still to come. */
static int cut_stalled(http_engine *eng, uint64_t now, uint64_t *wake)
{
    int cut = 0;
    for (int i = 0; i < eng->he_easy_count; i++) {
        CURL *h = eng->he_easies[i];
        http_request *r = NULL; /* set while the handle carries a transfer */
        curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&r);
        if (!r)
            continue;
        uint64_t deadline = r->rq_last_byte_ns + r->rq_limit_ns;
        if (now < deadline) {
            wake_at(wake, deadline);
            continue;
        }
        snprintf(r->rq_curl_error, sizeof(r->rq_curl_error), "%s for %llu ms",
                 r->rq_last_byte_ns == r->rq_sent_ns ? "no answer" : "the answer stopped",
                 (unsigned long long)((now - r->rq_last_byte_ns) / MS_NS));
        complete(eng, h, CURLE_OPERATION_TIMEDOUT);
        cut++;
    }
    return cut;
}

int http_run(http_engine *eng, int max_wait_ms, int extra_fd, bool *extra_ready)
{
    shm_beat(eng->he_shm, eng->he_cfg.hc_slot);
    uint64_t now = clock_mono_ns();
    uint64_t wake = start_ready(eng, now);
    /* Start what was just launched now, not after the wait below: a
     * transfer added to the multi handle is sent only by a perform, and
     * sends held back together would reach HubSpot together, closer than
     * their limiter slots. What that perform finishes completes now too:
     * its bytes are read, and the wait would not wake for them. */
    int completed = perform(eng);
    if (completed < 0)
        return completed;
    completed += cut_stalled(eng, clock_mono_ns(), &wake);
    int timeout_ms = completed ? 0 : max_wait_ms;
    if (wake) {
        uint64_t until = wake > now ? (wake - now + MS_NS - 1) / MS_NS : 0;
        if ((int64_t)until < timeout_ms)
            timeout_ms = (int)until;
    }
    struct curl_waitfd extra = {extra_fd, CURL_WAIT_POLLIN, 0};
    int numfds = 0;
    if (extra_ready)
        *extra_ready = false;
    CURLMcode mc = curl_multi_poll(eng->he_multi, extra_fd >= 0 ? &extra : NULL,
                                   extra_fd >= 0 ? 1 : 0, timeout_ms, &numfds);
    if (mc != CURLM_OK)
        return ERR_HTTP;
    shm_beat(eng->he_shm, eng->he_cfg.hc_slot);
    if (extra_fd >= 0 && extra_ready && (extra.revents & CURL_WAIT_POLLIN))
        *extra_ready = true;
    int more = perform(eng);
    return more < 0 ? more : completed + more;
}
