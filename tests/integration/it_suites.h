/*
 * it_suites — the integration suites of bin/test-sim, each in its own file,
 * and the registration helpers they share. it_main.c calls every
 * it_register_*() in turn.
 */
#ifndef HUBSYNC_IT_SUITES_H
#define HUBSYNC_IT_SUITES_H

#include <CUnit/CUnit.h>

/* A small portal that starts in milliseconds: for tests that need a few
 * objects of each core type but no paging of heavy parents. Use inside an
 * argument array initializer. */
#define IT_SMALL_PORTAL                                                                            \
    "--contacts", "300", "--companies", "60", "--deals", "150", "--tickets", "30",                 \
        "--heavy-parents", "0"

/* A new suite whose teardown kills any simulator a test left running. NULL
 * when CUnit fails (the registry error is reported by it_main). */
CU_pSuite it_add_suite(const char *name);

/* Adds a test to `suite`; returns 0 or -1. */
int it_add_test(CU_pSuite suite, const char *name, CU_TestFunc fn);

int it_register_startup(void);
int it_register_determinism(void);
int it_register_objects(void);
int it_register_assoc(void);
int it_register_search(void);
int it_register_ratelimit(void);
int it_register_auth(void);
int it_register_mutate(void);
int it_register_rollups(void);
int it_register_robust(void);
int it_register_engine(void);
int it_register_sync(void);
int it_register_cli(void);
int it_register_incremental(void);
int it_register_reliability(void);
int it_register_tls(void);
int it_register_daily(void);
int it_register_disk(void);
int it_register_badinput(void);
int it_register_ops(void);
int it_register_drift(void);
int it_register_refdesign(void);
int it_register_simload(void);
int it_register_latency(void);
int it_register_rollups(void);

#endif
