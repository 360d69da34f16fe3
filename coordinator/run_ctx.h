/*
 * run_ctx — the state of one `hubsync run`, shared by the modules that
 * carry it out (all in the coordinator, the only LMDB writer):
 *
 *   run.c      the loop: switch-on, job dispatch, retries, supervision
 *   scan.c     the full scan: batches of parent IDs from LMDB, and the
 *              cursor that moves only past jobs merged in order
 *   changes.c  per parent type, what changed: the object sync (a full list,
 *              or a search of the changes since the last pass plus the
 *              archived list) and the incremental route's batches of
 *              changed parents
 *   refdesign.c  run --reference-design's incremental route: the reference
 *              design's own search per table (`GT cursor`, offset paging),
 *              and the cursor set to the newest last-modified time seen
 *   report.c   the end-of-run summary and the progress bar
 *
 * Everything here runs in one thread; workers see only the shared region.
 */
#ifndef HUBSYNC_RUN_CTX_H
#define HUBSYNC_RUN_CTX_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/store/assoc.h"
#include "../common/store/idset.h"
#include "../common/ipc/jobs.h"
#include "../common/ipc/shm.h"
#include "../common/store/store.h"
#include "../common/ipc/wire.h"
#include "../common/base/log.h"
#include "api_get.h"
#include "commands.h"
#include "config.h"
#include "pool.h"
#include "progress.h"
#include "rollup.h"
#include "scanmap.h"

enum { RUN_MAX_JOB_ATTEMPTS = 5, VERIFY_MAX_INFLIGHT = 2 };

/* A verification batch: the parent IDs it passes ([vb_first, vb_last]) and
 * whether it reached the end of the table (its merge completes a cycle).
 * Its merge moves the stored position only once every earlier one is merged. */
typedef struct verify_batch {
    uint64_t vb_seq;
    uint64_t vb_first, vb_last;
    bool vb_wraps;
    bool vb_merged;
} verify_batch;

typedef struct table_run {
    hs_table tr_table;
    char tr_name[48];
    store_ping_type tr_ping;
    store_state tr_state;
    store_route tr_route;
    bool tr_done; /* this run's work for the table is merged */

    /* Full scan (route full_scan or full_scan_resume). */
    bool tr_scanning;      /* a full scan is (still) to be done this run */
    bool tr_objects_ready; /* its parent type's object sync is merged */
    bool tr_planned_all;   /* every parent is in a batch */
    scan_map tr_map;       /* what is planned and merged (a killed run's too) */
    uint64_t tr_batches;   /* batches planned (a scan job's pj_seq) */
    uint64_t tr_short_at;  /* the list's os_listed_gen when too few parents
                              were listed for a batch (UINT64_MAX: none) */
    /* Heavy parents (scan.c): the count rollup a first list asks for (its
     * internal name, "" for none), the parents it showed above
     * SCAN_HEAVY_LINKS not planned yet, and how many were read ahead. */
    char tr_count_field[STORE_NAME_MAX];
    uint64_t *tr_heavy;
    size_t tr_nheavy, tr_heavy_cap;
    uint64_t tr_heavy_ahead;

    /* Incremental route. */
    bool tr_incremental;
    int64_t tr_since_ms;  /* the stored cursor: changes after it */
    idset tr_seen;        /* changed parents taken this run */
    uint64_t *tr_changed; /* of which not yet in a job */
    size_t tr_nchanged, tr_changed_cap;
    int tr_batches_out; /* batch-read jobs not yet done */
    uint64_t tr_changed_total;

    /* The reference design's search (refdesign.c, run --reference-design). */
    bool tr_ref_searching;    /* pages of the table's search still to come */
    bool tr_ref_seen;         /* a result was seen: tr_ref_newest_ms holds */
    int64_t tr_ref_newest_ms; /* the newest last-modified time seen */
    uint64_t tr_ref_pages;    /* pages asked for */

    /* Verification (verify.c): this run's slice of an incremental table's
     * parents, re-read in ID order from where the last run's ended. */
    bool tr_verifying;                       /* verification work remains this run */
    uint64_t tr_verify_quota;                /* parents still to plan */
    uint64_t tr_verify_from;                 /* the next parent ID to plan */
    verify_batch tr_vq[VERIFY_MAX_INFLIGHT]; /* planned batches, oldest first */
    int tr_vq_len;
    uint64_t tr_vq_seq; /* batches planned so far (a batch's pj_seq) */
} table_run;

/* What a job is for, beyond its kind. */
typedef enum job_role {
    ROLE_SCAN,        /* JOB_ASSOC_SCAN of a full scan (in the table's scan map) */
    ROLE_INCREMENTAL, /* JOB_ASSOC_SCAN of changed parents */
    ROLE_OBJECTS,     /* JOB_OBJECT_LIST */
    ROLE_SEARCH,      /* JOB_SEARCH_SLICE */
    ROLE_VERIFY,      /* JOB_ASSOC_SCAN of verification (verify.c) */
    ROLE_REF_SEARCH,  /* JOB_SEARCH_SLICE of the reference design (refdesign.c) */
} job_role;

typedef struct planned_job {
    bool pj_used;
    uint32_t pj_kind;
    job_role pj_role;
    int pj_table;    /* JOB_ASSOC_SCAN */
    uint64_t pj_seq; /* ROLE_SCAN, ROLE_VERIFY: the table's batch number */
    int pj_attempts;
    uint32_t pj_payload_len;
    uint8_t pj_payload[SHM_JOB_PAYLOAD];
    assoc_buf pj_sets;                  /* scratch for one ASSOC_SETS message */
    uint8_t pj_merged[JOB_MAX_PARENTS]; /* JOB_ASSOC_SCAN: parent i is merged */
    uint32_t pj_nmerged;
    /* ROLE_SEARCH, once its page is merged: what follows it. */
    bool pj_answered;
    bool pj_more;             /* records above pj_next_after remain */
    uint64_t pj_next_after;   /* the last ID of the page */
    uint64_t pj_remaining;    /* how many (the page's total minus its hits) */
    int64_t pj_split_ms;      /* the page's median last-modified time; the head
                               * page: its oldest (the rest of the window lies
                               * at or below it) */
    uint64_t pj_published_ns; /* when (for -v's trace of each job) */
} planned_job;

/* Fills the slot of a job just published (its previous sets freed). */
static inline void planned_job_set(planned_job *pj, uint32_t kind, job_role role,
                                   const void *payload, uint32_t len, int table, uint64_t seq,
                                   int attempts)
{
    assoc_buf_free(&pj->pj_sets);
    memset(pj, 0, sizeof(*pj));
    pj->pj_used = true;
    pj->pj_kind = kind;
    pj->pj_role = role;
    pj->pj_table = table;
    pj->pj_seq = seq;
    pj->pj_attempts = attempts;
    pj->pj_payload_len = len;
    memcpy(pj->pj_payload, payload, len);
    assoc_buf_init(&pj->pj_sets);
}

/* A run of pages listing one range of a type's record IDs (listing.c). */
typedef struct list_chain {
    bool lc_active;     /* pages still to come */
    bool lc_archived;   /* lists archived records */
    uint64_t lc_next;   /* the first ID not listed yet */
    uint64_t lc_end;    /* the first ID of the next chain (UINT64_MAX: none) */
    uint64_t lc_due_ns; /* when its page out is late (listing_watch; 0: never) */
    bool lc_search;     /* that page goes by search */
    bool lc_late_cut;   /* the chain was cut for that page already */
} list_chain;

enum { LIST_CHAINS_MAX = 128 }; /* at 3 s of latency the budget needs ~110 pages out */

/* One parent type's object sync and change feed for this run. */
typedef struct object_sync {
    hs_object_type os_type;
    bool os_wanted;    /* some table of the run has this parent type */
    bool os_listing;   /* a full list (live and archived) this run */
    bool os_searching; /* a change search over (os_lo, os_hi] this run */
    int64_t os_lo, os_hi;
    int os_jobs_left; /* list and search jobs not yet done */
    bool os_done;
    bool os_counted;         /* the head page gave the index's count */
    uint64_t os_index_count; /* live records up to os_hi, as search counts them */
    bool os_swept;           /* the archived list was asked for */
    list_chain os_chains[LIST_CHAINS_MAX];
    bool os_probing;                   /* the search for the highest ID is out */
    bool os_max_known;                 /* the highest record ID, and the live count: */
    uint64_t os_max_id, os_live_count; /* the span listing chains cut */
    uint64_t os_min_id;                /* the lowest live ID listed (0: none yet) */
    uint64_t os_hits;                  /* changed records found (each once) */
    idset os_seen;                     /* which: a record two pages show is merged once */
    uint64_t os_splits;                /* slices split to search in parallel */
    wire_counters os_list_calls, os_search_calls;
    int64_t os_list_started_ms; /* the first list's window end (kept across runs) */
    uint64_t os_listed_gen;     /* bumped whenever a chain lists further */
    uint64_t os_late_cuts;      /* chains cut because their page was late */
    /* The tables whose count rollup the live pages ask for, by bit of
     * wo_heavy (run_ctx table indices). */
    int os_count_tables[JOB_COUNT_FIELDS_MAX];
    int os_ncount;
    /* The archived records full archived pages held, and the IDs those
     * pages spanned: how densely archived IDs lie, for cutting the
     * archived list into chains (listing.c). */
    uint64_t os_arch_records, os_arch_ids;
} object_sync;

typedef struct run_ctx {
    const hubsync_config *rc_cfg;
    shm_region *rc_shm;
    pool *rc_pool;
    store *rc_store;
    store_txn *rc_txn; /* the open write batch */
    int rc_ntables;
    table_run rc_tables[CONFIG_MAX_TABLES];
    object_sync rc_objects[HS_OBJECT_TYPE_COUNT];
    planned_job *rc_jobs; /* by shm job index */
    int rc_inflight_jobs;
    int rc_budget_jobs[SHM_BUDGETS]; /* of those, the ones spending each budget */
    uint64_t rc_published;           /* jobs published so far (workers are woken for new ones) */
    int rc_max_inflight_jobs;
    int rc_fatal; /* an exit code that ends the run (1 on a rejected request, 3, 5), 0 none */
    char rc_fatal_msg[ERR_MSG_MAX];
    bool rc_store_failed;
    wire_counters rc_calls[CONFIG_MAX_TABLES];        /* the route's batch reads, per table */
    wire_counters rc_verify_calls[CONFIG_MAX_TABLES]; /* verification's batch reads */
    int64_t rc_started_ms;
    uint64_t rc_run_number;        /* this run's number in the change feed (0: not begun) */
    int64_t rc_window_hi_ms;       /* now − lag at the start: every window ends here */
    parent_props rc_props;         /* the incremental tables' parents, read again at the start */
    wire_counters rc_props_calls;  /* what that cost (the coordinator's slot) */
    wire_counters rc_labels_calls; /* label catalogs read again (labels.h), the same slot */
    /* What report.c watches while the run goes: */
    uint32_t rc_fullest_window;    /* the most burst grants one window held */
    uint64_t rc_sampled_ns;        /* when it was last sampled */
    progress_meter rc_merge_meter; /* parents merged, for the line's rate and ETA */
    progress_meter rc_list_meter;  /* objects listed, the same */
    size_t rc_progress_len;        /* the last line's length (a shorter one pads over it) */
} run_ctx;

/* --- run_services.c: shared services ---------------------------------- */

/* The open write transaction (begun on demand); NULL after a store failure
 * (logged, and the run ends incomplete). */
store_txn *run_txn(run_ctx *rc);

/* Commits the open write transaction, if any. Returns 0, or the store's
 * error after logging it (the store is then failed). */
int run_commit(run_ctx *rc);

/* Logs a store failure; the run ends incomplete, nothing more is written. */
void run_store_fail(run_ctx *rc, const err_info *e);

/* Publishes a job; returns its shm index, or -1 when the queue is full. */
int run_publish(run_ctx *rc, uint32_t kind, job_role role, const void *payload, uint32_t len,
                int table, uint64_t seq, int attempts);

/* What a job asks HubSpot, in words, for -v's trace: "batch read
 * contacts_deals, 1000 parents from ID 42". */
void run_job_describe(const run_ctx *rc, const planned_job *pj, char *buf, size_t size);

/* Writes the table's state (cursor, run figures) in the open transaction. */
void run_put_table_state(run_ctx *rc, table_run *tr);

/* A time cursor (epoch ms, this machine's clock) as it is stored: held back
 * by how far ahead of HubSpot's this machine's clock was shown to run
 * (skew.h), so that no window ends in HubSpot's future. The reference
 * design's cursors are its own: as they are. */
static inline int64_t run_cursor_ms(const run_ctx *rc, int64_t ms)
{
    if (rc->rc_cfg->c_reference)
        return ms;
    int64_t held = ms - skew_hold_back_ms(&rc->rc_shm->sr_skew);
    return held > 0 ? held : 0;
}

/* The stable log fields of a table this run (log.h): `event`, its name,
 * route, parents merged and batch reads so far. */
static inline log_fields run_table_fields(const run_ctx *rc, const table_run *tr, const char *event)
{
    return (log_fields){.lf_event = event,
                        .lf_table = tr->tr_name,
                        .lf_route = store_route_name(tr->tr_route),
                        .lf_set = LF_PARENTS | LF_CALLS,
                        .lf_parents = tr->tr_state.ss_last_run.sr_parents,
                        .lf_calls = rc->rc_calls[tr - rc->rc_tables].wc_calls};
}

/* Ends the run with `exit_code` (first reason wins). */
void run_fatal(run_ctx *rc, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends `id` to a growable array of IDs (*ids, *n of them, room for
 * *cap), doubling it from `first_cap` when full. Returns 0, or -1 with the
 * array unchanged when memory ran out. */
static inline int ids_push(uint64_t **ids, size_t *n, size_t *cap, size_t first_cap, uint64_t id)
{
    if (*n == *cap) {
        size_t grown = *cap ? 2 * *cap : first_cap;
        uint64_t *p = realloc(*ids, grown * sizeof(*p));
        if (!p)
            return -1;
        *ids = p;
        *cap = grown;
    }
    (*ids)[(*n)++] = id;
    return 0;
}

/* qsort's comparison of two uint64_t (record IDs), ascending. */
static inline int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* --- scan.c --------------------------------------------------------------- */

/* Prepares a table routed to a full scan (new, or resumed after its cursor). */
void scan_begin(run_ctx *rc, table_run *tr);

/* Publishes scan batches while the queue has room. */
void scan_plan(run_ctx *rc);

/* Parents of a scan job were merged, or the whole job is: moves the cursor
 * past what is merged in order and finishes the scan at the end. */
void scan_advance(run_ctx *rc, table_run *tr);

/* A scan job is complete: its range counts as merged. */
void scan_job_merged(run_ctx *rc, planned_job *pj);

/* A job of `role` for `table` at shm index `from` was published again at
 * `to`: a scan job's spans follow it (other roles: nothing to do). */
void scan_job_moved(run_ctx *rc, job_role role, int table, int from, int to);

/* A parent whose count rollup is above this is heavy: its links do not fit
 * one batch read's answer (HubSpot's association reads give 500 a page;
 * the simulator's --assoc-page-size too by default). */
enum { SCAN_HEAVY_LINKS = 500 };

/* A first list showed parent `id` of table `tr` with more links than a
 * batch read's first answer holds: it is read in a batch of heavy parents
 * ahead of its stretch's while the budget has a slot free, so that its
 * pages, one round trip after another, start early. */
void scan_note_heavy(table_run *tr, uint64_t id);

/* Frees what the scans' maps and heavy lists hold (at the end of a run). */
void scan_free(run_ctx *rc);

/* --- changes.c ------------------------------------------------------------ */

/* Prepares a table routed to the incremental route; 0, or ERR_CORRUPT with
 * `e` set when its cursor cannot be a time this run may search from. */
int changes_begin_table(table_run *tr, err_info *e);

/* Adds a changed parent to the table's list, once a run (tr_seen). Returns
 * 0 or ERR_NOMEM. */
int changes_add_parent(table_run *tr, uint64_t id);

/* Decides each parent type's object sync and change search, and publishes
 * their first jobs (under --reference-design, the tables' own searches too). */
void changes_start(run_ctx *rc);

/* Publishes the incremental batches that are ready, and finishes the tables
 * and object syncs whose work is all merged. */
void changes_plan(run_ctx *rc);

/* Merges a page of a search slice job. */
void changes_merge_search(run_ctx *rc, planned_job *pj, const wire_search_result *sr);

/* A list or search job is done (successfully): plans what follows it. */
void changes_job_done(run_ctx *rc, planned_job *pj);

/* An incremental batch job is done (all its parents merged). */
void changes_batch_done(run_ctx *rc, planned_job *pj);

/* Frees what the incremental route holds. */
void changes_free(run_ctx *rc);

/* --- refdesign.c ---------------------------------------------------------- */

/* Publishes the first page of every incremental table's own search (one
 * search per table, even for tables sharing a parent). */
void refdesign_start(run_ctx *rc);

/* Merges a page of a table's reference search: its hits become the table's
 * changed parents, and the newest last-modified time is kept. */
void refdesign_merge(run_ctx *rc, planned_job *pj, const wire_search_result *sr);

/* A reference search page is done: publishes the next one, or ends the
 * table's search (its batch reads follow, changes_plan). */
void refdesign_job_done(run_ctx *rc, planned_job *pj);

/* The cursor a reference table's finished run stores: the newest
 * last-modified time its search saw, or its cursor when it saw nothing. */
int64_t refdesign_cursor(const table_run *tr);

/* --- listing.c ------------------------------------------------------------ */

/* Starts listing a type's records: the live ones (with `live`) and the
 * archived ones, each from ID 0 on, cut into parallel chains as they go. */
void listing_start(run_ctx *rc, object_sync *os, bool live);

/* Resumes a first list a run left unfinished, from its stored progress (an
 * object-ID cursor: the live ranges listed, ss_done, and when the list
 * began, ss_scan_started_ms): chains for the ranges not listed, and the
 * archived list again. */
void listing_resume(run_ctx *rc, object_sync *os, const store_state *st);

/* Merges a list page (a JOB_OBJECT_LIST job's OBJECTS). */
void listing_merge(run_ctx *rc, planned_job *pj, const wire_objects *wo);

/* Takes the highest record ID and the live count (LIST_MAX_ID's answer),
 * or a table's heavy parents for its scan (LIST_HEAVY's). */
void listing_merge_max_id(run_ctx *rc, planned_job *pj, const wire_search_result *sr);

/* A list job is done: the chain's next page, or its end; maybe a new chain. */
void listing_job_done(run_ctx *rc, planned_job *pj);

/* While the burst budget has a slot free, cuts every chain whose page is
 * late (an answer stalled, or HubSpot's slow tail) in two: the range above
 * the page goes to a new chain at once, so one slow answer holds back one
 * page's records, not its chain's. */
void listing_watch(run_ctx *rc);

/* The lowest live record ID not listed yet (UINT64_MAX: none left): every
 * live record below it is stored. */
uint64_t listing_watermark(const object_sync *os);

/* The lowest listed range at or above `from`: [*first, *last] holds no
 * ID a live chain has still to list, so every live record in it is stored
 * and a scan may plan it. Returns false when no listed ID is left there. */
bool listing_listed_from(const object_sync *os, uint64_t from, uint64_t *first, uint64_t *last);

/* --- order.c -------------------------------------------------------------- */

/* Whether type a lists before type b: the one each listed record starts
 * more scans for, then the one with fewer records, then the lower type. */
bool order_lists_before(const run_ctx *rc, const object_sync *a, const object_sync *b);

/* Every object type, in the order lists share the budget (known before any
 * list starts: by the tables each parents). */
void order_lists(const run_ctx *rc, hs_object_type order[HS_OBJECT_TYPE_COUNT]);

/* A type's place in the order the lists share the budget (0: first), among
 * the types listing. */
uint32_t order_list_rank(const run_ctx *rc, hs_object_type type);

/* The rank a job of `kind` is claimed by (lower first): searches 0, a list
 * page its type's order_list_rank, batch reads after every list. */
uint32_t order_job_rank(const run_ctx *rc, uint32_t kind, const void *payload);

/* --- verify.c ------------------------------------------------------------- */

/* Prepares verification for a table routed incremental: its slice this run
 * is ceil(--verify-fraction × the parents stored), from the stored position. */
void verify_begin(run_ctx *rc, table_run *tr);

/* Publishes verification batches while the incremental route has nothing
 * waiting and fewer than VERIFY_MAX_INFLIGHT are out per table. */
void verify_plan(run_ctx *rc);

/* A verification job is merged: moves the stored position past the batches
 * merged in order (in the open transaction). */
void verify_job_merged(run_ctx *rc, planned_job *pj);

/* --- report.c ------------------------------------------------------------- */

/* Whether a progress bar is drawn (c_progress, a terminal, text logs). */
bool report_progress_wanted(const hubsync_config *c);

/* Samples what the summary reports of the run's pace (the fullest window
 * of the burst budget); called at every turn of the run's loop. */
void report_sample(run_ctx *rc, uint64_t now_ns);

/* Draws the progress line (final: ends it with a newline). */
void report_progress(run_ctx *rc, double seconds, bool final);

/* Prints the end-of-run summary: a table on stderr, or --json on stdout. */
void report_summary(run_ctx *rc, double seconds);

#endif
