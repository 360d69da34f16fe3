/*
 * fuzz_token — hs_parse_token, the POST /oauth/v1/token response, and the
 * refresh form hs_build_oauth_refresh writes from the refresh token it
 * returned. Checks, besides the sanitizers: a failed parse zeroes the
 * token; a parsed access token is 1 to HS_TOKEN_MAX printable ASCII bytes
 * without spaces (it goes into an Authorization header verbatim),
 * NUL-terminated at its length; expires_in is positive; the refresh form
 * percent-encodes the refresh token into RFC 3986 unreserved bytes and %XX.
 */
#include <ctype.h>

#include "fuzz.h"

static void check_token_bytes(const char *s, size_t n)
{
    FUZZ_CHECK(strlen(s) == n && n <= HS_TOKEN_MAX);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK((unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const hs_token zero;
    hs_token tok;
    err_info e;
    memset(&tok, 0x5a, sizeof(tok));
    int rc = hs_parse_token((const char *)data, size, &tok, &e);
    FUZZ_CHECK(rc == 0 || rc == ERR_PARSE || rc == ERR_SHAPE || rc == ERR_TOO_BIG ||
               rc == ERR_NOMEM);
    if (rc) {
        FUZZ_CHECK(memcmp(&tok, &zero, sizeof(tok)) == 0);
        return 0;
    }
    FUZZ_CHECK(tok.tok_access_len >= 1);
    check_token_bytes(tok.tok_access, tok.tok_access_len);
    check_token_bytes(tok.tok_refresh, tok.tok_refresh_len);
    FUZZ_CHECK(tok.tok_expires_in_s > 0);
    if (tok.tok_refresh_len) {
        jbuf form;
        jb_init(&form);
        FUZZ_CHECK(hs_build_oauth_refresh(&form, tok.tok_refresh, "id", "secret", &e) == 0);
        const char *s = jb_cstr(&form);
        FUZZ_CHECK(strncmp(s, "grant_type=refresh_token&refresh_token=", 39) == 0);
        for (const char *p = s + 39; *p && *p != '&'; p++)
            FUZZ_CHECK(
                isalnum((unsigned char)*p) || strchr("-._~", *p) ||
                (*p == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])));
        jb_free(&form);
    }
    return 0;
}
