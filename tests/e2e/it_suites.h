/*
 * it_suites — hubsync against the simulator, run by bin/test-e2e
 * (it_main.c): the HTTP engine in process (engine), and bin/hubsync run end to
 * end (every other suite, through it_hubsync.h). One file each; what they
 * share besides is tests/lib (testlib.h, it_runner.h, check.h).
 */
#ifndef HUBSYNC_E2E_IT_SUITES_H
#define HUBSYNC_E2E_IT_SUITES_H

#include "../lib/it_runner.h"

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
int it_register_latency(void);
int it_register_export(void);
int it_register_push(void);
int it_register_config(void);
int it_register_tail(void);

#endif
