/*
 * Tests of sim/sim_auth: the private-app token is accepted exactly and only
 * as "Bearer …"; OAuth tokens are issued for the configured credentials only,
 * expire after the TTL, and live in a ring of the latest SIM_AUTH_TOKENS.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../../sim/sim_auth.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

#define PAT "pat-na1-hubspot-sim"

static void init_private(sim_auth *a)
{
    sim_auth_init(a, SIM_AUTH_PRIVATE, PAT, "sim-refresh-token", "sim-client-id",
                  "sim-client-secret", 1800, 1);
}

static void init_oauth(sim_auth *a, int64_t ttl_s)
{
    sim_auth_init(a, SIM_AUTH_OAUTH, PAT, "sim-refresh-token", "sim-client-id", "sim-client-secret",
                  ttl_s, 1);
}

static sim_auth_result check(sim_auth *a, const char *header, int64_t now_ms)
{
    int64_t expired = -1;
    return sim_auth_check(a, header, now_ms, &expired);
}

static void test_private_exact(void)
{
    static sim_auth a;
    init_private(&a);
    CHECK(check(&a, "Bearer " PAT, UT_NOW_MS) == SIM_AUTH_OK);
    static const char *const bad[] = {
        PAT,                         /* no scheme */
        "Bearer",                    /* no token */
        "Bearer ",                   /* empty token */
        "Bearer  " PAT,              /* two spaces */
        "Bearer " PAT " ",           /* trailing space */
        "Bearer " PAT "x",           /* longer */
        "Bearer pat-na1-hubspot-si", /* prefix */
        "Bearer PAT-NA1-HUBSPOT-SIM",
        "Basic " PAT,
        "Token " PAT,
        "",
        "xBearer " PAT,
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++)
        CHECKF(check(&a, bad[i], UT_NOW_MS) == SIM_AUTH_INVALID, "\"%s\" not refused", bad[i]);
    CHECK(check(&a, NULL, UT_NOW_MS) == SIM_AUTH_INVALID);
    /* Private mode issues no OAuth tokens, and OAuth tokens' shape is no pass. */
    char tok[SIM_TOKEN_MAX];
    int64_t expires_in = -1;
    CHECK_EQ(sim_auth_issue(&a, "sim-refresh-token", "sim-client-id", "sim-client-secret",
                            UT_NOW_MS, tok, &expires_in),
             -1);
    CHECK_EQ(a.au_issued, 0);
    sim_auth_destroy(&a);
}

static void test_oauth_issue_and_check(void)
{
    static sim_auth a;
    init_oauth(&a, 1800);
    char tok[SIM_TOKEN_MAX], tok2[SIM_TOKEN_MAX];
    int64_t expires_in = -1;
    REQUIRE(sim_auth_issue(&a, "sim-refresh-token", "sim-client-id", "sim-client-secret", UT_NOW_MS,
                           tok, &expires_in) == 0);
    CHECK_EQ(expires_in, 1800);
    CHECK(strlen(tok) > 16 && strlen(tok) < SIM_TOKEN_MAX);
    CHECK_EQ(a.au_issued, 1);
    char header[SIM_TOKEN_MAX + 16];
    snprintf(header, sizeof(header), "Bearer %s", tok);
    CHECK(check(&a, header, UT_NOW_MS) == SIM_AUTH_OK);
    CHECK(check(&a, header, UT_NOW_MS + 1800 * 1000 - 1) == SIM_AUTH_OK);
    /* Expired at exactly issue + TTL, with the expiry time reported. */
    int64_t expired = -1;
    CHECK(sim_auth_check(&a, header, UT_NOW_MS + 1800 * 1000, &expired) == SIM_AUTH_EXPIRED);
    CHECK_EQ(expired, UT_NOW_MS + 1800 * 1000);
    CHECK(sim_auth_check(&a, header, UT_NOW_MS + 86400000, &expired) == SIM_AUTH_EXPIRED);
    CHECK_EQ(expired, UT_NOW_MS + 1800 * 1000);
    /* The bare token, the private token, an unknown token: invalid. */
    CHECK(check(&a, tok, UT_NOW_MS) == SIM_AUTH_INVALID);
    CHECK(check(&a, "Bearer " PAT, UT_NOW_MS) == SIM_AUTH_INVALID);
    CHECK(check(&a, "Bearer CN0000000000000000SIM0", UT_NOW_MS) == SIM_AUTH_INVALID);
    CHECK(check(&a, "Bearer ", UT_NOW_MS) == SIM_AUTH_INVALID);
    CHECK(check(&a, NULL, UT_NOW_MS) == SIM_AUTH_INVALID);
    /* A second token is different and both work. */
    REQUIRE(sim_auth_issue(&a, "sim-refresh-token", "sim-client-id", "sim-client-secret", UT_NOW_MS,
                           tok2, &expires_in) == 0);
    CHECK(strcmp(tok, tok2) != 0);
    CHECK(check(&a, header, UT_NOW_MS + 1) == SIM_AUTH_OK);
    snprintf(header, sizeof(header), "Bearer %s", tok2);
    CHECK(check(&a, header, UT_NOW_MS + 1) == SIM_AUTH_OK);
done:
    sim_auth_destroy(&a);
}

static void test_oauth_bad_credentials(void)
{
    static sim_auth a;
    init_oauth(&a, 1800);
    char tok[SIM_TOKEN_MAX];
    int64_t expires_in;
    static const char *const creds[][3] = {
        {"wrong", "sim-client-id", "sim-client-secret"},
        {"sim-refresh-token", "wrong", "sim-client-secret"},
        {"sim-refresh-token", "sim-client-id", "wrong"},
        {"sim-refresh-token ", "sim-client-id", "sim-client-secret"},
        {"", "sim-client-id", "sim-client-secret"},
        {NULL, "sim-client-id", "sim-client-secret"},
        {"sim-refresh-token", NULL, "sim-client-secret"},
        {"sim-refresh-token", "sim-client-id", NULL},
    };
    for (size_t i = 0; i < UT_COUNT(creds); i++)
        CHECKF(sim_auth_issue(&a, creds[i][0], creds[i][1], creds[i][2], UT_NOW_MS, tok,
                              &expires_in) == -1,
               "credentials #%zu accepted", i);
    CHECK_EQ(a.au_issued, 0);
    sim_auth_destroy(&a);
}

static void test_oauth_ttl_change(void)
{
    static sim_auth a;
    init_oauth(&a, 1800);
    char t1[SIM_TOKEN_MAX], t2[SIM_TOKEN_MAX], h[SIM_TOKEN_MAX + 16];
    int64_t expires_in;
    REQUIRE(sim_auth_issue(&a, "sim-refresh-token", "sim-client-id", "sim-client-secret", UT_NOW_MS,
                           t1, &expires_in) == 0);
    sim_auth_set_ttl(&a, 5);
    REQUIRE(sim_auth_issue(&a, "sim-refresh-token", "sim-client-id", "sim-client-secret", UT_NOW_MS,
                           t2, &expires_in) == 0);
    CHECK_EQ(expires_in, 5);
    snprintf(h, sizeof(h), "Bearer %s", t2);
    CHECK(check(&a, h, UT_NOW_MS + 4999) == SIM_AUTH_OK);
    CHECK(check(&a, h, UT_NOW_MS + 5000) == SIM_AUTH_EXPIRED);
    /* Tokens issued before the change keep their TTL. */
    snprintf(h, sizeof(h), "Bearer %s", t1);
    CHECK(check(&a, h, UT_NOW_MS + 5000) == SIM_AUTH_OK);
done:
    sim_auth_destroy(&a);
}

/* The ring keeps the latest SIM_AUTH_TOKENS tokens; older ones are unknown. */
static void test_oauth_ring(void)
{
    static sim_auth a;
    static char toks[SIM_AUTH_TOKENS + 10][SIM_TOKEN_MAX];
    init_oauth(&a, 1800);
    int64_t expires_in;
    unsigned dup = 0;
    for (int i = 0; i < SIM_AUTH_TOKENS + 10; i++) {
        REQUIRE(sim_auth_issue(&a, "sim-refresh-token", "sim-client-id", "sim-client-secret",
                               UT_NOW_MS + i, toks[i], &expires_in) == 0);
        for (int j = 0; j < i; j++)
            dup += strcmp(toks[i], toks[j]) == 0;
    }
    CHECK_EQ(dup, 0);
    CHECK_EQ(a.au_issued, SIM_AUTH_TOKENS + 10);
    unsigned wrong = 0;
    for (int i = 0; i < SIM_AUTH_TOKENS + 10; i++) {
        char h[SIM_TOKEN_MAX + 16];
        snprintf(h, sizeof(h), "Bearer %s", toks[i]);
        sim_auth_result want = i < 10 ? SIM_AUTH_INVALID : SIM_AUTH_OK;
        wrong += check(&a, h, UT_NOW_MS + 1000) != want;
    }
    CHECK_EQ(wrong, 0);
done:
    sim_auth_destroy(&a);
}

/* Same seed, same sequence: tokens are deterministic, different seeds differ. */
static void test_oauth_deterministic(void)
{
    static sim_auth a, b, c;
    init_oauth(&a, 1800);
    init_oauth(&b, 1800);
    sim_auth_init(&c, SIM_AUTH_OAUTH, PAT, "sim-refresh-token", "sim-client-id",
                  "sim-client-secret", 1800, 2);
    char ta[SIM_TOKEN_MAX], tb[SIM_TOKEN_MAX], tc[SIM_TOKEN_MAX];
    int64_t e;
    CHECK(sim_auth_issue(&a, "sim-refresh-token", "sim-client-id", "sim-client-secret", UT_NOW_MS,
                         ta, &e) == 0);
    CHECK(sim_auth_issue(&b, "sim-refresh-token", "sim-client-id", "sim-client-secret", UT_NOW_MS,
                         tb, &e) == 0);
    CHECK(sim_auth_issue(&c, "sim-refresh-token", "sim-client-id", "sim-client-secret", UT_NOW_MS,
                         tc, &e) == 0);
    CHECK_STR(ta, tb);
    CHECK(strcmp(ta, tc) != 0);
    sim_auth_destroy(&a);
    sim_auth_destroy(&b);
    sim_auth_destroy(&c);
}

/* A TTL of 0 gives tokens that are expired at once. */
static void test_oauth_zero_ttl(void)
{
    static sim_auth a;
    init_oauth(&a, 0);
    char t[SIM_TOKEN_MAX], h[SIM_TOKEN_MAX + 16];
    int64_t e = -1;
    REQUIRE(sim_auth_issue(&a, "sim-refresh-token", "sim-client-id", "sim-client-secret", UT_NOW_MS,
                           t, &e) == 0);
    CHECK_EQ(e, 0);
    snprintf(h, sizeof(h), "Bearer %s", t);
    CHECK(check(&a, h, UT_NOW_MS) == SIM_AUTH_EXPIRED);
done:
    sim_auth_destroy(&a);
}

enum { AUTH_THREADS = 4, AUTH_PER_THREAD = 50 };

typedef struct issuer {
    sim_auth *is_auth;
    char is_tokens[AUTH_PER_THREAD][SIM_TOKEN_MAX];
    int is_failed;
} issuer;

static void *issue_many(void *arg)
{
    issuer *w = arg;
    for (int i = 0; i < AUTH_PER_THREAD; i++) {
        int64_t e;
        if (sim_auth_issue(w->is_auth, "sim-refresh-token", "sim-client-id", "sim-client-secret",
                           UT_NOW_MS, w->is_tokens[i], &e) != 0)
            w->is_failed++;
        char h[SIM_TOKEN_MAX + 16];
        snprintf(h, sizeof(h), "Bearer %s", w->is_tokens[i]);
        int64_t expired;
        if (sim_auth_check(w->is_auth, h, UT_NOW_MS + 1, &expired) != SIM_AUTH_OK)
            w->is_failed++;
    }
    return NULL;
}

/* Threads issuing and checking at once: every token unique and valid. */
static void test_oauth_threads(void)
{
    static sim_auth a;
    static issuer w[AUTH_THREADS];
    init_oauth(&a, 1800);
    pthread_t th[AUTH_THREADS];
    int started = 0;
    for (int i = 0; i < AUTH_THREADS; i++) {
        w[i].is_auth = &a;
        w[i].is_failed = 0;
        started += pthread_create(&th[i], NULL, issue_many, &w[i]) == 0;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(started, AUTH_THREADS);
    CHECK_EQ(a.au_issued, (uint64_t)started * AUTH_PER_THREAD);
    unsigned failed = 0, dups = 0;
    for (int i = 0; i < started; i++) {
        failed += (unsigned)w[i].is_failed;
        for (int k = 0; k < AUTH_PER_THREAD; k++)
            for (int j = 0; j <= i; j++)
                for (int m = 0; m < (j == i ? k : AUTH_PER_THREAD); m++)
                    dups += strcmp(w[i].is_tokens[k], w[j].is_tokens[m]) == 0;
    }
    CHECK_EQ(failed, 0);
    CHECK_EQ(dups, 0);
    sim_auth_destroy(&a);
}

int unit_suite_sim_auth(void)
{
    static const ut_test tests[] = {
        {"private: exact token, Bearer required", test_private_exact},
        {"oauth: issue, check, expiry", test_oauth_issue_and_check},
        {"oauth: wrong credentials refused", test_oauth_bad_credentials},
        {"oauth: TTL change applies to new tokens", test_oauth_ttl_change},
        {"oauth: ring of the latest tokens", test_oauth_ring},
        {"oauth: deterministic per seed", test_oauth_deterministic},
        {"oauth: TTL 0 expires at once", test_oauth_zero_ttl},
        {"oauth: concurrent issue and check", test_oauth_threads},
    };
    return ut_add_suite("sim_auth", tests, UT_COUNT(tests));
}
