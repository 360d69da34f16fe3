/*
 * fuzz_cursor — the text cursors: the association paging cursor the
 * simulator issues and reads back (sim_cursor_decode: base64 of
 * "{typeId}-{lastId}" with a percent-escaped '=' pad, read as sent or after
 * URL decoding), the object list's `after` cursor the coordinator reads as
 * a record ID (parse_u64_digits, listing.c), and the ISO-8601 times that
 * become incremental cursors (parse_iso8601_ms). Checks, besides the
 * sanitizers, each parser against an independent reference or its own
 * writer: parse_u64_digits agrees with a 128-bit reference and fmt_u64
 * gives the digits back; a decoded paging cursor encodes and decodes to the
 * same ID; a parsed time formats and parses to the same millisecond.
 */
#include "../../common/base/jbuf.h"
#include "../../sim/sim_cursor.h"
#include "fuzz.h"

static void check_digits(const char *s, size_t n)
{
    unsigned __int128 ref = 0;
    int ok = n >= 1 && n <= 20;
    for (size_t i = 0; ok && i < n; i++) {
        ok = s[i] >= '0' && s[i] <= '9';
        ref = ref * 10 + (unsigned)(s[i] - '0');
    }
    ok = ok && ref <= UINT64_MAX;
    uint64_t v = 0;
    FUZZ_CHECK(parse_u64_digits(s, n, &v) == ok);
    if (!ok)
        return;
    FUZZ_CHECK(v == (uint64_t)ref);
    size_t zeros = 0;
    while (zeros + 1 < n && s[zeros] == '0')
        zeros++;
    char out[21];
    size_t len = fmt_u64(out, v);
    FUZZ_CHECK(len == n - zeros && memcmp(out, s + zeros, len) == 0);
}

static void check_paging_cursor(const char *s, size_t n)
{
    static const char *const types[] = {"0-1", "0-2"};
    for (int url_decoded = 0; url_decoded < 2; url_decoded++)
        for (size_t t = 0; t < 2; t++) {
            uint64_t id = 0;
            if (sim_cursor_decode(s, n, types[t], url_decoded, &id) != 0)
                continue;
            char enc[SIM_CURSOR_MAX];
            size_t len = sim_cursor_encode(types[t], id, enc);
            FUZZ_CHECK(len < SIM_CURSOR_MAX && strlen(enc) == len);
            uint64_t again = 0;
            FUZZ_CHECK(sim_cursor_decode(enc, len, types[t], 0, &again) == 0 && again == id);
        }
}

static void check_time(const char *s, size_t n)
{
    int64_t ms = 0, again = 0;
    if (parse_iso8601_ms(s, n, &ms) != 0)
        return;
    char out[25];
    size_t len = fmt_iso8601_ms(out, ms);
    FUZZ_CHECK(len == 24 && strlen(out) == 24);
    FUZZ_CHECK(parse_iso8601_ms(out, len, &again) == 0);
    FUZZ_CHECK(again == ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    check_digits(s, size);
    check_paging_cursor(s, size);
    check_time(s, size);
    return 0;
}
