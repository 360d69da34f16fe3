/*
 * config — hubsync's command line and environment (docs/CLI.md): the command,
 * the common flags (which may stand before or after the command name; flags
 * win over environment variables) and each command's own flags.
 */
#ifndef HUBSYNC_CONFIG_H
#define HUBSYNC_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/base/err.h"
#include "../common/base/hs_types.h"
#include "../common/base/log.h"

enum { CONFIG_MAX_TABLES = 40, CONFIG_SECRET_MAX = 1024 };

/* Exit codes, printed by --help and documented in docs/CLI.md. */
typedef enum hubsync_exit {
    EXIT_OK = 0,         /* success */
    EXIT_INCOMPLETE = 1, /* run incomplete, safe to rerun */
    EXIT_USAGE = 2,      /* usage or configuration error */
    EXIT_AUTH = 3,       /* authentication failed */
    EXIT_LOCKED = 4,     /* another run holds this database */
    EXIT_DAILY = 5       /* daily API limit exhausted */
} hubsync_exit;

typedef enum hubsync_command {
    CMD_NONE,
    CMD_SETUP,
    CMD_RUN,
    CMD_STATUS,
    CMD_DOCTOR,
    CMD_EXPORT,
    CMD_PUSH,
    CMD_BENCH,
    CMD_VERSION,
    CMD_HELP
} hubsync_command;

typedef enum export_format { EXPORT_TSV, EXPORT_JSONL, EXPORT_CSV } export_format;
typedef enum progress_mode { PROGRESS_AUTO, PROGRESS_ALWAYS, PROGRESS_NEVER } progress_mode;

typedef struct hubsync_config {
    hubsync_command c_command;
    char c_db_dir[PATH_MAX];                 /* --db, HUBSYNC_DB, else config_default_db() */
    char c_base_url[512];                    /* --base-url, HUBSPOT_BASE_URL */
    char c_token[CONFIG_SECRET_MAX];         /* HUBSPOT_ACCESS_TOKEN or --token-file */
    char c_refresh_token[CONFIG_SECRET_MAX]; /* OAuth: HUBSPOT_REFRESH_TOKEN … */
    char c_client_id[256];
    char c_client_secret[CONFIG_SECRET_MAX];
    bool c_oauth;  /* the three OAuth values are set */
    int c_ntables; /* --tables, HUBSYNC_TABLES */
    hs_table c_tables[CONFIG_MAX_TABLES];
    int c_workers;            /* --workers (default: CPUs) */
    int c_inflight;           /* --inflight */
    uint32_t c_rate;          /* the burst limit this run paces to: --rate × --budget-fraction */
    uint32_t c_rate_limit;    /* --rate N/Ws itself (190/10s until HubSpot's headers tell) */
    bool c_rate_given;        /* --rate was given: the headers do not change it */
    double c_budget_fraction; /* --budget-fraction (1) */
    double c_verify_fraction; /* --verify-fraction: parents re-read per run (0.02) */
    int64_t c_rate_window_ms;
    uint32_t c_search_rate; /* --search-rate (5/1s) */
    int64_t c_search_window_ms;
    uint64_t c_daily;                /* --daily (0: none) */
    uint64_t c_daily_reserve;        /* run --daily-reserve (0: none) */
    int64_t c_lag_ms;                /* --lag-ms */
    bool c_log_json;                 /* --log-format json */
    log_level c_log_level;           /* --log-level, -q, -v */
    bool c_print_config;             /* --print-config: print the settings, do nothing */
    char c_warning[768];             /* a warning to log once logging is set up ("" none) */
    progress_mode c_progress;        /* --progress */
    bool c_json;                     /* --json */
    bool c_loop;                     /* run --loop */
    bool c_full_scan;                /* run --full-scan: every table starts a new full scan */
    bool c_reference;                /* run --reference-design: the baseline's pace */
    int c_batch_parents;             /* parents per batch read: 1,000 (reference: 100) */
    int64_t c_interval_s;            /* run --interval */
    char c_ca_file[PATH_MAX];        /* --ca-file */
    int64_t c_max_duration_s;        /* run --max-duration (0: none) */
    char c_metrics_file[PATH_MAX];   /* run --metrics-file ("" = none) */
    char c_export_table[64];         /* export --table ("" = all) */
    export_format c_export_format;   /* export --format */
    bool c_export_objects_given;     /* export --objects TYPE */
    hs_object_type c_export_objects; /* its type */
    char c_export_output[PATH_MAX];  /* export -o FILE ("" = stdout) */
    bool c_changes_given;            /* export --changes-since RUN|TIME */
    uint64_t c_changes_since_run;    /* RUN (when c_changes_since_ms < 0) */
    int64_t c_changes_since_ms;      /* TIME, epoch ms; -1: a run was given */
    uint64_t c_changes_keep_runs;    /* run --changes-keep N (0: by days) */
    int64_t c_changes_keep_ms;       /* run --changes-keep Nd, in ms */
    hubsync_command c_help_command;  /* help COMMAND, COMMAND --help (CMD_NONE: all) */
    char c_push_target[PATH_MAX];    /* push TARGET: sqlite:PATH or a PostgreSQL URI */
    bool c_push_snapshot;            /* push --snapshot: reload the target whole */
    bool c_markdown;                 /* help --markdown: the flag table of docs/CLI.md */
} hubsync_config;

/* Parses argv and the environment into c. Returns 0, or ERR_INVALID with a
 * message naming the bad flag or value (the caller exits 2). */
int config_parse(int argc, char **argv, hubsync_config *c, err_info *e);

/* Prints the usage text, with the commands, flags and exit codes (cli.h). */
void config_usage(void);

/* The database directory when neither --db nor HUBSYNC_DB (nor the config
 * file) names one, into dir: ./hubsync-data when it exists (the default
 * before; *legacy is then true), else the first directory of
 * $STATE_DIRECTORY (systemd's StateDirectory=), else $XDG_STATE_HOME/hubsync
 * when that is an absolute path, else $HOME/.local/state/hubsync (HOME, or
 * the user's home directory in the password database). Writes `fresh`, the
 * default without ./hubsync-data, for the warning. Returns 0, or
 * ERR_INVALID when no home directory is known. */
int config_default_db(char *dir, size_t size, char *fresh, size_t fresh_size, bool *legacy,
                      err_info *e);

/* Prints the settings of the last successful config_parse for c's command
 * (`--print-config`): one line a flag, with its variable, where its value
 * comes from (flag, env, FILE:LINE or default) and the value; then the
 * credentials' variables that are set, never their values. */
void config_print_settings(const hubsync_config *c, FILE *out);

/* Logs, at debug level, each setting of the last config_parse that is not
 * at its default and where it comes from (-v). */
void config_log_settings(const hubsync_config *c);

#endif
