/*
 * it_sync — `hubsync run` end to end against the simulator: the mirror
 * (hubsync export) equals /_sim/truth for all six tables after a full scan
 * of a portal with heavy parents, labels and archived records; association
 * calls are exactly one per 1,000 parents plus the paging heavy parents need;
 * the scan keeps the burst budget busy without a single 429; and a run
 * SIGKILLed at random instants resumes and still ends equal to the truth.
 */
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/base/hs_types.h"
#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_hubsync.h"
#include "it_suites.h"

/* The association batch reads a full scan needs for one table: one per
 * 1,000 live parents, plus one per extra round of paging in each batch
 * (every paged parent of a batch shares a round). */
static int64_t expected_assoc_calls(tl_sim *s, const char *table, const char *parent_type,
                                    int page_size)
{
    tl_objects parents = {0};
    tl_lines truth = {0};
    int64_t calls = -1;
    if (tl_list_all(s, parent_type, false, &parents) != 0 || tl_truth(s, table, &truth) != 0)
        goto done;
    int64_t *links = calloc(parents.os_count ? parents.os_count : 1, sizeof(*links));
    if (!links)
        goto done;
    for (size_t k = 0; k < truth.l_count; k++) {
        const char *tab = strchr(truth.l_items[k], '\t');
        uint64_t id = tab ? strtoull(tab + 1, NULL, 10) : 0;
        size_t lo = 0, hi = parents.os_count;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (parents.os_items[mid].o_id < id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < parents.os_count && parents.os_items[lo].o_id == id)
            links[lo]++;
    }
    calls = 0;
    for (size_t first = 0; first < parents.os_count; first += 1000) {
        size_t end = first + 1000 < parents.os_count ? first + 1000 : parents.os_count;
        int64_t rounds = 1;
        for (size_t i = first; i < end; i++) {
            int64_t pages = links[i] ? (links[i] + page_size - 1) / page_size : 1;
            if (pages > rounds)
                rounds = pages;
        }
        calls += rounds;
    }
    free(links);
done:
    tl_objects_free(&parents);
    tl_lines_free(&truth);
    return calls;
}

static const char *const PARENT_OF[] = {"companies", "companies", "companies",
                                        "contacts",  "contacts",  "deals"};

static const char *const FAST[] = {"--rate", "100000/1s", "--search-rate", "1000/1s", NULL};

static void test_full_scan_equals_truth(void)
{
    tl_sim s = {0};
    char db[64];
    it_make_db(db, sizeof(db));
    /* No rollups: no count to tell heavy parents by, so none is read ahead
     * in a batch of its own, and every batch's calls are its parents'
     * pages (with them, heavy parents of several batches share their
     * paging rounds: fewer calls, in a number that depends on timing). */
    const char *args[] = {"--contacts", "50000",     "--companies", "10000",  "--deals",
                          "20000",      "--tickets", "5000",        "--tier", "unlimited",
                          "--rollups",  "none",      NULL};
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    const char *setup[] = {"setup", NULL};
    REQUIRE(it_hubsync(&s, db, setup, 60000, NULL) == 0);
    tl_resp reset = {0};
    REQUIRE(tl_post_json(&s, "/_sim/reset-stats", NULL, "{}", &reset) == 0);
    tl_resp_free(&reset);
    const char *run[] = {"run",   "--workers", "2",     "--inflight", "4",
                         FAST[0], FAST[1],     FAST[2], FAST[3],      NULL};
    REQUIRE(it_hubsync(&s, db, run, 300000, NULL) == 0);
    CHECK(it_mirror_equals_truth(&s, db));
    /* Exactly the batch reads the portal needs, per table. */
    json_object *st = tl_stats(&s);
    for (int i = 0; i < HS_DEFAULT_TABLE_COUNT; i++) {
        char name[48], key[160];
        hs_table t = hs_default_tables[i];
        hs_table_name(t, name, sizeof(name));
        snprintf(key, sizeof(key), "POST /crm/v4/associations/%s/%s/batch/read",
                 hs_object(t.t_parent)->oi_plural, hs_object(t.t_child)->oi_plural);
        json_object *reqs = tl_jget(st, "requests"), *v = NULL;
        int64_t got = json_object_object_get_ex(reqs, key, &v) ? json_object_get_int64(v) : -1;
        int64_t want = expected_assoc_calls(&s, name, PARENT_OF[i], 500);
        CHECKF(got == want, "%s: %lld batch reads, expected %lld", name, (long long)got,
               (long long)want);
    }
    json_object_put(st);
    /* A second run over an unchanged portal changes nothing. */
    REQUIRE(it_hubsync(&s, db, run, 300000, NULL) == 0);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

static void test_budget_saturated_without_429(void)
{
    tl_sim s = {0};
    char db[64];
    it_make_db(db, sizeof(db));
    const char *args[] = {
        "--contacts",      "4000", "--companies", "800",    "--deals",       "2000",
        "--tickets",       "400",  "--rate",      "100/2s", "--search-rate", "0",
        "--heavy-parents", "1",    NULL};
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    const char *run[] = {"run", "--workers", "2", "--inflight", "4", "--rate", "100/2s", NULL};
    REQUIRE(it_hubsync(&s, db, run, 120000, NULL) == 0);
    int64_t total = tl_stat_int(&s, "total");
    int64_t span = tl_stat_int(&s, "last_request_ms") - tl_stat_int(&s, "first_request_ms");
    double rate = span > 0 ? (double)(total - 1) * 1000.0 / (double)span : 0;
    fprintf(stderr, "    %lld requests in %.2f s: %.1f/s against a limit of 100/2s\n",
            (long long)total, (double)span / 1000.0, rate);
    CHECK_EQ(tl_stat_int(&s, "rate_limited.TEN_SECONDLY_ROLLING"), 0);
    CHECK(tl_stat_int(&s, "max_in_window") <= 100);
    /* Paced over the window plus a margin of at least 100 ms: 100 per
     * 2.1 s, 47.6/s at most. */
    CHECK(rate >= 0.9 * 50);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

static void test_killed_runs_resume(void)
{
    tl_sim s = {0};
    char db[64];
    it_make_db(db, sizeof(db));
    const char *args[] = {
        "--contacts",        "3000", "--companies", "3000",  "--deals",       "3000",
        "--tickets",         "3000", "--rate",      "40/1s", "--search-rate", "0",
        "--assoc-page-size", "100",  NULL};
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    const char *run[] = {"run", "--workers", "2", "--inflight", "2", "--rate", "40/1s", NULL};
    /* Three runs SIGKILLed (with their workers) at fixed pseudo-random
     * instants, then one left to finish. */
    /* Count what a scan needs with the limit lifted (the test's own reads
     * must not spend the run's budget), then put it back. */
    tl_resp cfg = {0};
    REQUIRE(tl_post_json(&s, "/_sim/config", NULL, "{\"rate\":\"0\"}", &cfg) == 0);
    tl_resp_free(&cfg);
    int64_t needed = 0;
    for (int i = 0; i < HS_DEFAULT_TABLE_COUNT; i++) {
        char name[48];
        hs_table_name(hs_default_tables[i], name, sizeof(name));
        needed += expected_assoc_calls(&s, name, PARENT_OF[i], 100);
    }
    REQUIRE(tl_post_json(&s, "/_sim/config", NULL, "{\"rate\":\"40/1s\"}", &cfg) == 0);
    tl_resp_free(&cfg);
    REQUIRE(tl_post_json(&s, "/_sim/reset-stats", NULL, "{}", &cfg) == 0);
    tl_resp_free(&cfg);
    srand(20261129);
    for (int k = 0; k < 3; k++) {
        /* The first run lists the objects (~2.4 s) before scanning; resumed
         * runs go straight to the scan. None may finish. */
        int64_t at_ms = k == 0 ? 2800 + rand() % 700 : 700 + rand() % 600;
        int rc = it_hubsync(&s, db, run, at_ms, NULL);
        fprintf(stderr, "    run %d killed after %lld ms (exit %d)\n", k + 1, (long long)at_ms, rc);
    }
    int64_t before_last = it_assoc_calls(&s);
    const char *last_run[] = {"run",    "--workers", "2",      "--inflight", "2",
                              "--rate", "40/1s",     "--json", NULL};
    char *summary = NULL;
    CHECK_EQ(it_hubsync(&s, db, last_run, 120000, &summary), 0);
    int64_t last = it_assoc_calls(&s) - before_last, all = it_assoc_calls(&s);
    /* Parents the last run merged: only those no killed run had merged. */
    json_object *js = summary ? json_tokener_parse(summary) : NULL;
    int64_t merged_last = 0;
    for (size_t i = 0; i < tl_jlen(js, "tables"); i++) {
        char path[64];
        snprintf(path, sizeof(path), "tables.%zu.parents", i);
        merged_last += tl_jint_or(js, path, 0);
    }
    json_object_put(js);
    free(summary);
    fprintf(stderr,
            "    batch reads: %lld in all runs, %lld in the last (which merged %lld parents of "
            "18000); a scan needs %lld\n",
            (long long)all, (long long)last, (long long)merged_last, (long long)needed);
    CHECK(it_mirror_equals_truth(&s, db));
    /* What the killed runs committed is not fetched again: the last run
     * merges fewer parents than a scan, and the runs together cost at most
     * a scan plus what was in flight at each kill (at most a run's calls:
     * 40/s for ~1.3 s). */
    CHECK_OP(merged_last, <, 17000);
    CHECK_OP(all, <=, needed + 3 * 55);
done:
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* One child process of `parent` (a worker), or -1. */
static pid_t child_of(pid_t parent)
{
    pid_t child;
    return it_children(parent, &child, 1) == 1 ? child : -1;
}

static void test_sigterm_drains(void)
{
    tl_sim s = {0};
    char db[64];
    it_make_db(db, sizeof(db));
    const char *args[] = {"--contacts",    "3000",      "--companies", "3000",   "--deals",
                          "3000",          "--tickets", "3000",        "--rate", "40/1s",
                          "--search-rate", "0",         NULL};
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    const char *run[] = {"run", "--workers", "2", "--inflight", "2", "--rate", "20/1s", NULL};
    char log[96];
    snprintf(log, sizeof(log), "%s.stderr", db);
    pid_t pid = it_hubsync_start_to(&s, db, run, "/dev/null", log);
    REQUIRE(pid > 0);
    /* A scan needs ~50 batch reads, ~2.5 s at 20/s: stop it after 5. The
     * signal goes to the whole process group, as a plain scancel or a
     * terminal's Ctrl-C sends it: the workers leave the stopping to the
     * coordinator, so none dies with its work. */
    CHECK(it_wait_assoc_calls(&s, 5, 30000));
    int64_t t0 = tl_now_ms();
    kill(-pid, SIGTERM);
    int rc = it_wait_exit(pid, 10000);
    int64_t took = tl_now_ms() - t0;
    fprintf(stderr, "    SIGTERM to the group: exit %d after %lld ms\n", rc, (long long)took);
    CHECK_EQ(rc, 1); /* drained, incomplete: safe to rerun */
    CHECK_OP(took, <, 5000);
    char *text = NULL;
    FILE *f = fopen(log, "r");
    if (f) {
        size_t cap = 0;
        (void)!getdelim(&text, &cap, '\0', f);
        fclose(f);
    }
    CHECKF(text && strstr(text, "draining") && !strstr(text, "died"), "%s", text ? text : "");
    free(text);
    unlink(log);
    CHECK_EQ(it_hubsync(&s, db, run, 120000, NULL), 0);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

static void test_killed_worker_is_replaced(void)
{
    tl_sim s = {0};
    char db[64];
    it_make_db(db, sizeof(db));
    const char *args[] = {"--contacts",    "3000",      "--companies", "3000",   "--deals",
                          "3000",          "--tickets", "3000",        "--rate", "40/1s",
                          "--search-rate", "0",         NULL};
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    const char *run[] = {"run", "--workers", "2", "--inflight", "2", "--rate", "40/1s", NULL};
    pid_t pid = it_hubsync_start(&s, db, run);
    REQUIRE(pid > 0);
    CHECK(it_wait_assoc_calls(&s, 5, 30000));
    pid_t worker = child_of(pid);
    CHECK(worker > 0);
    if (worker > 0)
        kill(worker, SIGKILL);
    /* The same run reclaims its jobs, respawns it and finishes. */
    CHECK_EQ(it_wait_exit(pid, 120000), 0);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

static void test_second_run_is_locked_out(void)
{
    tl_sim s = {0};
    char db[64];
    it_make_db(db, sizeof(db));
    const char *args[] = {"--contacts",    "2000",      "--companies", "500",    "--deals",
                          "1000",          "--tickets", "200",         "--rate", "40/1s",
                          "--search-rate", "0",         NULL};
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    const char *run[] = {"run", "--workers", "1", "--rate", "40/1s", NULL};
    pid_t pid = it_hubsync_start(&s, db, run);
    REQUIRE(pid > 0);
    /* Once HubSpot sees the first run's requests it holds the database
     * (it opens it before it publishes a job): a second one exits 4 at
     * once. */
    CHECK(it_wait_requests(&s, 1, 30000));
    int64_t t0 = tl_now_ms();
    CHECK_EQ(it_hubsync(&s, db, run, 10000, NULL), 4);
    CHECK_OP(tl_now_ms() - t0, <, 3000);
    CHECK_EQ(it_wait_exit(pid, 60000), 0);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

static void test_daily_limit_exit_5(void)
{
    tl_sim s = {0};
    char db[64];
    it_make_db(db, sizeof(db));
    const char *args[] = {"--contacts", "2000",      "--companies", "500",    "--deals",
                          "1000",       "--tickets", "200",         "--rate", "0",
                          "--daily",    "25",        NULL};
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    const char *run[] = {"run", "--workers", "2", FAST[0], FAST[1], NULL};
    /* The portal's daily budget runs out mid-run: exit 5, nothing lost. */
    CHECK_EQ(it_hubsync(&s, db, run, 60000, NULL), 5);
    tl_resp cfg = {0};
    REQUIRE(tl_post_json(&s, "/_sim/config", NULL, "{\"daily\":0}", &cfg) == 0);
    tl_resp_free(&cfg);
    CHECK_EQ(it_hubsync(&s, db, run, 60000, NULL), 0);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* Lines of the file at `path` that contain `needle` (0 when unreadable). */
static int lines_with(const char *path, const char *needle)
{
    char line[1024];
    int n = 0;
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return n;
}

static void test_loop_until_sigterm(void)
{
    tl_sim s = {0};
    char db[64], err_path[96];
    it_make_db(db, sizeof(db));
    const char *args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", NULL};
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    snprintf(err_path, sizeof(err_path), "%s/stderr", db);
    const char *run[] = {"run", "--loop", "--interval", "3", "--workers",
                         "1",   FAST[0],  FAST[1],      NULL};
    pid_t pid = it_hubsync_start_to(&s, db, run, NULL, err_path);
    REQUIRE(pid > 0);
    /* SIGTERM in the pause after the second run: it begins when the run
     * says when the next one starts. */
    int64_t end = tl_now_ms() + 30000;
    while (tl_now_ms() < end && lines_with(err_path, "next run in 3 s") < 2)
        tl_sleep_ms(20);
    CHECK_EQ(lines_with(err_path, "next run in 3 s"), 2);
    kill(pid, SIGTERM);
    CHECK_EQ(it_wait_exit(pid, 5000), 0);
    /* At least two runs: each reads the single companies batch. */
    json_object *st = tl_stats(&s);
    CHECK_OP(tl_jint_or(st, "requests.POST /crm/v4/associations/companies/contacts/batch/read", 0),
             >=, 2);
    json_object_put(st);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* The first pass lists each type in parallel chains of ID ranges, and
 * while the burst budget is booked, pages go to the search budget: both
 * budgets busy, no 429, the mirror exact. */
static void test_first_list_uses_both_budgets(void)
{
    tl_sim s = {0};
    char db[64];
    it_make_db(db, sizeof(db));
    const char *args[] = {"--contacts",    "6000",      "--companies",  "1500",   "--deals",
                          "3000",          "--tickets", "800",          "--rate", "50/1s",
                          "--search-rate", "10/1s",     "--latency-ms", "80",     NULL};
    const char *run[] = {"run",   "--json",     "--rate", "50/1s", "--search-rate",
                         "10/1s", "--inflight", "4",      NULL};
    char *out = NULL;
    json_object *sum = NULL;
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    CHECK_EQ(it_hubsync(&s, db, run, 120000, &out), 0);
    sum = out ? json_tokener_parse(out) : NULL;
    int64_t list = 0, search = 0;
    for (size_t i = 0; i < tl_jlen(sum, "objects"); i++) {
        char path[64];
        snprintf(path, sizeof(path), "objects.%zu.list_calls", i);
        list += tl_jint_or(sum, path, 0);
        snprintf(path, sizeof(path), "objects.%zu.search_calls", i);
        search += tl_jint_or(sum, path, 0);
    }
    int64_t throttled = tl_stat_int(&s, "status.429");
    fprintf(stderr, "    object sync: %lld list pages, %lld searches; %lld 429s\n", (long long)list,
            (long long)search, (long long)(throttled < 0 ? 0 : throttled));
    CHECK_OP(search, >, 3); /* a probe per type, and pages besides */
    CHECK_OP(throttled, <=, 0);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    json_object_put(sum);
    free(out);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

int it_register_sync(void)
{
    CU_pSuite s = it_add_suite("sync");
    if (!s || it_add_test(s, "full_scan_equals_truth", test_full_scan_equals_truth) ||
        it_add_test(s, "budget_saturated_without_429", test_budget_saturated_without_429) ||
        it_add_test(s, "killed_runs_resume", test_killed_runs_resume) ||
        it_add_test(s, "sigterm_drains", test_sigterm_drains) ||
        it_add_test(s, "killed_worker_is_replaced", test_killed_worker_is_replaced) ||
        it_add_test(s, "loop_until_sigterm", test_loop_until_sigterm) ||
        it_add_test(s, "second_run_is_locked_out", test_second_run_is_locked_out) ||
        it_add_test(s, "daily_limit_exit_5", test_daily_limit_exit_5) ||
        it_add_test(s, "first_list_uses_both_budgets", test_first_list_uses_both_budgets))
        return -1;
    return 0;
}
