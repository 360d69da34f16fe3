/* sim_foreign — the foreign load's evenly spaced schedule (see sim_foreign.h). */
#include "sim_foreign.h"

void sim_foreign_set(sim_foreign *f, uint32_t count, int64_t window_ms, int64_t now_ns)
{
    f->fl_count = count;
    f->fl_interval_ns = 0;
    f->fl_next_ns = INT64_MAX;
    if (count == 0 || window_ms <= 0)
        return;
    int64_t window_ns = window_ms * 1000000;
    /* Rounded up: count + 1 arrivals then span at least a whole window. */
    f->fl_interval_ns = (window_ns + count - 1) / count;
    f->fl_next_ns = now_ns;
}

int64_t sim_foreign_next(const sim_foreign *f)
{
    return f->fl_count ? f->fl_next_ns : INT64_MAX;
}

uint32_t sim_foreign_due(sim_foreign *f, int64_t now_ns)
{
    if (!f->fl_count || now_ns < f->fl_next_ns)
        return 0;
    int64_t behind = (now_ns - f->fl_next_ns) / f->fl_interval_ns + 1;
    f->fl_next_ns += behind * f->fl_interval_ns;
    return behind > f->fl_count ? f->fl_count : (uint32_t)behind;
}
