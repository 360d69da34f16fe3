/*
 * lmdb_check — a structural check of an LMDB data file before LMDB trusts
 * it (see lmdb_check.h for what is checked and why).
 *
 * The layout below is LMDB 0.9's on-disk format (data version 1, the only
 * one liblmdb 0.9 reads; mdb_env_open refuses others with
 * MDB_VERSION_MISMATCH before this runs), 64-bit page numbers, little-endian
 * as written by the machines LMDB runs on here. Pages are read with pread(),
 * never through a map, so a damaged file cannot fault this code: every
 * offset is checked against the page before it is followed.
 */
#include "lmdb_check.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Page header: pgno u64, pad u16, flags u16, lower u16 + upper u16 (or an
 * overflow run's page count u32), then the node offsets (u16 each). */
enum {
    PAGEHDRSZ = 16,
    NODESIZE = 8, /* lo u16, hi u16, flags u16, ksize u16 */
    NUM_METAS = 2,
    MAX_DEPTH = 32,
    DB_BYTES = 48, /* MDB_db: pad u32, flags u16, depth u16, branch, leaf,
                      overflow, entries, root (u64 each) */
};
#define META_MAGIC     0xBEEFC0DEu
#define META_VERSION   1u
#define P_INVALID      UINT64_MAX
#define P_BRANCH       0x01
#define P_LEAF         0x02
#define P_OVERFLOW     0x04
#define P_META         0x08
#define P_LEAF2        0x20
#define P_SUBP         0x40
#define F_BIGDATA      0x01
#define F_SUBDATA      0x02
#define F_DUPDATA      0x04
#define MDB_INTEGERKEY 0x08

/* The MDB_db record of one database, as stored in a meta page or a main
 * database node. */
typedef struct db_rec {
    uint16_t flags, depth;
    uint64_t branch, leaf, overflow, entries, root;
} db_rec;

/* What a walk found for one database. */
typedef struct db_count {
    uint64_t branch, leaf, overflow, entries;
} db_count;

typedef struct checker {
    int fd;
    uint32_t psize;
    uint64_t last_pg;
    uint8_t *seen;  /* bit per page: reached by a tree walk */
    uint8_t *pages; /* 2 × MAX_DEPTH page buffers: the main database's
                       levels, then a named database's */
    unsigned base;  /* the first buffer of the tree being walked */
    uint64_t reached, databases;
    err_info *e;
} checker;

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void db_rec_read(const uint8_t *p, db_rec *d)
{
    d->flags = get16(p + 4);
    d->depth = get16(p + 6);
    d->branch = get64(p + 8);
    d->leaf = get64(p + 16);
    d->overflow = get64(p + 24);
    d->entries = get64(p + 32);
    d->root = get64(p + 40);
}

static int read_at(checker *ck, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(ck->fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return err_set(ck->e, ERR_SYS, "pread: %s", strerror(errno));
        if (r == 0)
            return err_set(ck->e, ERR_CORRUPT, "the file ends inside page %llu",
                           (unsigned long long)(off / ck->psize));
        got += (size_t)r;
    }
    return 0;
}

static bool seen_test_set(checker *ck, uint64_t pg)
{
    uint8_t bit = (uint8_t)(1u << (pg & 7));
    bool was = ck->seen[pg >> 3] & bit;
    ck->seen[pg >> 3] |= bit;
    return was;
}

/* A page number a node or a record refers to: in the file, not a meta. */
static int check_pgno(checker *ck, uint64_t pg, const char *db)
{
    if (pg < NUM_METAS || pg > ck->last_pg)
        return err_set(ck->e, ERR_CORRUPT,
                       "%s refers to page %llu, outside the file's pages 2 to %llu", db,
                       (unsigned long long)pg, (unsigned long long)ck->last_pg);
    return 0;
}

/* Checks an overflow run starting at `pg` for a value of `size` bytes and
 * marks its pages. A run may be longer than the value needs: LMDB writes a
 * smaller value into the run it allocated earlier in the same transaction. */
static int check_overflow(checker *ck, uint64_t pg, uint64_t size, const char *db, db_count *n)
{
    uint8_t hdr[PAGEHDRSZ];
    uint64_t want = (PAGEHDRSZ - 1 + size) / ck->psize + 1;
    int rc = check_pgno(ck, pg, db);
    if (rc || (rc = read_at(ck, hdr, sizeof(hdr), pg * ck->psize)) != 0)
        return rc;
    uint64_t pages = get32(hdr + 12);
    if (get64(hdr) != pg || (get16(hdr + 10) & 0x7f) != P_OVERFLOW || pages < want ||
        pages > ck->last_pg || pg + pages - 1 > ck->last_pg)
        return err_set(ck->e, ERR_CORRUPT, "%s: overflow page %llu has a bad header", db,
                       (unsigned long long)pg);
    for (uint64_t i = 0; i < pages; i++)
        if (seen_test_set(ck, pg + i))
            return err_set(ck->e, ERR_CORRUPT, "%s: page %llu is reached twice", db,
                           (unsigned long long)(pg + i));
    n->overflow += pages;
    ck->reached += pages;
    return 0;
}

/* LMDB's default key order (mdb_cmp_memn), or native u64 for INTEGERKEY. */
static int key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, bool integer)
{
    if (integer) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return x < y ? -1 : x > y;
    }
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int walk_tree(checker *ck, const db_rec *d, const char *db, bool is_main);

/* Node i of a page: where it starts and its key, all inside the page. */
static int node_at(checker *ck, const uint8_t *page, unsigned i, uint16_t upper, const char *db,
                   uint64_t pg, const uint8_t **node)
{
    uint16_t off = get16(page + PAGEHDRSZ + 2 * i);
    if (off < upper || off % 2 || (size_t)off + NODESIZE > ck->psize ||
        (size_t)off + NODESIZE + get16(page + off + 6) > ck->psize)
        return err_set(ck->e, ERR_CORRUPT, "%s: page %llu: node %u lies outside the page", db,
                       (unsigned long long)pg, i);
    *node = page + off;
    return 0;
}

/* A leaf node's value: inline bytes, an overflow run, or a named database. */
static int check_leaf_node(checker *ck, const uint8_t *node, const uint8_t *page, bool is_main,
                           const char *db, uint64_t pg, db_count *n)
{
    uint16_t flags = get16(node + 4), ksize = get16(node + 6);
    uint64_t dsize = get32(node);
    const uint8_t *data = node + NODESIZE + ksize;
    size_t room = ck->psize - (size_t)(data - page);
    if (flags & ~(F_BIGDATA | F_SUBDATA) || (flags & F_BIGDATA && flags & F_SUBDATA))
        return err_set(ck->e, ERR_CORRUPT, "%s: page %llu: a node with flags %#x", db,
                       (unsigned long long)pg, flags);
    if (flags & F_BIGDATA) {
        if (room < 8)
            return err_set(ck->e, ERR_CORRUPT, "%s: page %llu: a node outside the page", db,
                           (unsigned long long)pg);
        return check_overflow(ck, get64(data), dsize, db, n);
    }
    if (dsize > room)
        return err_set(ck->e, ERR_CORRUPT, "%s: page %llu: a value runs past the page", db,
                       (unsigned long long)pg);
    if (is_main && !(flags & F_SUBDATA))
        return err_set(ck->e, ERR_CORRUPT,
                       "the main database holds a record that is not a database");
    if (!is_main && flags & F_SUBDATA)
        return err_set(ck->e, ERR_CORRUPT, "%s: page %llu: a nested database", db,
                       (unsigned long long)pg);
    if (!is_main)
        return 0;
    if (dsize != DB_BYTES || ksize == 0 || ksize > 64)
        return err_set(ck->e, ERR_CORRUPT, "the main database holds a damaged database record");
    char name[72];
    memcpy(name, node + NODESIZE, ksize);
    name[ksize] = '\0';
    for (size_t i = 0; i < ksize; i++)
        if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] >= 0x7f)
            return err_set(ck->e, ERR_CORRUPT, "the main database holds a damaged database name");
    db_rec sub;
    db_rec_read(data, &sub);
    if (sub.flags != 0)
        return err_set(ck->e, ERR_CORRUPT, "database %s has flags %#x hubsync never sets", name,
                       sub.flags);
    ck->databases++;
    /* The main database's pages stay in their buffers meanwhile. */
    ck->base = MAX_DEPTH;
    int rc = walk_tree(ck, &sub, name, false);
    ck->base = 0;
    return rc;
}

/* Checks page `pg` at `depth` (1 = root) of database `d` and, for a
 * branch, its children; counts what it finds into *n. */
static int walk_page(checker *ck, const db_rec *d, uint64_t pg, unsigned depth, const char *db,
                     bool is_main, db_count *n)
{
    int rc = check_pgno(ck, pg, db);
    if (rc)
        return rc;
    if (depth > d->depth)
        return err_set(ck->e, ERR_CORRUPT, "%s is deeper than its recorded depth %u", db, d->depth);
    if (seen_test_set(ck, pg))
        return err_set(ck->e, ERR_CORRUPT, "%s: page %llu is reached twice", db,
                       (unsigned long long)pg);
    ck->reached++;
    uint8_t *page = ck->pages + (size_t)(ck->base + depth - 1) * ck->psize;
    if ((rc = read_at(ck, page, ck->psize, pg * ck->psize)) != 0)
        return rc;
    uint16_t flags = get16(page + 10), lower = get16(page + 12), upper = get16(page + 14);
    bool leaf = depth == d->depth;
    uint16_t want = leaf ? P_LEAF : P_BRANCH;
    if (get64(page) != pg || (flags & 0x7f) != want || lower < PAGEHDRSZ + 2 ||
        (lower - PAGEHDRSZ) % 2 || lower > upper || upper > ck->psize)
        return err_set(ck->e, ERR_CORRUPT, "%s: page %llu has a bad header (want a %s page)", db,
                       (unsigned long long)pg, leaf ? "leaf" : "branch");
    unsigned nkeys = (unsigned)(lower - PAGEHDRSZ) / 2;
    const uint8_t *prev = NULL;
    uint16_t prev_len = 0;
    for (unsigned i = 0; i < nkeys; i++) {
        const uint8_t *node = NULL;
        if ((rc = node_at(ck, page, i, upper, db, pg, &node)) != 0)
            return rc;
        uint16_t ksize = get16(node + 6);
        bool integer = d->flags & MDB_INTEGERKEY;
        if ((integer && (leaf || i > 0) && ksize != 8) || ksize > 511)
            return err_set(ck->e, ERR_CORRUPT, "%s: page %llu: a key of %u bytes", db,
                           (unsigned long long)pg, ksize);
        /* A branch's first key is not stored (it stands for "everything
         * below the second"). */
        if (leaf || i > 0) {
            if (prev && key_cmp(prev, prev_len, node + NODESIZE, ksize, integer) >= 0)
                return err_set(ck->e, ERR_CORRUPT, "%s: page %llu: keys out of order", db,
                               (unsigned long long)pg);
            prev = node + NODESIZE;
            prev_len = ksize;
        }
        if (leaf) {
            if ((rc = check_leaf_node(ck, node, page, is_main, db, pg, n)) != 0)
                return rc;
            continue;
        }
        uint64_t child = get32(node) | (uint64_t)get16(node + 4) << 32;
        if ((rc = walk_page(ck, d, child, depth + 1, db, is_main, n)) != 0)
            return rc;
        /* The recursion reused deeper buffers only: this page is intact. */
    }
    if (leaf)
        n->leaf++, n->entries += nkeys;
    else
        n->branch++;
    return 0;
}

static int walk_tree(checker *ck, const db_rec *d, const char *db, bool is_main)
{
    db_count n = {0};
    if (d->root == P_INVALID) {
        if (d->depth || d->branch || d->leaf || d->overflow || d->entries)
            return err_set(ck->e, ERR_CORRUPT, "%s is empty but records pages or entries", db);
        return 0;
    }
    if (d->depth == 0 || d->depth > MAX_DEPTH)
        return err_set(ck->e, ERR_CORRUPT, "%s records a depth of %u", db, d->depth);
    int rc = walk_page(ck, d, d->root, 1, db, is_main, &n);
    if (rc)
        return rc;
    if (n.branch != d->branch || n.leaf != d->leaf || n.overflow != d->overflow ||
        n.entries != d->entries)
        return err_set(
            ck->e, ERR_CORRUPT, "%s records %llu entries in %llu pages but holds %llu in %llu", db,
            (unsigned long long)d->entries, (unsigned long long)(d->branch + d->leaf + d->overflow),
            (unsigned long long)n.entries, (unsigned long long)(n.branch + n.leaf + n.overflow));
    return 0;
}

/* The free-page database: its tree, then every page it lists must be in
 * range and not part of a live tree (LMDB would write over it). */
static int check_free_lists(checker *ck, const db_rec *d)
{
    db_rec free_db = *d;
    int rc = walk_tree(ck, &free_db, "the free-page list", false);
    if (rc || d->root == P_INVALID)
        return rc;
    /* Second pass over the leaves, reading each list (inline or in its
     * overflow run). The tree is known to be sound now. */
    uint64_t stack[MAX_DEPTH];
    unsigned idx[MAX_DEPTH];
    int top = 0;
    stack[0] = d->root;
    idx[0] = 0;
    uint8_t *page = NULL, *list = NULL;
    size_t list_cap = 0;
    rc = 0;
    while (top >= 0 && rc == 0) {
        page = ck->pages + (size_t)top * ck->psize;
        if (idx[top] == 0 && (rc = read_at(ck, page, ck->psize, stack[top] * ck->psize)) != 0)
            break;
        unsigned nkeys = (unsigned)(get16(page + 12) - PAGEHDRSZ) / 2;
        if (idx[top] >= nkeys) {
            top--;
            continue;
        }
        const uint8_t *node = page + get16(page + PAGEHDRSZ + 2 * idx[top]++);
        if ((get16(page + 10) & P_BRANCH) != 0) {
            stack[top + 1] = get32(node) | (uint64_t)get16(node + 4) << 32;
            idx[++top] = 0;
            continue;
        }
        uint64_t size = get32(node);
        const uint8_t *data = node + NODESIZE + get16(node + 6);
        if (size % 8 || size < 8) {
            rc = err_set(ck->e, ERR_CORRUPT, "the free-page list holds a damaged record");
            break;
        }
        if (size > list_cap) {
            uint8_t *grown = realloc(list, size);
            if (!grown) {
                rc = err_set(ck->e, ERR_NOMEM, "out of memory");
                break;
            }
            list = grown;
            list_cap = size;
        }
        if (get16(node + 4) & F_BIGDATA)
            rc = read_at(ck, list, size, get64(data) * ck->psize + PAGEHDRSZ);
        else
            memcpy(list, data, size);
        if (rc)
            break;
        uint64_t count = get64(list);
        if (count != size / 8 - 1) {
            rc = err_set(ck->e, ERR_CORRUPT, "the free-page list holds a damaged record");
            break;
        }
        for (uint64_t i = 1; i <= count && rc == 0; i++) {
            uint64_t pg = get64(list + 8 * i);
            if ((rc = check_pgno(ck, pg, "the free-page list")) == 0 &&
                (ck->seen[pg >> 3] & (1u << (pg & 7))))
                rc = err_set(ck->e, ERR_CORRUPT,
                             "the free-page list holds page %llu, which is in use",
                             (unsigned long long)pg);
        }
    }
    free(list);
    return rc;
}

/* Reads meta page i; true when it is a valid meta. */
static bool read_meta(checker *ck, int i, uint8_t *meta)
{
    uint8_t hdr[PAGEHDRSZ + 136];
    if (pread(ck->fd, hdr, sizeof(hdr), (off_t)i * ck->psize) != (ssize_t)sizeof(hdr))
        return false;
    memcpy(meta, hdr + PAGEHDRSZ, 136);
    return (get16(hdr + 10) & P_META) && get32(meta) == META_MAGIC &&
           get32(meta + 4) == META_VERSION;
}

int lmdb_check_file(int fd, uint64_t txnid, uint32_t page_size, lmdb_check_info *out, err_info *e)
{
    checker ck = {.fd = fd, .e = e};
    uint8_t meta[2][136];
    bool ok[2];
    struct stat st;
    if (fstat(fd, &st) != 0)
        return err_set(e, ERR_SYS, "fstat: %s", strerror(errno));
    /* Meta 0 names the page size; both metas sit in the first two pages. */
    ck.psize = 4096;
    if (!read_meta(&ck, 0, meta[0]))
        return err_set(e, ERR_CORRUPT, "the first meta page is damaged");
    uint32_t psize = get32(meta[0] + 24);
    if (psize < 512 || psize > 65536 || (psize & (psize - 1)) || (page_size && psize != page_size))
        return err_set(e, ERR_CORRUPT, "the meta page records a page size of %u", psize);
    ck.psize = psize;
    ok[0] = true;
    ok[1] = read_meta(&ck, 1, meta[1]) && get32(meta[1] + 24) == psize;
    int pick = -1;
    for (int i = 0; i < 2; i++) {
        if (!ok[i])
            continue;
        uint64_t id = get64(meta[i] + 128);
        if (txnid ? id == txnid : pick < 0 || id > get64(meta[pick] + 128))
            pick = i;
    }
    if (pick < 0)
        return txnid ? err_set(e, ERR_AGAIN, "no meta page holds transaction %llu",
                               (unsigned long long)txnid)
                     : err_set(e, ERR_CORRUPT, "no valid meta page");
    const uint8_t *m = meta[pick];
    ck.last_pg = get64(m + 120);
    if (ck.last_pg < NUM_METAS - 1 || ck.last_pg > (UINT64_MAX >> 1) / psize)
        return err_set(e, ERR_CORRUPT, "the meta page records %llu pages",
                       (unsigned long long)ck.last_pg + 1);
    uint64_t need = (ck.last_pg + 1) * psize;
    if ((uint64_t)st.st_size < need)
        return err_set(e, ERR_CORRUPT,
                       "the file is %llu bytes but its meta page needs %llu (%llu pages of %u): "
                       "it was truncated",
                       (unsigned long long)st.st_size, (unsigned long long)need,
                       (unsigned long long)ck.last_pg + 1, psize);
    db_rec free_db, main_db;
    db_rec_read(m + 24, &free_db);
    db_rec_read(m + 72, &main_db);
    if (main_db.flags != 0 || free_db.flags != MDB_INTEGERKEY)
        return err_set(e, ERR_CORRUPT, "the meta page records database flags hubsync never sets");
    ck.seen = calloc((size_t)(ck.last_pg / 8 + 1), 1);
    ck.pages = malloc((size_t)2 * MAX_DEPTH * psize);
    int rc;
    if (!ck.seen || !ck.pages)
        rc = err_set(e, ERR_NOMEM, "out of memory");
    else if ((rc = walk_tree(&ck, &main_db, "the main database", true)) == 0)
        rc = check_free_lists(&ck, &free_db);
    if (rc == 0 && out) {
        out->lc_txnid = get64(m + 128);
        out->lc_last_page = ck.last_pg;
        out->lc_page_size = psize;
        out->lc_pages = ck.reached;
        out->lc_databases = ck.databases;
    }
    free(ck.seen);
    free(ck.pages);
    return rc;
}
