/*
 * labels — each table's association label catalog: the types HubSpot
 * defines for the pair, parent → child, with their categories and labels
 * (GET /crm/v4/associations/{a}/{b}/labels). setup reads and stores every
 * selected table's; a run reads again those older than LABELS_MAX_AGE_MS
 * (a label renamed in HubSpot changes no association, so no run would see
 * it otherwise). export fills the label column from the catalog, falling
 * back to the label stored with the association (a label newer than the
 * catalog).
 */
#ifndef HUBSYNC_LABELS_H
#define HUBSYNC_LABELS_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/hubspot/hs_codec.h"
#include "../common/store/store.h"

/* How old a catalog may be before a run reads it again: an hour, so an
 * hourly run reads each table's once (six calls of a day's hundreds of
 * thousands) and a renamed label shows within the next run after. */
#define LABELS_MAX_AGE_MS (60LL * 60 * 1000)

/* Stores table's catalog as HubSpot listed it (`ls`), read at now_ms, in
 * the write transaction t. *changed: it differs from the stored one.
 * Errors as store_put_labels, ERR_NOMEM. */
int labels_save(store_txn *t, hs_table table, const hs_assoc_labels *ls, int64_t now_ms,
                bool *changed, err_info *e);

/* The label to show for type `ty` of an association: the catalog's for its
 * type ID and category when the catalog lists it, else the association's
 * own. *len its length; NULL (the unlabeled type) when neither has one. */
const char *labels_label_of(const store_labels *catalog, const store_type *ty, uint32_t *len);

#endif
