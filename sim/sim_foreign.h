/*
 * sim_foreign — when the "foreign load" calls: another app of the same
 * portal spending part of its burst budget (--foreign-load N/Ws).
 *
 * A client sharing a portal never has the whole burst window to itself, and
 * HubSpot's Remaining header and 429s count the other app's calls too. The
 * simulator models that app as N requests per W, evenly spaced in time; this
 * module is only the schedule (monotonic nanoseconds), so it is testable
 * without a clock. The server's foreign thread sleeps until sim_foreign_next,
 * then admits sim_foreign_due requests against the real limits. Not
 * thread-safe: the server guards it with a mutex.
 */
#ifndef HUBSYNC_SIM_FOREIGN_H
#define HUBSYNC_SIM_FOREIGN_H

#include <stdint.h>

typedef struct sim_foreign {
    uint32_t fl_count;      /* requests per window; 0: off */
    int64_t fl_interval_ns; /* between two arrivals */
    int64_t fl_next_ns;     /* the next arrival */
} sim_foreign;

/* Starts a schedule of `count` requests per `window_ms`, the first arriving
 * at now_ns (count 0: off). The interval is the window over the count,
 * rounded up, so no window of window_ms ever holds more than `count`. */
void sim_foreign_set(sim_foreign *f, uint32_t count, int64_t window_ms, int64_t now_ns);

/* When the next arrival is due; INT64_MAX when off. */
int64_t sim_foreign_next(const sim_foreign *f);

/* The arrivals due at or before now_ns, and moves the schedule past them.
 * A schedule that fell more than a window behind (a stopped process) drops
 * the excess: it returns at most `count`. */
uint32_t sim_foreign_due(sim_foreign *f, int64_t now_ns);

#endif
