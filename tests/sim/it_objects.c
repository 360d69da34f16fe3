/*
 * it_objects — the object endpoints (docs/SIMULATOR.md): listing with
 * paging by record ID, archived listing, batch read with 207s, object type
 * aliases and the properties list with its rollup fields.
 */
#include <stdio.h>
#include <string.h>

#include "../../common/base/hs_types.h"
#include "../../common/base/jbuf.h"
#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_suites.h"

#define PORTAL_ARGS IT_SMALL_PORTAL, "--tier", "unlimited"

enum { PORTAL_CONTACTS = 300 };

static const uint64_t two_to_32 = 4294967296ull;

/* Pages through contacts with `limit` by hand, checking every page: IDs are
 * strings above 2^32 in ascending order, paging.next.after is the ID the
 * next page starts with, and no page is larger than `limit`. Collects IDs. */
static bool page_by_hand(tl_sim *s, int limit, bool archived, tl_objects *out)
{
    char after[32] = "";
    bool ok = true;
    memset(out, 0, sizeof(*out));
    for (int pages = 0; ok && pages < 10000; pages++) {
        tl_resp r;
        tl_getf(s, TL_TOKEN, &r, "/crm/v3/objects/contacts?limit=%d%s%s%s", limit,
                archived ? "&archived=true" : "", after[0] ? "&after=" : "", after);
        json_object *j = tl_resp_json(&r);
        ok = CHECK_EQ(r.r_status, 200) && CHECK(j != NULL);
        size_t n = tl_jlen(j, "results");
        ok = ok && CHECK_OP(n, <=, limit);
        for (size_t i = 0; ok && i < n; i++) {
            json_object *item = json_object_array_get_idx(tl_jget(j, "results"), i);
            const char *id = tl_jstr(item, "id");
            uint64_t v = 0;
            ok = CHECKF(id && tl_parse_u64(id, strlen(id), &v), "id not a decimal string") &&
                 CHECKF(v > two_to_32, "id %s not above 2^32", id);
            if (ok && i == 0 && after[0])
                ok = CHECK_STR(id, after);
            if (ok && out->os_count)
                ok = CHECKF(v > out->os_items[out->os_count - 1].o_id, "%s not ascending", id);
            json_object *arch = tl_jget(item, "archived");
            ok = ok && CHECKF(json_object_is_type(arch, json_type_boolean) &&
                                  json_object_get_boolean(arch) == archived,
                              "id %s: archived is not %s", id, archived ? "true" : "false");
            if (ok) {
                tl_object o = {.o_id = v, .o_archived = archived};
                ok = tl_objects_add(out, &o) == 0;
            }
        }
        const char *next = tl_jstr(j, "paging.next.after");
        if (ok && next)
            snprintf(after, sizeof(after), "%s", next);
        bool more = next != NULL;
        if (ok && !more && n == (size_t)limit)
            fprintf(stderr, "    note: a full last page without paging (fine)\n");
        tl_resp_free(&r);
        if (!more)
            break;
    }
    return ok;
}

static void test_list_paging(void)
{
    tl_sim s = {0};
    tl_objects live = {0}, live7 = {0}, archived = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(page_by_hand(&s, 100, false, &live));
    REQUIRE(page_by_hand(&s, 7, false, &live7));
    REQUIRE(page_by_hand(&s, 100, true, &archived));

    /* The same set whatever the page size. */
    CHECK_EQ(live7.os_count, live.os_count);
    for (size_t i = 0; i < live.os_count && i < live7.os_count; i++)
        if (!CHECK_EQ(live7.os_items[i].o_id, live.os_items[i].o_id))
            break;
    /* About 2% archived; live and archived partition the portal. */
    CHECK_OP(archived.os_count, >, 0);
    CHECK_OP(archived.os_count, <, PORTAL_CONTACTS / 10);
    CHECK_EQ(live.os_count + archived.os_count, PORTAL_CONTACTS);
    for (size_t i = 0; i < archived.os_count; i++)
        CHECKF(!tl_objects_find(&live, archived.os_items[i].o_id), "%llu listed twice",
               (unsigned long long)archived.os_items[i].o_id);

    /* Default page size is 10. */
    tl_resp r;
    tl_get(&s, "/crm/v3/objects/contacts", TL_TOKEN, &r);
    CHECK_EQ(r.r_status, 200);
    CHECK_EQ(tl_jlen(tl_resp_json(&r), "results"), 10);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_objects_free(&live);
    tl_objects_free(&live7);
    tl_objects_free(&archived);
    tl_sim_stop(&s);
}

/* Every object carries createdate and the type's last-modified property as
 * ISO-8601 strings, and updatedAt mirrors the latter. */
static void test_list_properties(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    static const char *const types[][2] = {{"contacts", "lastmodifieddate"},
                                           {"companies", "hs_lastmodifieddate"},
                                           {"deals", "hs_lastmodifieddate"},
                                           {"tickets", "hs_lastmodifieddate"}};
    for (size_t t = 0; t < 4; t++) {
        tl_resp r;
        tl_getf(&s, TL_TOKEN, &r, "/crm/v3/objects/%s?limit=5&properties=createdate,%s",
                types[t][0], types[t][1]);
        json_object *j = tl_resp_json(&r);
        CHECK_EQ(r.r_status, 200);
        CHECK_EQ(tl_jlen(j, "results"), 5);
        for (size_t i = 0; i < tl_jlen(j, "results"); i++) {
            json_object *item = json_object_array_get_idx(tl_jget(j, "results"), i);
            char path[96];
            snprintf(path, sizeof(path), "properties.%s", types[t][1]);
            const char *mod = tl_jstr(item, path);
            const char *created = tl_jstr(item, "properties.createdate");
            int64_t ms;
            CHECKF(mod && parse_iso8601_ms(mod, strlen(mod), &ms) == 0, "%s %s = %s", types[t][0],
                   types[t][1], mod ? mod : "(absent)");
            CHECKF(created && parse_iso8601_ms(created, strlen(created), &ms) == 0,
                   "%s createdate = %s", types[t][0], created ? created : "(absent)");
            CHECK_STR(tl_jstr(item, "updatedAt"), mod);
            CHECK_STR(tl_jstr(item, "properties.hs_object_id"), tl_jstr(item, "id"));
        }
        tl_resp_free(&r);
    }
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

static void test_list_limits(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    static const char *const bad[] = {
        "/crm/v3/objects/contacts?limit=101",
        "/crm/v3/objects/contacts?limit=0",
        "/crm/v3/objects/contacts?limit=-1",
        "/crm/v3/objects/contacts?limit=ten",
        "/crm/v3/objects/contacts?after=xyz",
        "/crm/v3/objects/contacts?limit=100000000000000000000",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tl_resp r;
        tl_get(&s, bad[i], TL_TOKEN, &r);
        CHECKF(tl_is_hubspot_error(&r, 400, "VALIDATION_ERROR"), "GET %s", bad[i]);
        tl_resp_free(&r);
    }
    tl_resp r;
    tl_get(&s, "/crm/v3/objects/contacts?limit=100", TL_TOKEN, &r);
    CHECK_EQ(r.r_status, 200);
    CHECK_EQ(tl_jlen(tl_resp_json(&r), "results"), 100);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

/* Builds {"inputs":[{"id":"…"},…],"properties":[…]} from IDs. */
static void batch_body(jbuf *b, const uint64_t *ids, size_t n)
{
    jb_reset(b);
    jb_lit(b, "{\"properties\":[\"lastmodifieddate\"],\"inputs\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            jb_char(b, ',');
        jb_lit(b, "{\"id\":");
        jb_u64_str(b, ids[i]);
        jb_char(b, '}');
    }
    jb_lit(b, "]}");
}

/* The set of strings in array `path` of `j`, sorted. */
static void string_set(json_object *j, const char *path, tl_lines *out)
{
    memset(out, 0, sizeof(*out));
    json_object *a = tl_jget(j, path);
    for (size_t i = 0; i < tl_jlen(j, path); i++) {
        json_object *v = json_object_array_get_idx(a, i);
        tl_lines_addf(out, "%s",
                      json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                               : "(not a string)");
    }
    tl_lines_sort(out);
}

static void test_batch_read(void)
{
    tl_sim s = {0};
    tl_objects live = {0}, archived = {0};
    tl_lines got_ids = {0}, want_ids = {0}, bad_ids = {0}, want_bad = {0};
    jbuf b;
    jb_init(&b);
    uint64_t ids[101];
    const char *path = "/crm/v3/objects/contacts/batch/read";
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(tl_list_all(&s, "contacts", false, &live) == 0);
    REQUIRE(tl_list_all(&s, "contacts", true, &archived) == 0);
    REQUIRE(live.os_count >= 101 && archived.os_count >= 1);

    /* 100 live IDs: 200, all found. */
    for (size_t i = 0; i < 101; i++)
        ids[i] = live.os_items[i].o_id;
    batch_body(&b, ids, 100);
    tl_resp r;
    tl_post_json(&s, path, TL_TOKEN, jb_cstr(&b), &r);
    CHECK_EQ(r.r_status, 200);
    CHECK_STR(tl_jstr(tl_resp_json(&r), "status"), "COMPLETE");
    CHECK_EQ(tl_jlen(tl_resp_json(&r), "results"), 100);
    tl_resp_free(&r);

    /* 101: refused. */
    batch_body(&b, ids, 101);
    tl_post_json(&s, path, TL_TOKEN, jb_cstr(&b), &r);
    CHECK(tl_is_hubspot_error(&r, 400, "VALIDATION_ERROR"));
    tl_resp_free(&r);

    /* Five real IDs, two that never existed and an archived one: 207. */
    uint64_t mix[8] = {live.os_items[0].o_id,
                       live.os_items[5].o_id,
                       live.os_items[50].o_id,
                       live.os_items[99].o_id,
                       live.os_items[100].o_id,
                       12345,
                       live.os_items[live.os_count - 1].o_id + 7777777,
                       archived.os_items[0].o_id};
    batch_body(&b, mix, 8);
    tl_post_json(&s, path, TL_TOKEN, jb_cstr(&b), &r);
    json_object *j = tl_resp_json(&r);
    CHECK_EQ(r.r_status, 207);
    for (size_t i = 0; i < tl_jlen(j, "results"); i++)
        tl_lines_addf(&got_ids, "%s",
                      tl_jstr(json_object_array_get_idx(tl_jget(j, "results"), i), "id"));
    tl_lines_sort(&got_ids);
    for (int i = 0; i < 5; i++)
        tl_lines_addf(&want_ids, "%llu", (unsigned long long)mix[i]);
    tl_lines_sort(&want_ids);
    CHECK(tl_lines_equal(&got_ids, &want_ids, "results", "expected"));
    CHECK_EQ(tl_jlen(j, "errors"), 1);
    CHECK_EQ(tl_jint_or(j, "numErrors", -1), 1);
    CHECK_STR(tl_jstr(j, "errors.0.category"), "OBJECT_NOT_FOUND");
    CHECK_STR(tl_jstr(j, "errors.0.status"), "error");
    string_set(j, "errors.0.context.ids", &bad_ids);
    for (int i = 5; i < 8; i++)
        tl_lines_addf(&want_bad, "%llu", (unsigned long long)mix[i]);
    tl_lines_sort(&want_bad);
    CHECK(tl_lines_equal(&bad_ids, &want_bad, "context.ids", "expected"));
    if (r.r_status != 207)
        tl_resp_dump("mixed batch read", &r);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    jb_free(&b);
    tl_lines_free(&got_ids);
    tl_lines_free(&want_ids);
    tl_lines_free(&bad_ids);
    tl_lines_free(&want_bad);
    tl_objects_free(&live);
    tl_objects_free(&archived);
    tl_sim_stop(&s);
}

/* The IDs of the first page of GET `path`, comma-joined into buf. */
static bool first_page_ids(tl_sim *s, const char *path, char *buf, size_t size)
{
    tl_resp r;
    tl_get(s, path, TL_TOKEN, &r);
    json_object *j = tl_resp_json(&r);
    bool ok = r.r_status == 200 && tl_jlen(j, "results") > 0;
    if (!ok)
        tl_resp_dump(path, &r);
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; ok && i < tl_jlen(j, "results"); i++) {
        const char *id = tl_jstr(json_object_array_get_idx(tl_jget(j, "results"), i), "id");
        int n = snprintf(buf + used, size - used, "%s%s", i ? "," : "", id ? id : "?");
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
    tl_resp_free(&r);
    return ok;
}

static void test_type_aliases(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    static const char *const aliases[][3] = {{"contacts", "contact", "0-1"},
                                             {"companies", "company", "0-2"},
                                             {"deals", "deal", "0-3"},
                                             {"tickets", "ticket", "0-5"}};
    for (size_t t = 0; t < 4; t++) {
        char want[1024], got[1024], path[128];
        snprintf(path, sizeof(path), "/crm/v3/objects/%s?limit=5", aliases[t][0]);
        CHECK(first_page_ids(&s, path, want, sizeof(want)));
        for (int a = 1; a < 3; a++) {
            snprintf(path, sizeof(path), "/crm/v3/objects/%s?limit=5", aliases[t][a]);
            CHECKF(first_page_ids(&s, path, got, sizeof(got)) && strcmp(got, want) == 0,
                   "%s: %s vs %s", path, got, want);
        }
        /* The date-versioned path serves the same objects. */
        snprintf(path, sizeof(path), "/crm/objects/2026-03/%s?limit=5", aliases[t][0]);
        CHECKF(first_page_ids(&s, path, got, sizeof(got)) && strcmp(got, want) == 0, "%s: %s vs %s",
               path, got, want);
    }
    static const char *const unknown[] = {"/crm/v3/objects/widgets?limit=5",
                                          "/crm/v3/objects/0-999?limit=5"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        tl_resp r;
        tl_get(&s, unknown[i], TL_TOKEN, &r);
        CHECKF(tl_is_hubspot_error(&r, 400, "VALIDATION_ERROR"), "GET %s", unknown[i]);
        tl_resp_free(&r);
    }
    tl_resp r;
    tl_post_json(&s, "/crm/v3/objects/widgets/search", TL_TOKEN, "{}", &r);
    CHECK(tl_is_hubspot_error(&r, 400, "VALIDATION_ERROR"));
    tl_resp_free(&r);
    tl_post_json(&s, "/crm/v4/associations/widgets/contacts/batch/read", TL_TOKEN,
                 "{\"inputs\":[{\"id\":\"1\"}]}", &r);
    CHECK(tl_is_hubspot_error(&r, 400, "VALIDATION_ERROR"));
    tl_resp_free(&r);
    tl_get(&s, "/crm/v3/nothing-here", TL_TOKEN, &r);
    CHECK_EQ(r.r_status, 404);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

/* The rollup labels of `type`'s properties, as "TABLE:SUFFIX FIELDTYPE"
 * lines, sorted: every label of the form sync_associations_{a}_{b}_label_{suffix}
 * where {a}_{b} is a real table name (docs/CLI.md, `--tables`), whichever side it is on, with
 * its fieldType (calculation_rollup for a rollup, number for a look-alike).
 * Labels that only look similar (another order, another prefix) are decoys a
 * careless detector would fall for, and are left out. False on error. */
static bool rollup_labels(tl_sim *s, const char *type, tl_lines *out)
{
    static const char prefix[] = "sync_associations_";
    memset(out, 0, sizeof(*out));
    tl_resp r;
    tl_getf(s, TL_TOKEN, &r, "/crm/v3/properties/%s", type);
    json_object *j = tl_resp_json(&r);
    bool ok = r.r_status == 200 && tl_jlen(j, "results") > 0;
    if (!ok)
        tl_resp_dump("properties", &r);
    for (size_t i = 0; ok && i < tl_jlen(j, "results"); i++) {
        json_object *p = json_object_array_get_idx(tl_jget(j, "results"), i);
        const char *label = tl_jstr(p, "label");
        /* Every property has HubSpot's required fields. */
        CHECKF(tl_jstr(p, "name") && label && tl_jstr(p, "type") && tl_jstr(p, "fieldType") &&
                   tl_jstr(p, "groupName"),
               "%s property %zu lacks a required field", type, i);
        if (!label || strncmp(label, prefix, strlen(prefix)) != 0)
            continue;
        const char *table = label + strlen(prefix);
        const char *mark = strstr(table, "_label_");
        hs_table t;
        if (mark && hs_table_parse(table, (size_t)(mark - table), &t) == 0)
            tl_lines_addf(out, "%.*s:%s %s", (int)(mark - table), table, mark + strlen("_label_"),
                          tl_jstr(p, "fieldType"));
    }
    tl_lines_sort(out);
    tl_resp_free(&r);
    return ok;
}

/* Checks `type`'s rollup labels against `want` (NULL-terminated lines). */
static void check_labels(tl_sim *s, const char *type, const char *const *want)
{
    tl_lines got = {0}, expected = {0};
    for (size_t i = 0; want[i]; i++)
        tl_lines_addf(&expected, "%s", want[i]);
    tl_lines_sort(&expected);
    CHECKF(rollup_labels(s, type, &got) && tl_lines_equal(&got, &expected, "labels", "expected"),
           "rollup labels of %s", type);
    tl_lines_free(&got);
    tl_lines_free(&expected);
}

static void test_properties_default(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    /* Default rollups: companies_contacts with one per label, companies_deals,
     * contacts_deals; the labels sit on the parent; companies_tickets has
     * none. */
    const char *companies[] = {"companies_contacts:count calculation_rollup",
                               "companies_contacts:billing_contact calculation_rollup",
                               "companies_contacts:decision_maker calculation_rollup",
                               "companies_contacts:manager calculation_rollup",
                               "companies_deals:count calculation_rollup",
                               NULL};
    const char *contacts[] = {"contacts_deals:count calculation_rollup", NULL};
    const char *none[] = {NULL};
    check_labels(&s, "companies", companies);
    check_labels(&s, "0-2", companies);
    check_labels(&s, "contacts", contacts);
    check_labels(&s, "deals", none);
    check_labels(&s, "tickets", none);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

static void test_properties_custom(void)
{
    tl_sim s = {0};
    const char *none[] = {NULL};
    const char *args_none[] = {PORTAL_ARGS, "--rollups", "none", NULL};
    REQUIRE(tl_sim_start(&s, args_none) == 0);
    check_labels(&s, "companies", none);
    check_labels(&s, "contacts", none);
    check_labels(&s, "deals", none);
    CHECK_EQ(tl_sim_stop(&s), 0);

    const char *args_tickets[] = {PORTAL_ARGS, "--rollups", "companies_tickets", NULL};
    const char *tickets[] = {"companies_tickets:count calculation_rollup", NULL};
    REQUIRE(tl_sim_start(&s, args_tickets) == 0);
    check_labels(&s, "companies", tickets);
    check_labels(&s, "contacts", none);
    check_labels(&s, "tickets", none);
    CHECK_EQ(tl_sim_stop(&s), 0);

    /* Per-label rollups on another table (--labels 2), and look-alikes:
     * plain number fields labelled like a rollup, "_count" where the table
     * has no rollups, "_legacy" beside real ones. */
    const char *args_mixed[] = {PORTAL_ARGS,
                                "--labels",
                                "2",
                                "--rollups",
                                "deals_tickets:labels,companies_deals",
                                "--rollup-lookalikes",
                                "companies_deals,companies_tickets",
                                NULL};
    const char *deals[] = {"deals_tickets:count calculation_rollup",
                           "deals_tickets:billing_contact calculation_rollup",
                           "deals_tickets:decision_maker calculation_rollup", NULL};
    const char *mixed_companies[] = {"companies_deals:count calculation_rollup",
                                     "companies_deals:legacy number",
                                     "companies_tickets:count number", NULL};
    REQUIRE(tl_sim_start(&s, args_mixed) == 0);
    check_labels(&s, "deals", deals);
    check_labels(&s, "companies", mixed_companies);
    check_labels(&s, "contacts", none);
    /* At run time, through /_sim/config. */
    tl_resp r;
    tl_post_json(&s, "/_sim/config", NULL,
                 "{\"rollups\":\"none\",\"rollup_lookalikes\":[\"deals_tickets\"]}", &r);
    CHECK_EQ(r.r_status, 200);
    CHECK_STR(tl_jstr(tl_resp_json(&r), "rollup_lookalikes"), "deals_tickets");
    tl_resp_free(&r);
    const char *deals_lookalike[] = {"deals_tickets:count number", NULL};
    check_labels(&s, "deals", deals_lookalike);
    check_labels(&s, "companies", none);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

int it_register_objects(void)
{
    CU_pSuite s = it_add_suite("objects");
    CU_pSuite p = it_add_suite("properties");
    if (!s || !p)
        return -1;
    int rc = 0;
    rc |= it_add_test(s, "list_paging", test_list_paging);
    rc |= it_add_test(s, "list_properties", test_list_properties);
    rc |= it_add_test(s, "list_limits", test_list_limits);
    rc |= it_add_test(s, "batch_read", test_batch_read);
    rc |= it_add_test(s, "type_aliases", test_type_aliases);
    rc |= it_add_test(p, "default_rollups", test_properties_default);
    rc |= it_add_test(p, "custom_rollups", test_properties_custom);
    return rc;
}
