/*
 * cmd_setup — `hubsync setup`, phase 1 (docs/CLI.md; the reference design's
 * setup.py): read each parent type's properties from HubSpot, find the rollup
 * fields of every selected table by label and type (rollup.c: a property
 * with a matching label that is not a rollup is listed, with why, and
 * ignored), and save the table schemas.
 *
 * The HTTP engine runs in this process (no workers: at most one request per
 * distinct parent type, eleven at the very most), under the same limiter
 * and token handling as a run (api_get_all, also doctor's way to HubSpot).
 * Everything is fetched before the database is opened, so refused
 * credentials or an unreachable HubSpot leave no database behind; the
 * schemas are then written in one LMDB transaction (all or nothing), beside
 * cursors and data that setup never touches. doctor (cmd_doctor.c) reuses
 * the fetch and the detection.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/hs_paths.h"
#include "../common/jbuf.h"
#include "../common/shm.h"
#include "../common/http.h"
#include "commands.h"
#include "route.h"
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
    if (shared) {
        /* A run's region: its limiter, daily count and token already. */
        sent_before = atomic_load(&r->sr_slots[r->sr_nworkers - 1].sl_counters.requests);
        goto limited;
    }
    if ((rc = shm_create(1, &r, &e)) != 0) {
        cmd_error(c, "%s", e.ei_msg);
        rc = EXIT_INCOMPLETE;
        goto out;
    }
    run_init_limits(c, r);
    if (!c->c_oauth && shm_token_set(r, c->c_token, 0) == 0) {
        cmd_error(c, "the access token is longer than %d bytes", SHM_TOKEN_MAX - 1);
        rc = EXIT_USAGE;
        goto out;
    }
limited:;
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

/* ---- the command ---------------------------------------------------------- */

/* What setup found and replaced for one table. */
typedef struct setup_row {
    hs_table sr_table;
    char sr_name[64];
    store_schema sr_new;
    store_schema sr_old;
    bool sr_had_old;
    size_t sr_ignored;
    rollup_lookalike *sr_lookalikes; /* matching labels that are not rollups */
    size_t sr_nlookalikes;
    store_state sr_state;
} setup_row;

static const char *change_word(const setup_row *row)
{
    if (!row->sr_had_old)
        return "new";
    if (schema_equal(&row->sr_old, &row->sr_new))
        return "unchanged";
    if (row->sr_old.sc_ping_type != row->sr_new.sc_ping_type)
        return row->sr_new.sc_ping_type == STORE_PING_FULL ? "was read_incremental_ping"
                                                           : "was read_full_ping";
    return "rollup fields changed";
}

static void print_text(const hubsync_config *c, const setup_row *rows, int n,
                       unsigned long long calls)
{
    jbuf b;
    jb_init(&b);
    int incremental = 0;
    for (int i = 0; i < n; i++) {
        const setup_row *row = &rows[i];
        const store_schema *sc = &row->sr_new;
        incremental += sc->sc_ping_type == STORE_PING_INCREMENTAL;
        jb_printf(&b, "%s: %s (%s)\n", row->sr_name, store_ping_type_name(sc->sc_ping_type),
                  change_word(row));
        if (sc->sc_nrollup_field_labels) {
            jb_printf(&b, "    rollup fields on %s:", sc->sc_rollup_fields_object_id);
            for (size_t k = 0; k < sc->sc_nrollup_field_labels; k++)
                jb_printf(&b, "%s %s", k ? "," : "", sc->sc_rollup_field_labels[k]);
            jb_char(&b, '\n');
        } else if (hs_table_is_engagement(row->sr_table)) {
            jb_printf(&b, "    engagement table: rollups are not supported");
            if (row->sr_ignored)
                jb_printf(&b, " (%zu matching label%s ignored)", row->sr_ignored,
                          row->sr_ignored == 1 ? "" : "s");
            jb_char(&b, '\n');
        } else if (row->sr_nlookalikes) {
            char prefix[128];
            rollup_prefix(row->sr_table, prefix, sizeof(prefix));
            jb_printf(&b,
                      "    no rollup fields on %s: %zu propert%s labelled %s… %s not a rollup "
                      "property (a rollup is type number, fieldType calculation_rollup), so the "
                      "table stays %s\n",
                      hs_object(row->sr_table.t_parent)->oi_plural, row->sr_nlookalikes,
                      row->sr_nlookalikes == 1 ? "y" : "ies", prefix,
                      row->sr_nlookalikes == 1 ? "is" : "are",
                      store_ping_type_name(STORE_PING_FULL));
        } else {
            char prefix[128];
            rollup_prefix(row->sr_table, prefix, sizeof(prefix));
            jb_printf(&b, "    no rollup fields on %s (no property label starts with %s)\n",
                      hs_object(row->sr_table.t_parent)->oi_plural, prefix);
        }
        for (size_t k = 0; k < row->sr_nlookalikes; k++) {
            const rollup_lookalike *l = &row->sr_lookalikes[k];
            jb_printf(&b, "    ignored %s (property %s): %s — not a rollup\n", l->rl_label,
                      l->rl_name, l->rl_reason);
        }
        char what[128];
        store_route next = route_next(sc, &row->sr_state);
        const char *why = route_reason(sc, &row->sr_state);
        jb_printf(
            &b, "    next run: %s (%s)\n", store_route_name(next),
            why ? why
                : route_describe(sc->sc_ping_type, &row->sr_state.ss_cursor, what, sizeof(what)));
    }
    jb_printf(&b,
              "setup: %d table%s saved in %s: %d read_incremental_ping, %d read_full_ping; "
              "cursors and data kept; %llu API call%s\n",
              n, n == 1 ? "" : "s", c->c_db_dir, incremental, n - incremental, calls,
              calls == 1 ? "" : "s");
    fwrite(jb_cstr(&b), 1, b.jb_len, stdout);
    jb_free(&b);
}

static void print_json(const hubsync_config *c, const setup_row *rows, int n,
                       unsigned long long calls)
{
    jbuf b;
    jb_init(&b);
    jb_lit(&b, "{\"db\":");
    jb_str(&b, c->c_db_dir);
    jb_lit(&b, ",\"api_calls\":");
    jb_u64(&b, calls);
    jb_lit(&b, ",\"tables\":[");
    for (int i = 0; i < n; i++) {
        const setup_row *row = &rows[i];
        if (i)
            jb_char(&b, ',');
        jb_lit(&b, "{\"table\":");
        jb_str(&b, row->sr_name);
        jb_lit(&b, ",\"table_options\":");
        schema_json(&b, &row->sr_new);
        jb_lit(&b, ",\"previous\":");
        if (row->sr_had_old)
            schema_json(&b, &row->sr_old);
        else
            jb_lit(&b, "null");
        jb_lit(&b, ",\"change\":");
        jb_str(&b, change_word(row));
        jb_lit(&b, ",\"ignored_labels\":");
        jb_u64(&b, row->sr_ignored);
        jb_lit(&b, ",\"lookalikes\":");
        rollup_lookalikes_json(&b, row->sr_lookalikes, row->sr_nlookalikes);
        jb_lit(&b, ",\"next_route\":");
        jb_str(&b, store_route_name(route_next(&row->sr_new, &row->sr_state)));
        jb_lit(&b, ",\"next_route_reason\":");
        const char *why = route_reason(&row->sr_new, &row->sr_state);
        if (why)
            jb_str(&b, why);
        else
            jb_lit(&b, "null");
        jb_char(&b, '}');
    }
    jb_lit(&b, "]}\n");
    fwrite(jb_cstr(&b), 1, b.jb_len, stdout);
    jb_free(&b);
}

int cmd_setup(const hubsync_config *c)
{
    parent_props pp;
    setup_row *rows = calloc((size_t)c->c_ntables, sizeof(*rows));
    store *s = NULL;
    store_txn *t = NULL;
    err_info e = {0};
    int rc = 0;
    parent_props_init(&pp);
    if (!rows) {
        cmd_error(c, "setup: out of memory");
        rc = EXIT_INCOMPLETE;
        goto out;
    }
    for (int i = 0; i < c->c_ntables; i++) {
        store_schema_init(&rows[i].sr_new);
        store_schema_init(&rows[i].sr_old);
    }
    if ((rc = parent_props_fetch(c, &pp, NULL)) != 0)
        goto out;
    for (int i = 0; i < c->c_ntables; i++) {
        setup_row *row = &rows[i];
        row->sr_table = c->c_tables[i];
        hs_table_name(row->sr_table, row->sr_name, sizeof(row->sr_name));
        if (rollup_detect(&pp, row->sr_table, &row->sr_new, &row->sr_ignored, &e) != 0 ||
            rollup_lookalikes(&pp, row->sr_table, &row->sr_lookalikes, &row->sr_nlookalikes, &e) !=
                0) {
            cmd_error(c, "setup: %s: %s", row->sr_name, e.ei_msg);
            rc = EXIT_INCOMPLETE;
            goto out;
        }
    }

    /* Only now the database: nothing is created when HubSpot said no. */
    if (store_open(c->c_db_dir, NULL, &s, &e) != 0 ||
        store_txn_begin(s, STORE_TXN_WRITE, &t, &e) != 0)
        goto store_failed;
    for (int i = 0; i < c->c_ntables; i++) {
        setup_row *row = &rows[i];
        int grc = store_get_schema(t, row->sr_table, &row->sr_old, &e);
        /* A damaged schema is what setup exists to write again: replace it. */
        if (grc == ERR_CORRUPT)
            log_warn("%s: the stored table_options were damaged (%s); replaced", row->sr_name,
                     e.ei_msg);
        else if (grc != 0 && grc != ERR_NOT_FOUND)
            goto store_failed;
        row->sr_had_old = grc == 0;
        /* Setup never writes cursors: a damaged one is left for `run`. */
        grc = store_get_state(t, row->sr_name, &row->sr_state, &e);
        if (grc == ERR_CORRUPT)
            log_warn("%s: %s", row->sr_name, (record_damaged(&e, row->sr_name, false), e.ei_msg));
        else if (grc != 0)
            goto store_failed;
        schema_carry_since(row->sr_had_old ? &row->sr_old : NULL, &row->sr_new, clock_wall_ms());
        if (store_put_schema(t, row->sr_table, &row->sr_new, &e) != 0)
            goto store_failed;
    }
    rc = store_txn_commit(t, &e);
    t = NULL;
    if (rc != 0)
        goto store_failed;
    store_close(s);
    s = NULL;
    if (c->c_json)
        print_json(c, rows, c->c_ntables, pp.pp_api_calls);
    else
        print_text(c, rows, c->c_ntables, pp.pp_api_calls);
    rc = EXIT_OK;
    goto out;

store_failed:
    cmd_error(c, "setup: %s", e.ei_msg);
    rc = cmd_exit_code(e.ei_code);
    if (rc == EXIT_OK)
        rc = EXIT_INCOMPLETE;
out:
    store_txn_abort(t);
    store_close(s);
    if (rows)
        for (int i = 0; i < c->c_ntables; i++) {
            store_schema_free(&rows[i].sr_new);
            store_schema_free(&rows[i].sr_old);
            free(rows[i].sr_lookalikes);
        }
    free(rows);
    parent_props_free(&pp);
    return rc;
}
