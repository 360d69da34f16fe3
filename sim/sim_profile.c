/* sim_profile — the simulator's row per object type and per CRM pair (see
 * sim_profile.h). */
#include "sim_profile.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const sim_prop_schema contact_props[] = {
    {"hs_lastmodifieddate", "Object last modified date/time", "datetime", "date", false},
    {"email", "Email", "string", "text", false},
    {"firstname", "First Name", "string", "text", false},
    {"lastname", "Last Name", "string", "text", false},
};
static const sim_prop_schema company_props[] = {
    {"name", "Company name", "string", "text", false},
    {"domain", "Company Domain Name", "string", "text", false},
    {"num_associated_contacts", "Number of Associated Contacts", "number", "number", true},
    {"num_associated_deals", "Number of Associated Deals", "number", "number", true},
};
static const sim_prop_schema deal_props[] = {
    {"dealname", "Deal Name", "string", "text", false},
    {"amount", "Amount", "number", "number", false},
    {"num_associated_contacts", "Number of Associated Contacts", "number", "number", true},
};
static const sim_prop_schema ticket_props[] = {
    {"subject", "Ticket name", "string", "text", false},
    {"hs_pipeline_stage", "Ticket status", "enumeration", "select", false},
};
static const sim_prop_schema engagement_props[] = {
    {"hs_timestamp", "Activity date", "datetime", "date", false},
};

static const sim_record_prop contact_values[] = {
    {"email", "contact-%@example.com"},
    {"firstname", "Ada"},
    {"lastname", "Lovelace-%"},
};
static const sim_record_prop company_values[] = {
    {"name", "Company %"},
    {"domain", "company-%.example.com"},
};
static const sim_record_prop deal_values[] = {
    {"dealname", "Deal %"},
    {"amount", "1000"},
    {"dealstage", "appointmentscheduled"},
    {"pipeline", "default"},
};
static const sim_record_prop ticket_values[] = {
    {"subject", "Ticket %"},
    {"hs_pipeline", "0"},
    {"hs_pipeline_stage", "1"},
};

/* A CRM type's row; the links an engagement draws to it last, P(0), P(1), … */
#define CRM(type, count, props, values, unset, ...)                                                \
    [type] = {type, count, props, COUNT(props), values, COUNT(values), {__VA_ARGS__}, unset}
#define ENGAGEMENT(type)                                                                           \
    [type] = {type, 0, engagement_props, COUNT(engagement_props), NULL, 0, {0}, NULL}

static const sim_type_profile type_profiles[] = {
    CRM(HS_CONTACTS, 10000, contact_props, contact_values, "hs_lastmodifieddate", .20, .70, .10),
    CRM(HS_COMPANIES, 2000, company_props, company_values, NULL, .60, .40),
    CRM(HS_DEALS, 5000, deal_props, deal_values, NULL, .70, .30),
    CRM(HS_TICKETS, 1000, ticket_props, ticket_values, NULL, .85, .15),
    ENGAGEMENT(HS_CALLS),
    ENGAGEMENT(HS_EMAILS),
    ENGAGEMENT(HS_MEETINGS),
    ENGAGEMENT(HS_NOTES),
    ENGAGEMENT(HS_TASKS),
    ENGAGEMENT(HS_COMMUNICATIONS),
    ENGAGEMENT(HS_POSTAL_MAIL),
};
/* A type added to hs_types without a row here fails to compile (when it
 * is the last) or the unit test sim_profile (a row of zeros elsewhere). */
_Static_assert(COUNT(type_profiles) == HS_OBJECT_TYPE_COUNT, "a row per object type");

/* The driving side is the child: each child draws its parents. */
static const sim_pair_profile pair_profiles[] = {
    {HS_COMPANIES, HS_CONTACTS, {.08, .62, .20, .10}},
    {HS_COMPANIES, HS_DEALS, {.12, .85, .03}},
    {HS_COMPANIES, HS_TICKETS, {.30, .68, .02}},
    {HS_CONTACTS, HS_DEALS, {.05, .20, .30, .25, .20}},
    {HS_CONTACTS, HS_TICKETS, {.15, .75, .10}},
    {HS_DEALS, HS_TICKETS, {.60, .40}},
};

const sim_type_profile *sim_type_profile_of(hs_object_type t)
{
    return &type_profiles[t];
}

const sim_pair_profile *sim_pair_profile_of(hs_object_type parent, hs_object_type child)
{
    for (size_t i = 0; i < COUNT(pair_profiles); i++)
        if (pair_profiles[i].pp_parent == parent && pair_profiles[i].pp_child == child)
            return &pair_profiles[i];
    return NULL;
}
