/*
 * changes — what changed, per parent type (see run_ctx.h).
 *
 * The object sync of a type is a full list (live and archived, listing.c)
 * the first time, and afterwards a search of the records modified since
 * the last pass. The same search serves every incremental table with that
 * parent: one query for the type, its hits fanned out, never paid for
 * twice. Its first page is the head: the newest records up to the window's
 * end (the whole window when few changed), whose total is the index's count
 * of the type. Search never shows archived records, but every live record
 * stamped up to the window's end is in the mirror by then: when the count
 * equals the mirror's, nothing was archived, and only otherwise is the
 * archived list read.
 *
 * Every window ends at hi = run start − lag: by then every write stamped at
 * or before hi has reached the search index (the lag allowance is the bound
 * on index lag), so a window (lo, hi] is complete when searched, and the
 * next one starts exactly at hi: no `GT newest-seen` cursor that would skip
 * a late record or one sharing the boundary millisecond.
 *
 * The rest of a window is searched in slices, one page per job, in hs_object_id order
 * with keyset paging (each page asks for IDs above the last one seen), so
 * no slice meets the 10,000-result cap, however many records share one
 * millisecond. A slice splits in two at the median time of its last page
 * when the search budget is going unused (a slow API: more pages in flight
 * keep the budget busy) and enough records remain to fill both halves'
 * pages; with a fast API one sequential slice already saturates the budget
 * and costs exactly ceil(changes / 200) searches.
 *
 * A table's cursor moves to hi only when its type's search is complete and
 * every changed parent's set is merged, in the same transaction as the last
 * of them; a killed run searches the whole window again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/base/clock.h"
#include "../common/hubspot/hs_codec.h"
#include "../common/base/jbuf.h"
#include "../common/base/log.h"
#include "../common/ipc/rl.h"
#include "run_ctx.h"

enum {
    SEARCH_PAGE = HS_SEARCH_LIMIT_MAX, /* results per search page */
    MAX_SLICES = 8,                    /* parallel slices per type */
};

/* Reads the object sync state of a type into *st; returns the open write
 * transaction, or NULL after a store failure. */
static store_txn *object_state(run_ctx *rc, hs_object_type type, char *name, size_t n,
                               store_state *st)
{
    err_info e = {0};
    store_txn *txn = run_txn(rc);
    snprintf(name, n, "objects.%s", hs_object(type)->oi_plural);
    if (txn && store_get_state(txn, name, st, &e)) {
        run_store_fail(rc, &e);
        return NULL;
    }
    return txn;
}

int changes_begin_table(table_run *tr, err_info *e)
{
    const store_cursor *c = &tr->tr_state.ss_cursor;
    int64_t now = clock_wall_ms();
    char when[32] = "";
    if (c->cu_kind != STORE_CURSOR_TIMESTAMP_MS || c->cu_timestamp_ms < 0)
        return err_set(e, ERR_CORRUPT, "%s: the stored cursor is not a valid timestamp",
                       tr->tr_name);
    if (c->cu_timestamp_ms > now) {
        fmt_iso8601_ms(when, c->cu_timestamp_ms);
        return err_set(e, ERR_CORRUPT,
                       "%s: the stored cursor %s lies in the future (the clock was set back, or "
                       "the database is damaged); not sent. `hubsync run --full-scan --tables %s` "
                       "starts the table over",
                       tr->tr_name, when, tr->tr_name);
    }
    tr->tr_incremental = true;
    tr->tr_since_ms = c->cu_timestamp_ms;
    idset_init(&tr->tr_seen);
    return 0;
}

/* ------------------------------------------------------------ publishing */

/* List and search jobs are few (at most MAX_SLICES + 2 per type) and the
 * planners leave room for them in the queue; a refusal would lose part of
 * a window, so it ends the run instead (nothing moves the cursors). */
static void queue_refused(run_ctx *rc, int idx)
{
    if (idx < 0)
        run_fatal(rc, EXIT_INCOMPLETE, "the job queue is full (%d jobs)", SHM_MAX_JOBS);
}

static void publish_search(run_ctx *rc, object_sync *os, bool head, int64_t lo, int64_t hi,
                           uint64_t after)
{
    job_search_slice q = {0};
    q.jq_object_type = (uint16_t)os->os_type;
    q.jq_head = head;
    q.jq_lo_ms = lo;
    q.jq_hi_ms = hi;
    q.jq_after_id = after;
    int idx = run_publish(rc, JOB_SEARCH_SLICE, ROLE_SEARCH, &q, sizeof(q), -1, 0, 0);
    queue_refused(rc, idx);
    if (idx >= 0)
        os->os_jobs_left++;
}

/* --------------------------------------------------------------- start */

static void objects_ready(run_ctx *rc, object_sync *os)
{
    os->os_done = true;
    for (int t = 0; t < rc->rc_ntables; t++)
        if (rc->rc_tables[t].tr_table.t_parent == os->os_type)
            rc->rc_tables[t].tr_objects_ready = true;
}

/* Plans one parent type's object sync and change search. */
static void start_type(run_ctx *rc, object_sync *os)
{
    bool incremental = false;
    int64_t lo = rc->rc_window_hi_ms;
    for (int i = 0; i < rc->rc_ntables; i++) {
        const table_run *tr = &rc->rc_tables[i];
        if (tr->tr_table.t_parent != os->os_type)
            continue;
        /* The reference design's tables search on their own (refdesign.c):
         * the type's search serves only the object sync then. */
        if (tr->tr_incremental && !rc->rc_cfg->c_reference) {
            incremental = true;
            if (tr->tr_since_ms < lo)
                lo = tr->tr_since_ms;
        }
    }
    char name[48];
    store_state st;
    if (!object_state(rc, os->os_type, name, sizeof(name), &st))
        return;
    const char *plural = hs_object(os->os_type)->oi_plural;
    bool listed = st.ss_cursor.cu_kind == STORE_CURSOR_TIMESTAMP_MS;
    /* A first list a run left unfinished: its listed ranges are kept, and
     * what changed in them since it began is searched for. */
    bool resumed = st.ss_cursor.cu_kind == STORE_CURSOR_OBJECT_ID && st.ss_scan_started_ms > 0;
    os->os_listing = !listed;
    if (listed && st.ss_cursor.cu_timestamp_ms < lo)
        lo = st.ss_cursor.cu_timestamp_ms;
    if (resumed && st.ss_scan_started_ms < lo)
        lo = st.ss_scan_started_ms;
    os->os_lo = lo;
    os->os_hi = rc->rc_window_hi_ms;
    os->os_searching = (incremental || listed || resumed) && lo < os->os_hi;
    if (os->os_listing && resumed) {
        listing_resume(rc, os, &st);
        log_info("object sync: resuming the list of %s where the last run left it", plural);
    } else if (os->os_listing) {
        /* Search never shows archived records: they come from the list. */
        listing_start(rc, os, true);
        log_info("object sync: listing %s", plural);
    }
    if (os->os_searching) {
        char from[32], to[32];
        fmt_iso8601_ms(from, lo);
        fmt_iso8601_ms(to, os->os_hi);
        log_info("changes: searching %s modified in (%s, %s]", plural, from, to);
        /* Listing sweeps the archived records anyway; otherwise the search
         * starts with the head page, whose count tells whether to. */
        publish_search(rc, os, !os->os_listing, lo, os->os_hi, 0);
    }
    if (os->os_jobs_left == 0)
        objects_ready(rc, os); /* caught up already: nothing to ask */
}

void changes_start(run_ctx *rc)
{
    int64_t hi = rc->rc_started_ms - rc->rc_cfg->c_lag_ms;
    rc->rc_window_hi_ms = hi > 0 ? hi : 0;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        rc->rc_objects[t].os_type = (hs_object_type)t;
    for (int i = 0; i < rc->rc_ntables; i++)
        rc->rc_objects[rc->rc_tables[i].tr_table.t_parent].os_wanted = true;
    /* In the order the lists share the budget: the first list's pages and
     * its highest-ID search go out first. */
    hs_object_type order[HS_OBJECT_TYPE_COUNT];
    order_lists(rc, order);
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        if (rc->rc_objects[order[t]].os_wanted)
            start_type(rc, &rc->rc_objects[order[t]]);
    if (rc->rc_cfg->c_reference)
        refdesign_start(rc);
}

/* ------------------------------------------------------------- merging */

int changes_add_parent(table_run *tr, uint64_t id)
{
    int added = idset_add(&tr->tr_seen, id);
    if (added <= 0)
        return added;
    if (ids_push(&tr->tr_changed, &tr->tr_nchanged, &tr->tr_changed_cap, 1024, id))
        return ERR_NOMEM;
    tr->tr_changed_total++;
    return 0;
}

/* Takes a changed parent for every incremental table of the type that has
 * not seen it yet (its cursor is older than the change). The reference
 * design's tables take theirs from their own search (refdesign.c) only. */
static int take_changed(run_ctx *rc, hs_object_type type, uint64_t id, int64_t lastmod_ms)
{
    if (rc->rc_cfg->c_reference)
        return 0;
    for (int i = 0; i < rc->rc_ntables; i++) {
        table_run *tr = &rc->rc_tables[i];
        if (!tr->tr_incremental || tr->tr_table.t_parent != type || lastmod_ms <= tr->tr_since_ms)
            continue;
        int r = changes_add_parent(tr, id);
        if (r < 0)
            return r;
    }
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* One changed record: into the objects, and to the tables that want it
 * (once: the head page and the slice after it may both show it). */
static int merge_hit(run_ctx *rc, store_txn *txn, hs_object_type type, const wire_search_hit *h)
{
    object_sync *os = &rc->rc_objects[type];
    err_info e = {0};
    store_object so = {h->wsh_id, h->wsh_lastmodified_ms, false};
    int r = idset_add(&os->os_seen, h->wsh_id);
    if (r == 0)
        return 0; /* merged already */
    if (r < 0)
        err_set(&e, r, "out of memory");
    else if (!(r = store_put_object(txn, type, &so, &e)) &&
             (r = take_changed(rc, type, h->wsh_id, h->wsh_lastmodified_ms)))
        err_set(&e, r, "out of memory taking changed parents");
    if (r)
        run_store_fail(rc, &e);
    os->os_hits += r == 0;
    return r;
}

/* The head page: the newest records up to hi. Its total is the index's
 * count of the type; those newer than lo are changes; if the page is full
 * of them, the rest of the window lies at or below its oldest time. */
static void merge_head(run_ctx *rc, planned_job *pj, const wire_search_result *sr)
{
    const job_search_slice *q = (const job_search_slice *)pj->pj_payload;
    object_sync *os = &rc->rc_objects[q->jq_object_type];
    store_txn *txn = run_txn(rc);
    if (!txn)
        return;
    int64_t oldest = q->jq_hi_ms;
    for (size_t i = 0; i < sr->wsr_nhits; i++) {
        const wire_search_hit *h = &sr->wsr_hits[i];
        if (h->wsh_lastmodified_ms < oldest)
            oldest = h->wsh_lastmodified_ms;
        if (h->wsh_lastmodified_ms > q->jq_lo_ms &&
            merge_hit(rc, txn, (hs_object_type)q->jq_object_type, h))
            return;
    }
    os->os_counted = true;
    os->os_index_count = sr->wsr_total;
    pj->pj_answered = sr->wsr_nhits > 0 || sr->wsr_total == 0;
    pj->pj_more = sr->wsr_total > sr->wsr_nhits && oldest > q->jq_lo_ms;
    pj->pj_split_ms = oldest;
    pj->pj_next_after = 0;
    pj->pj_remaining = 0; /* unknown: the total counts older records too */
}

void changes_merge_search(run_ctx *rc, planned_job *pj, const wire_search_result *sr)
{
    const job_search_slice *q = (const job_search_slice *)pj->pj_payload;
    hs_object_type type = (hs_object_type)q->jq_object_type;
    if (q->jq_head) {
        merge_head(rc, pj, sr);
        return;
    }
    store_txn *txn = run_txn(rc);
    if (!txn)
        return;
    uint64_t last = q->jq_after_id;
    int64_t times[SEARCH_PAGE];
    size_t ntimes = 0;
    for (size_t i = 0; i < sr->wsr_nhits; i++) {
        const wire_search_hit *h = &sr->wsr_hits[i];
        if (h->wsh_id <= q->jq_after_id)
            continue; /* not this page's: the keyset says above after_id */
        if (merge_hit(rc, txn, type, h))
            return;
        if (h->wsh_id > last)
            last = h->wsh_id;
        if (ntimes < SEARCH_PAGE)
            times[ntimes++] = h->wsh_lastmodified_ms;
    }
    /* What follows this page: the records above `last`, if the total says
     * some remain. */
    pj->pj_answered = true;
    pj->pj_more = sr->wsr_total > sr->wsr_nhits;
    pj->pj_next_after = last;
    pj->pj_split_ms = 0;
    if (ntimes > 0) {
        qsort(times, ntimes, sizeof(times[0]), cmp_i64);
        pj->pj_split_ms = times[ntimes / 2];
    }
    pj->pj_remaining = sr->wsr_total > sr->wsr_nhits ? sr->wsr_total - sr->wsr_nhits : 0;
    if (pj->pj_more && last == q->jq_after_id) {
        /* More reported, none sent: no way on from here. Not answered, so
         * the job is asked again. */
        log_warn("changes: a %s search reported %u results but sent none",
                 hs_object(type)->oi_plural, sr->wsr_total);
        pj->pj_answered = false;
    }
}

/* Plans what follows a searched page: nothing, the next page, or (budget to
 * spare, records to fill both) two slices split at the page's median time.
 * Works on copies: publishing may reuse the finished job's slot. */
static void continue_slice(run_ctx *rc, object_sync *os, const planned_job *pj)
{
    const job_search_slice q = *(const job_search_slice *)pj->pj_payload;
    uint64_t after = pj->pj_next_after, remaining = pj->pj_remaining;
    int64_t mid = pj->pj_split_ms;
    if (!pj->pj_more)
        return;
    if (q.jq_head) {
        /* The rest of the window, in ID order; the oldest millisecond is
         * asked for again (the head may hold only part of it). */
        publish_search(rc, os, false, q.jq_lo_ms, mid, 0);
        return;
    }
    if (mid <= q.jq_lo_ms || mid >= q.jq_hi_ms)
        mid = q.jq_lo_ms + (q.jq_hi_ms - q.jq_lo_ms) / 2;
    bool split = remaining > 2 * SEARCH_PAGE && mid > q.jq_lo_ms && mid < q.jq_hi_ms &&
                 os->os_jobs_left < MAX_SLICES &&
                 rl_idle(&rc->rc_shm->sr_search.bu_rl, clock_mono_ns());
    if (split) {
        os->os_splits++;
        publish_search(rc, os, false, q.jq_lo_ms, mid, after);
        publish_search(rc, os, false, mid, q.jq_hi_ms, after);
    } else {
        publish_search(rc, os, false, q.jq_lo_ms, q.jq_hi_ms, after);
    }
}

/* Every list and search job of the type is merged: the objects are current
 * up to the window's end. */
static void object_sync_done(run_ctx *rc, object_sync *os)
{
    char name[48];
    err_info e = {0};
    store_state st;
    store_txn *txn = object_state(rc, os->os_type, name, sizeof(name), &st);
    if (!txn)
        return;
    st.ss_cursor = store_cursor_timestamp_ms(run_cursor_ms(rc, rc->rc_window_hi_ms));
    st.ss_scan_started_ms = 0; /* a first list's progress, done with */
    st.ss_ndone = 0;
    st.ss_runs++;
    if (store_put_state(txn, name, &st, &e))
        run_store_fail(rc, &e);
    objects_ready(rc, os);
    log_info("object sync: %s done (%llu changed)", hs_object(os->os_type)->oi_plural,
             (unsigned long long)os->os_hits);
}

/* Whether records of the type may have been archived since the last pass.
 * Every live record stamped up to hi is in the mirror by now (the first
 * list, then every window), so if the index counts as many records up to hi
 * as the mirror holds, none of the mirror's is archived: the archived list
 * (100 a call, every archived record there is) can be skipped. */
static bool archives_possible(run_ctx *rc, const object_sync *os)
{
    uint64_t held = 0;
    err_info e = {0};
    store_txn *txn = run_txn(rc);
    if (!os->os_counted || !txn || store_count_objects(txn, os->os_type, &held, &e))
        return true;
    if (held == os->os_index_count) {
        log_info("object sync: %s: the index counts all %llu; none archived",
                 hs_object(os->os_type)->oi_plural, (unsigned long long)held);
        return false;
    }
    log_info("object sync: %s: the index counts %llu of %llu; listing archived records",
             hs_object(os->os_type)->oi_plural, (unsigned long long)os->os_index_count,
             (unsigned long long)held);
    return true;
}

void changes_job_done(run_ctx *rc, planned_job *pj)
{
    hs_object_type type = pj->pj_role == ROLE_SEARCH
                              ? ((const job_search_slice *)pj->pj_payload)->jq_object_type
                              : ((const job_object_list *)pj->pj_payload)->jl_object_type;
    object_sync *os = &rc->rc_objects[type];
    if (pj->pj_role == ROLE_SEARCH)
        continue_slice(rc, os, pj);
    else
        listing_job_done(rc, pj);
    if (--os->os_jobs_left > 0 || os->os_done)
        return;
    if (os->os_searching && !os->os_listing && !os->os_swept && archives_possible(rc, os)) {
        os->os_swept = true;
        listing_start(rc, os, false);
        return;
    }
    object_sync_done(rc, os);
}

/* ------------------------------------------------------------ batches */

/* Publishes one batch read of up to 1,000 changed parents (ascending, as
 * a job wants them). Returns false when nothing was published. */
static bool publish_batch(run_ctx *rc, table_run *tr, int index)
{
    static job_assoc_scan js;
    size_t batch = (size_t)rc->rc_cfg->c_batch_parents;
    size_t n = tr->tr_nchanged < batch ? tr->tr_nchanged : batch;
    if (n == 0)
        return false;
    qsort(tr->tr_changed, tr->tr_nchanged, sizeof(uint64_t), cmp_u64);
    js.js_table = (uint16_t)index;
    js.js_count = (uint16_t)n;
    js.js_reserved = 0;
    memcpy(js.js_parent_ids, tr->tr_changed, n * sizeof(uint64_t));
    if (run_publish(rc, JOB_ASSOC_SCAN, ROLE_INCREMENTAL, &js, job_assoc_scan_size((uint32_t)n),
                    index, 0, 0) < 0)
        return false;
    memmove(tr->tr_changed, tr->tr_changed + n, (tr->tr_nchanged - n) * sizeof(uint64_t));
    tr->tr_nchanged -= n;
    tr->tr_batches_out++;
    return true;
}

/* The table's window is merged: its cursor moves to the window's end (the
 * reference design's: to the newest time its search saw). */
static void finish_table(run_ctx *rc, table_run *tr, const object_sync *os)
{
    int64_t to = rc->rc_cfg->c_reference ? refdesign_cursor(tr)
                 : os->os_searching      ? run_cursor_ms(rc, os->os_hi)
                                         : tr->tr_since_ms;
    if (to < tr->tr_since_ms)
        to = tr->tr_since_ms;
    tr->tr_state.ss_cursor = store_cursor_timestamp_ms(to);
    tr->tr_state.ss_last_run.sr_completed = true;
    tr->tr_done = true;
    run_put_table_state(rc, tr);
    log_fields f = run_table_fields(rc, tr, "table_done");
    log_event(LOG_INFO, &f, "%s: incremental: %llu changed parents merged", tr->tr_name,
              (unsigned long long)tr->tr_state.ss_last_run.sr_parents);
}

void changes_plan(run_ctx *rc)
{
    for (int i = 0; i < rc->rc_ntables; i++) {
        table_run *tr = &rc->rc_tables[i];
        if (!tr->tr_incremental || tr->tr_done)
            continue;
        const object_sync *os = &rc->rc_objects[tr->tr_table.t_parent];
        /* The reference design reads the changed parents once its search is
         * over, and depends on nothing else. */
        bool reference = rc->rc_cfg->c_reference;
        bool found_all = reference ? !tr->tr_ref_searching : os->os_done;
        while (((!reference && tr->tr_nchanged >= (size_t)rc->rc_cfg->c_batch_parents) ||
                (found_all && tr->tr_nchanged > 0)) &&
               rc->rc_inflight_jobs < rc->rc_max_inflight_jobs && publish_batch(rc, tr, i))
            ;
        if (found_all && tr->tr_nchanged == 0 && tr->tr_batches_out == 0)
            finish_table(rc, tr, os);
    }
}

void changes_batch_done(run_ctx *rc, planned_job *pj)
{
    rc->rc_tables[pj->pj_table].tr_batches_out--;
}

void changes_free(run_ctx *rc)
{
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        idset_free(&rc->rc_objects[t].os_seen);
    for (int i = 0; i < rc->rc_ntables; i++) {
        table_run *tr = &rc->rc_tables[i];
        idset_free(&tr->tr_seen);
        free(tr->tr_changed);
        tr->tr_changed = NULL;
        tr->tr_nchanged = tr->tr_changed_cap = 0;
    }
}
