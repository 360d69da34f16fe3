/*
 * cmd_doctor — `hubsync doctor`: the reference design's "Debugging CDC Boost
 * Setup" made a command.
 *
 *   Step 1  read each parent's properties from HubSpot (one call per type)
 *   Step 2  read the stored table_options of every selected table
 *   Step 3  compare: supports_roll_up true iff rollup fields exist;
 *           rollup_field_labels = the labels in HubSpot; rollup_fields_object_id
 *           = the alphabetically first object; ping_type to match
 *   Step 4  print each mismatch with its fix (mostly: `hubsync setup`, the
 *           "re-save"), and notes on properties that look like rollup fields
 *           but cannot count (wrong object, wrong order, engagement tables)
 *
 * "Agree" means: the stored schema is exactly what `hubsync setup` would
 * store now (rollup_detect, shared with setup). Read-only: the store is
 * opened as a reader and closed before any HTTP, so doctor runs beside a sync.
 * Exit 0 when every table agrees, 1 when one does not.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/jbuf.h"
#include "commands.h"

enum { MAX_PROBLEMS = 8, MAX_NOTES = 12, FINDING_MAX = 640 };

typedef struct finding {
    char f_problem[FINDING_MAX];
    char f_fix[FINDING_MAX];
} finding;

typedef struct doctor_row {
    hs_table dr_table;
    char dr_name[64];
    bool dr_has_schema;
    store_schema dr_stored;
    store_schema dr_expected;
    size_t dr_ignored; /* labels on an engagement table */
    finding dr_problems[MAX_PROBLEMS];
    int dr_nproblems;
    char dr_notes[MAX_NOTES][FINDING_MAX];
    int dr_nnotes, dr_notes_dropped;
} doctor_row;

static void problem(doctor_row *row, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(doctor_row *row, const char *fix, const char *fmt, ...)
{
    if (row->dr_nproblems == MAX_PROBLEMS)
        return;
    finding *f = &row->dr_problems[row->dr_nproblems++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->f_problem, sizeof(f->f_problem), fmt, ap);
    va_end(ap);
    snprintf(f->f_fix, sizeof(f->f_fix), "%s", fix);
}

static void note(doctor_row *row, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(doctor_row *row, const char *fmt, ...)
{
    if (row->dr_nnotes == MAX_NOTES) {
        row->dr_notes_dropped++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(row->dr_notes[row->dr_nnotes++], FINDING_MAX, fmt, ap);
    va_end(ap);
}

/* Appends "a, b, c" (at most `max` labels, then "and N more") to buf. */
static void list_labels(char *buf, size_t size, char *const *labels, size_t n)
{
    size_t used = strlen(buf);
    for (size_t i = 0; i < n && used < size; i++) {
        int w = i < 4 ? snprintf(buf + used, size - used, "%s%s", i ? ", " : "", labels[i])
                      : snprintf(buf + used, size - used, " and %zu more", n - i);
        if (w < 0)
            break;
        used += (size_t)w;
        if (i >= 4)
            break;
    }
}

/* Labels of `a` that are not in `b` (both sorted), as text. */
static void label_diff(char *buf, size_t size, const store_schema *a, const store_schema *b)
{
    char **only = calloc(a->sc_nrollup_field_labels + 1, sizeof(*only));
    size_t n = 0;
    buf[0] = '\0';
    if (!only)
        return;
    for (size_t i = 0; i < a->sc_nrollup_field_labels; i++) {
        bool found = false;
        for (size_t k = 0; k < b->sc_nrollup_field_labels && !found; k++)
            found = strcmp(a->sc_rollup_field_labels[i], b->sc_rollup_field_labels[k]) == 0;
        if (!found)
            only[n++] = a->sc_rollup_field_labels[i];
    }
    list_labels(buf, size, only, n);
    free(only);
}

/* Step 3 for one table: the stored schema against what setup would store. */
static void compare(doctor_row *row)
{
    const store_schema *st = &row->dr_stored, *ex = &row->dr_expected;
    hs_table t = row->dr_table;
    const char *parent = hs_object(t.t_parent)->oi_plural;
    char prefix[128], labels[FINDING_MAX / 2];
    rollup_prefix(t, prefix, sizeof(prefix));
    static const char *const resetup = "run `hubsync setup` to re-detect";

    if (!row->dr_has_schema) {
        problem(row, "run `hubsync setup`",
                "no table_options stored: setup never ran for this table (a run would use "
                "read_full_ping)");
        return;
    }
    if (strcmp(st->sc_rollup_fields_object_id, ex->sc_rollup_fields_object_id) != 0)
        problem(row, resetup,
                "rollup_fields_object_id is '%s'; it must be '%s', the alphabetically first "
                "object of the table",
                st->sc_rollup_fields_object_id, ex->sc_rollup_fields_object_id);
    if (hs_table_is_engagement(t)) {
        if (st->sc_supports_roll_up || st->sc_ping_type != STORE_PING_FULL ||
            st->sc_nrollup_field_labels)
            problem(row, "run `hubsync setup` (it stores read_full_ping for engagement tables)",
                    "table_options say supports_roll_up %s, ping_type %s, %zu rollup label(s), "
                    "but engagement tables can't use rollups (HubSpot has no rollup properties "
                    "on calls, emails, meetings, notes, tasks, communications, postal_mail)",
                    st->sc_supports_roll_up ? "true" : "false",
                    store_ping_type_name(st->sc_ping_type), st->sc_nrollup_field_labels);
        return;
    }
    bool in_hubspot = ex->sc_nrollup_field_labels > 0;
    labels[0] = '\0';
    if (in_hubspot && !st->sc_supports_roll_up) {
        list_labels(labels, sizeof(labels), ex->sc_rollup_field_labels,
                    ex->sc_nrollup_field_labels);
        problem(row, "run `hubsync setup` to re-detect (the table then uses read_incremental_ping)",
                "HubSpot has %zu rollup field(s) on %s (%s) but supports_roll_up is false: they "
                "were created after the last setup",
                ex->sc_nrollup_field_labels, parent, labels);
    } else if (!in_hubspot && st->sc_supports_roll_up) {
        char fix[FINDING_MAX];
        snprintf(fix, sizeof(fix),
                 "labels must start with %s (on %s): restore or rename them in HubSpot, or run "
                 "`hubsync setup` to re-detect (the table then uses read_full_ping)",
                 prefix, parent);
        problem(row, fix,
                "supports_roll_up is true but no property on %s has a label starting with %s "
                "(deleted or renamed?): an incremental run would miss association changes",
                parent, prefix);
    } else if (in_hubspot) {
        char missing[FINDING_MAX / 2], gone[FINDING_MAX / 2];
        label_diff(missing, sizeof(missing), ex, st);
        label_diff(gone, sizeof(gone), st, ex);
        if (missing[0] || gone[0])
            problem(row, resetup, "rollup_field_labels differ from HubSpot:%s%s%s%s",
                    missing[0] ? " in HubSpot but not stored: " : "", missing,
                    gone[0] ? (missing[0] ? "; stored but not in HubSpot: "
                                          : " stored but not in HubSpot: ")
                            : "",
                    gone);
    }
    if (st->sc_ping_type != ex->sc_ping_type && st->sc_supports_roll_up == ex->sc_supports_roll_up)
        problem(row, resetup, "ping_type is %s; with supports_roll_up %s it must be %s",
                store_ping_type_name(st->sc_ping_type), st->sc_supports_roll_up ? "true" : "false",
                store_ping_type_name(ex->sc_ping_type));
    if (row->dr_nproblems == 0 && !schema_equal(st, ex))
        problem(row, resetup, "table_options differ from what setup would store now");
}

/* Step 4's notes: labels that look meant for a selected table but cannot
 * count (reference, Common Issues 3). A label counts for table {a}_{b} only
 * on a, starting with sync_associations_{a}_{b}_label_, byte for byte. */
static void near_misses(const hubsync_config *c, const parent_props *pp, doctor_row *rows)
{
    static const char lead[] = "sync_associations_";
    const size_t lead_len = sizeof(lead) - 1;
    for (int type = 0; type < HS_OBJECT_TYPE_COUNT; type++) {
        if (!pp->pp_have[type])
            continue;
        const hs_properties *ps = &pp->pp_props[type];
        for (size_t i = 0; i < ps->ps_count; i++) {
            const char *label = hs_property_label(ps, i);
            if (strncasecmp(label, lead, lead_len) != 0)
                continue;
            const char *rest = label + lead_len;
            for (int k = 0; k < c->c_ntables; k++) {
                doctor_row *row = &rows[k];
                hs_table t = row->dr_table;
                const char *a = hs_object(t.t_parent)->oi_plural;
                const char *b = hs_object(t.t_child)->oi_plural;
                char ab[64], ba[64], prefix[128];
                size_t abn = (size_t)snprintf(ab, sizeof(ab), "%s_%s_", a, b);
                size_t ban = (size_t)snprintf(ba, sizeof(ba), "%s_%s_", b, a);
                size_t pn = rollup_prefix(t, prefix, sizeof(prefix));
                if (strncasecmp(rest, ab, abn) != 0 && strncasecmp(rest, ba, ban) != 0)
                    continue;
                bool exact = strncmp(label, prefix, pn) == 0;
                if (hs_table_is_engagement(t)) {
                    note(row,
                         "%s has a property labelled %s: ignored, engagement tables can't use "
                         "rollups",
                         hs_object((hs_object_type)type)->oi_plural, label);
                    continue;
                }
                if (exact && (hs_object_type)type == t.t_parent)
                    continue; /* a rollup field, counted by rollup_detect */
                note(row,
                     "%s has a property labelled %s: not used; rollup fields for %s must be on %s "
                     "with labels starting with %s",
                     hs_object((hs_object_type)type)->oi_plural, label, row->dr_name, a, prefix);
            }
        }
    }
}

/* Step 2: the stored schemas (none at all when there is no database). */
static int read_stored(const hubsync_config *c, doctor_row *rows, bool *have_db)
{
    store_options so = {.so_readonly = true};
    store *s = NULL;
    store_txn *t = NULL;
    err_info e = {0};
    int rc = store_open(c->c_db_dir, &so, &s, &e);
    *have_db = rc == 0;
    if (rc == ERR_NOT_FOUND)
        return 0;
    if (rc == 0 && (rc = store_txn_begin(s, STORE_TXN_READ, &t, &e)) == 0) {
        for (int i = 0; i < c->c_ntables && rc == 0; i++) {
            rc = store_get_schema(t, rows[i].dr_table, &rows[i].dr_stored, &e);
            rows[i].dr_has_schema = rc == 0;
            if (rc == ERR_NOT_FOUND)
                rc = 0;
            if (rc == ERR_CORRUPT)
                record_damaged(&e, rows[i].dr_name, true);
            if (rc)
                err_wrap(&e, "%s: ", rows[i].dr_name);
        }
    }
    store_txn_abort(t);
    store_close(s);
    if (rc) {
        cmd_error(c, "doctor: %s", e.ei_msg);
        return cmd_exit_code(rc);
    }
    return 0;
}

static void print_text(const hubsync_config *c, const doctor_row *rows, bool have_db,
                       unsigned long long calls, int nbad)
{
    jbuf b;
    jb_init(&b);
    jb_printf(&b, "doctor: HubSpot's rollup fields (%llu API call%s) against %s%s\n", calls,
              calls == 1 ? "" : "s", c->c_db_dir,
              have_db ? "" : " (no database there: setup never ran)");
    for (int i = 0; i < c->c_ntables; i++) {
        const doctor_row *row = &rows[i];
        const store_schema *ex = &row->dr_expected;
        if (row->dr_nproblems == 0)
            jb_printf(&b, "%s: ok (%s; %zu rollup field%s on %s)\n", row->dr_name,
                      store_ping_type_name(ex->sc_ping_type), ex->sc_nrollup_field_labels,
                      ex->sc_nrollup_field_labels == 1 ? "" : "s",
                      hs_object(row->dr_table.t_parent)->oi_plural);
        else
            jb_printf(&b, "%s: MISMATCH\n", row->dr_name);
        for (int k = 0; k < row->dr_nproblems; k++)
            jb_printf(&b, "    problem: %s\n    fix: %s\n", row->dr_problems[k].f_problem,
                      row->dr_problems[k].f_fix);
        for (int k = 0; k < row->dr_nnotes; k++)
            jb_printf(&b, "    note: %s\n", row->dr_notes[k]);
        if (row->dr_notes_dropped)
            jb_printf(&b, "    note: … and %d more like these\n", row->dr_notes_dropped);
    }
    if (nbad == 0) {
        jb_printf(&b, "doctor: all %d table%s agree with HubSpot\n", c->c_ntables,
                  c->c_ntables == 1 ? "" : "s");
    } else {
        jb_printf(&b, "doctor: %d of %d table%s disagree with HubSpot:", nbad, c->c_ntables,
                  c->c_ntables == 1 ? "" : "s");
        for (int i = 0, k = 0; i < c->c_ntables; i++)
            if (rows[i].dr_nproblems)
                jb_printf(&b, "%s %s", k++ ? "," : "", rows[i].dr_name);
        jb_lit(&b, "\n");
    }
    fwrite(jb_cstr(&b), 1, b.jb_len, stdout);
    jb_free(&b);
}

static void print_json(const hubsync_config *c, const doctor_row *rows, bool have_db,
                       unsigned long long calls, int nbad)
{
    jbuf b;
    jb_init(&b);
    jb_lit(&b, "{\"db\":");
    jb_str(&b, c->c_db_dir);
    jb_lit(&b, ",\"database_found\":");
    if (have_db)
        jb_lit(&b, "true");
    else
        jb_lit(&b, "false");
    jb_lit(&b, ",\"api_calls\":");
    jb_u64(&b, calls);
    jb_lit(&b, ",\"ok\":");
    if (nbad == 0)
        jb_lit(&b, "true");
    else
        jb_lit(&b, "false");
    jb_lit(&b, ",\"tables\":[");
    for (int i = 0; i < c->c_ntables; i++) {
        const doctor_row *row = &rows[i];
        if (i)
            jb_char(&b, ',');
        jb_lit(&b, "{\"table\":");
        jb_str(&b, row->dr_name);
        jb_lit(&b, ",\"status\":");
        if (row->dr_nproblems)
            jb_lit(&b, "\"mismatch\"");
        else
            jb_lit(&b, "\"ok\"");
        jb_lit(&b, ",\"expected\":");
        schema_json(&b, &row->dr_expected);
        jb_lit(&b, ",\"stored\":");
        if (row->dr_has_schema)
            schema_json(&b, &row->dr_stored);
        else
            jb_lit(&b, "null");
        jb_lit(&b, ",\"problems\":[");
        for (int k = 0; k < row->dr_nproblems; k++) {
            if (k)
                jb_char(&b, ',');
            jb_lit(&b, "{\"problem\":");
            jb_str(&b, row->dr_problems[k].f_problem);
            jb_lit(&b, ",\"fix\":");
            jb_str(&b, row->dr_problems[k].f_fix);
            jb_char(&b, '}');
        }
        jb_lit(&b, "],\"notes\":[");
        for (int k = 0; k < row->dr_nnotes; k++) {
            if (k)
                jb_char(&b, ',');
            jb_str(&b, row->dr_notes[k]);
        }
        jb_lit(&b, "]}");
    }
    jb_lit(&b, "]}\n");
    fwrite(jb_cstr(&b), 1, b.jb_len, stdout);
    jb_free(&b);
}

int cmd_doctor(const hubsync_config *c)
{
    parent_props pp;
    doctor_row *rows = calloc((size_t)c->c_ntables, sizeof(*rows));
    err_info e = {0};
    bool have_db = false;
    int rc = 0, nbad = 0;
    parent_props_init(&pp);
    if (!rows) {
        cmd_error(c, "doctor: out of memory");
        rc = EXIT_INCOMPLETE;
        goto out;
    }
    for (int i = 0; i < c->c_ntables; i++) {
        rows[i].dr_table = c->c_tables[i];
        hs_table_name(rows[i].dr_table, rows[i].dr_name, sizeof(rows[i].dr_name));
        store_schema_init(&rows[i].dr_stored);
        store_schema_init(&rows[i].dr_expected);
    }
    if ((rc = read_stored(c, rows, &have_db)) != 0 || (rc = parent_props_fetch(c, &pp)) != 0)
        goto out;
    for (int i = 0; i < c->c_ntables; i++) {
        doctor_row *row = &rows[i];
        if (rollup_detect(&pp, row->dr_table, &row->dr_expected, &row->dr_ignored, &e) != 0) {
            cmd_error(c, "doctor: %s: %s", row->dr_name, e.ei_msg);
            rc = EXIT_INCOMPLETE;
            goto out;
        }
        compare(row);
    }
    near_misses(c, &pp, rows);
    for (int i = 0; i < c->c_ntables; i++)
        nbad += rows[i].dr_nproblems > 0;
    if (c->c_json)
        print_json(c, rows, have_db, pp.pp_api_calls, nbad);
    else
        print_text(c, rows, have_db, pp.pp_api_calls, nbad);
    rc = nbad ? EXIT_INCOMPLETE : EXIT_OK;
out:
    if (rows)
        for (int i = 0; i < c->c_ntables; i++) {
            store_schema_free(&rows[i].dr_stored);
            store_schema_free(&rows[i].dr_expected);
        }
    free(rows);
    parent_props_free(&pp);
    return rc;
}
