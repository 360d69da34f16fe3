/*
 * sim_bench — how fast is hubspot-sim? A benchmark program (it prints
 * figures and asserts nothing), built as bin/sim-bench:
 *
 *   HUBSPOT_SIM=bin/hubspot-sim bin/sim-bench [--connections N] [--seconds S] [--skip-big]
 *
 * It starts its own simulators (--tier unlimited, so no rate limit caps the
 * figures) and measures:
 *   (a) small requests: GET /crm/v3/objects/contacts?limit=10 over N
 *       keep-alive connections (curl multi) for S seconds;
 *   (b) association batch reads of 1,000 companies per request (cycling over
 *       every company ID, not following paging), in parents per second;
 *   (c) startup time, peak RSS (VmHWM) and association count of a large
 *       portal: 1,000,000 contacts, 200,000 companies, 500,000 deals.
 * and prints a Markdown table. The client side is single-threaded; with
 * many connections it may itself be the bottleneck, which the CPU columns
 * help tell.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../../common/base/jbuf.h"
#include "../lib/testlib.h"

enum { BATCH = 1000, MAX_CONNS = 256 };

typedef struct options {
    int connections;
    double seconds;
    bool skip_big;
} options;

/* What one load run measured. */
typedef struct load_result {
    uint64_t lr_requests; /* completed with the expected status */
    uint64_t lr_errors;   /* anything else */
    uint64_t lr_bytes;
    double lr_seconds;
    double lr_p50_ms, lr_p99_ms;
} load_result;

/* One in-flight transfer of a load run. */
typedef struct slot {
    CURL *sl_curl;
    struct curl_slist *sl_hdrs;
    int64_t sl_start_ns;
    uint64_t sl_bytes;
} slot;

/* The request a load run repeats; bodies rotate (NULL for GET). */
typedef struct load_spec {
    const char *ls_path;
    char **ls_bodies;
    size_t ls_nbodies;
} load_spec;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static size_t count_bytes(char *data, size_t size, size_t nmemb, void *userdata)
{
    (void)data;
    slot *sl = userdata;
    sl->sl_bytes += size * nmemb;
    return size * nmemb;
}

/* Prepares `sl` for request number `seq` of `spec`. */
static void slot_setup(slot *sl, const tl_sim *s, const load_spec *spec, uint64_t seq)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", s->s_base_url, spec->ls_path);
    curl_easy_setopt(sl->sl_curl, CURLOPT_URL, url);
    curl_easy_setopt(sl->sl_curl, CURLOPT_PROXY, "");
    curl_easy_setopt(sl->sl_curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(sl->sl_curl, CURLOPT_WRITEFUNCTION, count_bytes);
    curl_easy_setopt(sl->sl_curl, CURLOPT_WRITEDATA, sl);
    curl_easy_setopt(sl->sl_curl, CURLOPT_PRIVATE, sl);
    curl_easy_setopt(sl->sl_curl, CURLOPT_HTTPHEADER, sl->sl_hdrs);
    if (spec->ls_nbodies) {
        const char *body = spec->ls_bodies[seq % spec->ls_nbodies];
        curl_easy_setopt(sl->sl_curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(sl->sl_curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    sl->sl_bytes = 0;
    sl->sl_start_ns = now_ns();
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Keeps `conns` requests of `spec` in flight for `seconds`, then drains.
 * Latencies are kept (up to a cap) for the percentiles. */
static int run_load(tl_sim *s, const load_spec *spec, int conns, double seconds, load_result *res)
{
    memset(res, 0, sizeof(*res));
    size_t lat_cap = 4000000, nlat = 0;
    double *lat = malloc(lat_cap * sizeof(*lat));
    slot *slots = calloc((size_t)conns, sizeof(*slots));
    CURLM *m = curl_multi_init();
    int rc = -1;
    if (!lat || !slots || !m)
        goto done;
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conns);
    uint64_t seq = 0;
    int64_t t0 = now_ns(), deadline = t0 + (int64_t)(seconds * 1e9);
    for (int i = 0; i < conns; i++) {
        slots[i].sl_curl = curl_easy_init();
        if (!slots[i].sl_curl)
            goto done;
        char auth[128];
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", TL_TOKEN);
        slots[i].sl_hdrs = curl_slist_append(NULL, auth);
        slots[i].sl_hdrs = curl_slist_append(slots[i].sl_hdrs, "Content-Type: application/json");
        slots[i].sl_hdrs = curl_slist_append(slots[i].sl_hdrs, "Expect:");
        slot_setup(&slots[i], s, spec, seq++);
        curl_multi_add_handle(m, slots[i].sl_curl);
    }
    int active = conns;
    while (active > 0) {
        int running;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            slot *sl;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
            long status = 0;
            curl_easy_getinfo(sl->sl_curl, CURLINFO_RESPONSE_CODE, &status);
            bool ok = msg->data.result == CURLE_OK && (status == 200 || status == 207);
            int64_t end = now_ns();
            if (ok) {
                res->lr_requests++;
                res->lr_bytes += sl->sl_bytes;
                if (nlat < lat_cap)
                    lat[nlat++] = (double)(end - sl->sl_start_ns) / 1e6;
            } else {
                res->lr_errors++;
            }
            curl_multi_remove_handle(m, sl->sl_curl);
            active--;
            if (end < deadline) {
                slot_setup(sl, s, spec, seq++);
                curl_multi_add_handle(m, sl->sl_curl);
                active++;
            }
        }
        if (active > 0)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    res->lr_seconds = (double)(now_ns() - t0) / 1e9;
    if (nlat) {
        qsort(lat, nlat, sizeof(*lat), cmp_double);
        res->lr_p50_ms = lat[nlat / 2];
        res->lr_p99_ms = lat[(size_t)((double)nlat * 0.99)];
    }
    rc = 0;
done:
    for (int i = 0; slots && i < conns; i++) {
        if (slots[i].sl_curl)
            curl_easy_cleanup(slots[i].sl_curl);
        curl_slist_free_all(slots[i].sl_hdrs);
    }
    if (m)
        curl_multi_cleanup(m);
    free(slots);
    free(lat);
    return rc;
}

/* CPU seconds (user + system) of process `pid` from /proc, or -1. */
static double cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields 14 and 15 (utime, stime) follow the ")" that ends the name. */
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* A /proc/PID/status field in kB (VmHWM, VmRSS), or -1. */
static long proc_status_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            kb = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    if (f)
        fclose(f);
    return kb;
}

/* Batch-read bodies of BATCH company IDs each, covering every company. */
static char **company_batches(tl_sim *s, size_t *nbodies, size_t *ncompanies)
{
    tl_objects os;
    *nbodies = 0;
    if (tl_list_all(s, "companies", false, &os) < 0 || os.os_count == 0)
        return NULL;
    *ncompanies = os.os_count;
    size_t n = (os.os_count + BATCH - 1) / BATCH;
    char **bodies = calloc(n, sizeof(*bodies));
    for (size_t b = 0; bodies && b < n; b++) {
        jbuf j;
        jb_init(&j);
        jb_lit(&j, "{\"inputs\":[");
        /* The last batch wraps around so every request carries BATCH inputs. */
        for (size_t k = 0; k < BATCH; k++) {
            if (k)
                jb_char(&j, ',');
            jb_lit(&j, "{\"id\":");
            jb_u64_str(&j, os.os_items[(b * BATCH + k) % os.os_count].o_id);
            jb_char(&j, '}');
        }
        jb_lit(&j, "]}");
        size_t len;
        bodies[b] = jb_steal(&j, &len);
    }
    *nbodies = bodies ? n : 0;
    tl_objects_free(&os);
    return bodies;
}

/* Total association count: the lines of every table's truth. */
static long long count_associations(tl_sim *s, const char *const *tables, size_t n)
{
    long long total = 0;
    for (size_t i = 0; i < n; i++) {
        tl_resp r;
        tl_getf(s, NULL, &r, "/_sim/truth?table=%s", tables[i]);
        if (r.r_status != 200) {
            tl_resp_free(&r);
            return -1;
        }
        for (size_t k = 0; k < r.r_body_len; k++)
            total += r.r_body[k] == '\n';
        tl_resp_free(&r);
    }
    return total;
}

/* Starts a sim and reports how long until it printed its line. */
static int start_timed(tl_sim *s, const char *const *args, double *startup_s)
{
    int64_t t0 = tl_now_ms();
    int rc = tl_sim_start(s, args);
    *startup_s = (double)(tl_now_ms() - t0) / 1000.0;
    return rc;
}

static void row(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void row(const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("| %s | ", what);
    vprintf(fmt, ap);
    printf(" |\n");
    va_end(ap);
}

/* (a) and (b) on a mid-sized portal. */
static int bench_throughput(const options *o)
{
    tl_sim s = {0};
    const char *args[] = {"--tier",  "unlimited", "--contacts", "100000", "--companies", "20000",
                          "--deals", "50000",     "--tickets",  "10000",  NULL};
    double startup;
    if (start_timed(&s, args, &startup) < 0)
        return -1;
    size_t nbodies = 0, ncompanies = 0;
    char **bodies = company_batches(&s, &nbodies, &ncompanies);
    load_result small = {0}, assoc = {0};
    double sim_cpu0 = cpu_seconds(s.s_pid), me0 = self_cpu_seconds();
    load_spec list = {.ls_path = "/crm/v3/objects/contacts?limit=10"};
    run_load(&s, &list, o->connections, o->seconds, &small);
    double sim_cpu1 = cpu_seconds(s.s_pid), me1 = self_cpu_seconds();
    load_spec batch = {.ls_path = "/crm/v4/associations/companies/contacts/batch/read",
                       .ls_bodies = bodies,
                       .ls_nbodies = nbodies};
    if (bodies)
        run_load(&s, &batch, o->connections, o->seconds, &assoc);
    double sim_cpu2 = cpu_seconds(s.s_pid), me2 = self_cpu_seconds();
    long hwm = proc_status_kb(s.s_pid, "VmHWM");

    row("portal (a, b)",
        "100k contacts, 20k companies, 50k deals, 10k tickets; started in %.2f s, "
        "VmHWM %.0f MB",
        startup, (double)hwm / 1024.0);
    row("(a) GET list limit=10",
        "**%.0f req/s** over %d connections, %.1f s; p50 %.2f ms, "
        "p99 %.2f ms; %llu errors",
        (double)small.lr_requests / small.lr_seconds, o->connections, small.lr_seconds,
        small.lr_p50_ms, small.lr_p99_ms, (unsigned long long)small.lr_errors);
    row("(a) CPU", "sim %.0f%%, bench client %.0f%% of one core",
        100.0 * (sim_cpu1 - sim_cpu0) / small.lr_seconds, 100.0 * (me1 - me0) / small.lr_seconds);
    row("(b) assoc batch read, 1,000 companies/request",
        "**%.0f parents/s** (%.1f req/s, %.1f MB/s) over %d connections, %.1f s; p50 %.1f ms, "
        "p99 %.1f ms; %llu errors; %zu companies cycled",
        (double)assoc.lr_requests * BATCH / (assoc.lr_seconds > 0 ? assoc.lr_seconds : 1),
        (double)assoc.lr_requests / (assoc.lr_seconds > 0 ? assoc.lr_seconds : 1),
        (double)assoc.lr_bytes / 1e6 / (assoc.lr_seconds > 0 ? assoc.lr_seconds : 1),
        o->connections, assoc.lr_seconds, assoc.lr_p50_ms, assoc.lr_p99_ms,
        (unsigned long long)assoc.lr_errors, ncompanies);
    row("(b) CPU", "sim %.0f%%, bench client %.0f%% of one core",
        100.0 * (sim_cpu2 - sim_cpu1) / (assoc.lr_seconds > 0 ? assoc.lr_seconds : 1),
        100.0 * (me2 - me1) / (assoc.lr_seconds > 0 ? assoc.lr_seconds : 1));
    for (size_t i = 0; i < nbodies; i++)
        free(bodies[i]);
    free(bodies);
    tl_sim_stop(&s);
    return 0;
}

/* (c) startup time, memory and associations of a large portal. */
static int bench_big(void)
{
    tl_sim s = {0};
    const char *args[] = {"--tier",  "unlimited", "--contacts", "1000000", "--companies", "200000",
                          "--deals", "500000",    "--tickets",  "0",       NULL};
    double startup;
    tl_set_start_timeout_ms(900000);
    if (start_timed(&s, args, &startup) < 0)
        return -1;
    long hwm_start = proc_status_kb(s.s_pid, "VmHWM");
    static const char *const tables[] = {"companies_contacts", "companies_deals", "contacts_deals"};
    int64_t t0 = tl_now_ms();
    long long links = count_associations(&s, tables, 3);
    double truth_s = (double)(tl_now_ms() - t0) / 1000.0;
    long hwm_after = proc_status_kb(s.s_pid, "VmHWM");
    row("(c) portal", "1M contacts, 200k companies, 500k deals, 0 tickets");
    row("(c) startup", "**%.2f s** to the listening line", startup);
    row("(c) peak RSS (VmHWM)", "**%.0f MB** after startup, %.0f MB after serving the truth",
        (double)hwm_start / 1024.0, (double)hwm_after / 1024.0);
    row("(c) associations",
        "**%lld** in companies_contacts, companies_deals, contacts_deals "
        "(truth served in %.1f s)",
        links, truth_s);
    tl_sim_stop(&s);
    return 0;
}

static int parse_options(int argc, char **argv, options *o)
{
    o->connections = 8;
    o->seconds = 5;
    o->skip_big = false;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--connections") == 0 && i + 1 < argc) {
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > MAX_CONNS)
                return -1;
            o->connections = (int)n;
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            o->seconds = strtod(argv[++i], &end);
            if (*end || o->seconds <= 0)
                return -1;
        } else if (strcmp(argv[i], "--skip-big") == 0) {
            o->skip_big = true;
        } else {
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    if (parse_options(argc, argv, &o) < 0) {
        fprintf(stderr,
                "usage: HUBSPOT_SIM=bin/hubspot-sim %s [--connections N (1-%d)] "
                "[--seconds S] [--skip-big]\n",
                argv[0], MAX_CONNS);
        return 2;
    }
    if (tl_init() < 0)
        return 1;
    printf("## hubspot-sim benchmark (%s)\n\n| measurement | result |\n|---|---|\n", tl_sim_path());
    fflush(stdout);
    int rc = bench_throughput(&o);
    if (rc == 0 && !o.skip_big)
        rc = bench_big();
    if (rc < 0)
        fprintf(stderr, "sim-bench: could not start %s\n", tl_sim_path());
    tl_shutdown();
    return rc < 0 ? 1 : 0;
}
