/* sim_rollup — the rollup model's knobs and its queue (see sim_rollup.h). */
#include "sim_rollup.h"

#include <stdlib.h>
#include <string.h>

const char *const sim_rollup_mode_names[SIM_ROLLUP_MODE_COUNT] = {"realistic", "always", "never"};

int sim_rollup_mode_parse(const char *s, sim_rollup_mode *out)
{
    for (int m = 0; m < SIM_ROLLUP_MODE_COUNT; m++) {
        if (strcmp(s, sim_rollup_mode_names[m]) == 0) {
            *out = (sim_rollup_mode)m;
            return 0;
        }
    }
    /* The switch was on|off before the realistic model existed. */
    if (strcmp(s, "on") == 0 || strcmp(s, "off") == 0) {
        *out = s[1] == 'n' ? SIM_ROLLUP_ALWAYS : SIM_ROLLUP_NEVER;
        return 0;
    }
    return -1;
}

void sim_rollup_model_defaults(sim_rollup_model *m)
{
    /* From real records: values written 2–3 s after the change, persisted
     * 4–7 s after; a few slow rollups landed up to about 4 minutes later. */
    m->rm_mode = SIM_ROLLUP_REALISTIC;
    m->rm_delay_min_ms = 2000;
    m->rm_delay_max_ms = 7000;
    m->rm_tail = 0.02;
    m->rm_tail_ms = 240000;
    m->rm_miss = 0.05;
}

bool sim_rollup_values_differ(const sim_rollup_values *a, const sim_rollup_values *b)
{
    if (a->rv_count != b->rv_count)
        return true;
    if (!a->rv_labels || !b->rv_labels)
        return false;
    return memcmp(a->rv_label, b->rv_label, sizeof(a->rv_label)) != 0;
}

void sim_rollup_tally_add(sim_rollup_tally *a, const sim_rollup_tally *b)
{
    a->rt_scheduled += b->rt_scheduled;
    a->rt_coalesced += b->rt_coalesced;
    a->rt_recomputed += b->rt_recomputed;
    a->rt_bumped += b->rt_bumped;
    a->rt_missed += b->rt_missed;
    a->rt_unchanged += b->rt_unchanged;
    a->rt_dropped += b->rt_dropped;
}

void sim_rollup_queue_init(sim_rollup_queue *q)
{
    memset(q, 0, sizeof(*q));
}

void sim_rollup_queue_free(sim_rollup_queue *q)
{
    free(q->rq_heap);
    free(q->rq_slots);
    sim_rollup_queue_init(q);
}

/* ------------------------------------------------------------ the hash */

static uint64_t job_key(uint32_t table, uint32_t parent)
{
    return ((uint64_t)table + 1) << 32 | parent;
}

static uint32_t slot_home(const sim_rollup_queue *q, uint64_t key)
{
    /* Fibonacci hashing: parents of one table are dense small integers. */
    return (uint32_t)((key * 0x9e3779b97f4a7c15ULL) >> 32) & q->rq_mask;
}

/* The slot holding `key`, or UINT32_MAX. */
static uint32_t slot_find(const sim_rollup_queue *q, uint64_t key)
{
    if (!q->rq_slots)
        return UINT32_MAX;
    for (uint32_t i = slot_home(q, key);; i = (i + 1) & q->rq_mask) {
        if (q->rq_slots[i].rs_key == key)
            return i;
        if (q->rq_slots[i].rs_key == 0)
            return UINT32_MAX;
    }
}

/* Adds `key` (not present; there is room). */
static void slot_insert(sim_rollup_queue *q, uint64_t key, uint32_t pos)
{
    uint32_t i = slot_home(q, key);
    while (q->rq_slots[i].rs_key != 0)
        i = (i + 1) & q->rq_mask;
    q->rq_slots[i] = (sim_rollup_slot){key, pos};
}

/* Empties slot i, shifting later entries of its probe run back so every
 * key stays reachable from its home without tombstones. */
static void slot_delete(sim_rollup_queue *q, uint32_t i)
{
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & q->rq_mask;
        if (q->rq_slots[j].rs_key == 0)
            break;
        uint32_t k = slot_home(q, q->rq_slots[j].rs_key);
        /* An entry whose home lies cyclically in (i, j] stays put. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        q->rq_slots[i] = q->rq_slots[j];
        i = j;
    }
    q->rq_slots[i].rs_key = 0;
}

/* Rebuilds the hash from the heap with room for `cap` jobs. 0 or -1. */
static int slots_rebuild(sim_rollup_queue *q, uint32_t cap)
{
    uint32_t n = 16;
    while (n < 2 * cap)
        n *= 2;
    if (!q->rq_slots || n != q->rq_mask + 1) {
        sim_rollup_slot *s = calloc(n, sizeof(*s));
        if (!s)
            return -1;
        free(q->rq_slots);
        q->rq_slots = s;
        q->rq_mask = n - 1;
    } else {
        memset(q->rq_slots, 0, (size_t)n * sizeof(*q->rq_slots));
    }
    for (uint32_t i = 0; i < q->rq_len; i++)
        slot_insert(q, job_key(q->rq_heap[i].rj_table, q->rq_heap[i].rj_parent), i);
    return 0;
}

/* ------------------------------------------------------------ the heap */

static bool job_before(const sim_rollup_job *a, const sim_rollup_job *b)
{
    if (a->rj_due_ms != b->rj_due_ms)
        return a->rj_due_ms < b->rj_due_ms;
    /* A total order, so equal due times run in the same order every time. */
    return job_key(a->rj_table, a->rj_parent) < job_key(b->rj_table, b->rj_parent);
}

/* Puts job j at heap position pos and points its hash slot there. */
static void heap_place(sim_rollup_queue *q, uint32_t pos, const sim_rollup_job *j)
{
    q->rq_heap[pos] = *j;
    q->rq_slots[slot_find(q, job_key(j->rj_table, j->rj_parent))].rs_pos = pos;
}

/* Puts job j, whose place is free at `pos`, where the heap order wants it
 * below pos (the subtrees under pos are heaps). */
static void sift_down(sim_rollup_queue *q, uint32_t pos, sim_rollup_job j)
{
    for (;;) {
        uint32_t c = 2 * pos + 1;
        if (c >= q->rq_len)
            break;
        if (c + 1 < q->rq_len && job_before(&q->rq_heap[c + 1], &q->rq_heap[c]))
            c++;
        if (!job_before(&q->rq_heap[c], &j))
            break;
        heap_place(q, pos, &q->rq_heap[c]);
        pos = c;
    }
    heap_place(q, pos, &j);
}

/* Puts job j, whose place is free at `pos`, where the heap order wants it:
 * above pos when it comes before its parent, else below. */
static void heap_settle(sim_rollup_queue *q, uint32_t pos, sim_rollup_job j)
{
    if (pos == 0 || !job_before(&j, &q->rq_heap[(pos - 1) / 2])) {
        sift_down(q, pos, j);
        return;
    }
    while (pos > 0 && job_before(&j, &q->rq_heap[(pos - 1) / 2])) {
        heap_place(q, pos, &q->rq_heap[(pos - 1) / 2]);
        pos = (pos - 1) / 2;
    }
    heap_place(q, pos, &j);
}

/* Removes the job at heap position pos (its hash slot is at `slot`). */
static void heap_remove_at(sim_rollup_queue *q, uint32_t pos, uint32_t slot)
{
    slot_delete(q, slot);
    q->rq_len--;
    if (pos < q->rq_len)
        heap_settle(q, pos, q->rq_heap[q->rq_len]);
}

sim_rollup_job *sim_rollup_find(const sim_rollup_queue *q, uint32_t table, uint32_t parent)
{
    uint32_t s = slot_find(q, job_key(table, parent));
    return s == UINT32_MAX ? NULL : &q->rq_heap[q->rq_slots[s].rs_pos];
}

int sim_rollup_push(sim_rollup_queue *q, const sim_rollup_job *j)
{
    uint64_t key = job_key(j->rj_table, j->rj_parent);
    if (slot_find(q, key) != UINT32_MAX)
        return 1;
    if (q->rq_len == q->rq_cap) {
        uint32_t cap = q->rq_cap ? q->rq_cap * 2 : 64;
        sim_rollup_job *h = realloc(q->rq_heap, (size_t)cap * sizeof(*h));
        if (!h)
            return -1;
        q->rq_heap = h;
        if (slots_rebuild(q, cap))
            return -1;
        q->rq_cap = cap;
    }
    slot_insert(q, key, q->rq_len);
    q->rq_len++;
    heap_settle(q, q->rq_len - 1, *j);
    return 0;
}

const sim_rollup_job *sim_rollup_peek(const sim_rollup_queue *q)
{
    return q->rq_len ? &q->rq_heap[0] : NULL;
}

bool sim_rollup_pop(sim_rollup_queue *q, sim_rollup_job *out)
{
    if (!q->rq_len)
        return false;
    *out = q->rq_heap[0];
    heap_remove_at(q, 0, slot_find(q, job_key(out->rj_table, out->rj_parent)));
    return true;
}

bool sim_rollup_remove(sim_rollup_queue *q, uint32_t table, uint32_t parent)
{
    uint32_t s = slot_find(q, job_key(table, parent));
    if (s == UINT32_MAX)
        return false;
    heap_remove_at(q, q->rq_slots[s].rs_pos, s);
    return true;
}

uint32_t sim_rollup_remove_table(sim_rollup_queue *q, uint32_t table)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < q->rq_len; i++)
        if (q->rq_heap[i].rj_table != table)
            q->rq_heap[kept++] = q->rq_heap[i];
    uint32_t removed = q->rq_len - kept;
    if (!removed)
        return 0;
    q->rq_len = kept;
    /* Same capacity: the slot array is reused, so this cannot fail. */
    slots_rebuild(q, q->rq_cap);
    for (uint32_t i = kept / 2; i-- > 0;)
        sift_down(q, i, q->rq_heap[i]);
    return removed;
}

void sim_rollup_forget_labels(sim_rollup_queue *q, uint32_t table)
{
    for (uint32_t i = 0; i < q->rq_len; i++)
        if (q->rq_heap[i].rj_table == table) {
            q->rq_heap[i].rj_before.rv_labels = false;
            memset(q->rq_heap[i].rj_before.rv_label, 0, sizeof(q->rq_heap[i].rj_before.rv_label));
        }
}
