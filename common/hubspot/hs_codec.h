/*
 * hs_codec — the HubSpot JSON codecs: parsers for the response bodies the sync
 * client reads (association batch read, search, object list, properties,
 * association labels, OAuth token, error bodies) and writers for the request
 * bodies it sends (association batch read, search, OAuth refresh form).
 *
 * Where it sits: a worker receives a body from curl, hands it to one parser
 * here, and turns the result (an assoc_buf, a record page) into msgpack
 * records for the coordinator. Parsing is the worker's CPU ceiling (docs/BENCHMARKS.md,
 * "HubSpot codecs"). The association responses, the hot path, are read
 * by a streaming scanner: one pass over the bytes, no DOM, strings compared
 * in place, nothing copied but labels and cursors (into the caller's
 * assoc_buf); ~6 million associations/s on one core, where json-c's DOM
 * manages ~0.3 million on the same body. The other responses (a search page,
 * properties, association labels, a token, an error) are small or rare: they
 * run json-c's tokener once over the body, walk the tree in place and free it
 * before returning. No parser keeps state between calls; every output buffer
 * is the caller's, reused across responses, so memory follows the largest
 * response, never the portal.
 *
 * Conventions for every function below:
 *  - A body is `len` bytes, not necessarily NUL-terminated. JSON is parsed
 *    strictly (no trailing commas, no leading zeros); bytes after the value
 *    other than whitespace are an error. The association scanner follows RFC
 *    8259 to the letter (json-c also takes "1.", "00", NaN, and single quotes
 *    in places) and refuses an object that gives a member it reads twice.
 *    Two exceptions, shared with json-c so every parser here agrees: raw
 *    control bytes inside a string are taken as they are, except NUL, which
 *    is malformed JSON (json-c reads it as the end of the body).
 *  - Failures return a negative ERR_* code (err.h) and, when `e` is not NULL,
 *    a message naming what was wrong and where, e.g.
 *    "assoc batch read: results[3].to[0].toObjectId is not a number".
 *    The codes used are:
 *      ERR_PARSE    the body is not JSON: empty, truncated ("truncated JSON"),
 *                   malformed, or followed by trailing bytes;
 *      ERR_SHAPE    well-formed JSON but not the documented shape: a required
 *                   field missing, a field of the wrong type, an ID that is not
 *                   a decimal uint64, a number out of range, an unknown
 *                   association category, an unparseable timestamp;
 *      ERR_TOO_BIG  the body exceeds INT_MAX bytes, or a value exceeds a cap
 *                   stated below (cursor, token, label);
 *      ERR_INVALID  a bad argument (NULL pointers, an HTTP status the parser
 *                   does not handle, a request the builder refuses);
 *      ERR_NOMEM    an allocation failed.
 *  - On failure every output is left as it was on entry (parsers that append
 *    truncate back; parsers that refill leave the output empty).
 *  - IDs are uint64. HubSpot sends record IDs as strings of digits and
 *    toObjectId as a JSON number that may exceed 2^53; both are read exactly
 *    (never through a double). A JSON number of UINT64_MAX or more is
 *    rejected as out of range (json-c clamps larger numbers to UINT64_MAX, so
 *    that value cannot be trusted), as is a negative one; "-0" is 0.
 */
#ifndef HUBSYNC_HS_CODEC_H
#define HUBSYNC_HS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/assoc.h"
#include "../base/err.h"
#include "../base/jbuf.h"

enum {
    HS_ASSOC_BATCH_MAX = 1000,     /* inputs per association batch read */
    HS_SEARCH_LIMIT_MAX = 200,     /* search page size */
    HS_SEARCH_RESULTS_MAX = 10000, /* after + limit beyond this is a 400 */
    HS_SEARCH_FILTERS_MAX = 6,     /* filters in one filter group */
    HS_SEARCH_BODY_MAX = 3000,     /* characters in a search request body */
    HS_CURSOR_MAX = 1024,          /* bytes of one paging cursor we accept */
    HS_PAGE_AFTER_MAX = 128,       /* bytes of a list/search `after` we accept */
    HS_TOKEN_MAX = 512             /* bytes of an access or refresh token */
};

/* ======================================================================
 * Association v4 batch read:
 *   POST /crm/v4/associations/{from}/{to}/batch/read
 * ====================================================================== */

/* An errors[] entry of a batch-read response that is not "this input has no
 * associations": the caller decides whether to retry, skip or fail. Strings
 * are NUL-terminated and truncated (at a UTF-8 boundary) to fit. */
typedef struct hs_assoc_failure {
    uint64_t af_from_id; /* context.fromObjectId[0], when af_has_from_id */
    bool af_has_from_id;
    char af_category[64]; /* "OBJECT_NOT_FOUND", … ("" when absent) */
    char af_sub_category[128];
    char af_message[256];
} hs_assoc_failure;

/* What a batch-read response's errors[] said, sorted into the two kinds that
 * matter. Owned by the caller; reuse it with hs_assoc_errors_reset(). */
typedef struct hs_assoc_errors {
    /* Inputs reported with subCategory "crm.associations.NO_ASSOCIATIONS_FOUND":
     * this page of this from-id has zero associations. For a first page
     * (no `after` sent) that means the parent's set is empty and stale links
     * must be removed; for a later page it means the set ended on the previous
     * page (the simulator answers so when a cursor has nothing after it). */
    uint64_t *ae_empty_ids;
    size_t ae_nempty, ae_empty_cap;
    /* Every other errors[] entry, in response order. */
    hs_assoc_failure *ae_failures;
    size_t ae_nfailures, ae_failures_cap;
    /* Sum of the numErrors fields parsed (informational; HubSpot's count). */
    uint64_t ae_num_errors;
} hs_assoc_errors;

/* Initialises an empty error list (no allocation). */
void hs_assoc_errors_init(hs_assoc_errors *errs);

/* Empties the list, keeping its allocations. */
void hs_assoc_errors_reset(hs_assoc_errors *errs);

/* Releases the list's memory and leaves it empty and usable. */
void hs_assoc_errors_free(hs_assoc_errors *errs);

/* Parses a v4 association batch-read response (HTTP 200 or 207) and appends
 * it to `out` and `errs` (the caller resets both between responses if it
 * wants one response's worth).
 *
 * For each results[] entry, in response order (results[] is NOT aligned with
 * the request's inputs): a parent from `from.id` (a string of digits), one link
 * per `to[]` item (`toObjectId`, a JSON number or, defensively, a string of
 * digits), one type per `associationTypes[]` item (`category` one of
 * HUBSPOT_DEFINED, USER_DEFINED, INTEGRATOR_DEFINED, WORK; `typeId` an int32;
 * `label` a string kept byte-exact, or null/absent), the parent's
 * `paging.next.after` cursor kept byte-for-byte (assoc_after(); at most
 * HS_CURSOR_MAX bytes, no NUL bytes), then assoc_buf_finish_parent() puts the
 * parent in canonical form (duplicate links and types merged). A from-id that
 * appears in two results[] entries gives two parents. Members may come in any
 * order; unknown ones (`paging.prev`, `link`, `fromObjectTypeId`, …) are
 * checked as JSON and otherwise ignored. Strings are decoded exactly (escapes,
 * surrogate pairs; an unpaired surrogate becomes U+FFFD, as json-c does).
 *
 * errors[] entries go to errs: NO_ASSOCIATIONS_FOUND ones to ae_empty_ids
 * (every id of context.fromObjectId, or, failing that, the number ending the
 * message "No company is associated with deal 515690208449."), the rest (and
 * a NO_ASSOCIATIONS_FOUND entry that names no parseable id) to ae_failures.
 *
 * Parameters:
 *   body, len    the response body
 *   http_status  the response's HTTP status: 200 or 207
 *   out          the buffer to append parents to (assoc_buf_init'ed)
 *   errs         the error list to append to (hs_assoc_errors_init'ed)
 *   e            receives the message on failure; may be NULL
 * Returns 0, or:
 *   ERR_INVALID  http_status is not 200 or 207 (parse other bodies with
 *                hs_parse_error), or a NULL argument
 *   ERR_PARSE    not JSON (empty, truncated, malformed, trailing bytes)
 *   ERR_SHAPE    `results` missing or not an array; a result without from.id
 *                or to[]; a to[] item without associationTypes or with an
 *                empty one (HubSpot always sends at least one type); an ID
 *                that is not a decimal uint64; a typeId that is not an int32;
 *                an unknown category; a label neither a string nor null; a
 *                cursor that is not a non-empty string; an `errors` that is
 *                not an array of objects; a member the parser reads given
 *                twice in one object; …
 *   ERR_TOO_BIG  a cursor over HS_CURSOR_MAX bytes, a label over 1 KiB, or a
 *                body over INT_MAX bytes
 *   ERR_NOMEM    an allocation failed
 * On failure `out` and `errs` are truncated back to their state on entry. */
int hs_parse_assoc_batch(const char *body, size_t len, int http_status, assoc_buf *out,
                         hs_assoc_errors *errs, err_info *e);

/* Parses one page of the single-record read
 *   GET /crm/v4/objects/{type}/{parent_id}/associations/{to}
 * ({"results":[to items…],"paging":{"next":{"after":…}}}) as one parent
 * `parent_id` appended to `out`, in canonical form, with its cursor when
 * another page exists. The to items and cursor follow the rules of
 * hs_parse_assoc_batch. Returns 0, ERR_INVALID (NULL argument), ERR_PARSE,
 * ERR_SHAPE, ERR_TOO_BIG or ERR_NOMEM as hs_parse_assoc_batch does; on
 * failure `out` is left as on entry. */
int hs_parse_assoc_object(const char *body, size_t len, uint64_t parent_id, assoc_buf *out,
                          err_info *e);

/* ======================================================================
 * Search (POST /crm/v3/objects/{t}/search) and list (GET /crm/v3/objects/{t})
 * ====================================================================== */

/* The most count properties a page's records are read for (rp_count_names). */
enum { HS_RECORD_COUNTS_MAX = 4 };

/* One CRM record as a search or list response shows it. */
typedef struct hs_record {
    uint64_t rec_id;
    int64_t rec_lastmod_ms; /* the last-modified property, when rec_has_lastmod */
    bool rec_has_lastmod;   /* false: the property was null or absent */
    bool rec_archived;      /* "archived" (false when absent) */
    bool rec_has_archived_at;
    int64_t rec_archived_at_ms; /* "archivedAt", when rec_has_archived_at */
    /* The page's rp_count_names, in order: each property's value as a
     * whole number (HubSpot renders numbers as strings, "2000"; a fraction
     * is cut). A hint for planning, never data: a value that is absent,
     * null or not a non-negative number reads as 0 and fails nothing. */
    uint32_t rec_counts[HS_RECORD_COUNTS_MAX];
} hs_record;

/* One page of records. Owned by the caller, reused across pages. */
typedef struct hs_record_page {
    hs_record *rp_items;
    size_t rp_count, rp_cap;
    bool rp_has_total;
    uint64_t rp_total; /* search: "total" (the whole match count, not the page) */
    /* paging.next.after, when rp_has_next: kept byte-for-byte, NUL-terminated.
     * Search: the next offset ("200"), also in rp_next_offset. List: the next
     * record's ID ("513881705058"), also in rp_next_offset when it is digits. */
    bool rp_has_next;
    char rp_after[HS_PAGE_AFTER_MAX + 1];
    size_t rp_after_len;
    bool rp_next_is_number;
    uint64_t rp_next_offset;
    /* Set by the caller before parsing, kept across pages: the properties
     * each record's rec_counts reads (at most HS_RECORD_COUNTS_MAX; the
     * strings are the caller's and must outlive the parse). */
    const char *rp_count_names[HS_RECORD_COUNTS_MAX];
    size_t rp_ncount_names;
} hs_record_page;

void hs_record_page_init(hs_record_page *page);
void hs_record_page_free(hs_record_page *page);

/* Parses a search response
 *   {"total":N,"results":[{"id":"…","properties":{…},…}],"paging":{"next":{"after":"200"}}}
 * into `page`, which it empties first (keeping its allocation). For each
 * result: `id` (a string of digits; a JSON number is accepted too),
 * `properties` (an object, required) whose member `lastmod_property`
 * ("lastmodifieddate" for contacts, "hs_lastmodifieddate" otherwise) is an
 * ISO-8601 UTC string (a string of ms-epoch digits is accepted too), null or
 * absent; the optional `archived` and `archivedAt`. `total` is required; the
 * next `after` must be a decimal offset.
 * Parameters: body, len the response; lastmod_property the property to read;
 * page the output; e the message on failure (may be NULL).
 * Returns 0, or ERR_INVALID (NULL argument), ERR_PARSE (not JSON), ERR_SHAPE
 * (`total` or `results` missing or of the wrong type, a result without `id` or
 * `properties`, an unparseable timestamp, a non-numeric next offset, …),
 * ERR_TOO_BIG (an `after` over HS_PAGE_AFTER_MAX bytes), ERR_NOMEM. On failure
 * the page is left empty. */
int hs_parse_search(const char *body, size_t len, const char *lastmod_property,
                    hs_record_page *page, err_info *e);

/* Parses an object list response (GET /crm/v3/objects/{t}, also with
 * archived=true) into `page` as hs_parse_search does, except that `total` is
 * absent (rp_has_total false) and the next `after` is an opaque non-empty
 * string (the next record's ID in practice). `archived` must be a bool when
 * present; `archivedAt` an ISO-8601 string (or null) when present.
 * Returns and leaves `page` as hs_parse_search does. */
int hs_parse_object_list(const char *body, size_t len, const char *lastmod_property,
                         hs_record_page *page, err_info *e);

/* ======================================================================
 * Properties (GET /crm/v3/properties/{t})
 * ====================================================================== */

typedef struct hs_property {
    uint32_t prop_name_off, prop_name_len; /* into ps_strings, NUL-terminated */
    uint32_t prop_label_off, prop_label_len;
    uint32_t prop_type_off, prop_type_len; /* "" when the response had none */
    uint32_t prop_field_type_off, prop_field_type_len;
} hs_property;

/* The properties of a properties response (name, label, type, fieldType),
 * in response order. */
typedef struct hs_properties {
    hs_property *ps_items;
    size_t ps_count, ps_cap;
    jbuf ps_strings;
} hs_properties;

void hs_properties_init(hs_properties *ps);
void hs_properties_free(hs_properties *ps);

/* Property i's name / label as NUL-terminated strings (i < ps_count). */
const char *hs_property_name(const hs_properties *ps, size_t i);
const char *hs_property_label(const hs_properties *ps, size_t i);

/* Property i's `type` ("number", "string", "datetime", …) and `fieldType`
 * ("number", "calculation_rollup", "text", …) as NUL-terminated strings,
 * "" when the response did not give them (i < ps_count). */
const char *hs_property_type(const hs_properties *ps, size_t i);
const char *hs_property_field_type(const hs_properties *ps, size_t i);

/* Whether property i is a rollup property: `type` "number" and `fieldType`
 * "calculation_rollup", exactly as HubSpot lists one. Its `calculated` flag
 * is not read: HubSpot does not set it reliably for custom properties, and
 * its own counters (num_associated_contacts, `number`/`number`) are not
 * rollups a portal admin can create. i < ps_count. */
bool hs_property_is_rollup(const hs_properties *ps, size_t i);

/* Parses {"results":[{"name":…,"label":…,"type":…,"fieldType":…,…}…]} into
 * `ps`, which it empties first. `name` and `label` are required strings;
 * `type` and `fieldType` optional ones ("" when absent); none may hold a NUL
 * byte. Every other member is ignored.
 * Returns 0, or ERR_INVALID (NULL argument), ERR_PARSE (not JSON), ERR_SHAPE
 * (`results` not an array, an entry that is not an object, lacks a string
 * name or label, or has a type or fieldType that is not a string, null
 * included; a NUL byte in one of the four), ERR_NOMEM. On failure `ps` is
 * left empty. */
int hs_parse_properties(const char *body, size_t len, hs_properties *ps, err_info *e);

/* The labels of `ps` that start with the prefix[0..prefix_len), sorted
 * bytewise (as `LC_ALL=C sort`; duplicates kept, one per property): how setup
 * finds a table's rollup fields ("sync_associations_companies_contacts_label_").
 * *labels receives a malloc'd array of *n pointers into `ps` (free() the array,
 * not the strings; they live as long as `ps` is not reset or freed); with no
 * match *labels is NULL and *n 0.
 * Returns 0, ERR_INVALID (a NULL argument) or ERR_NOMEM. */
int hs_properties_labels_with_prefix(const hs_properties *ps, const char *prefix, size_t prefix_len,
                                     const char ***labels, size_t *n, err_info *e);

/* ======================================================================
 * Association labels (GET /crm/v4/associations/{from}/{to}/labels)
 * ====================================================================== */

/* One association type of a pair as the labels response lists it. */
typedef struct hs_assoc_label {
    assoc_category al_category; /* HUBSPOT_DEFINED, USER_DEFINED, … */
    int32_t al_type_id;
    bool al_has_label;                   /* false: "label" was null or absent */
    uint32_t al_label_off, al_label_len; /* into ls_strings, when al_has_label */
} hs_assoc_label;

/* The association types of one pair, in response order. Owned by the
 * caller, reused across responses. */
typedef struct hs_assoc_labels {
    hs_assoc_label *ls_items;
    size_t ls_count, ls_cap;
    jbuf ls_strings;
} hs_assoc_labels;

void hs_assoc_labels_init(hs_assoc_labels *ls);
void hs_assoc_labels_free(hs_assoc_labels *ls);

/* Type i's label as a NUL-terminated string, or NULL when HubSpot sent null
 * or none (the unlabelled type). i < ls_count. */
const char *hs_assoc_label_name(const hs_assoc_labels *ls, size_t i);

/* Parses a labels response
 *   {"results":[{"category":"HUBSPOT_DEFINED","typeId":1,"label":"Primary"},
 *               {"category":"USER_DEFINED","typeId":1000,"label":null},…]}
 * into `ls`, which it empties first. Each result is an object: `category`
 * one of HUBSPOT_DEFINED, USER_DEFINED, INTEGRATOR_DEFINED, WORK (as in
 * hs_parse_assoc_batch); `typeId` an int32 (a JSON integer); `label` a
 * string without NUL bytes, or null or absent. Other members are ignored.
 * Returns 0, or ERR_INVALID (NULL argument), ERR_PARSE (not JSON), ERR_SHAPE
 * (`results` missing or not an array; a result that is not an object; a
 * category missing, not a string or unknown; a typeId missing or not an
 * int32; a label neither a string nor null, or holding a NUL byte),
 * ERR_TOO_BIG (a label over ASSOC_LABEL_MAX bytes), ERR_NOMEM. On failure
 * `ls` is left empty. */
int hs_parse_assoc_labels(const char *body, size_t len, hs_assoc_labels *ls, err_info *e);

/* ======================================================================
 * OAuth token (POST /oauth/v1/token)
 * ====================================================================== */

typedef struct hs_token {
    char tok_access[HS_TOKEN_MAX + 1]; /* NUL-terminated */
    size_t tok_access_len;
    char tok_refresh[HS_TOKEN_MAX + 1]; /* "" when the response had none */
    size_t tok_refresh_len;
    int64_t tok_expires_in_s;
} hs_token;

/* Parses {"token_type":"bearer","refresh_token":…,"access_token":…,
 * "expires_in":1800} into `out`. `access_token` must be 1..HS_TOKEN_MAX
 * printable ASCII bytes without spaces (it goes into an Authorization header
 * verbatim); `expires_in` a positive integer; `refresh_token` and
 * `token_type` are optional, but when present must be strings (token_type
 * "bearer", any case).
 * Returns 0, or ERR_INVALID (NULL argument), ERR_PARSE (not JSON), ERR_SHAPE
 * (a field missing, of the wrong type, or a token with forbidden bytes),
 * ERR_TOO_BIG (a token over HS_TOKEN_MAX bytes). On failure `out` is zeroed. */
int hs_parse_token(const char *body, size_t len, hs_token *out, err_info *e);

/* ======================================================================
 * Error bodies (any 4xx/5xx)
 * ====================================================================== */

/* Which rate-limit policy a 429 names. */
typedef enum hs_rate_policy {
    HS_POLICY_NONE,                 /* not a rate-limit body */
    HS_POLICY_TEN_SECONDLY_ROLLING, /* the per-app burst window */
    HS_POLICY_SECONDLY,             /* the search limit ("secondly limit") */
    HS_POLICY_DAILY,                /* the daily cap: stop until midnight */
    HS_POLICY_OTHER                 /* errorType RATE_LIMIT, unknown policy */
} hs_rate_policy;

/* Which authentication failure a 401 names. */
typedef enum hs_auth_failure {
    HS_AUTH_NONE,    /* no authentication category */
    HS_AUTH_EXPIRED, /* EXPIRED_AUTHENTICATION: refresh once and retry */
    HS_AUTH_INVALID  /* INVALID_AUTHENTICATION: do not retry */
} hs_auth_failure;

/* HubSpot's error body, every field optional. Strings are NUL-terminated,
 * "" when absent or not a string, truncated (at a UTF-8 boundary) to fit. */
typedef struct hs_error_body {
    bool eb_is_json; /* false: the body was not a JSON object (eb_message says so) */
    char eb_status[32];
    char eb_message[256];
    char eb_category[64];
    char eb_sub_category[128];
    char eb_correlation_id[64];
    char eb_policy_name[64];
    char eb_error_type[64];
    hs_rate_policy eb_policy; /* from policyName, else from the message */
    hs_auth_failure eb_auth;  /* from category */
} hs_error_body;

/* Reads an error body into `out` (which it clears first). Never fails: a body
 * that is not a JSON object gives eb_is_json false and eb_message
 * "not JSON: " followed by its first printable bytes; fields of the wrong
 * type are left empty. eb_policy comes from policyName
 * (TEN_SECONDLY_ROLLING, SECONDLY, DAILY; others with errorType RATE_LIMIT or
 * category RATE_LIMITS give HS_POLICY_OTHER), or, without one, from the
 * message ("You have reached your secondly limit." → SECONDLY, "… daily
 * limit." → DAILY, "… ten_secondly_rolling limit." → TEN_SECONDLY_ROLLING).
 * eb_auth comes from category. `body` may be NULL when len is 0. */
void hs_parse_error(const char *body, size_t len, hs_error_body *out);

/* Parses body[0..len) as one strict JSON value (RFC 8259; whitespace
 * alone may follow it) that must be an object: the first step of every
 * parser here that reads json-c's tree (all but the association batch's
 * streaming scanner). On success *root is the caller's to release with
 * json_object_put. Otherwise *root is NULL and `e` says, after `what`, what
 * is wrong: ERR_PARSE (an empty body, truncated or malformed JSON, bytes
 * after the value), ERR_SHAPE (a value that is not an object), ERR_TOO_BIG
 * (over INT_MAX bytes) or ERR_NOMEM. `e` may be NULL. */
struct json_object;
int hs_parse_json_object(const char *what, const char *body, size_t len, struct json_object **root,
                         err_info *e);

/* ======================================================================
 * Request bodies. Each appends to `out` (the caller resets it); on failure
 * `out` is truncated back to its length on entry.
 * ====================================================================== */

/* One input of an association batch read: a from-id and, for a later page,
 * the cursor HubSpot returned for it (sent back byte-for-byte). */
typedef struct hs_assoc_input {
    uint64_t ai_id;
    const char *ai_after; /* NULL: first page */
    size_t ai_after_len;
} hs_assoc_input;

/* Writes {"inputs":[{"id":"1"},{"id":"2","after":"MC0x%3D"}]}. The cursor's
 * bytes are written as they are (only JSON's own escapes for '"', '\' and
 * control bytes, so the server decodes exactly the bytes HubSpot sent);
 * never percent-decoded or re-encoded.
 * Returns 0, or ERR_INVALID (NULL argument, n == 0, an empty cursor),
 * ERR_TOO_BIG (n > HS_ASSOC_BATCH_MAX, a cursor over HS_CURSOR_MAX bytes),
 * ERR_NOMEM. */
int hs_build_assoc_batch_read(jbuf *out, const hs_assoc_input *inputs, size_t n, err_info *e);

/* Writes the batch read for the next page of every parent of `page` that has
 * one (ap_has_more), in buffer order; *n receives how many inputs were
 * written (0 writes nothing). Returns as hs_build_assoc_batch_read. */
int hs_build_assoc_next_pages(jbuf *out, const assoc_buf *page, size_t *n, err_info *e);

typedef enum hs_search_op {
    HS_OP_EQ,
    HS_OP_NEQ,
    HS_OP_LT,
    HS_OP_LTE,
    HS_OP_GT,
    HS_OP_GTE,
    HS_OP_COUNT
} hs_search_op;

/* "EQ", "NEQ", "LT", "LTE", "GT", "GTE". */
const char *hs_search_op_name(hs_search_op op);

/* One extra filter, ANDed with the time window: {propertyName, operator, value}. */
typedef struct hs_search_filter {
    const char *sf_property; /* "hs_object_id" */
    hs_search_op sf_op;
    const char *sf_value; /* sent as a JSON string ("5434402448") */
} hs_search_filter;

/* A search for the records whose last-modified property lies in a window. */
typedef struct hs_search_query {
    const char *sq_lastmod_property;    /* "lastmodifieddate" / "hs_lastmodifieddate" */
    int64_t sq_from_ms;                 /* lower bound, ms epoch */
    hs_search_op sq_from_op;            /* HS_OP_GTE or HS_OP_GT */
    int64_t sq_to_ms;                   /* upper bound, ms epoch */
    hs_search_op sq_to_op;              /* HS_OP_LTE or HS_OP_LT */
    const hs_search_filter *sq_filters; /* extra filters (same group), may be NULL */
    size_t sq_nfilters;
    const char *sq_sort_property; /* NULL: no "sorts" */
    bool sq_sort_descending;
    const char *const *sq_properties; /* NULL or empty: no "properties" */
    size_t sq_nproperties;
    unsigned sq_limit; /* 1..HS_SEARCH_LIMIT_MAX */
    uint64_t sq_after; /* offset, sent as a string: "0" on the first page */
    /* Send a page past the 10,000-result cap anyway, for HubSpot to answer
     * 400: the reference design does (run --reference-design), and its
     * failure must be HubSpot's own, counted as a request. */
    bool sq_past_cap;
    /* No upper bound (sq_to_* unused): the reference design's open `GT
     * cursor`. */
    bool sq_no_upper;
} hs_search_query;

/* Writes the search request for `q`, e.g.
 *   {"filterGroups":[{"filters":[
 *     {"propertyName":"hs_lastmodifieddate","operator":"GTE","value":"1700000000000"},
 *     {"propertyName":"hs_lastmodifieddate","operator":"LTE","value":"1700000999999"},
 *     {"propertyName":"hs_object_id","operator":"GT","value":"5434402448"}]}],
 *    "sorts":[{"propertyName":"hs_object_id","direction":"ASCENDING"}],
 *    "properties":["hs_lastmodifieddate"],"limit":200,"after":"400"}
 * (without the line breaks). Datetime bounds go out as ms-epoch strings.
 * Returns 0, or ERR_INVALID (NULL argument or property, sq_from_op not GT/GTE,
 * sq_to_op not LT/LTE unless sq_no_upper, a bad extra-filter op, more than
 * HS_SEARCH_FILTERS_MAX filters in all, sq_limit outside 1..200, sq_after +
 * sq_limit beyond HS_SEARCH_RESULTS_MAX unless sq_past_cap: HubSpot would
 * answer 400), ERR_TOO_BIG (the body
 * exceeds HS_SEARCH_BODY_MAX characters), ERR_NOMEM. */
int hs_build_search(jbuf *out, const hs_search_query *q, err_info *e);

/* Writes the OAuth refresh form body
 *   grant_type=refresh_token&refresh_token=…&client_id=…&client_secret=…
 * with each value percent-encoded (RFC 3986 unreserved bytes as they are,
 * every other byte %XX in upper-case hex).
 * Returns 0, ERR_INVALID (a NULL or empty value) or ERR_NOMEM. */
int hs_build_oauth_refresh(jbuf *out, const char *refresh_token, const char *client_id,
                           const char *client_secret, err_info *e);

#endif
