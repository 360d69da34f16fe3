/*
 * unit_suites — the registration function of every unit suite. unit_main.c
 * calls each; a module's suite lives in tests/unit/test_{module}.c.
 */
#ifndef HUBSYNC_UNIT_SUITES_H
#define HUBSYNC_UNIT_SUITES_H

/* Each adds its suite to the CUnit registry; returns 0 or -1. */
int unit_suite_jbuf(void);
int unit_suite_hs_types(void);
int unit_suite_rate_spec(void);
int unit_suite_sim_portal(void);
int unit_suite_sim_profile(void);
int unit_suite_sim_rollup(void);
int unit_suite_sim_limits(void);
int unit_suite_sim_foreign(void);
int unit_suite_sim_latency(void);
int unit_suite_sim_cursor(void);
int unit_suite_sim_auth(void);
int unit_suite_sim_stats(void);
int unit_suite_sim_config(void);
int unit_suite_sim_json(void);
int unit_suite_sim_render(void);
int unit_suite_sim_search(void);
int unit_suite_sim_api(void);
int unit_suite_rl(void);
int unit_suite_budget(void);
int unit_suite_mpread(void);
int unit_suite_hs_paths(void);
int unit_suite_route(void);
int unit_suite_cli(void);
int unit_suite_progress(void);
int unit_suite_config(void);
int unit_suite_afile(void);
int unit_suite_scan(void);
int unit_suite_listing(void);
int unit_suite_changes(void);
int unit_suite_shm(void);
int unit_suite_hs_codec(void);
int unit_suite_wire(void);
int unit_suite_store(void);
int unit_suite_idset(void);
int unit_suite_url(void);
int unit_suite_rollup(void);

#endif
