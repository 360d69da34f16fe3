/*
 * sim_rollup — HubSpot's rollup service as the simulator models it: the
 * knobs of the model, and the queue of recomputations waiting for their due
 * time.
 *
 * In HubSpot a rollup (a count over a record's associations, optionally of
 * one label) is recomputed asynchronously, seconds to minutes after the
 * association changed, and the record's last-modified time moves only when a
 * value actually changed (docs/SIMULATOR.md, "Rollups"). sim_portal decides
 * what to schedule and what a recomputation writes; this module only keeps
 * the jobs: at most one per (table, parent), each holding the parent's
 * rollup values from before the first change it covers, so later changes
 * coalesce into it.
 *
 * A min-heap on the due time finds the next job in O(1) and pops it in
 * O(log n); an open-addressing hash on (table, parent) finds a parent's job
 * (to coalesce into it, or to drop it when the parent is archived) in O(1).
 * Both grow with the jobs waiting, never with the portal, so a 1M-contact
 * portal under steady churn costs a few hundred KiB here.
 *
 * Not thread-safe: the portal's write lock guards it. Every change happens
 * under that lock, so the calls that only read (sim_rollup_pending,
 * sim_rollup_find, sim_rollup_peek) are safe under its read lock too, as
 * rendering a record's stored rollup values does (sim_render.h).
 */
#ifndef HUBSYNC_SIM_ROLLUP_H
#define HUBSYNC_SIM_ROLLUP_H

#include <stdbool.h>
#include <stdint.h>

enum { SIM_ROLLUP_MAX_LABELS = 8 }; /* per-label rollups of one table (= SIM_MAX_LABELS) */

/* When an association change on a rollup table moves the parent's
 * last-modified time. */
typedef enum sim_rollup_mode {
    SIM_ROLLUP_REALISTIC, /* after a delay, when a value changed, unless missed */
    SIM_ROLLUP_ALWAYS,    /* at once, on every change (exact incremental tests) */
    SIM_ROLLUP_NEVER,     /* never */
    SIM_ROLLUP_MODE_COUNT
} sim_rollup_mode;

/* "realistic", "always", "never". */
extern const char *const sim_rollup_mode_names[SIM_ROLLUP_MODE_COUNT];

/* Parses a mode name; "on" and "off" (the old switch) mean always and never.
 * Returns 0, or -1 for anything else. */
int sim_rollup_mode_parse(const char *s, sim_rollup_mode *out);

/* The model's knobs (--rollup-bumps, --rollup-delay-ms, --rollup-tail,
 * --rollup-miss). */
typedef struct sim_rollup_model {
    sim_rollup_mode rm_mode;
    int64_t rm_delay_min_ms, rm_delay_max_ms; /* the usual delay, uniform */
    double rm_tail;                           /* chance of a slow recomputation instead... */
    int64_t rm_tail_ms;                       /* ...uniform in [rm_delay_max_ms, rm_tail_ms] */
    double rm_miss; /* chance a changed value leaves last-modified alone */
} sim_rollup_model;

/* The defaults: realistic, 2000–7000 ms, 2% up to 240,000 ms, 5% missed. */
void sim_rollup_model_defaults(sim_rollup_model *m);

/* The parent's rollup values in one table. */
typedef struct sim_rollup_values {
    uint32_t rv_count;                        /* its associations in the table */
    uint32_t rv_label[SIM_ROLLUP_MAX_LABELS]; /* of those, carrying user-defined label i */
    bool rv_labels;                           /* rv_label holds values (per-label rollups) */
} sim_rollup_values;

/* True when a value that both hold differs (per-label values count only
 * when both hold them). */
bool sim_rollup_values_differ(const sim_rollup_values *a, const sim_rollup_values *b);

/* One pending recomputation. */
typedef struct sim_rollup_job {
    int64_t rj_due_ms;
    uint32_t rj_table;  /* index in the portal's tables */
    uint32_t rj_parent; /* parent object index */
    sim_rollup_values rj_before;
} sim_rollup_job;

typedef struct sim_rollup_slot {
    uint64_t rs_key; /* (table + 1) << 32 | parent; 0: empty */
    uint32_t rs_pos; /* the job's heap position */
} sim_rollup_slot;

typedef struct sim_rollup_queue {
    sim_rollup_job *rq_heap; /* min-heap on (due, table, parent) */
    uint32_t rq_len, rq_cap;
    sim_rollup_slot *rq_slots; /* rq_mask + 1 slots (a power of two), at most half used */
    uint32_t rq_mask;
} sim_rollup_queue;

/* What the model did, for /_sim/stats and /_sim/mutate. */
typedef struct sim_rollup_tally {
    uint64_t rt_scheduled;  /* recomputations scheduled */
    uint64_t rt_coalesced;  /* changes folded into a pending one */
    uint64_t rt_recomputed; /* recomputations run: bumped + missed + unchanged */
    uint64_t rt_bumped;     /* last-modified written */
    uint64_t rt_missed;     /* a value changed but last-modified was not written */
    uint64_t rt_unchanged;  /* no value changed: nothing written */
    uint64_t rt_dropped;    /* removed unrun: parent archived, or its rollups removed */
} sim_rollup_tally;

/* Adds every counter of `b` to `a`. */
void sim_rollup_tally_add(sim_rollup_tally *a, const sim_rollup_tally *b);

/* An empty queue (allocates nothing). */
void sim_rollup_queue_init(sim_rollup_queue *q);

/* Frees the queue's memory; it is empty and usable afterwards. */
void sim_rollup_queue_free(sim_rollup_queue *q);

/* Recomputations waiting. */
static inline uint32_t sim_rollup_pending(const sim_rollup_queue *q)
{
    return q->rq_len;
}

/* The pending job of (table, parent), or NULL. The pointer is valid until the
 * queue changes; only rj_before may be written through it. */
sim_rollup_job *sim_rollup_find(const sim_rollup_queue *q, uint32_t table, uint32_t parent);

/* Adds a job for a (table, parent) with none pending. Returns 0, 1 when one
 * is pending already (nothing added), or -1 when out of memory. */
int sim_rollup_push(sim_rollup_queue *q, const sim_rollup_job *j);

/* The job due first, or NULL when none is pending. */
const sim_rollup_job *sim_rollup_peek(const sim_rollup_queue *q);

/* Removes the job due first into *out. False when none is pending. */
bool sim_rollup_pop(sim_rollup_queue *q, sim_rollup_job *out);

/* Removes the job of (table, parent). False when there was none. */
bool sim_rollup_remove(sim_rollup_queue *q, uint32_t table, uint32_t parent);

/* Removes every job of `table`; returns how many. O(pending). */
uint32_t sim_rollup_remove_table(sim_rollup_queue *q, uint32_t table);

/* Forgets the per-label values the jobs of `table` captured (its per-label
 * rollups were removed: they must not bump even if they come back). */
void sim_rollup_forget_labels(sim_rollup_queue *q, uint32_t table);

#endif
