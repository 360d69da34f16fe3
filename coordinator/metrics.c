/*
 * metrics — the Prometheus textfile of `run --metrics-file` (see metrics.h).
 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/base/afile.h"
#include "../common/base/clock.h"
#include "../common/base/jbuf.h"
#include "../common/base/version.h"
#include "../common/ipc/rl.h"
#include "../common/ipc/skew.h"

/* The file this one replaces is read for the success times it carries;
 * a file larger than this is not ours (or not worth carrying over). */
enum { METRICS_OLD_MAX = 1 << 20 };

/* The previous file, NUL-terminated (NULL when none or unreadable). */
static char *read_old(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *buf = malloc(METRICS_OLD_MAX + 1);
    ssize_t n = buf ? read(fd, buf, METRICS_OLD_MAX) : -1;
    close(fd);
    if (n < 0) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* The value of the sample that starts a line with `sample` ("name{…} "),
 * or -1 when the old file has none. */
static double old_value(const char *old, const char *sample)
{
    size_t n = strlen(sample);
    for (const char *line = old; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : NULL)
        if (strncmp(line, sample, n) == 0) {
            char *end = NULL;
            double v = strtod(line + n, &end);
            return end != line + n && v >= 0 ? v : -1;
        }
    return -1;
}

static void family(jbuf *b, const char *name, const char *help)
{
    jb_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* One request row: calls, retries and 429s of an endpoint for a resource
 * (a table, or an object type). */
typedef struct request_row {
    const char *rr_endpoint;
    const char *rr_resource;
    const wire_counters *rr_calls;
} request_row;

static void request_family(jbuf *b, const char *name, const char *help, const request_row *rows,
                           int n, int field)
{
    family(b, name, help);
    for (int i = 0; i < n; i++) {
        const wire_counters *k = rows[i].rr_calls;
        uint64_t v = field == 0 ? k->wc_calls : field == 1 ? k->wc_retries : k->wc_throttled;
        jb_printf(b, "%s{endpoint=\"%s\",resource=\"%s\"} %llu\n", name, rows[i].rr_endpoint,
                  rows[i].rr_resource, (unsigned long long)v);
    }
}

/* A table's success time: now when this run finished it, else the old
 * file's (-1: never). */
static double table_success_s(const table_run *tr, int exit_code, const char *old, double now_s)
{
    if (tr->tr_state.ss_last_run.sr_completed && exit_code == 0)
        return now_s;
    char sample[128];
    snprintf(sample, sizeof(sample), "hubsync_table_last_success_timestamp_seconds{table=\"%s\"} ",
             tr->tr_name);
    return old ? old_value(old, sample) : -1;
}

/* The run's own families: exit code, success, times, the pace, the day's
 * calls left, the clock's lead over HubSpot's. */
static void render_run(jbuf *b, const run_ctx *rc, int exit_code, double seconds, const char *old,
                       double now_s)
{
    family(b, "hubsync_build_info", "The version of the hubsync that wrote this file (always 1).");
    jb_printf(b, "hubsync_build_info{version=\"%s\"} 1\n", hs_version());
    family(b, "hubsync_last_run_exit_code",
           "Exit code of the last run (0 ok, 1 incomplete, 2 usage, 3 auth, 4 locked, 5 daily).");
    jb_printf(b, "hubsync_last_run_exit_code %d\n", exit_code);
    family(b, "hubsync_last_run_success", "1 when the last run finished every table.");
    jb_printf(b, "hubsync_last_run_success %d\n", exit_code == 0);
    family(b, "hubsync_last_run_timestamp_seconds", "When the last run ended (Unix time).");
    jb_printf(b, "hubsync_last_run_timestamp_seconds %.3f\n", now_s);
    family(b, "hubsync_last_run_duration_seconds", "Wall time of the last run.");
    jb_printf(b, "hubsync_last_run_duration_seconds %.3f\n", seconds);
    double success = exit_code == 0 ? now_s
                     : old          ? old_value(old, "hubsync_last_success_timestamp_seconds ")
                                    : -1;
    if (success >= 0) {
        family(b, "hubsync_last_success_timestamp_seconds",
               "When a run last finished every table (Unix time).");
        jb_printf(b, "hubsync_last_success_timestamp_seconds %.3f\n", success);
    }
    family(b, "hubsync_rate_limit_per_second",
           "The burst rate the run paced to (HubSpot's limit or --rate, times "
           "--budget-fraction); 0: no pacing.");
    uint64_t window_ns = 0;
    uint32_t share = rc->rc_shm ? budget_share(&rc->rc_shm->sr_burst, &window_ns) : 0;
    jb_printf(b, "hubsync_rate_limit_per_second %.3f\n",
              share && window_ns ? (double)share * 1e9 / (double)window_ns : 0.0);
    uint64_t day_limit = 0, day_left = 0;
    if (rc->rc_shm && rl_daily_seen(&rc->rc_shm->sr_daily, rl_utc_day(), &day_limit, &day_left)) {
        family(b, "hubsync_daily_remaining",
               "Calls of the portal's day left, by HubSpot's X-HubSpot-RateLimit-Daily-Remaining.");
        jb_printf(b, "hubsync_daily_remaining %llu\n", (unsigned long long)day_left);
        if (day_limit) {
            family(b, "hubsync_daily_limit", "The portal's daily limit, by HubSpot's header.");
            jb_printf(b, "hubsync_daily_limit %llu\n", (unsigned long long)day_limit);
        }
    }
    int64_t low, high;
    if (rc->rc_shm && skew_bounds(&rc->rc_shm->sr_skew, &low, &high)) {
        family(b, "hubsync_clock_ahead_seconds",
               "How far this machine's clock ran ahead of HubSpot's, by the Date of its "
               "answers (less its one-second resolution); the run's cursors were held back "
               "by as much. 0: not ahead.");
        jb_printf(b, "hubsync_clock_ahead_seconds %.3f\n",
                  (double)skew_hold_back_ms(&rc->rc_shm->sr_skew) / 1000.0);
    }
}

/* Requests, retries and 429s by endpoint and resource. */
static void render_requests(jbuf *b, const run_ctx *rc, int ntables)
{
    request_row rows[2 * CONFIG_MAX_TABLES + 2 * HS_OBJECT_TYPE_COUNT + 2];
    int n = 0;
    rows[n++] = (request_row){"properties", "rollup_recheck", &rc->rc_props_calls};
    rows[n++] = (request_row){"labels", "labels_refresh", &rc->rc_labels_calls};
    for (int i = 0; i < ntables; i++)
        rows[n++] =
            (request_row){"associations_batch_read", rc->rc_tables[i].tr_name, &rc->rc_calls[i]};
    for (int i = 0; i < ntables; i++)
        rows[n++] =
            (request_row){"associations_verify", rc->rc_tables[i].tr_name, &rc->rc_verify_calls[i]};
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const object_sync *os = &rc->rc_objects[t];
        if (!os->os_wanted)
            continue;
        rows[n++] =
            (request_row){"objects_list", hs_object(os->os_type)->oi_plural, &os->os_list_calls};
        rows[n++] = (request_row){"objects_search", hs_object(os->os_type)->oi_plural,
                                  &os->os_search_calls};
    }
    request_family(b, "hubsync_last_run_requests",
                   "Requests the last run sent, retries included, by endpoint and resource (a "
                   "table, or an object type).",
                   rows, n, 0);
    request_family(b, "hubsync_last_run_retries", "Requests the last run sent again.", rows, n, 1);
    request_family(b, "hubsync_last_run_http_429", "429 answers the last run got.", rows, n, 2);
}

/* The families labelled by table: the last run's figures, verification,
 * how far behind each cursor is, when each table last finished. */
static void render_tables(jbuf *b, const run_ctx *rc, int ntables, int exit_code, const char *old,
                          double now_s)
{
    static const struct {
        const char *name, *help;
        size_t offset; /* of the store_run counter; SIZE_MAX: completed */
    } per_table[] = {
        {"hubsync_last_run_parents", "Parents the last run read (merged).",
         offsetof(store_run, sr_parents)},
        {"hubsync_last_run_associations_added", "Associations the last run added.",
         offsetof(store_run, sr_added)},
        {"hubsync_last_run_associations_removed", "Associations the last run removed.",
         offsetof(store_run, sr_removed)},
        {"hubsync_last_run_associations_relabelled", "Associations whose types changed.",
         offsetof(store_run, sr_relabelled)},
        {"hubsync_last_run_verified_parents",
         "Parents verification re-read in the last run (--verify-fraction).",
         offsetof(store_run, sr_verified)},
        {"hubsync_last_run_drift_added",
         "Associations verification added in the last run: the route had missed them.",
         offsetof(store_run, sr_drift_added)},
        {"hubsync_last_run_drift_removed", "Associations verification removed in the last run.",
         offsetof(store_run, sr_drift_removed)},
        {"hubsync_last_run_drift_relabelled",
         "Associations verification relabelled in the last run.",
         offsetof(store_run, sr_drift_relabelled)},
        {"hubsync_table_complete", "1 when the last run finished the table.", SIZE_MAX},
    };
    for (size_t f = 0; f < sizeof(per_table) / sizeof(per_table[0]); f++) {
        family(b, per_table[f].name, per_table[f].help);
        for (int i = 0; i < ntables; i++) {
            const store_run *r = &rc->rc_tables[i].tr_state.ss_last_run;
            uint64_t v = per_table[f].offset == SIZE_MAX
                             ? (uint64_t)r->sr_completed
                             : *(const uint64_t *)((const char *)r + per_table[f].offset);
            jb_printf(b, "%s{table=\"%s\"} %llu\n", per_table[f].name, rc->rc_tables[i].tr_name,
                      (unsigned long long)v);
        }
    }
    family(b, "hubsync_verify_cycles_total",
           "Full verification cycles over the table (a completed full scan counts as one).");
    for (int i = 0; i < ntables; i++)
        jb_printf(b, "hubsync_verify_cycles_total{table=\"%s\"} %llu\n", rc->rc_tables[i].tr_name,
                  (unsigned long long)rc->rc_tables[i].tr_state.ss_verify_cycles);
    family(b, "hubsync_verify_last_cycle_timestamp_seconds",
           "When the table's last full verification cycle ended (Unix time).");
    for (int i = 0; i < ntables; i++) {
        int64_t ms = rc->rc_tables[i].tr_state.ss_verify_cycle_ended_ms;
        if (ms > 0)
            jb_printf(b, "hubsync_verify_last_cycle_timestamp_seconds{table=\"%s\"} %.3f\n",
                      rc->rc_tables[i].tr_name, (double)ms / 1000.0);
    }
    family(b, "hubsync_cursor_lag_seconds",
           "How far behind HubSpot the table's mirror may be: now minus its cursor (tables "
           "with a time cursor).");
    for (int i = 0; i < ntables; i++) {
        const store_cursor *cu = &rc->rc_tables[i].tr_state.ss_cursor;
        if (cu->cu_kind == STORE_CURSOR_TIMESTAMP_MS)
            jb_printf(b, "hubsync_cursor_lag_seconds{table=\"%s\"} %.3f\n",
                      rc->rc_tables[i].tr_name, now_s - (double)cu->cu_timestamp_ms / 1000.0);
    }
    family(b, "hubsync_table_last_success_timestamp_seconds",
           "When a run last finished the table (Unix time).");
    for (int i = 0; i < ntables; i++) {
        double t = table_success_s(&rc->rc_tables[i], exit_code, old, now_s);
        if (t >= 0)
            jb_printf(b, "hubsync_table_last_success_timestamp_seconds{table=\"%s\"} %.3f\n",
                      rc->rc_tables[i].tr_name, t);
    }
}

static void render(jbuf *b, const run_ctx *rc, int exit_code, double seconds, const char *old)
{
    double now_s = (double)clock_wall_ms() / 1000.0;
    int ntables = 0; /* tables the run got as far as switching on */
    while (ntables < rc->rc_ntables && rc->rc_tables[ntables].tr_name[0])
        ntables++;
    render_run(b, rc, exit_code, seconds, old, now_s);
    render_requests(b, rc, ntables);
    render_tables(b, rc, ntables, exit_code, old, now_s);
}

int metrics_write(const run_ctx *rc, int exit_code, double seconds, err_info *e)
{
    const char *path = rc->rc_cfg->c_metrics_file;
    if (!path[0])
        return 0;
    char *old = read_old(path);
    jbuf b;
    jb_init(&b);
    render(&b, rc, exit_code, seconds, old);
    free(old);
    int rc_code = 0;
    afile f;
    /* Readable by the collector (it runs as another user); nothing secret. */
    if (!jb_ok(&b))
        rc_code = err_set(e, ERR_NOMEM, "--metrics-file %s: out of memory", path);
    else if ((rc_code = afile_open(&f, path, 0644, e)) == 0 &&
             ((rc_code = afile_write(&f, jb_cstr(&b), b.jb_len, e)) != 0 ||
              (rc_code = afile_commit(&f, e)) != 0))
        afile_abort(&f);
    if (rc_code && rc_code != ERR_NOMEM)
        err_wrap(e, "--metrics-file: ");
    jb_free(&b);
    return rc_code;
}
