/*
 * mirror_check — the checks export and push share before reading the
 * mirror (mirror_check.h).
 */
#include "mirror_check.h"

int mirror_check_synced(store_txn *t, const char *name, const char *hint, err_info *e)
{
    static store_state st; /* large (the scan's ranges) */
    int rc = store_get_state(t, name, &st, e);
    /* A damaged record is still a record: synced. No cursor is read here
     * (run and status say the record is damaged and what to do). */
    if (rc == ERR_CORRUPT)
        return 0;
    if (rc != 0)
        return err_wrap(e, "%s: ", name);
    if (st.ss_runs == 0 && st.ss_cursor.cu_kind == STORE_CURSOR_NONE && st.ss_scan_started_ms == 0)
        return err_set(e, ERR_NOT_FOUND, "%s was never synced: %s", name, hint);
    return 0;
}

int mirror_feed_gap(store_txn *t, uint64_t after, const hs_table *tables, int n, feed_gap *gap,
                    err_info *e)
{
    store_feed_info fi;
    int rc = store_feed_read_info(t, &fi, e);
    if (rc)
        return rc;
    *gap = (feed_gap){.fg_kind = FEED_GAP_NONE,
                      .fg_latest_run = fi.fi_latest_run,
                      .fg_oldest_run = fi.fi_oldest_run};
    if (after > fi.fi_latest_run) {
        gap->fg_kind = FEED_GAP_AHEAD;
        return 0;
    }
    if (after + 1 < fi.fi_oldest_run) {
        gap->fg_kind = FEED_GAP_DROPPED;
        return 0;
    }
    /* A table loaded from empty after `after`: its changes since are that
     * load, which no note holds. */
    for (int i = 0; i < n; i++) {
        uint64_t base = 0;
        if ((rc = store_feed_table_base(t, tables[i], &base, e)) != 0)
            return rc;
        if (base > after) {
            gap->fg_kind = FEED_GAP_BASE;
            gap->fg_base_run = base;
            gap->fg_table = tables[i];
            return 0;
        }
    }
    return 0;
}
