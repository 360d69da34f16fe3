/*
 * it_push — `hubsync push` end to end, into a real SQLite file and a real
 * PostgreSQL server (a throwaway cluster in a temporary folder, on a Unix
 * socket only, started with Debian's initdb and pg_ctl; as `nobody` when
 * the test runs as root). Each target, read back with the sqlite3 and psql
 * shells, equals the simulator's truth after a full run and after
 * incremental runs; a push killed (SIGKILL) in the middle of its load
 * leaves the target as it was, and the next push makes it exact; a target
 * edited by hand in a way push cannot reconcile is refused (exit 2) and left
 * as it was. PostgreSQL missing is a failure, not a skip: CI installs it
 * (scripts/deps.sh).
 */
#include <glob.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/base/hs_types.h"
#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_hubsync.h"
#include "it_suites.h"

static const char *const FAST[] = {"run", "--rate",   "0", "--search-rate",
                                   "0",   "--lag-ms", "0", NULL};
static const char *const RESCAN[] = {"run", "--full-scan", "--rate", "0", "--search-rate",
                                     "0",   "--lag-ms",    "0",      NULL};

/* ---- a throwaway PostgreSQL server ------------------------------------------ */

typedef struct pg_server {
    char ps_dir[64];  /* the cluster, its socket and its log */
    char ps_bin[200]; /* /usr/lib/postgresql/VERSION/bin */
    char ps_as[64];   /* "runuser -u nobody -- " when root, else "" */
    char ps_uri[200]; /* postgresql:///postgres?host=DIR&user=postgres */
    bool ps_started;
} pg_server;

/* Starts the server; prints why not and returns false when it cannot. */
static bool pg_start(pg_server *p)
{
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0 || g.gl_pathc == 0) {
        fprintf(stderr, "    PostgreSQL's server is not installed (no "
                        "/usr/lib/postgresql/*/bin/initdb): scripts/deps.sh installs the "
                        "package postgresql\n");
        globfree(&g);
        return false;
    }
    /* The highest version, glob sorting them; its bin folder. */
    snprintf(p->ps_bin, sizeof(p->ps_bin), "%.*s", (int)(strlen(g.gl_pathv[g.gl_pathc - 1]) - 7),
             g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    snprintf(p->ps_dir, sizeof(p->ps_dir), "/tmp/hubsync-pg.XXXXXX");
    if (!mkdtemp(p->ps_dir)) {
        p->ps_dir[0] = '\0';
        return false;
    }
    if (geteuid() == 0) {
        /* initdb refuses root: the cluster belongs to nobody. */
        struct passwd *pw = getpwnam("nobody");
        if (!pw || chown(p->ps_dir, pw->pw_uid, pw->pw_gid) != 0) {
            fprintf(stderr, "    cannot give %s to the user nobody\n", p->ps_dir);
            return false;
        }
        snprintf(p->ps_as, sizeof(p->ps_as), "runuser -u nobody -- ");
    }
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "%s%s/initdb -D %s/data -A trust -U postgres --no-sync >%s/initdb.log 2>&1 && "
             "%s%s/pg_ctl -D %s/data -l %s/server.log -w -o \"-c listen_addresses='' -k %s "
             "-c fsync=off\" start >/dev/null",
             p->ps_as, p->ps_bin, p->ps_dir, p->ps_dir, p->ps_as, p->ps_bin, p->ps_dir, p->ps_dir,
             p->ps_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "    PostgreSQL did not start (%s/bin): see %s/initdb.log and server.log\n",
                p->ps_bin, p->ps_dir);
        return false;
    }
    p->ps_started = true;
    snprintf(p->ps_uri, sizeof(p->ps_uri), "postgresql:///postgres?host=%s&user=postgres",
             p->ps_dir);
    return true;
}

static void pg_stop(pg_server *p)
{
    char cmd[600];
    if (p->ps_started) {
        snprintf(cmd, sizeof(cmd), "%s%s/pg_ctl -D %s/data -m immediate stop >/dev/null 2>&1",
                 p->ps_as, p->ps_bin, p->ps_dir);
        CHECK(system(cmd) == 0);
    }
    if (p->ps_dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", p->ps_dir);
        CHECK(system(cmd) == 0);
    }
}

/* ---- reading a target back ------------------------------------------------------ */

/* The rows `sql` returns from target (sqlite:PATH, or a PostgreSQL URI),
 * fields joined by ',' and NULL as "", through the sqlite3 or psql shell,
 * sorted; 0, or -1 (the shell failed: printed). `scratch` is a folder. */
static int query(const char *target, const char *sql, const char *scratch, tl_lines *out)
{
    char file[128], cmd[512];
    snprintf(file, sizeof(file), "%s/query.sql", scratch);
    FILE *f = fopen(file, "w");
    if (!f || fputs(sql, f) < 0 || fclose(f) != 0)
        return -1;
    if (strncmp(target, "sqlite:", 7) == 0)
        snprintf(cmd, sizeof(cmd), "sqlite3 -bail -list -separator , '%s' <%s", target + 7, file);
    else
        snprintf(cmd, sizeof(cmd), "psql -X -q -v ON_ERROR_STOP=1 -At -F, '%s' -f %s", target,
                 file);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    static char line[4096];
    int rc = 0;
    while (fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\r\n")] = '\0';
        rc |= tl_lines_addf(out, "%s", line);
    }
    if (pclose(p) != 0) {
        fprintf(stderr, "    %s failed\n", cmd);
        rc = -1;
    }
    tl_lines_sort(out);
    return rc;
}

/* The association tables of the target as /_sim/truth?format=csv records
 * (the label quoted as RFC 4180 does when it holds a comma or a quote). */
static int target_csv(const char *target, const char *scratch, tl_lines *out)
{
    char sql[8192] = "";
    for (int i = 0; i < HS_DEFAULT_TABLE_COUNT; i++) {
        char t[48];
        hs_table_name(hs_default_tables[i], t, sizeof(t));
        size_t used = strlen(sql);
        snprintf(sql + used, sizeof(sql) - used,
                 "%sSELECT '%s', parent_id, child_id, type_id, category, CASE WHEN label LIKE "
                 "'%%,%%' OR label LIKE '%%\"%%' THEN '\"' || replace(label, '\"', '\"\"') || "
                 "'\"' ELSE label END FROM %s",
                 i ? " UNION ALL " : "", t, t);
    }
    size_t used = strlen(sql);
    snprintf(sql + used, sizeof(sql) - used, ";\n");
    return query(target, sql, scratch, out);
}

/* Whether the target's associations equal the truth, its deals equal the
 * mirror's, and every position is the latest run `run`. */
static bool target_exact(tl_sim *s, const char *db, const char *target, long run)
{
    tl_lines got = {0}, want = {0}, deals = {0}, stored = {0}, runs = {0};
    char *tsv = NULL;
    const char *objects[] = {"export", "--objects", "deals", NULL};
    bool ok = CHECK_EQ(target_csv(target, db, &got), 0) && CHECK_EQ(it_truth_csv(s, &want), 0) &&
              CHECK(tl_lines_equal(&got, &want, target, "/_sim/truth?format=csv")) &&
              CHECK_EQ(query(target,
                             "SELECT 'deals', id, lastmodified_ms, CASE WHEN archived THEN "
                             "'true' ELSE 'false' END FROM objects_deals;\n",
                             db, &deals),
                       0) &&
              CHECK_EQ(it_hubsync(s, db, objects, 60000, &tsv), 0);
    for (char *line = tsv, *next; ok && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        for (char *c = line; *c; c++)
            *c = *c == '\t' ? ',' : *c;
        ok = tl_lines_addf(&stored, "%s", line) == 0;
    }
    tl_lines_sort(&stored);
    ok = ok && CHECK(tl_lines_equal(&deals, &stored, "objects_deals", "export --objects deals"));
    char want_runs[64];
    snprintf(want_runs, sizeof(want_runs), "%ld,%ld", run, run);
    ok = ok &&
         CHECK_EQ(query(target, "SELECT min(run), max(run) FROM hubsync_position;\n", db, &runs),
                  0) &&
         CHECK(runs.l_count == 1) && CHECK_STR(runs.l_items[0], want_runs);
    if (ok)
        fprintf(stderr, "    %s: %zu rows, %zu deals, at run %ld: exact\n",
                strncmp(target, "sqlite:", 7) == 0 ? "sqlite" : "postgresql", got.l_count,
                deals.l_count, run);
    free(tsv);
    tl_lines_free(&got);
    tl_lines_free(&want);
    tl_lines_free(&deals);
    tl_lines_free(&stored);
    tl_lines_free(&runs);
    return ok;
}

/* `hubsync push TARGET`: its exit code; *err (when not NULL) its stderr. */
static int push(tl_sim *s, const char *db, const char *target, bool snapshot, char **err)
{
    const char *args[] = {"push", target, snapshot ? "--snapshot" : NULL, NULL};
    return it_hubsync_full(s, db, args, 120000, NULL, err);
}

/* What a target holds: its tables' names and every row of each (the
 * positions' pushed_ms included: a push that writes anything moves it). */
static int target_state(const char *target, const char *scratch, tl_lines *out)
{
    bool sqlite = strncmp(target, "sqlite:", 7) == 0;
    tl_lines names = {0};
    int rc =
        query(target,
              sqlite ? "SELECT name FROM sqlite_master WHERE type = 'table';\n"
                     : "SELECT tablename FROM pg_tables WHERE schemaname = current_schema();\n",
              scratch, &names);
    static char sql[8192];
    sql[0] = '\0';
    for (size_t i = 0; rc == 0 && i < names.l_count; i++) {
        size_t used = strlen(sql);
        snprintf(sql + used, sizeof(sql) - used, "SELECT '%s', * FROM \"%s\";\n", names.l_items[i],
                 names.l_items[i]);
        rc = tl_lines_addf(out, "table %s", names.l_items[i]);
    }
    if (rc == 0 && sql[0])
        rc = query(target, sql, scratch, out);
    tl_lines_free(&names);
    return rc;
}

/* Runs `sql` on the target (an edit by hand); 0 or -1. */
static int edit(const char *target, const char *scratch, const char *sql)
{
    tl_lines none = {0};
    int rc = query(target, sql, scratch, &none);
    tl_lines_free(&none);
    return rc;
}

/* ---- the cases ------------------------------------------------------------------ */

static const char *const PORTAL[] = {"--contacts", "3000",      "--companies", "600",
                                     "--deals",    "1500",      "--tickets",   "300",
                                     "--tier",     "unlimited", NULL};

/* What every case starts with: a PostgreSQL server, a simulated portal,
 * a database set up and synced once (run 1), and the two targets. */
typedef struct push_case {
    tl_sim pc_sim;
    pg_server pc_pg;
    char pc_db[64];
    char pc_sqlite[128];      /* sqlite:DB/target.db */
    const char *pc_target[2]; /* SQLite's, then PostgreSQL's */
} push_case;

static bool case_start(push_case *c, const char *const *portal)
{
    it_make_db(c->pc_db, sizeof(c->pc_db));
    snprintf(c->pc_sqlite, sizeof(c->pc_sqlite), "sqlite:%s/target.db", c->pc_db);
    c->pc_target[0] = c->pc_sqlite;
    c->pc_target[1] = c->pc_pg.ps_uri;
    const char *setup[] = {"setup", NULL};
    return CHECK(c->pc_db[0]) && CHECK(pg_start(&c->pc_pg)) &&
           CHECK_EQ(tl_sim_start(&c->pc_sim, portal), 0) &&
           CHECK_EQ(it_hubsync(&c->pc_sim, c->pc_db, setup, 60000, NULL), 0) &&
           CHECK_EQ(it_hubsync(&c->pc_sim, c->pc_db, FAST, 300000, NULL), 0);
}

static void case_stop(push_case *c)
{
    CHECK(tl_sim_stop(&c->pc_sim) == 0);
    pg_stop(&c->pc_pg);
    it_remove_db(c->pc_db);
}

static void test_follows_runs(void)
{
    static push_case c;
    memset(&c, 0, sizeof(c));
    tl_sim *s = &c.pc_sim;
    const char *db = c.pc_db;
    REQUIRE(case_start(&c, PORTAL));
    for (int i = 0; i < 2; i++) {
        REQUIRE(CHECK_EQ(push(s, db, c.pc_target[i], false, NULL), 0));
        CHECK(target_exact(s, db, c.pc_target[i], 1));
    }
    /* Changes of every kind, an incremental run (2), more changes and a
     * full scan (3): the feed after run 1 brings each target to run 3. */
    REQUIRE(it_sim_post(s, "/_sim/mutate", "{\"count\":500}") == 0);
    tl_sleep_ms(50);
    REQUIRE(it_hubsync(s, db, FAST, 120000, NULL) == 0);
    REQUIRE(it_sim_post(s, "/_sim/mutate", "{\"count\":200}") == 0);
    tl_sleep_ms(50);
    REQUIRE(it_hubsync(s, db, RESCAN, 120000, NULL) == 0);
    REQUIRE(CHECK(it_mirror_equals_truth(s, db)));
    for (int i = 0; i < 2; i++) {
        REQUIRE(CHECK_EQ(push(s, db, c.pc_target[i], false, NULL), 0));
        CHECK(target_exact(s, db, c.pc_target[i], 3));
        /* Nothing new: a push changes nothing but the positions' time. */
        REQUIRE(CHECK_EQ(push(s, db, c.pc_target[i], false, NULL), 0));
        CHECK(target_exact(s, db, c.pc_target[i], 3));
    }
    /* Two pushes at once into a new target take turns: one loads it, the
     * other then finds it loaded. */
    char pg_twice[256], sq_twice[128];
    snprintf(pg_twice, sizeof(pg_twice), "postgresql:///twice?host=%s&user=postgres",
             c.pc_pg.ps_dir);
    snprintf(sq_twice, sizeof(sq_twice), "sqlite:%s/twice.db", db);
    REQUIRE(CHECK_EQ(edit(c.pc_pg.ps_uri, db, "CREATE DATABASE twice;\n"), 0));
    const char *twice[] = {sq_twice, pg_twice};
    for (int i = 0; i < 2; i++) {
        const char *args[] = {"push", twice[i], NULL};
        pid_t a = it_hubsync_start(s, db, args), b = it_hubsync_start(s, db, args);
        CHECK_EQ(it_wait_exit(a, 60000), 0);
        CHECK_EQ(it_wait_exit(b, 60000), 0);
        CHECK(target_exact(s, db, twice[i], 3));
    }
done:
    case_stop(&c);
}

/* Whether the push that pid is has visibly started writing target: an
 * open COPY on the server, or SQLite's rollback journal. */
static bool push_writing(const char *target, const char *scratch)
{
    if (strncmp(target, "sqlite:", 7) == 0) {
        char journal[160];
        struct stat st;
        snprintf(journal, sizeof(journal), "%s-journal", target + 7);
        return stat(journal, &st) == 0 && st.st_size > 0;
    }
    tl_lines l = {0};
    bool copying = query(target,
                         "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                         "'hubsync push' AND state = 'active' AND query LIKE 'COPY%';\n",
                         scratch, &l) == 0 &&
                   l.l_count == 1 && strcmp(l.l_items[0], "1") == 0;
    tl_lines_free(&l);
    return copying;
}

/* Starts `push --snapshot target`, kills it (SIGKILL) once it writes;
 * true when it was killed in the middle. */
static bool kill_push(tl_sim *s, const char *db, const char *target)
{
    const char *args[] = {"push", "--snapshot", target, NULL};
    pid_t pid = it_hubsync_start(s, db, args);
    if (pid < 0)
        return false;
    int64_t until = tl_now_ms() + 60000;
    while (!push_writing(target, db) && !it_process_gone(pid) && tl_now_ms() < until)
        tl_sleep_ms(2);
    bool writing = !it_process_gone(pid);
    int64_t started = tl_now_ms() - (until - 60000);
    kill(-pid, SIGKILL);
    int rc = it_wait_exit(pid, 10000);
    fprintf(stderr, "    %s: push --snapshot killed %lld ms after it started, while writing\n",
            strncmp(target, "sqlite:", 7) == 0 ? "sqlite" : "postgresql", (long long)started);
    CHECKF(writing && rc == -1, "push ended (exit %d) before it could be killed writing", rc);
    return writing && rc == -1;
}

static void test_killed_push_resumes(void)
{
    static push_case c;
    memset(&c, 0, sizeof(c));
    tl_sim *s = &c.pc_sim;
    const char *db = c.pc_db;
    tl_lines before = {0}, after = {0};
    /* Large enough that a snapshot takes a measurable while to load. */
    const char *big[] = {"--contacts", "40000", "--companies", "8000",      "--deals", "20000",
                         "--tickets",  "4000",  "--tier",      "unlimited", NULL};
    REQUIRE(case_start(&c, big));
    for (int i = 0; i < 2; i++)
        REQUIRE(CHECK_EQ(push(s, db, c.pc_target[i], false, NULL), 0));
    REQUIRE(it_sim_post(s, "/_sim/mutate", "{\"count\":500}") == 0);
    tl_sleep_ms(50);
    REQUIRE(it_hubsync(s, db, RESCAN, 300000, NULL) == 0); /* run 2 */
    REQUIRE(CHECK(it_mirror_equals_truth(s, db)));
    for (int i = 0; i < 2; i++) {
        /* A reload killed part way: the target is as it was, at run 1. */
        REQUIRE(CHECK_EQ(target_state(c.pc_target[i], db, &before), 0));
        REQUIRE(kill_push(s, db, c.pc_target[i]));
        REQUIRE(CHECK_EQ(target_state(c.pc_target[i], db, &after), 0));
        CHECK(tl_lines_equal(&after, &before, "after the kill", "before"));
        tl_lines_free(&before);
        tl_lines_free(&after);
        /* The next push starts from the position the target holds. */
        REQUIRE(CHECK_EQ(push(s, db, c.pc_target[i], false, NULL), 0));
        CHECK(target_exact(s, db, c.pc_target[i], 2));
    }
done:
    tl_lines_free(&before);
    tl_lines_free(&after);
    case_stop(&c);
}

static void test_beside_a_run(void)
{
    static push_case c;
    memset(&c, 0, sizeof(c));
    tl_sim *s = &c.pc_sim;
    const char *db = c.pc_db;
    char *out = NULL;
    REQUIRE(case_start(&c, PORTAL));
    REQUIRE(it_sim_post(s, "/_sim/mutate", "{\"count\":500}") == 0);
    tl_sleep_ms(50);
    /* A paced full scan (run 2) notes its changes batch by batch; each
     * target is pushed while it goes, once it has merged some. */
    const char *slow[] = {"run", "--full-scan", "--rate", "10/1s", "--lag-ms", "0", NULL};
    int64_t calls = it_assoc_calls(s);
    pid_t run = it_hubsync_start_to(s, db, slow, "/dev/null", NULL);
    REQUIRE(run > 0);
    REQUIRE(CHECK(it_wait_assoc_calls(s, calls + 5, 60000)));
    for (int i = 0; i < 2; i++) {
        const char *args[] = {"push", c.pc_target[i], NULL};
        REQUIRE(CHECK_EQ(it_hubsync(s, db, args, 60000, &out), 0));
        CHECKF(strstr(out, "run 2 is still going") && strstr(out, "target at run 1:"), "%s", out);
        free(out);
        out = NULL;
    }
    CHECKF(!it_process_gone(run), "the run ended before both pushes");
    REQUIRE(CHECK_EQ(it_wait_exit(run, 120000), 0));
    REQUIRE(CHECK(it_mirror_equals_truth(s, db)));
    /* The next push applies run 2 whole, again in part. */
    for (int i = 0; i < 2; i++) {
        REQUIRE(CHECK_EQ(push(s, db, c.pc_target[i], false, NULL), 0));
        CHECK(target_exact(s, db, c.pc_target[i], 2));
    }
done:
    free(out);
    case_stop(&c);
}

/* Applies `sql` to the target, then a push must fail with exit 2 and a
 * message holding `says`, and leave the target as it was. */
static bool refused(tl_sim *s, const char *db, const char *target, const char *sql,
                    const char *says)
{
    tl_lines before = {0}, after = {0};
    char *err = NULL;
    bool ok = CHECK_EQ(edit(target, db, sql), 0) &&
              CHECK_EQ(target_state(target, db, &before), 0) &&
              CHECK_EQ(push(s, db, target, false, &err), 2) &&
              CHECKF(err && strstr(err, says), "wanted \"%s\" in: %s", says, err ? err : "") &&
              CHECK_EQ(target_state(target, db, &after), 0) &&
              CHECK(tl_lines_equal(&after, &before, "after the refused push", "before"));
    free(err);
    tl_lines_free(&before);
    tl_lines_free(&after);
    return ok;
}

static void test_hand_edits_refused(void)
{
    static push_case c;
    memset(&c, 0, sizeof(c));
    tl_sim *s = &c.pc_sim;
    const char *db = c.pc_db;
    const char *const *targets = c.pc_target;
    char *err = NULL;
    REQUIRE(case_start(&c, PORTAL));
    for (int i = 0; i < 2; i++) {
        const char *t = targets[i];
        REQUIRE(CHECK_EQ(push(s, db, t, false, NULL), 0));
        CHECK(refused(s, db, t,
                      "UPDATE hubsync_position SET run = 99 WHERE name = 'deals_tickets';",
                      "after this database's latest run 1"));
        CHECK(refused(s, db, t,
                      "UPDATE hubsync_position SET run = 1; ALTER TABLE companies_deals ADD "
                      "COLUMN note TEXT;",
                      "companies_deals has the columns"));
        CHECK(refused(s, db, t,
                      "ALTER TABLE companies_deals DROP COLUMN note; DROP TABLE companies_tickets;",
                      "holds companies_tickets at run 1 but the target has no such table"));
        CHECK(refused(s, db, t, "DROP TABLE hubsync_position;", "no hubsync_position table"));
        /* --snapshot reloads what can be reloaded. */
        REQUIRE(CHECK_EQ(push(s, db, t, true, NULL), 0));
        CHECK(target_exact(s, db, t, 1));
    }
    /* The feed keeps one run: the changes after run 1 are gone; push says
     * to reload, and --snapshot does. */
    const char *keep1[] = {"run",           "--full-scan", "--changes-keep", "1", "--rate", "0",
                           "--search-rate", "0",           "--lag-ms",       "0", NULL};
    for (int run = 2; run <= 3; run++) {
        REQUIRE(it_sim_post(s, "/_sim/mutate", "{\"count\":100}") == 0);
        tl_sleep_ms(50);
        REQUIRE(it_hubsync(s, db, keep1, 120000, NULL) == 0);
    }
    REQUIRE(CHECK(it_mirror_equals_truth(s, db)));
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(push(s, db, targets[i], false, &err), 2);
        CHECKF(err && strstr(err, "no longer kept") && strstr(err, "push --snapshot"), "%s",
               err ? err : "");
        free(err);
        err = NULL;
        REQUIRE(CHECK_EQ(push(s, db, targets[i], true, NULL), 0));
        CHECK(target_exact(s, db, targets[i], 3));
    }
done:
    free(err);
    case_stop(&c);
}

int it_register_push(void)
{
    CU_pSuite s = it_add_suite("push");
    int rc = 0;
    rc |= it_add_test(s, "follows_runs", test_follows_runs);
    rc |= it_add_test(s, "killed_push_resumes", test_killed_push_resumes);
    rc |= it_add_test(s, "hand_edits_refused", test_hand_edits_refused);
    rc |= it_add_test(s, "beside_a_run", test_beside_a_run);
    return rc;
}
