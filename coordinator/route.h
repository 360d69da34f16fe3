/*
 * route — a table's schema (its table_options, as setup stores them) and
 * the route its next run takes: the switch-on of docs/CLI.md ("Switch-on
 * and routing") in one place, used by `run` to choose, by `status` and
 * `doctor` to say what the next run will do, and by `setup` to say what
 * its new schema changes. No I/O: every function reads the records given.
 */
#ifndef HUBSYNC_ROUTE_H
#define HUBSYNC_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/base/err.h"
#include "../common/base/jbuf.h"
#include "../common/store/store.h"

/* Rewrites e, an ERR_CORRUPT from reading the schema (`schema` true) or the
 * state record of `name` (a table, or "objects.{type}"), into one message
 * naming what is damaged and the way out: `hubsync setup --tables T` for a
 * schema, `hubsync run --full-scan --tables T` for a table's cursor,
 * `hubsync run --full-scan` for an object type's. Returns ERR_CORRUPT. */
int record_damaged(err_info *e, const char *name, bool schema);

/* True when two schemas hold the same table_options. */
bool schema_equal(const store_schema *a, const store_schema *b);

/* Appends the schema as the JSON object {"ping_type","supports_roll_up",
 * "rollup_field_labels":[…],"rollup_fields_object_id"}. */
void schema_json(jbuf *b, const store_schema *sc);

/* The route the next run takes for a table (docs/CLI.md, "Switch-on and routing"), from its
 * stored schema (NULL when there is none: read_full_ping) and state: the
 * cursor, and whether a killed run left a scan unfinished (ss_scan_started_ms
 * set: it resumes, skipping the ranges it merged). One exception to the
 * table: an incremental table's timestamp cursor is searched from only when
 * route_cursor_trusted(); otherwise the route is a new full scan, whose
 * completion makes it trusted. `run`, `status` and `setup` all use it. */
store_route route_next(const store_schema *sc, const store_state *st);

/* The routing table alone, without the trusted-cursor rule: what the
 * reference design does (`run --reference-design`). */
store_route route_plain(const store_schema *sc, const store_state *st);

/* Whether a timestamp cursor comes from a full scan that started at or after
 * the table's rollup fields were first seen (sc_rollups_since_ms, unknown:
 * never), so that every change after it bumped its parent. */
bool route_cursor_trusted(const store_schema *sc, const store_state *st);

/* Why route_next() takes a full scan where the routing table alone would
 * say incremental (an untrusted cursor), in words; NULL when it does not. */
const char *route_reason(const store_schema *sc, const store_state *st);

/* Sets sc->sc_rollups_since_ms for a schema about to be stored, `old` being
 * the one it replaces (NULL: none): kept when the table was incremental with
 * the same rollup fields already, `now_ms` when it turns incremental or its
 * fields changed, 0 for read_full_ping. setup and run's re-check call it. */
void schema_carry_since(const store_schema *old, store_schema *sc, int64_t now_ms);

/* What a cursor means, in words ("full scan from 0", "full scan in progress
 * after ID 42", "incremental from 2024-01-17T19:55:04.281Z"), for a table of
 * ping type `ping`. Returns buf. */
const char *route_describe(store_ping_type ping, const store_cursor *cu, char *buf, size_t size);

#endif
