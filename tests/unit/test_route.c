/*
 * test_route — the switch-on (coordinator/route.c): every row of the
 * routes a table's stored schema and cursor lead to, the trusted-cursor
 * rule that sends an incremental table whose rollup fields are newer than
 * its last full scan to one full scan first (and says why), when the
 * rollup fields' first-seen time is kept or reset, and the cursor and
 * damaged-record texts status and doctor print.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/base/err.h"
#include "../../coordinator/route.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

/* A state record with `cursor`, a scan in progress since `started_ms`
 * (0: none) and the last full scan's origin. Static: the record is large. */
static store_state *state(store_cursor cursor, int64_t started_ms, int64_t origin_ms)
{
    static store_state st;
    memset(&st, 0, sizeof(st));
    st.ss_cursor = cursor;
    st.ss_scan_started_ms = started_ms;
    st.ss_scan_origin_ms = origin_ms;
    return &st;
}

static void schema(store_schema *sc, store_ping_type ping, int64_t since_ms)
{
    store_schema_init(sc);
    sc->sc_ping_type = ping;
    sc->sc_supports_roll_up = ping == STORE_PING_INCREMENTAL;
    snprintf(sc->sc_rollup_fields_object_id, sizeof(sc->sc_rollup_fields_object_id), "companies");
    sc->sc_rollups_since_ms = since_ms;
}

static void test_routes(void)
{
    store_schema full, incr;
    schema(&full, STORE_PING_FULL, 0);
    schema(&incr, STORE_PING_INCREMENTAL, 1000);
    const store_cursor none = {0}, id = store_cursor_object_id(42),
                       ts = store_cursor_timestamp_ms(5000);
    /* No cursor: a full scan from 0, whatever the schema (none: full ping). */
    CHECK_EQ(route_next(NULL, state(none, 0, 0)), STORE_ROUTE_FULL_SCAN);
    CHECK_EQ(route_next(&incr, state(none, 0, 0)), STORE_ROUTE_FULL_SCAN);
    /* An object-ID cursor, or a scan left unfinished: it resumes. */
    CHECK_EQ(route_next(&full, state(id, 0, 0)), STORE_ROUTE_FULL_RESUME);
    CHECK_EQ(route_next(&incr, state(ts, 3000, 2000)), STORE_ROUTE_FULL_RESUME);
    /* A timestamp cursor: a new full scan for read_full_ping… */
    CHECK_EQ(route_next(&full, state(ts, 0, 2000)), STORE_ROUTE_FULL_SCAN);
    CHECK_EQ(route_next(NULL, state(ts, 0, 2000)), STORE_ROUTE_FULL_SCAN);
    /* …incremental for read_incremental_ping from a scan that began after
     * the rollup fields were first seen (1000)… */
    CHECK_EQ(route_next(&incr, state(ts, 0, 1000)), STORE_ROUTE_INCREMENTAL);
    CHECK(route_reason(&incr, state(ts, 0, 1000)) == NULL);
    /* …and one full scan first from an earlier one, with the reason. */
    CHECK_EQ(route_next(&incr, state(ts, 0, 999)), STORE_ROUTE_FULL_SCAN);
    CHECK_EQ(route_plain(&incr, state(ts, 0, 999)), STORE_ROUTE_INCREMENTAL);
    const char *why = route_reason(&incr, state(ts, 0, 999));
    CHECK(why && strstr(why, "one full scan first"));
    /* A first-seen time unknown (a record from before it was kept): never
     * trusted. */
    incr.sc_rollups_since_ms = 0;
    CHECK_EQ(route_next(&incr, state(ts, 0, 5000)), STORE_ROUTE_FULL_SCAN);
    store_schema_free(&full);
    store_schema_free(&incr);
}

static void test_rollups_since(void)
{
    store_schema old, sc;
    schema(&old, STORE_PING_INCREMENTAL, 1000);
    REQUIRE(store_schema_add_label(&old, "sync_associations_companies_contacts_label_count", 48) ==
            0);
    schema(&sc, STORE_PING_INCREMENTAL, 0);
    REQUIRE(store_schema_add_label(&sc, "sync_associations_companies_contacts_label_count", 48) ==
            0);
    schema_carry_since(&old, &sc, 9000); /* the same fields: kept */
    CHECK_EQ(sc.sc_rollups_since_ms, 1000);
    REQUIRE(store_schema_add_label(&sc, "sync_associations_companies_contacts_label_other", 48) ==
            0);
    schema_carry_since(&old, &sc, 9000); /* a field more: from now */
    CHECK_EQ(sc.sc_rollups_since_ms, 9000);
    schema_carry_since(NULL, &sc, 9500); /* newly incremental: from now */
    CHECK_EQ(sc.sc_rollups_since_ms, 9500);
    sc.sc_ping_type = STORE_PING_FULL; /* read_full_ping: none */
    schema_carry_since(&old, &sc, 9900);
    CHECK_EQ(sc.sc_rollups_since_ms, 0);
done:
    store_schema_free(&old);
    store_schema_free(&sc);
}

static void test_texts(void)
{
    char buf[160];
    const store_cursor none = {0}, id = store_cursor_object_id(42),
                       ts = store_cursor_timestamp_ms(1705521304281);
    CHECK_STR(route_describe(STORE_PING_FULL, &none, buf, sizeof(buf)), "full scan from 0");
    CHECK_STR(route_describe(STORE_PING_FULL, &id, buf, sizeof(buf)),
              "full scan in progress after ID 42");
    CHECK_STR(route_describe(STORE_PING_INCREMENTAL, &ts, buf, sizeof(buf)),
              "incremental from 2024-01-17T19:55:04.281Z");
    err_info e = {0};
    err_set(&e, ERR_CORRUPT, "companies_contacts: bad cursor kind 9");
    CHECK_EQ(record_damaged(&e, "companies_contacts", false), ERR_CORRUPT);
    CHECK_STR(e.ei_msg, "the stored cursor record is damaged (bad cursor kind 9): `hubsync run "
                        "--full-scan --tables companies_contacts` starts the table over (its "
                        "associations are kept and replaced)");
    err_set(&e, ERR_CORRUPT, "objects.deals: truncated");
    record_damaged(&e, "objects.deals", false);
    CHECK(strstr(e.ei_msg, "`hubsync run --full-scan` lists the deals again") != NULL);
}

int unit_suite_route(void)
{
    static const ut_test tests[] = {
        {"every route, and the trusted-cursor rule", test_routes},
        {"when the rollup fields' first-seen time is kept", test_rollups_since},
        {"cursor and damaged-record texts", test_texts},
    };
    return ut_add_suite("route", tests, sizeof(tests) / sizeof(tests[0]));
}
