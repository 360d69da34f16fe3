/*
 * hs_types — object types and association type IDs (see hs_types.h).
 *
 * The type IDs are HubSpot's published HUBSPOT_DEFINED IDs; the simulator
 * serves them and the client stores them, so both read this one table.
 */
#include "hs_types.h"

#include <stdio.h>
#include <string.h>

static const hs_object_info objects[HS_OBJECT_TYPE_COUNT] = {
    [HS_CONTACTS] = {"contacts", "contact", "0-1", "lastmodifieddate", false},
    [HS_COMPANIES] = {"companies", "company", "0-2", "hs_lastmodifieddate", false},
    [HS_DEALS] = {"deals", "deal", "0-3", "hs_lastmodifieddate", false},
    [HS_TICKETS] = {"tickets", "ticket", "0-5", "hs_lastmodifieddate", false},
    [HS_CALLS] = {"calls", "call", "0-48", "hs_lastmodifieddate", true},
    [HS_EMAILS] = {"emails", "email", "0-49", "hs_lastmodifieddate", true},
    [HS_MEETINGS] = {"meetings", "meeting", "0-47", "hs_lastmodifieddate", true},
    [HS_NOTES] = {"notes", "note", "0-46", "hs_lastmodifieddate", true},
    [HS_TASKS] = {"tasks", "task", "0-27", "hs_lastmodifieddate", true},
    [HS_COMMUNICATIONS] = {"communications", "communication", "0-18", "hs_lastmodifieddate", true},
    [HS_POSTAL_MAIL] = {"postal_mail", "postal_mail", "0-116", "hs_lastmodifieddate", true},
};

const hs_object_info *hs_object(hs_object_type t)
{
    return &objects[t];
}

const char *hs_object_names(char *buf, size_t size, bool engagements_only, const char *sep)
{
    size_t len = 0;
    if (size)
        buf[0] = '\0';
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const hs_object_info *oi = hs_object((hs_object_type)t);
        if (engagements_only && !oi->oi_engagement)
            continue;
        int n =
            snprintf(buf + len, size > len ? size - len : 0, "%s%s", len ? sep : "", oi->oi_plural);
        if (n < 0 || (len += (size_t)n) >= size)
            break;
    }
    return buf;
}

static bool seg_eq(const char *s, size_t n, const char *name)
{
    return strlen(name) == n && memcmp(s, name, n) == 0;
}

int hs_object_parse(const char *s, size_t n, hs_object_type *out)
{
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const hs_object_info *o = &objects[t];
        if (seg_eq(s, n, o->oi_plural) || seg_eq(s, n, o->oi_singular) ||
            seg_eq(s, n, o->oi_type_id)) {
            *out = (hs_object_type)t;
            return 0;
        }
    }
    return -1;
}

/* One row per associable pair: IDs x→y, y→x, primary x→y, primary y→x. */
struct pair_ids {
    hs_object_type x, y;
    int x_to_y, y_to_x, x_to_y_primary, y_to_x_primary;
};

static const struct pair_ids pairs[] = {
    {HS_CONTACTS, HS_COMPANIES, 279, 280, 1, 2},
    {HS_DEALS, HS_COMPANIES, 341, 342, 5, 6},
    {HS_TICKETS, HS_COMPANIES, 339, 340, 26, 25},
    {HS_CONTACTS, HS_DEALS, 4, 3, 0, 0},
    {HS_CONTACTS, HS_TICKETS, 15, 16, 0, 0},
    {HS_DEALS, HS_TICKETS, 27, 28, 0, 0},
    /* engagement → contact / company / deal / ticket */
    {HS_NOTES, HS_CONTACTS, 202, 201, 0, 0},
    {HS_NOTES, HS_COMPANIES, 190, 189, 0, 0},
    {HS_NOTES, HS_DEALS, 214, 213, 0, 0},
    {HS_NOTES, HS_TICKETS, 228, 227, 0, 0},
    {HS_TASKS, HS_CONTACTS, 204, 203, 0, 0},
    {HS_TASKS, HS_COMPANIES, 192, 191, 0, 0},
    {HS_TASKS, HS_DEALS, 216, 215, 0, 0},
    {HS_TASKS, HS_TICKETS, 230, 229, 0, 0},
    {HS_CALLS, HS_CONTACTS, 194, 193, 0, 0},
    {HS_CALLS, HS_COMPANIES, 182, 181, 0, 0},
    {HS_CALLS, HS_DEALS, 206, 205, 0, 0},
    {HS_CALLS, HS_TICKETS, 220, 219, 0, 0},
    {HS_EMAILS, HS_CONTACTS, 198, 197, 0, 0},
    {HS_EMAILS, HS_COMPANIES, 186, 185, 0, 0},
    {HS_EMAILS, HS_DEALS, 210, 209, 0, 0},
    {HS_EMAILS, HS_TICKETS, 224, 223, 0, 0},
    {HS_MEETINGS, HS_CONTACTS, 200, 199, 0, 0},
    {HS_MEETINGS, HS_COMPANIES, 188, 187, 0, 0},
    {HS_MEETINGS, HS_DEALS, 212, 211, 0, 0},
    {HS_MEETINGS, HS_TICKETS, 226, 225, 0, 0},
    {HS_COMMUNICATIONS, HS_CONTACTS, 82, 81, 0, 0},
    {HS_COMMUNICATIONS, HS_COMPANIES, 88, 87, 0, 0},
    {HS_COMMUNICATIONS, HS_DEALS, 86, 85, 0, 0},
    {HS_COMMUNICATIONS, HS_TICKETS, 84, 83, 0, 0},
    {HS_POSTAL_MAIL, HS_CONTACTS, 454, 453, 0, 0},
    {HS_POSTAL_MAIL, HS_COMPANIES, 460, 459, 0, 0},
    {HS_POSTAL_MAIL, HS_DEALS, 458, 457, 0, 0},
    {HS_POSTAL_MAIL, HS_TICKETS, 456, 455, 0, 0},
};

int hs_assoc_type_ids(hs_object_type from, hs_object_type to, int *unlabeled, int *primary)
{
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        const struct pair_ids *p = &pairs[i];
        if (p->x == from && p->y == to) {
            *unlabeled = p->x_to_y;
            *primary = p->x_to_y_primary;
            return 0;
        }
        if (p->y == from && p->x == to) {
            *unlabeled = p->y_to_x;
            *primary = p->y_to_x_primary;
            return 0;
        }
    }
    return -1;
}

int hs_table_of(hs_object_type x, hs_object_type y, hs_table *out)
{
    int unlabeled, primary;
    if (x == y || hs_assoc_type_ids(x, y, &unlabeled, &primary) != 0)
        return -1;
    if (strcmp(objects[x].oi_plural, objects[y].oi_plural) < 0) {
        out->t_parent = x;
        out->t_child = y;
    } else {
        out->t_parent = y;
        out->t_child = x;
    }
    return 0;
}

int hs_table_parse(const char *name, size_t n, hs_table *out)
{
    /* Plural names may contain '_' (postal_mail), so try every split. */
    for (size_t i = 1; i + 1 < n; i++) {
        if (name[i] != '_')
            continue;
        hs_object_type a, b;
        if (hs_object_parse(name, i, &a) || hs_object_parse(name + i + 1, n - i - 1, &b))
            continue;
        if (!seg_eq(name, i, objects[a].oi_plural) ||
            !seg_eq(name + i + 1, n - i - 1, objects[b].oi_plural))
            continue;
        hs_table t;
        if (hs_table_of(a, b, &t) || t.t_parent != a)
            return -1;
        *out = t;
        return 0;
    }
    return -1;
}

size_t hs_table_name(hs_table t, char *buf, size_t size)
{
    int n =
        snprintf(buf, size, "%s_%s", objects[t.t_parent].oi_plural, objects[t.t_child].oi_plural);
    return n < 0 ? 0 : (size_t)n;
}

bool hs_table_is_engagement(hs_table t)
{
    return objects[t.t_parent].oi_engagement || objects[t.t_child].oi_engagement;
}

const hs_table hs_default_tables[HS_DEFAULT_TABLE_COUNT] = {
    {HS_COMPANIES, HS_CONTACTS}, {HS_COMPANIES, HS_DEALS},  {HS_COMPANIES, HS_TICKETS},
    {HS_CONTACTS, HS_DEALS},     {HS_CONTACTS, HS_TICKETS}, {HS_DEALS, HS_TICKETS},
};
