/*
 * hs_paths — every HubSpot endpoint path hubsync calls, in one place: the
 * worker's batch reads, lists and searches, setup's and doctor's reads, the
 * OAuth token endpoint, and the cheap read that learns the daily limit.
 * Paths are relative to the base URL (--base-url) and hold only what the
 * type tables (hs_types) and the caller's numbers put in them: no escaping
 * is needed. Each writes into buf (NUL-terminated, cut to size) and returns
 * the length it needed, as snprintf does; a caller's buffer of
 * HS_PATH_MAX always fits.
 */
#ifndef HUBSYNC_HS_PATHS_H
#define HUBSYNC_HS_PATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/hs_types.h"

/* HS_PATH_EXTRA_MAX extra properties of up to 63 bytes fit a list's path. */
enum { HS_PATH_MAX = 512, HS_PATH_EXTRA_MAX = 4 };

/* POST /crm/v4/associations/{from}/{to}/batch/read: the associations of up
 * to 1,000 `from` records. */
size_t hs_path_assoc_batch_read(char *buf, size_t size, hs_object_type from, hs_object_type to);

/* GET /crm/v4/associations/{from}/{to}/labels: the pair's association
 * types and labels. */
size_t hs_path_assoc_labels(char *buf, size_t size, hs_object_type from, hs_object_type to);

/* GET /crm/v3/objects/{type}: one page of 100 records in ID order, live or
 * archived, with the type's last-modified property and the nextra
 * properties named in extra (the first HS_PATH_EXTRA_MAX of them;
 * a name with a byte other than [A-Za-z0-9_] would need escaping and is
 * left out), after record ID `after` (0: from the start). */
size_t hs_path_object_list(char *buf, size_t size, hs_object_type type, bool archived,
                           uint64_t after, const char *const *extra, size_t nextra);

/* Whether a property name goes into a path as it is: 1 to 63 bytes of
 * [A-Za-z0-9_], as HubSpot's internal names are. */
bool hs_path_property_ok(const char *name);

/* POST /crm/v3/objects/{type}/search. */
size_t hs_path_search(char *buf, size_t size, hs_object_type type);

/* GET /crm/v3/properties/{type}: the type's property definitions. */
size_t hs_path_properties(char *buf, size_t size, hs_object_type type);

/* POST /oauth/v1/token: a refresh token exchanged for an access token. */
extern const char hs_path_token[];

/* The cheapest counted read (one contact), sent for the daily-limit headers
 * its answer carries when nothing else has told the day's count. */
extern const char hs_path_daily_probe[];

#endif
