/*
 * fuzz_assoc_batch — hs_parse_assoc_batch, the hot-path streaming scanner of
 * POST /crm/v4/associations/{from}/{to}/batch/read responses (200 and 207).
 *
 * Beyond "no crash, no leak, no UB", each input checks the contract of
 * hs_codec.h and what the worker does next with a parsed page:
 *  - whatever the scanner accepts, json-c (strict mode) parses too;
 *  - a failed parse leaves the buffer and the error list as they were (a
 *    parent already in the buffer stays intact);
 *  - a parsed page is in canonical form with every offset in bounds;
 *  - every cursor the parser accepted, the request builder accepts too, and
 *    the next-page request it writes reads back (json-c) as the same IDs and
 *    the same cursor bytes: a cursor is sent back byte-for-byte;
 *  - every complete parent survives the wire (wire_put_assoc_sets, then
 *    wire_next and wire_assoc_sets_decode) unchanged.
 */
#include <json-c/json.h>

#include "../../common/hubspot/hs_codec.h"
#include "../../common/ipc/wire.h"
#include "fuzz.h"

/* The request for the next pages must be JSON naming each paged parent's ID
 * and cursor, in buffer order. */
static void check_next_pages(const assoc_buf *b, size_t first)
{
    size_t paged = 0;
    for (size_t i = first; i < b->ab_nparents; i++)
        paged += b->ab_parents[i].ap_has_more;
    if (paged > HS_ASSOC_BATCH_MAX)
        return; /* the builder refuses more than one request's worth, by design */
    jbuf req;
    jb_init(&req);
    size_t n = 0;
    err_info e;
    FUZZ_CHECK(hs_build_assoc_next_pages(&req, b, &n, &e) == 0);
    FUZZ_CHECK(n == paged);
    if (n == 0) {
        FUZZ_CHECK(req.jb_len == 0);
        jb_free(&req);
        return;
    }
    json_tokener *tok = json_tokener_new();
    FUZZ_CHECK(tok != NULL);
    json_object *root = json_tokener_parse_ex(tok, req.jb_data, (int)req.jb_len);
    FUZZ_CHECK(root != NULL && json_tokener_get_error(tok) == json_tokener_success);
    json_object *inputs = NULL;
    FUZZ_CHECK(json_object_object_get_ex(root, "inputs", &inputs));
    FUZZ_CHECK(json_object_array_length(inputs) == n);
    size_t k = 0;
    for (size_t i = first; i < b->ab_nparents; i++) {
        const assoc_parent *p = &b->ab_parents[i];
        if (!p->ap_has_more)
            continue;
        json_object *in = json_object_array_get_idx(inputs, k++), *id = NULL, *after = NULL;
        FUZZ_CHECK(json_object_object_get_ex(in, "id", &id));
        FUZZ_CHECK(json_object_object_get_ex(in, "after", &after));
        char want[21];
        size_t want_len = fmt_u64(want, p->ap_parent_id);
        FUZZ_CHECK((size_t)json_object_get_string_len(id) == want_len &&
                   memcmp(json_object_get_string(id), want, want_len) == 0);
        FUZZ_CHECK((size_t)json_object_get_string_len(after) == p->ap_after_len &&
                   memcmp(json_object_get_string(after), assoc_after(b, p), p->ap_after_len) == 0);
    }
    json_object_put(root);
    json_tokener_free(tok);
    jb_free(&req);
}

/* Each complete parent, sent alone over the wire, decodes to itself. */
static void check_wire(const assoc_buf *b, size_t first)
{
    wire_writer w;
    wire_reader r;
    assoc_buf got;
    err_info e;
    FUZZ_CHECK(wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT) == 0);
    FUZZ_CHECK(wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT) == 0);
    assoc_buf_init(&got);
    for (size_t i = first; i < b->ab_nparents; i++) {
        const assoc_parent *p = &b->ab_parents[i];
        if (p->ap_has_more)
            continue;
        FUZZ_CHECK(wire_put_assoc_sets(&w, i, 1, 3, b, i, 1, &e) == 0);
        size_t len;
        const char *bytes = wire_writer_data(&w, &len);
        FUZZ_CHECK(wire_feed(&r, bytes, len, &e) == 0);
        wire_writer_consume(&w, len);
        wire_msg m;
        FUZZ_CHECK(wire_next(&r, &m, &e) == 1);
        FUZZ_CHECK(m.wm_kind == WIRE_ASSOC_SETS && m.wm_job_id == i &&
                   m.wm_assoc.was_nparents == 1);
        assoc_buf_reset(&got);
        FUZZ_CHECK(wire_assoc_sets_decode(&m, &got, &e) == 0);
        FUZZ_CHECK(got.ab_nparents == 1);
        FUZZ_CHECK(fuzz_assoc_parent_equal(b, p, &got, &got.ab_parents[0]));
    }
    assoc_buf_free(&got);
    wire_reader_free(&r);
    wire_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    assoc_buf out;
    hs_assoc_errors errs;
    err_info e;
    assoc_buf_init(&out);
    hs_assoc_errors_init(&errs);
    /* A parent already in the buffer, as when a worker joins pages. */
    FUZZ_CHECK(assoc_buf_begin_parent(&out, 1) == 0 && assoc_buf_add_link(&out, 2) == 0 &&
               assoc_buf_add_type(&out, 3, ASSOC_USER_DEFINED, "kept", 4) == 0 &&
               assoc_buf_finish_parent(&out) == 0);
    size_t strings = out.ab_strings.jb_len;

    int status = size % 2 ? 207 : 200;
    int rc = hs_parse_assoc_batch((const char *)data, size, status, &out, &errs, &e);
    FUZZ_CHECK(rc == 0 || rc == ERR_PARSE || rc == ERR_SHAPE || rc == ERR_TOO_BIG ||
               rc == ERR_NOMEM);
    if (rc) {
        FUZZ_CHECK(out.ab_nparents == 1 && out.ab_nlinks == 1 && out.ab_ntypes == 1);
        FUZZ_CHECK(out.ab_strings.jb_len == strings);
        FUZZ_CHECK(errs.ae_nempty == 0 && errs.ae_nfailures == 0 && errs.ae_num_errors == 0);
        FUZZ_CHECK(memchr(e.ei_msg, '\0', sizeof(e.ei_msg)) != NULL);
    } else {
        fuzz_check_assoc(&out, 0, HS_CURSOR_MAX, 1);
        json_object_put(fuzz_json_c_parse(data, size));
        for (size_t i = 0; i < errs.ae_nfailures; i++) {
            const hs_assoc_failure *f = &errs.ae_failures[i];
            FUZZ_CHECK(memchr(f->af_category, '\0', sizeof(f->af_category)));
            FUZZ_CHECK(memchr(f->af_sub_category, '\0', sizeof(f->af_sub_category)));
            FUZZ_CHECK(memchr(f->af_message, '\0', sizeof(f->af_message)));
        }
        check_next_pages(&out, 1);
        check_wire(&out, 0);
    }
    hs_assoc_errors_free(&errs);
    assoc_buf_free(&out);
    return 0;
}
