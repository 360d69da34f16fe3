/*
 * fuzz_properties — hs_parse_properties, the GET /crm/v3/properties/{t}
 * response, and hs_properties_labels_with_prefix, how setup picks a table's
 * rollup labels out of it; and hs_parse_assoc_labels, the
 * GET /crm/v4/associations/{a}/{b}/labels response doctor reads, on the same
 * input (both are {"results":[objects]}, so each one's seeds reach deep into
 * the other). Checks, besides the sanitizers: a failed parse leaves its
 * output empty; every name, label, type and fieldType is NUL-terminated at
 * its length with no NUL inside; hs_property_is_rollup agrees with type and
 * fieldType; the labels found by prefix are exactly those with the prefix,
 * sorted bytewise; an association label is NUL-terminated at its length, at
 * most ASSOC_LABEL_MAX bytes.
 */
#include "fuzz.h"

static void check_labels(const hs_properties *ps, const char *prefix)
{
    size_t plen = strlen(prefix), n = 0, want = 0;
    const char **labels = NULL;
    err_info e;
    FUZZ_CHECK(hs_properties_labels_with_prefix(ps, prefix, plen, &labels, &n, &e) == 0);
    for (size_t i = 0; i < ps->ps_count; i++)
        want += strncmp(hs_property_label(ps, i), prefix, plen) == 0;
    FUZZ_CHECK(n == want && (n == 0) == (labels == NULL));
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(strncmp(labels[i], prefix, plen) == 0);
        FUZZ_CHECK(i == 0 || strcmp(labels[i - 1], labels[i]) <= 0);
    }
    free(labels);
}

static void check_properties(const uint8_t *data, size_t size)
{
    hs_properties ps;
    err_info e;
    hs_properties_init(&ps);
    int rc = hs_parse_properties((const char *)data, size, &ps, &e);
    FUZZ_CHECK(rc == 0 || rc == ERR_PARSE || rc == ERR_SHAPE || rc == ERR_NOMEM);
    if (rc) {
        FUZZ_CHECK(ps.ps_count == 0 && ps.ps_strings.jb_len == 0);
    } else {
        for (size_t i = 0; i < ps.ps_count; i++) {
            const hs_property *p = &ps.ps_items[i];
            FUZZ_CHECK(strlen(hs_property_name(&ps, i)) == p->prop_name_len);
            FUZZ_CHECK(strlen(hs_property_label(&ps, i)) == p->prop_label_len);
            FUZZ_CHECK(strlen(hs_property_type(&ps, i)) == p->prop_type_len);
            FUZZ_CHECK(strlen(hs_property_field_type(&ps, i)) == p->prop_field_type_len);
            FUZZ_CHECK(hs_property_is_rollup(&ps, i) ==
                       (strcmp(hs_property_type(&ps, i), "number") == 0 &&
                        strcmp(hs_property_field_type(&ps, i), "calculation_rollup") == 0));
        }
        check_labels(&ps, "sync_associations_companies_contacts_label_");
        check_labels(&ps, "");
    }
    hs_properties_free(&ps);
}

static void check_assoc_labels(const uint8_t *data, size_t size)
{
    hs_assoc_labels ls;
    err_info e;
    hs_assoc_labels_init(&ls);
    int rc = hs_parse_assoc_labels((const char *)data, size, &ls, &e);
    FUZZ_CHECK(rc == 0 || rc == ERR_PARSE || rc == ERR_SHAPE || rc == ERR_TOO_BIG ||
               rc == ERR_NOMEM);
    if (rc) {
        FUZZ_CHECK(ls.ls_count == 0 && ls.ls_strings.jb_len == 0);
    } else {
        for (size_t i = 0; i < ls.ls_count; i++) {
            const hs_assoc_label *l = &ls.ls_items[i];
            const char *name = hs_assoc_label_name(&ls, i);
            FUZZ_CHECK((name != NULL) == l->al_has_label);
            FUZZ_CHECK(!name ||
                       (strlen(name) == l->al_label_len && l->al_label_len <= ASSOC_LABEL_MAX));
            FUZZ_CHECK(l->al_category < ASSOC_CATEGORY_COUNT);
        }
    }
    hs_assoc_labels_free(&ls);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_properties(data, size);
    check_assoc_labels(data, size);
    return 0;
}
