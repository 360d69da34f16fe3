/*
 * unit_main — the CUnit runner of bin/test-unit: registers every suite of
 * unit_suites.h and runs them with the basic interface in verbose mode.
 *
 *   bin/test-unit            every suite
 *   bin/test-unit NAME...    only the named suites (e.g. jbuf sim_portal)
 *
 * Exit status: 0 when every assertion passed, 1 when any failed or a suite
 * could not be set up, 2 when CUnit itself failed.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit_suites.h"

typedef struct suite_entry {
    const char *se_name;
    int (*se_register)(void);
} suite_entry;

static const suite_entry suites[] = {
    {"jbuf", unit_suite_jbuf},
    {"hs_types", unit_suite_hs_types},
    {"rate_spec", unit_suite_rate_spec},
    {"sim_portal", unit_suite_sim_portal},
    {"sim_profile", unit_suite_sim_profile},
    {"sim_rollup", unit_suite_sim_rollup},
    {"sim_limits", unit_suite_sim_limits},
    {"sim_foreign", unit_suite_sim_foreign},
    {"sim_latency", unit_suite_sim_latency},
    {"sim_cursor", unit_suite_sim_cursor},
    {"sim_auth", unit_suite_sim_auth},
    {"sim_stats", unit_suite_sim_stats},
    {"sim_config", unit_suite_sim_config},
    {"sim_json", unit_suite_sim_json},
    {"sim_render", unit_suite_sim_render},
    {"sim_search", unit_suite_sim_search},
    {"sim_api", unit_suite_sim_api},
    {"rl", unit_suite_rl},
    {"budget", unit_suite_budget},
    {"shm", unit_suite_shm},
    {"hs_codec", unit_suite_hs_codec},
    {"hs_paths", unit_suite_hs_paths},
    {"mpread", unit_suite_mpread},
    {"wire", unit_suite_wire},
    {"idset", unit_suite_idset},
    {"store", unit_suite_store},
    {"url", unit_suite_url},
    {"rollup", unit_suite_rollup},
    {"route", unit_suite_route},
    {"cli", unit_suite_cli},
    {"progress", unit_suite_progress},
    {"config", unit_suite_config},
    {"afile", unit_suite_afile},
    {"scan", unit_suite_scan},
    {"listing", unit_suite_listing},
    {"changes", unit_suite_changes},
};

static int selected(const char *name, int argc, char **argv)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "test-unit: %s\n", CU_get_error_msg());
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        int known = 0;
        for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++)
            known |= strcmp(argv[i], suites[s].se_name) == 0;
        if (!known) {
            fprintf(stderr, "test-unit: no suite named '%s'\n", argv[i]);
            CU_cleanup_registry();
            return 2;
        }
    }
    for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
        if (selected(suites[s].se_name, argc, argv) && suites[s].se_register() != 0) {
            fprintf(stderr, "test-unit: registering %s: %s\n", suites[s].se_name,
                    CU_get_error_msg());
            CU_cleanup_registry();
            return 2;
        }
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_ErrorCode rc = CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    unsigned suites_failed = CU_get_number_of_suites_failed();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    if (rc != CUE_SUCCESS || err != CUE_SUCCESS) {
        fprintf(stderr, "test-unit: CUnit error %d\n", rc != CUE_SUCCESS ? (int)rc : (int)err);
        return 2;
    }
    return failures || suites_failed ? 1 : 0;
}
