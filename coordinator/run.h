/*
 * run — `hubsync run`: switch-on, read-ping routing and the sync of every
 * selected table (docs/CLI.md, `hubsync run`), with the worker pool. Returns a hubsync_exit.
 */
#ifndef HUBSYNC_RUN_H
#define HUBSYNC_RUN_H

#include "../common/ipc/shm.h"
#include "config.h"

/* Runs the sync once, or with c_loop again every c_interval_s seconds until
 * SIGTERM/SIGINT (which drain the run in progress). Returns the exit code
 * of the last run. */
int cmd_run(const hubsync_config *c);

/* Sets up the region's budgets and daily policy as the flags say: the
 * burst limit learned from HubSpot's headers unless --rate is given, the
 * search limit as given (search answers carry no headers), the daily limit
 * and reserve. One place, for `run` and for the commands that call HubSpot
 * themselves (setup, doctor). Call before fork. */
void run_init_limits(const hubsync_config *c, shm_region *r);

#endif
