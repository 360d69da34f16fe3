/*
 * it_drift — exact against HubSpot's real rollups (docs/SIMULATOR.md, Rollups): the
 * simulator's realistic rollup model (late, coalesced, sometimes missed
 * bumps; relabels under a plain count bump nothing) leaves drift that the
 * incremental route cannot see, and verification (--verify-fraction)
 * repairs it, reporting exactly what it repaired; rollup fields created
 * after a table's first scan give it one full scan before it turns
 * incremental; rollup fields deleted send it back to full scans at the next
 * run; verification costs ceil(F × parents / 1,000) batch reads a table.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/store/store.h"
#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_hubsync.h"
#include "it_suites.h"

/* No heavy parents: one batch read holds any 1,000 parents' sets, so
 * verification's cost is exactly its batches. No limits. */
#define PORTAL                                                                                     \
    "--contacts", "3000", "--companies", "800", "--deals", "1500", "--tickets", "300",             \
        "--heavy-parents", "0", "--tier", "unlimited"

static const char *const ROLLUP_TABLES[] = {"companies_contacts", "companies_deals",
                                            "contacts_deals"};
enum { NROLLUP = 3 };

static const char *const SETUP[] = {"setup", NULL};

/* The summary's entry for a table. */
static json_object *table_entry(json_object *summary, const char *table)
{
    json_object *arr = tl_jget(summary, "tables");
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        const char *v = tl_jstr(e, "table");
        if (v && strcmp(v, table) == 0)
            return e;
    }
    return NULL;
}

static const char *route_of(json_object *summary, const char *table)
{
    return tl_jstr(table_entry(summary, table), "route");
}

static int64_t table_int(json_object *summary, const char *table, const char *path)
{
    return tl_jint_or(table_entry(summary, table), path, -1);
}

/* Differences between the mirror and the truth, per kind. */
typedef struct diff_counts {
    int64_t dc_added, dc_removed, dc_relabelled; /* what a repair adds, removes, relabels */
} diff_counts;

/* Length of "TABLE\tPARENT\tCHILD\t", the key of an export line. */
static size_t key_len(const char *line)
{
    const char *p = line;
    for (int tabs = 0; *p && tabs < 3; p++)
        tabs += *p == '\t';
    return (size_t)(p - line);
}

/* Counts what separates `mirror` from `truth` (both sorted) in tables whose
 * name starts a line: keys only in the truth must be added, keys only in
 * the mirror removed, keys in both with other types relabelled. */
static diff_counts diff_lines(const tl_lines *mirror, const tl_lines *truth)
{
    diff_counts d = {0, 0, 0};
    size_t i = 0, j = 0;
    while (i < mirror->l_count || j < truth->l_count) {
        const char *m = i < mirror->l_count ? mirror->l_items[i] : NULL;
        const char *t = j < truth->l_count ? truth->l_items[j] : NULL;
        int c = !m ? 1 : !t ? -1 : 0;
        if (m && t) {
            size_t km = key_len(m), kt = key_len(t);
            c = strncmp(m, t, km < kt ? km : kt);
            if (c == 0)
                c = (km > kt) - (km < kt);
        }
        if (c < 0) {
            d.dc_removed++;
            i++;
        } else if (c > 0) {
            d.dc_added++;
            j++;
        } else {
            d.dc_relabelled += strcmp(m, t) != 0;
            i++;
            j++;
        }
    }
    return d;
}

static diff_counts mirror_diff(tl_sim *s, const char *db)
{
    tl_lines got = {0}, want = {0};
    diff_counts d = {-1, -1, -1};
    if (it_export_lines(s, db, &got) == 0 && it_truth_lines(s, &want) == 0)
        d = diff_lines(&got, &want);
    tl_lines_free(&got);
    tl_lines_free(&want);
    return d;
}

/* Waits until the simulator has no rollup recomputation pending: measured
 * progress, never a fixed time. */
static bool rollups_settled(tl_sim *s, int64_t timeout_ms)
{
    int64_t until = tl_wall_ms() + timeout_ms;
    while (tl_wall_ms() < until) {
        if (tl_stat_int(s, "rollups.pending") == 0)
            return true;
        tl_sleep_ms(50);
    }
    fprintf(stderr, "rollup recomputations still pending: %lld\n",
            (long long)tl_stat_int(s, "rollups.pending"));
    return false;
}

static int mutate(tl_sim *s, const char *body)
{
    return it_sim_post(s, "/_sim/mutate", body);
}

/* ------------------------------------------------------------------ tests */

/* Realistic rollups (2 s recomputations, 30% of bumps missed, relabels
 * under plain counts): churn for a while, then incremental runs with
 * --verify-fraction 0.25 make the mirror exact within 5 runs, and the drift
 * they report plus the route's own changes is exactly what separated the
 * mirror from the truth. */
static void test_verification_repairs_drift(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {PORTAL,      "--rollup-bumps",
                          "realistic", "--rollup-delay-ms",
                          "1500:2500", "--rollup-tail",
                          "0:2500",    "--rollup-miss",
                          "0.3",       NULL};
    const char *quiet[] = {"--lag-ms", "0", "--verify-fraction", "0", NULL};
    const char *verify[] = {"--lag-ms", "0", "--verify-fraction", "0.25", NULL};
    const char *churn = "{\"count\":150,\"tables\":[\"companies_contacts\",\"companies_deals\","
                        "\"contacts_deals\"],\"kinds\":[\"associate\",\"dissociate\",\"relabel\"]}";
    json_object *sum = NULL;
    it_make_db(db, sizeof(db));
    REQUIRE(db[0] && tl_sim_start(&s, args) == 0);
    REQUIRE(it_hubsync(&s, db, SETUP, 60000, NULL) == 0);
    REQUIRE(it_run_json(&s, db, quiet, NULL) == 0); /* the full scan */
    /* Churn while incremental runs go on (they see what was bumped). */
    for (int round = 0; round < 4; round++) {
        REQUIRE(mutate(&s, churn) == 0);
        REQUIRE(it_run_json(&s, db, quiet, NULL) == 0);
    }
    REQUIRE(rollups_settled(&s, 30000));
    diff_counts d0 = mirror_diff(&s, db);
    CHECKF(d0.dc_added >= 0 && d0.dc_added + d0.dc_removed + d0.dc_relabelled > 0,
           "the realistic model left the mirror behind (%lld/%lld/%lld)", (long long)d0.dc_added,
           (long long)d0.dc_removed, (long long)d0.dc_relabelled);
    fprintf(stderr, "    before verification: %lld to add, %lld to remove, %lld to relabel\n",
            (long long)d0.dc_added, (long long)d0.dc_removed, (long long)d0.dc_relabelled);
    diff_counts fixed = {0, 0, 0}, drift = {0, 0, 0};
    int runs = 0;
    bool exact = false;
    while (runs < 5 && !exact) {
        REQUIRE(it_run_json(&s, db, verify, &sum) == 0);
        runs++;
        for (int k = 0; k < NROLLUP; k++) {
            CHECK_STR(route_of(sum, ROLLUP_TABLES[k]), "incremental");
            fixed.dc_added += table_int(sum, ROLLUP_TABLES[k], "added");
            fixed.dc_removed += table_int(sum, ROLLUP_TABLES[k], "removed");
            fixed.dc_relabelled += table_int(sum, ROLLUP_TABLES[k], "relabelled");
            drift.dc_added += table_int(sum, ROLLUP_TABLES[k], "drift.added");
            drift.dc_removed += table_int(sum, ROLLUP_TABLES[k], "drift.removed");
            drift.dc_relabelled += table_int(sum, ROLLUP_TABLES[k], "drift.relabelled");
        }
        json_object_put(sum);
        sum = NULL;
        diff_counts left = mirror_diff(&s, db);
        exact = left.dc_added == 0 && left.dc_removed == 0 && left.dc_relabelled == 0;
    }
    fprintf(stderr, "    %d runs: drift %lld/%lld/%lld, route %lld/%lld/%lld\n", runs,
            (long long)drift.dc_added, (long long)drift.dc_removed, (long long)drift.dc_relabelled,
            (long long)fixed.dc_added, (long long)fixed.dc_removed, (long long)fixed.dc_relabelled);
    CHECK(exact && it_mirror_equals_truth(&s, db));
    CHECK(drift.dc_added + drift.dc_removed + drift.dc_relabelled > 0);
    CHECK_EQ(drift.dc_added + fixed.dc_added, d0.dc_added);
    CHECK_EQ(drift.dc_removed + fixed.dc_removed, d0.dc_removed);
    CHECK_EQ(drift.dc_relabelled + fixed.dc_relabelled, d0.dc_relabelled);
done:
    json_object_put(sum);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* Verification costs ceil(F × parents / 1,000) batch reads per table and
 * run (no heavy parents here, so no paging), and leaves the route's own
 * calls as they were: with nothing changed, no batch read at all. */
static void test_verification_cost(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {PORTAL, NULL};
    const char *none[] = {"--lag-ms", "0", "--verify-fraction", "0", NULL};
    const char *quarter[] = {"--lag-ms", "0", "--verify-fraction", "0.25", NULL};
    json_object *sum = NULL;
    it_make_db(db, sizeof(db));
    REQUIRE(db[0] && tl_sim_start(&s, args) == 0);
    REQUIRE(it_hubsync(&s, db, SETUP, 60000, NULL) == 0);
    REQUIRE(it_run_json(&s, db, none, NULL) == 0);
    REQUIRE(it_run_json(&s, db, none, &sum) == 0);
    for (int k = 0; k < NROLLUP; k++) {
        CHECK_EQ(table_int(sum, ROLLUP_TABLES[k], "assoc_calls"), 0);
        CHECK_EQ(table_int(sum, ROLLUP_TABLES[k], "verify_calls"), 0);
    }
    json_object_put(sum);
    REQUIRE(it_run_json(&s, db, quarter, &sum) == 0);
    /* companies: 800 parents → 200 a run, 1 call; contacts: 3,000 → 750, 1. */
    for (int k = 0; k < NROLLUP; k++) {
        const char *t = ROLLUP_TABLES[k];
        CHECK_EQ(table_int(sum, t, "assoc_calls"), 0);
        CHECK_EQ(table_int(sum, t, "verify_calls"), 1);
        CHECK(table_int(sum, t, "verified") > 0);
        CHECK_EQ(table_int(sum, t, "drift.added") + table_int(sum, t, "drift.removed") +
                     table_int(sum, t, "drift.relabelled"),
                 0);
    }
    json_object_put(sum);
    sum = NULL;
    /* Four runs of a quarter: one whole cycle, in the status. */
    for (int r = 0; r < 3; r++)
        REQUIRE(it_run_json(&s, db, quarter, NULL) == 0);
    store_state st;
    REQUIRE(it_read_state(db, "contacts_deals", &st) == 0);
    CHECK(st.ss_verify_cycles >= 2); /* the full scan's, and verification's */
    CHECK(st.ss_verify_cycle_ended_ms > 0);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    json_object_put(sum);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* Changes made while a table had no rollup fields bumped no parent; when
 * the fields appear and setup runs, the next run alone (a full scan: the
 * cursor predates the fields) makes the mirror exact, and the one after is
 * incremental. */
static void test_rollups_created_late(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {PORTAL, "--rollups", "none", NULL};
    const char *flags[] = {"--lag-ms", "0", "--verify-fraction", "0", NULL};
    const char *status[] = {"status", "--json", "--tables", "companies_contacts", NULL};
    char *out = NULL;
    json_object *sum = NULL, *st = NULL;
    it_make_db(db, sizeof(db));
    REQUIRE(db[0] && tl_sim_start(&s, args) == 0);
    REQUIRE(it_hubsync(&s, db, SETUP, 60000, NULL) == 0);
    REQUIRE(it_run_json(&s, db, flags, NULL) == 0);
    REQUIRE(mutate(&s, "{\"count\":200,\"tables\":[\"companies_contacts\"],\"kinds\":["
                       "\"associate\",\"dissociate\",\"relabel\"]}") == 0);
    REQUIRE(it_sim_post(&s, "/_sim/config", "{\"rollups\":\"companies_contacts\"}") == 0);
    REQUIRE(it_hubsync(&s, db, SETUP, 60000, &out) == 0);
    CHECK(out && strstr(out, "newer than the last full scan"));
    free(out);
    out = NULL;
    REQUIRE(it_hubsync(&s, db, status, 60000, &out) == 0);
    st = out ? json_tokener_parse(out) : NULL;
    CHECK_STR(tl_jstr(st, "tables.0.next_route"), "full_scan");
    CHECK(tl_jstr(st, "tables.0.next_route_reason") != NULL);
    REQUIRE(it_run_json(&s, db, flags, &sum) == 0);
    CHECK_STR(route_of(sum, "companies_contacts"), "full_scan");
    CHECK(it_mirror_equals_truth(&s, db));
    json_object_put(sum);
    REQUIRE(it_run_json(&s, db, flags, &sum) == 0);
    CHECK_STR(route_of(sum, "companies_contacts"), "incremental");
done:
    free(out);
    json_object_put(st);
    json_object_put(sum);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* Rollup fields deleted after setup: the next run re-reads the parents'
 * properties, warns, stores the schema setup would (read_full_ping) and
 * takes a full scan, so changes that bumped nothing are in the mirror. */
static void test_rollups_deleted(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {PORTAL, NULL};
    const char *flags[] = {"--lag-ms", "0", "--verify-fraction", "0", NULL};
    const char *run[] = {"run", "--lag-ms", "0", "--verify-fraction", "0", "--json", NULL};
    const char *status[] = {"status", "--json", "--tables", "companies_contacts", NULL};
    char *out = NULL, *err = NULL;
    json_object *sum = NULL, *st = NULL;
    it_make_db(db, sizeof(db));
    REQUIRE(db[0] && tl_sim_start(&s, args) == 0);
    REQUIRE(it_hubsync(&s, db, SETUP, 60000, NULL) == 0);
    REQUIRE(it_run_json(&s, db, flags, NULL) == 0);
    REQUIRE(it_run_json(&s, db, flags, &sum) == 0);
    CHECK_STR(route_of(sum, "companies_contacts"), "incremental");
    CHECK_EQ(tl_jint_or(sum, "properties_calls", -1), 2); /* companies, contacts */
    json_object_put(sum);
    sum = NULL;
    REQUIRE(it_sim_post(&s, "/_sim/config", "{\"rollups\":\"companies_deals\"}") == 0);
    REQUIRE(mutate(&s, "{\"count\":200,\"tables\":[\"companies_contacts\",\"contacts_deals\"],"
                       "\"kinds\":[\"associate\",\"dissociate\",\"relabel\"]}") == 0);
    REQUIRE(it_hubsync_full(&s, db, run, 120000, &out, &err) == 0);
    sum = out ? json_tokener_parse(out) : NULL;
    CHECK_STR(route_of(sum, "companies_contacts"), "full_scan");
    CHECK_STR(route_of(sum, "contacts_deals"), "full_scan");
    CHECK_STR(route_of(sum, "companies_deals"), "incremental");
    CHECK(err && strstr(err, "companies_contacts: the rollup fields on companies are gone"));
    CHECK(it_mirror_equals_truth(&s, db));
    free(out);
    out = NULL;
    REQUIRE(it_hubsync(&s, db, status, 60000, &out) == 0);
    st = out ? json_tokener_parse(out) : NULL;
    CHECK_STR(tl_jstr(st, "tables.0.table_options.ping_type"), "read_full_ping");
done:
    free(out);
    free(err);
    json_object_put(st);
    json_object_put(sum);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* A property labelled like a rollup field that is not a rollup (a plain
 * number someone typed): setup keeps the table on read_full_ping and says
 * why, --json lists it, and doctor names it. */
static void test_lookalike_stays_full_ping(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {IT_SMALL_PORTAL,       "--rollups",     "none",
                          "--rollup-lookalikes", "deals_tickets", NULL};
    const char *setup_json[] = {"setup", "--json", "--tables", "deals_tickets", NULL};
    const char *doctor[] = {"doctor", "--tables", "deals_tickets", NULL};
    char *out = NULL;
    json_object *js = NULL;
    it_make_db(db, sizeof(db));
    REQUIRE(db[0] && tl_sim_start(&s, args) == 0);
    REQUIRE(it_hubsync(&s, db, SETUP, 60000, &out) == 0);
    CHECK(out && strstr(out, "deals_tickets: read_full_ping") &&
          strstr(out, "is not a rollup property") &&
          strstr(out, "ignored sync_associations_deals_tickets_label_count"));
    free(out);
    out = NULL;
    REQUIRE(it_hubsync(&s, db, setup_json, 60000, &out) == 0);
    js = out ? json_tokener_parse(out) : NULL;
    CHECK_STR(tl_jstr(js, "tables.0.table_options.ping_type"), "read_full_ping");
    CHECK_EQ(tl_jlen(js, "tables.0.lookalikes"), 1);
    CHECK_STR(tl_jstr(js, "tables.0.lookalikes.0.label"),
              "sync_associations_deals_tickets_label_count");
    free(out);
    out = NULL;
    CHECK_EQ(it_hubsync(&s, db, doctor, 60000, &out), 0);
    CHECK(out && strstr(out, "sync_associations_deals_tickets_label_count") &&
          strstr(out, "not a rollup property"));
done:
    free(out);
    json_object_put(js);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* A cursor whose full scan began before the schema's rollup fields were
 * seen (a database of an older hubsync: no origin recorded) is not
 * searched from: one full scan, and incremental after it. */
static void forget_origin(store_state *st)
{
    st->ss_scan_origin_ms = 0;
}

static void test_untrusted_cursor_rescans(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {IT_SMALL_PORTAL, NULL};
    const char *flags[] = {"--lag-ms", "0", NULL};
    json_object *sum = NULL;
    it_make_db(db, sizeof(db));
    REQUIRE(db[0] && tl_sim_start(&s, args) == 0);
    REQUIRE(it_hubsync(&s, db, SETUP, 60000, NULL) == 0);
    REQUIRE(it_run_json(&s, db, flags, NULL) == 0);
    REQUIRE(it_edit_state(db, "contacts_deals", forget_origin) == 0);
    REQUIRE(it_run_json(&s, db, flags, &sum) == 0);
    CHECK_STR(route_of(sum, "contacts_deals"), "full_scan");
    CHECK_STR(route_of(sum, "companies_contacts"), "incremental");
    json_object_put(sum);
    REQUIRE(it_run_json(&s, db, flags, &sum) == 0);
    CHECK_STR(route_of(sum, "contacts_deals"), "incremental");
    CHECK(it_mirror_equals_truth(&s, db));
done:
    json_object_put(sum);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

int it_register_drift(void)
{
    CU_pSuite s = it_add_suite("drift");
    if (!s || it_add_test(s, "verification_repairs_drift", test_verification_repairs_drift) ||
        it_add_test(s, "verification_cost", test_verification_cost) ||
        it_add_test(s, "rollups_created_late", test_rollups_created_late) ||
        it_add_test(s, "rollups_deleted", test_rollups_deleted) ||
        it_add_test(s, "lookalike_stays_full_ping", test_lookalike_stays_full_ping) ||
        it_add_test(s, "untrusted_cursor_rescans", test_untrusted_cursor_rescans))
        return -1;
    return 0;
}
