/*
 * it_suites — the simulator's own suites, run by bin/test-sim (it_main.c):
 * each starts bin/hubspot-sim and drives it over HTTP, never hubsync. One
 * file each; what they share is tests/lib (testlib.h, it_runner.h, check.h).
 */
#ifndef HUBSYNC_SIM_IT_SUITES_H
#define HUBSYNC_SIM_IT_SUITES_H

#include "../lib/it_runner.h"

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
int it_register_simload(void);

#endif
