/*
 * sim_search — POST /crm/v3/objects/{type}/search: parse the request with
 * HubSpot's limits, evaluate it against the search index's (lagging) view of
 * the portal, and write the response.
 *
 * Matching is a scan of the type's objects; only the first after + limit
 * matches in sort order are kept (a bounded heap, at most 10,000 entries), so
 * a search costs O(objects · log 10,000) whatever the match count. A filter
 * or sort on a rollup (its name resolved once, when the body is parsed)
 * reads each record's stored value as rendering does: O(1) for a count, the
 * record's links in the table for a per-label rollup; still one pass.
 */
#ifndef HUBSYNC_SIM_SEARCH_H
#define HUBSYNC_SIM_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "../common/base/hs_types.h"
#include "../common/base/jbuf.h"
#include "sim_portal.h"
#include "sim_render.h"

enum {
    SIM_SEARCH_MAX_BODY = 3000,
    SIM_SEARCH_MAX_GROUPS = 5,
    SIM_SEARCH_MAX_GROUP_FILTERS = 6,
    SIM_SEARCH_MAX_FILTERS = 18,
    SIM_SEARCH_MAX_LIMIT = 200,
    SIM_SEARCH_MAX_RESULTS = 10000,
    SIM_SEARCH_MAX_VALUES = 100,
    SIM_SEARCH_MAX_PROPS = 32,
};

/* Properties the simulator can filter and sort on. */
typedef enum sim_prop {
    SIM_PROP_OBJECT_ID,    /* hs_object_id */
    SIM_PROP_CREATED,      /* createdate */
    SIM_PROP_LASTMODIFIED, /* the type's last-modified property */
    SIM_PROP_UNSET,        /* exists but never has a value (hs_lastmodifieddate on contacts) */
    SIM_PROP_ROLLUP,       /* one of the portal's rollups on the type (the filter's or sort's
                            * rollup field says which) */
} sim_prop;

typedef enum sim_op {
    SIM_OP_EQ,
    SIM_OP_NEQ,
    SIM_OP_LT,
    SIM_OP_LTE,
    SIM_OP_GT,
    SIM_OP_GTE,
    SIM_OP_BETWEEN,
    SIM_OP_IN,
    SIM_OP_NOT_IN,
    SIM_OP_HAS,
    SIM_OP_NOT_HAS
} sim_op;

typedef struct sim_filter {
    sim_prop f_prop;
    sim_render_rollup f_rollup; /* SIM_PROP_ROLLUP: its table and label */
    sim_op f_op;
    int64_t f_value, f_high; /* BETWEEN: [value, high] */
    int f_nvalues;           /* IN, NOT_IN */
    int64_t f_values[SIM_SEARCH_MAX_VALUES];
} sim_filter;

typedef struct sim_search_query {
    int q_ngroups;
    int q_group_len[SIM_SEARCH_MAX_GROUPS];
    sim_filter q_filters[SIM_SEARCH_MAX_GROUPS][SIM_SEARCH_MAX_GROUP_FILTERS];
    bool q_sorted;
    sim_prop q_sort_prop;
    sim_render_rollup q_sort_rollup; /* q_sort_prop SIM_PROP_ROLLUP: its table and label */
    bool q_descending;
    uint32_t q_limit;
    uint32_t q_after;
    int q_nprops; /* requested properties; 0 = the type's defaults */
    char q_props[SIM_SEARCH_MAX_PROPS][SIM_PROP_NAME_MAX];
} sim_search_query;

/* Parses a search body for object type t. Returns 0, or -1 with a message for
 * the 400 VALIDATION_ERROR in err. Knows no portal, so a rollup's name is an
 * unknown property here: see sim_search_parse_portal. */
int sim_search_parse(hs_object_type t, const char *body, size_t len, sim_search_query *q, char *err,
                     size_t errlen);

/* sim_search_parse that also accepts, as a filter's or the sort's
 * propertyName, a rollup of p on type t (the names GET /crm/v3/properties
 * lists; sim_render_find_rollup), resolved here to its table and label once
 * for the request. Their filter values are integers (HubSpot sends "500").
 * p NULL: sim_search_parse. Read lock, held until q has run: q names p's
 * tables by index. */
int sim_search_parse_portal(const sim_portal *p, hs_object_type t, const char *body, size_t len,
                            sim_search_query *q, char *err, size_t errlen);

/* Runs q at now_ms and appends the response body ({"total",…}); *returned
 * (when not NULL) receives the number of results in it. rp: q's requested
 * properties resolved by sim_render_props_resolve() (once per request, so
 * rendering up to 200 results matches no names). Rollup filters and sorts
 * see the value a record renders (sim_render_rollup_value with
 * rp->rp_stored), which every record of the type has. Read lock. Returns 0,
 * or -1 when out of memory. */
int sim_search_run_props(const sim_portal *p, hs_object_type t, const sim_search_query *q,
                         const sim_render_props *rp, int64_t now_ms, jbuf *out, uint32_t *returned);

/* sim_search_run_props with q's properties resolved in the realistic rollup
 * mode (the simulator's default). Read lock. */
int sim_search_run(const sim_portal *p, hs_object_type t, const sim_search_query *q, int64_t now_ms,
                   jbuf *out, uint32_t *returned);

#endif
