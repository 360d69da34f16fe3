/*
 * scanmap — planned and merged ID ranges of a full scan (see scanmap.h).
 *
 * The spans are a sorted array: a scan holds a few hundred at most (one
 * per stretch of a batch in flight, and the merged runs between them), so
 * a linear pass after each change is cheaper than any tree.
 */
#include "scanmap.h"

#include <stdlib.h>
#include <string.h>

void scan_map_init(scan_map *m, uint64_t base)
{
    *m = (scan_map){.sm_base = base};
}

void scan_map_free(scan_map *m)
{
    free(m->sm_spans);
    *m = (scan_map){.sm_base = m->sm_base, .sm_top = m->sm_top};
}

/* Joins merged spans that touch, then moves the base over the merged
 * spans that start at it. */
static void settle(scan_map *m)
{
    size_t out = 0;
    for (size_t i = 0; i < m->sm_n; i++) {
        scan_span s = m->sm_spans[i];
        scan_span *prev = out ? &m->sm_spans[out - 1] : NULL;
        if (prev && prev->sp_job == SCAN_SPAN_MERGED && s.sp_job == SCAN_SPAN_MERGED &&
            prev->sp_last + 1 == s.sp_first)
            prev->sp_last = s.sp_last;
        else
            m->sm_spans[out++] = s;
    }
    m->sm_n = out;
    size_t passed = 0;
    while (passed < m->sm_n && !m->sm_top && m->sm_spans[passed].sp_job == SCAN_SPAN_MERGED &&
           m->sm_spans[passed].sp_first == m->sm_base) {
        if (m->sm_spans[passed].sp_last == UINT64_MAX)
            m->sm_top = true;
        else
            m->sm_base = m->sm_spans[passed].sp_last + 1;
        passed++;
    }
    if (m->sm_top)
        m->sm_base = UINT64_MAX;
    memmove(m->sm_spans, m->sm_spans + passed, (m->sm_n - passed) * sizeof(scan_span));
    m->sm_n -= passed;
}

int scan_map_add(scan_map *m, uint64_t first, uint64_t last, int job)
{
    if (m->sm_n == m->sm_cap) {
        size_t cap = m->sm_cap ? 2 * m->sm_cap : 64;
        scan_span *grown = realloc(m->sm_spans, cap * sizeof(scan_span));
        if (!grown)
            return -1;
        m->sm_spans = grown;
        m->sm_cap = cap;
    }
    size_t at = m->sm_n;
    while (at > 0 && m->sm_spans[at - 1].sp_first > first)
        at--;
    memmove(m->sm_spans + at + 1, m->sm_spans + at, (m->sm_n - at) * sizeof(scan_span));
    m->sm_spans[at] = (scan_span){first, last, job};
    m->sm_n++;
    if (job == SCAN_SPAN_MERGED)
        settle(m);
    return 0;
}

bool scan_map_free_from(const scan_map *m, uint64_t from, uint64_t *first, uint64_t *last)
{
    if (m->sm_top)
        return false;
    uint64_t at = from > m->sm_base ? from : m->sm_base;
    for (size_t i = 0; i < m->sm_n; i++) {
        const scan_span *s = &m->sm_spans[i];
        if (s->sp_last < at)
            continue;
        if (s->sp_first > at) {
            *first = at;
            *last = s->sp_first - 1;
            return true;
        }
        if (s->sp_last == UINT64_MAX)
            return false;
        at = s->sp_last + 1;
    }
    *first = at;
    *last = UINT64_MAX;
    return true;
}

void scan_map_job_moved(scan_map *m, int from, int to)
{
    for (size_t i = 0; i < m->sm_n; i++)
        if (m->sm_spans[i].sp_job == from)
            m->sm_spans[i].sp_job = to;
}

void scan_map_job_merged(scan_map *m, int job)
{
    scan_map_job_moved(m, job, SCAN_SPAN_MERGED);
    settle(m);
}
