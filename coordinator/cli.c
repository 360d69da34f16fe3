/*
 * cli — the command and flag tables, and the texts printed from them (see
 * cli.h). A row's help is one sentence; the usage printer wraps it and adds
 * the variable and the default, so a row never repeats them.
 */
#include "cli.h"

#include <string.h>

#include "../common/base/hs_types.h"
#include "../common/ipc/shm.h"

#define RUN     CLI_CMD(CMD_RUN)
#define EXPORT  CLI_CMD(CMD_EXPORT)
#define PUSH    CLI_CMD(CMD_PUSH)
#define TALKERS (CLI_CMD(CMD_SETUP) | CLI_CMD(CMD_RUN) | CLI_CMD(CMD_STATUS) | CLI_CMD(CMD_DOCTOR))
#define MAX_DAY 1000000000000ULL /* --daily and --daily-reserve: 10^12 */
#define WORKERS (SHM_MAX_WORKERS - 1)

const cli_flag cli_flags[F_COUNT] = {
    [F_DB] = {"--db", 0, "DIR", "HUBSYNC_DB", FLAG_TEXT, 0, 0, NULL,
              "./hubsync-data if it exists, else $STATE_DIRECTORY, else "
              "$XDG_STATE_HOME/hubsync or ~/.local/state/hubsync",
              0, "database directory",
              "a directory (created 0700 with its missing parents by the first writer); see [the "
              "default database](#the-default-database)"},
    [F_BASE_URL] = {"--base-url", 0, "URL", "HUBSPOT_BASE_URL", FLAG_TEXT, 0, 0,
                    "https://api.hubapi.com", NULL, 0,
                    "HubSpot API base; plain http:// only to loopback addresses (127.x, "
                    "localhost, [::1]); scheme://host[:port][/path], nothing more",
                    "`https://…`, or `http://` to a loopback host only (`127.x.x.x`, `localhost`, "
                    "`[::1]`); `scheme://host[:port][/path]` and nothing more; trailing `/` "
                    "dropped (see [TLS and the base URL](#tls-and-the-base-url))"},
    [F_TOKEN_FILE] = {"--token-file", 0, "F", "HUBSYNC_TOKEN_FILE", FLAG_TEXT, 0, 0, NULL, "none",
                      0, "file holding a private-app token; mode 0600 or 0400",
                      "a regular file readable by its owner alone (mode `0600`, or `0400` as "
                      "systemd's `LoadCredential=` writes it) holding the token on one line "
                      "(surrounding whitespace and the trailing newline are trimmed); wins over "
                      "`HUBSPOT_ACCESS_TOKEN`"},
    [F_TABLES] = {"--tables", 0, "LIST", "HUBSYNC_TABLES", FLAG_TEXT, 0, 0, NULL,
                  "the six default tables", 0, "comma-separated tables",
                  "canonical names, comma-separated (spaces around names ignored, duplicates "
                  "dropped)"},
    [F_WORKERS] = {"--workers", 0, "N", "HUBSYNC_WORKERS", FLAG_NUMBER, 1, WORKERS, NULL,
                   "number of CPUs", 0, "worker processes", NULL},
    [F_INFLIGHT] = {"--inflight", 0, "K", "HUBSYNC_INFLIGHT", FLAG_NUMBER, 1, 64, "64", NULL, 0,
                    "cap on requests in flight per worker; below it the run sizes them from "
                    "measured latency and the allowed rate",
                    "a cap on the jobs (one request each) a worker holds at once; below it the "
                    "run sizes them from the latency it measures and the allowed rate "
                    "([Concurrency and limits](#concurrency-and-limits))"},
    [F_RATE] = {"--rate", 0, "N/Ws", "HUBSYNC_RATE", FLAG_RATE, 0, 0, "190/10s",
                "learned from HubSpot's X-HubSpot-RateLimit headers; 190/10s until then", 0,
                "burst limit, e.g. 100/10s; 0: no pacing",
                "`N/Ws` or `N/Wms`; `0`: no client-side pacing. Without it the burst limit is "
                "HubSpot's own, read from the `X-HubSpot-RateLimit-*` headers of the first "
                "answer"},
    [F_SEARCH_RATE] = {"--search-rate", 0, "N/Ws", "HUBSYNC_SEARCH_RATE", FLAG_RATE, 0, 0, "5/1s",
                       NULL, 0, "search limit", "as `--rate`"},
    [F_DAILY] = {"--daily", 0, "N", "HUBSYNC_DAILY", FLAG_NUMBER, 1, MAX_DAY, NULL, "none", 0,
                 "daily API call budget", "API calls per UTC day"},
    [F_LAG_MS] = {"--lag-ms", 0, "MS", "HUBSYNC_LAG_MS", FLAG_NUMBER, 0, 86400000, "30000", NULL, 0,
                  "search index-lag allowance",
                  "see [the `--lag-ms` default](#flags-and-environment) below"},
    [F_LOG_FORMAT] = {"--log-format", 0, "text|json", "HUBSYNC_LOG_FORMAT", FLAG_CHOICE, 0, 0,
                      "text", NULL, 0, "log lines on stderr", NULL},
    [F_LOG_LEVEL] = {"--log-level", 0, "debug|info|warn|error", "HUBSYNC_LOG_LEVEL", FLAG_CHOICE, 0,
                     0, "info", NULL, 0, "the least level of the log lines printed",
                     "the log lines below it are not printed; `-q` and `-v` are short for "
                     "`warn` and `debug`"},
    [F_QUIET] = {"--quiet", 'q', NULL, NULL, FLAG_SWITCH, 0, 0, NULL, "off", 0,
                 "log warnings and errors only (--log-level warn)", NULL},
    [F_VERBOSE] = {"--verbose", 'v', NULL, NULL, FLAG_SWITCH, 0, 0, NULL, "off", 0,
                   "log debug lines too (--log-level debug)",
                   "log debug lines too (`--log-level debug`): among them, each setting not "
                   "at its default and where it comes from, and in `run` each job published "
                   "and done (what it asks HubSpot, how long it took)"},
    [F_PROGRESS] = {"--progress", 0, "auto|always|never", "HUBSYNC_PROGRESS", FLAG_CHOICE, 0, 0,
                    "auto", NULL, 0,
                    "progress bar on stderr (auto: when stderr is a terminal; used by run)", NULL},
    [F_JSON] = {"--json", 0, NULL, NULL, FLAG_SWITCH, 0, 0, NULL, "off", TALKERS,
                "machine-readable output on stdout",
                "one JSON document on stdout (export: `--format jsonl`)"},
    [F_CA_FILE] = {"--ca-file", 0, "F", "HUBSYNC_CA_FILE", FLAG_TEXT, 0, 0, NULL,
                   "the system's CAs", 0,
                   "CA bundle (PEM) to verify HubSpot's certificate with; always verified: "
                   "untrusted is exit 2, not retried",
                   "a readable regular file (PEM): the CA bundle every HTTPS transfer verifies "
                   "the server with; certificates are always verified"},
    [F_CONFIG] = {"--config", 0, "FILE", "HUBSYNC_CONFIG", FLAG_TEXT, 0, 0, NULL, "none", 0,
                  "read settings from FILE: KEY=VALUE lines, KEY a variable of this list "
                  "(HUBSYNC_WORKERS=4); the environment and flags win over it",
                  "a regular file of `KEY=VALUE` lines, `KEY` a variable of this table or a "
                  "credential's; see [the config file](#the-config-file)"},
    [F_PRINT_CONFIG] = {"--print-config", 0, NULL, NULL, FLAG_SWITCH, 0, 0, NULL, "off",
                        TALKERS | EXPORT | PUSH,
                        "check the settings as the command would, print each with where it "
                        "comes from, and exit without doing anything else",
                        "checks every setting as the command would, prints each one's value and "
                        "where it comes from (flag, environment, config file line, default), "
                        "and exits 0 without touching `--db` or HubSpot; see [the config "
                        "file](#the-config-file)"},
    [F_HELP] = {"--help", 'h', NULL, NULL, FLAG_SWITCH, 0, 0, NULL, NULL, 0,
                "print this text; wins wherever it stands", NULL},
    [F_VERSION] = {"--version", 'V', NULL, NULL, FLAG_SWITCH, 0, 0, NULL, NULL, 0,
                   "print the version (also `hubsync version`)", NULL},
    [F_LOOP] = {"--loop", 0, NULL, NULL, FLAG_SWITCH, 0, 0, NULL, "off", RUN,
                "keep going, one pass every --interval", NULL},
    [F_INTERVAL] = {"--interval", 0, "SECONDS", "HUBSYNC_INTERVAL", FLAG_NUMBER, 0, 604800, "60",
                    NULL, RUN, "pause between passes with --loop", "needs `--loop`"},
    [F_FULL_SCAN] = {"--full-scan", 0, NULL, NULL, FLAG_SWITCH, 0, 0, NULL, "off", RUN,
                     "start every selected table over with a full scan (whatever its cursor; "
                     "the data is kept and replaced)",
                     NULL},
    [F_REFERENCE] = {"--reference-design", 0, NULL, NULL, FLAG_SWITCH, 0, 0, NULL, "off", RUN,
                     "run the reference design's algorithm at its pace (1 process, 1 request at "
                     "a time, 100 parents a call, a search per table, cursor = newest time "
                     "seen, no verification): a baseline to compare",
                     "its own search per table, cursors set to the newest time seen and to a "
                     "full scan's completion, its plain routing table, no rollup re-check ([its "
                     "section](#run---reference-design)); the baseline `bench` measures "
                     "against; wins over `--workers`, `--inflight` and `--verify-fraction`"},
    [F_DAILY_RESERVE] = {"--daily-reserve", 0, "N", "HUBSYNC_DAILY_RESERVE", FLAG_NUMBER, 0,
                         MAX_DAY, "0", NULL, RUN,
                         "stop (exit 5) while N calls of the day are left, for the portal's "
                         "other integrations; the limit is --daily or HubSpot's daily headers "
                         "(none for OAuth apps)",
                         "below `--daily` ([the daily limit](#the-daily-limit-and---daily-"
                         "reserve))"},
    [F_MAX_DURATION] = {"--max-duration", 0, "S", "HUBSYNC_MAX_DURATION", FLAG_NUMBER, 1, 2592000,
                        NULL, "none", RUN,
                        "drain and exit 1 after S seconds (a scheduler's window); the next run "
                        "resumes",
                        "after S seconds (the whole process, `--loop` included) no new work "
                        "starts; what is in flight is merged and committed; exit 1 unless "
                        "everything was done (a pause of `--loop` simply ends, exit 0)"},
    [F_BUDGET_FRACTION] = {"--budget-fraction", 0, "F", "HUBSYNC_BUDGET_FRACTION", FLAG_SHARE, 1, 1,
                           "1", NULL, RUN,
                           "use at most F (0-1] of the burst limit, leaving the rest to the "
                           "portal's other integrations",
                           "a plain decimal above 0 and at most 1 (`0.5`, `.25`): pace to "
                           "`floor(N × F)` (at least 1) of the burst limit (`--rate N/Ws`, or "
                           "the limit HubSpot's headers state); not with `--rate 0`"},
    [F_VERIFY_FRACTION] = {"--verify-fraction", 0, "F", "HUBSYNC_VERIFY_FRACTION", FLAG_SHARE, 0, 1,
                           "0.02", NULL, RUN,
                           "re-read this share [0-1] of each incremental table's parents per "
                           "run, in ID order, and repair the drift missed rollups leave (0: off, "
                           "1: the whole table)",
                           "a plain decimal from 0 to 1: the share of each incremental table's "
                           "parents re-read per run to repair drift (see \"Verification\" under "
                           "`hubsync run`); 0 switches verification off"},
    [F_METRICS_FILE] = {"--metrics-file", 0, "F", "HUBSYNC_METRICS_FILE", FLAG_TEXT, 0, 0, NULL,
                        "none", RUN,
                        "write Prometheus text-format metrics to F after each run, atomically "
                        "(node_exporter textfile collector)",
                        "F's folder must exist and be writable: after every run, the run's "
                        "figures in Prometheus text format, replaced atomically "
                        "([OPERATIONS.md](OPERATIONS.md#metrics))"},
    [F_CHANGES_KEEP] = {"--changes-keep", 0, "N|Nd", "HUBSYNC_CHANGES_KEEP", FLAG_TEXT, 0, 0, "7d",
                        NULL, RUN,
                        "keep the change feed of the last N runs, or of the runs of the last N "
                        "days; older changes are dropped at the end of each run",
                        "`N` runs (1–1,000,000) or `Nd` days (1–3,650); asking `export "
                        "--changes-since` for dropped changes is an error that says to take a "
                        "snapshot"},
    [F_TABLE] = {"--table", 0, "T", NULL, FLAG_TEXT, 0, 0, NULL, "every selected table",
                 EXPORT | PUSH, "only table T", "any canonical table, selected or not"},
    [F_OBJECTS] = {"--objects", 0, "TYPE", NULL, FLAG_TEXT, 0, 0, NULL, "the associations", EXPORT,
                   "the stored objects of TYPE (ID, last-modified time, archived) instead of "
                   "associations",
                   "an object type (`contacts`, `deals`, …); not with `--table`"},
    [F_CHANGES_SINCE] = {"--changes-since", 0, "RUN|TIME", NULL, FLAG_TEXT, 0, 0, NULL, "none",
                         EXPORT,
                         "the changes the runs after RUN made (or after TIME, ISO 8601), as "
                         "upserts and deletes, instead of the whole mirror",
                         "a run number (`status` shows the latest) or a time "
                         "(`2026-12-07T06:00:00Z`); see [EXPORT.md](EXPORT.md#the-change-feed)"},
    [F_FORMAT] = {"--format", 0, "tsv|jsonl|csv", NULL, FLAG_CHOICE, 0, 0, "tsv", NULL, EXPORT,
                  "TABLE<TAB>PARENT_ID<TAB>CHILD_ID<TAB>TYPE_IDS, one JSON object per line, or "
                  "CSV (RFC 4180) with a header, one row per association type",
                  "see [EXPORT.md](EXPORT.md)"},
    [F_OUTPUT] = {"--output", 'o', "FILE", NULL, FLAG_TEXT, 0, 0, NULL, "stdout", EXPORT,
                  "write to FILE, replaced atomically when the export is whole",
                  "a file in a folder that exists: written beside it and renamed over it at the "
                  "end, so FILE is the whole export or what it was before"},
    [F_SNAPSHOT] = {"--snapshot", 0, NULL, NULL, FLAG_SWITCH, 0, 0, NULL, "off", PUSH,
                    "load the target again from a snapshot of the mirror instead of applying "
                    "the change feed (when the feed no longer holds the changes it needs)",
                    "in one target transaction: the tables are dropped, created and loaded "
                    "again; see [EXPORT.md](EXPORT.md#targets)"},
    [F_MARKDOWN] = {"--markdown", 0, NULL, NULL, FLAG_SWITCH, 0, 0, NULL, "off", CLI_CMD(CMD_HELP),
                    "print the flags as the Markdown table of docs/CLI.md", NULL},
};

const cli_command cli_commands[] = {
    {"setup", CMD_SETUP,
     "detect each table's rollup fields in HubSpot and save its schema (ping_type "
     "read_incremental_ping or read_full_ping); keeps cursors and data",
     NULL},
    {"run", CMD_RUN, "sync every selected table until caught up, then exit", NULL},
    {"status", CMD_STATUS, "per table: table_options, cursor and its meaning, row counts, last run",
     NULL},
    {"doctor", CMD_DOCTOR,
     "compare the rollup fields in HubSpot with the saved table_options; prints each mismatch "
     "and its fix; exit 0 when all agree, 1 when not",
     NULL},
    {"export", CMD_EXPORT, "print the mirrored associations (read-only, works beside a run)", NULL},
    {"push", CMD_PUSH,
     "keep a SQLite file or a PostgreSQL database in step with the mirror: TARGET is "
     "sqlite:PATH or postgresql://…; a snapshot first, then the change feed",
     "TARGET"},
    {"bench", CMD_BENCH,
     "full scan versus incremental, hubsync versus the reference design's pace, against the "
     "simulator (scripts/bench.sh --help for its options)",
     "[OPTIONS...]"},
    {"version", CMD_VERSION, "print the version: VERSION, and the commit when built from git",
     NULL},
    {"help", CMD_HELP, "print this text, or with COMMAND that command's usage", "[COMMAND]"},
};
const size_t cli_command_count = sizeof(cli_commands) / sizeof(cli_commands[0]);

const char *const cli_credential_vars[] = {"HUBSPOT_ACCESS_TOKEN", "HUBSPOT_REFRESH_TOKEN",
                                           "HUBSPOT_CLIENT_ID", "HUBSPOT_CLIENT_SECRET"};
const size_t cli_credential_count = sizeof(cli_credential_vars) / sizeof(cli_credential_vars[0]);

bool cli_credential_var(const char *name)
{
    for (size_t i = 0; i < cli_credential_count; i++)
        if (strcmp(name, cli_credential_vars[i]) == 0)
            return true;
    return false;
}

bool cli_config_key(const char *name)
{
    if (cli_credential_var(name))
        return true;
    /* A config file naming another would make precedence a chain. */
    for (int i = 0; i < F_COUNT; i++)
        if (i != F_CONFIG && cli_flags[i].fd_env && strcmp(name, cli_flags[i].fd_env) == 0)
            return true;
    return false;
}

bool cli_flag_applies(const cli_flag *f, hubsync_command cmd)
{
    return f->fd_commands == 0 || (f->fd_commands & CLI_CMD(cmd)) != 0;
}

/* Appends `s` to buf (size bytes, NUL-terminated), cutting at the end. */
static void put(char *buf, size_t size, const char *s)
{
    size_t used = strlen(buf);
    if (used + 1 < size)
        snprintf(buf + used, size - used, "%s", s);
}

/* "a", "a or b", "a, b or c" from `n` words given by word(i). */
static const char *list_words(char *buf, size_t size, size_t n, const char *sep_last,
                              const char *(*word)(const void *, size_t, char *, size_t),
                              const void *ctx)
{
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char w[64];
        put(buf, size, i == 0 ? "" : i + 1 == n ? sep_last : ", ");
        put(buf, size, word(ctx, i, w, sizeof(w)));
    }
    return buf;
}

static const char *choice_word(const void *ctx, size_t i, char *w, size_t size)
{
    const char *p = ((const cli_flag *)ctx)->fd_value;
    for (; i > 0; i--)
        p = strchr(p, '|') + 1;
    size_t n = strcspn(p, "|");
    snprintf(w, size, "%.*s", (int)n, p);
    return w;
}

static size_t choice_count(const cli_flag *f)
{
    size_t n = 1;
    for (const char *p = f->fd_value; *p; p++)
        n += *p == '|';
    return n;
}

const char *cli_choices_text(const cli_flag *f, char *buf, size_t size)
{
    return list_words(buf, size, choice_count(f), " or ", choice_word, f);
}

int cli_choice_index(const cli_flag *f, const char *word)
{
    size_t n = choice_count(f);
    for (size_t i = 0; i < n; i++) {
        char w[64];
        if (strcmp(choice_word(f, i, w, sizeof(w)), word) == 0)
            return (int)i;
    }
    return -1;
}

/* The commands of a flag's set, in the table's order. */
static const char *command_word(const void *ctx, size_t i, char *w, size_t size)
{
    unsigned set = *(const unsigned *)ctx;
    for (size_t k = 0; k < cli_command_count; k++)
        if (set & CLI_CMD(cli_commands[k].cc_cmd) && i-- == 0) {
            snprintf(w, size, "%s", cli_commands[k].cc_name);
            break;
        }
    return w;
}

const char *cli_flag_commands(const cli_flag *f, char *buf, size_t size)
{
    if (f->fd_commands == 0) {
        snprintf(buf, size, "every command");
        return buf;
    }
    size_t n = (size_t)__builtin_popcount(f->fd_commands);
    return list_words(buf, size, n, " and ", command_word, &f->fd_commands);
}

/* ---- the usage text ------------------------------------------------------- */

enum { WIDTH = 80 };

/* Prints `text` from column `col` (the cursor is there), wrapped at WIDTH
 * with continuation lines indented to `indent`, then a newline. */
static void wrap(FILE *out, const char *text, int col, int indent)
{
    const char *p = text;
    bool first = true;
    while (*p) {
        size_t n = strcspn(p, " ");
        if (!first && col + 1 + (int)n > WIDTH) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
            first = true;
        }
        col += fprintf(out, "%s%.*s", first ? "" : " ", (int)n, p);
        first = false;
        p += n;
        while (*p == ' ')
            p++;
    }
    fputc('\n', out);
}

/* A flag's help with its variable and default: "worker processes
 * [$HUBSYNC_WORKERS, number of CPUs]", into buf. */
static void flag_help(const cli_flag *f, char *buf, size_t size)
{
    const char *def = f->fd_default_doc ? f->fd_default_doc : f->fd_default;
    char range[64] = "";
    if (f->fd_kind == FLAG_NUMBER)
        snprintf(range, sizeof(range), ", %llu-%llu", (unsigned long long)f->fd_min,
                 (unsigned long long)f->fd_max);
    snprintf(buf, size, "%s%s", f->fd_help, range);
    if (__builtin_popcount(f->fd_commands) > 1) {
        char cmds[96];
        put(buf, size, " (");
        put(buf, size, cli_flag_commands(f, cmds, sizeof(cmds)));
        put(buf, size, ")");
    }
    if (f->fd_env || (def && f->fd_kind != FLAG_SWITCH)) {
        put(buf, size, " [");
        if (f->fd_env) {
            put(buf, size, "$");
            put(buf, size, f->fd_env);
        }
        if (def && f->fd_kind != FLAG_SWITCH) {
            put(buf, size, f->fd_env ? ", " : "");
            put(buf, size, def);
        }
        put(buf, size, "]");
    }
}

/* "-o, --output FILE" into buf, each form between `open` and `close`
 * (Markdown's backticks, or nothing). */
static void flag_name(const cli_flag *f, char *buf, size_t size, const char *open,
                      const char *close)
{
    char letter[16] = "";
    if (f->fd_short)
        snprintf(letter, sizeof(letter), "%s-%c%s, ", open, f->fd_short, close);
    snprintf(buf, size, "%s%s%s%s%s%s", letter, open, f->fd_name, f->fd_value ? " " : "",
             f->fd_value ? f->fd_value : "", close);
}

/* One flag's line(s): its name and value from column `indent`, the help
 * from column `help_col`. */
static void usage_flag(FILE *out, const cli_flag *f, int indent, int help_col)
{
    char name[64], help[768];
    flag_name(f, name, sizeof(name), "", "");
    flag_help(f, help, sizeof(help));
    int col = fprintf(out, "%*s%s", indent, "", name);
    if (col + 1 > help_col) {
        fprintf(out, "\n%*s", help_col, "");
        col = help_col;
    }
    fprintf(out, "%*s", help_col - col, "");
    wrap(out, help, help_col, help_col);
}

void cli_usage(FILE *out)
{
    fputs("usage: hubsync [FLAGS] COMMAND [FLAGS]\n"
          "\n"
          "Mirrors HubSpot CRM associations (and the IDs and last-modified times of the\n"
          "objects they link) into a local LMDB database.\n"
          "\n"
          "Commands (with the flags that apply only to them):\n",
          out);
    for (size_t k = 0; k < cli_command_count; k++) {
        fprintf(out, "  %-8s ", cli_commands[k].cc_name);
        wrap(out, cli_commands[k].cc_help, 11, 11);
        for (int i = 0; i < F_COUNT; i++)
            if (cli_flags[i].fd_commands == CLI_CMD(cli_commands[k].cc_cmd))
                usage_flag(out, &cli_flags[i], 11, 30);
    }
    fputs("\nFlags (before or after the command; a flag wins over its environment variable,\n"
          "which wins over the same KEY in --config FILE):\n",
          out);
    for (int i = 0; i < F_COUNT; i++)
        if (__builtin_popcount(cli_flags[i].fd_commands) != 1)
            usage_flag(out, &cli_flags[i], 2, 22);
    fputs("\n"
          "Credentials (never on the command line, never printed):\n"
          "  HUBSPOT_ACCESS_TOKEN             private-app token (or --token-file F)\n"
          "  HUBSPOT_REFRESH_TOKEN, HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET\n"
          "                                   OAuth: all three or none\n"
          "\n"
          "Tables are {a}_{b} with a before b alphabetically; a is the parent. Defaults:\n"
          "  companies_contacts companies_deals companies_tickets contacts_deals\n"
          "  contacts_tickets deals_tickets\n",
          out);
    char types[160];
    fprintf(out, "Engagement types (%s)\n", hs_object_names(types, sizeof(types), true, " "));
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
          out);
}

void cli_usage_command(FILE *out, hubsync_command cmd)
{
    const cli_command *cc = NULL;
    for (size_t k = 0; k < cli_command_count; k++)
        if (cli_commands[k].cc_cmd == cmd)
            cc = &cli_commands[k];
    if (!cc)
        return;
    fprintf(out, "usage: hubsync [FLAGS] %s [FLAGS]%s%s\n\n", cc->cc_name, cc->cc_args ? " " : "",
            cc->cc_args ? cc->cc_args : "");
    wrap(out, cc->cc_help, 0, 0);
    fputs("\nFlags (before or after the command; a flag wins over its environment variable,\n"
          "which wins over the same KEY in --config FILE):\n",
          out);
    /* Its own flags first, then the common ones it takes. */
    for (int own = 1; own >= 0; own--)
        for (int i = 0; i < F_COUNT; i++)
            if (cli_flag_applies(&cli_flags[i], cmd) &&
                (cli_flags[i].fd_commands == CLI_CMD(cmd)) == own)
                usage_flag(out, &cli_flags[i], 2, 22);
    fputs("\nhubsync --help lists every command, the credentials and the exit codes.\n", out);
}

/* The edit distance of a and b, up to 3 (Levenshtein, two rows). */
static int distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 40 || nb > 40)
        return 3;
    int prev[41], cur[41];
    for (size_t j = 0; j <= nb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(cur));
    }
    return prev[nb] > 3 ? 3 : prev[nb];
}

bool cli_near(const char *typed, const char *known)
{
    int d = distance(typed, known);
    return d > 0 && d <= (strlen(known) > 5 ? 2 : 1);
}

/* ---- docs/CLI.md's table --------------------------------------------------- */

/* A number with thousands separators ("86,400,000") into buf. */
static const char *thousands(uint64_t v, char *buf, size_t size)
{
    char digits[32];
    int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

/* A Markdown table cell: '|' escaped. */
static void cell(FILE *out, const char *s)
{
    fputs(" ", out);
    for (; *s; s++)
        fputs(*s == '|' ? "\\|" : (char[2]){*s, '\0'}, out);
    fputs(" |", out);
}

void cli_flags_markdown(FILE *out)
{
    fputs("| flag | env | default | commands | accepted |\n|---|---|---|---|---|\n", out);
    for (int i = 0; i < F_COUNT; i++) {
        const cli_flag *f = &cli_flags[i];
        char name[96], env[64], def[128], cmds[96], accepted[1024], lo[32], hi[32];
        flag_name(f, name, sizeof(name), "`", "`");
        snprintf(env, sizeof(env), f->fd_env ? "`%s`" : "—", f->fd_env);
        const char *d = f->fd_default_doc ? f->fd_default_doc : f->fd_default;
        snprintf(def, sizeof(def), d && !f->fd_default_doc ? "`%s`" : "%s", d ? d : "—");
        cli_flag_commands(f, cmds, sizeof(cmds));
        accepted[0] = '\0';
        if (f->fd_kind == FLAG_NUMBER) {
            snprintf(accepted, sizeof(accepted), "%s–%s", thousands(f->fd_min, lo, sizeof(lo)),
                     thousands(f->fd_max, hi, sizeof(hi)));
        } else if (f->fd_kind == FLAG_CHOICE) {
            char words[96];
            snprintf(accepted, sizeof(accepted), "%s", cli_choices_text(f, words, sizeof(words)));
        }
        const char *doc = f->fd_doc ? f->fd_doc : accepted[0] ? NULL : f->fd_help;
        if (doc) {
            put(accepted, sizeof(accepted), accepted[0] ? ": " : "");
            put(accepted, sizeof(accepted), doc);
        }
        fputc('|', out);
        cell(out, name);
        cell(out, env);
        cell(out, def);
        cell(out, cmds);
        cell(out, accepted);
        fputc('\n', out);
    }
}
