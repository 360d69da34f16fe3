/*
 * sim_json — strict JSON parsing of request bodies for the simulator.
 */
#ifndef HUBSYNC_SIM_JSON_H
#define HUBSYNC_SIM_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses exactly `len` bytes as one JSON value (trailing bytes other than
 * whitespace are an error). Returns the value (json_object_put it), or NULL. */
json_object *sim_json_parse(const char *body, size_t len);

/* Reads a non-negative decimal integer from a JSON string ("123") or number.
 * Returns 0 and *out, or -1. */
int sim_json_u64(json_object *v, uint64_t *out);

/* Reads an int64 from a JSON number or a string of decimal digits with an
 * optional '-'; when `allow_iso` is set, also an ISO-8601 time (→ epoch ms). */
int sim_json_i64(json_object *v, bool allow_iso, int64_t *out);

#endif
