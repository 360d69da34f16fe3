/*
 * store — the LMDB mirror: objects, associations, table schemas and cursors.
 *
 * The coordinator merges what the workers fetched into one LMDB environment
 * through this module, and the read-only commands (status, export, doctor)
 * read it. Everything a run must not lose lives here; shared memory is only
 * advisory (docs/ARCHITECTURE.md).
 *
 * ON-DISK LAYOUT (format version STORE_FORMAT_VERSION)
 *
 * The database is a directory (created 0700 when missing, parents too)
 * holding three files, all created 0600:
 *
 *   data.mdb        the LMDB data file (LMDB's default layout, no MDB_NOSUBDIR:
 *                   `--db DIR` names a directory and lmdb-utils work on it
 *                   as is: `mdb_stat -a DIR`, `mdb_dump -s state DIR`)
 *   lock.mdb        LMDB's reader table
 *   hubsync.lock    the run lock (below); holds the holder's pid as text
 *
 * Named databases (keys compare bytewise, so big-endian integers sort in
 * numeric order and one parent's links are one contiguous key range):
 *
 *   meta                "format" → msgpack uint, STORE_FORMAT_VERSION;
 *                       "written_by" → msgpack str, the version of the
 *                       hubsync that last opened it for writing
 *   objects.{type}      big-endian u64 object ID (8 bytes)
 *                       → msgpack [lastmodified_ms (int), archived (bool)]
 *   assoc.{table}       big-endian u64 parent ID ‖ big-endian u64 child ID (16)
 *                       → msgpack [[type_id (int), category (uint, the
 *                         assoc_category value), label (str) | nil], …]
 *                       in the canonical order of assoc.h (type ID, then
 *                       category); an association with no types is [].
 *   feed, runs          the change feed and its runs (feed.c; store_feed_*)
 *   labels              table name → msgpack [read_ms (int), types]: the
 *                       association types HubSpot defines for the pair,
 *                       parent → child (GET …/labels), as setup or a run
 *                       last read them, at read_ms (epoch ms); types encoded
 *                       as an assoc.{table} value. A database from before
 *                       labels lacks it until first opened for writing.
 *   schema              table name ("companies_contacts") → msgpack map, the
 *                       table schema record (store_schema)
 *   state               state name → msgpack map, the cursor record and the
 *                       run figures (store_state). By convention the name is
 *                       the canonical table name for an association table and
 *                       "objects.{type}" for an object type's sync.
 *                       Its keys: "v", "cursor_kind", "cursor",
 *                       "scan_started_ms", "scan_origin_ms",
 *                       "verify_next_id", "verify_cycles",
 *                       "verify_cycle_ended_ms", "runs", "last_run" (a map
 *                       of the run figures) and "done": the parent-ID ranges of a
 *                       full scan merged above the cursor, as one flat array
 *                       of uints [first0, last0, first1, last1, …] (each
 *                       range inclusive; ascending and disjoint; at most
 *                       STORE_DONE_RANGES_MAX ranges). "done" is optional: a
 *                       record without it (written before it existed) reads
 *                       as no ranges, so it needed no new format or record
 *                       version; it is always written, [] when empty.
 *
 * `{type}` is an object type's plural name ("contacts"), `{table}` a
 * canonical table name (hs_types.h). Every objects.* and assoc.* database of
 * every known type and table is created when a database is first opened for
 * writing, so handles never have to be opened inside a write batch.
 *
 * Association values are written in one canonical msgpack encoding (the
 * smallest integer form, as msgpack-c's packer chooses; fixstr/str8/str16
 * labels), so "did this link's types change" is a byte comparison. The
 * records of the schema and state databases are msgpack maps with a "v"
 * (record version) key; a record of an unknown version, an unknown cursor
 * kind or any type mismatch decodes to ERR_CORRUPT, never to a guess. Keys a
 * reader does not know are skipped, so a record may grow fields within a
 * version (as the state record's "done" did): an older build reading a newer
 * record ignores the new field, and a field a record lacks reads as its
 * documented default.
 *
 * MULTI-PROCESS RULES
 *
 *  1. One writer per database. store_open() for writing takes the run lock:
 *     an OFD write lock (fcntl F_OFD_SETLK) on DIR/hubsync.lock. A second
 *     writer, in any process or the same one, fails at once with ERR_LOCKED
 *     and a message naming the holder's pid. The kernel drops the lock when
 *     the last descriptor of the holder's open file description closes, so a
 *     killed run (SIGKILL included) never blocks the next one. LMDB's own
 *     lock only serialises write transactions; it would let two runs
 *     interleave batches, which the cursors' meaning does not survive.
 *  2. Never fork() while a store is open and never use a store, a
 *     transaction or an iterator in a child of the process that opened it
 *     (LMDB forbids using an environment across fork(), and a child would
 *     also hold the run lock's descriptor, keeping the database locked for
 *     as long as it lives). The coordinator forks its workers first and
 *     opens the store afterwards; workers never open it.
 *  3. Readers (store_options.so_readonly) take no run lock and may run in
 *     any number of processes beside the writer: each read transaction sees
 *     the last committed state as of its start (LMDB MVCC).
 *  4. Within a process: open a database once (one store, read-only or
 *     not). LMDB's locks are POSIX fcntl locks, which a process holds once
 *     per file: closing a second environment on the same files drops the
 *     first one's locks and its reader slots stop protecting it. Use a store
 *     and its transactions from one thread at a time (the coordinator's
 *     loop is single-threaded); one write batch at a time per store.
 *  5. The map grows (doubling) when a write batch finds it full; LMDB allows
 *     that only while this process has no other transaction open. Close
 *     read transactions before writing in the writer process, or a growth
 *     fails with ERR_MAP_FULL.
 *
 * WRITE BATCHES AND MAP GROWTH
 *
 * A write batch is one LMDB write transaction: store_txn_begin(STORE_TXN_WRITE),
 * any number of writes, store_txn_commit(). Cursors (store_put_state) are
 * written in the same batch as the data they cover, so a crash at any point
 * leaves the data and cursors of the last commit and nothing of the batch
 * after it.
 *
 * The batch records every physical operation it applied (key, value, flags)
 * in an operation log. When a write or the commit hits MDB_MAP_FULL, the
 * store aborts the LMDB transaction, doubles the map (up to
 * so_map_max_bytes), begins a new transaction and replays the log, then
 * carries on; the caller sees nothing but a larger map. Replay is exact
 * because the store is the only writer: the new transaction starts from the
 * same committed state the first one did. The log costs about 40 bytes per
 * changed association; commit batches by size (store_txn_pending()) to
 * bound it. The log is kept in the store's memory, so callers need not keep
 * their inputs until commit.
 *
 * After a write fails for any other reason than ERR_INVALID (an argument
 * rejected before anything was written) the batch is dead: every later
 * write fails and store_txn_commit() aborts it and fails, as in LMDB.
 *
 * ERRORS (err.h; every function fills `e`, which may be NULL, with a message)
 *
 *   ERR_INVALID    a bad argument or a call out of order
 *   ERR_CORRUPT    a damaged file, a foreign LMDB database, a format version
 *                  this build does not read, or a record that does not decode
 *   ERR_LOCKED     another run holds the database (the message names its pid)
 *   ERR_MAP_FULL   the map could not grow (limit reached, read txns open)
 *   ERR_NOT_FOUND  the key or database asked for does not exist
 *   ERR_STORE      another LMDB failure (the message carries mdb_strerror)
 *   ERR_SYS        a system call failed (named, with errno)
 *   ERR_NOMEM      an allocation failed
 *   ERR_TOO_BIG    a batch too large for one LMDB transaction
 */
#ifndef HUBSYNC_STORE_H
#define HUBSYNC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assoc.h"
#include "../base/err.h"
#include "../base/hs_types.h"

/* The on-disk format this build reads and writes (the "meta" database). */
enum { STORE_FORMAT_VERSION = 1 };

/* Record versions of the schema and state records. */
enum { STORE_SCHEMA_RECORD_VERSION = 1, STORE_STATE_RECORD_VERSION = 1 };

#define STORE_DEFAULT_MAP_BYTES     ((size_t)64 << 20) /* 64 MiB */
#define STORE_DEFAULT_MAP_MAX_BYTES ((size_t)1 << 40)  /* 1 TiB of address space */
#define STORE_MIN_MAP_BYTES         ((size_t)256 << 10)

/* Longest state name and rollup_fields_object_id, including the NUL. */
enum { STORE_NAME_MAX = 64 };

typedef struct store store;
typedef struct store_txn store_txn;
typedef struct store_assoc_iter store_assoc_iter;

/* ---- opening ------------------------------------------------------------ */

/* Zero-initialise, then set what differs from the defaults. */
typedef struct store_options {
    bool so_readonly;        /* read only: no run lock, no creation, no writes */
    bool so_no_sync;         /* MDB_NOSYNC: commits survive a killed process but
                                not a power cut (benchmarks, tests) */
    size_t so_map_bytes;     /* initial map size; 0: STORE_DEFAULT_MAP_BYTES.
                                An existing database keeps its larger size. */
    size_t so_map_max_bytes; /* growth stops here; 0: STORE_DEFAULT_MAP_MAX_BYTES */
} store_options;

/* Opens (and for writing, creates) the database in directory `dir`.
 *
 * For writing: creates `dir` (0700, with missing parents) and the files
 * (0600, under umask 077 while creating), takes the run lock, opens LMDB
 * with `mdb_reader_check` to clear reader slots of dead processes, checks
 * the format version and creates every named database that is missing (a
 * new database gets its "meta" record). Nothing is written when a check
 * fails.
 * For reading (so_readonly): opens an existing database; databases of types
 * or tables never written read as empty.
 *
 * Parameters:
 *   dir   the database directory (at most PATH_MAX - 16 bytes)
 *   opt   options, or NULL for the defaults
 *   out   receives the store, to be released with store_close()
 *   e     receives the error message; may be NULL
 * Errors:
 *   ERR_LOCKED     another process (or another store in this one) holds the
 *                  run lock; the message names the holder's pid
 *   ERR_CORRUPT    data.mdb is not an LMDB file or is damaged, holds a
 *                  database that is not hubsync's, or has another format
 *                  version (the message says which and what to do)
 *   ERR_NOT_FOUND  so_readonly and there is no database in `dir`
 *   ERR_INVALID    a bad option or path (so_map_max_bytes below so_map_bytes)
 *   ERR_SYS, ERR_STORE, ERR_NOMEM
 */
int store_open(const char *dir, const store_options *opt, store **out, err_info *e);

/* Closes the store: aborts a write batch still open, closes LMDB, releases
 * the run lock. Every read transaction must have ended. NULL is a no-op. */
void store_close(store *s);

typedef struct store_info {
    size_t si_map_bytes; /* current map size */
    size_t si_map_max_bytes;
    unsigned si_map_grows;           /* times a write batch grew the map since open */
    unsigned si_map_grows_at_commit; /* of which the commit ran out of room */
    int si_stale_readers;            /* reader slots mdb_reader_check cleared at open */
    bool si_readonly;
} store_info;

/* Fills *out with figures about the open store. */
void store_get_info(const store *s, store_info *out);

/* The version of the hubsync that last opened the database for writing
 * (meta "written_by"; "" when none recorded), into buf. Errors:
 * ERR_CORRUPT, ERR_STORE. */
int store_written_by(store_txn *t, char *buf, size_t size, err_info *e);

/* ---- transactions -------------------------------------------------------- */

enum { STORE_TXN_READ = 0, STORE_TXN_WRITE = 1 };

/* Begins a transaction: STORE_TXN_READ (a snapshot of the last commit; any
 * number at once) or STORE_TXN_WRITE (a write batch; one at a time per
 * store, not on a read-only store).
 * Errors: ERR_INVALID (a write batch already open, read-only store),
 * ERR_STORE (e.g. MDB_READERS_FULL), ERR_NOMEM. */
int store_txn_begin(store *s, int mode, store_txn **out, err_info *e);

/* Commits a write batch, growing the map and replaying if the commit finds
 * it full; ends a read transaction. The transaction is released in every
 * case, and the iterators still open on it are invalidated (close them).
 * Errors: ERR_INVALID (the batch died earlier; it is aborted), ERR_MAP_FULL,
 * ERR_STORE, ERR_SYS (fsync) — after which nothing of the batch is
 * committed. */
int store_txn_commit(store_txn *t, err_info *e);

/* Abandons the transaction and releases it; nothing of a write batch is
 * written. NULL is a no-op. */
void store_txn_abort(store_txn *t);

/* Operations recorded by a write batch so far, and the bytes they hold in
 * the replay log: what a caller that commits by size looks at. 0 for reads. */
size_t store_txn_pending(const store_txn *t, size_t *log_bytes);

/* ---- associations -------------------------------------------------------- */

/* What a replacement changed, added to by each call (zero it first). */
typedef struct store_set_delta {
    uint64_t sd_added;      /* children new to the parent */
    uint64_t sd_removed;    /* children no longer linked */
    uint64_t sd_relabelled; /* same child, a different type list */
    uint64_t sd_unchanged;  /* same child, same type list */
} store_set_delta;

/* Replaces parent `parent_index` of `b`'s stored association set in table
 * `table` by its set in `b`, in one pass over the parent's key range (a
 * merge of the stored and the new sorted lists): writes the links that are
 * new or whose type list changed, deletes the links no longer present, and
 * leaves the rest untouched. A parent with no links deletes every link it
 * had. Adds the counts to *delta (NULL: not counted).
 *
 * The parent must be in canonical form (assoc_buf_finish_parent) and
 * complete: a parent whose paging cursor is still set (ap_has_more) is
 * refused, since replacing with a partial set would delete links.
 * Errors: ERR_INVALID (not a write batch, bad table or index, links not in
 * canonical order, a partial set, an unknown category), ERR_CORRUPT (a
 * stored key of the wrong size), ERR_MAP_FULL (could not grow), ERR_STORE,
 * ERR_NOMEM. */
int store_replace_set(store_txn *t, hs_table table, const assoc_buf *b, size_t parent_index,
                      store_set_delta *delta, err_info *e);

/* Deletes every link of `parent_id` in `table` (an archived or deleted
 * parent); adds the count to delta->sd_removed. Errors as store_replace_set. */
int store_delete_parent(store_txn *t, hs_table table, uint64_t parent_id, store_set_delta *delta,
                        err_info *e);

/* Appends `parent_id`'s stored set in `table` to `out` as one finished parent
 * (possibly with no links). Errors: ERR_CORRUPT (a record does not decode),
 * ERR_NOMEM, ERR_INVALID, ERR_STORE. */
int store_get_set(store_txn *t, hs_table table, uint64_t parent_id, assoc_buf *out, err_info *e);

/* Number of associations stored in `table`. */
int store_count_assoc(store_txn *t, hs_table table, uint64_t *count, err_info *e);

/* One association type as stored. */
typedef struct store_type {
    int32_t st_type_id;
    assoc_category st_category;
    const char *st_label; /* NULL for a null label; else st_label_len bytes, not NUL-terminated */
    uint32_t st_label_len;
} store_type;

/* One association as an iterator returns it. The pointers stay valid until
 * the next call on the iterator, and labels until the transaction ends or
 * (in a write batch) the next write. */
typedef struct store_assoc {
    uint64_t sa_parent_id;
    uint64_t sa_child_id;
    const store_type *sa_types;
    size_t sa_ntypes;
} store_assoc;

/* Opens an iterator over `table`'s associations in key order (parent ID,
 * then child ID), starting at parent `from_parent_id` (0: all): what export
 * walks. Close it before the transaction ends, or store_assoc_iter_close()
 * after it (the cursor is already gone then; the close only frees). In a
 * write batch, a write that grows the map invalidates it (next returns
 * ERR_INVALID). Errors: ERR_INVALID, ERR_NOMEM, ERR_STORE. */
int store_assoc_iter_open(store_txn *t, hs_table table, uint64_t from_parent_id,
                          store_assoc_iter **out, err_info *e);

/* Moves to the next association and fills *row. Returns 0, ERR_NOT_FOUND at
 * the end, ERR_CORRUPT for a record that does not decode, ERR_INVALID for an
 * invalidated iterator, ERR_STORE. */
int store_assoc_iter_next(store_assoc_iter *it, store_assoc *row, err_info *e);

/* Releases the iterator. NULL is a no-op. */
void store_assoc_iter_close(store_assoc_iter *it);

/* ---- association labels ----------------------------------------------------- */

/* Writes table's label catalog, read from HubSpot at read_ms (epoch ms):
 * the types of the one link of the one parent of `catalog` (in canonical
 * form: assoc_buf_finish_parent). *changed says whether the types differ
 * from what was stored. Errors: ERR_INVALID (not one parent with one link,
 * a negative time), ERR_MAP_FULL, ERR_STORE, ERR_NOMEM. */
int store_put_labels(store_txn *t, hs_table table, const assoc_buf *catalog, int64_t read_ms,
                     bool *changed, err_info *e);

/* A table's label catalog as read back: types in canonical order, labels
 * pointing into the database (valid until the transaction ends). */
typedef struct store_labels {
    int64_t sl_read_ms; /* when it was read from HubSpot (epoch ms) */
    store_type *sl_types;
    size_t sl_count, sl_cap;
} store_labels;

/* Reads table's label catalog into `out` (reused across calls). Errors:
 * ERR_NOT_FOUND (never read: setup and runs before labels were kept),
 * ERR_CORRUPT (does not decode: the message says to run setup), ERR_NOMEM,
 * ERR_STORE. */
int store_get_labels(store_txn *t, hs_table table, store_labels *out, err_info *e);

void store_labels_free(store_labels *l);

/* The catalog's entry for (type_id, category), or NULL when it lists none. */
const store_type *store_labels_find(const store_labels *l, int32_t type_id,
                                    assoc_category category);

/* ---- the change feed ---------------------------------------------------------- */

/* Each run has a number (1, 2, …). While a run records (store_feed_begin to
 * store_feed_end), every association store_replace_set or
 * store_delete_parent adds, removes or relabels is noted in the same batch
 * as the change: an upsert (with the association's types now) or a delete.
 * A table loaded from empty (store_feed_skip_table) is not noted: its load
 * is what a snapshot holds, and the feed of that table starts after it.
 * Layout: feed.c. */

typedef struct store_feed_info {
    uint64_t fi_latest_run; /* the latest run's number (0: none yet) */
    uint64_t fi_oldest_run; /* the first run whose changes are kept (1 until pruned) */
} store_feed_info;

int store_feed_read_info(store_txn *t, store_feed_info *out, err_info *e);

/* The run that loaded `table` from empty (0: none recorded): changes since
 * an earlier run are not all in the feed. */
int store_feed_table_base(store_txn *t, hs_table table, uint64_t *base, err_info *e);

/* Starts run number latest + 1 at started_ms and records its changes from
 * now on. Errors: ERR_INVALID (not a write batch), ERR_MAP_FULL, ERR_STORE. */
int store_feed_begin(store_txn *t, int64_t started_ms, uint64_t *run, err_info *e);

/* This run loads `table` from empty: its changes are not noted, and the
 * table's feed starts after this run. */
int store_feed_skip_table(store_txn *t, hs_table table, err_info *e);

/* Ends the recording run: its finish time, then the changes of runs
 * before the retention dropped: keep the last keep_runs runs, or (keep_runs
 * 0) the runs that ended within keep_ms of finished_ms. */
int store_feed_end(store_txn *t, int64_t started_ms, int64_t finished_ms, uint64_t keep_runs,
                   int64_t keep_ms, err_info *e);

/* The latest run that had ended at at_ms (a killed run ended when the next
 * began): changes "since a time" are those of the runs after it. 0: none. */
int store_feed_run_before(store_txn *t, int64_t at_ms, uint64_t *run, err_info *e);

typedef enum store_change_op { STORE_CHANGE_UPSERT = 1, STORE_CHANGE_DELETE = 2 } store_change_op;

/* One change as the iterator returns it (types valid until the next call). */
typedef struct store_change {
    uint64_t sc_run;
    hs_table sc_table;
    store_change_op sc_op;
    uint64_t sc_parent_id, sc_child_id;
    const store_type *sc_types; /* UPSERT: the association's types after the change */
    size_t sc_ntypes;
} store_change;

typedef struct store_change_iter store_change_iter;

/* Iterates the changes of the runs after after_run, in the order they were
 * made (run, then within the run). A database without a feed has none. */
int store_changes_open(store_txn *t, uint64_t after_run, store_change_iter **out, err_info *e);

/* The next change. Returns 0, ERR_NOT_FOUND at the end, ERR_CORRUPT (a
 * note does not decode: the message says to take a snapshot), ERR_NOMEM,
 * ERR_STORE. */
int store_changes_next(store_change_iter *it, store_change *c, err_info *e);

void store_changes_close(store_change_iter *it);

/* ---- objects ------------------------------------------------------------ */

typedef struct store_object {
    uint64_t ob_id;
    int64_t ob_lastmodified_ms;
    bool ob_archived;
} store_object;

/* Writes (inserts or overwrites) object `o` of type `type`.
 * Errors: ERR_INVALID, ERR_MAP_FULL, ERR_STORE, ERR_NOMEM. */
int store_put_object(store_txn *t, hs_object_type type, const store_object *o, err_info *e);

/* Deletes object `id` of type `type`; deleting an absent object is not an
 * error. *found (may be NULL) says whether it existed. Its associations are
 * not touched (store_delete_parent). Errors as store_put_object. */
int store_delete_object(store_txn *t, hs_object_type type, uint64_t id, bool *found, err_info *e);

/* Reads object `id`. Errors: ERR_NOT_FOUND, ERR_CORRUPT, ERR_INVALID, ERR_STORE. */
int store_get_object(store_txn *t, hs_object_type type, uint64_t id, store_object *out,
                     err_info *e);

/* Fills out[0..max) with the objects of `type` whose ID is ≥ from_id, in ID
 * order, and *n with how many; *n < max means the end was reached. Planning a
 * full scan calls it with from_id = last ID of the previous batch + 1.
 * Errors: ERR_CORRUPT, ERR_INVALID, ERR_STORE. */
int store_objects_from(store_txn *t, hs_object_type type, uint64_t from_id, store_object *out,
                       size_t max, size_t *n, err_info *e);

/* Number of objects of `type` stored. */
int store_count_objects(store_txn *t, hs_object_type type, uint64_t *count, err_info *e);

/* ---- table schemas ------------------------------------------------------ */

typedef enum store_ping_type {
    STORE_PING_FULL,       /* "read_full_ping" (also the default) */
    STORE_PING_INCREMENTAL /* "read_incremental_ping" */
} store_ping_type;

/* "read_full_ping" / "read_incremental_ping". */
const char *store_ping_type_name(store_ping_type p);

/* A table's schema (table_options; docs/CLI.md, `hubsync setup`). Initialise with
 * store_schema_init(), release with store_schema_free(). */
typedef struct store_schema {
    store_ping_type sc_ping_type;
    bool sc_supports_roll_up;
    char **sc_rollup_field_labels; /* sorted bytewise, distinct, NUL-terminated */
    size_t sc_nrollup_field_labels;
    char sc_rollup_fields_object_id[STORE_NAME_MAX]; /* the parent type, "companies" */
    /* When setup (or a run's re-check) first saw this set of rollup fields,
     * epoch ms; 0 when unknown (a record written before the field existed).
     * Changes made before it bumped no parent, so an incremental cursor is
     * trusted only when its full scan started at or after it (route_next).
     * Not part of table_options: schema_equal() ignores it. Optional in the
     * record ("rollups_since_ms"); a record without it reads as 0. */
    int64_t sc_rollups_since_ms;
    /* The internal name of the count rollup among the rollup fields (the
     * property labelled {prefix}count), "" when there is none or the record
     * predates it. A run asks for it on the first list's pages to find the
     * parents whose sets take several pages before their batch is read
     * (scan.c, "heavy parents"): a hint, never trusted for the data. Not
     * part of table_options: schema_equal() ignores it. Optional in the
     * record ("count_field"). */
    char sc_count_field[STORE_NAME_MAX];
} store_schema;

void store_schema_init(store_schema *sc);
void store_schema_free(store_schema *sc);

/* Inserts a copy of `label` (len bytes, no NUL inside) into the sorted label
 * list; a label already present is ignored. Errors: ERR_INVALID, ERR_NOMEM. */
int store_schema_add_label(store_schema *sc, const char *label, size_t len);

/* The record encoding (msgpack map, see the top of this file), for tests and
 * tools. Encode returns a malloc'd buffer in *out (free() it). Decode fills
 * an initialised *sc (freeing what it held) and fails with ERR_CORRUPT for
 * anything but a well-formed record of a known version: unknown ping_type,
 * labels not sorted and distinct, wrong types, trailing bytes. */
int store_schema_encode(const store_schema *sc, void **out, size_t *len, err_info *e);
int store_schema_decode(const void *data, size_t len, store_schema *sc, err_info *e);

/* Writes `table`'s schema. Errors: ERR_INVALID (labels not sorted and
 * distinct, bad table), ERR_MAP_FULL, ERR_STORE, ERR_NOMEM. */
int store_put_schema(store_txn *t, hs_table table, const store_schema *sc, err_info *e);

/* Reads `table`'s schema into an initialised *sc. Errors: ERR_NOT_FOUND (no
 * schema: setup never ran), ERR_CORRUPT, ERR_INVALID, ERR_STORE, ERR_NOMEM. */
int store_get_schema(store_txn *t, hs_table table, store_schema *sc, err_info *e);

/* ---- cursors and run figures (docs/CLI.md) ---------------------------------- */

typedef enum store_cursor_kind {
    STORE_CURSOR_NONE,        /* never synced: full scan from "0" */
    STORE_CURSOR_OBJECT_ID,   /* full scan in progress: continue after cu_object_id */
    STORE_CURSOR_TIMESTAMP_MS /* incremental position (or last scan's start − lag) */
} store_cursor_kind;

/* A typed cursor: only the field of its kind is meaningful, and a decoded
 * cursor is of the kind that was stored or the decode fails. */
typedef struct store_cursor {
    store_cursor_kind cu_kind;
    uint64_t cu_object_id;   /* STORE_CURSOR_OBJECT_ID */
    int64_t cu_timestamp_ms; /* STORE_CURSOR_TIMESTAMP_MS: epoch ms, ≥ 0 */
} store_cursor;

/* "none", "object_id", "timestamp_ms": the stored kind names. */
const char *store_cursor_kind_name(store_cursor_kind k);

static inline store_cursor store_cursor_none(void)
{
    store_cursor c = {STORE_CURSOR_NONE, 0, 0};
    return c;
}

static inline store_cursor store_cursor_object_id(uint64_t id)
{
    store_cursor c = {STORE_CURSOR_OBJECT_ID, id, 0};
    return c;
}

static inline store_cursor store_cursor_timestamp_ms(int64_t ms)
{
    store_cursor c = {STORE_CURSOR_TIMESTAMP_MS, 0, ms};
    return c;
}

typedef enum store_route {
    STORE_ROUTE_NONE,        /* "none": no run yet */
    STORE_ROUTE_FULL_SCAN,   /* "full_scan": a new full scan from "0" */
    STORE_ROUTE_FULL_RESUME, /* "full_scan_resume": continuing after an ID */
    STORE_ROUTE_INCREMENTAL, /* "incremental" */
    STORE_ROUTE_COUNT
} store_route;

const char *store_route_name(store_route r);

/* The counters of a run, declared once (memcached's X-macro habit): the
 * struct fields sr_NAME and the record keys "NAME". parents, added, removed,
 * relabelled and unchanged count the route's own merges (full scan or
 * incremental), api_calls its batch reads; verified counts the parents
 * verification re-read, verify_calls its batch reads, and the drift_*
 * counters what it had to change (associations the route missed). */
#define STORE_RUN_COUNTERS(X)                                                                      \
    X(parents)                                                                                     \
    X(added)                                                                                       \
    X(removed)                                                                                     \
    X(relabelled)                                                                                  \
    X(unchanged)                                                                                   \
    X(api_calls)                                                                                   \
    X(http_429)                                                                                    \
    X(retries)                                                                                     \
    X(verified)                                                                                    \
    X(verify_calls)                                                                                \
    X(drift_added)                                                                                 \
    X(drift_removed)                                                                               \
    X(drift_relabelled)

/* A run's figures for one table. */
typedef struct store_run {
    store_route sr_route;
    int64_t sr_started_ms;  /* wall clock, epoch ms */
    int64_t sr_finished_ms; /* 0 while running */
    bool sr_completed;      /* the route reached its end (scan done, caught up) */
#define STORE_RUN_FIELD(name) uint64_t sr_##name;
    STORE_RUN_COUNTERS(STORE_RUN_FIELD)
#undef STORE_RUN_FIELD
} store_run;

/* A range of object IDs, both ends included: [ir_first, ir_last]. */
typedef struct store_id_range {
    uint64_t ir_first, ir_last;
} store_id_range;

/* Most ranges a state record carries in ss_done. */
enum { STORE_DONE_RANGES_MAX = 512 };

/* Everything the state database keeps for one name. About 8.3 KiB (ss_done):
 * pass it by pointer, and keep it off small stacks and out of hot copies. */
typedef struct store_state {
    store_cursor ss_cursor;
    int64_t ss_scan_started_ms; /* start of the full scan in progress (its completion
                                   sets the cursor from it); 0 when none */
    int64_t ss_scan_origin_ms;  /* start of the last COMPLETED full scan (the origin
                                   of the timestamp cursor); 0 when unknown */
    /* Verification (incremental tables): the next parent ID its slice
     * starts from, the full cycles it completed, and when the last one
     * ended (epoch ms; 0: never). */
    uint64_t ss_verify_next_id;
    uint64_t ss_verify_cycles;
    int64_t ss_verify_cycle_ended_ms;
    uint64_t ss_runs; /* runs that touched this table */
    store_run ss_last_run;
    /* Parent-ID ranges of a full scan in progress, merged above the cursor
     * (jobs merged out of order, so not covered by cu_object_id): each
     * [ir_first, ir_last] inclusive, ascending and disjoint (ss_done[i].ir_first
     * > ss_done[i-1].ir_last; adjacent ranges are allowed, merging them is the
     * caller's choice). Only meaningful with an OBJECT_ID cursor: the store
     * keeps and returns them whatever the cursor kind and does not check them
     * against the cursor value; the caller clears them (ss_ndone = 0) when
     * the scan completes or a new one starts. Entries past ss_ndone are
     * ignored on write and zero after a read; a record without "done"
     * decodes with ss_ndone = 0. */
    uint32_t ss_ndone; /* 0 to STORE_DONE_RANGES_MAX */
    store_id_range ss_done[STORE_DONE_RANGES_MAX];
} store_state;

/* The record encoding (see the top of this file). Encode returns a malloc'd
 * buffer (free() it); it fails with ERR_INVALID for what store_put_state
 * refuses. Decode fails with ERR_CORRUPT for a record of an unknown version
 * or cursor kind, a cursor value of the wrong type for its kind or missing,
 * a negative timestamp, wrong field types, trailing bytes, and a "done" that
 * is not an array of an even number (at most 2 × STORE_DONE_RANGES_MAX) of
 * uints forming ascending, disjoint ranges with first ≤ last, or appears
 * twice; it never returns a cursor of another kind than the one stored. A
 * failed decode leaves *st zeroed. */
int store_state_encode(const store_state *st, void **out, size_t *len, err_info *e);
int store_state_decode(const void *data, size_t len, store_state *st, err_info *e);

/* Writes the state `name` (a table name or "objects.{type}", 1 to
 * STORE_NAME_MAX-1 bytes) in the batch, beside the data it covers.
 * Errors: ERR_INVALID (bad name, unknown kind, negative timestamp, unknown
 * route, ss_ndone > STORE_DONE_RANGES_MAX, a range with ir_first > ir_last,
 * ranges not ascending and disjoint; nothing is written and the batch lives
 * on), ERR_MAP_FULL, ERR_STORE, ERR_NOMEM. */
int store_put_state(store_txn *t, const char *name, const store_state *st, err_info *e);

/* Reads the state `name`. A name never written gives 0 and a zeroed state
 * (cursor kind NONE, route NONE): "never synced" is not an error.
 * Errors: ERR_CORRUPT (the record does not decode), ERR_INVALID, ERR_STORE. */
int store_get_state(store_txn *t, const char *name, store_state *st, err_info *e);

#endif
