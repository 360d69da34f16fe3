/*
 * it_simload — the simulator's load model over HTTP: the `hubspot` latency
 * profile (each family's answers in its documented range, counted in
 * /_sim/stats "latency"), --latency-ms adding to it, the scale, latency
 * slept after admission; the foreign load sharing the burst window and the
 * daily counter yet counted apart from the client; the client's "admitted"
 * figures; and the rate-limit headers (tiers, 429s, search, OAuth).
 *
 * Timings are bounded from below per answer (the slow tail only lengthens
 * one) and from above through the stats' sums, with the tail allowed for
 * when "tails" says it struck.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/base/jbuf.h"
#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_suites.h"

#define PORTAL IT_SMALL_PORTAL

static const char *const list_100 = "/crm/v3/objects/contacts?limit=100";

/* Header `name` as an integer, or -1. */
static long long header_int(const tl_resp *r, const char *name)
{
    const char *v = tl_header_get(r, name);
    char *end;
    long long n = v ? strtoll(v, &end, 10) : -1;
    return v && end != v && *end == '\0' ? n : -1;
}

/* POSTs `body` to /_sim/config; true on a 200. */
static bool set_config(tl_sim *s, const char *body)
{
    tl_resp r = {0};
    bool ok = tl_post_json(s, "/_sim/config", NULL, body, &r) == 0 && r.r_status == 200;
    if (!ok)
        tl_resp_dump("POST /_sim/config", &r);
    tl_resp_free(&r);
    return ok;
}

/* True when /_sim/config refuses `body` with a 400. */
static bool config_refused(tl_sim *s, const char *body)
{
    tl_resp r = {0};
    bool refused = tl_post_json(s, "/_sim/config", NULL, body, &r) == 0 && r.r_status == 400;
    tl_resp_free(&r);
    return refused;
}

/* One stats figure (a dotted path), or -1; NULL-safe. */
static int64_t stat_of(json_object *st, const char *path)
{
    return st ? tl_jint_or(st, path, -1) : -1;
}

/* Sends `req` and returns how long the answer took (ms), or -1 when no
 * answer with status `want` came. */
static int64_t timed(tl_sim *s, const tl_req *req, long want)
{
    tl_resp r = {0};
    int64_t t0 = tl_now_ms();
    int rc = tl_request(s, req, &r);
    int64_t ms = tl_now_ms() - t0;
    bool ok = rc == 0 && r.r_status == want;
    if (!ok)
        tl_resp_dump(req->rq_path, &r);
    tl_resp_free(&r);
    return ok ? ms : -1;
}

/* Family `name` of the stats answered `count` times, each in [lo, hi] ms
 * (the sum within count · [lo, hi], or up to 5 · hi more per tail). */
static void check_family(json_object *st, const char *name, int64_t count, int64_t lo, int64_t hi)
{
    char path[64];
    snprintf(path, sizeof(path), "latency.%s.count", name);
    int64_t n = stat_of(st, path);
    snprintf(path, sizeof(path), "latency.%s.sum_ms", name);
    int64_t sum = stat_of(st, path);
    snprintf(path, sizeof(path), "latency.%s.tails", name);
    int64_t tails = stat_of(st, path);
    CHECKF(n == count, "latency.%s.count %lld, want %lld", name, (long long)n, (long long)count);
    CHECKF(sum >= count * lo && sum <= count * hi + tails * 4 * hi,
           "latency.%s.sum_ms %lld for %lld answers (%lld tails), want %lld-%lld each", name,
           (long long)sum, (long long)count, (long long)tails, (long long)lo, (long long)hi);
}

/* The hubspot profile: every family's answers take at least the bottom of
 * its range, and the stats' sums stay within the ranges. */
static void test_hubspot_profile(void)
{
    tl_sim s = {0};
    tl_objects companies = {0};
    jbuf body;
    jb_init(&body);
    json_object *st = NULL;
    const char *args[] = {PORTAL, "--companies", "1100", "--contacts", "3000", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(tl_list_all(&s, "companies", false, &companies) == 0);
    REQUIRE(companies.os_count >= 1000);
    jb_lit(&body, "{\"inputs\":[");
    for (size_t i = 0; i < 1000; i++)
        jb_printf(&body, "%s{\"id\":\"%llu\"}", i ? "," : "",
                  (unsigned long long)companies.os_items[i].o_id);
    jb_lit(&body, "]}");
    /* Switched on at run time: the listing above ran at full speed. */
    REQUIRE(set_config(&s, "{\"latency_profile\":\"hubspot\"}"));
    tl_resp r = {0};
    REQUIRE(tl_post_json(&s, "/_sim/reset-stats", NULL, "{}", &r) == 0);
    tl_resp_free(&r);
    static const char search_200[] = "{\"limit\":200}";
    const tl_req list = {"GET", list_100, TL_TOKEN, NULL, NULL, 0};
    const tl_req search = {"POST",     "/crm/v3/objects/contacts/search",
                           TL_TOKEN,   "application/json",
                           search_200, sizeof(search_200) - 1};
    const tl_req assoc = {"POST",         "/crm/v4/associations/companies/contacts/batch/read",
                          TL_TOKEN,       "application/json",
                          jb_cstr(&body), body.jb_len};
    const tl_req props = {"GET", "/crm/v3/properties/companies", TL_TOKEN, NULL, NULL, 0};
    const tl_req labels = {
        "GET", "/crm/v4/associations/companies/contacts/labels", TL_TOKEN, NULL, NULL, 0};
    /* A private-app portal refuses the grant (400): answered all the same. */
    static const char form[] = "grant_type=refresh_token&refresh_token=sim-refresh-token"
                               "&client_id=sim-client-id&client_secret=sim-client-secret";
    const tl_req token = {"POST", "/oauth/v1/token", NULL, "application/x-www-form-urlencoded",
                          form,   sizeof(form) - 1};
    static const struct {
        const char *family;
        int times;
        long status;
        int64_t lo, hi;
    } plan[] = {
        {"list", 3, 200, 300, 450},         {"search", 2, 200, 400, 600},
        {"assoc_batch", 2, 207, 800, 1500}, {"properties", 1, 200, 150, 250},
        {"labels", 1, 200, 150, 250},       {"token", 1, 400, 150, 250},
    };
    const tl_req *reqs[] = {&list, &search, &assoc, &props, &labels, &token};
    for (size_t k = 0; k < sizeof(plan) / sizeof(plan[0]); k++)
        for (int i = 0; i < plan[k].times; i++) {
            int64_t ms = timed(&s, reqs[k], plan[k].status);
            CHECKF(ms >= plan[k].lo, "%s answer %d took %lld ms, want at least %lld",
                   plan[k].family, i, (long long)ms, (long long)plan[k].lo);
        }
    st = tl_stats(&s);
    REQUIRE(st);
    for (size_t k = 0; k < sizeof(plan) / sizeof(plan[0]); k++)
        check_family(st, plan[k].family, plan[k].times, plan[k].lo, plan[k].hi);
    CHECK_EQ(stat_of(st, "latency.object_batch.count"), 0);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(st);
    tl_objects_free(&companies);
    jb_free(&body);
    tl_sim_stop(&s);
}

/* --latency-ms alone is the old flat model (profile none); the profile adds
 * to it; the scale multiplies the profile; each switch takes at run time. */
static void test_flat_scale_and_switches(void)
{
    tl_sim s = {0};
    json_object *st = NULL;
    const char *args[] = {PORTAL, "--latency-profile", "none", "--latency-ms", "100:0", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    const tl_req list = {"GET", list_100, TL_TOKEN, NULL, NULL, 0};
    for (int i = 0; i < 3; i++)
        CHECK_OP(timed(&s, &list, 200), >=, 100);
    st = tl_stats(&s);
    CHECK_EQ(stat_of(st, "latency.list.count"), 3);
    CHECK_EQ(stat_of(st, "latency.list.sum_ms"), 300);
    json_object_put(st);
    st = NULL;
    /* The profile at a tenth, plus the 100 ms: a page of 100 in 130–145 ms. */
    REQUIRE(set_config(&s, "{\"latency_profile\":\"hubspot\",\"latency_scale\":0.1}"));
    tl_resp r = {0};
    REQUIRE(tl_get(&s, "/_sim/config", NULL, &r) == 0);
    CHECK_STR(tl_jstr(tl_resp_json(&r), "latency_profile"), "hubspot");
    CHECK(tl_jget(tl_resp_json(&r), "latency_scale") &&
          json_object_get_double(tl_jget(tl_resp_json(&r), "latency_scale")) == 0.1);
    tl_resp_free(&r);
    REQUIRE(tl_post_json(&s, "/_sim/reset-stats", NULL, "{}", &r) == 0);
    tl_resp_free(&r);
    for (int i = 0; i < 4; i++)
        CHECK_OP(timed(&s, &list, 200), >=, 130);
    st = tl_stats(&s);
    check_family(st, "list", 4, 130, 145);
    json_object_put(st);
    st = NULL;
    /* Back to none and no flat latency: nothing slept, still counted. */
    REQUIRE(set_config(&s, "{\"latency_profile\":\"none\",\"latency_ms\":0}"));
    REQUIRE(tl_post_json(&s, "/_sim/reset-stats", NULL, "{}", &r) == 0);
    tl_resp_free(&r);
    CHECK_OP(timed(&s, &list, 200), >=, 0);
    st = tl_stats(&s);
    CHECK_EQ(stat_of(st, "latency.list.count"), 1);
    CHECK_EQ(stat_of(st, "latency.list.sum_ms"), 0);
    CHECK(config_refused(&s, "{\"latency_profile\":\"slow\"}"));
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(st);
    tl_sim_stop(&s);
}

/* The limiter sees a request when it arrives, before its latency: ten at
 * once against 5/10s admit five within a few ms of each other although each
 * answer takes 300 ms or more; the five 429s are not slept. */
static void test_admitted_before_latency(void)
{
    tl_sim s = {0};
    tl_resp out[10] = {{0}};
    json_object *st = NULL;
    const char *args[] = {PORTAL, "--latency-profile", "hubspot", "--rate", "5/10s", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    tl_req reqs[10];
    for (int i = 0; i < 10; i++)
        reqs[i] = (tl_req){"GET", list_100, TL_TOKEN, NULL, NULL, 0};
    REQUIRE(tl_parallel(&s, reqs, 10, 10, out) == 0);
    int ok = 0, limited = 0;
    for (int i = 0; i < 10; i++) {
        ok += out[i].r_status == 200;
        limited += out[i].r_status == 429;
    }
    CHECK(ok == 5 && limited == 5);
    st = tl_stats(&s);
    REQUIRE(st);
    CHECK_EQ(stat_of(st, "admitted.burst.count"), 5);
    int64_t spread = stat_of(st, "admitted.burst.last_ms") - stat_of(st, "admitted.burst.first_ms");
    CHECKF(spread >= 0 && spread < 250, "five admitted over %lld ms", (long long)spread);
    CHECK_EQ(stat_of(st, "latency.list.count"), 5);
    CHECK_EQ(stat_of(st, "rate_limited.TEN_SECONDLY_ROLLING"), 5);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    for (int i = 0; i < 10; i++)
        tl_resp_free(&out[i]);
    json_object_put(st);
    tl_sim_stop(&s);
}

/* The foreign load holds half of a 20/2s window; the client gets the other
 * half: Remaining counts the foreign requests, the client's 429 is its own,
 * and every client figure (requests, meters, admitted) leaves the foreign
 * requests out. */
static void test_foreign_shares_window(void)
{
    tl_sim s = {0};
    json_object *st = NULL;
    const char *args[] = {PORTAL, "--rate", "20/2s", "--foreign-load", "10/2s", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    tl_sleep_ms(2200);
    int64_t client_start = tl_wall_ms();
    int passed = 0;
    long long first_remaining = -1;
    bool refused = false;
    for (int i = 0; i < 25 && !refused; i++) {
        tl_resp r = {0};
        tl_get(&s, list_100, TL_TOKEN, &r);
        if (r.r_status == 200 && passed++ == 0)
            first_remaining = header_int(&r, "X-HubSpot-RateLimit-Remaining");
        if (r.r_status == 429) {
            refused = true;
            CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Remaining"), 0);
        }
        tl_resp_free(&r);
    }
    CHECK(refused);
    /* 20 − 10 foreign − this one; a foreign arrival may be just in or out. */
    CHECKF(first_remaining >= 8 && first_remaining <= 10, "first Remaining %lld", first_remaining);
    CHECKF(passed >= 8 && passed <= 12, "%d client requests passed", passed);
    st = tl_stats(&s);
    REQUIRE(st);
    CHECK_OP(stat_of(st, "foreign.admitted"), >=, 10);
    CHECK_EQ(stat_of(st, "rate_limited.TEN_SECONDLY_ROLLING"), 1);
    CHECK_EQ(stat_of(st, "total"), passed + 1);
    CHECK_EQ(stat_of(st, "max_in_window"), passed);
    CHECK_EQ(stat_of(st, "admitted.burst.count"), passed);
    CHECK_OP(stat_of(st, "admitted.burst.first_ms"), >=, client_start);
    CHECK_OP(stat_of(st, "first_request_ms"), >=, client_start);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(st);
    tl_sim_stop(&s);
}

/* A foreign load above the limit: its refusals are foreign, not the
 * client's; it spends the daily counter; "0" stops it and a new rate
 * restarts it, both at run time. */
static void test_foreign_refused_daily_and_switch(void)
{
    tl_sim s = {0};
    json_object *st = NULL;
    const char *args[] = {PORTAL,  "--rate",  "3/1s",   "--foreign-load",
                          "10/1s", "--daily", "100000", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    tl_sleep_ms(1500);
    REQUIRE(set_config(&s, "{\"foreign_load\":\"0\"}"));
    st = tl_stats(&s);
    REQUIRE(st);
    int64_t admitted = stat_of(st, "foreign.admitted"), refused = stat_of(st, "foreign.refused");
    CHECKF(admitted >= 4 && admitted <= 8, "foreign admitted %lld", (long long)admitted);
    CHECKF(refused >= 6, "foreign refused %lld", (long long)refused);
    CHECK_EQ(stat_of(st, "rate_limited.TEN_SECONDLY_ROLLING"), 0);
    CHECK_EQ(stat_of(st, "total"), 0);
    CHECK_EQ(stat_of(st, "max_in_window"), 0);
    CHECK_EQ(stat_of(st, "admitted.burst.count"), 0);
    json_object_put(st);
    st = NULL;
    /* Stopped: nothing more arrives. The daily counter holds what was
     * admitted (refused requests were given back). */
    tl_sleep_ms(1100);
    tl_resp r = {0};
    tl_get(&s, list_100, TL_TOKEN, &r);
    CHECK_EQ(r.r_status, 200);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Daily-Remaining"), 100000 - admitted - 1);
    tl_resp_free(&r);
    st = tl_stats(&s);
    CHECK_EQ(stat_of(st, "foreign.admitted"), admitted);
    CHECK_EQ(stat_of(st, "foreign.refused"), refused);
    json_object_put(st);
    st = NULL;
    REQUIRE(tl_get(&s, "/_sim/config", NULL, &r) == 0);
    CHECK_STR(tl_jstr(tl_resp_json(&r), "foreign_load"), "0");
    tl_resp_free(&r);
    REQUIRE(set_config(&s, "{\"foreign_load\":\"2/1s\"}"));
    tl_sleep_ms(1200);
    st = tl_stats(&s);
    CHECK_OP(stat_of(st, "foreign.admitted"), >=, admitted + 2);
    CHECK(config_refused(&s, "{\"foreign_load\":\"2\"}"));
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(st);
    tl_sim_stop(&s);
}

/* The rate-limit headers as HubSpot sends them: the burst policy's on
 * burst-counted answers, 429s included, the daily pair for private apps;
 * none on searches; no daily pair under OAuth. The pro-addon tier. */
/* Every answer is dated by HubSpot's clock, once: this machine's, moved
 * by --clock-offset-ms. */
static void test_date_follows_clock_offset(void)
{
    tl_sim s = {0};
    tl_resp r = {0};
    const char *behind[] = {PORTAL, "--clock-offset-ms", "-120000", NULL};
    REQUIRE(tl_sim_start(&s, behind) == 0);
    int64_t before = tl_wall_ms();
    tl_get(&s, list_100, TL_TOKEN, &r);
    int64_t after = tl_wall_ms();
    CHECK_EQ(r.r_status, 200);
    CHECK_EQ(tl_header_count_prefix(&r, "Date"), 1);
    const char *date = tl_header_get(&r, "Date");
    REQUIRE(date != NULL);
    int64_t dated_ms = (int64_t)curl_getdate(date, NULL) * 1000;
    CHECK_OP(dated_ms, >, before - 120000 - 1000);
    CHECK_OP(dated_ms, <=, after - 120000);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);
    const char *bad[] = {PORTAL, "--clock-offset-ms", "-", NULL};
    CHECK(tl_sim_start(&s, bad) != 0);
done:
    tl_resp_free(&r);
    tl_sim_stop(&s);
}

static void test_headers(void)
{
    tl_sim s = {0};
    tl_resp r = {0};
    const char *addon[] = {PORTAL, "--tier", "pro-addon", NULL};
    REQUIRE(tl_sim_start(&s, addon) == 0);
    tl_get(&s, list_100, TL_TOKEN, &r);
    CHECK_EQ(r.r_status, 200);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Max"), 250);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Remaining"), 249);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Interval-Milliseconds"), 10000);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Secondly"), 25);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Secondly-Remaining"), 25);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Daily"), 1625000);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Daily-Remaining"), 1624999);
    CHECK_EQ(tl_header_count_prefix(&r, "X-HubSpot-RateLimit-"), 7);
    tl_resp_free(&r);
    tl_post_json(&s, "/crm/v3/objects/contacts/search", TL_TOKEN, "{\"limit\":1}", &r);
    CHECK_EQ(r.r_status, 200);
    CHECK_EQ(tl_header_count_prefix(&r, "X-HubSpot-RateLimit"), 0);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);

    /* A burst 429 carries the burst headers with Remaining 0, and the daily
     * pair with the refused request given back. */
    const char *tight[] = {PORTAL, "--rate", "2/10s", "--daily", "100", NULL};
    REQUIRE(tl_sim_start(&s, tight) == 0);
    for (int i = 0; i < 3; i++) {
        tl_resp_free(&r);
        tl_get(&s, list_100, TL_TOKEN, &r);
    }
    CHECK_EQ(r.r_status, 429);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Max"), 2);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Remaining"), 0);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Interval-Milliseconds"), 10000);
    CHECK(tl_header_get(&r, "X-HubSpot-RateLimit-Secondly") != NULL);
    CHECK(tl_header_get(&r, "X-HubSpot-RateLimit-Secondly-Remaining") != NULL);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Daily"), 100);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Daily-Remaining"), 98);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);

    /* OAuth: the burst headers, no daily pair. */
    static const char form[] = "grant_type=refresh_token&refresh_token=sim-refresh-token"
                               "&client_id=sim-client-id&client_secret=sim-client-secret";
    const char *oauth[] = {PORTAL, "--auth", "oauth", NULL};
    REQUIRE(tl_sim_start(&s, oauth) == 0);
    tl_post_form(&s, "/oauth/v1/token", NULL, form, &r);
    const char *tok = tl_jstr(tl_resp_json(&r), "access_token");
    char token[256];
    snprintf(token, sizeof(token), "%s", tok ? tok : "");
    tl_resp_free(&r);
    REQUIRE(token[0]);
    tl_get(&s, list_100, token, &r);
    CHECK_EQ(r.r_status, 200);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Max"), 190);
    CHECK(tl_header_get(&r, "X-HubSpot-RateLimit-Daily") == NULL);
    CHECK(tl_header_get(&r, "X-HubSpot-RateLimit-Daily-Remaining") == NULL);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_resp_free(&r);
    tl_sim_stop(&s);
}

/* Every stats key the existing tests read is still there, with the new
 * objects beside them. */
static void test_stats_keys(void)
{
    tl_sim s = {0};
    json_object *st = NULL;
    REQUIRE(tl_sim_start(&s, (const char *const[]){PORTAL, NULL}) == 0);
    tl_resp r = {0};
    tl_get(&s, list_100, TL_TOKEN, &r);
    tl_resp_free(&r);
    st = tl_stats(&s);
    REQUIRE(st);
    static const char *const keys[] = {
        "requests",
        "total",
        "status",
        "rate_limited.TEN_SECONDLY_ROLLING",
        "faults",
        "faults_injected",
        "max_in_window",
        "window_ms",
        "search_max_in_window",
        "search_window_ms",
        "first_request_ms",
        "last_request_ms",
        "connections",
        "tokens_issued",
        "rollups.pending",
        "admitted.burst.count",
        "admitted.burst.first_ms",
        "admitted.burst.last_ms",
        "admitted.search.count",
        "latency.token.sum_ms",
        "latency.properties.count",
        "latency.labels.count",
        "latency.list.tails",
        "latency.search.count",
        "latency.object_batch.count",
        "latency.assoc_batch.count",
        "foreign.admitted",
        "foreign.refused",
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        CHECKF(tl_jget(st, keys[i]) != NULL, "/_sim/stats lacks %s", keys[i]);
    CHECK_EQ(stat_of(st, "admitted.burst.count"), 1);
    /* Counted at arrival and at admission: the same request, ms apart. */
    int64_t gap = stat_of(st, "admitted.burst.first_ms") - stat_of(st, "first_request_ms");
    CHECKF(gap >= 0 && gap <= 50, "admitted %lld ms after the request arrived", (long long)gap);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(st);
    tl_sim_stop(&s);
}

int it_register_simload(void)
{
    CU_pSuite s = it_add_suite("simload");
    if (!s)
        return -1;
    int rc = 0;
    rc |= it_add_test(s, "hubspot_profile", test_hubspot_profile);
    rc |= it_add_test(s, "flat_scale_and_switches", test_flat_scale_and_switches);
    rc |= it_add_test(s, "admitted_before_latency", test_admitted_before_latency);
    rc |= it_add_test(s, "foreign_shares_window", test_foreign_shares_window);
    rc |= it_add_test(s, "foreign_refused_daily_and_switch", test_foreign_refused_daily_and_switch);
    rc |= it_add_test(s, "headers", test_headers);
    rc |= it_add_test(s, "date_follows_clock_offset", test_date_follows_clock_offset);
    rc |= it_add_test(s, "stats_keys", test_stats_keys);
    return rc;
}
