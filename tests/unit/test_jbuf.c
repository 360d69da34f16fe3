/*
 * Tests of common/base/jbuf: buffer semantics (reset, free, steal, failure), the
 * JSON string escaper (checked against json-c as an independent parser), the
 * number formatters (against snprintf) and the ISO-8601 formatter and parser
 * (against gmtime_r/timegm).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "../../common/base/jbuf.h"
#include "../../sim/sim_rand.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

/* ASan aborts on an impossible allocation by default; the failure-path tests
 * need malloc to return NULL as it does without ASan. Unused in release. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

/* jb_str(s) as a C string, in a static buffer. */
static const char *escaped(const char *s, size_t n)
{
    static char out[4096];
    jbuf b;
    jb_init(&b);
    jb_strn(&b, s, n);
    snprintf(out, sizeof(out), "%s", jb_cstr(&b));
    jb_free(&b);
    return out;
}

static void test_init_empty(void)
{
    jbuf b;
    jb_init(&b);
    CHECK(jb_ok(&b));
    CHECK_EQ(b.jb_len, 0);
    CHECK_STR(jb_cstr(&b), "");
    jb_free(&b);
    CHECK(b.jb_data == NULL);
}

static void test_escape_quotes_backslash(void)
{
    CHECK_STR(escaped("", 0), "\"\"");
    CHECK_STR(escaped("abc", 3), "\"abc\"");
    CHECK_STR(escaped("a\"b", 3), "\"a\\\"b\"");
    CHECK_STR(escaped("a\\b", 3), "\"a\\\\b\"");
    CHECK_STR(escaped("\\\"", 2), "\"\\\\\\\"\"");
    /* '/' needs no escape; DEL and UTF-8 pass through. */
    CHECK_STR(escaped("a/b\x7f", 4), "\"a/b\x7f\"");
    CHECK_STR(escaped("caf\xc3\xa9", 5), "\"caf\xc3\xa9\"");
}

static void test_escape_control_chars(void)
{
    CHECK_STR(escaped("\n\t\r", 3), "\"\\n\\t\\r\"");
    CHECK_STR(escaped("\x01", 1), "\"\\u0001\"");
    CHECK_STR(escaped("\x1f", 1), "\"\\u001f\"");
    CHECK_STR(escaped("\b\f", 2), "\"\\u0008\\u000c\"");
    CHECK_STR(escaped("a\0b", 3), "\"a\\u0000b\"");
    /* jb_str stops at the NUL; jb_strn does not. */
    jbuf b;
    jb_init(&b);
    jb_str(&b, "x\ty");
    CHECK_STR(jb_cstr(&b), "\"x\\ty\"");
    jb_free(&b);
}

/* Every byte 0x01–0xff inside a string must come back unchanged through a
 * real JSON parser. */
static void test_escape_roundtrip_json_c(void)
{
    char all[255];
    for (int i = 0; i < 255; i++)
        all[i] = (char)(i + 1);
    /* Keep the high bytes valid UTF-8 for json-c: use ASCII only plus one
     * two-byte sequence. */
    char input[130];
    size_t n = 0;
    for (int i = 0; i < 127; i++)
        input[n++] = all[i];
    input[n++] = '\xc3';
    input[n++] = '\xa9';
    jbuf b;
    jb_init(&b);
    jb_lit(&b, "{\"k\":");
    jb_strn(&b, input, n);
    jb_char(&b, '}');
    json_object *o = json_tokener_parse(jb_cstr(&b));
    json_object *v = NULL;
    REQUIRE(o != NULL);
    REQUIRE(json_object_object_get_ex(o, "k", &v));
    REQUIRE_EQ(json_object_get_string_len(v), (int64_t)n);
    CHECK(memcmp(json_object_get_string(v), input, n) == 0);
done:
    json_object_put(o);
    jb_free(&b);
}

static void test_u64_format(void)
{
    static const struct {
        uint64_t v;
        const char *s;
    } cases[] = {
        {0, "0"},
        {9, "9"},
        {10, "10"},
        {99, "99"},
        {100, "100"},
        {101, "101"},
        {999, "999"},
        {1000, "1000"},
        {4294967296ULL, "4294967296"},
        {UINT64_MAX, "18446744073709551615"},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        char out[32];
        memset(out, 'x', sizeof(out));
        size_t n = fmt_u64(out, cases[i].v);
        CHECK_STR(out, cases[i].s);
        CHECK_EQ(n, strlen(cases[i].s));
        jbuf b;
        jb_init(&b);
        jb_u64(&b, cases[i].v);
        CHECK_STR(jb_cstr(&b), cases[i].s);
        CHECK_EQ(b.jb_len, strlen(cases[i].s));
        jb_reset(&b);
        jb_u64_str(&b, cases[i].v);
        char quoted[40];
        snprintf(quoted, sizeof(quoted), "\"%s\"", cases[i].s);
        CHECK_STR(jb_cstr(&b), quoted);
        CHECK_EQ(b.jb_len, strlen(quoted));
        jb_free(&b);
    }
}

/* Every power of ten, its neighbours, and random values, against snprintf. */
static void test_u64_against_snprintf(void)
{
    sim_rng r;
    sim_rng_seed(&r, 42, 0);
    unsigned bad = 0;
    uint64_t p = 1;
    for (int e = 0; e < 20; e++, p *= 10) {
        uint64_t vals[3] = {p - 1, p, p + 1};
        for (int k = 0; k < 3; k++) {
            char got[32], want[32];
            fmt_u64(got, vals[k]);
            snprintf(want, sizeof(want), "%" PRIu64, vals[k]);
            bad += strcmp(got, want) != 0;
        }
    }
    for (int i = 0; i < 20000; i++) {
        uint64_t v = sim_rng_next(&r) >> sim_rng_below(&r, 64);
        char got[32], want[32];
        fmt_u64(got, v);
        snprintf(want, sizeof(want), "%" PRIu64, v);
        bad += strcmp(got, want) != 0;
    }
    CHECK_EQ(bad, 0);
}

static void test_i64_format(void)
{
    static const struct {
        int64_t v;
        const char *s;
    } cases[] = {
        {0, "0"},
        {-1, "-1"},
        {-9, "-9"},
        {-10, "-10"},
        {-100, "-100"},
        {42, "42"},
        {INT64_MAX, "9223372036854775807"},
        {INT64_MIN, "-9223372036854775808"},
        {INT64_MIN + 1, "-9223372036854775807"},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        jbuf b;
        jb_init(&b);
        jb_i64(&b, cases[i].v);
        CHECK_STR(jb_cstr(&b), cases[i].s);
        CHECK_EQ(b.jb_len, strlen(cases[i].s));
        jb_free(&b);
    }
}

/* Appends keep earlier content and grow the buffer as needed. */
static void test_append_and_grow(void)
{
    jbuf b;
    jb_init(&b);
    jb_lit(&b, "[");
    for (int i = 0; i < 5000; i++) {
        if (i)
            jb_char(&b, ',');
        jb_u64(&b, (uint64_t)i);
    }
    jb_lit(&b, "]");
    CHECK(jb_ok(&b));
    CHECK(b.jb_cap > b.jb_len);
    CHECK_EQ(strlen(jb_cstr(&b)), b.jb_len);
    json_object *o = json_tokener_parse(jb_cstr(&b));
    CHECK(o && json_object_array_length(o) == 5000);
    if (o)
        CHECK_EQ(json_object_get_int64(json_object_array_get_idx(o, 4999)), 4999);
    json_object_put(o);
    jb_free(&b);
}

static void test_printf(void)
{
    jbuf b;
    jb_init(&b);
    jb_lit(&b, "x=");
    jb_printf(&b, "%d/%s", 42, "y");
    CHECK_STR(jb_cstr(&b), "x=42/y");
    CHECK_EQ(b.jb_len, 6);
    /* Longer than the first allocation: must grow, not truncate. */
    char big[1000];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    jb_printf(&b, "<%s>", big);
    CHECK_EQ(b.jb_len, 6 + 2 + 999);
    CHECK_EQ(strlen(jb_cstr(&b)), b.jb_len);
    CHECK(jb_cstr(&b)[b.jb_len - 1] == '>');
    jb_printf(&b, "%s", "");
    CHECK_EQ(b.jb_len, 6 + 2 + 999);
    jb_free(&b);
}

static void test_reset_keeps_allocation(void)
{
    jbuf b;
    jb_init(&b);
    jb_lit(&b, "hello");
    char *data = b.jb_data;
    size_t cap = b.jb_cap;
    jb_reset(&b);
    CHECK_EQ(b.jb_len, 0);
    CHECK_STR(jb_cstr(&b), "");
    CHECK(b.jb_data == data);
    CHECK_EQ(b.jb_cap, cap);
    jb_lit(&b, "ab");
    CHECK_STR(jb_cstr(&b), "ab");
    jb_free(&b);
    CHECK(b.jb_data == NULL && b.jb_len == 0 && b.jb_cap == 0);
    /* Usable after jb_free. */
    jb_lit(&b, "again");
    CHECK_STR(jb_cstr(&b), "again");
    jb_free(&b);
}

/* jb_cstr promises "" for an empty buffer, also when memory was reserved
 * but nothing written yet. */
static void test_cstr_after_reserve_is_empty(void)
{
    /* Leave dirty memory where the next allocation is likely to come from. */
    char *dirt = malloc(256);
    if (dirt) {
        memset(dirt, 'X', 256);
        free(dirt);
    }
    jbuf b;
    jb_init(&b);
    CHECK(jb_reserve(&b, 100));
    CHECK_EQ(b.jb_len, 0);
    CHECK_STR(jb_cstr(&b), "");
    jb_free(&b);
}

static void test_steal(void)
{
    jbuf b;
    jb_init(&b);
    jb_lit(&b, "abc");
    size_t len = 99;
    char *s = jb_steal(&b, &len);
    CHECK(s != NULL);
    CHECK_EQ(len, 3);
    if (s)
        CHECK_STR(s, "abc");
    free(s);
    /* The buffer is empty, owns nothing, and is usable. */
    CHECK(b.jb_data == NULL);
    CHECK_EQ(b.jb_len, 0);
    CHECK_EQ(b.jb_cap, 0);
    CHECK_STR(jb_cstr(&b), "");
    jb_lit(&b, "de");
    s = jb_steal(&b, &len);
    CHECK(s && len == 2 && strcmp(s, "de") == 0);
    free(s);
    /* An empty buffer still hands over an allocation (never NULL unless failed). */
    s = jb_steal(&b, &len);
    CHECK(s != NULL);
    CHECK_EQ(len, 0);
    free(s);
    jb_free(&b);
}

/* A failed allocation poisons the buffer until jb_reset. */
static void test_failure_is_sticky(void)
{
    jbuf b;
    jb_init(&b);
    jb_lit(&b, "keep");
    CHECK(!jb_reserve(&b, (size_t)1 << 62));
    CHECK(!jb_ok(&b));
    jb_lit(&b, "more");
    jb_u64(&b, 7);
    jb_str(&b, "x");
    CHECK_EQ(b.jb_len, 4);
    size_t len = 99;
    char *s = jb_steal(&b, &len);
    CHECK(s == NULL);
    CHECK_EQ(len, 0);
    free(s);
    CHECK(b.jb_data == NULL);
    jb_reset(&b);
    CHECK(jb_ok(&b));
    jb_lit(&b, "ok");
    CHECK_STR(jb_cstr(&b), "ok");
    jb_free(&b);
}

static int reserve_huge(void *arg)
{
    size_t extra = *(size_t *)arg;
    jbuf b;
    jb_init(&b);
    jb_lit(&b, "x");
    bool ok = jb_reserve(&b, extra);
    int rc = !ok && !jb_ok(&b) ? 0 : 1;
    jb_free(&b);
    return rc;
}

/* jb_reserve must fail cleanly (false, jb_failed) for sizes no allocation can
 * satisfy, not wrap around (SIZE_MAX: the size computation overflows) or
 * loop forever (2^63 + 1: the doubling overflows to 0). Sandboxed: a hang or
 * crash is a failure, not a stuck suite. */
static void test_reserve_overflow_fails_cleanly(void)
{
    size_t sizes[] = {SIZE_MAX, SIZE_MAX - 1, ((size_t)1 << 63) + 1};
    for (size_t i = 0; i < UT_COUNT(sizes); i++) {
        int rc = ut_run_sandboxed(reserve_huge, &sizes[i], 1500);
        CHECKF(rc == 0, "jb_reserve(%zu): child returned %d (0 = failed cleanly)", sizes[i], rc);
    }
}

/* The ISO-8601 text for ms, from gmtime_r: the oracle. */
static void iso_oracle(int64_t ms, char *out, size_t size)
{
    int64_t secs = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    int n = snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
    if (n < 0 || (size_t)n >= size)
        out[0] = '\0';
}

static void test_iso8601_known(void)
{
    static const struct {
        int64_t ms;
        const char *s;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {1, "1970-01-01T00:00:00.001Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {1705521304281LL, "2024-01-17T19:55:04.281Z"},
        {1709164800000LL, "2024-02-29T00:00:00.000Z"},
        {1709251199999LL, "2024-02-29T23:59:59.999Z"},
        {1709251200000LL, "2024-03-01T00:00:00.000Z"},
        {951782400000LL, "2000-02-29T00:00:00.000Z"},
        {4107456000000LL, "2100-02-28T00:00:00.000Z"},
        {4107542400000LL, "2100-03-01T00:00:00.000Z"},
        {253402300799999LL, "9999-12-31T23:59:59.999Z"},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        char out[32];
        memset(out, 'x', sizeof(out));
        CHECK_EQ(fmt_iso8601_ms(out, cases[i].ms), 24);
        CHECK_STR(out, cases[i].s);
        int64_t back = 12345;
        CHECK_EQ(parse_iso8601_ms(cases[i].s, strlen(cases[i].s), &back), 0);
        CHECK_EQ(back, cases[i].ms);
    }
    jbuf b;
    jb_init(&b);
    jb_lit(&b, "t=");
    jb_iso8601_ms(&b, 1705521304281LL);
    CHECK_STR(jb_cstr(&b), "t=\"2024-01-17T19:55:04.281Z\"");
    CHECK_EQ(b.jb_len, 28);
    jb_free(&b);
}

/* Random instants from 1900 to 2200 (and every day boundary of 2023–2025):
 * formatting agrees with gmtime_r and parsing inverts it. */
static void test_iso8601_roundtrip_range(void)
{
    sim_rng r;
    sim_rng_seed(&r, 7, 1);
    const int64_t lo = -2208988800000LL; /* 1900-01-01 */
    const int64_t hi = 7258118400000LL;  /* 2200-01-01 */
    unsigned bad_fmt = 0, bad_parse = 0;
    for (int i = 0; i < 30000; i++) {
        int64_t ms;
        if (i < 3 * 366)
            ms = 1672531200000LL + (int64_t)i * 86400000 - (i & 1); /* midnight and 1 ms before */
        else
            ms = lo + (int64_t)sim_rng_below(&r, (uint64_t)(hi - lo));
        char got[32], want[64];
        fmt_iso8601_ms(got, ms);
        iso_oracle(ms, want, sizeof(want));
        if (strcmp(got, want) != 0 && bad_fmt++ < 3)
            fprintf(stderr, "\n    fmt %" PRId64 ": %s, want %s", ms, got, want);
        int64_t back = 0;
        if ((parse_iso8601_ms(got, 24, &back) != 0 || back != ms) && bad_parse++ < 3)
            fprintf(stderr, "\n    parse %s: %" PRId64 ", want %" PRId64, got, back, ms);
    }
    CHECK_EQ(bad_fmt, 0);
    CHECK_EQ(bad_parse, 0);
}

static void test_iso8601_parse_variants(void)
{
    static const struct {
        const char *s;
        int64_t ms;
    } cases[] = {
        {"2024-01-17T19:55:04.281Z", 1705521304281LL},
        {"2024-01-17T19:55:04.281", 1705521304281LL},
        {"2024-01-17T19:55:04Z", 1705521304000LL},
        {"2024-01-17T19:55:04", 1705521304000LL},
        {"2024-01-17T19:55:04.2Z", 1705521304200LL},
        {"2024-01-17T19:55:04.28Z", 1705521304280LL},
        {"2024-01-17T19:55:04.281999Z", 1705521304281LL},
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59.999Z", -1},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        int64_t v = 0;
        int rc = parse_iso8601_ms(cases[i].s, strlen(cases[i].s), &v);
        CHECKF(rc == 0 && v == cases[i].ms, "parse(\"%s\") = %d, %" PRId64 "; want 0, %" PRId64,
               cases[i].s, rc, v, cases[i].ms);
    }
    /* Only `n` bytes are read. */
    const char *s = "2024-01-17T19:55:04.281Zjunk";
    int64_t v = 0;
    CHECK_EQ(parse_iso8601_ms(s, 24, &v), 0);
    CHECK_EQ(v, 1705521304281LL);
    CHECK_EQ(parse_iso8601_ms(s, strlen(s), &v), -1);
}

static void test_iso8601_parse_rejects_garbage(void)
{
    static const char *const bad[] = {
        "",
        "garbage",
        "2024",
        "2024-01-17",
        "2024-01-17T19:55",
        "2024-01-17 19:55:04Z",
        "2024/01/17T19:55:04Z",
        " 2024-01-17T19:55:04Z",
        "2024-01-17T19:55:04Z ",
        "2024-1-17T19:55:04Z",
        "24-01-17T19:55:04Z",
        "2024-13-01T00:00:00Z",
        "2024-00-10T00:00:00Z",
        "2024-01-00T00:00:00Z",
        "2024-01-32T00:00:00Z",
        "2024-01-17T24:00:00Z",
        "2024-01-17T23:60:00Z",
        "2024-01-17T19:55:04.Z",
        "2024-01-17T19:55:04.281ZZ",
        "2024-01-17T19:55:04.281+01:00",
        "2024-01-17T19:55:04,281Z",
        "2024-01-17T19:55:04.2a1Z",
        "1705521304281",
        "-2024-01-17T19:55:04Z",
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        int64_t v = 0;
        CHECKF(parse_iso8601_ms(bad[i], strlen(bad[i]), &v) == -1,
               "parse(\"%s\") accepted (%" PRId64 ")", bad[i], v);
    }
}

/* A date that does not exist is not an ISO-8601 time: it must not silently
 * become another day (2023-02-29 → 2023-03-01). */
static void test_iso8601_parse_rejects_impossible_dates(void)
{
    static const char *const bad[] = {
        "2023-02-29T00:00:00Z", /* not a leap year */
        "2100-02-29T00:00:00Z", /* century, not a leap year */
        "2024-02-30T00:00:00Z", "2024-04-31T00:00:00Z", "2024-06-31T12:00:00.000Z",
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        int64_t v = 0;
        int rc = parse_iso8601_ms(bad[i], strlen(bad[i]), &v);
        char shown[32] = "";
        if (rc == 0)
            fmt_iso8601_ms(shown, v);
        CHECKF(rc == -1, "parse(\"%s\") accepted as %s", bad[i], shown);
    }
    int64_t v = 0;
    CHECK_EQ(parse_iso8601_ms("2000-02-29T00:00:00Z", 20, &v), 0);
    CHECK_EQ(parse_iso8601_ms("2024-02-29T00:00:00Z", 20, &v), 0);
}

static void test_csv_fields(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"plain text", "plain text"},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"two\nlines", "\"two\nlines\""},
        {"cr\r", "\"cr\r\""},
        {"\"", "\"\"\"\""},
        {"semi;colon 'tick'", "semi;colon 'tick'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        jbuf b;
        jb_init(&b);
        jb_csv(&b, cases[i].in, strlen(cases[i].in));
        CHECK_STR(jb_cstr(&b), cases[i].out);
        jb_free(&b);
    }
    /* Only the n bytes given are read: a label is not NUL-terminated. */
    jbuf b;
    jb_init(&b);
    jb_csv(&b, "abc,def", 3);
    CHECK_STR(jb_cstr(&b), "abc");
    jb_free(&b);
}

int unit_suite_jbuf(void)
{
    static const ut_test tests[] = {
        {"init: empty buffer is \"\"", test_init_empty},
        {"escape: quotes and backslash", test_escape_quotes_backslash},
        {"escape: control chars as \\u00XX", test_escape_control_chars},
        {"escape: json-c reads back every byte", test_escape_roundtrip_json_c},
        {"u64: known values incl. UINT64_MAX", test_u64_format},
        {"u64: agrees with snprintf", test_u64_against_snprintf},
        {"i64: negatives and INT64_MIN", test_i64_format},
        {"append: grows and keeps content", test_append_and_grow},
        {"printf: appends and grows", test_printf},
        {"reset/free semantics", test_reset_keeps_allocation},
        {"cstr after reserve is \"\"", test_cstr_after_reserve_is_empty},
        {"steal semantics", test_steal},
        {"failure is sticky until reset", test_failure_is_sticky},
        {"reserve overflow fails cleanly", test_reserve_overflow_fails_cleanly},
        {"iso8601: known instants, leap days", test_iso8601_known},
        {"iso8601: round trip 1900-2200 vs gmtime", test_iso8601_roundtrip_range},
        {"iso8601: parse variants", test_iso8601_parse_variants},
        {"iso8601: parse rejects garbage", test_iso8601_parse_rejects_garbage},
        {"iso8601: parse rejects impossible dates", test_iso8601_parse_rejects_impossible_dates},
        {"csv: fields quoted when they must be, quotes doubled", test_csv_fields},
    };
    return ut_add_suite("jbuf", tests, UT_COUNT(tests));
}
