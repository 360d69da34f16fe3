/*
 * it_ratelimit — the rate-limit policies (docs/SIMULATOR.md): the rolling
 * burst window, the search policy, the daily cap, their 429 bodies and
 * headers, Retry-After, the tiers and the association-batch exemption.
 *
 * Client-side timestamps cannot prove the rolling-window property (requests
 * queue in the kernel and in the simulator), so the window is checked with
 * the simulator's own max_in_window statistic plus a few coarse timings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_suites.h"

#define PORTAL IT_SMALL_PORTAL

static const char *const list_path = "/crm/v3/objects/contacts?limit=1";

/* Header `name` as an integer, or -1. */
static long long header_int(const tl_resp *r, const char *name)
{
    const char *v = tl_header_get(r, name);
    char *end;
    long long n = v ? strtoll(v, &end, 10) : -1;
    return v && end != v && *end == '\0' ? n : -1;
}

/* The 429 body of policy `policy` with its message (§6.2). */
static bool is_rate_limit_body(tl_resp *r, const char *policy, const char *message)
{
    json_object *j = tl_resp_json(r);
    bool ok = r->r_status == 429 && j && tl_str_eq(tl_jstr(j, "status"), "error") &&
              tl_str_eq(tl_jstr(j, "errorType"), "RATE_LIMIT") &&
              tl_str_eq(tl_jstr(j, "policyName"), policy) &&
              tl_str_eq(tl_jstr(j, "message"), message) &&
              tl_is_uuid(tl_jstr(j, "correlationId")) && tl_jstr(j, "requestId") &&
              tl_jstr(j, "requestId")[0];
    if (!ok)
        tl_resp_dump("expected a RATE_LIMIT 429", r);
    return ok;
}

/* Runs `n` copies of one request over `conns` connections; counts statuses. */
typedef struct burst {
    tl_resp *b_resp;
    size_t b_n;
    size_t b_ok, b_429, b_other;
} burst;

static bool run_burst(tl_sim *s, const tl_req *req, size_t n, int conns, burst *b)
{
    memset(b, 0, sizeof(*b));
    tl_req *reqs = calloc(n, sizeof(*reqs));
    b->b_resp = calloc(n, sizeof(*b->b_resp));
    b->b_n = n;
    if (!reqs || !b->b_resp) {
        free(reqs);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        reqs[i] = *req;
    int rc = tl_parallel(s, reqs, n, conns, b->b_resp);
    free(reqs);
    for (size_t i = 0; i < n; i++) {
        long st = b->b_resp[i].r_status;
        if (st == 200 || st == 207)
            b->b_ok++;
        else if (st == 429)
            b->b_429++;
        else
            b->b_other++;
    }
    return rc == 0;
}

static void burst_free(burst *b)
{
    for (size_t i = 0; b->b_resp && i < b->b_n; i++)
        tl_resp_free(&b->b_resp[i]);
    free(b->b_resp);
    memset(b, 0, sizeof(*b));
}

static void test_burst_window(void)
{
    tl_sim s = {0};
    burst b = {0};
    json_object *st = NULL;
    const char *args[] = {PORTAL, "--rate", "20/1s", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    tl_req req = {.rq_method = "GET", .rq_path = list_path, .rq_token = TL_TOKEN};
    int64_t t0 = tl_now_ms();
    REQUIRE(run_burst(&s, &req, 200, 4, &b));
    int64_t elapsed = tl_now_ms() - t0;
    CHECK_EQ(b.b_other, 0);
    CHECK_OP(b.b_ok, >=, 20);
    CHECK_OP(b.b_429, >, 0);
    /* Coarse: at most 20 per started second of the run. */
    CHECKF(b.b_ok <= (size_t)(20 * (elapsed / 1000 + 1)), "%zu admitted in %lld ms", b.b_ok,
           (long long)elapsed);
    bool bodies_checked = false, ok_checked = false;
    for (size_t i = 0; i < b.b_n; i++) {
        tl_resp *r = &b.b_resp[i];
        if (r->r_status == 429 && !bodies_checked) {
            bodies_checked = true;
            CHECK(is_rate_limit_body(r, "TEN_SECONDLY_ROLLING",
                                     "You have reached your ten_secondly_rolling limit."));
            CHECK_EQ(header_int(r, "X-HubSpot-RateLimit-Max"), 20);
            CHECK_EQ(header_int(r, "X-HubSpot-RateLimit-Interval-Milliseconds"), 1000);
            CHECK_EQ(header_int(r, "X-HubSpot-RateLimit-Remaining"), 0);
            CHECK(tl_header_get(r, "Retry-After") == NULL);
        }
        if (r->r_status == 200 && !ok_checked) {
            ok_checked = true;
            CHECK_EQ(header_int(r, "X-HubSpot-RateLimit-Max"), 20);
            CHECK_EQ(header_int(r, "X-HubSpot-RateLimit-Interval-Milliseconds"), 1000);
            long long rem = header_int(r, "X-HubSpot-RateLimit-Remaining");
            CHECKF(rem >= 0 && rem < 20, "Remaining %lld", rem);
        }
    }
    st = tl_stats(&s);
    REQUIRE(st);
    int64_t max_in_window = tl_jint_or(st, "max_in_window", -1);
    CHECK_OP(max_in_window, <=, 20);
    CHECK_OP(max_in_window, >=, 1);
    CHECK_EQ(tl_jint_or(st, "window_ms", -1), 1000);
    CHECK_EQ(tl_jint_or(st, "rate_limited.TEN_SECONDLY_ROLLING", -1), b.b_429);
    CHECK_EQ(tl_jint_or(st, "status.429", -1), b.b_429);
    CHECK_EQ(tl_jint_or(st, "status.200", -1), b.b_ok);
    CHECK(tl_jint_or(st, "requests.GET /crm/v3/objects/contacts", -1) >= 200);
    burst_free(&b);

    /* The window rolls: after a quiet second, requests pass again. */
    tl_sleep_ms(1100);
    tl_resp r;
    tl_get(&s, list_path, TL_TOKEN, &r);
    CHECK_EQ(r.r_status, 200);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(st);
    burst_free(&b);
    tl_sim_stop(&s);
}

/* Sequential: exactly `limit` pass, the next is refused, and one window
 * later the budget is back. */
static void test_burst_sequential(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL, "--rate", "10/2s", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    int64_t t0 = tl_now_ms();
    int passed = 0;
    for (int i = 0; i < 11; i++) {
        tl_resp r;
        tl_get(&s, list_path, TL_TOKEN, &r);
        if (r.r_status == 200) {
            passed++;
            CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Remaining"), 10 - passed);
        }
        tl_resp_free(&r);
    }
    /* Only meaningful when the eleven requests fit in the window. */
    if (tl_now_ms() - t0 < 1500)
        CHECK_EQ(passed, 10);
    tl_sleep_ms(2100);
    tl_resp r;
    tl_get(&s, list_path, TL_TOKEN, &r);
    CHECK_EQ(r.r_status, 200);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

static void test_search_policy(void)
{
    tl_sim s = {0};
    burst b = {0};
    json_object *st = NULL;
    const char *args[] = {PORTAL, "--search-rate", "5/1s", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    tl_req req = {.rq_method = "POST",
                  .rq_path = "/crm/v3/objects/contacts/search",
                  .rq_token = TL_TOKEN,
                  .rq_content_type = "application/json",
                  .rq_body = "{\"limit\":1}",
                  .rq_body_len = strlen("{\"limit\":1}")};
    REQUIRE(run_burst(&s, &req, 40, 4, &b));
    CHECK_EQ(b.b_other, 0);
    CHECK_OP(b.b_ok, >=, 5);
    CHECK_OP(b.b_429, >, 0);
    bool checked = false;
    for (size_t i = 0; i < b.b_n; i++) {
        tl_resp *r = &b.b_resp[i];
        /* Search responses carry no rate-limit headers, 429s included. */
        CHECKF(tl_header_count_prefix(r, "X-HubSpot-RateLimit") == 0,
               "search response %zu (HTTP %ld) has rate-limit headers", i, r->r_status);
        if (r->r_status == 429 && !checked) {
            checked = true;
            CHECK(is_rate_limit_body(r, "SECONDLY", "You have reached your secondly limit."));
        }
    }
    st = tl_stats(&s);
    REQUIRE(st);
    CHECK_OP(tl_jint_or(st, "search_max_in_window", -1), <=, 5);
    CHECK_OP(tl_jint_or(st, "search_max_in_window", -1), >=, 1);
    CHECK_EQ(tl_jint_or(st, "rate_limited.SECONDLY", -1), b.b_429);

    /* The burst policy is separate: a list request still passes with its
     * headers (pro tier: 190 per 10 s, 625,000 a day). */
    tl_resp r;
    tl_get(&s, list_path, TL_TOKEN, &r);
    CHECK_EQ(r.r_status, 200);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Max"), 190);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Interval-Milliseconds"), 10000);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Daily"), 625000);
    CHECK_OP(header_int(&r, "X-HubSpot-RateLimit-Daily-Remaining"), >, 0);
    CHECK(tl_header_get(&r, "X-HubSpot-RateLimit-Secondly") != NULL);
    CHECK(tl_header_get(&r, "X-HubSpot-RateLimit-Secondly-Remaining") != NULL);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(st);
    burst_free(&b);
    tl_sim_stop(&s);
}

static void test_daily(void)
{
    tl_sim s = {0};
    json_object *st = NULL;
    const char *args[] = {PORTAL, "--daily", "30", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    bool headers_ok = true;
    for (int i = 1; i <= 30; i++) {
        tl_resp r;
        tl_get(&s, list_path, TL_TOKEN, &r);
        if (!CHECKF(r.r_status == 200, "request %d: HTTP %ld", i, r.r_status)) {
            tl_resp_free(&r);
            break;
        }
        /* Report only the first wrong pair of headers. */
        if (headers_ok)
            headers_ok = CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Daily"), 30) &&
                         CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Daily-Remaining"), 30 - i);
        tl_resp_free(&r);
    }
    tl_resp r;
    tl_get(&s, list_path, TL_TOKEN, &r);
    CHECK(is_rate_limit_body(&r, "DAILY", "You have reached your daily limit."));
    tl_resp_free(&r);
    st = tl_stats(&s);
    REQUIRE(st);
    CHECK_EQ(tl_jint_or(st, "rate_limited.DAILY", -1), 1);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(st);
    tl_sim_stop(&s);
}

/* The daily headers depend on the daily limit alone, not on the burst one. */
static void test_daily_without_burst(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL, "--rate", "0", "--daily", "5", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    tl_resp r;
    tl_get(&s, list_path, TL_TOKEN, &r);
    CHECK_EQ(r.r_status, 200);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Daily"), 5);
    CHECK_EQ(header_int(&r, "X-HubSpot-RateLimit-Daily-Remaining"), 4);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

static void test_retry_after(void)
{
    tl_sim s = {0};
    for (int on = 0; on <= 1; on++) {
        const char *args[] = {PORTAL, "--rate", "2/5s", "--retry-after", on ? "on" : "off", NULL};
        REQUIRE(tl_sim_start(&s, args) == 0);
        tl_resp r = {0};
        for (int i = 0; i < 3; i++) {
            tl_resp_free(&r);
            tl_get(&s, list_path, TL_TOKEN, &r);
        }
        CHECK_EQ(r.r_status, 429);
        long long ra = header_int(&r, "Retry-After");
        if (on)
            CHECKF(ra >= 1 && ra <= 5, "Retry-After %lld with a 5 s window", ra);
        else
            CHECK(tl_header_get(&r, "Retry-After") == NULL);
        tl_resp_free(&r);
        CHECK_EQ(tl_sim_stop(&s), 0);
    }
done:
    tl_sim_stop(&s);
}

/* Burst limit and daily allowance per tier (§1). */
static void test_tiers(void)
{
    tl_sim s = {0};
    static const struct {
        const char *tier;
        long long max, daily;
    } tiers[] = {{"free", 100, 250000},
                 {"starter", 100, 250000},
                 {"pro", 190, 625000},
                 {"enterprise", 190, 1000000}};
    for (size_t i = 0; i < sizeof(tiers) / sizeof(tiers[0]); i++) {
        const char *args[] = {PORTAL, "--tier", tiers[i].tier, NULL};
        REQUIRE(tl_sim_start(&s, args) == 0);
        tl_resp r;
        tl_get(&s, list_path, TL_TOKEN, &r);
        CHECK_EQ(r.r_status, 200);
        CHECKF(header_int(&r, "X-HubSpot-RateLimit-Max") == tiers[i].max, "tier %s", tiers[i].tier);
        CHECKF(header_int(&r, "X-HubSpot-RateLimit-Daily") == tiers[i].daily, "tier %s",
               tiers[i].tier);
        tl_resp_free(&r);
        CHECK_EQ(tl_sim_stop(&s), 0);
    }
    /* unlimited: a burst far above any tier passes. */
    const char *args[] = {PORTAL, "--tier", "unlimited", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    tl_req req = {.rq_method = "GET", .rq_path = list_path, .rq_token = TL_TOKEN};
    burst b;
    if (CHECK(run_burst(&s, &req, 300, 4, &b)))
        CHECK_EQ(b.b_ok, 300);
    burst_free(&b);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

/* --assoc-batch-exempt on: association batch reads bypass the burst limit. */
static void test_assoc_exempt(void)
{
    tl_sim s = {0};
    static const char body[] = "{\"inputs\":[{\"id\":\"1\"}]}";
    tl_req req = {.rq_method = "POST",
                  .rq_path = "/crm/v4/associations/companies/contacts/batch/read",
                  .rq_token = TL_TOKEN,
                  .rq_content_type = "application/json",
                  .rq_body = body,
                  .rq_body_len = sizeof(body) - 1};
    for (int on = 0; on <= 1; on++) {
        const char *args[] = {PORTAL, "--rate", "5/2s", "--assoc-batch-exempt", on ? "on" : "off",
                              NULL};
        REQUIRE(tl_sim_start(&s, args) == 0);
        burst b;
        if (CHECK(run_burst(&s, &req, 30, 2, &b))) {
            if (on)
                CHECKF(b.b_429 == 0 && b.b_ok == 30, "exempt: %zu ok, %zu 429", b.b_ok, b.b_429);
            else
                CHECKF(b.b_429 > 0, "not exempt: %zu ok, %zu 429", b.b_ok, b.b_429);
        }
        burst_free(&b);
        CHECK_EQ(tl_sim_stop(&s), 0);
    }
done:
    tl_sim_stop(&s);
}

int it_register_ratelimit(void)
{
    CU_pSuite s = it_add_suite("ratelimit");
    if (!s)
        return -1;
    int rc = 0;
    rc |= it_add_test(s, "burst_window", test_burst_window);
    rc |= it_add_test(s, "burst_sequential", test_burst_sequential);
    rc |= it_add_test(s, "search_policy", test_search_policy);
    rc |= it_add_test(s, "daily", test_daily);
    rc |= it_add_test(s, "daily_without_burst", test_daily_without_burst);
    rc |= it_add_test(s, "retry_after", test_retry_after);
    rc |= it_add_test(s, "tiers", test_tiers);
    rc |= it_add_test(s, "assoc_exempt", test_assoc_exempt);
    return rc;
}
