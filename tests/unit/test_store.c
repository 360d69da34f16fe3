/*
 * Tests of common/store/store: the on-disk layout (checked with raw LMDB and
 * msgpack-c, not with the module's own codec), set replacement against a
 * brute-force in-memory model on random sets, typed cursors and schema
 * records (round trips, and garbage that must decode to ERR_CORRUPT),
 * format-version and damaged-file refusal, the run lock across processes,
 * crash consistency (writers SIGKILLed mid-batch and at random instants),
 * and map growth from a tiny map.
 *
 * Every test works in its own mkdtemp directory under /tmp, removed at the
 * end. Children run in their own process group with PR_SET_PDEATHSIG; each
 * test kills its children in its cleanup and the suite's cleanup kills any
 * left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <msgpack.h>

#include "../../common/store/assoc.h"
#include "../../common/store/store.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static const hs_table CC = {HS_COMPANIES, HS_CONTACTS};
#define CC_NAME "companies_contacts"

/* ---- sandbox directories and children ----------------------------------- */

enum { MAX_CHILDREN = 8 };
static pid_t children[MAX_CHILDREN];

static void child_forget(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] == pid)
            children[i] = 0;
}

/* SIGKILLs the child's process group and reaps it. */
static void child_kill(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    child_forget(pid);
}

static int suite_cleanup(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        child_kill(children[i]);
    return 0;
}

/* Forks a child in its own process group that dies with us; it runs
 * fn(arg) and _exit()s with its value. Returns the pid or -1. */
static pid_t child_spawn(int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        _exit(fn(arg) & 255);
    }
    setpgid(pid, pid);
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] == 0) {
            children[i] = pid;
            break;
        }
    return pid;
}

/* Waits up to timeout_ms for one byte on fd. */
static bool wait_byte(int fd, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    char c;
    return poll(&p, 1, timeout_ms) == 1 && read(fd, &c, 1) == 1;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* ---- random numbers ------------------------------------------------------ */

typedef struct rng {
    uint64_t r_s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->r_s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(rng_next(r) % n);
}

static rng rng_of(uint64_t a, uint64_t b, uint64_t c)
{
    rng r = {a * 0x100000001b3ULL ^ b * 0x9e3779b97f4a7c15ULL ^ c * 0xc2b2ae3d27d4eb4fULL};
    rng_next(&r);
    return r;
}

/* ---- the brute-force model ----------------------------------------------- */

enum { MAX_TYPES = 4 };

typedef struct m_type {
    int32_t id;
    uint8_t cat;
    const char *label; /* NULL: null */
    uint32_t len;
} m_type;

typedef struct m_link {
    uint64_t child;
    uint32_t ntypes;
    m_type types[MAX_TYPES];
} m_link;

typedef struct m_set {
    m_link *l;
    size_t n, cap;
} m_set;

static const int32_t type_pool[] = {1,     2,     127, 128, 255, 256,  279,       280,
                                    65535, 65536, -1,  -32, -33, -129, INT32_MAX, INT32_MIN};
static char label40[41], label300[301];
static const char *label_pool[7];

static void labels_init(void)
{
    memset(label40, 'x', 40);
    memset(label300, 'y', 300);
    label300[150] = 'z';
    label_pool[0] = NULL;
    label_pool[1] = "";
    label_pool[2] = "a";
    label_pool[3] = "Primary";
    label_pool[4] = "Decision maker";
    label_pool[5] = label40;
    label_pool[6] = label300;
}

static bool mset_push(m_set *s, const m_link *l)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        m_link *p = realloc(s->l, cap * sizeof(*p));
        if (!p)
            return false;
        s->l = p;
        s->cap = cap;
    }
    s->l[s->n++] = *l;
    return true;
}

static void mset_free(m_set *s)
{
    free(s->l);
    memset(s, 0, sizeof(*s));
}

static bool mset_copy(m_set *to, const m_set *from)
{
    to->n = 0;
    for (size_t i = 0; i < from->n; i++)
        if (!mset_push(to, &from->l[i]))
            return false;
    return true;
}

static int type_cmp(const void *x, const void *y)
{
    const m_type *a = x, *b = y;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return (int)a->cat - (int)b->cat;
}

static int link_cmp(const void *x, const void *y)
{
    uint64_t a = ((const m_link *)x)->child, b = ((const m_link *)y)->child;
    return a < b ? -1 : a > b;
}

static bool types_equal(const m_link *a, const m_link *b)
{
    if (a->ntypes != b->ntypes)
        return false;
    for (uint32_t k = 0; k < a->ntypes; k++) {
        const m_type *x = &a->types[k], *y = &b->types[k];
        if (x->id != y->id || x->cat != y->cat || (x->label == NULL) != (y->label == NULL) ||
            x->len != y->len || (x->label && memcmp(x->label, y->label, x->len) != 0))
            return false;
    }
    return true;
}

/* A random canonical type list: 0–3 distinct (id, category) pairs. */
static void gen_types(rng *r, m_link *l)
{
    uint32_t roll = rng_below(r, 100);
    uint32_t want = roll < 5 ? 0 : roll < 65 ? 1 : roll < 95 ? 2 : 3;
    l->ntypes = 0;
    while (l->ntypes < want) {
        m_type t;
        t.id = type_pool[rng_below(r, UT_COUNT(type_pool))];
        t.cat = (uint8_t)rng_below(r, ASSOC_CATEGORY_COUNT);
        t.label = label_pool[rng_below(r, UT_COUNT(label_pool))];
        t.len = t.label ? (uint32_t)strlen(t.label) : 0;
        bool dup = false;
        for (uint32_t k = 0; k < l->ntypes; k++)
            dup |= type_cmp(&l->types[k], &t) == 0;
        if (!dup)
            l->types[l->ntypes++] = t;
    }
    qsort(l->types, l->ntypes, sizeof(m_type), type_cmp);
}

/* A child ID near `base`, now and then one of the extremes. */
static uint64_t gen_child(rng *r, uint64_t base, uint32_t spread)
{
    uint32_t roll = rng_below(r, 200);
    if (roll == 0)
        return 0;
    if (roll == 1)
        return UINT64_MAX;
    return base + rng_below(r, spread);
}

/* Sorts and drops duplicate children (keeping the first). */
static void mset_canon(m_set *s)
{
    if (s->n < 2)
        return;
    qsort(s->l, s->n, sizeof(m_link), link_cmp);
    size_t m = 0;
    for (size_t i = 0; i < s->n; i++)
        if (m == 0 || s->l[m - 1].child != s->l[i].child)
            s->l[m++] = s->l[i];
    s->n = m;
}

static bool gen_fresh(rng *r, m_set *out, uint64_t base, uint32_t nlinks, uint32_t spread)
{
    out->n = 0;
    for (uint32_t i = 0; i < nlinks; i++) {
        m_link l;
        l.child = gen_child(r, base, spread);
        gen_types(r, &l);
        if (!mset_push(out, &l))
            return false;
    }
    mset_canon(out);
    return true;
}

/* The next set of a parent: mostly the old one with drops, relabels and
 * additions; now and then empty or brand new. */
static bool gen_next(rng *r, const m_set *old, m_set *out, uint64_t base, uint32_t spread)
{
    uint32_t mode = rng_below(r, 100);
    if (mode < 5) {
        out->n = 0;
        return true;
    }
    if (mode < 10)
        return gen_fresh(r, out, base, rng_below(r, 12), spread);
    out->n = 0;
    for (size_t i = 0; i < old->n; i++) {
        m_link l = old->l[i];
        uint32_t roll = rng_below(r, 100);
        if (roll < 12)
            continue; /* dropped */
        if (roll < 20) {
            gen_types(r, &l); /* relabelled (maybe to the same list) */
        } else if (roll < 27 && l.ntypes > 0) {
            /* Only the label changes: null ↔ "" ↔ text. */
            m_type *t = &l.types[rng_below(r, l.ntypes)];
            t->label = t->label == NULL ? "" : t->len == 0 ? "a" : NULL;
            t->len = t->label ? (uint32_t)strlen(t->label) : 0;
        }
        if (!mset_push(out, &l))
            return false;
    }
    uint32_t adds = rng_below(r, 5);
    for (uint32_t i = 0; i < adds; i++) {
        m_link l;
        l.child = gen_child(r, base, spread);
        gen_types(r, &l);
        if (!mset_push(out, &l))
            return false;
    }
    mset_canon(out);
    return true;
}

/* What replacing `old` by `new` must report, by brute force. */
static store_set_delta expected_delta(const m_set *old, const m_set *new_set)
{
    store_set_delta d = {0, 0, 0, 0};
    for (size_t i = 0; i < old->n; i++) {
        const m_link *match = NULL;
        for (size_t j = 0; j < new_set->n; j++)
            if (new_set->l[j].child == old->l[i].child)
                match = &new_set->l[j];
        if (!match)
            d.sd_removed++;
        else if (types_equal(&old->l[i], match))
            d.sd_unchanged++;
        else
            d.sd_relabelled++;
    }
    for (size_t j = 0; j < new_set->n; j++) {
        bool found = false;
        for (size_t i = 0; i < old->n; i++)
            found |= old->l[i].child == new_set->l[j].child;
        if (!found)
            d.sd_added++;
    }
    return d;
}

static bool add_types(assoc_buf *b, const m_link *l, const uint32_t *order, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++) {
        const m_type *t = &l->types[order[k]];
        if (assoc_buf_add_type(b, t->id, (assoc_category)t->cat, t->label, t->len) != 0)
            return false;
    }
    return true;
}

/* Appends `s` as parent `parent_id` of b. With `scramble`, the links and
 * types come in random order and some children twice (their types split
 * over the two entries), as HubSpot's pages may give them: the canonical
 * form must undo it. */
static bool to_buf(rng *r, const m_set *s, uint64_t parent_id, assoc_buf *b, bool scramble)
{
    if (assoc_buf_begin_parent(b, parent_id) != 0)
        return false;
    size_t n = s->n;
    size_t *order = malloc((n ? n : 1) * sizeof(*order));
    if (!order)
        return false;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; scramble && i > 1; i--) {
        size_t j = rng_below(r, (uint32_t)i);
        size_t tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        const m_link *l = &s->l[order[i]];
        uint32_t tord[MAX_TYPES] = {0, 1, 2, 3};
        for (uint32_t k = l->ntypes; scramble && k > 1; k--) {
            uint32_t j = rng_below(r, k), tmp = tord[k - 1];
            tord[k - 1] = tord[j];
            tord[j] = tmp;
        }
        uint32_t split = scramble && l->ntypes > 1 && rng_below(r, 8) == 0
                             ? 1 + rng_below(r, l->ntypes - 1)
                             : l->ntypes;
        ok = assoc_buf_add_link(b, l->child) == 0 && add_types(b, l, tord, split);
        if (ok && split < l->ntypes)
            ok = assoc_buf_add_link(b, l->child) == 0 &&
                 add_types(b, l, tord + split, l->ntypes - split);
    }
    free(order);
    return ok && assoc_buf_finish_parent(b) == 0;
}

static bool row_matches(const store_assoc *row, uint64_t parent_id, const m_link *l)
{
    if (row->sa_parent_id != parent_id || row->sa_child_id != l->child ||
        row->sa_ntypes != l->ntypes)
        return false;
    for (uint32_t k = 0; k < l->ntypes; k++) {
        const store_type *st = &row->sa_types[k];
        const m_type *t = &l->types[k];
        if (st->st_type_id != t->id || (uint8_t)st->st_category != t->cat ||
            (st->st_label == NULL) != (t->label == NULL) || st->st_label_len != t->len ||
            (t->label && memcmp(st->st_label, t->label, t->len) != 0))
            return false;
    }
    return true;
}

/* True when the table holds exactly the model (parents sorted ascending). */
static bool table_equals(store_txn *t, const uint64_t *parents, const m_set *sets, size_t n)
{
    store_assoc_iter *it = NULL;
    err_info e = {0, ""};
    bool ok = CHECK(store_assoc_iter_open(t, CC, 0, &it, &e) == 0);
    uint64_t rows = 0;
    store_assoc row;
    for (size_t p = 0; ok && p < n; p++) {
        for (size_t i = 0; ok && i < sets[p].n; i++, rows++) {
            int rc = store_assoc_iter_next(it, &row, &e);
            ok = CHECKF(rc == 0 && row_matches(&row, parents[p], &sets[p].l[i]),
                        "row %" PRIu64 ": want %" PRIu64 "→%" PRIu64 " (%u types), got rc %d "
                        "%" PRIu64 "→%" PRIu64 " (%zu types) %s",
                        rows, parents[p], sets[p].l[i].child, sets[p].l[i].ntypes, rc,
                        rc ? 0 : row.sa_parent_id, rc ? 0 : row.sa_child_id, rc ? 0 : row.sa_ntypes,
                        e.ei_msg);
        }
    }
    if (ok) {
        int rc = store_assoc_iter_next(it, &row, &e);
        ok = CHECKF(rc == ERR_NOT_FOUND,
                    "after %" PRIu64 " rows: extra row %" PRIu64 "→%" PRIu64 " (rc %d)", rows,
                    rc ? 0 : row.sa_parent_id, rc ? 0 : row.sa_child_id, rc);
    }
    uint64_t count = 0;
    ok = ok && CHECK(store_count_assoc(t, CC, &count, &e) == 0) && CHECK_EQ(count, rows);
    store_assoc_iter_close(it);
    return ok;
}

/* ---- raw LMDB access, to check the layout and to damage records ---------- */

typedef struct raw_env {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
} raw_env;

static bool raw_open(raw_env *r, const char *dir, const char *db, bool write)
{
    memset(r, 0, sizeof(*r));
    if (mdb_env_create(&r->env) || mdb_env_set_maxdbs(r->env, 200) ||
        mdb_env_open(r->env, dir, write ? 0 : MDB_RDONLY, 0600) ||
        mdb_txn_begin(r->env, NULL, write ? 0 : MDB_RDONLY, &r->txn) ||
        mdb_dbi_open(r->txn, db, write ? MDB_CREATE : 0, &r->dbi)) {
        if (r->txn)
            mdb_txn_abort(r->txn);
        if (r->env)
            mdb_env_close(r->env);
        memset(r, 0, sizeof(*r));
        return false;
    }
    return true;
}

static bool raw_close(raw_env *r, bool commit)
{
    int rc = 0;
    if (r->txn)
        rc = commit ? mdb_txn_commit(r->txn) : (mdb_txn_abort(r->txn), 0);
    if (r->env)
        mdb_env_close(r->env);
    memset(r, 0, sizeof(*r));
    return rc == 0;
}

static bool raw_put(const char *dir, const char *db, const void *k, size_t kn, const void *v,
                    size_t vn)
{
    raw_env r;
    if (!raw_open(&r, dir, db, true))
        return false;
    MDB_val mk = {kn, (void *)k}, mv = {vn, (void *)v};
    bool ok = mdb_put(r.txn, r.dbi, &mk, &mv, 0) == 0;
    return raw_close(&r, ok) && ok;
}

static void be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* ---- helpers ------------------------------------------------------------- */

static void delta_sum(store_set_delta *to, const store_set_delta *d)
{
    to->sd_added += d->sd_added;
    to->sd_removed += d->sd_removed;
    to->sd_relabelled += d->sd_relabelled;
    to->sd_unchanged += d->sd_unchanged;
}

/* The first parent of each buffer: same ID, links and types. */
static bool bufs_equal(const assoc_buf *a, const assoc_buf *b)
{
    if (a->ab_nparents < 1 || b->ab_nparents < 1)
        return false;
    const assoc_parent *pa = &a->ab_parents[0], *pb = &b->ab_parents[0];
    if (pa->ap_parent_id != pb->ap_parent_id || pa->ap_nlinks != pb->ap_nlinks)
        return false;
    for (uint32_t i = 0; i < pa->ap_nlinks; i++) {
        const assoc_link *la = &assoc_links(a, pa)[i], *lb = &assoc_links(b, pb)[i];
        if (la->al_child_id != lb->al_child_id || la->al_ntypes != lb->al_ntypes)
            return false;
        for (uint32_t k = 0; k < la->al_ntypes; k++) {
            const assoc_type *ta = &assoc_types(a, la)[k], *tb = &assoc_types(b, lb)[k];
            if (ta->at_type_id != tb->at_type_id || ta->at_category != tb->at_category ||
                ta->at_has_label != tb->at_has_label || ta->at_label_len != tb->at_label_len ||
                (ta->at_has_label &&
                 memcmp(assoc_label(a, ta), assoc_label(b, tb), ta->at_label_len) != 0))
                return false;
        }
    }
    return true;
}

static store *open_store(const char *dir, const store_options *o)
{
    store *s = NULL;
    err_info e = {0, ""};
    int rc = store_open(dir, o, &s, &e);
    CHECKF(rc == 0, "store_open(%s): %d %s", dir, rc, e.ei_msg);
    return s;
}

static bool file_mode_is(const char *dir, const char *name, mode_t want)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (stat(path, &st) != 0)
        return CHECKF(false, "stat %s: %s", path, strerror(errno));
    return CHECKF((st.st_mode & 07777) == want, "%s mode %o, want %o", path,
                  (unsigned)(st.st_mode & 07777), (unsigned)want);
}

/* A checksum of a file's bytes (FNV-1a); 0 when it cannot be read. */
static uint64_t file_digest(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    uint64_t h = 0xcbf29ce484222325ULL;
    int c;
    while ((c = fgetc(f)) != EOF)
        h = (h ^ (uint64_t)c) * 0x100000001b3ULL;
    fclose(f);
    return h;
}

/* ---- tests: label catalogs ------------------------------------------------- */

/* A catalog of (type ID, category, label) triples, label NULL for null. */
static bool catalog_of(assoc_buf *b, const int *ids, const char *const *labels, size_t n)
{
    assoc_buf_reset(b);
    if (assoc_buf_begin_parent(b, 0) || assoc_buf_add_link(b, 0))
        return false;
    for (size_t i = 0; i < n; i++)
        if (assoc_buf_add_type(b, ids[i],
                               ids[i] >= 1000 ? ASSOC_USER_DEFINED : ASSOC_HUBSPOT_DEFINED,
                               labels[i], labels[i] ? strlen(labels[i]) : 0))
            return false;
    return assoc_buf_finish_parent(b) == 0;
}

static void test_label_catalogs(void)
{
    char dir[64];
    store *s = NULL;
    store_txn *t = NULL;
    store_labels got = {0};
    assoc_buf b;
    assoc_buf_init(&b);
    err_info e = {0, ""};
    hs_table cc = {HS_COMPANIES, HS_CONTACTS};
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    /* Never read: not found, which export takes as "no catalog". */
    CHECK_EQ(store_get_labels(t, cc, &got, &e), ERR_NOT_FOUND);
    static const int ids[] = {1004, 280, 2};
    static const char *const names[] = {"Manager", NULL, "Primary"};
    bool changed = false;
    REQUIRE(catalog_of(&b, ids, names, 3));
    REQUIRE(store_put_labels(t, cc, &b, 1700000000000LL, &changed, &e) == 0);
    CHECK(changed);
    /* Read back in canonical order (type ID), with the time it was read. */
    REQUIRE(store_get_labels(t, cc, &got, &e) == 0);
    REQUIRE_EQ(got.sl_count, 3);
    CHECK_EQ(got.sl_read_ms, 1700000000000LL);
    CHECK_EQ(got.sl_types[0].st_type_id, 2);
    CHECK_EQ(got.sl_types[1].st_type_id, 280);
    CHECK(got.sl_types[1].st_label == NULL);
    CHECK_EQ(got.sl_types[2].st_category, ASSOC_USER_DEFINED);
    const store_type *m = store_labels_find(&got, 1004, ASSOC_USER_DEFINED);
    CHECK(m && m->st_label_len == 7 && memcmp(m->st_label, "Manager", 7) == 0);
    CHECK(store_labels_find(&got, 1004, ASSOC_HUBSPOT_DEFINED) == NULL);
    /* The same catalog read later: not changed, the time moves on. */
    REQUIRE(store_put_labels(t, cc, &b, 1700000060000LL, &changed, &e) == 0);
    CHECK(!changed);
    REQUIRE(store_get_labels(t, cc, &got, &e) == 0);
    CHECK_EQ(got.sl_read_ms, 1700000060000LL);
    /* A label renamed: changed. */
    static const char *const renamed[] = {"Account manager", NULL, "Primary"};
    REQUIRE(catalog_of(&b, ids, renamed, 3));
    REQUIRE(store_put_labels(t, cc, &b, 1700000120000LL, &changed, &e) == 0);
    CHECK(changed);
    /* Bad input is refused: two links, a negative time, an engagement pair
     * in the wrong order. */
    CHECK_EQ(store_put_labels(t, cc, &b, -1, &changed, &e), ERR_INVALID);
    REQUIRE(assoc_buf_add_link(&b, 1) == 0);
    CHECK_EQ(store_put_labels(t, cc, &b, 1, &changed, &e), ERR_INVALID);
    hs_table wrong = {HS_CONTACTS, HS_COMPANIES};
    CHECK_EQ(store_get_labels(t, wrong, &got, &e), ERR_INVALID);
    REQUIRE(store_txn_commit(t, &e) == 0);
    t = NULL;
    store_close(s);
    s = NULL;
    /* A read-only open sees it. */
    store_options rdo = {.so_readonly = true};
    REQUIRE((s = open_store(dir, &rdo)) != NULL);
    REQUIRE(store_txn_begin(s, STORE_TXN_READ, &t, &e) == 0);
    REQUIRE(store_get_labels(t, cc, &got, &e) == 0);
    m = store_labels_find(&got, 1004, ASSOC_USER_DEFINED);
    CHECK(m && m->st_label_len == 15 && memcmp(m->st_label, "Account manager", 15) == 0);
done:
    store_labels_free(&got);
    assoc_buf_free(&b);
    store_txn_abort(t);
    store_close(s);
    ut_tmpdir_remove(dir);
}

/* ---- tests: layout and opening ------------------------------------------- */

static void test_files_and_modes(void)
{
    char root[64], dir[128];
    store *s = NULL;
    mode_t old = umask(0); /* the store must not rely on the caller's umask */
    REQUIRE(ut_tmpdir_make(root, sizeof(root), "store"));
    snprintf(dir, sizeof(dir), "%s/a/db", root);
    s = open_store(dir, NULL);
    umask(old);
    REQUIRE(s != NULL);
    file_mode_is(root, "a", 0700);
    file_mode_is(dir, "", 0700);
    file_mode_is(dir, "data.mdb", 0600);
    file_mode_is(dir, "lock.mdb", 0600);
    file_mode_is(dir, "hubsync.lock", 0600);
    store_info info;
    store_get_info(s, &info);
    CHECK_EQ(info.si_map_bytes, STORE_DEFAULT_MAP_BYTES);
    CHECK(!info.si_readonly);
done:
    umask(old);
    store_close(s);
    ut_tmpdir_remove(root);
}

/* The documented layout, read back with raw LMDB and compared with what
 * msgpack-c packs: keys big-endian, values canonical msgpack. */
static void test_layout_matches_msgpack_c(void)
{
    char dir[64];
    store *s = NULL;
    store_txn *t = NULL;
    assoc_buf b;
    assoc_buf_init(&b);
    raw_env r;
    memset(&r, 0, sizeof(r));
    err_info e = {0, ""};
    labels_init();
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    /* One link per interesting type ID and label length. */
    static const int32_t ids[] = {0,      1,      127, 128, 255,       256,      65535,
                                  65536,  -1,     -32, -33, -128,      -129,     -32768,
                                  -32769, 100000, 280, 2,   INT32_MAX, INT32_MIN};
    static const uint32_t lens[] = {0, 1, 31, 32, 255, 256, 300};
    const uint64_t parent = 0x0102030405060708ULL;
    REQUIRE(assoc_buf_begin_parent(&b, parent) == 0);
    for (size_t i = 0; i < UT_COUNT(ids); i++) {
        REQUIRE(assoc_buf_add_link(&b, 1000 + i) == 0);
        uint32_t n = lens[i % UT_COUNT(lens)];
        const char *label = i % 3 == 0 ? NULL : label300;
        REQUIRE(assoc_buf_add_type(&b, ids[i], (assoc_category)(i % 4), label, n) == 0);
        if (i % 5 == 0)
            REQUIRE(assoc_buf_add_type(&b, 280, ASSOC_HUBSPOT_DEFINED, NULL, 0) == 0);
    }
    REQUIRE(assoc_buf_add_link(&b, 5000) == 0); /* a link with no types: [] */
    REQUIRE(assoc_buf_finish_parent(&b) == 0);
    store_set_delta d = {0, 0, 0, 0};
    REQUIRE(store_replace_set(t, CC, &b, 0, &d, &e) == 0);
    CHECK_EQ(d.sd_added, UT_COUNT(ids) + 1);
    store_object o = {0x1122334455667788ULL, 1767225600123LL, true};
    REQUIRE(store_put_object(t, HS_COMPANIES, &o, &e) == 0);
    REQUIRE(store_txn_commit(t, &e) == 0);
    t = NULL;
    store_close(s);
    s = NULL;

    /* Associations. */
    REQUIRE(raw_open(&r, dir, "assoc." CC_NAME, false));
    const assoc_parent *p = &b.ab_parents[0];
    for (uint32_t i = 0; i < p->ap_nlinks; i++) {
        const assoc_link *l = &assoc_links(&b, p)[i];
        uint8_t key[16];
        be64(key, parent);
        be64(key + 8, l->al_child_id);
        MDB_val k = {16, key}, v;
        if (!CHECK(mdb_get(r.txn, r.dbi, &k, &v) == 0))
            continue;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, l->al_ntypes);
        for (uint32_t j = 0; j < l->al_ntypes; j++) {
            const assoc_type *ty = &assoc_types(&b, l)[j];
            msgpack_pack_array(&pk, 3);
            msgpack_pack_int32(&pk, ty->at_type_id);
            msgpack_pack_int(&pk, ty->at_category);
            if (ty->at_has_label) {
                msgpack_pack_str(&pk, ty->at_label_len);
                msgpack_pack_str_body(&pk, assoc_label(&b, ty), ty->at_label_len);
            } else {
                msgpack_pack_nil(&pk);
            }
        }
        CHECKF(v.mv_size == sb.size && memcmp(v.mv_data, sb.data, sb.size) == 0,
               "child %" PRIu64 ": stored value (%zu bytes) differs from msgpack-c's "
               "(%zu bytes)",
               l->al_child_id, v.mv_size, sb.size);
        msgpack_sbuffer_destroy(&sb);
    }
    raw_close(&r, false);

    /* Objects. */
    REQUIRE(raw_open(&r, dir, "objects.companies", false));
    uint8_t okey[8];
    be64(okey, o.ob_id);
    MDB_val k = {8, okey}, v;
    REQUIRE(mdb_get(r.txn, r.dbi, &k, &v) == 0);
    {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 2);
        msgpack_pack_int64(&pk, o.ob_lastmodified_ms);
        msgpack_pack_true(&pk);
        CHECK(v.mv_size == sb.size && memcmp(v.mv_data, sb.data, sb.size) == 0);
        msgpack_sbuffer_destroy(&sb);
    }
    raw_close(&r, false);

    /* Meta: the format version. */
    REQUIRE(raw_open(&r, dir, "meta", false));
    MDB_val mk = {6, (void *)"format"}, mv;
    REQUIRE(mdb_get(r.txn, r.dbi, &mk, &mv) == 0);
    CHECK(mv.mv_size == 1 && ((const uint8_t *)mv.mv_data)[0] == STORE_FORMAT_VERSION);
    raw_close(&r, false);
    /* Every table and type has its database. */
    CHECK(raw_open(&r, dir, "assoc.deals_tickets", false));
    raw_close(&r, false);
    CHECK(raw_open(&r, dir, "objects.postal_mail", false));
    raw_close(&r, false);
done:
    raw_close(&r, false);
    store_txn_abort(t);
    store_close(s);
    assoc_buf_free(&b);
    ut_tmpdir_remove(dir);
}

static void test_reopen_and_readonly(void)
{
    char dir[64], missing[96];
    store *s = NULL, *ro = NULL;
    store_txn *t = NULL, *rt = NULL;
    err_info e = {0, ""};
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    /* Read-only on a directory with no database. */
    snprintf(missing, sizeof(missing), "%s/nothing", dir);
    store_options rdo = {.so_readonly = true};
    CHECK_EQ(store_open(missing, &rdo, &ro, &e), ERR_NOT_FOUND);
    CHECK(ro == NULL);
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    for (uint64_t id = 1; id <= 10; id++) {
        store_object o = {id * 1000, (int64_t)id, false};
        REQUIRE(store_put_object(t, HS_DEALS, &o, &e) == 0);
    }
    store_state st;
    memset(&st, 0, sizeof(st));
    st.ss_cursor = store_cursor_object_id(5000);
    REQUIRE(store_put_state(t, "objects.deals", &st, &e) == 0);
    REQUIRE(store_txn_commit(t, &e) == 0);
    t = NULL;
    /* A read-only open sees the commit; writing through it fails. (One
     * open per database and process: readers beside a writer live in other
     * processes, see test_run_lock_other_process.) */
    store_close(s);
    s = NULL;
    REQUIRE((ro = open_store(dir, &rdo)) != NULL);
    CHECK_EQ(store_txn_begin(ro, STORE_TXN_WRITE, &t, &e), ERR_INVALID);
    REQUIRE(store_txn_begin(ro, STORE_TXN_READ, &rt, &e) == 0);
    uint64_t n = 0;
    CHECK(store_count_objects(rt, HS_DEALS, &n, &e) == 0 && n == 10);
    CHECK(store_count_objects(rt, HS_TICKETS, &n, &e) == 0 && n == 0);
    store_state got;
    CHECK(store_get_state(rt, "objects.deals", &got, &e) == 0 &&
          got.ss_cursor.cu_kind == STORE_CURSOR_OBJECT_ID && got.ss_cursor.cu_object_id == 5000);
    store_txn_abort(rt);
    rt = NULL;
    store_close(ro);
    ro = NULL;
    /* Reopened for writing: the data is there. */
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    REQUIRE(store_txn_begin(s, STORE_TXN_READ, &rt, &e) == 0);
    store_object o;
    CHECK(store_get_object(rt, HS_DEALS, 7000, &o, &e) == 0 && o.ob_lastmodified_ms == 7);
    CHECK_EQ(store_get_object(rt, HS_DEALS, 7001, &o, &e), ERR_NOT_FOUND);
done:
    store_txn_abort(rt);
    store_txn_abort(t);
    store_close(ro);
    store_close(s);
    ut_tmpdir_remove(dir);
}

static void test_format_version_mismatch(void)
{
    char dir[64], path[128];
    store *s = NULL;
    err_info e = {0, ""};
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    store_close(s);
    s = NULL;
    uint8_t v2 = STORE_FORMAT_VERSION + 1;
    REQUIRE(raw_put(dir, "meta", "format", 6, &v2, 1));
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    uint64_t before = file_digest(path);
    int rc = store_open(dir, NULL, &s, &e);
    CHECK_EQ(rc, ERR_CORRUPT);
    CHECK(strstr(e.ei_msg, "format version 2") != NULL);
    CHECK(s == NULL);
    CHECK_EQ(file_digest(path), before); /* nothing written */
    /* A damaged version record, too. */
    REQUIRE(raw_put(dir, "meta", "format", 6, "\xc1", 1));
    CHECK_EQ(store_open(dir, NULL, &s, &e), ERR_CORRUPT);
    /* And a read-only open refuses it the same way. */
    store_options rdo = {.so_readonly = true};
    CHECK_EQ(store_open(dir, &rdo, &s, &e), ERR_CORRUPT);
done:
    store_close(s);
    ut_tmpdir_remove(dir);
}

static void test_damaged_and_foreign_files(void)
{
    char dir[64], dir2[64], path[128];
    store *s = NULL;
    err_info e = {0, ""};
    dir2[0] = '\0';
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    /* Garbage where data.mdb should be. */
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    for (int i = 0; i < 3 * 4096; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    uint64_t before = file_digest(path);
    int rc = store_open(dir, NULL, &s, &e);
    CHECK_EQ(rc, ERR_CORRUPT);
    CHECK(strstr(e.ei_msg, "data.mdb") != NULL);
    CHECK_EQ(file_digest(path), before);
    /* An LMDB database that is not ours. */
    REQUIRE(ut_tmpdir_make(dir2, sizeof(dir2), "store"));
    REQUIRE(raw_put(dir2, "something", "k", 1, "v", 1));
    snprintf(path, sizeof(path), "%s/data.mdb", dir2);
    before = file_digest(path);
    rc = store_open(dir2, NULL, &s, &e);
    CHECK_EQ(rc, ERR_CORRUPT);
    CHECK(strstr(e.ei_msg, "not hubsync's") != NULL);
    CHECK_EQ(file_digest(path), before);
done:
    store_close(s);
    ut_tmpdir_remove(dir);
    ut_tmpdir_remove(dir2);
}

/* ---- tests: replacing sets ----------------------------------------------- */

enum { MODEL_PARENTS = 48, HEAVY = 5 };

static void test_replace_against_model(void)
{
    char dir[64];
    store *s = NULL;
    store_txn *t = NULL, *rt = NULL;
    assoc_buf b, got;
    assoc_buf_init(&b);
    assoc_buf_init(&got);
    m_set cur[MODEL_PARENTS], work[MODEL_PARENTS], next = {NULL, 0, 0};
    memset(cur, 0, sizeof(cur));
    memset(work, 0, sizeof(work));
    uint64_t parents[MODEL_PARENTS];
    err_info e = {0, ""};
    rng r = {42};
    labels_init();
    /* Parents at the edges of the key space and of byte boundaries. */
    static const uint64_t special[] = {
        0, 1, 2, 255, 256, 257, 65535, 1ULL << 32, (1ULL << 32) + 1, UINT64_MAX - 1, UINT64_MAX};
    size_t np = 0;
    for (size_t i = 0; i < UT_COUNT(special); i++)
        parents[np++] = special[i];
    while (np < MODEL_PARENTS) {
        uint64_t id = 5000000000ULL + rng_below(&r, 1000);
        bool dup = false;
        for (size_t i = 0; i < np; i++)
            dup |= parents[i] == id;
        if (!dup)
            parents[np++] = id;
    }
    for (size_t i = 1; i < np; i++) /* insertion sort: tiny */
        for (size_t j = i; j > 0 && parents[j - 1] > parents[j]; j--) {
            uint64_t x = parents[j];
            parents[j] = parents[j - 1];
            parents[j - 1] = x;
        }
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    store_options o = {.so_no_sync = true};
    REQUIRE((s = open_store(dir, &o)) != NULL);
    unsigned calls = 0, bad_delta = 0, bad_get = 0;
    store_set_delta total = {0, 0, 0, 0};
    for (int batch = 0; batch < 80; batch++) {
        for (size_t p = 0; p < np; p++)
            REQUIRE(mset_copy(&work[p], &cur[p]));
        REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
        uint32_t touches = 1 + rng_below(&r, 12);
        for (uint32_t k = 0; k < touches; k++) {
            size_t p = batch == 0 && k == 0 ? HEAVY : rng_below(&r, (uint32_t)np);
            uint64_t base = parents[p] % 100000;
            store_set_delta d = {0, 0, 0, 0}, want;
            if (p == HEAVY && cur[p].n == 0 && work[p].n == 0) {
                REQUIRE(gen_fresh(&r, &next, base, 1500, 4000)); /* spans many pages */
            } else if (rng_below(&r, 25) == 0) {
                next.n = 0; /* an archived parent */
                want = expected_delta(&work[p], &next);
                REQUIRE(store_delete_parent(t, CC, parents[p], &d, &e) == 0);
                calls++;
                bad_delta += memcmp(&d, &want, sizeof(d)) != 0;
                REQUIRE(mset_copy(&work[p], &next));
                continue;
            } else {
                REQUIRE(gen_next(&r, &work[p], &next, base, p == HEAVY ? 4000 : 40));
            }
            want = expected_delta(&work[p], &next);
            assoc_buf_reset(&b);
            REQUIRE(to_buf(&r, &next, parents[p], &b, rng_below(&r, 2) == 0));
            int rc = store_replace_set(t, CC, &b, 0, &d, &e);
            if (!CHECKF(rc == 0, "replace_set: %d %s", rc, e.ei_msg))
                goto done;
            calls++;
            if (memcmp(&d, &want, sizeof(d)) != 0) {
                if (bad_delta++ < 3)
                    fprintf(stderr,
                            "\n    delta for parent %" PRIu64 ": got +%" PRIu64 " -%" PRIu64
                            " ~%" PRIu64 " =%" PRIu64 ", want +%" PRIu64 " -%" PRIu64 " ~%" PRIu64
                            " =%" PRIu64 "\n",
                            parents[p], d.sd_added, d.sd_removed, d.sd_relabelled, d.sd_unchanged,
                            want.sd_added, want.sd_removed, want.sd_relabelled, want.sd_unchanged);
            }
            delta_sum(&total, &d);
            REQUIRE(mset_copy(&work[p], &next));
            /* The batch reads its own writes. */
            if (rng_below(&r, 4) == 0) {
                assoc_buf_reset(&got);
                assoc_buf_reset(&b);
                REQUIRE(to_buf(&r, &work[p], parents[p], &b, false));
                REQUIRE(store_get_set(t, CC, parents[p], &got, &e) == 0);
                bad_get += !bufs_equal(&got, &b);
            }
        }
        if (batch % 7 == 6) {
            store_txn_abort(t); /* the model keeps cur */
            t = NULL;
        } else {
            REQUIRE(store_txn_commit(t, &e) == 0);
            t = NULL;
            for (size_t p = 0; p < np; p++)
                REQUIRE(mset_copy(&cur[p], &work[p]));
        }
        REQUIRE(store_txn_begin(s, STORE_TXN_READ, &rt, &e) == 0);
        bool same = table_equals(rt, parents, cur, np);
        store_txn_abort(rt);
        rt = NULL;
        if (!CHECKF(same, "table differs from the model after batch %d", batch))
            break;
    }
    CHECKF(bad_delta == 0, "%u of %u deltas differ from brute force", bad_delta, calls);
    CHECK_EQ(bad_get, 0);
    /* Every kind of change happened. */
    CHECK(total.sd_added > 0 && total.sd_removed > 0 && total.sd_relabelled > 0 &&
          total.sd_unchanged > 0);
done:
    store_txn_abort(rt);
    store_txn_abort(t);
    store_close(s);
    for (size_t p = 0; p < MODEL_PARENTS; p++) {
        mset_free(&cur[p]);
        mset_free(&work[p]);
    }
    mset_free(&next);
    assoc_buf_free(&b);
    assoc_buf_free(&got);
    ut_tmpdir_remove(dir);
}

static void test_delete_parent_and_neighbours(void)
{
    char dir[64];
    store *s = NULL;
    store_txn *t = NULL;
    store_assoc_iter *it = NULL;
    assoc_buf b;
    assoc_buf_init(&b);
    err_info e = {0, ""};
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    /* Parents 9, 10, 11 and the extremes, each with children 0, 5, max. */
    static const uint64_t ps[] = {0, 9, 10, 11, UINT64_MAX};
    static const uint64_t cs[] = {0, 5, UINT64_MAX};
    for (size_t i = 0; i < UT_COUNT(ps); i++) {
        REQUIRE(assoc_buf_begin_parent(&b, ps[i]) == 0);
        for (size_t j = 0; j < UT_COUNT(cs); j++) {
            REQUIRE(assoc_buf_add_link(&b, cs[j]) == 0);
            REQUIRE(assoc_buf_add_type(&b, 280, ASSOC_HUBSPOT_DEFINED, NULL, 0) == 0);
        }
        REQUIRE(assoc_buf_finish_parent(&b) == 0);
        REQUIRE(store_replace_set(t, CC, &b, i, NULL, &e) == 0);
    }
    store_set_delta d = {0, 0, 0, 0};
    REQUIRE(store_delete_parent(t, CC, 10, &d, &e) == 0);
    CHECK_EQ(d.sd_removed, 3);
    REQUIRE(store_delete_parent(t, CC, 10, &d, &e) == 0); /* idempotent */
    CHECK_EQ(d.sd_removed, 3);
    REQUIRE(store_delete_parent(t, CC, UINT64_MAX, &d, &e) == 0);
    CHECK_EQ(d.sd_removed, 6);
    /* An empty set replaces like a delete. */
    assoc_buf_reset(&b);
    REQUIRE(assoc_buf_begin_parent(&b, 0) == 0 && assoc_buf_finish_parent(&b) == 0);
    memset(&d, 0, sizeof(d));
    REQUIRE(store_replace_set(t, CC, &b, 0, &d, &e) == 0);
    CHECK(d.sd_removed == 3 && d.sd_added == 0);
    REQUIRE(store_txn_commit(t, &e) == 0);
    t = NULL;
    /* Left: 9 and 11, whole; iteration from 10 starts at 11. */
    REQUIRE(store_txn_begin(s, STORE_TXN_READ, &t, &e) == 0);
    uint64_t n = 0;
    CHECK(store_count_assoc(t, CC, &n, &e) == 0 && n == 6);
    REQUIRE(store_assoc_iter_open(t, CC, 10, &it, &e) == 0);
    store_assoc row;
    uint64_t seen = 0;
    while (store_assoc_iter_next(it, &row, &e) == 0) {
        CHECK(row.sa_parent_id == 11 && row.sa_child_id == cs[seen] && row.sa_ntypes == 1 &&
              row.sa_types[0].st_type_id == 280 && row.sa_types[0].st_label == NULL);
        seen++;
    }
    CHECK_EQ(seen, 3);
    /* The iterator outlives its transaction safely, but yields no more. */
    store_txn_abort(t);
    t = NULL;
    CHECK_EQ(store_assoc_iter_next(it, &row, &e), ERR_NOT_FOUND);
    store_assoc_iter_close(it);
    it = NULL;
    REQUIRE(store_txn_begin(s, STORE_TXN_READ, &t, &e) == 0);
    REQUIRE(store_assoc_iter_open(t, CC, 0, &it, &e) == 0);
    store_txn_abort(t);
    t = NULL;
    CHECK_EQ(store_assoc_iter_next(it, &row, &e), ERR_INVALID);
done:
    store_assoc_iter_close(it);
    store_txn_abort(t);
    store_close(s);
    assoc_buf_free(&b);
    ut_tmpdir_remove(dir);
}

static void test_invalid_input_keeps_batch(void)
{
    char dir[64];
    store *s = NULL;
    store_txn *t = NULL, *t2 = NULL, *rt = NULL;
    assoc_buf b;
    assoc_buf_init(&b);
    err_info e = {0, ""};
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    CHECK_EQ(store_txn_begin(s, STORE_TXN_WRITE, &t2, &e), ERR_INVALID);
    /* 0: unsorted (never finished); 1: still paging; 2: fine. */
    REQUIRE(assoc_buf_begin_parent(&b, 1) == 0);
    REQUIRE(assoc_buf_add_link(&b, 9) == 0 && assoc_buf_add_link(&b, 3) == 0);
    REQUIRE(assoc_buf_add_type(&b, 280, ASSOC_HUBSPOT_DEFINED, NULL, 0) == 0);
    REQUIRE(assoc_buf_begin_parent(&b, 2) == 0 && assoc_buf_add_link(&b, 3) == 0);
    REQUIRE(assoc_buf_set_after(&b, "MTA=", 4) == 0);
    REQUIRE(assoc_buf_begin_parent(&b, 3) == 0 && assoc_buf_add_link(&b, 3) == 0);
    REQUIRE(assoc_buf_add_type(&b, 280, ASSOC_HUBSPOT_DEFINED, NULL, 0) == 0);
    REQUIRE(assoc_buf_finish_parent(&b) == 0);
    CHECK_EQ(store_replace_set(t, CC, &b, 0, NULL, &e), ERR_INVALID);
    CHECK(strstr(e.ei_msg, "canonical") != NULL);
    CHECK_EQ(store_replace_set(t, CC, &b, 1, NULL, &e), ERR_INVALID);
    CHECK(strstr(e.ei_msg, "incomplete") != NULL);
    CHECK_EQ(store_replace_set(t, CC, &b, 3, NULL, &e), ERR_INVALID);
    hs_table backwards = {HS_CONTACTS, HS_COMPANIES};
    CHECK_EQ(store_replace_set(t, backwards, &b, 2, NULL, &e), ERR_INVALID);
    hs_table same = {HS_DEALS, HS_DEALS};
    CHECK_EQ(store_delete_parent(t, same, 1, NULL, &e), ERR_INVALID);
    CHECK_EQ(store_put_state(t, "", NULL, &e), ERR_INVALID);
    store_state st;
    memset(&st, 0, sizeof(st));
    st.ss_cursor = store_cursor_timestamp_ms(-1);
    CHECK_EQ(store_put_state(t, CC_NAME, &st, &e), ERR_INVALID);
    st.ss_cursor.cu_kind = (store_cursor_kind)7;
    CHECK_EQ(store_put_state(t, CC_NAME, &st, &e), ERR_INVALID);
    char long_name[STORE_NAME_MAX + 8];
    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    st.ss_cursor = store_cursor_none();
    CHECK_EQ(store_put_state(t, long_name, &st, &e), ERR_INVALID);
    /* None of that killed the batch. */
    REQUIRE(store_replace_set(t, CC, &b, 2, NULL, &e) == 0);
    REQUIRE(store_txn_commit(t, &e) == 0);
    t = NULL;
    /* Writes need a write batch. */
    REQUIRE(store_txn_begin(s, STORE_TXN_READ, &rt, &e) == 0);
    CHECK_EQ(store_replace_set(rt, CC, &b, 2, NULL, &e), ERR_INVALID);
    store_object o = {1, 1, false};
    CHECK_EQ(store_put_object(rt, HS_DEALS, &o, &e), ERR_INVALID);
    uint64_t n = 0;
    CHECK(store_count_assoc(rt, CC, &n, &e) == 0 && n == 1);
done:
    store_txn_abort(rt);
    store_txn_abort(t);
    store_close(s);
    assoc_buf_free(&b);
    ut_tmpdir_remove(dir);
}

static void test_objects(void)
{
    char dir[64];
    store *s = NULL;
    store_txn *t = NULL;
    err_info e = {0, ""};
    enum { N = 700 };
    uint64_t *ids = malloc(N * sizeof(*ids));
    store_object *out = malloc(N * sizeof(*out));
    rng r = {7};
    REQUIRE(ids && out);
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    /* IDs across byte boundaries, inserted in random order. */
    for (uint64_t i = 0; i < N; i++)
        ids[i] = i < 300 ? i : i < 600 ? (1ULL << 32) - 150 + i : UINT64_MAX - (N - i - 1);
    for (size_t i = N; i > 1; i--) {
        size_t j = rng_below(&r, (uint32_t)i);
        uint64_t x = ids[i - 1];
        ids[i - 1] = ids[j];
        ids[j] = x;
    }
    for (size_t i = 0; i < N; i++) {
        store_object o = {ids[i], (int64_t)(ids[i] % 1000) - 500, ids[i] % 7 == 0};
        REQUIRE(store_put_object(t, HS_CONTACTS, &o, &e) == 0);
    }
    REQUIRE(store_txn_commit(t, &e) == 0);
    t = NULL;
    /* Batches in ID order, the way a planner reads them. */
    REQUIRE(store_txn_begin(s, STORE_TXN_READ, &t, &e) == 0);
    size_t total = 0, n = 0;
    uint64_t from = 0, last = 0;
    bool ordered = true, values = true;
    for (;;) {
        store_object batch[64];
        REQUIRE(store_objects_from(t, HS_CONTACTS, from, batch, 64, &n, &e) == 0);
        for (size_t i = 0; i < n; i++) {
            ordered &= total + i == 0 || batch[i].ob_id > last;
            values &= batch[i].ob_lastmodified_ms == (int64_t)(batch[i].ob_id % 1000) - 500 &&
                      batch[i].ob_archived == (batch[i].ob_id % 7 == 0);
            last = batch[i].ob_id;
        }
        total += n;
        if (n < 64 || last == UINT64_MAX)
            break;
        from = last + 1;
    }
    CHECK_EQ(total, N);
    CHECK(ordered && values);
    CHECK(store_objects_from(t, HS_CONTACTS, (1ULL << 32) + 449, out, N, &n, &e) == 0 &&
          n == 1 + 100 && out[0].ob_id == (1ULL << 32) + 449);
    CHECK(store_objects_from(t, HS_COMPANIES, 0, out, N, &n, &e) == 0 && n == 0);
    store_txn_abort(t);
    t = NULL;
    /* Delete, overwrite, delete the absent. */
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    bool found = false;
    CHECK(store_delete_object(t, HS_CONTACTS, 256, &found, &e) == 0 && found);
    CHECK(store_delete_object(t, HS_CONTACTS, 256, &found, &e) == 0 && !found);
    store_object o = {255, INT64_MIN, true};
    REQUIRE(store_put_object(t, HS_CONTACTS, &o, &e) == 0);
    REQUIRE(store_txn_commit(t, &e) == 0);
    t = NULL;
    REQUIRE(store_txn_begin(s, STORE_TXN_READ, &t, &e) == 0);
    store_object got;
    CHECK_EQ(store_get_object(t, HS_CONTACTS, 256, &got, &e), ERR_NOT_FOUND);
    CHECK(store_get_object(t, HS_CONTACTS, 255, &got, &e) == 0 &&
          got.ob_lastmodified_ms == INT64_MIN && got.ob_archived);
    uint64_t count = 0;
    CHECK(store_count_objects(t, HS_CONTACTS, &count, &e) == 0 && count == N - 1);
    hs_object_type bad = (hs_object_type)HS_OBJECT_TYPE_COUNT;
    CHECK_EQ(store_count_objects(t, bad, &count, &e), ERR_INVALID);
done:
    store_txn_abort(t);
    store_close(s);
    free(ids);
    free(out);
    ut_tmpdir_remove(dir);
}

/* ---- tests: schema and state records ------------------------------------- */

/* One map entry for crafted records: type 'u' uint, 'i' int, 's' string,
 * 'n' nil, 'b' bool, 'L' array of the '|'-separated strings in s, 'A' an
 * array holding the integer i. */
typedef struct kv {
    const char *k;
    char t;
    int64_t i;
    const char *s;
} kv;

static void pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void craft(msgpack_sbuffer *sb, const kv *kvs, size_t n)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i < n; i++) {
        pack_str(&pk, kvs[i].k, strlen(kvs[i].k));
        switch (kvs[i].t) {
        case 'u':
            msgpack_pack_uint64(&pk, (uint64_t)kvs[i].i);
            break;
        case 'i':
            msgpack_pack_int64(&pk, kvs[i].i);
            break;
        case 's':
            pack_str(&pk, kvs[i].s, strlen(kvs[i].s));
            break;
        case 'b':
            if (kvs[i].i)
                msgpack_pack_true(&pk);
            else
                msgpack_pack_false(&pk);
            break;
        case 'L': {
            size_t count = 0;
            for (const char *p = kvs[i].s; *p; p++)
                count += *p == '|';
            msgpack_pack_array(&pk, *kvs[i].s ? count + 1 : 0);
            for (const char *p = kvs[i].s; *p;) {
                const char *bar = strchr(p, '|');
                size_t len = bar ? (size_t)(bar - p) : strlen(p);
                pack_str(&pk, p, len);
                p += len + (bar != NULL);
            }
            break;
        }
        case 'A':
            msgpack_pack_array(&pk, 1);
            msgpack_pack_int64(&pk, kvs[i].i);
            break;
        default:
            msgpack_pack_nil(&pk);
            break;
        }
    }
}

static int decode_state_kv(const kv *kvs, size_t n, store_state *st)
{
    msgpack_sbuffer sb;
    craft(&sb, kvs, n);
    err_info e = {0, ""};
    int rc = store_state_decode(sb.data, sb.size, st, &e);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static int decode_schema_kv(const kv *kvs, size_t n)
{
    msgpack_sbuffer sb;
    craft(&sb, kvs, n);
    store_schema sc;
    store_schema_init(&sc);
    int rc = store_schema_decode(sb.data, sb.size, &sc, NULL);
    store_schema_free(&sc);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static bool schemas_equal(const store_schema *a, const store_schema *b)
{
    if (a->sc_ping_type != b->sc_ping_type || a->sc_supports_roll_up != b->sc_supports_roll_up ||
        a->sc_nrollup_field_labels != b->sc_nrollup_field_labels ||
        a->sc_rollups_since_ms != b->sc_rollups_since_ms ||
        strcmp(a->sc_rollup_fields_object_id, b->sc_rollup_fields_object_id) != 0 ||
        strcmp(a->sc_count_field, b->sc_count_field) != 0)
        return false;
    for (size_t i = 0; i < a->sc_nrollup_field_labels; i++)
        if (strcmp(a->sc_rollup_field_labels[i], b->sc_rollup_field_labels[i]) != 0)
            return false;
    return true;
}

static void test_schema_records(void)
{
    char dir[64];
    store *s = NULL;
    store_txn *t = NULL;
    store_schema sc, got;
    store_schema_init(&sc);
    store_schema_init(&got);
    err_info e = {0, ""};
    void *rec = NULL;
    size_t len = 0;
    sc.sc_ping_type = STORE_PING_INCREMENTAL;
    sc.sc_supports_roll_up = true;
    static const char *labels[] = {"sync_associations_companies_contacts_label_b",
                                   "sync_associations_companies_contacts_label_a",
                                   "sync_associations_companies_contacts_label_b", "", "Z"};
    for (size_t i = 0; i < UT_COUNT(labels); i++)
        REQUIRE(store_schema_add_label(&sc, labels[i], strlen(labels[i])) == 0);
    CHECK_EQ(store_schema_add_label(&sc, "a\0b", 3), ERR_INVALID);
    REQUIRE(sc.sc_nrollup_field_labels == 4);
    CHECK_STR(sc.sc_rollup_field_labels[0], "");
    CHECK_STR(sc.sc_rollup_field_labels[1], "Z");
    CHECK_STR(sc.sc_rollup_field_labels[3], "sync_associations_companies_contacts_label_b");
    snprintf(sc.sc_rollup_fields_object_id, sizeof(sc.sc_rollup_fields_object_id), "companies");
    sc.sc_rollups_since_ms = 1796581876497LL;
    snprintf(sc.sc_count_field, sizeof(sc.sc_count_field), "sync_assoc_companies_contacts_count");
    /* Round trip through the store. */
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    CHECK_EQ(store_get_schema(t, CC, &got, &e), ERR_NOT_FOUND);
    REQUIRE(store_put_schema(t, CC, &sc, &e) == 0);
    hs_table ct = {HS_CONTACTS, HS_TICKETS};
    store_schema plain;
    store_schema_init(&plain);
    snprintf(plain.sc_rollup_fields_object_id, sizeof(plain.sc_rollup_fields_object_id),
             "contacts");
    REQUIRE(store_put_schema(t, ct, &plain, &e) == 0);
    REQUIRE(store_txn_commit(t, &e) == 0);
    t = NULL;
    REQUIRE(store_txn_begin(s, STORE_TXN_READ, &t, &e) == 0);
    REQUIRE(store_get_schema(t, CC, &got, &e) == 0);
    CHECK(schemas_equal(&sc, &got));
    REQUIRE(store_get_schema(t, ct, &got, &e) == 0);
    CHECK(schemas_equal(&plain, &got) && got.sc_ping_type == STORE_PING_FULL);
    store_txn_abort(t);
    t = NULL;
    /* The encoding is the documented map. */
    REQUIRE(store_schema_encode(&sc, &rec, &len, &e) == 0);
    CHECK(memmem(rec, len, "read_incremental_ping", 21) != NULL);
    CHECK(memmem(rec, len, "rollup_fields_object_id", 23) != NULL);
    /* Garbage and near misses. */
    const kv good[] = {{"v", 'u', 1, NULL},
                       {"ping_type", 's', 0, "read_full_ping"},
                       {"supports_roll_up", 'b', 0, NULL},
                       {"rollup_field_labels", 'L', 0, "a|b"},
                       {"rollup_fields_object_id", 's', 0, "deals"},
                       {"future_field", 'u', 3, NULL}};
    CHECK_EQ(decode_schema_kv(good, UT_COUNT(good)), 0);
    struct {
        size_t at;
        kv with;
    } bad[] = {
        {0, {"v", 'u', 2, NULL}},
        {0, {"v", 's', 0, "1"}},
        {0, {"w", 'u', 1, NULL}},
        {1, {"ping_type", 's', 0, "read_some_ping"}},
        {1, {"ping_type", 'u', 1, NULL}},
        {2, {"supports_roll_up", 'u', 1, NULL}},
        {3, {"rollup_field_labels", 'L', 0, "b|a"}},
        {3, {"rollup_field_labels", 'L', 0, "a|a"}},
        {3, {"rollup_field_labels", 's', 0, "a"}},
        {3, {"rollup_field_labels", 'A', 5, NULL}},
        {4, {"rollup_fields_object_id", 'n', 0, NULL}},
        {4,
         {"rollup_fields_object_id", 's', 0,
          "a-name-far-too-long-for-an-object-type-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}},
        {4, {"missing_object_id", 's', 0, "deals"}},
        /* count_field is optional (the good record has none), but typed. */
        {5, {"count_field", 'u', 1, NULL}},
        {5,
         {"count_field", 's', 0,
          "a-name-far-too-long-for-a-property-name-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}},
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        kv rec_kv[UT_COUNT(good)];
        memcpy(rec_kv, good, sizeof(good));
        rec_kv[bad[i].at] = bad[i].with;
        int rc = decode_schema_kv(rec_kv, UT_COUNT(good));
        CHECKF(rc == ERR_CORRUPT, "schema near miss %zu: rc %d", i, rc);
    }
    /* Truncations and trailing bytes. */
    for (size_t cut = 0; cut < len; cut++)
        if (store_schema_decode(rec, cut, &got, NULL) != ERR_CORRUPT)
            CHECKF(false, "schema cut at %zu decoded", cut);
    char *longer = malloc(len + 1);
    REQUIRE(longer != NULL);
    memcpy(longer, rec, len);
    longer[len] = 0;
    CHECK_EQ(store_schema_decode(longer, len + 1, &got, NULL), ERR_CORRUPT);
    free(longer);
    /* Unsorted labels are refused on the way in too. */
    char *tmp = sc.sc_rollup_field_labels[0];
    sc.sc_rollup_field_labels[0] = sc.sc_rollup_field_labels[1];
    sc.sc_rollup_field_labels[1] = tmp;
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    CHECK_EQ(store_put_schema(t, CC, &sc, &e), ERR_INVALID);
done:
    store_txn_abort(t);
    store_close(s);
    free(rec);
    store_schema_free(&sc);
    store_schema_free(&got);
    ut_tmpdir_remove(dir);
}

static bool states_equal(const store_state *a, const store_state *b)
{
    const store_run *x = &a->ss_last_run, *y = &b->ss_last_run;
    bool same = a->ss_cursor.cu_kind == b->ss_cursor.cu_kind &&
                a->ss_scan_started_ms == b->ss_scan_started_ms && a->ss_runs == b->ss_runs &&
                a->ss_scan_origin_ms == b->ss_scan_origin_ms &&
                a->ss_verify_next_id == b->ss_verify_next_id &&
                a->ss_verify_cycles == b->ss_verify_cycles &&
                a->ss_verify_cycle_ended_ms == b->ss_verify_cycle_ended_ms &&
                x->sr_route == y->sr_route && x->sr_started_ms == y->sr_started_ms &&
                x->sr_finished_ms == y->sr_finished_ms && x->sr_completed == y->sr_completed;
#define SAME_FIELD(name) same = same && x->sr_##name == y->sr_##name;
    STORE_RUN_COUNTERS(SAME_FIELD)
#undef SAME_FIELD
    if (a->ss_cursor.cu_kind == STORE_CURSOR_OBJECT_ID)
        same = same && a->ss_cursor.cu_object_id == b->ss_cursor.cu_object_id;
    if (a->ss_cursor.cu_kind == STORE_CURSOR_TIMESTAMP_MS)
        same = same && a->ss_cursor.cu_timestamp_ms == b->ss_cursor.cu_timestamp_ms;
    same = same && a->ss_ndone == b->ss_ndone && a->ss_ndone <= STORE_DONE_RANGES_MAX;
    for (uint32_t i = 0; same && i < a->ss_ndone; i++)
        same = a->ss_done[i].ir_first == b->ss_done[i].ir_first &&
               a->ss_done[i].ir_last == b->ss_done[i].ir_last;
    return same;
}

static void test_cursor_round_trips(void)
{
    char dir[64];
    store *s = NULL;
    store_txn *t = NULL;
    err_info e = {0, ""};
    const store_cursor cursors[] = {store_cursor_none(),
                                    store_cursor_object_id(0),
                                    store_cursor_object_id(5790939450ULL),
                                    store_cursor_object_id(UINT64_MAX),
                                    store_cursor_timestamp_ms(0),
                                    store_cursor_timestamp_ms(1767225600123LL),
                                    store_cursor_timestamp_ms(INT64_MAX)};
    store_state st, got;
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    /* A name never written: never synced, not an error. */
    REQUIRE(store_txn_begin(s, STORE_TXN_READ, &t, &e) == 0);
    CHECK(store_get_state(t, CC_NAME, &got, &e) == 0 &&
          got.ss_cursor.cu_kind == STORE_CURSOR_NONE &&
          got.ss_last_run.sr_route == STORE_ROUTE_NONE);
    store_txn_abort(t);
    t = NULL;
    for (size_t i = 0; i < UT_COUNT(cursors); i++) {
        memset(&st, 0, sizeof(st));
        st.ss_cursor = cursors[i];
        st.ss_scan_started_ms = (int64_t)i * 1000 - 1;
        st.ss_scan_origin_ms = (int64_t)i * 7;
        st.ss_verify_next_id = i ? UINT64_MAX - i : 0;
        st.ss_verify_cycles = i * 3;
        st.ss_verify_cycle_ended_ms = (int64_t)i * 11;
        st.ss_runs = i + 1;
        st.ss_last_run.sr_route = (store_route)(i % STORE_ROUTE_COUNT);
        st.ss_last_run.sr_started_ms = 1767225600000LL + (int64_t)i;
        st.ss_last_run.sr_finished_ms = i % 2 ? 0 : 1767225609999LL;
        st.ss_last_run.sr_completed = i % 2;
        uint64_t v = 1;
#define SET_FIELD(name) st.ss_last_run.sr_##name = (v *= 1000) + i;
        STORE_RUN_COUNTERS(SET_FIELD)
#undef SET_FIELD
        /* Written in the same batch as data, read back after the commit. */
        REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
        store_object o = {i + 1, 0, false};
        REQUIRE(store_put_object(t, HS_COMPANIES, &o, &e) == 0);
        REQUIRE(store_put_state(t, CC_NAME, &st, &e) == 0);
        REQUIRE(store_get_state(t, CC_NAME, &got, &e) == 0); /* reads its own write */
        CHECK(states_equal(&st, &got));
        REQUIRE(store_txn_commit(t, &e) == 0);
        t = NULL;
        REQUIRE(store_txn_begin(s, STORE_TXN_READ, &t, &e) == 0);
        int rc = store_get_state(t, CC_NAME, &got, &e);
        CHECKF(rc == 0 && states_equal(&st, &got), "cursor %zu (%s) round trip: rc %d %s", i,
               store_cursor_kind_name(cursors[i].cu_kind), rc, e.ei_msg);
        store_txn_abort(t);
        t = NULL;
    }
    CHECK_STR(store_cursor_kind_name(STORE_CURSOR_TIMESTAMP_MS), "timestamp_ms");
    CHECK_STR(store_route_name(STORE_ROUTE_FULL_RESUME), "full_scan_resume");
    CHECK_STR(store_ping_type_name(STORE_PING_INCREMENTAL), "read_incremental_ping");
done:
    store_txn_abort(t);
    store_close(s);
    ut_tmpdir_remove(dir);
}

static void test_cursor_garbage_is_corrupt(void)
{
    char dir[64];
    store *s = NULL;
    store_txn *t = NULL;
    err_info e = {0, ""};
    void *rec = NULL;
    size_t len = 0;
    store_state st;
    dir[0] = '\0';
    /* Crafted records: each must fail, none may yield a cursor. */
    const kv ok_id[] = {{"v", 'u', 1, NULL},
                        {"cursor_kind", 's', 0, "object_id"},
                        {"cursor", 'u', 123, NULL},
                        {"unknown_later_field", 's', 0, "ignored"}};
    CHECK(decode_state_kv(ok_id, UT_COUNT(ok_id), &st) == 0 &&
          st.ss_cursor.cu_kind == STORE_CURSOR_OBJECT_ID && st.ss_cursor.cu_object_id == 123);
    struct {
        size_t at;
        kv with;
    } bad[] = {
        {0, {"v", 'u', 2, NULL}},                      /* unknown record version */
        {0, {"v", 'i', -1, NULL}},                     /* version of the wrong type */
        {0, {"version", 'u', 1, NULL}},                /* no version */
        {1, {"cursor_kind", 's', 0, "bogus"}},         /* unknown kind */
        {1, {"cursor_kind", 's', 0, "OBJECT_ID"}},     /* kinds are exact */
        {1, {"cursor_kind", 'u', 1, NULL}},            /* kind as a number */
        {1, {"kind", 's', 0, "object_id"}},            /* no kind */
        {2, {"cursor", 'i', -5, NULL}},                /* negative ID */
        {2, {"cursor", 's', 0, "123"}},                /* ID as a string */
        {2, {"cursor", 'n', 0, NULL}},                 /* kind without value */
        {2, {"position", 'u', 123, NULL}},             /* value missing */
        {2, {"cursor", 'A', 123, NULL}},               /* value in an array */
        {3, {"last_run", 'u', 1, NULL}},               /* figures of the wrong type */
        {3, {"scan_started_ms", 's', 0, "yesterday"}}, /* figures of the wrong type */
        {3, {"runs", 'i', -1, NULL}},
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        kv rec_kv[UT_COUNT(ok_id)];
        memcpy(rec_kv, ok_id, sizeof(ok_id));
        rec_kv[bad[i].at] = bad[i].with;
        int rc = decode_state_kv(rec_kv, UT_COUNT(ok_id), &st);
        CHECKF(rc == ERR_CORRUPT && st.ss_cursor.cu_kind == STORE_CURSOR_NONE,
               "state near miss %zu: rc %d kind %d", i, rc, (int)st.ss_cursor.cu_kind);
    }
    /* A timestamp record must never come back as another kind. */
    const kv ts_neg[] = {
        {"v", 'u', 1, NULL}, {"cursor_kind", 's', 0, "timestamp_ms"}, {"cursor", 'i', -1, NULL}};
    CHECK_EQ(decode_state_kv(ts_neg, UT_COUNT(ts_neg), &st), ERR_CORRUPT);
    const kv none_val[] = {
        {"v", 'u', 1, NULL}, {"cursor_kind", 's', 0, "none"}, {"cursor", 'u', 5, NULL}};
    CHECK_EQ(decode_state_kv(none_val, UT_COUNT(none_val), &st), ERR_CORRUPT);
    const kv bad_route[] = {
        {"v", 'u', 1, NULL}, {"cursor_kind", 's', 0, "none"}, {"last_run", 'n', 0, NULL}};
    CHECK_EQ(decode_state_kv(bad_route, UT_COUNT(bad_route), &st), ERR_CORRUPT);
    /* Not a map; empty; a huge declared array in five bytes (must not try
     * to allocate it); trailing bytes; every truncation of a real record. */
    CHECK_EQ(store_state_decode("\x91\x01", 2, &st, NULL), ERR_CORRUPT);
    CHECK_EQ(store_state_decode("", 0, &st, NULL), ERR_CORRUPT);
    CHECK_EQ(store_state_decode("\xdd\xff\xff\xff\xff", 5, &st, NULL), ERR_CORRUPT);
    CHECK_EQ(store_state_decode("\xdf\xff\xff\xff\xff", 5, &st, NULL), ERR_CORRUPT);
    memset(&st, 0, sizeof(st));
    st.ss_cursor = store_cursor_timestamp_ms(1767225600123LL);
    st.ss_last_run.sr_route = STORE_ROUTE_INCREMENTAL;
    REQUIRE(store_state_encode(&st, &rec, &len, &e) == 0);
    for (size_t cut = 0; cut < len; cut++)
        if (store_state_decode(rec, cut, &st, NULL) != ERR_CORRUPT)
            CHECKF(false, "state cut at %zu decoded", cut);
    /* Random single-byte damage: ERR_CORRUPT or a well-formed record, and
     * a timestamp record never turns into an object-ID cursor. */
    uint8_t *copy = malloc(len + 1);
    REQUIRE(copy != NULL);
    rng r = {99};
    unsigned odd = 0;
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, rec, len);
        copy[rng_below(&r, (uint32_t)len)] = (uint8_t)rng_next(&r);
        if (round % 3 == 0)
            copy[rng_below(&r, (uint32_t)len)] = (uint8_t)rng_next(&r);
        int rc = store_state_decode(copy, len, &st, NULL);
        odd += !(rc == ERR_CORRUPT || (rc == 0 && st.ss_cursor.cu_kind != STORE_CURSOR_OBJECT_ID));
    }
    for (int round = 0; round < 3000; round++) {
        size_t n = 1 + rng_below(&r, 64);
        for (size_t i = 0; i < n && i < len; i++)
            copy[i] = (uint8_t)rng_next(&r);
        int rc = store_state_decode(copy, n < len ? n : len, &st, NULL);
        odd += rc != ERR_CORRUPT && rc != 0;
    }
    free(copy);
    CHECK_EQ(odd, 0);
    /* A damaged record in the database: the read fails and names it. */
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    store_close(s);
    s = NULL;
    REQUIRE(raw_put(dir, "state", CC_NAME, strlen(CC_NAME), "\x83\xa1v\x01garbage", 11));
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    REQUIRE(store_txn_begin(s, STORE_TXN_READ, &t, &e) == 0);
    CHECK_EQ(store_get_state(t, CC_NAME, &st, &e), ERR_CORRUPT);
    CHECK(strstr(e.ei_msg, CC_NAME) != NULL);
    CHECK(st.ss_cursor.cu_kind == STORE_CURSOR_NONE);
done:
    store_txn_abort(t);
    store_close(s);
    free(rec);
    ut_tmpdir_remove(dir);
}

/* ---- tests: done ranges in the state record ------------------------------ */

/* One element of a crafted "done" array: 'u' the uint u, 'i' the negative
 * int -u, 's' a string, 'n' nil, 'f' a float, 'b' true, 'a' the array [u]. */
typedef struct done_item {
    char t;
    uint64_t u;
} done_item;

/* Decodes {"v": 1, "cursor_kind": "object_id", "cursor": 100, "done": …}
 * with "done" present `copies` times: when `as` is 'a' the array of
 * items[0..n), else a lone value of that kind ('u' 5, 'n' nil, 's' "", 'm'
 * an empty map). All crafted with msgpack-c, not with the store's codec. */
static int decode_done_record(char as, const done_item *items, size_t n, int copies,
                              store_state *st)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3 + (size_t)copies);
    pack_str(&pk, "v", 1);
    msgpack_pack_uint64(&pk, 1);
    pack_str(&pk, "cursor_kind", 11);
    pack_str(&pk, "object_id", 9);
    pack_str(&pk, "cursor", 6);
    msgpack_pack_uint64(&pk, 100);
    for (int c = 0; c < copies; c++) {
        pack_str(&pk, "done", 4);
        switch (as) {
        case 'a':
            break;
        case 'u':
            msgpack_pack_uint64(&pk, 5);
            continue;
        case 's':
            pack_str(&pk, "", 0);
            continue;
        case 'm':
            msgpack_pack_map(&pk, 0);
            continue;
        default:
            msgpack_pack_nil(&pk);
            continue;
        }
        msgpack_pack_array(&pk, n);
        for (size_t i = 0; i < n; i++) {
            switch (items[i].t) {
            case 'u':
                msgpack_pack_uint64(&pk, items[i].u);
                break;
            case 'i':
                msgpack_pack_int64(&pk, -(int64_t)items[i].u);
                break;
            case 's':
                pack_str(&pk, "1", 1);
                break;
            case 'f':
                msgpack_pack_double(&pk, (double)items[i].u);
                break;
            case 'b':
                msgpack_pack_true(&pk);
                break;
            case 'a':
                msgpack_pack_array(&pk, 1);
                msgpack_pack_uint64(&pk, items[i].u);
                break;
            default:
                msgpack_pack_nil(&pk);
                break;
            }
        }
    }
    err_info e = {0, ""};
    int rc = store_state_decode(sb.data, sb.size, st, &e);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* n ranges: [0, 5], [10, 15], … and the last one ending at UINT64_MAX;
 * every fourth one adjacent to the one before (first = previous last + 1). */
static void fill_ranges(store_state *st, uint32_t n)
{
    st->ss_ndone = n;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t first = (uint64_t)i * 10;
        if (i > 0 && i % 4 == 0)
            first = st->ss_done[i - 1].ir_last + 1;
        st->ss_done[i] = (store_id_range){first, first + 5};
    }
    if (n)
        st->ss_done[n - 1].ir_last = UINT64_MAX;
}

static void test_done_ranges_round_trip(void)
{
    char dir[64];
    store *s = NULL;
    store_txn *t = NULL;
    err_info e = {0, ""};
    void *rec = NULL;
    size_t len = 0;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    static store_state st, got;
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    struct {
        uint32_t n;
        store_id_range one; /* n == 1: this range */
        store_cursor cursor;
    } cases[] = {
        {0, {0, 0}, store_cursor_object_id(7)},
        {1, {0, UINT64_MAX}, store_cursor_object_id(0)},
        {1, {0, 0}, store_cursor_none()},
        {1, {UINT64_MAX, UINT64_MAX}, store_cursor_timestamp_ms(5)},
        {1, {1001, 2000}, store_cursor_object_id(1000)},
        {2, {0, 0}, store_cursor_object_id(3)},
        {STORE_DONE_RANGES_MAX, {0, 0}, store_cursor_object_id(UINT64_MAX)},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        memset(&st, 0, sizeof(st));
        st.ss_cursor = cases[i].cursor;
        st.ss_runs = i;
        st.ss_last_run.sr_route = STORE_ROUTE_FULL_RESUME;
        if (cases[i].n == 1) {
            st.ss_ndone = 1;
            st.ss_done[0] = cases[i].one;
        } else {
            fill_ranges(&st, cases[i].n);
        }
        /* Stale entries past ss_ndone are neither written nor read back. */
        if (st.ss_ndone < STORE_DONE_RANGES_MAX)
            st.ss_done[st.ss_ndone] = (store_id_range){9, 1};
        REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
        REQUIRE(store_put_state(t, CC_NAME, &st, &e) == 0);
        REQUIRE(store_txn_commit(t, &e) == 0);
        t = NULL;
        memset(&got, 0xa5, sizeof(got));
        REQUIRE(store_txn_begin(s, STORE_TXN_READ, &t, &e) == 0);
        int rc = store_get_state(t, CC_NAME, &got, &e);
        store_txn_abort(t);
        t = NULL;
        CHECKF(rc == 0 && states_equal(&st, &got),
               "case %zu (%u ranges) round trip: rc %d ndone %u %s", i, (unsigned)cases[i].n, rc,
               (unsigned)got.ss_ndone, e.ei_msg);
        if (rc == 0 && got.ss_ndone < STORE_DONE_RANGES_MAX)
            CHECK(got.ss_done[got.ss_ndone].ir_first == 0 &&
                  got.ss_done[got.ss_ndone].ir_last == 0);
    }
    /* The encoding, read with msgpack-c: "done" is a flat array of uints;
     * an empty list is written as []. */
    memset(&st, 0, sizeof(st));
    st.ss_cursor = store_cursor_object_id(99);
    st.ss_ndone = 2;
    st.ss_done[0] = (store_id_range){100, 100};
    st.ss_done[1] = (store_id_range){200, UINT64_MAX};
    for (int pass = 0; pass < 2; pass++) {
        free(rec);
        rec = NULL;
        REQUIRE(store_state_encode(&st, &rec, &len, &e) == 0);
        size_t off = 0;
        REQUIRE(msgpack_unpack_next(&up, rec, len, &off) == MSGPACK_UNPACK_SUCCESS && off == len &&
                up.data.type == MSGPACK_OBJECT_MAP);
        const msgpack_object *done_val = NULL;
        int copies = 0;
        for (uint32_t i = 0; i < up.data.via.map.size; i++) {
            const msgpack_object_kv *p = &up.data.via.map.ptr[i];
            if (p->key.type == MSGPACK_OBJECT_STR && p->key.via.str.size == 4 &&
                memcmp(p->key.via.str.ptr, "done", 4) == 0) {
                done_val = &p->val;
                copies++;
            }
        }
        REQUIRE(copies == 1 && done_val->type == MSGPACK_OBJECT_ARRAY);
        const msgpack_object_array *a = &done_val->via.array;
        REQUIRE(a->size == 2 * st.ss_ndone);
        for (uint32_t i = 0; i < a->size; i++)
            CHECK(a->ptr[i].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                  a->ptr[i].via.u64 ==
                      (i % 2 ? st.ss_done[i / 2].ir_last : st.ss_done[i / 2].ir_first));
        st.ss_ndone = 0;
    }
    /* Every truncation of a record with ranges is ERR_CORRUPT. */
    fill_ranges(&st, 3);
    free(rec);
    rec = NULL;
    REQUIRE(store_state_encode(&st, &rec, &len, &e) == 0);
    for (size_t cut = 0; cut < len; cut++)
        if (store_state_decode(rec, cut, &got, NULL) != ERR_CORRUPT)
            CHECKF(false, "state with ranges cut at %zu decoded", cut);
    CHECK(store_state_decode(rec, len, &got, NULL) == 0 && states_equal(&st, &got));
done:
    msgpack_unpacked_destroy(&up);
    store_txn_abort(t);
    store_close(s);
    free(rec);
    ut_tmpdir_remove(dir);
}

/* The fields issue 12 added (rollups_since_ms; scan_origin_ms and the
 * verification position) are optional: a record without them reads as 0,
 * the "unknown" that makes route_next() rescan once; a negative time is
 * damage on decode and refused on encode. */
static void test_rollup_and_verify_fields(void)
{
    static store_state st;
    const kv old_state[] = {{"v", 'u', 1, NULL},
                            {"cursor_kind", 's', 0, "timestamp_ms"},
                            {"cursor", 'i', 1767225600000LL, NULL},
                            {"runs", 'u', 3, NULL}};
    CHECK_EQ(decode_state_kv(old_state, UT_COUNT(old_state), &st), 0);
    CHECK(st.ss_scan_origin_ms == 0 && st.ss_verify_next_id == 0 && st.ss_verify_cycles == 0 &&
          st.ss_verify_cycle_ended_ms == 0);
    const kv with[] = {{"v", 'u', 1, NULL},
                       {"cursor_kind", 's', 0, "timestamp_ms"},
                       {"cursor", 'i', 1767225600000LL, NULL},
                       {"scan_origin_ms", 'i', 1767225000000LL, NULL},
                       {"verify_next_id", 'u', 20322080632LL, NULL},
                       {"verify_cycles", 'u', 4, NULL},
                       {"verify_cycle_ended_ms", 'i', 1767225500000LL, NULL}};
    CHECK_EQ(decode_state_kv(with, UT_COUNT(with), &st), 0);
    CHECK(st.ss_scan_origin_ms == 1767225000000LL && st.ss_verify_next_id == 20322080632ULL &&
          st.ss_verify_cycles == 4 && st.ss_verify_cycle_ended_ms == 1767225500000LL);
    static const char *const bad_keys[] = {"scan_origin_ms", "verify_cycle_ended_ms"};
    for (size_t i = 0; i < UT_COUNT(bad_keys); i++) {
        const kv neg[] = {
            {"v", 'u', 1, NULL}, {"cursor_kind", 's', 0, "none"}, {bad_keys[i], 'i', -5, NULL}};
        CHECK_EQ(decode_state_kv(neg, UT_COUNT(neg), &st), ERR_CORRUPT);
    }
    const kv wrong_type[] = {
        {"v", 'u', 1, NULL}, {"cursor_kind", 's', 0, "none"}, {"verify_next_id", 's', 0, "7"}};
    CHECK_EQ(decode_state_kv(wrong_type, UT_COUNT(wrong_type), &st), ERR_CORRUPT);
    memset(&st, 0, sizeof(st));
    st.ss_scan_origin_ms = -1;
    void *rec = NULL;
    size_t len = 0;
    CHECK_EQ(store_state_encode(&st, &rec, &len, NULL), ERR_INVALID);
    free(rec);
    /* Schemas: without rollups_since_ms it reads 0; negative is damage. */
    const kv schema_old[] = {{"v", 'u', 1, NULL},
                             {"ping_type", 's', 0, "read_incremental_ping"},
                             {"supports_roll_up", 'b', 1, NULL},
                             {"rollup_field_labels", 'L', 0, "a"},
                             {"rollup_fields_object_id", 's', 0, "deals"}};
    CHECK_EQ(decode_schema_kv(schema_old, UT_COUNT(schema_old)), 0);
    const kv schema_neg[] = {{"v", 'u', 1, NULL},
                             {"ping_type", 's', 0, "read_incremental_ping"},
                             {"supports_roll_up", 'b', 1, NULL},
                             {"rollup_field_labels", 'L', 0, "a"},
                             {"rollup_fields_object_id", 's', 0, "deals"},
                             {"rollups_since_ms", 'i', -1, NULL}};
    CHECK_EQ(decode_schema_kv(schema_neg, UT_COUNT(schema_neg)), ERR_CORRUPT);
    store_schema sc;
    store_schema_init(&sc);
    sc.sc_rollups_since_ms = -2;
    CHECK_EQ(store_schema_encode(&sc, &rec, &len, NULL), ERR_INVALID);
}

static void test_done_ranges_old_records(void)
{
    char dir[64];
    store *s = NULL;
    store_txn *t = NULL;
    err_info e = {0, ""};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    static store_state st;
    dir[0] = '\0';
    /* A record as the store wrote it before "done" existed. */
    const kv old_rec[] = {{"v", 'u', 1, NULL},
                          {"cursor_kind", 's', 0, "object_id"},
                          {"cursor", 'u', 5790939450LL, NULL},
                          {"scan_started_ms", 'i', 1767225600000LL, NULL},
                          {"runs", 'u', 3, NULL}};
    st.ss_ndone = 7; /* whatever it held is replaced */
    CHECK_EQ(decode_state_kv(old_rec, UT_COUNT(old_rec), &st), 0);
    CHECK(st.ss_ndone == 0 && st.ss_cursor.cu_kind == STORE_CURSOR_OBJECT_ID &&
          st.ss_cursor.cu_object_id == 5790939450ULL && st.ss_runs == 3);
    /* ... and stored in a database, read back through the store. */
    craft(&sb, old_rec, UT_COUNT(old_rec));
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    store_close(s);
    s = NULL;
    REQUIRE(raw_put(dir, "state", CC_NAME, strlen(CC_NAME), sb.data, sb.size));
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    REQUIRE(store_txn_begin(s, STORE_TXN_READ, &t, &e) == 0);
    st.ss_ndone = 7;
    CHECK_EQ(store_get_state(t, CC_NAME, &st, &e), 0);
    CHECK(st.ss_ndone == 0 && st.ss_cursor.cu_object_id == 5790939450ULL &&
          st.ss_scan_started_ms == 1767225600000LL);
    /* An empty "done" is no ranges as well. */
    CHECK_EQ(decode_done_record('a', NULL, 0, 1, &st), 0);
    CHECK(st.ss_ndone == 0 && st.ss_cursor.cu_object_id == 100);
done:
    store_txn_abort(t);
    store_close(s);
    msgpack_sbuffer_destroy(&sb);
    ut_tmpdir_remove(dir);
}

static void test_done_ranges_invalid(void)
{
    char dir[64];
    store *s = NULL;
    store_txn *t = NULL;
    err_info e = {0, ""};
    void *rec = NULL;
    size_t len = 0;
    done_item *many = NULL;
    static store_state st, got;
    dir[0] = '\0';
    /* Decoding: the well-formed control, then each damaged form. */
    const done_item ok[] = {{'u', 0},  {'u', 10}, {'u', 11},
                            {'u', 11}, {'u', 20}, {'u', UINT64_MAX}};
    CHECK_EQ(decode_done_record('a', ok, UT_COUNT(ok), 1, &st), 0);
    CHECK(st.ss_ndone == 3 && st.ss_done[1].ir_first == 11 && st.ss_done[1].ir_last == 11 &&
          st.ss_done[2].ir_last == UINT64_MAX);
    struct {
        const char *what;
        done_item items[6];
        size_t n;
    } bad[] = {
        {"one value", {{'u', 1}}, 1},
        {"odd count", {{'u', 1}, {'u', 2}, {'u', 3}}, 3},
        {"first > last", {{'u', 5}, {'u', 4}}, 2},
        {"first > last at the top", {{'u', UINT64_MAX}, {'u', 0}}, 2},
        {"overlapping", {{'u', 0}, {'u', 10}, {'u', 10}, {'u', 20}}, 4},
        {"overlapping inside", {{'u', 0}, {'u', 10}, {'u', 5}, {'u', 6}}, 4},
        {"descending", {{'u', 20}, {'u', 30}, {'u', 0}, {'u', 10}}, 4},
        {"repeated", {{'u', 7}, {'u', 8}, {'u', 7}, {'u', 8}}, 4},
        {"second overlaps the first at UINT64_MAX",
         {{'u', 0}, {'u', UINT64_MAX}, {'u', UINT64_MAX}, {'u', UINT64_MAX}},
         4},
        {"negative first", {{'i', 1}, {'u', 4}}, 2},
        {"negative last", {{'u', 0}, {'i', 4}}, 2},
        {"string", {{'s', 0}, {'u', 4}}, 2},
        {"nil", {{'u', 0}, {'n', 0}}, 2},
        {"float", {{'f', 3}, {'u', 4}}, 2},
        {"bool", {{'u', 0}, {'b', 0}}, 2},
        {"nested array", {{'a', 1}, {'a', 2}}, 2},
        {"bad value after good ranges",
         {{'u', 0}, {'u', 1}, {'u', 2}, {'u', 3}, {'u', 4}, {'f', 5}},
         6},
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        memset(&st, 0x5a, sizeof(st));
        int rc = decode_done_record('a', bad[i].items, bad[i].n, 1, &st);
        CHECKF(rc == ERR_CORRUPT && st.ss_ndone == 0 && st.ss_cursor.cu_kind == STORE_CURSOR_NONE,
               "done near miss %zu (%s): rc %d ndone %u", i, bad[i].what, rc,
               (unsigned)st.ss_ndone);
    }
    const char not_arrays[] = {'u', 'n', 's', 'm'};
    for (size_t i = 0; i < UT_COUNT(not_arrays); i++) {
        int rc = decode_done_record(not_arrays[i], NULL, 0, 1, &st);
        CHECKF(rc == ERR_CORRUPT, "done as '%c': rc %d", not_arrays[i], rc);
    }
    /* "done" twice, even if each copy is well formed. */
    CHECK_EQ(decode_done_record('a', ok, UT_COUNT(ok), 2, &st), ERR_CORRUPT);
    CHECK_EQ(decode_done_record('a', NULL, 0, 2, &st), ERR_CORRUPT);
    /* STORE_DONE_RANGES_MAX ranges decode; one more does not. */
    size_t nmany = 2 * ((size_t)STORE_DONE_RANGES_MAX + 1);
    REQUIRE((many = calloc(nmany, sizeof(*many))) != NULL);
    for (size_t i = 0; i < nmany; i++)
        many[i] = (done_item){'u', (uint64_t)i};
    CHECK_EQ(decode_done_record('a', many, nmany - 2, 1, &st), 0);
    CHECK(st.ss_ndone == STORE_DONE_RANGES_MAX &&
          st.ss_done[STORE_DONE_RANGES_MAX - 1].ir_last == nmany - 3);
    CHECK_EQ(decode_done_record('a', many, nmany, 1, &st), ERR_CORRUPT);
    CHECK(st.ss_ndone == 0);

    /* Writing: each invalid list is ERR_INVALID, nothing is written and the
     * batch lives on. */
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    struct {
        const char *what;
        uint32_t n;
        store_id_range r[3];
    } refused[] = {
        {"first > last", 1, {{5, 4}}},
        {"first > last, second range", 2, {{0, 1}, {UINT64_MAX, 2}}},
        {"overlapping", 2, {{0, 10}, {10, 20}}},
        {"overlapping inside", 2, {{0, 10}, {5, 6}}},
        {"descending", 2, {{20, 30}, {0, 10}}},
        {"repeated", 3, {{1, 2}, {3, 4}, {3, 4}}},
        {"second overlaps the first at UINT64_MAX", 2, {{0, UINT64_MAX}, {UINT64_MAX, UINT64_MAX}}},
    };
    for (size_t i = 0; i < UT_COUNT(refused); i++) {
        memset(&st, 0, sizeof(st));
        st.ss_cursor = store_cursor_object_id(1);
        st.ss_ndone = refused[i].n;
        memcpy(st.ss_done, refused[i].r, sizeof(refused[i].r));
        e.ei_msg[0] = '\0';
        int rc = store_put_state(t, CC_NAME, &st, &e);
        CHECKF(rc == ERR_INVALID && e.ei_msg[0], "put of %s: rc %d (%s)", refused[i].what, rc,
               e.ei_msg);
        rc = store_state_encode(&st, &rec, &len, &e);
        CHECKF(rc == ERR_INVALID, "encode of %s: rc %d", refused[i].what, rc);
        if (rc == 0) {
            free(rec);
            rec = NULL;
        }
    }
    memset(&st, 0, sizeof(st));
    st.ss_cursor = store_cursor_object_id(1);
    fill_ranges(&st, STORE_DONE_RANGES_MAX);
    st.ss_ndone = STORE_DONE_RANGES_MAX + 1;
    CHECK_EQ(store_put_state(t, CC_NAME, &st, &e), ERR_INVALID);
    st.ss_ndone = UINT32_MAX;
    CHECK_EQ(store_put_state(t, CC_NAME, &st, &e), ERR_INVALID);
    CHECK_EQ(store_state_encode(&st, &rec, &len, &e), ERR_INVALID);
    /* Nothing of that was written, and the batch still works. */
    CHECK_EQ(store_get_state(t, CC_NAME, &got, &e), 0);
    CHECK(got.ss_cursor.cu_kind == STORE_CURSOR_NONE && got.ss_ndone == 0);
    st.ss_ndone = STORE_DONE_RANGES_MAX;
    REQUIRE(store_put_state(t, CC_NAME, &st, &e) == 0);
    REQUIRE(store_txn_commit(t, &e) == 0);
    t = NULL;
    REQUIRE(store_txn_begin(s, STORE_TXN_READ, &t, &e) == 0);
    CHECK(store_get_state(t, CC_NAME, &got, &e) == 0 && states_equal(&st, &got));
done:
    store_txn_abort(t);
    store_close(s);
    free(rec);
    free(many);
    ut_tmpdir_remove(dir);
}

/* ---- tests: the run lock ------------------------------------------------- */

enum { HOLD_WRITER, HOLD_READER, HOLD_READ_TXN };

typedef struct holder_args {
    const char *h_dir;
    int h_notify_fd;
    int h_mode; /* the run lock, a read-only store, or one with a read txn */
} holder_args;

static int holder_main(void *arg)
{
    holder_args *a = arg;
    store *s = NULL;
    store_txn *t = NULL;
    store_options o = {.so_readonly = a->h_mode != HOLD_WRITER};
    if (store_open(a->h_dir, &o, &s, NULL) != 0)
        return 10;
    if (a->h_mode == HOLD_READ_TXN && store_txn_begin(s, STORE_TXN_READ, &t, NULL) != 0)
        return 11;
    if (write(a->h_notify_fd, "r", 1) != 1)
        return 12;
    for (;;)
        pause();
}

static void test_run_lock_same_process(void)
{
    char dir[64], want[64];
    store *s = NULL, *s2 = NULL;
    err_info e = {0, ""};
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    CHECK_EQ(store_open(dir, NULL, &s2, &e), ERR_LOCKED);
    snprintf(want, sizeof(want), "pid %ld", (long)getpid());
    CHECKF(strstr(e.ei_msg, want) != NULL, "message '%s' lacks '%s'", e.ei_msg, want);
    store_close(s);
    s = NULL;
    CHECK((s2 = open_store(dir, NULL)) != NULL);
done:
    store_close(s2);
    store_close(s);
    ut_tmpdir_remove(dir);
}

static void test_run_lock_other_process(void)
{
    char dir[64], want[64];
    store *s = NULL, *ro = NULL;
    store_txn *t = NULL;
    err_info e = {0, ""};
    int pipefd[2] = {-1, -1};
    pid_t pid = -1;
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    REQUIRE(pipe(pipefd) == 0);
    holder_args a = {dir, pipefd[1], HOLD_WRITER};
    REQUIRE((pid = child_spawn(holder_main, &a)) > 0);
    REQUIRE(wait_byte(pipefd[0], 10000));
    int64_t t0 = (int64_t)time(NULL);
    CHECK_EQ(store_open(dir, NULL, &s, &e), ERR_LOCKED);
    CHECK((int64_t)time(NULL) - t0 <= 1); /* fails fast */
    snprintf(want, sizeof(want), "pid %ld", (long)pid);
    CHECKF(strstr(e.ei_msg, want) != NULL, "message '%s' lacks '%s'", e.ei_msg, want);
    /* Readers take no run lock. */
    store_options rdo = {.so_readonly = true};
    REQUIRE((ro = open_store(dir, &rdo)) != NULL);
    CHECK(store_txn_begin(ro, STORE_TXN_READ, &t, &e) == 0);
    store_txn_abort(t);
    t = NULL;
    store_close(ro);
    ro = NULL;
    /* A SIGKILLed holder does not block the next run. */
    child_kill(pid);
    pid = -1;
    CHECK((s = open_store(dir, NULL)) != NULL);
done:
    child_kill(pid);
    if (pipefd[0] >= 0) {
        close(pipefd[0]);
        close(pipefd[1]);
    }
    store_txn_abort(t);
    store_close(ro);
    store_close(s);
    ut_tmpdir_remove(dir);
}

/* LMDB rebuilds the reader table when the opener is alone, so a stale
 * slot only survives beside another live process: one child keeps the
 * environment open, another dies inside a read transaction. */
static void test_stale_reader_cleared(void)
{
    char dir[64];
    store *s = NULL;
    int pipefd[2] = {-1, -1};
    pid_t keeper = -1, reader = -1;
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    store_close(s);
    s = NULL;
    REQUIRE(pipe(pipefd) == 0);
    holder_args keep = {dir, pipefd[1], HOLD_READER}, read = {dir, pipefd[1], HOLD_READ_TXN};
    REQUIRE((keeper = child_spawn(holder_main, &keep)) > 0);
    REQUIRE(wait_byte(pipefd[0], 10000));
    REQUIRE((reader = child_spawn(holder_main, &read)) > 0);
    REQUIRE(wait_byte(pipefd[0], 10000));
    child_kill(reader); /* dies holding a reader slot */
    reader = -1;
    REQUIRE((s = open_store(dir, NULL)) != NULL);
    store_info info;
    store_get_info(s, &info);
    CHECK_EQ(info.si_stale_readers, 1);
done:
    child_kill(reader);
    child_kill(keeper);
    if (pipefd[0] >= 0) {
        close(pipefd[0]);
        close(pipefd[1]);
    }
    store_close(s);
    ut_tmpdir_remove(dir);
}

/* ---- tests: crashes ------------------------------------------------------
 *
 * A writer applies numbered batches; batch b replaces the sets of KILL_TOUCH
 * parents with sets that depend only on (seed, b, parent), and writes the
 * cursor "object_id b" first thing in the batch. So after any crash, the
 * stored cursor B says which batches committed, and the table must equal
 * the model after B batches exactly.
 */

enum { KILL_PARENTS = 64, KILL_TOUCH = 12 };

static uint64_t kill_parent(uint32_t i)
{
    return 7000000000ULL + (uint64_t)i * 3;
}

static void kill_touched(uint64_t seed, uint64_t batch, uint32_t *idx)
{
    rng r = rng_of(seed, batch, 0xabc);
    for (int j = 0; j < KILL_TOUCH; j++)
        idx[j] = rng_below(&r, KILL_PARENTS);
}

static bool kill_set(uint64_t seed, uint64_t batch, uint32_t pi, m_set *out, uint32_t max_links)
{
    rng r = rng_of(seed, batch, pi + 1);
    return gen_fresh(&r, out, pi * 1000ULL, rng_below(&r, max_links + 1), max_links * 6 + 1);
}

static bool kill_model(uint64_t seed, uint64_t batches, uint32_t max_links, m_set *sets)
{
    for (int p = 0; p < KILL_PARENTS; p++)
        sets[p].n = 0;
    for (uint64_t b = 1; b <= batches; b++) {
        uint32_t idx[KILL_TOUCH];
        kill_touched(seed, b, idx);
        for (int j = 0; j < KILL_TOUCH; j++)
            if (!kill_set(seed, b, idx[j], &sets[idx[j]], max_links))
                return false;
    }
    return true;
}

typedef struct writer_args {
    const char *w_dir;
    uint64_t w_seed;
    long w_commits;  /* batches to commit; -1: until killed */
    int w_mid_ops;   /* then replace this many sets of one more batch and SIGKILL
                        ourselves; -1: return */
    int w_notify_fd; /* a byte after the first commit; -1: none */
    uint32_t w_max_links;
    size_t w_map_bytes;
} writer_args;

/* Writes `ops` of batch b's replacements (after its cursor). */
static int writer_batch(store_txn *t, const writer_args *a, uint64_t b, int ops, assoc_buf *buf,
                        m_set *set)
{
    store_state st;
    memset(&st, 0, sizeof(st));
    st.ss_cursor = store_cursor_object_id(b);
    if (store_put_state(t, CC_NAME, &st, NULL) != 0)
        return 20;
    uint32_t idx[KILL_TOUCH];
    kill_touched(a->w_seed, b, idx);
    for (int j = 0; j < ops && j < KILL_TOUCH; j++) {
        rng r = rng_of(a->w_seed, b, 1000 + (uint64_t)j);
        assoc_buf_reset(buf);
        if (!kill_set(a->w_seed, b, idx[j], set, a->w_max_links) ||
            !to_buf(&r, set, kill_parent(idx[j]), buf, true))
            return 21;
        if (store_replace_set(t, CC, buf, 0, NULL, NULL) != 0)
            return 22;
    }
    return 0;
}

/* Runs in the child: nothing is freed, the process ends with _exit. */
static int writer_main(void *arg)
{
    const writer_args *a = arg;
    store *s = NULL;
    store_txn *t = NULL;
    store_options o = {.so_map_bytes = a->w_map_bytes};
    assoc_buf buf;
    m_set set = {NULL, 0, 0};
    assoc_buf_init(&buf);
    labels_init();
    if (store_open(a->w_dir, &o, &s, NULL) != 0)
        return 10;
    store_state st;
    if (store_txn_begin(s, STORE_TXN_READ, &t, NULL) != 0 ||
        store_get_state(t, CC_NAME, &st, NULL) != 0)
        return 11;
    store_txn_abort(t);
    uint64_t b0 = st.ss_cursor.cu_kind == STORE_CURSOR_OBJECT_ID ? st.ss_cursor.cu_object_id : 0;
    uint64_t b = b0 + 1;
    for (; a->w_commits < 0 || b <= b0 + (uint64_t)a->w_commits; b++) {
        int rc;
        if (store_txn_begin(s, STORE_TXN_WRITE, &t, NULL) != 0)
            return 12;
        if ((rc = writer_batch(t, a, b, KILL_TOUCH, &buf, &set)) != 0)
            return rc;
        if (store_txn_commit(t, NULL) != 0)
            return 13;
        if (a->w_notify_fd >= 0 && b == b0 + 1 && write(a->w_notify_fd, "c", 1) != 1)
            return 14;
    }
    if (a->w_mid_ops < 0) {
        store_close(s);
        return 0;
    }
    if (store_txn_begin(s, STORE_TXN_WRITE, &t, NULL) != 0 ||
        writer_batch(t, a, b, a->w_mid_ops, &buf, &set) != 0)
        return 15;
    raise(SIGKILL);
    return 16;
}

/* Opens the store (with the writers' map setting) and checks it against the
 * model; returns the cursor's batch number, or -1. *map_bytes: the map size
 * the database has. */
static int64_t check_after_crash(const char *dir, uint64_t seed, uint32_t max_links,
                                 size_t map_bytes_opt, size_t *map_bytes)
{
    store *s = NULL;
    store_txn *t = NULL;
    m_set sets[KILL_PARENTS];
    uint64_t parents[KILL_PARENTS];
    memset(sets, 0, sizeof(sets));
    int64_t result = -1;
    err_info e = {0, ""};
    store_state st;
    for (uint32_t i = 0; i < KILL_PARENTS; i++)
        parents[i] = kill_parent(i);
    store_options o = {.so_map_bytes = map_bytes_opt};
    REQUIRE((s = open_store(dir, &o)) != NULL);
    store_info info;
    store_get_info(s, &info);
    if (map_bytes)
        *map_bytes = info.si_map_bytes;
    REQUIRE(store_txn_begin(s, STORE_TXN_READ, &t, &e) == 0);
    REQUIRE(store_get_state(t, CC_NAME, &st, &e) == 0);
    uint64_t batches = 0;
    if (st.ss_cursor.cu_kind == STORE_CURSOR_OBJECT_ID)
        batches = st.ss_cursor.cu_object_id;
    else
        REQUIRE(st.ss_cursor.cu_kind == STORE_CURSOR_NONE);
    REQUIRE(kill_model(seed, batches, max_links, sets));
    if (CHECKF(table_equals(t, parents, sets, KILL_PARENTS),
               "table differs from the model after %" PRIu64 " batches", batches))
        result = (int64_t)batches;
done:
    store_txn_abort(t);
    store_close(s);
    for (int p = 0; p < KILL_PARENTS; p++)
        mset_free(&sets[p]);
    return result;
}

static void test_sigkill_mid_batch(void)
{
    char dir[64];
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    labels_init();
    /* (commits, replacements of the next batch before the kill). Sets of up
     * to 1,500 links in a 1 MiB map make the children grow it (abort, grow,
     * replay) on the way, killed batches included. */
    static const struct {
        long commits;
        int mid_ops;
    } rounds[] = {{0, 5}, {3, KILL_TOUCH}, {2, 0}, {10, 1}, {1, 7}};
    int64_t expect = 0;
    size_t map_bytes = 0;
    for (size_t i = 0; i < UT_COUNT(rounds); i++) {
        writer_args a = {dir, 1234, rounds[i].commits, rounds[i].mid_ops, -1, 1500, 1 << 20};
        int rc = ut_run_sandboxed(writer_main, &a, 60000);
        CHECKF(rc == -1, "round %zu: writer ended with %d, not SIGKILL", i, rc);
        expect += rounds[i].commits;
        int64_t got = check_after_crash(dir, 1234, 1500, 1 << 20, &map_bytes);
        CHECKF(got == expect, "round %zu: cursor at batch %" PRId64 ", want %" PRId64, i, got,
               expect);
        if (got != expect)
            break;
    }
    /* The writers grew the map (the size is the one they committed). */
    CHECKF(map_bytes > (1 << 20), "map still %zu bytes", map_bytes);
done:
    ut_tmpdir_remove(dir);
}

static void test_sigkill_random_instants(void)
{
    char dir[64];
    int pipefd[2] = {-1, -1};
    pid_t pid = -1;
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    REQUIRE(pipe(pipefd) == 0);
    labels_init();
    rng r = {2024};
    int64_t last = 0;
    for (int round = 0; round < 6; round++) {
        writer_args a = {dir, 777, -1, -1, pipefd[1], 12, 0};
        REQUIRE((pid = child_spawn(writer_main, &a)) > 0);
        REQUIRE(wait_byte(pipefd[0], 20000));
        sleep_us(rng_below(&r, 25000));
        child_kill(pid);
        pid = -1;
        int64_t got = check_after_crash(dir, 777, 12, 0, NULL);
        CHECKF(got > last, "round %d: cursor at batch %" PRId64 ", last %" PRId64, round, got,
               last);
        if (got <= last)
            break;
        last = got;
    }
done:
    child_kill(pid);
    if (pipefd[0] >= 0) {
        close(pipefd[0]);
        close(pipefd[1]);
    }
    ut_tmpdir_remove(dir);
}

/* ---- tests: map growth --------------------------------------------------- */

enum { GROW_PARENTS = 3000, GROW_LINKS = 24 };

/* Replaces GROW_PARENTS parents with fresh sets (seeded), plus objects and a
 * cursor, in one batch. */
static int big_batch(store_txn *t, uint64_t seed, m_set *sets, assoc_buf *b, err_info *e)
{
    for (uint32_t p = 0; p < GROW_PARENTS; p++) {
        rng r = rng_of(seed, p, 5);
        if (!gen_fresh(&r, &sets[p], 0, GROW_LINKS, 100000))
            return ERR_NOMEM;
        assoc_buf_reset(b);
        if (!to_buf(&r, &sets[p], 1000 + p, b, false))
            return ERR_NOMEM;
        int rc = store_replace_set(t, CC, b, 0, NULL, e);
        if (rc)
            return rc;
        store_object o = {1000 + p, (int64_t)p, false};
        if ((rc = store_put_object(t, HS_COMPANIES, &o, e)) != 0)
            return rc;
    }
    store_state st;
    memset(&st, 0, sizeof(st));
    st.ss_cursor = store_cursor_object_id(seed);
    return store_put_state(t, CC_NAME, &st, e);
}

static bool store_matches(store *s, const m_set *sets, uint64_t cursor)
{
    store_txn *t = NULL;
    err_info e = {0, ""};
    uint64_t *parents = malloc(GROW_PARENTS * sizeof(*parents));
    bool ok = parents && CHECK(store_txn_begin(s, STORE_TXN_READ, &t, &e) == 0);
    for (uint32_t p = 0; ok && p < GROW_PARENTS; p++)
        parents[p] = 1000 + p;
    ok = ok && table_equals(t, parents, sets, GROW_PARENTS);
    uint64_t n = 0;
    store_state st;
    ok = ok && CHECK(store_count_objects(t, HS_COMPANIES, &n, &e) == 0 && n == GROW_PARENTS);
    ok = ok && CHECK(store_get_state(t, CC_NAME, &st, &e) == 0 &&
                     st.ss_cursor.cu_kind == STORE_CURSOR_OBJECT_ID &&
                     st.ss_cursor.cu_object_id == cursor);
    store_txn_abort(t);
    free(parents);
    return ok;
}

static void test_map_growth(void)
{
    char dir[64];
    store *s = NULL;
    store_txn *t = NULL;
    assoc_buf b;
    assoc_buf_init(&b);
    m_set *sets = calloc(GROW_PARENTS, sizeof(*sets));
    err_info e = {0, ""};
    labels_init();
    REQUIRE(sets != NULL);
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    store_options o = {.so_map_bytes = 1 << 20, .so_no_sync = true};
    REQUIRE((s = open_store(dir, &o)) != NULL);
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    int rc = big_batch(t, 1, sets, &b, &e);
    REQUIRE(CHECKF(rc == 0, "big batch: %d %s", rc, e.ei_msg));
    size_t log_bytes = 0;
    CHECK(store_txn_pending(t, &log_bytes) >= GROW_PARENTS * GROW_LINKS / 2 && log_bytes > 0);
    REQUIRE(store_txn_commit(t, &e) == 0);
    t = NULL;
    store_info info;
    store_get_info(s, &info);
    CHECK(info.si_map_grows >= 2);
    CHECK(info.si_map_bytes >= (size_t)4 << 20);
    CHECK(store_matches(s, sets, 1));
    size_t grown = info.si_map_bytes;
    store_close(s);
    s = NULL;
    /* Reopened with the small setting, the database keeps its size. */
    REQUIRE((s = open_store(dir, &o)) != NULL);
    store_get_info(s, &info);
    CHECK(info.si_map_bytes >= grown);
    CHECK(store_matches(s, sets, 1));
    /* A second big batch rewrites everything (relabels, adds, deletes). */
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    REQUIRE(big_batch(t, 2, sets, &b, &e) == 0);
    REQUIRE(store_txn_commit(t, &e) == 0);
    t = NULL;
    CHECK(store_matches(s, sets, 2));
done:
    store_txn_abort(t);
    store_close(s);
    for (uint32_t p = 0; sets && p < GROW_PARENTS; p++)
        mset_free(&sets[p]);
    free(sets);
    assoc_buf_free(&b);
    ut_tmpdir_remove(dir);
}

static void test_map_growth_limits(void)
{
    char dir[64];
    store *s = NULL;
    store_txn *t = NULL, *rt = NULL;
    assoc_buf b;
    assoc_buf_init(&b);
    m_set *sets = calloc(GROW_PARENTS, sizeof(*sets));
    err_info e = {0, ""};
    labels_init();
    REQUIRE(sets != NULL);
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    /* A cap equal to the start: the big batch cannot fit. */
    store_options o = {.so_map_bytes = 1 << 20, .so_map_max_bytes = 1 << 20, .so_no_sync = true};
    REQUIRE((s = open_store(dir, &o)) != NULL);
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    store_state st;
    memset(&st, 0, sizeof(st));
    st.ss_cursor = store_cursor_timestamp_ms(5);
    REQUIRE(store_put_state(t, CC_NAME, &st, &e) == 0);
    REQUIRE(store_txn_commit(t, &e) == 0);
    t = NULL;
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    int rc = big_batch(t, 3, sets, &b, &e);
    CHECK_EQ(rc, ERR_MAP_FULL);
    CHECK(strstr(e.ei_msg, "limit") != NULL);
    /* The batch is dead; the commit refuses it; the last commit stands. */
    CHECK_EQ(store_delete_parent(t, CC, 1000, NULL, &e), ERR_INVALID);
    CHECK_EQ(store_txn_commit(t, &e), ERR_INVALID);
    t = NULL;
    REQUIRE(store_txn_begin(s, STORE_TXN_READ, &rt, &e) == 0);
    uint64_t n = 1;
    CHECK(store_count_assoc(rt, CC, &n, &e) == 0 && n == 0);
    CHECK(store_get_state(rt, CC_NAME, &st, &e) == 0 &&
          st.ss_cursor.cu_kind == STORE_CURSOR_TIMESTAMP_MS && st.ss_cursor.cu_timestamp_ms == 5);
    store_txn_abort(rt);
    rt = NULL;
    /* The store still takes batches that fit. */
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    REQUIRE(store_delete_parent(t, CC, 1000, NULL, &e) == 0);
    CHECK(store_txn_commit(t, &e) == 0);
    t = NULL;
done:
    store_txn_abort(rt);
    store_txn_abort(t);
    store_close(s);
    for (uint32_t p = 0; sets && p < GROW_PARENTS; p++)
        mset_free(&sets[p]);
    free(sets);
    assoc_buf_free(&b);
    ut_tmpdir_remove(dir);
}

static void test_growth_blocked_by_reader(void)
{
    char dir[64];
    store *s = NULL;
    store_txn *t = NULL, *rt = NULL;
    assoc_buf b;
    assoc_buf_init(&b);
    m_set *sets = calloc(GROW_PARENTS, sizeof(*sets));
    err_info e = {0, ""};
    labels_init();
    REQUIRE(sets != NULL);
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "store"));
    store_options o = {.so_map_bytes = 1 << 20, .so_no_sync = true};
    REQUIRE((s = open_store(dir, &o)) != NULL);
    REQUIRE(store_txn_begin(s, STORE_TXN_READ, &rt, &e) == 0);
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    CHECK_EQ(big_batch(t, 4, sets, &b, &e), ERR_MAP_FULL);
    CHECK(strstr(e.ei_msg, "read transaction") != NULL);
    store_txn_abort(t);
    t = NULL;
    store_txn_abort(rt);
    rt = NULL;
    /* Without the reader the same batch goes through. */
    REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
    REQUIRE(big_batch(t, 4, sets, &b, &e) == 0);
    REQUIRE(store_txn_commit(t, &e) == 0);
    t = NULL;
    CHECK(store_matches(s, sets, 4));
done:
    store_txn_abort(t);
    store_txn_abort(rt);
    store_close(s);
    for (uint32_t p = 0; sets && p < GROW_PARENTS; p++)
        mset_free(&sets[p]);
    free(sets);
    assoc_buf_free(&b);
    ut_tmpdir_remove(dir);
}

/* The commit itself can run out of room (saving the free list needs pages
 * after every put fitted). With a 256 KiB map, batches of ~1,830 parents × 8
 * links rewritten in place hit it on LMDB 0.9.24 with 4 KiB pages: scan
 * sizes from there until one does, checking the data every time. */
static void test_map_full_at_commit(void)
{
    char root[64], dir[96];
    store *s = NULL;
    store_txn *t = NULL;
    store_assoc_iter *it = NULL;
    assoc_buf b;
    assoc_buf_init(&b);
    err_info e = {0, ""};
    unsigned at_commit = 0;
    REQUIRE(ut_tmpdir_make(root, sizeof(root), "store"));
    for (uint32_t n = 1825; n < 1900 && at_commit == 0; n++) {
        snprintf(dir, sizeof(dir), "%s/n%u", root, n);
        store_options o = {.so_map_bytes = 256 << 10, .so_no_sync = true};
        REQUIRE((s = open_store(dir, &o)) != NULL);
        for (uint32_t round = 0; round < 3; round++) {
            REQUIRE(store_txn_begin(s, STORE_TXN_WRITE, &t, &e) == 0);
            for (uint32_t p = 0; p < n; p++) {
                assoc_buf_reset(&b);
                REQUIRE(assoc_buf_begin_parent(&b, 1000 + p) == 0);
                for (uint32_t c = 0; c < 8; c++) {
                    REQUIRE(assoc_buf_add_link(&b, c * 3 + round) == 0);
                    REQUIRE(assoc_buf_add_type(&b, (int32_t)(280 + round), ASSOC_HUBSPOT_DEFINED,
                                               NULL, 0) == 0);
                }
                REQUIRE(assoc_buf_finish_parent(&b) == 0);
                REQUIRE(store_replace_set(t, CC, &b, 0, NULL, &e) == 0);
            }
            int rc = store_txn_commit(t, &e);
            t = NULL;
            REQUIRE(CHECKF(rc == 0, "n %u round %u: %d %s", n, round, rc, e.ei_msg));
        }
        /* Exactly the last round's links. */
        REQUIRE(store_txn_begin(s, STORE_TXN_READ, &t, &e) == 0);
        REQUIRE(store_assoc_iter_open(t, CC, 0, &it, &e) == 0);
        store_assoc row;
        uint64_t rows = 0, wrong = 0;
        while (store_assoc_iter_next(it, &row, &e) == 0) {
            uint64_t p = rows / 8, c = rows % 8;
            wrong += row.sa_parent_id != 1000 + p || row.sa_child_id != c * 3 + 2 ||
                     row.sa_ntypes != 1 || row.sa_types[0].st_type_id != 282;
            rows++;
        }
        store_assoc_iter_close(it);
        it = NULL;
        store_txn_abort(t);
        t = NULL;
        CHECK_EQ(rows, (uint64_t)n * 8);
        CHECK_EQ(wrong, 0);
        store_info info;
        store_get_info(s, &info);
        at_commit = info.si_map_grows_at_commit;
        store_close(s);
        s = NULL;
        ut_tmpdir_remove(dir);
    }
    CHECK(at_commit > 0);
done:
    store_assoc_iter_close(it);
    store_txn_abort(t);
    store_close(s);
    assoc_buf_free(&b);
    ut_tmpdir_remove(root);
}

/* ---- registration -------------------------------------------------------- */

int unit_suite_store(void)
{
    static const ut_test tests[] = {
        {"files 0600, directories 0700, whatever the umask", test_files_and_modes},
        {"layout: big-endian keys, values as msgpack-c packs them", test_layout_matches_msgpack_c},
        {"reopen keeps data; read-only opens", test_reopen_and_readonly},
        {"format version mismatch: ERR_CORRUPT, nothing written", test_format_version_mismatch},
        {"damaged or foreign data.mdb: ERR_CORRUPT, nothing written",
         test_damaged_and_foreign_files},
        {"replace_set against a brute-force model (random sets)", test_replace_against_model},
        {"delete_parent, empty sets, neighbours and extremes", test_delete_parent_and_neighbours},
        {"bad input is refused without killing the batch", test_invalid_input_keeps_batch},
        {"objects: put, get, delete, batches in ID order", test_objects},
        {"schema records: round trip, sorted labels, garbage", test_schema_records},
        {"label catalogs: round trip, changed or not, bad input", test_label_catalogs},
        {"cursors of each kind round trip with the data", test_cursor_round_trips},
        {"wrong or garbage cursor records: ERR_CORRUPT", test_cursor_garbage_is_corrupt},
        {"done ranges: 0, 1 and the most round trip, IDs 0 and UINT64_MAX",
         test_done_ranges_round_trip},
        {"done ranges: records without them decode with none", test_done_ranges_old_records},
        {"rollups_since, scan origin, verification: optional, never negative",
         test_rollup_and_verify_fields},
        {"done ranges: damaged ERR_CORRUPT on decode, invalid ERR_INVALID on put",
         test_done_ranges_invalid},
        {"run lock: a second open in this process", test_run_lock_same_process},
        {"run lock: held by a child, freed by its SIGKILL", test_run_lock_other_process},
        {"a killed reader's slot is cleared at open", test_stale_reader_cleared},
        {"writer SIGKILLed mid-batch: the last commit stands", test_sigkill_mid_batch},
        {"writer SIGKILLed at random instants: cursor and data agree",
         test_sigkill_random_instants},
        {"map growth from 1 MiB: abort, grow, replay", test_map_growth},
        {"map growth capped: ERR_MAP_FULL, batch dead, last commit stands", test_map_growth_limits},
        {"map growth refused while a read transaction is open", test_growth_blocked_by_reader},
        {"MDB_MAP_FULL at commit: grow and replay", test_map_full_at_commit},
    };
    CU_pSuite s = CU_add_suite("store", NULL, suite_cleanup);
    if (!s)
        return -1;
    for (size_t i = 0; i < UT_COUNT(tests); i++)
        if (!CU_add_test(s, tests[i].t_name, tests[i].t_func))
            return -1;
    return 0;
}
