/*
 * pool — the coordinator's worker processes (nginx's master/worker loop,
 * PostgreSQL's postmaster habits): fork N workers, each with a socketpair,
 * read their messages, reap the dead, reclaim their leases and respawn them
 * with backoff.
 *
 * Order (DESIGN "Process model"): the shared region exists before
 * pool_start; LMDB is opened only after it. Children run worker_main and
 * leave with _exit(). Signal handlers elsewhere only set flags; the pool's
 * caller loops on pool_poll, which also does the reaping.
 */
#ifndef HUBSYNC_POOL_H
#define HUBSYNC_POOL_H

#include <stdbool.h>

#include "../common/base/err.h"
#include "../common/ipc/shm.h"
#include "../common/ipc/wire.h"
#include "../worker/worker.h"

typedef struct pool pool;

/* What pool_poll reports. */
typedef struct pool_events {
    /* A message from the worker in `slot` (valid during the call). */
    void (*pe_message)(void *ctx, int slot, const wire_msg *msg);
    /* The worker in `slot` died: `crashed` when it held jobs (they have been
     * reclaimed) or died by a signal; `fatal` when it exited 2 (not respawned). */
    void (*pe_death)(void *ctx, int slot, int status, bool crashed, bool fatal);
    void *pe_ctx;
} pool_events;

/* Forks `nworkers` workers (≤ the region's sr_nworkers) running worker_main
 * with `wcfg`. Returns 0, or ERR_SYS / ERR_NOMEM (in e). */
int pool_start(shm_region *shm, int nworkers, const worker_config *wcfg, pool **out, err_info *e);

/* Waits up to timeout_ms for messages, delivers them, reaps dead workers
 * (reclaiming their jobs, the daily gate and the token refresh they held),
 * kills the hung ones (POOL_STALL_MS) and respawns due ones (not while
 * stopping).
 * Returns the number of messages delivered, or a negative ERR_*. */
int pool_poll(pool *p, int timeout_ms, const pool_events *ev);

/* Asks every worker to finish what it holds and exit (sr_stop); no respawns
 * from now on. Keep calling pool_poll until pool_alive() is 0. */
void pool_drain(pool *p);

/* Tells every worker that jobs were published (one byte on its channel),
 * so that one waiting on its transfers claims them now rather than at its
 * next poll timeout. */
void pool_wake(pool *p);

/* Worker processes still running. */
int pool_alive(const pool *p);

/* A worker whose heartbeat (shm.h) is older than this is taken for hung
 * or stopped: SIGKILLed, its jobs taken back, replaced (pool_poll). Live
 * workers beat every few hundred ms at most (their loop waits 200 ms, the
 * HTTP engine beats at every round and completion), so this is far from
 * anything a busy worker does, and it bounds what a hung one costs. */
#define POOL_STALL_MS 5000

/* A gap longer than this between two of the coordinator's own looks means
 * it was not running itself: the watchdog starts everyone's time afresh. */
#define POOL_WATCH_GAP_MS 1000

/* How long pool_destroy lets workers exit on their own. */
#define POOL_EXIT_GRACE_MS 1000

/* Tells the workers to stop, waits up to POOL_EXIT_GRACE_MS for them to
 * exit, kills what is left (SIGKILL), reaps, closes channels, frees. */
void pool_destroy(pool *p);

#endif
