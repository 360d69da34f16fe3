/*
 * main — bin/hubsync: parses the command line and environment (config.c)
 * and hands the configuration to the command it names. Every command returns
 * its exit code (config.h, docs/CLI.md); main only adds 2 for usage errors.
 */
#include <stdio.h>
#include <string.h>

#include "../common/base/log.h"
#include "../common/base/version.h"
#include "cli.h"
#include "commands.h"
#include "config.h"
#include "run.h"

static int dispatch(const hubsync_config *c)
{
    /* --print-config: everything was checked as the command would; the
     * command itself does not run. */
    if (c->c_print_config) {
        config_print_settings(c, stdout);
        return EXIT_OK;
    }
    switch (c->c_command) {
    case CMD_SETUP:
        return cmd_setup(c);
    case CMD_RUN:
        return cmd_run(c);
    case CMD_STATUS:
        return cmd_status(c);
    case CMD_DOCTOR:
        return cmd_doctor(c);
    case CMD_EXPORT:
        return cmd_export(c);
    case CMD_PUSH:
        return cmd_push(c);
    case CMD_BENCH:
        return cmd_bench(0, NULL);
    case CMD_VERSION:
        printf("hubsync %s\n", hs_version());
        return EXIT_OK;
    case CMD_HELP:
        if (c->c_markdown)
            cli_flags_markdown(stdout);
        else if (c->c_help_command != CMD_NONE)
            cli_usage_command(stdout, c->c_help_command);
        else
            config_usage();
        return EXIT_OK;
    case CMD_NONE:
        break;
    }
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    static hubsync_config config; /* large (paths, secrets): not on the stack */
    err_info e = {0};
    /* bench's arguments are the bench script's (scripts/bench.sh --help). */
    if (argc >= 2 && strcmp(argv[1], "bench") == 0)
        return cmd_bench(argc - 2, argv + 2);
    if (config_parse(argc, argv, &config, &e) != 0) {
        if (config.c_log_json) {
            log_setup(true, LOG_INFO);
            log_event(LOG_ERROR,
                      &(log_fields){.lf_event = "usage_error",
                                    .lf_set = LF_EXIT_CODE,
                                    .lf_exit_code = EXIT_USAGE},
                      "%s", e.ei_msg);
        } else {
            fprintf(stderr, "hubsync: %s\n", e.ei_msg);
        }
        return EXIT_USAGE;
    }
    log_setup(config.c_log_json, config.c_log_level);
    config_log_settings(&config);
    if (config.c_warning[0])
        log_warn("%s", config.c_warning);
    int rc = dispatch(&config);
    config_wipe(&config);
    /* A write that failed earlier (a full disk, a closed pipe) leaves the
     * stream's error flag set and nothing for fflush to report. */
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == EXIT_OK) {
        fprintf(stderr, "hubsync: writing to stdout failed (a full disk or a closed pipe?)\n");
        rc = EXIT_INCOMPLETE;
    }
    /* A log pipeline sees how every command ended, in its own line. */
    if (config.c_log_json)
        log_event(rc == EXIT_OK ? LOG_INFO : LOG_ERROR,
                  &(log_fields){.lf_event = "exit", .lf_set = LF_EXIT_CODE, .lf_exit_code = rc},
                  "hubsync %s: exit %d", config_command_name(config.c_command), rc);
    return rc;
}
