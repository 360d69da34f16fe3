/*
 * it_auth — authentication (docs/SIMULATOR.md, status codes): the private-app token,
 * the OAuth refresh grant, expiring access tokens and their 401 bodies.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../../common/base/jbuf.h"
#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_suites.h"

static const char *const list_path = "/crm/v3/objects/contacts?limit=1";
static const char *const good_form = "grant_type=refresh_token&refresh_token=sim-refresh-token"
                                     "&client_id=sim-client-id&client_secret=sim-client-secret";

/* GET list_path with `token` and expect a 401 of `category`. */
static bool expect_401(tl_sim *s, const char *token, const char *category)
{
    tl_resp r;
    tl_get(s, list_path, token, &r);
    bool ok = tl_is_hubspot_error(&r, 401, category);
    tl_resp_free(&r);
    return ok;
}

static long get_status(tl_sim *s, const char *token)
{
    tl_resp r;
    tl_get(s, list_path, token, &r);
    long st = r.r_status;
    tl_resp_free(&r);
    return st;
}

static void test_private_token(void)
{
    tl_sim s = {0};
    const char *args[] = {IT_SMALL_PORTAL, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    CHECK_EQ(get_status(&s, TL_TOKEN), 200);
    CHECK(expect_401(&s, NULL, "INVALID_AUTHENTICATION"));
    CHECK(expect_401(&s, "pat-na1-wrong", "INVALID_AUTHENTICATION"));
    CHECK(expect_401(&s, "", "INVALID_AUTHENTICATION"));
    CHECK(expect_401(&s, TL_TOKEN "x", "INVALID_AUTHENTICATION"));
    /* POST endpoints check the token too. */
    tl_resp r;
    tl_post_json(&s, "/crm/v3/objects/contacts/search", NULL, "{}", &r);
    CHECK(tl_is_hubspot_error(&r, 401, "INVALID_AUTHENTICATION"));
    tl_resp_free(&r);
    tl_post_json(&s, "/crm/v4/associations/companies/contacts/batch/read", "nope",
                 "{\"inputs\":[]}", &r);
    CHECK(tl_is_hubspot_error(&r, 401, "INVALID_AUTHENTICATION"));
    tl_resp_free(&r);
    /* Admin endpoints need no token. */
    tl_get(&s, "/_sim/stats", NULL, &r);
    CHECK_EQ(r.r_status, 200);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);

    /* --token replaces the default. */
    const char *custom[] = {IT_SMALL_PORTAL, "--token", "pat-eu1-custom", NULL};
    REQUIRE(tl_sim_start(&s, custom) == 0);
    CHECK_EQ(get_status(&s, "pat-eu1-custom"), 200);
    CHECK(expect_401(&s, TL_TOKEN, "INVALID_AUTHENTICATION"));
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

/* Refreshes with `form`; on a 200 copies the access token into `token`. */
static bool refresh(tl_sim *s, const char *path, const char *form, char *token, size_t size,
                    tl_resp *r)
{
    tl_post_form(s, path, NULL, form, r);
    json_object *j = tl_resp_json(r);
    const char *access = tl_jstr(j, "access_token");
    if (r->r_status != 200 || !access)
        return false;
    snprintf(token, size, "%s", access);
    return true;
}

static void test_oauth(void)
{
    tl_sim s = {0};
    json_object *st = NULL;
    char token[512], token2[512];
    const char *args[] = {IT_SMALL_PORTAL, "--auth", "oauth", "--token-ttl", "2", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);

    tl_resp r;
    int64_t issued_ms = tl_wall_ms();
    bool ok = refresh(&s, "/oauth/v1/token", good_form, token, sizeof(token), &r);
    json_object *j = tl_resp_json(&r);
    CHECKF(ok, "refresh failed");
    if (!ok)
        tl_resp_dump("POST /oauth/v1/token", &r);
    CHECK_STR(tl_jstr(j, "refresh_token"), "sim-refresh-token");
    CHECK_EQ(tl_jint_or(j, "expires_in", -1), 2);
    const char *type = tl_jstr(j, "token_type");
    CHECKF(type && strcasecmp(type, "bearer") == 0, "token_type %s", type ? type : "(null)");
    CHECK(strlen(token) > 10 && strlen(token) <= 300);
    tl_resp_free(&r);
    REQUIRE(ok);

    /* The token works; the private-app token does not, in OAuth mode. */
    tl_get(&s, list_path, token, &r);
    CHECK_EQ(r.r_status, 200);
    CHECK_EQ(tl_header_count_prefix(&r, "X-HubSpot-RateLimit-Daily"), 0);
    CHECK(tl_header_get(&r, "X-HubSpot-RateLimit-Max") != NULL);
    tl_resp_free(&r);
    CHECK(expect_401(&s, TL_TOKEN, "INVALID_AUTHENTICATION"));
    CHECK(expect_401(&s, NULL, "INVALID_AUTHENTICATION"));

    /* After its TTL: EXPIRED_AUTHENTICATION with the expiry time. */
    tl_sleep_ms(2500);
    tl_get(&s, list_path, token, &r);
    j = tl_resp_json(&r);
    CHECK(tl_is_hubspot_error(&r, 401, "EXPIRED_AUTHENTICATION"));
    const char *expired = tl_jstr(j, "context.expire time.0");
    int64_t expired_ms = 0;
    CHECKF(expired && parse_iso8601_ms(expired, strlen(expired), &expired_ms) == 0,
           "context.\"expire time\"[0] = %s", expired ? expired : "(absent)");
    CHECKF(expired_ms >= issued_ms + 1000 && expired_ms <= issued_ms + 3500,
           "expired at %lld, issued at %lld", (long long)expired_ms, (long long)issued_ms);
    tl_resp_free(&r);

    /* A new token works again, and differs from the old one (v3 path too). */
    ok = refresh(&s, "/oauth/v3/token", good_form, token2, sizeof(token2), &r);
    tl_resp_free(&r);
    REQUIRE(ok);
    CHECK(strcmp(token, token2) != 0);
    CHECK_EQ(get_status(&s, token2), 200);

    st = tl_stats(&s);
    CHECK_EQ(tl_jint_or(st, "tokens_issued", -1), 2);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(st);
    tl_sim_stop(&s);
}

static void test_oauth_bad_grants(void)
{
    tl_sim s = {0};
    const char *args[] = {IT_SMALL_PORTAL, "--auth", "oauth", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    static const char *const bad[] = {
        "grant_type=refresh_token&refresh_token=sim-refresh-token&client_id=sim-client-id"
        "&client_secret=wrong",
        "grant_type=refresh_token&refresh_token=other&client_id=sim-client-id"
        "&client_secret=sim-client-secret",
        "grant_type=refresh_token&refresh_token=sim-refresh-token&client_id=other"
        "&client_secret=sim-client-secret",
        "grant_type=password&refresh_token=sim-refresh-token&client_id=sim-client-id"
        "&client_secret=sim-client-secret",
        "refresh_token=sim-refresh-token&client_id=sim-client-id&client_secret=sim-client-secret",
        "",
        "%%%=&&==",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tl_resp r;
        tl_post_form(&s, "/oauth/v1/token", NULL, bad[i], &r);
        CHECKF(r.r_status == 400 && tl_resp_json(&r), "form \"%s\": HTTP %ld", bad[i], r.r_status);
        CHECK(tl_jstr(tl_resp_json(&r), "access_token") == NULL);
        tl_resp_free(&r);
    }
    /* The default TTL is HubSpot's 1800 s. */
    tl_resp r;
    tl_post_form(&s, "/oauth/v1/token", NULL, good_form, &r);
    CHECK_EQ(r.r_status, 200);
    CHECK_EQ(tl_jint_or(tl_resp_json(&r), "expires_in", -1), 1800);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

int it_register_auth(void)
{
    CU_pSuite s = it_add_suite("auth");
    if (!s)
        return -1;
    int rc = 0;
    rc |= it_add_test(s, "private_token", test_private_token);
    rc |= it_add_test(s, "oauth", test_oauth);
    rc |= it_add_test(s, "oauth_bad_grants", test_oauth_bad_grants);
    return rc;
}
