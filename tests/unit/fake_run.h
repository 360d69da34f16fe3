/*
 * fake_run — a run context for the coordinator's planners without workers
 * or HubSpot: coordinator/run_services.c replaced (run_txn, run_publish,
 * run_store_fail, run_put_table_state, run_fatal done in process), so the
 * planners (scan.c, listing.c, changes.c) link without run.c against a real LMDB store
 * in a temporary directory and a real shared region (its budgets paced
 * like a Pro portal's: 190/10s and 5/1s), and a test reads what they
 * published in rc_jobs and answers jobs by hand, as the loop would.
 */
#ifndef HUBSYNC_FAKE_RUN_H
#define HUBSYNC_FAKE_RUN_H

#include "../../coordinator/run_ctx.h"

typedef struct fake_run {
    run_ctx *fr_rc;
    hubsync_config fr_cfg;
    char fr_dir[64];
    /* The shm index of every job published, in order. */
    int fr_published[4 * SHM_MAX_JOBS];
    int fr_npublished;
} fake_run;

/* A run of one table (companies_contacts) over a fresh store and region.
 * Returns 0. */
int fake_run_open(fake_run *f);

/* Commits, closes the store and removes its directory. */
void fake_run_close(fake_run *f);

/* Stores `n` parents (companies) with IDs first, first + step, …; those
 * whose index is a multiple of `archived_every` (0: none) archived. */
int fake_run_put_parents(fake_run *f, uint64_t first, uint64_t step, int n, int archived_every);

/* The nth job published (0: the first): its shm index, or -1. */
int fake_run_job(fake_run *f, int nth);

/* Marks every parent of job `idx` merged and ends it, as job_done would. */
void fake_run_merge(fake_run *f, int idx);

/* Ends job `idx` (its answer merged) and calls `done` on it, as job_done
 * does for every other role. */
void fake_run_done(fake_run *f, int idx, void (*done)(run_ctx *, planned_job *));

#endif
