/*
 * log — one line per event on stderr, as text for people or as JSON for log
 * pipelines (--log-format json). Tokens must never be passed to it.
 *
 *   text: 2026-11-29T20:00:00.123Z info  full scan: 1000 parents merged
 *   json: {"ts":"2026-11-29T20:00:00.123Z","level":"info","pid":42,
 *          "version":"0.9.0+g1a2b3c4","msg":"full scan: …"}
 *
 * Safe to call from any process (each line is one write(2)).
 */
#ifndef HUBSYNC_LOG_H
#define HUBSYNC_LOG_H

#include <stdbool.h>

typedef enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* Sets the format (json or text) and the least level printed (default:
 * text, LOG_INFO). */
void log_setup(bool json, log_level min_level);

/* Whether a line at `level` is printed (to skip building one that is not). */
bool log_enabled(log_level level);

/* Prints one line at `level`. */
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The stable fields of a JSON log line (docs/SCHEMAS.md): what a log
 * pipeline may filter on, where `msg` is for people and may change. Every
 * JSON line has "event" ("message" for a line without one); the others are
 * written when set: strings when not NULL, numbers when their LF_ bit is in
 * lf_set. Text lines show the message alone. */
enum { LF_PARENTS = 1u, LF_CALLS = 2u, LF_EXIT_CODE = 4u };
typedef struct log_fields {
    const char *lf_event; /* one of the names docs/SCHEMAS.md lists */
    const char *lf_table; /* a canonical table name */
    const char *lf_route; /* a route name (full_scan, incremental, ...) */
    unsigned lf_set;      /* which of the numbers below are set (LF_*) */
    unsigned long long lf_parents, lf_calls;
    int lf_exit_code;
} log_fields;

/* Prints one line at `level` with the stable fields `f`. */
void log_event(log_level level, const log_fields *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A line with message `msg` and the stable fields `f` (may be NULL) that
 * also carries `json` (a complete JSON value, written as is) under the
 * name `field`: a member of the JSON line, or appended after the message in
 * text. */
void log_json_field(log_level level, const log_fields *f, const char *field, const char *json,
                    const char *msg);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
