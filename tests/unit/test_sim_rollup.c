/*
 * Tests of sim/sim_rollup: mode names, value comparison, and the queue of
 * pending recomputations checked against a plain array model through a long
 * random run of every operation (push, pop, find, remove, remove_table,
 * forget_labels), with the heap order and the hash checked after each step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sim/sim_rand.h"
#include "../../sim/sim_rollup.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static void test_mode_names(void)
{
    static const struct {
        const char *s;
        int mode; /* -1: refused */
    } cases[] = {
        {"realistic", SIM_ROLLUP_REALISTIC},
        {"always", SIM_ROLLUP_ALWAYS},
        {"never", SIM_ROLLUP_NEVER},
        {"on", SIM_ROLLUP_ALWAYS},
        {"off", SIM_ROLLUP_NEVER},
        {"true", -1},
        {"", -1},
        {"Always", -1},
        {"realistic ", -1},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        sim_rollup_mode m = SIM_ROLLUP_MODE_COUNT;
        int rc = sim_rollup_mode_parse(cases[i].s, &m);
        CHECKF(cases[i].mode < 0 ? rc == -1 : rc == 0 && (int)m == cases[i].mode,
               "'%s': rc %d mode %d", cases[i].s, rc, (int)m);
    }
    for (int m = 0; m < SIM_ROLLUP_MODE_COUNT; m++) {
        sim_rollup_mode back;
        CHECK(sim_rollup_mode_parse(sim_rollup_mode_names[m], &back) == 0 && (int)back == m);
    }
    sim_rollup_model d;
    sim_rollup_model_defaults(&d);
    CHECK(d.rm_mode == SIM_ROLLUP_REALISTIC && d.rm_delay_min_ms == 2000 &&
          d.rm_delay_max_ms == 7000 && d.rm_tail == 0.02 && d.rm_tail_ms == 240000 &&
          d.rm_miss == 0.05);
}

static void test_values_differ(void)
{
    sim_rollup_values a, b;
    memset(&a, 0, sizeof(a));
    a.rv_count = 3;
    b = a;
    CHECK(!sim_rollup_values_differ(&a, &b));
    b.rv_count = 4;
    CHECK(sim_rollup_values_differ(&a, &b));
    /* Per-label values count only when both sides hold them. */
    b = a;
    b.rv_label[2] = 1;
    CHECK(!sim_rollup_values_differ(&a, &b));
    a.rv_labels = b.rv_labels = true;
    CHECK(sim_rollup_values_differ(&a, &b));
    b.rv_labels = false;
    CHECK(!sim_rollup_values_differ(&a, &b));
}

/* The model: job or not, per (table, parent). */
enum { M_TABLES = 3, M_PARENTS = 300 };

typedef struct model {
    bool m_has[M_TABLES][M_PARENTS];
    sim_rollup_job m_job[M_TABLES][M_PARENTS];
    uint32_t m_len;
} model;

static bool before(const sim_rollup_job *a, const sim_rollup_job *b)
{
    if (a->rj_due_ms != b->rj_due_ms)
        return a->rj_due_ms < b->rj_due_ms;
    if (a->rj_table != b->rj_table)
        return a->rj_table < b->rj_table;
    return a->rj_parent < b->rj_parent;
}

/* Field by field: a struct copy need not carry its padding. */
static bool same_job(const sim_rollup_job *a, const sim_rollup_job *b)
{
    return a->rj_due_ms == b->rj_due_ms && a->rj_table == b->rj_table &&
           a->rj_parent == b->rj_parent && a->rj_before.rv_count == b->rj_before.rv_count &&
           a->rj_before.rv_labels == b->rj_before.rv_labels &&
           memcmp(a->rj_before.rv_label, b->rj_before.rv_label, sizeof(a->rj_before.rv_label)) == 0;
}

/* The model's first job; false when empty. */
static bool model_first(const model *m, sim_rollup_job *out)
{
    bool any = false;
    for (uint32_t t = 0; t < M_TABLES; t++)
        for (uint32_t p = 0; p < M_PARENTS; p++)
            if (m->m_has[t][p] && (!any || before(&m->m_job[t][p], out))) {
                *out = m->m_job[t][p];
                any = true;
            }
    return any;
}

/* Heap order, every job findable at its own position, the model agreeing. */
static unsigned queue_violations(const sim_rollup_queue *q, const model *m)
{
    unsigned bad = 0;
    bad += sim_rollup_pending(q) != m->m_len;
    for (uint32_t i = 0; i < q->rq_len; i++) {
        const sim_rollup_job *j = &q->rq_heap[i];
        bad += i > 0 && before(j, &q->rq_heap[(i - 1) / 2]);
        bad += sim_rollup_find(q, j->rj_table, j->rj_parent) != j;
        bad += j->rj_table >= M_TABLES || j->rj_parent >= M_PARENTS ||
               !m->m_has[j->rj_table][j->rj_parent] ||
               !same_job(j, &m->m_job[j->rj_table][j->rj_parent]);
    }
    return bad;
}

static void test_queue_against_model(void)
{
    static model m;
    memset(&m, 0, sizeof(m));
    sim_rollup_queue q;
    sim_rollup_queue_init(&q);
    sim_rng r;
    sim_rng_seed(&r, 42, 1);
    unsigned violations = 0;
    uint64_t pushes = 0, pops = 0, removes = 0, table_removes = 0, max_len = 0;
    for (int step = 0; step < 60000 && violations == 0; step++) {
        uint32_t t = (uint32_t)sim_rng_below(&r, M_TABLES);
        uint32_t p = (uint32_t)sim_rng_below(&r, M_PARENTS);
        uint64_t op = sim_rng_below(&r, 1000);
        /* Phases that grow and shrink the queue, so it fills and empties. */
        bool growing = (step / 5000) % 2 == 0;
        if (op < (growing ? 700u : 300u)) {
            sim_rollup_job j;
            memset(&j, 0, sizeof(j));
            /* Few distinct due times: ties must order by (table, parent). */
            j.rj_due_ms = 1000 + (int64_t)sim_rng_below(&r, 50);
            j.rj_table = t;
            j.rj_parent = p;
            j.rj_before.rv_count = (uint32_t)step;
            j.rj_before.rv_labels = sim_rng_chance(&r, 0.5);
            j.rj_before.rv_label[step % SIM_ROLLUP_MAX_LABELS] = j.rj_before.rv_labels;
            int rc = sim_rollup_push(&q, &j);
            violations += rc != (m.m_has[t][p] ? 1 : 0);
            if (!m.m_has[t][p]) {
                m.m_has[t][p] = true;
                m.m_job[t][p] = j;
                m.m_len++;
                pushes++;
            }
        } else if (op < 850) {
            sim_rollup_job want, got;
            bool any = model_first(&m, &want);
            const sim_rollup_job *peek = sim_rollup_peek(&q);
            violations += (peek != NULL) != any;
            violations += sim_rollup_pop(&q, &got) != any;
            if (any) {
                violations += !same_job(&want, &got);
                m.m_has[got.rj_table][got.rj_parent] = false;
                m.m_len--;
                pops++;
            }
        } else if (op < 950) {
            violations += sim_rollup_remove(&q, t, p) != m.m_has[t][p];
            if (m.m_has[t][p]) {
                m.m_has[t][p] = false;
                m.m_len--;
                removes++;
            }
        } else if (op < 953) {
            uint32_t want = 0;
            for (uint32_t k = 0; k < M_PARENTS; k++) {
                want += m.m_has[t][k];
                m.m_has[t][k] = false;
            }
            violations += sim_rollup_remove_table(&q, t) != want;
            m.m_len -= want;
            table_removes += want;
        } else if (op < 956) {
            sim_rollup_forget_labels(&q, t);
            for (uint32_t k = 0; k < M_PARENTS; k++) {
                m.m_job[t][k].rj_before.rv_labels = false;
                memset(m.m_job[t][k].rj_before.rv_label, 0,
                       sizeof(m.m_job[t][k].rj_before.rv_label));
            }
        } else {
            sim_rollup_job *j = sim_rollup_find(&q, t, p);
            violations += (j != NULL) != m.m_has[t][p];
            violations += j && memcmp(j, &m.m_job[t][p], sizeof(*j)) != 0;
        }
        if (sim_rollup_pending(&q) > max_len)
            max_len = sim_rollup_pending(&q);
        if (step % 97 == 0)
            violations += queue_violations(&q, &m);
        if (violations)
            fprintf(stderr, "\n    queue and model disagree at step %d (op %llu)", step,
                    (unsigned long long)op);
    }
    violations += queue_violations(&q, &m);
    CHECK_EQ(violations, 0);
    /* The run exercised everything, the queue grew well past its first size. */
    CHECKF(pushes > 10000 && pops > 3000 && removes > 500 && table_removes > 50,
           "pushes %llu pops %llu removes %llu table_removes %llu", (unsigned long long)pushes,
           (unsigned long long)pops, (unsigned long long)removes,
           (unsigned long long)table_removes);
    CHECK(max_len > 400);
    /* Drained in order. */
    sim_rollup_job prev, j;
    bool first = true, ordered = true;
    while (sim_rollup_pop(&q, &j)) {
        ordered &= first || !before(&j, &prev);
        prev = j;
        first = false;
    }
    CHECK(ordered);
    CHECK_EQ(sim_rollup_pending(&q), 0);
    CHECK(sim_rollup_peek(&q) == NULL && sim_rollup_find(&q, 0, 0) == NULL);
    CHECK(!sim_rollup_remove(&q, 0, 0) && sim_rollup_remove_table(&q, 1) == 0);
    sim_rollup_queue_free(&q);
    /* A freed queue is an empty, usable one. */
    sim_rollup_job one = {5, 2, 7, {1, {0}, false}};
    CHECK(sim_rollup_push(&q, &one) == 0 && sim_rollup_find(&q, 2, 7) != NULL);
    sim_rollup_queue_free(&q);
}

/* An empty queue allocates nothing and answers every query. */
static void test_queue_empty(void)
{
    sim_rollup_queue q;
    sim_rollup_queue_init(&q);
    sim_rollup_job j;
    CHECK(sim_rollup_pending(&q) == 0 && sim_rollup_peek(&q) == NULL);
    CHECK(!sim_rollup_pop(&q, &j) && sim_rollup_find(&q, 1, 1) == NULL);
    CHECK(!sim_rollup_remove(&q, 1, 1) && sim_rollup_remove_table(&q, 1) == 0);
    sim_rollup_forget_labels(&q, 1);
    CHECK(q.rq_heap == NULL && q.rq_slots == NULL);
    sim_rollup_queue_free(&q);
}

static void test_tally_add(void)
{
    sim_rollup_tally a = {1, 2, 3, 4, 5, 6, 7}, b = {10, 20, 30, 40, 50, 60, 70};
    sim_rollup_tally_add(&a, &b);
    CHECK(a.rt_scheduled == 11 && a.rt_coalesced == 22 && a.rt_recomputed == 33 &&
          a.rt_bumped == 44 && a.rt_missed == 55 && a.rt_unchanged == 66 && a.rt_dropped == 77);
}

int unit_suite_sim_rollup(void)
{
    static const ut_test tests[] = {
        {"mode names, on/off, defaults", test_mode_names},
        {"values differ: count, per-label when both hold them", test_values_differ},
        {"queue matches a model over 60,000 random operations", test_queue_against_model},
        {"empty queue", test_queue_empty},
        {"tally add", test_tally_add},
    };
    return ut_add_suite("sim_rollup", tests, UT_COUNT(tests));
}
