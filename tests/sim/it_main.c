/*
 * it_main — bin/test-sim, the simulator's own suites (it_suites.h).
 *
 *   HUBSPOT_SIM=bin/hubspot-sim bin/test-sim [SUITE [TEST]]
 *
 * Exits 0 only when every test ran and passed (tests/lib/it_runner.h).
 */
#include "../lib/it_runner.h"
#include "it_suites.h"

static int (*const suites[])(void) = {
    it_register_startup, it_register_determinism, it_register_objects, it_register_assoc,
    it_register_search,  it_register_ratelimit,   it_register_auth,    it_register_mutate,
    it_register_rollups, it_register_robust,      it_register_simload,
};

int main(int argc, char **argv)
{
    const it_runner r = {"test-sim", "HUBSPOT_SIM=bin/hubspot-sim", suites,
                         sizeof(suites) / sizeof(suites[0])};
    return it_runner_main(&r, argc, argv);
}
