/*
 * skew — see skew.h.
 */
#include "skew.h"

void skew_init(skew_est *k)
{
    atomic_store(&k->sk_low_ms, INT64_MIN);
    atomic_store(&k->sk_high_ms, INT64_MAX);
    atomic_store(&k->sk_samples, 0);
}

void skew_sample(skew_est *k, int64_t date_s, int64_t sent_ms, int64_t received_ms)
{
    if (date_s <= 0 || received_ms < sent_ms)
        return; /* no Date, or this machine's clock stepped back meanwhile */
    int64_t low = date_s * 1000 - received_ms, high = date_s * 1000 + 1000 - sent_ms;
    int64_t cur = atomic_load(&k->sk_low_ms);
    while (low > cur && !atomic_compare_exchange_weak(&k->sk_low_ms, &cur, low))
        ;
    cur = atomic_load(&k->sk_high_ms);
    while (high < cur && !atomic_compare_exchange_weak(&k->sk_high_ms, &cur, high))
        ;
    atomic_fetch_add(&k->sk_samples, 1);
}

bool skew_bounds(skew_est *k, int64_t *low_ms, int64_t *high_ms)
{
    if (atomic_load(&k->sk_samples) == 0)
        return false;
    *low_ms = atomic_load(&k->sk_low_ms);
    *high_ms = atomic_load(&k->sk_high_ms);
    return true;
}

int64_t skew_hold_back_ms(skew_est *k)
{
    int64_t low, high;
    if (!skew_bounds(k, &low, &high) || low >= -SKEW_DATE_RESOLUTION_MS)
        return 0;
    return -low - SKEW_DATE_RESOLUTION_MS;
}
