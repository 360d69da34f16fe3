/*
 * fuzz_properties — hs_parse_properties, the GET /crm/v3/properties/{t}
 * response, and hs_properties_labels_with_prefix, how setup picks a table's
 * rollup labels out of it. Checks, besides the sanitizers: a failed parse
 * leaves the list empty; every name and label is NUL-terminated at its
 * length with no NUL inside; the labels found by prefix are exactly those
 * with the prefix, sorted bytewise.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
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
            FUZZ_CHECK(strlen(hs_property_name(&ps, i)) == ps.ps_items[i].prop_name_len);
            FUZZ_CHECK(strlen(hs_property_label(&ps, i)) == ps.ps_items[i].prop_label_len);
        }
        check_labels(&ps, "sync_associations_companies_contacts_label_");
        check_labels(&ps, "");
    }
    hs_properties_free(&ps);
    return 0;
}
