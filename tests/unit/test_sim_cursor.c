/*
 * Tests of sim/sim_cursor: HubSpot-shaped association paging cursors that
 * always carry "%3D", decode their own output, and refuse anything a client
 * could have mangled.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../../sim/sim_cursor.h"
#include "../../sim/sim_rand.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static int decode(const char *s, const char *type_id, int url_decoded, uint64_t *id)
{
    return sim_cursor_decode(s, strlen(s), type_id, url_decoded, id);
}

/* The cursors in HubSpot's documentation are exactly what we emit. */
static void test_matches_hubspot_examples(void)
{
    char out[SIM_CURSOR_MAX];
    size_t n = sim_cursor_encode("0-2", 1597400658, out);
    CHECK_STR(out, "MC0yLTE1OTc0MDA2NTg%3D");
    CHECK_EQ(n, strlen(out));
    sim_cursor_encode("0-2", 7502, out);
    CHECK_STR(out, "MC0yLTc1MDI%3D");
    uint64_t id = 0;
    CHECK_EQ(decode("MC0yLTE1OTc0MDA2NTg%3D", "0-2", 0, &id), 0);
    CHECK_EQ(id, 1597400658);
}

static void check_roundtrip(const char *type_id, uint64_t v, unsigned *bad)
{
    char out[SIM_CURSOR_MAX];
    size_t n = sim_cursor_encode(type_id, v, out);
    uint64_t back = 0;
    int ok = n == strlen(out) && n < SIM_CURSOR_MAX && strstr(out, "%3D") != NULL &&
             sim_cursor_decode(out, n, type_id, 0, &back) == 0 && back == v;
    /* The same cursor after a query string's percent-decoding. */
    char plain[SIM_CURSOR_MAX];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (out[i] == '%' && i + 2 < n && out[i + 1] == '3' && out[i + 2] == 'D') {
            plain[m++] = '=';
            i += 2;
        } else {
            plain[m++] = out[i];
        }
    }
    uint64_t back2 = 0;
    ok = ok && sim_cursor_decode(plain, m, type_id, 1, &back2) == 0 && back2 == v;
    if (!ok && (*bad)++ < 5)
        fprintf(stderr,
                "\n    cursor round trip failed: %s %" PRIu64 " -> %s -> %" PRIu64 "/%" PRIu64,
                type_id, v, out, back, back2);
}

static void test_roundtrip_many(void)
{
    static const char *const types[] = {"0-1", "0-2", "0-3", "0-5", "0-46", "0-116"};
    static const uint64_t fixed[] = {
        0,
        1,
        9,
        10,
        12,
        99,
        100,
        4294967295ULL,
        4294967296ULL,
        10000000001ULL,
        1844674407370955161ULL,
        18446744073709551609ULL,
        18446744073709551610ULL,
        UINT64_MAX - 1,
        UINT64_MAX,
    };
    unsigned bad = 0;
    for (size_t t = 0; t < UT_COUNT(types); t++) {
        for (size_t i = 0; i < UT_COUNT(fixed); i++)
            check_roundtrip(types[t], fixed[i], &bad);
        sim_rng r;
        sim_rng_seed(&r, 5, t);
        for (int i = 0; i < 3000; i++)
            check_roundtrip(types[t], sim_rng_next(&r) >> sim_rng_below(&r, 64), &bad);
    }
    CHECK_EQ(bad, 0);
}

/* UINT64_MAX on its own, so a failure names it. */
static void test_roundtrip_uint64_max(void)
{
    char out[SIM_CURSOR_MAX];
    size_t n = sim_cursor_encode("0-1", UINT64_MAX, out);
    uint64_t back = 0;
    CHECK_EQ(sim_cursor_decode(out, n, "0-1", 0, &back), 0);
    CHECK_EQ(back, UINT64_MAX);
    n = sim_cursor_encode("0-1", 18446744073709551610ULL, out);
    CHECK_EQ(sim_cursor_decode(out, n, "0-1", 0, &back), 0);
    CHECK_EQ(back, 18446744073709551610ULL);
}

/* Base64 of `plain` with '=' padding written "%3D" (a '-' is appended when
 * the length needs no padding, as the encoder does). */
static void make_cursor(const char *plain, char *out)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char text[64];
    size_t n = (size_t)snprintf(text, sizeof(text) - 1, "%s", plain);
    if (n % 3 == 0)
        text[n++] = '-';
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)(unsigned char)text[i] << 16;
        size_t left = n - i;
        if (left > 1)
            v |= (unsigned)(unsigned char)text[i + 1] << 8;
        if (left > 2)
            v |= (unsigned char)text[i + 2];
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        if (left > 1) {
            out[o++] = b64[v >> 6 & 63];
        } else {
            memcpy(out + o, "%3D", 3);
            o += 3;
        }
        if (left > 2) {
            out[o++] = b64[v & 63];
        } else {
            memcpy(out + o, "%3D", 3);
            o += 3;
        }
    }
    out[o] = '\0';
}

static void test_rejects(void)
{
    char good[SIM_CURSOR_MAX];
    size_t n = sim_cursor_encode("0-1", 123456789012ULL, good);
    uint64_t id = 0;
    REQUIRE(decode(good, "0-1", 0, &id) == 0 && id == 123456789012ULL);
    /* Another type's cursor. */
    CHECK_EQ(decode(good, "0-2", 0, &id), -1);
    CHECK_EQ(decode(good, "0-11", 0, &id), -1);
    CHECK_EQ(decode(good, "0-116", 0, &id), -1);
    char other[SIM_CURSOR_MAX];
    sim_cursor_encode("0-116", 5, other);
    CHECK_EQ(decode(other, "0-1", 0, &id), -1);
    CHECK_EQ(decode(other, "0-11", 0, &id), -1);
    /* Every truncation. */
    unsigned accepted = 0;
    for (size_t len = 0; len < n; len++)
        accepted += sim_cursor_decode(good, len, "0-1", 0, &id) == 0;
    CHECK_EQ(accepted, 0);
    /* The client decoded it ("="), or encoded it again ("%253D"). */
    char buf[SIM_CURSOR_MAX * 2];
    const char *pct = strstr(good, "%3D");
    REQUIRE(pct != NULL);
    snprintf(buf, sizeof(buf), "%.*s=%s", (int)(pct - good), good, pct + 3);
    CHECK_EQ(decode(buf, "0-1", 0, &id), -1);
    snprintf(buf, sizeof(buf), "%.*s%%253D%s", (int)(pct - good), good, pct + 3);
    CHECK_EQ(decode(buf, "0-1", 0, &id), -1);
    CHECK_EQ(decode(buf, "0-1", 1, &id), -1);
    /* The "%3D" form is not what a percent-decoded query string holds. */
    CHECK_EQ(decode(good, "0-1", 1, &id), -1);
    /* Lower-case escape, junk, empty, unpadded base64 of a valid plain text. */
    snprintf(buf, sizeof(buf), "%.*s%%3d%s", (int)(pct - good), good, pct + 3);
    CHECK_EQ(decode(buf, "0-1", 0, &id), -1);
    static const char *const junk[] = {
        "",           "%3D",       "=",       "garbage",          "MC0x",    "MC0xLTU",
        "MC0xLTU%",   "MC0xLTU%3", "!!!!%3D", "MC0x%3D%3D%3D%3D", "MTIz%3D", "MC0xLTU%3D%3D%3D",
        "%3DMC0xLTU",
    };
    for (size_t i = 0; i < UT_COUNT(junk); i++)
        CHECKF(decode(junk[i], "0-1", 0, &id) == -1, "\"%s\" accepted", junk[i]);
    /* Longer than any cursor we issue. */
    char longc[200];
    memset(longc, 'A', sizeof(longc) - 4);
    memcpy(longc + sizeof(longc) - 4, "%3D", 4);
    CHECK_EQ(decode(longc, "0-1", 0, &id), -1);
    /* Well-formed base64 of plain texts that are not cursors of type 0-1. */
    static const char *const plains[] = {
        "0-1-abc",
        "0-1-",
        "0-1",
        "0-2-5",
        "0-1-5x",
        "0-1--5",
        "x0-1-5",
        "0-1-18446744073709551616",
        "0-1-99999999999999999999",
        "0-1- 5",
        "0-1-+5",
        "0-1--",
    };
    for (size_t i = 0; i < UT_COUNT(plains); i++) {
        make_cursor(plains[i], buf);
        CHECKF(decode(buf, "0-1", 0, &id) == -1, "cursor of \"%s\" (%s) accepted as %" PRIu64,
               plains[i], buf, id);
    }
    /* The helper itself produces what the encoder does. */
    make_cursor("0-1-5", buf);
    CHECK_EQ(decode(buf, "0-1", 0, &id), 0);
    CHECK_EQ(id, 5);
done:
    return;
}

int unit_suite_sim_cursor(void)
{
    static const ut_test tests[] = {
        {"matches HubSpot's example cursors", test_matches_hubspot_examples},
        {"round trip many ids and types, both forms", test_roundtrip_many},
        {"round trip UINT64_MAX", test_roundtrip_uint64_max},
        {"rejects mangled and foreign cursors", test_rejects},
    };
    return ut_add_suite("sim_cursor", tests, UT_COUNT(tests));
}
