/*
 * it_incremental — the incremental route end to end (docs/CLI.md, `hubsync run`): after a
 * full sync, changes made through /_sim/mutate reach the mirror for the
 * cost of one search and one batch read; 25,000 changes sharing
 * milliseconds, index lag with churn, changes made during the full scan, a
 * killed incremental run: the mirror always ends equal to /_sim/truth.
 * Also the routing table row by row, a cursor that must never be sent, and
 * a search HubSpot refuses (exit 1, the cursor kept).
 */
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/store/store.h"
#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_hubsync.h"
#include "it_suites.h"

/* A mid-sized portal without heavy parents (so one batch read holds any
 * 1,000 parents' sets) and without limits, unless a test adds them. */
#define PORTAL                                                                                     \
    "--contacts", "6000", "--companies", "1500", "--deals", "3000", "--tickets", "800",            \
        "--heavy-parents", "0"

static const char *const SETUP[] = {"setup", NULL};

/* The summary's entry for a table (or object type, under "objects"). */
static json_object *entry(json_object *summary, const char *list, const char *key, const char *name)
{
    json_object *arr = tl_jget(summary, list);
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        const char *v = tl_jstr(e, key);
        if (v && strcmp(v, name) == 0)
            return e;
    }
    return NULL;
}

static const char *route_of(json_object *summary, const char *table)
{
    return tl_jstr(entry(summary, "tables", "table", table), "route");
}

static int mutate(tl_sim *s, const char *body)
{
    return it_sim_post(s, "/_sim/mutate", body);
}

static int sim_config(tl_sim *s, const char *body)
{
    return it_sim_post(s, "/_sim/config", body);
}

static int reset_stats(tl_sim *s)
{
    return it_sim_post(s, "/_sim/reset-stats", "{}");
}

/* Starts a simulator with `args` and brings a fresh database to a completed
 * full sync (setup, run). `lag` is the --lag-ms every run of the test uses. */
static int synced(tl_sim *s, const char *const *args, char *db, size_t n, const char *lag)
{
    it_make_db(db, n);
    if (!db[0] || tl_sim_start(s, args) != 0)
        return -1;
    /* The first sync is the test's setting, not its subject: unpaced, with
     * the simulator's burst limit lifted meanwhile and then put back. */
    const char *flags[] = {"--lag-ms", lag, "--rate", "0", NULL};
    tl_resp r = {0};
    char restore[64] = "";
    if (tl_post_json(s, "/_sim/config", NULL, "{}", &r) == 0 && r.r_status == 200) {
        const char *rate = tl_jstr(tl_resp_json(&r), "rate");
        if (rate)
            snprintf(restore, sizeof(restore), "{\"rate\":\"%.40s\"}", rate);
    }
    tl_resp_free(&r);
    if (!restore[0] || sim_config(s, "{\"rate\":\"0\"}") != 0 ||
        it_hubsync(s, db, SETUP, 60000, NULL) != 0 || it_run_json(s, db, flags, NULL) != 0 ||
        sim_config(s, restore) != 0)
        return -1;
    return 0;
}

static int64_t stored_cursor_ms(const char *db, const char *table)
{
    store_state ss;
    return it_read_state(db, table, &ss) == 0 && ss.ss_cursor.cu_kind == STORE_CURSOR_TIMESTAMP_MS
               ? ss.ss_cursor.cu_timestamp_ms
               : -1;
}

/* ------------------------------------------------------------------ tests */

/* Ten changed parents of a rollup table: one search, one batch read. */
static void test_ten_changes_two_calls(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {PORTAL, NULL};
    const char *flags[] = {"--lag-ms", "300", NULL};
    json_object *sum = NULL;
    REQUIRE(synced(&s, args, db, sizeof(db), "300") == 0);
    REQUIRE(mutate(&s, "{\"count\":10,\"tables\":[\"contacts_deals\"],"
                       "\"kinds\":[\"associate\",\"dissociate\",\"relabel\",\"touch\"]}") == 0);
    tl_sleep_ms(400); /* past the lag allowance */
    CHECK_EQ(it_run_json(&s, db, flags, &sum), 0);
    json_object *t = entry(sum, "tables", "table", "contacts_deals");
    json_object *o = entry(sum, "objects", "object", "contacts");
    CHECK_STR(tl_jstr(t, "route"), "incremental");
    int64_t changed = tl_jint_or(t, "parents", -1), reads = tl_jint_or(t, "assoc_calls", -1);
    int64_t searches = tl_jint_or(o, "search_calls", -1);
    fprintf(stderr, "    10 changes: %lld parents, %lld search, %lld batch read\n",
            (long long)changed, (long long)searches, (long long)reads);
    CHECK_OP(changed, >=, 1);
    CHECK_OP(changed, <=, 10);
    CHECK_EQ(searches, 1);
    CHECK_EQ(reads, 1);
    /* Nothing archived: the search's count says so, no archived list. */
    CHECK_EQ(tl_jint_or(o, "list_calls", -1), 0);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    json_object_put(sum);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* The head searches go out before the rollup re-check, so the workers send
 * them while the coordinator re-checks (-v traces both): a round trip an
 * incremental run does not wait. */
static void test_recheck_beside_head_search(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {PORTAL, NULL};
    const char *run[] = {"-v", "run", "--progress", "never", "--lag-ms", "300", NULL};
    char *err = NULL;
    REQUIRE(synced(&s, args, db, sizeof(db), "300") == 0);
    REQUIRE(
        mutate(&s, "{\"count\":10,\"tables\":[\"contacts_deals\"],\"kinds\":[\"associate\"]}") ==
        0);
    tl_sleep_ms(400); /* past the lag allowance */
    REQUIRE_EQ(it_hubsync_full(&s, db, run, 120000, NULL, &err), 0);
    const char *head = strstr(err, "published: change search of contacts (head page)");
    const char *recheck = strstr(err, "rollup re-check: ");
    CHECKF(head && recheck && head < recheck, "head search %s, re-check %s: %.300s",
           head ? "traced" : "missing", recheck ? "traced" : "missing", err);
    const char *two = "rollup re-check: 2 properties calls"; /* companies, contacts */
    CHECK(recheck && strncmp(recheck, two, strlen(two)) == 0);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    free(err);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* Archived parents leave the mirror with their sets: the search's count
 * falls short of the mirror's, and the archived list is read. */
static void test_archived_parents_leave(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {PORTAL, NULL};
    const char *flags[] = {"--lag-ms", "300", NULL};
    json_object *sum = NULL;
    REQUIRE(synced(&s, args, db, sizeof(db), "300") == 0);
    REQUIRE(mutate(&s, "{\"count\":8,\"tables\":[\"contacts_deals\"],"
                       "\"kinds\":[\"archive\"]}") == 0);
    tl_sleep_ms(400);
    CHECK_EQ(it_run_json(&s, db, flags, &sum), 0);
    json_object *o = entry(sum, "objects", "object", "contacts");
    int64_t lists = tl_jint_or(o, "list_calls", -1);
    fprintf(stderr, "    8 archived: %lld archived-list calls for contacts\n", (long long)lists);
    CHECK_OP(lists, >=, 1);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    json_object_put(sum);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* Over 25,000 changed parents, in bursts that share one millisecond (and
 * writes reusing milliseconds besides): every one arrives, and no search is
 * refused. */
static void test_many_changes_share_milliseconds(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {
        "--contacts",    "20000", "--companies", "5000", "--deals",         "8000",
        "--tickets",     "2000",  "--same-ms",   "0.5",  "--heavy-parents", "0",
        "--search-rate", "20/1s", NULL};
    const char *flags[] = {"--lag-ms", "300", "--inflight", "8", "--search-rate", "20/1s", NULL};
    json_object *sum = NULL;
    REQUIRE(synced(&s, args, db, sizeof(db), "300") == 0);
    /* New and touched records of the three parent types, 5,000 a burst. */
    for (int i = 0; i < 7; i++)
        REQUIRE(mutate(&s, "{\"count\":5000,\"same_ms\":true,\"kinds\":[\"create\",\"touch\"],"
                           "\"tables\":[\"companies_contacts\",\"companies_deals\","
                           "\"contacts_deals\"]}") == 0);
    /* A slow API (slower than the search budget's 50 ms a call): pages in
     * flight side by side keep the budget busy, so slices split. */
    REQUIRE(sim_config(&s, "{\"latency_ms\":400}") == 0);
    REQUIRE(reset_stats(&s) == 0);
    tl_sleep_ms(400);
    CHECK_EQ(it_run_json(&s, db, flags, &sum), 0);
    int64_t hits = 0, searches = 0, splits = 0;
    json_object *objs = tl_jget(sum, "objects");
    for (size_t i = 0; objs && i < json_object_array_length(objs); i++) {
        json_object *o = json_object_array_get_idx(objs, i);
        hits += tl_jint_or(o, "changes", 0);
        searches += tl_jint_or(o, "search_calls", 0);
        splits += tl_jint_or(o, "splits", 0);
    }
    int64_t refused = tl_stat_int(&s, "status.400");
    refused = refused < 0 ? 0 : refused;
    fprintf(stderr, "    %lld changed records found by %lld searches (%lld splits); %lld refused\n",
            (long long)hits, (long long)searches, (long long)splits, (long long)refused);
    CHECK_EQ(refused, 0);
    CHECK_OP(hits, >=, 25000);
    CHECK_OP(splits, >=, 1);
    /* Full pages but the last of each slice: a split adds at most one. */
    CHECK_OP(searches, <=, (hits + 199) / 200 + splits + 3);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    json_object_put(sum);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* Index lag and churn during three runs, then one more run after the churn
 * stops: nothing late is skipped. */
static void test_index_lag_and_churn(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {PORTAL, "--index-lag-ms", "2000", "--churn", "50/s", NULL};
    const char *flags[] = {"--lag-ms", "2500", NULL};
    REQUIRE(synced(&s, args, db, sizeof(db), "2500") == 0);
    for (int i = 0; i < 3; i++) {
        tl_sleep_ms(700);
        CHECK_EQ(it_run_json(&s, db, flags, NULL), 0);
    }
    REQUIRE(sim_config(&s, "{\"churn_per_s\":0}") == 0);
    tl_sleep_ms(2700); /* the last write is past the lag allowance */
    CHECK_EQ(it_run_json(&s, db, flags, NULL), 0);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* Changes made while the full scan runs are in the mirror after the first
 * incremental run: the cursor starts at the scan's start, not its end. */
static void test_changes_during_full_scan(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {PORTAL, "--rate", "40/1s", NULL};
    const char *run[] = {"run", "--lag-ms", "300", "--rate", "40/1s", "--progress", "never", NULL};
    const char *flags[] = {"--lag-ms", "300", "--rate", "40/1s", NULL};
    json_object *sum = NULL;
    it_make_db(db, sizeof(db));
    REQUIRE(db[0] && tl_sim_start(&s, args) == 0);
    REQUIRE(it_hubsync(&s, db, SETUP, 60000, NULL) == 0);
    pid_t pid = it_hubsync_start(&s, db, run);
    REQUIRE(pid > 0);
    CHECK(it_wait_assoc_calls(&s, 3, 60000));
    /* Rollup tables only: a full-ping table would be scanned again anyway. */
    CHECK(mutate(&s, "{\"count\":300,\"tables\":[\"companies_contacts\",\"companies_deals\","
                     "\"contacts_deals\"]}") == 0);
    CHECK_EQ(it_wait_exit(pid, 120000), 0);
    tl_sleep_ms(400);
    CHECK_EQ(it_run_json(&s, db, flags, &sum), 0);
    CHECK_STR(route_of(sum, "contacts_deals"), "incremental");
    CHECK(it_mirror_equals_truth(&s, db));
done:
    json_object_put(sum);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* A table without rollup fields gets association changes (which bump no
 * parent) at its next full scan. */
static void test_full_ping_table_catches_up(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {PORTAL, NULL};
    const char *flags[] = {"--lag-ms", "300", NULL};
    json_object *sum = NULL;
    REQUIRE(synced(&s, args, db, sizeof(db), "300") == 0);
    REQUIRE(mutate(&s, "{\"count\":40,\"tables\":[\"deals_tickets\"],"
                       "\"kinds\":[\"associate\",\"dissociate\",\"relabel\"]}") == 0);
    CHECK_EQ(it_run_json(&s, db, flags, &sum), 0);
    CHECK_STR(route_of(sum, "deals_tickets"), "full_scan");
    CHECK(it_mirror_equals_truth(&s, db));
done:
    json_object_put(sum);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* SIGKILL in the middle of an incremental run; the rerun ends equal. */
static void test_killed_incremental_run(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {PORTAL, NULL};
    const char *slow[] = {"run",  "--lag-ms",   "300",   "--search-rate",
                          "4/1s", "--progress", "never", NULL};
    const char *flags[] = {"--lag-ms", "300", NULL};
    REQUIRE(synced(&s, args, db, sizeof(db), "300") == 0);
    REQUIRE(mutate(&s, "{\"count\":6000}") == 0);
    REQUIRE(reset_stats(&s) == 0);
    tl_sleep_ms(400);
    pid_t pid = it_hubsync_start(&s, db, slow);
    REQUIRE(pid > 0);
    int64_t end = tl_now_ms() + 30000, searches = 0;
    while (tl_now_ms() < end &&
           (searches = tl_stat_int(&s, "requests.POST /crm/v3/objects/contacts/search")) < 3)
        tl_sleep_ms(25);
    kill(-pid, SIGKILL);
    it_wait_exit(pid, 5000);
    fprintf(stderr, "    killed after %lld contact searches\n", (long long)searches);
    CHECK_OP(searches, >=, 3);
    CHECK_EQ(it_run_json(&s, db, flags, NULL), 0);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

static void set_object_id_cursor(store_state *st)
{
    st->ss_cursor = store_cursor_object_id(1);
    st->ss_scan_started_ms = tl_wall_ms();
    st->ss_ndone = 0;
}

/* The routes (docs/CLI.md, "Switch-on and routing"), one by one. */
static void test_routing_table(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {IT_SMALL_PORTAL, NULL};
    const char *flags[] = {"--lag-ms", "0", NULL};
    json_object *sum = NULL;
    it_make_db(db, sizeof(db));
    REQUIRE(db[0] && tl_sim_start(&s, args) == 0);
    REQUIRE(it_hubsync(&s, db, SETUP, 60000, NULL) == 0);
    /* No cursor: a full scan, whatever the ping type. */
    CHECK_EQ(it_run_json(&s, db, flags, &sum), 0);
    CHECK_STR(route_of(sum, "contacts_deals"), "full_scan");
    CHECK_STR(route_of(sum, "deals_tickets"), "full_scan");
    json_object_put(sum);
    /* Timestamps: incremental on a rollup table, a new full scan on the
     * others (a timestamp never goes out as an object ID). */
    CHECK_EQ(it_run_json(&s, db, flags, &sum), 0);
    CHECK_STR(route_of(sum, "contacts_deals"), "incremental");
    CHECK_STR(route_of(sum, "companies_contacts"), "incremental");
    CHECK_STR(route_of(sum, "deals_tickets"), "full_scan");
    CHECK_STR(route_of(sum, "contacts_tickets"), "full_scan");
    json_object_put(sum);
    /* An object-ID cursor on an incremental table: the scan resumes (an ID
     * never goes out as a timestamp). */
    REQUIRE(it_edit_state(db, "contacts_deals", set_object_id_cursor) == 0);
    CHECK_EQ(it_run_json(&s, db, flags, &sum), 0);
    CHECK_STR(route_of(sum, "contacts_deals"), "full_scan_resume");
    CHECK_STR(route_of(sum, "companies_deals"), "incremental");
    CHECK(it_mirror_equals_truth(&s, db));
done:
    json_object_put(sum);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

static void set_future_cursor(store_state *st)
{
    st->ss_cursor = store_cursor_timestamp_ms(tl_wall_ms() + 86400000LL);
}

/* A cursor in the future is reported and never sent; --full-scan starts
 * the table over. */
static void test_future_cursor_never_sent(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {IT_SMALL_PORTAL, NULL};
    const char *run[] = {"run", "--lag-ms", "0", NULL};
    const char *over[] = {"run",      "--lag-ms",       "0", "--full-scan",
                          "--tables", "contacts_deals", NULL};
    char *err = NULL;
    REQUIRE(synced(&s, args, db, sizeof(db), "0") == 0);
    REQUIRE(it_edit_state(db, "contacts_deals", set_future_cursor) == 0);
    REQUIRE(reset_stats(&s) == 0);
    CHECK_EQ(it_hubsync_full(&s, db, run, 60000, NULL, &err), 2);
    CHECK(err && strstr(err, "contacts_deals") && strstr(err, "lies in the future") &&
          strstr(err, "--full-scan"));
    CHECK_EQ(tl_stat_int(&s, "total"), 0); /* not one API call */
    CHECK_EQ(it_hubsync(&s, db, over, 60000, NULL), 0);
    CHECK_EQ(it_hubsync(&s, db, run, 60000, NULL), 0);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    free(err);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* This machine's clock two minutes ahead of HubSpot's: a window ending at
 * its `now − lag` would end in HubSpot's future, and writes stamped before
 * that end but made after the search would never be searched again. The
 * cursors are held back by the lead the Date of HubSpot's answers shows, so
 * every change is caught, and each run says the clock is wrong. */
static void test_clock_ahead_of_hubspot(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {PORTAL, "--clock-offset-ms", "-120000", NULL};
    char metrics[128];
    const char *run[] = {"run", "--lag-ms", "300", "--metrics-file", metrics, NULL};
    char *err = NULL;
    REQUIRE(synced(&s, args, db, sizeof(db), "300") == 0);
    snprintf(metrics, sizeof(metrics), "%s/metrics.prom", db);
    /* Held back by the lead, less at most Date's one-second resolution. */
    int64_t cursor = stored_cursor_ms(db, "contacts_deals");
    fprintf(stderr, "    cursor after the first sync: %.1f s before this machine's now\n",
            (double)(tl_wall_ms() - cursor) / 1000.0);
    CHECK_OP(cursor, <, tl_wall_ms() - 118000);
    CHECK_OP(cursor, >, tl_wall_ms() - 180000);
    for (int round = 0; round < 2; round++) {
        REQUIRE(mutate(&s, "{\"count\":50}") == 0);
        tl_sleep_ms(400); /* past the lag allowance */
        CHECK_EQ(it_hubsync_full(&s, db, run, 60000, NULL, &err), 0);
        CHECK(err && strstr(err, "ahead of HubSpot's"));
        free(err);
        err = NULL;
        CHECK(it_mirror_equals_truth(&s, db));
    }
    /* The lead is a metric, to alert on. */
    double ahead = -1;
    char line[256];
    FILE *f = fopen(metrics, "r");
    while (f && fgets(line, sizeof(line), f))
        sscanf(line, "hubsync_clock_ahead_seconds %lf", &ahead);
    if (f)
        fclose(f);
    /* The lead less at most Date's second (and an answer's way back). */
    CHECK_OP(ahead, >=, 119.0);
    CHECK_OP(ahead, <=, 120.5);
    /* And doctor says so. */
    const char *doctor[] = {"doctor", NULL};
    char *out = NULL;
    static const char said[] = "doctor: clock: this machine's runs at least ";
    double doctor_ahead = -1;
    CHECK_EQ(it_hubsync(&s, db, doctor, 60000, &out), 0);
    const char *at = out ? strstr(out, said) : NULL;
    if (at)
        sscanf(at + strlen(said), "%lf", &doctor_ahead);
    CHECK_OP(doctor_ahead, >=, 119.0);
    CHECK_OP(doctor_ahead, <=, 120.5);
    free(out);
done:
    free(err);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* A search HubSpot refuses: reported with the request, exit 1, and the
 * cursor stays; once searches are accepted again the next run catches up. */
static void test_refused_search_keeps_cursor(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {PORTAL, NULL};
    const char *run[] = {"run", "--lag-ms", "300", NULL};
    char *err = NULL;
    REQUIRE(synced(&s, args, db, sizeof(db), "300") == 0);
    int64_t before = stored_cursor_ms(db, "contacts_deals");
    REQUIRE(before > 0);
    REQUIRE(mutate(&s, "{\"count\":50}") == 0);
    REQUIRE(sim_config(&s, "{\"fault_search_400\":1}") == 0);
    tl_sleep_ms(400);
    CHECK_EQ(it_hubsync_full(&s, db, run, 60000, NULL, &err), 1);
    CHECK(err && strstr(err, "rejected (HTTP 400 VALIDATION_ERROR") &&
          strstr(err, "the request was: {\"filterGroups\""));
    CHECK_EQ(stored_cursor_ms(db, "contacts_deals"), before);
    REQUIRE(sim_config(&s, "{\"fault_search_400\":0}") == 0);
    CHECK_EQ(it_hubsync(&s, db, run, 60000, NULL), 0);
    CHECK_OP(stored_cursor_ms(db, "contacts_deals"), >, before);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    free(err);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

int it_register_incremental(void)
{
    CU_pSuite s = it_add_suite("incremental");
    if (!s || it_add_test(s, "ten_changes_two_calls", test_ten_changes_two_calls) ||
        it_add_test(s, "recheck_beside_head_search", test_recheck_beside_head_search) ||
        it_add_test(s, "archived_parents_leave", test_archived_parents_leave) ||
        it_add_test(s, "many_changes_share_milliseconds", test_many_changes_share_milliseconds) ||
        it_add_test(s, "index_lag_and_churn", test_index_lag_and_churn) ||
        it_add_test(s, "changes_during_full_scan", test_changes_during_full_scan) ||
        it_add_test(s, "full_ping_table_catches_up", test_full_ping_table_catches_up) ||
        it_add_test(s, "killed_incremental_run", test_killed_incremental_run) ||
        it_add_test(s, "routing_table", test_routing_table) ||
        it_add_test(s, "future_cursor_never_sent", test_future_cursor_never_sent) ||
        it_add_test(s, "refused_search_keeps_cursor", test_refused_search_keeps_cursor) ||
        it_add_test(s, "clock_ahead_of_hubspot", test_clock_ahead_of_hubspot))
        return -1;
    return 0;
}
