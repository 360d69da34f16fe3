/*
 * commands — the CLI's commands other than `run` (setup, status, doctor,
 * export) and what every command shares: the exit code of an error, error
 * lines with secrets scrubbed, HubSpot GET requests and the rollup
 * detection of setup and doctor (a table's schema and route: route.h).
 *
 * Each cmd_* takes the parsed configuration and returns a hubsync_exit
 * (config.h); main() exits with it. Human output goes to stdout, errors to
 * stderr through log.h (text or JSON lines, --log-format).
 */
#ifndef HUBSYNC_COMMANDS_H
#define HUBSYNC_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/hs_codec.h"
#include "../common/hs_paths.h"
#include "../common/jbuf.h"
#include "../common/log.h"
#include "../common/shm.h"
#include "../common/store.h"
#include "config.h"

/* ---- the commands -------------------------------------------------------- */

/* Phase 1 (docs/CLI.md, `hubsync setup`): reads the parents' properties, detects each selected
 * table's rollup fields and saves its schema; cursors and data are kept.
 * Exit 0, 1 (HubSpot unreachable, a bad answer), 2 (database unusable),
 * 3 (credentials refused), 4 (a run holds the database), 5 (daily limit). */
int cmd_setup(const hubsync_config *c);

/* Prints each selected table's schema, cursor, counts and last run (text,
 * or one JSON document with --json). Read-only; works beside a run.
 * Exit 0, or 2 when there is no usable database. */
int cmd_status(const hubsync_config *c);

/* Compares the rollup fields in HubSpot with the stored table_options of
 * each selected table and prints every mismatch with its fix. Exit 0 when
 * all agree, 1 when not (or HubSpot was unreachable), 2, 3 or 5 as setup.
 * Read-only: never 4. */
int cmd_doctor(const hubsync_config *c);

/* Prints the stored associations of every selected table (or c_export_table)
 * as TSV or JSONL (docs/CLI.md, `hubsync export`), streaming from one read snapshot. Exit 0, 1
 * (stdout failed), or 2 (no usable database). */
int cmd_export(const hubsync_config *c);

/* `hubsync bench [ARGS…]`: runs scripts/bench.sh of the source tree this
 * binary was built in (bin/../scripts), with ARGS, this binary as $HUBSYNC
 * and the simulator beside it as $HUBSPOT_SIM. Returns only on failure
 * (exit 2: the script is not there). */
int cmd_bench(int argc, char **argv);

/* ---- shared by the commands (config.c) ----------------------------------- */

/* The exit code for an ERR_* code: ERR_AUTH 3, ERR_LOCKED 4, ERR_DAILY 5,
 * ERR_INVALID / ERR_CORRUPT / ERR_NOT_FOUND / ERR_TLS 2 (configuration, a
 * server certificate not trusted, or a database that cannot be used), 0 for
 * 0, anything else 1 (incomplete, safe to rerun). */
int cmd_exit_code(int err);

/* Logs an error line (log_error) after scrubbing every secret of c from it:
 * use for any text that came from elsewhere (HubSpot bodies, curl). */
void cmd_error(const hubsync_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Replaces every occurrence of c's token, refresh token and client secret in
 * msg (NUL-terminated, edited in place) by "[redacted]" (or a shorter mask). */
void config_redact(const hubsync_config *c, char *msg);

/* Zeroes the secrets held in c (before exit, or after a failed parse). */
void config_wipe(hubsync_config *c);

/* "setup", "run", … for a command. */
const char *config_command_name(hubsync_command cmd);

/* Parses the canonical table name name[0..n); `src` names the flag or
 * variable for the message ("--table"). A pair in the wrong order or
 * spelled with singulars gets its canonical name suggested
 * ("contacts_companies: use companies_contacts"). Returns 0 or ERR_INVALID. */
int config_parse_table(const char *src, const char *name, size_t n, hs_table *out, err_info *e);

/* ---- GET requests to HubSpot (cmd_setup.c), for setup and doctor --------- */

/* Parses a 200 body into `out`. Returns 0, or an ERR_* with e set: the
 * request is then sent again (a body cut short where curl could not tell is
 * the usual cause), up to the engine's attempts. */
typedef int (*api_parse_fn)(const char *body, size_t len, void *out, err_info *e);

/* One GET for api_get_all: what to ask and where the answer goes. */
typedef struct api_get {
    char ag_path[HS_PATH_MAX]; /* "/crm/v3/properties/companies" (hs_paths) */
    api_parse_fn ag_parse;     /* reads a 200 body into ag_out */
    void *ag_out;
    const char *ag_scopes; /* named when HubSpot answers 403: "crm.schemas.*.read" */
    bool ag_done;          /* set by api_get_all: ag_parse accepted a 200 body */
} api_get;

/* Sends the GET requests gets[0..n) to HubSpot in parallel, through the HTTP
 * engine in this process (at most c_inflight at once, under c's --rate,
 * --daily and --ca-file, with the private token or an OAuth refresh), and
 * parses each 200 with its ag_parse. An interactive command's patience: a
 * failed transfer is retried with backoff, 6 attempts and 30 s at most.
 * *api_calls grows by the requests sent (retries and token refreshes
 * included), failures included. n == 0 sends nothing.
 * Returns 0 when every request is done; otherwise prints the worst failure
 * (an untrusted certificate, refused credentials, the daily limit, then any
 * other: an HTTP error, a body that never parsed, HubSpot unreachable),
 * scrubbed of secrets, and returns its exit code (2, 3, 5, 1).
 * `shared`: NULL for a region (limiter, token) of its own, or a run's region,
 * whose last slot is the coordinator's (no worker uses it), so the requests
 * are paced with the run's and use its token. */
int api_get_all(const hubsync_config *c, shm_region *shared, api_get *gets, size_t n,
                unsigned long long *api_calls);

/* ---- rollup detection, for setup and doctor ------------------------------- */

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

/* Fetches the properties of every type marked in pp_wanted and not fetched
 * yet (when none is marked: the parent of every table of c), in parallel
 * through the HTTP engine (api_get_all, cmd_setup.c; `shared` as there).
 * Prints the error and returns its exit code (2 TLS, 3 auth, 5 daily, 1
 * otherwise), or 0. */
int parent_props_fetch(const hubsync_config *c, parent_props *pp, shm_region *shared);

/* The rest of this section is rollup.c: pure functions of what was fetched. */

/* Fills *sc (initialised by the caller) with what setup stores for `t`
 * (docs/CLI.md, `hubsync setup`): the labels of the parent's rollup properties whose label starts
 * with sync_associations_{a}_{b}_label_, sorted; ping_type incremental when
 * any were found; rollup_fields_object_id = a. A rollup property is type
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
