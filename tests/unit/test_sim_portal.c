/*
 * Tests of sim/sim_portal: generation (determinism, structure, IDs, heavy
 * parents, primaries, type IDs, the truth TSV), lookups, every mutation kind,
 * rollup bumps, same-millisecond writes, the search index's lag, and a long
 * random mutation run checked against the structural invariants after every
 * batch (ut_portal_violations, written independently of the module).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/base/jbuf.h"
#include "../../sim/sim_portal.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

#define KIND(k) (1u << (k))

static sim_mutation_opts opts(uint32_t count, uint32_t kinds, uint64_t tables, int64_t now_ms)
{
    sim_mutation_opts o;
    memset(&o, 0, sizeof(o));
    o.mo_count = count;
    o.mo_kinds = kinds;
    o.mo_tables = tables;
    o.mo_now_ms = now_ms;
    return o;
}

/* The small portal plus a couple of engagement types. */
static sim_portal *small_portal(uint64_t seed, bool engagements)
{
    sim_portal_config c;
    ut_portal_config_small(&c, seed);
    if (engagements) {
        c.pc_count[HS_NOTES] = 300;
        c.pc_count[HS_POSTAL_MAIL] = 100;
    }
    return ut_portal_new(&c);
}

/* Per-object copies of what mutations change. */
typedef struct snap {
    uint32_t s_count[HS_OBJECT_TYPE_COUNT];
    uint32_t s_live[HS_OBJECT_TYPE_COUNT];
    int64_t *s_modified[HS_OBJECT_TYPE_COUNT];
    uint8_t *s_archived[HS_OBJECT_TYPE_COUNT];
} snap;

static void snap_free(snap *s)
{
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        free(s->s_modified[t]);
        free(s->s_archived[t]);
    }
    memset(s, 0, sizeof(*s));
}

static bool snap_take(const sim_portal *p, snap *s)
{
    memset(s, 0, sizeof(*s));
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const sim_objects *o = &p->p_obj[t];
        s->s_count[t] = o->o_count;
        s->s_live[t] = o->o_live;
        s->s_modified[t] = malloc(((size_t)o->o_count + 1) * sizeof(int64_t));
        s->s_archived[t] = malloc((size_t)o->o_count + 1);
        if (!s->s_modified[t] || !s->s_archived[t]) {
            snap_free(s);
            return false;
        }
        if (o->o_count) {
            memcpy(s->s_modified[t], o->o_modified_ms, o->o_count * sizeof(int64_t));
            memcpy(s->s_archived[t], o->o_archived, o->o_count);
        }
    }
    return true;
}

/* An order-independent digest of one object's links in one direction. */
static uint64_t adj_digest(const sim_adj *a)
{
    uint64_t h = a->a_len;
    for (uint32_t j = 0; j < a->a_len; j++) {
        uint64_t x = ((uint64_t)a->a_links[j].l_other << 24) ^
                     ((uint64_t)a->a_links[j].l_labels << 8) ^ a->a_links[j].l_primary;
        x *= 0x9e3779b97f4a7c15ULL;
        h += x ^ (x >> 29);
    }
    return h;
}

/* Digests of every parent's forward links in table t (malloc'd). */
static uint64_t *parent_digests(const sim_portal *p, const sim_table *t)
{
    uint32_t n = p->p_obj[t->tb_pair.t_parent].o_count;
    uint64_t *d = malloc(((size_t)n + 1) * sizeof(*d));
    if (d)
        for (uint32_t i = 0; i < n; i++)
            d[i] = adj_digest(&t->tb_fwd[i]);
    return d;
}

static uint64_t table_digest(const sim_portal *p, const sim_table *t)
{
    uint64_t h = t->tb_links;
    uint32_t n = p->p_obj[t->tb_pair.t_parent].o_count;
    for (uint32_t i = 0; i < n; i++)
        h = h * 31 + adj_digest(&t->tb_fwd[i]) * (i + 1);
    return h;
}

static uint32_t sum_applied(const sim_mutation_result *r)
{
    uint32_t n = 0;
    for (int k = 0; k < SIM_MUT_KIND_COUNT; k++)
        n += r->mr_applied[k];
    return n;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------- generation */

static void test_generated_portal_consistent(void)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        sim_portal *p = small_portal(seed, true);
        if (!p)
            return;
        CHECK_EQ(ut_portal_violations(p), 0);
        uint64_t links = 0;
        for (int i = 0; i < p->p_ntables; i++)
            links += p->p_tables[i].tb_links;
        CHECK(links > 5000);
        sim_portal_destroy(p);
    }
    sim_portal_destroy(NULL);
}

/* ~50k objects generated twice: identical truth for every table and
 * identical objects. Also the portal's documented shape: ~2% archived,
 * ~5% in same-millisecond imports. */
static void test_deterministic_50k(void)
{
    sim_portal_config c;
    sim_portal_config_defaults(&c);
    c.pc_seed = 20260101;
    c.pc_count[HS_CONTACTS] = 25000;
    c.pc_count[HS_COMPANIES] = 5000;
    c.pc_count[HS_DEALS] = 12000;
    c.pc_count[HS_TICKETS] = 3000;
    c.pc_count[HS_NOTES] = 3000;
    c.pc_count[HS_CALLS] = 2000;
    c.pc_now_ms = UT_NOW_MS;
    sim_portal *a = ut_portal_new(&c), *b = ut_portal_new(&c);
    REQUIRE(a && b);
    REQUIRE_EQ(a->p_ntables, b->p_ntables);
    CHECK_EQ(a->p_ntables, 14);
    for (int i = 0; i < a->p_ntables; i++) {
        char *ta = ut_truth(a, &a->p_tables[i]), *tb = ut_truth(b, &b->p_tables[i]);
        CHECKF(ta && tb && strcmp(ta, tb) == 0, "%s differs", a->p_tables[i].tb_name);
        CHECK(ta && strlen(ta) > 0);
        free(ta);
        free(tb);
    }
    uint64_t archived = 0, total = 0, imported = 0;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const sim_objects *x = &a->p_obj[t], *y = &b->p_obj[t];
        REQUIRE_EQ(x->o_count, y->o_count);
        CHECK_EQ(x->o_count, c.pc_count[t]);
        size_t n = x->o_count;
        if (n == 0)
            continue;
        CHECK(memcmp(x->o_id, y->o_id, n * sizeof(uint64_t)) == 0);
        CHECK(memcmp(x->o_created_ms, y->o_created_ms, n * sizeof(int64_t)) == 0);
        CHECK(memcmp(x->o_modified_ms, y->o_modified_ms, n * sizeof(int64_t)) == 0);
        CHECK(memcmp(x->o_archived, y->o_archived, n) == 0);
        total += n;
        for (size_t i = 0; i < n; i++)
            archived += x->o_archived[i];
        /* Objects whose last-modified millisecond is shared by >= 20 of its type. */
        int64_t *ms = malloc(n * sizeof(*ms));
        REQUIRE(ms != NULL);
        memcpy(ms, x->o_modified_ms, n * sizeof(*ms));
        qsort(ms, n, sizeof(*ms), cmp_i64);
        for (size_t i = 0, j; i < n; i = j) {
            for (j = i; j < n && ms[j] == ms[i]; j++)
                ;
            if (j - i >= 20)
                imported += j - i;
        }
        free(ms);
    }
    double share = (double)archived / (double)total;
    CHECKF(share > 0.01 && share < 0.035, "archived share %.4f", share);
    share = (double)imported / (double)total;
    CHECKF(share > 0.015 && share < 0.12, "same-ms import share %.4f", share);
    CHECK_EQ(ut_portal_violations(a), 0);
done:
    sim_portal_destroy(a);
    sim_portal_destroy(b);
}

static void test_seed_changes_portal(void)
{
    sim_portal *a = small_portal(1, false), *b = small_portal(2, false);
    REQUIRE(a && b);
    REQUIRE_EQ(a->p_ntables, 6);
    for (int i = 0; i < a->p_ntables; i++) {
        char *ta = ut_truth(a, &a->p_tables[i]), *tb = ut_truth(b, &b->p_tables[i]);
        CHECKF(ta && tb && strcmp(ta, tb) != 0, "%s is the same for seeds 1 and 2",
               a->p_tables[i].tb_name);
        free(ta);
        free(tb);
    }
    CHECK(memcmp(a->p_obj[HS_CONTACTS].o_id, b->p_obj[HS_CONTACTS].o_id,
                 a->p_obj[HS_CONTACTS].o_count * sizeof(uint64_t)) != 0);
done:
    sim_portal_destroy(a);
    sim_portal_destroy(b);
}

/* Every associable pair of present types, once; the six core tables first
 * (docs/SIMULATOR.md); each table's IDs as hs_types says. */
static void test_tables(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 4);
    c.pc_count[HS_NOTES] = 200;
    c.pc_count[HS_CALLS] = 100;
    c.pc_count[HS_POSTAL_MAIL] = 100;
    sim_portal *p = ut_portal_new(&c);
    REQUIRE(p != NULL);
    CHECK_EQ(p->p_ntables, 6 + 3 * 4);
    int expected = 0;
    for (int x = 0; x < HS_OBJECT_TYPE_COUNT; x++)
        for (int y = x + 1; y < HS_OBJECT_TYPE_COUNT; y++) {
            hs_table pair;
            if (hs_table_of((hs_object_type)x, (hs_object_type)y, &pair) || !c.pc_count[x] ||
                !c.pc_count[y])
                continue;
            expected++;
            char name[64];
            hs_table_name(pair, name, sizeof(name));
            CHECKF(sim_table_by_name(p, name, strlen(name)) != NULL, "table %s missing", name);
        }
    CHECK_EQ(p->p_ntables, expected);
    for (int i = 0; i < HS_DEFAULT_TABLE_COUNT && i < p->p_ntables; i++)
        CHECKF(!hs_table_is_engagement(p->p_tables[i].tb_pair),
               "table %d is %s; the six core tables must come first", i, p->p_tables[i].tb_name);
    for (int i = 0; i < p->p_ntables; i++) {
        sim_table *t = &p->p_tables[i];
        char name[64];
        hs_table_name(t->tb_pair, name, sizeof(name));
        CHECK_STR(t->tb_name, name);
        int u, pr;
        hs_assoc_type_ids(t->tb_pair.t_parent, t->tb_pair.t_child, &u, &pr);
        CHECK(t->tb_unlabeled_fwd == u && t->tb_primary_fwd == pr);
        hs_assoc_type_ids(t->tb_pair.t_child, t->tb_pair.t_parent, &u, &pr);
        CHECK(t->tb_unlabeled_rev == u && t->tb_primary_rev == pr);
        CHECK_EQ(t->tb_nlabels, 3);
        CHECK(!t->tb_rollup);
        CHECK(sim_table_by_name(p, t->tb_name, strlen(t->tb_name)) == t);
    }
    sim_table *cc = sim_table_by_name(p, "companies_contacts", 18);
    REQUIRE(cc != NULL);
    CHECK(cc->tb_unlabeled_fwd == 280 && cc->tb_primary_fwd == 2);
    CHECK(cc->tb_unlabeled_rev == 279 && cc->tb_primary_rev == 1);
done:
    sim_portal_destroy(p);
}

static void test_table_lookup(void)
{
    sim_portal *p = small_portal(5, false);
    REQUIRE(p != NULL);
    bool rev = true;
    sim_table *t = sim_table_find(p, HS_COMPANIES, HS_CONTACTS, &rev);
    CHECK(t && !rev && strcmp(t->tb_name, "companies_contacts") == 0);
    rev = false;
    sim_table *t2 = sim_table_find(p, HS_CONTACTS, HS_COMPANIES, &rev);
    CHECK(t2 == t && rev);
    t = sim_table_find(p, HS_TICKETS, HS_DEALS, &rev);
    CHECK(t && rev && strcmp(t->tb_name, "deals_tickets") == 0);
    CHECK(sim_table_find(p, HS_CONTACTS, HS_CONTACTS, &rev) == NULL);
    CHECK(sim_table_find(p, HS_NOTES, HS_CONTACTS, &rev) == NULL); /* no notes */
    CHECK(sim_table_by_name(p, "contacts_companies", 18) == NULL);
    CHECK(sim_table_by_name(p, "companies_contact", 17) == NULL);
    CHECK(sim_table_by_name(p, "companies_contactsx", 19) == NULL);
    CHECK(sim_table_by_name(p, "contacts_notes", 14) == NULL);
    CHECK(sim_table_by_name(p, "", 0) == NULL);
    /* Only n bytes are compared. */
    CHECK(sim_table_by_name(p, "deals_ticketsXYZ", 13) != NULL);
done:
    sim_portal_destroy(p);
}

/* IDs above 2^32, increasing, gapped, each type in its own range; creation
 * times rising with the ID, before the generation clock. */
static void test_ids_and_times(void)
{
    sim_portal *p = small_portal(6, true);
    REQUIRE(p != NULL);
    uint64_t prev_max = 0;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const sim_objects *o = &p->p_obj[t];
        if (o->o_count == 0)
            continue;
        unsigned bad = 0, gaps = 0;
        for (uint32_t i = 0; i < o->o_count; i++) {
            bad += o->o_id[i] <= UINT64_C(0xffffffff);
            bad += i && o->o_id[i] <= o->o_id[i - 1];
            gaps += i && o->o_id[i] > o->o_id[i - 1] + 1;
            bad += i && o->o_created_ms[i] < o->o_created_ms[i - 1];
            bad += o->o_created_ms[i] > o->o_modified_ms[i];
            bad += o->o_modified_ms[i] >= UT_NOW_MS;
            bad += o->o_created_ms[i] < UT_NOW_MS - 4 * 365LL * 86400000;
        }
        CHECKF(bad == 0, "%s: %u bad ids/times", hs_object((hs_object_type)t)->oi_plural, bad);
        CHECK(gaps > o->o_count / 10);
        CHECKF(o->o_id[0] > prev_max, "%s overlaps the previous type's IDs",
               hs_object((hs_object_type)t)->oi_plural);
        prev_max = o->o_id[o->o_count - 1];
    }
done:
    sim_portal_destroy(p);
}

static void test_object_find(void)
{
    sim_portal *p = small_portal(7, true);
    REQUIRE(p != NULL);
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const sim_objects *o = &p->p_obj[t];
        unsigned wrong = 0;
        uint32_t idx;
        for (uint32_t i = 0; i < o->o_count; i++) {
            idx = UINT32_MAX;
            wrong += sim_object_find(p, (hs_object_type)t, o->o_id[i], &idx) != 0 || idx != i;
            if (i && o->o_id[i] > o->o_id[i - 1] + 1)
                wrong += sim_object_find(p, (hs_object_type)t, o->o_id[i] - 1, &idx) != -1;
        }
        CHECK_EQ(wrong, 0);
        CHECK_EQ(sim_object_find(p, (hs_object_type)t, 0, &idx), -1);
        CHECK_EQ(sim_object_find(p, (hs_object_type)t, UINT64_MAX, &idx), -1);
        if (o->o_count) {
            CHECK_EQ(sim_object_find(p, (hs_object_type)t, o->o_id[0] - 1, &idx), -1);
            CHECK_EQ(sim_object_find(p, (hs_object_type)t, o->o_id[o->o_count - 1] + 1, &idx), -1);
        }
    }
    /* Another type's ID is not found. */
    uint32_t idx;
    CHECK_EQ(sim_object_find(p, HS_COMPANIES, p->p_obj[HS_CONTACTS].o_id[0], &idx), -1);
done:
    sim_portal_destroy(p);
}

/* On each core table the heavy parents have --heavy-links links (or every
 * live child when there are fewer). Several seeds: archived objects fall
 * differently each time. */
static void test_heavy_parents(void)
{
    for (uint64_t seed = 1; seed <= 6; seed++) {
        sim_portal_config c;
        ut_portal_config_small(&c, seed);
        sim_portal *p = ut_portal_new(&c);
        if (!p)
            return;
        for (int i = 0; i < p->p_ntables; i++) {
            const sim_table *t = &p->p_tables[i];
            if (hs_table_is_engagement(t->tb_pair))
                continue;
            const sim_objects *po = &p->p_obj[t->tb_pair.t_parent];
            uint32_t live_children = p->p_obj[t->tb_pair.t_child].o_live;
            uint32_t want = c.pc_heavy_links < live_children ? c.pc_heavy_links : live_children;
            uint32_t heavy = 0, max_deg = 0;
            for (uint32_t j = 0; j < po->o_count; j++) {
                heavy += t->tb_fwd[j].a_len >= want;
                if (t->tb_fwd[j].a_len > max_deg)
                    max_deg = t->tb_fwd[j].a_len;
            }
            CHECKF(heavy >= c.pc_heavy_parents,
                   "seed %" PRIu64 " %s: %u parents with >= %u links (largest %u), want %u", seed,
                   t->tb_name, heavy, want, max_deg, c.pc_heavy_parents);
        }
        sim_portal_destroy(p);
    }
}

/* A contact's first company is its primary: at most one per child (checked
 * by the invariants), and (without heavy parents, whose links are plain)
 * nearly every linked child has one. Non-company tables carry no primary. */
static void test_primaries(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 8);
    c.pc_heavy_parents = 0; /* heavy parents' links are not primary */
    sim_portal *p = ut_portal_new(&c);
    REQUIRE(p != NULL);
    for (int i = 0; i < p->p_ntables; i++) {
        const sim_table *t = &p->p_tables[i];
        const sim_objects *co = &p->p_obj[t->tb_pair.t_child];
        uint32_t linked = 0, with_primary = 0;
        for (uint32_t j = 0; j < co->o_count; j++) {
            const sim_adj *a = &t->tb_rev[j];
            uint32_t prim = 0;
            for (uint32_t k = 0; k < a->a_len; k++)
                prim += a->a_links[k].l_primary != 0;
            linked += a->a_len > 0;
            with_primary += prim > 0;
        }
        if (t->tb_primary_fwd)
            CHECKF(with_primary >= linked * 9 / 10, "%s: %u of %u linked children have a primary",
                   t->tb_name, with_primary, linked);
        else
            CHECK_EQ(with_primary, 0);
    }
done:
    sim_portal_destroy(p);
}

static void test_link_type_ids(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 9);
    c.pc_labels = SIM_MAX_LABELS;
    c.pc_count[HS_NOTES] = 100;
    sim_portal *p = ut_portal_new(&c);
    REQUIRE(p != NULL);
    sim_table *cc = sim_table_by_name(p, "companies_contacts", 18);
    sim_table *cd = sim_table_by_name(p, "contacts_deals", 14);
    REQUIRE(cc && cd);
    int ids[3 + SIM_MAX_LABELS];
    sim_link l = {0, 0, 0, 0};
    CHECK_EQ(sim_link_type_ids(cc, false, &l, ids), 1);
    CHECK_EQ(ids[0], 280);
    CHECK_EQ(sim_link_type_ids(cc, true, &l, ids), 1);
    CHECK_EQ(ids[0], 279);
    l.l_primary = 1;
    l.l_labels = (1u << 0) | (1u << 2);
    REQUIRE_EQ(sim_link_type_ids(cc, false, &l, ids), 4);
    CHECK(ids[0] == 2 && ids[1] == 280);
    CHECK(ids[2] == cc->tb_labels[0].lb_typeid_fwd && ids[3] == cc->tb_labels[2].lb_typeid_fwd);
    REQUIRE_EQ(sim_link_type_ids(cc, true, &l, ids), 4);
    CHECK(ids[0] == 1 && ids[1] == 279);
    CHECK(ids[2] == cc->tb_labels[0].lb_typeid_rev && ids[3] == cc->tb_labels[2].lb_typeid_rev);
    /* A primary flag on a pair without a primary type adds nothing. */
    CHECK_EQ(sim_link_type_ids(cd, false, &l, ids), 3);
    CHECK_EQ(ids[0], 4);
    /* Every label: 2 + 8 IDs, strictly ascending. */
    l.l_labels = 0xff;
    int n = sim_link_type_ids(cc, false, &l, ids);
    CHECK_EQ(n, 10);
    for (int i = 1; i < n; i++)
        CHECK(ids[i - 1] < ids[i]);
    /* User-defined IDs: from 1000 up, one per direction, unique in the portal,
     * names set. */
    int seen[4096] = {0};
    unsigned dups = 0, low = 0, unnamed = 0;
    for (int i = 0; i < p->p_ntables; i++) {
        const sim_table *t = &p->p_tables[i];
        CHECK_EQ(t->tb_nlabels, SIM_MAX_LABELS);
        for (int k = 0; k < t->tb_nlabels; k++) {
            int f = t->tb_labels[k].lb_typeid_fwd, r = t->tb_labels[k].lb_typeid_rev;
            low += f < 1000 || r < 1000 || f >= 4096 || r >= 4096;
            if (f >= 0 && f < 4096 && r >= 0 && r < 4096) {
                dups += seen[f]++ > 0;
                dups += seen[r]++ > 0;
            }
            unnamed += !t->tb_labels[k].lb_name[0] || !t->tb_labels[k].lb_inverse[0];
        }
    }
    CHECK_EQ(dups, 0);
    CHECK_EQ(low, 0);
    CHECK_EQ(unnamed, 0);
done:
    sim_portal_destroy(p);
}

/* The §7 format: TABLE, parent ID, child ID, distinct ascending parent→child
 * type IDs; one line per link, matching the adjacency. */
static void test_truth_format(void)
{
    sim_portal *p = small_portal(10, false);
    char *tsv = NULL;
    REQUIRE(p != NULL);
    sim_table *cc = sim_table_by_name(p, "companies_contacts", 18);
    REQUIRE(cc != NULL);
    tsv = ut_truth(p, cc);
    REQUIRE(tsv != NULL);
    size_t len = strlen(tsv);
    REQUIRE(len > 0 && tsv[len - 1] == '\n');
    uint64_t lines = 0, primaries = 0;
    unsigned bad = 0;
    for (char *line = tsv; *line;) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        lines++;
        char *f[5] = {0};
        int nf = 0;
        for (char *q = line; nf < 5;) {
            f[nf++] = q;
            char *tab = strchr(q, '\t');
            if (!tab)
                break;
            *tab = '\0';
            q = tab + 1;
        }
        if (nf != 4 || strcmp(f[0], "companies_contacts") != 0) {
            bad++;
        } else {
            char *end;
            uint64_t parent = strtoull(f[1], &end, 10), child = strtoull(f[2], NULL, 10);
            uint32_t pi, ci;
            if (sim_object_find(p, HS_COMPANIES, parent, &pi) ||
                sim_object_find(p, HS_CONTACTS, child, &ci) || !ut_find_link(&cc->tb_fwd[pi], ci))
                bad++;
            long prev = 0;
            bool has_280 = false;
            for (char *q = f[3]; *q;) {
                long v = strtol(q, &end, 10);
                if (end == q || v <= prev || (*end && *end != ','))
                    bad++;
                has_280 |= v == 280;
                primaries += v == 2;
                prev = v;
                q = *end ? end + 1 : end;
            }
            bad += !has_280;
        }
        line = nl + 1;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(lines, cc->tb_links);
    CHECK(primaries > 0 && primaries < lines);
    /* The writer appends. */
    jbuf b;
    jb_init(&b);
    jb_lit(&b, "X");
    sim_truth_tsv(p, cc, &b);
    CHECK(b.jb_len == len + 1 && jb_cstr(&b)[0] == 'X');
    jb_free(&b);
done:
    free(tsv);
    sim_portal_destroy(p);
}

/* -------------------------------------------------------------- mutations */

static void test_mutate_associate(void)
{
    sim_portal *p = small_portal(11, false);
    uint32_t *fwd = NULL, *rev = NULL;
    REQUIRE(p != NULL);
    int ti = ut_table_index(p, "companies_contacts");
    REQUIRE(ti >= 0);
    sim_table *t = &p->p_tables[ti];
    uint32_t np = p->p_obj[HS_COMPANIES].o_count, nc = p->p_obj[HS_CONTACTS].o_count;
    fwd = malloc(np * sizeof(*fwd));
    rev = malloc(nc * sizeof(*rev));
    REQUIRE(fwd && rev);
    for (int round = 0; round < 40; round++) {
        for (uint32_t i = 0; i < np; i++)
            fwd[i] = t->tb_fwd[i].a_len;
        for (uint32_t i = 0; i < nc; i++)
            rev[i] = t->tb_rev[i].a_len;
        uint64_t links = t->tb_links;
        sim_mutation_opts o =
            opts(1, KIND(SIM_MUT_ASSOCIATE), 1ULL << ti, UT_NOW_MS + round * 1000);
        sim_mutation_result r;
        REQUIRE(sim_mutate(p, &o, &r) == 0);
        REQUIRE_EQ(r.mr_applied[SIM_MUT_ASSOCIATE], 1);
        CHECK_EQ(sum_applied(&r), 1);
        CHECK_EQ(t->tb_links, links + 1);
        CHECK_EQ(r.mr_table_changes[ti], 1);
        CHECK_EQ(r.mr_first_ms, UT_NOW_MS + round * 1000);
        int64_t parent = -1, child = -1;
        unsigned changed = 0;
        for (uint32_t i = 0; i < np; i++)
            if (t->tb_fwd[i].a_len != fwd[i]) {
                changed++;
                parent = i;
                CHECK_EQ(t->tb_fwd[i].a_len, fwd[i] + 1);
            }
        for (uint32_t i = 0; i < nc; i++)
            if (t->tb_rev[i].a_len != rev[i]) {
                changed++;
                child = i;
                CHECK_EQ(t->tb_rev[i].a_len, rev[i] + 1);
            }
        REQUIRE_EQ(changed, 2);
        REQUIRE(parent >= 0 && child >= 0);
        const sim_link *f = ut_find_link(&t->tb_fwd[parent], (uint32_t)child);
        const sim_link *b = ut_find_link(&t->tb_rev[child], (uint32_t)parent);
        REQUIRE(f && b);
        CHECK(f->l_labels == b->l_labels && f->l_primary == b->l_primary);
        CHECK(!p->p_obj[HS_COMPANIES].o_archived[parent]);
        CHECK(!p->p_obj[HS_CONTACTS].o_archived[child]);
    }
    CHECK_EQ(ut_portal_violations(p), 0);
done:
    free(fwd);
    free(rev);
    sim_portal_destroy(p);
}

static void test_mutate_dissociate(void)
{
    sim_portal *p = small_portal(12, false);
    uint32_t *fwd = NULL, *rev = NULL;
    REQUIRE(p != NULL);
    int ti = ut_table_index(p, "contacts_deals");
    REQUIRE(ti >= 0);
    sim_table *t = &p->p_tables[ti];
    uint32_t np = p->p_obj[HS_CONTACTS].o_count, nc = p->p_obj[HS_DEALS].o_count;
    fwd = malloc(np * sizeof(*fwd));
    rev = malloc(nc * sizeof(*rev));
    REQUIRE(fwd && rev);
    for (int round = 0; round < 40; round++) {
        for (uint32_t i = 0; i < np; i++)
            fwd[i] = t->tb_fwd[i].a_len;
        for (uint32_t i = 0; i < nc; i++)
            rev[i] = t->tb_rev[i].a_len;
        uint64_t links = t->tb_links;
        sim_mutation_opts o =
            opts(1, KIND(SIM_MUT_DISSOCIATE), 1ULL << ti, UT_NOW_MS + round * 1000);
        sim_mutation_result r;
        REQUIRE(sim_mutate(p, &o, &r) == 0);
        REQUIRE_EQ(r.mr_applied[SIM_MUT_DISSOCIATE], 1);
        CHECK_EQ(t->tb_links, links - 1);
        CHECK_EQ(r.mr_table_changes[ti], 1);
        int64_t parent = -1, child = -1;
        unsigned changed = 0;
        for (uint32_t i = 0; i < np; i++)
            if (t->tb_fwd[i].a_len != fwd[i]) {
                changed++;
                parent = i;
                CHECK_EQ(t->tb_fwd[i].a_len + 1, fwd[i]);
            }
        for (uint32_t i = 0; i < nc; i++)
            if (t->tb_rev[i].a_len != rev[i]) {
                changed++;
                child = i;
                CHECK_EQ(t->tb_rev[i].a_len + 1, rev[i]);
            }
        REQUIRE_EQ(changed, 2);
        CHECK(ut_find_link(&t->tb_fwd[parent], (uint32_t)child) == NULL);
        CHECK(ut_find_link(&t->tb_rev[child], (uint32_t)parent) == NULL);
    }
    CHECK_EQ(ut_portal_violations(p), 0);
done:
    free(fwd);
    free(rev);
    sim_portal_destroy(p);
}

typedef struct flat_link {
    uint32_t fl_parent, fl_child;
    uint16_t fl_labels;
} flat_link;

static flat_link *flatten(const sim_portal *p, const sim_table *t, size_t *n)
{
    flat_link *v = malloc((t->tb_links + 1) * sizeof(*v));
    *n = 0;
    if (!v)
        return NULL;
    for (uint32_t i = 0; i < p->p_obj[t->tb_pair.t_parent].o_count; i++)
        for (uint32_t j = 0; j < t->tb_fwd[i].a_len && *n < t->tb_links; j++)
            v[(*n)++] =
                (flat_link){i, t->tb_fwd[i].a_links[j].l_other, t->tb_fwd[i].a_links[j].l_labels};
    return v;
}

/* Relabel flips one label of one link, identically in both directions. */
static void test_mutate_relabel(void)
{
    sim_portal *p = small_portal(13, false);
    flat_link *before = NULL, *after = NULL;
    REQUIRE(p != NULL);
    int ti = ut_table_index(p, "companies_deals");
    REQUIRE(ti >= 0);
    sim_table *t = &p->p_tables[ti];
    for (int round = 0; round < 30; round++) {
        size_t nb, na;
        before = flatten(p, t, &nb);
        sim_mutation_opts o = opts(1, KIND(SIM_MUT_RELABEL), 1ULL << ti, UT_NOW_MS + round);
        sim_mutation_result r;
        REQUIRE(sim_mutate(p, &o, &r) == 0);
        REQUIRE_EQ(r.mr_applied[SIM_MUT_RELABEL], 1);
        CHECK_EQ(r.mr_table_changes[ti], 1);
        after = flatten(p, t, &na);
        REQUIRE(before && after);
        REQUIRE_EQ(na, nb);
        unsigned changed = 0;
        for (size_t i = 0; i < na; i++) {
            if (before[i].fl_parent != after[i].fl_parent ||
                before[i].fl_child != after[i].fl_child) {
                changed += 100;
                break;
            }
            uint16_t flip = before[i].fl_labels ^ after[i].fl_labels;
            if (!flip)
                continue;
            changed++;
            CHECK(__builtin_popcount(flip) == 1);
            const sim_link *b = ut_find_link(&t->tb_rev[after[i].fl_child], after[i].fl_parent);
            CHECK(b && b->l_labels == after[i].fl_labels);
        }
        CHECK_EQ(changed, 1);
        free(before);
        free(after);
        before = after = NULL;
    }
    CHECK_EQ(ut_portal_violations(p), 0);
done:
    free(before);
    free(after);
    sim_portal_destroy(p);
}

/* Archive: one live object becomes archived at the write time, loses every
 * link in every table, and o_live drops. */
static void test_mutate_archive(void)
{
    sim_portal *p = small_portal(14, true);
    snap s = {0};
    REQUIRE(p != NULL);
    int ti = ut_table_index(p, "companies_contacts");
    REQUIRE(ti >= 0);
    for (int round = 0; round < 30; round++) {
        int64_t now = UT_NOW_MS + round * 1000;
        REQUIRE(snap_take(p, &s));
        uint64_t links_before = 0;
        for (int i = 0; i < p->p_ntables; i++)
            links_before += p->p_tables[i].tb_links;
        sim_mutation_opts o = opts(1, KIND(SIM_MUT_ARCHIVE), 1ULL << ti, now);
        sim_mutation_result r;
        REQUIRE(sim_mutate(p, &o, &r) == 0);
        REQUIRE_EQ(r.mr_applied[SIM_MUT_ARCHIVE], 1);
        int found = 0;
        for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
            const sim_objects *ob = &p->p_obj[t];
            CHECK_EQ(ob->o_count, s.s_count[t]);
            for (uint32_t i = 0; i < ob->o_count; i++) {
                if (ob->o_archived[i] == s.s_archived[t][i])
                    continue;
                found++;
                CHECK(t == HS_COMPANIES || t == HS_CONTACTS);
                CHECK(ob->o_archived[i] && !s.s_archived[t][i]);
                CHECK_EQ(ob->o_modified_ms[i], now);
                CHECK_EQ(ob->o_live, s.s_live[t] - 1);
                for (int k = 0; k < p->p_ntables; k++) {
                    const sim_table *tb = &p->p_tables[k];
                    if ((int)tb->tb_pair.t_parent == t)
                        CHECK_EQ(tb->tb_fwd[i].a_len, 0);
                    if ((int)tb->tb_pair.t_child == t)
                        CHECK_EQ(tb->tb_rev[i].a_len, 0);
                }
            }
        }
        CHECK_EQ(found, 1);
        uint64_t links_after = 0, changes = 0;
        for (int i = 0; i < p->p_ntables; i++) {
            links_after += p->p_tables[i].tb_links;
            changes += r.mr_table_changes[i];
        }
        CHECK(links_after <= links_before);
        CHECK_EQ(changes, links_before - links_after);
        snap_free(&s);
    }
    CHECK_EQ(ut_portal_violations(p), 0);
done:
    snap_free(&s);
    sim_portal_destroy(p);
}

/* Touch: one object's last-modified becomes the write time; no link changes. */
static void test_mutate_touch(void)
{
    sim_portal *p = small_portal(15, false);
    snap s = {0};
    REQUIRE(p != NULL);
    uint64_t digests[SIM_MAX_TABLES];
    for (int i = 0; i < p->p_ntables; i++)
        digests[i] = table_digest(p, &p->p_tables[i]);
    for (int round = 0; round < 20; round++) {
        int64_t now = UT_NOW_MS + round * 1000;
        REQUIRE(snap_take(p, &s));
        sim_mutation_opts o = opts(1, KIND(SIM_MUT_TOUCH), 0, now);
        sim_mutation_result r;
        REQUIRE(sim_mutate(p, &o, &r) == 0);
        REQUIRE_EQ(r.mr_applied[SIM_MUT_TOUCH], 1);
        CHECK_EQ(r.mr_bumped, 1);
        unsigned changed = 0;
        for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
            for (uint32_t i = 0; i < p->p_obj[t].o_count; i++)
                if (p->p_obj[t].o_modified_ms[i] != s.s_modified[t][i]) {
                    changed++;
                    CHECK_EQ(p->p_obj[t].o_modified_ms[i], now);
                    CHECK(!p->p_obj[t].o_archived[i]);
                }
        CHECK_EQ(changed, 1);
        snap_free(&s);
    }
    for (int i = 0; i < p->p_ntables; i++)
        CHECK(digests[i] == table_digest(p, &p->p_tables[i]));
done:
    snap_free(&s);
    sim_portal_destroy(p);
}

/* Create appends an object with a higher ID, created and modified at the
 * write time, linked in the mutated table. */
static void test_mutate_create(void)
{
    sim_portal *p = small_portal(16, false);
    REQUIRE(p != NULL);
    int ti = ut_table_index(p, "companies_contacts");
    REQUIRE(ti >= 0);
    sim_table *t = &p->p_tables[ti];
    int sides[2] = {0, 0};
    for (int round = 0; round < 30; round++) {
        int64_t now = UT_NOW_MS + round * 1000;
        uint32_t counts[HS_OBJECT_TYPE_COUNT], live[HS_OBJECT_TYPE_COUNT];
        uint64_t last[HS_OBJECT_TYPE_COUNT];
        for (int k = 0; k < HS_OBJECT_TYPE_COUNT; k++) {
            counts[k] = p->p_obj[k].o_count;
            live[k] = p->p_obj[k].o_live;
            last[k] = counts[k] ? p->p_obj[k].o_id[counts[k] - 1] : 0;
        }
        sim_mutation_opts o = opts(1, KIND(SIM_MUT_CREATE), 1ULL << ti, now);
        sim_mutation_result r;
        REQUIRE(sim_mutate(p, &o, &r) == 0);
        REQUIRE_EQ(r.mr_applied[SIM_MUT_CREATE], 1);
        int grown = -1, ngrown = 0;
        for (int k = 0; k < HS_OBJECT_TYPE_COUNT; k++)
            if (p->p_obj[k].o_count != counts[k]) {
                grown = k;
                ngrown++;
            }
        REQUIRE_EQ(ngrown, 1);
        REQUIRE(grown == HS_COMPANIES || grown == HS_CONTACTS);
        sides[grown == HS_COMPANIES]++;
        const sim_objects *ob = &p->p_obj[grown];
        uint32_t idx = counts[grown];
        CHECK_EQ(ob->o_count, counts[grown] + 1);
        CHECK_EQ(ob->o_live, live[grown] + 1);
        CHECK(ob->o_id[idx] > last[grown]);
        CHECK_EQ(ob->o_created_ms[idx], now);
        CHECK_EQ(ob->o_modified_ms[idx], now);
        CHECK(!ob->o_archived[idx]);
        uint32_t found = UINT32_MAX;
        CHECK(sim_object_find(p, (hs_object_type)grown, ob->o_id[idx], &found) == 0 &&
              found == idx);
        const sim_adj *a = grown == HS_COMPANIES ? &t->tb_fwd[idx] : &t->tb_rev[idx];
        CHECK(a->a_len >= 1);
        /* No links in the tables that were not mutated. */
        for (int k = 0; k < p->p_ntables; k++) {
            const sim_table *x = &p->p_tables[k];
            if (k == ti)
                continue;
            if ((int)x->tb_pair.t_parent == grown)
                CHECK_EQ(x->tb_fwd[idx].a_len, 0);
            if ((int)x->tb_pair.t_child == grown)
                CHECK_EQ(x->tb_rev[idx].a_len, 0);
        }
    }
    CHECK(sides[0] > 0 && sides[1] > 0);
    CHECK_EQ(ut_portal_violations(p), 0);
done:
    sim_portal_destroy(p);
}

/* Thousands of creates: the arrays and adjacency indexes grow past their
 * generation headroom and everything stays findable and consistent. */
static void test_mutate_create_many(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 17);
    c.pc_count[HS_CONTACTS] = 200;
    c.pc_count[HS_COMPANIES] = 100;
    c.pc_count[HS_DEALS] = 50;
    c.pc_count[HS_TICKETS] = 0;
    sim_portal *p = ut_portal_new(&c);
    REQUIRE(p != NULL);
    sim_mutation_opts o = opts(6000, KIND(SIM_MUT_CREATE), 0, UT_NOW_MS);
    sim_mutation_result r;
    REQUIRE(sim_mutate(p, &o, &r) == 0);
    CHECK_EQ(r.mr_applied[SIM_MUT_CREATE], 6000);
    uint32_t total =
        p->p_obj[HS_CONTACTS].o_count + p->p_obj[HS_COMPANIES].o_count + p->p_obj[HS_DEALS].o_count;
    CHECK_EQ(total, 350 + 6000);
    CHECK(p->p_obj[HS_CONTACTS].o_count > 200 + 1024);
    unsigned wrong = 0;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        for (uint32_t i = 0; i < p->p_obj[t].o_count; i++) {
            uint32_t idx;
            wrong +=
                sim_object_find(p, (hs_object_type)t, p->p_obj[t].o_id[i], &idx) != 0 || idx != i;
        }
    CHECK_EQ(wrong, 0);
    CHECK_EQ(ut_portal_violations(p), 0);
    /* The grown portal still mutates cleanly. */
    o = opts(3000, 0, 0, UT_NOW_MS + 1000);
    REQUIRE(sim_mutate(p, &o, &r) == 0);
    CHECK_EQ(ut_portal_violations(p), 0);
done:
    sim_portal_destroy(p);
}

/* mo_tables restricts association changes to the chosen tables. */
static void test_mutate_table_filter(void)
{
    sim_portal *p = small_portal(18, false);
    REQUIRE(p != NULL);
    int ti = ut_table_index(p, "contacts_tickets");
    REQUIRE(ti >= 0);
    uint64_t digests[SIM_MAX_TABLES];
    for (int i = 0; i < p->p_ntables; i++)
        digests[i] = table_digest(p, &p->p_tables[i]);
    sim_mutation_opts o =
        opts(300, KIND(SIM_MUT_ASSOCIATE) | KIND(SIM_MUT_DISSOCIATE) | KIND(SIM_MUT_RELABEL),
             1ULL << ti, UT_NOW_MS);
    sim_mutation_result r;
    REQUIRE(sim_mutate(p, &o, &r) == 0);
    CHECK_EQ(sum_applied(&r) + r.mr_skipped, 300);
    CHECK(sum_applied(&r) > 250);
    CHECK_EQ(r.mr_applied[SIM_MUT_ARCHIVE] + r.mr_applied[SIM_MUT_TOUCH] +
                 r.mr_applied[SIM_MUT_CREATE],
             0);
    for (int i = 0; i < p->p_ntables; i++) {
        if (i == ti) {
            CHECK(digests[i] != table_digest(p, &p->p_tables[i]));
            CHECK_EQ(r.mr_table_changes[i], sum_applied(&r));
        } else {
            CHECK(digests[i] == table_digest(p, &p->p_tables[i]));
            CHECK_EQ(r.mr_table_changes[i], 0);
        }
    }
    CHECK_EQ(ut_portal_violations(p), 0);
done:
    sim_portal_destroy(p);
}

/* With rollups on companies_contacts and bumps on, every company whose
 * companies_contacts links changed (by any mutation kind) has last-modified
 * = that round's write time. */
static void test_rollup_bumps_on(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 19);
    ut_portal_add_rollup(&c, "companies_contacts", false);
    sim_portal *p = ut_portal_new(&c);
    uint64_t *before = NULL, *after = NULL;
    REQUIRE(p != NULL);
    int ti = ut_table_index(p, "companies_contacts");
    REQUIRE(ti >= 0);
    sim_table *t = &p->p_tables[ti];
    CHECK(t->tb_rollup);
    for (int i = 0; i < p->p_ntables; i++)
        CHECK(p->p_tables[i].tb_rollup == (i == ti));
    unsigned missed = 0, changed_parents = 0;
    for (int round = 0; round < 40; round++) {
        int64_t now = UT_NOW_MS + 60000 + round * 1000;
        before = parent_digests(p, t);
        uint32_t old_n = p->p_obj[HS_COMPANIES].o_count;
        sim_mutation_opts o = opts(25, 0, 0, now);
        o.mo_rollup.rm_mode = SIM_ROLLUP_ALWAYS;
        sim_mutation_result r;
        REQUIRE(sim_mutate(p, &o, &r) == 0);
        after = parent_digests(p, t);
        REQUIRE(before && after);
        uint32_t n = p->p_obj[HS_COMPANIES].o_count;
        for (uint32_t i = 0; i < n; i++) {
            bool existed = i < old_n;
            if (existed && before[i] == after[i])
                continue;
            changed_parents++;
            if (p->p_obj[HS_COMPANIES].o_modified_ms[i] != now && missed++ < 3)
                fprintf(stderr,
                        "\n    company %" PRIu64 " links changed at %" PRId64
                        " but last-modified is %" PRId64,
                        p->p_obj[HS_COMPANIES].o_id[i], now,
                        p->p_obj[HS_COMPANIES].o_modified_ms[i]);
        }
        free(before);
        free(after);
        before = after = NULL;
    }
    CHECK_EQ(missed, 0);
    CHECK(changed_parents > 50);
    CHECK_EQ(ut_portal_violations(p), 0);
done:
    free(before);
    free(after);
    sim_portal_destroy(p);
}

/* Association changes alone: with bumps each change on the rollup table
 * bumps its parent once; without bumps nothing's last-modified moves; a
 * non-rollup table never bumps. */
static void test_rollup_bumps_counts_and_off(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 20);
    ut_portal_add_rollup(&c, "companies_contacts", false);
    sim_portal *p = ut_portal_new(&c);
    snap s = {0};
    REQUIRE(p != NULL);
    int cc = ut_table_index(p, "companies_contacts"), cd = ut_table_index(p, "contacts_deals");
    REQUIRE(cc >= 0 && cd >= 0);
    uint32_t assoc = KIND(SIM_MUT_ASSOCIATE) | KIND(SIM_MUT_DISSOCIATE) | KIND(SIM_MUT_RELABEL);
    int64_t now = UT_NOW_MS + 60000;

    /* On: bumped == changes on the rollup table, all at `now`, parents only. */
    REQUIRE(snap_take(p, &s));
    sim_mutation_opts o = opts(200, assoc, 1ULL << cc, now);
    o.mo_rollup.rm_mode = SIM_ROLLUP_ALWAYS;
    sim_mutation_result r;
    REQUIRE(sim_mutate(p, &o, &r) == 0);
    CHECK(r.mr_table_changes[cc] > 150);
    CHECK_EQ(r.mr_bumped, r.mr_table_changes[cc]);
    unsigned companies = 0, others = 0;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        for (uint32_t i = 0; i < p->p_obj[t].o_count; i++)
            if (p->p_obj[t].o_modified_ms[i] != s.s_modified[t][i]) {
                if (t == HS_COMPANIES && p->p_obj[t].o_modified_ms[i] == now)
                    companies++;
                else
                    others++;
            }
    CHECK(companies > 0 && companies <= r.mr_bumped);
    CHECK_EQ(others, 0);
    snap_free(&s);

    /* Off: nothing moves. */
    REQUIRE(snap_take(p, &s));
    o = opts(200, assoc, 1ULL << cc, now + 1000);
    o.mo_rollup.rm_mode = SIM_ROLLUP_NEVER;
    REQUIRE(sim_mutate(p, &o, &r) == 0);
    CHECK(r.mr_table_changes[cc] > 150);
    CHECK_EQ(r.mr_bumped, 0);
    CHECK_EQ(r.mr_rollups.rt_scheduled + r.mr_rollups.rt_coalesced, 0);
    CHECK_EQ(sim_rollup_pending(&p->p_rollups), 0);
    unsigned moved = 0;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        for (uint32_t i = 0; i < p->p_obj[t].o_count; i++)
            moved += p->p_obj[t].o_modified_ms[i] != s.s_modified[t][i];
    CHECK_EQ(moved, 0);
    snap_free(&s);

    /* Bumps on, but a table without rollups: nothing moves. */
    REQUIRE(snap_take(p, &s));
    o = opts(200, assoc, 1ULL << cd, now + 2000);
    o.mo_rollup.rm_mode = SIM_ROLLUP_ALWAYS;
    REQUIRE(sim_mutate(p, &o, &r) == 0);
    CHECK(r.mr_table_changes[cd] > 150);
    CHECK_EQ(r.mr_bumped, 0);
    moved = 0;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        for (uint32_t i = 0; i < p->p_obj[t].o_count; i++)
            moved += p->p_obj[t].o_modified_ms[i] != s.s_modified[t][i];
    CHECK_EQ(moved, 0);
done:
    snap_free(&s);
    sim_portal_destroy(p);
}

/* ------------------------------------------------- realistic rollups */

/* Realistic rollups: delays uniform in [min_ms, max_ms], no slow tail. */
static sim_rollup_model realistic(int64_t min_ms, int64_t max_ms, double miss)
{
    sim_rollup_model m;
    sim_rollup_model_defaults(&m);
    m.rm_delay_min_ms = min_ms;
    m.rm_delay_max_ms = max_ms;
    m.rm_tail = 0;
    m.rm_miss = miss;
    return m;
}

/* `count` mutations of `kind` on table ti under rollup model m at now. */
static int mutate_kind(sim_portal *p, uint32_t count, int kind, int ti, const sim_rollup_model *m,
                       int64_t now, int64_t lag, sim_mutation_result *r)
{
    sim_mutation_opts o = opts(count, KIND(kind), 1ULL << ti, now);
    o.mo_rollup = *m;
    o.mo_index_lag_ms = lag;
    return sim_mutate(p, &o, r);
}

/* The small portal (into *c) with rollups on companies_contacts and
 * contacts_deals (with per-label ones as asked); their table indexes in
 * *cc and *cd. NULL (a failed check) on failure. */
static sim_portal *two_rollup_portal(sim_portal_config *c, uint64_t seed, bool cc_labels,
                                     bool cd_labels, int *cc, int *cd)
{
    ut_portal_config_small(c, seed);
    ut_portal_add_rollup(c, "companies_contacts", cc_labels);
    ut_portal_add_rollup(c, "contacts_deals", cd_labels);
    sim_portal *p = ut_portal_new(c);
    if (p) {
        *cc = ut_table_index(p, "companies_contacts");
        *cd = ut_table_index(p, "contacts_deals");
    }
    return p;
}

/* Recomputations pending for table ti. */
static uint32_t pending_of(const sim_portal *p, int ti)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->p_rollups.rq_len; i++)
        n += p->p_rollups.rq_heap[i].rj_table == (uint32_t)ti;
    return n;
}

/* Objects of type t whose last-modified time differs from the snapshot. */
static unsigned moved_of(const sim_portal *p, const snap *s, hs_object_type t)
{
    unsigned moved = 0;
    for (uint32_t i = 0; i < s->s_count[t]; i++)
        moved += p->p_obj[t].o_modified_ms[i] != s->s_modified[t][i];
    return moved;
}

/* Every pending recomputation is of a live parent of a table that has
 * rollups, and (per-label values) only where the table has per-label
 * rollups. Returns the number of violations. */
static unsigned rollup_queue_violations(const sim_portal *p)
{
    unsigned bad = 0;
    const sim_rollup_queue *q = &p->p_rollups;
    for (uint32_t i = 0; i < q->rq_len; i++) {
        const sim_rollup_job *j = &q->rq_heap[i];
        const sim_table *t =
            j->rj_table < (uint32_t)p->p_ntables ? &p->p_tables[j->rj_table] : NULL;
        const sim_objects *o = t ? &p->p_obj[t->tb_pair.t_parent] : NULL;
        bool ok = t && t->tb_rollup && j->rj_parent < o->o_count && !o->o_archived[j->rj_parent] &&
                  (!j->rj_before.rv_labels || t->tb_rollup_labels) &&
                  sim_rollup_find(q, j->rj_table, j->rj_parent) == j;
        if (!ok && bad++ < 3)
            fprintf(stderr, "\n    pending recomputation %u (table %u, parent %u) is not valid", i,
                    j->rj_table, j->rj_parent);
    }
    return bad;
}

/* One associate on a count rollup: nothing moves until the recomputation
 * is due; then the parent's last-modified becomes the time it ran, once,
 * and search sees it after the index lag. */
static void test_rollup_realistic_associate(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 40);
    ut_portal_add_rollup(&c, "companies_contacts", false);
    sim_portal *p = ut_portal_new(&c);
    REQUIRE(p != NULL);
    int cc = ut_table_index(p, "companies_contacts");
    sim_rollup_model m = realistic(2000, 7000, 0);
    int64_t now = UT_NOW_MS + 60000, lag = 500;
    sim_mutation_result r;
    REQUIRE(mutate_kind(p, 1, SIM_MUT_ASSOCIATE, cc, &m, now, lag, &r) == 0);
    REQUIRE_EQ(r.mr_applied[SIM_MUT_ASSOCIATE], 1);
    CHECK_EQ(r.mr_rollups.rt_scheduled, 1);
    CHECK_EQ(r.mr_bumped, 0);
    const sim_rollup_job *job = sim_rollup_peek(&p->p_rollups);
    REQUIRE(job != NULL && job->rj_table == (uint32_t)cc);
    int64_t due = job->rj_due_ms;
    uint32_t parent = job->rj_parent;
    CHECK(due >= now + 2000 && due <= now + 7000);
    CHECK_EQ(sim_portal_next_recompute_ms(p), due);
    const sim_objects *co = &p->p_obj[HS_COMPANIES];
    int64_t old = co->o_modified_ms[parent], seen = -1;
    CHECK(old < now);
    /* Not yet due: nothing runs, lists and search show the old time. */
    sim_rollup_tally t = {0};
    CHECK_EQ(sim_portal_recompute(p, &m, lag, due - 1, &t), 0);
    CHECK_EQ(co->o_modified_ms[parent], old);
    CHECK(sim_search_view(co, parent, due - 1, &seen) && seen == old);
    CHECK_EQ(sim_rollup_pending(&p->p_rollups), 1);
    /* Due: one bump, at the time it ran; search sees it lag ms later. */
    CHECK_EQ(sim_portal_recompute(p, &m, lag, due + 3, &t), 1);
    CHECK(t.rt_recomputed == 1 && t.rt_bumped == 1 && t.rt_missed == 0 && t.rt_unchanged == 0);
    CHECK_EQ(co->o_modified_ms[parent], due + 3);
    CHECK(sim_search_view(co, parent, due + 3 + lag - 1, &seen) && seen == old);
    CHECK(sim_search_view(co, parent, due + 3 + lag, &seen) && seen == due + 3);
    CHECK_EQ(sim_rollup_pending(&p->p_rollups), 0);
    CHECK(sim_portal_next_recompute_ms(p) == INT64_MAX);
    CHECK_EQ(sim_portal_recompute(p, &m, lag, due + 60000, &t), 0);
    CHECK_EQ(co->o_modified_ms[parent], due + 3);
done:
    sim_portal_destroy(p);
}

/* A relabel leaves a count unchanged: no bump under a count rollup; under
 * per-label rollups a label's count changes: a bump. */
static void test_rollup_relabel(void)
{
    sim_portal_config c;
    int cc, cd;
    sim_portal *p = two_rollup_portal(&c, 41, false, true, &cc, &cd);
    snap s = {0};
    REQUIRE(p != NULL);
    sim_rollup_model m = realistic(1000, 2000, 0);
    int64_t now = UT_NOW_MS + 60000;
    REQUIRE(snap_take(p, &s));
    sim_mutation_result r;
    sim_rollup_tally t = {0};
    REQUIRE(mutate_kind(p, 20, SIM_MUT_RELABEL, cc, &m, now, 0, &r) == 0);
    CHECK(r.mr_applied[SIM_MUT_RELABEL] == 20 &&
          r.mr_rollups.rt_scheduled + r.mr_rollups.rt_coalesced == 20);
    sim_portal_recompute(p, &m, 0, now + 5000, &t);
    CHECK(t.rt_recomputed == r.mr_rollups.rt_scheduled && t.rt_unchanged == t.rt_recomputed);
    CHECK_EQ(t.rt_bumped + t.rt_missed, 0);
    CHECK_EQ(moved_of(p, &s, HS_COMPANIES), 0);
    /* Per-label rollups: every relabel flips one label, so each parent's
     * counts change (two flips of one label on one parent cancel, rarely). */
    memset(&t, 0, sizeof(t));
    REQUIRE(mutate_kind(p, 20, SIM_MUT_RELABEL, cd, &m, now + 10000, 0, &r) == 0);
    CHECK_EQ(r.mr_applied[SIM_MUT_RELABEL], 20);
    sim_portal_recompute(p, &m, 0, now + 15000, &t);
    CHECK(t.rt_recomputed == r.mr_rollups.rt_scheduled && t.rt_bumped >= 1);
    CHECK_EQ(t.rt_bumped + t.rt_unchanged, t.rt_recomputed);
    CHECK_EQ(moved_of(p, &s, HS_CONTACTS), t.rt_bumped);
done:
    snap_free(&s);
    sim_portal_destroy(p);
}

/* A portal with one live company and about a third of the contacts linked
 * to it, so every companies_contacts mutation touches that company. */
static sim_portal *one_company_portal(uint64_t seed)
{
    sim_portal_config c;
    ut_portal_config_small(&c, seed);
    c.pc_count[HS_COMPANIES] = 1;
    c.pc_heavy_parents = 0;
    c.pc_density = 0.3;
    ut_portal_add_rollup(&c, "companies_contacts", false);
    sim_portal *p = ut_portal_new(&c);
    if (p && p->p_obj[HS_COMPANIES].o_live != 1) {
        CHECK(p->p_obj[HS_COMPANIES].o_live == 1);
        sim_portal_destroy(p);
        return NULL;
    }
    return p;
}

/* A dissociate and an associate of one parent within one pending
 * recomputation: coalesced into it, the count is back where it was, and
 * nothing is written. */
static void test_rollup_net_zero_coalesced(void)
{
    sim_portal *p = one_company_portal(42);
    REQUIRE(p != NULL);
    int cc = ut_table_index(p, "companies_contacts");
    sim_rollup_model m = realistic(2000, 7000, 0);
    int64_t now = UT_NOW_MS + 60000;
    int64_t old = p->p_obj[HS_COMPANIES].o_modified_ms[0];
    uint32_t links = p->p_tables[cc].tb_fwd[0].a_len;
    sim_mutation_result r;
    REQUIRE(mutate_kind(p, 1, SIM_MUT_DISSOCIATE, cc, &m, now, 0, &r) == 0);
    CHECK(r.mr_applied[SIM_MUT_DISSOCIATE] == 1 && r.mr_rollups.rt_scheduled == 1);
    REQUIRE(mutate_kind(p, 1, SIM_MUT_ASSOCIATE, cc, &m, now + 500, 0, &r) == 0);
    CHECK(r.mr_applied[SIM_MUT_ASSOCIATE] == 1 && r.mr_rollups.rt_scheduled == 0 &&
          r.mr_rollups.rt_coalesced == 1);
    CHECK_EQ(p->p_tables[cc].tb_fwd[0].a_len, links);
    /* Coalesced, not rescheduled: still due 2–7 s after the first change. */
    CHECK(sim_portal_next_recompute_ms(p) <= now + 7000);
    sim_rollup_tally t = {0};
    CHECK_EQ(sim_portal_recompute(p, &m, 0, now + 7000, &t), 1);
    CHECK(t.rt_unchanged == 1 && t.rt_bumped == 0 && t.rt_missed == 0);
    CHECK_EQ(p->p_obj[HS_COMPANIES].o_modified_ms[0], old);
    /* The same two changes in separate windows each bump. */
    REQUIRE(mutate_kind(p, 1, SIM_MUT_DISSOCIATE, cc, &m, now + 10000, 0, &r) == 0);
    sim_portal_recompute(p, &m, 0, now + 20000, &t);
    REQUIRE(mutate_kind(p, 1, SIM_MUT_ASSOCIATE, cc, &m, now + 30000, 0, &r) == 0);
    sim_portal_recompute(p, &m, 0, now + 40000, &t);
    CHECK(t.rt_recomputed == 3 && t.rt_bumped == 2);
    CHECK(p->p_obj[HS_COMPANIES].o_modified_ms[0] == now + 40000);
done:
    sim_portal_destroy(p);
}

/* rm_miss 1: values change, last-modified never moves. */
static void test_rollup_miss(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 43);
    ut_portal_add_rollup(&c, "companies_contacts", true);
    sim_portal *p = ut_portal_new(&c);
    snap s = {0};
    REQUIRE(p != NULL);
    int cc = ut_table_index(p, "companies_contacts");
    sim_rollup_model m = realistic(100, 200, 1.0);
    int64_t now = UT_NOW_MS + 60000;
    REQUIRE(snap_take(p, &s));
    sim_mutation_result r;
    REQUIRE(mutate_kind(p, 50, SIM_MUT_ASSOCIATE, cc, &m, now, 0, &r) == 0);
    CHECK(r.mr_rollups.rt_scheduled > 40 &&
          r.mr_rollups.rt_scheduled + r.mr_rollups.rt_coalesced == 50);
    sim_rollup_tally t = {0};
    sim_portal_recompute(p, &m, 0, now + 1000, &t);
    /* An associate only ever raises a count: every value changed. */
    CHECK(t.rt_recomputed == r.mr_rollups.rt_scheduled && t.rt_missed == t.rt_recomputed);
    CHECK_EQ(t.rt_bumped, 0);
    CHECK_EQ(moved_of(p, &s, HS_COMPANIES), 0);
done:
    snap_free(&s);
    sim_portal_destroy(p);
}

/* Archiving a child schedules its parents; creating a child linked to a
 * parent schedules it (a created parent is not recomputed: its own write
 * moved it); archiving a parent drops its pending recomputation. */
static void test_rollup_archive_and_create(void)
{
    sim_portal *p = one_company_portal(44);
    REQUIRE(p != NULL);
    int cc = ut_table_index(p, "companies_contacts");
    int cd = ut_table_index(p, "contacts_deals"), ct = ut_table_index(p, "companies_tickets");
    sim_rollup_model m = realistic(2000, 7000, 0);
    int64_t now = UT_NOW_MS + 60000;
    sim_mutation_result r;
    /* Archives through contacts_deals (contacts or deals, never the
     * company) until a contact linked to the company goes. */
    bool linked_gone = false;
    for (int k = 0; k < 400 && !linked_gone; k++) {
        REQUIRE(mutate_kind(p, 1, SIM_MUT_ARCHIVE, cd, &m, now + k, 0, &r) == 0);
        linked_gone = r.mr_table_changes[cc] > 0;
        CHECK_EQ(r.mr_rollups.rt_scheduled, linked_gone ? 1 : 0);
    }
    REQUIRE(linked_gone);
    CHECK(pending_of(p, cc) == 1 && sim_rollup_find(&p->p_rollups, (uint32_t)cc, 0) != NULL);
    /* Creates one at a time: a contact is linked to a company (scheduled,
     * or coalesced into the company's pending one); a company links
     * contacts but is not scheduled. */
    unsigned contacts = 0, companies = 0;
    for (int k = 0; k < 30; k++) {
        uint32_t before = p->p_obj[HS_CONTACTS].o_count;
        REQUIRE(mutate_kind(p, 1, SIM_MUT_CREATE, cc, &m, now + 1000 + k, 0, &r) == 0);
        bool contact = p->p_obj[HS_CONTACTS].o_count > before;
        contacts += contact;
        companies += !contact;
        CHECKF(r.mr_rollups.rt_scheduled + r.mr_rollups.rt_coalesced == (contact ? 1u : 0u),
               "create %d (%s): %llu scheduled, %llu coalesced", k, contact ? "contact" : "company",
               (unsigned long long)r.mr_rollups.rt_scheduled,
               (unsigned long long)r.mr_rollups.rt_coalesced);
    }
    CHECK(contacts > 5 && companies > 5);
    CHECK_EQ(rollup_queue_violations(p), 0);
    /* Archives through companies_tickets until the first company goes: its
     * pending recomputation is dropped. */
    sim_rollup_tally sum = {0};
    for (int k = 0; k < 400 && !p->p_obj[HS_COMPANIES].o_archived[0]; k++) {
        REQUIRE(mutate_kind(p, 1, SIM_MUT_ARCHIVE, ct, &m, now + 2000 + k, 0, &r) == 0);
        sim_rollup_tally_add(&sum, &r.mr_rollups);
    }
    REQUIRE(p->p_obj[HS_COMPANIES].o_archived[0]);
    CHECK(sum.rt_dropped >= 1 && sim_rollup_find(&p->p_rollups, (uint32_t)cc, 0) == NULL);
    CHECK_EQ(rollup_queue_violations(p), 0);
done:
    sim_portal_destroy(p);
}

/* Rollups removed at run time drop their pending recomputations (nothing is
 * written); rollups added start with nothing pending; per-label rollups
 * removed forget the per-label values they captured. */
static void test_rollup_set_at_run_time(void)
{
    sim_portal_config c;
    int cc, cd;
    sim_portal *p = two_rollup_portal(&c, 45, true, false, &cc, &cd);
    snap s = {0};
    REQUIRE(p != NULL);
    sim_rollup_model m = realistic(1000, 2000, 0);
    int64_t now = UT_NOW_MS + 60000;
    sim_mutation_result r;
    REQUIRE(mutate_kind(p, 40, SIM_MUT_ASSOCIATE, cc, &m, now, 0, &r) == 0);
    REQUIRE(mutate_kind(p, 40, SIM_MUT_ASSOCIATE, cd, &m, now, 0, &r) == 0);
    uint32_t on_cc = pending_of(p, cc), on_cd = pending_of(p, cd);
    CHECK(on_cc > 30 && on_cd > 30);
    REQUIRE(snap_take(p, &s));
    /* companies_contacts loses its rollups. */
    sim_portal_config only_cd = c;
    only_cd.pc_nrollups = 1;
    only_cd.pc_rollups[0] = c.pc_rollups[1];
    sim_rollup_tally t = {0};
    sim_portal_set_rollups(p, &only_cd, &t);
    CHECK(!p->p_tables[cc].tb_rollup && !p->p_tables[cc].tb_rollup_labels);
    CHECK_EQ(t.rt_dropped, on_cc);
    CHECK(pending_of(p, cc) == 0 && pending_of(p, cd) == on_cd);
    /* Back again: nothing from before comes back. */
    sim_portal_set_rollups(p, &c, &t);
    CHECK(p->p_tables[cc].tb_rollup && p->p_tables[cc].tb_rollup_labels);
    CHECK_EQ(pending_of(p, cc), 0);
    sim_portal_recompute(p, &m, 0, now + 5000, &t);
    CHECK(t.rt_recomputed == on_cd && t.rt_bumped == on_cd);
    CHECK_EQ(moved_of(p, &s, HS_COMPANIES), 0);
    CHECK_EQ(moved_of(p, &s, HS_CONTACTS), on_cd);
    /* A relabel captured under per-label rollups that then go: the count
     * alone is compared, and it did not change. */
    memset(&t, 0, sizeof(t));
    REQUIRE(mutate_kind(p, 1, SIM_MUT_RELABEL, cc, &m, now + 10000, 0, &r) == 0);
    REQUIRE_EQ(r.mr_rollups.rt_scheduled, 1);
    CHECK(sim_rollup_peek(&p->p_rollups)->rj_before.rv_labels);
    sim_portal_config no_labels = c;
    no_labels.pc_rollups[0].rd_labels = false;
    sim_portal_set_rollups(p, &no_labels, &t);
    CHECK(p->p_tables[cc].tb_rollup && !p->p_tables[cc].tb_rollup_labels);
    CHECK(t.rt_dropped == 0 && !sim_rollup_peek(&p->p_rollups)->rj_before.rv_labels);
    sim_portal_recompute(p, &m, 0, now + 20000, &t);
    CHECK(t.rt_recomputed == 1 && t.rt_unchanged == 1);
done:
    snap_free(&s);
    sim_portal_destroy(p);
}

/* Delays: uniform in [min, max], with the tail's share in [max, tail_ms]. */
static void test_rollup_delays(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 46);
    ut_portal_add_rollup(&c, "contacts_deals", false);
    sim_portal *p = ut_portal_new(&c);
    REQUIRE(p != NULL);
    int cd = ut_table_index(p, "contacts_deals");
    sim_rollup_model m = realistic(2000, 7000, 0);
    m.rm_tail = 0.25;
    m.rm_tail_ms = 60000;
    int64_t now = UT_NOW_MS + 60000;
    sim_mutation_result r;
    REQUIRE(mutate_kind(p, 2000, SIM_MUT_ASSOCIATE, cd, &m, now, 0, &r) == 0);
    uint32_t n = sim_rollup_pending(&p->p_rollups), slow = 0, outside = 0;
    int64_t lo = INT64_MAX, hi = 0;
    for (uint32_t i = 0; i < n; i++) {
        int64_t d = p->p_rollups.rq_heap[i].rj_due_ms - now;
        outside += d < 2000 || d > 60000;
        slow += d > 7000;
        if (d <= 7000 && d < lo)
            lo = d;
        if (d <= 7000 && d > hi)
            hi = d;
    }
    CHECK(n > 1000);
    CHECK_EQ(outside, 0);
    CHECKF(slow > n * 0.18 && slow < n * 0.32, "%u of %u recomputations slow, want about 25%%",
           slow, n);
    CHECK(lo < 2100 && hi > 6900);
done:
    sim_portal_destroy(p);
}

/* mo_same_ms: every write of the call shares one millisecond. */
static void test_same_ms(void)
{
    sim_portal *p = small_portal(21, false);
    snap s = {0};
    REQUIRE(p != NULL);
    REQUIRE(snap_take(p, &s));
    int64_t now = UT_NOW_MS + 5000;
    sim_mutation_opts o = opts(100, KIND(SIM_MUT_TOUCH), 0, now);
    o.mo_same_ms = true;
    sim_mutation_result r;
    REQUIRE(sim_mutate(p, &o, &r) == 0);
    CHECK_EQ(r.mr_first_ms, r.mr_last_ms);
    CHECK_EQ(r.mr_first_ms, now);
    unsigned touched = 0, other = 0;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        for (uint32_t i = 0; i < p->p_obj[t].o_count; i++)
            if (p->p_obj[t].o_modified_ms[i] != s.s_modified[t][i]) {
                touched++;
                other += p->p_obj[t].o_modified_ms[i] != now;
            }
    CHECK(touched > 90);
    CHECK_EQ(other, 0);
done:
    snap_free(&s);
    sim_portal_destroy(p);
}

/* mo_same_ms_chance 1: every write reuses the previous write's millisecond,
 * also across calls, when it is at most SIM_SAME_MS_WITHIN_MS old (else it
 * is at now); chance 0: every write is at now. */
static void test_same_ms_chance(void)
{
    sim_portal *p = small_portal(22, false);
    snap s = {0};
    REQUIRE(p != NULL);
    int64_t t1 = UT_NOW_MS + 1000, t2 = t1 + SIM_SAME_MS_WITHIN_MS;
    sim_mutation_opts o = opts(1, KIND(SIM_MUT_TOUCH), 0, t1);
    sim_mutation_result r;
    REQUIRE(sim_mutate(p, &o, &r) == 0);
    CHECK_EQ(r.mr_first_ms, t1);
    REQUIRE(snap_take(p, &s));
    o = opts(20, KIND(SIM_MUT_TOUCH), 0, t2);
    o.mo_same_ms_chance = 1.0;
    REQUIRE(sim_mutate(p, &o, &r) == 0);
    CHECK_EQ(r.mr_first_ms, t1);
    CHECK_EQ(r.mr_last_ms, t1);
    unsigned wrong = 0;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        for (uint32_t i = 0; i < p->p_obj[t].o_count; i++)
            if (p->p_obj[t].o_modified_ms[i] != s.s_modified[t][i])
                wrong += p->p_obj[t].o_modified_ms[i] != t1;
    CHECK_EQ(wrong, 0);
    o = opts(20, KIND(SIM_MUT_TOUCH), 0, t2 + 1);
    REQUIRE(sim_mutate(p, &o, &r) == 0);
    CHECK(r.mr_first_ms == t2 + 1 && r.mr_last_ms == t2 + 1);
    /* Never a stamp older than SIM_SAME_MS_WITHIN_MS: the next call is at now. */
    int64_t t3 = t2 + 1 + SIM_SAME_MS_WITHIN_MS + 1;
    o = opts(5, KIND(SIM_MUT_TOUCH), 0, t3);
    o.mo_same_ms_chance = 1.0;
    REQUIRE(sim_mutate(p, &o, &r) == 0);
    CHECK(r.mr_first_ms == t3 && r.mr_last_ms == t3);
done:
    snap_free(&s);
    sim_portal_destroy(p);
}

/* Finds the one object whose last-modified changed since s; false if not one. */
static bool changed_object(const sim_portal *p, const snap *s, int *type, uint32_t *idx)
{
    int n = 0;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        for (uint32_t i = 0; i < p->p_obj[t].o_count && i < s->s_count[t]; i++)
            if (p->p_obj[t].o_modified_ms[i] != s->s_modified[t][i]) {
                *type = t;
                *idx = i;
                n++;
            }
    return n == 1;
}

static void test_index_lag_touch(void)
{
    sim_portal *p = small_portal(23, false);
    snap s = {0};
    REQUIRE(p != NULL);
    const int64_t lag = 5000;
    for (int round = 0; round < 10; round++) {
        int64_t now = UT_NOW_MS + round * 100000;
        REQUIRE(snap_take(p, &s));
        sim_mutation_opts o = opts(1, KIND(SIM_MUT_TOUCH), 0, now);
        o.mo_index_lag_ms = lag;
        sim_mutation_result r;
        REQUIRE(sim_mutate(p, &o, &r) == 0);
        int t;
        uint32_t i;
        REQUIRE(changed_object(p, &s, &t, &i));
        int64_t old = s.s_modified[t][i], m = -1;
        const sim_objects *ob = &p->p_obj[t];
        CHECK(sim_search_view(ob, i, now, &m) && m == old);
        CHECK(sim_search_view(ob, i, now + lag - 1, &m) && m == old);
        CHECK(sim_search_view(ob, i, now + lag, &m) && m == now);
        CHECK(sim_search_view(ob, i, now + 10 * lag, &m) && m == now);
        snap_free(&s);
    }
    /* Lag 0: visible at once. */
    REQUIRE(snap_take(p, &s));
    sim_mutation_opts o = opts(1, KIND(SIM_MUT_TOUCH), 0, UT_NOW_MS + 2000000);
    sim_mutation_result r;
    REQUIRE(sim_mutate(p, &o, &r) == 0);
    int t;
    uint32_t i;
    REQUIRE(changed_object(p, &s, &t, &i));
    int64_t m = -1;
    CHECK(sim_search_view(&p->p_obj[t], i, UT_NOW_MS + 2000000, &m) && m == UT_NOW_MS + 2000000);
done:
    snap_free(&s);
    sim_portal_destroy(p);
}

static void test_index_lag_create_and_archive(void)
{
    sim_portal *p = small_portal(24, false);
    snap s = {0};
    REQUIRE(p != NULL);
    const int64_t lag = 3000;
    /* Generated objects: live ones are in the index as they are, archived
     * ones never. */
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const sim_objects *ob = &p->p_obj[t];
        unsigned wrong = 0;
        for (uint32_t i = 0; i < ob->o_count; i++) {
            int64_t m = -1;
            bool in = sim_search_view(ob, i, UT_NOW_MS, &m);
            wrong += ob->o_archived[i] ? in : !in || m != ob->o_modified_ms[i];
        }
        CHECK_EQ(wrong, 0);
    }
    for (int round = 0; round < 10; round++) {
        int64_t now = UT_NOW_MS + round * 100000;
        REQUIRE(snap_take(p, &s));
        sim_mutation_opts o = opts(1, KIND(SIM_MUT_CREATE), 0, now);
        o.mo_index_lag_ms = lag;
        sim_mutation_result r;
        REQUIRE(sim_mutate(p, &o, &r) == 0);
        REQUIRE_EQ(r.mr_applied[SIM_MUT_CREATE], 1);
        for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
            if (p->p_obj[t].o_count == s.s_count[t])
                continue;
            uint32_t i = s.s_count[t];
            int64_t m = -1;
            CHECK(!sim_search_view(&p->p_obj[t], i, now, &m));
            CHECK(!sim_search_view(&p->p_obj[t], i, now + lag - 1, &m));
            CHECK(sim_search_view(&p->p_obj[t], i, now + lag, &m) && m == now);
        }
        snap_free(&s);

        now += 50000;
        REQUIRE(snap_take(p, &s));
        o = opts(1, KIND(SIM_MUT_ARCHIVE), 0, now);
        o.mo_index_lag_ms = lag;
        REQUIRE(sim_mutate(p, &o, &r) == 0);
        REQUIRE_EQ(r.mr_applied[SIM_MUT_ARCHIVE], 1);
        int t;
        uint32_t i;
        /* Archiving also bumps nothing else here (no rollups): one change. */
        REQUIRE(changed_object(p, &s, &t, &i));
        CHECK(p->p_obj[t].o_archived[i]);
        int64_t m = -1, old = s.s_modified[t][i];
        CHECK(sim_search_view(&p->p_obj[t], i, now, &m) && m == old);
        CHECK(sim_search_view(&p->p_obj[t], i, now + lag - 1, &m) && m == old);
        CHECK(!sim_search_view(&p->p_obj[t], i, now + lag, &m));
        snap_free(&s);
    }
done:
    snap_free(&s);
    sim_portal_destroy(p);
}

/* "The search view of an object written at time w becomes visible at w +
 * index_lag_ms": a second write before the first became visible must not
 * hold the first one back. Two-object portal, so the touches land on one of
 * two objects. */
static void test_index_lag_second_write(void)
{
    sim_portal *p = NULL;
    snap s = {0};
    for (uint64_t seed = 1; seed < 100 && !p; seed++) {
        sim_portal_config c;
        sim_portal_config_defaults(&c);
        memset(c.pc_count, 0, sizeof(c.pc_count));
        c.pc_seed = seed;
        c.pc_count[HS_CONTACTS] = 1;
        c.pc_count[HS_COMPANIES] = 1;
        c.pc_heavy_parents = 0;
        c.pc_now_ms = UT_NOW_MS;
        p = ut_portal_new(&c);
        if (p && (p->p_obj[HS_CONTACTS].o_live != 1 || p->p_obj[HS_COMPANIES].o_live != 1)) {
            sim_portal_destroy(p);
            p = NULL;
        }
    }
    REQUIRE(p != NULL);
    const int64_t lag = 1000, t0 = UT_NOW_MS + 10000;
    REQUIRE(snap_take(p, &s));
    sim_mutation_opts o = opts(1, KIND(SIM_MUT_TOUCH), 0, t0);
    o.mo_index_lag_ms = lag;
    sim_mutation_result r;
    REQUIRE(sim_mutate(p, &o, &r) == 0);
    int t;
    uint32_t i;
    REQUIRE(changed_object(p, &s, &t, &i));
    int64_t original = s.s_modified[t][i];
    /* Touch again at t0 + 500 until the same object is hit. */
    o.mo_now_ms = t0 + 500;
    for (int k = 0; k < 200 && p->p_obj[t].o_modified_ms[i] != t0 + 500; k++)
        REQUIRE(sim_mutate(p, &o, &r) == 0);
    REQUIRE_EQ(p->p_obj[t].o_modified_ms[i], t0 + 500);
    int64_t m = -1;
    CHECK(sim_search_view(&p->p_obj[t], i, t0 + 999, &m) && m == original);
    /* At t0 + 1200 the write of t0 has reached the index. */
    CHECK(sim_search_view(&p->p_obj[t], i, t0 + 1200, &m));
    CHECK_EQ(m, t0);
    CHECK(sim_search_view(&p->p_obj[t], i, t0 + 1500, &m) && m == t0 + 500);
done:
    snap_free(&s);
    sim_portal_destroy(p);
}

/* 20,000 mixed mutations with lag, same-ms writes and rollup bumps (at once,
 * then realistic with recomputations run between batches, and the rollups
 * changed at run time): the portal stays consistent after every batch, and
 * every recomputation scheduled is run, dropped or still pending. */
static void test_many_mutations_consistent(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 25);
    c.pc_count[HS_NOTES] = 300;
    ut_portal_add_rollup(&c, "companies_contacts", true);
    ut_portal_add_rollup(&c, "companies_deals", false);
    ut_portal_add_rollup(&c, "contacts_deals", false);
    sim_portal *p = ut_portal_new(&c);
    REQUIRE(p != NULL);
    uint32_t applied[SIM_MUT_KIND_COUNT] = {0};
    sim_rollup_tally total = {0};
    for (int batch = 0; batch < 20; batch++) {
        int64_t now = UT_NOW_MS + batch * 250;
        sim_mutation_opts o = opts(1000, 0, 0, now);
        o.mo_index_lag_ms = 700;
        o.mo_same_ms_chance = 0.1;
        o.mo_rollup.rm_mode = batch < 5 ? SIM_ROLLUP_ALWAYS : SIM_ROLLUP_REALISTIC;
        o.mo_rollup.rm_delay_min_ms = 100;
        o.mo_rollup.rm_delay_max_ms = 600;
        o.mo_rollup.rm_tail = 0.1;
        o.mo_rollup.rm_tail_ms = 3000;
        o.mo_rollup.rm_miss = 0.2;
        o.mo_same_ms = batch % 5 == 4;
        sim_mutation_result r;
        REQUIRE(sim_mutate(p, &o, &r) == 0);
        sim_rollup_tally_add(&total, &r.mr_rollups);
        sim_portal_recompute(p, &o.mo_rollup, o.mo_index_lag_ms, now + 125, &total);
        if (batch == 12 || batch == 15) {
            /* Take companies_deals' rollups away, then give them back with
             * per-label ones, and take companies_contacts' per-label ones. */
            c.pc_nrollups = batch == 12 ? 2 : 3;
            c.pc_rollups[0].rd_labels = batch == 12;
            c.pc_rollups[1] = (sim_rollup_def){{HS_CONTACTS, HS_DEALS}, false};
            c.pc_rollups[2] = (sim_rollup_def){{HS_COMPANIES, HS_DEALS}, true};
            sim_portal_set_rollups(p, &c, &total);
        }
        CHECK_EQ(sum_applied(&r) + r.mr_skipped, 1000);
        CHECK(r.mr_first_ms <= r.mr_last_ms && r.mr_last_ms <= now);
        for (int k = 0; k < SIM_MUT_KIND_COUNT; k++)
            applied[k] += r.mr_applied[k];
        unsigned v = ut_portal_violations(p) + rollup_queue_violations(p);
        CHECKF(v == 0, "%u violations after batch %d", v, batch);
        if (v)
            break;
    }
    for (int k = 0; k < SIM_MUT_KIND_COUNT; k++)
        CHECKF(applied[k] > 1000, "only %u %s mutations applied", applied[k],
               sim_mutation_names[k]);
    /* The accounting adds up, and every outcome happened. */
    CHECK_EQ(total.rt_scheduled,
             total.rt_recomputed + total.rt_dropped + sim_rollup_pending(&p->p_rollups));
    CHECK_EQ(total.rt_recomputed, total.rt_bumped + total.rt_missed + total.rt_unchanged);
    CHECK(total.rt_scheduled > 1000 && total.rt_coalesced > 0 && total.rt_bumped > 0 &&
          total.rt_missed > 0 && total.rt_unchanged > 0 && total.rt_dropped > 0);
    /* Far in the future everything has run. */
    sim_portal_recompute(p, &(sim_rollup_model){SIM_ROLLUP_REALISTIC, 0, 0, 0, 0, 0}, 0,
                         UT_NOW_MS + 3600000, &total);
    CHECK_EQ(sim_rollup_pending(&p->p_rollups), 0);
    CHECK(sim_portal_next_recompute_ms(p) == INT64_MAX);
    CHECK_EQ(ut_portal_violations(p), 0);
done:
    sim_portal_destroy(p);
}

static uint64_t core_links(const sim_portal *p)
{
    uint64_t n = 0;
    for (int i = 0; i < p->p_ntables; i++)
        n += p->p_tables[i].tb_links;
    return n;
}

/* --density multiplies the links drawn; the label share follows
 * pc_label_fraction. */
static void test_density_and_labels(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 26);
    c.pc_heavy_parents = 0;
    sim_portal *one = ut_portal_new(&c);
    c.pc_density = 2.0;
    sim_portal *two = ut_portal_new(&c);
    REQUIRE(one && two);
    double ratio = (double)core_links(two) / (double)core_links(one);
    CHECKF(ratio > 1.8 && ratio < 2.2, "density 2: %.3f times the links", ratio);
    CHECK_EQ(ut_portal_violations(two), 0);
    uint64_t labelled = 0, total = 0;
    for (int i = 0; i < one->p_ntables; i++) {
        const sim_table *t = &one->p_tables[i];
        for (uint32_t j = 0; j < one->p_obj[t->tb_pair.t_parent].o_count; j++)
            for (uint32_t k = 0; k < t->tb_fwd[j].a_len; k++)
                labelled += t->tb_fwd[j].a_links[k].l_labels != 0;
        total += t->tb_links;
    }
    double share = (double)labelled / (double)total;
    CHECKF(share > c.pc_label_fraction * 0.7 && share < c.pc_label_fraction * 1.3,
           "labelled share %.3f, configured %.3f", share, c.pc_label_fraction);
done:
    sim_portal_destroy(one);
    sim_portal_destroy(two);
}

/* In a forked child (a crash must fail this test, not end the run):
 * density 0 and no heavy parents give a portal without links, whose
 * dissociate/relabel mutations are all skipped. Exit 0 when all held. */
static int linkless_portal(void *arg)
{
    (void)arg;
    sim_portal_config c;
    ut_portal_config_small(&c, 27);
    c.pc_heavy_parents = 0;
    c.pc_density = 0.0;
    sim_portal *p = NULL;
    if (sim_portal_create(&c, &p) != 0)
        return 2;
    int rc = 0;
    if (core_links(p) != 0)
        rc = 3;
    jbuf b;
    jb_init(&b);
    jb_raw(&b, "", 0);
    sim_truth_tsv(p, &p->p_tables[0], &b);
    if (rc == 0 && b.jb_len != 0)
        rc = 4;
    jb_free(&b);
    sim_mutation_opts o = opts(10, KIND(SIM_MUT_DISSOCIATE) | KIND(SIM_MUT_RELABEL), 0, UT_NOW_MS);
    sim_mutation_result r;
    if (rc == 0 && (sim_mutate(p, &o, &r) != 0 || r.mr_skipped != 10 || sum_applied(&r) != 0))
        rc = 5;
    sim_portal_destroy(p);
    return rc;
}

static void test_linkless_portal(void)
{
    int rc = ut_run_sandboxed(linkless_portal, NULL, 10000);
    CHECKF(rc == 0, "density 0 portal: child %s %d (-1: crashed, e.g. a sanitizer abort)",
           rc < 0 ? "died," : "failed check", rc);
}

static void test_mutation_names(void)
{
    static const char *const names[SIM_MUT_KIND_COUNT] = {
        "associate", "dissociate", "relabel", "archive", "touch", "create",
    };
    for (int k = 0; k < SIM_MUT_KIND_COUNT; k++)
        CHECK_STR(sim_mutation_names[k], names[k]);
}

int unit_suite_sim_portal(void)
{
    static const ut_test tests[] = {
        {"generated portal satisfies every invariant", test_generated_portal_consistent},
        {"deterministic (~50k objects), shape", test_deterministic_50k},
        {"another seed, another portal", test_seed_changes_portal},
        {"tables: all pairs, core first, type ids", test_tables},
        {"table lookup by pair and name", test_table_lookup},
        {"ids and times", test_ids_and_times},
        {"object_find hit and miss", test_object_find},
        {"heavy parents get heavy_links links", test_heavy_parents},
        {"primary: first company, none elsewhere", test_primaries},
        {"link_type_ids; user-defined label ids", test_link_type_ids},
        {"truth TSV format", test_truth_format},
        {"mutate: associate", test_mutate_associate},
        {"mutate: dissociate", test_mutate_dissociate},
        {"mutate: relabel", test_mutate_relabel},
        {"mutate: archive", test_mutate_archive},
        {"mutate: touch", test_mutate_touch},
        {"mutate: create", test_mutate_create},
        {"mutate: thousands of creates grow arrays", test_mutate_create_many},
        {"mutate: table filter", test_mutate_table_filter},
        {"rollup bumps: changed parents bumped", test_rollup_bumps_on},
        {"rollup bumps: counts, off, non-rollup", test_rollup_bumps_counts_and_off},
        {"realistic rollups: associate bumps once when due", test_rollup_realistic_associate},
        {"realistic rollups: relabel under count vs per-label", test_rollup_relabel},
        {"realistic rollups: net-zero changes coalesced", test_rollup_net_zero_coalesced},
        {"realistic rollups: miss 1 never bumps", test_rollup_miss},
        {"realistic rollups: child archive/create, parent archive", test_rollup_archive_and_create},
        {"realistic rollups: changed at run time", test_rollup_set_at_run_time},
        {"realistic rollups: delays and tail", test_rollup_delays},
        {"same_ms: one millisecond per call", test_same_ms},
        {"same_ms_chance reuses the previous ms", test_same_ms_chance},
        {"index lag: touch", test_index_lag_touch},
        {"index lag: create and archive", test_index_lag_create_and_archive},
        {"index lag: second write keeps first's time", test_index_lag_second_write},
        {"20,000 mixed mutations stay consistent", test_many_mutations_consistent},
        {"density and label share", test_density_and_labels},
        {"density 0: no links, mutations skipped", test_linkless_portal},
        {"mutation names", test_mutation_names},
    };
    return ut_add_suite("sim_portal", tests, UT_COUNT(tests));
}
