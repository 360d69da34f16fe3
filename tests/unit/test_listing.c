/*
 * test_listing — a type's first list (coordinator/listing.c) on a fake run
 * context (fake_run.c) with Pro limits: the first page, the highest-ID
 * probe and the archived list go out at once; nothing is cut until both
 * ends of the span are known (no chain below the lowest ID); then the span
 * is cut into the chains the budgets need at the measured latency, side by
 * side and covering the rest of the span exactly; the listed ranges are
 * saved with the pages, and a resumed list lists exactly the rest; a
 * chain whose page is late is cut above it.
 */
#include <stdio.h>
#include <string.h>

#include "../../common/base/clock.h"
#include "../../common/hubspot/http.h"
#include "../../common/ipc/rtt.h"
#include "../lib/check.h"
#include "fake_run.h"
#include "unit_suites.h"
#include "unit_util.h"

static const job_object_list *list_job(fake_run *f, int idx)
{
    return (const job_object_list *)f->fr_rc->rc_jobs[idx].pj_payload;
}

/* The first published job of `mode` (and live or archived) not yet done,
 * or -1. */
static int find_job(fake_run *f, uint8_t mode, bool archived)
{
    for (int n = 0; fake_run_job(f, n) >= 0; n++) {
        int idx = fake_run_job(f, n);
        const planned_job *pj = &f->fr_rc->rc_jobs[idx];
        if (pj->pj_used && pj->pj_kind == JOB_OBJECT_LIST && list_job(f, idx)->jl_mode == mode &&
            list_job(f, idx)->jl_archived == archived)
            return idx;
    }
    return -1;
}

/* The first live page (by list or by search) and the highest-ID probe
 * listing_start published (-1 each when missing). */
static void first_jobs(fake_run *f, int *page, int *probe)
{
    *page = find_job(f, LIST_PAGE, false);
    if (*page < 0)
        *page = find_job(f, LIST_SEARCH, false);
    *probe = find_job(f, LIST_MAX_ID, false);
}

/* Answers list page `idx` with 100 records from `first`, `step` apart. */
static void answer_page(fake_run *f, int idx, uint64_t first, uint64_t step)
{
    static wire_object items[100];
    char after[24];
    for (int i = 0; i < 100; i++)
        items[i] = (wire_object){first + step * (uint64_t)i, 1000, false, 0};
    snprintf(after, sizeof(after), "%llu", (unsigned long long)(first + step * 99));
    wire_objects wo = {(uint16_t)HS_COMPANIES, items, 100, after, strlen(after)};
    listing_merge(f->fr_rc, &f->fr_rc->rc_jobs[idx], &wo);
    fake_run_done(f, idx, listing_job_done);
}

/* Answers the highest-ID probe: `count` live records, the highest `max`. */
static void answer_probe(fake_run *f, int idx, uint32_t count, uint64_t max)
{
    wire_search_hit hit = {max, 1000};
    wire_search_result sr = {count, &hit, 1, false, 0};
    listing_merge_max_id(f->fr_rc, &f->fr_rc->rc_jobs[idx], &sr);
    fake_run_done(f, idx, listing_job_done);
}

/* The live chains, ascending: whether they tile [from, ∞) with no gap
 * and no overlap; how many. */
static int live_chains_tile(const object_sync *os, uint64_t from, bool *tiled)
{
    list_chain c[LIST_CHAINS_MAX];
    int n = 0;
    for (int i = 0; i < LIST_CHAINS_MAX; i++)
        if (os->os_chains[i].lc_active && !os->os_chains[i].lc_archived) {
            int k = n++;
            for (; k > 0 && c[k - 1].lc_next > os->os_chains[i].lc_next; k--)
                c[k] = c[k - 1];
            c[k] = os->os_chains[i];
        }
    *tiled = n > 0 && c[0].lc_next == from && c[n - 1].lc_end == UINT64_MAX;
    for (int i = 0; i + 1 < n; i++)
        *tiled = *tiled && c[i].lc_end == c[i + 1].lc_next;
    return n;
}

static void start(fake_run *f, object_sync **os)
{
    run_ctx *rc = f->fr_rc;
    *os = &rc->rc_objects[HS_COMPANIES];
    (*os)->os_wanted = (*os)->os_listing = true;
    /* A second of latency measured on each budget. */
    budget_answered(&rc->rc_shm->sr_burst, 1000000000ULL);
    budget_answered(&rc->rc_shm->sr_search, 1000000000ULL);
}

static void test_first_list_is_cut_for_the_budget(void)
{
    fake_run f;
    REQUIRE(fake_run_open(&f) == 0);
    object_sync *os;
    start(&f, &os);
    listing_start(f.fr_rc, os, true);
    /* The first live page, the probe, the archived list: at once. */
    int page, probe;
    first_jobs(&f, &page, &probe);
    REQUIRE(page >= 0 && probe >= 0);
    CHECK(find_job(&f, LIST_PAGE, true) >= 0);
    /* The probe first: 100,000 records up to ID 1,100,000. The lowest ID is
     * not known yet: no cut (IDs start far above 0). */
    answer_probe(&f, probe, 100000, 1100000);
    bool tiled;
    CHECK_EQ(live_chains_tile(os, 0, &tiled), 1);
    /* The first page: IDs 100,000 to 100,990. Now the rest of the span is
     * cut into what the budgets need at a second: 190/10s × 1 s ≈ 21 list
     * pages and 5/1s × 1 s ≈ 5 search pages out, a chain each. */
    /* (The burst budget booked ahead, as a run's would be: with a slot
     * free, one more cut, beyond the share.) */
    uint64_t slot;
    for (int i = 0; i < 30; i++)
        rl_reserve(&f.fr_rc->rc_shm->sr_burst.bu_rl, clock_mono_ns(), UINT64_MAX, &slot);
    answer_page(&f, page, 100000, 10);
    int n = live_chains_tile(os, 100990, &tiled);
    CHECK(tiled);
    uint32_t want = budget_inflight_mean(&f.fr_rc->rc_shm->sr_burst) +
                    budget_inflight_mean(&f.fr_rc->rc_shm->sr_search);
    CHECK(want >= 20 && want <= 30);
    CHECK_EQ(n, want);
    for (int i = 0; i < LIST_CHAINS_MAX; i++) {
        const list_chain *c = &os->os_chains[i];
        if (c->lc_active && !c->lc_archived && c->lc_next < 100000) {
            CHECK(!"a chain below the lowest ID");
            break;
        }
    }
    /* Every chain has its page out. */
    int out = 0;
    for (int i = 0; i < SHM_MAX_JOBS; i++) {
        const planned_job *pj = &f.fr_rc->rc_jobs[i];
        out += pj->pj_used && pj->pj_kind == JOB_OBJECT_LIST &&
               !((const job_object_list *)pj->pj_payload)->jl_archived;
    }
    CHECK_EQ(out, n);
done:
    fake_run_close(&f);
}

/* The ranges listed are saved with the pages (objects.companies); a list
 * resumed from them lists exactly the rest. */
static void test_resume_lists_the_rest(void)
{
    fake_run f;
    REQUIRE(fake_run_open(&f) == 0);
    object_sync *os;
    start(&f, &os);
    static store_state st;
    memset(&st, 0, sizeof(st));
    st.ss_ndone = 2;
    st.ss_done[0] = (store_id_range){0, 499999};
    st.ss_done[1] = (store_id_range){600000, 799999};
    st.ss_scan_started_ms = 1600000000000;
    listing_resume(f.fr_rc, os, &st);
    bool tiled;
    CHECK_EQ(live_chains_tile(os, 500000, &tiled), 2);
    CHECK(!tiled); /* [500,000, 600,000) and [800,000, ∞): a gap between */
    CHECK_EQ(os->os_list_started_ms, 1600000000000);
    CHECK(find_job(&f, LIST_PAGE, true) >= 0); /* archived: listed again, whole */
    /* A page of the first chain answered: saved, listed up to its last ID. */
    int page = -1;
    for (int n = 0; fake_run_job(&f, n) >= 0 && page < 0; n++) {
        int idx = fake_run_job(&f, n);
        const job_object_list *jl = list_job(&f, idx);
        if (jl->jl_mode != LIST_MAX_ID && !jl->jl_archived && jl->jl_after_id == 500000)
            page = idx;
    }
    REQUIRE(page >= 0);
    answer_page(&f, page, 500001, 1);
    store_state *saved = &st;
    err_info e = {0};
    REQUIRE(store_get_state(run_txn(f.fr_rc), "objects.companies", saved, &e) == 0);
    CHECK_EQ(saved->ss_ndone, 2);
    CHECK_EQ(saved->ss_done[0].ir_first, 0);
    CHECK_EQ(saved->ss_done[0].ir_last, 500099); /* the page's last ID: 500,100 */
    CHECK_EQ(saved->ss_done[1].ir_first, 600000);
    CHECK_EQ(saved->ss_done[1].ir_last, 799999);
done:
    fake_run_close(&f);
}

/* A first list of 100,000 companies (IDs 100,000 to 1,100,000) at a second
 * a page, as the workers would have timed them, cut into its chains: the
 * probe and the first page answered. Returns 0, or -1 (fake_run_close
 * still closes f). */
static int cut_at_a_second(fake_run *f, object_sync **os)
{
    if (fake_run_open(f) != 0)
        return -1;
    start(f, os);
    rtt_sample(&f->fr_rc->rc_shm->sr_latency[HTTP_LIST], 1000000000ULL);
    rtt_sample(&f->fr_rc->rc_shm->sr_latency[HTTP_SEARCH], 1000000000ULL);
    listing_start(f->fr_rc, *os, true);
    int page, probe;
    first_jobs(f, &page, &probe);
    if (page < 0 || probe < 0)
        return -1;
    answer_probe(f, probe, 100000, 1100000);
    answer_page(f, page, 100000, 10);
    return 0;
}

/* A chain whose page is late is cut above the page: its upper half goes
 * to a new chain with its own page out at once, the chains still tile the
 * span; a chain with less than two pages' records a half left is not cut,
 * a page is cut for once, and nothing is cut while the burst budget is
 * booked ahead. */
static void test_late_page_cuts_its_chain(void)
{
    fake_run f;
    object_sync *os;
    REQUIRE(cut_at_a_second(&f, &os) == 0);
    bool tiled;
    int n = live_chains_tile(os, 100990, &tiled);
    REQUIRE(tiled && n > 1);
    /* The chain with the most IDs left: each page published set its due time. */
    int late = -1;
    for (int i = 0; i < LIST_CHAINS_MAX; i++) {
        const list_chain *c = &os->os_chains[i];
        if (c->lc_active && !c->lc_archived &&
            (late < 0 ||
             c->lc_end - c->lc_next > os->os_chains[late].lc_end - os->os_chains[late].lc_next))
            late = i;
    }
    REQUIRE(late >= 0);
    CHECK_OP(os->os_chains[late].lc_due_ns, >, clock_mono_ns()); /* not late yet */
    int published = f.fr_npublished;
    listing_watch(f.fr_rc);
    CHECK_EQ(f.fr_npublished, published);
    uint64_t from = os->os_chains[late].lc_next, end = os->os_chains[late].lc_end;
    os->os_chains[late].lc_due_ns = 1; /* long past */
    listing_watch(f.fr_rc);
    CHECK_EQ(os->os_late_cuts, 1);
    CHECK_EQ(live_chains_tile(os, 100990, &tiled), n + 1);
    CHECK(tiled);
    CHECK_EQ(f.fr_npublished, published + 1); /* the new chain's first page */
    uint64_t mid = os->os_chains[late].lc_end;
    CHECK(mid > from && mid < end);
    CHECK(os->os_chains[late].lc_late_cut); /* cut once for this page */
    listing_watch(f.fr_rc);
    CHECK_EQ(os->os_late_cuts, 1);
    /* Late again and again: halved until a half would hold less than two
     * pages' records (10 IDs a record: 4,000 IDs). */
    for (int i = 0; i < 20; i++) {
        os->os_chains[late].lc_late_cut = false; /* as if its next page were late */
        listing_watch(f.fr_rc);
    }
    CHECK_OP(os->os_chains[late].lc_end - os->os_chains[late].lc_next, >=, 2000);
    CHECK_OP(os->os_chains[late].lc_end - os->os_chains[late].lc_next, <, 4000);
    CHECK(live_chains_tile(os, 100990, &tiled) > n + 1 && tiled);
    /* With the burst budget booked ahead, a late page waits: other work
     * fills the budget, and a cut would cost a call of it. */
    uint64_t cuts = os->os_late_cuts, slot;
    for (int i = 0; i < 30; i++)
        rl_reserve(&f.fr_rc->rc_shm->sr_burst.bu_rl, clock_mono_ns(), UINT64_MAX, &slot);
    for (int i = 0; i < LIST_CHAINS_MAX; i++)
        if (os->os_chains[i].lc_active && !os->os_chains[i].lc_archived) {
            os->os_chains[i].lc_due_ns = 1;
            os->os_chains[i].lc_late_cut = false;
        }
    listing_watch(f.fr_rc);
    CHECK_EQ(os->os_late_cuts, cuts);
done:
    fake_run_close(&f);
}

/* The live page out of `chain`, or -1. */
static int chain_page(fake_run *f, int chain)
{
    for (int i = 0; i < SHM_MAX_JOBS; i++) {
        const planned_job *pj = &f->fr_rc->rc_jobs[i];
        if (pj->pj_used && pj->pj_kind == JOB_OBJECT_LIST && pj->pj_table == chain &&
            list_job(f, i)->jl_mode != LIST_MAX_ID && !list_job(f, i)->jl_archived)
            return i;
    }
    return -1;
}

/* The search budget holds as many pages as it answers in a round trip; a
 * late one (stalled, waiting for its time limit) holds none of that room:
 * the next page goes by search, not by list at half the records a call. */
static void test_late_search_page_frees_room(void)
{
    fake_run f;
    object_sync *os;
    REQUIRE(cut_at_a_second(&f, &os) == 0);
    /* The search budget's room is taken: a list page answered is followed
     * by a list page. */
    int by_search = 0, listed = -1;
    for (int i = 0; i < LIST_CHAINS_MAX; i++) {
        const list_chain *c = &os->os_chains[i];
        if (c->lc_active && !c->lc_archived && c->lc_search)
            by_search++;
        else if (c->lc_active && !c->lc_archived && listed < 0)
            listed = i;
    }
    REQUIRE(by_search > 0 && listed >= 0);
    int job = chain_page(&f, listed);
    REQUIRE(job >= 0);
    answer_page(&f, job, os->os_chains[listed].lc_next + 1, 10);
    job = chain_page(&f, listed);
    REQUIRE(job >= 0);
    CHECK_EQ(list_job(&f, job)->jl_mode, LIST_PAGE);
    /* Every search page out is late: its room is free. */
    for (int i = 0; i < LIST_CHAINS_MAX; i++)
        if (os->os_chains[i].lc_search)
            os->os_chains[i].lc_due_ns = 1;
    answer_page(&f, job, os->os_chains[listed].lc_next + 1, 10);
    job = chain_page(&f, listed);
    REQUIRE(job >= 0);
    CHECK_EQ(list_job(&f, job)->jl_mode, LIST_SEARCH);
done:
    fake_run_close(&f);
}

/* A first list of companies started while companies_contacts' full scan
 * waits on it, its schema naming a count rollup (with `reference`, in the
 * reference design). Returns 0 or -1 (fake_run_close still closes f). */
static int list_with_a_count(fake_run *f, bool reference, object_sync **os)
{
    if (fake_run_open(f) != 0)
        return -1;
    run_ctx *rc = f->fr_rc;
    f->fr_cfg.c_reference = reference;
    table_run *tr = &rc->rc_tables[0];
    snprintf(tr->tr_count_field, sizeof(tr->tr_count_field), "sync_assoc_companies_contacts_count");
    scan_begin(rc, tr);
    start(f, os);
    listing_start(rc, *os, true);
    return 0;
}

/* A live page asks for the count rollup of each table whose scan waits on
 * the list (the archived list and the probe for none); a record the worker
 * marks heavy is noted for the scan to read ahead, and so are the parents
 * the table's heavy search finds. */
static void test_live_pages_ask_for_counts(void)
{
    fake_run f;
    object_sync *os;
    REQUIRE(list_with_a_count(&f, false, &os) == 0);
    run_ctx *rc = f.fr_rc;
    table_run *tr = &rc->rc_tables[0];
    int page, probe, archived = find_job(&f, LIST_PAGE, true);
    first_jobs(&f, &page, &probe);
    REQUIRE(page >= 0 && archived >= 0 && probe >= 0);
    CHECK_EQ(list_job(&f, page)->jl_ncount, 1);
    CHECK_STR(list_job(&f, page)->jl_count_fields[0], "sync_assoc_companies_contacts_count");
    CHECK_EQ(list_job(&f, page)->jl_heavy_links, SCAN_HEAVY_LINKS);
    CHECK_EQ(list_job(&f, archived)->jl_ncount, 0);
    CHECK_EQ(list_job(&f, probe)->jl_ncount, 0);
    wire_object items[3] = {{10, 1000, false, 0}, {20, 1000, false, 1}, {30, 1000, false, 0}};
    wire_objects wo = {(uint16_t)HS_COMPANIES, items, 3, NULL, 0};
    listing_merge(rc, &rc->rc_jobs[page], &wo);
    REQUIRE_EQ(tr->tr_nheavy, 1);
    CHECK_EQ(tr->tr_heavy[0], 20);
    /* And one search for the table's heaviest parents, at the start. */
    int heavy = find_job(&f, LIST_HEAVY, false);
    REQUIRE(heavy >= 0);
    CHECK_EQ(rc->rc_jobs[heavy].pj_table, 0);
    CHECK_EQ(list_job(&f, heavy)->jl_ncount, 1);
    CHECK_STR(list_job(&f, heavy)->jl_count_fields[0], "sync_assoc_companies_contacts_count");
    CHECK_EQ(job_budget(JOB_OBJECT_LIST, list_job(&f, heavy), sizeof(job_object_list)),
             SHM_BUDGET_SEARCH);
    wire_search_hit hits[2] = {{70, 1000}, {40, 1000}};
    wire_search_result sr = {2, hits, 2, false, 0};
    listing_merge_max_id(rc, &rc->rc_jobs[heavy], &sr);
    fake_run_done(&f, heavy, listing_job_done);
    REQUIRE_EQ(tr->tr_nheavy, 3);
    CHECK_EQ(tr->tr_heavy[1], 70);
    CHECK_EQ(tr->tr_heavy[2], 40);
    CHECK(!os->os_max_known); /* the probe's answer is another job's */
done:
    fake_run_close(&f);
}

/* The reference design asks for no count and searches for no heavy
 * parent, whatever the schema holds. */
static void test_reference_asks_for_no_counts(void)
{
    fake_run f;
    object_sync *os;
    REQUIRE(list_with_a_count(&f, true, &os) == 0);
    int page = find_job(&f, LIST_PAGE, false);
    REQUIRE(page >= 0);
    CHECK_EQ(list_job(&f, page)->jl_ncount, 0);
    CHECK_EQ(find_job(&f, LIST_HEAVY, false), -1);
done:
    fake_run_close(&f);
}

/* The archived chains, ascending: whether they tile [from, inf); how many. */
static int archived_chains_tile(const object_sync *os, uint64_t from, bool *tiled)
{
    uint64_t next[LIST_CHAINS_MAX], end[LIST_CHAINS_MAX];
    int n = 0;
    for (int i = 0; i < LIST_CHAINS_MAX; i++)
        if (os->os_chains[i].lc_active && os->os_chains[i].lc_archived) {
            int k = n++;
            for (; k > 0 && next[k - 1] > os->os_chains[i].lc_next; k--) {
                next[k] = next[k - 1];
                end[k] = end[k - 1];
            }
            next[k] = os->os_chains[i].lc_next;
            end[k] = os->os_chains[i].lc_end;
        }
    *tiled = n > 0 && next[0] == from && end[n - 1] == UINT64_MAX;
    for (int i = 0; i + 1 < n; i++)
        *tiled = *tiled && end[i] == next[i + 1];
    return n;
}

/* The archived list is one chain until a full page shows how densely
 * archived IDs lie; then it is cut until no chain has more pages left than
 * the live chains have (here 100 pages left against about 36: four
 * chains), side by side over the rest of the span, each with its page out. */
static void test_archived_list_keeps_up(void)
{
    fake_run f;
    object_sync *os;
    REQUIRE(cut_at_a_second(&f, &os) == 0);
    int archived = find_job(&f, LIST_PAGE, true);
    REQUIRE(archived >= 0);
    bool tiled;
    CHECK_EQ(archived_chains_tile(os, 0, &tiled), 1);
    /* 100 archived records over 9,900 IDs: 1 in 99 IDs archived. */
    answer_page(&f, archived, 100000, 100);
    CHECK_EQ(archived_chains_tile(os, 109900, &tiled), 4);
    CHECK(tiled);
    /* Each new chain has its page out. */
    int out = 0;
    for (int i = 0; i < SHM_MAX_JOBS; i++) {
        const planned_job *pj = &f.fr_rc->rc_jobs[i];
        out += pj->pj_used && pj->pj_kind == JOB_OBJECT_LIST &&
               ((const job_object_list *)pj->pj_payload)->jl_archived;
    }
    CHECK_EQ(out, 4);
done:
    fake_run_close(&f);
}

int unit_suite_listing(void)
{
    static const ut_test tests[] = {
        {"a first list cut into the chains the budgets need",
         test_first_list_is_cut_for_the_budget},
        {"the ranges listed are saved; a resumed list lists the rest", test_resume_lists_the_rest},
        {"a late page's chain is cut above it", test_late_page_cuts_its_chain},
        {"a late search page holds no search room", test_late_search_page_frees_room},
        {"live pages ask for the count rollups; heavy parents noted",
         test_live_pages_ask_for_counts},
        {"the archived list is cut to keep up with the live one", test_archived_list_keeps_up},
        {"the reference design asks for no counts", test_reference_asks_for_no_counts},
    };
    return ut_add_suite("listing", tests, sizeof(tests) / sizeof(tests[0]));
}
