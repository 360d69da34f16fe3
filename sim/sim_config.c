/*
 * sim_config — command-line and runtime configuration (see sim_config.h).
 *
 * One option table drives parsing, --help and validation, so a switch is
 * declared once.
 */
#include "sim_config.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../common/rate_spec.h"

void sim_config_defaults(sim_config *c)
{
    memset(c, 0, sizeof(*c));
    c->sc_port = 8089;
    snprintf(c->sc_bind, sizeof(c->sc_bind), "127.0.0.1");
    sim_portal_config_defaults(&c->sc_portal);
    c->sc_assoc_page_size = 500;
    snprintf(c->sc_tier, sizeof(c->sc_tier), "pro");
    c->sc_rate = 190;
    c->sc_rate_window_ms = 10000;
    c->sc_search_rate = 5;
    c->sc_search_window_ms = 1000;
    c->sc_daily = 625000;
    c->sc_rollup_bumps = true;
    c->sc_auth = SIM_AUTH_PRIVATE;
    snprintf(c->sc_token, sizeof(c->sc_token), "pat-na1-hubspot-sim");
    snprintf(c->sc_refresh_token, sizeof(c->sc_refresh_token), "sim-refresh-token");
    snprintf(c->sc_client_id, sizeof(c->sc_client_id), "sim-client-id");
    snprintf(c->sc_client_secret, sizeof(c->sc_client_secret), "sim-client-secret");
    c->sc_token_ttl_s = 1800;
    hs_table t;
    static const char *const rollups[] = {"companies_contacts", "companies_deals",
                                          "contacts_deals"};
    for (size_t i = 0; i < 3; i++) {
        hs_table_parse(rollups[i], strlen(rollups[i]), &t);
        c->sc_portal.pc_rollups[c->sc_portal.pc_nrollups++] = t;
    }
}

/* ------------------------------------------------------------ value parsing */

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_onoff(const char *s, bool *out)
{
    if (strcmp(s, "on") == 0 || strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
        *out = true;
    else if (strcmp(s, "off") == 0 || strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
        *out = false;
    else
        return -1;
    return 0;
}

/* "190/10s", or "0" for no limit. */
static int parse_rate(const char *s, uint32_t *count, int64_t *window_ms)
{
    if (strcmp(s, "0") == 0 || strcmp(s, "off") == 0) {
        *count = 0;
        return 0;
    }
    return rate_spec_parse(s, count, window_ms);
}

static int apply_tier(sim_config *c, const char *tier)
{
    uint32_t rate = 190;
    uint64_t daily;
    if (strcmp(tier, "free") == 0 || strcmp(tier, "starter") == 0) {
        rate = 100;
        daily = 250000;
    } else if (strcmp(tier, "pro") == 0) {
        daily = 625000;
    } else if (strcmp(tier, "enterprise") == 0) {
        daily = 1000000;
    } else if (strcmp(tier, "unlimited") == 0) {
        rate = 0;
        daily = 0;
    } else {
        return -1;
    }
    snprintf(c->sc_tier, sizeof(c->sc_tier), "%s", tier);
    c->sc_rate = rate;
    c->sc_rate_window_ms = 10000;
    c->sc_search_rate = rate ? 5 : 0;
    c->sc_search_window_ms = 1000;
    c->sc_daily = daily;
    return 0;
}

int sim_config_set_rollups(sim_config *c, const char *list, char *err, size_t errlen)
{
    sim_portal_config *pc = &c->sc_portal;
    hs_table found[SIM_MAX_TABLES];
    int n = 0;
    if (strcmp(list, "none") != 0 && *list) {
        const char *p = list;
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (n == SIM_MAX_TABLES || hs_table_parse(p, len, &found[n]) != 0) {
                snprintf(err, errlen,
                         "--rollups: '%.*s' is not a table name like companies_contacts", (int)len,
                         p);
                return -1;
            }
            n++;
            p += len + (comma ? 1 : 0);
        }
    }
    memcpy(pc->pc_rollups, found, (size_t)n * sizeof(hs_table));
    pc->pc_nrollups = n;
    return 0;
}

/* ------------------------------------------------------------- the options */

typedef enum opt_kind {
    OPT_COUNT, /* uint32 object count */
    OPT_U32,
    OPT_U64,
    OPT_I64,    /* non-negative milliseconds or seconds */
    OPT_DOUBLE, /* non-negative */
    OPT_PROB,   /* [0, 1] */
    OPT_ONOFF,
    OPT_STR, /* into a char[SIM_TOKEN_MAX] unless noted */
    OPT_FLAG,
    OPT_SPECIAL
} opt_kind;

typedef struct opt {
    const char *o_name;
    opt_kind o_kind;
    size_t o_offset;
    size_t o_size; /* for OPT_STR */
    const char *o_arg;
    const char *o_help;
} opt;

#define F(field) offsetof(sim_config, field)
#define S(field) F(field), sizeof(((sim_config *)0)->field)

static const opt options[] = {
    {"port", OPT_SPECIAL, 0, 0, "N", "port to listen on; 0 picks a free one [8089]"},
    {"port-file", OPT_STR, S(sc_port_file), "F", "also write the port to F"},
    {"bind", OPT_STR, S(sc_bind), "ADDR", "address to listen on [127.0.0.1]"},
    {"quiet", OPT_FLAG, F(sc_quiet), 0, NULL, "no portal summary on stderr"},
    {"tls-cert", OPT_STR, S(sc_tls_cert), "FILE",
     "serve HTTPS with this PEM certificate (chain); needs --tls-key"},
    {"tls-key", OPT_STR, S(sc_tls_key), "FILE", "the certificate's PEM private key"},
    {"seed", OPT_U64, F(sc_portal.pc_seed), 0, "N", "portal seed [1]"},
    {"contacts", OPT_COUNT, F(sc_portal.pc_count[HS_CONTACTS]), 0, "N", "contacts [10000]"},
    {"companies", OPT_COUNT, F(sc_portal.pc_count[HS_COMPANIES]), 0, "N", "companies [2000]"},
    {"deals", OPT_COUNT, F(sc_portal.pc_count[HS_DEALS]), 0, "N", "deals [5000]"},
    {"tickets", OPT_COUNT, F(sc_portal.pc_count[HS_TICKETS]), 0, "N", "tickets [1000]"},
    {"calls", OPT_COUNT, F(sc_portal.pc_count[HS_CALLS]), 0, "N", "calls [0]"},
    {"emails", OPT_COUNT, F(sc_portal.pc_count[HS_EMAILS]), 0, "N", "emails [0]"},
    {"meetings", OPT_COUNT, F(sc_portal.pc_count[HS_MEETINGS]), 0, "N", "meetings [0]"},
    {"notes", OPT_COUNT, F(sc_portal.pc_count[HS_NOTES]), 0, "N", "notes [0]"},
    {"tasks", OPT_COUNT, F(sc_portal.pc_count[HS_TASKS]), 0, "N", "tasks [0]"},
    {"communications", OPT_COUNT, F(sc_portal.pc_count[HS_COMMUNICATIONS]), 0, "N",
     "communications [0]"},
    {"postal_mail", OPT_COUNT, F(sc_portal.pc_count[HS_POSTAL_MAIL]), 0, "N", "postal mail [0]"},
    {"density", OPT_DOUBLE, F(sc_portal.pc_density), 0, "F", "links per object multiplier [1.0]"},
    {"heavy-parents", OPT_U32, F(sc_portal.pc_heavy_parents), 0, "N",
     "heavy parents per core table [2]"},
    {"heavy-links", OPT_U32, F(sc_portal.pc_heavy_links), 0, "N",
     "links of each heavy parent [2000]"},
    {"labels", OPT_U32, F(sc_portal.pc_labels), 0, "N", "user-defined labels per table, <= 8 [3]"},
    {"assoc-page-size", OPT_U32, F(sc_assoc_page_size), 0, "N",
     "v4 batch-read to[] items per result per page [500]"},
    {"rollups", OPT_SPECIAL, 0, 0, "LIST",
     "tables whose parent has sync_associations_* rollup properties, or 'none'\n"
     "        [companies_contacts,companies_deals,contacts_deals]"},
    {"rollup-bumps", OPT_ONOFF, F(sc_rollup_bumps), 0, "on|off",
     "association changes on rollup tables bump the parent's last-modified [on]"},
    {"tier", OPT_SPECIAL, 0, 0, "NAME", "free|starter|pro|enterprise|unlimited [pro]"},
    {"rate", OPT_SPECIAL, 0, 0, "N/Ws", "burst limit (TEN_SECONDLY_ROLLING); 0 = off [190/10s]"},
    {"search-rate", OPT_SPECIAL, 0, 0, "N/Ws", "search limit (SECONDLY); 0 = off [5/1s]"},
    {"daily", OPT_U64, F(sc_daily), 0, "N", "daily limit; 0 = off [625000]"},
    {"assoc-batch-exempt", OPT_ONOFF, F(sc_assoc_batch_exempt), 0, "on|off",
     "association batch endpoints skip the burst limit [off]"},
    {"retry-after", OPT_ONOFF, F(sc_retry_after), 0, "on|off", "send Retry-After on 429 [off]"},
    {"latency-ms", OPT_SPECIAL, 0, 0, "MEAN[:JITTER]", "added latency per API response [0]"},
    {"fault-5xx", OPT_PROB, F(sc_fault_5xx), 0, "P", "chance of a 502/503/504 [0]"},
    {"fault-429", OPT_PROB, F(sc_fault_429), 0, "P", "chance of an injected 429 [0]"},
    {"fault-reset", OPT_PROB, F(sc_fault_reset), 0, "P", "chance of a connection reset [0]"},
    {"fault-slow", OPT_SPECIAL, 0, 0, "P:MS", "chance of a response MS slower [0]"},
    {"fault-truncate", OPT_PROB, F(sc_fault_truncate), 0, "P", "chance of a truncated body [0]"},
    {"fault-search-400", OPT_PROB, F(sc_fault_search_400), 0, "P",
     "chance a search is refused 400 VALIDATION_ERROR [0]"},
    {"auth", OPT_SPECIAL, 0, 0, "private|oauth", "authentication mode [private]"},
    {"token", OPT_STR, S(sc_token), "T", "private-app token [pat-na1-hubspot-sim]"},
    {"refresh-token", OPT_STR, S(sc_refresh_token), "R", "OAuth refresh token [sim-refresh-token]"},
    {"client-id", OPT_STR, S(sc_client_id), "C", "OAuth client id [sim-client-id]"},
    {"client-secret", OPT_STR, S(sc_client_secret), "S", "OAuth client secret [sim-client-secret]"},
    {"token-ttl", OPT_I64, F(sc_token_ttl_s), 0, "S", "OAuth access token lifetime [1800]"},
    {"index-lag-ms", OPT_I64, F(sc_index_lag_ms), 0, "N", "search sees writes N ms late [0]"},
    {"same-ms", OPT_PROB, F(sc_same_ms), 0, "F", "chance a write shares the previous ms [0]"},
    {"churn", OPT_SPECIAL, 0, 0, "N/s", "background mutations per second [0]"},
};

#undef F
#undef S

static void usage(FILE *out)
{
    fprintf(out, "usage: hubspot-sim [options]\n\n"
                 "Serves HubSpot's CRM API (objects, search, v4 associations, properties,\n"
                 "OAuth) for a synthetic portal, with HubSpot's limits and failure modes.\n"
                 "Prints 'hubspot-sim listening on http://ADDR:PORT' when ready (https://\n"
                 "with --tls-cert and --tls-key).\n\n");
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        const opt *o = &options[i];
        char left[48];
        snprintf(left, sizeof(left), "--%s%s%s", o->o_name, o->o_arg ? " " : "",
                 o->o_arg ? o->o_arg : "");
        fprintf(out, "  %-30s %s\n", left, o->o_help);
    }
    fprintf(out, "  %-30s %s\n", "--help", "this text");
    fprintf(out, "\nAdmin endpoints (loopback only): GET /_sim/truth?table=T, POST /_sim/mutate,\n"
                 "GET /_sim/stats, POST /_sim/reset-stats, GET|POST /_sim/config.\n"
                 "See docs/SIMULATOR.md.\n");
}

static int set_special(sim_config *c, const char *name, const char *v, char *err, size_t errlen)
{
    if (strcmp(name, "rollups") == 0)
        return sim_config_set_rollups(c, v, err, errlen);
    if (strcmp(name, "port") == 0) {
        uint64_t port;
        if (parse_u64(v, 65535, &port) == 0) {
            c->sc_port = (int)port;
            return 0;
        }
    } else if (strcmp(name, "tier") == 0) {
        if (apply_tier(c, v) == 0)
            return 0;
    } else if (strcmp(name, "rate") == 0) {
        if (parse_rate(v, &c->sc_rate, &c->sc_rate_window_ms) == 0)
            return 0;
    } else if (strcmp(name, "search-rate") == 0) {
        if (parse_rate(v, &c->sc_search_rate, &c->sc_search_window_ms) == 0)
            return 0;
    } else if (strcmp(name, "latency-ms") == 0) {
        uint64_t mean, jitter = 0;
        char buf[64];
        snprintf(buf, sizeof(buf), "%s", v);
        char *colon = strchr(buf, ':');
        if (colon)
            *colon = '\0';
        if (parse_u64(buf, 600000, &mean) == 0 &&
            (!colon || parse_u64(colon + 1, mean, &jitter) == 0)) {
            c->sc_latency_ms = (int64_t)mean;
            c->sc_latency_jitter_ms = (int64_t)jitter;
            return 0;
        }
    } else if (strcmp(name, "fault-slow") == 0) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%s", v);
        char *colon = strchr(buf, ':');
        uint64_t ms;
        double p;
        if (colon) {
            *colon = '\0';
            if (parse_double(buf, 0, 1, &p) == 0 && parse_u64(colon + 1, 600000, &ms) == 0) {
                c->sc_fault_slow = p;
                c->sc_fault_slow_ms = (int64_t)ms;
                return 0;
            }
        }
    } else if (strcmp(name, "auth") == 0) {
        if (strcmp(v, "private") == 0 || strcmp(v, "oauth") == 0) {
            c->sc_auth = strcmp(v, "oauth") == 0 ? SIM_AUTH_OAUTH : SIM_AUTH_PRIVATE;
            return 0;
        }
    } else if (strcmp(name, "churn") == 0) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%s", v);
        size_t n = strlen(buf);
        if (n > 2 && strcmp(buf + n - 2, "/s") == 0)
            buf[n - 2] = '\0';
        if (parse_double(buf, 0, 1e6, &c->sc_churn_per_s) == 0)
            return 0;
    }
    snprintf(err, errlen, "--%s: invalid value '%s' (see --help)", name, v);
    return -1;
}

static int set_option(sim_config *c, const opt *o, const char *v, char *err, size_t errlen)
{
    char *base = (char *)c;
    uint64_t u;
    double d;
    switch (o->o_kind) {
    case OPT_COUNT:
        if (parse_u64(v, 50000000, &u))
            break;
        *(uint32_t *)(base + o->o_offset) = (uint32_t)u;
        return 0;
    case OPT_U32:
        if (parse_u64(v, UINT32_MAX, &u))
            break;
        *(uint32_t *)(base + o->o_offset) = (uint32_t)u;
        return 0;
    case OPT_U64:
        if (parse_u64(v, UINT64_MAX, &u))
            break;
        *(uint64_t *)(base + o->o_offset) = u;
        return 0;
    case OPT_I64:
        if (parse_u64(v, INT64_MAX / 1000000, &u))
            break;
        *(int64_t *)(base + o->o_offset) = (int64_t)u;
        return 0;
    case OPT_DOUBLE:
        if (parse_double(v, 0, 1e6, &d))
            break;
        *(double *)(base + o->o_offset) = d;
        return 0;
    case OPT_PROB:
        if (parse_double(v, 0, 1, &d))
            break;
        *(double *)(base + o->o_offset) = d;
        return 0;
    case OPT_ONOFF:
        if (parse_onoff(v, (bool *)(base + o->o_offset)))
            break;
        return 0;
    case OPT_STR:
        if (strlen(v) >= o->o_size || !*v)
            break;
        snprintf(base + o->o_offset, o->o_size, "%s", v);
        return 0;
    case OPT_FLAG:
        *(bool *)(base + o->o_offset) = true;
        return 0;
    case OPT_SPECIAL:
        return set_special(c, o->o_name, v, err, errlen);
    }
    snprintf(err, errlen, "--%s: invalid value '%s' (see --help)", o->o_name, v);
    return -1;
}

static const opt *find_option(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        if (strlen(options[i].o_name) == n && memcmp(options[i].o_name, name, n) == 0)
            return &options[i];
    return NULL;
}

int sim_config_parse_args(sim_config *c, int argc, char **argv, FILE *out, char *err, size_t errlen)
{
    /* The tier sets several limits; explicit --rate/--search-rate/--daily win
     * whatever their position, so apply the tier first. */
    for (int i = 1; i < argc; i++) {
        const char *tier = NULL;
        if (strcmp(argv[i], "--tier") == 0 && i + 1 < argc)
            tier = argv[i + 1];
        else if (strncmp(argv[i], "--tier=", 7) == 0)
            tier = argv[i] + 7;
        if (tier && apply_tier(c, tier) != 0) {
            snprintf(err, errlen,
                     "--tier: unknown tier '%s' (free, starter, pro, enterprise, "
                     "unlimited)",
                     tier);
            return -1;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(out);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (see --help)", a);
            return -1;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        const opt *o = find_option(name, n);
        if (!o) {
            snprintf(err, errlen, "unknown option '%s' (see --help)", a);
            return -1;
        }
        const char *v = "";
        if (o->o_kind != OPT_FLAG) {
            if (eq) {
                v = eq + 1;
            } else if (i + 1 < argc) {
                v = argv[++i];
            } else {
                snprintf(err, errlen, "--%s needs a value (%s)", o->o_name, o->o_arg);
                return -1;
            }
        }
        if (strcmp(o->o_name, "tier") == 0)
            continue; /* applied above */
        if (set_option(c, o, v, err, errlen))
            return -1;
    }
    if (c->sc_portal.pc_labels > SIM_MAX_LABELS) {
        snprintf(err, errlen, "--labels: at most %d", SIM_MAX_LABELS);
        return -1;
    }
    if (c->sc_assoc_page_size == 0) {
        snprintf(err, errlen, "--assoc-page-size must be at least 1");
        return -1;
    }
    if (!c->sc_tls_cert[0] != !c->sc_tls_key[0]) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together (HTTPS needs both)");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------- runtime changes */

static int json_prob(json_object *v, double *out)
{
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return -1;
    double d = json_object_get_double(v);
    if (!(d >= 0 && d <= 1))
        return -1;
    *out = d;
    return 0;
}

static int json_nonneg(json_object *v, double max, double *out)
{
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return -1;
    double d = json_object_get_double(v);
    if (!(d >= 0 && d <= max))
        return -1;
    *out = d;
    return 0;
}

static int json_onoff(json_object *v, bool *out)
{
    if (json_object_is_type(v, json_type_boolean)) {
        *out = json_object_get_boolean(v);
        return 0;
    }
    if (json_object_is_type(v, json_type_string))
        return parse_onoff(json_object_get_string(v), out);
    return -1;
}

static int apply_key(sim_config *c, const char *key, json_object *v, unsigned *changed, char *err,
                     size_t errlen)
{
    double d = 0;
    int bad = 0;
    if (strcmp(key, "churn_per_s") == 0) {
        bad = json_nonneg(v, 1e6, &c->sc_churn_per_s);
    } else if (strcmp(key, "latency_ms") == 0) {
        bad = json_nonneg(v, 600000, &d);
        c->sc_latency_ms = (int64_t)d;
    } else if (strcmp(key, "latency_jitter_ms") == 0) {
        bad = json_nonneg(v, 600000, &d);
        c->sc_latency_jitter_ms = (int64_t)d;
    } else if (strcmp(key, "index_lag_ms") == 0) {
        bad = json_nonneg(v, 86400000, &d);
        c->sc_index_lag_ms = (int64_t)d;
    } else if (strcmp(key, "same_ms") == 0) {
        bad = json_prob(v, &c->sc_same_ms);
    } else if (strcmp(key, "fault_5xx") == 0) {
        bad = json_prob(v, &c->sc_fault_5xx);
    } else if (strcmp(key, "fault_429") == 0) {
        bad = json_prob(v, &c->sc_fault_429);
    } else if (strcmp(key, "fault_reset") == 0) {
        bad = json_prob(v, &c->sc_fault_reset);
    } else if (strcmp(key, "fault_slow") == 0) {
        bad = json_prob(v, &c->sc_fault_slow);
    } else if (strcmp(key, "fault_slow_ms") == 0) {
        bad = json_nonneg(v, 600000, &d);
        c->sc_fault_slow_ms = (int64_t)d;
    } else if (strcmp(key, "fault_truncate") == 0) {
        bad = json_prob(v, &c->sc_fault_truncate);
    } else if (strcmp(key, "fault_search_400") == 0) {
        bad = json_prob(v, &c->sc_fault_search_400);
    } else if (strcmp(key, "rate") == 0 || strcmp(key, "search_rate") == 0) {
        bool burst = key[0] == 'r';
        bad = !json_object_is_type(v, json_type_string) ||
              parse_rate(json_object_get_string(v), burst ? &c->sc_rate : &c->sc_search_rate,
                         burst ? &c->sc_rate_window_ms : &c->sc_search_window_ms);
        *changed |= SIM_CHANGED_LIMITS;
    } else if (strcmp(key, "daily") == 0) {
        bad = json_nonneg(v, 1e12, &d);
        c->sc_daily = (uint64_t)d;
        *changed |= SIM_CHANGED_LIMITS;
    } else if (strcmp(key, "retry_after") == 0) {
        bad = json_onoff(v, &c->sc_retry_after);
    } else if (strcmp(key, "rollup_bumps") == 0) {
        bad = json_onoff(v, &c->sc_rollup_bumps);
    } else if (strcmp(key, "assoc_batch_exempt") == 0) {
        bad = json_onoff(v, &c->sc_assoc_batch_exempt);
    } else if (strcmp(key, "token_ttl") == 0) {
        bad = json_nonneg(v, 1e9, &d);
        c->sc_token_ttl_s = (int64_t)d;
        *changed |= SIM_CHANGED_TTL;
    } else if (strcmp(key, "rollups") == 0) {
        *changed |= SIM_CHANGED_ROLLUPS;
        if (json_object_is_type(v, json_type_string))
            return sim_config_set_rollups(c, json_object_get_string(v), err, errlen);
        if (!json_object_is_type(v, json_type_array)) {
            bad = 1;
        } else {
            jbuf list;
            jb_init(&list);
            for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i);
                if (!json_object_is_type(e, json_type_string)) {
                    snprintf(err, errlen, "rollups must be table names");
                    jb_free(&list);
                    return -1;
                }
                if (i)
                    jb_char(&list, ',');
                jb_raw(&list, json_object_get_string(e), strlen(json_object_get_string(e)));
            }
            int rc = bad ? -1 : sim_config_set_rollups(c, jb_cstr(&list), err, errlen);
            jb_free(&list);
            if (rc)
                return -1;
        }
    } else {
        snprintf(err, errlen, "unknown configuration key '%s'", key);
        return -1;
    }
    if (bad) {
        snprintf(err, errlen, "invalid value for '%s'", key);
        return -1;
    }
    return 0;
}

int sim_config_apply_json(sim_config *c, const char *body, size_t len, unsigned *changed, char *err,
                          size_t errlen)
{
    *changed = 0;
    json_tokener *tok = json_tokener_new();
    json_object *root = tok ? json_tokener_parse_ex(tok, body, (int)len) : NULL;
    bool complete = tok && json_tokener_get_error(tok) == json_tokener_success &&
                    (size_t)json_tokener_get_parse_end(tok) == len;
    json_tokener_free(tok);
    if (!root || !complete || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        snprintf(err, errlen, "the body must be a JSON object");
        return -1;
    }
    sim_config next = *c;
    int rc = 0;
    json_object_object_foreach(root, key, val)
    {
        if (apply_key(&next, key, val, changed, err, errlen)) {
            rc = -1;
            break;
        }
    }
    json_object_put(root);
    if (rc == 0)
        *c = next;
    return rc;
}

/* "190/10000ms", or "0" when the policy is off: what parse_rate reads back. */
static void rate_text(char *out, size_t n, uint32_t count, int64_t window_ms)
{
    if (count == 0)
        snprintf(out, n, "0");
    else
        snprintf(out, n, "%u/%lldms", count, (long long)window_ms);
}

void sim_config_json(const sim_config *c, jbuf *out)
{
    char rate[48], search_rate[48];
    rate_text(rate, sizeof(rate), c->sc_rate, c->sc_rate_window_ms);
    rate_text(search_rate, sizeof(search_rate), c->sc_search_rate, c->sc_search_window_ms);
    char rollups[SIM_MAX_TABLES * 48] = "";
    size_t used = 0;
    for (int i = 0; i < c->sc_portal.pc_nrollups; i++) {
        char name[48];
        hs_table_name(c->sc_portal.pc_rollups[i], name, sizeof(name));
        int n = snprintf(rollups + used, sizeof(rollups) - used, "%s%s", i ? "," : "", name);
        if (n > 0)
            used += (size_t)n;
    }
    jb_printf(
        out,
        "{\"tier\":\"%s\",\"rate\":\"%s\",\"search_rate\":\"%s\","
        "\"daily\":%llu,\"assoc_batch_exempt\":%s,\"retry_after\":%s,"
        "\"rollup_bumps\":%s,\"rollups\":\"%s\",\"latency_ms\":%lld,"
        "\"latency_jitter_ms\":%lld,\"index_lag_ms\":%lld,\"same_ms\":%g,"
        "\"churn_per_s\":%g,\"fault_5xx\":%g,\"fault_429\":%g,\"fault_reset\":%g,"
        "\"fault_slow\":%g,\"fault_slow_ms\":%lld,\"fault_truncate\":%g,\"fault_search_400\":%g,"
        "\"auth\":\"%s\",\"token_ttl\":%lld,\"assoc_page_size\":%u,\"seed\":%llu}",
        c->sc_tier, rate, search_rate, (unsigned long long)c->sc_daily,
        c->sc_assoc_batch_exempt ? "true" : "false", c->sc_retry_after ? "true" : "false",
        c->sc_rollup_bumps ? "true" : "false", rollups, (long long)c->sc_latency_ms,
        (long long)c->sc_latency_jitter_ms, (long long)c->sc_index_lag_ms, c->sc_same_ms,
        c->sc_churn_per_s, c->sc_fault_5xx, c->sc_fault_429, c->sc_fault_reset, c->sc_fault_slow,
        (long long)c->sc_fault_slow_ms, c->sc_fault_truncate, c->sc_fault_search_400,
        c->sc_auth == SIM_AUTH_OAUTH ? "oauth" : "private", (long long)c->sc_token_ttl_s,
        c->sc_assoc_page_size, (unsigned long long)c->sc_portal.pc_seed);
}
