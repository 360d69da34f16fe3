/*
 * sim_profile — what the simulator models of each object type, one row per
 * type, and of each pair of CRM types, one row per pair: the properties
 * GET /crm/v3/properties/{type} lists, the values a record shows, how many
 * a default portal holds (and so its --{type} N option's default), and
 * how many links the generator draws. Adding an object type to the
 * simulator is a row here (a unit test checks that every type and every
 * CRM pair has one; the type table itself is common/base/hs_types, from which
 * the options --contacts N, … are made).
 *
 * The common properties every type has (hs_object_id, createdate, its
 * last-modified property, hubspot_owner_id) and the rollups of the tables
 * are not here: they follow from hs_types and the portal.
 */
#ifndef HUBSYNC_SIM_PROFILE_H
#define HUBSYNC_SIM_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/base/hs_types.h"

/* A property of the type's schema (GET /properties), as HubSpot lists it. */
typedef struct sim_prop_schema {
    const char *ps_name, *ps_label;
    const char *ps_type, *ps_field_type; /* "string" "text", "number" "number", … */
    bool ps_calculated;                  /* HubSpot's own rollups (num_associated_*) */
} sim_prop_schema;

/* A value a record shows: `ps_value` with '%' replaced by the record's ID. */
typedef struct sim_record_prop {
    const char *rp_name, *rp_value;
} sim_record_prop;

enum { SIM_LINK_PROFILE_MAX = 6 }; /* P(k) for k = 0 … 5 links */

typedef struct sim_type_profile {
    hs_object_type tp_type;          /* the row's own type (checked) */
    uint32_t tp_default_count;       /* records in a default portal */
    const sim_prop_schema *tp_props; /* its own properties, after the common ones */
    size_t tp_nprops;
    const sim_record_prop *tp_record_props; /* shown on every record by default */
    size_t tp_nrecord_props;
    /* Links an engagement draws to a record of this type: P(0), P(1), …
     * (none for the engagement types themselves). */
    double tp_engagement_links[SIM_LINK_PROFILE_MAX];
    /* A datetime property that exists but is never set (contacts'
     * hs_lastmodifieddate): searchable, matching nothing (0: none). */
    const char *tp_unset_property;
} sim_type_profile;

/* How many links the driving side of a CRM pair draws (the child, each
 * drawing parents): P(0), P(1), …. */
typedef struct sim_pair_profile {
    hs_object_type pp_parent, pp_child;
    double pp_links[SIM_LINK_PROFILE_MAX];
} sim_pair_profile;

/* The row of type `t` (< HS_OBJECT_TYPE_COUNT). */
const sim_type_profile *sim_type_profile_of(hs_object_type t);

/* The row of the CRM pair (parent, child), or NULL when the simulator has
 * none (a pair with an engagement type: those draw by
 * tp_engagement_links). */
const sim_pair_profile *sim_pair_profile_of(hs_object_type parent, hs_object_type child);

#endif
