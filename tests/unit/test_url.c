/* Tests of common/base/url: the base URL rule (https://, or http:// to loopback),
 * checked on the host libcurl's parser sees. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../../common/base/url.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static void test_accepts(void)
{
    static const struct {
        const char *url;
        bool plain;
    } cases[] = {
        {"https://api.hubapi.com", false},
        {"HTTPS://api.hubapi.com", false},
        {"https://api.hubapi.com:443/prefix", false},
        {"https://10.1.2.3:8443", false},
        {"https://[2001:db8::1]", false},
        {"http://127.0.0.1:8089", true},
        {"http://127.9.8.7", true},
        {"HTTP://127.0.0.1", true},
        {"http://localhost:1", true},
        {"http://LocalHost", true},
        {"http://[::1]:80", true},
        {"http://[::ffff:127.0.0.1]:80", true},
        {"http://127.1", true},      /* curl connects to 127.0.0.1 */
        {"http://0x7f000001", true}, /* the same */
        {"http://2130706433", true}, /* the same */
        {"http://127.0.0.1:8089/some/prefix", true},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        err_info e = {0};
        bool plain = !cases[i].plain;
        int rc = url_check_base(cases[i].url, &plain, &e);
        CHECKF(rc == 0 && plain == cases[i].plain, "\"%s\": rc %d (%s)", cases[i].url, rc,
               e.ei_msg);
    }
}

static void test_refuses(void)
{
    static const struct {
        const char *url;
        const char *why; /* a word the message must hold */
    } cases[] = {
        {"http://10.1.2.3", "loopback"},
        {"http://api.hubapi.com", "loopback"},
        {"http://127.0.0.1.example.com", "loopback"},
        {"http://127.0.0.1.evil.example", "loopback"},
        {"http://localhost.evil", "loopback"},
        {"http://localhost.", "loopback"},
        {"http://evil.localhost", "loopback"},
        {"http://[::ffff:10.0.0.1]", "loopback"},
        {"http://[fe80::1]", "loopback"},
        {"http://[::]", "loopback"},
        {"http://0.0.0.0", "loopback"},
        {"http://128.0.0.1", "loopback"},
        {"HTTP://10.1.2.3", "loopback"},
        {"hTtP://api.hubapi.com", "loopback"},
        {"http://127.0.0.1@evil.com", "'@'"},
        {"http://127.0.0.1:80@evil.com", "'@'"}, /* curl's host: evil.com */
        {"http://localhost:pw@evil.com", "'@'"},
        {"https://user:pw@api.hubapi.com", "'@'"},
        {"http://evil.com#@127.0.0.1", "'#'"},
        {"http://evil.com?@127.0.0.1", "'?'"},
        {"https://api.hubapi.com?x=1", "'?'"},
        {"http://127.0.0.1\\evil.com", "'\\'"},
        {"http://127.0.0.1%2eevil.com", "'%'"},
        {"http://127.0.0.1 /", "byte 0x20"},
        {"ftp://127.0.0.1", "https://"},
        {"127.0.0.1:8089", "https://"},
        {"http:/127.0.0.1", "https://"},
        {"http:127.0.0.1", "https://"},
        {"//127.0.0.1", "https://"},
        {"", "https://"},
        {"http://", "parsed"},
        {"https://", "parsed"},
        {"http://127.0.0.1:99999", "parsed"},
        {"http://127.0.0.1:port", "parsed"},
        {"http://[::1", "parsed"},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        err_info e = {0};
        int rc = url_check_base(cases[i].url, NULL, &e);
        CHECKF(rc == ERR_INVALID && strstr(e.ei_msg, cases[i].why) != NULL,
               "\"%s\": rc %d, message \"%s\" (wanted \"%s\")", cases[i].url, rc, e.ei_msg,
               cases[i].why);
    }
}

static void test_loopback_hosts(void)
{
    static const char *const yes[] = {"localhost",         "LOCALHOST", "127.0.0.1",
                                      "127.255.255.254",   "[::1]",     "[0:0:0:0:0:0:0:1]",
                                      "[::ffff:127.0.0.2]"};
    static const char *const no[] = {"",    "localhost.", "localhost.evil",    "127.0.0.1.evil",
                                     "::1", "[::2]",      "[::ffff:10.0.0.1]", "126.255.255.255",
                                     "[::1"};
    for (size_t i = 0; i < UT_COUNT(yes); i++)
        CHECKF(url_host_is_loopback(yes[i]), "\"%s\" not loopback", yes[i]);
    for (size_t i = 0; i < UT_COUNT(no); i++)
        CHECKF(!url_host_is_loopback(no[i]), "\"%s\" loopback", no[i]);
}

int unit_suite_url(void)
{
    static const ut_test tests[] = {
        {"accepts https and loopback http", test_accepts},
        {"refuses the rest, naming why", test_refuses},
        {"loopback hosts", test_loopback_hosts},
    };
    return ut_add_suite("url", tests, UT_COUNT(tests));
}
