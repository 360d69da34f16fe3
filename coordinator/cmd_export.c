/*
 * cmd_export — `hubsync export [--table T | --objects TYPE] [--format
 * tsv|jsonl|csv] [-o FILE]`: the mirrored associations, or one type's
 * stored objects (docs/EXPORT.md).
 *
 * Associations:
 *   tsv    TABLE<TAB>PARENT_ID<TAB>CHILD_ID<TAB>TYPE_IDS   (IDs distinct,
 *          ascending, comma-joined; empty for a link stored with no types)
 *   jsonl  {"table":…,"parent_id":"…","child_id":"…",
 *           "types":[{"category":…,"typeId":N,"label":"…"|null},…]}
 *   csv    RFC 4180 with a header, one row per association type:
 *          table,parent_id,child_id,type_id,category,label
 *          (a link stored with no types: one row, the last three empty)
 * Objects (--objects TYPE):
 *   tsv    TYPE<TAB>ID<TAB>LASTMODIFIED_MS<TAB>ARCHIVED (true|false)
 *   jsonl  {"type":…,"id":"…","lastmodified_ms":N,"archived":false}
 *   csv    type,id,lastmodified_ms,archived
 *
 * Read-only and streaming: one LMDB read snapshot (consistent across tables,
 * no run lock, so it works beside a run), one iterator at a time, lines
 * written through a fixed-size buffer, so memory does not grow with the
 * table. With -o FILE the lines go to a temporary file renamed over FILE at
 * the end (afile.h): FILE is the whole export or what it was before.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/base/afile.h"
#include "../common/base/jbuf.h"
#include "commands.h"
#include "labels.h"
#include "mirror_check.h"

enum { FLUSH_BYTES = 1 << 16, OBJECT_BATCH = 1024 };

/* Where the lines go: stdout, or the file -o names. */
typedef struct sink {
    afile sk_file;
    bool sk_to_file;
} sink;

static int sink_write(sink *k, jbuf *b, err_info *e)
{
    if (!jb_ok(b))
        return err_set(e, ERR_NOMEM, "out of memory");
    if (k->sk_to_file) {
        if (afile_write(&k->sk_file, b->jb_data, b->jb_len, e) != 0)
            return ERR_SYS;
    } else if (b->jb_len && fwrite(b->jb_data, 1, b->jb_len, stdout) != b->jb_len) {
        return err_set(e, ERR_SYS, "writing to stdout: %s", strerror(errno));
    }
    jb_reset(b);
    return 0;
}

/* ---- associations ---------------------------------------------------------- */

/* Each line writer starts a line with `pre` (the change feed's op and run,
 * in the format's own form; "" for a snapshot). */
static void tsv_line(jbuf *b, const char *pre, const char *table, const store_assoc *a)
{
    jb_printf(b, "%s%s\t", pre, table);
    jb_u64(b, a->sa_parent_id);
    jb_char(b, '\t');
    jb_u64(b, a->sa_child_id);
    jb_char(b, '\t');
    /* Types come sorted by (type ID, category): equal IDs are adjacent. */
    for (size_t i = 0; i < a->sa_ntypes; i++) {
        int32_t id = a->sa_types[i].st_type_id;
        if (i > 0 && id == a->sa_types[i - 1].st_type_id)
            continue;
        if (i > 0)
            jb_char(b, ',');
        jb_i64(b, id);
    }
    jb_char(b, '\n');
}

static void jsonl_line(jbuf *b, const char *pre, const char *table, const store_assoc *a,
                       const store_labels *catalog)
{
    jb_printf(b, "{%s\"table\":", pre);
    jb_str(b, table);
    jb_lit(b, ",\"parent_id\":");
    jb_u64_str(b, a->sa_parent_id);
    jb_lit(b, ",\"child_id\":");
    jb_u64_str(b, a->sa_child_id);
    jb_lit(b, ",\"types\":[");
    for (size_t i = 0; i < a->sa_ntypes; i++) {
        const store_type *ty = &a->sa_types[i];
        if (i)
            jb_char(b, ',');
        jb_lit(b, "{\"category\":");
        jb_str(b, assoc_category_name(ty->st_category));
        jb_lit(b, ",\"typeId\":");
        jb_i64(b, ty->st_type_id);
        jb_lit(b, ",\"label\":");
        uint32_t len;
        const char *label = labels_label_of(catalog, ty, &len);
        if (label)
            jb_strn(b, label, len);
        else
            jb_lit(b, "null");
        jb_char(b, '}');
    }
    jb_lit(b, "]}\n");
}

/* RFC 4180 ends records with CRLF. */
static void csv_end(jbuf *b)
{
    jb_lit(b, "\r\n");
}

static void csv_lines(jbuf *b, const char *pre, const char *table, const store_assoc *a,
                      const store_labels *catalog)
{
    for (size_t i = 0; i < (a->sa_ntypes ? a->sa_ntypes : 1); i++) {
        jb_printf(b, "%s%s,", pre, table);
        jb_u64(b, a->sa_parent_id);
        jb_char(b, ',');
        jb_u64(b, a->sa_child_id);
        jb_char(b, ',');
        if (a->sa_ntypes) {
            const store_type *ty = &a->sa_types[i];
            jb_i64(b, ty->st_type_id);
            jb_printf(b, ",%s,", assoc_category_name(ty->st_category));
            uint32_t len;
            const char *label = labels_label_of(catalog, ty, &len);
            if (label)
                jb_csv(b, label, len);
        } else {
            jb_lit(b, ",,");
        }
        csv_end(b);
    }
}

/* One association's line(s) in format f. */
static void assoc_line(jbuf *b, export_format f, const char *pre, const char *table,
                       const store_assoc *a, const store_labels *catalog)
{
    if (f == EXPORT_JSONL)
        jsonl_line(b, pre, table, a, catalog);
    else if (f == EXPORT_CSV)
        csv_lines(b, pre, table, a, catalog);
    else
        tsv_line(b, pre, table, a);
}

/* Streams one table. Returns 0 or an ERR_* (message in e). */
static int export_table(const hubsync_config *c, store_txn *t, hs_table table, jbuf *b, sink *k,
                        err_info *e)
{
    char name[64];
    hs_table_name(table, name, sizeof(name));
    store_assoc_iter *it = NULL;
    store_labels catalog = {0};
    /* A database from before label catalogs has none: the labels stored
     * with the associations stand. */
    int rc = store_get_labels(t, table, &catalog, e);
    if (rc != 0 && rc != ERR_NOT_FOUND) {
        store_labels_free(&catalog);
        return err_wrap(e, "%s: ", name);
    }
    const store_labels *cat = rc == 0 ? &catalog : NULL;
    if ((rc = store_assoc_iter_open(t, table, 0, &it, e)) != 0) {
        store_labels_free(&catalog);
        return err_wrap(e, "%s: ", name);
    }
    store_assoc a;
    while ((rc = store_assoc_iter_next(it, &a, e)) == 0) {
        assoc_line(b, c->c_export_format, "", name, &a, cat);
        if (b->jb_len >= FLUSH_BYTES && (rc = sink_write(k, b, e)) != 0)
            break;
    }
    store_assoc_iter_close(it);
    store_labels_free(&catalog);
    if (rc == ERR_NOT_FOUND)
        return 0; /* the end of the table */
    return rc == ERR_SYS || rc == ERR_NOMEM ? rc : err_wrap(e, "%s: ", name);
}

/* ---- objects --------------------------------------------------------------- */

static void object_line(jbuf *b, export_format f, const char *type, const store_object *o)
{
    const char *archived = o->ob_archived ? "true" : "false";
    if (f == EXPORT_JSONL) {
        jb_lit(b, "{\"type\":");
        jb_str(b, type);
        jb_lit(b, ",\"id\":");
        jb_u64_str(b, o->ob_id);
        jb_printf(b, ",\"lastmodified_ms\":%lld,\"archived\":%s}\n",
                  (long long)o->ob_lastmodified_ms, archived);
        return;
    }
    char sep = f == EXPORT_CSV ? ',' : '\t';
    jb_printf(b, "%s%c", type, sep);
    jb_u64(b, o->ob_id);
    jb_printf(b, "%c%lld%c%s", sep, (long long)o->ob_lastmodified_ms, sep, archived);
    if (f == EXPORT_CSV)
        csv_end(b);
    else
        jb_char(b, '\n');
}

/* Streams the stored objects of one type, in ID order, a batch at a time. */
static int export_objects(const hubsync_config *c, store_txn *t, jbuf *b, sink *k, err_info *e)
{
    hs_object_type type = c->c_export_objects;
    const char *plural = hs_object(type)->oi_plural;
    char name[64];
    snprintf(name, sizeof(name), "objects.%s", plural);
    int rc = 0;
    store_object *batch = malloc(OBJECT_BATCH * sizeof(*batch));
    if (!batch)
        return err_set(e, ERR_NOMEM, "out of memory");
    uint64_t from = 0;
    size_t n = OBJECT_BATCH;
    while (rc == 0 && n == OBJECT_BATCH) {
        if ((rc = store_objects_from(t, type, from, batch, OBJECT_BATCH, &n, e)) != 0) {
            err_wrap(e, "%s: ", name);
            break;
        }
        for (size_t i = 0; i < n; i++)
            object_line(b, c->c_export_format, plural, &batch[i]);
        if (n > 0)
            from = batch[n - 1].ob_id + 1;
        if (b->jb_len >= FLUSH_BYTES)
            rc = sink_write(k, b, e);
        if (n > 0 && batch[n - 1].ob_id == UINT64_MAX)
            break;
    }
    free(batch);
    return rc;
}

/* ---- the change feed ---------------------------------------------------------- */

/* The run the changes are asked after: --changes-since RUN, or the latest
 * run that had ended at TIME; checked against what the feed keeps for the
 * tables asked for. */
static int changes_after(const hubsync_config *c, store_txn *t, const hs_table *tables, int n,
                         uint64_t *after, err_info *e)
{
    int rc = 0;
    if (c->c_changes_since_ms >= 0)
        rc = store_feed_run_before(t, c->c_changes_since_ms, after, e);
    else
        *after = c->c_changes_since_run;
    feed_gap g;
    if (rc || (rc = mirror_feed_gap(t, *after, tables, n, &g, e)) != 0)
        return rc;
    char name[64];
    switch (g.fg_kind) {
    case FEED_GAP_NONE:
        return 0;
    case FEED_GAP_AHEAD:
        return err_set(e, ERR_INVALID, "--changes-since %llu: the latest run is %llu",
                       (unsigned long long)*after, (unsigned long long)g.fg_latest_run);
    case FEED_GAP_DROPPED:
        return err_set(e, ERR_NOT_FOUND,
                       "the changes after run %llu are no longer kept (the feed starts at run "
                       "%llu; --changes-keep): take a snapshot (hubsync export), then ask for "
                       "the changes since run %llu",
                       (unsigned long long)*after, (unsigned long long)g.fg_oldest_run,
                       (unsigned long long)g.fg_latest_run);
    case FEED_GAP_BASE:
        break;
    }
    hs_table_name(g.fg_table, name, sizeof(name));
    return err_set(e, ERR_NOT_FOUND,
                   "%s was loaded from empty by run %llu, after run %llu: the feed "
                   "holds its changes from then on; take a snapshot of it (hubsync "
                   "export --table %s)",
                   name, (unsigned long long)g.fg_base_run, (unsigned long long)*after, name);
}

/* Streams the changes of the runs after --changes-since to tables[0..n). */
static int export_changes(const hubsync_config *c, store_txn *t, const hs_table *tables, int n,
                          jbuf *b, sink *k, err_info *e)
{
    uint64_t after = 0;
    store_labels catalogs[CONFIG_MAX_TABLES];
    memset(catalogs, 0, sizeof(catalogs));
    bool have[CONFIG_MAX_TABLES] = {false};
    store_change_iter *it = NULL;
    int rc = changes_after(c, t, tables, n, &after, e);
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = store_get_labels(t, tables[i], &catalogs[i], e);
        have[i] = rc == 0;
        rc = rc == ERR_NOT_FOUND ? 0 : rc;
    }
    if (rc == 0 && c->c_export_format == EXPORT_CSV) {
        jb_lit(b, "op,run,table,parent_id,child_id,type_id,category,label");
        csv_end(b);
    }
    if (rc == 0)
        rc = store_changes_open(t, after, &it, e);
    store_change ch;
    while (rc == 0 && (rc = store_changes_next(it, &ch, e)) == 0) {
        int i = 0;
        while (i < n && (tables[i].t_parent != ch.sc_table.t_parent ||
                         tables[i].t_child != ch.sc_table.t_child))
            i++;
        if (i == n)
            continue;
        char name[64], pre[64];
        hs_table_name(ch.sc_table, name, sizeof(name));
        const char *op = ch.sc_op == STORE_CHANGE_UPSERT ? "upsert" : "delete";
        unsigned long long run = (unsigned long long)ch.sc_run;
        if (c->c_export_format == EXPORT_JSONL)
            snprintf(pre, sizeof(pre), "\"op\":\"%s\",\"run\":%llu,", op, run);
        else
            snprintf(pre, sizeof(pre), "%s%c%llu%c", op,
                     c->c_export_format == EXPORT_CSV ? ',' : '\t', run,
                     c->c_export_format == EXPORT_CSV ? ',' : '\t');
        store_assoc a = {ch.sc_parent_id, ch.sc_child_id, ch.sc_types, ch.sc_ntypes};
        assoc_line(b, c->c_export_format, pre, name, &a, have[i] ? &catalogs[i] : NULL);
        if (b->jb_len >= FLUSH_BYTES)
            rc = sink_write(k, b, e);
    }
    store_changes_close(it);
    for (int i = 0; i < n; i++)
        store_labels_free(&catalogs[i]);
    return rc == ERR_NOT_FOUND && it ? 0 : rc;
}

/* ---- the command ------------------------------------------------------------ */

/* Everything the flags select, into the sink. */
static int export_all(const hubsync_config *c, store_txn *t, jbuf *b, sink *k, err_info *e)
{
    hs_table tables[CONFIG_MAX_TABLES];
    int ntables = 0, rc = 0;
    char name[64];
    if (c->c_export_table[0]) {
        /* Validated by config_parse; parsed again here. */
        rc = config_parse_table("--table", c->c_export_table, strlen(c->c_export_table),
                                &tables[ntables++], e);
    } else if (!c->c_export_objects_given) {
        for (int i = 0; i < c->c_ntables; i++)
            tables[ntables++] = c->c_tables[i];
    }
    /* Everything asked for was synced, before a line is written. */
    char hint[256];
    if (c->c_export_objects_given) {
        const char *plural = hs_object(c->c_export_objects)->oi_plural;
        snprintf(name, sizeof(name), "objects.%s", plural);
        snprintf(hint, sizeof(hint), "a run of a table of %s lists them", plural);
        rc = mirror_check_synced(t, name, hint, e);
    }
    for (int i = 0; rc == 0 && i < ntables; i++) {
        hs_table_name(tables[i], name, sizeof(name));
        snprintf(hint, sizeof(hint),
                 "`hubsync run --tables %s` syncs it (export takes the tables run does: "
                 "--tables, HUBSYNC_TABLES, or --table T)",
                 name);
        rc = mirror_check_synced(t, name, hint, e);
    }
    if (rc == 0 && c->c_changes_given) {
        rc = export_changes(c, t, tables, ntables, b, k, e);
        return rc ? rc : sink_write(k, b, e);
    }
    if (rc == 0 && c->c_export_format == EXPORT_CSV) {
        const char *header = c->c_export_objects_given
                                 ? "type,id,lastmodified_ms,archived"
                                 : "table,parent_id,child_id,type_id,category,label";
        jb_raw(b, header, strlen(header));
        csv_end(b);
    }
    if (rc == 0 && c->c_export_objects_given)
        rc = export_objects(c, t, b, k, e);
    for (int i = 0; rc == 0 && i < ntables; i++)
        rc = export_table(c, t, tables[i], b, k, e);
    return rc ? rc : sink_write(k, b, e);
}

int cmd_export(const hubsync_config *c)
{
    store_options so = {.so_readonly = true};
    store *s = NULL;
    store_txn *t = NULL;
    err_info e = {0};
    sink k = {.sk_file = {.af_fd = -1}, .sk_to_file = c->c_export_output[0] != '\0'};
    jbuf b;
    jb_init(&b);
    int rc = store_open(c->c_db_dir, &so, &s, &e);
    if (rc) {
        if (rc == ERR_NOT_FOUND)
            cmd_error(c,
                      "export: no hubsync database in %s (run `hubsync setup` first, or "
                      "check --db / HUBSYNC_DB)",
                      c->c_db_dir);
        else
            cmd_error(c, "export: %s", e.ei_msg);
        rc = cmd_exit_code(rc);
        goto out;
    }
    if ((rc = store_txn_begin(s, STORE_TXN_READ, &t, &e)) != 0)
        goto failed;
    if (!jb_reserve(&b, FLUSH_BYTES + 4096)) {
        rc = err_set(&e, ERR_NOMEM, "out of memory");
        goto failed;
    }
    /* The file: readable as a file the user made (umask applies). */
    if (k.sk_to_file && (rc = afile_open(&k.sk_file, c->c_export_output, 0644, &e)) != 0)
        goto failed;
    if ((rc = export_all(c, t, &b, &k, &e)) != 0)
        goto failed;
    if (k.sk_to_file ? (rc = afile_commit(&k.sk_file, &e)) != 0 : fflush(stdout) != 0) {
        if (!k.sk_to_file)
            rc = err_set(&e, ERR_SYS, "writing to stdout: %s", strerror(errno));
        goto failed;
    }
    rc = EXIT_OK;
    goto out;
failed:
    /* To stdout, lines already written stay written and the exit code says
     * the export is short; to a file, nothing of it is left. */
    if (!k.sk_to_file && sink_write(&k, &b, &(err_info){0}) == 0)
        fflush(stdout);
    afile_abort(&k.sk_file);
    cmd_error(c, "export: %s", e.ei_msg);
    rc = cmd_exit_code(rc);
    if (rc == EXIT_OK)
        rc = EXIT_INCOMPLETE;
out:
    store_txn_abort(t);
    store_close(s);
    jb_free(&b);
    return rc;
}
