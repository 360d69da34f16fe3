/* mpread — the bounded msgpack reader (see mpread.h). */
#include "mpread.h"

/* The body of a value whose header is at the cursor: `len` bytes of
 * payload (strings, bins, floats and multi-byte integers), or `items`
 * values to skip in turn (arrays; maps count keys and values). */
static int skip_header(mp_cur *c, uint64_t *len, uint64_t *items)
{
    unsigned b = c->p[0];
    uint32_t n = 0;
    int rc = MP_OK;
    *len = *items = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        c->p++; /* fixints, nil, bools: the byte is the value */
        return MP_OK;
    }
    if (b >= 0xcc && b <= 0xd3) { /* integers: 1, 2, 4 or 8 bytes follow */
        c->p++;
        *len = 1u << ((b - (b >= 0xd0 ? 0xd0 : 0xcc)));
        return MP_OK;
    }
    if ((b & 0xe0) == 0xa0) {
        c->p++;
        *len = b & 0x1f;
        return MP_OK;
    }
    if ((b & 0xf0) == 0x90 || (b & 0xf0) == 0x80) {
        c->p++;
        *items = (uint64_t)(b & 0x0f) * ((b & 0xf0) == 0x80 ? 2 : 1);
        return MP_OK;
    }
    switch (b) {
    case 0xca: /* float 32 */
    case 0xcb: /* float 64 */
        c->p++;
        *len = b == 0xca ? 4 : 8;
        return MP_OK;
    case 0xd9: /* str 8 */
    case 0xc4: /* bin 8 */
        rc = mp_len(c, 1, &n);
        *len = n;
        return rc;
    case 0xda:
    case 0xc5:
        rc = mp_len(c, 2, &n);
        *len = n;
        return rc;
    case 0xdb:
    case 0xc6:
        rc = mp_len(c, 4, &n);
        *len = n;
        return rc;
    case 0xdc:
    case 0xdd:
        rc = mp_len(c, b == 0xdc ? 2 : 4, &n);
        *items = n;
        return rc;
    case 0xde:
    case 0xdf:
        rc = mp_len(c, b == 0xde ? 2 : 4, &n);
        *items = (uint64_t)n * 2;
        return rc;
    default: /* 0xc1, and the ext types: in none of our records */
        return MP_TYPE;
    }
}

int mp_skip(mp_cur *c, int max_depth)
{
    if (c->p >= c->end)
        return MP_SHORT;
    if (max_depth < 0)
        return MP_TYPE;
    uint64_t len, items;
    int rc = skip_header(c, &len, &items);
    if (rc != MP_OK)
        return rc;
    /* A payload inside the buffer; each element at least one byte. */
    if (len > (uint64_t)(c->end - c->p) || items > (uint64_t)(c->end - c->p))
        return MP_SHORT;
    c->p += len;
    for (uint64_t i = 0; i < items; i++)
        if ((rc = mp_skip(c, max_depth - 1)) != MP_OK)
            return rc;
    return MP_OK;
}

const char *mp_found(const mp_cur *c)
{
    if (c->p >= c->end)
        return "the end of the frame";
    unsigned b = c->p[0];
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3))
        return "an integer";
    if ((b & 0xf0) == 0x80 || b == 0xde || b == 0xdf)
        return "a map";
    if ((b & 0xf0) == 0x90 || b == 0xdc || b == 0xdd)
        return "an array";
    if ((b & 0xe0) == 0xa0 || (b >= 0xd9 && b <= 0xdb))
        return "a str";
    switch (b) {
    case 0xc0:
        return "nil";
    case 0xc1:
        return "the invalid byte 0xc1";
    case 0xc2:
    case 0xc3:
        return "a bool";
    case 0xc4:
    case 0xc5:
    case 0xc6:
        return "a bin";
    case 0xca:
    case 0xcb:
        return "a float";
    default:
        return "an ext";
    }
}
