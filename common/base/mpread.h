/*
 * mpread — the one msgpack reader for what hubsync decodes by hand: the
 * wire messages from worker to coordinator (wire.c) and the store's
 * association and object values (store.c), and the check that a stored
 * record is one bounded value before msgpack-c unpacks it.
 *
 * Why by hand: these are the hot paths (millions of values a run) and the
 * untrusted ones (a damaged database, a confused worker). Every read checks
 * that what it reads lies inside the buffer, and that a container's
 * declared count could fit in the bytes left (each element takes at least
 * one byte), so damaged input is an error, never a read past the end or an
 * allocation of a size the input chose. Reads never allocate: a string
 * points into the buffer. Writing is msgpack-c's (wire.c) or store.c's own
 * packers.
 *
 * Every read returns MP_OK or why it failed. On MP_RANGE, and on MP_SHORT
 * from a string or array whose body runs past the end, the cursor stays on
 * the offending value, so a caller's message can show what it found
 * (mp_found); on MP_TYPE it has not moved.
 */
#ifndef HUBSYNC_MPREAD_H
#define HUBSYNC_MPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A cursor over one buffer: p is the next byte, end one past the last. */
typedef struct mp_cur {
    const unsigned char *p;
    const unsigned char *end;
} mp_cur;

/* Why a read failed. */
enum {
    MP_OK = 0,
    MP_TYPE,  /* the value is of another type (or the byte is no value) */
    MP_SHORT, /* the buffer ends inside the value */
    MP_RANGE  /* the value is outside the bounds the caller gave */
};

/* A cursor over `len` bytes at `data`. */
static inline mp_cur mp_cur_of(const void *data, size_t len)
{
    const unsigned char *p = data;
    return (mp_cur){p, p + len};
}

/* Whether every byte has been read. */
static inline bool mp_at_end(const mp_cur *c)
{
    return c->p == c->end;
}

static inline uint64_t mp_load_be(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Any msgpack integer: *u when it is non-negative, *s when negative; *neg
 * tells which. */
static inline int mp_integer(mp_cur *c, uint64_t *u, int64_t *s, bool *neg)
{
    if (c->p >= c->end)
        return MP_SHORT;
    unsigned b = c->p[0];
    if (b <= 0x7f) {
        *u = b;
        *neg = false;
        c->p++;
        return MP_OK;
    }
    if (b >= 0xe0) {
        *s = (int8_t)b;
        *neg = true;
        c->p++;
        return MP_OK;
    }
    /* 0xcc-0xcf: uint 8/16/32/64; 0xd0-0xd3: int 8/16/32/64. */
    if (b < 0xcc || b > 0xd3)
        return MP_TYPE;
    bool is_signed = b >= 0xd0;
    unsigned width = 1u << (b - (is_signed ? 0xd0 : 0xcc));
    if ((size_t)(c->end - c->p) < 1 + width)
        return MP_SHORT;
    uint64_t v = mp_load_be(c->p + 1, width);
    c->p += 1 + width;
    if (!is_signed) {
        *u = v;
        *neg = false;
        return MP_OK;
    }
    /* Sign-extend the width-byte value. */
    unsigned shift = 64 - 8 * width;
    int64_t sv = (int64_t)(v << shift) >> shift;
    if (sv >= 0) {
        *u = (uint64_t)sv;
        *neg = false;
    } else {
        *s = sv;
        *neg = true;
    }
    return MP_OK;
}

/* An unsigned integer ≤ max (in any encoding, a non-negative int too). */
static inline int mp_uint(mp_cur *c, uint64_t max, uint64_t *v)
{
    if (c->p < c->end && c->p[0] <= 0x7f && c->p[0] <= max) { /* the common case: a fixint */
        *v = *c->p++;
        return MP_OK;
    }
    const unsigned char *at = c->p;
    uint64_t u = 0;
    int64_t s = 0;
    bool neg = false;
    int rc = mp_integer(c, &u, &s, &neg);
    if (rc == MP_OK && (neg || u > max)) {
        c->p = at;
        return MP_RANGE;
    }
    *v = u;
    return rc;
}

/* A signed integer in [min, max]. */
static inline int mp_int(mp_cur *c, int64_t min, int64_t max, int64_t *v)
{
    const unsigned char *at = c->p;
    uint64_t u = 0;
    int64_t s = 0;
    bool neg = false;
    int rc = mp_integer(c, &u, &s, &neg);
    if (rc != MP_OK)
        return rc;
    if (!neg && u > (uint64_t)INT64_MAX) {
        c->p = at;
        return MP_RANGE;
    }
    int64_t x = neg ? s : (int64_t)u;
    if (x < min || x > max) {
        c->p = at;
        return MP_RANGE;
    }
    *v = x;
    return MP_OK;
}

static inline int mp_bool(mp_cur *c, bool *v)
{
    if (c->p >= c->end)
        return MP_SHORT;
    if (c->p[0] != 0xc2 && c->p[0] != 0xc3)
        return MP_TYPE;
    *v = *c->p++ == 0xc3;
    return MP_OK;
}

/* Consumes a nil. */
static inline int mp_nil(mp_cur *c)
{
    if (c->p >= c->end)
        return MP_SHORT;
    if (c->p[0] != 0xc0)
        return MP_TYPE;
    c->p++;
    return MP_OK;
}

/* A string or container header whose type byte is followed by an `extra`-
 * byte big-endian length. */
static inline int mp_len(mp_cur *c, unsigned extra, uint32_t *n)
{
    if ((size_t)(c->end - c->p) < 1 + extra)
        return MP_SHORT;
    *n = (uint32_t)mp_load_be(c->p + 1, extra);
    c->p += 1 + extra;
    return MP_OK;
}

/* The header of a string or array: a fix form (the type byte & fix_mask ==
 * fix_tag, the count in the bits outside the mask) or one of the forms with
 * an 8-, 16- or 32-bit count after the type byte (MP_NO_FORM for a form
 * the type lacks). The count must fit in the bytes left (each element
 * or byte takes at least one); else MP_SHORT with the cursor unmoved. */
enum { MP_NO_FORM = 0x100 }; /* no byte is it */
static inline int mp_header(mp_cur *c, unsigned fix_mask, unsigned fix_tag, unsigned tag8,
                            unsigned tag16, unsigned tag32, uint32_t *n)
{
    if (c->p >= c->end)
        return MP_SHORT;
    const unsigned char *at = c->p;
    unsigned b = c->p[0];
    int rc;
    if ((b & fix_mask) == fix_tag) {
        *n = b & ~fix_mask & 0xff;
        c->p++;
        rc = MP_OK;
    } else if (b == tag8 || b == tag16 || b == tag32) {
        rc = mp_len(c, b == tag8 ? 1 : b == tag16 ? 2 : 4, n);
    } else {
        return MP_TYPE;
    }
    if (rc == MP_OK && *n > (size_t)(c->end - c->p)) {
        c->p = at;
        return MP_SHORT;
    }
    return rc;
}

/* A string of at most max bytes, wholly inside the buffer: *s points at its
 * bytes (not NUL-terminated), *n is their count. */
static inline int mp_str(mp_cur *c, uint32_t max, const char **s, uint32_t *n)
{
    const unsigned char *at = c->p;
    int rc = mp_header(c, 0xe0, 0xa0, 0xd9, 0xda, 0xdb, n);
    if (rc != MP_OK)
        return rc;
    if (*n > max) {
        c->p = at;
        return MP_RANGE;
    }
    *s = (const char *)c->p;
    c->p += *n;
    return MP_OK;
}

/* A string as mp_str, or nil (*s NULL, *n 0). */
static inline int mp_str_or_nil(mp_cur *c, uint32_t max, const char **s, uint32_t *n)
{
    if (mp_nil(c) == MP_OK) {
        *s = NULL;
        *n = 0;
        return MP_OK;
    }
    return mp_str(c, max, s, n);
}

/* An array header whose count is a multiple of `tuple` (1: any) and could
 * fit in the bytes left. */
static inline int mp_array(mp_cur *c, uint32_t tuple, uint32_t *n)
{
    const unsigned char *at = c->p;
    int rc = mp_header(c, 0xf0, 0x90, MP_NO_FORM, 0xdc, 0xdd, n);
    if (rc != MP_OK)
        return rc;
    if (*n % tuple != 0) {
        c->p = at;
        return MP_RANGE;
    }
    return MP_OK;
}

/* Skips one complete value of any type, nested at most `max_depth` deep:
 * MP_OK, MP_SHORT when it runs past the end (or a container declares more
 * elements than bytes remain), MP_TYPE for the byte 0xc1, an ext type or a
 * value nested deeper. Run before msgpack-c unpacks a stored record: its
 * unpacker allocates a container's declared size up front, so five bytes
 * of garbage could ask it for 100 GB. */
int mp_skip(mp_cur *c, int max_depth);

/* What the byte at the cursor starts ("an integer", "a str", "nil", "the
 * end of the frame", …), for error messages. */
const char *mp_found(const mp_cur *c);

#endif
