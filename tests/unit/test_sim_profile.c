/*
 * test_sim_profile — the simulator's row per object type and per CRM pair
 * (sim/sim_profile.c): every type hs_types knows has its own row, every
 * pair of CRM types HubSpot associates has a link profile, and each
 * profile is a distribution. A type added to hs_types without its row
 * fails here, instead of borrowing another type's behaviour.
 */
#include <math.h>

#include "../../sim/sim_profile.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static double total(const double *p)
{
    double sum = 0;
    for (int k = 0; k < SIM_LINK_PROFILE_MAX; k++)
        sum += p[k];
    return sum;
}

static void test_a_row_per_type(void)
{
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const sim_type_profile *tp = sim_type_profile_of((hs_object_type)t);
        CHECK_EQ(tp->tp_type, t);
        CHECK(tp->tp_nprops > 0 && tp->tp_props != NULL);
        if (hs_object((hs_object_type)t)->oi_engagement) {
            CHECK(total(tp->tp_engagement_links) == 0); /* engagements link to CRM types */
            CHECK_EQ(tp->tp_default_count, 0);
        } else {
            CHECK(fabs(total(tp->tp_engagement_links) - 1) < 1e-9);
            CHECK(tp->tp_default_count > 0);
            CHECK(tp->tp_nrecord_props > 0);
        }
    }
}

static void test_a_row_per_crm_pair(void)
{
    int pairs = 0;
    for (int a = 0; a < HS_OBJECT_TYPE_COUNT; a++)
        for (int b = 0; b < HS_OBJECT_TYPE_COUNT; b++) {
            hs_table t;
            if (hs_table_of((hs_object_type)a, (hs_object_type)b, &t) != 0 ||
                t.t_parent != (hs_object_type)a || hs_table_is_engagement(t))
                continue;
            const sim_pair_profile *pp = sim_pair_profile_of(t.t_parent, t.t_child);
            CHECK(pp != NULL);
            if (pp)
                CHECK(fabs(total(pp->pp_links) - 1) < 1e-9);
            pairs++;
        }
    CHECK_EQ(pairs, 6); /* contacts, companies, deals, tickets: six pairs */
    CHECK(sim_pair_profile_of(HS_CONTACTS, HS_CALLS) == NULL);
}

int unit_suite_sim_profile(void)
{
    static const ut_test tests[] = {
        {"a row per object type", test_a_row_per_type},
        {"a link profile per CRM pair", test_a_row_per_crm_pair},
    };
    return ut_add_suite("sim_profile", tests, sizeof(tests) / sizeof(tests[0]));
}
