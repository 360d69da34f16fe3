/*
 * Tests of sim/sim_latency, with seeded random streams: the costs add up at
 * zero jitter, the jitter stays in its bounds and fills them, the tail
 * strikes at its probability (within a tolerance over many draws) with its
 * multipliers, the scale multiplies, and the `hubspot` profile lands in the
 * ranges docs/SIMULATOR.md gives for it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../sim/sim_latency.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static bool near(double a, double b)
{
    return fabs(a - b) < 1e-9 * (fabs(a) + fabs(b) + 1);
}

/* Base plus the per-input and per-result costs, exactly, with no jitter and
 * no tail; the draws are still taken (two per answer). */
static void test_costs_add_up(void)
{
    const sim_latency_cost c = {100, 0.5, 2.0, 0, 0, 1, 1};
    sim_rng r, shadow;
    sim_rng_seed(&r, 7, 1);
    sim_rng_seed(&shadow, 7, 1);
    bool tail = true;
    CHECKF(near(sim_latency_draw(&c, 0, 0, 1, &r, &tail), 100), "base");
    CHECK(!tail);
    CHECKF(near(sim_latency_draw(&c, 1000, 0, 1, &r, &tail), 600), "per input");
    CHECKF(near(sim_latency_draw(&c, 10, 100, 1, &r, &tail), 305), "per input and per result");
    for (int i = 0; i < 6; i++)
        sim_rng_next(&shadow);
    CHECK(memcmp(&r, &shadow, sizeof(r)) == 0);
    /* The `none` profile costs nothing in every family. */
    for (int f = 0; f < SIM_LAT_FAMILY_COUNT; f++)
        CHECKF(sim_latency_draw(sim_latency_costs(SIM_LATENCY_NONE, (sim_latency_family)f), 1000,
                                1000, 1, &r, &tail) == 0,
               "none: %s", sim_latency_family_names[f]);
}

/* Uniform multiplicative jitter: every draw within [1 − j, 1 + j] of the
 * cost, both ends approached, the mean near the cost. */
static void test_jitter_bounds(void)
{
    const sim_latency_cost c = {400, 0, 0, 0.25, 0, 1, 1};
    sim_rng r;
    sim_rng_seed(&r, 11, 2);
    double lo = 1e9, hi = 0, sum = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        bool tail;
        double v = sim_latency_draw(&c, 0, 0, 1, &r, &tail);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += v;
    }
    CHECKF(lo >= 300 && lo < 301, "lowest %.3f, want in [300, 301)", lo);
    CHECKF(hi <= 500 && hi > 499, "highest %.3f, want in (499, 500]", hi);
    CHECKF(fabs(sum / n - 400) < 2, "mean %.3f, want about 400", sum / n);
}

/* The tail: its frequency within 10% of p over 400,000 draws (about 4,000
 * expected, so a standard deviation of 1.6%), each a multiple in
 * [min, max] of the draw. */
static void test_tail_probability(void)
{
    const sim_latency_cost c = {100, 0, 0, 0, 0.01, 3, 5};
    sim_rng r;
    sim_rng_seed(&r, 13, 3);
    const int n = 400000;
    int tails = 0, outside = 0;
    double lo = 1e9, hi = 0;
    for (int i = 0; i < n; i++) {
        bool tail;
        double v = sim_latency_draw(&c, 0, 0, 1, &r, &tail);
        if (!tail) {
            outside += !near(v, 100);
            continue;
        }
        tails++;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    CHECK_EQ(outside, 0);
    CHECKF(tails > 3600 && tails < 4400, "%d tails in %d, want about %d", tails, n, n / 100);
    CHECKF(lo >= 300 && lo < 310 && hi <= 500 && hi > 490,
           "tail draws in [%.1f, %.1f], want close to [300, 500]", lo, hi);
}

/* The scale multiplies the whole draw: the same stream gives exactly the
 * scaled times, tails included; scale 0 gives 0. */
static void test_scale(void)
{
    const sim_latency_cost c = {250, 0.7, 0.02, 0.25, 0.2, 3, 5};
    sim_rng a, b, z;
    sim_rng_seed(&a, 17, 4);
    sim_rng_seed(&b, 17, 4);
    sim_rng_seed(&z, 17, 4);
    int wrong = 0;
    for (int i = 0; i < 1000; i++) {
        bool ta, tb, tz;
        double va = sim_latency_draw(&c, 1000, 5000, 1, &a, &ta);
        double vb = sim_latency_draw(&c, 1000, 5000, 0.1, &b, &tb);
        double vz = sim_latency_draw(&c, 1000, 5000, 0, &z, &tz);
        wrong += !near(vb, va * 0.1) || ta != tb || vz != 0;
    }
    CHECK_EQ(wrong, 0);
}

/* Lowest and highest of many non-tail draws of profile `hubspot`, family
 * f, for one answer size. */
static void hubspot_range(sim_latency_family f, uint32_t inputs, uint32_t results, double *lo,
                          double *hi)
{
    sim_rng r;
    sim_rng_seed(&r, 19, (uint64_t)f);
    *lo = 1e9;
    *hi = 0;
    for (int i = 0; i < 20000; i++) {
        bool tail;
        double v = sim_latency_draw(sim_latency_costs(SIM_LATENCY_HUBSPOT, f), inputs, results, 1,
                                    &r, &tail);
        if (tail)
            continue;
        *lo = v < *lo ? v : *lo;
        *hi = v > *hi ? v : *hi;
    }
}

/* The documented answers of the `hubspot` profile stay in their observed
 * ranges, and every family has the 1%, 3–5× tail. */
static void test_hubspot_profile(void)
{
    static const struct {
        sim_latency_family f;
        uint32_t inputs, results;
        double lo, hi;
    } cases[] = {
        {SIM_LAT_TOKEN, 0, 0, 150, 250},
        {SIM_LAT_PROPERTIES, 0, 30, 150, 250},
        {SIM_LAT_LABELS, 0, 5, 150, 250},
        {SIM_LAT_LABELS, 0, 500, 150, 250},
        {SIM_LAT_LIST, 0, 100, 300, 450},
        {SIM_LAT_SEARCH, 0, 200, 400, 600},
        {SIM_LAT_OBJECT_BATCH, 100, 100, 300, 450},
        {SIM_LAT_ASSOC_BATCH, 1000, 0, 800, 1500},
        {SIM_LAT_ASSOC_BATCH, 1000, 2000, 800, 1500},
        {SIM_LAT_ASSOC_BATCH, 1000, 7500, 800, 1500},
        {SIM_LAT_ASSOC_BATCH, 1000, 20000, 800, 1500},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        double lo, hi;
        hubspot_range(cases[i].f, cases[i].inputs, cases[i].results, &lo, &hi);
        CHECKF(lo >= cases[i].lo && hi <= cases[i].hi,
               "%s of %u inputs, %u results: [%.0f, %.0f] ms, want within [%.0f, %.0f]",
               sim_latency_family_names[cases[i].f], cases[i].inputs, cases[i].results, lo, hi,
               cases[i].lo, cases[i].hi);
    }
    for (int f = 0; f < SIM_LAT_FAMILY_COUNT; f++) {
        const sim_latency_cost *c = sim_latency_costs(SIM_LATENCY_HUBSPOT, (sim_latency_family)f);
        CHECKF(c->lc_tail_p == 0.01 && c->lc_tail_min == 3 && c->lc_tail_max == 5,
               "%s: tail %g at %g-%g", sim_latency_family_names[f], c->lc_tail_p, c->lc_tail_min,
               c->lc_tail_max);
    }
}

static void test_names_and_families(void)
{
    sim_latency_profile p = SIM_LATENCY_NONE;
    CHECK(sim_latency_profile_parse("hubspot", &p) == 0 && p == SIM_LATENCY_HUBSPOT);
    CHECK(sim_latency_profile_parse("none", &p) == 0 && p == SIM_LATENCY_NONE);
    CHECK(sim_latency_profile_parse("HubSpot", &p) == -1 && p == SIM_LATENCY_NONE);
    CHECK(sim_latency_profile_parse("", &p) == -1);
    CHECK(sim_latency_profile_parse(NULL, &p) == -1);
    static const struct {
        const char *method, *path;
        const char *family;
    } routes[] = {
        {"POST", "/oauth/v1/token", "token"},
        {"GET", "/crm/v3/properties/contacts", "properties"},
        {"GET", "/crm/v4/associations/companies/contacts/labels", "labels"},
        {"GET", "/crm/v4/objects/companies/4294967297/associations/contacts", "labels"},
        {"GET", "/crm/v3/objects/contacts", "list"},
        {"POST", "/crm/v3/objects/deals/search", "search"},
        {"POST", "/crm/v3/objects/deals/batch/read", "object_batch"},
        {"POST", "/crm/v4/associations/companies/contacts/batch/read", "assoc_batch"},
        {"POST", "/crm/associations/2026-03/companies/contacts/batch/read", "assoc_batch"},
    };
    for (size_t i = 0; i < UT_COUNT(routes); i++) {
        sim_route r;
        sim_route_parse(routes[i].method, routes[i].path, &r);
        const char *got = sim_latency_family_names[sim_latency_family_of(r.r_kind)];
        CHECKF(strcmp(got, routes[i].family) == 0, "%s %s: %s, want %s", routes[i].method,
               routes[i].path, got, routes[i].family);
    }
}

int unit_suite_sim_latency(void)
{
    static const ut_test tests[] = {
        {"costs add up at zero jitter; none costs nothing", test_costs_add_up},
        {"jitter within its bounds, mean on the cost", test_jitter_bounds},
        {"tail: probability and multipliers", test_tail_probability},
        {"scale multiplies every draw", test_scale},
        {"hubspot profile within the documented ranges", test_hubspot_profile},
        {"profile names, route families", test_names_and_families},
    };
    return ut_add_suite("sim_latency", tests, UT_COUNT(tests));
}
