/*
 * it_engine — the HTTP engine (common/hubspot/http) against the real
 * simulator: success paths, retries through every injected fault, pacing
 * under the burst limit from one and from several processes with zero 429s,
 * OAuth refresh ahead of expiry and after a 401, refused credentials, the
 * daily limit, and bounded attempts.
 */
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../common/ipc/shm.h"
#include "../../common/hubspot/http.h"
#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_suites.h"

#define MS_NS 1000000ULL

/* What the callbacks of one run saw. */
typedef struct tally {
    int t_done, t_ok, t_failed;
    int t_errors[20]; /* by -ERR_* */
    int t_bad_bodies; /* unparseable bodies handed back for a retry */
    int t_status_401;
    char t_last_message[ERR_MSG_MAX];
} tally;

/* Accepts 200 and 207 with a JSON object body; asks for a retry when the
 * body does not parse (a truncated transfer curl could not detect). */
static http_verdict on_done(void *user, http_request *req, const http_response *resp)
{
    (void)req;
    tally *t = user;
    if (resp->hr_error) {
        t->t_done++;
        t->t_failed++;
        if (-resp->hr_error < 20)
            t->t_errors[-resp->hr_error]++;
        snprintf(t->t_last_message, sizeof(t->t_last_message), "%s", resp->hr_message);
        return HTTP_DONE;
    }
    json_object *j = json_tokener_parse(resp->hr_body);
    bool ok = j && json_object_is_type(j, json_type_object);
    json_object_put(j);
    if ((resp->hr_status == 200 || resp->hr_status == 207) && !ok) {
        t->t_bad_bodies++;
        return HTTP_RETRY;
    }
    t->t_done++;
    t->t_status_401 += resp->hr_status == 401;
    if (resp->hr_status == 200 || resp->hr_status == 207)
        t->t_ok++;
    else
        t->t_failed++;
    return HTTP_DONE;
}

/* Runs the engine until nothing is pending or timeout_ms passes. */
static bool drive(http_engine *eng, int64_t timeout_ms)
{
    int64_t end = tl_now_ms() + timeout_ms;
    while (http_pending(eng) > 0 && tl_now_ms() < end)
        if (http_run(eng, 100, -1, NULL) < 0)
            return false;
    return http_pending(eng) == 0;
}

static void submit_lists(http_engine *eng, tally *t, int n, int limit)
{
    for (int i = 0; i < n; i++) {
        char path[96];
        snprintf(path, sizeof(path), "/crm/v3/objects/contacts?limit=%d", limit);
        http_submit(eng, http_request_new(HTTP_LIST, "GET", path), on_done, t);
    }
}

/* A shared region with the given burst limit (0: unlimited) and a token. */
static shm_region *region(uint32_t workers, uint32_t rate, uint64_t window_ms, uint64_t margin_ms,
                          const char *token)
{
    shm_region *r = NULL;
    if (shm_create(workers, &r, NULL))
        return NULL;
    /* Given limits (the headers change nothing), paced with this margin. */
    budget_init(&r->sr_burst, rate, window_ms * MS_NS, true, 1.0);
    rl_policy_init(&r->sr_burst.bu_rl, rate, window_ms * MS_NS, margin_ms * MS_NS);
    budget_init(&r->sr_search, 0, 1000 * MS_NS, true, 1.0);
    rl_daily_init(&r->sr_daily, 0);
    if (token)
        shm_token_set(r, token, 0);
    return r;
}

static http_config config(tl_sim *s, shm_region *r, int slot, int inflight)
{
    http_config c = {0};
    c.hc_base_url = s->s_base_url;
    c.hc_shm = r;
    c.hc_slot = slot;
    c.hc_inflight = inflight;
    c.hc_backoff_base_ms = 5;
    c.hc_backoff_max_ms = 100;
    c.hc_total_timeout_ms = 10000;
    return c;
}

static int64_t stat_int(tl_sim *s, const char *path)
{
    json_object *st = tl_stats(s);
    int64_t v = tl_jint_or(st, path, -1);
    json_object_put(st);
    return v;
}

static void test_success(void)
{
    tl_sim s = {0};
    shm_region *r = NULL;
    http_engine *eng = NULL;
    tally t = {0};
    const char *args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE((r = region(1, 0, 10000, 0, TL_TOKEN)) != NULL);
    http_config c = config(&s, r, 0, 4);
    REQUIRE(http_engine_create(&c, &eng, NULL) == 0);
    submit_lists(eng, &t, 40, 10);
    for (int i = 0; i < 10; i++) {
        http_request *q = http_request_new(HTTP_ASSOC, "POST",
                                           "/crm/v4/associations/companies/contacts/batch/read");
        jb_lit(http_request_body(q), "{\"inputs\":[{\"id\":\"1\"}]}");
        http_submit(eng, q, on_done, &t);
    }
    REQUIRE(drive(eng, 20000));
    CHECK_EQ(t.t_ok, 50);
    shm_counters *k = &r->sr_slots[0].sl_counters;
    CHECK_EQ((long long)atomic_load(&k->requests), 50);
    CHECK_EQ((long long)atomic_load(&k->req_assoc), 10);
    CHECK_EQ((long long)atomic_load(&k->retries), 0);
    CHECK_EQ(stat_int(&s, "total"), 50);
done:
    http_engine_destroy(eng);
    shm_destroy(r);
    CHECK(tl_sim_stop(&s) == 0);
}

static void test_faults_are_retried(void)
{
    tl_sim s = {0};
    shm_region *r = NULL;
    http_engine *eng = NULL;
    tally t = {0};
    const char *args[] = {IT_SMALL_PORTAL, "--tier",        "unlimited", "--fault-5xx",
                          "0.15",          "--fault-reset", "0.1",       "--fault-truncate",
                          "0.1",           "--fault-429",   "0.1",       NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE((r = region(1, 0, 10000, 0, TL_TOKEN)) != NULL);
    http_config c = config(&s, r, 0, 8);
    c.hc_max_attempts = 20;
    REQUIRE(http_engine_create(&c, &eng, NULL) == 0);
    submit_lists(eng, &t, 120, 100);
    REQUIRE(drive(eng, 60000));
    CHECK_EQ(t.t_ok, 120);
    CHECK_EQ(t.t_failed, 0);
    shm_counters *k = &r->sr_slots[0].sl_counters;
    CHECK(atomic_load(&k->retries) > 0);
    CHECK(atomic_load(&k->net_errors) > 0);
    CHECK(atomic_load(&k->status_5xx) > 0);
    CHECK(atomic_load(&k->status_429) > 0);
    CHECK(stat_int(&s, "faults.reset") > 0 && stat_int(&s, "faults.truncate") > 0);
    /* A connection reset before any answer: libcurl would send the request
     * again by itself, past the limiter (HubSpot counting both sends, the
     * engine one); the engine refuses that resend and sends the request
     * again with a slot of its own. So every request the simulator counted
     * is one the engine sent and counted. */
    int64_t counted = stat_int(&s, "total"), sent = (int64_t)atomic_load(&k->requests);
    CHECK_EQ(counted, sent);
done:
    http_engine_destroy(eng);
    shm_destroy(r);
    CHECK(tl_sim_stop(&s) == 0);
}

static void test_paced_under_burst_limit(void)
{
    tl_sim s = {0};
    shm_region *r = NULL;
    http_engine *eng = NULL;
    tally t = {0};
    const char *args[] = {IT_SMALL_PORTAL, "--rate", "20/1s", "--search-rate", "0", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE((r = region(1, 20, 1000, 20, TL_TOKEN)) != NULL);
    http_config c = config(&s, r, 0, 8);
    REQUIRE(http_engine_create(&c, &eng, NULL) == 0);
    int64_t t0 = tl_now_ms();
    submit_lists(eng, &t, 60, 10);
    REQUIRE(drive(eng, 30000));
    int64_t elapsed = tl_now_ms() - t0;
    CHECK_EQ(t.t_ok, 60);
    CHECK_EQ(stat_int(&s, "rate_limited.TEN_SECONDLY_ROLLING"), 0);
    CHECK(stat_int(&s, "max_in_window") <= 20);
    /* 60 requests at 20 per 1.02 s: just under 3 s, not much more. */
    CHECK_OP(elapsed, >=, 2800);
    CHECK_OP(elapsed, <=, 4500);
done:
    http_engine_destroy(eng);
    shm_destroy(r);
    CHECK(tl_sim_stop(&s) == 0);
}

enum { PROCS = 3, EACH = 30 };

static void test_processes_share_the_limit(void)
{
    tl_sim s = {0};
    shm_region *r = NULL;
    pid_t pids[PROCS] = {0};
    const char *args[] = {IT_SMALL_PORTAL, "--rate", "30/1s", "--search-rate", "0", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE((r = region(PROCS, 30, 1000, 20, TL_TOKEN)) != NULL);
    int64_t t0 = tl_now_ms();
    for (int k = 0; k < PROCS; k++) {
        pids[k] = fork();
        if (pids[k] == 0) {
            /* A worker: its own engine (curl is set up after fork). */
            http_engine *eng = NULL;
            tally t = {0};
            http_config c = config(&s, r, k, 4);
            if (http_engine_create(&c, &eng, NULL))
                _exit(2);
            submit_lists(eng, &t, EACH, 10);
            bool ok = drive(eng, 30000) && t.t_ok == EACH;
            http_engine_destroy(eng);
            _exit(ok ? 0 : 1);
        }
        REQUIRE(pids[k] > 0);
    }
    for (int k = 0; k < PROCS; k++) {
        int status;
        CHECK(waitpid(pids[k], &status, 0) == pids[k] && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0);
        pids[k] = 0;
    }
    int64_t elapsed = tl_now_ms() - t0;
    CHECK_EQ(stat_int(&s, "total"), PROCS * EACH);
    CHECK_EQ(stat_int(&s, "rate_limited.TEN_SECONDLY_ROLLING"), 0);
    CHECK(stat_int(&s, "max_in_window") <= 30);
    CHECK_OP(elapsed, >=, 2800);
    CHECK_OP(elapsed, <=, 5000);
done:
    for (int k = 0; k < PROCS; k++)
        if (pids[k] > 0) {
            kill(pids[k], SIGKILL);
            waitpid(pids[k], NULL, 0);
        }
    shm_destroy(r);
    CHECK(tl_sim_stop(&s) == 0);
}

/* Runs OAuth traffic for about `seconds` at 20 requests/s. */
static void oauth_run(const char *ttl, uint64_t refresh_ahead_ms, tally *t, tl_sim *s,
                      shm_region **rp, int seconds)
{
    const char *args[] = {IT_SMALL_PORTAL, "--auth", "oauth", "--token-ttl", ttl,
                          "--rate",        "0",      NULL};
    http_engine *eng = NULL;
    REQUIRE(tl_sim_start(s, args) == 0);
    REQUIRE((*rp = region(1, 20, 1000, 0, NULL)) != NULL);
    http_config c = config(s, *rp, 0, 4);
    c.hc_refresh_token = "sim-refresh-token";
    c.hc_client_id = "sim-client-id";
    c.hc_client_secret = "sim-client-secret";
    c.hc_refresh_ahead_ms = refresh_ahead_ms;
    REQUIRE(http_engine_create(&c, &eng, NULL) == 0);
    submit_lists(eng, t, 20 * seconds, 10);
    CHECK(drive(eng, 30000));
done:
    http_engine_destroy(eng);
}

static void test_oauth_refresh_ahead(void)
{
    tl_sim s = {0};
    shm_region *r = NULL;
    tally t = {0};
    /* Tokens live 3 s and are renewed 1.5 s before they expire: no 401 ever. */
    oauth_run("3", 1500, &t, &s, &r, 5);
    CHECK_EQ(t.t_ok, 100);
    CHECK_EQ(stat_int(&s, "status.401"), -1); /* no 401 key at all */
    CHECK(stat_int(&s, "tokens_issued") >= 3);
    if (r)
        CHECK(atomic_load(&r->sr_slots[0].sl_counters.token_refreshes) >= 3);
    shm_destroy(r);
    CHECK(tl_sim_stop(&s) == 0);
}

/* Tokens that live shorter than the default 5-minute margin: refreshed a
 * quarter of their life ahead, not before every request (the fault matrix
 * once found 337 refreshes in a 9-second run of 20-second tokens). */
static void test_oauth_short_life_refresh(void)
{
    tl_sim s = {0};
    shm_region *r = NULL;
    tally t = {0};
    oauth_run("4", 0, &t, &s, &r, 5);
    CHECK_EQ(t.t_ok, 100);
    CHECK_EQ(stat_int(&s, "status.401"), -1);
    int64_t issued = stat_int(&s, "tokens_issued");
    fprintf(stderr, "    4 s tokens over ~5 s: %lld issued\n", (long long)issued);
    CHECK_OP(issued, >=, 2); /* renewed at 3 s */
    CHECK_OP(issued, <=, 3);
    shm_destroy(r);
    CHECK(tl_sim_stop(&s) == 0);
}

static void test_oauth_refresh_after_401(void)
{
    tl_sim s = {0};
    shm_region *r = NULL;
    tally t = {0};
    /* Renewed only 1 ms ahead: some requests meet an expired token, get a
     * 401, and are resent once the single refresh has happened. */
    oauth_run("2", 1, &t, &s, &r, 5);
    CHECK_EQ(t.t_ok, 100);
    CHECK_EQ(t.t_status_401, 0); /* never surfaced to the caller */
    int64_t issued = stat_int(&s, "tokens_issued");
    int64_t unauthorized = stat_int(&s, "status.401");
    CHECK(issued >= 3);
    /* At most the transfers in flight at each expiry can meet it. */
    CHECK_OP(unauthorized, <=, 4 * issued);
    shm_destroy(r);
    CHECK(tl_sim_stop(&s) == 0);
}

static void test_bad_credentials(void)
{
    tl_sim s = {0};
    shm_region *r = NULL;
    http_engine *eng = NULL;
    tally t = {0};
    const char *args[] = {IT_SMALL_PORTAL, "--auth", "oauth", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE((r = region(1, 0, 1000, 0, NULL)) != NULL);
    http_config c = config(&s, r, 0, 2);
    c.hc_refresh_token = "wrong";
    c.hc_client_id = "sim-client-id";
    c.hc_client_secret = "sim-client-secret";
    REQUIRE(http_engine_create(&c, &eng, NULL) == 0);
    submit_lists(eng, &t, 5, 10);
    REQUIRE(drive(eng, 10000));
    CHECK_EQ(t.t_errors[-ERR_AUTH], 5);
    CHECK(strstr(t.t_last_message, "BAD_REFRESH_TOKEN") != NULL);
    http_engine_destroy(eng);
    eng = NULL;
    /* A private-app token HubSpot does not know: 401, not retried. */
    shm_token_set(r, "pat-na1-wrong", 0);
    memset(&t, 0, sizeof(t));
    c.hc_refresh_token = NULL;
    REQUIRE(http_engine_create(&c, &eng, NULL) == 0);
    submit_lists(eng, &t, 3, 10);
    REQUIRE(drive(eng, 10000));
    CHECK_EQ(t.t_errors[-ERR_AUTH], 3);
    CHECK(strstr(t.t_last_message, "INVALID_AUTHENTICATION") != NULL);
done:
    http_engine_destroy(eng);
    shm_destroy(r);
    CHECK(tl_sim_stop(&s) == 0);
}

static void test_daily_limit_and_attempts(void)
{
    tl_sim s = {0};
    shm_region *r = NULL;
    http_engine *eng = NULL;
    tally t = {0};
    const char *args[] = {IT_SMALL_PORTAL, "--rate", "0", "--daily", "10", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE((r = region(1, 0, 1000, 0, TL_TOKEN)) != NULL);
    http_config c = config(&s, r, 0, 1);
    REQUIRE(http_engine_create(&c, &eng, NULL) == 0);
    submit_lists(eng, &t, 15, 10);
    REQUIRE(drive(eng, 10000));
    CHECK_EQ(t.t_ok, 10);
    CHECK_EQ(t.t_errors[-ERR_DAILY], 5);
    /* The server's Daily-Remaining reached the shared count: nothing left. */
    CHECK_EQ((long long)rl_daily_remaining(&r->sr_daily, (uint64_t)time(NULL) / 86400),
             (long long)UINT64_MAX); /* unlimited locally: only the server said no */
    http_engine_destroy(eng);
    eng = NULL;
    CHECK(tl_sim_stop(&s) == 0);
    /* Every response a 5xx: bounded attempts, then ERR_HTTP. */
    const char *args2[] = {IT_SMALL_PORTAL, "--tier", "unlimited", "--fault-5xx", "1", NULL};
    REQUIRE(tl_sim_start(&s, args2) == 0);
    memset(&t, 0, sizeof(t));
    c = config(&s, r, 0, 2);
    c.hc_max_attempts = 3;
    REQUIRE(http_engine_create(&c, &eng, NULL) == 0);
    submit_lists(eng, &t, 2, 10);
    REQUIRE(drive(eng, 10000));
    CHECK_EQ(t.t_errors[-ERR_HTTP], 2);
    CHECK(strstr(t.t_last_message, "gave up after 3 attempts") != NULL);
    CHECK_EQ(stat_int(&s, "total"), 6);
done:
    http_engine_destroy(eng);
    shm_destroy(r);
    CHECK(tl_sim_stop(&s) == 0);
}

int it_register_engine(void)
{
    CU_pSuite s = it_add_suite("engine");
    if (!s || it_add_test(s, "success", test_success) ||
        it_add_test(s, "faults_are_retried", test_faults_are_retried) ||
        it_add_test(s, "paced_under_burst_limit", test_paced_under_burst_limit) ||
        it_add_test(s, "processes_share_the_limit", test_processes_share_the_limit) ||
        it_add_test(s, "oauth_refresh_ahead", test_oauth_refresh_ahead) ||
        it_add_test(s, "oauth_short_life_refresh", test_oauth_short_life_refresh) ||
        it_add_test(s, "oauth_refresh_after_401", test_oauth_refresh_after_401) ||
        it_add_test(s, "bad_credentials", test_bad_credentials) ||
        it_add_test(s, "daily_limit_and_attempts", test_daily_limit_and_attempts))
        return -1;
    return 0;
}
