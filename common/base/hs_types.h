/*
 * hs_types — the one table of HubSpot object types, their aliases, their
 * last-modified property, and the HUBSPOT_DEFINED association type IDs.
 *
 * Association tables are unordered pairs of object types named `{a}_{b}` with
 * a < b alphabetically; `a` is the parent (scanned, watched, carries the
 * rollup fields) and `b` the child (docs/CLI.md, `--tables`). Type IDs are directional: the
 * IDs a table stores are the parent→child ones.
 */
#ifndef HUBSYNC_HS_TYPES_H
#define HUBSYNC_HS_TYPES_H

#include <stdbool.h>
#include <stddef.h>

typedef enum hs_object_type {
    HS_CONTACTS,
    HS_COMPANIES,
    HS_DEALS,
    HS_TICKETS,
    HS_CALLS,
    HS_EMAILS,
    HS_MEETINGS,
    HS_NOTES,
    HS_TASKS,
    HS_COMMUNICATIONS,
    HS_POSTAL_MAIL,
    HS_OBJECT_TYPE_COUNT
} hs_object_type;

typedef struct hs_object_info {
    const char *oi_plural;   /* "contacts": canonical name, used in paths and tables */
    const char *oi_singular; /* "contact": used in HubSpot's error messages */
    const char *oi_type_id;  /* "0-1": the object type ID, also accepted in paths */
    const char *oi_lastmod;  /* "lastmodifieddate" or "hs_lastmodifieddate" */
    bool oi_engagement;      /* calls, emails, …: never carry rollup fields */
} hs_object_info;

/* Facts about type `t` (which must be < HS_OBJECT_TYPE_COUNT). */
const hs_object_info *hs_object(hs_object_type t);

/* The plural names of the object types (all of them, or the engagement
 * types only), in the table's order, joined by `sep`, into buf (cut to
 * size); for messages that list them. Returns buf. */
const char *hs_object_names(char *buf, size_t size, bool engagements_only, const char *sep);

/* Parses a path segment: plural, singular or type ID ("contacts", "contact",
 * "0-1"). Returns 0 and sets *out, or -1 for an unknown type. */
int hs_object_parse(const char *s, size_t n, hs_object_type *out);

/* The HUBSPOT_DEFINED type IDs for associations from `from` to `to`:
 * *unlabeled always, *primary the "primary" type or 0 when the pair has none.
 * Returns 0, or -1 when HubSpot has no association between the two types. */
int hs_assoc_type_ids(hs_object_type from, hs_object_type to, int *unlabeled, int *primary);

/* An association table: parent < child alphabetically. */
typedef struct hs_table {
    hs_object_type t_parent;
    hs_object_type t_child;
} hs_table;

/* Builds the table for two types in either order. Returns 0, or -1 when the
 * types are equal or cannot be associated. */
int hs_table_of(hs_object_type x, hs_object_type y, hs_table *out);

/* Parses a canonical table name ("companies_contacts"). The two types must be
 * in alphabetical order. Returns 0 or -1. */
int hs_table_parse(const char *name, size_t n, hs_table *out);

/* Writes the canonical name ("companies_contacts") into buf; returns its length. */
size_t hs_table_name(hs_table t, char *buf, size_t size);

/* True for tables that can never carry rollup fields (an engagement on either side). */
bool hs_table_is_engagement(hs_table t);

/* The six default tables among contacts, companies, deals and tickets. */
enum { HS_DEFAULT_TABLE_COUNT = 6 };
extern const hs_table hs_default_tables[HS_DEFAULT_TABLE_COUNT];

#endif
