/*
 * fuzz_search — hs_parse_search, the POST /crm/v3/objects/{t}/search
 * response, read with both last-modified property names (contacts'
 * "lastmodifieddate" and everyone else's "hs_lastmodifieddate"). Checks,
 * besides the sanitizers: the page contract (fuzz_check_page), a total on
 * every parsed page and a next offset that is always a decimal number.
 */
#include "fuzz.h"

static void check_search(const hs_record_page *pg)
{
    FUZZ_CHECK(pg->rp_has_total);
    FUZZ_CHECK(!pg->rp_has_next || pg->rp_next_is_number);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_pages(data, size, hs_parse_search, check_search);
    return 0;
}
