/*
 * it_assoc — the v4 association endpoints (docs/SIMULATOR.md): batch read
 * shapes, 207s with NO_ASSOCIATIONS_FOUND, per-result paging with escaped
 * cursors, both directions, the single-object GET and the labels list.
 *
 * The central check: reading every parent of a table through the API,
 * following every cursor, and writing what came back in the §7 TSV format
 * gives exactly /_sim/truth. That is what hubsync itself must achieve.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/base/hs_types.h"
#include "../../common/base/jbuf.h"
#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_suites.h"

/* Heavy parents need ≥ 4 pages of 500 (1,600 links plus their ordinary ones),
 * so every core table's child side has more than 1,600 objects. */
#define PORTAL_ARGS                                                                                \
    "--contacts", "2000", "--companies", "100", "--deals", "1700", "--tickets", "1700",            \
        "--heavy-parents", "1", "--heavy-links", "1600", "--assoc-page-size", "500", "--tier",     \
        "unlimited"

enum { PAGE_SIZE = 500, BATCH_MAX = 1000, MAX_TYPES = 16 };

static const uint64_t two_to_32 = 4294967296ull;

/* Reading state of one parent (a from-id). */
typedef struct parent {
    uint64_t p_id;
    char p_after[128]; /* cursor to send with the next request, "" for none */
    int p_pages;
    uint64_t p_last_to; /* last toObjectId seen, for the order check */
    bool p_done;
    int p_answers; /* results or errors received for it */
    int p_expect;  /* answers it should have after the current round */
} parent;

/* What a full read of one direction of a table produced. */
typedef struct assoc_read {
    tl_lines ar_lines;    /* TSV lines (see read_direction) */
    tl_lines ar_no_assoc; /* from-ids answered with NO_ASSOCIATIONS_FOUND */
    int ar_max_pages;
    uint64_t ar_heaviest;   /* a parent that needed ar_max_pages pages */
    uint64_t ar_cursor_id;  /* the parent ar_cursor was issued for */
    char ar_cursor[128];    /* a cursor for a parent's second page */
    size_t ar_shape_errors; /* to-items that broke a shape rule */
    size_t ar_requests;
} assoc_read;

static void assoc_read_free(assoc_read *ar)
{
    tl_lines_free(&ar->ar_lines);
    tl_lines_free(&ar->ar_no_assoc);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static parent *find_parent(parent *ps, size_t n, uint64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ps[mid].p_id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && ps[lo].p_id == id ? &ps[lo] : NULL;
}

/* Checks one associationTypes entry; false (and a message) when it breaks a
 * rule of §2.1: HUBSPOT_DEFINED unlabeled types have label null, primary
 * ones "Primary"; user-defined ones (IDs from 1000) a string label. */
static bool check_type(json_object *t, int unlabeled, int primary, int *type_id)
{
    json_object *id = tl_jget(t, "typeId");
    const char *category = tl_jstr(t, "category");
    if (!json_object_is_type(id, json_type_int) || !category)
        return false;
    *type_id = json_object_get_int(id);
    if (*type_id == unlabeled)
        return strcmp(category, "HUBSPOT_DEFINED") == 0 && tl_jis(t, "label", json_type_null);
    if (*type_id == primary)
        return strcmp(category, "HUBSPOT_DEFINED") == 0 &&
               tl_str_eq(tl_jstr(t, "label"), "Primary");
    return *type_id >= 1000 && strcmp(category, "USER_DEFINED") == 0 && tl_jstr(t, "label");
}

/* Formats distinct ascending type IDs, comma-joined, into buf. */
static void format_types(int *ids, int n, char *buf, size_t size)
{
    qsort(ids, (size_t)n, sizeof(*ids), cmp_int);
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i > 0 && ids[i] == ids[i - 1])
            continue;
        int w = snprintf(buf + used, size - used, "%s%d", used ? "," : "", ids[i]);
        if (w < 0 || (size_t)w >= size - used)
            return;
        used += (size_t)w;
    }
}

/* The direction being read: from → to, with the type IDs of that direction,
 * and how to write a line (forward: the §7 line; reverse: parent and child
 * swapped back, type IDs left for the caller to canonicalise). */
typedef struct direction {
    const char *d_from, *d_to;
    const char *d_table;
    bool d_reverse;
    int d_unlabeled, d_primary;
} direction;

/* Handles one result: checks order and shapes, appends its lines, queues
 * its next page. */
static void take_result(const direction *d, json_object *res, parent *ps, size_t n, assoc_read *ar)
{
    const char *from = tl_jstr(res, "from.id");
    uint64_t from_id;
    parent *p =
        from && tl_parse_u64(from, strlen(from), &from_id) ? find_parent(ps, n, from_id) : NULL;
    if (!CHECKF(p && !p->p_done, "result for unexpected from.id %s", from ? from : "(none)"))
        return;
    p->p_pages++;
    p->p_answers++;
    json_object *to = tl_jget(res, "to");
    size_t nto = tl_jlen(res, "to");
    CHECKF(nto > 0 && nto <= PAGE_SIZE, "from %s: %zu to[] items on one page", from, nto);
    for (size_t i = 0; i < nto; i++) {
        json_object *item = json_object_array_get_idx(to, i);
        json_object *tid = tl_jget(item, "toObjectId");
        int64_t to_id = json_object_is_type(tid, json_type_int) ? json_object_get_int64(tid) : -1;
        bool ok = to_id > (int64_t)two_to_32 && (uint64_t)to_id > p->p_last_to;
        int ids[MAX_TYPES], nids = 0;
        bool has_unlabeled = false;
        json_object *types = tl_jget(item, "associationTypes");
        for (size_t k = 0; ok && k < tl_jlen(item, "associationTypes") && nids < MAX_TYPES; k++) {
            ok = check_type(json_object_array_get_idx(types, k), d->d_unlabeled, d->d_primary,
                            &ids[nids]);
            has_unlabeled |= ids[nids] == d->d_unlabeled;
            nids++;
        }
        /* Every link has the unlabeled type; a primary one too (§2.5). */
        ok = ok && nids > 0 && has_unlabeled;
        if (!ok && ar->ar_shape_errors++ < 5) {
            fprintf(stderr, "    bad to[] item of %s: %s\n", from,
                    json_object_to_json_string_ext(item, JSON_C_TO_STRING_PLAIN));
        }
        if (to_id > 0)
            p->p_last_to = (uint64_t)to_id;
        char types_text[160];
        format_types(ids, nids, types_text, sizeof(types_text));
        if (d->d_reverse)
            tl_lines_addf(&ar->ar_lines, "%s\t%lld\t%s\t%s", d->d_table, (long long)to_id, from,
                          types_text);
        else
            tl_lines_addf(&ar->ar_lines, "%s\t%s\t%lld\t%s", d->d_table, from, (long long)to_id,
                          types_text);
    }
    const char *after = tl_jstr(res, "paging.next.after");
    if (after) {
        CHECKF(strstr(after, "%3D") != NULL, "cursor \"%s\" lacks %%3D", after);
        CHECKF(strlen(after) < sizeof(p->p_after), "cursor too long");
        snprintf(p->p_after, sizeof(p->p_after), "%s", after);
        if (p->p_pages == 1 && !ar->ar_cursor[0]) {
            snprintf(ar->ar_cursor, sizeof(ar->ar_cursor), "%s", after);
            ar->ar_cursor_id = p->p_id;
        }
    } else {
        p->p_after[0] = '\0';
        p->p_done = true;
    }
    if (p->p_pages > ar->ar_max_pages) {
        ar->ar_max_pages = p->p_pages;
        ar->ar_heaviest = p->p_id;
    }
}

/* Handles one errors[] entry: only NO_ASSOCIATIONS_FOUND is expected. */
static void take_error(json_object *err, parent *ps, size_t n, assoc_read *ar)
{
    CHECK_STR(tl_jstr(err, "subCategory"), "crm.associations.NO_ASSOCIATIONS_FOUND");
    CHECK_STR(tl_jstr(err, "status"), "error");
    CHECK(tl_jstr(err, "message") != NULL);
    json_object *ids = tl_jget(err, "context.fromObjectId");
    CHECKF(tl_jlen(err, "context.fromObjectId") > 0, "error without context.fromObjectId");
    for (size_t i = 0; i < tl_jlen(err, "context.fromObjectId"); i++) {
        const char *id = json_object_get_string(json_object_array_get_idx(ids, i));
        uint64_t v;
        parent *p = id && tl_parse_u64(id, strlen(id), &v) ? find_parent(ps, n, v) : NULL;
        if (!CHECKF(p && !p->p_done, "NO_ASSOCIATIONS_FOUND for unexpected id %s", id))
            continue;
        p->p_done = true;
        p->p_answers++;
        tl_lines_addf(&ar->ar_no_assoc, "%s", id);
    }
}

/* Sends one batch of up to BATCH_MAX pending parents; false when the
 * response is not a 200/207 batch response. */
static bool read_batch(tl_sim *s, const direction *d, parent *ps, size_t n, size_t *cursor,
                       assoc_read *ar)
{
    jbuf b;
    jb_init(&b);
    jb_lit(&b, "{\"inputs\":[");
    size_t count = 0, k;
    for (k = *cursor; k < n && count < BATCH_MAX; k++) {
        if (ps[k].p_done)
            continue;
        if (count)
            jb_char(&b, ',');
        jb_lit(&b, "{\"id\":");
        jb_u64_str(&b, ps[k].p_id);
        if (ps[k].p_after[0]) {
            jb_lit(&b, ",\"after\":");
            jb_str(&b, ps[k].p_after);
        }
        jb_char(&b, '}');
        count++;
    }
    *cursor = k; /* the next batch resumes here */
    if (count == 0) {
        jb_free(&b);
        return true;
    }
    jb_lit(&b, "]}");
    char path[128];
    snprintf(path, sizeof(path), "/crm/v4/associations/%s/%s/batch/read", d->d_from, d->d_to);
    tl_resp r;
    tl_post_json(s, path, TL_TOKEN, jb_cstr(&b), &r);
    jb_free(&b);
    ar->ar_requests++;
    json_object *j = tl_resp_json(&r);
    bool ok =
        CHECKF((r.r_status == 200 || r.r_status == 207) && j, "%s: HTTP %ld", path, r.r_status);
    if (ok) {
        CHECK_STR(tl_jstr(j, "status"), "COMPLETE");
        CHECK(tl_jstr(j, "startedAt") && tl_jstr(j, "completedAt"));
        size_t nerr = tl_jlen(j, "errors");
        CHECKF((r.r_status == 207) == (nerr > 0), "HTTP %ld with %zu errors", r.r_status, nerr);
        if (nerr)
            CHECK_EQ(tl_jint_or(j, "numErrors", -1), nerr);
        for (size_t i = 0; i < tl_jlen(j, "results"); i++)
            take_result(d, json_object_array_get_idx(tl_jget(j, "results"), i), ps, n, ar);
        for (size_t i = 0; i < nerr; i++)
            take_error(json_object_array_get_idx(tl_jget(j, "errors"), i), ps, n, ar);
    } else {
        tl_resp_dump(path, &r);
    }
    tl_resp_free(&r);
    return ok;
}

/* Reads every one of `ids` (ascending) from d_from to d_to, following every
 * cursor until each parent is done. Every input must come back as a result
 * or an error; a parent that makes no progress fails the read. */
static bool read_direction(tl_sim *s, const direction *d, const uint64_t *ids, size_t n,
                           assoc_read *ar)
{
    memset(ar, 0, sizeof(*ar));
    parent *ps = calloc(n ? n : 1, sizeof(*ps));
    if (!ps)
        return false;
    for (size_t i = 0; i < n; i++)
        ps[i].p_id = ids[i];
    bool ok = true;
    for (int round = 0; ok; round++) {
        /* Each round sends every pending parent once, in batches, and each
         * must be answered exactly once: a page or an error. */
        size_t pending = 0;
        for (size_t i = 0; i < n; i++) {
            ps[i].p_expect = ps[i].p_answers + !ps[i].p_done;
            pending += !ps[i].p_done;
        }
        if (pending == 0)
            break;
        ok = CHECKF(round < 100, "paging does not end");
        size_t cursor = 0;
        while (ok && cursor < n)
            ok = read_batch(s, d, ps, n, &cursor, ar);
        size_t wrong = 0;
        for (size_t i = 0; i < n; i++)
            wrong += ps[i].p_answers != ps[i].p_expect;
        ok =
            ok && CHECKF(wrong == 0, "%zu of %zu inputs not answered exactly once", wrong, pending);
    }
    free(ps);
    tl_lines_sort(&ar->ar_lines);
    tl_lines_sort(&ar->ar_no_assoc);
    CHECKF(ar->ar_shape_errors == 0, "%zu malformed to[] items", ar->ar_shape_errors);
    return ok;
}

/* The IDs of every live object of `type`, ascending. */
static uint64_t *live_ids(tl_sim *s, const char *type, size_t *n)
{
    tl_objects os;
    *n = 0;
    if (tl_list_all(s, type, false, &os) < 0)
        return NULL;
    uint64_t *ids = malloc((os.os_count ? os.os_count : 1) * sizeof(*ids));
    for (size_t i = 0; ids && i < os.os_count; i++)
        ids[i] = os.os_items[i].o_id;
    *n = ids ? os.os_count : 0;
    tl_objects_free(&os);
    return ids;
}

static void direction_of(hs_table t, bool reverse, char *table, size_t size, direction *d)
{
    hs_table_name(t, table, size);
    hs_object_type from = reverse ? t.t_child : t.t_parent;
    hs_object_type to = reverse ? t.t_parent : t.t_child;
    d->d_from = hs_object(from)->oi_plural;
    d->d_to = hs_object(to)->oi_plural;
    d->d_table = table;
    d->d_reverse = reverse;
    hs_assoc_type_ids(from, to, &d->d_unlabeled, &d->d_primary);
}

/* Parses the comma-joined type IDs after a line's last tab. Returns how
 * many were stored in ids (at most max). */
static int line_types(const char *line, int *ids, int max)
{
    const char *p = strrchr(line, '\t');
    int n = 0;
    if (!p)
        return 0;
    p++;
    while (*p && n < max) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        ids[n++] = (int)v;
        p = *end == ',' ? end + 1 : end;
    }
    return n;
}

static void test_paging_truth(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    for (int t = 0; t < HS_DEFAULT_TABLE_COUNT; t++) {
        char table[64];
        direction d;
        direction_of(hs_default_tables[t], false, table, sizeof(table), &d);
        size_t n;
        uint64_t *ids = live_ids(&s, d.d_from, &n);
        assoc_read ar;
        tl_lines truth = {0};
        if (CHECK(ids && n > 0) && CHECK(read_direction(&s, &d, ids, n, &ar)) &&
            CHECK(tl_truth(&s, table, &truth) == 0)) {
            CHECKF(tl_lines_equal(&ar.ar_lines, &truth, "batch read", "truth"), "table %s", table);
            /* Primary links exist where the pair has a primary type. */
            size_t primary = 0;
            for (size_t i = 0; d.d_primary && i < truth.l_count; i++) {
                int types[MAX_TYPES];
                int n_types = line_types(truth.l_items[i], types, MAX_TYPES);
                for (int k = 0; k < n_types; k++)
                    primary += types[k] == d.d_primary;
            }
            CHECKF(!d.d_primary || primary > 0, "%s: no primary link", table);
            /* The heavy parent pages at least four times. */
            CHECKF(ar.ar_max_pages >= 4, "%s: at most %d pages per parent", table, ar.ar_max_pages);
            assoc_read_free(&ar);
        }
        tl_lines_free(&truth);
        free(ids);
    }
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

/* Rewrites a line's type IDs so both directions compare: the direction's
 * HUBSPOT_DEFINED IDs become the forward ones, user-defined IDs (≥ 1000,
 * one per direction) become "U". Any other ID stays, marked, and so cannot
 * match. */
static void canonical_line(const char *line, int from_unl, int from_pri, int to_unl, int to_pri,
                           tl_lines *out)
{
    const char *tab = strrchr(line, '\t');
    int ids[MAX_TYPES];
    int n = line_types(line, ids, MAX_TYPES);
    char types[160] = "";
    size_t used = 0;
    int user = 0;
    for (int i = 0; i < n && tab; i++) {
        int w = 0;
        if (ids[i] >= 1000)
            user++;
        else if (ids[i] == from_unl)
            w = snprintf(types + used, sizeof(types) - used, "%d,", to_unl);
        else if (ids[i] == from_pri && from_pri)
            w = snprintf(types + used, sizeof(types) - used, "%d,", to_pri);
        else
            w = snprintf(types + used, sizeof(types) - used, "unexpected-%d,", ids[i]);
        if (w > 0 && (size_t)w < sizeof(types) - used)
            used += (size_t)w;
    }
    if (tab)
        tl_lines_addf(out, "%.*s\t%sU%d", (int)(tab - line), line, types, user);
}

static void test_reverse(void)
{
    tl_sim s = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    for (int t = 0; t < HS_DEFAULT_TABLE_COUNT; t++) {
        char table[64];
        direction d, fwd;
        direction_of(hs_default_tables[t], true, table, sizeof(table), &d);
        direction_of(hs_default_tables[t], false, table, sizeof(table), &fwd);
        size_t n;
        uint64_t *ids = live_ids(&s, d.d_from, &n);
        assoc_read ar;
        tl_lines truth = {0}, want = {0}, got = {0};
        if (CHECK(ids && n > 0) && CHECK(read_direction(&s, &d, ids, n, &ar)) &&
            CHECK(tl_truth(&s, table, &truth) == 0)) {
            for (size_t i = 0; i < truth.l_count; i++)
                canonical_line(truth.l_items[i], fwd.d_unlabeled, fwd.d_primary, fwd.d_unlabeled,
                               fwd.d_primary, &want);
            for (size_t i = 0; i < ar.ar_lines.l_count; i++)
                canonical_line(ar.ar_lines.l_items[i], d.d_unlabeled, d.d_primary, fwd.d_unlabeled,
                               fwd.d_primary, &got);
            tl_lines_sort(&want);
            tl_lines_sort(&got);
            CHECKF(tl_lines_equal(&got, &want, "reverse read", "truth"), "table %s read %s→%s",
                   table, d.d_from, d.d_to);
            assoc_read_free(&ar);
        }
        tl_lines_free(&truth);
        tl_lines_free(&want);
        tl_lines_free(&got);
        free(ids);
    }
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_sim_stop(&s);
}

/* POSTs a batch read of companies→contacts with `inputs` (a JSON array). */
static void post_inputs(tl_sim *s, const char *inputs, tl_resp *r)
{
    jbuf b;
    jb_init(&b);
    jb_printf(&b, "{\"inputs\":%s}", inputs);
    tl_post_json(s, "/crm/v4/associations/companies/contacts/batch/read", TL_TOKEN, jb_cstr(&b), r);
    jb_free(&b);
}

static void test_batch_limits(void)
{
    tl_sim s = {0};
    jbuf b;
    jb_init(&b);
    const char *args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    size_t n;
    uint64_t *ids = live_ids(&s, "companies", &n);
    REQUIRE(ids && n > 10);
    for (size_t count = 1000; count <= 1001; count++) {
        /* Real IDs first, then made-up ones. */
        jb_reset(&b);
        jb_char(&b, '[');
        for (size_t i = 0; i < count; i++) {
            if (i)
                jb_char(&b, ',');
            jb_lit(&b, "{\"id\":");
            jb_u64_str(&b, i < n ? ids[i] : 1000000 + i);
            jb_char(&b, '}');
        }
        jb_char(&b, ']');
        tl_resp r;
        post_inputs(&s, jb_cstr(&b), &r);
        if (count == 1000)
            CHECKF(r.r_status == 207, "1000 inputs: HTTP %ld", r.r_status);
        else
            CHECK(tl_is_hubspot_error(&r, 400, "VALIDATION_ERROR"));
        tl_resp_free(&r);
    }
    free(ids);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    jb_free(&b);
    tl_sim_stop(&s);
}

/* Parents with no links, archived and unknown ones are left out of results
 * and listed as NO_ASSOCIATIONS_FOUND; the rest come back. */
static void test_no_associations(void)
{
    tl_sim s = {0};
    tl_lines truth = {0}, want_missing = {0};
    tl_objects archived = {0};
    uint64_t *ids = NULL;
    assoc_read ar = {0};
    const char *args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    size_t n;
    ids = live_ids(&s, "companies", &n);
    REQUIRE(ids && n > 0);
    REQUIRE(tl_truth(&s, "companies_contacts", &truth) == 0);
    REQUIRE(tl_list_all(&s, "companies", true, &archived) == 0);

    /* Expected: every live company without a truth line, plus the extras. */
    size_t total = n + archived.os_count + 2;
    uint64_t *inputs = realloc(ids, total * sizeof(*inputs));
    REQUIRE(inputs);
    ids = inputs;
    for (size_t i = 0; i < n; i++) {
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "companies_contacts\t%llu\t", (unsigned long long)ids[i]);
        bool linked = false;
        for (size_t k = 0; k < truth.l_count && !linked; k++)
            linked = strncmp(truth.l_items[k], prefix, strlen(prefix)) == 0;
        if (!linked)
            tl_lines_addf(&want_missing, "%llu", (unsigned long long)ids[i]);
    }
    for (size_t i = 0; i < archived.os_count; i++) {
        ids[n++] = archived.os_items[i].o_id;
        tl_lines_addf(&want_missing, "%llu", (unsigned long long)archived.os_items[i].o_id);
    }
    /* Two IDs no company has: a small one and one past the highest. */
    uint64_t max_id = 0;
    for (size_t i = 0; i < n; i++)
        max_id = ids[i] > max_id ? ids[i] : max_id;
    ids[n++] = 77;
    ids[n++] = max_id + 1000;
    tl_lines_addf(&want_missing, "77");
    tl_lines_addf(&want_missing, "%llu", (unsigned long long)(max_id + 1000));
    tl_lines_sort(&want_missing);
    qsort(ids, n, sizeof(*ids), cmp_u64);
    CHECKF(archived.os_count > 0, "the portal has no archived company");

    direction d;
    char table[64];
    direction_of(hs_default_tables[0], false, table, sizeof(table), &d);
    REQUIRE(strcmp(table, "companies_contacts") == 0);
    REQUIRE(read_direction(&s, &d, ids, n, &ar));
    CHECK(tl_lines_equal(&ar.ar_no_assoc, &want_missing, "NO_ASSOCIATIONS_FOUND", "expected"));
    CHECK(tl_lines_equal(&ar.ar_lines, &truth, "batch read", "truth"));
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    assoc_read_free(&ar);
    tl_lines_free(&truth);
    tl_lines_free(&want_missing);
    tl_objects_free(&archived);
    free(ids);
    tl_sim_stop(&s);
}

/* Cursors must come back byte-for-byte: decoded, foreign or garbage → 400. */
static void test_bad_cursor(void)
{
    tl_sim s = {0};
    assoc_read ar = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    size_t n;
    uint64_t *ids = live_ids(&s, "companies", &n);
    direction d;
    char table[64];
    direction_of(hs_default_tables[0], false, table, sizeof(table), &d);
    bool read = ids && read_direction(&s, &d, ids, n, &ar);
    free(ids);
    REQUIRE(read && ar.ar_cursor[0] && ar.ar_cursor_id);

    /* The cursor as a client that percent-decoded it would send it. */
    char decoded[128];
    size_t o = 0;
    for (const char *p = ar.ar_cursor; *p && o + 1 < sizeof(decoded); p++) {
        if (strncmp(p, "%3D", 3) == 0) {
            decoded[o++] = '=';
            p += 2;
        } else {
            decoded[o++] = *p;
        }
    }
    decoded[o] = '\0';
    /* The last one is HubSpot's own example: a valid cursor of another type. */
    const char *bad[] = {decoded, "garbage", "%3D%3D", "MC0yLTE1OTc0MDA2NTg%3D"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char inputs[256];
        snprintf(inputs, sizeof(inputs), "[{\"id\":\"%llu\",\"after\":\"%s\"}]",
                 (unsigned long long)ar.ar_cursor_id, bad[i]);
        tl_resp r;
        post_inputs(&s, inputs, &r);
        CHECKF(tl_is_hubspot_error(&r, 400, "VALIDATION_ERROR"), "after \"%s\"", bad[i]);
        tl_resp_free(&r);
    }
    /* Wrong types for after and id. */
    char inputs[256];
    snprintf(inputs, sizeof(inputs), "[{\"id\":\"%llu\",\"after\":5}]",
             (unsigned long long)ar.ar_cursor_id);
    tl_resp r;
    post_inputs(&s, inputs, &r);
    CHECK(tl_is_hubspot_error(&r, 400, "VALIDATION_ERROR"));
    tl_resp_free(&r);
    /* The genuine cursor still works. */
    snprintf(inputs, sizeof(inputs), "[{\"id\":\"%llu\",\"after\":\"%s\"}]",
             (unsigned long long)ar.ar_cursor_id, ar.ar_cursor);
    post_inputs(&s, inputs, &r);
    CHECK_EQ(r.r_status, 200);
    CHECK(tl_jstr(tl_resp_json(&r), "results.0.from.id") != NULL);
    CHECK_OP(tl_jlen(tl_resp_json(&r), "results.0.to"), >, 0);
    tl_resp_free(&r);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    assoc_read_free(&ar);
    tl_sim_stop(&s);
}

/* Truth lines of one parent, as the single-object GET must reproduce them. */
static void truth_of_parent(const tl_lines *truth, const char *table, uint64_t id, tl_lines *out)
{
    char prefix[96];
    snprintf(prefix, sizeof(prefix), "%s\t%llu\t", table, (unsigned long long)id);
    for (size_t i = 0; i < truth->l_count; i++)
        if (strncmp(truth->l_items[i], prefix, strlen(prefix)) == 0)
            tl_lines_addf(out, "%s", truth->l_items[i]);
}

/* Pages one parent's links with GET …/associations/contacts?limit=L. */
static bool get_all_links(tl_sim *s, uint64_t id, int limit, tl_lines *out, int *pages)
{
    direction d;
    char table[64];
    direction_of(hs_default_tables[0], false, table, sizeof(table), &d);
    char after[160] = "";
    bool ok = true;
    uint64_t last = 0;
    *pages = 0;
    while (ok) {
        tl_resp r;
        tl_getf(s, TL_TOKEN, &r,
                "/crm/v4/objects/companies/%llu/associations/contacts?limit=%d%s%s",
                (unsigned long long)id, limit, after[0] ? "&after=" : "", after);
        json_object *j = tl_resp_json(&r);
        ok = CHECK_EQ(r.r_status, 200) && CHECK(j);
        size_t n = tl_jlen(j, "results");
        ok = ok && CHECK_OP(n, <=, limit) && CHECK_OP(n, >, 0);
        (*pages)++;
        for (size_t i = 0; ok && i < n; i++) {
            json_object *item = json_object_array_get_idx(tl_jget(j, "results"), i);
            int64_t to = tl_jint_or(item, "toObjectId", -1);
            int ids[MAX_TYPES], nids = 0;
            ok = CHECKF(to > 0 && (uint64_t)to > last, "toObjectId %lld", (long long)to);
            last = (uint64_t)to;
            json_object *types = tl_jget(item, "associationTypes");
            for (size_t k = 0; ok && k < tl_jlen(item, "associationTypes") && nids < MAX_TYPES;
                 k++) {
                ok = CHECK(check_type(json_object_array_get_idx(types, k), d.d_unlabeled,
                                      d.d_primary, &ids[nids]));
                nids++;
            }
            char text[160];
            format_types(ids, nids, text, sizeof(text));
            tl_lines_addf(out, "%s\t%llu\t%lld\t%s", table, (unsigned long long)id, (long long)to,
                          text);
        }
        const char *next = tl_jstr(j, "paging.next.after");
        if (next)
            snprintf(after, sizeof(after), "%s", next);
        tl_resp_free(&r);
        if (!next)
            break;
        ok = ok && CHECK(*pages < 1000);
    }
    tl_lines_sort(out);
    return ok;
}

static void test_single_get(void)
{
    tl_sim s = {0};
    tl_lines truth = {0}, want = {0}, got = {0}, got7 = {0};
    tl_objects archived = {0};
    const char *args[] = {PORTAL_ARGS, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    REQUIRE(tl_truth(&s, "companies_contacts", &truth) == 0);
    REQUIRE(truth.l_count > 0);

    /* The parent with the most links (the heavy one). */
    uint64_t heavy = 0, cur = 0;
    size_t best = 0, run = 0;
    for (size_t i = 0; i < truth.l_count; i++) {
        uint64_t id = strtoull(truth.l_items[i] + strlen("companies_contacts\t"), NULL, 10);
        run = id == cur ? run + 1 : 1;
        cur = id;
        if (run > best) {
            best = run;
            heavy = id;
        }
    }
    REQUIRE(best > 1500);
    truth_of_parent(&truth, "companies_contacts", heavy, &want);

    static const char *const bad[] = {"limit=501", "limit=0", "limit=x", "after=garbage"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tl_resp r;
        tl_getf(&s, TL_TOKEN, &r, "/crm/v4/objects/companies/%llu/associations/contacts?%s",
                (unsigned long long)heavy, bad[i]);
        CHECKF(tl_is_hubspot_error(&r, 400, "VALIDATION_ERROR"), "%s", bad[i]);
        tl_resp_free(&r);
    }
    /* Default limit: 500. */
    tl_resp r;
    tl_getf(&s, TL_TOKEN, &r, "/crm/v4/objects/company/%llu/associations/0-1",
            (unsigned long long)heavy);
    CHECK_EQ(r.r_status, 200);
    CHECK_EQ(tl_jlen(tl_resp_json(&r), "results"), 500);
    CHECK(tl_jstr(tl_resp_json(&r), "paging.next.after") != NULL);
    tl_resp_free(&r);

    int pages = 0;
    CHECK(get_all_links(&s, heavy, 500, &got, &pages));
    CHECK(tl_lines_equal(&got, &want, "GET paging", "truth"));
    CHECK_EQ(pages, (best + 499) / 500);
    CHECK(get_all_links(&s, heavy, 137, &got7, &pages));
    CHECK(tl_lines_equal(&got7, &want, "GET paging by 137", "truth"));

    /* Unknown and archived objects: 404. */
    REQUIRE(tl_list_all(&s, "companies", true, &archived) == 0);
    tl_get(&s, "/crm/v4/objects/companies/42/associations/contacts", TL_TOKEN, &r);
    CHECK(tl_is_hubspot_error(&r, 404, NULL));
    tl_resp_free(&r);
    if (CHECK(archived.os_count > 0)) {
        tl_getf(&s, TL_TOKEN, &r, "/crm/v4/objects/companies/%llu/associations/contacts",
                (unsigned long long)archived.os_items[0].o_id);
        CHECK(tl_is_hubspot_error(&r, 404, NULL));
        tl_resp_free(&r);
    }
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_lines_free(&truth);
    tl_lines_free(&want);
    tl_lines_free(&got);
    tl_lines_free(&got7);
    tl_objects_free(&archived);
    tl_sim_stop(&s);
}

/* The labels endpoint lists the direction's type IDs, and every type ID a
 * batch read returns is among them. */
static void test_labels(void)
{
    tl_sim s = {0};
    tl_lines truth = {0};
    const char *args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", "--labels", "3", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    static const char *const paths[][2] = {{"companies", "contacts"}, {"contacts", "companies"}};
    int user_ids[2][8], nuser[2] = {0, 0};
    for (int dir = 0; dir < 2; dir++) {
        tl_resp r;
        tl_getf(&s, TL_TOKEN, &r, "/crm/v4/associations/%s/%s/labels", paths[dir][0],
                paths[dir][1]);
        json_object *j = tl_resp_json(&r);
        CHECK_EQ(r.r_status, 200);
        bool unl = false, pri = false;
        int want_unl = dir == 0 ? 280 : 279, want_pri = dir == 0 ? 2 : 1;
        for (size_t i = 0; i < tl_jlen(j, "results"); i++) {
            json_object *t = json_object_array_get_idx(tl_jget(j, "results"), i);
            int id = (int)tl_jint_or(t, "typeId", -1);
            unl |= id == want_unl;
            pri |= id == want_pri;
            if (id >= 1000 && nuser[dir] < 8) {
                CHECK_STR(tl_jstr(t, "category"), "USER_DEFINED");
                CHECK(tl_jstr(t, "label") != NULL);
                user_ids[dir][nuser[dir]++] = id;
            }
        }
        CHECKF(unl && pri, "%s→%s labels lack %d or %d", paths[dir][0], paths[dir][1], want_unl,
               want_pri);
        CHECK_EQ(nuser[dir], 3);
        tl_resp_free(&r);
    }
    /* One type ID per direction: the two sets are disjoint. */
    for (int a = 0; a < nuser[0]; a++)
        for (int b = 0; b < nuser[1]; b++)
            CHECK(user_ids[0][a] != user_ids[1][b]);
    /* Every user-defined ID in the truth is a companies→contacts label. */
    REQUIRE(tl_truth(&s, "companies_contacts", &truth) == 0);
    size_t labelled = 0, unknown = 0;
    for (size_t i = 0; i < truth.l_count; i++) {
        int ids[MAX_TYPES];
        int n = line_types(truth.l_items[i], ids, MAX_TYPES);
        for (int k = 0; k < n; k++) {
            if (ids[k] < 1000)
                continue;
            bool known = false;
            for (int a = 0; a < nuser[0]; a++)
                known |= user_ids[0][a] == ids[k];
            labelled++;
            unknown += !known;
        }
    }
    CHECKF(unknown == 0, "%zu labelled links carry a type ID not among the labels", unknown);
    CHECKF(labelled > 0, "no link carries a user-defined label");
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    tl_lines_free(&truth);
    tl_sim_stop(&s);
}

/* Singular names, type IDs and the 2026-03 path give the same answer. */
static void test_path_aliases(void)
{
    tl_sim s = {0};
    jbuf b;
    jb_init(&b);
    const char *args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    size_t n;
    uint64_t *ids = live_ids(&s, "companies", &n);
    REQUIRE(ids && n > 0);
    jb_lit(&b, "{\"inputs\":[");
    for (size_t i = 0; i < n && i < 50; i++) {
        if (i)
            jb_char(&b, ',');
        jb_lit(&b, "{\"id\":");
        jb_u64_str(&b, ids[i]);
        jb_char(&b, '}');
    }
    jb_lit(&b, "]}");
    free(ids);
    static const char *const paths[] = {
        "/crm/v4/associations/companies/contacts/batch/read",
        "/crm/v4/associations/company/contact/batch/read",
        "/crm/v4/associations/0-2/0-1/batch/read",
        "/crm/v4/associations/company/0-1/batch/read",
        "/crm/associations/2026-03/companies/contacts/batch/read",
    };
    char *first = NULL;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        tl_resp r;
        tl_post_json(&s, paths[i], TL_TOKEN, jb_cstr(&b), &r);
        json_object *j = tl_resp_json(&r);
        CHECKF(r.r_status == 200 || r.r_status == 207, "%s: HTTP %ld", paths[i], r.r_status);
        /* Compare results only: timestamps differ between calls. */
        const char *results =
            json_object_to_json_string_ext(tl_jget(j, "results"), JSON_C_TO_STRING_PLAIN);
        if (i == 0)
            first = strdup(results ? results : "");
        else
            CHECKF(first && results && strcmp(first, results) == 0, "%s differs", paths[i]);
        tl_resp_free(&r);
    }
    free(first);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    jb_free(&b);
    tl_sim_stop(&s);
}

int it_register_assoc(void)
{
    CU_pSuite s = it_add_suite("assoc");
    if (!s)
        return -1;
    int rc = 0;
    rc |= it_add_test(s, "batch_limits", test_batch_limits);
    rc |= it_add_test(s, "no_associations", test_no_associations);
    rc |= it_add_test(s, "paging_truth", test_paging_truth);
    rc |= it_add_test(s, "reverse", test_reverse);
    rc |= it_add_test(s, "bad_cursor", test_bad_cursor);
    rc |= it_add_test(s, "single_get", test_single_get);
    rc |= it_add_test(s, "labels", test_labels);
    rc |= it_add_test(s, "path_aliases", test_path_aliases);
    return rc;
}
