/* route — a table's schema and the route its next run takes (see route.h). */
#include "route.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- schemas -------------------------------------------------------------- */

bool schema_equal(const store_schema *a, const store_schema *b)
{
    if (a->sc_ping_type != b->sc_ping_type || a->sc_supports_roll_up != b->sc_supports_roll_up ||
        a->sc_nrollup_field_labels != b->sc_nrollup_field_labels ||
        strcmp(a->sc_rollup_fields_object_id, b->sc_rollup_fields_object_id) != 0)
        return false;
    for (size_t i = 0; i < a->sc_nrollup_field_labels; i++)
        if (strcmp(a->sc_rollup_field_labels[i], b->sc_rollup_field_labels[i]) != 0)
            return false;
    return true;
}

void schema_json(jbuf *b, const store_schema *sc)
{
    jb_lit(b, "{\"ping_type\":");
    jb_str(b, store_ping_type_name(sc->sc_ping_type));
    jb_lit(b, ",\"supports_roll_up\":");
    if (sc->sc_supports_roll_up)
        jb_lit(b, "true");
    else
        jb_lit(b, "false");
    jb_lit(b, ",\"rollup_field_labels\":[");
    for (size_t i = 0; i < sc->sc_nrollup_field_labels; i++) {
        if (i)
            jb_char(b, ',');
        jb_str(b, sc->sc_rollup_field_labels[i]);
    }
    jb_lit(b, "],\"rollup_fields_object_id\":");
    jb_str(b, sc->sc_rollup_fields_object_id);
    jb_char(b, '}');
}

int record_damaged(err_info *e, const char *name, bool schema)
{
    /* The store's message, without the record's name it starts with. */
    char problem[ERR_MSG_MAX];
    size_t n = strlen(name);
    const char *p = e->ei_msg;
    if (strncmp(p, name, n) == 0 && p[n] == ':')
        p += n + 2;
    snprintf(problem, sizeof(problem), "%s", p);
    if (schema)
        return err_set(e, ERR_CORRUPT,
                       "the stored table_options are damaged (%s): `hubsync setup --tables %s` "
                       "detects and writes them again",
                       problem, name);
    if (strncmp(name, "objects.", 8) == 0)
        return err_set(e, ERR_CORRUPT,
                       "the stored cursor record is damaged (%s): `hubsync run --full-scan` "
                       "lists the %s again",
                       problem, name + 8);
    return err_set(e, ERR_CORRUPT,
                   "the stored cursor record is damaged (%s): `hubsync run --full-scan --tables "
                   "%s` starts the table over (its associations are kept and replaced)",
                   problem, name);
}

/* ---- routes --------------------------------------------------------------- */

bool route_cursor_trusted(const store_schema *sc, const store_state *st)
{
    return sc && sc->sc_rollups_since_ms > 0 && st->ss_scan_origin_ms >= sc->sc_rollups_since_ms;
}

store_route route_plain(const store_schema *sc, const store_state *st)
{
    /* A scan a killed run left unfinished resumes, whatever the cursor. */
    if (st->ss_scan_started_ms != 0)
        return STORE_ROUTE_FULL_RESUME;
    switch (st->ss_cursor.cu_kind) {
    case STORE_CURSOR_OBJECT_ID:
        return STORE_ROUTE_FULL_RESUME;
    case STORE_CURSOR_TIMESTAMP_MS:
        return sc && sc->sc_ping_type == STORE_PING_INCREMENTAL ? STORE_ROUTE_INCREMENTAL
                                                                : STORE_ROUTE_FULL_SCAN;
    case STORE_CURSOR_NONE:
    default:
        return STORE_ROUTE_FULL_SCAN;
    }
}

store_route route_next(const store_schema *sc, const store_state *st)
{
    store_route r = route_plain(sc, st);
    /* Incremental only from a scan that began after the rollup fields
     * existed: changes before them bumped no parent. */
    if (r == STORE_ROUTE_INCREMENTAL && !route_cursor_trusted(sc, st))
        return STORE_ROUTE_FULL_SCAN;
    return r;
}

const char *route_reason(const store_schema *sc, const store_state *st)
{
    if (!sc || sc->sc_ping_type != STORE_PING_INCREMENTAL || st->ss_scan_started_ms != 0 ||
        st->ss_cursor.cu_kind != STORE_CURSOR_TIMESTAMP_MS || route_cursor_trusted(sc, st))
        return NULL;
    return "the rollup fields are newer than the last full scan (changes before them bumped no "
           "parent): one full scan first, incremental after it";
}

void schema_carry_since(const store_schema *old, store_schema *sc, int64_t now_ms)
{
    if (sc->sc_ping_type != STORE_PING_INCREMENTAL)
        sc->sc_rollups_since_ms = 0;
    else if (old && old->sc_ping_type == STORE_PING_INCREMENTAL && schema_equal(old, sc) &&
             old->sc_rollups_since_ms > 0)
        sc->sc_rollups_since_ms = old->sc_rollups_since_ms;
    else
        sc->sc_rollups_since_ms = now_ms;
}

const char *route_describe(store_ping_type ping, const store_cursor *cu, char *buf, size_t size)
{
    char iso[32];
    switch (cu->cu_kind) {
    case STORE_CURSOR_OBJECT_ID:
        snprintf(buf, size, "full scan in progress after ID %" PRIu64, cu->cu_object_id);
        break;
    case STORE_CURSOR_TIMESTAMP_MS:
        fmt_iso8601_ms(iso, cu->cu_timestamp_ms);
        if (ping == STORE_PING_INCREMENTAL)
            snprintf(buf, size, "incremental from %s", iso);
        else
            snprintf(buf, size,
                     "last full scan covers changes to %s; read_full_ping: a new "
                     "full scan from 0",
                     iso);
        break;
    case STORE_CURSOR_NONE:
    default:
        snprintf(buf, size, "full scan from 0");
        break;
    }
    return buf;
}
