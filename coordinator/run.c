/*
 * run — `hubsync run` (see run.h): switch-on, routing, the object sync and
 * the parallel full scan, merged by the coordinator, the only LMDB writer.
 *
 * The coordinator never makes HTTP calls. It plans jobs (the object lists of
 * the parent types, then batches of ≤ 1,000 parent IDs from LMDB in ID
 * order), publishes them in the shared queue, and merges what workers send:
 * each parent's complete set replaces the stored one (deletes included), and
 * in the same LMDB transaction the table's cursor moves to the highest
 * parent ID below which every job is merged. Kill anything at any time: the
 * next run resumes after the cursor and redoes at most the uncommitted jobs.
 */
#include "run.h"
#include "../common/clock.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/jobs.h"
#include "../common/log.h"
#include "../common/rl.h"
#include "../common/shm.h"
#include "../common/store.h"
#include "commands.h"
#include "pool.h"

#define MS_NS 1000000ULL
enum { MAX_JOB_ATTEMPTS = 5, RING = SHM_MAX_JOBS };

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested++;
}

/* A scan job's place in its table's order: merged jobs move the cursor only
 * once every earlier job is merged too. */
typedef struct ring_entry {
    uint64_t re_first_id, re_last_id;
    bool re_merged; /* every parent of the range is merged */
    int re_job;     /* while not: the shm index of its job (-1 none) */
} ring_entry;

typedef struct table_run {
    hs_table tr_table;
    char tr_name[48];
    store_ping_type tr_ping;
    store_state tr_state;
    store_route tr_route;
    bool tr_scanning;      /* a full scan is (still) to be done this run */
    bool tr_objects_ready; /* its parent type's object sync is merged */
    uint64_t tr_plan_from; /* next parent ID to plan */
    bool tr_planned_all;
    uint64_t tr_seq_next, tr_seq_head; /* jobs planned; first not yet merged */
    ring_entry tr_ring[RING];
    /* Ranges a killed run merged above its cursor, not yet reached by the
     * planner: skipped, not fetched again. */
    store_id_range tr_pending[STORE_DONE_RANGES_MAX];
    uint32_t tr_npending, tr_pending_next;
    bool tr_done;
} table_run;

typedef struct planned_job {
    bool pj_used;
    uint32_t pj_kind;
    int pj_table;    /* JOB_ASSOC_SCAN */
    uint64_t pj_seq; /* its place in the table's ring */
    int pj_attempts;
    uint32_t pj_payload_len;
    uint8_t pj_payload[SHM_JOB_PAYLOAD];
    assoc_buf pj_sets;                  /* scratch for one ASSOC_SETS message */
    uint8_t pj_merged[JOB_MAX_PARENTS]; /* JOB_ASSOC_SCAN: parent i is merged */
    uint32_t pj_nmerged;
} planned_job;

typedef struct object_sync {
    hs_object_type os_type;
    int os_jobs_left; /* live and archived lists */
    bool os_done;
} object_sync;

typedef struct run_ctx {
    const hubsync_config *rc_cfg;
    shm_region *rc_shm;
    pool *rc_pool;
    store *rc_store;
    store_txn *rc_txn; /* the open write batch */
    int rc_ntables;
    table_run rc_tables[CONFIG_MAX_TABLES];
    object_sync rc_objects[HS_OBJECT_TYPE_COUNT];
    planned_job *rc_jobs; /* by shm job index */
    int rc_inflight_jobs;
    int rc_max_inflight_jobs;
    int rc_fatal; /* an exit code that ends the run (3, 5), 0 none */
    char rc_fatal_msg[ERR_MSG_MAX];
    bool rc_store_failed;
    wire_counters rc_calls[CONFIG_MAX_TABLES + 1]; /* per table; the last: object sync */
    int64_t rc_started_ms;
} run_ctx;

/* ------------------------------------------------------------- batches */

static int txn_open(run_ctx *rc)
{
    if (rc->rc_txn)
        return 0;
    err_info e = {0};
    if (store_txn_begin(rc->rc_store, STORE_TXN_WRITE, &rc->rc_txn, &e)) {
        log_error("store: %s", e.ei_msg);
        rc->rc_store_failed = true;
        return -1;
    }
    return 0;
}

static int txn_commit(run_ctx *rc)
{
    if (!rc->rc_txn)
        return 0;
    err_info e = {0};
    int rc2 = store_txn_commit(rc->rc_txn, &e);
    rc->rc_txn = NULL;
    if (rc2) {
        log_error("store commit: %s", e.ei_msg);
        rc->rc_store_failed = true;
    }
    return rc2;
}

static void store_fail(run_ctx *rc, const err_info *e)
{
    log_error("store: %s", e->ei_msg);
    rc->rc_store_failed = true;
}

/* --------------------------------------------------------------- jobs */

static int publish(run_ctx *rc, uint32_t kind, const void *payload, uint32_t len, int table,
                   uint64_t seq, int attempts)
{
    err_info e = {0};
    int idx = shm_job_publish(rc->rc_shm, kind, payload, len, &e);
    if (idx < 0)
        return -1;
    planned_job *pj = &rc->rc_jobs[idx];
    assoc_buf_free(&pj->pj_sets);
    memset(pj, 0, sizeof(*pj));
    pj->pj_used = true;
    pj->pj_kind = kind;
    pj->pj_table = table;
    pj->pj_seq = seq;
    pj->pj_attempts = attempts;
    pj->pj_payload_len = len;
    memcpy(pj->pj_payload, payload, len);
    assoc_buf_init(&pj->pj_sets);
    rc->rc_inflight_jobs++;
    return idx;
}

static void object_state_name(hs_object_type t, char *out, size_t n)
{
    snprintf(out, n, "objects.%s", hs_object(t)->oi_plural);
}

static void objects_ready(run_ctx *rc, object_sync *os)
{
    os->os_done = true;
    for (int t = 0; t < rc->rc_ntables; t++)
        if (rc->rc_tables[t].tr_table.t_parent == os->os_type)
            rc->rc_tables[t].tr_objects_ready = true;
}

/* A scan that resumes keeps the parent IDs its first run listed: listing
 * again would only cost calls. */
static bool resume_only(const run_ctx *rc, hs_object_type type)
{
    for (int i = 0; i < rc->rc_ntables; i++) {
        const table_run *tr = &rc->rc_tables[i];
        if (tr->tr_scanning && tr->tr_table.t_parent == type &&
            tr->tr_route != STORE_ROUTE_FULL_RESUME)
            return false;
    }
    return true;
}

/* The object sync (SPEC §5): list the live and the archived objects of
 * every parent type a scan needs, unless a resumed scan can use the list a
 * completed pass already stored. */
static void plan_object_sync(run_ctx *rc)
{
    for (int i = 0; i < rc->rc_ntables; i++) {
        table_run *tr = &rc->rc_tables[i];
        object_sync *os = &rc->rc_objects[tr->tr_table.t_parent];
        if (!tr->tr_scanning || os->os_jobs_left || os->os_done)
            continue;
        os->os_type = tr->tr_table.t_parent;
        char name[48];
        store_state st;
        err_info e = {0};
        object_state_name(os->os_type, name, sizeof(name));
        if (resume_only(rc, os->os_type) && txn_open(rc) == 0 &&
            store_get_state(rc->rc_txn, name, &st, &e) == 0 &&
            st.ss_cursor.cu_kind == STORE_CURSOR_TIMESTAMP_MS) {
            log_info("object sync: %s listed before; resuming", hs_object(os->os_type)->oi_plural);
            objects_ready(rc, os);
            continue;
        }
        for (int archived = 0; archived < 2; archived++) {
            job_object_list jl = {0};
            jl.jl_object_type = (uint16_t)os->os_type;
            jl.jl_archived = (uint8_t)archived;
            if (publish(rc, JOB_OBJECT_LIST, &jl, sizeof(jl), -1, 0, 0) >= 0)
                os->os_jobs_left++;
        }
        log_info("object sync: listing %s", hs_object(os->os_type)->oi_plural);
    }
}

/* A list pass is complete: record when it started, so the IDs can be
 * trusted by a resumed scan (and, later, caught up from there). */
static void object_sync_done(run_ctx *rc, object_sync *os)
{
    char name[48];
    err_info e = {0};
    store_state st;
    object_state_name(os->os_type, name, sizeof(name));
    if (txn_open(rc) || store_get_state(rc->rc_txn, name, &st, &e)) {
        store_fail(rc, &e);
        return;
    }
    int64_t from = rc->rc_started_ms - rc->rc_cfg->c_lag_ms;
    st.ss_cursor = store_cursor_timestamp_ms(from > 0 ? from : 0);
    st.ss_runs++;
    if (store_put_state(rc->rc_txn, name, &st, &e))
        store_fail(rc, &e);
    objects_ready(rc, os);
    log_info("object sync: %s done", hs_object(os->os_type)->oi_plural);
}

/* Adds a job to the table's order; returns its sequence number. */
static uint64_t ring_push(table_run *tr, uint64_t first, uint64_t last, bool merged, int job)
{
    uint64_t seq = tr->tr_seq_next++;
    tr->tr_ring[seq % RING] = (ring_entry){first, last, merged, job};
    return seq;
}

static void advance_cursor(run_ctx *rc, table_run *tr);

/* Plans one batch of the table: the next (up to) 1,000 parents that no
 * earlier run merged, in ID order. The batch's ID range spans the merged
 * ranges it passes, so they count as done with it. Returns false when
 * nothing more can be planned now. */
static bool plan_batch(run_ctx *rc, table_run *tr, int index)
{
    static store_object objs[JOB_MAX_PARENTS];
    static job_assoc_scan js;
    js.js_table = (uint16_t)index;
    js.js_count = 0;
    js.js_reserved = 0;
    uint64_t first = tr->tr_plan_from, next = tr->tr_plan_from, last = 0;
    bool end = false, seen = false;
    while (js.js_count < JOB_MAX_PARENTS && !end) {
        size_t want = JOB_MAX_PARENTS - js.js_count, n = 0;
        err_info e = {0};
        if (txn_open(rc) ||
            store_objects_from(rc->rc_txn, tr->tr_table.t_parent, next, objs, want, &n, &e)) {
            store_fail(rc, &e);
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
        advance_cursor(rc, tr);
        return false;
    }
    if (js.js_count == 0) {
        /* Everything here was merged by an earlier run. */
        ring_push(tr, first, last, true, -1);
    } else {
        uint64_t seq = tr->tr_seq_next;
        int job = publish(rc, JOB_ASSOC_SCAN, &js, job_assoc_scan_size(js.js_count), index, seq, 0);
        if (job < 0)
            return false; /* the queue is full: plan this batch later */
        ring_push(tr, first, last, false, job);
    }
    tr->tr_plan_from = next;
    if (end) {
        tr->tr_planned_all = true;
        advance_cursor(rc, tr);
        return false;
    }
    return true;
}

/* Publishes scan jobs while the queue has room. */
static void plan_scans(run_ctx *rc)
{
    for (int i = 0; i < rc->rc_ntables && rc->rc_inflight_jobs < rc->rc_max_inflight_jobs; i++) {
        table_run *tr = &rc->rc_tables[i];
        if (!tr->tr_scanning || tr->tr_planned_all || !tr->tr_objects_ready)
            continue;
        while (rc->rc_inflight_jobs < rc->rc_max_inflight_jobs &&
               tr->tr_seq_next - tr->tr_seq_head < RING - 1 && !tr->tr_planned_all &&
               !rc->rc_store_failed && plan_batch(rc, tr, i))
            ;
    }
}

/* ------------------------------------------------------------- merging */

static void put_table_state(run_ctx *rc, table_run *tr)
{
    err_info e = {0};
    if (txn_open(rc) == 0 && store_put_state(rc->rc_txn, tr->tr_name, &tr->tr_state, &e))
        store_fail(rc, &e);
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

static void collect_done_ranges(run_ctx *rc, table_run *tr)
{
    store_state *st = &tr->tr_state;
    st->ss_ndone = 0;
    for (uint64_t q = tr->tr_seq_head; q < tr->tr_seq_next; q++) {
        const ring_entry *re = &tr->tr_ring[q % RING];
        if (re->re_merged) {
            add_done(st, re->re_first_id, re->re_last_id);
            continue;
        }
        const planned_job *pj = re->re_job >= 0 ? &rc->rc_jobs[re->re_job] : NULL;
        if (!pj || !pj->pj_used)
            continue;
        /* Not (fully) merged: everything in its range but the parents still
         * out (the gaps hold merged parents, or none). */
        const job_assoc_scan *js = (const job_assoc_scan *)pj->pj_payload;
        uint64_t from = re->re_first_id;
        bool open = true; /* false once an unmerged parent is UINT64_MAX */
        for (int i = 0; i < js->js_count && open; i++) {
            uint64_t id = js->js_parent_ids[i];
            if (pj->pj_merged[i])
                continue;
            if (id > from)
                add_done(st, from, id - 1);
            open = id != UINT64_MAX;
            from = id + 1;
        }
        if (open && from <= re->re_last_id)
            add_done(st, from, re->re_last_id);
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

/* Moves the table's cursor past every job merged in order, records what is
 * merged beyond it, and finishes the scan when the last job is in. */
static void advance_cursor(run_ctx *rc, table_run *tr)
{
    while (tr->tr_seq_head < tr->tr_seq_next && tr->tr_ring[tr->tr_seq_head % RING].re_merged) {
        tr->tr_state.ss_cursor =
            store_cursor_object_id(tr->tr_ring[tr->tr_seq_head % RING].re_last_id);
        tr->tr_seq_head++;
    }
    collect_done_ranges(rc, tr);
    if (tr->tr_planned_all && tr->tr_seq_head == tr->tr_seq_next && !tr->tr_done) {
        /* The scan is complete: from now on changes are caught from the
         * scan's START (minus the lag allowance), not its end: what changed
         * while it ran is not lost (SPEC §4). */
        int64_t from = tr->tr_state.ss_scan_started_ms - rc->rc_cfg->c_lag_ms;
        tr->tr_state.ss_cursor = store_cursor_timestamp_ms(from > 0 ? from : 0);
        tr->tr_state.ss_scan_started_ms = 0;
        tr->tr_state.ss_ndone = 0;
        tr->tr_state.ss_last_run.sr_completed = true;
        tr->tr_done = true;
        log_info("%s: full scan complete (%llu parents)", tr->tr_name,
                 (unsigned long long)tr->tr_state.ss_last_run.sr_parents);
    }
    put_table_state(rc, tr);
}

/* Merges the complete sets of one ASSOC_SETS message (any part of a job). */
static void merge_sets(run_ctx *rc, planned_job *pj)
{
    table_run *tr = &rc->rc_tables[pj->pj_table];
    store_run *run = &tr->tr_state.ss_last_run;
    const job_assoc_scan *js = (const job_assoc_scan *)pj->pj_payload;
    if (txn_open(rc))
        return;
    store_set_delta d = {0};
    err_info e = {0};
    for (size_t i = 0; i < pj->pj_sets.ab_nparents; i++) {
        uint64_t id = pj->pj_sets.ab_parents[i].ap_parent_id;
        int lo = 0, hi = js->js_count;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (js->js_parent_ids[mid] < id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == js->js_count || js->js_parent_ids[lo] != id || pj->pj_merged[lo])
            continue; /* not this job's, or already merged */
        if (store_replace_set(rc->rc_txn, tr->tr_table, &pj->pj_sets, i, &d, &e)) {
            store_fail(rc, &e);
            return;
        }
        pj->pj_merged[lo] = 1;
        pj->pj_nmerged++;
        run->sr_parents++;
    }
    run->sr_added += d.sd_added;
    run->sr_removed += d.sd_removed;
    run->sr_relabelled += d.sd_relabelled;
    run->sr_unchanged += d.sd_unchanged;
    advance_cursor(rc, tr); /* records the new done ranges with the data */
}

static void merge_objects(run_ctx *rc, const wire_objects *wo, bool archived_list)
{
    if (txn_open(rc))
        return;
    err_info e = {0};
    hs_object_type type = (hs_object_type)wo->wob_object_type;
    for (size_t i = 0; i < wo->wob_nitems; i++) {
        const wire_object *o = &wo->wob_items[i];
        if (!archived_list && !o->wo_archived) {
            store_object so = {o->wo_id, o->wo_lastmodified_ms, false};
            if (store_put_object(rc->rc_txn, type, &so, &e)) {
                store_fail(rc, &e);
                return;
            }
            continue;
        }
        /* Archived: the object and every set it parents go. */
        if (store_delete_object(rc->rc_txn, type, o->wo_id, NULL, &e)) {
            store_fail(rc, &e);
            return;
        }
        for (int t = 0; t < rc->rc_ntables; t++) {
            table_run *tr = &rc->rc_tables[t];
            store_set_delta d = {0};
            if (tr->tr_table.t_parent != type)
                continue;
            if (store_delete_parent(rc->rc_txn, tr->tr_table, o->wo_id, &d, &e)) {
                store_fail(rc, &e);
                return;
            }
            tr->tr_state.ss_last_run.sr_removed += d.sd_removed;
        }
    }
}

static void count_calls(wire_counters *into, const wire_counters *c)
{
    into->wc_calls += c->wc_calls;
    into->wc_retries += c->wc_retries;
    into->wc_throttled += c->wc_throttled;
    into->wc_bytes += c->wc_bytes;
}

/* The job's ring entry (scan jobs), or NULL. */
static ring_entry *ring_of(run_ctx *rc, const planned_job *pj)
{
    if (pj->pj_kind != JOB_ASSOC_SCAN)
        return NULL;
    return &rc->rc_tables[pj->pj_table].tr_ring[pj->pj_seq % RING];
}

/* Publishes again what a failed job did not get done: for a scan, only the
 * parents not merged yet. */
static void retry_job(run_ctx *rc, planned_job *pj)
{
    static uint8_t payload[SHM_JOB_PAYLOAD]; /* publish() may reuse pj's slot */
    uint32_t kind = pj->pj_kind, len = pj->pj_payload_len;
    int table = pj->pj_table, attempts = pj->pj_attempts + 1;
    uint64_t seq = pj->pj_seq;
    memcpy(payload, pj->pj_payload, len);
    if (kind == JOB_ASSOC_SCAN) {
        job_assoc_scan *js = (job_assoc_scan *)payload;
        uint16_t n = 0;
        for (int i = 0; i < js->js_count; i++)
            if (!pj->pj_merged[i])
                js->js_parent_ids[n++] = js->js_parent_ids[i];
        js->js_count = n;
        len = job_assoc_scan_size(n);
    }
    ring_entry *re = ring_of(rc, pj);
    int idx = publish(rc, kind, payload, len, table, seq, attempts);
    if (re)
        re->re_job = idx;
}

static void job_done(run_ctx *rc, int idx, const wire_job_done *d)
{
    planned_job *pj = &rc->rc_jobs[idx];
    count_calls(&rc->rc_calls[pj->pj_kind == JOB_ASSOC_SCAN ? pj->pj_table : CONFIG_MAX_TABLES],
                &d->wjd_counters);
    rc->rc_inflight_jobs--;
    pj->pj_used = false;
    const job_assoc_scan *js = (const job_assoc_scan *)pj->pj_payload;
    bool scan_complete = pj->pj_kind == JOB_ASSOC_SCAN && pj->pj_nmerged == js->js_count;
    if (d->wjd_status != 0 || (pj->pj_kind == JOB_ASSOC_SCAN && !scan_complete)) {
        if (d->wjd_status == ERR_AUTH || d->wjd_status == ERR_DAILY) {
            rc->rc_fatal = d->wjd_status == ERR_AUTH ? EXIT_AUTH : EXIT_DAILY;
            snprintf(rc->rc_fatal_msg, sizeof(rc->rc_fatal_msg), "%s", d->wjd_message);
            return;
        }
        log_warn("job failed (%s), attempt %d: %s",
                 err_strerror(d->wjd_status ? d->wjd_status : ERR_SHAPE), pj->pj_attempts + 1,
                 d->wjd_status ? d->wjd_message : "parents missing");
        if (pj->pj_attempts + 1 >= MAX_JOB_ATTEMPTS) {
            rc->rc_fatal = EXIT_INCOMPLETE;
            snprintf(rc->rc_fatal_msg, sizeof(rc->rc_fatal_msg), "a job failed %d times: %s",
                     MAX_JOB_ATTEMPTS, d->wjd_message);
            return;
        }
        retry_job(rc, pj);
        return;
    }
    if (pj->pj_kind == JOB_ASSOC_SCAN) {
        ring_entry *re = ring_of(rc, pj);
        re->re_merged = true;
        re->re_job = -1;
        advance_cursor(rc, &rc->rc_tables[pj->pj_table]);
    } else {
        const job_object_list *jl = (const job_object_list *)pj->pj_payload;
        object_sync *os = &rc->rc_objects[jl->jl_object_type];
        if (--os->os_jobs_left == 0)
            object_sync_done(rc, os);
    }
    assoc_buf_free(&pj->pj_sets);
}

static void on_message(void *ctx, int slot, const wire_msg *m)
{
    run_ctx *rc = ctx;
    (void)slot;
    if (m->wm_kind == WIRE_LOG) {
        log_msg(m->wm_log.wl_level <= 3 ? LOG_ERROR : LOG_INFO, "worker %d: %s", slot,
                m->wm_log.wl_text);
        return;
    }
    if (m->wm_kind == WIRE_HELLO)
        return;
    if (m->wm_job_id >= SHM_MAX_JOBS)
        return;
    int idx = (int)m->wm_job_id;
    planned_job *pj = &rc->rc_jobs[idx];
    uint64_t gen;
    shm_job_state st = shm_job_peek(rc->rc_shm, idx, &gen);
    /* Only the current holder's results count: a reclaimed job's old owner
     * is voided by the new generation. */
    if (!pj->pj_used || gen != m->wm_generation || (st != SHM_JOB_CLAIMED && st != SHM_JOB_DONE))
        return;
    err_info e = {0};
    switch (m->wm_kind) {
    case WIRE_ASSOC_SETS:
        assoc_buf_reset(&pj->pj_sets);
        if (pj->pj_kind != JOB_ASSOC_SCAN || wire_assoc_sets_decode(m, &pj->pj_sets, &e))
            log_warn("worker %d sent a bad result: %s", slot, e.ei_msg);
        else
            merge_sets(rc, pj);
        break;
    case WIRE_OBJECTS: {
        const job_object_list *jl = (const job_object_list *)pj->pj_payload;
        merge_objects(rc, &m->wm_objects, jl->jl_archived);
        break;
    }
    case WIRE_JOB_DONE:
        if (shm_job_complete(rc->rc_shm, idx, gen))
            job_done(rc, idx, &m->wm_done);
        break;
    default:
        break;
    }
}

static void on_death(void *ctx, int slot, int status, bool crashed, bool fatal)
{
    run_ctx *rc = ctx;
    (void)status;
    if (crashed)
        log_warn("worker %d died holding jobs; they were reclaimed", slot);
    if (fatal && !rc->rc_fatal) {
        rc->rc_fatal = EXIT_INCOMPLETE;
        snprintf(rc->rc_fatal_msg, sizeof(rc->rc_fatal_msg), "worker %d failed to start", slot);
    }
}

/* ------------------------------------------------------------ switch-on */

/* Phase 2 and 3 of SPEC §4: the table's options from its stored schema and
 * cursor, and the route they take. ping_type always comes from the schema
 * (default read_full_ping), and a cursor of the wrong kind is never sent. */
static int switch_on(run_ctx *rc, table_run *tr, err_info *e)
{
    store_schema sc;
    store_schema_init(&sc);
    int r = store_get_schema(rc->rc_txn, tr->tr_table, &sc, e);
    tr->tr_ping = r == 0 ? sc.sc_ping_type : STORE_PING_FULL;
    store_schema_free(&sc);
    if (r && r != ERR_NOT_FOUND)
        return r;
    if (r == ERR_NOT_FOUND)
        log_warn("%s: no table schema yet (run `hubsync setup`): using read_full_ping",
                 tr->tr_name);
    if ((r = store_get_state(rc->rc_txn, tr->tr_name, &tr->tr_state, e)))
        return r;
    const store_cursor *c = &tr->tr_state.ss_cursor;
    tr->tr_route = route_next(tr->tr_ping, &tr->tr_state);
    if (tr->tr_route == STORE_ROUTE_INCREMENTAL) {
        /* The incremental route is built in a later step; until then the
         * only correct thing is a full scan, and the cursor stays a timestamp
         * until it completes. */
        log_warn("%s: incremental route not built yet; running a full scan", tr->tr_name);
        tr->tr_route = STORE_ROUTE_FULL_SCAN;
    }
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
    store_run *run = &tr->tr_state.ss_last_run;
    memset(run, 0, sizeof(*run));
    run->sr_route = tr->tr_route;
    run->sr_started_ms = rc->rc_started_ms;
    tr->tr_state.ss_runs++;
    log_info("%s: %s, route %s", tr->tr_name, store_ping_type_name(tr->tr_ping),
             store_route_name(tr->tr_route));
    return 0;
}

/* ------------------------------------------------------------- summary */

static void summary(run_ctx *rc, double seconds)
{
    const hubsync_config *c = rc->rc_cfg;
    uint64_t calls = rc->rc_calls[CONFIG_MAX_TABLES].wc_calls;
    for (int i = 0; i < rc->rc_ntables; i++)
        calls += rc->rc_calls[i].wc_calls;
    double limit = c->c_rate ? (double)c->c_rate / ((double)c->c_rate_window_ms / 1000.0) : 0;
    double rate = seconds > 0 ? (double)calls / seconds : 0;
    if (c->c_json) {
        printf("{\"seconds\":%.3f,\"calls\":%llu,\"rate_per_s\":%.2f,\"rate_limit_per_s\":%.2f,"
               "\"tables\":[",
               seconds, (unsigned long long)calls, rate, limit);
        for (int i = 0; i < rc->rc_ntables; i++) {
            const table_run *tr = &rc->rc_tables[i];
            const store_run *r = &tr->tr_state.ss_last_run;
            const wire_counters *k = &rc->rc_calls[i];
            printf("%s{\"table\":\"%s\",\"route\":\"%s\",\"completed\":%s,\"parents\":%llu,"
                   "\"added\":%llu,\"removed\":%llu,\"relabelled\":%llu,\"assoc_calls\":%llu,"
                   "\"retries\":%llu,\"http_429\":%llu}",
                   i ? "," : "", tr->tr_name, store_route_name(tr->tr_route),
                   r->sr_completed ? "true" : "false", (unsigned long long)r->sr_parents,
                   (unsigned long long)r->sr_added, (unsigned long long)r->sr_removed,
                   (unsigned long long)r->sr_relabelled, (unsigned long long)k->wc_calls,
                   (unsigned long long)k->wc_retries, (unsigned long long)k->wc_throttled);
        }
        const wire_counters *o = &rc->rc_calls[CONFIG_MAX_TABLES];
        printf("],\"object_sync\":{\"calls\":%llu,\"retries\":%llu,\"http_429\":%llu}}\n",
               (unsigned long long)o->wc_calls, (unsigned long long)o->wc_retries,
               (unsigned long long)o->wc_throttled);
        return;
    }
    fprintf(stderr, "\n%-20s %-17s %9s %9s %9s %9s %7s %7s %5s\n", "table", "route", "parents",
            "added", "removed", "relabel", "calls", "retries", "429s");
    for (int i = 0; i < rc->rc_ntables; i++) {
        const table_run *tr = &rc->rc_tables[i];
        const store_run *r = &tr->tr_state.ss_last_run;
        const wire_counters *k = &rc->rc_calls[i];
        fprintf(stderr, "%-20s %-17s %9llu %9llu %9llu %9llu %7llu %7llu %5llu%s\n", tr->tr_name,
                store_route_name(tr->tr_route), (unsigned long long)r->sr_parents,
                (unsigned long long)r->sr_added, (unsigned long long)r->sr_removed,
                (unsigned long long)r->sr_relabelled, (unsigned long long)k->wc_calls,
                (unsigned long long)k->wc_retries, (unsigned long long)k->wc_throttled,
                r->sr_completed ? "" : "  (incomplete)");
    }
    const wire_counters *o = &rc->rc_calls[CONFIG_MAX_TABLES];
    fprintf(stderr, "%-20s %-17s %9s %9s %9s %9s %7llu %7llu %5llu\n", "object sync", "list", "",
            "", "", "", (unsigned long long)o->wc_calls, (unsigned long long)o->wc_retries,
            (unsigned long long)o->wc_throttled);
    fprintf(stderr, "%llu API calls in %.1f s: %.1f/s", (unsigned long long)calls, seconds, rate);
    if (limit > 0)
        fprintf(stderr, " (%.0f%% of the %u/%llds limit)", 100.0 * rate / limit, c->c_rate,
                (long long)(c->c_rate_window_ms / 1000));
    fprintf(stderr, "\n");
}

/* ------------------------------------------------------------ progress */

static bool progress_wanted(const hubsync_config *c)
{
    return c->c_progress == PROGRESS_ALWAYS ||
           (c->c_progress == PROGRESS_AUTO && isatty(STDERR_FILENO) && !c->c_log_json);
}

/* One line, redrawn in place: parents merged of those to scan, calls, rate. */
static void progress(run_ctx *rc, double seconds, bool final)
{
    uint64_t merged = 0, total = 0, calls = rc->rc_calls[CONFIG_MAX_TABLES].wc_calls;
    for (int i = 0; i < rc->rc_ntables; i++) {
        table_run *tr = &rc->rc_tables[i];
        uint64_t n = 0;
        err_info e = {0};
        calls += rc->rc_calls[i].wc_calls;
        merged += tr->tr_state.ss_last_run.sr_parents;
        if (tr->tr_objects_ready && txn_open(rc) == 0 &&
            store_count_objects(rc->rc_txn, tr->tr_table.t_parent, &n, &e) == 0)
            total += n;
    }
    int width = 30, filled = total ? (int)((double)width * (double)merged / (double)total) : 0;
    if (filled > width)
        filled = width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %llu/%llu parents  %llu calls  %.1f/s ", bar,
            (unsigned long long)merged, (unsigned long long)total, (unsigned long long)calls,
            seconds > 0 ? (double)calls / seconds : 0.0);
    if (final)
        fputc('\n', stderr);
}

/* ------------------------------------------------------------------ run */

static bool all_done(const run_ctx *rc)
{
    for (int i = 0; i < rc->rc_ntables; i++)
        if (rc->rc_tables[i].tr_scanning && !rc->rc_tables[i].tr_done)
            return false;
    return rc->rc_inflight_jobs == 0;
}

static int open_store(run_ctx *rc, err_info *e)
{
    int r = store_open(rc->rc_cfg->c_db_dir, NULL, &rc->rc_store, e);
    if (r == ERR_LOCKED)
        return EXIT_LOCKED;
    if (r)
        return r == ERR_CORRUPT ? EXIT_USAGE : EXIT_INCOMPLETE;
    return 0;
}

static shm_region *create_region(const hubsync_config *c, err_info *e)
{
    shm_region *shm = NULL;
    if (shm_create((uint32_t)c->c_workers, &shm, e))
        return NULL;
    /* Pace over the window plus a margin (1% of it, at least 50 ms): HubSpot
     * counts arrivals, and a request scheduled late by that much relative to
     * one N slots later would otherwise land N + 1 in one window. */
    uint64_t w = (uint64_t)c->c_rate_window_ms * MS_NS;
    rl_policy_init(&shm->sr_burst, c->c_rate, w, w / 100 > 50 * MS_NS ? w / 100 : 50 * MS_NS);
    uint64_t sw = (uint64_t)c->c_search_window_ms * MS_NS;
    rl_policy_init(&shm->sr_search, c->c_search_rate, sw,
                   sw / 100 > 50 * MS_NS ? sw / 100 : 50 * MS_NS);
    rl_daily_init(&shm->sr_daily, c->c_daily);
    if (!c->c_oauth)
        shm_token_set(shm, c->c_token, 0);
    return shm;
}

/* One run: switch-on, object sync, scans, summary. Returns the exit code. */
static int run_once(const hubsync_config *c)
{
    /* Over a megabyte (a ring per table): on the heap, not the stack. */
    run_ctx *rc = calloc(1, sizeof(*rc));
    if (!rc) {
        log_error("out of memory");
        return EXIT_INCOMPLETE;
    }
    err_info e = {0};
    int exit_code = EXIT_INCOMPLETE;
    rc->rc_cfg = c;
    rc->rc_started_ms = clock_wall_ms();
    rc->rc_ntables = c->c_ntables;
    rc->rc_max_inflight_jobs = c->c_workers * c->c_inflight * 2;
    if (rc->rc_max_inflight_jobs > SHM_MAX_JOBS - 8)
        rc->rc_max_inflight_jobs = SHM_MAX_JOBS - 8;
    uint64_t t0 = clock_mono_ns();
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc->rc_jobs = calloc(SHM_MAX_JOBS, sizeof(planned_job));
    if (!rc->rc_jobs || !(rc->rc_shm = create_region(c, &e))) {
        log_error("%s", e.ei_msg[0] ? e.ei_msg : "out of memory");
        goto out;
    }
    worker_config wc = {c->c_base_url,
                        c->c_inflight,
                        c->c_oauth ? c->c_refresh_token : NULL,
                        c->c_oauth ? c->c_client_id : NULL,
                        c->c_oauth ? c->c_client_secret : NULL,
                        c->c_ca_file[0] ? c->c_ca_file : NULL,
                        c->c_tables,
                        c->c_ntables};
    /* Workers first, LMDB after: no LMDB environment ever crosses fork(). */
    if (pool_start(rc->rc_shm, c->c_workers, &wc, &rc->rc_pool, &e)) {
        log_error("%s", e.ei_msg);
        goto out;
    }
    if ((exit_code = open_store(rc, &e)) != 0) {
        log_error("%s", e.ei_msg);
        goto out;
    }
    exit_code = EXIT_INCOMPLETE;
    if (txn_open(rc))
        goto out;
    for (int i = 0; i < rc->rc_ntables; i++) {
        table_run *tr = &rc->rc_tables[i];
        tr->tr_table = c->c_tables[i];
        hs_table_name(tr->tr_table, tr->tr_name, sizeof(tr->tr_name));
        if (switch_on(rc, tr, &e)) {
            log_error("%s: %s", tr->tr_name, e.ei_msg);
            exit_code = e.ei_code == ERR_CORRUPT ? EXIT_USAGE : EXIT_INCOMPLETE;
            goto out;
        }
        put_table_state(rc, tr);
    }
    if (txn_commit(rc))
        goto out;
    plan_object_sync(rc);
    pool_events ev = {on_message, on_death, rc};
    bool draining = false, show = progress_wanted(c);
    if (show)
        log_setup(c->c_log_json, LOG_WARN); /* the bar tells the story; keep warnings */
    uint64_t last_reclaim = clock_mono_ns(), last_progress = 0;
    while (!rc->rc_store_failed) {
        if ((stop_requested || rc->rc_fatal) && !draining) {
            log_info(rc->rc_fatal ? "stopping: %s" : "%s: draining in-flight work",
                     rc->rc_fatal ? rc->rc_fatal_msg : "signal received");
            pool_drain(rc->rc_pool);
            draining = true;
        }
        if (draining && pool_alive(rc->rc_pool) == 0)
            break;
        if (!draining) {
            plan_scans(rc);
            if (all_done(rc))
                break;
        }
        if (pool_poll(rc->rc_pool, 100, &ev) < 0)
            break;
        uint64_t now = clock_mono_ns();
        if (show && now - last_progress > 250 * MS_NS) {
            progress(rc, (double)(now - t0) / 1e9, false);
            last_progress = now;
        }
        txn_commit(rc);
        if (now - last_reclaim > 1000 * MS_NS) {
            shm_job_reclaim(rc->rc_shm, -1, now);
            last_reclaim = now;
        }
    }
    /* Record this run's figures, finished or not. */
    for (int i = 0; i < rc->rc_ntables; i++) {
        table_run *tr = &rc->rc_tables[i];
        store_run *r = &tr->tr_state.ss_last_run;
        r->sr_finished_ms = clock_wall_ms();
        r->sr_api_calls = rc->rc_calls[i].wc_calls;
        r->sr_retries = rc->rc_calls[i].wc_retries;
        r->sr_http_429 = rc->rc_calls[i].wc_throttled;
        put_table_state(rc, tr);
    }
    txn_commit(rc);
    if (rc->rc_store_failed)
        exit_code = EXIT_INCOMPLETE;
    else if (rc->rc_fatal)
        exit_code = rc->rc_fatal;
    else
        exit_code = all_done(rc) ? EXIT_OK : EXIT_INCOMPLETE;
    if (show) {
        progress(rc, (double)(clock_mono_ns() - t0) / 1e9, true);
        log_setup(c->c_log_json, LOG_INFO);
    }
    if (rc->rc_fatal)
        log_error("%s", rc->rc_fatal_msg);
    summary(rc, (double)(clock_mono_ns() - t0) / 1e9);
out:
    if (rc->rc_txn)
        store_txn_abort(rc->rc_txn);
    pool_destroy(rc->rc_pool);
    store_close(rc->rc_store);
    if (rc->rc_jobs)
        for (int i = 0; i < SHM_MAX_JOBS; i++)
            assoc_buf_free(&rc->rc_jobs[i].pj_sets);
    free(rc->rc_jobs);
    shm_destroy(rc->rc_shm);
    free(rc);
    return exit_code;
}

int cmd_run(const hubsync_config *c)
{
    int rc = run_once(c);
    /* --loop: run again every --interval seconds until told to stop; a
     * usage, auth, lock or daily-limit failure ends the loop (rerunning
     * cannot fix it). SIGTERM during a run drains it first. */
    while (c->c_loop && !stop_requested && (rc == EXIT_OK || rc == EXIT_INCOMPLETE)) {
        log_info("next run in %lld s", (long long)c->c_interval_s);
        for (int64_t waited = 0; waited < c->c_interval_s * 10 && !stop_requested; waited++)
            usleep(100000);
        if (stop_requested)
            break;
        rc = run_once(c);
    }
    return rc;
}
