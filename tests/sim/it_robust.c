/*
 * it_robust — the simulator under abuse and its own bookkeeping: malformed
 * and oversized requests (always a 400 with HubSpot's error body, never a
 * crash), unknown paths, the statistics endpoint, and every injected fault
 * and delay.
 *
 * Each test ends with tl_sim_stop() == 0, which also fails when the
 * simulator crashed or (in the ASan build) reported an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/base/jbuf.h"
#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_suites.h"

#define PORTAL_ARGS IT_SMALL_PORTAL, "--tier", "unlimited"

static const char *const list_path = "/crm/v3/objects/contacts?limit=1";

/* Bodies that are not JSON, or not an object: wrong for every JSON endpoint. */
static const char *const not_json[] = {
    "",
    "{",
    "{\"inputs\":[",
    "not json",
    "{\"a\":1}}",
    "{'inputs':[]}",
    "[]",
    "null",
    "42",
    "\"text\"",
    "{\"inputs\":[{\"id\":\"1\"}],}",
};

static const char *const bad_object_batch[] = {
    "{\"inputs\":{}}",
    "{\"inputs\":\"1\"}",
    "{\"inputs\":null}",
    "{\"inputs\":[{\"id\":{}}]}",
    "{\"inputs\":[{\"id\":[1]}]}",
    "{\"inputs\":[42]}",
    "{\"inputs\":[{}]}",
    "{}",
};

static const char *const bad_assoc_batch[] = {
    "{\"inputs\":{}}",
    "{\"inputs\":\"1\"}",
    "{\"inputs\":[{\"id\":{}}]}",
    "{\"inputs\":[{\"id\":true}]}",
    "{\"inputs\":[{}]}",
    "{\"inputs\":[{\"id\":\"1\",\"after\":{}}]}",
    "{\"inputs\":[{\"id\":\"1\",\"after\":[]}]}",
    "{}",
};

static const char *const bad_search[] = {
    "{\"limit\":\"10\"}",
    "{\"limit\":{}}",
    "{\"limit\":true}",
    "{\"after\":{}}",
    "{\"filterGroups\":{}}",
    "{\"filterGroups\":[{\"filters\":{}}]}",
    "{\"filterGroups\":[{}]}",
    "{\"filterGroups\":[{\"filters\":[{\"propertyName\":5,\"operator\":\"EQ\",\"value\":\"1\"}]}]}",
    "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"hs_object_id\",\"operator\":\"EQ\","
    "\"value\":{}}]}]}",
    "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"hs_object_id\",\"operator\":\"IN\","
    "\"values\":\"1\"}]}]}",
    "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"hs_object_id\",\"operator\":"
    "\"BETWEEN\",\"value\":\"1\"}]}]}",
    "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"lastmodifieddate\",\"operator\":\"GT\","
    "\"value\":\"yesterday\"}]}]}",
    "{\"sorts\":{}}",
    "{\"sorts\":[5]}",
    "{\"sorts\":[{\"propertyName\":\"createdate\",\"direction\":\"SIDEWAYS\"}]}",
    "{\"properties\":\"createdate\"}",
};

static const char *const bad_mutate[] = {
    "{\"count\":\"x\"}",
    "{\"count\":-1}",
    "{\"count\":1,\"kinds\":[\"explode\"]}",
    "{\"count\":1,\"tables\":[\"nope_nope\"]}",
    "{\"count\":1,\"kinds\":\"touch\"}",
    "{\"count\":1,\"same_ms\":\"yes\"}",
};

/* POSTs `len` bytes; true when the answer is a 400 (with HubSpot's
 * VALIDATION_ERROR body when `hubspot`). */
static bool expect_400(tl_sim *s, const char *path, const char *body, size_t len, bool hubspot)
{
    tl_req req = {.rq_method = "POST",
                  .rq_path = path,
                  .rq_token = TL_TOKEN,
                  .rq_content_type = "application/json",
                  .rq_body = body,
                  .rq_body_len = len};
    tl_resp r;
    tl_request(s, &req, &r);
    bool ok = hubspot ? tl_is_hubspot_error(&r, 400, "VALIDATION_ERROR") : r.r_status == 400;
    if (!ok) {
        int shown = len > 200 ? 200 : (int)len;
        fprintf(stderr, "    POST %s with %zu bytes: %.*s\n", path, len, shown, body);
        if (!hubspot)
            tl_resp_dump("answer", &r);
    }
    tl_resp_free(&r);
    return ok;
}

static bool alive(tl_sim *s)
{
    tl_resp r;
    tl_get(s, "/_sim/stats", NULL, &r);
    bool ok = r.r_status == 200;
    tl_resp_free(&r);
    return ok;
}

/* Sends every body of `list` to `path`. */
static void battery(tl_sim *s, const char *path, const char *const *list, size_t n, bool hubspot)
{
    for (size_t i = 0; i < n; i++)
        CHECKF(expect_400(s, path, list[i], strlen(list[i]), hubspot), "%s: %s", path, list[i]);
    CHECKF(alive(s), "the simulator stopped answering after %s", path);
}

/* Bytes from a fixed LCG, NULs and invalid UTF-8 included. */
static void garbage(char *buf, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (char)(seed >> 16);
    }
}

static void test_malformed(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    static const char *const json_paths[] = {
        "/crm/v3/objects/contacts/search",
        "/crm/v3/objects/contacts/batch/read",
        "/crm/v4/associations/companies/contacts/batch/read",
    };
    size_t n_not_json = sizeof(not_json) / sizeof(not_json[0]);
    for (size_t p = 0; p < 3; p++) {
        battery(&s, json_paths[p], not_json, n_not_json, true);
        char junk[512];
        for (uint32_t seed = 1; seed <= 5; seed++) {
            garbage(junk, sizeof(junk), seed);
            CHECKF(expect_400(&s, json_paths[p], junk, sizeof(junk), true), "%s: garbage %u",
                   json_paths[p], seed);
        }
        /* Nesting deeper than any parser should follow. */
        size_t depth = 100000;
        char *deep = malloc(depth);
        if (deep) {
            memset(deep, '[', depth);
            CHECKF(expect_400(&s, json_paths[p], deep, depth, true), "%s: deep nesting",
                   json_paths[p]);
            free(deep);
        }
        CHECK(alive(&s));
    }
    battery(&s, json_paths[0], bad_search, sizeof(bad_search) / sizeof(bad_search[0]), true);
    battery(&s, json_paths[1], bad_object_batch,
            sizeof(bad_object_batch) / sizeof(bad_object_batch[0]), true);
    battery(&s, json_paths[2], bad_assoc_batch,
            sizeof(bad_assoc_batch) / sizeof(bad_assoc_batch[0]), true);
    /* Admin endpoints refuse bad input too (their body need not be HubSpot's). */
    battery(&s, "/_sim/mutate", not_json, n_not_json, false);
    battery(&s, "/_sim/mutate", bad_mutate, sizeof(bad_mutate) / sizeof(bad_mutate[0]), false);
    battery(&s, "/_sim/config", not_json + 1, n_not_json - 1, false);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

/* 2 MiB bodies (over the 1 MiB limit) to every POST endpoint: 400, and a
 * valid request afterwards still works. */
static void test_huge_bodies(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    size_t len = 2u << 20;
    char *body = malloc(len);
    REQUIRE(body);
    REQUIRE(tl_sim_start(&s, args) == 0);
    /* Valid JSON but for its size: one input, then whitespace. */
    static const char head[] = "{\"inputs\":[{\"id\":\"1\"}]";
    memcpy(body, head, sizeof(head) - 1);
    memset(body + sizeof(head) - 1, ' ', len - sizeof(head));
    body[len - 1] = '}';
    static const char *const paths[] = {
        "/crm/v3/objects/contacts/search",
        "/crm/v3/objects/contacts/batch/read",
        "/crm/v4/associations/companies/contacts/batch/read",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        CHECKF(expect_400(&s, paths[i], body, len, true), "2 MiB to %s", paths[i]);
        CHECK(alive(&s));
    }
    CHECK(expect_400(&s, "/_sim/mutate", body, len, false));
    tl_req form = {.rq_method = "POST",
                   .rq_path = "/oauth/v1/token",
                   .rq_content_type = "application/x-www-form-urlencoded",
                   .rq_body = body,
                   .rq_body_len = len};
    memset(body, 'a', len);
    tl_resp r;
    tl_request(&s, &form, &r);
    CHECKF(r.r_status == 400, "2 MiB form: HTTP %ld", r.r_status);
    tl_resp_free(&r);
    CHECK(alive(&s));
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    free(body);
    tl_sim_stop(&s);
}

static void test_bad_requests(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    static const char *const missing[] = {"/", "/crm", "/crm/v3/objects/contacts/123/nope",
                                          "/crm/v9/objects/contacts", "/_sim/nope"};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        tl_resp r;
        tl_get(&s, missing[i], TL_TOKEN, &r);
        CHECKF(r.r_status == 404, "GET %s: HTTP %ld", missing[i], r.r_status);
        tl_resp_free(&r);
    }
    /* A very long query value and a very long token. */
    size_t n = 8000;
    char *big = malloc(n + 64);
    REQUIRE(big);
    int w = snprintf(big, n + 64, "/crm/v3/objects/contacts?after=");
    memset(big + w, '9', n);
    big[w + (int)n] = '\0';
    tl_resp r;
    tl_get(&s, big, TL_TOKEN, &r);
    CHECKF(r.r_status == 400 || r.r_status == 414, "long after: HTTP %ld", r.r_status);
    tl_resp_free(&r);
    memset(big, 'x', n);
    big[n] = '\0';
    tl_get(&s, list_path, big, &r);
    CHECKF(r.r_status == 401 || r.r_status == 431, "long token: HTTP %ld", r.r_status);
    tl_resp_free(&r);
    free(big);
    /* An ID that does not fit in 64 bits. */
    tl_get(&s, "/crm/v4/objects/companies/99999999999999999999999/associations/contacts", TL_TOKEN,
           &r);
    CHECKF(r.r_status == 400 || r.r_status == 404, "huge id: HTTP %ld", r.r_status);
    tl_resp_free(&r);
    CHECK(alive(&s));
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

static void test_stats(void)
{
    tl_sim s = {0};
    tl_objects companies = {0};
    json_object *st = NULL;
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(tl_list_all(&s, "companies", false, &companies) == 0 && companies.os_count > 0);
    tl_resp r;
    tl_post_json(&s, "/_sim/reset-stats", NULL, "", &r);
    CHECK_EQ(r.r_status, 200);
    tl_resp_free(&r);

    char body[96];
    snprintf(body, sizeof(body), "{\"inputs\":[{\"id\":\"%llu\"}]}",
             (unsigned long long)companies.os_items[0].o_id);
    tl_post_json(&s, "/crm/v4/associations/company/0-1/batch/read", TL_TOKEN, body, &r);
    tl_resp_free(&r);
    tl_post_json(&s, "/crm/v4/associations/0-2/contact/batch/read", TL_TOKEN, body, &r);
    tl_resp_free(&r);
    tl_post_json(&s, "/crm/v4/associations/companies/contacts/batch/read", TL_TOKEN, body, &r);
    tl_resp_free(&r);
    tl_get(&s, "/crm/v3/objects/0-1?limit=1", TL_TOKEN, &r);
    tl_resp_free(&r);
    tl_getf(&s, TL_TOKEN, &r, "/crm/v4/objects/company/%llu/associations/contact",
            (unsigned long long)companies.os_items[0].o_id);
    tl_resp_free(&r);
    tl_post_json(&s, "/crm/v3/objects/contact/search", TL_TOKEN, "{}", &r);
    tl_resp_free(&r);
    tl_get(&s, list_path, NULL, &r); /* a 401 */
    tl_resp_free(&r);

    st = tl_stats(&s);
    REQUIRE(st);
    json_object *req = tl_jget(st, "requests");
    REQUIRE(json_object_is_type(req, json_type_object));
    json_object *v;
    CHECK(json_object_object_get_ex(req, "POST /crm/v4/associations/companies/contacts/batch/read",
                                    &v) &&
          json_object_get_int64(v) == 3);
    CHECK(json_object_object_get_ex(req, "GET /crm/v3/objects/contacts", &v) &&
          json_object_get_int64(v) == 2);
    CHECK(json_object_object_get_ex(req, "GET /crm/v4/objects/companies/{id}/associations/contacts",
                                    &v) &&
          json_object_get_int64(v) == 1);
    CHECK(json_object_object_get_ex(req, "POST /crm/v3/objects/contacts/search", &v) &&
          json_object_get_int64(v) == 1);
    /* No key keeps an alias, a type ID or a record ID. */
    json_object_object_foreach(req, key, count)
    {
        (void)count;
        CHECKF(!strstr(key, "company/") && !strstr(key, "/contact/") && !strstr(key, "0-") &&
                   !strstr(key, "?"),
               "stats key \"%s\"", key);
        char id[32];
        snprintf(id, sizeof(id), "%llu", (unsigned long long)companies.os_items[0].o_id);
        CHECKF(!strstr(key, id), "stats key \"%s\" keeps the record ID", key);
    }
    CHECK_OP(tl_jint_or(st, "total", -1), >=, 7);
    CHECK_EQ(tl_jint_or(st, "status.401", -1), 1);
    CHECK_OP(tl_jint_or(st, "status.200", -1), >=, 5);
    CHECK_EQ(tl_jint_or(st, "faults_injected", -1), 0);
    json_object_put(st);

    tl_post_json(&s, "/_sim/reset-stats", NULL, "", &r);
    CHECK_EQ(r.r_status, 200);
    tl_resp_free(&r);
    st = tl_stats(&s);
    REQUIRE(st);
    /* The stats request itself may or may not count. */
    CHECK_OP(tl_jint_or(st, "total", -1), <=, 1);
    CHECK_OP(tl_jint_or(st, "total", -1), >=, 0);
    CHECK_EQ(tl_jint_or(st, "status.401", 0), 0);
    CHECK_EQ(tl_jint_or(st, "max_in_window", -1), 0);
    CHECK(!json_object_object_get_ex(tl_jget(st, "requests"),
                                     "POST /crm/v4/associations/companies/contacts/batch/read",
                                     &v) ||
          json_object_get_int64(v) == 0);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(st);
    tl_objects_free(&companies);
    tl_sim_stop(&s);
}

/* What `n` list requests over `conns` connections got. */
typedef struct outcome {
    size_t o_ok, o_5xx, o_429, o_transport, o_unparsable, o_other;
} outcome;

static bool hammer(tl_sim *s, size_t n, int conns, outcome *o)
{
    memset(o, 0, sizeof(*o));
    tl_req *reqs = calloc(n, sizeof(*reqs));
    tl_resp *resp = calloc(n, sizeof(*resp));
    bool ok = reqs && resp;
    for (size_t i = 0; ok && i < n; i++)
        reqs[i] = (tl_req){.rq_method = "GET", .rq_path = list_path, .rq_token = TL_TOKEN};
    ok = ok && tl_parallel(s, reqs, n, conns, resp) == 0;
    for (size_t i = 0; ok && i < n; i++) {
        tl_resp *r = &resp[i];
        if (r->r_curl != CURLE_OK)
            o->o_transport++;
        else if (r->r_status == 200 && !tl_resp_json(r))
            o->o_unparsable++;
        else if (r->r_status == 200)
            o->o_ok++;
        else if (r->r_status == 502 || r->r_status == 503 || r->r_status == 504)
            o->o_5xx += tl_resp_json(r) && tl_str_eq(tl_jstr(tl_resp_json(r), "status"), "error");
        else if (r->r_status == 429)
            o->o_429 += tl_str_eq(tl_jstr(tl_resp_json(r), "policyName"), "TEN_SECONDLY_ROLLING");
        else
            o->o_other++;
    }
    for (size_t i = 0; resp && i < n; i++)
        tl_resp_free(&resp[i]);
    free(reqs);
    free(resp);
    if (ok)
        fprintf(stderr,
                "    %zu requests: %zu ok, %zu 5xx, %zu 429, %zu transport errors, "
                "%zu unparsable, %zu other\n",
                n, o->o_ok, o->o_5xx, o->o_429, o->o_transport, o->o_unparsable, o->o_other);
    return ok;
}

/* Starts a sim with one fault switch and hammers it; the outcome is checked
 * by the caller. */
static bool run_fault(const char *flag, const char *value, outcome *o, int64_t *injected)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL_ARGS, flag, value, NULL};
    bool ok = CHECK(tl_sim_start(&s, args) == 0) && CHECK(hammer(&s, 200, 4, o));
    *injected = ok ? tl_stat_int(&s, "faults_injected") : -1;
    /* The simulator survives its own faults. */
    ok = CHECK(alive(&s)) && ok;
    ok = CHECK_EQ(tl_sim_stop(&s), 0) && ok;
    return ok;
}

static void test_fault_5xx(void)
{
    outcome o;
    int64_t injected;
    if (!run_fault("--fault-5xx", "0.3", &o, &injected))
        return;
    CHECK_OP(o.o_5xx, >, 0);
    CHECK_OP(o.o_ok, >, 0);
    CHECK_EQ(o.o_other + o.o_transport + o.o_unparsable + o.o_429, 0);
    CHECK_EQ(injected, o.o_5xx);
}

static void test_fault_429(void)
{
    outcome o;
    int64_t injected;
    if (!run_fault("--fault-429", "0.3", &o, &injected))
        return;
    CHECK_OP(o.o_429, >, 0);
    CHECK_OP(o.o_ok, >, 0);
    CHECK_EQ(o.o_other + o.o_transport + o.o_unparsable + o.o_5xx, 0);
    CHECK_EQ(injected, o.o_429);
}

static void test_fault_reset(void)
{
    outcome o;
    int64_t injected;
    if (!run_fault("--fault-reset", "0.3", &o, &injected))
        return;
    CHECK_OP(o.o_transport, >, 0);
    CHECK_OP(o.o_ok, >, 0);
    CHECK_EQ(o.o_other + o.o_5xx + o.o_429, 0);
    /* curl retries a request once when a reused connection dies before any
     * byte of the answer, so injected resets can exceed the errors seen. */
    CHECK_OP(injected, >=, o.o_transport);
}

static void test_fault_truncate(void)
{
    outcome o;
    int64_t injected;
    if (!run_fault("--fault-truncate", "0.3", &o, &injected))
        return;
    CHECK_OP(o.o_transport + o.o_unparsable, >, 0);
    CHECK_OP(o.o_ok, >, 0);
    CHECK_EQ(o.o_other + o.o_5xx + o.o_429, 0);
    CHECK_OP(injected, >=, o.o_transport + o.o_unparsable);
    CHECK_OP(injected, >, 0);
}

/* One list request's wall time in ms. */
static int64_t timed_get(tl_sim *s, long *status)
{
    tl_resp r;
    int64_t t0 = tl_now_ms();
    tl_get(s, list_path, TL_TOKEN, &r);
    int64_t dt = tl_now_ms() - t0;
    *status = r.r_status;
    tl_resp_free(&r);
    return dt;
}

static void test_latency(void)
{
    tl_sim s = {0};
    long st;
    const char *args[] = {PORTAL_ARGS, "--latency-ms", "200:50", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    for (int i = 0; i < 3; i++) {
        int64_t dt = timed_get(&s, &st);
        CHECK_EQ(st, 200);
        CHECKF(dt >= 145, "latency 200±50 ms, request took %lld ms", (long long)dt);
    }
    CHECK_EQ(tl_sim_stop(&s), 0);

    const char *slow[] = {PORTAL_ARGS, "--fault-slow", "1:300", NULL};
    REQUIRE(tl_sim_start(&s, slow) == 0);
    int64_t dt = timed_get(&s, &st);
    CHECK_EQ(st, 200);
    CHECKF(dt >= 290, "fault-slow 1:300, request took %lld ms", (long long)dt);
    CHECK_OP(tl_stat_int(&s, "faults_injected"), >=, 1);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

/* A list request on its own connection, given up by the client after
 * timeout_ms, or when no byte arrives for a second (`low_speed`): what
 * came back, and how long it took. */
typedef struct fetched {
    CURLcode f_curl;
    long f_status;
    size_t f_got;             /* body bytes received */
    curl_off_t f_content_len; /* as the headers announced (-1: none) */
    int64_t f_ms;
} fetched;

static size_t count_body(char *data, size_t size, size_t n, void *user)
{
    (void)data;
    *(size_t *)user += size * n;
    return size * n;
}

static fetched fetch(tl_sim *s, long timeout_ms, bool low_speed)
{
    fetched f = {CURLE_FAILED_INIT, 0, 0, -1, 0};
    char url[256];
    snprintf(url, sizeof(url), "%s/crm/v3/objects/contacts?limit=100", s->s_base_url);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " TL_TOKEN);
    if (!c || !h)
        goto out;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (low_speed) {
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 1L);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, count_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &f.f_got);
    int64_t t0 = tl_now_ms();
    f.f_curl = curl_easy_perform(c);
    f.f_ms = tl_now_ms() - t0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f.f_status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &f.f_content_len);
out:
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return f;
}

/* POSTs `json` to /_sim/config; whether it was taken. */
static bool set_config(tl_sim *s, const char *json)
{
    tl_resp r;
    tl_post_json(s, "/_sim/config", NULL, json, &r);
    bool ok = r.r_status == 200;
    tl_resp_free(&r);
    return ok;
}

/* --fault-stall P: an answer that never starts, held until the client
 * hangs up (the simulator's thread then lets go: it stops at once and keeps
 * answering); P:MS, or fault_stall_ms in /_sim/config: the answer comes MS
 * late. Counted in faults.stall. */
static void test_fault_stall(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL_ARGS, "--fault-stall", "1", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    fetched f = fetch(&s, 1000, false);
    CHECK_EQ(f.f_curl, CURLE_OPERATION_TIMEDOUT);
    CHECK_EQ(f.f_status, 0);
    CHECK_OP(f.f_ms, >=, 1000);
    fetched g = fetch(&s, 1000, false);
    CHECK_EQ(g.f_curl, CURLE_OPERATION_TIMEDOUT);
    json_object *st = tl_stats(&s);
    CHECK_EQ(tl_jint_or(st, "faults.stall", -1), 2);
    CHECK_EQ(tl_jint_or(st, "faults_injected", -1), 2);
    json_object_put(st);
    REQUIRE(set_config(&s, "{\"fault_stall_ms\":300}"));
    fetched late = fetch(&s, 10000, false);
    CHECK_EQ(late.f_curl, CURLE_OK);
    CHECK_EQ(late.f_status, 200);
    CHECK_OP(late.f_ms, >=, 300);
    CHECK_OP(late.f_got, >, 0);
    REQUIRE(set_config(&s, "{\"fault_stall\":0}"));
    fetched ok = fetch(&s, 10000, false);
    CHECK_EQ(ok.f_status, 200);
    st = tl_stats(&s);
    CHECK_EQ(tl_jint_or(st, "faults.stall", -1), 3);
    json_object_put(st);
    CHECK(alive(&s));
    /* No stalled thread holds the simulator back from stopping. */
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

/* --fault-stall-body P: the status, the headers (a Content-Length of the
 * whole body) and half the body, then nothing, the connection held open
 * until the client gives up. Counted in faults.stall_body. */
static void test_fault_stall_body(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL_ARGS, "--fault-stall-body", "1", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    fetched f = fetch(&s, 20000, true);
    fprintf(stderr, "    stalled body: %zu of %lld bytes, given up after %lld ms (%s)\n", f.f_got,
            (long long)f.f_content_len, (long long)f.f_ms, curl_easy_strerror(f.f_curl));
    CHECK_EQ(f.f_curl, CURLE_OPERATION_TIMEDOUT);
    CHECK_EQ(f.f_status, 200);
    CHECK_OP(f.f_got, >, 0);
    CHECK_OP((curl_off_t)f.f_got, <, f.f_content_len);
    CHECK_OP(f.f_ms, <, 15000); /* the client's low-speed limit, not its total timeout */
    json_object *st = tl_stats(&s);
    CHECK_EQ(tl_jint_or(st, "faults.stall_body", -1), 1);
    json_object_put(st);
    REQUIRE(set_config(&s, "{\"fault_stall_body\":0}"));
    fetched ok = fetch(&s, 10000, true);
    CHECK_EQ(ok.f_curl, CURLE_OK);
    CHECK_EQ((curl_off_t)ok.f_got, ok.f_content_len);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

int it_register_robust(void)
{
    CU_pSuite s = it_add_suite("robust");
    CU_pSuite st = it_add_suite("stats");
    CU_pSuite f = it_add_suite("faults");
    if (!s || !st || !f)
        return -1;
    int rc = 0;
    rc |= it_add_test(s, "malformed", test_malformed);
    rc |= it_add_test(s, "huge_bodies", test_huge_bodies);
    rc |= it_add_test(s, "bad_requests", test_bad_requests);
    rc |= it_add_test(st, "keys_and_reset", test_stats);
    rc |= it_add_test(f, "fault_5xx", test_fault_5xx);
    rc |= it_add_test(f, "fault_429", test_fault_429);
    rc |= it_add_test(f, "fault_reset", test_fault_reset);
    rc |= it_add_test(f, "fault_truncate", test_fault_truncate);
    rc |= it_add_test(f, "latency", test_latency);
    rc |= it_add_test(f, "fault_stall", test_fault_stall);
    rc |= it_add_test(f, "fault_stall_body", test_fault_stall_body);
    return rc;
}
