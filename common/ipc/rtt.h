/*
 * rtt — a smoothed round trip and its mean deviation (Jacobson's estimator,
 * as TCP's retransmission timer keeps them: gains 1/8 and 1/4), in shared
 * memory, fed by every process at once.
 *
 * Two users: a budget's latency sizes the requests it needs in flight
 * (budget_inflight, Little's law), and each endpoint family's latency sets
 * how long an answer may take before the HTTP engine gives it up
 * (rtt_limit_ns). One sample lost to two processes updating at once costs
 * one sample, nothing else: each value is a single atomic word.
 */
#ifndef HUBSYNC_RTT_H
#define HUBSYNC_RTT_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct rtt_est {
    _Atomic uint64_t re_srtt_us;   /* smoothed round trip */
    _Atomic uint64_t re_rttvar_us; /* and its mean deviation */
    _Atomic uint64_t re_samples;
} rtt_est;

/* Forgets every sample. Call before fork. */
void rtt_init(rtt_est *e);

/* One answer took latency_ns. */
void rtt_sample(rtt_est *e, uint64_t latency_ns);

/* Answers timed so far, the smoothed round trip and its deviation (µs;
 * 0 before the first sample). */
uint64_t rtt_count(rtt_est *e);
uint64_t rtt_srtt_us(rtt_est *e);
uint64_t rtt_rttvar_us(rtt_est *e);

/* How many smoothed round trips an answer may take: HubSpot's slow tail
 * (docs/SIMULATOR.md, "Latency": 1% of answers 3 to 5 times their usual
 * time, jitter on top) must never be taken for a stall. */
enum { RTT_TAIL_FACTOR = 6 };

/* How long an answer may take before it is given up: RTT_TAIL_FACTOR
 * smoothed round trips plus four deviations (TCP's RTO, widened for the
 * tail), never less than floor_ns (also the limit before any sample) nor
 * more than ceiling_ns. */
uint64_t rtt_limit_ns(rtt_est *e, uint64_t floor_ns, uint64_t ceiling_ns);

#endif
