/*
 * Tests of common/ipc/wire: every message kind survives a round trip exactly
 * (IDs up to 2^64-1, empty sets, labels nil vs empty), streams survive
 * 1-byte reads and writes and a full non-blocking socket, and damaged input
 * of any kind (flipped bytes, every truncation, absurd length prefixes,
 * wrong versions, kinds, types and ranges) ends in an error or "need more",
 * never a crash, a hang or a leak. Malformed messages are written in a tiny
 * text notation packed with msgpack-c, an encoder independent of ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "../../common/ipc/wire.h"
#include "../../sim/sim_rand.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

#define TWO53P1 ((UINT64_C(1) << 53) + 1)

/* ---- fixtures ------------------------------------------------------------ */

/* "Ünïcødé ✓ 标签" */
static const char utf8_label[] = "\xc3\x9c"
                                 "n\xc3\xaf"
                                 "c\xc3\xb8"
                                 "d\xc3\xa9 \xe2\x9c\x93 \xe6\xa0\x87\xe7\xad\xbe";

/* Adds a type or records a failed check. */
static bool add_type(assoc_buf *b, int32_t type_id, assoc_category c, const char *label)
{
    return CHECK(assoc_buf_add_type(b, type_id, c, label, label ? strlen(label) : 0) == 0);
}

/* The edge cases: IDs 0, 2^53+1 and 2^64-1 as parents and children, a parent
 * with no links, a link with no types, labels nil, empty, UTF-8 and 1 KiB,
 * extreme type IDs, every category, and a parent of 300 links. */
static bool make_fixture(assoc_buf *b)
{
    static char long_label[1025];
    memset(long_label, 'L', 1024);
    long_label[1024] = '\0';
    bool ok = assoc_buf_begin_parent(b, 0) == 0 && assoc_buf_add_link(b, 0) == 0 &&
              add_type(b, 1, ASSOC_HUBSPOT_DEFINED, NULL) && assoc_buf_add_link(b, TWO53P1) == 0 &&
              add_type(b, 2, ASSOC_USER_DEFINED, utf8_label) &&
              add_type(b, 3, ASSOC_INTEGRATOR_DEFINED, "") &&
              assoc_buf_add_link(b, UINT64_MAX) == 0 && add_type(b, INT32_MAX, ASSOC_WORK, NULL) &&
              add_type(b, INT32_MIN, ASSOC_HUBSPOT_DEFINED, "x") &&
              add_type(b, -1, ASSOC_USER_DEFINED, long_label) && assoc_buf_finish_parent(b) == 0;
    ok = ok && assoc_buf_begin_parent(b, TWO53P1) == 0 && assoc_buf_finish_parent(b) == 0;
    ok = ok && assoc_buf_begin_parent(b, UINT64_MAX) == 0 && assoc_buf_add_link(b, 5) == 0 &&
         assoc_buf_add_link(b, 6) == 0 && add_type(b, 279, ASSOC_HUBSPOT_DEFINED, NULL) &&
         assoc_buf_finish_parent(b) == 0;
    ok = ok && assoc_buf_begin_parent(b, 1234) == 0;
    for (uint64_t i = 0; ok && i < 300; i++) {
        char label[32];
        snprintf(label, sizeof(label), "label %" PRIu64, i);
        ok = assoc_buf_add_link(b, (UINT64_C(1) << 40) + i * 977) == 0 &&
             add_type(b, 1 + (int32_t)(i % 5), (assoc_category)(i % 4), i % 3 ? NULL : label);
    }
    ok = ok && assoc_buf_finish_parent(b) == 0;
    ok = ok && assoc_buf_begin_parent(b, UINT64_MAX - 1) == 0 && assoc_buf_finish_parent(b) == 0;
    return CHECK(ok);
}

/* True when parent ai of a and parent bi of b hold the same set; describes
 * the first difference on stderr. */
static bool same_parent(const assoc_buf *a, size_t ai, const assoc_buf *b, size_t bi)
{
    const assoc_parent *pa = &a->ab_parents[ai], *pb = &b->ab_parents[bi];
    if (pa->ap_parent_id != pb->ap_parent_id || pa->ap_nlinks != pb->ap_nlinks) {
        fprintf(stderr, "\n    parent %" PRIu64 " (%u links) vs %" PRIu64 " (%u links)",
                pa->ap_parent_id, pa->ap_nlinks, pb->ap_parent_id, pb->ap_nlinks);
        return false;
    }
    const assoc_link *la = assoc_links(a, pa), *lb = assoc_links(b, pb);
    for (uint32_t i = 0; i < pa->ap_nlinks; i++) {
        if (la[i].al_child_id != lb[i].al_child_id || la[i].al_ntypes != lb[i].al_ntypes) {
            fprintf(stderr, "\n    parent %" PRIu64 " link %u differs", pa->ap_parent_id, i);
            return false;
        }
        const assoc_type *ta = assoc_types(a, &la[i]), *tb = assoc_types(b, &lb[i]);
        for (uint32_t k = 0; k < la[i].al_ntypes; k++) {
            const char *sa = assoc_label(a, &ta[k]), *sb = assoc_label(b, &tb[k]);
            bool same = ta[k].at_type_id == tb[k].at_type_id &&
                        ta[k].at_category == tb[k].at_category && !sa == !sb &&
                        ta[k].at_label_len == tb[k].at_label_len &&
                        (!sa || memcmp(sa, sb, ta[k].at_label_len) == 0);
            if (!same) {
                fprintf(stderr, "\n    parent %" PRIu64 " child %" PRIu64 " type %u differs",
                        pa->ap_parent_id, la[i].al_child_id, k);
                return false;
            }
        }
    }
    return true;
}

/* A larger, HubSpot-like buffer: nparents parents of `per` links, mostly one
 * unlabeled type, sometimes a labeled second one. */
static bool make_big(assoc_buf *b, uint32_t nparents, uint32_t per, uint64_t seed)
{
    sim_rng r;
    sim_rng_seed(&r, seed, 1);
    static const char *const labels[] = {"Decision maker", "Billing contact", "Champion", ""};
    uint64_t parent = UINT64_C(5000000000);
    for (uint32_t p = 0; p < nparents; p++) {
        parent += 1 + sim_rng_below(&r, 1000);
        if (assoc_buf_begin_parent(b, parent))
            return false;
        uint64_t child = UINT64_C(10000000000);
        for (uint32_t i = 0; i < per; i++) {
            child += 1 + sim_rng_below(&r, 100000);
            if (assoc_buf_add_link(b, child) ||
                assoc_buf_add_type(b, 279, ASSOC_HUBSPOT_DEFINED, NULL, 0))
                return false;
            if (sim_rng_below(&r, 10) == 0) {
                const char *l = labels[sim_rng_below(&r, 4)];
                if (assoc_buf_add_type(b, 1 + (int32_t)sim_rng_below(&r, 50), ASSOC_USER_DEFINED, l,
                                       strlen(l)))
                    return false;
            }
        }
        if (assoc_buf_finish_parent(b))
            return false;
    }
    return true;
}

/* Moves everything the writer holds into the reader. */
static bool pump(wire_writer *w, wire_reader *r)
{
    size_t n;
    const char *p = wire_writer_data(w, &n);
    if (wire_feed(r, p, n, NULL) != 0)
        return false;
    wire_writer_consume(w, n);
    return true;
}

/* ---- a numbered sequence of mixed messages -------------------------------- */

/* Message i of a deterministic stream touching every kind. */
static int put_nth(wire_writer *w, uint64_t i, const assoc_buf *fx)
{
    switch (i % 6) {
    case 0:
        return wire_put_hello(w, (uint32_t)i, (int32_t)(i + 1), NULL);
    case 1: {
        size_t first = (size_t)(i / 6) % fx->ab_nparents;
        size_t count = fx->ab_nparents - first < 2 ? fx->ab_nparents - first : 2;
        return wire_put_assoc_sets(w, i, i * 7, (uint16_t)i, fx, first, count, NULL);
    }
    case 2: {
        wire_object items[4];
        for (size_t k = 0; k < 4; k++)
            items[k] = (wire_object){i * 1000 + k, -(int64_t)i * 3 + (int64_t)k, k % 2 == 1,
                                     (uint8_t)(i + k)};
        char next[32];
        int n = snprintf(next, sizeof(next), "after-%" PRIu64, i);
        return wire_put_objects(w, i, i + 1, (uint16_t)(i % 11), items, i % 5, i % 4 ? next : NULL,
                                (size_t)n, NULL);
    }
    case 3: {
        wire_search_hit hits[3];
        for (size_t k = 0; k < 3; k++)
            hits[k] = (wire_search_hit){UINT64_MAX - i - k, (int64_t)(i * 1000 + k)};
        return wire_put_search_result(w, i, i + 2, (uint32_t)(i * 13), hits, i % 4, i % 2 == 0,
                                      (uint32_t)i, NULL);
    }
    case 4: {
        char msg[32];
        snprintf(msg, sizeof(msg), "job %" PRIu64, i);
        wire_counters c = {i, i + 1, i + 2, UINT64_MAX - i};
        return wire_put_job_done(w, i, i + 3, -(int32_t)(i % 17), msg, &c, NULL);
    }
    default: {
        char text[32];
        snprintf(text, sizeof(text), "line %" PRIu64, i);
        return wire_put_log(w, (uint8_t)(i % 8), text, NULL);
    }
    }
}

/* Checks that m is message i of put_nth (decoding ASSOC_SETS into scratch). */
static bool check_nth(const wire_msg *m, uint64_t i, const assoc_buf *fx, assoc_buf *scratch)
{
    bool ok = m->wm_kind == (wire_kind)(1 + i % 6);
    switch (i % 6) {
    case 0:
        ok = ok && m->wm_hello.wh_slot == (uint32_t)i && m->wm_hello.wh_pid == (int32_t)(i + 1);
        break;
    case 1: {
        size_t first = (size_t)(i / 6) % fx->ab_nparents;
        size_t count = fx->ab_nparents - first < 2 ? fx->ab_nparents - first : 2;
        assoc_buf_reset(scratch);
        ok = ok && m->wm_job_id == i && m->wm_generation == i * 7 &&
             m->wm_assoc.was_table == (uint16_t)i && m->wm_assoc.was_nparents == count &&
             wire_assoc_sets_decode(m, scratch, NULL) == 0 && scratch->ab_nparents == count;
        for (size_t k = 0; ok && k < count; k++)
            ok = same_parent(fx, first + k, scratch, k);
        break;
    }
    case 2: {
        const wire_objects *o = &m->wm_objects;
        char next[32];
        snprintf(next, sizeof(next), "after-%" PRIu64, i);
        ok = ok && m->wm_job_id == i && m->wm_generation == i + 1 && o->wob_object_type == i % 11 &&
             o->wob_nitems == i % 5;
        for (size_t k = 0; ok && k < o->wob_nitems; k++)
            ok = o->wob_items[k].wo_id == i * 1000 + k &&
                 o->wob_items[k].wo_lastmodified_ms == -(int64_t)i * 3 + (int64_t)k &&
                 o->wob_items[k].wo_archived == (k % 2 == 1) &&
                 o->wob_items[k].wo_heavy == (uint8_t)(i + k);
        if (i % 4)
            ok = ok && o->wob_next_after && strcmp(o->wob_next_after, next) == 0 &&
                 o->wob_next_after_len == strlen(next);
        else
            ok = ok && o->wob_next_after == NULL;
        break;
    }
    case 3: {
        const wire_search_result *s = &m->wm_search;
        ok = ok && m->wm_job_id == i && m->wm_generation == i + 2 &&
             s->wsr_total == (uint32_t)(i * 13) && s->wsr_nhits == i % 4 &&
             s->wsr_has_next == (i % 2 == 0) && s->wsr_next_offset == (i % 2 == 0 ? i : 0);
        for (size_t k = 0; ok && k < s->wsr_nhits; k++)
            ok = s->wsr_hits[k].wsh_id == UINT64_MAX - i - k &&
                 s->wsr_hits[k].wsh_lastmodified_ms == (int64_t)(i * 1000 + k);
        break;
    }
    case 4: {
        const wire_job_done *d = &m->wm_done;
        char msg[32];
        snprintf(msg, sizeof(msg), "job %" PRIu64, i);
        ok = ok && m->wm_job_id == i && m->wm_generation == i + 3 &&
             d->wjd_status == -(int32_t)(i % 17) && strcmp(d->wjd_message, msg) == 0 &&
             d->wjd_counters.wc_calls == i && d->wjd_counters.wc_retries == i + 1 &&
             d->wjd_counters.wc_throttled == i + 2 && d->wjd_counters.wc_bytes == UINT64_MAX - i;
        break;
    }
    default: {
        char text[32];
        snprintf(text, sizeof(text), "line %" PRIu64, i);
        ok = ok && m->wm_log.wl_level == i % 8 && strcmp(m->wm_log.wl_text, text) == 0;
        break;
    }
    }
    if (!ok)
        fprintf(stderr, "\n    message %" PRIu64 " (%s) differs", i, wire_kind_name(m->wm_kind));
    return ok;
}

/* ---- a text notation for hand-made msgpack -------------------------------- *
 *
 *   [a, b, ...]  array        123, -5   integers (packed as small as fits)
 *   "text"       str          nil true false
 *   {}           empty map    F   a float     B   a bin
 *   S<n>         a str of n 'a' bytes
 *   #<hex>       raw bytes, e.g. #cf0000000000000001 (a wide uint 1)
 */
static bool tp_value(const char **s, msgpack_sbuffer *sb);

static void tp_skip(const char **s)
{
    while (**s == ' ' || **s == ',')
        (*s)++;
}

static bool tp_array(const char **s, msgpack_sbuffer *sb)
{
    msgpack_sbuffer inner;
    msgpack_sbuffer_init(&inner);
    uint32_t n = 0;
    bool ok = true;
    for (;;) {
        tp_skip(s);
        if (**s == ']') {
            (*s)++;
            break;
        }
        if (**s == '\0' || !tp_value(s, &inner)) {
            ok = false;
            break;
        }
        n++;
    }
    if (ok) {
        msgpack_packer pk;
        msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, n);
        if (inner.size)
            msgpack_sbuffer_write(sb, inner.data, inner.size);
    }
    msgpack_sbuffer_destroy(&inner);
    return ok;
}

static bool tp_value(const char **s, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    tp_skip(s);
    const char *p = *s;
    char *end;
    if (*p == '[') {
        *s = p + 1;
        return tp_array(s, sb);
    }
    if (*p == '"') {
        const char *q = strchr(p + 1, '"');
        if (!q)
            return false;
        msgpack_pack_str_with_body(&pk, p + 1, (size_t)(q - p - 1));
        *s = q + 1;
    } else if (*p == '-') {
        msgpack_pack_int64(&pk, strtoll(p, &end, 10));
        *s = end;
    } else if (*p >= '0' && *p <= '9') {
        msgpack_pack_uint64(&pk, strtoull(p, &end, 10));
        *s = end;
    } else if (strncmp(p, "nil", 3) == 0) {
        msgpack_pack_nil(&pk);
        *s = p + 3;
    } else if (strncmp(p, "true", 4) == 0) {
        msgpack_pack_true(&pk);
        *s = p + 4;
    } else if (strncmp(p, "false", 5) == 0) {
        msgpack_pack_false(&pk);
        *s = p + 5;
    } else if (strncmp(p, "{}", 2) == 0) {
        msgpack_pack_map(&pk, 0);
        *s = p + 2;
    } else if (*p == 'F') {
        msgpack_pack_double(&pk, 1.5);
        *s = p + 1;
    } else if (*p == 'B') {
        msgpack_pack_bin_with_body(&pk, "x", 1);
        *s = p + 1;
    } else if (*p == 'S') {
        size_t n = strtoul(p + 1, &end, 10);
        char *a = malloc(n + 1);
        if (!a)
            return false;
        memset(a, 'a', n);
        msgpack_pack_str_with_body(&pk, a, n);
        free(a);
        *s = end;
    } else if (*p == '#') {
        p++;
        while (p[0] && p[1] && strchr("0123456789abcdef", p[0]) &&
               strchr("0123456789abcdef", p[1])) {
            char hex[3] = {p[0], p[1], 0};
            char byte = (char)strtoul(hex, NULL, 16);
            msgpack_sbuffer_write(sb, &byte, 1);
            p += 2;
        }
        *s = p;
    } else {
        return false;
    }
    return true;
}

/* Appends the framed msgpack of `text` (with its true length prefix) to out. */
static bool tp_frame(const char *text, jbuf *out)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    const char *s = text;
    bool ok = true;
    while (ok && (tp_skip(&s), *s != '\0'))
        ok = tp_value(&s, &sb);
    if (ok) {
        unsigned char prefix[4] = {(unsigned char)(sb.size >> 24), (unsigned char)(sb.size >> 16),
                                   (unsigned char)(sb.size >> 8), (unsigned char)sb.size};
        jb_raw(out, (const char *)prefix, 4);
        if (sb.size)
            jb_raw(out, sb.data, sb.size);
    }
    msgpack_sbuffer_destroy(&sb);
    return CHECKF(ok && jb_ok(out), "bad notation: %s", text);
}

/* Feeds bytes to a fresh reader and returns wire_next()'s result; for a
 * yielded ASSOC_SETS, *decode_rc gets wire_assoc_sets_decode()'s. */
static int run_bytes(const char *bytes, size_t n, int *decode_rc, err_info *e)
{
    wire_reader r;
    wire_reader_init(&r, 1 << 20);
    assoc_buf b;
    assoc_buf_init(&b);
    wire_msg m;
    *decode_rc = 0;
    int rc = wire_feed(&r, bytes, n, e);
    if (rc == 0)
        rc = wire_next(&r, &m, e);
    if (rc == 1 && m.wm_kind == WIRE_ASSOC_SETS)
        *decode_rc = wire_assoc_sets_decode(&m, &b, e);
    assoc_buf_free(&b);
    wire_reader_free(&r);
    return rc;
}

/* ---- round trips ----------------------------------------------------------- */

static void test_hello_and_log(void)
{
    wire_writer w;
    wire_reader r;
    wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT);
    wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT);
    wire_msg m;
    err_info e = {0};
    char *big = malloc(WIRE_TEXT_MAX + 100);
    REQUIRE(big != NULL);
    /* A 2-byte character straddling the cut: it must be dropped whole. */
    memset(big, 'a', WIRE_TEXT_MAX + 99);
    big[WIRE_TEXT_MAX - 1] = (char)0xc3;
    big[WIRE_TEXT_MAX] = (char)0xa9;
    big[WIRE_TEXT_MAX + 99] = '\0';
    REQUIRE_EQ(wire_put_hello(&w, 0, 1, &e), 0);
    REQUIRE_EQ(wire_put_hello(&w, UINT32_MAX, INT32_MAX, &e), 0);
    for (uint8_t level = 0; level <= 7; level++)
        REQUIRE_EQ(wire_put_log(&w, level, level % 2 ? utf8_label : "", &e), 0);
    REQUIRE_EQ(wire_put_log(&w, 3, NULL, &e), 0);
    REQUIRE_EQ(wire_put_log(&w, 3, big, &e), 0);
    REQUIRE(pump(&w, &r));
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_kind, WIRE_HELLO);
    CHECK_EQ(m.wm_hello.wh_slot, 0);
    CHECK_EQ(m.wm_hello.wh_pid, 1);
    CHECK_EQ(m.wm_job_id, 0);
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_hello.wh_slot, UINT32_MAX);
    CHECK_EQ(m.wm_hello.wh_pid, INT32_MAX);
    for (unsigned level = 0; level <= 7; level++) {
        REQUIRE_EQ(wire_next(&r, &m, &e), 1);
        CHECK_EQ(m.wm_kind, WIRE_LOG);
        CHECK_EQ(m.wm_log.wl_level, level);
        CHECK_STR(m.wm_log.wl_text, level % 2 ? utf8_label : "");
        CHECK_EQ(m.wm_log.wl_text_len, strlen(m.wm_log.wl_text));
    }
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_STR(m.wm_log.wl_text, "");
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_log.wl_text_len, WIRE_TEXT_MAX - 1);
    CHECK(m.wm_log.wl_text_len == strlen(m.wm_log.wl_text));
    CHECK_EQ(wire_next(&r, &m, &e), 0);
    CHECK(!wire_reader_at_eof(&r));
    wire_reader_set_eof(&r);
    CHECK_EQ(wire_next(&r, &m, &e), 0);
    CHECK(wire_reader_at_eof(&r));
done:
    free(big);
    wire_writer_free(&w);
    wire_reader_free(&r);
}

/* Every frame our writer produces is one msgpack object to msgpack-c too. */
static bool msgpack_c_accepts(const char *data, size_t n, uint32_t want_fields)
{
    bool ok = true;
    size_t at = 0;
    while (ok && at + 4 <= n) {
        const unsigned char *p = (const unsigned char *)data + at;
        size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        size_t off = 0;
        ok = at + 4 + len <= n &&
             msgpack_unpack_next(&u, data + at + 4, len, &off) == MSGPACK_UNPACK_SUCCESS &&
             off == len && u.data.type == MSGPACK_OBJECT_ARRAY &&
             u.data.via.array.size == want_fields;
        msgpack_unpacked_destroy(&u);
        at += 4 + len;
    }
    return ok && at == n;
}

static void test_assoc_sets_roundtrip(void)
{
    wire_writer w;
    wire_reader r;
    assoc_buf fx, got;
    wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT);
    wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT);
    assoc_buf_init(&fx);
    assoc_buf_init(&got);
    wire_msg m;
    err_info e = {0};
    REQUIRE(make_fixture(&fx));
    size_t np = fx.ab_nparents;
    REQUIRE_EQ(wire_put_assoc_sets(&w, UINT64_MAX, TWO53P1, UINT16_MAX, &fx, 0, np, &e), 0);
    REQUIRE_EQ(wire_put_assoc_sets(&w, 0, 0, 0, &fx, 0, 0, &e), 0);
    REQUIRE_EQ(wire_put_assoc_sets(&w, 1, 2, 3, &fx, 1, 2, &e), 0);
    REQUIRE_EQ(wire_put_assoc_sets(&w, 1, 2, 3, &fx, np, 0, &e), 0);
    {
        size_t n;
        const char *data = wire_writer_data(&w, &n);
        CHECK(msgpack_c_accepts(data, n, 6));
    }
    REQUIRE(pump(&w, &r));

    /* All parents. */
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_kind, WIRE_ASSOC_SETS);
    CHECK_EQ(m.wm_job_id, UINT64_MAX);
    CHECK_EQ(m.wm_generation, TWO53P1);
    CHECK_EQ(m.wm_assoc.was_table, UINT16_MAX);
    CHECK_EQ(m.wm_assoc.was_nparents, np);
    REQUIRE_EQ(wire_assoc_sets_decode(&m, &got, &e), 0);
    REQUIRE_EQ(got.ab_nparents, np);
    for (size_t i = 0; i < np; i++)
        CHECK(same_parent(&fx, i, &got, i));
    /* The edge cases by name, should same_parent share a blind spot. */
    CHECK_EQ(got.ab_parents[0].ap_parent_id, 0);
    CHECK_EQ(got.ab_parents[1].ap_parent_id, TWO53P1);
    CHECK_EQ(got.ab_parents[1].ap_nlinks, 0);
    CHECK_EQ(got.ab_parents[2].ap_parent_id, UINT64_MAX);
    CHECK_EQ(assoc_links(&got, &got.ab_parents[0])[2].al_child_id, UINT64_MAX);
    const assoc_link *l1 = &assoc_links(&got, &got.ab_parents[0])[1];
    CHECK_EQ(l1->al_child_id, TWO53P1);
    REQUIRE_EQ(l1->al_ntypes, 2);
    CHECK(assoc_label(&got, &assoc_types(&got, l1)[0]) != NULL);
    CHECK_EQ(assoc_types(&got, l1)[1].at_label_len, 0);
    CHECK(assoc_label(&got, &assoc_types(&got, l1)[1]) != NULL); /* "" is not nil */
    CHECK(assoc_label(&got, assoc_types(&got, &assoc_links(&got, &got.ab_parents[0])[0])) == NULL);

    /* No parents; decoding appends to what the buffer holds. */
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_assoc.was_nparents, 0);
    CHECK_EQ(m.wm_job_id, 0);
    CHECK_EQ(wire_assoc_sets_decode(&m, &got, &e), 0);
    CHECK_EQ(got.ab_nparents, np);
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_assoc.was_nparents, 2);
    REQUIRE_EQ(wire_assoc_sets_decode(&m, &got, &e), 0);
    REQUIRE_EQ(got.ab_nparents, np + 2);
    CHECK(same_parent(&fx, 1, &got, np));
    CHECK(same_parent(&fx, 2, &got, np + 1));
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_assoc.was_nparents, 0);
    CHECK_EQ(wire_next(&r, &m, &e), 0);
done:
    assoc_buf_free(&fx);
    assoc_buf_free(&got);
    wire_writer_free(&w);
    wire_reader_free(&r);
}

static void test_objects_roundtrip(void)
{
    wire_writer w;
    wire_reader r;
    wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT);
    wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT);
    wire_msg m;
    err_info e = {0};
    wire_object *many = NULL;
    static const wire_object items[] = {
        {0, INT64_MIN, false, 0},
        {TWO53P1, -1, true, 1},
        {UINT64_MAX, INT64_MAX, false, 255},
        {127, 0, true, 0x80},
        {128, 1767225600000, true, 0},
        {UINT64_MAX - 1, -129, false, 0x0f},
        {UINT32_MAX, 4294967296, true, 2},
    };
    size_t n = UT_COUNT(items);
    REQUIRE_EQ(wire_put_objects(&w, 7, 8, 11, items, n, "MTIz%3D", 7, &e), 0);
    REQUIRE_EQ(wire_put_objects(&w, 7, 9, 0, items, 0, NULL, 0, &e), 0);
    REQUIRE_EQ(wire_put_objects(&w, 7, 10, UINT16_MAX, items, 1, "", 0, &e), 0);
    {
        size_t len;
        const char *data = wire_writer_data(&w, &len);
        CHECK(msgpack_c_accepts(data, len, 7));
    }
    REQUIRE(pump(&w, &r));
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_kind, WIRE_OBJECTS);
    CHECK_EQ(m.wm_job_id, 7);
    CHECK_EQ(m.wm_generation, 8);
    CHECK_EQ(m.wm_objects.wob_object_type, 11);
    REQUIRE_EQ(m.wm_objects.wob_nitems, n);
    for (size_t i = 0; i < n; i++) {
        const wire_object *o = &m.wm_objects.wob_items[i];
        CHECK_EQ(o->wo_id, items[i].wo_id);
        CHECK_EQ(o->wo_lastmodified_ms, items[i].wo_lastmodified_ms);
        CHECK(o->wo_archived == items[i].wo_archived);
        CHECK_EQ(o->wo_heavy, items[i].wo_heavy);
    }
    CHECK_STR(m.wm_objects.wob_next_after, "MTIz%3D");
    CHECK_EQ(m.wm_objects.wob_next_after_len, 7);
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_generation, 9);
    CHECK_EQ(m.wm_objects.wob_nitems, 0);
    CHECK(m.wm_objects.wob_next_after == NULL);
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_objects.wob_object_type, UINT16_MAX);
    CHECK_EQ(m.wm_objects.wob_nitems, 1);
    CHECK_STR(m.wm_objects.wob_next_after, ""); /* an empty cursor is not "no more pages" */
    CHECK_EQ(wire_next(&r, &m, &e), 0);
    /* Many items: the reader's item array grows as they parse. */
    enum { MANY = 50000 };
    many = malloc(MANY * sizeof(*many));
    REQUIRE(many != NULL);
    for (size_t i = 0; i < MANY; i++)
        many[i] = (wire_object){UINT64_MAX - i * 7919, (int64_t)i * 1000 - 7, i % 3 == 0,
                                (uint8_t)(i % 7)};
    REQUIRE_EQ(wire_put_objects(&w, 1, 1, 2, many, MANY, NULL, 0, &e), 0);
    REQUIRE(pump(&w, &r));
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    REQUIRE_EQ(m.wm_objects.wob_nitems, MANY);
    size_t differ = 0;
    for (size_t i = 0; i < MANY; i++)
        differ += memcmp(&m.wm_objects.wob_items[i].wo_id, &many[i].wo_id, sizeof(uint64_t)) != 0 ||
                  m.wm_objects.wob_items[i].wo_lastmodified_ms != many[i].wo_lastmodified_ms ||
                  m.wm_objects.wob_items[i].wo_archived != many[i].wo_archived ||
                  m.wm_objects.wob_items[i].wo_heavy != many[i].wo_heavy;
    CHECK_EQ(differ, 0);
done:
    free(many);
    wire_writer_free(&w);
    wire_reader_free(&r);
}

static void test_search_roundtrip(void)
{
    wire_writer w;
    wire_reader r;
    wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT);
    wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT);
    wire_msg m;
    err_info e = {0};
    static const wire_search_hit hits[] = {
        {0, 0}, {TWO53P1, INT64_MIN}, {UINT64_MAX, INT64_MAX}, {42, 1767225600123}};
    REQUIRE_EQ(wire_put_search_result(&w, 1, 2, UINT32_MAX, hits, 4, true, 9900, &e), 0);
    REQUIRE_EQ(wire_put_search_result(&w, 1, 3, 0, NULL, 0, false, 77, &e), 0);
    REQUIRE_EQ(wire_put_search_result(&w, 1, 4, 5, hits, 1, true, 0, &e), 0);
    REQUIRE_EQ(wire_put_search_result(&w, 1, 5, 5, hits, 1, true, UINT32_MAX, &e), 0);
    REQUIRE(pump(&w, &r));
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_kind, WIRE_SEARCH_RESULT);
    CHECK_EQ(m.wm_search.wsr_total, UINT32_MAX);
    REQUIRE_EQ(m.wm_search.wsr_nhits, 4);
    for (size_t i = 0; i < 4; i++) {
        CHECK_EQ(m.wm_search.wsr_hits[i].wsh_id, hits[i].wsh_id);
        CHECK_EQ(m.wm_search.wsr_hits[i].wsh_lastmodified_ms, hits[i].wsh_lastmodified_ms);
    }
    CHECK(m.wm_search.wsr_has_next);
    CHECK_EQ(m.wm_search.wsr_next_offset, 9900);
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_generation, 3);
    CHECK_EQ(m.wm_search.wsr_total, 0);
    CHECK_EQ(m.wm_search.wsr_nhits, 0);
    CHECK(!m.wm_search.wsr_has_next);
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK(m.wm_search.wsr_has_next); /* offset 0 is not nil */
    CHECK_EQ(m.wm_search.wsr_next_offset, 0);
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_search.wsr_next_offset, UINT32_MAX);
    CHECK_EQ(wire_next(&r, &m, &e), 0);
done:
    wire_writer_free(&w);
    wire_reader_free(&r);
}

static void test_job_done_roundtrip(void)
{
    wire_writer w;
    wire_reader r;
    wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT);
    wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT);
    wire_msg m;
    err_info e = {0};
    wire_counters c = {UINT64_MAX, 0, TWO53P1, 437000};
    REQUIRE_EQ(wire_put_job_done(&w, 3, 4, 0, "", &c, &e), 0);
    REQUIRE_EQ(
        wire_put_job_done(&w, 3, 5, ERR_HTTP, "batch read: HTTP 502 after 5 tries", NULL, &e), 0);
    REQUIRE_EQ(wire_put_job_done(&w, 3, 6, INT32_MIN, NULL, &c, &e), 0);
    REQUIRE(pump(&w, &r));
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_kind, WIRE_JOB_DONE);
    CHECK_EQ(m.wm_job_id, 3);
    CHECK_EQ(m.wm_generation, 4);
    CHECK_EQ(m.wm_done.wjd_status, 0);
    CHECK_STR(m.wm_done.wjd_message, "");
    CHECK_EQ(m.wm_done.wjd_counters.wc_calls, UINT64_MAX);
    CHECK_EQ(m.wm_done.wjd_counters.wc_retries, 0);
    CHECK_EQ(m.wm_done.wjd_counters.wc_throttled, TWO53P1);
    CHECK_EQ(m.wm_done.wjd_counters.wc_bytes, 437000);
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_done.wjd_status, ERR_HTTP);
    CHECK_STR(m.wm_done.wjd_message, "batch read: HTTP 502 after 5 tries");
    CHECK_EQ(m.wm_done.wjd_counters.wc_calls, 0);
    CHECK_EQ(m.wm_done.wjd_counters.wc_bytes, 0);
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_done.wjd_status, INT32_MIN);
    CHECK_STR(m.wm_done.wjd_message, "");
    CHECK_EQ(wire_next(&r, &m, &e), 0);
done:
    wire_writer_free(&w);
    wire_reader_free(&r);
}

/* Integers of any width, str32 and array16/32 headers are all msgpack. */
static void test_accepts_wide_encodings(void)
{
    jbuf f;
    jb_init(&f);
    int drc = 0;
    err_info e = {0};
    /* [u64 1, i64 6, i8 0, str32 "hi"]: a LOG. */
    REQUIRE(tp_frame("#dc0004 #cf0000000000000001 #d30000000000000006 #d000 #db000000026869", &f));
    CHECK_EQ(run_bytes(f.jb_data, f.jb_len, &drc, &e), 1);
    jb_reset(&f);
    /* [1, 2, 7, 1, 0, array32 [5, array32 [6, [i16 123, u16 1, nil]]]]: ASSOC_SETS. */
    REQUIRE(tp_frame("#960102070100dd0000000205dd000000020693d1007bcd0001c0", &f));
    CHECK_EQ(run_bytes(f.jb_data, f.jb_len, &drc, &e), 1);
    CHECK_EQ(drc, 0);
done:
    jb_free(&f);
}

static void test_encoder_rejects(void)
{
    wire_writer w, small;
    wire_reader r;
    assoc_buf fx;
    assoc_buf_init(&fx);
    wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT);
    wire_writer_init(&small, 64);
    wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT);
    err_info e = {0};
    wire_msg m;
    CHECK_EQ(wire_writer_init(&(wire_writer){0}, 0), ERR_INVALID);
    CHECK_EQ(wire_writer_init(&(wire_writer){0}, (size_t)UINT32_MAX + 1), ERR_INVALID);
    CHECK_EQ(wire_reader_init(&(wire_reader){0}, 0), ERR_INVALID);
    CHECK_EQ(wire_reader_init(&(wire_reader){0}, (size_t)UINT32_MAX + 1), ERR_INVALID);
    REQUIRE(make_fixture(&fx));
    REQUIRE_EQ(wire_put_hello(&w, 1, 2, &e), 0);
    size_t before = wire_writer_pending(&w);
    CHECK_EQ(wire_put_hello(&w, 1, 0, &e), ERR_INVALID);
    CHECK_EQ(wire_put_hello(&w, 1, -5, &e), ERR_INVALID);
    CHECK_EQ(wire_put_log(&w, 8, "x", &e), ERR_INVALID);
    CHECK_EQ(wire_put_job_done(&w, 1, 1, 1, "x", NULL, &e), ERR_INVALID);
    CHECK_EQ(wire_put_assoc_sets(&w, 1, 1, 1, &fx, fx.ab_nparents + 1, 0, &e), ERR_INVALID);
    CHECK_EQ(wire_put_assoc_sets(&w, 1, 1, 1, &fx, 1, fx.ab_nparents, &e), ERR_INVALID);
    CHECK_EQ(wire_put_assoc_sets(&w, 1, 1, 1, &fx, 2, SIZE_MAX, &e), ERR_INVALID);
    /* An incomplete parent (more pages) is refused after earlier ones were packed. */
    REQUIRE_EQ(assoc_buf_begin_parent(&fx, 99), 0);
    REQUIRE_EQ(assoc_buf_set_after(&fx, "abc", 3), 0);
    CHECK_EQ(wire_put_assoc_sets(&w, 1, 1, 1, &fx, 0, fx.ab_nparents, &e), ERR_INVALID);
    CHECK(strstr(e.ei_msg, "incomplete") != NULL);
    /* A category outside the enum. */
    REQUIRE_EQ(assoc_buf_begin_parent(&fx, 100), 0);
    REQUIRE_EQ(assoc_buf_add_link(&fx, 1), 0);
    REQUIRE_EQ(assoc_buf_add_type(&fx, 1, (assoc_category)7, NULL, 0), 0);
    CHECK_EQ(wire_put_assoc_sets(&w, 1, 1, 1, &fx, fx.ab_nparents - 1, 1, &e), ERR_INVALID);
    CHECK_EQ(wire_writer_pending(&w), before);
    /* Over the cap: refused, rolled back, and the writer goes on. */
    REQUIRE_EQ(wire_put_log(&small, 1, "short", &e), 0);
    before = wire_writer_pending(&small);
    char text[100];
    memset(text, 'z', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    CHECK_EQ(wire_put_log(&small, 1, text, &e), ERR_TOO_BIG);
    CHECK(strstr(e.ei_msg, "LOG") != NULL);
    CHECK_EQ(wire_put_assoc_sets(&small, 1, 1, 1, &fx, 0, 4, &e), ERR_TOO_BIG);
    CHECK_EQ(wire_writer_pending(&small), before);
    CHECK_EQ(wire_put_log(&small, 2, "after", &e), 0);
    REQUIRE(pump(&w, &r) && pump(&small, &r));
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_kind, WIRE_HELLO);
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_STR(m.wm_log.wl_text, "short");
    CHECK_EQ(wire_assoc_sets_decode(&m, &fx, &e), ERR_INVALID);
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_STR(m.wm_log.wl_text, "after");
    CHECK_EQ(wire_next(&r, &m, &e), 0);
done:
    assoc_buf_free(&fx);
    wire_writer_free(&w);
    wire_writer_free(&small);
    wire_reader_free(&r);
}

/* ---- streams through a socketpair -------------------------------------------- */

/* Every byte written alone and read alone by wire_read(). */
static void test_socketpair_one_byte_io(void)
{
    int sv[2] = {-1, -1};
    wire_writer w;
    wire_reader r;
    assoc_buf fx, scratch;
    wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT);
    wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT);
    assoc_buf_init(&fx);
    assoc_buf_init(&scratch);
    wire_msg m;
    err_info e = {0};
    enum { NMSG = 240 };
    REQUIRE(make_fixture(&fx));
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    for (uint64_t i = 0; i < NMSG; i++)
        REQUIRE_EQ(put_nth(&w, i, &fx), 0);
    uint64_t got = 0, bad = 0, reads = 0;
    size_t total = wire_writer_pending(&w);
    for (size_t sent = 0; sent < total; sent++) {
        size_t n;
        const char *p = wire_writer_data(&w, &n);
        REQUIRE(write(sv[0], p, 1) == 1);
        wire_writer_consume(&w, 1);
        REQUIRE_EQ(wire_read(&r, sv[1], &e), 1);
        reads++;
        int rc;
        while ((rc = wire_next(&r, &m, &e)) == 1)
            bad += !check_nth(&m, got++, &fx, &scratch);
        REQUIRE_EQ(rc, 0);
    }
    CHECK_EQ(got, NMSG);
    CHECK_EQ(bad, 0);
    CHECK_EQ(reads, total);
    close(sv[0]);
    sv[0] = -1;
    CHECK_EQ(wire_read(&r, sv[1], &e), 0);
    CHECK_EQ(wire_next(&r, &m, &e), 0);
    CHECK(wire_reader_at_eof(&r));
done:
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    assoc_buf_free(&fx);
    assoc_buf_free(&scratch);
    wire_writer_free(&w);
    wire_reader_free(&r);
}

static bool set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

/* A small send buffer, two multi-megabyte messages among hundreds of small
 * ones: wire_flush() keeps hitting a full socket (ERR_AGAIN) and resumes. */
static void test_socketpair_nonblocking(void)
{
    int sv[2] = {-1, -1};
    wire_writer w;
    wire_reader r;
    assoc_buf fx, big, scratch;
    wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT);
    wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT);
    assoc_buf_init(&fx);
    assoc_buf_init(&big);
    assoc_buf_init(&scratch);
    wire_msg m;
    err_info e = {0};
    enum { NMSG = 600 };
    REQUIRE(make_fixture(&fx));
    REQUIRE(make_big(&big, 1000, 100, 7));
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int sz = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    REQUIRE(set_nonblocking(sv[0]) && set_nonblocking(sv[1]));
    uint64_t put = 0, got = 0, bad = 0, agains = 0, bigs_got = 0;
    int rc;
    for (long iter = 0; iter < 1000000 && !(got == NMSG && bigs_got == 2); iter++) {
        /* Keep a few messages queued; the big ones go before 100 and 400. */
        while (put < NMSG && wire_writer_pending(&w) < 8192) {
            if (put == 100 || put == 400)
                REQUIRE_EQ(wire_put_assoc_sets(&w, 9999, put, 1, &big, 0, big.ab_nparents, &e), 0);
            REQUIRE_EQ(put_nth(&w, put, &fx), 0);
            put++;
        }
        rc = wire_flush(&w, sv[0], &e);
        if (rc == ERR_AGAIN)
            agains++;
        else
            REQUIRE_EQ(rc, 0);
        ssize_t n = wire_read(&r, sv[1], &e);
        if (n < 0)
            REQUIRE_EQ(n, ERR_AGAIN);
        while ((rc = wire_next(&r, &m, &e)) == 1) {
            if (m.wm_kind == WIRE_ASSOC_SETS && m.wm_job_id == 9999) {
                assoc_buf_reset(&scratch);
                bool ok = wire_assoc_sets_decode(&m, &scratch, &e) == 0 &&
                          scratch.ab_nparents == big.ab_nparents;
                for (size_t i = 0; ok && i < big.ab_nparents; i++)
                    ok = same_parent(&big, i, &scratch, i);
                bad += !ok;
                bigs_got++;
            } else {
                bad += !check_nth(&m, got++, &fx, &scratch);
            }
        }
        REQUIRE_EQ(rc, 0);
    }
    CHECK_EQ(got, NMSG);
    CHECK_EQ(bigs_got, 2);
    CHECK_EQ(bad, 0);
    CHECK(agains > 0);
    CHECK_EQ(wire_writer_pending(&w), 0);
done:
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    assoc_buf_free(&fx);
    assoc_buf_free(&big);
    assoc_buf_free(&scratch);
    wire_writer_free(&w);
    wire_reader_free(&r);
}

/* The peer closes its end after `cut` bytes of a three-message stream. */
static void test_eof_mid_message(void)
{
    wire_writer w;
    wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT);
    assoc_buf fx;
    assoc_buf_init(&fx);
    err_info e = {0};
    REQUIRE(make_fixture(&fx));
    REQUIRE_EQ(put_nth(&w, 0, &fx), 0);
    size_t b1 = wire_writer_pending(&w);
    REQUIRE_EQ(put_nth(&w, 1, &fx), 0);
    size_t b2 = wire_writer_pending(&w);
    REQUIRE_EQ(put_nth(&w, 5, &fx), 0);
    size_t total;
    const char *data = wire_writer_data(&w, &total);
    size_t cuts[] = {0,      1,      3,      4,  5,      b1,        b1 + 2,
                     b1 + 4, b1 + 5, b2 - 1, b2, b2 + 4, total - 1, total};
    for (size_t c = 0; c < UT_COUNT(cuts); c++) {
        int sv[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        wire_reader r;
        wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT);
        bool wrote = cuts[c] == 0 || write(sv[0], data, cuts[c]) == (ssize_t)cuts[c];
        close(sv[0]);
        wire_msg m;
        size_t msgs = 0;
        int rc = 0;
        for (int iter = 0; iter < 100; iter++) {
            ssize_t n = wire_read(&r, sv[1], &e);
            while ((rc = wire_next(&r, &m, &e)) == 1)
                msgs++;
            if (n <= 0 || rc < 0)
                break;
        }
        size_t want_msgs = (cuts[c] >= b1) + (cuts[c] >= b2) + (cuts[c] == total);
        bool boundary = cuts[c] == 0 || cuts[c] == b1 || cuts[c] == b2 || cuts[c] == total;
        CHECKF(wrote && msgs == want_msgs, "cut %zu: %zu messages", cuts[c], msgs);
        if (boundary) {
            CHECKF(rc == 0 && wire_reader_at_eof(&r), "cut %zu at a boundary: rc %d", cuts[c], rc);
        } else {
            CHECKF(rc == ERR_PARSE && strstr(e.ei_msg, "ended inside") != NULL,
                   "cut %zu: rc %d (%s)", cuts[c], rc, e.ei_msg);
            /* Sticky, for both calls. */
            CHECK_EQ(wire_next(&r, &m, &e), ERR_PARSE);
            CHECK_EQ(wire_read(&r, sv[1], &e), ERR_PARSE);
            CHECK(!wire_reader_at_eof(&r));
        }
        close(sv[1]);
        wire_reader_free(&r);
    }
done:
    assoc_buf_free(&fx);
    wire_writer_free(&w);
}

static void test_io_errors(void)
{
    int sv[2] = {-1, -1}, pfd[2] = {-1, -1};
    wire_writer w;
    wire_reader r;
    wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT);
    wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT);
    err_info e = {0};
    wire_msg m;
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    REQUIRE(set_nonblocking(sv[1]));
    CHECK_EQ(wire_read(&r, sv[1], &e), ERR_AGAIN);
    CHECK_EQ(wire_next(&r, &m, &e), 0);
    CHECK_EQ(wire_read(&r, -1, &e), ERR_SYS);
    CHECK(strstr(e.ei_msg, "read") != NULL);
    /* A vanished peer is an error, not a SIGPIPE. */
    close(sv[1]);
    sv[1] = -1;
    REQUIRE_EQ(wire_put_hello(&w, 1, 2, &e), 0);
    CHECK_EQ(wire_flush(&w, sv[0], &e), ERR_SYS);
    CHECK(strstr(e.ei_msg, "send") != NULL);
    CHECK(wire_writer_pending(&w) > 0);
    /* A pipe is not a socket: write() takes over. */
    REQUIRE(pipe(pfd) == 0);
    CHECK_EQ(wire_flush(&w, pfd[1], &e), 0);
    CHECK_EQ(wire_writer_pending(&w), 0);
    CHECK(wire_read(&r, pfd[0], &e) > 0);
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(m.wm_kind, WIRE_HELLO);
    CHECK_EQ(wire_flush(&w, pfd[1], &e), 0); /* nothing to send */
done:
    for (int i = 0; i < 2; i++) {
        if (sv[i] >= 0)
            close(sv[i]);
        if (pfd[i] >= 0)
            close(pfd[i]);
    }
    wire_writer_free(&w);
    wire_reader_free(&r);
}

/* ---- damaged input ------------------------------------------------------------ */

/* A length prefix above the cap fails as soon as its 4 bytes are in, without
 * growing the buffer, through wire_feed and through wire_read alike. */
static void test_oversized_prefix(void)
{
    wire_reader r;
    wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT);
    err_info e = {0};
    wire_msg m;
    int sv[2] = {-1, -1};
    CHECK_EQ(wire_feed(&r, "\xff\xff", 2, &e), 0);
    CHECK_EQ(wire_next(&r, &m, &e), 0);
    CHECK_EQ(wire_feed(&r, "\xff\xff", 2, &e), 0);
    CHECK_EQ(wire_next(&r, &m, &e), ERR_TOO_BIG);
    CHECK(strstr(e.ei_msg, "4294967295") != NULL);
    CHECK(r.wr_cap <= 64 * 1024);
    CHECK_EQ(wire_next(&r, &m, &e), ERR_TOO_BIG);
    CHECK_EQ(wire_feed(&r, "x", 1, &e), ERR_TOO_BIG);
    wire_reader_free(&r);

    /* One byte above a small cap, over a socket. */
    wire_reader_init(&r, 1000);
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    REQUIRE(write(sv[0], "\x00\x00\x03\xe9xxxxxxxx", 12) == 12);
    CHECK_EQ(wire_read(&r, sv[1], &e), 12);
    CHECK_EQ(wire_next(&r, &m, &e), ERR_TOO_BIG);
    CHECK_EQ(wire_read(&r, sv[1], &e), ERR_TOO_BIG);
    wire_reader_free(&r);
    /* Exactly the cap is fine (here a junk body: a parse error, not a size one). */
    wire_reader_init(&r, 1000);
    char *frame = calloc(1, 1004);
    REQUIRE(frame != NULL);
    memcpy(frame, "\x00\x00\x03\xe8", 4);
    CHECK_EQ(wire_feed(&r, frame, 1004, &e), 0);
    CHECK_EQ(wire_next(&r, &m, &e), ERR_CORRUPT);
    free(frame);
done:
    wire_reader_free(&r);
    for (int i = 0; i < 2; i++)
        if (sv[i] >= 0)
            close(sv[i]);
}

typedef struct frame_case {
    const char *fc_text;
    int fc_next;   /* wire_next()'s result */
    int fc_decode; /* wire_assoc_sets_decode()'s, when fc_next is 1 for ASSOC_SETS */
} frame_case;

static void test_malformed_frames(void)
{
    static const frame_case cases[] = {
        /* valid bases, with every kind's field count */
        {"[1, 1, 3, 1234]", 1, 0},
        {"[1, 2, 7, 1, 0, []]", 1, 0},
        {"[1, 2, 7, 1, 0, [5, []]]", 1, 0},
        {"[1, 3, 7, 1, 0, [], nil]", 1, 0},
        {"[1, 4, 7, 1, 100, [], nil]", 1, 0},
        {"[1, 5, 7, 1, 0, \"ok\", 1, 2, 3, 4]", 1, 0},
        {"[1, 6, 6, \"hi\"]", 1, 0},
        /* not an envelope */
        {"", ERR_PARSE, 0},
        {"5", ERR_CORRUPT, 0},
        {"nil", ERR_CORRUPT, 0},
        {"\"text\"", ERR_CORRUPT, 0},
        {"{}", ERR_CORRUPT, 0},
        {"F", ERR_CORRUPT, 0},
        {"B", ERR_CORRUPT, 0},
        {"#c1", ERR_PARSE, 0},
        {"[]", ERR_CORRUPT, 0},
        {"[1]", ERR_CORRUPT, 0},
        {"#ddffffffff", ERR_PARSE, 0},
        {"#dcffff0106", ERR_PARSE, 0},
        {"#9f", ERR_PARSE, 0},
        /* versions and kinds */
        {"[0, 1, 3, 1234]", ERR_CORRUPT, 0},
        {"[2, 1, 3, 1234]", ERR_CORRUPT, 0},
        {"[-1, 1, 3, 1234]", ERR_CORRUPT, 0},
        {"[18446744073709551615, 1, 3, 1234]", ERR_CORRUPT, 0},
        {"[\"1\", 1, 3, 1234]", ERR_CORRUPT, 0},
        {"[1, 0, 3, 1234]", ERR_CORRUPT, 0},
        {"[1, 7, 3, 1234]", ERR_CORRUPT, 0},
        {"[1, 255, 3, 1234]", ERR_CORRUPT, 0},
        {"[1, 18446744073709551615, 3, 1234]", ERR_CORRUPT, 0},
        {"[1, -6, 6, \"hi\"]", ERR_CORRUPT, 0},
        {"[1, nil, 6, \"hi\"]", ERR_CORRUPT, 0},
        /* field counts */
        {"[1, 1, 3]", ERR_CORRUPT, 0},
        {"[1, 1, 3, 1234, nil]", ERR_CORRUPT, 0},
        {"[1, 2, 7, 1, 0]", ERR_CORRUPT, 0},
        {"[1, 3, 7, 1, 0, []]", ERR_CORRUPT, 0},
        {"[1, 5, 7, 1, 0, \"ok\", 1, 2, 3]", ERR_CORRUPT, 0},
        {"[1, 6, 6, \"hi\", 1]", ERR_CORRUPT, 0},
        /* field types */
        {"[1, 1, \"3\", 1234]", ERR_CORRUPT, 0},
        {"[1, 1, 3, nil]", ERR_CORRUPT, 0},
        {"[1, 1, 3, F]", ERR_CORRUPT, 0},
        {"[1, 2, \"7\", 1, 0, []]", ERR_CORRUPT, 0},
        {"[1, 2, 7, true, 0, []]", ERR_CORRUPT, 0},
        {"[1, 2, 7, 1, \"0\", []]", ERR_CORRUPT, 0},
        {"[1, 2, 7, 1, 0, {}]", ERR_CORRUPT, 0},
        {"[1, 2, 7, 1, 0, nil]", ERR_CORRUPT, 0},
        {"[1, 3, 7, 1, 0, {}, nil]", ERR_CORRUPT, 0},
        {"[1, 3, 7, 1, 0, [], 5]", ERR_CORRUPT, 0},
        {"[1, 3, 7, 1, 0, [1, 2, 3, 0], nil]", ERR_CORRUPT, 0},
        {"[1, 3, 7, 1, 0, [1, 2, nil, 0], nil]", ERR_CORRUPT, 0},
        {"[1, 3, 7, 1, 0, [\"1\", 2, true, 0], nil]", ERR_CORRUPT, 0},
        {"[1, 3, 7, 1, 0, [1, \"2\", true, 0], nil]", ERR_CORRUPT, 0},
        {"[1, 3, 7, 1, 0, [1, 2, true, 0], B]", ERR_CORRUPT, 0},
        {"[1, 4, 7, 1, 100, [1, \"2\"], nil]", ERR_CORRUPT, 0},
        {"[1, 4, 7, 1, 100, [], \"5\"]", ERR_CORRUPT, 0},
        {"[1, 4, 7, 1, \"100\", [], nil]", ERR_CORRUPT, 0},
        {"[1, 5, 7, 1, \"0\", \"ok\", 1, 2, 3, 4]", ERR_CORRUPT, 0},
        {"[1, 5, 7, 1, 0, nil, 1, 2, 3, 4]", ERR_CORRUPT, 0},
        {"[1, 5, 7, 1, 0, B, 1, 2, 3, 4]", ERR_CORRUPT, 0},
        {"[1, 5, 7, 1, 0, \"ok\", 1, 2, -3, 4]", ERR_CORRUPT, 0},
        {"[1, 5, 7, 1, 0, \"ok\", 1, 2, 3, F]", ERR_CORRUPT, 0},
        {"[1, 6, \"6\", \"hi\"]", ERR_CORRUPT, 0},
        {"[1, 6, 6, 5]", ERR_CORRUPT, 0},
        {"[1, 6, 6, nil]", ERR_CORRUPT, 0},
        /* ranges */
        {"[1, 1, 4294967296, 1234]", ERR_CORRUPT, 0},
        {"[1, 1, 4294967295, 2147483647]", 1, 0},
        {"[1, 1, 3, 0]", ERR_CORRUPT, 0},
        {"[1, 1, 3, -1]", ERR_CORRUPT, 0},
        {"[1, 1, 3, 2147483648]", ERR_CORRUPT, 0},
        {"[1, 1, -3, 1234]", ERR_CORRUPT, 0},
        {"[1, 2, -7, 1, 0, []]", ERR_CORRUPT, 0},
        {"[1, 2, 7, 1, 65536, []]", ERR_CORRUPT, 0},
        {"[1, 3, 7, 1, 65536, [], nil]", ERR_CORRUPT, 0},
        {"[1, 3, 7, 1, 0, [1, 2], nil]", ERR_CORRUPT, 0},
        {"[1, 3, 7, 1, 0, [-1, 2, true, 0], nil]", ERR_CORRUPT, 0},
        {"[1, 3, 7, 1, 0, [1, 9223372036854775808, true, 0], nil]", ERR_CORRUPT, 0},
        {"[1, 3, 7, 1, 0, [1, -9223372036854775808, true, 255], nil]", 1, 0},
        {"[1, 3, 7, 1, 0, [1, 2, true], nil]", ERR_CORRUPT, 0},
        {"[1, 3, 7, 1, 0, [1, 2, true, 256], nil]", ERR_CORRUPT, 0},
        {"[1, 3, 7, 1, 0, [1, 2, true, -1], nil]", ERR_CORRUPT, 0},
        {"[1, 3, 7, 1, 0, [1, 2, true, nil], nil]", ERR_CORRUPT, 0},
        {"[1, 4, 7, 1, 4294967296, [], nil]", ERR_CORRUPT, 0},
        {"[1, 4, 7, 1, 100, [1, 2, 3], nil]", ERR_CORRUPT, 0},
        {"[1, 4, 7, 1, 100, [], 4294967296]", ERR_CORRUPT, 0},
        {"[1, 4, 7, 1, 100, [], -1]", ERR_CORRUPT, 0},
        {"[1, 5, 7, 1, 1, \"ok\", 1, 2, 3, 4]", ERR_CORRUPT, 0},
        {"[1, 5, 7, 1, -2147483649, \"ok\", 1, 2, 3, 4]", ERR_CORRUPT, 0},
        {"[1, 5, 7, 1, -2147483648, \"ok\", 1, 2, 3, 4]", 1, 0},
        {"[1, 6, 8, \"hi\"]", ERR_CORRUPT, 0},
        {"[1, 6, 256, \"hi\"]", ERR_CORRUPT, 0},
        /* bytes after the envelope, and lengths past the frame */
        {"[1, 1, 3, 1234] 5", ERR_PARSE, 0},
        {"[1, 1, 3, 1234] #c1", ERR_PARSE, 0},
        {"[1, 6, 6, #a56869]", ERR_PARSE, 0},
        {"[1, 6, 6, #dbffffffff41]", ERR_PARSE, 0},
        {"[1, 3, 7, 1, 0, #dd7fffffff, nil]", ERR_PARSE, 0},
        {"[1, 4, 7, 1, 100, #dcfffe, nil]", ERR_PARSE, 0},
        {"[1, 1, 3, #cf0000]", ERR_PARSE, 0},
        /* ASSOC_SETS bodies: wire_next takes them, the decoder refuses */
        {"[1, 2, 7, 1, 0, [5]]", ERR_CORRUPT, 0},
        {"[1, 2, 7, 1, 0, #dd00000002]", ERR_PARSE, 0},
        {"[1, 2, 7, 1, 0, #9205]", ERR_PARSE, 0},
        {"[1, 2, 7, 1, 0, [5, [6, [1, 0, nil]]]]", 1, 0},
        {"[1, 2, 7, 1, 0, [5, [6, [1, 0, \"\"], 7, []]]]", 1, 0},
        {"[1, 2, 7, 1, 0, [-5, []]]", 1, ERR_CORRUPT},
        {"[1, 2, 7, 1, 0, [\"5\", []]]", 1, ERR_CORRUPT},
        {"[1, 2, 7, 1, 0, [5, nil]]", 1, ERR_CORRUPT},
        {"[1, 2, 7, 1, 0, [5, [6]]]", 1, ERR_CORRUPT},
        {"[1, 2, 7, 1, 0, [5, [6, 7]]]", 1, ERR_CORRUPT},
        {"[1, 2, 7, 1, 0, [5, [-6, []]]]", 1, ERR_CORRUPT},
        {"[1, 2, 7, 1, 0, [5, [6, [1, 0]]]]", 1, ERR_CORRUPT},
        {"[1, 2, 7, 1, 0, [5, [6, [1, 4, nil]]]]", 1, ERR_CORRUPT},
        {"[1, 2, 7, 1, 0, [5, [6, [1, -1, nil]]]]", 1, ERR_CORRUPT},
        {"[1, 2, 7, 1, 0, [5, [6, [2147483648, 0, nil]]]]", 1, ERR_CORRUPT},
        {"[1, 2, 7, 1, 0, [5, [6, [-2147483649, 0, nil]]]]", 1, ERR_CORRUPT},
        {"[1, 2, 7, 1, 0, [5, [6, [-2147483648, 0, nil]]]]", 1, 0},
        {"[1, 2, 7, 1, 0, [5, [6, [1, 0, 5]]]]", 1, ERR_CORRUPT},
        {"[1, 2, 7, 1, 0, [5, [6, [1, 0, B]]]]", 1, ERR_CORRUPT},
        {"[1, 2, 7, 1, 0, [5, [6, [1, 0, S1024]]]]", 1, 0},
        {"[1, 2, 7, 1, 0, [5, [6, [1, 0, S1025]]]]", 1, ERR_CORRUPT},
        {"[1, 2, 7, 1, 0, [5, [6, [1, 0, #c1]]]]", 1, ERR_PARSE},
        {"[1, 2, 7, 1, 0, [5, [6, #dd00000003]]]", 1, ERR_PARSE},
        {"[1, 2, 7, 1, 0, [5, [6, [1, 0, #d90541]]]]", 1, ERR_PARSE},
        {"[1, 2, 7, 1, 0, [5, []]] 7", 1, ERR_PARSE},
    };
    jbuf f;
    jb_init(&f);
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        jb_reset(&f);
        if (!tp_frame(cases[i].fc_text, &f))
            continue;
        err_info e = {0};
        int drc = 0;
        int rc = run_bytes(f.jb_data, f.jb_len, &drc, &e);
        bool ok = rc == cases[i].fc_next && (rc != 1 || drc == cases[i].fc_decode);
        /* Every error names what was wrong. */
        ok = ok && ((rc == 1 && drc == 0) || strncmp(e.ei_msg, "wire: ", 6) == 0);
        CHECKF(ok, "%s: next %d (want %d), decode %d (want %d): %s", cases[i].fc_text, rc,
               cases[i].fc_next, drc, cases[i].fc_decode, e.ei_msg);
    }
    jb_free(&f);
}

/* Errors are sticky for the stream, but a bad ASSOC_SETS body is not: the
 * decoder restores the buffer and the reader goes on. */
static void test_error_stickiness(void)
{
    jbuf f;
    jb_init(&f);
    wire_reader r;
    wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT);
    assoc_buf b;
    assoc_buf_init(&b);
    wire_msg m;
    err_info e = {0};
    REQUIRE(make_fixture(&b));
    size_t np = b.ab_nparents, nl = b.ab_nlinks, nt = b.ab_ntypes, ns = b.ab_strings.jb_len;
    REQUIRE(tp_frame("[1, 2, 7, 1, 0, [5, [6, [1, 0, \"kept?\"]], 8, [9, [1, 9, nil]]]]", &f));
    REQUIRE(tp_frame("[1, 6, 6, \"next\"]", &f));
    REQUIRE(tp_frame("[1, 9, 6, \"bad kind\"]", &f));
    REQUIRE(tp_frame("[1, 6, 6, \"never\"]", &f));
    REQUIRE_EQ(wire_feed(&r, f.jb_data, f.jb_len, &e), 0);
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_EQ(wire_assoc_sets_decode(&m, &b, &e), ERR_CORRUPT);
    CHECK(strstr(e.ei_msg, "parents[1]") != NULL && strstr(e.ei_msg, "category") != NULL);
    CHECK_EQ(b.ab_nparents, np);
    CHECK_EQ(b.ab_nlinks, nl);
    CHECK_EQ(b.ab_ntypes, nt);
    CHECK_EQ(b.ab_strings.jb_len, ns);
    REQUIRE_EQ(wire_next(&r, &m, &e), 1);
    CHECK_STR(m.wm_log.wl_text, "next");
    CHECK_EQ(wire_next(&r, &m, &e), ERR_CORRUPT);
    CHECK(strstr(e.ei_msg, "kind 9") != NULL);
    memset(&e, 0, sizeof(e));
    CHECK_EQ(wire_next(&r, &m, &e), ERR_CORRUPT);
    CHECK(strstr(e.ei_msg, "kind 9") != NULL);
done:
    jb_free(&f);
    assoc_buf_free(&b);
    wire_reader_free(&r);
}

/* A valid mixed stream of n messages from put_nth, with frame boundaries. */
static bool make_stream(wire_writer *w, const assoc_buf *fx, uint64_t n, size_t *bounds)
{
    for (uint64_t i = 0; i < n; i++) {
        if (put_nth(w, i, fx) != 0)
            return false;
        bounds[i] = wire_writer_pending(w);
    }
    return true;
}

/* Every prefix of a stream, then EOF: the complete messages, then a clean
 * end exactly at boundaries and ERR_PARSE elsewhere. And every frame with its
 * body cut short (and the prefix saying so) is refused. */
static void test_every_truncation(void)
{
    wire_writer w;
    wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT);
    assoc_buf fx, scratch;
    assoc_buf_init(&fx);
    assoc_buf_init(&scratch);
    enum { NMSG = 12 };
    size_t bounds[NMSG];
    char *cut = NULL;
    REQUIRE(make_fixture(&fx));
    REQUIRE(make_stream(&w, &fx, NMSG, bounds));
    size_t total;
    const char *data = wire_writer_data(&w, &total);
    unsigned bad = 0;
    for (size_t len = 0; len <= total; len++) {
        wire_reader r;
        wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT);
        wire_msg m;
        err_info e = {0};
        int rc = wire_feed(&r, data, len, &e);
        uint64_t got = 0, wrong = 0;
        for (int iter = 0; rc == 0 && iter <= NMSG; iter++) {
            while ((rc = wire_next(&r, &m, &e)) == 1)
                wrong += !check_nth(&m, got++, &fx, &scratch);
            if (rc == 0 && !r.wr_eof)
                wire_reader_set_eof(&r);
            else
                break;
        }
        uint64_t want = 0;
        while (want < NMSG && bounds[want] <= len)
            want++;
        bool boundary = len == 0 || (want > 0 && bounds[want - 1] == len);
        bool ok = got == want && wrong == 0 &&
                  (boundary ? rc == 0 && wire_reader_at_eof(&r) : rc == ERR_PARSE);
        if (!ok && bad++ < 5)
            fprintf(stderr, "\n    prefix %zu: %" PRIu64 " messages (want %" PRIu64 "), rc %d", len,
                    got, want, rc);
        wire_reader_free(&r);
    }
    CHECK_EQ(bad, 0);

    /* Cut bodies with honest prefixes. */
    cut = malloc(total + 4);
    REQUIRE(cut != NULL);
    unsigned accepted = 0, tried = 0;
    for (size_t i = 0; i < NMSG; i++) {
        size_t start = i ? bounds[i - 1] : 0;
        size_t body = bounds[i] - start - 4;
        for (size_t keep = 0; keep < body; keep++) {
            cut[0] = (char)(keep >> 24);
            cut[1] = (char)(keep >> 16);
            cut[2] = (char)(keep >> 8);
            cut[3] = (char)keep;
            memcpy(cut + 4, data + start + 4, keep);
            err_info e = {0};
            int drc = 0;
            int rc = run_bytes(cut, keep + 4, &drc, &e);
            tried++;
            if ((rc == 1 && drc == 0) || rc == 0) {
                if (accepted++ < 5)
                    fprintf(stderr, "\n    message %zu cut to %zu bytes: accepted", i, keep);
            }
        }
    }
    CHECK_EQ(accepted, 0);
    CHECK(tried > 1000);
done:
    free(cut);
    assoc_buf_free(&fx);
    assoc_buf_free(&scratch);
    wire_writer_free(&w);
}

/* Random byte flips in a valid stream, and random garbage: the reader ends
 * with an error or a clean EOF, within a bounded number of calls. */
static void test_random_corruption(void)
{
    wire_writer w;
    wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT);
    assoc_buf fx, scratch;
    assoc_buf_init(&fx);
    assoc_buf_init(&scratch);
    enum { NMSG = 12, ROUNDS = 4000 };
    size_t bounds[NMSG];
    char *copy = NULL;
    REQUIRE(make_fixture(&fx));
    REQUIRE(make_stream(&w, &fx, NMSG, bounds));
    size_t total;
    const char *data = wire_writer_data(&w, &total);
    copy = malloc(total);
    REQUIRE(copy != NULL);
    sim_rng rng;
    sim_rng_seed(&rng, 42, 0);
    unsigned runaway = 0, errors = 0, clean = 0, yielded = 0, bad_sets = 0;
    for (int round = 0; round < ROUNDS; round++) {
        size_t len = total;
        if (round % 4 == 1 || round % 4 == 3) {
            /* Garbage in an honest frame; half of it after a valid envelope
             * start, so the field decoders see it. */
            len = 5 + sim_rng_below(&rng, 80);
            for (size_t i = 4; i < len; i++)
                copy[i] =
                    (char)(sim_rng_below(&rng, 3) ? sim_rng_next(&rng) : sim_rng_below(&rng, 8));
            if (round % 4 == 3 && len >= 7) {
                unsigned kind = 1 + (unsigned)sim_rng_below(&rng, WIRE_KIND_END - 1);
                static const unsigned char fields[] = {0, 4, 6, 7, 7, 10, 4};
                copy[4] = (char)(0x90 | fields[kind]);
                copy[5] = 1;
                copy[6] = (char)kind;
            }
            size_t body = len - 4;
            copy[0] = 0;
            copy[1] = 0;
            copy[2] = (char)(body >> 8);
            copy[3] = (char)body;
        } else {
            memcpy(copy, data, total);
            int flips = 1 + (int)sim_rng_below(&rng, 4);
            for (int k = 0; k < flips; k++)
                copy[sim_rng_below(&rng, total)] ^= (char)(1 + sim_rng_below(&rng, 255));
        }
        wire_reader r;
        wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT);
        wire_msg m;
        err_info e = {0};
        int rc = wire_feed(&r, copy, len, &e);
        wire_reader_set_eof(&r);
        /* Each message takes at least 5 bytes: a bound on the calls. */
        size_t calls = 0, limit = len / 5 + 2;
        bool ended = rc != 0;
        while (!ended && calls++ < limit) {
            int n = wire_next(&r, &m, &e);
            if (n == 1) {
                yielded++;
                if (m.wm_kind == WIRE_ASSOC_SETS) {
                    assoc_buf_reset(&scratch);
                    if (wire_assoc_sets_decode(&m, &scratch, &e) < 0)
                        bad_sets++; /* not sticky: the stream goes on */
                }
            } else {
                rc = n;
                ended = true;
            }
        }
        if (!ended)
            runaway++;
        else if (rc < 0)
            errors++;
        else if (wire_reader_at_eof(&r))
            clean++;
        else
            runaway++;
        wire_reader_free(&r);
    }
    fprintf(stderr,
            "\n    %d rounds: %u stream errors, %u clean ends, %u messages yielded, "
            "%u ASSOC_SETS bodies refused\n",
            ROUNDS, errors, clean, yielded, bad_sets);
    CHECK_EQ(runaway, 0);
    CHECK_EQ(errors + clean, ROUNDS);
    CHECK(errors > ROUNDS / 4);
done:
    free(copy);
    assoc_buf_free(&fx);
    assoc_buf_free(&scratch);
    wire_writer_free(&w);
}

/* ---- speed (printed, not asserted) ----------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_assoc_speed(void)
{
    wire_writer w;
    wire_reader r;
    assoc_buf big, got;
    wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT);
    wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT);
    assoc_buf_init(&big);
    assoc_buf_init(&got);
    wire_msg m;
    err_info e = {0};
    REQUIRE(make_big(&big, 1000, 200, 3));
    double enc = 1e9, dec = 1e9; /* the fastest run of each: the least disturbed */
    size_t bytes = 0;
    int reps = 0;
    double start = now_s();
    while (reps < 50 && (reps < 3 || now_s() - start < 1.0)) {
        double t0 = now_s();
        REQUIRE_EQ(wire_put_assoc_sets(&w, 1, 1, 0, &big, 0, big.ab_nparents, &e), 0);
        double t1 = now_s();
        bytes = wire_writer_pending(&w);
        REQUIRE(pump(&w, &r));
        double t2 = now_s();
        REQUIRE_EQ(wire_next(&r, &m, &e), 1);
        assoc_buf_reset(&got);
        REQUIRE_EQ(wire_assoc_sets_decode(&m, &got, &e), 0);
        double t3 = now_s();
        REQUIRE_EQ(got.ab_nlinks, big.ab_nlinks);
        enc = t1 - t0 < enc ? t1 - t0 : enc;
        dec = t3 - t2 < dec ? t3 - t2 : dec;
        reps++;
    }
    double links = (double)big.ab_nlinks;
    fprintf(stderr,
            "\n    ASSOC_SETS %zu links, %zu bytes (%.1f B/link), best of %d: encode %.1f M "
            "links/s, decode into an assoc_buf %.1f M links/s, both %.1f M links/s\n",
            big.ab_nlinks, bytes, (double)bytes / (double)big.ab_nlinks, reps, links / enc / 1e6,
            links / dec / 1e6, links / (enc + dec) / 1e6);
done:
    assoc_buf_free(&big);
    assoc_buf_free(&got);
    wire_writer_free(&w);
    wire_reader_free(&r);
}

int unit_suite_wire(void)
{
    static const ut_test tests[] = {
        {"HELLO and LOG round trip, texts cut at a character", test_hello_and_log},
        {"ASSOC_SETS round trip: edge IDs, empty sets, nil vs empty labels",
         test_assoc_sets_roundtrip},
        {"OBJECTS round trip: extreme IDs and times, cursor nil vs empty", test_objects_roundtrip},
        {"SEARCH_RESULT round trip, next offset nil vs 0", test_search_roundtrip},
        {"JOB_DONE round trip: statuses and counters", test_job_done_roundtrip},
        {"accepts any integer width and long headers", test_accepts_wide_encodings},
        {"encoders refuse bad arguments and oversize, leaving the writer intact",
         test_encoder_rejects},
        {"socketpair: every byte written and read alone", test_socketpair_one_byte_io},
        {"socketpair: non-blocking, full socket, multi-MB messages", test_socketpair_nonblocking},
        {"EOF at and inside messages", test_eof_mid_message},
        {"I/O errors: EAGAIN, EBADF, EPIPE without SIGPIPE, pipes", test_io_errors},
        {"oversized length prefix fails at once", test_oversized_prefix},
        {"malformed frames: envelope, versions, kinds, types, ranges", test_malformed_frames},
        {"stream errors are sticky, a bad ASSOC_SETS body is not", test_error_stickiness},
        {"every truncation of a stream and of each frame", test_every_truncation},
        {"random byte flips and garbage", test_random_corruption},
        {"ASSOC_SETS speed (printed)", test_assoc_speed},
    };
    return ut_add_suite("wire", tests, UT_COUNT(tests));
}
