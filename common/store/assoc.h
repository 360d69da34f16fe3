/*
 * assoc — the in-memory form of association sets, shared by the codecs (a
 * parsed batch-read response), the wire format (a worker's result) and the
 * store (a parent's set to replace).
 *
 * An assoc_buf holds many parents' sets in four flat arrays (parents, links,
 * types, label bytes) so that filling, sending and merging one response costs
 * a handful of allocations, reused across responses via assoc_buf_reset().
 * Offsets, not pointers, link the arrays, so growth never invalidates them.
 *
 * Canonical form (assoc_buf_finish_parent): a parent's links sorted by child
 * ID with no duplicate child (the type sets of duplicates are merged); each
 * link's types sorted by (type ID, category) with no duplicate. HubSpot may list
 * a child twice or a type twice across pages; the canonical form is what the
 * store compares and what the export prints.
 */
#ifndef HUBSYNC_ASSOC_H
#define HUBSYNC_ASSOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/jbuf.h"

/* The longest label accepted anywhere (HubSpot's are short; this bounds hostile input). */
enum { ASSOC_LABEL_MAX = 1024 };

typedef enum assoc_category {
    ASSOC_HUBSPOT_DEFINED,
    ASSOC_USER_DEFINED,
    ASSOC_INTEGRATOR_DEFINED,
    ASSOC_WORK,
    ASSOC_CATEGORY_COUNT
} assoc_category;

/* "HUBSPOT_DEFINED", … */
const char *assoc_category_name(assoc_category c);

/* Parses a category name. Returns 0 and *out, or -1 for an unknown name. */
int assoc_category_parse(const char *s, size_t n, assoc_category *out);

typedef struct assoc_type {
    int32_t at_type_id;
    uint8_t at_category;   /* assoc_category */
    uint8_t at_has_label;  /* 0: "label": null */
    uint32_t at_label_off; /* into ab_strings */
    uint32_t at_label_len;
} assoc_type;

typedef struct assoc_link {
    uint64_t al_child_id;
    uint32_t al_type_off; /* first type in ab_types */
    uint32_t al_ntypes;
} assoc_link;

typedef struct assoc_parent {
    uint64_t ap_parent_id;
    uint32_t ap_link_off; /* first link in ab_links */
    uint32_t ap_nlinks;
    uint32_t ap_after_off; /* paging cursor in ab_strings, when ap_has_more */
    uint32_t ap_after_len;
    uint8_t ap_has_more; /* HubSpot has another page for this parent */
} assoc_parent;

typedef struct assoc_buf {
    assoc_parent *ab_parents;
    size_t ab_nparents, ab_parents_cap;
    assoc_link *ab_links;
    size_t ab_nlinks, ab_links_cap;
    assoc_type *ab_types;
    size_t ab_ntypes, ab_types_cap;
    jbuf ab_strings;
} assoc_buf;

void assoc_buf_init(assoc_buf *b);
void assoc_buf_free(assoc_buf *b);

/* Empties the buffer, keeping its allocations. */
void assoc_buf_reset(assoc_buf *b);

/* Starts a new parent; links and types added next belong to it.
 * Returns 0 or ERR_NOMEM. */
int assoc_buf_begin_parent(assoc_buf *b, uint64_t parent_id);

/* Adds a link to the current parent. Returns 0, ERR_NOMEM, or ERR_INVALID when
 * no parent was begun. */
int assoc_buf_add_link(assoc_buf *b, uint64_t child_id);

/* Adds a type to the current link. label NULL means "label": null.
 * Returns 0, ERR_NOMEM, ERR_INVALID (no link) or ERR_TOO_BIG (label > ASSOC_LABEL_MAX). */
int assoc_buf_add_type(assoc_buf *b, int32_t type_id, assoc_category category, const char *label,
                       size_t label_len);

/* Records the current parent's paging cursor (HubSpot has more links). */
int assoc_buf_set_after(assoc_buf *b, const char *after, size_t len);

/* Appends a copy of parent `src_index` of `src` (its links and types, not its
 * cursor) to the current parent of b: how a paged parent's pages are joined. */
int assoc_buf_append_links(assoc_buf *b, const assoc_buf *src, size_t src_index);

/* Puts the current parent in canonical form (see above). Returns 0 or ERR_NOMEM. */
int assoc_buf_finish_parent(assoc_buf *b);

/* Accessors. A parent without links (a link without types) may belong to a
 * buffer whose array was never allocated: NULL + 0 is undefined behaviour in
 * C (clang's UBSan reports it; found by fuzz_wire), so the empty case returns
 * the array itself, which the caller never dereferences. */
static inline const assoc_link *assoc_links(const assoc_buf *b, const assoc_parent *p)
{
    return p->ap_nlinks ? b->ab_links + p->ap_link_off : b->ab_links;
}

static inline const assoc_type *assoc_types(const assoc_buf *b, const assoc_link *l)
{
    return l->al_ntypes ? b->ab_types + l->al_type_off : b->ab_types;
}

/* The label bytes of t (not NUL-terminated); NULL when the label is null. */
static inline const char *assoc_label(const assoc_buf *b, const assoc_type *t)
{
    return t->at_has_label ? b->ab_strings.jb_data + t->at_label_off : NULL;
}

static inline const char *assoc_after(const assoc_buf *b, const assoc_parent *p)
{
    return p->ap_has_more ? b->ab_strings.jb_data + p->ap_after_off : NULL;
}

#endif
