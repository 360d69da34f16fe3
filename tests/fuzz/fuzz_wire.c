/*
 * fuzz_wire — the msgpack wire reader (common/ipc/wire.h): wire_feed, wire_next
 * and wire_assoc_sets_decode over a byte stream of framed envelopes of every
 * kind, as a worker's socket delivers them to the coordinator.
 *
 * Beyond "no crash, no leak, no UB", each input checks:
 *  - the stream yields the same messages and the same final status whether
 *    it arrives in one piece or in chunks (at most 32, byte by byte up to 64
 *    bytes: the reader's framing must not depend on how reads split bytes);
 *  - wire_assoc_sets_decode gives the same into a fresh buffer and into one
 *    already holding a parent; a failed one leaves the buffer as it was;
 *    decoded parents are in canonical form with every offset in bounds;
 *  - every message decoded, encoded again with the wire_put_* of its kind
 *    and decoded, gives the same message (texts the encoder cuts by design,
 *    over WIRE_TEXT_MAX bytes or holding a NUL, are skipped).
 */
#include "../../common/ipc/wire.h"
#include "fuzz.h"

enum { MAX_MSGS = 256, READER_CAP = 1 << 20 };

typedef struct run {
    uint64_t digests[MAX_MSGS];
    size_t n;
    int final_rc; /* 0, or the reader's sticky error */
} run;

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211u;
    return h;
}

#define MIX(h, v) ((h) = mix((h), &(v), sizeof(v)))

/* The parents [first, nparents) of b, folded into h. */
static uint64_t mix_parents(uint64_t h, const assoc_buf *b, size_t first)
{
    for (size_t i = first; i < b->ab_nparents; i++) {
        const assoc_parent *p = &b->ab_parents[i];
        MIX(h, p->ap_parent_id);
        MIX(h, p->ap_nlinks);
        for (uint32_t j = 0; j < p->ap_nlinks; j++) {
            const assoc_link *l = &assoc_links(b, p)[j];
            MIX(h, l->al_child_id);
            MIX(h, l->al_ntypes);
            for (uint32_t k = 0; k < l->al_ntypes; k++) {
                const assoc_type *t = &assoc_types(b, l)[k];
                MIX(h, t->at_type_id);
                MIX(h, t->at_category);
                MIX(h, t->at_has_label);
                MIX(h, t->at_label_len);
                if (t->at_has_label)
                    h = mix(h, assoc_label(b, t), t->at_label_len);
            }
        }
    }
    return h;
}

/* Decodes an ASSOC_SETS message twice: into a fresh buffer, as the
 * coordinator's first message finds it (arrays not yet allocated), and into
 * b after one parent already there, as later messages find it; checks the
 * decode's contract and that both agree. Returns the decode's status. */
static int decode_sets(const wire_msg *m, assoc_buf *b)
{
    err_info e;
    assoc_buf fresh;
    assoc_buf_init(&fresh);
    int fresh_rc = wire_assoc_sets_decode(m, &fresh, &e);
    assoc_buf_reset(b);
    FUZZ_CHECK(assoc_buf_begin_parent(b, 9) == 0 && assoc_buf_add_link(b, 8) == 0 &&
               assoc_buf_add_type(b, 7, ASSOC_WORK, "kept", 4) == 0 &&
               assoc_buf_finish_parent(b) == 0);
    size_t strings = b->ab_strings.jb_len;
    int rc = wire_assoc_sets_decode(m, b, &e);
    FUZZ_CHECK(rc == 0 || rc == ERR_PARSE || rc == ERR_CORRUPT || rc == ERR_TOO_BIG ||
               rc == ERR_NOMEM);
    FUZZ_CHECK(rc == fresh_rc);
    if (rc) {
        FUZZ_CHECK(b->ab_nparents == 1 && b->ab_nlinks == 1 && b->ab_ntypes == 1);
        FUZZ_CHECK(b->ab_strings.jb_len == strings);
        FUZZ_CHECK(fresh.ab_nparents == 0 && fresh.ab_nlinks == 0 && fresh.ab_ntypes == 0);
    } else {
        FUZZ_CHECK(b->ab_nparents == 1 + (size_t)m->wm_assoc.was_nparents);
        FUZZ_CHECK(fresh.ab_nparents == (size_t)m->wm_assoc.was_nparents);
        fuzz_check_assoc(b, 0, 0, 0);
        fuzz_check_assoc(&fresh, 0, 0, 0);
        for (size_t i = 0; i < fresh.ab_nparents; i++) {
            FUZZ_CHECK(!b->ab_parents[i + 1].ap_has_more && !fresh.ab_parents[i].ap_has_more);
            FUZZ_CHECK(
                fuzz_assoc_parent_equal(b, &b->ab_parents[i + 1], &fresh, &fresh.ab_parents[i]));
        }
    }
    assoc_buf_free(&fresh);
    return rc;
}

/* A message folded into one number; ASSOC_SETS decoded into b (which then
 * holds its parents from index 1), the decode's status in *sets_rc. */
static uint64_t digest(const wire_msg *m, assoc_buf *b, int *sets_rc)
{
    uint64_t h = 14695981039346656037u;
    MIX(h, m->wm_kind);
    MIX(h, m->wm_job_id);
    MIX(h, m->wm_generation);
    switch (m->wm_kind) {
    case WIRE_HELLO:
        MIX(h, m->wm_hello.wh_slot);
        MIX(h, m->wm_hello.wh_pid);
        break;
    case WIRE_ASSOC_SETS: {
        MIX(h, m->wm_assoc.was_table);
        *sets_rc = decode_sets(m, b);
        MIX(h, *sets_rc);
        if (*sets_rc == 0)
            h = mix_parents(h, b, 1);
        break;
    }
    case WIRE_OBJECTS: {
        const wire_objects *o = &m->wm_objects;
        MIX(h, o->wob_object_type);
        MIX(h, o->wob_nitems);
        for (size_t i = 0; i < o->wob_nitems; i++) {
            MIX(h, o->wob_items[i].wo_id);
            MIX(h, o->wob_items[i].wo_lastmodified_ms);
            MIX(h, o->wob_items[i].wo_archived);
            MIX(h, o->wob_items[i].wo_heavy);
        }
        int has_after = o->wob_next_after != NULL;
        MIX(h, has_after);
        if (has_after) {
            FUZZ_CHECK(o->wob_next_after[o->wob_next_after_len] == '\0');
            h = mix(h, o->wob_next_after, o->wob_next_after_len);
        }
        break;
    }
    case WIRE_SEARCH_RESULT: {
        const wire_search_result *s = &m->wm_search;
        MIX(h, s->wsr_total);
        MIX(h, s->wsr_nhits);
        for (size_t i = 0; i < s->wsr_nhits; i++) {
            MIX(h, s->wsr_hits[i].wsh_id);
            MIX(h, s->wsr_hits[i].wsh_lastmodified_ms);
        }
        MIX(h, s->wsr_has_next);
        MIX(h, s->wsr_next_offset);
        break;
    }
    case WIRE_JOB_DONE: {
        const wire_job_done *d = &m->wm_done;
        FUZZ_CHECK(d->wjd_status <= 0 && d->wjd_message[d->wjd_message_len] == '\0');
        MIX(h, d->wjd_status);
        h = mix(h, d->wjd_message, d->wjd_message_len);
        MIX(h, d->wjd_counters);
        break;
    }
    case WIRE_LOG:
        FUZZ_CHECK(m->wm_log.wl_level <= 7 && m->wm_log.wl_text[m->wm_log.wl_text_len] == '\0');
        MIX(h, m->wm_log.wl_level);
        h = mix(h, m->wm_log.wl_text, m->wm_log.wl_text_len);
        break;
    default:
        FUZZ_CHECK(!"a kind wire.h does not list");
    }
    return h;
}

/* Whether the encoder can say this text as it is (it cuts longer ones and
 * stops at a NUL). */
static int text_encodable(const char *s, size_t n)
{
    return n <= WIRE_TEXT_MAX && strlen(s) == n;
}

/* Encodes m again (b holds its decoded parents from index 1 when sets_rc is
 * 0), decodes the result and checks it gives the same digest. */
static void check_reencode(const wire_msg *m, const assoc_buf *b, int sets_rc, uint64_t want)
{
    wire_writer w;
    err_info e;
    int rc = 0;
    FUZZ_CHECK(wire_writer_init(&w, WIRE_MAX_MSG_DEFAULT) == 0);
    switch (m->wm_kind) {
    case WIRE_HELLO:
        rc = wire_put_hello(&w, m->wm_hello.wh_slot, m->wm_hello.wh_pid, &e);
        break;
    case WIRE_ASSOC_SETS:
        if (sets_rc == 0) /* a body the decoder refused has nothing to encode */
            rc = wire_put_assoc_sets(&w, m->wm_job_id, m->wm_generation, m->wm_assoc.was_table, b,
                                     1, b->ab_nparents - 1, &e);
        break;
    case WIRE_OBJECTS: {
        const wire_objects *o = &m->wm_objects;
        rc = wire_put_objects(&w, m->wm_job_id, m->wm_generation, o->wob_object_type, o->wob_items,
                              o->wob_nitems, o->wob_next_after, o->wob_next_after_len, &e);
        break;
    }
    case WIRE_SEARCH_RESULT: {
        const wire_search_result *s = &m->wm_search;
        rc = wire_put_search_result(&w, m->wm_job_id, m->wm_generation, s->wsr_total, s->wsr_hits,
                                    s->wsr_nhits, s->wsr_has_next, s->wsr_next_offset, &e);
        break;
    }
    case WIRE_JOB_DONE:
        if (text_encodable(m->wm_done.wjd_message, m->wm_done.wjd_message_len))
            rc = wire_put_job_done(&w, m->wm_job_id, m->wm_generation, m->wm_done.wjd_status,
                                   m->wm_done.wjd_message, &m->wm_done.wjd_counters, &e);
        break;
    case WIRE_LOG:
        if (text_encodable(m->wm_log.wl_text, m->wm_log.wl_text_len))
            rc = wire_put_log(&w, m->wm_log.wl_level, m->wm_log.wl_text, &e);
        break;
    default:
        break;
    }
    FUZZ_CHECK(rc == 0);
    size_t len;
    const char *bytes = wire_writer_data(&w, &len);
    if (len) {
        wire_reader r;
        wire_msg again;
        assoc_buf b2;
        assoc_buf_init(&b2);
        FUZZ_CHECK(wire_reader_init(&r, WIRE_MAX_MSG_DEFAULT) == 0);
        FUZZ_CHECK(wire_feed(&r, bytes, len, &e) == 0);
        FUZZ_CHECK(wire_next(&r, &again, &e) == 1);
        int again_rc = 0;
        FUZZ_CHECK(digest(&again, &b2, &again_rc) == want);
        wire_reader_set_eof(&r);
        FUZZ_CHECK(wire_next(&r, &again, &e) == 0 && wire_reader_at_eof(&r));
        wire_reader_free(&r);
        assoc_buf_free(&b2);
    }
    wire_writer_free(&w);
}

/* Yields every complete message; returns 0 when more bytes are needed, or
 * the reader's error. */
static int drain(wire_reader *r, run *out, assoc_buf *b, int reencode)
{
    wire_msg m;
    err_info e;
    int rc;
    while ((rc = wire_next(r, &m, &e)) == 1) {
        int sets_rc = 0;
        uint64_t h = digest(&m, b, &sets_rc);
        if (reencode)
            check_reencode(&m, b, sets_rc, h);
        if (out->n < MAX_MSGS)
            out->digests[out->n] = h;
        out->n++;
    }
    FUZZ_CHECK(rc == 0 || rc == ERR_TOO_BIG || rc == ERR_PARSE || rc == ERR_CORRUPT ||
               rc == ERR_NOMEM);
    if (rc)
        FUZZ_CHECK(memchr(e.ei_msg, '\0', sizeof(e.ei_msg)) != NULL);
    return rc;
}

/* Feeds the stream in pieces of `chunk` bytes, draining after each. */
static void feed(const uint8_t *data, size_t size, size_t chunk, run *out, int reencode)
{
    wire_reader r;
    assoc_buf b;
    err_info e;
    memset(out, 0, sizeof(*out));
    assoc_buf_init(&b);
    FUZZ_CHECK(wire_reader_init(&r, READER_CAP) == 0);
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        rc = wire_feed(&r, data + off, n, &e);
        if (rc == 0)
            rc = drain(&r, out, &b, reencode);
    }
    if (rc == 0) {
        wire_reader_set_eof(&r);
        rc = drain(&r, out, &b, reencode);
        FUZZ_CHECK(rc != 0 || wire_reader_at_eof(&r));
    }
    /* Errors are sticky: the reader keeps answering the same one. */
    if (rc) {
        wire_msg m;
        FUZZ_CHECK(wire_next(&r, &m, &e) == rc);
    }
    out->final_rc = rc;
    wire_reader_free(&r);
    assoc_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static run whole, pieces;
    feed(data, size, size ? size : 1, &whole, 1);
    /* Splits that move with the input's size: byte by byte for short ones. */
    feed(data, size, size <= 64 ? 1 : 1 + size / 32, &pieces, 0);
    FUZZ_CHECK(whole.final_rc == pieces.final_rc && whole.n == pieces.n);
    size_t n = whole.n < MAX_MSGS ? whole.n : MAX_MSGS;
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(whole.digests[i] == pieces.digests[i]);
    return 0;
}
