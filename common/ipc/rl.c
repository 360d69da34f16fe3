/* rl — lock-free GCRA over shared memory, and the daily policy (see rl.h).
 * The only file that reads or writes the rp_* and rd_* fields. */
#include "rl.h"

#include <stdlib.h>

static uint64_t interval_of(uint32_t limit, uint64_t window_ns, uint64_t margin_ns)
{
    return limit ? (window_ns + margin_ns + limit - 1) / limit : 0;
}

void rl_policy_init(rl_policy *p, uint32_t limit, uint64_t window_ns, uint64_t margin_ns)
{
    atomic_store(&p->rp_tat_ns, 0);
    atomic_store(&p->rp_limit, limit);
    atomic_store(&p->rp_window_ns, window_ns);
    atomic_store(&p->rp_margin_ns, margin_ns);
    atomic_store(&p->rp_interval_ns, interval_of(limit, window_ns, margin_ns));
    atomic_store(&p->rp_penalties, 0);
    atomic_store(&p->rp_grant_cap, 0);
    atomic_store(&p->rp_grant_seq, 0);
    atomic_store(&p->rp_first_grant_ns, 0);
    for (int i = 0; i < RL_GRANT_RING; i++)
        atomic_store(&p->rp_grants[i], 0);
}

static int descending(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The earliest next slot at which the grants already made, taken as they
 * were, and new ones `interval` apart never put more than `limit` in one
 * window of limit × interval: the i-th latest grant (i ≤ limit) must lie
 * i intervals before the next slot. 0 when no grant was made. */
static uint64_t next_slot_after_grants(rl_policy *p, uint32_t limit, uint64_t interval)
{
    uint64_t seq = atomic_load(&p->rp_grant_seq);
    uint64_t n = seq < RL_GRANT_RING ? seq : RL_GRANT_RING;
    uint64_t t[RL_GRANT_RING];
    for (uint64_t i = 0; i < n; i++)
        t[i] = atomic_load_explicit(&p->rp_grants[i], memory_order_relaxed);
    qsort(t, n, sizeof(t[0]), descending);
    uint64_t next = 0;
    for (uint64_t i = 0; i < n && i < limit; i++)
        if (t[i] + (i + 1) * interval > next)
            next = t[i] + (i + 1) * interval;
    return next;
}

/* Moves the TAT to at least until_ns (compare-and-swap max). True when it moved. */
static bool push_tat(rl_policy *p, uint64_t until_ns)
{
    uint64_t tat = atomic_load_explicit(&p->rp_tat_ns, memory_order_relaxed);
    while (tat < until_ns)
        if (atomic_compare_exchange_weak_explicit(&p->rp_tat_ns, &tat, until_ns,
                                                  memory_order_acq_rel, memory_order_relaxed))
            return true;
    return false;
}

void rl_set(rl_policy *p, uint32_t limit, uint64_t window_ns, uint64_t margin_ns)
{
    uint64_t interval = interval_of(limit, window_ns, margin_ns);
    uint64_t old = atomic_load(&p->rp_interval_ns);
    atomic_store(&p->rp_limit, limit);
    atomic_store(&p->rp_window_ns, window_ns);
    atomic_store(&p->rp_margin_ns, margin_ns);
    atomic_store(&p->rp_interval_ns, interval);
    /* Slower than before: the grants made at the old pace count against the
     * new limit. From unlimited nothing was recorded; nothing to count. */
    if (old != 0 && interval > old)
        push_tat(p, next_slot_after_grants(p, limit, interval));
}

void rl_set_grant_cap(rl_policy *p, uint64_t cap)
{
    atomic_store(&p->rp_grant_cap, cap ? atomic_load(&p->rp_grant_seq) + cap : 0);
}

uint32_t rl_granted_between(rl_policy *p, uint64_t from_ns, uint64_t to_ns)
{
    uint64_t seq = atomic_load(&p->rp_grant_seq);
    uint64_t n = seq < RL_GRANT_RING ? seq : RL_GRANT_RING;
    uint32_t count = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t = atomic_load_explicit(&p->rp_grants[i], memory_order_relaxed);
        count += t > from_ns && t <= to_ns;
    }
    return count;
}

void rl_grant_span(rl_policy *p, uint64_t *count, uint64_t *first_ns, uint64_t *last_ns)
{
    uint64_t seq = atomic_load(&p->rp_grant_seq);
    uint64_t n = seq < RL_GRANT_RING ? seq : RL_GRANT_RING, last = 0;
    /* The latest start, not the latest slot: grants land out of order. */
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t = atomic_load_explicit(&p->rp_grants[i], memory_order_relaxed);
        last = t > last ? t : last;
    }
    *count = seq;
    *first_ns = seq ? atomic_load(&p->rp_first_grant_ns) : 0;
    *last_ns = last;
}

bool rl_reserve(rl_policy *p, uint64_t now_ns, uint64_t max_wait_ns, uint64_t *start_ns)
{
    uint64_t interval = atomic_load_explicit(&p->rp_interval_ns, memory_order_relaxed);
    if (interval == 0) {
        *start_ns = now_ns;
        return true;
    }
    uint64_t cap = atomic_load_explicit(&p->rp_grant_cap, memory_order_relaxed);
    if (cap && atomic_load_explicit(&p->rp_grant_seq, memory_order_relaxed) >= cap) {
        *start_ns = now_ns + max_wait_ns + 20000000ULL; /* capped: look again in 20 ms */
        return false;
    }
    uint64_t tat = atomic_load_explicit(&p->rp_tat_ns, memory_order_relaxed);
    for (;;) {
        uint64_t next;
        uint64_t start = rl_gcra_step(tat, now_ns, interval, &next);
        *start_ns = start;
        if (start - now_ns > max_wait_ns)
            return false;
        /* On failure tat is reloaded with the winner's value: just retry. */
        if (atomic_compare_exchange_weak_explicit(&p->rp_tat_ns, &tat, next, memory_order_acq_rel,
                                                  memory_order_relaxed))
            break;
    }
    uint64_t i = atomic_fetch_add_explicit(&p->rp_grant_seq, 1, memory_order_relaxed);
    atomic_store_explicit(&p->rp_grants[i % RL_GRANT_RING], *start_ns, memory_order_relaxed);
    if (i == 0) /* the first grant: its slot is the earliest (the TAT only grows) */
        atomic_store_explicit(&p->rp_first_grant_ns, *start_ns, memory_order_relaxed);
    return true;
}

void rl_penalize(rl_policy *p, uint64_t until_ns)
{
    if (push_tat(p, until_ns))
        atomic_fetch_add_explicit(&p->rp_penalties, 1, memory_order_relaxed);
}

uint64_t rl_backoff_ns(rl_policy *p, uint64_t retry_after_ms, uint64_t interval_ms)
{
    if (retry_after_ms)
        return retry_after_ms * 1000000ULL;
    if (interval_ms)
        return interval_ms * 1000000ULL;
    uint64_t window = atomic_load(&p->rp_window_ns);
    return window ? window : 1000000000ULL;
}

uint64_t rl_interval_ns(rl_policy *p)
{
    return atomic_load_explicit(&p->rp_interval_ns, memory_order_relaxed);
}

uint32_t rl_limit(rl_policy *p)
{
    return atomic_load(&p->rp_limit);
}

uint64_t rl_window_ns(rl_policy *p)
{
    return atomic_load(&p->rp_window_ns);
}

uint64_t rl_margin_ns(rl_policy *p)
{
    return atomic_load(&p->rp_margin_ns);
}

uint64_t rl_penalties(rl_policy *p)
{
    return atomic_load(&p->rp_penalties);
}

uint64_t rl_late_tolerance_ns(rl_policy *p)
{
    uint64_t interval = atomic_load_explicit(&p->rp_interval_ns, memory_order_relaxed);
    if (interval == 0)
        return UINT64_MAX;
    uint64_t span = interval * atomic_load_explicit(&p->rp_limit, memory_order_relaxed);
    uint64_t window = atomic_load_explicit(&p->rp_window_ns, memory_order_relaxed);
    uint64_t half = span > window ? (span - window) / 2 : 0;
    return half > RL_LATE_MIN_NS ? half : RL_LATE_MIN_NS;
}

bool rl_idle(rl_policy *p, uint64_t now_ns)
{
    return atomic_load_explicit(&p->rp_interval_ns, memory_order_relaxed) == 0 ||
           atomic_load(&p->rp_tat_ns) <= now_ns;
}

uint64_t rl_wait_ns(rl_policy *p, uint64_t now_ns)
{
    if (atomic_load_explicit(&p->rp_interval_ns, memory_order_relaxed) == 0)
        return 0;
    uint64_t tat = atomic_load(&p->rp_tat_ns);
    return tat > now_ns ? tat - now_ns : 0;
}

enum { DAY_SHIFT = 40 };
#define USED_MASK ((1ULL << DAY_SHIFT) - 1)

void rl_daily_init(rl_daily *d, uint64_t limit)
{
    atomic_store(&d->rd_state, 0);
    atomic_store(&d->rd_limit, limit);
    d->rd_reserve = 0;
    d->rd_limit_given = limit != 0;
    atomic_store(&d->rd_known, limit ? RL_DAILY_KNOWN : RL_DAILY_UNKNOWN);
    atomic_store(&d->rd_gate_ns, 0);
    atomic_store(&d->rd_seen, 0);
    atomic_store(&d->rd_seen_limit, 0);
    atomic_store(&d->rd_synced_day, UINT64_MAX);
}

void rl_daily_set_reserve(rl_daily *d, uint64_t reserve)
{
    d->rd_reserve = reserve;
}

/* The used count for `day` in a state word (0 when the word is of another day). */
static uint64_t used_on(uint64_t state, uint64_t day)
{
    return (state >> DAY_SHIFT) == day ? (state & USED_MASK) : 0;
}

/* Counts one request on `day`. False, counting nothing, when today's limit
 * is spent or only the reserve is left. */
static bool take(rl_daily *d, uint64_t day)
{
    uint64_t limit = atomic_load_explicit(&d->rd_limit, memory_order_acquire);
    /* Requests are counted even while unlimited: once a header tells the
     * limit, the count is already there. */
    uint64_t stop_at = limit > d->rd_reserve ? limit - d->rd_reserve : 0;
    uint64_t state = atomic_load_explicit(&d->rd_state, memory_order_relaxed);
    for (;;) {
        uint64_t used = used_on(state, day);
        if ((limit && used >= stop_at) || used >= USED_MASK)
            return false;
        uint64_t next = day << DAY_SHIFT | (used + 1);
        if (atomic_compare_exchange_weak_explicit(&d->rd_state, &state, next, memory_order_acq_rel,
                                                  memory_order_relaxed))
            return true;
    }
}

/* Aligns the count with the server's X-HubSpot-RateLimit-Daily-Remaining
 * (only ever raises the used count: several workers report stale values).
 * Does nothing while the limit is not known. */
static void observe(rl_daily *d, uint64_t day, uint64_t remaining)
{
    uint64_t limit = atomic_load_explicit(&d->rd_limit, memory_order_acquire);
    if (limit == 0)
        return;
    uint64_t server_used = remaining >= limit ? 0 : limit - remaining;
    if (server_used > USED_MASK)
        server_used = USED_MASK;
    uint64_t state = atomic_load_explicit(&d->rd_state, memory_order_relaxed);
    for (;;) {
        if (used_on(state, day) >= server_used)
            return;
        uint64_t next = day << DAY_SHIFT | server_used;
        if (atomic_compare_exchange_weak_explicit(&d->rd_state, &state, next, memory_order_acq_rel,
                                                  memory_order_relaxed))
            return;
    }
}

/* An answer carried X-HubSpot-RateLimit-Daily (limit; 0 when absent) and
 * -Remaining: with a reserve and no --daily, learns the limit; then
 * observes, and today's count is known. */
static void learn(rl_daily *d, uint64_t day, uint64_t limit, uint64_t remaining)
{
    uint64_t rem = remaining > USED_MASK ? USED_MASK : remaining;
    uint64_t seen = atomic_load(&d->rd_seen);
    while ((seen >> DAY_SHIFT != day || (seen & USED_MASK) > rem || seen == 0) &&
           !atomic_compare_exchange_weak(&d->rd_seen, &seen, day << DAY_SHIFT | rem))
        ;
    if (limit)
        atomic_store(&d->rd_seen_limit, limit);
    /* Without a reserve the server's own 429 is the stop, as it always was. */
    if (!d->rd_limit_given && d->rd_reserve && limit)
        atomic_store_explicit(&d->rd_limit, limit, memory_order_release);
    if (atomic_load_explicit(&d->rd_limit, memory_order_acquire))
        atomic_store(&d->rd_known, RL_DAILY_KNOWN);
    observe(d, day, remaining);
    atomic_store(&d->rd_synced_day, day);
}

/* A successful answer that should have carried the daily headers did not:
 * the portal sends none (OAuth), so only --daily can be counted against. */
static void no_headers(rl_daily *d)
{
    uint32_t unknown = RL_DAILY_UNKNOWN;
    atomic_compare_exchange_strong(&d->rd_known, &unknown, RL_DAILY_NO_HEADERS);
}

rl_daily_knowledge rl_daily_knowledge_of(rl_daily *d)
{
    return (rl_daily_knowledge)atomic_load(&d->rd_known);
}

uint64_t rl_daily_remaining(rl_daily *d, uint64_t day)
{
    uint64_t limit = atomic_load(&d->rd_limit);
    if (limit == 0)
        return UINT64_MAX;
    uint64_t used = used_on(atomic_load(&d->rd_state), day);
    return used >= limit ? 0 : limit - used;
}

/* Whether a request may go out now past the gate; *ticket is then non-zero
 * when it holds the gate (see rl_daily_admit). */
static bool gate_enter(rl_daily *d, uint64_t day, uint64_t now_ns, uint64_t lease_ns,
                       uint64_t *ticket)
{
    *ticket = 0;
    if (d->rd_reserve == 0 || d->rd_limit_given ||
        atomic_load(&d->rd_known) == RL_DAILY_NO_HEADERS || atomic_load(&d->rd_synced_day) == day)
        return true;
    uint64_t held = atomic_load(&d->rd_gate_ns);
    uint64_t mine = now_ns ? now_ns : 1;
    for (;;) {
        /* A holder that entered after our now_ns was read is no older. */
        if (held != 0 && (held > now_ns || now_ns - held < lease_ns))
            return false;
        if (atomic_compare_exchange_weak(&d->rd_gate_ns, &held, mine)) {
            *ticket = mine;
            return true;
        }
    }
}

void rl_daily_release(rl_daily *d, uint64_t *ticket)
{
    uint64_t held = *ticket;
    /* A holder overtaken after its lease does not open the gate under the
     * new one: the word is cleared only while it is still ours. */
    if (held)
        atomic_compare_exchange_strong(&d->rd_gate_ns, &held, 0);
    *ticket = 0;
}

rl_daily_verdict rl_daily_admit(rl_daily *d, uint64_t day, uint64_t now_ns, uint64_t lease_ns,
                                bool tells_count, uint64_t *ticket)
{
    if (!gate_enter(d, day, now_ns, lease_ns, ticket))
        return RL_DAILY_WAIT;
    /* The gate waits for an answer with the headers; a search's has none. */
    return *ticket && !tells_count ? RL_DAILY_PROBE_FIRST : RL_DAILY_SEND;
}

rl_daily_verdict rl_daily_charge(rl_daily *d, uint64_t day, uint64_t *ticket, uint64_t *left)
{
    *left = 0;
    if (take(d, day))
        return RL_DAILY_SEND;
    rl_daily_release(d, ticket);
    *left = rl_daily_remaining(d, day);
    return *left > 0 && d->rd_reserve > 0 ? RL_DAILY_RESERVE_REACHED : RL_DAILY_SPENT;
}

void rl_daily_answered(rl_daily *d, uint64_t day, const rl_daily_answer *a, uint64_t *ticket)
{
    if (a->da_headers)
        learn(d, day, a->da_limit, a->da_remaining);
    else if (a->da_status >= 200 && a->da_status < 300 && a->da_tells_count)
        no_headers(d);
    if (a->da_daily_429)
        observe(d, day, 0); /* HubSpot says nothing is left, whatever we counted */
    rl_daily_release(d, ticket);
}

uint64_t rl_daily_reserve(rl_daily *d)
{
    return d->rd_reserve;
}

bool rl_daily_seen(rl_daily *d, uint64_t day, uint64_t *limit, uint64_t *remaining)
{
    uint64_t seen = atomic_load(&d->rd_seen);
    if (seen == 0 || seen >> DAY_SHIFT != day)
        return false;
    *remaining = seen & USED_MASK;
    *limit = atomic_load(&d->rd_seen_limit);
    return true;
}
