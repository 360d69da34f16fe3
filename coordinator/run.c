/*
 * run — `hubsync run` (see run.h): switch-on and routing, then the loop that
 * publishes jobs, merges what workers send and supervises them. The
 * coordinator is the only LMDB writer and leaves HTTP to the workers, but
 * for the re-check of the rollup fields at the start (a call per type).
 *
 * What the jobs are is planned by scan.c (the full scan) and changes.c (the
 * object sync, the change search and the incremental route); this file
 * dispatches their results. Each parent's complete set replaces the stored
 * one (deletes included), and every cursor moves in the transaction that
 * merges what it covers: kill anything at any time, and the next run
 * redoes at most what was not committed.
 */
#include "run.h"
#include "../common/base/clock.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/ipc/jobs.h"
#include "../common/base/log.h"
#include "../common/ipc/rl.h"
#include "../common/ipc/shm.h"
#include "../common/store/store.h"
#include "commands.h"
#include "labels.h"
#include "metrics.h"
#include "pool.h"
#include "route.h"
#include "run_ctx.h"

#define MS_NS 1000000ULL
/* Commit grouping: every 50 ms, or sooner when a batch grows large. */
#define COMMIT_EVERY_NS (50 * MS_NS)
enum { COMMIT_MAX_OPS = 200000, COMMIT_MAX_LOG_BYTES = 16 << 20 };

static volatile sig_atomic_t stop_requested;
/* --max-duration: when the process must have drained (CLOCK_MONOTONIC; 0: never). */
static uint64_t deadline_ns;

static bool out_of_time(void)
{
    return deadline_ns && clock_mono_ns() >= deadline_ns;
}

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested++;
}

/* ------------------------------------------------------------- merging */

/* Merges the complete sets of one ASSOC_SETS message (any part of a job). */
static void merge_sets(run_ctx *rc, planned_job *pj)
{
    table_run *tr = &rc->rc_tables[pj->pj_table];
    store_run *run = &tr->tr_state.ss_last_run;
    const job_assoc_scan *js = (const job_assoc_scan *)pj->pj_payload;
    store_txn *txn = run_txn(rc);
    if (!txn)
        return;
    store_set_delta d = {0};
    err_info e = {0};
    uint32_t before = pj->pj_nmerged;
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
        if (store_replace_set(txn, tr->tr_table, &pj->pj_sets, i, &d, &e)) {
            run_store_fail(rc, &e);
            return;
        }
        pj->pj_merged[lo] = 1;
        pj->pj_nmerged++;
    }
    if (pj->pj_role == ROLE_VERIFY) {
        /* What verification changes, the route missed: drift. */
        run->sr_verified += pj->pj_nmerged - before;
        run->sr_drift_added += d.sd_added;
        run->sr_drift_removed += d.sd_removed;
        run->sr_drift_relabelled += d.sd_relabelled;
        if (d.sd_added + d.sd_removed + d.sd_relabelled)
            log_info("%s: verification repaired drift: %llu added, %llu removed, %llu relabelled",
                     tr->tr_name, (unsigned long long)d.sd_added, (unsigned long long)d.sd_removed,
                     (unsigned long long)d.sd_relabelled);
        return;
    }
    run->sr_parents += pj->pj_nmerged - before;
    run->sr_added += d.sd_added;
    run->sr_removed += d.sd_removed;
    run->sr_relabelled += d.sd_relabelled;
    run->sr_unchanged += d.sd_unchanged;
    if (pj->pj_role == ROLE_SCAN)
        scan_advance(rc, tr); /* records the new done ranges with the data */
}

static void count_calls(wire_counters *into, const wire_counters *c)
{
    into->wc_calls += c->wc_calls;
    into->wc_retries += c->wc_retries;
    into->wc_throttled += c->wc_throttled;
    into->wc_bytes += c->wc_bytes;
}

/* Where a job's calls are counted: by the budget they spend. */
static wire_counters *calls_of(run_ctx *rc, const planned_job *pj)
{
    const job_object_list *jl = (const job_object_list *)pj->pj_payload;
    switch (pj->pj_role) {
    case ROLE_OBJECTS:
        return jl->jl_mode == LIST_PAGE ? &rc->rc_objects[jl->jl_object_type].os_list_calls
                                        : &rc->rc_objects[jl->jl_object_type].os_search_calls;
    case ROLE_SEARCH:
    case ROLE_REF_SEARCH:
        return &rc->rc_objects[((const job_search_slice *)pj->pj_payload)->jq_object_type]
                    .os_search_calls;
    case ROLE_VERIFY:
        return &rc->rc_verify_calls[pj->pj_table];
    default:
        return &rc->rc_calls[pj->pj_table];
    }
}

/* Publishes again what a failed job did not get done: for a batch read,
 * only the parents not merged yet. */
static void retry_job(run_ctx *rc, planned_job *pj)
{
    static uint8_t payload[SHM_JOB_PAYLOAD]; /* run_publish() may reuse pj's slot */
    uint32_t kind = pj->pj_kind, len = pj->pj_payload_len;
    job_role role = pj->pj_role;
    int table = pj->pj_table, attempts = pj->pj_attempts + 1, from = (int)(pj - rc->rc_jobs);
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
    int idx = run_publish(rc, kind, role, payload, len, table, seq, attempts);
    if (idx < 0)
        run_fatal(rc, EXIT_INCOMPLETE, "the job queue is full (%d jobs)", SHM_MAX_JOBS);
    else
        scan_job_moved(rc, role, table, from, idx);
}

/* Whether a job that reported success did all it was for. */
static bool job_complete(const planned_job *pj)
{
    if (pj->pj_kind == JOB_ASSOC_SCAN)
        return pj->pj_nmerged == ((const job_assoc_scan *)pj->pj_payload)->js_count;
    return pj->pj_answered; /* its page (or its search result) arrived */
}

static void job_failed(run_ctx *rc, planned_job *pj, const wire_job_done *d)
{
    switch (d->wjd_status) {
    case ERR_AUTH:
        run_fatal(rc, EXIT_AUTH, "%s", d->wjd_message);
        return;
    case ERR_DAILY:
        run_fatal(rc, EXIT_DAILY, "%s", d->wjd_message);
        return;
    case ERR_TLS:
        /* Every request meets the same certificate: a configuration error. */
        run_fatal(rc, EXIT_USAGE, "%s", d->wjd_message);
        return;
    case ERR_REJECTED:
        /* HubSpot refused the request itself (400): asking again cannot
         * help, and the window's cursor must not move past it. */
        run_fatal(rc, EXIT_INCOMPLETE, "%s", d->wjd_message);
        return;
    default:
        break;
    }
    const char *why = d->wjd_status                   ? d->wjd_message
                      : pj->pj_kind == JOB_ASSOC_SCAN ? "parents missing"
                                                      : "no result";
    log_warn("job failed (%s), attempt %d: %s",
             err_strerror(d->wjd_status ? d->wjd_status : ERR_SHAPE), pj->pj_attempts + 1, why);
    if (pj->pj_attempts + 1 >= RUN_MAX_JOB_ATTEMPTS) {
        run_fatal(rc, EXIT_INCOMPLETE, "a job failed %d times: %s", RUN_MAX_JOB_ATTEMPTS, why);
        return;
    }
    retry_job(rc, pj);
}

static void job_done(run_ctx *rc, int idx, const wire_job_done *d)
{
    planned_job *pj = &rc->rc_jobs[idx];
    count_calls(calls_of(rc, pj), &d->wjd_counters);
    if (log_enabled(LOG_DEBUG)) {
        char what[128];
        run_job_describe(rc, pj, what, sizeof(what));
        log_debug("job %d done after %.0f ms, %llu calls: %s", idx,
                  (double)(clock_mono_ns() - pj->pj_published_ns) / 1e6,
                  (unsigned long long)d->wjd_counters.wc_calls, what);
    }
    rc->rc_inflight_jobs--;
    rc->rc_budget_jobs[job_budget(pj->pj_kind, pj->pj_payload, pj->pj_payload_len)]--;
    pj->pj_used = false;
    assoc_buf_free(&pj->pj_sets); /* before what follows reuses the slot */
    if (d->wjd_status != 0 || !job_complete(pj)) {
        job_failed(rc, pj, d);
    } else {
        switch (pj->pj_role) {
        case ROLE_SCAN:
            scan_job_merged(rc, pj);
            break;
        case ROLE_INCREMENTAL:
            changes_batch_done(rc, pj);
            break;
        case ROLE_OBJECTS:
        case ROLE_SEARCH:
            changes_job_done(rc, pj);
            break;
        case ROLE_VERIFY:
            verify_job_merged(rc, pj);
            break;
        case ROLE_REF_SEARCH:
            refdesign_job_done(rc, pj);
            break;
        }
    }
}

static void on_message(void *ctx, int slot, const wire_msg *m)
{
    run_ctx *rc = ctx;
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
    case WIRE_OBJECTS:
        if (pj->pj_kind == JOB_OBJECT_LIST)
            listing_merge(rc, pj, &m->wm_objects);
        break;
    case WIRE_SEARCH_RESULT:
        if (pj->pj_role == ROLE_REF_SEARCH && !pj->pj_answered)
            refdesign_merge(rc, pj, &m->wm_search);
        else if (pj->pj_kind == JOB_SEARCH_SLICE && !pj->pj_answered)
            changes_merge_search(rc, pj, &m->wm_search);
        else if (pj->pj_kind == JOB_OBJECT_LIST && !pj->pj_answered)
            listing_merge_max_id(rc, pj, &m->wm_search);
        break;
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
    if (fatal)
        run_fatal(rc, EXIT_INCOMPLETE, "worker %d failed to start", slot);
}

/* ------------------------------------------------------------ switch-on */

/* Reads state record `name` (a table or "objects.{type}") before anything
 * is sent. A damaged record stops the run with the way out, or, under
 * --full-scan, which starts that state over anyway, is logged and read as
 * "never synced" (its data is kept and replaced as the sync goes). */
static int read_state(run_ctx *rc, const char *name, store_state *st, err_info *e)
{
    int r = store_get_state(rc->rc_txn, name, st, e);
    if (r != ERR_CORRUPT)
        return r;
    if (!rc->rc_cfg->c_full_scan)
        return record_damaged(e, name, false);
    log_warn("%s: the stored cursor record is damaged (%s): --full-scan starts it over", name,
             e->ei_msg);
    memset(st, 0, sizeof(*st));
    return 0;
}

/* The object sync state of every parent type, checked before the first
 * write of the run: a damaged one must stop the run before switch-on
 * commits anything. Under --full-scan a damaged one is written back as
 * "never synced" (its objects are listed again). */
static int check_object_states(run_ctx *rc, err_info *e)
{
    bool done[HS_OBJECT_TYPE_COUNT] = {false};
    store_state *st = malloc(sizeof(*st)); /* 8 KiB: not on the stack */
    if (!st)
        return err_set(e, ERR_NOMEM, "out of memory");
    int r = 0;
    for (int i = 0; i < rc->rc_ntables && r == 0; i++) {
        hs_object_type type = rc->rc_cfg->c_tables[i].t_parent;
        if (done[type])
            continue;
        done[type] = true;
        char name[STORE_NAME_MAX];
        snprintf(name, sizeof(name), "objects.%s", hs_object(type)->oi_plural);
        err_info probe = {0};
        bool damaged = store_get_state(rc->rc_txn, name, st, &probe) == ERR_CORRUPT;
        if ((r = read_state(rc, name, st, e)) != 0)
            r = err_wrap(e, "%s: ", name);
        else if (damaged)
            r = store_put_state(rc->rc_txn, name, st, e);
    }
    free(st);
    return r;
}

/* A table switched on incremental whose rollup fields are no longer what its
 * schema holds (gone, renamed, more or fewer) would go on searching for bumps
 * that may never come: its schema is stored as setup would store it now, and
 * the table takes a full scan this run instead (no fields: read_full_ping;
 * other fields: newer than the cursor), with a warning. */
static int recheck_table(run_ctx *rc, table_run *tr, err_info *e)
{
    store_schema old, now;
    size_t ignored = 0;
    store_schema_init(&old);
    store_schema_init(&now);
    int r = store_get_schema(rc->rc_txn, tr->tr_table, &old, e);
    if (r == 0)
        r = rollup_detect(&rc->rc_props, tr->tr_table, &now, &ignored, e);
    if (r == 0 && !schema_equal(&old, &now)) {
        log_warn("%s: the rollup fields on %s are %s in HubSpot (%zu stored, %zu found): a full "
                 "scan this run; the table schema is updated as `hubsync setup` would",
                 tr->tr_name, hs_object(tr->tr_table.t_parent)->oi_plural,
                 now.sc_nrollup_field_labels ? "changed" : "gone", old.sc_nrollup_field_labels,
                 now.sc_nrollup_field_labels);
        schema_carry_since(&old, &now, rc->rc_started_ms);
        r = store_put_schema(rc->rc_txn, tr->tr_table, &now, e);
        tr->tr_ping = now.sc_ping_type;
        tr->tr_route = route_next(&now, &tr->tr_state);
        tr->tr_incremental = tr->tr_verifying = false;
        tr->tr_verify_quota = 0;
        memcpy(tr->tr_count_field, now.sc_count_field, sizeof(tr->tr_count_field));
        scan_begin(rc, tr);
        tr->tr_state.ss_last_run.sr_route = tr->tr_route;
        run_put_table_state(rc, tr);
    } else if (r == 0 && strcmp(old.sc_count_field, now.sc_count_field) != 0) {
        /* The same fields, the count's name found (a record from before
         * it was kept) or renamed: the first list's hint follows it. */
        memcpy(old.sc_count_field, now.sc_count_field, sizeof(old.sc_count_field));
        r = store_put_schema(rc->rc_txn, tr->tr_table, &old, e);
    }
    store_schema_free(&old);
    store_schema_free(&now);
    return r;
}

/* What the coordinator's own slot has sent since `base` (API calls, as the
 * workers count them: token refreshes are not). */
static wire_counters own_calls_since(const run_ctx *rc, const wire_counters *base)
{
    const shm_counters *k = &rc->rc_shm->sr_slots[rc->rc_shm->sr_nworkers - 1].sl_counters;
    wire_counters now = {
        .wc_calls = atomic_load(&k->requests) - atomic_load(&k->token_requests),
        .wc_retries = atomic_load(&k->retries),
        .wc_throttled = atomic_load(&k->status_429),
    };
    now.wc_calls -= base->wc_calls;
    now.wc_retries -= base->wc_retries;
    now.wc_throttled -= base->wc_throttled;
    return now;
}

/* Reads again the label catalogs older than LABELS_MAX_AGE_MS (or never
 * read), from the coordinator's slot like the re-check, and stores them.
 * Returns an exit code, or 0. */
static int refresh_labels(run_ctx *rc)
{
    const hubsync_config *c = rc->rc_cfg;
    hs_table stale[CONFIG_MAX_TABLES];
    size_t n = 0;
    store_labels have = {0};
    err_info e = {0};
    int r = 0;
    for (int i = 0; i < rc->rc_ntables && r == 0; i++) {
        r = store_get_labels(rc->rc_txn, rc->rc_tables[i].tr_table, &have, &e);
        if (r == ERR_NOT_FOUND || r == ERR_CORRUPT ||
            (r == 0 && rc->rc_started_ms - have.sl_read_ms > LABELS_MAX_AGE_MS))
            stale[n++] = rc->rc_tables[i].tr_table;
        r = r == ERR_NOT_FOUND || r == ERR_CORRUPT ? 0 : r;
    }
    store_labels_free(&have);
    if (r != 0 || n == 0) {
        if (r)
            log_error("%s", e.ei_msg);
        return r ? cmd_exit_code(r) : 0;
    }
    hs_assoc_labels got[CONFIG_MAX_TABLES];
    bool done[CONFIG_MAX_TABLES];
    unsigned long long calls = 0;
    for (size_t i = 0; i < n; i++)
        hs_assoc_labels_init(&got[i]);
    wire_counters base = own_calls_since(rc, &(wire_counters){0});
    r = labels_fetch(c, rc->rc_shm, stale, n, got, done, &calls);
    rc->rc_labels_calls = own_calls_since(rc, &base);
    for (size_t i = 0; i < n && r == 0; i++) {
        bool changed = false;
        if (done[i] && labels_save(rc->rc_txn, stale[i], &got[i], clock_wall_ms(), &changed, &e)) {
            log_error("labels: %s", e.ei_msg);
            r = cmd_exit_code(e.ei_code);
        }
    }
    for (size_t i = 0; i < n; i++)
        hs_assoc_labels_free(&got[i]);
    return r;
}

/* A run re-checks the rollup fields of the tables it switched on
 * incremental, one properties call per parent type. Done after switch-on,
 * so a damaged record or a cursor that must not be sent stops the run
 * before any call; sent from the coordinator's own slot under the run's
 * limiter while the workers send the first searches (run_start). Returns
 * an exit code (the fetch or the store said why), or 0. */
static int recheck_rollups(run_ctx *rc)
{
    parent_props *pp = &rc->rc_props;
    bool any = false;
    for (int i = 0; i < rc->rc_ntables; i++)
        if (rc->rc_tables[i].tr_route == STORE_ROUTE_INCREMENTAL)
            any = pp->pp_wanted[rc->rc_tables[i].tr_table.t_parent] = true;
    if (!any)
        return 0;
    int r = parent_props_fetch(rc->rc_cfg, pp, rc->rc_shm);
    rc->rc_props_calls = own_calls_since(rc, &(wire_counters){0});
    log_debug("rollup re-check: %llu properties calls answered",
              (unsigned long long)rc->rc_props_calls.wc_calls);
    for (int i = 0; i < rc->rc_ntables && r == 0; i++) {
        table_run *tr = &rc->rc_tables[i];
        err_info e = {0};
        if (tr->tr_route == STORE_ROUTE_INCREMENTAL && pp->pp_have[tr->tr_table.t_parent] &&
            recheck_table(rc, tr, &e) != 0) {
            log_error("%s: %s", tr->tr_name, e.ei_msg);
            r = cmd_exit_code(e.ei_code);
        }
    }
    return r;
}

/* An incremental schema that does not say when its rollup fields appeared
 * (written by an older hubsync) is given this run's start: its cursor is
 * then not trusted (route_next), and this run's full scan makes it so. */
static int note_rollups_since(run_ctx *rc, table_run *tr, store_schema *sc, err_info *e)
{
    if (sc->sc_ping_type != STORE_PING_INCREMENTAL || sc->sc_rollups_since_ms > 0)
        return 0;
    sc->sc_rollups_since_ms = rc->rc_started_ms;
    log_warn("%s: the schema does not record when its rollup fields appeared (written by an "
             "older hubsync): counting them from now",
             tr->tr_name);
    return store_put_schema(rc->rc_txn, tr->tr_table, sc, e);
}

/* Phases 2 and 3 (docs/CLI.md, `hubsync run`): the table's options from its stored schema and
 * cursor, and the route they take. ping_type always comes from the schema
 * (default read_full_ping), and a cursor of the wrong kind is never sent. */
static int switch_on(run_ctx *rc, table_run *tr, err_info *e)
{
    store_schema sc;
    store_schema_init(&sc);
    int r = store_get_schema(rc->rc_txn, tr->tr_table, &sc, e);
    if (r == ERR_CORRUPT)
        r = record_damaged(e, tr->tr_name, true);
    else if (r == ERR_NOT_FOUND)
        log_warn("%s: no table schema yet (run `hubsync setup`): using read_full_ping",
                 tr->tr_name);
    else if (r == 0)
        r = note_rollups_since(rc, tr, &sc, e);
    if (r && r != ERR_NOT_FOUND)
        goto out;
    const store_schema *known = r == 0 ? &sc : NULL;
    tr->tr_ping = known ? sc.sc_ping_type : STORE_PING_FULL;
    if ((r = read_state(rc, tr->tr_name, &tr->tr_state, e)))
        goto out;
    /* --reference-design: the reference's plain routing table, without the
     * trusted-cursor rule, and no verification. */
    bool reference = rc->rc_cfg->c_reference;
    tr->tr_route = rc->rc_cfg->c_full_scan ? STORE_ROUTE_FULL_SCAN
                   : reference             ? route_plain(known, &tr->tr_state)
                                           : route_next(known, &tr->tr_state);
    const char *why = reference ? NULL : route_reason(known, &tr->tr_state);
    if (why && !rc->rc_cfg->c_full_scan)
        log_warn("%s: %s", tr->tr_name, why);
    if (tr->tr_route == STORE_ROUTE_INCREMENTAL) {
        if ((r = changes_begin_table(tr, e)))
            goto out;
        if (!reference)
            verify_begin(rc, tr);
    } else {
        if (known && !reference)
            memcpy(tr->tr_count_field, sc.sc_count_field, sizeof(tr->tr_count_field));
        scan_begin(rc, tr);
    }
    store_run *run = &tr->tr_state.ss_last_run;
    memset(run, 0, sizeof(*run));
    run->sr_route = tr->tr_route;
    run->sr_started_ms = rc->rc_started_ms;
    tr->tr_state.ss_runs++;
    log_fields f = run_table_fields(rc, tr, "route_chosen");
    f.lf_set = 0; /* nothing merged or read yet */
    log_event(LOG_INFO, &f, "%s: %s, route %s", tr->tr_name, store_ping_type_name(tr->tr_ping),
              store_route_name(tr->tr_route));
out:
    store_schema_free(&sc);
    return r;
}

/* ------------------------------------------------------------------ run */

static bool all_done(const run_ctx *rc)
{
    for (int i = 0; i < rc->rc_ntables; i++)
        if (!rc->rc_tables[i].tr_done || rc->rc_tables[i].tr_verifying)
            return false;
    return rc->rc_inflight_jobs == 0;
}

/* How many jobs to keep published: twice what the workers hold at once,
 * which follows the latency (budget_inflight), so a worker that finishes
 * one always finds the next. List and search jobs (a few per parent type
 * and chain) always find room in the rest of the queue. */
static int plan_depth(run_ctx *rc)
{
    const hubsync_config *c = rc->rc_cfg;
    int held = 0;
    budget *budgets[] = {&rc->rc_shm->sr_burst, &rc->rc_shm->sr_search};
    for (size_t i = 0; i < sizeof(budgets) / sizeof(budgets[0]); i++) {
        int k = (int)budget_inflight(budgets[i], c->c_workers);
        held += k < c->c_workers * c->c_inflight ? k : c->c_workers * c->c_inflight;
    }
    int depth = 2 * held;
    return depth > SHM_MAX_JOBS - 128 ? SHM_MAX_JOBS - 128 : depth;
}

static int open_store(run_ctx *rc, err_info *e)
{
    int r = store_open(rc->rc_cfg->c_db_dir, NULL, &rc->rc_store, e);
    /* A damaged database or a --db that cannot be used: 2, as for every
     * command (rerunning cannot fix it); locked 4; anything else 1. */
    return r ? cmd_exit_code(r) : 0;
}

void run_init_limits(const hubsync_config *c, shm_region *r)
{
    budget_init(&r->sr_burst, c->c_rate_limit, (uint64_t)c->c_rate_window_ms * MS_NS,
                c->c_rate_given, c->c_budget_fraction);
    budget_init(&r->sr_search, c->c_search_rate, (uint64_t)c->c_search_window_ms * MS_NS, true,
                1.0);
    rl_daily_init(&r->sr_daily, c->c_daily);
    rl_daily_set_reserve(&r->sr_daily, c->c_daily_reserve);
}

static shm_region *create_region(const hubsync_config *c, err_info *e)
{
    shm_region *shm = NULL;
    /* One slot more than workers: the coordinator's own (recheck_rollups). */
    if (shm_create((uint32_t)c->c_workers + 1, &shm, e))
        return NULL;
    run_init_limits(c, shm);
    if (!c->c_oauth)
        shm_token_set(shm, c->c_token, 0);
    return shm;
}

/* A table this run loads from empty (a full scan of no associations) is
 * not noted in the change feed: a snapshot taken after it holds the load,
 * and its feed starts there (store_feed_skip_table). */
static int feed_skip_first_load(run_ctx *rc, table_run *tr, err_info *e)
{
    uint64_t n = 0;
    if (tr->tr_route != STORE_ROUTE_FULL_SCAN)
        return 0;
    int r = store_count_assoc(rc->rc_txn, tr->tr_table, &n, e);
    return r != 0 || n != 0 ? r : store_feed_skip_table(rc->rc_txn, tr->tr_table, e);
}

/* Starts a run: signals, the shared region, the workers, then LMDB (no
 * LMDB environment ever crosses fork()), every table's switch-on, the
 * rollup re-check, and the object syncs. Returns 0, or the exit code of a
 * run that cannot start. */
static int run_start(run_ctx *rc)
{
    const hubsync_config *c = rc->rc_cfg;
    err_info e = {0};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc->rc_jobs = calloc(SHM_MAX_JOBS, sizeof(planned_job));
    if (!rc->rc_jobs || !(rc->rc_shm = create_region(c, &e))) {
        log_error("%s", e.ei_msg[0] ? e.ei_msg : "out of memory");
        return EXIT_INCOMPLETE;
    }
    rc->rc_max_inflight_jobs = plan_depth(rc);
    worker_config wc = {c->c_base_url,
                        c->c_inflight,
                        c->c_oauth ? c->c_refresh_token : NULL,
                        c->c_oauth ? c->c_client_id : NULL,
                        c->c_oauth ? c->c_client_secret : NULL,
                        c->c_ca_file[0] ? c->c_ca_file : NULL,
                        c->c_tables,
                        c->c_ntables};
    if (pool_start(rc->rc_shm, c->c_workers, &wc, &rc->rc_pool, &e)) {
        log_error("%s", e.ei_msg);
        return EXIT_INCOMPLETE;
    }
    int exit_code = open_store(rc, &e);
    if (exit_code != 0) {
        log_error("%s", e.ei_msg);
        return exit_code;
    }
    if (!run_txn(rc))
        return EXIT_INCOMPLETE;
    if (store_feed_begin(rc->rc_txn, rc->rc_started_ms, &rc->rc_run_number, &e)) {
        log_error("%s", e.ei_msg);
        return cmd_exit_code(e.ei_code);
    }
    if (check_object_states(rc, &e)) {
        log_error("%s", e.ei_msg);
        return cmd_exit_code(e.ei_code);
    }
    for (int i = 0; i < rc->rc_ntables; i++) {
        table_run *tr = &rc->rc_tables[i];
        tr->tr_table = c->c_tables[i];
        hs_table_name(tr->tr_table, tr->tr_name, sizeof(tr->tr_name));
        if (switch_on(rc, tr, &e) || feed_skip_first_load(rc, tr, &e)) {
            log_error("%s: %s", tr->tr_name, e.ei_msg);
            return e.ei_code == ERR_CORRUPT ? EXIT_USAGE : EXIT_INCOMPLETE;
        }
        run_put_table_state(rc, tr);
    }
    /* The first searches and list pages go out before the re-check, so the
     * workers send them while the coordinator's slot re-checks (a round
     * trip saved). Their answers wait in the pipes until the loop, when a
     * table the re-check sends to a full scan is no longer incremental and
     * takes no parent from them; the window its cursor widened stays, which
     * costs pages but loses nothing (take_changed filters by each table's
     * own cursor). */
    changes_start(rc);
    pool_wake(rc->rc_pool);
    /* A re-check that failed (refused credentials, HubSpot unreachable)
     * ends the run as a failed job would: drained, with its summary. */
    int recheck = c->c_reference ? 0 : recheck_rollups(rc); /* the reference has none */
    if (recheck)
        run_fatal(rc, recheck, "the rollup fields could not be re-checked (above)");
    else if ((recheck = c->c_reference ? 0 : refresh_labels(rc)) != 0)
        run_fatal(rc, recheck, "the association labels could not be read (above)");
    return run_commit(rc) ? EXIT_INCOMPLETE : 0;
}

/* The run's loop: plan, wake the workers, merge what they send, commit in
 * groups, reclaim expired leases; on a signal, a fatal error or
 * --max-duration, drain. Returns when everything is done, the workers have
 * drained, or the store failed. `t0` is the run's start (for the bar). */
static void run_loop(run_ctx *rc, uint64_t t0)
{
    const hubsync_config *c = rc->rc_cfg;
    pool_events ev = {on_message, on_death, rc};
    bool draining = false, show = report_progress_wanted(c);
    if (show) /* the bar tells the story; keep warnings (and less, at --log-level error) */
        log_setup(c->c_log_json, c->c_log_level > LOG_WARN ? c->c_log_level : LOG_WARN);
    uint64_t last_reclaim = clock_mono_ns(), last_progress = 0, woken = 0, last_commit = 0;
    bool warned_no_daily = false;
    while (!rc->rc_store_failed) {
        if ((stop_requested || rc->rc_fatal || out_of_time()) && !draining) {
            log_info(rc->rc_fatal ? "stopping: %s" : "%s: draining in-flight work",
                     rc->rc_fatal     ? rc->rc_fatal_msg
                     : stop_requested ? "signal received"
                                      : "--max-duration reached");
            pool_drain(rc->rc_pool);
            draining = true;
        }
        if (draining && pool_alive(rc->rc_pool) == 0)
            break;
        if (!draining) {
            rc->rc_max_inflight_jobs = plan_depth(rc);
            changes_plan(rc);
            listing_watch(rc);
            scan_plan(rc);
            verify_plan(rc);
            if (all_done(rc))
                break;
        }
        if (rc->rc_published != woken) {
            pool_wake(rc->rc_pool);
            woken = rc->rc_published;
        }
        if (pool_poll(rc->rc_pool, 100, &ev) < 0)
            break;
        uint64_t now = clock_mono_ns();
        report_sample(rc, now);
        if (show && now - last_progress > 250 * MS_NS) {
            report_progress(rc, (double)(now - t0) / 1e9, false);
            last_progress = now;
        }
        /* A commit is an fsync: group what arrives within COMMIT_EVERY_NS
         * (or a large batch) into one. A kill loses at most that much work,
         * to be fetched again; cursors always match what is committed. */
        size_t log_bytes = 0;
        if (rc->rc_txn && (now - last_commit >= COMMIT_EVERY_NS ||
                           store_txn_pending(rc->rc_txn, &log_bytes) >= COMMIT_MAX_OPS ||
                           log_bytes >= COMMIT_MAX_LOG_BYTES)) {
            run_commit(rc);
            last_commit = now;
        }
        if (c->c_daily_reserve && !c->c_daily && !warned_no_daily &&
            rl_daily_knowledge_of(&rc->rc_shm->sr_daily) == RL_DAILY_NO_HEADERS) {
            log_warn("--daily-reserve %llu: HubSpot sends no daily-limit headers to this app "
                     "(OAuth apps get none): give the portal's limit with --daily N to keep it",
                     (unsigned long long)c->c_daily_reserve);
            warned_no_daily = true;
        }
        if (now - last_reclaim > 1000 * MS_NS) {
            shm_job_reclaim(rc->rc_shm, -1, now);
            last_reclaim = now;
        }
    }
    if (show) {
        report_progress(rc, (double)(clock_mono_ns() - t0) / 1e9, true);
        log_setup(c->c_log_json, c->c_log_level);
    }
}

/* What the Date of HubSpot's answers said of this machine's clock. One
 * that runs ahead is worked around (run_cursor_ms), not fixed: say so. */
static void report_clock(run_ctx *rc)
{
    int64_t low, high, held = skew_hold_back_ms(&rc->rc_shm->sr_skew);
    if (!skew_bounds(&rc->rc_shm->sr_skew, &low, &high))
        return;
    log_debug("clock: HubSpot's runs %+.3f to %+.3f s from this machine's (the Date of its "
              "answers)",
              (double)low / 1000.0, (double)high / 1000.0);
    if (held > 0 && !rc->rc_cfg->c_reference)
        log_warn("this machine's clock runs at least %.1f s ahead of HubSpot's (the Date of its "
                 "answers): the cursors this run stored are held back by as much, so no change "
                 "is missed, but set the clock right (NTP)",
                 (double)held / 1000.0);
}

/* Ends a run that started: records its figures, finished or not, and
 * prints its summary. Returns its exit code. */
static int run_finish(run_ctx *rc, uint64_t t0)
{
    report_clock(rc);
    for (int i = 0; i < rc->rc_ntables; i++) {
        table_run *tr = &rc->rc_tables[i];
        store_run *r = &tr->tr_state.ss_last_run;
        r->sr_finished_ms = clock_wall_ms();
        r->sr_api_calls = rc->rc_calls[i].wc_calls;
        r->sr_retries = rc->rc_calls[i].wc_retries;
        r->sr_http_429 = rc->rc_calls[i].wc_throttled;
        r->sr_verify_calls = rc->rc_verify_calls[i].wc_calls;
        run_put_table_state(rc, tr);
    }
    /* The run's end in the change feed, and the retention applied. */
    err_info e = {0};
    const hubsync_config *c = rc->rc_cfg;
    if (rc->rc_run_number && !rc->rc_store_failed && run_txn(rc) &&
        store_feed_end(rc->rc_txn, rc->rc_started_ms, clock_wall_ms(), c->c_changes_keep_runs,
                       c->c_changes_keep_ms, &e) != 0)
        run_store_fail(rc, &e);
    run_commit(rc);
    int exit_code;
    if (rc->rc_store_failed)
        exit_code = rc->rc_fatal == EXIT_USAGE ? EXIT_USAGE : EXIT_INCOMPLETE;
    else if (rc->rc_fatal)
        exit_code = rc->rc_fatal;
    else
        exit_code = all_done(rc) ? EXIT_OK : EXIT_INCOMPLETE;
    if (rc->rc_fatal)
        log_error("%s", rc->rc_fatal_msg);
    report_summary(rc, (double)(clock_mono_ns() - t0) / 1e9);
    return exit_code;
}

/* Writes the metrics file (with whatever the run got to) and frees
 * everything the run holds: workers, LMDB, the region. */
static void run_free(run_ctx *rc, int exit_code, uint64_t t0)
{
    if (rc->rc_cfg->c_metrics_file[0]) {
        err_info me = {0};
        if (metrics_write(rc, exit_code, (double)(clock_mono_ns() - t0) / 1e9, &me))
            log_error("%s", me.ei_msg);
    }
    if (rc->rc_txn)
        store_txn_abort(rc->rc_txn);
    pool_destroy(rc->rc_pool);
    store_close(rc->rc_store);
    if (rc->rc_jobs)
        for (int i = 0; i < SHM_MAX_JOBS; i++)
            assoc_buf_free(&rc->rc_jobs[i].pj_sets);
    free(rc->rc_jobs);
    changes_free(rc);
    scan_free(rc);
    parent_props_free(&rc->rc_props);
    shm_destroy(rc->rc_shm);
    free(rc);
}

/* One run: start (switch-on), the loop (object sync and change search, full
 * scans and incremental batches), finish (figures, summary). Returns the
 * exit code. */
static int run_once(const hubsync_config *c)
{
    /* Large (each type's list chains, each table's state): on the heap. */
    run_ctx *rc = calloc(1, sizeof(*rc));
    if (!rc) {
        log_error("out of memory");
        return EXIT_INCOMPLETE;
    }
    rc->rc_cfg = c;
    rc->rc_started_ms = clock_wall_ms();
    parent_props_init(&rc->rc_props);
    rc->rc_ntables = c->c_ntables;
    uint64_t t0 = clock_mono_ns();
    int exit_code = run_start(rc);
    if (exit_code == 0) {
        run_loop(rc, t0);
        exit_code = run_finish(rc, t0);
    }
    run_free(rc, exit_code, t0);
    return exit_code;
}

int cmd_run(const hubsync_config *c)
{
    /* --max-duration bounds the whole process, --loop included: a
     * scheduler's window. A run under way when it ends drains (exit 1 unless
     * it finished); a pause between runs simply ends. */
    if (c->c_max_duration_s)
        deadline_ns = clock_mono_ns() + (uint64_t)c->c_max_duration_s * 1000000000ULL;
    int rc = run_once(c);
    /* --loop: run again every --interval seconds until told to stop; a
     * usage, auth, lock or daily-limit failure ends the loop (rerunning
     * cannot fix it). SIGTERM during a run drains it first. */
    while (c->c_loop && !stop_requested && !out_of_time() &&
           (rc == EXIT_OK || rc == EXIT_INCOMPLETE)) {
        log_info("next run in %lld s", (long long)c->c_interval_s);
        for (int64_t waited = 0; waited < c->c_interval_s * 10 && !stop_requested && !out_of_time();
             waited++)
            usleep(100000);
        if (stop_requested || out_of_time())
            break;
        rc = run_once(c);
    }
    return rc;
}
