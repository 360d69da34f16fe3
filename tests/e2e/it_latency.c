/*
 * it_latency — at the limit whatever the portal's limit and HubSpot's
 * latency, with default flags: the burst limit learned from the headers
 * (a Free portal's 100/10s, the API add-on's 250/10s), another app
 * spending part of the budget (--foreign-load), and a first run at a
 * second of latency. Each run stays within the simulator's limit, gets no
 * 429, uses the budget it has, and leaves the mirror equal to the truth.
 *
 * The budget used is measured by the simulator: the client's own burst
 * requests admitted over their span, (count - 1) / (last - first), against
 * the limit (less what the foreign load takes).
 */
#include <stdio.h>
#include <string.h>

#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_hubsync.h"
#include "it_suites.h"

/* The client's achieved burst rate, per second, over the span of its
 * admitted burst requests (0 when fewer than two). */
static double burst_rate(tl_sim *s, int64_t *count)
{
    *count = tl_stat_int(s, "admitted.burst.count");
    int64_t span =
        tl_stat_int(s, "admitted.burst.last_ms") - tl_stat_int(s, "admitted.burst.first_ms");
    return *count > 1 && span > 0 ? (double)(*count - 1) * 1000.0 / (double)span : 0;
}

/* One first run with default flags against a simulator started with
 * `sim_args`; checks no 429 and no window above `limit`, returns the burst
 * rate achieved (per second) or -1. */
static double first_run(const char *const *sim_args, int64_t limit, tl_sim *s, char *db)
{
    REQUIRE(tl_sim_start(s, sim_args) == 0);
    const char *flags[] = {"--lag-ms", "1000", NULL};
    json_object *sum = NULL;
    REQUIRE(it_run_json(s, db, flags, &sum) == 0);
    json_object_put(sum);
    int64_t count;
    double rate = burst_rate(s, &count);
    fprintf(stderr, "    %lld burst requests at %.2f/s; fullest window %lld of %lld\n",
            (long long)count, rate, (long long)tl_stat_int(s, "max_in_window"), (long long)limit);
    CHECK_EQ(tl_stat_int(s, "rate_limited.TEN_SECONDLY_ROLLING"), 0);
    CHECK_EQ(tl_stat_int(s, "rate_limited.SECONDLY"), 0);
    CHECK(tl_stat_int(s, "max_in_window") <= limit);
    CHECK(it_mirror_equals_truth(s, db));
    return rate;
done:
    return -1;
}

/* No --rate: a Free portal (100/10s) and one with the API add-on
 * (250/10s) each run at their own limit. */
static void test_limit_learned(void)
{
    static const struct {
        const char *tier;
        int64_t limit;
        const char *contacts;
    } portals[] = {{"free", 100, "9000"}, {"pro-addon", 250, "20000"}};
    /* The sanitizer pass (IT_QUICK) learns one limit: the same code. */
    size_t n = it_quick() ? 1 : sizeof(portals) / sizeof(portals[0]);
    for (size_t i = 0; i < n; i++) {
        tl_sim s = {0};
        char db[64];
        it_make_db(db, sizeof(db));
        const char *args[] = {"--contacts",
                              portals[i].contacts,
                              "--companies",
                              "1000",
                              "--deals",
                              "2000",
                              "--tickets",
                              "500",
                              "--tier",
                              portals[i].tier,
                              "--search-rate",
                              "0",
                              NULL};
        fprintf(stderr, "    %s portal (%lld/10s)\n", portals[i].tier, (long long)portals[i].limit);
        double rate = first_run(args, portals[i].limit, &s, db);
        CHECK(rate >= 0.9 * (double)portals[i].limit / 10.0);
        CHECK(tl_sim_stop(&s) == 0);
        it_remove_db(db);
    }
}

/* Another app spends a third of the budget: no 429, and at least 85% of
 * what it leaves is used. */
static void test_foreign_load(void)
{
    tl_sim s = {0};
    char db[64];
    it_make_db(db, sizeof(db));
    const char *args[] = {
        "--contacts",     "30000",  "--companies", "1000", "--deals",       "2000",
        "--tickets",      "500",    "--tier",      "pro",  "--search-rate", "0",
        "--foreign-load", "63/10s", NULL};
    double rate = first_run(args, 190, &s, db);
    fprintf(stderr, "    the foreign load: %lld admitted, %lld refused\n",
            (long long)tl_stat_int(&s, "foreign.admitted"),
            (long long)tl_stat_int(&s, "foreign.refused"));
    CHECK(rate >= 0.85 * (190.0 - 63.0) / 10.0);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* A second of latency (± 300 ms), Pro limits, default flags: the run sizes
 * its concurrency and its list chains to the latency it measures, and uses
 * at least 90% of the burst budget over its span. A run's two ends cannot
 * be full whatever the client does: the first round trip (nothing is
 * listed yet) and the last three or so (the last list pages, the scans
 * behind them, their paging rounds, a round trip each). The portal is
 * large enough (about a minute at the limit) that they cost what they cost
 * a real backfill, a few percent: on the 18-second `make run` portal they
 * are a fifth of the run (BENCHMARKS.md has both). The calls are guarded
 * too (about 1,020 burst requests): chains cut below the type's lowest ID
 * listed empty ranges page by page. */
static void test_one_second_latency(void)
{
    tl_sim s = {0};
    char db[64];
    it_make_db(db, sizeof(db));
    /* The sanitizer pass (IT_QUICK) runs a quarter of the portal: the same
     * code at the same latency, its ends too large a part for the figure. */
    bool quick = it_quick();
    const char *args[] = {"--contacts",
                          quick ? "20000" : "80000",
                          "--companies",
                          quick ? "2000" : "8000",
                          "--deals",
                          quick ? "6000" : "24000",
                          "--tickets",
                          quick ? "1000" : "4000",
                          "--tier",
                          "pro",
                          "--latency-ms",
                          "1000:300",
                          NULL};
    double rate = first_run(args, 190, &s, db);
    if (!quick) {
        CHECK(rate >= 0.90 * 19.0);
        CHECK(tl_stat_int(&s, "admitted.burst.count") <= 1100);
    }
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

int it_register_latency(void)
{
    CU_pSuite s = it_add_suite("latency");
    if (!s)
        return -1;
    int rc = 0;
    rc |= it_add_test(s, "limit_learned", test_limit_learned);
    rc |= it_add_test(s, "foreign_load", test_foreign_load);
    rc |= it_add_test(s, "one_second_latency", test_one_second_latency);
    return rc;
}
