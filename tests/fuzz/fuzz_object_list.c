/*
 * fuzz_object_list — hs_parse_object_list, the GET /crm/v3/objects/{t}
 * response (also archived=true), and the path its page takes next: the
 * worker sends the records and the `after` cursor as an OBJECTS message,
 * and the coordinator's listing reads the cursor back with
 * parse_u64_digits. Checks, besides the sanitizers: the page contract
 * (fuzz_check_page), no total on a list page, and that the records and the
 * cursor arrive through the wire byte-for-byte.
 */
#include "../../common/ipc/wire.h"
#include "fuzz.h"

/* No total on a list page; the page arrives through the wire unchanged. */
static void check_list(const hs_record_page *pg)
{
    FUZZ_CHECK(!pg->rp_has_total);
    wire_writer w;
    wire_reader r;
    err_info e;
    size_t n = pg->rp_count < HS_SEARCH_LIMIT_MAX ? pg->rp_count : HS_SEARCH_LIMIT_MAX;
    wire_object items[HS_SEARCH_LIMIT_MAX];
    for (size_t i = 0; i < n; i++)
        items[i] = (wire_object){pg->rp_items[i].rec_id, pg->rp_items[i].rec_lastmod_ms,
                                 pg->rp_items[i].rec_archived, (uint8_t)(i * 37)};
    FUZZ_CHECK(wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT) == 0);
    FUZZ_CHECK(wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT) == 0);
    FUZZ_CHECK(wire_put_objects(&w, 1, 2, 3, items, n, pg->rp_has_next ? pg->rp_after : NULL,
                                pg->rp_after_len, &e) == 0);
    size_t len;
    const char *bytes = wire_writer_data(&w, &len);
    FUZZ_CHECK(wire_feed(&r, bytes, len, &e) == 0);
    wire_msg m;
    FUZZ_CHECK(wire_next(&r, &m, &e) == 1 && m.wm_kind == WIRE_OBJECTS);
    const wire_objects *o = &m.wm_objects;
    FUZZ_CHECK(o->wob_nitems == n);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(o->wob_items[i].wo_id == items[i].wo_id &&
                   o->wob_items[i].wo_lastmodified_ms == items[i].wo_lastmodified_ms &&
                   o->wob_items[i].wo_archived == items[i].wo_archived &&
                   o->wob_items[i].wo_heavy == items[i].wo_heavy);
    if (!pg->rp_has_next) {
        FUZZ_CHECK(o->wob_next_after == NULL);
    } else {
        FUZZ_CHECK(o->wob_next_after_len == pg->rp_after_len &&
                   memcmp(o->wob_next_after, pg->rp_after, pg->rp_after_len) == 0);
        uint64_t id = 0;
        int digits = parse_u64_digits(o->wob_next_after, o->wob_next_after_len, &id);
        FUZZ_CHECK(digits == pg->rp_next_is_number && (!digits || id == pg->rp_next_offset));
    }
    wire_reader_free(&r);
    wire_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_pages(data, size, hs_parse_object_list, check_list);
    return 0;
}
