/*
 * it_hubsync — driving bin/hubsync (the binary named by $HUBSYNC, else
 * bin/hubsync) from the integration tests: run it against a simulator,
 * start it and wait for it, compare its mirror with the simulator's truth,
 * read the simulator's request counts, make and remove scratch databases.
 */
#ifndef HUBSYNC_IT_HUBSYNC_H
#define HUBSYNC_IT_HUBSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/testlib.h"

/* Runs `hubsync --db DB --base-url SIM ARGS…` (ARGS NULL-terminated, at most
 * 34) with the simulator's token in the environment. *out (when not NULL)
 * receives stdout. Returns the exit code, or -1 when it did not exit within
 * timeout_ms (it is killed). An exit above 1 prints its stderr. */
int it_hubsync(tl_sim *s, const char *db, const char *const *args, int64_t timeout_ms, char **out);

/* As it_hubsync, and *err (when not NULL) receives stderr, which is then not
 * printed. Free both. */
int it_hubsync_full(tl_sim *s, const char *db, const char *const *args, int64_t timeout_ms,
                    char **out, char **err);

/* Starts hubsync as it_hubsync would, in its own process group, without
 * waiting. Returns its pid, or -1. */
pid_t it_hubsync_start(tl_sim *s, const char *db, const char *const *args);

/* Waits up to timeout_ms for pid; returns its exit code, or -1 (it was
 * killed, with its process group, or died of a signal). */
int it_wait_exit(pid_t pid, int64_t timeout_ms);

/* The mirror (`hubsync export --format tsv`) as sorted lines; 0 or -1. */
int it_export_lines(tl_sim *s, const char *db, tl_lines *out);

/* /_sim/truth of the six default tables as sorted lines; 0 or -1. */
int it_truth_lines(tl_sim *s, tl_lines *out);

/* Whether the mirror equals the truth; prints the differences when not, and
 * "mirror verified: N associations, 0 differences" when it does. */
bool it_mirror_equals_truth(tl_sim *s, const char *db);

/* Whether what a stopped run left in the mirror is correct as far as it
 * goes: every exported line is in the truth, and every parent the mirror
 * holds has its whole set (sets are merged whole). *lines (may be NULL)
 * receives the number of exported lines. Prints the differences when not. */
bool it_mirror_consistent(tl_sim *s, const char *db, size_t *lines);

/* An integer of /_sim/stats at a dotted path, or -1. */
int64_t it_stat_int(tl_sim *s, const char *path);

/* Association batch reads the simulator has answered, all six tables. */
int64_t it_assoc_calls(tl_sim *s);

/* Waits until the simulator has answered at least n association batch reads
 * (a scan is under way) or timeout_ms passes; true on the former. */
bool it_wait_assoc_calls(tl_sim *s, int64_t n, int64_t timeout_ms);

/* A fresh scratch directory under /tmp in db (n ≥ 32); db[0] is '\0' on
 * failure. */
void it_make_db(char *db, size_t n);

/* Removes a scratch directory made by it_make_db (no-op when db[0] is '\0'). */
void it_remove_db(const char *db);

#endif
