/*
 * sim_portal — the simulated HubSpot portal: objects, associations, and the
 * search index's (lagging) view of them.
 *
 * Data model. Per object type, parallel arrays indexed by an object index;
 * index order is ID order (new objects get higher IDs and are appended), so a
 * binary search finds an ID and a scan walks IDs ascending. Per association
 * table, one adjacency list per object in each direction (parent→child and
 * child→parent), each sorted by the other side's index, so both directions of
 * a link always agree and a page of links is a contiguous slice.
 *
 * Concurrency: none here. The server holds a read lock around reads and a
 * write lock around sim_mutate(); every function states which it needs.
 *
 * Time: functions take `now_ms` (epoch milliseconds) from the caller, so tests
 * can drive the clock; the search view of an object written at time w becomes
 * visible at w + index_lag_ms.
 */
#ifndef HUBSYNC_SIM_PORTAL_H
#define HUBSYNC_SIM_PORTAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/base/hs_types.h"
#include "../common/base/jbuf.h"
#include "sim_rand.h"
#include "sim_rollup.h"

enum {
    SIM_MAX_LABELS = SIM_ROLLUP_MAX_LABELS, /* user-defined labels per table (≤ 16: a mask) */
    SIM_MAX_TABLES = 40,                    /* every associable pair of the 11 object types */
};

/* One direction of one association. */
/* A write stamped with an earlier write's millisecond (an import stamping a
 * batch with one time) reuses one at most this old: HubSpot stamps writes
 * when they happen, so no stamp lags its write by more than a batch takes. */
#define SIM_SAME_MS_WITHIN_MS 100

typedef struct sim_link {
    uint32_t l_other;   /* object index on the other side */
    uint16_t l_labels;  /* bit i: the table's user-defined label i */
    uint8_t l_primary;  /* the pair's primary type applies (company links) */
    uint8_t l_reserved; /* zero */
} sim_link;

/* The links of one object in one table and direction, sorted by l_other. */
typedef struct sim_adj {
    sim_link *a_links;
    uint32_t a_len;
    uint32_t a_cap; /* 0: a_links points into the table's generation block */
} sim_adj;

typedef struct sim_label {
    int lb_typeid_fwd; /* parent→child USER_DEFINED type ID */
    int lb_typeid_rev; /* child→parent */
    char lb_name[32];  /* label as seen from the parent */
    char lb_inverse[32];
} sim_label;

typedef struct sim_table {
    hs_table tb_pair;
    char tb_name[48];
    int tb_unlabeled_fwd, tb_primary_fwd; /* parent→child HUBSPOT_DEFINED IDs */
    int tb_unlabeled_rev, tb_primary_rev; /* child→parent */
    int tb_nlabels;
    sim_label tb_labels[SIM_MAX_LABELS];
    bool tb_rollup;        /* the parent has the count rollup of this table */
    bool tb_rollup_labels; /* ...and one count rollup per user-defined label */
    bool tb_lookalike;     /* the parent has a plain number field labelled like one */
    sim_adj *tb_fwd;       /* by parent index */
    sim_adj *tb_rev;       /* by child index */
    uint64_t tb_links;     /* live associations */
    sim_link *tb_block_fwd, *tb_block_rev; /* generation storage */
} sim_table;

/* A write on its way to the search index. */
typedef struct sim_pending {
    int64_t pd_modified_ms;
    int64_t pd_visible_at_ms; /* 0: the slot is empty */
    uint8_t pd_live;          /* exists and is not archived */
} sim_pending;

typedef struct sim_objects {
    uint32_t o_count, o_cap;
    uint64_t *o_id;
    int64_t *o_created_ms;
    int64_t *o_modified_ms; /* last-modified, or archive time when archived */
    uint8_t *o_archived;
    /* The search index: the state it has caught up with, and up to two writes
     * still in flight (the oldest and the newest; a third write inside one lag
     * replaces the newest, so the index never falls more than one write behind
     * for longer than the lag). */
    int64_t *o_search_ms;
    uint8_t *o_search_live;
    sim_pending (*o_pending)[2];
    uint32_t o_live; /* not archived */
} sim_objects;

/* One --rollups item: the count rollup of a table's parent, and with
 * rd_labels one count rollup per user-defined label too. */
typedef struct sim_rollup_def {
    hs_table rd_table;
    bool rd_labels;
} sim_rollup_def;

typedef struct sim_portal_config {
    uint64_t pc_seed;
    uint32_t pc_count[HS_OBJECT_TYPE_COUNT];
    double pc_density;         /* multiplies the links each object draws */
    uint32_t pc_heavy_parents; /* per core table: parents given pc_heavy_links links */
    uint32_t pc_heavy_links;   /* e.g. 2,000: several pages of batch-read paging */
    uint32_t pc_labels;        /* user-defined labels per table (≤ SIM_MAX_LABELS) */
    double pc_label_fraction;  /* share of links that carry a user-defined label */
    double pc_import_fraction; /* share of objects written in same-millisecond imports */
    int pc_nrollups;
    sim_rollup_def pc_rollups[SIM_MAX_TABLES];
    int pc_nlookalikes;
    hs_table pc_lookalikes[SIM_MAX_TABLES]; /* tables whose parent gets a look-alike field */
    int64_t pc_now_ms;                      /* generation clock: objects are created before it */
} sim_portal_config;

/* Fills `c` with the defaults documented in `hubspot-sim --help`. */
void sim_portal_config_defaults(sim_portal_config *c);

typedef struct sim_portal {
    sim_objects p_obj[HS_OBJECT_TYPE_COUNT];
    int p_ntables;
    sim_table p_tables[SIM_MAX_TABLES];
    sim_rng p_rng;              /* mutations */
    int64_t p_last_write_ms;    /* for same-millisecond writes */
    uint64_t p_next_gap_seed;   /* ID gaps for created objects */
    sim_rollup_queue p_rollups; /* recomputations pending (realistic rollup mode) */
    sim_rng p_rollup_rng;       /* their delays and misses: mutations draw the same either way */
} sim_portal;

/* Generates the portal described by `c` (deterministic in everything but
 * timestamps, which are relative to c->pc_now_ms). Returns 0, or -1 when out
 * of memory (the message is on stderr). */
int sim_portal_create(const sim_portal_config *c, sim_portal **out);

/* Frees everything. NULL is fine. */
void sim_portal_destroy(sim_portal *p);

/* The first object index with an ID ≥ id (o_count when none). Read lock. */
uint32_t sim_object_lower_bound(const sim_objects *o, uint64_t id);

/* Index of object `id` of type `t` (live or archived): 0 and *idx, or -1. Read lock. */
int sim_object_find(const sim_portal *p, hs_object_type t, uint64_t id, uint32_t *idx);

/* The table holding associations between `from` and `to`; *reverse is set when
 * `from` is the table's child. NULL when the portal has no such table. Read lock. */
sim_table *sim_table_find(sim_portal *p, hs_object_type from, hs_object_type to, bool *reverse);

/* The table named `name` ("companies_contacts"), or NULL. Read lock. */
sim_table *sim_table_by_name(sim_portal *p, const char *name, size_t n);

/* The links of object `idx` of the table's `reverse ? child : parent` side. */
static inline const sim_adj *sim_links(const sim_table *t, bool reverse, uint32_t idx)
{
    return reverse ? &t->tb_rev[idx] : &t->tb_fwd[idx];
}

/* The distinct type IDs of a link, ascending, as the §7 export lists them.
 * Returns how many were written to ids (room for 3 + SIM_MAX_LABELS). */
int sim_link_type_ids(const sim_table *t, bool reverse, const sim_link *l, int *ids);

/* What search sees of object `idx` at `now_ms` (≥ the time of the last
 * write): false when it is not in the index (not yet visible, or archived);
 * else true with *modified_ms. A write at time w is seen from w + lag on. */
bool sim_search_view(const sim_objects *o, uint32_t idx, int64_t now_ms, int64_t *modified_ms);

/* Appends table `t`'s associations in the §7 TSV format. Read lock. */
void sim_truth_tsv(const sim_portal *p, const sim_table *t, jbuf *out);

/* The same associations as CSV, one row per type, as `hubsync export
 * --format csv` writes them without its header: table,parent_id,child_id,
 * type_id,category,label (the label as the portal names it now; rows end
 * with CRLF). */
void sim_truth_csv(const sim_portal *p, const sim_table *t, jbuf *out);

/* Renames user-defined label `from` (as seen from the parent) of table t to
 * `to`, as an admin does in HubSpot's settings: its type ID stays, no
 * association or record changes. Returns 0 and *type_id, or -1 (no such
 * label, or `to` empty or too long). */
int sim_rename_label(sim_table *t, const char *from, const char *to, int *type_id);

typedef enum sim_mutation_kind {
    SIM_MUT_ASSOCIATE,
    SIM_MUT_DISSOCIATE,
    SIM_MUT_RELABEL,
    SIM_MUT_ARCHIVE,
    SIM_MUT_TOUCH,
    SIM_MUT_CREATE,
    SIM_MUT_KIND_COUNT
} sim_mutation_kind;

extern const char *const sim_mutation_names[SIM_MUT_KIND_COUNT];

typedef struct sim_mutation_opts {
    uint32_t mo_count;
    uint32_t mo_kinds;          /* bit per sim_mutation_kind; 0 = all */
    uint64_t mo_tables;         /* bit per p_tables index; 0 = all */
    bool mo_same_ms;            /* every write of this call shares one millisecond */
    double mo_same_ms_chance;   /* else: chance a write reuses the previous write's ms
                                 * (one at most SIM_SAME_MS_WITHIN_MS old) */
    sim_rollup_model mo_rollup; /* how changes on rollup tables reach the parent */
    int64_t mo_index_lag_ms;
    int64_t mo_now_ms;
} sim_mutation_opts;

typedef struct sim_mutation_result {
    uint32_t mr_applied[SIM_MUT_KIND_COUNT];
    uint32_t mr_skipped;                       /* nothing eligible (e.g. no link to remove) */
    uint32_t mr_bumped;                        /* last-modified writes made at once */
    uint32_t mr_table_changes[SIM_MAX_TABLES]; /* association changes per table */
    int64_t mr_first_ms, mr_last_ms;           /* write times used */
    sim_rollup_tally mr_rollups; /* recomputations scheduled, changes coalesced, jobs dropped */
} sim_mutation_result;

/* Applies o->mo_count random mutations. Write lock. Returns 0, or -1 when out
 * of memory (the portal stays consistent; fewer mutations are applied).
 *
 * Rollups (o->mo_rollup.rm_mode): an association change on a table with
 * rollups (associate, dissociate, relabel, a child archived, a child created
 * linked to a parent) bumps the parent at once (always), never, or
 * (realistic) schedules a recomputation of the parent's rollup values at
 * now + a drawn delay, capturing the values from before the change; a later
 * change while one is pending is coalesced into it. sim_portal_recompute()
 * runs them. Archiving a parent drops its pending recomputations. */
int sim_mutate(sim_portal *p, const sim_mutation_opts *o, sim_mutation_result *r);

/* Runs every recomputation due at or before now_ms: when a value differs from
 * the captured one, the parent's last-modified time becomes now_ms (search
 * sees it index_lag_ms later), except with probability m->rm_miss; when none
 * differs, nothing is written. Counts into *t (recomputed, bumped, missed,
 * unchanged). Write lock. Returns how many ran. */
uint32_t sim_portal_recompute(sim_portal *p, const sim_rollup_model *m, int64_t index_lag_ms,
                              int64_t now_ms, sim_rollup_tally *t);

/* The due time of the next pending recomputation, or INT64_MAX when none is
 * pending. Read lock. */
int64_t sim_portal_next_recompute_ms(const sim_portal *p);

/* Sets every table's rollups and look-alikes from c->pc_rollups and
 * c->pc_lookalikes (the rest of c is ignored). Recomputations of a table that
 * loses its rollups are dropped (counted in t->rt_dropped); one that loses its
 * per-label rollups forgets their captured values; rollups that appear start
 * with nothing pending. Write lock. */
void sim_portal_set_rollups(sim_portal *p, const sim_portal_config *c, sim_rollup_tally *t);

/* The rollup values of `parent` in table t now (per-label ones when
 * `labels`): the count is O(1), per-label values read the parent's links.
 * Read lock. */
void sim_rollup_values_of(const sim_table *t, uint32_t parent, bool labels, sim_rollup_values *v);

/* The slug of a label as rollup property names use it: lower case, every
 * other character than a-z and 0-9 as '_' ("Decision maker" →
 * "decision_maker"). Writes at most n bytes with the NUL. */
void sim_label_slug(const sim_label *lb, char *out, size_t n);

/* Room for any rollup property name sim_rollup_prop_name writes. */
enum { SIM_ROLLUP_NAME_MAX = 96 };

/* The name of a rollup property on table t's parent: with label -1 the count
 * ("sync_assoc_companies_contacts_count"), else the per-label one of
 * user-defined label `label` ("sync_assoc_companies_contacts_decision_maker").
 * The one place the names are made: GET /crm/v3/properties lists them and
 * records render their values by them. Writes at most n bytes with the NUL. */
void sim_rollup_prop_name(const sim_table *t, int label, char *out, size_t n);

#endif
