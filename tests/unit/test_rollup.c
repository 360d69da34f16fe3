/*
 * test_rollup — coordinator/rollup.c: which properties are a table's rollup
 * fields (label prefix and type number / fieldType calculation_rollup),
 * which only look like them and why, and which association labels the
 * rollup fields watch. Properties come from JSON bodies through
 * hs_parse_properties, as setup and doctor get them.
 */
#include <stdlib.h>
#include <string.h>

#include "../../coordinator/rollup.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static hs_table table(const char *name)
{
    hs_table t = {0};
    CHECK(hs_table_parse(name, strlen(name), &t) == 0);
    return t;
}

/* What a detection test holds: the properties fetched, and what detection
 * made of them for one table. */
typedef struct fixture {
    parent_props fx_pp;
    store_schema fx_sc;
    size_t fx_nignored;
    rollup_lookalike *fx_la;
    size_t fx_nla;
} fixture;

static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof(*f));
    parent_props_init(&f->fx_pp);
    store_schema_init(&f->fx_sc);
}

static void fixture_free(fixture *f)
{
    free(f->fx_la);
    store_schema_free(&f->fx_sc);
    parent_props_free(&f->fx_pp);
}

/* Parses body as the properties of `type` (when body is not NULL), then
 * runs rollup_detect and rollup_lookalikes for table `name` into f. */
static bool detect(fixture *f, hs_object_type type, const char *body, const char *name)
{
    err_info e = {0, ""};
    int rc = body ? hs_parse_properties(body, strlen(body), &f->fx_pp.pp_props[type], &e) : 0;
    f->fx_pp.pp_have[type] = rc == 0;
    free(f->fx_la);
    f->fx_la = NULL;
    f->fx_nla = f->fx_nignored = 9; /* both functions must set them */
    if (rc == 0)
        rc = rollup_detect(&f->fx_pp, table(name), &f->fx_sc, &f->fx_nignored, &e);
    if (rc == 0)
        rc = rollup_lookalikes(&f->fx_pp, table(name), &f->fx_la, &f->fx_nla, &e);
    return CHECKF(rc == 0, "%s: rc %d %s", name, rc, e.ei_msg);
}

/* The simulator's rollup fields are rollups: the table goes incremental. */
static void test_detect_real_rollups(void)
{
    fixture f;
    fixture_init(&f);
    static const char body[] =
        "{\"results\":["
        "{\"name\":\"num_associated_contacts\",\"label\":\"Number of Associated Contacts\","
        "\"type\":\"number\",\"fieldType\":\"number\",\"calculated\":true},"
        "{\"name\":\"sync_assoc_companies_contacts_updated\",\"label\":"
        "\"sync_associations_companies_contacts_label_updated\",\"type\":\"number\","
        "\"fieldType\":\"calculation_rollup\",\"calculated\":true},"
        "{\"name\":\"sync_assoc_companies_contacts_count\",\"label\":"
        "\"sync_associations_companies_contacts_label_count\",\"type\":\"number\","
        "\"fieldType\":\"calculation_rollup\",\"calculated\":false},"
        "{\"name\":\"sync_assoc_companies_contacts_note\",\"label\":"
        "\"Sync associations companies contacts label note\",\"type\":\"string\","
        "\"fieldType\":\"text\"}"
        "]}";
    REQUIRE(detect(&f, HS_COMPANIES, body, "companies_contacts"));
    const store_schema *sc = &f.fx_sc;
    CHECK_EQ(f.fx_nignored, 0);
    CHECK(sc->sc_supports_roll_up);
    CHECK_EQ(sc->sc_ping_type, STORE_PING_INCREMENTAL);
    CHECK_STR(sc->sc_rollup_fields_object_id, "companies");
    REQUIRE_EQ(sc->sc_nrollup_field_labels, 2);
    CHECK_STR(sc->sc_rollup_field_labels[0], "sync_associations_companies_contacts_label_count");
    CHECK_STR(sc->sc_rollup_field_labels[1], "sync_associations_companies_contacts_label_updated");
    /* The count's internal name, for the first list's heavy parents. */
    CHECK_STR(sc->sc_count_field, "sync_assoc_companies_contacts_count");
    CHECK_EQ(f.fx_nla, 0);
    CHECK(f.fx_la == NULL);
    /* Another table of the same parent has none. */
    REQUIRE(detect(&f, HS_COMPANIES, NULL, "companies_deals"));
    CHECK(!sc->sc_supports_roll_up);
    CHECK_EQ(sc->sc_ping_type, STORE_PING_FULL);
    CHECK_EQ(sc->sc_nrollup_field_labels, 0);
    CHECK_STR(sc->sc_count_field, "");
done:
    fixture_free(&f);
}

/* A number property with a rollup label (a counter kept by hand or by a
 * workflow) is not a rollup: the table stays read_full_ping, and the
 * look-alike is listed with its name and why. */
static void test_detect_lookalike_only(void)
{
    fixture f;
    fixture_init(&f);
    /* HubSpot sets `calculated` on its own counters; it must not matter. */
    static const char body[] = "{\"results\":["
                               "{\"name\":\"deal_sync_count\",\"label\":"
                               "\"sync_associations_deals_tickets_label_count\",\"type\":"
                               "\"number\",\"fieldType\":\"number\",\"calculated\":true}"
                               "]}";
    REQUIRE(detect(&f, HS_DEALS, body, "deals_tickets"));
    CHECK(!f.fx_sc.sc_supports_roll_up);
    CHECK_EQ(f.fx_sc.sc_ping_type, STORE_PING_FULL);
    CHECK_EQ(f.fx_sc.sc_nrollup_field_labels, 0);
    CHECK_STR(f.fx_sc.sc_count_field, ""); /* a look-alike's name is no count */
    CHECK_STR(f.fx_sc.sc_rollup_fields_object_id, "deals");
    CHECK_EQ(f.fx_nignored, 0);
    REQUIRE_EQ(f.fx_nla, 1);
    CHECK_STR(f.fx_la[0].rl_label, "sync_associations_deals_tickets_label_count");
    CHECK_STR(f.fx_la[0].rl_name, "deal_sync_count");
    CHECK_STR(f.fx_la[0].rl_reason, "fieldType \"number\", not \"calculation_rollup\"");
done:
    fixture_free(&f);
}

/* Rollups and look-alikes side by side: only the rollups are stored (a
 * label shared with a look-alike once), the look-alikes come sorted by label
 * then name, each with its reason. */
static void test_detect_mixed(void)
{
    fixture f;
    fixture_init(&f);
    static const char body[] =
        "{\"results\":["
        "{\"name\":\"z_missing\",\"label\":\"sync_associations_contacts_deals_label_b\"},"
        "{\"name\":\"real_count\",\"label\":\"sync_associations_contacts_deals_label_count\","
        "\"type\":\"number\",\"fieldType\":\"calculation_rollup\"},"
        "{\"name\":\"fake_count\",\"label\":\"sync_associations_contacts_deals_label_count\","
        "\"type\":\"number\",\"fieldType\":\"number\"},"
        "{\"name\":\"a_text\",\"label\":\"sync_associations_contacts_deals_label_b\","
        "\"type\":\"string\",\"fieldType\":\"text\"},"
        "{\"name\":\"str_rollup\",\"label\":\"sync_associations_contacts_deals_label_a\","
        "\"type\":\"string\",\"fieldType\":\"calculation_rollup\"},"
        "{\"name\":\"real_champion\",\"label\":\"sync_associations_contacts_deals_label_Champion\","
        "\"type\":\"number\",\"fieldType\":\"calculation_rollup\"},"
        /* Not the table's prefix: neither a rollup field nor a look-alike. */
        "{\"name\":\"other\",\"label\":\"sync_associations_deals_contacts_label_count\","
        "\"type\":\"number\",\"fieldType\":\"number\"},"
        "{\"name\":\"case\",\"label\":\"Sync_associations_contacts_deals_label_count\","
        "\"type\":\"number\",\"fieldType\":\"number\"}"
        "]}";
    REQUIRE(detect(&f, HS_CONTACTS, body, "contacts_deals"));
    const store_schema *sc = &f.fx_sc;
    const rollup_lookalike *la = f.fx_la;
    CHECK(sc->sc_supports_roll_up);
    REQUIRE_EQ(sc->sc_nrollup_field_labels, 2);
    CHECK_STR(sc->sc_rollup_field_labels[0], "sync_associations_contacts_deals_label_Champion");
    CHECK_STR(sc->sc_rollup_field_labels[1], "sync_associations_contacts_deals_label_count");
    REQUIRE_EQ(f.fx_nla, 4);
    CHECK_STR(la[0].rl_name, "str_rollup");
    CHECK_STR(la[0].rl_reason, "type \"string\", not \"number\"");
    CHECK_STR(la[1].rl_name, "a_text");
    CHECK_STR(la[1].rl_reason,
              "type \"string\" and fieldType \"text\", not \"number\" and \"calculation_rollup\"");
    CHECK_STR(la[2].rl_name, "z_missing");
    CHECK_STR(la[2].rl_reason,
              "no type and no fieldType, not \"number\" and \"calculation_rollup\"");
    CHECK_STR(la[3].rl_name, "fake_count");
    CHECK_STR(la[3].rl_label, "sync_associations_contacts_deals_label_count");
    /* The parent's properties only: the child's do not count for the table. */
    REQUIRE(detect(&f, HS_DEALS, body, "deals_tickets"));
    CHECK_EQ(f.fx_sc.sc_nrollup_field_labels, 0);
    CHECK_EQ(f.fx_nla, 0);
done:
    fixture_free(&f);
}

/* Every reason rollup_not_rollup_reason gives, and "" for a rollup. */
static void test_reasons(void)
{
    hs_properties ps;
    hs_properties_init(&ps);
    err_info e = {0, ""};
    static const char body[] =
        "{\"results\":["
        "{\"name\":\"a\",\"label\":\"l\",\"type\":\"number\",\"fieldType\":\"calculation_rollup\"},"
        "{\"name\":\"b\",\"label\":\"l\",\"type\":\"number\",\"fieldType\":\"number\"},"
        "{\"name\":\"c\",\"label\":\"l\",\"type\":\"string\",\"fieldType\":\"calculation_rollup\"},"
        "{\"name\":\"d\",\"label\":\"l\",\"type\":\"\",\"fieldType\":\"\"},"
        "{\"name\":\"e\",\"label\":\"l\",\"type\":\"number\"},"
        "{\"name\":\"f\",\"label\":\"l\",\"fieldType\":\"calculation_rollup\"},"
        "{\"name\":\"g\",\"label\":\"l\",\"type\":\"enumeration\",\"fieldType\":\"select\"}"
        "]}";
    static const char *const want[] = {
        "",
        "fieldType \"number\", not \"calculation_rollup\"",
        "type \"string\", not \"number\"",
        "no type and no fieldType, not \"number\" and \"calculation_rollup\"",
        "no fieldType, not \"calculation_rollup\"",
        "no type, not \"number\"",
        "type \"enumeration\" and fieldType \"select\", not \"number\" and \"calculation_rollup\"",
    };
    REQUIRE_EQ(hs_parse_properties(body, strlen(body), &ps, &e), 0);
    REQUIRE_EQ(ps.ps_count, UT_COUNT(want));
    for (size_t i = 0; i < UT_COUNT(want); i++) {
        char buf[160];
        rollup_not_rollup_reason(&ps, i, buf, sizeof(buf));
        CHECK_STR(buf, want[i]);
    }
    /* Cut to the buffer, NUL-terminated. */
    char small[8];
    rollup_not_rollup_reason(&ps, 1, small, sizeof(small));
    CHECK_STR(small, "fieldTy");
done:
    hs_properties_free(&ps);
}

/* Engagement tables keep their rule: every matching label is ignored,
 * rollup or not, and none is a look-alike. */
static void test_engagement(void)
{
    fixture f;
    fixture_init(&f);
    err_info e = {0, ""};
    size_t n = 0;
    static const char body[] =
        "{\"results\":["
        "{\"name\":\"a\",\"label\":\"sync_associations_contacts_notes_label_count\","
        "\"type\":\"number\",\"fieldType\":\"calculation_rollup\"},"
        "{\"name\":\"b\",\"label\":\"sync_associations_contacts_notes_label_x\","
        "\"type\":\"number\",\"fieldType\":\"number\"}"
        "]}";
    REQUIRE(detect(&f, HS_CONTACTS, body, "contacts_notes"));
    CHECK_EQ(f.fx_nignored, 2);
    CHECK(!f.fx_sc.sc_supports_roll_up);
    CHECK_EQ(f.fx_sc.sc_nrollup_field_labels, 0);
    CHECK_EQ(f.fx_nla, 0);
    CHECK(f.fx_la == NULL);
    CHECK_EQ(rollup_lookalikes(&f.fx_pp, table("contacts_notes"), NULL, &n, &e), ERR_INVALID);
done:
    fixture_free(&f);
}

/* The suffix convention: "count" counts all, any other suffix names one
 * label, by name (case and separators aside) or by type ID. */
static void test_suffix_names_label(void)
{
    hs_table t = table("companies_contacts");
    CHECK_STR(rollup_label_suffix(t, "sync_associations_companies_contacts_label_count"), "count");
    CHECK_STR(rollup_label_suffix(t, "sync_associations_companies_contacts_label_"), "");
    CHECK(rollup_label_suffix(t, "sync_associations_companies_deals_label_count") == NULL);
    CHECK(rollup_label_suffix(t, "Sync_associations_companies_contacts_label_x") == NULL);

    static const struct {
        const char *suffix, *label;
        int32_t type_id;
        bool names;
    } cases[] = {
        {"billing_contact", "Billing contact", 1000, true},
        {"Billing contact", "Billing contact", 1000, true},
        {"BILLING-CONTACT", "Billing contact", 1000, true},
        {"_billing__contact_", "  Billing / contact ", 1000, true},
        {"1000", "Billing contact", 1000, true},
        {"1000", NULL, 1000, true},
        {"1001", "Billing contact", 1000, false},
        {"billing", "Billing contact", 1000, false},
        {"billingcontact", "Billing contact", 1000, false},
        {"count", "count", 1000, false}, /* count: every association */
        {"count", "Count", 5, false},
        {"updated", "Billing contact", 1000, false},
        {"", "", 1000, false},
        {"_", "-", 1000, false},
        {"x", NULL, 1000, false},
        {NULL, "Billing contact", 1000, false},
        {"caf\xc3\xa9", "Caf\xc3\xa9", 7, true},
        {"-2", "Minus", -2, true},
    };
    char buf[32];
    CHECK(rollup_suffix_for_label("Billing contact", buf, sizeof(buf)));
    CHECK_STR(buf, "billing_contact");
    CHECK(rollup_suffix_names_label(buf, "Billing contact", 1));
    CHECK(rollup_suffix_for_label(" Caf\xc3\xa9 & Co. ", buf, sizeof(buf)));
    CHECK_STR(buf, "caf\xc3\xa9_co");
    CHECK(!rollup_suffix_for_label(" - ", buf, sizeof(buf)));
    CHECK(!rollup_suffix_for_label(NULL, buf, sizeof(buf)));
    CHECK(!rollup_suffix_for_label("a label longer than thirty-two bytes", buf, sizeof(buf)));
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        bool got = rollup_suffix_names_label(cases[i].suffix, cases[i].label, cases[i].type_id);
        CHECKF(got == cases[i].names, "cases[%zu] %s / %s: %d", i,
               cases[i].suffix ? cases[i].suffix : "(null)",
               cases[i].label ? cases[i].label : "(null)", (int)got);
    }
}

/* Which labels a schema's rollup fields watch, and whether it has any
 * per-label rollup at all. */
static void test_watches(void)
{
    hs_table t = table("companies_contacts");
    store_schema sc;
    store_schema_init(&sc);
    static const char *const only_count[] = {"sync_associations_companies_contacts_label_count",
                                             "sync_associations_companies_contacts_label_updated"};
    for (size_t i = 0; i < 2; i++)
        REQUIRE_EQ(store_schema_add_label(&sc, only_count[i], strlen(only_count[i])), 0);
    /* updated is meant per label, but names none of the pair's. */
    CHECK(rollup_has_per_label(&sc, t));
    CHECK(!rollup_watches_label(&sc, t, "Billing contact", 1000));
    CHECK(!rollup_watches_label(&sc, t, "count", 1));
    static const char per_label[] = "sync_associations_companies_contacts_label_billing_contact";
    REQUIRE_EQ(store_schema_add_label(&sc, per_label, strlen(per_label)), 0);
    CHECK(rollup_watches_label(&sc, t, "Billing contact", 1000));
    CHECK(!rollup_watches_label(&sc, t, "Decision maker", 1001));
    /* Another table's prefix does not count. */
    CHECK(!rollup_watches_label(&sc, table("companies_deals"), "Billing contact", 1000));
    store_schema_free(&sc);
    store_schema_init(&sc);
    REQUIRE_EQ(store_schema_add_label(&sc, only_count[0], strlen(only_count[0])), 0);
    CHECK(!rollup_has_per_label(&sc, t));
    CHECK(!rollup_watches_label(&sc, t, "Billing contact", 1000));
    store_schema_free(&sc);
    store_schema_init(&sc);
    CHECK(!rollup_has_per_label(&sc, t));
done:
    store_schema_free(&sc);
}

int unit_suite_rollup(void)
{
    static const ut_test tests[] = {
        {"detect: the simulator's rollup fields", test_detect_real_rollups},
        {"detect: only a look-alike stays read_full_ping", test_detect_lookalike_only},
        {"detect: rollups and look-alikes side by side", test_detect_mixed},
        {"look-alikes: every reason", test_reasons},
        {"engagement tables ignore every matching label", test_engagement},
        {"per-label rollups: the suffix names a label", test_suffix_names_label},
        {"per-label rollups: which labels a schema watches", test_watches},
    };
    return ut_add_suite("rollup", tests, UT_COUNT(tests));
}
