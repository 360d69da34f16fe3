/*
 * progress — the run's progress line as a pure function of what the run
 * measured: the phase it is in (objects still being listed, parents being
 * merged), counts against totals once a total is known, rates over the
 * last seconds, and an ETA. report.c gathers the figures and draws the
 * line; nothing here reads the clock or the store, so the unit tests can
 * drive every phase.
 */
#ifndef HUBSYNC_PROGRESS_H
#define HUBSYNC_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A count sampled over time, for a rate over the latest seconds (the
 * rate since the start would still count a slow start minutes later). */
enum { PROGRESS_SAMPLES = 64 };
typedef struct progress_meter {
    double pm_t[PROGRESS_SAMPLES]; /* seconds since the run began */
    uint64_t pm_v[PROGRESS_SAMPLES];
    unsigned pm_n;    /* samples held (at most PROGRESS_SAMPLES) */
    unsigned pm_next; /* where the next one goes */
} progress_meter;

/* Adds a sample: `v` at `t` seconds (t not decreasing). */
void progress_meter_add(progress_meter *m, double t, uint64_t v);

/* Units per second between the oldest sample at most `span_s` before the
 * latest one and the latest one; negative while the samples cover less
 * than two seconds (too little to say: a run's first second is mostly
 * waiting for its first answers, and an ETA from it reads hours). */
double progress_meter_rate(const progress_meter *m, double span_s);

/* What one line shows. */
typedef struct progress_view {
    double pv_seconds;      /* since the run began */
    uint64_t pv_calls;      /* API calls so far */
    uint64_t pv_merged;     /* parents merged this run */
    uint64_t pv_total;      /* parents the run merges, when known */
    bool pv_total_known;    /* false while a list still decides how many */
    double pv_merge_rate;   /* parents a second lately (negative: not known) */
    bool pv_listing;        /* an object list is running */
    uint64_t pv_listed;     /* objects in the mirror of the types being listed */
    uint64_t pv_list_total; /* how many the lists will hold (0: not known yet) */
    double pv_list_rate;    /* objects listed a second lately (negative: not known) */
    bool pv_final;          /* the last line of the run: no ETA */
} progress_view;

/* Seconds left as "ETA 42s", "ETA 3m05s" or "ETA 2h07m" into buf; "" when
 * the rate says nothing (not positive) or nothing is left. */
void progress_eta(uint64_t left, double rate, char *buf, size_t size);

/* The line (no carriage return, no newline) into buf, always
 * NUL-terminated: "[####......] 1200/4000 parents (310/s, ETA 9s)  ..."
 * while merging, "listing 12000/20000 objects (2100/s, ETA 4s)" first
 * while a list runs. A count is never shown above its total. Returns the
 * line's length. */
size_t progress_format(const progress_view *v, char *buf, size_t size);

#endif
