/*
 * Tests of sim/sim_limits: the rolling window (exact admission, retry time,
 * the boundary, a randomized comparison with a brute-force count) and the
 * daily counter's reset at midnight UTC and its refund of a slot another
 * policy refused.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sim/sim_limits.h"
#include "../../sim/sim_rand.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

#define MS INT64_C(1000000)

static void test_window_admits_limit_then_refuses(void)
{
    sim_window w = {0};
    REQUIRE(sim_window_init(&w, 5, 1000) == 0);
    for (uint32_t i = 0; i < 5; i++) {
        uint32_t remaining = 99;
        int64_t retry = -1;
        CHECK(sim_window_admit(&w, 0, &remaining, &retry));
        CHECK_EQ(remaining, 4 - i);
    }
    CHECK_EQ(sim_window_used(&w, 0), 5);
    uint32_t remaining = 99;
    int64_t retry = -1;
    CHECK(!sim_window_admit(&w, 0, &remaining, &retry));
    CHECK_EQ(retry, 1000 * MS);
    CHECK(!sim_window_admit(&w, 400 * MS, &remaining, &retry));
    CHECK_EQ(retry, 600 * MS);
    CHECK(!sim_window_admit(&w, 1000 * MS - 1, &remaining, &retry));
    CHECK_EQ(retry, 1);
    /* Refusals are not counted. */
    CHECK_EQ(sim_window_used(&w, 1000 * MS - 1), 5);
    /* At exactly t0 + window the requests of t0 have left. */
    CHECK(sim_window_admit(&w, 1000 * MS, &remaining, &retry));
    CHECK_EQ(remaining, 4);
    CHECK_EQ(sim_window_used(&w, 1000 * MS), 1);
done:
    sim_window_free(&w);
}

/* Staggered arrivals: the retry time is until the oldest admitted leaves. */
static void test_window_retry_is_oldest(void)
{
    sim_window w = {0};
    REQUIRE(sim_window_init(&w, 5, 1000) == 0);
    uint32_t remaining;
    int64_t retry = -1;
    for (int i = 0; i < 5; i++)
        CHECK(sim_window_admit(&w, (int64_t)i * 100 * MS, &remaining, &retry));
    CHECK(!sim_window_admit(&w, 500 * MS, &remaining, &retry));
    CHECK_EQ(retry, 500 * MS);
    /* After the retry time, exactly one slot is free. */
    CHECK(sim_window_admit(&w, 500 * MS + retry, &remaining, &retry));
    CHECK_EQ(remaining, 0);
    CHECK(!sim_window_admit(&w, 1000 * MS, &remaining, &retry));
    CHECK_EQ(retry, 100 * MS);
    /* A request at t − W has left; one at t − W + 1 ns has not. */
    CHECK_EQ(sim_window_used(&w, 1100 * MS), 4);
    CHECK_EQ(sim_window_used(&w, 1100 * MS + 1), 4);
    CHECK_EQ(sim_window_used(&w, 1200 * MS - 1), 4);
    CHECK_EQ(sim_window_used(&w, 1200 * MS), 3);
done:
    sim_window_free(&w);
}

/* Brute force over every admitted time: what the window must decide. */
static void test_window_random_property(void)
{
    const uint32_t limits[] = {1, 5, 190};
    const int64_t windows_ms[] = {1000, 1000, 10000};
    const size_t n = 100000;
    int64_t *admitted = malloc(n * sizeof(*admitted));
    sim_window w = {0};
    REQUIRE(admitted != NULL);
    for (size_t c = 0; c < UT_COUNT(limits); c++) {
        uint32_t limit = limits[c];
        int64_t win = windows_ms[c] * MS;
        REQUIRE(sim_window_init(&w, limit, windows_ms[c]) == 0);
        sim_rng r;
        sim_rng_seed(&r, 99, c);
        size_t na = 0, lo = 0; /* admitted[lo..na) are inside the window */
        unsigned wrong_admit = 0, wrong_refuse = 0, wrong_retry = 0, wrong_remaining = 0;
        uint32_t max_seen = 0;
        int64_t now = 0;
        /* Mean gap around window/limit, so the window is often full, with
         * bursts of equal times and long pauses. */
        uint64_t mean_gap = (uint64_t)(win / limit);
        for (size_t i = 0; i < n; i++) {
            uint64_t u = sim_rng_below(&r, 100);
            if (u < 20)
                now += 0;
            else if (u < 97)
                now += (int64_t)sim_rng_below(&r, 2 * mean_gap + 1);
            else
                now += (int64_t)sim_rng_below(&r, (uint64_t)win * 2);
            while (lo < na && admitted[lo] <= now - win)
                lo++;
            uint32_t in_window = (uint32_t)(na - lo);
            uint32_t remaining = 0;
            int64_t retry = -1;
            bool ok = sim_window_admit(&w, now, &remaining, &retry);
            if (ok) {
                if (in_window >= limit)
                    wrong_admit++;
                if (remaining != limit - in_window - 1)
                    wrong_remaining++;
                admitted[na++] = now;
                if (na - lo > max_seen)
                    max_seen = (uint32_t)(na - lo);
            } else {
                if (in_window < limit)
                    wrong_refuse++;
                else if (retry != admitted[lo] + win - now || retry <= 0)
                    wrong_retry++;
            }
        }
        CHECKF(wrong_admit == 0 && wrong_refuse == 0 && wrong_retry == 0 && wrong_remaining == 0 &&
                   max_seen <= limit,
               "limit %u: %u admitted over the limit, %u refused below it, %u wrong retry, "
               "%u wrong remaining, max in window %u",
               limit, wrong_admit, wrong_refuse, wrong_retry, wrong_remaining, max_seen);
        /* The test is only meaningful if the window was actually full often. */
        CHECK(na < n && na > n / 10);
    }
done:
    sim_window_free(&w);
    free(admitted);
}

static void test_window_unlimited(void)
{
    sim_window w = {0};
    REQUIRE(sim_window_init(&w, 0, 1000) == 0);
    for (int i = 0; i < 100000; i++) {
        uint32_t remaining = 0;
        int64_t retry = 0;
        if (!sim_window_admit(&w, 0, &remaining, &retry)) {
            CHECK(false);
            break;
        }
    }
    CHECK_EQ(sim_window_used(&w, 0), 0);
done:
    sim_window_free(&w);
}

/* Re-initialising changes the policy and forgets the old admissions. */
static void test_window_reinit(void)
{
    sim_window w = {0};
    uint32_t remaining;
    int64_t retry;
    REQUIRE(sim_window_init(&w, 2, 1000) == 0);
    CHECK(sim_window_admit(&w, 0, &remaining, &retry));
    CHECK(sim_window_admit(&w, 0, &remaining, &retry));
    CHECK(!sim_window_admit(&w, 0, &remaining, &retry));
    REQUIRE(sim_window_init(&w, 3, 500) == 0);
    CHECK_EQ(sim_window_used(&w, 0), 0);
    for (int i = 0; i < 3; i++)
        CHECK(sim_window_admit(&w, 0, &remaining, &retry));
    CHECK(!sim_window_admit(&w, 0, &remaining, &retry));
    CHECK_EQ(retry, 500 * MS);
    REQUIRE(sim_window_init(&w, 0, 500) == 0);
    CHECK(sim_window_admit(&w, 0, &remaining, &retry));
done:
    sim_window_free(&w);
}

static void test_daily_resets_at_utc_midnight(void)
{
    const int64_t day = 86400000;
    const int64_t midnight = 20454 * day; /* 2026-01-01T00:00:00Z */
    sim_daily d = {.d_limit = 3};
    uint64_t remaining = 0;
    CHECK(sim_daily_admit(&d, midnight - 3, &remaining));
    CHECK_EQ(remaining, 2);
    CHECK(sim_daily_admit(&d, midnight - 2, &remaining));
    CHECK(sim_daily_admit(&d, midnight - 1, &remaining));
    CHECK_EQ(remaining, 0);
    CHECK(!sim_daily_admit(&d, midnight - 1, &remaining));
    CHECK_EQ(remaining, 0);
    /* A refused request is not counted. */
    CHECK_EQ(d.d_used, 3);
    CHECK(sim_daily_admit(&d, midnight, &remaining));
    CHECK_EQ(remaining, 2);
    CHECK(sim_daily_admit(&d, midnight + day - 1, &remaining));
    CHECK(sim_daily_admit(&d, midnight + day - 1, &remaining));
    CHECK(!sim_daily_admit(&d, midnight + day - 1, &remaining));
    /* Skipping days also resets. */
    CHECK(sim_daily_admit(&d, midnight + 5 * day + 12345, &remaining));
    CHECK_EQ(remaining, 2);
}

static void test_daily_unlimited(void)
{
    sim_daily d = {0};
    uint64_t remaining = 0;
    for (int i = 0; i < 1000; i++)
        CHECK(sim_daily_admit(&d, UT_NOW_MS + i, &remaining));
    CHECK_EQ(remaining, UINT64_MAX);
}

/* A refund gives the slot back and reports what is left after it; it never
 * goes below zero used, and unlimited stays unlimited. */
static void test_daily_refund(void)
{
    sim_daily d = {.d_limit = 3};
    uint64_t remaining = 99;
    CHECK(sim_daily_admit(&d, UT_NOW_MS, &remaining));
    CHECK(sim_daily_admit(&d, UT_NOW_MS, &remaining));
    CHECK_EQ(remaining, 1);
    sim_daily_refund(&d, &remaining);
    CHECK_EQ(remaining, 2);
    CHECK_EQ(d.d_used, 1);
    sim_daily_refund(&d, &remaining);
    sim_daily_refund(&d, &remaining);
    CHECK_EQ(d.d_used, 0);
    CHECK_EQ(remaining, 3);
    for (int i = 0; i < 3; i++)
        CHECK(sim_daily_admit(&d, UT_NOW_MS, &remaining));
    CHECK(!sim_daily_admit(&d, UT_NOW_MS, &remaining));
    sim_daily u = {0};
    CHECK(sim_daily_admit(&u, UT_NOW_MS, &remaining));
    sim_daily_refund(&u, &remaining);
    CHECK_EQ(remaining, UINT64_MAX);
}

int unit_suite_sim_limits(void)
{
    static const ut_test tests[] = {
        {"window: 5/1000ms admits 5, refuses 6th", test_window_admits_limit_then_refuses},
        {"window: retry = until oldest leaves", test_window_retry_is_oldest},
        {"window: 100k random arrivals vs brute force", test_window_random_property},
        {"window: limit 0 is unlimited", test_window_unlimited},
        {"window: re-init", test_window_reinit},
        {"daily: resets at UTC midnight", test_daily_resets_at_utc_midnight},
        {"daily: limit 0 is unlimited", test_daily_unlimited},
        {"daily: refund", test_daily_refund},
    };
    return ut_add_suite("sim_limits", tests, UT_COUNT(tests));
}
