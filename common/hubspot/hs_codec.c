/*
 * hs_codec — HubSpot JSON codecs (see hs_codec.h).
 *
 * Two ways of reading, chosen by how hot the response is:
 *  - association reads (a 1,000-parent batch read per request, the sync's
 *    bulk) go through a streaming scanner written for their shape: one pass,
 *    no tree, straight into the caller's assoc_buf (see "association batch
 *    read" below for why and how it stays faithful to json-c);
 *  - everything else (search and list pages, properties, tokens, errors)
 *    runs json-c's tokener once over the body; the walker reads members in
 *    place (string pointers and lengths straight out of the tree) and the
 *    tree is released before returning.
 * Messages naming the failing field are formatted on the error path only.
 */
#include "hs_codec.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ helpers */

int hs_parse_json_object(const char *what, const char *body, size_t len, json_object **root,
                         err_info *e)
{
    *root = NULL;
    if (len == 0)
        return err_set(e, ERR_PARSE, "%s: empty body", what);
    if (len > INT_MAX)
        return err_set(e, ERR_TOO_BIG, "%s: body of %zu bytes is too large", what, len);
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return err_set(e, ERR_NOMEM, "%s: out of memory", what);
    /* Trailing bytes are checked below, for a clearer message than json-c's. */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
    json_object *v = json_tokener_parse_ex(tok, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr == json_tokener_continue) {
        json_object_put(v);
        return err_set(e, ERR_PARSE, "%s: truncated JSON (the body ends after %zu bytes)", what,
                       len);
    }
    if (jerr != json_tokener_success || !v) {
        json_object_put(v);
        return err_set(e, ERR_PARSE, "%s: malformed JSON at byte %zu: %s", what, end,
                       json_tokener_error_desc(jerr));
    }
    for (size_t i = end; i < len; i++) {
        char c = body[i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
            json_object_put(v);
            return err_set(e, ERR_PARSE, "%s: trailing bytes after the JSON value at byte %zu",
                           what, i);
        }
    }
    if (!json_object_is_type(v, json_type_object)) {
        json_object_put(v);
        return err_set(e, ERR_SHAPE, "%s: the body is not a JSON object", what);
    }
    *root = v;
    return 0;
}

/* Member `key` of object `o`: the value (NULL for JSON null) and whether the
 * key exists at all. */
static json_object *member(json_object *o, const char *key, bool *present)
{
    json_object *v = NULL;
    bool p = json_object_object_get_ex(o, key, &v);
    if (present)
        *present = p;
    return p ? v : NULL;
}

/* hs_parse_json_object, then the root's required `results` array (*results points
 * into *root). On failure nothing is left to free. */
static int parse_results(const char *what, const char *body, size_t len, json_object **root,
                         json_object **results, err_info *e)
{
    int rc = hs_parse_json_object(what, body, len, root, e);
    if (rc)
        return rc;
    bool present;
    *results = member(*root, "results", &present);
    if (json_object_is_type(*results, json_type_array))
        return 0;
    json_object_put(*root);
    *root = NULL;
    return err_set(e, ERR_SHAPE, "%s: results is %s", what, present ? "not an array" : "missing");
}

/* How reading an ID went. */
typedef enum id_status { ID_OK, ID_WRONG_TYPE, ID_BAD } id_status;

/* A non-negative integer from a JSON number, or (when allow_string) from a
 * string of decimal digits. json-c stores integers exactly as int64 or uint64
 * and clamps anything larger to UINT64_MAX, so that value is refused as
 * out of range (no HubSpot ID comes near it). */
static id_status json_id(json_object *v, bool allow_string, uint64_t *out)
{
    json_type t = json_object_get_type(v);
    if (t == json_type_int) {
        if (json_object_get_int64(v) < 0)
            return ID_BAD;
        uint64_t u = json_object_get_uint64(v);
        if (u == UINT64_MAX)
            return ID_BAD;
        *out = u;
        return ID_OK;
    }
    if (t == json_type_string && allow_string) {
        const char *s = json_object_get_string(v);
        size_t n = (size_t)json_object_get_string_len(v);
        return parse_u64_digits(s, n, out) ? ID_OK : ID_BAD;
    }
    return ID_WRONG_TYPE;
}

/* Copies s[0..n) into dst[cap] NUL-terminated, cutting at a UTF-8 boundary. */
static void copy_trunc(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* Copies member `key` of `o` into dst when it is a string; "" otherwise. */
static void copy_member(json_object *o, const char *key, char *dst, size_t cap)
{
    json_object *v = member(o, key, NULL);
    if (json_object_is_type(v, json_type_string))
        copy_trunc(dst, cap, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    else
        dst[0] = '\0';
}

/* The category names by length: one comparison per type in the hot loop. */
static bool category_of(const char *s, size_t n, assoc_category *c)
{
    switch (n) {
    case 15:
        *c = ASSOC_HUBSPOT_DEFINED;
        return memcmp(s, "HUBSPOT_DEFINED", 15) == 0;
    case 12:
        *c = ASSOC_USER_DEFINED;
        return memcmp(s, "USER_DEFINED", 12) == 0;
    case 18:
        *c = ASSOC_INTEGRATOR_DEFINED;
        return memcmp(s, "INTEGRATOR_DEFINED", 18) == 0;
    case 4:
        *c = ASSOC_WORK;
        return memcmp(s, "WORK", 4) == 0;
    default:
        return false;
    }
}

/* -------------------------------------------------- association batch read */

void hs_assoc_errors_init(hs_assoc_errors *errs)
{
    memset(errs, 0, sizeof(*errs));
}

void hs_assoc_errors_reset(hs_assoc_errors *errs)
{
    errs->ae_nempty = 0;
    errs->ae_nfailures = 0;
    errs->ae_num_errors = 0;
}

void hs_assoc_errors_free(hs_assoc_errors *errs)
{
    free(errs->ae_empty_ids);
    free(errs->ae_failures);
    hs_assoc_errors_init(errs);
}

/* Makes room for one more element of `size` bytes in *items. */
static int grow(void **items, size_t *cap, size_t len, size_t size)
{
    if (len < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*items, ncap * size);
    if (!p)
        return ERR_NOMEM;
    *items = p;
    *cap = ncap;
    return 0;
}

/*
 * The association responses are the hot path: a 1,000-parent batch read is
 * ~700 KB and ~40,000 JSON values. json-c's DOM spends ~750 bytes of heap on
 * every JSON object (a 16-slot hash table each) and runs at ~40 MB/s on such
 * a body here, under half the speed the sync needs. So these two responses
 * are read by a streaming scanner instead: one pass over the bytes, strings
 * compared in place, escapes decoded only when present, every value checked
 * against the grammar (RFC 8259), nothing allocated but the caller's
 * assoc_buf. Its results are checked against a json-c walker in the unit
 * tests, body by body, including randomly damaged bodies.
 *
 * Error precedence matches a parse-then-walk parser: when the scanner stops at
 * a shape error, the whole body is re-scanned for syntax, and a syntax error
 * anywhere wins (ERR_PARSE). That costs nothing on the success path.
 *
 * Where json-c is more lenient than the grammar ("1.", "00", NaN, single
 * quotes in some places), the scanner refuses; where json-c defines behaviour
 * the grammar leaves open, the scanner does the same: raw control bytes in
 * strings are kept, an unpaired surrogate escape becomes U+FFFD, nesting
 * stops at 32 levels. A member the parser reads (from, to, toObjectId, label,
 * …) given twice in one object is refused: json-c would silently keep the
 * last one, and HubSpot never repeats a member.
 */

enum { SCAN_MAX_DEPTH = 32 };

typedef struct scan {
    const char *sc_body; /* first byte */
    const char *sc_p;    /* cursor */
    const char *sc_end;  /* one past the last byte */
    const char *sc_what; /* "assoc batch read", for messages */
    err_info *sc_e;
    int sc_depth;
    jbuf sc_scratch; /* strings that had escapes, decoded */
} scan;

/* A string value: its bytes in the body, or (when it had escapes) decoded in
 * sc_scratch at ss_off; offsets survive the scratch growing. */
typedef struct sstr {
    const char *ss_ptr; /* NULL: in the scratch */
    size_t ss_off, ss_len;
} sstr;

static const char *sstr_ptr(const scan *sc, const sstr *s)
{
    return s->ss_ptr ? s->ss_ptr : sc->sc_scratch.jb_data + s->ss_off;
}

static bool sstr_is(const scan *sc, const sstr *s, const char *lit, size_t n)
{
    return s->ss_len == n && memcmp(sstr_ptr(sc, s), lit, n) == 0;
}

#define SSTR_IS(sc, s, lit) sstr_is((sc), (s), (lit), sizeof(lit) - 1)

/* A syntax error at the cursor: "truncated" when the body ended. */
static int syntax_err(scan *sc, const char *why)
{
    if (sc->sc_p >= sc->sc_end)
        return err_set(sc->sc_e, ERR_PARSE, "%s: truncated JSON (the body ends after %zu bytes)",
                       sc->sc_what, (size_t)(sc->sc_end - sc->sc_body));
    return err_set(sc->sc_e, ERR_PARSE, "%s: malformed JSON at byte %zu: %s", sc->sc_what,
                   (size_t)(sc->sc_p - sc->sc_body), why);
}

/* The next non-whitespace byte (the cursor moves onto it), or -1 at the end. */
static inline int peek(scan *sc)
{
    const char *p = sc->sc_p, *end = sc->sc_end;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    sc->sc_p = p;
    return p < end ? (unsigned char)*p : -1;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = (unsigned char)p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static void put_utf8(jbuf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    jb_raw(b, u, n);
}

/* Decodes the escape at p (just after the backslash) into the scratch; returns
 * the position after it, or NULL (the cursor is left at the problem). */
static const char *decode_escape(scan *sc, const char *p)
{
    const char *end = sc->sc_end;
    jbuf *b = &sc->sc_scratch;
    char c;
    switch (*p) {
    case '"':
    case '\\':
    case '/':
        c = *p;
        break;
    case 'b':
        c = '\b';
        break;
    case 'f':
        c = '\f';
        break;
    case 'n':
        c = '\n';
        break;
    case 'r':
        c = '\r';
        break;
    case 't':
        c = '\t';
        break;
    case 'u': {
        unsigned cp;
        if (end - p < 5) {
            sc->sc_p = end;
            return NULL;
        }
        if (hex4(p + 1, &cp)) {
            sc->sc_p = p;
            return NULL;
        }
        p += 5;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            /* A pair only when a low surrogate escape follows; as json-c
             * does, anything else makes this one U+FFFD. */
            unsigned lo;
            if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' && hex4(p + 2, &lo) == 0 &&
                lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            } else {
                cp = 0xFFFD;
            }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = 0xFFFD;
        }
        put_utf8(b, cp);
        return p;
    }
    default:
        sc->sc_p = p;
        return NULL;
    }
    jb_char(b, c);
    return p + 1;
}

/* Reads the string at the cursor (on its opening quote). With `out`, the
 * value is returned (escapes decoded into the scratch); without, it is only
 * checked. */
static int scan_string(scan *sc, sstr *out)
{
    const char *p = sc->sc_p + 1, *end = sc->sc_end, *start = p;
    /* A raw NUL byte ends the body for json-c, so a string holding one is
     * malformed for the other parsers; the scanner took it into labels and
     * member names until fuzz_assoc_object compared the two. Other raw
     * control bytes pass, as json-c lets them (RFC 8259 would not). */
    while (p < end && *p != '"' && *p != '\\' && *p != '\0')
        p++;
    if (p < end && *p == '\0') {
        sc->sc_p = p;
        return syntax_err(sc, "a NUL byte in a string");
    }
    if (p < end && *p == '"') {
        if (out)
            *out = (sstr){start, 0, (size_t)(p - start)};
        sc->sc_p = p + 1;
        return 0;
    }
    /* Escapes (or the end): decode the rest into the scratch. */
    size_t off = sc->sc_scratch.jb_len;
    jb_raw(&sc->sc_scratch, start, (size_t)(p - start));
    while (p < end && *p != '"') {
        if (*p == '\\') {
            if (++p >= end)
                break;
            p = decode_escape(sc, p);
            if (!p)
                return syntax_err(sc, "invalid escape in a string");
            continue;
        }
        const char *run = p;
        while (p < end && *p != '"' && *p != '\\' && *p != '\0')
            p++;
        jb_raw(&sc->sc_scratch, run, (size_t)(p - run));
        if (p < end && *p == '\0') {
            sc->sc_p = p;
            return syntax_err(sc, "a NUL byte in a string");
        }
    }
    if (p >= end) {
        sc->sc_p = end;
        return syntax_err(sc, "unterminated string");
    }
    if (!jb_ok(&sc->sc_scratch))
        return err_set(sc->sc_e, ERR_NOMEM, "%s: out of memory", sc->sc_what);
    if (out)
        *out = (sstr){NULL, off, sc->sc_scratch.jb_len - off};
    else
        sc->sc_scratch.jb_len = off; /* only checked: drop the bytes */
    sc->sc_p = p + 1;
    return 0;
}

/* A number token. Integers keep their magnitude (saturated on overflow). */
typedef struct snum {
    bool sn_integer; /* no fraction, no exponent: json-c's int */
    bool sn_negative;
    bool sn_overflow; /* the magnitude exceeds UINT64_MAX */
    uint64_t sn_mag;
} snum;

static int scan_number(scan *sc, snum *n)
{
    const char *p = sc->sc_p, *end = sc->sc_end;
    *n = (snum){true, false, false, 0};
    if (*p == '-') {
        n->sn_negative = true;
        p++;
    }
    if (p >= end) {
        sc->sc_p = p;
        return syntax_err(sc, "invalid number");
    }
    if (*p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9') {
            sc->sc_p = p;
            return syntax_err(sc, "invalid number (leading zero)");
        }
    } else if (*p >= '1' && *p <= '9') {
        uint64_t v = 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            unsigned d = (unsigned)(*p - '0');
            if (v > (UINT64_MAX - d) / 10)
                n->sn_overflow = true;
            else
                v = v * 10 + d;
        }
        n->sn_mag = n->sn_overflow ? UINT64_MAX : v;
    } else {
        sc->sc_p = p;
        return syntax_err(sc, "invalid number");
    }
    if (p < end && *p == '.') {
        n->sn_integer = false;
        if (++p >= end || *p < '0' || *p > '9') {
            sc->sc_p = p;
            return syntax_err(sc, "invalid number");
        }
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        n->sn_integer = false;
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9') {
            sc->sc_p = p;
            return syntax_err(sc, "invalid number");
        }
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    sc->sc_p = p;
    return 0;
}

static int scan_literal(scan *sc, const char *lit, size_t n)
{
    const char *p = sc->sc_p;
    for (size_t i = 0; i < n; i++, p++) {
        if (p >= sc->sc_end || *p != lit[i]) {
            sc->sc_p = p;
            return syntax_err(sc, "invalid literal");
        }
    }
    sc->sc_p = p;
    return 0;
}

static int skip_value(scan *sc);

/* Enters an object or array at the cursor. */
static int enter(scan *sc)
{
    if (++sc->sc_depth > SCAN_MAX_DEPTH)
        return syntax_err(sc, "nesting too deep");
    sc->sc_p++;
    return 0;
}

/* The next member of the object being read: 1 with *key set and the cursor
 * on the value, 0 after the closing brace, or an error. `*first` tracks the
 * comma. */
static int next_member(scan *sc, bool *first, sstr *key)
{
    int c = peek(sc);
    if (c == '}') {
        sc->sc_p++;
        sc->sc_depth--;
        return 0;
    }
    if (!*first) {
        if (c != ',')
            return syntax_err(sc, "expected ',' or '}'");
        sc->sc_p++;
        c = peek(sc);
    }
    *first = false;
    if (c != '"')
        return syntax_err(sc, "expected a quoted member name");
    int rc = scan_string(sc, key);
    if (rc)
        return rc;
    if (peek(sc) != ':')
        return syntax_err(sc, "expected ':'");
    sc->sc_p++;
    peek(sc);
    return 1;
}

/* The next element of the array being read: 1 with the cursor on it, 0 after
 * the closing bracket, or an error. */
static int next_element(scan *sc, bool *first)
{
    int c = peek(sc);
    if (c == ']') {
        sc->sc_p++;
        sc->sc_depth--;
        return 0;
    }
    if (!*first) {
        if (c != ',')
            return syntax_err(sc, "expected ',' or ']'");
        sc->sc_p++;
        c = peek(sc);
    }
    *first = false;
    if (c == ']')
        return syntax_err(sc, "unexpected ']' after ','");
    return 1;
}

/* Checks and passes over one value of any kind. */
static int skip_value(scan *sc)
{
    int c = peek(sc), rc;
    bool first = true;
    sstr key;
    switch (c) {
    case '"':
        return scan_string(sc, NULL);
    case '{':
        if ((rc = enter(sc)) != 0)
            return rc;
        while ((rc = next_member(sc, &first, &key)) == 1)
            if ((rc = skip_value(sc)) != 0)
                return rc;
        return rc;
    case '[':
        if ((rc = enter(sc)) != 0)
            return rc;
        while ((rc = next_element(sc, &first)) == 1)
            if ((rc = skip_value(sc)) != 0)
                return rc;
        return rc;
    case 't':
        return scan_literal(sc, "true", 4);
    case 'f':
        return scan_literal(sc, "false", 5);
    case 'n':
        return scan_literal(sc, "null", 4);
    case -1:
        return syntax_err(sc, "expected a value");
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            snum n;
            return scan_number(sc, &n);
        }
        return syntax_err(sc, "unexpected character");
    }
}

/* Checks that body[0..len) is one JSON value and nothing but whitespace after
 * it. Returns 0, or ERR_PARSE with the message in e. */
static int validate_json(const char *what, const char *body, size_t len, err_info *e)
{
    scan sc = {body, body, body + len, what, e, 0, {0}};
    jb_init(&sc.sc_scratch);
    int c = peek(&sc);
    int rc = skip_value(&sc);
    /* A bare number or literal that runs to the end might go on ("12" of
     * "123", "true" of "true]"): json-c calls it truncated, so do we. */
    if (rc == 0 && c != '"' && c != '{' && c != '[' && sc.sc_p == sc.sc_end)
        rc = syntax_err(&sc, "truncated value");
    if (rc == 0 && peek(&sc) != -1)
        rc = err_set(e, ERR_PARSE, "%s: trailing bytes after the JSON value at byte %zu", what,
                     (size_t)(sc.sc_p - body));
    jb_free(&sc.sc_scratch);
    return rc;
}

/* Reads an ID at the cursor: a JSON integer ≥ 0 below UINT64_MAX, or, with
 * allow_string, a string of decimal digits. A value of another kind is
 * ID_WRONG_TYPE (and passed over, so the caller may go on); *rc receives a
 * syntax error. */
static id_status scan_id(scan *sc, bool allow_string, uint64_t *out, int *rc)
{
    int c = peek(sc);
    *rc = 0;
    if (c == '-' || (c >= '0' && c <= '9')) {
        snum n;
        if ((*rc = scan_number(sc, &n)) != 0)
            return ID_BAD;
        if (!n.sn_integer)
            return ID_WRONG_TYPE;
        /* json-c clamps what exceeds UINT64_MAX to it: refuse both. */
        if ((n.sn_negative && n.sn_mag != 0) || n.sn_overflow || n.sn_mag == UINT64_MAX)
            return ID_BAD;
        *out = n.sn_mag;
        return ID_OK;
    }
    if (c == '"' && allow_string) {
        sstr s;
        if ((*rc = scan_string(sc, &s)) != 0)
            return ID_BAD;
        return parse_u64_digits(sstr_ptr(sc, &s), s.ss_len, out) ? ID_OK : ID_BAD;
    }
    *rc = skip_value(sc);
    return ID_WRONG_TYPE;
}

/* Reads a string of digits at the cursor (from.id). */
static id_status scan_id_string(scan *sc, uint64_t *out, int *rc)
{
    *rc = 0;
    if (peek(sc) != '"')
        return ID_WRONG_TYPE;
    sstr s;
    if ((*rc = scan_string(sc, &s)) != 0)
        return ID_BAD;
    return parse_u64_digits(sstr_ptr(sc, &s), s.ss_len, out) ? ID_OK : ID_BAD;
}

/* Where a to[] list sits, for messages: "results[i].to[j]" in a batch read,
 * "results[j]" in a single-record read. Formatted only on failure. */
typedef struct to_loc {
    const char *tl_what;
    bool tl_batch;
    size_t tl_result;
} to_loc;

static int to_err(err_info *e, int code, const to_loc *l, size_t j, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int to_err(err_info *e, int code, const to_loc *l, size_t j, const char *fmt, ...)
{
    char rest[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rest, sizeof(rest), fmt, ap);
    va_end(ap);
    if (l->tl_batch)
        return err_set(e, code, "%s: results[%zu].to[%zu]%s", l->tl_what, l->tl_result, j, rest);
    return err_set(e, code, "%s: results[%zu]%s", l->tl_what, j, rest);
}

/* What the association parsers write to. */
typedef struct assoc_reader {
    scan ar_sc;
    assoc_buf *ar_out;
    hs_assoc_errors *ar_errs;
    uint64_t *ar_ids; /* context.fromObjectId of the error entry being read */
    size_t ar_nids, ar_ids_cap;
} assoc_reader;

/* One associationTypes[k] entry of link j: added to the current link. */
static int read_type(assoc_reader *r, const to_loc *l, size_t j, size_t k)
{
    scan *sc = &r->ar_sc;
    if (peek(sc) != '{')
        return to_err(sc->sc_e, ERR_SHAPE, l, j, ".associationTypes[%zu] is not an object", k);
    int rc = enter(sc);
    if (rc)
        return rc;
    jb_reset(&sc->sc_scratch); /* nothing decoded earlier is still needed */
    bool first = true, has_cat = false, has_type = false, seen_label = false;
    assoc_category cat = ASSOC_HUBSPOT_DEFINED;
    int32_t type_id = 0;
    sstr label = {0}, key;
    bool has_label = false;
    while ((rc = next_member(sc, &first, &key)) == 1) {
        int c = peek(sc);
        if (SSTR_IS(sc, &key, "category")) {
            if (has_cat)
                return to_err(sc->sc_e, ERR_SHAPE, l, j,
                              ".associationTypes[%zu].category appears twice", k);
            if (c != '"')
                return to_err(sc->sc_e, ERR_SHAPE, l, j,
                              ".associationTypes[%zu].category is not a string", k);
            sstr s;
            if ((rc = scan_string(sc, &s)) != 0)
                return rc;
            if (!category_of(sstr_ptr(sc, &s), s.ss_len, &cat))
                return to_err(sc->sc_e, ERR_SHAPE, l, j,
                              ".associationTypes[%zu].category \"%.*s\" is unknown", k,
                              (int)(s.ss_len < 40 ? s.ss_len : 40), sstr_ptr(sc, &s));
            has_cat = true;
        } else if (SSTR_IS(sc, &key, "typeId")) {
            snum n;
            if (has_type)
                return to_err(sc->sc_e, ERR_SHAPE, l, j,
                              ".associationTypes[%zu].typeId appears twice", k);
            if (c != '-' && (c < '0' || c > '9'))
                return to_err(sc->sc_e, ERR_SHAPE, l, j,
                              ".associationTypes[%zu].typeId is not an integer", k);
            if ((rc = scan_number(sc, &n)) != 0)
                return rc;
            if (!n.sn_integer)
                return to_err(sc->sc_e, ERR_SHAPE, l, j,
                              ".associationTypes[%zu].typeId is not an integer", k);
            if (n.sn_overflow || n.sn_mag > (n.sn_negative ? (uint64_t)INT32_MAX + 1 : INT32_MAX))
                return to_err(sc->sc_e, ERR_SHAPE, l, j,
                              ".associationTypes[%zu].typeId is not an int32", k);
            type_id = n.sn_negative ? (int32_t)(0 - (int64_t)n.sn_mag) : (int32_t)n.sn_mag;
            has_type = true;
        } else if (SSTR_IS(sc, &key, "label")) {
            if (seen_label)
                return to_err(sc->sc_e, ERR_SHAPE, l, j,
                              ".associationTypes[%zu].label appears twice", k);
            seen_label = true;
            if (c == 'n') {
                if ((rc = scan_literal(sc, "null", 4)) != 0)
                    return rc;
                has_label = false;
            } else if (c == '"') {
                if ((rc = scan_string(sc, &label)) != 0)
                    return rc;
                has_label = true;
            } else {
                return to_err(sc->sc_e, ERR_SHAPE, l, j,
                              ".associationTypes[%zu].label is neither a string nor null", k);
            }
        } else if ((rc = skip_value(sc)) != 0) {
            return rc;
        }
    }
    if (rc)
        return rc;
    if (!has_cat)
        return to_err(sc->sc_e, ERR_SHAPE, l, j, ".associationTypes[%zu].category is missing", k);
    if (!has_type)
        return to_err(sc->sc_e, ERR_SHAPE, l, j, ".associationTypes[%zu].typeId is missing", k);
    rc = assoc_buf_add_type(r->ar_out, type_id, cat, has_label ? sstr_ptr(sc, &label) : NULL,
                            has_label ? label.ss_len : 0);
    if (rc)
        return to_err(sc->sc_e, rc, l, j, ".associationTypes[%zu]: %s", k,
                      rc == ERR_TOO_BIG ? "label longer than 1 KiB" : err_strerror(rc));
    return 0;
}

/* One to[] item {toObjectId, associationTypes}: a link of the current parent. */
static int read_link(assoc_reader *r, const to_loc *l, size_t j)
{
    scan *sc = &r->ar_sc;
    if (peek(sc) != '{')
        return to_err(sc->sc_e, ERR_SHAPE, l, j, " is not an object");
    int rc = enter(sc);
    if (rc)
        return rc;
    /* The child ID may follow the types: add the link now, fill it in last. */
    if ((rc = assoc_buf_add_link(r->ar_out, 0)) != 0)
        return to_err(sc->sc_e, rc, l, j, ": %s", err_strerror(rc));
    size_t link = r->ar_out->ab_nlinks - 1;
    bool first = true, has_id = false, has_types = false;
    uint64_t child_id = 0;
    size_t ntypes = 0;
    sstr key;
    while ((rc = next_member(sc, &first, &key)) == 1) {
        if (SSTR_IS(sc, &key, "toObjectId")) {
            if (has_id)
                return to_err(sc->sc_e, ERR_SHAPE, l, j, ".toObjectId appears twice");
            switch (scan_id(sc, true, &child_id, &rc)) {
            case ID_OK:
                has_id = true;
                break;
            case ID_WRONG_TYPE:
                return rc ? rc : to_err(sc->sc_e, ERR_SHAPE, l, j, ".toObjectId is not a number");
            case ID_BAD:
                return rc ? rc
                          : to_err(sc->sc_e, ERR_SHAPE, l, j,
                                   ".toObjectId is not a non-negative 64-bit integer");
            }
        } else if (SSTR_IS(sc, &key, "associationTypes")) {
            if (has_types)
                return to_err(sc->sc_e, ERR_SHAPE, l, j, ".associationTypes appears twice");
            if (peek(sc) != '[')
                return to_err(sc->sc_e, ERR_SHAPE, l, j, ".associationTypes is not an array");
            has_types = true;
            bool tfirst = true;
            if ((rc = enter(sc)) != 0)
                return rc;
            while ((rc = next_element(sc, &tfirst)) == 1)
                if ((rc = read_type(r, l, j, ntypes++)) != 0)
                    return rc;
            if (rc)
                return rc;
        } else if ((rc = skip_value(sc)) != 0) {
            return rc;
        }
    }
    if (rc)
        return rc;
    if (!has_id)
        return to_err(sc->sc_e, ERR_SHAPE, l, j, ".toObjectId is missing");
    if (!has_types)
        return to_err(sc->sc_e, ERR_SHAPE, l, j, ".associationTypes is missing");
    /* HubSpot always sends at least the unlabeled type: a link without any
     * is not a documented shape, and has nothing to store. */
    if (ntypes == 0)
        return to_err(sc->sc_e, ERR_SHAPE, l, j, ".associationTypes is empty");
    r->ar_out->ab_links[link].al_child_id = child_id;
    return 0;
}

/* A to[] array (cursor on it): links of the current parent. */
static int read_links(assoc_reader *r, const to_loc *l)
{
    scan *sc = &r->ar_sc;
    bool first = true;
    int rc = enter(sc);
    size_t j = 0;
    while (rc == 0 && (rc = next_element(sc, &first)) == 1)
        rc = read_link(r, l, j++);
    return rc;
}

/* A `paging` value (cursor on it): next.after becomes the current parent's
 * cursor. `where` prefixes messages ("results[3]." or ""). */
static int read_paging(assoc_reader *r, const char *where)
{
    scan *sc = &r->ar_sc;
    const char *what = sc->sc_what;
    int c = peek(sc), rc;
    if (c == 'n')
        return scan_literal(sc, "null", 4); /* no more pages */
    if (c != '{')
        return err_set(sc->sc_e, ERR_SHAPE, "%s: %spaging is not an object", what, where);
    if ((rc = enter(sc)) != 0)
        return rc;
    bool first = true, has_next = false;
    sstr key;
    while ((rc = next_member(sc, &first, &key)) == 1) {
        if (!SSTR_IS(sc, &key, "next")) {
            if ((rc = skip_value(sc)) != 0)
                return rc;
            continue;
        }
        if (has_next)
            return err_set(sc->sc_e, ERR_SHAPE, "%s: %spaging.next appears twice", what, where);
        has_next = true;
        c = peek(sc);
        if (c == 'n') {
            if ((rc = scan_literal(sc, "null", 4)) != 0)
                return rc;
            continue;
        }
        if (c != '{')
            return err_set(sc->sc_e, ERR_SHAPE, "%s: %spaging.next is not an object", what, where);
        if ((rc = enter(sc)) != 0)
            return rc;
        bool nfirst = true, has_after = false;
        sstr after = {0};
        while ((rc = next_member(sc, &nfirst, &key)) == 1) {
            if (!SSTR_IS(sc, &key, "after")) {
                if ((rc = skip_value(sc)) != 0)
                    return rc;
                continue;
            }
            if (has_after)
                return err_set(sc->sc_e, ERR_SHAPE, "%s: %spaging.next.after appears twice", what,
                               where);
            if (peek(sc) != '"')
                return err_set(sc->sc_e, ERR_SHAPE, "%s: %spaging.next.after is not a string", what,
                               where);
            if ((rc = scan_string(sc, &after)) != 0)
                return rc;
            has_after = true;
        }
        if (rc)
            return rc;
        if (!has_after)
            return err_set(sc->sc_e, ERR_SHAPE, "%s: %spaging.next.after is missing", what, where);
        const char *s = sstr_ptr(sc, &after);
        size_t n = after.ss_len;
        if (n == 0 || memchr(s, '\0', n))
            return err_set(sc->sc_e, ERR_SHAPE, "%s: %spaging.next.after is %s", what, where,
                           n ? "not a valid cursor (NUL byte)" : "empty");
        if (n > HS_CURSOR_MAX)
            return err_set(sc->sc_e, ERR_TOO_BIG, "%s: %spaging.next.after is longer than %d bytes",
                           what, where, HS_CURSOR_MAX);
        if ((rc = assoc_buf_set_after(r->ar_out, s, n)) != 0)
            return err_set(sc->sc_e, rc, "%s: %spaging.next.after: %s", what, where,
                           err_strerror(rc));
    }
    return rc;
}

/* One results[i] entry {from: {id}, to: [...], paging?}: a parent. */
static int read_result(assoc_reader *r, size_t i)
{
    static const char what[] = "assoc batch read";
    scan *sc = &r->ar_sc;
    if (peek(sc) != '{')
        return err_set(sc->sc_e, ERR_SHAPE, "%s: results[%zu] is not an object", what, i);
    int rc = enter(sc);
    if (rc)
        return rc;
    /* from.id may come last: begin the parent now, fill its ID in at the end. */
    if ((rc = assoc_buf_begin_parent(r->ar_out, 0)) != 0)
        return err_set(sc->sc_e, rc, "%s: results[%zu]: %s", what, i, err_strerror(rc));
    size_t parent = r->ar_out->ab_nparents - 1;
    bool first = true, has_from = false, has_to = false, has_paging = false;
    uint64_t parent_id = 0;
    to_loc l = {what, true, i};
    sstr key;
    while ((rc = next_member(sc, &first, &key)) == 1) {
        if (SSTR_IS(sc, &key, "from")) {
            if (has_from)
                return err_set(sc->sc_e, ERR_SHAPE, "%s: results[%zu].from appears twice", what, i);
            if (peek(sc) != '{')
                return err_set(sc->sc_e, ERR_SHAPE, "%s: results[%zu].from is not an object", what,
                               i);
            if ((rc = enter(sc)) != 0)
                return rc;
            bool ffirst = true, has_id = false;
            while ((rc = next_member(sc, &ffirst, &key)) == 1) {
                if (!SSTR_IS(sc, &key, "id")) {
                    if ((rc = skip_value(sc)) != 0)
                        return rc;
                    continue;
                }
                if (has_id)
                    return err_set(sc->sc_e, ERR_SHAPE, "%s: results[%zu].from.id appears twice",
                                   what, i);
                switch (scan_id_string(sc, &parent_id, &rc)) {
                case ID_OK:
                    has_id = true;
                    break;
                case ID_WRONG_TYPE:
                    return err_set(sc->sc_e, ERR_SHAPE, "%s: results[%zu].from.id is not a string",
                                   what, i);
                case ID_BAD:
                    return rc ? rc
                              : err_set(sc->sc_e, ERR_SHAPE,
                                        "%s: results[%zu].from.id is not a decimal 64-bit ID", what,
                                        i);
                }
            }
            if (rc)
                return rc;
            if (!has_id)
                return err_set(sc->sc_e, ERR_SHAPE, "%s: results[%zu].from.id is missing", what, i);
            has_from = true;
        } else if (SSTR_IS(sc, &key, "to")) {
            if (has_to)
                return err_set(sc->sc_e, ERR_SHAPE, "%s: results[%zu].to appears twice", what, i);
            if (peek(sc) != '[')
                return err_set(sc->sc_e, ERR_SHAPE, "%s: results[%zu].to is not an array", what, i);
            has_to = true;
            if ((rc = read_links(r, &l)) != 0)
                return rc;
        } else if (SSTR_IS(sc, &key, "paging")) {
            if (has_paging)
                return err_set(sc->sc_e, ERR_SHAPE, "%s: results[%zu].paging appears twice", what,
                               i);
            has_paging = true;
            char where[40];
            snprintf(where, sizeof(where), "results[%zu].", i);
            if ((rc = read_paging(r, where)) != 0)
                return rc;
        } else if ((rc = skip_value(sc)) != 0) {
            return rc;
        }
    }
    if (rc)
        return rc;
    if (!has_from)
        return err_set(sc->sc_e, ERR_SHAPE, "%s: results[%zu].from is missing", what, i);
    if (!has_to)
        return err_set(sc->sc_e, ERR_SHAPE, "%s: results[%zu].to is missing", what, i);
    r->ar_out->ab_parents[parent].ap_parent_id = parent_id;
    if ((rc = assoc_buf_finish_parent(r->ar_out)) != 0)
        return err_set(sc->sc_e, rc, "%s: results[%zu]: %s", what, i, err_strerror(rc));
    return 0;
}

/* The ID ending an error message: "No company is associated with deal 515690208449." */
static bool id_from_message(const char *s, size_t n, uint64_t *out)
{
    while (n > 0 && (s[n - 1] == '.' || s[n - 1] == ' '))
        n--;
    size_t end = n;
    while (n > 0 && s[n - 1] >= '0' && s[n - 1] <= '9')
        n--;
    if (n == end || (n > 0 && s[n - 1] != ' '))
        return false;
    return parse_u64_digits(s + n, end - n, out);
}

static int add_empty_id(hs_assoc_errors *errs, uint64_t id)
{
    if (grow((void **)&errs->ae_empty_ids, &errs->ae_empty_cap, errs->ae_nempty,
             sizeof(*errs->ae_empty_ids)))
        return ERR_NOMEM;
    errs->ae_empty_ids[errs->ae_nempty++] = id;
    return 0;
}

/* context.fromObjectId (cursor on it): the IDs into ar_ids; *all_ok false
 * when an element is not an ID (the list is then not used). */
static int read_context_ids(assoc_reader *r, size_t i, bool *all_ok)
{
    static const char what[] = "assoc batch read";
    scan *sc = &r->ar_sc;
    r->ar_nids = 0;
    *all_ok = true;
    int c = peek(sc), rc;
    if (c == 'n')
        return scan_literal(sc, "null", 4);
    if (c != '[')
        return err_set(sc->sc_e, ERR_SHAPE, "%s: errors[%zu].context.fromObjectId is not an array",
                       what, i);
    if ((rc = enter(sc)) != 0)
        return rc;
    bool first = true;
    while ((rc = next_element(sc, &first)) == 1) {
        uint64_t id;
        if (scan_id(sc, true, &id, &rc) != ID_OK) {
            if (rc)
                return rc;
            *all_ok = false;
            continue;
        }
        if (grow((void **)&r->ar_ids, &r->ar_ids_cap, r->ar_nids, sizeof(*r->ar_ids)))
            return err_set(sc->sc_e, ERR_NOMEM, "%s: out of memory", what);
        r->ar_ids[r->ar_nids++] = id;
    }
    return rc;
}

static const char no_assoc_sub[] = "crm.associations.NO_ASSOCIATIONS_FOUND";

/* errors[i].context (null, or an object whose fromObjectId lists the
 * parents the error is about): *has_ids when it holds that list, *ids_ok
 * when every element of it is an ID (read into r->ar_ids). */
static int read_error_context(assoc_reader *r, size_t i, bool *has_ids, bool *ids_ok)
{
    static const char what[] = "assoc batch read";
    scan *sc = &r->ar_sc;
    int rc, c = peek(sc);
    *has_ids = false;
    if (c == 'n')
        return scan_literal(sc, "null", 4);
    if (c != '{')
        return err_set(sc->sc_e, ERR_SHAPE, "%s: errors[%zu].context is not an object", what, i);
    if ((rc = enter(sc)) != 0)
        return rc;
    bool first = true;
    sstr key;
    while ((rc = next_member(sc, &first, &key)) == 1) {
        if (SSTR_IS(sc, &key, "fromObjectId")) {
            if (*has_ids)
                return err_set(sc->sc_e, ERR_SHAPE,
                               "%s: errors[%zu].context.fromObjectId appears twice", what, i);
            if ((rc = read_context_ids(r, i, ids_ok)) != 0)
                return rc;
            *has_ids = true;
        } else if ((rc = skip_value(sc)) != 0) {
            return rc;
        }
    }
    return rc;
}

/* One errors[i] entry, sorted into r->ar_errs. */
static int read_error(assoc_reader *r, size_t i)
{
    static const char what[] = "assoc batch read";
    scan *sc = &r->ar_sc;
    if (peek(sc) != '{')
        return err_set(sc->sc_e, ERR_SHAPE, "%s: errors[%zu] is not an object", what, i);
    int rc = enter(sc);
    if (rc)
        return rc;
    jb_reset(&sc->sc_scratch);
    r->ar_nids = 0;
    /* category, subCategory, message: kept; status: only checked. */
    static const char *const names[] = {"category", "subCategory", "message", "status"};
    sstr strs[4];
    bool has[4] = {false, false, false, false}, seen[4] = {false, false, false, false};
    bool first = true, ids_ok = false, has_ids = false, seen_ctx = false;
    sstr key;
    while ((rc = next_member(sc, &first, &key)) == 1) {
        int c = peek(sc);
        size_t k = 0;
        while (k < 4 && !sstr_is(sc, &key, names[k], strlen(names[k])))
            k++;
        if (k < 4) {
            if (seen[k])
                return err_set(sc->sc_e, ERR_SHAPE, "%s: errors[%zu].%s appears twice", what, i,
                               names[k]);
            seen[k] = true;
            if (c == 'n') {
                if ((rc = scan_literal(sc, "null", 4)) != 0)
                    return rc;
                has[k] = false;
                continue;
            }
            if (c != '"')
                return err_set(sc->sc_e, ERR_SHAPE, "%s: errors[%zu].%s is not a string", what, i,
                               names[k]);
            if ((rc = scan_string(sc, &strs[k])) != 0)
                return rc;
            has[k] = true;
        } else if (SSTR_IS(sc, &key, "context")) {
            if (seen_ctx)
                return err_set(sc->sc_e, ERR_SHAPE, "%s: errors[%zu].context appears twice", what,
                               i);
            seen_ctx = true;
            if ((rc = read_error_context(r, i, &has_ids, &ids_ok)) != 0)
                return rc;
        } else if ((rc = skip_value(sc)) != 0) {
            return rc;
        }
    }
    if (rc)
        return rc;
    hs_assoc_errors *errs = r->ar_errs;
    bool no_assoc = has[1] && sstr_is(sc, &strs[1], no_assoc_sub, sizeof(no_assoc_sub) - 1);
    /* The from-ids it names: fromObjectId when every element is an ID, else
     * the number ending the message. */
    bool from_list = has_ids && ids_ok && r->ar_nids > 0, has_id = from_list;
    uint64_t first_id = from_list ? r->ar_ids[0] : 0;
    if (!has_id && has[2])
        has_id = id_from_message(sstr_ptr(sc, &strs[2]), strs[2].ss_len, &first_id);
    if (no_assoc && has_id) {
        for (size_t k = 0; k < (from_list ? r->ar_nids : 1); k++)
            if (add_empty_id(errs, from_list ? r->ar_ids[k] : first_id))
                return err_set(sc->sc_e, ERR_NOMEM, "%s: out of memory", what);
        return 0;
    }
    if (grow((void **)&errs->ae_failures, &errs->ae_failures_cap, errs->ae_nfailures,
             sizeof(*errs->ae_failures)))
        return err_set(sc->sc_e, ERR_NOMEM, "%s: out of memory", what);
    hs_assoc_failure *f = &errs->ae_failures[errs->ae_nfailures++];
    f->af_from_id = has_id ? first_id : 0;
    f->af_has_from_id = has_id;
    char *dst[3] = {f->af_category, f->af_sub_category, f->af_message};
    size_t cap[3] = {sizeof(f->af_category), sizeof(f->af_sub_category), sizeof(f->af_message)};
    for (int k = 0; k < 3; k++) {
        if (has[k])
            copy_trunc(dst[k], cap[k], sstr_ptr(sc, &strs[k]), strs[k].ss_len);
        else
            dst[k][0] = '\0';
    }
    return 0;
}

/* The top-level object of a batch-read response. */
static int read_batch(assoc_reader *r)
{
    static const char what[] = "assoc batch read";
    scan *sc = &r->ar_sc;
    if (peek(sc) != '{')
        return err_set(sc->sc_e, ERR_SHAPE, "%s: the body is not a JSON object", what);
    int rc = enter(sc);
    if (rc)
        return rc;
    bool first = true, has_results = false, has_errors = false, has_num = false;
    bool has_status = false;
    uint64_t num_errors = 0;
    sstr key;
    while ((rc = next_member(sc, &first, &key)) == 1) {
        int c = peek(sc);
        bool efirst = true;
        size_t i = 0;
        if (SSTR_IS(sc, &key, "results")) {
            if (has_results)
                return err_set(sc->sc_e, ERR_SHAPE, "%s: results appears twice", what);
            if (c != '[')
                return err_set(sc->sc_e, ERR_SHAPE, "%s: results is not an array", what);
            has_results = true;
            if ((rc = enter(sc)) != 0)
                return rc;
            while ((rc = next_element(sc, &efirst)) == 1)
                if ((rc = read_result(r, i++)) != 0)
                    return rc;
        } else if (SSTR_IS(sc, &key, "errors")) {
            if (has_errors)
                return err_set(sc->sc_e, ERR_SHAPE, "%s: errors appears twice", what);
            if (c != '[')
                return err_set(sc->sc_e, ERR_SHAPE, "%s: errors is not an array", what);
            has_errors = true;
            if ((rc = enter(sc)) != 0)
                return rc;
            while ((rc = next_element(sc, &efirst)) == 1)
                if ((rc = read_error(r, i++)) != 0)
                    return rc;
        } else if (SSTR_IS(sc, &key, "numErrors")) {
            if (has_num)
                return err_set(sc->sc_e, ERR_SHAPE, "%s: numErrors appears twice", what);
            if (scan_id(sc, false, &num_errors, &rc) != ID_OK)
                return rc ? rc
                          : err_set(sc->sc_e, ERR_SHAPE,
                                    "%s: numErrors is not a non-negative integer", what);
            has_num = true;
        } else if (SSTR_IS(sc, &key, "status")) {
            if (has_status)
                return err_set(sc->sc_e, ERR_SHAPE, "%s: status appears twice", what);
            has_status = true;
            if (c != '"')
                return err_set(sc->sc_e, ERR_SHAPE, "%s: status is not a string", what);
            rc = scan_string(sc, NULL);
        } else {
            rc = skip_value(sc);
        }
        if (rc)
            return rc;
    }
    if (rc)
        return rc;
    if (!has_results)
        return err_set(sc->sc_e, ERR_SHAPE, "%s: results is missing", what);
    if (has_num)
        r->ar_errs->ae_num_errors += num_errors;
    return 0;
}

/* The top-level object of a single-record read: one parent. */
static int read_object(assoc_reader *r, uint64_t parent_id)
{
    static const char what[] = "assoc read";
    scan *sc = &r->ar_sc;
    if (peek(sc) != '{')
        return err_set(sc->sc_e, ERR_SHAPE, "%s: the body is not a JSON object", what);
    int rc = enter(sc);
    if (rc)
        return rc;
    if ((rc = assoc_buf_begin_parent(r->ar_out, parent_id)) != 0)
        return err_set(sc->sc_e, rc, "%s: %s", what, err_strerror(rc));
    bool first = true, has_results = false, has_paging = false;
    to_loc l = {what, false, 0};
    sstr key;
    while ((rc = next_member(sc, &first, &key)) == 1) {
        if (SSTR_IS(sc, &key, "results")) {
            if (has_results)
                return err_set(sc->sc_e, ERR_SHAPE, "%s: results appears twice", what);
            if (peek(sc) != '[')
                return err_set(sc->sc_e, ERR_SHAPE, "%s: results is not an array", what);
            has_results = true;
            rc = read_links(r, &l);
        } else if (SSTR_IS(sc, &key, "paging")) {
            if (has_paging)
                return err_set(sc->sc_e, ERR_SHAPE, "%s: paging appears twice", what);
            has_paging = true;
            rc = read_paging(r, "");
        } else {
            rc = skip_value(sc);
        }
        if (rc)
            return rc;
    }
    if (rc)
        return rc;
    if (!has_results)
        return err_set(sc->sc_e, ERR_SHAPE, "%s: results is missing", what);
    if ((rc = assoc_buf_finish_parent(r->ar_out)) != 0)
        return err_set(sc->sc_e, rc, "%s: %s", what, err_strerror(rc));
    return 0;
}

/* Rewinds `b` to the counts it had before a failed parse. */
typedef struct buf_mark {
    size_t bm_parents, bm_links, bm_types, bm_strings;
} buf_mark;

static buf_mark buf_mark_of(const assoc_buf *b)
{
    return (buf_mark){b->ab_nparents, b->ab_nlinks, b->ab_ntypes, b->ab_strings.jb_len};
}

static void buf_rewind(assoc_buf *b, buf_mark m)
{
    b->ab_nparents = m.bm_parents;
    b->ab_nlinks = m.bm_links;
    b->ab_ntypes = m.bm_types;
    b->ab_strings.jb_len = m.bm_strings;
    if (b->ab_strings.jb_data)
        b->ab_strings.jb_data[m.bm_strings] = '\0';
}

/* Runs read_batch (errs != NULL) or read_object over the body; on failure
 * restores out and errs and lets a syntax error anywhere take precedence. */
static int read_assoc(const char *what, const char *body, size_t len, uint64_t parent_id,
                      assoc_buf *out, hs_assoc_errors *errs, err_info *e)
{
    if (len == 0)
        return err_set(e, ERR_PARSE, "%s: empty body", what);
    if (len > INT_MAX)
        return err_set(e, ERR_TOO_BIG, "%s: body of %zu bytes is too large", what, len);
    assoc_reader r = {{body, body, body + len, what, e, 0, {0}}, out, errs, NULL, 0, 0};
    jb_init(&r.ar_sc.sc_scratch);
    buf_mark mark = buf_mark_of(out);
    size_t mark_empty = errs ? errs->ae_nempty : 0, mark_fail = errs ? errs->ae_nfailures : 0;
    uint64_t mark_num = errs ? errs->ae_num_errors : 0;
    int rc = errs ? read_batch(&r) : read_object(&r, parent_id);
    if (rc == 0 && peek(&r.ar_sc) != -1)
        rc = err_set(e, ERR_PARSE, "%s: trailing bytes after the JSON value at byte %zu", what,
                     (size_t)(r.ar_sc.sc_p - body));
    if (rc && rc != ERR_PARSE) {
        int vrc = validate_json(what, body, len, e);
        if (vrc)
            rc = vrc;
    }
    if (rc) {
        buf_rewind(out, mark);
        if (errs) {
            errs->ae_nempty = mark_empty;
            errs->ae_nfailures = mark_fail;
            errs->ae_num_errors = mark_num;
        }
    }
    jb_free(&r.ar_sc.sc_scratch);
    free(r.ar_ids);
    return rc;
}

int hs_parse_assoc_batch(const char *body, size_t len, int http_status, assoc_buf *out,
                         hs_assoc_errors *errs, err_info *e)
{
    static const char what[] = "assoc batch read";
    if ((!body && len) || !out || !errs)
        return err_set(e, ERR_INVALID, "%s: NULL argument", what);
    if (http_status != 200 && http_status != 207)
        return err_set(e, ERR_INVALID,
                       "%s: HTTP %d is not a batch-read result (read it with hs_parse_error)", what,
                       http_status);
    return read_assoc(what, body, len, 0, out, errs, e);
}

int hs_parse_assoc_object(const char *body, size_t len, uint64_t parent_id, assoc_buf *out,
                          err_info *e)
{
    static const char what[] = "assoc read";
    if ((!body && len) || !out)
        return err_set(e, ERR_INVALID, "%s: NULL argument", what);
    return read_assoc(what, body, len, parent_id, out, NULL, e);
}

/* ------------------------------------------------------- search and lists */

void hs_record_page_init(hs_record_page *page)
{
    memset(page, 0, sizeof(*page));
}

void hs_record_page_free(hs_record_page *page)
{
    free(page->rp_items);
    hs_record_page_init(page);
}

static void record_page_clear(hs_record_page *page)
{
    page->rp_count = 0;
    page->rp_has_total = false;
    page->rp_total = 0;
    page->rp_has_next = false;
    page->rp_after[0] = '\0';
    page->rp_after_len = 0;
    page->rp_next_is_number = false;
    page->rp_next_offset = 0;
}

/* A timestamp value: ISO-8601 UTC, or (defensively) a string of ms-epoch
 * digits. Returns 1 when set, 0 for null, -1 when unparseable. */
static int json_time_ms(json_object *v, int64_t *ms)
{
    if (!v)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return -1;
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (parse_iso8601_ms(s, n, ms) == 0)
        return 1;
    uint64_t u;
    if (parse_u64_digits(s, n, &u) && u <= (uint64_t)INT64_MAX) {
        *ms = (int64_t)u;
        return 1;
    }
    return -1;
}

/* A count property's value (rec_counts): a string of a non-negative number
 * ("2000", "2000.0"), or a JSON number; 0 for anything else. */
static uint32_t json_count(json_object *v)
{
    double d;
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        char *end;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        d = strtod(s, &end);
        if (*end != '\0')
            return 0;
    } else if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        d = json_object_get_double(v);
    } else {
        return 0;
    }
    if (!(d >= 0)) /* also NaN */
        return 0;
    return d >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

static int parse_record(json_object *r, size_t i, const char *what, const char *lastmod,
                        const hs_record_page *page, hs_record *rec, err_info *e)
{
    if (!json_object_is_type(r, json_type_object))
        return err_set(e, ERR_SHAPE, "%s: results[%zu] is not an object", what, i);
    bool present;
    json_object *v = member(r, "id", &present);
    switch (json_id(v, true, &rec->rec_id)) {
    case ID_OK:
        break;
    case ID_WRONG_TYPE:
        return err_set(e, ERR_SHAPE, "%s: results[%zu].id is %s", what, i,
                       present ? "not a string" : "missing");
    case ID_BAD:
        return err_set(e, ERR_SHAPE, "%s: results[%zu].id is not a decimal 64-bit ID", what, i);
    }
    json_object *props = member(r, "properties", &present);
    if (!json_object_is_type(props, json_type_object))
        return err_set(e, ERR_SHAPE, "%s: results[%zu].properties is %s", what, i,
                       present ? "not an object" : "missing");
    int got = json_time_ms(member(props, lastmod, NULL), &rec->rec_lastmod_ms);
    if (got < 0)
        return err_set(e, ERR_SHAPE, "%s: results[%zu].properties.%.64s is not an ISO-8601 time",
                       what, i, lastmod);
    rec->rec_has_lastmod = got == 1;
    if (!rec->rec_has_lastmod)
        rec->rec_lastmod_ms = 0;
    memset(rec->rec_counts, 0, sizeof(rec->rec_counts));
    for (size_t k = 0; k < page->rp_ncount_names && k < HS_RECORD_COUNTS_MAX; k++)
        rec->rec_counts[k] = json_count(member(props, page->rp_count_names[k], NULL));
    v = member(r, "archived", &present);
    if (present && !json_object_is_type(v, json_type_boolean))
        return err_set(e, ERR_SHAPE, "%s: results[%zu].archived is not a boolean", what, i);
    rec->rec_archived = v && json_object_get_boolean(v);
    got = json_time_ms(member(r, "archivedAt", NULL), &rec->rec_archived_at_ms);
    if (got < 0)
        return err_set(e, ERR_SHAPE, "%s: results[%zu].archivedAt is not an ISO-8601 time", what,
                       i);
    rec->rec_has_archived_at = got == 1;
    if (!rec->rec_has_archived_at)
        rec->rec_archived_at_ms = 0;
    return 0;
}

/* paging.next.after of a list or search page. */
static int parse_page_after(json_object *root, const char *what, bool numeric, hs_record_page *page,
                            err_info *e)
{
    json_object *paging = member(root, "paging", NULL), *next, *after;
    if (!paging)
        return 0;
    if (!json_object_is_type(paging, json_type_object))
        return err_set(e, ERR_SHAPE, "%s: paging is not an object", what);
    next = member(paging, "next", NULL);
    if (!next)
        return 0;
    if (!json_object_is_type(next, json_type_object))
        return err_set(e, ERR_SHAPE, "%s: paging.next is not an object", what);
    bool present;
    after = member(next, "after", &present);
    const char *s;
    size_t n;
    char num[24];
    uint64_t u;
    if (json_object_is_type(after, json_type_string)) {
        s = json_object_get_string(after);
        n = (size_t)json_object_get_string_len(after);
    } else if (json_object_is_type(after, json_type_int) && json_id(after, false, &u) == ID_OK) {
        n = fmt_u64(num, u);
        s = num;
    } else {
        return err_set(e, ERR_SHAPE, "%s: paging.next.after is %s", what,
                       present ? "not a string" : "missing");
    }
    if (n == 0 || memchr(s, '\0', n))
        return err_set(e, ERR_SHAPE, "%s: paging.next.after is %s", what,
                       n ? "not valid (NUL byte)" : "empty");
    if (n > HS_PAGE_AFTER_MAX)
        return err_set(e, ERR_TOO_BIG, "%s: paging.next.after is longer than %d bytes", what,
                       HS_PAGE_AFTER_MAX);
    page->rp_next_is_number = parse_u64_digits(s, n, &page->rp_next_offset);
    if (numeric && !page->rp_next_is_number)
        return err_set(e, ERR_SHAPE, "%s: paging.next.after \"%.40s\" is not a decimal offset",
                       what, s);
    memcpy(page->rp_after, s, n);
    page->rp_after[n] = '\0';
    page->rp_after_len = n;
    page->rp_has_next = true;
    return 0;
}

static int parse_records(const char *what, bool search, const char *body, size_t len,
                         const char *lastmod, hs_record_page *page, err_info *e)
{
    if ((!body && len) || !lastmod || !page)
        return err_set(e, ERR_INVALID, "%s: NULL argument", what);
    record_page_clear(page);
    json_object *root;
    int rc = hs_parse_json_object(what, body, len, &root, e);
    if (rc)
        return rc;
    bool present;
    if (search) {
        json_object *total = member(root, "total", &present);
        if (json_id(total, false, &page->rp_total) != ID_OK) {
            rc = err_set(e, ERR_SHAPE, "%s: total is %s", what,
                         present ? "not a non-negative integer" : "missing");
            goto done;
        }
        page->rp_has_total = true;
    }
    json_object *results = member(root, "results", &present);
    if (!json_object_is_type(results, json_type_array)) {
        rc = err_set(e, ERR_SHAPE, "%s: results is %s", what, present ? "not an array" : "missing");
        goto done;
    }
    size_t n = json_object_array_length(results);
    if (n > page->rp_cap) {
        hs_record *p = realloc(page->rp_items, n * sizeof(*p));
        if (!p) {
            rc = err_set(e, ERR_NOMEM, "%s: out of memory", what);
            goto done;
        }
        page->rp_items = p;
        page->rp_cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        rc = parse_record(json_object_array_get_idx(results, i), i, what, lastmod, page,
                          &page->rp_items[i], e);
        if (rc)
            goto done;
    }
    page->rp_count = n;
    rc = parse_page_after(root, what, search, page, e);
done:
    if (rc)
        record_page_clear(page);
    json_object_put(root);
    return rc;
}

int hs_parse_search(const char *body, size_t len, const char *lastmod_property,
                    hs_record_page *page, err_info *e)
{
    return parse_records("search response", true, body, len, lastmod_property, page, e);
}

int hs_parse_object_list(const char *body, size_t len, const char *lastmod_property,
                         hs_record_page *page, err_info *e)
{
    return parse_records("object list", false, body, len, lastmod_property, page, e);
}

/* --------------------------------------------------------------- properties */

void hs_properties_init(hs_properties *ps)
{
    memset(ps, 0, sizeof(*ps));
    jb_init(&ps->ps_strings);
}

void hs_properties_free(hs_properties *ps)
{
    free(ps->ps_items);
    jb_free(&ps->ps_strings);
    hs_properties_init(ps);
}

const char *hs_property_name(const hs_properties *ps, size_t i)
{
    return ps->ps_strings.jb_data + ps->ps_items[i].prop_name_off;
}

const char *hs_property_label(const hs_properties *ps, size_t i)
{
    return ps->ps_strings.jb_data + ps->ps_items[i].prop_label_off;
}

const char *hs_property_type(const hs_properties *ps, size_t i)
{
    return ps->ps_strings.jb_data + ps->ps_items[i].prop_type_off;
}

const char *hs_property_field_type(const hs_properties *ps, size_t i)
{
    return ps->ps_strings.jb_data + ps->ps_items[i].prop_field_type_off;
}

bool hs_property_is_rollup(const hs_properties *ps, size_t i)
{
    return strcmp(hs_property_type(ps, i), "number") == 0 &&
           strcmp(hs_property_field_type(ps, i), "calculation_rollup") == 0;
}

/* Appends a NUL-terminated copy of s[0..n) to the arena. */
static bool put_arena(jbuf *arena, const char *s, size_t n, uint32_t *off, uint32_t *len)
{
    if (arena->jb_len + n + 1 > UINT32_MAX)
        return false;
    *off = (uint32_t)arena->jb_len;
    *len = (uint32_t)n;
    jb_raw(arena, s, n);
    jb_char(arena, '\0');
    return jb_ok(arena);
}

/* Member `key` of properties entry i, a string without NUL bytes: 0 and the
 * string in *s, *n ("" when absent and optional), or ERR_SHAPE. */
static int property_string(json_object *p, size_t i, const char *key, bool required, const char **s,
                           size_t *n, err_info *e)
{
    static const char what[] = "properties response";
    bool present;
    json_object *v = member(p, key, &present);
    if (!present && !required) {
        *s = "";
        *n = 0;
        return 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return err_set(e, ERR_SHAPE, "%s: results[%zu].%s is %s", what, i, key,
                       present ? "not a string" : "missing");
    *s = json_object_get_string(v);
    *n = (size_t)json_object_get_string_len(v);
    if (memchr(*s, '\0', *n))
        return err_set(e, ERR_SHAPE, "%s: results[%zu].%s contains a NUL byte", what, i, key);
    return 0;
}

int hs_parse_properties(const char *body, size_t len, hs_properties *ps, err_info *e)
{
    static const char what[] = "properties response";
    if ((!body && len) || !ps)
        return err_set(e, ERR_INVALID, "%s: NULL argument", what);
    ps->ps_count = 0;
    jb_reset(&ps->ps_strings);
    json_object *root, *results;
    int rc = parse_results(what, body, len, &root, &results, e);
    if (rc)
        return rc;
    size_t n = json_object_array_length(results);
    for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(results, i);
        if (!json_object_is_type(p, json_type_object)) {
            rc = err_set(e, ERR_SHAPE, "%s: results[%zu] is not an object", what, i);
            goto done;
        }
        /* name and label are required; type and fieldType (what tells a
         * rollup from a look-alike) optional: a property without them is
         * simply not a rollup, no reason to refuse the whole list. */
        static const char *const keys[4] = {"name", "label", "type", "fieldType"};
        const char *str[4];
        size_t slen[4];
        for (int k = 0; k < 4; k++)
            if ((rc = property_string(p, i, keys[k], k < 2, &str[k], &slen[k], e)) != 0)
                goto done;
        if (grow((void **)&ps->ps_items, &ps->ps_cap, ps->ps_count, sizeof(*ps->ps_items))) {
            rc = err_set(e, ERR_NOMEM, "%s: out of memory", what);
            goto done;
        }
        hs_property *prop = &ps->ps_items[ps->ps_count];
        uint32_t *offs[4] = {&prop->prop_name_off, &prop->prop_label_off, &prop->prop_type_off,
                             &prop->prop_field_type_off};
        uint32_t *lens[4] = {&prop->prop_name_len, &prop->prop_label_len, &prop->prop_type_len,
                             &prop->prop_field_type_len};
        for (int k = 0; k < 4; k++)
            if (!put_arena(&ps->ps_strings, str[k], slen[k], offs[k], lens[k])) {
                rc = err_set(e, ERR_NOMEM, "%s: out of memory", what);
                goto done;
            }
        ps->ps_count++;
    }
done:
    if (rc) {
        ps->ps_count = 0;
        jb_reset(&ps->ps_strings);
    }
    json_object_put(root);
    return rc;
}

/* Labels compared bytewise, the shorter first on a common prefix. */
typedef struct label_ref {
    const char *lr_s;
    size_t lr_n;
} label_ref;

static int label_cmp(const void *x, const void *y)
{
    const label_ref *a = x, *b = y;
    size_t n = a->lr_n < b->lr_n ? a->lr_n : b->lr_n;
    int c = memcmp(a->lr_s, b->lr_s, n);
    if (c)
        return c;
    return a->lr_n < b->lr_n ? -1 : a->lr_n > b->lr_n;
}

int hs_properties_labels_with_prefix(const hs_properties *ps, const char *prefix, size_t prefix_len,
                                     const char ***labels, size_t *n, err_info *e)
{
    if (!ps || (!prefix && prefix_len) || !labels || !n)
        return err_set(e, ERR_INVALID, "property labels: NULL argument");
    *labels = NULL;
    *n = 0;
    size_t count = 0;
    for (size_t i = 0; i < ps->ps_count; i++)
        if (ps->ps_items[i].prop_label_len >= prefix_len &&
            memcmp(hs_property_label(ps, i), prefix, prefix_len) == 0)
            count++;
    if (count == 0)
        return 0;
    label_ref *refs = malloc(count * sizeof(*refs));
    const char **out = malloc(count * sizeof(*out));
    if (!refs || !out) {
        free(refs);
        free(out);
        return err_set(e, ERR_NOMEM, "property labels: out of memory");
    }
    size_t m = 0;
    for (size_t i = 0; i < ps->ps_count; i++)
        if (ps->ps_items[i].prop_label_len >= prefix_len &&
            memcmp(hs_property_label(ps, i), prefix, prefix_len) == 0)
            refs[m++] = (label_ref){hs_property_label(ps, i), ps->ps_items[i].prop_label_len};
    qsort(refs, count, sizeof(*refs), label_cmp);
    for (size_t i = 0; i < count; i++)
        out[i] = refs[i].lr_s;
    free(refs);
    *labels = out;
    *n = count;
    return 0;
}

/* -------------------------------------------------------- association labels */

void hs_assoc_labels_init(hs_assoc_labels *ls)
{
    memset(ls, 0, sizeof(*ls));
    jb_init(&ls->ls_strings);
}

void hs_assoc_labels_free(hs_assoc_labels *ls)
{
    free(ls->ls_items);
    jb_free(&ls->ls_strings);
    hs_assoc_labels_init(ls);
}

const char *hs_assoc_label_name(const hs_assoc_labels *ls, size_t i)
{
    const hs_assoc_label *l = &ls->ls_items[i];
    return l->al_has_label ? ls->ls_strings.jb_data + l->al_label_off : NULL;
}

/* results[i] of a labels response into *out (its label into the arena). */
static int parse_assoc_label(json_object *r, size_t i, hs_assoc_labels *ls, hs_assoc_label *out,
                             err_info *e)
{
    static const char what[] = "association labels";
    if (!json_object_is_type(r, json_type_object))
        return err_set(e, ERR_SHAPE, "%s: results[%zu] is not an object", what, i);
    bool present;
    json_object *v = member(r, "category", &present);
    if (!json_object_is_type(v, json_type_string))
        return err_set(e, ERR_SHAPE, "%s: results[%zu].category is %s", what, i,
                       present ? "not a string" : "missing");
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (!category_of(s, n, &out->al_category))
        return err_set(e, ERR_SHAPE, "%s: results[%zu].category \"%.*s\" is unknown", what, i,
                       (int)(n < 40 ? n : 40), s);
    /* json-c clamps an integer beyond int64 to its limits: out of int32 too. */
    v = member(r, "typeId", &present);
    int64_t id = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
    if (!json_object_is_type(v, json_type_int) || id < INT32_MIN || id > INT32_MAX)
        return err_set(e, ERR_SHAPE, "%s: results[%zu].typeId is %s", what, i,
                       !present                                ? "missing"
                       : json_object_is_type(v, json_type_int) ? "not an int32"
                                                               : "not an integer");
    out->al_type_id = (int32_t)id;
    v = member(r, "label", &present);
    out->al_has_label = v != NULL;
    out->al_label_off = out->al_label_len = 0;
    if (!v)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return err_set(e, ERR_SHAPE, "%s: results[%zu].label is neither a string nor null", what,
                       i);
    s = json_object_get_string(v);
    n = (size_t)json_object_get_string_len(v);
    if (memchr(s, '\0', n))
        return err_set(e, ERR_SHAPE, "%s: results[%zu].label contains a NUL byte", what, i);
    if (n > ASSOC_LABEL_MAX)
        return err_set(e, ERR_TOO_BIG, "%s: results[%zu].label is longer than %d bytes", what, i,
                       ASSOC_LABEL_MAX);
    if (!put_arena(&ls->ls_strings, s, n, &out->al_label_off, &out->al_label_len))
        return err_set(e, ERR_NOMEM, "%s: out of memory", what);
    return 0;
}

int hs_parse_assoc_labels(const char *body, size_t len, hs_assoc_labels *ls, err_info *e)
{
    static const char what[] = "association labels";
    if ((!body && len) || !ls)
        return err_set(e, ERR_INVALID, "%s: NULL argument", what);
    ls->ls_count = 0;
    jb_reset(&ls->ls_strings);
    json_object *root, *results;
    int rc = parse_results(what, body, len, &root, &results, e);
    if (rc)
        return rc;
    size_t n = json_object_array_length(results);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (grow((void **)&ls->ls_items, &ls->ls_cap, ls->ls_count, sizeof(*ls->ls_items))) {
            rc = err_set(e, ERR_NOMEM, "%s: out of memory", what);
            break;
        }
        rc = parse_assoc_label(json_object_array_get_idx(results, i), i, ls,
                               &ls->ls_items[ls->ls_count], e);
        if (rc == 0)
            ls->ls_count++;
    }
    if (rc) {
        ls->ls_count = 0;
        jb_reset(&ls->ls_strings);
    }
    json_object_put(root);
    return rc;
}

/* -------------------------------------------------------------- OAuth token */

/* A token goes into an HTTP header verbatim: printable ASCII, no spaces. */
static bool token_bytes_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7F)
            return false;
    return true;
}

static int copy_token(json_object *root, const char *key, bool required, char *dst, size_t *dst_len,
                      err_info *e)
{
    static const char what[] = "token response";
    bool present;
    json_object *v = member(root, key, &present);
    if (!present && !required)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return err_set(e, ERR_SHAPE, "%s: %s is %s", what, key,
                       present ? "not a string" : "missing");
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (n > HS_TOKEN_MAX)
        return err_set(e, ERR_TOO_BIG, "%s: %s is longer than %d bytes", what, key, HS_TOKEN_MAX);
    if (n == 0 || !token_bytes_ok(s, n))
        return err_set(e, ERR_SHAPE, "%s: %s is %s", what, key,
                       n ? "not printable ASCII without spaces" : "empty");
    memcpy(dst, s, n);
    dst[n] = '\0';
    *dst_len = n;
    return 0;
}

int hs_parse_token(const char *body, size_t len, hs_token *out, err_info *e)
{
    static const char what[] = "token response";
    if ((!body && len) || !out)
        return err_set(e, ERR_INVALID, "%s: NULL argument", what);
    memset(out, 0, sizeof(*out));
    json_object *root;
    int rc = hs_parse_json_object(what, body, len, &root, e);
    if (rc)
        return rc;
    bool present;
    json_object *v = member(root, "token_type", &present);
    if (present &&
        !(json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 6 &&
          strncasecmp(json_object_get_string(v), "bearer", 6) == 0)) {
        rc = err_set(e, ERR_SHAPE, "%s: token_type is not \"bearer\"", what);
        goto done;
    }
    rc = copy_token(root, "access_token", true, out->tok_access, &out->tok_access_len, e);
    if (rc == 0)
        rc = copy_token(root, "refresh_token", false, out->tok_refresh, &out->tok_refresh_len, e);
    if (rc)
        goto done;
    v = member(root, "expires_in", &present);
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0 ||
        json_object_get_int64(v) == INT64_MAX) {
        rc = err_set(e, ERR_SHAPE, "%s: expires_in is %s", what,
                     present ? "not a positive integer" : "missing");
        goto done;
    }
    out->tok_expires_in_s = json_object_get_int64(v);
done:
    if (rc)
        memset(out, 0, sizeof(*out));
    json_object_put(root);
    return rc;
}

/* -------------------------------------------------------------- error bodies */

static bool has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static hs_rate_policy policy_of(const hs_error_body *b)
{
    static const struct {
        const char *name;
        hs_rate_policy policy;
    } policies[] = {{"TEN_SECONDLY_ROLLING", HS_POLICY_TEN_SECONDLY_ROLLING},
                    {"SECONDLY", HS_POLICY_SECONDLY},
                    {"DAILY", HS_POLICY_DAILY}};
    for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
        if (strcmp(b->eb_policy_name, policies[i].name) == 0)
            return policies[i].policy;
    /* No known policyName: the message says which limit, as HubSpot's SDK reads it. */
    static const char reached[] = "You have reached your ";
    if (has_prefix_ci(b->eb_message, reached)) {
        const char *m = b->eb_message + sizeof(reached) - 1;
        if (has_prefix_ci(m, "ten_secondly_rolling limit"))
            return HS_POLICY_TEN_SECONDLY_ROLLING;
        if (has_prefix_ci(m, "secondly limit"))
            return HS_POLICY_SECONDLY;
        if (has_prefix_ci(m, "daily limit"))
            return HS_POLICY_DAILY;
    }
    if (b->eb_policy_name[0] || strcmp(b->eb_error_type, "RATE_LIMIT") == 0 ||
        strcmp(b->eb_category, "RATE_LIMITS") == 0)
        return HS_POLICY_OTHER;
    return HS_POLICY_NONE;
}

void hs_parse_error(const char *body, size_t len, hs_error_body *out)
{
    memset(out, 0, sizeof(*out));
    json_object *root = NULL;
    if (body && len > 0 && hs_parse_json_object("error body", body, len, &root, NULL) == 0) {
        out->eb_is_json = true;
        copy_member(root, "status", out->eb_status, sizeof(out->eb_status));
        copy_member(root, "message", out->eb_message, sizeof(out->eb_message));
        copy_member(root, "category", out->eb_category, sizeof(out->eb_category));
        copy_member(root, "subCategory", out->eb_sub_category, sizeof(out->eb_sub_category));
        copy_member(root, "correlationId", out->eb_correlation_id, sizeof(out->eb_correlation_id));
        copy_member(root, "policyName", out->eb_policy_name, sizeof(out->eb_policy_name));
        copy_member(root, "errorType", out->eb_error_type, sizeof(out->eb_error_type));
        json_object_put(root);
        out->eb_policy = policy_of(out);
        if (strcmp(out->eb_category, "EXPIRED_AUTHENTICATION") == 0)
            out->eb_auth = HS_AUTH_EXPIRED;
        else if (strcmp(out->eb_category, "INVALID_AUTHENTICATION") == 0)
            out->eb_auth = HS_AUTH_INVALID;
        return;
    }
    /* An HTML page from a proxy, a truncated body, nothing: say so, with a
     * printable excerpt for the log. */
    static const char prefix[] = "not JSON";
    size_t o = sizeof(prefix) - 1;
    memcpy(out->eb_message, prefix, o);
    if (body && len > 0) {
        memcpy(out->eb_message + o, ": ", 2);
        o += 2;
        for (size_t i = 0; i < len && o < 80 + sizeof(prefix); i++) {
            unsigned char c = (unsigned char)body[i];
            out->eb_message[o++] = c >= 0x20 && c < 0x7F ? (char)c : '?';
        }
    }
    out->eb_message[o] = '\0';
}

/* ------------------------------------------------------------ request bodies */

/* Cuts `out` back to `mark` bytes after a failed build. */
static void rewind_jbuf(jbuf *out, size_t mark)
{
    out->jb_len = mark;
    if (out->jb_data)
        out->jb_data[mark] = '\0';
}

static int check_cursor(const char *what, size_t i, const char *after, size_t after_len,
                        err_info *e)
{
    if (!after)
        return 0;
    if (after_len == 0)
        return err_set(e, ERR_INVALID, "%s: inputs[%zu].after is empty", what, i);
    if (after_len > HS_CURSOR_MAX)
        return err_set(e, ERR_TOO_BIG, "%s: inputs[%zu].after is longer than %d bytes", what, i,
                       HS_CURSOR_MAX);
    return 0;
}

/* One {"id":"…","after":"…"} input, preceded by a comma unless it is the first. */
static void write_input(jbuf *out, bool first, uint64_t id, const char *after, size_t after_len)
{
    if (first)
        jb_lit(out, "{\"id\":");
    else
        jb_lit(out, ",{\"id\":");
    jb_u64_str(out, id);
    if (after) {
        /* JSON's own escapes only (none for a HubSpot cursor): the server
         * decodes exactly the bytes we received, "%3D" included. */
        jb_lit(out, ",\"after\":");
        jb_strn(out, after, after_len);
    }
    jb_char(out, '}');
}

int hs_build_assoc_batch_read(jbuf *out, const hs_assoc_input *inputs, size_t n, err_info *e)
{
    static const char what[] = "assoc batch read request";
    if (!out || (!inputs && n))
        return err_set(e, ERR_INVALID, "%s: NULL argument", what);
    if (n == 0)
        return err_set(e, ERR_INVALID, "%s: no inputs", what);
    if (n > HS_ASSOC_BATCH_MAX)
        return err_set(e, ERR_TOO_BIG, "%s: %zu inputs (at most %d)", what, n, HS_ASSOC_BATCH_MAX);
    for (size_t i = 0; i < n; i++) {
        int rc = check_cursor(what, i, inputs[i].ai_after, inputs[i].ai_after_len, e);
        if (rc)
            return rc;
    }
    size_t mark = out->jb_len;
    jb_lit(out, "{\"inputs\":[");
    for (size_t i = 0; i < n; i++)
        write_input(out, i == 0, inputs[i].ai_id, inputs[i].ai_after, inputs[i].ai_after_len);
    jb_lit(out, "]}");
    if (!jb_ok(out)) {
        rewind_jbuf(out, mark);
        return err_set(e, ERR_NOMEM, "%s: out of memory", what);
    }
    return 0;
}

int hs_build_assoc_next_pages(jbuf *out, const assoc_buf *page, size_t *n, err_info *e)
{
    static const char what[] = "assoc batch read request";
    if (!out || !page || !n)
        return err_set(e, ERR_INVALID, "%s: NULL argument", what);
    *n = 0;
    size_t count = 0;
    for (size_t i = 0; i < page->ab_nparents; i++) {
        const assoc_parent *p = &page->ab_parents[i];
        if (!p->ap_has_more)
            continue;
        int rc = check_cursor(what, count, assoc_after(page, p), p->ap_after_len, e);
        if (rc)
            return rc;
        count++;
    }
    if (count == 0)
        return 0;
    if (count > HS_ASSOC_BATCH_MAX)
        return err_set(e, ERR_TOO_BIG, "%s: %zu paged parents (at most %d)", what, count,
                       HS_ASSOC_BATCH_MAX);
    size_t mark = out->jb_len, m = 0;
    jb_lit(out, "{\"inputs\":[");
    for (size_t i = 0; i < page->ab_nparents; i++) {
        const assoc_parent *p = &page->ab_parents[i];
        if (p->ap_has_more)
            write_input(out, m++ == 0, p->ap_parent_id, assoc_after(page, p), p->ap_after_len);
    }
    jb_lit(out, "]}");
    if (!jb_ok(out)) {
        rewind_jbuf(out, mark);
        return err_set(e, ERR_NOMEM, "%s: out of memory", what);
    }
    *n = count;
    return 0;
}

static const char *const op_names[HS_OP_COUNT] = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE"};

const char *hs_search_op_name(hs_search_op op)
{
    return (unsigned)op < HS_OP_COUNT ? op_names[op] : "UNKNOWN";
}

static void write_filter(jbuf *out, const char *property, hs_search_op op, const char *value,
                         size_t value_len)
{
    jb_lit(out, "{\"propertyName\":");
    jb_str(out, property);
    jb_lit(out, ",\"operator\":\"");
    jb_raw(out, op_names[op], strlen(op_names[op]));
    jb_lit(out, "\",\"value\":");
    jb_strn(out, value, value_len);
    jb_char(out, '}');
}

int hs_build_search(jbuf *out, const hs_search_query *q, err_info *e)
{
    static const char what[] = "search request";
    if (!out || !q || !q->sq_lastmod_property || (!q->sq_filters && q->sq_nfilters) ||
        (!q->sq_properties && q->sq_nproperties))
        return err_set(e, ERR_INVALID, "%s: NULL argument", what);
    if (q->sq_from_op != HS_OP_GT && q->sq_from_op != HS_OP_GTE)
        return err_set(e, ERR_INVALID, "%s: the lower bound's operator must be GT or GTE", what);
    if (!q->sq_no_upper && q->sq_to_op != HS_OP_LT && q->sq_to_op != HS_OP_LTE)
        return err_set(e, ERR_INVALID, "%s: the upper bound's operator must be LT or LTE", what);
    size_t bounds = q->sq_no_upper ? 1 : 2;
    if (q->sq_nfilters > HS_SEARCH_FILTERS_MAX - bounds)
        return err_set(e, ERR_INVALID, "%s: %zu filters in one group (at most %d)", what,
                       q->sq_nfilters + bounds, HS_SEARCH_FILTERS_MAX);
    for (size_t i = 0; i < q->sq_nfilters; i++) {
        const hs_search_filter *f = &q->sq_filters[i];
        if (!f->sf_property || !f->sf_value || (unsigned)f->sf_op >= HS_OP_COUNT)
            return err_set(e, ERR_INVALID, "%s: filter %zu is incomplete", what, i);
    }
    for (size_t i = 0; i < q->sq_nproperties; i++)
        if (!q->sq_properties[i])
            return err_set(e, ERR_INVALID, "%s: properties[%zu] is NULL", what, i);
    if (q->sq_limit < 1 || q->sq_limit > HS_SEARCH_LIMIT_MAX)
        return err_set(e, ERR_INVALID, "%s: limit %u is outside 1..%d", what, q->sq_limit,
                       HS_SEARCH_LIMIT_MAX);
    if (!q->sq_past_cap && q->sq_after > HS_SEARCH_RESULTS_MAX - q->sq_limit)
        return err_set(e, ERR_INVALID,
                       "%s: after %llu + limit %u pages beyond %d results (HubSpot answers 400)",
                       what, (unsigned long long)q->sq_after, q->sq_limit, HS_SEARCH_RESULTS_MAX);
    size_t mark = out->jb_len;
    char num[24];
    size_t n;
    jb_lit(out, "{\"filterGroups\":[{\"filters\":[");
    n = (size_t)snprintf(num, sizeof(num), "%lld", (long long)q->sq_from_ms);
    write_filter(out, q->sq_lastmod_property, q->sq_from_op, num, n);
    if (!q->sq_no_upper) {
        jb_char(out, ',');
        n = (size_t)snprintf(num, sizeof(num), "%lld", (long long)q->sq_to_ms);
        write_filter(out, q->sq_lastmod_property, q->sq_to_op, num, n);
    }
    for (size_t i = 0; i < q->sq_nfilters; i++) {
        const hs_search_filter *f = &q->sq_filters[i];
        jb_char(out, ',');
        write_filter(out, f->sf_property, f->sf_op, f->sf_value, strlen(f->sf_value));
    }
    jb_lit(out, "]}]");
    if (q->sq_sort_property) {
        jb_lit(out, ",\"sorts\":[{\"propertyName\":");
        jb_str(out, q->sq_sort_property);
        if (q->sq_sort_descending)
            jb_lit(out, ",\"direction\":\"DESCENDING\"}]");
        else
            jb_lit(out, ",\"direction\":\"ASCENDING\"}]");
    }
    if (q->sq_nproperties) {
        jb_lit(out, ",\"properties\":[");
        for (size_t i = 0; i < q->sq_nproperties; i++) {
            if (i)
                jb_char(out, ',');
            jb_str(out, q->sq_properties[i]);
        }
        jb_char(out, ']');
    }
    jb_lit(out, ",\"limit\":");
    jb_u64(out, q->sq_limit);
    /* Always sent, "0" on the first page, as HubSpot's own examples do. */
    jb_lit(out, ",\"after\":");
    jb_u64_str(out, q->sq_after);
    jb_char(out, '}');
    int rc = 0;
    if (!jb_ok(out))
        rc = err_set(e, ERR_NOMEM, "%s: out of memory", what);
    else if (out->jb_len - mark > HS_SEARCH_BODY_MAX)
        rc = err_set(e, ERR_TOO_BIG, "%s: %zu characters (at most %d)", what, out->jb_len - mark,
                     HS_SEARCH_BODY_MAX);
    if (rc)
        rewind_jbuf(out, mark);
    return rc;
}

/* Appends s percent-encoded as application/x-www-form-urlencoded wants it. */
static void form_value(jbuf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            jb_char(out, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            jb_raw(out, esc, 3);
        }
    }
}

int hs_build_oauth_refresh(jbuf *out, const char *refresh_token, const char *client_id,
                           const char *client_secret, err_info *e)
{
    static const char what[] = "OAuth refresh request";
    if (!out || !refresh_token || !client_id || !client_secret)
        return err_set(e, ERR_INVALID, "%s: NULL argument", what);
    if (!*refresh_token || !*client_id || !*client_secret)
        return err_set(e, ERR_INVALID, "%s: %s is empty", what,
                       !*refresh_token ? "the refresh token"
                       : !*client_id   ? "the client ID"
                                       : "the client secret");
    size_t mark = out->jb_len;
    jb_lit(out, "grant_type=refresh_token&refresh_token=");
    form_value(out, refresh_token);
    jb_lit(out, "&client_id=");
    form_value(out, client_id);
    jb_lit(out, "&client_secret=");
    form_value(out, client_secret);
    if (!jb_ok(out)) {
        rewind_jbuf(out, mark);
        return err_set(e, ERR_NOMEM, "%s: out of memory", what);
    }
    return 0;
}
