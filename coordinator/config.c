/*
 * config — hubsync's command line and environment (docs/CLI.md), see config.h.
 *
 * Parsing runs in two passes: the first walks argv, recognises the command
 * and every flag wherever it stands and keeps each flag's raw text; the
 * second resolves every setting from its flag, else its environment
 * variable, else its default, and validates it. A problem is reported as
 * one line naming the flag (or variable) and the bad value, and nothing is
 * read or written beyond the token file: the caller exits 2.
 *
 * Secrets never come from argv (there is no --token) and are never put in
 * a message: errors about a token say what is wrong with it, not what it is.
 * config_redact() scrubs them from any text another module produced.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/ipc/jobs.h"

#include "../common/base/rate_spec.h"
#include "../common/ipc/shm.h"
#include "../common/base/url.h"
#include "commands.h"

/* Defaults (docs/CLI.md; the lag is the practitioners' 30 s of search index lag). */
enum {
    DEFAULT_INFLIGHT = 64,             /* a cap: the run sizes concurrency from latency and rate */
    REFERENCE_BATCH = 100,             /* the reference design's parents per batch read */
    MAX_WORKERS = SHM_MAX_WORKERS - 1, /* the last slot is the coordinator's */
    MAX_INFLIGHT = 64,
    DEFAULT_INTERVAL_S = 60,
    MAX_INTERVAL_S = 7 * 86400,
    MAX_DURATION_S = 30 * 86400,
    TOKEN_FILE_MAX = 4096
};
#define DEFAULT_DB              "./hubsync-data"
#define DEFAULT_BASE_URL        "https://api.hubapi.com"
#define DEFAULT_LAG_MS          30000
#define DEFAULT_VERIFY_FRACTION 0.02
#define MAX_LAG_MS              86400000LL
#define MAX_DAILY               1000000000000ULL

/* The flags, each with the raw text the first pass found (NULL: absent). */
typedef enum flag_id {
    F_DB,
    F_BASE_URL,
    F_TOKEN_FILE,
    F_TABLES,
    F_WORKERS,
    F_INFLIGHT,
    F_RATE,
    F_SEARCH_RATE,
    F_DAILY,
    F_DAILY_RESERVE,
    F_LAG_MS,
    F_LOG_FORMAT,
    F_PROGRESS,
    F_JSON,
    F_LOOP,
    F_FULL_SCAN,
    F_REFERENCE,
    F_INTERVAL,
    F_CA_FILE,
    F_MAX_DURATION,
    F_BUDGET_FRACTION,
    F_VERIFY_FRACTION,
    F_METRICS_FILE,
    F_TABLE,
    F_FORMAT,
    F_HELP,
    F_COUNT
} flag_id;

typedef struct flag_def {
    const char *fd_name;
    bool fd_takes_value;
} flag_def;

static const flag_def flags[F_COUNT] = {
    [F_DB] = {"--db", true},
    [F_BASE_URL] = {"--base-url", true},
    [F_TOKEN_FILE] = {"--token-file", true},
    [F_TABLES] = {"--tables", true},
    [F_WORKERS] = {"--workers", true},
    [F_INFLIGHT] = {"--inflight", true},
    [F_RATE] = {"--rate", true},
    [F_SEARCH_RATE] = {"--search-rate", true},
    [F_DAILY] = {"--daily", true},
    [F_DAILY_RESERVE] = {"--daily-reserve", true},
    [F_LAG_MS] = {"--lag-ms", true},
    [F_LOG_FORMAT] = {"--log-format", true},
    [F_PROGRESS] = {"--progress", true},
    [F_JSON] = {"--json", false},
    [F_LOOP] = {"--loop", false},
    [F_FULL_SCAN] = {"--full-scan", false},
    [F_REFERENCE] = {"--reference-design", false},
    [F_INTERVAL] = {"--interval", true},
    [F_CA_FILE] = {"--ca-file", true},
    [F_MAX_DURATION] = {"--max-duration", true},
    [F_BUDGET_FRACTION] = {"--budget-fraction", true},
    [F_VERIFY_FRACTION] = {"--verify-fraction", true},
    [F_METRICS_FILE] = {"--metrics-file", true},
    [F_TABLE] = {"--table", true},
    [F_FORMAT] = {"--format", true},
    [F_HELP] = {"--help", false},
};

static const struct {
    const char *name;
    hubsync_command cmd;
} commands[] = {
    {"setup", CMD_SETUP},   {"run", CMD_RUN},     {"status", CMD_STATUS}, {"doctor", CMD_DOCTOR},
    {"export", CMD_EXPORT}, {"bench", CMD_BENCH}, {"help", CMD_HELP},
};

const char *config_command_name(hubsync_command cmd)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (commands[i].cmd == cmd)
            return commands[i].name;
    return "(none)";
}

/* An environment variable, with "" taken as unset. */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* ---- numbers ------------------------------------------------------------- */

/* A decimal number made of digits only (no sign, no spaces, no suffix). */
static bool parse_u64(const char *s, uint64_t *out)
{
    return s && parse_u64_digits(s, strlen(s), out);
}

static int parse_range(const char *what, const char *s, uint64_t lo, uint64_t hi, uint64_t *out,
                       err_info *e)
{
    if (!parse_u64(s, out) || *out < lo || *out > hi)
        return err_set(e, ERR_INVALID, "%s '%.40s': expected a whole number from %llu to %llu",
                       what, s, (unsigned long long)lo, (unsigned long long)hi);
    return 0;
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

/* ---- tables -------------------------------------------------------------- */

/* Explains why `name` (n bytes) is not a canonical table name. */
static int table_error(const char *src, const char *name, size_t n, err_info *e)
{
    /* Try every '_' split (postal_mail has one of its own) for two known
     * types in any spelling: a pair in the wrong order or spelled with
     * singulars or type IDs gets its canonical name suggested. */
    for (size_t i = 1; i + 1 < n; i++) {
        if (name[i] != '_')
            continue;
        hs_object_type a, b;
        if (hs_object_parse(name, i, &a) || hs_object_parse(name + i + 1, n - i - 1, &b))
            continue;
        hs_table t;
        if (hs_table_of(a, b, &t) != 0)
            return err_set(e, ERR_INVALID,
                           "%s: %.*s: HubSpot has no associations between %s and %s", src, (int)n,
                           name, hs_object(a)->oi_plural, hs_object(b)->oi_plural);
        char canon[64];
        hs_table_name(t, canon, sizeof(canon));
        return err_set(e, ERR_INVALID, "%s: %.*s: use %s", src, (int)n, name, canon);
    }
    char types[160];
    return err_set(e, ERR_INVALID,
                   "%s: unknown table '%.*s' (tables are {a}_{b} with a before b alphabetically, "
                   "e.g. companies_contacts; types: %s)",
                   src, n > 64 ? 64 : (int)n, name,
                   hs_object_names(types, sizeof(types), false, " "));
}

int config_parse_table(const char *src, const char *name, size_t n, hs_table *out, err_info *e)
{
    if (n == 0)
        return err_set(e, ERR_INVALID, "%s: empty table name", src);
    if (hs_table_parse(name, n, out) == 0)
        return 0;
    return table_error(src, name, n, e);
}

/* Parses a comma-separated list of canonical table names (spaces around
 * names ignored, duplicates dropped, order kept). */
static int parse_tables(const char *src, const char *list, hubsync_config *c, err_info *e)
{
    c->c_ntables = 0;
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *s = p;
        while (s < end && isspace((unsigned char)*s))
            s++;
        const char *t = end;
        while (t > s && isspace((unsigned char)t[-1]))
            t--;
        hs_table table;
        int rc = config_parse_table(src, s, (size_t)(t - s), &table, e);
        if (rc)
            return rc;
        bool dup = false;
        for (int i = 0; i < c->c_ntables; i++)
            dup |= c->c_tables[i].t_parent == table.t_parent &&
                   c->c_tables[i].t_child == table.t_child;
        if (!dup) {
            if (c->c_ntables == CONFIG_MAX_TABLES)
                return err_set(e, ERR_INVALID, "%s: more than %d tables", src, CONFIG_MAX_TABLES);
            c->c_tables[c->c_ntables++] = table;
        }
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

/* ---- secrets ------------------------------------------------------------- */

/* A token goes into an Authorization header verbatim: printable ASCII
 * without spaces. The message never shows the value. */
static int check_secret(const char *src, const char *v, size_t max, err_info *e)
{
    size_t n = strlen(v);
    if (n == 0)
        return err_set(e, ERR_INVALID, "%s is empty", src);
    if (n >= max)
        return err_set(e, ERR_INVALID, "%s is longer than %zu bytes", src, max - 1);
    for (size_t i = 0; i < n; i++)
        if (v[i] <= 0x20 || v[i] >= 0x7f)
            return err_set(e, ERR_INVALID,
                           "%s contains a space, a control character or a non-ASCII byte "
                           "(at offset %zu)",
                           src, i);
    return 0;
}

static int set_secret(char *dst, size_t size, const char *src_name, const char *v, err_info *e)
{
    int rc = check_secret(src_name, v, size, e);
    if (rc == 0)
        memcpy(dst, v, strlen(v) + 1);
    return rc;
}

/* Reads the token file: a regular file of mode 0600 holding one line. */
static int read_token_file(const char *path, hubsync_config *c, err_info *e)
{
    int rc = 0;
    char buf[TOKEN_FILE_MAX + 1];
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_set(e, ERR_INVALID, "--token-file %.200s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = err_set(e, ERR_INVALID, "--token-file %.200s: fstat: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = err_set(e, ERR_INVALID, "--token-file %.200s is not a regular file", path);
        goto out;
    }
    /* Readable by its owner alone: 0600, or 0400 as systemd's LoadCredential=
     * writes it. Any group or other bit, or a set-ID bit, is refused. */
    if ((st.st_mode & 07077) != 0 || !(st.st_mode & 0400)) {
        rc = err_set(e, ERR_INVALID,
                     "--token-file %.200s has mode %04o; it must be readable by its owner "
                     "alone, 0600 or 0400 (chmod 600 %.200s)",
                     path, (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_set(e, ERR_INVALID, "--token-file %.200s: read: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == sizeof(buf) - 1) {
            rc = err_set(e, ERR_INVALID, "--token-file %.200s is larger than %d bytes", path,
                         TOKEN_FILE_MAX);
            goto out;
        }
    }
    buf[len] = '\0';
    /* Trim surrounding whitespace (the trailing newline editors add). */
    size_t lo = 0;
    while (lo < len && isspace((unsigned char)buf[lo]))
        lo++;
    while (len > lo && isspace((unsigned char)buf[len - 1]))
        buf[--len] = '\0';
    if (memchr(buf + lo, '\n', len - lo)) {
        rc = err_set(e, ERR_INVALID, "--token-file %.200s holds more than one line", path);
        goto out;
    }
    if (memchr(buf + lo, '\0', len - lo)) {
        rc = err_set(e, ERR_INVALID, "--token-file %.200s holds a NUL byte", path);
        goto out;
    }
    char what[256];
    snprintf(what, sizeof(what), "the token in --token-file %.200s", path);
    rc = set_secret(c->c_token, sizeof(c->c_token), what, buf + lo, e);
out : {
    /* Do not leave the token on the stack longer than needed. */
    volatile char *v = (volatile char *)buf;
    for (size_t i = 0; i < sizeof(buf); i++)
        v[i] = 0;
}
    close(fd);
    return rc;
}

static int resolve_credentials(const char *token_file, hubsync_config *c, err_info *e)
{
    int rc;
    if (token_file) {
        if ((rc = read_token_file(token_file, c, e)) != 0)
            return rc;
    } else if (env("HUBSPOT_ACCESS_TOKEN")) {
        rc = set_secret(c->c_token, sizeof(c->c_token), "HUBSPOT_ACCESS_TOKEN",
                        env("HUBSPOT_ACCESS_TOKEN"), e);
        if (rc)
            return rc;
    }
    static const char *const oauth_vars[3] = {"HUBSPOT_REFRESH_TOKEN", "HUBSPOT_CLIENT_ID",
                                              "HUBSPOT_CLIENT_SECRET"};
    int nset = 0;
    for (int i = 0; i < 3; i++)
        nset += env(oauth_vars[i]) != NULL;
    if (nset > 0 && nset < 3) {
        char missing[96] = "";
        for (int i = 0; i < 3; i++)
            if (!env(oauth_vars[i])) {
                size_t used = strlen(missing);
                snprintf(missing + used, sizeof(missing) - used, "%s%s", used ? " and " : "",
                         oauth_vars[i]);
            }
        return err_set(e, ERR_INVALID,
                       "OAuth needs HUBSPOT_REFRESH_TOKEN, HUBSPOT_CLIENT_ID and "
                       "HUBSPOT_CLIENT_SECRET together: %s %s not set",
                       missing, strstr(missing, " and ") ? "are" : "is");
    }
    if (nset == 3) {
        if (c->c_token[0])
            return err_set(e, ERR_INVALID,
                           "both a private-app token (%s) and OAuth credentials "
                           "(HUBSPOT_REFRESH_TOKEN, …) are set: use one",
                           token_file ? "--token-file" : "HUBSPOT_ACCESS_TOKEN");
        if ((rc = set_secret(c->c_refresh_token, sizeof(c->c_refresh_token),
                             "HUBSPOT_REFRESH_TOKEN", env("HUBSPOT_REFRESH_TOKEN"), e)) ||
            (rc = set_secret(c->c_client_id, sizeof(c->c_client_id), "HUBSPOT_CLIENT_ID",
                             env("HUBSPOT_CLIENT_ID"), e)) ||
            (rc = set_secret(c->c_client_secret, sizeof(c->c_client_secret),
                             "HUBSPOT_CLIENT_SECRET", env("HUBSPOT_CLIENT_SECRET"), e)))
            return rc;
        c->c_oauth = true;
    }
    return 0;
}

/* ---- argv ---------------------------------------------------------------- */

/* Finds the flag `arg` names ("--db" or "--db=…"); -1 when unknown. Sets
 * *inline_value to the text after '=' when present. */
static int find_flag(const char *arg, const char **inline_value)
{
    size_t n = strcspn(arg, "=");
    *inline_value = arg[n] == '=' ? arg + n + 1 : NULL;
    if (n == 2 && strncmp(arg, "-h", 2) == 0)
        return F_HELP;
    for (int i = 0; i < F_COUNT; i++)
        if (strlen(flags[i].fd_name) == n && strncmp(arg, flags[i].fd_name, n) == 0)
            return i;
    return -1;
}

/* First pass: the command and each flag's raw value. */
static int scan_argv(int argc, char **argv, hubsync_config *c, const char *raw[F_COUNT],
                     err_info *e)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || arg[1] == '\0') {
            hubsync_command cmd = CMD_NONE;
            for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
                if (strcmp(arg, commands[k].name) == 0)
                    cmd = commands[k].cmd;
            if (c->c_command != CMD_NONE)
                return err_set(e, ERR_INVALID, "unexpected argument '%.60s' after the command %s",
                               arg, config_command_name(c->c_command));
            if (cmd == CMD_NONE)
                return err_set(e, ERR_INVALID,
                               "unknown command '%.60s' (commands: setup run status doctor "
                               "export bench help)",
                               arg);
            c->c_command = cmd;
            continue;
        }
        const char *value;
        int f = find_flag(arg, &value);
        size_t name_len = strcspn(arg, "=");
        if (f < 0) {
            /* Never echo what follows '=': it might be a secret. */
            if (name_len == 7 && strncmp(arg, "--token", 7) == 0)
                return err_set(e, ERR_INVALID,
                               "--token is not accepted: tokens never go on the command line; "
                               "set HUBSPOT_ACCESS_TOKEN or use --token-file F");
            return err_set(e, ERR_INVALID, "unknown flag %.*s (see hubsync --help)",
                           name_len > 60 ? 60 : (int)name_len, arg);
        }
        if (!flags[f].fd_takes_value) {
            if (value)
                return err_set(e, ERR_INVALID, "%s takes no value", flags[f].fd_name);
            raw[f] = "";
            continue;
        }
        if (!value) {
            if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
                return err_set(e, ERR_INVALID, "%s needs a value", flags[f].fd_name);
            value = argv[++i];
        }
        /* The same flag twice with two values is a conflict, not "the last
         * one wins" (a script's default and a caller's override). */
        if (raw[f] && strcmp(raw[f], value) != 0)
            return err_set(e, ERR_INVALID, "%s is given twice ('%.40s' and '%.40s'): give it once",
                           flags[f].fd_name, raw[f], value);
        raw[f] = value;
    }
    return 0;
}

/* Which commands a flag applies to, when not all. */
static int check_applicable(const hubsync_config *c, const char *raw[F_COUNT], err_info *e)
{
    static const struct {
        flag_id flag;
        hubsync_command only;
    } only[] = {
        {F_LOOP, CMD_RUN},          {F_FULL_SCAN, CMD_RUN},      {F_REFERENCE, CMD_RUN},
        {F_INTERVAL, CMD_RUN},      {F_TABLE, CMD_EXPORT},       {F_FORMAT, CMD_EXPORT},
        {F_DAILY_RESERVE, CMD_RUN}, {F_MAX_DURATION, CMD_RUN},   {F_BUDGET_FRACTION, CMD_RUN},
        {F_METRICS_FILE, CMD_RUN},  {F_VERIFY_FRACTION, CMD_RUN}};
    for (size_t i = 0; i < sizeof(only) / sizeof(only[0]); i++)
        if (raw[only[i].flag] && c->c_command != only[i].only)
            return err_set(e, ERR_INVALID, "%s applies only to `hubsync %s`",
                           flags[only[i].flag].fd_name, config_command_name(only[i].only));
    if (raw[F_JSON] && c->c_command == CMD_EXPORT)
        return err_set(e, ERR_INVALID, "--json does not apply to export: use --format jsonl");
    if (raw[F_INTERVAL] && !raw[F_LOOP])
        return err_set(e, ERR_INVALID, "--interval needs --loop");
    return 0;
}

static int parse_rate(const char *flag, const char *v, uint32_t *count, int64_t *window_ms,
                      err_info *e)
{
    if (strcmp(v, "0") == 0) { /* no client-side pacing (e.g. an unlimited simulator) */
        *count = 0;
        *window_ms = 1000;
        return 0;
    }
    if (rate_spec_parse(v, count, window_ms) != 0)
        return err_set(e, ERR_INVALID,
                       "%s '%.40s': expected N/Ws or N/Wms, e.g. 190/10s, or 0 for no limit", flag,
                       v);
    return 0;
}

/* A share in (0, 1] written as a plain decimal ("0.5", "1", ".25"): no sign,
 * exponent, hex, inf or nan, which strtod alone would take. */
/* A share in (0, 1], or [0, 1] with zero_ok. */
static int parse_fraction(const char *what, const char *s, bool zero_ok, double *out, err_info *e)
{
    bool digits = false;
    int dots = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '.')
            dots++;
        else if (*p >= '0' && *p <= '9')
            digits = true;
        else
            dots = 2; /* anything else: refused below */
    }
    char *end = NULL;
    double v = digits && dots <= 1 ? strtod(s, &end) : -1;
    if (!digits || dots > 1 || !end || *end || !(zero_ok ? v >= 0 : v > 0) || v > 1)
        return err_set(e, ERR_INVALID, "%s '%.40s': expected a share %s 0 and at most 1, e.g. %s",
                       what, s, zero_ok ? "from" : "above", zero_ok ? "0.02" : "0.5");
    *out = v;
    return 0;
}

static int copy_path(const char *what, const char *v, char *dst, size_t size, err_info *e)
{
    if (!*v)
        return err_set(e, ERR_INVALID, "%s is empty", what);
    if (strlen(v) >= size)
        return err_set(e, ERR_INVALID, "%s is longer than %zu bytes", what, size - 1);
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* --metrics-file F: its folder must exist and take new files (the file is
 * written beside itself and renamed, so a scraper never reads half), and F
 * must not be a folder. Said at start, not after an hour's run. */
static int check_metrics_path(const char *path, hubsync_config *c, err_info *e)
{
    int rc = copy_path("--metrics-file", path, c->c_metrics_file, sizeof(c->c_metrics_file), e);
    if (rc)
        return rc;
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", c->c_metrics_file);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return err_set(e, ERR_INVALID, "--metrics-file %.200s: folder %.200s: %s", path, dir,
                       errno && !S_ISDIR(st.st_mode) ? strerror(errno) : "not a folder");
    if (access(dir, W_OK | X_OK) != 0)
        return err_set(e, ERR_INVALID, "--metrics-file %.200s: cannot write in %.200s: %s", path,
                       dir, strerror(errno));
    if (stat(c->c_metrics_file, &st) == 0 && S_ISDIR(st.st_mode))
        return err_set(e, ERR_INVALID, "--metrics-file %.200s is a folder", path);
    return 0;
}

/* Where: the database directory and HubSpot's base URL. */
static int resolve_where(hubsync_config *c, const char *raw[F_COUNT], err_info *e)
{
    int rc;
    const char *s;

    /* Database directory; the store adds file names below it. */
    s = raw[F_DB] ? raw[F_DB] : env("HUBSYNC_DB") ? env("HUBSYNC_DB") : DEFAULT_DB;
    if ((rc = copy_path(raw[F_DB] ? "--db" : "HUBSYNC_DB", s, c->c_db_dir, PATH_MAX - 16, e)))
        return rc;

    /* Base URL: https, or http to loopback; no trailing slash. */
    const char *url_src = raw[F_BASE_URL] ? "--base-url" : "HUBSPOT_BASE_URL";
    s = raw[F_BASE_URL]           ? raw[F_BASE_URL]
        : env("HUBSPOT_BASE_URL") ? env("HUBSPOT_BASE_URL")
                                  : DEFAULT_BASE_URL;
    if ((rc = copy_path(url_src, s, c->c_base_url, sizeof(c->c_base_url), e)))
        return rc;
    size_t ulen = strlen(c->c_base_url);
    while (ulen > 0 && c->c_base_url[ulen - 1] == '/')
        c->c_base_url[--ulen] = '\0';
    for (size_t i = 0; i < ulen; i++)
        if ((unsigned char)c->c_base_url[i] <= 0x20 || c->c_base_url[i] == 0x7f)
            return err_set(e, ERR_INVALID, "%s contains a space or control character", url_src);
    if ((rc = url_check_base(c->c_base_url, NULL, e)))
        return err_wrap(e, "%s: ", url_src);
    /* The scheme is case-insensitive (RFC 3986); the rest of hubsync reads
     * it in lower case. */
    for (char *p = c->c_base_url; *p && *p != ':'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return 0;
}

/* The tables, and the budget: workers, requests in flight, rates, the
 * share of the limit, the daily limit and reserve. */
static int resolve_budget(hubsync_config *c, const char *raw[F_COUNT], err_info *e)
{
    int rc;
    uint64_t v;

    /* Tables. */
    if (raw[F_TABLES] || env("HUBSYNC_TABLES")) {
        const char *src = raw[F_TABLES] ? "--tables" : "HUBSYNC_TABLES";
        if ((rc = parse_tables(src, raw[F_TABLES] ? raw[F_TABLES] : env("HUBSYNC_TABLES"), c, e)))
            return rc;
    } else {
        for (int i = 0; i < HS_DEFAULT_TABLE_COUNT; i++)
            c->c_tables[i] = hs_default_tables[i];
        c->c_ntables = HS_DEFAULT_TABLE_COUNT;
    }

    c->c_workers = online_cpus();
    if (raw[F_WORKERS]) {
        if ((rc = parse_range("--workers", raw[F_WORKERS], 1, MAX_WORKERS, &v, e)))
            return rc;
        c->c_workers = (int)v;
    }
    c->c_inflight = DEFAULT_INFLIGHT;
    if (raw[F_INFLIGHT]) {
        if ((rc = parse_range("--inflight", raw[F_INFLIGHT], 1, MAX_INFLIGHT, &v, e)))
            return rc;
        c->c_inflight = (int)v;
    }
    if ((rc = parse_rate("--rate", raw[F_RATE] ? raw[F_RATE] : "190/10s", &c->c_rate,
                         &c->c_rate_window_ms, e)) ||
        (rc = parse_rate("--search-rate", raw[F_SEARCH_RATE] ? raw[F_SEARCH_RATE] : "5/1s",
                         &c->c_search_rate, &c->c_search_window_ms, e)))
        return rc;
    /* --budget-fraction F: this run takes at most F of the burst limit
     * (whole requests, at least one a window), leaving the rest of the
     * portal's budget to its other integrations. */
    c->c_rate_limit = c->c_rate;
    c->c_rate_given = raw[F_RATE] != NULL;
    c->c_budget_fraction = 1.0;
    if (raw[F_BUDGET_FRACTION]) {
        if ((rc = parse_fraction("--budget-fraction", raw[F_BUDGET_FRACTION], false,
                                 &c->c_budget_fraction, e)))
            return rc;
        if (c->c_rate == 0)
            return err_set(e, ERR_INVALID,
                           "--budget-fraction needs a burst limit to take a share of (--rate 0 "
                           "sets none)");
        c->c_rate = (uint32_t)((double)c->c_rate_limit * c->c_budget_fraction);
        if (c->c_rate == 0)
            c->c_rate = 1;
    }
    c->c_daily = 0;
    if (raw[F_DAILY] && (rc = parse_range("--daily", raw[F_DAILY], 1, MAX_DAILY, &c->c_daily, e)))
        return rc;
    c->c_daily_reserve = 0;
    if (raw[F_DAILY_RESERVE] && (rc = parse_range("--daily-reserve", raw[F_DAILY_RESERVE], 0,
                                                  MAX_DAILY, &c->c_daily_reserve, e)))
        return rc;
    if (c->c_daily && c->c_daily_reserve >= c->c_daily)
        return err_set(e, ERR_INVALID,
                       "--daily-reserve %llu leaves nothing of --daily %llu: it must be smaller",
                       (unsigned long long)c->c_daily_reserve, (unsigned long long)c->c_daily);
    return 0;
}

/* How the sync runs: verification, the lag allowance, the reference
 * design, --loop and its interval, --max-duration. */
static int resolve_sync(hubsync_config *c, const char *raw[F_COUNT], err_info *e)
{
    int rc;
    uint64_t v;

    /* Verification: the share of each incremental table's parents re-read
     * per run (docs/CLI.md: 0.02 verifies a table every 50 runs, two days
     * of hourly runs, for ceil(0.02 × parents / 1,000) batch reads a run). */
    c->c_verify_fraction = DEFAULT_VERIFY_FRACTION;
    if (raw[F_VERIFY_FRACTION] && (rc = parse_fraction("--verify-fraction", raw[F_VERIFY_FRACTION],
                                                       true, &c->c_verify_fraction, e)))
        return rc;
    if (raw[F_REFERENCE])
        c->c_verify_fraction = 0; /* the reference design verifies nothing */
    c->c_lag_ms = DEFAULT_LAG_MS;
    if (raw[F_LAG_MS]) {
        if ((rc = parse_range("--lag-ms", raw[F_LAG_MS], 0, MAX_LAG_MS, &v, e)))
            return rc;
        c->c_lag_ms = (int64_t)v;
    }

    c->c_json = raw[F_JSON] != NULL;
    c->c_loop = raw[F_LOOP] != NULL;
    c->c_full_scan = raw[F_FULL_SCAN] != NULL;
    /* The reference design (its algorithm: refdesign.c), at its pace, for
     * side-by-side measurements: one process, one request at a time, 100
     * parents a batch read, lists in one sequential chain (it wins over
     * --workers, --inflight and --verify-fraction). */
    c->c_reference = raw[F_REFERENCE] != NULL;
    c->c_batch_parents = c->c_reference ? REFERENCE_BATCH : JOB_MAX_PARENTS;
    if (c->c_reference)
        c->c_workers = c->c_inflight = 1;
    c->c_interval_s = DEFAULT_INTERVAL_S;
    if (raw[F_INTERVAL]) {
        if ((rc = parse_range("--interval", raw[F_INTERVAL], 0, MAX_INTERVAL_S, &v, e)))
            return rc;
        c->c_interval_s = (int64_t)v;
    }

    c->c_max_duration_s = 0;
    if (raw[F_MAX_DURATION]) {
        if ((rc = parse_range("--max-duration", raw[F_MAX_DURATION], 1, MAX_DURATION_S, &v, e)))
            return rc;
        c->c_max_duration_s = (int64_t)v;
    }
    return 0;
}

/* What it writes: log format, progress bar, metrics file, CA file, the
 * export's table and format. */
static int resolve_output(hubsync_config *c, const char *raw[F_COUNT], err_info *e)
{
    int rc;
    const char *s;

    s = raw[F_LOG_FORMAT] ? raw[F_LOG_FORMAT] : "text";
    if (strcmp(s, "text") != 0 && strcmp(s, "json") != 0)
        return err_set(e, ERR_INVALID, "--log-format '%.40s': expected text or json", s);
    c->c_log_json = strcmp(s, "json") == 0;

    s = raw[F_PROGRESS] ? raw[F_PROGRESS] : "auto";
    if (strcmp(s, "auto") == 0)
        c->c_progress = PROGRESS_AUTO;
    else if (strcmp(s, "always") == 0)
        c->c_progress = PROGRESS_ALWAYS;
    else if (strcmp(s, "never") == 0)
        c->c_progress = PROGRESS_NEVER;
    else
        return err_set(e, ERR_INVALID, "--progress '%.40s': expected auto, always or never", s);

    if (raw[F_METRICS_FILE] && (rc = check_metrics_path(raw[F_METRICS_FILE], c, e)))
        return rc;

    if (raw[F_CA_FILE]) {
        if ((rc = copy_path("--ca-file", raw[F_CA_FILE], c->c_ca_file, sizeof(c->c_ca_file), e)))
            return rc;
        struct stat st;
        if (stat(c->c_ca_file, &st) != 0 || access(c->c_ca_file, R_OK) != 0)
            return err_set(e, ERR_INVALID, "--ca-file %.200s: %s", c->c_ca_file, strerror(errno));
        if (!S_ISREG(st.st_mode))
            return err_set(e, ERR_INVALID, "--ca-file %.200s is not a regular file", c->c_ca_file);
    }

    if (raw[F_TABLE]) {
        hs_table t;
        if ((rc = config_parse_table("--table", raw[F_TABLE], strlen(raw[F_TABLE]), &t, e)))
            return rc;
        hs_table_name(t, c->c_export_table, sizeof(c->c_export_table));
    }
    s = raw[F_FORMAT] ? raw[F_FORMAT] : "tsv";
    if (strcmp(s, "tsv") == 0)
        c->c_export_format = EXPORT_TSV;
    else if (strcmp(s, "jsonl") == 0)
        c->c_export_format = EXPORT_JSONL;
    else
        return err_set(e, ERR_INVALID, "--format '%.40s': expected tsv or jsonl", s);
    return 0;
}

/* Second pass: every setting from its flag, else environment, else default. */
static int resolve(hubsync_config *c, const char *raw[F_COUNT], err_info *e)
{
    int rc;
    if ((rc = resolve_where(c, raw, e)) || (rc = resolve_credentials(raw[F_TOKEN_FILE], c, e)) ||
        (rc = resolve_budget(c, raw, e)) || (rc = resolve_sync(c, raw, e)) ||
        (rc = resolve_output(c, raw, e)))
        return rc;
    /* Commands that talk to HubSpot need credentials. */
    if ((c->c_command == CMD_SETUP || c->c_command == CMD_RUN || c->c_command == CMD_DOCTOR) &&
        !c->c_token[0] && !c->c_oauth)
        return err_set(e, ERR_INVALID,
                       "no HubSpot credentials: set HUBSPOT_ACCESS_TOKEN, use --token-file F, or "
                       "set HUBSPOT_REFRESH_TOKEN, HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET");
    return 0;
}

int config_parse(int argc, char **argv, hubsync_config *c, err_info *e)
{
    const char *raw[F_COUNT] = {0};
    memset(c, 0, sizeof(*c));
    int rc = scan_argv(argc, argv, c, raw, e);
    if (rc)
        goto fail;
    if (raw[F_HELP] || c->c_command == CMD_HELP) {
        c->c_command = CMD_HELP;
        return 0;
    }
    if (c->c_command == CMD_NONE) {
        rc = err_set(e, ERR_INVALID, "no command given (see hubsync --help)");
        goto fail;
    }
    if ((rc = check_applicable(c, raw, e)) || (rc = resolve(c, raw, e)))
        goto fail;
    return 0;
fail:
    config_wipe(c);
    return rc;
}

void config_wipe(hubsync_config *c)
{
    volatile char *fields[] = {c->c_token, c->c_refresh_token, c->c_client_id, c->c_client_secret};
    size_t sizes[] = {sizeof(c->c_token), sizeof(c->c_refresh_token), sizeof(c->c_client_id),
                      sizeof(c->c_client_secret)};
    for (size_t f = 0; f < 4; f++)
        for (size_t i = 0; i < sizes[f]; i++)
            fields[f][i] = 0;
}

/* ---- what the commands share ---------------------------------------------- */

void config_redact(const hubsync_config *c, char *msg)
{
    const char *secrets[] = {c->c_token, c->c_refresh_token, c->c_client_secret};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        size_t n = strlen(secrets[i]);
        if (n < 4) /* too short to be a real secret; would mangle ordinary text */
            continue;
        char *p;
        while ((p = strstr(msg, secrets[i])) != NULL) {
            static const char mask[] = "[redacted]";
            size_t rest = strlen(p + n);
            size_t m = sizeof(mask) - 1 < n ? sizeof(mask) - 1 : n;
            memcpy(p, mask, m);
            memmove(p + m, p + n, rest + 1);
        }
    }
}

void cmd_error(const hubsync_config *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    config_redact(c, msg);
    log_error("%s", msg);
}

int cmd_exit_code(int err)
{
    switch (err) {
    case 0:
        return EXIT_OK;
    case ERR_INVALID:
    case ERR_CORRUPT:
    case ERR_NOT_FOUND:
    case ERR_TLS: /* a certificate this machine does not trust: --ca-file, or a wrong URL */
        return EXIT_USAGE;
    case ERR_AUTH:
        return EXIT_AUTH;
    case ERR_LOCKED:
        return EXIT_LOCKED;
    case ERR_DAILY:
        return EXIT_DAILY;
    default:
        return EXIT_INCOMPLETE;
    }
}

void config_usage(void)
{
    fputs("usage: hubsync [FLAGS] COMMAND [FLAGS]\n"
          "\n"
          "Mirrors HubSpot CRM associations (and the IDs and last-modified times of the\n"
          "objects they link) into a local LMDB database.\n"
          "\n"
          "Commands:\n"
          "  setup    detect each table's rollup fields in HubSpot and save its schema\n"
          "           (ping_type read_incremental_ping or read_full_ping); keeps cursors and data\n"
          "  run      sync every selected table until caught up, then exit\n"
          "           --loop             keep going, one pass every --interval\n"
          "           --interval SECONDS pause between passes with --loop [60]\n"
          "           --full-scan        start every selected table over with a full scan\n"
          "                              (whatever its cursor; the data is kept and replaced)\n"
          "           --reference-design run the reference design's algorithm at its pace\n"
          "                              (1 process, 1 request at a time, 100 parents a call,\n"
          "                              a search per table, cursor = newest time seen, no\n"
          "                              verification): a baseline to compare\n"
          "  status   per table: table_options, cursor and its meaning, row counts, last run\n"
          "  doctor   compare the rollup fields in HubSpot with the saved table_options;\n"
          "           prints each mismatch and its fix; exit 0 when all agree, 1 when not\n"
          "  export   print the mirrored associations (read-only, works beside a run)\n"
          "           --table T          only table T [every selected table]\n"
          "           --format tsv|jsonl TABLE<TAB>PARENT_ID<TAB>CHILD_ID<TAB>TYPE_IDS, or one\n"
          "                              JSON object per line [tsv]\n"
          "  bench    full scan versus incremental, hubsync versus the reference design's\n"
          "           pace, against the simulator (scripts/bench.sh --help for its options)\n"
          "  help     print this text (also -h, --help)\n"
          "\n"
          "Flags (before or after the command; a flag wins over its environment variable):\n"
          "  --db DIR            database directory [$HUBSYNC_DB, ./hubsync-data]\n"
          "  --base-url URL      HubSpot API base [$HUBSPOT_BASE_URL, https://api.hubapi.com];\n"
          "                      plain http:// only to loopback addresses (127.x, localhost,\n"
          "                      [::1]); scheme://host[:port][/path], nothing more\n"
          "  --token-file F      file holding a private-app token; mode 0600 or 0400\n"
          "  --tables LIST       comma-separated tables [$HUBSYNC_TABLES, the six defaults]\n"
          "  --workers N         worker processes, 1-64 [number of CPUs]\n"
          "  --inflight K        cap on requests in flight per worker, 1-64; below it the run\n"
          "                      sizes them from measured latency and the allowed rate [64]\n"
          "  --rate N/Ws         burst limit, e.g. 100/10s; 0: no pacing [learned from\n"
          "                      HubSpot's X-HubSpot-RateLimit headers; 190/10s until then]\n"
          "  --search-rate N/Ws  search limit [5/1s]\n"
          "  --daily N           daily API call budget [none]\n"
          "  --daily-reserve N   run: stop (exit 5) while N calls of the day are left, for\n"
          "                      the portal's other integrations; the limit is --daily or\n"
          "                      HubSpot's daily headers (none for OAuth apps) [0]\n"
          "  --lag-ms MS         search index-lag allowance, 0-86400000 [30000]\n"
          "  --log-format F      text or json log lines on stderr [text]\n"
          "  --progress P        auto, always or never (auto: when stderr is a terminal) [auto]\n"
          "  --json              machine-readable output on stdout (setup, run, status, doctor)\n"
          "  --max-duration S    run: drain and exit 1 after S seconds (a scheduler's\n"
          "                      window); the next run resumes [none]\n"
          "  --budget-fraction F run: use at most F (0-1] of the burst limit, leaving\n"
          "                      the rest to the portal's other integrations [1]\n"
          "  --verify-fraction F run: re-read this share [0-1] of each incremental table's\n"
          "                      parents per run, in ID order, and repair the drift missed\n"
          "                      rollups leave (0: off, 1: the whole table) [0.02]\n"
          "  --metrics-file F    run: write Prometheus text-format metrics to F after each\n"
          "                      run, atomically (node_exporter textfile collector) [none]\n"
          "  --ca-file F         CA bundle (PEM) to verify HubSpot's certificate with [the\n"
          "                      system's]; always verified: untrusted is exit 2, not retried\n"
          "\n"
          "Credentials (never on the command line, never printed):\n"
          "  HUBSPOT_ACCESS_TOKEN             private-app token (or --token-file F)\n"
          "  HUBSPOT_REFRESH_TOKEN, HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET\n"
          "                                   OAuth: all three or none\n"
          "\n"
          "Tables are {a}_{b} with a before b alphabetically; a is the parent. Defaults:\n"
          "  companies_contacts companies_deals companies_tickets contacts_deals\n"
          "  contacts_tickets deals_tickets\n"
          "",
          stdout);
    char types[160];
    printf("Engagement types (%s)\n", hs_object_names(types, sizeof(types), true, " "));
    fputs("pair with the four core types, e.g. contacts_notes, calls_companies.\n"
          "\n"
          "Exit codes:\n"
          "  0  success\n"
          "  1  run incomplete, safe to rerun (doctor: a table disagrees with HubSpot)\n"
          "  2  usage or configuration error; a --db that cannot be used, a damaged\n"
          "     database file or stored record (the message says what to do); HubSpot's\n"
          "     TLS certificate not trusted (--ca-file)\n"
          "  3  authentication failed\n"
          "  4  another run holds this database\n"
          "  5  daily API limit exhausted\n",
          stdout);
}
