/*
 * it_ops — the run controls a scheduler needs (issue 8): --metrics-file
 * (Prometheus text format, parsed by the reference parser, replaced
 * atomically, success times carried over failed runs), --max-duration
 * (drain and exit 1 when the window ends; the next run resumes),
 * --budget-fraction (a share of the burst limit, measured by the
 * simulator), and HubSpot's daily count in the summary.
 */
#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_hubsync.h"
#include "it_suites.h"

#define PROM_TO_JSON "scripts/prom-to-json.py"

/* The metrics file parsed by the reference parser (NULL when it does not
 * parse: the parser's complaint is printed). */
static json_object *parse_metrics(const char *path)
{
    const char *args[] = {path, NULL};
    int status = 0;
    char *out = NULL, *err = NULL;
    json_object *j = NULL;
    if (tl_run(PROM_TO_JSON, args, 30000, &status, &out, &err) == 0 && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0)
        j = json_tokener_parse(out);
    else
        fprintf(stderr, "    %s %s: %s\n", PROM_TO_JSON, path, err ? err : "did not run");
    free(out);
    free(err);
    return j;
}

/* A sample's value ("name{k=v,…}" with labels sorted), or -1. */
static double sample(json_object *m, const char *key)
{
    json_object *samples = NULL, *v = NULL;
    if (!json_object_object_get_ex(m, "samples", &samples) ||
        !json_object_object_get_ex(samples, key, &v))
        return -1;
    return json_object_get_double(v);
}

/* The sum of every sample of family `name`. */
static double family_sum(json_object *m, const char *name)
{
    json_object *samples = NULL;
    double sum = 0;
    size_t n = strlen(name);
    if (!json_object_object_get_ex(m, "samples", &samples))
        return -1;
    json_object_object_foreach(samples, key, val)
    {
        if (strncmp(key, name, n) == 0 && key[n] == '{')
            sum += json_object_get_double(val);
    }
    return sum;
}

/* Files in dir other than `keep` (leftover temporary files). */
static int strays(const char *dir, const char *keep)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (de->d_name[0] != '.' && strcmp(de->d_name, keep) != 0) {
            fprintf(stderr, "    stray file %s/%s\n", dir, de->d_name);
            n++;
        }
    if (d)
        closedir(d);
    return n;
}

/* A successful run's metrics agree with its summary; a failed run's
 * metrics say so and keep the last success times. */
static void test_metrics_file(void)
{
    tl_sim s = {0};
    char db[64], dir[64], path[128];
    /* Limits as a private app meets them, daily headers included. */
    const char *args[] = {IT_SMALL_PORTAL, "--rate", "100/1s", NULL};
    json_object *sum = NULL, *m1 = NULL, *m2 = NULL;
    it_make_db(db, sizeof(db));
    it_make_db(dir, sizeof(dir));
    REQUIRE(db[0] && dir[0]);
    snprintf(path, sizeof(path), "%s/hubsync.prom", dir);
    REQUIRE(tl_sim_start(&s, args) == 0);
    const char *setup[] = {"setup", NULL};
    REQUIRE(it_hubsync(&s, db, setup, 60000, NULL) == 0);
    const char *flags[] = {"--metrics-file", path, "--lag-ms", "100", "--rate", "100/1s", NULL};
    CHECK_EQ(it_run_json(&s, db, flags, &sum), 0);
    m1 = parse_metrics(path);
    REQUIRE(m1 != NULL);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
    CHECK_EQ(strays(dir, "hubsync.prom"), 0);
    CHECK_EQ(sample(m1, "hubsync_last_run_exit_code{}"), 0);
    CHECK_EQ(sample(m1, "hubsync_last_run_success{}"), 1);
    double success = sample(m1, "hubsync_last_success_timestamp_seconds{}");
    CHECK(success > 1.7e9);
    /* Every request of the summary is in the metrics, by endpoint. */
    CHECK_EQ(family_sum(m1, "hubsync_last_run_requests"), tl_jint_or(sum, "calls", -2));
    CHECK_EQ(family_sum(m1, "hubsync_last_run_retries"), tl_jint_or(sum, "retries", -2));
    CHECK_EQ(sample(m1, "hubsync_last_run_requests{endpoint=associations_batch_read,"
                        "resource=contacts_deals}"),
             tl_jint_or(sum, "tables.3.assoc_calls", -2));
    CHECK_EQ(family_sum(m1, "hubsync_table_complete"), 6);
    CHECK_EQ(family_sum(m1, "hubsync_last_run_associations_added"),
             tl_jint_or(sum, "tables.0.added", 0) + tl_jint_or(sum, "tables.1.added", 0) +
                 tl_jint_or(sum, "tables.2.added", 0) + tl_jint_or(sum, "tables.3.added", 0) +
                 tl_jint_or(sum, "tables.4.added", 0) + tl_jint_or(sum, "tables.5.added", 0));
    double lag = sample(m1, "hubsync_cursor_lag_seconds{table=contacts_deals}");
    CHECK(lag >= 0 && lag < 60);
    CHECK(sample(m1, "hubsync_daily_remaining{}") > 0);       /* private apps get the headers */
    CHECK_EQ(sample(m1, "hubsync_clock_ahead_seconds{}"), 0); /* the clocks agree */

    /* A failed run: HubSpot refuses the change search (exit 1). */
    REQUIRE(it_sim_post(&s, "/_sim/config", "{\"fault_search_400\":1}") == 0);
    json_object_put(tl_mutate(&s, "{\"count\":10}"));
    tl_sleep_ms(200);
    CHECK_EQ(it_run_json(&s, db, flags, NULL), 1);
    m2 = parse_metrics(path);
    REQUIRE(m2 != NULL);
    CHECK_EQ(sample(m2, "hubsync_last_run_exit_code{}"), 1);
    CHECK_EQ(sample(m2, "hubsync_last_run_success{}"), 0);
    CHECK_EQ(sample(m2, "hubsync_last_success_timestamp_seconds{}"), success);
    CHECK_EQ(sample(m2, "hubsync_table_last_success_timestamp_seconds{table=contacts_deals}"),
             sample(m1, "hubsync_table_last_success_timestamp_seconds{table=contacts_deals}"));
    CHECK_EQ(strays(dir, "hubsync.prom"), 0);
    fprintf(stderr, "    %d samples parsed; the failed run kept the success time %.3f\n",
            json_object_object_length(tl_jget(m1, "samples")), success);
done:
    json_object_put(sum);
    json_object_put(m1);
    json_object_put(m2);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
    it_remove_db(dir);
}

/* A run told to end after a second drains and exits 1; the next run
 * resumes and finishes; with --loop the window ends the pauses too. */
static void test_max_duration(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {"--contacts",    "3000",      "--companies", "3000",   "--deals",
                          "3000",          "--tickets", "3000",        "--rate", "40/1s",
                          "--search-rate", "0",         NULL};
    const char *run[] = {"run",   "--progress",     "never", "--rate",
                         "20/1s", "--max-duration", "1",     NULL};
    it_make_db(db, sizeof(db));
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    int64_t t0 = tl_now_ms();
    CHECK_EQ(it_hubsync(&s, db, run, 60000, NULL), 1);
    int64_t took = tl_now_ms() - t0;
    int64_t reads = it_assoc_calls(&s);
    fprintf(stderr, "    --max-duration 1: exit 1 after %lld ms, %lld batch reads\n",
            (long long)took, (long long)reads);
    CHECK_OP(took, >=, 1000);
    CHECK_OP(took, <, 6000); /* the window, then the drain */
    /* The first list was cut short: its progress is stored, the listed ID
     * ranges and when it began, and the next run resumes it. */
    store_state *st = calloc(1, sizeof(*st));
    REQUIRE(st != NULL);
    CHECK_EQ(it_read_state(db, "objects.contacts", st), 0);
    fprintf(stderr, "    stored: %s cursor, %u ranges listed, the list began at %lld\n",
            store_cursor_kind_name(st->ss_cursor.cu_kind), st->ss_ndone,
            (long long)st->ss_scan_started_ms);
    CHECK_EQ(st->ss_cursor.cu_kind, STORE_CURSOR_OBJECT_ID);
    CHECK_OP(st->ss_ndone, >=, 1);
    CHECK(st->ss_scan_started_ms > 0);
    const char *rest[] = {"run", "--progress", "never", "--rate", "40/1s", NULL};
    char *err = NULL;
    CHECK_EQ(it_hubsync_full(&s, db, rest, 120000, NULL, &err), 0);
    CHECK(err && strstr(err, "resuming the list of contacts"));
    free(err);
    CHECK(it_mirror_equals_truth(&s, db));
    CHECK_EQ(it_read_state(db, "objects.contacts", st), 0);
    CHECK_EQ(st->ss_cursor.cu_kind, STORE_CURSOR_TIMESTAMP_MS);
    CHECK_EQ(st->ss_ndone, 0);
    free(st);
    /* --loop: the window ends a pause between runs (exit 0, nothing was cut).
     * The run itself takes about 2 s (under ASan more): it starts at what
     * the previous run left of the simulator's window, as a portal's other
     * apps would leave it (budget_learn). */
    const char *loop[] = {"run",    "--progress", "never",          "--loop", "--interval", "60",
                          "--rate", "40/1s",      "--max-duration", "8",      NULL};
    t0 = tl_now_ms();
    CHECK_EQ(it_hubsync(&s, db, loop, 60000, NULL), 0);
    took = tl_now_ms() - t0;
    fprintf(stderr, "    --loop --max-duration 8: exit 0 after %lld ms\n", (long long)took);
    CHECK_OP(took, >=, 8000);
    CHECK_OP(took, <, 12000);
done:
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* --budget-fraction 0.5 of a 40/1s limit: no one-second window of the
 * simulator's ever holds more than 20 requests, and the run still uses most
 * of its share. */
static void test_budget_fraction(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {"--contacts",    "3000",      "--companies", "2000",   "--deals",
                          "3000",          "--tickets", "1000",        "--rate", "40/1s",
                          "--search-rate", "0",         NULL};
    const char *flags[] = {"--rate", "40/1s", "--budget-fraction", "0.5", NULL};
    json_object *sum = NULL;
    it_make_db(db, sizeof(db));
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    CHECK_EQ(it_run_json(&s, db, flags, &sum), 0);
    int64_t most = tl_stat_int(&s, "max_in_window");
    int64_t throttled = tl_stat_int(&s, "status.429");
    double rate = json_object_get_double(tl_jget(sum, "rate_per_s"));
    fprintf(stderr,
            "    --budget-fraction 0.5 of 40/1s: at most %lld requests in a second, %.1f/s "
            "achieved, %lld 429s\n",
            (long long)most, rate, (long long)(throttled < 0 ? 0 : throttled));
    CHECK_OP(most, <=, 20);
    CHECK_OP(throttled, <=, 0);
    CHECK(rate > 12 && rate <= 20.5);
    CHECK(json_object_get_double(tl_jget(sum, "budget_fraction")) == 0.5);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    json_object_put(sum);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* One progress frame's "N/M parents" or "N/M objects": false when the
 * frame has none. */
static bool frame_count(const char *frame, const char *what, unsigned long long *n,
                        unsigned long long *m)
{
    for (const char *p = frame; (p = strchr(p, '/')) != NULL; p++) {
        const char *q = p;
        while (q > frame && q[-1] >= '0' && q[-1] <= '9')
            q--;
        char word[16];
        if (q < p && sscanf(q, "%llu/%llu %15s", n, m, word) == 3 && strcmp(word, what) == 0)
            return true;
    }
    return false;
}

/* The progress line and the summary read right: while the first list
 * runs the line says it is listing (never "1000/0 parents"), no count is
 * drawn above its total, an ETA appears once the totals are known and the
 * last line has none; the summary's rate, over the span of the paced
 * calls, is within the limit, and so is the fullest window. */
static void test_progress_and_pace(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {"--contacts",   "6000",      "--companies", "1500",   "--deals",
                          "3000",         "--tickets", "500",         "--rate", "40/1s",
                          "--latency-ms", "60",        NULL};
    const char *run[] = {"run", "--json", "--progress", "always", "--rate", "40/1s", NULL};
    char *out = NULL, *err = NULL;
    json_object *sum = NULL;
    it_make_db(db, sizeof(db));
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE_EQ(it_hubsync_full(&s, db, run, 300000, &out, &err), 0);
    REQUIRE(err && out && (sum = json_tokener_parse(out)) != NULL);
    unsigned frames = 0, listing = 0, etas = 0;
    char last[512] = "";
    for (char *save = NULL, *f = strtok_r(err, "\r\n", &save); f;
         f = strtok_r(NULL, "\r\n", &save)) {
        if (f[0] != '[')
            continue; /* a log line */
        unsigned long long n, m;
        frames++;
        listing += strstr(f, "listing ") != NULL;
        etas += strstr(f, "ETA ") != NULL;
        if (frame_count(f, "parents", &n, &m))
            CHECKF(n <= m && m > 0, "a count above its total: %s", f);
        if (frame_count(f, "objects", &n, &m))
            CHECKF(n <= m && m > 0, "a listed count above its total: %s", f);
        snprintf(last, sizeof(last), "%s", f);
    }
    double rate = json_object_get_double(tl_jget(sum, "rate_per_s"));
    double limit = json_object_get_double(tl_jget(sum, "rate_limit_per_s"));
    double span = json_object_get_double(tl_jget(sum, "span_seconds"));
    double seconds = json_object_get_double(tl_jget(sum, "seconds"));
    int64_t fullest = json_object_get_int64(tl_jget(sum, "fullest_window"));
    fprintf(stderr,
            "    %u frames (%u listing, %u with an ETA); %.1f/s over %.1f of %.1f s, limit "
            "%.1f/s; fullest window %lld of 40\n    last: %s\n",
            frames, listing, etas, rate, span, seconds, limit, (long long)fullest, last);
    CHECK_OP(frames, >=, 4);
    CHECK_OP(listing, >=, 1);
    CHECK_OP(etas, >=, 1);
    CHECKF(strstr(last, " parents") && !strstr(last, "ETA") && !strstr(last, "listing"),
           "last line: %s", last);
    CHECK(limit == 40);
    CHECK(rate > 0 && rate <= limit);
    CHECK(span > 0 && span <= seconds);
    CHECK(fullest > 0 && fullest <= 40);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    json_object_put(sum);
    free(out);
    free(err);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* JSON log lines carry stable fields a pipeline can filter on: each table's
 * route_chosen and table_done (its parents and batch reads, as the summary
 * has them), the run_summary with the run's calls, and, last, the exit. */
static void test_log_events(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", NULL};
    const char *run[] = {
        "--log-format", "json", "run", "--tables", "contacts_deals,companies_contacts", NULL};
    char *err = NULL;
    json_object *summary = NULL, *last = NULL;
    int chosen = 0, done = 0, lines = 0;
    int64_t done_parents = 0, done_calls = 0;
    it_make_db(db, sizeof(db));
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE_EQ(it_hubsync_full(&s, db, run, 120000, NULL, &err), 0);
    for (char *save = NULL, *l = strtok_r(err, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        json_object *j = json_tokener_parse(l);
        REQUIREF(j != NULL, "not JSON: %s", l);
        lines++;
        const char *ev = tl_jstr(j, "event");
        CHECKF(ev != NULL, "no event: %s", l);
        if (ev && strcmp(ev, "route_chosen") == 0) {
            chosen++;
            CHECK(tl_jstr(j, "table") && strcmp(tl_jstr(j, "route"), "full_scan") == 0);
        } else if (ev && strcmp(ev, "table_done") == 0) {
            done++;
            done_parents += tl_jint_or(j, "parents", -1);
            done_calls += tl_jint_or(j, "calls", -1);
        } else if (ev && strcmp(ev, "run_summary") == 0) {
            json_object_put(summary);
            summary = json_object_get(j);
        }
        json_object_put(last);
        last = j;
    }
    CHECK_EQ(chosen, 2);
    CHECK_EQ(done, 2);
    REQUIRE(summary != NULL);
    json_object *tables = tl_jget(summary, "summary.tables");
    int64_t sum_parents = 0, sum_calls = 0;
    for (size_t i = 0; tables && i < json_object_array_length(tables); i++) {
        sum_parents += tl_jint_or(json_object_array_get_idx(tables, i), "parents", 0);
        sum_calls += tl_jint_or(json_object_array_get_idx(tables, i), "assoc_calls", 0);
    }
    CHECK(sum_parents > 0 && done_parents == sum_parents);
    CHECK_EQ(done_calls, sum_calls);
    CHECK_EQ(tl_jint_or(summary, "calls", -1), tl_jint_or(summary, "summary.calls", -2));
    REQUIRE(last != NULL);
    CHECKF(strcmp(tl_jstr(last, "event"), "exit") == 0, "last line: %s",
           json_object_to_json_string(last));
    CHECK_EQ(tl_jint_or(last, "exit_code", -1), 0);
    fprintf(stderr, "    %d JSON lines: 2 route_chosen, 2 table_done (%lld parents), exit 0\n",
            lines, (long long)done_parents);
done:
    json_object_put(summary);
    json_object_put(last);
    free(err);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* -v traces a run's jobs: every job published is done, each line says
 * what it asked (a batch read names its table), and no trace without -v. */
static void test_verbose_trace(void)
{
    tl_sim s = {0};
    char db[64];
    const char *args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", NULL};
    const char *quiet_run[] = {"run", "--progress", "never", "--full-scan", NULL};
    const char *run[] = {"-v", "run", "--progress", "never", NULL};
    char *err = NULL;
    it_make_db(db, sizeof(db));
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE_EQ(it_hubsync_full(&s, db, run, 120000, NULL, &err), 0);
    size_t published = 0, done = 0, reads = 0;
    for (const char *p = err; (p = strstr(p, "job ")) != NULL; p++) {
        const char *colon = strchr(p, ':');
        if (!colon)
            break;
        published += strncmp(colon - 9, "published", 9) == 0;
        done += strstr(p, " done after ") && strstr(p, " done after ") < colon;
        reads +=
            strncmp(colon, ": batch read ", 13) == 0 && strncmp(colon - 9, "published", 9) == 0;
    }
    fprintf(stderr, "    -v: %zu jobs published (%zu batch reads), %zu done\n", published, reads,
            done);
    CHECK(published > 0 && done == published && reads > 0);
    free(err);
    err = NULL;
    REQUIRE_EQ(it_hubsync_full(&s, db, quiet_run, 120000, NULL, &err), 0);
    CHECKF(!strstr(err, " published: "), "a trace without -v: %.200s", err);
done:
    free(err);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* Bad values of the new flags: exit 2 naming the flag, nothing created. */
static void test_bad_controls(void)
{
    tl_sim s = {0};
    char db[96], dir[64], sub[128];
    const char *args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", NULL};
    it_make_db(dir, sizeof(dir));
    REQUIRE(dir[0]);
    snprintf(db, sizeof(db), "%s/db", dir);
    snprintf(sub, sizeof(sub), "%s/no/such/folder/m.prom", dir);
    REQUIRE(tl_sim_start(&s, args) == 0);
    static const struct {
        const char *argv[6];
        const char *says;
    } rows[] = {
        {{"run", "--budget-fraction", "0"}, "--budget-fraction"},
        {{"run", "--budget-fraction", "1.5"}, "--budget-fraction"},
        {{"run", "--budget-fraction", "-0.5"}, "--budget-fraction"},
        {{"run", "--budget-fraction", "0.5x"}, "--budget-fraction"},
        {{"run", "--budget-fraction", "1e-1"}, "--budget-fraction"},
        {{"run", "--budget-fraction", "nan"}, "--budget-fraction"},
        {{"run", "--budget-fraction", "."}, "--budget-fraction"},
        {{"run", "--budget-fraction", "0.5", "--rate", "0"}, "--rate 0"},
        {{"run", "--max-duration", "0"}, "--max-duration"},
        {{"run", "--max-duration", "1h"}, "--max-duration"},
        {{"run", "--metrics-file", ""}, "--metrics-file"},
        {{"run", "--metrics-file", "/"}, "--metrics-file"},
        {{"status", "--max-duration", "10"}, "--max-duration"},
        {{"export", "--budget-fraction", "0.5"}, "--budget-fraction"},
        {{"status", "--metrics-file", "m.prom"}, "--metrics-file"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *err = NULL;
        int rc = it_hubsync_full(&s, db, rows[i].argv, 30000, NULL, &err);
        CHECKF(rc == 2 && err && strstr(err, rows[i].says), "row %zu (%s %s): exit %d: %s", i,
               rows[i].argv[1], rows[i].argv[2] ? rows[i].argv[2] : "", rc, err ? err : "");
        free(err);
    }
    const char *missing[] = {"run", "--metrics-file", sub, NULL};
    char *err = NULL;
    CHECK_EQ(it_hubsync_full(&s, db, missing, 30000, NULL, &err), 2);
    CHECK(err && strstr(err, "no/such/folder"));
    free(err);
    struct stat st;
    CHECK(stat(db, &st) != 0); /* nothing created */
done:
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(dir);
}

int it_register_ops(void)
{
    CU_pSuite s = it_add_suite("ops");
    if (!s || it_add_test(s, "metrics_file", test_metrics_file) ||
        it_add_test(s, "max_duration", test_max_duration) ||
        it_add_test(s, "budget_fraction", test_budget_fraction) ||
        it_add_test(s, "progress_and_pace", test_progress_and_pace) ||
        it_add_test(s, "log_events", test_log_events) ||
        it_add_test(s, "verbose_trace", test_verbose_trace) ||
        it_add_test(s, "bad_controls", test_bad_controls))
        return -1;
    return 0;
}
