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

void sim_render_object(jbuf *out, const sim_portal *p, hs_object_type t, uint32_t idx,
                       int64_t modified_ms, const char (*props)[SIM_PROP_NAME_MAX], int nprops)
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
    const sim_type_profile *tp = sim_type_profile_of(t);
    for (size_t i = 0; i < tp->tp_nrecord_props; i++) {
        const sim_record_prop *f = &tp->tp_record_props[i];
        if (nprops && !requested(props, nprops, f->rp_name))
            continue;
        jb_char(out, ',');
        jb_str(out, f->rp_name);
        jb_char(out, ':');
        fake_value(out, f->rp_value, id);
    }
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
