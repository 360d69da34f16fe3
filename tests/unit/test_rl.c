/*
 * test_rl — the GCRA limiter: the pure step, reservations against a driven
 * clock, penalties, the daily policy, and a stress test in which 8 forked
 * processes share one policy and no rolling window ever holds more than the
 * limit while throughput stays at the limit.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../common/ipc/rl.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

#define MS 1000000ULL

static void test_gcra_step_pure(void)
{
    uint64_t next;
    CHECK_EQ(rl_gcra_step(0, 100, 10, &next), 100);
    CHECK_EQ(next, 110);
    CHECK_EQ(rl_gcra_step(150, 100, 10, &next), 150);
    CHECK_EQ(next, 160);
    CHECK_EQ(rl_gcra_step(100, 100, 10, &next), 100);
    CHECK_EQ(next, 110);
}

static void test_reserve_spacing(void)
{
    rl_policy p;
    rl_policy_init(&p, 5, 1000 * MS, 0);
    CHECK_EQ(rl_interval_ns(&p), 200 * MS);
    uint64_t starts[20];
    for (int i = 0; i < 20; i++)
        CHECK(rl_reserve(&p, 0, UINT64_MAX, &starts[i]));
    for (int i = 0; i < 20; i++)
        CHECK_EQ(starts[i], (uint64_t)i * 200 * MS);
    CHECK_EQ(ut_max_in_window(starts, 20, 1000 * MS), 5);
    /* A request arriving later than the TAT starts at once. */
    uint64_t s;
    CHECK(rl_reserve(&p, 100000 * MS, 0, &s));
    CHECK_EQ(s, 100000 * MS);
}

/* The span the grants cover, for the summary's rate: the first and the
 * latest start, and a rate over them never above the limit. */
static void test_grant_span(void)
{
    rl_policy p;
    uint64_t n = 9, first = 9, last = 9, s = 0;
    rl_policy_init(&p, 5, 1000 * MS, 50 * MS);
    rl_grant_span(&p, &n, &first, &last);
    CHECK(n == 0 && first == 0 && last == 0);
    for (int i = 0; i < 700; i++) /* more than the ring holds */
        CHECK(rl_reserve(&p, 3000 * MS + (uint64_t)i * MS, UINT64_MAX, &s));
    rl_grant_span(&p, &n, &first, &last);
    CHECK_EQ(n, 700);
    CHECK_EQ(first, 3000 * MS);
    CHECK_EQ(last, s);
    double rate = (double)(n - 1) * 1e9 / (double)(last - first);
    CHECKF(rate <= 5.0 && rate > 4.5, "%.3f/s", rate);
}

static void test_reserve_max_wait(void)
{
    rl_policy p;
    rl_policy_init(&p, 10, 1000 * MS, 0);
    uint64_t s;
    CHECK(rl_reserve(&p, 0, 0, &s) && s == 0);
    /* The next slot is 100 ms out: refused with a 50 ms budget, nothing taken. */
    CHECK(!rl_reserve(&p, 0, 50 * MS, &s));
    CHECK_EQ(s, 100 * MS);
    CHECK_EQ(rl_wait_ns(&p, 0), 100 * MS);
    CHECK(rl_reserve(&p, 0, 100 * MS, &s) && s == 100 * MS);
}

static void test_margin_slows_pacing(void)
{
    rl_policy p;
    rl_policy_init(&p, 190, 10000 * MS, 100 * MS);
    /* (10 s + 100 ms) / 190: 99% of the limit, room for 100 ms of jitter. */
    CHECK_EQ(rl_interval_ns(&p), (10100 * MS + 189) / 190);
}

/* A request late by up to half the margin keeps its slot; later, it must
 * take a new one. Unlimited: any lateness. */
static void test_late_tolerance(void)
{
    rl_policy p;
    rl_policy_init(&p, 190, 10000 * MS, 100 * MS);
    uint64_t t = rl_late_tolerance_ns(&p);
    CHECK(t > 49 * MS && t < 51 * MS);
    rl_policy_init(&p, 5, 1000 * MS, 50 * MS);
    t = rl_late_tolerance_ns(&p);
    CHECK(t > 24 * MS && t < 26 * MS);
    rl_policy_init(&p, 0, 1000 * MS, 0);
    CHECK(rl_late_tolerance_ns(&p) == UINT64_MAX);
}

static void test_penalize_is_cas_max(void)
{
    rl_policy p;
    rl_policy_init(&p, 10, 1000 * MS, 0);
    rl_penalize(&p, 5000 * MS);
    uint64_t s;
    CHECK(rl_reserve(&p, 0, UINT64_MAX, &s) && s == 5000 * MS);
    rl_penalize(&p, 100 * MS); /* earlier than the TAT: no effect */
    CHECK(rl_reserve(&p, 0, UINT64_MAX, &s) && s == 5100 * MS);
    CHECK_EQ(rl_penalties(&p), 1);
}

static void test_backoff_and_unlimited(void)
{
    rl_policy p;
    rl_policy_init(&p, 190, 10000 * MS, 0);
    CHECK_EQ(rl_backoff_ns(&p, 3, 10000), 3 * MS);
    CHECK_EQ(rl_backoff_ns(&p, 0, 10000), 10000 * MS);
    CHECK_EQ(rl_backoff_ns(&p, 0, 0), 10000 * MS);
    rl_policy u;
    rl_policy_init(&u, 0, 1000 * MS, 0);
    uint64_t s;
    for (int i = 0; i < 1000; i++)
        CHECK(rl_reserve(&u, 42, 0, &s) && s == 42);
}

/* The daily headers of a successful answer: limit (0: absent) and remaining. */
static rl_daily_answer headers(uint64_t limit, uint64_t remaining)
{
    return (rl_daily_answer){.da_status = 200,
                             .da_tells_count = true,
                             .da_headers = true,
                             .da_limit = limit,
                             .da_remaining = remaining};
}

/* An answer to a request that held no ticket. */
static void answer(rl_daily *d, uint64_t day, rl_daily_answer a)
{
    uint64_t none = 0;
    rl_daily_answered(d, day, &a, &none);
}

/* Counts a request that holds no ticket: whether it may be sent. */
static bool charge(rl_daily *d, uint64_t day)
{
    uint64_t none = 0, left;
    return rl_daily_charge(d, day, &none, &left) == RL_DAILY_SEND;
}

/* A reserve of 10 and no --daily: the gate is closed until an answer
 * tells the day's count. */
static void gated(rl_daily *d)
{
    rl_daily_init(d, 0);
    rl_daily_set_reserve(d, 10);
}

/* rl_daily_admit with a lease of 50 ns. */
static rl_daily_verdict admit(rl_daily *d, uint64_t day, uint64_t now_ns, bool tells_count,
                              uint64_t *ticket)
{
    return rl_daily_admit(d, day, now_ns, 50, tells_count, ticket);
}

static void test_daily(void)
{
    rl_daily d;
    rl_daily_init(&d, 3);
    CHECK(charge(&d, 100) && charge(&d, 100) && charge(&d, 100));
    CHECK(!charge(&d, 100));
    CHECK_EQ(rl_daily_remaining(&d, 100), 0);
    /* A new UTC day starts from zero. */
    CHECK_EQ(rl_daily_remaining(&d, 101), 3);
    CHECK(charge(&d, 101));
    /* The server says only 1 is left: the count rises, never falls. */
    answer(&d, 101, headers(0, 1));
    CHECK_EQ(rl_daily_remaining(&d, 101), 1);
    answer(&d, 101, headers(0, 3));
    CHECK_EQ(rl_daily_remaining(&d, 101), 1);
    rl_daily unlimited;
    rl_daily_init(&unlimited, 0);
    CHECK(charge(&unlimited, 5));
    CHECK_EQ(rl_daily_remaining(&unlimited, 5), UINT64_MAX);
}

/* A reserve of R keeps the last R calls of the day untaken, with --daily N
 * and with a limit learned from the headers alike. */
static void test_daily_reserve(void)
{
    rl_daily d;
    rl_daily_init(&d, 10);
    rl_daily_set_reserve(&d, 4);
    int taken = 0;
    while (taken < 20 && charge(&d, 7))
        taken++;
    CHECK_EQ(taken, 6);
    CHECK_EQ(rl_daily_remaining(&d, 7), 4);
    /* The server counts others' calls too: only 3 left, still nothing taken. */
    answer(&d, 7, headers(0, 3));
    CHECK(!charge(&d, 7));
    CHECK_EQ(rl_daily_remaining(&d, 7), 3);
    /* A new day: six again. */
    CHECK(charge(&d, 8));

    /* No --daily: unlimited (but counted) until a header tells the limit. */
    rl_daily h;
    rl_daily_init(&h, 0);
    rl_daily_set_reserve(&h, 100);
    CHECK_EQ(rl_daily_knowledge_of(&h), RL_DAILY_UNKNOWN);
    CHECK(charge(&h, 7));
    CHECK_EQ(rl_daily_remaining(&h, 7), UINT64_MAX);
    /* That call's answer: limit 400, 395 left (4 more by someone else). */
    answer(&h, 7, headers(400, 395));
    CHECK_EQ(rl_daily_knowledge_of(&h), RL_DAILY_KNOWN);
    CHECK_EQ(rl_daily_remaining(&h, 7), 395);
    taken = 0;
    while (taken < 1000 && charge(&h, 7))
        taken++;
    CHECK_EQ(taken, 295);
    CHECK_EQ(rl_daily_remaining(&h, 7), 100);
    /* --daily wins over the header's limit; the header's count still rises. */
    rl_daily g;
    rl_daily_init(&g, 50);
    answer(&g, 7, headers(400, 45));
    CHECK_EQ(rl_daily_remaining(&g, 7), 45);
    /* Without a reserve a header does not make a limit: the server's 429
     * stops the run, as before --daily-reserve. */
    rl_daily n;
    rl_daily_init(&n, 0);
    answer(&n, 7, headers(400, 0));
    CHECK(charge(&n, 7));
    /* A limit at or below the reserve: nothing at all. */
    rl_daily z;
    rl_daily_init(&z, 0);
    rl_daily_set_reserve(&z, 100);
    answer(&z, 7, headers(400, 100));
    CHECK(!charge(&z, 7));
}

/* While the count is unknown, the gate lets one request out at a time; a
 * header or a header-less answer opens it for good; a dead holder's lease
 * runs out. */
static void test_daily_admit_gate(void)
{
    rl_daily d;
    uint64_t t1, t2, t3;
    rl_daily_init(&d, 0);
    /* No reserve: no gate, and no probe for a search. */
    CHECK(admit(&d, 7, 1000, true, &t1) == RL_DAILY_SEND && t1 == 0);
    CHECK(admit(&d, 7, 1000, false, &t1) == RL_DAILY_SEND && t1 == 0);
    rl_daily_set_reserve(&d, 10);
    CHECK(admit(&d, 7, 1000, true, &t1) == RL_DAILY_SEND && t1 != 0);
    CHECK(admit(&d, 7, 1010, true, &t2) == RL_DAILY_WAIT);
    CHECK(admit(&d, 7, 1010, false, &t2) == RL_DAILY_WAIT);
    /* Another process read its clock before the holder entered: no overtaking. */
    CHECK(admit(&d, 7, 900, true, &t2) == RL_DAILY_WAIT);
    /* The holder's transfer failed (no answer): the next one goes. */
    rl_daily_answered(&d, 7, &(rl_daily_answer){.da_tells_count = true}, &t1);
    CHECK_EQ(t1, 0);
    CHECK_EQ(rl_daily_knowledge_of(&d), RL_DAILY_UNKNOWN);
    CHECK(admit(&d, 7, 1020, true, &t2) == RL_DAILY_SEND && t2 != 0);
    /* Its holder died: after the lease, another takes over; the dead one's
     * late release does not open the gate under the new holder. */
    CHECK(admit(&d, 7, 1060, true, &t3) == RL_DAILY_WAIT);
    CHECK(admit(&d, 7, 1071, true, &t3) == RL_DAILY_SEND && t3 != 0);
    rl_daily_release(&d, &t2);
    CHECK_EQ(t2, 0);
    CHECK(admit(&d, 7, 1080, true, &t1) == RL_DAILY_WAIT);
    /* The answer carried the headers: the gate is gone. */
    rl_daily_answer known = headers(1000, 990);
    rl_daily_answered(&d, 7, &known, &t3);
    CHECK_EQ(t3, 0);
    CHECK_EQ(rl_daily_knowledge_of(&d), RL_DAILY_KNOWN);
    CHECK(admit(&d, 7, 1090, true, &t1) == RL_DAILY_SEND && t1 == 0);
    CHECK(admit(&d, 7, 1090, false, &t2) == RL_DAILY_SEND && t2 == 0);
    /* Our count restarts at UTC midnight: one request again until an answer
     * tells the new day's count. */
    CHECK(admit(&d, 8, 1100, true, &t1) == RL_DAILY_SEND && t1 != 0);
    CHECK(admit(&d, 8, 1101, true, &t2) == RL_DAILY_WAIT);
    known = headers(1000, 999);
    rl_daily_answered(&d, 8, &known, &t1);
    CHECK(admit(&d, 8, 1102, true, &t2) == RL_DAILY_SEND && t2 == 0);
    /* A header-less successful answer (OAuth): the gate is gone too. */
    rl_daily o;
    gated(&o);
    CHECK(admit(&o, 7, 5, true, &t1) == RL_DAILY_SEND && t1 != 0);
    rl_daily_answered(&o, 7, &(rl_daily_answer){.da_status = 204, .da_tells_count = true}, &t1);
    CHECK_EQ(t1, 0);
    CHECK_EQ(rl_daily_knowledge_of(&o), RL_DAILY_NO_HEADERS);
    CHECK(admit(&o, 7, 6, true, &t1) == RL_DAILY_SEND && t1 == 0);
    CHECK(admit(&o, 7, 6, false, &t1) == RL_DAILY_SEND && t1 == 0);
}

/* A search cannot tell the count: before it is known, the gate's holder is
 * a probe sent in its place, and the search goes once the probe's answer
 * told it. A search's own header-less answer says nothing of the portal. */
static void test_daily_admit_probe(void)
{
    rl_daily d;
    uint64_t t1, t2;
    gated(&d);
    CHECK(admit(&d, 7, 1000, false, &t1) == RL_DAILY_PROBE_FIRST && t1 != 0);
    CHECK(admit(&d, 7, 1001, false, &t2) == RL_DAILY_WAIT);
    CHECK(admit(&d, 7, 1001, true, &t2) == RL_DAILY_WAIT);
    /* The probe (holding t1) is counted and answered with the headers. */
    uint64_t left;
    CHECK(rl_daily_charge(&d, 7, &t1, &left) == RL_DAILY_SEND && t1 != 0);
    rl_daily_answer probe = headers(500, 499);
    rl_daily_answered(&d, 7, &probe, &t1);
    CHECK_EQ(t1, 0);
    CHECK(admit(&d, 7, 1002, false, &t2) == RL_DAILY_SEND && t2 == 0);
    CHECK_EQ(rl_daily_remaining(&d, 7), 499);

    /* A successful search without the headers: still unknown, the gate
     * given back (the next request takes it). */
    rl_daily s;
    gated(&s);
    CHECK(admit(&s, 7, 1000, true, &t1) == RL_DAILY_SEND && t1 != 0);
    rl_daily_answered(&s, 7, &(rl_daily_answer){.da_status = 200, .da_tells_count = false}, &t1);
    CHECK_EQ(t1, 0);
    CHECK_EQ(rl_daily_knowledge_of(&s), RL_DAILY_UNKNOWN);
    CHECK(admit(&s, 7, 1001, false, &t2) == RL_DAILY_PROBE_FIRST && t2 != 0);
    /* Nor does a failed non-search answer (a 500) without them. */
    rl_daily_answered(&s, 7, &(rl_daily_answer){.da_status = 500, .da_tells_count = true}, &t2);
    CHECK_EQ(rl_daily_knowledge_of(&s), RL_DAILY_UNKNOWN);
}

/* The charge when the slot has come: the reserve reached (some left), the
 * limit spent (none), and a refused request's ticket given back. */
static void test_daily_charge(void)
{
    rl_daily d;
    uint64_t t = 0, left = 99;
    rl_daily_init(&d, 3);
    rl_daily_set_reserve(&d, 1);
    CHECK(rl_daily_charge(&d, 7, &t, &left) == RL_DAILY_SEND);
    CHECK(rl_daily_charge(&d, 7, &t, &left) == RL_DAILY_SEND);
    CHECK(rl_daily_charge(&d, 7, &t, &left) == RL_DAILY_RESERVE_REACHED);
    CHECK_EQ(left, 1);
    CHECK_EQ(rl_daily_reserve(&d), 1);
    CHECK_EQ(rl_daily_remaining(&d, 7), 1); /* nothing counted */
    /* HubSpot says the last one is gone (others' calls): spent. */
    answer(&d, 7, headers(0, 0));
    CHECK(rl_daily_charge(&d, 7, &t, &left) == RL_DAILY_SPENT);
    CHECK_EQ(left, 0);
    /* --daily N without a reserve: spent, never "the reserve reached". */
    rl_daily n;
    rl_daily_init(&n, 1);
    CHECK(rl_daily_charge(&n, 7, &t, &left) == RL_DAILY_SEND);
    CHECK(rl_daily_charge(&n, 7, &t, &left) == RL_DAILY_SPENT);
    CHECK_EQ(left, 0);
    /* A learned limit no larger than the reserve: the next day's first
     * request holds the gate and is refused; its ticket is given back. */
    rl_daily z;
    rl_daily_init(&z, 0);
    rl_daily_set_reserve(&z, 100);
    answer(&z, 7, headers(100, 100));
    CHECK(admit(&z, 8, 1000, true, &t) == RL_DAILY_SEND && t != 0);
    CHECK(rl_daily_charge(&z, 8, &t, &left) == RL_DAILY_RESERVE_REACHED);
    CHECK_EQ(t, 0);
    CHECK_EQ(left, 100);
    CHECK(admit(&z, 8, 1001, true, &t) == RL_DAILY_SEND && t != 0);
}

/* A 429 naming the daily policy: nothing is left today, whatever we counted
 * (once the limit is known; without one, the 429 itself stops the run). */
static void test_daily_429(void)
{
    rl_daily d;
    uint64_t t = 0;
    rl_daily_init(&d, 1000);
    CHECK(charge(&d, 7));
    rl_daily_answered(&d, 7, &(rl_daily_answer){.da_status = 429, .da_daily_429 = true}, &t);
    CHECK_EQ(rl_daily_remaining(&d, 7), 0);
    CHECK(!charge(&d, 7));
    CHECK(charge(&d, 8)); /* a new day */
    /* A 429 of another policy says nothing of the day. */
    rl_daily o;
    rl_daily_init(&o, 1000);
    rl_daily_answered(&o, 7, &(rl_daily_answer){.da_status = 429}, &t);
    CHECK_EQ(rl_daily_remaining(&o, 7), 1000);
    /* Unknown limit: counted, not stopped here. */
    rl_daily u;
    rl_daily_init(&u, 0);
    rl_daily_answered(&u, 7, &(rl_daily_answer){.da_status = 429, .da_daily_429 = true}, &t);
    CHECK(charge(&u, 7));
}

static uint64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

enum { STRESS_PROCS = 8, STRESS_EACH = 600, STRESS_LIMIT = 400, STRESS_AHEAD = 4 };
#define STRESS_WINDOW (100 * MS)

/* Shared between the forked processes: the policy and everyone's grants. */
typedef struct stress_shared {
    rl_policy ss_policy;
    uint64_t ss_grants[STRESS_PROCS][STRESS_EACH];
} stress_shared;

/* Like a worker with K transfers in flight: keeps STRESS_AHEAD slots
 * reserved, sleeps until the earliest, "sends", reserves the next. */
static void stress_child(stress_shared *sh, int who)
{
    uint64_t ahead[STRESS_AHEAD];
    int reserved = 0;
    for (int i = 0; i < STRESS_EACH; i++) {
        while (reserved < STRESS_AHEAD && i + reserved < STRESS_EACH) {
            if (!rl_reserve(&sh->ss_policy, mono_now(), UINT64_MAX, &ahead[reserved++]))
                _exit(3);
        }
        uint64_t start = ahead[0];
        memmove(ahead, ahead + 1, (size_t)(--reserved) * sizeof(ahead[0]));
        sh->ss_grants[who][i] = start;
        struct timespec ts = {(time_t)(start / 1000000000ULL), (long)(start % 1000000000ULL)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
    _exit(0);
}

static void test_stress_forked(void)
{
    stress_shared *sh =
        mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint64_t *all = NULL;
    pid_t pids[STRESS_PROCS] = {0};
    REQUIRE(sh != MAP_FAILED);
    rl_policy_init(&sh->ss_policy, STRESS_LIMIT, STRESS_WINDOW, 0);
    for (int k = 0; k < STRESS_PROCS; k++) {
        pids[k] = fork();
        if (pids[k] == 0)
            stress_child(sh, k);
        REQUIRE(pids[k] > 0);
    }
    for (int k = 0; k < STRESS_PROCS; k++) {
        int status;
        CHECK(waitpid(pids[k], &status, 0) == pids[k] && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0);
        pids[k] = 0;
    }
    size_t n = (size_t)STRESS_PROCS * STRESS_EACH;
    all = malloc(n * sizeof(*all));
    REQUIRE(all != NULL);
    memcpy(all, sh->ss_grants, n * sizeof(*all));
    qsort(all, n, sizeof(*all), cmp_u64);
    /* Never more than the limit in any rolling window… */
    CHECK(ut_max_in_window(all, n, STRESS_WINDOW) <= STRESS_LIMIT);
    /* …no two processes granted the same slot… */
    for (size_t i = 1; i < n; i++)
        if (!CHECK(all[i] > all[i - 1]))
            break;
    /* …and the long-run rate is the limit: ≥ 99%. */
    double span_s = (double)(all[n - 1] - all[0] + rl_interval_ns(&sh->ss_policy)) / 1e9;
    double rate = (double)n / span_s, limit = STRESS_LIMIT / ((double)STRESS_WINDOW / 1e9);
    CHECK(rate >= 0.99 * limit);
    CHECK(rate <= 1.0001 * limit);
done:
    for (int k = 0; k < STRESS_PROCS; k++)
        if (pids[k] > 0) {
            kill(pids[k], SIGKILL);
            waitpid(pids[k], NULL, 0);
        }
    free(all);
    if (sh != MAP_FAILED)
        munmap(sh, sizeof(*sh));
}

enum { DAILY_PROCS = 8, DAILY_LIMIT = 400, DAILY_RESERVE = 100 };

typedef struct daily_shared {
    rl_daily ds_daily;
    _Atomic uint64_t ds_sent;
} daily_shared;

/* A worker taking a daily slot before each "send", as fast as it can. */
static void daily_child(daily_shared *sh)
{
    while (charge(&sh->ds_daily, 9))
        atomic_fetch_add(&sh->ds_sent, 1);
    _exit(0);
}

/* 8 processes race for the day's calls: exactly limit - reserve go out. */
static void test_daily_reserve_forked(void)
{
    daily_shared *sh =
        mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t pids[DAILY_PROCS] = {0};
    REQUIRE(sh != MAP_FAILED);
    rl_daily_init(&sh->ds_daily, DAILY_LIMIT);
    rl_daily_set_reserve(&sh->ds_daily, DAILY_RESERVE);
    atomic_store(&sh->ds_sent, 0);
    for (int k = 0; k < DAILY_PROCS; k++) {
        pids[k] = fork();
        if (pids[k] == 0)
            daily_child(sh);
        REQUIRE(pids[k] > 0);
    }
    for (int k = 0; k < DAILY_PROCS; k++) {
        int status;
        CHECK(waitpid(pids[k], &status, 0) == pids[k] && WIFEXITED(status));
        pids[k] = 0;
    }
    CHECK_EQ(atomic_load(&sh->ds_sent), DAILY_LIMIT - DAILY_RESERVE);
    CHECK_EQ(rl_daily_remaining(&sh->ds_daily, 9), DAILY_RESERVE);
done:
    for (int k = 0; k < DAILY_PROCS; k++)
        if (pids[k] > 0) {
            kill(pids[k], SIGKILL);
            waitpid(pids[k], NULL, 0);
        }
    if (sh != MAP_FAILED)
        munmap(sh, sizeof(*sh));
}

int unit_suite_rl(void)
{
    static const ut_test tests[] = {
        {"GCRA step is a pure function of (tat, now)", test_gcra_step_pure},
        {"reservations are spaced W/N apart", test_reserve_spacing},
        {"max_wait refuses without reserving", test_reserve_max_wait},
        {"the grants' span: first, latest, a rate within the limit", test_grant_span},
        {"margin paces below the limit", test_margin_slows_pacing},
        {"late requests beyond half the margin take a new slot", test_late_tolerance},
        {"a 429 pushes the TAT forward (CAS-max)", test_penalize_is_cas_max},
        {"backoff defaults; unlimited policy", test_backoff_and_unlimited},
        {"daily policy: count, day change, observe", test_daily},
        {"daily reserve: --daily or a learned limit, minus the reserve", test_daily_reserve},
        {"daily admit: one request out until the count is known", test_daily_admit_gate},
        {"daily admit: a probe first for a search", test_daily_admit_probe},
        {"daily charge: the reserve reached, the limit spent", test_daily_charge},
        {"daily answered: a daily 429 leaves nothing today", test_daily_429},
        {"8 forked processes take exactly limit - reserve", test_daily_reserve_forked},
        {"8 forked processes: window bound and rate", test_stress_forked},
    };
    return ut_add_suite("rl", tests, sizeof(tests) / sizeof(tests[0]));
}
