/*
 * it_export — `hubsync export` end to end: CSV (RFC 4180, read back with
 * Python's csv module) equals the simulator's truth with labels, before and
 * after a label is renamed in HubSpot (the catalog, read again by setup,
 * names the type; no association changed); `-o FILE` replaces FILE whole or
 * leaves it as it was; `--objects TYPE` lists the type's stored objects as
 * the simulator lists them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/base/hs_types.h"
#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_hubsync.h"
#include "it_suites.h"

static const char *const FAST[] = {"run", "--rate",   "0", "--search-rate",
                                   "0",   "--lag-ms", "0", NULL};

/* The records of a CSV file but its header (checked), sorted. */
static int file_records(const char *path, const char *header, tl_lines *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    size_t hlen = strlen(header);
    if (strncmp(buf, header, hlen) != 0 || strncmp(buf + hlen, "\r\n", 2) != 0) {
        fprintf(stderr, "    %s does not start with the header %s\n", path, header);
        return -1;
    }
    int rc = it_add_records(buf + hlen + 2, out);
    tl_lines_sort(out);
    return rc;
}

/* Python's csv module reads the file: the header, and six fields a row.
 * Returns the rows it read, or -1. */
static long python_rows(const char *path)
{
    char cmd[512];
    snprintf(
        cmd, sizeof(cmd),
        "python3 -c 'import csv,sys\n"
        "r=list(csv.reader(open(sys.argv[1],newline=\"\")))\n"
        "assert r[0]==[\"table\",\"parent_id\",\"child_id\",\"type_id\",\"category\",\"label\"]\n"
        "assert all(len(x)==6 for x in r[1:])\n"
        "print(len(r)-1)' %s",
        path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    long rows = -1;
    if (fscanf(p, "%ld", &rows) != 1)
        rows = -1;
    return pclose(p) == 0 ? rows : -1;
}

static bool csv_equals_truth(tl_sim *s, const char *db, const char *path)
{
    const char *exp[] = {"export", "--format", "csv", "-o", path, NULL};
    tl_lines mine = {0}, truth = {0};
    bool ok =
        CHECK_EQ(it_hubsync(s, db, exp, 60000, NULL), 0) &&
        CHECK_EQ(file_records(path, "table,parent_id,child_id,type_id,category,label", &mine), 0) &&
        CHECK_EQ(it_truth_csv(s, &truth), 0) &&
        CHECK(tl_lines_equal(&mine, &truth, "export --format csv", "truth")) &&
        CHECK_EQ(python_rows(path), (long)mine.l_count);
    tl_lines_free(&mine);
    tl_lines_free(&truth);
    return ok;
}

static void test_csv_equals_truth_with_labels(void)
{
    tl_sim s = {0};
    char db[64], path[96];
    it_make_db(db, sizeof(db));
    snprintf(path, sizeof(path), "%s/assoc.csv", db);
    const char *args[] = {IT_SMALL_PORTAL, "--labels", "3", "--tier", "unlimited", NULL};
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    const char *setup[] = {"setup", NULL};
    REQUIRE(it_hubsync(&s, db, setup, 60000, NULL) == 0);
    REQUIRE(it_hubsync(&s, db, FAST, 120000, NULL) == 0);
    REQUIRE(csv_equals_truth(&s, db, path));
    /* An admin renames a label, with a comma and quotes: no association
     * changes, no record is bumped; setup reads the catalog again. */
    REQUIRE(it_sim_post(&s, "/_sim/rename-label",
                        "{\"table\":\"companies_contacts\",\"label\":\"Manager\","
                        "\"to\":\"Account \\\"lead\\\", East\"}") == 0);
    REQUIRE(it_hubsync(&s, db, setup, 60000, NULL) == 0);
    CHECK(csv_equals_truth(&s, db, path));
    /* The TSV form is unchanged by labels: type IDs only, as the truth. */
    CHECK(it_mirror_equals_truth(&s, db));
done:
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    if (buf)
        buf[fread(buf, 1, (1 << 20) - 1, f)] = '\0';
    fclose(f);
    return buf;
}

/* Whether `dir` holds a temporary file export left (NAME.tmp.XXXXXX). */
static bool temporary_left(const char *dir)
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "ls %s | grep -q '\\.tmp\\.'", dir);
    return system(cmd) == 0;
}

static void test_output_is_atomic(void)
{
    tl_sim s = {0};
    char db[64], path[96], missing[128];
    char *before = NULL, *after = NULL;
    it_make_db(db, sizeof(db));
    snprintf(path, sizeof(path), "%s/assoc.tsv", db);
    snprintf(missing, sizeof(missing), "%s/no/such/folder/x.tsv", db);
    const char *args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", NULL};
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    const char *setup[] = {"setup", NULL};
    REQUIRE(it_hubsync(&s, db, setup, 60000, NULL) == 0);
    REQUIRE(it_hubsync(&s, db, FAST, 120000, NULL) == 0);
    const char *exp[] = {"export", "-o", path, NULL};
    REQUIRE(CHECK_EQ(it_hubsync(&s, db, exp, 60000, NULL), 0));
    REQUIRE((before = slurp(path)) != NULL);
    CHECK(strlen(before) > 1000);
    /* An export that fails (a table never synced) leaves FILE as it was. */
    const char *bad[] = {
        "export", "--output", path, "--tables", "companies_contacts,contacts_notes", NULL};
    char *err = NULL;
    CHECK_EQ(it_hubsync_full(&s, db, bad, 60000, NULL, &err), 2);
    CHECKF(err && strstr(err, "contacts_notes was never synced"), "%s", err ? err : "");
    free(err);
    err = NULL;
    REQUIRE((after = slurp(path)) != NULL);
    CHECK_STR(after, before);
    CHECK(!temporary_left(db));
    /* A folder that does not exist: a clear error, nothing created. */
    const char *nowhere[] = {"export", "-o", missing, NULL};
    CHECK_EQ(it_hubsync_full(&s, db, nowhere, 60000, NULL, &err), 1);
    CHECKF(err && strstr(err, "no/such/folder/x.tsv.tmp"), "%s", err ? err : "");
    free(err);
    CHECK(access(missing, F_OK) != 0);
done:
    free(before);
    free(after);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

static void test_objects(void)
{
    tl_sim s = {0};
    char db[64];
    char *out = NULL;
    tl_objects live = {0};
    it_make_db(db, sizeof(db));
    const char *args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", NULL};
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    const char *setup[] = {"setup", NULL};
    REQUIRE(it_hubsync(&s, db, setup, 60000, NULL) == 0);
    REQUIRE(it_hubsync(&s, db, FAST, 120000, NULL) == 0);
    const char *exp[] = {"export", "--objects", "deals", "--format", "csv", NULL};
    REQUIRE(CHECK_EQ(it_hubsync(&s, db, exp, 60000, &out), 0));
    REQUIRE(tl_list_all(&s, "deals", false, &live) == 0);
    /* The header, then one row a deal in ID order: the live ones are
     * exactly the simulator's, with their last-modified times. */
    const char *p = out;
    REQUIRE(strncmp(p, "type,id,lastmodified_ms,archived\r\n", 34) == 0);
    p += 34;
    size_t rows = 0, live_rows = 0;
    uint64_t last = 0;
    while (*p) {
        unsigned long long id = 0;
        long long ms = 0;
        char archived[8] = "";
        int used = 0;
        REQUIRE(sscanf(p, "deals,%llu,%lld,%5[a-z]%n", &id, &ms, archived, &used) == 3);
        CHECK(rows == 0 || id > last);
        last = id;
        rows++;
        if (strcmp(archived, "false") == 0) {
            const tl_object *o = tl_objects_find(&live, id);
            CHECKF(o != NULL, "deal %llu is not live in the simulator", id);
            live_rows++;
        }
        p += used;
        REQUIRE(strncmp(p, "\r\n", 2) == 0);
        p += 2;
    }
    CHECK_EQ(live_rows, live.os_count);
    /* A type no table of the run lists is refused, not printed empty. */
    const char *calls[] = {"export", "--objects", "calls", NULL};
    CHECK_EQ(it_hubsync(&s, db, calls, 60000, NULL), 2);
done:
    free(out);
    tl_objects_free(&live);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* ---- the change feed ----------------------------------------------------------- */

/* The index of key (the first three fields) in l, or -1. */
static long find_key(const tl_lines *l, const char *line)
{
    size_t klen = 0;
    for (int tabs = 0; line[klen] && tabs < 3; klen++)
        tabs += line[klen] == '\t';
    for (size_t i = 0; i < l->l_count; i++)
        if (strncmp(l->l_items[i], line, klen) == 0)
            return (long)i;
    return -1;
}

/* Applies `tsv` (export --changes-since in TSV: op, run, then a mirror
 * line) to `mirror`; counts the records that changed nothing. */
static int apply_changes(tl_lines *mirror, const tl_lines *before, char *tsv, size_t *idle,
                         size_t *records)
{
    *idle = *records = 0;
    char *next = tsv, *line;
    while ((line = strsep(&next, "\n")) != NULL) {
        if (!*line)
            continue;
        char *op_end = strchr(line, '\t'), *run_end = op_end ? strchr(op_end + 1, '\t') : NULL;
        if (!run_end)
            return -1;
        *op_end = '\0';
        const char *rest = run_end + 1;
        (*records)++;
        long at = find_key(mirror, rest);
        long was = find_key(before, rest);
        if (strcmp(line, "upsert") == 0) {
            /* An upsert of what the first mirror already held, unchanged,
             * is a record of no difference. */
            if (was >= 0 && strcmp(before->l_items[was], rest) == 0 && at >= 0 &&
                strcmp(mirror->l_items[at], rest) == 0)
                (*idle)++;
            if (at >= 0) {
                free(mirror->l_items[at]);
                mirror->l_items[at] = strdup(rest);
            } else if (tl_lines_addf(mirror, "%s", rest) != 0) {
                return -1;
            }
        } else if (strcmp(line, "delete") == 0) {
            if (at < 0) {
                (*idle)++;
                continue;
            }
            free(mirror->l_items[at]);
            mirror->l_items[at] = mirror->l_items[--mirror->l_count];
        } else {
            return -1;
        }
    }
    tl_lines_sort(mirror);
    return 0;
}

static void test_changes_since(void)
{
    tl_sim s = {0};
    char db[64];
    char *out = NULL, *err = NULL;
    tl_lines first = {0}, mirror = {0}, truth = {0};
    it_make_db(db, sizeof(db));
    const char *args[] = {"--contacts", "3000", "--companies", "600",       "--deals", "1500",
                          "--tickets",  "300",  "--tier",      "unlimited", NULL};
    REQUIRE(db[0]);
    REQUIRE(tl_sim_start(&s, args) == 0);
    const char *setup[] = {"setup", NULL};
    REQUIRE(it_hubsync(&s, db, setup, 60000, NULL) == 0);
    REQUIRE(it_hubsync(&s, db, FAST, 120000, NULL) == 0); /* run 1: loads every table */
    REQUIRE(it_truth_lines(&s, &first) == 0);
    /* 500 changes of every kind, then an incremental run (2), more changes
     * and a full scan of the mirror as it stands (3). */
    REQUIRE(it_sim_post(&s, "/_sim/mutate", "{\"count\":500}") == 0);
    tl_sleep_ms(50);
    REQUIRE(it_hubsync(&s, db, FAST, 120000, NULL) == 0);
    REQUIRE(it_sim_post(&s, "/_sim/mutate", "{\"count\":200}") == 0);
    const char *rescan[] = {"run", "--full-scan", "--rate", "0", "--search-rate",
                            "0",   "--lag-ms",    "0",      NULL};
    tl_sleep_ms(50);
    REQUIRE(it_hubsync(&s, db, rescan, 120000, NULL) == 0);
    REQUIRE(CHECK(it_mirror_equals_truth(&s, db)));
    REQUIRE(it_truth_lines(&s, &truth) == 0);
    /* The changes since run 1, applied to the first mirror, give the last;
     * and every record is a difference. */
    const char *since[] = {"export", "--changes-since", "1", NULL};
    REQUIRE(CHECK_EQ(it_hubsync(&s, db, since, 60000, &out), 0));
    for (size_t i = 0; i < first.l_count; i++)
        REQUIRE(tl_lines_addf(&mirror, "%s", first.l_items[i]) == 0);
    size_t idle = 0, records = 0;
    REQUIRE(CHECK_EQ(apply_changes(&mirror, &first, out, &idle, &records), 0));
    fprintf(stderr, "    %zu changes since run 1\n", records);
    CHECK(records >= 100);
    CHECK_EQ(idle, 0);
    CHECK(tl_lines_equal(&mirror, &truth, "first mirror + changes", "truth"));
    /* status names the latest run; a run not yet made is refused. */
    const char *status[] = {"status", "--json", NULL};
    free(out);
    out = NULL;
    REQUIRE(CHECK_EQ(it_hubsync(&s, db, status, 60000, &out), 0));
    CHECKF(strstr(out, "\"latest_run\":3,") != NULL, "%.200s", out);
    const char *later[] = {"export", "--changes-since", "9", NULL};
    CHECK_EQ(it_hubsync_full(&s, db, later, 60000, NULL, &err), 2);
    CHECKF(err && strstr(err, "the latest run is 3"), "%s", err ? err : "");
    free(err);
    err = NULL;
    /* Keeping one run drops runs 1 and 2: asking for them says to take a
     * snapshot; the changes of run 4 are there. */
    const char *keep1[] = {"run", "--changes-keep", "1", "--rate", "0", "--search-rate",
                           "0",   "--lag-ms",       "0", NULL};
    REQUIRE(it_sim_post(&s, "/_sim/mutate", "{\"count\":20}") == 0);
    tl_sleep_ms(50);
    REQUIRE(it_hubsync(&s, db, keep1, 120000, NULL) == 0);
    CHECK_EQ(it_hubsync_full(&s, db, since, 60000, NULL, &err), 2);
    CHECKF(err && strstr(err, "no longer kept") && strstr(err, "take a snapshot"), "%s",
           err ? err : "");
    const char *since3[] = {"export", "--changes-since", "3", "--format", "csv", NULL};
    free(out);
    out = NULL;
    CHECK_EQ(it_hubsync(&s, db, since3, 60000, &out), 0);
    CHECK(out &&
          strncmp(out, "op,run,table,parent_id,child_id,type_id,category,label\r\n", 56) == 0);
done:
    free(out);
    free(err);
    tl_lines_free(&first);
    tl_lines_free(&mirror);
    tl_lines_free(&truth);
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

/* What `hubsync ARGS >/dev/full` exits with (a full disk under a
 * scheduled `status --json > state.json`), or -1. */
static int exit_to_full_disk(const tl_sim *s, const char *db, const char *args)
{
    const char *bin = getenv("HUBSYNC");
    char cmd[512];
    /* The token is in the environment (it_hubsync put it there). */
    snprintf(cmd, sizeof(cmd), "'%s' --db '%s' --base-url '%s' %s >/dev/full 2>/dev/null",
             bin && *bin ? bin : "bin/hubsync", db, s->s_base_url, args);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_stdout_full(void)
{
    tl_sim s = {0};
    char db[64];
    it_make_db(db, sizeof(db));
    const char *args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", NULL};
    REQUIRE(db[0]);
    REQUIRE(access("/dev/full", W_OK) == 0);
    REQUIRE(tl_sim_start(&s, args) == 0);
    const char *setup[] = {"setup", NULL};
    REQUIRE(it_hubsync(&s, db, setup, 60000, NULL) == 0);
    REQUIRE(it_hubsync(&s, db, FAST, 120000, NULL) == 0);
    /* Output lost is never success, whatever the command and format:
     * every command that writes to stdout. */
    static const char *const commands[] = {
        "version",
        "--version",
        "help",
        "help run",
        "run --help",
        "help --markdown",
        "setup --json",
        "run --json --progress never",
        "doctor --json",
        "status",
        "status --json",
        "export",
        "export --format csv",
        "export --format jsonl",
        "export --objects deals",
        "export --changes-since 1 --format csv",
    };
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        CHECKF(exit_to_full_disk(&s, db, commands[i]) == 1, "hubsync %s >/dev/full", commands[i]);
done:
    CHECK(tl_sim_stop(&s) == 0);
    it_remove_db(db);
}

int it_register_export(void)
{
    CU_pSuite s = it_add_suite("export");
    int rc = 0;
    rc |= it_add_test(s, "csv_equals_truth_with_labels", test_csv_equals_truth_with_labels);
    rc |= it_add_test(s, "output_is_atomic", test_output_is_atomic);
    rc |= it_add_test(s, "objects", test_objects);
    rc |= it_add_test(s, "changes_since", test_changes_since);
    rc |= it_add_test(s, "stdout_full", test_stdout_full);
    return rc;
}
