/* hs_paths — HubSpot's endpoint paths (see hs_paths.h). */
#include "hs_paths.h"

#include <inttypes.h>
#include <stdio.h>

const char hs_path_token[] = "/oauth/v1/token";
const char hs_path_daily_probe[] = "/crm/v3/objects/contacts?limit=1";

/* snprintf's count as a size (it cannot fail on these formats). */
static size_t fits(int n)
{
    return n < 0 ? 0 : (size_t)n;
}

static const char *plural(hs_object_type t)
{
    return hs_object(t)->oi_plural;
}

size_t hs_path_assoc_batch_read(char *buf, size_t size, hs_object_type from, hs_object_type to)
{
    return fits(
        snprintf(buf, size, "/crm/v4/associations/%s/%s/batch/read", plural(from), plural(to)));
}

size_t hs_path_assoc_labels(char *buf, size_t size, hs_object_type from, hs_object_type to)
{
    return fits(snprintf(buf, size, "/crm/v4/associations/%s/%s/labels", plural(from), plural(to)));
}

bool hs_path_property_ok(const char *name)
{
    size_t n = 0;
    for (; name[n]; n++)
        if (!((name[n] >= 'a' && name[n] <= 'z') || (name[n] >= 'A' && name[n] <= 'Z') ||
              (name[n] >= '0' && name[n] <= '9') || name[n] == '_'))
            return false;
    return n > 0 && n < 64;
}

size_t hs_path_object_list(char *buf, size_t size, hs_object_type type, bool archived,
                           uint64_t after, const char *const *extra, size_t nextra)
{
    char digits[24] = "", props[HS_PATH_EXTRA_MAX * 64] = "";
    size_t plen = 0;
    for (size_t i = 0; i < nextra && i < HS_PATH_EXTRA_MAX; i++)
        if (hs_path_property_ok(extra[i]))
            plen += fits(snprintf(props + plen, sizeof(props) - plen, ",%s", extra[i]));
    if (after)
        snprintf(digits, sizeof(digits), "%" PRIu64, after);
    return fits(snprintf(buf, size, "/crm/v3/objects/%s?limit=100&archived=%s&properties=%s%s%s%s",
                         plural(type), archived ? "true" : "false", hs_object(type)->oi_lastmod,
                         props, after ? "&after=" : "", digits));
}

size_t hs_path_search(char *buf, size_t size, hs_object_type type)
{
    return fits(snprintf(buf, size, "/crm/v3/objects/%s/search", plural(type)));
}

size_t hs_path_properties(char *buf, size_t size, hs_object_type type)
{
    return fits(snprintf(buf, size, "/crm/v3/properties/%s", plural(type)));
}
