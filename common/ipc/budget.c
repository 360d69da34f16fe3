/* budget — what HubSpot's answers teach the limiter (see budget.h). */
#include "budget.h"

#include <math.h>
#include <stdlib.h>

#define MS_NS 1000000ULL

enum {
    /* Two evenly spaced streams each put one more in some windows; and the
     * estimate lags a change in the others' pace: 2, and 2% of the limit. */
    FOREIGN_GUARD = 2,
    RTT_MIN_SAMPLES = 1, /* the first answer sizes the first cut: waiting costs a round trip */
    DELAY_DECAY = 32,    /* the longest connect fades by 1/32 per request (a second or two) */
};

static uint64_t base_margin(uint64_t window_ns)
{
    return window_ns / 100 > 100 * MS_NS ? window_ns / 100 : 100 * MS_NS;
}

/* The margin the measurements ask for: the base, twice the longest recent
 * connect, or what the 429s asked for, whichever is widest, but never
 * more than a quarter of the window. */
static uint64_t margin_of(budget *b, uint64_t window_ns)
{
    uint64_t m = base_margin(window_ns);
    uint64_t delay = 2 * atomic_load(&b->bu_delay_ns);
    uint64_t throttle = atomic_load(&b->bu_throttle_margin);
    if (delay > m)
        m = delay;
    if (throttle > m)
        m = throttle;
    if (m > window_ns / 4)
        m = window_ns / 4;
    return (m + MS_NS - 1) / MS_NS * MS_NS; /* whole ms: small drifts do not re-pace */
}

uint32_t budget_share(budget *b, uint64_t *window_ns)
{
    uint32_t server = atomic_load(&b->bu_server_limit);
    uint64_t server_window = atomic_load(&b->bu_server_window_ns);
    uint32_t limit = b->bu_limit;
    uint64_t window = b->bu_window_ns;
    if (!b->bu_given && server) {
        limit = server;
        if (server_window)
            window = server_window;
    }
    if (window_ns)
        *window_ns = window;
    if (limit && b->bu_fraction < 1) {
        limit = (uint32_t)((double)limit * b->bu_fraction);
        if (limit == 0)
            limit = 1;
    }
    return limit;
}

/* Re-paces the limiter from what is configured and learned. */
static void apply(budget *b)
{
    uint32_t server = atomic_load(&b->bu_server_limit);
    uint64_t server_window = atomic_load(&b->bu_server_window_ns);
    uint64_t window;
    uint32_t limit = budget_share(b, &window);
    if (limit == 0)
        return; /* unpaced stays unpaced */
    int32_t foreign = budget_foreign(b);
    if (server && server_window && foreign > 0) {
        /* What the others leave in HubSpot's window, in ours. */
        double room = (double)server - foreign - FOREIGN_GUARD - (double)server / 50;
        room = room * (double)window / (double)server_window;
        uint32_t r = room < 1 ? 1 : (uint32_t)room;
        if (r < limit)
            limit = r;
    }
    uint64_t margin = margin_of(b, window);
    rl_policy *p = &b->bu_rl;
    if (rl_limit(p) == limit && rl_window_ns(p) == window && rl_margin_ns(p) == margin)
        return;
    rl_set(p, limit, window, margin);
}

void budget_init(budget *b, uint32_t limit, uint64_t window_ns, bool given, double fraction)
{
    b->bu_limit = limit;
    b->bu_window_ns = window_ns;
    b->bu_given = given;
    b->bu_fraction = fraction > 0 && fraction < 1 ? fraction : 1;
    atomic_store(&b->bu_headers, BUDGET_HEADERS_UNKNOWN);
    atomic_store(&b->bu_server_limit, 0);
    atomic_store(&b->bu_server_window_ns, 0);
    atomic_store(&b->bu_foreign_seq, 0);
    for (int i = 0; i < BUDGET_FOREIGN_SAMPLES; i++)
        atomic_store(&b->bu_foreign[i], 0);
    atomic_store(&b->bu_delay_ns, 0);
    atomic_store(&b->bu_throttle_margin, 0);
    rtt_init(&b->bu_rtt);
    rl_policy_init(&b->bu_rl, budget_share(b, NULL), window_ns, base_margin(window_ns));
    /* A limit not confirmed yet may be above the portal's: no more grants
     * than the lowest tier's window holds until an answer tells. */
    if (!given && limit > BUDGET_LOWEST_TIER)
        rl_set_grant_cap(&b->bu_rl, BUDGET_LOWEST_TIER * 9 / 10);
}

void budget_learn(budget *b, uint32_t max, uint64_t interval_ms, int64_t remaining,
                  uint64_t grant_ns)
{
    if (max == 0)
        return;
    if (atomic_exchange(&b->bu_headers, BUDGET_HEADERS_SEEN) != BUDGET_HEADERS_SEEN)
        rl_set_grant_cap(&b->bu_rl, 0);
    atomic_store(&b->bu_server_limit, max);
    if (interval_ms)
        atomic_store(&b->bu_server_window_ns, interval_ms * MS_NS);
    uint64_t window = interval_ms ? interval_ms * MS_NS : b->bu_window_ns;
    if (remaining >= 0 && grant_ns && rl_interval_ns(&b->bu_rl)) {
        /* HubSpot's count of the window, less ours in it, is the others'. */
        uint32_t ours =
            rl_granted_between(&b->bu_rl, grant_ns > window ? grant_ns - window : 0, grant_ns);
        int64_t sample = (int64_t)max - remaining - (int64_t)ours;
        uint64_t i = atomic_fetch_add(&b->bu_foreign_seq, 1);
        atomic_store(&b->bu_foreign[i % BUDGET_FOREIGN_SAMPLES],
                     (int32_t)(sample < -65536  ? -65536
                               : sample > 65536 ? 65536
                                                : sample));
    }
    apply(b);
}

void budget_no_headers(budget *b)
{
    uint32_t unknown = BUDGET_HEADERS_UNKNOWN;
    if (atomic_compare_exchange_strong(&b->bu_headers, &unknown, BUDGET_HEADERS_NONE))
        rl_set_grant_cap(&b->bu_rl, 0);
}

void budget_sent(budget *b, uint64_t delay_ns)
{
    uint64_t cur = atomic_load(&b->bu_delay_ns);
    uint64_t faded = cur - cur / DELAY_DECAY;
    atomic_store(&b->bu_delay_ns, delay_ns > faded ? delay_ns : faded);
    apply(b);
}

void budget_answered(budget *b, uint64_t latency_ns)
{
    rtt_sample(&b->bu_rtt, latency_ns);
}

void budget_throttled(budget *b)
{
    uint64_t window = rl_window_ns(&b->bu_rl);
    uint64_t cur = margin_of(b, window);
    atomic_store(&b->bu_throttle_margin, 2 * cur);
    apply(b);
}

uint32_t budget_inflight(budget *b, int nworkers)
{
    uint64_t interval = rl_interval_ns(&b->bu_rl);
    double least = BUDGET_UNPACED_INFLIGHT * (nworkers > 0 ? nworkers : 1);
    /* Unpaced, or nothing measured yet: a few a worker. A guess above that
     * would let the first worker to look claim every job, and at a low
     * latency the parsing, not the network, is what a run waits on. */
    if (interval == 0 || rtt_count(&b->bu_rtt) < RTT_MIN_SAMPLES)
        return (uint32_t)least;
    double latency_ns = 1e3 * (double)(rtt_srtt_us(&b->bu_rtt) + rtt_rttvar_us(&b->bu_rtt));
    /* More would only queue at the limiter: a job waiting there holds its
     * list chain back a round trip. */
    double k = ceil(latency_ns / (double)interval * 1.1) + 2;
    /* At a latency far below the interval, the job's own cycle (merge,
     * plan, claim) is what a request waits on: a few a worker at least. */
    if (k < least)
        k = least;
    return k > 100000 ? 100000 : (uint32_t)k;
}

uint64_t budget_latency_ns(budget *b)
{
    return rtt_count(&b->bu_rtt) ? 1000 * rtt_srtt_us(&b->bu_rtt) : 0;
}

uint32_t budget_inflight_mean(budget *b)
{
    uint64_t interval = rl_interval_ns(&b->bu_rl);
    if (interval == 0 || rtt_count(&b->bu_rtt) < RTT_MIN_SAMPLES)
        return 1;
    double k = ceil(1e3 * (double)rtt_srtt_us(&b->bu_rtt) / (double)interval * 1.1);
    return k < 1 ? 1 : k > 100000 ? 100000 : (uint32_t)k;
}

uint32_t budget_pace(budget *b, uint64_t *window_ns)
{
    if (window_ns)
        *window_ns = rl_window_ns(&b->bu_rl);
    return rl_interval_ns(&b->bu_rl) ? rl_limit(&b->bu_rl) : 0;
}

static int by_value(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int32_t budget_foreign(budget *b)
{
    uint64_t seq = atomic_load(&b->bu_foreign_seq);
    size_t n = seq < BUDGET_FOREIGN_SAMPLES ? (size_t)seq : BUDGET_FOREIGN_SAMPLES;
    if (n == 0)
        return 0;
    int32_t v[BUDGET_FOREIGN_SAMPLES];
    for (size_t i = 0; i < n; i++)
        v[i] = atomic_load(&b->bu_foreign[i]);
    qsort(v, n, sizeof(v[0]), by_value);
    return v[3 * n / 4] > 0 ? v[3 * n / 4] : 0;
}

void budget_granted(budget *b, uint64_t *count, uint64_t *first_ns, uint64_t *last_ns)
{
    rl_grant_span(&b->bu_rl, count, first_ns, last_ns);
}

uint32_t budget_window_grants(budget *b, uint64_t now_ns)
{
    uint64_t window = rl_window_ns(&b->bu_rl);
    return rl_granted_between(&b->bu_rl, now_ns > window ? now_ns - window : 0, now_ns);
}
