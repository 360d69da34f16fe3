/*
 * test_hs_paths — every HubSpot path hubsync calls, exactly as the
 * simulator (and HubSpot) route them, and a buffer too small cut safely.
 */
#include <string.h>

#include "../../common/hubspot/hs_paths.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static void test_paths(void)
{
    char p[HS_PATH_MAX];
    hs_path_assoc_batch_read(p, sizeof(p), HS_COMPANIES, HS_CONTACTS);
    CHECK_STR(p, "/crm/v4/associations/companies/contacts/batch/read");
    hs_path_assoc_labels(p, sizeof(p), HS_DEALS, HS_TICKETS);
    CHECK_STR(p, "/crm/v4/associations/deals/tickets/labels");
    hs_path_object_list(p, sizeof(p), HS_CONTACTS, false, 0, NULL, 0);
    CHECK_STR(p, "/crm/v3/objects/contacts?limit=100&archived=false&properties=lastmodifieddate");
    hs_path_object_list(p, sizeof(p), HS_DEALS, true, 30504160356ULL, NULL, 0);
    CHECK_STR(p, "/crm/v3/objects/deals?limit=100&archived=true&properties=hs_lastmodifieddate"
                 "&after=30504160356");
    /* Count rollups asked for beside it; a name that would need escaping is
     * left out. */
    const char *counts[] = {"sync_assoc_companies_contacts_count", "bad name&x=1", "Count_2"};
    hs_path_object_list(p, sizeof(p), HS_COMPANIES, false, 7, counts, 3);
    CHECK_STR(p, "/crm/v3/objects/companies?limit=100&archived=false&properties="
                 "hs_lastmodifieddate,sync_assoc_companies_contacts_count,Count_2&after=7");
    hs_path_search(p, sizeof(p), HS_POSTAL_MAIL);
    CHECK_STR(p, "/crm/v3/objects/postal_mail/search");
    hs_path_properties(p, sizeof(p), HS_COMPANIES);
    CHECK_STR(p, "/crm/v3/properties/companies");
    CHECK_STR(hs_path_token, "/oauth/v1/token");
    CHECK(strncmp(hs_path_daily_probe, "/crm/v3/objects/", 16) == 0);
}

/* The longest path of any type fits HS_PATH_MAX; a short buffer is cut,
 * terminated, and the length it needed returned. */
static void test_sizes(void)
{
    char p[HS_PATH_MAX], small[10];
    char longest[64];
    memset(longest, 'x', 63);
    longest[63] = '\0';
    const char *four[] = {longest, longest, longest, longest};
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        CHECK(hs_path_object_list(p, sizeof(p), (hs_object_type)t, true, UINT64_MAX, four, 4) <
              sizeof(p));
    CHECK(hs_path_property_ok(longest));
    CHECK(!hs_path_property_ok(""));
    CHECK(!hs_path_property_ok("a-b"));
    char too_long[65];
    memset(too_long, 'x', 64);
    too_long[64] = '\0';
    CHECK(!hs_path_property_ok(too_long));
    size_t need = hs_path_search(small, sizeof(small), HS_COMMUNICATIONS);
    CHECK_EQ(need, strlen("/crm/v3/objects/communications/search"));
    CHECK_STR(small, "/crm/v3/o");
}

int unit_suite_hs_paths(void)
{
    static const ut_test tests[] = {
        {"every path, exactly", test_paths},
        {"sizes: the longest fits, a short buffer is cut", test_sizes},
    };
    return ut_add_suite("hs_paths", tests, sizeof(tests) / sizeof(tests[0]));
}
