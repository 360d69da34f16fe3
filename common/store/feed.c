/*
 * feed — the change feed (see store.h): every association a run added,
 * removed or relabelled, written by the merge itself (store_feed_note from
 * replace_op) in the same batch as the change, so a commit holds both or
 * neither.
 *
 *   feed   big-endian u64 run ‖ big-endian u64 number within the run
 *          → msgpack [op (1 upsert, 2 delete), table (str), parent (uint),
 *            child (uint), types (an assoc.{table} value) | nil]
 *   runs   big-endian u64 run → msgpack [started_ms, finished_ms (0: not
 *          finished)]
 *   meta   "feed.latest" → the latest run's number; "feed.oldest" → the
 *          first run whose changes are kept; "feed.base.{table}" → the run
 *          that loaded the table from empty (its changes are not notes: a
 *          snapshot taken after it is where the feed starts)
 *
 * Keys grow within a run and runs grow, so every note is an append.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/mpread.h"
#include "store_impl.h"

enum { FEED_KEY_BYTES = 16, NOTE_STACK = 512 };

#define META_LATEST "feed.latest"
#define META_OLDEST "feed.oldest"
#define META_BASE   "feed.base."

/* ---- meta numbers ------------------------------------------------------------ */

/* A uint in meta (0 when absent). */
static int meta_get(store_txn *t, const char *key, uint64_t *v, err_info *e)
{
    *v = 0;
    if (!t->t_store->s_has_meta)
        return 0;
    MDB_val k = {strlen(key), (void *)key}, val;
    int rc = mdb_get(t->t_txn, t->t_store->s_meta, &k, &val);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return store_mdb_fail(e, rc, "read the feed's bounds");
    mp_cur r = mp_cur_of(val.mv_data, val.mv_size);
    int64_t n;
    if (mp_int(&r, 0, INT64_MAX, &n) != MP_OK || !mp_at_end(&r))
        return err_set(e, ERR_CORRUPT, "store: the meta record %s is damaged", key);
    *v = (uint64_t)n;
    return 0;
}

typedef struct put_arg {
    MDB_dbi pa_dbi;
    MDB_val pa_key, pa_val;
} put_arg;

static int put_op(store_txn *t, void *arg, err_info *e)
{
    put_arg *a = arg;
    int rc = mdb_put(t->t_txn, a->pa_dbi, &a->pa_key, &a->pa_val, 0);
    if (rc)
        return store_mdb_fail(e, rc, "write the feed's bounds");
    return store_log_op(t, LOG_PUT, a->pa_dbi, &a->pa_key, &a->pa_val, false, e);
}

static int meta_put(store_txn *t, const char *key, uint64_t v, err_info *e)
{
    uint8_t buf[9];
    put_arg a = {t->t_store->s_meta,
                 {strlen(key), (void *)key},
                 {(size_t)(store_pack_uint(buf, v) - buf), buf}};
    return store_run_write(t, put_op, &a, e);
}

static int run_put(store_txn *t, uint64_t run, int64_t started_ms, int64_t finished_ms, err_info *e)
{
    uint8_t key[8], val[20];
    put_be64(key, run);
    uint8_t *p = store_pack_int(store_pack_int(store_pack_array(val, 2), started_ms), finished_ms);
    put_arg a = {t->t_store->s_runs, {8, key}, {(size_t)(p - val), val}};
    return store_run_write(t, put_op, &a, e);
}

static int base_key(hs_table table, char *buf, size_t size, err_info *e)
{
    char name[64];
    MDB_val k;
    int rc = store_table_key(table, name, sizeof(name), &k, e);
    if (rc == 0)
        snprintf(buf, size, META_BASE "%s", name);
    return rc;
}

int store_feed_read_info(store_txn *t, store_feed_info *out, err_info *e)
{
    memset(out, 0, sizeof(*out));
    int rc = meta_get(t, META_LATEST, &out->fi_latest_run, e);
    if (rc == 0)
        rc = meta_get(t, META_OLDEST, &out->fi_oldest_run, e);
    if (rc == 0 && out->fi_oldest_run == 0)
        out->fi_oldest_run = 1;
    return rc;
}

int store_feed_table_base(store_txn *t, hs_table table, uint64_t *base, err_info *e)
{
    char key[96];
    int rc = base_key(table, key, sizeof(key), e);
    return rc ? rc : meta_get(t, key, base, e);
}

/* ---- recording a run ----------------------------------------------------------- */

int store_feed_begin(store_txn *t, int64_t started_ms, uint64_t *run, err_info *e)
{
    store *s = t->t_store;
    uint64_t latest = 0;
    int rc = store_check_write(t, e);
    if (rc == 0)
        rc = meta_get(t, META_LATEST, &latest, e);
    if (rc == 0 && started_ms < 0)
        rc = err_set(e, ERR_INVALID, "store: a run cannot start before 1970");
    if (rc == 0)
        rc = meta_put(t, META_LATEST, latest + 1, e);
    if (rc == 0)
        rc = run_put(t, latest + 1, started_ms, 0, e);
    if (rc)
        return rc;
    s->s_feed_run = *run = latest + 1;
    s->s_feed_seq = 0;
    memset(s->s_feed_skip, 0, sizeof(s->s_feed_skip));
    return 0;
}

int store_feed_skip_table(store_txn *t, hs_table table, err_info *e)
{
    store *s = t->t_store;
    char key[96];
    int rc = store_check_write(t, e);
    if (rc == 0 && s->s_feed_run == 0)
        rc = err_set(e, ERR_INVALID, "store: no run is recording changes");
    if (rc == 0)
        rc = base_key(table, key, sizeof(key), e);
    if (rc == 0)
        rc = meta_put(t, key, s->s_feed_run, e);
    if (rc == 0)
        s->s_feed_skip[table.t_parent][table.t_child] = true;
    return rc;
}

typedef struct note_arg {
    MDB_val na_key, na_val;
} note_arg;

static int note_op(store_txn *t, void *arg, err_info *e)
{
    note_arg *a = arg;
    int rc = mdb_put(t->t_txn, t->t_store->s_feed, &a->na_key, &a->na_val, MDB_APPEND);
    if (rc)
        return store_mdb_fail(e, rc, "note a change");
    return store_log_op(t, LOG_PUT, t->t_store->s_feed, &a->na_key, &a->na_val, true, e);
}

int store_feed_note(store_txn *t, hs_table table, uint64_t parent, uint64_t child,
                    const MDB_val *value, err_info *e)
{
    store *s = t->t_store;
    if (s->s_feed_run == 0 || s->s_feed_skip[table.t_parent][table.t_child])
        return 0;
    char name[64];
    MDB_val k;
    int rc = store_table_key(table, name, sizeof(name), &k, e);
    if (rc)
        return rc;
    size_t need = 1 + 1 + 1 + k.mv_size + 9 + 9 + (value ? value->mv_size : 1);
    uint8_t stack[NOTE_STACK], *buf = need <= sizeof(stack) ? stack : malloc(need);
    if (!buf)
        return err_set(e, ERR_NOMEM, "store: out of memory noting a change");
    uint8_t *p = store_pack_array(buf, 5);
    *p++ = value ? STORE_CHANGE_UPSERT : STORE_CHANGE_DELETE; /* positive fixints */
    p = store_pack_str(p, name, (uint32_t)k.mv_size);
    p = store_pack_uint(store_pack_uint(p, parent), child);
    if (value) {
        memcpy(p, value->mv_data, value->mv_size);
        p += value->mv_size;
    } else {
        *p++ = 0xc0;
    }
    uint8_t key[FEED_KEY_BYTES];
    put_be64(key, s->s_feed_run);
    put_be64(key + 8, ++s->s_feed_seq);
    note_arg a = {{sizeof(key), key}, {(size_t)(p - buf), buf}};
    /* Inside the merge's own write operation (replace_op): a map that fills
     * here is grown and the whole merge run again, this note with it. */
    rc = note_op(t, &a, e);
    if (buf != stack)
        free(buf);
    return rc;
}

/* Deletes the notes and run records of runs before `cutoff`. */
typedef struct prune_arg {
    uint64_t pr_cutoff;
} prune_arg;

static int prune_db(store_txn *t, MDB_dbi dbi, uint64_t cutoff, err_info *e)
{
    MDB_cursor *c = NULL;
    int rc = store_txn_cursor(t, dbi, &c, e);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_GET_CURRENT)) {
        if (k.mv_size < 8 || get_be64(k.mv_data) >= cutoff)
            return 0;
        uint8_t key[FEED_KEY_BYTES];
        MDB_val dk = {k.mv_size, key};
        memcpy(key, k.mv_data, k.mv_size < sizeof(key) ? k.mv_size : sizeof(key));
        if ((rc = mdb_cursor_del(c, 0)) != 0)
            return store_mdb_fail(e, rc, "drop an old change");
        if ((rc = store_log_op(t, LOG_DEL, dbi, &dk, NULL, false, e)) != 0)
            return rc;
    }
    return rc == MDB_NOTFOUND || rc == EINVAL ? 0 : store_mdb_fail(e, rc, "drop old changes");
}

static int prune_op(store_txn *t, void *arg, err_info *e)
{
    prune_arg *a = arg;
    int rc = prune_db(t, t->t_store->s_feed, a->pr_cutoff, e);
    return rc ? rc : prune_db(t, t->t_store->s_runs, a->pr_cutoff, e);
}

/* Walks the run records in order: fn(run, started_ms, ended_ms, arg) for
 * each, where a run that never finished (killed) ended when the next one
 * started (runs hold the run lock, one at a time), and the latest one, not
 * finished, has ended_ms INT64_MAX. fn returns true to stop. */
typedef bool (*run_fn)(uint64_t run, int64_t started_ms, int64_t ended_ms, void *arg);

static int walk_runs(MDB_cursor *c, run_fn fn, void *arg, err_info *e)
{
    MDB_val k, v;
    uint64_t prev = 0;
    int64_t prev_started = 0, prev_finished = 0;
    int rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        mp_cur r = mp_cur_of(v.mv_data, v.mv_size);
        uint32_t two;
        int64_t started, finished;
        if (k.mv_size != 8 || mp_array(&r, 1, &two) != MP_OK || two != 2 ||
            mp_int(&r, 0, INT64_MAX, &started) != MP_OK ||
            mp_int(&r, 0, INT64_MAX, &finished) != MP_OK)
            return err_set(e, ERR_CORRUPT, "store: a run record of the change feed is damaged");
        if (prev && fn(prev, prev_started, prev_finished ? prev_finished : started, arg))
            return 0;
        prev = get_be64(k.mv_data);
        prev_started = started;
        prev_finished = finished;
    }
    if (rc != MDB_NOTFOUND)
        return store_mdb_fail(e, rc, "read the feed's runs");
    if (prev)
        fn(prev, prev_started, prev_finished ? prev_finished : INT64_MAX, arg);
    return 0;
}

typedef struct since_arg {
    int64_t sa_at_ms;
    uint64_t sa_run;
} since_arg;

/* The first run still going at sa_at_ms (ended after it). */
static bool first_after(uint64_t run, int64_t started_ms, int64_t ended_ms, void *arg)
{
    (void)started_ms;
    since_arg *a = arg;
    if (ended_ms >= a->sa_at_ms) {
        a->sa_run = run;
        return true;
    }
    return false;
}

/* The first run to keep: the last keep_runs runs, or those that ended
 * within keep_ms of now_ms (the run ending now always). */
static int first_kept(store_txn *t, uint64_t run, uint64_t keep_runs, int64_t keep_ms,
                      int64_t now_ms, uint64_t *first, err_info *e)
{
    *first = run;
    if (keep_runs) {
        *first = run >= keep_runs ? run - keep_runs + 1 : 1;
        return 0;
    }
    MDB_cursor *c = NULL;
    int rc = store_txn_cursor(t, t->t_store->s_runs, &c, e);
    since_arg a = {now_ms - keep_ms, run};
    if (rc == 0)
        rc = walk_runs(c, first_after, &a, e);
    *first = a.sa_run;
    return rc;
}

int store_feed_end(store_txn *t, int64_t started_ms, int64_t finished_ms, uint64_t keep_runs,
                   int64_t keep_ms, err_info *e)
{
    store *s = t->t_store;
    uint64_t run = s->s_feed_run, oldest = 0, first = 0;
    int rc = store_check_write(t, e);
    if (rc == 0 && run == 0)
        rc = err_set(e, ERR_INVALID, "store: no run is recording changes");
    if (rc == 0)
        rc = run_put(t, run, started_ms, finished_ms, e);
    if (rc == 0)
        rc = meta_get(t, META_OLDEST, &oldest, e);
    if (rc == 0)
        rc = first_kept(t, run, keep_runs, keep_ms, finished_ms, &first, e);
    if (rc == 0 && first > (oldest ? oldest : 1)) {
        prune_arg a = {first};
        rc = store_run_write(t, prune_op, &a, e);
        if (rc == 0)
            rc = meta_put(t, META_OLDEST, first, e);
    }
    if (rc == 0)
        s->s_feed_run = 0;
    return rc;
}

int store_feed_run_before(store_txn *t, int64_t at_ms, uint64_t *run, err_info *e)
{
    *run = 0;
    if (!t->t_store->s_has_feed)
        return 0;
    MDB_cursor *c = NULL;
    int rc = mdb_cursor_open(t->t_txn, t->t_store->s_runs, &c);
    if (rc)
        return store_mdb_fail(e, rc, "read the feed's runs");
    since_arg a = {at_ms, 0};
    rc = walk_runs(c, first_after, &a, e);
    mdb_cursor_close(c);
    if (rc)
        return rc;
    /* Every run before the first still going at at_ms ended by then. */
    uint64_t latest = 0;
    if (a.sa_run == 0 && (rc = meta_get(t, META_LATEST, &latest, e)) != 0)
        return rc;
    *run = a.sa_run ? a.sa_run - 1 : latest;
    return 0;
}

/* ---- reading ------------------------------------------------------------------ */

struct store_change_iter {
    store_txn *ci_txn;
    MDB_cursor *ci_cursor;
    uint64_t ci_after;
    bool ci_started;
    store_type *ci_types;
    size_t ci_cap;
};

int store_changes_open(store_txn *t, uint64_t after_run, store_change_iter **out, err_info *e)
{
    *out = NULL;
    store_change_iter *it = calloc(1, sizeof(*it));
    if (!it)
        return err_set(e, ERR_NOMEM, "store: out of memory");
    it->ci_txn = t;
    it->ci_after = after_run;
    if (t->t_store->s_has_feed) {
        int rc = mdb_cursor_open(t->t_txn, t->t_store->s_feed, &it->ci_cursor);
        if (rc) {
            free(it);
            return store_mdb_fail(e, rc, "read the change feed");
        }
    }
    *out = it;
    return 0;
}

/* Decodes one note into c. */
static int decode_note(store_change_iter *it, const MDB_val *k, const MDB_val *v, store_change *c)
{
    mp_cur r = mp_cur_of(v->mv_data, v->mv_size);
    uint32_t five, name_len;
    int64_t op;
    const char *name;
    if (k->mv_size != FEED_KEY_BYTES || mp_array(&r, 1, &five) != MP_OK || five != 5 ||
        mp_int(&r, STORE_CHANGE_UPSERT, STORE_CHANGE_DELETE, &op) != MP_OK ||
        mp_str(&r, 64, &name, &name_len) != MP_OK ||
        hs_table_parse(name, name_len, &c->sc_table) != 0 ||
        mp_uint(&r, UINT64_MAX, &c->sc_parent_id) != MP_OK ||
        mp_uint(&r, UINT64_MAX, &c->sc_child_id) != MP_OK)
        return ERR_CORRUPT;
    c->sc_run = get_be64(k->mv_data);
    c->sc_op = (store_change_op)op;
    c->sc_types = NULL;
    c->sc_ntypes = 0;
    if (op == STORE_CHANGE_DELETE)
        return mp_nil(&r) == MP_OK && mp_at_end(&r) ? 0 : ERR_CORRUPT;
    int rc =
        store_decode_types(r.p, (size_t)(r.end - r.p), &it->ci_types, &it->ci_cap, &c->sc_ntypes);
    c->sc_types = it->ci_types;
    return rc;
}

int store_changes_next(store_change_iter *it, store_change *c, err_info *e)
{
    if (!it->ci_cursor)
        return ERR_NOT_FOUND;
    MDB_val k, v;
    int rc;
    if (!it->ci_started) {
        uint8_t key[FEED_KEY_BYTES];
        put_be64(key, it->ci_after + 1);
        put_be64(key + 8, 0);
        k = (MDB_val){sizeof(key), key};
        rc = mdb_cursor_get(it->ci_cursor, &k, &v, MDB_SET_RANGE);
        it->ci_started = true;
    } else {
        rc = mdb_cursor_get(it->ci_cursor, &k, &v, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND)
        return ERR_NOT_FOUND;
    if (rc)
        return store_mdb_fail(e, rc, "read the change feed");
    rc = decode_note(it, &k, &v, c);
    if (rc == ERR_NOMEM)
        return err_set(e, rc, "store: out of memory");
    if (rc)
        return err_set(e, ERR_CORRUPT,
                       "store: a change of the feed does not decode (run %llu): the feed is "
                       "damaged; take a snapshot (hubsync export) instead",
                       k.mv_size >= 8 ? (unsigned long long)get_be64(k.mv_data) : 0ULL);
    return 0;
}

void store_changes_close(store_change_iter *it)
{
    if (!it)
        return;
    if (it->ci_cursor)
        mdb_cursor_close(it->ci_cursor);
    free(it->ci_types);
    free(it);
}
