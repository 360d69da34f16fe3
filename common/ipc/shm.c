/* shm — the shared region: jobs with leases, the token, worker slots (see shm.h). */
#include "shm.h"
#include "../base/clock.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

enum { STATE_BITS = 8 };
#define STATE_MASK ((1ULL << STATE_BITS) - 1)

static uint64_t job_word(uint64_t generation, shm_job_state state)
{
    return generation << STATE_BITS | (uint64_t)state;
}

int shm_create(uint32_t nworkers, shm_region **out, err_info *e)
{
    if (nworkers == 0 || nworkers > SHM_MAX_WORKERS)
        return err_set(e, ERR_INVALID, "workers must be 1 to %d (got %u)", SHM_MAX_WORKERS,
                       nworkers);
    void *p =
        mmap(NULL, sizeof(shm_region), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return err_set(e, ERR_SYS, "mmap of %zu bytes for the shared region: %s",
                       sizeof(shm_region), strerror(errno));
    shm_region *r = p; /* anonymous mappings are zero-filled */
    r->sr_magic = SHM_MAGIC;
    r->sr_version = SHM_VERSION;
    r->sr_nworkers = nworkers;
    r->sr_size = sizeof(shm_region);
    skew_init(&r->sr_skew);
    for (int i = 0; i < SHM_MAX_JOBS; i++)
        atomic_store(&r->sr_jobs[i].jb_owner, -1);
    *out = r;
    return 0;
}

int shm_check(const shm_region *r, err_info *e)
{
    if (!r || r->sr_magic != SHM_MAGIC || r->sr_version != SHM_VERSION ||
        r->sr_size != sizeof(shm_region))
        return err_set(e, ERR_CORRUPT, "shared region: bad magic, version or size");
    return 0;
}

void shm_destroy(shm_region *r)
{
    if (r)
        munmap(r, sizeof(shm_region));
}

void shm_beat(shm_region *r, int slot)
{
    atomic_store_explicit(&r->sr_slots[slot].sl_heartbeat_ns, clock_mono_ns(),
                          memory_order_relaxed);
}

shm_job_state shm_job_peek(const shm_region *r, int job, uint64_t *generation)
{
    uint64_t w = atomic_load_explicit(&r->sr_jobs[job].jb_word, memory_order_acquire);
    *generation = w >> STATE_BITS;
    return (shm_job_state)(w & STATE_MASK);
}

int shm_job_publish(shm_region *r, uint32_t kind, uint32_t spends, uint32_t rank,
                    const void *payload, uint32_t len, err_info *e)
{
    if (len > SHM_JOB_PAYLOAD) {
        err_set(e, ERR_TOO_BIG, "job payload of %u bytes (the limit is %d)", len, SHM_JOB_PAYLOAD);
        return -1;
    }
    for (int i = 0; i < SHM_MAX_JOBS; i++) {
        shm_job *j = &r->sr_jobs[i];
        uint64_t gen;
        if (shm_job_peek(r, i, &gen) != SHM_JOB_EMPTY)
            continue;
        /* Only the coordinator moves jobs out of EMPTY: no race on the payload. */
        j->jb_kind = kind;
        j->jb_budget = spends;
        atomic_store_explicit(&j->jb_rank, rank, memory_order_relaxed);
        atomic_store_explicit(&j->jb_seq, r->sr_published++, memory_order_relaxed);
        j->jb_payload_len = len;
        memcpy(j->jb_payload, payload, len);
        atomic_store_explicit(&j->jb_owner, -1, memory_order_relaxed);
        atomic_store_explicit(&j->jb_word, job_word(gen + 1, SHM_JOB_READY), memory_order_release);
        return i;
    }
    return -1;
}

int shm_job_claim(shm_region *r, int slot, unsigned budgets, uint64_t now_ns, uint64_t lease_ns,
                  uint64_t *generation)
{
    for (;;) {
        int best = -1;
        uint64_t best_word = 0, best_seq = 0;
        uint32_t best_rank = 0;
        for (int i = 0; i < SHM_MAX_JOBS; i++) {
            shm_job *j = &r->sr_jobs[i];
            uint64_t w = atomic_load_explicit(&j->jb_word, memory_order_acquire);
            /* The budget, rank and seq were written before the job was published READY. */
            if ((w & STATE_MASK) != SHM_JOB_READY || !(budgets & SHM_BUDGET_BIT(j->jb_budget)))
                continue;
            uint32_t rank = atomic_load_explicit(&j->jb_rank, memory_order_relaxed);
            uint64_t seq = atomic_load_explicit(&j->jb_seq, memory_order_relaxed);
            /* Oldest first within a rank: by slot, the low slots a run keeps
             * refilling would starve a job in a high one (on the 1m portal at
             * 3 s, batches published at 100 s were claimed at 770 s). */
            if (best < 0 || rank < best_rank || (rank == best_rank && seq < best_seq)) {
                best = i;
                best_word = w;
                best_rank = rank;
                best_seq = seq;
            }
        }
        if (best < 0)
            return -1;
        shm_job *j = &r->sr_jobs[best];
        /* Deadline first: a reclaim scan must never see CLAIMED with an old lease. */
        atomic_store_explicit(&j->jb_deadline_ns, now_ns + lease_ns, memory_order_relaxed);
        uint64_t gen = best_word >> STATE_BITS;
        if (atomic_compare_exchange_strong_explicit(&j->jb_word, &best_word,
                                                    job_word(gen, SHM_JOB_CLAIMED),
                                                    memory_order_acq_rel, memory_order_acquire)) {
            atomic_store_explicit(&j->jb_owner, slot, memory_order_release);
            *generation = gen;
            return best;
        }
        /* Another worker took it first: look again. */
    }
}

bool shm_job_renew(shm_region *r, int job, uint64_t generation, uint64_t deadline_ns)
{
    shm_job *j = &r->sr_jobs[job];
    atomic_store_explicit(&j->jb_deadline_ns, deadline_ns, memory_order_release);
    uint64_t gen;
    return shm_job_peek(r, job, &gen) == SHM_JOB_CLAIMED && gen == generation;
}

static bool transition(shm_region *r, int job, uint64_t generation, shm_job_state from,
                       shm_job_state to, uint64_t to_generation)
{
    uint64_t expect = job_word(generation, from);
    return atomic_compare_exchange_strong_explicit(&r->sr_jobs[job].jb_word, &expect,
                                                   job_word(to_generation, to),
                                                   memory_order_acq_rel, memory_order_acquire);
}

bool shm_job_finish(shm_region *r, int job, uint64_t generation)
{
    return transition(r, job, generation, SHM_JOB_CLAIMED, SHM_JOB_DONE, generation);
}

bool shm_job_release(shm_region *r, int job, uint64_t generation)
{
    if (!transition(r, job, generation, SHM_JOB_DONE, SHM_JOB_EMPTY, generation))
        return false;
    atomic_store_explicit(&r->sr_jobs[job].jb_owner, -1, memory_order_relaxed);
    return true;
}

bool shm_job_complete(shm_region *r, int job, uint64_t generation)
{
    if (!transition(r, job, generation, SHM_JOB_CLAIMED, SHM_JOB_EMPTY, generation) &&
        !transition(r, job, generation, SHM_JOB_DONE, SHM_JOB_EMPTY, generation))
        return false;
    atomic_store_explicit(&r->sr_jobs[job].jb_owner, -1, memory_order_relaxed);
    return true;
}

int shm_job_reclaim(shm_region *r, int slot, uint64_t now_ns)
{
    int n = 0;
    for (int i = 0; i < SHM_MAX_JOBS; i++) {
        shm_job *j = &r->sr_jobs[i];
        uint64_t gen;
        if (shm_job_peek(r, i, &gen) != SHM_JOB_CLAIMED)
            continue;
        bool reclaim = slot >= 0 ? atomic_load(&j->jb_owner) == slot
                                 : atomic_load(&j->jb_deadline_ns) < now_ns;
        /* A new generation voids whatever the old owner still sends. */
        if (reclaim && transition(r, i, gen, SHM_JOB_CLAIMED, SHM_JOB_READY, gen + 1)) {
            atomic_store_explicit(&j->jb_owner, -1, memory_order_relaxed);
            n++;
        }
    }
    return n;
}

uint64_t shm_token_set(shm_region *r, const char *token, uint64_t expires_ns)
{
    shm_token *t = &r->sr_token;
    size_t n = strlen(token);
    if (n >= SHM_TOKEN_MAX)
        return 0;
    /* Seqlock write: odd while writing. Writers are serialised by the
     * single-flight refresh (or run before fork). */
    uint64_t seq = atomic_fetch_add_explicit(&t->tk_seq, 1, memory_order_acq_rel);
    atomic_thread_fence(memory_order_release);
    for (size_t i = 0; i <= n; i++)
        atomic_store_explicit(&t->tk_value[i], token[i], memory_order_relaxed);
    atomic_store_explicit(&t->tk_expires_ns, expires_ns, memory_order_relaxed);
    uint64_t gen = atomic_fetch_add_explicit(&t->tk_generation, 1, memory_order_relaxed) + 1;
    atomic_store_explicit(&t->tk_seq, seq + 2, memory_order_release);
    return gen;
}

uint64_t shm_token_get(shm_region *r, char *out, size_t size)
{
    shm_token *t = &r->sr_token;
    for (;;) {
        uint64_t before = atomic_load_explicit(&t->tk_seq, memory_order_acquire);
        if (before & 1)
            continue; /* a writer is mid-copy: a few hundred bytes, spin */
        uint64_t gen = atomic_load_explicit(&t->tk_generation, memory_order_relaxed);
        size_t i = 0;
        for (; i + 1 < size && i < SHM_TOKEN_MAX; i++) {
            out[i] = atomic_load_explicit(&t->tk_value[i], memory_order_relaxed);
            if (!out[i])
                break;
        }
        if (size)
            out[i < size ? i : size - 1] = '\0';
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&t->tk_seq, memory_order_relaxed) == before)
            return gen;
    }
}

bool shm_token_begin_refresh(shm_region *r, int32_t pid, uint64_t seen_generation, uint64_t now_ns,
                             uint64_t deadline_ns)
{
    shm_token *t = &r->sr_token;
    if (atomic_load_explicit(&t->tk_generation, memory_order_acquire) != seen_generation)
        return false; /* someone already replaced the token this caller saw */
    int32_t holder = 0;
    if (!atomic_compare_exchange_strong(&t->tk_refresher, &holder, pid)) {
        if (now_ns < atomic_load(&t->tk_refresh_deadline_ns))
            return false;
        /* The refresher overran its deadline: presume it dead and take over. */
        if (!atomic_compare_exchange_strong(&t->tk_refresher, &holder, pid))
            return false;
    }
    atomic_store(&t->tk_refresh_deadline_ns, deadline_ns);
    /* Re-check: the generation may have moved between the load and the CAS. */
    if (atomic_load_explicit(&t->tk_generation, memory_order_acquire) != seen_generation) {
        shm_token_end_refresh(r, pid);
        return false;
    }
    return true;
}

void shm_token_end_refresh(shm_region *r, int32_t pid)
{
    int32_t expect = pid;
    atomic_compare_exchange_strong(&r->sr_token.tk_refresher, &expect, 0);
}
