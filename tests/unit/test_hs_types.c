/*
 * Tests of common/base/hs_types: object type aliases, table naming and parsing
 * (parent = alphabetically first), and HubSpot's published HUBSPOT_DEFINED
 * association type IDs.
 */
#include <stdio.h>
#include <string.h>

#include "../../common/base/hs_types.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static int parse_obj(const char *s, hs_object_type *t)
{
    return hs_object_parse(s, strlen(s), t);
}

static void test_object_aliases(void)
{
    static const struct {
        const char *s;
        hs_object_type t;
    } cases[] = {
        {"contacts", HS_CONTACTS},   {"contact", HS_CONTACTS},
        {"0-1", HS_CONTACTS},        {"companies", HS_COMPANIES},
        {"company", HS_COMPANIES},   {"0-2", HS_COMPANIES},
        {"deals", HS_DEALS},         {"deal", HS_DEALS},
        {"0-3", HS_DEALS},           {"tickets", HS_TICKETS},
        {"ticket", HS_TICKETS},      {"0-5", HS_TICKETS},
        {"notes", HS_NOTES},         {"note", HS_NOTES},
        {"0-46", HS_NOTES},          {"calls", HS_CALLS},
        {"0-48", HS_CALLS},          {"emails", HS_EMAILS},
        {"0-49", HS_EMAILS},         {"meetings", HS_MEETINGS},
        {"0-47", HS_MEETINGS},       {"tasks", HS_TASKS},
        {"0-27", HS_TASKS},          {"communications", HS_COMMUNICATIONS},
        {"0-18", HS_COMMUNICATIONS}, {"postal_mail", HS_POSTAL_MAIL},
        {"0-116", HS_POSTAL_MAIL},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        hs_object_type t = HS_OBJECT_TYPE_COUNT;
        int rc = parse_obj(cases[i].s, &t);
        CHECKF(rc == 0 && t == cases[i].t, "parse(\"%s\") = %d, type %d", cases[i].s, rc, (int)t);
    }
}

static void test_object_unknown(void)
{
    static const char *const bad[] = {
        "",     "contactz",  "Contacts", "CONTACTS", "0-4",   "0-",     "0-11",     "0-1 ",
        " 0-1", "contacts/", "postal",   "mail",     "leads", "0-116x", "company_",
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        hs_object_type t;
        CHECKF(parse_obj(bad[i], &t) == -1, "\"%s\" accepted", bad[i]);
    }
    /* Only n bytes count: a prefix of a longer segment is parsed as itself. */
    hs_object_type t = HS_OBJECT_TYPE_COUNT;
    CHECK_EQ(hs_object_parse("contacts/123", 8, &t), 0);
    CHECK(t == HS_CONTACTS);
    CHECK_EQ(hs_object_parse("contacts", 7, &t), 0); /* "contact" */
    CHECK_EQ(hs_object_parse("contacts", 6, &t), -1);
}

static void test_object_info(void)
{
    CHECK_STR(hs_object(HS_CONTACTS)->oi_plural, "contacts");
    CHECK_STR(hs_object(HS_CONTACTS)->oi_singular, "contact");
    CHECK_STR(hs_object(HS_CONTACTS)->oi_type_id, "0-1");
    CHECK_STR(hs_object(HS_CONTACTS)->oi_lastmod, "lastmodifieddate");
    CHECK_STR(hs_object(HS_COMPANIES)->oi_lastmod, "hs_lastmodifieddate");
    CHECK_STR(hs_object(HS_DEALS)->oi_lastmod, "hs_lastmodifieddate");
    CHECK_STR(hs_object(HS_TICKETS)->oi_type_id, "0-5");
    CHECK_STR(hs_object(HS_POSTAL_MAIL)->oi_type_id, "0-116");
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        bool core = t == HS_CONTACTS || t == HS_COMPANIES || t == HS_DEALS || t == HS_TICKETS;
        CHECKF(hs_object((hs_object_type)t)->oi_engagement == !core, "%s: engagement flag",
               hs_object((hs_object_type)t)->oi_plural);
        /* Every alias of every type parses back to the type. */
        hs_object_type back;
        const hs_object_info *o = hs_object((hs_object_type)t);
        CHECK(parse_obj(o->oi_plural, &back) == 0 && back == (hs_object_type)t);
        CHECK(parse_obj(o->oi_singular, &back) == 0 && back == (hs_object_type)t);
        CHECK(parse_obj(o->oi_type_id, &back) == 0 && back == (hs_object_type)t);
    }
}

static void test_table_of_order(void)
{
    hs_table t;
    CHECK_EQ(hs_table_of(HS_CONTACTS, HS_COMPANIES, &t), 0);
    CHECK(t.t_parent == HS_COMPANIES && t.t_child == HS_CONTACTS);
    CHECK_EQ(hs_table_of(HS_COMPANIES, HS_CONTACTS, &t), 0);
    CHECK(t.t_parent == HS_COMPANIES && t.t_child == HS_CONTACTS);
    CHECK_EQ(hs_table_of(HS_TICKETS, HS_DEALS, &t), 0);
    CHECK(t.t_parent == HS_DEALS && t.t_child == HS_TICKETS);
    CHECK_EQ(hs_table_of(HS_TICKETS, HS_NOTES, &t), 0);
    CHECK(t.t_parent == HS_NOTES && t.t_child == HS_TICKETS);
    CHECK_EQ(hs_table_of(HS_POSTAL_MAIL, HS_TICKETS, &t), 0);
    CHECK(t.t_parent == HS_POSTAL_MAIL && t.t_child == HS_TICKETS);
    CHECK_EQ(hs_table_of(HS_POSTAL_MAIL, HS_CONTACTS, &t), 0);
    CHECK(t.t_parent == HS_CONTACTS && t.t_child == HS_POSTAL_MAIL);
    /* Same type, or two engagement types: no table. */
    CHECK_EQ(hs_table_of(HS_CONTACTS, HS_CONTACTS, &t), -1);
    CHECK_EQ(hs_table_of(HS_CALLS, HS_NOTES, &t), -1);
    CHECK_EQ(hs_table_of(HS_EMAILS, HS_POSTAL_MAIL, &t), -1);
}

static int parse_table(const char *s, hs_table *t)
{
    return hs_table_parse(s, strlen(s), t);
}

static void test_table_parse(void)
{
    hs_table t;
    CHECK_EQ(parse_table("companies_contacts", &t), 0);
    CHECK(t.t_parent == HS_COMPANIES && t.t_child == HS_CONTACTS);
    CHECK_EQ(parse_table("deals_tickets", &t), 0);
    CHECK(t.t_parent == HS_DEALS && t.t_child == HS_TICKETS);
    CHECK_EQ(parse_table("notes_tickets", &t), 0);
    CHECK(t.t_parent == HS_NOTES && t.t_child == HS_TICKETS);
    CHECK_EQ(parse_table("contacts_postal_mail", &t), 0);
    CHECK(t.t_parent == HS_CONTACTS && t.t_child == HS_POSTAL_MAIL);
    CHECK_EQ(parse_table("postal_mail_tickets", &t), 0);
    CHECK(t.t_parent == HS_POSTAL_MAIL && t.t_child == HS_TICKETS);
    CHECK_EQ(parse_table("contacts_notes", &t), 0);
    CHECK(t.t_parent == HS_CONTACTS && t.t_child == HS_NOTES);
    /* Only n bytes are read. */
    CHECK_EQ(hs_table_parse("companies_contacts,deals", 18, &t), 0);
    CHECK(t.t_parent == HS_COMPANIES && t.t_child == HS_CONTACTS);
}

static void test_table_parse_rejects(void)
{
    static const char *const bad[] = {
        "contacts_companies", /* reversed */
        "tickets_deals",
        "tickets_notes",
        "tickets_postal_mail",
        "company_contacts", /* singular */
        "companies_contact",
        "0-2_0-1", /* type IDs */
        "companies",
        "companies_",
        "_contacts",
        "companies__contacts",
        "companies_contacts_",
        "companies_contacts_deals",
        "contacts_contacts",
        "calls_notes", /* not associable */
        "",
        "_",
        "junk",
        "Companies_Contacts",
        "companies-contacts",
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        hs_table t;
        CHECKF(parse_table(bad[i], &t) == -1, "\"%s\" accepted", bad[i]);
    }
}

/* Every associable pair: the name round-trips and the engagement flag is
 * right; the defaults are the six core tables. */
static void test_table_names_roundtrip(void)
{
    int tables = 0;
    for (int x = 0; x < HS_OBJECT_TYPE_COUNT; x++) {
        for (int y = 0; y < HS_OBJECT_TYPE_COUNT; y++) {
            hs_table t, back;
            if (hs_table_of((hs_object_type)x, (hs_object_type)y, &t) != 0)
                continue;
            tables += x < y;
            char name[64];
            size_t n = hs_table_name(t, name, sizeof(name));
            CHECK_EQ(n, strlen(name));
            CHECK(strcmp(hs_object(t.t_parent)->oi_plural, hs_object(t.t_child)->oi_plural) < 0);
            CHECK(parse_table(name, &back) == 0 && back.t_parent == t.t_parent &&
                  back.t_child == t.t_child);
            bool eng = hs_object(t.t_parent)->oi_engagement || hs_object(t.t_child)->oi_engagement;
            CHECK(hs_table_is_engagement(t) == eng);
        }
    }
    /* 6 core pairs + 7 engagement types × 4 core types. */
    CHECK_EQ(tables, 34);
    static const char *const defaults[HS_DEFAULT_TABLE_COUNT] = {
        "companies_contacts", "companies_deals",  "companies_tickets",
        "contacts_deals",     "contacts_tickets", "deals_tickets",
    };
    for (int i = 0; i < HS_DEFAULT_TABLE_COUNT; i++) {
        char name[64];
        hs_table_name(hs_default_tables[i], name, sizeof(name));
        CHECK_STR(name, defaults[i]);
        CHECK(!hs_table_is_engagement(hs_default_tables[i]));
    }
    hs_table t;
    parse_table("notes_tickets", &t);
    CHECK(hs_table_is_engagement(t));
    parse_table("contacts_postal_mail", &t);
    CHECK(hs_table_is_engagement(t));
    /* A short buffer truncates but reports the full length (snprintf). */
    char small[8];
    parse_table("companies_contacts", &t);
    CHECK_EQ(hs_table_name(t, small, sizeof(small)), 18);
    CHECK_STR(small, "compani");
}

static void check_ids(hs_object_type from, hs_object_type to, int unlabeled, int primary,
                      unsigned line)
{
    int u = -7, p = -7;
    int rc = hs_assoc_type_ids(from, to, &u, &p);
    /* The caller's line, so a failure names the pair that failed. */
    check_impl(rc == 0 && u == unlabeled && p == primary, __FILE__, line,
               "rc == 0 && u == unlabeled && p == primary", "%s->%s: rc %d, ids %d/%d, want %d/%d",
               hs_object(from)->oi_plural, hs_object(to)->oi_plural, rc, u, p, unlabeled, primary);
}

static void test_type_ids_core(void)
{
    check_ids(HS_CONTACTS, HS_COMPANIES, 279, 1, __LINE__);
    check_ids(HS_COMPANIES, HS_CONTACTS, 280, 2, __LINE__);
    check_ids(HS_DEALS, HS_COMPANIES, 341, 5, __LINE__);
    check_ids(HS_COMPANIES, HS_DEALS, 342, 6, __LINE__);
    check_ids(HS_TICKETS, HS_COMPANIES, 339, 26, __LINE__);
    check_ids(HS_COMPANIES, HS_TICKETS, 340, 25, __LINE__);
    check_ids(HS_CONTACTS, HS_DEALS, 4, 0, __LINE__);
    check_ids(HS_DEALS, HS_CONTACTS, 3, 0, __LINE__);
    check_ids(HS_CONTACTS, HS_TICKETS, 15, 0, __LINE__);
    check_ids(HS_TICKETS, HS_CONTACTS, 16, 0, __LINE__);
    check_ids(HS_DEALS, HS_TICKETS, 27, 0, __LINE__);
    check_ids(HS_TICKETS, HS_DEALS, 28, 0, __LINE__);
}

static void test_type_ids_engagements(void)
{
    check_ids(HS_NOTES, HS_CONTACTS, 202, 0, __LINE__);
    check_ids(HS_CONTACTS, HS_NOTES, 201, 0, __LINE__);
    check_ids(HS_NOTES, HS_TICKETS, 228, 0, __LINE__);
    check_ids(HS_CALLS, HS_CONTACTS, 194, 0, __LINE__);
    check_ids(HS_EMAILS, HS_COMPANIES, 186, 0, __LINE__);
    check_ids(HS_MEETINGS, HS_DEALS, 212, 0, __LINE__);
    check_ids(HS_TASKS, HS_CONTACTS, 204, 0, __LINE__);
    check_ids(HS_COMMUNICATIONS, HS_CONTACTS, 82, 0, __LINE__);
    check_ids(HS_POSTAL_MAIL, HS_CONTACTS, 454, 0, __LINE__);
    check_ids(HS_CONTACTS, HS_POSTAL_MAIL, 453, 0, __LINE__);
    int u, p;
    CHECK_EQ(hs_assoc_type_ids(HS_NOTES, HS_CALLS, &u, &p), -1);
    CHECK_EQ(hs_assoc_type_ids(HS_DEALS, HS_DEALS, &u, &p), -1);
}

/* Directional IDs are unique across every directed pair (so an export line's
 * IDs say which pair and direction they belong to), and both directions of a
 * pair exist. */
static void test_type_ids_distinct(void)
{
    int seen[1024] = {0};
    int pairs = 0;
    for (int x = 0; x < HS_OBJECT_TYPE_COUNT; x++) {
        for (int y = 0; y < HS_OBJECT_TYPE_COUNT; y++) {
            int u, p, u2, p2;
            if (hs_assoc_type_ids((hs_object_type)x, (hs_object_type)y, &u, &p) != 0)
                continue;
            pairs++;
            CHECK(hs_assoc_type_ids((hs_object_type)y, (hs_object_type)x, &u2, &p2) == 0);
            CHECK((p == 0) == (p2 == 0));
            if (!CHECK(u > 0 && u < 1024 && p >= 0 && p < 1024))
                continue;
            seen[u]++;
            if (p)
                seen[p]++;
        }
    }
    CHECK_EQ(pairs, 68);
    int dups = 0;
    for (int i = 0; i < 1024; i++)
        dups += seen[i] > 1;
    CHECK_EQ(dups, 0);
}

/* The lists messages print, made from the table. */
static void test_object_names(void)
{
    char b[160], small[12];
    CHECK_STR(hs_object_names(b, sizeof(b), false, " "),
              "contacts companies deals tickets calls emails meetings notes tasks "
              "communications postal_mail");
    CHECK_STR(hs_object_names(b, sizeof(b), true, ", "),
              "calls, emails, meetings, notes, tasks, communications, postal_mail");
    CHECK_STR(hs_object_names(small, sizeof(small), false, " "), "contacts co");
}

int unit_suite_hs_types(void)
{
    static const ut_test tests[] = {
        {"object aliases", test_object_aliases},
        {"unknown object types", test_object_unknown},
        {"object info and engagement flags", test_object_info},
        {"table_of orders parent first", test_table_of_order},
        {"table_parse canonical names", test_table_parse},
        {"table_parse rejects reversed and junk", test_table_parse_rejects},
        {"table names round-trip; defaults", test_table_names_roundtrip},
        {"type ids: core pairs", test_type_ids_core},
        {"type ids: engagements", test_type_ids_engagements},
        {"type ids: distinct, both directions", test_type_ids_distinct},
        {"type name lists for messages", test_object_names},
    };
    return ut_add_suite("hs_types", tests, UT_COUNT(tests));
}
