/*
 * unit_util — what the unit suites share: a table-driven way to register a
 * suite, a forked sandbox for code that may hang or crash, and the
 * simulator-portal helpers (small configs, a full structural consistency
 * check, truth snapshots). The checks are tests/lib/check.h, shared with the
 * integration tests.
 */
#ifndef HUBSYNC_UNIT_UTIL_H
#define HUBSYNC_UNIT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <CUnit/CUnit.h>

#include "../../sim/sim_portal.h"

/* ---- registration -------------------------------------------------------- */

typedef struct ut_test {
    const char *t_name;
    CU_TestFunc t_func;
} ut_test;

/* Adds a suite named `name` holding the `n` tests. Returns 0 or -1. */
int ut_add_suite(const char *name, const ut_test *tests, size_t n);

/* A fresh directory /tmp/hubsync-NAME-XXXXXX into buf (size bytes); false
 * (buf "", the error printed) when it cannot be made. */
bool ut_tmpdir_make(char *buf, size_t size, const char *name);

/* Removes a directory made by ut_tmpdir_make and all it holds ("": none). */
void ut_tmpdir_remove(const char *dir);

#define UT_COUNT(arr) (sizeof(arr) / sizeof((arr)[0]))

/* ---- sandbox ------------------------------------------------------------- */

/* Runs fn(arg) in a forked child in its own process group, killed after
 * timeout_ms. Returns the child's exit status (fn's return value, 0–255), or
 * -1 when it timed out, crashed or could not be started. */
int ut_run_sandboxed(int (*fn)(void *), void *arg, int64_t timeout_ms);

/* ---- simulator portals ---------------------------------------------------- */

/* The generation clock the portal tests use (2026-01-01T00:00:00Z). */
#define UT_NOW_MS INT64_C(1767225600000)

/* A small four-type portal (3,000 contacts, 600 companies, 1,500 deals, 400
 * tickets), heavy parents with 300 links, no rollups. */
void ut_portal_config_small(sim_portal_config *c, uint64_t seed);

/* Adds table `name`'s rollups to c (with `labels`, one per user-defined
 * label too); records a failed assertion for a bad name. */
void ut_portal_add_rollup(sim_portal_config *c, const char *name, bool labels);

/* Creates the portal or records a failed assertion; NULL on failure. */
sim_portal *ut_portal_new(const sim_portal_config *c);

/* Checks every structural invariant of the portal: per type, IDs strictly
 * increasing above 2^32 and o_live equal to the live count; per table, both
 * directions sorted strictly by l_other, every link present in the other
 * direction with the same labels and primary flag, no link touching an
 * archived object, labels within tb_nlabels, primary only where the pair has
 * one and at most one primary parent per child, tb_links equal to the links
 * in each direction. Returns the number of violations (the first few are
 * described on stderr). */
unsigned ut_portal_violations(const sim_portal *p);

/* The index of table `name` in p->p_tables, or -1. */
int ut_table_index(sim_portal *p, const char *name);

/* Table `t`'s truth TSV as a malloc'd string (free() it); NULL on failure. */
char *ut_truth(const sim_portal *p, const sim_table *t);

/* Number of lines that occur in `a` but not in `b` (both TSV texts; order and
 * duplicates are handled as multisets). */
size_t ut_lines_missing(const char *a, const char *b);

/* The link parent→child in the forward list, or NULL. */
const sim_link *ut_find_link(const sim_adj *a, uint32_t other);

/* The most of `n` grant times (sorted ascending) that fall in one
 * half-open window of `window` ns: what a rolling-window limit counts. */
uint32_t ut_max_in_window(const uint64_t *t, size_t n, uint64_t window);

#endif
