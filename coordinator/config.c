/*
 * config — hubsync's command line and environment (docs/CLI.md), see config.h.
 *
 * Parsing runs in two passes: the first walks argv, recognises the command
 * and every flag wherever it stands and keeps each flag's raw text; the
 * second reads the config file (--config, HUBSYNC_CONFIG: conffile.h) and
 * resolves every setting from its flag, else its environment variable,
 * else the file's line of that variable, else its default, and validates
 * it. A problem is reported as one line naming the flag (or variable, or
 * file and line) and the bad value, and nothing is read or written beyond
 * the token file and the config file: the caller exits 2.
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
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/ipc/jobs.h"

#include "../common/base/rate_spec.h"
#include "../common/ipc/shm.h"
#include "../common/base/url.h"
#include "cli.h"
#include "commands.h"
#include "conffile.h"

/* Limits the table does not state (the flags' ranges and defaults are in
 * cli.c). */
enum {
    REFERENCE_BATCH = 100,             /* the reference design's parents per batch read */
    MAX_WORKERS = SHM_MAX_WORKERS - 1, /* the last slot is the coordinator's */
    TOKEN_FILE_MAX = 4096
};

/* Where a setting's value comes from, strongest first. */
typedef enum origin { FROM_DEFAULT, FROM_FLAG, FROM_ENV, FROM_FILE } origin;

/* The first pass's findings and each value, flag by flag. */
typedef struct flag_values {
    const char *fv_raw[F_COUNT];  /* on the command line (NULL: absent; "" for a switch) */
    const char *fv_text[F_COUNT]; /* the flag's value, else its variable's, else the
                                     file's, else NULL */
    const char *fv_src[F_COUNT];  /* what messages call it: the flag, the variable, or
                                     "FILE:LINE: VARIABLE" */
    origin fv_from[F_COUNT];      /* which of them gave fv_text (--print-config, -v) */
    bool fv_set[F_COUNT];         /* a value was read: given, or the row's default */
    uint64_t fv_num[F_COUNT];     /* NUMBER: the number; CHOICE: the word's index; RATE: N */
    int64_t fv_window_ms[F_COUNT];
    double fv_share[F_COUNT];
} flag_values;

const char *config_command_name(hubsync_command cmd)
{
    for (size_t i = 0; i < cli_command_count; i++)
        if (cli_commands[i].cc_cmd == cmd)
            return cli_commands[i].cc_name;
    return "(none)";
}

/* An environment variable, with "" taken as unset. */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* The config file of the last parse (conffile.h): its values stay here for
 * --print-config, but for the credentials', which are wiped once copied. */
static conf_file conf;

/* A variable from the environment, else from the config file; *src (may be
 * NULL) names it for messages. */
static const char *setting(const char *name, const char **src)
{
    const char *v = env(name);
    const conf_entry *ce = v ? NULL : conf_find(&conf, name);
    if (src)
        *src = ce ? ce->ce_src : name;
    return v ? v : ce ? ce->ce_value : NULL;
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
static int read_token_file(const char *src, const char *path, hubsync_config *c, err_info *e)
{
    int rc = 0;
    char buf[TOKEN_FILE_MAX + 1];
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_set(e, ERR_INVALID, "%s %.200s: %s", src, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = err_set(e, ERR_INVALID, "%s %.200s: fstat: %s", src, path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = err_set(e, ERR_INVALID, "%s %.200s is not a regular file", src, path);
        goto out;
    }
    /* Readable by its owner alone: 0600, or 0400 as systemd's LoadCredential=
     * writes it. Any group or other bit, or a set-ID bit, is refused. */
    if ((st.st_mode & 07077) != 0 || !(st.st_mode & 0400)) {
        rc = err_set(e, ERR_INVALID,
                     "%s %.200s has mode %04o; it must be readable by its owner "
                     "alone, 0600 or 0400 (chmod 600 %.200s)",
                     src, path, (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_set(e, ERR_INVALID, "%s %.200s: read: %s", src, path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == sizeof(buf) - 1) {
            rc = err_set(e, ERR_INVALID, "%s %.200s is larger than %d bytes", src, path,
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
        rc = err_set(e, ERR_INVALID, "%s %.200s holds more than one line", src, path);
        goto out;
    }
    if (memchr(buf + lo, '\0', len - lo)) {
        rc = err_set(e, ERR_INVALID, "%s %.200s holds a NUL byte", src, path);
        goto out;
    }
    char what[256];
    snprintf(what, sizeof(what), "the token in %s %.200s", src, path);
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

/* The private-app token (token_file, named src in messages, else
 * HUBSPOT_ACCESS_TOKEN) or the three OAuth values, each from the
 * environment, else the config file. */
static int resolve_credentials(const char *src, const char *token_file, hubsync_config *c,
                               err_info *e)
{
    int rc;
    const char *token_src = "HUBSPOT_ACCESS_TOKEN";
    if (token_file) {
        if ((rc = read_token_file(src, token_file, c, e)) != 0)
            return rc;
    } else if (setting("HUBSPOT_ACCESS_TOKEN", &token_src)) {
        rc = set_secret(c->c_token, sizeof(c->c_token), token_src,
                        setting("HUBSPOT_ACCESS_TOKEN", NULL), e);
        if (rc)
            return rc;
    }
    static const char *const oauth_vars[3] = {"HUBSPOT_REFRESH_TOKEN", "HUBSPOT_CLIENT_ID",
                                              "HUBSPOT_CLIENT_SECRET"};
    int nset = 0;
    for (int i = 0; i < 3; i++)
        nset += setting(oauth_vars[i], NULL) != NULL;
    if (nset > 0 && nset < 3) {
        char missing[96] = "";
        for (int i = 0; i < 3; i++)
            if (!setting(oauth_vars[i], NULL)) {
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
                           token_file ? src : token_src);
        char *dst[3] = {c->c_refresh_token, c->c_client_id, c->c_client_secret};
        size_t size[3] = {sizeof(c->c_refresh_token), sizeof(c->c_client_id),
                          sizeof(c->c_client_secret)};
        for (int i = 0; i < 3; i++) {
            const char *var_src, *v = setting(oauth_vars[i], &var_src);
            if ((rc = set_secret(dst[i], size[i], var_src, v, e)))
                return rc;
        }
        c->c_oauth = true;
    }
    return 0;
}

/* ---- argv ---------------------------------------------------------------- */

/* Finds the flag `arg` names ("--db", "--db=…", or a one-letter form such
 * as "-o"); -1 when unknown. Sets *inline_value to the text after '=' when
 * present. */
static int find_flag(const char *arg, const char **inline_value)
{
    size_t n = strcspn(arg, "=");
    *inline_value = arg[n] == '=' ? arg + n + 1 : NULL;
    for (int i = 0; i < F_COUNT; i++)
        if ((strlen(cli_flags[i].fd_name) == n && strncmp(arg, cli_flags[i].fd_name, n) == 0) ||
            (n == 2 && cli_flags[i].fd_short && arg[1] == cli_flags[i].fd_short))
            return i;
    return -1;
}

/* A word that is not a flag: the command, or a stray argument. */
static int scan_command(const char *arg, hubsync_config *c, err_info *e)
{
    hubsync_command cmd = CMD_NONE;
    for (size_t k = 0; k < cli_command_count; k++)
        if (strcmp(arg, cli_commands[k].cc_name) == 0)
            cmd = cli_commands[k].cc_cmd;
    /* `hubsync help run`: the run's usage. */
    if (c->c_command == CMD_HELP && cmd != CMD_NONE && c->c_help_command == CMD_NONE) {
        c->c_help_command = cmd;
        return 0;
    }
    /* push's one argument: its target (checked in resolve_push). */
    if (c->c_command == CMD_PUSH && !c->c_push_target[0]) {
        if (strlen(arg) >= sizeof(c->c_push_target))
            return err_set(e, ERR_INVALID, "push: TARGET is longer than %zu bytes",
                           sizeof(c->c_push_target) - 1);
        snprintf(c->c_push_target, sizeof(c->c_push_target), "%s", arg);
        return 0;
    }
    if (c->c_command != CMD_NONE)
        return err_set(e, ERR_INVALID, "unexpected argument '%.60s' after the command %s", arg,
                       config_command_name(c->c_command));
    if (cmd == CMD_NONE) {
        char names[128] = "", near[64] = "";
        for (size_t k = 0; k < cli_command_count; k++) {
            size_t used = strlen(names);
            snprintf(names + used, sizeof(names) - used, "%s%s", k ? " " : "",
                     cli_commands[k].cc_name);
            if (!near[0] && cli_near(arg, cli_commands[k].cc_name))
                snprintf(near, sizeof(near), "did you mean %s? ", cli_commands[k].cc_name);
        }
        return err_set(e, ERR_INVALID, "unknown command '%.60s' (%scommands: %s)", arg, near,
                       names);
    }
    c->c_command = cmd;
    return 0;
}

/* An unknown flag, with the nearest known one suggested. */
static int unknown_flag(const char *arg, size_t name_len, err_info *e)
{
    char name[64], near[80] = "";
    snprintf(name, sizeof(name), "%.*s", name_len > 60 ? 60 : (int)name_len, arg);
    for (int i = 0; i < F_COUNT && !near[0]; i++)
        if (cli_near(name, cli_flags[i].fd_name))
            snprintf(near, sizeof(near), "did you mean %s? ", cli_flags[i].fd_name);
    return err_set(e, ERR_INVALID, "unknown flag %s (%ssee hubsync --help)", name, near);
}

/* First pass: the command and each flag's raw value. */
static int scan_argv(int argc, char **argv, hubsync_config *c, flag_values *fv, err_info *e)
{
    const char **raw = fv->fv_raw;
    bool flags_end = false; /* after "--", every word is an argument */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int rc;
        if (!flags_end && strcmp(arg, "--") == 0) {
            flags_end = true;
            continue;
        }
        if (flags_end || arg[0] != '-' || arg[1] == '\0') {
            if ((rc = scan_command(arg, c, e)))
                return rc;
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
            return unknown_flag(arg, name_len, e);
        }
        const char *name = cli_flags[f].fd_name;
        if (cli_flags[f].fd_kind == FLAG_SWITCH) {
            if (value)
                return err_set(e, ERR_INVALID, "%s takes no value", name);
            raw[f] = "";
            continue;
        }
        if (!value) {
            if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
                return err_set(e, ERR_INVALID, "%s needs a value", name);
            value = argv[++i];
        }
        /* The same flag twice with two values is a conflict, not "the last
         * one wins" (a script's default and a caller's override). */
        if (raw[f] && strcmp(raw[f], value) != 0)
            return err_set(e, ERR_INVALID, "%s is given twice ('%.40s' and '%.40s'): give it once",
                           name, raw[f], value);
        raw[f] = value;
    }
    return 0;
}

/* A flag on the command line that does not apply to the command. Variables
 * are ambient: one that does not apply is ignored. */
static int check_applicable(const hubsync_config *c, const flag_values *fv, err_info *e)
{
    if (fv->fv_raw[F_JSON] && c->c_command == CMD_EXPORT)
        return err_set(e, ERR_INVALID, "--json does not apply to export: use --format jsonl");
    for (int i = 0; i < F_COUNT; i++) {
        if (!fv->fv_raw[i] || cli_flag_applies(&cli_flags[i], c->c_command))
            continue;
        char cmds[96];
        cli_flag_commands(&cli_flags[i], cmds, sizeof(cmds));
        if (__builtin_popcount(cli_flags[i].fd_commands) == 1)
            return err_set(e, ERR_INVALID, "%s applies only to `hubsync %s`", cli_flags[i].fd_name,
                           cmds);
        return err_set(e, ERR_INVALID, "%s applies only to %s", cli_flags[i].fd_name, cmds);
    }
    if (fv->fv_raw[F_INTERVAL] && !fv->fv_raw[F_LOOP])
        return err_set(e, ERR_INVALID, "--interval needs --loop");
    /* -q and -v are short for two log levels: more than one is a conflict. */
    if (!!fv->fv_raw[F_QUIET] + !!fv->fv_raw[F_VERBOSE] + !!fv->fv_raw[F_LOG_LEVEL] > 1)
        return err_set(e, ERR_INVALID,
                       "--log-level, -q (--quiet) and -v (--verbose) each set the log level: "
                       "give one");
    return 0;
}

/* ---- values -------------------------------------------------------------- */

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

/* A share in (0, 1], or [0, 1] with zero_ok, written as a plain decimal
 * ("0.5", "1", ".25"): no sign, exponent, hex, inf or nan, which strtod
 * alone would take. */
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

/* Reads flag f's value as its row says: the flag's, else its variable's
 * from the environment, else from the config file (either only when the
 * flag applies to the command: variables are ambient, and one file serves
 * every command), else the row's default. */
static int read_value(hubsync_command cmd, flag_values *fv, int f, err_info *e)
{
    const cli_flag *d = &cli_flags[f];
    fv->fv_src[f] = d->fd_name;
    fv->fv_text[f] = fv->fv_raw[f];
    fv->fv_from[f] = fv->fv_raw[f] ? FROM_FLAG : FROM_DEFAULT;
    if (!fv->fv_text[f] && d->fd_env && cli_flag_applies(d, cmd)) {
        const conf_entry *ce = f == F_CONFIG ? NULL : conf_find(&conf, d->fd_env);
        if (env(d->fd_env)) {
            fv->fv_text[f] = env(d->fd_env);
            fv->fv_src[f] = d->fd_env;
            fv->fv_from[f] = FROM_ENV;
        } else if (ce) {
            fv->fv_text[f] = ce->ce_value;
            fv->fv_src[f] = ce->ce_src;
            fv->fv_from[f] = FROM_FILE;
        }
    }
    const char *v = fv->fv_text[f] ? fv->fv_text[f] : d->fd_default;
    if (!v || d->fd_kind == FLAG_SWITCH || d->fd_kind == FLAG_TEXT)
        return 0;
    const char *src = fv->fv_src[f];
    uint32_t count = 0;
    int rc = 0;
    switch (d->fd_kind) {
    case FLAG_NUMBER:
        rc = parse_range(src, v, d->fd_min, d->fd_max, &fv->fv_num[f], e);
        break;
    case FLAG_SHARE:
        rc = parse_fraction(src, v, d->fd_min == 0, &fv->fv_share[f], e);
        break;
    case FLAG_CHOICE: {
        int k = cli_choice_index(d, v);
        char words[96];
        if (k < 0)
            rc = err_set(e, ERR_INVALID, "%s '%.40s': expected %s", src, v,
                         cli_choices_text(d, words, sizeof(words)));
        fv->fv_num[f] = (uint64_t)k;
        break;
    }
    case FLAG_RATE:
        rc = parse_rate(src, v, &count, &fv->fv_window_ms[f], e);
        fv->fv_num[f] = count;
        break;
    case FLAG_SWITCH:
    case FLAG_TEXT:
        break;
    }
    fv->fv_set[f] = rc == 0;
    return rc;
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
static int check_metrics_path(const char *src, const char *path, hubsync_config *c, err_info *e)
{
    int rc = copy_path(src, path, c->c_metrics_file, sizeof(c->c_metrics_file), e);
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
        return err_set(e, ERR_INVALID, "%s %.200s: folder %.200s: %s", src, path, dir,
                       errno && !S_ISDIR(st.st_mode) ? strerror(errno) : "not a folder");
    if (access(dir, W_OK | X_OK) != 0)
        return err_set(e, ERR_INVALID, "%s %.200s: cannot write in %.200s: %s", src, path, dir,
                       strerror(errno));
    if (stat(c->c_metrics_file, &st) == 0 && S_ISDIR(st.st_mode))
        return err_set(e, ERR_INVALID, "%s %.200s is a folder", src, path);
    return 0;
}

/* A TEXT flag's value: the flag's, its variable's, or its default. */
static const char *text_of(const flag_values *fv, int f)
{
    return fv->fv_text[f] ? fv->fv_text[f] : cli_flags[f].fd_default;
}

/* hubsync's default database directory before 0.10, in the working
 * directory: still used when it exists, so an upgrade loses nothing. */
#define LEGACY_DB "./hubsync-data"

/* The default database without LEGACY_DB (config.h) into dir. */
static int fresh_default_db(char *dir, size_t size, err_info *e)
{
    const char *state = env("STATE_DIRECTORY"), *xdg = env("XDG_STATE_HOME");
    const char *home = env("HOME");
    int n;
    /* systemd sets STATE_DIRECTORY to StateDirectory='s folders, joined by
     * ':' when there are several; the first is the service's own. */
    if (state && strcspn(state, ":") > 0) {
        n = snprintf(dir, size, "%.*s", (int)strcspn(state, ":"), state);
    } else if (xdg && xdg[0] == '/') { /* the XDG spec ignores a relative path */
        n = snprintf(dir, size, "%s/hubsync", xdg);
    } else {
        if (!home || home[0] != '/') {
            const struct passwd *pw = getpwuid(getuid());
            home = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
        }
        if (!home)
            return err_set(e, ERR_INVALID,
                           "no database directory: --db is not given and no home directory is "
                           "known (HOME is not set): give --db DIR or set HUBSYNC_DB");
        n = snprintf(dir, size, "%s/.local/state/hubsync", home);
    }
    if (n < 0 || (size_t)n >= size)
        return err_set(e, ERR_INVALID,
                       "the default database directory is longer than %zu bytes: give --db DIR",
                       size - 1);
    return 0;
}

int config_default_db(char *dir, size_t size, char *fresh, size_t fresh_size, bool *legacy,
                      err_info *e)
{
    struct stat st;
    *legacy = stat(LEGACY_DB, &st) == 0 && S_ISDIR(st.st_mode);
    int rc = fresh_default_db(fresh, fresh_size, e);
    if (*legacy) {
        if (rc) /* the old folder is enough; the warning says "the new default" */
            snprintf(fresh, fresh_size, "the new default");
        snprintf(dir, size, "%s", LEGACY_DB);
        return 0;
    }
    if (rc == 0)
        snprintf(dir, size, "%s", fresh);
    return rc;
}

/* The database directory: --db, HUBSYNC_DB, the file's, or the default
 * (with a warning when that is the old one). */
static int resolve_db(hubsync_config *c, const flag_values *fv, err_info *e)
{
    if (fv->fv_text[F_DB])
        return copy_path(fv->fv_src[F_DB], fv->fv_text[F_DB], c->c_db_dir, PATH_MAX - 16, e);
    char fresh[PATH_MAX - 16];
    bool legacy = false;
    int rc = config_default_db(c->c_db_dir, PATH_MAX - 16, fresh, sizeof(fresh), &legacy, e);
    if (rc == 0 && legacy)
        snprintf(c->c_warning, sizeof(c->c_warning),
                 "using %s (it exists here: the default database directory of earlier "
                 "versions); the default is now %.300s: move it there (stop hubsync first) or "
                 "give --db %s (or HUBSYNC_DB) to keep it and silence this",
                 LEGACY_DB, fresh, LEGACY_DB);
    return rc;
}

/* Where: the database directory and HubSpot's base URL. */
static int resolve_where(hubsync_config *c, const flag_values *fv, err_info *e)
{
    int rc;

    /* Database directory; the store adds file names below it. */
    if ((rc = resolve_db(c, fv, e)))
        return rc;

    /* Base URL: https, or http to loopback; no trailing slash. */
    const char *url_src = fv->fv_src[F_BASE_URL];
    if ((rc = copy_path(url_src, text_of(fv, F_BASE_URL), c->c_base_url, sizeof(c->c_base_url), e)))
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
static int resolve_budget(hubsync_config *c, const flag_values *fv, err_info *e)
{
    int rc;
    if (fv->fv_text[F_TABLES]) {
        if ((rc = parse_tables(fv->fv_src[F_TABLES], fv->fv_text[F_TABLES], c, e)))
            return rc;
    } else {
        for (int i = 0; i < HS_DEFAULT_TABLE_COUNT; i++)
            c->c_tables[i] = hs_default_tables[i];
        c->c_ntables = HS_DEFAULT_TABLE_COUNT;
    }
    c->c_workers = fv->fv_set[F_WORKERS] ? (int)fv->fv_num[F_WORKERS] : online_cpus();
    c->c_inflight = (int)fv->fv_num[F_INFLIGHT];
    c->c_rate = (uint32_t)fv->fv_num[F_RATE];
    c->c_rate_window_ms = fv->fv_window_ms[F_RATE];
    c->c_search_rate = (uint32_t)fv->fv_num[F_SEARCH_RATE];
    c->c_search_window_ms = fv->fv_window_ms[F_SEARCH_RATE];
    /* --budget-fraction F: this run takes at most F of the burst limit
     * (whole requests, at least one a window), leaving the rest of the
     * portal's budget to its other integrations. */
    c->c_rate_limit = c->c_rate;
    c->c_rate_given = fv->fv_text[F_RATE] != NULL;
    c->c_budget_fraction = fv->fv_share[F_BUDGET_FRACTION];
    if (fv->fv_text[F_BUDGET_FRACTION]) {
        if (c->c_rate == 0)
            return err_set(e, ERR_INVALID,
                           "%s needs a burst limit to take a share of (--rate 0 sets none)",
                           fv->fv_src[F_BUDGET_FRACTION]);
        c->c_rate = (uint32_t)((double)c->c_rate_limit * c->c_budget_fraction);
        if (c->c_rate == 0)
            c->c_rate = 1;
    }
    c->c_daily = fv->fv_set[F_DAILY] ? fv->fv_num[F_DAILY] : 0;
    c->c_daily_reserve = fv->fv_num[F_DAILY_RESERVE];
    if (c->c_daily && c->c_daily_reserve >= c->c_daily)
        return err_set(e, ERR_INVALID,
                       "--daily-reserve %llu leaves nothing of --daily %llu: it must be smaller",
                       (unsigned long long)c->c_daily_reserve, (unsigned long long)c->c_daily);
    return 0;
}

/* --changes-since RUN|TIME: a run number, or an ISO-8601 time. */
static int parse_since(const char *v, hubsync_config *c, err_info *e)
{
    c->c_changes_given = true;
    c->c_changes_since_ms = -1;
    if (parse_u64(v, &c->c_changes_since_run) && c->c_changes_since_run < (1ULL << 53))
        return 0;
    if (parse_iso8601_ms(v, strlen(v), &c->c_changes_since_ms) == 0 && c->c_changes_since_ms >= 0)
        return 0;
    return err_set(e, ERR_INVALID,
                   "--changes-since '%.40s': expected a run number (hubsync status shows the "
                   "latest) or a UTC time such as 2026-12-07T06:00:00Z",
                   v);
}

/* --changes-keep N|Nd: runs, or days. */
static int parse_keep(const char *src, const char *v, hubsync_config *c, err_info *e)
{
    size_t n = strlen(v);
    uint64_t k = 0;
    bool days = n > 1 && v[n - 1] == 'd';
    if (parse_u64_digits(v, days ? n - 1 : n, &k) && k >= 1 && k <= (days ? 3650 : 1000000)) {
        c->c_changes_keep_runs = days ? 0 : k;
        c->c_changes_keep_ms = days ? (int64_t)k * 86400000LL : 0;
        return 0;
    }
    return err_set(e, ERR_INVALID,
                   "%s '%.40s': expected N runs (1 to 1000000) or Nd days (1d to 3650d)", src, v);
}

/* How the sync runs: verification, the lag allowance, the reference
 * design, --loop and its interval, --max-duration. */
static int resolve_sync(hubsync_config *c, const flag_values *fv, err_info *e)
{
    /* Verification: the share of each incremental table's parents re-read
     * per run (docs/CLI.md: 0.02 verifies a table every 50 runs, two days
     * of hourly runs, for ceil(0.02 × parents / 1,000) batch reads a run). */
    c->c_verify_fraction = fv->fv_share[F_VERIFY_FRACTION];
    c->c_lag_ms = (int64_t)fv->fv_num[F_LAG_MS];
    c->c_json = fv->fv_raw[F_JSON] != NULL;
    c->c_loop = fv->fv_raw[F_LOOP] != NULL;
    c->c_full_scan = fv->fv_raw[F_FULL_SCAN] != NULL;
    /* The reference design (its algorithm: refdesign.c), at its pace, for
     * side-by-side measurements: one process, one request at a time, 100
     * parents a batch read, lists in one sequential chain, no verification
     * (it wins over --workers, --inflight and --verify-fraction). */
    c->c_reference = fv->fv_raw[F_REFERENCE] != NULL;
    c->c_batch_parents = c->c_reference ? REFERENCE_BATCH : JOB_MAX_PARENTS;
    if (c->c_reference) {
        c->c_workers = c->c_inflight = 1;
        c->c_verify_fraction = 0;
    }
    c->c_interval_s = (int64_t)fv->fv_num[F_INTERVAL];
    int rc = parse_keep(fv->fv_src[F_CHANGES_KEEP], text_of(fv, F_CHANGES_KEEP), c, e);
    if (rc)
        return rc;
    c->c_max_duration_s = fv->fv_set[F_MAX_DURATION] ? (int64_t)fv->fv_num[F_MAX_DURATION] : 0;
    return 0;
}

/* What export writes: a table or a type's objects, and where. */
static int resolve_export(hubsync_config *c, const flag_values *fv, err_info *e)
{
    int rc;
    const char *table = fv->fv_text[F_TABLE], *objects = fv->fv_text[F_OBJECTS];
    if (table && objects)
        return err_set(e, ERR_INVALID, "--table and --objects: give one (associations or objects)");
    if (table) {
        hs_table t;
        if ((rc = config_parse_table("--table", table, strlen(table), &t, e)))
            return rc;
        hs_table_name(t, c->c_export_table, sizeof(c->c_export_table));
    }
    if (objects) {
        char types[160];
        if (hs_object_parse(objects, strlen(objects), &c->c_export_objects) != 0)
            return err_set(e, ERR_INVALID, "--objects '%.40s': unknown object type (types: %s)",
                           objects, hs_object_names(types, sizeof(types), false, " "));
        c->c_export_objects_given = true;
    }
    const char *since = fv->fv_text[F_CHANGES_SINCE];
    if (since && objects)
        return err_set(e, ERR_INVALID,
                       "--changes-since and --objects: the feed holds associations");
    if (since && (rc = parse_since(since, c, e)))
        return rc;
    const char *out = fv->fv_text[F_OUTPUT];
    if (out && (rc = copy_path(fv->fv_src[F_OUTPUT], out, c->c_export_output,
                               sizeof(c->c_export_output) - 16, e)))
        return rc;
    return 0;
}

/* push: TARGET is a SQLite file or a PostgreSQL URI (libpq reads the rest). */
static int resolve_push(hubsync_config *c, const flag_values *fv, err_info *e)
{
    c->c_push_snapshot = fv->fv_raw[F_SNAPSHOT] != NULL;
    if (c->c_command != CMD_PUSH)
        return 0;
    const char *t = c->c_push_target;
    if (!t[0])
        return err_set(e, ERR_INVALID,
                       "push needs a TARGET: sqlite:PATH or postgresql://… (a libpq URI)");
    if (strncmp(t, "sqlite:", 7) == 0
            ? t[7] == '\0'
            : strncmp(t, "postgresql://", 13) != 0 && strncmp(t, "postgres://", 11) != 0)
        return err_set(e, ERR_INVALID,
                       "push: TARGET is neither sqlite:PATH nor postgresql://… (postgres://…); "
                       "it is not repeated here, a URI may hold a password");
    return 0;
}

/* What it writes: log format, progress bar, metrics file, CA file, the
 * export's table and format. */
static int resolve_output(hubsync_config *c, const flag_values *fv, err_info *e)
{
    int rc;
    c->c_log_json = fv->fv_num[F_LOG_FORMAT] == 1; /* text|json */
    static const log_level levels[] = {LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR};
    c->c_log_level = levels[fv->fv_num[F_LOG_LEVEL]]; /* debug|info|warn|error */
    if (fv->fv_raw[F_QUIET])
        c->c_log_level = LOG_WARN;
    if (fv->fv_raw[F_VERBOSE])
        c->c_log_level = LOG_DEBUG;
    c->c_print_config = fv->fv_raw[F_PRINT_CONFIG] != NULL;
    c->c_progress = (progress_mode)fv->fv_num[F_PROGRESS]; /* auto|always|never */
    if (c->c_progress == PROGRESS_ALWAYS && c->c_log_json)
        return err_set(e, ERR_INVALID,
                       "%s always draws a bar on stderr, where %s json writes one JSON object a "
                       "line: choose one",
                       fv->fv_src[F_PROGRESS], fv->fv_src[F_LOG_FORMAT]);
    c->c_export_format = (export_format)fv->fv_num[F_FORMAT]; /* tsv|jsonl */
    c->c_markdown = fv->fv_raw[F_MARKDOWN] != NULL;

    if (fv->fv_text[F_METRICS_FILE] &&
        (rc = check_metrics_path(fv->fv_src[F_METRICS_FILE], fv->fv_text[F_METRICS_FILE], c, e)))
        return rc;

    const char *ca = fv->fv_text[F_CA_FILE], *ca_src = fv->fv_src[F_CA_FILE];
    if (ca) {
        if ((rc = copy_path(ca_src, ca, c->c_ca_file, sizeof(c->c_ca_file), e)))
            return rc;
        struct stat st;
        if (stat(c->c_ca_file, &st) != 0 || access(c->c_ca_file, R_OK) != 0)
            return err_set(e, ERR_INVALID, "%s %.200s: %s", ca_src, c->c_ca_file, strerror(errno));
        if (!S_ISREG(st.st_mode))
            return err_set(e, ERR_INVALID, "%s %.200s is not a regular file", ca_src, c->c_ca_file);
    }

    return resolve_export(c, fv, e);
}

/* The config file, when --config or HUBSYNC_CONFIG names one, into conf. */
static int load_config(hubsync_command cmd, flag_values *fv, err_info *e)
{
    int rc = read_value(cmd, fv, F_CONFIG, e);
    const char *path = fv->fv_text[F_CONFIG];
    if (rc || !path)
        return rc;
    if (!*path)
        return err_set(e, ERR_INVALID, "%s is empty", fv->fv_src[F_CONFIG]);
    return conf_load(&conf, fv->fv_src[F_CONFIG], path, e);
}

/* Second pass: every setting from its flag, else environment, else the
 * config file, else default. */
static int resolve(hubsync_config *c, flag_values *fv, err_info *e)
{
    int rc;
    if ((rc = load_config(c->c_command, fv, e)))
        return rc;
    for (int f = 0; f < F_COUNT; f++)
        if ((rc = read_value(c->c_command, fv, f, e)))
            return rc;
    if ((rc = resolve_where(c, fv, e)) ||
        (rc = resolve_credentials(fv->fv_src[F_TOKEN_FILE], fv->fv_text[F_TOKEN_FILE], c, e)) ||
        (rc = resolve_budget(c, fv, e)) || (rc = resolve_output(c, fv, e)) ||
        (rc = resolve_sync(c, fv, e)) || (rc = resolve_push(c, fv, e)))
        return rc;
    /* Commands that talk to HubSpot need credentials. */
    if ((c->c_command == CMD_SETUP || c->c_command == CMD_RUN || c->c_command == CMD_DOCTOR) &&
        !c->c_token[0] && !c->c_oauth)
        return err_set(e, ERR_INVALID,
                       "no HubSpot credentials: set HUBSPOT_ACCESS_TOKEN, use --token-file F, or "
                       "set HUBSPOT_REFRESH_TOKEN, HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET");
    return 0;
}

/* Whether the command line (or the environment) asks for JSON log lines,
 * read without parsing anything else: a usage error is then a JSON line
 * too, for the log pipeline that asked for them. */
static bool wants_json_logs(int argc, char **argv)
{
    const char *v = setting(cli_flags[F_LOG_FORMAT].fd_env, NULL);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strncmp(argv[i], "--log-format=", 13) == 0)
            v = argv[i] + 13;
        else if (strcmp(argv[i], "--log-format") == 0 && i + 1 < argc)
            v = argv[++i];
    }
    return v && strcmp(v, "json") == 0;
}

/* The last parse's values, for --print-config (large: not on the stack). */
static flag_values fv;

/* Zeroes the credentials' values in conf once they are copied into the
 * configuration: the rest stays for --print-config. */
static void conf_wipe_secrets(void)
{
    for (size_t i = 0; i < conf.cf_count; i++)
        if (cli_credential_var(conf.cf_entries[i].ce_key)) {
            volatile char *v = (volatile char *)conf.cf_entries[i].ce_value;
            while (*v)
                *v++ = 0;
        }
}

int config_parse(int argc, char **argv, hubsync_config *c, err_info *e)
{
    memset(&fv, 0, sizeof(fv));
    memset(c, 0, sizeof(*c));
    conf_wipe(&conf);
    int rc = scan_argv(argc, argv, c, &fv, e);
    if (rc)
        goto fail;
    if (fv.fv_raw[F_HELP] || c->c_command == CMD_HELP) {
        /* `hubsync run --help` is the run's usage, as `hubsync help run`. */
        if (c->c_command != CMD_HELP && c->c_command != CMD_NONE)
            c->c_help_command = c->c_command;
        c->c_command = CMD_HELP;
        c->c_markdown = fv.fv_raw[F_MARKDOWN] != NULL;
        return 0;
    }
    if (fv.fv_raw[F_VERSION] || c->c_command == CMD_VERSION) {
        c->c_command = CMD_VERSION;
        return 0;
    }
    if (c->c_command == CMD_NONE) {
        rc = err_set(e, ERR_INVALID, "no command given (see hubsync --help)");
        goto fail;
    }
    if ((rc = check_applicable(c, &fv, e)) || (rc = resolve(c, &fv, e)))
        goto fail;
    conf_wipe_secrets();
    return 0;
fail:
    config_wipe(c);
    c->c_log_json = wants_json_logs(argc, argv);
    conf_wipe(&conf);
    return rc;
}

/* ---- where each setting comes from (--print-config, -v) ------------------- */

/* Whether flag f is a setting of c's command (not a command of its own
 * such as --help). */
static bool is_setting(const hubsync_config *c, int f)
{
    return f != F_HELP && f != F_VERSION && f != F_MARKDOWN && f != F_PRINT_CONFIG &&
           cli_flag_applies(&cli_flags[f], c->c_command);
}

/* Flag f's value as the command uses it (into buf when computed) and where
 * it comes from, into from ("flag", "env", "FILE:LINE", "default"). */
static const char *setting_value(const hubsync_config *c, int f, char *buf, size_t size, char *from,
                                 size_t from_size)
{
    static const char *const level_names[] = {"debug", "info", "warn", "error"};
    const cli_flag *d = &cli_flags[f];
    const conf_entry *ce = fv.fv_from[f] == FROM_FILE ? conf_find(&conf, d->fd_env) : NULL;
    if (ce)
        snprintf(from, from_size, "%.200s:%d", conf.cf_path, ce->ce_line);
    else
        snprintf(from, from_size, "%s",
                 fv.fv_from[f] == FROM_FLAG  ? "flag"
                 : fv.fv_from[f] == FROM_ENV ? "env"
                                             : "default");
    if (f == F_LOG_LEVEL) { /* -q and -v are flags that set it */
        if (fv.fv_raw[F_QUIET] || fv.fv_raw[F_VERBOSE])
            snprintf(from, from_size, "flag");
        return level_names[c->c_log_level];
    }
    if (d->fd_kind == FLAG_SWITCH)
        return fv.fv_raw[f] ? "on" : "off";
    if (f == F_DB)
        return c->c_db_dir;
    if (f == F_WORKERS && !fv.fv_text[f]) {
        snprintf(buf, size, "%d", c->c_workers);
        return buf;
    }
    if (fv.fv_text[f])
        return fv.fv_text[f];
    return d->fd_default ? d->fd_default : d->fd_default_doc ? d->fd_default_doc : "none";
}

void config_print_settings(const hubsync_config *c, FILE *out)
{
    fprintf(out,
            "# hubsync %s: flag, variable, where its value comes from, value\n"
            "# (a flag wins over the environment, the environment over the config file)\n",
            config_command_name(c->c_command));
    for (int f = 0; f < F_COUNT; f++) {
        if (!is_setting(c, f))
            continue;
        char buf[32], from[256];
        const char *v = setting_value(c, f, buf, sizeof(buf), from, sizeof(from));
        fprintf(out, "%-20s %-24s %-8s %s\n", cli_flags[f].fd_name,
                cli_flags[f].fd_env ? cli_flags[f].fd_env : "-", from, v);
    }
    /* Credentials: whether each is set and where, never what it is. */
    for (size_t i = 0; i < cli_credential_count; i++) {
        const char *name = cli_credential_vars[i];
        const conf_entry *ce = env(name) ? NULL : conf_find(&conf, name);
        char from[256];
        if (!env(name) && !ce)
            continue;
        if (ce)
            snprintf(from, sizeof(from), "%.200s:%d", conf.cf_path, ce->ce_line);
        else
            snprintf(from, sizeof(from), "env");
        fprintf(out, "%-20s %-24s %-8s %s\n", "-", name, from, "(set; not shown)");
    }
}

void config_log_settings(const hubsync_config *c)
{
    for (int f = 0; f < F_COUNT; f++) {
        char buf[32], from[256];
        if (!is_setting(c, f) || (fv.fv_from[f] == FROM_DEFAULT && f != F_LOG_LEVEL))
            continue;
        const char *v = setting_value(c, f, buf, sizeof(buf), from, sizeof(from));
        if (strcmp(from, "default") != 0)
            log_debug("setting %s %s (from %s)", cli_flags[f].fd_name, v, from);
    }
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
    cli_usage(stdout);
}
