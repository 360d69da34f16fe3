/*
 * sim_stats — what the simulator saw, for GET /_sim/stats: requests per
 * endpoint, statuses, 429s per policy, injected faults, the most requests
 * any rolling window admitted, what each policy admitted and when, the
 * latency slept per endpoint family, the foreign load, and what the rollup
 * model did.
 *
 * The window figures are measured here, independently of sim_limits, from the
 * times of admitted requests: a limiter bug shows up as max_in_window above
 * the limit instead of being hidden by it. They count the client's requests
 * only: the foreign load (sim_foreign) fills the real windows but is counted
 * apart, so a test can still tell what its own client achieved. Thread-safe
 * (one mutex).
 */
#ifndef HUBSYNC_SIM_STATS_H
#define HUBSYNC_SIM_STATS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/base/jbuf.h"
#include "sim_latency.h"
#include "sim_rollup.h"

enum { SIM_STATS_KEYS = 512, SIM_STATS_KEY_MAX = 160 };

typedef enum sim_policy {
    SIM_POLICY_BURST,  /* TEN_SECONDLY_ROLLING */
    SIM_POLICY_SEARCH, /* SECONDLY */
    SIM_POLICY_DAILY,  /* DAILY */
    SIM_POLICY_COUNT
} sim_policy;

extern const char *const sim_policy_names[SIM_POLICY_COUNT];

typedef enum sim_fault {
    SIM_FAULT_5XX,
    SIM_FAULT_429,
    SIM_FAULT_RESET,
    SIM_FAULT_SLOW,
    SIM_FAULT_TRUNCATE,
    SIM_FAULT_STALL,      /* an answer held back (until the client hangs up, or MS) */
    SIM_FAULT_STALL_BODY, /* a body stopped half way, the connection held open */
    SIM_FAULT_COUNT
} sim_fault;

extern const char *const sim_fault_names[SIM_FAULT_COUNT];

/* Sliding record of admission times, to find the fullest window. */
typedef struct sim_meter {
    int64_t m_window_ns;
    int64_t *m_times;
    uint32_t m_cap, m_head, m_count;
    uint32_t m_max;
} sim_meter;

/* The requests one policy admitted: how many, and the wall clock of the
 * first and latest (a client's achieved rate is (count − 1) / (last − first)). */
typedef struct sim_admitted {
    uint64_t ad_count;
    int64_t ad_first_ms, ad_last_ms;
} sim_admitted;

/* The answers of one endpoint family and the latency slept for them. */
typedef struct sim_latency_sum {
    uint64_t ls_count;
    int64_t ls_sum_ms;
    uint64_t ls_tails; /* answers the model's slow tail struck */
} sim_latency_sum;

typedef struct sim_stats_key {
    char sk_key[SIM_STATS_KEY_MAX];
    uint64_t sk_count;
} sim_stats_key;

typedef struct sim_stats {
    pthread_mutex_t st_lock;
    sim_stats_key st_keys[SIM_STATS_KEYS]; /* open addressing on the key's hash */
    uint64_t st_total;
    int64_t st_first_ms, st_last_ms; /* wall clock of the first and latest API request */
    uint64_t st_status[600];
    uint64_t st_rate_limited[SIM_POLICY_COUNT];
    uint64_t st_faults[SIM_FAULT_COUNT];
    uint64_t st_connections; /* TCP connections accepted (TLS handshakes that failed included) */
    sim_meter st_meters[2];  /* burst, search */
    sim_admitted st_admitted[2]; /* burst, search */
    sim_latency_sum st_latency[SIM_LAT_FAMILY_COUNT];
    uint64_t st_foreign_admitted, st_foreign_refused;
    sim_rollup_tally st_rollups;
    uint32_t st_rollups_pending; /* recomputations waiting now (not zeroed by a reset) */
} sim_stats;

void sim_stats_init(sim_stats *s, int64_t burst_window_ms, int64_t search_window_ms);
void sim_stats_destroy(sim_stats *s);

/* Sets the window lengths the meters measure (after a rate change). */
void sim_stats_set_windows(sim_stats *s, int64_t burst_window_ms, int64_t search_window_ms);

/* Counts one API request under `key` ("POST /crm/v3/objects/contacts/search"). */
void sim_stats_request(sim_stats *s, const char *key);

/* Counts a response status (100–599). */
void sim_stats_status(sim_stats *s, int status);

void sim_stats_rate_limited(sim_stats *s, sim_policy p);
void sim_stats_fault(sim_stats *s, sim_fault f);

/* Counts an accepted connection: with TLS, a client that refuses the
 * certificate shows here and nowhere else. */
void sim_stats_connection(sim_stats *s);

/* Records that policy p (burst or search) admitted one of the client's
 * requests at now_ns (monotonic) and now_ms (wall clock). */
void sim_stats_admitted(sim_stats *s, sim_policy p, int64_t now_ns, int64_t now_ms);

/* Counts an answer of family f that slept `ms` (the latency model's draw,
 * --latency-ms and --fault-slow together); `tail`: the model's tail struck. */
void sim_stats_latency(sim_stats *s, sim_latency_family f, int64_t ms, bool tail);

/* Counts a foreign request, admitted or refused by a policy. */
void sim_stats_foreign(sim_stats *s, bool admitted);

/* Adds `delta` to the rollup counters and sets the number of recomputations
 * pending. Call it under the portal's write lock, right after the portal
 * changed, so "pending" never reads 0 while a recomputation's write is still
 * to come. */
void sim_stats_rollups(sim_stats *s, const sim_rollup_tally *delta, uint32_t pending);

/* Zeroes everything but the pending recomputations (window lengths stay). */
void sim_stats_reset(sim_stats *s);

/* The most requests policy p (burst or search) admitted in one window. */
uint32_t sim_stats_max_in_window(sim_stats *s, sim_policy p);

/* Appends the stats as the JSON object of GET /_sim/stats, with
 * tokens_issued added. */
void sim_stats_json(sim_stats *s, uint64_t tokens_issued, jbuf *out);

#endif
