/*
 * jbuf — growable buffer and JSON writers (see jbuf.h).
 *
 * Number formatting writes two digits per step from a pair table: the
 * simulator formats millions of IDs a second and snprintf would dominate.
 */
#include "jbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jb_init(jbuf *b)
{
    memset(b, 0, sizeof(*b));
}

void jb_free(jbuf *b)
{
    free(b->jb_data);
    jb_init(b);
}

void jb_reset(jbuf *b)
{
    b->jb_len = 0;
    b->jb_failed = false;
    if (b->jb_data)
        b->jb_data[0] = '\0';
}

bool jb_ok(const jbuf *b)
{
    return !b->jb_failed;
}

bool jb_reserve(jbuf *b, size_t extra)
{
    if (b->jb_failed)
        return false;
    if (extra > SIZE_MAX / 2 - b->jb_len - 1) {
        b->jb_failed = true;
        return false;
    }
    size_t need = b->jb_len + extra + 1;
    if (need <= b->jb_cap)
        return true;
    size_t cap = b->jb_cap ? b->jb_cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->jb_data, cap);
    if (!p) {
        b->jb_failed = true;
        return false;
    }
    b->jb_data = p;
    b->jb_cap = cap;
    b->jb_data[b->jb_len] = '\0';
    return true;
}

void jb_raw(jbuf *b, const char *s, size_t n)
{
    if (!jb_reserve(b, n))
        return;
    memcpy(b->jb_data + b->jb_len, s, n);
    b->jb_len += n;
    b->jb_data[b->jb_len] = '\0';
}

void jb_char(jbuf *b, char c)
{
    if (!jb_reserve(b, 1))
        return;
    b->jb_data[b->jb_len++] = c;
    b->jb_data[b->jb_len] = '\0';
}

void jb_strn(jbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    /* Worst case every byte becomes \u00XX. */
    if (!jb_reserve(b, n * 6 + 2))
        return;
    char *o = b->jb_data + b->jb_len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else if (c == '\t') {
            *o++ = '\\';
            *o++ = 't';
        } else if (c == '\r') {
            *o++ = '\\';
            *o++ = 'r';
        } else if (c < 0x20) {
            memcpy(o, "\\u00", 4);
            o[4] = hex[c >> 4];
            o[5] = hex[c & 15];
            o += 6;
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    b->jb_len = (size_t)(o - b->jb_data);
    b->jb_data[b->jb_len] = '\0';
}

void jb_str(jbuf *b, const char *s)
{
    jb_strn(b, s, strlen(s));
}

static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

bool parse_u64_digits(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

size_t fmt_u64(char *out, uint64_t v)
{
    char tmp[20];
    char *p = tmp + sizeof(tmp);
    while (v >= 100) {
        unsigned pair = (unsigned)(v % 100) * 2;
        v /= 100;
        *--p = digit_pairs[pair + 1];
        *--p = digit_pairs[pair];
    }
    if (v >= 10) {
        unsigned pair = (unsigned)v * 2;
        *--p = digit_pairs[pair + 1];
        *--p = digit_pairs[pair];
    } else {
        *--p = (char)('0' + v);
    }
    size_t n = (size_t)(tmp + sizeof(tmp) - p);
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}

void jb_u64(jbuf *b, uint64_t v)
{
    if (!jb_reserve(b, 21))
        return;
    b->jb_len += fmt_u64(b->jb_data + b->jb_len, v);
}

void jb_i64(jbuf *b, int64_t v)
{
    if (v < 0) {
        jb_char(b, '-');
        jb_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        jb_u64(b, (uint64_t)v);
    }
}

void jb_u64_str(jbuf *b, uint64_t v)
{
    if (!jb_reserve(b, 23))
        return;
    char *o = b->jb_data + b->jb_len;
    *o = '"';
    size_t n = fmt_u64(o + 1, v);
    o[n + 1] = '"';
    o[n + 2] = '\0';
    b->jb_len += n + 2;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil_from_days(int64_t z, int *year, unsigned *month, unsigned *day)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(y + (*month <= 2));
}

static int64_t days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void put2(char *o, unsigned v)
{
    o[0] = digit_pairs[v * 2];
    o[1] = digit_pairs[v * 2 + 1];
}

size_t fmt_iso8601_ms(char *out, int64_t epoch_ms)
{
    int64_t secs = epoch_ms >= 0 ? epoch_ms / 1000 : -((-epoch_ms + 999) / 1000);
    unsigned ms = (unsigned)(epoch_ms - secs * 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    unsigned sod = (unsigned)(secs - days * 86400);
    int year;
    unsigned month, day;
    civil_from_days(days, &year, &month, &day);
    if (year < 0 || year > 9999)
        year = year < 0 ? 0 : 9999;
    put2(out, (unsigned)year / 100);
    put2(out + 2, (unsigned)year % 100);
    out[4] = '-';
    put2(out + 5, month);
    out[7] = '-';
    put2(out + 8, day);
    out[10] = 'T';
    put2(out + 11, sod / 3600);
    out[13] = ':';
    put2(out + 14, sod / 60 % 60);
    out[16] = ':';
    put2(out + 17, sod % 60);
    out[19] = '.';
    out[20] = (char)('0' + ms / 100);
    put2(out + 21, ms % 100);
    out[23] = 'Z';
    out[24] = '\0';
    return 24;
}

void jb_iso8601_ms(jbuf *b, int64_t epoch_ms)
{
    if (!jb_reserve(b, 27))
        return;
    char *o = b->jb_data + b->jb_len;
    o[0] = '"';
    fmt_iso8601_ms(o + 1, epoch_ms);
    o[25] = '"';
    o[26] = '\0';
    b->jb_len += 26;
}

static int take_digits(const char *s, size_t n, size_t *pos, size_t count, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < count; i++) {
        if (*pos >= n || s[*pos] < '0' || s[*pos] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[(*pos)++] - '0');
    }
    *out = v;
    return 0;
}

static int expect_char(const char *s, size_t n, size_t *pos, char c)
{
    if (*pos >= n || s[*pos] != c)
        return -1;
    (*pos)++;
    return 0;
}

int parse_iso8601_ms(const char *s, size_t n, int64_t *epoch_ms)
{
    size_t p = 0;
    unsigned y, mo, d, h, mi, se, ms = 0;
    if (take_digits(s, n, &p, 4, &y) || expect_char(s, n, &p, '-') ||
        take_digits(s, n, &p, 2, &mo) || expect_char(s, n, &p, '-') ||
        take_digits(s, n, &p, 2, &d) || expect_char(s, n, &p, 'T') ||
        take_digits(s, n, &p, 2, &h) || expect_char(s, n, &p, ':') ||
        take_digits(s, n, &p, 2, &mi) || expect_char(s, n, &p, ':') ||
        take_digits(s, n, &p, 2, &se))
        return -1;
    if (p < n && s[p] == '.') {
        p++;
        unsigned scale = 100;
        size_t start = p;
        while (p < n && s[p] >= '0' && s[p] <= '9') {
            ms += (unsigned)(s[p] - '0') * scale;
            scale /= 10;
            p++;
        }
        if (p == start)
            return -1;
    }
    if (p < n && s[p] == 'Z')
        p++;
    static const unsigned month_days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (p != n || mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1] || h > 23 || mi > 59 ||
        se > 59)
        return -1;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return -1;
    int64_t days = days_from_civil((int)y, mo, d);
    *epoch_ms = ((days * 86400) + h * 3600 + mi * 60 + se) * 1000 + ms;
    return 0;
}

void jb_printf(jbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !jb_reserve(b, (size_t)n)) {
        b->jb_failed = true;
        va_end(ap2);
        return;
    }
    vsnprintf(b->jb_data + b->jb_len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->jb_len += (size_t)n;
}

const char *jb_cstr(jbuf *b)
{
    if (!b->jb_data)
        return "";
    return b->jb_data;
}

char *jb_steal(jbuf *b, size_t *len)
{
    if (b->jb_failed) {
        jb_free(b);
        *len = 0;
        return NULL;
    }
    if (!b->jb_data && !jb_reserve(b, 0)) {
        *len = 0;
        return NULL;
    }
    char *p = b->jb_data;
    *len = b->jb_len;
    jb_init(b);
    return p;
}

void jb_csv(jbuf *b, const char *s, size_t n)
{
    size_t plain = 0;
    while (plain < n && s[plain] != ',' && s[plain] != '"' && s[plain] != '\r' && s[plain] != '\n')
        plain++;
    if (plain == n) {
        jb_raw(b, s, n);
        return;
    }
    jb_char(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            jb_char(b, '"');
        jb_char(b, s[i]);
    }
    jb_char(b, '"');
}
