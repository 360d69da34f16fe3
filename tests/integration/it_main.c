/*
 * it_main — the runner of bin/test-sim, the simulator's integration suites.
 *
 *   HUBSPOT_SIM=bin/hubspot-sim bin/test-sim [SUITE [TEST]]
 *
 * Runs every suite (or the one named, or one test of it) in CUnit's basic
 * verbose mode. Exits 0 only when every test ran and passed.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../lib/testlib.h"
#include "it_suites.h"

/* Test teardown: a test that returned early must not leave a simulator. */
static void kill_leftovers(void)
{
    tl_kill_all();
}

CU_pSuite it_add_suite(const char *name)
{
    return CU_add_suite_with_setup_and_teardown(name, NULL, NULL, NULL, kill_leftovers);
}

int it_add_test(CU_pSuite suite, const char *name, CU_TestFunc fn)
{
    return suite && CU_add_test(suite, name, fn) ? 0 : -1;
}

static int (*const registrations[])(void) = {
    it_register_startup, it_register_determinism, it_register_objects,     it_register_assoc,
    it_register_search,  it_register_ratelimit,   it_register_auth,        it_register_mutate,
    it_register_rollups, it_register_robust,      it_register_engine,      it_register_sync,
    it_register_cli,     it_register_incremental, it_register_reliability, it_register_tls,
    it_register_daily,   it_register_disk,        it_register_badinput,    it_register_ops,
    it_register_drift,   it_register_refdesign,   it_register_simload,     it_register_latency,
};

/* Runs what argv selects; returns CUE_SUCCESS or the CUnit error. */
static CU_ErrorCode run_selected(int argc, char **argv)
{
    if (argc < 2)
        return CU_basic_run_tests();
    CU_pSuite suite = CU_get_suite(argv[1]);
    if (!suite) {
        fprintf(stderr, "test-sim: no suite named \"%s\"\n", argv[1]);
        return CUE_NOSUITE;
    }
    if (argc < 3)
        return CU_basic_run_suite(suite);
    CU_pTest test = CU_get_test(suite, argv[2]);
    if (!test) {
        fprintf(stderr, "test-sim: suite \"%s\" has no test \"%s\"\n", argv[1], argv[2]);
        return CUE_NOTEST;
    }
    return CU_basic_run_test(suite, test);
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: HUBSPOT_SIM=bin/hubspot-sim %s [SUITE [TEST]]\n", argv[0]);
        return 0;
    }
    if (tl_init() < 0)
        return 2;
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "test-sim: %s\n", CU_get_error_msg());
        return 2;
    }
    int rc = 0;
    for (size_t i = 0; i < sizeof(registrations) / sizeof(registrations[0]); i++) {
        if (registrations[i]() < 0) {
            fprintf(stderr, "test-sim: registering suite %zu: %s\n", i, CU_get_error_msg());
            rc = 2;
        }
    }
    if (rc == 0) {
        CU_basic_set_mode(CU_BRM_VERBOSE);
        CU_ErrorCode err = run_selected(argc, argv);
        unsigned failed = CU_get_number_of_tests_failed();
        unsigned failures = CU_get_number_of_failures();
        CU_pRunSummary sum = CU_get_run_summary();
        if (err != CUE_SUCCESS || failed > 0 || failures > 0 || sum->nSuitesFailed > 0)
            rc = 1;
        if (err != CUE_SUCCESS)
            fprintf(stderr, "test-sim: CUnit error: %s\n", CU_get_error_msg());
    }
    CU_cleanup_registry();
    tl_shutdown();
    return rc;
}
