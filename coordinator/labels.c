/*
 * labels — the association label catalogs (see labels.h).
 */
#include "labels.h"

#include <string.h>

int labels_save(store_txn *t, hs_table table, const hs_assoc_labels *ls, int64_t now_ms,
                bool *changed, err_info *e)
{
    /* The catalog as one link's types: the canonical order and encoding of
     * an association value, compared as bytes. */
    assoc_buf b;
    assoc_buf_init(&b);
    int rc = assoc_buf_begin_parent(&b, 0);
    if (rc == 0)
        rc = assoc_buf_add_link(&b, 0);
    for (size_t i = 0; rc == 0 && i < ls->ls_count; i++) {
        const char *label = hs_assoc_label_name(ls, i);
        rc = assoc_buf_add_type(&b, ls->ls_items[i].al_type_id, ls->ls_items[i].al_category, label,
                                label ? strlen(label) : 0);
    }
    if (rc == 0)
        rc = assoc_buf_finish_parent(&b);
    if (rc != 0)
        rc = err_set(e, rc, "labels: cannot hold the catalog (%s)", err_strerror(rc));
    else
        rc = store_put_labels(t, table, &b, now_ms, changed, e);
    assoc_buf_free(&b);
    return rc;
}

const char *labels_label_of(const store_labels *catalog, const store_type *ty, uint32_t *len)
{
    const store_type *def =
        catalog ? store_labels_find(catalog, ty->st_type_id, ty->st_category) : NULL;
    const store_type *from = def ? def : ty;
    *len = from->st_label ? from->st_label_len : 0;
    return from->st_label;
}
