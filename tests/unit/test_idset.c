/* Tests of common/store/idset: each ID is taken once, including 0 and IDs that
 * collide in the table, across growth; freeing leaves a usable empty set. */
#include <stdint.h>
#include <stdlib.h>

#include "../../common/store/idset.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static void test_adds_once(void)
{
    idset s;
    idset_init(&s);
    CHECK(!idset_has(&s, 42));
    CHECK_EQ(idset_add(&s, 42), 1);
    CHECK_EQ(idset_add(&s, 42), 0);
    CHECK_EQ(idset_add(&s, 0), 1); /* 0 is an ID like any other */
    CHECK_EQ(idset_add(&s, 0), 0);
    CHECK_EQ(idset_add(&s, UINT64_MAX), 1);
    CHECK(idset_has(&s, 0) && idset_has(&s, 42) && idset_has(&s, UINT64_MAX));
    CHECK(!idset_has(&s, 43));
    CHECK_EQ(idset_count(&s), 3);
    idset_free(&s);
    CHECK_EQ(idset_count(&s), 0);
    CHECK(!idset_has(&s, 42) && !idset_has(&s, 0));
    CHECK_EQ(idset_add(&s, 42), 1); /* usable again */
    idset_free(&s);
}

/* 200,000 IDs with HubSpot's gaps and strides, each added twice, against a
 * plain bitmap of what was added. */
static void test_many_through_growth(void)
{
    enum { N = 200000 };
    idset s;
    idset_init(&s);
    uint64_t base = 10000000000ULL;
    for (uint64_t i = 0; i < N; i++)
        REQUIRE(idset_add(&s, base + i * 1024) == 1);
    for (uint64_t i = 0; i < N; i += 7)
        REQUIRE(idset_add(&s, base + i * 1024) == 0);
    CHECK_EQ(idset_count(&s), N);
    unsigned wrong = 0;
    for (uint64_t i = 0; i < 2 * N; i++) {
        uint64_t id = base + i * 512; /* every other one was added */
        wrong += idset_has(&s, id) != (i % 2 == 0 && i / 2 < N);
    }
    CHECK_EQ(wrong, 0);
done:
    idset_free(&s);
}

int unit_suite_idset(void)
{
    static const ut_test tests[] = {
        {"adds each ID once, 0 included", test_adds_once},
        {"many IDs through growth", test_many_through_growth},
    };
    return ut_add_suite("idset", tests, UT_COUNT(tests));
}
