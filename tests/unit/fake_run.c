/* fake_run — the run's services in process, for planner tests (see
 * fake_run.h). One fake run at a time. */
#include "fake_run.h"
#include "unit_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static fake_run *current;

store_txn *run_txn(run_ctx *rc)
{
    err_info e = {0};
    if (!rc->rc_txn && !rc->rc_store_failed &&
        store_txn_begin(rc->rc_store, STORE_TXN_WRITE, &rc->rc_txn, &e))
        run_store_fail(rc, &e);
    return rc->rc_txn;
}

void run_store_fail(run_ctx *rc, const err_info *e)
{
    fprintf(stderr, "fake_run: store failed: %s\n", e->ei_msg);
    rc->rc_store_failed = true;
}

int run_publish(run_ctx *rc, uint32_t kind, job_role role, const void *payload, uint32_t len,
                int table, uint64_t seq, int attempts)
{
    int idx = 0;
    while (idx < SHM_MAX_JOBS && rc->rc_jobs[idx].pj_used)
        idx++;
    if (idx == SHM_MAX_JOBS || current->fr_npublished == (int)(sizeof(current->fr_published) /
                                                               sizeof(current->fr_published[0])))
        return -1;
    planned_job_set(&rc->rc_jobs[idx], kind, role, payload, len, table, seq, attempts);
    rc->rc_inflight_jobs++; /* as run_services.c's */
    rc->rc_budget_jobs[job_budget(kind, payload, len)]++;
    rc->rc_published++;
    current->fr_published[current->fr_npublished++] = idx;
    return idx;
}

void run_put_table_state(run_ctx *rc, table_run *tr)
{
    err_info e = {0};
    store_txn *t = run_txn(rc);
    if (t && store_put_state(t, tr->tr_name, &tr->tr_state, &e))
        run_store_fail(rc, &e);
}

void run_fatal(run_ctx *rc, int exit_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rc->rc_fatal_msg, sizeof(rc->rc_fatal_msg), fmt, ap);
    va_end(ap);
    rc->rc_fatal = exit_code;
}

int fake_run_open(fake_run *f)
{
    memset(f, 0, sizeof(*f));
    if (!ut_tmpdir_make(f->fr_dir, sizeof(f->fr_dir), "fake-run"))
        return -1;
    f->fr_cfg.c_batch_parents = JOB_MAX_PARENTS;
    f->fr_cfg.c_lag_ms = 30000;
    run_ctx *rc = f->fr_rc = calloc(1, sizeof(*rc));
    if (!rc || !(rc->rc_jobs = calloc(SHM_MAX_JOBS, sizeof(planned_job))))
        return -1;
    store_options so = {.so_no_sync = true};
    err_info e = {0};
    if (shm_create(1, &rc->rc_shm, &e)) {
        fprintf(stderr, "fake_run: %s\n", e.ei_msg);
        return -1;
    }
    budget_init(&rc->rc_shm->sr_burst, 190, 10000000000ULL, true, 1.0);
    budget_init(&rc->rc_shm->sr_search, 5, 1000000000ULL, true, 1.0);
    if (store_open(f->fr_dir, &so, &rc->rc_store, &e)) {
        fprintf(stderr, "fake_run: %s\n", e.ei_msg);
        return -1;
    }
    rc->rc_cfg = &f->fr_cfg;
    rc->rc_ntables = 1;
    rc->rc_max_inflight_jobs = SHM_MAX_JOBS;
    rc->rc_started_ms = 1700000000000;
    table_run *tr = &rc->rc_tables[0];
    tr->tr_table = (hs_table){HS_COMPANIES, HS_CONTACTS};
    hs_table_name(tr->tr_table, tr->tr_name, sizeof(tr->tr_name));
    tr->tr_route = STORE_ROUTE_FULL_SCAN;
    tr->tr_objects_ready = true;
    rc->rc_objects[HS_COMPANIES].os_type = HS_COMPANIES;
    current = f;
    return 0;
}

void fake_run_close(fake_run *f)
{
    run_ctx *rc = f->fr_rc;
    if (rc) {
        if (rc->rc_txn)
            store_txn_abort(rc->rc_txn);
        store_close(rc->rc_store);
        for (int i = 0; rc->rc_jobs && i < SHM_MAX_JOBS; i++)
            assoc_buf_free(&rc->rc_jobs[i].pj_sets);
        free(rc->rc_jobs);
        changes_free(rc); /* what the search took: seen IDs, changed parents */
        scan_free(rc);
        shm_destroy(rc->rc_shm);
        free(rc);
    }
    ut_tmpdir_remove(f->fr_dir);
    current = NULL;
}

int fake_run_put_parents(fake_run *f, uint64_t first, uint64_t step, int n, int archived_every)
{
    err_info e = {0};
    store_txn *t = run_txn(f->fr_rc);
    for (int i = 0; t && i < n; i++) {
        store_object o = {first + step * (uint64_t)i, 1000 + i,
                          archived_every && i % archived_every == 0};
        if (store_put_object(t, HS_COMPANIES, &o, &e))
            return -1;
    }
    return t ? 0 : -1;
}

int fake_run_job(fake_run *f, int nth)
{
    return nth < f->fr_npublished ? f->fr_published[nth] : -1;
}

void fake_run_done(fake_run *f, int idx, void (*done)(run_ctx *, planned_job *))
{
    run_ctx *rc = f->fr_rc;
    planned_job *pj = &rc->rc_jobs[idx];
    rc->rc_inflight_jobs--; /* as run.c's job_done */
    rc->rc_budget_jobs[job_budget(pj->pj_kind, pj->pj_payload, pj->pj_payload_len)]--;
    pj->pj_used = false;
    done(rc, pj);
}

void fake_run_merge(fake_run *f, int idx)
{
    run_ctx *rc = f->fr_rc;
    planned_job *pj = &rc->rc_jobs[idx];
    const job_assoc_scan *js = (const job_assoc_scan *)pj->pj_payload;
    memset(pj->pj_merged, 1, js->js_count);
    pj->pj_nmerged = js->js_count;
    rc->rc_inflight_jobs--;
    rc->rc_budget_jobs[job_budget(pj->pj_kind, pj->pj_payload, pj->pj_payload_len)]--;
    pj->pj_used = false;
    scan_job_merged(rc, pj);
}
