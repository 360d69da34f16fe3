/* sim_cursor — association paging cursors (see sim_cursor.h). */
#include "sim_cursor.h"

#include <stdio.h>
#include <string.h>

#include "../common/base/jbuf.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t sim_cursor_encode(const char *type_id, uint64_t last_id, char *out)
{
    char plain[48], digits[24];
    fmt_u64(digits, last_id);
    int n = snprintf(plain, sizeof(plain), "%s-%s", type_id, digits);
    /* Make the length not a multiple of 3 so base64 pads with '='. */
    if (n % 3 == 0)
        plain[n++] = '-';
    size_t o = 0;
    for (int i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)plain[i] << 16;
        int left = n - i;
        if (left > 1)
            v |= (unsigned char)plain[i + 1] << 8;
        if (left > 2)
            v |= (unsigned char)plain[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        if (left > 1) {
            out[o++] = b64[(v >> 6) & 63];
        } else {
            memcpy(out + o, "%3D", 3);
            o += 3;
        }
        if (left > 2) {
            out[o++] = b64[v & 63];
        } else {
            memcpy(out + o, "%3D", 3);
            o += 3;
        }
    }
    out[o] = '\0';
    return o;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

int sim_cursor_decode(const char *s, size_t n, const char *type_id, int url_decoded,
                      uint64_t *last_id)
{
    /* Normalise the padding to '=' while checking it has the expected form. */
    char norm[SIM_CURSOR_MAX];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m + 1 >= sizeof(norm))
            return -1;
        if (!url_decoded && s[i] == '%') {
            if (i + 2 >= n || s[i + 1] != '3' || s[i + 2] != 'D')
                return -1;
            norm[m++] = '=';
            i += 2;
        } else if (!url_decoded && s[i] == '=') {
            return -1; /* the client decoded the cursor: HubSpot's would not match */
        } else {
            norm[m++] = s[i];
        }
    }
    if (m == 0 || m % 4 != 0)
        return -1;
    char plain[SIM_CURSOR_MAX];
    size_t p = 0;
    for (size_t i = 0; i < m; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) {
            v[k] = norm[i + k] == '=' ? 0 : b64_value(norm[i + k]);
            if (v[k] < 0 || (norm[i + k] == '=' && i + 4 != m))
                return -1;
        }
        unsigned bits = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
        plain[p++] = (char)(bits >> 16);
        if (norm[i + 2] != '=')
            plain[p++] = (char)(bits >> 8 & 255);
        if (norm[i + 3] != '=')
            plain[p++] = (char)(bits & 255);
    }
    if (norm[m - 1] != '=')
        return -1; /* every cursor we issue is padded */
    while (p > 0 && plain[p - 1] == '-')
        p--;
    plain[p] = '\0';
    size_t tl = strlen(type_id);
    if (p <= tl + 1 || memcmp(plain, type_id, tl) != 0 || plain[tl] != '-')
        return -1;
    uint64_t v = 0;
    for (size_t i = tl + 1; i < p; i++) {
        if (plain[i] < '0' || plain[i] > '9')
            return -1;
        uint64_t digit = (uint64_t)(plain[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return -1;
        v = v * 10 + digit;
    }
    *last_id = v;
    return 0;
}
