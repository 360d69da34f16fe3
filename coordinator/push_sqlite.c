/*
 * push_sqlite — `hubsync push sqlite:PATH` (push_target.h): the file opened
 * (created when missing) with SQLite's default rollback journal, one
 * BEGIN IMMEDIATE transaction, rows bound to prepared statements. The
 * journal makes the commit atomic: a killed push leaves a hot journal that
 * the next opener rolls back.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "push_target.h"

struct push_conn {
    sqlite3 *db;
    bool in_txn;
    sqlite3_stmt *load;      /* the INSERT of a load */
    sqlite3_stmt *del, *ins; /* a change's DELETE and INSERT, for table `cur` */
    char cur[64];
};

static int db_error(push_conn *c, const char *what, err_info *e)
{
    return err_set(e, ERR_SYS, "sqlite: %s: %s", what, sqlite3_errmsg(c->db));
}

static int sq_connect(const char *uri, push_conn **out, err_info *e)
{
    const char *path = uri + strlen("sqlite:");
    push_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return err_set(e, ERR_NOMEM, "out of memory");
    int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        err_set(e, ERR_SYS, "sqlite: opening %.200s: %s", path,
                c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite3_close(c->db);
        free(c);
        return ERR_SYS;
    }
    /* Another writer (a push beside this one) is waited for, a while. */
    sqlite3_busy_timeout(c->db, 10000);
    *out = c;
    return 0;
}

static int sq_exec(push_conn *c, const char *sql, err_info *e)
{
    char *msg = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        err_set(e, ERR_SYS, "sqlite: %.120s: %s", sql, msg ? msg : sqlite3_errmsg(c->db));
        sqlite3_free(msg);
        return ERR_SYS;
    }
    return 0;
}

static void finalize_all(push_conn *c)
{
    sqlite3_finalize(c->load);
    sqlite3_finalize(c->del);
    sqlite3_finalize(c->ins);
    c->load = c->del = c->ins = NULL;
    c->cur[0] = '\0';
}

static void sq_close(push_conn *c)
{
    if (!c)
        return;
    finalize_all(c);
    if (c->in_txn)
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(c->db);
    free(c);
}

static int sq_begin(push_conn *c, err_info *e)
{
    int rc = sq_exec(c, "BEGIN IMMEDIATE", e);
    c->in_txn = rc == 0;
    return rc;
}

static int sq_commit(push_conn *c, err_info *e)
{
    finalize_all(c);
    int rc = sq_exec(c, "COMMIT", e);
    if (rc == 0)
        c->in_txn = false;
    return rc;
}

static int prepare(push_conn *c, const char *sql, sqlite3_stmt **st, err_info *e)
{
    if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_error(c, sql, e);
    return 0;
}

static int sq_columns(push_conn *c, const char *table, char *out, size_t size, err_info *e)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "PRAGMA table_info(\"%s\")", table);
    sqlite3_stmt *st = NULL;
    int rc = prepare(c, sql, &st, e);
    out[0] = '\0';
    while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%s %s", used ? "," : "",
                 (const char *)sqlite3_column_text(st, 1),
                 (const char *)sqlite3_column_text(st, 2));
        rc = 0;
    }
    rc = rc == SQLITE_DONE ? 0 : rc ? db_error(c, sql, e) : 0;
    sqlite3_finalize(st);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return rc;
}

static int sq_positions(push_conn *c, push_position *out, int max, int *n, err_info *e)
{
    const char *sql = "SELECT name, kind, run FROM hubsync_position";
    sqlite3_stmt *st = NULL;
    int rc = prepare(c, sql, &st, e);
    *n = 0;
    while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rc = 0;
        if (*n == max) {
            rc = err_set(e, ERR_INVALID, "hubsync_position has more than %d rows", max);
            break;
        }
        push_position *p = &out[(*n)++];
        snprintf(p->pp_name, sizeof(p->pp_name), "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(p->pp_kind, sizeof(p->pp_kind), "%s", (const char *)sqlite3_column_text(st, 1));
        sqlite3_int64 run = sqlite3_column_int64(st, 2);
        p->pp_run = run < 0 ? UINT64_MAX : (uint64_t)run;
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = db_error(c, sql, e);
    sqlite3_finalize(st);
    return rc;
}

static int sq_load_begin(push_conn *c, const char *table, bool objects, err_info *e)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "INSERT INTO \"%s\" VALUES (%s)", table,
             objects ? "?,?,?" : "?,?,?,?,?");
    sqlite3_finalize(c->load);
    c->load = NULL;
    return prepare(c, sql, &c->load, e);
}

/* Binds r to st (parent, child, type, category, label) and runs it. */
static int insert_row(push_conn *c, sqlite3_stmt *st, const push_row *r, err_info *e)
{
    sqlite3_bind_int64(st, 1, r->pr_parent_id);
    sqlite3_bind_int64(st, 2, r->pr_child_id);
    sqlite3_bind_int(st, 3, r->pr_type_id);
    sqlite3_bind_text(st, 4, r->pr_category, -1, SQLITE_STATIC);
    if (r->pr_label)
        sqlite3_bind_text(st, 5, r->pr_label, (int)r->pr_label_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 5);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : db_error(c, "inserting a row", e);
}

static int sq_load_row(push_conn *c, const push_row *r, err_info *e)
{
    return insert_row(c, c->load, r, e);
}

static int sq_load_object(push_conn *c, const push_object *o, err_info *e)
{
    sqlite3_bind_int64(c->load, 1, o->po_id);
    sqlite3_bind_int64(c->load, 2, o->po_lastmodified_ms);
    sqlite3_bind_int(c->load, 3, o->po_archived);
    int rc = sqlite3_step(c->load);
    sqlite3_reset(c->load);
    return rc == SQLITE_DONE ? 0 : db_error(c, "inserting an object", e);
}

static int sq_load_end(push_conn *c, err_info *e)
{
    (void)e;
    sqlite3_finalize(c->load);
    c->load = NULL;
    return 0;
}

static int sq_changes_begin(push_conn *c, err_info *e)
{
    (void)c;
    (void)e;
    return 0;
}

/* The DELETE and INSERT of `table`'s changes, prepared when the table
 * differs from the last change's. */
static int change_statements(push_conn *c, const char *table, err_info *e)
{
    if (strcmp(c->cur, table) == 0)
        return 0;
    sqlite3_finalize(c->del);
    sqlite3_finalize(c->ins);
    c->del = c->ins = NULL;
    c->cur[0] = '\0';
    char del[160], ins[160];
    snprintf(del, sizeof(del), "DELETE FROM \"%s\" WHERE parent_id = ? AND child_id = ?", table);
    snprintf(ins, sizeof(ins), "INSERT INTO \"%s\" VALUES (?,?,?,?,?)", table);
    int rc = prepare(c, del, &c->del, e);
    if (rc == 0)
        rc = prepare(c, ins, &c->ins, e);
    if (rc == 0)
        snprintf(c->cur, sizeof(c->cur), "%s", table);
    return rc;
}

static int sq_change(push_conn *c, const char *table, push_op op, int64_t parent_id,
                     int64_t child_id, const push_row *rows, size_t n, err_info *e)
{
    int rc = change_statements(c, table, e);
    if (rc)
        return rc;
    sqlite3_bind_int64(c->del, 1, parent_id);
    sqlite3_bind_int64(c->del, 2, child_id);
    rc = sqlite3_step(c->del);
    sqlite3_reset(c->del);
    if (rc != SQLITE_DONE)
        return db_error(c, "deleting a link's rows", e);
    for (size_t i = 0; op == PUSH_UPSERT && i < n; i++)
        if ((rc = insert_row(c, c->ins, &rows[i], e)) != 0)
            return rc;
    return 0;
}

static int sq_changes_end(push_conn *c, const char *const *tables, int ntables, err_info *e)
{
    (void)tables;
    (void)ntables;
    (void)e;
    sqlite3_finalize(c->del);
    sqlite3_finalize(c->ins);
    c->del = c->ins = NULL;
    c->cur[0] = '\0';
    return 0;
}

const push_ops push_sqlite_ops = {
    .po_name = "sqlite",
    .po_empty = "DELETE FROM", /* without WHERE: SQLite's truncate optimisation */
    .connect = sq_connect,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .exec = sq_exec,
    .columns = sq_columns,
    .positions = sq_positions,
    .load_begin = sq_load_begin,
    .load_row = sq_load_row,
    .load_object = sq_load_object,
    .load_end = sq_load_end,
    .changes_begin = sq_changes_begin,
    .change = sq_change,
    .changes_end = sq_changes_end,
};
