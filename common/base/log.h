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

/* Prints one line at `level`. */
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line with message `msg` that also carries `json` (a complete JSON
 * value, written as is) under the name `field`: a member of the JSON line,
 * or appended after the message in text. */
void log_json_field(log_level level, const char *field, const char *json, const char *msg);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
