/* rtt — Jacobson's round-trip estimator in shared memory (see rtt.h). */
#include "rtt.h"

void rtt_init(rtt_est *e)
{
    atomic_store(&e->re_srtt_us, 0);
    atomic_store(&e->re_rttvar_us, 0);
    atomic_store(&e->re_samples, 0);
}

void rtt_sample(rtt_est *e, uint64_t latency_ns)
{
    int64_t s = (int64_t)(latency_ns / 1000);
    if (atomic_fetch_add(&e->re_samples, 1) == 0) {
        atomic_store(&e->re_srtt_us, (uint64_t)s);
        atomic_store(&e->re_rttvar_us, (uint64_t)s / 2);
        return;
    }
    int64_t srtt = (int64_t)atomic_load(&e->re_srtt_us);
    int64_t var = (int64_t)atomic_load(&e->re_rttvar_us);
    int64_t err = s - srtt;
    atomic_store(&e->re_srtt_us, (uint64_t)(srtt + err / 8));
    atomic_store(&e->re_rttvar_us, (uint64_t)(var + ((err < 0 ? -err : err) - var) / 4));
}

uint64_t rtt_count(rtt_est *e)
{
    return atomic_load(&e->re_samples);
}

uint64_t rtt_srtt_us(rtt_est *e)
{
    return atomic_load(&e->re_srtt_us);
}

uint64_t rtt_rttvar_us(rtt_est *e)
{
    return atomic_load(&e->re_rttvar_us);
}

uint64_t rtt_limit_ns(rtt_est *e, uint64_t floor_ns, uint64_t ceiling_ns)
{
    uint64_t limit = floor_ns;
    if (atomic_load(&e->re_samples) > 0) {
        uint64_t us =
            RTT_TAIL_FACTOR * atomic_load(&e->re_srtt_us) + 4 * atomic_load(&e->re_rttvar_us);
        if (us * 1000 > limit)
            limit = us * 1000;
    }
    return limit < ceiling_ns ? limit : ceiling_ns;
}
