/*
 * fuzz_assoc_object — hs_parse_assoc_object, the single-record read
 * GET /crm/v4/objects/{type}/{id}/associations/{to}: one parent's page, read
 * by the same streaming scanner (links, types, labels, cursor) as the batch
 * read.
 *
 * Checks, besides the sanitizers: a failed parse leaves the buffer as it
 * was; a parsed page is one parent, the one asked for, in canonical form;
 * and, differentially, the scanner agrees with json-c: whatever it accepts
 * json-c parses too (strict mode), and the same body read through json-c's
 * DOM into an assoc_buf gives the same links, types, labels (escapes and
 * surrogate pairs decoded byte for byte) and cursor. One json-c 0.16 bug is
 * allowed for, as tests/unit/test_hs_codec.c does: it turns an escaped
 * surrogate pair whose code point has a surrogate's bits in its low 16
 * (U+1D800–U+1DFFF, …) into U+FFFD, where the scanner decodes it right.
 */
#include "../../common/hubspot/hs_codec.h"
#include "fuzz.h"

/* The parent the body describes, read through json-c (only called on a body
 * the scanner accepted, so the shape is known good). */
static void reference(const uint8_t *data, size_t size, uint64_t parent_id, assoc_buf *ref)
{
    json_object *root = fuzz_json_c_parse(data, size);
    FUZZ_CHECK(assoc_buf_begin_parent(ref, parent_id) == 0);
    json_object *results, *paging, *next, *after;
    FUZZ_CHECK(json_object_object_get_ex(root, "results", &results));
    for (size_t j = 0; j < json_object_array_length(results); j++) {
        json_object *item = json_object_array_get_idx(results, j), *to, *types;
        FUZZ_CHECK(json_object_object_get_ex(item, "toObjectId", &to));
        uint64_t child;
        if (json_object_is_type(to, json_type_string))
            FUZZ_CHECK(parse_u64_digits(json_object_get_string(to),
                                        (size_t)json_object_get_string_len(to), &child));
        else
            child = json_object_get_uint64(to);
        FUZZ_CHECK(assoc_buf_add_link(ref, child) == 0);
        FUZZ_CHECK(json_object_object_get_ex(item, "associationTypes", &types));
        for (size_t k = 0; k < json_object_array_length(types); k++) {
            json_object *t = json_object_array_get_idx(types, k), *cat, *id, *label = NULL;
            assoc_category c;
            FUZZ_CHECK(json_object_object_get_ex(t, "category", &cat));
            FUZZ_CHECK(assoc_category_parse(json_object_get_string(cat),
                                            (size_t)json_object_get_string_len(cat), &c) == 0);
            FUZZ_CHECK(json_object_object_get_ex(t, "typeId", &id));
            json_object_object_get_ex(t, "label", &label);
            FUZZ_CHECK(assoc_buf_add_type(ref, (int32_t)json_object_get_int64(id), c,
                                          label ? json_object_get_string(label) : NULL,
                                          label ? (size_t)json_object_get_string_len(label) : 0) ==
                       0);
        }
    }
    if (json_object_object_get_ex(root, "paging", &paging) && paging &&
        json_object_object_get_ex(paging, "next", &next) && next &&
        json_object_object_get_ex(next, "after", &after))
        FUZZ_CHECK(assoc_buf_set_after(ref, json_object_get_string(after),
                                       (size_t)json_object_get_string_len(after)) == 0);
    FUZZ_CHECK(assoc_buf_finish_parent(ref) == 0);
    json_object_put(root);
}

/* Whether the body holds an escaped pair json-c 0.16 decodes wrong. */
static int json_c_pair_bug(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i + 12 <= n; i++) {
        unsigned hi = 0, lo = 0;
        if (s[i] != '\\' || s[i + 1] != 'u' || s[i + 6] != '\\' || s[i + 7] != 'u')
            continue;
        char h[5] = {(char)s[i + 2], (char)s[i + 3], (char)s[i + 4], (char)s[i + 5], 0};
        char l[5] = {(char)s[i + 8], (char)s[i + 9], (char)s[i + 10], (char)s[i + 11], 0};
        if (sscanf(h, "%4x", &hi) != 1 || sscanf(l, "%4x", &lo) != 1)
            continue;
        unsigned cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
        if (hi >= 0xD800 && hi <= 0xDBFF && lo >= 0xDC00 && lo <= 0xDFFF && (cp & 0xF800) == 0xD800)
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    assoc_buf out, ref;
    err_info e;
    assoc_buf_init(&out);
    assoc_buf_init(&ref);
    FUZZ_CHECK(assoc_buf_begin_parent(&out, 1) == 0 && assoc_buf_add_link(&out, 2) == 0 &&
               assoc_buf_add_type(&out, 3, ASSOC_HUBSPOT_DEFINED, NULL, 0) == 0 &&
               assoc_buf_finish_parent(&out) == 0);
    size_t strings = out.ab_strings.jb_len;
    const uint64_t parent_id = 5790939450u;
    int rc = hs_parse_assoc_object((const char *)data, size, parent_id, &out, &e);
    FUZZ_CHECK(rc == 0 || rc == ERR_PARSE || rc == ERR_SHAPE || rc == ERR_TOO_BIG ||
               rc == ERR_NOMEM);
    if (rc) {
        FUZZ_CHECK(out.ab_nparents == 1 && out.ab_nlinks == 1 && out.ab_ntypes == 1);
        FUZZ_CHECK(out.ab_strings.jb_len == strings);
    } else {
        FUZZ_CHECK(out.ab_nparents == 2 && out.ab_parents[1].ap_parent_id == parent_id);
        fuzz_check_assoc(&out, 0, HS_CURSOR_MAX, 1);
        reference(data, size, parent_id, &ref);
        const assoc_parent *p = &out.ab_parents[1], *q = &ref.ab_parents[0];
        FUZZ_CHECK(fuzz_assoc_parent_equal(&out, p, &ref, q) || json_c_pair_bug(data, size));
        FUZZ_CHECK(p->ap_has_more == q->ap_has_more && p->ap_after_len == q->ap_after_len);
        FUZZ_CHECK(!p->ap_has_more ||
                   memcmp(assoc_after(&out, p), assoc_after(&ref, q), p->ap_after_len) == 0);
    }
    assoc_buf_free(&ref);
    assoc_buf_free(&out);
    return 0;
}
