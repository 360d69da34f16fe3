/*
 * store — the LMDB mirror (see store.h for the layout, the multi-process
 * rules and the error contract).
 *
 * The hot path is store_replace_set(): a cursor walk over one parent's key
 * range merged with the new sorted link list, writing only what changed.
 * Association values are encoded by hand (canonical msgpack, no allocation)
 * so the comparison with the stored value is a memcmp; the schema and state
 * records, written rarely, go through msgpack-c.
 *
 * Every physical write of a batch is appended to the batch's operation log so
 * that an MDB_MAP_FULL anywhere (a put, a delete's page split, the commit's
 * free-list save) can be answered by abort, grow, replay.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <msgpack.h>

#include "lmdb_check.h"
#include "store_impl.h"
#include "../base/mpread.h"
#include "../base/version.h"

#define LOCK_FILE_NAME "hubsync.lock"
#define LMDB_LOCK_NAME "lock.mdb"
/* LMDB's reader table for its default 126 readers: 64-byte slots and header. */
#define LMDB_LOCK_BYTES 8192
/* Free space below which a failed write (EIO included) means a full disk. */
#define DISK_NEARLY_FULL_KIB 1024ULL
#define META_FORMAT_KEY      "format"
#define META_WRITER_KEY      "written_by"

/* ---- small helpers ------------------------------------------------------- */

static inline void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Maps an LMDB return code to the project's error and records the message. */
int store_mdb_fail(err_info *e, int rc, const char *what)
{
    int code;
    switch (rc) {
    case MDB_MAP_FULL:
        code = ERR_MAP_FULL;
        break;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_INCOMPATIBLE:
        code = ERR_CORRUPT;
        break;
    case MDB_TXN_FULL:
        code = ERR_TOO_BIG;
        break;
    case MDB_NOTFOUND:
        code = ERR_NOT_FOUND;
        break;
    case ENOMEM:
        code = ERR_NOMEM;
        break;
    default:
        code = ERR_STORE;
        break;
    }
    return err_set(e, code, "store: %s: %s", what, mdb_strerror(rc));
}

/* A write that reached the disk failed: rc is LMDB's code or an errno. A
 * full filesystem shows as ENOSPC or EDQUOT, or, when the disk filled up in
 * the middle of one of LMDB's writes, as EIO (LMDB reports a short pwrite so).
 * Says which, naming the directory and its free space, so that the user
 * knows what to free; anything else is store_mdb_fail's. The batch is lost, the
 * last commit is not (LMDB writes its meta page only after the data). */
static bool disk_error(int rc)
{
    return rc == ENOSPC || rc == EDQUOT || rc == EIO;
}

static int disk_fail(const store *s, err_info *e, int rc, const char *what)
{
    if (!disk_error(rc))
        return store_mdb_fail(e, rc, what);
    struct statvfs vfs;
    if (statvfs(s->s_dir, &vfs) != 0)
        return err_set(e, ERR_SYS, "store: %s: %s in %s", what, strerror(rc), s->s_dir);
    unsigned long long free_kib = (unsigned long long)vfs.f_bavail * vfs.f_frsize / 1024;
    bool no_inodes = vfs.f_files > 0 && vfs.f_favail == 0;
    if (rc == EIO && (free_kib < DISK_NEARLY_FULL_KIB || no_inodes))
        rc = ENOSPC;
    return err_set(e, ERR_SYS, "store: %s: %s in %s (%llu KiB%s free there)%s", what, strerror(rc),
                   s->s_dir, free_kib, no_inodes ? " but no inodes" : "",
                   rc == EIO ? "" : "; nothing committed is lost: free space and run again");
}

bool store_table_ok(hs_table tb)
{
    hs_table canon;
    if ((unsigned)tb.t_parent >= HS_OBJECT_TYPE_COUNT ||
        (unsigned)tb.t_child >= HS_OBJECT_TYPE_COUNT)
        return false;
    return hs_table_of(tb.t_parent, tb.t_child, &canon) == 0 && canon.t_parent == tb.t_parent;
}

/* The table's database; *present false when a read-only store never saw it. */
int store_table_dbi(store *s, hs_table tb, MDB_dbi *dbi, bool *present, err_info *e)
{
    if (!store_table_ok(tb))
        return err_set(e, ERR_INVALID, "store: not a canonical association table (%d, %d)",
                       (int)tb.t_parent, (int)tb.t_child);
    *present = s->s_has_assoc[tb.t_parent][tb.t_child];
    *dbi = s->s_assoc[tb.t_parent][tb.t_child];
    return 0;
}

static int object_dbi(store *s, hs_object_type type, MDB_dbi *dbi, bool *present, err_info *e)
{
    if ((unsigned)type >= HS_OBJECT_TYPE_COUNT)
        return err_set(e, ERR_INVALID, "store: unknown object type %d", (int)type);
    *present = s->s_has_objects[type];
    *dbi = s->s_objects[type];
    return 0;
}

/* ---- msgpack, by hand, for the hot path ----------------------------------
 *
 * The packers write into the transaction's scratch buffer the canonical
 * (smallest) forms msgpack-c's packer produces, so a value re-encoded from
 * the same types compares equal bytewise. Values are read back with
 * mpread, strict about types but accepting every integer width.
 */

uint8_t *store_pack_uint(uint8_t *p, uint64_t u)
{
    if (u < 128) {
        *p++ = (uint8_t)u;
    } else if (u < 256) {
        *p++ = 0xcc;
        *p++ = (uint8_t)u;
    } else if (u < 65536) {
        *p++ = 0xcd;
        put_be16(p, (uint16_t)u);
        p += 2;
    } else if (u <= UINT32_MAX) {
        *p++ = 0xce;
        put_be32(p, (uint32_t)u);
        p += 4;
    } else {
        *p++ = 0xcf;
        put_be64(p, u);
        p += 8;
    }
    return p;
}

uint8_t *store_pack_int(uint8_t *p, int64_t d)
{
    if (d >= 128)
        return store_pack_uint(p, (uint64_t)d);
    if (d >= -32) {
        *p++ = (uint8_t)d; /* positive or negative fixint */
    } else if (d >= -128) {
        *p++ = 0xd0;
        *p++ = (uint8_t)d;
    } else if (d >= -32768) {
        *p++ = 0xd1;
        put_be16(p, (uint16_t)d);
        p += 2;
    } else if (d >= INT32_MIN) {
        *p++ = 0xd2;
        put_be32(p, (uint32_t)d);
        p += 4;
    } else {
        *p++ = 0xd3;
        put_be64(p, (uint64_t)d);
        p += 8;
    }
    return p;
}

uint8_t *store_pack_array(uint8_t *p, uint32_t n)
{
    if (n < 16) {
        *p++ = (uint8_t)(0x90 | n);
    } else if (n < 65536) {
        *p++ = 0xdc;
        put_be16(p, (uint16_t)n);
        p += 2;
    } else {
        *p++ = 0xdd;
        put_be32(p, n);
        p += 4;
    }
    return p;
}

uint8_t *store_pack_str(uint8_t *p, const char *s, uint32_t n)
{
    if (n < 32) {
        *p++ = (uint8_t)(0xa0 | n);
    } else if (n < 256) {
        *p++ = 0xd9;
        *p++ = (uint8_t)n;
    } else if (n < 65536) {
        *p++ = 0xda;
        put_be16(p, (uint16_t)n);
        p += 2;
    } else {
        *p++ = 0xdb;
        put_be32(p, n);
        p += 4;
    }
    memcpy(p, s, n);
    return p + n;
}

/* ---- association values -------------------------------------------------- */

static int scratch_reserve(store_txn *t, size_t need)
{
    if (need <= t->t_val_cap)
        return 0;
    size_t cap = t->t_val_cap ? t->t_val_cap : 256;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(t->t_val, cap);
    if (!p)
        return ERR_NOMEM;
    t->t_val = p;
    t->t_val_cap = cap;
    return 0;
}

/* Encodes link `l`'s type list into t->t_val; *len its size. */
int store_encode_types(store_txn *t, const assoc_buf *b, const assoc_link *l, size_t *len,
                       err_info *e)
{
    const assoc_type *types = assoc_types(b, l);
    size_t need = 5;
    for (uint32_t k = 0; k < l->al_ntypes; k++)
        need += 1 + 5 + 1 + 5 + (types[k].at_has_label ? types[k].at_label_len : 0);
    if (scratch_reserve(t, need))
        return err_set(e, ERR_NOMEM, "store: out of memory encoding a type list");
    uint8_t *p = store_pack_array(t->t_val, l->al_ntypes);
    for (uint32_t k = 0; k < l->al_ntypes; k++) {
        const assoc_type *ty = &types[k];
        if (ty->at_category >= ASSOC_CATEGORY_COUNT)
            return err_set(e, ERR_INVALID, "store: child %llu: unknown category %u",
                           (unsigned long long)l->al_child_id, ty->at_category);
        *p++ = 0x93;
        p = store_pack_int(p, ty->at_type_id);
        *p++ = ty->at_category; /* < 128: a positive fixint */
        if (ty->at_has_label)
            p = store_pack_str(p, assoc_label(b, ty), ty->at_label_len);
        else
            *p++ = 0xc0;
    }
    *len = (size_t)(p - t->t_val);
    return 0;
}

/* Decodes a stored type list into *types (grown as needed). */
int store_decode_types(const void *data, size_t len, store_type **types, size_t *cap, size_t *count)
{
    mp_cur r = mp_cur_of(data, len);
    uint32_t n;
    if (mp_array(&r, 1, &n) != MP_OK)
        return ERR_CORRUPT;
    if (n > *cap) {
        store_type *p = realloc(*types, n * sizeof(*p));
        if (!p)
            return ERR_NOMEM;
        *types = p;
        *cap = n;
    }
    for (uint32_t k = 0; k < n; k++) {
        uint32_t three;
        int64_t id, cat;
        store_type *ty = &(*types)[k];
        if (mp_array(&r, 1, &three) != MP_OK || three != 3 ||
            mp_int(&r, INT32_MIN, INT32_MAX, &id) != MP_OK ||
            mp_int(&r, 0, ASSOC_CATEGORY_COUNT - 1, &cat) != MP_OK ||
            mp_str_or_nil(&r, UINT32_MAX, &ty->st_label, &ty->st_label_len) != MP_OK)
            return ERR_CORRUPT;
        ty->st_type_id = (int32_t)id;
        ty->st_category = (assoc_category)cat;
    }
    if (!mp_at_end(&r))
        return ERR_CORRUPT;
    *count = n;
    return 0;
}

/* ---- objects' values ----------------------------------------------------- */

static size_t encode_object(uint8_t *buf, const store_object *o)
{
    uint8_t *p = buf;
    *p++ = 0x92;
    p = store_pack_int(p, o->ob_lastmodified_ms);
    *p++ = o->ob_archived ? 0xc3 : 0xc2;
    return (size_t)(p - buf);
}

static int decode_object(const MDB_val *k, const MDB_val *v, store_object *o, err_info *e)
{
    mp_cur r = mp_cur_of(v->mv_data, v->mv_size);
    uint32_t n;
    if (k->mv_size != OBJECT_KEY_BYTES)
        return err_set(e, ERR_CORRUPT, "store: object key of %zu bytes (want 8)", k->mv_size);
    o->ob_id = get_be64(k->mv_data);
    if (mp_array(&r, 1, &n) != MP_OK || n != 2 ||
        mp_int(&r, INT64_MIN, INT64_MAX, &o->ob_lastmodified_ms) != MP_OK ||
        mp_bool(&r, &o->ob_archived) != MP_OK || !mp_at_end(&r))
        return err_set(e, ERR_CORRUPT, "store: object %llu: damaged record",
                       (unsigned long long)o->ob_id);
    return 0;
}

/* A path the user chose that this process may not use (a read-only or
 * forbidden place, a file where a directory belongs) is a configuration
 * error, not a transient one: ERR_INVALID. */
static int path_errno_code(int err)
{
    return err == EACCES || err == EPERM || err == EROFS || err == ENOTDIR || err == ENOENT
               ? ERR_INVALID
               : ERR_SYS;
}

/* ---- the run lock -------------------------------------------------------- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The pid the holder wrote into the lock file; 0 when unknown. The holder
 * writes it just after locking, so give it a moment. */
static long lock_holder_pid(int fd)
{
    for (int tries = 0; tries < 20; tries++) {
        char buf[32];
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n > 0) {
            buf[n] = '\0';
            char *end;
            long pid = strtol(buf, &end, 10);
            if (pid > 0 && end != buf && (*end == '\n' || *end == '\0'))
                return pid;
        }
        sleep_ms(5);
    }
    return 0;
}

static int take_run_lock(store *s, err_info *e)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", s->s_dir, LOCK_FILE_NAME) >= sizeof(path))
        return err_set(e, ERR_INVALID, "store: database path too long");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return err_set(e, path_errno_code(errno), "store: open %s: %s", path, strerror(errno));
    /* An OFD lock belongs to this open file description: it conflicts with
     * another open in this very process too, and closing some other
     * descriptor of the file does not drop it (as it would a POSIX lock). */
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        int err = errno;
        if (err == EAGAIN || err == EACCES) {
            long pid = lock_holder_pid(fd);
            close(fd);
            if (pid > 0)
                return err_set(e, ERR_LOCKED,
                               "store: %s is held by another run (pid %ld); wait for it to "
                               "finish or stop it",
                               s->s_dir, pid);
            return err_set(e, ERR_LOCKED, "store: %s is held by another run (pid unknown)",
                           s->s_dir);
        }
        close(fd);
        return err_set(e, ERR_SYS, "store: fcntl(F_OFD_SETLK) %s: %s", path, strerror(err));
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        int err = errno;
        close(fd);
        return disk_error(err) ? disk_fail(s, e, err, "write " LOCK_FILE_NAME)
                               : err_set(e, ERR_SYS, "store: write %s: %s", path, strerror(err));
    }
    s->s_lock_fd = fd;
    return 0;
}

static void release_run_lock(store *s)
{
    if (s->s_lock_fd < 0)
        return;
    /* Empty it first: a pid left behind would only mislead a reader. */
    if (ftruncate(s->s_lock_fd, 0) != 0) {
        /* Harmless: the pid is read only while the lock is held. */
    }
    close(s->s_lock_fd);
    s->s_lock_fd = -1;
}

/* ---- opening ------------------------------------------------------------- */

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *dir, err_info *e)
{
    char path[PATH_MAX];
    size_t n = strlen(dir);
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return err_set(e, path_errno_code(errno), "store: mkdir %s: %s", path, strerror(errno));
        path[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0)
        return err_set(e, ERR_SYS, "store: stat %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return err_set(e, ERR_INVALID, "store: %s is not a directory", dir);
    return 0;
}

/* Opens (creating when writing) named database `name`; *present false when
 * it does not exist in a read-only open. */
int store_open_dbi(store *s, MDB_txn *txn, const char *name, MDB_dbi *dbi, bool *present,
                   err_info *e)
{
    int rc = mdb_dbi_open(txn, name, s->s_readonly ? 0 : MDB_CREATE, dbi);
    if (rc == MDB_NOTFOUND && s->s_readonly) {
        *present = false;
        return 0;
    }
    if (rc == MDB_INCOMPATIBLE)
        return err_set(e, ERR_CORRUPT, "store: %s: '%s' is not a hubsync database", s->s_dir, name);
    if (rc) {
        char what[96];
        snprintf(what, sizeof(what), "open database %s", name);
        return store_mdb_fail(e, rc, what);
    }
    *present = true;
    return 0;
}

static int damaged(const store *s, err_info *e, const char *why);

/* The first commit of a writable open records which hubsync wrote the
 * database last (meta "written_by", status shows it): a damaged mirror can
 * be traced to a build. At the open that creates the database, else at
 * the first commit, not at the open, so that a command that refuses the
 * database leaves it byte for byte as it was.
 * Returns 0 or an LMDB code (MDB_MAP_FULL grows the map like the commit). */
static int note_writer(store *s, MDB_txn *txn)
{
    if (s->s_readonly || s->s_writer_noted)
        return 0;
    const char *v = hs_version();
    uint8_t buf[128];
    size_t n = strlen(v) < 100 ? strlen(v) : 100;
    MDB_val k = {sizeof(META_WRITER_KEY) - 1, (void *)META_WRITER_KEY};
    MDB_val val = {(size_t)(store_pack_str(buf, v, (uint32_t)n) - buf), buf};
    return mdb_put(txn, s->s_meta, &k, &val, 0);
}

int store_written_by(store_txn *t, char *buf, size_t size, err_info *e)
{
    buf[0] = '\0';
    if (!t->t_store->s_has_meta)
        return 0;
    MDB_val k = {sizeof(META_WRITER_KEY) - 1, (void *)META_WRITER_KEY}, v;
    int rc = mdb_get(t->t_txn, t->t_store->s_meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return store_mdb_fail(e, rc, "read the writer's version");
    mp_cur r = mp_cur_of(v.mv_data, v.mv_size);
    const char *str;
    uint32_t len;
    if (mp_str(&r, 100, &str, &len) != MP_OK || !mp_at_end(&r))
        return err_set(e, ERR_CORRUPT, "store: the meta record written_by is damaged");
    snprintf(buf, size, "%.*s", (int)len, str);
    return 0;
}

/* Checks meta (or writes it into a new database), then opens every named
 * database. Runs in one transaction, aborted on any failure. */
static int open_databases(store *s, err_info *e)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(s->s_env, NULL, s->s_readonly ? MDB_RDONLY : 0, &txn);
    if (rc)
        return store_mdb_fail(e, rc, "begin");
    bool present = false, created = false;
    rc = mdb_dbi_open(txn, "meta", 0, &s->s_meta);
    if (rc == MDB_NOTFOUND) {
        /* A new environment, or someone else's: only an empty one is ours. */
        MDB_dbi main_dbi;
        MDB_stat st;
        if ((rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) != 0 ||
            (rc = mdb_stat(txn, main_dbi, &st)) != 0) {
            rc = store_mdb_fail(e, rc, "read the main database");
            goto fail;
        }
        if (st.ms_entries != 0) {
            rc = err_set(e, ERR_CORRUPT,
                         "store: %s holds an LMDB database that is not hubsync's (no meta "
                         "record); use another --db directory",
                         s->s_dir);
            goto fail;
        }
        if (s->s_readonly) {
            mdb_txn_abort(txn);
            return 0; /* empty: every read finds nothing */
        }
        uint8_t ver[9];
        MDB_val k = {sizeof(META_FORMAT_KEY) - 1, (void *)META_FORMAT_KEY};
        MDB_val v = {(size_t)(store_pack_uint(ver, STORE_FORMAT_VERSION) - ver), ver};
        if ((rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->s_meta)) != 0 ||
            (rc = mdb_put(txn, s->s_meta, &k, &v, 0)) != 0 || (rc = note_writer(s, txn)) != 0) {
            rc = store_mdb_fail(e, rc, "create meta");
            goto fail;
        }
        created = true;
    } else if (rc == MDB_INCOMPATIBLE) {
        rc = err_set(e, ERR_CORRUPT, "store: %s: 'meta' is not a hubsync database", s->s_dir);
        goto fail;
    } else if (rc) {
        rc = store_mdb_fail(e, rc, "open meta");
        goto fail;
    } else {
        MDB_val k = {sizeof(META_FORMAT_KEY) - 1, (void *)META_FORMAT_KEY}, v;
        rc = mdb_get(txn, s->s_meta, &k, &v);
        if (rc) {
            rc = rc == MDB_NOTFOUND ? damaged(s, e, "the meta database has no format version")
                                    : store_mdb_fail(e, rc, "read meta");
            goto fail;
        }
        mp_cur r = mp_cur_of(v.mv_data, v.mv_size);
        int64_t format;
        if (mp_int(&r, 0, INT64_MAX, &format) != MP_OK || !mp_at_end(&r)) {
            rc = damaged(s, e, "the format version record is damaged");
            goto fail;
        }
        if (format != STORE_FORMAT_VERSION) {
            rc = err_set(e, ERR_CORRUPT,
                         "store: %s has format version %lld; this build reads version %d "
                         "(use a matching hubsync, or a new --db directory)",
                         s->s_dir, (long long)format, STORE_FORMAT_VERSION);
            goto fail;
        }
    }
    s->s_has_meta = true;
    if ((rc = store_open_dbi(s, txn, "schema", &s->s_schema, &present, e)) != 0 ||
        (rc = store_open_dbi(s, txn, "state", &s->s_state, &present, e)) != 0 ||
        (rc = store_open_dbi(s, txn, "labels", &s->s_labels, &s->s_has_labels, e)) != 0 ||
        (rc = store_open_dbi(s, txn, "feed", &s->s_feed, &s->s_has_feed, e)) != 0 ||
        (rc = store_open_dbi(s, txn, "runs", &s->s_runs, &present, e)) != 0)
        goto fail;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        char name[64];
        snprintf(name, sizeof(name), "objects.%s", hs_object((hs_object_type)t)->oi_plural);
        rc = store_open_dbi(s, txn, name, &s->s_objects[t], &s->s_has_objects[t], e);
        if (rc)
            goto fail;
    }
    for (int a = 0; a < HS_OBJECT_TYPE_COUNT; a++) {
        for (int b = 0; b < HS_OBJECT_TYPE_COUNT; b++) {
            hs_table tb = {(hs_object_type)a, (hs_object_type)b};
            if (!store_table_ok(tb))
                continue;
            char name[80] = "assoc.";
            hs_table_name(tb, name + 6, sizeof(name) - 6);
            rc = store_open_dbi(s, txn, name, &s->s_assoc[a][b], &s->s_has_assoc[a][b], e);
            if (rc)
                goto fail;
        }
    }
    rc = mdb_txn_commit(txn); /* a read-only commit keeps the handles too */
    if (rc)
        return disk_fail(s, e, rc, "commit the database handles");
    s->s_writer_noted = created;
    return 0;
fail:
    mdb_txn_abort(txn);
    return rc;
}

static size_t current_map_bytes(const store *s)
{
    MDB_envinfo info;
    if (mdb_env_info(s->s_env, &info) != 0)
        return 0;
    return info.me_mapsize;
}

/* LMDB keeps its reader table in lock.mdb, which it only ftruncate()s and
 * then writes through a shared mmap: on a full filesystem the first store
 * into a page the file system cannot back is a SIGBUS, not an error (seen on
 * a full tmpfs). Allocating the file's blocks first turns that into ENOSPC
 * here, with a message. A larger file (more readers) is allocated whole. */
static int reserve_lmdb_lock(const store *s, err_info *e)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", s->s_dir, LMDB_LOCK_NAME) >= sizeof(path))
        return err_set(e, ERR_INVALID, "store: database path too long");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return disk_error(errno) ? disk_fail(s, e, errno, "create " LMDB_LOCK_NAME)
                                 : err_set(e, ERR_SYS, "store: open %s: %s", path, strerror(errno));
    struct stat st;
    off_t want = LMDB_LOCK_BYTES;
    if (fstat(fd, &st) == 0 && st.st_size > want)
        want = st.st_size;
    int rc = posix_fallocate(fd, 0, want);
    close(fd);
    /* A file system without fallocate leaves the risk, not an error. */
    if (rc == EOPNOTSUPP || rc == EINVAL)
        return 0;
    if (rc)
        return disk_fail(s, e, rc, "allocate " LMDB_LOCK_NAME);
    return 0;
}

/* LMDB creates data.mdb by writing its two meta pages in one pwrite(); a
 * disk that fills up meanwhile leaves an empty or one-page file, which
 * would read as damaged for ever (below), though it never held a commit.
 * So a new database is born under a marker file, removed once its first
 * commit (the format record) is on disk: a marker found at open means a
 * birth cut short, whose data.mdb is removed and made again. Without the
 * marker, an empty or short data.mdb is damage, never silently replaced. */
#define BIRTH_MARKER_NAME "hubsync.creating"

static int birth_path(const store *s, const char *name, char *path, size_t n, err_info *e)
{
    if ((size_t)snprintf(path, n, "%s/%s", s->s_dir, name) >= n)
        return err_set(e, ERR_INVALID, "store: database path too long");
    return 0;
}

/* Before LMDB opens: restarts a birth cut short, or marks a new birth. */
static int begin_birth(store *s, err_info *e)
{
    char marker[PATH_MAX + 32], data[PATH_MAX + 32];
    struct stat st;
    int rc;
    if ((rc = birth_path(s, BIRTH_MARKER_NAME, marker, sizeof(marker), e)) != 0 ||
        (rc = birth_path(s, "data.mdb", data, sizeof(data), e)) != 0)
        return rc;
    bool cut_short = lstat(marker, &st) == 0;
    if (cut_short && s->s_readonly)
        return err_set(e, ERR_NOT_FOUND,
                       "store: the database in %s was never completed (its creation was cut "
                       "short, by a full disk perhaps): `hubsync setup` or `hubsync run` makes it",
                       s->s_dir);
    if (s->s_readonly)
        return 0;
    if (cut_short) {
        if (unlink(data) != 0 && errno != ENOENT)
            return err_set(e, ERR_SYS, "store: remove %s: %s", data, strerror(errno));
    } else if (lstat(data, &st) == 0 || errno != ENOENT) {
        return 0; /* an existing database (or check_data_path's error) */
    } else {
        int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return disk_error(errno)
                       ? disk_fail(s, e, errno, "create " BIRTH_MARKER_NAME)
                       : err_set(e, ERR_SYS, "store: create %s: %s", marker, strerror(errno));
        close(fd);
    }
    s->s_being_born = true;
    return 0;
}

/* After the first commit: the database exists; the marker goes. */
static int end_birth(store *s, err_info *e)
{
    char marker[PATH_MAX + 32];
    int rc = birth_path(s, BIRTH_MARKER_NAME, marker, sizeof(marker), e);
    if (rc == 0 && s->s_being_born && unlink(marker) != 0 && errno != ENOENT)
        return err_set(e, ERR_SYS, "store: remove %s: %s", marker, strerror(errno));
    s->s_being_born = false;
    return rc;
}

/* A data file that cannot be used: one message shape for every way it can
 * be damaged, with the way out (docs/RELIABILITY.md: name the problem, say what to do). */
static int damaged(const store *s, err_info *e, const char *why)
{
    return err_set(e, ERR_CORRUPT,
                   "database %s/data.mdb is damaged: %s; restore it from a backup, or remove %s "
                   "to sync again from scratch",
                   s->s_dir, why, s->s_dir);
}

/* An association value that does not decode: damage inside a file whose
 * structure passed the check at open, in the same message shape. */
static int damaged_types(const store *s, err_info *e, int rc, uint64_t parent, uint64_t child)
{
    if (rc != ERR_CORRUPT)
        return err_set(e, rc, "store: out of memory decoding associations");
    char why[96];
    snprintf(why, sizeof(why), "the types of parent %llu, child %llu do not decode",
             (unsigned long long)parent, (unsigned long long)child);
    return damaged(s, e, why);
}

/* Before LMDB sees data.mdb: LMDB would take an empty file for a new
 * database and initialise it (silently replacing the mirror), and reports a
 * directory as a bare EISDIR. */
static int check_data_path(const store *s, err_info *e)
{
    char path[PATH_MAX + 16]; /* s_dir is at most PATH_MAX - 16 bytes */
    struct stat st;
    snprintf(path, sizeof(path), "%s/data.mdb", s->s_dir);
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT && s->s_readonly)
            return err_set(e, ERR_NOT_FOUND, "store: no database in %s", s->s_dir);
        if (errno == ENOENT)
            return 0; /* a new database */
        if (errno == ENOTDIR)
            return err_set(e, ERR_INVALID, "store: %s is not a directory", s->s_dir);
        return err_set(e, path_errno_code(errno), "store: %s: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        return damaged(s, e, "it is a directory, not a file");
    if (!S_ISREG(st.st_mode))
        return damaged(s, e, "it is not a regular file");
    if (st.st_size == 0)
        return damaged(s, e, "it is empty (0 bytes: truncated?)");
    return 0;
}

/* The structural check of data.mdb (lmdb_check.h), on the snapshot of a
 * read transaction held meanwhile, so a writer in another process cannot
 * reuse the pages being read. */
static int check_data_file(const store *s, err_info *e)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/data.mdb", s->s_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_set(e, ERR_SYS, "store: open %s: %s", path, strerror(errno));
    MDB_stat ms;
    int rc = mdb_env_stat(s->s_env, &ms);
    if (rc) {
        close(fd);
        return store_mdb_fail(e, rc, "read the page size");
    }
    err_info ce = {0};
    for (int tries = 0; tries < 10; tries++) {
        MDB_txn *txn;
        if ((rc = mdb_txn_begin(s->s_env, NULL, MDB_RDONLY, &txn)) != 0) {
            close(fd);
            return store_mdb_fail(e, rc, "begin a read transaction");
        }
        rc = lmdb_check_file(fd, mdb_txn_id(txn), ms.ms_psize, NULL, &ce);
        mdb_txn_abort(txn);
        if (rc != ERR_AGAIN) /* else a writer committed twice meanwhile: again */
            break;
    }
    close(fd);
    if (rc == ERR_CORRUPT || rc == ERR_AGAIN)
        return damaged(s, e, ce.ei_msg);
    if (rc)
        return err_set(e, rc, "store: checking %s: %s", path, ce.ei_msg);
    return 0;
}

static int open_env(store *s, const store_options *o, err_info *e)
{
    int rc = mdb_env_create(&s->s_env);
    if (rc)
        return store_mdb_fail(e, rc, "mdb_env_create");
    if ((rc = mdb_env_set_maxdbs(s->s_env, STORE_MAX_DBS)) != 0)
        return store_mdb_fail(e, rc, "configure the environment");
    unsigned flags =
        MDB_NOTLS | (s->s_readonly ? MDB_RDONLY : 0) | (o->so_no_sync ? MDB_NOSYNC : 0);
    if (!s->s_readonly && (rc = reserve_lmdb_lock(s, e)) != 0)
        return rc;
    mode_t old = umask(077);
    rc = mdb_env_open(s->s_env, s->s_dir, flags, 0600);
    umask(old);
    if (rc == MDB_INVALID)
        return damaged(s, e, "not an LMDB file, or its meta pages are damaged");
    if (rc == MDB_VERSION_MISMATCH)
        return err_set(e, ERR_CORRUPT,
                       "database %s/data.mdb was written by an incompatible LMDB version",
                       s->s_dir);
    if (rc == ENOENT && s->s_readonly)
        return err_set(e, ERR_NOT_FOUND, "store: no database in %s", s->s_dir);
    if (rc && disk_error(rc))
        return disk_fail(s, e, rc, "open the database");
    if (rc) {
        char what[PATH_MAX + 32];
        snprintf(what, sizeof(what), "open %s", s->s_dir);
        return store_mdb_fail(e, rc, what);
    }
    /* No size was set before mdb_env_open, so LMDB took the one stored in
     * the file (a configured size would win, even a smaller one: a grown
     * database would shrink back and grow again on every run). Raise it to
     * the option now, before any transaction. */
    size_t map = o->so_map_bytes ? o->so_map_bytes : STORE_DEFAULT_MAP_BYTES;
    map = (map + 65535) & ~(size_t)65535;
    if (!s->s_readonly && current_map_bytes(s) < map &&
        (rc = mdb_env_set_mapsize(s->s_env, map)) != 0)
        return store_mdb_fail(e, rc, "set the map size");
    rc = mdb_reader_check(s->s_env, &s->s_stale_readers);
    if (rc)
        return store_mdb_fail(e, rc, "mdb_reader_check");
    return 0;
}

int store_open(const char *dir, const store_options *opt, store **out, err_info *e)
{
    static const store_options defaults;
    const store_options *o = opt ? opt : &defaults;
    *out = NULL;
    if (!dir || !*dir || strlen(dir) > PATH_MAX - 16)
        return err_set(e, ERR_INVALID, "store: bad database directory");
    if (o->so_map_bytes && o->so_map_bytes < STORE_MIN_MAP_BYTES)
        return err_set(e, ERR_INVALID, "store: map size below %zu bytes", STORE_MIN_MAP_BYTES);
    if (o->so_map_max_bytes &&
        o->so_map_max_bytes < (o->so_map_bytes ? o->so_map_bytes : STORE_DEFAULT_MAP_BYTES))
        return err_set(e, ERR_INVALID, "store: map limit below the initial map size");
    store *s = calloc(1, sizeof(*s));
    if (!s)
        return err_set(e, ERR_NOMEM, "store: out of memory");
    s->s_lock_fd = -1;
    s->s_readonly = o->so_readonly;
    s->s_map_max_bytes = o->so_map_max_bytes ? o->so_map_max_bytes : STORE_DEFAULT_MAP_MAX_BYTES;
    memcpy(s->s_dir, dir, strlen(dir) + 1);
    jb_init(&s->s_wtxn.t_log);
    int rc = 0;
    if (!s->s_readonly) {
        mode_t old = umask(077);
        rc = make_dirs(dir, e);
        if (rc == 0)
            rc = take_run_lock(s, e);
        umask(old);
        if (rc)
            goto fail;
    }
    if ((rc = begin_birth(s, e)) != 0 || (rc = check_data_path(s, e)) != 0 ||
        (rc = open_env(s, o, e)) != 0 || (rc = check_data_file(s, e)) != 0 ||
        (rc = open_databases(s, e)) != 0 || (rc = end_birth(s, e)) != 0)
        goto fail;
    *out = s;
    return 0;
fail:
    if (s->s_env)
        mdb_env_close(s->s_env);
    release_run_lock(s);
    jb_free(&s->s_wtxn.t_log);
    free(s);
    return rc;
}

void store_close(store *s)
{
    if (!s)
        return;
    if (s->s_wtxn_open)
        store_txn_abort(&s->s_wtxn);
    mdb_env_close(s->s_env);
    release_run_lock(s);
    jb_free(&s->s_wtxn.t_log);
    free(s->s_wtxn.t_val);
    free(s);
}

void store_get_info(const store *s, store_info *out)
{
    memset(out, 0, sizeof(*out));
    out->si_map_bytes = current_map_bytes(s);
    out->si_map_max_bytes = s->s_map_max_bytes;
    out->si_map_grows = s->s_map_grows;
    out->si_map_grows_at_commit = s->s_map_grows_at_commit;
    out->si_stale_readers = s->s_stale_readers;
    out->si_readonly = s->s_readonly;
}

/* ---- transactions -------------------------------------------------------- */

/* Ends the LMDB side of the transaction's cursors and iterators. */
static void close_cursors(store_txn *t)
{
    for (store_assoc_iter *it = t->t_iters; it; it = it->it_next) {
        if (it->it_cursor)
            mdb_cursor_close(it->it_cursor);
        it->it_cursor = NULL;
        it->it_txn = NULL;
    }
    t->t_iters = NULL;
    if (t->t_write)
        for (int i = 0; i < STORE_DBI_SLOTS; i++)
            if (t->t_cursor[i]) {
                mdb_cursor_close(t->t_cursor[i]);
                t->t_cursor[i] = NULL;
            }
}

/* Releases a transaction whose LMDB handle is already gone. */
static void txn_release(store_txn *t)
{
    store *s = t->t_store;
    if (t->t_write) {
        jb_reset(&t->t_log);
        t->t_nops = 0;
        t->t_dead = false;
        s->s_wtxn_open = false;
    } else {
        s->s_readers--;
        free(t);
    }
}

int store_txn_begin(store *s, int mode, store_txn **out, err_info *e)
{
    *out = NULL;
    if (mode == STORE_TXN_WRITE) {
        if (s->s_readonly)
            return err_set(e, ERR_INVALID, "store: %s was opened read-only", s->s_dir);
        if (s->s_wtxn_open)
            return err_set(e, ERR_INVALID, "store: a write batch is already open");
        store_txn *t = &s->s_wtxn;
        int rc = mdb_txn_begin(s->s_env, NULL, 0, &t->t_txn);
        if (rc)
            return store_mdb_fail(e, rc, "begin a write batch");
        t->t_store = s;
        t->t_write = true;
        t->t_dead = false;
        t->t_nops = 0;
        jb_reset(&t->t_log);
        s->s_wtxn_open = true;
        *out = t;
        return 0;
    }
    if (mode != STORE_TXN_READ)
        return err_set(e, ERR_INVALID, "store: unknown transaction mode %d", mode);
    store_txn *t = calloc(1, sizeof(*t));
    if (!t)
        return err_set(e, ERR_NOMEM, "store: out of memory");
    t->t_store = s;
    int rc = mdb_txn_begin(s->s_env, NULL, MDB_RDONLY, &t->t_txn);
    if (rc == MDB_MAP_RESIZED && s->s_readers == 0 && !s->s_wtxn_open) {
        /* The writer (another process) grew the map: adopt its size. */
        rc = mdb_env_set_mapsize(s->s_env, 0);
        if (rc == 0)
            rc = mdb_txn_begin(s->s_env, NULL, MDB_RDONLY, &t->t_txn);
    }
    if (rc) {
        free(t);
        return store_mdb_fail(e, rc, "begin a read transaction");
    }
    s->s_readers++;
    *out = t;
    return 0;
}

void store_txn_abort(store_txn *t)
{
    if (!t)
        return;
    close_cursors(t);
    if (t->t_txn)
        mdb_txn_abort(t->t_txn);
    t->t_txn = NULL;
    txn_release(t);
}

size_t store_txn_pending(const store_txn *t, size_t *log_bytes)
{
    if (log_bytes)
        *log_bytes = t->t_write ? t->t_log.jb_len : 0;
    return t->t_write ? t->t_nops : 0;
}

/* ---- the operation log and map growth ----------------------------------- */

typedef struct log_hdr {
    uint32_t lh_dbi;
    uint32_t lh_klen;
    uint32_t lh_vlen;
    uint8_t lh_op; /* LOG_PUT, LOG_DEL */
    uint8_t lh_append;
    uint8_t lh_pad[2];
} log_hdr;

int store_log_op(store_txn *t, int op, MDB_dbi dbi, const MDB_val *k, const MDB_val *v, bool append,
                 err_info *e)
{
    log_hdr h = {
        (uint32_t)dbi, (uint32_t)k->mv_size, v ? (uint32_t)v->mv_size : 0, (uint8_t)op, append,
        {0, 0}};
    jbuf *b = &t->t_log;
    if (!jb_reserve(b, sizeof(h) + h.lh_klen + h.lh_vlen))
        return err_set(e, ERR_NOMEM, "store: out of memory for the batch's replay log");
    char *p = b->jb_data + b->jb_len;
    memcpy(p, &h, sizeof(h));
    memcpy(p + sizeof(h), k->mv_data, h.lh_klen);
    if (h.lh_vlen)
        memcpy(p + sizeof(h) + h.lh_klen, v->mv_data, h.lh_vlen);
    b->jb_len += sizeof(h) + h.lh_klen + h.lh_vlen;
    t->t_nops++;
    return 0;
}

/* Re-applies the log to a fresh transaction. */
static int replay(store_txn *t, err_info *e)
{
    const char *p = t->t_log.jb_data, *end = p + t->t_log.jb_len;
    while (p < end) {
        log_hdr h;
        memcpy(&h, p, sizeof(h));
        p += sizeof(h);
        MDB_val k = {h.lh_klen, (void *)p};
        p += h.lh_klen;
        MDB_val v = {h.lh_vlen, (void *)p};
        p += h.lh_vlen;
        int rc = h.lh_op == LOG_PUT
                     ? mdb_put(t->t_txn, h.lh_dbi, &k, &v, h.lh_append ? MDB_APPEND : 0)
                     : mdb_del(t->t_txn, h.lh_dbi, &k, NULL);
        if (rc == MDB_MAP_FULL)
            return ERR_MAP_FULL;
        if (rc)
            return store_mdb_fail(e, rc, "replaying the batch after growing the map");
    }
    return 0;
}

/* The batch hit MDB_MAP_FULL: abort it (unless the commit already ended
 * it), double the map and replay the log, doubling again while the replay
 * itself does not fit. On failure the batch is dead. */
static int txn_grow(store_txn *t, err_info *e)
{
    store *s = t->t_store;
    close_cursors(t);
    if (t->t_txn)
        mdb_txn_abort(t->t_txn);
    t->t_txn = NULL;
    t->t_dead = true;
    for (;;) {
        size_t cur = current_map_bytes(s);
        if (s->s_readers > 0)
            return err_set(e, ERR_MAP_FULL,
                           "store: the map (%zu MiB) is full and cannot grow while %u read "
                           "transactions are open",
                           cur >> 20, s->s_readers);
        if (cur >= s->s_map_max_bytes)
            return err_set(e, ERR_MAP_FULL,
                           "store: the map is full at its limit of %zu MiB; raise the limit or "
                           "commit smaller batches",
                           s->s_map_max_bytes >> 20);
        size_t next = cur > s->s_map_max_bytes / 2 ? s->s_map_max_bytes : cur * 2;
        int rc = mdb_env_set_mapsize(s->s_env, next);
        if (rc)
            return store_mdb_fail(e, rc, "grow the map");
        s->s_map_grows++;
        rc = mdb_txn_begin(s->s_env, NULL, 0, &t->t_txn);
        if (rc) {
            t->t_txn = NULL;
            return store_mdb_fail(e, rc, "begin the batch again after growing the map");
        }
        rc = replay(t, e);
        if (rc == 0) {
            t->t_dead = false;
            return 0;
        }
        mdb_txn_abort(t->t_txn);
        t->t_txn = NULL;
        if (rc != ERR_MAP_FULL)
            return rc;
    }
}

int store_check_write(store_txn *t, err_info *e)
{
    if (!t || !t->t_write)
        return err_set(e, ERR_INVALID, "store: a write needs a write batch");
    if (t->t_dead)
        return err_set(e, ERR_INVALID, "store: the batch failed earlier; abort it");
    return 0;
}

/* Runs one write operation; on MDB_MAP_FULL rolls the log back to where the
 * operation began, grows, replays and runs it again. Any other failure kills
 * the batch. */

int store_run_write(store_txn *t, store_write_fn fn, void *arg, err_info *e)
{
    for (;;) {
        size_t mark = t->t_log.jb_len, nops = t->t_nops;
        int rc = fn(t, arg, e);
        if (rc == 0)
            return 0;
        if (rc != ERR_MAP_FULL) {
            t->t_dead = true;
            return rc;
        }
        t->t_log.jb_len = mark;
        t->t_nops = nops;
        rc = txn_grow(t, e);
        if (rc)
            return rc;
    }
}

int store_txn_commit(store_txn *t, err_info *e)
{
    if (!t)
        return err_set(e, ERR_INVALID, "store: commit of no transaction");
    if (!t->t_write) {
        store_txn_abort(t); /* a read snapshot has nothing to commit */
        return 0;
    }
    if (t->t_dead) {
        store_txn_abort(t);
        return err_set(e, ERR_INVALID, "store: the batch failed earlier and was aborted");
    }
    int rc;
    for (;;) {
        close_cursors(t);
        /* In the loop: a batch replayed into a grown map needs it again. */
        rc = note_writer(t->t_store, t->t_txn);
        if (rc == 0) {
            rc = mdb_txn_commit(t->t_txn);
            t->t_txn = NULL; /* freed by LMDB whatever the outcome */
        }
        if (rc != MDB_MAP_FULL)
            break;
        t->t_store->s_map_grows_at_commit++;
        rc = txn_grow(t, e);
        if (rc) {
            txn_release(t);
            return rc;
        }
    }
    store *s = t->t_store;
    if (t->t_txn) { /* the note failed: the batch is not committed */
        mdb_txn_abort(t->t_txn);
        t->t_txn = NULL;
    }
    txn_release(t);
    if (rc)
        return disk_fail(s, e, rc, "commit");
    s->s_writer_noted = true;
    return 0;
}

/* The batch's cursor on `dbi`, opened on first use. */
int store_txn_cursor(store_txn *t, MDB_dbi dbi, MDB_cursor **c, err_info *e)
{
    if (dbi >= STORE_DBI_SLOTS)
        return err_set(e, ERR_STORE, "store: database handle %u out of range", dbi);
    if (!t->t_cursor[dbi]) {
        int rc = mdb_cursor_open(t->t_txn, dbi, &t->t_cursor[dbi]);
        if (rc) {
            t->t_cursor[dbi] = NULL;
            return store_mdb_fail(e, rc, "open a cursor");
        }
    }
    *c = t->t_cursor[dbi];
    return 0;
}

/* ---- replacing a parent's set -------------------------------------------- */

typedef struct replace_arg {
    hs_table ra_table;
    MDB_dbi ra_dbi;
    uint64_t ra_parent_id;
    const assoc_buf *ra_buf; /* NULL with ra_nlinks 0 */
    const assoc_link *ra_links;
    uint32_t ra_nlinks;
    store_set_delta ra_delta; /* of the last (successful) attempt */
} replace_arg;

/* Reads where the cursor stands: *have when it is a link of parent_id. */
static int cursor_at(const MDB_val *k, uint64_t parent_id, bool *have, uint64_t *child, err_info *e)
{
    if (k->mv_size != ASSOC_KEY_BYTES)
        return err_set(e, ERR_CORRUPT, "store: association key of %zu bytes (want 16)", k->mv_size);
    *have = get_be64(k->mv_data) == parent_id;
    *child = get_be64((const uint8_t *)k->mv_data + 8);
    return 0;
}

/* MDB_NEXT after the current item (or after a delete: the item that took the
 * deleted one's place). At the end of the database, *append turns on: every
 * key still to insert is greater than any stored. */
static int cursor_next(MDB_cursor *c, MDB_val *k, MDB_val *v, uint64_t parent_id, bool *have,
                       uint64_t *child, bool *append, err_info *e)
{
    int rc = mdb_cursor_get(c, k, v, MDB_NEXT);
    if (rc == MDB_NOTFOUND) {
        *have = false;
        *append = true;
        return 0;
    }
    if (rc)
        return store_mdb_fail(e, rc, "walk a parent's links");
    return cursor_at(k, parent_id, have, child, e);
}

static int replace_op(store_txn *t, void *arg, err_info *e)
{
    replace_arg *ra = arg;
    store_set_delta d = {0, 0, 0, 0};
    MDB_cursor *c = NULL;
    int rc = store_txn_cursor(t, ra->ra_dbi, &c, e);
    if (rc)
        return rc;
    uint8_t key[ASSOC_KEY_BYTES];
    put_be64(key, ra->ra_parent_id);
    put_be64(key + 8, 0);
    MDB_val k = {sizeof(key), key}, v = {0, NULL};
    bool have = false, append = false;
    uint64_t have_child = 0;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND) {
        append = true; /* nothing at or after this parent: appends are in order */
    } else if (rc) {
        return store_mdb_fail(e, rc, "seek a parent's links");
    } else if ((rc = cursor_at(&k, ra->ra_parent_id, &have, &have_child, e)) != 0) {
        return rc;
    }
    uint32_t i = 0;
    while (have || i < ra->ra_nlinks) {
        if (have && (i == ra->ra_nlinks || have_child < ra->ra_links[i].al_child_id)) {
            /* A stored link the new set does not have. */
            if ((rc = mdb_cursor_del(c, 0)) != 0)
                return store_mdb_fail(e, rc, "delete a link");
            put_be64(key + 8, have_child);
            MDB_val dk = {sizeof(key), key};
            if ((rc = store_log_op(t, LOG_DEL, ra->ra_dbi, &dk, NULL, false, e)) != 0 ||
                (rc = store_feed_note(t, ra->ra_table, ra->ra_parent_id, have_child, NULL, e)) != 0)
                return rc;
            d.sd_removed++;
            rc = cursor_next(c, &k, &v, ra->ra_parent_id, &have, &have_child, &append, e);
            if (rc)
                return rc;
            continue;
        }
        const assoc_link *l = &ra->ra_links[i++];
        size_t len = 0;
        if ((rc = store_encode_types(t, ra->ra_buf, l, &len, e)) != 0)
            return rc;
        put_be64(key + 8, l->al_child_id);
        MDB_val nk = {sizeof(key), key}, nv = {len, t->t_val};
        if (have && have_child == l->al_child_id) {
            if (v.mv_size == len && memcmp(v.mv_data, t->t_val, len) == 0) {
                d.sd_unchanged++;
            } else {
                if ((rc = mdb_cursor_put(c, &nk, &nv, MDB_CURRENT)) != 0)
                    return store_mdb_fail(e, rc, "relabel a link");
                if ((rc = store_log_op(t, LOG_PUT, ra->ra_dbi, &nk, &nv, false, e)) != 0 ||
                    (rc = store_feed_note(t, ra->ra_table, ra->ra_parent_id, l->al_child_id, &nv,
                                          e)) != 0)
                    return rc;
                d.sd_relabelled++;
            }
            rc = cursor_next(c, &k, &v, ra->ra_parent_id, &have, &have_child, &append, e);
            if (rc)
                return rc;
            continue;
        }
        /* A new link, before the stored one the cursor is at (or past the
         * parent's stored links). */
        rc = mdb_cursor_put(c, &nk, &nv, append ? MDB_APPEND : 0);
        if (rc)
            return store_mdb_fail(e, rc, "add a link");
        if ((rc = store_log_op(t, LOG_PUT, ra->ra_dbi, &nk, &nv, append, e)) != 0 ||
            (rc = store_feed_note(t, ra->ra_table, ra->ra_parent_id, l->al_child_id, &nv, e)) != 0)
            return rc;
        d.sd_added++;
        if (have) {
            /* The cursor is on the new link; the stored one is next. */
            rc = cursor_next(c, &k, &v, ra->ra_parent_id, &have, &have_child, &append, e);
            if (rc)
                return rc;
        }
    }
    ra->ra_delta = d;
    return 0;
}

static void delta_add(store_set_delta *to, const store_set_delta *d)
{
    if (!to)
        return;
    to->sd_added += d->sd_added;
    to->sd_removed += d->sd_removed;
    to->sd_relabelled += d->sd_relabelled;
    to->sd_unchanged += d->sd_unchanged;
}

int store_replace_set(store_txn *t, hs_table table, const assoc_buf *b, size_t parent_index,
                      store_set_delta *delta, err_info *e)
{
    int rc = store_check_write(t, e);
    if (rc)
        return rc;
    replace_arg ra;
    memset(&ra, 0, sizeof(ra));
    bool present = false;
    if ((rc = store_table_dbi(t->t_store, table, &ra.ra_dbi, &present, e)) != 0)
        return rc;
    if (!b || parent_index >= b->ab_nparents)
        return err_set(e, ERR_INVALID, "store: parent index %zu out of range", parent_index);
    const assoc_parent *p = &b->ab_parents[parent_index];
    if (p->ap_has_more)
        return err_set(e, ERR_INVALID,
                       "store: parent %llu: its set is incomplete (more pages to read)",
                       (unsigned long long)p->ap_parent_id);
    ra.ra_table = table;
    ra.ra_parent_id = p->ap_parent_id;
    ra.ra_buf = b;
    ra.ra_links = assoc_links(b, p);
    ra.ra_nlinks = p->ap_nlinks;
    for (uint32_t i = 1; i < ra.ra_nlinks; i++)
        if (ra.ra_links[i - 1].al_child_id >= ra.ra_links[i].al_child_id)
            return err_set(e, ERR_INVALID,
                           "store: parent %llu: links not in canonical order "
                           "(assoc_buf_finish_parent)",
                           (unsigned long long)p->ap_parent_id);
    rc = store_run_write(t, replace_op, &ra, e);
    if (rc == 0)
        delta_add(delta, &ra.ra_delta);
    return rc;
}

int store_delete_parent(store_txn *t, hs_table table, uint64_t parent_id, store_set_delta *delta,
                        err_info *e)
{
    int rc = store_check_write(t, e);
    if (rc)
        return rc;
    replace_arg ra;
    memset(&ra, 0, sizeof(ra));
    bool present = false;
    if ((rc = store_table_dbi(t->t_store, table, &ra.ra_dbi, &present, e)) != 0)
        return rc;
    ra.ra_table = table;
    ra.ra_parent_id = parent_id;
    rc = store_run_write(t, replace_op, &ra, e);
    if (rc == 0)
        delta_add(delta, &ra.ra_delta);
    return rc;
}

int store_get_set(store_txn *t, hs_table table, uint64_t parent_id, assoc_buf *out, err_info *e)
{
    MDB_dbi dbi = 0;
    bool present = false;
    int rc = store_table_dbi(t->t_store, table, &dbi, &present, e);
    if (rc)
        return rc;
    if (assoc_buf_begin_parent(out, parent_id))
        return err_set(e, ERR_NOMEM, "store: out of memory");
    if (!present)
        return assoc_buf_finish_parent(out) ? err_set(e, ERR_NOMEM, "store: out of memory") : 0;
    MDB_cursor *c = NULL;
    if ((rc = mdb_cursor_open(t->t_txn, dbi, &c)) != 0)
        return store_mdb_fail(e, rc, "open a cursor");
    uint8_t key[ASSOC_KEY_BYTES];
    put_be64(key, parent_id);
    put_be64(key + 8, 0);
    MDB_val k = {sizeof(key), key}, v;
    store_type *types = NULL;
    size_t cap = 0, n;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        bool have;
        uint64_t child;
        if ((rc = cursor_at(&k, parent_id, &have, &child, e)) != 0)
            goto done;
        if (!have)
            break;
        if ((rc = store_decode_types(v.mv_data, v.mv_size, &types, &cap, &n)) != 0) {
            rc = damaged_types(t->t_store, e, rc, parent_id, child);
            goto done;
        }
        if (assoc_buf_add_link(out, child) != 0) {
            rc = err_set(e, ERR_NOMEM, "store: out of memory");
            goto done;
        }
        for (size_t j = 0; j < n; j++) {
            rc = assoc_buf_add_type(out, types[j].st_type_id, types[j].st_category,
                                    types[j].st_label, types[j].st_label_len);
            if (rc) {
                rc = err_set(e, rc, "store: parent %llu child %llu: cannot hold a type",
                             (unsigned long long)parent_id, (unsigned long long)child);
                goto done;
            }
        }
    }
    if (rc == MDB_NOTFOUND || rc == 0)
        rc = assoc_buf_finish_parent(out) ? err_set(e, ERR_NOMEM, "store: out of memory") : 0;
    else
        rc = store_mdb_fail(e, rc, "read a parent's links");
done:
    mdb_cursor_close(c);
    free(types);
    return rc;
}

static int count_entries(store_txn *t, MDB_dbi dbi, bool present, uint64_t *count, err_info *e)
{
    *count = 0;
    if (!present)
        return 0;
    MDB_stat st;
    int rc = mdb_stat(t->t_txn, dbi, &st);
    if (rc)
        return store_mdb_fail(e, rc, "mdb_stat");
    *count = st.ms_entries;
    return 0;
}

int store_count_assoc(store_txn *t, hs_table table, uint64_t *count, err_info *e)
{
    MDB_dbi dbi = 0;
    bool present = false;
    int rc = store_table_dbi(t->t_store, table, &dbi, &present, e);
    return rc ? rc : count_entries(t, dbi, present, count, e);
}

/* ---- iterating associations ---------------------------------------------- */

int store_assoc_iter_open(store_txn *t, hs_table table, uint64_t from_parent_id,
                          store_assoc_iter **out, err_info *e)
{
    *out = NULL;
    if (!t || !t->t_txn)
        return err_set(e, ERR_INVALID, "store: iterator needs an open transaction");
    MDB_dbi dbi = 0;
    bool present = false;
    int rc = store_table_dbi(t->t_store, table, &dbi, &present, e);
    if (rc)
        return rc;
    store_assoc_iter *it = calloc(1, sizeof(*it));
    if (!it)
        return err_set(e, ERR_NOMEM, "store: out of memory");
    it->it_txn = t;
    it->it_from_parent = from_parent_id;
    if (!present) {
        it->it_done = true;
    } else if ((rc = mdb_cursor_open(t->t_txn, dbi, &it->it_cursor)) != 0) {
        free(it);
        return store_mdb_fail(e, rc, "open a cursor");
    }
    it->it_next = t->t_iters;
    t->t_iters = it;
    *out = it;
    return 0;
}

int store_assoc_iter_next(store_assoc_iter *it, store_assoc *row, err_info *e)
{
    if (it->it_done)
        return ERR_NOT_FOUND;
    if (!it->it_txn || !it->it_cursor)
        return err_set(e, ERR_INVALID, "store: the iterator's transaction has ended");
    MDB_val k = {0, NULL}, v = {0, NULL};
    int rc;
    if (!it->it_started) {
        uint8_t key[ASSOC_KEY_BYTES];
        put_be64(key, it->it_from_parent);
        put_be64(key + 8, 0);
        k.mv_size = sizeof(key);
        k.mv_data = key;
        rc = mdb_cursor_get(it->it_cursor, &k, &v, MDB_SET_RANGE);
        it->it_started = true;
    } else {
        rc = mdb_cursor_get(it->it_cursor, &k, &v, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND) {
        it->it_done = true;
        return ERR_NOT_FOUND;
    }
    if (rc)
        return store_mdb_fail(e, rc, "iterate associations");
    if (k.mv_size != ASSOC_KEY_BYTES)
        return err_set(e, ERR_CORRUPT, "store: association key of %zu bytes (want 16)", k.mv_size);
    row->sa_parent_id = get_be64(k.mv_data);
    row->sa_child_id = get_be64((const uint8_t *)k.mv_data + 8);
    rc =
        store_decode_types(v.mv_data, v.mv_size, &it->it_types, &it->it_types_cap, &row->sa_ntypes);
    if (rc)
        return damaged_types(it->it_txn->t_store, e, rc, row->sa_parent_id, row->sa_child_id);
    row->sa_types = it->it_types;
    return 0;
}

void store_assoc_iter_close(store_assoc_iter *it)
{
    if (!it)
        return;
    if (it->it_txn) {
        store_assoc_iter **pp = &it->it_txn->t_iters;
        while (*pp && *pp != it)
            pp = &(*pp)->it_next;
        if (*pp)
            *pp = it->it_next;
        if (it->it_cursor)
            mdb_cursor_close(it->it_cursor);
    }
    free(it->it_types);
    free(it);
}

/* ---- objects ------------------------------------------------------------- */

typedef struct kv_arg {
    MDB_dbi kv_dbi;
    MDB_val kv_key;
    MDB_val kv_val; /* mv_data NULL: a delete */
    bool kv_found;
} kv_arg;

static int kv_op(store_txn *t, void *arg, err_info *e)
{
    kv_arg *a = arg;
    int rc;
    if (a->kv_val.mv_data) {
        rc = mdb_put(t->t_txn, a->kv_dbi, &a->kv_key, &a->kv_val, 0);
        if (rc)
            return store_mdb_fail(e, rc, "put");
        return store_log_op(t, LOG_PUT, a->kv_dbi, &a->kv_key, &a->kv_val, false, e);
    }
    rc = mdb_del(t->t_txn, a->kv_dbi, &a->kv_key, NULL);
    a->kv_found = rc == 0;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return store_mdb_fail(e, rc, "delete");
    return store_log_op(t, LOG_DEL, a->kv_dbi, &a->kv_key, NULL, false, e);
}

int store_put_object(store_txn *t, hs_object_type type, const store_object *o, err_info *e)
{
    int rc = store_check_write(t, e);
    if (rc)
        return rc;
    kv_arg a;
    memset(&a, 0, sizeof(a));
    bool present = false;
    if ((rc = object_dbi(t->t_store, type, &a.kv_dbi, &present, e)) != 0)
        return rc;
    uint8_t key[OBJECT_KEY_BYTES], val[16];
    put_be64(key, o->ob_id);
    a.kv_key = (MDB_val){sizeof(key), key};
    a.kv_val = (MDB_val){encode_object(val, o), val};
    return store_run_write(t, kv_op, &a, e);
}

int store_delete_object(store_txn *t, hs_object_type type, uint64_t id, bool *found, err_info *e)
{
    int rc = store_check_write(t, e);
    if (rc)
        return rc;
    kv_arg a;
    memset(&a, 0, sizeof(a));
    bool present = false;
    if ((rc = object_dbi(t->t_store, type, &a.kv_dbi, &present, e)) != 0)
        return rc;
    uint8_t key[OBJECT_KEY_BYTES];
    put_be64(key, id);
    a.kv_key = (MDB_val){sizeof(key), key};
    a.kv_val = (MDB_val){0, NULL};
    a.kv_found = false;
    rc = store_run_write(t, kv_op, &a, e);
    if (found)
        *found = rc == 0 && a.kv_found;
    return rc;
}

int store_get_object(store_txn *t, hs_object_type type, uint64_t id, store_object *out, err_info *e)
{
    MDB_dbi dbi = 0;
    bool present = false;
    int rc = object_dbi(t->t_store, type, &dbi, &present, e);
    if (rc)
        return rc;
    if (!present)
        return err_set(e, ERR_NOT_FOUND, "store: no %s %llu", hs_object(type)->oi_singular,
                       (unsigned long long)id);
    uint8_t key[OBJECT_KEY_BYTES];
    put_be64(key, id);
    MDB_val k = {sizeof(key), key}, v;
    rc = mdb_get(t->t_txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return err_set(e, ERR_NOT_FOUND, "store: no %s %llu", hs_object(type)->oi_singular,
                       (unsigned long long)id);
    if (rc)
        return store_mdb_fail(e, rc, "read an object");
    return decode_object(&k, &v, out, e);
}

int store_objects_from(store_txn *t, hs_object_type type, uint64_t from_id, store_object *out,
                       size_t max, size_t *n, err_info *e)
{
    MDB_dbi dbi = 0;
    bool present = false;
    *n = 0;
    int rc = object_dbi(t->t_store, type, &dbi, &present, e);
    if (rc || !present || max == 0)
        return rc;
    MDB_cursor *c = NULL;
    if ((rc = mdb_cursor_open(t->t_txn, dbi, &c)) != 0)
        return store_mdb_fail(e, rc, "open a cursor");
    uint8_t key[OBJECT_KEY_BYTES];
    put_be64(key, from_id);
    MDB_val k = {sizeof(key), key}, v;
    int bad = 0; /* a record that does not decode: a project error code */
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && *n < max;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if ((bad = decode_object(&k, &v, &out[*n], e)) != 0)
            break;
        (*n)++;
    }
    mdb_cursor_close(c);
    if (bad)
        return bad;
    if (rc == MDB_NOTFOUND || rc == 0)
        return 0;
    return store_mdb_fail(e, rc, "iterate objects");
}

int store_count_objects(store_txn *t, hs_object_type type, uint64_t *count, err_info *e)
{
    MDB_dbi dbi = 0;
    bool present = false;
    int rc = object_dbi(t->t_store, type, &dbi, &present, e);
    return rc ? rc : count_entries(t, dbi, present, count, e);
}

/* ---- msgpack-c records: shared decoding helpers --------------------------- */

/* Unpacks a whole record with msgpack-c after mp_skip proved it bounded and
 * complete; it must be a map. *up is initialised by the caller, who destroys
 * it. */
static int unpack_record(const void *data, size_t len, msgpack_unpacked *up, const char *what,
                         err_info *e)
{
    mp_cur r = mp_cur_of(data, len);
    if (len == 0 || mp_skip(&r, MP_MAX_DEPTH) != MP_OK || !mp_at_end(&r))
        return err_set(e, ERR_CORRUPT, "store: %s record is not one complete msgpack value", what);
    size_t off = 0;
    msgpack_unpack_return ret = msgpack_unpack_next(up, (const char *)data, len, &off);
    if (ret == MSGPACK_UNPACK_NOMEM_ERROR)
        return err_set(e, ERR_NOMEM, "store: out of memory decoding a %s record", what);
    if (ret != MSGPACK_UNPACK_SUCCESS || off != len)
        return err_set(e, ERR_CORRUPT, "store: %s record does not decode", what);
    if (up->data.type != MSGPACK_OBJECT_MAP)
        return err_set(e, ERR_CORRUPT, "store: %s record is not a map", what);
    return 0;
}

static bool obj_str_eq(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

static bool obj_u64(const msgpack_object *o, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *v = o->via.u64;
    return true;
}

static bool obj_i64(const msgpack_object *o, int64_t *v)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *v = o->via.i64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *v = (int64_t)o->via.u64;
        return true;
    }
    return false;
}

/* The record's "v", which must be `want`. */
static int check_version(const msgpack_object *map, uint64_t want, const char *what, err_info *e)
{
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (!obj_str_eq(&kv->key, "v"))
            continue;
        uint64_t v;
        if (!obj_u64(&kv->val, &v))
            return err_set(e, ERR_CORRUPT, "store: %s record: version is not a number", what);
        if (v != want)
            return err_set(e, ERR_CORRUPT,
                           "store: %s record version %llu is unknown to this build (reads %llu)",
                           what, (unsigned long long)v, (unsigned long long)want);
        return 0;
    }
    return err_set(e, ERR_CORRUPT, "store: %s record has no version", what);
}

/* The packers return 0 or -1 (a failed allocation); encoders OR them
 * together so that a half-written record is never stored. */
static int pack_key(msgpack_packer *pk, const char *k)
{
    size_t n = strlen(k);
    return msgpack_pack_str(pk, n) | msgpack_pack_str_body(pk, k, n);
}

static int pack_cstr(msgpack_packer *pk, const char *k, const char *v)
{
    return pack_key(pk, k) | pack_key(pk, v);
}

static int pack_bool(msgpack_packer *pk, bool b)
{
    return b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

/* Hands the sbuffer's bytes to the caller unless packing failed. */
static int sbuffer_out(msgpack_sbuffer *sb, int failed, void **out, size_t *len, err_info *e)
{
    if (failed || !sb->data) {
        msgpack_sbuffer_destroy(sb);
        return err_set(e, ERR_NOMEM, "store: out of memory encoding a record");
    }
    *len = sb->size;
    *out = msgpack_sbuffer_release(sb);
    msgpack_sbuffer_destroy(sb);
    return 0;
}

/* ---- schema records ------------------------------------------------------ */

static const char *const ping_names[] = {"read_full_ping", "read_incremental_ping"};

const char *store_ping_type_name(store_ping_type p)
{
    return (unsigned)p <= STORE_PING_INCREMENTAL ? ping_names[p] : "unknown";
}

void store_schema_init(store_schema *sc)
{
    memset(sc, 0, sizeof(*sc));
}

void store_schema_free(store_schema *sc)
{
    for (size_t i = 0; i < sc->sc_nrollup_field_labels; i++)
        free(sc->sc_rollup_field_labels[i]);
    free(sc->sc_rollup_field_labels);
    store_schema_init(sc);
}

/* Bytewise comparison of a NUL-free label with a C string. */
static int label_cmp(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

int store_schema_add_label(store_schema *sc, const char *label, size_t len)
{
    if (!label || memchr(label, '\0', len))
        return err_set(NULL, ERR_INVALID, "label with a NUL");
    size_t lo = 0, hi = sc->sc_nrollup_field_labels;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = label_cmp(label, len, sc->sc_rollup_field_labels[mid]);
        if (c == 0)
            return 0;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    char *copy = malloc(len + 1);
    char **grown =
        realloc(sc->sc_rollup_field_labels, (sc->sc_nrollup_field_labels + 1) * sizeof(*grown));
    if (!copy || !grown) {
        free(copy);
        if (grown)
            sc->sc_rollup_field_labels = grown;
        return ERR_NOMEM;
    }
    memcpy(copy, label, len);
    copy[len] = '\0';
    sc->sc_rollup_field_labels = grown;
    memmove(grown + lo + 1, grown + lo, (sc->sc_nrollup_field_labels - lo) * sizeof(*grown));
    grown[lo] = copy;
    sc->sc_nrollup_field_labels++;
    return 0;
}

static bool labels_sorted(const store_schema *sc)
{
    for (size_t i = 1; i < sc->sc_nrollup_field_labels; i++)
        if (strcmp(sc->sc_rollup_field_labels[i - 1], sc->sc_rollup_field_labels[i]) >= 0)
            return false;
    return true;
}

int store_schema_encode(const store_schema *sc, void **out, size_t *len, err_info *e)
{
    if ((unsigned)sc->sc_ping_type > STORE_PING_INCREMENTAL)
        return err_set(e, ERR_INVALID, "store: unknown ping type %d", (int)sc->sc_ping_type);
    if (!labels_sorted(sc))
        return err_set(e, ERR_INVALID, "store: rollup field labels not sorted and distinct");
    if (!memchr(sc->sc_rollup_fields_object_id, '\0', sizeof(sc->sc_rollup_fields_object_id)))
        return err_set(e, ERR_INVALID, "store: rollup_fields_object_id not terminated");
    if (sc->sc_rollups_since_ms < 0)
        return err_set(e, ERR_INVALID, "store: negative rollups_since_ms");
    if (!memchr(sc->sc_count_field, '\0', sizeof(sc->sc_count_field)))
        return err_set(e, ERR_INVALID, "store: count_field not terminated");
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int failed = msgpack_pack_map(&pk, 7);
    failed |= pack_key(&pk, "v") | msgpack_pack_uint64(&pk, STORE_SCHEMA_RECORD_VERSION);
    failed |= pack_cstr(&pk, "ping_type", store_ping_type_name(sc->sc_ping_type));
    failed |= pack_key(&pk, "supports_roll_up") | pack_bool(&pk, sc->sc_supports_roll_up);
    failed |= pack_key(&pk, "rollup_field_labels");
    failed |= msgpack_pack_array(&pk, sc->sc_nrollup_field_labels);
    for (size_t i = 0; i < sc->sc_nrollup_field_labels; i++)
        failed |= pack_key(&pk, sc->sc_rollup_field_labels[i]);
    failed |= pack_cstr(&pk, "rollup_fields_object_id", sc->sc_rollup_fields_object_id);
    failed |= pack_key(&pk, "rollups_since_ms") | msgpack_pack_int64(&pk, sc->sc_rollups_since_ms);
    failed |= pack_cstr(&pk, "count_field", sc->sc_count_field);
    return sbuffer_out(&sb, failed, out, len, e);
}

/* Copies a msgpack string into a fixed buffer; false when it does not fit or
 * holds a NUL. */
static bool obj_copy_str(const msgpack_object *o, char *buf, size_t size)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= size ||
        memchr(o->via.str.ptr, '\0', o->via.str.size))
        return false;
    memcpy(buf, o->via.str.ptr, o->via.str.size);
    buf[o->via.str.size] = '\0';
    return true;
}

int store_schema_decode(const void *data, size_t len, store_schema *sc, err_info *e)
{
    store_schema_free(sc);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    int rc = unpack_record(data, len, &up, "schema", e);
    if (rc)
        goto done;
    const msgpack_object *map = &up.data;
    if ((rc = check_version(map, STORE_SCHEMA_RECORD_VERSION, "schema", e)) != 0)
        goto done;
    unsigned seen = 0; /* bit per required field */
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key, *v = &map->via.map.ptr[i].val;
        if (obj_str_eq(k, "ping_type")) {
            if (obj_str_eq(v, ping_names[STORE_PING_FULL]))
                sc->sc_ping_type = STORE_PING_FULL;
            else if (obj_str_eq(v, ping_names[STORE_PING_INCREMENTAL]))
                sc->sc_ping_type = STORE_PING_INCREMENTAL;
            else
                goto bad;
            seen |= 1;
        } else if (obj_str_eq(k, "supports_roll_up")) {
            if (v->type != MSGPACK_OBJECT_BOOLEAN)
                goto bad;
            sc->sc_supports_roll_up = v->via.boolean;
            seen |= 2;
        } else if (obj_str_eq(k, "rollup_field_labels")) {
            if (v->type != MSGPACK_OBJECT_ARRAY || (seen & 4))
                goto bad;
            for (uint32_t j = 0; j < v->via.array.size; j++) {
                const msgpack_object *l = &v->via.array.ptr[j];
                if (l->type != MSGPACK_OBJECT_STR || memchr(l->via.str.ptr, '\0', l->via.str.size))
                    goto bad;
                /* Must arrive sorted and distinct: append after the last. */
                size_t n = sc->sc_nrollup_field_labels;
                if (n && label_cmp(l->via.str.ptr, l->via.str.size,
                                   sc->sc_rollup_field_labels[n - 1]) <= 0)
                    goto bad;
                if (store_schema_add_label(sc, l->via.str.ptr, l->via.str.size)) {
                    rc = err_set(e, ERR_NOMEM, "store: out of memory decoding a schema");
                    goto done;
                }
            }
            seen |= 4;
        } else if (obj_str_eq(k, "rollup_fields_object_id")) {
            if (!obj_copy_str(v, sc->sc_rollup_fields_object_id,
                              sizeof(sc->sc_rollup_fields_object_id)))
                goto bad;
            seen |= 8;
        } else if (obj_str_eq(k, "rollups_since_ms")) {
            /* Optional: a record written before it existed reads as 0. */
            if (!obj_i64(v, &sc->sc_rollups_since_ms) || sc->sc_rollups_since_ms < 0)
                goto bad;
        } else if (obj_str_eq(k, "count_field")) {
            /* Optional too: a record without it names no count rollup. */
            if (!obj_copy_str(v, sc->sc_count_field, sizeof(sc->sc_count_field)))
                goto bad;
        }
    }
    if (seen != 15)
        goto bad;
    rc = 0;
    goto done;
bad:
    rc = err_set(e, ERR_CORRUPT,
                 "store: schema record is damaged (a field is missing or of "
                 "the wrong type)");
done:
    if (rc)
        store_schema_free(sc);
    msgpack_unpacked_destroy(&up);
    return rc;
}

/* Records are keyed by table name: the canonical name. */
int store_table_key(hs_table table, char *buf, size_t size, MDB_val *k, err_info *e)
{
    if (!store_table_ok(table))
        return err_set(e, ERR_INVALID, "store: not a canonical association table");
    k->mv_size = hs_table_name(table, buf, size);
    k->mv_data = buf;
    return 0;
}

static int state_key(const char *name, MDB_val *k, err_info *e)
{
    size_t n = name ? strnlen(name, STORE_NAME_MAX) : 0;
    if (n == 0 || n >= STORE_NAME_MAX)
        return err_set(e, ERR_INVALID, "store: state name must be 1 to %d bytes",
                       STORE_NAME_MAX - 1);
    k->mv_size = n;
    k->mv_data = (void *)name;
    return 0;
}

/* Puts an encoded record into `dbi` (schema or state) and frees it. */
static int put_record(store_txn *t, MDB_dbi dbi, MDB_val *k, void *rec, size_t len, err_info *e)
{
    kv_arg a;
    memset(&a, 0, sizeof(a));
    a.kv_dbi = dbi;
    a.kv_key = *k;
    a.kv_val = (MDB_val){len, rec};
    int rc = store_run_write(t, kv_op, &a, e);
    free(rec);
    return rc;
}

int store_put_schema(store_txn *t, hs_table table, const store_schema *sc, err_info *e)
{
    int rc = store_check_write(t, e);
    if (rc)
        return rc;
    char name[64];
    MDB_val k = {0, NULL};
    void *rec;
    size_t len = 0;
    if ((rc = store_table_key(table, name, sizeof(name), &k, e)) != 0 ||
        (rc = store_schema_encode(sc, &rec, &len, e)) != 0)
        return rc;
    return put_record(t, t->t_store->s_schema, &k, rec, len, e);
}

int store_get_schema(store_txn *t, hs_table table, store_schema *sc, err_info *e)
{
    char name[64];
    MDB_val k = {0, NULL}, v = {0, NULL};
    int rc = store_table_key(table, name, sizeof(name), &k, e);
    if (rc)
        return rc;
    if (!t->t_store->s_has_meta)
        return err_set(e, ERR_NOT_FOUND, "store: no schema for %s (run setup)", name);
    rc = mdb_get(t->t_txn, t->t_store->s_schema, &k, &v);
    if (rc == MDB_NOTFOUND)
        return err_set(e, ERR_NOT_FOUND, "store: no schema for %s (run setup)", name);
    if (rc)
        return store_mdb_fail(e, rc, "read a schema");
    rc = store_schema_decode(v.mv_data, v.mv_size, sc, e);
    return rc ? err_wrap(e, "%s: ", name) : 0;
}

/* ---- association labels ------------------------------------------------- */

/* Decodes a stored label catalog [read_ms, types]: the time into *read_ms,
 * and the types into *types (grown as needed) when types is not NULL, or
 * their bytes into *rest. */
static int decode_labels(const void *data, size_t len, int64_t *read_ms, store_type **types,
                         size_t *cap, size_t *count, MDB_val *rest)
{
    mp_cur r = mp_cur_of(data, len);
    uint32_t two;
    if (mp_array(&r, 1, &two) != MP_OK || two != 2 || mp_int(&r, 0, INT64_MAX, read_ms) != MP_OK)
        return ERR_CORRUPT;
    if (rest) {
        rest->mv_data = (void *)r.p;
        rest->mv_size = (size_t)(r.end - r.p);
        return 0;
    }
    return store_decode_types(r.p, (size_t)(r.end - r.p), types, cap, count);
}

int store_put_labels(store_txn *t, hs_table table, const assoc_buf *catalog, int64_t read_ms,
                     bool *changed, err_info *e)
{
    int rc = store_check_write(t, e);
    if (rc)
        return rc;
    char name[64];
    MDB_val k = {0, NULL}, old = {0, NULL};
    size_t len = 0;
    if ((rc = store_table_key(table, name, sizeof(name), &k, e)) != 0)
        return rc;
    if (catalog->ab_nparents != 1 || catalog->ab_parents[0].ap_nlinks != 1 || read_ms < 0)
        return err_set(e, ERR_INVALID,
                       "store: %s: a label catalog is one parent with one link, read at a time "
                       "after 1970",
                       name);
    const assoc_link *l = assoc_links(catalog, &catalog->ab_parents[0]);
    if ((rc = store_encode_types(t, catalog, l, &len, e)) != 0)
        return rc;
    /* [read_ms, types]: the types compared with what is stored. */
    uint8_t head[16];
    uint8_t *h = store_pack_int(store_pack_array(head, 2), read_ms);
    size_t hlen = (size_t)(h - head);
    rc = mdb_get(t->t_txn, t->t_store->s_labels, &k, &old);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return store_mdb_fail(e, rc, "read a label catalog");
    int64_t was_ms = 0;
    *changed = rc == MDB_NOTFOUND ||
               decode_labels(old.mv_data, old.mv_size, &was_ms, NULL, NULL, NULL, &old) != 0 ||
               old.mv_size != len || memcmp(old.mv_data, t->t_val, len) != 0;
    uint8_t *rec = malloc(hlen + len);
    if (!rec)
        return err_set(e, ERR_NOMEM, "store: out of memory");
    memcpy(rec, head, hlen);
    memcpy(rec + hlen, t->t_val, len);
    return put_record(t, t->t_store->s_labels, &k, rec, hlen + len, e);
}

int store_get_labels(store_txn *t, hs_table table, store_labels *out, err_info *e)
{
    char name[64];
    MDB_val k = {0, NULL}, v = {0, NULL};
    out->sl_count = 0;
    out->sl_read_ms = 0;
    int rc = store_table_key(table, name, sizeof(name), &k, e);
    if (rc)
        return rc;
    if (!t->t_store->s_has_meta || !t->t_store->s_has_labels)
        return err_set(e, ERR_NOT_FOUND, "store: no labels read for %s", name);
    rc = mdb_get(t->t_txn, t->t_store->s_labels, &k, &v);
    if (rc == MDB_NOTFOUND)
        return err_set(e, ERR_NOT_FOUND, "store: no labels read for %s", name);
    if (rc)
        return store_mdb_fail(e, rc, "read a label catalog");
    rc = decode_labels(v.mv_data, v.mv_size, &out->sl_read_ms, &out->sl_types, &out->sl_cap,
                       &out->sl_count, NULL);
    if (rc == ERR_NOMEM)
        return err_set(e, rc, "store: out of memory");
    if (rc)
        return err_set(e, ERR_CORRUPT,
                       "the stored association labels of %s are damaged: `hubsync setup "
                       "--tables %s` reads them again",
                       name, name);
    return 0;
}

void store_labels_free(store_labels *l)
{
    free(l->sl_types);
    memset(l, 0, sizeof(*l));
}

const store_type *store_labels_find(const store_labels *l, int32_t type_id, assoc_category category)
{
    for (size_t i = 0; i < l->sl_count; i++)
        if (l->sl_types[i].st_type_id == type_id && l->sl_types[i].st_category == category)
            return &l->sl_types[i];
    return NULL;
}

/* ---- state records ------------------------------------------------------- */

static const char *const cursor_kind_names[] = {"none", "object_id", "timestamp_ms"};
static const char *const route_names[STORE_ROUTE_COUNT] = {"none", "full_scan", "full_scan_resume",
                                                           "incremental"};

const char *store_cursor_kind_name(store_cursor_kind k)
{
    return (unsigned)k <= STORE_CURSOR_TIMESTAMP_MS ? cursor_kind_names[k] : "unknown";
}

const char *store_route_name(store_route r)
{
    return (unsigned)r < STORE_ROUTE_COUNT ? route_names[r] : "unknown";
}

static int check_cursor(const store_cursor *c, err_info *e)
{
    if ((unsigned)c->cu_kind > STORE_CURSOR_TIMESTAMP_MS)
        return err_set(e, ERR_INVALID, "store: unknown cursor kind %d", (int)c->cu_kind);
    if (c->cu_kind == STORE_CURSOR_TIMESTAMP_MS && c->cu_timestamp_ms < 0)
        return err_set(e, ERR_INVALID, "store: negative timestamp cursor %lld",
                       (long long)c->cu_timestamp_ms);
    return 0;
}

/* The done ranges: at most STORE_DONE_RANGES_MAX, each first ≤ last, each
 * starting above the previous one's end. Returns NULL when they are, else
 * what is wrong and *at the offending index. */
static const char *done_ranges_problem(const store_id_range *d, uint32_t n, uint32_t *at)
{
    *at = 0;
    if (n > STORE_DONE_RANGES_MAX)
        return "too many done ranges";
    for (uint32_t i = 0; i < n; i++) {
        *at = i;
        if (d[i].ir_first > d[i].ir_last)
            return "a done range ends before it starts";
        if (i > 0 && d[i].ir_first <= d[i - 1].ir_last)
            return "done ranges are not ascending and disjoint";
    }
    return NULL;
}

int store_state_encode(const store_state *st, void **out, size_t *len, err_info *e)
{
    int rc = check_cursor(&st->ss_cursor, e);
    if (rc)
        return rc;
    if (st->ss_scan_origin_ms < 0 || st->ss_verify_cycle_ended_ms < 0)
        return err_set(e, ERR_INVALID, "store: negative scan origin or verification time");
    const store_run *r = &st->ss_last_run;
    if ((unsigned)r->sr_route >= STORE_ROUTE_COUNT)
        return err_set(e, ERR_INVALID, "store: unknown route %d", (int)r->sr_route);
    uint32_t at;
    const char *problem = done_ranges_problem(st->ss_done, st->ss_ndone, &at);
    if (problem)
        return err_set(e, ERR_INVALID, "store: %s (%u ranges, at %u)", problem,
                       (unsigned)st->ss_ndone, (unsigned)at);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int failed = msgpack_pack_map(&pk, 11);
    failed |= pack_key(&pk, "v") | msgpack_pack_uint64(&pk, STORE_STATE_RECORD_VERSION);
    failed |= pack_cstr(&pk, "cursor_kind", store_cursor_kind_name(st->ss_cursor.cu_kind));
    failed |= pack_key(&pk, "cursor");
    switch (st->ss_cursor.cu_kind) {
    case STORE_CURSOR_OBJECT_ID:
        failed |= msgpack_pack_uint64(&pk, st->ss_cursor.cu_object_id);
        break;
    case STORE_CURSOR_TIMESTAMP_MS:
        failed |= msgpack_pack_int64(&pk, st->ss_cursor.cu_timestamp_ms);
        break;
    default:
        failed |= msgpack_pack_nil(&pk);
        break;
    }
    failed |= pack_key(&pk, "scan_started_ms") | msgpack_pack_int64(&pk, st->ss_scan_started_ms);
    failed |= pack_key(&pk, "scan_origin_ms") | msgpack_pack_int64(&pk, st->ss_scan_origin_ms);
    failed |= pack_key(&pk, "verify_next_id") | msgpack_pack_uint64(&pk, st->ss_verify_next_id);
    failed |= pack_key(&pk, "verify_cycles") | msgpack_pack_uint64(&pk, st->ss_verify_cycles);
    failed |= pack_key(&pk, "verify_cycle_ended_ms") |
              msgpack_pack_int64(&pk, st->ss_verify_cycle_ended_ms);
    failed |= pack_key(&pk, "runs") | msgpack_pack_uint64(&pk, st->ss_runs);
    failed |= pack_key(&pk, "last_run");
    size_t nfields = 4;
#define COUNT_FIELD(name) nfields++;
    STORE_RUN_COUNTERS(COUNT_FIELD)
#undef COUNT_FIELD
    failed |= msgpack_pack_map(&pk, nfields);
    failed |= pack_cstr(&pk, "route", store_route_name(r->sr_route));
    failed |= pack_key(&pk, "started_ms") | msgpack_pack_int64(&pk, r->sr_started_ms);
    failed |= pack_key(&pk, "finished_ms") | msgpack_pack_int64(&pk, r->sr_finished_ms);
    failed |= pack_key(&pk, "completed") | pack_bool(&pk, r->sr_completed);
#define PACK_FIELD(name) failed |= pack_key(&pk, #name) | msgpack_pack_uint64(&pk, r->sr_##name);
    STORE_RUN_COUNTERS(PACK_FIELD)
#undef PACK_FIELD
    failed |= pack_key(&pk, "done") | msgpack_pack_array(&pk, (size_t)st->ss_ndone * 2);
    for (uint32_t i = 0; i < st->ss_ndone; i++)
        failed |= msgpack_pack_uint64(&pk, st->ss_done[i].ir_first) |
                  msgpack_pack_uint64(&pk, st->ss_done[i].ir_last);
    return sbuffer_out(&sb, failed, out, len, e);
}

/* Decodes "done", the flat array [first0, last0, first1, last1, …]. */
static bool decode_done(const msgpack_object *a, store_state *st)
{
    if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size % 2 != 0 ||
        a->via.array.size / 2 > STORE_DONE_RANGES_MAX)
        return false;
    uint32_t n = a->via.array.size / 2, at;
    for (uint32_t i = 0; i < n; i++)
        if (!obj_u64(&a->via.array.ptr[2 * i], &st->ss_done[i].ir_first) ||
            !obj_u64(&a->via.array.ptr[2 * i + 1], &st->ss_done[i].ir_last))
            return false;
    st->ss_ndone = n;
    return done_ranges_problem(st->ss_done, n, &at) == NULL;
}

/* Decodes the "last_run" map; unknown keys are skipped, missing ones zero. */
static bool decode_run(const msgpack_object *map, store_run *r)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return false;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key, *v = &map->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR)
            return false;
        if (obj_str_eq(k, "route")) {
            int found = -1;
            for (int j = 0; j < STORE_ROUTE_COUNT; j++)
                if (obj_str_eq(v, route_names[j]))
                    found = j;
            if (found < 0)
                return false;
            r->sr_route = (store_route)found;
        } else if (obj_str_eq(k, "started_ms")) {
            if (!obj_i64(v, &r->sr_started_ms))
                return false;
        } else if (obj_str_eq(k, "finished_ms")) {
            if (!obj_i64(v, &r->sr_finished_ms))
                return false;
        } else if (obj_str_eq(k, "completed")) {
            if (v->type != MSGPACK_OBJECT_BOOLEAN)
                return false;
            r->sr_completed = v->via.boolean;
        }
#define DECODE_FIELD(name)                                                                         \
    else if (obj_str_eq(k, #name))                                                                 \
    {                                                                                              \
        if (!obj_u64(v, &r->sr_##name))                                                            \
            return false;                                                                          \
    }
        STORE_RUN_COUNTERS(DECODE_FIELD)
#undef DECODE_FIELD
    }
    return true;
}

int store_state_decode(const void *data, size_t len, store_state *st, err_info *e)
{
    memset(st, 0, sizeof(*st));
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    int rc = unpack_record(data, len, &up, "state", e);
    if (rc)
        goto done;
    const msgpack_object *map = &up.data;
    if ((rc = check_version(map, STORE_STATE_RECORD_VERSION, "state", e)) != 0)
        goto done;
    const msgpack_object *kind = NULL, *cursor = NULL;
    bool seen_done = false;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key, *v = &map->via.map.ptr[i].val;
        if (obj_str_eq(k, "cursor_kind")) {
            kind = v;
        } else if (obj_str_eq(k, "cursor")) {
            cursor = v;
        } else if (obj_str_eq(k, "scan_started_ms")) {
            if (!obj_i64(v, &st->ss_scan_started_ms))
                goto bad;
        } else if (obj_str_eq(k, "scan_origin_ms")) {
            if (!obj_i64(v, &st->ss_scan_origin_ms) || st->ss_scan_origin_ms < 0)
                goto bad;
        } else if (obj_str_eq(k, "verify_next_id")) {
            if (!obj_u64(v, &st->ss_verify_next_id))
                goto bad;
        } else if (obj_str_eq(k, "verify_cycles")) {
            if (!obj_u64(v, &st->ss_verify_cycles))
                goto bad;
        } else if (obj_str_eq(k, "verify_cycle_ended_ms")) {
            if (!obj_i64(v, &st->ss_verify_cycle_ended_ms) || st->ss_verify_cycle_ended_ms < 0)
                goto bad;
        } else if (obj_str_eq(k, "runs")) {
            if (!obj_u64(v, &st->ss_runs))
                goto bad;
        } else if (obj_str_eq(k, "last_run")) {
            if (!decode_run(v, &st->ss_last_run))
                goto bad;
        } else if (obj_str_eq(k, "done")) {
            if (seen_done || !decode_done(v, st))
                goto bad_done;
            seen_done = true;
        }
    }
    /* The cursor: its kind must be known and its value of that kind's type. */
    if (!kind) {
        rc = err_set(e, ERR_CORRUPT, "store: state record has no cursor kind");
        goto done;
    }
    if (obj_str_eq(kind, "none")) {
        if (cursor && cursor->type != MSGPACK_OBJECT_NIL)
            goto bad_cursor;
        st->ss_cursor = store_cursor_none();
    } else if (obj_str_eq(kind, "object_id")) {
        uint64_t id;
        if (!cursor || !obj_u64(cursor, &id))
            goto bad_cursor;
        st->ss_cursor = store_cursor_object_id(id);
    } else if (obj_str_eq(kind, "timestamp_ms")) {
        int64_t ms;
        if (!cursor || !obj_i64(cursor, &ms) || ms < 0)
            goto bad_cursor;
        st->ss_cursor = store_cursor_timestamp_ms(ms);
    } else {
        if (kind->type == MSGPACK_OBJECT_STR)
            rc = err_set(e, ERR_CORRUPT, "store: state record has an unknown cursor kind '%.*s'",
                         (int)(kind->via.str.size > 40 ? 40 : kind->via.str.size),
                         kind->via.str.ptr);
        else
            rc = err_set(e, ERR_CORRUPT, "store: state record's cursor kind is not a string");
        goto done;
    }
    rc = 0;
    goto done;
bad_cursor:
    rc = err_set(e, ERR_CORRUPT, "store: state record's cursor value does not match its kind");
    goto done;
bad_done:
    rc = err_set(e, ERR_CORRUPT,
                 "store: state record's done ranges are damaged (not an even number of "
                 "uints, more than %d ranges, a range ending before it starts, or not "
                 "ascending and disjoint)",
                 STORE_DONE_RANGES_MAX);
    goto done;
bad:
    rc = err_set(e, ERR_CORRUPT, "store: state record is damaged (a field of the wrong type)");
done:
    if (rc)
        memset(st, 0, sizeof(*st));
    msgpack_unpacked_destroy(&up);
    return rc;
}

int store_put_state(store_txn *t, const char *name, const store_state *st, err_info *e)
{
    int rc = store_check_write(t, e);
    if (rc)
        return rc;
    MDB_val k = {0, NULL};
    void *rec;
    size_t len = 0;
    if ((rc = state_key(name, &k, e)) != 0 || (rc = store_state_encode(st, &rec, &len, e)) != 0)
        return rc;
    return put_record(t, t->t_store->s_state, &k, rec, len, e);
}

int store_get_state(store_txn *t, const char *name, store_state *st, err_info *e)
{
    MDB_val k = {0, NULL}, v = {0, NULL};
    memset(st, 0, sizeof(*st));
    int rc = state_key(name, &k, e);
    if (rc)
        return rc;
    if (!t->t_store->s_has_meta)
        return 0;
    rc = mdb_get(t->t_txn, t->t_store->s_state, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return store_mdb_fail(e, rc, "read a state record");
    rc = store_state_decode(v.mv_data, v.mv_size, st, e);
    return rc ? err_wrap(e, "%s: ", name) : 0;
}
