/*
 * cmd_setup — `hubsync setup`, phase 1 (docs/CLI.md; the reference design's
 * setup.py): read each parent type's properties from HubSpot, find the rollup
 * fields of every selected table by label and type (rollup.c: a property
 * with a matching label that is not a rollup is listed, with why, and
 * ignored), and save the table schemas.
 *
 * The HTTP engine runs in this process (no workers: at most one request per
 * distinct parent type, eleven at the very most), under the same limiter
 * and token handling as a run (api_get.c, also doctor's way to HubSpot).
 * Everything is fetched before the database is opened, so refused
 * credentials or an unreachable HubSpot leave no database behind; the
 * schemas are then written in one LMDB transaction (all or nothing), beside
 * cursors and data that setup never touches. doctor (cmd_doctor.c) reuses
 * the fetch and the detection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/base/clock.h"
#include "../common/base/jbuf.h"
#include "api_get.h"
#include "labels.h"
#include "commands.h"
#include "route.h"

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

/* Reads a table's stored schema and cursor (for the report), and writes its
 * new schema and label catalog (when read). Returns 0 or the store's error. */
static int store_row(store_txn *t, setup_row *row, const hs_assoc_labels *labels, err_info *e)
{
    int grc = store_get_schema(t, row->sr_table, &row->sr_old, e);
    /* A damaged schema is what setup exists to write again: replace it. */
    if (grc == ERR_CORRUPT)
        log_warn("%s: the stored table_options were damaged (%s); replaced", row->sr_name,
                 e->ei_msg);
    else if (grc != 0 && grc != ERR_NOT_FOUND)
        return grc;
    row->sr_had_old = grc == 0;
    /* Setup never writes cursors: a damaged one is left for `run`. */
    grc = store_get_state(t, row->sr_name, &row->sr_state, e);
    if (grc == ERR_CORRUPT)
        log_warn("%s: %s", row->sr_name, (record_damaged(e, row->sr_name, false), e->ei_msg));
    else if (grc != 0)
        return grc;
    schema_carry_since(row->sr_had_old ? &row->sr_old : NULL, &row->sr_new, clock_wall_ms());
    bool changed;
    int rc = store_put_schema(t, row->sr_table, &row->sr_new, e);
    if (rc == 0 && labels)
        rc = labels_save(t, row->sr_table, labels, clock_wall_ms(), &changed, e);
    return rc;
}

int cmd_setup(const hubsync_config *c)
{
    parent_props pp;
    setup_row *rows = calloc((size_t)c->c_ntables, sizeof(*rows));
    hs_assoc_labels *labels = calloc((size_t)c->c_ntables, sizeof(*labels));
    bool *have_labels = calloc((size_t)c->c_ntables, sizeof(*have_labels));
    store *s = NULL;
    store_txn *t = NULL;
    err_info e = {0};
    int rc = 0;
    parent_props_init(&pp);
    if (!rows || !labels || !have_labels) {
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
    /* The label catalogs, which export fills the label column from. */
    for (int i = 0; i < c->c_ntables; i++)
        hs_assoc_labels_init(&labels[i]);
    if ((rc = labels_fetch(c, NULL, c->c_tables, (size_t)c->c_ntables, labels, have_labels,
                           &pp.pp_api_calls)) != 0)
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
    for (int i = 0; i < c->c_ntables; i++)
        if (store_row(t, &rows[i], have_labels[i] ? &labels[i] : NULL, &e) != 0)
            goto store_failed;
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
    for (int i = 0; labels && i < c->c_ntables; i++)
        hs_assoc_labels_free(&labels[i]);
    free(labels);
    free(have_labels);
    parent_props_free(&pp);
    return rc;
}
