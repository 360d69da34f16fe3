/*
 * cmd_bench — `hubsync bench` (see commands.h): the benchmark lives in
 * scripts/bench.sh (it starts simulators, runs this binary, and plots with
 * gnuplot); this finds it beside the binary and hands over.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"

int cmd_bench(int argc, char **argv)
{
    char exe[PATH_MAX], dir[PATH_MAX], script[PATH_MAX + 32], sim[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        fprintf(stderr, "hubsync bench: cannot find this binary (/proc/self/exe): %s\n",
                strerror(errno));
        return EXIT_USAGE;
    }
    exe[n] = '\0';
    snprintf(dir, sizeof(dir), "%s", exe);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    snprintf(sim, sizeof(sim), "%s/hubspot-sim", dir);
    /* bin/hubsync, or build/asan/bin/hubsync: the tree is one or three up. */
    static const char *const up[] = {"..", "../../.."};
    bool found = false;
    for (size_t i = 0; i < sizeof(up) / sizeof(up[0]) && !found; i++) {
        snprintf(script, sizeof(script), "%s/%s/scripts/bench.sh", dir, up[i]);
        found = access(script, X_OK) == 0;
    }
    if (!found) {
        fprintf(stderr,
                "hubsync bench: needs the source tree's scripts/bench.sh (not beside %s); run "
                "it from a clone after `make`\n",
                exe);
        return EXIT_USAGE;
    }
    setenv("HUBSYNC", exe, 1);
    if (access(sim, X_OK) == 0)
        setenv("HUBSPOT_SIM", sim, 1);
    char *args[64];
    int k = 0;
    args[k++] = script;
    for (int i = 0; i < argc && k < 63; i++)
        args[k++] = argv[i];
    args[k] = NULL;
    execv(script, args);
    fprintf(stderr, "hubsync bench: cannot run %s: %s\n", script, strerror(errno));
    return EXIT_USAGE;
}
