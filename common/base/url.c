/* url — the base URL rule (see url.h). */
#include "url.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <string.h>
#include <strings.h>

bool url_host_is_loopback(const char *host)
{
    if (strcasecmp(host, "localhost") == 0)
        return true;
    struct in_addr v4;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    size_t n = strlen(host);
    char inner[64];
    if (n < 3 || n - 2 >= sizeof(inner) || host[0] != '[' || host[n - 1] != ']')
        return false;
    memcpy(inner, host + 1, n - 2);
    inner[n - 2] = '\0';
    struct in6_addr v6;
    if (inet_pton(AF_INET6, inner, &v6) != 1)
        return false;
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
}

/* The characters a base URL may hold: scheme, host (names, IPv4, [IPv6]),
 * port and path. No '@', '?', '#', '%', '\\' or anything else that
 * would let two parsers see different hosts. */
static bool allowed_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           strchr("-._~:/[]", ch) != NULL;
}

int url_check_base(const char *url, bool *plain_http, err_info *e)
{
    for (const char *p = url; *p; p++) {
        if (allowed_char(*p))
            continue;
        char what[16];
        unsigned char ch = (unsigned char)*p;
        if (ch > 0x20 && ch < 0x7f)
            snprintf(what, sizeof(what), "'%c'", ch);
        else
            snprintf(what, sizeof(what), "byte 0x%02x", ch);
        return err_set(e, ERR_INVALID,
                       "base URL '%.100s': %s is not allowed (no user info, query, fragment or "
                       "escapes: scheme://host[:port][/path] only)",
                       url, what);
    }
    /* curl would accept "example.com" as http:// by guessing: require the
     * scheme to be spelled out. */
    bool tls = strncasecmp(url, "https://", 8) == 0;
    if (!tls && strncasecmp(url, "http://", 7) != 0)
        return err_set(e, ERR_INVALID, "base URL '%.100s' must start with https://", url);
    CURLU *u = curl_url();
    if (!u)
        return err_set(e, ERR_NOMEM, "base URL: out of memory");
    char *host = NULL;
    int rc = 0;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_HOST, &host, 0);
    if (uc != CURLUE_OK || !host || !host[0]) {
        rc = err_set(e, ERR_INVALID, "base URL '%.100s' cannot be parsed: %s", url,
                     uc != CURLUE_OK ? curl_url_strerror(uc) : "no host");
        goto out;
    }
    if (!tls && !url_host_is_loopback(host))
        rc = err_set(e, ERR_INVALID,
                     "plain http:// is allowed only to loopback addresses; use https:// for "
                     "'%.100s' (host %.64s)",
                     url, host);
out:
    if (rc == 0 && plain_http)
        *plain_http = !tls;
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}
