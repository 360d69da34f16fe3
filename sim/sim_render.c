/* sim_render — CRM objects as JSON (see sim_render.h). */
#include "sim_render.h"

#include <string.h>

#include "sim_profile.h"

static void fake_value(jbuf *out, const char *pattern, uint64_t id)
{
    const char *pct = strchr(pattern, '%');
    if (!pct) {
        jb_str(out, pattern);
        return;
    }
    char buf[96];
    size_t pre = (size_t)(pct - pattern);
    memcpy(buf, pattern, pre);
    size_t n = pre + fmt_u64(buf + pre, id);
    size_t rest = strlen(pct + 1);
    memcpy(buf + n, pct + 1, rest);
    jb_strn(out, buf, n + rest);
}

static bool requested(const char (*props)[SIM_PROP_NAME_MAX], int nprops, const char *name)
{
    for (int i = 0; i < nprops; i++)
        if (strcmp(props[i], name) == 0)
            return true;
    return false;
}

/* The names compared are those GET /crm/v3/properties lists, built by
 * sim_rollup_prop_name, so the list, the values and the searchable names
 * cannot drift apart. */
bool sim_render_find_rollup(const sim_portal *p, hs_object_type t, const char *name,
                            sim_render_rollup *rr)
{
    static const char prefix[] = "sync_assoc_";
    if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
        return false;
    char built[SIM_ROLLUP_NAME_MAX];
    for (int i = 0; i < p->p_ntables; i++) {
        const sim_table *tb = &p->p_tables[i];
        if (!tb->tb_rollup || tb->tb_pair.t_parent != t)
            continue;
        for (int l = -1; l < (tb->tb_rollup_labels ? tb->tb_nlabels : 0); l++) {
            sim_rollup_prop_name(tb, l, built, sizeof(built));
            if (strcmp(built, name) == 0) {
                *rr = (sim_render_rollup){0, (uint8_t)i, (int8_t)l};
                return true;
            }
        }
    }
    return false;
}

void sim_render_props_resolve(sim_render_props *rp, const sim_portal *p, hs_object_type t,
                              const char (*names)[SIM_PROP_NAME_MAX], int nnames,
                              sim_rollup_mode mode)
{
    rp->rp_names = names;
    rp->rp_nnames = nnames;
    rp->rp_stored = mode == SIM_ROLLUP_REALISTIC;
    rp->rp_nrollups = 0;
    for (int i = 0; i < nnames && i < SIM_RENDER_MAX_PROPS; i++) {
        sim_render_rollup rr;
        if (!sim_render_find_rollup(p, t, names[i], &rr))
            continue;
        bool dup = false;
        for (int k = 0; k < rp->rp_nrollups; k++)
            dup |= rp->rp_rollups[k].rr_table == rr.rr_table &&
                   rp->rp_rollups[k].rr_label == rr.rr_label;
        rr.rr_name = (uint8_t)i;
        if (!dup)
            rp->rp_rollups[rp->rp_nrollups++] = rr;
    }
}

/* The value HubSpot shows for rollup rr of `parent`. Its rollup service
 * stores a value only when a recomputation runs, so with `stored` (the
 * realistic model) a pending recomputation means the record still shows what
 * it captured before the first change it covers; per-label values only when
 * it captured them (per-label rollups added while it was pending have no
 * earlier value: their current one is all there is).
 *
 * Locking: the handlers hold the portal's read lock, not the write lock that
 * sim_rollup.h names as the queue's guard. That is enough: every change of
 * the queue (sim_mutate, sim_portal_recompute, sim_portal_set_rollups) runs
 * under the write lock in sim_server, which excludes readers, and
 * sim_rollup_find only reads the hash and the heap. */
uint32_t sim_render_rollup_value(const sim_portal *p, const sim_render_rollup *rr, uint32_t parent,
                                 bool stored)
{
    const sim_table *tb = &p->p_tables[rr->rr_table];
    bool label = rr->rr_label >= 0;
    if (stored && sim_rollup_pending(&p->p_rollups)) {
        const sim_rollup_job *j = sim_rollup_find(&p->p_rollups, rr->rr_table, parent);
        if (j && !label)
            return j->rj_before.rv_count;
        if (j && j->rj_before.rv_labels)
            return j->rj_before.rv_label[rr->rr_label];
    }
    sim_rollup_values v;
    sim_rollup_values_of(tb, parent, label, &v);
    return label ? v.rv_label[rr->rr_label] : v.rv_count;
}

/* The requested record properties of the type's profile, then its rollups. */
static void render_requested(jbuf *out, const sim_portal *p, hs_object_type t, uint32_t idx,
                             const sim_render_props *rp)
{
    uint64_t id = p->p_obj[t].o_id[idx];
    const sim_type_profile *tp = sim_type_profile_of(t);
    for (size_t i = 0; i < tp->tp_nrecord_props; i++) {
        const sim_record_prop *f = &tp->tp_record_props[i];
        if (rp->rp_nnames && !requested(rp->rp_names, rp->rp_nnames, f->rp_name))
            continue;
        jb_char(out, ',');
        jb_str(out, f->rp_name);
        jb_char(out, ':');
        fake_value(out, f->rp_value, id);
    }
    for (int i = 0; i < rp->rp_nrollups; i++) {
        const sim_render_rollup *rr = &rp->rp_rollups[i];
        jb_char(out, ',');
        jb_str(out, rp->rp_names[rr->rr_name]);
        jb_char(out, ':');
        /* HubSpot sends numbers as strings: "2000". */
        jb_u64_str(out, sim_render_rollup_value(p, rr, idx, rp->rp_stored));
    }
}

void sim_render_object_props(jbuf *out, const sim_portal *p, hs_object_type t, uint32_t idx,
                             int64_t modified_ms, const sim_render_props *rp)
{
    const sim_objects *o = &p->p_obj[t];
    uint64_t id = o->o_id[idx];
    int64_t created = o->o_created_ms[idx];
    bool archived = o->o_archived[idx];
    jb_lit(out, "{\"id\":");
    jb_u64_str(out, id);
    jb_lit(out, ",\"properties\":{\"createdate\":");
    jb_iso8601_ms(out, created);
    jb_lit(out, ",\"hs_object_id\":");
    jb_u64_str(out, id);
    jb_lit(out, ",\"");
    jb_raw(out, hs_object(t)->oi_lastmod, strlen(hs_object(t)->oi_lastmod));
    jb_lit(out, "\":");
    jb_iso8601_ms(out, modified_ms);
    render_requested(out, p, t, idx, rp);
    jb_lit(out, "},\"createdAt\":");
    jb_iso8601_ms(out, created);
    jb_lit(out, ",\"updatedAt\":");
    jb_iso8601_ms(out, modified_ms);
    if (archived) {
        jb_lit(out, ",\"archived\":true,\"archivedAt\":");
        jb_iso8601_ms(out, modified_ms);
        jb_char(out, '}');
    } else {
        jb_lit(out, ",\"archived\":false}");
    }
}

void sim_render_object(jbuf *out, const sim_portal *p, hs_object_type t, uint32_t idx,
                       int64_t modified_ms, const char (*props)[SIM_PROP_NAME_MAX], int nprops)
{
    sim_render_props rp;
    sim_render_props_resolve(&rp, p, t, props, nprops, SIM_ROLLUP_REALISTIC);
    sim_render_object_props(out, p, t, idx, modified_ms, &rp);
}
