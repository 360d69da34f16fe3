/*
 * test_scan — the full scan's planner and cursor (coordinator/scan.c) on a
 * fake run context (fake_run.c) and a real store: batches of 1,000 parents
 * in ID order, archived parents passed over, the cursor moved only past
 * what is merged in order (done ranges for what is merged beyond it, the
 * unmerged parents of a half-merged batch left out of them), the scan's
 * completion turning the cursor into the scan's start less the lag, a
 * resumed scan skipping what an earlier run merged, and a scan behind a
 * first list planning only whole batches below what every chain listed.
 */
#include <string.h>

#include "../lib/check.h"
#include "fake_run.h"
#include "unit_suites.h"
#include "unit_util.h"

static const job_assoc_scan *payload(fake_run *f, int idx)
{
    return (const job_assoc_scan *)f->fr_rc->rc_jobs[idx].pj_payload;
}

/* 2,500 parents (IDs 100, 110, …): three batches; merged out of order, the
 * cursor waits for the first and the second's range is done; merged in
 * full, the cursor is the scan's start less the lag. */
static void test_batches_and_cursor(void)
{
    fake_run f;
    REQUIRE(fake_run_open(&f) == 0);
    REQUIRE(fake_run_put_parents(&f, 100, 10, 2500, 0) == 0);
    run_ctx *rc = f.fr_rc;
    table_run *tr = &rc->rc_tables[0];
    scan_begin(rc, tr);
    scan_plan(rc);
    CHECK_EQ(f.fr_npublished, 3);
    CHECK(tr->tr_planned_all);
    int j0 = fake_run_job(&f, 0), j1 = fake_run_job(&f, 1), j2 = fake_run_job(&f, 2);
    REQUIRE(j0 >= 0 && j1 >= 0 && j2 >= 0);
    CHECK_EQ(payload(&f, j0)->js_count, 1000);
    CHECK_EQ(payload(&f, j1)->js_count, 1000);
    CHECK_EQ(payload(&f, j2)->js_count, 500);
    CHECK_EQ(payload(&f, j0)->js_parent_ids[0], 100);
    CHECK_EQ(payload(&f, j1)->js_parent_ids[0], 100 + 10 * 1000);
    CHECK_EQ(payload(&f, j2)->js_parent_ids[499], 100 + 10 * 2499);

    fake_run_merge(&f, j1);
    CHECK_EQ(tr->tr_state.ss_cursor.cu_kind, STORE_CURSOR_NONE);
    CHECK_EQ(tr->tr_state.ss_ndone, 1);
    /* From where the batch was planned (past the first's last parent). */
    CHECK_EQ(tr->tr_state.ss_done[0].ir_first, 100 + 10 * 999 + 1);
    CHECK_EQ(tr->tr_state.ss_done[0].ir_last, 100 + 10 * 1999);
    fake_run_merge(&f, j0);
    CHECK_EQ(tr->tr_state.ss_cursor.cu_kind, STORE_CURSOR_OBJECT_ID);
    CHECK_EQ(tr->tr_state.ss_cursor.cu_object_id, 100 + 10 * 1999);
    CHECK_EQ(tr->tr_state.ss_ndone, 0);
    CHECK(!tr->tr_done);
    fake_run_merge(&f, j2);
    CHECK(tr->tr_done);
    CHECK_EQ(tr->tr_state.ss_cursor.cu_kind, STORE_CURSOR_TIMESTAMP_MS);
    CHECK_EQ(tr->tr_state.ss_cursor.cu_timestamp_ms, rc->rc_started_ms - 30000);
    CHECK_EQ(tr->tr_state.ss_scan_origin_ms, rc->rc_started_ms);
    CHECK_EQ(tr->tr_state.ss_scan_started_ms, 0);
    CHECK(!rc->rc_store_failed);
done:
    fake_run_close(&f);
}

/* Archived parents are in a batch's range but never read; a batch merged
 * halfway leaves its unmerged parents out of the done ranges. */
static void test_archived_and_half_merged(void)
{
    fake_run f;
    REQUIRE(fake_run_open(&f) == 0);
    REQUIRE(fake_run_put_parents(&f, 1000, 1, 1200, 4) == 0); /* every 4th archived */
    run_ctx *rc = f.fr_rc;
    table_run *tr = &rc->rc_tables[0];
    scan_begin(rc, tr);
    scan_plan(rc);
    CHECK_EQ(f.fr_npublished, 1); /* 900 live parents: one batch */
    int j = fake_run_job(&f, 0);
    REQUIRE(j >= 0);
    const job_assoc_scan *js = payload(&f, j);
    CHECK_EQ(js->js_count, 900);
    for (int i = 0; i < js->js_count; i++)
        if ((js->js_parent_ids[i] - 1000) % 4 == 0) {
            CHECK(!"an archived parent in a batch");
            break;
        }
    /* The first 100 merged (1,001 to 1,133), the rest not yet: one done
     * range, the run of merged parents; none for the gaps between the
     * parents still out (a range each would fill the record). */
    planned_job *pj = &rc->rc_jobs[j];
    memset(pj->pj_merged, 1, 100);
    pj->pj_nmerged = 100;
    scan_advance(rc, tr);
    CHECK_EQ(js->js_parent_ids[99], 1133);
    CHECK_EQ(tr->tr_state.ss_ndone, 1);
    CHECK_EQ(tr->tr_state.ss_done[0].ir_first, 1001);
    CHECK_EQ(tr->tr_state.ss_done[0].ir_last, 1133);
    /* Every other one of the rest merged too: a run each (401 in all). */
    for (int i = 101; i < js->js_count; i += 2)
        pj->pj_merged[i] = 1;
    scan_advance(rc, tr);
    CHECK_EQ(tr->tr_state.ss_ndone, 1 + (900 - 100) / 2);
done:
    fake_run_close(&f);
}

/* A scan an earlier run left after ID 1,499 with 3,000–3,499 merged beyond
 * it reads neither again: its batches start at 1,500 and pass over the
 * merged range. */
static void test_resume_skips_merged(void)
{
    fake_run f;
    REQUIRE(fake_run_open(&f) == 0);
    REQUIRE(fake_run_put_parents(&f, 1000, 1, 4000, 0) == 0);
    run_ctx *rc = f.fr_rc;
    table_run *tr = &rc->rc_tables[0];
    tr->tr_route = STORE_ROUTE_FULL_RESUME;
    tr->tr_state.ss_cursor = store_cursor_object_id(1499);
    tr->tr_state.ss_scan_started_ms = rc->rc_started_ms - 3600000;
    tr->tr_state.ss_ndone = 1;
    tr->tr_state.ss_done[0] = (store_id_range){3000, 3499};
    scan_begin(rc, tr);
    scan_plan(rc);
    /* Nothing merged yet: the earlier run's range, inside a batch's span,
     * is still recorded as done (a second kill loses it neither). */
    scan_advance(rc, tr);
    CHECK_EQ(tr->tr_state.ss_ndone, 1);
    CHECK_EQ(tr->tr_state.ss_done[0].ir_first, 3000);
    CHECK_EQ(tr->tr_state.ss_done[0].ir_last, 3499);
    uint64_t read = 0;
    for (int n = 0; fake_run_job(&f, n) >= 0; n++) {
        const job_assoc_scan *js = payload(&f, fake_run_job(&f, n));
        for (int i = 0; i < js->js_count; i++) {
            uint64_t id = js->js_parent_ids[i];
            if (id <= 1499 || (id >= 3000 && id <= 3499)) {
                CHECK(!"a parent merged by the earlier run is read again");
                goto done;
            }
        }
        read += js->js_count;
    }
    CHECK_EQ(read, 4000 - 500 - 500);
    for (int n = 0; fake_run_job(&f, n) >= 0; n++)
        fake_run_merge(&f, fake_run_job(&f, n));
    CHECK(tr->tr_done);
    /* Changes are caught from the interrupted scan's start, not this run's. */
    CHECK_EQ(tr->tr_state.ss_cursor.cu_timestamp_ms, rc->rc_started_ms - 3600000 - 30000);
done:
    fake_run_close(&f);
}

/* While the parents' first list is coming, only whole batches below what
 * every chain has listed are planned; the rest once the list is merged. */
static void test_behind_the_list(void)
{
    fake_run f;
    REQUIRE(fake_run_open(&f) == 0);
    REQUIRE(fake_run_put_parents(&f, 1, 1, 2500, 0) == 0);
    run_ctx *rc = f.fr_rc;
    table_run *tr = &rc->rc_tables[0];
    tr->tr_objects_ready = false;
    object_sync *os = &rc->rc_objects[HS_COMPANIES];
    os->os_listing = true;
    os->os_chains[0] = (list_chain){true, false, 1800, UINT64_MAX}; /* below 1,800 listed */
    scan_begin(rc, tr);
    scan_plan(rc);
    CHECK_EQ(f.fr_npublished, 1); /* 1–1,000; 1,001–1,799 is not a whole batch */
    CHECK(!tr->tr_planned_all);
    os->os_chains[0].lc_next = 2400;
    scan_plan(rc);
    CHECK_EQ(f.fr_npublished, 2); /* 1,001–2,000 */
    tr->tr_objects_ready = true;  /* the list is merged */
    scan_plan(rc);
    CHECK_EQ(f.fr_npublished, 3);
    CHECK(tr->tr_planned_all);
    CHECK_EQ(payload(&f, fake_run_job(&f, 2))->js_count, 500);
done:
    fake_run_close(&f);
}

int unit_suite_scan(void)
{
    static const ut_test tests[] = {
        {"batches of 1,000; the cursor past what is merged in order", test_batches_and_cursor},
        {"archived parents passed over; a half-merged batch", test_archived_and_half_merged},
        {"a resumed scan skips what the earlier run merged", test_resume_skips_merged},
        {"behind a first list: whole batches below the watermark", test_behind_the_list},
    };
    return ut_add_suite("scan", tests, sizeof(tests) / sizeof(tests[0]));
}
