/*
 * it_tls — HTTPS end to end (docs/CLI.md: "plain http:// is accepted only for
 * loopback addresses; TLS certificates are always verified"). Each test
 * makes its own CA and server certificate (scripts/make-test-cert.sh), and
 * serves the simulator over HTTPS with them (--tls-cert, --tls-key):
 *
 * - the simulator's HTTPS face: the ready line, API and admin endpoints,
 *   a client without the CA refused, bad --tls-* options;
 * - `hubsync setup`, `run` and `doctor` with --ca-file: the mirror equals
 *   the truth, before and after mutations;
 * - without --ca-file (or with another CA): exit 2 at once, a message that
 *   names the certificate problem and --ca-file, no HTTP request reached
 *   the simulator, a handful of TLS connections (never retried), nothing
 *   created by setup;
 * - OAuth over HTTPS: the token refresh honours --ca-file, and without it
 *   fails the same way;
 * - the base URL rule: non-loopback http:// in all its disguises refused
 *   with exit 2 before any request, nothing written; loopback forms
 *   accepted, and never sent through an http_proxy from the environment.
 *
 * hubsync runs under `env -i` (it_hubsync_env), so only the variables a test
 * names reach it.
 */
#include <curl/curl.h>
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

enum { TLS_TIMEOUT_MS = 60000 };

/* A scratch directory with a certificate set and an HTTPS simulator. */
typedef struct tls_env {
    char te_dir[64];     /* /tmp/hubsync-it-XXXXXX */
    char te_certs[96];   /* te_dir/certs: ca.pem, server.pem, server.key */
    char te_ca[128];     /* te_certs/ca.pem */
    char te_db[96];      /* te_dir/db (not created by the test) */
    char te_url[128];    /* HUBSPOT_BASE_URL=https://127.0.0.1:PORT */
    char te_ca_arg[160]; /* --ca-file=te_ca */
    tl_sim te_sim;
} tls_env;

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static bool has(const char *text, const char *needle)
{
    return text && strstr(text, needle) != NULL;
}

/* Makes the scratch directory and its certificates (the server's naming
 * `san`, NULL: 127.0.0.1 and localhost); starts the simulator over HTTPS
 * with IT_SMALL_PORTAL, --tier unlimited and `extra` (may be NULL). False
 * when any step failed (tls_end still cleans up). */
static bool tls_begin(tls_env *t, const char *san, const char *const *extra)
{
    memset(t, 0, sizeof(*t));
    it_make_db(t->te_dir, sizeof(t->te_dir));
    if (!t->te_dir[0])
        return false;
    snprintf(t->te_certs, sizeof(t->te_certs), "%s/certs", t->te_dir);
    snprintf(t->te_ca, sizeof(t->te_ca), "%s/ca.pem", t->te_certs);
    snprintf(t->te_db, sizeof(t->te_db), "%s/db", t->te_dir);
    snprintf(t->te_ca_arg, sizeof(t->te_ca_arg), "--ca-file=%s", t->te_ca);
    if (tl_make_test_cert(t->te_certs, san) != 0)
        return false;
    const char *args[32] = {IT_SMALL_PORTAL, "--tier", "unlimited"};
    size_t n = 0;
    while (args[n])
        n++;
    for (size_t i = 0; extra && extra[i] && n + 1 < 32; i++)
        args[n++] = extra[i];
    if (tl_sim_start_tls(&t->te_sim, t->te_certs, args) != 0)
        return false;
    snprintf(t->te_url, sizeof(t->te_url), "HUBSPOT_BASE_URL=%s", t->te_sim.s_base_url);
    return true;
}

/* Stops the simulator (checking it exits cleanly) and removes the scratch. */
static void tls_end(tls_env *t)
{
    if (t->te_sim.s_live)
        CHECK_EQ(tl_sim_stop(&t->te_sim), 0);
    it_remove_db(t->te_dir);
}

/* hubsync CMD --db DB [ARGS…] with the private-app token and the HTTPS
 * simulator's URL. */
static int tls_hubsync(tls_env *t, const char *const *args, char **out, char **err)
{
    const char *vars[] = {t->te_url, "HUBSPOT_ACCESS_TOKEN=" TL_TOKEN, NULL};
    return it_hubsync_env(vars, args, TLS_TIMEOUT_MS, out, err);
}

/* ---- the simulator ------------------------------------------------------- */

/* Runs the simulator with `args` expecting it to refuse them: its exit code
 * and whether stderr names `needle`. */
static int sim_refuses(const char *const *args, const char *needle)
{
    int status = 0;
    char *out = NULL, *err = NULL;
    int rc = tl_run(tl_sim_path(), args, 30000, &status, &out, &err);
    int code = rc == 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    CHECKF(has(err, needle), "hubspot-sim stderr lacks \"%s\": %s", needle, err ? err : "");
    CHECKF(!has(out, "listening"), "hubspot-sim started: %s", out ? out : "");
    free(out);
    free(err);
    return code;
}

static void test_sim_serves_https(void)
{
    tls_env t, other = {0};
    tl_resp r = {0};
    tl_resp plain = {0};
    REQUIRE(tls_begin(&t, NULL, NULL));
    tl_sim *s = &t.te_sim;
    /* The one ready line names the scheme. */
    char want[96];
    snprintf(want, sizeof(want), "hubspot-sim listening on https://127.0.0.1:%d", s->s_port);
    CHECK_STR(s->s_first_line, want);
    /* API and admin endpoints over HTTPS, the CA trusted. */
    CHECK_EQ(tl_get(s, "/crm/v3/objects/contacts?limit=2", TL_TOKEN, &r), 0);
    CHECK_EQ(r.r_status, 200);
    CHECK_EQ(tl_jlen(tl_resp_json(&r), "results"), 2);
    tl_resp_free(&r);
    CHECK_EQ(tl_get(s, "/crm/v3/objects/contacts?limit=2", NULL, &r), 0);
    CHECK_EQ(r.r_status, 401);
    tl_resp_free(&r);
    CHECK(tl_stat_int(s, "requests.GET /crm/v3/objects/contacts") == 2);
    CHECK(tl_stat_int(s, "connections") >= 1);
    /* A client that does not trust the CA is refused by its own curl. */
    char ca[sizeof(s->s_ca_file)];
    snprintf(ca, sizeof(ca), "%s", s->s_ca_file);
    s->s_ca_file[0] = '\0';
    tl_req req = {.rq_method = "GET", .rq_path = "/_sim/stats"};
    CHECK_EQ(tl_parallel(s, &req, 1, 1, &plain), 0);
    snprintf(s->s_ca_file, sizeof(s->s_ca_file), "%s", ca);
    CHECKF(plain.r_curl == CURLE_PEER_FAILED_VERIFICATION, "curl: %s",
           curl_easy_strerror(plain.r_curl));
    CHECK_EQ(plain.r_status, 0);

    /* Option errors: one without the other, unreadable, not PEM, mismatched. */
    char cert[160], key[160], other_key[200];
    snprintf(cert, sizeof(cert), "%s/server.pem", t.te_certs);
    snprintf(key, sizeof(key), "%s/server.key", t.te_certs);
    const char *only_cert[] = {"--port", "0", "--tls-cert", cert, NULL};
    CHECK_EQ(sim_refuses(only_cert, "--tls-key"), 2);
    const char *only_key[] = {"--port", "0", "--tls-key", key, NULL};
    CHECK_EQ(sim_refuses(only_key, "--tls-cert"), 2);
    const char *missing[] = {"--port",    "0", "--tls-cert", "/nonexistent/cert.pem",
                             "--tls-key", key, NULL};
    CHECK_EQ(sim_refuses(missing, "/nonexistent/cert.pem"), 1);
    const char *not_pem[] = {"--port", "0", "--tls-cert", cert, "--tls-key", "/etc/hostname", NULL};
    CHECK_EQ(sim_refuses(not_pem, "not a PEM file"), 1);
    it_make_db(other.te_dir, sizeof(other.te_dir));
    REQUIRE(other.te_dir[0] && tl_make_test_cert(other.te_dir, NULL) == 0);
    snprintf(other_key, sizeof(other_key), "%s/server.key", other.te_dir);
    const char *mismatch[] = {"--port", "0", "--tls-cert", cert, "--tls-key", other_key, NULL};
    CHECK_EQ(sim_refuses(mismatch, "matching certificate and key"), 1);
done:
    tl_resp_free(&r);
    tl_resp_free(&plain);
    it_remove_db(other.te_dir);
    tls_end(&t);
}

/* ---- hubsync with --ca-file ------------------------------------------------ */

static void test_run_with_ca_file(void)
{
    tls_env t;
    char *out = NULL;
    REQUIRE(tls_begin(&t, NULL, NULL));
    const char *setup[] = {"setup", "--db", t.te_db, t.te_ca_arg, NULL};
    REQUIRE_EQ(tls_hubsync(&t, setup, &out, NULL), 0);
    CHECK(has(out, "6 tables saved"));
    free(out);
    out = NULL;
    const char *run[] = {"run", "--db",     t.te_db, t.te_ca_arg, "--workers",
                         "2",   "--lag-ms", "0",     NULL};
    REQUIRE_EQ(tls_hubsync(&t, run, NULL, NULL), 0);
    CHECK(it_mirror_equals_truth(&t.te_sim, t.te_db));
    /* Changes, then an incremental run: still equal. */
    json_object *m = tl_mutate(&t.te_sim, "{\"count\":60}");
    CHECK(tl_jint_or(m, "applied", 0) > 0);
    json_object_put(m);
    REQUIRE_EQ(tls_hubsync(&t, run, NULL, NULL), 0);
    CHECK(it_mirror_equals_truth(&t.te_sim, t.te_db));
    const char *doctor[] = {"doctor", "--db", t.te_db, t.te_ca_arg, NULL};
    CHECK_EQ(tls_hubsync(&t, doctor, NULL, NULL), 0);
    CHECK(tl_stat_int(&t.te_sim, "status.200") > 0);
done:
    free(out);
    tls_end(&t);
}

/* ---- hubsync without the CA ----------------------------------------------- */

/* The simulator's count of accepted connections, read over a connection of
 * its own (tl_parallel opens a fresh one), so that this read adds exactly
 * one, whatever curl's keep-alive would have reused. -1 on failure. */
static int64_t connections_now(tl_sim *s)
{
    tl_req req = {.rq_method = "GET", .rq_path = "/_sim/stats"};
    tl_resp r = {0};
    int64_t n = -1;
    if (tl_parallel(s, &req, 1, 1, &r) == 0 && r.r_status == 200)
        n = tl_jint_or(tl_resp_json(&r), "connections", -1);
    tl_resp_free(&r);
    return n;
}

/* Checks one refused command: exit 2 within seconds, stderr naming the
 * certificate problem and the fix (and `also`, when not NULL), and at most
 * `max_conns` TLS connections: one per request in flight, none retried. */
static void check_refused(tls_env *t, const char *const *args, const char *also, int max_conns)
{
    char *err = NULL;
    int64_t conns0 = connections_now(&t->te_sim);
    int64_t t0 = tl_now_ms();
    int code = tls_hubsync(t, args, NULL, &err);
    int64_t ms = tl_now_ms() - t0;
    CHECKF(code == 2, "hubsync %s: exit %d, stderr: %s", args[0], code, err);
    CHECKF(has(err, "certificate") && has(err, "not trusted") && has(err, "--ca-file"),
           "hubsync %s: stderr does not name the certificate problem: %s", args[0], err);
    if (also)
        CHECKF(has(err, also), "hubsync %s: stderr lacks \"%s\": %s", args[0], also, err);
    /* Not retried: at most one connection per request in flight, not eight
     * attempts each with backoff. */
    int64_t conns = connections_now(&t->te_sim) - conns0 - 1; /* -1: that read's own */
    CHECKF(conns >= 1 && conns <= max_conns, "hubsync %s: %lld TLS connections (at most %d)",
           args[0], (long long)conns, max_conns);
    CHECKF(ms < 10000, "hubsync %s took %lld ms to give up", args[0], (long long)ms);
    fprintf(stderr, "    hubsync %s refused in %lld ms after %lld TLS connections\n", args[0],
            (long long)ms, (long long)conns);
    free(err);
}

static void test_refused_without_ca_file(void)
{
    tls_env t, other = {0};
    char other_ca[160] = "", other_arg[200] = "";
    REQUIRE(tls_begin(&t, NULL, NULL));
    /* setup and doctor: three properties reads in flight. */
    const char *setup[] = {"setup", "--db", t.te_db, NULL};
    check_refused(&t, setup, "CA file: the system's", 3);
    CHECKF(!exists(t.te_db), "setup created %s", t.te_db);
    const char *doctor[] = {"doctor", "--db", t.te_db, NULL};
    check_refused(&t, doctor, NULL, 3);
    /* run: 2 workers with 2 requests in flight each. */
    const char *run[] = {"run",        "--db", t.te_db,    "--workers", "2",
                         "--inflight", "2",    "--lag-ms", "0",         NULL};
    check_refused(&t, run, NULL, 4);
    /* A CA file that did not issue the certificate is no better. */
    it_make_db(other.te_dir, sizeof(other.te_dir));
    REQUIRE(other.te_dir[0] && tl_make_test_cert(other.te_dir, NULL) == 0);
    snprintf(other_ca, sizeof(other_ca), "%s/ca.pem", other.te_dir);
    snprintf(other_arg, sizeof(other_arg), "--ca-file=%s", other_ca);
    const char *wrong[] = {"run",        "--db", t.te_db,    other_arg, "--workers", "2",
                           "--inflight", "2",    "--lag-ms", "0",       NULL};
    check_refused(&t, wrong, other_ca, 4);
    /* Not one HTTP request got through. */
    CHECK_EQ(tl_stat_int(&t.te_sim, "total"), 0);
    /* Verification has no off switch. */
    const char *insecure[] = {"setup", "--db", t.te_db, "--insecure", NULL};
    CHECK_EQ(tls_hubsync(&t, insecure, NULL, NULL), 2);
    const char *k[] = {"setup", "--db", t.te_db, "-k", NULL};
    CHECK_EQ(tls_hubsync(&t, k, NULL, NULL), 2);
done:
    it_remove_db(other.te_dir);
    tls_end(&t);
}

/* A certificate from the trusted CA for another name: the host name is
 * verified too. */
static void test_name_mismatch_refused(void)
{
    tls_env t;
    char *err = NULL;
    REQUIRE(tls_begin(&t, "DNS:api.example.com", NULL));
    const char *setup[] = {"setup", "--db", t.te_db, t.te_ca_arg, NULL};
    int code = tls_hubsync(&t, setup, NULL, &err);
    CHECKF(code == 2, "exit %d: %s", code, err);
    CHECKF(has(err, "not trusted") && has(err, "subject name") && has(err, "'127.0.0.1'") &&
               has(err, t.te_ca),
           "stderr: %s", err);
    CHECK(!exists(t.te_db));
done:
    free(err);
    tls_end(&t);
}

/* ---- OAuth ------------------------------------------------------------------ */

static void test_oauth_over_https(void)
{
    tls_env t;
    char *err = NULL;
    const char *extra[] = {"--auth", "oauth", NULL};
    REQUIRE(tls_begin(&t, NULL, extra));
    const char *vars[] = {t.te_url, "HUBSPOT_REFRESH_TOKEN=sim-refresh-token",
                          "HUBSPOT_CLIENT_ID=sim-client-id",
                          "HUBSPOT_CLIENT_SECRET=sim-client-secret", NULL};
    /* Without the CA, the first thing sent is the refresh: refused the same. */
    const char *refused[] = {"run", "--db", t.te_db, "--workers", "2", "--lag-ms", "0", NULL};
    int code = it_hubsync_env(vars, refused, TLS_TIMEOUT_MS, NULL, &err);
    CHECKF(code == 2, "exit %d: %s", code, err);
    CHECKF(has(err, "token refresh") && has(err, "certificate") && has(err, "--ca-file"),
           "stderr: %s", err);
    CHECK_EQ(tl_stat_int(&t.te_sim, "tokens_issued"), 0);
    free(err);
    err = NULL;
    const char *setup[] = {"setup", "--db", t.te_db, t.te_ca_arg, NULL};
    REQUIRE_EQ(it_hubsync_env(vars, setup, TLS_TIMEOUT_MS, NULL, NULL), 0);
    const char *run[] = {"run", "--db",     t.te_db, t.te_ca_arg, "--workers",
                         "2",   "--lag-ms", "0",     NULL};
    REQUIRE_EQ(it_hubsync_env(vars, run, TLS_TIMEOUT_MS, NULL, NULL), 0);
    CHECK(it_mirror_equals_truth(&t.te_sim, t.te_db));
    CHECK(tl_stat_int(&t.te_sim, "tokens_issued") >= 2); /* setup's and run's */
    CHECK(tl_stat_int(&t.te_sim, "requests.POST /oauth/v1/token") >= 2);
done:
    free(err);
    tls_end(&t);
}

/* ---- the base URL rule ------------------------------------------------------ */

static void test_plain_http_only_to_loopback(void)
{
    tl_sim s = {0};
    char dir[64], db[96], db_arg[112];
    it_make_db(dir, sizeof(dir));
    REQUIRE(dir[0]);
    snprintf(db, sizeof(db), "%s/db", dir);
    snprintf(db_arg, sizeof(db_arg), "--db=%s", db);
    /* Each refused with exit 2 before any request; nothing in --db. */
    static const char *const refused[] = {
        "http://10.1.2.3",
        "http://10.1.2.3:8080/crm",
        "http://api.hubapi.com",
        "http://127.0.0.1.example.com",
        "http://localhost.evil",
        "http://localhost.",
        "http://[::ffff:10.0.0.1]",
        "http://[fe80::1]",
        "http://0.0.0.0",
        "HTTP://10.1.2.3",
        "Http://api.hubapi.com",
        "http://127.0.0.1@evil.com",
        "http://127.0.0.1:80@evil.com", /* accepted before: curl's host is evil.com */
        "http://localhost:pw@evil.com", /* the same */
        "http://evil.com#@127.0.0.1",
        "http://evil.com?@127.0.0.1",
        "http://127.0.0.1\\@evil.com",
        "http://127.0.0.1%2f@evil.com",
        "http:/127.0.0.1",
        "http:127.0.0.1",
        "ftp://127.0.0.1",
        "127.0.0.1:8080",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        char url_arg[160];
        snprintf(url_arg, sizeof(url_arg), "--base-url=%s", refused[i]);
        const char *vars[] = {"HUBSPOT_ACCESS_TOKEN=" TL_TOKEN, NULL};
        const char *args[] = {"setup", db_arg, url_arg, NULL};
        char *err = NULL;
        int code = it_hubsync_env(vars, args, TLS_TIMEOUT_MS, NULL, &err);
        CHECKF(code == 2 && has(err, "--base-url"), "%s: exit %d, stderr: %s", refused[i], code,
               err);
        CHECKF(!exists(db), "%s: %s was created", refused[i], db);
        free(err);
    }
    /* The same from the environment. */
    const char *env_vars[] = {"HUBSPOT_ACCESS_TOKEN=" TL_TOKEN,
                              "HUBSPOT_BASE_URL=http://127.0.0.1:80@evil.com", NULL};
    const char *setup_env[] = {"setup", db_arg, NULL};
    char *err = NULL;
    CHECK_EQ(it_hubsync_env(env_vars, setup_env, TLS_TIMEOUT_MS, NULL, &err), 2);
    CHECKF(has(err, "HUBSPOT_BASE_URL"), "stderr: %s", err);
    free(err);
    CHECK(!exists(db));

    /* Loopback in its spellings works, and an http_proxy in the environment
     * is not used for it (it would carry the token off this machine). */
    const char *sim_args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", NULL};
    REQUIRE(tl_sim_start(&s, sim_args) == 0);
    char accepted[3][96];
    snprintf(accepted[0], sizeof(accepted[0]), "--base-url=http://localhost:%d", s.s_port);
    snprintf(accepted[1], sizeof(accepted[1]), "--base-url=HTTP://127.0.0.1:%d/", s.s_port);
    snprintf(accepted[2], sizeof(accepted[2]), "--base-url=http://127.1:%d", s.s_port);
    for (int i = 0; i < 3; i++) {
        const char *vars[] = {"HUBSPOT_ACCESS_TOKEN=" TL_TOKEN, "http_proxy=http://127.0.0.1:9",
                              "ALL_PROXY=http://127.0.0.1:9", NULL};
        const char *args[] = {"setup", db_arg, accepted[i], NULL};
        int64_t before = tl_stat_int(&s, "total");
        char *e = NULL;
        int code = it_hubsync_env(vars, args, TLS_TIMEOUT_MS, NULL, &e);
        CHECKF(code == 0, "%s: exit %d, stderr: %s", accepted[i], code, e);
        /* 3 properties reads and the 6 tables' label catalogs. */
        CHECK_EQ(tl_stat_int(&s, "total") - before, 3 + 6);
        free(e);
    }
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
    it_remove_db(dir);
}

int it_register_tls(void)
{
    CU_pSuite s = it_add_suite("tls");
    if (!s || it_add_test(s, "sim_serves_https", test_sim_serves_https) ||
        it_add_test(s, "run_with_ca_file", test_run_with_ca_file) ||
        it_add_test(s, "refused_without_ca_file", test_refused_without_ca_file) ||
        it_add_test(s, "name_mismatch_refused", test_name_mismatch_refused) ||
        it_add_test(s, "oauth_over_https", test_oauth_over_https) ||
        it_add_test(s, "plain_http_only_to_loopback", test_plain_http_only_to_loopback))
        return -1;
    return 0;
}
