/*
 * test_changes — a type's change search (coordinator/changes.c) on a fake
 * run context (fake_run.c) with Pro limits: the window (cursor, start − lag]
 * begins with the head page; a full head leaves the rest of the window, at
 * or below its oldest time, to a slice in ID order; a slice with records to
 * fill two more pages each splits at its page's median time while the
 * search budget has a free slot, and goes on as one slice when it has none;
 * every hit reaches the incremental table's changed parents once.
 */
#include <string.h>

#include "../../common/base/clock.h"
#include "../lib/check.h"
#include "fake_run.h"
#include "unit_suites.h"
#include "unit_util.h"

#define HOUR_MS 3600000LL

/* The unanswered search jobs: up to max, by index, each once (a slot is
 * reused once its job is done). */
static int searches(fake_run *f, int *out, int max)
{
    int n = 0;
    for (int idx = 0; idx < SHM_MAX_JOBS && n < max; idx++) {
        const planned_job *pj = &f->fr_rc->rc_jobs[idx];
        if (pj->pj_used && pj->pj_kind == JOB_SEARCH_SLICE)
            out[n++] = idx;
    }
    return n;
}

static const job_search_slice *slice(fake_run *f, int idx)
{
    return (const job_search_slice *)f->fr_rc->rc_jobs[idx].pj_payload;
}

/* Answers search `idx` with `n` hits: IDs id0, id0 + 1, …, times from t0
 * `dt` apart; `total` as the index counts the query's matches. */
static void answer(fake_run *f, int idx, int n, uint64_t id0, int64_t t0, int64_t dt,
                   uint32_t total)
{
    static wire_search_hit hits[200];
    for (int i = 0; i < n; i++)
        hits[i] = (wire_search_hit){id0 + (uint64_t)i, t0 + dt * i};
    wire_search_result sr = {total, hits, (size_t)n, total > (uint32_t)n, 0};
    changes_merge_search(f->fr_rc, &f->fr_rc->rc_jobs[idx], &sr);
    fake_run_done(f, idx, changes_job_done);
}

/* companies listed before, companies_contacts incremental since an hour
 * before the window's end; the search started. */
static int start(fake_run *f, int64_t *lo, int64_t *hi)
{
    run_ctx *rc = f->fr_rc;
    *hi = rc->rc_started_ms - f->fr_cfg.c_lag_ms;
    *lo = *hi - HOUR_MS;
    static store_state st;
    memset(&st, 0, sizeof(st));
    st.ss_cursor = store_cursor_timestamp_ms(*lo);
    err_info e = {0};
    table_run *tr = &rc->rc_tables[0];
    tr->tr_state.ss_cursor = st.ss_cursor;
    tr->tr_route = STORE_ROUTE_INCREMENTAL;
    if (store_put_state(run_txn(rc), "objects.companies", &st, &e) || changes_begin_table(tr, &e))
        return -1;
    changes_start(rc);
    return 0;
}

/* The search started and its head page answered: the 200 newest, the
 * oldest at hi − 30 min, and the index counting 5,000 records of the type:
 * more of the window lies below. Returns the oldest time, or -1. */
static int64_t head_answered(fake_run *f, int64_t *lo, int64_t *hi)
{
    int q[8];
    if (start(f, lo, hi) != 0 || searches(f, q, 8) != 1 || !slice(f, q[0])->jq_head ||
        slice(f, q[0])->jq_hi_ms != *hi)
        return -1;
    int64_t oldest = *hi - HOUR_MS / 2;
    answer(f, q[0], 200, 9000, oldest, (HOUR_MS / 2) / 200, 5000);
    return oldest;
}

static void test_head_then_slices(void)
{
    fake_run f;
    REQUIRE(fake_run_open(&f) == 0);
    int64_t lo, hi, oldest = head_answered(&f, &lo, &hi);
    int q[8];
    REQUIRE(oldest > 0 && searches(&f, q, 8) == 1);
    const job_search_slice *s = slice(&f, q[0]);
    CHECK(!s->jq_head);
    CHECK_EQ(s->jq_lo_ms, lo);
    CHECK_EQ(s->jq_hi_ms, oldest); /* its oldest millisecond asked again */
    CHECK_EQ(s->jq_after_id, 0);
    /* The slice's first page: 200 of 1,000, spread over the slice; the
     * search budget has a free slot: split at the page's median time,
     * both halves above the page's last ID. */
    answer(&f, q[0], 200, 1000, lo + 1, (oldest - lo - 1) / 200, 1000);
    int n = searches(&f, q, 8);
    REQUIRE(n == 2);
    const job_search_slice *a = slice(&f, q[0]), *b = slice(&f, q[1]);
    if (a->jq_lo_ms > b->jq_lo_ms) { /* the lower half first */
        const job_search_slice *t = a;
        a = b;
        b = t;
    }
    CHECK_EQ(a->jq_lo_ms, lo);
    CHECK_EQ(a->jq_hi_ms, b->jq_lo_ms);
    CHECK_EQ(b->jq_hi_ms, oldest);
    CHECK(a->jq_hi_ms > lo + (oldest - lo) / 3 && a->jq_hi_ms < oldest - (oldest - lo) / 3);
    CHECK_EQ(a->jq_after_id, 1199);
    CHECK_EQ(b->jq_after_id, 1199);
    CHECK_EQ(f.fr_rc->rc_objects[HS_COMPANIES].os_splits, 1);
    /* Every hit taken once as a changed parent of the incremental table. */
    CHECK_EQ(f.fr_rc->rc_tables[0].tr_changed_total, 400);
done:
    fake_run_close(&f);
}

/* The search budget booked ahead (a fast API keeps it busy): the slice goes
 * on as one, a page at a time. */
static void test_no_split_when_search_is_busy(void)
{
    fake_run f;
    REQUIRE(fake_run_open(&f) == 0);
    int64_t lo, hi, oldest = head_answered(&f, &lo, &hi);
    int q[8];
    REQUIRE(oldest > 0 && searches(&f, q, 8) == 1);
    uint64_t slot;
    for (int i = 0; i < 10; i++)
        rl_reserve(&f.fr_rc->rc_shm->sr_search.bu_rl, clock_mono_ns(), UINT64_MAX, &slot);
    answer(&f, q[0], 200, 1000, lo + 1, (oldest - lo - 1) / 200, 1000);
    REQUIRE(searches(&f, q, 8) == 1);
    CHECK_EQ(slice(&f, q[0])->jq_lo_ms, lo);
    CHECK_EQ(slice(&f, q[0])->jq_hi_ms, oldest);
    CHECK_EQ(slice(&f, q[0])->jq_after_id, 1199);
    CHECK_EQ(f.fr_rc->rc_objects[HS_COMPANIES].os_splits, 0);
done:
    fake_run_close(&f);
}

int unit_suite_changes(void)
{
    static const ut_test tests[] = {
        {"the head page, then the window in slices, split at the median", test_head_then_slices},
        {"no split while the search budget is busy", test_no_split_when_search_is_busy},
    };
    return ut_add_suite("changes", tests, sizeof(tests) / sizeof(tests[0]));
}
