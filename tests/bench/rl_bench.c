/*
 * rl_bench — what the shared GCRA limiter costs. A benchmark program (prints
 * figures, asserts nothing), built as bin/rl-bench:
 *
 *   bin/rl-bench [--seconds S]
 *
 * Measures rl_reserve() from one process and from two processes hammering
 * the same policy in shared memory (the CAS contended), and what 10,000
 * reservations per second (50 times HubSpot's highest burst rate) cost as a
 * share of one core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../common/ipc/rl.h"

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Reserves as fast as possible for `seconds`; returns reservations made. */
static uint64_t hammer(rl_policy *p, double seconds)
{
    uint64_t n = 0, end = mono_ns() + (uint64_t)(seconds * 1e9);
    while (mono_ns() < end) {
        for (int i = 0; i < 1000; i++) {
            uint64_t start;
            rl_reserve(p, mono_ns(), UINT64_MAX, &start);
        }
        n += 1000;
    }
    return n;
}

int main(int argc, char **argv)
{
    double seconds = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], NULL);
        } else {
            fprintf(stderr, "usage: bin/rl-bench [--seconds S]\n");
            return 2;
        }
    }
    /* A 1 ns interval: the limiter never makes anyone wait, so this measures
     * the bookkeeping alone. */
    rl_policy *p =
        mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint64_t *shared_n =
        mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || shared_n == MAP_FAILED)
        return 1;
    rl_policy_init(p, 1000000000, 1000000000, 0);

    uint64_t one = hammer(p, seconds);
    double one_ns = seconds * 1e9 / (double)one;

    pid_t child = fork();
    if (child == 0) {
        *shared_n = hammer(p, seconds);
        _exit(0);
    }
    uint64_t mine = hammer(p, seconds);
    waitpid(child, NULL, 0);
    uint64_t two = mine + *shared_n;
    double two_ns = 2 * seconds * 1e9 / (double)two; /* CPU time per reservation */

    printf("## rl_reserve (common/ipc/rl) on %ld cores\n\n", sysconf(_SC_NPROCESSORS_ONLN));
    printf("| measurement | result |\n|---|---|\n");
    printf("| one process | %.0f ns per reservation (%.1f M/s) |\n", one_ns, 1e3 / one_ns);
    printf("| two processes, one shared policy (CAS contended) | %.0f ns per reservation "
           "(%.1f M/s in all) |\n",
           two_ns, (double)two / seconds / 1e6);
    printf("| CPU share of 10,000 reservations/s | %.4f%% of one core (contended) |\n",
           10000 * two_ns / 1e9 * 100);
    munmap(p, sizeof(*p));
    munmap(shared_n, sizeof(uint64_t));
    return 0;
}
