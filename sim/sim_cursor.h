/*
 * sim_cursor — the opaque `after` cursors of association paging.
 *
 * HubSpot's look like "MC0yLTE1OTc0MDA2NTg%3D": base64 of
 * "{toObjectTypeId}-{lastToObjectId}" whose '=' padding is already
 * percent-escaped. Clients must send them back byte-for-byte. The simulator
 * always emits at least one padding character, so every cursor carries the
 * `%3D` that catches a client that decodes or re-encodes it.
 */
#ifndef HUBSYNC_SIM_CURSOR_H
#define HUBSYNC_SIM_CURSOR_H

#include <stddef.h>
#include <stdint.h>

enum { SIM_CURSOR_MAX = 96 };

/* Writes the cursor for "continue after child `last_id` of type `type_id`"
 * ("0-1") into out (SIM_CURSOR_MAX bytes). Returns its length. */
size_t sim_cursor_encode(const char *type_id, uint64_t last_id, char *out);

/* Decodes a cursor as emitted (with "%3D"), or, when `url_decoded` is set, as
 * it reads after a query string's percent-decoding (with "="). Checks that it
 * names `type_id`. Returns 0 and *last_id, or -1 for anything else. */
int sim_cursor_decode(const char *s, size_t n, const char *type_id, int url_decoded,
                      uint64_t *last_id);

#endif
