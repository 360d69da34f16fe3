/*
 * sim_latency — how long HubSpot takes to answer, per endpoint family.
 *
 * HubSpot's answers take about 0.3–1.5 s, and how long depends on the
 * endpoint and on how much it was asked for and returned: a client that
 * pipelines its requests behaves quite differently against that than against
 * a simulator that answers in a millisecond. Each family has a base time, a
 * cost per batch input and a cost per result returned (records, or
 * association items), a multiplicative jitter and a rare slow tail.
 *
 * Profiles name a set of costs: `none` (no latency: the simulator's old
 * behaviour, --latency-ms alone) and `hubspot` (our assumptions from
 * observed HubSpot behaviour; docs/SIMULATOR.md has the table). Pure: the
 * caller supplies the random stream, so draws are reproducible.
 */
#ifndef HUBSYNC_SIM_LATENCY_H
#define HUBSYNC_SIM_LATENCY_H

#include <stdbool.h>
#include <stdint.h>

#include "sim_api.h"
#include "sim_rand.h"

typedef enum sim_latency_family {
    SIM_LAT_TOKEN,        /* POST /oauth/v1/token */
    SIM_LAT_PROPERTIES,   /* GET /crm/v3/properties/{t} */
    SIM_LAT_LABELS,       /* labels and the other small GETs (one object's associations) */
    SIM_LAT_LIST,         /* GET /crm/v3/objects/{t} */
    SIM_LAT_SEARCH,       /* POST /crm/v3/objects/{t}/search */
    SIM_LAT_OBJECT_BATCH, /* POST /crm/v3/objects/{t}/batch/read */
    SIM_LAT_ASSOC_BATCH,  /* POST /crm/v4/associations/{f}/{t}/batch/read */
    SIM_LAT_FAMILY_COUNT
} sim_latency_family;

/* "token", "properties", "labels", "list", "search", "object_batch",
 * "assoc_batch": the keys of /_sim/stats "latency". */
extern const char *const sim_latency_family_names[SIM_LAT_FAMILY_COUNT];

typedef enum sim_latency_profile {
    SIM_LATENCY_NONE,
    SIM_LATENCY_HUBSPOT,
    SIM_LATENCY_PROFILE_COUNT
} sim_latency_profile;

/* "none", "hubspot". */
extern const char *const sim_latency_profile_names[SIM_LATENCY_PROFILE_COUNT];

/* One family's costs. The drawn time is
 *   (base + per_input · inputs + per_result · results) · J · T · scale
 * where J is uniform in [1 − jitter, 1 + jitter] and T is 1, or with
 * probability tail_p uniform in [tail_min, tail_max]. */
typedef struct sim_latency_cost {
    double lc_base_ms;
    double lc_per_input_ms;
    double lc_per_result_ms;
    double lc_jitter; /* 0 ≤ jitter < 1 */
    double lc_tail_p;
    double lc_tail_min, lc_tail_max; /* multipliers, 1 ≤ min ≤ max */
} sim_latency_cost;

/* Parses a profile name. Returns 0, or -1 (*out unchanged). */
int sim_latency_profile_parse(const char *name, sim_latency_profile *out);

/* The costs of family f in profile p (all zero in `none`). */
const sim_latency_cost *sim_latency_costs(sim_latency_profile p, sim_latency_family f);

/* The family an API or token route belongs to (admin routes: labels, never
 * used). */
sim_latency_family sim_latency_family_of(sim_route_kind kind);

/* Draws one answer's time in milliseconds (≥ 0) from r; *tail tells whether
 * the slow tail struck. Always takes two draws from r, three on a tail. */
double sim_latency_draw(const sim_latency_cost *c, uint32_t inputs, uint32_t results, double scale,
                        sim_rng *r, bool *tail);

#endif
