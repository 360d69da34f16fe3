/* assoc — flat association-set buffers (see assoc.h). */
#include "assoc.h"

#include <stdlib.h>
#include <string.h>

#include "../base/err.h"

static const char *const category_names[ASSOC_CATEGORY_COUNT] = {"HUBSPOT_DEFINED", "USER_DEFINED",
                                                                 "INTEGRATOR_DEFINED", "WORK"};

const char *assoc_category_name(assoc_category c)
{
    return c < ASSOC_CATEGORY_COUNT ? category_names[c] : "UNKNOWN";
}

int assoc_category_parse(const char *s, size_t n, assoc_category *out)
{
    for (int c = 0; c < ASSOC_CATEGORY_COUNT; c++) {
        if (strlen(category_names[c]) == n && memcmp(category_names[c], s, n) == 0) {
            *out = (assoc_category)c;
            return 0;
        }
    }
    return -1;
}

void assoc_buf_init(assoc_buf *b)
{
    memset(b, 0, sizeof(*b));
    jb_init(&b->ab_strings);
}

void assoc_buf_free(assoc_buf *b)
{
    free(b->ab_parents);
    free(b->ab_links);
    free(b->ab_types);
    jb_free(&b->ab_strings);
    assoc_buf_init(b);
}

void assoc_buf_reset(assoc_buf *b)
{
    b->ab_nparents = b->ab_nlinks = b->ab_ntypes = 0;
    jb_reset(&b->ab_strings);
}

/* Makes room for one more element of `size` bytes in *items. From 4, not
 * more: a worker holds one buffer per parent of every batch read in flight
 * (the parent's page so far), a thousand a batch and dozens of batches at a
 * high latency, where 64 of each array came to 4 KiB a parent, most of a
 * worker's memory; a large buffer gets there in a few more doublings. */
static int grow(void **items, size_t *cap, size_t len, size_t size)
{
    if (len < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 4;
    void *p = realloc(*items, ncap * size);
    if (!p)
        return ERR_NOMEM;
    *items = p;
    *cap = ncap;
    return 0;
}

int assoc_buf_begin_parent(assoc_buf *b, uint64_t parent_id)
{
    if (grow((void **)&b->ab_parents, &b->ab_parents_cap, b->ab_nparents, sizeof(assoc_parent)))
        return ERR_NOMEM;
    b->ab_parents[b->ab_nparents++] = (assoc_parent){parent_id, (uint32_t)b->ab_nlinks, 0, 0, 0, 0};
    return 0;
}

int assoc_buf_add_link(assoc_buf *b, uint64_t child_id)
{
    if (b->ab_nparents == 0)
        return ERR_INVALID;
    if (grow((void **)&b->ab_links, &b->ab_links_cap, b->ab_nlinks, sizeof(assoc_link)))
        return ERR_NOMEM;
    b->ab_links[b->ab_nlinks++] = (assoc_link){child_id, (uint32_t)b->ab_ntypes, 0};
    b->ab_parents[b->ab_nparents - 1].ap_nlinks++;
    return 0;
}

/* Appends label bytes to the string arena; returns the offset via *off. */
static int put_string(assoc_buf *b, const char *s, size_t n, uint32_t *off)
{
    size_t at = b->ab_strings.jb_len;
    if (at + n > UINT32_MAX)
        return ERR_TOO_BIG;
    jb_raw(&b->ab_strings, s, n);
    if (!jb_ok(&b->ab_strings))
        return ERR_NOMEM;
    *off = (uint32_t)at;
    return 0;
}

int assoc_buf_add_type(assoc_buf *b, int32_t type_id, assoc_category category, const char *label,
                       size_t label_len)
{
    if (b->ab_nparents == 0 || b->ab_parents[b->ab_nparents - 1].ap_nlinks == 0)
        return ERR_INVALID;
    if (label && label_len > ASSOC_LABEL_MAX)
        return ERR_TOO_BIG;
    if (grow((void **)&b->ab_types, &b->ab_types_cap, b->ab_ntypes, sizeof(assoc_type)))
        return ERR_NOMEM;
    assoc_type t = {type_id, (uint8_t)category, label != NULL, 0, (uint32_t)label_len};
    if (label) {
        int rc = put_string(b, label, label_len, &t.at_label_off);
        if (rc)
            return rc;
    } else {
        t.at_label_len = 0;
    }
    b->ab_types[b->ab_ntypes++] = t;
    b->ab_links[b->ab_nlinks - 1].al_ntypes++;
    return 0;
}

int assoc_buf_set_after(assoc_buf *b, const char *after, size_t len)
{
    if (b->ab_nparents == 0)
        return ERR_INVALID;
    uint32_t off;
    int rc = put_string(b, after, len, &off);
    if (rc)
        return rc;
    /* NUL-terminate so assoc_after() is a C string. */
    jb_char(&b->ab_strings, '\0');
    if (!jb_ok(&b->ab_strings))
        return ERR_NOMEM;
    assoc_parent *p = &b->ab_parents[b->ab_nparents - 1];
    p->ap_after_off = off;
    p->ap_after_len = (uint32_t)len;
    p->ap_has_more = 1;
    return 0;
}

int assoc_buf_append_links(assoc_buf *b, const assoc_buf *src, size_t src_index)
{
    const assoc_parent *sp = &src->ab_parents[src_index];
    const assoc_link *links = assoc_links(src, sp);
    for (uint32_t i = 0; i < sp->ap_nlinks; i++) {
        int rc = assoc_buf_add_link(b, links[i].al_child_id);
        const assoc_type *types = assoc_types(src, &links[i]);
        for (uint32_t k = 0; rc == 0 && k < links[i].al_ntypes; k++)
            rc = assoc_buf_add_type(b, types[k].at_type_id, (assoc_category)types[k].at_category,
                                    assoc_label(src, &types[k]), types[k].at_label_len);
        if (rc)
            return rc;
    }
    return 0;
}

static int link_cmp(const void *x, const void *y)
{
    uint64_t a = ((const assoc_link *)x)->al_child_id, c = ((const assoc_link *)y)->al_child_id;
    return a < c ? -1 : a > c;
}

static int type_cmp(const void *x, const void *y)
{
    const assoc_type *a = x, *c = y;
    if (a->at_type_id != c->at_type_id)
        return a->at_type_id < c->at_type_id ? -1 : 1;
    return (int)a->at_category - (int)c->at_category;
}

/* Sorts a link's types and drops duplicates; returns the new count. */
static uint32_t tidy_types(assoc_type *t, uint32_t n)
{
    if (n < 2)
        return n; /* also keeps qsort away from a NULL array */
    qsort(t, n, sizeof(*t), type_cmp);
    uint32_t m = 0;
    for (uint32_t k = 0; k < n; k++)
        if (m == 0 || type_cmp(&t[m - 1], &t[k]) != 0)
            t[m++] = t[k];
    return m;
}

int assoc_buf_finish_parent(assoc_buf *b)
{
    if (b->ab_nparents == 0)
        return ERR_INVALID;
    assoc_parent *p = &b->ab_parents[b->ab_nparents - 1];
    if (p->ap_nlinks == 0)
        return 0; /* nothing to sort; and ab_links may still be NULL (NULL + 0 is UB) */
    assoc_link *links = b->ab_links + p->ap_link_off;
    bool sorted = true;
    for (uint32_t i = 1; i < p->ap_nlinks && sorted; i++)
        sorted = links[i - 1].al_child_id < links[i].al_child_id;
    if (sorted) {
        /* The common case: HubSpot's order, no duplicates. Only types to tidy. */
        for (uint32_t i = 0; i < p->ap_nlinks; i++)
            if (links[i].al_ntypes)
                links[i].al_ntypes =
                    tidy_types(b->ab_types + links[i].al_type_off, links[i].al_ntypes);
        return 0;
    }
    /* Rebuild the parent's types contiguously per merged link. The types of a
     * link are not contiguous after sorting links, so copy them out first. */
    size_t ntypes = 0;
    for (uint32_t i = 0; i < p->ap_nlinks; i++)
        ntypes += links[i].al_ntypes;
    assoc_type *scratch = malloc((ntypes ? ntypes : 1) * sizeof(*scratch));
    if (!scratch)
        return ERR_NOMEM;
    qsort(links, p->ap_nlinks, sizeof(*links), link_cmp);
    uint32_t type_base = links[0].al_type_off;
    for (uint32_t i = 1; i < p->ap_nlinks; i++)
        if (links[i].al_type_off < type_base)
            type_base = links[i].al_type_off;
    size_t out = 0;
    uint32_t m = 0;
    for (uint32_t i = 0; i < p->ap_nlinks; i++) {
        assoc_link cur = links[i]; /* links[m] may be links[i]: read it first */
        if (m == 0 || links[m - 1].al_child_id != cur.al_child_id)
            links[m++] = (assoc_link){cur.al_child_id, (uint32_t)(type_base + out), 0};
        if (cur.al_ntypes) /* ab_types may be NULL when no link has a type */
            memcpy(scratch + out, b->ab_types + cur.al_type_off, cur.al_ntypes * sizeof(*scratch));
        out += cur.al_ntypes;
        links[m - 1].al_ntypes += cur.al_ntypes;
    }
    /* Scratch holds each merged link's types in order; copy back in place. */
    if (out)
        memcpy(b->ab_types + type_base, scratch, out * sizeof(*scratch));
    free(scratch);
    p->ap_nlinks = m;
    b->ab_nlinks = p->ap_link_off + m;
    for (uint32_t i = 0; i < m; i++)
        if (links[i].al_ntypes)
            links[i].al_ntypes = tidy_types(b->ab_types + links[i].al_type_off, links[i].al_ntypes);
    return 0;
}
