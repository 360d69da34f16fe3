/*
 * it_config — where bin/hubsync's settings come from (docs/CLI.md, "The
 * config file"): every valued flag of `run` that has a variable, read from
 * the flag table itself (coordinator/cli.c) so a new flag is covered the
 * day it is added, set by --config FILE, by its variable over the file and
 * by the flag over both, as `run --print-config` reports (value and
 * source); a bad config file refused with exit 2, its file and line named,
 * nothing on stdout and nothing written; the default database under $HOME;
 * -v's debug lines naming each setting's source.
 *
 * Every hubsync runs under `env -i` with exactly the variables a test gives
 * (it_hubsync_env), so the runner's environment cannot leak in.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../coordinator/cli.h"
#include "../lib/check.h"
#include "it_hubsync.h"
#include "it_suites.h"

/* A token only these tests use, so finding it in an output is never chance. */
#define SECRET "pat-na1-config-Secret-51c2"

enum { CONFIG_TIMEOUT_MS = 30000, SAMPLE_MAX = 200 };

static char dir[64]; /* the scratch folder of one test */

static bool has(const char *text, const char *needle)
{
    return text && strstr(text, needle) != NULL;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static bool scratch_make(void)
{
    snprintf(dir, sizeof(dir), "/tmp/it_config.XXXXXX");
    return mkdtemp(dir) != NULL;
}

static void scratch_remove(void)
{
    if (dir[0])
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    dir[0] = '\0';
}

/* Writes `text` to dir/name with `mode`; 0 or -1. */
static int write_file(const char *name, const char *text, mode_t mode)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = fputs(text, f) < 0 ? -1 : 0;
    rc |= fclose(f);
    return rc | chmod(path, mode);
}

/* ---- sample values, from the flag's row ----------------------------------- */

/* The TEXT flags have checks of their own (a path that exists, a URL to a
 * loopback host, a table name): three good values each, those starting with
 * '/' in the scratch folder. A new TEXT flag of run without a line here
 * fails the test by name. */
static const struct {
    const char *name;
    const char *value[3];
} text_samples[] = {
    {"--db", {"/db1", "/db2", "/db3"}},
    {"--base-url", {"http://127.0.0.1:1", "http://127.0.0.2:2", "http://localhost:3"}},
    {"--token-file", {"/tok1", "/tok2", "/tok3"}},
    {"--tables", {"companies_contacts", "contacts_deals", "deals_tickets"}},
    {"--ca-file", {"/ca1.pem", "/ca2.pem", "/ca3.pem"}},
    {"--metrics-file", {"/m1.prom", "/m2.prom", "/m3.prom"}},
    {"--changes-keep", {"3", "4d", "5"}},
};

/* Sample k (0: the file's, 1: the variable's, 2: the flag's) of flag f
 * into buf; false when the test has none for it. Numbers count up from
 * the row's least (so --daily-reserve stays below --daily), choices down
 * from the last (so --progress always never meets --log-format json). */
static bool sample(const cli_flag *f, int k, char *buf, size_t size)
{
    switch (f->fd_kind) {
    case FLAG_NUMBER:
        snprintf(buf, size, "%llu", (unsigned long long)(f->fd_min + 1 + (uint64_t)k));
        return f->fd_min + 1 + (uint64_t)k <= f->fd_max;
    case FLAG_SHARE: {
        static const char *const shares[] = {"0.5", "0.25", "0.75"};
        snprintf(buf, size, "%s", shares[k]);
        return true;
    }
    case FLAG_RATE: {
        static const char *const rates[] = {"100/10s", "50/1s", "7/100ms"};
        snprintf(buf, size, "%s", rates[k]);
        return true;
    }
    case FLAG_CHOICE: {
        size_t n = 1, want;
        for (const char *p = f->fd_value; *p; p++)
            n += *p == '|';
        want = ((n - 1 - (size_t)k) % n + n) % n;
        const char *p = f->fd_value;
        for (size_t i = 0; i < want; i++)
            p = strchr(p, '|') + 1;
        snprintf(buf, size, "%.*s", (int)strcspn(p, "|"), p);
        return true;
    }
    case FLAG_TEXT:
        for (size_t i = 0; i < sizeof(text_samples) / sizeof(text_samples[0]); i++)
            if (strcmp(text_samples[i].name, f->fd_name) == 0) {
                const char *v = text_samples[i].value[k];
                snprintf(buf, size, "%s%s", v[0] == '/' ? dir : "", v);
                return true;
            }
        return false;
    case FLAG_SWITCH:
        break;
    }
    return false;
}

/* ---- --print-config -------------------------------------------------------- */

/* In `out` (run --print-config), the line of flag `name`: its source into
 * from and its value into value; false when there is none. */
static bool printed(const char *out, const char *name, char *from, size_t from_size, char *value,
                    size_t value_size)
{
    size_t n = strlen(name);
    for (const char *line = out; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncmp(line, name, n) != 0 || line[n] != ' ')
            continue;
        const char *p = line + n;
        p += strspn(p, " ");
        p += strcspn(p, " "); /* the variable */
        p += strspn(p, " ");
        size_t m = strcspn(p, " ");
        snprintf(from, from_size, "%.*s", (int)m, p);
        p += m;
        p += strspn(p, " ");
        snprintf(value, value_size, "%.*s", (int)strcspn(p, "\n"), p);
        return true;
    }
    return false;
}

/* The run flags with a value and a variable, but --config itself. */
static bool covered(int f)
{
    const cli_flag *d = &cli_flags[f];
    return d->fd_env && d->fd_kind != FLAG_SWITCH && f != F_CONFIG && cli_flag_applies(d, CMD_RUN);
}

/* Runs `run --print-config` for flag f with its sample in the config file
 * (always), in its variable (layers ≥ 1) and as the flag (layers 2), and
 * checks that the strongest wins and is named. */
static void check_layers(int f, int layers)
{
    const cli_flag *d = &cli_flags[f];
    char s[3][SAMPLE_MAX], conf[SAMPLE_MAX + 64], conf_arg[128], var[SAMPLE_MAX + 64],
        flag[SAMPLE_MAX + 64];
    for (int k = 0; k < 3; k++)
        if (!sample(d, k, s[k], sizeof(s[k]))) {
            CHECKF(false, "it_config.c has no sample value for %s: add one to text_samples",
                   d->fd_name);
            return;
        }
    snprintf(conf, sizeof(conf), "# %s\n%s=%s\n", d->fd_name, d->fd_env, s[0]);
    if (write_file("run.conf", conf, 0600) != 0) {
        CHECKF(false, "cannot write %s/run.conf", dir);
        return;
    }
    snprintf(conf_arg, sizeof(conf_arg), "--config=%s/run.conf", dir);
    snprintf(var, sizeof(var), "%s=%s", d->fd_env, s[1]);
    snprintf(flag, sizeof(flag), "%s=%s", d->fd_name, s[2]);
    const char *vars[] = {"HUBSPOT_ACCESS_TOKEN=" SECRET, layers >= 1 ? var : NULL, NULL};
    /* --loop: --interval as a flag needs it; it changes nothing else here. */
    const char *args[] = {"run", conf_arg, "--print-config", "--loop", layers >= 2 ? flag : NULL,
                          NULL};
    char *out = NULL, *err = NULL, from[256], value[SAMPLE_MAX + 64], want_from[256];
    int rc = it_hubsync_env(vars, args, CONFIG_TIMEOUT_MS, &out, &err);
    CHECKF(rc == 0, "%s, %d layers: exit %d: %s", d->fd_name, layers, rc, err);
    CHECKF(!has(out, SECRET) && !has(err, SECRET), "the token shows in --print-config");
    if (layers == 0)
        snprintf(want_from, sizeof(want_from), "%s/run.conf:2", dir);
    else
        snprintf(want_from, sizeof(want_from), "%s", layers == 1 ? "env" : "flag");
    if (rc == 0 && printed(out, d->fd_name, from, sizeof(from), value, sizeof(value))) {
        CHECKF(strcmp(from, want_from) == 0, "%s: from '%s', expected '%s'", d->fd_name, from,
               want_from);
        CHECKF(strcmp(value, s[layers]) == 0, "%s: value '%s', expected '%s'", d->fd_name, value,
               s[layers]);
    } else if (rc == 0) {
        CHECKF(false, "%s: no line in run --print-config: %s", d->fd_name, out);
    }
    free(out);
    free(err);
}

static void test_every_run_setting(void)
{
    REQUIRE(scratch_make());
    /* The files the TEXT samples name. */
    for (int k = 1; k <= 3; k++) {
        char name[32];
        snprintf(name, sizeof(name), "tok%d", k);
        REQUIRE(write_file(name, SECRET "\n", 0600) == 0);
        snprintf(name, sizeof(name), "ca%d.pem", k);
        REQUIRE(write_file(name, "not read by --print-config\n", 0644) == 0);
    }
    int n = 0;
    for (int f = 0; f < F_COUNT; f++) {
        if (!covered(f))
            continue;
        n++;
        for (int layers = 0; layers < 3; layers++)
            check_layers(f, layers);
    }
    CHECKF(n >= 20, "only %d run settings found in the flag table", n);
    /* With nothing given, every one is its default. */
    const char *vars[] = {"HUBSPOT_ACCESS_TOKEN=" SECRET, NULL};
    const char *args[] = {"run", "--print-config", NULL};
    char *out = NULL, *err = NULL, from[256], value[256];
    CHECK(it_hubsync_env(vars, args, CONFIG_TIMEOUT_MS, &out, &err) == 0);
    for (int f = 0; f < F_COUNT; f++)
        if (covered(f))
            CHECKF(printed(out, cli_flags[f].fd_name, from, sizeof(from), value, sizeof(value)) &&
                       strcmp(from, "default") == 0,
                   "%s: not a default line in %s", cli_flags[f].fd_name, out);
    CHECK(has(out, "HUBSPOT_ACCESS_TOKEN     env      (set; not shown)"));
    free(out);
    free(err);
done:
    scratch_remove();
}

/* Each bad config file: exit 2, one line naming the file and line (and
 * the fix), nothing on stdout, nothing written in --db. */
static void test_bad_files(void)
{
    static const struct {
        const char *text;
        mode_t mode;
        const char *expect;
    } cases[] = {
        {"HUBSYNC_WORKERS=4\nHUBSYNC_WORKRES=4\n", 0644,
         "run.conf:2: unknown key HUBSYNC_WORKRES (did you mean HUBSYNC_WORKERS?"},
        {"HUBSYNC_LAG_MS=1\n\nHUBSYNC_LAG_MS=2\n", 0644, "run.conf:3: HUBSYNC_LAG_MS is set again"},
        {"# x\nHUBSYNC_WORKERS=65\n", 0644,
         "run.conf:2: HUBSYNC_WORKERS '65': expected a whole number from 1 to 64"},
        {"HUBSYNC_VERIFY_FRACTION=2\n", 0644, "run.conf:1: HUBSYNC_VERIFY_FRACTION '2'"},
        {"HUBSYNC_TABLES=deals_contacts\n", 0644, "run.conf:1: HUBSYNC_TABLES: deals_contacts"},
        {"HUBSYNC_RATE=\n", 0644, "run.conf:1: HUBSYNC_RATE has no value"},
        {SECRET "\n", 0600, "run.conf:1: expected KEY=VALUE"},
        {"HUBSPOT_ACCESS_TOKEN=" SECRET "\n", 0644,
         "run.conf:1: a credential in a file of mode 0644"},
        {"HUBSPOT_ACCESS_TOKEN=has space" SECRET "\n", 0600,
         "run.conf:1: HUBSPOT_ACCESS_TOKEN contains a space"},
        {"HUBSYNC_CONFIG=/etc/hubsync.conf\n", 0644, "cannot name another"},
    };
    REQUIRE(scratch_make());
    char db_arg[128], conf_arg[128], db[96];
    snprintf(db, sizeof(db), "%s/db", dir);
    snprintf(db_arg, sizeof(db_arg), "--db=%s", db);
    snprintf(conf_arg, sizeof(conf_arg), "--config=%s/run.conf", dir);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        REQUIRE(write_file("run.conf", cases[i].text, cases[i].mode) == 0);
        const char *vars[] = {"HUBSPOT_BASE_URL=http://127.0.0.1:9", NULL};
        const char *args[] = {"run", db_arg, conf_arg, NULL};
        char *out = NULL, *err = NULL;
        int rc = it_hubsync_env(vars, args, CONFIG_TIMEOUT_MS, &out, &err);
        CHECKF(rc == 2, "case %zu: exit %d: %s", i, rc, err);
        CHECKF(has(err, cases[i].expect), "case %zu: '%s' not in %s", i, cases[i].expect, err);
        CHECKF(!has(err, SECRET) && !has(out, SECRET), "case %zu shows the token: %s", i, err);
        CHECKF(out && !out[0], "case %zu: stdout %s", i, out);
        CHECKF(err && strchr(err, '\n') == err + strlen(err) - 1, "case %zu: not one line: %s", i,
               err);
        struct stat st;
        CHECKF(stat(db, &st) != 0, "case %zu wrote %s", i, db);
        free(out);
        free(err);
        unlink(conf_arg + 9);
    }
    /* A missing file is named with where its path came from. */
    const char *vars[] = {"HUBSYNC_CONFIG=/nonexistent/hubsync.conf", NULL};
    const char *args[] = {"status", db_arg, NULL};
    char *out = NULL, *err = NULL;
    CHECK(it_hubsync_env(vars, args, CONFIG_TIMEOUT_MS, &out, &err) == 2);
    CHECKF(has(err, "HUBSYNC_CONFIG /nonexistent/hubsync.conf: No such file"), "%s", err);
    free(out);
    free(err);
done:
    scratch_remove();
}

/* No --db: the database is $HOME/.local/state/hubsync (status reads it and
 * says it is not there; nothing is created), and -v's debug lines name
 * where each setting came from. */
static void test_default_db_and_verbose(void)
{
    REQUIRE(scratch_make());
    char home[96], want[160];
    snprintf(home, sizeof(home), "HOME=%s", dir);
    const char *vars[] = {home, "HUBSYNC_LAG_MS=5", NULL};
    const char *args[] = {"status", "-v", "--workers", "2", NULL};
    char *out = NULL, *err = NULL;
    CHECK(it_hubsync_env(vars, args, CONFIG_TIMEOUT_MS, &out, &err) == 2);
    snprintf(want, sizeof(want), "no hubsync database in %s/.local/state/hubsync", dir);
    CHECKF(has(err, want), "'%s' not in %s", want, err);
    CHECKF(has(err, "debug setting --workers 2 (from flag)"), "%s", err);
    CHECKF(has(err, "debug setting --lag-ms 5 (from env)"), "%s", err);
    snprintf(want, sizeof(want), "%s/.local", dir);
    struct stat st;
    CHECKF(stat(want, &st) != 0, "status created %s", want);
    free(out);
    free(err);
    /* -q: warnings and errors only, so the same error and no debug line. */
    const char *quiet[] = {"status", "-q", NULL};
    out = err = NULL;
    CHECK(it_hubsync_env(vars, quiet, CONFIG_TIMEOUT_MS, &out, &err) == 2);
    CHECKF(has(err, "no hubsync database") && !has(err, "debug"), "%s", err);
    free(out);
    free(err);
done:
    scratch_remove();
}

int it_register_config(void)
{
    CU_pSuite s = it_add_suite("config");
    if (!s)
        return -1;
    int rc = 0;
    rc |= it_add_test(s, "every_run_setting", test_every_run_setting);
    rc |= it_add_test(s, "bad_files", test_bad_files);
    rc |= it_add_test(s, "default_db_and_verbose", test_default_db_and_verbose);
    return rc;
}
