/*
 * order — the order a run's work goes in: which object type lists first
 * (the one whose records start the most scans, then the smaller), and the
 * rank workers claim jobs by (searches and list pages before the scans
 * planned behind them). Reads the run context only: the planners
 * (listing.c, changes.c) and the services (run_publish) both use it, so it
 * sits below them.
 */
#include "run_ctx.h"

/* How many tables scan behind a type's list: the batch reads each record
 * listed lets start. */
static int tables_behind(const run_ctx *rc, const object_sync *os)
{
    int tables = 0;
    for (int t = 0; t < rc->rc_ntables; t++)
        tables += rc->rc_tables[t].tr_table.t_parent == os->os_type;
    return tables;
}

/* Whether type a lists before type b: the one each listed record starts
 * more scans for, then the smaller (its scans start sooner). A type's scans
 * wait for its list (they plan behind its lowest unlisted ID), and a
 * scan's heavy parents take a round trip a page: scans begun early hide
 * their paging rounds behind the other lists, scans begun last are the
 * run's tail. */
bool order_lists_before(const run_ctx *rc, const object_sync *a, const object_sync *b)
{
    int ta = tables_behind(rc, a), tb = tables_behind(rc, b);
    if (ta != tb)
        return ta > tb;
    return a->os_live_count != b->os_live_count ? a->os_live_count < b->os_live_count
                                                : a->os_type < b->os_type;
}

void order_lists(const run_ctx *rc, hs_object_type order[HS_OBJECT_TYPE_COUNT])
{
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        int k = t;
        for (; k > 0 && order_lists_before(rc, &rc->rc_objects[t], &rc->rc_objects[order[k - 1]]);
             k--)
            order[k] = order[k - 1];
        order[k] = (hs_object_type)t;
    }
}

uint32_t order_list_rank(const run_ctx *rc, hs_object_type type)
{
    const object_sync *os = &rc->rc_objects[type];
    uint32_t rank = 0;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const object_sync *o = &rc->rc_objects[t];
        rank += o != os && o->os_listing && order_lists_before(rc, o, os);
    }
    return rank;
}

/* The order workers claim jobs in: searches and list pages before the scans
 * planned behind them (a first list is the run's critical path: the scans
 * fill what it leaves, and those left over fill the round trips at its
 * end), the types' lists in the order they share the budget. */
uint32_t order_job_rank(const run_ctx *rc, uint32_t kind, const void *payload)
{
    if (kind == JOB_ASSOC_SCAN)
        return HS_OBJECT_TYPE_COUNT;
    if (kind == JOB_OBJECT_LIST)
        return order_list_rank(rc,
                               (hs_object_type)((const job_object_list *)payload)->jl_object_type);
    return 0;
}
