/*
 * test_scan — the full scan's planner and cursor (coordinator/scan.c) on a
 * fake run context (fake_run.c) and a real store: batches of 1,000 parents
 * in ID order, archived parents passed over, the cursor moved only past
 * what is merged in order (done ranges for what is merged beyond it, the
 * unmerged parents of a half-merged batch left out of them), the scan's
 * completion turning the cursor into the scan's start less the lag, a
 * resumed scan skipping what an earlier run merged, and a scan behind a
 * first list planning only whole batches of what its chains have listed,
 * wherever that is (a stalled chain holds back only its own range).
 */
#include <string.h>
#include <unistd.h>

#include "../../common/base/clock.h"
#include "../../common/ipc/rl.h"
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
    /* Nothing merged yet: the earlier run's range, between a batch's
     * stretches, is still recorded as done (a second kill loses it
     * neither); past the last parent, nothing is left to read. */
    scan_advance(rc, tr);
    CHECK_EQ(tr->tr_state.ss_ndone, 2);
    CHECK_EQ(tr->tr_state.ss_done[0].ir_first, 3000);
    CHECK_EQ(tr->tr_state.ss_done[0].ir_last, 3499);
    CHECK_EQ(tr->tr_state.ss_done[1].ir_first, 5000);
    CHECK_EQ(tr->tr_state.ss_done[1].ir_last, UINT64_MAX);
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

/* A scan of `parents` companies (IDs 1, 2, …) whose first list is still
 * coming (its chains are the test's to set). Returns 0, or -1
 * (fake_run_close still closes f). */
static int behind_a_list(fake_run *f, int parents)
{
    if (fake_run_open(f) != 0 || fake_run_put_parents(f, 1, 1, parents, 0) != 0)
        return -1;
    f->fr_rc->rc_tables[0].tr_objects_ready = false;
    f->fr_rc->rc_objects[HS_COMPANIES].os_listing = true;
    return 0;
}

/* While the parents' first list is coming, only whole batches below what
 * every chain has listed are planned; the rest once the list is merged. */
static void test_behind_the_list(void)
{
    fake_run f;
    REQUIRE(behind_a_list(&f, 2500) == 0);
    run_ctx *rc = f.fr_rc;
    table_run *tr = &rc->rc_tables[0];
    object_sync *os = &rc->rc_objects[HS_COMPANIES];
    os->os_chains[0] =
        (list_chain){true, false, 1800, UINT64_MAX, 0, false, false}; /* below 1,800 listed */
    scan_begin(rc, tr);
    scan_plan(rc);
    CHECK_EQ(f.fr_npublished, 1); /* 1–1,000; 1,001–1,799 is not a whole batch */
    CHECK(!tr->tr_planned_all);
    scan_plan(rc); /* the list has not moved: nothing read again */
    CHECK_EQ(f.fr_npublished, 1);
    os->os_chains[0].lc_next = 2400;
    os->os_listed_gen++;
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

/* Two chains, 600–999 and 1,500 on, still to list. */
static void two_chains(object_sync *os)
{
    os->os_chains[0] = (list_chain){true, false, 600, 1000, 0, false, false};
    os->os_chains[1] = (list_chain){true, false, 1500, UINT64_MAX, 0, false, false};
}

/* Two chains: 600–999 and 1,500 on still to list. The listed stretches
 * below 600 and 1,000–1,499 hold a batch between them; its merge moves
 * the cursor to 599 and leaves 1,000–1,400 done. The upper chain then
 * ends while the lower one stalls: the batches above it go at once, and
 * the cursor waits for the stalled range alone. */
static void test_stretches_around_a_stalled_chain(void)
{
    fake_run f;
    REQUIRE(behind_a_list(&f, 3000) == 0);
    run_ctx *rc = f.fr_rc;
    table_run *tr = &rc->rc_tables[0];
    object_sync *os = &rc->rc_objects[HS_COMPANIES];
    two_chains(os);
    scan_begin(rc, tr);
    scan_plan(rc);
    REQUIRE(f.fr_npublished == 1);
    const job_assoc_scan *js = payload(&f, fake_run_job(&f, 0));
    CHECK_EQ(js->js_count, 1000);
    CHECK_EQ(js->js_parent_ids[598], 599);
    CHECK_EQ(js->js_parent_ids[599], 1000);
    CHECK_EQ(js->js_parent_ids[999], 1400);
    fake_run_merge(&f, fake_run_job(&f, 0));
    CHECK_EQ(tr->tr_state.ss_cursor.cu_object_id, 599);
    CHECK_EQ(tr->tr_state.ss_ndone, 1);
    CHECK_EQ(tr->tr_state.ss_done[0].ir_first, 1000);
    CHECK_EQ(tr->tr_state.ss_done[0].ir_last, 1400);

    os->os_chains[1].lc_active = false; /* listed to the end; 600–999 stalls */
    os->os_listed_gen++;
    scan_plan(rc);
    CHECK_EQ(f.fr_npublished, 2); /* 1,401–2,400; 2,401–3,000 is not a whole batch */
    CHECK_EQ(payload(&f, fake_run_job(&f, 1))->js_parent_ids[0], 1401);
    fake_run_merge(&f, fake_run_job(&f, 1));
    CHECK_EQ(tr->tr_state.ss_cursor.cu_object_id, 599);
    CHECK_EQ(tr->tr_state.ss_done[0].ir_last, 2400);

    os->os_chains[0].lc_active = false; /* the stalled chain ends */
    os->os_listed_gen++;
    tr->tr_objects_ready = true;
    scan_plan(rc);
    CHECK_EQ(f.fr_npublished, 3);
    js = payload(&f, fake_run_job(&f, 2));
    CHECK_EQ(js->js_count, 400 + 600); /* 600–999, then 2,401–3,000 */
    CHECK_EQ(js->js_parent_ids[0], 600);
    CHECK_EQ(js->js_parent_ids[400], 2401);
    fake_run_merge(&f, fake_run_job(&f, 2));
    CHECK(tr->tr_done);
done:
    fake_run_close(&f);
}

/* Books the burst budget's next two slots: it has none free until the
 * second one comes. Returns its limiter. */
static rl_policy *book_the_budget(run_ctx *rc)
{
    rl_policy *burst = &rc->rc_shm->sr_burst.bu_rl;
    uint64_t slot = 0;
    rl_reserve(burst, clock_mono_ns(), UINT64_MAX, &slot);
    rl_reserve(burst, clock_mono_ns(), UINT64_MAX, &slot);
    return burst;
}

/* With the burst budget booked ahead, the scan stays in ID order, below
 * the lowest ID still to list (its sets are then appended to the store);
 * once a slot is free, it plans the stretch listed ahead too. */
static void test_in_order_while_the_budget_is_busy(void)
{
    fake_run f;
    REQUIRE(behind_a_list(&f, 3000) == 0);
    run_ctx *rc = f.fr_rc;
    table_run *tr = &rc->rc_tables[0];
    object_sync *os = &rc->rc_objects[HS_COMPANIES];
    two_chains(os);
    rl_policy *burst = book_the_budget(rc);
    REQUIRE(!rl_idle(burst, clock_mono_ns()));
    scan_begin(rc, tr);
    scan_plan(rc);
    CHECK_EQ(f.fr_npublished, 0); /* 599 below 600: not a batch; 1,000–1,499 held */
    /* The slot comes (a limiter slot is 10 s / 190 apart: 53 ms). */
    while (!rl_idle(burst, clock_mono_ns()))
        usleep(10000);
    scan_plan(rc); /* the list has not moved: planned all the same */
    REQUIRE(f.fr_npublished == 1);
    CHECK_EQ(payload(&f, fake_run_job(&f, 0))->js_parent_ids[599], 1000);
done:
    fake_run_close(&f);
}

/* Heavy parents a first list showed (1,200 twice, and 1,300) go in a batch
 * of their own while the budget has a slot free; the next batch passes
 * over them, and the done ranges join once both are merged. With the
 * budget booked, they wait. */
static void test_heavy_parents_ahead(void)
{
    fake_run f;
    REQUIRE(behind_a_list(&f, 3000) == 0);
    run_ctx *rc = f.fr_rc;
    table_run *tr = &rc->rc_tables[0];
    two_chains(&rc->rc_objects[HS_COMPANIES]);
    scan_begin(rc, tr);
    rl_policy *burst = book_the_budget(rc);
    REQUIRE(!rl_idle(burst, clock_mono_ns()));
    scan_note_heavy(tr, 1300);
    scan_note_heavy(tr, 1200);
    scan_note_heavy(tr, 1200);
    scan_plan(rc);
    CHECK_EQ(f.fr_npublished, 0); /* booked: they wait */
    CHECK_EQ(tr->tr_nheavy, 3);
    while (!rl_idle(burst, clock_mono_ns()))
        usleep(10000);
    scan_plan(rc);
    REQUIRE(f.fr_npublished == 2);
    const job_assoc_scan *heavy = payload(&f, fake_run_job(&f, 0));
    CHECK_EQ(heavy->js_count, 2);
    CHECK_EQ(heavy->js_parent_ids[0], 1200);
    CHECK_EQ(heavy->js_parent_ids[1], 1300);
    CHECK_EQ(tr->tr_nheavy, 0);
    CHECK_EQ(tr->tr_heavy_ahead, 2);
    /* 1-599, then 1,000 on without 1,200 and 1,300: 599 + 200 + 99 + 102. */
    const job_assoc_scan *js = payload(&f, fake_run_job(&f, 1));
    CHECK_EQ(js->js_count, 1000);
    int found = 0;
    for (int i = 0; i < js->js_count; i++)
        found += js->js_parent_ids[i] == 1200 || js->js_parent_ids[i] == 1300;
    CHECK_EQ(found, 0);
    CHECK_EQ(js->js_parent_ids[999], 1402);
    fake_run_merge(&f, fake_run_job(&f, 1));
    CHECK_EQ(tr->tr_state.ss_cursor.cu_object_id, 599);
    REQUIRE(tr->tr_state.ss_ndone == 3); /* around the heavy ones, not merged yet */
    CHECK_EQ(tr->tr_state.ss_done[0].ir_last, 1199);
    CHECK_EQ(tr->tr_state.ss_done[1].ir_first, 1201);
    CHECK_EQ(tr->tr_state.ss_done[2].ir_last, 1402);
    fake_run_merge(&f, fake_run_job(&f, 0));
    REQUIRE(tr->tr_state.ss_ndone == 1);
    CHECK_EQ(tr->tr_state.ss_done[0].ir_first, 1000);
    CHECK_EQ(tr->tr_state.ss_done[0].ir_last, 1402);
    /* Noted again once planned: nothing more to read ahead. */
    scan_note_heavy(tr, 1300);
    scan_plan(rc);
    CHECK_EQ(f.fr_npublished, 2);
done:
    fake_run_close(&f);
}

/* The map alone: free ranges around spans, a merged span joining its
 * neighbours, the base moving only over merged spans that start at it,
 * a job moved to another index, and the top of the ID space. */
static void test_scan_map(void)
{
    scan_map m;
    scan_map_init(&m, 10);
    uint64_t lo = 0, hi = 0;
    CHECK(scan_map_free_from(&m, 0, &lo, &hi));
    CHECK(lo == 10 && hi == UINT64_MAX);
    REQUIRE(scan_map_add(&m, 20, 29, 7) == 0);
    REQUIRE(scan_map_add(&m, 40, 49, SCAN_SPAN_MERGED) == 0);
    REQUIRE(scan_map_add(&m, 30, 39, 8) == 0);
    CHECK(scan_map_free_from(&m, 0, &lo, &hi));
    CHECK(lo == 10 && hi == 19);
    CHECK(scan_map_free_from(&m, 21, &lo, &hi));
    CHECK(lo == 50 && hi == UINT64_MAX);
    scan_map_job_moved(&m, 8, 9);
    scan_map_job_merged(&m, 9); /* 30–49: one merged span */
    CHECK_EQ(m.sm_n, 2);
    CHECK_EQ(m.sm_spans[1].sp_first, 30);
    CHECK_EQ(m.sm_spans[1].sp_last, 49);
    CHECK_EQ(m.sm_base, 10);
    REQUIRE(scan_map_add(&m, 10, 19, SCAN_SPAN_MERGED) == 0);
    CHECK_EQ(m.sm_base, 20); /* 20–29 is still out */
    scan_map_job_merged(&m, 7);
    CHECK_EQ(m.sm_base, 50);
    CHECK_EQ(m.sm_n, 0);
    REQUIRE(scan_map_add(&m, 50, UINT64_MAX, SCAN_SPAN_MERGED) == 0);
    CHECK(m.sm_top);
    CHECK(!scan_map_free_from(&m, 0, &lo, &hi));
done:
    scan_map_free(&m);
}

int unit_suite_scan(void)
{
    static const ut_test tests[] = {
        {"batches of 1,000; the cursor past what is merged in order", test_batches_and_cursor},
        {"archived parents passed over; a half-merged batch", test_archived_and_half_merged},
        {"a resumed scan skips what the earlier run merged", test_resume_skips_merged},
        {"behind a first list: whole batches of what is listed", test_behind_the_list},
        {"stretches around a stalled chain", test_stretches_around_a_stalled_chain},
        {"in ID order while the budget is busy", test_in_order_while_the_budget_is_busy},
        {"the scan map", test_scan_map},
        {"heavy parents read ahead of their stretches", test_heavy_parents_ahead},
    };
    return ut_add_suite("scan", tests, sizeof(tests) / sizeof(tests[0]));
}
