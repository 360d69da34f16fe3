/*
 * sim_config — every switch of hubspot-sim: parsed from the command line at
 * start, partly changeable at run time through POST /_sim/config, and
 * reported as JSON by GET /_sim/config.
 *
 * Not thread-safe by itself: the server guards the live copy with a mutex and
 * hands request threads a snapshot.
 */
#ifndef HUBSYNC_SIM_CONFIG_H
#define HUBSYNC_SIM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/base/jbuf.h"
#include "sim_auth.h"
#include "sim_latency.h"
#include "sim_portal.h"

typedef struct sim_config {
    /* where to listen */
    int sc_port;
    char sc_port_file[512];
    char sc_bind[64];
    bool sc_quiet;
    char sc_tls_cert[512]; /* PEM files: serve HTTPS when both are set */
    char sc_tls_key[512];
    /* the portal */
    sim_portal_config sc_portal;
    uint32_t sc_assoc_page_size;
    /* rate limits (0 = off) */
    char sc_tier[16];
    uint32_t sc_rate;
    int64_t sc_rate_window_ms;
    uint32_t sc_search_rate;
    int64_t sc_search_window_ms;
    uint64_t sc_daily;
    bool sc_assoc_batch_exempt;
    bool sc_retry_after;
    /* another app of the portal: requests per window (0 = off) */
    uint32_t sc_foreign_count;
    int64_t sc_foreign_window_ms;
    /* realism switches */
    sim_rollup_model sc_rollup; /* how association changes reach a rollup parent */
    int64_t sc_latency_ms, sc_latency_jitter_ms;
    sim_latency_profile sc_latency_profile; /* per-family model, added to sc_latency_ms */
    double sc_latency_scale;                /* multiplies the profile's times */
    double sc_fault_5xx, sc_fault_429, sc_fault_reset, sc_fault_slow, sc_fault_truncate;
    double sc_fault_search_400; /* chance a search is refused 400 VALIDATION_ERROR */
    int64_t sc_fault_slow_ms;
    double sc_fault_stall;      /* chance an answer is held back … */
    int64_t sc_fault_stall_ms;  /* … for this long (0: until the client hangs up) */
    double sc_fault_stall_body; /* chance a body stops half way, the connection held open */
    int64_t sc_index_lag_ms;
    int64_t sc_clock_offset_ms; /* HubSpot's clock minus this machine's */
    double sc_same_ms;
    double sc_churn_per_s;
    /* auth */
    sim_auth_mode sc_auth;
    char sc_token[SIM_TOKEN_MAX];
    char sc_refresh_token[SIM_TOKEN_MAX];
    char sc_client_id[SIM_TOKEN_MAX];
    char sc_client_secret[SIM_TOKEN_MAX];
    int64_t sc_token_ttl_s;
} sim_config;

/* Bits of what sim_config_apply_json changed, for the server to act on. */
enum {
    SIM_CHANGED_LIMITS = 1 << 0,  /* rate, search_rate or daily */
    SIM_CHANGED_ROLLUPS = 1 << 1, /* rollups or rollup_lookalikes */
    SIM_CHANGED_TTL = 1 << 2,     /* token_ttl */
    SIM_CHANGED_FOREIGN = 1 << 3, /* foreign_load */
};

/* Fills `c` with the defaults (pro tier, a 18,000-object portal, …). */
void sim_config_defaults(sim_config *c);

/* Parses argv. Returns 0 on success, 1 when --help was printed to `out`, or
 * -1 with a message naming the bad option in err. */
int sim_config_parse_args(sim_config *c, int argc, char **argv, FILE *out, char *err,
                          size_t errlen);

/* Applies a POST /_sim/config body. All-or-nothing: on error (-1, message in
 * err) `c` is unchanged. On success *changed receives SIM_CHANGED_* bits. */
int sim_config_apply_json(sim_config *c, const char *body, size_t len, unsigned *changed, char *err,
                          size_t errlen);

/* Appends the runtime configuration as a JSON object. */
void sim_config_json(const sim_config *c, jbuf *out);

/* The default --rollups list. */
#define SIM_DEFAULT_ROLLUPS "companies_contacts:labels,companies_deals,contacts_deals"

/* Parses a comma-separated rollup list: each item a table name, alone (its
 * count rollup) or followed by ":labels" (one rollup per user-defined label
 * too), e.g. "companies_contacts:labels,contacts_deals"; "none" or "" for
 * none. Into c->sc_portal.pc_rollups. Returns 0, or -1 (c unchanged). */
int sim_config_set_rollups(sim_config *c, const char *list, char *err, size_t errlen);

/* Parses a comma-separated table list ("companies_tickets", "none" or "")
 * into c->sc_portal.pc_lookalikes. Returns 0, or -1 (c unchanged). */
int sim_config_set_lookalikes(sim_config *c, const char *list, char *err, size_t errlen);

#endif
