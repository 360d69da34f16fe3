/*
 * cli — hubsync's command line as data: one row per command and one per flag
 * (name, environment variable, kind, range, default, the commands it applies
 * to, its help). config.c parses argv and the environment by these tables;
 * the usage text (`hubsync --help`) and the flag table of docs/CLI.md
 * (`hubsync help --markdown`, compared by `make check-docs`) are printed from
 * them, so parsing, help and documentation cannot disagree.
 */
#ifndef HUBSYNC_CLI_H
#define HUBSYNC_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

/* Every flag; cli_flags[] has one row for each, in the order --help lists
 * them (the common flags, then each command's own). */
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
    F_LAG_MS,
    F_LOG_FORMAT,
    F_LOG_LEVEL,
    F_QUIET,
    F_VERBOSE,
    F_PROGRESS,
    F_JSON,
    F_CA_FILE,
    F_CONFIG,
    F_PRINT_CONFIG,
    F_HELP,
    F_VERSION,
    F_LOOP,
    F_INTERVAL,
    F_FULL_SCAN,
    F_REFERENCE,
    F_DAILY_RESERVE,
    F_MAX_DURATION,
    F_BUDGET_FRACTION,
    F_VERIFY_FRACTION,
    F_METRICS_FILE,
    F_CHANGES_KEEP,
    F_TABLE,
    F_OBJECTS,
    F_CHANGES_SINCE,
    F_FORMAT,
    F_OUTPUT,
    F_SNAPSHOT,
    F_MARKDOWN,
    F_COUNT
} flag_id;

/* How a flag's value is read. config.c checks NUMBER, SHARE, CHOICE and RATE
 * values by the row alone; a TEXT value (a path, a URL, a table list) has
 * its own check there. */
typedef enum flag_kind {
    FLAG_SWITCH, /* present or not; takes no value */
    FLAG_NUMBER, /* a whole number from fd_min to fd_max */
    FLAG_SHARE,  /* a plain decimal at most 1: from 0 when fd_min is 0, else above 0 */
    FLAG_CHOICE, /* one of the words of fd_value ("auto|always|never") */
    FLAG_RATE,   /* N/Ws or N/Wms, or 0 for no limit */
    FLAG_TEXT    /* anything non-empty, checked by config.c */
} flag_kind;

/* The commands a flag applies to, as a set: CLI_CMD(CMD_RUN) | … (0: all). */
#define CLI_CMD(cmd) (1u << (cmd))

typedef struct cli_flag {
    const char *fd_name;        /* "--workers" */
    char fd_short;              /* its one-letter form ('o' for -o), or 0 */
    const char *fd_value;       /* its value in the usage text ("N"); the choices for
                                   FLAG_CHOICE; NULL for a switch */
    const char *fd_env;         /* the environment variable it overrides, or NULL */
    flag_kind fd_kind;          /* how the value is read */
    uint64_t fd_min, fd_max;    /* FLAG_NUMBER's range; FLAG_SHARE: fd_min 0 accepts 0 */
    const char *fd_default;     /* the value when neither flag nor variable is set,
                                   read like one (NULL: none, or computed) */
    const char *fd_default_doc; /* how the default reads, when not fd_default itself */
    unsigned fd_commands;       /* CLI_CMD set of the commands it applies to; 0: all */
    const char *fd_help;        /* one sentence for --help (wrapped there) */
    const char *fd_doc;         /* docs/CLI.md's "accepted" cell (Markdown), or NULL */
} cli_flag;

extern const cli_flag cli_flags[F_COUNT];

/* The credentials' variables, which no flag sets: the private-app token
 * and OAuth's three. A config file may hold them too (then it must be
 * readable by its owner alone). */
extern const char *const cli_credential_vars[];
extern const size_t cli_credential_count;

/* Whether `name` is a key a config file may set: a flag's variable (but
 * HUBSYNC_CONFIG) or a credential's. */
bool cli_config_key(const char *name);

/* Whether `name` is a credential's variable. */
bool cli_credential_var(const char *name);

/* A command: its name, what --help says of it, and the word after "hubsync". */
typedef struct cli_command {
    const char *cc_name;
    hubsync_command cc_cmd;
    const char *cc_help;
    const char *cc_args; /* its arguments after the flags, for the usage line (NULL: none) */
} cli_command;

extern const cli_command cli_commands[];
extern const size_t cli_command_count;

/* Whether flag f may be given to command cmd. */
bool cli_flag_applies(const cli_flag *f, hubsync_command cmd);

/* The commands a flag applies to, as words ("run", "setup, run, status and
 * doctor") into buf; "every command" when all. */
const char *cli_flag_commands(const cli_flag *f, char *buf, size_t size);

/* The choices of a FLAG_CHOICE flag as prose into buf: "auto, always or
 * never". */
const char *cli_choices_text(const cli_flag *f, char *buf, size_t size);

/* The index of `word` among f's choices, or -1. */
int cli_choice_index(const cli_flag *f, const char *word);

/* Prints the usage text: commands with their own flags, the common flags,
 * credentials, tables and exit codes. */
void cli_usage(FILE *out);

/* Prints one command's usage (`hubsync help run`, `hubsync run --help`):
 * what it does, its own flags, and the common flags it takes. */
void cli_usage_command(FILE *out, hubsync_command cmd);

/* Whether `typed` is near `known` (one or two letters off): an unknown
 * command or flag gets the near one suggested. */
bool cli_near(const char *typed, const char *known);

/* Prints docs/CLI.md's flag table (Markdown) from cli_flags. */
void cli_flags_markdown(FILE *out);

#endif
