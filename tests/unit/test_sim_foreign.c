/*
 * Tests of sim/sim_foreign, the foreign load's schedule, on a synthetic
 * clock: off by default and with count 0, evenly spaced arrivals, never more
 * than `count` in any rolling window (checked at every arrival over many
 * windows), the long-run rate, and a stalled schedule catching up with at
 * most one window's worth.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../sim/sim_foreign.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

#define MS INT64_C(1000000)

static void test_off(void)
{
    sim_foreign f = {0};
    CHECK_EQ(sim_foreign_next(&f), INT64_MAX);
    CHECK_EQ(sim_foreign_due(&f, INT64_C(1) << 60), 0);
    sim_foreign_set(&f, 0, 10000, 5 * MS);
    CHECK_EQ(sim_foreign_next(&f), INT64_MAX);
    CHECK_EQ(sim_foreign_due(&f, INT64_C(1) << 60), 0);
}

static void test_even_spacing(void)
{
    sim_foreign f = {0};
    sim_foreign_set(&f, 4, 1000, 10 * MS);
    /* The first arrives at once, then one every 250 ms. */
    CHECK_EQ(sim_foreign_next(&f), 10 * MS);
    CHECK_EQ(sim_foreign_due(&f, 10 * MS - 1), 0);
    CHECK_EQ(sim_foreign_due(&f, 10 * MS), 1);
    CHECK_EQ(sim_foreign_next(&f), 260 * MS);
    CHECK_EQ(sim_foreign_due(&f, 259 * MS), 0);
    /* Woken late: both arrivals due by then, none twice. */
    CHECK_EQ(sim_foreign_due(&f, 520 * MS), 2);
    CHECK_EQ(sim_foreign_next(&f), 760 * MS);
    CHECK_EQ(sim_foreign_due(&f, 520 * MS), 0);
    /* A new rate restarts the schedule from now. */
    sim_foreign_set(&f, 63, 10000, 600 * MS);
    CHECK_EQ(sim_foreign_next(&f), 600 * MS);
    CHECK_EQ(sim_foreign_due(&f, 600 * MS), 1);
    /* 10 s / 63, rounded up to the nanosecond. */
    CHECK_EQ(sim_foreign_next(&f), 600 * MS + 158730159);
}

/* Stepping through arrivals one by one: no window of W holds more than N,
 * whatever N and W (intervals that do not divide evenly included), and the
 * rate over many windows is N per W. */
static void test_never_more_than_count(void)
{
    static const struct {
        uint32_t n;
        int64_t w_ms;
    } rates[] = {{63, 10000}, {190, 10000}, {7, 3}, {3, 1000}, {1, 1}, {1000, 1000}};
    for (size_t k = 0; k < UT_COUNT(rates); k++) {
        uint32_t n = rates[k].n;
        int64_t w = rates[k].w_ms * MS;
        size_t total = (size_t)n * 20;
        int64_t *t = malloc(total * sizeof(*t));
        if (!CHECK(t != NULL))
            return;
        sim_foreign f = {0};
        sim_foreign_set(&f, n, rates[k].w_ms, 12345);
        for (size_t i = 0; i < total; i++) {
            t[i] = sim_foreign_next(&f);
            CHECK_EQ(sim_foreign_due(&f, t[i]), 1);
        }
        size_t worst = 0, lo = 0;
        for (size_t i = 0; i < total; i++) {
            while (t[lo] <= t[i] - w)
                lo++;
            worst = i - lo + 1 > worst ? i - lo + 1 : worst;
        }
        CHECKF(worst == n, "%u/%lldms: %zu in one window", n, (long long)rates[k].w_ms, worst);
        /* 20 windows' worth take 20 windows, less under a nanosecond each. */
        int64_t span = t[total - 1] + f.fl_interval_ns - t[0];
        CHECKF(span >= 20 * w && span < 20 * w + (int64_t)total,
               "%u/%lldms: %zu arrivals span %lld ns", n, (long long)rates[k].w_ms, total,
               (long long)span);
        free(t);
    }
}

/* A schedule far behind (the process was stopped) owes at most one window. */
static void test_catch_up_bounded(void)
{
    sim_foreign f = {0};
    sim_foreign_set(&f, 10, 1000, 0);
    CHECK_EQ(sim_foreign_due(&f, 60000 * MS), 10);
    CHECK_EQ(sim_foreign_next(&f), 60100 * MS);
    CHECK_EQ(sim_foreign_due(&f, 60100 * MS), 1);
}

int unit_suite_sim_foreign(void)
{
    static const ut_test tests[] = {
        {"off: never due", test_off},
        {"evenly spaced, late wake-ups, restart", test_even_spacing},
        {"never more than N in a window; N per W", test_never_more_than_count},
        {"catch-up bounded by one window", test_catch_up_bounded},
    };
    return ut_add_suite("sim_foreign", tests, UT_COUNT(tests));
}
