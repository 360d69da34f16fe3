/*
 * cmd_push — `hubsync push [--table T] [--snapshot] TARGET`: keeps a SQL
 * database (push_target.h: SQLite or PostgreSQL) in step with the mirror
 * (docs/EXPORT.md, "Targets").
 *
 * Everything is read from one LMDB read snapshot and written in one target
 * transaction, with the position (the run the target is in step with):
 *   1. what to push: the selected tables, and the object types they link
 *      that a run stored;
 *   2. what the target holds: hubsync_position and each table's columns;
 *      a target hubsync cannot reconcile is an error before any write;
 *   3. a table the target lacks (or every table, --snapshot) is loaded from
 *      the snapshot; a table it holds at run N gets the change feed after N;
 *      object tables are reloaded whole (the feed holds associations only);
 *   4. the positions, then the commit.
 * A push that fails or is killed leaves the target as it was; the next one
 * starts from the position the target itself stores.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/base/clock.h"
#include "commands.h"
#include "labels.h"
#include "mirror_check.h"
#include "push_target.h"

enum { OBJECT_BATCH = 1024, MAX_ITEMS = CONFIG_MAX_TABLES + HS_OBJECT_TYPE_COUNT };

/* The columns hubsync makes, as push_ops.columns reads them back. */
#define ASSOC_COLUMNS    "parent_id bigint,child_id bigint,type_id integer,category text,label text"
#define OBJECT_COLUMNS   "id bigint,lastmodified_ms bigint,archived boolean"
#define POSITION_COLUMNS "name text,kind text,run bigint,pushed_ms bigint"

/* One SQL table of the target. */
typedef struct push_item {
    char pi_name[64]; /* "companies_contacts", "objects_deals" */
    bool pi_objects;
    hs_table pi_table;      /* associations */
    hs_object_type pi_type; /* objects */
    bool pi_exists;         /* the target has the table */
    bool pi_load;           /* (re)created and loaded from the snapshot */
    uint64_t pi_run;        /* !pi_load: the run the target holds it at */
} push_item;

typedef struct push_job {
    const hubsync_config *pj_c;
    store_txn *pj_t;
    const push_ops *pj_ops;
    push_conn *pj_conn;
    push_item pj_items[MAX_ITEMS];
    int pj_nitems;
    uint64_t pj_latest;   /* the store's latest run, in this snapshot */
    uint64_t pj_position; /* the latest run that had ended: what the target is in step with */
    bool pj_have_position;
    push_row *pj_rows; /* one link's rows */
    size_t pj_rows_cap;
    uint64_t pj_loaded, pj_changes, pj_objects;     /* for the summary */
    uint64_t pj_load_ns, pj_objects_ns, pj_feed_ns; /* the time each part took */
} push_job;

/* ---- what to push ---------------------------------------------------------- */

static int add_objects(push_job *j, hs_object_type type, err_info *e)
{
    for (int i = 0; i < j->pj_nitems; i++)
        if (j->pj_items[i].pi_objects && j->pj_items[i].pi_type == type)
            return 0;
    char state[64];
    snprintf(state, sizeof(state), "objects.%s", hs_object(type)->oi_plural);
    int rc = mirror_check_synced(j->pj_t, state, "", e);
    if (rc == ERR_NOT_FOUND)
        return 0; /* a table's run stores both types; none stored, none pushed */
    if (rc)
        return rc;
    push_item *it = &j->pj_items[j->pj_nitems++];
    snprintf(it->pi_name, sizeof(it->pi_name), "objects_%s", hs_object(type)->oi_plural);
    it->pi_objects = true;
    it->pi_type = type;
    return 0;
}

/* The selected tables (synced, or an error naming the one that is not),
 * then the object types they link. */
static int select_items(push_job *j, err_info *e)
{
    const hubsync_config *c = j->pj_c;
    hs_table tables[CONFIG_MAX_TABLES];
    int n = 0, rc = 0;
    if (c->c_export_table[0])
        rc = config_parse_table("--table", c->c_export_table, strlen(c->c_export_table),
                                &tables[n++], e);
    else
        for (; n < c->c_ntables; n++)
            tables[n] = c->c_tables[n];
    for (int i = 0; rc == 0 && i < n; i++) {
        push_item *it = &j->pj_items[j->pj_nitems++];
        hs_table_name(tables[i], it->pi_name, sizeof(it->pi_name));
        it->pi_table = tables[i];
        char hint[200];
        snprintf(hint, sizeof(hint), "`hubsync run --tables %s` syncs it", it->pi_name);
        rc = mirror_check_synced(j->pj_t, it->pi_name, hint, e);
    }
    for (int i = 0; rc == 0 && i < n; i++)
        if ((rc = add_objects(j, tables[i].t_parent, e)) == 0)
            rc = add_objects(j, tables[i].t_child, e);
    return rc;
}

/* ---- what the target holds ------------------------------------------------- */

static const push_position *find_position(const push_position *pos, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(pos[i].pp_name, name) == 0)
            return &pos[i];
    return NULL;
}

/* Decides how one table is pushed from what the target holds of it; an
 * error (ERR_INVALID) when the target was changed in a way push cannot
 * reconcile. */
static int reconcile_item(push_job *j, push_item *it, const push_position *p, err_info *e)
{
    char cols[512];
    int rc = j->pj_ops->columns(j->pj_conn, it->pi_name, cols, sizeof(cols), e);
    if (rc)
        return rc;
    it->pi_exists = cols[0] != '\0';
    const char *want = it->pi_objects ? OBJECT_COLUMNS : ASSOC_COLUMNS;
    const char *fix = "restore it or drop it, then `hubsync push --snapshot TARGET`";
    if (it->pi_exists && strcmp(cols, want) != 0)
        return err_set(e, ERR_INVALID,
                       "the target's table %s has the columns (%s), not (%s) as hubsync push "
                       "made it: %s",
                       it->pi_name, cols, want, fix);
    it->pi_load = j->pj_c->c_push_snapshot || it->pi_objects || !it->pi_exists;
    if (j->pj_c->c_push_snapshot)
        return 0;
    if (!j->pj_have_position && it->pi_exists)
        return err_set(e, ERR_INVALID,
                       "the target has the table %s but no hubsync_position table: it was not "
                       "made by hubsync push, or its position was dropped; drop %s, or reload "
                       "it with `hubsync push --snapshot TARGET`",
                       it->pi_name, it->pi_name);
    if (j->pj_have_position && !p && it->pi_exists)
        return err_set(e, ERR_INVALID,
                       "the target has the table %s but hubsync_position has no row for it: "
                       "drop %s, or reload it with `hubsync push --snapshot TARGET`",
                       it->pi_name, it->pi_name);
    if (p && !it->pi_exists)
        return err_set(e, ERR_INVALID,
                       "hubsync_position holds %s at run %llu but the target has no such table: "
                       "reload it with `hubsync push --snapshot TARGET`",
                       it->pi_name, (unsigned long long)p->pp_run);
    if (p && p->pp_run > j->pj_latest)
        return err_set(e, ERR_INVALID,
                       "the target holds %s at run %llu, after this database's latest run %llu: "
                       "it was pushed from another database or edited by hand; `hubsync push "
                       "--snapshot TARGET` reloads it",
                       it->pi_name, (unsigned long long)p->pp_run,
                       (unsigned long long)j->pj_latest);
    if (p && !it->pi_objects)
        it->pi_run = p->pp_run;
    return 0;
}

/* Reads hubsync_position and every table's columns; decides each table's
 * way (load or feed). */
static int reconcile(push_job *j, err_info *e)
{
    static push_position pos[PUSH_MAX_POSITIONS];
    char cols[512];
    int npos = 0;
    int rc = j->pj_ops->columns(j->pj_conn, "hubsync_position", cols, sizeof(cols), e);
    if (rc)
        return rc;
    j->pj_have_position = cols[0] != '\0';
    if (j->pj_have_position && strcmp(cols, POSITION_COLUMNS) != 0)
        return err_set(e, ERR_INVALID,
                       "the target's hubsync_position has the columns (%s), not (%s) as hubsync "
                       "push made it: restore it, or drop it and hubsync's tables and push again",
                       cols, POSITION_COLUMNS);
    if (j->pj_have_position &&
        (rc = j->pj_ops->positions(j->pj_conn, pos, PUSH_MAX_POSITIONS, &npos, e)) != 0)
        return rc;
    for (int i = 0; rc == 0 && i < j->pj_nitems; i++) {
        push_item *it = &j->pj_items[i];
        rc = reconcile_item(j, it, find_position(pos, npos, it->pi_name), e);
    }
    return rc;
}

/* A table the target holds at run N needs the feed's changes after N. */
static int check_feed(push_job *j, err_info *e)
{
    for (int i = 0; i < j->pj_nitems; i++) {
        const push_item *it = &j->pj_items[i];
        if (it->pi_load || it->pi_objects)
            continue;
        feed_gap g;
        int rc = mirror_feed_gap(j->pj_t, it->pi_run, &it->pi_table, 1, &g, e);
        if (rc)
            return rc;
        if (g.fg_kind == FEED_GAP_DROPPED)
            return err_set(e, ERR_NOT_FOUND,
                           "the target holds %s at run %llu, and the changes after it are no "
                           "longer kept (the feed starts at run %llu; --changes-keep): reload "
                           "the target with `hubsync push --snapshot TARGET`",
                           it->pi_name, (unsigned long long)it->pi_run,
                           (unsigned long long)g.fg_oldest_run);
        if (g.fg_kind == FEED_GAP_BASE)
            return err_set(e, ERR_NOT_FOUND,
                           "the target holds %s at run %llu, and run %llu loaded it from empty "
                           "since (no change is noted for that load): reload the target with "
                           "`hubsync push --snapshot TARGET`",
                           it->pi_name, (unsigned long long)it->pi_run,
                           (unsigned long long)g.fg_base_run);
    }
    return 0;
}

/* ---- rows ------------------------------------------------------------------ */

static int check_id(const char *table, uint64_t id, err_info *e)
{
    if (id > INT64_MAX)
        return err_set(e, ERR_INVALID,
                       "%s: ID %llu is above 2^63-1, which a BIGINT column cannot hold", table,
                       (unsigned long long)id);
    return 0;
}

/* One link's rows, each type with its label from the catalog, into
 * j->pj_rows; *n their number (0: a link stored with no types, which has
 * no row: the key needs a type). */
static int link_rows(push_job *j, const char *table, const store_assoc *a,
                     const store_labels *catalog, size_t *n, err_info *e)
{
    int rc = check_id(table, a->sa_parent_id, e);
    if (rc == 0)
        rc = check_id(table, a->sa_child_id, e);
    if (rc)
        return rc;
    if (a->sa_ntypes > j->pj_rows_cap) {
        push_row *r = realloc(j->pj_rows, a->sa_ntypes * sizeof(*r));
        if (!r)
            return err_set(e, ERR_NOMEM, "out of memory");
        j->pj_rows = r;
        j->pj_rows_cap = a->sa_ntypes;
    }
    for (size_t i = 0; i < a->sa_ntypes; i++) {
        const store_type *ty = &a->sa_types[i];
        push_row *r = &j->pj_rows[i];
        r->pr_parent_id = (int64_t)a->sa_parent_id;
        r->pr_child_id = (int64_t)a->sa_child_id;
        r->pr_type_id = ty->st_type_id;
        r->pr_category = assoc_category_name(ty->st_category);
        r->pr_label = labels_label_of(catalog, ty, &r->pr_label_len);
    }
    *n = a->sa_ntypes;
    return 0;
}

/* table's label catalog into *catalog; NULL when none is stored (a
 * database from before catalogs: the labels stored with the links stand). */
static int read_catalog(store_txn *t, hs_table table, store_labels *catalog,
                        const store_labels **out, err_info *e)
{
    int rc = store_get_labels(t, table, catalog, e);
    *out = rc == 0 ? catalog : NULL;
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

/* ---- writing ----------------------------------------------------------------- */

/* Drops (when there) and creates an association table; the key and the
 * child index come after the load (finish_assoc_table). */
static int create_assoc_table(push_job *j, const push_item *it, err_info *e)
{
    char sql[600];
    snprintf(sql, sizeof(sql),
             "DROP TABLE IF EXISTS \"%s\"; CREATE TABLE \"%s\" (parent_id BIGINT NOT NULL, "
             "child_id BIGINT NOT NULL, type_id INTEGER NOT NULL, category TEXT NOT NULL, "
             "label TEXT%s)",
             it->pi_name, it->pi_name,
             j->pj_ops->po_key_after_load ? ""
                                          : ", PRIMARY KEY (parent_id, child_id, type_id, "
                                            "category)");
    return j->pj_ops->exec(j->pj_conn, sql, e);
}

static int finish_assoc_table(push_job *j, const push_item *it, err_info *e)
{
    char sql[600];
    int n = 0;
    if (j->pj_ops->po_key_after_load)
        n = snprintf(sql, sizeof(sql),
                     "ALTER TABLE \"%s\" ADD PRIMARY KEY (parent_id, child_id, type_id, "
                     "category); ",
                     it->pi_name);
    snprintf(sql + n, sizeof(sql) - (size_t)n, "CREATE INDEX \"%s_child_id\" ON \"%s\" (child_id)",
             it->pi_name, it->pi_name);
    return j->pj_ops->exec(j->pj_conn, sql, e);
}

/* Creates and loads an association table from the snapshot. */
static int load_table(push_job *j, const push_item *it, err_info *e)
{
    store_labels catalog = {0};
    const store_labels *cat = NULL;
    store_assoc_iter *iter = NULL;
    int rc = read_catalog(j->pj_t, it->pi_table, &catalog, &cat, e);
    if (rc == 0 && (rc = create_assoc_table(j, it, e)) == 0 &&
        (rc = j->pj_ops->load_begin(j->pj_conn, it->pi_name, false, e)) == 0)
        rc = store_assoc_iter_open(j->pj_t, it->pi_table, 0, &iter, e);
    store_assoc a;
    while (rc == 0 && (rc = store_assoc_iter_next(iter, &a, e)) == 0) {
        size_t n = 0;
        if ((rc = link_rows(j, it->pi_name, &a, cat, &n, e)) != 0)
            break;
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = j->pj_ops->load_row(j->pj_conn, &j->pj_rows[i], e);
        j->pj_loaded += n;
    }
    store_assoc_iter_close(iter);
    store_labels_free(&catalog);
    if (rc == ERR_NOT_FOUND && iter) /* the end of the table */
        rc = j->pj_ops->load_end(j->pj_conn, e);
    if (rc == 0)
        rc = finish_assoc_table(j, it, e);
    return rc ? err_wrap(e, "%s: ", it->pi_name) : 0;
}

/* An object table: created when missing, else emptied; then every stored
 * object of its type. */
static int load_objects(push_job *j, const push_item *it, err_info *e)
{
    char sql[300];
    if (it->pi_exists)
        snprintf(sql, sizeof(sql), "%s \"%s\"", j->pj_ops->po_empty, it->pi_name);
    else
        snprintf(sql, sizeof(sql),
                 "CREATE TABLE \"%s\" (id BIGINT PRIMARY KEY, lastmodified_ms BIGINT NOT NULL, "
                 "archived BOOLEAN NOT NULL)",
                 it->pi_name);
    int rc = j->pj_ops->exec(j->pj_conn, sql, e);
    if (rc == 0)
        rc = j->pj_ops->load_begin(j->pj_conn, it->pi_name, true, e);
    store_object *batch = rc == 0 ? malloc(OBJECT_BATCH * sizeof(*batch)) : NULL;
    if (rc == 0 && !batch)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    uint64_t from = 0;
    size_t n = OBJECT_BATCH;
    while (rc == 0 && n == OBJECT_BATCH) {
        if ((rc = store_objects_from(j->pj_t, it->pi_type, from, batch, OBJECT_BATCH, &n, e)))
            break;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            push_object o = {(int64_t)batch[i].ob_id, batch[i].ob_lastmodified_ms,
                             batch[i].ob_archived};
            if ((rc = check_id(it->pi_name, batch[i].ob_id, e)) == 0)
                rc = j->pj_ops->load_object(j->pj_conn, &o, e);
        }
        j->pj_objects += n;
        if (n > 0)
            from = batch[n - 1].ob_id + 1;
    }
    free(batch);
    if (rc == 0)
        rc = j->pj_ops->load_end(j->pj_conn, e);
    return rc ? err_wrap(e, "%s: ", it->pi_name) : 0;
}

/* The changes after each fed table's run, in the feed's order. */
static int apply_feed(push_job *j, err_info *e)
{
    const char *names[MAX_ITEMS];
    store_labels catalogs[MAX_ITEMS];
    const store_labels *cats[MAX_ITEMS];
    memset(catalogs, 0, sizeof(catalogs));
    int nfed = 0, rc = 0;
    uint64_t from = UINT64_MAX;
    for (int i = 0; i < j->pj_nitems; i++) {
        const push_item *it = &j->pj_items[i];
        cats[i] = NULL;
        if (it->pi_load || it->pi_objects)
            continue;
        names[nfed++] = it->pi_name;
        from = it->pi_run < from ? it->pi_run : from;
        if (rc == 0)
            rc = read_catalog(j->pj_t, it->pi_table, &catalogs[i], &cats[i], e);
    }
    store_change_iter *iter = NULL;
    if (rc == 0 && nfed > 0 && (rc = j->pj_ops->changes_begin(j->pj_conn, e)) == 0)
        rc = store_changes_open(j->pj_t, from, &iter, e);
    store_change ch;
    while (rc == 0 && iter && (rc = store_changes_next(iter, &ch, e)) == 0) {
        int i = 0;
        for (; i < j->pj_nitems; i++) {
            const push_item *it = &j->pj_items[i];
            if (!it->pi_load && !it->pi_objects && it->pi_table.t_parent == ch.sc_table.t_parent &&
                it->pi_table.t_child == ch.sc_table.t_child)
                break;
        }
        if (i == j->pj_nitems || ch.sc_run <= j->pj_items[i].pi_run)
            continue;
        store_assoc a = {ch.sc_parent_id, ch.sc_child_id, ch.sc_types,
                         ch.sc_op == STORE_CHANGE_UPSERT ? ch.sc_ntypes : 0};
        size_t n = 0;
        if ((rc = link_rows(j, j->pj_items[i].pi_name, &a, cats[i], &n, e)) != 0)
            break;
        rc = j->pj_ops->change(j->pj_conn, j->pj_items[i].pi_name,
                               ch.sc_op == STORE_CHANGE_UPSERT ? PUSH_UPSERT : PUSH_DELETE,
                               (int64_t)a.sa_parent_id, (int64_t)a.sa_child_id, j->pj_rows, n, e);
        j->pj_changes++;
    }
    store_changes_close(iter);
    for (int i = 0; i < j->pj_nitems; i++)
        store_labels_free(&catalogs[i]);
    if (rc == ERR_NOT_FOUND && iter)
        rc = j->pj_ops->changes_end(j->pj_conn, names, nfed, e);
    return rc;
}

/* hubsync_position (created when missing): every pushed table at the
 * snapshot's latest run. */
static int write_positions(push_job *j, err_info *e)
{
    int rc = 0;
    if (!j->pj_have_position)
        rc = j->pj_ops->exec(j->pj_conn,
                             "CREATE TABLE hubsync_position (name TEXT PRIMARY KEY, kind TEXT NOT "
                             "NULL, run BIGINT NOT NULL, pushed_ms BIGINT NOT NULL)",
                             e);
    for (int i = 0; rc == 0 && i < j->pj_nitems; i++) {
        const push_item *it = &j->pj_items[i];
        char sql[400];
        snprintf(sql, sizeof(sql),
                 "DELETE FROM hubsync_position WHERE name = '%s'; INSERT INTO hubsync_position "
                 "VALUES ('%s', '%s', %llu, %lld)",
                 it->pi_name, it->pi_name, it->pi_objects ? "objects" : "associations",
                 (unsigned long long)j->pj_position, (long long)clock_wall_ms());
        rc = j->pj_ops->exec(j->pj_conn, sql, e);
    }
    return rc;
}

/* Steps 1 to 4 (the top of this file), 2 to 4 in the target's transaction. */
static int push_all(push_job *j, err_info *e)
{
    store_feed_info fi;
    int rc = store_feed_read_info(j->pj_t, &fi, e);
    if (rc == 0 && (rc = select_items(j, e)) == 0 &&
        (rc = j->pj_ops->connect(j->pj_c->c_push_target, &j->pj_conn, e)) == 0)
        rc = j->pj_ops->begin(j->pj_conn, e);
    j->pj_latest = rc == 0 ? fi.fi_latest_run : 0;
    /* A run still going has committed part of its changes: the target
     * gets them, but its position stays at the run before, so the next
     * push applies the whole run again (a change applied twice gives the
     * same rows). */
    if (rc == 0)
        rc = store_feed_run_before(j->pj_t, clock_wall_ms(), &j->pj_position, e);
    if (rc == 0 && (rc = reconcile(j, e)) == 0)
        rc = check_feed(j, e);
    for (int i = 0; rc == 0 && i < j->pj_nitems; i++) {
        const push_item *it = &j->pj_items[i];
        uint64_t t0 = clock_mono_ns();
        if (it->pi_objects)
            rc = load_objects(j, it, e);
        else if (it->pi_load)
            rc = load_table(j, it, e);
        *(it->pi_objects ? &j->pj_objects_ns : &j->pj_load_ns) += clock_mono_ns() - t0;
    }
    uint64_t t0 = clock_mono_ns();
    if (rc == 0)
        rc = apply_feed(j, e);
    j->pj_feed_ns = clock_mono_ns() - t0;
    if (rc == 0 && (rc = write_positions(j, e)) == 0)
        rc = j->pj_ops->commit(j->pj_conn, e);
    return rc;
}

int cmd_push(const hubsync_config *c)
{
    store_options so = {.so_readonly = true};
    store *s = NULL;
    err_info e = {0};
    static push_job j;
    memset(&j, 0, sizeof(j));
    j.pj_c = c;
    j.pj_ops = strncmp(c->c_push_target, "sqlite:", 7) == 0 ? &push_sqlite_ops : &push_pg_ops;
    int rc = store_open(c->c_db_dir, &so, &s, &e);
    if (rc == ERR_NOT_FOUND)
        err_set(&e, rc,
                "no hubsync database in %s (run `hubsync setup` first, or check --db / "
                "HUBSYNC_DB)",
                c->c_db_dir);
    /* One read snapshot: the rows, the feed and the latest run agree. */
    if (rc == 0 && (rc = store_txn_begin(s, STORE_TXN_READ, &j.pj_t, &e)) == 0)
        rc = push_all(&j, &e);
    j.pj_ops->close(j.pj_conn); /* rolls back what was not committed */
    store_txn_abort(j.pj_t);
    store_close(s);
    free(j.pj_rows);
    if (rc) {
        cmd_error(c, "push: %s", e.ei_msg);
        return cmd_exit_code(rc);
    }
    int loaded = 0, fed = 0;
    for (int i = 0; i < j.pj_nitems; i++) {
        loaded += !j.pj_items[i].pi_objects && j.pj_items[i].pi_load;
        fed += !j.pj_items[i].pi_objects && !j.pj_items[i].pi_load;
    }
    if (j.pj_position < j.pj_latest)
        printf("push: run %llu is still going (or was killed before its end): the target "
               "holds what it has committed, and the next push applies its changes again\n",
               (unsigned long long)j.pj_latest);
    printf("push: %s target at run %llu: %d tables loaded (%llu rows, %.3f s), %d fed (%llu "
           "changes, %.3f s), %llu objects (%.3f s)\n",
           j.pj_ops->po_name, (unsigned long long)j.pj_position, loaded,
           (unsigned long long)j.pj_loaded, (double)j.pj_load_ns / 1e9, fed,
           (unsigned long long)j.pj_changes, (double)j.pj_feed_ns / 1e9,
           (unsigned long long)j.pj_objects, (double)j.pj_objects_ns / 1e9);
    return EXIT_OK;
}
