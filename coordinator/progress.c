/*
 * progress — the run's progress line (progress.h).
 */
#include "progress.h"

#include <stdarg.h>
#include <stdio.h>

enum { BAR_WIDTH = 30 };

void progress_meter_add(progress_meter *m, double t, uint64_t v)
{
    m->pm_t[m->pm_next] = t;
    m->pm_v[m->pm_next] = v;
    m->pm_next = (m->pm_next + 1) % PROGRESS_SAMPLES;
    if (m->pm_n < PROGRESS_SAMPLES)
        m->pm_n++;
}

double progress_meter_rate(const progress_meter *m, double span_s)
{
    if (m->pm_n < 2)
        return -1;
    unsigned latest = (m->pm_next + PROGRESS_SAMPLES - 1) % PROGRESS_SAMPLES;
    unsigned oldest = latest;
    /* Walk back to the oldest sample still within span_s of the latest. */
    for (unsigned k = 1; k < m->pm_n; k++) {
        unsigned i = (latest + PROGRESS_SAMPLES - k) % PROGRESS_SAMPLES;
        if (m->pm_t[latest] - m->pm_t[i] > span_s)
            break;
        oldest = i;
    }
    double dt = m->pm_t[latest] - m->pm_t[oldest];
    if (dt < 2.0 || m->pm_v[latest] < m->pm_v[oldest])
        return -1;
    return (double)(m->pm_v[latest] - m->pm_v[oldest]) / dt;
}

void progress_eta(uint64_t left, double rate, char *buf, size_t size)
{
    buf[0] = '\0';
    if (rate <= 0 || left == 0)
        return;
    double s = (double)left / rate;
    if (s >= 360000) /* a hundred hours: the rate is telling nothing useful */
        return;
    /* Rounded up: "ETA 0s" while work is left reads wrong. */
    unsigned long secs = (unsigned long)s;
    if ((double)secs < s || secs == 0)
        secs++;
    if (secs < 60)
        snprintf(buf, size, "ETA %lus", secs);
    else if (secs < 3600)
        snprintf(buf, size, "ETA %lum%02lus", secs / 60, secs % 60);
    else
        snprintf(buf, size, "ETA %luh%02lum", secs / 3600, secs / 60 % 60);
}

/* Appends to buf at *len, keeping it NUL-terminated when it is full. */
static void put(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    if (*len + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len += (size_t)n < size - *len ? (size_t)n : size - *len - 1;
}

/* " (310/s, ETA 9s)", " (310/s)" or "" for a rate and what is left. */
static void put_rate(char *buf, size_t size, size_t *len, double rate, uint64_t left, bool eta)
{
    if (rate < 0)
        return;
    char e[32] = "";
    if (eta)
        progress_eta(left, rate, e, sizeof(e));
    put(buf, size, len, " (%.0f/s%s%s)", rate, e[0] ? ", " : "", e);
}

/* "N/T noun (rate, ETA)" once the total is known, never N above T; else
 * "N unknown_noun (rate)". */
static void put_count(char *buf, size_t size, size_t *len, uint64_t n, uint64_t total, bool known,
                      const char *noun, const char *unknown_noun, double rate, bool final)
{
    if (!known) {
        put(buf, size, len, "%llu %s", (unsigned long long)n, unknown_noun);
        put_rate(buf, size, len, rate, 0, false);
        return;
    }
    uint64_t t = total < n ? n : total;
    put(buf, size, len, "%llu/%llu %s", (unsigned long long)n, (unsigned long long)t, noun);
    put_rate(buf, size, len, rate, t - n, !final);
}

size_t progress_format(const progress_view *v, char *buf, size_t size)
{
    size_t len = 0;
    if (size == 0)
        return 0;
    buf[0] = '\0';
    uint64_t total = v->pv_total < v->pv_merged ? v->pv_merged : v->pv_total;
    int filled = 0;
    if (v->pv_total_known && total)
        filled = (int)((double)BAR_WIDTH * (double)v->pv_merged / (double)total);
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    put(buf, size, &len, "[%s] ", bar);
    if (v->pv_listing) {
        /* The first phase: how many parents there are is what the list
         * finds out, so its count comes first. */
        put(buf, size, &len, "listing ");
        put_count(buf, size, &len, v->pv_listed, v->pv_list_total, v->pv_list_total != 0, "objects",
                  "objects", v->pv_list_rate, v->pv_final);
        put(buf, size, &len, "  ");
    }
    put_count(buf, size, &len, v->pv_merged, total, v->pv_total_known, "parents", "parents merged",
              v->pv_merge_rate, v->pv_final);
    put(buf, size, &len, "  %llu calls  %.1f/s", (unsigned long long)v->pv_calls,
        v->pv_seconds > 0 ? (double)v->pv_calls / v->pv_seconds : 0.0);
    return len;
}
