/*
 * it_runner — what the integration runners share: bin/test-sim (the
 * simulator's own suites, tests/sim/) and bin/test-e2e (hubsync end to end
 * against the simulator, tests/e2e/). Each runner's main() hands its suites'
 * registration functions to it_runner_main(), which takes the command line
 *
 *   RUNNER [SUITE [TEST]]
 *
 * and runs every suite (or the one named, or one test of it) in CUnit's basic
 * verbose mode. Every suite's teardown kills whatever simulator a test left
 * running.
 */
#ifndef HUBSYNC_IT_RUNNER_H
#define HUBSYNC_IT_RUNNER_H

#include <stddef.h>

#include <CUnit/CUnit.h>

/* A small portal that starts in milliseconds: for tests that need a few
 * objects of each core type but no paging of heavy parents. Use inside an
 * argument array initializer. */
#define IT_SMALL_PORTAL                                                                            \
    "--contacts", "300", "--companies", "60", "--deals", "150", "--tickets", "30",                 \
        "--heavy-parents", "0"

/* A new suite whose teardown kills any simulator a test left running. NULL
 * when CUnit fails (the registry error is reported by it_runner_main). */
CU_pSuite it_add_suite(const char *name);

/* Adds a test to `suite`; returns 0 or -1. */
int it_add_test(CU_pSuite suite, const char *name, CU_TestFunc fn);

/* One runner: its name ("test-sim") and the environment its usage line
 * shows ("HUBSPOT_SIM=bin/hubspot-sim"), and its suites' registration
 * functions, each returning 0 or -1. */
typedef struct it_runner {
    const char *r_name;
    const char *r_env;
    int (*const *r_suites)(void);
    size_t r_nsuites;
} it_runner;

/* The runner's main(): registers every suite, runs what argv selects. Returns
 * the exit status: 0 only when every selected test ran and passed, 1 when
 * one failed, 2 when the runner could not start. */
int it_runner_main(const it_runner *r, int argc, char **argv);

#endif
