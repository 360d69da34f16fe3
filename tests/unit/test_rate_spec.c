/* Tests of common/base/rate_spec: "N/Ws" and "N/Wms" accepted, everything else not. */
#include <stdio.h>
#include <string.h>

#include "../../common/base/rate_spec.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static void test_accepts(void)
{
    static const struct {
        const char *s;
        uint32_t count;
        int64_t window_ms;
    } cases[] = {
        {"190/10s", 190, 10000},   {"5/1s", 5, 1000}, {"50/500ms", 50, 500},
        {"100/1s", 100, 1000},     {"1/1ms", 1, 1},   {"100/10s", 100, 10000},
        {"7/86400s", 7, 86400000},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        uint32_t count = 0;
        int64_t window = 0;
        int rc = rate_spec_parse(cases[i].s, &count, &window);
        CHECKF(rc == 0 && count == cases[i].count && window == cases[i].window_ms,
               "\"%s\": rc %d, %u per %lld ms", cases[i].s, rc, count, (long long)window);
    }
}

static void test_rejects(void)
{
    static const char *const bad[] = {
        "0/1s",  "10",      "10/",
        "10/0s", "a/1s",    "10/1m",
        "",      "/1s",     "10/s",
        "10/ms", "-1/1s",   "+5/1s",
        "5/-1s", "5/+1s",   " 5/1s",
        "5 /1s", "5/ 1s",   "5/1s ",
        "5/1 s", "5/1.5s",  "5.0/1s",
        "5//1s", "5/1sms",  "5/1S",
        "5/1h",  "5/0ms",   "0/0s",
        "5/1ss", "5/1s\n",  "10/10x",
        "5,1s",  "five/1s", "99999999999999999999999/1s",
    };
    for (size_t i = 0; i < UT_COUNT(bad); i++) {
        uint32_t count = 0;
        int64_t window = 0;
        CHECKF(rate_spec_parse(bad[i], &count, &window) == -1, "\"%s\" accepted as %u per %lld ms",
               bad[i], count, (long long)window);
    }
    uint32_t count;
    int64_t window;
    CHECK_EQ(rate_spec_parse(NULL, &count, &window), -1);
}

int unit_suite_rate_spec(void)
{
    static const ut_test tests[] = {
        {"accepts N/Ws and N/Wms", test_accepts},
        {"rejects malformed specs", test_rejects},
    };
    return ut_add_suite("rate_spec", tests, UT_COUNT(tests));
}
