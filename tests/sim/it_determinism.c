/*
 * it_determinism — the portal is a pure function of the seed and the sizes
 * (docs/SIMULATOR.md, "The portal"): equal seeds give equal truth tables and
 * equal IDs; another seed gives another portal.
 */
#include <stdio.h>
#include <string.h>

#include "../../common/base/hs_types.h"
#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_suites.h"

#define PORTAL_ARGS                                                                                \
    "--contacts", "400", "--companies", "80", "--deals", "200", "--tickets", "50",                 \
        "--heavy-parents", "1", "--heavy-links", "150", "--tier", "unlimited"

/* Equality without the diff report, for portals expected to differ. */
static bool lines_same(const tl_lines *a, const tl_lines *b)
{
    if (a->l_count != b->l_count)
        return false;
    for (size_t i = 0; i < a->l_count; i++)
        if (strcmp(a->l_items[i], b->l_items[i]) != 0)
            return false;
    return true;
}

/* Fetches the truth of the six default tables of both sims and counts the
 * tables that differ; -1 when one could not be fetched. */
static int count_differing_tables(tl_sim *a, tl_sim *b, bool report)
{
    int differ = 0;
    for (int i = 0; i < HS_DEFAULT_TABLE_COUNT; i++) {
        char name[64];
        hs_table_name(hs_default_tables[i], name, sizeof(name));
        tl_lines la = {0}, lb = {0};
        if (tl_truth(a, name, &la) < 0 || tl_truth(b, name, &lb) < 0) {
            tl_lines_free(&la);
            tl_lines_free(&lb);
            return -1;
        }
        CHECKF(la.l_count > 0, "table %s is empty", name);
        if (report ? !tl_lines_equal(&la, &lb, "first sim", "second sim") : !lines_same(&la, &lb))
            differ++;
        tl_lines_free(&la);
        tl_lines_free(&lb);
    }
    return differ;
}

/* The IDs of every live contact must match too. */
static bool same_ids(tl_sim *a, tl_sim *b, const char *type)
{
    tl_objects oa = {0}, ob = {0};
    bool same = tl_list_all(a, type, false, &oa) == 0 && tl_list_all(b, type, false, &ob) == 0 &&
                oa.os_count == ob.os_count && oa.os_count > 0;
    for (size_t i = 0; same && i < oa.os_count; i++)
        same = oa.os_items[i].o_id == ob.os_items[i].o_id;
    tl_objects_free(&oa);
    tl_objects_free(&ob);
    return same;
}

static void test_same_seed(void)
{
    tl_sim a = {0}, b = {0};
    const char *args[] = {"--seed", "42", PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&a, args) == 0);
    REQUIRE(tl_sim_start(&b, args) == 0);
    CHECK_EQ(count_differing_tables(&a, &b, true), 0);
    CHECK(same_ids(&a, &b, "contacts"));
    CHECK(same_ids(&a, &b, "deals"));
    CHECK_EQ(tl_sim_stop(&a), 0);
    CHECK_EQ(tl_sim_stop(&b), 0);
done:
    tl_sim_stop(&a);
    tl_sim_stop(&b);
}

static void test_other_seed(void)
{
    tl_sim a = {0}, b = {0};
    const char *args_a[] = {"--seed", "42", PORTAL_ARGS, NULL};
    const char *args_b[] = {"--seed", "43", PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&a, args_a) == 0);
    REQUIRE(tl_sim_start(&b, args_b) == 0);
    /* Every table of a 400-contact portal differs in practice; one suffices. */
    int differ = count_differing_tables(&a, &b, false);
    CHECKF(differ > 0, "seeds 42 and 43 gave %d differing tables", differ);
    CHECK_EQ(tl_sim_stop(&a), 0);
    CHECK_EQ(tl_sim_stop(&b), 0);
done:
    tl_sim_stop(&a);
    tl_sim_stop(&b);
}

int it_register_determinism(void)
{
    CU_pSuite s = it_add_suite("determinism");
    if (!s)
        return -1;
    int rc = 0;
    rc |= it_add_test(s, "same_seed", test_same_seed);
    rc |= it_add_test(s, "other_seed", test_other_seed);
    return rc;
}
