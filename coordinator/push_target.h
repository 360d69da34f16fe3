/*
 * push_target — what `hubsync push` needs of a SQL database it keeps in
 * step with the mirror (docs/EXPORT.md, "Targets"): one transaction, a few
 * statements, the rows of a snapshot, the changes of the feed. cmd_push.c
 * decides what to write; push_sqlite.c and push_pg.c write it.
 *
 * Every statement runs inside the one transaction begin() opens; close()
 * without commit() rolls it back, so a push that fails leaves the target as
 * it was. Table names given here are hubsync's own (lower-case letters,
 * digits and '_'), safe as SQL identifiers.
 */
#ifndef HUBSYNC_PUSH_TARGET_H
#define HUBSYNC_PUSH_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/base/err.h"

typedef struct push_conn push_conn; /* a target's own connection state */

/* One association row: a type of a link, from the parent's side. */
typedef struct push_row {
    int64_t pr_parent_id, pr_child_id;
    int32_t pr_type_id;
    const char *pr_category;
    const char *pr_label; /* NULL: the unlabeled type */
    uint32_t pr_label_len;
} push_row;

/* One object row. */
typedef struct push_object {
    int64_t po_id, po_lastmodified_ms;
    bool po_archived;
} push_object;

/* One position row (hubsync_position): a table and the run it is at. */
typedef struct push_position {
    char pp_name[64];
    char pp_kind[16]; /* "associations" or "objects" */
    uint64_t pp_run;
} push_position;

enum { PUSH_MAX_POSITIONS = 64 };

typedef enum push_op { PUSH_UPSERT = 1, PUSH_DELETE = 2 } push_op;

typedef struct push_ops {
    const char *po_name; /* "sqlite", "postgresql" */
    /* A snapshot's table gets its primary key after the load (PostgreSQL:
     * one index build instead of an insert per row); else in CREATE TABLE
     * (SQLite cannot add one later). */
    bool po_key_after_load;
    /* Connects (opens) the target named by `uri` (the whole TARGET). Errors
     * name the problem, never the URI (it may hold a password). */
    int (*connect)(const char *uri, push_conn **out, err_info *e);
    /* Rolls back an open transaction and disconnects; NULL is a no-op. */
    void (*close)(push_conn *c);
    int (*begin)(push_conn *c, err_info *e);
    int (*commit)(push_conn *c, err_info *e);
    /* Empties `table` (PostgreSQL: TRUNCATE, which rewrites nothing row by
     * row but holds an exclusive lock on the table until the commit). */
    const char *po_empty;
    /* Runs one statement that returns no rows. */
    int (*exec)(push_conn *c, const char *sql, err_info *e);
    /* The columns of `table` as "name type,name type" (lower case; the
     * types as the CREATE TABLE of cmd_push.c spells them); "" when there
     * is no such table. */
    int (*columns)(push_conn *c, const char *table, char *out, size_t size, err_info *e);
    /* Every row of hubsync_position (which exists) into out[0..max). */
    int (*positions)(push_conn *c, push_position *out, int max, int *n, err_info *e);
    /* A snapshot's rows into `table` (made empty by the caller): begin,
     * rows, end. At most one load at a time. */
    int (*load_begin)(push_conn *c, const char *table, bool objects, err_info *e);
    int (*load_row)(push_conn *c, const push_row *r, err_info *e);
    int (*load_object)(push_conn *c, const push_object *o, err_info *e);
    int (*load_end)(push_conn *c, err_info *e);
    /* The change feed: begin, then each change in the feed's order (an
     * upsert replaces the link's rows by rows[0..n), a delete removes
     * them), then end, by which every change is applied. */
    int (*changes_begin)(push_conn *c, err_info *e);
    int (*change)(push_conn *c, const char *table, push_op op, int64_t parent_id, int64_t child_id,
                  const push_row *rows, size_t n, err_info *e);
    int (*changes_end)(push_conn *c, const char *const *tables, int ntables, err_info *e);
} push_ops;

extern const push_ops push_sqlite_ops;
extern const push_ops push_pg_ops;

#endif
