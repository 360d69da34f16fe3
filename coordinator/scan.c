/*
 * scan — the full scan (see run_ctx.h): the coordinator plans batches of up
 * to 1,000 parent IDs from LMDB, workers fetch each parent's complete set,
 * and the table's cursor moves to the highest parent ID below which every
 * batch is merged, in the transaction that merges it.
 *
 * A batch takes the lowest parents that are listed and not planned yet,
 * from as many stretches of IDs as they lie in (scanmap.h). Behind a first
 * list that comes in chains, that is what lies below the lowest ID still
 * to list while the budget is busy (in ID order, so sets are appended to
 * the store), and every stretch the chains have listed while the budget
 * has a slot free: a chain that stalls then holds back no scan but its own
 * range's. What is merged above the cursor is recorded as done ranges, so
 * a killed run's rerun skips it instead of fetching it again.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/base/clock.h"
#include "../common/base/log.h"
#include "../common/ipc/rl.h"
#include "run_ctx.h"

/* The most stretches one batch gathers parents from: beyond, it goes as it
 * is (a list in LIST_CHAINS_MAX chains leaves as many stretches listed). */
enum { BATCH_SPANS_MAX = LIST_CHAINS_MAX + 1 };

void scan_begin(run_ctx *rc, table_run *tr)
{
    const store_cursor *c = &tr->tr_state.ss_cursor;
    tr->tr_scanning = true;
    tr->tr_short_at = UINT64_MAX;
    if (tr->tr_route == STORE_ROUTE_FULL_RESUME) {
        uint64_t base = c->cu_kind == STORE_CURSOR_OBJECT_ID ? c->cu_object_id + 1 : 0;
        scan_map_init(&tr->tr_map, base);
        uint32_t skipped = 0;
        for (uint32_t i = 0; i < tr->tr_state.ss_ndone; i++) {
            store_id_range r = tr->tr_state.ss_done[i];
            if (r.ir_last < base)
                continue;
            uint64_t first = r.ir_first > base ? r.ir_first : base, lo, hi;
            /* Stored ranges are disjoint and sorted (store.c checks); one
             * that is not is taken as far as it is free. */
            if (!scan_map_free_from(&tr->tr_map, first, &lo, &hi) || lo > r.ir_last)
                continue;
            if (scan_map_add(&tr->tr_map, lo, hi < r.ir_last ? hi : r.ir_last, SCAN_SPAN_MERGED) <
                0)
                break; /* only read again */
            skipped++;
        }
        if (skipped)
            log_info("%s: %u ranges merged by an earlier run are skipped", tr->tr_name, skipped);
    } else {
        scan_map_init(&tr->tr_map, 0);
        tr->tr_state.ss_ndone = 0;
        tr->tr_state.ss_scan_started_ms = rc->rc_started_ms;
    }
}

/* The lowest range at or above `from` that is neither planned nor still to
 * be listed: everywhere once the parent type's object sync is merged;
 * while a first list (and nothing else) fills the objects, what its chains
 * have listed, below `ahead` (*held is then set when a listed stretch lies
 * above it); nothing otherwise. */
static bool next_stretch(const run_ctx *rc, const table_run *tr, uint64_t from, uint64_t ahead,
                         bool *held, uint64_t *first, uint64_t *last)
{
    const object_sync *os = &rc->rc_objects[tr->tr_table.t_parent];
    for (;;) {
        uint64_t lo, hi, l_lo = 0, l_hi = UINT64_MAX;
        if (!scan_map_free_from(&tr->tr_map, from, &lo, &hi))
            return false;
        if (!tr->tr_objects_ready &&
            (!os->os_listing || os->os_searching || !listing_listed_from(os, lo, &l_lo, &l_hi)))
            return false;
        if (l_lo > hi) { /* free, but not listed yet: the next free range */
            from = l_lo;
            continue;
        }
        *first = l_lo > lo ? l_lo : lo;
        *last = l_hi < hi ? l_hi : hi;
        if (*first >= ahead) {
            *held = true;
            return false;
        }
        return true;
    }
}

/* Whether the burst budget has a slot free now, which nothing else would
 * take (always, unpaced). */
static bool burst_slot_free(const run_ctx *rc)
{
    budget *burst = &rc->rc_shm->sr_burst;
    return !budget_pace(burst, NULL) || rl_idle(&burst->bu_rl, clock_mono_ns());
}

/* Where a scan behind a first list must stop while the burst budget is
 * busy: the lowest ID a chain has still to list. Batches planned beyond it
 * are merged out of ID order, and sets merged out of order go into the
 * middle of LMDB's trees, splitting pages half full, where sets merged in
 * order are appended to full ones (a first run's database grew by a sixth
 * on the `run` portal, its mapped pages by 70 MiB on the 1m portal at 3 s).
 * So the scan goes ahead of the list only while the budget has a slot free
 * now, which nothing else would take: at a high latency, or while a chain
 * stalls. UINT64_MAX: no bound. */
static uint64_t ahead_bound(const run_ctx *rc, const table_run *tr)
{
    if (tr->tr_objects_ready || burst_slot_free(rc))
        return UINT64_MAX;
    return listing_watermark(&rc->rc_objects[tr->tr_table.t_parent]);
}

/* A batch being gathered: its parents, and the stretches they come from. */
typedef struct batch {
    job_assoc_scan *b_job;
    scan_span b_spans[BATCH_SPANS_MAX];
    int b_nspans;
    bool b_top; /* a stretch reached the end of the ID space */
} batch;

/* Takes the live parents of [first, last] into the batch until it is full;
 * the stretch it covers goes into b_spans. Returns 0, or -1 when the store
 * failed. */
static int gather(run_ctx *rc, table_run *tr, batch *b, uint64_t first, uint64_t last)
{
    static store_object objs[JOB_MAX_PARENTS];
    job_assoc_scan *js = b->b_job;
    const int want_all = rc->rc_cfg->c_batch_parents;
    uint64_t next = first, covered = last;
    while (js->js_count < want_all) {
        size_t want = (size_t)(want_all - js->js_count), n = 0, k;
        err_info e = {0};
        store_txn *txn = run_txn(rc);
        if (!txn)
            return -1;
        if (store_objects_from(txn, tr->tr_table.t_parent, next, objs, want, &n, &e)) {
            run_store_fail(rc, &e);
            return -1;
        }
        for (k = 0; k < n && objs[k].ob_id <= last; k++)
            if (!objs[k].ob_archived)
                js->js_parent_ids[js->js_count++] = objs[k].ob_id;
        if (k < n || n < want) {
            covered = last; /* the stretch is all taken */
            break;
        }
        covered = objs[n - 1].ob_id; /* full, or archived parents left room */
        if (covered == last)
            break;
        next = covered + 1;
    }
    b->b_spans[b->b_nspans++] = (scan_span){first, covered, 0};
    b->b_top = covered == UINT64_MAX;
    return 0;
}

/* Plans one batch: the lowest parents that are listed, not planned and not
 * merged by an earlier run. While the list is still coming, only a whole
 * batch goes. Returns false when nothing more can be planned now. */
static bool plan_batch(run_ctx *rc, table_run *tr, int index)
{
    static job_assoc_scan js;
    static batch b;
    js = (job_assoc_scan){.js_table = (uint16_t)index};
    b.b_job = &js;
    b.b_nspans = 0;
    b.b_top = false;
    uint64_t from = 0, first, last, ahead = ahead_bound(rc, tr);
    bool held = false;
    while (js.js_count < rc->rc_cfg->c_batch_parents && b.b_nspans < BATCH_SPANS_MAX && !b.b_top &&
           next_stretch(rc, tr, from, ahead, &held, &first, &last)) {
        if (gather(rc, tr, &b, first, last) < 0)
            return false;
        from = b.b_spans[b.b_nspans - 1].sp_last + 1;
    }
    if (b.b_nspans == 0) {
        if (tr->tr_objects_ready) {
            tr->tr_planned_all = true;
            scan_advance(rc, tr);
        }
        return false;
    }
    if (!tr->tr_objects_ready && js.js_count < rc->rc_cfg->c_batch_parents &&
        b.b_nspans < BATCH_SPANS_MAX) {
        /* Not a batch's worth listed: wait for more of the list (or, if
         * it is listed ahead, for a slot free). */
        if (!held)
            tr->tr_short_at = rc->rc_objects[tr->tr_table.t_parent].os_listed_gen;
        return false;
    }
    int job = SCAN_SPAN_MERGED; /* nothing to read: merged as it is */
    if (js.js_count > 0) {
        job = run_publish(rc, JOB_ASSOC_SCAN, ROLE_SCAN, &js, job_assoc_scan_size(js.js_count),
                          index, tr->tr_batches, 0);
        if (job < 0)
            return false; /* the queue is full: plan this batch later */
        tr->tr_batches++;
    }
    for (int i = 0; i < b.b_nspans; i++)
        if (scan_map_add(&tr->tr_map, b.b_spans[i].sp_first, b.b_spans[i].sp_last, job) < 0) {
            run_fatal(rc, EXIT_INCOMPLETE, "out of memory planning %s", tr->tr_name);
            return false;
        }
    if (job == SCAN_SPAN_MERGED)
        scan_advance(rc, tr);
    return true;
}

/* The most heavy parents a table keeps waiting for a batch of their own
 * (beyond, the hint is dropped: their stretches' batches read them). */
enum { HEAVY_WAITING_MAX = JOB_MAX_PARENTS };

void scan_note_heavy(table_run *tr, uint64_t id)
{
    if (!tr->tr_scanning || tr->tr_done || tr->tr_nheavy >= HEAVY_WAITING_MAX)
        return;
    /* Out of memory loses only a hint: its batch reads it all the same. */
    (void)ids_push(&tr->tr_heavy, &tr->tr_nheavy, &tr->tr_heavy_cap, 16, id);
}

/* Publishes the heavy parents a first list showed and no batch holds yet,
 * in a batch of their own, each parent a span of one ID: the scan map
 * then keeps them out of their stretches' batches, and the cursor and done
 * ranges count them as any batch's. Only while the burst budget has a slot
 * free (as the scans ahead of the list, and for the same reason: that
 * slot would idle, where a busy budget's goes to a whole batch); a heavy
 * parent's own batch costs its first call, its pages it would cost anyway.
 * Returns false when the queue is full. */
static bool plan_heavy(run_ctx *rc, table_run *tr, int index)
{
    if (tr->tr_nheavy == 0 || !burst_slot_free(rc))
        return true;
    static job_assoc_scan js;
    js = (job_assoc_scan){.js_table = (uint16_t)index};
    qsort(tr->tr_heavy, tr->tr_nheavy, sizeof(*tr->tr_heavy), cmp_u64);
    for (size_t i = 0; i < tr->tr_nheavy; i++) {
        uint64_t id = tr->tr_heavy[i], lo, hi;
        if ((i == 0 || id != tr->tr_heavy[i - 1]) &&
            scan_map_free_from(&tr->tr_map, id, &lo, &hi) && lo == id &&
            js.js_count < JOB_MAX_PARENTS)
            js.js_parent_ids[js.js_count++] = id;
    }
    tr->tr_nheavy = 0;
    if (js.js_count == 0)
        return true;
    int job = run_publish(rc, JOB_ASSOC_SCAN, ROLE_SCAN, &js, job_assoc_scan_size(js.js_count),
                          index, tr->tr_batches, 0);
    if (job < 0)
        return false;
    tr->tr_batches++;
    for (int i = 0; i < js.js_count; i++)
        if (scan_map_add(&tr->tr_map, js.js_parent_ids[i], js.js_parent_ids[i], job) < 0) {
            run_fatal(rc, EXIT_INCOMPLETE, "out of memory planning %s", tr->tr_name);
            return false;
        }
    tr->tr_heavy_ahead += js.js_count;
    log_debug("%s: %d heavy parents read ahead of their batches", tr->tr_name, js.js_count);
    return true;
}

void scan_plan(run_ctx *rc)
{
    for (int i = 0; i < rc->rc_ntables && rc->rc_inflight_jobs < rc->rc_max_inflight_jobs; i++) {
        table_run *tr = &rc->rc_tables[i];
        if (!tr->tr_scanning || tr->tr_planned_all || tr->tr_done)
            continue;
        if (!plan_heavy(rc, tr, i))
            continue;
        /* Too few listed last time, and the list has not moved since. */
        if (!tr->tr_objects_ready &&
            tr->tr_short_at == rc->rc_objects[tr->tr_table.t_parent].os_listed_gen)
            continue;
        while (rc->rc_inflight_jobs < rc->rc_max_inflight_jobs && !tr->tr_planned_all &&
               !rc->rc_store_failed && plan_batch(rc, tr, i))
            ;
    }
}

/* Adds a range merged above the cursor to the record, in ID order. */
static void add_done(store_state *st, uint64_t first, uint64_t last)
{
    store_id_range *prev = st->ss_ndone ? &st->ss_done[st->ss_ndone - 1] : NULL;
    if (prev && prev->ir_last != UINT64_MAX && prev->ir_last + 1 == first)
        prev->ir_last = last; /* contiguous: one range */
    else if (st->ss_ndone < STORE_DONE_RANGES_MAX)
        st->ss_done[st->ss_ndone++] = (store_id_range){first, last};
    /* else dropped: a rerun reads that range again, no more */
}

/* The parents of a batch's span merged so far, as runs of merged parents.
 * What lies between its parents holds none to read, but is not recorded:
 * record IDs are far apart, and a range per gap would fill the record with
 * one batch in flight and drop what is merged beyond it. */
static void add_partial(store_state *st, const scan_span *sp, const planned_job *pj)
{
    const job_assoc_scan *js = (const job_assoc_scan *)pj->pj_payload;
    int lo = 0, hi = js->js_count; /* the first parent in the span */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (js->js_parent_ids[mid] < sp->sp_first)
            lo = mid + 1;
        else
            hi = mid;
    }
    int run = -1; /* the first merged parent of the current run */
    for (int i = lo;; i++) {
        bool in = i < js->js_count && js->js_parent_ids[i] <= sp->sp_last;
        bool merged = in && pj->pj_merged[i];
        if (merged && run < 0)
            run = i;
        if (!merged && run >= 0) {
            add_done(st, js->js_parent_ids[run], js->js_parent_ids[i - 1]);
            run = -1;
        }
        if (!in)
            break;
    }
}

/* The done ranges: every merged span above the base, and the merged runs
 * of the batches in flight, in ID order. */
static void collect_done_ranges(run_ctx *rc, table_run *tr)
{
    store_state *st = &tr->tr_state;
    st->ss_ndone = 0;
    for (size_t i = 0; i < tr->tr_map.sm_n; i++) {
        const scan_span *sp = &tr->tr_map.sm_spans[i];
        if (sp->sp_job == SCAN_SPAN_MERGED) {
            add_done(st, sp->sp_first, sp->sp_last);
            continue;
        }
        /* (A batch given up for good leaves its spans to a slot another
         * job may take: only a scan batch's parents are read, and only
         * those inside the span count.) */
        const planned_job *pj = &rc->rc_jobs[sp->sp_job];
        if (pj->pj_used && pj->pj_role == ROLE_SCAN && pj->pj_nmerged > 0)
            add_partial(st, sp, pj);
    }
}

void scan_advance(run_ctx *rc, table_run *tr)
{
    const scan_map *m = &tr->tr_map;
    if (m->sm_base > 0 && !m->sm_top)
        tr->tr_state.ss_cursor = store_cursor_object_id(m->sm_base - 1);
    collect_done_ranges(rc, tr);
    if (m->sm_top && !tr->tr_done) {
        /* The scan is complete: from now on changes are caught from the
         * scan's START (minus the lag allowance), not its end: what changed
         * while it ran is not lost. */
        int64_t from = run_cursor_ms(rc, tr->tr_state.ss_scan_started_ms - rc->rc_cfg->c_lag_ms);
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
        log_event(LOG_INFO, &f, "%s: full scan complete (%llu parents, %llu heavy ones read ahead)",
                  tr->tr_name, (unsigned long long)tr->tr_state.ss_last_run.sr_parents,
                  (unsigned long long)tr->tr_heavy_ahead);
    }
    run_put_table_state(rc, tr);
}

void scan_job_moved(run_ctx *rc, job_role role, int table, int from, int to)
{
    if (role == ROLE_SCAN)
        scan_map_job_moved(&rc->rc_tables[table].tr_map, from, to);
}

void scan_job_merged(run_ctx *rc, planned_job *pj)
{
    table_run *tr = &rc->rc_tables[pj->pj_table];
    scan_map_job_merged(&tr->tr_map, (int)(pj - rc->rc_jobs));
    scan_advance(rc, tr);
}

void scan_free(run_ctx *rc)
{
    for (int t = 0; t < rc->rc_ntables; t++) {
        table_run *tr = &rc->rc_tables[t];
        scan_map_free(&tr->tr_map);
        free(tr->tr_heavy);
        tr->tr_heavy = NULL;
        tr->tr_nheavy = tr->tr_heavy_cap = 0;
    }
}
