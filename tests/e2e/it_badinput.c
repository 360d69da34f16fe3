/*
 * it_badinput — the bad input table (docs/RELIABILITY.md): every malformed flag, table
 * name, config value and environment variable, a --db that cannot be used,
 * a damaged cursor or table_options record and a damaged data.mdb (empty,
 * truncated, garbage over its meta pages, its root or every page, a
 * directory) gets exit 2, a message naming the problem (and, for stored
 * data, the way out), no crash, and nothing written: no database created
 * where none was, data.mdb byte-identical, `hubsync export` identical.
 *
 * The command-line rows extend it_cli's bad_command_lines (kept there: the
 * token and credential rows) with the forms it does not try: empty values,
 * overflow, signs, trailing garbage, every rate form, separators, repeated
 * flags. Rows that need a synced database share one small simulator and one
 * database synced once; each case damages a copy of it.
 *
 * Every hubsync runs under `env -i` with exactly the variables a row gives
 * (plus the sanitizers' options). The binary is $HUBSYNC (default
 * bin/hubsync).
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_hubsync.h"
#include "it_suites.h"

enum { RUN_TIMEOUT_MS = 60000, MAX_ARGS = 24 };

/* What one hubsync printed and how it ended. */
typedef struct outcome {
    int oc_exit;   /* exit code; -1 when it did not exit normally */
    int oc_signal; /* the signal that killed it, or 0 */
    char *oc_out, *oc_err;
} outcome;

static void outcome_free(outcome *o)
{
    free(o->oc_out);
    free(o->oc_err);
    memset(o, 0, sizeof(*o));
}

/* One hubsync to run: its environment (NULL-terminated, may be NULL) and
 * arguments (NULL-terminated). */
typedef struct command {
    const char *const *cm_vars;
    const char *const *cm_args;
} command;

static char *read_file(const char *path, size_t *len);

/* Starts `env -i [SANITIZER OPTIONS] VARS… hubsync ARGS…` in its own
 * process group with stdout and stderr going to files OUT.1 and OUT.2. */
static pid_t spawn_command(const command *c, const char *out)
{
    static const char *const pass[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    char passbuf[3][512], paths[2][176];
    const char *argv[2 * MAX_ARGS];
    size_t n = 0;
    const char *bin = getenv("HUBSYNC");
    argv[n++] = "env";
    argv[n++] = "-i";
    for (size_t i = 0; i < 3; i++)
        if (getenv(pass[i])) {
            snprintf(passbuf[i], sizeof(passbuf[i]), "%s=%s", pass[i], getenv(pass[i]));
            argv[n++] = passbuf[i];
        }
    for (size_t i = 0; c->cm_vars && c->cm_vars[i] && n < MAX_ARGS; i++)
        argv[n++] = c->cm_vars[i];
    argv[n++] = bin && *bin ? bin : "bin/hubsync";
    for (size_t i = 0; c->cm_args[i] && n < 2 * MAX_ARGS - 1; i++)
        argv[n++] = c->cm_args[i];
    argv[n] = NULL;
    snprintf(paths[0], sizeof(paths[0]), "%s.1", out);
    snprintf(paths[1], sizeof(paths[1]), "%s.2", out);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setpgid(0, 0);
    for (int fd = 1; fd <= 2; fd++) {
        int f = open(paths[fd - 1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (f < 0 || dup2(f, fd) < 0)
            _exit(127);
    }
    execvp("env", (char *const *)argv);
    _exit(127);
}

/* Runs commands[0..n) at most PARALLEL at a time (each is a separate
 * process: the sanitizer build's start-up dominates the suite's time) and
 * fills out[0..n). `scratch` is a directory for their output. */
enum { PARALLEL = 4 };
static void run_commands(const char *scratch, const command *cmds, size_t n, outcome *out)
{
    pid_t pids[PARALLEL] = {0};
    size_t slot_of[PARALLEL] = {0}, next = 0, running = 0;
    int64_t deadline = tl_now_ms() + RUN_TIMEOUT_MS;
    memset(out, 0, n * sizeof(*out));
    while (next < n || running > 0) {
        for (int k = 0; k < PARALLEL && next < n; k++) {
            if (pids[k])
                continue;
            char base[160];
            snprintf(base, sizeof(base), "%s/cmd%zu", scratch, next);
            out[next].oc_exit = -1;
            pids[k] = spawn_command(&cmds[next], base);
            slot_of[k] = next++;
            running++;
        }
        bool reaped = false;
        for (int k = 0; k < PARALLEL; k++) {
            int status;
            /* Only our own children: waitpid(-1) would reap the simulator. */
            if (pids[k] <= 0 || waitpid(pids[k], &status, WNOHANG) != pids[k])
                continue;
            reaped = true;
            outcome *o = &out[slot_of[k]];
            if (WIFEXITED(status))
                o->oc_exit = WEXITSTATUS(status);
            else if (WIFSIGNALED(status))
                o->oc_signal = WTERMSIG(status);
            char path[176];
            size_t len;
            snprintf(path, sizeof(path), "%s/cmd%zu.1", scratch, slot_of[k]);
            o->oc_out = read_file(path, &len);
            unlink(path);
            snprintf(path, sizeof(path), "%s/cmd%zu.2", scratch, slot_of[k]);
            o->oc_err = read_file(path, &len);
            unlink(path);
            if (!o->oc_out)
                o->oc_out = strdup("");
            if (!o->oc_err)
                o->oc_err = strdup("");
            pids[k] = 0;
            running--;
        }
        if (!reaped && tl_now_ms() > deadline) /* a hung hubsync: kill what is left */
            for (int k = 0; k < PARALLEL; k++)
                if (pids[k] > 0)
                    kill(-pids[k], SIGKILL);
        if (!reaped)
            tl_sleep_ms(2);
    }
}

/* One command, waited for. */
static int hubsync_env(const char *scratch, const char *const *vars, const char *const *args,
                       outcome *o)
{
    command c = {vars, args};
    run_commands(scratch, &c, 1, o);
    return o->oc_exit;
}

static bool has(const char *text, const char *needle)
{
    return text && needle && strstr(text, needle) != NULL;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    chmod(path, 0700);
    return remove(path);
}

static void rm_tree(const char *path)
{
    if (path[0] && exists(path))
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the command-line table --------------------------------------------- */

/* A refused command line: exit 2, one line on stderr holding bc_expect,
 * nothing on stdout, no database created. */
typedef struct bad_row {
    const char *br_args[10];
    const char *br_vars[3];
    const char *br_expect;
} bad_row;

#define TOKEN_VAR "HUBSPOT_ACCESS_TOKEN=pat-na1-badinput"

static const bad_row bad_rows[] = {
    /* Numbers: missing, empty, signs, spaces, hex, overflow, trailing
     * garbage, out of range — for every numeric flag. */
    {{"status", "--workers"}, {0}, "--workers needs a value"},
    {{"status", "--workers", ""}, {0}, "--workers ''"},
    {{"status", "--workers=-1"}, {0}, "--workers '-1'"},
    {{"status", "--workers", "+4"}, {0}, "--workers '+4'"},
    {{"status", "--workers", " 4"}, {0}, "--workers ' 4'"},
    {{"status", "--workers", "4x"}, {0}, "--workers '4x'"},
    {{"status", "--workers", "0x10"}, {0}, "--workers '0x10'"},
    {{"status", "--workers", "99999999999999999999"}, {0}, "from 1 to 64"},
    {{"status", "--inflight", ""}, {0}, "--inflight ''"},
    {{"status", "--inflight", "65"}, {0}, "--inflight '65'"},
    {{"status", "--daily", "0"}, {0}, "--daily '0'"},
    {{"status", "--daily", "1000000000001"}, {0}, "from 1 to 1000000000000"},
    {{"status", "--daily", "1e6"}, {0}, "--daily '1e6'"},
    {{"status", "--lag-ms", "-1"}, {0}, "--lag-ms '-1'"},
    {{"status", "--lag-ms", "86400001"}, {0}, "from 0 to 86400000"},
    {{"status", "--lag-ms", "30s"}, {0}, "--lag-ms '30s'"},
    {{"run", "--loop", "--interval", "604801"}, {TOKEN_VAR}, "from 0 to 604800"},
    {{"run", "--loop", "--interval", "-5"}, {TOKEN_VAR}, "--interval '-5'"},
    {{"run", "--loop", "--interval", "5m"}, {TOKEN_VAR}, "--interval '5m'"},
    {{"run", "--interval=60"}, {TOKEN_VAR}, "--interval needs --loop"},
    /* Rates. */
    {{"status", "--rate", ""}, {0}, "--rate ''"},
    {{"status", "--rate", "0/10s"}, {0}, "--rate '0/10s'"},
    {{"status", "--rate", "10/0s"}, {0}, "--rate '10/0s'"},
    {{"status", "--rate", "10/10"}, {0}, "expected N/Ws or N/Wms"},
    {{"status", "--rate", "-10/1s"}, {0}, "--rate '-10/1s'"},
    {{"status", "--rate", "4294967296/1s"}, {0}, "--rate '4294967296/1s'"},
    {{"status", "--rate", "10/1m"}, {0}, "--rate '10/1m'"},
    {{"status", "--rate", "10/1s "}, {0}, "--rate '10/1s '"},
    {{"status", "--search-rate", ""}, {0}, "--search-rate ''"},
    {{"status", "--search-rate", "5/1s/1s"}, {0}, "--search-rate '5/1s/1s'"},
    {{"status", "--search-rate", "5"}, {0}, "--search-rate '5'"},
    /* Choices. */
    {{"status", "--log-format", "JSON"}, {0}, "expected text or json"},
    {{"status", "--progress", "yes"}, {0}, "expected auto, always or never"},
    {{"export", "--format", ""}, {0}, "--format ''"},
    {{"export", "--format", "xml"}, {0}, "expected tsv, jsonl or csv"},
    {{"export", "--table", ""}, {0}, "--table: empty table name"},
    {{"export", "--table", "contacts"}, {0}, "unknown table 'contacts'"},
    /* Tables: empty elements, separators, case, duplicates of a type. */
    {{"status", "--tables", ""}, {0}, "--tables: empty table name"},
    {{"status", "--tables", " , "}, {0}, "--tables: empty table name"},
    {{"status", "--tables", "companies_contacts;deals_tickets"}, {0}, "unknown table"},
    {{"status", "--tables", "companies_contacts deals_tickets"}, {0}, "unknown table"},
    {{"status", "--tables", "companies-contacts"}, {0}, "unknown table 'companies-contacts'"},
    {{"status", "--tables", "COMPANIES_CONTACTS"}, {0}, "unknown table 'COMPANIES_CONTACTS'"},
    {{"status", "--tables", "companies_companies"}, {0}, "between companies and companies"},
    {{"status", "--tables", "company_contact"}, {0}, "company_contact: use companies_contacts"},
    {{"status", "--tables", "notes_emails"}, {0}, "no associations between notes and emails"},
    {{"status"}, {"HUBSYNC_TABLES=,"}, "HUBSYNC_TABLES: empty table name"},
    {{"status"}, {"HUBSYNC_TABLES=companies_widgets"}, "HUBSYNC_TABLES: unknown table"},
    /* Flags and commands. */
    {{"status", "-x"}, {0}, "unknown flag -x"},
    {{"status", "--", "--json"}, {0}, "unexpected argument '--json' after the command status"},
    {{"statsu"}, {0}, "unknown command 'statsu' (did you mean status?"},
    {{"status", "--tabels", "x"}, {0}, "unknown flag --tabels (did you mean --tables?"},
    {{"-"}, {0}, "unknown command '-'"},
    {{"status", "run"}, {0}, "unexpected argument 'run'"},
    {{"status", "--json=yes"}, {0}, "--json takes no value"},
    {{"run", "--full-scan=1"}, {TOKEN_VAR}, "--full-scan takes no value"},
    {{"status", "--full-scan"}, {0}, "--full-scan applies only to `hubsync run`"},
    {{"doctor", "--table", "companies_contacts"}, {TOKEN_VAR}, "--table applies only"},
    /* Conflicts: a flag given twice with two values. */
    {{"status", "--workers", "4", "--workers", "5"}, {0}, "--workers is given twice"},
    {{"export", "--table", "companies_contacts", "--table=deals_tickets"},
     {0},
     "--table is given twice"},
    {{"export", "--format", "tsv", "--format", "jsonl"}, {0}, "--format is given twice"},
    /* Environment and paths. */
    {{"status", "--db", ""}, {0}, "--db is empty"},
    {{"status", "--base-url", ""}, {0}, "--base-url is empty"},
    {{"status"}, {"HUBSPOT_BASE_URL=https://"}, "HUBSPOT_BASE_URL"},
    {{"status"}, {"HUBSPOT_BASE_URL=not a url"}, "HUBSPOT_BASE_URL contains a space"},
    {{"status"}, {"HUBSPOT_BASE_URL=http://10.0.0.1"}, "loopback"},
    {{"status", "--ca-file", "/"}, {0}, "--ca-file / is not a regular file"},
};

/* Every row against a --db that does not exist: it must stay absent. */
static void test_command_lines(void)
{
    enum { NROWS = sizeof(bad_rows) / sizeof(bad_rows[0]) };
    static const char *args[NROWS][16];
    command cmds[NROWS];
    outcome out[NROWS];
    char dir[64] = "", db[96], db_arg[112];
    it_make_db(dir, sizeof(dir));
    REQUIRE(dir[0]);
    snprintf(db, sizeof(db), "%s/db", dir);
    snprintf(db_arg, sizeof(db_arg), "--db=%s", db);
    for (size_t i = 0; i < NROWS; i++) {
        const bad_row *r = &bad_rows[i];
        size_t n = 0;
        /* A flag before the command; rows with their own --db go without. */
        if (!r->br_args[1] || strcmp(r->br_args[1], "--db") != 0)
            args[i][n++] = db_arg;
        for (size_t k = 0; r->br_args[k]; k++)
            args[i][n++] = r->br_args[k];
        args[i][n] = NULL;
        cmds[i] = (command){r->br_vars[0] ? r->br_vars : NULL, args[i]};
    }
    run_commands(dir, cmds, NROWS, out);
    for (size_t i = 0; i < NROWS; i++) {
        const bad_row *r = &bad_rows[i];
        outcome *o = &out[i];
        CHECKF(o->oc_exit == 2, "row %zu (%s %s): exit %d: %s", i, r->br_args[0],
               r->br_args[1] ? r->br_args[1] : "", o->oc_exit, o->oc_err);
        CHECKF(has(o->oc_err, r->br_expect), "row %zu: '%s' not in: %s", i, r->br_expect,
               o->oc_err);
        CHECKF(strchr(o->oc_err, '\n') == o->oc_err + strlen(o->oc_err) - 1,
               "row %zu: not one line: %s", i, o->oc_err);
        CHECKF(o->oc_out[0] == '\0', "row %zu: stdout %s", i, o->oc_out);
        outcome_free(o);
    }
    CHECKF(!exists(db), "a row created %s", db);
    fprintf(stderr, "    %d command lines refused (exit 2, one line, nothing created)\n", NROWS);
done:
    rm_tree(dir);
}

/* A --db that cannot be used: a file, below a file, where nothing may be
 * created. Exit 2, named, nothing created. */
static void test_unusable_db(void)
{
    char dir[64] = "", file[96], below[128], file_arg[112], below_arg[144];
    it_make_db(dir, sizeof(dir));
    REQUIRE(dir[0]);
    snprintf(file, sizeof(file), "%s/plain-file", dir);
    snprintf(below, sizeof(below), "%s/plain-file/db", dir);
    snprintf(file_arg, sizeof(file_arg), "--db=%s", file);
    snprintf(below_arg, sizeof(below_arg), "--db=%s", below);
    FILE *f = fopen(file, "w");
    REQUIRE(f != NULL);
    fputs("not a database\n", f);
    fclose(f);
    /* run opens the database before any request: no simulator needed. */
    const char *vars[] = {TOKEN_VAR, "HUBSPOT_BASE_URL=http://127.0.0.1:9", NULL};
    char env_db[128];
    snprintf(env_db, sizeof(env_db), "HUBSYNC_DB=%s", file);
    const char *env_vars[] = {env_db, NULL};
    static const char *const forbidden = "--db=/sys/hubsync-badinput/db";
    const struct {
        const char *args[4];
        const char *const *vars;
        const char *expect;
    } cases[] = {
        {{"status", file_arg}, NULL, "is not a directory"},
        {{"export", file_arg}, NULL, "is not a directory"},
        {{"run", file_arg}, vars, "is not a directory"},
        {{"run", below_arg}, vars, "Not a directory"},
        {{"status"}, env_vars, "is not a directory"},
        {{"run", forbidden}, vars, "/sys/hubsync-badinput"},
    };
    enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
    command cmds[NCASES];
    outcome out[NCASES];
    for (size_t i = 0; i < NCASES; i++)
        cmds[i] = (command){cases[i].vars, cases[i].args};
    run_commands(dir, cmds, NCASES, out);
    for (size_t i = 0; i < NCASES; i++) {
        CHECKF(out[i].oc_exit == 2 && has(out[i].oc_err, cases[i].expect),
               "case %zu (%s): exit %d: %s", i,
               cases[i].args[1] ? cases[i].args[1] : cases[i].args[0], out[i].oc_exit,
               out[i].oc_err);
        outcome_free(&out[i]);
    }
    struct stat st;
    CHECK(stat(file, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 15);
    CHECK(!exists("/sys/hubsync-badinput"));
done:
    rm_tree(dir);
}

/* ---- a synced database and copies of it ---------------------------------- */

typedef struct synced {
    tl_sim sy_sim;
    char sy_dir[64]; /* scratch */
    char sy_db[96];  /* the synced database, never damaged */
    char *sy_export; /* its export (tsv) */
    const char *sy_vars[3];
    char sy_url[96];
} synced;

static bool synced_start(synced *sy)
{
    const char *args[] = {IT_SMALL_PORTAL, "--tier", "unlimited", NULL};
    memset(sy, 0, sizeof(*sy));
    it_make_db(sy->sy_dir, sizeof(sy->sy_dir));
    if (!sy->sy_dir[0] || tl_sim_start(&sy->sy_sim, args) != 0)
        return false;
    snprintf(sy->sy_db, sizeof(sy->sy_db), "%s/good", sy->sy_dir);
    snprintf(sy->sy_url, sizeof(sy->sy_url), "HUBSPOT_BASE_URL=%s", sy->sy_sim.s_base_url);
    sy->sy_vars[0] = "HUBSPOT_ACCESS_TOKEN=" TL_TOKEN;
    sy->sy_vars[1] = sy->sy_url;
    const char *setup[] = {"setup", NULL};
    const char *run[] = {"run", "--lag-ms", "0", "--progress", "never", NULL};
    const char *exp[] = {"export", NULL};
    return CHECK_EQ(it_hubsync(&sy->sy_sim, sy->sy_db, setup, RUN_TIMEOUT_MS, NULL), 0) &&
           CHECK_EQ(it_hubsync(&sy->sy_sim, sy->sy_db, run, RUN_TIMEOUT_MS, NULL), 0) &&
           CHECK_EQ(it_hubsync(&sy->sy_sim, sy->sy_db, exp, RUN_TIMEOUT_MS, &sy->sy_export), 0) &&
           CHECK(strlen(sy->sy_export) > 1000);
}

static void synced_stop(synced *sy)
{
    tl_sim_stop(&sy->sy_sim);
    free(sy->sy_export);
    rm_tree(sy->sy_dir);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(n > 0 ? (size_t)n + 1 : 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n > 0 ? n : 0] = '\0'; /* text for the callers that read output */
    fclose(f);
    *len = n > 0 ? (size_t)n : 0;
    return buf;
}

static bool write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return false;
    bool ok = write(fd, data, len) == (ssize_t)len;
    return close(fd) == 0 && ok;
}

/* A copy of the synced database in DIR/NAME (data.mdb and lock.mdb). */
static bool copy_db(const synced *sy, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", sy->sy_dir, name);
    if (mkdir(out, 0700) != 0)
        return false;
    static const char *const files[] = {"data.mdb", "lock.mdb"};
    for (size_t i = 0; i < 2; i++) {
        char from[160], to[160];
        size_t len;
        snprintf(from, sizeof(from), "%s/%s", sy->sy_db, files[i]);
        snprintf(to, sizeof(to), "%s/%s", out, files[i]);
        char *data = read_file(from, &len);
        bool ok = data && write_file(to, data, len);
        free(data);
        if (!ok)
            return false;
    }
    return true;
}

/* What "nothing written" compares: the folder's file names and data.mdb's
 * bytes and mtime (lock.mdb and hubsync.lock are LMDB's and the run lock's
 * scratch, rewritten by every open). */
typedef struct db_state {
    char ds_names[512];
    char *ds_data;
    size_t ds_len;
    struct timespec ds_mtime;
    bool ds_is_file;
} db_state;

static void db_state_read(const char *db, db_state *s)
{
    memset(s, 0, sizeof(*s));
    DIR *d = opendir(db);
    struct dirent *de;
    char names[16][256];
    size_t n = 0;
    while (d && (de = readdir(d)) != NULL && n < 16)
        if (de->d_name[0] != '.' && strcmp(de->d_name, "hubsync.lock") != 0)
            snprintf(names[n++], sizeof(names[0]), "%s", de->d_name);
    if (d)
        closedir(d);
    qsort(names, n, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
    for (size_t i = 0; i < n; i++)
        snprintf(s->ds_names + strlen(s->ds_names), sizeof(s->ds_names) - strlen(s->ds_names),
                 "%s ", names[i]);
    char path[160];
    struct stat st;
    snprintf(path, sizeof(path), "%s/data.mdb", db);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        s->ds_is_file = true;
        s->ds_mtime = st.st_mtim;
        s->ds_data = read_file(path, &s->ds_len);
    }
}

static bool db_state_same(const db_state *a, const db_state *b)
{
    return strcmp(a->ds_names, b->ds_names) == 0 && a->ds_is_file == b->ds_is_file &&
           a->ds_len == b->ds_len && a->ds_mtime.tv_sec == b->ds_mtime.tv_sec &&
           a->ds_mtime.tv_nsec == b->ds_mtime.tv_nsec &&
           (a->ds_len == 0 ||
            (a->ds_data && b->ds_data && memcmp(a->ds_data, b->ds_data, a->ds_len) == 0));
}

static void db_state_free(db_state *s)
{
    free(s->ds_data);
    s->ds_data = NULL;
}

/* Runs status, export and run on `db`: each must exit 2 with a message
 * holding every one of `expect` (NULL-terminated), print nothing on
 * stdout, not crash, send nothing to HubSpot and leave the folder as it
 * was. */
static void refused_everywhere(synced *sy, const char *db, const char *what,
                               const char *const *expect)
{
    static const char *const cmds[][6] = {
        {"status", NULL}, {"export", NULL}, {"run", "--progress", "never", NULL}};
    char db_arg[160];
    snprintf(db_arg, sizeof(db_arg), "--db=%s", db);
    db_state before, after;
    db_state_read(db, &before);
    int64_t calls = tl_stat_int(&sy->sy_sim, "total");
    const char *args[3][8] = {{db_arg}, {db_arg}, {db_arg}};
    command run[3];
    outcome out[3];
    for (size_t c = 0; c < 3; c++) {
        for (size_t k = 0; cmds[c][k]; k++)
            args[c][k + 1] = cmds[c][k];
        run[c] = (command){sy->sy_vars, args[c]};
    }
    run_commands(sy->sy_dir, run, 3, out);
    for (size_t c = 0; c < 3; c++) {
        outcome *o = &out[c];
        CHECKF(o->oc_exit == 2 && o->oc_signal == 0, "%s: %s: exit %d (signal %d): %s", what,
               cmds[c][0], o->oc_exit, o->oc_signal, o->oc_err);
        for (size_t k = 0; expect[k]; k++)
            CHECKF(has(o->oc_err, expect[k]), "%s: %s: '%s' not in: %s", what, cmds[c][0],
                   expect[k], o->oc_err);
        CHECKF(o->oc_out[0] == '\0', "%s: %s printed: %.200s", what, cmds[c][0], o->oc_out);
        outcome_free(o);
    }
    db_state_read(db, &after);
    CHECKF(db_state_same(&before, &after), "%s: the database folder changed", what);
    CHECKF(tl_stat_int(&sy->sy_sim, "total") == calls, "%s: requests were sent", what);
    db_state_free(&before);
    db_state_free(&after);
}

/* ---- damaged records ------------------------------------------------------- */

/* Writes `len` bytes as the value of `key` in named database `dbi_name` of
 * the LMDB environment in `db`, bypassing the store's encoders; `val` NULL
 * cuts the stored value in half instead. */
static bool put_raw(const char *db, const char *dbi_name, const char *key, const void *val,
                    size_t len)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_val k = {strlen(key), (void *)key}, v = {len, (void *)val}, old;
    uint8_t half[4096];
    bool ok = mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 128) == 0 &&
              mdb_env_open(env, db, 0, 0600) == 0 && mdb_txn_begin(env, NULL, 0, &txn) == 0 &&
              mdb_dbi_open(txn, dbi_name, 0, &dbi) == 0;
    if (ok && !val) {
        ok = mdb_get(txn, dbi, &k, &old) == 0 && old.mv_size > 2 && old.mv_size / 2 <= 4096;
        if (ok) {
            v.mv_size = old.mv_size / 2;
            memcpy(half, old.mv_data, v.mv_size);
            v.mv_data = half;
        }
    }
    ok = ok && mdb_put(txn, dbi, &k, &v, 0) == 0 && mdb_txn_commit(txn) == 0;
    if (!ok && txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    return ok;
}

/* A valid database the check must accept: an overflow run longer than the
 * value it holds, which LMDB leaves when a value shrinks within the
 * transaction that wrote it (a run's state record does, with its done
 * ranges). The check once refused it. */
static bool put_shrunk_overflow(const char *db)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    static uint8_t big[20000];
    MDB_val k = {12, (void *)"zz-not-state"}, v1 = {sizeof(big), big}, v2 = {9000, big};
    bool ok = mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 128) == 0 &&
              mdb_env_open(env, db, 0, 0600) == 0 && mdb_txn_begin(env, NULL, 0, &txn) == 0 &&
              mdb_dbi_open(txn, "state", 0, &dbi) == 0 && mdb_put(txn, dbi, &k, &v1, 0) == 0 &&
              mdb_put(txn, dbi, &k, &v2, 0) == 0 && mdb_txn_commit(txn) == 0;
    if (!ok && txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    return ok;
}

/* msgpack maps written by hand: {"v":1,"cursor_kind":"bogus","cursor":5} … */
static const uint8_t unknown_kind[] = {0x83, 0xa1, 'v',  1,   0xab, 'c', 'u',  'r', 's', 'o',
                                       'r',  '_',  'k',  'i', 'n',  'd', 0xa5, 'b', 'o', 'g',
                                       'u',  's',  0xa6, 'c', 'u',  'r', 's',  'o', 'r', 5};
static const uint8_t wrong_type[] = {0x83, 0xa1, 'v', 1,   0xab, 'c', 'u',  'r', 's', 'o',
                                     'r',  '_',  'k', 'i', 'n',  'd', 0xac, 't', 'i', 'm',
                                     'e',  's',  't', 'a', 'm',  'p', '_',  'm', 's', 0xa6,
                                     'c',  'u',  'r', 's', 'o',  'r', 0xa3, 'a', 'b', 'c'};
static const uint8_t future_version[] = {0x82, 0xa1, 'v', 99,  0xab, 'c',  'u', 'r', 's', 'o', 'r',
                                         '_',  'k',  'i', 'n', 'd',  0xa4, 'n', 'o', 'n', 'e'};
static const uint8_t not_a_map[] = {0x93, 1, 2, 3};

typedef struct record_case {
    const char *rc_name;
    const char *rc_dbi;    /* "state" or "schema" */
    const char *rc_key;    /* the record damaged */
    const uint8_t *rc_val; /* NULL: the stored record cut in half */
    size_t rc_len;
    const char *rc_expect[4];
} record_case;

static const record_case record_cases[] = {
    {"unknown cursor kind",
     "state",
     "companies_contacts",
     unknown_kind,
     sizeof(unknown_kind),
     {"companies_contacts", "unknown cursor kind 'bogus'",
      "--full-scan --tables companies_contacts"}},
    {"cursor of the wrong type",
     "state",
     "contacts_deals",
     wrong_type,
     sizeof(wrong_type),
     {"contacts_deals", "cursor value does not match its kind",
      "--full-scan --tables contacts_deals"}},
    {"truncated cursor record",
     "state",
     "deals_tickets",
     NULL,
     0,
     {"deals_tickets", "not one complete msgpack value", "--full-scan --tables deals_tickets"}},
    {"unknown record version",
     "state",
     "companies_deals",
     future_version,
     sizeof(future_version),
     {"companies_deals", "version 99 is unknown", "--full-scan --tables companies_deals"}},
    {"object sync cursor",
     "state",
     "objects.contacts",
     unknown_kind,
     sizeof(unknown_kind),
     {"objects.contacts", "cursor record is damaged",
      "`hubsync run --full-scan` lists the contacts"}},
    {"table_options not a map",
     "schema",
     "companies_tickets",
     not_a_map,
     sizeof(not_a_map),
     {"companies_tickets", "table_options are damaged",
      "hubsync setup --tables companies_tickets"}},
    {"truncated table_options",
     "schema",
     "contacts_tickets",
     NULL,
     0,
     {"contacts_tickets", "table_options are damaged", "hubsync setup --tables contacts_tickets"}},
};

/* status and run refuse (exit 2, named, the way out, nothing sent or
 * written); export, which reads no cursor, still prints the whole mirror. */
static void check_record_case(synced *sy, const record_case *c, const char *db)
{
    char db_arg[160];
    snprintf(db_arg, sizeof(db_arg), "--db=%s", db);
    db_state before, after;
    db_state_read(db, &before);
    int64_t calls = tl_stat_int(&sy->sy_sim, "total");
    const char *status[] = {db_arg, "status", NULL};
    const char *run[] = {db_arg, "run", "--progress", "never", NULL};
    command cmds[2] = {{sy->sy_vars, status}, {sy->sy_vars, run}};
    outcome out[2];
    run_commands(sy->sy_dir, cmds, 2, out);
    for (size_t i = 0; i < 2; i++) {
        CHECKF(out[i].oc_exit == 2, "%s: %s: exit %d: %s", c->rc_name, cmds[i].cm_args[1],
               out[i].oc_exit, out[i].oc_err);
        for (size_t k = 0; c->rc_expect[k]; k++)
            CHECKF(has(out[i].oc_err, c->rc_expect[k]), "%s: %s: '%s' not in: %s", c->rc_name,
                   cmds[i].cm_args[1], c->rc_expect[k], out[i].oc_err);
        outcome_free(&out[i]);
    }
    CHECKF(tl_stat_int(&sy->sy_sim, "total") == calls, "%s: requests were sent", c->rc_name);
    const char *exp[] = {db_arg, "export", NULL};
    outcome o;
    int rc = hubsync_env(sy->sy_dir, NULL, exp, &o);
    CHECKF(rc == 0 && strcmp(o.oc_out, sy->sy_export) == 0, "%s: export differs (exit %d): %s",
           c->rc_name, rc, o.oc_err);
    outcome_free(&o);
    db_state_read(db, &after);
    CHECKF(db_state_same(&before, &after), "%s: the database changed", c->rc_name);
    db_state_free(&before);
    db_state_free(&after);
}

/* Each record case on its own copy of the synced database. */
static void damaged_records(synced *sy)
{
    for (size_t i = 0; i < sizeof(record_cases) / sizeof(record_cases[0]); i++) {
        const record_case *c = &record_cases[i];
        char db[128], name[32];
        snprintf(name, sizeof(name), "record%zu", i);
        if (!CHECK(copy_db(sy, name, db, sizeof(db))) ||
            !CHECKF(put_raw(db, c->rc_dbi, c->rc_key, c->rc_val, c->rc_len), "%s", c->rc_name))
            return;
        check_record_case(sy, c, db);
        if (i == 1 || i == 5) {
            /* setup never reads a cursor for its work: it warns with the
             * way out and goes on; doctor refuses damaged table_options. */
            char db_arg[160];
            snprintf(db_arg, sizeof(db_arg), "--db=%s", db);
            const char *setup[] = {db_arg, "setup", NULL}, *doctor[] = {db_arg, "doctor", NULL};
            outcome o;
            int rc = hubsync_env(sy->sy_dir, sy->sy_vars, i == 1 ? setup : doctor, &o);
            CHECKF(rc == (i == 1 ? 0 : 2) && has(o.oc_err, c->rc_expect[2]), "%s: %s: exit %d: %s",
                   c->rc_name, i == 1 ? "setup" : "doctor", rc, o.oc_err);
            outcome_free(&o);
        }
        /* The way out the message names works, and the mirror is whole. */
        if (i == 0 || i == 4 || i == 5) {
            char db_arg[160];
            snprintf(db_arg, sizeof(db_arg), "--db=%s", db);
            const char *fix_run[] = {db_arg, "run",        "--full-scan", "--lag-ms",
                                     "0",    "--progress", "never",       NULL};
            const char *fix_setup[] = {db_arg, "setup", NULL};
            outcome o;
            int rc = hubsync_env(sy->sy_dir, sy->sy_vars, i == 5 ? fix_setup : fix_run, &o);
            CHECKF(rc == 0, "%s: the way out failed: %s", c->rc_name, o.oc_err);
            outcome_free(&o);
            const char *status[] = {db_arg, "status", NULL};
            rc = hubsync_env(sy->sy_dir, NULL, status, &o);
            CHECKF(rc == 0, "%s: status after: %s", c->rc_name, o.oc_err);
            outcome_free(&o);
            CHECK(it_mirror_equals_truth(&sy->sy_sim, db));
        }
    }
}

/* ---- a damaged data.mdb ---------------------------------------------------- */

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The main database's root page, from the newer meta page (LMDB 0.9:
 * the meta follows the 16-byte page header; its txnid at +128, the main
 * database's record at +72 with its root at +40). */
static uint64_t main_root(const uint8_t *file, uint32_t psize)
{
    const uint8_t *m0 = file + 16, *m1 = file + psize + 16;
    const uint8_t *m = le64(m1 + 128) > le64(m0 + 128) ? m1 : m0;
    return le64(m + 72 + 40);
}

static void garble(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

typedef enum damage {
    D_EMPTY,
    D_HALF,
    D_ODD_SIZE,
    D_META_PAGES,
    D_MAIN_ROOT,
    D_EVERY_PAGE,
    D_DIRECTORY,
    D_COUNT
} damage;

static const struct {
    const char *name;
    const char *expect; /* besides "data.mdb is damaged" and the way out */
} damages[D_COUNT] = {
    [D_EMPTY] = {"truncated to 0 bytes", "it is empty"},
    [D_HALF] = {"truncated to half", "it was truncated"},
    [D_ODD_SIZE] = {"truncated to a non-page multiple", "it was truncated"},
    [D_META_PAGES] = {"garbage over both meta pages", "meta pages are damaged"},
    [D_MAIN_ROOT] = {"garbage over the main database's root page", "the main database"},
    [D_EVERY_PAGE] = {"garbage over every page but the metas", "damaged:"},
    [D_DIRECTORY] = {"data.mdb is a directory", "it is a directory"},
};

static bool apply_damage(const char *db, damage d)
{
    char path[160];
    size_t len;
    snprintf(path, sizeof(path), "%s/data.mdb", db);
    uint8_t *file = (uint8_t *)read_file(path, &len);
    bool ok = file != NULL && len >= 3 * 4096;
    uint32_t psize = 4096; /* LMDB's page size here: the OS page size */
    if (ok) {
        switch (d) {
        case D_EMPTY:
            len = 0;
            break;
        case D_HALF:
            len /= 2;
            break;
        case D_ODD_SIZE:
            len -= 1000;
            break;
        case D_META_PAGES:
            garble(file, 2 * psize, 7);
            break;
        case D_MAIN_ROOT: {
            uint64_t root = main_root(file, psize);
            ok = root >= 2 && (root + 1) * psize <= len;
            if (ok)
                garble(file + root * psize + 16, psize - 16, 11); /* keep its header */
            break;
        }
        case D_EVERY_PAGE:
            garble(file + 2 * psize, len - 2 * psize, 13);
            break;
        case D_DIRECTORY:
        case D_COUNT:
            break;
        }
    }
    if (ok && d == D_DIRECTORY)
        ok = unlink(path) == 0 && mkdir(path, 0700) == 0;
    else if (ok)
        ok = write_file(path, file, len);
    free(file);
    return ok;
}

/* Each kind of damage on its own copy; then garbage in the lock files. */
static void damaged_file(synced *sy)
{
    for (int d = 0; d < D_COUNT; d++) {
        char db[128], name[32];
        snprintf(name, sizeof(name), "damage%d", d);
        REQUIRE(copy_db(sy, name, db, sizeof(db)));
        REQUIREF(apply_damage(db, (damage)d), "%s", damages[d].name);
        char file[160];
        snprintf(file, sizeof(file), "%s/data.mdb is damaged", db);
        const char *expect[] = {file, damages[d].expect, "restore it from a backup, or remove",
                                NULL};
        refused_everywhere(sy, db, damages[d].name, expect);
    }
    /* The format version record (meta), the one setting read before all. */
    {
        char db[128], file[160];
        REQUIRE(copy_db(sy, "meta-format", db, sizeof(db)));
        REQUIRE(put_raw(db, "meta", "format", not_a_map, sizeof(not_a_map)));
        snprintf(file, sizeof(file), "%s/data.mdb is damaged", db);
        const char *expect[] = {file, "format version record is damaged",
                                "restore it from a backup, or remove", NULL};
        refused_everywhere(sy, db, "damaged format version record", expect);
    }
    /* Not damage: an overflow run longer than its value. */
    {
        char db[128], db_arg[160];
        REQUIRE(copy_db(sy, "long-overflow", db, sizeof(db)));
        REQUIRE(put_shrunk_overflow(db));
        snprintf(db_arg, sizeof(db_arg), "--db=%s", db);
        const char *exp[] = {db_arg, "export", NULL};
        outcome o;
        int rc = hubsync_env(sy->sy_dir, NULL, exp, &o);
        CHECKF(rc == 0 && strcmp(o.oc_out, sy->sy_export) == 0,
               "a long overflow run: export (exit %d): %s", rc, o.oc_err);
        outcome_free(&o);
    }
    /* setup and doctor ask HubSpot first, then refuse the file alike. */
    {
        char db[128], file[160], db_arg[160];
        REQUIRE(copy_db(sy, "setup-doctor", db, sizeof(db)));
        REQUIRE(apply_damage(db, D_HALF));
        snprintf(file, sizeof(file), "%s/data.mdb is damaged", db);
        snprintf(db_arg, sizeof(db_arg), "--db=%s", db);
        const char *setup[] = {db_arg, "setup", NULL}, *doctor[] = {db_arg, "doctor", NULL};
        command cmds[2] = {{sy->sy_vars, setup}, {sy->sy_vars, doctor}};
        outcome out[2];
        db_state before, after;
        db_state_read(db, &before);
        run_commands(sy->sy_dir, cmds, 2, out);
        for (int k = 0; k < 2; k++) {
            CHECKF(out[k].oc_exit == 2 && has(out[k].oc_err, file), "%s: exit %d: %s",
                   cmds[k].cm_args[1], out[k].oc_exit, out[k].oc_err);
            outcome_free(&out[k]);
        }
        db_state_read(db, &after);
        CHECK(db_state_same(&before, &after));
        db_state_free(&before);
        db_state_free(&after);
    }
    /* An unreadable data.mdb: root reads it anyway. */
    if (geteuid() == 0)
        fprintf(stderr, "    skipped: an unreadable data.mdb (chmod 000): running as root, "
                        "which reads it anyway\n");
    else {
        char db[128];
        REQUIRE(copy_db(sy, "unreadable", db, sizeof(db)));
        char path[160];
        snprintf(path, sizeof(path), "%s/data.mdb", db);
        REQUIRE(chmod(path, 0) == 0);
        const char *expect[] = {"data.mdb", "Permission denied", NULL};
        refused_everywhere(sy, db, "an unreadable data.mdb", expect);
    }
    /* Garbage in the lock files is not damage: LMDB rebuilds its reader
     * table, the run lock is rewritten; everything works. */
    char db[128];
    REQUIRE(copy_db(sy, "lockfiles", db, sizeof(db)));
    char path[160], junk[8192];
    garble((uint8_t *)junk, sizeof(junk), 17);
    snprintf(path, sizeof(path), "%s/lock.mdb", db);
    REQUIRE(write_file(path, junk, sizeof(junk)));
    snprintf(path, sizeof(path), "%s/hubsync.lock", db);
    REQUIRE(write_file(path, "garbage\n", 8));
    char db_arg[160];
    snprintf(db_arg, sizeof(db_arg), "--db=%s", db);
    const char *exp[] = {db_arg, "export", NULL};
    const char *run[] = {db_arg, "run", "--lag-ms", "0", "--progress", "never", NULL};
    outcome o;
    int rc = hubsync_env(sy->sy_dir, NULL, exp, &o);
    CHECKF(rc == 0 && strcmp(o.oc_out, sy->sy_export) == 0, "lock files: export (exit %d): %s", rc,
           o.oc_err);
    outcome_free(&o);
    rc = hubsync_env(sy->sy_dir, sy->sy_vars, run, &o);
    CHECKF(rc == 0, "lock files: run: %s", o.oc_err);
    outcome_free(&o);
    CHECK(it_mirror_equals_truth(&sy->sy_sim, db));
done:;
}

/* Garbage at random places: whatever it hits (a live page, a free one),
 * nothing crashes, and status and export either work or refuse with exit 2
 * and the damaged-file message, never changing data.mdb. */
static void random_garbage(synced *sy)
{
    enum { SEEDS = 8 };
    uint8_t *file = NULL;
    char good[160], db[SEEDS][128], db_arg[SEEDS][160];
    const char *args[2 * SEEDS][3];
    command cmds[2 * SEEDS];
    outcome out[2 * SEEDS];
    db_state before[SEEDS], after;
    size_t good_len = 0, ready = 0;
    int refused = 0;
    snprintf(good, sizeof(good), "%s/data.mdb", sy->sy_db);
    file = (uint8_t *)read_file(good, &good_len);
    REQUIRE(file && good_len >= 3 * 4096);
    for (uint32_t seed = 0; seed < SEEDS; seed++) {
        char name[32], path[176];
        snprintf(name, sizeof(name), "random%u", seed);
        REQUIRE(copy_db(sy, name, db[seed], sizeof(db[seed])));
        uint8_t *copy = malloc(good_len);
        REQUIRE(copy);
        memcpy(copy, file, good_len);
        uint32_t r = (seed + 1) * 2654435761u;
        for (int k = 0; k < 4; k++) { /* four ranges of 1 to 255 bytes past the metas */
            r = r * 1103515245u + 12345u;
            size_t off = 2 * 4096 + (r >> 4) % (good_len - 3 * 4096);
            garble(copy + off, 1 + (r >> 8) % 255, r);
        }
        snprintf(path, sizeof(path), "%s/data.mdb", db[seed]);
        bool ok = write_file(path, copy, good_len);
        free(copy);
        REQUIRE(ok);
        db_state_read(db[seed], &before[seed]);
        ready++;
        snprintf(db_arg[seed], sizeof(db_arg[seed]), "--db=%s", db[seed]);
        for (size_t c = 0; c < 2; c++) {
            const char **a = args[2 * seed + c];
            a[0] = db_arg[seed];
            a[1] = c ? "export" : "status";
            a[2] = NULL;
            cmds[2 * seed + c] = (command){NULL, a};
        }
    }
    run_commands(sy->sy_dir, cmds, 2 * SEEDS, out);
    for (size_t i = 0; i < 2 * SEEDS; i++) {
        outcome *o = &out[i];
        CHECKF(o->oc_signal == 0 && (o->oc_exit == 0 || o->oc_exit == 2),
               "seed %zu %s: exit %d signal %d: %s", i / 2, cmds[i].cm_args[1], o->oc_exit,
               o->oc_signal, o->oc_err);
        if (o->oc_exit == 2) {
            refused++;
            CHECKF(has(o->oc_err, "is damaged"), "seed %zu %s: %s", i / 2, cmds[i].cm_args[1],
                   o->oc_err);
        }
        outcome_free(o);
    }
    for (size_t seed = 0; seed < SEEDS; seed++) {
        db_state_read(db[seed], &after);
        CHECKF(db_state_same(&before[seed], &after), "seed %zu: data.mdb changed", seed);
        db_state_free(&after);
    }
    fprintf(stderr, "    random garbage: %d of %d commands refused the file, none crashed\n",
            refused, 2 * SEEDS);
done:
    for (size_t i = 0; i < ready; i++)
        db_state_free(&before[i]);
    free(file);
}

/* One synced database (one simulator) for every damage: a damaged cursor or
 * table_options record, a damaged data.mdb, garbage at random places. */
static void test_damaged_database(void)
{
    synced sy;
    REQUIRE(synced_start(&sy));
    damaged_records(&sy);
    damaged_file(&sy);
    random_garbage(&sy);
done:
    synced_stop(&sy);
}

int it_register_badinput(void)
{
    CU_pSuite s = it_add_suite("badinput");
    int rc = 0;
    rc |= it_add_test(s, "command_lines", test_command_lines);
    rc |= it_add_test(s, "unusable_db", test_unusable_db);
    rc |= it_add_test(s, "damaged_database", test_damaged_database);
    return rc;
}
