/*
 * test_config — the config file (coordinator/conffile.c) and where each
 * setting comes from (coordinator/config.c): the KEY=VALUE syntax and each
 * refusal naming the file and line; a flag over its variable over the
 * file's line over the default; credentials in a file and its mode; the
 * default database (./hubsync-data, $STATE_DIRECTORY, $XDG_STATE_HOME,
 * $HOME); --log-level, -q and -v.
 *
 * Every test sets the variables it means and unsets the rest of hubsync's,
 * and runs in a scratch working directory, so the runner's environment and
 * folder cannot leak in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../coordinator/cli.h"
#include "../../coordinator/conffile.h"
#include "../../coordinator/config.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

static conf_file cf; /* large: not on the stack */

/* Parses `text` as file "f.conf"; 0 or the error code, message in *e. */
static int parse(const char *text, err_info *e)
{
    e->ei_msg[0] = '\0';
    return conf_parse(&cf, "f.conf", text, strlen(text), e);
}

static void test_syntax(void)
{
    err_info e;
    REQUIRE(parse("# a comment\n\n  ; another\nHUBSYNC_WORKERS=4\n"
                  "  HUBSYNC_RATE =  100/10s  \r\n"
                  "HUBSYNC_TABLES=\"companies_contacts, contacts_deals\"\n"
                  "HUBSYNC_DB='/var/lib/my db'\n"
                  "HUBSYNC_LAG_MS=5",
                  &e) == 0);
    CHECK_EQ(cf.cf_count, 5);
    const conf_entry *w = conf_find(&cf, "HUBSYNC_WORKERS");
    REQUIRE(w != NULL);
    CHECK_STR(w->ce_value, "4");
    CHECK_EQ(w->ce_line, 4);
    CHECK_STR(w->ce_src, "f.conf:4: HUBSYNC_WORKERS");
    CHECK_STR(conf_find(&cf, "HUBSYNC_RATE")->ce_value, "100/10s");
    CHECK_STR(conf_find(&cf, "HUBSYNC_TABLES")->ce_value, "companies_contacts, contacts_deals");
    CHECK_STR(conf_find(&cf, "HUBSYNC_DB")->ce_value, "/var/lib/my db");
    CHECK_STR(conf_find(&cf, "HUBSYNC_LAG_MS")->ce_value, "5"); /* no final newline */
    CHECK(conf_find(&cf, "HUBSYNC_INFLIGHT") == NULL);
    CHECK_EQ(cf.cf_secret_line, 0);
    /* A value may hold '=' and '#': only the first '=' splits. */
    REQUIRE(parse("HUBSYNC_METRICS_FILE=/tmp/a=b#c\n", &e) == 0);
    CHECK_STR(conf_find(&cf, "HUBSYNC_METRICS_FILE")->ce_value, "/tmp/a=b#c");
    REQUIRE(parse("", &e) == 0);
    CHECK_EQ(cf.cf_count, 0);
    REQUIRE(parse("\n# only comments\n", &e) == 0);
    REQUIRE(parse("HUBSPOT_CLIENT_ID=x\nHUBSPOT_ACCESS_TOKEN=y\n", &e) == 0);
    CHECK_EQ(cf.cf_secret_line, 1);
done:;
}

static void test_refusals(void)
{
    static const struct {
        const char *text;
        const char *expect;
        const char *never; /* a value that must not be echoed */
    } cases[] = {
        {"HUBSYNC_WORKRES=4\n",
         "f.conf:1: unknown key HUBSYNC_WORKRES (did you mean HUBSYNC_WORKERS?", NULL},
        {"\nHUBSYNC_WORKERS=4\nHUBSYNC_WORKERS=5\n",
         "f.conf:3: HUBSYNC_WORKERS is set again (first on line 2)", NULL},
        {"HUBSYNC_WORKERS\n", "f.conf:1: expected KEY=VALUE", NULL},
        {"pat-na1-secret-token\n", "f.conf:1: expected KEY=VALUE", "pat-na1"},
        {"export HUBSYNC_WORKERS=4\n", "f.conf:1: the text before '=' is not a variable name",
         NULL},
        {"pat-na1-x=y\n", "not a variable name", "pat-na1"},
        {"=4\n", "not a variable name", NULL},
        {"HUBSYNC_WORKERS=\n", "f.conf:1: HUBSYNC_WORKERS has no value", NULL},
        {"HUBSYNC_WORKERS=\"\"\n", "HUBSYNC_WORKERS has no value", NULL},
        {"HUBSYNC_DB=\"/tmp/x\n", "HUBSYNC_DB: the value's opening quote is not closed", NULL},
        {"HUBSYNC_CONFIG=/etc/other\n",
         "f.conf:1: HUBSYNC_CONFIG: a config file cannot name another", NULL},
        {"HOME=/root\n", "unknown key HOME", NULL},
        {"hubsync_workers=4\n", "unknown key hubsync_workers", NULL},
        {"HUBSPOT_ACESS_TOKEN=pat-na1-s\n", "did you mean HUBSPOT_ACCESS_TOKEN?", "pat-na1"},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        err_info e;
        CHECKF(parse(cases[i].text, &e) == ERR_INVALID, "case %zu accepted", i);
        CHECKF(strstr(e.ei_msg, cases[i].expect) != NULL, "case %zu: '%s' not in '%s'", i,
               cases[i].expect, e.ei_msg);
        CHECKF(!cases[i].never || !strstr(e.ei_msg, cases[i].never), "case %zu shows '%s': %s", i,
               cases[i].never, e.ei_msg);
    }
    err_info e;
    char nul[] = "HUBSYNC_WORKERS=4\0\n";
    CHECK(conf_parse(&cf, "f.conf", nul, sizeof(nul) - 1, &e) == ERR_INVALID);
    CHECK(strstr(e.ei_msg, "NUL") != NULL);
}

/* ---- config_parse ---------------------------------------------------------- */

static char dir[128], oldcwd[512];

/* Unsets every variable config_parse reads, then sets the NULL-terminated
 * "NAME=value" list. */
static void environment(const char *const *vars)
{
    for (int i = 0; i < F_COUNT; i++)
        if (cli_flags[i].fd_env)
            unsetenv(cli_flags[i].fd_env);
    for (size_t i = 0; i < cli_credential_count; i++)
        unsetenv(cli_credential_vars[i]);
    unsetenv("STATE_DIRECTORY");
    unsetenv("XDG_STATE_HOME");
    setenv("HOME", "/home/someone", 1);
    for (size_t i = 0; vars && vars[i]; i++) {
        char name[64];
        size_t n = strcspn(vars[i], "=");
        snprintf(name, sizeof(name), "%.*s", (int)n, vars[i]);
        setenv(name, vars[i] + n + 1, 1);
    }
}

/* Writes `text` to dir/name with `mode`; its path into path. */
static void write_conf(const char *name, const char *text, mode_t mode, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, mode);
}

/* config_parse of "hubsync ARGS…" (NULL-terminated). */
static int parse_args(const char *const *args, hubsync_config *c, err_info *e)
{
    char *argv[24] = {"hubsync"};
    int argc = 1;
    for (; args[argc - 1] && argc < 23; argc++)
        argv[argc] = (char *)args[argc - 1];
    argv[argc] = NULL;
    e->ei_msg[0] = '\0';
    return config_parse(argc, argv, c, e);
}

static bool enter_scratch(void)
{
    if (!getcwd(oldcwd, sizeof(oldcwd)) || !ut_tmpdir_make(dir, sizeof(dir), "test_config"))
        return false;
    return chdir(dir) == 0;
}

static void leave_scratch(void)
{
    if (chdir(oldcwd) != 0)
        perror("chdir");
    ut_tmpdir_remove(dir);
    environment(NULL);
}

static void test_precedence(void)
{
    static hubsync_config c;
    err_info e;
    char path[256], arg[300];
    REQUIRE(enter_scratch());
    write_conf("a.conf", "HUBSYNC_WORKERS=3\nHUBSYNC_LAG_MS=11\nHUBSYNC_INFLIGHT=9\n", 0644, path,
               sizeof(path));
    snprintf(arg, sizeof(arg), "--config=%s", path);
    const char *env_vars[] = {"HUBSYNC_LAG_MS=22", "HUBSYNC_INFLIGHT=8", NULL};
    environment(env_vars);
    const char *args[] = {"status", arg, "--inflight", "7", NULL};
    REQUIRE(parse_args(args, &c, &e) == 0);
    CHECK_EQ(c.c_workers, 3);  /* the file's */
    CHECK_EQ(c.c_lag_ms, 22);  /* the environment over the file */
    CHECK_EQ(c.c_inflight, 7); /* the flag over both */
    /* HUBSYNC_CONFIG names the file as well; the flag wins over it. */
    char env_conf[300];
    snprintf(env_conf, sizeof(env_conf), "HUBSYNC_CONFIG=%s", path);
    const char *by_env[] = {env_conf, NULL};
    environment(by_env);
    const char *plain[] = {"status", NULL};
    REQUIRE(parse_args(plain, &c, &e) == 0);
    CHECK_EQ(c.c_lag_ms, 11);
    const char *other[] = {"status", "--config", "/nonexistent/b.conf", NULL};
    CHECK(parse_args(other, &c, &e) == ERR_INVALID);
    CHECK(strstr(e.ei_msg, "--config /nonexistent/b.conf") != NULL);
    /* A bad value in the file: the flag's check, the file and line named. */
    write_conf("bad.conf", "# x\nHUBSYNC_WORKERS=65\n", 0644, path, sizeof(path));
    snprintf(arg, sizeof(arg), "--config=%s", path);
    const char *bad[] = {"status", arg, NULL};
    CHECK(parse_args(bad, &c, &e) == ERR_INVALID);
    CHECK(strstr(e.ei_msg, ":2: HUBSYNC_WORKERS '65': expected a whole number from 1 to 64"));
    /* ... unless the flag or variable hides it. */
    const char *hidden[] = {"status", arg, "--workers", "2", NULL};
    CHECK(parse_args(hidden, &c, &e) == 0);
    /* A run-only key in the file of a status is ignored, as its variable
     * would be: one file serves every command. */
    write_conf("run.conf", "HUBSYNC_MAX_DURATION=soon\n", 0644, path, sizeof(path));
    snprintf(arg, sizeof(arg), "--config=%s", path);
    const char *status_run[] = {"status", arg, NULL};
    CHECK(parse_args(status_run, &c, &e) == 0);
    const char *tokenv[] = {"HUBSPOT_ACCESS_TOKEN=pat-x", NULL};
    environment(tokenv);
    const char *run_run[] = {"run", arg, NULL};
    CHECK(parse_args(run_run, &c, &e) == ERR_INVALID);
    CHECK(strstr(e.ei_msg, ":1: HUBSYNC_MAX_DURATION 'soon'") != NULL);
    /* An empty --config is refused. */
    const char *empty[] = {"status", "--config=", NULL};
    CHECK(parse_args(empty, &c, &e) == ERR_INVALID);
    CHECK(strstr(e.ei_msg, "--config is empty") != NULL);
done:
    leave_scratch();
}

static void test_credentials(void)
{
    static hubsync_config c;
    err_info e;
    char path[256], arg[300];
    REQUIRE(enter_scratch());
    environment(NULL);
    write_conf("t.conf", "HUBSPOT_ACCESS_TOKEN=pat-na1-file\n", 0600, path, sizeof(path));
    snprintf(arg, sizeof(arg), "--config=%s", path);
    const char *args[] = {"run", arg, NULL};
    REQUIRE(parse_args(args, &c, &e) == 0);
    CHECK_STR(c.c_token, "pat-na1-file");
    /* The environment's token wins over the file's. */
    const char *tok[] = {"HUBSPOT_ACCESS_TOKEN=pat-na1-env", NULL};
    environment(tok);
    REQUIRE(parse_args(args, &c, &e) == 0);
    CHECK_STR(c.c_token, "pat-na1-env");
    environment(NULL);
    /* Readable by others: refused, the token never shown. */
    chmod(path, 0640);
    CHECK(parse_args(args, &c, &e) == ERR_INVALID);
    CHECK(strstr(e.ei_msg, ":1: a credential in a file of mode 0640") != NULL);
    CHECK(strstr(e.ei_msg, "pat-na1") == NULL);
    CHECK_EQ(c.c_token[0], '\0');
    /* A bad token in the file: named by file and line, not shown. */
    write_conf("sp.conf", "\nHUBSPOT_ACCESS_TOKEN=\"pat na1\"\n", 0600, path, sizeof(path));
    snprintf(arg, sizeof(arg), "--config=%s", path);
    CHECK(parse_args(args, &c, &e) == ERR_INVALID);
    CHECK(strstr(e.ei_msg, ":2: HUBSPOT_ACCESS_TOKEN contains a space") != NULL);
    /* OAuth's three may come from the file and the environment together. */
    write_conf("o.conf", "HUBSPOT_REFRESH_TOKEN=r-tok\nHUBSPOT_CLIENT_SECRET=s-sec\n", 0400, path,
               sizeof(path));
    snprintf(arg, sizeof(arg), "--config=%s", path);
    const char *id[] = {"HUBSPOT_CLIENT_ID=the-id", NULL};
    environment(id);
    REQUIRE(parse_args(args, &c, &e) == 0);
    CHECK(c.c_oauth);
    CHECK_STR(c.c_refresh_token, "r-tok");
    CHECK_STR(c.c_client_id, "the-id");
    environment(NULL);
    CHECK(parse_args(args, &c, &e) == ERR_INVALID);
    CHECK(strstr(e.ei_msg, "HUBSPOT_CLIENT_ID is not set") != NULL);
    /* Without credentials, any mode will do. */
    write_conf("p.conf", "HUBSYNC_WORKERS=2\n", 0644, path, sizeof(path));
    snprintf(arg, sizeof(arg), "--config=%s", path);
    const char *status[] = {"status", arg, NULL};
    CHECK(parse_args(status, &c, &e) == 0);
done:
    leave_scratch();
}

static void test_default_db(void)
{
    static hubsync_config c;
    err_info e;
    REQUIRE(enter_scratch());
    const char *status[] = {"status", NULL};
    environment(NULL);
    REQUIRE(parse_args(status, &c, &e) == 0);
    CHECK_STR(c.c_db_dir, "/home/someone/.local/state/hubsync");
    CHECK_EQ(c.c_warning[0], '\0');
    const char *xdg[] = {"XDG_STATE_HOME=/x/state", NULL};
    environment(xdg);
    REQUIRE(parse_args(status, &c, &e) == 0);
    CHECK_STR(c.c_db_dir, "/x/state/hubsync");
    const char *relative[] = {"XDG_STATE_HOME=state", NULL}; /* ignored, as the spec says */
    environment(relative);
    REQUIRE(parse_args(status, &c, &e) == 0);
    CHECK_STR(c.c_db_dir, "/home/someone/.local/state/hubsync");
    const char *service[] = {"XDG_STATE_HOME=/x/state", "STATE_DIRECTORY=/var/lib/hubsync:/v/b",
                             NULL};
    environment(service);
    REQUIRE(parse_args(status, &c, &e) == 0);
    CHECK_STR(c.c_db_dir, "/var/lib/hubsync");
    /* The flag and the variable win over every default. */
    const char *db_env[] = {"STATE_DIRECTORY=/var/lib/hubsync", "HUBSYNC_DB=/d/env", NULL};
    environment(db_env);
    REQUIRE(parse_args(status, &c, &e) == 0);
    CHECK_STR(c.c_db_dir, "/d/env");
    /* The old default, when it exists here: used, with a warning naming
     * the new one. A file of that name is not a database folder. */
    environment(service);
    FILE *f = fopen("hubsync-data", "w");
    REQUIRE(f != NULL);
    fclose(f);
    REQUIRE(parse_args(status, &c, &e) == 0);
    CHECK_STR(c.c_db_dir, "/var/lib/hubsync");
    REQUIRE(unlink("hubsync-data") == 0 && mkdir("hubsync-data", 0700) == 0);
    REQUIRE(parse_args(status, &c, &e) == 0);
    CHECK_STR(c.c_db_dir, "./hubsync-data");
    CHECK(strstr(c.c_warning, "the default is now /var/lib/hubsync") != NULL);
    const char *given[] = {"status", "--db", "./hubsync-data", NULL};
    REQUIRE(parse_args(given, &c, &e) == 0);
    CHECK_EQ(c.c_warning[0], '\0');
    rmdir("hubsync-data");
done:
    leave_scratch();
}

static void test_log_level(void)
{
    static hubsync_config c;
    err_info e;
    REQUIRE(enter_scratch());
    environment(NULL);
    static const struct {
        const char *args[4];
        const char *var;
        int level; /* -1: refused */
    } cases[] = {
        {{"status"}, NULL, LOG_INFO},
        {{"status", "-q"}, NULL, LOG_WARN},
        {{"status", "--quiet"}, "HUBSYNC_LOG_LEVEL=debug", LOG_WARN},
        {{"-v", "status"}, NULL, LOG_DEBUG},
        {{"status", "--log-level", "error"}, "HUBSYNC_LOG_LEVEL=debug", LOG_ERROR},
        {{"status"}, "HUBSYNC_LOG_LEVEL=warn", LOG_WARN},
        {{"status"}, "HUBSYNC_LOG_LEVEL=loud", -1},
        {{"status", "-q", "-v"}, NULL, -1},
        {{"status", "-v", "--log-level=info"}, NULL, -1},
    };
    for (size_t i = 0; i < UT_COUNT(cases); i++) {
        const char *vars[] = {cases[i].var, NULL};
        environment(vars);
        int rc = parse_args(cases[i].args, &c, &e);
        if (cases[i].level < 0) {
            CHECKF(rc == ERR_INVALID, "case %zu accepted", i);
        } else {
            CHECKF(rc == 0, "case %zu: %s", i, e.ei_msg);
            CHECKF((int)c.c_log_level == cases[i].level, "case %zu: level %d", i, c.c_log_level);
        }
    }
done:
    leave_scratch();
}

int unit_suite_config(void)
{
    static const ut_test tests[] = {
        {"the config file's KEY=VALUE lines", test_syntax},
        {"each refusal names the file and line, never a value", test_refusals},
        {"flag over variable over file over default", test_precedence},
        {"credentials in the file, and its mode", test_credentials},
        {"the default database", test_default_db},
        {"--log-level, -q and -v", test_log_level},
    };
    return ut_add_suite("config", tests, UT_COUNT(tests));
}
