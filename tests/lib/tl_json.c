/*
 * tl_json — JSON for the tests: parsing responses, paths into them (see testlib.h).
 */
#include "testlib.h"
#include "tl_internal.h"

#include <ctype.h>

#include <CUnit/CUnit.h>

/* ---- JSON ---------------------------------------------------------------- */

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Walks `path` from `root`. True when every step exists; *out is then the
 * value, NULL for a JSON null (json-c's representation of null). */
static bool jwalk(json_object *root, const char *path, json_object **out)
{
    json_object *cur = root;
    const char *p = path;
    while (*p) {
        if (!cur)
            return false;
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[256];
        if (n >= sizeof(key))
            return false;
        memcpy(key, p, n);
        key[n] = '\0';
        if (json_object_is_type(cur, json_type_array) && all_digits(key, n)) {
            uint64_t i;
            if (!tl_parse_u64(key, n, &i) || i >= json_object_array_length(cur))
                return false;
            cur = json_object_array_get_idx(cur, (size_t)i);
        } else if (json_object_is_type(cur, json_type_object)) {
            if (!json_object_object_get_ex(cur, key, &cur))
                return false;
        } else {
            return false;
        }
        p += n;
        if (*p == '.')
            p++;
    }
    *out = cur;
    return true;
}

json_object *tl_jget(json_object *root, const char *path)
{
    json_object *v;
    return root && jwalk(root, path, &v) ? v : NULL;
}

const char *tl_jstr(json_object *root, const char *path)
{
    json_object *v = tl_jget(root, path);
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

bool tl_jint(json_object *root, const char *path, bool allow_string, int64_t *out)
{
    json_object *v = tl_jget(root, path);
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_int64(v);
        return true;
    }
    if (allow_string && json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        uint64_t u;
        if (tl_parse_u64(s, strlen(s), &u) && u <= INT64_MAX) {
            *out = (int64_t)u;
            return true;
        }
    }
    return false;
}

int64_t tl_jint_or(json_object *root, const char *path, int64_t dflt)
{
    int64_t v;
    return tl_jint(root, path, false, &v) ? v : dflt;
}

size_t tl_jlen(json_object *root, const char *path)
{
    json_object *v = tl_jget(root, path);
    return json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
}

bool tl_jis(json_object *root, const char *path, json_type type)
{
    json_object *v;
    if (!root || !jwalk(root, path, &v))
        return false;
    return json_object_is_type(v, type); /* json-c: NULL has type json_type_null */
}

bool tl_parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (!all_digits(s, n) || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool tl_is_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

bool tl_is_hubspot_error(tl_resp *r, long http_status, const char *category)
{
    json_object *j = tl_resp_json(r);
    const char *why = NULL;
    const char *message = tl_jstr(j, "message");
    if (r->r_status != http_status)
        why = "HTTP status";
    else if (!j)
        why = "body is not JSON";
    else if (!tl_str_eq(tl_jstr(j, "status"), "error"))
        why = "\"status\" is not \"error\"";
    else if (!message || !*message)
        why = "no \"message\"";
    else if (!tl_is_uuid(tl_jstr(j, "correlationId")))
        why = "\"correlationId\" is not a UUID";
    else if (category && !tl_str_eq(tl_jstr(j, "category"), category))
        why = "\"category\" differs";
    if (!why)
        return true;
    fprintf(stderr, "    expected a HubSpot error (HTTP %ld, category %s): %s\n", http_status,
            category ? category : "any", why);
    tl_resp_dump("got", r);
    return false;
}
