/*
 * test_shm — the shared region: the job lifecycle with generations and
 * leases, reclaim from dead or stalled owners, claims racing across forked
 * processes, the token seqlock under a concurrent writer, and the
 * single-flight refresh.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/ipc/shm.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static void test_create_and_check(void)
{
    shm_region *r = NULL;
    err_info e = {0};
    CHECK(shm_create(0, &r, &e) == ERR_INVALID);
    CHECK(strstr(e.ei_msg, "workers") != NULL);
    CHECK(shm_create(SHM_MAX_WORKERS + 1, &r, &e) == ERR_INVALID);
    REQUIRE(shm_create(4, &r, &e) == 0);
    CHECK(shm_check(r, &e) == 0);
    CHECK_EQ(r->sr_nworkers, 4);
    r->sr_magic ^= 1;
    CHECK(shm_check(r, &e) == ERR_CORRUPT);
    r->sr_magic ^= 1;
done:
    shm_destroy(r);
}

static void test_job_lifecycle(void)
{
    shm_region *r = NULL;
    REQUIRE(shm_create(2, &r, NULL) == 0);
    uint64_t gen = 0, g2;
    CHECK(shm_job_claim(r, 0, SHM_BUDGET_ALL, 0, 1000, &gen) == -1); /* nothing published */
    uint64_t ids[3] = {11, 22, 33};
    int j = shm_job_publish(r, 7, SHM_BUDGET_BURST, 0, ids, sizeof(ids), NULL);
    REQUIRE(j >= 0);
    CHECK(shm_job_peek(r, j, &g2) == SHM_JOB_READY);
    int c = shm_job_claim(r, 1, SHM_BUDGET_ALL, 100, 1000, &gen);
    REQUIRE_EQ(c, j);
    CHECK_EQ(gen, g2);
    CHECK_EQ(r->sr_jobs[j].jb_kind, 7);
    CHECK(memcmp(r->sr_jobs[j].jb_payload, ids, sizeof(ids)) == 0);
    CHECK_EQ(atomic_load(&r->sr_jobs[j].jb_owner), 1);
    CHECK(shm_job_claim(r, 0, SHM_BUDGET_ALL, 100, 1000, &g2) == -1); /* already held */
    CHECK(shm_job_renew(r, j, gen, 5000));
    CHECK(shm_job_finish(r, j, gen));
    CHECK(!shm_job_finish(r, j, gen)); /* only once */
    CHECK(shm_job_peek(r, j, &g2) == SHM_JOB_DONE);
    CHECK(shm_job_release(r, j, gen));
    CHECK(shm_job_peek(r, j, &g2) == SHM_JOB_EMPTY);
    /* Republishing the slot gives a new generation. */
    int j2 = shm_job_publish(r, 1, SHM_BUDGET_BURST, 0, ids, 8, NULL);
    REQUIRE(j2 >= 0);
    CHECK(shm_job_peek(r, j2, &g2) == SHM_JOB_READY);
    if (j2 == j)
        CHECK(g2 > gen);
    err_info e = {0};
    static uint8_t big[SHM_JOB_PAYLOAD + 1];
    CHECK(shm_job_publish(r, 1, SHM_BUDGET_BURST, 0, big, sizeof(big), &e) == -1);
    CHECK(e.ei_code == ERR_TOO_BIG);
done:
    shm_destroy(r);
}

/* Workers claim the lowest rank first, then the job published first
 * whichever slot it sits in; a budget they do not claim for is passed over
 * whatever its rank. */
/* The generation a job holds now. */
static uint64_t gen_of(shm_region *r, int job)
{
    uint64_t gen = 0;
    shm_job_peek(r, job, &gen);
    return gen;
}

static void test_claim_by_rank(void)
{
    shm_region *r = NULL;
    REQUIRE(shm_create(1, &r, NULL) == 0);
    uint64_t gen = 0;
    int scan = shm_job_publish(r, 1, SHM_BUDGET_BURST, 5, "s", 1, NULL);
    int list_b = shm_job_publish(r, 1, SHM_BUDGET_BURST, 1, "b", 1, NULL);
    int search = shm_job_publish(r, 1, SHM_BUDGET_SEARCH, 0, "q", 1, NULL);
    int list_a = shm_job_publish(r, 1, SHM_BUDGET_BURST, 0, "a", 1, NULL);
    REQUIRE(scan >= 0 && list_b >= 0 && search >= 0 && list_a >= 0);
    unsigned burst = SHM_BUDGET_BIT(SHM_BUDGET_BURST);
    CHECK_EQ(shm_job_claim(r, 0, burst, 0, 1000, &gen), list_a);
    CHECK_EQ(shm_job_claim(r, 0, burst, 0, 1000, &gen), list_b);
    CHECK_EQ(shm_job_claim(r, 0, burst, 0, 1000, &gen), scan);
    CHECK_EQ(shm_job_claim(r, 0, burst, 0, 1000, &gen), -1);
    CHECK_EQ(shm_job_claim(r, 0, SHM_BUDGET_ALL, 0, 1000, &gen), search);
    /* A slot emptied and filled again holds a newer job than the slots
     * after it: the older ones of its rank go first. */
    int old1 = shm_job_publish(r, 1, SHM_BUDGET_BURST, 5, "o", 1, NULL);
    int old2 = shm_job_publish(r, 1, SHM_BUDGET_BURST, 5, "p", 1, NULL);
    REQUIRE(old1 > scan && old2 > old1);
    REQUIRE(shm_job_complete(r, scan, gen_of(r, scan)));
    CHECK_EQ(shm_job_publish(r, 1, SHM_BUDGET_BURST, 5, "n", 1, NULL), scan);
    CHECK_EQ(shm_job_claim(r, 0, burst, 0, 1000, &gen), old1);
    CHECK_EQ(shm_job_claim(r, 0, burst, 0, 1000, &gen), old2);
    CHECK_EQ(shm_job_claim(r, 0, burst, 0, 1000, &gen), scan);
done:
    shm_destroy(r);
}

static void test_reclaim_voids_old_owner(void)
{
    shm_region *r = NULL;
    REQUIRE(shm_create(2, &r, NULL) == 0);
    uint64_t gen, gen2;
    REQUIRE(shm_job_publish(r, 1, SHM_BUDGET_BURST, 0, "x", 1, NULL) >= 0);
    int j = shm_job_claim(r, 1, SHM_BUDGET_ALL, 0, 1000, &gen);
    REQUIRE(j >= 0);
    /* Worker 1 died: its job goes back to READY under a new generation. */
    CHECK_EQ(shm_job_reclaim(r, 0, 0), 0);
    CHECK_EQ(shm_job_reclaim(r, 1, 0), 1);
    CHECK(shm_job_peek(r, j, &gen2) == SHM_JOB_READY);
    CHECK_EQ(gen2, gen + 1);
    /* Whatever the old owner still does is refused. */
    CHECK(!shm_job_renew(r, j, gen, 99999));
    CHECK(!shm_job_finish(r, j, gen));
    /* A stalled worker: its lease expires and a scan reclaims it. */
    uint64_t gen3;
    REQUIRE(shm_job_claim(r, 0, SHM_BUDGET_ALL, 1000, 500, &gen3) == j);
    CHECK_EQ(shm_job_reclaim(r, -1, 1400), 0); /* lease runs to 1500 */
    CHECK_EQ(shm_job_reclaim(r, -1, 1501), 1);
    CHECK(shm_job_peek(r, j, &gen2) == SHM_JOB_READY && gen2 == gen3 + 1);
done:
    shm_destroy(r);
}

enum { CLAIM_PROCS = 8 };

static void claim_child(shm_region *r, int32_t *claimed_by, int who)
{
    uint64_t gen;
    int j;
    while ((j = shm_job_claim(r, who, SHM_BUDGET_ALL, 0, 1000000, &gen)) >= 0) {
        /* Record the claim; a second claimer of one job would overwrite. */
        if (__atomic_exchange_n(&claimed_by[j], who + 1, __ATOMIC_SEQ_CST) != 0)
            _exit(3);
        if (!shm_job_finish(r, j, gen))
            _exit(4);
    }
    _exit(0);
}

static void test_concurrent_claims(void)
{
    shm_region *r = NULL;
    int32_t *claimed_by = MAP_FAILED;
    pid_t pids[CLAIM_PROCS] = {0};
    REQUIRE(shm_create(CLAIM_PROCS, &r, NULL) == 0);
    claimed_by = mmap(NULL, SHM_MAX_JOBS * sizeof(int32_t), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(claimed_by != MAP_FAILED);
    for (int i = 0; i < SHM_MAX_JOBS; i++)
        REQUIRE(shm_job_publish(r, 1, SHM_BUDGET_BURST, 0, &i, sizeof(i), NULL) == i);
    for (int k = 0; k < CLAIM_PROCS; k++) {
        pids[k] = fork();
        if (pids[k] == 0)
            claim_child(r, claimed_by, k);
        REQUIRE(pids[k] > 0);
    }
    for (int k = 0; k < CLAIM_PROCS; k++) {
        int status;
        CHECK(waitpid(pids[k], &status, 0) == pids[k] && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0);
        pids[k] = 0;
    }
    for (int i = 0; i < SHM_MAX_JOBS; i++) {
        uint64_t g;
        if (!CHECK(claimed_by[i] != 0 && shm_job_peek(r, i, &g) == SHM_JOB_DONE))
            break;
    }
done:
    for (int k = 0; k < CLAIM_PROCS; k++)
        if (pids[k] > 0) {
            kill(pids[k], SIGKILL);
            waitpid(pids[k], NULL, 0);
        }
    if (claimed_by != MAP_FAILED)
        munmap(claimed_by, SHM_MAX_JOBS * sizeof(int32_t));
    shm_destroy(r);
}

/* Token i is the letter 'A' + i % 26 repeated 10 + i % 200 times. */
static void make_token(char *out, int i)
{
    int n = 10 + i % 200;
    memset(out, 'A' + i % 26, (size_t)n);
    out[n] = '\0';
}

static void test_token_seqlock(void)
{
    shm_region *r = NULL;
    pid_t writer = 0;
    REQUIRE(shm_create(2, &r, NULL) == 0);
    char tok[SHM_TOKEN_MAX];
    CHECK_EQ(shm_token_get(r, tok, sizeof(tok)), 0);
    CHECK_STR(tok, "");
    make_token(tok, 0);
    CHECK_EQ(shm_token_set(r, tok, 0), 1);
    writer = fork();
    if (writer == 0) {
        char t[SHM_TOKEN_MAX];
        for (int i = 1; i < 200000; i++) {
            make_token(t, i);
            shm_token_set(r, t, 0);
        }
        _exit(0);
    }
    REQUIRE(writer > 0);
    /* Every read is one whole token, never a mix of two. */
    int torn = 0;
    uint64_t last_gen = 0;
    for (int i = 0; i < 200000 && !torn; i++) {
        uint64_t gen = shm_token_get(r, tok, sizeof(tok));
        size_t n = strlen(tok);
        for (size_t k = 1; k < n; k++)
            torn |= tok[k] != tok[0];
        int idx = (int)gen - 1; /* generation g carries token g - 1 */
        torn |= n != (size_t)(10 + idx % 200) || tok[0] != 'A' + idx % 26;
        torn |= gen < last_gen;
        last_gen = gen;
    }
    CHECK(!torn);
    char too_long[SHM_TOKEN_MAX + 1];
    memset(too_long, 'x', SHM_TOKEN_MAX);
    too_long[SHM_TOKEN_MAX] = '\0';
    CHECK_EQ(shm_token_set(r, too_long, 0), 0);
done:
    if (writer > 0) {
        int status;
        waitpid(writer, &status, 0);
    }
    shm_destroy(r);
}

static void test_single_flight_refresh(void)
{
    shm_region *r = NULL;
    pid_t pids[CLAIM_PROCS] = {0};
    int32_t *winners = MAP_FAILED;
    REQUIRE(shm_create(CLAIM_PROCS, &r, NULL) == 0);
    winners =
        mmap(NULL, sizeof(int32_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(winners != MAP_FAILED);
    uint64_t gen = shm_token_set(r, "old", 0);
    /* Eight processes see the same expired token and race to refresh it. */
    for (int k = 0; k < CLAIM_PROCS; k++) {
        pids[k] = fork();
        if (pids[k] == 0) {
            if (shm_token_begin_refresh(r, getpid(), gen, 0, UINT64_MAX)) {
                __atomic_add_fetch(winners, 1, __ATOMIC_SEQ_CST);
                usleep(20000); /* hold the flag while the others try */
                shm_token_set(r, "new", 0);
                shm_token_end_refresh(r, getpid());
            }
            _exit(0);
        }
        REQUIRE(pids[k] > 0);
    }
    for (int k = 0; k < CLAIM_PROCS; k++) {
        waitpid(pids[k], NULL, 0);
        pids[k] = 0;
    }
    CHECK_EQ(*winners, 1);
    char tok[16];
    CHECK_EQ(shm_token_get(r, tok, sizeof(tok)), gen + 1);
    CHECK_STR(tok, "new");
    /* A caller holding the old generation does not refresh again. */
    CHECK(!shm_token_begin_refresh(r, 1, gen, 0, 100));
    /* A refresher that dies is replaced after its deadline. */
    CHECK(shm_token_begin_refresh(r, 1111, gen + 1, 0, 100));
    CHECK(!shm_token_begin_refresh(r, 2222, gen + 1, 50, 200));
    CHECK(shm_token_begin_refresh(r, 2222, gen + 1, 101, 300));
    shm_token_end_refresh(r, 1111); /* the presumed-dead one cannot clear it */
    CHECK_EQ(atomic_load(&r->sr_token.tk_refresher), 2222);
    shm_token_end_refresh(r, 2222);
    CHECK_EQ(atomic_load(&r->sr_token.tk_refresher), 0);
done:
    for (int k = 0; k < CLAIM_PROCS; k++)
        if (pids[k] > 0) {
            kill(pids[k], SIGKILL);
            waitpid(pids[k], NULL, 0);
        }
    if (winners != MAP_FAILED)
        munmap(winners, sizeof(int32_t));
    shm_destroy(r);
}

int unit_suite_shm(void)
{
    static const ut_test tests[] = {
        {"create, check, bad worker counts", test_create_and_check},
        {"job: publish, claim, renew, finish, release", test_job_lifecycle},
        {"claims take the lowest rank first", test_claim_by_rank},
        {"reclaim: dead owner and expired lease", test_reclaim_voids_old_owner},
        {"8 processes claim 512 jobs: each once", test_concurrent_claims},
        {"token seqlock: no torn reads", test_token_seqlock},
        {"single-flight refresh and takeover", test_single_flight_refresh},
    };
    return ut_add_suite("shm", tests, sizeof(tests) / sizeof(tests[0]));
}
