/*
 * Tests of sim/sim_search: HubSpot's request limits (body size, groups,
 * filters, sorts, limit, the 10,000-result cap), and evaluation compared with
 * an independent brute-force oracle over random queries: AND within a group,
 * OR across groups, every operator, both sort directions with ties broken by
 * ID, offset paging, the true total, the index-lag view, archived records
 * never shown.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../../common/base/jbuf.h"
#include "../../sim/sim_rand.h"
#include "../../sim/sim_search.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static int parse(hs_object_type t, const char *body, sim_search_query *q, char *err, size_t n)
{
    err[0] = '\0';
    return sim_search_parse(t, body, strlen(body), q, err, n);
}

/* Runs `body` against p at now_ms; returns the parsed response or NULL. */
static json_object *search(const sim_portal *p, hs_object_type t, const char *body, int64_t now_ms)
{
    static sim_search_query q;
    char err[256];
    if (!CHECKF(parse(t, body, &q, err, sizeof(err)) == 0, "parse failed: %s for %s", err, body))
        return NULL;
    jbuf b;
    jb_init(&b);
    json_object *o = NULL;
    if (CHECK(sim_search_run(p, t, &q, now_ms, &b, NULL) == 0)) {
        o = json_tokener_parse(jb_cstr(&b));
        CHECKF(o != NULL, "response is not JSON: %.200s", jb_cstr(&b));
    }
    jb_free(&b);
    return o;
}

static int64_t total_of(json_object *o)
{
    json_object *v;
    return json_object_object_get_ex(o, "total", &v) ? json_object_get_int64(v) : -1;
}

/* The result IDs, in order (malloc'd, *n set). */
static uint64_t *result_ids(json_object *o, size_t *n)
{
    json_object *res;
    *n = 0;
    if (!json_object_object_get_ex(o, "results", &res) ||
        !json_object_is_type(res, json_type_array))
        return NULL;
    size_t len = json_object_array_length(res);
    uint64_t *ids = malloc((len + 1) * sizeof(*ids));
    if (!ids)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        json_object *id;
        json_object_object_get_ex(json_object_array_get_idx(res, i), "id", &id);
        ids[i] = strtoull(json_object_get_string(id), NULL, 10);
    }
    *n = len;
    return ids;
}

/* paging.next.after, or -1. */
static int64_t next_after(json_object *o)
{
    json_object *pg, *nx, *af;
    if (!json_object_object_get_ex(o, "paging", &pg) ||
        !json_object_object_get_ex(pg, "next", &nx) || !json_object_object_get_ex(nx, "after", &af))
        return -1;
    return strtoll(json_object_get_string(af), NULL, 10);
}

/* ------------------------------------------------------------- validation */

static void test_parse_defaults(void)
{
    static sim_search_query q;
    char err[256];
    REQUIRE(parse(HS_CONTACTS, "{}", &q, err, sizeof(err)) == 0);
    CHECK_EQ(q.q_limit, 10);
    CHECK_EQ(q.q_after, 0);
    CHECK_EQ(q.q_ngroups, 0);
    CHECK(!q.q_sorted);
    REQUIRE(parse(HS_CONTACTS,
                  "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"lastmodifieddate\","
                  "\"operator\":\"GTE\",\"value\":\"1700000000000\"}]}],\"sorts\":[{"
                  "\"propertyName\":\"lastmodifieddate\",\"direction\":\"DESCENDING\"}],"
                  "\"limit\":200,\"after\":\"9800\",\"properties\":[\"email\"]}",
                  &q, err, sizeof(err)) == 0);
    CHECK(q.q_ngroups == 1 && q.q_group_len[0] == 1);
    CHECK(q.q_filters[0][0].f_prop == SIM_PROP_LASTMODIFIED);
    CHECK(q.q_filters[0][0].f_op == SIM_OP_GTE);
    CHECK_EQ(q.q_filters[0][0].f_value, 1700000000000LL);
    CHECK(q.q_sorted && q.q_descending && q.q_sort_prop == SIM_PROP_LASTMODIFIED);
    CHECK(q.q_limit == 200 && q.q_after == 9800);
    CHECK(q.q_nprops == 1 && strcmp(q.q_props[0], "email") == 0);
    /* after as a number; the string sort forms; ISO-8601 values. */
    REQUIRE(parse(HS_DEALS,
                  "{\"after\":20,\"sorts\":[\"-hs_lastmodifieddate\"],\"filterGroups\":[{"
                  "\"filters\":[{\"propertyName\":\"hs_lastmodifieddate\",\"operator\":"
                  "\"BETWEEN\",\"value\":\"2024-01-17T19:55:04.281Z\",\"highValue\":"
                  "1705521304999}]}]}",
                  &q, err, sizeof(err)) == 0);
    CHECK(q.q_after == 20 && q.q_sorted && q.q_descending);
    CHECK(q.q_filters[0][0].f_value == 1705521304281LL &&
          q.q_filters[0][0].f_high == 1705521304999LL);
    REQUIRE(parse(HS_DEALS, "{\"sorts\":[\"createdate\"]}", &q, err, sizeof(err)) == 0);
    CHECK(q.q_sorted && !q.q_descending && q.q_sort_prop == SIM_PROP_CREATED);
    REQUIRE(parse(HS_DEALS,
                  "{\"sorts\":[{\"propertyName\":\"hs_object_id\"}],\"filterGroups\":[{"
                  "\"filters\":[{\"propertyName\":\"hs_object_id\",\"operator\":\"IN\","
                  "\"values\":[\"5\",6,\"7\"]}]}]}",
                  &q, err, sizeof(err)) == 0);
    CHECK(q.q_sorted && !q.q_descending && q.q_sort_prop == SIM_PROP_OBJECT_ID);
    CHECK(q.q_filters[0][0].f_nvalues == 3 && q.q_filters[0][0].f_values[1] == 6);
    /* hs_lastmodifieddate exists on contacts but is never set. */
    REQUIRE(parse(HS_CONTACTS,
                  "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"hs_lastmodifieddate\","
                  "\"operator\":\"GTE\",\"value\":\"0\"}]}]}",
                  &q, err, sizeof(err)) == 0);
    CHECK(q.q_filters[0][0].f_prop == SIM_PROP_UNSET);
done:
    return;
}

/* A body of n filters split into groups of `per_group`. */
static void filters_body(jbuf *b, int groups, int per_group)
{
    jb_lit(b, "{\"filterGroups\":[");
    for (int g = 0; g < groups; g++) {
        jb_printf(b, "%s{\"filters\":[", g ? "," : "");
        for (int f = 0; f < per_group; f++)
            jb_printf(b,
                      "%s{\"propertyName\":\"hs_object_id\",\"operator\":\"GT\",\"value\":\"%d\"}",
                      f ? "," : "", f);
        jb_lit(b, "]}");
    }
    jb_lit(b, "]}");
}

static void test_parse_limits(void)
{
    static sim_search_query q;
    char err[256];
    static const struct {
        int groups, per_group, ok;
    } shapes[] = {
        {5, 3, 1}, {6, 1, 0}, {1, 6, 1}, {1, 7, 0}, {3, 6, 1}, {4, 5, 0}, {5, 4, 0},
    };
    for (size_t i = 0; i < UT_COUNT(shapes); i++) {
        jbuf b;
        jb_init(&b);
        filters_body(&b, shapes[i].groups, shapes[i].per_group);
        int rc = parse(HS_CONTACTS, jb_cstr(&b), &q, err, sizeof(err));
        CHECKF(shapes[i].ok ? rc == 0 : rc == -1 && err[0], "%d groups x %d filters: rc %d (%s)",
               shapes[i].groups, shapes[i].per_group, rc, err);
        jb_free(&b);
    }
    /* Body size: 3,000 characters allowed, 3,001 not. */
    char body[3100];
    memset(body, ' ', sizeof(body));
    body[0] = '{';
    body[2999] = '}';
    body[3000] = '\0';
    CHECK(parse(HS_CONTACTS, body, &q, err, sizeof(err)) == 0);
    body[2999] = ' ';
    body[3000] = '}';
    body[3001] = '\0';
    CHECK(parse(HS_CONTACTS, body, &q, err, sizeof(err)) == -1 && err[0]);
}

static void test_parse_rejects(void)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"limit\":10",
        "{\"limit\":0}",
        "{\"limit\":201}",
        "{\"limit\":-1}",
        "{\"limit\":1.5}",
        "{\"limit\":\"ten\"}",
        "{\"after\":\"abc\"}",
        "{\"after\":-1}",
        "{\"after\":\"9991\"}",
        "{\"after\":9900,\"limit\":101}",
        "{\"after\":10000,\"limit\":1}",
        "{\"after\":\"100000000000\"}",
        "{\"sorts\":[\"createdate\",\"hs_object_id\"]}",
        "{\"sorts\":[{\"propertyName\":\"email\"}]}",
        "{\"sorts\":[{\"propertyName\":\"createdate\",\"direction\":\"UP\"}]}",
        "{\"sorts\":\"createdate\"}",
        "{\"sorts\":[5]}",
        "{\"filterGroups\":{}}",
        "{\"filterGroups\":[{}]}",
        "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"email\",\"operator\":\"EQ\","
        "\"value\":\"x\"}]}]}",
        "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"createdate\",\"operator\":\"LIKE\","
        "\"value\":\"1\"}]}]}",
        "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"createdate\",\"operator\":\"EQ\"}]}]"
        "}",
        "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"createdate\",\"operator\":"
        "\"BETWEEN\",\"value\":\"1\"}]}]}",
        "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"createdate\",\"operator\":\"IN\"}]}]"
        "}",
        "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"createdate\",\"operator\":\"IN\","
        "\"values\":[]}]}]}",
        "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"createdate\",\"operator\":\"EQ\","
        "\"value\":\"yesterday\"}]}]}",
        "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"hs_object_id\",\"operator\":\"EQ\","
        "\"value\":\"-5\"}]}]}",
        "{\"filterGroups\":[{\"filters\":[{\"operator\":\"EQ\",\"value\":\"1\"}]}]}",
        "{\"filterGroups\":[{\"filters\":[\"createdate\"]}]}",
        "{\"properties\":\"email\"}",
        "{\"properties\":[1]}",
        "{\"query\":5}",
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        static sim_search_query q;
        char err[256];
        int rc = parse(HS_CONTACTS, bad[i], &q, err, sizeof(err));
        CHECKF(rc == -1 && err[0], "accepted: %s", bad[i]);
    }
    /* Each type's own last-modified property only. */
    static sim_search_query q;
    char err[256];
    CHECK(parse(HS_COMPANIES, "{\"sorts\":[\"lastmodifieddate\"]}", &q, err, sizeof(err)) == -1);
    CHECK(parse(HS_CONTACTS, "{\"sorts\":[\"lastmodifieddate\"]}", &q, err, sizeof(err)) == 0);
    CHECK(parse(HS_TICKETS, "{\"sorts\":[\"hs_lastmodifieddate\"]}", &q, err, sizeof(err)) == 0);
    CHECK(parse(HS_CONTACTS, "{\"after\":9990,\"limit\":10}", &q, err, sizeof(err)) == 0);
    CHECK(parse(HS_CONTACTS, "{\"after\":null}", &q, err, sizeof(err)) == 0);
}

/* ----------------------------------------------------------- the oracle */

typedef struct o_filter {
    sim_prop of_prop;
    sim_op of_op;
    int64_t of_value, of_high;
    int of_n;
    int64_t of_values[4];
} o_filter;

typedef struct o_query {
    int oq_ngroups;
    int oq_len[3];
    o_filter oq_f[3][3];
    bool oq_sorted, oq_desc;
    sim_prop oq_sort;
    uint32_t oq_limit, oq_after;
} o_query;

static const char *const op_text[] = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
};

static int64_t o_value(const sim_objects *o, uint32_t i, sim_prop prop, int64_t modified)
{
    return prop == SIM_PROP_OBJECT_ID ? (int64_t)o->o_id[i]
           : prop == SIM_PROP_CREATED ? o->o_created_ms[i]
                                      : modified;
}

static bool o_filter_matches(const o_filter *f, int64_t v)
{
    switch (f->of_op) {
    case SIM_OP_EQ:
        return v == f->of_value;
    case SIM_OP_NEQ:
        return v != f->of_value;
    case SIM_OP_LT:
        return v < f->of_value;
    case SIM_OP_LTE:
        return v <= f->of_value;
    case SIM_OP_GT:
        return v > f->of_value;
    case SIM_OP_GTE:
        return v >= f->of_value;
    case SIM_OP_BETWEEN:
        return f->of_value <= v && v <= f->of_high;
    case SIM_OP_IN:
    case SIM_OP_NOT_IN: {
        bool in = false;
        for (int k = 0; k < f->of_n; k++)
            in |= v == f->of_values[k];
        return (f->of_op == SIM_OP_IN) == in;
    }
    case SIM_OP_HAS:
        return true;
    case SIM_OP_NOT_HAS:
        return false;
    }
    return false;
}

typedef struct o_hit {
    int64_t h_key;
    uint64_t h_id;
    bool h_desc;
} o_hit;

static int o_hit_cmp(const void *a, const void *b)
{
    const o_hit *x = a, *y = b;
    if (x->h_key != y->h_key)
        return (x->h_key < y->h_key) == !x->h_desc ? -1 : 1;
    return x->h_id < y->h_id ? -1 : x->h_id > y->h_id;
}

/* Every match of q at now_ms in result order (malloc'd). */
static o_hit *o_run(const sim_objects *o, const o_query *q, int64_t now_ms, size_t *n)
{
    o_hit *hits = malloc(((size_t)o->o_count + 1) * sizeof(*hits));
    *n = 0;
    if (!hits)
        return NULL;
    for (uint32_t i = 0; i < o->o_count; i++) {
        int64_t modified;
        if (!sim_search_view(o, i, now_ms, &modified))
            continue;
        bool any = q->oq_ngroups == 0;
        for (int g = 0; g < q->oq_ngroups && !any; g++) {
            bool all = true;
            for (int k = 0; k < q->oq_len[g]; k++)
                all &= o_filter_matches(&q->oq_f[g][k],
                                        o_value(o, i, q->oq_f[g][k].of_prop, modified));
            any = all;
        }
        if (!any)
            continue;
        sim_prop sort = q->oq_sorted ? q->oq_sort : SIM_PROP_OBJECT_ID;
        hits[(*n)++] = (o_hit){o_value(o, i, sort, modified), o->o_id[i], q->oq_desc};
    }
    qsort(hits, *n, sizeof(*hits), o_hit_cmp);
    return hits;
}

static const char *prop_text(hs_object_type t, sim_prop p)
{
    return p == SIM_PROP_OBJECT_ID ? "hs_object_id"
           : p == SIM_PROP_CREATED ? "createdate"
                                   : hs_object(t)->oi_lastmod;
}

/* A value written in one of the accepted forms. */
static void write_value(jbuf *b, sim_rng *r, sim_prop prop, int64_t v)
{
    uint64_t form = sim_rng_below(r, 3);
    if (form == 0) {
        jb_i64(b, v);
    } else if (form == 1 || prop == SIM_PROP_OBJECT_ID) {
        jb_char(b, '"');
        jb_i64(b, v);
        jb_char(b, '"');
    } else {
        jb_iso8601_ms(b, v);
    }
}

/* A value near a random live object's, so filters select something. */
static int64_t pick_value(sim_rng *r, const sim_objects *o, sim_prop prop, int64_t now_ms)
{
    uint32_t i = (uint32_t)sim_rng_below(r, o->o_count);
    int64_t m;
    if (!sim_search_view(o, i, now_ms, &m))
        m = o->o_modified_ms[i];
    int64_t v = o_value(o, i, prop, m);
    uint64_t u = sim_rng_below(r, 4);
    return u == 0 ? v - 1 : u == 1 ? v + 1 : v;
}

static void random_query(sim_rng *r, hs_object_type t, const sim_objects *o, int64_t now_ms,
                         o_query *q, jbuf *b)
{
    memset(q, 0, sizeof(*q));
    q->oq_ngroups = (int)sim_rng_below(r, 4);
    jb_lit(b, "{\"filterGroups\":[");
    for (int g = 0; g < q->oq_ngroups; g++) {
        q->oq_len[g] = 1 + (int)sim_rng_below(r, 3);
        jb_printf(b, "%s{\"filters\":[", g ? "," : "");
        for (int k = 0; k < q->oq_len[g]; k++) {
            o_filter *f = &q->oq_f[g][k];
            f->of_prop = (sim_prop)sim_rng_below(r, 3);
            f->of_op = (sim_op)sim_rng_below(r, 11);
            jb_printf(b, "%s{\"propertyName\":\"%s\",\"operator\":\"%s\"", k ? "," : "",
                      prop_text(t, f->of_prop), op_text[f->of_op]);
            if (f->of_op == SIM_OP_IN || f->of_op == SIM_OP_NOT_IN) {
                f->of_n = 1 + (int)sim_rng_below(r, 4);
                jb_lit(b, ",\"values\":[");
                for (int v = 0; v < f->of_n; v++) {
                    f->of_values[v] = pick_value(r, o, f->of_prop, now_ms);
                    if (v)
                        jb_char(b, ',');
                    write_value(b, r, f->of_prop, f->of_values[v]);
                }
                jb_char(b, ']');
            } else if (f->of_op != SIM_OP_HAS && f->of_op != SIM_OP_NOT_HAS) {
                f->of_value = pick_value(r, o, f->of_prop, now_ms);
                jb_lit(b, ",\"value\":");
                write_value(b, r, f->of_prop, f->of_value);
                if (f->of_op == SIM_OP_BETWEEN) {
                    f->of_high = f->of_value + (int64_t)sim_rng_below(r, 1ULL << 36);
                    if (f->of_prop == SIM_PROP_OBJECT_ID)
                        f->of_high = f->of_value + (int64_t)sim_rng_below(r, 1000000);
                    jb_lit(b, ",\"highValue\":");
                    write_value(b, r, f->of_prop, f->of_high);
                }
            }
            jb_char(b, '}');
        }
        jb_lit(b, "]}");
    }
    jb_char(b, ']');
    uint64_t s = sim_rng_below(r, 4);
    if (s) {
        q->oq_sorted = true;
        q->oq_sort = (sim_prop)sim_rng_below(r, 3);
        q->oq_desc = sim_rng_chance(r, 0.5);
        if (s == 1)
            jb_printf(b, ",\"sorts\":[\"%s%s\"]", q->oq_desc ? "-" : "", prop_text(t, q->oq_sort));
        else
            jb_printf(b, ",\"sorts\":[{\"propertyName\":\"%s\",\"direction\":\"%s\"}]",
                      prop_text(t, q->oq_sort), q->oq_desc ? "DESCENDING" : "ASCENDING");
    }
    q->oq_limit = 1 + (uint32_t)sim_rng_below(r, 200);
    q->oq_after = sim_rng_chance(r, 0.5) ? 0 : (uint32_t)sim_rng_below(r, 400);
    jb_printf(b, ",\"limit\":%u,\"after\":\"%u\"}", q->oq_limit, q->oq_after);
}

/* Compares one search with the oracle; returns false (and says why) on a
 * difference. */
static bool compare_with_oracle(const sim_portal *p, hs_object_type t, const o_query *q,
                                const char *body, int64_t now_ms, size_t *matches)
{
    const sim_objects *o = &p->p_obj[t];
    size_t nhits = 0, nres = 0;
    o_hit *hits = o_run(o, q, now_ms, &nhits);
    json_object *resp = search(p, t, body, now_ms);
    uint64_t *ids = resp ? result_ids(resp, &nres) : NULL;
    bool ok = hits && resp && (ids || nres == 0);
    const char *why = ok ? NULL : "no response";
    if (ok && total_of(resp) != (int64_t)nhits) {
        ok = false;
        why = "total";
    }
    size_t want_n = nhits > q->oq_after ? nhits - q->oq_after : 0;
    if (want_n > q->oq_limit)
        want_n = q->oq_limit;
    if (ok && nres != want_n) {
        ok = false;
        why = "number of results";
    }
    for (size_t i = 0; ok && i < nres; i++)
        if (ids[i] != hits[q->oq_after + i].h_id) {
            ok = false;
            why = "order or content";
        }
    int64_t want_next =
        (uint64_t)q->oq_after + q->oq_limit < nhits ? (int64_t)q->oq_after + q->oq_limit : -1;
    if (ok && next_after(resp) != want_next) {
        ok = false;
        why = "paging.next.after";
    }
    *matches = nhits;
    if (!ok)
        fprintf(stderr,
                "\n    search differs from oracle (%s): total %" PRId64 " vs %zu, %zu "
                "results vs %zu: %s",
                why, resp ? total_of(resp) : -1, nhits, nres, want_n, body);
    free(hits);
    free(ids);
    json_object_put(resp);
    return ok;
}

/* Random queries against a portal whose index lags behind recent writes. */
static void test_random_queries_vs_oracle(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 41);
    sim_portal *p = ut_portal_new(&c);
    REQUIRE(p != NULL);
    /* Recent writes, some not yet visible at `now`. */
    int64_t now = UT_NOW_MS + 100000;
    sim_mutation_opts mo;
    memset(&mo, 0, sizeof(mo));
    mo.mo_count = 400;
    mo.mo_index_lag_ms = 5000;
    mo.mo_same_ms_chance = 0.3;
    mo.mo_now_ms = now - 20000;
    sim_mutation_result mr;
    REQUIRE(sim_mutate(p, &mo, &mr) == 0);
    mo.mo_now_ms = now - 2000;
    REQUIRE(sim_mutate(p, &mo, &mr) == 0);
    sim_rng r;
    sim_rng_seed(&r, 4242, 0);
    unsigned bad = 0, selective = 0;
    static const hs_object_type types[] = {HS_CONTACTS, HS_COMPANIES, HS_DEALS, HS_TICKETS};
    for (int i = 0; i < 400; i++) {
        hs_object_type t = types[i % 4];
        o_query q;
        jbuf b;
        jb_init(&b);
        random_query(&r, t, &p->p_obj[t], now, &q, &b);
        size_t matches = 0;
        bool same = compare_with_oracle(p, t, &q, jb_cstr(&b), now, &matches);
        selective += matches > 0 && matches < p->p_obj[t].o_live;
        if (!same && bad++ > 5) {
            jb_free(&b);
            break;
        }
        jb_free(&b);
    }
    CHECK_EQ(bad, 0);
done:
    sim_portal_destroy(p);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Walking every page of a sort on a property with many equal values (a
 * same-millisecond import) yields each match exactly once. */
static void test_paging_through_ties(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 42);
    sim_portal *p = ut_portal_new(&c);
    uint64_t *seen = NULL;
    REQUIRE(p != NULL);
    /* 300 writes sharing one millisecond. */
    sim_mutation_opts mo;
    memset(&mo, 0, sizeof(mo));
    mo.mo_count = 300;
    mo.mo_kinds = 1u << SIM_MUT_TOUCH;
    mo.mo_same_ms = true;
    mo.mo_now_ms = UT_NOW_MS + 1000;
    sim_mutation_result mr;
    REQUIRE(sim_mutate(p, &mo, &mr) == 0);
    const sim_objects *o = &p->p_obj[HS_CONTACTS];
    uint32_t live = o->o_live;
    seen = calloc(live + 1, sizeof(*seen));
    REQUIRE(seen != NULL);
    size_t nseen = 0;
    int64_t prev_key = INT64_MAX;
    uint64_t prev_id = 0;
    unsigned order_bad = 0;
    for (uint32_t after = 0;; after += 200) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"sorts\":[{\"propertyName\":\"lastmodifieddate\",\"direction\":"
                 "\"DESCENDING\"}],\"limit\":200,\"after\":%u}",
                 after);
        json_object *resp = search(p, HS_CONTACTS, body, UT_NOW_MS + 1000);
        REQUIRE(resp != NULL);
        CHECK_EQ(total_of(resp), live);
        json_object *res;
        json_object_object_get_ex(resp, "results", &res);
        size_t n = json_object_array_length(res);
        for (size_t i = 0; i < n && nseen < live; i++) {
            json_object *e = json_object_array_get_idx(res, i), *id, *props, *lm;
            json_object_object_get_ex(e, "id", &id);
            json_object_object_get_ex(e, "properties", &props);
            json_object_object_get_ex(props, "lastmodifieddate", &lm);
            int64_t key = -1;
            parse_iso8601_ms(json_object_get_string(lm), strlen(json_object_get_string(lm)), &key);
            uint64_t v = strtoull(json_object_get_string(id), NULL, 10);
            order_bad += key > prev_key || (key == prev_key && v <= prev_id);
            prev_key = key;
            prev_id = v;
            seen[nseen++] = v;
        }
        int64_t next = next_after(resp);
        json_object_put(resp);
        if (next < 0)
            break;
        REQUIRE_EQ(next, after + 200);
    }
    CHECK_EQ(nseen, live);
    CHECK_EQ(order_bad, 0);
    /* Each live contact exactly once. */
    qsort(seen, nseen, sizeof(*seen), cmp_u64);
    unsigned dups = 0;
    for (size_t i = 0; i < nseen; i++) {
        uint32_t idx;
        dups += i && seen[i] == seen[i - 1];
        dups += sim_object_find(p, HS_CONTACTS, seen[i], &idx) != 0 || o->o_archived[idx];
    }
    CHECK_EQ(dups, 0);
done:
    free(seen);
    sim_portal_destroy(p);
}

/* The search index's view: a write within the lag is not seen (neither by
 * its filter nor in the returned last-modified), archived records never. */
static void test_search_sees_lagging_index(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 43);
    sim_portal *p = ut_portal_new(&c);
    json_object *resp = NULL;
    REQUIRE(p != NULL);
    const int64_t now = UT_NOW_MS + 50000, lag = 3000;
    sim_mutation_opts mo;
    memset(&mo, 0, sizeof(mo));
    mo.mo_count = 50;
    mo.mo_kinds = 1u << SIM_MUT_TOUCH;
    mo.mo_tables = 0;
    mo.mo_index_lag_ms = lag;
    mo.mo_now_ms = now;
    mo.mo_same_ms = true;
    sim_mutation_result mr;
    REQUIRE(sim_mutate(p, &mo, &mr) == 0);
    char body[256];
    snprintf(body, sizeof(body),
             "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"hs_lastmodifieddate\","
             "\"operator\":\"EQ\",\"value\":\"%" PRId64 "\"}]}],\"limit\":100}",
             now);
    resp = search(p, HS_COMPANIES, body, now);
    REQUIRE(resp != NULL);
    CHECK_EQ(total_of(resp), 0);
    json_object_put(resp);
    resp = search(p, HS_COMPANIES, body, now + lag);
    REQUIRE(resp != NULL);
    uint32_t touched = 0;
    for (uint32_t i = 0; i < p->p_obj[HS_COMPANIES].o_count; i++)
        touched += p->p_obj[HS_COMPANIES].o_modified_ms[i] == now;
    CHECK(touched > 0);
    CHECK_EQ(total_of(resp), touched);
    json_object_put(resp);
    /* Archived records: never, whatever the filter. */
    resp = search(p, HS_COMPANIES, "{\"limit\":1}", now + lag);
    REQUIRE(resp != NULL);
    CHECK_EQ(total_of(resp), p->p_obj[HS_COMPANIES].o_live);
    json_object_put(resp);
    /* hs_lastmodifieddate on contacts matches nothing; NOT_HAS_PROPERTY everything. */
    resp = search(p, HS_CONTACTS,
                  "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"hs_lastmodifieddate\","
                  "\"operator\":\"GTE\",\"value\":\"0\"}]}]}",
                  now + lag);
    REQUIRE(resp != NULL);
    CHECK_EQ(total_of(resp), 0);
    json_object_put(resp);
    resp = search(p, HS_CONTACTS,
                  "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"hs_lastmodifieddate\","
                  "\"operator\":\"HAS_PROPERTY\"}]}]}",
                  now + lag);
    REQUIRE(resp != NULL);
    CHECK_EQ(total_of(resp), 0);
done:
    json_object_put(resp);
    sim_portal_destroy(p);
}

/* More than 10,000 matches: the last allowed page, and a next offset that
 * will be refused. */
static void test_ten_thousand_cap(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 44);
    c.pc_count[HS_CONTACTS] = 12000;
    sim_portal *p = ut_portal_new(&c);
    json_object *resp = NULL;
    REQUIRE(p != NULL);
    resp = search(p, HS_CONTACTS, "{\"limit\":10,\"after\":\"9990\"}", UT_NOW_MS);
    REQUIRE(resp != NULL);
    CHECK_EQ(total_of(resp), p->p_obj[HS_CONTACTS].o_live);
    size_t n = 0;
    uint64_t *ids = result_ids(resp, &n);
    CHECK_EQ(n, 10);
    /* Unsorted: ID order, so the 9,991st live contact comes first. */
    uint32_t k = 0, i = 0;
    for (; i < p->p_obj[HS_CONTACTS].o_count; i++)
        if (!p->p_obj[HS_CONTACTS].o_archived[i] && k++ == 9990)
            break;
    CHECK(ids && n > 0 && ids[0] == p->p_obj[HS_CONTACTS].o_id[i]);
    free(ids);
    CHECK_EQ(next_after(resp), 10000);
    static sim_search_query q;
    char err[256];
    CHECK(parse(HS_CONTACTS, "{\"limit\":10,\"after\":\"10000\"}", &q, err, sizeof(err)) == -1);
done:
    json_object_put(resp);
    sim_portal_destroy(p);
}

/* Requested properties reach the rendered results. */
static void test_properties_in_results(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 45);
    sim_portal *p = ut_portal_new(&c);
    json_object *resp = NULL;
    REQUIRE(p != NULL);
    resp = search(p, HS_CONTACTS, "{\"limit\":3,\"properties\":[\"email\"]}", UT_NOW_MS);
    REQUIRE(resp != NULL);
    json_object *res, *props;
    json_object_object_get_ex(resp, "results", &res);
    REQUIRE(json_object_array_length(res) == 3);
    json_object_object_get_ex(json_object_array_get_idx(res, 0), "properties", &props);
    CHECK(json_object_object_get_ex(props, "email", NULL));
    CHECK(!json_object_object_get_ex(props, "firstname", NULL));
    CHECK(json_object_object_get_ex(props, "lastmodifieddate", NULL));
done:
    json_object_put(resp);
    sim_portal_destroy(p);
}

int unit_suite_sim_search(void)
{
    static const ut_test tests[] = {
        {"parse: defaults and every accepted form", test_parse_defaults},
        {"parse: groups, filters, body size limits", test_parse_limits},
        {"parse: rejects invalid requests", test_parse_rejects},
        {"400 random queries vs brute-force oracle", test_random_queries_vs_oracle},
        {"paging through ties: each match once", test_paging_through_ties},
        {"search sees the lagging index", test_search_sees_lagging_index},
        {"10,000-result cap", test_ten_thousand_cap},
        {"requested properties in results", test_properties_in_results},
    };
    return ut_add_suite("sim_search", tests, UT_COUNT(tests));
}
