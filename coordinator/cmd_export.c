/*
 * cmd_export — `hubsync export [--table T] [--format tsv|jsonl]`: the mirrored
 * associations in the canonical format (docs/CLI.md), what the tests compare with
 * the simulator's truth.
 *
 *   tsv    TABLE<TAB>PARENT_ID<TAB>CHILD_ID<TAB>TYPE_IDS   (IDs distinct,
 *          ascending, comma-joined; empty for a link stored with no types)
 *   jsonl  {"table":…,"parent_id":"…","child_id":"…",
 *           "types":[{"category":…,"typeId":N,"label":"…"|null},…]}
 *
 * Read-only and streaming: one LMDB read snapshot (consistent across tables,
 * no run lock, so it works beside a run), one iterator at a time, lines
 * written through a fixed-size buffer, so memory does not grow with the
 * table.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../common/base/jbuf.h"
#include "commands.h"

enum { FLUSH_BYTES = 1 << 16 };

static void tsv_line(jbuf *b, const char *table, const store_assoc *a)
{
    jb_printf(b, "%s\t", table);
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

static void jsonl_line(jbuf *b, const char *table, const store_assoc *a)
{
    jb_lit(b, "{\"table\":");
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
        if (ty->st_label)
            jb_strn(b, ty->st_label, ty->st_label_len);
        else
            jb_lit(b, "null");
        jb_char(b, '}');
    }
    jb_lit(b, "]}\n");
}

static int flush(jbuf *b)
{
    if (!jb_ok(b))
        return ERR_NOMEM;
    if (b->jb_len && fwrite(b->jb_data, 1, b->jb_len, stdout) != b->jb_len)
        return ERR_SYS;
    jb_reset(b);
    return 0;
}

/* Streams one table. Returns 0 or an ERR_* (message in e). */
static int export_table(const hubsync_config *c, store_txn *t, hs_table table, jbuf *b, err_info *e)
{
    char name[64];
    hs_table_name(table, name, sizeof(name));
    store_assoc_iter *it = NULL;
    int rc = store_assoc_iter_open(t, table, 0, &it, e);
    if (rc)
        return err_wrap(e, "%s: ", name);
    store_assoc a;
    while ((rc = store_assoc_iter_next(it, &a, e)) == 0) {
        if (c->c_export_format == EXPORT_JSONL)
            jsonl_line(b, name, &a);
        else
            tsv_line(b, name, &a);
        if (b->jb_len >= FLUSH_BYTES && (rc = flush(b)) != 0) {
            err_set(e, rc, "writing to stdout: %s",
                    rc == ERR_NOMEM ? "out of memory" : strerror(errno));
            break;
        }
    }
    store_assoc_iter_close(it);
    if (rc == ERR_NOT_FOUND)
        return 0; /* the end of the table */
    return err_wrap(e, "%s: ", name);
}

int cmd_export(const hubsync_config *c)
{
    store_options so = {.so_readonly = true};
    store *s = NULL;
    store_txn *t = NULL;
    err_info e = {0};
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
    if (c->c_export_table[0]) {
        hs_table table;
        /* Validated by config_parse; parsed again here. */
        if ((rc = config_parse_table("--table", c->c_export_table, strlen(c->c_export_table),
                                     &table, &e)) != 0 ||
            (rc = export_table(c, t, table, &b, &e)) != 0)
            goto failed;
    } else {
        for (int i = 0; i < c->c_ntables; i++)
            if ((rc = export_table(c, t, c->c_tables[i], &b, &e)) != 0)
                goto failed;
    }
    if ((rc = flush(&b)) != 0 || fflush(stdout) != 0) {
        err_set(&e, ERR_SYS, "writing to stdout: %s", strerror(errno));
        rc = ERR_SYS;
        goto failed;
    }
    rc = EXIT_OK;
    goto out;
failed:
    /* Lines already written stay written; the exit code says the export is short. */
    if (flush(&b) == 0)
        fflush(stdout);
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
