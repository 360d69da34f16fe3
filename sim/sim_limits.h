/*
 * sim_limits — HubSpot's rate-limit policies as the simulator enforces them.
 *
 * A policy admits at most `limit` requests in any rolling window of
 * `window_ms` (TEN_SECONDLY_ROLLING is rolling, not a fixed bucket): the
 * times of the admitted requests still inside the window are kept in a ring,
 * so the check is exact and O(1). The daily policy counts requests since
 * midnight UTC. Not thread-safe: the server serialises calls with a mutex.
 */
#ifndef HUBSYNC_SIM_LIMITS_H
#define HUBSYNC_SIM_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sim_window {
    uint32_t w_limit; /* 0: unlimited */
    int64_t w_window_ns;
    int64_t *w_times_ns; /* ring of admitted times, capacity w_limit */
    uint32_t w_head;     /* oldest */
    uint32_t w_count;    /* admitted times still in the window */
} sim_window;

/* Sets up a policy of `limit` requests per `window_ms` (limit 0: unlimited).
 * Returns 0, or -1 when out of memory. `w` must be zeroed before its first
 * init; re-initialising an initialised window frees its old ring. */
int sim_window_init(sim_window *w, uint32_t limit, int64_t window_ms);

void sim_window_free(sim_window *w);

/* Admits a request arriving at `now_ns` (monotonic, non-decreasing) or refuses
 * it. On admission *remaining is what is left in the current window; on
 * refusal *retry_ns is how long until a slot frees. */
bool sim_window_admit(sim_window *w, int64_t now_ns, uint32_t *remaining, int64_t *retry_ns);

/* Requests admitted in the window ending at `now_ns` (does not admit). */
uint32_t sim_window_used(sim_window *w, int64_t now_ns);

typedef struct sim_daily {
    uint64_t d_limit; /* 0: unlimited */
    uint64_t d_used;
    int64_t d_day; /* UTC day number d_used belongs to */
} sim_daily;

/* Counts one request at wall-clock `now_ms`; false when today's limit is spent
 * (the request is not counted). *remaining is what is left today. */
bool sim_daily_admit(sim_daily *d, int64_t now_ms, uint64_t *remaining);

/* Gives back the slot of a request sim_daily_admit counted but another
 * policy then refused (a refused request does not consume budget).
 * *remaining is what is left today afterwards. */
void sim_daily_refund(sim_daily *d, uint64_t *remaining);

#endif
