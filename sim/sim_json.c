/* sim_json — strict body parsing (see sim_json.h). */
#include "sim_json.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../common/base/jbuf.h"

/* json-c accepts some non-JSON even in strict mode ('single' quotes, NaN,
 * Infinity). Outside strings, JSON has only punctuation, numbers and the
 * words true, false and null: check that before parsing. */
static bool lexically_json(const char *s, size_t n)
{
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            size_t start = i;
            while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
                i++;
            size_t w = i - start;
            i--;
            bool exponent = w == 1 && (c == 'e' || c == 'E') && start > 0 &&
                            ((s[start - 1] >= '0' && s[start - 1] <= '9') || s[start - 1] == '.');
            if (!exponent && !(w == 4 && memcmp(s + start, "true", 4) == 0) &&
                !(w == 5 && memcmp(s + start, "false", 5) == 0) &&
                !(w == 4 && memcmp(s + start, "null", 4) == 0))
                return false;
        } else if (!strchr("{}[]:,-+.0123456789 \t\r\n", c) || c == '\0') {
            return false;
        }
    }
    return !in_string;
}

json_object *sim_json_parse(const char *body, size_t len)
{
    if (!body || len == 0 || len > INT_MAX || !lexically_json(body, len))
        return NULL;
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return NULL;
    /* HubSpot's parser refuses trailing commas and leading zeros; so do we. */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (e != json_tokener_success || !root) {
        json_object_put(root);
        return NULL;
    }
    for (; end < len; end++) {
        char c = body[end];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
            json_object_put(root);
            return NULL;
        }
    }
    return root;
}

static int digits_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int sim_json_u64(json_object *v, uint64_t *out)
{
    if (json_object_is_type(v, json_type_string))
        return digits_u64(json_object_get_string(v), out);
    if (json_object_is_type(v, json_type_int)) {
        /* json-c keeps integers above INT64_MAX as unsigned; get_int64 would clamp. */
        if (json_object_get_int64(v) < 0)
            return -1;
        *out = json_object_get_uint64(v);
        return 0;
    }
    return -1;
}

int sim_json_i64(json_object *v, bool allow_iso, int64_t *out)
{
    if (json_object_is_type(v, json_type_int)) {
        int64_t i = json_object_get_int64(v);
        if (i == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
            return -1; /* out of range, not INT64_MAX */
        *out = i;
        return 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return -1;
    const char *s = json_object_get_string(v);
    size_t n = strlen(s);
    if (allow_iso && parse_iso8601_ms(s, n, out) == 0)
        return 0;
    bool neg = *s == '-';
    uint64_t u;
    if (digits_u64(s + neg, &u) || u > (uint64_t)INT64_MAX + neg)
        return -1;
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 0;
}
