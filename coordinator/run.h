/*
 * run — `hubsync run`: switch-on, read-ping routing and the sync of every
 * selected table (SPEC §4–§5), with the worker pool. Returns a hubsync_exit.
 */
#ifndef HUBSYNC_RUN_H
#define HUBSYNC_RUN_H

#include "config.h"

/* Runs the sync once (or, with c_loop, until SIGTERM). Returns the exit code. */
int cmd_run(const hubsync_config *c);

#endif
