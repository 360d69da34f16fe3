/*
 * sim_api — routing and the read endpoints of the simulated HubSpot API
 * (see sim_api.h). Response bodies are written straight into a jbuf; the
 * association batch read, the hot path of every benchmark, writes each link
 * from fragments prepared once per table and direction.
 */
#include "sim_api.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_cursor.h"
#include "sim_json.h"
#include "sim_profile.h"
#include "sim_render.h"
#include "sim_search.h"

/* ---------------------------------------------------------------- responses */

void sim_response_init(sim_response *rs)
{
    memset(rs, 0, sizeof(*rs));
    rs->rs_status = 200;
    rs->rs_content_type = "application/json;charset=utf-8";
    jb_init(&rs->rs_body);
}

void sim_response_free(sim_response *rs)
{
    jb_free(&rs->rs_body);
}

void sim_response_header(sim_response *rs, const char *name, const char *fmt, ...)
{
    if (rs->rs_nheaders == SIM_MAX_HEADERS)
        return;
    sim_header *h = &rs->rs_headers[rs->rs_nheaders++];
    snprintf(h->h_name, sizeof(h->h_name), "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->h_value, sizeof(h->h_value), fmt, ap);
    va_end(ap);
}

void sim_uuid(char *out)
{
    static _Atomic uint64_t counter = 0x5eed;
    uint64_t x = atomic_fetch_add(&counter, 0x9e3779b97f4a7c15ULL);
    uint64_t a = sim_splitmix64(&x), b = sim_splitmix64(&x);
    snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16 & 0xffff), (unsigned)(a & 0xfff),
             (unsigned)(0x8000 | (b >> 48 & 0x3fff)), (unsigned long long)(b & 0xffffffffffffULL));
}

void sim_response_error(sim_response *rs, int status, const char *category, const char *subcategory,
                        const char *context_json, const char *fmt, ...)
{
    char message[512], uuid[37];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    sim_uuid(uuid);
    rs->rs_status = status;
    rs->rs_content_type = "application/json;charset=utf-8";
    jb_reset(&rs->rs_body);
    jbuf *b = &rs->rs_body;
    jb_lit(b, "{\"status\":\"error\",\"message\":");
    jb_str(b, message);
    jb_lit(b, ",\"correlationId\":");
    jb_str(b, uuid);
    jb_lit(b, ",\"category\":");
    jb_str(b, category);
    if (subcategory) {
        jb_lit(b, ",\"subCategory\":");
        jb_str(b, subcategory);
    }
    if (context_json) {
        jb_lit(b, ",\"context\":");
        jb_raw(b, context_json, strlen(context_json));
    }
    jb_char(b, '}');
}

#define BAD_REQUEST(rs, ...)                                                                       \
    sim_response_error((rs), 400, "VALIDATION_ERROR", NULL, NULL, __VA_ARGS__)

/* ------------------------------------------------------------------ routing */

enum { MAX_SEGMENTS = 10 };

typedef struct segs {
    int n;
    const char *s[MAX_SEGMENTS];
    size_t len[MAX_SEGMENTS];
} segs;

static void split_path(const char *path, segs *sg)
{
    sg->n = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != '/')
            p++;
        if (sg->n == MAX_SEGMENTS) {
            sg->n = MAX_SEGMENTS + 1; /* too deep: matches nothing */
            return;
        }
        sg->s[sg->n] = start;
        sg->len[sg->n] = (size_t)(p - start);
        sg->n++;
    }
}

static bool seg_is(const segs *sg, int i, const char *lit)
{
    return i < sg->n && sg->len[i] == strlen(lit) && memcmp(sg->s[i], lit, sg->len[i]) == 0;
}

static bool take_type(sim_route *r, const segs *sg, int i, hs_object_type *out)
{
    if (hs_object_parse(sg->s[i], sg->len[i], out) == 0)
        return true;
    if (!r->r_bad_type)
        snprintf(r->r_bad_segment, sizeof(r->r_bad_segment), "%.*s", (int)sg->len[i], sg->s[i]);
    r->r_bad_type = true;
    return false;
}

static bool take_id(const segs *sg, int i, uint64_t *out)
{
    uint64_t v = 0;
    if (sg->len[i] == 0 || sg->len[i] > 19)
        return false;
    for (size_t k = 0; k < sg->len[i]; k++) {
        char c = sg->s[i][k];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (uint64_t)(c - '0');
    }
    *out = v;
    return true;
}

static void set_route(sim_route *r, sim_route_kind kind, const char *method, const char *want)
{
    r->r_kind = kind;
    r->r_method_ok =
        strcmp(method, want) == 0 || (kind == SIM_ROUTE_ADMIN_CONFIG && strcmp(method, "GET") == 0);
}

static const char *type_name(const sim_route *r, hs_object_type t)
{
    return r->r_bad_type ? "{unknown}" : hs_object(t)->oi_plural;
}

void sim_route_parse(const char *method, const char *path, sim_route *r)
{
    memset(r, 0, sizeof(*r));
    segs sg;
    split_path(path, &sg);
    bool v3_objects = seg_is(&sg, 0, "crm") && seg_is(&sg, 1, "v3") && seg_is(&sg, 2, "objects");
    bool dated_objects =
        seg_is(&sg, 0, "crm") && seg_is(&sg, 1, "objects") && seg_is(&sg, 2, "2026-03");
    bool v4_assoc = seg_is(&sg, 0, "crm") && seg_is(&sg, 1, "v4") && seg_is(&sg, 2, "associations");
    bool dated_assoc =
        seg_is(&sg, 0, "crm") && seg_is(&sg, 1, "associations") && seg_is(&sg, 2, "2026-03");
    const char *prefix = "";
    if ((v3_objects || dated_objects) && sg.n >= 4) {
        prefix = v3_objects ? "/crm/v3/objects" : "/crm/objects/2026-03";
        take_type(r, &sg, 3, &r->r_type);
        if (sg.n == 4)
            set_route(r, SIM_ROUTE_OBJECT_LIST, method, "GET");
        else if (sg.n == 5 && seg_is(&sg, 4, "search"))
            set_route(r, SIM_ROUTE_SEARCH, method, "POST");
        else if (sg.n == 6 && seg_is(&sg, 4, "batch") && seg_is(&sg, 5, "read"))
            set_route(r, SIM_ROUTE_OBJECT_BATCH, method, "POST");
        if (r->r_kind == SIM_ROUTE_NOT_FOUND)
            return;
        const char *rest = r->r_kind == SIM_ROUTE_SEARCH         ? "/search"
                           : r->r_kind == SIM_ROUTE_OBJECT_BATCH ? "/batch/read"
                                                                 : "";
        snprintf(r->r_stats_key, sizeof(r->r_stats_key), "%s %s/%s%s", method, prefix,
                 type_name(r, r->r_type), rest);
    } else if ((v4_assoc || dated_assoc) && sg.n >= 6) {
        prefix = v4_assoc ? "/crm/v4/associations" : "/crm/associations/2026-03";
        take_type(r, &sg, 3, &r->r_type);
        take_type(r, &sg, 4, &r->r_to);
        const char *rest = "";
        if (sg.n == 7 && seg_is(&sg, 5, "batch") && seg_is(&sg, 6, "read")) {
            set_route(r, SIM_ROUTE_ASSOC_BATCH, method, "POST");
            rest = "/batch/read";
        } else if (sg.n == 6 && seg_is(&sg, 5, "labels")) {
            set_route(r, SIM_ROUTE_ASSOC_LABELS, method, "GET");
            rest = "/labels";
        }
        if (r->r_kind == SIM_ROUTE_NOT_FOUND)
            return;
        snprintf(r->r_stats_key, sizeof(r->r_stats_key), "%s %s/%s/%s%s", method, prefix,
                 type_name(r, r->r_type), type_name(r, r->r_to), rest);
    } else if (seg_is(&sg, 0, "crm") && seg_is(&sg, 1, "v4") && seg_is(&sg, 2, "objects") &&
               sg.n == 7 && seg_is(&sg, 5, "associations")) {
        if (!take_id(&sg, 4, &r->r_id))
            return;
        take_type(r, &sg, 3, &r->r_type);
        take_type(r, &sg, 6, &r->r_to);
        set_route(r, SIM_ROUTE_ASSOC_GET, method, "GET");
        snprintf(r->r_stats_key, sizeof(r->r_stats_key),
                 "%s /crm/v4/objects/%s/{id}/associations/%s", method, type_name(r, r->r_type),
                 type_name(r, r->r_to));
    } else if (seg_is(&sg, 0, "crm") && seg_is(&sg, 1, "v3") && seg_is(&sg, 2, "properties") &&
               sg.n == 4) {
        take_type(r, &sg, 3, &r->r_type);
        set_route(r, SIM_ROUTE_PROPERTIES, method, "GET");
        snprintf(r->r_stats_key, sizeof(r->r_stats_key), "%s /crm/v3/properties/%s", method,
                 type_name(r, r->r_type));
    } else if (seg_is(&sg, 0, "oauth") && (seg_is(&sg, 1, "v1") || seg_is(&sg, 1, "v3")) &&
               seg_is(&sg, 2, "token") && sg.n == 3) {
        set_route(r, SIM_ROUTE_OAUTH_TOKEN, method, "POST");
        snprintf(r->r_stats_key, sizeof(r->r_stats_key), "%s /oauth/%.2s/token", method, sg.s[1]);
    } else if (seg_is(&sg, 0, "_sim") && sg.n == 2) {
        static const struct {
            const char *name, *method;
            sim_route_kind kind;
        } admin[] = {
            {"truth", "GET", SIM_ROUTE_ADMIN_TRUTH},
            {"mutate", "POST", SIM_ROUTE_ADMIN_MUTATE},
            {"stats", "GET", SIM_ROUTE_ADMIN_STATS},
            {"reset-stats", "POST", SIM_ROUTE_ADMIN_RESET},
            {"config", "POST", SIM_ROUTE_ADMIN_CONFIG},
            {"rename-label", "POST", SIM_ROUTE_ADMIN_RENAME_LABEL},
        };
        for (size_t i = 0; i < sizeof(admin) / sizeof(admin[0]); i++)
            if (seg_is(&sg, 1, admin[i].name))
                set_route(r, admin[i].kind, method, admin[i].method);
    }
}

bool sim_route_is_api(const sim_route *r)
{
    return r->r_kind >= SIM_ROUTE_OBJECT_LIST && r->r_kind <= SIM_ROUTE_PROPERTIES;
}

/* ------------------------------------------------------------ small helpers */

static int query_u64(const sim_request *rq, const char *key, uint64_t *out, bool *present)
{
    const char *v = rq->rq_query ? rq->rq_query(rq->rq_query_ctx, key) : NULL;
    *present = v != NULL;
    if (!v)
        return 0;
    uint64_t x = 0;
    if (!*v || strlen(v) > 19)
        return -1;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    *out = x;
    return 0;
}

/* archived=true|false; absent means false. */
static int query_archived(const sim_request *rq, bool *archived)
{
    const char *v = rq->rq_query ? rq->rq_query(rq->rq_query_ctx, "archived") : NULL;
    *archived = false;
    if (!v || strcmp(v, "false") == 0)
        return 0;
    if (strcmp(v, "true") == 0) {
        *archived = true;
        return 0;
    }
    return -1;
}

static void upper_singular(char *out, size_t n, hs_object_type t)
{
    const char *s = hs_object(t)->oi_singular;
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        out[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
    out[i] = '\0';
}

static void batch_times(jbuf *b, int64_t now_ms)
{
    jb_lit(b, ",\"startedAt\":");
    jb_iso8601_ms(b, now_ms);
    jb_lit(b, ",\"completedAt\":");
    jb_iso8601_ms(b, now_ms);
}

typedef char prop_name[SIM_PROP_NAME_MAX];

/* Every requested name can be resolved for rendering. */
_Static_assert((int)SIM_SEARCH_MAX_PROPS <= (int)SIM_RENDER_MAX_PROPS,
               "requested names outgrow rendering");

/* Collects "a,b,c" into names; returns the count (extra names are dropped). */
static int split_props(const char *list, prop_name *names, int max)
{
    int n = 0;
    while (list && *list && n < max) {
        const char *comma = strchr(list, ',');
        size_t len = comma ? (size_t)(comma - list) : strlen(list);
        if (len > 0 && len < SIM_PROP_NAME_MAX) {
            memcpy(names[n], list, len);
            names[n][len] = '\0';
            n++;
        }
        list += len + (comma ? 1 : 0);
    }
    return n;
}

/* ------------------------------------------------------------- object list */

static void handle_list(const sim_api_ctx *ctx, sim_rollup_mode mode, const sim_route *route,
                        const sim_request *rq, sim_response *rs)
{
    const sim_objects *o = &ctx->ac_portal->p_obj[route->r_type];
    uint64_t limit = 10, after = 0;
    bool has_limit, has_after, archived;
    if (query_u64(rq, "limit", &limit, &has_limit) || limit < 1 || limit > 100) {
        BAD_REQUEST(rs, "limit must be an integer from 1 to 100");
        return;
    }
    if (query_u64(rq, "after", &after, &has_after)) {
        BAD_REQUEST(rs, "after must be a record ID");
        return;
    }
    if (query_archived(rq, &archived)) {
        BAD_REQUEST(rs, "archived must be true or false");
        return;
    }
    prop_name props[SIM_SEARCH_MAX_PROPS];
    const char *plist = rq->rq_query ? rq->rq_query(rq->rq_query_ctx, "properties") : NULL;
    int nprops = split_props(plist, props, SIM_SEARCH_MAX_PROPS);
    sim_render_props rp;
    sim_render_props_resolve(&rp, ctx->ac_portal, route->r_type, (const prop_name *)props, nprops,
                             mode);
    jbuf *b = &rs->rs_body;
    jb_lit(b, "{\"results\":[");
    uint32_t i = sim_object_lower_bound(o, after), emitted = 0;
    for (; i < o->o_count && emitted < limit; i++) {
        if ((bool)o->o_archived[i] != archived)
            continue;
        if (emitted++)
            jb_char(b, ',');
        sim_render_object_props(b, ctx->ac_portal, route->r_type, i, o->o_modified_ms[i], &rp);
    }
    while (i < o->o_count && (bool)o->o_archived[i] != archived)
        i++;
    rs->rs_results = emitted;
    jb_char(b, ']');
    if (i < o->o_count) {
        jb_lit(b, ",\"paging\":{\"next\":{\"after\":");
        jb_u64_str(b, o->o_id[i]);
        jb_printf(b,
                  ",\"link\":\"https://api.hubapi.com/crm/v3/objects/%s?limit=%llu&after=%llu\"}}",
                  hs_object(route->r_type)->oi_plural, (unsigned long long)limit,
                  (unsigned long long)o->o_id[i]);
    }
    jb_char(b, '}');
}

/* ------------------------------------------------------- object batch read */

/* Collects a JSON array of names into names (extra names are dropped).
 * Returns the count, or -1 when it is not an array of strings. */
static int props_array(json_object *v, prop_name *names, int max)
{
    if (!json_object_is_type(v, json_type_array))
        return -1;
    int n = 0;
    for (size_t i = 0; i < json_object_array_length(v) && n < max; i++) {
        json_object *pv = json_object_array_get_idx(v, i);
        if (!json_object_is_type(pv, json_type_string))
            return -1;
        snprintf(names[n++], SIM_PROP_NAME_MAX, "%s", json_object_get_string(pv));
    }
    return n;
}

static void handle_object_batch(const sim_api_ctx *ctx, sim_rollup_mode mode,
                                const sim_route *route, const sim_request *rq, sim_response *rs)
{
    const sim_objects *o = &ctx->ac_portal->p_obj[route->r_type];
    bool archived;
    if (query_archived(rq, &archived)) {
        BAD_REQUEST(rs, "archived must be true or false");
        return;
    }
    json_object *root = sim_json_parse(rq->rq_body, rq->rq_body_len), *inputs, *v;
    if (!root || !json_object_is_type(root, json_type_object) ||
        !json_object_object_get_ex(root, "inputs", &inputs) ||
        !json_object_is_type(inputs, json_type_array)) {
        BAD_REQUEST(rs, "Invalid input JSON: expected {\"inputs\":[{\"id\":…}]}");
        json_object_put(root);
        return;
    }
    size_t n = json_object_array_length(inputs);
    prop_name props[SIM_SEARCH_MAX_PROPS];
    int nprops = 0;
    uint32_t *found = NULL;
    uint64_t *missing = NULL;
    if (n > 100) {
        BAD_REQUEST(rs, "Too many inputs: %zu (the limit is 100)", n);
        goto out;
    }
    if (json_object_object_get_ex(root, "idProperty", &v) &&
        !json_object_is_type(v, json_type_null) &&
        (!json_object_is_type(v, json_type_string) ||
         strcmp(json_object_get_string(v), "hs_object_id") != 0)) {
        BAD_REQUEST(rs, "idProperty: only hs_object_id is supported by the simulator");
        goto out;
    }
    if (json_object_object_get_ex(root, "properties", &v) &&
        (nprops = props_array(v, props, SIM_SEARCH_MAX_PROPS)) < 0) {
        BAD_REQUEST(rs, "properties must be an array of names");
        goto out;
    }
    found = malloc((n ? n : 1) * sizeof(*found));
    missing = malloc((n ? n : 1) * sizeof(*missing));
    if (!found || !missing) {
        sim_response_error(rs, 500, "INTERNAL_ERROR", NULL, NULL, "out of memory");
        goto out;
    }
    size_t nfound = 0, nmissing = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *in = json_object_array_get_idx(inputs, i), *jid;
        uint64_t id;
        if (!json_object_is_type(in, json_type_object) ||
            !json_object_object_get_ex(in, "id", &jid) || sim_json_u64(jid, &id)) {
            BAD_REQUEST(rs, "inputs[%zu].id must be a record ID string", i);
            goto out;
        }
        uint32_t idx;
        if (sim_object_find(ctx->ac_portal, route->r_type, id, &idx) == 0 &&
            (bool)o->o_archived[idx] == archived)
            found[nfound++] = idx;
        else
            missing[nmissing++] = id;
    }
    sim_render_props rp;
    sim_render_props_resolve(&rp, ctx->ac_portal, route->r_type, (const prop_name *)props, nprops,
                             mode);
    jbuf *b = &rs->rs_body;
    rs->rs_inputs = (uint32_t)n;
    rs->rs_results = (uint32_t)nfound;
    jb_lit(b, "{\"status\":\"COMPLETE\",\"results\":[");
    for (size_t i = 0; i < nfound; i++) {
        if (i)
            jb_char(b, ',');
        sim_render_object_props(b, ctx->ac_portal, route->r_type, found[i],
                                o->o_modified_ms[found[i]], &rp);
    }
    jb_char(b, ']');
    if (nmissing) {
        char upper[32];
        upper_singular(upper, sizeof(upper), route->r_type);
        jb_lit(b, ",\"numErrors\":1,\"errors\":[{\"status\":\"error\",\"category\":"
                  "\"OBJECT_NOT_FOUND\",\"message\":\"Could not get some ");
        jb_raw(b, upper, strlen(upper));
        jb_lit(b, " objects, they may be deleted or not exist. Check that ids are valid.\","
                  "\"context\":{\"ids\":[");
        for (size_t i = 0; i < nmissing; i++) {
            if (i)
                jb_char(b, ',');
            jb_u64_str(b, missing[i]);
        }
        jb_lit(b, "]}}]");
        rs->rs_status = 207;
    }
    batch_times(b, rq->rq_now_ms);
    jb_char(b, '}');
out:
    free(found);
    free(missing);
    json_object_put(root);
}

/* ------------------------------------------------------------ associations */

/* Writes a link's "associationTypes" array as HubSpot does: primary first,
 * then the unlabeled type, then user-defined labels. */
static void write_assoc_types(jbuf *b, const sim_table *t, bool reverse, const sim_link *l)
{
    int primary = reverse ? t->tb_primary_rev : t->tb_primary_fwd;
    int unlabeled = reverse ? t->tb_unlabeled_rev : t->tb_unlabeled_fwd;
    jb_lit(b, "\"associationTypes\":[");
    if (l->l_primary && primary) {
        jb_lit(b, "{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":");
        jb_u64(b, (uint64_t)primary);
        jb_lit(b, ",\"label\":\"Primary\"},");
    }
    jb_lit(b, "{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":");
    jb_u64(b, (uint64_t)unlabeled);
    jb_lit(b, ",\"label\":null}");
    for (int i = 0; l->l_labels && i < t->tb_nlabels; i++) {
        if (!(l->l_labels & (1u << i)))
            continue;
        const sim_label *lb = &t->tb_labels[i];
        jb_lit(b, ",{\"category\":\"USER_DEFINED\",\"typeId\":");
        jb_u64(b, (uint64_t)(reverse ? lb->lb_typeid_rev : lb->lb_typeid_fwd));
        jb_lit(b, ",\"label\":");
        jb_str(b, reverse ? lb->lb_inverse : lb->lb_name);
        jb_char(b, '}');
    }
    jb_char(b, ']');
}

/* The first link after child ID `after_id` (the cursor's position). */
static uint32_t links_after(const sim_adj *a, const sim_objects *other, uint64_t after_id)
{
    uint32_t lo = 0, hi = a->a_len;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (other->o_id[a->a_links[mid].l_other] <= after_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Writes up to page_size links of `a` from `start`; returns the next position. */
static uint32_t write_links(jbuf *b, const sim_table *t, bool reverse, const sim_adj *a,
                            const sim_objects *other, uint32_t start, uint32_t page_size)
{
    uint32_t end = a->a_len - start > page_size ? start + page_size : a->a_len;
    for (uint32_t k = start; k < end; k++) {
        const sim_link *l = &a->a_links[k];
        if (k > start)
            jb_char(b, ',');
        jb_lit(b, "{\"toObjectId\":");
        jb_u64(b, other->o_id[l->l_other]);
        jb_char(b, ',');
        write_assoc_types(b, t, reverse, l);
        jb_char(b, '}');
    }
    return end;
}

/* Writes ,"paging":{"next":{"after","link"}} for a parent whose links go on
 * after position `next` (limit 0: the batch form of the link, without it). */
static void write_paging(jbuf *b, const sim_route *route, uint64_t from_id, const sim_adj *a,
                         const sim_objects *to, uint32_t next, uint64_t limit)
{
    const char *to_type_id = hs_object(route->r_to)->oi_type_id;
    char cursor[SIM_CURSOR_MAX], limit_arg[32] = "";
    sim_cursor_encode(to_type_id, to->o_id[a->a_links[next - 1].l_other], cursor);
    if (limit)
        snprintf(limit_arg, sizeof(limit_arg), "limit=%llu&", (unsigned long long)limit);
    jb_lit(b, ",\"paging\":{\"next\":{\"after\":\"");
    jb_raw(b, cursor, strlen(cursor));
    jb_printf(b,
              "\",\"link\":\"https://api.hubapi.com/crm/v4/objects/%s/%llu/associations/"
              "%s?%safter=%s\"}}",
              hs_object(route->r_type)->oi_type_id, (unsigned long long)from_id, to_type_id,
              limit_arg, cursor);
}

static void no_associations_error(jbuf *b, hs_object_type from, hs_object_type to, uint64_t id)
{
    const char *fs = hs_object(from)->oi_singular, *ts = hs_object(to)->oi_singular;
    jb_lit(b, "{\"status\":\"error\",\"category\":\"OBJECT_NOT_FOUND\",\"subCategory\":"
              "\"crm.associations.NO_ASSOCIATIONS_FOUND\",\"message\":\"No ");
    jb_raw(b, ts, strlen(ts));
    jb_lit(b, " is associated with ");
    jb_raw(b, fs, strlen(fs));
    jb_char(b, ' ');
    jb_u64(b, id);
    jb_lit(b, ".\",\"context\":{\"fromObjectId\":[");
    jb_u64_str(b, id);
    jb_lit(b, "],\"fromObjectType\":[\"");
    jb_raw(b, fs, strlen(fs));
    jb_lit(b, "\"],\"toObjectType\":[\"");
    jb_raw(b, ts, strlen(ts));
    jb_lit(b, "\"]}}");
}

typedef struct batch_input {
    uint64_t bi_id;
    bool bi_has_after;
    uint64_t bi_after_id;
    bool bi_no_associations; /* goes to errors[] rather than results[] */
} batch_input;

static int parse_assoc_inputs(const sim_route *route, const sim_request *rq, batch_input **out,
                              size_t *count, sim_response *rs)
{
    json_object *root = sim_json_parse(rq->rq_body, rq->rq_body_len), *inputs;
    int rc = -1;
    if (!root || !json_object_is_type(root, json_type_object) ||
        !json_object_object_get_ex(root, "inputs", &inputs) ||
        !json_object_is_type(inputs, json_type_array)) {
        BAD_REQUEST(rs, "Invalid input JSON: expected {\"inputs\":[{\"id\":…,\"after\":…}]}");
        goto out;
    }
    size_t n = json_object_array_length(inputs);
    if (n > 1000) {
        BAD_REQUEST(rs, "Too many inputs: %zu (the limit is 1000)", n);
        goto out;
    }
    batch_input *in = calloc(n ? n : 1, sizeof(*in));
    if (!in) {
        sim_response_error(rs, 500, "INTERNAL_ERROR", NULL, NULL, "out of memory");
        goto out;
    }
    const char *to_type_id = hs_object(route->r_to)->oi_type_id;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(inputs, i), *jid, *jafter;
        if (!json_object_is_type(e, json_type_object) ||
            !json_object_object_get_ex(e, "id", &jid) || sim_json_u64(jid, &in[i].bi_id)) {
            BAD_REQUEST(rs, "inputs[%zu].id must be a record ID string", i);
            free(in);
            goto out;
        }
        if (json_object_object_get_ex(e, "after", &jafter) &&
            !json_object_is_type(jafter, json_type_null)) {
            const char *a = json_object_get_string(jafter);
            if (!json_object_is_type(jafter, json_type_string) ||
                sim_cursor_decode(a, strlen(a), to_type_id, 0, &in[i].bi_after_id)) {
                BAD_REQUEST(rs, "inputs[%zu].after is not a valid paging cursor", i);
                free(in);
                goto out;
            }
            in[i].bi_has_after = true;
        }
    }
    *out = in;
    *count = n;
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

static void handle_assoc_batch(const sim_api_ctx *ctx, const sim_route *route,
                               const sim_request *rq, sim_response *rs)
{
    int unlabeled, primary;
    if (hs_assoc_type_ids(route->r_type, route->r_to, &unlabeled, &primary)) {
        BAD_REQUEST(rs, "There are no associations between %s and %s",
                    hs_object(route->r_type)->oi_plural, hs_object(route->r_to)->oi_plural);
        return;
    }
    batch_input *in = NULL;
    size_t n = 0;
    if (parse_assoc_inputs(route, rq, &in, &n, rs))
        return;
    rs->rs_inputs = (uint32_t)n;
    sim_portal *p = ctx->ac_portal;
    bool reverse = false;
    const sim_table *t = sim_table_find(p, route->r_type, route->r_to, &reverse);
    const sim_objects *from = &p->p_obj[route->r_type], *to = &p->p_obj[route->r_to];
    jbuf *b = &rs->rs_body;
    size_t nerr = 0;
    jb_lit(b, "{\"status\":\"COMPLETE\",\"results\":[");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        uint32_t idx;
        const sim_adj *a = NULL;
        uint32_t start = 0;
        if (t && sim_object_find(p, route->r_type, in[i].bi_id, &idx) == 0 &&
            !from->o_archived[idx]) {
            a = sim_links(t, reverse, idx);
            start = in[i].bi_has_after ? links_after(a, to, in[i].bi_after_id) : 0;
        }
        if (!a || start >= a->a_len) {
            in[i].bi_no_associations = true;
            nerr++;
            continue;
        }
        if (!first)
            jb_char(b, ',');
        first = false;
        jb_lit(b, "{\"from\":{\"id\":");
        jb_u64_str(b, in[i].bi_id);
        jb_lit(b, "},\"to\":[");
        uint32_t next = write_links(b, t, reverse, a, to, start, ctx->ac_assoc_page_size);
        rs->rs_results += next - start;
        jb_char(b, ']');
        if (next < a->a_len)
            write_paging(b, route, in[i].bi_id, a, to, next, 0);
        jb_char(b, '}');
    }
    jb_char(b, ']');
    if (nerr) {
        jb_lit(b, ",\"numErrors\":");
        jb_u64(b, nerr);
        jb_lit(b, ",\"errors\":[");
        bool efirst = true;
        for (size_t i = 0; i < n; i++) {
            if (!in[i].bi_no_associations)
                continue;
            if (!efirst)
                jb_char(b, ',');
            efirst = false;
            no_associations_error(b, route->r_type, route->r_to, in[i].bi_id);
        }
        jb_char(b, ']');
        rs->rs_status = 207;
    }
    batch_times(b, rq->rq_now_ms);
    jb_char(b, '}');
    free(in);
}

static void handle_assoc_get(const sim_api_ctx *ctx, const sim_route *route, const sim_request *rq,
                             sim_response *rs)
{
    sim_portal *p = ctx->ac_portal;
    uint64_t limit = 500;
    bool has_limit;
    if (query_u64(rq, "limit", &limit, &has_limit) || limit < 1 || limit > 500) {
        BAD_REQUEST(rs, "limit must be an integer from 1 to 500");
        return;
    }
    const char *to_type_id = hs_object(route->r_to)->oi_type_id;
    const char *after = rq->rq_query ? rq->rq_query(rq->rq_query_ctx, "after") : NULL;
    uint64_t after_id = 0;
    if (after && sim_cursor_decode(after, strlen(after), to_type_id, 1, &after_id)) {
        BAD_REQUEST(rs, "after is not a valid paging cursor");
        return;
    }
    int unlabeled, primary;
    if (hs_assoc_type_ids(route->r_type, route->r_to, &unlabeled, &primary)) {
        BAD_REQUEST(rs, "There are no associations between %s and %s",
                    hs_object(route->r_type)->oi_plural, hs_object(route->r_to)->oi_plural);
        return;
    }
    uint32_t idx;
    if (sim_object_find(p, route->r_type, route->r_id, &idx) ||
        p->p_obj[route->r_type].o_archived[idx]) {
        char context[64];
        snprintf(context, sizeof(context), "{\"id\":[\"%llu\"]}", (unsigned long long)route->r_id);
        sim_response_error(rs, 404, "OBJECT_NOT_FOUND", NULL, context, "Object not found: %s %llu",
                           hs_object(route->r_type)->oi_singular, (unsigned long long)route->r_id);
        return;
    }
    bool reverse = false;
    const sim_table *t = sim_table_find(p, route->r_type, route->r_to, &reverse);
    const sim_objects *to = &p->p_obj[route->r_to];
    jbuf *b = &rs->rs_body;
    jb_lit(b, "{\"results\":[");
    if (t) {
        const sim_adj *a = sim_links(t, reverse, idx);
        uint32_t start = after ? links_after(a, to, after_id) : 0;
        uint32_t next =
            start < a->a_len ? write_links(b, t, reverse, a, to, start, (uint32_t)limit) : a->a_len;
        rs->rs_results = next > start ? next - start : 0;
        jb_char(b, ']');
        if (next < a->a_len)
            write_paging(b, route, route->r_id, a, to, next, limit);
    } else {
        jb_char(b, ']');
    }
    jb_char(b, '}');
}

static void handle_labels(const sim_api_ctx *ctx, const sim_route *route, sim_response *rs)
{
    int unlabeled, primary;
    if (hs_assoc_type_ids(route->r_type, route->r_to, &unlabeled, &primary)) {
        BAD_REQUEST(rs, "There are no associations between %s and %s",
                    hs_object(route->r_type)->oi_plural, hs_object(route->r_to)->oi_plural);
        return;
    }
    bool reverse = false;
    const sim_table *t = sim_table_find(ctx->ac_portal, route->r_type, route->r_to, &reverse);
    jbuf *b = &rs->rs_body;
    jb_lit(b, "{\"results\":[");
    if (primary)
        jb_printf(b, "{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":%d,\"label\":\"Primary\"},",
                  primary);
    jb_printf(b, "{\"category\":\"HUBSPOT_DEFINED\",\"typeId\":%d,\"label\":null}", unlabeled);
    rs->rs_results = (primary ? 2u : 1u) + (t ? (uint32_t)t->tb_nlabels : 0u);
    for (int i = 0; t && i < t->tb_nlabels; i++) {
        const sim_label *lb = &t->tb_labels[i];
        jb_printf(b, ",{\"category\":\"USER_DEFINED\",\"typeId\":%d,\"label\":",
                  reverse ? lb->lb_typeid_rev : lb->lb_typeid_fwd);
        jb_str(b, reverse ? lb->lb_inverse : lb->lb_name);
        jb_char(b, '}');
    }
    jb_lit(b, "]}");
}

/* ---------------------------------------------------------------- properties */

typedef struct prop_writer {
    jbuf *pw_out;
    int pw_count;
} prop_writer;

static void write_property(prop_writer *w, const char *name, const char *label, const char *type,
                           const char *field_type, const char *group, bool calculated,
                           bool hubspot_defined)
{
    jbuf *b = w->pw_out;
    if (w->pw_count++)
        jb_char(b, ',');
    jb_lit(b, "{\"name\":");
    jb_str(b, name);
    jb_lit(b, ",\"label\":");
    jb_str(b, label);
    jb_lit(b, ",\"type\":");
    jb_str(b, type);
    jb_lit(b, ",\"fieldType\":");
    jb_str(b, field_type);
    jb_lit(b, ",\"description\":\"\",\"groupName\":");
    jb_str(b, group);
    jb_printf(b,
              ",\"options\":[],\"displayOrder\":%d,\"calculated\":%s,\"externalOptions\":false,"
              "\"hasUniqueValue\":false,\"hidden\":false,\"hubspotDefined\":%s,"
              "\"modificationMetadata\":{\"archivable\":%s,\"readOnlyDefinition\":%s,"
              "\"readOnlyValue\":%s},\"formField\":false,\"dataSensitivity\":\"non_sensitive\"}",
              w->pw_count - 2, calculated ? "true" : "false", hubspot_defined ? "true" : "false",
              hubspot_defined ? "false" : "true", hubspot_defined ? "true" : "false",
              calculated || strcmp(field_type, "calculation_rollup") == 0 ? "true" : "false");
}

/* A custom rollup as HubSpot lists one: a number computed by the rollup
 * service; "calculated" is false (it "has no effect for custom properties"). */
static void write_rollup(prop_writer *w, const char *name, const char *label)
{
    write_property(w, name, label, "number", "calculation_rollup", "hubsync", false, false);
}

/* The rollup fields a portal admin created for hubsync on the parent of tb
 * (detected by label), a plain number field someone labelled like one, and
 * near-misses a careless detector would take for rollups. */
static void write_table_rollups(prop_writer *w, const sim_table *tb, hs_object_type t)
{
    char name[SIM_ROLLUP_NAME_MAX], label[112];
    const char *a = hs_object(tb->tb_pair.t_parent)->oi_plural;
    const char *c = hs_object(tb->tb_pair.t_child)->oi_plural;
    if (tb->tb_pair.t_child == t && tb->tb_rollup) {
        /* The table's name reversed, on the child: not this table's rollup. */
        snprintf(name, sizeof(name), "sync_assoc_%s_%s_count", c, a);
        snprintf(label, sizeof(label), "sync_associations_%s_%s_label_count", c, a);
        write_rollup(w, name, label);
    }
    if (tb->tb_pair.t_parent != t)
        return;
    if (tb->tb_rollup) {
        /* Named by sim_rollup_prop_name, as records render their values. */
        sim_rollup_prop_name(tb, -1, name, sizeof(name));
        snprintf(label, sizeof(label), "sync_associations_%s_%s_label_count", a, c);
        write_rollup(w, name, label);
        for (int i = 0; tb->tb_rollup_labels && i < tb->tb_nlabels; i++) {
            char slug[40];
            sim_label_slug(&tb->tb_labels[i], slug, sizeof(slug));
            sim_rollup_prop_name(tb, i, name, sizeof(name));
            snprintf(label, sizeof(label), "sync_associations_%s_%s_label_%s", a, c, slug);
            write_rollup(w, name, label);
        }
        snprintf(name, sizeof(name), "sync_assoc_%s_%s_note", a, c);
        snprintf(label, sizeof(label), "Sync associations %s %s label note", a, c);
        write_property(w, name, label, "string", "text", "hubsync", false, false);
    }
    if (tb->tb_lookalike) {
        /* The label a rollup would have, on a field nobody computes. */
        const char *suffix = tb->tb_rollup ? "legacy" : "count";
        snprintf(name, sizeof(name), "sync_assoc_%s_%s_%s", a, c, suffix);
        snprintf(label, sizeof(label), "sync_associations_%s_%s_label_%s", a, c, suffix);
        write_property(w, name, label, "number", "number", "hubsync", false, false);
    }
}

static void handle_properties(const sim_api_ctx *ctx, const sim_route *route, const sim_request *rq,
                              sim_response *rs)
{
    bool archived;
    if (query_archived(rq, &archived)) {
        BAD_REQUEST(rs, "archived must be true or false");
        return;
    }
    hs_object_type t = route->r_type;
    const char *singular = hs_object(t)->oi_singular;
    char group[48];
    snprintf(group, sizeof(group), "%sinformation", singular);
    jbuf *b = &rs->rs_body;
    prop_writer w = {b, 0};
    jb_lit(b, "{\"results\":[");
    if (archived) {
        jb_lit(b, "]}");
        return;
    }
    write_property(&w, "hs_object_id", "Record ID", "number", "number", group, false, true);
    write_property(&w, "createdate", "Create Date", "datetime", "date", group, false, true);
    write_property(&w, hs_object(t)->oi_lastmod, "Last Modified Date", "datetime", "date", group,
                   false, true);
    write_property(&w, "hubspot_owner_id", "Owner", "enumeration", "select", group, false, true);
    const sim_type_profile *tp = sim_type_profile_of(t);
    for (size_t i = 0; i < tp->tp_nprops; i++) {
        const sim_prop_schema *ps = &tp->tp_props[i];
        write_property(&w, ps->ps_name, ps->ps_label, ps->ps_type, ps->ps_field_type, group,
                       ps->ps_calculated, true);
    }
    const sim_portal *p = ctx->ac_portal;
    for (int i = 0; i < p->p_ntables; i++)
        write_table_rollups(&w, &p->p_tables[i], t);
    rs->rs_results = (uint32_t)w.pw_count;
    jb_lit(b, "]}");
}

/* ---------------------------------------------------------------- dispatch */

/* A search: parse (resolving filtered and sorted rollups), resolve the
 * requested names once, run; all under the caller's one read lock. */
static void handle_search(const sim_api_ctx *ctx, sim_rollup_mode mode, const sim_route *route,
                          const sim_request *rq, sim_response *rs)
{
    sim_search_query *q = malloc(sizeof(*q));
    char err[256];
    if (!q) {
        sim_response_error(rs, 500, "INTERNAL_ERROR", NULL, NULL, "out of memory");
        return;
    }
    if (sim_search_parse_portal(ctx->ac_portal, route->r_type, rq->rq_body, rq->rq_body_len, q, err,
                                sizeof(err))) {
        BAD_REQUEST(rs, "%s", err);
    } else {
        sim_render_props rp;
        sim_render_props_resolve(&rp, ctx->ac_portal, route->r_type, (const prop_name *)q->q_props,
                                 q->q_nprops, mode);
        if (sim_search_run_props(ctx->ac_portal, route->r_type, q, &rp, rq->rq_now_ms, &rs->rs_body,
                                 &rs->rs_results))
            sim_response_error(rs, 500, "INTERNAL_ERROR", NULL, NULL, "out of memory");
    }
    free(q);
}

void sim_api_handle(const sim_api_ctx *ctx, const sim_route *route, const sim_request *rq,
                    sim_response *rs)
{
    sim_api_handle_mode(ctx, SIM_ROLLUP_REALISTIC, route, rq, rs);
}

void sim_api_handle_mode(const sim_api_ctx *ctx, sim_rollup_mode rollup_mode,
                         const sim_route *route, const sim_request *rq, sim_response *rs)
{
    if (route->r_bad_type) {
        BAD_REQUEST(rs, "Unable to infer object type from: %s", route->r_bad_segment);
        return;
    }
    if (rq->rq_body_too_large) {
        BAD_REQUEST(rs, "The request body is larger than %d bytes", SIM_MAX_BODY);
        return;
    }
    switch (route->r_kind) {
    case SIM_ROUTE_OBJECT_LIST:
        handle_list(ctx, rollup_mode, route, rq, rs);
        return;
    case SIM_ROUTE_SEARCH:
        handle_search(ctx, rollup_mode, route, rq, rs);
        return;
    case SIM_ROUTE_OBJECT_BATCH:
        handle_object_batch(ctx, rollup_mode, route, rq, rs);
        return;
    case SIM_ROUTE_ASSOC_BATCH:
        handle_assoc_batch(ctx, route, rq, rs);
        return;
    case SIM_ROUTE_ASSOC_GET:
        handle_assoc_get(ctx, route, rq, rs);
        return;
    case SIM_ROUTE_ASSOC_LABELS:
        handle_labels(ctx, route, rs);
        return;
    case SIM_ROUTE_PROPERTIES:
        handle_properties(ctx, route, rq, rs);
        return;
    default:
        sim_response_error(rs, 404, "OBJECT_NOT_FOUND", NULL, NULL, "Not found: %s %s",
                           rq->rq_method, rq->rq_path);
        return;
    }
}
