/*
 * seed_writer — turns the simulator responses scripts/fuzz-seeds.sh captured
 * into seeds for the targets whose input is msgpack, with the project's own
 * encoders, so every seed is a record or a stream the real code writes:
 *
 *   CORPUS/wire/    one worker stream per captured response: HELLO, then the
 *                   response as the worker sends it (ASSOC_SETS of a batch
 *                   read's complete parents, OBJECTS of a list page with its
 *                   cursor, SEARCH_RESULT of a search page), a LOG and a
 *                   JOB_DONE; and one stream holding every kind at its edges
 *   CORPUS/state/   state records (store_state_encode) whose cursors, done
 *                   ranges and figures come from the captured pages: one per
 *                   cursor kind
 *   CORPUS/schema/  schema records (store_schema_encode) of the rollup labels
 *                   found in each captured properties response (the labels-*
 *                   files beside them are association labels: skipped)
 *
 * usage: seed-writer CORPUS   (reads CORPUS/{assoc_batch,object_list,search,
 * properties}/ FILE, writes the three directories above; they must exist)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/hubspot/hs_codec.h"
#include "../../common/store/store.h"
#include "../../common/ipc/wire.h"

static int failures;

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "seed-writer: %s: %s\n", what, detail);
    failures++;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    jbuf b;
    jb_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        jb_raw(&b, chunk, n);
    fclose(f);
    return jb_steal(&b, len);
}

static void spit(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        fail(path, "cannot write");
}

/* Calls fn on every regular file of dir/sub. */
static void each_file(const char *dir, const char *sub,
                      void (*fn)(const char *out, const char *name, const char *body, size_t len),
                      const char *out)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    DIR *d = opendir(path);
    if (!d) {
        fail(path, "cannot open");
        return;
    }
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.')
            continue;
        char file[4096 + 256];
        snprintf(file, sizeof(file), "%s/%s", path, ent->d_name);
        size_t len;
        char *body = slurp(file, &len);
        if (!body)
            continue;
        fn(out, ent->d_name, body, len);
        free(body);
    }
    closedir(d);
}

/* HELLO, the message(s) of one response, a LOG and a JOB_DONE: a worker's
 * stream for one job. */
static void write_stream(const char *out, const char *prefix, const char *name, wire_writer *w)
{
    err_info e;
    if (wire_put_log(w, 7, "job done", &e) || wire_put_job_done(w, 1, 1, 0, "", NULL, &e))
        fail(name, e.ei_msg);
    size_t len;
    const char *bytes = wire_writer_data(w, &len);
    char seed[512];
    snprintf(seed, sizeof(seed), "%s-%s", prefix, name);
    spit(out, seed, bytes, len);
}

static void wire_from_assoc(const char *out, const char *name, const char *body, size_t len)
{
    assoc_buf b, complete;
    hs_assoc_errors errs;
    wire_writer w;
    err_info e;
    assoc_buf_init(&b);
    assoc_buf_init(&complete);
    hs_assoc_errors_init(&errs);
    wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT);
    if (hs_parse_assoc_batch(body, len, 207, &b, &errs, &e) != 0) {
        fail(name, e.ei_msg);
        goto done;
    }
    /* A paged parent is sent once complete: send each page's links as if
     * it were the last, which is what the worker's joined set looks like. */
    for (size_t i = 0; i < b.ab_nparents; i++)
        if (assoc_buf_begin_parent(&complete, b.ab_parents[i].ap_parent_id) ||
            assoc_buf_append_links(&complete, &b, i) || assoc_buf_finish_parent(&complete))
            fail(name, "out of memory");
    for (size_t i = 0; i < errs.ae_nempty; i++) /* an empty set: "no links now" */
        if (assoc_buf_begin_parent(&complete, errs.ae_empty_ids[i]) ||
            assoc_buf_finish_parent(&complete))
            fail(name, "out of memory");
    if (wire_put_hello(&w, 0, 4242, &e) ||
        wire_put_assoc_sets(&w, 1, 1, 0, &complete, 0, complete.ab_nparents, &e))
        fail(name, e.ei_msg);
    write_stream(out, "assoc", name, &w);
done:
    wire_writer_free(&w);
    hs_assoc_errors_free(&errs);
    assoc_buf_free(&complete);
    assoc_buf_free(&b);
}

/* A list or search page, read with the property its type uses. */
static int parse_page(const char *name, const char *body, size_t len, bool search,
                      hs_record_page *pg)
{
    err_info e;
    const char *prop = strstr(name, "contacts") ? "lastmodifieddate" : "hs_lastmodifieddate";
    int rc = search ? hs_parse_search(body, len, prop, pg, &e)
                    : hs_parse_object_list(body, len, prop, pg, &e);
    if (rc)
        fail(name, e.ei_msg);
    return rc;
}

/* A state record whose cursor and figures come from a page. */
static void state_from_page(const char *out, const char *name, const hs_record_page *pg)
{
    static store_state st;
    memset(&st, 0, sizeof(st));
    int64_t last_ms = 0;
    for (size_t i = 0; i < pg->rp_count; i++)
        if (pg->rp_items[i].rec_lastmod_ms > last_ms)
            last_ms = pg->rp_items[i].rec_lastmod_ms;
    st.ss_runs = pg->rp_count;
    st.ss_last_run.sr_route = STORE_ROUTE_FULL_RESUME;
    st.ss_last_run.sr_started_ms = last_ms;
    st.ss_last_run.sr_parents = pg->rp_count;
    st.ss_last_run.sr_api_calls = 1;
    /* Every second record of the page merged above the cursor. */
    for (size_t i = 1; i < pg->rp_count && st.ss_ndone < STORE_DONE_RANGES_MAX; i += 2)
        st.ss_done[st.ss_ndone++] =
            (store_id_range){pg->rp_items[i].rec_id, pg->rp_items[i].rec_id};
    static const char *const kinds[] = {"none", "object_id", "timestamp_ms"};
    for (int k = 0; k < 3; k++) {
        st.ss_cursor = k == 0   ? store_cursor_none()
                       : k == 1 ? store_cursor_object_id(pg->rp_count ? pg->rp_items[0].rec_id : 0)
                                : store_cursor_timestamp_ms(last_ms);
        st.ss_scan_started_ms = k == 1 ? last_ms : 0;
        st.ss_last_run.sr_completed = k == 2;
        st.ss_last_run.sr_finished_ms = k == 2 ? last_ms + 1 : 0;
        void *rec;
        size_t len;
        err_info e;
        if (store_state_encode(&st, &rec, &len, &e)) {
            fail(name, e.ei_msg);
            continue;
        }
        char seed[512];
        snprintf(seed, sizeof(seed), "%s-%s", kinds[k], name);
        spit(out, seed, rec, len);
        free(rec);
    }
}

/* A list or search page as the worker sends it (OBJECTS or SEARCH_RESULT,
 * after a HELLO) and as state records. */
static void from_page(const char *out, const char *name, const char *body, size_t len, bool search)
{
    hs_record_page pg;
    hs_record_page_init(&pg);
    if (parse_page(name, body, len, search, &pg) == 0) {
        wire_writer w;
        err_info e;
        wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT);
        wire_object items[HS_SEARCH_LIMIT_MAX];
        wire_search_hit hits[HS_SEARCH_LIMIT_MAX];
        size_t n = 0;
        for (; n < pg.rp_count && n < HS_SEARCH_LIMIT_MAX; n++) {
            const hs_record *r = &pg.rp_items[n];
            items[n] = (wire_object){r->rec_id, r->rec_lastmod_ms, r->rec_archived, (uint8_t)n};
            hits[n] = (wire_search_hit){r->rec_id, r->rec_lastmod_ms};
        }
        uint32_t total = pg.rp_total > UINT32_MAX ? UINT32_MAX : (uint32_t)pg.rp_total;
        bool more = pg.rp_has_next && pg.rp_next_offset <= UINT32_MAX;
        int rc = wire_put_hello(&w, 1, 4243, &e);
        if (rc == 0 && search)
            rc = wire_put_search_result(&w, 3, 1, total, hits, n, more, (uint32_t)pg.rp_next_offset,
                                        &e);
        else if (rc == 0)
            rc = wire_put_objects(&w, 2, 1, 0, items, n, pg.rp_has_next ? pg.rp_after : NULL,
                                  pg.rp_after_len, &e);
        if (rc)
            fail(name, e.ei_msg);
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/wire", out);
        write_stream(dir, search ? "search" : "objects", name, &w);
        wire_writer_free(&w);
        snprintf(dir, sizeof(dir), "%s/state", out);
        state_from_page(dir, name, &pg);
    }
    hs_record_page_free(&pg);
}

static void from_list(const char *out, const char *name, const char *body, size_t len)
{
    from_page(out, name, body, len, false);
}

static void from_search(const char *out, const char *name, const char *body, size_t len)
{
    from_page(out, name, body, len, true);
}

static void schema_from_properties(const char *out, const char *name, const char *body, size_t len)
{
    static const char *const tables[] = {"companies_contacts", "companies_deals", "contacts_deals",
                                         "deals_tickets"};
    hs_properties ps;
    err_info e;
    /* labels-*: association labels responses, fuzz_properties' other input. */
    if (strncmp(name, "labels-", 7) == 0)
        return;
    hs_properties_init(&ps);
    if (hs_parse_properties(body, len, &ps, &e) != 0) {
        fail(name, e.ei_msg);
        goto done;
    }
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        char prefix[128];
        int plen = snprintf(prefix, sizeof(prefix), "sync_associations_%s_label_", tables[t]);
        const char **labels;
        size_t n;
        if (hs_properties_labels_with_prefix(&ps, prefix, (size_t)plen, &labels, &n, &e))
            continue;
        store_schema sc;
        store_schema_init(&sc);
        sc.sc_ping_type = n ? STORE_PING_INCREMENTAL : STORE_PING_FULL;
        sc.sc_supports_roll_up = n > 0;
        snprintf(sc.sc_rollup_fields_object_id, sizeof(sc.sc_rollup_fields_object_id), "%.*s",
                 (int)strcspn(tables[t], "_"), tables[t]);
        for (size_t i = 0; i < n; i++)
            store_schema_add_label(&sc, labels[i], strlen(labels[i]));
        free(labels);
        void *rec;
        size_t rlen;
        if (store_schema_encode(&sc, &rec, &rlen, &e) == 0) {
            char seed[512];
            snprintf(seed, sizeof(seed), "%s-%s", tables[t], name);
            spit(out, seed, rec, rlen);
            free(rec);
        } else {
            fail(name, e.ei_msg);
        }
        store_schema_free(&sc);
    }
done:
    hs_properties_free(&ps);
}

/* One stream with every kind at the edges of its ranges. */
static void edge_stream(const char *out)
{
    wire_writer w;
    err_info e;
    assoc_buf b;
    wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT);
    assoc_buf_init(&b);
    static const char label[] = "Primary \xe2\x9c\x93";
    int rc = assoc_buf_begin_parent(&b, UINT64_MAX) || assoc_buf_add_link(&b, 0) ||
             assoc_buf_add_type(&b, INT32_MIN, ASSOC_WORK, label, sizeof(label) - 1) ||
             assoc_buf_add_type(&b, INT32_MAX, ASSOC_USER_DEFINED, "", 0) ||
             assoc_buf_add_link(&b, (UINT64_C(1) << 53) + 1) ||
             assoc_buf_add_type(&b, 1, ASSOC_HUBSPOT_DEFINED, NULL, 0) ||
             assoc_buf_finish_parent(&b) || assoc_buf_begin_parent(&b, 0) ||
             assoc_buf_finish_parent(&b);
    wire_object objs[2] = {{UINT64_MAX, INT64_MIN, true, 255}, {0, INT64_MAX, false, 0}};
    wire_search_hit hits[1] = {{UINT64_MAX, -1}};
    wire_counters counters = {UINT64_MAX, 1, 2, 3};
    if (rc || wire_put_hello(&w, UINT32_MAX, INT32_MAX, &e) ||
        wire_put_assoc_sets(&w, UINT64_MAX, UINT64_MAX, UINT16_MAX, &b, 0, 2, &e) ||
        wire_put_objects(&w, 0, 0, UINT16_MAX, objs, 2, "MC0xLTE%3D", 10, &e) ||
        wire_put_objects(&w, 1, 1, 0, NULL, 0, NULL, 0, &e) ||
        wire_put_search_result(&w, 1, 2, UINT32_MAX, hits, 1, true, UINT32_MAX, &e) ||
        wire_put_search_result(&w, 1, 2, 0, NULL, 0, false, 0, &e) ||
        wire_put_job_done(&w, 9, 9, ERR_REJECTED, "HTTP 400: VALIDATION_ERROR", &counters, &e) ||
        wire_put_log(&w, 0, label, &e))
        fail("edge stream", e.ei_msg);
    size_t len;
    const char *bytes = wire_writer_data(&w, &len);
    spit(out, "edges", bytes, len);
    assoc_buf_free(&b);
    wire_writer_free(&w);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seed-writer CORPUS\n");
        return 2;
    }
    const char *corpus = argv[1];
    char wire[4096], schema[4096];
    snprintf(wire, sizeof(wire), "%s/wire", corpus);
    snprintf(schema, sizeof(schema), "%s/schema", corpus);
    each_file(corpus, "assoc_batch", wire_from_assoc, wire);
    each_file(corpus, "object_list", from_list, corpus);
    each_file(corpus, "search", from_search, corpus);
    each_file(corpus, "properties", schema_from_properties, schema);
    edge_stream(wire);
    return failures ? 1 : 0;
}
