/*
 * budget — one of HubSpot's windowed budgets (the burst limit or the search
 * limit) as this run knows it: the shared limiter that paces it (rl) and
 * what the answers teach about it, in shared memory, learned by every
 * worker at once.
 *
 * What is learned, and why:
 *  - The limit and window. HubSpot tells them on every counted answer
 *    (X-HubSpot-RateLimit-Max, -Interval-Milliseconds): a Free portal has
 *    100 per 10 s, Pro 190, the API add-on 250. Without --rate the run paces
 *    by what the first answer says (190/10s until then, and no more grants
 *    than the lowest tier allows in one window before an answer confirms
 *    it). --rate overrides; --budget-fraction takes its share of either.
 *  - Other apps on the same budget. -Remaining counts every app's requests
 *    in the window; this run knows how many of its own the window held
 *    (the limiter's grant ring), so the rest is someone else's. The pace
 *    drops to what they leave, less a guard for the two streams' phase.
 *  - The margin. HubSpot counts a request when it arrives; grants are
 *    spaced at the limiter, so the spread between a grant and its arrival
 *    can squeeze N + 1 into one window. A late wake-up is bounded by the
 *    engine (past half the margin a request takes a new slot); connecting
 *    (TCP and TLS handshakes before the request goes out) is not: the
 *    pacing window is widened by twice the longest recent connect, and
 *    further by every 429 (a SECONDLY 429 from search slows the search
 *    budget, not only pauses it).
 *  - The latency, for Little's law: requests in flight needed to keep the
 *    budget busy = rate × latency. budget_inflight() sizes concurrency from
 *    the measured round trip (Jacobson's smoothed mean plus one mean
 *    deviation) with 10% and two requests to spare, so no flag has to
 *    match the latency HubSpot has that day. Not more: a request queued at
 *    the limiter holds back whatever waits for its answer (a list chain).
 *
 * Every function may be called by any process at any time; the learned
 * values are single atomic words (a lost update between two workers only
 * costs one sample).
 */
#ifndef HUBSYNC_BUDGET_H
#define HUBSYNC_BUDGET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "rl.h"
#include "rtt.h"

/* Whether HubSpot's answers carry the burst headers. */
typedef enum budget_headers {
    BUDGET_HEADERS_UNKNOWN = 0, /* no counted answer yet */
    BUDGET_HEADERS_SEEN,        /* the limit is HubSpot's own */
    BUDGET_HEADERS_NONE         /* answers come without them: the configured pace stands */
} budget_headers;

/* Samples of other apps' spending the estimate is the upper quartile of:
 * one sample is off by however many of our requests arrived out of the
 * order they were granted in (a worker that woke late), and the quartile of
 * the last second's answers is not. The upper one, not the median: while
 * the others' spending rises, the median of samples taken over a second
 * trails it by half a second's growth, and every request the estimate is
 * short of is one the window may hold too many (a 429 when the others' pace
 * had just filled their window, measured under load in it_latency). */
enum { BUDGET_FOREIGN_SAMPLES = 15 };

typedef struct budget {
    rl_policy bu_rl; /* the pacing itself */
    /* Configured before fork. */
    uint32_t bu_limit;     /* --rate N, or the default until learned (0: no pacing) */
    uint64_t bu_window_ns; /* --rate /W, or the default's */
    bool bu_given;         /* --rate was given: the headers do not change it */
    double bu_fraction;    /* --budget-fraction: the share of the limit to use (1) */
    /* Learned by any process. */
    _Atomic uint32_t bu_headers;          /* budget_headers */
    _Atomic uint32_t bu_server_limit;     /* X-HubSpot-RateLimit-Max (0: not seen) */
    _Atomic uint64_t bu_server_window_ns; /* X-HubSpot-RateLimit-Interval-Milliseconds */
    _Atomic uint64_t bu_foreign_seq;      /* samples taken of what other apps spend */
    _Atomic int32_t bu_foreign[BUDGET_FOREIGN_SAMPLES]; /* the latest, a ring */
    _Atomic uint64_t bu_delay_ns;                       /* largest recent send delay, decaying */
    _Atomic uint64_t bu_throttle_margin;                /* margin the 429s asked for (0: none) */
    rtt_est bu_rtt;                                     /* the round trip of its answers */
} budget;

/* The lowest burst limit HubSpot has (Free and Starter: 100 per 10 s):
 * before an answer confirms the limit, no more grants than this tier's
 * window holds go out, less a tenth. */
enum { BUDGET_LOWEST_TIER = 100 };

/* Sets up a budget of `limit` per `window_ns` (limit 0: unpaced). `given`:
 * the limit came from a flag and answers never change it; `fraction`
 * (0, 1]: the share of the limit, learned or given, this run uses. Call
 * before fork. */
void budget_init(budget *b, uint32_t limit, uint64_t window_ns, bool given, double fraction);

/* A counted answer carried X-HubSpot-RateLimit-Max `max`, -Interval-
 * Milliseconds `interval_ms` (0: absent) and -Remaining `remaining` (< 0:
 * absent), for a request granted at `grant_ns`: learns the limit and what
 * other apps spend, and re-paces. */
void budget_learn(budget *b, uint32_t max, uint64_t interval_ms, int64_t remaining,
                  uint64_t grant_ns);

/* A successful answer that HubSpot counts came without the headers: the
 * configured pace stands, and the cap on unconfirmed grants is lifted. */
void budget_no_headers(budget *b);

/* A request took `delay_ns` to go out once started (connecting: TCP and
 * TLS): widens the margin when such delays grow. */
void budget_sent(budget *b, uint64_t delay_ns);

/* A request of this budget was answered after `latency_ns`. */
void budget_answered(budget *b, uint64_t latency_ns);

/* A 429 of this budget: the margin doubles (to at most a quarter of the
 * window), so the budget runs slower, not only later. */
void budget_throttled(budget *b);

/* Requests in flight (or waiting for their slot) that keep the budget busy
 * at the measured latency, for all `nworkers` workers together: Little's law
 * with headroom, and never fewer than BUDGET_UNPACED_INFLIGHT per worker
 * (at a latency far below the pace, a job's own cycle is the wait).
 * Unpaced (a simulator without limits), where no rate says how many, and
 * before the first answer has been timed: BUDGET_UNPACED_INFLIGHT per worker. */
enum { BUDGET_UNPACED_INFLIGHT = 4 };
uint32_t budget_inflight(budget *b, int nworkers);

/* The smoothed round trip of this budget's requests (0: none timed yet). */
uint64_t budget_latency_ns(budget *b);

/* Requests in flight at the mean latency with a tenth to spare: the least
 * that keeps the budget busy, for work that costs more the more it is
 * split (list chains). 1 when unpaced or before any answer. */
uint32_t budget_inflight_mean(budget *b);

/* The limit this run takes, other apps aside: HubSpot's (or --rate's)
 * times --budget-fraction, per *window_ns; 0 when unpaced. */
uint32_t budget_share(budget *b, uint64_t *window_ns);

/* The pace now: the limit per window it paces to (0: unpaced) and the
 * window, margin excluded. */
uint32_t budget_pace(budget *b, uint64_t *window_ns);

/* What this run spent of the budget: the grants so far and the starts of
 * the first and the latest (rl_grant_span), and how many grants the window
 * that ends at now_ns holds, as HubSpot counts them. */
void budget_granted(budget *b, uint64_t *count, uint64_t *first_ns, uint64_t *last_ns);
uint32_t budget_window_grants(budget *b, uint64_t now_ns);

/* Other apps' requests per window, as last estimated: the upper quartile
 * of the latest samples (0: none seen). */
int32_t budget_foreign(budget *b);

#endif
