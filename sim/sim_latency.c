/*
 * sim_latency — the per-family latency model and its profiles (see
 * sim_latency.h). The `hubspot` numbers are assumptions, chosen so that the
 * answers land in the ranges observed from HubSpot (docs/SIMULATOR.md,
 * "Latency"); change them here and in that table together.
 */
#include "sim_latency.h"

#include <string.h>

const char *const sim_latency_family_names[SIM_LAT_FAMILY_COUNT] = {
    "token", "properties", "labels", "list", "search", "object_batch", "assoc_batch",
};

const char *const sim_latency_profile_names[SIM_LATENCY_PROFILE_COUNT] = {"none", "hubspot"};

/* 1% of answers take 3–5 times their drawn time, in every family. */
#define TAIL 0.01, 3.0, 5.0

static const sim_latency_cost no_cost = {0, 0, 0, 0, 0, 1.0, 1.0};

/* base, per input, per result (ms), jitter, tail. The comments give the
 * answer the costs aim at (before jitter) and the observed range it is in. */
static const sim_latency_cost hubspot_costs[SIM_LAT_FAMILY_COUNT] = {
    /* small answers, whatever their size: 200 ms, 150–250 ms */
    [SIM_LAT_TOKEN] = {200, 0, 0, 0.25, TAIL},
    [SIM_LAT_PROPERTIES] = {200, 0, 0, 0.25, TAIL},
    [SIM_LAT_LABELS] = {200, 0, 0, 0.25, TAIL},
    /* a page of 100: 375 ms, 300–450 ms */
    [SIM_LAT_LIST] = {175, 0, 2.0, 0.2, TAIL},
    /* a page of 200: 500 ms, 400–600 ms */
    [SIM_LAT_SEARCH] = {250, 0, 1.25, 0.2, TAIL},
    /* 100 IDs, 100 found: 375 ms, like a list page */
    [SIM_LAT_OBJECT_BATCH] = {150, 0.25, 2.0, 0.2, TAIL},
    /* 1,000 parents: 1,080 ms, and 1,180 ms with 20,000 items; 0.8–1.5 s */
    [SIM_LAT_ASSOC_BATCH] = {380, 0.7, 0.005, 0.25, TAIL},
};

int sim_latency_profile_parse(const char *name, sim_latency_profile *out)
{
    for (int p = 0; p < SIM_LATENCY_PROFILE_COUNT; p++)
        if (name && strcmp(name, sim_latency_profile_names[p]) == 0) {
            *out = (sim_latency_profile)p;
            return 0;
        }
    return -1;
}

const sim_latency_cost *sim_latency_costs(sim_latency_profile p, sim_latency_family f)
{
    if (p != SIM_LATENCY_HUBSPOT || (unsigned)f >= SIM_LAT_FAMILY_COUNT)
        return &no_cost;
    return &hubspot_costs[f];
}

sim_latency_family sim_latency_family_of(sim_route_kind kind)
{
    switch (kind) {
    case SIM_ROUTE_OAUTH_TOKEN:
        return SIM_LAT_TOKEN;
    case SIM_ROUTE_PROPERTIES:
        return SIM_LAT_PROPERTIES;
    case SIM_ROUTE_OBJECT_LIST:
        return SIM_LAT_LIST;
    case SIM_ROUTE_SEARCH:
        return SIM_LAT_SEARCH;
    case SIM_ROUTE_OBJECT_BATCH:
        return SIM_LAT_OBJECT_BATCH;
    case SIM_ROUTE_ASSOC_BATCH:
        return SIM_LAT_ASSOC_BATCH;
    default:
        return SIM_LAT_LABELS;
    }
}

double sim_latency_draw(const sim_latency_cost *c, uint32_t inputs, uint32_t results, double scale,
                        sim_rng *r, bool *tail)
{
    double ms = c->lc_base_ms + c->lc_per_input_ms * inputs + c->lc_per_result_ms * results;
    /* Both draws are taken whatever the costs, so the stream's position
     * depends only on how many answers were drawn. */
    double jitter = 1 + c->lc_jitter * (2 * sim_rng_unit(r) - 1);
    *tail = sim_rng_unit(r) < c->lc_tail_p;
    double slow = 1;
    if (*tail)
        slow = c->lc_tail_min + (c->lc_tail_max - c->lc_tail_min) * sim_rng_unit(r);
    double v = ms * jitter * slow * scale;
    return v > 0 ? v : 0;
}
