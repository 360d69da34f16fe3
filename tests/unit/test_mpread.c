/*
 * test_mpread — the bounded msgpack reader the wire format and the store
 * share: every integer width and sign against the caller's bounds, strings
 * and nil, array counts that cannot fit, values cut short (the cursor left
 * on the value for the message), and mp_skip's limits (depth, 0xc1, ext,
 * counts beyond the bytes left) on input made by msgpack-c's packer.
 */
#include <msgpack.h>
#include <stdint.h>
#include <string.h>

#include "../../common/base/mpread.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

#define CUR(bytes) mp_cur_of((bytes), sizeof(bytes))

/* Every width msgpack-c picks, and the sign-extended ones it never does. */
static void test_integers(void)
{
    static const unsigned char fix[] = {0x7f}, neg_fix[] = {0xff}, u16[] = {0xcd, 0x12, 0x34},
                               u64[] = {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                               i8[] = {0xd0, 0x80}, i32_pos[] = {0xd2, 0x00, 0x00, 0x01, 0x00},
                               cut[] = {0xce, 0x00, 0x01};
    uint64_t u = 0;
    int64_t s = 0;
    mp_cur c = CUR(fix);
    CHECK_EQ(mp_uint(&c, 127, &u), MP_OK);
    CHECK_EQ(u, 127);
    CHECK(mp_at_end(&c));
    c = CUR(fix);
    CHECK_EQ(mp_uint(&c, 126, &u), MP_RANGE);
    CHECK(c.p == fix); /* left on the value */
    c = CUR(neg_fix);
    CHECK_EQ(mp_int(&c, -1, 0, &s), MP_OK);
    CHECK_EQ(s, -1);
    c = CUR(neg_fix);
    CHECK_EQ(mp_uint(&c, UINT64_MAX, &u), MP_RANGE); /* negative is no uint */
    c = CUR(u16);
    CHECK_EQ(mp_uint(&c, UINT64_MAX, &u), MP_OK);
    CHECK_EQ(u, 0x1234);
    c = CUR(u64);
    CHECK_EQ(mp_uint(&c, UINT64_MAX, &u), MP_OK);
    CHECK_EQ(u, UINT64_MAX);
    c = CUR(u64);
    CHECK_EQ(mp_int(&c, INT64_MIN, INT64_MAX, &s), MP_RANGE); /* above INT64_MAX */
    c = CUR(i8);
    CHECK_EQ(mp_int(&c, INT64_MIN, INT64_MAX, &s), MP_OK);
    CHECK_EQ(s, -128);
    c = CUR(i32_pos); /* a signed encoding of a positive value is a uint too */
    CHECK_EQ(mp_uint(&c, UINT64_MAX, &u), MP_OK);
    CHECK_EQ(u, 256);
    c = CUR(cut);
    CHECK_EQ(mp_uint(&c, UINT64_MAX, &u), MP_SHORT);
    static const unsigned char str[] = {0xa1, 'x'};
    c = CUR(str);
    CHECK_EQ(mp_int(&c, INT64_MIN, INT64_MAX, &s), MP_TYPE);
    CHECK(c.p == str);
    CHECK_STR(mp_found(&c), "a str");
}

static void test_strings_and_arrays(void)
{
    static const unsigned char nil[] = {0xc0}, str8[] = {0xd9, 0x03, 'a', 'b', 'c'},
                               long_str[] = {0xda, 0x00, 0x09, 'a', 'b'},
                               arr[] = {0x93, 0x01, 0x02, 0x03},
                               huge_arr[] = {0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01};
    const char *s = "x";
    uint32_t n = 7;
    mp_cur c = CUR(nil);
    CHECK_EQ(mp_str_or_nil(&c, UINT32_MAX, &s, &n), MP_OK);
    CHECK(s == NULL && n == 0);
    c = CUR(nil);
    CHECK_EQ(mp_str(&c, UINT32_MAX, &s, &n), MP_TYPE);
    c = CUR(str8);
    CHECK_EQ(mp_str_or_nil(&c, UINT32_MAX, &s, &n), MP_OK);
    CHECK(n == 3 && memcmp(s, "abc", 3) == 0 && mp_at_end(&c));
    c = CUR(str8);
    CHECK_EQ(mp_str(&c, 2, &s, &n), MP_RANGE);
    CHECK(c.p == str8);
    c = CUR(long_str); /* says 9 bytes, holds 2 */
    CHECK_EQ(mp_str(&c, UINT32_MAX, &s, &n), MP_SHORT);
    CHECK(c.p == long_str);
    c = CUR(arr);
    CHECK_EQ(mp_array(&c, 1, &n), MP_OK);
    CHECK_EQ(n, 3);
    c = CUR(arr);
    CHECK_EQ(mp_array(&c, 2, &n), MP_RANGE); /* not a whole number of pairs */
    c = CUR(huge_arr); /* 2^31 - 1 elements in one byte: damage, not an allocation */
    CHECK_EQ(mp_array(&c, 1, &n), MP_SHORT);
    static const unsigned char c1[] = {0xc1, 0x00}; /* the never-used byte is no array */
    c = CUR(c1);
    CHECK_EQ(mp_array(&c, 1, &n), MP_TYPE);
    bool b = false;
    static const unsigned char t[] = {0xc3};
    c = CUR(t);
    CHECK_EQ(mp_bool(&c, &b), MP_OK);
    CHECK(b);
}

/* A map packed by msgpack-c, nested `depth` deep: {"k": {"k": … 1}}. */
static size_t pack_nested(msgpack_sbuffer *sb, int depth)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    for (int i = 0; i < depth; i++) {
        msgpack_pack_map(&pk, 1);
        msgpack_pack_str_with_body(&pk, "k", 1);
    }
    msgpack_pack_double(&pk, 1.5);
    return sb->size;
}

static void test_skip(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    size_t len = pack_nested(&sb, 16);
    mp_cur c = mp_cur_of(sb.data, len);
    CHECK_EQ(mp_skip(&c, 16), MP_OK);
    CHECK(mp_at_end(&c));
    c = mp_cur_of(sb.data, len);
    CHECK_EQ(mp_skip(&c, 15), MP_TYPE);      /* one level too deep */
    for (size_t cut = 0; cut < len; cut++) { /* every prefix is short */
        c = mp_cur_of(sb.data, cut);
        CHECK_EQ(mp_skip(&c, 16), MP_SHORT);
    }
    msgpack_sbuffer_destroy(&sb);
    static const unsigned char c1[] = {0x91, 0xc1}, ext[] = {0xd4, 0x01, 0x00},
                               big_map[] = {0xdf, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00},
                               bin[] = {0xc4, 0x02, 0xff, 0xfe, 0xc2};
    c = CUR(c1);
    CHECK_EQ(mp_skip(&c, 4), MP_TYPE);
    c = CUR(ext);
    CHECK_EQ(mp_skip(&c, 4), MP_TYPE);
    c = CUR(big_map);
    CHECK_EQ(mp_skip(&c, 4), MP_SHORT);
    c = CUR(bin); /* a bin, then a bool: two values */
    CHECK_EQ(mp_skip(&c, 0), MP_OK);
    CHECK_EQ(mp_skip(&c, 0), MP_OK);
    CHECK(mp_at_end(&c));
    CHECK_STR(mp_found(&c), "the end of the frame");
}

int unit_suite_mpread(void)
{
    static const ut_test tests[] = {
        {"integers: every width, sign and bound", test_integers},
        {"strings, nil, arrays: bounds and counts", test_strings_and_arrays},
        {"skip: depth, cut short, 0xc1, ext, counts", test_skip},
    };
    return ut_add_suite("mpread", tests, sizeof(tests) / sizeof(tests[0]));
}
