/*
 * wire — framing, encoders and the bounded msgpack decoder of the
 * worker→coordinator messages (see wire.h for the message table and the
 * error rules).
 *
 * Encoding goes through msgpack-c's packer with a write callback that appends
 * straight to the writer's buffer and enforces the size cap as it goes, so an
 * oversized message fails early instead of first growing the buffer.
 * Decoding walks the frame with a cursor (mp_*) that checks every length
 * against the bytes left before trusting it.
 */
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <msgpack.h>

#include "../base/mpread.h"

/* The bytes one wire_read() asks for beyond the frame being received. */
#define READ_CHUNK ((size_t)64 << 10)

/* The field count of each kind's envelope, version and kind included. */
static const uint8_t kind_fields[WIRE_KIND_END] = {
    [WIRE_HELLO] = 4,         [WIRE_ASSOC_SETS] = 6, [WIRE_OBJECTS] = 7,
    [WIRE_SEARCH_RESULT] = 7, [WIRE_JOB_DONE] = 10,  [WIRE_LOG] = 4,
};

static const char *const kind_names[WIRE_KIND_END] = {
    [WIRE_HELLO] = "HELLO",       [WIRE_ASSOC_SETS] = "ASSOC_SETS",
    [WIRE_OBJECTS] = "OBJECTS",   [WIRE_SEARCH_RESULT] = "SEARCH_RESULT",
    [WIRE_JOB_DONE] = "JOB_DONE", [WIRE_LOG] = "LOG",
};

const char *wire_kind_name(int kind)
{
    return kind > 0 && kind < WIRE_KIND_END ? kind_names[kind] : "UNKNOWN";
}

static inline uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ======================================================================== */
/* writer                                                                    */
/* ======================================================================== */

int wire_writer_init(wire_writer *w, size_t max_msg)
{
    memset(w, 0, sizeof(*w));
    if (max_msg == 0 || max_msg > UINT32_MAX)
        return ERR_INVALID;
    w->ww_max_msg = max_msg;
    return 0;
}

void wire_writer_free(wire_writer *w)
{
    free(w->ww_data);
    w->ww_data = NULL;
    w->ww_len = w->ww_cap = w->ww_sent = w->ww_avail = 0;
}

size_t wire_writer_pending(const wire_writer *w)
{
    return w->ww_len - w->ww_sent;
}

const char *wire_writer_data(const wire_writer *w, size_t *len)
{
    *len = w->ww_len - w->ww_sent;
    return w->ww_data ? w->ww_data + w->ww_sent : "";
}

void wire_writer_consume(wire_writer *w, size_t n)
{
    size_t left = w->ww_len - w->ww_sent;
    w->ww_sent += n < left ? n : left;
    if (w->ww_sent == w->ww_len)
        w->ww_len = w->ww_sent = 0;
}

/* The end of the message being built, as the cap allows it. */
static size_t msg_limit(const wire_writer *w)
{
    return w->ww_msg_start + 4 + w->ww_max_msg;
}

/* The slow path of writer_append: the cap, or growth. */
static int writer_make_room(wire_writer *w, size_t n)
{
    size_t need = w->ww_len + n;
    if (need > msg_limit(w)) {
        w->ww_status = ERR_TOO_BIG;
        return -1;
    }
    if (need > w->ww_cap) {
        size_t ncap = w->ww_cap ? w->ww_cap : 4096;
        while (ncap < need)
            ncap *= 2;
        char *p = realloc(w->ww_data, ncap);
        if (!p) {
            w->ww_status = ERR_NOMEM;
            return -1;
        }
        w->ww_data = p;
        w->ww_cap = ncap;
    }
    size_t limit = msg_limit(w);
    w->ww_avail = limit < w->ww_cap ? limit : w->ww_cap;
    return 0;
}

/* msgpack_packer's write callback. One compare on the fast path. */
static int writer_append(void *data, const char *buf, size_t n)
{
    wire_writer *w = data;
    if (n > w->ww_avail - w->ww_len && writer_make_room(w, n) != 0)
        return -1;
    memcpy(w->ww_data + w->ww_len, buf, n);
    w->ww_len += n;
    return 0;
}

/* Starts a message: drops sent bytes when they are most of the buffer, then
 * reserves the length prefix and packs [version, kind] with nfields fields. */
static void msg_begin(wire_writer *w, msgpack_packer *pk, wire_kind kind)
{
    if (w->ww_sent > 0 && w->ww_sent >= w->ww_len / 2) {
        memmove(w->ww_data, w->ww_data + w->ww_sent, w->ww_len - w->ww_sent);
        w->ww_len -= w->ww_sent;
        w->ww_sent = 0;
    }
    w->ww_status = 0;
    w->ww_msg_start = w->ww_len;
    size_t limit = msg_limit(w);
    w->ww_avail = limit < w->ww_cap ? limit : w->ww_cap;
    msgpack_packer_init(pk, w, writer_append);
    static const char prefix[4] = {0};
    writer_append(w, prefix, sizeof(prefix));
    msgpack_pack_array(pk, kind_fields[kind]);
    msgpack_pack_uint8(pk, WIRE_VERSION);
    msgpack_pack_uint8(pk, (uint8_t)kind);
}

/* Finishes the message: patches its length prefix, or rolls it back. */
static int msg_end(wire_writer *w, wire_kind kind, err_info *e)
{
    if (w->ww_status != 0) {
        int rc = w->ww_status;
        w->ww_len = w->ww_msg_start;
        w->ww_status = 0;
        if (rc == ERR_TOO_BIG)
            return err_set(e, rc, "wire: %s message exceeds the cap of %zu bytes",
                           wire_kind_name(kind), w->ww_max_msg);
        return err_set(e, rc, "wire: out of memory encoding %s", wire_kind_name(kind));
    }
    uint32_t n = (uint32_t)(w->ww_len - w->ww_msg_start - 4);
    unsigned char *p = (unsigned char *)w->ww_data + w->ww_msg_start;
    p[0] = (unsigned char)(n >> 24);
    p[1] = (unsigned char)(n >> 16);
    p[2] = (unsigned char)(n >> 8);
    p[3] = (unsigned char)n;
    return 0;
}

/* Packs a text cut to WIRE_TEXT_MAX bytes, never inside a UTF-8 sequence. */
static void pack_text(msgpack_packer *pk, const char *s)
{
    size_t n = s ? strnlen(s, WIRE_TEXT_MAX + 1) : 0;
    if (n > WIRE_TEXT_MAX) {
        n = WIRE_TEXT_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    msgpack_pack_str_with_body(pk, s ? s : "", n);
}

int wire_put_hello(wire_writer *w, uint32_t slot, int32_t pid, err_info *e)
{
    if (pid <= 0)
        return err_set(e, ERR_INVALID, "wire: HELLO pid %" PRId32 " is not positive", pid);
    msgpack_packer pk;
    msg_begin(w, &pk, WIRE_HELLO);
    msgpack_pack_uint32(&pk, slot);
    msgpack_pack_int32(&pk, pid);
    return msg_end(w, WIRE_HELLO, e);
}

/* Packs one parent: [parent_id, [child_id, [type_id, category, label]...]...]
 * flattened as the table in wire.h says. */
static int pack_parent(msgpack_packer *pk, const assoc_buf *b, const assoc_parent *p, err_info *e)
{
    if (p->ap_has_more)
        return err_set(e, ERR_INVALID,
                       "wire: parent %" PRIu64 " is incomplete (HubSpot has more pages)",
                       p->ap_parent_id);
    msgpack_pack_uint64(pk, p->ap_parent_id);
    msgpack_pack_array(pk, (size_t)p->ap_nlinks * 2);
    const assoc_link *links = assoc_links(b, p);
    for (uint32_t i = 0; i < p->ap_nlinks; i++) {
        const assoc_link *l = &links[i];
        msgpack_pack_uint64(pk, l->al_child_id);
        msgpack_pack_array(pk, (size_t)l->al_ntypes * 3);
        const assoc_type *types = assoc_types(b, l);
        for (uint32_t k = 0; k < l->al_ntypes; k++) {
            const assoc_type *t = &types[k];
            if (t->at_category >= ASSOC_CATEGORY_COUNT)
                return err_set(e, ERR_INVALID,
                               "wire: parent %" PRIu64 " child %" PRIu64 " has category %u",
                               p->ap_parent_id, l->al_child_id, (unsigned)t->at_category);
            msgpack_pack_int32(pk, t->at_type_id);
            msgpack_pack_uint8(pk, t->at_category);
            if (t->at_has_label)
                msgpack_pack_str_with_body(pk, b->ab_strings.jb_data + t->at_label_off,
                                           t->at_label_len);
            else
                msgpack_pack_nil(pk);
        }
    }
    return 0;
}

int wire_put_assoc_sets(wire_writer *w, uint64_t job_id, uint64_t generation, uint16_t table,
                        const assoc_buf *b, size_t first, size_t count, err_info *e)
{
    if (first > b->ab_nparents || count > b->ab_nparents - first)
        return err_set(e, ERR_INVALID, "wire: parents [%zu, +%zu) outside a buffer of %zu", first,
                       count, b->ab_nparents);
    if (count > UINT32_MAX / 2)
        return err_set(e, ERR_TOO_BIG, "wire: %zu parents in one message", count);
    msgpack_packer pk;
    msg_begin(w, &pk, WIRE_ASSOC_SETS);
    msgpack_pack_uint64(&pk, job_id);
    msgpack_pack_uint64(&pk, generation);
    msgpack_pack_uint16(&pk, table);
    msgpack_pack_array(&pk, count * 2);
    for (size_t i = first; i < first + count && w->ww_status == 0; i++) {
        int rc = pack_parent(&pk, b, &b->ab_parents[i], e);
        if (rc) {
            w->ww_len = w->ww_msg_start;
            w->ww_status = 0;
            return rc;
        }
    }
    return msg_end(w, WIRE_ASSOC_SETS, e);
}

int wire_put_objects(wire_writer *w, uint64_t job_id, uint64_t generation, uint16_t object_type,
                     const wire_object *items, size_t nitems, const char *next_after,
                     size_t next_after_len, err_info *e)
{
    if (nitems > UINT32_MAX / 4)
        return err_set(e, ERR_TOO_BIG, "wire: %zu objects in one message", nitems);
    if (next_after_len > UINT32_MAX)
        return err_set(e, ERR_TOO_BIG, "wire: a paging cursor of %zu bytes", next_after_len);
    msgpack_packer pk;
    msg_begin(w, &pk, WIRE_OBJECTS);
    msgpack_pack_uint64(&pk, job_id);
    msgpack_pack_uint64(&pk, generation);
    msgpack_pack_uint16(&pk, object_type);
    msgpack_pack_array(&pk, nitems * 4);
    for (size_t i = 0; i < nitems && w->ww_status == 0; i++) {
        msgpack_pack_uint64(&pk, items[i].wo_id);
        msgpack_pack_int64(&pk, items[i].wo_lastmodified_ms);
        if (items[i].wo_archived)
            msgpack_pack_true(&pk);
        else
            msgpack_pack_false(&pk);
        msgpack_pack_uint8(&pk, items[i].wo_heavy);
    }
    if (next_after)
        msgpack_pack_str_with_body(&pk, next_after, next_after_len);
    else
        msgpack_pack_nil(&pk);
    return msg_end(w, WIRE_OBJECTS, e);
}

int wire_put_search_result(wire_writer *w, uint64_t job_id, uint64_t generation, uint32_t total,
                           const wire_search_hit *hits, size_t nhits, bool has_next,
                           uint32_t next_offset, err_info *e)
{
    if (nhits > UINT32_MAX / 2)
        return err_set(e, ERR_TOO_BIG, "wire: %zu search hits in one message", nhits);
    msgpack_packer pk;
    msg_begin(w, &pk, WIRE_SEARCH_RESULT);
    msgpack_pack_uint64(&pk, job_id);
    msgpack_pack_uint64(&pk, generation);
    msgpack_pack_uint32(&pk, total);
    msgpack_pack_array(&pk, nhits * 2);
    for (size_t i = 0; i < nhits && w->ww_status == 0; i++) {
        msgpack_pack_uint64(&pk, hits[i].wsh_id);
        msgpack_pack_int64(&pk, hits[i].wsh_lastmodified_ms);
    }
    if (has_next)
        msgpack_pack_uint32(&pk, next_offset);
    else
        msgpack_pack_nil(&pk);
    return msg_end(w, WIRE_SEARCH_RESULT, e);
}

int wire_put_job_done(wire_writer *w, uint64_t job_id, uint64_t generation, int32_t status,
                      const char *message, const wire_counters *counters, err_info *e)
{
    if (status > 0)
        return err_set(e, ERR_INVALID, "wire: JOB_DONE status %" PRId32 " is positive", status);
    static const wire_counters zero;
    const wire_counters *c = counters ? counters : &zero;
    msgpack_packer pk;
    msg_begin(w, &pk, WIRE_JOB_DONE);
    msgpack_pack_uint64(&pk, job_id);
    msgpack_pack_uint64(&pk, generation);
    msgpack_pack_int32(&pk, status);
    pack_text(&pk, message);
    msgpack_pack_uint64(&pk, c->wc_calls);
    msgpack_pack_uint64(&pk, c->wc_retries);
    msgpack_pack_uint64(&pk, c->wc_throttled);
    msgpack_pack_uint64(&pk, c->wc_bytes);
    return msg_end(w, WIRE_JOB_DONE, e);
}

int wire_put_log(wire_writer *w, uint8_t level, const char *text, err_info *e)
{
    if (level > 7)
        return err_set(e, ERR_INVALID, "wire: LOG level %u is not 0-7", (unsigned)level);
    msgpack_packer pk;
    msg_begin(w, &pk, WIRE_LOG);
    msgpack_pack_uint8(&pk, level);
    pack_text(&pk, text);
    return msg_end(w, WIRE_LOG, e);
}

int wire_flush(wire_writer *w, int fd, err_info *e)
{
    bool use_send = true;
    while (w->ww_sent < w->ww_len) {
        const char *p = w->ww_data + w->ww_sent;
        size_t left = w->ww_len - w->ww_sent;
        ssize_t n = use_send ? send(fd, p, left, MSG_NOSIGNAL) : write(fd, p, left);
        if (n < 0 && use_send && errno == ENOTSOCK) {
            use_send = false; /* a pipe or a file */
            continue;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return err_set(e, ERR_AGAIN, "wire: %zu bytes wait for the socket", left);
            return err_set(e, ERR_SYS, "wire: %s(fd %d): %s", use_send ? "send" : "write", fd,
                           strerror(errno));
        }
        if (n == 0) /* not for a non-empty write; do not spin on it */
            return err_set(e, ERR_SYS, "wire: %s(fd %d) wrote nothing", use_send ? "send" : "write",
                           fd);
        w->ww_sent += (size_t)n;
    }
    w->ww_len = w->ww_sent = 0;
    return 0;
}

/* ======================================================================== */
/* decoder: on mpread's bounds-checked cursor                               */
/* ======================================================================== */

/* Turns a failed read into an error naming the field. `where` is the
 * message's context ("ASSOC_SETS parents[3] links[5]"), `what` the field
 * ("child_id"), `expected` its type ("u64"). */
static int mp_fail(err_info *e, const mp_cur *c, int why, const char *where, const char *what,
                   const char *expected)
{
    switch (why) {
    case MP_SHORT:
        return err_set(e, ERR_PARSE, "wire: %s %s: cut short by the end of its frame", where, what);
    case MP_RANGE: {
        /* The cursor is still on the value: show it. */
        mp_cur at = *c;
        uint64_t u = 0;
        int64_t s = 0;
        bool neg = false;
        uint32_t n = 0;
        if (mp_integer(&at, &u, &s, &neg) == MP_OK) {
            if (neg)
                return err_set(e, ERR_CORRUPT, "wire: %s %s: %" PRId64 " is out of range for %s",
                               where, what, s, expected);
            return err_set(e, ERR_CORRUPT, "wire: %s %s: %" PRIu64 " is out of range for %s", where,
                           what, u, expected);
        }
        at = *c;
        if (mp_array(&at, 1, &n) == MP_OK)
            return err_set(e, ERR_CORRUPT, "wire: %s %s: an array of %" PRIu32 " items is not %s",
                           where, what, n, expected);
        at = *c;
        const char *str;
        if (mp_str(&at, UINT32_MAX, &str, &n) == MP_OK)
            return err_set(e, ERR_CORRUPT, "wire: %s %s: a str of %" PRIu32 " bytes is not %s",
                           where, what, n, expected);
        return err_set(e, ERR_CORRUPT, "wire: %s %s: out of range for %s", where, what, expected);
    }
    default:
        if (c->p < c->end && c->p[0] == 0xc1)
            return err_set(e, ERR_PARSE, "wire: %s %s: invalid msgpack byte 0xc1", where, what);
        return err_set(e, ERR_CORRUPT, "wire: %s %s: expected %s, found %s", where, what, expected,
                       mp_found(c));
    }
}

/* mp_fail for a field of element i of a list ("OBJECTS items[3] id"). */
static int item_fail(err_info *e, const mp_cur *c, int why, const char *list, size_t i,
                     const char *what, const char *expected)
{
    char where[96];
    snprintf(where, sizeof(where), "%s[%zu]", list, i);
    return mp_fail(e, c, why, where, what, expected);
}

/* ======================================================================== */
/* reader                                                                    */
/* ======================================================================== */

int wire_reader_init(wire_reader *r, size_t max_msg)
{
    memset(r, 0, sizeof(*r));
    jb_init(&r->wr_text);
    if (max_msg == 0 || max_msg > UINT32_MAX)
        return ERR_INVALID;
    r->wr_max_msg = max_msg;
    return 0;
}

void wire_reader_free(wire_reader *r)
{
    free(r->wr_buf);
    free(r->wr_items);
    jb_free(&r->wr_text);
    r->wr_buf = NULL;
    r->wr_items = NULL;
    r->wr_len = r->wr_pos = r->wr_cap = r->wr_items_cap = 0;
}

void wire_reader_set_eof(wire_reader *r)
{
    r->wr_eof = true;
}

bool wire_reader_at_eof(const wire_reader *r)
{
    return r->wr_eof && r->wr_error == 0 && r->wr_pos == r->wr_len;
}

/* Records the sticky error and copies it to e. */
static int reader_fail(wire_reader *r, err_info *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int reader_fail(wire_reader *r, err_info *e, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->wr_errmsg, sizeof(r->wr_errmsg), fmt, ap);
    va_end(ap);
    r->wr_error = code;
    return err_set(e, code, "%s", r->wr_errmsg);
}

static int sticky(const wire_reader *r, err_info *e)
{
    return err_set(e, r->wr_error, "%s", r->wr_errmsg);
}

/* Moves the unyielded bytes to the front and makes room for `extra` more. */
static int reader_reserve(wire_reader *r, size_t extra)
{
    if (r->wr_pos > 0) {
        memmove(r->wr_buf, r->wr_buf + r->wr_pos, r->wr_len - r->wr_pos);
        r->wr_len -= r->wr_pos;
        r->wr_pos = 0;
    }
    if (extra <= r->wr_cap - r->wr_len)
        return 0;
    size_t ncap = r->wr_cap ? r->wr_cap : READ_CHUNK;
    while (ncap - r->wr_len < extra)
        ncap *= 2;
    unsigned char *p = realloc(r->wr_buf, ncap);
    if (!p)
        return ERR_NOMEM;
    r->wr_buf = p;
    r->wr_cap = ncap;
    return 0;
}

/* Checks the length prefix at the read position, if complete. Returns 0 or
 * the sticky ERR_TOO_BIG; *frame_len gets the length (0 when not yet known). */
static int check_prefix(wire_reader *r, err_info *e, size_t *frame_len)
{
    *frame_len = 0;
    if (r->wr_len - r->wr_pos < 4)
        return 0;
    uint32_t n = be32(r->wr_buf + r->wr_pos);
    if (n > r->wr_max_msg)
        return reader_fail(r, e, ERR_TOO_BIG,
                           "wire: a message of %" PRIu32 " bytes exceeds the cap of %zu", n,
                           r->wr_max_msg);
    *frame_len = n;
    return 0;
}

ssize_t wire_read(wire_reader *r, int fd, err_info *e)
{
    if (r->wr_error)
        return sticky(r, e);
    if (r->wr_eof)
        return 0;
    size_t frame_len;
    if (check_prefix(r, e, &frame_len))
        return r->wr_error;
    /* Room for the rest of the current frame (at most the cap) or a chunk. */
    size_t want = READ_CHUNK;
    size_t held = r->wr_len - r->wr_pos;
    if (frame_len && 4 + frame_len > held && 4 + frame_len - held > want)
        want = 4 + frame_len - held;
    if (reader_reserve(r, want))
        return err_set(e, ERR_NOMEM, "wire: out of memory for a %zu-byte read", want);
    ssize_t n;
    do {
        n = read(fd, r->wr_buf + r->wr_len, r->wr_cap - r->wr_len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return err_set(e, ERR_AGAIN, "wire: nothing to read on fd %d", fd);
        return err_set(e, ERR_SYS, "wire: read(fd %d): %s", fd, strerror(errno));
    }
    if (n == 0)
        r->wr_eof = true;
    r->wr_len += (size_t)n;
    return n;
}

int wire_feed(wire_reader *r, const void *data, size_t n, err_info *e)
{
    if (r->wr_error)
        return sticky(r, e);
    if (n == 0)
        return 0;
    if (reader_reserve(r, n))
        return err_set(e, ERR_NOMEM, "wire: out of memory for %zu bytes", n);
    memcpy(r->wr_buf + r->wr_len, data, n);
    r->wr_len += n;
    return 0;
}

/* Makes the item scratch hold at least `bytes`. The decoders grow it as items
 * parse, not by the count a header claims, so junk cannot make it large. */
static int items_reserve(wire_reader *r, size_t bytes)
{
    if (bytes <= r->wr_items_cap)
        return 0;
    size_t ncap = r->wr_items_cap ? r->wr_items_cap : 1024;
    while (ncap < bytes)
        ncap *= 2;
    void *p = realloc(r->wr_items, ncap);
    if (!p)
        return ERR_NOMEM;
    r->wr_items = p;
    r->wr_items_cap = ncap;
    return 0;
}

/* Copies a message's text into the scratch, NUL-terminated, so the caller
 * can print it. Every kind has at most one text, so the copy replaces the
 * last one. Returns NULL when out of memory. */
static const char *keep_text(wire_reader *r, const char *s, uint32_t n)
{
    jb_reset(&r->wr_text);
    if (!jb_reserve(&r->wr_text, n))
        return NULL;
    jb_raw(&r->wr_text, s, n);
    return jb_cstr(&r->wr_text);
}

/* The fields every job-bound message starts with. */
static int parse_job(mp_cur *c, wire_msg *out, const char *where, err_info *e)
{
    int why;
    if ((why = mp_uint(c, UINT64_MAX, &out->wm_job_id)))
        return mp_fail(e, c, why, where, "job_id", "u64");
    if ((why = mp_uint(c, UINT64_MAX, &out->wm_generation)))
        return mp_fail(e, c, why, where, "generation", "u64");
    return 0;
}

static int parse_objects(wire_reader *r, mp_cur *c, wire_msg *out, err_info *e)
{
    static const char where[] = "OBJECTS";
    wire_objects *m = &out->wm_objects;
    uint64_t u;
    uint32_t n;
    int why, rc;
    if ((rc = parse_job(c, out, where, e)))
        return rc;
    if ((why = mp_uint(c, UINT16_MAX, &u)))
        return mp_fail(e, c, why, where, "object_type", "u16");
    m->wob_object_type = (uint16_t)u;
    if ((why = mp_array(c, 4, &n)))
        return mp_fail(e, c, why, where, "items", "an array of 4-tuples");
    m->wob_nitems = n / 4;
    wire_object *items = r->wr_items;
    for (size_t i = 0; i < m->wob_nitems; i++) {
        if ((i + 1) * sizeof(*items) > r->wr_items_cap) {
            if (items_reserve(r, (i + 1) * sizeof(*items)))
                return err_set(e, ERR_NOMEM, "wire: out of memory for %zu objects", i + 1);
            items = r->wr_items;
        }
        wire_object *o = &items[i];
        int64_t s;
        if ((why = mp_uint(c, UINT64_MAX, &o->wo_id)))
            return item_fail(e, c, why, "OBJECTS items", i, "id", "u64");
        if ((why = mp_int(c, INT64_MIN, INT64_MAX, &s)))
            return item_fail(e, c, why, "OBJECTS items", i, "lastmodified_ms", "i64");
        if ((why = mp_bool(c, &o->wo_archived)))
            return item_fail(e, c, why, "OBJECTS items", i, "archived", "bool");
        if ((why = mp_uint(c, UINT8_MAX, &u)))
            return item_fail(e, c, why, "OBJECTS items", i, "heavy", "u8");
        o->wo_heavy = (uint8_t)u;
        o->wo_lastmodified_ms = s;
    }
    m->wob_items = items;
    m->wob_next_after = NULL;
    m->wob_next_after_len = 0;
    if ((why = mp_nil(c)) == MP_TYPE) {
        const char *s;
        if ((why = mp_str(c, UINT32_MAX, &s, &n)))
            return mp_fail(e, c, why, where, "next_after", "str or nil");
        if (!(m->wob_next_after = keep_text(r, s, n)))
            return err_set(e, ERR_NOMEM, "wire: out of memory for a %" PRIu32 "-byte cursor", n);
        m->wob_next_after_len = n;
    } else if (why) {
        return mp_fail(e, c, why, where, "next_after", "str or nil");
    }
    return 0;
}

static int parse_search(wire_reader *r, mp_cur *c, wire_msg *out, err_info *e)
{
    static const char where[] = "SEARCH_RESULT";
    wire_search_result *m = &out->wm_search;
    uint64_t u;
    uint32_t n;
    int why, rc;
    if ((rc = parse_job(c, out, where, e)))
        return rc;
    if ((why = mp_uint(c, UINT32_MAX, &u)))
        return mp_fail(e, c, why, where, "total", "u32");
    m->wsr_total = (uint32_t)u;
    if ((why = mp_array(c, 2, &n)))
        return mp_fail(e, c, why, where, "hits", "an array of 2-tuples");
    m->wsr_nhits = n / 2;
    wire_search_hit *hits = r->wr_items;
    for (size_t i = 0; i < m->wsr_nhits; i++) {
        int64_t s;
        if ((i + 1) * sizeof(*hits) > r->wr_items_cap) {
            if (items_reserve(r, (i + 1) * sizeof(*hits)))
                return err_set(e, ERR_NOMEM, "wire: out of memory for %zu hits", i + 1);
            hits = r->wr_items;
        }
        if ((why = mp_uint(c, UINT64_MAX, &hits[i].wsh_id)))
            return item_fail(e, c, why, "SEARCH_RESULT hits", i, "id", "u64");
        if ((why = mp_int(c, INT64_MIN, INT64_MAX, &s)))
            return item_fail(e, c, why, "SEARCH_RESULT hits", i, "lastmodified_ms", "i64");
        hits[i].wsh_lastmodified_ms = s;
    }
    m->wsr_hits = hits;
    m->wsr_has_next = false;
    m->wsr_next_offset = 0;
    if ((why = mp_nil(c)) == MP_TYPE) {
        if ((why = mp_uint(c, UINT32_MAX, &u)))
            return mp_fail(e, c, why, where, "next_offset", "u32 or nil");
        m->wsr_has_next = true;
        m->wsr_next_offset = (uint32_t)u;
    } else if (why) {
        return mp_fail(e, c, why, where, "next_offset", "u32 or nil");
    }
    return 0;
}

static int parse_job_done(wire_reader *r, mp_cur *c, wire_msg *out, err_info *e)
{
    static const char where[] = "JOB_DONE";
    wire_job_done *m = &out->wm_done;
    int64_t s;
    const char *text;
    uint32_t n;
    int why, rc;
    if ((rc = parse_job(c, out, where, e)))
        return rc;
    if ((why = mp_int(c, INT32_MIN, 0, &s)))
        return mp_fail(e, c, why, where, "status", "0 or a negative i32");
    m->wjd_status = (int32_t)s;
    if ((why = mp_str(c, UINT32_MAX, &text, &n)))
        return mp_fail(e, c, why, where, "message", "str");
    if (!(m->wjd_message = keep_text(r, text, n)))
        return err_set(e, ERR_NOMEM, "wire: out of memory for a %" PRIu32 "-byte message", n);
    m->wjd_message_len = n;
    uint64_t *counters[] = {&m->wjd_counters.wc_calls, &m->wjd_counters.wc_retries,
                            &m->wjd_counters.wc_throttled, &m->wjd_counters.wc_bytes};
    static const char *const names[] = {"calls", "retries", "throttled", "bytes"};
    for (size_t i = 0; i < 4; i++)
        if ((why = mp_uint(c, UINT64_MAX, counters[i])))
            return mp_fail(e, c, why, where, names[i], "u64");
    return 0;
}

/* Decodes one frame's envelope and fields into *out. */
static int parse_frame(wire_reader *r, const unsigned char *p, size_t len, wire_msg *out,
                       err_info *e)
{
    mp_cur c = {p, p + len};
    uint32_t nfields;
    uint64_t version, kind, u;
    int64_t s;
    int why, rc = 0;
    memset(out, 0, sizeof(*out));
    if ((why = mp_array(&c, 1, &nfields)))
        return mp_fail(e, &c, why, "message", "envelope", "an array");
    if (nfields < 2)
        return err_set(e, ERR_CORRUPT, "wire: an envelope of %" PRIu32 " fields", nfields);
    if ((why = mp_uint(&c, UINT64_MAX, &version)))
        return mp_fail(e, &c, why, "message", "version", "an unsigned integer");
    if (version != WIRE_VERSION)
        return err_set(e, ERR_CORRUPT, "wire: message version %" PRIu64 ", expected %d", version,
                       WIRE_VERSION);
    if ((why = mp_uint(&c, UINT64_MAX, &kind)))
        return mp_fail(e, &c, why, "message", "kind", "an unsigned integer");
    if (kind == 0 || kind >= WIRE_KIND_END)
        return err_set(e, ERR_CORRUPT, "wire: unknown message kind %" PRIu64, kind);
    const char *where = kind_names[kind];
    if (nfields != kind_fields[kind])
        return err_set(e, ERR_CORRUPT, "wire: %s has %" PRIu32 " fields, expected %u", where,
                       nfields, (unsigned)kind_fields[kind]);
    out->wm_kind = (wire_kind)kind;
    switch (out->wm_kind) {
    case WIRE_HELLO:
        if ((why = mp_uint(&c, UINT32_MAX, &u)))
            return mp_fail(e, &c, why, where, "slot", "u32");
        out->wm_hello.wh_slot = (uint32_t)u;
        if ((why = mp_int(&c, 1, INT32_MAX, &s)))
            return mp_fail(e, &c, why, where, "pid", "a positive i32");
        out->wm_hello.wh_pid = (int32_t)s;
        break;
    case WIRE_ASSOC_SETS: {
        uint32_t n;
        if ((rc = parse_job(&c, out, where, e)))
            return rc;
        if ((why = mp_uint(&c, UINT16_MAX, &u)))
            return mp_fail(e, &c, why, where, "table", "u16");
        out->wm_assoc.was_table = (uint16_t)u;
        if ((why = mp_array(&c, 2, &n)))
            return mp_fail(e, &c, why, where, "parents", "an array of 2-tuples");
        out->wm_assoc.was_nparents = n / 2;
        out->wm_assoc.was_body = c.p;
        out->wm_assoc.was_end = c.end;
        return 0; /* the parents are wire_assoc_sets_decode()'s */
    }
    case WIRE_OBJECTS:
        rc = parse_objects(r, &c, out, e);
        break;
    case WIRE_SEARCH_RESULT:
        rc = parse_search(r, &c, out, e);
        break;
    case WIRE_JOB_DONE:
        rc = parse_job_done(r, &c, out, e);
        break;
    case WIRE_LOG: {
        const char *text;
        uint32_t n;
        if ((why = mp_uint(&c, 7, &u)))
            return mp_fail(e, &c, why, where, "level", "a level (0-7)");
        out->wm_log.wl_level = (uint8_t)u;
        if ((why = mp_str(&c, UINT32_MAX, &text, &n)))
            return mp_fail(e, &c, why, where, "text", "str");
        if (!(out->wm_log.wl_text = keep_text(r, text, n)))
            return err_set(e, ERR_NOMEM, "wire: out of memory for a %" PRIu32 "-byte text", n);
        out->wm_log.wl_text_len = n;
        break;
    }
    case WIRE_KIND_END:
        break;
    }
    if (rc)
        return rc;
    if (c.p != c.end)
        return err_set(e, ERR_PARSE, "wire: %s has %zu bytes after its fields", where,
                       (size_t)(c.end - c.p));
    return 0;
}

int wire_next(wire_reader *r, wire_msg *out, err_info *e)
{
    if (r->wr_error)
        return sticky(r, e);
    size_t held = r->wr_len - r->wr_pos;
    size_t frame_len;
    if (check_prefix(r, e, &frame_len))
        return r->wr_error;
    if (held < 4 || held - 4 < frame_len) {
        if (r->wr_eof && held > 0)
            return reader_fail(r, e, ERR_PARSE,
                               "wire: the stream ended inside a message (%zu bytes of %s)", held,
                               held < 4 ? "a length prefix" : "a frame");
        return 0;
    }
    if (frame_len == 0)
        return reader_fail(r, e, ERR_PARSE, "wire: an empty frame");
    const unsigned char *frame = r->wr_buf + r->wr_pos + 4;
    r->wr_pos += 4 + frame_len;
    err_info local;
    int rc = parse_frame(r, frame, frame_len, out, &local);
    if (rc)
        return reader_fail(r, e, rc, "%s", local.ei_msg);
    return 1;
}

/* ======================================================================== */
/* ASSOC_SETS body                                                          */
/* ======================================================================== */

/* An error in types[k] of links[li] of parents[pi]. */
static int type_fail(err_info *e, const mp_cur *c, int why, uint32_t pi, uint32_t li, uint32_t k,
                     const char *what, const char *expected)
{
    char ctx[96];
    snprintf(ctx, sizeof(ctx),
             "ASSOC_SETS parents[%" PRIu32 "] links[%" PRIu32 "] types[%" PRIu32 "]", pi, li, k);
    return mp_fail(e, c, why, ctx, what, expected);
}

/* Decodes one link's types into b. */
static int decode_types(mp_cur *c, assoc_buf *b, uint32_t ntypes, uint32_t pi, uint32_t li,
                        err_info *e)
{
    for (uint32_t k = 0; k < ntypes; k++) {
        int64_t type_id;
        uint64_t category;
        const char *label = NULL;
        uint32_t label_len = 0;
        int why;
        if ((why = mp_int(c, INT32_MIN, INT32_MAX, &type_id)))
            return type_fail(e, c, why, pi, li, k, "type_id", "i32");
        if ((why = mp_uint(c, ASSOC_CATEGORY_COUNT - 1, &category)))
            return type_fail(e, c, why, pi, li, k, "category", "a category (0-3)");
        if ((why = mp_nil(c)) == MP_TYPE)
            why = mp_str(c, ASSOC_LABEL_MAX, &label, &label_len);
        if (why)
            return type_fail(e, c, why, pi, li, k, "label", "a str of at most 1024 bytes, or nil");
        int rc =
            assoc_buf_add_type(b, (int32_t)type_id, (assoc_category)category, label, label_len);
        if (rc)
            return err_set(e, rc, "wire: ASSOC_SETS parents[%" PRIu32 "] links[%" PRIu32 "]: %s",
                           pi, li, err_strerror(rc));
    }
    return 0;
}

/* An error in links[li] of parents[pi]. */
static int link_fail(err_info *e, const mp_cur *c, int why, uint32_t pi, uint32_t li,
                     const char *what, const char *expected)
{
    char list[64];
    snprintf(list, sizeof(list), "ASSOC_SETS parents[%" PRIu32 "] links", pi);
    return item_fail(e, c, why, list, li, what, expected);
}

static int decode_parent(mp_cur *c, assoc_buf *b, uint32_t pi, err_info *e)
{
    char ctx[64];
    uint64_t parent_id, child_id;
    uint32_t nlinks, ntypes;
    int why, rc;
    snprintf(ctx, sizeof(ctx), "ASSOC_SETS parents[%" PRIu32 "]", pi);
    if ((why = mp_uint(c, UINT64_MAX, &parent_id)))
        return mp_fail(e, c, why, ctx, "parent_id", "u64");
    if ((why = mp_array(c, 2, &nlinks)))
        return mp_fail(e, c, why, ctx, "links", "an array of 2-tuples");
    if ((rc = assoc_buf_begin_parent(b, parent_id)))
        return err_set(e, rc, "wire: %s: %s", ctx, err_strerror(rc));
    for (uint32_t li = 0; li < nlinks / 2; li++) {
        if ((why = mp_uint(c, UINT64_MAX, &child_id)))
            return link_fail(e, c, why, pi, li, "child_id", "u64");
        if ((why = mp_array(c, 3, &ntypes)))
            return link_fail(e, c, why, pi, li, "types", "an array of 3-tuples");
        if ((rc = assoc_buf_add_link(b, child_id)))
            return err_set(e, rc, "wire: %s: %s", ctx, err_strerror(rc));
        if ((rc = decode_types(c, b, ntypes / 3, pi, li, e)))
            return rc;
    }
    if ((rc = assoc_buf_finish_parent(b)))
        return err_set(e, rc, "wire: %s: %s", ctx, err_strerror(rc));
    return 0;
}

int wire_assoc_sets_decode(const wire_msg *m, assoc_buf *b, err_info *e)
{
    if (m->wm_kind != WIRE_ASSOC_SETS)
        return err_set(e, ERR_INVALID, "wire: decoding %s as ASSOC_SETS",
                       wire_kind_name((int)m->wm_kind));
    /* What to restore on error. */
    size_t nparents = b->ab_nparents, nlinks = b->ab_nlinks, ntypes = b->ab_ntypes;
    size_t nstrings = b->ab_strings.jb_len;
    bool strings_failed = b->ab_strings.jb_failed;
    mp_cur c = {m->wm_assoc.was_body, m->wm_assoc.was_end};
    int rc = 0;
    for (uint32_t pi = 0; pi < m->wm_assoc.was_nparents && rc == 0; pi++)
        rc = decode_parent(&c, b, pi, e);
    if (rc == 0 && c.p != c.end)
        rc = err_set(e, ERR_PARSE, "wire: ASSOC_SETS has %zu bytes after its parents",
                     (size_t)(c.end - c.p));
    if (rc) {
        b->ab_nparents = nparents;
        b->ab_nlinks = nlinks;
        b->ab_ntypes = ntypes;
        b->ab_strings.jb_len = nstrings;
        b->ab_strings.jb_failed = strings_failed;
        if (b->ab_strings.jb_data)
            b->ab_strings.jb_data[nstrings] = '\0';
    }
    return rc;
}
