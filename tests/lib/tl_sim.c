/*
 * tl_sim — the simulator's admin helpers, and NULL-safe string equality (see
 * testlib.h).
 */
#include "testlib.h"
#include "tl_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/base/hs_types.h"

/* ---- simulator helpers --------------------------------------------------- */

json_object *tl_stats(tl_sim *s)
{
    tl_resp r;
    tl_get(s, "/_sim/stats", NULL, &r);
    json_object *j = r.r_status == 200 ? tl_resp_json(&r) : NULL;
    if (j)
        json_object_get(j);
    else
        tl_resp_dump("GET /_sim/stats", &r);
    tl_resp_free(&r);
    return j;
}

int64_t tl_stat_int(tl_sim *s, const char *path)
{
    json_object *st = tl_stats(s);
    int64_t v = tl_jint_or(st, path, -1);
    json_object_put(st);
    return v;
}

json_object *tl_mutate(tl_sim *s, const char *body)
{
    tl_resp r;
    tl_post_json(s, "/_sim/mutate", NULL, body, &r);
    json_object *j = r.r_status == 200 ? tl_resp_json(&r) : NULL;
    if (j)
        json_object_get(j);
    else
        tl_resp_dump("POST /_sim/mutate", &r);
    tl_resp_free(&r);
    return j;
}

/* A timestamp property: ISO-8601, or decimal milliseconds. -1 when absent. */
static int64_t time_prop(json_object *props, const char *name)
{
    const char *v = tl_jstr(props, name);
    int64_t ms;
    uint64_t u;
    if (!v)
        return -1;
    if (parse_iso8601_ms(v, strlen(v), &ms) == 0)
        return ms;
    if (tl_parse_u64(v, strlen(v), &u) && u <= INT64_MAX)
        return (int64_t)u;
    return -1;
}

int tl_objects_add(tl_objects *os, const tl_object *o)
{
    if (os->os_count == os->os_cap) {
        size_t cap = os->os_cap ? os->os_cap * 2 : 256;
        tl_object *grown = realloc(os->os_items, cap * sizeof(*grown));
        if (!grown)
            return -1;
        os->os_items = grown;
        os->os_cap = cap;
    }
    os->os_items[os->os_count++] = *o;
    return 0;
}

/* Appends one page's results; fails on a bad ID or one not above the last. */
static int list_page(json_object *page, const char *lastmod, tl_objects *out)
{
    json_object *results = tl_jget(page, "results");
    size_t n =
        json_object_is_type(results, json_type_array) ? json_object_array_length(results) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(results, i);
        const char *id = tl_jstr(item, "id");
        tl_object o = {0};
        if (!id || !tl_parse_u64(id, strlen(id), &o.o_id)) {
            fprintf(stderr, "testlib: list result without a decimal string id\n");
            return -1;
        }
        if (out->os_count && o.o_id <= out->os_items[out->os_count - 1].o_id) {
            fprintf(stderr, "testlib: list IDs not ascending at %s\n", id);
            return -1;
        }
        json_object *props = tl_jget(item, "properties");
        o.o_created_ms = time_prop(props, "createdate");
        o.o_modified_ms = time_prop(props, lastmod);
        json_object *arch = tl_jget(item, "archived");
        o.o_archived = arch && json_object_get_boolean(arch);
        if (tl_objects_add(out, &o) < 0)
            return -1;
    }
    return 0;
}

int tl_list_all(tl_sim *s, const char *type, bool archived, tl_objects *out)
{
    memset(out, 0, sizeof(*out));
    hs_object_type t;
    if (hs_object_parse(type, strlen(type), &t) < 0)
        return -1;
    const char *lastmod = hs_object(t)->oi_lastmod;
    char after[32] = "";
    for (;;) {
        tl_resp r;
        tl_getf(s, TL_TOKEN, &r, "/crm/v3/objects/%s?limit=100&properties=createdate,%s%s%s%s",
                type, lastmod, archived ? "&archived=true" : "", after[0] ? "&after=" : "", after);
        json_object *page = r.r_status == 200 ? tl_resp_json(&r) : NULL;
        if (!page || list_page(page, lastmod, out) < 0) {
            tl_resp_dump("list page", &r);
            tl_resp_free(&r);
            tl_objects_free(out);
            return -1;
        }
        const char *next = tl_jstr(page, "paging.next.after");
        uint64_t next_id = 0;
        bool more = next != NULL;
        if (more && (!tl_parse_u64(next, strlen(next), &next_id) ||
                     (out->os_count && next_id <= out->os_items[out->os_count - 1].o_id))) {
            fprintf(stderr, "testlib: paging.next.after \"%s\" does not advance\n", next);
            tl_resp_free(&r);
            tl_objects_free(out);
            return -1;
        }
        if (more)
            snprintf(after, sizeof(after), "%s", next);
        tl_resp_free(&r);
        if (!more)
            return 0;
    }
}

/* The last-modified property of `type` ("lastmodifieddate" for contacts),
 * or NULL for an unknown type. */
static const char *lastmod_of(const char *type)
{
    hs_object_type t;
    return hs_object_parse(type, strlen(type), &t) < 0 ? NULL : hs_object(t)->oi_lastmod;
}

/* POSTs `body` to /crm/v3/objects/{type}/{endpoint} and reads `lastmod` of
 * the first result; -1 when there is none. An answer other than a 200 (or
 * a 207 from a batch read, a search finding nothing) is dumped. */
static int64_t first_modified(tl_sim *s, const char *type, const char *endpoint,
                              const char *lastmod, const char *body)
{
    char path[96], prop[64];
    snprintf(path, sizeof(path), "/crm/v3/objects/%s/%s", type, endpoint);
    snprintf(prop, sizeof(prop), "results.0.properties.%s", lastmod);
    tl_resp r;
    tl_post_json(s, path, TL_TOKEN, body, &r);
    json_object *j = r.r_status == 200 ? tl_resp_json(&r) : NULL;
    const char *v = tl_jstr(j, prop);
    int64_t ms = -1;
    bool found = v && parse_iso8601_ms(v, strlen(v), &ms) == 0;
    if (!found && r.r_status != 207 && !(j && tl_jlen(j, "results") == 0))
        tl_resp_dump(endpoint, &r);
    tl_resp_free(&r);
    return found ? ms : -1;
}

int64_t tl_modified_of(tl_sim *s, const char *type, uint64_t id)
{
    const char *lastmod = lastmod_of(type);
    char body[192];
    if (!lastmod)
        return -1;
    snprintf(body, sizeof(body), "{\"properties\":[\"%s\"],\"inputs\":[{\"id\":\"%llu\"}]}",
             lastmod, (unsigned long long)id);
    return first_modified(s, type, "batch/read", lastmod, body);
}

int64_t tl_search_modified_of(tl_sim *s, const char *type, uint64_t id)
{
    const char *lastmod = lastmod_of(type);
    char body[256];
    if (!lastmod)
        return -1;
    snprintf(body, sizeof(body),
             "{\"properties\":[\"%s\"],\"filterGroups\":[{\"filters\":[{\"propertyName\":"
             "\"hs_object_id\",\"operator\":\"EQ\",\"value\":\"%llu\"}]}]}",
             lastmod, (unsigned long long)id);
    return first_modified(s, type, "search", lastmod, body);
}

const tl_object *tl_objects_find(const tl_objects *os, uint64_t id)
{
    size_t lo = 0, hi = os->os_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (os->os_items[mid].o_id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < os->os_count && os->os_items[lo].o_id == id ? &os->os_items[lo] : NULL;
}

void tl_objects_free(tl_objects *os)
{
    free(os->os_items);
    memset(os, 0, sizeof(*os));
}

/* ---- strings ----------------------------------------------------------- */

bool tl_str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}
