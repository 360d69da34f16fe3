/*
 * rollup — which properties of a table's parent are its rollup fields, which
 * only look like them, and which association labels the rollup fields watch
 * (commands.h, "rollup detection"). setup and doctor share it.
 *
 * Everything here works on what was already fetched (parent_props, the
 * pair's labels): no HTTP, no store, so bin/test-unit links this file alone
 * and feeds it properties parsed from JSON bodies (tests/unit/test_rollup.c).
 *
 * Why the property's type matters: a label is only a convention, and a
 * portal may well hold a plain number property (a counter kept by a workflow
 * or an import) labelled sync_associations_{a}_{b}_label_count. HubSpot
 * recomputes a rollup, and so moves the parent's last-modified time, when an
 * association changes; a plain number changes only when someone writes it.
 * Taking it for a rollup would route the table to incremental runs that miss
 * every association change. HubSpot lists a rollup as type "number" with
 * fieldType "calculation_rollup"; `calculated` is not set for custom
 * properties, so it is not read.
 */
#include "rollup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void parent_props_init(parent_props *pp)
{
    memset(pp, 0, sizeof(*pp));
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        hs_properties_init(&pp->pp_props[t]);
}

void parent_props_free(parent_props *pp)
{
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        hs_properties_free(&pp->pp_props[t]);
    memset(pp->pp_have, 0, sizeof(pp->pp_have));
}

size_t rollup_prefix(hs_table t, char *buf, size_t size)
{
    int n = snprintf(buf, size, "sync_associations_%s_%s_label_", hs_object(t.t_parent)->oi_plural,
                     hs_object(t.t_child)->oi_plural);
    return n < 0 ? 0 : (size_t)n;
}

/* Whether property i of ps has a label starting with prefix[0..plen). */
static bool has_prefix(const hs_properties *ps, size_t i, const char *prefix, size_t plen)
{
    return ps->ps_items[i].prop_label_len >= plen &&
           memcmp(hs_property_label(ps, i), prefix, plen) == 0;
}

int rollup_detect(const parent_props *pp, hs_table t, store_schema *sc, size_t *nignored,
                  err_info *e)
{
    const hs_properties *ps = &pp->pp_props[t.t_parent];
    char prefix[128];
    size_t plen = rollup_prefix(t, prefix, sizeof(prefix));
    store_schema_free(sc);
    store_schema_init(sc);
    snprintf(sc->sc_rollup_fields_object_id, sizeof(sc->sc_rollup_fields_object_id), "%s",
             hs_object(t.t_parent)->oi_plural);
    sc->sc_ping_type = STORE_PING_FULL;
    sc->sc_supports_roll_up = false;
    *nignored = 0;
    bool engagement = hs_table_is_engagement(t);
    for (size_t i = 0; i < ps->ps_count; i++) {
        if (!has_prefix(ps, i, prefix, plen))
            continue;
        /* HubSpot has no rollups on engagements (reference, Common Issues 4):
         * every matching label is ignored, rollup or not. */
        if (engagement) {
            (*nignored)++;
            continue;
        }
        if (!hs_property_is_rollup(ps, i))
            continue; /* a look-alike: rollup_lookalikes says why */
        const char *label = hs_property_label(ps, i);
        int rc = store_schema_add_label(sc, label, ps->ps_items[i].prop_label_len);
        if (rc)
            return err_set(e, rc, "rollup label '%.80s': %s", label, err_strerror(rc));
        const char *name = hs_property_name(ps, i);
        if (strcmp(label + plen, "count") == 0 && strlen(name) < sizeof(sc->sc_count_field))
            snprintf(sc->sc_count_field, sizeof(sc->sc_count_field), "%s", name);
    }
    if (sc->sc_nrollup_field_labels > 0) {
        sc->sc_ping_type = STORE_PING_INCREMENTAL;
        sc->sc_supports_roll_up = true;
    }
    return 0;
}

/* `type "string"`, or `no type` when HubSpot gave none. */
static int describe_field(char *buf, size_t size, const char *field, const char *value)
{
    return value[0] ? snprintf(buf, size, "%s \"%.40s\"", field, value)
                    : snprintf(buf, size, "no %s", field);
}

void rollup_not_rollup_reason(const hs_properties *ps, size_t i, char *buf, size_t size)
{
    const char *type = hs_property_type(ps, i), *field_type = hs_property_field_type(ps, i);
    bool type_ok = strcmp(type, "number") == 0;
    bool field_ok = strcmp(field_type, "calculation_rollup") == 0;
    char t[64], f[64];
    describe_field(t, sizeof(t), "type", type);
    describe_field(f, sizeof(f), "fieldType", field_type);
    if (type_ok && field_ok)
        snprintf(buf, size, "%s", "");
    else if (type_ok)
        snprintf(buf, size, "%s, not \"calculation_rollup\"", f);
    else if (field_ok)
        snprintf(buf, size, "%s, not \"number\"", t);
    else
        snprintf(buf, size, "%s and %s, not \"number\" and \"calculation_rollup\"", t, f);
}

static int lookalike_cmp(const void *x, const void *y)
{
    const rollup_lookalike *a = x, *b = y;
    int c = strcmp(a->rl_label, b->rl_label);
    return c ? c : strcmp(a->rl_name, b->rl_name);
}

int rollup_lookalikes(const parent_props *pp, hs_table t, rollup_lookalike **out, size_t *n,
                      err_info *e)
{
    if (!pp || !out || !n)
        return err_set(e, ERR_INVALID, "rollup look-alikes: NULL argument");
    *out = NULL;
    *n = 0;
    if (hs_table_is_engagement(t))
        return 0; /* rollup_detect's *nignored covers them */
    const hs_properties *ps = &pp->pp_props[t.t_parent];
    char prefix[128];
    size_t plen = rollup_prefix(t, prefix, sizeof(prefix)), count = 0;
    for (size_t i = 0; i < ps->ps_count; i++)
        count += has_prefix(ps, i, prefix, plen) && !hs_property_is_rollup(ps, i);
    if (count == 0)
        return 0;
    rollup_lookalike *list = calloc(count, sizeof(*list));
    if (!list)
        return err_set(e, ERR_NOMEM, "rollup look-alikes: out of memory");
    size_t m = 0;
    for (size_t i = 0; i < ps->ps_count; i++) {
        if (!has_prefix(ps, i, prefix, plen) || hs_property_is_rollup(ps, i))
            continue;
        list[m].rl_label = hs_property_label(ps, i);
        list[m].rl_name = hs_property_name(ps, i);
        rollup_not_rollup_reason(ps, i, list[m].rl_reason, sizeof(list[m].rl_reason));
        m++;
    }
    qsort(list, count, sizeof(*list), lookalike_cmp);
    *out = list;
    *n = count;
    return 0;
}

void rollup_lookalikes_json(jbuf *b, const rollup_lookalike *l, size_t n)
{
    jb_char(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            jb_char(b, ',');
        jb_lit(b, "{\"label\":");
        jb_str(b, l[i].rl_label);
        jb_lit(b, ",\"name\":");
        jb_str(b, l[i].rl_name);
        jb_lit(b, ",\"reason\":");
        jb_str(b, l[i].rl_reason);
        jb_char(b, '}');
    }
    jb_char(b, ']');
}

/* ---- which association labels the rollup fields watch --------------------- */

const char *rollup_label_suffix(hs_table t, const char *label)
{
    char prefix[128];
    size_t plen = rollup_prefix(t, prefix, sizeof(prefix));
    return strncmp(label, prefix, plen) == 0 ? label + plen : NULL;
}

/* s in the form names are compared in: ASCII letters lower-cased, every run
 * of other ASCII bytes one '_', none at either end; bytes above 0x7F (UTF-8)
 * kept. "Billing contact", "billing-contact" and "billing_contact" all give
 * "billing_contact". Returns false when it does not fit in buf. */
static bool name_key(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    bool gap = false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool word =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
        if (!word) {
            gap = n > 0;
            continue;
        }
        if (n + (gap ? 2 : 1) >= size)
            return false;
        if (gap)
            buf[n++] = '_';
        gap = false;
        buf[n++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    buf[n] = '\0';
    return true;
}

bool rollup_suffix_for_label(const char *label, char *buf, size_t size)
{
    return label && name_key(label, buf, size) && buf[0];
}

bool rollup_suffix_names_label(const char *suffix, const char *label, int32_t type_id)
{
    if (!suffix || strcmp(suffix, "count") == 0)
        return false;
    char id[16];
    snprintf(id, sizeof(id), "%ld", (long)type_id);
    if (strcmp(suffix, id) == 0)
        return true;
    char a[ASSOC_LABEL_MAX + 1], b[ASSOC_LABEL_MAX + 1];
    return label && name_key(suffix, a, sizeof(a)) && name_key(label, b, sizeof(b)) && a[0] &&
           strcmp(a, b) == 0;
}

bool rollup_watches_label(const store_schema *sc, hs_table t, const char *label, int32_t type_id)
{
    for (size_t i = 0; i < sc->sc_nrollup_field_labels; i++)
        if (rollup_suffix_names_label(rollup_label_suffix(t, sc->sc_rollup_field_labels[i]), label,
                                      type_id))
            return true;
    return false;
}

bool rollup_has_per_label(const store_schema *sc, hs_table t)
{
    for (size_t i = 0; i < sc->sc_nrollup_field_labels; i++) {
        const char *suffix = rollup_label_suffix(t, sc->sc_rollup_field_labels[i]);
        if (suffix && strcmp(suffix, "count") != 0)
            return true;
    }
    return false;
}
