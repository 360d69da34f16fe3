/*
 * test_budget — what the limiter learns: a slower pace that never overruns
 * a window, the grant ring and cap, limits learned from HubSpot's headers
 * (given limits and --budget-fraction), other apps' spending read from
 * -Remaining, the margin a 429 widens, Little's law for concurrency, and
 * HubSpot's clock against ours from the Date of its answers (skew.h).
 */
#include <stdlib.h>

#include "../../common/ipc/budget.h"
#include "../../common/ipc/rl.h"
#include "../../common/ipc/skew.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

#define MS 1000000ULL

static int ascending(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The most of the grant times (any order; sorted here) in one window. */
static uint32_t fullest_window(uint64_t *t, size_t n, uint64_t window)
{
    qsort(t, n, sizeof(t[0]), ascending);
    return ut_max_in_window(t, n, window);
}

/* Ten grants at 10/1s, then the limit drops to 5: the next slot waits for
 * the fifth latest grant to leave the window, and no window ever holds
 * more than the new limit from there on. */
static void test_slower_pace_keeps_windows(void)
{
    rl_policy p;
    rl_policy_init(&p, 10, 1000 * MS, 0);
    uint64_t t[40];
    size_t n = 0;
    for (int i = 0; i < 10; i++)
        REQUIRE(rl_reserve(&p, 0, UINT64_MAX, &t[n++]));
    CHECK_EQ(t[9], 900 * MS);
    rl_set(&p, 5, 1000 * MS, 0);
    uint64_t s;
    REQUIRE(rl_reserve(&p, 0, UINT64_MAX, &s));
    CHECK_EQ(s, 1500 * MS); /* the 5th latest grant (500 ms) + the window */
    t[n++] = s;
    while (n < 40)
        REQUIRE(rl_reserve(&p, 0, UINT64_MAX, &t[n++]));
    /* From the first new grant on, windows hold at most 5. */
    uint64_t later[35];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i] > 500 * MS)
            later[m++] = t[i];
    CHECK(fullest_window(later, m, 1000 * MS) <= 5);
    /* A faster pace never pushes anything. */
    uint64_t wait = rl_wait_ns(&p, 0);
    rl_set(&p, 20, 1000 * MS, 0);
    CHECK_EQ(rl_wait_ns(&p, 0), wait);
done:;
}

static void test_grant_ring_and_cap(void)
{
    rl_policy p;
    rl_policy_init(&p, 10, 1000 * MS, 0);
    uint64_t s;
    for (int i = 0; i < 5; i++)
        REQUIRE(rl_reserve(&p, 0, UINT64_MAX, &s));
    CHECK_EQ(rl_granted_between(&p, 0, 400 * MS), 4); /* (0, 400]: 100..400 */
    CHECK_EQ(rl_granted_between(&p, 0, UINT64_MAX), 4);
    CHECK_EQ(rl_granted_between(&p, UINT64_MAX - 1, UINT64_MAX), 0);
    rl_set_grant_cap(&p, 2);
    CHECK(rl_reserve(&p, 0, UINT64_MAX - 40 * MS, &s));
    CHECK(rl_reserve(&p, 0, UINT64_MAX - 40 * MS, &s));
    CHECK(!rl_reserve(&p, 0, 10 * MS, &s));
    CHECK(s > 10 * MS); /* "look again later", past the wait allowed */
    rl_set_grant_cap(&p, 0);
    CHECK(rl_reserve(&p, 0, UINT64_MAX, &s));
done:;
}

/* No --rate: 190/10s until an answer tells, and no more than the lowest
 * tier allows before it; then HubSpot's own limit, Free's or the add-on's. */
static void test_limit_learned_from_headers(void)
{
    budget b;
    budget_init(&b, 190, 10000 * MS, false, 1.0);
    uint64_t w;
    CHECK_EQ(budget_pace(&b, &w), 190);
    uint64_t s;
    int granted = 0;
    while (granted < 200 && rl_reserve(&b.bu_rl, 0, UINT64_MAX / 2, &s))
        granted++;
    CHECK_EQ(granted, BUDGET_LOWEST_TIER * 9 / 10);
    budget_learn(&b, 100, 10000, 100, 0);
    CHECK_EQ(budget_pace(&b, &w), 100);
    CHECK_EQ(w, 10000 * MS);
    CHECK(rl_reserve(&b.bu_rl, 0, UINT64_MAX / 2, &s)); /* the cap is lifted */
    budget_learn(&b, 250, 10000, 250, 0);
    CHECK_EQ(budget_pace(&b, &w), 250);
    /* Answers without the headers lift the cap and keep the pace. */
    budget_init(&b, 190, 10000 * MS, false, 1.0);
    budget_no_headers(&b);
    granted = 0;
    while (granted < 200 && rl_reserve(&b.bu_rl, 0, UINT64_MAX / 2, &s))
        granted++;
    CHECK_EQ(granted, 200);
    CHECK_EQ(budget_pace(&b, NULL), 190);
}

static void test_given_limit_and_fraction(void)
{
    budget b;
    budget_init(&b, 100, 2000 * MS, true, 1.0);
    budget_learn(&b, 190, 10000, 190, 0);
    uint64_t w;
    CHECK_EQ(budget_pace(&b, &w), 100); /* --rate wins */
    CHECK_EQ(w, 2000 * MS);
    budget_init(&b, 190, 10000 * MS, false, 0.5);
    CHECK_EQ(budget_pace(&b, NULL), 95);
    budget_learn(&b, 250, 10000, 250, 0);
    CHECK_EQ(budget_pace(&b, NULL), 125); /* half of what HubSpot allows */
    budget_init(&b, 0, 10000 * MS, true, 1.0);
    budget_learn(&b, 190, 10000, 0, 0);
    CHECK_EQ(budget_pace(&b, NULL), 0); /* --rate 0 stays unpaced */
}

/* HubSpot counts 80 in the window, 20 of them ours: the others spend 60,
 * and the pace drops to what they leave, less a guard of 2 and 2%. The upper
 * quartile of the latest samples ignores one that is far off, and trails a
 * rising load by a quarter of the samples, not half. */
static void test_foreign_load_from_remaining(void)
{
    budget b;
    budget_init(&b, 190, 10000 * MS, false, 1.0);
    budget_no_headers(&b);
    uint64_t s = 0, now = 100000 * MS;
    for (int i = 0; i < 20; i++)
        REQUIRE(rl_reserve(&b.bu_rl, now, UINT64_MAX, &s));
    for (int i = 0; i < 4; i++)
        budget_learn(&b, 190, 10000, 190 - 80, s);
    budget_learn(&b, 190, 10000, 190 - 20 - 150, s); /* one far-off sample */
    CHECK_EQ(budget_foreign(&b), 60);
    CHECK_EQ(budget_pace(&b, NULL), 124); /* 190 - 60, less 2 and 2% of 190 */
    /* The others stop: the pace comes back. */
    for (int i = 0; i < BUDGET_FOREIGN_SAMPLES; i++)
        budget_learn(&b, 190, 10000, 190 - 20, s);
    CHECK_EQ(budget_foreign(&b), 0);
    CHECK_EQ(budget_pace(&b, NULL), 190);
    /* The others ramp up, 10 more in each sample: the estimate is the
     * fourth-newest, 120, where the median would say 80. */
    for (int i = 1; i <= BUDGET_FOREIGN_SAMPLES; i++)
        budget_learn(&b, 190, 10000, 190 - 20 - 10 * i, s);
    CHECK_EQ(budget_foreign(&b), 120);
done:;
}

static void test_throttle_and_delay_widen_margin(void)
{
    budget b;
    budget_init(&b, 5, 1000 * MS, true, 1.0);
    CHECK_EQ(rl_margin_ns(&b.bu_rl), 100 * MS); /* at least 100 ms */
    budget_throttled(&b);
    CHECK_EQ(rl_margin_ns(&b.bu_rl), 200 * MS);
    uint64_t interval = rl_interval_ns(&b.bu_rl);
    CHECK_EQ(interval, 1200 * MS / 5); /* slower, not only later */
    budget_throttled(&b);
    budget_throttled(&b);
    CHECK_EQ(rl_margin_ns(&b.bu_rl), 250 * MS); /* a quarter of the window */
    budget_init(&b, 190, 10000 * MS, true, 1.0);
    budget_sent(&b, 300 * MS); /* a request took 300 ms to connect */
    CHECK_EQ(rl_margin_ns(&b.bu_rl), 600 * MS);
}

/* Little's law: at 1 s of latency and 190/10s, about 19 × 1 s in flight,
 * with headroom; unpaced, a fixed number per worker. */
static void test_inflight_follows_latency(void)
{
    budget b;
    budget_init(&b, 0, 10000 * MS, true, 1.0);
    CHECK_EQ(budget_inflight(&b, 3), 3 * BUDGET_UNPACED_INFLIGHT);
    budget_init(&b, 190, 10000 * MS, true, 1.0);
    CHECK_EQ(budget_inflight_mean(&b), 1);                         /* nothing measured yet */
    CHECK_EQ(budget_inflight(&b, 2), 2 * BUDGET_UNPACED_INFLIGHT); /* nothing measured */
    budget_answered(&b, 1000 * MS); /* the first answer sizes it at once */
    CHECK(budget_inflight_mean(&b) >= 20 && budget_inflight_mean(&b) <= 22);
    CHECK(budget_inflight(&b, 2) >= 30); /* 1.5 s: the first deviation is half the time */
    for (int i = 0; i < 64; i++)
        budget_answered(&b, 1000 * MS);
    uint32_t k = budget_inflight(&b, 2), mean = budget_inflight_mean(&b);
    CHECK(mean >= 20 && mean <= 22); /* 1 s / (10.1 s / 190) × 1.1 */
    CHECK(k >= mean && k <= 30);
    for (int i = 0; i < 64; i++)
        budget_answered(&b, 3000 * MS);
    CHECK(budget_inflight(&b, 2) > 3 * k / 2);
    for (int i = 0; i < 64; i++)
        budget_answered(&b, 20 * MS);
    CHECK_EQ(budget_inflight(&b, 2), 2 * BUDGET_UNPACED_INFLIGHT); /* the floor */
}

/* An answer's time limit: the floor before any sample and while answers
 * are fast; six smoothed round trips and four deviations above it; never
 * past the ceiling. */
static void test_answer_limit(void)
{
    rtt_est e;
    rtt_init(&e);
    CHECK_EQ(rtt_limit_ns(&e, 4000 * MS, 60000 * MS), 4000 * MS);
    for (int i = 0; i < 64; i++)
        rtt_sample(&e, 50 * MS);
    CHECK_EQ(rtt_limit_ns(&e, 4000 * MS, 60000 * MS), 4000 * MS);
    rtt_init(&e);
    for (int i = 0; i < 64; i++)
        rtt_sample(&e, 1000 * MS);
    /* A steady 1 s: srtt 1 s, deviation decayed to nothing. */
    uint64_t l = rtt_limit_ns(&e, 4000 * MS, 60000 * MS);
    CHECK_OP(l, >=, 6000 * MS);
    CHECK_OP(l, <, 6100 * MS);
    /* A slow answer widens it at once (the deviation), beyond the 3–5x tail. */
    rtt_sample(&e, 5000 * MS);
    CHECK_OP(rtt_limit_ns(&e, 4000 * MS, 60000 * MS), >, 5 * rtt_srtt_us(&e) * 1000);
    for (int i = 0; i < 64; i++)
        rtt_sample(&e, 30000 * MS);
    CHECK_EQ(rtt_limit_ns(&e, 4000 * MS, 60000 * MS), 60000 * MS);
}

/* HubSpot's clock against ours, from Date (one-second resolution). */
static void test_clock_skew_from_date(void)
{
    skew_est k;
    skew_init(&k);
    int64_t low, high;
    CHECK(!skew_bounds(&k, &low, &high));
    CHECK_EQ(skew_hold_back_ms(&k), 0);
    const int64_t now = 1765000000123; /* this machine's clock, epoch ms */
    /* Not a sample: no Date, or a clock stepped back between send and answer. */
    skew_sample(&k, 0, now - 40, now);
    skew_sample(&k, now / 1000, now, now - 1);
    CHECK(!skew_bounds(&k, &low, &high));
    /* Clocks that agree: dated the second of the answer; nothing held back. */
    skew_sample(&k, now / 1000, now - 40, now);
    REQUIRE(skew_bounds(&k, &low, &high));
    CHECK_OP(low, <=, 0);
    CHECK_OP(high, >=, 0);
    CHECK_OP(high - low, <=, 1000 + 40);
    CHECK_EQ(skew_hold_back_ms(&k), 0);

    /* This machine 60 s ahead: held back by all but Date's resolution. */
    skew_init(&k);
    for (int i = 0; i < 20; i++) {
        int64_t t = now + i * 137; /* answers across several HubSpot seconds */
        skew_sample(&k, (t - 60000) / 1000, t - 25, t);
    }
    REQUIRE(skew_bounds(&k, &low, &high));
    CHECK_OP(low, <=, -60000);
    CHECK_OP(high, >=, -60000);
    CHECK_OP(high - low, <, 1000);        /* tightened by every answer */
    int64_t held = skew_hold_back_ms(&k); /* the clock's lead, less up to 1 s */
    CHECK_OP(held, >=, 59000);
    CHECK_OP(held, <=, 60000);
    /* HubSpot's clock ahead: windows end earlier by its clock, never later. */
    skew_init(&k);
    skew_sample(&k, (now + 90000) / 1000, now - 30, now);
    CHECK_EQ(skew_hold_back_ms(&k), 0);
done:;
}

int unit_suite_budget(void)
{
    static const ut_test tests[] = {
        {"a slower pace never overruns a window", test_slower_pace_keeps_windows},
        {"grant ring counts; the cap holds grants back", test_grant_ring_and_cap},
        {"the limit is learned from the headers", test_limit_learned_from_headers},
        {"--rate wins; --budget-fraction of the learned limit", test_given_limit_and_fraction},
        {"other apps' spending lowers the pace", test_foreign_load_from_remaining},
        {"429s and send delays widen the margin", test_throttle_and_delay_widen_margin},
        {"in-flight requests follow the latency", test_inflight_follows_latency},
        {"an answer's time limit follows the latency", test_answer_limit},
        {"HubSpot's clock against ours, from Date", test_clock_skew_from_date},
    };
    return ut_add_suite("budget", tests, sizeof(tests) / sizeof(tests[0]));
}
