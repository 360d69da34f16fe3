/*
 * sim_portal — generation, lookup and mutation of the simulated portal
 * (see sim_portal.h for the data model and locking rules).
 *
 * Generation draws each table's links from the "driver" side (the object
 * that typically owns the link: a contact picks its companies, a deal its
 * contacts, a note its records), choosing the other side with a squared-
 * uniform skew scattered over the ID space. That gives the long tail real
 * portals have (most parents with a handful of links, some with none, a few
 * with thousands); a few explicitly heavy parents guarantee batch-read paging.
 */
#include "sim_portal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_profile.h"

const char *const sim_mutation_names[SIM_MUT_KIND_COUNT] = {
    "associate", "dissociate", "relabel", "archive", "touch", "create",
};

void sim_portal_config_defaults(sim_portal_config *c)
{
    memset(c, 0, sizeof(*c));
    c->pc_seed = 1;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        c->pc_count[t] = sim_type_profile_of((hs_object_type)t)->tp_default_count;
    c->pc_density = 1.0;
    c->pc_heavy_parents = 2;
    c->pc_heavy_links = 2000;
    c->pc_labels = 3;
    c->pc_label_fraction = 0.15;
    c->pc_import_fraction = 0.05;
}

/* ---------------------------------------------------------------- objects */

static int objects_reserve(sim_objects *o, uint32_t cap)
{
    if (cap <= o->o_cap)
        return 0;
#define GROW(field)                                                                                \
    do {                                                                                           \
        void *np = realloc(o->field, (size_t)cap * sizeof(*o->field));                             \
        if (!np)                                                                                   \
            return -1;                                                                             \
        o->field = np;                                                                             \
    } while (0)
    GROW(o_id);
    GROW(o_created_ms);
    GROW(o_modified_ms);
    GROW(o_archived);
    GROW(o_search_ms);
    GROW(o_search_live);
    GROW(o_pending);
#undef GROW
    o->o_cap = cap;
    return 0;
}

static void objects_free(sim_objects *o)
{
    free(o->o_id);
    free(o->o_created_ms);
    free(o->o_modified_ms);
    free(o->o_archived);
    free(o->o_search_ms);
    free(o->o_search_live);
    free(o->o_pending);
}

/* IDs above 2^32 with gaps, as HubSpot's are; each type in its own range. */
static uint64_t id_gap(sim_rng *r)
{
    uint64_t u = sim_rng_below(r, 100);
    if (u < 70)
        return 1 + sim_rng_below(r, 3);
    if (u < 97)
        return 4 + sim_rng_below(r, 60);
    return 100 + sim_rng_below(r, 100000);
}

static int generate_objects(sim_portal *p, const sim_portal_config *c, hs_object_type t)
{
    sim_objects *o = &p->p_obj[t];
    uint32_t n = c->pc_count[t];
    uint32_t headroom = n / 8 > 1024 ? n / 8 : 1024;
    if (objects_reserve(o, n + headroom))
        return -1;
    sim_rng r;
    sim_rng_seed(&r, c->pc_seed, 100 + (uint64_t)t);
    uint64_t id = (uint64_t)(t + 1) * 10000000000ULL + sim_rng_below(&r, 1000000000ULL);
    const int64_t year_ms = 365LL * 86400 * 1000;
    int64_t span_ms = 3 * year_ms;
    int64_t created = c->pc_now_ms - span_ms;
    int64_t import_ms = 0;
    uint32_t import_left = 0;
    for (uint32_t i = 0; i < n; i++) {
        id += id_gap(&r);
        o->o_id[i] = id;
        /* Creation times rise with the ID, as HubSpot's do. */
        created += 1 + (int64_t)sim_rng_below(&r, (uint64_t)(2 * span_ms / (n + 1)) + 1);
        if (created > c->pc_now_ms - 60000)
            created = c->pc_now_ms - 60000;
        o->o_created_ms[i] = created;
        int64_t modified;
        if (import_left > 0) {
            import_left--;
            modified = import_ms > created ? import_ms : created;
        } else if (sim_rng_chance(&r, c->pc_import_fraction / 200.0)) {
            /* A bulk import or workflow: a run of records sharing one millisecond. */
            import_left = 20 + (uint32_t)sim_rng_below(&r, 380);
            int64_t room = c->pc_now_ms - 60000 - created;
            import_ms = created + (room > 0 ? (int64_t)sim_rng_below(&r, (uint64_t)room) : 0);
            modified = import_ms;
        } else {
            int64_t room = c->pc_now_ms - 60000 - created;
            modified = created + (room > 0 ? (int64_t)sim_rng_below(&r, (uint64_t)room) : 0);
        }
        o->o_modified_ms[i] = modified;
        o->o_archived[i] = sim_rng_chance(&r, 0.02);
        o->o_search_ms[i] = modified;
        o->o_search_live[i] = !o->o_archived[i];
        memset(o->o_pending[i], 0, sizeof(o->o_pending[i]));
        o->o_live += !o->o_archived[i];
    }
    o->o_count = n;
    return 0;
}

uint32_t sim_object_lower_bound(const sim_objects *o, uint64_t id)
{
    uint32_t lo = 0, hi = o->o_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (o->o_id[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int sim_object_find(const sim_portal *p, hs_object_type t, uint64_t id, uint32_t *idx)
{
    const sim_objects *o = &p->p_obj[t];
    uint32_t i = sim_object_lower_bound(o, id);
    if (i < o->o_count && o->o_id[i] == id) {
        *idx = i;
        return 0;
    }
    return -1;
}

bool sim_search_view(const sim_objects *o, uint32_t idx, int64_t now_ms, int64_t *modified_ms)
{
    for (int k = 1; k >= 0; k--) {
        const sim_pending *pd = &o->o_pending[idx][k];
        if (pd->pd_visible_at_ms && now_ms >= pd->pd_visible_at_ms) {
            *modified_ms = pd->pd_modified_ms;
            return pd->pd_live;
        }
    }
    *modified_ms = o->o_search_ms[idx];
    return o->o_search_live[idx];
}

/* Folds the pending writes that have reached the index into its state. */
static void index_settle(sim_objects *o, uint32_t i, int64_t now_ms)
{
    sim_pending *pd = o->o_pending[i];
    while (pd[0].pd_visible_at_ms && now_ms >= pd[0].pd_visible_at_ms) {
        o->o_search_ms[i] = pd[0].pd_modified_ms;
        o->o_search_live[i] = pd[0].pd_live;
        pd[0] = pd[1];
        memset(&pd[1], 0, sizeof(pd[1]));
    }
}

/* Records a write to object i (its new state already in o_modified_ms and
 * o_archived): the search index sees it from now + lag on. */
static void index_write(sim_objects *o, uint32_t i, int64_t now_ms, int64_t lag_ms)
{
    index_settle(o, i, now_ms);
    sim_pending w = {o->o_modified_ms[i], now_ms + lag_ms, !o->o_archived[i]};
    if (lag_ms <= 0 && !o->o_pending[i][0].pd_visible_at_ms) {
        o->o_search_ms[i] = w.pd_modified_ms;
        o->o_search_live[i] = w.pd_live;
        return;
    }
    if (w.pd_visible_at_ms <= 0)
        w.pd_visible_at_ms = 1;
    o->o_pending[i][o->o_pending[i][0].pd_visible_at_ms ? 1 : 0] = w;
}

/* Records a write to object i: lists and batch reads see it at once, search
 * after the lag. */
static void object_write(sim_objects *o, uint32_t i, int64_t ms, bool archive, int64_t now_ms,
                         int64_t lag_ms)
{
    o->o_modified_ms[i] = ms;
    if (archive && !o->o_archived[i]) {
        o->o_archived[i] = 1;
        o->o_live--;
    }
    index_write(o, i, now_ms, lag_ms);
}

/* ----------------------------------------------------------------- tables */

sim_table *sim_table_find(sim_portal *p, hs_object_type from, hs_object_type to, bool *reverse)
{
    for (int i = 0; i < p->p_ntables; i++) {
        sim_table *t = &p->p_tables[i];
        if (t->tb_pair.t_parent == from && t->tb_pair.t_child == to) {
            *reverse = false;
            return t;
        }
        if (t->tb_pair.t_parent == to && t->tb_pair.t_child == from) {
            *reverse = true;
            return t;
        }
    }
    return NULL;
}

sim_table *sim_table_by_name(sim_portal *p, const char *name, size_t n)
{
    for (int i = 0; i < p->p_ntables; i++) {
        sim_table *t = &p->p_tables[i];
        if (strlen(t->tb_name) == n && memcmp(t->tb_name, name, n) == 0)
            return t;
    }
    return NULL;
}

static const char *const label_names[SIM_MAX_LABELS][2] = {
    {"Billing contact", "Billing contact"},
    {"Decision maker", "Decision maker"},
    {"Manager", "Employee"},
    {"Champion", "Champion"},
    {"Former", "Former"},
    {"Partner", "Partner"},
    {"Influencer", "Influencer"},
    {"Owner", "Owned by"},
};

static void table_init(sim_table *t, hs_table pair, int table_index, const sim_portal_config *c)
{
    memset(t, 0, sizeof(*t));
    t->tb_pair = pair;
    hs_table_name(pair, t->tb_name, sizeof(t->tb_name));
    hs_assoc_type_ids(pair.t_parent, pair.t_child, &t->tb_unlabeled_fwd, &t->tb_primary_fwd);
    hs_assoc_type_ids(pair.t_child, pair.t_parent, &t->tb_unlabeled_rev, &t->tb_primary_rev);
    t->tb_nlabels = (int)(c->pc_labels > SIM_MAX_LABELS ? SIM_MAX_LABELS : c->pc_labels);
    for (int i = 0; i < t->tb_nlabels; i++) {
        sim_label *lb = &t->tb_labels[i];
        /* USER_DEFINED IDs are per portal; keep them clear of HUBSPOT_DEFINED ones
         * so an export line's type IDs are unambiguous. */
        lb->lb_typeid_fwd = 1000 + table_index * 20 + 2 * i;
        lb->lb_typeid_rev = lb->lb_typeid_fwd + 1;
        snprintf(lb->lb_name, sizeof(lb->lb_name), "%s", label_names[i][0]);
        snprintf(lb->lb_inverse, sizeof(lb->lb_inverse), "%s", label_names[i][1]);
    }
}

int sim_link_type_ids(const sim_table *t, bool reverse, const sim_link *l, int *ids)
{
    int n = 0;
    ids[n++] = reverse ? t->tb_unlabeled_rev : t->tb_unlabeled_fwd;
    int primary = reverse ? t->tb_primary_rev : t->tb_primary_fwd;
    if (l->l_primary && primary)
        ids[n++] = primary;
    for (int i = 0; i < t->tb_nlabels; i++)
        if (l->l_labels & (1u << i))
            ids[n++] = reverse ? t->tb_labels[i].lb_typeid_rev : t->tb_labels[i].lb_typeid_fwd;
    /* Insertion sort: at most a dozen entries. */
    for (int i = 1; i < n; i++) {
        int v = ids[i], j = i;
        while (j > 0 && ids[j - 1] > v) {
            ids[j] = ids[j - 1];
            j--;
        }
        ids[j] = v;
    }
    int m = 0;
    for (int i = 0; i < n; i++)
        if (m == 0 || ids[m - 1] != ids[i])
            ids[m++] = ids[i];
    return m;
}

/* --------------------------------------------------------- link generation */

typedef struct gen_edge {
    uint64_t ge_key; /* parent index << 32 | child index */
    uint16_t ge_labels;
    uint8_t ge_primary;
} gen_edge;

typedef struct edge_vec {
    gen_edge *ev_items;
    size_t ev_len, ev_cap;
} edge_vec;

static int edge_push(edge_vec *v, uint32_t parent, uint32_t child, uint16_t labels, bool primary)
{
    if (v->ev_len == v->ev_cap) {
        size_t cap = v->ev_cap ? v->ev_cap * 2 : 4096;
        gen_edge *np = realloc(v->ev_items, cap * sizeof(*np));
        if (!np)
            return -1;
        v->ev_items = np;
        v->ev_cap = cap;
    }
    v->ev_items[v->ev_len++] =
        (gen_edge){((uint64_t)parent << 32) | child, labels, (uint8_t)primary};
    return 0;
}

static int edge_cmp(const void *a, const void *b)
{
    uint64_t x = ((const gen_edge *)a)->ge_key, y = ((const gen_edge *)b)->ge_key;
    return x < y ? -1 : x > y;
}

/* How many links a driver object draws: P(k) for k = 0, 1, 2, … */
typedef struct link_profile {
    bool lp_driver_is_child;
    double lp_p[6];
} link_profile;

static link_profile profile_of(hs_table pair)
{
    link_profile lp = {true, {0}};
    hs_object_type a = pair.t_parent, b = pair.t_child;
    const double *src;
    if (hs_table_is_engagement(pair)) {
        bool parent_is_engagement = hs_object(a)->oi_engagement;
        lp.lp_driver_is_child = !parent_is_engagement;
        src = sim_type_profile_of(parent_is_engagement ? b : a)->tp_engagement_links;
    } else {
        const sim_pair_profile *pp = sim_pair_profile_of(a, b);
        src = pp ? pp->pp_links : lp.lp_p; /* every CRM pair has a row (test_sim_profile) */
    }
    memcpy(lp.lp_p, src, sizeof(lp.lp_p));
    return lp;
}

static uint32_t draw_count(sim_rng *r, const link_profile *lp, double density)
{
    double u = sim_rng_unit(r), acc = 0;
    uint32_t k = 0;
    for (; k < 6; k++) {
        acc += lp->lp_p[k];
        if (u < acc)
            break;
    }
    if (k == 6)
        k = 0;
    /* Scale by density with stochastic rounding so the mean scales exactly. */
    double scaled = k * density;
    uint32_t whole = (uint32_t)scaled;
    return whole + (uint32_t)sim_rng_chance(r, scaled - whole);
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* A multiplier coprime with n, so i → (i * m + off) mod n is a permutation. */
static uint64_t coprime_step(sim_rng *r, uint64_t n)
{
    if (n <= 2)
        return 1;
    for (;;) {
        uint64_t m = n / 3 + sim_rng_below(r, n / 2 + 1);
        if (m > 0 && gcd64(m, n) == 1)
            return m;
    }
}

typedef struct skew {
    uint64_t sk_n, sk_mul, sk_off;
} skew;

/* Squared-uniform rank, scattered over the index space by a permutation. */
static uint32_t skew_pick(sim_rng *r, const skew *s)
{
    double u = sim_rng_unit(r);
    uint64_t rank = (uint64_t)(u * u * (double)s->sk_n);
    if (rank >= s->sk_n)
        rank = s->sk_n - 1;
    return (uint32_t)(((unsigned __int128)rank * s->sk_mul + s->sk_off) % s->sk_n);
}

static uint16_t draw_labels(sim_rng *r, const sim_table *t, double fraction)
{
    if (t->tb_nlabels == 0 || !sim_rng_chance(r, fraction))
        return 0;
    uint16_t m = (uint16_t)(1u << sim_rng_below(r, (uint64_t)t->tb_nlabels));
    if (sim_rng_chance(r, 0.1))
        m |= (uint16_t)(1u << sim_rng_below(r, (uint64_t)t->tb_nlabels));
    return m;
}

static int generate_edges(sim_portal *p, const sim_portal_config *c, sim_table *t, int index,
                          edge_vec *ev)
{
    const sim_objects *po = &p->p_obj[t->tb_pair.t_parent];
    const sim_objects *co = &p->p_obj[t->tb_pair.t_child];
    if (po->o_count == 0 || co->o_count == 0)
        return 0;
    sim_rng r;
    sim_rng_seed(&r, c->pc_seed, 1000 + (uint64_t)index);
    link_profile lp = profile_of(t->tb_pair);
    const sim_objects *driver = lp.lp_driver_is_child ? co : po;
    const sim_objects *target = lp.lp_driver_is_child ? po : co;
    skew sk = {target->o_count, coprime_step(&r, target->o_count),
               sim_rng_below(&r, target->o_count)};
    bool has_primary = t->tb_primary_fwd != 0;
    for (uint32_t d = 0; d < driver->o_count; d++) {
        uint32_t k = draw_count(&r, &lp, c->pc_density);
        if (driver->o_archived[d])
            continue;
        for (uint32_t j = 0; j < k; j++) {
            uint32_t other = skew_pick(&r, &sk);
            if (target->o_archived[other])
                continue;
            uint32_t parent = lp.lp_driver_is_child ? other : d;
            uint32_t child = lp.lp_driver_is_child ? d : other;
            /* The child's first company is its primary one (one per child). */
            bool primary = has_primary && j == 0;
            if (edge_push(ev, parent, child, draw_labels(&r, t, c->pc_label_fraction), primary))
                return -1;
        }
    }
    if (!hs_table_is_engagement(t->tb_pair) && po->o_live > 0) {
        for (uint32_t h = 0; h < c->pc_heavy_parents; h++) {
            uint32_t parent;
            do
                parent = (uint32_t)sim_rng_below(&r, po->o_count);
            while (po->o_archived[parent]);
            /* A stride coprime with the child count visits every child once:
             * walk it until the parent has its links or the children run out. */
            uint64_t step = coprime_step(&r, co->o_count);
            uint64_t start = sim_rng_below(&r, co->o_count);
            uint32_t added = 0;
            for (uint64_t j = 0; j < co->o_count && added < c->pc_heavy_links; j++) {
                uint32_t child = (uint32_t)((start + j * step) % co->o_count);
                if (co->o_archived[child])
                    continue;
                if (edge_push(ev, parent, child, draw_labels(&r, t, c->pc_label_fraction), false))
                    return -1;
                added++;
            }
        }
    }
    return 0;
}

/* Sorts and merges duplicate pairs, then lays the links out in both directions. */
static int build_adjacency(sim_portal *p, sim_table *t, edge_vec *ev)
{
    sim_objects *po = &p->p_obj[t->tb_pair.t_parent];
    sim_objects *co = &p->p_obj[t->tb_pair.t_child];
    if (ev->ev_len)
        qsort(ev->ev_items, ev->ev_len, sizeof(gen_edge), edge_cmp);
    size_t m = 0;
    for (size_t i = 0; i < ev->ev_len; i++) {
        gen_edge *e = &ev->ev_items[i];
        if (m > 0 && ev->ev_items[m - 1].ge_key == e->ge_key) {
            ev->ev_items[m - 1].ge_labels |= e->ge_labels;
            ev->ev_items[m - 1].ge_primary |= e->ge_primary;
        } else {
            ev->ev_items[m++] = *e;
        }
    }
    ev->ev_len = m;
    t->tb_links = m;
    t->tb_fwd = calloc(po->o_cap, sizeof(sim_adj));
    t->tb_rev = calloc(co->o_cap, sizeof(sim_adj));
    t->tb_block_fwd = malloc((m ? m : 1) * sizeof(sim_link));
    t->tb_block_rev = malloc((m ? m : 1) * sizeof(sim_link));
    if (!t->tb_fwd || !t->tb_rev || !t->tb_block_fwd || !t->tb_block_rev)
        return -1;
    for (size_t i = 0; i < m; i++) {
        gen_edge *e = &ev->ev_items[i];
        t->tb_fwd[e->ge_key >> 32].a_len++;
        t->tb_rev[(uint32_t)e->ge_key].a_len++;
    }
    size_t off = 0;
    for (uint32_t i = 0; i < po->o_count; i++) {
        t->tb_fwd[i].a_links = t->tb_block_fwd + off;
        off += t->tb_fwd[i].a_len;
        t->tb_fwd[i].a_len = 0;
    }
    off = 0;
    for (uint32_t i = 0; i < co->o_count; i++) {
        t->tb_rev[i].a_links = t->tb_block_rev + off;
        off += t->tb_rev[i].a_len;
        t->tb_rev[i].a_len = 0;
    }
    /* Edges are sorted by (parent, child): both sides come out sorted. */
    for (size_t i = 0; i < m; i++) {
        gen_edge *e = &ev->ev_items[i];
        uint32_t parent = (uint32_t)(e->ge_key >> 32), child = (uint32_t)e->ge_key;
        sim_adj *f = &t->tb_fwd[parent], *r = &t->tb_rev[child];
        f->a_links[f->a_len++] = (sim_link){child, e->ge_labels, e->ge_primary, 0};
        r->a_links[r->a_len++] = (sim_link){parent, e->ge_labels, e->ge_primary, 0};
    }
    return 0;
}

int sim_portal_create(const sim_portal_config *c, sim_portal **out)
{
    sim_portal *p = calloc(1, sizeof(*p));
    edge_vec ev = {0};
    if (!p)
        goto fail;
    sim_rng_seed(&p->p_rng, c->pc_seed, 7);
    sim_rng_seed(&p->p_rollup_rng, c->pc_seed, 8);
    sim_rollup_queue_init(&p->p_rollups);
    p->p_next_gap_seed = c->pc_seed;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        if (generate_objects(p, c, (hs_object_type)t))
            goto fail;
    /* Tables: the six core pairs first, then every engagement pair present. */
    for (int pass = 0; pass < 2; pass++) {
        for (int x = 0; x < HS_OBJECT_TYPE_COUNT; x++) {
            for (int y = x + 1; y < HS_OBJECT_TYPE_COUNT; y++) {
                hs_table pair;
                if (hs_table_of((hs_object_type)x, (hs_object_type)y, &pair) ||
                    hs_table_is_engagement(pair) != (pass == 1))
                    continue;
                if (c->pc_count[x] == 0 || c->pc_count[y] == 0)
                    continue;
                int idx = p->p_ntables++;
                table_init(&p->p_tables[idx], pair, idx, c);
            }
        }
    }
    sim_rollup_tally none;
    memset(&none, 0, sizeof(none));
    sim_portal_set_rollups(p, c, &none);
    for (int i = 0; i < p->p_ntables; i++) {
        ev.ev_len = 0;
        if (generate_edges(p, c, &p->p_tables[i], i, &ev) ||
            build_adjacency(p, &p->p_tables[i], &ev))
            goto fail;
    }
    free(ev.ev_items);
    *out = p;
    return 0;
fail:
    fprintf(stderr, "hubspot-sim: out of memory generating the portal\n");
    free(ev.ev_items);
    sim_portal_destroy(p);
    return -1;
}

static void adj_free_owned(sim_adj *a, uint32_t n)
{
    if (!a)
        return;
    for (uint32_t i = 0; i < n; i++)
        if (a[i].a_cap)
            free(a[i].a_links);
    free(a);
}

void sim_portal_destroy(sim_portal *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->p_ntables; i++) {
        sim_table *t = &p->p_tables[i];
        adj_free_owned(t->tb_fwd, p->p_obj[t->tb_pair.t_parent].o_count);
        adj_free_owned(t->tb_rev, p->p_obj[t->tb_pair.t_child].o_count);
        free(t->tb_block_fwd);
        free(t->tb_block_rev);
    }
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        objects_free(&p->p_obj[t]);
    sim_rollup_queue_free(&p->p_rollups);
    free(p);
}

/* ------------------------------------------------------------------ truth */

void sim_truth_tsv(const sim_portal *p, const sim_table *t, jbuf *out)
{
    const sim_objects *po = &p->p_obj[t->tb_pair.t_parent];
    const sim_objects *co = &p->p_obj[t->tb_pair.t_child];
    size_t name_len = strlen(t->tb_name);
    int ids[3 + SIM_MAX_LABELS];
    for (uint32_t i = 0; i < po->o_count; i++) {
        const sim_adj *a = &t->tb_fwd[i];
        for (uint32_t j = 0; j < a->a_len; j++) {
            const sim_link *l = &a->a_links[j];
            jb_raw(out, t->tb_name, name_len);
            jb_char(out, '\t');
            jb_u64(out, po->o_id[i]);
            jb_char(out, '\t');
            jb_u64(out, co->o_id[l->l_other]);
            jb_char(out, '\t');
            int n = sim_link_type_ids(t, false, l, ids);
            for (int k = 0; k < n; k++) {
                if (k)
                    jb_char(out, ',');
                jb_u64(out, (uint64_t)ids[k]);
            }
            jb_char(out, '\n');
        }
    }
}

void sim_truth_csv(const sim_portal *p, const sim_table *t, jbuf *out)
{
    const sim_objects *po = &p->p_obj[t->tb_pair.t_parent];
    const sim_objects *co = &p->p_obj[t->tb_pair.t_child];
    int ids[3 + SIM_MAX_LABELS];
    for (uint32_t i = 0; i < po->o_count; i++) {
        const sim_adj *a = &t->tb_fwd[i];
        for (uint32_t j = 0; j < a->a_len; j++) {
            const sim_link *l = &a->a_links[j];
            int n = sim_link_type_ids(t, false, l, ids);
            for (int k = 0; k < n; k++) {
                jb_printf(out, "%s,", t->tb_name);
                jb_u64(out, po->o_id[i]);
                jb_char(out, ',');
                jb_u64(out, co->o_id[l->l_other]);
                jb_printf(out, ",%d,", ids[k]);
                const char *label = NULL;
                bool user = false;
                if (ids[k] == t->tb_primary_fwd)
                    label = "Primary";
                for (int m = 0; m < t->tb_nlabels; m++)
                    if (ids[k] == t->tb_labels[m].lb_typeid_fwd) {
                        label = t->tb_labels[m].lb_name;
                        user = true;
                    }
                jb_printf(out, "%s,", user ? "USER_DEFINED" : "HUBSPOT_DEFINED");
                if (label)
                    jb_csv(out, label, strlen(label));
                jb_lit(out, "\r\n");
            }
        }
    }
}

int sim_rename_label(sim_table *t, const char *from, const char *to, int *type_id)
{
    size_t n = strlen(to);
    if (n == 0 || n >= sizeof(t->tb_labels[0].lb_name))
        return -1;
    for (int m = 0; m < t->tb_nlabels; m++) {
        sim_label *lb = &t->tb_labels[m];
        if (strcmp(lb->lb_name, from) == 0) {
            memcpy(lb->lb_name, to, n + 1);
            *type_id = lb->lb_typeid_fwd;
            return 0;
        }
    }
    return -1;
}

/* -------------------------------------------------------------- mutations */

/* Takes ownership of an adjacency list that still points into the block. */
static int adj_own(sim_adj *a, uint32_t extra)
{
    if (a->a_cap && a->a_len + extra <= a->a_cap)
        return 0;
    uint32_t cap = a->a_cap ? a->a_cap * 2 : a->a_len + 4;
    while (cap < a->a_len + extra)
        cap *= 2;
    sim_link *np = malloc((size_t)cap * sizeof(*np));
    if (!np)
        return -1;
    if (a->a_len)
        memcpy(np, a->a_links, (size_t)a->a_len * sizeof(*np));
    if (a->a_cap)
        free(a->a_links);
    a->a_links = np;
    a->a_cap = cap;
    return 0;
}

/* Position of `other` in a, or where it would go (*found tells). */
static uint32_t adj_search(const sim_adj *a, uint32_t other, bool *found)
{
    uint32_t lo = 0, hi = a->a_len;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (a->a_links[mid].l_other < other)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < a->a_len && a->a_links[lo].l_other == other;
    return lo;
}

static int adj_insert(sim_adj *a, sim_link l)
{
    bool found;
    uint32_t pos = adj_search(a, l.l_other, &found);
    if (found)
        return 1;
    if (adj_own(a, 1))
        return -1;
    memmove(&a->a_links[pos + 1], &a->a_links[pos], (size_t)(a->a_len - pos) * sizeof(sim_link));
    a->a_links[pos] = l;
    a->a_len++;
    return 0;
}

static void adj_remove(sim_adj *a, uint32_t other)
{
    bool found;
    uint32_t pos = adj_search(a, other, &found);
    if (!found)
        return;
    /* Removing from a block-backed list only shortens it: no copy needed. */
    memmove(&a->a_links[pos], &a->a_links[pos + 1],
            (size_t)(a->a_len - pos - 1) * sizeof(sim_link));
    a->a_len--;
}

static sim_link *adj_get(sim_adj *a, uint32_t other)
{
    bool found;
    uint32_t pos = adj_search(a, other, &found);
    return found ? &a->a_links[pos] : NULL;
}

/* Grows type t's arrays (and every adjacency index over t) by one object. */
static int objects_make_room(sim_portal *p, hs_object_type t)
{
    sim_objects *o = &p->p_obj[t];
    if (o->o_count < o->o_cap)
        return 0;
    uint32_t old_cap = o->o_cap, cap = old_cap * 2 + 1024;
    for (int i = 0; i < p->p_ntables; i++) {
        sim_table *tb = &p->p_tables[i];
        sim_adj **side = tb->tb_pair.t_parent == t  ? &tb->tb_fwd
                         : tb->tb_pair.t_child == t ? &tb->tb_rev
                                                    : NULL;
        if (!side)
            continue;
        sim_adj *np = realloc(*side, (size_t)cap * sizeof(sim_adj));
        if (!np)
            return -1;
        memset(np + old_cap, 0, (size_t)(cap - old_cap) * sizeof(sim_adj));
        *side = np;
    }
    return objects_reserve(o, cap);
}

typedef struct mut_ctx {
    sim_portal *mc_p;
    const sim_mutation_opts *mc_o;
    sim_mutation_result *mc_r;
    int64_t mc_ms; /* the write time of the current mutation */
} mut_ctx;

static void bump(mut_ctx *m, hs_object_type t, uint32_t idx)
{
    object_write(&m->mc_p->p_obj[t], idx, m->mc_ms, false, m->mc_o->mo_now_ms,
                 m->mc_o->mo_index_lag_ms);
    m->mc_r->mr_bumped++;
}

/* What an association change on a rollup table must know from before it:
 * whether it starts a recomputation, and then the values it compares with. */
typedef struct rollup_before {
    bool rb_schedule;
    sim_rollup_values rb_values;
} rollup_before;

static uint32_t table_index(const sim_portal *p, const sim_table *tb)
{
    return (uint32_t)(tb - p->p_tables);
}

/* Call before changing a link of `parent` in tb: in realistic mode, with no
 * recomputation pending for it, captures the parent's rollup values. */
static void rollup_before_change(mut_ctx *m, const sim_table *tb, uint32_t parent, rollup_before *b)
{
    b->rb_schedule = tb->tb_rollup && m->mc_o->mo_rollup.rm_mode == SIM_ROLLUP_REALISTIC &&
                     !sim_rollup_find(&m->mc_p->p_rollups, table_index(m->mc_p, tb), parent);
    if (b->rb_schedule)
        sim_rollup_values_of(tb, parent, tb->tb_rollup_labels, &b->rb_values);
}

/* A recomputation's delay: usually uniform in [min, max], sometimes a slow
 * one uniform in [max, tail]. */
static int64_t rollup_delay(sim_rng *r, const sim_rollup_model *rm)
{
    int64_t lo = rm->rm_delay_min_ms, hi = rm->rm_delay_max_ms;
    if (rm->rm_tail > 0 && rm->rm_tail_ms > hi && sim_rng_chance(r, rm->rm_tail)) {
        lo = hi;
        hi = rm->rm_tail_ms;
    }
    return hi > lo ? lo + (int64_t)sim_rng_below(r, (uint64_t)(hi - lo) + 1) : lo;
}

/* An association of `parent` in table tb changed (b: what
 * rollup_before_change saw before the change). Returns 0, or -1 when out of
 * memory (the change stands; its recomputation is not scheduled). */
static int association_changed(mut_ctx *m, sim_table *tb, uint32_t parent, const rollup_before *b)
{
    sim_portal *p = m->mc_p;
    uint32_t ti = table_index(p, tb);
    m->mc_r->mr_table_changes[ti]++;
    if (!tb->tb_rollup)
        return 0;
    const sim_rollup_model *rm = &m->mc_o->mo_rollup;
    if (rm->rm_mode == SIM_ROLLUP_ALWAYS)
        bump(m, tb->tb_pair.t_parent, parent);
    if (rm->rm_mode != SIM_ROLLUP_REALISTIC)
        return 0;
    if (!b->rb_schedule) {
        m->mc_r->mr_rollups.rt_coalesced++;
        return 0;
    }
    sim_rollup_job j = {m->mc_o->mo_now_ms + rollup_delay(&p->p_rollup_rng, rm), ti, parent,
                        b->rb_values};
    if (sim_rollup_push(&p->p_rollups, &j) < 0)
        return -1;
    m->mc_r->mr_rollups.rt_scheduled++;
    return 0;
}

/* A random live object of type t, or -1 after a few misses. */
static int64_t random_live(sim_portal *p, hs_object_type t)
{
    sim_objects *o = &p->p_obj[t];
    if (o->o_live == 0)
        return -1;
    for (int tries = 0; tries < 64; tries++) {
        uint32_t i = (uint32_t)sim_rng_below(&p->p_rng, o->o_count);
        if (!o->o_archived[i])
            return i;
    }
    return -1;
}

/* A random live parent of tb that has at least one link, or -1. */
static int64_t random_linked_parent(sim_portal *p, sim_table *tb)
{
    for (int tries = 0; tries < 256; tries++) {
        int64_t i = random_live(p, tb->tb_pair.t_parent);
        if (i >= 0 && tb->tb_fwd[i].a_len > 0)
            return i;
    }
    return -1;
}

static int link_add(sim_table *tb, uint32_t parent, uint32_t child, uint16_t labels)
{
    int rc = adj_insert(&tb->tb_fwd[parent], (sim_link){child, labels, 0, 0});
    if (rc != 0)
        return rc;
    if (adj_insert(&tb->tb_rev[child], (sim_link){parent, labels, 0, 0}) < 0) {
        adj_remove(&tb->tb_fwd[parent], child);
        return -1;
    }
    tb->tb_links++;
    return 0;
}

static void link_remove(sim_table *tb, uint32_t parent, uint32_t child)
{
    adj_remove(&tb->tb_fwd[parent], child);
    adj_remove(&tb->tb_rev[child], parent);
    tb->tb_links--;
}

static int mut_associate(mut_ctx *m, sim_table *tb)
{
    for (int tries = 0; tries < 16; tries++) {
        int64_t parent = random_live(m->mc_p, tb->tb_pair.t_parent);
        int64_t child = random_live(m->mc_p, tb->tb_pair.t_child);
        if (parent < 0 || child < 0)
            return 1;
        uint16_t labels = 0;
        if (tb->tb_nlabels && sim_rng_chance(&m->mc_p->p_rng, 0.3))
            labels = (uint16_t)(1u << sim_rng_below(&m->mc_p->p_rng, (uint64_t)tb->tb_nlabels));
        rollup_before b;
        rollup_before_change(m, tb, (uint32_t)parent, &b);
        int rc = link_add(tb, (uint32_t)parent, (uint32_t)child, labels);
        if (rc <= 0)
            return rc < 0 ? -1 : association_changed(m, tb, (uint32_t)parent, &b);
    }
    return 1;
}

static int mut_dissociate(mut_ctx *m, sim_table *tb)
{
    int64_t parent = random_linked_parent(m->mc_p, tb);
    if (parent < 0)
        return 1;
    sim_adj *a = &tb->tb_fwd[parent];
    uint32_t child = a->a_links[sim_rng_below(&m->mc_p->p_rng, a->a_len)].l_other;
    rollup_before b;
    rollup_before_change(m, tb, (uint32_t)parent, &b);
    link_remove(tb, (uint32_t)parent, child);
    return association_changed(m, tb, (uint32_t)parent, &b);
}

static int mut_relabel(mut_ctx *m, sim_table *tb)
{
    if (tb->tb_nlabels == 0)
        return 1;
    int64_t parent = random_linked_parent(m->mc_p, tb);
    if (parent < 0)
        return 1;
    sim_adj *f = &tb->tb_fwd[parent];
    uint32_t child = f->a_links[sim_rng_below(&m->mc_p->p_rng, f->a_len)].l_other;
    if (adj_own(f, 0) || adj_own(&tb->tb_rev[child], 0))
        return -1;
    uint16_t flip = (uint16_t)(1u << sim_rng_below(&m->mc_p->p_rng, (uint64_t)tb->tb_nlabels));
    rollup_before b;
    rollup_before_change(m, tb, (uint32_t)parent, &b);
    adj_get(f, child)->l_labels ^= flip;
    adj_get(&tb->tb_rev[child], (uint32_t)parent)->l_labels ^= flip;
    return association_changed(m, tb, (uint32_t)parent, &b);
}

static hs_object_type random_side(mut_ctx *m, sim_table *tb)
{
    return sim_rng_chance(&m->mc_p->p_rng, 0.5) ? tb->tb_pair.t_parent : tb->tb_pair.t_child;
}

/* Archiving removes the object from every table, in both directions; as a
 * parent it has no rollups left to recompute. */
static int mut_archive(mut_ctx *m, sim_table *tb)
{
    sim_portal *p = m->mc_p;
    hs_object_type t = random_side(m, tb);
    int64_t idx = random_live(p, t);
    if (idx < 0)
        return 1;
    int rc = 0;
    for (int i = 0; i < p->p_ntables; i++) {
        sim_table *x = &p->p_tables[i];
        bool is_parent = x->tb_pair.t_parent == t;
        if (!is_parent && x->tb_pair.t_child != t)
            continue;
        if (is_parent && sim_rollup_remove(&p->p_rollups, (uint32_t)i, (uint32_t)idx))
            m->mc_r->mr_rollups.rt_dropped++;
        sim_adj *mine = is_parent ? &x->tb_fwd[idx] : &x->tb_rev[idx];
        while (mine->a_len > 0) {
            uint32_t other = mine->a_links[mine->a_len - 1].l_other;
            if (is_parent) {
                link_remove(x, (uint32_t)idx, other);
                m->mc_r->mr_table_changes[i]++;
                continue;
            }
            rollup_before b;
            rollup_before_change(m, x, other, &b);
            link_remove(x, other, (uint32_t)idx);
            rc |= association_changed(m, x, other, &b);
        }
    }
    object_write(&p->p_obj[t], (uint32_t)idx, m->mc_ms, true, m->mc_o->mo_now_ms,
                 m->mc_o->mo_index_lag_ms);
    return rc;
}

static int mut_touch(mut_ctx *m, sim_table *tb)
{
    hs_object_type t = random_side(m, tb);
    int64_t idx = random_live(m->mc_p, t);
    if (idx < 0)
        return 1;
    bump(m, t, (uint32_t)idx);
    return 0;
}

static int mut_create(mut_ctx *m, sim_table *tb)
{
    sim_portal *p = m->mc_p;
    hs_object_type t = random_side(m, tb);
    sim_objects *o = &p->p_obj[t];
    if (objects_make_room(p, t))
        return -1;
    uint32_t idx = o->o_count;
    uint64_t last = idx ? o->o_id[idx - 1] : (uint64_t)(t + 1) * 10000000000ULL;
    o->o_id[idx] = last + id_gap(&p->p_rng);
    o->o_created_ms[idx] = m->mc_ms;
    o->o_modified_ms[idx] = m->mc_ms;
    o->o_archived[idx] = 0;
    o->o_search_ms[idx] = m->mc_ms;
    o->o_search_live[idx] = 0; /* not in the search index until the lag passes */
    memset(o->o_pending[idx], 0, sizeof(o->o_pending[idx]));
    o->o_count++;
    o->o_live++;
    index_write(o, idx, m->mc_o->mo_now_ms, m->mc_o->mo_index_lag_ms);
    bool is_parent = t == tb->tb_pair.t_parent;
    uint32_t links = is_parent ? 1 + (uint32_t)sim_rng_below(&p->p_rng, 3) : 1;
    for (uint32_t j = 0; j < links; j++) {
        int64_t other = random_live(p, is_parent ? tb->tb_pair.t_child : tb->tb_pair.t_parent);
        if (other < 0)
            break;
        uint32_t parent = is_parent ? idx : (uint32_t)other;
        uint32_t child = is_parent ? (uint32_t)other : idx;
        /* A new parent's own write already moved its last-modified time. */
        rollup_before b = {false, {0}};
        if (!is_parent)
            rollup_before_change(m, tb, parent, &b);
        int rc = link_add(tb, parent, child, 0);
        if (rc < 0)
            return -1;
        if (rc == 0 && is_parent)
            m->mc_r->mr_table_changes[table_index(p, tb)]++;
        else if (rc == 0 && association_changed(m, tb, parent, &b))
            return -1;
    }
    m->mc_r->mr_bumped++;
    return 0;
}

static int64_t write_time(mut_ctx *m, bool first)
{
    sim_portal *p = m->mc_p;
    const sim_mutation_opts *o = m->mc_o;
    int64_t ms = o->mo_now_ms;
    if (o->mo_same_ms && !first)
        ms = m->mc_ms;
    else if (p->p_last_write_ms > 0 && p->p_last_write_ms <= o->mo_now_ms &&
             o->mo_now_ms - p->p_last_write_ms <= SIM_SAME_MS_WITHIN_MS &&
             sim_rng_chance(&p->p_rng, o->mo_same_ms_chance))
        ms = p->p_last_write_ms;
    p->p_last_write_ms = ms;
    return ms;
}

int sim_mutate(sim_portal *p, const sim_mutation_opts *o, sim_mutation_result *r)
{
    memset(r, 0, sizeof(*r));
    int eligible[SIM_MAX_TABLES], ntab = 0;
    for (int i = 0; i < p->p_ntables; i++)
        if (o->mo_tables == 0 || (o->mo_tables & (1ULL << i)))
            eligible[ntab++] = i;
    int kinds[SIM_MUT_KIND_COUNT], nkinds = 0;
    for (int k = 0; k < SIM_MUT_KIND_COUNT; k++)
        if (o->mo_kinds == 0 || (o->mo_kinds & (1u << k)))
            kinds[nkinds++] = k;
    mut_ctx m = {p, o, r, 0};
    static int (*const apply[SIM_MUT_KIND_COUNT])(mut_ctx *, sim_table *) = {
        mut_associate, mut_dissociate, mut_relabel, mut_archive, mut_touch, mut_create,
    };
    for (uint32_t n = 0; n < o->mo_count && ntab > 0; n++) {
        m.mc_ms = write_time(&m, n == 0);
        if (n == 0)
            r->mr_first_ms = m.mc_ms;
        if (m.mc_ms < r->mr_first_ms)
            r->mr_first_ms = m.mc_ms;
        if (m.mc_ms > r->mr_last_ms)
            r->mr_last_ms = m.mc_ms;
        sim_table *tb = &p->p_tables[eligible[sim_rng_below(&p->p_rng, (uint64_t)ntab)]];
        int kind = kinds[sim_rng_below(&p->p_rng, (uint64_t)nkinds)];
        int rc = apply[kind](&m, tb);
        if (rc < 0)
            return -1;
        if (rc == 0)
            r->mr_applied[kind]++;
        else
            r->mr_skipped++;
    }
    return 0;
}

/* ---------------------------------------------------------------- rollups */

static bool same_pair(hs_table a, hs_table b)
{
    return a.t_parent == b.t_parent && a.t_child == b.t_child;
}

void sim_rollup_values_of(const sim_table *t, uint32_t parent, bool labels, sim_rollup_values *v)
{
    memset(v, 0, sizeof(*v));
    const sim_adj *a = &t->tb_fwd[parent];
    v->rv_count = a->a_len;
    v->rv_labels = labels;
    if (!labels)
        return;
    for (uint32_t j = 0; j < a->a_len; j++)
        for (uint16_t bits = a->a_links[j].l_labels; bits; bits &= (uint16_t)(bits - 1))
            v->rv_label[__builtin_ctz(bits)]++;
}

uint32_t sim_portal_recompute(sim_portal *p, const sim_rollup_model *m, int64_t index_lag_ms,
                              int64_t now_ms, sim_rollup_tally *t)
{
    uint32_t ran = 0;
    const sim_rollup_job *next;
    while ((next = sim_rollup_peek(&p->p_rollups)) && next->rj_due_ms <= now_ms) {
        sim_rollup_job j;
        sim_rollup_pop(&p->p_rollups, &j);
        const sim_table *tb = &p->p_tables[j.rj_table];
        sim_rollup_values after;
        sim_rollup_values_of(tb, j.rj_parent, j.rj_before.rv_labels, &after);
        ran++;
        t->rt_recomputed++;
        if (!sim_rollup_values_differ(&j.rj_before, &after)) {
            t->rt_unchanged++;
        } else if (m->rm_miss > 0 && sim_rng_chance(&p->p_rollup_rng, m->rm_miss)) {
            /* Real records show rollup writes that hs_lastmodifieddate never
             * reflected: a sync keyed on it cannot see these. */
            t->rt_missed++;
        } else {
            object_write(&p->p_obj[tb->tb_pair.t_parent], j.rj_parent, now_ms, false, now_ms,
                         index_lag_ms);
            t->rt_bumped++;
        }
    }
    return ran;
}

int64_t sim_portal_next_recompute_ms(const sim_portal *p)
{
    const sim_rollup_job *next = sim_rollup_peek(&p->p_rollups);
    return next ? next->rj_due_ms : INT64_MAX;
}

void sim_portal_set_rollups(sim_portal *p, const sim_portal_config *c, sim_rollup_tally *t)
{
    for (int i = 0; i < p->p_ntables; i++) {
        sim_table *tb = &p->p_tables[i];
        bool rollup = false, labels = false, lookalike = false;
        for (int k = 0; k < c->pc_nrollups; k++) {
            if (same_pair(c->pc_rollups[k].rd_table, tb->tb_pair)) {
                rollup = true;
                labels |= c->pc_rollups[k].rd_labels;
            }
        }
        for (int k = 0; k < c->pc_nlookalikes; k++)
            lookalike |= same_pair(c->pc_lookalikes[k], tb->tb_pair);
        if (tb->tb_rollup && !rollup)
            t->rt_dropped += sim_rollup_remove_table(&p->p_rollups, (uint32_t)i);
        else if (tb->tb_rollup_labels && !labels)
            sim_rollup_forget_labels(&p->p_rollups, (uint32_t)i);
        tb->tb_rollup = rollup;
        tb->tb_rollup_labels = labels;
        tb->tb_lookalike = lookalike;
    }
}

void sim_label_slug(const sim_label *lb, char *out, size_t n)
{
    size_t i = 0;
    for (const char *c = lb->lb_name; *c && i + 1 < n; c++) {
        char ch = *c;
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
            ch = '_';
        out[i++] = ch;
    }
    if (n)
        out[i] = '\0';
}

void sim_rollup_prop_name(const sim_table *t, int label, char *out, size_t n)
{
    const char *a = hs_object(t->tb_pair.t_parent)->oi_plural;
    const char *c = hs_object(t->tb_pair.t_child)->oi_plural;
    char slug[sizeof(t->tb_labels[0].lb_name)];
    if (label < 0)
        snprintf(slug, sizeof(slug), "count");
    else
        sim_label_slug(&t->tb_labels[label], slug, sizeof(slug));
    snprintf(out, n, "sync_assoc_%s_%s_%s", a, c, slug);
}
