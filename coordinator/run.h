/*
 * run — `hubsync run`: switch-on, read-ping routing and the sync of every
 * selected table (SPEC §4–§5), with the worker pool. Returns a hubsync_exit.
 */
#ifndef HUBSYNC_RUN_H
#define HUBSYNC_RUN_H

#include "config.h"

/* Runs the sync once, or with c_loop again every c_interval_s seconds until
 * SIGTERM/SIGINT (which drain the run in progress). Returns the exit code
 * of the last run. */
int cmd_run(const hubsync_config *c);

#endif
