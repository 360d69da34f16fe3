/*
 * Tests of sim/sim_api, called directly (no HTTP): routing of every path
 * form, and the read endpoints' shapes and semantics checked against the
 * portal — list paging, object batch read 207s, v4 association batch read
 * paging with cursors (page by page equal to the adjacency), association GET,
 * labels, properties with rollup fields, HubSpot's error bodies, and the
 * inputs and results each handler reports for the latency model.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../../common/base/jbuf.h"
#include "../../sim/sim_api.h"
#include "../../sim/sim_cursor.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

/* ------------------------------------------------------------- harness */

typedef struct kv {
    const char *k, *v;
} kv;

typedef struct query {
    kv q_items[8];
    int q_n;
} query;

static const char *query_get(void *ctx, const char *key)
{
    const query *q = ctx;
    for (int i = 0; q && i < q->q_n; i++)
        if (strcmp(q->q_items[i].k, key) == 0)
            return q->q_items[i].v;
    return NULL;
}

typedef struct call {
    sim_response c_rs;
    json_object *c_json; /* the parsed body, or NULL */
} call;

/* Routes and serves one request. The body must be JSON; a failed check says
 * so. Free with call_free. */
static void do_call(sim_portal *p, uint32_t page_size, const char *method, const char *path,
                    const query *q, const char *body, call *c)
{
    sim_route route;
    sim_route_parse(method, path, &route);
    sim_request rq = {method, path,     query_get, (void *)q, body, body ? strlen(body) : 0,
                      false,  UT_NOW_MS};
    sim_api_ctx ctx = {p, page_size};
    sim_response_init(&c->c_rs);
    sim_api_handle(&ctx, &route, &rq, &c->c_rs);
    c->c_json = json_tokener_parse(jb_cstr(&c->c_rs.rs_body));
    CHECKF(c->c_json != NULL, "%s %s: body is not JSON: %.300s", method, path,
           jb_cstr(&c->c_rs.rs_body));
}

static void call_free(call *c)
{
    json_object_put(c->c_json);
    c->c_json = NULL;
    sim_response_free(&c->c_rs);
}

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *get_str(json_object *o, const char *key)
{
    json_object *v = get(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* HubSpot's error body: status, message, a UUID correlationId, category. */
static bool is_error_body(json_object *o, const char *category)
{
    const char *cid = get_str(o, "correlationId");
    bool uuid = cid && strlen(cid) == 36 && cid[8] == '-' && cid[13] == '-' && cid[14] == '4' &&
                cid[18] == '-' && cid[23] == '-' && strchr("89ab", cid[19]);
    return o && get_str(o, "status") && strcmp(get_str(o, "status"), "error") == 0 &&
           get_str(o, "message") && uuid && get_str(o, "category") &&
           strcmp(get_str(o, "category"), category) == 0;
}

static sim_portal *api_portal(uint64_t seed)
{
    sim_portal_config c;
    ut_portal_config_small(&c, seed);
    ut_portal_add_rollup(&c, "companies_contacts", false);
    return ut_portal_new(&c);
}

/* ------------------------------------------------------------- routing */

static void test_route_parse(void)
{
    static const struct {
        const char *method, *path;
        sim_route_kind kind;
        bool method_ok;
        int type, to; /* -1: not checked */
        uint64_t id;
        const char *key;
    } cases[] = {
        {"GET", "/crm/v3/objects/contacts", SIM_ROUTE_OBJECT_LIST, true, HS_CONTACTS, -1, 0,
         "GET /crm/v3/objects/contacts"},
        {"GET", "/crm/v3/objects/0-2", SIM_ROUTE_OBJECT_LIST, true, HS_COMPANIES, -1, 0,
         "GET /crm/v3/objects/companies"},
        {"POST", "/crm/v3/objects/deal/search", SIM_ROUTE_SEARCH, true, HS_DEALS, -1, 0,
         "POST /crm/v3/objects/deals/search"},
        {"GET", "/crm/v3/objects/deals/search", SIM_ROUTE_SEARCH, false, HS_DEALS, -1, 0, NULL},
        {"POST", "/crm/v3/objects/tickets/batch/read", SIM_ROUTE_OBJECT_BATCH, true, HS_TICKETS, -1,
         0, "POST /crm/v3/objects/tickets/batch/read"},
        {"POST", "/crm/v4/associations/companies/contacts/batch/read", SIM_ROUTE_ASSOC_BATCH, true,
         HS_COMPANIES, HS_CONTACTS, 0, "POST /crm/v4/associations/companies/contacts/batch/read"},
        {"POST", "/crm/v4/associations/0-2/0-1/batch/read", SIM_ROUTE_ASSOC_BATCH, true,
         HS_COMPANIES, HS_CONTACTS, 0, "POST /crm/v4/associations/companies/contacts/batch/read"},
        {"POST", "/crm/associations/2026-03/company/contact/batch/read", SIM_ROUTE_ASSOC_BATCH,
         true, HS_COMPANIES, HS_CONTACTS, 0, NULL},
        {"GET", "/crm/v4/associations/deals/contacts/labels", SIM_ROUTE_ASSOC_LABELS, true,
         HS_DEALS, HS_CONTACTS, 0, "GET /crm/v4/associations/deals/contacts/labels"},
        {"GET", "/crm/v4/objects/companies/12345678901/associations/contacts", SIM_ROUTE_ASSOC_GET,
         true, HS_COMPANIES, HS_CONTACTS, 12345678901ULL,
         "GET /crm/v4/objects/companies/{id}/associations/contacts"},
        {"GET", "/crm/v3/properties/companies", SIM_ROUTE_PROPERTIES, true, HS_COMPANIES, -1, 0,
         "GET /crm/v3/properties/companies"},
        {"GET", "/crm/objects/2026-03/contacts", SIM_ROUTE_OBJECT_LIST, true, HS_CONTACTS, -1, 0,
         NULL},
        {"POST", "/oauth/v1/token", SIM_ROUTE_OAUTH_TOKEN, true, -1, -1, 0, "POST /oauth/v1/token"},
        {"POST", "/oauth/v3/token", SIM_ROUTE_OAUTH_TOKEN, true, -1, -1, 0, "POST /oauth/v3/token"},
        {"GET", "/oauth/v1/token", SIM_ROUTE_OAUTH_TOKEN, false, -1, -1, 0, NULL},
        {"GET", "/_sim/truth", SIM_ROUTE_ADMIN_TRUTH, true, -1, -1, 0, NULL},
        {"POST", "/_sim/mutate", SIM_ROUTE_ADMIN_MUTATE, true, -1, -1, 0, NULL},
        {"GET", "/_sim/stats", SIM_ROUTE_ADMIN_STATS, true, -1, -1, 0, NULL},
        {"POST", "/_sim/reset-stats", SIM_ROUTE_ADMIN_RESET, true, -1, -1, 0, NULL},
        {"GET", "/_sim/config", SIM_ROUTE_ADMIN_CONFIG, true, -1, -1, 0, NULL},
        {"POST", "/_sim/config", SIM_ROUTE_ADMIN_CONFIG, true, -1, -1, 0, NULL},
        {"GET", "/", SIM_ROUTE_NOT_FOUND, false, -1, -1, 0, NULL},
        {"GET", "/crm/v3/objects", SIM_ROUTE_NOT_FOUND, false, -1, -1, 0, NULL},
        {"GET", "/crm/v3/objects/contacts/123", SIM_ROUTE_NOT_FOUND, false, -1, -1, 0, NULL},
        {"GET", "/crm/v4/objects/companies/abc/associations/contacts", SIM_ROUTE_NOT_FOUND, false,
         -1, -1, 0, NULL},
        {"GET", "/_sim/nothing", SIM_ROUTE_NOT_FOUND, false, -1, -1, 0, NULL},
        {"GET", "/a/b/c/d/e/f/g/h/i/j/k/l", SIM_ROUTE_NOT_FOUND, false, -1, -1, 0, NULL},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        sim_route r;
        sim_route_parse(cases[i].method, cases[i].path, &r);
        bool ok = r.r_kind == cases[i].kind && !r.r_bad_type;
        if (cases[i].kind != SIM_ROUTE_NOT_FOUND)
            ok = ok && r.r_method_ok == cases[i].method_ok;
        if (cases[i].type >= 0)
            ok = ok && (int)r.r_type == cases[i].type;
        if (cases[i].to >= 0)
            ok = ok && (int)r.r_to == cases[i].to;
        if (cases[i].id)
            ok = ok && r.r_id == cases[i].id;
        if (cases[i].key)
            ok = ok && strcmp(r.r_stats_key, cases[i].key) == 0;
        CHECKF(ok, "%s %s: kind %d method_ok %d type %d to %d key \"%s\"", cases[i].method,
               cases[i].path, r.r_kind, r.r_method_ok, r.r_type, r.r_to, r.r_stats_key);
    }
    sim_route r;
    sim_route_parse("GET", "/crm/v3/objects/widgets", &r);
    CHECK(r.r_kind == SIM_ROUTE_OBJECT_LIST && r.r_bad_type);
    CHECK_STR(r.r_bad_segment, "widgets");
    sim_route_parse("POST", "/crm/v4/associations/companies/gizmos/batch/read", &r);
    CHECK(r.r_kind == SIM_ROUTE_ASSOC_BATCH && r.r_bad_type);
    CHECK_STR(r.r_bad_segment, "gizmos");
    /* Only API routes need a token and count against limits. */
    static const struct {
        sim_route_kind kind;
        bool api;
    } api[] = {
        {SIM_ROUTE_OBJECT_LIST, true},  {SIM_ROUTE_SEARCH, true},
        {SIM_ROUTE_OBJECT_BATCH, true}, {SIM_ROUTE_ASSOC_BATCH, true},
        {SIM_ROUTE_ASSOC_GET, true},    {SIM_ROUTE_ASSOC_LABELS, true},
        {SIM_ROUTE_PROPERTIES, true},   {SIM_ROUTE_OAUTH_TOKEN, false},
        {SIM_ROUTE_ADMIN_TRUTH, false}, {SIM_ROUTE_ADMIN_CONFIG, false},
        {SIM_ROUTE_NOT_FOUND, false},
    };
    for (size_t i = 0; i < UT_COUNT(api); i++) {
        sim_route x;
        memset(&x, 0, sizeof(x));
        x.r_kind = api[i].kind;
        CHECK(sim_route_is_api(&x) == api[i].api);
    }
}

/* ---------------------------------------------------------- object list */

static void test_list_paging(void)
{
    sim_portal *p = api_portal(51);
    uint64_t *got = NULL;
    call c = {0};
    REQUIRE(p != NULL);
    const sim_objects *o = &p->p_obj[HS_CONTACTS];
    for (int archived = 0; archived < 2; archived++) {
        free(got);
        got = malloc(o->o_count * sizeof(*got));
        REQUIRE(got != NULL);
        size_t n = 0;
        char after[32] = "";
        for (int page = 0; page < 1000; page++) {
            query q = {{{"limit", "100"}, {"archived", archived ? "true" : "false"}}, 2};
            if (after[0])
                q.q_items[q.q_n++] = (kv){"after", after};
            do_call(p, 500, "GET", "/crm/v3/objects/contacts", &q, NULL, &c);
            REQUIRE(c.c_json && c.c_rs.rs_status == 200);
            json_object *res = get(c.c_json, "results");
            size_t len = json_object_array_length(res);
            CHECK(len <= 100);
            for (size_t i = 0; i < len && n < o->o_count; i++) {
                json_object *e = json_object_array_get_idx(res, i);
                got[n++] = strtoull(get_str(e, "id"), NULL, 10);
                json_object *a = get(e, "archived");
                CHECK(a && json_object_get_boolean(a) == archived);
            }
            const char *next = get_str(get(get(c.c_json, "paging"), "next"), "after");
            if (!next) {
                call_free(&c);
                break;
            }
            CHECK(len == 100);
            snprintf(after, sizeof(after), "%s", next);
            call_free(&c);
        }
        /* Exactly the live (or archived) contacts, in ID order. */
        size_t k = 0;
        unsigned wrong = 0;
        for (uint32_t i = 0; i < o->o_count; i++)
            if ((bool)o->o_archived[i] == (bool)archived)
                wrong += k >= n || got[k++] != o->o_id[i];
        CHECK_EQ(k, n);
        CHECK_EQ(wrong, 0);
    }
done:
    call_free(&c);
    free(got);
    sim_portal_destroy(p);
}

static void test_list_params(void)
{
    sim_portal *p = api_portal(52);
    call c = {0};
    REQUIRE(p != NULL);
    /* Default limit 10; properties=; after is inclusive of that ID. */
    do_call(p, 500, "GET", "/crm/v3/objects/companies", NULL, NULL, &c);
    REQUIRE(c.c_json != NULL);
    json_object *res = get(c.c_json, "results");
    CHECK_EQ(json_object_array_length(res), 10);
    const char *next = get_str(get(get(c.c_json, "paging"), "next"), "after");
    REQUIRE(next != NULL);
    char after[32];
    snprintf(after, sizeof(after), "%s", next);
    const char *link = get_str(get(get(c.c_json, "paging"), "next"), "link");
    CHECK(link && strstr(link, after) != NULL);
    call_free(&c);
    query q = {{{"after", after}, {"limit", "1"}, {"properties", "domain,nope"}}, 3};
    do_call(p, 500, "GET", "/crm/v3/objects/companies", &q, NULL, &c);
    REQUIRE(c.c_json != NULL);
    json_object *first = json_object_array_get_idx(get(c.c_json, "results"), 0);
    CHECK_STR(get_str(first, "id"), after);
    json_object *props = get(first, "properties");
    CHECK(get(props, "domain") && !get(props, "name") && !get(props, "nope"));
    call_free(&c);
    static const kv bad[] = {
        {"limit", "0"},  {"limit", "101"}, {"limit", "abc"},    {"limit", ""},
        {"after", "x1"}, {"after", "-5"},  {"archived", "yes"}, {"limit", "99999999999999999999"},
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        query bq = {{bad[i]}, 1};
        do_call(p, 500, "GET", "/crm/v3/objects/companies", &bq, NULL, &c);
        CHECKF(c.c_rs.rs_status == 400 && is_error_body(c.c_json, "VALIDATION_ERROR"),
               "%s=%s: status %d", bad[i].k, bad[i].v, c.c_rs.rs_status);
        call_free(&c);
    }
done:
    call_free(&c);
    sim_portal_destroy(p);
}

/* ------------------------------------------------------ object batch read */

static void test_object_batch(void)
{
    sim_portal *p = api_portal(53);
    call c = {0};
    jbuf b;
    jb_init(&b);
    REQUIRE(p != NULL);
    const sim_objects *o = &p->p_obj[HS_DEALS];
    uint32_t live = 0, arch = 0;
    while (live < o->o_count && o->o_archived[live])
        live++;
    while (arch < o->o_count && !o->o_archived[arch])
        arch++;
    REQUIRE(live < o->o_count && arch < o->o_count);
    /* One live (as a string), one live (as a number), one archived, one unknown. */
    uint32_t live2 = live + 1;
    while (live2 < o->o_count && o->o_archived[live2])
        live2++;
    REQUIRE(live2 < o->o_count);
    jb_printf(&b,
              "{\"inputs\":[{\"id\":\"%" PRIu64 "\"},{\"id\":%" PRIu64 "},{\"id\":\"%" PRIu64
              "\"},{\"id\":\"42\"}],\"properties\":[\"dealname\"]}",
              o->o_id[live], o->o_id[live2], o->o_id[arch]);
    do_call(p, 500, "POST", "/crm/v3/objects/deals/batch/read", NULL, jb_cstr(&b), &c);
    REQUIRE(c.c_json != NULL);
    CHECK_EQ(c.c_rs.rs_status, 207);
    CHECK_STR(get_str(c.c_json, "status"), "COMPLETE");
    json_object *res = get(c.c_json, "results");
    REQUIRE(res && json_object_array_length(res) == 2);
    char id[32];
    fmt_u64(id, o->o_id[live]);
    CHECK_STR(get_str(json_object_array_get_idx(res, 0), "id"), id);
    json_object *props = get(json_object_array_get_idx(res, 0), "properties");
    CHECK(get(props, "dealname") && !get(props, "amount"));
    json_object *errs = get(c.c_json, "errors");
    REQUIRE(errs && json_object_array_length(errs) == 1);
    json_object *e0 = json_object_array_get_idx(errs, 0);
    CHECK_STR(get_str(e0, "category"), "OBJECT_NOT_FOUND");
    json_object *ids = get(get(e0, "context"), "ids");
    REQUIRE(ids && json_object_array_length(ids) == 2);
    fmt_u64(id, o->o_id[arch]);
    CHECK_STR(json_object_get_string(json_object_array_get_idx(ids, 0)), id);
    CHECK_STR(json_object_get_string(json_object_array_get_idx(ids, 1)), "42");
    CHECK(get_str(c.c_json, "startedAt") && get_str(c.c_json, "completedAt"));
    call_free(&c);
    /* All found: 200 and no errors. */
    jb_reset(&b);
    jb_printf(&b, "{\"inputs\":[{\"id\":\"%" PRIu64 "\"}]}", o->o_id[live]);
    do_call(p, 500, "POST", "/crm/v3/objects/deals/batch/read", NULL, jb_cstr(&b), &c);
    CHECK(c.c_rs.rs_status == 200 && !get(c.c_json, "errors"));
    call_free(&c);
    /* Too many inputs, malformed bodies. */
    jb_reset(&b);
    jb_lit(&b, "{\"inputs\":[");
    for (int i = 0; i < 101; i++)
        jb_printf(&b, "%s{\"id\":\"%d\"}", i ? "," : "", i + 1);
    jb_lit(&b, "]}");
    static const char *bad[] = {
        NULL,
        "",
        "{",
        "[]",
        "{\"inputs\":{}}",
        "{\"inputs\":[{\"id\":\"x\"}]}",
        "{\"inputs\":[{}]}",
        "{\"inputs\":[5]}",
        "{\"inputs\":[],\"idProperty\":\"email\"}",
        "{\"inputs\":[],\"properties\":\"dealname\"}",
    };
    bad[0] = jb_cstr(&b);
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        do_call(p, 500, "POST", "/crm/v3/objects/deals/batch/read", NULL, bad[i], &c);
        CHECKF(c.c_rs.rs_status == 400 && is_error_body(c.c_json, "VALIDATION_ERROR"),
               "body #%zu: status %d", i, c.c_rs.rs_status);
        call_free(&c);
    }
done:
    call_free(&c);
    jb_free(&b);
    sim_portal_destroy(p);
}

/* --------------------------------------------------- association batch */

/* The set of type IDs of one "to" item; sorted into ids, returns the count. */
static int item_type_ids(json_object *item, int *ids, int max, bool *primary_first)
{
    json_object *types = get(item, "associationTypes");
    int n = 0;
    *primary_first = true;
    for (size_t i = 0; types && i < json_object_array_length(types) && n < max; i++) {
        json_object *t = json_object_array_get_idx(types, i);
        ids[n] = (int)json_object_get_int64(get(t, "typeId"));
        const char *label = get_str(t, "label");
        if (label && strcmp(label, "Primary") == 0 && i != 0)
            *primary_first = false;
        n++;
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            int tmp = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = tmp;
        }
    return n;
}

/* Pages through one parent's links with the cursors and compares each page
 * with the adjacency. Returns the number of pages, or -1 on a difference. */
static int page_through(sim_portal *p, const char *path, hs_object_type from, hs_object_type to,
                        uint32_t idx, uint32_t page_size)
{
    bool reverse;
    const sim_table *t = sim_table_find(p, from, to, &reverse);
    const sim_adj *a = sim_links(t, reverse, idx);
    const sim_objects *fo = &p->p_obj[from], *too = &p->p_obj[to];
    char cursor[SIM_CURSOR_MAX * 2] = "";
    uint32_t pos = 0;
    int pages = 0;
    call c = {0};
    jbuf b;
    jb_init(&b);
    for (;;) {
        jb_reset(&b);
        if (cursor[0])
            jb_printf(&b, "{\"inputs\":[{\"id\":\"%" PRIu64 "\",\"after\":\"%s\"}]}", fo->o_id[idx],
                      cursor);
        else
            jb_printf(&b, "{\"inputs\":[{\"id\":\"%" PRIu64 "\"}]}", fo->o_id[idx]);
        do_call(p, page_size, "POST", path, NULL, jb_cstr(&b), &c);
        if (!c.c_json || c.c_rs.rs_status != 200)
            goto fail;
        json_object *res = get(c.c_json, "results");
        if (!res || json_object_array_length(res) != 1)
            goto fail;
        json_object *r0 = json_object_array_get_idx(res, 0);
        char id[32];
        fmt_u64(id, fo->o_id[idx]);
        if (!get_str(get(r0, "from"), "id") || strcmp(get_str(get(r0, "from"), "id"), id) != 0)
            goto fail;
        json_object *items = get(r0, "to");
        size_t n = json_object_array_length(items);
        if (n == 0 || n > page_size)
            goto fail;
        for (size_t i = 0; i < n; i++, pos++) {
            json_object *it = json_object_array_get_idx(items, i);
            if (pos >= a->a_len || (uint64_t)json_object_get_int64(get(it, "toObjectId")) !=
                                       too->o_id[a->a_links[pos].l_other])
                goto fail;
            int want[16], got[16];
            bool primary_first;
            int nw = sim_link_type_ids(t, reverse, &a->a_links[pos], want);
            int ng = item_type_ids(it, got, 16, &primary_first);
            if (nw != ng || memcmp(want, got, (size_t)nw * sizeof(int)) != 0 || !primary_first)
                goto fail;
        }
        pages++;
        const char *next = get_str(get(get(r0, "paging"), "next"), "after");
        if (!next) {
            call_free(&c);
            break;
        }
        if (!strstr(next, "%3D") || pos >= a->a_len)
            goto fail;
        const char *link = get_str(get(get(r0, "paging"), "next"), "link");
        if (!link || !strstr(link, next))
            goto fail;
        snprintf(cursor, sizeof(cursor), "%s", next);
        call_free(&c);
    }
    jb_free(&b);
    return pos == a->a_len ? pages : -1;
fail:
    fprintf(stderr, "\n    %s: page %d of %" PRIu64 " differs at link %u: %.300s", path, pages,
            fo->o_id[idx], pos, jb_cstr(&c.c_rs.rs_body));
    call_free(&c);
    jb_free(&b);
    return -1;
}

static void test_assoc_batch_paging(void)
{
    sim_portal *p = api_portal(54);
    REQUIRE(p != NULL);
    sim_table *cc = sim_table_by_name(p, "companies_contacts", 18);
    REQUIRE(cc != NULL);
    /* The company with the most contacts, a few small ones, and contacts
     * (the reverse direction, with primaries). */
    uint32_t heavy = 0;
    for (uint32_t i = 0; i < p->p_obj[HS_COMPANIES].o_count; i++)
        if (cc->tb_fwd[i].a_len > cc->tb_fwd[heavy].a_len)
            heavy = i;
    REQUIRE(cc->tb_fwd[heavy].a_len > 250);
    int pages = page_through(p, "/crm/v4/associations/companies/contacts/batch/read", HS_COMPANIES,
                             HS_CONTACTS, heavy, 100);
    CHECK_EQ(pages, (cc->tb_fwd[heavy].a_len + 99) / 100);
    pages = page_through(p, "/crm/v4/associations/0-2/0-1/batch/read", HS_COMPANIES, HS_CONTACTS,
                         heavy, 500);
    CHECK_EQ(pages, (cc->tb_fwd[heavy].a_len + 499) / 500);
    unsigned bad = 0, done_n = 0;
    for (uint32_t i = 0; i < p->p_obj[HS_CONTACTS].o_count && done_n < 50; i++) {
        if (cc->tb_rev[i].a_len == 0)
            continue;
        done_n++;
        bad += page_through(p, "/crm/v4/associations/contacts/companies/batch/read", HS_CONTACTS,
                            HS_COMPANIES, i, 1) < 0;
    }
    CHECK_EQ(bad, 0);
    /* Exactly a multiple of the page size: no empty last page is promised. */
    for (uint32_t i = 0; i < p->p_obj[HS_COMPANIES].o_count; i++)
        if (cc->tb_fwd[i].a_len == 4) {
            CHECK_EQ(page_through(p, "/crm/v4/associations/companies/contacts/batch/read",
                                  HS_COMPANIES, HS_CONTACTS, i, 2),
                     2);
            break;
        }
done:
    sim_portal_destroy(p);
}

static void test_assoc_batch_errors(void)
{
    sim_portal *p = api_portal(55);
    call c = {0};
    jbuf b;
    jb_init(&b);
    REQUIRE(p != NULL);
    sim_table *cd = sim_table_by_name(p, "contacts_deals", 14);
    REQUIRE(cd != NULL);
    const sim_objects *co = &p->p_obj[HS_CONTACTS];
    uint32_t linked = 0, lonely = 0, arch = 0;
    while (linked < co->o_count && cd->tb_fwd[linked].a_len == 0)
        linked++;
    while (lonely < co->o_count && (cd->tb_fwd[lonely].a_len || co->o_archived[lonely]))
        lonely++;
    while (arch < co->o_count && !co->o_archived[arch])
        arch++;
    REQUIRE(linked < co->o_count && lonely < co->o_count && arch < co->o_count);
    jb_printf(&b,
              "{\"inputs\":[{\"id\":\"%" PRIu64 "\"},{\"id\":\"%" PRIu64 "\"},{\"id\":\"%" PRIu64
              "\"},{\"id\":\"77\"}]}",
              co->o_id[linked], co->o_id[lonely], co->o_id[arch]);
    do_call(p, 500, "POST", "/crm/v4/associations/contacts/deals/batch/read", NULL, jb_cstr(&b),
            &c);
    REQUIRE(c.c_json != NULL);
    CHECK_EQ(c.c_rs.rs_status, 207);
    CHECK_EQ(json_object_array_length(get(c.c_json, "results")), 1);
    json_object *errs = get(c.c_json, "errors");
    REQUIRE(errs && json_object_array_length(errs) == 3);
    CHECK_EQ(json_object_get_int64(get(c.c_json, "numErrors")), 3);
    for (size_t i = 0; i < 3; i++) {
        json_object *e = json_object_array_get_idx(errs, i);
        CHECK_STR(get_str(e, "subCategory"), "crm.associations.NO_ASSOCIATIONS_FOUND");
        CHECK_STR(get_str(e, "category"), "OBJECT_NOT_FOUND");
    }
    char id[32];
    fmt_u64(id, co->o_id[lonely]);
    json_object *from_ids = get(get(json_object_array_get_idx(errs, 0), "context"), "fromObjectId");
    CHECK(from_ids &&
          strcmp(json_object_get_string(json_object_array_get_idx(from_ids, 0)), id) == 0);
    call_free(&c);
    /* A cursor past the last link: no further associations. */
    const sim_adj *a = &cd->tb_fwd[linked];
    char cursor[SIM_CURSOR_MAX];
    sim_cursor_encode("0-3", p->p_obj[HS_DEALS].o_id[a->a_links[a->a_len - 1].l_other], cursor);
    jb_reset(&b);
    jb_printf(&b, "{\"inputs\":[{\"id\":\"%" PRIu64 "\",\"after\":\"%s\"}]}", co->o_id[linked],
              cursor);
    do_call(p, 500, "POST", "/crm/v4/associations/contacts/deals/batch/read", NULL, jb_cstr(&b),
            &c);
    CHECK(c.c_rs.rs_status == 207 && json_object_array_length(get(c.c_json, "results")) == 0);
    call_free(&c);
    /* Malformed: a decoded cursor, another type's cursor, bad ids, too many. */
    char decoded[SIM_CURSOR_MAX];
    snprintf(decoded, sizeof(decoded), "%s", cursor);
    char *pct = strstr(decoded, "%3D");
    REQUIRE(pct != NULL);
    memmove(pct + 1, pct + 3, strlen(pct + 3) + 1);
    *pct = '=';
    char other[SIM_CURSOR_MAX];
    sim_cursor_encode("0-1", 5, other);
    jbuf many;
    jb_init(&many);
    jb_lit(&many, "{\"inputs\":[");
    for (int i = 0; i < 1001; i++)
        jb_printf(&many, "%s{\"id\":\"%d\"}", i ? "," : "", i + 1);
    jb_lit(&many, "]}");
    char body1[256], body2[256];
    snprintf(body1, sizeof(body1), "{\"inputs\":[{\"id\":\"1\",\"after\":\"%s\"}]}", decoded);
    snprintf(body2, sizeof(body2), "{\"inputs\":[{\"id\":\"1\",\"after\":\"%s\"}]}", other);
    const char *bad[] = {
        body1,
        body2,
        jb_cstr(&many),
        "{\"inputs\":[{\"id\":\"1\",\"after\":5}]}",
        "{\"inputs\":[{\"id\":\"abc\"}]}",
        "{\"inputs\":[{\"id\":-1}]}",
        "{\"inputs\":[]",
        "{}",
        "",
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        do_call(p, 500, "POST", "/crm/v4/associations/contacts/deals/batch/read", NULL, bad[i], &c);
        CHECKF(c.c_rs.rs_status == 400 && is_error_body(c.c_json, "VALIDATION_ERROR"),
               "body #%zu: status %d %.200s", i, c.c_rs.rs_status, jb_cstr(&c.c_rs.rs_body));
        call_free(&c);
    }
    jb_free(&many);
    /* No association between the two types at all. */
    do_call(p, 500, "POST", "/crm/v4/associations/notes/calls/batch/read", NULL,
            "{\"inputs\":[{\"id\":\"1\"}]}", &c);
    CHECK(c.c_rs.rs_status == 400);
    call_free(&c);
    /* Unknown object type. */
    do_call(p, 500, "POST", "/crm/v4/associations/contacts/widgets/batch/read", NULL,
            "{\"inputs\":[]}", &c);
    CHECK(c.c_rs.rs_status == 400 && is_error_body(c.c_json, "VALIDATION_ERROR"));
    CHECK(strstr(get_str(c.c_json, "message") ? get_str(c.c_json, "message") : "", "widgets"));
done:
    call_free(&c);
    jb_free(&b);
    sim_portal_destroy(p);
}

/* -------------------------------------------------- association GET */

static void test_assoc_get(void)
{
    sim_portal *p = api_portal(56);
    call c = {0};
    REQUIRE(p != NULL);
    sim_table *cc = sim_table_by_name(p, "companies_contacts", 18);
    REQUIRE(cc != NULL);
    uint32_t heavy = 0;
    for (uint32_t i = 0; i < p->p_obj[HS_COMPANIES].o_count; i++)
        if (cc->tb_fwd[i].a_len > cc->tb_fwd[heavy].a_len)
            heavy = i;
    const sim_adj *a = &cc->tb_fwd[heavy];
    char path[128];
    snprintf(path, sizeof(path), "/crm/v4/objects/companies/%" PRIu64 "/associations/contacts",
             p->p_obj[HS_COMPANIES].o_id[heavy]);
    /* Page with limit 100; the cursor is passed as a decoded query value. */
    char after[SIM_CURSOR_MAX] = "";
    uint32_t pos = 0;
    unsigned wrong = 0;
    for (int page = 0; page < 100; page++) {
        query q = {{{"limit", "100"}}, 1};
        if (after[0])
            q.q_items[q.q_n++] = (kv){"after", after};
        do_call(p, 500, "GET", path, &q, NULL, &c);
        REQUIRE(c.c_json && c.c_rs.rs_status == 200);
        json_object *res = get(c.c_json, "results");
        for (size_t i = 0; i < json_object_array_length(res); i++, pos++)
            wrong += pos >= a->a_len || (uint64_t)json_object_get_int64(
                                            get(json_object_array_get_idx(res, i), "toObjectId")) !=
                                            p->p_obj[HS_CONTACTS].o_id[a->a_links[pos].l_other];
        const char *next = get_str(get(get(c.c_json, "paging"), "next"), "after");
        if (!next) {
            call_free(&c);
            break;
        }
        /* What a query string holds after percent-decoding. */
        size_t m = 0;
        for (const char *s = next; *s && m + 1 < sizeof(after); s++) {
            if (strncmp(s, "%3D", 3) == 0) {
                after[m++] = '=';
                s += 2;
            } else {
                after[m++] = *s;
            }
        }
        after[m] = '\0';
        call_free(&c);
    }
    CHECK_EQ(wrong, 0);
    CHECK_EQ(pos, a->a_len);
    /* Default limit 500. */
    do_call(p, 500, "GET", path, NULL, NULL, &c);
    CHECK(c.c_json &&
          json_object_array_length(get(c.c_json, "results")) == (a->a_len < 500 ? a->a_len : 500));
    call_free(&c);
    /* Bad limits, bad cursor, unknown and archived objects. */
    static const kv bad[] = {{"limit", "0"}, {"limit", "501"}, {"after", "MC0xLTU%3D"}};
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        query q = {{bad[i]}, 1};
        do_call(p, 500, "GET", path, &q, NULL, &c);
        CHECKF(c.c_rs.rs_status == 400, "%s=%s: %d", bad[i].k, bad[i].v, c.c_rs.rs_status);
        call_free(&c);
    }
    do_call(p, 500, "GET", "/crm/v4/objects/companies/42/associations/contacts", NULL, NULL, &c);
    CHECK(c.c_rs.rs_status == 404 && is_error_body(c.c_json, "OBJECT_NOT_FOUND"));
    call_free(&c);
    const sim_objects *co = &p->p_obj[HS_COMPANIES];
    for (uint32_t i = 0; i < co->o_count; i++)
        if (co->o_archived[i]) {
            snprintf(path, sizeof(path),
                     "/crm/v4/objects/companies/%" PRIu64 "/associations/contacts", co->o_id[i]);
            do_call(p, 500, "GET", path, NULL, NULL, &c);
            CHECK_EQ(c.c_rs.rs_status, 404);
            call_free(&c);
            break;
        }
done:
    call_free(&c);
    sim_portal_destroy(p);
}

/* ------------------------------------------------ labels and properties */

static void test_labels(void)
{
    sim_portal *p = api_portal(57);
    call c = {0};
    REQUIRE(p != NULL);
    sim_table *cc = sim_table_by_name(p, "companies_contacts", 18);
    REQUIRE(cc != NULL);
    static const struct {
        const char *path;
        bool reverse;
        int primary, unlabeled;
    } cases[] = {
        {"/crm/v4/associations/companies/contacts/labels", false, 2, 280},
        {"/crm/v4/associations/contacts/companies/labels", true, 1, 279},
    };
    for (size_t k = 0; k < UT_COUNT(cases); k++) {
        do_call(p, 500, "GET", cases[k].path, NULL, NULL, &c);
        REQUIRE(c.c_json && c.c_rs.rs_status == 200);
        json_object *res = get(c.c_json, "results");
        REQUIRE(res && json_object_array_length(res) == (size_t)(2 + cc->tb_nlabels));
        bool has_primary = false, has_unlabeled = false;
        int user = 0;
        for (size_t i = 0; i < json_object_array_length(res); i++) {
            json_object *e = json_object_array_get_idx(res, i);
            int id = (int)json_object_get_int64(get(e, "typeId"));
            const char *cat = get_str(e, "category");
            if (id == cases[k].primary)
                has_primary = cat && strcmp(cat, "HUBSPOT_DEFINED") == 0;
            if (id == cases[k].unlabeled)
                has_unlabeled = cat && strcmp(cat, "HUBSPOT_DEFINED") == 0;
            for (int l = 0; l < cc->tb_nlabels; l++) {
                const sim_label *lb = &cc->tb_labels[l];
                if (id == (cases[k].reverse ? lb->lb_typeid_rev : lb->lb_typeid_fwd)) {
                    user++;
                    CHECK_STR(get_str(e, "label"), cases[k].reverse ? lb->lb_inverse : lb->lb_name);
                    CHECK_STR(cat, "USER_DEFINED");
                }
            }
        }
        CHECK(has_primary && has_unlabeled);
        CHECK_EQ(user, cc->tb_nlabels);
        call_free(&c);
    }
    do_call(p, 500, "GET", "/crm/v4/associations/contacts/deals/labels", NULL, NULL, &c);
    CHECK(c.c_json && json_object_array_length(get(c.c_json, "results")) == 4);
    call_free(&c);
    do_call(p, 500, "GET", "/crm/v4/associations/calls/notes/labels", NULL, NULL, &c);
    CHECK_EQ(c.c_rs.rs_status, 400);
done:
    call_free(&c);
    sim_portal_destroy(p);
}

/* The labels of a type's properties that begin with `prefix`. */
static int count_labels(json_object *results, const char *prefix, const char *exact)
{
    int n = 0;
    for (size_t i = 0; results && i < json_object_array_length(results); i++) {
        const char *label = get_str(json_object_array_get_idx(results, i), "label");
        if (label && strncmp(label, prefix, strlen(prefix)) == 0 &&
            (!exact || strcmp(label, exact) == 0))
            n++;
    }
    return n;
}

/* The property labelled `label` in a properties list, or NULL. */
static json_object *property_labelled(json_object *results, const char *label)
{
    for (size_t i = 0; results && i < json_object_array_length(results); i++) {
        json_object *p = json_object_array_get_idx(results, i);
        const char *l = get_str(p, "label");
        if (l && strcmp(l, label) == 0)
            return p;
    }
    return NULL;
}

/* True when property p has this name, type and fieldType, calculated false
 * and hubspotDefined false (a custom property). */
static bool custom_property(json_object *p, const char *name, const char *type,
                            const char *field_type)
{
    const char *n = get_str(p, "name"), *t = get_str(p, "type"), *f = get_str(p, "fieldType");
    json_object *calc = get(p, "calculated"), *defined = get(p, "hubspotDefined");
    return n && t && f && strcmp(n, name) == 0 && strcmp(t, type) == 0 &&
           strcmp(f, field_type) == 0 && json_object_is_type(calc, json_type_boolean) &&
           !json_object_get_boolean(calc) && json_object_is_type(defined, json_type_boolean) &&
           !json_object_get_boolean(defined);
}

static void test_properties(void)
{
    sim_portal *p = api_portal(58);
    call c = {0};
    REQUIRE(p != NULL);
    /* companies_contacts has a count rollup: the parent carries the field. */
    do_call(p, 500, "GET", "/crm/v3/properties/companies", NULL, NULL, &c);
    REQUIRE(c.c_json && c.c_rs.rs_status == 200);
    json_object *res = get(c.c_json, "results");
    CHECK_EQ(count_labels(res, "sync_associations_companies_contacts_label_", NULL), 1);
    CHECK(
        custom_property(property_labelled(res, "sync_associations_companies_contacts_label_count"),
                        "sync_assoc_companies_contacts_count", "number", "calculation_rollup"));
    CHECK_EQ(count_labels(res, "sync_associations_companies_deals_label_", NULL), 0);
    /* The near-miss note rides along; nothing of the old "updated" field. */
    CHECK(custom_property(property_labelled(res, "Sync associations companies contacts label note"),
                          "sync_assoc_companies_contacts_note", "string", "text"));
    CHECK_EQ(count_labels(res, "sync_associations_companies_contacts_label_updated",
                          "sync_associations_companies_contacts_label_updated"),
             0);
    /* Names unique; the basics present. */
    unsigned dups = 0;
    bool lastmod = false, id = false;
    for (size_t i = 0; i < json_object_array_length(res); i++) {
        const char *a = get_str(json_object_array_get_idx(res, i), "name");
        lastmod |= a && strcmp(a, "hs_lastmodifieddate") == 0;
        id |= a && strcmp(a, "hs_object_id") == 0;
        for (size_t j = 0; j < i; j++) {
            const char *b = get_str(json_object_array_get_idx(res, j), "name");
            dups += a && b && strcmp(a, b) == 0;
        }
    }
    CHECK(lastmod && id);
    CHECK_EQ(dups, 0);
    call_free(&c);
    /* Children and unrelated types carry no fields of the parent's form. */
    static const char *const others[] = {"contacts", "deals", "tickets"};
    for (size_t k = 0; k < UT_COUNT(others); k++) {
        char path[64];
        snprintf(path, sizeof(path), "/crm/v3/properties/%s", others[k]);
        do_call(p, 500, "GET", path, NULL, NULL, &c);
        REQUIRE(c.c_json != NULL);
        CHECK_EQ(count_labels(get(c.c_json, "results"),
                              "sync_associations_companies_contacts_label_", NULL),
                 0);
        call_free(&c);
    }
    do_call(p, 500, "GET", "/crm/v3/properties/contacts", NULL, NULL, &c);
    res = get(c.c_json, "results");
    bool contact_lastmod = false;
    for (size_t i = 0; res && i < json_object_array_length(res); i++) {
        const char *a = get_str(json_object_array_get_idx(res, i), "name");
        contact_lastmod |= a && strcmp(a, "lastmodifieddate") == 0;
    }
    CHECK(contact_lastmod);
    call_free(&c);
    query q = {{{"archived", "true"}}, 1};
    do_call(p, 500, "GET", "/crm/v3/properties/companies", &q, NULL, &c);
    CHECK(c.c_json && json_object_array_length(get(c.c_json, "results")) == 0);
done:
    call_free(&c);
    sim_portal_destroy(p);
}

/* Per-label rollups render like the count (a custom calculation_rollup);
 * look-alikes are plain number fields with a rollup's label (…_label_count
 * where the table has no rollups, …_label_legacy where it has); the child
 * side carries the reversed near-miss; all of it follows the rollups when
 * they change at run time. */
static void test_properties_labels_and_lookalikes(void)
{
    sim_portal_config pc;
    ut_portal_config_small(&pc, 60);
    ut_portal_add_rollup(&pc, "companies_contacts", true);
    ut_portal_add_rollup(&pc, "companies_deals", false);
    pc.pc_lookalikes[pc.pc_nlookalikes++] = (hs_table){HS_COMPANIES, HS_DEALS};
    pc.pc_lookalikes[pc.pc_nlookalikes++] = (hs_table){HS_COMPANIES, HS_TICKETS};
    sim_portal *p = ut_portal_new(&pc);
    call c = {0};
    REQUIRE(p != NULL);
    do_call(p, 500, "GET", "/crm/v3/properties/companies", NULL, NULL, &c);
    REQUIRE(c.c_json && c.c_rs.rs_status == 200);
    json_object *res = get(c.c_json, "results");
    static const char *const slugs[] = {"count", "billing_contact", "decision_maker", "manager"};
    for (size_t i = 0; i < UT_COUNT(slugs); i++) {
        char label[128], name[128];
        snprintf(label, sizeof(label), "sync_associations_companies_contacts_label_%s", slugs[i]);
        snprintf(name, sizeof(name), "sync_assoc_companies_contacts_%s", slugs[i]);
        CHECKF(custom_property(property_labelled(res, label), name, "number", "calculation_rollup"),
               "%s is not a rollup named %s", label, name);
    }
    CHECK_EQ(count_labels(res, "sync_associations_companies_contacts_label_", NULL), 4);
    CHECK(custom_property(property_labelled(res, "sync_associations_companies_deals_label_count"),
                          "sync_assoc_companies_deals_count", "number", "calculation_rollup"));
    CHECK(custom_property(property_labelled(res, "sync_associations_companies_deals_label_legacy"),
                          "sync_assoc_companies_deals_legacy", "number", "number"));
    CHECK(custom_property(property_labelled(res, "sync_associations_companies_tickets_label_count"),
                          "sync_assoc_companies_tickets_count", "number", "number"));
    CHECK_EQ(count_labels(res, "sync_associations_companies_tickets_label_", NULL), 1);
    call_free(&c);
    do_call(p, 500, "GET", "/crm/v3/properties/contacts", NULL, NULL, &c);
    REQUIRE(c.c_json != NULL);
    CHECK(custom_property(property_labelled(get(c.c_json, "results"),
                                            "sync_associations_contacts_companies_label_count"),
                          "sync_assoc_contacts_companies_count", "number", "calculation_rollup"));
    call_free(&c);

    /* At run time: companies_contacts loses its per-label rollups, the
     * look-alikes go. */
    sim_rollup_tally t = {0};
    pc.pc_rollups[0].rd_labels = false;
    pc.pc_nlookalikes = 0;
    sim_portal_set_rollups(p, &pc, &t);
    do_call(p, 500, "GET", "/crm/v3/properties/companies", NULL, NULL, &c);
    REQUIRE(c.c_json != NULL);
    res = get(c.c_json, "results");
    CHECK_EQ(count_labels(res, "sync_associations_companies_contacts_label_", NULL), 1);
    CHECK_EQ(count_labels(res, "sync_associations_companies_deals_label_", NULL), 1);
    CHECK_EQ(count_labels(res, "sync_associations_companies_tickets_label_", NULL), 0);
done:
    call_free(&c);
    sim_portal_destroy(p);
}

/* ---------------------------------------------------------- errors, search */

static void test_errors_and_dispatch(void)
{
    sim_portal *p = api_portal(59);
    call c = {0};
    REQUIRE(p != NULL);
    do_call(p, 500, "GET", "/crm/v3/objects/widgets", NULL, NULL, &c);
    CHECK(c.c_rs.rs_status == 400 && is_error_body(c.c_json, "VALIDATION_ERROR"));
    CHECK(strstr(get_str(c.c_json, "message") ? get_str(c.c_json, "message") : "", "widgets"));
    call_free(&c);
    do_call(p, 500, "GET", "/nothing/here", NULL, NULL, &c);
    CHECK_EQ(c.c_rs.rs_status, 404);
    CHECK(is_error_body(c.c_json, "OBJECT_NOT_FOUND"));
    call_free(&c);
    /* A body over the limit is refused before anything else. */
    {
        sim_route route;
        sim_route_parse("POST", "/crm/v3/objects/contacts/search", &route);
        sim_request rq = {"POST",   "/crm/v3/objects/contacts/search", NULL, NULL, "", 0, true,
                          UT_NOW_MS};
        sim_api_ctx ctx = {p, 500};
        sim_response_init(&c.c_rs);
        sim_api_handle(&ctx, &route, &rq, &c.c_rs);
        c.c_json = json_tokener_parse(jb_cstr(&c.c_rs.rs_body));
        CHECK(c.c_rs.rs_status == 400 && is_error_body(c.c_json, "VALIDATION_ERROR"));
        call_free(&c);
    }
    /* Search through the API: 200 with results, 400 with HubSpot's body. */
    do_call(p, 500, "POST", "/crm/v3/objects/contacts/search", NULL, "{\"limit\":5}", &c);
    CHECK(c.c_rs.rs_status == 200 && json_object_array_length(get(c.c_json, "results")) == 5);
    call_free(&c);
    do_call(p, 500, "POST", "/crm/v3/objects/contacts/search", NULL, "{\"limit\":500}", &c);
    CHECK(c.c_rs.rs_status == 400 && is_error_body(c.c_json, "VALIDATION_ERROR"));
    call_free(&c);
    /* Error bodies: context and subCategory when given, JSON-escaped message. */
    sim_response_init(&c.c_rs);
    sim_response_error(&c.c_rs, 401, "EXPIRED_AUTHENTICATION", "sub", "{\"expire time\":[\"x\"]}",
                       "quote \" and %d", 5);
    c.c_json = json_tokener_parse(jb_cstr(&c.c_rs.rs_body));
    CHECK(c.c_rs.rs_status == 401 && is_error_body(c.c_json, "EXPIRED_AUTHENTICATION"));
    CHECK_STR(get_str(c.c_json, "message"), "quote \" and 5");
    CHECK_STR(get_str(c.c_json, "subCategory"), "sub");
    CHECK(get(get(c.c_json, "context"), "expire time") != NULL);
    call_free(&c);
    /* Headers: kept up to the limit, then dropped. */
    sim_response_init(&c.c_rs);
    for (int i = 0; i < SIM_MAX_HEADERS + 3; i++)
        sim_response_header(&c.c_rs, "X-Test", "%d", i);
    CHECK_EQ(c.c_rs.rs_nheaders, SIM_MAX_HEADERS);
    CHECK_STR(c.c_rs.rs_headers[1].h_value, "1");
    call_free(&c);
    /* UUIDs: version 4, distinct. */
    char u1[37], u2[37];
    sim_uuid(u1);
    sim_uuid(u2);
    CHECK(strlen(u1) == 36 && u1[14] == '4' && strcmp(u1, u2) != 0);
done:
    call_free(&c);
    sim_portal_destroy(p);
}

/* The length of array `key` of o, or -1. */
static int64_t array_len(json_object *o, const char *key)
{
    json_object *a = get(o, key);
    return a && json_object_is_type(a, json_type_array) ? (int64_t)json_object_array_length(a) : -1;
}

/* rs_inputs and rs_results, which size an answer's latency, match what the
 * request asked for and what the body holds, endpoint by endpoint. */
static void test_latency_counts(void)
{
    sim_portal *p = api_portal(56);
    call c = {0};
    jbuf body;
    jb_init(&body);
    REQUIRE(p != NULL);
    const sim_objects *co = &p->p_obj[HS_COMPANIES];
    query q100 = {{{"limit", "100"}}, 1};
    do_call(p, 500, "GET", "/crm/v3/objects/contacts", &q100, NULL, &c);
    CHECK_EQ(array_len(c.c_json, "results"), 100);
    CHECK(c.c_rs.rs_inputs == 0 && c.c_rs.rs_results == 100);
    call_free(&c);
    do_call(p, 500, "POST", "/crm/v3/objects/contacts/search", NULL, "{\"limit\":200}", &c);
    CHECK_EQ(array_len(c.c_json, "results"), 200);
    CHECK(c.c_rs.rs_inputs == 0 && c.c_rs.rs_results == 200);
    call_free(&c);
    /* 30 companies and one ID that does not exist. */
    jb_lit(&body, "{\"inputs\":[");
    for (uint32_t i = 0; i < 30; i++)
        jb_printf(&body, "{\"id\":\"%" PRIu64 "\"},", co->o_id[i]);
    jb_lit(&body, "{\"id\":\"1\"}]}");
    do_call(p, 500, "POST", "/crm/v3/objects/companies/batch/read", NULL, jb_cstr(&body), &c);
    CHECK_EQ(c.c_rs.rs_inputs, 31);
    CHECK_EQ(c.c_rs.rs_results, array_len(c.c_json, "results"));
    CHECK(c.c_rs.rs_results >= 25 && c.c_rs.rs_results <= 30);
    call_free(&c);
    /* Association items: every to[] of every result, a page of 100 at most. */
    do_call(p, 100, "POST", "/crm/v4/associations/companies/contacts/batch/read", NULL,
            jb_cstr(&body), &c);
    int64_t items = 0;
    json_object *res = get(c.c_json, "results");
    for (size_t i = 0; res && i < json_object_array_length(res); i++)
        items += array_len(json_object_array_get_idx(res, i), "to");
    CHECK_EQ(c.c_rs.rs_inputs, 31);
    CHECK_EQ(c.c_rs.rs_results, items);
    CHECK(items > 30);
    call_free(&c);
    char path[128];
    snprintf(path, sizeof(path), "/crm/v4/objects/companies/%" PRIu64 "/associations/contacts",
             co->o_id[0]);
    do_call(p, 500, "GET", path, NULL, NULL, &c);
    CHECK_EQ(c.c_rs.rs_results, array_len(c.c_json, "results"));
    call_free(&c);
    do_call(p, 500, "GET", "/crm/v4/associations/companies/contacts/labels", NULL, NULL, &c);
    CHECK_EQ(c.c_rs.rs_results, array_len(c.c_json, "results"));
    CHECK(c.c_rs.rs_results >= 2);
    call_free(&c);
    do_call(p, 500, "GET", "/crm/v3/properties/companies", NULL, NULL, &c);
    CHECK_EQ(c.c_rs.rs_results, array_len(c.c_json, "results"));
    CHECK(c.c_rs.rs_results > 5);
    call_free(&c);
    /* A refused request returns nothing. */
    query q500 = {{{"limit", "500"}}, 1};
    do_call(p, 500, "GET", "/crm/v3/objects/contacts", &q500, NULL, &c);
    CHECK(c.c_rs.rs_status == 400 && c.c_rs.rs_inputs == 0 && c.c_rs.rs_results == 0);
done:
    call_free(&c);
    jb_free(&body);
    sim_portal_destroy(p);
}

int unit_suite_sim_api(void)
{
    static const ut_test tests[] = {
        {"route parsing of every path form", test_route_parse},
        {"list: pages through live and archived", test_list_paging},
        {"list: parameters and their errors", test_list_params},
        {"object batch read: 207s and errors", test_object_batch},
        {"assoc batch: cursor paging equals adjacency", test_assoc_batch_paging},
        {"assoc batch: 207 NO_ASSOCIATIONS_FOUND, 400s", test_assoc_batch_errors},
        {"assoc GET: paging, limits, 404", test_assoc_get},
        {"labels", test_labels},
        {"properties and rollup fields", test_properties},
        {"per-label rollups, look-alikes, near-misses", test_properties_labels_and_lookalikes},
        {"errors, dispatch, search, headers", test_errors_and_dispatch},
        {"inputs and results for the latency model", test_latency_counts},
    };
    return ut_add_suite("sim_api", tests, UT_COUNT(tests));
}
