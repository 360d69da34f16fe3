/*
 * rollup — which properties of a parent type are a table's rollup fields
 * (setup's detection, doctor's look-alikes), and which association labels
 * each rollup field watches: pure functions of the properties HubSpot
 * lists (parent_props, fetched by api_get) and the stored schema.
 */
#ifndef HUBSYNC_ROLLUP_H
#define HUBSYNC_ROLLUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/hubspot/hs_codec.h"
#include "../common/base/hs_types.h"
#include "../common/base/jbuf.h"
#include "../common/store/store.h"

/* The properties of the parent types of a set of tables, read with one
 * GET /crm/v3/properties/{type} per distinct type. */
typedef struct parent_props {
    bool pp_wanted[HS_OBJECT_TYPE_COUNT];
    bool pp_have[HS_OBJECT_TYPE_COUNT];
    hs_properties pp_props[HS_OBJECT_TYPE_COUNT];
    unsigned long long pp_api_calls; /* requests sent, retries and token refreshes included */
} parent_props;

/* Initialises an empty set (no allocation) / releases it, leaving it empty
 * and usable (rollup.c). */
void parent_props_init(parent_props *pp);
void parent_props_free(parent_props *pp);

/* The rest of this section is rollup.c: pure functions of what was fetched. */

/* Fills *sc (initialised by the caller) with what setup stores for `t`
 * (docs/CLI.md, `hubsync setup`): the labels of the parent's rollup properties whose label starts
 * with sync_associations_{a}_{b}_label_, sorted; ping_type incremental when
 * any were found; rollup_fields_object_id = a; count_field = the internal
 * name of the rollup labelled {prefix}count, if any. A rollup property is type
 * "number" and fieldType "calculation_rollup" (hs_property_is_rollup); a
 * property with a matching label but another type is a look-alike
 * (rollup_lookalikes) and counts for nothing. Engagement tables never
 * support rollups: no label is stored and *nignored counts every matching
 * label, rollup or not (0 for other tables).
 * The parent's properties must have been fetched. Returns 0 or ERR_NOMEM. */
int rollup_detect(const parent_props *pp, hs_table t, store_schema *sc, size_t *nignored,
                  err_info *e);

/* A property of a table's parent whose label starts with the table's rollup
 * prefix but that is not a rollup property, so rollup_detect ignores it. */
typedef struct rollup_lookalike {
    const char *rl_label; /* the property's label and internal name: they point */
    const char *rl_name;  /* into the parent_props, valid as long as it is */
    /* Why it is not a rollup: `fieldType "number", not "calculation_rollup"`. */
    char rl_reason[160];
} rollup_lookalike;

/* The look-alikes of table t among its parent's properties (fetched), sorted
 * by label then name: *out receives a malloc'd array of *n (free() it), NULL
 * and 0 when there are none. Engagement tables have none (every matching
 * label of theirs is ignored anyway: rollup_detect's *nignored).
 * Returns 0, ERR_INVALID (a NULL argument) or ERR_NOMEM. */
int rollup_lookalikes(const parent_props *pp, hs_table t, rollup_lookalike **out, size_t *n,
                      err_info *e);

/* Appends l[0..n) as the JSON array [{"label","name","reason"},…] (setup
 * --json and doctor --json). */
void rollup_lookalikes_json(jbuf *b, const rollup_lookalike *l, size_t n);

/* Why property i of ps is not a rollup property, into buf (NUL-terminated,
 * cut to size): `fieldType "number", not "calculation_rollup"`, `type
 * "string", not "number"`, `no type and fieldType "text", not "number" and
 * "calculation_rollup"`; "" when it is one. */
void rollup_not_rollup_reason(const hs_properties *ps, size_t i, char *buf, size_t size);

/* The label prefix of table t's rollup fields: "sync_associations_{a}_{b}_label_". */
size_t rollup_prefix(hs_table t, char *buf, size_t size);

/* What follows t's prefix in a rollup field's label ("count" of
 * sync_associations_companies_contacts_label_count), or NULL when the label
 * does not start with the prefix. Points into label. */
const char *rollup_label_suffix(hs_table t, const char *label);

/* Whether a rollup field with this suffix counts the associations carrying
 * the association label (label, type_id), by our convention: the suffix
 * "count" counts every association, any other names one label, either by
 * its name (compared without case, every run of characters other than ASCII
 * letters and digits read as one '_': "billing_contact" and "Billing-Contact"
 * name "Billing contact") or by its type ID in decimal ("1000"). A NULL
 * suffix or label names nothing (the label NULL: only the type ID can). */
bool rollup_suffix_names_label(const char *suffix, const char *label, int32_t type_id);

/* The suffix that names the association label `label` (its comparison
 * form: "billing_contact" for "Billing contact") into buf, for telling which
 * rollup field to create. Returns false (buf unusable) when label is NULL,
 * names nothing ("", only separators) or its form does not fit in size. */
bool rollup_suffix_for_label(const char *label, char *buf, size_t size);

/* Whether one of sc's rollup fields (labels with t's prefix) counts the
 * associations carrying (label, type_id) (rollup_suffix_names_label): only
 * then does a relabel to or from it change a rollup value, and so the
 * parent's last-modified time, for an incremental run to see. */
bool rollup_watches_label(const store_schema *sc, hs_table t, const char *label, int32_t type_id);

/* Whether any of sc's rollup fields has a suffix other than "count" (is
 * meant to count one association label). */
bool rollup_has_per_label(const store_schema *sc, hs_table t);

#endif
