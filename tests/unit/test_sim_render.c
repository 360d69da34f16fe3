/*
 * Tests of sim/sim_render: one CRM object as HubSpot returns it, read back
 * with json-c: string IDs, ISO-8601 times, the type's last-modified property,
 * default and requested properties, the archived form.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "../../common/base/jbuf.h"
#include "../../sim/sim_render.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static json_object *render(const sim_portal *p, hs_object_type t, uint32_t idx, int64_t modified,
                           const char (*props)[SIM_PROP_NAME_MAX], int nprops)
{
    jbuf b;
    jb_init(&b);
    sim_render_object(&b, p, t, idx, modified, props, nprops);
    json_object *o = json_tokener_parse(jb_cstr(&b));
    CHECKF(o && json_object_is_type(o, json_type_object), "not a JSON object: %.300s", jb_cstr(&b));
    jb_free(&b);
    return o;
}

static const char *str_at(json_object *o, const char *k1, const char *k2)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, k1, &v))
        return NULL;
    if (k2 && !json_object_object_get_ex(v, k2, &v))
        return NULL;
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool has_key(json_object *o, const char *k1, const char *k2)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, k1, &v))
        return false;
    return !k2 || json_object_object_get_ex(v, k2, NULL);
}

static void test_contact_default(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 31);
    sim_portal *p = ut_portal_new(&c);
    json_object *o = NULL;
    REQUIRE(p != NULL);
    const sim_objects *co = &p->p_obj[HS_CONTACTS];
    uint32_t idx = 0;
    while (idx < co->o_count && co->o_archived[idx])
        idx++;
    REQUIRE(idx < co->o_count);
    int64_t modified = 1705521304281LL;
    o = render(p, HS_CONTACTS, idx, modified, NULL, 0);
    REQUIRE(o != NULL);
    char id[32], created[32];
    fmt_u64(id, co->o_id[idx]);
    fmt_iso8601_ms(created, co->o_created_ms[idx]);
    CHECK_STR(str_at(o, "id", NULL), id);
    CHECK_STR(str_at(o, "properties", "hs_object_id"), id);
    CHECK_STR(str_at(o, "properties", "createdate"), created);
    CHECK_STR(str_at(o, "properties", "lastmodifieddate"), "2024-01-17T19:55:04.281Z");
    CHECK(!has_key(o, "properties", "hs_lastmodifieddate"));
    CHECK_STR(str_at(o, "createdAt", NULL), created);
    CHECK_STR(str_at(o, "updatedAt", NULL), "2024-01-17T19:55:04.281Z");
    const char *email = str_at(o, "properties", "email");
    CHECK(email && strstr(email, id) != NULL);
    CHECK(has_key(o, "properties", "firstname") && has_key(o, "properties", "lastname"));
    json_object *arch = NULL;
    CHECK(json_object_object_get_ex(o, "archived", &arch) &&
          json_object_is_type(arch, json_type_boolean) && !json_object_get_boolean(arch));
    CHECK(!has_key(o, "archivedAt", NULL));
done:
    json_object_put(o);
    sim_portal_destroy(p);
}

static void test_requested_properties(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 32);
    sim_portal *p = ut_portal_new(&c);
    json_object *o = NULL;
    REQUIRE(p != NULL);
    static const char props[3][SIM_PROP_NAME_MAX] = {"name", "no_such_property", "createdate"};
    o = render(p, HS_COMPANIES, 0, 5, props, 3);
    REQUIRE(o != NULL);
    CHECK(has_key(o, "properties", "name"));
    CHECK(!has_key(o, "properties", "domain")); /* a default, not requested */
    CHECK(!has_key(o, "properties", "no_such_property"));
    /* Always present, like HubSpot's. */
    CHECK(has_key(o, "properties", "hs_object_id"));
    CHECK(has_key(o, "properties", "createdate"));
    CHECK_STR(str_at(o, "properties", "hs_lastmodifieddate"), "1970-01-01T00:00:00.005Z");
    CHECK(!has_key(o, "properties", "lastmodifieddate"));
    json_object *pr = NULL;
    json_object_object_get_ex(o, "properties", &pr);
    CHECK_EQ(json_object_object_length(pr), 4);
    json_object_put(o);
    o = NULL;
    /* Deals with their defaults. */
    o = render(p, HS_DEALS, 1, 5, NULL, 0);
    REQUIRE(o != NULL);
    CHECK(has_key(o, "properties", "dealname") && has_key(o, "properties", "dealstage") &&
          has_key(o, "properties", "pipeline") && has_key(o, "properties", "amount"));
done:
    json_object_put(o);
    sim_portal_destroy(p);
}

static void test_archived_object(void)
{
    sim_portal_config c;
    ut_portal_config_small(&c, 33);
    sim_portal *p = ut_portal_new(&c);
    json_object *o = NULL;
    REQUIRE(p != NULL);
    const sim_objects *to = &p->p_obj[HS_TICKETS];
    uint32_t idx = 0;
    while (idx < to->o_count && !to->o_archived[idx])
        idx++;
    REQUIRE(idx < to->o_count);
    o = render(p, HS_TICKETS, idx, to->o_modified_ms[idx], NULL, 0);
    REQUIRE(o != NULL);
    json_object *arch = NULL;
    CHECK(json_object_object_get_ex(o, "archived", &arch) && json_object_get_boolean(arch));
    char when[32];
    fmt_iso8601_ms(when, to->o_modified_ms[idx]);
    CHECK_STR(str_at(o, "archivedAt", NULL), when);
    CHECK(has_key(o, "properties", "subject"));
done:
    json_object_put(o);
    sim_portal_destroy(p);
}

int unit_suite_sim_render(void)
{
    static const ut_test tests[] = {
        {"contact with default properties", test_contact_default},
        {"requested properties only, plus the fixed three", test_requested_properties},
        {"archived object", test_archived_object},
    };
    return ut_add_suite("sim_render", tests, UT_COUNT(tests));
}
