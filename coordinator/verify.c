/*
 * verify — verification that repairs drift (see run_ctx.h).
 *
 * The incremental route sees a parent only when HubSpot moves its
 * last-modified time, and HubSpot moves it only when a rollup VALUE changes,
 * late, and not always: a relabel under a plain count, a dissociate and an
 * associate inside one recomputation, or a missed bump change associations
 * without a trace in search. So every run also re-reads a slice of each
 * incremental table's parents, in ID order, from where the last run's slice
 * ended, and merges them like a full scan: --verify-fraction F of the
 * parents a run, the whole table every 1/F runs. What those merges change
 * is drift, counted apart from the route's own changes.
 *
 * Verification waits for the table's change search (so the parents the
 * search found are the route's, never counted as drift), then takes what
 * the route leaves of the queue: it never plans while a batch of changed
 * parents waits, and keeps at most VERIFY_MAX_INFLIGHT batches out per
 * table. Its position moves, in the transaction of the merge, past the
 * batches merged in order; a killed run re-reads at most those in flight.
 */
#include <math.h>
#include <string.h>

#include "../common/base/clock.h"
#include "../common/base/log.h"
#include "run_ctx.h"

void verify_begin(run_ctx *rc, table_run *tr)
{
    uint64_t parents = 0;
    err_info e = {0};
    store_txn *txn = run_txn(rc);
    double f = rc->rc_cfg->c_verify_fraction;
    if (f <= 0 || !txn)
        return;
    if (store_count_objects(txn, tr->tr_table.t_parent, &parents, &e)) {
        run_store_fail(rc, &e);
        return;
    }
    uint64_t quota = (uint64_t)ceil(f * (double)parents);
    tr->tr_verify_quota = quota < parents ? quota : parents;
    tr->tr_verify_from = tr->tr_state.ss_verify_next_id;
    tr->tr_verifying = tr->tr_verify_quota > 0;
}

/* Records a batch planned (or, with nothing to read, merged already). */
static void push_batch(table_run *tr, uint64_t first, uint64_t last, bool wraps, bool merged)
{
    tr->tr_vq[tr->tr_vq_len++] = (verify_batch){tr->tr_vq_seq++, first, last, wraps, merged};
}

/* Moves the stored position past the batches merged in order. */
static void advance(run_ctx *rc, table_run *tr)
{
    store_state *st = &tr->tr_state;
    int popped = 0;
    while (popped < tr->tr_vq_len && tr->tr_vq[popped].vb_merged) {
        const verify_batch *vb = &tr->tr_vq[popped++];
        if (vb->vb_wraps) {
            st->ss_verify_next_id = 0;
            st->ss_verify_cycles++;
            st->ss_verify_cycle_ended_ms = clock_wall_ms();
            log_info("%s: verification completed a cycle over the table (%llu so far)", tr->tr_name,
                     (unsigned long long)st->ss_verify_cycles);
        } else {
            st->ss_verify_next_id = vb->vb_last + 1;
        }
    }
    if (popped == 0)
        return;
    memmove(tr->tr_vq, tr->tr_vq + popped, (size_t)(tr->tr_vq_len - popped) * sizeof(verify_batch));
    tr->tr_vq_len -= popped;
    tr->tr_verifying = tr->tr_verify_quota > 0 || tr->tr_vq_len > 0;
    run_put_table_state(rc, tr);
}

/* Plans one batch: the next parents from tr_verify_from, the parents this
 * run's search found left out (the route reads them). Returns false when
 * nothing more can be planned now. */
static bool plan_batch(run_ctx *rc, table_run *tr, int index)
{
    static store_object objs[JOB_MAX_PARENTS + 1];
    static job_assoc_scan js;
    uint64_t batch = (uint64_t)rc->rc_cfg->c_batch_parents;
    size_t want = (size_t)(tr->tr_verify_quota < batch ? tr->tr_verify_quota : batch), n = 0;
    err_info e = {0};
    store_txn *txn = run_txn(rc);
    if (!txn)
        return false;
    /* One more than wanted: a batch that ends the table completes the
     * cycle now, not at the next run's first (empty) batch. */
    if (store_objects_from(txn, tr->tr_table.t_parent, tr->tr_verify_from, objs, want + 1, &n,
                           &e)) {
        run_store_fail(rc, &e);
        return false;
    }
    bool wraps = n <= want;
    if (n > want)
        n = want;
    uint64_t first = tr->tr_verify_from, last = n ? objs[n - 1].ob_id : UINT64_MAX;
    wraps = wraps || last == UINT64_MAX;
    if (n == 0 && first == 0) { /* no parents at all */
        tr->tr_verify_quota = 0;
        tr->tr_verifying = tr->tr_vq_len > 0;
        return false;
    }
    js.js_table = (uint16_t)index;
    js.js_count = 0;
    js.js_reserved = 0;
    for (size_t k = 0; k < n; k++)
        if (!objs[k].ob_archived && !idset_has(&tr->tr_seen, objs[k].ob_id))
            js.js_parent_ids[js.js_count++] = objs[k].ob_id;
    if (js.js_count > 0 &&
        run_publish(rc, JOB_ASSOC_SCAN, ROLE_VERIFY, &js, job_assoc_scan_size(js.js_count), index,
                    tr->tr_vq_seq, 0) < 0)
        return false; /* the queue is full: later */
    push_batch(tr, first, wraps ? UINT64_MAX : last, wraps, js.js_count == 0);
    tr->tr_verify_quota -= n;
    tr->tr_verify_from = wraps ? 0 : last + 1;
    if (js.js_count == 0)
        advance(rc, tr);
    return true;
}

void verify_plan(run_ctx *rc)
{
    size_t batch = (size_t)rc->rc_cfg->c_batch_parents;
    for (int i = 0; i < rc->rc_ntables; i++) {
        table_run *tr = &rc->rc_tables[i];
        if (!tr->tr_verifying || !rc->rc_objects[tr->tr_table.t_parent].os_done)
            continue;
        while (tr->tr_verify_quota > 0 && tr->tr_vq_len < VERIFY_MAX_INFLIGHT &&
               tr->tr_nchanged < batch && rc->rc_inflight_jobs < rc->rc_max_inflight_jobs &&
               !rc->rc_store_failed && plan_batch(rc, tr, i))
            ;
    }
}

void verify_job_merged(run_ctx *rc, planned_job *pj)
{
    table_run *tr = &rc->rc_tables[pj->pj_table];
    for (int k = 0; k < tr->tr_vq_len; k++)
        if (tr->tr_vq[k].vb_seq == pj->pj_seq)
            tr->tr_vq[k].vb_merged = true;
    advance(rc, tr);
}
