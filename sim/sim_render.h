/*
 * sim_render — writes one CRM object as HubSpot returns it from list, batch
 * read and search: {"id","properties":{…},"createdAt","updatedAt","archived"}.
 *
 * Property values are strings (datetimes in ISO-8601 with milliseconds,
 * numbers as decimal integers), as on the wire; hs_object_id, createdate and
 * the last-modified property are always present, like HubSpot's.
 *
 * Rollup values. A requested property that is one of the portal's rollups
 * on the type (docs/SIMULATOR.md, "Rollups") shows the value HubSpot has
 * stored for it: in the realistic rollup model a value is stored only when
 * its recomputation runs, so while one of (table, parent) is pending the
 * record shows the value captured before the first change it covers; else,
 * and in the always and never modes, the current value. Which requested
 * names are rollups is resolved once per request (sim_render_props_resolve),
 * not per record, so a page of records costs no name matching and a request
 * that asks for no rollup costs nothing more.
 *
 * Locking: the caller holds the portal's read lock (sim_portal.h).
 */
#ifndef HUBSYNC_SIM_RENDER_H
#define HUBSYNC_SIM_RENDER_H

#include <stdint.h>

#include "../common/base/jbuf.h"
#include "sim_portal.h"
#include "sim_rollup.h"

enum {
    SIM_PROP_NAME_MAX = 64,
    SIM_RENDER_MAX_PROPS = 32, /* requested names a request may resolve (= SIM_SEARCH_MAX_PROPS) */
};

/* A requested name that is a rollup of the rendered type. */
typedef struct sim_render_rollup {
    uint8_t rr_name;  /* index of its name in the requested names */
    uint8_t rr_table; /* index in the portal's tables (the type is its parent) */
    int8_t rr_label;  /* the user-defined label it counts, or -1: the count */
} sim_render_rollup;

/* What a request asks each record to show, resolved against the portal. */
typedef struct sim_render_props {
    const char (*rp_names)[SIM_PROP_NAME_MAX]; /* the requested names */
    int rp_nnames;                             /* 0: the type's defaults (no rollups) */
    bool rp_stored; /* realistic mode: a pending recomputation's captured value */
    int rp_nrollups;
    sim_render_rollup rp_rollups[SIM_RENDER_MAX_PROPS];
} sim_render_props;

/* Resolves the requested names (names[0..nnames-1], kept by pointer: they
 * must outlive rp) for type t: which are rollups of t's tables and which
 * table and label each counts. A name asked twice renders once; names past
 * SIM_RENDER_MAX_PROPS are ignored; unknown names are left out. `mode` is the
 * rollup model's current mode. Costs one prefix check per name that is not
 * a rollup. Read lock. */
void sim_render_props_resolve(sim_render_props *rp, const sim_portal *p, hs_object_type t,
                              const char (*names)[SIM_PROP_NAME_MAX], int nnames,
                              sim_rollup_mode mode);

/* The rollup of type t named `name` (as GET /crm/v3/properties lists it:
 * only real rollups, not look-alikes or the near-miss on the child): true
 * and its table and label in *rr (rr_name 0). Builds the type's rollup names
 * to compare, so callers resolve once per request, not per record. Read
 * lock; *rr is valid while it is held (the rollups may change after). */
bool sim_render_find_rollup(const sim_portal *p, hs_object_type t, const char *name,
                            sim_render_rollup *rr);

/* The value record `parent` shows for rollup rr (found for its type): with
 * `stored` (the realistic mode: rp_stored), while a recomputation of
 * (table, parent) is pending, the value captured before it; else the
 * current one. The one rule rendering, search filters and search sorts
 * share. A count costs O(1) (a hash probe when anything is pending), a
 * per-label value a read of the parent's links in the table. Read lock. */
uint32_t sim_render_rollup_value(const sim_portal *p, const sim_render_rollup *rr, uint32_t parent,
                                 bool stored);

/* Appends object idx of type t with the properties rp resolved for t.
 * modified_ms is the last-modified time to show (search shows its lagging
 * view). Read lock. */
void sim_render_object_props(jbuf *out, const sim_portal *p, hs_object_type t, uint32_t idx,
                             int64_t modified_ms, const sim_render_props *rp);

/* sim_render_object_props for a single object: resolves props/nprops (as
 * sim_render_props_resolve does, in the realistic mode, the simulator's
 * default) on every call, so loops over records resolve once and call
 * sim_render_object_props instead. nprops 0 means the type's defaults.
 * Read lock. */
void sim_render_object(jbuf *out, const sim_portal *p, hs_object_type t, uint32_t idx,
                       int64_t modified_ms, const char (*props)[SIM_PROP_NAME_MAX], int nprops);

#endif
