/*
 * refdesign — `run --reference-design`'s incremental route: the reference
 * design's algorithm as it is written, for the benchmark that compares it
 * with hubsync's own route (see run_ctx.h and docs/CLI.md).
 *
 * Per incremental table (not per parent type: two tables with one parent
 * each search), one search: last-modified GT the cursor, no upper bound,
 * oldest first, 100 a page, paged by offset while the answer says more
 * remain, one page at a time. Past the 10,000-result cap HubSpot answers
 * 400: the job fails as rejected, the run exits 1 and the cursor stays,
 * so the next run meets the same wall. When the search is over, the
 * changed parents are read in batches (changes_plan) and the cursor
 * becomes the newest last-modified time seen. What that loses is the
 * point of measuring it: a write stamped in that millisecond but indexed
 * after the search, or any write the index shows late with an older time.
 */
#include "../common/hubspot/hs_codec.h"
#include "../common/base/jbuf.h"
#include "../common/base/log.h"
#include "run_ctx.h"

/* Publishes the table's search page at `offset`. A refusal ends the run
 * (nothing moves the cursor), as changes.c does for its searches. */
static void publish_page(run_ctx *rc, int index, uint64_t offset)
{
    table_run *tr = &rc->rc_tables[index];
    job_search_slice q = {0};
    q.jq_object_type = (uint16_t)tr->tr_table.t_parent;
    q.jq_reference = 1;
    q.jq_lo_ms = tr->tr_since_ms;
    q.jq_after_id = offset;
    if (run_publish(rc, JOB_SEARCH_SLICE, ROLE_REF_SEARCH, &q, sizeof(q), index, 0, 0) < 0) {
        run_fatal(rc, EXIT_INCOMPLETE, "the job queue is full (%d jobs)", SHM_MAX_JOBS);
        tr->tr_ref_searching = false;
        return;
    }
    tr->tr_ref_searching = true;
    tr->tr_ref_pages++;
}

void refdesign_start(run_ctx *rc)
{
    for (int i = 0; i < rc->rc_ntables; i++) {
        table_run *tr = &rc->rc_tables[i];
        if (!tr->tr_incremental || tr->tr_done)
            continue;
        char from[32];
        fmt_iso8601_ms(from, tr->tr_since_ms);
        log_info("%s: reference design: searching %s modified after %s", tr->tr_name,
                 hs_object(tr->tr_table.t_parent)->oi_plural, from);
        publish_page(rc, i, 0);
    }
}

void refdesign_merge(run_ctx *rc, planned_job *pj, const wire_search_result *sr)
{
    const job_search_slice *q = (const job_search_slice *)pj->pj_payload;
    table_run *tr = &rc->rc_tables[pj->pj_table];
    for (size_t i = 0; i < sr->wsr_nhits; i++) {
        const wire_search_hit *h = &sr->wsr_hits[i];
        if (changes_add_parent(tr, h->wsh_id)) {
            err_info e = {0};
            err_set(&e, ERR_NOMEM, "out of memory taking changed parents");
            run_store_fail(rc, &e);
            return;
        }
        if (!tr->tr_ref_seen || h->wsh_lastmodified_ms > tr->tr_ref_newest_ms)
            tr->tr_ref_newest_ms = h->wsh_lastmodified_ms;
        tr->tr_ref_seen = true;
    }
    /* More while the answer says so: a next page, or a total beyond this
     * one. The reference follows it even past the cap (HubSpot's 400). */
    uint64_t end = q->jq_after_id + sr->wsr_nhits;
    pj->pj_answered = true;
    pj->pj_more = sr->wsr_nhits > 0 && (sr->wsr_has_next || end < sr->wsr_total);
    pj->pj_next_after =
        sr->wsr_has_next && sr->wsr_next_offset > q->jq_after_id ? sr->wsr_next_offset : end;
}

void refdesign_job_done(run_ctx *rc, planned_job *pj)
{
    /* Copies: publishing may reuse the finished job's slot. */
    int index = pj->pj_table;
    bool more = pj->pj_more;
    uint64_t next = pj->pj_next_after;
    table_run *tr = &rc->rc_tables[index];
    if (rc->rc_fatal)
        return; /* the search stays unfinished: nothing moves the cursor */
    if (more) {
        publish_page(rc, index, next);
        return;
    }
    tr->tr_ref_searching = false;
    log_info("%s: reference design: search done (%llu pages, %llu changed parents)", tr->tr_name,
             (unsigned long long)tr->tr_ref_pages, (unsigned long long)tr->tr_changed_total);
}

int64_t refdesign_cursor(const table_run *tr)
{
    return tr->tr_ref_seen && tr->tr_ref_newest_ms > tr->tr_since_ms ? tr->tr_ref_newest_ms
                                                                     : tr->tr_since_ms;
}
