/*
 * it_rollups — the realistic rollup model over HTTP: a change on a rollup
 * table moves the parent's last-modified time only when its recomputation
 * runs (after the delay), and only when a value changed, unless missed;
 * /_sim/stats counts it all; /_sim/config switches it and the rollups at run
 * time. Records asked for a rollup property show its stored value: the one
 * from before a pending recomputation, the current one otherwise; search
 * filters and sorts on that same value, on real rollups only.
 *
 * Every test waits for measured progress (rollups.pending in /_sim/stats
 * reaching 0) with short delays, never for a fixed time.
 */
#include <stdint.h>
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

/* ------------------------------------------------------ rollup values */

#define CC_COUNT "sync_assoc_companies_contacts_count"

/* The realistic model, a recomputation pending for more than a second: the
 * reads made while it is pending take milliseconds. */
#define SLOW_ROLLUPS_CONFIG                                                                        \
    "{\"rollup_bumps\":\"realistic\",\"rollup_delay_min_ms\":1000,"                                \
    "\"rollup_delay_max_ms\":1200,\"rollup_tail\":0,\"rollup_miss\":0}"

/* True when the comma-separated type IDs of a truth line hold type_id. */
static bool has_type_id(const char *ids, int type_id)
{
    while (*ids) {
        char *end;
        long v = strtol(ids, &end, 10);
        if (end == ids)
            return false;
        if (v == type_id)
            return true;
        ids = *end == ',' ? end + 1 : end;
    }
    return false;
}

/* The links of `parent` in a table's truth lines (table, parent, child,
 * type IDs), only those carrying type_id when it is > 0: what a count
 * rollup, or the per-label rollup of that label, holds. */
static int64_t truth_count(const tl_lines *truth, uint64_t parent, int type_id)
{
    int64_t n = 0;
    for (size_t i = 0; i < truth->l_count; i++) {
        const char *line = truth->l_items[i], *tab = strchr(line, '\t');
        if (!tab || strtoull(tab + 1, NULL, 10) != parent)
            continue;
        n += type_id <= 0 || has_type_id(strrchr(line, '\t') + 1, type_id);
    }
    return n;
}

/* The value a record shows for `prop`: -1 when it is absent, -2 when it is
 * not a string of decimal digits (HubSpot sends numbers as strings). */
static int64_t record_value(json_object *rec, const char *prop)
{
    json_object *props = tl_jget(rec, "properties"), *v;
    if (!props || !json_object_object_get_ex(props, prop, &v))
        return -1;
    const char *str = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    uint64_t u;
    return tl_parse_u64(str, strlen(str), &u) && u < INT32_MAX ? (int64_t)u : -2;
}

/* GET one page of companies (limit 100), with properties=`names` unless
 * NULL. Its results (owned by r), or NULL after a failed check. */
static json_object *list_companies(tl_sim *s, const char *names, tl_resp *r)
{
    tl_getf(s, TL_TOKEN, r, "/crm/v3/objects/companies?limit=100%s%s", names ? "&properties=" : "",
            names ? names : "");
    json_object *res = tl_jget(r->r_status == 200 ? tl_resp_json(r) : NULL, "results");
    if (!CHECKF(json_object_is_type(res, json_type_array), "list with properties=%s", names)) {
        tl_resp_dump("list", r);
        return NULL;
    }
    return res;
}

/* Checks that every record of `results` shows `prop` as its links in
 * `truth` (of type_id when > 0). Returns how many records were checked and
 * in *nonzero how many showed more than 0; -1 after a failed check. */
static int check_values(json_object *results, const char *prop, const tl_lines *truth, int type_id,
                        int *nonzero)
{
    size_t n = json_object_array_length(results);
    *nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *rec = json_object_array_get_idx(results, i);
        const char *id = tl_jstr(rec, "id");
        uint64_t parent = id ? strtoull(id, NULL, 10) : 0;
        int64_t shown = record_value(rec, prop), want = truth_count(truth, parent, type_id);
        if (!CHECKF(shown == want, "company %s: %s is %lld, its links in the truth %lld", id, prop,
                    (long long)shown, (long long)want))
            return -1;
        *nonzero += shown > 0;
    }
    return (int)n;
}

/* Writes "a,b" as the JSON array ["a","b"]. */
static void json_names(const char *names, char *out, size_t n)
{
    size_t o = 0;
    out[o++] = '[';
    out[o++] = '"';
    for (const char *c = names; *c && o + 4 < n; c++) {
        if (*c == ',') {
            out[o++] = '"';
            out[o++] = ',';
            out[o++] = '"';
        } else {
            out[o++] = *c;
        }
    }
    out[o++] = '"';
    out[o++] = ']';
    out[o] = '\0';
}

/* Company `id` with the properties `names` ("a,b") as `how` shows it: 'b'
 * batch read, 'l' a list page starting at it, 's' a search for its ID. The
 * record (owned by r), or NULL after a failed check. */
static json_object *company_as(tl_sim *s, char how, uint64_t id, const char *names, tl_resp *r)
{
    char list[512], body[1024];
    unsigned long long u = (unsigned long long)id;
    json_names(names, list, sizeof(list));
    if (how == 'l')
        tl_getf(s, TL_TOKEN, r, "/crm/v3/objects/companies?limit=1&after=%llu&properties=%s", u,
                names);
    else if (how == 'b')
        snprintf(body, sizeof(body), "{\"properties\":%s,\"inputs\":[{\"id\":\"%llu\"}]}", list, u);
    else
        snprintf(body, sizeof(body),
                 "{\"properties\":%s,\"filterGroups\":[{\"filters\":[{\"propertyName\":"
                 "\"hs_object_id\",\"operator\":\"EQ\",\"value\":\"%llu\"}]}]}",
                 list, u);
    if (how != 'l')
        tl_post_json(s,
                     how == 'b' ? "/crm/v3/objects/companies/batch/read"
                                : "/crm/v3/objects/companies/search",
                     TL_TOKEN, body, r);
    json_object *rec = tl_jget(r->r_status == 200 ? tl_resp_json(r) : NULL, "results.0");
    const char *got = tl_jstr(rec, "id");
    if (!CHECKF(got && strtoull(got, NULL, 10) == id, "company %llu (%c) not found", u, how)) {
        tl_resp_dump("company", r);
        return NULL;
    }
    return rec;
}

/* `prop` of company `id` as `how` shows it (company_as); < 0 when absent. */
static int64_t value_of(tl_sim *s, char how, uint64_t id, const char *prop)
{
    tl_resp r = {0};
    int64_t v = record_value(company_as(s, how, id, prop, &r), prop);
    tl_resp_free(&r);
    return v;
}

/* A per-label rollup of companies_contacts: its property name and the
 * label's type ID as the companies side sees it. */
typedef struct label_rollup {
    char lr_name[96];
    int lr_type_id;
} label_rollup;

/* The user-defined labels of companies_contacts from the labels endpoint,
 * each with the name its rollup has: the label in lower case, anything but
 * a-z0-9 as '_'. Returns how many, or -1 after a failed check. */
static int company_contact_labels(tl_sim *s, label_rollup *out, int max)
{
    tl_resp r = {0};
    tl_get(s, "/crm/v4/associations/companies/contacts/labels", TL_TOKEN, &r);
    json_object *res = tl_jget(r.r_status == 200 ? tl_resp_json(&r) : NULL, "results");
    int n = 0;
    for (size_t i = 0; res && i < json_object_array_length(res) && n < max; i++) {
        json_object *l = json_object_array_get_idx(res, i);
        const char *label = tl_jstr(l, "label");
        if (!tl_str_eq(tl_jstr(l, "category"), "USER_DEFINED") || !label)
            continue;
        char slug[40];
        size_t k = 0;
        for (; label[k] && k + 1 < sizeof(slug); k++) {
            char c = label[k] >= 'A' && label[k] <= 'Z' ? (char)(label[k] + 32) : label[k];
            slug[k] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '_';
        }
        slug[k] = '\0';
        snprintf(out[n].lr_name, sizeof(out[n].lr_name), "sync_assoc_companies_contacts_%s", slug);
        out[n++].lr_type_id = (int)tl_jint_or(l, "typeId", -1);
    }
    CHECKF(res != NULL, "GET labels answered %ld", r.r_status);
    tl_resp_free(&r);
    return res ? n : -1;
}

/* POST /_sim/config `body`; false after a failed check. */
static bool set_config(tl_sim *s, const char *body)
{
    tl_resp r = {0};
    tl_post_json(s, "/_sim/config", NULL, body, &r);
    bool ok = CHECKF(r.r_status == 200, "config %s: %ld", body, r.r_status);
    tl_resp_free(&r);
    return ok;
}

/* One mutation of `kind` on companies_contacts: the truth before and after
 * it (sorted) and the company it changed. 0 after a failed check. */
static uint64_t mutate_company(tl_sim *s, const char *kind, tl_lines *before, tl_lines *after)
{
    json_object *m = NULL;
    uint64_t parent = 0;
    if (CHECK(tl_truth(s, "companies_contacts", before) == 0) &&
        (m = mutate(s, 1, kind, "companies_contacts")) != NULL &&
        CHECK(tl_truth(s, "companies_contacts", after) == 0))
        parent = changed_parent(before, after);
    CHECKF(parent != 0, "%s on companies_contacts changed no company", kind);
    json_object_put(m);
    return parent;
}

/* A list page asked for the count shows, on every company, its links in
 * /_sim/truth; unasked (no properties, other names, another type's rollup
 * or the near-miss on the child) no count. Values follow the portal. */
static void test_values_in_list(void)
{
    tl_sim s = {0};
    tl_lines truth = {0};
    tl_resp r = {0};
    json_object *m = NULL, *res;
    const char *args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    for (int round = 0; round < 2; round++) {
        REQUIRE(tl_truth(&s, "companies_contacts", &truth) == 0);
        REQUIRE((res = list_companies(&s, "hs_lastmodifieddate," CC_COUNT, &r)) != NULL);
        int nonzero, n = check_values(res, CC_COUNT, &truth, 0, &nonzero);
        CHECKF(n >= 50 && nonzero > 0, "%d companies, %d with contacts", n, nonzero);
        CHECK(tl_jstr(res, "0.properties.hs_lastmodifieddate") != NULL);
        tl_resp_free(&r);
        tl_lines_free(&truth);
        /* Counts move with the links (always mode: nothing pending). */
        json_object_put(m);
        REQUIRE((m = tl_mutate(&s, "{\"count\":40,\"kinds\":[\"associate\",\"dissociate\"],"
                                   "\"tables\":[\"companies_contacts\"]}")) != NULL);
    }
    static const char *const unasked[] = {
        NULL, "name,domain", "sync_assoc_contacts_deals_count,sync_assoc_contacts_companies_count"};
    for (size_t k = 0; k < sizeof(unasked) / sizeof(unasked[0]); k++) {
        REQUIRE((res = list_companies(&s, unasked[k], &r)) != NULL);
        for (size_t i = 0; i < json_object_array_length(res); i++) {
            json_object *rec = json_object_array_get_idx(res, i);
            if (!CHECKF(record_value(rec, CC_COUNT) == -1 &&
                            record_value(rec, "sync_assoc_contacts_deals_count") == -1 &&
                            record_value(rec, "sync_assoc_contacts_companies_count") == -1,
                        "properties=%s shows a rollup", unasked[k] ? unasked[k] : "(none)"))
                break;
        }
        tl_resp_free(&r);
    }
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(m);
    tl_resp_free(&r);
    tl_lines_free(&truth);
    tl_sim_stop(&s);
}

/* Search asked for the count shows the values the list and the truth do. */
static void test_values_in_search(void)
{
    tl_sim s = {0};
    tl_lines truth = {0};
    tl_resp r = {0}, lr = {0};
    const char *args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(tl_truth(&s, "companies_contacts", &truth) == 0);
    tl_post_json(&s, "/crm/v3/objects/companies/search", TL_TOKEN,
                 "{\"limit\":200,\"properties\":[\"" CC_COUNT "\"],\"sorts\":[\"hs_object_id\"]}",
                 &r);
    json_object *found = tl_jget(r.r_status == 200 ? tl_resp_json(&r) : NULL, "results");
    json_object *listed = list_companies(&s, CC_COUNT, &lr);
    REQUIREF(json_object_is_type(found, json_type_array) && listed, "search answered %ld",
             r.r_status);
    int nonzero, n = check_values(found, CC_COUNT, &truth, 0, &nonzero);
    CHECKF(n >= 50 && nonzero > 0, "%d companies, %d with contacts", n, nonzero);
    REQUIRE_EQ(json_object_array_length(found), json_object_array_length(listed));
    for (size_t i = 0; i < json_object_array_length(found); i++) {
        json_object *a = json_object_array_get_idx(found, i);
        json_object *b = json_object_array_get_idx(listed, i);
        CHECK_STR(tl_jstr(a, "id"), tl_jstr(b, "id"));
        CHECK_EQ(record_value(a, CC_COUNT), record_value(b, CC_COUNT));
    }
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_resp_free(&r);
    tl_resp_free(&lr);
    tl_lines_free(&truth);
    tl_sim_stop(&s);
}

/* Realistic mode: after an associate, list, batch read and search show the
 * count from before it while its recomputation is pending, the new count
 * once it ran. */
static void test_pending_shows_stored(void)
{
    tl_sim s = {0};
    tl_lines before = {0}, after = {0};
    json_object *st = NULL;
    const char *args[] = {IT_SMALL_PORTAL, FAST_ROLLUPS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(set_config(&s, SLOW_ROLLUPS_CONFIG));
    uint64_t parent = mutate_company(&s, "associate", &before, &after);
    REQUIRE(parent != 0);
    int64_t old = truth_count(&before, parent, 0), now = truth_count(&after, parent, 0);
    CHECK_EQ(now, old + 1);
    /* Read first, then ask whether it was still pending (pending drops
     * only after the recomputation ran). */
    int64_t batch = value_of(&s, 'b', parent, CC_COUNT);
    int64_t listed = value_of(&s, 'l', parent, CC_COUNT);
    int64_t searched = value_of(&s, 's', parent, CC_COUNT);
    REQUIRE_EQ(tl_stat_int(&s, "rollups.pending"), 1);
    CHECKF(batch == old && listed == old && searched == old,
           "company %llu while pending: batch %lld, list %lld, search %lld; before %lld",
           (unsigned long long)parent, (long long)batch, (long long)listed, (long long)searched,
           (long long)old);
    REQUIRE((st = settled_stats(&s)) != NULL);
    CHECK_EQ(tl_jint_or(st, "rollups.recomputed", -1), 1);
    CHECK_EQ(value_of(&s, 'b', parent, CC_COUNT), now);
    CHECK_EQ(value_of(&s, 'l', parent, CC_COUNT), now);
    CHECK_EQ(value_of(&s, 's', parent, CC_COUNT), now);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(st);
    tl_lines_free(&before);
    tl_lines_free(&after);
    tl_sim_stop(&s);
}

/* Reads the per-label values of company `id` (batch read) into v[]; false
 * after a failed check. */
static bool label_values(tl_sim *s, uint64_t id, const label_rollup *l, int n, int64_t *v)
{
    char names[1024] = CC_COUNT;
    for (int i = 0; i < n; i++)
        snprintf(names + strlen(names), sizeof(names) - strlen(names), ",%s", l[i].lr_name);
    tl_resp r = {0};
    json_object *rec = company_as(s, 'b', id, names, &r);
    for (int i = 0; i < n; i++)
        v[i] = record_value(rec, l[i].lr_name);
    tl_resp_free(&r);
    return rec != NULL;
}

/* A :labels table: every company shows each label's count as the truth
 * has it; in realistic mode a relabel shows the old per-label values while
 * its recomputation is pending, the new ones after. */
static void test_label_values(void)
{
    tl_sim s = {0};
    tl_lines truth = {0}, after = {0};
    tl_resp r = {0};
    json_object *st = NULL, *res;
    label_rollup l[8];
    int64_t shown[8];
    char names[1024] = CC_COUNT;
    const char *args[] = {
        IT_SMALL_PORTAL, "--tier", "unlimited", "--rollups", "companies_contacts:labels", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    int nl = company_contact_labels(&s, l, 8);
    REQUIRE(nl >= 2);
    for (int i = 0; i < nl; i++)
        snprintf(names + strlen(names), sizeof(names) - strlen(names), ",%s", l[i].lr_name);
    REQUIRE(tl_truth(&s, "companies_contacts", &truth) == 0);
    REQUIRE((res = list_companies(&s, names, &r)) != NULL);
    int labelled = 0;
    for (int i = 0; i < nl; i++) {
        int nonzero;
        CHECK(check_values(res, l[i].lr_name, &truth, l[i].lr_type_id, &nonzero) >= 50);
        labelled += nonzero;
    }
    CHECKF(labelled > 0, "no company shows a labelled contact");
    tl_resp_free(&r);
    tl_lines_free(&truth);

    REQUIRE(set_config(&s, SLOW_ROLLUPS_CONFIG));
    uint64_t parent = mutate_company(&s, "relabel", &truth, &after);
    REQUIRE(parent != 0);
    REQUIRE(label_values(&s, parent, l, nl, shown));
    REQUIRE_EQ(tl_stat_int(&s, "rollups.pending"), 1);
    int moved = 0;
    for (int i = 0; i < nl; i++) {
        int64_t old = truth_count(&truth, parent, l[i].lr_type_id);
        moved += old != truth_count(&after, parent, l[i].lr_type_id);
        CHECKF(shown[i] == old, "%s of %llu while pending: %lld, before %lld", l[i].lr_name,
               (unsigned long long)parent, (long long)shown[i], (long long)old);
    }
    CHECK_EQ(moved, 1); /* a relabel flips one label of one link */
    REQUIRE((st = settled_stats(&s)) != NULL);
    REQUIRE(label_values(&s, parent, l, nl, shown));
    for (int i = 0; i < nl; i++)
        CHECK_EQ(shown[i], truth_count(&after, parent, l[i].lr_type_id));
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(st);
    tl_resp_free(&r);
    tl_lines_free(&truth);
    tl_lines_free(&after);
    tl_sim_stop(&s);
}

/* While a recomputation is pending: per-label rollups added at run time
 * show their current values (it captured none); the count shows its
 * captured value in realistic mode and the current one in always mode. */
static void test_pending_mode_and_added_labels(void)
{
    tl_sim s = {0};
    tl_lines before = {0}, after = {0};
    label_rollup l[8];
    int64_t shown[8];
    const char *args[] = {
        ONE_COMPANY_PORTAL,   FAST_ROLLUPS, "--rollup-delay-ms", "60000:60000", "--rollups",
        "companies_contacts", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    uint64_t parent = mutate_company(&s, "associate", &before, &after);
    REQUIRE(parent != 0);
    int64_t old = truth_count(&before, parent, 0), now = truth_count(&after, parent, 0);
    REQUIRE(set_config(&s, "{\"rollups\":\"companies_contacts:labels\"}"));
    REQUIRE_EQ(tl_stat_int(&s, "rollups.pending"), 1);
    int nl = company_contact_labels(&s, l, 8);
    REQUIRE(nl >= 1);
    REQUIRE(label_values(&s, parent, l, nl, shown));
    int labelled = 0;
    for (int i = 0; i < nl; i++) {
        CHECK_EQ(shown[i], truth_count(&after, parent, l[i].lr_type_id));
        labelled += shown[i] > 0;
    }
    CHECKF(labelled > 0, "the company has no labelled contact: the check above cannot fail");
    CHECK_EQ(value_of(&s, 'b', parent, CC_COUNT), old);
    REQUIRE(set_config(&s, "{\"rollup_bumps\":\"always\"}"));
    CHECK_EQ(tl_stat_int(&s, "rollups.pending"), 1);
    CHECK_EQ(value_of(&s, 'b', parent, CC_COUNT), now);
    REQUIRE(set_config(&s, "{\"rollup_bumps\":\"realistic\"}"));
    CHECK_EQ(value_of(&s, 'b', parent, CC_COUNT), old);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_lines_free(&before);
    tl_lines_free(&after);
    tl_sim_stop(&s);
}

/* ------------------------------------------------ rollups in search */

/* One rollup's value for one company. */
typedef struct counted {
    uint64_t c_id;
    int64_t c_value;
} counted;

static int counted_by_id(const void *a, const void *b)
{
    uint64_t x = ((const counted *)a)->c_id, y = ((const counted *)b)->c_id;
    return (x > y) - (x < y);
}

/* Every live company with its links in `truth` (only those carrying
 * type_id when > 0), in ID order: the value of the rollup when nothing is
 * pending. One pass over the truth. malloc'd (*n set), or NULL after a
 * failed check. */
static counted *company_counts(tl_sim *s, const tl_lines *truth, int type_id, size_t *n)
{
    tl_objects os = {0};
    *n = 0;
    if (!CHECK(tl_list_all(s, "companies", false, &os) == 0))
        return NULL;
    counted *c = calloc(os.os_count + 1, sizeof(*c));
    if (!CHECK(c != NULL)) {
        tl_objects_free(&os);
        return NULL;
    }
    for (size_t i = 0; i < os.os_count; i++)
        c[i].c_id = os.os_items[i].o_id;
    qsort(c, os.os_count, sizeof(*c), counted_by_id);
    for (size_t i = 0; i < truth->l_count; i++) {
        const char *line = truth->l_items[i], *tab = strchr(line, '\t');
        if (!tab)
            continue;
        counted key = {strtoull(tab + 1, NULL, 10), 0};
        counted *hit = bsearch(&key, c, os.os_count, sizeof(*c), counted_by_id);
        if (hit && (type_id <= 0 || has_type_id(strrchr(line, '\t') + 1, type_id)))
            hit->c_value++;
    }
    *n = os.os_count;
    tl_objects_free(&os);
    return c;
}

/* One filter on a rollup: its operator and values, sent as HubSpot sends
 * them, strings of digits ("500"). */
typedef struct rfilter {
    const char *rf_op;
    int64_t rf_a, rf_b; /* value; BETWEEN's highValue, or IN's second value */
} rfilter;

static bool rfilter_holds(const rfilter *f, int64_t v)
{
    const char *op = f->rf_op;
    if (strcmp(op, "EQ") == 0)
        return v == f->rf_a;
    if (strcmp(op, "NEQ") == 0)
        return v != f->rf_a;
    if (strcmp(op, "LT") == 0)
        return v < f->rf_a;
    if (strcmp(op, "LTE") == 0)
        return v <= f->rf_a;
    if (strcmp(op, "GT") == 0)
        return v > f->rf_a;
    if (strcmp(op, "GTE") == 0)
        return v >= f->rf_a;
    if (strcmp(op, "BETWEEN") == 0)
        return v >= f->rf_a && v <= f->rf_b;
    if (strcmp(op, "IN") == 0)
        return v == f->rf_a || v == f->rf_b;
    return strcmp(op, "HAS_PROPERTY") == 0; /* every company has a value */
}

/* The search body filtering `prop` by f, sorted by it, all on one page. */
static void rfilter_body(const char *prop, const rfilter *f, bool descending, char *out, size_t n)
{
    char values[96] = "";
    const char *op = f->rf_op;
    long long a = (long long)f->rf_a, b = (long long)f->rf_b;
    if (strcmp(op, "BETWEEN") == 0)
        snprintf(values, sizeof(values), ",\"value\":\"%lld\",\"highValue\":\"%lld\"", a, b);
    else if (strcmp(op, "IN") == 0)
        snprintf(values, sizeof(values), ",\"values\":[\"%lld\",\"%lld\"]", a, b);
    else if (strstr(op, "HAS_PROPERTY") == NULL)
        snprintf(values, sizeof(values), ",\"value\":\"%lld\"", a);
    snprintf(out, n,
             "{\"limit\":200,\"properties\":[\"%s\"],\"filterGroups\":[{\"filters\":[{"
             "\"propertyName\":\"%s\",\"operator\":\"%s\"%s}]}],\"sorts\":[{\"propertyName\":"
             "\"%s\",\"direction\":\"%s\"}]}",
             prop, prop, op, values, prop, descending ? "DESCENDING" : "ASCENDING");
}

static bool g_descending; /* the order by_value sorts in */

/* The search's order: by value, ties by ID ascending. */
static int by_value(const void *a, const void *b)
{
    const counted *x = a, *y = b;
    if (x->c_value != y->c_value)
        return (x->c_value < y->c_value) == g_descending ? 1 : -1;
    return counted_by_id(a, b);
}

/* Searches companies filtering and sorting on rollup `prop` and checks the
 * answer against the oracle: c[0..n-1] (each company's value) filtered by
 * f and sorted; the total, the IDs in order and the values they show.
 * Returns how many matched, or -1 after a failed check. */
static int check_search(tl_sim *s, const char *prop, const rfilter *f, bool descending,
                        const counted *c, size_t n)
{
    counted *want = malloc((n + 1) * sizeof(*want));
    char body[1024];
    tl_resp r = {0};
    int rc = -1;
    size_t nw = 0;
    if (!CHECK(want != NULL))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (rfilter_holds(f, c[i].c_value))
            want[nw++] = c[i];
    g_descending = descending;
    qsort(want, nw, sizeof(*want), by_value);
    rfilter_body(prop, f, descending, body, sizeof(body));
    tl_post_json(s, "/crm/v3/objects/companies/search", TL_TOKEN, body, &r);
    json_object *res = tl_jget(r.r_status == 200 ? tl_resp_json(&r) : NULL, "results");
    if (!CHECKF(res && (size_t)tl_jint_or(tl_resp_json(&r), "total", -1) == nw &&
                    json_object_array_length(res) == (nw < 200 ? nw : 200),
                "%s: %ld, total %lld, want %zu", body, r.r_status,
                (long long)tl_jint_or(tl_resp_json(&r), "total", -1), nw)) {
        tl_resp_dump("search", &r);
        goto out;
    }
    for (size_t i = 0; i < json_object_array_length(res); i++) {
        json_object *rec = json_object_array_get_idx(res, i);
        const char *id = tl_jstr(rec, "id");
        int64_t shown = record_value(rec, prop);
        if (!CHECKF(id && strtoull(id, NULL, 10) == want[i].c_id && shown == want[i].c_value,
                    "%s: result %zu is %s showing %lld, want %llu with %lld", body, i, id,
                    (long long)shown, (unsigned long long)want[i].c_id, (long long)want[i].c_value))
            goto out;
    }
    rc = (int)nw;
out:
    tl_resp_free(&r);
    free(want);
    return rc;
}

/* More than one heavy company: a count filter GT "500" sorted DESCENDING
 * finds exactly the companies with more than 500 links in the truth, in
 * that order, with the true total; every numeric operator agrees with the
 * truth, and the values follow the links as they change (always mode). */
static void test_search_filter_sort(void)
{
    tl_sim s = {0};
    tl_lines truth = {0};
    counted *c = NULL;
    json_object *m = NULL;
    /* 200 companies (one page of search), sparse enough that some have no
     * contact at all; three heavy ones with 2,000 (the --heavy-links default). */
    const char *args[] = {"--contacts", "2500",      "--companies", "200", "--deals",         "150",
                          "--tickets",  "30",        "--density",   "0.2", "--heavy-parents", "3",
                          "--tier",     "unlimited", NULL};
    static const rfilter ops[] = {
        {"HAS_PROPERTY", 0, 0}, {"NOT_HAS_PROPERTY", 0, 0},
        {"EQ", 0, 0},           {"NEQ", 0, 0},
        {"LT", 3, 0},           {"LTE", 3, 0},
        {"GTE", 3, 0},          {"BETWEEN", 1, 4},
        {"IN", 0, 2},
    };
    REQUIRE(tl_sim_start(&s, args) == 0);
    for (int round = 0; round < 2; round++) {
        size_t n;
        REQUIRE(tl_truth(&s, "companies_contacts", &truth) == 0);
        REQUIRE((c = company_counts(&s, &truth, 0, &n)) != NULL);
        const rfilter heavy = {"GT", 500, 0};
        int found = check_search(&s, CC_COUNT, &heavy, true, c, n);
        CHECKF(found >= 2 && found < (int)n, "%d of %zu companies above 500 links", found, n);
        /* A company without links has the value 0, not none. */
        const rfilter zero = {"EQ", 0, 0};
        CHECKF(check_search(&s, CC_COUNT, &zero, false, c, n) > 0, "no company without links");
        for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
            CHECK(check_search(&s, CC_COUNT, &ops[k], k % 2 == 0, c, n) >= 0);
        free(c);
        c = NULL;
        tl_lines_free(&truth);
        if (round == 1)
            break;
        /* Always mode: the values move with the links at once. */
        REQUIRE((m = tl_mutate(&s, "{\"count\":40,\"kinds\":[\"associate\",\"dissociate\"],"
                                   "\"tables\":[\"companies_contacts\"]}")) != NULL);
    }
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(m);
    free(c);
    tl_lines_free(&truth);
    tl_sim_stop(&s);
}

/* Realistic mode, many recomputations pending: search filters and sorts on
 * the stored values, the counts from before the changes (what the records
 * show), then on the new counts once they ran. */
static void test_search_sees_stored(void)
{
    tl_sim s = {0};
    tl_lines before = {0}, after = {0};
    counted *old = NULL, *now = NULL;
    json_object *m1 = NULL, *m2 = NULL, *st = NULL;
    const char *args[] = {IT_SMALL_PORTAL, FAST_ROLLUPS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    /* Two seconds' margin: the reads below take milliseconds. */
    REQUIRE(set_config(&s, "{\"rollup_delay_min_ms\":2000,\"rollup_delay_max_ms\":2200}"));
    REQUIRE(tl_truth(&s, "companies_contacts", &before) == 0);
    REQUIRE((m1 = mutate(&s, 30, "associate", "companies_contacts")) != NULL);
    REQUIRE((m2 = mutate(&s, 30, "dissociate", "companies_contacts")) != NULL);
    int64_t scheduled =
        tl_jint_or(m1, "rollup_scheduled", -1) + tl_jint_or(m2, "rollup_scheduled", -1);
    REQUIRE(tl_truth(&s, "companies_contacts", &after) == 0);
    size_t n, n2, k = 0;
    REQUIRE((old = company_counts(&s, &before, 0, &n)) != NULL);
    REQUIRE((now = company_counts(&s, &after, 0, &n2)) != NULL);
    REQUIRE_EQ(n, n2);
    while (k < n && old[k].c_value == now[k].c_value)
        k++;
    REQUIREF(k < n, "no company's count changed: the checks below cannot fail");
    /* EQ the changed company's old count finds it only while pending. */
    const rfilter fs[] = {{"HAS_PROPERTY", 0, 0},
                          {"EQ", old[k].c_value, 0},
                          {"GT", old[k].c_value, 0},
                          {"LTE", old[k].c_value, 0}};
    size_t nf = sizeof(fs) / sizeof(fs[0]);
    for (size_t i = 0; i < nf; i++)
        CHECK(check_search(&s, CC_COUNT, &fs[i], i % 2 == 0, old, n) >= 0);
    /* Read first, then ask whether they were all still pending. */
    REQUIRE_EQ(tl_stat_int(&s, "rollups.pending"), scheduled);
    REQUIRE((st = settled_stats(&s)) != NULL);
    CHECK_EQ(tl_jint_or(st, "rollups.recomputed", -1), scheduled);
    for (size_t i = 0; i < nf; i++)
        CHECK(check_search(&s, CC_COUNT, &fs[i], i % 2 == 0, now, n) >= 0);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(m1);
    json_object_put(m2);
    json_object_put(st);
    free(old);
    free(now);
    tl_lines_free(&before);
    tl_lines_free(&after);
    tl_sim_stop(&s);
}

/* Per-label rollups filter and sort on each label's count. */
static void test_search_label_rollup(void)
{
    tl_sim s = {0};
    tl_lines truth = {0};
    counted *c = NULL;
    label_rollup l[8];
    const char *args[] = {
        IT_SMALL_PORTAL, "--tier", "unlimited", "--rollups", "companies_contacts:labels", NULL};
    static const rfilter ops[] = {{"GT", 0, 0}, {"EQ", 1, 0}, {"BETWEEN", 1, 2}, {"LT", 1, 0}};
    REQUIRE(tl_sim_start(&s, args) == 0);
    int nl = company_contact_labels(&s, l, 8);
    REQUIRE(nl >= 2);
    REQUIRE(tl_truth(&s, "companies_contacts", &truth) == 0);
    int labelled = 0;
    for (int i = 0; i < nl; i++) {
        size_t n;
        REQUIRE((c = company_counts(&s, &truth, l[i].lr_type_id, &n)) != NULL);
        for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
            int found = check_search(&s, l[i].lr_name, &ops[k], k % 2 == 0, c, n);
            CHECK(found >= 0);
            labelled += k == 0 && found > 0;
        }
        free(c);
        c = NULL;
    }
    CHECKF(labelled > 0, "no company has a labelled contact: the checks above cannot fail");
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    free(c);
    tl_lines_free(&truth);
    tl_sim_stop(&s);
}

/* Searches `type` filtering (or, with sort, sorting) on `prop` and expects
 * the 400 an unknown property gets, with its message. */
static bool refused(tl_sim *s, const char *type, const char *prop, bool sort)
{
    char path[64], body[512], want[256];
    snprintf(path, sizeof(path), "/crm/v3/objects/%s/search", type);
    if (sort) {
        snprintf(body, sizeof(body), "{\"sorts\":[{\"propertyName\":\"%s\"}]}", prop);
        snprintf(want, sizeof(want), "Property \"%s\" cannot be sorted on", prop);
    } else {
        snprintf(body, sizeof(body),
                 "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"%s\",\"operator\":"
                 "\"GTE\",\"value\":\"0\"}]}]}",
                 prop);
        snprintf(want, sizeof(want), "Property \"%s\" does not exist or cannot be searched on %s",
                 prop, type);
    }
    tl_resp r = {0};
    tl_post_json(s, path, TL_TOKEN, body, &r);
    bool ok = tl_is_hubspot_error(&r, 400, "VALIDATION_ERROR");
    ok = CHECKF(ok && tl_str_eq(tl_jstr(tl_resp_json(&r), "message"), want), "%s %s: %ld %s", type,
                body, r.r_status, tl_jstr(tl_resp_json(&r), "message"));
    tl_resp_free(&r);
    return ok;
}

/* POSTs `body` to companies search; its status. */
static long search_status(tl_sim *s, const char *body)
{
    tl_resp r = {0};
    tl_post_json(s, "/crm/v3/objects/companies/search", TL_TOKEN, body, &r);
    long status = r.r_status;
    tl_resp_free(&r);
    return status;
}

/* Only real rollups of the searched type are searchable: look-alikes (one
 * named like a count), the near-misses, another type's rollup, a label's
 * name where the table has only the count, and rollups removed at run time
 * stay unknown properties (400, the message as before). Rollup values are
 * integers, not dates. */
static void test_search_unknown(void)
{
    tl_sim s = {0};
    label_rollup l[8];
    const char *args[] = {IT_SMALL_PORTAL,
                          "--tier",
                          "unlimited",
                          "--rollups",
                          "companies_contacts,contacts_deals:labels",
                          "--rollup-lookalikes",
                          "companies_contacts,companies_deals",
                          NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(company_contact_labels(&s, l, 8) >= 1);
    const char *companies[] = {"firstname",
                               "sync_assoc_companies_contacts_legacy",
                               "sync_assoc_companies_deals_count",
                               "sync_assoc_companies_contacts_note",
                               "sync_assoc_contacts_deals_count",
                               l[0].lr_name};
    for (size_t i = 0; i < sizeof(companies) / sizeof(companies[0]); i++) {
        CHECK(refused(&s, "companies", companies[i], false));
        CHECK(refused(&s, "companies", companies[i], true));
    }
    CHECK(refused(&s, "contacts", "sync_assoc_contacts_companies_count", false));
    CHECK(refused(&s, "contacts", "sync_assoc_contacts_companies_count", true));
    CHECK(refused(&s, "contacts", CC_COUNT, false));
    /* The real ones are searchable on their own type. */
    tl_resp r = {0};
    tl_post_json(&s, "/crm/v3/objects/contacts/search", TL_TOKEN,
                 "{\"sorts\":[\"-sync_assoc_contacts_deals_count\"]}", &r);
    CHECK_EQ(r.r_status, 200);
    tl_resp_free(&r);
    CHECK_EQ(search_status(&s, "{\"sorts\":[\"" CC_COUNT "\"]}"), 200);
    /* Counts are integers: a date or a word is no value for one. */
    static const char *const bad_values[] = {"\"2024-01-17T00:00:00Z\"", "\"abc\"", "\"1.5\""};
    for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"" CC_COUNT
                 "\",\"operator\":\"EQ\",\"value\":%s}]}]}",
                 bad_values[i]);
        CHECKF(search_status(&s, body) == 400, "%s", body);
    }
    REQUIRE(set_config(&s, "{\"rollups\":\"none\"}"));
    CHECK(refused(&s, "companies", CC_COUNT, false));
    CHECK(refused(&s, "companies", CC_COUNT, true));
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
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
    rc |= it_add_test(s, "values_in_list", test_values_in_list);
    rc |= it_add_test(s, "values_in_search", test_values_in_search);
    rc |= it_add_test(s, "pending_shows_stored", test_pending_shows_stored);
    rc |= it_add_test(s, "label_values", test_label_values);
    rc |= it_add_test(s, "pending_mode_and_added_labels", test_pending_mode_and_added_labels);
    rc |= it_add_test(s, "search_filter_sort", test_search_filter_sort);
    rc |= it_add_test(s, "search_sees_stored", test_search_sees_stored);
    rc |= it_add_test(s, "search_label_rollup", test_search_label_rollup);
    rc |= it_add_test(s, "search_unknown", test_search_unknown);
    return rc;
}
