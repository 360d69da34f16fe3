/*
 * clock — the two clocks the project reads: CLOCK_MONOTONIC nanoseconds for
 * pacing, leases and timeouts (system-wide, so comparable across processes),
 * and wall-clock epoch milliseconds for what HubSpot and LMDB record.
 */
#ifndef HUBSYNC_CLOCK_H
#define HUBSYNC_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline int64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
