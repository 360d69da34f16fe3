/* sim_stats — counters for GET /_sim/stats (see sim_stats.h). */
#include "sim_stats.h"
#include "../common/base/clock.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const sim_policy_names[SIM_POLICY_COUNT] = {"TEN_SECONDLY_ROLLING", "SECONDLY",
                                                        "DAILY"};
const char *const sim_fault_names[SIM_FAULT_COUNT] = {"5xx",      "429",   "reset",     "slow",
                                                      "truncate", "stall", "stall_body"};

/* Bounds the meter's memory if the portal runs unlimited at a high rate. */
enum { METER_MAX = 1 << 22 };

void sim_stats_init(sim_stats *s, int64_t burst_window_ms, int64_t search_window_ms)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->st_lock, NULL);
    s->st_meters[0].m_window_ns = burst_window_ms * 1000000;
    s->st_meters[1].m_window_ns = search_window_ms * 1000000;
}

void sim_stats_destroy(sim_stats *s)
{
    free(s->st_meters[0].m_times);
    free(s->st_meters[1].m_times);
    pthread_mutex_destroy(&s->st_lock);
}

static void meter_clear(sim_meter *m)
{
    m->m_head = 0;
    m->m_count = 0;
    m->m_max = 0;
}

void sim_stats_set_windows(sim_stats *s, int64_t burst_window_ms, int64_t search_window_ms)
{
    pthread_mutex_lock(&s->st_lock);
    s->st_meters[0].m_window_ns = burst_window_ms * 1000000;
    s->st_meters[1].m_window_ns = search_window_ms * 1000000;
    meter_clear(&s->st_meters[0]);
    meter_clear(&s->st_meters[1]);
    pthread_mutex_unlock(&s->st_lock);
}

static uint64_t hash_str(const char *k)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ULL;
    return h;
}

void sim_stats_request(sim_stats *s, const char *key)
{
    int64_t now = clock_wall_ms();
    pthread_mutex_lock(&s->st_lock);
    s->st_total++;
    if (!s->st_first_ms)
        s->st_first_ms = now;
    s->st_last_ms = now;
    size_t i = hash_str(key) % SIM_STATS_KEYS;
    for (size_t probes = 0; probes < SIM_STATS_KEYS; probes++, i = (i + 1) % SIM_STATS_KEYS) {
        sim_stats_key *e = &s->st_keys[i];
        if (e->sk_key[0] == '\0') {
            size_t n = strlen(key);
            if (n >= SIM_STATS_KEY_MAX)
                n = SIM_STATS_KEY_MAX - 1;
            memcpy(e->sk_key, key, n);
            e->sk_key[n] = '\0';
        }
        if (strncmp(e->sk_key, key, SIM_STATS_KEY_MAX - 1) == 0) {
            e->sk_count++;
            break;
        }
    }
    pthread_mutex_unlock(&s->st_lock);
}

void sim_stats_status(sim_stats *s, int status)
{
    if (status < 100 || status >= 600)
        return;
    pthread_mutex_lock(&s->st_lock);
    s->st_status[status]++;
    pthread_mutex_unlock(&s->st_lock);
}

void sim_stats_rate_limited(sim_stats *s, sim_policy p)
{
    pthread_mutex_lock(&s->st_lock);
    s->st_rate_limited[p]++;
    pthread_mutex_unlock(&s->st_lock);
}

void sim_stats_fault(sim_stats *s, sim_fault f)
{
    pthread_mutex_lock(&s->st_lock);
    s->st_faults[f]++;
    pthread_mutex_unlock(&s->st_lock);
}

void sim_stats_connection(sim_stats *s)
{
    pthread_mutex_lock(&s->st_lock);
    s->st_connections++;
    pthread_mutex_unlock(&s->st_lock);
}

static void meter_add(sim_meter *m, int64_t now_ns)
{
    while (m->m_count > 0 && m->m_times[m->m_head] <= now_ns - m->m_window_ns) {
        m->m_head = (m->m_head + 1) % m->m_cap;
        m->m_count--;
    }
    if (m->m_count == m->m_cap) {
        if (m->m_cap >= METER_MAX)
            return;
        uint32_t cap = m->m_cap ? m->m_cap * 2 : 1024;
        int64_t *t = malloc((size_t)cap * sizeof(*t));
        if (!t)
            return;
        for (uint32_t i = 0; i < m->m_count; i++)
            t[i] = m->m_times[(m->m_head + i) % m->m_cap];
        free(m->m_times);
        m->m_times = t;
        m->m_cap = cap;
        m->m_head = 0;
    }
    m->m_times[(m->m_head + m->m_count) % m->m_cap] = now_ns;
    m->m_count++;
    if (m->m_count > m->m_max)
        m->m_max = m->m_count;
}

void sim_stats_admitted(sim_stats *s, sim_policy p, int64_t now_ns, int64_t now_ms)
{
    if (p > SIM_POLICY_SEARCH)
        return;
    pthread_mutex_lock(&s->st_lock);
    meter_add(&s->st_meters[p], now_ns);
    sim_admitted *a = &s->st_admitted[p];
    if (a->ad_count++ == 0)
        a->ad_first_ms = now_ms;
    a->ad_last_ms = now_ms;
    pthread_mutex_unlock(&s->st_lock);
}

void sim_stats_latency(sim_stats *s, sim_latency_family f, int64_t ms, bool tail)
{
    if ((unsigned)f >= SIM_LAT_FAMILY_COUNT)
        return;
    pthread_mutex_lock(&s->st_lock);
    sim_latency_sum *l = &s->st_latency[f];
    l->ls_count++;
    l->ls_sum_ms += ms;
    l->ls_tails += tail;
    pthread_mutex_unlock(&s->st_lock);
}

void sim_stats_foreign(sim_stats *s, bool admitted)
{
    pthread_mutex_lock(&s->st_lock);
    if (admitted)
        s->st_foreign_admitted++;
    else
        s->st_foreign_refused++;
    pthread_mutex_unlock(&s->st_lock);
}

uint32_t sim_stats_max_in_window(sim_stats *s, sim_policy p)
{
    pthread_mutex_lock(&s->st_lock);
    uint32_t v = p <= SIM_POLICY_SEARCH ? s->st_meters[p].m_max : 0;
    pthread_mutex_unlock(&s->st_lock);
    return v;
}

void sim_stats_rollups(sim_stats *s, const sim_rollup_tally *delta, uint32_t pending)
{
    pthread_mutex_lock(&s->st_lock);
    sim_rollup_tally_add(&s->st_rollups, delta);
    s->st_rollups_pending = pending;
    pthread_mutex_unlock(&s->st_lock);
}

void sim_stats_reset(sim_stats *s)
{
    pthread_mutex_lock(&s->st_lock);
    memset(s->st_keys, 0, sizeof(s->st_keys));
    s->st_total = 0;
    s->st_first_ms = s->st_last_ms = 0;
    memset(s->st_status, 0, sizeof(s->st_status));
    memset(s->st_rate_limited, 0, sizeof(s->st_rate_limited));
    memset(s->st_faults, 0, sizeof(s->st_faults));
    s->st_connections = 0;
    meter_clear(&s->st_meters[0]);
    meter_clear(&s->st_meters[1]);
    memset(s->st_admitted, 0, sizeof(s->st_admitted));
    memset(s->st_latency, 0, sizeof(s->st_latency));
    s->st_foreign_admitted = s->st_foreign_refused = 0;
    memset(&s->st_rollups, 0, sizeof(s->st_rollups));
    pthread_mutex_unlock(&s->st_lock);
}

/* ,"admitted":{"burst":{"count","first_ms","last_ms"},"search":{…}}. Lock held. */
static void admitted_json(const sim_stats *s, jbuf *out)
{
    static const char *const names[2] = {"burst", "search"};
    jb_lit(out, ",\"admitted\":{");
    for (int p = 0; p < 2; p++) {
        const sim_admitted *a = &s->st_admitted[p];
        jb_printf(out, "%s\"%s\":{\"count\":%llu,\"first_ms\":%lld,\"last_ms\":%lld}", p ? "," : "",
                  names[p], (unsigned long long)a->ad_count, (long long)a->ad_first_ms,
                  (long long)a->ad_last_ms);
    }
    jb_char(out, '}');
}

/* ,"latency":{"list":{"count","sum_ms","tails"},…}, every family. Lock held. */
static void latency_json(const sim_stats *s, jbuf *out)
{
    jb_lit(out, ",\"latency\":{");
    for (int f = 0; f < SIM_LAT_FAMILY_COUNT; f++) {
        const sim_latency_sum *l = &s->st_latency[f];
        jb_printf(out, "%s\"%s\":{\"count\":%llu,\"sum_ms\":%lld,\"tails\":%llu}", f ? "," : "",
                  sim_latency_family_names[f], (unsigned long long)l->ls_count,
                  (long long)l->ls_sum_ms, (unsigned long long)l->ls_tails);
    }
    jb_char(out, '}');
}

void sim_stats_json(sim_stats *s, uint64_t tokens_issued, jbuf *out)
{
    pthread_mutex_lock(&s->st_lock);
    jb_lit(out, "{\"requests\":{");
    bool first = true;
    for (size_t i = 0; i < SIM_STATS_KEYS; i++) {
        if (!s->st_keys[i].sk_key[0])
            continue;
        if (!first)
            jb_char(out, ',');
        first = false;
        jb_str(out, s->st_keys[i].sk_key);
        jb_char(out, ':');
        jb_u64(out, s->st_keys[i].sk_count);
    }
    jb_lit(out, "},\"total\":");
    jb_u64(out, s->st_total);
    jb_lit(out, ",\"status\":{");
    first = true;
    for (int code = 100; code < 600; code++) {
        if (!s->st_status[code])
            continue;
        jb_printf(out, "%s\"%d\":", first ? "" : ",", code);
        jb_u64(out, s->st_status[code]);
        first = false;
    }
    jb_lit(out, "},\"rate_limited\":{");
    for (int p = 0; p < SIM_POLICY_COUNT; p++) {
        jb_printf(out, "%s\"%s\":", p ? "," : "", sim_policy_names[p]);
        jb_u64(out, s->st_rate_limited[p]);
    }
    uint64_t faults = 0;
    jb_lit(out, "},\"faults\":{");
    for (int f = 0; f < SIM_FAULT_COUNT; f++) {
        jb_printf(out, "%s\"%s\":", f ? "," : "", sim_fault_names[f]);
        jb_u64(out, s->st_faults[f]);
        faults += s->st_faults[f];
    }
    jb_lit(out, "},\"faults_injected\":");
    jb_u64(out, faults);
    jb_lit(out, ",\"max_in_window\":");
    jb_u64(out, s->st_meters[0].m_max);
    jb_lit(out, ",\"window_ms\":");
    jb_i64(out, s->st_meters[0].m_window_ns / 1000000);
    jb_lit(out, ",\"search_max_in_window\":");
    jb_u64(out, s->st_meters[1].m_max);
    jb_lit(out, ",\"search_window_ms\":");
    jb_i64(out, s->st_meters[1].m_window_ns / 1000000);
    jb_lit(out, ",\"first_request_ms\":");
    jb_i64(out, s->st_first_ms);
    jb_lit(out, ",\"last_request_ms\":");
    jb_i64(out, s->st_last_ms);
    jb_lit(out, ",\"connections\":");
    jb_u64(out, s->st_connections);
    jb_lit(out, ",\"tokens_issued\":");
    jb_u64(out, tokens_issued);
    const sim_rollup_tally *r = &s->st_rollups;
    jb_printf(out,
              ",\"rollups\":{\"scheduled\":%llu,\"coalesced\":%llu,\"recomputed\":%llu,"
              "\"bumped\":%llu,\"missed\":%llu,\"unchanged\":%llu,\"dropped\":%llu,"
              "\"pending\":%u}",
              (unsigned long long)r->rt_scheduled, (unsigned long long)r->rt_coalesced,
              (unsigned long long)r->rt_recomputed, (unsigned long long)r->rt_bumped,
              (unsigned long long)r->rt_missed, (unsigned long long)r->rt_unchanged,
              (unsigned long long)r->rt_dropped, s->st_rollups_pending);
    admitted_json(s, out);
    latency_json(s, out);
    jb_printf(out, ",\"foreign\":{\"admitted\":%llu,\"refused\":%llu}}",
              (unsigned long long)s->st_foreign_admitted,
              (unsigned long long)s->st_foreign_refused);
    pthread_mutex_unlock(&s->st_lock);
}
