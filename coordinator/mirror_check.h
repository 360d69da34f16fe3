/*
 * mirror_check — what export and push both ask the store before reading
 * it: whether a table or object type was ever synced, and whether the change
 * feed still holds every change after a run. Each caller words its own
 * advice (export: take a snapshot with export; push: push --snapshot).
 */
#ifndef HUBSYNC_MIRROR_CHECK_H
#define HUBSYNC_MIRROR_CHECK_H

#include <stdint.h>

#include "../common/store/store.h"

/* A table or object type (its state name: "companies_contacts",
 * "objects.deals") that no run finished or began has nothing to read,
 * which is not the same as an empty one. Returns 0, ERR_NOT_FOUND with "NAME
 * was never synced: HINT" in e, or the store's error. */
int mirror_check_synced(store_txn *t, const char *name, const char *hint, err_info *e);

typedef enum feed_gap_kind {
    FEED_GAP_NONE,    /* every change after the run is kept */
    FEED_GAP_AHEAD,   /* the run is after the latest run */
    FEED_GAP_DROPPED, /* retention dropped changes after the run */
    FEED_GAP_BASE     /* a table was loaded from empty by a later run */
} feed_gap_kind;

typedef struct feed_gap {
    feed_gap_kind fg_kind;
    uint64_t fg_latest_run; /* the store's latest run */
    uint64_t fg_oldest_run; /* DROPPED: the first run kept */
    uint64_t fg_base_run;   /* BASE: the run that loaded fg_table */
    hs_table fg_table;      /* BASE: the table */
} feed_gap;

/* Whether the feed holds every change the runs after `after` made to
 * tables[0..n): fills *gap (FEED_GAP_NONE when it does). Returns 0 or the
 * store's error. */
int mirror_feed_gap(store_txn *t, uint64_t after, const hs_table *tables, int n, feed_gap *gap,
                    err_info *e);

#endif
