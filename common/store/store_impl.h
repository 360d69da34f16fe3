/*
 * store_impl — what the store's own files (store.c, feed.c) share and no
 * one else may use: the store's and a batch's structs, and the write
 * machinery every change goes through (a write operation run under
 * store_run_write, each physical write logged by store_log_op for replay
 * after the map grows). The public API is store.h.
 */
#ifndef HUBSYNC_STORE_IMPL_H
#define HUBSYNC_STORE_IMPL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>

#include "../base/jbuf.h"
#include "store.h"

enum {
    STORE_MAX_DBS = 128,                 /* named databases: 11 types + ≤ 55 tables + 3 */
    STORE_DBI_SLOTS = STORE_MAX_DBS + 2, /* LMDB's DBI numbers start after FREE and MAIN */
    ASSOC_KEY_BYTES = 16,
    OBJECT_KEY_BYTES = 8,
    MP_MAX_DEPTH = 16,
};

enum { LOG_PUT = 1, LOG_DEL = 2 };

struct store_txn {
    store *t_store;
    MDB_txn *t_txn;
    bool t_write;
    bool t_dead;    /* a write failed: only abort remains */
    jbuf t_log;     /* write batch: the operations applied, for replay */
    size_t t_nops;  /* operations in t_log */
    uint8_t *t_val; /* scratch for encoding one value */
    size_t t_val_cap;
    MDB_cursor *t_cursor[STORE_DBI_SLOTS]; /* write batch: one cursor per database */
    store_assoc_iter *t_iters;             /* open iterators, invalidated at txn end */
};

struct store_assoc_iter {
    store_txn *it_txn; /* NULL once the transaction ended */
    MDB_cursor *it_cursor;
    uint64_t it_from_parent;
    bool it_started;
    bool it_done;
    store_type *it_types;
    size_t it_types_cap;
    store_assoc_iter *it_next;
};

struct store {
    MDB_env *s_env;
    char s_dir[PATH_MAX];
    bool s_readonly;
    bool s_being_born; /* a new database, under its birth marker (begin_birth) */
    int s_lock_fd;
    size_t s_map_max_bytes;
    unsigned s_map_grows;
    unsigned s_map_grows_at_commit;
    int s_stale_readers;
    unsigned s_readers; /* read transactions open (growth needs none) */
    bool s_wtxn_open;
    store_txn s_wtxn;    /* the write batch, reused so its log keeps its memory */
    bool s_writer_noted; /* meta written_by put by a commit of this open */
    bool s_has_meta;     /* false only for a read-only open of an empty environment */
    MDB_dbi s_meta, s_schema, s_state, s_labels;
    bool s_has_labels;      /* false in a read-only open of a database from before labels */
    MDB_dbi s_feed, s_runs; /* the change feed (feed.c) */
    bool s_has_feed;        /* false in a read-only open of a database from before it */
    uint64_t s_feed_run;    /* the run whose changes are being recorded (0: none) */
    uint64_t s_feed_seq;    /* the number of its latest change */
    bool s_feed_skip[HS_OBJECT_TYPE_COUNT][HS_OBJECT_TYPE_COUNT]; /* loaded from empty: no notes */
    MDB_dbi s_objects[HS_OBJECT_TYPE_COUNT];
    bool s_has_objects[HS_OBJECT_TYPE_COUNT];
    MDB_dbi s_assoc[HS_OBJECT_TYPE_COUNT][HS_OBJECT_TYPE_COUNT];
    bool s_has_assoc[HS_OBJECT_TYPE_COUNT][HS_OBJECT_TYPE_COUNT];
};

static inline void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static inline uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* The error for LMDB's rc while doing `what` (ERR_MAP_FULL, ERR_CORRUPT,
 * ERR_STORE, …), with the message in e. */
int store_mdb_fail(err_info *e, int rc, const char *what);

/* ERR_INVALID unless t is a live write batch. */
int store_check_write(store_txn *t, err_info *e);

/* One write operation: on MDB_MAP_FULL the batch is rolled back to where it
 * began, the map grown, the log replayed and fn run again; any other
 * failure kills the batch. */
typedef int (*store_write_fn)(store_txn *t, void *arg, err_info *e);
int store_run_write(store_txn *t, store_write_fn fn, void *arg, err_info *e);

/* Appends one physical write (LOG_PUT with v, LOG_DEL) to the batch's log. */
int store_log_op(store_txn *t, int op, MDB_dbi dbi, const MDB_val *k, const MDB_val *v, bool append,
                 err_info *e);

/* The batch's cursor on dbi, opened on first use. */
int store_txn_cursor(store_txn *t, MDB_dbi dbi, MDB_cursor **c, err_info *e);

/* Opens a named database (created in a writable store); *present false
 * when a read-only open finds none. */
int store_open_dbi(store *s, MDB_txn *txn, const char *name, MDB_dbi *dbi, bool *present,
                   err_info *e);

/* The canonical msgpack encodings (smallest form), returning the end. */
uint8_t *store_pack_uint(uint8_t *p, uint64_t u);
uint8_t *store_pack_int(uint8_t *p, int64_t d);
uint8_t *store_pack_array(uint8_t *p, uint32_t n);
uint8_t *store_pack_str(uint8_t *p, const char *s, uint32_t n);

/* Encodes link l's type list (an assoc.{table} value) into t->t_val; *len
 * its size. */
int store_encode_types(store_txn *t, const assoc_buf *b, const assoc_link *l, size_t *len,
                       err_info *e);

/* A stored type list (an assoc.{table} value) decoded into *types. */
int store_decode_types(const void *data, size_t len, store_type **types, size_t *cap,
                       size_t *count);

/* Records a change of the association parent → child of `table` in the
 * run's feed (feed.c): `value` its new type list (an added or relabelled
 * link), NULL when removed. Does nothing while no run records. */
int store_feed_note(store_txn *t, hs_table table, uint64_t parent, uint64_t child,
                    const MDB_val *value, err_info *e);

/* The assoc.{table} database (*present false when a read-only open found
 * none). */
int store_table_dbi(store *s, hs_table tb, MDB_dbi *dbi, bool *present, err_info *e);

/* A canonical table: the key of its records (the name into buf). */
bool store_table_ok(hs_table tb);
int store_table_key(hs_table table, char *buf, size_t size, MDB_val *k, err_info *e);

#endif
