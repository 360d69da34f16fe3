/*
 * store-bench — how fast the coordinator can merge association sets into
 * LMDB and export them (common/store/store). A program, not a test: it prints
 * figures and asserts nothing.
 *
 *   bin/store-bench [--parents N] [--links L] [--response P] [--commit P]
 *                   [--map MIB] [--no-sync] [--dir DIR]
 *
 * --map sets the initial map size (default 64 MiB); a small one shows what
 * growing it (abort, grow, replay the batch) costs.
 *
 * Phases, each over the same N parents × L links (default 200,000 × 5):
 *   fresh load     replace_set into an empty table
 *   re-scan 1%     the same sets with ~1% of links added, removed or relabelled
 *   re-scan 0%     the same sets again (nothing to write)
 *   incremental    10% of the parents in random order (as search results
 *                  deliver them), ~1% of their links changed
 *   shuffled load  worst case: a fresh load of a second table with every
 *                  parent in random order (no MDB_APPEND; each commit copies
 *                  most pages of the table)
 *   export scan    iterate every association, decoding its types
 *   export TSV     the same, formatted as §7 TSV lines into a buffer
 *
 * Inputs are built before each phase, in batches of --response parents (a
 * batch-read response, 1,000 by default), so only store calls are timed;
 * a write batch is committed every --commit parents (20,000: 100,000
 * associations). Commits fsync unless --no-sync. Figures are associations
 * per wall-clock second and per CPU second (the process is one thread, so
 * the latter is per core).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../common/store/assoc.h"
#include "../../common/base/jbuf.h"
#include "../../common/store/store.h"

typedef struct bench_opts {
    uint64_t parents;
    uint32_t links;
    uint32_t response;
    uint32_t commit;
    uint32_t map_mib;
    bool no_sync;
    const char *dir;
} bench_opts;

static const hs_table table = {HS_COMPANIES, HS_CONTACTS};
static const hs_table table2 = {HS_COMPANIES, HS_DEALS};

static double now_s(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t parent_id(uint64_t i)
{
    return 5000000000ULL + i * 3;
}

/* Link k of parent i: children spread over a wide range, in order. */
static uint64_t child_id(uint64_t i, uint32_t k)
{
    return 10000000000ULL + (mix(i) % 1000000) * 64 + k * 7;
}

/* Adds link k's types: 280 for all; every fifth also labelled "Primary". */
static void add_types(assoc_buf *b, uint64_t i, uint32_t k, int relabel)
{
    assoc_buf_add_type(b, 280, ASSOC_HUBSPOT_DEFINED, NULL, 0);
    if ((i + k) % 5 == 0)
        assoc_buf_add_type(b, 1, ASSOC_HUBSPOT_DEFINED, "Primary", 7);
    if (relabel)
        assoc_buf_add_type(b, 7, ASSOC_USER_DEFINED, "Decision maker", 14);
}

typedef struct batches {
    assoc_buf *bufs;
    size_t count;
    uint64_t links; /* associations in all the new sets */
    uint64_t changes;
} batches;

/* Builds the inputs for `nparents` parents (in ID order, or in a random
 * order drawn from all of them): `change_per_mille` of links changed (⅓
 * removed, ⅓ relabelled, ⅓ accompanied by a new child). */
static int build(const bench_opts *o, uint64_t nparents, unsigned change_per_mille, bool shuffle,
                 batches *out)
{
    memset(out, 0, sizeof(*out));
    out->count = (size_t)((nparents + o->response - 1) / o->response);
    out->bufs = calloc(out->count, sizeof(assoc_buf));
    if (!out->bufs)
        return -1;
    for (size_t r = 0; r < out->count; r++) {
        assoc_buf *b = &out->bufs[r];
        assoc_buf_init(b);
        for (uint64_t n = r * o->response; n < (r + 1) * o->response && n < nparents; n++) {
            /* Shuffled: a bijection of [0, parents) through a large prime. */
            uint64_t i = shuffle ? (n * 2654435761ULL + 12345) % o->parents : n;
            if (assoc_buf_begin_parent(b, parent_id(i)))
                return -1;
            for (uint32_t k = 0; k < o->links; k++) {
                uint64_t roll = mix(i * 131 + k + change_per_mille * 7919) % 3000;
                bool changed = roll < change_per_mille * 3;
                int kind = changed ? (int)(roll % 3) : -1;
                out->changes += changed;
                if (kind == 0)
                    continue; /* removed */
                if (assoc_buf_add_link(b, child_id(i, k)))
                    return -1;
                add_types(b, i, k, kind == 1);
                out->links++;
                if (kind == 2) { /* a new child right after this one */
                    if (assoc_buf_add_link(b, child_id(i, k) + 3))
                        return -1;
                    add_types(b, i, k, 0);
                    out->links++;
                }
            }
            if (assoc_buf_finish_parent(b))
                return -1;
        }
    }
    return 0;
}

static void batches_free(batches *bs)
{
    for (size_t r = 0; r < bs->count; r++)
        assoc_buf_free(&bs->bufs[r]);
    free(bs->bufs);
    memset(bs, 0, sizeof(*bs));
}

static void report(const char *phase, uint64_t items, double wall, double cpu, const char *extra)
{
    printf("%-14s %10" PRIu64 " assoc %8.3f s wall %8.3f s cpu %8.2f M/s wall %8.2f M/s cpu  %s\n",
           phase, items, wall, cpu, (double)items / wall / 1e6, (double)items / cpu / 1e6, extra);
}

/* Replaces every parent of `bs`, committing every o->commit parents. */
static int merge(store *s, const bench_opts *o, hs_table tb, const char *phase, const batches *bs)
{
    err_info e = {0, ""};
    store_set_delta d = {0, 0, 0, 0};
    store_txn *t = NULL;
    uint64_t in_txn = 0;
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    for (size_t r = 0; r < bs->count; r++) {
        const assoc_buf *b = &bs->bufs[r];
        for (size_t p = 0; p < b->ab_nparents; p++) {
            if (!t && store_txn_begin(s, STORE_TXN_WRITE, &t, &e))
                goto fail;
            if (store_replace_set(t, tb, b, p, &d, &e))
                goto fail;
            if (++in_txn == o->commit) {
                if (store_txn_commit(t, &e))
                    goto fail;
                t = NULL;
                in_txn = 0;
            }
        }
    }
    if (t && store_txn_commit(t, &e))
        goto fail;
    double wall = now_s(CLOCK_MONOTONIC) - w0, cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    char extra[160];
    snprintf(extra, sizeof(extra),
             "+%" PRIu64 " -%" PRIu64 " ~%" PRIu64 " =%" PRIu64 " (input changes %" PRIu64 ")",
             d.sd_added, d.sd_removed, d.sd_relabelled, d.sd_unchanged, bs->changes);
    report(phase, bs->links, wall, cpu, extra);
    return 0;
fail:
    fprintf(stderr, "store-bench: %s: %s\n", phase, e.ei_msg);
    store_txn_abort(t);
    return -1;
}

static int export_scan(store *s, bool tsv)
{
    err_info e = {0, ""};
    store_txn *t = NULL;
    store_assoc_iter *it = NULL;
    jbuf out;
    jb_init(&out);
    uint64_t rows = 0, types = 0, bytes = 0;
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    if (store_txn_begin(s, STORE_TXN_READ, &t, &e) || store_assoc_iter_open(t, table, 0, &it, &e))
        goto fail;
    store_assoc row;
    int rc;
    while ((rc = store_assoc_iter_next(it, &row, &e)) == 0) {
        rows++;
        types += row.sa_ntypes;
        if (!tsv)
            continue;
        /* §7: TABLE \t PARENT \t CHILD \t distinct type IDs, ascending */
        jb_lit(&out, "companies_contacts\t");
        jb_u64(&out, row.sa_parent_id);
        jb_char(&out, '\t');
        jb_u64(&out, row.sa_child_id);
        jb_char(&out, '\t');
        for (size_t k = 0; k < row.sa_ntypes; k++) {
            if (k && row.sa_types[k].st_type_id == row.sa_types[k - 1].st_type_id)
                continue;
            if (k)
                jb_char(&out, ',');
            jb_i64(&out, row.sa_types[k].st_type_id);
        }
        jb_char(&out, '\n');
        if (out.jb_len > (1 << 16)) {
            bytes += out.jb_len;
            jb_reset(&out);
        }
    }
    bytes += out.jb_len;
    if (rc != ERR_NOT_FOUND)
        goto fail;
    store_assoc_iter_close(it);
    store_txn_abort(t);
    double wall = now_s(CLOCK_MONOTONIC) - w0, cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    char extra[96];
    if (tsv)
        snprintf(extra, sizeof(extra), "%" PRIu64 " bytes of TSV", bytes);
    else
        snprintf(extra, sizeof(extra), "%" PRIu64 " types decoded", types);
    report(tsv ? "export TSV" : "export scan", rows, wall, cpu, extra);
    jb_free(&out);
    return 0;
fail:
    fprintf(stderr, "store-bench: export: %s\n", e.ei_msg);
    store_assoc_iter_close(it);
    store_txn_abort(t);
    jb_free(&out);
    return -1;
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v == 0 || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: store-bench [--parents N] [--links L] [--response P] [--commit P] "
                    "[--map MIB] [--no-sync] [--dir DIR]\n");
    return 2;
}

int main(int argc, char **argv)
{
    bench_opts o = {200000, 5, 1000, 20000, 64, false, NULL};
    for (int i = 1; i < argc; i++) {
        uint32_t v;
        bool has = i + 1 < argc;
        if (strcmp(argv[i], "--no-sync") == 0)
            o.no_sync = true;
        else if (strcmp(argv[i], "--dir") == 0 && has)
            o.dir = argv[++i];
        else if (strcmp(argv[i], "--parents") == 0 && has && parse_u32(argv[++i], &v) == 0)
            o.parents = v;
        else if (strcmp(argv[i], "--links") == 0 && has && parse_u32(argv[++i], &v) == 0)
            o.links = v;
        else if (strcmp(argv[i], "--response") == 0 && has && parse_u32(argv[++i], &v) == 0)
            o.response = v;
        else if (strcmp(argv[i], "--commit") == 0 && has && parse_u32(argv[++i], &v) == 0)
            o.commit = v;
        else if (strcmp(argv[i], "--map") == 0 && has && parse_u32(argv[++i], &v) == 0)
            o.map_mib = v;
        else
            return usage();
    }
    char tmp[64] = "";
    char dir[512];
    if (o.dir) {
        snprintf(dir, sizeof(dir), "%s", o.dir);
    } else {
        snprintf(tmp, sizeof(tmp), "/tmp/store-bench-XXXXXX");
        if (!mkdtemp(tmp)) {
            perror("store-bench: mkdtemp");
            return 1;
        }
        snprintf(dir, sizeof(dir), "%s/db", tmp);
    }
    store_options so = {.so_no_sync = o.no_sync, .so_map_bytes = (size_t)o.map_mib << 20};
    store *s = NULL;
    err_info e = {0, ""};
    int rc = 1;
    batches bs = {NULL, 0, 0, 0};
    if (store_open(dir, &so, &s, &e)) {
        fprintf(stderr, "store-bench: %s\n", e.ei_msg);
        goto done;
    }
    printf("store-bench: %" PRIu64 " parents x %u links, responses of %u parents, commit every "
           "%u parents, %s, map from %u MiB, in %s\n",
           o.parents, o.links, o.response, o.commit, o.no_sync ? "no fsync" : "fsync on commit",
           o.map_mib, dir);
    if (build(&o, o.parents, 0, false, &bs) || merge(s, &o, table, "fresh load", &bs))
        goto done;
    batches_free(&bs);
    if (build(&o, o.parents, 10, false, &bs) || merge(s, &o, table, "re-scan 1%", &bs))
        goto done;
    if (merge(s, &o, table, "re-scan 0%", &bs)) /* the same sets again: nothing changes */
        goto done;
    batches_free(&bs);
    if (build(&o, o.parents / 10, 11, true, &bs) || merge(s, &o, table, "incremental", &bs))
        goto done;
    batches_free(&bs);
    if (build(&o, o.parents, 0, true, &bs) || merge(s, &o, table2, "shuffled load", &bs))
        goto done;
    batches_free(&bs);
    if (export_scan(s, false) || export_scan(s, true))
        goto done;
    store_info info;
    store_get_info(s, &info);
    char path[600];
    struct stat st;
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    printf("map %zu MiB (grown %u times), data.mdb %lld MiB\n", info.si_map_bytes >> 20,
           info.si_map_grows, stat(path, &st) == 0 ? (long long)st.st_size >> 20 : -1LL);
    rc = 0;
done:
    batches_free(&bs);
    store_close(s);
    if (tmp[0]) {
        char f[600];
        const char *names[] = {"data.mdb", "lock.mdb", "hubsync.lock"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            snprintf(f, sizeof(f), "%s/%s", dir, names[i]);
            unlink(f);
        }
        rmdir(dir);
        rmdir(tmp);
    }
    return rc;
}
