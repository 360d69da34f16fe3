/*
 * it_main — bin/test-e2e, hubsync against the simulator (it_suites.h).
 *
 *   HUBSPOT_SIM=bin/hubspot-sim HUBSYNC=bin/hubsync bin/test-e2e [SUITE [TEST]]
 *
 * Exits 0 only when every test ran and passed (tests/lib/it_runner.h).
 */
#include "../lib/it_runner.h"
#include "it_suites.h"

static int (*const suites[])(void) = {
    it_register_engine,      it_register_sync,   it_register_cli,   it_register_incremental,
    it_register_reliability, it_register_tls,    it_register_daily, it_register_disk,
    it_register_badinput,    it_register_ops,    it_register_drift, it_register_refdesign,
    it_register_latency,     it_register_export, it_register_push,  it_register_config,
    it_register_tail,
};

int main(int argc, char **argv)
{
    const it_runner r = {"test-e2e", "HUBSPOT_SIM=bin/hubspot-sim HUBSYNC=bin/hubsync", suites,
                         sizeof(suites) / sizeof(suites[0])};
    return it_runner_main(&r, argc, argv);
}
