/*
 * it_hubsync — driving bin/hubsync (the binary named by $HUBSYNC, else
 * bin/hubsync) from the integration tests: run it against a simulator,
 * start it and wait for it, compare its mirror with the simulator's truth,
 * read the simulator's request counts, make and remove scratch databases.
 */
#ifndef HUBSYNC_IT_HUBSYNC_H
#define HUBSYNC_IT_HUBSYNC_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../common/store/store.h"
#include "../lib/testlib.h"

/* The simulator's default OAuth app (--auth oauth without other flags). */
#define IT_REFRESH_TOKEN "sim-refresh-token"
#define IT_CLIENT_ID     "sim-client-id"
#define IT_CLIENT_SECRET "sim-client-secret"

/* Whether IT_QUICK is set: the sanitizer pass of `make test`, run after
 * the release pass has measured everything in full, where tests whose
 * length only serves a figure (repetitions, pacing) may shorten it. */
bool it_quick(void);

/* Whether the hubsync runs below authenticate as that OAuth app (true) or
 * with the simulator's private-app token (false, the default). */
void it_hubsync_use_oauth(bool on);

/* Runs `hubsync --db DB --base-url SIM ARGS…` (ARGS NULL-terminated, at most
 * 34) with the simulator's token in the environment. *out (when not NULL)
 * receives stdout. Returns the exit code, or -1 when it did not exit within
 * timeout_ms (it is killed). An exit above 1 prints its stderr. */
int it_hubsync(tl_sim *s, const char *db, const char *const *args, int64_t timeout_ms, char **out);

/* As it_hubsync, and *err (when not NULL) receives stderr, which is then not
 * printed. Free both. */
int it_hubsync_full(tl_sim *s, const char *db, const char *const *args, int64_t timeout_ms,
                    char **out, char **err);

/* Runs `env -i VARS… hubsync ARGS…` (both NULL-terminated; vars may be NULL;
 * at most 24 variables and 34 arguments): nothing of the runner's environment but the
 * sanitizers' options reaches hubsync, so a test states every variable
 * (token, base URL, proxy) it means. *out and *err (either may be NULL)
 * receive stdout and stderr; free them. Returns the exit code, or -1 (a
 * signal, or killed after timeout_ms). */
int it_hubsync_env(const char *const *vars, const char *const *args, int64_t timeout_ms, char **out,
                   char **err);

/* Starts hubsync as it_hubsync would, in its own process group, without
 * waiting. Returns its pid, or -1. */
pid_t it_hubsync_start(tl_sim *s, const char *db, const char *const *args);

/* As it_hubsync_start, with stdout and stderr written to the files named
 * (each may be NULL: inherited). */
pid_t it_hubsync_start_to(tl_sim *s, const char *db, const char *const *args, const char *out_path,
                          const char *err_path);

/* Fills pids (room for max) with the live children of `parent` (a run's
 * workers); returns how many. */
int it_children(pid_t parent, pid_t *pids, int max);

/* Whether pid has exited (gone, or a zombie nobody reaped yet). */
bool it_process_gone(pid_t pid);

/* Waits up to timeout_ms for pid; returns its exit code, or -1 (it was
 * killed, with its process group, or died of a signal). */
int it_wait_exit(pid_t pid, int64_t timeout_ms);

/* `hubsync run --json --progress never FLAGS…` (FLAGS NULL-terminated, at
 * most 19): the exit code; *summary (when summary is not NULL) receives the
 * parsed summary, NULL when there is none (json_object_put it). */
int it_run_json(tl_sim *s, const char *db, const char *const *flags, json_object **summary);

/* The mirror (`hubsync export --format tsv`) as sorted lines; 0 or -1. */
int it_export_lines(tl_sim *s, const char *db, tl_lines *out);

/* /_sim/truth of the six default tables as sorted lines; 0 or -1. */
int it_truth_lines(tl_sim *s, tl_lines *out);

/* Appends the CRLF-ended records of `text` to `out`; 0 or -1. */
int it_add_records(const char *text, tl_lines *out);

/* /_sim/truth?format=csv of the six default tables (header and CRLF
 * dropped: `table,parent_id,child_id,type_id,category,label` records),
 * sorted; 0 or -1. */
int it_truth_csv(tl_sim *s, tl_lines *out);

/* Whether the mirror equals the truth; prints the differences when not, and
 * "mirror verified: N associations, 0 differences" when it does. */
bool it_mirror_equals_truth(tl_sim *s, const char *db);

/* Whether what a stopped run left in the mirror is correct as far as it
 * goes: every exported line is in the truth, and every parent the mirror
 * holds has its whole set (sets are merged whole). *lines (may be NULL)
 * receives the number of exported lines. Prints the differences when not. */
bool it_mirror_consistent(tl_sim *s, const char *db, size_t *lines);

/* The stored state record `name` (a table, or "objects.TYPE") of the
 * database in db, read-only beside or after a run; 0, or -1 (printed). */
int it_read_state(const char *db, const char *name, store_state *st);

/* Edits the stored state record `name` (a table, or "objects.TYPE") of the
 * database in db with `edit`, hubsync not running; 0, or -1 (printed). */
int it_edit_state(const char *db, const char *name, void (*edit)(store_state *));

/* POSTs the JSON body to one of the simulator's admin endpoints
 * (/_sim/config, /_sim/reset-stats, …); 0 on a 200, else -1 (printed). */
int it_sim_post(tl_sim *s, const char *path, const char *body);

/* Association batch reads the simulator has answered, all six tables. */
int64_t it_assoc_calls(tl_sim *s);

/* Waits until the simulator has answered at least n association batch reads
 * (a scan is under way) or timeout_ms passes; true on the former. */
bool it_wait_assoc_calls(tl_sim *s, int64_t n, int64_t timeout_ms);

/* API requests the simulator has answered (admin endpoints not counted). */
int64_t it_requests(tl_sim *s);

/* Waits until the simulator has answered at least n API requests (a run
 * has opened its database and started) or timeout_ms passes; true on the
 * former. */
bool it_wait_requests(tl_sim *s, int64_t n, int64_t timeout_ms);

/* A fresh scratch directory under /tmp in db (n ≥ 32); db[0] is '\0' on
 * failure. */
void it_make_db(char *db, size_t n);

/* Removes a scratch directory made by it_make_db (no-op when db[0] is '\0'). */
void it_remove_db(const char *db);

#endif
