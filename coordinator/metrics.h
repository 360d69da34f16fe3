/*
 * metrics — `hubsync run --metrics-file F`: the last run's figures in the
 * Prometheus text exposition format, for node_exporter's textfile collector
 * (or any scraper that reads a file). docs/OPERATIONS.md lists every metric.
 *
 * The file is replaced atomically (written beside itself, fsynced, renamed),
 * so a scrape never reads half of it. Every value is a gauge describing the
 * last run (a run's counts start from zero; a counter that resets every run
 * would mislead rate()). Success times survive failed runs: a run that does
 * not finish a table carries that table's last success time over from the
 * file it replaces.
 */
#ifndef HUBSYNC_METRICS_H
#define HUBSYNC_METRICS_H

#include "../common/base/err.h"
#include "run_ctx.h"

/* Writes rc's figures to rc->rc_cfg->c_metrics_file (a no-op when none):
 * the run's exit code, its wall time in seconds, and per table and
 * endpoint the calls, retries, 429s, associations changed and cursor lag.
 * Returns 0, or ERR_SYS naming the file and the failed call. */
int metrics_write(const run_ctx *rc, int exit_code, double seconds, err_info *e);

#endif
