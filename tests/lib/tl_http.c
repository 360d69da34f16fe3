/*
 * tl_http — HTTP to the simulator for the tests: requests, responses, headers (see testlib.h).
 */
#include "testlib.h"
#include "tl_internal.h"

#include <stdarg.h>

#include <CUnit/CUnit.h>

/* ---- HTTP ---------------------------------------------------------------- */

/* One transfer in flight: its handle, request headers and the response being
 * filled. */
typedef struct xfer {
    CURL *x_curl;
    struct curl_slist *x_hdrs;
    tl_resp *x_resp;
    jbuf x_body;
    size_t x_index; /* which request, for tl_parallel */
} xfer;

static void free_headers(tl_resp *r)
{
    for (size_t i = 0; i < r->r_nheaders; i++) {
        free(r->r_headers[i].h_name);
        free(r->r_headers[i].h_value);
    }
    free(r->r_headers);
    r->r_headers = NULL;
    r->r_nheaders = 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    xfer *x = userdata;
    jb_raw(&x->x_body, data, size * nmemb);
    return jb_ok(&x->x_body) ? size * nmemb : 0;
}

/* Keeps the headers of the last response: a status line starts a new set. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    xfer *x = userdata;
    tl_resp *r = x->x_resp;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        free_headers(r);
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (!colon)
        return n;
    size_t name_len = (size_t)(colon - data);
    const char *v = colon + 1;
    const char *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    tl_header *grown = realloc(r->r_headers, (r->r_nheaders + 1) * sizeof(*grown));
    if (!grown)
        return 0;
    r->r_headers = grown;
    tl_header *h = &r->r_headers[r->r_nheaders];
    h->h_name = strndup(data, name_len);
    h->h_value = strndup(v, (size_t)(end - v));
    if (!h->h_name || !h->h_value) {
        free(h->h_name);
        free(h->h_value);
        return 0;
    }
    r->r_nheaders++;
    return n;
}

/* Sets up `x->x_curl` for `req` against `s`; the handle keeps its
 * connections across curl_easy_reset(). */
static int xfer_setup(xfer *x, const tl_sim *s, const tl_req *req, tl_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    x->x_resp = resp;
    x->x_hdrs = NULL;
    jb_init(&x->x_body);
    CURL *c = x->x_curl;
    curl_easy_reset(c);

    char *url = NULL;
    if (asprintf(&url, "%s%s", s->s_base_url, req->rq_path) < 0)
        return -1;
    char auth[512];
    if (req->rq_token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", req->rq_token);
        x->x_hdrs = curl_slist_append(x->x_hdrs, auth);
    }
    char ctype[128];
    snprintf(ctype, sizeof(ctype), "Content-Type:%s%s", req->rq_content_type ? " " : "",
             req->rq_content_type ? req->rq_content_type : "");
    x->x_hdrs = curl_slist_append(x->x_hdrs, ctype);
    /* No 100-continue round trip: the simulator answers big bodies directly. */
    x->x_hdrs = curl_slist_append(x->x_hdrs, "Expect:");

    curl_easy_setopt(c, CURLOPT_URL, url); /* curl keeps its own copy */
    free(url);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    if (s->s_ca_file[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, s->s_ca_file);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->x_hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_PRIVATE, x);
    if (strcmp(req->rq_method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->rq_body ? req->rq_body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(req->rq_body ? req->rq_body_len : 0));
        if (strcmp(req->rq_method, "POST") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->rq_method);
    }
    return 0;
}

/* Moves the received body and status into the response. */
static void xfer_finish(xfer *x, CURLcode code)
{
    tl_resp *r = x->x_resp;
    r->r_curl = code;
    curl_easy_getinfo(x->x_curl, CURLINFO_RESPONSE_CODE, &r->r_status);
    r->r_body = tl_take_string(&x->x_body, &r->r_body_len);
    curl_slist_free_all(x->x_hdrs);
    x->x_hdrs = NULL;
}

int tl_request(tl_sim *s, const tl_req *req, tl_resp *resp)
{
    if (!s->s_curl) {
        memset(resp, 0, sizeof(*resp));
        resp->r_curl = CURLE_FAILED_INIT;
        resp->r_body = strdup("");
        return -1;
    }
    xfer x = {.x_curl = s->s_curl};
    if (xfer_setup(&x, s, req, resp) < 0) {
        xfer_finish(&x, CURLE_URL_MALFORMAT);
        return -1;
    }
    CURLcode code = curl_easy_perform(s->s_curl);
    xfer_finish(&x, code);
    return code == CURLE_OK ? 0 : -1;
}

int tl_get(tl_sim *s, const char *path, const char *token, tl_resp *resp)
{
    tl_req req = {.rq_method = "GET", .rq_path = path, .rq_token = token};
    return tl_request(s, &req, resp);
}

int tl_getf(tl_sim *s, const char *token, tl_resp *resp, const char *fmt, ...)
{
    char path[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return tl_get(s, path, token, resp);
}

int tl_post_json(tl_sim *s, const char *path, const char *token, const char *body, tl_resp *resp)
{
    tl_req req = {.rq_method = "POST",
                  .rq_path = path,
                  .rq_token = token,
                  .rq_content_type = "application/json",
                  .rq_body = body,
                  .rq_body_len = body ? strlen(body) : 0};
    return tl_request(s, &req, resp);
}

int tl_post_form(tl_sim *s, const char *path, const char *token, const char *body, tl_resp *resp)
{
    tl_req req = {.rq_method = "POST",
                  .rq_path = path,
                  .rq_token = token,
                  .rq_content_type = "application/x-www-form-urlencoded",
                  .rq_body = body,
                  .rq_body_len = body ? strlen(body) : 0};
    return tl_request(s, &req, resp);
}

/* Starts request `i` on transfer `x`; false when it could not be set up (the
 * response is then finished with an error). */
static bool parallel_start(CURLM *m, xfer *x, tl_sim *s, const tl_req *reqs, size_t i, tl_resp *out)
{
    x->x_index = i;
    if (xfer_setup(x, s, &reqs[i], &out[i]) < 0 ||
        curl_multi_add_handle(m, x->x_curl) != CURLM_OK) {
        xfer_finish(x, CURLE_FAILED_INIT);
        return false;
    }
    return true;
}

int tl_parallel(tl_sim *s, const tl_req *reqs, size_t n, int conns, tl_resp *out)
{
    if (conns < 1)
        conns = 1;
    CURLM *m = curl_multi_init();
    xfer *xs = calloc((size_t)conns, sizeof(*xs));
    int rc = -1;
    if (!m || !xs)
        goto done;
    for (int i = 0; i < conns; i++)
        if (!(xs[i].x_curl = curl_easy_init()))
            goto done;
    size_t next = 0;
    int active = 0;
    /* Fill every connection, then refill each one as its transfer ends
     * (curl's 10-at-a-time pattern). */
    for (int i = 0; i < conns; i++)
        while (next < n)
            if (parallel_start(m, &xs[i], s, reqs, next++, out)) {
                active++;
                break;
            }
    while (active > 0) {
        int running;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            xfer *x;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            CURLcode code = msg->data.result;
            curl_multi_remove_handle(m, x->x_curl);
            xfer_finish(x, code);
            active--;
            while (next < n)
                if (parallel_start(m, x, s, reqs, next++, out)) {
                    active++;
                    break;
                }
        }
        if (active > 0)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    rc = 0;
done:
    for (int i = 0; xs && i < conns; i++)
        if (xs[i].x_curl)
            curl_easy_cleanup(xs[i].x_curl);
    free(xs);
    if (m)
        curl_multi_cleanup(m);
    return rc;
}

const char *tl_header_get(const tl_resp *r, const char *name)
{
    for (size_t i = 0; i < r->r_nheaders; i++)
        if (strcasecmp(r->r_headers[i].h_name, name) == 0)
            return r->r_headers[i].h_value;
    return NULL;
}

size_t tl_header_count_prefix(const tl_resp *r, const char *prefix)
{
    size_t count = 0, n = strlen(prefix);
    for (size_t i = 0; i < r->r_nheaders; i++)
        if (strncasecmp(r->r_headers[i].h_name, prefix, n) == 0)
            count++;
    return count;
}

json_object *tl_resp_json(tl_resp *r)
{
    if (!r->r_json_tried) {
        r->r_json_tried = true;
        if (r->r_body && r->r_body_len > 0) {
            json_tokener *tok = json_tokener_new();
            if (tok) {
                r->r_json = json_tokener_parse_ex(tok, r->r_body, (int)r->r_body_len);
                /* Trailing garbage or an incomplete document is not JSON. */
                if (json_tokener_get_error(tok) != json_tokener_success ||
                    json_tokener_get_parse_end(tok) != r->r_body_len) {
                    json_object_put(r->r_json);
                    r->r_json = NULL;
                }
                json_tokener_free(tok);
            }
        }
    }
    return r->r_json;
}

void tl_resp_free(tl_resp *r)
{
    free(r->r_body);
    free_headers(r);
    json_object_put(r->r_json);
    memset(r, 0, sizeof(*r));
}

void tl_resp_dump(const char *what, const tl_resp *r)
{
    int shown = r->r_body_len > 600 ? 600 : (int)r->r_body_len;
    fprintf(stderr, "    %s: HTTP %ld%s%s, %zu bytes: %.*s%s\n", what, r->r_status,
            r->r_curl != CURLE_OK ? ", curl: " : "",
            r->r_curl != CURLE_OK ? curl_easy_strerror(r->r_curl) : "", r->r_body_len, shown,
            r->r_body ? r->r_body : "", r->r_body_len > 600 ? "…" : "");
}
