/*
 * run_services — what the run's planners and its loop share (run_ctx.h):
 * the open write batch and its commit, the failure paths (a store that
 * failed, a fatal error), publishing a job (in the order workers claim
 * jobs) and storing a table's state. Nothing here plans or merges; the
 * planners' unit tests replace this file (tests/unit/fake_run.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../common/base/clock.h"
#include "../common/base/log.h"
#include "../common/ipc/shm.h"
#include "run_ctx.h"

store_txn *run_txn(run_ctx *rc)
{
    if (rc->rc_txn || rc->rc_store_failed)
        return rc->rc_txn;
    err_info e = {0};
    if (store_txn_begin(rc->rc_store, STORE_TXN_WRITE, &rc->rc_txn, &e)) {
        log_error("store: %s", e.ei_msg);
        rc->rc_store_failed = true;
        rc->rc_txn = NULL;
    }
    return rc->rc_txn;
}

int run_commit(run_ctx *rc)
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

void run_store_fail(run_ctx *rc, const err_info *e)
{
    log_error("store: %s", e->ei_msg);
    rc->rc_store_failed = true;
    /* A record that does not decode stays damaged: rerunning cannot help. */
    if (e->ei_code == ERR_CORRUPT)
        run_fatal(rc, EXIT_USAGE,
                  "the database in %s is damaged (above); restore it from a backup, or remove "
                  "it to sync again from scratch",
                  rc->rc_cfg->c_db_dir);
}

void run_fatal(run_ctx *rc, int exit_code, const char *fmt, ...)
{
    if (rc->rc_fatal)
        return;
    rc->rc_fatal = exit_code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rc->rc_fatal_msg, sizeof(rc->rc_fatal_msg), fmt, ap);
    va_end(ap);
}

int run_publish(run_ctx *rc, uint32_t kind, job_role role, const void *payload, uint32_t len,
                int table, uint64_t seq, int attempts)
{
    err_info e = {0};
    uint32_t spends = job_budget(kind, payload, len);
    int idx = shm_job_publish(rc->rc_shm, kind, spends, order_job_rank(rc, kind, payload), payload,
                              len, &e);
    if (idx < 0)
        return -1;
    planned_job_set(&rc->rc_jobs[idx], kind, role, payload, len, table, seq, attempts);
    rc->rc_jobs[idx].pj_published_ns = clock_mono_ns();
    if (log_enabled(LOG_DEBUG)) {
        char what[128];
        run_job_describe(rc, &rc->rc_jobs[idx], what, sizeof(what));
        log_debug("job %d published: %s", idx, what);
    }
    rc->rc_inflight_jobs++;
    rc->rc_budget_jobs[spends]++;
    rc->rc_published++;
    return idx;
}

void run_put_table_state(run_ctx *rc, table_run *tr)
{
    err_info e = {0};
    store_txn *txn = run_txn(rc);
    if (txn && store_put_state(txn, tr->tr_name, &tr->tr_state, &e))
        run_store_fail(rc, &e);
}

void run_job_describe(const run_ctx *rc, const planned_job *pj, char *buf, size_t size)
{
    const void *p = pj->pj_payload;
    if (pj->pj_kind == JOB_ASSOC_SCAN) {
        const job_assoc_scan *js = p;
        snprintf(buf, size, "batch read %s, %u parents from ID %llu",
                 rc->rc_tables[js->js_table].tr_name, (unsigned)js->js_count,
                 (unsigned long long)(js->js_count ? js->js_parent_ids[0] : 0));
    } else if (pj->pj_kind == JOB_OBJECT_LIST) {
        static const char *const modes[] = {"list page", "list page by search", "highest ID",
                                            "heavy parents search"};
        const job_object_list *jl = p;
        snprintf(buf, size, "%s%s of %s from ID %llu", modes[jl->jl_mode % 4],
                 jl->jl_archived ? " (archived)" : "", hs_object(jl->jl_object_type)->oi_plural,
                 (unsigned long long)jl->jl_after_id);
    } else {
        const job_search_slice *jq = p;
        snprintf(buf, size, "change search of %s%s", hs_object(jq->jq_object_type)->oi_plural,
                 jq->jq_head ? " (head page)" : "");
    }
}
