/*
 * Tests of sim/sim_json: strict parsing of request bodies (exactly `len`
 * bytes, one value, nothing but whitespace after it, no JSON extensions) and
 * the integer readers used for IDs, limits and timestamps.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../../sim/sim_json.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static json_object *parse(const char *s)
{
    return sim_json_parse(s, strlen(s));
}

static void test_parse_accepts(void)
{
    static const char *const good[] = {
        "{}",
        "{\"a\":1}",
        "  {\"a\":[1,2,{\"b\":\"c\"}]}  ",
        "{\"a\":1}\n",
        "{\"a\":1}\r\n\t ",
        "[]",
        "[1,\"x\",null,true]",
        "{\"s\":\"\\u00e9\\n\"}",
    };
    for (size_t i = 0; i < UT_COUNT(good); i++) {
        json_object *o = parse(good[i]);
        CHECKF(o != NULL, "\"%s\" refused", good[i]);
        json_object_put(o);
    }
    /* Only `len` bytes: a valid prefix of a longer buffer. */
    json_object *o = sim_json_parse("{\"a\":1}garbage", 7);
    CHECK(o != NULL);
    json_object_put(o);
}

static void test_parse_rejects(void)
{
    static const char *const bad[] = {
        "",
        " ",
        "{",
        "}",
        "{\"a\":}",
        "{\"a\":1}x",
        "{\"a\":1}{}",
        "{\"a\":1} 1",
        "[1 2]",
        "{\"a\" 1}",
        "{a:1}",
        "nul",
        "{\"a\":1}\x01",
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        json_object *o = parse(bad[i]);
        CHECKF(o == NULL, "\"%s\" accepted", bad[i]);
        json_object_put(o);
    }
    CHECK(sim_json_parse(NULL, 3) == NULL);
    /* A NUL inside the counted bytes is not whitespace. */
    json_object *o = sim_json_parse("{}\0{}", 5);
    CHECK(o == NULL);
    json_object_put(o);
}

/* "Strict": what json-c accepts only as extensions (trailing commas, leading
 * zeros) is malformed JSON HubSpot answers 400 to; a client that sends it
 * must not pass against the simulator. */
static void test_parse_strict(void)
{
    static const char *const bad[] = {
        "{\"a\":1,}", "[1,2,]", "{\"inputs\":[{\"id\":\"1\"},]}", "{\"a\":01}", "{\"limit\":007}",
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        json_object *o = parse(bad[i]);
        CHECKF(o == NULL, "non-JSON \"%s\" accepted as %s", bad[i],
               o ? json_object_to_json_string(o) : "");
        json_object_put(o);
    }
}

/* Reads v from the JSON text of one array element. */
static json_object *elem(const char *json_array, json_object **root)
{
    *root = parse(json_array);
    return *root ? json_object_array_get_idx(*root, 0) : NULL;
}

static void test_u64(void)
{
    static const struct {
        const char *json;
        int rc;
        uint64_t v;
    } cases[] = {
        {"[0]", 0, 0},
        {"[\"0\"]", 0, 0},
        {"[123]", 0, 123},
        {"[\"5790939450\"]", 0, 5790939450ULL},
        {"[\"18446744073709551615\"]", 0, UINT64_MAX},
        {"[9223372036854775807]", 0, INT64_MAX},
        {"[-1]", -1, 0},
        {"[\"-1\"]", -1, 0},
        {"[\"\"]", -1, 0},
        {"[\"12a\"]", -1, 0},
        {"[\" 12\"]", -1, 0},
        {"[\"+12\"]", -1, 0},
        {"[\"18446744073709551616\"]", -1, 0},
        {"[1.5]", -1, 0},
        {"[true]", -1, 0},
        {"[null]", -1, 0},
        {"[{}]", -1, 0},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        json_object *root;
        json_object *v = elem(cases[i].json, &root);
        uint64_t out = 777;
        int rc = root ? sim_json_u64(v, &out) : -2;
        CHECKF(rc == cases[i].rc && (rc != 0 || out == cases[i].v), "u64(%s) = %d, %" PRIu64,
               cases[i].json, rc, out);
        json_object_put(root);
    }
}

/* A JSON number above INT64_MAX is either read exactly or refused; never
 * silently clamped to another ID. */
static void test_u64_large_numbers(void)
{
    static const struct {
        const char *json;
        uint64_t v;
    } cases[] = {
        {"[18446744073709551615]", UINT64_MAX},
        {"[9223372036854775808]", 9223372036854775808ULL},
        {"[12345678901234567890]", 12345678901234567890ULL},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        json_object *root;
        json_object *v = elem(cases[i].json, &root);
        uint64_t out = 777;
        int rc = root ? sim_json_u64(v, &out) : -2;
        CHECKF(rc == -1 || (rc == 0 && out == cases[i].v), "u64(%s) = %d, %" PRIu64, cases[i].json,
               rc, out);
        json_object_put(root);
    }
}

static void test_i64(void)
{
    static const struct {
        const char *json;
        bool iso;
        int rc;
        int64_t v;
    } cases[] = {
        {"[0]", false, 0, 0},
        {"[-5]", false, 0, -5},
        {"[\"1705521304281\"]", false, 0, 1705521304281LL},
        {"[\"-1705521304281\"]", false, 0, -1705521304281LL},
        {"[\"9223372036854775807\"]", false, 0, INT64_MAX},
        {"[\"-9223372036854775807\"]", false, 0, -INT64_MAX},
        {"[\"9223372036854775808\"]", false, -1, 0},
        {"[\"2024-01-17T19:55:04.281Z\"]", true, 0, 1705521304281LL},
        {"[\"2024-01-17T19:55:04Z\"]", true, 0, 1705521304000LL},
        {"[\"2024-01-17T19:55:04.281Z\"]", false, -1, 0},
        {"[\"-\"]", false, -1, 0},
        {"[\"--1\"]", false, -1, 0},
        {"[\"1e3\"]", false, -1, 0},
        {"[\"\"]", true, -1, 0},
        {"[\"yesterday\"]", true, -1, 0},
        {"[1.5]", false, -1, 0},
        {"[false]", false, -1, 0},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        json_object *root;
        json_object *v = elem(cases[i].json, &root);
        int64_t out = 777;
        int rc = root ? sim_json_i64(v, cases[i].iso, &out) : -2;
        CHECKF(rc == cases[i].rc && (rc != 0 || out == cases[i].v),
               "i64(%s, iso=%d) = %d, %" PRId64, cases[i].json, cases[i].iso, rc, out);
        json_object_put(root);
    }
}

/* INT64_MIN is an int64 written as digits with a '-'. */
static void test_i64_min(void)
{
    json_object *root;
    json_object *v = elem("[\"-9223372036854775808\"]", &root);
    int64_t out = 0;
    int rc = v ? sim_json_i64(v, false, &out) : -2;
    CHECK_EQ(rc, 0);
    CHECK_EQ(out, INT64_MIN);
    json_object_put(root);
}

int unit_suite_sim_json(void)
{
    static const ut_test tests[] = {
        {"parse accepts one value and whitespace", test_parse_accepts},
        {"parse rejects malformed and trailing data", test_parse_rejects},
        {"parse is strict (no trailing commas, leading zeros)", test_parse_strict},
        {"u64 from strings and numbers", test_u64},
        {"u64 of numbers above INT64_MAX not clamped", test_u64_large_numbers},
        {"i64 from numbers, digits, ISO-8601", test_i64},
        {"i64 accepts INT64_MIN", test_i64_min},
    };
    return ut_add_suite("sim_json", tests, UT_COUNT(tests));
}
