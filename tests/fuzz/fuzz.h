/*
 * fuzz — what the libFuzzer targets in tests/fuzz/ share.
 *
 * Each target is one tests/fuzz/fuzz_NAME.c holding LLVMFuzzerTestOneInput,
 * built by `make fuzz` with clang -fsanitize=fuzzer,address,undefined into
 * build/fuzz/fuzz_NAME and run by scripts/fuzz.sh. Sanitizers catch memory
 * and UB errors; FUZZ_CHECK catches the other kind of bug, an output that
 * breaks the function's documented contract (a failed parse that left its
 * output changed, a decoded value its own encoder refuses, a round trip that
 * does not give the same value back): it aborts, and libFuzzer saves the
 * input under build/fuzz/crashes/ like any crash.
 */
#ifndef HUBSYNC_FUZZ_H
#define HUBSYNC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../../common/store/assoc.h"
#include "../../common/hubspot/hs_codec.h"

/* libFuzzer's entry points (defined by each target; the second optional). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static inline void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
    abort();
}

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond);                                                  \
    } while (0)

/* Parents [first, b->ab_nparents) of b respect assoc.h's layout and
 * canonical form: every offset inside its array, links sorted by child ID
 * with no duplicate, types sorted by (type ID, category) with no duplicate,
 * categories in range, labels at most ASSOC_LABEL_MAX bytes, cursors of 1 to
 * cursor_max bytes without a NUL. With types_required, every link has a type
 * (the codecs' promise; the wire allows a link with none). */
static inline void fuzz_check_assoc(const assoc_buf *b, size_t first, size_t cursor_max,
                                    int types_required)
{
    size_t strings = b->ab_strings.jb_len;
    for (size_t i = first; i < b->ab_nparents; i++) {
        const assoc_parent *p = &b->ab_parents[i];
        FUZZ_CHECK((size_t)p->ap_link_off + p->ap_nlinks <= b->ab_nlinks);
        if (p->ap_has_more) {
            FUZZ_CHECK(p->ap_after_len >= 1 && p->ap_after_len <= cursor_max);
            FUZZ_CHECK((size_t)p->ap_after_off + p->ap_after_len <= strings);
            FUZZ_CHECK(!memchr(assoc_after(b, p), '\0', p->ap_after_len));
        }
        const assoc_link *links = assoc_links(b, p);
        for (uint32_t j = 0; j < p->ap_nlinks; j++) {
            const assoc_link *l = &links[j];
            FUZZ_CHECK(j == 0 || links[j - 1].al_child_id < l->al_child_id);
            FUZZ_CHECK((size_t)l->al_type_off + l->al_ntypes <= b->ab_ntypes);
            FUZZ_CHECK(!types_required || l->al_ntypes >= 1);
            const assoc_type *types = assoc_types(b, l);
            for (uint32_t k = 0; k < l->al_ntypes; k++) {
                const assoc_type *t = &types[k];
                FUZZ_CHECK(t->at_category < ASSOC_CATEGORY_COUNT);
                FUZZ_CHECK(k == 0 || types[k - 1].at_type_id < t->at_type_id ||
                           (types[k - 1].at_type_id == t->at_type_id &&
                            types[k - 1].at_category < t->at_category));
                FUZZ_CHECK(t->at_has_label || t->at_label_len == 0);
                FUZZ_CHECK(t->at_label_len <= ASSOC_LABEL_MAX);
                FUZZ_CHECK(!t->at_has_label ||
                           (size_t)t->at_label_off + t->at_label_len <= strings);
            }
        }
    }
}

/* Whether parent pa of a and parent pb of b hold the same ID, links, types
 * and labels (cursors are not compared). */
static inline int fuzz_assoc_parent_equal(const assoc_buf *a, const assoc_parent *pa,
                                          const assoc_buf *b, const assoc_parent *pb)
{
    if (pa->ap_parent_id != pb->ap_parent_id || pa->ap_nlinks != pb->ap_nlinks)
        return 0;
    const assoc_link *la = assoc_links(a, pa), *lb = assoc_links(b, pb);
    for (uint32_t j = 0; j < pa->ap_nlinks; j++) {
        if (la[j].al_child_id != lb[j].al_child_id || la[j].al_ntypes != lb[j].al_ntypes)
            return 0;
        const assoc_type *ta = assoc_types(a, &la[j]), *tb = assoc_types(b, &lb[j]);
        for (uint32_t k = 0; k < la[j].al_ntypes; k++) {
            if (ta[k].at_type_id != tb[k].at_type_id || ta[k].at_category != tb[k].at_category ||
                ta[k].at_has_label != tb[k].at_has_label ||
                ta[k].at_label_len != tb[k].at_label_len)
                return 0;
            if (ta[k].at_has_label &&
                memcmp(assoc_label(a, &ta[k]), assoc_label(b, &tb[k]), ta[k].at_label_len) != 0)
                return 0;
        }
    }
    return 1;
}

/* A search or list page as hs_codec.h promises it: empty after a failed
 * parse (rc != 0); after a successful one, the `after` cursor NUL-terminated,
 * 1 to HS_PAGE_AFTER_MAX bytes without a NUL, and rp_next_is_number /
 * rp_next_offset what parse_u64_digits (the list cursor's reader) makes of it. */
static inline void fuzz_check_page(const hs_record_page *pg, int rc)
{
    if (rc) {
        FUZZ_CHECK(pg->rp_count == 0 && !pg->rp_has_next && !pg->rp_has_total);
        FUZZ_CHECK(pg->rp_after_len == 0 && pg->rp_after[0] == '\0');
        return;
    }
    FUZZ_CHECK(pg->rp_count <= pg->rp_cap);
    if (!pg->rp_has_next) {
        FUZZ_CHECK(pg->rp_after_len == 0);
        return;
    }
    FUZZ_CHECK(pg->rp_after_len >= 1 && pg->rp_after_len <= HS_PAGE_AFTER_MAX);
    FUZZ_CHECK(strlen(pg->rp_after) == pg->rp_after_len);
    uint64_t v = 0;
    int digits = parse_u64_digits(pg->rp_after, pg->rp_after_len, &v);
    FUZZ_CHECK(digits == pg->rp_next_is_number);
    FUZZ_CHECK(!digits || v == pg->rp_next_offset);
}

/* A search or list parser (hs_parse_search, hs_parse_object_list). */
typedef int (*fuzz_page_parser)(const char *body, size_t len, const char *lastmod_property,
                                hs_record_page *page, err_info *e);

/* Parses the body with both last-modified property names (contacts'
 * "lastmodifieddate", everyone else's "hs_lastmodifieddate"), checks the page
 * contract after each and hands every parsed page to then(). */
static inline void fuzz_pages(const uint8_t *data, size_t size, fuzz_page_parser parse,
                              void (*then)(const hs_record_page *pg))
{
    static const char *const props[] = {"lastmodifieddate", "hs_lastmodifieddate"};
    hs_record_page pg;
    err_info e;
    hs_record_page_init(&pg);
    for (size_t i = 0; i < 2; i++) {
        int rc = parse((const char *)data, size, props[i], &pg, &e);
        FUZZ_CHECK(rc == 0 || rc == ERR_PARSE || rc == ERR_SHAPE || rc == ERR_TOO_BIG ||
                   rc == ERR_NOMEM);
        fuzz_check_page(&pg, rc);
        if (rc == 0)
            then(&pg);
    }
    hs_record_page_free(&pg);
}

/* The body as json-c reads it (strict mode, 64 levels, only whitespace
 * after the value), which must succeed: for a body the streaming scanner
 * accepted, json-c agrees it is JSON. Free the result with json_object_put. */
static inline json_object *fuzz_json_c_parse(const uint8_t *data, size_t size)
{
    json_tokener *tok = json_tokener_new_ex(64);
    FUZZ_CHECK(tok != NULL);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
    json_object *root = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    FUZZ_CHECK(root != NULL && json_tokener_get_error(tok) == json_tokener_success);
    for (size_t i = json_tokener_get_parse_end(tok); i < size; i++)
        FUZZ_CHECK(data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n');
    json_tokener_free(tok);
    return root;
}

/* A copy of data[0..size) with a NUL after it (malloc'd; NULL when out of
 * memory), for functions that take C strings. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        if (size)
            memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

#endif
