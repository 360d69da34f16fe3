/*
 * it_mutate — POST /_sim/mutate and what the API shows afterwards: truth
 * changes, immediate last-modified bumps on rollup tables with
 * --rollup-bumps always (and only there; the realistic model is in
 * it_rollups), archives, creations, same-millisecond writes, and the search
 * index lag.
 *
 * These are the behaviours hubsync's incremental sync depends on, so each
 * test checks them through the public endpoints (list, batch read, search),
 * not only through the mutation summary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/base/hs_types.h"
#include "../../common/base/jbuf.h"
#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_suites.h"

#define PORTAL_ARGS IT_SMALL_PORTAL, "--tier", "unlimited"

static const char *const core_types[] = {"contacts", "companies", "deals", "tickets"};

/* Lines of `after` missing from `before` (added) and the reverse (removed). */
static void diff_lines(const tl_lines *before, const tl_lines *after, tl_lines *added,
                       tl_lines *removed)
{
    memset(added, 0, sizeof(*added));
    memset(removed, 0, sizeof(*removed));
    for (size_t i = 0; i < after->l_count; i++)
        if (!tl_lines_contains(before, after->l_items[i]))
            tl_lines_addf(added, "%s", after->l_items[i]);
    for (size_t i = 0; i < before->l_count; i++)
        if (!tl_lines_contains(after, before->l_items[i]))
            tl_lines_addf(removed, "%s", before->l_items[i]);
}

/* Field `field` (0 table, 1 parent, 2 child) of a TSV line as a number. */
static uint64_t line_id(const char *line, int field)
{
    const char *p = line;
    for (int i = 0; i < field && p; i++) {
        p = strchr(p, '\t');
        if (p)
            p++;
    }
    return p ? strtoull(p, NULL, 10) : 0;
}

/* "companies\tcontacts" pair of a line without the type IDs. */
static void line_pair(const char *line, char *buf, size_t size)
{
    const char *last = strrchr(line, '\t');
    snprintf(buf, size, "%.*s", last ? (int)(last - line) : 0, line);
}

/* POST /_sim/mutate; checks the summary's invariants. Caller puts it. */
static json_object *mutate(tl_sim *s, const char *body)
{
    json_object *m = tl_mutate(s, body);
    if (!CHECKF(m != NULL, "mutate %s", body))
        return NULL;
    int64_t applied = tl_jint_or(m, "applied", -1), skipped = tl_jint_or(m, "skipped", -1);
    int64_t count = 0, by_kind = 0;
    json_object *req = json_tokener_parse(body);
    count = tl_jint_or(req, "count", -1);
    json_object_put(req);
    json_object *kinds = tl_jget(m, "kinds");
    if (CHECK(json_object_is_type(kinds, json_type_object))) {
        json_object_object_foreach(kinds, kind, n)
        {
            (void)kind;
            by_kind += json_object_get_int64(n);
        }
    }
    CHECKF(applied >= 0 && skipped >= 0 && applied + skipped == count,
           "applied %lld + skipped %lld != count %lld", (long long)applied, (long long)skipped,
           (long long)count);
    CHECK_EQ(by_kind, applied);
    CHECK_OP(tl_jint_or(m, "first_ms", -1), <=, tl_jint_or(m, "last_ms", -2));
    return m;
}

/* One association mutation on `table` and what it must do to the truth and
 * to the parent's last-modified time. */
static void check_assoc_kind(tl_sim *s, const char *table, const char *kind, bool expect_bump)
{
    tl_lines before = {0}, after = {0}, added = {0}, removed = {0};
    json_object *m = NULL;
    char body[160];
    snprintf(body, sizeof(body), "{\"count\":1,\"kinds\":[\"%s\"],\"tables\":[\"%s\"]}", kind,
             table);
    hs_table t;
    REQUIRE(hs_table_parse(table, strlen(table), &t) == 0);
    const char *parent_type = hs_object(t.t_parent)->oi_plural;
    REQUIRE(tl_truth(s, table, &before) == 0);
    m = mutate(s, body);
    REQUIRE(m);
    REQUIRE_EQ(tl_jint_or(m, "applied", -1), 1);
    char key[96];
    snprintf(key, sizeof(key), "kinds.%s", kind);
    CHECK_EQ(tl_jint_or(m, key, -1), 1);
    snprintf(key, sizeof(key), "tables.%s", table);
    CHECK_EQ(tl_jint_or(m, key, -1), 1);
    REQUIRE(tl_truth(s, table, &after) == 0);
    diff_lines(&before, &after, &added, &removed);

    const char *changed = NULL;
    if (!strcmp(kind, "associate")) {
        CHECKF(added.l_count == 1 && removed.l_count == 0, "%s: +%zu -%zu lines", kind,
               added.l_count, removed.l_count);
        changed = added.l_count ? added.l_items[0] : NULL;
    } else if (!strcmp(kind, "dissociate")) {
        CHECKF(added.l_count == 0 && removed.l_count == 1, "%s: +%zu -%zu lines", kind,
               added.l_count, removed.l_count);
        changed = removed.l_count ? removed.l_items[0] : NULL;
    } else {
        /* relabel: the same pair with other type IDs. */
        char pa[96] = "", pr[96] = "";
        if (added.l_count == 1 && removed.l_count == 1) {
            line_pair(added.l_items[0], pa, sizeof(pa));
            line_pair(removed.l_items[0], pr, sizeof(pr));
        }
        CHECKF(added.l_count == 1 && removed.l_count == 1 && strcmp(pa, pr) == 0,
               "%s: +%zu -%zu lines", kind, added.l_count, removed.l_count);
        changed = added.l_count ? added.l_items[0] : NULL;
    }
    REQUIRE(changed);
    uint64_t parent = line_id(changed, 1);
    int64_t mod = tl_modified_of(s, parent_type, parent);
    int64_t first = tl_jint_or(m, "first_ms", -1), last = tl_jint_or(m, "last_ms", -1);
    if (expect_bump) {
        CHECKF(mod >= first && mod <= last, "%s %s: parent %llu modified %lld, write [%lld,%lld]",
               table, kind, (unsigned long long)parent, (long long)mod, (long long)first,
               (long long)last);
        CHECK_OP(tl_jint_or(m, "bumped", -1), >=, 1);
    } else {
        CHECKF(mod >= 0 && mod < first, "%s %s: parent %llu modified %lld, write at %lld", table,
               kind, (unsigned long long)parent, (long long)mod, (long long)first);
        CHECK_EQ(tl_jint_or(m, "bumped", -1), 0);
    }
done:
    json_object_put(m);
    tl_lines_free(&before);
    tl_lines_free(&after);
    tl_lines_free(&added);
    tl_lines_free(&removed);
}

/* --rollup-bumps always: every change on a rollup table moves the parent at
 * once (what the incremental tests rely on). */
static void test_rollup_bumps_always(void)
{
    tl_sim s = {0};
    tl_lines deals_before = {0}, deals_after = {0};
    const char *args[] = {PORTAL_ARGS, "--rollup-bumps", "always", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(tl_truth(&s, "contacts_tickets", &deals_before) == 0);
    /* Writes happen "now": make sure they are later than the portal's. */
    tl_sleep_ms(5);
    check_assoc_kind(&s, "companies_contacts", "associate", true);
    check_assoc_kind(&s, "companies_contacts", "dissociate", true);
    check_assoc_kind(&s, "companies_contacts", "relabel", true);
    check_assoc_kind(&s, "contacts_deals", "associate", true);
    /* companies_tickets is not a rollup table: no bump. */
    check_assoc_kind(&s, "companies_tickets", "associate", false);
    check_assoc_kind(&s, "companies_tickets", "dissociate", false);
    /* A table nobody touched is unchanged. */
    REQUIRE(tl_truth(&s, "contacts_tickets", &deals_after) == 0);
    CHECK(tl_lines_equal(&deals_before, &deals_after, "before", "after"));
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_lines_free(&deals_before);
    tl_lines_free(&deals_after);
    tl_sim_stop(&s);
}

/* --rollup-bumps never (and "off", the old spelling): nothing moves, and
 * nothing is scheduled. */
static void test_rollup_bumps_never(void)
{
    tl_sim s = {0};
    json_object *st = NULL;
    static const char *const spellings[] = {"never", "off"};
    for (size_t i = 0; i < 2; i++) {
        const char *args[] = {PORTAL_ARGS, "--rollup-bumps", spellings[i], NULL};
        REQUIRE(tl_sim_start(&s, args) == 0);
        tl_sleep_ms(5);
        check_assoc_kind(&s, "companies_contacts", "associate", false);
        check_assoc_kind(&s, "companies_contacts", "dissociate", false);
        check_assoc_kind(&s, "companies_contacts", "relabel", false);
        REQUIRE((st = tl_stats(&s)) != NULL);
        CHECK_EQ(tl_jint_or(st, "rollups.scheduled", -1), 0);
        CHECK_EQ(tl_jint_or(st, "rollups.pending", -1), 0);
        json_object_put(st);
        st = NULL;
        CHECK_EQ(tl_sim_stop(&s), 0);
    }
done:
    json_object_put(st);
    tl_sim_stop(&s);
}

/* POSTs {"rollup_bumps": value} and checks the mode the answer reports. */
static void set_rollup_bumps(tl_sim *s, const char *value, const char *want)
{
    char body[64];
    snprintf(body, sizeof(body), "{\"rollup_bumps\":%s}", value);
    tl_resp r;
    tl_post_json(s, "/_sim/config", NULL, body, &r);
    CHECK_EQ(r.r_status, 200);
    CHECKF(tl_jis(tl_resp_json(&r), "rollup_bumps", json_type_string) &&
               tl_str_eq(tl_jstr(tl_resp_json(&r), "rollup_bumps"), want),
           "rollup_bumps %s: the configuration says %s", value,
           tl_jstr(tl_resp_json(&r), "rollup_bumps"));
    tl_resp_free(&r);
}

/* The same switch at run time through POST /_sim/config: a mode name, or a
 * boolean as before (true always, false never). */
static void test_config_switch(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    tl_resp r;
    set_rollup_bumps(&s, "false", "never");
    tl_sleep_ms(5);
    check_assoc_kind(&s, "companies_contacts", "associate", false);
    set_rollup_bumps(&s, "true", "always");
    check_assoc_kind(&s, "companies_contacts", "associate", true);
    set_rollup_bumps(&s, "\"never\"", "never");
    set_rollup_bumps(&s, "\"realistic\"", "realistic");
    set_rollup_bumps(&s, "\"on\"", "always");
    tl_post_json(&s, "/_sim/config", NULL, "{\"rollup_bumps\":\"sometimes\"}", &r);
    CHECK(tl_is_hubspot_error(&r, 400, "VALIDATION_ERROR"));
    tl_resp_free(&r);
    /* GET returns the configuration too; unknown keys are refused. */
    tl_get(&s, "/_sim/config", NULL, &r);
    CHECK_EQ(r.r_status, 200);
    CHECK(tl_jis(tl_resp_json(&r), "index_lag_ms", json_type_int));
    tl_resp_free(&r);
    tl_post_json(&s, "/_sim/config", NULL, "{\"no_such_switch\":1}", &r);
    CHECK_EQ(r.r_status, 400);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

/* Lists every core type, live or archived. */
static bool list_core(tl_sim *s, bool archived, tl_objects out[4])
{
    bool ok = true;
    for (int t = 0; t < 4; t++)
        ok = tl_list_all(s, core_types[t], archived, &out[t]) == 0 && ok;
    return ok;
}

static void free_core(tl_objects os[4])
{
    for (int t = 0; t < 4; t++)
        tl_objects_free(&os[t]);
}

static void test_archive(void)
{
    tl_sim s = {0};
    tl_objects before[4] = {{0}}, after[4] = {{0}}, archived[4] = {{0}};
    json_object *m = NULL;
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(list_core(&s, false, before));
    m = mutate(&s, "{\"count\":1,\"kinds\":[\"archive\"],\"tables\":[\"companies_contacts\"]}");
    REQUIRE(m && tl_jint_or(m, "kinds.archive", -1) == 1);
    REQUIRE(list_core(&s, false, after) && list_core(&s, true, archived));

    /* Exactly one object left the live lists. */
    int gone_type = -1, gone_count = 0;
    uint64_t gone = 0;
    for (int t = 0; t < 4; t++) {
        for (size_t i = 0; i < before[t].os_count; i++) {
            if (!tl_objects_find(&after[t], before[t].os_items[i].o_id)) {
                gone_type = t;
                gone = before[t].os_items[i].o_id;
                gone_count++;
            }
        }
        CHECK_EQ(after[t].os_count + (gone_type == t ? 1 : 0), before[t].os_count);
    }
    REQUIRE_EQ(gone_count, 1);
    CHECK(gone_type == 0 || gone_type == 1); /* a contact or a company */
    const tl_object *a = tl_objects_find(&archived[gone_type], gone);
    CHECKF(a && a->o_archived, "%llu not in the archived list", (unsigned long long)gone);

    /* None of its links survive in any table. */
    char id[32];
    snprintf(id, sizeof(id), "\t%llu\t", (unsigned long long)gone);
    for (int i = 0; i < HS_DEFAULT_TABLE_COUNT; i++) {
        char name[64];
        hs_table_name(hs_default_tables[i], name, sizeof(name));
        tl_lines truth;
        if (!CHECK(tl_truth(&s, name, &truth) == 0))
            continue;
        size_t hits = 0;
        for (size_t k = 0; k < truth.l_count; k++) {
            /* Match the parent or child column exactly. */
            char line[256];
            snprintf(line, sizeof(line), "%s\t", truth.l_items[k]);
            hits += strstr(line, id) != NULL;
        }
        CHECKF(hits == 0, "%s still has %zu lines of archived %llu", name, hits,
               (unsigned long long)gone);
        tl_lines_free(&truth);
    }
    /* Batch read reports it missing; search does not find it. */
    CHECK_EQ(tl_modified_of(&s, core_types[gone_type], gone), -1);
    char body[200], path[96];
    snprintf(body, sizeof(body),
             "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"hs_object_id\",\"operator\":"
             "\"EQ\",\"value\":\"%llu\"}]}]}",
             (unsigned long long)gone);
    snprintf(path, sizeof(path), "/crm/v3/objects/%s/search", core_types[gone_type]);
    tl_resp r;
    tl_post_json(&s, path, TL_TOKEN, body, &r);
    CHECK_EQ(r.r_status, 200);
    CHECK_EQ(tl_jint_or(tl_resp_json(&r), "total", -1), 0);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(m);
    free_core(before);
    free_core(after);
    free_core(archived);
    tl_sim_stop(&s);
}

static void test_create(void)
{
    tl_sim s = {0};
    tl_objects before[4] = {{0}}, after[4] = {{0}};
    json_object *m = NULL;
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(list_core(&s, false, before));
    tl_sleep_ms(5);
    m = mutate(&s, "{\"count\":4,\"kinds\":[\"create\"]}");
    REQUIRE(m);
    int64_t created = tl_jint_or(m, "kinds.create", -1);
    CHECK_EQ(created, 4);
    int64_t first = tl_jint_or(m, "first_ms", -1), last = tl_jint_or(m, "last_ms", -1);
    REQUIRE(list_core(&s, false, after));
    int64_t found = 0;
    for (int t = 0; t < 4; t++) {
        uint64_t max_before =
            before[t].os_count ? before[t].os_items[before[t].os_count - 1].o_id : 0;
        for (size_t i = 0; i < after[t].os_count; i++) {
            const tl_object *o = &after[t].os_items[i];
            if (tl_objects_find(&before[t], o->o_id))
                continue;
            found++;
            /* New objects get higher IDs and are written now. */
            CHECKF(o->o_id > max_before, "new %s %llu below %llu", core_types[t],
                   (unsigned long long)o->o_id, (unsigned long long)max_before);
            CHECKF(o->o_created_ms >= first && o->o_created_ms <= last &&
                       o->o_modified_ms >= first && o->o_modified_ms <= last,
                   "new %s: created %lld modified %lld, writes [%lld,%lld]", core_types[t],
                   (long long)o->o_created_ms, (long long)o->o_modified_ms, (long long)first,
                   (long long)last);
        }
        CHECK_OP(after[t].os_count, >=, before[t].os_count);
    }
    CHECK_EQ(found, created);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(m);
    free_core(before);
    free_core(after);
    tl_sim_stop(&s);
}

/* Objects whose last-modified time changed between two listings. */
static size_t changed_objects(const tl_objects before[4], const tl_objects after[4], int64_t first,
                              int64_t last, size_t *outside)
{
    size_t changed = 0;
    *outside = 0;
    for (int t = 0; t < 4; t++) {
        for (size_t i = 0; i < after[t].os_count; i++) {
            const tl_object *o = &after[t].os_items[i];
            const tl_object *b = tl_objects_find(&before[t], o->o_id);
            if (b && b->o_modified_ms != o->o_modified_ms) {
                changed++;
                *outside += o->o_modified_ms < first || o->o_modified_ms > last;
            }
        }
    }
    return changed;
}

static void check_touch(bool same_ms)
{
    tl_sim s = {0};
    tl_objects before[4] = {{0}}, after[4] = {{0}};
    tl_lines truth_before = {0}, truth_after = {0};
    json_object *m = NULL;
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(list_core(&s, false, before));
    REQUIRE(tl_truth(&s, "companies_contacts", &truth_before) == 0);
    tl_sleep_ms(5);
    m = mutate(&s, same_ms ? "{\"count\":20,\"kinds\":[\"touch\"],\"same_ms\":true}"
                           : "{\"count\":20,\"kinds\":[\"touch\"],\"same_ms\":false}");
    REQUIRE(m);
    int64_t first = tl_jint_or(m, "first_ms", -1), last = tl_jint_or(m, "last_ms", -1);
    if (same_ms)
        CHECK_EQ(first, last);
    REQUIRE(list_core(&s, false, after));
    size_t outside;
    size_t changed = changed_objects(before, after, first, last, &outside);
    /* Twenty touches, some maybe of the same object. */
    CHECK_OP(changed, >=, 1);
    CHECK_OP(changed, <=, 20);
    CHECK_EQ(outside, 0);
    REQUIRE(tl_truth(&s, "companies_contacts", &truth_after) == 0);
    CHECK(tl_lines_equal(&truth_before, &truth_after, "before touch", "after touch"));
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(m);
    free_core(before);
    free_core(after);
    tl_lines_free(&truth_before);
    tl_lines_free(&truth_after);
    tl_sim_stop(&s);
}

static void test_touch(void)
{
    check_touch(false);
}

static void test_same_ms(void)
{
    check_touch(true);
}

/* Searches `type` for last-modified ≥ since; returns total or -1. */
static int64_t search_since(tl_sim *s, const char *type, int64_t since, tl_lines *ids)
{
    hs_object_type t;
    hs_object_parse(type, strlen(type), &t);
    char body[256], path[96];
    snprintf(body, sizeof(body),
             "{\"limit\":200,\"filterGroups\":[{\"filters\":[{\"propertyName\":\"%s\","
             "\"operator\":\"GTE\",\"value\":\"%lld\"}]}]}",
             hs_object(t)->oi_lastmod, (long long)since);
    snprintf(path, sizeof(path), "/crm/v3/objects/%s/search", type);
    tl_resp r;
    tl_post_json(s, path, TL_TOKEN, body, &r);
    json_object *j = tl_resp_json(&r);
    int64_t total = r.r_status == 200 ? tl_jint_or(j, "total", -1) : -1;
    for (size_t i = 0; ids && i < tl_jlen(j, "results"); i++)
        tl_lines_addf(ids, "%s %s", type,
                      tl_jstr(json_object_array_get_idx(tl_jget(j, "results"), i), "id"));
    tl_resp_free(&r);
    return total;
}

static void test_index_lag(void)
{
    tl_sim s = {0};
    tl_objects before[4] = {{0}}, after[4] = {{0}};
    tl_lines want = {0}, got = {0};
    json_object *m = NULL;
    const char *args[] = {PORTAL_ARGS, "--index-lag-ms", "1500", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(list_core(&s, false, before));
    int64_t t0 = tl_now_ms();
    m = mutate(&s, "{\"count\":5,\"kinds\":[\"touch\"],\"tables\":[\"companies_contacts\"]}");
    REQUIRE(m);
    int64_t first = tl_jint_or(m, "first_ms", -1), last = tl_jint_or(m, "last_ms", -1);

    /* At once: search sees none of the writes... */
    int64_t n_companies = search_since(&s, "companies", first, NULL);
    int64_t n_contacts = search_since(&s, "contacts", first, NULL);
    bool in_time = tl_now_ms() - t0 < 1300;
    if (in_time) {
        CHECK_EQ(n_companies, 0);
        CHECK_EQ(n_contacts, 0);
    }
    /* ...while the list endpoint already shows them. */
    REQUIRE(list_core(&s, false, after));
    size_t outside;
    size_t changed = changed_objects(before, after, first, last, &outside);
    CHECK(changed >= 1 && changed <= 5);
    CHECK_EQ(outside, 0);
    for (int t = 0; t < 2; t++)
        for (size_t i = 0; i < after[t].os_count; i++)
            if (after[t].os_items[i].o_modified_ms >= first)
                tl_lines_addf(&want, "%s %llu", core_types[t],
                              (unsigned long long)after[t].os_items[i].o_id);
    tl_lines_sort(&want);
    CHECK_EQ(want.l_count, changed);

    /* After the lag, search finds exactly them. */
    int64_t wait = t0 + 1700 - tl_now_ms();
    if (wait > 0)
        tl_sleep_ms(wait);
    search_since(&s, "companies", first, &got);
    search_since(&s, "contacts", first, &got);
    tl_lines_sort(&got);
    CHECK(tl_lines_equal(&got, &want, "search after the lag", "list"));
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(m);
    free_core(before);
    free_core(after);
    tl_lines_free(&want);
    tl_lines_free(&got);
    tl_sim_stop(&s);
}

int it_register_mutate(void)
{
    CU_pSuite s = it_add_suite("mutate");
    if (!s)
        return -1;
    int rc = 0;
    rc |= it_add_test(s, "rollup_bumps_always", test_rollup_bumps_always);
    rc |= it_add_test(s, "rollup_bumps_never", test_rollup_bumps_never);
    rc |= it_add_test(s, "config_switch", test_config_switch);
    rc |= it_add_test(s, "archive", test_archive);
    rc |= it_add_test(s, "create", test_create);
    rc |= it_add_test(s, "touch", test_touch);
    rc |= it_add_test(s, "same_ms", test_same_ms);
    rc |= it_add_test(s, "index_lag", test_index_lag);
    return rc;
}
