/*
 * rl — the shared rate limiter: GCRA (the generic cell rate algorithm) with
 * one atomic 64-bit "theoretical arrival time" (TAT) per policy, in shared
 * memory, used by every worker process at once.
 *
 * Why GCRA with zero burst tolerance: HubSpot's burst policy is a *rolling*
 * window (TEN_SECONDLY_ROLLING). A token bucket, or GCRA with a burst
 * tolerance, admits a burst of N and then one more a slot later: N + 1 in
 * one window, a 429. Spacing grants exactly T = W / N apart never puts more
 * than N grants in any half-open window of length W, and still runs at
 * exactly N / W in the long run. A safety margin (margin_ns, added to W)
 * absorbs network jitter between our grant and HubSpot's arrival time.
 *
 * Reserve-then-wait: rl_reserve() moves the TAT forward with one
 * compare-and-swap and tells the caller when its slot starts; the caller
 * waits (in its event loop) and sends then. Nobody ever sleeps holding a
 * lock, because there is none, and a process killed mid-update cannot leave
 * the state half-written. A 429 pushes the TAT forward (CAS-max) so every
 * process backs off at once.
 *
 * The daily limit is decided here too, not by the HTTP engine: whether a
 * request may book a slot, must wait for another's answer or needs a probe
 * first, whether it may go out once its slot has come, and what each answer
 * teaches (rl_daily_admit, rl_daily_charge, rl_daily_answered). The engine
 * keeps the HTTP side: building the probe, wording the errors.
 *
 * Times are CLOCK_MONOTONIC nanoseconds (system-wide, so comparable across
 * processes). All functions are safe to call concurrently from any number of
 * processes sharing the structs (which must live in MAP_SHARED memory).
 */
#ifndef HUBSYNC_RL_H
#define HUBSYNC_RL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free across processes");

enum { RL_GRANT_RING = 512 }; /* grant times kept: at least any limit we pace by */

/* The structs below live in shared memory (shm.h embeds them), so they are
 * defined here; their fields (rp_*, rd_*) are private to rl.c all the same.
 * Code outside rl.c reads a policy through the functions in this header
 * (rl_interval_ns, rl_limit, ...) and never writes one: the words depend
 * on each other (the interval is derived from the limit, window and margin;
 * the daily state packs the day with the count), and only rl.c keeps them
 * consistent under concurrent use. */

/* One windowed policy (burst or search): N per W, rolling. The parameters
 * may change while processes use it (a limit learned from HubSpot's
 * headers, a margin widened by jitter): each is one atomic word, and the
 * interval, the one word rl_reserve needs, is derived from them. */
typedef struct rl_policy {
    _Alignas(64) _Atomic uint64_t rp_tat_ns;      /* alone on its cache line: the hot word */
    _Alignas(64) _Atomic uint64_t rp_interval_ns; /* T = (W + margin) / N; 0 = unlimited */
    _Atomic uint64_t rp_window_ns;
    _Atomic uint64_t rp_margin_ns;
    _Atomic uint32_t rp_limit;
    _Atomic uint64_t rp_penalties; /* 429s that pushed the TAT */
    _Atomic uint64_t rp_grant_cap; /* 0, or no grants past this many (a limit not yet known) */
    /* The start of every grant, in a ring: how many of ours a window holds,
     * which is what a lowered limit and HubSpot's Remaining are read against. */
    _Alignas(64) _Atomic uint64_t rp_grant_seq;
    _Atomic uint64_t rp_first_grant_ns; /* the start of grant 0 (0: none yet) */
    _Atomic uint64_t rp_grants[RL_GRANT_RING];
} rl_policy;

/* The daily policy: N per UTC day, a fixed window (HubSpot resets at
 * midnight). used and day share one word so one CAS updates both.
 *
 * The limit is --daily N when given; else, with a reserve, it is learned
 * from the responses' X-HubSpot-RateLimit-Daily header (0 until then:
 * unlimited). A reserve of R calls (--daily-reserve, left for the portal's
 * other integrations) stops every charge once used + R reaches the limit:
 * the charge is the reservation, made before a request is sent, so however
 * many workers send at once, no more than limit - R go out. Until a
 * response has told today's count (a reserve without --daily), one request
 * at a time may be out: the gate (rd_gate_ns, see rl_daily_admit). */
typedef struct rl_daily {
    _Alignas(64) _Atomic uint64_t rd_state; /* day << 40 | used */
    _Atomic uint64_t rd_limit;              /* 0 = unlimited (or not known yet) */
    uint64_t rd_reserve;                    /* calls of the day never to be taken */
    bool rd_limit_given;                    /* --daily: the headers do not change the limit */
    _Atomic uint32_t rd_known;              /* rl_daily_knowledge */
    _Atomic uint64_t rd_synced_day;         /* the day a header last told the count */
    _Atomic uint64_t rd_gate_ns;            /* the gate's holder: when it entered; 0 = open */
    _Atomic uint64_t rd_seen;               /* HubSpot's count: day << 40 | fewest remaining */
    _Atomic uint64_t rd_seen_limit;         /* and its X-HubSpot-RateLimit-Daily (0: absent) */
} rl_daily;

/* What is known of the portal's daily limit. */
typedef enum rl_daily_knowledge {
    RL_DAILY_UNKNOWN = 0, /* no daily header seen yet */
    RL_DAILY_KNOWN,       /* --daily N, or a response carried the daily headers */
    RL_DAILY_NO_HEADERS   /* a successful non-search response came without them
                             (OAuth apps get none): only --daily N can count */
} rl_daily_knowledge;

/* Initialises a policy of `limit` requests per `window_ns`, paced over
 * window_ns + margin_ns. limit 0 means unlimited. Call before fork (the
 * struct is then shared). */
void rl_policy_init(rl_policy *p, uint32_t limit, uint64_t window_ns, uint64_t margin_ns);

/* Changes the policy while it is in use (any process). A slower pace takes
 * effect without overrunning any window: the next slot is pushed until the
 * grants already made at the old pace and the new ones, at the new pace,
 * never put more than `limit` in one window (the i-th latest grant must lie
 * i new intervals before it). */
void rl_set(rl_policy *p, uint32_t limit, uint64_t window_ns, uint64_t margin_ns);

/* Caps the grants made from now on at `cap` in all (0: no cap): a pace not
 * yet confirmed by the server may not run further than that. */
void rl_set_grant_cap(rl_policy *p, uint64_t cap);

/* How many grants started in (from_ns, to_ns]: ours, as the server counts
 * them in a window (at most RL_GRANT_RING back). */
uint32_t rl_granted_between(rl_policy *p, uint64_t from_ns, uint64_t to_ns);

/* The grants made since rl_policy_init: how many (*count), and the starts
 * of the first and of the latest (*first_ns, *last_ns; 0 when none). Paced
 * grants start at least one interval apart, so (count - 1) over
 * (last - first) is a rate never above the limit that was paced to. */
void rl_grant_span(rl_policy *p, uint64_t *count, uint64_t *first_ns, uint64_t *last_ns);

/* The GCRA step as a pure function: for a TAT `tat_ns`, a request at `now_ns`
 * and an emission interval, returns the slot start (max(tat, now)) and sets
 * *next_tat_ns to the start plus the interval. */
static inline uint64_t rl_gcra_step(uint64_t tat_ns, uint64_t now_ns, uint64_t interval_ns,
                                    uint64_t *next_tat_ns)
{
    uint64_t start = tat_ns > now_ns ? tat_ns : now_ns;
    *next_tat_ns = start + interval_ns;
    return start;
}

/* The policy's parameters as set now (rl_policy_init, rl_set): the
 * emission interval T = (W + margin) / N (0: unlimited), the limit N, the
 * window W and the safety margin. */
uint64_t rl_interval_ns(rl_policy *p);
uint32_t rl_limit(rl_policy *p);
uint64_t rl_window_ns(rl_policy *p);
uint64_t rl_margin_ns(rl_policy *p);

/* How many 429s have pushed the policy forward (rl_penalize) so far: a
 * request that reserved its slot before the count moved holds a slot paced
 * for before the penalty. */
uint64_t rl_penalties(rl_policy *p);

/* How late a request may go out after its slot and keep every window within
 * the limit: half the safety margin (a request late by more than the margin
 * could share a window with the N after it). A later one should take a new
 * slot; its old one is spent. At least RL_LATE_MIN_NS (a policy without a
 * margin would otherwise call every wake-up late); UINT64_MAX when
 * unlimited. */
#define RL_LATE_MIN_NS 2000000ULL
uint64_t rl_late_tolerance_ns(rl_policy *p);

/* Whether the policy has a slot free at now_ns: nobody has booked it up to
 * then, so one more request in flight would use it (always, unlimited). */
bool rl_idle(rl_policy *p, uint64_t now_ns);

/* How long a request reserved at now_ns would wait for its slot (0: one is
 * free, or the policy is unlimited). */
uint64_t rl_wait_ns(rl_policy *p, uint64_t now_ns);

/* Reserves the next slot, unless it starts more than max_wait_ns after now
 * (or the grant cap is reached). Returns true and sets *start_ns (send at or
 * after it); or false, reserving nothing, with *start_ns the earliest start
 * a later call could get (past now + max_wait_ns when capped: look again a
 * little later). */
bool rl_reserve(rl_policy *p, uint64_t now_ns, uint64_t max_wait_ns, uint64_t *start_ns);

/* A 429 (or a Retry-After) says the server wants quiet until `until_ns`:
 * moves the TAT to at least that (compare-and-swap max). */
void rl_penalize(rl_policy *p, uint64_t until_ns);

/* How long to back off after a 429 on policy p when the response named no
 * wait: a whole window, after which HubSpot's rolling count has surely
 * cleared. retry_after_ms / interval_ms come from the response headers when
 * present (0 when absent) and win. */
uint64_t rl_backoff_ns(rl_policy *p, uint64_t retry_after_ms, uint64_t interval_ms);

/* Initialises the daily policy (limit 0 = unlimited until a header says
 * otherwise; a non-zero limit is --daily N and no header changes it). */
void rl_daily_init(rl_daily *d, uint64_t limit);

/* Keeps `reserve` calls of every day untaken (0: none). Call after
 * rl_daily_init, before fork. */
void rl_daily_set_reserve(rl_daily *d, uint64_t reserve);

/* Today's number in the daily policy's calendar: days since the epoch, UTC. */
static inline uint64_t rl_utc_day(void)
{
    return (uint64_t)time(NULL) / 86400;
}

/* The daily policy as the HTTP engine uses it: one question before a
 * request books its limiter slot (rl_daily_admit), one when the slot has
 * come and the request is about to go out (rl_daily_charge), and one fact
 * after its answer (rl_daily_answered). Two questions, not one, because a
 * request may go back to waiting between them (a 429 since its slot was
 * booked, a wake-up too late for it) and book again: it is counted once,
 * when it is really sent, and the gate is decided before a slot is spent.
 *
 * A ticket (a uint64_t, 0 when none) says that the request holds the gate:
 * set by rl_daily_admit, it goes with the request (or with the probe sent
 * in its place) until rl_daily_answered or rl_daily_release gives it back;
 * both set it to 0. A holder that died is overtaken after the lease. */
typedef enum rl_daily_verdict {
    RL_DAILY_SEND = 0,        /* go on (book the slot; send) */
    RL_DAILY_PROBE_FIRST,     /* admit: this request's answer would not tell
                                 today's count (a search), yet it is what the
                                 gate waits for: send a cheap request that
                                 carries the daily headers first, holding
                                 the ticket, and look again after */
    RL_DAILY_WAIT,            /* admit: another request is learning today's
                                 count: look again shortly */
    RL_DAILY_RESERVE_REACHED, /* charge: only --daily-reserve is left: not sent */
    RL_DAILY_SPENT            /* charge: today's limit is spent: not sent */
} rl_daily_verdict;

/* Before a request books its limiter slot on UTC day `day`: SEND,
 * PROBE_FIRST or WAIT. `tells_count`: its answer carries the daily headers
 * when the portal sends them (every request but a search). The gate is
 * closed (one request out at a time) with a reserve, no --daily, and no
 * header seen on `day` (at the start, and after our count restarted at
 * midnight) unless the portal is known to send none; then *ticket is set
 * (non-zero) on SEND and PROBE_FIRST. A holder older than lease_ns is
 * presumed dead and overtaken. */
rl_daily_verdict rl_daily_admit(rl_daily *d, uint64_t day, uint64_t now_ns, uint64_t lease_ns,
                                bool tells_count, uint64_t *ticket);

/* The request's slot has come: counts it against UTC day `day`, before it
 * is sent (so no more than limit - reserve go out, however many workers
 * send at once). SEND; or, counting nothing and releasing *ticket,
 * RESERVE_REACHED (some of the day is left, all of it the reserve; *left
 * says how much) or SPENT. */
rl_daily_verdict rl_daily_charge(rl_daily *d, uint64_t day, uint64_t *ticket, uint64_t *left);

/* What an answer said of the daily limit. */
typedef struct rl_daily_answer {
    long da_status;        /* the HTTP status; 0: no answer (the transfer failed) */
    bool da_tells_count;   /* as for rl_daily_admit: not a search */
    bool da_daily_429;     /* a 429 whose body names the DAILY policy */
    bool da_headers;       /* X-HubSpot-RateLimit-Daily-Remaining was there */
    uint64_t da_limit;     /* X-HubSpot-RateLimit-Daily (0: absent) */
    uint64_t da_remaining; /* X-HubSpot-RateLimit-Daily-Remaining, when da_headers */
} rl_daily_answer;

/* A request admitted on UTC day `day` was answered (or its transfer
 * failed): headers → the count is known (with a reserve and no --daily, the
 * limit is learned from them) and ours rises to HubSpot's; a successful
 * answer that should have carried them and did not → RL_DAILY_NO_HEADERS,
 * the gate is gone for good; a daily 429 → nothing left today. Then
 * *ticket is released, whatever was learned: if nothing, the next request
 * takes the gate. */
void rl_daily_answered(rl_daily *d, uint64_t day, const rl_daily_answer *a, uint64_t *ticket);

/* A request admitted and not sent after all (no slot free within the
 * reserve-ahead, out of memory, the engine failing): gives *ticket back
 * (0: nothing to give) and sets it to 0. */
void rl_daily_release(rl_daily *d, uint64_t *ticket);

/* What HubSpot's daily headers last said on UTC day `day`, whatever the
 * flags: the fewest calls remaining any response reported (responses
 * arrive out of order) and the limit. False when no response of that day
 * carried them (OAuth apps never get them). */
bool rl_daily_seen(rl_daily *d, uint64_t day, uint64_t *limit, uint64_t *remaining);

/* What is known of the limit (rl_daily_knowledge). */
rl_daily_knowledge rl_daily_knowledge_of(rl_daily *d);

/* The reserve (--daily-reserve; 0: none). */
uint64_t rl_daily_reserve(rl_daily *d);

/* Requests still allowed today, the reserve included (UINT64_MAX when
 * unlimited). */
uint64_t rl_daily_remaining(rl_daily *d, uint64_t day);

#endif
