/*
 * Unit tests for coordinator/progress.c: the progress line in each phase,
 * the rate over the latest samples, the ETA's forms.
 */
#include <stdio.h>
#include <string.h>

#include "../../coordinator/progress.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static void test_meter_rate(void)
{
    progress_meter m = {0};
    CHECK(progress_meter_rate(&m, 10) < 0);
    progress_meter_add(&m, 0.0, 0);
    progress_meter_add(&m, 0.5, 50);
    CHECK(progress_meter_rate(&m, 10) < 0); /* half a second says nothing yet */
    progress_meter_add(&m, 1.0, 100);
    CHECK(progress_meter_rate(&m, 10) < 0); /* nor a second */
    progress_meter_add(&m, 2.0, 200);
    CHECK(progress_meter_rate(&m, 10) == 100.0);
    /* A slow start drops out of a ten-second span. */
    progress_meter m2 = {0};
    progress_meter_add(&m2, 0.0, 0);
    for (int t = 20; t <= 40; t++)
        progress_meter_add(&m2, t, 1000 + (uint64_t)(t - 20) * 10);
    CHECK(progress_meter_rate(&m2, 10) == 10.0);
    /* More samples than the ring holds: the oldest are forgotten. */
    progress_meter m3 = {0};
    for (int i = 0; i < 3 * PROGRESS_SAMPLES; i++)
        progress_meter_add(&m3, i * 0.25, (uint64_t)i * 5);
    CHECK(progress_meter_rate(&m3, 1000) == 20.0);
}

static void test_eta(void)
{
    char b[32];
    progress_eta(100, 10, b, sizeof(b));
    CHECK_STR(b, "ETA 10s");
    progress_eta(3900, 10, b, sizeof(b));
    CHECK_STR(b, "ETA 6m30s");
    progress_eta(76000, 10, b, sizeof(b));
    CHECK_STR(b, "ETA 2h06m");
    progress_eta(1, 10, b, sizeof(b)); /* a tenth of a second: rounded up */
    CHECK_STR(b, "ETA 1s");
    progress_eta(100, 0, b, sizeof(b));
    CHECK_STR(b, "");
    progress_eta(0, 10, b, sizeof(b));
    CHECK_STR(b, "");
    progress_eta(1000000000, 1, b, sizeof(b)); /* absurd: said nothing */
    CHECK_STR(b, "");
}

static void test_listing_phase(void)
{
    char line[256];
    /* Listing, the total not known: counts only, no bar, no 1000/0. */
    progress_view v = {.pv_seconds = 2,
                       .pv_calls = 30,
                       .pv_merged = 1000,
                       .pv_listing = true,
                       .pv_listed = 5000,
                       .pv_list_rate = 2500,
                       .pv_merge_rate = -1};
    progress_format(&v, line, sizeof(line));
    CHECK_STR(line, "[..............................] listing 5000 objects (2500/s)  1000 parents "
                    "merged  30 calls  15.0/s");
    /* The list's total known: its ETA. */
    v.pv_list_total = 20000;
    progress_format(&v, line, sizeof(line));
    CHECK(strstr(line, "listing 5000/20000 objects (2500/s, ETA 6s)") != NULL);
    CHECKF(strstr(line, "/0 ") == NULL, "%s", line);
    /* Every table's total known while the list still runs. */
    v.pv_total_known = true;
    v.pv_total = 20000;
    v.pv_merge_rate = 500;
    progress_format(&v, line, sizeof(line));
    CHECK(strstr(line, "1000/20000 parents (500/s, ETA 38s)") != NULL);
    CHECK(strncmp(line, "[#.....", 7) == 0);
}

static void test_merging_phase(void)
{
    char line[256];
    progress_view v = {.pv_seconds = 10,
                       .pv_calls = 190,
                       .pv_merged = 15000,
                       .pv_total = 20000,
                       .pv_total_known = true,
                       .pv_merge_rate = 1000};
    size_t n = progress_format(&v, line, sizeof(line));
    CHECK_EQ(n, strlen(line));
    CHECK_STR(line, "[######################........] 15000/20000 parents (1000/s, ETA 5s)  190 "
                    "calls  19.0/s");
    /* A count above its total (objects archived after they were counted)
     * shows as complete, never as 21000/20000. */
    v.pv_merged = 21000;
    progress_format(&v, line, sizeof(line));
    CHECK(strstr(line, "21000/21000 parents") != NULL);
    CHECK(strstr(line, "ETA") == NULL);
    /* The last line has no ETA. */
    v.pv_merged = 19000;
    v.pv_final = true;
    progress_format(&v, line, sizeof(line));
    CHECK(strstr(line, "(1000/s)") != NULL);
    /* A short buffer: cut, terminated, length within it. */
    char small[16];
    n = progress_format(&v, small, sizeof(small));
    CHECK_EQ(n, strlen(small));
    CHECK_EQ(n, sizeof(small) - 1);
}

int unit_suite_progress(void)
{
    static const ut_test cases[] = {
        {"rate over the latest samples", test_meter_rate},
        {"ETA forms", test_eta},
        {"listing phase: counts, then totals and ETA", test_listing_phase},
        {"merging phase: bar, ETA, never above the total", test_merging_phase},
    };
    return ut_add_suite("progress", cases, sizeof(cases) / sizeof(cases[0]));
}
