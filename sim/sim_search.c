/*
 * sim_search — the CRM Search API (see sim_search.h).
 */
#include "sim_search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_json.h"
#include "sim_profile.h"
#include "sim_render.h"

/* ---------------------------------------------------------------- parsing */

/* Resolves a filter's or sort's propertyName for type t; a rollup of p (when
 * not NULL) sets *rr too. 0, or -1 for a name that cannot be searched. */
static int parse_prop(const sim_portal *p, hs_object_type t, const char *name, sim_prop *out,
                      sim_render_rollup *rr)
{
    if (strcmp(name, "hs_object_id") == 0)
        *out = SIM_PROP_OBJECT_ID;
    else if (strcmp(name, "createdate") == 0 || strcmp(name, "hs_createdate") == 0)
        *out = SIM_PROP_CREATED;
    else if (strcmp(name, hs_object(t)->oi_lastmod) == 0)
        *out = SIM_PROP_LASTMODIFIED;
    else if (sim_type_profile_of(t)->tp_unset_property &&
             strcmp(name, sim_type_profile_of(t)->tp_unset_property) == 0)
        *out = SIM_PROP_UNSET; /* exists (contacts' hs_lastmodifieddate), never set */
    else if (p && sim_render_find_rollup(p, t, name, rr))
        *out = SIM_PROP_ROLLUP;
    else
        return -1;
    return 0;
}

static const char *const op_names[] = {
    [SIM_OP_EQ] = "EQ",
    [SIM_OP_NEQ] = "NEQ",
    [SIM_OP_LT] = "LT",
    [SIM_OP_LTE] = "LTE",
    [SIM_OP_GT] = "GT",
    [SIM_OP_GTE] = "GTE",
    [SIM_OP_BETWEEN] = "BETWEEN",
    [SIM_OP_IN] = "IN",
    [SIM_OP_NOT_IN] = "NOT_IN",
    [SIM_OP_HAS] = "HAS_PROPERTY",
    [SIM_OP_NOT_HAS] = "NOT_HAS_PROPERTY",
};

static int parse_value(sim_prop prop, json_object *v, int64_t *out)
{
    if (prop == SIM_PROP_OBJECT_ID) {
        uint64_t u;
        if (sim_json_u64(v, &u) || u > INT64_MAX)
            return -1;
        *out = (int64_t)u;
        return 0;
    }
    /* Rollups are numbers, not datetimes: "2024-01-17" is no count. */
    return sim_json_i64(v, prop != SIM_PROP_ROLLUP, out);
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return -1;                                                                                 \
    } while (0)

static int parse_filter(const sim_portal *p, hs_object_type t, json_object *jf, sim_filter *f,
                        char *err, size_t errlen)
{
    json_object *jname, *jop, *jv;
    if (!json_object_is_type(jf, json_type_object))
        FAIL("each filter must be an object");
    if (!json_object_object_get_ex(jf, "propertyName", &jname) ||
        !json_object_is_type(jname, json_type_string))
        FAIL("a filter is missing its propertyName");
    const char *name = json_object_get_string(jname);
    if (parse_prop(p, t, name, &f->f_prop, &f->f_rollup))
        FAIL("Property \"%.64s\" does not exist or cannot be searched on %s", name,
             hs_object(t)->oi_plural);
    if (!json_object_object_get_ex(jf, "operator", &jop) ||
        !json_object_is_type(jop, json_type_string))
        FAIL("a filter is missing its operator");
    const char *op = json_object_get_string(jop);
    size_t nops = sizeof(op_names) / sizeof(op_names[0]);
    size_t k = 0;
    while (k < nops && strcmp(op, op_names[k]) != 0)
        k++;
    if (k == nops)
        FAIL("Unsupported operator \"%.32s\"", op);
    f->f_op = (sim_op)k;
    f->f_nvalues = 0;
    if (f->f_op == SIM_OP_HAS || f->f_op == SIM_OP_NOT_HAS)
        return 0;
    if (f->f_op == SIM_OP_IN || f->f_op == SIM_OP_NOT_IN) {
        json_object *arr;
        if (!json_object_object_get_ex(jf, "values", &arr) ||
            !json_object_is_type(arr, json_type_array))
            FAIL("operator %s needs a values array", op);
        size_t n = json_object_array_length(arr);
        if (n == 0 || n > SIM_SEARCH_MAX_VALUES)
            FAIL("operator %s takes 1 to %d values", op, SIM_SEARCH_MAX_VALUES);
        for (size_t i = 0; i < n; i++)
            if (parse_value(f->f_prop, json_object_array_get_idx(arr, i),
                            &f->f_values[f->f_nvalues++]))
                FAIL("invalid value in values[] of a %s filter on %.64s", op, name);
        return 0;
    }
    if (!json_object_object_get_ex(jf, "value", &jv) || parse_value(f->f_prop, jv, &f->f_value))
        FAIL("invalid or missing value for %s filter on %.64s", op, name);
    if (f->f_op == SIM_OP_BETWEEN) {
        json_object *jh;
        if (!json_object_object_get_ex(jf, "highValue", &jh) ||
            parse_value(f->f_prop, jh, &f->f_high))
            FAIL("BETWEEN on %.64s needs a valid highValue", name);
    }
    return 0;
}

static int parse_groups(const sim_portal *p, hs_object_type t, json_object *groups,
                        sim_search_query *q, char *err, size_t errlen)
{
    if (!json_object_is_type(groups, json_type_array))
        FAIL("filterGroups must be an array");
    size_t n = json_object_array_length(groups);
    if (n > SIM_SEARCH_MAX_GROUPS)
        FAIL("Too many filter groups: %zu (the limit is %d)", n, SIM_SEARCH_MAX_GROUPS);
    int total = 0;
    for (size_t g = 0; g < n; g++) {
        json_object *jg = json_object_array_get_idx(groups, g), *filters;
        if (!json_object_is_type(jg, json_type_object) ||
            !json_object_object_get_ex(jg, "filters", &filters) ||
            !json_object_is_type(filters, json_type_array))
            FAIL("each filter group must be an object with a filters array");
        size_t nf = json_object_array_length(filters);
        if (nf > SIM_SEARCH_MAX_GROUP_FILTERS)
            FAIL("Too many filters in a group: %zu (the limit is %d)", nf,
                 SIM_SEARCH_MAX_GROUP_FILTERS);
        total += (int)nf;
        if (total > SIM_SEARCH_MAX_FILTERS)
            FAIL("Too many filters: the limit is %d in all groups", SIM_SEARCH_MAX_FILTERS);
        for (size_t i = 0; i < nf; i++)
            if (parse_filter(p, t, json_object_array_get_idx(filters, i), &q->q_filters[g][i], err,
                             errlen))
                return -1;
        q->q_group_len[g] = (int)nf;
    }
    q->q_ngroups = (int)n;
    return 0;
}

static int parse_sorts(const sim_portal *p, hs_object_type t, json_object *sorts,
                       sim_search_query *q, char *err, size_t errlen)
{
    if (!json_object_is_type(sorts, json_type_array))
        FAIL("sorts must be an array");
    size_t n = json_object_array_length(sorts);
    if (n > 1)
        FAIL("Too many sorts: %zu (the limit is 1)", n);
    if (n == 0)
        return 0;
    json_object *s = json_object_array_get_idx(sorts, 0), *jname, *jdir;
    const char *name;
    if (json_object_is_type(s, json_type_string)) {
        /* The SDK form: "prop" or "-prop" (descending). */
        name = json_object_get_string(s);
        q->q_descending = name[0] == '-';
        name += q->q_descending;
    } else if (json_object_is_type(s, json_type_object) &&
               json_object_object_get_ex(s, "propertyName", &jname) &&
               json_object_is_type(jname, json_type_string)) {
        name = json_object_get_string(jname);
        if (json_object_object_get_ex(s, "direction", &jdir)) {
            const char *dir = json_object_get_string(jdir);
            if (!json_object_is_type(jdir, json_type_string) ||
                (strcmp(dir, "ASCENDING") != 0 && strcmp(dir, "DESCENDING") != 0))
                FAIL("sort direction must be ASCENDING or DESCENDING");
            q->q_descending = strcmp(dir, "DESCENDING") == 0;
        }
    } else {
        FAIL("a sort must be {\"propertyName\",\"direction\"} or a property name");
    }
    if (parse_prop(p, t, name, &q->q_sort_prop, &q->q_sort_rollup))
        FAIL("Property \"%.64s\" cannot be sorted on", name);
    q->q_sorted = true;
    return 0;
}

static int parse_properties(json_object *props, sim_search_query *q, char *err, size_t errlen)
{
    if (!json_object_is_type(props, json_type_array))
        FAIL("properties must be an array of names");
    size_t n = json_object_array_length(props);
    for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(props, i);
        if (!json_object_is_type(p, json_type_string))
            FAIL("properties must be an array of names");
        if (q->q_nprops < SIM_SEARCH_MAX_PROPS)
            snprintf(q->q_props[q->q_nprops++], sizeof(q->q_props[0]), "%s",
                     json_object_get_string(p));
    }
    return 0;
}

int sim_search_parse(hs_object_type t, const char *body, size_t len, sim_search_query *q, char *err,
                     size_t errlen)
{
    return sim_search_parse_portal(NULL, t, body, len, q, err, errlen);
}

int sim_search_parse_portal(const sim_portal *p, hs_object_type t, const char *body, size_t len,
                            sim_search_query *q, char *err, size_t errlen)
{
    memset(q, 0, sizeof(*q));
    q->q_limit = 10;
    if (len > SIM_SEARCH_MAX_BODY)
        FAIL("The request body is %zu characters; the limit is %d", len, SIM_SEARCH_MAX_BODY);
    json_object *root = sim_json_parse(body, len);
    if (!root || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        FAIL("Invalid input JSON: the body must be a JSON object");
    }
    int rc = -1;
    json_object *v;
    if (json_object_object_get_ex(root, "filterGroups", &v) &&
        parse_groups(p, t, v, q, err, errlen))
        goto out;
    if (json_object_object_get_ex(root, "sorts", &v) && parse_sorts(p, t, v, q, err, errlen))
        goto out;
    if (json_object_object_get_ex(root, "properties", &v) && parse_properties(v, q, err, errlen))
        goto out;
    if (json_object_object_get_ex(root, "query", &v) && !json_object_is_type(v, json_type_string)) {
        snprintf(err, errlen, "query must be a string");
        goto out;
    }
    uint64_t u;
    if (json_object_object_get_ex(root, "limit", &v)) {
        if (!json_object_is_type(v, json_type_int) || sim_json_u64(v, &u) || u == 0 ||
            u > SIM_SEARCH_MAX_LIMIT) {
            snprintf(err, errlen, "limit must be an integer from 1 to %d", SIM_SEARCH_MAX_LIMIT);
            goto out;
        }
        q->q_limit = (uint32_t)u;
    }
    if (json_object_object_get_ex(root, "after", &v) && !json_object_is_type(v, json_type_null)) {
        if (sim_json_u64(v, &u) || u > SIM_SEARCH_MAX_RESULTS) {
            snprintf(err, errlen, "after must be a non-negative integer offset");
            goto out;
        }
        q->q_after = (uint32_t)u;
    }
    if (q->q_after + q->q_limit > SIM_SEARCH_MAX_RESULTS) {
        snprintf(err, errlen,
                 "Paging beyond %d results is not supported (after %u + limit %u); narrow the "
                 "query",
                 SIM_SEARCH_MAX_RESULTS, q->q_after, q->q_limit);
        goto out;
    }
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

#undef FAIL

/* ------------------------------------------------------------- evaluation */

/* What reading a property of a record needs besides the record. */
typedef struct eval_ctx {
    const sim_portal *ec_p;
    const sim_objects *ec_o;
    bool ec_stored; /* rollups show their stored value (rp_stored) */
} eval_ctx;

/* Record i's value of prop (rr: which rollup, for SIM_PROP_ROLLUP): true
 * and *v, or false when it has none. */
static bool prop_value(const eval_ctx *c, uint32_t i, sim_prop prop, const sim_render_rollup *rr,
                       int64_t modified_ms, int64_t *v)
{
    const sim_objects *o = c->ec_o;
    switch (prop) {
    case SIM_PROP_OBJECT_ID:
        *v = (int64_t)o->o_id[i];
        return true;
    case SIM_PROP_CREATED:
        *v = o->o_created_ms[i];
        return true;
    case SIM_PROP_LASTMODIFIED:
        *v = modified_ms;
        return true;
    case SIM_PROP_UNSET:
        break;
    case SIM_PROP_ROLLUP:
        /* What the record renders, by the rendering's own rule; a record
         * without links has 0, so every record has a value. */
        *v = sim_render_rollup_value(c->ec_p, rr, i, c->ec_stored);
        return true;
    }
    return false;
}

static bool filter_matches(const sim_filter *f, bool has, int64_t v)
{
    switch (f->f_op) {
    case SIM_OP_EQ:
        return has && v == f->f_value;
    case SIM_OP_NEQ:
        return !has || v != f->f_value;
    case SIM_OP_LT:
        return has && v < f->f_value;
    case SIM_OP_LTE:
        return has && v <= f->f_value;
    case SIM_OP_GT:
        return has && v > f->f_value;
    case SIM_OP_GTE:
        return has && v >= f->f_value;
    case SIM_OP_BETWEEN:
        return has && v >= f->f_value && v <= f->f_high;
    case SIM_OP_IN:
    case SIM_OP_NOT_IN: {
        bool in = false;
        for (int k = 0; has && k < f->f_nvalues && !in; k++)
            in = v == f->f_values[k];
        return f->f_op == SIM_OP_IN ? in : !in;
    }
    case SIM_OP_HAS:
        return has;
    case SIM_OP_NOT_HAS:
        return !has;
    }
    return false;
}

static bool query_matches(const sim_search_query *q, const eval_ctx *c, uint32_t i,
                          int64_t modified_ms)
{
    if (q->q_ngroups == 0)
        return true;
    for (int g = 0; g < q->q_ngroups; g++) {
        bool all = true;
        for (int k = 0; k < q->q_group_len[g] && all; k++) {
            const sim_filter *f = &q->q_filters[g][k];
            int64_t v = 0;
            bool has = prop_value(c, i, f->f_prop, &f->f_rollup, modified_ms, &v);
            all = filter_matches(f, has, v);
        }
        if (all)
            return true;
    }
    return false;
}

typedef struct hit {
    int64_t h_key;
    int64_t h_modified_ms;
    uint64_t h_id;
    uint32_t h_idx;
    bool h_has_key; /* objects without the sort property sort last */
} hit;

/* True when a comes before b in the result order. */
static bool hit_before(const hit *a, const hit *b, bool descending)
{
    if (a->h_has_key != b->h_has_key)
        return a->h_has_key;
    if (a->h_has_key && a->h_key != b->h_key)
        return descending ? a->h_key > b->h_key : a->h_key < b->h_key;
    return a->h_id < b->h_id;
}

/* Max-heap on result order: the root is the last of the kept hits. */
static void sift_down(hit *h, size_t n, size_t i, bool desc)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && hit_before(&h[m], &h[l], desc))
            m = l;
        if (r < n && hit_before(&h[m], &h[r], desc))
            m = r;
        if (m == i)
            return;
        hit t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void sift_up(hit *h, size_t i, bool desc)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!hit_before(&h[parent], &h[i], desc))
            return;
        hit t = h[i];
        h[i] = h[parent];
        h[parent] = t;
        i = parent;
    }
}

int sim_search_run(const sim_portal *p, hs_object_type t, const sim_search_query *q, int64_t now_ms,
                   jbuf *out, uint32_t *returned)
{
    sim_render_props rp;
    sim_render_props_resolve(&rp, p, t, q->q_props, q->q_nprops, SIM_ROLLUP_REALISTIC);
    return sim_search_run_props(p, t, q, &rp, now_ms, out, returned);
}

int sim_search_run_props(const sim_portal *p, hs_object_type t, const sim_search_query *q,
                         const sim_render_props *rp, int64_t now_ms, jbuf *out, uint32_t *returned)
{
    const sim_objects *o = &p->p_obj[t];
    const eval_ctx c = {p, o, rp->rp_stored};
    size_t keep = (size_t)q->q_after + q->q_limit;
    hit *heap = malloc(keep * sizeof(hit));
    if (!heap)
        return -1;
    size_t n = 0;
    uint64_t total = 0;
    sim_prop sort_prop = q->q_sorted ? q->q_sort_prop : SIM_PROP_OBJECT_ID;
    for (uint32_t i = 0; i < o->o_count; i++) {
        int64_t modified;
        if (!sim_search_view(o, i, now_ms, &modified) || !query_matches(q, &c, i, modified))
            continue;
        total++;
        hit h = {0, modified, o->o_id[i], i, false};
        h.h_has_key = prop_value(&c, i, sort_prop, &q->q_sort_rollup, modified, &h.h_key);
        if (n < keep) {
            heap[n] = h;
            sift_up(heap, n++, q->q_descending);
        } else if (hit_before(&h, &heap[0], q->q_descending)) {
            heap[0] = h;
            sift_down(heap, n, 0, q->q_descending);
        }
    }
    /* Heap-sort in place: repeatedly move the last hit to the end. */
    for (size_t end = n; end > 1; end--) {
        hit tmp = heap[0];
        heap[0] = heap[end - 1];
        heap[end - 1] = tmp;
        sift_down(heap, end - 1, 0, q->q_descending);
    }
    jb_lit(out, "{\"total\":");
    jb_u64(out, total);
    jb_lit(out, ",\"results\":[");
    for (size_t i = q->q_after; i < n; i++) {
        if (i > q->q_after)
            jb_char(out, ',');
        sim_render_object_props(out, p, t, heap[i].h_idx, heap[i].h_modified_ms, rp);
    }
    jb_char(out, ']');
    if (returned)
        *returned = n > q->q_after ? (uint32_t)(n - q->q_after) : 0;
    if (keep < total) {
        /* HubSpot hands out the next offset even where using it will be refused. */
        jb_lit(out, ",\"paging\":{\"next\":{\"after\":\"");
        jb_u64(out, keep);
        jb_lit(out, "\"}}");
    }
    jb_char(out, '}');
    free(heap);
    return 0;
}
