/*
 * codec_bench — how fast are the HubSpot codecs? A benchmark program (it
 * prints figures and asserts nothing), built as bin/codec-bench:
 *
 *   bin/codec-bench [--seconds S] [--parents N] [--links L] [--sim] [--write-body FILE]
 *
 * Single core, one thread. It measures:
 *   (a) hs_parse_assoc_batch on a realistic v4 batch-read response body
 *       (N = 1,000 parents, ~L = 5 links each with a long tail, the
 *       unlabeled type on every link, a primary on some, user labels, some
 *       Unicode, a few paged parents with %3D cursors, 5% of inputs in a 207
 *       errors[] as NO_ASSOCIATIONS_FOUND), in associations (links) per
 *       second, parents per second and MB/s; beside it json-c's DOM alone on
 *       the same body (tokener parse + free, no walk at all): what the
 *       streaming scanner saves over parse-then-walk;
 *   (b) hs_parse_search on a 200-result search page;
 *   (c) the request builders: a 1,000-input batch read (10% with cursors) and
 *       a search body, in bytes/s and bodies/s;
 *   (d) with --sim: the same as (a) on a real body from bin/hubspot-sim
 *       ($HUBSPOT_SIM), 1,000 companies → contacts of its default portal.
 * The buffers are reused across iterations, as a worker reuses them across
 * responses; the peak RSS printed at the end shows that memory stays flat.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <json-c/json.h>

#include "../../common/hubspot/hs_codec.h"
#include "../lib/testlib.h"

typedef struct options {
    double seconds;
    unsigned parents;
    unsigned links;
    bool sim;
    const char *write_body; /* also write the synthetic body to this file */
} options;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: deterministic bodies from run to run. */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* Cursors as HubSpot writes them: base64 of "0-1-<id>", padding as %3D. */
static void write_cursor(jbuf *b, uint64_t id)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char text[40];
    int n = snprintf(text, sizeof(text), "0-1-%" PRIu64, id);
    for (int i = 0; i < n; i += 3) {
        unsigned v = (unsigned)(unsigned char)text[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)(unsigned char)text[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)text[i + 2];
        jb_char(b, b64[v >> 18 & 63]);
        jb_char(b, b64[v >> 12 & 63]);
        if (i + 1 < n)
            jb_char(b, b64[v >> 6 & 63]);
        else
            jb_lit(b, "%3D");
        if (i + 2 < n)
            jb_char(b, b64[v & 63]);
        else
            jb_lit(b, "%3D");
    }
}

/* A 207 batch-read body shaped like the simulator's (and HubSpot's). Returns
 * the number of links written via *nlinks. */
static void build_batch_body(jbuf *b, unsigned parents, unsigned mean_links, size_t *nlinks)
{
    static const char *const labels[] = {"Billing contact", "Decision maker", "Chef",
                                         "Entscheider \xc3\xa4"};
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    uint64_t parent_id = 5790939450ULL;
    *nlinks = 0;
    uint64_t *empty = malloc(parents * sizeof(*empty));
    size_t nempty = 0;
    jb_lit(b, "{\"status\":\"COMPLETE\",\"results\":[");
    bool first = true;
    for (unsigned i = 0; i < parents; i++) {
        parent_id += 1 + rnd(&seed) % 5000;
        if (rnd(&seed) % 100 < 5) {
            if (empty)
                empty[nempty++] = parent_id;
            continue;
        }
        /* Long tail: most parents have a few links, some many. */
        unsigned n = 1 + (unsigned)(rnd(&seed) % (2 * mean_links - 1));
        if (rnd(&seed) % 200 == 0)
            n = mean_links * 20;
        bool paged = rnd(&seed) % 100 < 2;
        if (!first)
            jb_char(b, ',');
        first = false;
        jb_lit(b, "{\"from\":{\"id\":");
        jb_u64_str(b, parent_id);
        jb_lit(b, "},\"to\":[");
        uint64_t child = 17705714757ULL + rnd(&seed) % 1000000;
        for (unsigned k = 0; k < n; k++) {
            child += 1 + rnd(&seed) % 100000;
            if (k)
                jb_char(b, ',');
            jb_lit(b, "{\"toObjectId\":");
            jb_u64(b, child);
            jb_lit(b, ",\"associationTypes\":[");
            if (k == 0 && rnd(&seed) % 2)
                jb_lit(b, "{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":1,\"label\":\"Primary\"},");
            jb_lit(b, "{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":279,\"label\":null}");
            if (rnd(&seed) % 10 < 2) {
                unsigned l = (unsigned)(rnd(&seed) % 4);
                jb_lit(b, ",{\"category\":\"USER_DEFINED\",\"typeId\":");
                jb_u64(b, 1000 + l);
                jb_lit(b, ",\"label\":");
                jb_str(b, labels[l]);
                jb_char(b, '}');
            }
            jb_lit(b, "]}");
        }
        *nlinks += n;
        jb_char(b, ']');
        if (paged) {
            jb_lit(b, ",\"paging\":{\"next\":{\"after\":\"");
            write_cursor(b, child);
            jb_lit(b, "\",\"link\":\"https://api.hubapi.com/crm/v4/objects/0-2/");
            jb_u64(b, parent_id);
            jb_lit(b, "/associations/0-1?after=");
            write_cursor(b, child);
            jb_lit(b, "\"}}");
        }
        jb_char(b, '}');
    }
    jb_char(b, ']');
    if (nempty) {
        jb_lit(b, ",\"numErrors\":");
        jb_u64(b, nempty);
        jb_lit(b, ",\"errors\":[");
        for (size_t i = 0; i < nempty; i++) {
            if (i)
                jb_char(b, ',');
            jb_lit(b, "{\"status\":\"error\",\"category\":\"OBJECT_NOT_FOUND\",\"subCategory\":"
                      "\"crm.associations.NO_ASSOCIATIONS_FOUND\",\"message\":\"No contact is "
                      "associated with company ");
            jb_u64(b, empty[i]);
            jb_lit(b, ".\",\"context\":{\"fromObjectId\":[");
            jb_u64_str(b, empty[i]);
            jb_lit(b, "],\"fromObjectType\":[\"company\"],\"toObjectType\":[\"contact\"]}}");
        }
        jb_char(b, ']');
    }
    jb_lit(b, ",\"startedAt\":\"2026-01-01T00:00:00.000Z\",\"completedAt\":"
              "\"2026-01-01T00:00:00.015Z\"}");
    free(empty);
}

static void build_search_body(jbuf *b, unsigned n)
{
    uint64_t id = 5434402448ULL;
    jb_lit(b, "{\"total\":9500,\"results\":[");
    for (unsigned i = 0; i < n; i++) {
        id += 17;
        if (i)
            jb_char(b, ',');
        jb_lit(b, "{\"id\":");
        jb_u64_str(b, id);
        jb_lit(b, ",\"properties\":{\"createdate\":");
        jb_iso8601_ms(b, INT64_C(1700000000000) + i);
        jb_lit(b, ",\"hs_lastmodifieddate\":");
        jb_iso8601_ms(b, INT64_C(1767225600000) + i * 13);
        jb_lit(b, ",\"hs_object_id\":");
        jb_u64_str(b, id);
        jb_lit(b, ",\"name\":\"Company ");
        jb_u64(b, i);
        jb_lit(b, "\"},\"createdAt\":");
        jb_iso8601_ms(b, INT64_C(1700000000000) + i);
        jb_lit(b, ",\"updatedAt\":");
        jb_iso8601_ms(b, INT64_C(1767225600000) + i * 13);
        jb_lit(b, ",\"archived\":false}");
    }
    jb_lit(b, "],\"paging\":{\"next\":{\"after\":\"200\"}}}");
}

/* Runs fn until `seconds` have passed (at least 3 times); returns seconds
 * per call. */
typedef int (*bench_fn)(void *ctx);

static double time_per_call(bench_fn fn, void *ctx, double seconds, uint64_t *calls)
{
    /* Warm up: caches, allocator, buffer capacities. */
    for (int i = 0; i < 3; i++)
        fn(ctx);
    uint64_t n = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 8; i++)
            if (fn(ctx) != 0)
                return -1;
        n += 8;
        t = now_s();
    } while (t - t0 < seconds);
    *calls = n;
    return (t - t0) / (double)n;
}

typedef struct batch_ctx {
    const char *bc_body;
    size_t bc_len;
    assoc_buf bc_buf;
    hs_assoc_errors bc_errs;
    err_info bc_err;
} batch_ctx;

static int run_batch(void *p)
{
    batch_ctx *c = p;
    assoc_buf_reset(&c->bc_buf);
    hs_assoc_errors_reset(&c->bc_errs);
    return hs_parse_assoc_batch(c->bc_body, c->bc_len, 207, &c->bc_buf, &c->bc_errs, &c->bc_err);
}

static int run_tokener(void *p)
{
    batch_ctx *c = p;
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *root = json_tokener_parse_ex(tok, c->bc_body, (int)c->bc_len);
    json_tokener_free(tok);
    int rc = root ? 0 : -1;
    json_object_put(root);
    return rc;
}

typedef struct search_ctx {
    const char *sc_body;
    size_t sc_len;
    hs_record_page sc_page;
    err_info sc_err;
} search_ctx;

static int run_search(void *p)
{
    search_ctx *c = p;
    return hs_parse_search(c->sc_body, c->sc_len, "hs_lastmodifieddate", &c->sc_page, &c->sc_err);
}

typedef struct build_ctx {
    jbuf bd_out;
    hs_assoc_input *bd_inputs;
    size_t bd_n;
    hs_search_query bd_query;
    err_info bd_err;
} build_ctx;

static int run_build_batch(void *p)
{
    build_ctx *c = p;
    jb_reset(&c->bd_out);
    return hs_build_assoc_batch_read(&c->bd_out, c->bd_inputs, c->bd_n, &c->bd_err);
}

static int run_build_search(void *p)
{
    build_ctx *c = p;
    jb_reset(&c->bd_out);
    return hs_build_search(&c->bd_out, &c->bd_query, &c->bd_err);
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* Parses `body` repeatedly and prints one row. */
static void bench_batch_body(const char *name, const char *body, size_t len, double seconds)
{
    batch_ctx c = {body, len, {0}, {0}, {0, ""}};
    assoc_buf_init(&c.bc_buf);
    hs_assoc_errors_init(&c.bc_errs);
    if (run_batch(&c) != 0) {
        printf("| %s | parse failed: %s | | | | |\n", name, c.bc_err.ei_msg);
        goto out;
    }
    size_t parents = c.bc_buf.ab_nparents, links = c.bc_buf.ab_nlinks;
    size_t types = c.bc_buf.ab_ntypes, empty = c.bc_errs.ae_nempty;
    uint64_t calls = 0, tcalls = 0;
    double per = time_per_call(run_batch, &c, seconds, &calls);
    double tok = time_per_call(run_tokener, &c, seconds / 2, &tcalls);
    printf("| %s: hs_parse_assoc_batch | %.1f KB, %zu parents (+%zu empty), %zu links, %zu types "
           "| %.0f | %.0f | %.1f | %.3f ms |\n",
           name, (double)len / 1024, parents, empty, links, types, (double)links / per,
           (double)(parents + empty) / per, (double)len / per / 1e6, per * 1e3);
    printf(
        "| %s: json-c DOM only (parse + free, no walk) | same | %.0f | %.0f | %.1f | %.3f ms |\n",
        name, (double)links / tok, (double)(parents + empty) / tok, (double)len / tok / 1e6,
        tok * 1e3);
out:
    assoc_buf_free(&c.bc_buf);
    hs_assoc_errors_free(&c.bc_errs);
}

/* Fetches a real batch-read body of up to 1,000 companies → contacts. */
static char *fetch_sim_body(size_t *len)
{
    char *body = NULL;
    tl_sim s;
    tl_objects os = {0};
    jbuf req;
    jb_init(&req);
    tl_resp r = {0};
    static const char *const args[] = {"--tier", "unlimited", NULL};
    if (tl_init() != 0 || tl_sim_start(&s, args) != 0)
        goto out;
    if (tl_list_all(&s, "companies", false, &os) != 0 || os.os_count == 0)
        goto stop;
    size_t n = os.os_count < HS_ASSOC_BATCH_MAX ? os.os_count : HS_ASSOC_BATCH_MAX;
    hs_assoc_input *in = calloc(n, sizeof(*in));
    if (!in)
        goto stop;
    for (size_t i = 0; i < n; i++)
        in[i].ai_id = os.os_items[i].o_id;
    err_info e;
    int rc = hs_build_assoc_batch_read(&req, in, n, &e);
    free(in);
    if (rc != 0)
        goto stop;
    if (tl_post_json(&s, "/crm/v4/associations/companies/contacts/batch/read", TL_TOKEN,
                     jb_cstr(&req), &r) == 0 &&
        (r.r_status == 200 || r.r_status == 207)) {
        body = r.r_body;
        *len = r.r_body_len;
        r.r_body = NULL;
    } else {
        tl_resp_dump("codec-bench: batch read", &r);
    }
stop:
    tl_sim_stop(&s);
out:
    tl_resp_free(&r);
    tl_objects_free(&os);
    jb_free(&req);
    return body;
}

static int parse_args(int argc, char **argv, options *o)
{
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            o->seconds = strtod(argv[++i], &end);
            if (*end || o->seconds <= 0)
                return -1;
        } else if (strcmp(argv[i], "--parents") == 0 && i + 1 < argc) {
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end || v == 0 || v > HS_ASSOC_BATCH_MAX)
                return -1;
            o->parents = (unsigned)v;
        } else if (strcmp(argv[i], "--links") == 0 && i + 1 < argc) {
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end || v == 0 || v > 500)
                return -1;
            o->links = (unsigned)v;
        } else if (strcmp(argv[i], "--sim") == 0) {
            o->sim = true;
        } else if (strcmp(argv[i], "--write-body") == 0 && i + 1 < argc) {
            o->write_body = argv[++i];
        } else {
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o = {2.0, 1000, 5, false, NULL};
    if (parse_args(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: codec-bench [--seconds S] [--parents N (1-1000)] "
                        "[--links L (1-500)] [--sim] [--write-body FILE]\n");
        return 2;
    }
    printf("# codec-bench: single core, json-c %s, %.1f s per figure\n\n", json_c_version(),
           o.seconds);

    /* (a) batch-read parsing, synthetic */
    jbuf body;
    jb_init(&body);
    size_t nlinks = 0;
    build_batch_body(&body, o.parents, o.links, &nlinks);
    if (o.write_body) {
        FILE *f = fopen(o.write_body, "wb");
        if (!f || fwrite(body.jb_data, 1, body.jb_len, f) != body.jb_len || fclose(f) != 0)
            perror(o.write_body);
    }
    printf("| association batch read | body | associations/s | parents/s | MB/s | per body |\n"
           "|---|---|---|---|---|---|\n");
    bench_batch_body("synthetic", body.jb_data, body.jb_len, o.seconds);

    /* (d) the same on a simulator body */
    if (o.sim) {
        size_t len = 0;
        char *sim_body = fetch_sim_body(&len);
        if (sim_body)
            bench_batch_body("hubspot-sim", sim_body, len, o.seconds);
        else
            printf("| hubspot-sim | could not fetch a body (is %s built?) | | | | |\n",
                   tl_sim_path());
        free(sim_body);
        tl_shutdown();
    }

    /* (b) search parsing */
    search_ctx sc = {NULL, 0, {0}, {0, ""}};
    hs_record_page_init(&sc.sc_page);
    jbuf sbody;
    jb_init(&sbody);
    build_search_body(&sbody, 200);
    sc.sc_body = sbody.jb_data;
    sc.sc_len = sbody.jb_len;
    uint64_t calls = 0;
    double per = time_per_call(run_search, &sc, o.seconds / 2, &calls);
    printf("\n| search page | body | records/s | MB/s | per body |\n|---|---|---|---|---|\n");
    if (per > 0)
        printf("| 200 results | %.1f KB | %.0f | %.1f | %.3f ms |\n", (double)sbody.jb_len / 1024,
               200 / per, (double)sbody.jb_len / per / 1e6, per * 1e3);
    else
        printf("| 200 results | parse failed: %s | | | |\n", sc.sc_err.ei_msg);

    /* (c) builders */
    build_ctx bc = {{0}, NULL, HS_ASSOC_BATCH_MAX, {0}, {0, ""}};
    jb_init(&bc.bd_out);
    bc.bd_inputs = calloc(HS_ASSOC_BATCH_MAX, sizeof(*bc.bd_inputs));
    static const char cursor[] = "MC0xLTE3NzA1NzE0NzU3%3D";
    for (size_t i = 0; bc.bd_inputs && i < HS_ASSOC_BATCH_MAX; i++) {
        bc.bd_inputs[i].ai_id = 5790939450ULL + i * 4099;
        if (i % 10 == 0) {
            bc.bd_inputs[i].ai_after = cursor;
            bc.bd_inputs[i].ai_after_len = sizeof(cursor) - 1;
        }
    }
    static const char *const props[] = {"hs_lastmodifieddate"};
    const hs_search_filter f[] = {{"hs_object_id", HS_OP_GT, "5434402448"}};
    bc.bd_query = (hs_search_query){"hs_lastmodifieddate",
                                    INT64_C(1767225600000),
                                    HS_OP_GTE,
                                    INT64_C(1767225660000),
                                    HS_OP_LTE,
                                    f,
                                    1,
                                    "hs_object_id",
                                    false,
                                    props,
                                    1,
                                    200,
                                    400,
                                    false,
                                    false};
    printf("\n| request builder | body | bytes/s | bodies/s |\n|---|---|---|---|\n");
    if (bc.bd_inputs && run_build_batch(&bc) == 0) {
        size_t blen = bc.bd_out.jb_len;
        per = time_per_call(run_build_batch, &bc, o.seconds / 2, &calls);
        printf("| batch read, 1,000 inputs (10%% with cursors) | %zu B | %.0f MB/s | %.0f |\n",
               blen, (double)blen / per / 1e6, 1 / per);
    }
    if (run_build_search(&bc) == 0) {
        size_t blen = bc.bd_out.jb_len;
        per = time_per_call(run_build_search, &bc, o.seconds / 2, &calls);
        printf("| search, window + id filter + sort | %zu B | %.0f MB/s | %.0f |\n", blen,
               (double)blen / per / 1e6, 1 / per);
    }
    printf("\npeak RSS: %ld KB\n", peak_rss_kb());

    free(bc.bd_inputs);
    jb_free(&bc.bd_out);
    jb_free(&sbody);
    hs_record_page_free(&sc.sc_page);
    jb_free(&body);
    return 0;
}
