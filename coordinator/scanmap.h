/*
 * scanmap — which parent IDs of a full scan are planned, and which of those
 * are merged.
 *
 * A scan plans batches of parents wherever they are listed and not planned
 * yet, so its batches are not in ID order: while a first list comes in
 * chains, each chain's listed stretch is planned as soon as there is a
 * batch's worth anywhere, and a stalled chain holds back only its own
 * range. The map keeps the ID ranges ("spans") planned above the scan's
 * base, disjoint and in ID order, each either merged or held by one batch
 * in flight (a batch gathering parents from several stretches holds a span
 * in each). The base is the first ID not known to be merged: it moves up
 * over merged spans that start at it, and the table's cursor is the ID
 * below it. Merged spans above the base are the scan's done ranges.
 */
#ifndef HUBSYNC_SCANMAP_H
#define HUBSYNC_SCANMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SCAN_SPAN_MERGED = -1 };

typedef struct scan_span {
    uint64_t sp_first, sp_last; /* inclusive */
    int sp_job;                 /* the batch's job index, or SCAN_SPAN_MERGED */
} scan_span;

typedef struct scan_map {
    uint64_t sm_base; /* every ID below it is merged */
    bool sm_top;      /* every ID at all is merged (the base passed UINT64_MAX) */
    scan_span *sm_spans;
    size_t sm_n, sm_cap;
} scan_map;

/* An empty map whose IDs below `base` are merged. */
void scan_map_init(scan_map *m, uint64_t base);

/* Frees the spans (the map is empty afterwards). */
void scan_map_free(scan_map *m);

/* Plans [first, last] for `job` (SCAN_SPAN_MERGED: merged already). The
 * range must be free: at or above the base and in no span. A merged span
 * joins the merged spans it touches and may move the base. Returns 0, or
 * -1 when memory ran out (the map is unchanged). */
int scan_map_add(scan_map *m, uint64_t first, uint64_t last, int job);

/* The lowest free range at or above max(from, base): [*first, *last].
 * Returns false when none is left. */
bool scan_map_free_from(const scan_map *m, uint64_t from, uint64_t *first, uint64_t *last);

/* A batch's job moved to another index (it was published again). */
void scan_map_job_moved(scan_map *m, int from, int to);

/* Every span of `job` is merged: joined with its merged neighbours, and
 * the base moved up over the merged spans that start at it. */
void scan_map_job_merged(scan_map *m, int job);

#endif
