/*
 * skew — how far HubSpot's clock may be from this machine's, learned from
 * the Date header of its answers, in shared memory, fed by every process.
 *
 * Why: a change window ends at this machine's `now − lag` and the next one
 * starts exactly there, but HubSpot stamps writes by its own clock. A
 * machine whose clock runs ahead of HubSpot's by more than the lag
 * allowance ends a window in HubSpot's future, and writes stamped between
 * HubSpot's now and that end are never searched again: lost. The cursors a
 * run stores are held back by the bound this keeps (skew_hold_back_ms).
 *
 * Date has a resolution of one second and is made while the request is at
 * HubSpot, some time between its send and its answer (this machine's
 * clock). So an answer sent at s, received at r, dated D (seconds) says
 *     D·1000 − r  <  HubSpot's clock − this machine's  <  D·1000 + 1000 − s
 * and the bounds kept are the tightest over every answer: the largest
 * lower and the smallest upper. Each is one atomic word, updated by
 * compare-and-swap, so processes never lose a tighter bound to each other.
 */
#ifndef HUBSYNC_SKEW_H
#define HUBSYNC_SKEW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct skew_est {
    _Atomic int64_t sk_low_ms;  /* HubSpot's clock minus ours is above this … */
    _Atomic int64_t sk_high_ms; /* … and below this */
    _Atomic uint64_t sk_samples;
} skew_est;

/* Forgets every sample. Call before fork. */
void skew_init(skew_est *k);

/* One answer, dated date_s (epoch seconds, HubSpot's Date header), sent at
 * sent_ms and received at received_ms (epoch ms, this machine's clock). */
void skew_sample(skew_est *k, int64_t date_s, int64_t sent_ms, int64_t received_ms);

/* The bounds so far (ms); false, and nothing written, before any answer. */
bool skew_bounds(skew_est *k, int64_t *low_ms, int64_t *high_ms);

/* Date's resolution: the slack of every bound. */
enum { SKEW_DATE_RESOLUTION_MS = 1000 };

/* How far a cursor stamped by this machine's clock is to be held back: how
 * far ahead of HubSpot's this clock is shown to run (the lower bound), less
 * Date's resolution, which the lag allowance covers as it covers index lag
 * (so a clock that is right holds nothing back). 0 before any answer. */
int64_t skew_hold_back_ms(skew_est *k);

#endif
