/*
 * shm — the region the coordinator maps before forking its workers
 * (MAP_SHARED | MAP_ANONYMOUS), holding everything processes coordinate
 * through without a lock: the rate limiter, the access token, per-worker
 * slots (dead-man state and counters) and the job queue with leases.
 *
 * Rules (after nginx's shared zones and PostgreSQL's postmaster):
 *  - One fixed layout with a magic and a version, initialised once, before
 *    fork; nothing in it is a pointer.
 *  - Each worker slot and its counters are written only by their owner; the
 *    coordinator only reads them (and resets a slot it has reaped).
 *  - A job is claimed by compare-and-swap on a word holding its state and
 *    generation; the coordinator can reclaim it from a dead or stalled owner
 *    by bumping the generation, which voids anything the old owner sends.
 *  - Shared memory is advisory: LMDB is the truth and the queue is rebuilt
 *    from it at every start.
 */
#ifndef HUBSYNC_SHM_H
#define HUBSYNC_SHM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../base/err.h"
#include "budget.h"
#include "rl.h"
#include "rtt.h"
#include "skew.h"

#define SHM_MAGIC   0x4853594e43524731ULL /* "HSYNCRG1" */
#define SHM_VERSION 6

enum {
    SHM_MAX_WORKERS = 65, /* 64 workers, and the coordinator's own slot for the few
                           * requests it sends itself (a run's rollup re-check) */
    SHM_MAX_JOBS = 512,
    SHM_JOB_PAYLOAD = 8192, /* 1,000 parent IDs of 8 bytes, plus a header */
    SHM_TOKEN_MAX = 1024,
};

/* Per-worker counters, declared once (memcached's THREAD_STATS_FIELDS). */
#define SHM_COUNTERS(X)                                                                            \
    X(requests)        /* HTTP requests sent */                                                    \
    X(req_assoc)       /* association batch reads */                                               \
    X(req_search)      /* searches */                                                              \
    X(req_list)        /* object lists and batch reads */                                          \
    X(req_other)       /* properties, tokens, … */                                               \
    X(status_2xx)      /* 200 and 207 */                                                           \
    X(status_429)      /* rate limited */                                                          \
    X(status_5xx)      /* server errors */                                                         \
    X(status_other)    /* other 4xx */                                                             \
    X(retries)         /* requests sent again */                                                   \
    X(net_errors)      /* resets, timeouts, truncated bodies */                                    \
    X(bytes_in)        /* response bytes */                                                        \
    X(parents)         /* parent sets completed */                                                 \
    X(associations)    /* links in those sets */                                                   \
    X(token_refreshes) /* OAuth refreshes this worker made */                                      \
    X(token_requests)  /* of `requests`, those to the token endpoint */                            \
    X(latency_us)      /* summed request latency */                                                \
    X(reslots)         /* limiter slots missed by a late wake-up and taken again */

typedef struct shm_counters {
#define SHM_COUNTER_FIELD(name) _Atomic uint64_t name;
    SHM_COUNTERS(SHM_COUNTER_FIELD)
#undef SHM_COUNTER_FIELD
} shm_counters;

/* Adds v to counter `name` of c (owner only; relaxed, tear-free). */
#define SHM_COUNT(c, name, v) atomic_fetch_add_explicit(&(c)->name, (v), memory_order_relaxed)

typedef enum shm_slot_state {
    SHM_SLOT_FREE,     /* no process */
    SHM_SLOT_ASSIGNED, /* a worker process owns it, idle */
    SHM_SLOT_ACTIVE    /* the worker holds a job: reaped now, it crashed */
} shm_slot_state;

typedef struct shm_slot {
    _Alignas(64) _Atomic uint32_t sl_state;
    _Atomic int32_t sl_pid;
    /* CLOCK_MONOTONIC: the owner's event loop stores the time at every
     * round (the worker loop, the HTTP engine's rounds and completions, a
     * blocking token refresh's progress), so a live worker beats at least
     * every few hundred ms however long its transfers take; a stopped or
     * hung one does not, and the coordinator replaces it (pool.h). The
     * coordinator sets it when it forks the slot's process. */
    _Atomic uint64_t sl_heartbeat_ns;
    /* The daily gate's ticket a request of this process holds (rl_daily_admit;
     * 0: none): a dead holder's gate is opened by whoever reaps it, at once
     * rather than after the gate's lease. */
    _Atomic uint64_t sl_gate_ticket;
    _Alignas(64) shm_counters sl_counters;
} shm_slot;

typedef enum shm_job_state {
    SHM_JOB_EMPTY,   /* free for the coordinator to fill */
    SHM_JOB_READY,   /* published, waiting for a worker */
    SHM_JOB_CLAIMED, /* a worker holds the lease */
    SHM_JOB_DONE     /* the worker finished; the coordinator merges, then empties */
} shm_job_state;

/* The budgets a job's requests spend: a worker claims only jobs of the
 * budgets it has room for (budget_inflight), so requests waiting for the
 * search limit never hold back the burst budget's. */
typedef enum shm_budget { SHM_BUDGET_BURST = 0, SHM_BUDGET_SEARCH = 1, SHM_BUDGETS } shm_budget;
#define SHM_BUDGET_BIT(b) (1u << (b))
#define SHM_BUDGET_ALL    (SHM_BUDGET_BIT(SHM_BUDGET_BURST) | SHM_BUDGET_BIT(SHM_BUDGET_SEARCH))

typedef struct shm_job {
    /* generation << 8 | state: one CAS moves both, so a stale claim fails. */
    _Alignas(64) _Atomic uint64_t jb_word;
    _Atomic int32_t jb_owner;        /* slot index of the claimer, -1 none */
    _Atomic uint64_t jb_deadline_ns; /* the lease: reclaimable after it */
    uint32_t jb_kind;                /* what the payload means (the sync's job kinds) */
    uint32_t jb_budget;              /* the budget its requests spend (shm_budget) */
    _Atomic uint32_t jb_rank;        /* claimed before READY jobs of a higher rank */
    _Atomic uint64_t jb_seq;         /* publish order: claimed before later ones of its rank */
    uint32_t jb_payload_len;
    uint8_t jb_payload[SHM_JOB_PAYLOAD];
} shm_job;

/* The current access token: a seqlock, so readers never see a torn string,
 * and a single-flight refresh flag. */
typedef struct shm_token {
    _Alignas(64) _Atomic uint64_t tk_seq;    /* odd while being written */
    _Atomic uint64_t tk_generation;          /* bumped by every new token */
    _Atomic uint64_t tk_expires_ns;          /* CLOCK_MONOTONIC; 0 = never */
    _Atomic uint64_t tk_refresh_at_ns;       /* refresh ahead from then on; 0 = never */
    _Atomic int32_t tk_refresher;            /* pid refreshing now, 0 none */
    _Atomic uint64_t tk_refresh_deadline_ns; /* a refresher dead past it is replaced */
    _Atomic char tk_value[SHM_TOKEN_MAX];    /* NUL-terminated; read via the seqlock */
} shm_token;

/* The latency families whose answers' time limits are learned apart (the
 * HTTP engine's request classes: association reads, searches, lists,
 * the rest): a batch read of 1,000 parents takes three times a list page. */
enum { SHM_LATENCY_FAMILIES = 4 };

typedef struct shm_region {
    uint64_t sr_magic;
    uint32_t sr_version;
    uint32_t sr_nworkers;
    uint64_t sr_size;
    budget sr_burst;  /* the burst limit (TEN_SECONDLY_ROLLING) */
    budget sr_search; /* the search limit (SECONDLY) */
    rl_daily sr_daily;
    rtt_est sr_latency[SHM_LATENCY_FAMILIES]; /* each family's round trip (http.h) */
    skew_est sr_skew;                         /* HubSpot's clock against ours (Date) */
    shm_token sr_token;
    _Atomic uint32_t sr_stop; /* the coordinator asks workers to drain */
    uint64_t sr_published;    /* jobs published so far (the coordinator's own counter) */
    shm_slot sr_slots[SHM_MAX_WORKERS];
    shm_job sr_jobs[SHM_MAX_JOBS];
} shm_region;

/* Maps and initialises a region for `nworkers` (≤ SHM_MAX_WORKERS). Call
 * before fork. Returns 0 and *out, or ERR_INVALID / ERR_SYS (in e). */
int shm_create(uint32_t nworkers, shm_region **out, err_info *e);

/* Checks magic, version and size (a worker does so after fork). */
int shm_check(const shm_region *r, err_info *e);

/* Unmaps the region (each process unmaps its own mapping). */
void shm_destroy(shm_region *r);

/* The process owning `slot` is alive and making progress: stores now into
 * its heartbeat (the owner only; cheap enough for every loop round). */
void shm_beat(shm_region *r, int slot);

/* ---- jobs ---- */

/* Coordinator: finds an EMPTY job, copies the payload in and publishes it as
 * READY under a new generation, spending budget `spends` (shm_budget),
 * claimed before every READY job of a higher `rank`. Returns the job index,
 * or -1 when the queue is full (or the payload too big: ERR_TOO_BIG in e). */
int shm_job_publish(shm_region *r, uint32_t kind, uint32_t spends, uint32_t rank,
                    const void *payload, uint32_t len, err_info *e);

/* Worker: claims a READY job of a budget in `budgets` (SHM_BUDGET_BIT
 * bits), the lowest rank first, then the one published first (a job never
 * waits behind later ones of its rank, whichever slot it sits in), for slot `slot`
 * with a lease until now + lease_ns. Returns the job index and its
 * generation, or -1 when none. */
int shm_job_claim(shm_region *r, int slot, unsigned budgets, uint64_t now_ns, uint64_t lease_ns,
                  uint64_t *generation);

/* Worker: extends the lease of a job it holds. False when the job was
 * reclaimed meanwhile (the worker should drop it). */
bool shm_job_renew(shm_region *r, int job, uint64_t generation, uint64_t deadline_ns);

/* Worker: marks a held job DONE. False when it was reclaimed meanwhile. */
bool shm_job_finish(shm_region *r, int job, uint64_t generation);

/* Coordinator: empties a job of this generation that its worker reported
 * done (state CLAIMED or DONE). False when it was reclaimed meanwhile. */
bool shm_job_complete(shm_region *r, int job, uint64_t generation);

/* Coordinator: empties a DONE (merged) job of this generation. */
bool shm_job_release(shm_region *r, int job, uint64_t generation);

/* Coordinator: puts back to READY (new generation) every CLAIMED job whose
 * owner is `slot` (slot ≥ 0: that worker died), or whose lease expired
 * before now_ns (slot < 0). Returns how many were reclaimed. */
int shm_job_reclaim(shm_region *r, int slot, uint64_t now_ns);

/* The state and generation of job i, as one consistent read. */
shm_job_state shm_job_peek(const shm_region *r, int job, uint64_t *generation);

/* ---- token ---- */

/* Publishes a new token (bumps the generation). Any process. Returns the new
 * generation, or 0 when the token is too long. */
uint64_t shm_token_set(shm_region *r, const char *token, uint64_t expires_ns);

/* Copies the current token into out (size bytes) and returns its generation
 * (0: no token yet). Never returns a torn value. */
uint64_t shm_token_get(shm_region *r, char *out, size_t size);

/* Tries to become the single refresher: true when this process (pid) should
 * refresh now. Others wait for the generation to move past `seen_generation`.
 * A refresher that has not finished by its deadline is presumed dead. */
bool shm_token_begin_refresh(shm_region *r, int32_t pid, uint64_t seen_generation, uint64_t now_ns,
                             uint64_t deadline_ns);

/* Ends a refresh started by pid (success or not). */
void shm_token_end_refresh(shm_region *r, int32_t pid);

#endif
