/*
 * it_cli — bin/hubsync's command line (docs/CLI.md) against bin/hubspot-sim:
 * help and exit codes; every bad flag, value, table name, token file and
 * base URL refused with exit 2, one line naming the problem, and nothing
 * written to --db; setup's rollup detection (status --json shows it; setup
 * --json lists no look-alikes), setup again keeping cursors and data, doctor
 * agreeing, then disagreeing after the simulator's rollups change, then
 * agreeing after setup, warning all along about the rollup tables whose
 * rollup fields count none of the pair's user-defined labels (one labels
 * call per such table; exit 0 all the same); engagement tables;
 * refused credentials (exit 3); a held database (exit 4) beside read-only
 * status and export; export of an empty database and the §7 formats of
 * associations written straight into the store. No output of any command
 * may contain the token.
 *
 * Every hubsync runs under `env -i` with exactly the variables a test gives
 * (plus the sanitizers' options), so the runner's environment cannot leak
 * in. The binary is $HUBSYNC (default bin/hubsync).
 */
#include <ftw.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/store/store.h"
#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_hubsync.h"
#include "it_suites.h"

/* A token only these tests use, so finding it in an output is never chance. */
#define SECRET "pat-na1-cli-Secret-7f3a9c"

enum { CLI_TIMEOUT_MS = 60000, MAX_ENV = 16 };

static const char *hubsync_path(void)
{
    const char *p = getenv("HUBSYNC");
    return p && *p ? p : "bin/hubsync";
}

/* What one hubsync run printed and how it ended. */
typedef struct cli_out {
    int co_exit; /* exit code; -1 when killed by a signal or not run */
    char *co_out, *co_err;
} cli_out;

static void cli_free(cli_out *o)
{
    free(o->co_out);
    free(o->co_err);
    memset(o, 0, sizeof(*o));
}

static bool has(const char *text, const char *needle)
{
    return text && strstr(text, needle) != NULL;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; p && *p; p++)
        n += *p == '\n';
    return n;
}

/* Runs `env -i VARS… hubsync ARGS…` (both NULL-terminated; vars may be NULL)
 * and checks that no output holds the token. Returns the exit code. */
static int cli(const char *const *vars, const char *const *args, cli_out *o)
{
    memset(o, 0, sizeof(*o));
    o->co_exit = it_hubsync_env(vars, args, CLI_TIMEOUT_MS, &o->co_out, &o->co_err);
    CHECKF(!has(o->co_out, SECRET) && !has(o->co_err, SECRET),
           "the token appears in the output of hubsync %s", args && args[0] ? args[0] : "");
    if (o->co_exit < 0)
        fprintf(stderr, "    hubsync did not exit normally: %s\n", o->co_err);
    return o->co_exit;
}

/* ---- scratch directories ------------------------------------------------ */

typedef struct scratch {
    char sc_dir[64]; /* /tmp/it_cli.XXXXXX */
    char sc_db[96];  /* its db/ (not created by the test) */
    char sc_db_arg[112];
} scratch;

static bool scratch_make(scratch *s)
{
    snprintf(s->sc_dir, sizeof(s->sc_dir), "/tmp/it_cli.XXXXXX");
    if (!mkdtemp(s->sc_dir)) {
        s->sc_dir[0] = '\0';
        return false;
    }
    snprintf(s->sc_db, sizeof(s->sc_db), "%s/db", s->sc_dir);
    snprintf(s->sc_db_arg, sizeof(s->sc_db_arg), "--db=%s", s->sc_db);
    return true;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void scratch_remove(scratch *s)
{
    if (s->sc_dir[0])
        nftw(s->sc_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    s->sc_dir[0] = '\0';
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The environment of a sync against simulator `s` with the test token. */
typedef struct sim_env {
    char se_url[96];
    char se_token[96];
    const char *se_vars[4];
} sim_env;

static const char *const *sim_vars(sim_env *e, const tl_sim *s, const char *token)
{
    snprintf(e->se_url, sizeof(e->se_url), "HUBSPOT_BASE_URL=%s", s->s_base_url);
    snprintf(e->se_token, sizeof(e->se_token), "HUBSPOT_ACCESS_TOKEN=%s", token);
    e->se_vars[0] = e->se_url;
    e->se_vars[1] = e->se_token;
    e->se_vars[2] = NULL;
    return e->se_vars;
}

static bool start_sim(tl_sim *s, const char *const *extra)
{
    const char *args[32] = {IT_SMALL_PORTAL, "--tier", "unlimited", "--token", SECRET};
    size_t n = 0;
    while (args[n])
        n++;
    for (size_t i = 0; extra && extra[i] && n < 30; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    return tl_sim_start(s, args) == 0;
}

/* ---- status --json ------------------------------------------------------- */

/* The entry of `table` in a status --json document, or NULL. */
static json_object *status_table(json_object *doc, const char *table)
{
    json_object *tables = tl_jget(doc, "tables");
    for (size_t i = 0; tables && i < json_object_array_length(tables); i++) {
        json_object *t = json_object_array_get_idx(tables, i);
        if (tl_str_eq(tl_jstr(t, "table"), table))
            return t;
    }
    return NULL;
}

/* The suffixes of the sim's rollup labels, sorted as setup stores them:
 * a count rollup alone, and one with per-label rollups too (the three
 * labels of the default portal). */
static const char *const count_only[] = {"count", NULL};
static const char *const with_labels[] = {"billing_contact", "count", "decision_maker", "manager",
                                          NULL};

/* Checks one table's stored options: its ping type and, when it has
 * rollups (`suffixes` non-NULL), the sim's labels for it. */
static void check_options(json_object *doc, const char *table, const char *const *suffixes)
{
    bool incremental = suffixes != NULL;
    json_object *t = status_table(doc, table);
    if (!CHECKF(t != NULL, "status has no table %s", table))
        return;
    CHECKF(tl_str_eq(tl_jstr(t, "table_options.ping_type"),
                     incremental ? "read_incremental_ping" : "read_full_ping"),
           "%s: ping_type %s", table, tl_jstr(t, "table_options.ping_type"));
    json_object *sup = tl_jget(t, "table_options.supports_roll_up");
    CHECKF(sup && json_object_get_boolean(sup) == incremental, "%s: supports_roll_up", table);
    char parent[32];
    snprintf(parent, sizeof(parent), "%.*s", (int)strcspn(table, "_"), table);
    CHECK_STR(tl_jstr(t, "table_options.rollup_fields_object_id"), parent);
    size_t want = 0;
    while (suffixes && suffixes[want])
        want++;
    size_t n = tl_jlen(t, "table_options.rollup_field_labels");
    CHECKF(n == want, "%s: %zu labels, want %zu", table, n, want);
    for (size_t i = 0; i < n && i < want; i++) {
        char path[64], label[128];
        snprintf(path, sizeof(path), "table_options.rollup_field_labels.%zu", i);
        snprintf(label, sizeof(label), "sync_associations_%s_label_%s", table, suffixes[i]);
        CHECK_STR(tl_jstr(t, path), label);
    }
}

static json_object *status_json(const char *const *vars, const scratch *sc)
{
    cli_out o;
    const char *args[] = {"status", "--json", sc->sc_db_arg, NULL};
    json_object *doc = NULL;
    if (CHECK_EQ(cli(vars, args, &o), 0)) {
        doc = json_tokener_parse(o.co_out);
        CHECKF(doc != NULL, "status --json is not JSON: %.200s", o.co_out);
    }
    cli_free(&o);
    return doc;
}

/* The six default tables in the order commands print them, with whether
 * the simulator's default --rollups gives them rollup fields, and whether
 * those are a count alone (relabels unwatched: doctor warns) rather than a
 * count and one per label (companies_contacts:labels). */
static const struct {
    const char *dt_table, *dt_pair;
    bool dt_rollups, dt_count_only;
} default_tables[6] = {
    {"companies_contacts", "companies/contacts", true, false},
    {"companies_deals", "companies/deals", true, true},
    {"companies_tickets", "companies/tickets", false, false},
    {"contacts_deals", "contacts/deals", true, true},
    {"contacts_tickets", "contacts/tickets", false, false},
    {"deals_tickets", "deals/tickets", false, false},
};

/* ---- tests --------------------------------------------------------------- */

static void test_help(void)
{
    static const char *const forms[][2] = {{"--help", NULL}, {"help", NULL}, {"-h", NULL}};
    static const char *const codes[] = {"0  success",
                                        "1  run incomplete, safe to rerun",
                                        "2  usage or configuration error",
                                        "3  authentication failed",
                                        "4  another run holds this database",
                                        "5  daily API limit exhausted"};
    for (size_t f = 0; f < 3; f++) {
        cli_out o;
        CHECK_EQ(cli(NULL, forms[f], &o), 0);
        for (size_t i = 0; i < 6; i++)
            CHECKF(has(o.co_out, codes[i]), "%s: no '%s'", forms[f][0], codes[i]);
        static const char *const words[] = {"setup",
                                            "run",
                                            "status",
                                            "doctor",
                                            "export",
                                            "bench",
                                            "--token-file",
                                            "HUBSPOT_ACCESS_TOKEN",
                                            "--tables",
                                            "--lag-ms",
                                            "--reference-design"};
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
            CHECKF(has(o.co_out, words[i]), "%s: no '%s'", forms[f][0], words[i]);
        CHECK_STR(o.co_err, "");
        cli_free(&o);
    }
    /* The version, three ways, from the VERSION file (and the commit). */
    static const char *const versions[][3] = {{"--version", NULL}, {"-V", NULL}, {"version", NULL}};
    char want[64] = "hubsync ";
    FILE *vf = fopen("VERSION", "r");
    if (vf) {
        if (!fgets(want + 8, (int)sizeof(want) - 8, vf))
            want[8] = '\0';
        want[strcspn(want, "\n")] = '\0';
        fclose(vf);
    }
    CHECKF(strlen(want) > 8, "no VERSION file in %s", getcwd((char[256]){0}, 256));
    for (size_t i = 0; i < 3; i++) {
        cli_out v;
        CHECK_EQ(cli(NULL, versions[i], &v), 0);
        CHECKF(strncmp(v.co_out, want, strlen(want)) == 0, "%s printed '%s', want '%s…'",
               versions[i][0], v.co_out, want);
        cli_free(&v);
    }
    /* One command's usage: its own flags, and no other command's. */
    static const char *const per_command[][3] = {{"help", "export", NULL},
                                                 {"export", "--help", NULL}};
    for (size_t i = 0; i < 2; i++) {
        cli_out u;
        CHECK_EQ(cli(NULL, per_command[i], &u), 0);
        CHECKF(has(u.co_out, "usage: hubsync [FLAGS] export [FLAGS]") &&
                   has(u.co_out, "--objects") && has(u.co_out, "--db") &&
                   !has(u.co_out, "--full-scan"),
               "%s %s: %s", per_command[i][0], per_command[i][1], u.co_out);
        cli_free(&u);
    }
    /* --help wins wherever it stands (after a command: that command's). */
    cli_out o;
    const char *late[] = {"status", "--workers", "3", "--help", NULL};
    CHECK_EQ(cli(NULL, late, &o), 0);
    CHECK(has(o.co_out, "usage: hubsync [FLAGS] status [FLAGS]"));
    cli_free(&o);
    const char *early[] = {"--help", "--workers", "3", NULL};
    CHECK_EQ(cli(NULL, early, &o), 0);
    CHECK(has(o.co_out, "Exit codes"));
    cli_free(&o);
    /* No command: a usage error. */
    CHECK_EQ(cli(NULL, NULL, &o), 2);
    CHECK(has(o.co_err, "no command"));
    CHECK_STR(o.co_out, "");
    cli_free(&o);
    /* bench hands its arguments to scripts/bench.sh, which names a bad one. */
    const char *bench[] = {"bench", "--bogus", NULL};
    CHECK_EQ(cli(NULL, bench, &o), 2);
    CHECK(has(o.co_err, "unknown argument '--bogus'"));
    cli_free(&o);
}

/* A refused command line: exit 2, one line on stderr naming the problem,
 * nothing on stdout, nothing written to the database directory. */
typedef struct bad_case {
    const char *bc_args[8];
    const char *bc_vars[6];
    const char *bc_expect; /* a substring of the message */
    const char *bc_never;  /* a substring the message must not show, or NULL */
} bad_case;

static void test_bad_command_lines(void)
{
    scratch sc = {0};
    REQUIRE(scratch_make(&sc));
    static const bad_case cases[] = {
        {{"status", "--workers", "0"}, {0}, "--workers", NULL},
        {{"status", "--workers", "65"}, {0}, "--workers", NULL},
        {{"--workers", "two", "status"}, {0}, "--workers", NULL},
        {{"status", "--inflight", "0"}, {0}, "--inflight", NULL},
        {{"status", "--rate", "190"}, {0}, "--rate", NULL},
        {{"status", "--rate", "190/10h"}, {0}, "--rate", NULL},
        {{"status", "--search-rate", "x"}, {0}, "--search-rate", NULL},
        {{"status", "--daily", "-5"}, {0}, "--daily", NULL},
        {{"status", "--lag-ms", "1e3"}, {0}, "--lag-ms", NULL},
        {{"status", "--log-format", "xml"}, {0}, "--log-format", NULL},
        {{"status", "--progress", "sometimes"}, {0}, "--progress", NULL},
        {{"status", "--frobnicate"}, {0}, "--frobnicate", NULL},
        {{"status", "--db"}, {0}, "--db needs a value", NULL},
        {{"frob"}, {0}, "unknown command 'frob'", NULL},
        {{"status", "export"}, {0}, "unexpected argument 'export'", NULL},
        {{"status", "--loop"}, {0}, "--loop applies only to `hubsync run`", NULL},
        {{"run", "--interval", "5"}, {0}, "--interval needs --loop", NULL},
        {{"status", "--format", "tsv"}, {0}, "--format applies only", NULL},
        {{"export", "--format", "xml"}, {0}, "--format", NULL},
        {{"export", "--table", "deals_companies"},
         {0},
         "deals_companies: use companies_deals",
         NULL},
        {{"export", "--json"}, {0}, "--format jsonl", NULL},
        {{"--tables", "contacts_companies", "status"},
         {0},
         "contacts_companies: use companies_contacts",
         NULL},
        {{"status", "--tables", "companies_contacts,ticket_contact"},
         {0},
         "ticket_contact: use contacts_tickets",
         NULL},
        {{"status", "--tables", "companies_widgets"},
         {0},
         "unknown table 'companies_widgets'",
         NULL},
        {{"status", "--tables", "calls_notes"}, {0}, "no associations between", NULL},
        {{"status", "--tables", "companies_contacts,,deals_tickets"}, {0}, "empty table", NULL},
        {{"status"}, {"HUBSYNC_TABLES=deals_contacts"}, "HUBSYNC_TABLES: deals_contacts", NULL},
        /* Every valued flag has a variable (cli.c): checked alike, named in the
         * message; the flag wins; a variable for another command's flag is
         * ignored, where the flag itself is refused. */
        {{"status"}, {"HUBSYNC_WORKERS=4x"}, "HUBSYNC_WORKERS '4x': expected a whole number", NULL},
        {{"status", "--workers", "2"}, {"HUBSYNC_WORKERS=4x"}, "no hubsync database", "WORKERS"},
        {{"status"}, {"HUBSYNC_PROGRESS=yes"}, "HUBSYNC_PROGRESS 'yes': expected auto", NULL},
        {{"status"}, {"HUBSYNC_LOG_FORMAT=json"}, "\"level\":\"error\"", NULL},
        {{"status"}, {"HUBSYNC_RATE=10/1m"}, "HUBSYNC_RATE '10/1m'", NULL},
        {{"status"},
         {"HUBSYNC_TOKEN_FILE=/nonexistent/t"},
         "HUBSYNC_TOKEN_FILE /nonexistent/t",
         NULL},
        {{"status"}, {"HUBSYNC_MAX_DURATION=soon"}, "no hubsync database", "MAX_DURATION"},
        {{"run"}, {"HUBSYNC_MAX_DURATION=soon"}, "HUBSYNC_MAX_DURATION 'soon'", NULL},
        {{"run"}, {"HUBSYNC_VERIFY_FRACTION=2"}, "HUBSYNC_VERIFY_FRACTION '2'", NULL},
        {{"export", "--markdown"}, {0}, "--markdown applies only to `hubsync help`", NULL},
        /* With JSON logs asked for, a usage error is a JSON line too. */
        {{"--log-format", "json", "status", "--workers", "x"},
         {0},
         "\"level\":\"error\"",
         "hubsync:"},
        {{"status", "--log-format", "json", "--progress", "always"},
         {0},
         "--progress always draws a bar on stderr",
         NULL},
        {{"push"}, {0}, "push needs a TARGET", NULL},
        {{"push", "mysql://u:hunter2-secret@h/db"}, {0}, "neither sqlite:PATH", "hunter2"},
        {{"push", "sqlite:"}, {0}, "neither sqlite:PATH", NULL},
        {{"push", "sqlite:a.db", "sqlite:b.db"}, {0}, "unexpected argument 'sqlite:b.db'", NULL},
        {{"export", "--snapshot"}, {0}, "--snapshot applies only to `hubsync push`", NULL},
        {{"push", "--objects", "deals", "sqlite:a.db"}, {0}, "--objects applies only", NULL},
        {{"status", "--token", "hunter2-secret"}, {0}, "--token is not accepted", "hunter2"},
        {{"status", "--token=hunter2-secret"}, {0}, "--token is not accepted", "hunter2"},
        {{"status", "--api-key=hunter2-secret"}, {0}, "unknown flag --api-key", "hunter2"},
        {{"status", "--base-url", "http://api.hubapi.com"}, {0}, "loopback", NULL},
        {{"status", "--base-url", "http://127.0.0.1.example.com"}, {0}, "loopback", NULL},
        {{"status"}, {"HUBSPOT_BASE_URL=ftp://127.0.0.1"}, "HUBSPOT_BASE_URL", NULL},
        {{"status", "--ca-file", "/nonexistent/ca.pem"}, {0}, "/nonexistent/ca.pem", NULL},
        {{"setup"}, {0}, "no HubSpot credentials", NULL},
        {{"doctor"}, {0}, "no HubSpot credentials", NULL},
        {{"status"}, {"HUBSPOT_CLIENT_ID=id"}, "HUBSPOT_REFRESH_TOKEN", "=id"},
        {{"status"},
         {"HUBSPOT_ACCESS_TOKEN=has space-" SECRET},
         "HUBSPOT_ACCESS_TOKEN contains a space",
         NULL},
        {{"status"},
         {"HUBSPOT_ACCESS_TOKEN=" SECRET, "HUBSPOT_REFRESH_TOKEN=r", "HUBSPOT_CLIENT_ID=i",
          "HUBSPOT_CLIENT_SECRET=s"},
         "use one",
         NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const bad_case *bc = &cases[i];
        const char *args[12];
        size_t n = 0;
        args[n++] = sc.sc_db_arg; /* a flag before the command */
        for (size_t k = 0; bc->bc_args[k]; k++)
            args[n++] = bc->bc_args[k];
        args[n] = NULL;
        cli_out o;
        int rc = cli(bc->bc_vars[0] ? bc->bc_vars : NULL, args, &o);
        CHECKF(rc == 2, "case %zu (%s …): exit %d, stderr %s", i, bc->bc_args[0], rc, o.co_err);
        CHECKF(has(o.co_err, bc->bc_expect), "case %zu: '%s' not in: %s", i, bc->bc_expect,
               o.co_err);
        /* One line, and with JSON logs the command's exit line after it. */
        size_t lines = count_lines(o.co_err) - (has(o.co_err, "\"event\":\"exit\"") ? 1 : 0);
        CHECKF(lines == 1, "case %zu: %zu lines: %s", i, lines, o.co_err);
        CHECKF(!bc->bc_never || !has(o.co_err, bc->bc_never), "case %zu: shows '%s': %s", i,
               bc->bc_never, o.co_err);
        CHECKF(o.co_out[0] == '\0', "case %zu: stdout %s", i, o.co_out);
        CHECKF(!exists(sc.sc_db), "case %zu wrote %s", i, sc.sc_db);
        cli_free(&o);
    }
done:
    scratch_remove(&sc);
}

static void test_token_file(void)
{
    tl_sim s = {0};
    scratch sc = {0};
    cli_out o = {0};
    char path[128], flag[160], url[96];
    REQUIRE(scratch_make(&sc));
    REQUIRE(start_sim(&s, NULL));
    snprintf(path, sizeof(path), "%s/token", sc.sc_dir);
    snprintf(flag, sizeof(flag), "--token-file=%s", path);
    snprintf(url, sizeof(url), "HUBSPOT_BASE_URL=%s", s.s_base_url);
    const char *vars[] = {url, NULL};
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs(SECRET "\n", f); /* the trailing newline is trimmed */
    fclose(f);

    /* 0644: refused, naming the file and its mode; nothing written. */
    REQUIRE(chmod(path, 0644) == 0);
    const char *setup[] = {sc.sc_db_arg, "setup", flag, NULL};
    CHECK_EQ(cli(vars, setup, &o), 2);
    CHECKF(has(o.co_err, path) && has(o.co_err, "0644") && has(o.co_err, "0600"), "%s", o.co_err);
    CHECK_EQ(count_lines(o.co_err), 1);
    CHECK(!exists(sc.sc_db));
    cli_free(&o);
    /* Any group or other bit, a set-ID bit, or no owner read: refused. */
    static const mode_t refused[] = {0640, 0604, 0660, 0200, 04600, 0700 | 0004};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        REQUIRE(chmod(path, refused[i]) == 0);
        char mode[8];
        snprintf(mode, sizeof(mode), "%04o", (unsigned)refused[i]);
        CHECK_EQ(cli(vars, setup, &o), 2);
        CHECKF(has(o.co_err, mode), "mode %s: %s", mode, o.co_err);
        CHECK(!exists(sc.sc_db));
        cli_free(&o);
    }
    /* 0400, as systemd's LoadCredential= writes it: accepted. */
    REQUIRE(chmod(path, 0400) == 0);
    CHECK_EQ(cli(vars, setup, &o), 0);
    CHECK(exists(sc.sc_db));
    cli_free(&o);

    /* 0600: accepted; the flag wins over a wrong HUBSPOT_ACCESS_TOKEN. */
    REQUIRE(chmod(path, 0600) == 0);
    const char *vars_wrong[] = {url, "HUBSPOT_ACCESS_TOKEN=pat-na1-wrong", NULL};
    CHECK_EQ(cli(vars_wrong, setup, &o), 0);
    CHECK(exists(sc.sc_db));
    cli_free(&o);

    /* A missing file and a directory are refused too. */
    char missing[160];
    snprintf(missing, sizeof(missing), "--token-file=%s/absent", sc.sc_dir);
    const char *setup_missing[] = {sc.sc_db_arg, "setup", missing, NULL};
    CHECK_EQ(cli(vars, setup_missing, &o), 2);
    CHECK(has(o.co_err, "absent"));
    cli_free(&o);
    char dir[160];
    snprintf(dir, sizeof(dir), "--token-file=%s", sc.sc_dir);
    const char *setup_dir[] = {sc.sc_db_arg, "setup", dir, NULL};
    CHECK_EQ(cli(vars, setup_dir, &o), 2);
    cli_free(&o);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    cli_free(&o);
    tl_sim_stop(&s);
    scratch_remove(&sc);
}

/* Refused credentials: exit 3, no database created, the token unprinted. */
static void test_auth_refused(void)
{
    tl_sim s = {0};
    scratch sc = {0};
    cli_out o = {0};
    sim_env env;
    REQUIRE(scratch_make(&sc));
    REQUIRE(start_sim(&s, NULL));
    const char *const *bad = sim_vars(&env, &s, SECRET "-but-wrong");
    const char *setup[] = {"setup", sc.sc_db_arg, NULL};
    CHECK_EQ(cli(bad, setup, &o), 3);
    CHECK(has(o.co_err, "INVALID_AUTHENTICATION"));
    CHECK(!has(o.co_err, "-but-wrong"));
    CHECK(!exists(sc.sc_db));
    cli_free(&o);
    const char *doctor[] = {"doctor", sc.sc_db_arg, "--log-format", "json", NULL};
    CHECK_EQ(cli(bad, doctor, &o), 3);
    CHECK(!has(o.co_err, "-but-wrong"));
    json_object *line = json_tokener_parse(o.co_err);
    CHECKF(line && tl_str_eq(tl_jstr(line, "level"), "error"), "not a JSON log line: %s", o.co_err);
    json_object_put(line);
    CHECK(!exists(sc.sc_db));
    cli_free(&o);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    cli_free(&o);
    tl_sim_stop(&s);
    scratch_remove(&sc);
}

/* OAuth: setup refreshes a token with the three credentials; a refused
 * client secret is exit 3 and never printed. */
static void test_oauth(void)
{
    tl_sim s = {0};
    scratch sc = {0};
    cli_out o = {0};
    char url[96];
    REQUIRE(scratch_make(&sc));
    const char *args[] = {IT_SMALL_PORTAL, "--tier",          "unlimited", "--auth",
                          "oauth",         "--client-secret", SECRET,      NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    snprintf(url, sizeof(url), "HUBSPOT_BASE_URL=%s", s.s_base_url);
    const char *good[] = {url, "HUBSPOT_REFRESH_TOKEN=sim-refresh-token",
                          "HUBSPOT_CLIENT_ID=sim-client-id", "HUBSPOT_CLIENT_SECRET=" SECRET, NULL};
    const char *bad[] = {url, "HUBSPOT_REFRESH_TOKEN=sim-refresh-token",
                         "HUBSPOT_CLIENT_ID=sim-client-id",
                         "HUBSPOT_CLIENT_SECRET=" SECRET "-but-wrong", NULL};
    const char *setup[] = {"setup", sc.sc_db_arg, NULL};
    CHECK_EQ(cli(bad, setup, &o), 3);
    CHECK(has(o.co_err, "HUBSPOT_CLIENT_SECRET"));
    CHECK(!has(o.co_err, "-but-wrong"));
    CHECK(!exists(sc.sc_db));
    cli_free(&o);
    CHECK_EQ(cli(good, setup, &o), 0);
    CHECK(has(o.co_out, "6 tables saved"));
    cli_free(&o);
    json_object *stats = tl_stats(&s);
    CHECK(tl_jint_or(stats, "tokens_issued", 0) >= 1);
    json_object_put(stats);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    cli_free(&o);
    tl_sim_stop(&s);
    scratch_remove(&sc);
}

/* Setup with the simulator's default rollups; status --json shows them; one
 * properties call per distinct parent type. */
static void test_setup_detects_rollups(void)
{
    tl_sim s = {0};
    scratch sc = {0};
    cli_out o = {0};
    sim_env env;
    json_object *doc = NULL, *stats = NULL;
    REQUIRE(scratch_make(&sc));
    REQUIRE(start_sim(&s, NULL));
    const char *const *vars = sim_vars(&env, &s, SECRET);
    const char *setup[] = {"setup", sc.sc_db_arg, NULL};
    REQUIRE(CHECK_EQ(cli(vars, setup, &o), 0));
    CHECK(has(o.co_out, "companies_contacts: read_incremental_ping"));
    CHECK(has(o.co_out, "companies_tickets: read_full_ping"));
    CHECK(has(o.co_out, "6 tables saved"));
    cli_free(&o);

    stats = tl_stats(&s);
    CHECK_EQ(tl_jint_or(stats, "requests.GET /crm/v3/properties/companies", -1), 1);
    CHECK_EQ(tl_jint_or(stats, "requests.GET /crm/v3/properties/contacts", -1), 1);
    CHECK_EQ(tl_jint_or(stats, "requests.GET /crm/v3/properties/deals", -1), 1);
    CHECK_EQ(tl_jint_or(stats, "requests.GET /crm/v3/properties/tickets", 0), 0);
    /* And each table's association labels, which export names types by. */
    for (size_t i = 0; i < 6; i++) {
        char key[96];
        snprintf(key, sizeof(key), "requests.GET /crm/v4/associations/%s/labels",
                 default_tables[i].dt_pair);
        CHECKF(tl_jint_or(stats, key, -1) == 1, "%s", key);
    }
    CHECK_EQ(tl_jint_or(stats, "total", -1), 3 + 6);

    /* setup --json: no look-alikes in the simulator's default portal. */
    const char *setup_json[] = {"setup", "--json", sc.sc_db_arg, NULL};
    REQUIRE(CHECK_EQ(cli(vars, setup_json, &o), 0));
    REQUIRE((doc = json_tokener_parse(o.co_out)) != NULL);
    CHECK_EQ(tl_jlen(doc, "tables"), 6);
    for (size_t i = 0; i < tl_jlen(doc, "tables"); i++) {
        char path[64];
        snprintf(path, sizeof(path), "tables.%zu.lookalikes", i);
        CHECKF(tl_jis(doc, path, json_type_array) && tl_jlen(doc, path) == 0, "%s", path);
    }
    CHECK_STR(tl_jstr(doc, "tables.0.change"), "unchanged");
    json_object_put(doc);
    doc = NULL;
    cli_free(&o);

    REQUIRE((doc = status_json(vars, &sc)) != NULL);
    CHECK_EQ(tl_jlen(doc, "tables"), 6);
    check_options(doc, "companies_contacts", with_labels);
    check_options(doc, "companies_deals", count_only);
    check_options(doc, "contacts_deals", count_only);
    check_options(doc, "companies_tickets", NULL);
    check_options(doc, "contacts_tickets", NULL);
    check_options(doc, "deals_tickets", NULL);
    json_object *t = status_table(doc, "companies_contacts");
    CHECK_STR(tl_jstr(t, "cursor.kind"), "none");
    CHECK_STR(tl_jstr(t, "cursor.meaning"), "full scan from 0");
    CHECK_STR(tl_jstr(t, "next_route"), "full_scan");
    CHECK_EQ(tl_jint_or(t, "associations", -1), 0);
    CHECK(tl_jis(t, "last_run", json_type_null));

    /* Flags before or after the command, and --db over HUBSYNC_DB. */
    char env_db[160];
    snprintf(env_db, sizeof(env_db), "HUBSYNC_DB=%s/elsewhere", sc.sc_dir);
    const char *vars_db[] = {vars[0], vars[1], env_db, NULL};
    const char *late[] = {"status", "--json", sc.sc_db_arg, "--tables", "deals_tickets", NULL};
    CHECK_EQ(cli(vars_db, late, &o), 0);
    json_object *one = json_tokener_parse(o.co_out);
    CHECK_EQ(tl_jlen(one, "tables"), 1);
    CHECK_STR(tl_jstr(one, "tables.0.table"), "deals_tickets");
    json_object_put(one);
    cli_free(&o);
    /* HUBSYNC_DB alone names a database that does not exist: exit 2. */
    const char *env_only[] = {"status", NULL};
    CHECK_EQ(cli(vars_db, env_only, &o), 2);
    CHECK(has(o.co_err, "elsewhere"));
    cli_free(&o);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(doc);
    json_object_put(stats);
    cli_free(&o);
    tl_sim_stop(&s);
    scratch_remove(&sc);
}

/* ---- data written straight into the store ---------------------------------- */

/* Writes three associations of companies_contacts, one of deals_tickets and
 * cursors for both, as a run would. The store is closed before returning:
 * the test forks hubsync next (store.h rule 2). */
static bool seed_store(const char *db)
{
    store *st = NULL;
    store_txn *t = NULL;
    assoc_buf b;
    err_info e = {0};
    bool ok = false;
    assoc_buf_init(&b);
    hs_table cc = {HS_COMPANIES, HS_CONTACTS}, dt = {HS_DEALS, HS_TICKETS};
    if (store_open(db, NULL, &st, &e) || store_txn_begin(st, STORE_TXN_WRITE, &t, &e))
        goto out;
    /* Parent 5000000001: child 7 (primary, unlabeled, a user label) and
     * child 9 (unlabeled twice: HUBSPOT_DEFINED and, oddly, WORK: one ID). */
    if (assoc_buf_begin_parent(&b, 5000000001ULL) || assoc_buf_add_link(&b, 9) ||
        assoc_buf_add_type(&b, 280, ASSOC_HUBSPOT_DEFINED, NULL, 0) ||
        assoc_buf_add_type(&b, 280, ASSOC_WORK, NULL, 0) || assoc_buf_add_link(&b, 7) ||
        assoc_buf_add_type(&b, 280, ASSOC_HUBSPOT_DEFINED, NULL, 0) ||
        assoc_buf_add_type(&b, 2, ASSOC_HUBSPOT_DEFINED, "Primary", 7) ||
        /* 1099: a type the portal's label catalog does not list, so export
         * shows the label stored with the link. */
        assoc_buf_add_type(&b, 1099, ASSOC_USER_DEFINED, "Decision \"maker\"", 16) ||
        assoc_buf_finish_parent(&b))
        goto out;
    /* Parent 18446744073709551000 (beyond 2^63): child 1, no types at all. */
    if (assoc_buf_begin_parent(&b, 18446744073709551000ULL) || assoc_buf_add_link(&b, 1) ||
        assoc_buf_finish_parent(&b))
        goto out;
    if (store_replace_set(t, cc, &b, 0, NULL, &e) || store_replace_set(t, cc, &b, 1, NULL, &e))
        goto out;
    assoc_buf_reset(&b);
    if (assoc_buf_begin_parent(&b, 42) || assoc_buf_add_link(&b, 43) ||
        assoc_buf_add_type(&b, 27, ASSOC_HUBSPOT_DEFINED, NULL, 0) || assoc_buf_finish_parent(&b) ||
        store_replace_set(t, dt, &b, 0, NULL, &e))
        goto out;
    store_state cc_state = {0}, dt_state = {0};
    cc_state.ss_cursor = store_cursor_timestamp_ms(1702857600000LL);
    cc_state.ss_runs = 2;
    cc_state.ss_last_run.sr_route = STORE_ROUTE_INCREMENTAL;
    cc_state.ss_last_run.sr_started_ms = 1702857600000LL;
    cc_state.ss_last_run.sr_finished_ms = 1702857601500LL;
    cc_state.ss_last_run.sr_completed = true;
    cc_state.ss_last_run.sr_parents = 3;
    cc_state.ss_last_run.sr_api_calls = 4;
    dt_state.ss_cursor = store_cursor_object_id(42);
    dt_state.ss_scan_started_ms = 1702857600000LL;
    if (store_put_state(t, "companies_contacts", &cc_state, &e) ||
        store_put_state(t, "deals_tickets", &dt_state, &e))
        goto out;
    ok = store_txn_commit(t, &e) == 0;
    t = NULL;
out:
    if (!ok)
        fprintf(stderr, "    seeding the store: %s\n", e.ei_msg);
    store_txn_abort(t);
    store_close(st);
    assoc_buf_free(&b);
    return ok;
}

/* Setup twice keeps cursors and data; export prints them in both formats. */
static void test_setup_keeps_data_and_export(void)
{
    tl_sim s = {0};
    scratch sc = {0};
    cli_out o = {0};
    sim_env env;
    json_object *doc = NULL;
    REQUIRE(scratch_make(&sc));
    REQUIRE(start_sim(&s, NULL));
    const char *const *vars = sim_vars(&env, &s, SECRET);
    const char *setup[] = {"setup", sc.sc_db_arg, NULL};
    REQUIRE(CHECK_EQ(cli(vars, setup, &o), 0));
    cli_free(&o);

    /* Tables never synced export nothing and say so, in every format. */
    const char *exp_tsv[] = {"export", sc.sc_db_arg, "--tables", "companies_contacts,deals_tickets",
                             NULL};
    const char *exp_jsonl[] = {
        "export",   sc.sc_db_arg, "--tables", "companies_contacts,deals_tickets",
        "--format", "jsonl",      NULL};
    const char *exp_csv[] = {"export", sc.sc_db_arg, "--format", "csv", NULL};
    const char *const *never[] = {exp_tsv, exp_jsonl, exp_csv};
    for (size_t i = 0; i < 3; i++) {
        CHECK_EQ(cli(vars, never[i], &o), 2);
        CHECK_STR(o.co_out, "");
        CHECKF(has(o.co_err, "companies_contacts was never synced"), "%s", o.co_err);
        cli_free(&o);
    }

    REQUIRE(seed_store(sc.sc_db));
    /* The rollups move: setup re-detects, keeping cursors and data. */
    tl_resp r;
    tl_post_json(&s, "/_sim/config", NULL, "{\"rollups\":\"deals_tickets\"}", &r);
    CHECK_EQ(r.r_status, 200);
    tl_resp_free(&r);
    REQUIRE(CHECK_EQ(cli(vars, setup, &o), 0));
    CHECK(has(o.co_out, "companies_contacts: read_full_ping (was read_incremental_ping)"));
    CHECK(has(o.co_out, "deals_tickets: read_incremental_ping (was read_full_ping)"));
    CHECK(has(o.co_out, "contacts_tickets: read_full_ping (unchanged)"));
    cli_free(&o);

    REQUIRE((doc = status_json(vars, &sc)) != NULL);
    json_object *cc = status_table(doc, "companies_contacts");
    json_object *dt = status_table(doc, "deals_tickets");
    CHECK_STR(tl_jstr(cc, "cursor.kind"), "timestamp_ms");
    CHECK_EQ(tl_jint_or(cc, "cursor.timestamp_ms", -1), 1702857600000LL);
    CHECK_STR(tl_jstr(cc, "cursor.iso"), "2023-12-18T00:00:00.000Z");
    CHECK_STR(tl_jstr(cc, "next_route"), "full_scan"); /* read_full_ping now */
    CHECK_EQ(tl_jint_or(cc, "associations", -1), 3);
    CHECK_EQ(tl_jint_or(cc, "runs", -1), 2);
    CHECK_STR(tl_jstr(cc, "last_run.route"), "incremental");
    CHECK_EQ(tl_jint_or(cc, "last_run.api_calls", -1), 4);
    CHECK_STR(tl_jstr(dt, "cursor.kind"), "object_id");
    CHECK_STR(tl_jstr(dt, "cursor.object_id"), "42");
    CHECK_STR(tl_jstr(dt, "cursor.meaning"), "full scan in progress after ID 42");
    CHECK_STR(tl_jstr(dt, "next_route"), "full_scan_resume");
    CHECK_EQ(tl_jint_or(dt, "associations", -1), 1);
    CHECK_STR(tl_jstr(dt, "table_options.ping_type"), "read_incremental_ping");
    /* The text form says what the cursor means. */
    const char *status_text[] = {"status", sc.sc_db_arg, NULL};
    CHECK_EQ(cli(vars, status_text, &o), 0);
    CHECK(has(o.co_out, "full scan in progress after ID 42"));
    cli_free(&o);

    /* TSV: type IDs distinct and ascending; a link without types has none. */
    CHECK_EQ(cli(vars, exp_tsv, &o), 0);
    CHECK_STR(o.co_out, "companies_contacts\t5000000001\t7\t2,280,1099\n"
                        "companies_contacts\t5000000001\t9\t280\n"
                        "companies_contacts\t18446744073709551000\t1\t\n"
                        "deals_tickets\t42\t43\t27\n");
    cli_free(&o);
    const char *exp_one[] = {"export", "--table", "deals_tickets", sc.sc_db_arg, NULL};
    CHECK_EQ(cli(vars, exp_one, &o), 0);
    CHECK_STR(o.co_out, "deals_tickets\t42\t43\t27\n");
    cli_free(&o);

    /* JSONL: one object per line, IDs as strings, labels null or strings. */
    CHECK_EQ(cli(vars, exp_jsonl, &o), 0);
    CHECK_EQ(count_lines(o.co_out), 4);
    char *lines[4] = {NULL};
    for (char *p = o.co_out, *nl; p && *p && (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        *nl = '\0';
        for (size_t i = 0; i < 4; i++)
            if (!lines[i]) {
                lines[i] = p;
                break;
            }
    }
    json_object *first = lines[0] ? json_tokener_parse(lines[0]) : NULL;
    CHECK_STR(tl_jstr(first, "table"), "companies_contacts");
    CHECK_STR(tl_jstr(first, "parent_id"), "5000000001");
    CHECK_STR(tl_jstr(first, "child_id"), "7");
    CHECK_EQ(tl_jlen(first, "types"), 3);
    CHECK_STR(tl_jstr(first, "types.0.category"), "HUBSPOT_DEFINED");
    CHECK_EQ(tl_jint_or(first, "types.0.typeId", -1), 2);
    CHECK_STR(tl_jstr(first, "types.0.label"), "Primary");
    CHECK(tl_jis(first, "types.1.label", json_type_null));
    CHECK_STR(tl_jstr(first, "types.2.category"), "USER_DEFINED");
    CHECK_STR(tl_jstr(first, "types.2.label"), "Decision \"maker\"");
    json_object_put(first);
    json_object *second = lines[1] ? json_tokener_parse(lines[1]) : NULL;
    CHECK_EQ(tl_jlen(second, "types"), 2);
    CHECK_STR(tl_jstr(second, "types.1.category"), "WORK");
    json_object_put(second);
    json_object *third = lines[2] ? json_tokener_parse(lines[2]) : NULL;
    CHECK_STR(tl_jstr(third, "parent_id"), "18446744073709551000");
    CHECK(tl_jis(third, "types", json_type_array) && tl_jlen(third, "types") == 0);
    json_object_put(third);
    cli_free(&o);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(doc);
    cli_free(&o);
    tl_sim_stop(&s);
    scratch_remove(&sc);
}

/* Whether the lines doctor printed for `table` (its line and the indented
 * ones below it) hold `needle`. */
static bool table_block_has(const char *out, const char *table, const char *needle)
{
    char head[80];
    snprintf(head, sizeof(head), "\n%s: ", table);
    const char *start = out ? strstr(out, head) : NULL;
    if (!start)
        return false;
    start++;
    const char *end = strchr(start, '\n');
    while (end && end[1] == ' ')
        end = strchr(end + 1, '\n');
    size_t n = end ? (size_t)(end - start) : strlen(start);
    char *block = strndup(start, n);
    bool found = block && strstr(block, needle) != NULL;
    free(block);
    return found;
}

/* Doctor's text against the simulator's default portal: each table whose
 * rollup fields are a count alone, with three user-defined labels, is
 * warned about; the others (per-label rollups, or none) are not. */
static void check_relabel_warnings(const char *out)
{
    for (size_t i = 0; i < 6; i++) {
        bool warned =
            table_block_has(out, default_tables[i].dt_table, "warning: relabels are not watched");
        CHECKF(warned == default_tables[i].dt_count_only, "%s: warned %d in:\n%s",
               default_tables[i].dt_table, (int)warned, out);
    }
    CHECK(has(out, "doctor: warnings (exit code unchanged) for 2 tables: companies_deals, "
                   "contacts_deals"));
    CHECK(has(out, "3 user-defined association labels"));
}

/* Doctor agrees after setup, names the tables whose rollups moved, and
 * agrees again after setup re-detects them; it warns about the tables whose
 * rollup fields count no user-defined label (a warning leaves exit 0). */
static void test_doctor(void)
{
    tl_sim s = {0};
    scratch sc = {0};
    cli_out o = {0};
    sim_env env;
    json_object *doc = NULL, *stats = NULL, *before = NULL;
    REQUIRE(scratch_make(&sc));
    REQUIRE(start_sim(&s, NULL));
    const char *const *vars = sim_vars(&env, &s, SECRET);
    const char *doctor[] = {"doctor", sc.sc_db_arg, NULL};
    const char *doctor_json[] = {sc.sc_db_arg, "doctor", "--json", NULL};
    const char *setup[] = {"setup", sc.sc_db_arg, NULL};

    /* Before setup: every table disagrees, and doctor creates nothing. */
    CHECK_EQ(cli(vars, doctor, &o), 1);
    CHECK(has(o.co_out, "setup never ran"));
    CHECK(has(o.co_out, "run `hubsync setup`"));
    CHECK(!exists(sc.sc_db));
    cli_free(&o);

    REQUIRE(CHECK_EQ(cli(vars, setup, &o), 0));
    cli_free(&o);
    REQUIRE((before = tl_stats(&s)) != NULL);
    CHECK_EQ(cli(vars, doctor, &o), 0);
    CHECK(has(o.co_out, "all 6 tables agree"));
    CHECK(has(o.co_out, "companies_contacts: ok"));
    check_relabel_warnings(o.co_out);
    cli_free(&o);
    /* One labels call per table with rollup fields, none for the others. */
    REQUIRE((stats = tl_stats(&s)) != NULL);
    CHECK_EQ(tl_jint_or(stats, "total", -1) - tl_jint_or(before, "total", -1), 6);
    for (size_t i = 0; i < 6; i++) {
        char key[96];
        snprintf(key, sizeof(key), "requests.GET /crm/v4/associations/%s/labels",
                 default_tables[i].dt_pair);
        int64_t sent = tl_jint_or(stats, key, 0) - tl_jint_or(before, key, 0);
        CHECKF(sent == (default_tables[i].dt_rollups ? 1 : 0), "%s: %lld", key, (long long)sent);
    }
    CHECK_EQ(cli(vars, doctor_json, &o), 0);
    REQUIRE((doc = json_tokener_parse(o.co_out)) != NULL);
    CHECK(tl_jis(doc, "ok", json_type_boolean) && json_object_get_boolean(tl_jget(doc, "ok")));
    CHECK_EQ(tl_jint_or(doc, "tables_with_warnings", -1), 2);
    CHECK_EQ(tl_jint_or(doc, "api_calls", -1), 6);
    CHECK(tl_jis(doc, "clock_ahead_seconds", json_type_double) &&
          json_object_get_double(tl_jget(doc, "clock_ahead_seconds")) == 0.0); /* clocks agree */
    for (size_t i = 0; i < 6; i++) {
        char path[64];
        snprintf(path, sizeof(path), "tables.%zu.table", i);
        CHECK_STR(tl_jstr(doc, path), default_tables[i].dt_table);
        snprintf(path, sizeof(path), "tables.%zu.warnings", i);
        CHECKF(tl_jis(doc, path, json_type_array) &&
                   tl_jlen(doc, path) == (default_tables[i].dt_count_only ? 1u : 0u),
               "%s: %zu", path, tl_jlen(doc, path));
        snprintf(path, sizeof(path), "tables.%zu.lookalikes", i);
        CHECKF(tl_jis(doc, path, json_type_array) && tl_jlen(doc, path) == 0, "%s", path);
    }
    CHECK(has(tl_jstr(doc, "tables.1.warnings.0.warning"), "relabels are not watched"));
    CHECK(has(tl_jstr(doc, "tables.1.warnings.0.warning"), "Billing contact"));
    CHECK(has(tl_jstr(doc, "tables.1.warnings.0.fix"), "--verify-fraction"));
    json_object_put(doc);
    doc = NULL;
    cli_free(&o);

    tl_resp r;
    tl_post_json(&s, "/_sim/config", NULL, "{\"rollups\":\"companies_tickets\"}", &r);
    CHECK_EQ(r.r_status, 200);
    tl_resp_free(&r);
    CHECK_EQ(cli(vars, doctor, &o), 1);
    static const char *const moved[] = {"companies_contacts", "companies_deals",
                                        "companies_tickets", "contacts_deals"};
    for (size_t i = 0; i < 4; i++) {
        char want[64];
        snprintf(want, sizeof(want), "%s: MISMATCH", moved[i]);
        CHECKF(has(o.co_out, want), "no '%s' in:\n%s", want, o.co_out);
    }
    CHECK(has(o.co_out, "contacts_tickets: ok"));
    CHECK(has(o.co_out, "deals_tickets: ok"));
    CHECK(has(o.co_out, "4 of 6 tables disagree"));
    CHECK(has(o.co_out, "hubsync setup"));
    CHECK(has(o.co_out, "sync_associations_companies_contacts_label_"));
    cli_free(&o);
    CHECK_EQ(cli(vars, doctor_json, &o), 1);
    REQUIRE((doc = json_tokener_parse(o.co_out)) != NULL);
    CHECK(tl_jis(doc, "ok", json_type_boolean) && !json_object_get_boolean(tl_jget(doc, "ok")));
    CHECK_STR(tl_jstr(doc, "tables.2.table"), "companies_tickets");
    CHECK_STR(tl_jstr(doc, "tables.2.status"), "mismatch");
    CHECK_STR(tl_jstr(doc, "tables.2.expected.ping_type"), "read_incremental_ping");
    CHECK_STR(tl_jstr(doc, "tables.2.stored.ping_type"), "read_full_ping");
    CHECK(tl_jlen(doc, "tables.2.problems") >= 1);
    /* The warning follows the rollup fields in HubSpot, not the stored ones. */
    CHECK_EQ(tl_jlen(doc, "tables.2.warnings"), 1);
    CHECK_EQ(tl_jlen(doc, "tables.0.warnings"), 0);
    CHECK_EQ(tl_jint_or(doc, "tables_with_warnings", -1), 1);
    CHECK_STR(tl_jstr(doc, "tables.4.status"), "ok");
    cli_free(&o);

    REQUIRE(CHECK_EQ(cli(vars, setup, &o), 0));
    cli_free(&o);
    CHECK_EQ(cli(vars, doctor, &o), 0);
    CHECK(has(o.co_out, "all 6 tables agree"));
    cli_free(&o);
    json_object_put(doc);
    REQUIRE((doc = status_json(vars, &sc)) != NULL);
    check_options(doc, "companies_tickets", count_only);
    check_options(doc, "companies_contacts", NULL);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(doc);
    json_object_put(stats);
    json_object_put(before);
    cli_free(&o);
    tl_sim_stop(&s);
    scratch_remove(&sc);
}

/* Engagement tables never support rollups, even when labels exist. */
static void test_engagement_tables(void)
{
    tl_sim s = {0};
    scratch sc = {0};
    cli_out o = {0};
    sim_env env;
    json_object *doc = NULL;
    REQUIRE(scratch_make(&sc));
    const char *extra[] = {"--notes", "40", "--rollups", "contacts_notes,companies_contacts", NULL};
    REQUIRE(start_sim(&s, extra));
    const char *const *vars = sim_vars(&env, &s, SECRET);
    const char *setup[] = {"setup", "--tables", "contacts_notes,companies_contacts", sc.sc_db_arg,
                           NULL};
    REQUIRE(CHECK_EQ(cli(vars, setup, &o), 0));
    CHECK(has(o.co_out, "contacts_notes: read_full_ping"));
    CHECK(has(o.co_out, "engagement"));
    cli_free(&o);
    const char *status[] = {"status",     "--json", "--tables", "contacts_notes,companies_contacts",
                            sc.sc_db_arg, NULL};
    CHECK_EQ(cli(vars, status, &o), 0);
    REQUIRE((doc = json_tokener_parse(o.co_out)) != NULL);
    check_options(doc, "contacts_notes", NULL);
    check_options(doc, "companies_contacts", count_only);
    cli_free(&o);
    const char *doctor[] = {"doctor", "--tables", "contacts_notes,companies_contacts", sc.sc_db_arg,
                            NULL};
    CHECK_EQ(cli(vars, doctor, &o), 0);
    CHECK(has(o.co_out, "engagement tables can't use rollups"));
    cli_free(&o);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    json_object_put(doc);
    cli_free(&o);
    tl_sim_stop(&s);
    scratch_remove(&sc);
}

/* A process holding the run lock: setup gets 4; the readers still work. */
static void test_locked_database(void)
{
    tl_sim s = {0};
    scratch sc = {0};
    cli_out o = {0};
    sim_env env;
    pid_t holder = -1;
    int ready[2] = {-1, -1}, release[2] = {-1, -1};
    REQUIRE(scratch_make(&sc));
    REQUIRE(start_sim(&s, NULL));
    const char *const *vars = sim_vars(&env, &s, SECRET);
    const char *setup[] = {"setup", sc.sc_db_arg, NULL};
    REQUIRE(CHECK_EQ(cli(vars, setup, &o), 0));
    cli_free(&o);

    /* The holder is forked before anything opens the store here (store.h
     * rule 2); it holds the lock until the release pipe closes. */
    REQUIRE(pipe(ready) == 0 && pipe(release) == 0);
    holder = fork();
    REQUIRE(holder >= 0);
    if (holder == 0) {
        close(ready[0]);
        close(release[1]);
        store *st = NULL;
        char c = store_open(sc.sc_db, NULL, &st, NULL) == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1)
            _exit(1);
        while (read(release[0], &c, 1) > 0) {
        }
        store_close(st);
        _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    ready[1] = release[0] = -1;
    char c = 0;
    REQUIRE(read(ready[0], &c, 1) == 1 && c == 'y');

    CHECK_EQ(cli(vars, setup, &o), 4);
    CHECK(has(o.co_err, "held by another run"));
    cli_free(&o);
    const char *status[] = {"status", sc.sc_db_arg, NULL};
    CHECK_EQ(cli(vars, status, &o), 0);
    cli_free(&o);
    /* Export reads beside the run too: here it finds nothing synced yet. */
    const char *exp[] = {"export", sc.sc_db_arg, NULL};
    CHECK_EQ(cli(vars, exp, &o), 2);
    CHECKF(has(o.co_err, "was never synced"), "%s", o.co_err);
    cli_free(&o);
    const char *doctor[] = {"doctor", sc.sc_db_arg, NULL};
    CHECK_EQ(cli(vars, doctor, &o), 0);
    cli_free(&o);
    CHECK_EQ(tl_sim_stop(&s), 0);
done:
    if (release[1] >= 0)
        close(release[1]);
    if (holder > 0) {
        int st;
        waitpid(holder, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    for (int i = 0; i < 2; i++) {
        if (ready[i] >= 0)
            close(ready[i]);
    }
    if (release[0] >= 0)
        close(release[0]);
    cli_free(&o);
    tl_sim_stop(&s);
    scratch_remove(&sc);
}

/* A whole file as a NUL-terminated string (free it), or NULL. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while (f && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *p = realloc(buf, cap);
            if (!p)
                break;
            buf = p;
        }
        memcpy(buf + len, chunk, n);
        len += n;
        buf[len] = '\0';
    }
    if (f)
        fclose(f);
    return buf;
}

/* hubsync bench: a tiny grid, both engines, the table, the CSV and the PNG
 * written; every mirror equal (the script stops otherwise); the reference
 * pace needs more calls for the first sync. */
static void test_bench(void)
{
    scratch sc = {0};
    char out[160], path[200], *o = NULL, *err = NULL, *csv = NULL, *md = NULL;
    int status = 0;
    REQUIRE(scratch_make(&sc));
    snprintf(out, sizeof(out), "%s/bench", sc.sc_dir);
    const char *args[] = {"bench", "--sizes", "1500", "--changes", "20", "--out", out, NULL};
    REQUIRE(tl_run(hubsync_path(), args, 240000, &status, &o, &err) == 0);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "bench failed: %s", err);
    snprintf(path, sizeof(path), "%s/bench.csv", out);
    csv = read_text(path);
    snprintf(path, sizeof(path), "%s/bench.md", out);
    md = read_text(path);
    REQUIRE(csv && md);
    CHECK_EQ(count_lines(csv), 5); /* header, 2 engines x (full, incremental) */
    CHECK(has(md, "| 1,500 | first sync (list + full scan) |"));
    CHECK(has(md, "| 1,500 | incremental, 20 changed |"));
    long hub_full = -1, ref_full = -1;
    for (char *line = strchr(csv, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        char engine[16], phase[16];
        long calls, diff;
        if (sscanf(line + 1, "%*d,%*d,%15[^,],%15[^,],%ld,%*[^\n]", engine, phase, &calls) != 3)
            continue;
        const char *last = strrchr(line + 1, ',');
        diff = last ? strtol(last + 1, NULL, 10) : -1;
        CHECK_EQ(diff, 0);
        if (strcmp(phase, "full") == 0)
            *(strcmp(engine, "hubsync") == 0 ? &hub_full : &ref_full) = calls;
    }
    CHECK(hub_full > 0 && ref_full > hub_full);
    snprintf(path, sizeof(path), "%s/bench.png", out);
    FILE *png = fopen(path, "rb");
    unsigned char magic[8] = {0};
    CHECK(png && fread(magic, 1, 8, png) == 8 && memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0);
    if (png)
        fclose(png);
done:
    free(o);
    free(err);
    free(csv);
    free(md);
    scratch_remove(&sc);
}

int it_register_cli(void)
{
    CU_pSuite s = it_add_suite("cli");
    if (!s)
        return -1;
    int rc = 0;
    rc |= it_add_test(s, "help", test_help);
    rc |= it_add_test(s, "bad_command_lines", test_bad_command_lines);
    rc |= it_add_test(s, "token_file", test_token_file);
    rc |= it_add_test(s, "auth_refused", test_auth_refused);
    rc |= it_add_test(s, "oauth", test_oauth);
    rc |= it_add_test(s, "setup_detects_rollups", test_setup_detects_rollups);
    rc |= it_add_test(s, "setup_keeps_data_and_export", test_setup_keeps_data_and_export);
    rc |= it_add_test(s, "doctor", test_doctor);
    rc |= it_add_test(s, "engagement_tables", test_engagement_tables);
    rc |= it_add_test(s, "locked_database", test_locked_database);
    rc |= it_add_test(s, "bench", test_bench);
    return rc;
}
