/*
 * api_get — GET requests to HubSpot from the coordinator's own process (see
 * api_get.h): setup's and doctor's reads, and a run's rollup re-check.
 */
#include "api_get.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/base/clock.h"
#include "../common/hubspot/hs_paths.h"
#include "../common/hubspot/http.h"
#include "../common/ipc/shm.h"
#include "commands.h"
#include "run.h"

#define MS_NS 1000000ULL

/* ---- GET requests through the HTTP engine --------------------------------- */

/* One request of api_get_all and how it ended. */
typedef struct get_ctx {
    api_get *gc_get;
    bool gc_oauth; /* for the hint on refused credentials */
    int gc_error;  /* 0, or the ERR_* that ends the command */
    char gc_msg[2 * ERR_MSG_MAX + 256];
    char gc_parse_msg[ERR_MSG_MAX]; /* why the last 200 could not be used */
} get_ctx;

static http_verdict on_response(void *user, http_request *req, const http_response *resp)
{
    get_ctx *gc = user;
    const char *path = http_request_path(req);
    if (resp->hr_error) {
        gc->gc_error = resp->hr_error;
        /* The engine's message usually names the request already. */
        bool named = strstr(resp->hr_message, path) != NULL;
        snprintf(gc->gc_msg, sizeof(gc->gc_msg), "%s%.100s%s%s%s%s", named ? "" : "GET ",
                 named ? "" : path, named ? "" : ": ", resp->hr_message,
                 gc->gc_parse_msg[0] ? "; last body: " : "", gc->gc_parse_msg);
        if (resp->hr_error == ERR_AUTH) {
            size_t used = strlen(gc->gc_msg);
            snprintf(gc->gc_msg + used, sizeof(gc->gc_msg) - used, "%s",
                     gc->gc_oauth ? " (check HUBSPOT_REFRESH_TOKEN, HUBSPOT_CLIENT_ID and "
                                    "HUBSPOT_CLIENT_SECRET)"
                                  : " (check HUBSPOT_ACCESS_TOKEN or --token-file)");
        }
        return HTTP_DONE;
    }
    if (resp->hr_status == 200) {
        err_info e = {0};
        if (gc->gc_get->ag_parse(resp->hr_body, resp->hr_body_len, gc->gc_get->ag_out, &e) == 0) {
            gc->gc_get->ag_done = true;
            return HTTP_DONE;
        }
        /* A body cut short where curl could not tell: ask again (bounded). */
        snprintf(gc->gc_parse_msg, sizeof(gc->gc_parse_msg), "%s", e.ei_msg);
        return HTTP_RETRY;
    }
    hs_error_body eb;
    hs_parse_error(resp->hr_body, resp->hr_body_len, &eb);
    if (resp->hr_status == 401 || resp->hr_status == 403) {
        gc->gc_error = ERR_AUTH;
        snprintf(gc->gc_msg, sizeof(gc->gc_msg), "GET %.100s: HTTP %d %s: %s%s%s%s", path,
                 resp->hr_status, eb.eb_category, eb.eb_message,
                 resp->hr_status == 403 && gc->gc_get->ag_scopes ? " (the token needs the " : "",
                 resp->hr_status == 403 && gc->gc_get->ag_scopes ? gc->gc_get->ag_scopes : "",
                 resp->hr_status == 403 && gc->gc_get->ag_scopes ? " scopes)" : "");
    } else {
        gc->gc_error = ERR_HTTP;
        snprintf(gc->gc_msg, sizeof(gc->gc_msg), "GET %.100s: HTTP %d %s: %s", path,
                 resp->hr_status, eb.eb_category, eb.eb_message);
    }
    return HTTP_DONE;
}

int api_region_create(const hubsync_config *c, shm_region **out)
{
    err_info e = {0};
    shm_region *r = NULL;
    *out = NULL;
    if (shm_create(1, &r, &e) != 0) {
        cmd_error(c, "%s", e.ei_msg);
        return EXIT_INCOMPLETE;
    }
    run_init_limits(c, r);
    if (!c->c_oauth && shm_token_set(r, c->c_token, 0) == 0) {
        cmd_error(c, "the access token is longer than %d bytes", SHM_TOKEN_MAX - 1);
        shm_destroy(r);
        return EXIT_USAGE;
    }
    *out = r;
    return 0;
}

int api_get_all(const hubsync_config *c, shm_region *shared, api_get *gets, size_t n,
                unsigned long long *api_calls)
{
    shm_region *r = shared;
    http_engine *eng = NULL;
    get_ctx *ctx = NULL;
    err_info e = {0};
    int rc = 0;
    unsigned long long sent_before = 0;
    if (n == 0)
        return 0;
    if ((ctx = calloc(n, sizeof(*ctx))) == NULL) {
        cmd_error(c, "out of memory");
        return EXIT_INCOMPLETE;
    }
    if (shared) /* its limiter, daily count and token already */
        sent_before = atomic_load(&r->sr_slots[r->sr_nworkers - 1].sl_counters.requests);
    else if ((rc = api_region_create(c, &r)) != 0)
        goto out;
    http_config hc = {0};
    hc.hc_base_url = c->c_base_url;
    hc.hc_shm = r;
    hc.hc_slot = (int)r->sr_nworkers - 1; /* a run's region: the coordinator's slot */
    hc.hc_inflight = (size_t)c->c_inflight < n ? c->c_inflight : (int)n;
    /* An interactive command: give up on an unreachable HubSpot in seconds. */
    hc.hc_max_attempts = 6;
    hc.hc_backoff_max_ms = 4000;
    hc.hc_total_timeout_ms = 30000;
    if (c->c_oauth) {
        hc.hc_refresh_token = c->c_refresh_token;
        hc.hc_client_id = c->c_client_id;
        hc.hc_client_secret = c->c_client_secret;
    }
    hc.hc_ca_file = c->c_ca_file[0] ? c->c_ca_file : NULL;
    if (http_engine_create(&hc, &eng, &e) != 0) {
        cmd_error(c, "%s", e.ei_msg);
        rc = cmd_exit_code(e.ei_code);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        gets[i].ag_done = false;
        ctx[i].gc_get = &gets[i];
        ctx[i].gc_oauth = c->c_oauth;
        http_request *req = http_request_new(HTTP_OTHER, "GET", gets[i].ag_path);
        if (!req) {
            cmd_error(c, "out of memory");
            rc = EXIT_INCOMPLETE;
            goto out;
        }
        http_submit(eng, req, on_response, &ctx[i]);
    }
    while (http_pending(eng) > 0) {
        int got = http_run(eng, 250, -1, NULL);
        if (got < 0) {
            cmd_error(c, "HTTP engine: %s", err_strerror(got));
            rc = EXIT_INCOMPLETE;
            goto out;
        }
    }
    /* The worst failure decides the exit code: an untrusted certificate
     * (nothing got through), auth, then daily, then others. */
    static const int order[] = {ERR_TLS, ERR_AUTH, ERR_DAILY, 0};
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]) && rc == 0; k++)
        for (size_t i = 0; i < n; i++) {
            int err = ctx[i].gc_error;
            if (err && (order[k] == 0 || err == order[k])) {
                cmd_error(c, "%s", ctx[i].gc_msg);
                rc = cmd_exit_code(err);
                break;
            }
        }
out:
    if (r)
        *api_calls +=
            atomic_load(&r->sr_slots[r->sr_nworkers - 1].sl_counters.requests) - sent_before;
    http_engine_destroy(eng);
    if (!shared)
        shm_destroy(r);
    free(ctx);
    return rc;
}

/* ---- fetching the parents' properties ----------------------------------- */

static int parse_properties(const char *body, size_t len, void *out, err_info *e)
{
    return hs_parse_properties(body, len, out, e);
}

int parent_props_fetch(const hubsync_config *c, parent_props *pp, shm_region *shared)
{
    api_get gets[HS_OBJECT_TYPE_COUNT];
    hs_object_type types[HS_OBJECT_TYPE_COUNT];
    size_t n = 0;
    memset(gets, 0, sizeof(gets));
    bool any = false;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        any = any || pp->pp_wanted[t];
    for (int i = 0; i < c->c_ntables && !any; i++)
        pp->pp_wanted[c->c_tables[i].t_parent] = true;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        if (!pp->pp_wanted[t] || pp->pp_have[t])
            continue;
        hs_path_properties(gets[n].ag_path, sizeof(gets[n].ag_path), (hs_object_type)t);
        gets[n].ag_parse = parse_properties;
        gets[n].ag_out = &pp->pp_props[t];
        gets[n].ag_scopes = "crm.schemas.*.read";
        types[n++] = (hs_object_type)t;
    }
    int rc = api_get_all(c, shared, gets, n, &pp->pp_api_calls);
    for (size_t i = 0; i < n; i++)
        pp->pp_have[types[i]] = gets[i].ag_done;
    return rc;
}

static int parse_labels(const char *body, size_t len, void *out, err_info *e)
{
    return hs_parse_assoc_labels(body, len, out, e);
}

int labels_fetch(const hubsync_config *c, shm_region *shared, const hs_table *tables, size_t n,
                 hs_assoc_labels *out, bool *done, unsigned long long *api_calls)
{
    api_get *gets = calloc(n ? n : 1, sizeof(*gets));
    if (!gets) {
        cmd_error(c, "out of memory");
        return EXIT_INCOMPLETE;
    }
    for (size_t i = 0; i < n; i++) {
        hs_path_assoc_labels(gets[i].ag_path, sizeof(gets[i].ag_path), tables[i].t_parent,
                             tables[i].t_child);
        gets[i].ag_parse = parse_labels;
        gets[i].ag_out = &out[i];
        gets[i].ag_scopes = "crm.objects.*.read";
    }
    int rc = api_get_all(c, shared, gets, n, api_calls);
    for (size_t i = 0; i < n; i++)
        done[i] = gets[i].ag_done;
    free(gets);
    return rc;
}
