/* rl — lock-free GCRA over shared memory (see rl.h). */
#include "rl.h"

void rl_policy_init(rl_policy *p, uint32_t limit, uint64_t window_ns, uint64_t margin_ns)
{
    atomic_store(&p->rp_tat_ns, 0);
    p->rp_limit = limit;
    p->rp_window_ns = window_ns;
    p->rp_interval_ns = limit ? (window_ns + margin_ns + limit - 1) / limit : 0;
    atomic_store(&p->rp_penalties, 0);
}

bool rl_reserve(rl_policy *p, uint64_t now_ns, uint64_t max_wait_ns, uint64_t *start_ns)
{
    if (p->rp_interval_ns == 0) {
        *start_ns = now_ns;
        return true;
    }
    uint64_t tat = atomic_load_explicit(&p->rp_tat_ns, memory_order_relaxed);
    for (;;) {
        uint64_t next;
        uint64_t start = rl_gcra_step(tat, now_ns, p->rp_interval_ns, &next);
        *start_ns = start;
        if (start - now_ns > max_wait_ns)
            return false;
        /* On failure tat is reloaded with the winner's value: just retry. */
        if (atomic_compare_exchange_weak_explicit(&p->rp_tat_ns, &tat, next, memory_order_acq_rel,
                                                  memory_order_relaxed))
            return true;
    }
}

void rl_penalize(rl_policy *p, uint64_t until_ns)
{
    uint64_t tat = atomic_load_explicit(&p->rp_tat_ns, memory_order_relaxed);
    while (tat < until_ns) {
        if (atomic_compare_exchange_weak_explicit(&p->rp_tat_ns, &tat, until_ns,
                                                  memory_order_acq_rel, memory_order_relaxed)) {
            atomic_fetch_add_explicit(&p->rp_penalties, 1, memory_order_relaxed);
            return;
        }
    }
}

uint64_t rl_backoff_ns(const rl_policy *p, uint64_t retry_after_ms, uint64_t interval_ms)
{
    if (retry_after_ms)
        return retry_after_ms * 1000000ULL;
    if (interval_ms)
        return interval_ms * 1000000ULL;
    return p->rp_window_ns ? p->rp_window_ns : 1000000000ULL;
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

bool rl_daily_take(rl_daily *d, uint64_t day)
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

void rl_daily_observe(rl_daily *d, uint64_t day, uint64_t remaining)
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

void rl_daily_learn(rl_daily *d, uint64_t day, uint64_t limit, uint64_t remaining)
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
    rl_daily_observe(d, day, remaining);
    atomic_store(&d->rd_synced_day, day);
}

void rl_daily_no_headers(rl_daily *d)
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

bool rl_daily_gate_enter(rl_daily *d, uint64_t day, uint64_t now_ns, uint64_t lease_ns,
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

void rl_daily_gate_leave(rl_daily *d, uint64_t ticket)
{
    if (ticket)
        atomic_compare_exchange_strong(&d->rd_gate_ns, &ticket, 0);
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
