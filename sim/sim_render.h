/*
 * sim_render — writes one CRM object as HubSpot returns it from list, batch
 * read and search: {"id","properties":{…},"createdAt","updatedAt","archived"}.
 *
 * Property values are strings (datetimes in ISO-8601 with milliseconds), as
 * on the wire; hs_object_id, createdate and the last-modified property are
 * always present, like HubSpot's.
 */
#ifndef HUBSYNC_SIM_RENDER_H
#define HUBSYNC_SIM_RENDER_H

#include <stdint.h>

#include "../common/base/jbuf.h"
#include "sim_portal.h"

enum { SIM_PROP_NAME_MAX = 64 };

/* Appends object idx of type t. modified_ms is the last-modified time to
 * show (search shows its lagging view). props/nprops are the requested
 * properties (unknown names are left out); nprops 0 means the type's defaults. */
void sim_render_object(jbuf *out, const sim_portal *p, hs_object_type t, uint32_t idx,
                       int64_t modified_ms, const char (*props)[SIM_PROP_NAME_MAX], int nprops);

#endif
