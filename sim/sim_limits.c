/* sim_limits — exact rolling windows and the daily counter (see sim_limits.h). */
#include "sim_limits.h"

#include <stdlib.h>

int sim_window_init(sim_window *w, uint32_t limit, int64_t window_ms)
{
    free(w->w_times_ns);
    w->w_times_ns = NULL;
    w->w_limit = limit;
    w->w_window_ns = window_ms * 1000000;
    w->w_head = 0;
    w->w_count = 0;
    if (limit == 0)
        return 0;
    w->w_times_ns = calloc(limit, sizeof(int64_t));
    return w->w_times_ns ? 0 : -1;
}

void sim_window_free(sim_window *w)
{
    free(w->w_times_ns);
    w->w_times_ns = NULL;
    w->w_count = 0;
}

/* Drops admitted times that have left the window (t ≤ now − window). */
static void expire(sim_window *w, int64_t now_ns)
{
    while (w->w_count > 0 && w->w_times_ns[w->w_head] <= now_ns - w->w_window_ns) {
        w->w_head = (w->w_head + 1) % w->w_limit;
        w->w_count--;
    }
}

uint32_t sim_window_used(sim_window *w, int64_t now_ns)
{
    if (w->w_limit == 0)
        return 0;
    expire(w, now_ns);
    return w->w_count;
}

bool sim_window_admit(sim_window *w, int64_t now_ns, uint32_t *remaining, int64_t *retry_ns)
{
    if (w->w_limit == 0) {
        *remaining = UINT32_MAX;
        return true;
    }
    expire(w, now_ns);
    if (w->w_count == w->w_limit) {
        *retry_ns = w->w_times_ns[w->w_head] + w->w_window_ns - now_ns;
        return false;
    }
    w->w_times_ns[(w->w_head + w->w_count) % w->w_limit] = now_ns;
    w->w_count++;
    *remaining = w->w_limit - w->w_count;
    return true;
}

bool sim_daily_admit(sim_daily *d, int64_t now_ms, uint64_t *remaining)
{
    int64_t day = now_ms / 86400000;
    if (day != d->d_day) {
        d->d_day = day;
        d->d_used = 0;
    }
    if (d->d_limit == 0) {
        *remaining = UINT64_MAX;
        return true;
    }
    if (d->d_used >= d->d_limit) {
        *remaining = 0;
        return false;
    }
    d->d_used++;
    *remaining = d->d_limit - d->d_used;
    return true;
}

void sim_daily_refund(sim_daily *d, uint64_t *remaining)
{
    if (d->d_used > 0)
        d->d_used--;
    *remaining = d->d_limit ? d->d_limit - d->d_used : UINT64_MAX;
}
