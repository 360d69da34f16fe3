/*
 * sim_server — libmicrohttpd glue, HubSpot's edge behaviour and the admin
 * endpoints (see sim_server.h).
 *
 * Order of checks for an API request, as HubSpot's edge does it: route →
 * auth (401) → daily, search or burst policy (429) → injected faults →
 * handler (400 for bad input) → latency → a stall, if one strikes →
 * response (possibly truncated, or stopped half way and held open).
 * A request refused by a policy does not consume budget. The latency is
 * slept after admission, so the limiter sees a request when it arrives.
 *
 * Besides the request threads: the churn thread (background mutations), the
 * rollup thread (recomputations when due) and the foreign thread (another
 * app's requests against the same limits, --foreign-load).
 */
#include "sim_server.h"
#include "../common/base/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sim_api.h"
#include "sim_foreign.h"
#include "sim_json.h"
#include "sim_latency.h"
#include "sim_limits.h"
#include "sim_stats.h"

struct sim_server {
    pthread_mutex_t sv_cfg_lock;
    sim_config sv_cfg;
    pthread_rwlock_t sv_portal_lock;
    sim_portal *sv_portal;
    sim_auth sv_auth;
    sim_stats sv_stats;
    pthread_mutex_t sv_limit_lock;
    sim_window sv_burst, sv_search;
    sim_daily sv_daily;
    pthread_mutex_t sv_rng_lock;
    sim_rng sv_rng;
    sim_rng sv_latency_rng; /* apart, so the latency profile leaves fault draws alone */
    struct MHD_Daemon *sv_daemon;
    char *sv_tls_cert, *sv_tls_key; /* PEM text MHD reads from, for the daemon's life */
    uint16_t sv_port;
    int64_t sv_clock_offset_ms; /* --clock-offset-ms: HubSpot's clock minus this machine's */
    pthread_t sv_churn;
    bool sv_churn_started;
    /* The rollup thread sleeps until sv_rollup_wake_ms (HubSpot's clock; INT64_MAX:
     * nothing pending); whoever schedules an earlier recomputation lowers it
     * and signals. Lock order: the portal lock, then sv_rollup_lock. */
    pthread_t sv_rollup;
    bool sv_rollup_started;
    pthread_mutex_t sv_rollup_lock;
    pthread_cond_t sv_rollup_cond;
    int64_t sv_rollup_wake_ms;
    /* The foreign thread sleeps until the schedule's next arrival (its
     * condition variable runs on CLOCK_MONOTONIC, as the schedule does);
     * a change of foreign_load signals it. */
    pthread_t sv_foreign_thread;
    bool sv_foreign_started;
    pthread_mutex_t sv_foreign_lock;
    pthread_cond_t sv_foreign_cond;
    sim_foreign sv_foreign;
    atomic_bool sv_stopping;
};

/* Per-connection request state: the body as it arrives. */
typedef struct conn_req {
    jbuf cr_body;
    bool cr_too_large;
} conn_req;

static void sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static double draw_unit(sim_server *s)
{
    pthread_mutex_lock(&s->sv_rng_lock);
    double u = sim_rng_unit(&s->sv_rng);
    pthread_mutex_unlock(&s->sv_rng_lock);
    return u;
}

/* A copy of the live configuration, for one request or one change. */
static void config_snapshot(sim_server *s, sim_config *out)
{
    pthread_mutex_lock(&s->sv_cfg_lock);
    *out = s->sv_cfg;
    pthread_mutex_unlock(&s->sv_cfg_lock);
}

/* ------------------------------------------------------------ stalls */

/* The longest a stall holds a connection whose client never hangs up. */
#define STALL_MAX_MS 600000

/* Holds the calling connection thread (one per connection: nobody else
 * waits) until the client hangs up, the server stops or `ms` have passed
 * (0: STALL_MAX_MS). Returns whether the client is still there. */
static bool hold_connection(sim_server *s, int fd, int64_t ms)
{
    int64_t end = (int64_t)(clock_mono_ns() / 1000000) + (ms > 0 ? ms : STALL_MAX_MS);
    for (;;) {
        int64_t left = end - (int64_t)(clock_mono_ns() / 1000000);
        if (left <= 0 || atomic_load(&s->sv_stopping))
            return true;
        struct pollfd p = {fd, POLLIN | POLLRDHUP, 0};
        if (fd < 0 || poll(&p, 1, left < 100 ? (int)left : 100) <= 0)
            continue;
        if (p.revents & (POLLHUP | POLLERR | POLLRDHUP))
            return false;
        char byte;
        ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return false;
        sleep_ms(left < 100 ? left : 100); /* bytes of a next request: keep holding */
    }
}

/* The socket of connection c (-1 if MHD cannot say). */
static int connection_fd(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

/* ------------------------------------------------------------ sending */

/* What becomes of a body on its way out (the faults that strike it). */
typedef enum body_fault {
    BODY_WHOLE,
    BODY_TRUNCATED, /* half of it, then the connection closed */
    BODY_STALLED    /* half of it, then the connection held open */
} body_fault;

typedef struct truncated_body {
    char *tb_data;
    size_t tb_len, tb_cut;
    sim_server *tb_server;
    int tb_hold_fd; /* BODY_STALLED: the socket to hold; -1 otherwise */
} truncated_body;

static ssize_t truncated_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    truncated_body *t = cls;
    if (pos >= t->tb_cut) {
        /* What came before has gone out (MHD asks for more once its buffer
         * is sent): the client has half the body and waits for the rest. */
        if (t->tb_hold_fd >= 0)
            hold_connection(t->tb_server, t->tb_hold_fd, 0);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = t->tb_cut - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, t->tb_data + pos, n);
    return (ssize_t)n;
}

static void truncated_free(void *cls)
{
    truncated_body *t = cls;
    free(t->tb_data);
    free(t);
}

/* HubSpot's time now (epoch ms): this machine's clock and --clock-offset-ms.
 * Everything HubSpot stamps or reckons by its own clock uses it (writes,
 * search views, rollups, token expiry, the daily window, the Date header);
 * the statistics keep this machine's. */
static int64_t portal_now_ms(const sim_server *s)
{
    return clock_wall_ms() + s->sv_clock_offset_ms;
}

/* HubSpot's Date header (RFC 9110's IMF-fixdate), from its own clock; set
 * here so that libmicrohttpd adds none from this machine's. strftime's
 * names are English: the simulator never leaves the C locale. */
static void add_date_header(const sim_server *s, struct MHD_Response *r)
{
    time_t t = (time_t)(portal_now_ms(s) / 1000);
    struct tm tm;
    char date[40];
    if (gmtime_r(&t, &tm) && strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm))
        MHD_add_response_header(r, MHD_HTTP_HEADER_DATE, date);
}

/* Queues rs on c; `stats` (NULL for admin endpoints) counts its status;
 * `fault` cuts the body half way. */
static enum MHD_Result send_response(sim_server *s, struct MHD_Connection *c, sim_stats *stats,
                                     sim_response *rs, body_fault fault)
{
    size_t len;
    char *data = jb_steal(&rs->rs_body, &len);
    if (!data)
        return MHD_NO;
    struct MHD_Response *r;
    if (fault != BODY_WHOLE && len > 1) {
        truncated_body *t = malloc(sizeof(*t));
        if (!t) {
            free(data);
            return MHD_NO;
        }
        *t = (truncated_body){data, len, len / 2, s, fault == BODY_STALLED ? connection_fd(c) : -1};
        r = MHD_create_response_from_callback(len, 4096, truncated_reader, t, truncated_free);
        if (!r)
            truncated_free(t);
    } else {
        r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
        if (!r)
            free(data);
    }
    if (!r)
        return MHD_NO;
    add_date_header(s, r);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rs->rs_content_type);
    for (int i = 0; i < rs->rs_nheaders; i++)
        MHD_add_response_header(r, rs->rs_headers[i].h_name, rs->rs_headers[i].h_value);
    if (stats)
        sim_stats_status(stats, rs->rs_status);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)rs->rs_status, r);
    MHD_destroy_response(r);
    return ret;
}

/* ------------------------------------------------------- rate limiting */

/* The X-HubSpot-RateLimit-* headers: the burst policy's when it counted this
 * request, the daily ones for private-app tokens when a daily limit is set.
 * Search responses carry none (HubSpot's don't). */
static void rate_headers(sim_response *rs, const sim_config *cfg, bool burst, uint32_t remaining,
                         bool daily, uint64_t daily_remaining)
{
    if (burst && cfg->sc_rate) {
        sim_response_header(rs, "X-HubSpot-RateLimit-Interval-Milliseconds", "%lld",
                            (long long)cfg->sc_rate_window_ms);
        sim_response_header(rs, "X-HubSpot-RateLimit-Max", "%u", cfg->sc_rate);
        sim_response_header(rs, "X-HubSpot-RateLimit-Remaining", "%u", remaining);
        /* Deprecated and not enforced, but still sent. */
        uint32_t secondly = (uint32_t)((cfg->sc_rate * 1000 + cfg->sc_rate_window_ms - 1) /
                                       (cfg->sc_rate_window_ms ? cfg->sc_rate_window_ms : 1));
        sim_response_header(rs, "X-HubSpot-RateLimit-Secondly", "%u", secondly);
        sim_response_header(rs, "X-HubSpot-RateLimit-Secondly-Remaining", "%u", secondly);
    }
    if (daily && cfg->sc_daily > 0 && cfg->sc_auth == SIM_AUTH_PRIVATE) {
        sim_response_header(rs, "X-HubSpot-RateLimit-Daily", "%llu",
                            (unsigned long long)cfg->sc_daily);
        sim_response_header(rs, "X-HubSpot-RateLimit-Daily-Remaining", "%llu",
                            (unsigned long long)daily_remaining);
    }
}

static void rate_limited_body(sim_response *rs, sim_policy policy)
{
    static const char *const messages[SIM_POLICY_COUNT] = {
        "You have reached your ten_secondly_rolling limit.",
        "You have reached your secondly limit.",
        "You have reached your daily limit.",
    };
    char correlation[37], request[37];
    sim_uuid(correlation);
    sim_uuid(request);
    rs->rs_status = 429;
    jb_reset(&rs->rs_body);
    jb_printf(&rs->rs_body,
              "{\"status\":\"error\",\"message\":\"%s\",\"errorType\":\"RATE_LIMIT\","
              "\"correlationId\":\"%s\",\"policyName\":\"%s\",\"requestId\":\"%s\"}",
              messages[policy], correlation, sim_policy_names[policy], request);
}

typedef struct admission {
    bool ad_ok;
    sim_policy ad_refused_by;
    int64_t ad_retry_ns;
    bool ad_burst; /* counted by the burst policy: send its headers */
    uint32_t ad_remaining;
    uint64_t ad_daily_remaining;
} admission;

/* Takes today's daily slot, then one of window w (NULL: exempt from every
 * window, as association batch reads can be), whose refusal is policy p's
 * and gives the daily slot back. Daily first: it is the scarcer budget.
 * The client's requests and the foreign load both come here, under the
 * limit lock, so each sees the other in Remaining and in its refusals. */
static bool take_slots(sim_server *s, sim_window *w, sim_policy p, int64_t now_ns, admission *ad)
{
    int64_t now_ms = portal_now_ms(s);
    if (!sim_daily_admit(&s->sv_daily, now_ms, &ad->ad_daily_remaining)) {
        ad->ad_refused_by = SIM_POLICY_DAILY;
        ad->ad_retry_ns = (86400000 - now_ms % 86400000) * 1000000;
        return false;
    }
    if (w && !sim_window_admit(w, now_ns, &ad->ad_remaining, &ad->ad_retry_ns)) {
        ad->ad_refused_by = p;
        ad->ad_remaining = 0;
        sim_daily_refund(&s->sv_daily, &ad->ad_daily_remaining);
        return false;
    }
    return true;
}

/* Admits one of the client's requests: the daily policy, then the search
 * or the burst one. */
static admission admit(sim_server *s, const sim_config *cfg, const sim_route *route)
{
    admission ad = {true, SIM_POLICY_BURST, 0, false, 0, 0};
    bool search = route->r_kind == SIM_ROUTE_SEARCH;
    bool exempt = route->r_kind == SIM_ROUTE_ASSOC_BATCH && cfg->sc_assoc_batch_exempt;
    sim_policy policy = search ? SIM_POLICY_SEARCH : SIM_POLICY_BURST;
    pthread_mutex_lock(&s->sv_limit_lock);
    /* The time is read under the lock: the windows keep admission times in
     * order, and a thread that read the clock, then waited for the lock
     * behind a later arrival, would slip an older time behind a newer one,
     * counted in the window after it left (a 429 no rolling window owes). */
    int64_t now_ns = clock_mono_ns();
    sim_window *w = search ? &s->sv_search : exempt ? NULL : &s->sv_burst;
    bool limited = w && w->w_limit > 0;
    ad.ad_ok = take_slots(s, w, policy, now_ns, &ad);
    /* Under the lock, so the meters see admissions in time order. */
    if (ad.ad_ok && limited)
        sim_stats_admitted(&s->sv_stats, policy, now_ns, clock_wall_ms());
    pthread_mutex_unlock(&s->sv_limit_lock);
    ad.ad_burst = !search && limited && ad.ad_refused_by != SIM_POLICY_DAILY;
    return ad;
}

/* One request of the foreign load, against the burst and daily policies;
 * counted apart from the client's (sim_stats_foreign). */
static void foreign_arrive(sim_server *s)
{
    admission ad = {true, SIM_POLICY_BURST, 0, false, 0, 0};
    pthread_mutex_lock(&s->sv_limit_lock);
    bool ok = take_slots(s, &s->sv_burst, SIM_POLICY_BURST, (int64_t)clock_mono_ns(), &ad);
    pthread_mutex_unlock(&s->sv_limit_lock);
    sim_stats_foreign(&s->sv_stats, ok);
}

/* ------------------------------------------------------------- auth */

static bool check_auth(sim_server *s, struct MHD_Connection *c, sim_response *rs)
{
    const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    int64_t expired_ms = 0, now = portal_now_ms(s);
    sim_auth_result a = sim_auth_check(&s->sv_auth, authz, now, &expired_ms);
    if (a == SIM_AUTH_OK)
        return true;
    if (a == SIM_AUTH_EXPIRED) {
        char context[80], iso[32];
        fmt_iso8601_ms(iso, expired_ms);
        snprintf(context, sizeof(context), "{\"expire time\":[\"%s\"]}", iso);
        sim_response_error(rs, 401, "EXPIRED_AUTHENTICATION", NULL, context,
                           "The OAuth token used to make this call expired %lld second(s) ago.",
                           (long long)((now - expired_ms) / 1000));
    } else {
        sim_response_error(rs, 401, "INVALID_AUTHENTICATION", NULL, NULL,
                           "Authentication credentials not found. This API supports OAuth 2.0 "
                           "authentication and you can find more details at "
                           "https://developers.hubspot.com/docs/methods/auth/oauth-overview");
    }
    sim_response_header(rs, "x-hubspot-auth-failure", "401 Unauthorized");
    return false;
}

/* Decodes one application/x-www-form-urlencoded value in place. */
static void form_decode(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '+') {
            *o++ = ' ';
        } else if (*p == '%' && p[1] && p[2]) {
            char hex[3] = {p[1], p[2], 0};
            *o++ = (char)strtol(hex, NULL, 16);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

static void handle_oauth(sim_server *s, const sim_request *rq, sim_response *rs)
{
    char body[2048];
    if (rq->rq_body_len >= sizeof(body)) {
        sim_response_error(rs, 400, "BAD_REQUEST", NULL, NULL, "request body too large");
        return;
    }
    memcpy(body, rq->rq_body ? rq->rq_body : "", rq->rq_body_len);
    body[rq->rq_body_len] = '\0';
    const char *grant = NULL, *refresh = NULL, *id = NULL, *secret = NULL;
    char *save = NULL;
    for (char *kv = strtok_r(body, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            continue;
        *eq = '\0';
        form_decode(eq + 1);
        if (strcmp(kv, "grant_type") == 0)
            grant = eq + 1;
        else if (strcmp(kv, "refresh_token") == 0)
            refresh = eq + 1;
        else if (strcmp(kv, "client_id") == 0)
            id = eq + 1;
        else if (strcmp(kv, "client_secret") == 0)
            secret = eq + 1;
    }
    char token[SIM_TOKEN_MAX];
    int64_t expires_in;
    if (!grant || strcmp(grant, "refresh_token") != 0) {
        rs->rs_status = 400;
        jb_lit(&rs->rs_body, "{\"status\":\"BAD_GRANT_TYPE\",\"message\":\"grant_type must be "
                             "refresh_token\"}");
        return;
    }
    if (sim_auth_issue(&s->sv_auth, refresh, id, secret, rq->rq_now_ms, token, &expires_in)) {
        rs->rs_status = 400;
        jb_reset(&rs->rs_body);
        jb_lit(&rs->rs_body, "{\"status\":\"BAD_REFRESH_TOKEN\",\"message\":\"missing or invalid "
                             "refresh token\"}");
        return;
    }
    jb_lit(&rs->rs_body, "{\"token_type\":\"bearer\",\"refresh_token\":");
    jb_str(&rs->rs_body, refresh);
    jb_lit(&rs->rs_body, ",\"access_token\":");
    jb_str(&rs->rs_body, token);
    jb_lit(&rs->rs_body, ",\"expires_in\":");
    jb_i64(&rs->rs_body, expires_in);
    jb_lit(&rs->rs_body, ",\"token_use\":\"access_token\"}");
}

/* ------------------------------------------------------------- admin */

static bool is_loopback(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return false;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

static void admin_truth(sim_server *s, const sim_request *rq, sim_response *rs)
{
    const char *table = rq->rq_query(rq->rq_query_ctx, "table");
    pthread_rwlock_rdlock(&s->sv_portal_lock);
    sim_table *t = table ? sim_table_by_name(s->sv_portal, table, strlen(table)) : NULL;
    const char *format = rq->rq_query(rq->rq_query_ctx, "format");
    bool csv = format && strcmp(format, "csv") == 0;
    bool known = !format || csv || strcmp(format, "tsv") == 0;
    if (t && known && csv) {
        rs->rs_content_type = "text/csv;charset=utf-8";
        sim_truth_csv(s->sv_portal, t, &rs->rs_body);
    } else if (t && known) {
        rs->rs_content_type = "text/tab-separated-values;charset=utf-8";
        sim_truth_tsv(s->sv_portal, t, &rs->rs_body);
    }
    pthread_rwlock_unlock(&s->sv_portal_lock);
    if (!t)
        sim_response_error(rs, 400, "VALIDATION_ERROR", NULL, NULL,
                           "table must name one of the portal's tables (e.g. companies_contacts)");
    else if (!known)
        sim_response_error(rs, 400, "VALIDATION_ERROR", NULL, NULL, "format must be tsv or csv");
}

/* POST /_sim/rename-label {"table":T,"label":"Manager","to":"Account manager"}:
 * an admin renames a user-defined label in HubSpot's settings. */
static void admin_rename_label(sim_server *s, const sim_request *rq, sim_response *rs)
{
    json_object *root = sim_json_parse(rq->rq_body, rq->rq_body_len), *v;
    const char *table = NULL, *from = NULL, *to = NULL;
    if (root && json_object_is_type(root, json_type_object)) {
        if (json_object_object_get_ex(root, "table", &v) &&
            json_object_is_type(v, json_type_string))
            table = json_object_get_string(v);
        if (json_object_object_get_ex(root, "label", &v) &&
            json_object_is_type(v, json_type_string))
            from = json_object_get_string(v);
        if (json_object_object_get_ex(root, "to", &v) && json_object_is_type(v, json_type_string))
            to = json_object_get_string(v);
    }
    int type_id = 0, rc = -1;
    pthread_rwlock_wrlock(&s->sv_portal_lock);
    sim_table *t = table ? sim_table_by_name(s->sv_portal, table, strlen(table)) : NULL;
    if (t && from && to)
        rc = sim_rename_label(t, from, to, &type_id);
    pthread_rwlock_unlock(&s->sv_portal_lock);
    if (rc == 0) {
        jb_printf(&rs->rs_body, "{\"table\":");
        jb_str(&rs->rs_body, table);
        jb_printf(&rs->rs_body, ",\"typeId\":%d,\"label\":", type_id);
        jb_str(&rs->rs_body, to);
        jb_char(&rs->rs_body, '}');
    } else {
        sim_response_error(rs, 400, "VALIDATION_ERROR", NULL, NULL,
                           "want {\"table\":T,\"label\":L,\"to\":NEW}: T a table of the "
                           "portal, L one of its user-defined labels, NEW 1 to 31 bytes");
    }
    json_object_put(root);
}

static int mutate_opts(sim_server *s, const sim_request *rq, sim_mutation_opts *o, char *err,
                       size_t errlen)
{
    json_object *root = sim_json_parse(rq->rq_body, rq->rq_body_len), *v;
    int rc = -1;
    if (!root || !json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "the body must be a JSON object");
        goto out;
    }
    json_object_object_foreach(root, key, val)
    {
        (void)val;
        if (strcmp(key, "count") && strcmp(key, "same_ms") && strcmp(key, "kinds") &&
            strcmp(key, "tables")) {
            snprintf(err, errlen, "unknown key '%.40s' (count, tables, kinds, same_ms)", key);
            goto out;
        }
    }
    uint64_t count = 1;
    if (json_object_object_get_ex(root, "count", &v) &&
        (!json_object_is_type(v, json_type_int) || sim_json_u64(v, &count) || count > 10000000)) {
        snprintf(err, errlen, "count must be an integer from 0 to 10000000");
        goto out;
    }
    o->mo_count = (uint32_t)count;
    if (json_object_object_get_ex(root, "same_ms", &v)) {
        if (!json_object_is_type(v, json_type_boolean)) {
            snprintf(err, errlen, "same_ms must be true or false");
            goto out;
        }
        o->mo_same_ms = json_object_get_boolean(v);
    }
    if (json_object_object_get_ex(root, "kinds", &v)) {
        if (!json_object_is_type(v, json_type_array)) {
            snprintf(err, errlen, "kinds must be an array");
            goto out;
        }
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            const char *k = json_object_get_string(json_object_array_get_idx(v, i));
            int found = -1;
            for (int j = 0; k && j < SIM_MUT_KIND_COUNT; j++)
                if (strcmp(k, sim_mutation_names[j]) == 0)
                    found = j;
            if (found < 0) {
                snprintf(err, errlen,
                         "unknown kind '%.40s' (associate, dissociate, relabel, archive, touch, "
                         "create)",
                         k ? k : "");
                goto out;
            }
            o->mo_kinds |= 1u << found;
        }
    }
    if (json_object_object_get_ex(root, "tables", &v)) {
        if (!json_object_is_type(v, json_type_array)) {
            snprintf(err, errlen, "tables must be an array of table names");
            goto out;
        }
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            const char *name = json_object_get_string(json_object_array_get_idx(v, i));
            sim_table *t = name ? sim_table_by_name(s->sv_portal, name, strlen(name)) : NULL;
            if (!t) {
                snprintf(err, errlen, "unknown table '%.60s'", name ? name : "");
                goto out;
            }
            o->mo_tables |= 1ULL << (t - s->sv_portal->p_tables);
        }
    }
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

static void mutation_summary(const sim_portal *p, const sim_mutation_result *r, jbuf *b)
{
    uint32_t applied = 0;
    for (int k = 0; k < SIM_MUT_KIND_COUNT; k++)
        applied += r->mr_applied[k];
    jb_printf(b, "{\"applied\":%u,\"skipped\":%u,\"kinds\":{", applied, r->mr_skipped);
    for (int k = 0; k < SIM_MUT_KIND_COUNT; k++)
        jb_printf(b, "%s\"%s\":%u", k ? "," : "", sim_mutation_names[k], r->mr_applied[k]);
    jb_lit(b, "},\"tables\":{");
    for (int i = 0; i < p->p_ntables; i++)
        jb_printf(b, "%s\"%s\":%u", i ? "," : "", p->p_tables[i].tb_name, r->mr_table_changes[i]);
    jb_printf(b, "},\"bumped\":%u,\"rollup_scheduled\":%llu,\"first_ms\":%lld,\"last_ms\":%lld}",
              r->mr_bumped, (unsigned long long)r->mr_rollups.rt_scheduled,
              (long long)r->mr_first_ms, (long long)r->mr_last_ms);
}

/* After the portal's rollup queue changed (portal write lock held): counts
 * `t` into the stats, with the exact number pending, and tells the rollup
 * thread when the next recomputation is due. `replan`: the thread's own run,
 * which sets its next wake afresh; otherwise the wake only moves earlier. */
static void rollup_changed(sim_server *s, const sim_rollup_tally *t, bool replan)
{
    sim_stats_rollups(&s->sv_stats, t, sim_rollup_pending(&s->sv_portal->p_rollups));
    int64_t next = sim_portal_next_recompute_ms(s->sv_portal);
    pthread_mutex_lock(&s->sv_rollup_lock);
    if (replan || next < s->sv_rollup_wake_ms) {
        s->sv_rollup_wake_ms = next;
        pthread_cond_signal(&s->sv_rollup_cond);
    }
    pthread_mutex_unlock(&s->sv_rollup_lock);
}

/* Portal write lock held. */
static void run_mutations(sim_server *s, sim_mutation_opts *o, sim_mutation_result *r,
                          jbuf *summary, bool *oom)
{
    pthread_mutex_lock(&s->sv_cfg_lock);
    o->mo_rollup = s->sv_cfg.sc_rollup;
    o->mo_index_lag_ms = s->sv_cfg.sc_index_lag_ms;
    o->mo_same_ms_chance = s->sv_cfg.sc_same_ms;
    pthread_mutex_unlock(&s->sv_cfg_lock);
    o->mo_now_ms = portal_now_ms(s);
    *oom = sim_mutate(s->sv_portal, o, r) != 0;
    rollup_changed(s, &r->mr_rollups, false);
    if (summary)
        mutation_summary(s->sv_portal, r, summary);
}

static void admin_mutate(sim_server *s, const sim_request *rq, sim_response *rs)
{
    sim_mutation_opts o;
    sim_mutation_result r;
    char err[160];
    memset(&o, 0, sizeof(o));
    pthread_rwlock_wrlock(&s->sv_portal_lock);
    bool oom = false;
    int rc = mutate_opts(s, rq, &o, err, sizeof(err));
    if (rc == 0)
        run_mutations(s, &o, &r, &rs->rs_body, &oom);
    pthread_rwlock_unlock(&s->sv_portal_lock);
    if (rc)
        sim_response_error(rs, 400, "VALIDATION_ERROR", NULL, NULL, "%s", err);
    else if (oom)
        sim_response_error(rs, 500, "INTERNAL_ERROR", NULL, NULL, "out of memory mutating");
}

static void apply_rollups(sim_server *s, const sim_config *cfg)
{
    sim_rollup_tally t;
    memset(&t, 0, sizeof(t));
    pthread_rwlock_wrlock(&s->sv_portal_lock);
    sim_portal_set_rollups(s->sv_portal, &cfg->sc_portal, &t);
    rollup_changed(s, &t, false);
    pthread_rwlock_unlock(&s->sv_portal_lock);
}

static int apply_limits(sim_server *s, const sim_config *cfg)
{
    pthread_mutex_lock(&s->sv_limit_lock);
    int rc = sim_window_init(&s->sv_burst, cfg->sc_rate, cfg->sc_rate_window_ms) |
             sim_window_init(&s->sv_search, cfg->sc_search_rate, cfg->sc_search_window_ms);
    s->sv_daily.d_limit = cfg->sc_daily;
    pthread_mutex_unlock(&s->sv_limit_lock);
    sim_stats_set_windows(&s->sv_stats, cfg->sc_rate_window_ms, cfg->sc_search_window_ms);
    return rc;
}

/* Restarts the foreign load's schedule from now and wakes its thread. */
static void apply_foreign(sim_server *s, const sim_config *cfg)
{
    pthread_mutex_lock(&s->sv_foreign_lock);
    sim_foreign_set(&s->sv_foreign, cfg->sc_foreign_count, cfg->sc_foreign_window_ms,
                    (int64_t)clock_mono_ns());
    pthread_cond_signal(&s->sv_foreign_cond);
    pthread_mutex_unlock(&s->sv_foreign_lock);
}

static void admin_config(sim_server *s, const sim_request *rq, sim_response *rs)
{
    char err[160];
    unsigned changed = 0;
    sim_config snapshot;
    pthread_mutex_lock(&s->sv_cfg_lock);
    int rc = strcmp(rq->rq_method, "POST") == 0
                 ? sim_config_apply_json(&s->sv_cfg, rq->rq_body, rq->rq_body_len, &changed, err,
                                         sizeof(err))
                 : 0;
    snapshot = s->sv_cfg;
    pthread_mutex_unlock(&s->sv_cfg_lock);
    if (rc) {
        sim_response_error(rs, 400, "VALIDATION_ERROR", NULL, NULL, "%s", err);
        return;
    }
    if ((changed & SIM_CHANGED_LIMITS) && apply_limits(s, &snapshot)) {
        sim_response_error(rs, 500, "INTERNAL_ERROR", NULL, NULL, "out of memory");
        return;
    }
    if (changed & SIM_CHANGED_ROLLUPS)
        apply_rollups(s, &snapshot);
    if (changed & SIM_CHANGED_TTL)
        sim_auth_set_ttl(&s->sv_auth, snapshot.sc_token_ttl_s);
    if (changed & SIM_CHANGED_FOREIGN)
        apply_foreign(s, &snapshot);
    sim_config_json(&snapshot, &rs->rs_body);
}

static void handle_admin(sim_server *s, const sim_route *route, const sim_request *rq,
                         sim_response *rs)
{
    switch (route->r_kind) {
    case SIM_ROUTE_ADMIN_TRUTH:
        admin_truth(s, rq, rs);
        break;
    case SIM_ROUTE_ADMIN_MUTATE:
        admin_mutate(s, rq, rs);
        break;
    case SIM_ROUTE_ADMIN_STATS:
        sim_stats_json(&s->sv_stats, s->sv_auth.au_issued, &rs->rs_body);
        break;
    case SIM_ROUTE_ADMIN_RESET:
        sim_stats_reset(&s->sv_stats);
        jb_lit(&rs->rs_body, "{\"reset\":true}");
        break;
    case SIM_ROUTE_ADMIN_CONFIG:
        admin_config(s, rq, rs);
        break;
    case SIM_ROUTE_ADMIN_RENAME_LABEL:
        admin_rename_label(s, rq, rs);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------- latency */

/* --latency-ms (uniform jitter) and --fault-slow: the flat part of an API
 * answer's delay, as the simulator had before the latency profiles. */
static int64_t flat_delay(sim_server *s, const sim_config *cfg)
{
    int64_t delay = cfg->sc_latency_ms;
    if (cfg->sc_latency_jitter_ms)
        delay += (int64_t)((draw_unit(s) * 2 - 1) * (double)cfg->sc_latency_jitter_ms);
    if (cfg->sc_fault_slow > 0 && draw_unit(s) < cfg->sc_fault_slow) {
        sim_stats_fault(&s->sv_stats, SIM_FAULT_SLOW);
        delay += cfg->sc_fault_slow_ms;
    }
    return delay;
}

/* Sleeps for an answer's latency and counts it in its family: the profile's
 * draw for what the handler was asked and returned (rs_inputs,
 * rs_results), plus the flat delay on the API endpoints (the token endpoint
 * never had one). */
static void answer_latency(sim_server *s, const sim_config *cfg, sim_route_kind kind,
                           const sim_response *rs)
{
    sim_latency_family f = sim_latency_family_of(kind);
    int64_t delay = kind == SIM_ROUTE_OAUTH_TOKEN ? 0 : flat_delay(s, cfg);
    bool tail = false;
    if (cfg->sc_latency_profile != SIM_LATENCY_NONE) {
        pthread_mutex_lock(&s->sv_rng_lock);
        double ms =
            sim_latency_draw(sim_latency_costs(cfg->sc_latency_profile, f), rs->rs_inputs,
                             rs->rs_results, cfg->sc_latency_scale, &s->sv_latency_rng, &tail);
        pthread_mutex_unlock(&s->sv_rng_lock);
        delay += llround(ms);
    }
    sim_stats_latency(&s->sv_stats, f, delay, tail);
    sleep_ms(delay);
}

/* ---------------------------------------------------------- API requests */

/* Returns false when the connection should be dropped (a reset fault, or
 * a stalled answer whose client hung up). */
static bool serve_api(sim_server *s, struct MHD_Connection *c, const sim_route *route,
                      const sim_request *rq, sim_response *rs, body_fault *body)
{
    sim_config cfg;
    config_snapshot(s, &cfg);
    sim_stats_request(&s->sv_stats, route->r_stats_key);
    if (!check_auth(s, c, rs))
        return true;
    admission ad = admit(s, &cfg, route);
    bool daily = route->r_kind != SIM_ROUTE_SEARCH;
    if (!ad.ad_ok) {
        sim_stats_rate_limited(&s->sv_stats, ad.ad_refused_by);
        rate_limited_body(rs, ad.ad_refused_by);
        rate_headers(rs, &cfg, ad.ad_burst, 0, daily, ad.ad_daily_remaining);
        if (cfg.sc_retry_after)
            sim_response_header(rs, "Retry-After", "%lld",
                                (long long)((ad.ad_retry_ns + 999999999) / 1000000000));
        return true;
    }
    /* Faults: one draw decides which, if any, strikes this request. */
    double u = draw_unit(s), edge = cfg.sc_fault_reset;
    if (u < edge) {
        sim_stats_fault(&s->sv_stats, SIM_FAULT_RESET);
        return false;
    }
    if (u < (edge += cfg.sc_fault_5xx)) {
        static const int codes[] = {502, 503, 504};
        sim_stats_fault(&s->sv_stats, SIM_FAULT_5XX);
        int code = codes[(int)(draw_unit(s) * 3) % 3];
        sim_response_error(rs, code, "INTERNAL_ERROR", NULL, NULL,
                           "The server encountered a temporary error (%d); try again.", code);
        return true;
    }
    if (u < (edge += cfg.sc_fault_429)) {
        sim_stats_fault(&s->sv_stats, SIM_FAULT_429);
        rate_limited_body(rs, SIM_POLICY_BURST);
        rate_headers(rs, &cfg, ad.ad_burst, 0, daily, ad.ad_daily_remaining);
        return true;
    }
    bool stall = false;
    if (u < (edge += cfg.sc_fault_truncate)) {
        sim_stats_fault(&s->sv_stats, SIM_FAULT_TRUNCATE);
        *body = BODY_TRUNCATED;
    } else if (u < (edge += cfg.sc_fault_stall)) {
        stall = true; /* after the answer is made and its latency slept */
    } else if (u < (edge += cfg.sc_fault_stall_body)) {
        sim_stats_fault(&s->sv_stats, SIM_FAULT_STALL_BODY);
        *body = BODY_STALLED;
    }
    /* A search HubSpot refuses as it refuses a filter it does not accept. */
    if (route->r_kind == SIM_ROUTE_SEARCH && cfg.sc_fault_search_400 > 0 &&
        draw_unit(s) < cfg.sc_fault_search_400) {
        sim_response_error(rs, 400, "VALIDATION_ERROR", NULL, NULL,
                           "There was a problem with the request.");
        return true;
    }
    sim_api_ctx ctx = {s->sv_portal, cfg.sc_assoc_page_size};
    pthread_rwlock_rdlock(&s->sv_portal_lock);
    /* The mode of the snapshot taken above: a switch racing with this
     * request shows either mode's value, as each was current at some point. */
    sim_api_handle_mode(&ctx, cfg.sc_rollup.rm_mode, route, rq, rs);
    pthread_rwlock_unlock(&s->sv_portal_lock);
    rate_headers(rs, &cfg, ad.ad_burst, ad.ad_remaining, daily, ad.ad_daily_remaining);
    answer_latency(s, &cfg, route->r_kind, rs);
    if (stall) {
        /* Admitted and counted, as HubSpot counts a request it never
         * answers; nothing is sent until then. */
        sim_stats_fault(&s->sv_stats, SIM_FAULT_STALL);
        return hold_connection(s, connection_fd(c), cfg.sc_fault_stall_ms);
    }
    return true;
}

static const char *query_lookup(void *ctx, const char *key)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    sim_server *s = cls;
    conn_req *cr = *con_cls;
    if (!cr) {
        cr = calloc(1, sizeof(*cr));
        if (!cr)
            return MHD_NO;
        jb_init(&cr->cr_body);
        *con_cls = cr;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (cr->cr_body.jb_len + *upload_data_size > SIM_MAX_BODY)
            cr->cr_too_large = true;
        else
            jb_raw(&cr->cr_body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    sim_route route;
    sim_route_parse(method, url, &route);
    sim_request rq = {method,
                      url,
                      query_lookup,
                      c,
                      cr->cr_body.jb_data,
                      cr->cr_body.jb_len,
                      cr->cr_too_large || !jb_ok(&cr->cr_body),
                      portal_now_ms(s)};
    sim_response rs;
    sim_response_init(&rs);
    body_fault body = BODY_WHOLE;
    bool keep = true;
    if (route.r_kind == SIM_ROUTE_NOT_FOUND) {
        sim_stats_request(&s->sv_stats,
                          strcmp(method, "GET") == 0 ? "GET (unmatched)" : "OTHER (unmatched)");
        sim_response_error(&rs, 404, "OBJECT_NOT_FOUND", NULL, NULL, "Not found: %s %s", method,
                           url);
    } else if (!route.r_method_ok) {
        sim_response_error(&rs, 405, "METHOD_NOT_ALLOWED", NULL, NULL,
                           "Method %s is not allowed on %s", method, url);
    } else if (route.r_kind >= SIM_ROUTE_ADMIN_TRUTH) {
        if (rq.rq_body_too_large)
            sim_response_error(&rs, 400, "VALIDATION_ERROR", NULL, NULL,
                               "The request body is larger than %d bytes", SIM_MAX_BODY);
        else if (is_loopback(c))
            handle_admin(s, &route, &rq, &rs);
        else
            sim_response_error(&rs, 403, "FORBIDDEN", NULL, NULL,
                               "admin endpoints answer loopback clients only");
    } else if (route.r_kind == SIM_ROUTE_OAUTH_TOKEN) {
        sim_stats_request(&s->sv_stats, route.r_stats_key);
        if (rq.rq_body_too_large)
            sim_response_error(&rs, 400, "VALIDATION_ERROR", NULL, NULL,
                               "The request body is larger than %d bytes", SIM_MAX_BODY);
        else
            handle_oauth(s, &rq, &rs);
        sim_config cfg;
        config_snapshot(s, &cfg);
        answer_latency(s, &cfg, route.r_kind, &rs);
    } else {
        keep = serve_api(s, c, &route, &rq, &rs, &body);
    }
    bool admin = route.r_kind >= SIM_ROUTE_ADMIN_TRUTH;
    enum MHD_Result ret =
        keep ? send_response(s, c, admin ? NULL : &s->sv_stats, &rs, body) : MHD_NO;
    sim_response_free(&rs);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    conn_req *cr = *con_cls;
    if (cr) {
        jb_free(&cr->cr_body);
        free(cr);
        *con_cls = NULL;
    }
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)c;
    (void)socket_context;
    sim_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        sim_stats_connection(&s->sv_stats);
}

/* ------------------------------------------------------------- churn */

static void *churn_main(void *arg)
{
    sim_server *s = arg;
    double owed = 0;
    while (!atomic_load(&s->sv_stopping)) {
        sleep_ms(100);
        pthread_mutex_lock(&s->sv_cfg_lock);
        double rate = s->sv_cfg.sc_churn_per_s;
        pthread_mutex_unlock(&s->sv_cfg_lock);
        owed = rate > 0 ? owed + rate / 10 : 0;
        if (owed < 1)
            continue;
        sim_mutation_opts o;
        sim_mutation_result r;
        memset(&o, 0, sizeof(o));
        o.mo_count = (uint32_t)owed;
        owed -= o.mo_count;
        bool oom;
        pthread_rwlock_wrlock(&s->sv_portal_lock);
        run_mutations(s, &o, &r, NULL, &oom);
        pthread_rwlock_unlock(&s->sv_portal_lock);
    }
    return NULL;
}

/* ------------------------------------------------------------- rollups */

/* Runs the recomputations due now (the rollup service of the realistic
 * model) and plans the next wake. */
static void rollup_run(sim_server *s)
{
    pthread_mutex_lock(&s->sv_cfg_lock);
    sim_rollup_model m = s->sv_cfg.sc_rollup;
    int64_t lag = s->sv_cfg.sc_index_lag_ms;
    pthread_mutex_unlock(&s->sv_cfg_lock);
    sim_rollup_tally t;
    memset(&t, 0, sizeof(t));
    pthread_rwlock_wrlock(&s->sv_portal_lock);
    sim_portal_recompute(s->sv_portal, &m, lag, portal_now_ms(s), &t);
    rollup_changed(s, &t, true);
    pthread_rwlock_unlock(&s->sv_portal_lock);
}

/* Sleeps until the next recomputation is due, runs it, and so on; takes the
 * portal's write lock only when something is due. */
static void *rollup_main(void *arg)
{
    sim_server *s = arg;
    /* A wake-up nobody asked for now and then costs nothing and guards
     * against a lost signal. */
    const int64_t idle_ms = 1000;
    pthread_mutex_lock(&s->sv_rollup_lock);
    while (!atomic_load(&s->sv_stopping)) {
        int64_t now = portal_now_ms(s);
        if (now < s->sv_rollup_wake_ms) {
            int64_t until =
                s->sv_rollup_wake_ms - now > idle_ms ? now + idle_ms : s->sv_rollup_wake_ms;
            until -= s->sv_clock_offset_ms; /* the wait's clock is this machine's */
            struct timespec ts = {until / 1000, (until % 1000) * 1000000};
            pthread_cond_timedwait(&s->sv_rollup_cond, &s->sv_rollup_lock, &ts);
            continue;
        }
        pthread_mutex_unlock(&s->sv_rollup_lock);
        rollup_run(s);
        pthread_mutex_lock(&s->sv_rollup_lock);
    }
    pthread_mutex_unlock(&s->sv_rollup_lock);
    return NULL;
}

/* ------------------------------------------------------------- foreign */

/* Sleeps until the foreign load's next arrival, admits the arrivals due,
 * and so on; idle (foreign_load "0") it waits for a change. */
static void *foreign_main(void *arg)
{
    sim_server *s = arg;
    /* As in rollup_main: a spare wake-up now and then guards against a lost
     * signal. */
    const int64_t idle_ns = 1000000000;
    pthread_mutex_lock(&s->sv_foreign_lock);
    while (!atomic_load(&s->sv_stopping)) {
        int64_t now = (int64_t)clock_mono_ns();
        int64_t next = sim_foreign_next(&s->sv_foreign);
        if (now < next) {
            int64_t until = next - now > idle_ns ? now + idle_ns : next;
            struct timespec ts = {until / 1000000000, until % 1000000000};
            pthread_cond_timedwait(&s->sv_foreign_cond, &s->sv_foreign_lock, &ts);
            continue;
        }
        uint32_t due = sim_foreign_due(&s->sv_foreign, now);
        pthread_mutex_unlock(&s->sv_foreign_lock);
        for (uint32_t i = 0; i < due; i++)
            foreign_arrive(s);
        pthread_mutex_lock(&s->sv_foreign_lock);
    }
    pthread_mutex_unlock(&s->sv_foreign_lock);
    return NULL;
}

/* The foreign thread's lock and condition variable; the latter on
 * CLOCK_MONOTONIC, the clock of its schedule. */
static void foreign_init(sim_server *s)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->sv_foreign_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->sv_foreign_lock, NULL);
}

/* Wakes a thread sleeping on `cond` for the stop and joins it. Under the
 * lock: the thread is either before its stop check or waiting, so the
 * signal cannot be lost. */
static void wake_and_join(pthread_t t, pthread_mutex_t *lock, pthread_cond_t *cond)
{
    pthread_mutex_lock(lock);
    pthread_cond_signal(cond);
    pthread_mutex_unlock(lock);
    pthread_join(t, NULL);
}

/* -------------------------------------------------------------- lifecycle */

/* Reads a PEM file whole (MHD takes certificates and keys as text).
 * Returns a malloc'd NUL-terminated string, or NULL with err filled. */
static char *read_pem(const char *flag, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s %s: cannot open it", flag, path);
        return NULL;
    }
    jbuf b;
    jb_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.jb_len < (1u << 20))
        jb_raw(&b, chunk, n);
    bool bad = ferror(f) || b.jb_len >= (1u << 20) || !jb_ok(&b);
    fclose(f);
    char *text = bad ? NULL : strdup(jb_cstr(&b));
    jb_free(&b);
    if (!text || !strstr(text, "-----BEGIN ")) {
        snprintf(err, errlen, "%s %s: not a PEM file (or unreadable)", flag, path);
        free(text);
        return NULL;
    }
    return text;
}

/* Loads --tls-cert and --tls-key when set. 0, or -1 with err filled. */
static int load_tls(sim_server *s, const sim_config *cfg, char *err, size_t errlen)
{
    if (!cfg->sc_tls_cert[0])
        return 0;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, errlen,
                 "--tls-cert: this libmicrohttpd was built without TLS (GnuTLS) support");
        return -1;
    }
    s->sv_tls_cert = read_pem("--tls-cert", cfg->sc_tls_cert, err, errlen);
    if (!s->sv_tls_cert)
        return -1;
    s->sv_tls_key = read_pem("--tls-key", cfg->sc_tls_key, err, errlen);
    return s->sv_tls_key ? 0 : -1;
}

int sim_server_start(const sim_config *cfg, sim_portal *portal, sim_server **out, char *err,
                     size_t errlen)
{
    sim_server *s = calloc(1, sizeof(*s));
    if (!s) {
        sim_portal_destroy(portal);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->sv_cfg = *cfg;
    s->sv_clock_offset_ms = cfg->sc_clock_offset_ms;
    s->sv_portal = portal;
    pthread_mutex_init(&s->sv_cfg_lock, NULL);
    /* Readers never stop arriving under load: prefer the writer so /_sim/mutate
     * and churn are not starved by a benchmark. */
    pthread_rwlockattr_t rwa;
    pthread_rwlockattr_init(&rwa);
    pthread_rwlockattr_setkind_np(&rwa, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->sv_portal_lock, &rwa);
    pthread_rwlockattr_destroy(&rwa);
    pthread_mutex_init(&s->sv_limit_lock, NULL);
    pthread_mutex_init(&s->sv_rng_lock, NULL);
    pthread_mutex_init(&s->sv_rollup_lock, NULL);
    pthread_cond_init(&s->sv_rollup_cond, NULL);
    s->sv_rollup_wake_ms = INT64_MAX;
    foreign_init(s);
    sim_rng_seed(&s->sv_rng, cfg->sc_portal.pc_seed, 99);
    sim_rng_seed(&s->sv_latency_rng, cfg->sc_portal.pc_seed, 100);
    sim_auth_init(&s->sv_auth, cfg->sc_auth, cfg->sc_token, cfg->sc_refresh_token,
                  cfg->sc_client_id, cfg->sc_client_secret, cfg->sc_token_ttl_s,
                  cfg->sc_portal.pc_seed);
    sim_stats_init(&s->sv_stats, cfg->sc_rate_window_ms, cfg->sc_search_window_ms);
    if (apply_limits(s, cfg)) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cfg->sc_port);
    if (inet_pton(AF_INET, cfg->sc_bind, &addr.sin_addr) != 1) {
        snprintf(err, errlen, "--bind: '%s' is not an IPv4 address", cfg->sc_bind);
        goto fail;
    }
    if (load_tls(s, cfg, err, errlen))
        goto fail;
    /* HTTPS is the same daemon with two more options (an empty item ends
     * the array early when they are absent). */
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, s->sv_tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, s->sv_tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    if (!s->sv_tls_cert)
        tls_opts[0].option = MHD_OPTION_END;
    s->sv_daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
            MHD_USE_ERROR_LOG | (s->sv_tls_cert ? MHD_USE_TLS : 0),
        (uint16_t)cfg->sc_port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)2000, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (!s->sv_daemon) {
        snprintf(err, errlen, "cannot listen on %s:%d (in use, or not permitted%s)", cfg->sc_bind,
                 cfg->sc_port,
                 s->sv_tls_cert ? "; or --tls-cert/--tls-key are not a matching certificate and "
                                  "key"
                                : "");
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->sv_daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->sv_port = di ? di->port : (uint16_t)cfg->sc_port;
    if (pthread_create(&s->sv_churn, NULL, churn_main, s) != 0) {
        snprintf(err, errlen, "cannot start the churn thread");
        goto fail;
    }
    s->sv_churn_started = true;
    if (pthread_create(&s->sv_rollup, NULL, rollup_main, s) != 0) {
        snprintf(err, errlen, "cannot start the rollup thread");
        goto fail;
    }
    s->sv_rollup_started = true;
    apply_foreign(s, cfg);
    if (pthread_create(&s->sv_foreign_thread, NULL, foreign_main, s) != 0) {
        snprintf(err, errlen, "cannot start the foreign-load thread");
        goto fail;
    }
    s->sv_foreign_started = true;
    *out = s;
    return 0;
fail:
    sim_server_stop(s);
    return -1;
}

uint16_t sim_server_port(const sim_server *s)
{
    return s->sv_port;
}

void sim_server_stop(sim_server *s)
{
    if (!s)
        return;
    atomic_store(&s->sv_stopping, true);
    if (s->sv_daemon)
        MHD_stop_daemon(s->sv_daemon);
    free(s->sv_tls_cert);
    free(s->sv_tls_key);
    if (s->sv_churn_started)
        pthread_join(s->sv_churn, NULL);
    if (s->sv_rollup_started)
        wake_and_join(s->sv_rollup, &s->sv_rollup_lock, &s->sv_rollup_cond);
    if (s->sv_foreign_started)
        wake_and_join(s->sv_foreign_thread, &s->sv_foreign_lock, &s->sv_foreign_cond);
    sim_window_free(&s->sv_burst);
    sim_window_free(&s->sv_search);
    sim_stats_destroy(&s->sv_stats);
    sim_auth_destroy(&s->sv_auth);
    sim_portal_destroy(s->sv_portal);
    pthread_rwlock_destroy(&s->sv_portal_lock);
    pthread_mutex_destroy(&s->sv_cfg_lock);
    pthread_mutex_destroy(&s->sv_limit_lock);
    pthread_mutex_destroy(&s->sv_rng_lock);
    pthread_mutex_destroy(&s->sv_rollup_lock);
    pthread_cond_destroy(&s->sv_rollup_cond);
    pthread_mutex_destroy(&s->sv_foreign_lock);
    pthread_cond_destroy(&s->sv_foreign_cond);
    free(s);
}
