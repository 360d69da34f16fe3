/*
 * it_search — POST /crm/v3/objects/{t}/search (docs/SIMULATOR.md, Search): every
 * operator on the filterable properties, AND within a group and OR across
 * groups, sorting, `total`, the request limits and the 10,000-result cap.
 *
 * Expected answers come from the list endpoint: every live object with its
 * ID, createdate and last-modified time, filtered here with the same
 * predicate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/base/hs_types.h"
#include "../../common/base/jbuf.h"
#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_suites.h"

#define PORTAL_ARGS                                                                                \
    "--contacts", "600", "--companies", "300", "--deals", "100", "--tickets", "50",                \
        "--heavy-parents", "0", "--tier", "unlimited"

enum { MAX_VALUES = 4 };

/* One filter, as the test writes it and evaluates it. */
typedef struct filter {
    const char *f_prop; /* "hs_object_id", "createdate", or the last-modified one */
    const char *f_op;
    int64_t f_value, f_high;
    int f_nvalues;
    int64_t f_values[MAX_VALUES];
    bool f_iso; /* write datetime values as ISO-8601 instead of ms */
} filter;

static const char *lastmod_of(const char *type)
{
    hs_object_type t;
    return hs_object_parse(type, strlen(type), &t) == 0 ? hs_object(t)->oi_lastmod : "?";
}

/* The filter's property value of `o`. */
static int64_t value_of(const tl_object *o, const char *prop)
{
    if (strcmp(prop, "hs_object_id") == 0)
        return (int64_t)o->o_id;
    if (strcmp(prop, "createdate") == 0)
        return o->o_created_ms;
    return o->o_modified_ms;
}

static bool matches(const filter *f, const tl_object *o)
{
    int64_t v = value_of(o, f->f_prop);
    const char *op = f->f_op;
    bool in = false;
    for (int i = 0; i < f->f_nvalues; i++)
        in |= v == f->f_values[i];
    if (!strcmp(op, "EQ"))
        return v == f->f_value;
    if (!strcmp(op, "NEQ"))
        return v != f->f_value;
    if (!strcmp(op, "LT"))
        return v < f->f_value;
    if (!strcmp(op, "LTE"))
        return v <= f->f_value;
    if (!strcmp(op, "GT"))
        return v > f->f_value;
    if (!strcmp(op, "GTE"))
        return v >= f->f_value;
    if (!strcmp(op, "BETWEEN"))
        return v >= f->f_value && v <= f->f_high;
    if (!strcmp(op, "IN"))
        return in;
    if (!strcmp(op, "NOT_IN"))
        return !in;
    if (!strcmp(op, "HAS_PROPERTY"))
        return true;
    return false; /* NOT_HAS_PROPERTY: every object has these properties */
}

static bool is_datetime(const char *prop)
{
    return strcmp(prop, "hs_object_id") != 0;
}

static void value_json(jbuf *b, const filter *f, int64_t v)
{
    if (f->f_iso && is_datetime(f->f_prop))
        jb_iso8601_ms(b, v);
    else
        jb_printf(b, "\"%lld\"", (long long)v);
}

static void filter_json(jbuf *b, const filter *f)
{
    jb_lit(b, "{\"propertyName\":");
    jb_str(b, f->f_prop);
    jb_lit(b, ",\"operator\":");
    jb_str(b, f->f_op);
    if (!strcmp(f->f_op, "IN") || !strcmp(f->f_op, "NOT_IN")) {
        jb_lit(b, ",\"values\":[");
        for (int i = 0; i < f->f_nvalues; i++) {
            if (i)
                jb_char(b, ',');
            value_json(b, f, f->f_values[i]);
        }
        jb_char(b, ']');
    } else if (strcmp(f->f_op, "HAS_PROPERTY") && strcmp(f->f_op, "NOT_HAS_PROPERTY")) {
        jb_lit(b, ",\"value\":");
        value_json(b, f, f->f_value);
        if (!strcmp(f->f_op, "BETWEEN")) {
            jb_lit(b, ",\"highValue\":");
            value_json(b, f, f->f_high);
        }
    }
    jb_char(b, '}');
}

/* groups[g] has lens[g] filters. */
static void groups_json(jbuf *b, const filter *const *groups, const int *lens, int ngroups)
{
    jb_lit(b, "[");
    for (int g = 0; g < ngroups; g++) {
        if (g)
            jb_char(b, ',');
        jb_lit(b, "{\"filters\":[");
        for (int i = 0; i < lens[g]; i++) {
            if (i)
                jb_char(b, ',');
            filter_json(b, &groups[g][i]);
        }
        jb_lit(b, "]}");
    }
    jb_lit(b, "]");
}

/* Pages through a search (limit 200) collecting every result in order.
 * `groups` and `sorts` are JSON texts (NULL: left out). Checks each page's
 * shape. Returns false when a page is not a 200 with the right shape. */
static bool search_all(tl_sim *s, const char *type, const char *groups, const char *sorts,
                       tl_objects *out, int64_t *total)
{
    const char *lastmod = lastmod_of(type);
    char path[96];
    snprintf(path, sizeof(path), "/crm/v3/objects/%s/search", type);
    memset(out, 0, sizeof(*out));
    *total = -1;
    int64_t after = 0;
    for (;;) {
        jbuf b;
        jb_init(&b);
        jb_printf(&b, "{\"properties\":[\"createdate\",\"%s\"],\"limit\":200,\"after\":\"%lld\"",
                  lastmod, (long long)after);
        if (groups)
            jb_printf(&b, ",\"filterGroups\":%s", groups);
        if (sorts)
            jb_printf(&b, ",\"sorts\":%s", sorts);
        jb_char(&b, '}');
        tl_resp r;
        tl_post_json(s, path, TL_TOKEN, jb_cstr(&b), &r);
        json_object *j = tl_resp_json(&r);
        bool ok = r.r_status == 200 && j && tl_jint(j, "total", false, total);
        if (!ok) {
            fprintf(stderr, "    search body: %s\n", jb_cstr(&b));
            tl_resp_dump("search", &r);
        }
        jb_free(&b);
        size_t n = tl_jlen(j, "results");
        for (size_t i = 0; ok && i < n; i++) {
            json_object *item = json_object_array_get_idx(tl_jget(j, "results"), i);
            const char *id = tl_jstr(item, "id");
            char prop[64];
            snprintf(prop, sizeof(prop), "properties.%s", lastmod);
            const char *mod = tl_jstr(item, prop);
            tl_object o = {.o_modified_ms = -1, .o_created_ms = -1};
            ok = CHECKF(id && tl_parse_u64(id, strlen(id), &o.o_id), "result id") &&
                 CHECK_STR(tl_jstr(item, "properties.hs_object_id"), id);
            if (mod)
                parse_iso8601_ms(mod, strlen(mod), &o.o_modified_ms);
            ok = ok && tl_objects_add(out, &o) == 0;
        }
        const char *next = tl_jstr(j, "paging.next.after");
        char expect_next[32];
        snprintf(expect_next, sizeof(expect_next), "%lld", (long long)(after + (int64_t)n));
        if (ok && next)
            ok = CHECK_STR(next, expect_next);
        tl_resp_free(&r);
        if (!ok)
            return false;
        if (!next)
            break;
        after += (int64_t)n;
        if (after + 200 > 10000)
            break; /* the cap: callers that go there check it themselves */
    }
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted IDs of `os` as lines, for comparison with a readable diff. */
static void id_lines(const tl_objects *os, tl_lines *out)
{
    uint64_t *ids = malloc((os->os_count + 1) * sizeof(*ids));
    memset(out, 0, sizeof(*out));
    if (!ids)
        return;
    for (size_t i = 0; i < os->os_count; i++)
        ids[i] = os->os_items[i].o_id;
    qsort(ids, os->os_count, sizeof(*ids), cmp_u64);
    for (size_t i = 0; i < os->os_count; i++)
        tl_lines_addf(out, "%020llu", (unsigned long long)ids[i]);
    free(ids);
}

/* Runs a search of OR-ed groups and compares it with the same predicate
 * applied to `all`. */
static bool check_search(tl_sim *s, const char *type, const tl_objects *all,
                         const filter *const *groups, const int *lens, int ngroups)
{
    jbuf b;
    jb_init(&b);
    groups_json(&b, groups, lens, ngroups);
    tl_objects want = {0}, got = {0};
    for (size_t i = 0; i < all->os_count; i++) {
        bool any = ngroups == 0; /* no filter groups: everything matches */
        for (int g = 0; g < ngroups && !any; g++) {
            bool every = true;
            for (int k = 0; k < lens[g] && every; k++)
                every = matches(&groups[g][k], &all->os_items[i]);
            any = every;
        }
        if (any)
            tl_objects_add(&want, &all->os_items[i]);
    }
    int64_t total = -1;
    bool ok = search_all(s, type, jb_cstr(&b), NULL, &got, &total);
    if (ok) {
        tl_lines lw, lg;
        id_lines(&want, &lw);
        id_lines(&got, &lg);
        bool same = tl_lines_equal(&lg, &lw, "search", "expected");
        ok = CHECKF(same && total == (int64_t)want.os_count, "%s %s: total %lld, expected %zu",
                    type, jb_cstr(&b), (long long)total, want.os_count);
        tl_lines_free(&lw);
        tl_lines_free(&lg);
    }
    tl_objects_free(&want);
    tl_objects_free(&got);
    jb_free(&b);
    return ok;
}

static bool check_one(tl_sim *s, const char *type, const tl_objects *all, const filter *f)
{
    const filter *groups[1] = {f};
    int lens[1] = {1};
    return check_search(s, type, all, groups, lens, 1);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The sorted values of `prop` over `all`, so pivots can be picked at
 * quantiles (including ties, which are the interesting case). */
static int64_t *sorted_values(const tl_objects *all, const char *prop)
{
    int64_t *v = malloc((all->os_count + 1) * sizeof(*v));
    for (size_t i = 0; v && i < all->os_count; i++)
        v[i] = value_of(&all->os_items[i], prop);
    if (v)
        qsort(v, all->os_count, sizeof(*v), cmp_i64);
    return v;
}

/* Every operator on one property of one type. */
static void check_operators(tl_sim *s, const char *type, const char *prop, const tl_objects *all)
{
    int64_t *v = sorted_values(all, prop);
    size_t n = all->os_count;
    if (!CHECK(v && n >= 20)) {
        free(v);
        return;
    }
    int64_t mid = v[n / 2], lo = v[n / 4], hi = v[3 * n / 4];
    static const char *const ops[] = {"EQ", "NEQ", "LT",           "LTE",
                                      "GT", "GTE", "HAS_PROPERTY", "NOT_HAS_PROPERTY"};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        filter f = {.f_prop = prop, .f_op = ops[i], .f_value = mid};
        CHECKF(check_one(s, type, all, &f), "%s %s %s", type, prop, ops[i]);
    }
    filter between = {.f_prop = prop, .f_op = "BETWEEN", .f_value = lo, .f_high = hi};
    CHECKF(check_one(s, type, all, &between), "%s %s BETWEEN", type, prop);
    filter in = {.f_prop = prop, .f_op = "IN", .f_nvalues = 3, .f_values = {v[1], mid, v[n - 2]}};
    CHECKF(check_one(s, type, all, &in), "%s %s IN", type, prop);
    filter not_in = in;
    not_in.f_op = "NOT_IN";
    CHECKF(check_one(s, type, all, &not_in), "%s %s NOT_IN", type, prop);
    /* Bounds outside every value. */
    filter below = {.f_prop = prop, .f_op = "LT", .f_value = v[0]};
    CHECKF(check_one(s, type, all, &below), "%s %s LT min", type, prop);
    filter above = {.f_prop = prop, .f_op = "GT", .f_value = v[n - 1]};
    CHECKF(check_one(s, type, all, &above), "%s %s GT max", type, prop);
    if (is_datetime(prop)) {
        /* ISO-8601 values are accepted and mean the same instant. */
        filter iso = {.f_prop = prop, .f_op = "GTE", .f_value = mid, .f_iso = true};
        CHECKF(check_one(s, type, all, &iso), "%s %s GTE (ISO value)", type, prop);
    }
    free(v);
}

static void test_operators(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    static const char *const types[] = {"contacts", "companies", "deals"};
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        tl_objects all;
        if (!CHECK(tl_list_all(&s, types[t], false, &all) == 0))
            continue;
        /* A search without filters finds every live object, and only those. */
        CHECK(check_search(&s, types[t], &all, NULL, NULL, 0));
        check_operators(&s, types[t], "hs_object_id", &all);
        check_operators(&s, types[t], lastmod_of(types[t]), &all);
        check_operators(&s, types[t], "createdate", &all);
        tl_objects_free(&all);
    }
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

static void test_groups(void)
{
    tl_sim s = {0};
    tl_objects all = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(tl_list_all(&s, "companies", false, &all) == 0);
    size_t n = all.os_count;
    REQUIRE(n > 50);
    const char *lm = "hs_lastmodifieddate";
    int64_t *mods = sorted_values(&all, lm);
    REQUIRE(mods);
    int64_t id_lo = (int64_t)all.os_items[n / 5].o_id,
            id_hi = (int64_t)all.os_items[4 * n / 5].o_id;
    int64_t mod_mid = mods[n / 2];
    free(mods);

    /* AND within a group: a window of IDs and of times at once. */
    filter g_and[3] = {{.f_prop = "hs_object_id", .f_op = "GTE", .f_value = id_lo},
                       {.f_prop = "hs_object_id", .f_op = "LT", .f_value = id_hi},
                       {.f_prop = lm, .f_op = "GTE", .f_value = mod_mid}};
    const filter *one[1] = {g_and};
    int len3[1] = {3};
    CHECK(check_search(&s, "companies", &all, one, len3, 1));

    /* OR across groups, including overlapping groups (no duplicates). */
    filter a[1] = {
        {.f_prop = "hs_object_id", .f_op = "EQ", .f_value = (int64_t)all.os_items[3].o_id}};
    filter b[2] = {
        {.f_prop = "hs_object_id", .f_op = "GT", .f_value = (int64_t)all.os_items[n - 6].o_id},
        {.f_prop = lm, .f_op = "GTE", .f_value = 0}};
    filter c[1] = {
        {.f_prop = "hs_object_id", .f_op = "GTE", .f_value = (int64_t)all.os_items[n - 3].o_id}};
    filter d[1] = {{.f_prop = lm, .f_op = "LT", .f_value = mod_mid}};
    const filter *groups[4] = {a, b, c, d};
    int lens[4] = {1, 2, 1, 1};
    CHECK(check_search(&s, "companies", &all, groups, lens, 4));
    /* Five groups of six and 18 filters in all are the maximum allowed. */
    filter six[6];
    for (int i = 0; i < 6; i++)
        six[i] = (filter){.f_prop = "hs_object_id", .f_op = "GT", .f_value = id_lo + i};
    const filter *three[3] = {six, six, six};
    int lens6[3] = {6, 6, 6};
    CHECK(check_search(&s, "companies", &all, three, lens6, 3));
    const filter *five[5] = {a, c, d, a, c};
    int lens1[5] = {1, 1, 1, 1, 1};
    CHECK(check_search(&s, "companies", &all, five, lens1, 5));
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_objects_free(&all);
    tl_sim_stop(&s);
}

/* Results in sort order; ties on the sort key break by ID (ascending). */
static void test_sorting(void)
{
    tl_sim s = {0};
    tl_objects all = {0}, got = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(tl_list_all(&s, "contacts", false, &all) == 0);
    static const char *const sorts[] = {
        "[{\"propertyName\":\"lastmodifieddate\",\"direction\":\"ASCENDING\"}]",
        "[\"lastmodifieddate\"]",
        "[{\"propertyName\":\"lastmodifieddate\",\"direction\":\"DESCENDING\"}]",
        "[\"-lastmodifieddate\"]",
        "[{\"propertyName\":\"hs_object_id\",\"direction\":\"DESCENDING\"}]",
    };
    for (size_t k = 0; k < sizeof(sorts) / sizeof(sorts[0]); k++) {
        int64_t total;
        if (!CHECK(search_all(&s, "contacts", NULL, sorts[k], &got, &total)))
            continue;
        CHECK_EQ(got.os_count, all.os_count);
        bool by_id = strstr(sorts[k], "hs_object_id") != NULL;
        bool desc = strstr(sorts[k], "DESC") || strstr(sorts[k], "\"-");
        size_t bad = 0, ties = 0;
        for (size_t i = 1; i < got.os_count; i++) {
            const tl_object *p = &got.os_items[i - 1], *q = &got.os_items[i];
            if (by_id) {
                bad += desc ? p->o_id <= q->o_id : p->o_id >= q->o_id;
                continue;
            }
            if (p->o_modified_ms == q->o_modified_ms) {
                ties++;
                /* Ties by ID: checked for ascending sorts only, as the
                 * contract does not say which way descending ties go. */
                bad += !desc && p->o_id >= q->o_id;
            } else {
                bad += desc ? p->o_modified_ms < q->o_modified_ms
                            : p->o_modified_ms > q->o_modified_ms;
            }
        }
        CHECKF(bad == 0, "sort %s: %zu pairs out of order", sorts[k], bad);
        if (!by_id)
            CHECKF(ties > 0, "sort %s: no same-millisecond ties in the portal", sorts[k]);
        tl_objects_free(&got);
    }
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_objects_free(&all);
    tl_objects_free(&got);
    tl_sim_stop(&s);
}

/* POSTs `body` to contacts search and expects `status` (400 must be a
 * VALIDATION_ERROR body). */
static bool expect_status(tl_sim *s, const char *body, long status)
{
    tl_resp r;
    tl_post_json(s, "/crm/v3/objects/contacts/search", TL_TOKEN, body, &r);
    bool ok =
        status == 400 ? tl_is_hubspot_error(&r, 400, "VALIDATION_ERROR") : r.r_status == status;
    if (!ok) {
        int shown = (int)(strlen(body) > 300 ? 300 : strlen(body));
        fprintf(stderr, "    body (%zu chars): %.*s\n", strlen(body), shown, body);
        tl_resp_dump("answer", &r);
    }
    tl_resp_free(&r);
    return ok;
}

/* A body with `ngroups` groups of `per_group` filters (the last group gets
 * `last` filters instead when last > 0). */
static void groups_body(jbuf *b, int ngroups, int per_group, int last)
{
    jb_reset(b);
    jb_lit(b, "{\"filterGroups\":[");
    for (int g = 0; g < ngroups; g++) {
        int n = g == ngroups - 1 && last > 0 ? last : per_group;
        if (g)
            jb_char(b, ',');
        jb_lit(b, "{\"filters\":[");
        for (int i = 0; i < n; i++)
            jb_printf(b,
                      "%s{\"propertyName\":\"hs_object_id\",\"operator\":\"GT\",\"value\":\"%d\"}",
                      i ? "," : "", i);
        jb_lit(b, "]}");
    }
    jb_lit(b, "]}");
}

/* A valid body padded with spaces to exactly `len` characters. */
static void padded_body(jbuf *b, size_t len)
{
    jb_reset(b);
    jb_lit(b, "{\"limit\":1");
    while (jb_cstr(b)[0] && b->jb_len + 1 < len)
        jb_char(b, ' ');
    jb_char(b, '}');
}

static void test_limits(void)
{
    tl_sim s = {0};
    jbuf b;
    jb_init(&b);
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    CHECK(expect_status(&s, "{}", 200));
    CHECK(expect_status(&s, "{\"limit\":200}", 200));
    CHECK(expect_status(&s, "{\"limit\":201}", 400));
    CHECK(expect_status(&s, "{\"limit\":0}", 400));
    CHECK(expect_status(&s, "{\"limit\":-5}", 400));
    CHECK(expect_status(&s, "{\"after\":\"abc\"}", 400));
    CHECK(expect_status(&s, "{\"after\":-1}", 400));
    groups_body(&b, 5, 1, 0);
    CHECKF(expect_status(&s, jb_cstr(&b), 200), "5 groups");
    groups_body(&b, 6, 1, 0);
    CHECKF(expect_status(&s, jb_cstr(&b), 400), "6 groups");
    groups_body(&b, 1, 6, 0);
    CHECKF(expect_status(&s, jb_cstr(&b), 200), "6 filters in a group");
    groups_body(&b, 1, 7, 0);
    CHECKF(expect_status(&s, jb_cstr(&b), 400), "7 filters in a group");
    groups_body(&b, 3, 6, 0);
    CHECKF(expect_status(&s, jb_cstr(&b), 200), "18 filters");
    groups_body(&b, 4, 6, 1);
    CHECKF(expect_status(&s, jb_cstr(&b), 400), "19 filters");
    CHECK(expect_status(&s, "{\"sorts\":[\"createdate\"]}", 200));
    CHECK(expect_status(&s, "{\"sorts\":[\"createdate\",\"-lastmodifieddate\"]}", 400));
    CHECK(expect_status(&s,
                        "{\"sorts\":[{\"propertyName\":\"createdate\",\"direction\":"
                        "\"ASCENDING\"},{\"propertyName\":\"hs_object_id\",\"direction\":"
                        "\"DESCENDING\"}]}",
                        400));
    padded_body(&b, 3000);
    CHECKF(b.jb_len == 3000 && expect_status(&s, jb_cstr(&b), 200), "3000-char body");
    padded_body(&b, 3001);
    CHECKF(b.jb_len == 3001 && expect_status(&s, jb_cstr(&b), 400), "3001-char body");
    /* Unknown properties, operators and malformed filters. */
    CHECK(expect_status(&s,
                        "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"firstname\","
                        "\"operator\":\"EQ\",\"value\":\"x\"}]}]}",
                        400));
    CHECK(expect_status(&s,
                        "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"hs_object_id\","
                        "\"operator\":\"LIKE\",\"value\":\"1\"}]}]}",
                        400));
    CHECK(expect_status(&s,
                        "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"hs_object_id\","
                        "\"operator\":\"EQ\"}]}]}",
                        400));
    CHECK(expect_status(&s, "{\"sorts\":[\"firstname\"]}", 400));
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    jb_free(&b);
    tl_sim_stop(&s);
}

/* Shapes of a search response (§3.2) and the absence of rate-limit headers. */
static void test_response_shape(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    tl_resp r;
    tl_post_json(&s, "/crm/v3/objects/companies/search", TL_TOKEN, "{\"limit\":3,\"after\":6}", &r);
    json_object *j = tl_resp_json(&r);
    CHECK_EQ(r.r_status, 200);
    CHECK(tl_jis(j, "total", json_type_int));
    CHECK_EQ(tl_jlen(j, "results"), 3);
    CHECK_STR(tl_jstr(j, "paging.next.after"), "9");
    for (size_t i = 0; i < tl_jlen(j, "results"); i++) {
        json_object *item = json_object_array_get_idx(tl_jget(j, "results"), i);
        const char *id = tl_jstr(item, "id");
        CHECK(id != NULL);
        CHECK_STR(tl_jstr(item, "properties.hs_object_id"), id);
        CHECK(tl_jstr(item, "properties.createdate") != NULL);
        CHECK_STR(tl_jstr(item, "updatedAt"), tl_jstr(item, "properties.hs_lastmodifieddate"));
        CHECK_STR(tl_jstr(item, "createdAt"), tl_jstr(item, "properties.createdate"));
        CHECK(tl_jis(item, "archived", json_type_boolean));
    }
    CHECK_EQ(tl_header_count_prefix(&r, "X-HubSpot-RateLimit"), 0);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

/* As in HubSpot, contacts have no hs_lastmodifieddate: filtering on it finds
 * nothing, while lastmodifieddate finds every contact. */
static void test_contacts_lastmodified(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    static const char *const bodies[][2] = {
        {"{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"hs_lastmodifieddate\","
         "\"operator\":\"GTE\",\"value\":\"0\"}]}]}",
         "0"},
        {"{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"hs_lastmodifieddate\","
         "\"operator\":\"HAS_PROPERTY\"}]}]}",
         "0"},
        {"{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"lastmodifieddate\","
         "\"operator\":\"GTE\",\"value\":\"0\"}]}]}",
         "all"},
    };
    tl_resp all;
    tl_post_json(&s, "/crm/v3/objects/contacts/search", TL_TOKEN, "{}", &all);
    int64_t live = tl_jint_or(tl_resp_json(&all), "total", -1);
    tl_resp_free(&all);
    CHECK_OP(live, >, 500);
    for (size_t i = 0; i < 3; i++) {
        tl_resp r;
        tl_post_json(&s, "/crm/v3/objects/contacts/search", TL_TOKEN, bodies[i][0], &r);
        int64_t total = tl_jint_or(tl_resp_json(&r), "total", -1);
        CHECK_EQ(r.r_status, 200);
        if (strcmp(bodies[i][1], "0") == 0)
            CHECKF(total == 0 && tl_jlen(tl_resp_json(&r), "results") == 0, "%s: total %lld",
                   bodies[i][0], (long long)total);
        else
            CHECK_EQ(total, live);
        tl_resp_free(&r);
    }
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

/* after + limit > 10,000 → 400, right up to the boundary, on a portal with
 * more than 10,000 matches; `total` is the true count, not capped. */
static void test_cap_10k(void)
{
    tl_sim s = {0};
    tl_objects all = {0};
    const char *args[] = {"--contacts", "10500", "--companies",     "20", "--deals", "20",
                          "--tickets",  "20",    "--heavy-parents", "0",  "--tier",  "unlimited",
                          NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(tl_list_all(&s, "contacts", false, &all) == 0);
    REQUIRE(all.os_count > 10000);
    CHECK(expect_status(&s, "{\"after\":\"9900\",\"limit\":200}", 400));
    CHECK(expect_status(&s, "{\"after\":\"9801\",\"limit\":200}", 400));
    CHECK(expect_status(&s, "{\"after\":\"10000\",\"limit\":1}", 400));
    CHECK(expect_status(&s, "{\"after\":\"9999\",\"limit\":1}", 200));
    CHECK(expect_status(&s, "{\"after\":9800,\"limit\":200}", 200));
    tl_resp r;
    tl_post_json(&s, "/crm/v3/objects/contacts/search", TL_TOKEN,
                 "{\"after\":\"9800\",\"limit\":200,\"sorts\":[\"hs_object_id\"]}", &r);
    json_object *j = tl_resp_json(&r);
    CHECK_EQ(r.r_status, 200);
    CHECK_EQ(tl_jlen(j, "results"), 200);
    CHECK_EQ(tl_jint_or(j, "total", -1), all.os_count);
    /* Sorted by ID, offset 9,800 is the 9,801st live contact. */
    const char *first = tl_jstr(j, "results.0.id");
    char want[32];
    snprintf(want, sizeof(want), "%llu", (unsigned long long)all.os_items[9800].o_id);
    CHECK_STR(first, want);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_objects_free(&all);
    tl_sim_stop(&s);
}

int it_register_search(void)
{
    CU_pSuite s = it_add_suite("search");
    if (!s)
        return -1;
    int rc = 0;
    rc |= it_add_test(s, "operators", test_operators);
    rc |= it_add_test(s, "groups", test_groups);
    rc |= it_add_test(s, "sorting", test_sorting);
    rc |= it_add_test(s, "limits", test_limits);
    rc |= it_add_test(s, "response_shape", test_response_shape);
    rc |= it_add_test(s, "contacts_lastmodified", test_contacts_lastmodified);
    rc |= it_add_test(s, "cap_10k", test_cap_10k);
    return rc;
}
