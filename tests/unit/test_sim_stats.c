/*
 * Tests of sim/sim_stats: request and status counters, the rolling-window
 * meter (against a brute-force maximum), reset, the rollup counters, the
 * admitted, latency and foreign figures, and the JSON of GET /_sim/stats
 * read back with json-c.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../../sim/sim_rand.h"
#include "../../sim/sim_stats.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

#define MS INT64_C(1000000)

/* The stats JSON parsed; NULL (and a failed check) when it is not JSON. */
static json_object *stats_json(sim_stats *s, uint64_t tokens)
{
    jbuf b;
    jb_init(&b);
    sim_stats_json(s, tokens, &b);
    json_object *o = json_tokener_parse(jb_cstr(&b));
    CHECKF(o != NULL && json_object_is_type(o, json_type_object),
           "stats JSON does not parse: %.300s", jb_cstr(&b));
    jb_free(&b);
    return o;
}

static int64_t get_i64(json_object *o, const char *path1, const char *path2)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, path1, &v))
        return -1;
    if (path2 && !json_object_object_get_ex(v, path2, &v))
        return -1;
    return json_object_get_int64(v);
}

/* o[a][b][c] as an integer, or -1. */
static int64_t get3_i64(json_object *o, const char *a, const char *b, const char *c)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, a, &v) || !json_object_object_get_ex(v, b, &v) ||
        !json_object_object_get_ex(v, c, &v))
        return -1;
    return json_object_get_int64(v);
}

static void test_counts_requests_and_statuses(void)
{
    static sim_stats s;
    sim_stats_init(&s, 10000, 1000);
    for (int i = 0; i < 3; i++)
        sim_stats_request(&s, "POST /crm/v4/associations/companies/contacts/batch/read");
    sim_stats_request(&s, "GET /crm/v3/objects/contacts");
    sim_stats_request(&s, "GET /crm/v3/objects/contacts/{id}");
    sim_stats_status(&s, 200);
    sim_stats_status(&s, 200);
    sim_stats_status(&s, 207);
    sim_stats_status(&s, 429);
    sim_stats_status(&s, 99);  /* ignored */
    sim_stats_status(&s, 600); /* ignored */
    sim_stats_status(&s, -1);  /* ignored */
    sim_stats_rate_limited(&s, SIM_POLICY_BURST);
    sim_stats_rate_limited(&s, SIM_POLICY_DAILY);
    sim_stats_rate_limited(&s, SIM_POLICY_DAILY);
    sim_stats_fault(&s, SIM_FAULT_5XX);
    sim_stats_fault(&s, SIM_FAULT_TRUNCATE);
    json_object *o = stats_json(&s, 7);
    REQUIRE(o != NULL);
    CHECK_EQ(get_i64(o, "requests", "POST /crm/v4/associations/companies/contacts/batch/read"), 3);
    CHECK_EQ(get_i64(o, "requests", "GET /crm/v3/objects/contacts"), 1);
    CHECK_EQ(get_i64(o, "requests", "GET /crm/v3/objects/contacts/{id}"), 1);
    CHECK_EQ(get_i64(o, "total", NULL), 5);
    CHECK_EQ(get_i64(o, "status", "200"), 2);
    CHECK_EQ(get_i64(o, "status", "207"), 1);
    CHECK_EQ(get_i64(o, "status", "429"), 1);
    json_object *st = NULL;
    json_object_object_get_ex(o, "status", &st);
    CHECK_EQ(json_object_object_length(st), 3);
    CHECK_EQ(get_i64(o, "rate_limited", "TEN_SECONDLY_ROLLING"), 1);
    CHECK_EQ(get_i64(o, "rate_limited", "SECONDLY"), 0);
    CHECK_EQ(get_i64(o, "rate_limited", "DAILY"), 2);
    CHECK_EQ(get_i64(o, "faults", "5xx"), 1);
    CHECK_EQ(get_i64(o, "faults", "truncate"), 1);
    CHECK_EQ(get_i64(o, "faults", "reset"), 0);
    CHECK_EQ(get_i64(o, "faults_injected", NULL), 2);
    CHECK_EQ(get_i64(o, "window_ms", NULL), 10000);
    CHECK_EQ(get_i64(o, "search_window_ms", NULL), 1000);
    CHECK_EQ(get_i64(o, "tokens_issued", NULL), 7);
    CHECK_EQ(get_i64(o, "max_in_window", NULL), 0);
done:
    json_object_put(o);
    sim_stats_destroy(&s);
}

/* Keys that need escaping in JSON come out as valid JSON. */
static void test_json_escapes_keys(void)
{
    static sim_stats s;
    sim_stats_init(&s, 10000, 1000);
    sim_stats_request(&s, "GET /weird\"path\\x\n");
    json_object *o = stats_json(&s, 0);
    REQUIRE(o != NULL);
    CHECK_EQ(get_i64(o, "requests", "GET /weird\"path\\x\n"), 1);
done:
    json_object_put(o);
    sim_stats_destroy(&s);
}

/* Many distinct keys (colliding in the hash table) are all counted apart. */
static void test_many_keys(void)
{
    static sim_stats s;
    sim_stats_init(&s, 10000, 1000);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 300; i++) {
            char key[64];
            snprintf(key, sizeof(key), "GET /k/%d", i);
            sim_stats_request(&s, key);
        }
    json_object *o = stats_json(&s, 0);
    REQUIRE(o != NULL);
    json_object *req = NULL;
    REQUIRE(json_object_object_get_ex(o, "requests", &req));
    CHECK_EQ(json_object_object_length(req), 300);
    unsigned wrong = 0;
    for (int i = 0; i < 300; i++) {
        char key[64];
        snprintf(key, sizeof(key), "GET /k/%d", i);
        wrong += get_i64(o, "requests", key) != 3;
    }
    CHECK_EQ(wrong, 0);
    CHECK_EQ(get_i64(o, "total", NULL), 900);
done:
    json_object_put(o);
    sim_stats_destroy(&s);
}

static void test_meter_simple(void)
{
    static sim_stats s;
    sim_stats_init(&s, 1000, 1000);
    /* Three in the first second; the fullest window ends at 1500 ms and
     * holds 1200, 1300, 1400 and 1500 (200 left it at 1200). */
    int64_t t[] = {0, 100, 200, 1200, 1300, 1400, 1500};
    for (size_t i = 0; i < UT_COUNT(t); i++)
        sim_stats_admitted(&s, SIM_POLICY_BURST, t[i] * MS, 0);
    CHECK_EQ(sim_stats_max_in_window(&s, SIM_POLICY_BURST), 4);
    CHECK_EQ(sim_stats_max_in_window(&s, SIM_POLICY_SEARCH), 0);
    CHECK_EQ(sim_stats_max_in_window(&s, SIM_POLICY_DAILY), 0);
    /* Boundary: a request at exactly t - W is out of the window ending at t. */
    sim_stats_admitted(&s, SIM_POLICY_SEARCH, 0, 0);
    sim_stats_admitted(&s, SIM_POLICY_SEARCH, 1000 * MS, 0);
    CHECK_EQ(sim_stats_max_in_window(&s, SIM_POLICY_SEARCH), 1);
    sim_stats_admitted(&s, SIM_POLICY_SEARCH, 2000 * MS - 1, 0);
    CHECK_EQ(sim_stats_max_in_window(&s, SIM_POLICY_SEARCH), 2);
    sim_stats_admitted(&s, SIM_POLICY_DAILY, 0, 0); /* not metered */
    sim_stats_destroy(&s);
}

/* The meter's maximum equals a brute-force maximum over random times, also
 * past its first growth (more than 1,024 in one window). */
static void test_meter_random_vs_brute_force(void)
{
    static sim_stats s;
    const size_t n = 20000;
    int64_t *times = malloc(n * sizeof(*times));
    REQUIRE(times != NULL);
    sim_stats_init(&s, 1000, 1000);
    sim_rng r;
    sim_rng_seed(&r, 3, 3);
    int64_t now = 0;
    for (size_t i = 0; i < n; i++) {
        /* Mostly dense (bursts of several thousand per second), some pauses. */
        now += sim_rng_chance(&r, 0.001) ? (int64_t)sim_rng_below(&r, 3000) * MS
                                         : (int64_t)sim_rng_below(&r, 200000);
        times[i] = now;
        sim_stats_admitted(&s, SIM_POLICY_BURST, now, 0);
    }
    uint32_t best = 0;
    size_t lo = 0;
    for (size_t i = 0; i < n; i++) {
        while (times[lo] <= times[i] - 1000 * MS)
            lo++;
        if (i - lo + 1 > best)
            best = (uint32_t)(i - lo + 1);
    }
    CHECK(best > 1024);
    CHECK_EQ(sim_stats_max_in_window(&s, SIM_POLICY_BURST), best);
done:
    free(times);
    sim_stats_destroy(&s);
}

static void test_reset_and_set_windows(void)
{
    static sim_stats s;
    sim_stats_init(&s, 10000, 1000);
    sim_stats_request(&s, "GET /a");
    sim_stats_status(&s, 200);
    sim_stats_rate_limited(&s, SIM_POLICY_SEARCH);
    sim_stats_fault(&s, SIM_FAULT_RESET);
    sim_stats_admitted(&s, SIM_POLICY_BURST, 1, 0);
    sim_stats_admitted(&s, SIM_POLICY_BURST, 2, 0);
    sim_stats_reset(&s);
    json_object *o = stats_json(&s, 0);
    REQUIRE(o != NULL);
    json_object *req = NULL, *st = NULL;
    json_object_object_get_ex(o, "requests", &req);
    json_object_object_get_ex(o, "status", &st);
    CHECK(req && json_object_object_length(req) == 0);
    CHECK(st && json_object_object_length(st) == 0);
    CHECK_EQ(get_i64(o, "total", NULL), 0);
    CHECK_EQ(get_i64(o, "rate_limited", "SECONDLY"), 0);
    CHECK_EQ(get_i64(o, "faults_injected", NULL), 0);
    CHECK_EQ(get_i64(o, "max_in_window", NULL), 0);
    CHECK_EQ(get_i64(o, "window_ms", NULL), 10000); /* window lengths stay */
    json_object_put(o);
    o = NULL;
    /* Counting resumes after a reset, and the meter restarts from empty. */
    sim_stats_request(&s, "GET /a");
    sim_stats_admitted(&s, SIM_POLICY_BURST, 3, 0);
    CHECK_EQ(sim_stats_max_in_window(&s, SIM_POLICY_BURST), 1);
    sim_stats_set_windows(&s, 2000, 500);
    CHECK_EQ(sim_stats_max_in_window(&s, SIM_POLICY_BURST), 0);
    o = stats_json(&s, 0);
    REQUIRE(o != NULL);
    CHECK_EQ(get_i64(o, "window_ms", NULL), 2000);
    CHECK_EQ(get_i64(o, "search_window_ms", NULL), 500);
    CHECK_EQ(get_i64(o, "requests", "GET /a"), 1);
done:
    json_object_put(o);
    sim_stats_destroy(&s);
}

/* The rollups object: counters add up, pending is set; a reset zeroes the
 * counters but keeps pending (recomputations still waiting). */
static void test_rollups(void)
{
    static sim_stats s;
    sim_stats_init(&s, 10000, 1000);
    json_object *o = stats_json(&s, 0);
    static const char *const keys[] = {"scheduled", "coalesced", "recomputed", "bumped",
                                       "missed",    "unchanged", "dropped",    "pending"};
    for (size_t i = 0; o && i < UT_COUNT(keys); i++)
        CHECKF(get_i64(o, "rollups", keys[i]) == 0, "rollups.%s not 0", keys[i]);
    json_object_put(o);
    sim_rollup_tally a = {5, 1, 0, 0, 0, 0, 0}, b = {2, 0, 4, 2, 1, 1, 1};
    sim_stats_rollups(&s, &a, 5);
    sim_stats_rollups(&s, &b, 2);
    o = stats_json(&s, 0);
    REQUIRE(o != NULL);
    static const int64_t want[] = {7, 1, 4, 2, 1, 1, 1, 2};
    for (size_t i = 0; i < UT_COUNT(keys); i++)
        CHECKF(get_i64(o, "rollups", keys[i]) == want[i], "rollups.%s %lld, want %lld", keys[i],
               (long long)get_i64(o, "rollups", keys[i]), (long long)want[i]);
    json_object_put(o);
    sim_stats_reset(&s);
    o = stats_json(&s, 0);
    REQUIRE(o != NULL);
    for (size_t i = 0; i < UT_COUNT(keys); i++)
        CHECKF(get_i64(o, "rollups", keys[i]) == (i + 1 == UT_COUNT(keys) ? 2 : 0),
               "after a reset rollups.%s is %lld", keys[i],
               (long long)get_i64(o, "rollups", keys[i]));
done:
    json_object_put(o);
    sim_stats_destroy(&s);
}

/* The figures of one admitted, latency and foreign state, compared. */
typedef struct figures {
    int64_t burst[3], search[3]; /* count, first_ms, last_ms */
    int64_t list[3], assoc[3];   /* count, sum_ms, tails */
    int64_t foreign[2];          /* admitted, refused */
} figures;

static void check_figures(sim_stats *s, const figures *want, const char *when)
{
    json_object *o = stats_json(s, 0);
    if (!o)
        return;
    static const char *const ad[] = {"count", "first_ms", "last_ms"};
    static const char *const lat[] = {"count", "sum_ms", "tails"};
    for (int i = 0; i < 3; i++) {
        CHECKF(get3_i64(o, "admitted", "burst", ad[i]) == want->burst[i],
               "%s: admitted.burst.%s %lld", when, ad[i],
               (long long)get3_i64(o, "admitted", "burst", ad[i]));
        CHECKF(get3_i64(o, "admitted", "search", ad[i]) == want->search[i],
               "%s: admitted.search.%s", when, ad[i]);
        CHECKF(get3_i64(o, "latency", "list", lat[i]) == want->list[i], "%s: latency.list.%s %lld",
               when, lat[i], (long long)get3_i64(o, "latency", "list", lat[i]));
        CHECKF(get3_i64(o, "latency", "assoc_batch", lat[i]) == want->assoc[i],
               "%s: latency.assoc_batch.%s", when, lat[i]);
    }
    /* Every family is there, counted or not. */
    for (int f = 0; f < SIM_LAT_FAMILY_COUNT; f++)
        CHECKF(get3_i64(o, "latency", sim_latency_family_names[f], "count") >= 0,
               "%s: latency.%s missing", when, sim_latency_family_names[f]);
    CHECK_EQ(get_i64(o, "foreign", "admitted"), want->foreign[0]);
    CHECK_EQ(get_i64(o, "foreign", "refused"), want->foreign[1]);
    json_object_put(o);
}

/* Admitted per policy (count, first and latest wall clock), latency per
 * family, foreign requests: counted, apart from the meters and the request
 * counters, and zeroed by a reset. */
static void test_admitted_latency_foreign(void)
{
    static sim_stats s;
    sim_stats_init(&s, 10000, 1000);
    figures zero = {{0}, {0}, {0}, {0}, {0}};
    check_figures(&s, &zero, "new");
    sim_stats_admitted(&s, SIM_POLICY_BURST, 1 * MS, 1000);
    sim_stats_admitted(&s, SIM_POLICY_BURST, 2 * MS, 1500);
    sim_stats_admitted(&s, SIM_POLICY_BURST, 3 * MS, 2000);
    sim_stats_admitted(&s, SIM_POLICY_SEARCH, 4 * MS, 2100);
    sim_stats_admitted(&s, SIM_POLICY_DAILY, 5 * MS, 2200); /* not a window policy */
    sim_stats_latency(&s, SIM_LAT_LIST, 300, false);
    sim_stats_latency(&s, SIM_LAT_LIST, 1200, true);
    sim_stats_latency(&s, SIM_LAT_ASSOC_BATCH, 0, false);
    sim_stats_latency(&s, SIM_LAT_FAMILY_COUNT, 5, false); /* ignored */
    for (int i = 0; i < 5; i++)
        sim_stats_foreign(&s, i < 3);
    figures want = {{3, 1000, 2000}, {1, 2100, 2100}, {2, 1500, 1}, {1, 0, 0}, {3, 2}};
    check_figures(&s, &want, "counted");
    /* Foreign requests are neither requests nor in a meter. */
    CHECK_EQ(sim_stats_max_in_window(&s, SIM_POLICY_BURST), 3);
    json_object *o = stats_json(&s, 0);
    if (o) {
        CHECK_EQ(get_i64(o, "total", NULL), 0);
        CHECK_EQ(get_i64(o, "first_request_ms", NULL), 0);
    }
    json_object_put(o);
    sim_stats_reset(&s);
    check_figures(&s, &zero, "after a reset");
    sim_stats_admitted(&s, SIM_POLICY_BURST, 9 * MS, 7000);
    figures again = {{1, 7000, 7000}, {0}, {0}, {0}, {0}};
    check_figures(&s, &again, "after a reset, one more");
    sim_stats_destroy(&s);
}

enum { STAT_THREADS = 4, STAT_PER_THREAD = 20000 };

static void *hammer(void *arg)
{
    sim_stats *s = arg;
    for (int i = 0; i < STAT_PER_THREAD; i++) {
        char key[32];
        snprintf(key, sizeof(key), "GET /k/%d", i % 8);
        sim_stats_request(s, key);
        sim_stats_status(s, 200 + i % 2);
    }
    return NULL;
}

/* The counters are exact under concurrent updates (the server's threads). */
static void test_threads(void)
{
    static sim_stats s;
    sim_stats_init(&s, 10000, 1000);
    pthread_t th[STAT_THREADS];
    int started = 0;
    for (int i = 0; i < STAT_THREADS; i++)
        started += pthread_create(&th[i], NULL, hammer, &s) == 0;
    CHECK_EQ(started, STAT_THREADS);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    json_object *o = stats_json(&s, 0);
    if (o) {
        CHECK_EQ(get_i64(o, "total", NULL), (int64_t)started * STAT_PER_THREAD);
        for (int k = 0; k < 8; k++) {
            char key[32];
            snprintf(key, sizeof(key), "GET /k/%d", k);
            CHECK_EQ(get_i64(o, "requests", key), (int64_t)started * STAT_PER_THREAD / 8);
        }
        CHECK_EQ(get_i64(o, "status", "200") + get_i64(o, "status", "201"),
                 (int64_t)started * STAT_PER_THREAD);
    }
    json_object_put(o);
    sim_stats_destroy(&s);
}

int unit_suite_sim_stats(void)
{
    static const ut_test tests[] = {
        {"counts requests, statuses, 429s, faults", test_counts_requests_and_statuses},
        {"JSON escapes keys", test_json_escapes_keys},
        {"many keys counted apart", test_many_keys},
        {"meter: max in window, boundary", test_meter_simple},
        {"meter: random times vs brute force", test_meter_random_vs_brute_force},
        {"reset and set_windows", test_reset_and_set_windows},
        {"rollups: counters, pending, reset keeps pending", test_rollups},
        {"admitted, latency, foreign: counted apart, reset", test_admitted_latency_foreign},
        {"exact under concurrent updates", test_threads},
    };
    return ut_add_suite("sim_stats", tests, UT_COUNT(tests));
}
