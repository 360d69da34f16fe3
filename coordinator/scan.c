/*
 * scan — the full scan (see run_ctx.h): the coordinator plans batches of up
 * to 1,000 parent IDs from LMDB in ID order, workers fetch each parent's
 * complete set, and the table's cursor moves to the highest parent ID below
 * which every batch is merged, in the transaction that merges it. Batches
 * merged out of order are recorded as done ranges, so a killed run's rerun
 * skips them instead of fetching them again.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/base/clock.h"
#include "../common/base/log.h"
#include "run_ctx.h"

void scan_begin(run_ctx *rc, table_run *tr)
{
    const store_cursor *c = &tr->tr_state.ss_cursor;
    tr->tr_scanning = true;
    if (tr->tr_route == STORE_ROUTE_FULL_RESUME) {
        tr->tr_plan_from = c->cu_kind == STORE_CURSOR_OBJECT_ID ? c->cu_object_id + 1 : 0;
        tr->tr_npending = tr->tr_state.ss_ndone;
        memcpy(tr->tr_pending, tr->tr_state.ss_done, tr->tr_npending * sizeof(store_id_range));
        if (tr->tr_npending)
            log_info("%s: %u ranges merged by an earlier run are skipped", tr->tr_name,
                     tr->tr_npending);
    } else {
        tr->tr_state.ss_ndone = 0;
        tr->tr_plan_from = 0;
        tr->tr_state.ss_scan_started_ms = rc->rc_started_ms;
    }
}

/* Adds a job to the table's order; returns its sequence number. */
static uint64_t ring_push(table_run *tr, uint64_t first, uint64_t last, bool merged, int job)
{
    uint64_t seq = tr->tr_seq_next++;
    tr->tr_ring[seq % RUN_RING] = (ring_entry){first, last, merged, job};
    return seq;
}

/* Plans one batch of the table: the next (up to) 1,000 parents that no
 * earlier run merged, in ID order. The batch's ID range spans the merged
 * ranges it passes, so they count as done with it. Returns false when
 * nothing more can be planned now. */
static bool plan_batch(run_ctx *rc, table_run *tr, int index, uint64_t limit)
{
    static store_object objs[JOB_MAX_PARENTS];
    static job_assoc_scan js;
    js.js_table = (uint16_t)index;
    js.js_count = 0;
    js.js_reserved = 0;
    uint64_t first = tr->tr_plan_from, next = tr->tr_plan_from, last = 0;
    bool end = false, seen = false;
    const int batch = rc->rc_cfg->c_batch_parents;
    while (js.js_count < batch && !end) {
        size_t want = (size_t)(batch - js.js_count), n = 0;
        err_info e = {0};
        store_txn *txn = run_txn(rc);
        if (!txn)
            return false;
        if (store_objects_from(txn, tr->tr_table.t_parent, next, objs, want, &n, &e)) {
            run_store_fail(rc, &e);
            return false;
        }
        /* While the list is still coming, only whole batches below what
         * every chain has listed: the rest waits for the list. */
        if (!tr->tr_objects_ready) {
            while (n > 0 && objs[n - 1].ob_id >= limit)
                n--;
            if (n < want)
                return false;
        }
        end = n < want;
        for (size_t k = 0; k < n; k++) {
            uint64_t id = objs[k].ob_id;
            while (tr->tr_pending_next < tr->tr_npending &&
                   tr->tr_pending[tr->tr_pending_next].ir_last < id)
                tr->tr_pending_next++;
            bool done = tr->tr_pending_next < tr->tr_npending &&
                        tr->tr_pending[tr->tr_pending_next].ir_first <= id;
            if (!done && !objs[k].ob_archived)
                js.js_parent_ids[js.js_count++] = id;
            last = id;
            seen = true;
        }
        if (n > 0) {
            if (last == UINT64_MAX)
                end = true;
            next = last + 1;
        }
    }
    if (!seen) {
        tr->tr_planned_all = true;
        scan_advance(rc, tr);
        return false;
    }
    if (js.js_count == 0) {
        /* Everything here was merged by an earlier run. */
        ring_push(tr, first, last, true, -1);
    } else {
        uint64_t seq = tr->tr_seq_next;
        int job = run_publish(rc, JOB_ASSOC_SCAN, ROLE_SCAN, &js, job_assoc_scan_size(js.js_count),
                              index, seq, 0);
        if (job < 0)
            return false; /* the queue is full: plan this batch later */
        ring_push(tr, first, last, false, job);
    }
    tr->tr_plan_from = next;
    if (end) {
        tr->tr_planned_all = true;
        scan_advance(rc, tr);
        return false;
    }
    return true;
}

/* How far a table's scan may plan: everywhere once its parent type's
 * object sync is merged; while a first list (and nothing else) fills the
 * objects, up to what every chain has listed, so the scan runs behind the
 * list instead of after it; 0 otherwise. */
static uint64_t plan_limit(const run_ctx *rc, const table_run *tr)
{
    const object_sync *os = &rc->rc_objects[tr->tr_table.t_parent];
    if (tr->tr_objects_ready)
        return UINT64_MAX;
    if (os->os_listing && !os->os_searching)
        return listing_watermark(os);
    return 0;
}

void scan_plan(run_ctx *rc)
{
    for (int i = 0; i < rc->rc_ntables && rc->rc_inflight_jobs < rc->rc_max_inflight_jobs; i++) {
        table_run *tr = &rc->rc_tables[i];
        uint64_t limit = tr->tr_scanning && !tr->tr_planned_all ? plan_limit(rc, tr) : 0;
        if (limit == 0)
            continue;
        while (rc->rc_inflight_jobs < rc->rc_max_inflight_jobs &&
               tr->tr_seq_next - tr->tr_seq_head < RUN_RING - 1 && !tr->tr_planned_all &&
               !rc->rc_store_failed && plan_batch(rc, tr, i, limit))
            ;
    }
}

/* The ranges merged above the cursor: jobs merged out of order, then the
 * ranges of an earlier run the planner has not reached (coalesced). */
static void add_done(store_state *st, uint64_t first, uint64_t last)
{
    store_id_range *prev = st->ss_ndone ? &st->ss_done[st->ss_ndone - 1] : NULL;
    if (prev && prev->ir_last != UINT64_MAX && prev->ir_last + 1 == first)
        prev->ir_last = last; /* contiguous: one range */
    else if (st->ss_ndone < STORE_DONE_RANGES_MAX)
        st->ss_done[st->ss_ndone++] = (store_id_range){first, last};
}

static int by_first(const void *a, const void *b)
{
    uint64_t x = ((const store_id_range *)a)->ir_first, y = ((const store_id_range *)b)->ir_first;
    return (x > y) - (x < y);
}

/* A batch not (fully) merged: the runs of its merged parents, and the
 * ranges an earlier run merged inside its span (their parents were left
 * out of it), in ID order. What lies between its parents holds none to
 * read, but is not recorded: record IDs are far apart, and a range per gap
 * would fill the record with one batch in flight and drop what is merged
 * beyond it. */
static void add_partial(const table_run *tr, store_state *st, const ring_entry *re,
                        const planned_job *pj)
{
    static store_id_range r[JOB_MAX_PARENTS + STORE_DONE_RANGES_MAX];
    size_t n = 0;
    const job_assoc_scan *js = (const job_assoc_scan *)pj->pj_payload;
    int run = -1; /* the first merged parent of the current run */
    for (int i = 0; i <= js->js_count; i++) {
        bool merged = i < js->js_count && pj->pj_merged[i];
        if (merged && run < 0)
            run = i;
        if (!merged && run >= 0) {
            r[n++] = (store_id_range){js->js_parent_ids[run], js->js_parent_ids[i - 1]};
            run = -1;
        }
    }
    for (uint32_t k = 0; k < tr->tr_npending; k++) {
        store_id_range p = tr->tr_pending[k];
        if (p.ir_last >= re->re_first_id && p.ir_first <= re->re_last_id)
            r[n++] = (store_id_range){p.ir_first > re->re_first_id ? p.ir_first : re->re_first_id,
                                      p.ir_last < re->re_last_id ? p.ir_last : re->re_last_id};
    }
    qsort(r, n, sizeof(r[0]), by_first);
    for (size_t i = 0; i < n; i++) {
        store_id_range cur = r[i]; /* joined with those it overlaps or touches */
        for (; i + 1 < n && cur.ir_last != UINT64_MAX && r[i + 1].ir_first <= cur.ir_last + 1; i++)
            if (r[i + 1].ir_last > cur.ir_last)
                cur.ir_last = r[i + 1].ir_last;
        add_done(st, cur.ir_first, cur.ir_last);
    }
}

static void collect_done_ranges(run_ctx *rc, table_run *tr)
{
    store_state *st = &tr->tr_state;
    st->ss_ndone = 0;
    for (uint64_t q = tr->tr_seq_head; q < tr->tr_seq_next; q++) {
        const ring_entry *re = &tr->tr_ring[q % RUN_RING];
        if (re->re_merged) {
            add_done(st, re->re_first_id, re->re_last_id);
            continue;
        }
        const planned_job *pj = re->re_job >= 0 ? &rc->rc_jobs[re->re_job] : NULL;
        if (pj && pj->pj_used)
            add_partial(tr, st, re, pj);
    }
    /* What the planner has not reached yet (a range it is inside of is
     * cut where planning stopped). */
    for (uint32_t k = tr->tr_pending_next; k < tr->tr_npending; k++) {
        store_id_range r = tr->tr_pending[k];
        if (r.ir_last < tr->tr_plan_from)
            continue;
        add_done(st, r.ir_first > tr->tr_plan_from ? r.ir_first : tr->tr_plan_from, r.ir_last);
    }
}

void scan_advance(run_ctx *rc, table_run *tr)
{
    while (tr->tr_seq_head < tr->tr_seq_next && tr->tr_ring[tr->tr_seq_head % RUN_RING].re_merged) {
        tr->tr_state.ss_cursor =
            store_cursor_object_id(tr->tr_ring[tr->tr_seq_head % RUN_RING].re_last_id);
        tr->tr_seq_head++;
    }
    collect_done_ranges(rc, tr);
    if (tr->tr_planned_all && tr->tr_seq_head == tr->tr_seq_next && !tr->tr_done) {
        /* The scan is complete: from now on changes are caught from the
         * scan's START (minus the lag allowance), not its end: what changed
         * while it ran is not lost. */
        int64_t from = tr->tr_state.ss_scan_started_ms - rc->rc_cfg->c_lag_ms;
        if (rc->rc_cfg->c_reference)
            from = clock_wall_ms(); /* the reference design's: its completion time */
        tr->tr_state.ss_cursor = store_cursor_timestamp_ms(from > 0 ? from : 0);
        tr->tr_state.ss_scan_origin_ms = tr->tr_state.ss_scan_started_ms;
        tr->tr_state.ss_scan_started_ms = 0;
        /* Every parent was read again: a verification cycle too. */
        tr->tr_state.ss_verify_next_id = 0;
        tr->tr_state.ss_verify_cycles++;
        tr->tr_state.ss_verify_cycle_ended_ms = clock_wall_ms();
        tr->tr_state.ss_ndone = 0;
        tr->tr_state.ss_last_run.sr_completed = true;
        tr->tr_done = true;
        log_fields f = run_table_fields(rc, tr, "table_done");
        log_event(LOG_INFO, &f, "%s: full scan complete (%llu parents)", tr->tr_name,
                  (unsigned long long)tr->tr_state.ss_last_run.sr_parents);
    }
    run_put_table_state(rc, tr);
}

ring_entry *scan_ring_of(run_ctx *rc, const planned_job *pj)
{
    if (pj->pj_role != ROLE_SCAN)
        return NULL;
    return &rc->rc_tables[pj->pj_table].tr_ring[pj->pj_seq % RUN_RING];
}

void scan_job_merged(run_ctx *rc, planned_job *pj)
{
    ring_entry *re = scan_ring_of(rc, pj);
    re->re_merged = true;
    re->re_job = -1;
    scan_advance(rc, &rc->rc_tables[pj->pj_table]);
}
