/*
 * report — what a run tells its user (see run_ctx.h): the end-of-run summary
 * (a table on stderr, or one JSON document on stdout with --json) and the
 * progress line redrawn while a terminal watches.
 */
#include <stdio.h>
#include <unistd.h>

#include "../common/base/clock.h"
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

/* How the run spent the burst budget. */
typedef struct pace {
    double pc_span_s;    /* from the first paced call to the last (0: none paced) */
    double pc_rate;      /* calls a second over that span (over the run when unpaced) */
    uint32_t pc_fullest; /* the most calls one window held */
} pace;

/* The rate is taken over the span the limiter granted, not the run's wall
 * time (which has the start and the merge at the end in it), and from the
 * grants' own starts: paced grants are at least an interval apart, so the
 * rate is never above the limit paced to. */
static pace run_pace(run_ctx *rc, double seconds, uint64_t burst_calls)
{
    pace p = {0, seconds > 0 ? (double)burst_calls / seconds : 0, rc->rc_fullest_window};
    uint64_t n = 0, first = 0, last = 0;
    budget_granted(&rc->rc_shm->sr_burst, &n, &first, &last);
    rc->rc_sampled_ns = 0; /* the last sample, whenever the one before was */
    report_sample(rc, clock_mono_ns());
    p.pc_fullest = rc->rc_fullest_window;
    if (n >= 2 && last > first) {
        p.pc_span_s = (double)(last - first) / 1e9;
        p.pc_rate = (double)(n - 1) / p.pc_span_s;
    }
    return p;
}

/* The summary as one JSON document (no newline) in b. */
static void summary_json(jbuf *b, run_ctx *rc, double seconds, const wire_counters *all_calls,
                         uint64_t searches, const pace *p, double limit)
{
    jb_printf(b,
              "{\"version\":\"%s\",\"run\":%llu,\"seconds\":%.3f,\"calls\":%llu,\"searches\":%llu,"
              "\"retries\":%llu,"
              "\"http_429\":%llu,\"rate_per_s\":%.2f,\"rate_limit_per_s\":%.2f,"
              "\"span_seconds\":%.3f,\"fullest_window\":%u,"
              "\"budget_fraction\":%.4g,\"properties_calls\":%llu,\"labels_calls\":%llu,",
              hs_version(), (unsigned long long)rc->rc_run_number, seconds,
              (unsigned long long)all_calls->wc_calls, (unsigned long long)searches,
              (unsigned long long)all_calls->wc_retries,
              (unsigned long long)all_calls->wc_throttled, p->pc_rate, limit, p->pc_span_s,
              p->pc_fullest, rc->rc_cfg->c_budget_fraction,
              (unsigned long long)rc->rc_props_calls.wc_calls,
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
                  "\"heavy_ahead\":%llu,"
                  "\"drift\":{\"added\":%llu,\"removed\":%llu,\"relabelled\":%llu}}",
                  i ? "," : "", tr->tr_name, store_route_name(tr->tr_route),
                  r->sr_completed ? "true" : "false", (unsigned long long)r->sr_parents,
                  (unsigned long long)r->sr_added, (unsigned long long)r->sr_removed,
                  (unsigned long long)r->sr_relabelled, (unsigned long long)k->wc_calls,
                  (unsigned long long)(k->wc_retries + v->wc_retries),
                  (unsigned long long)(k->wc_throttled + v->wc_throttled),
                  (unsigned long long)r->sr_verified, (unsigned long long)v->wc_calls,
                  (unsigned long long)tr->tr_heavy_ahead, (unsigned long long)r->sr_drift_added,
                  (unsigned long long)r->sr_drift_removed,
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
                  "\"list_calls\":%llu,\"search_calls\":%llu,\"splits\":%llu,\"late_cuts\":%llu,"
                  "\"retries\":%llu,"
                  "\"http_429\":%llu}",
                  first ? "" : ",", hs_object(os->os_type)->oi_plural, objects_mode(os),
                  os->os_done ? "true" : "false", (unsigned long long)os->os_hits,
                  (unsigned long long)os->os_list_calls.wc_calls,
                  (unsigned long long)os->os_search_calls.wc_calls,
                  (unsigned long long)os->os_splits, (unsigned long long)os->os_late_cuts,
                  (unsigned long long)k.wc_retries, (unsigned long long)k.wc_throttled);
        first = false;
    }
    jb_printf(b, "],\"object_sync\":{\"calls\":%llu,\"retries\":%llu,\"http_429\":%llu}}",
              (unsigned long long)all.wc_calls, (unsigned long long)all.wc_retries,
              (unsigned long long)all.wc_throttled);
}

/* The summary's line on the burst budget: its calls, their rate over the
 * span against the limit, the fullest window; then searches, retries and
 * 429s. */
static void summary_budget_line(const hubsync_config *c, double seconds, const wire_counters *all,
                                uint64_t searches, const pace *p, uint32_t share,
                                uint64_t window_ns, double limit)
{
    uint64_t calls = all->wc_calls;
    double rate = p->pc_rate;
    /* The burst budget's share: searches have their own. */
    fprintf(stderr, "%llu API calls in %.1f s: %llu on the burst budget", (unsigned long long)calls,
            seconds, (unsigned long long)(calls - searches));
    if (p->pc_span_s > 0)
        fprintf(stderr, " over %.1f s", p->pc_span_s);
    fprintf(stderr, ", %.1f/s", rate);
    long long window_s = (long long)(window_ns / 1000000000ULL);
    const char *whose = c->c_rate_given ? "" : " HubSpot";
    if (limit > 0 && c->c_budget_fraction < 1)
        fprintf(stderr, " (%.0f%% of this run's %u/%llds: --budget-fraction %.2f of the%s limit",
                100.0 * rate / limit, share, window_s, c->c_budget_fraction, whose);
    else if (limit > 0)
        fprintf(stderr, " (%.0f%% of the%s %u/%llds limit", 100.0 * rate / limit, whose, share,
                window_s);
    if (limit > 0)
        fprintf(stderr, "; fullest %llds window %u of %u)", window_s, p->pc_fullest, share);
    fprintf(stderr, "; %llu searches; %llu retries, %llu 429s\n", (unsigned long long)searches,
            (unsigned long long)all->wc_retries, (unsigned long long)all->wc_throttled);
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
    pace p = run_pace(rc, seconds, calls - searches);
    if (c->c_json) {
        jbuf b;
        jb_init(&b);
        summary_json(&b, rc, seconds, &all, searches, &p, limit);
        if (jb_ok(&b))
            printf("%s\n", jb_cstr(&b));
        jb_free(&b);
        return;
    }
    if (c->c_log_json) {
        /* JSON log lines stay JSON lines: the summary is one of them. */
        jbuf b;
        jb_init(&b);
        summary_json(&b, rc, seconds, &all, searches, &p, limit);
        if (jb_ok(&b))
            log_json_field(LOG_INFO,
                           &(log_fields){.lf_event = "run_summary",
                                         .lf_set = LF_CALLS,
                                         .lf_calls = all.wc_calls},
                           "summary", jb_cstr(&b), "run summary");
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
    summary_budget_line(c, seconds, &all, searches, &p, share, window_ns, limit);
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

void report_sample(run_ctx *rc, uint64_t now_ns)
{
    /* Every 20 ms at most: a window misses less than one grant of 19/s,
     * and a busy loop does not scan the grant ring at every message. */
    if (now_ns - rc->rc_sampled_ns < 20000000ULL)
        return;
    rc->rc_sampled_ns = now_ns;
    uint32_t n = budget_window_grants(&rc->rc_shm->sr_burst, now_ns);
    if (n > rc->rc_fullest_window)
        rc->rc_fullest_window = n;
}

/* The parents a table merges this run, when known: its changed parents,
 * its stored objects once listed, or, while they are listed, the live
 * count search gave. */
static bool table_total(run_ctx *rc, table_run *tr, uint64_t *total)
{
    const object_sync *os = &rc->rc_objects[tr->tr_table.t_parent];
    uint64_t n = 0;
    err_info e = {0};
    if (tr->tr_incremental) {
        *total += tr->tr_changed_total;
        return true;
    }
    if (!tr->tr_objects_ready) {
        *total += os->os_live_count;
        return os->os_max_known;
    }
    store_txn *txn = run_txn(rc);
    if (txn && store_count_objects(txn, tr->tr_table.t_parent, &n, &e) == 0)
        *total += n;
    return true;
}

void report_progress(run_ctx *rc, double seconds, bool final)
{
    progress_view v = {.pv_seconds = seconds,
                       .pv_calls = run_totals(rc, NULL).wc_calls,
                       .pv_total_known = true,
                       .pv_final = final};
    for (int i = 0; i < rc->rc_ntables; i++) {
        table_run *tr = &rc->rc_tables[i];
        v.pv_merged += tr->tr_state.ss_last_run.sr_parents;
        if (!table_total(rc, tr, &v.pv_total))
            v.pv_total_known = false;
    }
    bool list_total_known = true;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const object_sync *os = &rc->rc_objects[t];
        uint64_t n = 0;
        err_info e = {0};
        store_txn *txn;
        /* A list that has ended still counts: the totals stay put. */
        if (!os->os_wanted || !os->os_listing)
            continue;
        v.pv_listing = v.pv_listing || !os->os_done;
        if ((txn = run_txn(rc)) != NULL && store_count_objects(txn, os->os_type, &n, &e) == 0)
            v.pv_listed += n;
        v.pv_list_total += os->os_live_count;
        list_total_known = list_total_known && os->os_max_known;
    }
    if (!list_total_known)
        v.pv_list_total = 0;
    progress_meter_add(&rc->rc_merge_meter, seconds, v.pv_merged);
    progress_meter_add(&rc->rc_list_meter, seconds, v.pv_listed);
    v.pv_merge_rate = progress_meter_rate(&rc->rc_merge_meter, 10);
    v.pv_list_rate = progress_meter_rate(&rc->rc_list_meter, 10);
    char line[256];
    size_t len = progress_format(&v, line, sizeof(line));
    /* Spaces over what a longer line before left on the terminal. */
    int pad = rc->rc_progress_len > len ? (int)(rc->rc_progress_len - len) : 0;
    fprintf(stderr, "\r%s%*s", line, pad, "");
    rc->rc_progress_len = len;
    if (final)
        fputc('\n', stderr);
}
