/*
 * it_runner — the main() of bin/test-sim and bin/test-e2e (see it_runner.h).
 */
#include "it_runner.h"

#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "testlib.h"

static int64_t test_started_ms;

/* Test setup: note the start, so the teardown can show what the test cost
 * (the suite must stay within CI's time budget; this says where it goes). */
static void note_start(void)
{
    test_started_ms = tl_now_ms();
}

/* Test teardown: a test that returned early must not leave a simulator. */
static void kill_leftovers(void)
{
    tl_kill_all();
    printf("[%.1f s] ", (double)(tl_now_ms() - test_started_ms) / 1000.0);
    fflush(stdout);
}

CU_pSuite it_add_suite(const char *name)
{
    return CU_add_suite_with_setup_and_teardown(name, NULL, NULL, note_start, kill_leftovers);
}

int it_add_test(CU_pSuite suite, const char *name, CU_TestFunc fn)
{
    return suite && CU_add_test(suite, name, fn) ? 0 : -1;
}

/* Runs what argv selects; returns CUE_SUCCESS or the CUnit error. */
static CU_ErrorCode run_selected(const it_runner *r, int argc, char **argv)
{
    if (argc < 2)
        return CU_basic_run_tests();
    CU_pSuite suite = CU_get_suite(argv[1]);
    if (!suite) {
        fprintf(stderr, "%s: no suite named \"%s\"\n", r->r_name, argv[1]);
        return CUE_NOSUITE;
    }
    if (argc < 3)
        return CU_basic_run_suite(suite);
    CU_pTest test = CU_get_test(suite, argv[2]);
    if (!test) {
        fprintf(stderr, "%s: suite \"%s\" has no test \"%s\"\n", r->r_name, argv[1], argv[2]);
        return CUE_NOTEST;
    }
    return CU_basic_run_test(suite, test);
}

int it_runner_main(const it_runner *r, int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: %s %s [SUITE [TEST]]\n", r->r_env, argv[0]);
        return 0;
    }
    if (tl_init() < 0)
        return 2;
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "%s: %s\n", r->r_name, CU_get_error_msg());
        return 2;
    }
    int rc = 0;
    for (size_t i = 0; i < r->r_nsuites; i++) {
        if (r->r_suites[i]() < 0) {
            fprintf(stderr, "%s: registering suite %zu: %s\n", r->r_name, i, CU_get_error_msg());
            rc = 2;
        }
    }
    if (rc == 0) {
        CU_basic_set_mode(CU_BRM_VERBOSE);
        CU_ErrorCode err = run_selected(r, argc, argv);
        unsigned failed = CU_get_number_of_tests_failed();
        unsigned failures = CU_get_number_of_failures();
        CU_pRunSummary sum = CU_get_run_summary();
        if (err != CUE_SUCCESS || failed > 0 || failures > 0 || sum->nSuitesFailed > 0)
            rc = 1;
        if (err != CUE_SUCCESS)
            fprintf(stderr, "%s: CUnit error: %s\n", r->r_name, CU_get_error_msg());
    }
    CU_cleanup_registry();
    tl_shutdown();
    return rc;
}
