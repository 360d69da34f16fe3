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

#include "../common/base/rate_spec.h"
#include "sim_profile.h"

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
    c->sc_latency_scale = 1.0;
    sim_rollup_model_defaults(&c->sc_rollup);
    c->sc_auth = SIM_AUTH_PRIVATE;
    snprintf(c->sc_token, sizeof(c->sc_token), "pat-na1-hubspot-sim");
    snprintf(c->sc_refresh_token, sizeof(c->sc_refresh_token), "sim-refresh-token");
    snprintf(c->sc_client_id, sizeof(c->sc_client_id), "sim-client-id");
    snprintf(c->sc_client_secret, sizeof(c->sc_client_secret), "sim-client-secret");
    c->sc_token_ttl_s = 1800;
    char err[8];
    sim_config_set_rollups(c, SIM_DEFAULT_ROLLUPS, err, sizeof(err));
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

/* The --tier names, for the help text and the error. */
#define TIERS "free|starter|pro|pro-addon|enterprise|unlimited"

static int apply_tier(sim_config *c, const char *tier)
{
    uint32_t rate = 190;
    uint64_t daily;
    if (strcmp(tier, "free") == 0 || strcmp(tier, "starter") == 0) {
        rate = 100;
        daily = 250000;
    } else if (strcmp(tier, "pro") == 0) {
        daily = 625000;
    } else if (strcmp(tier, "pro-addon") == 0) {
        /* The API limit increase: a higher burst, a million more a day. */
        rate = 250;
        daily = 625000 + 1000000;
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

/* Parses "a_b,c_d" (with allow_labels also "a_b:labels") or "none" into
 * tables[] and, with allow_labels, labels[]. Returns the count, or -1 with
 * err naming `what`. */
static int parse_table_list(const char *what, const char *list, bool allow_labels, hs_table *tables,
                            bool *labels, char *err, size_t errlen)
{
    static const char suffix[] = ":labels";
    const size_t slen = sizeof(suffix) - 1;
    int n = 0;
    if (strcmp(list, "none") == 0)
        return 0;
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        bool with_labels = allow_labels && len > slen && memcmp(p + len - slen, suffix, slen) == 0;
        size_t name_len = with_labels ? len - slen : len;
        if (n == SIM_MAX_TABLES || hs_table_parse(p, name_len, &tables[n]) != 0) {
            snprintf(err, errlen, "%s: '%.*s' is not a table name like companies_contacts%s", what,
                     (int)len, p, allow_labels ? " (or companies_contacts:labels)" : "");
            return -1;
        }
        if (allow_labels)
            labels[n] = with_labels;
        n++;
        p += len + (comma ? 1 : 0);
    }
    return n;
}

int sim_config_set_rollups(sim_config *c, const char *list, char *err, size_t errlen)
{
    hs_table tables[SIM_MAX_TABLES];
    bool labels[SIM_MAX_TABLES];
    int n = parse_table_list("--rollups", list, true, tables, labels, err, errlen);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++)
        c->sc_portal.pc_rollups[i] = (sim_rollup_def){tables[i], labels[i]};
    c->sc_portal.pc_nrollups = n;
    return 0;
}

int sim_config_set_lookalikes(sim_config *c, const char *list, char *err, size_t errlen)
{
    hs_table tables[SIM_MAX_TABLES];
    int n = parse_table_list("--rollup-lookalikes", list, false, tables, NULL, err, errlen);
    if (n < 0)
        return -1;
    memcpy(c->sc_portal.pc_lookalikes, tables, (size_t)n * sizeof(hs_table));
    c->sc_portal.pc_nlookalikes = n;
    return 0;
}

/* "A:B" into *a and *b (each ≤ max); with b_optional also "A", *b left
 * alone. */
static int parse_u64_pair(const char *v, uint64_t max, bool b_optional, uint64_t *a, uint64_t *b)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", v);
    char *colon = strchr(buf, ':');
    if (colon)
        *colon = '\0';
    else if (!b_optional)
        return -1;
    return parse_u64(buf, max, a) || (colon && parse_u64(colon + 1, max, b)) ? -1 : 0;
}

/* "P:MS" (a probability and milliseconds ≤ max_ms); with ms_optional also
 * "P", *ms left alone. */
static int parse_prob_ms(const char *v, uint64_t max_ms, bool ms_optional, double *p, int64_t *ms)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", v);
    char *colon = strchr(buf, ':');
    uint64_t u = 0;
    if (colon)
        *colon = '\0';
    else if (!ms_optional)
        return -1;
    if (parse_double(buf, 0, 1, p) || (colon && parse_u64(colon + 1, max_ms, &u)))
        return -1;
    if (colon)
        *ms = (int64_t)u;
    return 0;
}

/* The longest delay the rollup options take (a day). */
#define ROLLUP_MAX_MS       86400000
#define CLOCK_OFFSET_MAX_MS 86400000 /* a day either way */

/* The rollup delays must make sense together. 0, or -1 with err filled. */
static int check_rollup_model(const sim_rollup_model *m, char *err, size_t errlen)
{
    if (m->rm_delay_min_ms > m->rm_delay_max_ms) {
        snprintf(err, errlen, "--rollup-delay-ms (rollup_delay_min_ms): MIN %lld is above MAX %lld",
                 (long long)m->rm_delay_min_ms, (long long)m->rm_delay_max_ms);
        return -1;
    }
    if (m->rm_tail > 0 && m->rm_tail_ms < m->rm_delay_max_ms) {
        snprintf(err, errlen,
                 "--rollup-tail (rollup_tail_ms): MS %lld is below the delay MAX %lld (or set P "
                 "to 0)",
                 (long long)m->rm_tail_ms, (long long)m->rm_delay_max_ms);
        return -1;
    }
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
    OPT_SPECIAL,
    OPT_COUNTS /* stands for the OPT_COUNT rows of every object type */
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
    {"", OPT_COUNTS, 0, 0, NULL, NULL}, /* --contacts N, …: a row per object type */
    {"density", OPT_DOUBLE, F(sc_portal.pc_density), 0, "F", "links per object multiplier [1.0]"},
    {"heavy-parents", OPT_U32, F(sc_portal.pc_heavy_parents), 0, "N",
     "heavy parents per core table [2]"},
    {"heavy-links", OPT_U32, F(sc_portal.pc_heavy_links), 0, "N",
     "links of each heavy parent [2000]"},
    {"labels", OPT_U32, F(sc_portal.pc_labels), 0, "N", "user-defined labels per table, <= 8 [3]"},
    {"assoc-page-size", OPT_U32, F(sc_assoc_page_size), 0, "N",
     "v4 batch-read to[] items per result per page [500]"},
    {"rollups", OPT_SPECIAL, 0, 0, "LIST",
     "tables whose parent has rollup properties: TABLE (a count) or\n"
     "TABLE:labels (a count and one per label), or 'none'\n"
     "[" SIM_DEFAULT_ROLLUPS "]"},
    {"rollup-lookalikes", OPT_SPECIAL, 0, 0, "LIST",
     "tables whose parent gets a plain number field labelled like a\n"
     "rollup's, or 'none' [none]"},
    {"rollup-bumps", OPT_SPECIAL, 0, 0, "MODE",
     "how association changes on rollup tables move the parent's\n"
     "last-modified: realistic (after the recomputation's delay, when a\n"
     "value changed), always (at once; or 'on'), never (or 'off') [realistic]"},
    {"rollup-delay-ms", OPT_SPECIAL, 0, 0, "MIN:MAX", "recomputation delay, uniform [2000:7000]"},
    {"rollup-tail", OPT_SPECIAL, 0, 0, "P[:MS]",
     "chance a recomputation is slow, its delay uniform in [MAX, MS]\n"
     "[0.02:240000]"},
    {"rollup-miss", OPT_PROB, F(sc_rollup.rm_miss), 0, "P",
     "chance a changed rollup value leaves last-modified alone [0.05]"},
    {"tier", OPT_SPECIAL, 0, 0, "NAME",
     TIERS " [pro];\n"
           "pro-addon: pro with the API limit increase (250/10s, 1,625,000 a day)"},
    {"rate", OPT_SPECIAL, 0, 0, "N/Ws", "burst limit (TEN_SECONDLY_ROLLING); 0 = off [190/10s]"},
    {"search-rate", OPT_SPECIAL, 0, 0, "N/Ws", "search limit (SECONDLY); 0 = off [5/1s]"},
    {"daily", OPT_U64, F(sc_daily), 0, "N", "daily limit; 0 = off [625000]"},
    {"assoc-batch-exempt", OPT_ONOFF, F(sc_assoc_batch_exempt), 0, "on|off",
     "association batch endpoints skip the burst limit [off]"},
    {"retry-after", OPT_ONOFF, F(sc_retry_after), 0, "on|off", "send Retry-After on 429 [off]"},
    {"foreign-load", OPT_SPECIAL, 0, 0, "N/Ws",
     "another app's requests, evenly spaced, spending the burst and\n"
     "daily limits (counted apart in /_sim/stats); 0 = off [0]"},
    {"latency-ms", OPT_SPECIAL, 0, 0, "MEAN[:JITTER]", "added latency per API response [0]"},
    {"latency-profile", OPT_SPECIAL, 0, 0, "NAME",
     "per-endpoint latency model, added to --latency-ms: none, or\n"
     "hubspot (HubSpot's times, 0.15-1.5 s; docs/SIMULATOR.md) [none]"},
    {"latency-scale", OPT_DOUBLE, F(sc_latency_scale), 0, "F",
     "multiplies the profile's times [1.0]"},
    {"fault-5xx", OPT_PROB, F(sc_fault_5xx), 0, "P", "chance of a 502/503/504 [0]"},
    {"fault-429", OPT_PROB, F(sc_fault_429), 0, "P", "chance of an injected 429 [0]"},
    {"fault-reset", OPT_PROB, F(sc_fault_reset), 0, "P", "chance of a connection reset [0]"},
    {"fault-slow", OPT_SPECIAL, 0, 0, "P:MS", "chance of a response MS slower [0]"},
    {"fault-truncate", OPT_PROB, F(sc_fault_truncate), 0, "P", "chance of a truncated body [0]"},
    {"fault-stall", OPT_SPECIAL, 0, 0, "P[:MS]",
     "chance an answer does not start: held until the client\n"
     "hangs up, or sent MS late [0]"},
    {"fault-stall-body", OPT_PROB, F(sc_fault_stall_body), 0, "P",
     "chance a body stops half way, the connection held open\n"
     "until the client hangs up [0]"},
    {"fault-search-400", OPT_PROB, F(sc_fault_search_400), 0, "P",
     "chance a search is refused 400 VALIDATION_ERROR [0]"},
    {"auth", OPT_SPECIAL, 0, 0, "private|oauth", "authentication mode [private]"},
    {"token", OPT_STR, S(sc_token), "T", "private-app token [pat-na1-hubspot-sim]"},
    {"refresh-token", OPT_STR, S(sc_refresh_token), "R", "OAuth refresh token [sim-refresh-token]"},
    {"client-id", OPT_STR, S(sc_client_id), "C", "OAuth client id [sim-client-id]"},
    {"client-secret", OPT_STR, S(sc_client_secret), "S", "OAuth client secret [sim-client-secret]"},
    {"token-ttl", OPT_I64, F(sc_token_ttl_s), 0, "S", "OAuth access token lifetime [1800]"},
    {"index-lag-ms", OPT_I64, F(sc_index_lag_ms), 0, "N", "search sees writes N ms late [0]"},
    {"clock-offset-ms", OPT_SPECIAL, 0, 0, "N",
     "HubSpot's clock runs N ms ahead of this machine's\n"
     "(negative: behind): its timestamps and Date header [0]"},
    {"same-ms", OPT_PROB, F(sc_same_ms), 0, "F", "chance a write shares the previous ms [0]"},
    {"churn", OPT_SPECIAL, 0, 0, "N/s", "background mutations per second [0]"},
};

/* The count of each object type (--contacts N, …), from the type tables:
 * the name its plural, the default its sim_profile row's. */
static const opt *count_options(void)
{
    static opt rows[HS_OBJECT_TYPE_COUNT];
    static char help[HS_OBJECT_TYPE_COUNT][48];
    if (rows[0].o_name)
        return rows;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const char *plural = hs_object((hs_object_type)t)->oi_plural;
        size_t n = (size_t)snprintf(help[t], sizeof(help[t]), "%s [%u]", plural,
                                    sim_type_profile_of((hs_object_type)t)->tp_default_count);
        for (size_t i = 0; i < n; i++)
            help[t][i] = help[t][i] == '_' ? ' ' : help[t][i]; /* "postal mail" */
        rows[t] = (opt){plural, OPT_COUNT, F(sc_portal.pc_count) + (size_t)t * sizeof(uint32_t),
                        0,      "N",       help[t]};
    }
    return rows;
}

#undef F
#undef S

/* Calls fn on every option in order, the count rows in their place; stops
 * when fn returns true, and returns that option (NULL: none). */
static const opt *each_option(bool (*fn)(const opt *o, void *arg), void *arg)
{
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        if (options[i].o_kind != OPT_COUNTS) {
            if (fn(&options[i], arg))
                return &options[i];
            continue;
        }
        const opt *rows = count_options();
        for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
            if (fn(&rows[t], arg))
                return &rows[t];
    }
    return NULL;
}

static bool print_option(const opt *o, void *arg)
{
    FILE *out = arg;
    char left[48];
    snprintf(left, sizeof(left), "--%s%s%s", o->o_name, o->o_arg ? " " : "",
             o->o_arg ? o->o_arg : "");
    /* A help text's further lines line up under its first. */
    const char *h = o->o_help;
    for (int line = 0; *h; line++) {
        int n = (int)strcspn(h, "\n");
        fprintf(out, "  %-30s %.*s\n", line ? "" : left, n, h);
        h += n + (h[n] == '\n');
    }
    return false;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: hubspot-sim [options]\n\n"
                 "Serves HubSpot's CRM API (objects, search, v4 associations, properties,\n"
                 "OAuth) for a synthetic portal, with HubSpot's limits and failure modes.\n"
                 "Prints 'hubspot-sim listening on http://ADDR:PORT' when ready (https://\n"
                 "with --tls-cert and --tls-key).\n\n");
    each_option(print_option, out);
    fprintf(out, "  %-30s %s\n", "--help", "this text");
    fprintf(out, "\nAdmin endpoints (loopback only): GET /_sim/truth?table=T[&format=csv],\n"
                 "POST /_sim/mutate, POST /_sim/rename-label, GET /_sim/stats,\n"
                 "POST /_sim/reset-stats, GET|POST /_sim/config. See docs/SIMULATOR.md.\n");
}

static int set_special(sim_config *c, const char *name, const char *v, char *err, size_t errlen)
{
    if (strcmp(name, "rollups") == 0)
        return sim_config_set_rollups(c, v, err, errlen);
    if (strcmp(name, "rollup-lookalikes") == 0)
        return sim_config_set_lookalikes(c, v, err, errlen);
    uint64_t a = 0, b = 0;
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
    } else if (strcmp(name, "foreign-load") == 0) {
        if (parse_rate(v, &c->sc_foreign_count, &c->sc_foreign_window_ms) == 0)
            return 0;
    } else if (strcmp(name, "latency-profile") == 0) {
        if (sim_latency_profile_parse(v, &c->sc_latency_profile) == 0)
            return 0;
    } else if (strcmp(name, "latency-ms") == 0) {
        /* MEAN[:JITTER], the jitter at most the mean. */
        if (parse_u64_pair(v, 600000, true, &a, &b) == 0 && b <= a) {
            c->sc_latency_ms = (int64_t)a;
            c->sc_latency_jitter_ms = (int64_t)b;
            return 0;
        }
    } else if (strcmp(name, "fault-slow") == 0) {
        double p;
        int64_t ms;
        if (parse_prob_ms(v, 600000, false, &p, &ms) == 0) {
            c->sc_fault_slow = p;
            c->sc_fault_slow_ms = ms;
            return 0;
        }
    } else if (strcmp(name, "fault-stall") == 0) {
        double p;
        int64_t ms = 0;
        if (parse_prob_ms(v, 600000, true, &p, &ms) == 0) {
            c->sc_fault_stall = p;
            c->sc_fault_stall_ms = ms;
            return 0;
        }
    } else if (strcmp(name, "rollup-bumps") == 0) {
        if (sim_rollup_mode_parse(v, &c->sc_rollup.rm_mode) == 0)
            return 0;
    } else if (strcmp(name, "rollup-delay-ms") == 0) {
        if (parse_u64_pair(v, ROLLUP_MAX_MS, false, &a, &b) == 0) {
            c->sc_rollup.rm_delay_min_ms = (int64_t)a;
            c->sc_rollup.rm_delay_max_ms = (int64_t)b;
            return 0;
        }
    } else if (strcmp(name, "rollup-tail") == 0) {
        double p;
        int64_t ms = c->sc_rollup.rm_tail_ms;
        if (parse_prob_ms(v, ROLLUP_MAX_MS, true, &p, &ms) == 0) {
            c->sc_rollup.rm_tail = p;
            c->sc_rollup.rm_tail_ms = ms;
            return 0;
        }
    } else if (strcmp(name, "auth") == 0) {
        if (strcmp(v, "private") == 0 || strcmp(v, "oauth") == 0) {
            c->sc_auth = strcmp(v, "oauth") == 0 ? SIM_AUTH_OAUTH : SIM_AUTH_PRIVATE;
            return 0;
        }
    } else if (strcmp(name, "clock-offset-ms") == 0) {
        bool behind = v[0] == '-';
        if (parse_u64(v + behind, CLOCK_OFFSET_MAX_MS, &a) == 0) {
            c->sc_clock_offset_ms = behind ? -(int64_t)a : (int64_t)a;
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
    case OPT_COUNTS:
        break; /* a placeholder, never found by name */
    }
    snprintf(err, errlen, "--%s: invalid value '%s' (see --help)", o->o_name, v);
    return -1;
}

typedef struct opt_name {
    const char *on_name;
    size_t on_len;
} opt_name;

static bool named(const opt *o, void *arg)
{
    const opt_name *want = arg;
    return strlen(o->o_name) == want->on_len && memcmp(o->o_name, want->on_name, want->on_len) == 0;
}

static const opt *find_option(const char *name, size_t n)
{
    opt_name want = {name, n};
    return each_option(named, &want);
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
            snprintf(err, errlen, "--tier: unknown tier '%s' (" TIERS ")", tier);
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
    return check_rollup_model(&c->sc_rollup, err, errlen);
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

/* A mode name, or a boolean as the old switch took: true always, false never. */
static int json_rollup_mode(json_object *v, sim_rollup_mode *out)
{
    bool on;
    if (json_object_is_type(v, json_type_string))
        return sim_rollup_mode_parse(json_object_get_string(v), out);
    if (!json_object_is_type(v, json_type_boolean) || json_onoff(v, &on))
        return -1;
    *out = on ? SIM_ROLLUP_ALWAYS : SIM_ROLLUP_NEVER;
    return 0;
}

/* A table list as a string ("a_b,c_d") or an array of strings, appended to
 * `list` as the comma-separated text the --rollups parsers read. */
static int json_table_list(json_object *v, const char *key, jbuf *list, char *err, size_t errlen)
{
    if (json_object_is_type(v, json_type_string)) {
        jb_raw(list, json_object_get_string(v), strlen(json_object_get_string(v)));
        return 0;
    }
    bool ok = json_object_is_type(v, json_type_array);
    for (size_t i = 0; ok && i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i);
        ok = json_object_is_type(e, json_type_string);
        if (ok && i)
            jb_char(list, ',');
        if (ok)
            jb_raw(list, json_object_get_string(e), strlen(json_object_get_string(e)));
    }
    if (!ok)
        snprintf(err, errlen, "%s must be a string or an array of table names", key);
    return ok ? 0 : -1;
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
    } else if (strcmp(key, "latency_profile") == 0) {
        bad = !json_object_is_type(v, json_type_string) ||
              sim_latency_profile_parse(json_object_get_string(v), &c->sc_latency_profile);
    } else if (strcmp(key, "latency_scale") == 0) {
        bad = json_nonneg(v, 1e6, &c->sc_latency_scale);
    } else if (strcmp(key, "foreign_load") == 0) {
        bad = !json_object_is_type(v, json_type_string) ||
              parse_rate(json_object_get_string(v), &c->sc_foreign_count, &c->sc_foreign_window_ms);
        *changed |= SIM_CHANGED_FOREIGN;
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
    } else if (strcmp(key, "fault_stall") == 0) {
        bad = json_prob(v, &c->sc_fault_stall);
    } else if (strcmp(key, "fault_stall_ms") == 0) {
        bad = json_nonneg(v, 600000, &d);
        c->sc_fault_stall_ms = (int64_t)d;
    } else if (strcmp(key, "fault_stall_body") == 0) {
        bad = json_prob(v, &c->sc_fault_stall_body);
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
        bad = json_rollup_mode(v, &c->sc_rollup.rm_mode);
    } else if (strcmp(key, "rollup_delay_min_ms") == 0 || strcmp(key, "rollup_delay_max_ms") == 0) {
        bad = json_nonneg(v, ROLLUP_MAX_MS, &d);
        *(strstr(key, "min") ? &c->sc_rollup.rm_delay_min_ms : &c->sc_rollup.rm_delay_max_ms) =
            (int64_t)d;
    } else if (strcmp(key, "rollup_tail") == 0) {
        bad = json_prob(v, &c->sc_rollup.rm_tail);
    } else if (strcmp(key, "rollup_tail_ms") == 0) {
        bad = json_nonneg(v, ROLLUP_MAX_MS, &d);
        c->sc_rollup.rm_tail_ms = (int64_t)d;
    } else if (strcmp(key, "rollup_miss") == 0) {
        bad = json_prob(v, &c->sc_rollup.rm_miss);
    } else if (strcmp(key, "assoc_batch_exempt") == 0) {
        bad = json_onoff(v, &c->sc_assoc_batch_exempt);
    } else if (strcmp(key, "token_ttl") == 0) {
        bad = json_nonneg(v, 1e9, &d);
        c->sc_token_ttl_s = (int64_t)d;
        *changed |= SIM_CHANGED_TTL;
    } else if (strcmp(key, "rollups") == 0 || strcmp(key, "rollup_lookalikes") == 0) {
        *changed |= SIM_CHANGED_ROLLUPS;
        jbuf list;
        jb_init(&list);
        int rc = json_table_list(v, key, &list, err, errlen);
        if (rc == 0 && strcmp(key, "rollups") == 0)
            rc = sim_config_set_rollups(c, jb_cstr(&list), err, errlen);
        else if (rc == 0)
            rc = sim_config_set_lookalikes(c, jb_cstr(&list), err, errlen);
        jb_free(&list);
        if (rc)
            return -1;
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
        rc = check_rollup_model(&next.sc_rollup, err, errlen);
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

/* Appends a table list as the setters read it back: "a_b:labels,c_d"
 * (labels NULL: no ":labels" items), "" for none. */
static void table_list_text(jbuf *out, const hs_table *tables, const bool *labels, int n)
{
    for (int i = 0; i < n; i++) {
        char name[48];
        hs_table_name(tables[i], name, sizeof(name));
        jb_printf(out, "%s%s%s", i ? "," : "", name, labels && labels[i] ? ":labels" : "");
    }
}

void sim_config_json(const sim_config *c, jbuf *out)
{
    char rate[48], search_rate[48], foreign[48];
    rate_text(rate, sizeof(rate), c->sc_rate, c->sc_rate_window_ms);
    rate_text(search_rate, sizeof(search_rate), c->sc_search_rate, c->sc_search_window_ms);
    rate_text(foreign, sizeof(foreign), c->sc_foreign_count, c->sc_foreign_window_ms);
    const sim_portal_config *pc = &c->sc_portal;
    hs_table tables[SIM_MAX_TABLES];
    bool labels[SIM_MAX_TABLES];
    for (int i = 0; i < pc->pc_nrollups; i++) {
        tables[i] = pc->pc_rollups[i].rd_table;
        labels[i] = pc->pc_rollups[i].rd_labels;
    }
    const sim_rollup_model *rm = &c->sc_rollup;
    jb_printf(out,
              "{\"tier\":\"%s\",\"rate\":\"%s\",\"search_rate\":\"%s\","
              "\"daily\":%llu,\"assoc_batch_exempt\":%s,\"retry_after\":%s,"
              "\"rollup_bumps\":\"%s\",\"rollup_delay_min_ms\":%lld,\"rollup_delay_max_ms\":%lld,"
              "\"rollup_tail\":%g,\"rollup_tail_ms\":%lld,\"rollup_miss\":%g,\"rollups\":\"",
              c->sc_tier, rate, search_rate, (unsigned long long)c->sc_daily,
              c->sc_assoc_batch_exempt ? "true" : "false", c->sc_retry_after ? "true" : "false",
              sim_rollup_mode_names[rm->rm_mode], (long long)rm->rm_delay_min_ms,
              (long long)rm->rm_delay_max_ms, rm->rm_tail, (long long)rm->rm_tail_ms, rm->rm_miss);
    table_list_text(out, tables, labels, pc->pc_nrollups);
    jb_lit(out, "\",\"rollup_lookalikes\":\"");
    table_list_text(out, pc->pc_lookalikes, NULL, pc->pc_nlookalikes);
    jb_printf(out, "\",\"foreign_load\":\"%s\",\"latency_profile\":\"%s\",\"latency_scale\":%g",
              foreign, sim_latency_profile_names[c->sc_latency_profile], c->sc_latency_scale);
    jb_printf(
        out,
        ",\"latency_ms\":%lld,"
        "\"latency_jitter_ms\":%lld,\"index_lag_ms\":%lld,\"same_ms\":%g,"
        "\"churn_per_s\":%g,\"fault_5xx\":%g,\"fault_429\":%g,\"fault_reset\":%g,"
        "\"fault_slow\":%g,\"fault_slow_ms\":%lld,\"fault_truncate\":%g,\"fault_search_400\":%g,"
        "\"fault_stall\":%g,\"fault_stall_ms\":%lld,\"fault_stall_body\":%g,"
        "\"auth\":\"%s\",\"token_ttl\":%lld,\"assoc_page_size\":%u,\"seed\":%llu}",
        (long long)c->sc_latency_ms, (long long)c->sc_latency_jitter_ms,
        (long long)c->sc_index_lag_ms, c->sc_same_ms, c->sc_churn_per_s, c->sc_fault_5xx,
        c->sc_fault_429, c->sc_fault_reset, c->sc_fault_slow, (long long)c->sc_fault_slow_ms,
        c->sc_fault_truncate, c->sc_fault_search_400, c->sc_fault_stall,
        (long long)c->sc_fault_stall_ms, c->sc_fault_stall_body,
        c->sc_auth == SIM_AUTH_OAUTH ? "oauth" : "private", (long long)c->sc_token_ttl_s,
        c->sc_assoc_page_size, (unsigned long long)pc->pc_seed);
}
