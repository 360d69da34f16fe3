/*
 * report — what a run tells its user (see run_ctx.h): the end-of-run summary
 * (a table on stderr, or one JSON document on stdout with --json) and the
 * progress line redrawn while a terminal watches.
 */
#include <stdio.h>
#include <unistd.h>

#include "../common/base/jbuf.h"
#include "../common/base/log.h"
#include "../common/ipc/rl.h"
#include "../common/base/version.h"
#include "run_ctx.h"

/* How the object sync of a parent type went this run. */
static const char *objects_mode(const object_sync *os)
{
    if (os->os_listing)
        return "list";
    if (os->os_searching)
        return "changes";
    return os->os_done ? "resumed" : "none";
}

static void add_calls(wire_counters *into, const wire_counters *c)
{
    into->wc_calls += c->wc_calls;
    into->wc_retries += c->wc_retries;
    into->wc_throttled += c->wc_throttled;
    into->wc_bytes += c->wc_bytes;
}

/* The run's figures over every table and object sync; *searches (when not
 * NULL) the calls on the search budget. */
static wire_counters run_totals(const run_ctx *rc, uint64_t *searches)
{
    wire_counters all = {0};
    uint64_t search = 0;
    for (int i = 0; i < rc->rc_ntables; i++) {
        add_calls(&all, &rc->rc_calls[i]);
        add_calls(&all, &rc->rc_verify_calls[i]);
    }
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        add_calls(&all, &rc->rc_objects[t].os_list_calls);
        add_calls(&all, &rc->rc_objects[t].os_search_calls);
        search += rc->rc_objects[t].os_search_calls.wc_calls;
    }
    add_calls(&all, &rc->rc_props_calls);  /* the rollup re-check */
    add_calls(&all, &rc->rc_labels_calls); /* label catalogs read again */
    if (searches)
        *searches = search;
    return all;
}

/* The summary as one JSON document (no newline) in b. */
static void summary_json(jbuf *b, run_ctx *rc, double seconds, const wire_counters *all_calls,
                         uint64_t searches, double rate, double limit)
{
    jb_printf(b,
              "{\"version\":\"%s\",\"run\":%llu,\"seconds\":%.3f,\"calls\":%llu,\"searches\":%llu,"
              "\"retries\":%llu,"
              "\"http_429\":%llu,\"rate_per_s\":%.2f,\"rate_limit_per_s\":%.2f,"
              "\"budget_fraction\":%.4g,\"properties_calls\":%llu,\"labels_calls\":%llu,",
              hs_version(), (unsigned long long)rc->rc_run_number, seconds,
              (unsigned long long)all_calls->wc_calls, (unsigned long long)searches,
              (unsigned long long)all_calls->wc_retries,
              (unsigned long long)all_calls->wc_throttled, rate, limit,
              rc->rc_cfg->c_budget_fraction, (unsigned long long)rc->rc_props_calls.wc_calls,
              (unsigned long long)rc->rc_labels_calls.wc_calls);
    uint64_t day_limit = 0, day_left = 0;
    if (rl_daily_seen(&rc->rc_shm->sr_daily, rl_utc_day(), &day_limit, &day_left))
        jb_printf(b, "\"daily_remaining\":%llu,", (unsigned long long)day_left);
    jb_printf(b, "\"tables\":[");
    for (int i = 0; i < rc->rc_ntables; i++) {
        const table_run *tr = &rc->rc_tables[i];
        const store_run *r = &tr->tr_state.ss_last_run;
        const wire_counters *k = &rc->rc_calls[i], *v = &rc->rc_verify_calls[i];
        jb_printf(b,
                  "%s{\"table\":\"%s\",\"route\":\"%s\",\"completed\":%s,\"parents\":%llu,"
                  "\"added\":%llu,\"removed\":%llu,\"relabelled\":%llu,\"assoc_calls\":%llu,"
                  "\"retries\":%llu,\"http_429\":%llu,\"verified\":%llu,\"verify_calls\":%llu,"
                  "\"drift\":{\"added\":%llu,\"removed\":%llu,\"relabelled\":%llu}}",
                  i ? "," : "", tr->tr_name, store_route_name(tr->tr_route),
                  r->sr_completed ? "true" : "false", (unsigned long long)r->sr_parents,
                  (unsigned long long)r->sr_added, (unsigned long long)r->sr_removed,
                  (unsigned long long)r->sr_relabelled, (unsigned long long)k->wc_calls,
                  (unsigned long long)(k->wc_retries + v->wc_retries),
                  (unsigned long long)(k->wc_throttled + v->wc_throttled),
                  (unsigned long long)r->sr_verified, (unsigned long long)v->wc_calls,
                  (unsigned long long)r->sr_drift_added, (unsigned long long)r->sr_drift_removed,
                  (unsigned long long)r->sr_drift_relabelled);
    }
    jb_printf(b, "],\"objects\":[");
    wire_counters all = {0};
    bool first = true;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const object_sync *os = &rc->rc_objects[t];
        if (!os->os_wanted)
            continue;
        wire_counters k = os->os_list_calls;
        add_calls(&k, &os->os_search_calls);
        add_calls(&all, &k);
        jb_printf(b,
                  "%s{\"object\":\"%s\",\"mode\":\"%s\",\"completed\":%s,\"changes\":%llu,"
                  "\"list_calls\":%llu,\"search_calls\":%llu,\"splits\":%llu,\"retries\":%llu,"
                  "\"http_429\":%llu}",
                  first ? "" : ",", hs_object(os->os_type)->oi_plural, objects_mode(os),
                  os->os_done ? "true" : "false", (unsigned long long)os->os_hits,
                  (unsigned long long)os->os_list_calls.wc_calls,
                  (unsigned long long)os->os_search_calls.wc_calls,
                  (unsigned long long)os->os_splits, (unsigned long long)k.wc_retries,
                  (unsigned long long)k.wc_throttled);
        first = false;
    }
    jb_printf(b, "],\"object_sync\":{\"calls\":%llu,\"retries\":%llu,\"http_429\":%llu}}",
              (unsigned long long)all.wc_calls, (unsigned long long)all.wc_retries,
              (unsigned long long)all.wc_throttled);
}

void report_summary(run_ctx *rc, double seconds)
{
    const hubsync_config *c = rc->rc_cfg;
    uint64_t searches = 0;
    wire_counters all = run_totals(rc, &searches);
    uint64_t calls = all.wc_calls;
    /* The limit paced to: HubSpot's (learned from its headers) or --rate,
     * times --budget-fraction. */
    uint64_t window_ns = 0;
    uint32_t share = budget_share(&rc->rc_shm->sr_burst, &window_ns);
    double limit = share && window_ns ? (double)share * 1e9 / (double)window_ns : 0;
    double rate = seconds > 0 ? (double)(calls - searches) / seconds : 0;
    if (c->c_json) {
        jbuf b;
        jb_init(&b);
        summary_json(&b, rc, seconds, &all, searches, rate, limit);
        if (jb_ok(&b))
            printf("%s\n", jb_cstr(&b));
        jb_free(&b);
        return;
    }
    if (c->c_log_json) {
        /* JSON log lines stay JSON lines: the summary is one of them. */
        jbuf b;
        jb_init(&b);
        summary_json(&b, rc, seconds, &all, searches, rate, limit);
        if (jb_ok(&b))
            log_json_field(LOG_INFO, "summary", jb_cstr(&b), "run summary");
        jb_free(&b);
        return;
    }
    fprintf(stderr, "\n%-20s %-17s %9s %9s %9s %9s %7s %7s %5s\n", "table", "route", "parents",
            "added", "removed", "relabel", "calls", "retries", "429s");
    for (int i = 0; i < rc->rc_ntables; i++) {
        const table_run *tr = &rc->rc_tables[i];
        const store_run *r = &tr->tr_state.ss_last_run;
        const wire_counters *k = &rc->rc_calls[i];
        fprintf(stderr, "%-20s %-17s %9llu %9llu %9llu %9llu %7llu %7llu %5llu%s\n", tr->tr_name,
                store_route_name(tr->tr_route), (unsigned long long)r->sr_parents,
                (unsigned long long)r->sr_added, (unsigned long long)r->sr_removed,
                (unsigned long long)r->sr_relabelled, (unsigned long long)k->wc_calls,
                (unsigned long long)k->wc_retries, (unsigned long long)k->wc_throttled,
                r->sr_completed ? "" : "  (incomplete)");
        const wire_counters *v = &rc->rc_verify_calls[i];
        if (r->sr_verified || v->wc_calls)
            fprintf(stderr, "%-20s %-17s %9llu %9llu %9llu %9llu %7llu %7llu %5llu\n",
                    "  verification", "drift", (unsigned long long)r->sr_verified,
                    (unsigned long long)r->sr_drift_added, (unsigned long long)r->sr_drift_removed,
                    (unsigned long long)r->sr_drift_relabelled, (unsigned long long)v->wc_calls,
                    (unsigned long long)v->wc_retries, (unsigned long long)v->wc_throttled);
    }
    /* One line per parent type: its object sync, and under "changes" the
     * search that served it and every incremental table of that parent. */
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const object_sync *os = &rc->rc_objects[t];
        if (!os->os_wanted)
            continue;
        char name[48], mode[32];
        wire_counters k = os->os_list_calls;
        add_calls(&k, &os->os_search_calls);
        snprintf(name, sizeof(name), "objects %s", hs_object(os->os_type)->oi_plural);
        if (os->os_searching)
            snprintf(mode, sizeof(mode), "changes (%llu srch)",
                     (unsigned long long)os->os_search_calls.wc_calls);
        else
            snprintf(mode, sizeof(mode), "%s", objects_mode(os));
        char changed[24] = "";
        if (os->os_searching)
            snprintf(changed, sizeof(changed), "%llu", (unsigned long long)os->os_hits);
        fprintf(stderr, "%-20s %-17s %9s %9s %9s %9s %7llu %7llu %5llu%s\n", name, mode, changed,
                "", "", "", (unsigned long long)k.wc_calls, (unsigned long long)k.wc_retries,
                (unsigned long long)k.wc_throttled,
                os->os_done || !(os->os_listing || os->os_searching) ? "" : "  (incomplete)");
    }
    /* The burst budget's share: searches have their own. */
    fprintf(stderr, "%llu API calls in %.1f s: %llu on the burst budget, %.1f/s",
            (unsigned long long)calls, seconds, (unsigned long long)(calls - searches), rate);
    long long window_s = (long long)(window_ns / 1000000000ULL);
    const char *whose = c->c_rate_given ? "" : " HubSpot";
    if (limit > 0 && c->c_budget_fraction < 1)
        fprintf(stderr, " (%.0f%% of this run's %u/%llds: --budget-fraction %.2f of the%s limit)",
                100.0 * rate / limit, share, window_s, c->c_budget_fraction, whose);
    else if (limit > 0)
        fprintf(stderr, " (%.0f%% of the%s %u/%llds limit)", 100.0 * rate / limit, whose, share,
                window_s);
    fprintf(stderr, "; %llu searches; %llu retries, %llu 429s\n", (unsigned long long)searches,
            (unsigned long long)all.wc_retries, (unsigned long long)all.wc_throttled);
    uint64_t day_limit = 0, day_left = 0;
    if (rl_daily_seen(&rc->rc_shm->sr_daily, rl_utc_day(), &day_limit, &day_left)) {
        fprintf(stderr, "HubSpot's daily count: %llu calls left today",
                (unsigned long long)day_left);
        if (day_limit)
            fprintf(stderr, " of %llu", (unsigned long long)day_limit);
        fputc('\n', stderr);
    }
}

bool report_progress_wanted(const hubsync_config *c)
{
    return c->c_progress == PROGRESS_ALWAYS ||
           (c->c_progress == PROGRESS_AUTO && isatty(STDERR_FILENO) && !c->c_log_json);
}

void report_progress(run_ctx *rc, double seconds, bool final)
{
    uint64_t merged = 0, total = 0, calls = run_totals(rc, NULL).wc_calls;
    for (int i = 0; i < rc->rc_ntables; i++) {
        table_run *tr = &rc->rc_tables[i];
        uint64_t n = 0;
        err_info e = {0};
        merged += tr->tr_state.ss_last_run.sr_parents;
        if (tr->tr_incremental) {
            total += tr->tr_changed_total;
            continue;
        }
        store_txn *txn = tr->tr_objects_ready ? run_txn(rc) : NULL;
        if (txn && store_count_objects(txn, tr->tr_table.t_parent, &n, &e) == 0)
            total += n;
    }
    int width = 30, filled = total ? (int)((double)width * (double)merged / (double)total) : 0;
    if (filled > width)
        filled = width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %llu/%llu parents  %llu calls  %.1f/s ", bar,
            (unsigned long long)merged, (unsigned long long)total, (unsigned long long)calls,
            seconds > 0 ? (double)calls / seconds : 0.0);
    if (final)
        fputc('\n', stderr);
}
