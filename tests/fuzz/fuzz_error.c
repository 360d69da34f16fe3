/*
 * fuzz_error — hs_parse_error, which reads every 4xx/5xx body (HubSpot's
 * JSON, a proxy's HTML, a truncated body) and never fails. Checks, besides
 * the sanitizers: every string field is NUL-terminated inside its array;
 * the policy and auth enums are in range; a body that is not JSON gives
 * eb_is_json false and a printable "not JSON" message.
 */
#include "fuzz.h"

#define CHECK_FIELD(b, f) FUZZ_CHECK(memchr((b)->f, '\0', sizeof((b)->f)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_error_body b;
    memset(&b, 0x5a, sizeof(b));
    hs_parse_error(size ? (const char *)data : NULL, size, &b);
    CHECK_FIELD(&b, eb_status);
    CHECK_FIELD(&b, eb_message);
    CHECK_FIELD(&b, eb_category);
    CHECK_FIELD(&b, eb_sub_category);
    CHECK_FIELD(&b, eb_correlation_id);
    CHECK_FIELD(&b, eb_policy_name);
    CHECK_FIELD(&b, eb_error_type);
    FUZZ_CHECK(b.eb_policy >= HS_POLICY_NONE && b.eb_policy <= HS_POLICY_OTHER);
    FUZZ_CHECK(b.eb_auth >= HS_AUTH_NONE && b.eb_auth <= HS_AUTH_INVALID);
    if (!b.eb_is_json) {
        FUZZ_CHECK(strncmp(b.eb_message, "not JSON", 8) == 0);
        for (const char *p = b.eb_message; *p; p++)
            FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
        FUZZ_CHECK(b.eb_policy == HS_POLICY_NONE && b.eb_auth == HS_AUTH_NONE);
    }
    return 0;
}
