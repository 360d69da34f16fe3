/*
 * jbuf — a growable byte buffer with the few JSON writers this project needs.
 *
 * Both the simulator (response bodies) and the sync client (request bodies)
 * write JSON by appending to a jbuf instead of building a DOM: a batch-read
 * response of 1,000 parents is written in one pass with no intermediate
 * objects. A failed allocation sets `failed` and turns every later append into
 * a no-op, so callers check once, at the end, with jb_ok().
 */
#ifndef HUBSYNC_JBUF_H
#define HUBSYNC_JBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct jbuf {
    char *jb_data;  /* NUL-terminated when jb_len > 0 or after jb_cstr() */
    size_t jb_len;  /* bytes written */
    size_t jb_cap;  /* bytes allocated */
    bool jb_failed; /* an allocation failed; contents are incomplete */
} jbuf;

/* An empty buffer; no allocation until the first append. */
void jb_init(jbuf *b);

/* Releases the buffer's memory and leaves it empty and usable. */
void jb_free(jbuf *b);

/* Empties the buffer, keeping its allocation. */
void jb_reset(jbuf *b);

/* True unless an allocation failed since the last jb_init/jb_reset. */
bool jb_ok(const jbuf *b);

/* Ensures room for `extra` more bytes plus a NUL. Returns false on failure. */
bool jb_reserve(jbuf *b, size_t extra);

/* Appends `n` raw bytes. */
void jb_raw(jbuf *b, const char *s, size_t n);

/* Appends a string literal (length known at compile time). */
#define jb_lit(b, lit) jb_raw((b), (lit), sizeof(lit) - 1)

/* Appends one byte. */
void jb_char(jbuf *b, char c);

/* Appends `s` (NUL-terminated) as a quoted, escaped JSON string. */
void jb_str(jbuf *b, const char *s);

/* Appends `n` bytes of `s` as a quoted, escaped JSON string. */
void jb_strn(jbuf *b, const char *s, size_t n);

/* Appends `n` bytes of `s` as one RFC 4180 CSV field: as they are, or
 * quoted (quotes doubled) when they hold a comma, a quote, CR or LF. */
void jb_csv(jbuf *b, const char *s, size_t n);

/* Appends a decimal number. */
void jb_u64(jbuf *b, uint64_t v);
void jb_i64(jbuf *b, int64_t v);

/* Appends a decimal number inside quotes: "5790939450" (HubSpot's string IDs). */
void jb_u64_str(jbuf *b, uint64_t v);

/* Appends a quoted ISO-8601 UTC time with milliseconds: "2024-01-17T19:55:04.281Z". */
void jb_iso8601_ms(jbuf *b, int64_t epoch_ms);

/* Appends printf-formatted text. */
void jb_printf(jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Returns the contents as a NUL-terminated string (an empty buffer gives ""). */
const char *jb_cstr(jbuf *b);

/* Hands the allocation to the caller (free() it) and leaves the buffer empty.
 * Returns NULL when the buffer failed; *len receives the length. */
char *jb_steal(jbuf *b, size_t *len);

/* Formats `v` in decimal into `out` (at least 21 bytes); returns the length. */
size_t fmt_u64(char *out, uint64_t v);

/* Parses a decimal uint64 filling all of s[0..n): digits only (no sign, no
 * spaces), no overflow. Returns whether it is one; sets *out when it is. */
bool parse_u64_digits(const char *s, size_t n, uint64_t *out);

/* Formats epoch milliseconds as ISO-8601 UTC ("…T…Z", 24 chars) into `out`
 * (at least 25 bytes); returns the length. */
size_t fmt_iso8601_ms(char *out, int64_t epoch_ms);

/* Parses an ISO-8601 UTC time ("2024-01-17T19:55:04.281Z", fraction and Z
 * optional). Returns 0 and sets *epoch_ms, or -1 when the text is not one. */
int parse_iso8601_ms(const char *s, size_t n, int64_t *epoch_ms);

#endif
