/*
 * sim_api — HubSpot's endpoints, independent of the HTTP server: a request
 * (method, path, query, body) goes in, a response (status, headers, JSON
 * body) comes out. sim_server adds auth, rate limits, faults and latency
 * around it; the unit tests call it directly.
 */
#ifndef HUBSYNC_SIM_API_H
#define HUBSYNC_SIM_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/base/hs_types.h"
#include "../common/base/jbuf.h"
#include "sim_portal.h"

enum { SIM_MAX_HEADERS = 16, SIM_MAX_BODY = 1 << 20 };

typedef enum sim_route_kind {
    SIM_ROUTE_NOT_FOUND,
    SIM_ROUTE_OBJECT_LIST,        /* GET  /crm/v3/objects/{t} */
    SIM_ROUTE_SEARCH,             /* POST /crm/v3/objects/{t}/search */
    SIM_ROUTE_OBJECT_BATCH,       /* POST /crm/v3/objects/{t}/batch/read */
    SIM_ROUTE_ASSOC_BATCH,        /* POST /crm/v4/associations/{f}/{t}/batch/read */
    SIM_ROUTE_ASSOC_GET,          /* GET  /crm/v4/objects/{t}/{id}/associations/{to} */
    SIM_ROUTE_ASSOC_LABELS,       /* GET  /crm/v4/associations/{f}/{t}/labels */
    SIM_ROUTE_PROPERTIES,         /* GET  /crm/v3/properties/{t} */
    SIM_ROUTE_OAUTH_TOKEN,        /* POST /oauth/v1/token, /oauth/v3/token */
    SIM_ROUTE_ADMIN_TRUTH,        /* GET  /_sim/truth */
    SIM_ROUTE_ADMIN_MUTATE,       /* POST /_sim/mutate */
    SIM_ROUTE_ADMIN_STATS,        /* GET  /_sim/stats */
    SIM_ROUTE_ADMIN_RESET,        /* POST /_sim/reset-stats */
    SIM_ROUTE_ADMIN_CONFIG,       /* GET|POST /_sim/config */
    SIM_ROUTE_ADMIN_RENAME_LABEL, /* POST /_sim/rename-label */
} sim_route_kind;

typedef struct sim_route {
    sim_route_kind r_kind;
    bool r_method_ok; /* the path exists but not for this method when false */
    bool r_bad_type;  /* an object type segment is unknown */
    char r_bad_segment[64];
    hs_object_type r_type; /* {t} or {f} */
    hs_object_type r_to;   /* {t} of associations, {to} */
    uint64_t r_id;         /* {id} */
    char r_stats_key[160]; /* "POST /crm/v4/associations/companies/contacts/batch/read" */
} sim_route;

/* Classifies a request path (no query string). */
void sim_route_parse(const char *method, const char *path, sim_route *r);

/* True for the endpoints that need a token and count against the limits. */
bool sim_route_is_api(const sim_route *r);

typedef struct sim_request {
    const char *rq_method;
    const char *rq_path;
    /* Looks up a decoded query parameter; NULL when absent. */
    const char *(*rq_query)(void *ctx, const char *key);
    void *rq_query_ctx;
    const char *rq_body;
    size_t rq_body_len;
    bool rq_body_too_large; /* the body exceeded SIM_MAX_BODY and was dropped */
    int64_t rq_now_ms;
} sim_request;

typedef struct sim_header {
    char h_name[48];
    char h_value[128];
} sim_header;

typedef struct sim_response {
    int rs_status;
    const char *rs_content_type;
    jbuf rs_body;
    int rs_nheaders;
    sim_header rs_headers[SIM_MAX_HEADERS];
    /* How much the handler was asked and answered, for the latency model
     * (sim_latency): batch inputs, and records or association items
     * returned. */
    uint32_t rs_inputs, rs_results;
} sim_response;

void sim_response_init(sim_response *rs);
void sim_response_free(sim_response *rs);

/* Adds a response header (dropped silently past SIM_MAX_HEADERS). */
void sim_response_header(sim_response *rs, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Replaces the body with HubSpot's error body: {"status":"error","message",
 * "correlationId","category"} plus, when non-NULL, "subCategory" and a raw
 * JSON "context" object. */
void sim_response_error(sim_response *rs, int status, const char *category, const char *subcategory,
                        const char *context_json, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Writes a random version-4 UUID (37 bytes with the NUL). Thread-safe. */
void sim_uuid(char *out);

/* What the API handlers need besides the request. */
typedef struct sim_api_ctx {
    sim_portal *ac_portal; /* read lock held by the caller */
    uint32_t ac_assoc_page_size;
} sim_api_ctx;

/* Serves one of the portal's read endpoints (list, search, object batch
 * read, association batch read and GET, labels, properties). `rollup_mode`
 * is the rollup model's mode now (--rollup-bumps): in the realistic one a
 * requested rollup property shows the value from before a pending
 * recomputation (sim_render.h). */
void sim_api_handle_mode(const sim_api_ctx *ctx, sim_rollup_mode rollup_mode,
                         const sim_route *route, const sim_request *rq, sim_response *rs);

/* sim_api_handle_mode in the realistic mode, the simulator's default. */
void sim_api_handle(const sim_api_ctx *ctx, const sim_route *route, const sim_request *rq,
                    sim_response *rs);

#endif
