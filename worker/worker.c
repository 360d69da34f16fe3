/*
 * worker — a worker process's job loop (see worker.h).
 *
 * A job is held from claim to JOB_DONE; while held its lease is renewed. An
 * association scan is one batch read of up to 1,000 parents, then one batch
 * read per round of paging for the parents HubSpot split (each with its own
 * cursor), until every parent is complete: only complete sets ever leave
 * the worker, so the coordinator can replace sets wholesale (deletes too).
 * An object list pages through one type; a search slice is one page of a
 * change search, checked for the order keyset paging relies on.
 */
#include "worker.h"
#include "../common/base/clock.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/store/assoc.h"
#include "../common/hubspot/hs_codec.h"
#include "../common/hubspot/hs_paths.h"
#include "../common/base/jbuf.h"
#include "../common/ipc/jobs.h"
#include "../common/ipc/wire.h"
#include "../common/hubspot/http.h"

_Static_assert((int)HS_RECORD_COUNTS_MAX == (int)JOB_COUNT_FIELDS_MAX &&
                   (int)HS_PATH_EXTRA_MAX == (int)JOB_COUNT_FIELDS_MAX,
               "a page asks for and reads every count a list job names");

enum { MAX_JOBS = 64 };
#define MS_NS          1000000ULL
#define LEASE_NS       (120000 * MS_NS)
#define RENEW_EVERY_NS (10000 * MS_NS)

/* A parent whose links arrive over several pages. */
typedef struct paged_parent {
    uint64_t pp_parent_id;
    assoc_buf pp_links; /* one parent: the links so far */
    char *pp_after;     /* cursor of the next page; NULL when none is pending */
} paged_parent;

typedef struct worker worker;

typedef struct active_job {
    worker *aj_worker;
    bool aj_used;
    int aj_index;
    uint64_t aj_generation;
    uint32_t aj_kind;
    uint32_t aj_budget; /* shm_budget */
    uint64_t aj_renewed_ns;
    int aj_outstanding; /* requests in the engine */
    int aj_status;      /* 0, or the first error */
    char aj_message[ERR_MSG_MAX];
    wire_counters aj_counters;
    /* JOB_ASSOC_SCAN */
    job_assoc_scan aj_scan;
    uint8_t aj_resolved[JOB_MAX_PARENTS];
    int aj_unresolved;
    assoc_buf aj_sets; /* complete sets */
    size_t aj_sent;    /* of which already sent */
    paged_parent *aj_paged;
    size_t aj_npaged, aj_paged_cap;
    /* JOB_OBJECT_LIST */
    job_object_list aj_list;
    /* JOB_SEARCH_SLICE */
    job_search_slice aj_search;
} active_job;

struct worker {
    shm_region *w_shm;
    int w_slot;
    int w_fd;
    const worker_config *w_cfg;
    http_engine *w_eng;
    wire_writer w_out;
    active_job *w_jobs; /* MAX_JOBS */
    int w_held;
    int w_held_by[SHM_BUDGETS]; /* of w_held, per budget */
    assoc_buf w_page;           /* scratch: one response */
    hs_assoc_errors w_errs;     /* scratch */
    hs_record_page w_records;
    bool w_channel_closed;
};

static void job_fail(active_job *j, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void job_fail(active_job *j, int status, const char *fmt, ...)
{
    if (j->aj_status)
        return; /* keep the first reason */
    j->aj_status = status ? status : ERR_HTTP;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->aj_message, sizeof(j->aj_message), fmt, ap);
    va_end(ap);
}

static void job_release(active_job *j)
{
    for (size_t i = 0; i < j->aj_npaged; i++) {
        assoc_buf_free(&j->aj_paged[i].pp_links);
        free(j->aj_paged[i].pp_after);
    }
    free(j->aj_paged);
    assoc_buf_free(&j->aj_sets);
    worker *w = j->aj_worker;
    w->w_held_by[j->aj_budget]--;
    memset(j, 0, sizeof(*j));
    j->aj_worker = w;
    w->w_held--;
}

/* Sends the sets completed since the last call: each parent's set leaves
 * the worker as soon as it is complete, so the coordinator can merge (and
 * a killed run keep) all but the heavy parents still paging. */
static void send_resolved(active_job *j)
{
    worker *w = j->aj_worker;
    err_info e = {0};
    size_t n = j->aj_sets.ab_nparents;
    if (n == j->aj_sent)
        return;
    if (wire_put_assoc_sets(&w->w_out, (uint64_t)j->aj_index, j->aj_generation, j->aj_scan.js_table,
                            &j->aj_sets, j->aj_sent, n - j->aj_sent, &e)) {
        job_fail(j, e.ei_code, "%s", e.ei_msg);
        return;
    }
    j->aj_sent = n;
}

/* Sends the job's last sets (on success) and JOB_DONE, then lets it go. */
static void job_finish(active_job *j)
{
    worker *w = j->aj_worker;
    err_info e = {0};
    if (j->aj_status == 0 && j->aj_kind == JOB_ASSOC_SCAN)
        send_resolved(j);
    if (j->aj_status == 0) {
        shm_counters *k = &w->w_shm->sr_slots[w->w_slot].sl_counters;
        SHM_COUNT(k, parents, j->aj_sets.ab_nparents);
        SHM_COUNT(k, associations, j->aj_sets.ab_nlinks);
    }
    wire_put_job_done(&w->w_out, (uint64_t)j->aj_index, j->aj_generation, j->aj_status,
                      j->aj_message, &j->aj_counters, &e);
    job_release(j);
}

static void count_response(active_job *j, const http_response *resp)
{
    j->aj_counters.wc_calls += (uint64_t)resp->hr_sends;
    j->aj_counters.wc_retries += (uint64_t)resp->hr_resends;
    j->aj_counters.wc_throttled += (uint64_t)resp->hr_throttled;
    j->aj_counters.wc_bytes += resp->hr_body_len;
}

/* ------------------------------------------------------------ assoc scan */

static int parent_index(const active_job *j, uint64_t id)
{
    int lo = 0, hi = j->aj_scan.js_count;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (j->aj_scan.js_parent_ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < j->aj_scan.js_count && j->aj_scan.js_parent_ids[lo] == id ? lo : -1;
}

static paged_parent *find_paged(active_job *j, uint64_t id)
{
    for (size_t i = 0; i < j->aj_npaged; i++)
        if (j->aj_paged[i].pp_parent_id == id)
            return &j->aj_paged[i];
    return NULL;
}

static paged_parent *add_paged(active_job *j, uint64_t id)
{
    if (j->aj_npaged == j->aj_paged_cap) {
        size_t cap = j->aj_paged_cap ? j->aj_paged_cap * 2 : 8;
        paged_parent *p = realloc(j->aj_paged, cap * sizeof(*p));
        if (!p)
            return NULL;
        j->aj_paged = p;
        j->aj_paged_cap = cap;
    }
    paged_parent *pp = &j->aj_paged[j->aj_npaged++];
    memset(pp, 0, sizeof(*pp));
    pp->pp_parent_id = id;
    assoc_buf_init(&pp->pp_links);
    if (assoc_buf_begin_parent(&pp->pp_links, id)) {
        j->aj_npaged--;
        return NULL;
    }
    return pp;
}

/* Moves a completed set into the job's results. */
static int resolve(active_job *j, uint64_t id, const assoc_buf *src, size_t src_index)
{
    int idx = parent_index(j, id);
    if (idx < 0 || j->aj_resolved[idx])
        return 0;
    int rc = assoc_buf_begin_parent(&j->aj_sets, id);
    if (!rc && src)
        rc = assoc_buf_append_links(&j->aj_sets, src, src_index);
    if (!rc)
        rc = assoc_buf_finish_parent(&j->aj_sets);
    if (rc)
        return rc;
    j->aj_resolved[idx] = 1;
    j->aj_unresolved--;
    return 0;
}

static void drop_paged(active_job *j, paged_parent *pp)
{
    assoc_buf_free(&pp->pp_links);
    free(pp->pp_after);
    *pp = j->aj_paged[--j->aj_npaged];
}

static http_verdict on_assoc(void *user, http_request *req, const http_response *resp);

/* Sends one batch read for the job's table (a first round or a paging
 * round). Returns 0, or -1 after failing the job. */
static int submit_batch_read(active_job *j, const hs_assoc_input *in, size_t n)
{
    worker *w = j->aj_worker;
    const hs_table *t = &w->w_cfg->wc_tables[j->aj_scan.js_table];
    char path[HS_PATH_MAX];
    hs_path_assoc_batch_read(path, sizeof(path), t->t_parent, t->t_child);
    http_request *r = http_request_new(HTTP_ASSOC, "POST", path);
    err_info e = {0};
    if (!r || hs_build_assoc_batch_read(http_request_body(r), in, n, &e)) {
        http_request_free(r);
        job_fail(j, ERR_NOMEM, "building a batch read: %s", e.ei_msg);
        return -1;
    }
    j->aj_outstanding++;
    http_submit(w->w_eng, r, on_assoc, j);
    return 0;
}

/* Sends the next round of paging: every paged parent with a cursor. */
static void request_next_pages(active_job *j)
{
    hs_assoc_input in[JOB_MAX_PARENTS];
    size_t n = 0;
    for (size_t i = 0; i < j->aj_npaged && n < JOB_MAX_PARENTS; i++)
        if (j->aj_paged[i].pp_after)
            in[n++] = (hs_assoc_input){j->aj_paged[i].pp_parent_id, j->aj_paged[i].pp_after,
                                       strlen(j->aj_paged[i].pp_after)};
    if (n == 0 || submit_batch_read(j, in, n))
        return;
    for (size_t i = 0; i < j->aj_npaged; i++) {
        free(j->aj_paged[i].pp_after);
        j->aj_paged[i].pp_after = NULL;
    }
}

static void start_assoc_scan(active_job *j)
{
    worker *w = j->aj_worker;
    if (j->aj_scan.js_table >= w->w_cfg->wc_ntables || j->aj_scan.js_count == 0 ||
        j->aj_scan.js_count > JOB_MAX_PARENTS) {
        job_fail(j, ERR_CORRUPT, "bad scan job (table %u, %u parents)", j->aj_scan.js_table,
                 j->aj_scan.js_count);
        job_finish(j);
        return;
    }
    assoc_buf_init(&j->aj_sets);
    j->aj_unresolved = j->aj_scan.js_count;
    /* Every parent waits for its first page: tracked like a paged parent
     * whose cursor is "none yet". */
    hs_assoc_input in[JOB_MAX_PARENTS];
    for (int i = 0; i < j->aj_scan.js_count; i++) {
        if (!add_paged(j, j->aj_scan.js_parent_ids[i])) {
            job_fail(j, ERR_NOMEM, "out of memory");
            job_finish(j);
            return;
        }
        in[i] = (hs_assoc_input){j->aj_scan.js_parent_ids[i], NULL, 0};
    }
    if (submit_batch_read(j, in, j->aj_scan.js_count))
        job_finish(j);
}

/* Folds one response page into the job. Returns 0, or a negative ERR_* that
 * fails the job; ERR_PARSE asks for the request to be sent again. */
static int absorb_page(active_job *j, const http_response *resp)
{
    worker *w = j->aj_worker;
    err_info e = {0};
    assoc_buf_reset(&w->w_page);
    hs_assoc_errors_reset(&w->w_errs);
    int rc = hs_parse_assoc_batch(resp->hr_body, resp->hr_body_len, resp->hr_status, &w->w_page,
                                  &w->w_errs, &e);
    if (rc) {
        snprintf(j->aj_message, sizeof(j->aj_message), "%s", e.ei_msg);
        return rc;
    }
    if (w->w_errs.ae_nfailures) {
        const hs_assoc_failure *f = &w->w_errs.ae_failures[0];
        job_fail(j, ERR_SHAPE, "batch read error for %llu: %s %s",
                 (unsigned long long)f->af_from_id, f->af_category, f->af_message);
        return ERR_SHAPE;
    }
    for (size_t i = 0; i < w->w_page.ab_nparents; i++) {
        const assoc_parent *p = &w->w_page.ab_parents[i];
        paged_parent *pp = find_paged(j, p->ap_parent_id);
        if (!pp)
            continue; /* not asked for in this round: ignore */
        if ((rc = assoc_buf_append_links(&pp->pp_links, &w->w_page, i)))
            return rc;
        if (p->ap_has_more) {
            pp->pp_after = strndup(assoc_after(&w->w_page, p), p->ap_after_len);
            if (!pp->pp_after)
                return ERR_NOMEM;
            continue;
        }
        if ((rc = assoc_buf_finish_parent(&pp->pp_links)) ||
            (rc = resolve(j, pp->pp_parent_id, &pp->pp_links, 0)))
            return rc;
        drop_paged(j, pp);
    }
    /* NO_ASSOCIATIONS_FOUND: on a first page an empty set; on a later page,
     * the set ended on the page before. Either way it is complete now. */
    for (size_t i = 0; i < w->w_errs.ae_nempty; i++) {
        paged_parent *pp = find_paged(j, w->w_errs.ae_empty_ids[i]);
        if (!pp)
            continue;
        if ((rc = assoc_buf_finish_parent(&pp->pp_links)) ||
            (rc = resolve(j, pp->pp_parent_id, &pp->pp_links, 0)))
            return rc;
        drop_paged(j, pp);
    }
    return 0;
}

static http_verdict on_assoc(void *user, http_request *req, const http_response *resp)
{
    (void)req;
    active_job *j = user;
    count_response(j, resp);
    j->aj_outstanding--;
    if (resp->hr_error) {
        job_fail(j, resp->hr_error, "%s", resp->hr_message);
    } else if (resp->hr_status != 200 && resp->hr_status != 207) {
        hs_error_body eb;
        hs_parse_error(resp->hr_body, resp->hr_body_len, &eb);
        job_fail(j, ERR_HTTP, "batch read: HTTP %d %s %s", resp->hr_status, eb.eb_category,
                 eb.eb_message);
    } else {
        int rc = absorb_page(j, resp);
        if (rc == ERR_PARSE && resp->hr_attempts < 8) {
            /* A body cut short (or otherwise unreadable): ask again. */
            j->aj_outstanding++;
            return HTTP_RETRY;
        }
        if (rc)
            job_fail(j, rc, "%s", j->aj_message[0] ? j->aj_message : err_strerror(rc));
        /* Parents asked for but neither returned nor reported: HubSpot lost
         * them; failing the job makes the coordinator ask again. */
        for (size_t i = 0; !j->aj_status && i < j->aj_npaged; i++)
            if (!j->aj_paged[i].pp_after)
                job_fail(j, ERR_SHAPE, "parent %llu missing from the batch-read response",
                         (unsigned long long)j->aj_paged[i].pp_parent_id);
    }
    if (j->aj_kind == JOB_ASSOC_SCAN)
        send_resolved(j); /* complete sets are good even if the job fails later */
    if (!j->aj_status && j->aj_npaged > 0)
        request_next_pages(j);
    if (j->aj_outstanding == 0 && (j->aj_status || j->aj_unresolved == 0))
        job_finish(j);
    return HTTP_DONE;
}

/* ----------------------------------------------------------- object list */

/* A last-modified bound no record reaches (the year 3000): a search that
 * lists records filters on their IDs only. */
#define LIST_ANY_TIME_MS 32503680000000LL

static http_verdict on_list(void *user, http_request *req, const http_response *resp);

/* The search of a LIST_SEARCH page (live records with IDs in [after, end),
 * in ID order, 200), of LIST_MAX_ID (the highest ID, one record) or of
 * LIST_HEAVY (the records whose count field is above heavy_links, the most
 * first, 200). */
static int build_list_search(const job_object_list *jl, jbuf *body, err_info *e)
{
    const hs_object_info *oi = hs_object((hs_object_type)jl->jl_object_type);
    char from[24], to[24], links[24];
    fmt_u64(from, jl->jl_after_id);
    fmt_u64(to, jl->jl_end_id);
    fmt_u64(links, jl->jl_heavy_links);
    hs_search_filter f[2];
    size_t nf = 0;
    bool max_id = jl->jl_mode == LIST_MAX_ID, heavy = jl->jl_mode == LIST_HEAVY;
    if (heavy) {
        f[nf++] = (hs_search_filter){jl->jl_count_fields[0], HS_OP_GT, links};
    } else if (!max_id) {
        f[nf++] = (hs_search_filter){"hs_object_id", HS_OP_GTE, from};
        if (jl->jl_end_id != UINT64_MAX)
            f[nf++] = (hs_search_filter){"hs_object_id", HS_OP_LT, to};
    }
    const char *props[1 + JOB_COUNT_FIELDS_MAX] = {oi->oi_lastmod};
    size_t nprops = 1;
    for (int i = 0; !max_id && !heavy && i < jl->jl_ncount; i++)
        props[nprops++] = jl->jl_count_fields[i];
    hs_search_query sq = {0};
    sq.sq_lastmod_property = oi->oi_lastmod;
    sq.sq_from_ms = 0;
    sq.sq_from_op = HS_OP_GTE;
    sq.sq_to_ms = LIST_ANY_TIME_MS;
    sq.sq_to_op = HS_OP_LTE;
    sq.sq_filters = nf ? f : NULL;
    sq.sq_nfilters = nf;
    sq.sq_sort_property = heavy ? jl->jl_count_fields[0] : "hs_object_id";
    sq.sq_sort_descending = max_id || heavy;
    sq.sq_properties = props;
    sq.sq_nproperties = nprops;
    sq.sq_limit = max_id ? 1 : HS_SEARCH_LIMIT_MAX;
    return hs_build_search(body, &sq, e);
}

/* A list job's count fields are few, terminated and fit for a query. */
static bool count_fields_ok(const job_object_list *jl)
{
    if (jl->jl_ncount > JOB_COUNT_FIELDS_MAX || (jl->jl_ncount && jl->jl_mode == LIST_MAX_ID) ||
        (jl->jl_mode == LIST_HEAVY && jl->jl_ncount != 1))
        return false;
    for (int i = 0; i < jl->jl_ncount; i++)
        if (!memchr(jl->jl_count_fields[i], '\0', JOB_FIELD_NAME_MAX) ||
            !hs_path_property_ok(jl->jl_count_fields[i]))
            return false;
    return true;
}

static void start_object_list(active_job *j)
{
    worker *w = j->aj_worker;
    const job_object_list *jl = &j->aj_list;
    if (jl->jl_object_type >= HS_OBJECT_TYPE_COUNT || jl->jl_mode > LIST_HEAVY ||
        (jl->jl_archived && jl->jl_mode != LIST_PAGE) || jl->jl_after_id >= jl->jl_end_id ||
        !count_fields_ok(jl)) {
        job_fail(j, ERR_CORRUPT, "bad list job (type %u, mode %u)", jl->jl_object_type,
                 jl->jl_mode);
        job_finish(j);
        return;
    }
    char path[HS_PATH_MAX];
    http_request *r;
    err_info e = {0};
    hs_object_type type = (hs_object_type)jl->jl_object_type;
    const char *counts[JOB_COUNT_FIELDS_MAX];
    for (int i = 0; i < jl->jl_ncount; i++)
        counts[i] = jl->jl_count_fields[i];
    if (jl->jl_mode == LIST_PAGE) {
        hs_path_object_list(path, sizeof(path), type, jl->jl_archived, jl->jl_after_id, counts,
                            jl->jl_ncount);
        r = http_request_new(HTTP_LIST, "GET", path);
    } else {
        hs_path_search(path, sizeof(path), type);
        r = http_request_new(HTTP_SEARCH, "POST", path);
        if (r && build_list_search(jl, http_request_body(r), &e)) {
            http_request_free(r);
            r = NULL;
        }
    }
    if (!r) {
        job_fail(j, e.ei_code ? e.ei_code : ERR_NOMEM, "building a list request: %s",
                 e.ei_msg[0] ? e.ei_msg : "out of memory");
        job_finish(j);
        return;
    }
    j->aj_outstanding++;
    http_submit(w->w_eng, r, on_list, j);
}

/* Sends the heavy parents a LIST_HEAVY search found as a search result
 * (their IDs; the total is the search's, the page the first 200). */
static int send_heavy(active_job *j, const hs_record_page *pg, err_info *e)
{
    wire_search_hit hits[HS_SEARCH_LIMIT_MAX];
    size_t n = 0;
    for (size_t i = 0; i < pg->rp_count && n < HS_SEARCH_LIMIT_MAX; i++)
        hits[n++] = (wire_search_hit){pg->rp_items[i].rec_id, pg->rp_items[i].rec_lastmod_ms};
    uint32_t total = pg->rp_total > UINT32_MAX ? UINT32_MAX : (uint32_t)pg->rp_total;
    return wire_put_search_result(&j->aj_worker->w_out, (uint64_t)j->aj_index, j->aj_generation,
                                  total, hits, n, false, 0, e);
}

/* Sends one page as OBJECTS: the records below end_id, and where to go on
 * (the list's next record ID, or for a search the last ID + 1 while the
 * total says more remain). */
static int send_list_page(active_job *j, const hs_record_page *pg, err_info *e)
{
    const job_object_list *jl = &j->aj_list;
    if (jl->jl_mode == LIST_HEAVY)
        return send_heavy(j, pg, e);
    if (jl->jl_mode == LIST_MAX_ID) {
        /* The highest ID and the type's count: a search result. */
        wire_search_hit top = {0, 0};
        if (pg->rp_count)
            top = (wire_search_hit){pg->rp_items[0].rec_id, pg->rp_items[0].rec_lastmod_ms};
        uint32_t total = pg->rp_total > UINT32_MAX ? UINT32_MAX : (uint32_t)pg->rp_total;
        return wire_put_search_result(&j->aj_worker->w_out, (uint64_t)j->aj_index, j->aj_generation,
                                      total, &top, pg->rp_count ? 1 : 0, false, 0, e);
    }
    wire_object items[HS_SEARCH_LIMIT_MAX];
    size_t n = 0;
    uint64_t last = 0;
    for (size_t i = 0; i < pg->rp_count && n < HS_SEARCH_LIMIT_MAX; i++) {
        const hs_record *r = &pg->rp_items[i];
        if (r->rec_id < jl->jl_after_id || r->rec_id >= jl->jl_end_id)
            continue; /* another chain's */
        uint8_t heavy = 0;
        for (int k = 0; k < jl->jl_ncount; k++)
            if (r->rec_counts[k] > jl->jl_heavy_links)
                heavy |= (uint8_t)(1u << k);
        items[n++] = (wire_object){r->rec_id, r->rec_lastmod_ms, r->rec_archived, heavy};
        last = r->rec_id > last ? r->rec_id : last;
    }
    char next[24];
    const char *after = NULL;
    size_t after_len = 0;
    if (jl->jl_mode == LIST_PAGE && pg->rp_has_next) {
        after = pg->rp_after;
        after_len = pg->rp_after_len;
    } else if (jl->jl_mode == LIST_SEARCH && pg->rp_total > pg->rp_count && last != UINT64_MAX &&
               n > 0) {
        after_len = fmt_u64(next, last + 1);
        after = next;
    }
    return wire_put_objects(&j->aj_worker->w_out, (uint64_t)j->aj_index, j->aj_generation,
                            jl->jl_object_type, items, n, after, after_len, e);
}

static http_verdict on_list(void *user, http_request *req, const http_response *resp)
{
    (void)req;
    active_job *j = user;
    worker *w = j->aj_worker;
    count_response(j, resp);
    j->aj_outstanding--;
    const job_object_list *jl = &j->aj_list;
    const char *lastmod = hs_object((hs_object_type)jl->jl_object_type)->oi_lastmod;
    err_info e = {0};
    int rc = 0;
    w->w_records.rp_ncount_names =
        jl->jl_mode == LIST_MAX_ID || jl->jl_mode == LIST_HEAVY ? 0 : jl->jl_ncount;
    for (size_t k = 0; k < w->w_records.rp_ncount_names; k++)
        w->w_records.rp_count_names[k] = jl->jl_count_fields[k];
    if (resp->hr_error) {
        job_fail(j, resp->hr_error, "%s", resp->hr_message);
    } else if (resp->hr_status == 400 && jl->jl_mode == LIST_HEAVY) {
        /* A hint refused (a count field search cannot filter on): the
         * heavy parents are read with their batches, as without one. */
        hs_error_body eb;
        hs_parse_error(resp->hr_body, resp->hr_body_len, &eb);
        char text[WIRE_TEXT_MAX];
        snprintf(text, sizeof(text),
                 "the search for heavy parents by %.64s was refused (HTTP 400 %s: %s): they are "
                 "read with their batches",
                 jl->jl_count_fields[0], eb.eb_category, eb.eb_message);
        w->w_records.rp_count = 0;
        w->w_records.rp_total = 0;
        if (wire_put_log(&w->w_out, 4, text, &e) || send_heavy(j, &w->w_records, &e))
            job_fail(j, e.ei_code, "%s", e.ei_msg);
    } else if (resp->hr_status != 200) {
        hs_error_body eb;
        hs_parse_error(resp->hr_body, resp->hr_body_len, &eb);
        job_fail(j, resp->hr_status == 400 ? ERR_REJECTED : ERR_HTTP, "object list: HTTP %d %s %s",
                 resp->hr_status, eb.eb_category, eb.eb_message);
    } else if ((rc = jl->jl_mode == LIST_PAGE
                         ? hs_parse_object_list(resp->hr_body, resp->hr_body_len, lastmod,
                                                &w->w_records, &e)
                         : hs_parse_search(resp->hr_body, resp->hr_body_len, lastmod, &w->w_records,
                                           &e))) {
        if (e.ei_code == ERR_PARSE && resp->hr_attempts < 8) {
            j->aj_outstanding++;
            return HTTP_RETRY;
        }
        job_fail(j, e.ei_code, "object list: %s", e.ei_msg);
    } else if (send_list_page(j, &w->w_records, &e)) {
        job_fail(j, e.ei_code, "%s", e.ei_msg);
    }
    job_finish(j);
    return HTTP_DONE;
}

/* ---------------------------------------------------------- search slice */

static http_verdict on_search(void *user, http_request *req, const http_response *resp);

static void start_search_slice(active_job *j)
{
    worker *w = j->aj_worker;
    const job_search_slice *q = &j->aj_search;
    if (q->jq_object_type >= HS_OBJECT_TYPE_COUNT || q->jq_lo_ms < 0 ||
        (!q->jq_head && !q->jq_reference && q->jq_lo_ms >= q->jq_hi_ms)) {
        job_fail(j, ERR_CORRUPT, "bad search job (type %u, window %lld..%lld)", q->jq_object_type,
                 (long long)q->jq_lo_ms, (long long)q->jq_hi_ms);
        job_finish(j);
        return;
    }
    const hs_object_info *oi = hs_object((hs_object_type)q->jq_object_type);
    char after[24], path[HS_PATH_MAX];
    fmt_u64(after, q->jq_after_id);
    hs_search_filter above = {"hs_object_id", HS_OP_GT, after};
    const char *props[] = {oi->oi_lastmod};
    hs_search_query sq = {0};
    sq.sq_lastmod_property = oi->oi_lastmod;
    sq.sq_from_ms = q->jq_head ? 0 : q->jq_lo_ms; /* head: every record up to hi */
    sq.sq_from_op = q->jq_head ? HS_OP_GTE : HS_OP_GT;
    sq.sq_to_ms = q->jq_hi_ms;
    sq.sq_to_op = HS_OP_LTE;
    sq.sq_filters = q->jq_after_id && !q->jq_head ? &above : NULL;
    sq.sq_nfilters = sq.sq_filters ? 1 : 0;
    sq.sq_sort_property = q->jq_head ? oi->oi_lastmod : "hs_object_id";
    sq.sq_sort_descending = q->jq_head != 0; /* head: newest first */
    sq.sq_properties = props;
    sq.sq_nproperties = 1;
    sq.sq_limit = HS_SEARCH_LIMIT_MAX;
    sq.sq_after = 0;
    const char *ref_props[] = {"hs_object_id", oi->oi_lastmod};
    if (q->jq_reference) {
        /* The reference design's query as it is written: `GT cursor` with
         * no upper bound, oldest first, offset paging; past the cap the
         * request goes out and HubSpot's 400 fails the job (ERR_REJECTED). */
        sq.sq_from_ms = q->jq_lo_ms;
        sq.sq_from_op = HS_OP_GT;
        sq.sq_no_upper = true;
        sq.sq_filters = NULL;
        sq.sq_nfilters = 0;
        sq.sq_sort_property = oi->oi_lastmod;
        sq.sq_sort_descending = false;
        sq.sq_properties = ref_props;
        sq.sq_nproperties = 2;
        sq.sq_limit = JOB_REFERENCE_PAGE;
        sq.sq_after = q->jq_after_id;
        sq.sq_past_cap = true;
    }
    hs_path_search(path, sizeof(path), (hs_object_type)q->jq_object_type);
    http_request *r = http_request_new(HTTP_SEARCH, "POST", path);
    err_info e = {0};
    if (!r || hs_build_search(http_request_body(r), &sq, &e)) {
        http_request_free(r);
        job_fail(j, e.ei_code ? e.ei_code : ERR_NOMEM, "building a search: %s", e.ei_msg);
        job_finish(j);
        return;
    }
    j->aj_outstanding++;
    http_submit(w->w_eng, r, on_search, j);
}

/* Checks a page against what the coordinator relies on: a slice's IDs
 * ascending and above after_id, the head's times descending, every time
 * inside the window asked for. */
static int check_search_page(const active_job *j, const hs_record_page *pg, err_info *e)
{
    const job_search_slice *q = &j->aj_search;
    uint64_t prev = q->jq_after_id;
    int64_t lo = q->jq_head ? -1 : q->jq_lo_ms, newer = INT64_MAX;
    for (size_t i = 0; i < pg->rp_count; i++) {
        const hs_record *r = &pg->rp_items[i];
        if (q->jq_reference) {
            /* Offset paging makes no promise about IDs; only the bound. */
            if (!r->rec_has_lastmod || r->rec_lastmod_ms <= q->jq_lo_ms)
                return err_set(e, ERR_SHAPE, "search result %llu is not newer than the cursor",
                               (unsigned long long)r->rec_id);
            continue;
        }
        if (q->jq_head) {
            if (r->rec_has_lastmod && r->rec_lastmod_ms > newer)
                return err_set(e, ERR_SHAPE, "head search results not newest first (%llu)",
                               (unsigned long long)r->rec_id);
            newer = r->rec_lastmod_ms;
        } else if (r->rec_id <= prev)
            return err_set(e, ERR_SHAPE,
                           "search results out of hs_object_id order (%llu after %llu)",
                           (unsigned long long)r->rec_id, (unsigned long long)prev);
        if (!r->rec_has_lastmod || r->rec_lastmod_ms <= lo || r->rec_lastmod_ms > q->jq_hi_ms)
            return err_set(e, ERR_SHAPE, "search result %llu lies outside the window asked for",
                           (unsigned long long)r->rec_id);
        prev = r->rec_id;
    }
    if (!pg->rp_has_total)
        return err_set(e, ERR_SHAPE, "search response without \"total\"");
    return 0;
}

static http_verdict on_search(void *user, http_request *req, const http_response *resp)
{
    active_job *j = user;
    worker *w = j->aj_worker;
    count_response(j, resp);
    j->aj_outstanding--;
    const hs_object_info *oi = hs_object((hs_object_type)j->aj_search.jq_object_type);
    err_info e = {0};
    w->w_records.rp_ncount_names = 0; /* the names of a list job are not this page's */
    if (resp->hr_error) {
        job_fail(j, resp->hr_error, "%s", resp->hr_message);
    } else if (resp->hr_status == 400) {
        /* HubSpot refused the query: say which, in full, once. */
        hs_error_body eb;
        hs_parse_error(resp->hr_body, resp->hr_body_len, &eb);
        const jbuf *body = http_request_body(req);
        char text[WIRE_TEXT_MAX];
        snprintf(text, sizeof(text),
                 "search of %s rejected (HTTP 400 %s: %s); the request was: %.*s", oi->oi_plural,
                 eb.eb_category, eb.eb_message, (int)body->jb_len,
                 body->jb_data ? body->jb_data : "");
        wire_put_log(&w->w_out, 3, text, &e);
        job_fail(j, ERR_REJECTED, "search of %s rejected (HTTP 400 %s: %s)", oi->oi_plural,
                 eb.eb_category, eb.eb_message);
    } else if (resp->hr_status != 200) {
        hs_error_body eb;
        hs_parse_error(resp->hr_body, resp->hr_body_len, &eb);
        job_fail(j, ERR_HTTP, "search: HTTP %d %s %s", resp->hr_status, eb.eb_category,
                 eb.eb_message);
    } else if (hs_parse_search(resp->hr_body, resp->hr_body_len, oi->oi_lastmod, &w->w_records,
                               &e) ||
               check_search_page(j, &w->w_records, &e)) {
        if (e.ei_code == ERR_PARSE && resp->hr_attempts < 8) {
            j->aj_outstanding++;
            return HTTP_RETRY;
        }
        job_fail(j, e.ei_code, "search: %s", e.ei_msg);
    } else {
        const hs_record_page *pg = &w->w_records;
        wire_search_hit hits[HS_SEARCH_LIMIT_MAX];
        size_t n = 0;
        for (size_t i = 0; i < pg->rp_count && n < HS_SEARCH_LIMIT_MAX; i++)
            hits[n++] = (wire_search_hit){pg->rp_items[i].rec_id, pg->rp_items[i].rec_lastmod_ms};
        uint32_t total = pg->rp_total > UINT32_MAX ? UINT32_MAX : (uint32_t)pg->rp_total;
        if (wire_put_search_result(&w->w_out, (uint64_t)j->aj_index, j->aj_generation, total, hits,
                                   n, pg->rp_has_next, (uint32_t)pg->rp_next_offset, &e))
            job_fail(j, e.ei_code, "%s", e.ei_msg);
    }
    job_finish(j);
    return HTTP_DONE;
}

/* ------------------------------------------------------------------ loop */

/* This worker's share of the requests that keep budget b busy (Little's
 * law over all workers, budget_inflight), within the cap of --inflight. */
static int share_of(const worker *w, shm_budget b)
{
    int workers = (int)w->w_shm->sr_nworkers - 1; /* the last slot is the coordinator's */
    budget *bu = b == SHM_BUDGET_SEARCH ? &w->w_shm->sr_search : &w->w_shm->sr_burst;
    uint32_t all = budget_inflight(bu, workers);
    int share = (int)((all + (uint32_t)workers - 1) / (uint32_t)workers);
    return share < 1 ? 1 : share;
}

/* The budgets this worker may claim another job of: each below its share,
 * all together below the cap (--inflight). */
static unsigned budgets_with_room(const worker *w)
{
    int cap = w->w_cfg->wc_inflight < MAX_JOBS ? w->w_cfg->wc_inflight : MAX_JOBS;
    if (w->w_held >= cap)
        return 0;
    unsigned mask = 0;
    if (w->w_held_by[SHM_BUDGET_BURST] < share_of(w, SHM_BUDGET_BURST))
        mask |= SHM_BUDGET_BIT(SHM_BUDGET_BURST);
    if (w->w_held_by[SHM_BUDGET_SEARCH] < share_of(w, SHM_BUDGET_SEARCH))
        mask |= SHM_BUDGET_BIT(SHM_BUDGET_SEARCH);
    return mask;
}

static void claim_jobs(worker *w, uint64_t now)
{
    unsigned budgets;
    while ((budgets = budgets_with_room(w)) != 0) {
        uint64_t gen;
        int idx = shm_job_claim(w->w_shm, w->w_slot, budgets, now, LEASE_NS, &gen);
        if (idx < 0)
            return;
        active_job *j = NULL;
        for (int i = 0; i < MAX_JOBS && !j; i++)
            if (!w->w_jobs[i].aj_used)
                j = &w->w_jobs[i];
        const shm_job *sj = &w->w_shm->sr_jobs[idx];
        j->aj_used = true;
        j->aj_index = idx;
        j->aj_generation = gen;
        j->aj_kind = sj->jb_kind;
        j->aj_budget = sj->jb_budget < SHM_BUDGETS ? sj->jb_budget : SHM_BUDGET_BURST;
        j->aj_renewed_ns = now;
        w->w_held++;
        w->w_held_by[j->aj_budget]++;
        atomic_store(&w->w_shm->sr_slots[w->w_slot].sl_state, SHM_SLOT_ACTIVE);
        if (j->aj_kind == JOB_ASSOC_SCAN && sj->jb_payload_len >= job_assoc_scan_size(0)) {
            memcpy(&j->aj_scan, sj->jb_payload,
                   sj->jb_payload_len < sizeof(j->aj_scan) ? sj->jb_payload_len
                                                           : sizeof(j->aj_scan));
            start_assoc_scan(j);
        } else if (j->aj_kind == JOB_OBJECT_LIST && sj->jb_payload_len == sizeof(j->aj_list)) {
            memcpy(&j->aj_list, sj->jb_payload, sizeof(j->aj_list));
            start_object_list(j);
        } else if (j->aj_kind == JOB_SEARCH_SLICE && sj->jb_payload_len == sizeof(j->aj_search)) {
            memcpy(&j->aj_search, sj->jb_payload, sizeof(j->aj_search));
            start_search_slice(j);
        } else {
            job_fail(j, ERR_CORRUPT, "unknown job kind %u", j->aj_kind);
            job_finish(j);
        }
    }
}

static void renew_leases(worker *w, uint64_t now)
{
    for (int i = 0; i < MAX_JOBS; i++) {
        active_job *j = &w->w_jobs[i];
        if (j->aj_used && now - j->aj_renewed_ns > RENEW_EVERY_NS) {
            j->aj_renewed_ns = now;
            shm_job_renew(w->w_shm, j->aj_index, j->aj_generation, now + LEASE_NS);
        }
    }
}

int worker_main(shm_region *shm, int slot, int fd, const worker_config *cfg)
{
    worker w = {0};
    err_info e = {0};
    int exit_code = WORKER_EXIT_RETRY;
    w.w_shm = shm;
    w.w_slot = slot;
    w.w_fd = fd;
    w.w_cfg = cfg;
    assoc_buf_init(&w.w_page);
    hs_assoc_errors_init(&w.w_errs);
    hs_record_page_init(&w.w_records);
    wire_writer_init(&w.w_out, WIRE_MAX_MSG_DEFAULT);
    w.w_jobs = calloc(MAX_JOBS, sizeof(active_job));
    shm_slot *me = &shm->sr_slots[slot];
    if (!w.w_jobs || shm_check(shm, &e))
        goto out;
    for (int i = 0; i < MAX_JOBS; i++)
        w.w_jobs[i].aj_worker = &w;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    http_config hc = {0};
    hc.hc_base_url = cfg->wc_base_url;
    hc.hc_shm = shm;
    hc.hc_slot = slot;
    hc.hc_inflight = cfg->wc_inflight < MAX_JOBS ? cfg->wc_inflight : MAX_JOBS;
    hc.hc_refresh_token = cfg->wc_refresh_token;
    hc.hc_client_id = cfg->wc_client_id;
    hc.hc_client_secret = cfg->wc_client_secret;
    hc.hc_ca_file = cfg->wc_ca_file;
    if (http_engine_create(&hc, &w.w_eng, &e)) {
        exit_code = WORKER_EXIT_FATAL;
        goto out;
    }
    wire_put_hello(&w.w_out, (uint32_t)slot, (int32_t)getpid(), &e);
    atomic_store(&me->sl_state, SHM_SLOT_ASSIGNED);
    for (;;) {
        uint64_t now = clock_mono_ns();
        atomic_store(&me->sl_heartbeat_ns, now);
        bool stopping = atomic_load(&shm->sr_stop) != 0;
        if (!stopping && !w.w_channel_closed)
            claim_jobs(&w, now);
        renew_leases(&w, now);
        if (w.w_held == 0)
            atomic_store(&me->sl_state, SHM_SLOT_ASSIGNED);
        if (wire_writer_pending(&w.w_out) && !w.w_channel_closed) {
            int rc = wire_flush(&w.w_out, fd, &e);
            if (rc && rc != ERR_AGAIN)
                w.w_channel_closed = true;
        }
        if ((stopping || w.w_channel_closed) && w.w_held == 0 &&
            (w.w_channel_closed || wire_writer_pending(&w.w_out) == 0)) {
            exit_code = w.w_channel_closed ? WORKER_EXIT_RETRY : WORKER_EXIT_DONE;
            break;
        }
        bool readable = false;
        /* Idle: wait for the coordinator to publish (a short poll). */
        int rc = http_run(w.w_eng, w.w_held ? 200 : 20, w.w_channel_closed ? -1 : fd, &readable);
        if (rc < 0)
            break;
        if (readable) {
            char buf[256];
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                w.w_channel_closed = true; /* the coordinator is gone */
        }
    }
out:
    if (w.w_jobs)
        for (int i = 0; i < MAX_JOBS; i++)
            if (w.w_jobs[i].aj_used)
                job_release(&w.w_jobs[i]);
    http_engine_destroy(w.w_eng);
    free(w.w_jobs);
    wire_writer_free(&w.w_out);
    assoc_buf_free(&w.w_page);
    hs_assoc_errors_free(&w.w_errs);
    hs_record_page_free(&w.w_records);
    atomic_store(&me->sl_state, SHM_SLOT_FREE);
    return exit_code;
}
