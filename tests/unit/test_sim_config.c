/*
 * Tests of sim/sim_config: the documented defaults, command-line parsing
 * (both --opt v and --opt=v, tiers with explicit overrides winning, bad
 * values refused with the option named), --help, the rollup list, runtime
 * changes through POST /_sim/config bodies (all-or-nothing) and the JSON of
 * GET /_sim/config, which must be writable back.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../../common/base/rate_spec.h"
#include "../../sim/sim_config.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

/* Parses a NULL-terminated argument list (argv[0] added) into c. */
static int parse(sim_config *c, char *err, size_t errlen, const char *const *args)
{
    char *argv[128];
    int argc = 0;
    argv[argc++] = (char *)"hubspot-sim";
    for (; *args && argc < 127; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    FILE *devnull = fopen("/dev/null", "w");
    int rc = sim_config_parse_args(c, argc, argv, devnull ? devnull : stdout, err, errlen);
    if (devnull)
        fclose(devnull);
    return rc;
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The --rollups item of table `name`, or NULL. */
static const sim_rollup_def *rollup_of(const sim_config *c, const char *name)
{
    for (int i = 0; i < c->sc_portal.pc_nrollups; i++) {
        char n[64];
        hs_table_name(c->sc_portal.pc_rollups[i].rd_table, n, sizeof(n));
        if (strcmp(n, name) == 0)
            return &c->sc_portal.pc_rollups[i];
    }
    return NULL;
}

/* True when `name` has a rollup with per-label rollups (`labels`) or without. */
static bool has_rollup_labels(const sim_config *c, const char *name, bool labels)
{
    const sim_rollup_def *d = rollup_of(c, name);
    return d && d->rd_labels == labels;
}

/* c's look-alike tables as "a_b,c_d". */
static void lookalikes_text(const sim_config *c, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < c->sc_portal.pc_nlookalikes && used < n; i++) {
        char name[64];
        hs_table_name(c->sc_portal.pc_lookalikes[i], name, sizeof(name));
        int w = snprintf(out + used, n - used, "%s%s", i ? "," : "", name);
        used += w > 0 ? (size_t)w : 0;
    }
}

/* True when o's `key` is the integer v. */
static bool int_is(json_object *o, const char *key, int64_t v)
{
    json_object *x;
    return json_object_object_get_ex(o, key, &x) && json_object_is_type(x, json_type_int) &&
           json_object_get_int64(x) == v;
}

/* Every runtime switch of docs/SIMULATOR.md: GET /_sim/config shows them and
 * POST takes them back. */
static const char *const runtime_keys[] = {
    "churn_per_s",
    "latency_ms",
    "latency_jitter_ms",
    "index_lag_ms",
    "same_ms",
    "fault_5xx",
    "fault_429",
    "fault_reset",
    "fault_slow",
    "fault_slow_ms",
    "fault_truncate",
    "fault_search_400",
    "rate",
    "search_rate",
    "daily",
    "retry_after",
    "rollup_bumps",
    "rollup_delay_min_ms",
    "rollup_delay_max_ms",
    "rollup_tail",
    "rollup_tail_ms",
    "rollup_miss",
    "assoc_batch_exempt",
    "token_ttl",
    "rollups",
    "rollup_lookalikes",
    "latency_profile",
    "latency_scale",
    "foreign_load",
};

static void test_defaults(void)
{
    static sim_config c;
    sim_config_defaults(&c);
    CHECK_EQ(c.sc_port, 8089);
    CHECK_STR(c.sc_bind, "127.0.0.1");
    CHECK_STR(c.sc_port_file, "");
    CHECK(!c.sc_quiet);
    CHECK_EQ(c.sc_portal.pc_seed, 1);
    CHECK_EQ(c.sc_portal.pc_count[HS_CONTACTS], 10000);
    CHECK_EQ(c.sc_portal.pc_count[HS_COMPANIES], 2000);
    CHECK_EQ(c.sc_portal.pc_count[HS_DEALS], 5000);
    CHECK_EQ(c.sc_portal.pc_count[HS_TICKETS], 1000);
    for (int t = HS_CALLS; t < HS_OBJECT_TYPE_COUNT; t++)
        CHECK_EQ(c.sc_portal.pc_count[t], 0);
    CHECK(c.sc_portal.pc_density == 1.0);
    CHECK_EQ(c.sc_portal.pc_heavy_parents, 2);
    CHECK_EQ(c.sc_portal.pc_heavy_links, 2000);
    CHECK_EQ(c.sc_portal.pc_labels, 3);
    CHECK_EQ(c.sc_assoc_page_size, 500);
    CHECK_EQ(c.sc_portal.pc_nrollups, 3);
    CHECK(has_rollup_labels(&c, "companies_contacts", true) &&
          has_rollup_labels(&c, "companies_deals", false) &&
          has_rollup_labels(&c, "contacts_deals", false));
    CHECK_EQ(c.sc_portal.pc_nlookalikes, 0);
    CHECK(c.sc_rollup.rm_mode == SIM_ROLLUP_REALISTIC);
    CHECK(c.sc_rollup.rm_delay_min_ms == 2000 && c.sc_rollup.rm_delay_max_ms == 7000);
    CHECK(c.sc_rollup.rm_tail == 0.02 && c.sc_rollup.rm_tail_ms == 240000);
    CHECK(c.sc_rollup.rm_miss == 0.05);
    CHECK_STR(c.sc_tier, "pro");
    CHECK(c.sc_rate == 190 && c.sc_rate_window_ms == 10000);
    CHECK(c.sc_search_rate == 5 && c.sc_search_window_ms == 1000);
    CHECK_EQ(c.sc_daily, 625000);
    CHECK(!c.sc_assoc_batch_exempt && !c.sc_retry_after);
    CHECK(c.sc_latency_ms == 0 && c.sc_latency_jitter_ms == 0 && c.sc_index_lag_ms == 0);
    CHECK(c.sc_latency_profile == SIM_LATENCY_NONE && c.sc_latency_scale == 1.0);
    CHECK_EQ(c.sc_foreign_count, 0);
    CHECK(c.sc_fault_5xx == 0 && c.sc_fault_429 == 0 && c.sc_fault_reset == 0 &&
          c.sc_fault_slow == 0 && c.sc_fault_truncate == 0);
    CHECK(c.sc_same_ms == 0 && c.sc_churn_per_s == 0);
    CHECK(c.sc_auth == SIM_AUTH_PRIVATE);
    CHECK_STR(c.sc_token, "pat-na1-hubspot-sim");
    CHECK_STR(c.sc_refresh_token, "sim-refresh-token");
    CHECK_STR(c.sc_client_id, "sim-client-id");
    CHECK_STR(c.sc_client_secret, "sim-client-secret");
    CHECK_EQ(c.sc_token_ttl_s, 1800);
}

static void test_parse_every_option(void)
{
    static sim_config c;
    char err[256] = "";
    sim_config_defaults(&c);
    int rc = parse(
        &c, err, sizeof(err),
        ARGS("--port", "0", "--port-file=/tmp/p", "--bind", "0.0.0.0", "--quiet", "--seed",
             "18446744073709551615", "--contacts", "7", "--companies=8", "--deals", "9",
             "--tickets", "10", "--calls", "1", "--emails", "2", "--meetings", "3", "--notes", "4",
             "--tasks", "5", "--communications", "6", "--postal_mail", "11", "--density", "0.5",
             "--heavy-parents", "4", "--heavy-links", "300", "--labels", "8", "--assoc-page-size",
             "100", "--rollups", "deals_tickets:labels", "--rollup-bumps", "off",
             "--rollup-lookalikes", "companies_deals,contacts_deals", "--rollup-delay-ms",
             "100:300", "--rollup-tail=0.5:900", "--rollup-miss", "0.75", "--rate", "100/1s",
             "--search-rate", "4/1s", "--daily", "1234", "--assoc-batch-exempt", "on",
             "--retry-after", "on", "--latency-ms", "20:5", "--fault-5xx", "0.1", "--fault-429",
             "0.2", "--fault-reset", "0.3", "--fault-slow", "0.4:250", "--fault-truncate", "0.5",
             "--auth", "oauth", "--token", "tok", "--refresh-token", "r", "--client-id", "ci",
             "--client-secret", "cs", "--token-ttl", "60", "--index-lag-ms", "1500", "--same-ms",
             "0.25", "--churn", "50/s", "--latency-profile", "hubspot", "--latency-scale", "0.5",
             "--foreign-load", "63/10s"));
    if (!CHECKF(rc == 0, "rc %d: %s", rc, err))
        goto done;
    CHECK_EQ(c.sc_port, 0);
    CHECK_STR(c.sc_port_file, "/tmp/p");
    CHECK_STR(c.sc_bind, "0.0.0.0");
    CHECK(c.sc_quiet);
    CHECK_EQ(c.sc_portal.pc_seed, UINT64_MAX);
    static const uint32_t counts[HS_OBJECT_TYPE_COUNT] = {
        [HS_CONTACTS] = 7, [HS_COMPANIES] = 8,      [HS_DEALS] = 9,        [HS_TICKETS] = 10,
        [HS_CALLS] = 1,    [HS_EMAILS] = 2,         [HS_MEETINGS] = 3,     [HS_NOTES] = 4,
        [HS_TASKS] = 5,    [HS_COMMUNICATIONS] = 6, [HS_POSTAL_MAIL] = 11,
    };
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        CHECK_EQ(c.sc_portal.pc_count[t], counts[t]);
    CHECK(c.sc_portal.pc_density == 0.5);
    CHECK_EQ(c.sc_portal.pc_heavy_parents, 4);
    CHECK_EQ(c.sc_portal.pc_heavy_links, 300);
    CHECK_EQ(c.sc_portal.pc_labels, 8);
    CHECK_EQ(c.sc_assoc_page_size, 100);
    CHECK(c.sc_portal.pc_nrollups == 1 && has_rollup_labels(&c, "deals_tickets", true));
    char looks[128];
    lookalikes_text(&c, looks, sizeof(looks));
    CHECK_STR(looks, "companies_deals,contacts_deals");
    CHECK(c.sc_rollup.rm_mode == SIM_ROLLUP_NEVER);
    CHECK(c.sc_rollup.rm_delay_min_ms == 100 && c.sc_rollup.rm_delay_max_ms == 300);
    CHECK(c.sc_rollup.rm_tail == 0.5 && c.sc_rollup.rm_tail_ms == 900);
    CHECK(c.sc_rollup.rm_miss == 0.75);
    CHECK(c.sc_rate == 100 && c.sc_rate_window_ms == 1000);
    CHECK(c.sc_search_rate == 4 && c.sc_search_window_ms == 1000);
    CHECK_EQ(c.sc_daily, 1234);
    CHECK(c.sc_assoc_batch_exempt && c.sc_retry_after);
    CHECK(c.sc_latency_ms == 20 && c.sc_latency_jitter_ms == 5);
    CHECK(c.sc_fault_5xx == 0.1 && c.sc_fault_429 == 0.2 && c.sc_fault_reset == 0.3);
    CHECK(c.sc_fault_slow == 0.4 && c.sc_fault_slow_ms == 250 && c.sc_fault_truncate == 0.5);
    CHECK(c.sc_auth == SIM_AUTH_OAUTH);
    CHECK_STR(c.sc_token, "tok");
    CHECK_STR(c.sc_refresh_token, "r");
    CHECK_STR(c.sc_client_id, "ci");
    CHECK_STR(c.sc_client_secret, "cs");
    CHECK_EQ(c.sc_token_ttl_s, 60);
    CHECK_EQ(c.sc_index_lag_ms, 1500);
    CHECK(c.sc_same_ms == 0.25 && c.sc_churn_per_s == 50);
    CHECK(c.sc_latency_profile == SIM_LATENCY_HUBSPOT && c.sc_latency_scale == 0.5);
    CHECK(c.sc_foreign_count == 63 && c.sc_foreign_window_ms == 10000);
done:
    return;
}

static void test_tiers(void)
{
    static sim_config c;
    char err[256];
    static const struct {
        const char *tier;
        uint32_t rate, search;
        uint64_t daily;
    } tiers[] = {
        {"free", 100, 5, 250000},       {"starter", 100, 5, 250000},     {"pro", 190, 5, 625000},
        {"pro-addon", 250, 5, 1625000}, {"enterprise", 190, 5, 1000000}, {"unlimited", 0, 0, 0},
    };
    for (size_t i = 0; i < UT_COUNT(tiers); i++) {
        sim_config_defaults(&c);
        int rc = parse(&c, err, sizeof(err), ARGS("--tier", tiers[i].tier));
        CHECKF(rc == 0 && c.sc_rate == tiers[i].rate && c.sc_search_rate == tiers[i].search &&
                   c.sc_daily == tiers[i].daily && strcmp(c.sc_tier, tiers[i].tier) == 0,
               "--tier %s: rc %d rate %u search %u daily %" PRIu64, tiers[i].tier, rc, c.sc_rate,
               c.sc_search_rate, c.sc_daily);
        if (tiers[i].rate)
            CHECK(c.sc_rate_window_ms == 10000 && c.sc_search_window_ms == 1000);
    }
    /* Explicit limits win wherever they stand. */
    sim_config_defaults(&c);
    CHECK(parse(&c, err, sizeof(err), ARGS("--rate", "50/1s", "--tier", "free")) == 0);
    CHECK(c.sc_rate == 50 && c.sc_rate_window_ms == 1000 && c.sc_daily == 250000);
    sim_config_defaults(&c);
    CHECK(parse(&c, err, sizeof(err), ARGS("--tier=unlimited", "--daily", "10")) == 0);
    CHECK(c.sc_rate == 0 && c.sc_daily == 10);
    sim_config_defaults(&c);
    CHECK(parse(&c, err, sizeof(err), ARGS("--search-rate", "0", "--tier", "enterprise")) == 0);
    CHECK(c.sc_search_rate == 0 && c.sc_rate == 190 && c.sc_daily == 1000000);
    sim_config_defaults(&c);
    CHECK(parse(&c, err, sizeof(err), ARGS("--rate", "off")) == 0);
    CHECK_EQ(c.sc_rate, 0);
}

static void test_rejects(void)
{
    static const char *const bad[][3] = {
        {"--bogus", "1", "--bogus"},
        {"positional", NULL, "positional"},
        {"--contacts", NULL, "--contacts"},
        {"--contacts", "abc", "--contacts"},
        {"--contacts", "-1", "--contacts"},
        {"--contacts", "50000001", "--contacts"},
        {"--contacts", "", "--contacts"},
        {"--seed", "18446744073709551616", "--seed"},
        {"--density", "-1", "--density"},
        {"--density", "nan", "--density"},
        {"--density", "inf", "--density"},
        {"--fault-5xx", "1.5", "--fault-5xx"},
        {"--fault-429", "-0.1", "--fault-429"},
        {"--rollup-bumps", "maybe", "--rollup-bumps"},
        {"--rollup-bumps", "true", "--rollup-bumps"},
        {"--rollup-delay-ms", "500", "--rollup-delay-ms"},
        {"--rollup-delay-ms", "9:3", "--rollup-delay-ms"},
        {"--rollup-delay-ms", "1:86400001", "--rollup-delay-ms"},
        {"--rollup-tail", "2:100000", "--rollup-tail"},
        {"--rollup-tail", "0.1:x", "--rollup-tail"},
        {"--rollup-tail", "0.1:5000", "--rollup-tail"},
        {"--rollup-miss", "1.5", "--rollup-miss"},
        {"--rollups", "companies_contacts:label", "companies_contacts:label"},
        {"--rollups", "companies_contacts:labels:labels", "--rollups"},
        {"--rollup-lookalikes", "companies_contacts:labels", "--rollup-lookalikes"},
        {"--rollup-lookalikes", "companies", "--rollup-lookalikes"},
        {"--tier", "gold", "--tier"},
        {"--rate", "10", "--rate"},
        {"--search-rate", "5/1m", "--search-rate"},
        {"--labels", "9", "--labels"},
        {"--assoc-page-size", "0", "--assoc-page-size"},
        {"--auth", "ldap", "--auth"},
        {"--latency-ms", "10:20", "--latency-ms"},
        {"--latency-ms", "x", "--latency-ms"},
        {"--fault-slow", "0.1", "--fault-slow"},
        {"--fault-slow", "2:100", "--fault-slow"},
        {"--churn", "x/s", "--churn"},
        {"--churn", "-5", "--churn"},
        {"--token", "", "--token"},
        {"--rollups", "contacts_companies", "contacts_companies"},
        {"--index-lag-ms", "-5", "--index-lag-ms"},
        {"--token-ttl", "1.5", "--token-ttl"},
        {"--latency-profile", "fast", "--latency-profile"},
        {"--latency-profile", "HUBSPOT", "--latency-profile"},
        {"--latency-scale", "-1", "--latency-scale"},
        {"--latency-scale", "x", "--latency-scale"},
        {"--foreign-load", "63", "--foreign-load"},
        {"--foreign-load", "63/10", "--foreign-load"},
        {"--tier", "pro-add-on", "pro-addon"},
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        static sim_config c;
        char err[256] = "";
        sim_config_defaults(&c);
        int rc = bad[i][1] ? parse(&c, err, sizeof(err), ARGS(bad[i][0], bad[i][1]))
                           : parse(&c, err, sizeof(err), ARGS(bad[i][0]));
        CHECKF(rc == -1 && strstr(err, bad[i][2]) != NULL, "%s %s: rc %d, err \"%s\"", bad[i][0],
               bad[i][1] ? bad[i][1] : "", rc, err);
    }
}

/* A TCP port is 16 bits: anything larger must be refused, not truncated. */
static void test_rejects_bad_port(void)
{
    static const char *const bad[] = {"65536", "70000", "4294967295", "-1"};
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        static sim_config c;
        char err[256] = "";
        sim_config_defaults(&c);
        int rc = parse(&c, err, sizeof(err), ARGS("--port", bad[i]));
        CHECKF(rc == -1, "--port %s accepted (sc_port %d)", bad[i], c.sc_port);
    }
    static sim_config c;
    char err[256];
    sim_config_defaults(&c);
    CHECK(parse(&c, err, sizeof(err), ARGS("--port", "65535")) == 0 && c.sc_port == 65535);
}

static void test_help(void)
{
    static sim_config c;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    REQUIRE(out != NULL);
    char err[256];
    sim_config_defaults(&c);
    char *argv[] = {(char *)"hubspot-sim", (char *)"--seed", (char *)"3", (char *)"--help", NULL};
    int rc = sim_config_parse_args(&c, 4, argv, out, err, sizeof(err));
    fclose(out);
    CHECK_EQ(rc, 1);
    REQUIRE(text != NULL);
    static const char *const documented[] = {
        "--port",
        "--port-file",
        "--bind",
        "--seed",
        "--contacts",
        "--companies",
        "--deals",
        "--tickets",
        "--calls",
        "--emails",
        "--meetings",
        "--notes",
        "--tasks",
        "--communications",
        "--postal_mail",
        "--density",
        "--heavy-parents",
        "--heavy-links",
        "--labels",
        "--assoc-page-size",
        "--rollups",
        "--rollup-lookalikes",
        "--rollup-bumps",
        "--rollup-delay-ms",
        "--rollup-tail",
        "--rollup-miss",
        "--tier",
        "--rate",
        "--search-rate",
        "--daily",
        "--assoc-batch-exempt",
        "--retry-after",
        "--latency-ms",
        "--latency-profile",
        "--latency-scale",
        "--foreign-load",
        "pro-addon",
        "--fault-5xx",
        "--fault-429",
        "--fault-reset",
        "--fault-slow",
        "--fault-truncate",
        "--auth",
        "--token",
        "--refresh-token",
        "--client-id",
        "--client-secret",
        "--token-ttl",
        "--index-lag-ms",
        "--same-ms",
        "--churn",
        "--quiet",
        "--help",
    };
    for (size_t i = 0; i < UT_COUNT(documented); i++)
        CHECKF(strstr(text, documented[i]) != NULL, "--help lacks %s", documented[i]);
done:
    free(text);
}

static void test_set_rollups(void)
{
    static sim_config c;
    char err[256] = "";
    sim_config_defaults(&c);
    CHECK(sim_config_set_rollups(&c, "none", err, sizeof(err)) == 0);
    CHECK_EQ(c.sc_portal.pc_nrollups, 0);
    CHECK(sim_config_set_rollups(&c, "contacts_deals,companies_tickets,contacts_notes", err,
                                 sizeof(err)) == 0);
    REQUIRE_EQ(c.sc_portal.pc_nrollups, 3);
    char n[64];
    hs_table_name(c.sc_portal.pc_rollups[0].rd_table, n, sizeof(n));
    CHECK_STR(n, "contacts_deals");
    hs_table_name(c.sc_portal.pc_rollups[2].rd_table, n, sizeof(n));
    CHECK_STR(n, "contacts_notes");
    CHECK(!c.sc_portal.pc_rollups[0].rd_labels && !c.sc_portal.pc_rollups[2].rd_labels);
    /* ":labels" adds the per-label rollups of that table only. */
    REQUIRE(sim_config_set_rollups(&c, "contacts_deals:labels,companies_tickets", err,
                                   sizeof(err)) == 0);
    CHECK(c.sc_portal.pc_nrollups == 2 && has_rollup_labels(&c, "contacts_deals", true) &&
          has_rollup_labels(&c, "companies_tickets", false));
    REQUIRE(sim_config_set_rollups(&c, "contacts_deals,companies_tickets,contacts_notes", err,
                                   sizeof(err)) == 0);
    /* A bad entry anywhere: refused, named, and nothing changes. */
    static const char *const bad[] = {
        "contacts_companies", "companies_contacts,junk",   "companies_contacts,,contacts_deals",
        "companies contacts", "companies_contacts:Labels", ":labels",
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        err[0] = '\0';
        CHECK(sim_config_set_rollups(&c, bad[i], err, sizeof(err)) == -1);
        CHECK(strlen(err) > 0);
        CHECK_EQ(c.sc_portal.pc_nrollups, 3);
    }
    /* Look-alikes: plain table names, "none", and the same refusals. */
    CHECK(sim_config_set_lookalikes(&c, "companies_tickets,deals_tickets", err, sizeof(err)) == 0);
    char looks[128];
    lookalikes_text(&c, looks, sizeof(looks));
    CHECK_STR(looks, "companies_tickets,deals_tickets");
    CHECK(sim_config_set_lookalikes(&c, "companies_tickets:labels", err, sizeof(err)) == -1);
    CHECK(sim_config_set_lookalikes(&c, "junk", err, sizeof(err)) == -1);
    CHECK_EQ(c.sc_portal.pc_nlookalikes, 2);
    CHECK(sim_config_set_lookalikes(&c, "none", err, sizeof(err)) == 0);
    CHECK_EQ(c.sc_portal.pc_nlookalikes, 0);
done:
    return;
}

/* rollup_bumps: the mode names, on/off and booleans as the old switch. */
static void test_apply_json_rollup_mode(void)
{
    static const struct {
        const char *body;
        sim_rollup_mode mode;
    } cases[] = {
        {"{\"rollup_bumps\":\"always\"}", SIM_ROLLUP_ALWAYS},
        {"{\"rollup_bumps\":\"never\"}", SIM_ROLLUP_NEVER},
        {"{\"rollup_bumps\":\"realistic\"}", SIM_ROLLUP_REALISTIC},
        {"{\"rollup_bumps\":true}", SIM_ROLLUP_ALWAYS},
        {"{\"rollup_bumps\":false}", SIM_ROLLUP_NEVER},
        {"{\"rollup_bumps\":\"on\"}", SIM_ROLLUP_ALWAYS},
        {"{\"rollup_bumps\":\"off\"}", SIM_ROLLUP_NEVER},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        static sim_config c;
        char err[256] = "";
        unsigned changed = 99;
        sim_config_defaults(&c);
        c.sc_rollup.rm_mode =
            cases[i].mode == SIM_ROLLUP_REALISTIC ? SIM_ROLLUP_NEVER : SIM_ROLLUP_REALISTIC;
        int rc = sim_config_apply_json(&c, cases[i].body, strlen(cases[i].body), &changed, err,
                                       sizeof(err));
        CHECKF(rc == 0 && c.sc_rollup.rm_mode == cases[i].mode && changed == 0,
               "%s: rc %d (%s), mode %d", cases[i].body, rc, err, (int)c.sc_rollup.rm_mode);
    }
}

static int apply(sim_config *c, const char *body, unsigned *changed, char *err, size_t errlen)
{
    return sim_config_apply_json(c, body, strlen(body), changed, err, errlen);
}

static void test_apply_json(void)
{
    static sim_config c;
    char err[256] = "";
    unsigned changed = 99;
    sim_config_defaults(&c);
    const char *body =
        "{\"churn_per_s\":10,\"latency_ms\":5,\"latency_jitter_ms\":2,\"index_lag_ms\":2000,"
        "\"same_ms\":0.5,\"fault_5xx\":0.1,\"fault_429\":0.2,\"fault_reset\":0.3,"
        "\"fault_slow\":0.4,\"fault_slow_ms\":300,\"fault_truncate\":0.05,"
        "\"rate\":\"100/10s\",\"search_rate\":\"0\",\"daily\":1000,\"retry_after\":true,"
        "\"rollup_bumps\":\"off\",\"assoc_batch_exempt\":true,\"token_ttl\":60,"
        "\"rollups\":[\"companies_deals:labels\",\"deals_tickets\"],\"rollup_delay_min_ms\":200,"
        "\"rollup_delay_max_ms\":400,\"rollup_tail\":0.1,\"rollup_tail_ms\":1000,"
        "\"rollup_miss\":1,\"rollup_lookalikes\":\"companies_tickets\","
        "\"latency_profile\":\"hubspot\",\"latency_scale\":2.5,\"foreign_load\":\"63/10s\"}";
    REQUIRE(apply(&c, body, &changed, err, sizeof(err)) == 0);
    CHECK(c.sc_churn_per_s == 10 && c.sc_latency_ms == 5 && c.sc_latency_jitter_ms == 2);
    CHECK(c.sc_index_lag_ms == 2000 && c.sc_same_ms == 0.5);
    CHECK(c.sc_fault_5xx == 0.1 && c.sc_fault_429 == 0.2 && c.sc_fault_reset == 0.3);
    CHECK(c.sc_fault_slow == 0.4 && c.sc_fault_slow_ms == 300 && c.sc_fault_truncate == 0.05);
    CHECK(c.sc_rate == 100 && c.sc_rate_window_ms == 10000 && c.sc_search_rate == 0);
    CHECK(c.sc_daily == 1000 && c.sc_retry_after && c.sc_rollup.rm_mode == SIM_ROLLUP_NEVER);
    CHECK(c.sc_assoc_batch_exempt && c.sc_token_ttl_s == 60);
    CHECK(c.sc_portal.pc_nrollups == 2 && has_rollup_labels(&c, "companies_deals", true) &&
          has_rollup_labels(&c, "deals_tickets", false));
    CHECK(c.sc_rollup.rm_delay_min_ms == 200 && c.sc_rollup.rm_delay_max_ms == 400);
    CHECK(c.sc_rollup.rm_tail == 0.1 && c.sc_rollup.rm_tail_ms == 1000);
    CHECK(c.sc_rollup.rm_miss == 1);
    char looks[128];
    lookalikes_text(&c, looks, sizeof(looks));
    CHECK_STR(looks, "companies_tickets");
    CHECK(c.sc_latency_profile == SIM_LATENCY_HUBSPOT && c.sc_latency_scale == 2.5);
    CHECK(c.sc_foreign_count == 63 && c.sc_foreign_window_ms == 10000);
    CHECK_EQ(changed,
             SIM_CHANGED_LIMITS | SIM_CHANGED_ROLLUPS | SIM_CHANGED_TTL | SIM_CHANGED_FOREIGN);
    REQUIRE(apply(&c, "{\"foreign_load\":\"0\",\"latency_profile\":\"none\"}", &changed, err,
                  sizeof(err)) == 0);
    CHECK(c.sc_foreign_count == 0 && c.sc_latency_profile == SIM_LATENCY_NONE);
    CHECK_EQ(changed, SIM_CHANGED_FOREIGN);
    /* Only switches without side effects: no bits. */
    REQUIRE(apply(&c, "{\"latency_ms\":7}", &changed, err, sizeof(err)) == 0);
    CHECK_EQ(changed, 0);
    CHECK_EQ(c.sc_latency_ms, 7);
    REQUIRE(apply(&c, "{}", &changed, err, sizeof(err)) == 0);
    CHECK_EQ(changed, 0);
    REQUIRE(apply(&c, "{\"rollups\":\"none\"}\n", &changed, err, sizeof(err)) == 0);
    CHECK(c.sc_portal.pc_nrollups == 0 && changed == SIM_CHANGED_ROLLUPS);
    REQUIRE(apply(&c, "{\"rollup_lookalikes\":[]}", &changed, err, sizeof(err)) == 0);
    CHECK(c.sc_portal.pc_nlookalikes == 0 && changed == SIM_CHANGED_ROLLUPS);
done:
    return;
}

/* Any bad key or value: -1, a message, and the configuration unchanged. */
static void test_apply_json_all_or_nothing(void)
{
    static const char *const bad[] = {
        "{\"latency_ms\":5,\"bogus\":1}",
        "{\"latency_ms\":5,\"fault_5xx\":2}",
        "{\"latency_ms\":5,\"index_lag_ms\":-1}",
        "{\"latency_ms\":5,\"same_ms\":\"0.5\"}",
        "{\"latency_ms\":5,\"rate\":\"abc\"}",
        "{\"latency_ms\":5,\"rate\":190}",
        "{\"latency_ms\":5,\"rollups\":[\"junk\"]}",
        "{\"latency_ms\":5,\"rollups\":[1]}",
        "{\"latency_ms\":5,\"rollups\":\"contacts_companies\"}",
        "{\"latency_ms\":5,\"retry_after\":\"maybe\"}",
        "{\"latency_ms\":5,\"rollup_bumps\":\"maybe\"}",
        "{\"latency_ms\":5,\"rollup_bumps\":1}",
        "{\"latency_ms\":5,\"rollup_delay_min_ms\":8000}",
        "{\"latency_ms\":5,\"rollup_delay_max_ms\":-1}",
        "{\"latency_ms\":5,\"rollup_tail\":1.5}",
        "{\"latency_ms\":5,\"rollup_tail_ms\":6000}",
        "{\"latency_ms\":5,\"rollup_miss\":\"0.5\"}",
        "{\"latency_ms\":5,\"rollup_lookalikes\":[\"junk\"]}",
        "{\"latency_ms\":5,\"rollup_lookalikes\":{}}",
        "{\"latency_ms\":5,\"rollups\":\"companies_contacts:labels,contacts_deals:x\"}",
        "{\"latency_ms\":5,\"churn_per_s\":null}",
        "{\"latency_ms\":5,\"latency_ms\":-3}",
        "{\"latency_ms\":5,\"latency_profile\":\"fast\"}",
        "{\"latency_ms\":5,\"latency_profile\":1}",
        "{\"latency_ms\":5,\"latency_scale\":-0.5}",
        "{\"latency_ms\":5,\"latency_scale\":\"2\"}",
        "{\"latency_ms\":5,\"foreign_load\":63}",
        "{\"latency_ms\":5,\"foreign_load\":\"63/\"}",
        "[]",
        "1",
        "\"x\"",
        "",
        "{",
        "{} x",
        "{\"latency_ms\":5}}",
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        static sim_config c, before;
        char err[256] = "";
        unsigned changed = 0;
        sim_config_defaults(&c);
        before = c;
        int rc = apply(&c, bad[i], &changed, err, sizeof(err));
        CHECKF(rc == -1 && err[0] && memcmp(&c, &before, sizeof(c)) == 0,
               "body %s: rc %d, err \"%s\", config %s", bad[i], rc, err,
               memcmp(&c, &before, sizeof(c)) ? "changed" : "unchanged");
    }
}

/* Every runtime switch of docs/SIMULATOR.md appears in GET /_sim/config. */
static void test_config_json(void)
{
    static sim_config c;
    sim_config_defaults(&c);
    jbuf b;
    jb_init(&b);
    sim_config_json(&c, &b);
    json_object *o = json_tokener_parse(jb_cstr(&b));
    REQUIRE(o && json_object_is_type(o, json_type_object));
    for (size_t i = 0; i < UT_COUNT(runtime_keys); i++)
        CHECKF(json_object_object_get_ex(o, runtime_keys[i], NULL), "GET /_sim/config lacks %s",
               runtime_keys[i]);
    json_object *v;
    CHECK(json_object_object_get_ex(o, "rollups", &v) &&
          strcmp(json_object_get_string(v),
                 "companies_contacts:labels,companies_deals,contacts_deals") == 0);
    CHECK(json_object_object_get_ex(o, "rollup_lookalikes", &v) &&
          strcmp(json_object_get_string(v), "") == 0);
    CHECK(json_object_object_get_ex(o, "daily", &v) && json_object_get_int64(v) == 625000);
    CHECK(json_object_object_get_ex(o, "tier", &v) &&
          strcmp(json_object_get_string(v), "pro") == 0);
    CHECK(json_object_object_get_ex(o, "auth", &v) &&
          strcmp(json_object_get_string(v), "private") == 0);
    CHECK(json_object_object_get_ex(o, "token_ttl", &v) && json_object_get_int64(v) == 1800);
    CHECK(json_object_object_get_ex(o, "rollup_bumps", &v) &&
          json_object_is_type(v, json_type_string) &&
          strcmp(json_object_get_string(v), "realistic") == 0);
    CHECK(int_is(o, "rollup_delay_min_ms", 2000) && int_is(o, "rollup_delay_max_ms", 7000));
    CHECK(int_is(o, "rollup_tail_ms", 240000));
    CHECK(json_object_object_get_ex(o, "rollup_tail", &v) && json_object_get_double(v) == 0.02);
    CHECK(json_object_object_get_ex(o, "rollup_miss", &v) && json_object_get_double(v) == 0.05);
    CHECK(json_object_object_get_ex(o, "latency_profile", &v) &&
          strcmp(json_object_get_string(v), "none") == 0);
    CHECK(json_object_object_get_ex(o, "latency_scale", &v) && json_object_get_double(v) == 1);
    CHECK(json_object_object_get_ex(o, "foreign_load", &v) &&
          strcmp(json_object_get_string(v), "0") == 0);
    /* The rate reads back as the same limit. */
    uint32_t n = 0;
    int64_t w = 0;
    CHECK(json_object_object_get_ex(o, "rate", &v) &&
          rate_spec_parse(json_object_get_string(v), &n, &w) == 0 && n == 190 && w == 10000);
done:
    json_object_put(o);
    jb_free(&b);
}

/* Writes the runtime keys of `c`'s GET /_sim/config into a POST body, applies
 * it to a default configuration and compares the two GET outputs. */
static void check_roundtrip(const sim_config *c, const char *what)
{
    static sim_config d;
    jbuf b1, b2;
    jb_init(&b1);
    jb_init(&b2);
    json_object *got = NULL, *body = json_object_new_object();
    sim_config_json(c, &b1);
    got = json_tokener_parse(jb_cstr(&b1));
    if (!CHECK(got && body))
        goto done;
    for (size_t i = 0; i < UT_COUNT(runtime_keys); i++) {
        json_object *v;
        if (json_object_object_get_ex(got, runtime_keys[i], &v))
            json_object_object_add(body, runtime_keys[i], json_object_get(v));
    }
    const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    sim_config_defaults(&d);
    char err[256] = "";
    unsigned changed;
    int rc = sim_config_apply_json(&d, text, strlen(text), &changed, err, sizeof(err));
    if (!CHECKF(rc == 0, "%s: posting GET's values back fails: %s (%s)", what, err, text))
        goto done;
    sim_config_json(&d, &b2);
    CHECKF(strcmp(jb_cstr(&b1), jb_cstr(&b2)) == 0, "%s: round trip differs:\n      %s\n      %s",
           what, jb_cstr(&b1), jb_cstr(&b2));
done:
    json_object_put(got);
    json_object_put(body);
    jb_free(&b1);
    jb_free(&b2);
}

static void test_config_roundtrip(void)
{
    static sim_config c;
    sim_config_defaults(&c);
    check_roundtrip(&c, "defaults");
    sim_config_defaults(&c);
    c.sc_latency_ms = 5;
    c.sc_latency_jitter_ms = 3;
    c.sc_same_ms = 0.25;
    c.sc_fault_5xx = 0.01;
    c.sc_index_lag_ms = 1500;
    c.sc_rate = 100;
    c.sc_rate_window_ms = 1000;
    c.sc_daily = 42;
    c.sc_retry_after = true;
    c.sc_token_ttl_s = 30;
    c.sc_rollup.rm_mode = SIM_ROLLUP_ALWAYS;
    c.sc_rollup.rm_delay_min_ms = 10;
    c.sc_rollup.rm_delay_max_ms = 20;
    c.sc_rollup.rm_tail = 0.5;
    c.sc_rollup.rm_tail_ms = 30;
    c.sc_rollup.rm_miss = 0.125;
    c.sc_latency_profile = SIM_LATENCY_HUBSPOT;
    c.sc_latency_scale = 0.25;
    c.sc_foreign_count = 63;
    c.sc_foreign_window_ms = 10000;
    char err[64];
    sim_config_set_rollups(&c, "deals_tickets:labels,companies_deals", err, sizeof(err));
    sim_config_set_lookalikes(&c, "companies_tickets,contacts_tickets", err, sizeof(err));
    check_roundtrip(&c, "changed switches");
}

/* The documented "rate 0 switches one off" must survive GET → POST. */
static void test_config_roundtrip_limits_off(void)
{
    static sim_config c;
    sim_config_defaults(&c);
    c.sc_rate = 0;
    c.sc_search_rate = 0;
    c.sc_daily = 0;
    sim_config_set_rollups(&c, "none", NULL, 0);
    check_roundtrip(&c, "limits off");
}

int unit_suite_sim_config(void)
{
    static const ut_test tests[] = {
        {"defaults as documented", test_defaults},
        {"parses every option, both forms", test_parse_every_option},
        {"tiers, explicit limits win", test_tiers},
        {"rejects bad options, naming them", test_rejects},
        {"rejects ports above 65535", test_rejects_bad_port},
        {"--help lists every option", test_help},
        {"rollup list", test_set_rollups},
        {"apply_json sets every runtime switch", test_apply_json},
        {"apply_json: rollup_bumps modes and booleans", test_apply_json_rollup_mode},
        {"apply_json is all-or-nothing", test_apply_json_all_or_nothing},
        {"config JSON has every runtime switch", test_config_json},
        {"config JSON posts back unchanged", test_config_roundtrip},
        {"config JSON posts back with limits off", test_config_roundtrip_limits_off},
    };
    return ut_add_suite("sim_config", tests, UT_COUNT(tests));
}
