/*
 * listing — the object sync's lists, in parallel chains (see run_ctx.h).
 *
 * HubSpot's list endpoint pages by record ID ("after" is the next record's
 * ID), so a type's ID space can be cut into chains, each listing its own
 * range page after page, side by side. A chain is one page job at a time;
 * when a page comes back and the budget has room for more requests than
 * are in flight, the chain with the most IDs left is cut in two. The span
 * to cut comes from one search for the type's highest ID, whose total also
 * says how densely IDs are used, so no chain is cut below two pages' worth
 * of records.
 *
 * Each page of a live chain goes by search (a search for the chain's next
 * IDs, 200 records, on the search budget) while that budget has fewer
 * pages out than it answers in a round trip and its next slot is near
 * (search_has_room), else by the list endpoint
 * (100 records, on the burst budget). Archived records are listed only by
 * the list endpoint (search never shows them). The types share the
 * budget in order: first the type whose records start the most scans.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/base/clock.h"
#include "../common/base/jbuf.h"
#include "../common/base/log.h"
#include "../common/hubspot/hs_paths.h"
#include "../common/hubspot/http.h"
#include "../common/ipc/rl.h"
#include "../common/ipc/rtt.h"
#include "run_ctx.h"

enum {
    LIST_PAGE_RECORDS = 100,
    MIN_CHAIN_RECORDS = 2 * LIST_PAGE_RECORDS,
    ARCHIVED_CHAIN_PAGES = 4, /* an archived chain is cut down to this, no further */
};

/* When a page published now is late: once its budget's next slot has
 * come, and a smoothed round trip of its family and four deviations after
 * (the bound TCP's retransmission timer keeps: an ordinary answer is in by
 * then). 0 (never) before the family's first answer. */
static uint64_t page_due_ns(run_ctx *rc, uint8_t mode)
{
    bool search = mode == LIST_SEARCH;
    budget *b = search ? &rc->rc_shm->sr_search : &rc->rc_shm->sr_burst;
    rtt_est *e = &rc->rc_shm->sr_latency[search ? HTTP_SEARCH : HTTP_LIST];
    uint64_t srtt = rtt_srtt_us(e), now = clock_mono_ns();
    if (srtt == 0)
        return 0;
    return now + rl_wait_ns(&b->bu_rl, now) + (srtt + 4 * rtt_rttvar_us(e)) * 1000;
}

/* The tables of the type whose full scan waits on this list and whose
 * count rollup is known: their counts tell heavy parents (scan.c). None
 * in the reference design, which reads every parent in its batch. */
static void ask_counts(run_ctx *rc, object_sync *os)
{
    os->os_ncount = 0;
    if (rc->rc_cfg->c_reference)
        return;
    for (int t = 0; t < rc->rc_ntables && os->os_ncount < JOB_COUNT_FIELDS_MAX; t++) {
        const table_run *tr = &rc->rc_tables[t];
        if (tr->tr_table.t_parent == os->os_type && tr->tr_scanning &&
            hs_path_property_ok(tr->tr_count_field))
            os->os_count_tables[os->os_ncount++] = t;
    }
}

static void publish_page(run_ctx *rc, object_sync *os, int chain, uint8_t mode)
{
    list_chain *c = &os->os_chains[chain];
    static job_object_list jl;
    memset(&jl, 0, sizeof(jl));
    jl.jl_object_type = (uint16_t)os->os_type;
    jl.jl_archived = c->lc_archived;
    jl.jl_mode = mode;
    jl.jl_after_id = mode == LIST_MAX_ID ? 0 : c->lc_next;
    jl.jl_end_id = mode == LIST_MAX_ID ? UINT64_MAX : c->lc_end;
    if (mode != LIST_MAX_ID && !c->lc_archived) {
        jl.jl_heavy_links = SCAN_HEAVY_LINKS;
        for (int k = 0; k < os->os_ncount; k++)
            memcpy(jl.jl_count_fields[jl.jl_ncount++],
                   rc->rc_tables[os->os_count_tables[k]].tr_count_field, JOB_FIELD_NAME_MAX);
    }
    int idx = run_publish(rc, JOB_OBJECT_LIST, ROLE_OBJECTS, &jl, sizeof(jl), chain, 0, 0);
    if (idx < 0) {
        run_fatal(rc, EXIT_INCOMPLETE, "the job queue is full (%d jobs)", SHM_MAX_JOBS);
        return;
    }
    os->os_jobs_left++;
    os->os_probing |= mode == LIST_MAX_ID;
    if (mode != LIST_MAX_ID) {
        c->lc_due_ns = page_due_ns(rc, mode);
        c->lc_search = mode == LIST_SEARCH;
        c->lc_late_cut = false;
    }
}

/* Whether the chain's page out is late (see page_due_ns). */
static bool page_late(const list_chain *c, uint64_t now)
{
    return c->lc_active && !c->lc_archived && c->lc_due_ns && now >= c->lc_due_ns;
}

/* The search pages out that are late: a stalled one holds none of the
 * search budget's room (it waits for its time limit, then a resend). */
static int late_search_pages(const run_ctx *rc, uint64_t now)
{
    int n = 0;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const object_sync *os = &rc->rc_objects[t];
        for (int i = 0; os->os_listing && i < LIST_CHAINS_MAX; i++)
            n += os->os_chains[i].lc_search && page_late(&os->os_chains[i], now);
    }
    return n;
}

/* Whether live pages may go by search: not in the reference design, and
 * not unpaced (nothing says search would be faster then). */
static bool search_lists(const run_ctx *rc)
{
    return !rc->rc_cfg->c_reference && budget_pace(&rc->rc_shm->sr_burst, NULL);
}

/* Whether the next page goes by search: while the search budget has fewer
 * pages out than it answers in a round trip, and its next slot is near
 * enough. A chain is a page at a time, so a page's wait is its chain's:
 * 200 records by search after its wait and a round trip against 100 by
 * list after the list's, per record: search when its wait is at most
 * twice the list's plus a round trip. (At the end of a list, its last
 * chain would otherwise wait on the search pace while the burst budget
 * idles.) */
static bool search_has_room(run_ctx *rc)
{
    budget *search = &rc->rc_shm->sr_search, *burst = &rc->rc_shm->sr_burst;
    if (!search_lists(rc))
        return false;
    if (!budget_pace(search, NULL))
        return true; /* searches unpaced: always room */
    uint64_t now = clock_mono_ns();
    int out = rc->rc_budget_jobs[SHM_BUDGET_SEARCH] - late_search_pages(rc, now);
    return out < (int)budget_inflight_mean(search) &&
           rl_wait_ns(&search->bu_rl, now) <=
               2 * rl_wait_ns(&burst->bu_rl, now) + budget_latency_ns(burst);
}

/* The next page of a chain: a live one by search (200 records, on a budget
 * the first list leaves idle otherwise) while that budget has room, else
 * by the list endpoint (100 records, on the burst budget). Archived records
 * are listed only by the list endpoint (search never shows them). */
static void next_page(run_ctx *rc, object_sync *os, int chain)
{
    bool search = !os->os_chains[chain].lc_archived && search_has_room(rc);
    publish_page(rc, os, chain, search ? LIST_SEARCH : LIST_PAGE);
}

static int new_chain(object_sync *os, bool archived, uint64_t from, uint64_t end)
{
    for (int i = 0; i < LIST_CHAINS_MAX; i++)
        if (!os->os_chains[i].lc_active) {
            os->os_chains[i] = (list_chain){true, archived, from, end, 0, false, false};
            return i;
        }
    return -1;
}

/* One search per table whose count rollup the pages ask for: its heaviest
 * parents (LIST_HEAVY), so that their pages, one round trip after another,
 * start within a round trip of the list's start instead of whenever a
 * chain reaches them (at 3 s of latency, a parent of 2,000 links listed
 * halfway through the `run` portal's list ended the run 15 s later). */
static void search_heavy(run_ctx *rc, object_sync *os)
{
    for (int k = 0; k < os->os_ncount; k++) {
        static job_object_list jl;
        memset(&jl, 0, sizeof(jl));
        jl.jl_object_type = (uint16_t)os->os_type;
        jl.jl_mode = LIST_HEAVY;
        jl.jl_end_id = UINT64_MAX;
        jl.jl_ncount = 1;
        jl.jl_heavy_links = SCAN_HEAVY_LINKS;
        memcpy(jl.jl_count_fields[0], rc->rc_tables[os->os_count_tables[k]].tr_count_field,
               JOB_FIELD_NAME_MAX);
        if (run_publish(rc, JOB_OBJECT_LIST, ROLE_OBJECTS, &jl, sizeof(jl), os->os_count_tables[k],
                        0, 0) < 0) {
            run_fatal(rc, EXIT_INCOMPLETE, "the job queue is full (%d jobs)", SHM_MAX_JOBS);
            return;
        }
        os->os_jobs_left++;
    }
}

void listing_start(run_ctx *rc, object_sync *os, bool live)
{
    int c;
    ask_counts(rc, os);
    if (live && (c = new_chain(os, false, 0, UINT64_MAX)) >= 0) {
        os->os_list_started_ms = rc->rc_window_hi_ms;
        next_page(rc, os, c);
        if (!rc->rc_cfg->c_reference)
            publish_page(rc, os, c, LIST_MAX_ID); /* the span to cut into chains */
        search_heavy(rc, os);
    }
    if ((c = new_chain(os, true, 0, UINT64_MAX)) >= 0)
        next_page(rc, os, c);
}

void listing_resume(run_ctx *rc, object_sync *os, const store_state *st)
{
    /* The live ranges not listed yet: the gaps between the listed ones,
     * each a chain (the last gaps share the last chain when there are more
     * than chains: listing a range twice costs calls, never correctness). */
    os->os_list_started_ms = st->ss_scan_started_ms;
    ask_counts(rc, os);
    uint64_t from = 0;
    int chains = 0, last = -1;
    for (uint32_t i = 0; i <= st->ss_ndone; i++) {
        uint64_t end = i < st->ss_ndone ? st->ss_done[i].ir_first : UINT64_MAX;
        if (end > from) {
            if (chains < LIST_CHAINS_MAX - 1) {
                last = new_chain(os, false, from, end);
                chains++;
            } else if (last >= 0) {
                os->os_chains[last].lc_end = end;
            }
        }
        if (i == st->ss_ndone || st->ss_done[i].ir_last == UINT64_MAX)
            break;
        from = st->ss_done[i].ir_last + 1;
    }
    for (int c = 0; c < LIST_CHAINS_MAX; c++)
        if (os->os_chains[c].lc_active)
            next_page(rc, os, c);
    if (last >= 0 && !rc->rc_cfg->c_reference)
        publish_page(rc, os, last, LIST_MAX_ID);
    if (last >= 0)
        search_heavy(rc, os);
    int c = new_chain(os, true, 0, UINT64_MAX); /* archived: listed again, whole */
    if (c >= 0)
        next_page(rc, os, c);
}

uint64_t listing_watermark(const object_sync *os)
{
    uint64_t low = UINT64_MAX;
    for (int i = 0; i < LIST_CHAINS_MAX; i++) {
        const list_chain *c = &os->os_chains[i];
        if (c->lc_active && !c->lc_archived && c->lc_next < low)
            low = c->lc_next;
    }
    return low;
}

/* Records how far the type's first list got, in the same write batch as
 * the pages it covers: the live ID ranges listed (every range no active
 * chain still has to list) and when the list began, so that a run cut
 * short resumes the list instead of starting it over. */
static void save_progress(run_ctx *rc, object_sync *os)
{
    store_state *st = malloc(sizeof(*st)); /* 8 KiB: not on the stack */
    store_txn *txn = run_txn(rc);
    char name[48];
    err_info e = {0};
    if (!st || !txn)
        goto out;
    snprintf(name, sizeof(name), "objects.%s", hs_object(os->os_type)->oi_plural);
    if (store_get_state(txn, name, st, &e)) {
        run_store_fail(rc, &e);
        goto out;
    }
    /* The chains' remaining ranges [lc_next, lc_end), ascending. */
    uint64_t next[LIST_CHAINS_MAX], end[LIST_CHAINS_MAX];
    int n = 0;
    for (int i = 0; i < LIST_CHAINS_MAX; i++) {
        const list_chain *c = &os->os_chains[i];
        if (!c->lc_active || c->lc_archived || c->lc_next >= c->lc_end)
            continue;
        int k = n++;
        while (k > 0 && next[k - 1] > c->lc_next) {
            next[k] = next[k - 1];
            end[k] = end[k - 1];
            k--;
        }
        next[k] = c->lc_next;
        end[k] = c->lc_end;
    }
    st->ss_ndone = 0;
    uint64_t from = 0;
    for (int i = 0; i <= n; i++) {
        /* The gap before chain i, or after the last chain: to the end. */
        uint64_t last_id = i < n ? next[i] - 1 : UINT64_MAX;
        if ((i == n || next[i] > from) && st->ss_ndone < STORE_DONE_RANGES_MAX)
            st->ss_done[st->ss_ndone++] = (store_id_range){from, last_id};
        if (i == n || end[i] == UINT64_MAX)
            break;
        from = end[i];
    }
    uint64_t low = listing_watermark(os);
    st->ss_cursor = store_cursor_object_id(low == UINT64_MAX ? 0 : low);
    st->ss_scan_started_ms = run_cursor_ms(rc, os->os_list_started_ms);
    if (store_put_state(txn, name, st, &e))
        run_store_fail(rc, &e);
out:
    free(st);
}

/* Where a chain's unlisted IDs begin: its next ID, or the type's lowest
 * ID seen when that is above it (no record lies below it). */
static uint64_t chain_from(const object_sync *os, const list_chain *c)
{
    return os->os_min_id > c->lc_next ? os->os_min_id : c->lc_next;
}

/* How many IDs a chain has left to list (0 when that cannot be told). */
static uint64_t span_left(const object_sync *os, const list_chain *c)
{
    uint64_t end = c->lc_end, from = chain_from(os, c);
    if (end == UINT64_MAX)
        end = os->os_max_known ? os->os_max_id + 1 : 0;
    return end > from ? end - from : 0;
}

/* IDs per record, from the type's span and its count (at least 1). */
static uint64_t ids_per_record(const object_sync *os)
{
    uint64_t low = os->os_min_id && os->os_min_id <= os->os_max_id ? os->os_min_id : 0;
    return (os->os_max_id - low) / (os->os_live_count ? os->os_live_count : 1) + 1;
}

/* Cuts live chain `chain` in two, when both halves hold at least
 * `min_records` records: the upper half is a new chain, its first page
 * out at once. Returns whether it did. */
static bool cut_chain(run_ctx *rc, object_sync *os, int chain, uint64_t min_records)
{
    /* The reference design lists in one chain; and a span is cut only once
     * both its ends are known: the highest ID from the probe, the lowest
     * from the first page (IDs start far above 0: a cut below the lowest
     * would make chains of empty pages). */
    if (rc->rc_cfg->c_reference || !os->os_max_known || !os->os_min_id || os->os_live_count == 0)
        return false;
    list_chain *c = &os->os_chains[chain];
    uint64_t left = span_left(os, c);
    if (left / ids_per_record(os) < 2 * min_records)
        return false;
    uint64_t mid = chain_from(os, c) + left / 2;
    int n = new_chain(os, false, mid, c->lc_end);
    if (n < 0)
        return false;
    os->os_chains[chain].lc_end = mid;
    next_page(rc, os, n);
    return true;
}

/* Cuts the live chain with the most IDs left in two, when both halves hold
 * at least `min_records` records. Returns whether it did. */
static bool split_chain(run_ctx *rc, object_sync *os, uint64_t min_records)
{
    int best = -1;
    uint64_t most = 0;
    for (int i = 0; i < LIST_CHAINS_MAX; i++) {
        const list_chain *c = &os->os_chains[i];
        uint64_t left = c->lc_active && !c->lc_archived ? span_left(os, c) : 0;
        if (left > most) {
            most = left;
            best = i;
        }
    }
    return best >= 0 && cut_chain(rc, os, best, min_records);
}

static int live_chains(const object_sync *os)
{
    int n = 0;
    for (int i = 0; i < LIST_CHAINS_MAX; i++)
        n += os->os_chains[i].lc_active && !os->os_chains[i].lc_archived;
    return n;
}

/* Records a type's live chains still have to list (an estimate from the
 * span and the count). */
static uint64_t records_left(const object_sync *os)
{
    uint64_t ids = 0;
    for (int i = 0; i < LIST_CHAINS_MAX; i++) {
        const list_chain *c = &os->os_chains[i];
        if (c->lc_active && !c->lc_archived)
            ids += span_left(os, c);
    }
    return ids / ids_per_record(os);
}

/* The chains a type's list should run in now: the requests that keep the
 * burst and search budgets busy at the mean latency (each chain has one
 * page out at a time, so a list in fewer chains runs below the budget
 * however many workers wait), handed out to the types being listed in
 * order (order_lists_before), each taking what its records allow: the first
 * list ends early and its scans run while the next type lists, instead of
 * all waiting for the end of every list together. */
static int chains_wanted(const run_ctx *rc, const object_sync *os)
{
    budget *b = &rc->rc_shm->sr_burst;
    /* Unpaced (no limit), no rate says how many: what the workers hold. */
    int left = (int)(budget_pace(b, NULL) ? budget_inflight_mean(b)
                                          : budget_inflight(b, rc->rc_cfg->c_workers));
    if (search_lists(rc))
        left += (int)budget_inflight_mean(&rc->rc_shm->sr_search); /* pages by search too */
    int give = 1;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const object_sync *o = &rc->rc_objects[t];
        if (o == os || !o->os_listing || !order_lists_before(rc, o, os))
            continue;
        /* A list that comes first, its span not known yet: its share is
         * not known either; cut nothing before its probe answers (cut
         * first, this list's pages would queue ahead of the other's). */
        if (o->os_probing)
            return 1;
        if (!o->os_max_known)
            continue;
        uint64_t most = records_left(o) / MIN_CHAIN_RECORDS;
        left -= most < 1 ? 1 : most > (uint64_t)left ? left : (int)most;
    }
    uint64_t most = records_left(os) / MIN_CHAIN_RECORDS;
    if (left > give)
        give = most < (uint64_t)left ? (int)most : left;
    return give < 1 ? 1 : give;
}

/* Pages an archived chain has left, from the density full archived pages
 * showed (0 before the first, or while the span is not known). */
static uint64_t archived_pages_left(const object_sync *os, const list_chain *c)
{
    if (!os->os_arch_ids || !os->os_max_known)
        return 0;
    uint64_t end = c->lc_end == UINT64_MAX ? os->os_max_id + 1 : c->lc_end;
    if (end <= c->lc_next)
        return 0;
    double records =
        (double)(end - c->lc_next) * (double)os->os_arch_records / (double)os->os_arch_ids;
    return (uint64_t)(records / LIST_PAGE_RECORDS);
}

/* Cuts the archived list until none of its chains has more pages left than
 * the live chains have on average, nor (the live list done) more than
 * ARCHIVED_CHAIN_PAGES: it then ends with the live list. In one chain, a
 * round trip a page, it would outlast it at a high latency (the 1m
 * portal's 200 archived contact pages took the whole run at 3 s, and its
 * last 35 s after everything else). Each cut costs a partial page. */
static void split_archived(run_ctx *rc, object_sync *os)
{
    if (rc->rc_cfg->c_reference)
        return;
    int live = live_chains(os);
    uint64_t target = live ? records_left(os) / (uint64_t)live / LIST_PAGE_RECORDS : 0;
    if (target < ARCHIVED_CHAIN_PAGES)
        target = ARCHIVED_CHAIN_PAGES;
    for (;;) {
        int best = -1;
        uint64_t most = target;
        for (int i = 0; i < LIST_CHAINS_MAX; i++) {
            const list_chain *c = &os->os_chains[i];
            uint64_t left = c->lc_active && c->lc_archived ? archived_pages_left(os, c) : 0;
            if (left > most) {
                most = left;
                best = i;
            }
        }
        if (best < 0)
            return;
        list_chain *c = &os->os_chains[best];
        uint64_t end = c->lc_end == UINT64_MAX ? os->os_max_id + 1 : c->lc_end;
        uint64_t mid = c->lc_next + (end - c->lc_next) / 2;
        int n = new_chain(os, true, mid, c->lc_end);
        if (n < 0)
            return;
        os->os_chains[best].lc_end = mid;
        next_page(rc, os, n);
    }
}

/* Cuts the type's list into its share of chains, and again as its chains
 * end, down to two pages a half: a chain's last page is partial (a cut
 * costs up to a call), but the scans behind the list wait for its slowest
 * chain, a round trip a page. Beyond the share, one more cut for each page
 * answered while the burst budget still has room, down to four pages a
 * half (a cut beyond the share spends a call on budget that would idle
 * otherwise; smaller halves would spend it on their partial last pages).
 * Unpaced, a budget always has room: no cut beyond the share. */
static void split_chains(run_ctx *rc, object_sync *os)
{
    int want = chains_wanted(rc, os);
    while (live_chains(os) < want && split_chain(rc, os, MIN_CHAIN_RECORDS))
        ;
    if (budget_pace(&rc->rc_shm->sr_burst, NULL) &&
        rl_idle(&rc->rc_shm->sr_burst.bu_rl, clock_mono_ns()))
        split_chain(rc, os, 2 * MIN_CHAIN_RECORDS);
    split_archived(rc, os);
}

/* The records of one page: live ones stored, archived ones removed with
 * every set they parent. */
static void merge_records(run_ctx *rc, hs_object_type type, bool archived_list,
                          const wire_objects *wo, uint64_t end)
{
    store_txn *txn = run_txn(rc);
    if (!txn)
        return;
    err_info e = {0};
    for (size_t i = 0; i < wo->wob_nitems; i++) {
        const wire_object *o = &wo->wob_items[i];
        if (o->wo_id >= end)
            continue; /* the chain was cut below it: the next chain's */
        if (!archived_list && !o->wo_archived) {
            store_object so = {o->wo_id, o->wo_lastmodified_ms, false};
            object_sync *os = &rc->rc_objects[type];
            if (!os->os_min_id || o->wo_id < os->os_min_id)
                os->os_min_id = o->wo_id;
            if (store_put_object(txn, type, &so, &e)) {
                run_store_fail(rc, &e);
                return;
            }
            for (int k = 0; k < os->os_ncount; k++)
                if (o->wo_heavy & (1u << k))
                    scan_note_heavy(&rc->rc_tables[os->os_count_tables[k]], o->wo_id);
            continue;
        }
        if (store_delete_object(txn, type, o->wo_id, NULL, &e)) {
            run_store_fail(rc, &e);
            return;
        }
        for (int t = 0; t < rc->rc_ntables; t++) {
            table_run *tr = &rc->rc_tables[t];
            store_set_delta d = {0};
            if (tr->tr_table.t_parent != type)
                continue;
            if (store_delete_parent(txn, tr->tr_table, o->wo_id, &d, &e)) {
                run_store_fail(rc, &e);
                return;
            }
            tr->tr_state.ss_last_run.sr_removed += d.sd_removed;
        }
    }
}

void listing_merge_max_id(run_ctx *rc, planned_job *pj, const wire_search_result *sr)
{
    const job_object_list *jl = (const job_object_list *)pj->pj_payload;
    object_sync *os = &rc->rc_objects[jl->jl_object_type];
    if (jl->jl_mode == LIST_HEAVY) {
        table_run *tr = &rc->rc_tables[pj->pj_table];
        for (size_t i = 0; i < sr->wsr_nhits; i++)
            scan_note_heavy(tr, sr->wsr_hits[i].wsh_id);
        pj->pj_answered = true;
        return;
    }
    if (jl->jl_mode != LIST_MAX_ID)
        return;
    os->os_max_known = sr->wsr_nhits > 0;
    os->os_max_id = sr->wsr_nhits ? sr->wsr_hits[0].wsh_id : 0;
    os->os_live_count = sr->wsr_total;
    pj->pj_answered = true;
}

void listing_merge(run_ctx *rc, planned_job *pj, const wire_objects *wo)
{
    const job_object_list *jl = (const job_object_list *)pj->pj_payload;
    object_sync *os = &rc->rc_objects[jl->jl_object_type];
    if (jl->jl_mode == LIST_MAX_ID || jl->jl_mode == LIST_HEAVY)
        return;
    const list_chain *c = &os->os_chains[pj->pj_table];
    merge_records(rc, os->os_type, jl->jl_archived, wo, c->lc_end);
    pj->pj_more = false;
    if (wo->wob_next_after) {
        if (!parse_u64_digits(wo->wob_next_after, wo->wob_next_after_len, &pj->pj_next_after)) {
            log_warn("object sync: a %s page's next cursor is not a record ID: %.40s",
                     hs_object(os->os_type)->oi_plural, wo->wob_next_after);
            return; /* not answered: asked again, then the run stops */
        }
        pj->pj_more = pj->pj_next_after < c->lc_end;
        if (jl->jl_archived && wo->wob_nitems && pj->pj_next_after > wo->wob_items[0].wo_id) {
            /* A full page: its records over the IDs from its first to the next. */
            os->os_arch_records += wo->wob_nitems;
            os->os_arch_ids += pj->pj_next_after - wo->wob_items[0].wo_id;
        }
    }
    pj->pj_answered = true;
}

void listing_watch(run_ctx *rc)
{
    /* A cut costs a call (the page at its end is partial): only while the
     * burst budget has a slot free now, which the cut's page then takes.
     * With the budget full, other work fills it while the page is late. */
    uint64_t now = clock_mono_ns();
    budget *burst = &rc->rc_shm->sr_burst;
    if (budget_pace(burst, NULL) && !rl_idle(&burst->bu_rl, now))
        return;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        object_sync *os = &rc->rc_objects[t];
        for (int i = 0; os->os_listing && i < LIST_CHAINS_MAX; i++) {
            list_chain *c = &os->os_chains[i];
            if (!page_late(c, now) || c->lc_late_cut)
                continue;
            c->lc_late_cut = true; /* one cut a page */
            uint64_t end = c->lc_end;
            if (cut_chain(rc, os, i, MIN_CHAIN_RECORDS)) {
                os->os_late_cuts++;
                log_debug("listing %s: a page from ID %llu is late: IDs %llu to %llu go to a "
                          "new chain",
                          hs_object(os->os_type)->oi_plural, (unsigned long long)c->lc_next,
                          (unsigned long long)c->lc_end, (unsigned long long)end);
            }
        }
    }
}

bool listing_listed_from(const object_sync *os, uint64_t from, uint64_t *first, uint64_t *last)
{
    uint64_t at = from;
    for (;;) {
        /* Past every unlisted range `at` is in; then up to the next one. */
        bool moved = false;
        uint64_t end = UINT64_MAX;
        for (int i = 0; i < LIST_CHAINS_MAX; i++) {
            const list_chain *c = &os->os_chains[i];
            if (!c->lc_active || c->lc_archived || c->lc_next >= c->lc_end)
                continue;
            if (at >= c->lc_next && at < c->lc_end) {
                if (c->lc_end == UINT64_MAX)
                    return false;
                at = c->lc_end;
                moved = true;
            } else if (c->lc_next > at && c->lc_next - 1 < end) {
                end = c->lc_next - 1;
            }
        }
        if (!moved) {
            *first = at;
            *last = end;
            return true;
        }
    }
}

void listing_job_done(run_ctx *rc, planned_job *pj)
{
    const job_object_list jl = *(const job_object_list *)pj->pj_payload;
    object_sync *os = &rc->rc_objects[jl.jl_object_type];
    int chain = pj->pj_table;
    bool more = pj->pj_more;
    uint64_t next = pj->pj_next_after;
    if (jl.jl_mode == LIST_HEAVY)
        return; /* its parents are the scan's (scan_note_heavy) */
    if (jl.jl_mode == LIST_MAX_ID) {
        /* A span known: every list's share may have changed. */
        os->os_probing = false;
        for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
            if (rc->rc_objects[t].os_listing)
                split_chains(rc, &rc->rc_objects[t]);
        return;
    }
    list_chain *c = &os->os_chains[chain];
    if (more && next < c->lc_end) {
        c->lc_next = next;
        next_page(rc, os, chain);
    } else {
        c->lc_active = false;
    }
    os->os_listed_gen++; /* the scans may plan what it listed */
    if (os->os_listing && !jl.jl_archived)
        save_progress(rc, os);
    split_chains(rc, os);
}
