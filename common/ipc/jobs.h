/*
 * jobs — what a job in the shared queue (shm_job) carries, as the coordinator
 * writes it and a worker reads it. Payloads are little structs copied
 * byte-for-byte: both sides are the same binary on the same machine.
 *
 *   JOB_ASSOC_SCAN    read the complete association sets of up to 1,000
 *                     parents of one table (one batch read plus paging)
 *   JOB_OBJECT_LIST   one page of the objects of one type (live or archived)
 *                     from a record ID on (the object sync's first pass)
 *   JOB_SEARCH_SLICE  one page of the records of one type whose last-modified
 *                     time lies in (lo, hi] and whose ID is above after_id,
 *                     in ID order (the change search; see changes.c); or the
 *                     head page: the newest records up to hi, whose total
 *                     is the search index's count of the type; or a page
 *                     of the reference design's search (jq_reference)
 */
#ifndef HUBSYNC_JOBS_H
#define HUBSYNC_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm.h"

enum { JOB_ASSOC_SCAN = 1, JOB_OBJECT_LIST = 2, JOB_SEARCH_SLICE = 3 };

/* HubSpot's batch-read input limit: one job is one batch read. */
enum { JOB_MAX_PARENTS = 1000 };

/* The reference design's search page size (jq_reference). */
enum { JOB_REFERENCE_PAGE = 100 };

typedef struct job_assoc_scan {
    uint16_t js_table; /* index into the run's table list */
    uint16_t js_count; /* parents that follow */
    uint32_t js_reserved;
    uint64_t js_parent_ids[JOB_MAX_PARENTS]; /* ascending */
} job_assoc_scan;

_Static_assert(sizeof(job_assoc_scan) <= SHM_JOB_PAYLOAD, "an assoc scan job fits a payload");

/* Bytes of a scan payload holding `count` parents. */
static inline uint32_t job_assoc_scan_size(uint32_t count)
{
    return (uint32_t)(offsetof(job_assoc_scan, js_parent_ids) + count * sizeof(uint64_t));
}

/* How a JOB_OBJECT_LIST page is fetched. Every one is answered with OBJECTS
 * (the records, and the next record ID to ask for, if any below end_id). */
enum {
    LIST_PAGE = 0,   /* GET /crm/v3/objects/{type}: 100 records from after_id on */
    LIST_SEARCH = 1, /* the search budget's way: 200 live records with IDs in
                      * [after_id, end_id), in ID order */
    LIST_MAX_ID = 2, /* one search for the type's highest record ID (the span
                      * the coordinator cuts into parallel chains) */
    LIST_HEAVY = 3,  /* one search for the records whose count field 0 is above
                      * heavy_links, the most first, 200 (a table's heavy
                      * parents, before the list reaches them); answered with
                      * SEARCH_RESULT, like LIST_MAX_ID */
};

/* The count rollups a live page asks for (jl_count_fields). */
enum { JOB_COUNT_FIELDS_MAX = 4, JOB_FIELD_NAME_MAX = 64 };

typedef struct job_object_list {
    uint16_t jl_object_type; /* hs_object_type */
    uint8_t jl_archived;     /* list archived records (archived=true); LIST_PAGE only */
    uint8_t jl_mode;         /* LIST_PAGE, LIST_SEARCH, LIST_MAX_ID or LIST_HEAVY */
    uint8_t jl_ncount;       /* count fields that follow (live LIST_PAGE, LIST_SEARCH) */
    uint8_t jl_reserved[3];
    uint64_t jl_after_id; /* first ID to list (0: from the start) */
    uint64_t jl_end_id;   /* IDs from here on belong to another chain (UINT64_MAX: none) */
    /* Heavy parents (scan.c): the page asks for each count rollup too, and
     * a record whose count i is above jl_heavy_links is sent with bit i of
     * its wo_heavy set. The names are HubSpot's internal ones,
     * NUL-terminated ([A-Za-z0-9_]: they go into the list's query). */
    uint32_t jl_heavy_links;
    char jl_count_fields[JOB_COUNT_FIELDS_MAX][JOB_FIELD_NAME_MAX];
} job_object_list;

_Static_assert(sizeof(job_object_list) <= SHM_JOB_PAYLOAD, "an object list job fits a payload");

/* Keyset paging: each page asks again with after_id = the last ID seen, so
 * records leaving the slice between pages (they changed again, after hi)
 * never shift another record out of sight, as offsets would, and no slice
 * ever meets the 10,000-result cap. */
typedef struct job_search_slice {
    uint16_t jq_object_type; /* hs_object_type */
    uint8_t jq_head;         /* 1: the head page (lo and after_id unused) */
    /* 1: the reference design's search (run --reference-design): last-modified
     * > lo with no upper bound, sorted by last-modified ascending, 100 a page,
     * offset paging with jq_after_id the offset (hi unused); a page past the
     * 10,000-result cap is sent anyway, for HubSpot's 400. */
    uint8_t jq_reference;
    uint8_t jq_reserved[4];
    int64_t jq_lo_ms;     /* last-modified > lo */
    int64_t jq_hi_ms;     /* last-modified <= hi */
    uint64_t jq_after_id; /* hs_object_id > after_id (0: from the start) */
} job_search_slice;

_Static_assert(sizeof(job_search_slice) <= SHM_JOB_PAYLOAD, "a search slice job fits a payload");

/* The budget a job's requests spend (shm_budget): searches and the list
 * pages fetched by search spend the search limit; the rest the burst limit. */
static inline uint32_t job_budget(uint32_t kind, const void *payload, uint32_t len)
{
    if (kind == JOB_SEARCH_SLICE)
        return SHM_BUDGET_SEARCH;
    if (kind == JOB_OBJECT_LIST && len >= sizeof(job_object_list))
        return ((const job_object_list *)payload)->jl_mode == LIST_PAGE ? SHM_BUDGET_BURST
                                                                        : SHM_BUDGET_SEARCH;
    return SHM_BUDGET_BURST;
}

#endif
