/*
 * cmd_status — `hubsync status [--json]`: what the database holds for each
 * selected table (its table_options, its cursor and what the next run does
 * with it, its row count, the last run's figures) and for each object type
 * the tables use. Read-only: it opens the store as a reader, takes no run
 * lock and reads one snapshot, so it works beside a running sync.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../common/base/jbuf.h"
#include "../common/base/version.h"
#include "commands.h"
#include "route.h"

/* ---- printing ------------------------------------------------------------- */

static void cursor_json(jbuf *b, store_ping_type ping, const store_cursor *cu, bool is_table)
{
    char what[160];
    jb_lit(b, "{\"kind\":");
    jb_str(b, store_cursor_kind_name(cu->cu_kind));
    if (cu->cu_kind == STORE_CURSOR_OBJECT_ID) {
        jb_lit(b, ",\"object_id\":");
        jb_u64_str(b, cu->cu_object_id);
    } else if (cu->cu_kind == STORE_CURSOR_TIMESTAMP_MS) {
        jb_lit(b, ",\"timestamp_ms\":");
        jb_i64(b, cu->cu_timestamp_ms);
        jb_lit(b, ",\"iso\":");
        jb_iso8601_ms(b, cu->cu_timestamp_ms);
    }
    if (is_table) {
        jb_lit(b, ",\"meaning\":");
        jb_str(b, route_describe(ping, cu, what, sizeof(what)));
    }
    jb_char(b, '}');
}

/* Whether the state records a run's figures (an object sync may count its
 * runs without keeping figures). */
static bool has_last_run(const store_state *st)
{
    return st->ss_last_run.sr_route != STORE_ROUTE_NONE || st->ss_last_run.sr_started_ms > 0;
}

static void last_run_json(jbuf *b, const store_state *st)
{
    if (!has_last_run(st)) {
        jb_lit(b, "null");
        return;
    }
    const store_run *r = &st->ss_last_run;
    jb_lit(b, "{\"route\":");
    jb_str(b, store_route_name(r->sr_route));
    jb_lit(b, ",\"started_ms\":");
    jb_i64(b, r->sr_started_ms);
    jb_lit(b, ",\"finished_ms\":");
    jb_i64(b, r->sr_finished_ms);
    jb_lit(b, ",\"completed\":");
    if (r->sr_completed)
        jb_lit(b, "true");
    else
        jb_lit(b, "false");
#define RUN_JSON(name)                                                                             \
    jb_lit(b, ",\"" #name "\":");                                                                  \
    jb_u64(b, r->sr_##name);
    STORE_RUN_COUNTERS(RUN_JSON)
#undef RUN_JSON
    jb_char(b, '}');
}

/* "last run: …" on one line and its counters on the next, both indented. */
static void last_run_text(jbuf *b, const store_state *st, int indent)
{
    jb_printf(b, "%*slast run:       ", indent, "");
    if (!has_last_run(st)) {
        jb_printf(b, "none (runs: %" PRIu64 ")\n", st->ss_runs);
        return;
    }
    const store_run *r = &st->ss_last_run;
    char started[32];
    fmt_iso8601_ms(started, r->sr_started_ms);
    jb_printf(b, "%s, %s, started %s", store_route_name(r->sr_route),
              r->sr_completed     ? "completed"
              : r->sr_finished_ms ? "incomplete"
                                  : "in progress",
              started);
    if (r->sr_finished_ms >= r->sr_started_ms && r->sr_finished_ms > 0)
        jb_printf(b, ", %.1f s", (double)(r->sr_finished_ms - r->sr_started_ms) / 1000.0);
    jb_printf(b, " (runs: %" PRIu64 ")\n%*s", st->ss_runs, indent + 16, "");
    int k = 0;
#define RUN_TEXT(name) jb_printf(b, "%s" #name " %" PRIu64, k++ ? ", " : "", r->sr_##name);
    STORE_RUN_COUNTERS(RUN_TEXT)
#undef RUN_TEXT
    jb_char(b, '\n');
}

/* Verification's place in its cycle (incremental tables). */
static void verify_text(jbuf *b, const store_state *st)
{
    if (st->ss_verify_cycles == 0 && st->ss_verify_next_id == 0)
        return;
    jb_printf(b, "  verification:   next from ID %" PRIu64 "; %" PRIu64 " full cycle%s",
              st->ss_verify_next_id, st->ss_verify_cycles, st->ss_verify_cycles == 1 ? "" : "s");
    if (st->ss_verify_cycle_ended_ms > 0) {
        char iso[32];
        fmt_iso8601_ms(iso, st->ss_verify_cycle_ended_ms);
        jb_printf(b, ", the last ended %s", iso);
    }
    jb_char(b, '\n');
}

static void verify_json(jbuf *b, const store_state *st)
{
    jb_lit(b, "{\"next_id\":");
    jb_u64_str(b, st->ss_verify_next_id);
    jb_lit(b, ",\"cycles\":");
    jb_u64(b, st->ss_verify_cycles);
    jb_lit(b, ",\"last_cycle_ended_ms\":");
    if (st->ss_verify_cycle_ended_ms > 0)
        jb_i64(b, st->ss_verify_cycle_ended_ms);
    else
        jb_lit(b, "null");
    jb_char(b, '}');
}

/* Everything status shows for one table, read in the snapshot. */
typedef struct table_view {
    char tv_name[64];
    hs_table tv_table;
    bool tv_has_schema;
    store_schema tv_schema;
    store_state tv_state;
    uint64_t tv_assoc;
} table_view;

static int read_table(store_txn *t, hs_table table, table_view *v, err_info *e)
{
    v->tv_table = table;
    hs_table_name(table, v->tv_name, sizeof(v->tv_name));
    int rc = store_get_schema(t, table, &v->tv_schema, e);
    if (rc == ERR_CORRUPT)
        record_damaged(e, v->tv_name, true);
    if (rc != 0 && rc != ERR_NOT_FOUND)
        return err_wrap(e, "%s: ", v->tv_name);
    v->tv_has_schema = rc == 0;
    if ((rc = store_get_state(t, v->tv_name, &v->tv_state, e)) == ERR_CORRUPT)
        record_damaged(e, v->tv_name, false);
    if (rc != 0 || (rc = store_count_assoc(t, table, &v->tv_assoc, e)) != 0)
        return err_wrap(e, "%s: ", v->tv_name);
    return 0;
}

static void table_text(jbuf *b, const table_view *v)
{
    const store_schema *sc = &v->tv_schema;
    store_ping_type ping = v->tv_has_schema ? sc->sc_ping_type : STORE_PING_FULL;
    char what[160];
    jb_printf(b, "%s (parent %s, child %s)\n", v->tv_name,
              hs_object(v->tv_table.t_parent)->oi_plural,
              hs_object(v->tv_table.t_child)->oi_plural);
    if (v->tv_has_schema) {
        jb_printf(b,
                  "  table_options:  ping_type %s, supports_roll_up %s, "
                  "rollup_fields_object_id %s\n",
                  store_ping_type_name(sc->sc_ping_type),
                  sc->sc_supports_roll_up ? "true" : "false", sc->sc_rollup_fields_object_id);
        jb_lit(b, "  rollup labels: ");
        if (sc->sc_nrollup_field_labels == 0)
            jb_lit(b, " none");
        for (size_t i = 0; i < sc->sc_nrollup_field_labels; i++)
            jb_printf(b, "%s %s", i ? "," : "", sc->sc_rollup_field_labels[i]);
        jb_char(b, '\n');
    } else {
        jb_lit(b, "  table_options:  none (setup never ran for this table: run `hubsync setup`; "
                  "a run would use read_full_ping)\n");
    }
    const store_cursor *cu = &v->tv_state.ss_cursor;
    jb_printf(b, "  cursor:         %s", store_cursor_kind_name(cu->cu_kind));
    if (cu->cu_kind == STORE_CURSOR_OBJECT_ID)
        jb_printf(b, " %" PRIu64, cu->cu_object_id);
    else if (cu->cu_kind == STORE_CURSOR_TIMESTAMP_MS)
        jb_printf(b, " %" PRId64, cu->cu_timestamp_ms);
    jb_printf(b, ": %s\n", route_describe(ping, cu, what, sizeof(what)));
    const store_schema *known = v->tv_has_schema ? sc : NULL;
    const char *why = route_reason(known, &v->tv_state);
    jb_printf(b, "  next run:       %s%s%s%s\n", store_route_name(route_next(known, &v->tv_state)),
              why ? " (" : "", why ? why : "", why ? ")" : "");
    verify_text(b, &v->tv_state);
    if (v->tv_state.ss_scan_started_ms > 0) {
        char iso[32];
        fmt_iso8601_ms(iso, v->tv_state.ss_scan_started_ms);
        jb_printf(b, "  scan started:   %s\n", iso);
    }
    jb_printf(b, "  associations:   %" PRIu64 "\n", v->tv_assoc);
    last_run_text(b, &v->tv_state, 2);
}

static void table_json(jbuf *b, const table_view *v)
{
    store_ping_type ping = v->tv_has_schema ? v->tv_schema.sc_ping_type : STORE_PING_FULL;
    jb_lit(b, "{\"table\":");
    jb_str(b, v->tv_name);
    jb_lit(b, ",\"parent\":");
    jb_str(b, hs_object(v->tv_table.t_parent)->oi_plural);
    jb_lit(b, ",\"child\":");
    jb_str(b, hs_object(v->tv_table.t_child)->oi_plural);
    jb_lit(b, ",\"table_options\":");
    if (v->tv_has_schema)
        schema_json(b, &v->tv_schema);
    else
        jb_lit(b, "null");
    jb_lit(b, ",\"cursor\":");
    cursor_json(b, ping, &v->tv_state.ss_cursor, true);
    const store_schema *known = v->tv_has_schema ? &v->tv_schema : NULL;
    const char *why = route_reason(known, &v->tv_state);
    jb_lit(b, ",\"next_route\":");
    jb_str(b, store_route_name(route_next(known, &v->tv_state)));
    jb_lit(b, ",\"next_route_reason\":");
    if (why)
        jb_str(b, why);
    else
        jb_lit(b, "null");
    jb_lit(b, ",\"verification\":");
    verify_json(b, &v->tv_state);
    jb_lit(b, ",\"scan_started_ms\":");
    if (v->tv_state.ss_scan_started_ms > 0)
        jb_i64(b, v->tv_state.ss_scan_started_ms);
    else
        jb_lit(b, "null");
    jb_lit(b, ",\"associations\":");
    jb_u64(b, v->tv_assoc);
    jb_lit(b, ",\"runs\":");
    jb_u64(b, v->tv_state.ss_runs);
    jb_lit(b, ",\"last_run\":");
    last_run_json(b, &v->tv_state);
    jb_char(b, '}');
}

/* One object type's count and sync state. */
static int object_view(store_txn *t, hs_object_type type, bool json, bool first, jbuf *b,
                       err_info *e)
{
    char name[STORE_NAME_MAX];
    uint64_t count = 0;
    store_state st;
    snprintf(name, sizeof(name), "objects.%s", hs_object(type)->oi_plural);
    int rc = store_count_objects(t, type, &count, e);
    if (rc == 0 && (rc = store_get_state(t, name, &st, e)) == ERR_CORRUPT)
        record_damaged(e, name, false);
    if (rc)
        return err_wrap(e, "%s: ", name);
    if (json) {
        if (!first)
            jb_char(b, ',');
        jb_lit(b, "{\"type\":");
        jb_str(b, hs_object(type)->oi_plural);
        jb_lit(b, ",\"count\":");
        jb_u64(b, count);
        jb_lit(b, ",\"cursor\":");
        cursor_json(b, STORE_PING_FULL, &st.ss_cursor, false);
        jb_lit(b, ",\"runs\":");
        jb_u64(b, st.ss_runs);
        jb_lit(b, ",\"last_run\":");
        last_run_json(b, &st);
        jb_char(b, '}');
        return 0;
    }
    jb_printf(b, "  %-15s %" PRIu64 " stored; cursor %s", hs_object(type)->oi_plural, count,
              store_cursor_kind_name(st.ss_cursor.cu_kind));
    if (st.ss_cursor.cu_kind == STORE_CURSOR_OBJECT_ID) {
        jb_printf(b, " %" PRIu64, st.ss_cursor.cu_object_id);
    } else if (st.ss_cursor.cu_kind == STORE_CURSOR_TIMESTAMP_MS) {
        char iso[32];
        fmt_iso8601_ms(iso, st.ss_cursor.cu_timestamp_ms);
        jb_printf(b, " %" PRId64 " (%s)", st.ss_cursor.cu_timestamp_ms, iso);
    }
    jb_char(b, '\n');
    last_run_text(b, &st, 4);
    return 0;
}

int cmd_status(const hubsync_config *c)
{
    store_options so = {.so_readonly = true};
    store *s = NULL;
    store_txn *t = NULL;
    err_info e = {0};
    jbuf b;
    table_view v;
    int rc;
    jb_init(&b);
    store_schema_init(&v.tv_schema);
    if ((rc = store_open(c->c_db_dir, &so, &s, &e)) != 0) {
        if (rc == ERR_NOT_FOUND)
            cmd_error(c,
                      "status: no hubsync database in %s (run `hubsync setup` first, or "
                      "check --db / HUBSYNC_DB)",
                      c->c_db_dir);
        else
            cmd_error(c, "status: %s", e.ei_msg);
        rc = cmd_exit_code(rc);
        goto out;
    }
    if ((rc = store_txn_begin(s, STORE_TXN_READ, &t, &e)) != 0)
        goto failed;
    store_feed_info fi;
    char writer[128];
    if ((rc = store_feed_read_info(t, &fi, &e)) != 0 ||
        (rc = store_written_by(t, writer, sizeof(writer), &e)) != 0)
        goto failed;
    if (c->c_json) {
        jb_printf(&b, "{\"version\":\"%s\",\"written_by\":", hs_version());
        jb_str(&b, writer);
        jb_lit(&b, ",\"db\":");
        jb_str(&b, c->c_db_dir);
        jb_printf(&b, ",\"latest_run\":%llu,\"changes_kept_from_run\":%llu,\"tables\":[",
                  (unsigned long long)fi.fi_latest_run, (unsigned long long)fi.fi_oldest_run);
    } else {
        jb_printf(&b, "database: %s (last written by hubsync %s)\n", c->c_db_dir,
                  writer[0] ? writer : "of an older version");
        jb_printf(&b, "latest run: %llu (changes kept from run %llu: export --changes-since)\n",
                  (unsigned long long)fi.fi_latest_run, (unsigned long long)fi.fi_oldest_run);
    }
    bool types[HS_OBJECT_TYPE_COUNT] = {false};
    for (int i = 0; i < c->c_ntables; i++) {
        memset(&v.tv_state, 0, sizeof(v.tv_state));
        if ((rc = read_table(t, c->c_tables[i], &v, &e)) != 0)
            goto failed;
        types[c->c_tables[i].t_parent] = types[c->c_tables[i].t_child] = true;
        if (c->c_json) {
            if (i)
                jb_char(&b, ',');
            table_json(&b, &v);
        } else {
            table_text(&b, &v);
        }
        store_schema_free(&v.tv_schema);
    }
    if (c->c_json)
        jb_lit(&b, "],\"objects\":[");
    else
        jb_lit(&b, "objects:\n");
    bool first = true;
    for (int type = 0; type < HS_OBJECT_TYPE_COUNT; type++) {
        if (!types[type])
            continue;
        if ((rc = object_view(t, (hs_object_type)type, c->c_json, first, &b, &e)) != 0)
            goto failed;
        first = false;
    }
    if (c->c_json)
        jb_lit(&b, "]}\n");
    store_txn_abort(t); /* a read snapshot: nothing to commit */
    t = NULL;
    if (!jb_ok(&b)) {
        cmd_error(c, "status: out of memory");
        rc = EXIT_INCOMPLETE;
        goto out;
    }
    fwrite(jb_cstr(&b), 1, b.jb_len, stdout);
    rc = EXIT_OK;
    goto out;
failed:
    cmd_error(c, "status: %s", e.ei_msg);
    rc = cmd_exit_code(rc);
out:
    store_schema_free(&v.tv_schema);
    store_txn_abort(t);
    store_close(s);
    jb_free(&b);
    return rc;
}
