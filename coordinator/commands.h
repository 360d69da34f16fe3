/*
 * commands — the CLI's commands other than `run` (setup, status, doctor,
 * export, push) and what every command shares: the exit code of an error, error
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

#include "../common/hubspot/hs_codec.h"
#include "../common/hubspot/hs_paths.h"
#include "../common/base/jbuf.h"
#include "../common/base/log.h"
#include "../common/ipc/shm.h"
#include "../common/store/store.h"
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

/* `hubsync push [--table T] [--snapshot] TARGET`: keeps a SQLite file or a
 * PostgreSQL database in step with the mirror (docs/EXPORT.md, "Targets"):
 * a snapshot first, then the change feed, each push one target
 * transaction. Exit 0, 1 (the target failed or is unreachable: rerun), or 2
 * (no usable database, a table never synced, a target changed by hand in a
 * way push cannot reconcile, or the feed no longer holds what the target
 * needs: --snapshot). */
int cmd_push(const hubsync_config *c);

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

#endif
