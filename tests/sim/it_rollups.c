/*
 * it_rollups — the realistic rollup model over HTTP: a change on a rollup
 * table moves the parent's last-modified time only when its recomputation
 * runs (after the delay), and only when a value changed, unless missed;
 * /_sim/stats counts it all; /_sim/config switches it and the rollups at run
 * time.
 *
 * Every test waits for measured progress (rollups.pending in /_sim/stats
 * reaching 0) with short delays, never for a fixed time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/base/hs_types.h"
#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_suites.h"

/* The realistic model with short delays, no slow tail and no misses. */
#define FAST_ROLLUPS                                                                               \
    "--tier", "unlimited", "--rollup-bumps", "realistic", "--rollup-delay-ms", "200:400",          \
        "--rollup-tail", "0", "--rollup-miss", "0"

/* One company, about a third of the contacts linked to it. */
#define ONE_COMPANY_PORTAL                                                                         \
    "--contacts", "300", "--companies", "1", "--deals", "150", "--tickets", "30",                  \
        "--heavy-parents", "0", "--density", "0.3"

/* Polls /_sim/stats until no recomputation is pending (at most 30 s).
 * Returns the stats (the caller puts them), or NULL after a failed check. */
static json_object *settled_stats(tl_sim *s)
{
    int64_t deadline = tl_now_ms() + 30000;
    for (;;) {
        json_object *st = tl_stats(s);
        int64_t pending = tl_jint_or(st, "rollups.pending", -1);
        if (pending == 0)
            return st;
        json_object_put(st);
        if (!CHECKF(pending > 0 && tl_now_ms() < deadline, "rollups.pending is %lld after waiting",
                    (long long)pending))
            return NULL;
        tl_sleep_ms(10);
    }
}

/* `count` mutations of `kind` on `table`; the summary (the caller puts it). */
static json_object *mutate(tl_sim *s, int count, const char *kind, const char *table)
{
    char body[160];
    snprintf(body, sizeof(body), "{\"count\":%d,\"kinds\":[\"%s\"],\"tables\":[\"%s\"]}", count,
             kind, table);
    json_object *m = tl_mutate(s, body);
    CHECKF(m && tl_jint_or(m, "applied", -1) == count, "mutate %s: %s", body,
           m ? json_object_to_json_string(m) : "no answer");
    return m;
}

/* The parent ID of the first line in one truth and not the other (what one
 * mutation changed), or 0. */
static uint64_t changed_parent(const tl_lines *a, const tl_lines *b)
{
    for (int pass = 0; pass < 2; pass++) {
        const tl_lines *x = pass ? b : a, *y = pass ? a : b;
        for (size_t i = 0; i < x->l_count; i++) {
            const char *tab = strchr(x->l_items[i], '\t');
            if (tab && !tl_lines_contains(y, x->l_items[i]))
                return strtoull(tab + 1, NULL, 10);
        }
    }
    return 0;
}

/* One mutation of `kind` on `table`: its summary, and the parent whose
 * associations it changed in *parent. NULL after a failed check. */
static json_object *mutate_parent(tl_sim *s, const char *kind, const char *table, uint64_t *parent)
{
    tl_lines before = {0}, after = {0};
    json_object *m = NULL;
    *parent = 0;
    if (CHECK(tl_truth(s, table, &before) == 0) && (m = mutate(s, 1, kind, table)) != NULL &&
        CHECK(tl_truth(s, table, &after) == 0))
        *parent = changed_parent(&before, &after);
    CHECKF(*parent != 0, "%s on %s changed no parent", kind, table);
    tl_lines_free(&before);
    tl_lines_free(&after);
    if (*parent == 0) {
        json_object_put(m);
        return NULL;
    }
    return m;
}

/* The last-modified time of `id` in a listing taken before. */
static int64_t listed_modified(const tl_objects *os, uint64_t id)
{
    const tl_object *o = tl_objects_find(os, id);
    return o ? o->o_modified_ms : -1;
}

/* Companies whose last-modified time differs from the listing `before`
 * (-1 when listing them fails). */
static int64_t companies_moved(tl_sim *s, const tl_objects *before)
{
    tl_objects after = {0};
    if (!CHECK(tl_list_all(s, "companies", false, &after) == 0))
        return -1;
    int64_t n = 0;
    for (size_t i = 0; i < after.os_count; i++)
        n += listed_modified(before, after.os_items[i].o_id) != after.os_items[i].o_modified_ms;
    tl_objects_free(&after);
    return n;
}

/* Switched on through /_sim/config: an associate is scheduled, not
 * written; batch read and search show the old time while it is pending;
 * when it has run the parent shows its time, exactly once. */
static void test_associate_bumps_after_delay(void)
{
    tl_sim s = {0};
    json_object *m = NULL, *st = NULL;
    const char *args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    /* A second's margin: the reads below take milliseconds. */
    tl_resp r;
    tl_post_json(&s, "/_sim/config", NULL,
                 "{\"rollup_bumps\":\"realistic\",\"rollup_delay_min_ms\":1000,"
                 "\"rollup_delay_max_ms\":1200,\"rollup_tail\":0,\"rollup_miss\":0}",
                 &r);
    json_object *cfg = tl_resp_json(&r);
    CHECK_EQ(r.r_status, 200);
    CHECK_STR(tl_jstr(cfg, "rollup_bumps"), "realistic");
    CHECK(tl_jint_or(cfg, "rollup_delay_min_ms", -1) == 1000 &&
          tl_jint_or(cfg, "rollup_delay_max_ms", -1) == 1200);
    CHECK(tl_jint_or(cfg, "rollup_tail_ms", -1) == 240000);
    tl_resp_free(&r);
    tl_sleep_ms(5); /* writes come after the portal's newest */
    uint64_t parent;
    REQUIRE((m = mutate_parent(&s, "associate", "companies_contacts", &parent)) != NULL);
    CHECK_EQ(tl_jint_or(m, "rollup_scheduled", -1), 1);
    CHECK_EQ(tl_jint_or(m, "bumped", -1), 0);
    int64_t first = tl_jint_or(m, "first_ms", -1);
    /* Read first, then ask whether it was still pending: the simulator
     * writes the bump before pending drops, so these reads saw no bump. */
    int64_t listed = tl_modified_of(&s, "companies", parent);
    int64_t searched = tl_search_modified_of(&s, "companies", parent);
    st = tl_stats(&s);
    REQUIRE(st != NULL);
    REQUIRE_EQ(tl_jint_or(st, "rollups.pending", -1), 1);
    CHECK_EQ(tl_jint_or(st, "rollups.scheduled", -1), 1);
    CHECKF(listed >= 0 && listed < first && searched == listed,
           "parent %llu while pending: listed %lld, searched %lld, change at %lld",
           (unsigned long long)parent, (long long)listed, (long long)searched, (long long)first);
    json_object_put(st);
    REQUIRE((st = settled_stats(&s)) != NULL);
    CHECK(tl_jint_or(st, "rollups.recomputed", -1) == 1 &&
          tl_jint_or(st, "rollups.bumped", -1) == 1);
    int64_t after = tl_modified_of(&s, "companies", parent);
    CHECKF(after >= first + 1000, "parent %llu modified %lld, change at %lld",
           (unsigned long long)parent, (long long)after, (long long)first);
    CHECK_EQ(tl_search_modified_of(&s, "companies", parent), after);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(m);
    json_object_put(st);
    tl_sim_stop(&s);
}

/* A relabel under a count rollup changes no value: recomputed, unchanged,
 * nothing written. Under per-label rollups a label's count changes: bumped. */
static void test_relabel(void)
{
    tl_sim s = {0};
    tl_objects companies = {0}, contacts = {0};
    json_object *m = NULL, *st = NULL;
    const char *args[] = {IT_SMALL_PORTAL, FAST_ROLLUPS, "--rollups",
                          "companies_contacts,contacts_deals:labels", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(tl_list_all(&s, "companies", false, &companies) == 0);
    REQUIRE(tl_list_all(&s, "contacts", false, &contacts) == 0);
    uint64_t company, contact;
    REQUIRE((m = mutate_parent(&s, "relabel", "companies_contacts", &company)) != NULL);
    CHECK_EQ(tl_jint_or(m, "rollup_scheduled", -1), 1);
    json_object_put(m);
    REQUIRE((st = settled_stats(&s)) != NULL);
    CHECK(tl_jint_or(st, "rollups.recomputed", -1) == 1 &&
          tl_jint_or(st, "rollups.unchanged", -1) == 1 &&
          tl_jint_or(st, "rollups.bumped", -1) == 0);
    CHECK_EQ(tl_modified_of(&s, "companies", company), listed_modified(&companies, company));
    json_object_put(st);
    st = NULL;
    REQUIRE((m = mutate_parent(&s, "relabel", "contacts_deals", &contact)) != NULL);
    CHECK_EQ(tl_jint_or(m, "rollup_scheduled", -1), 1);
    REQUIRE((st = settled_stats(&s)) != NULL);
    CHECK(tl_jint_or(st, "rollups.recomputed", -1) == 2 &&
          tl_jint_or(st, "rollups.bumped", -1) == 1);
    CHECK_OP(tl_modified_of(&s, "contacts", contact), >=, tl_jint_or(m, "first_ms", -1) + 200);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(m);
    json_object_put(st);
    tl_objects_free(&companies);
    tl_objects_free(&contacts);
    tl_sim_stop(&s);
}

/* One company, so a dissociate and an associate both touch it: the second
 * change is coalesced into the first's pending recomputation, the count is
 * back where it was, and the company is not written. */
static void test_net_zero_coalesced(void)
{
    tl_sim s = {0};
    tl_objects before = {0};
    json_object *m1 = NULL, *m2 = NULL, *st = NULL;
    const char *args[] = {
        ONE_COMPANY_PORTAL,   FAST_ROLLUPS, "--rollup-delay-ms", "1000:1200", "--rollups",
        "companies_contacts", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(tl_list_all(&s, "companies", false, &before) == 0);
    REQUIRE_EQ(before.os_count, 1);
    REQUIRE((m1 = mutate(&s, 1, "dissociate", "companies_contacts")) != NULL);
    REQUIRE((m2 = mutate(&s, 1, "associate", "companies_contacts")) != NULL);
    CHECK_EQ(tl_jint_or(m1, "rollup_scheduled", -1), 1);
    CHECK_EQ(tl_jint_or(m2, "rollup_scheduled", -1), 0);
    REQUIRE((st = settled_stats(&s)) != NULL);
    CHECK(tl_jint_or(st, "rollups.scheduled", -1) == 1 &&
          tl_jint_or(st, "rollups.coalesced", -1) == 1 &&
          tl_jint_or(st, "rollups.recomputed", -1) == 1 &&
          tl_jint_or(st, "rollups.unchanged", -1) == 1 &&
          tl_jint_or(st, "rollups.bumped", -1) == 0);
    CHECK_EQ(companies_moved(&s, &before), 0);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(m1);
    json_object_put(m2);
    json_object_put(st);
    tl_objects_free(&before);
    tl_sim_stop(&s);
}

/* --rollup-miss 1: every recomputation finds a changed value (associates
 * only raise counts) and none is written. */
static void test_miss(void)
{
    tl_sim s = {0};
    tl_objects before = {0};
    json_object *m = NULL, *st = NULL;
    const char *args[] = {IT_SMALL_PORTAL, FAST_ROLLUPS, "--rollup-miss", "1", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(tl_list_all(&s, "companies", false, &before) == 0);
    REQUIRE((m = mutate(&s, 5, "associate", "companies_contacts")) != NULL);
    int64_t scheduled = tl_jint_or(m, "rollup_scheduled", -1);
    CHECK(scheduled >= 1 && scheduled <= 5);
    REQUIRE((st = settled_stats(&s)) != NULL);
    CHECK_EQ(tl_jint_or(st, "rollups.recomputed", -1), scheduled);
    CHECK_EQ(tl_jint_or(st, "rollups.missed", -1), scheduled);
    CHECK_EQ(tl_jint_or(st, "rollups.bumped", -1), 0);
    CHECK_EQ(companies_moved(&s, &before), 0);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(m);
    json_object_put(st);
    tl_objects_free(&before);
    tl_sim_stop(&s);
}

/* Rollups removed through /_sim/config drop their pending recomputations;
 * rollups added back start with nothing pending; a reset of the stats keeps
 * the pending count. Nothing is ever written. */
static void test_removed_at_run_time(void)
{
    tl_sim s = {0};
    tl_objects before = {0};
    json_object *m1 = NULL, *m2 = NULL, *st = NULL;
    tl_resp r = {0};
    const char *args[] = {IT_SMALL_PORTAL, FAST_ROLLUPS, "--rollup-delay-ms", "60000:60000", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(tl_list_all(&s, "companies", false, &before) == 0);
    REQUIRE((m1 = mutate(&s, 5, "associate", "companies_contacts")) != NULL);
    REQUIRE((m2 = mutate(&s, 5, "associate", "contacts_deals")) != NULL);
    int64_t on_cc = tl_jint_or(m1, "rollup_scheduled", -1);
    int64_t on_cd = tl_jint_or(m2, "rollup_scheduled", -1);
    CHECK(on_cc >= 1 && on_cd >= 1);
    tl_post_json(&s, "/_sim/reset-stats", NULL, "", &r);
    CHECK_EQ(r.r_status, 200);
    tl_resp_free(&r);
    REQUIRE((st = tl_stats(&s)) != NULL);
    CHECK_EQ(tl_jint_or(st, "rollups.scheduled", -1), 0);
    CHECK_EQ(tl_jint_or(st, "rollups.pending", -1), on_cc + on_cd);
    json_object_put(st);
    st = NULL;

    tl_post_json(&s, "/_sim/config", NULL, "{\"rollups\":[\"contacts_deals\"]}", &r);
    CHECK_EQ(r.r_status, 200);
    CHECK_STR(tl_jstr(tl_resp_json(&r), "rollups"), "contacts_deals");
    tl_resp_free(&r);
    REQUIRE((st = tl_stats(&s)) != NULL);
    CHECK_EQ(tl_jint_or(st, "rollups.dropped", -1), on_cc);
    CHECK_EQ(tl_jint_or(st, "rollups.pending", -1), on_cd);
    json_object_put(st);
    st = NULL;
    tl_post_json(&s, "/_sim/config", NULL,
                 "{\"rollups\":\"companies_contacts:labels,contacts_deals\"}", &r);
    CHECK_EQ(r.r_status, 200);
    tl_resp_free(&r);
    REQUIRE((st = tl_stats(&s)) != NULL);
    CHECK_EQ(tl_jint_or(st, "rollups.pending", -1), on_cd);
    json_object_put(st);
    st = NULL;
    tl_post_json(&s, "/_sim/config", NULL, "{\"rollups\":\"none\"}", &r);
    CHECK_EQ(r.r_status, 200);
    tl_resp_free(&r);
    REQUIRE((st = settled_stats(&s)) != NULL);
    CHECK_EQ(tl_jint_or(st, "rollups.dropped", -1), on_cc + on_cd);
    CHECK_EQ(tl_jint_or(st, "rollups.recomputed", -1), 0);
    CHECK_EQ(companies_moved(&s, &before), 0);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_resp_free(&r);
    json_object_put(m1);
    json_object_put(m2);
    json_object_put(st);
    tl_objects_free(&before);
    tl_sim_stop(&s);
}

int it_register_rollups(void)
{
    CU_pSuite s = it_add_suite("rollups");
    if (!s)
        return -1;
    int rc = 0;
    rc |= it_add_test(s, "associate_bumps_after_delay", test_associate_bumps_after_delay);
    rc |= it_add_test(s, "relabel", test_relabel);
    rc |= it_add_test(s, "net_zero_coalesced", test_net_zero_coalesced);
    rc |= it_add_test(s, "miss", test_miss);
    rc |= it_add_test(s, "removed_at_run_time", test_removed_at_run_time);
    return rc;
}
