/*
 * worker — the body of a worker process: claim jobs from the shared queue,
 * run them through the HTTP engine (several at once, so K transfers stay in
 * flight), and send each job's results to the coordinator over its channel:
 * for an association scan, every parent's COMPLETE set (paging followed,
 * parents with no associations sent as empty sets) and then JOB_DONE.
 *
 * Workers never touch LMDB. A worker drains and exits when the coordinator
 * sets sr_stop, and exits when its channel reaches EOF (the coordinator died).
 */
#ifndef HUBSYNC_WORKER_H
#define HUBSYNC_WORKER_H

#include "../common/base/hs_types.h"
#include "../common/ipc/shm.h"

typedef struct worker_config {
    const char *wc_base_url;
    int wc_inflight;              /* the cap on jobs held, and transfers, at once (the run
                                   * sizes both below it from latency and rate) */
    const char *wc_refresh_token; /* OAuth, or NULL */
    const char *wc_client_id;
    const char *wc_client_secret;
    const char *wc_ca_file;    /* or NULL */
    const hs_table *wc_tables; /* the run's tables; jobs name them by index */
    int wc_ntables;
} worker_config;

/* Worker exit codes (DESIGN "Process model"). */
enum { WORKER_EXIT_DONE = 0, WORKER_EXIT_RETRY = 1, WORKER_EXIT_FATAL = 2 };

/* Runs the worker in slot `slot` until told to stop; `fd` is its end of the
 * channel. Returns a WORKER_EXIT_* code for _exit(). */
int worker_main(shm_region *shm, int slot, int fd, const worker_config *cfg);

#endif
