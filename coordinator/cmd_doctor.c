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
 *           but cannot count (not a rollup property, wrong object, wrong
 *           order, engagement tables)
 *   Step 5  for each table with rollup fields, read the pair's association
 *           labels (one call per table) and warn when labels defined by
 *           users or integrations exist but no rollup field counts one:
 *           a relabel then changes no rollup value, so the parent's
 *           last-modified time stays and incremental runs never see it
 *   Step 6  compare this machine's clock with HubSpot's, by the Date of
 *           those answers (skew.h): one that runs ahead makes every run
 *           hold its cursors back, and wants setting right
 *
 * "Agree" means: the stored schema is exactly what `hubsync setup` would
 * store now (rollup_detect, shared with setup). Read-only: the store is
 * opened as a reader and closed before any HTTP, so doctor runs beside a sync.
 * Exit 0 when every table agrees, 1 when one does not; warnings and notes
 * do not change it (nothing setup could store would fix them).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/hubspot/hs_paths.h"
#include "../common/base/jbuf.h"
#include "api_get.h"
#include "commands.h"
#include "rollup.h"
#include "route.h"

enum { MAX_PROBLEMS = 8, MAX_WARNINGS = 2, MAX_NOTES = 12, FINDING_MAX = 640 };

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
    size_t dr_ignored;               /* labels on an engagement table */
    rollup_lookalike *dr_lookalikes; /* matching labels that are not rollups */
    size_t dr_nlookalikes;
    hs_assoc_labels dr_labels; /* the pair's association labels (step 5) */
    bool dr_has_labels;
    finding dr_problems[MAX_PROBLEMS];
    int dr_nproblems;
    finding dr_warnings[MAX_WARNINGS]; /* f_problem holds the warning */
    int dr_nwarnings;
    char dr_notes[MAX_NOTES][FINDING_MAX];
    int dr_nnotes, dr_notes_dropped;
} doctor_row;

/* Fills f with the message fmt… and its fix. */
static void vfinding(finding *f, const char *fix, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void vfinding(finding *f, const char *fix, const char *fmt, va_list ap)
{
    vsnprintf(f->f_problem, sizeof(f->f_problem), fmt, ap);
    snprintf(f->f_fix, sizeof(f->f_fix), "%s", fix);
}

static void problem(doctor_row *row, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(doctor_row *row, const char *fix, const char *fmt, ...)
{
    if (row->dr_nproblems == MAX_PROBLEMS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfinding(&row->dr_problems[row->dr_nproblems++], fix, fmt, ap);
    va_end(ap);
}

static void warning(doctor_row *row, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warning(doctor_row *row, const char *fix, const char *fmt, ...)
{
    if (row->dr_nwarnings == MAX_WARNINGS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfinding(&row->dr_warnings[row->dr_nwarnings++], fix, fmt, ap);
    va_end(ap);
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

/* Appends "a, b, c" (at most four labels, then "and N more") to buf. */
static void list_labels(char *buf, size_t size, const char *const *labels, size_t n)
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
    const char **only = calloc(a->sc_nrollup_field_labels + 1, sizeof(*only));
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
        char types[160];
        if (st->sc_supports_roll_up || st->sc_ping_type != STORE_PING_FULL ||
            st->sc_nrollup_field_labels)
            problem(row, "run `hubsync setup` (it stores read_full_ping for engagement tables)",
                    "table_options say supports_roll_up %s, ping_type %s, %zu rollup label(s), "
                    "but engagement tables can't use rollups (HubSpot has no rollup properties "
                    "on %s)",
                    st->sc_supports_roll_up ? "true" : "false",
                    store_ping_type_name(st->sc_ping_type), st->sc_nrollup_field_labels,
                    hs_object_names(types, sizeof(types), true, ", "));
        return;
    }
    bool in_hubspot = ex->sc_nrollup_field_labels > 0;
    labels[0] = '\0';
    if (in_hubspot && !st->sc_supports_roll_up) {
        list_labels(labels, sizeof(labels), (const char *const *)ex->sc_rollup_field_labels,
                    ex->sc_nrollup_field_labels);
        problem(row, "run `hubsync setup` to re-detect (the table then uses read_incremental_ping)",
                "HubSpot has %zu rollup field(s) on %s (%s) but supports_roll_up is false: they "
                "were created after the last setup",
                ex->sc_nrollup_field_labels, parent, labels);
    } else if (!in_hubspot && st->sc_supports_roll_up && row->dr_nlookalikes) {
        bool one = row->dr_nlookalikes == 1;
        char fix[FINDING_MAX];
        snprintf(fix, sizeof(fix),
                 "make %s rollup propert%s in HubSpot (type number, fieldType "
                 "calculation_rollup), or run `hubsync setup` to re-detect (the table then uses "
                 "read_full_ping)",
                 one ? "it a" : "them", one ? "y" : "ies");
        problem(row, fix,
                "supports_roll_up is true but no rollup property on %s has a label starting with "
                "%s: the %zu propert%s with such a label %s (see the notes): an incremental run "
                "would miss association changes",
                parent, prefix, row->dr_nlookalikes, one ? "y" : "ies",
                one ? "is not a rollup property" : "are not rollup properties");
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

/* Step 4's notes on the table's look-alikes: a matching label on the right
 * object whose property is not a rollup (rollup_lookalikes says why). */
static void lookalike_notes(doctor_row *row)
{
    const char *parent = hs_object(row->dr_table.t_parent)->oi_plural;
    for (size_t i = 0; i < row->dr_nlookalikes; i++) {
        const rollup_lookalike *l = &row->dr_lookalikes[i];
        note(row,
             "%s has a property labelled %s (%s): ignored, %s: not a rollup property (rollup "
             "fields are type number, fieldType calculation_rollup)",
             parent, l->rl_label, l->rl_name, l->rl_reason);
    }
}

/* Step 5: does any rollup field of the table count the associations of a
 * label users or integrations defined? A relabel (an association's labels
 * change, the association stays) leaves a rollup counting all associations
 * as it was, so the parent's last-modified time does not move and the
 * incremental search cannot find it; only a rollup counting that label's
 * associations changes. HubSpot's own labels (Primary) are left out: they
 * follow the record's primary association, not a user's relabel. */
static void relabel_findings(doctor_row *row, const char **unwatched, char (*ids)[24])
{
    const store_schema *ex = &row->dr_expected;
    const hs_assoc_labels *ls = &row->dr_labels;
    hs_table t = row->dr_table;
    size_t nuser = 0, nintegrator = 0, nunwatched = 0;
    for (size_t i = 0; i < ls->ls_count; i++) {
        const hs_assoc_label *l = &ls->ls_items[i];
        if (l->al_category != ASSOC_USER_DEFINED && l->al_category != ASSOC_INTEGRATOR_DEFINED)
            continue;
        nuser += l->al_category == ASSOC_USER_DEFINED;
        nintegrator += l->al_category == ASSOC_INTEGRATOR_DEFINED;
        const char *name = hs_assoc_label_name(ls, i);
        if (rollup_watches_label(ex, t, name, l->al_type_id))
            continue;
        if (!name) {
            snprintf(ids[nunwatched], sizeof(ids[nunwatched]), "type %ld", (long)l->al_type_id);
            name = ids[nunwatched];
        }
        unwatched[nunwatched++] = name;
    }
    size_t nlabels = nuser + nintegrator;
    if (nunwatched == 0)
        return;
    const char *a = hs_object(t.t_parent)->oi_plural, *b = hs_object(t.t_child)->oi_plural;
    char names[FINDING_MAX / 3] = "", kinds[96];
    list_labels(names, sizeof(names), unwatched, nunwatched);
    if (nunwatched < nlabels) {
        note(row,
             "relabels to or from %s are not seen by incremental runs: no rollup field on %s "
             "counts %s (only verification sees them)",
             names, a, nunwatched == 1 ? "it" : "them");
        return;
    }
    if (nuser && nintegrator)
        snprintf(kinds, sizeof(kinds), "%zu user-defined and %zu integrator-defined", nuser,
                 nintegrator);
    else
        snprintf(kinds, sizeof(kinds), "%zu %s", nlabels,
                 nuser ? "user-defined" : "integrator-defined");
    /* What the rollup fields are, for the message: those meant to count one
     * label (any suffix but count) name none of the pair's. */
    const char **other = calloc(ex->sc_nrollup_field_labels + 1, sizeof(*other));
    size_t nother = 0;
    for (size_t i = 0; other && i < ex->sc_nrollup_field_labels; i++) {
        const char *suffix = rollup_label_suffix(t, ex->sc_rollup_field_labels[i]);
        if (suffix && strcmp(suffix, "count") != 0)
            other[nother++] = suffix;
    }
    char why[FINDING_MAX / 3] = "";
    if (nother) {
        snprintf(why, sizeof(why), "its rollup fields with a suffix other than `count` (");
        list_labels(why, sizeof(why), other, nother);
        size_t used = strlen(why);
        snprintf(why + used, sizeof(why) - used, ") name none of them");
    } else {
        snprintf(why, sizeof(why), "its only rollup field counts every association (`count`)");
    }
    free(other);
    char example[96], fix[FINDING_MAX];
    if (!rollup_suffix_for_label(unwatched[0], example, sizeof(example)))
        snprintf(example, sizeof(example), "%s", "{label}");
    snprintf(fix, sizeof(fix),
             "to see relabels incrementally, create on %s a rollup property per label counting "
             "the associations with that label, labelled sync_associations_%s_%s_label_{label} "
             "(e.g. sync_associations_%s_%s_label_%s), then run `hubsync setup`; until then only "
             "verification (`hubsync run --verify-fraction F`) sees them",
             a, a, b, a, b, example);
    warning(row, fix,
            "relabels are not watched: %s→%s has %s association label%s (%s) but %s: a relabel "
            "changes no rollup value, so the parent's last-modified time stays and incremental "
            "runs do not see it",
            a, b, kinds, nlabels == 1 ? "" : "s", names, why);
}

/* Step 5 for one table whose labels were read. */
static void relabel_check(doctor_row *row)
{
    if (!row->dr_has_labels)
        return;
    size_t n = row->dr_labels.ls_count + 1;
    const char **unwatched = calloc(n, sizeof(*unwatched));
    char(*ids)[24] = calloc(n, sizeof(*ids)); /* "type N" for a label without a name */
    if (unwatched && ids)
        relabel_findings(row, unwatched, ids);
    else
        note(row, "out of memory: relabels not checked");
    free(unwatched);
    free(ids);
}

/* Step 5's reads: GET /crm/v4/associations/{a}/{b}/labels for each
 * non-engagement table with rollup fields in HubSpot, in parallel. */
static int fetch_labels(const hubsync_config *c, shm_region *region, doctor_row *rows,
                        unsigned long long *calls)
{
    hs_table *tables = calloc((size_t)c->c_ntables + 1, sizeof(*tables));
    hs_assoc_labels *out = calloc((size_t)c->c_ntables + 1, sizeof(*out));
    bool *done = calloc((size_t)c->c_ntables + 1, sizeof(*done));
    doctor_row **of = calloc((size_t)c->c_ntables + 1, sizeof(*of));
    size_t n = 0;
    int rc = 0;
    if (!tables || !out || !done || !of) {
        cmd_error(c, "doctor: out of memory");
        rc = EXIT_INCOMPLETE;
        goto out;
    }
    for (int i = 0; i < c->c_ntables; i++) {
        doctor_row *row = &rows[i];
        if (hs_table_is_engagement(row->dr_table) || row->dr_expected.sc_nrollup_field_labels == 0)
            continue;
        tables[n] = row->dr_table;
        out[n] = row->dr_labels; /* initialised by the caller; moved back below */
        of[n++] = row;
    }
    rc = labels_fetch(c, region, tables, n, out, done, calls);
    for (size_t k = 0; k < n; k++) {
        of[k]->dr_labels = out[k];
        of[k]->dr_has_labels = done[k];
    }
out:
    free(tables);
    free(out);
    free(done);
    free(of);
    return rc;
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
                    continue; /* a rollup field (rollup_detect) or a look-alike */
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

/* Step 6: what the Date of HubSpot's answers said of this machine's clock
 * (skew.h): one that runs ahead makes every run hold its cursors back. */
static void clock_text(jbuf *b, skew_est *k)
{
    int64_t low, high, ahead = skew_hold_back_ms(k);
    if (!skew_bounds(k, &low, &high))
        jb_lit(b, "doctor: clock: no answer was dated (no Date header): not compared\n");
    else if (ahead > 0)
        jb_printf(b,
                  "doctor: clock: this machine's runs at least %.1f s ahead of HubSpot's (the "
                  "Date of its answers): runs hold their cursors back by as much, so no change is "
                  "missed; set the clock right (NTP)\n",
                  (double)ahead / 1000.0);
    else if (low > SKEW_DATE_RESOLUTION_MS)
        jb_printf(b,
                  "doctor: clock: HubSpot's runs at least %.1f s ahead of this machine's: a run "
                  "reads changes that much later (nothing is missed)\n",
                  (double)(low - SKEW_DATE_RESOLUTION_MS) / 1000.0);
    else
        jb_lit(b, "doctor: clock: agrees with HubSpot's (the Date of its answers, to its "
                  "second)\n");
}

static void print_text(const hubsync_config *c, const doctor_row *rows, bool have_db,
                       unsigned long long calls, int nbad, int nwarned, skew_est *clock)
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
        for (int k = 0; k < row->dr_nwarnings; k++)
            jb_printf(&b, "    warning: %s\n    fix: %s\n", row->dr_warnings[k].f_problem,
                      row->dr_warnings[k].f_fix);
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
    if (nwarned) {
        jb_printf(&b, "doctor: warnings (exit code unchanged) for %d table%s:", nwarned,
                  nwarned == 1 ? "" : "s");
        for (int i = 0, k = 0; i < c->c_ntables; i++)
            if (rows[i].dr_nwarnings)
                jb_printf(&b, "%s %s", k++ ? "," : "", rows[i].dr_name);
        jb_lit(&b, "\n");
    }
    clock_text(&b, clock);
    fwrite(jb_cstr(&b), 1, b.jb_len, stdout);
    jb_free(&b);
}

/* Appends [{"KEY":…,"fix":…},…] of n findings. */
static void findings_json(jbuf *b, const char *key, const finding *f, int n)
{
    jb_char(b, '[');
    for (int k = 0; k < n; k++) {
        if (k)
            jb_char(b, ',');
        jb_char(b, '{');
        jb_str(b, key);
        jb_char(b, ':');
        jb_str(b, f[k].f_problem);
        jb_lit(b, ",\"fix\":");
        jb_str(b, f[k].f_fix);
        jb_char(b, '}');
    }
    jb_char(b, ']');
}

static void print_json(const hubsync_config *c, const doctor_row *rows, bool have_db,
                       unsigned long long calls, int nbad, int nwarned, skew_est *clock)
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
    jb_lit(&b, ",\"tables_with_warnings\":");
    jb_u64(&b, (uint64_t)nwarned);
    jb_printf(&b, ",\"clock_ahead_seconds\":%.3f", (double)skew_hold_back_ms(clock) / 1000.0);
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
        jb_lit(&b, ",\"problems\":");
        findings_json(&b, "problem", row->dr_problems, row->dr_nproblems);
        jb_lit(&b, ",\"warnings\":");
        findings_json(&b, "warning", row->dr_warnings, row->dr_nwarnings);
        jb_lit(&b, ",\"lookalikes\":");
        rollup_lookalikes_json(&b, row->dr_lookalikes, row->dr_nlookalikes);
        jb_lit(&b, ",\"notes\":[");
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
    int rc = 0, nbad = 0, nwarned = 0;
    shm_region *region = NULL; /* the requests' limiter, token, and what Date taught */
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
        hs_assoc_labels_init(&rows[i].dr_labels);
    }
    if ((rc = read_stored(c, rows, &have_db)) != 0 || (rc = api_region_create(c, &region)) != 0 ||
        (rc = parent_props_fetch(c, &pp, region)) != 0)
        goto out;
    for (int i = 0; i < c->c_ntables; i++) {
        doctor_row *row = &rows[i];
        if (rollup_detect(&pp, row->dr_table, &row->dr_expected, &row->dr_ignored, &e) != 0 ||
            rollup_lookalikes(&pp, row->dr_table, &row->dr_lookalikes, &row->dr_nlookalikes, &e) !=
                0) {
            cmd_error(c, "doctor: %s: %s", row->dr_name, e.ei_msg);
            rc = EXIT_INCOMPLETE;
            goto out;
        }
        compare(row);
        lookalike_notes(row);
    }
    near_misses(c, &pp, rows);
    if ((rc = fetch_labels(c, region, rows, &pp.pp_api_calls)) != 0)
        goto out;
    for (int i = 0; i < c->c_ntables; i++) {
        relabel_check(&rows[i]);
        nbad += rows[i].dr_nproblems > 0;
        nwarned += rows[i].dr_nwarnings > 0;
    }
    if (c->c_json)
        print_json(c, rows, have_db, pp.pp_api_calls, nbad, nwarned, &region->sr_skew);
    else
        print_text(c, rows, have_db, pp.pp_api_calls, nbad, nwarned, &region->sr_skew);
    rc = nbad ? EXIT_INCOMPLETE : EXIT_OK;
out:
    if (rows)
        for (int i = 0; i < c->c_ntables; i++) {
            store_schema_free(&rows[i].dr_stored);
            store_schema_free(&rows[i].dr_expected);
            hs_assoc_labels_free(&rows[i].dr_labels);
            free(rows[i].dr_lookalikes);
        }
    free(rows);
    parent_props_free(&pp);
    if (region)
        shm_destroy(region);
    return rc;
}
