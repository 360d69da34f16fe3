/*
 * push_pg — `hubsync push postgresql://…` (push_target.h) through libpq:
 * the URI is libpq's conninfo (a Unix socket: postgresql:///DB?host=/dir);
 * the connection names itself application_name "hubsync push". A snapshot
 * loads through COPY … FROM STDIN (text format, a buffer of COPY_BYTES per
 * PQputCopyData). Changes go by COPY into a temporary table and are applied
 * per table by two statements (the last change of each link wins), so
 * 10,000 changes are not 20,000 round trips. Everything runs in one
 * transaction: a killed push is rolled back by the server.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/base/jbuf.h"
#include "push_target.h"

enum { COPY_BYTES = 1 << 18 };

struct push_conn {
    PGconn *pg;
    bool in_txn;
    bool in_copy;
    jbuf buf;    /* COPY data not yet sent */
    int64_t seq; /* the change's number in the feed's order */
};

/* libpq's message without its trailing newline. */
static int pg_error(push_conn *c, const char *what, err_info *e)
{
    const char *msg = PQerrorMessage(c->pg);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    return err_set(e, ERR_SYS, "postgresql: %s: %.*s", what, (int)n, msg);
}

/* NOTICEs (DROP … IF EXISTS of nothing) are not the user's business. */
static void quiet(void *arg, const PGresult *res)
{
    (void)arg;
    (void)res;
}

static int pg_connect(const char *uri, push_conn **out, err_info *e)
{
    push_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return err_set(e, ERR_NOMEM, "out of memory");
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *vals[] = {uri, "hubsync push", NULL};
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        int rc = c->pg ? pg_error(c, "connecting", e)
                       : err_set(e, ERR_NOMEM, "postgresql: connecting: out of memory");
        PQfinish(c->pg);
        free(c);
        return rc;
    }
    PQsetNoticeReceiver(c->pg, quiet, NULL);
    jb_init(&c->buf);
    *out = c;
    return 0;
}

static void pg_close(push_conn *c)
{
    if (!c)
        return;
    /* Closing the connection rolls back what it had not committed. */
    PQfinish(c->pg);
    jb_free(&c->buf);
    free(c);
}

static int pg_exec(push_conn *c, const char *sql, err_info *e)
{
    PGresult *r = PQexec(c->pg, sql);
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char what[140];
        snprintf(what, sizeof(what), "%.120s", sql);
        return pg_error(c, what, e);
    }
    return 0;
}

/* Any number, the same in every hubsync: the lock pushes into one
 * database take in turn. */
#define PUSH_LOCK "7218205031"

static int pg_begin(push_conn *c, err_info *e)
{
    int rc = pg_exec(c, "BEGIN", e);
    if (rc == 0)
        rc = pg_exec(c, "SET LOCAL client_min_messages = warning", e);
    /* Two pushes into one database take turns: the second reads the
     * position the first committed (as SQLite's BEGIN IMMEDIATE makes
     * them). Released at the commit or the rollback. */
    if (rc == 0)
        rc = pg_exec(c, "SELECT pg_advisory_xact_lock(" PUSH_LOCK ")", e);
    c->in_txn = rc == 0;
    return rc;
}

static int pg_commit(push_conn *c, err_info *e)
{
    int rc = pg_exec(c, "COMMIT", e);
    c->in_txn = false;
    return rc;
}

static int pg_columns(push_conn *c, const char *table, char *out, size_t size, err_info *e)
{
    const char *sql = "SELECT column_name, data_type FROM information_schema.columns "
                      "WHERE table_schema = current_schema() AND table_name = $1 "
                      "ORDER BY ordinal_position";
    const char *params[] = {table};
    PGresult *r = PQexecParams(c->pg, sql, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return pg_error(c, "reading a table's columns", e);
    }
    out[0] = '\0';
    for (int i = 0; i < PQntuples(r); i++) {
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%s %s", i ? "," : "", PQgetvalue(r, i, 0),
                 PQgetvalue(r, i, 1));
    }
    PQclear(r);
    return 0;
}

static int pg_positions(push_conn *c, push_position *out, int max, int *n, err_info *e)
{
    PGresult *r = PQexec(c->pg, "SELECT name, kind, run FROM hubsync_position");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return pg_error(c, "reading hubsync_position", e);
    }
    int rows = PQntuples(r), rc = 0;
    if (rows > max)
        rc = err_set(e, ERR_INVALID, "hubsync_position has more than %d rows", max);
    for (int i = 0; rc == 0 && i < rows; i++) {
        push_position *p = &out[i];
        snprintf(p->pp_name, sizeof(p->pp_name), "%s", PQgetvalue(r, i, 0));
        snprintf(p->pp_kind, sizeof(p->pp_kind), "%s", PQgetvalue(r, i, 1));
        const char *run = PQgetvalue(r, i, 2);
        p->pp_run = run[0] == '-' ? UINT64_MAX : strtoull(run, NULL, 10);
    }
    *n = rc == 0 ? rows : 0;
    PQclear(r);
    return rc;
}

/* ---- COPY ------------------------------------------------------------------ */

static int copy_begin(push_conn *c, const char *sql, err_info *e)
{
    PGresult *r = PQexec(c->pg, sql);
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    if (st != PGRES_COPY_IN)
        return pg_error(c, "starting COPY", e);
    c->in_copy = true;
    jb_reset(&c->buf);
    return 0;
}

static int copy_flush(push_conn *c, err_info *e)
{
    if (!jb_ok(&c->buf))
        return err_set(e, ERR_NOMEM, "out of memory");
    if (c->buf.jb_len && PQputCopyData(c->pg, c->buf.jb_data, (int)c->buf.jb_len) != 1)
        return pg_error(c, "sending COPY data", e);
    jb_reset(&c->buf);
    return 0;
}

static int copy_end(push_conn *c, err_info *e)
{
    int rc = copy_flush(c, e);
    c->in_copy = false;
    if (PQputCopyEnd(c->pg, rc ? "hubsync push failed" : NULL) != 1 && rc == 0)
        rc = pg_error(c, "ending COPY", e);
    PGresult *r;
    while ((r = PQgetResult(c->pg)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0)
            rc = pg_error(c, "COPY", e);
        PQclear(r);
    }
    return rc;
}

/* A text value in COPY's text format: backslash, tab, newline and CR
 * escaped. */
static void copy_text(jbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '\\' || ch == '\t' || ch == '\n' || ch == '\r') {
            jb_char(b, '\\');
            ch = ch == '\t' ? 't' : ch == '\n' ? 'n' : ch == '\r' ? 'r' : '\\';
        }
        jb_char(b, ch);
    }
}

/* parent, child, type, category, label: a row's fields in COPY's text. */
static void copy_row_fields(jbuf *b, const push_row *r)
{
    jb_i64(b, r->pr_parent_id);
    jb_char(b, '\t');
    jb_i64(b, r->pr_child_id);
    jb_char(b, '\t');
    jb_i64(b, r->pr_type_id);
    jb_char(b, '\t');
    copy_text(b, r->pr_category, strlen(r->pr_category));
    jb_char(b, '\t');
    if (r->pr_label)
        copy_text(b, r->pr_label, r->pr_label_len);
    else
        jb_lit(b, "\\N");
}

static int pg_load_begin(push_conn *c, const char *table, bool objects, err_info *e)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "COPY \"%s\" (%s) FROM STDIN", table,
             objects ? "id, lastmodified_ms, archived"
                     : "parent_id, child_id, type_id, category, label");
    return copy_begin(c, sql, e);
}

static int pg_load_row(push_conn *c, const push_row *r, err_info *e)
{
    copy_row_fields(&c->buf, r);
    jb_char(&c->buf, '\n');
    return c->buf.jb_len >= COPY_BYTES ? copy_flush(c, e) : 0;
}

static int pg_load_object(push_conn *c, const push_object *o, err_info *e)
{
    jb_i64(&c->buf, o->po_id);
    jb_char(&c->buf, '\t');
    jb_i64(&c->buf, o->po_lastmodified_ms);
    jb_raw(&c->buf, o->po_archived ? "\tt\n" : "\tf\n", 3);
    return c->buf.jb_len >= COPY_BYTES ? copy_flush(c, e) : 0;
}

static int pg_load_end(push_conn *c, err_info *e)
{
    return copy_end(c, e);
}

/* ---- the change feed ------------------------------------------------------- */

static int pg_changes_begin(push_conn *c, err_info *e)
{
    c->seq = 0;
    int rc = pg_exec(c,
                     "CREATE TEMPORARY TABLE hubsync_changes (tbl text, seq bigint, op char(1), "
                     "parent_id bigint, child_id bigint, type_id integer, category text, "
                     "label text) ON COMMIT DROP",
                     e);
    if (rc == 0)
        rc = copy_begin(c, "COPY hubsync_changes FROM STDIN", e);
    return rc;
}

static int pg_change(push_conn *c, const char *table, push_op op, int64_t parent_id,
                     int64_t child_id, const push_row *rows, size_t n, err_info *e)
{
    jbuf *b = &c->buf;
    c->seq++;
    /* A delete, or an upsert to no type: one row that only names the link. */
    for (size_t i = 0; i < (op == PUSH_UPSERT && n ? n : 1); i++) {
        jb_printf(b, "%s\t%lld\t%c\t", table, (long long)c->seq, op == PUSH_UPSERT ? 'u' : 'd');
        if (op == PUSH_UPSERT && n) {
            copy_row_fields(b, &rows[i]);
        } else {
            jb_i64(b, parent_id);
            jb_char(b, '\t');
            jb_i64(b, child_id);
            jb_lit(b, "\t\\N\t\\N\t\\N");
        }
        jb_char(b, '\n');
    }
    return b->jb_len >= COPY_BYTES ? copy_flush(c, e) : 0;
}

/* Each table: its changed links' rows deleted, then the rows of each
 * link's last change inserted when that change is an upsert. */
static int pg_changes_end(push_conn *c, const char *const *tables, int ntables, err_info *e)
{
    int rc = copy_end(c, e);
    if (rc == 0)
        rc = pg_exec(c, "ANALYZE hubsync_changes", e);
    for (int i = 0; rc == 0 && i < ntables; i++) {
        char sql[1024];
        snprintf(sql, sizeof(sql),
                 "DELETE FROM \"%s\" t USING (SELECT DISTINCT parent_id, child_id FROM "
                 "hubsync_changes WHERE tbl = '%s') c WHERE t.parent_id = c.parent_id AND "
                 "t.child_id = c.child_id",
                 tables[i], tables[i]);
        if ((rc = pg_exec(c, sql, e)) != 0)
            break;
        snprintf(sql, sizeof(sql),
                 "INSERT INTO \"%s\" (parent_id, child_id, type_id, category, label) "
                 "SELECT p.parent_id, p.child_id, p.type_id, p.category, p.label FROM "
                 "hubsync_changes p JOIN (SELECT parent_id, child_id, max(seq) AS seq FROM "
                 "hubsync_changes WHERE tbl = '%s' GROUP BY parent_id, child_id) l ON "
                 "p.seq = l.seq AND p.parent_id = l.parent_id AND p.child_id = l.child_id "
                 "WHERE p.tbl = '%s' AND p.op = 'u' AND p.type_id IS NOT NULL",
                 tables[i], tables[i], tables[i]);
        rc = pg_exec(c, sql, e);
    }
    if (rc == 0)
        rc = pg_exec(c, "DROP TABLE hubsync_changes", e);
    return rc;
}

const push_ops push_pg_ops = {
    .po_name = "postgresql",
    .po_key_after_load = true,
    .po_empty = "TRUNCATE",
    .connect = pg_connect,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .exec = pg_exec,
    .columns = pg_columns,
    .positions = pg_positions,
    .load_begin = pg_load_begin,
    .load_row = pg_load_row,
    .load_object = pg_load_object,
    .load_end = pg_load_end,
    .changes_begin = pg_changes_begin,
    .change = pg_change,
    .changes_end = pg_changes_end,
};
