/*
 * test_cli — the command and flag tables (coordinator/cli.c) that parsing,
 * --help and docs/CLI.md's flag table come from: every row is consistent
 * (a default the flag itself would accept, one variable per flag, commands
 * that exist), every command has a row, and the texts printed from them
 * name every flag, fit 80 columns and give one Markdown row a flag.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/base/rate_spec.h"
#include "../../coordinator/cli.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

/* Whether `s` is a whole number (digits only) from lo to hi. */
static bool number_in(const char *s, uint64_t lo, uint64_t hi)
{
    if (!*s || strspn(s, "0123456789") != strlen(s))
        return false;
    unsigned long long v = strtoull(s, NULL, 10);
    return v >= lo && v <= hi;
}

static void test_flag_rows(void)
{
    for (int i = 0; i < F_COUNT; i++) {
        const cli_flag *f = &cli_flags[i];
        REQUIRE(f->fd_name != NULL); /* a flag_id without a row */
        CHECK(strncmp(f->fd_name, "--", 2) == 0);
        CHECK(f->fd_help && f->fd_help[0]);
        for (int k = 0; k < i; k++) {
            CHECK(strcmp(f->fd_name, cli_flags[k].fd_name) != 0);
            CHECK(!f->fd_env || !cli_flags[k].fd_env ||
                  strcmp(f->fd_env, cli_flags[k].fd_env) != 0);
        }
        if (f->fd_env)
            CHECK(strncmp(f->fd_env, "HUBSYNC_", 8) == 0 || strncmp(f->fd_env, "HUBSPOT_", 8) == 0);
        /* Only command bits that name a command. */
        unsigned known = 0;
        for (size_t k = 0; k < cli_command_count; k++)
            known |= CLI_CMD(cli_commands[k].cc_cmd);
        CHECK((f->fd_commands & ~known) == 0);
        switch (f->fd_kind) {
        case FLAG_SWITCH:
            CHECK(!f->fd_value && !f->fd_env && !f->fd_default);
            break;
        case FLAG_NUMBER:
            CHECK(f->fd_min <= f->fd_max);
            CHECK(!f->fd_default || number_in(f->fd_default, f->fd_min, f->fd_max));
            break;
        case FLAG_SHARE:
            CHECK(f->fd_min <= 1);
            CHECK(f->fd_default && atof(f->fd_default) <= 1 &&
                  (f->fd_min == 0 || atof(f->fd_default) > 0));
            break;
        case FLAG_CHOICE:
            CHECK(f->fd_value && strchr(f->fd_value, '|'));
            CHECK(f->fd_default && cli_choice_index(f, f->fd_default) >= 0);
            break;
        case FLAG_RATE: {
            uint32_t n;
            int64_t w;
            CHECK(f->fd_default && rate_spec_parse(f->fd_default, &n, &w) == 0);
            break;
        }
        case FLAG_TEXT:
            CHECK(f->fd_value != NULL);
            break;
        }
        /* Whatever has no literal default says what it is. */
        if (f->fd_kind != FLAG_SWITCH && !f->fd_default)
            CHECK(f->fd_default_doc != NULL);
    }
done:;
}

static void test_command_rows(void)
{
    for (int cmd = CMD_NONE + 1; cmd <= CMD_HELP; cmd++) {
        size_t rows = 0;
        for (size_t k = 0; k < cli_command_count; k++)
            rows += cli_commands[k].cc_cmd == (hubsync_command)cmd;
        CHECK_EQ(rows, 1);
    }
    CHECK(cli_flag_applies(&cli_flags[F_DB], CMD_STATUS));
    CHECK(!cli_flag_applies(&cli_flags[F_LOOP], CMD_STATUS));
    CHECK(!cli_flag_applies(&cli_flags[F_JSON], CMD_EXPORT));
}

static void test_words(void)
{
    char buf[128];
    CHECK_STR(cli_choices_text(&cli_flags[F_PROGRESS], buf, sizeof(buf)), "auto, always or never");
    CHECK_STR(cli_choices_text(&cli_flags[F_LOG_FORMAT], buf, sizeof(buf)), "text or json");
    CHECK_EQ(cli_choice_index(&cli_flags[F_PROGRESS], "never"), 2);
    CHECK_EQ(cli_choice_index(&cli_flags[F_PROGRESS], "nev"), -1);
    CHECK_EQ(cli_choice_index(&cli_flags[F_PROGRESS], ""), -1);
    CHECK_STR(cli_flag_commands(&cli_flags[F_JSON], buf, sizeof(buf)),
              "setup, run, status and doctor");
    CHECK_STR(cli_flag_commands(&cli_flags[F_LOOP], buf, sizeof(buf)), "run");
    CHECK_STR(cli_flag_commands(&cli_flags[F_DB], buf, sizeof(buf)), "every command");
}

static void test_suggestions(void)
{
    CHECK(cli_near("statsu", "status"));
    CHECK(cli_near("--tabels", "--tables"));
    CHECK(cli_near("rn", "run"));
    CHECK(cli_near("exprt", "export"));
    CHECK(!cli_near("status", "status")); /* known: nothing to suggest */
    CHECK(!cli_near("bench", "help"));
    CHECK(!cli_near("xyz", "run"));
    CHECK(!cli_near("--frobnicate", "--format"));
}

/* The text a printer writes, in a malloc'd string. */
static char *printed(void (*print)(FILE *))
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    print(f);
    fclose(f);
    return text;
}

static void test_texts(void)
{
    char *usage = printed(cli_usage), *md = printed(cli_flags_markdown);
    REQUIRE(usage && md);
    size_t rows = 0;
    for (const char *line = md; *line; line = strchr(line, '\n') + 1) {
        rows += strncmp(line, "| `-", 4) == 0;
        if (!strchr(line, '\n'))
            break;
    }
    CHECK_EQ(rows, F_COUNT);
    for (int i = 0; i < F_COUNT; i++) {
        CHECK(strstr(usage, cli_flags[i].fd_name) != NULL);
        if (cli_flags[i].fd_env)
            CHECK(strstr(usage, cli_flags[i].fd_env) != NULL);
    }
    /* No line of the usage text wider than 80 columns (UTF-8 counted as
     * characters). */
    size_t col = 0, widest = 0;
    for (const unsigned char *p = (const unsigned char *)usage; *p; p++) {
        if (*p == '\n')
            col = 0;
        else if ((*p & 0xc0) != 0x80)
            col++;
        widest = col > widest ? col : widest;
    }
    CHECK(widest <= 80);
    /* A command's usage line names its arguments. */
    static const struct {
        hubsync_command cmd;
        const char *line;
    } lines[] = {{CMD_PUSH, "usage: hubsync [FLAGS] push [FLAGS] TARGET\n"},
                 {CMD_HELP, "usage: hubsync [FLAGS] help [FLAGS] [COMMAND]\n"},
                 {CMD_RUN, "usage: hubsync [FLAGS] run [FLAGS]\n"}};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        REQUIRE(f);
        cli_usage_command(f, lines[i].cmd);
        fclose(f);
        CHECKF(text && strncmp(text, lines[i].line, strlen(lines[i].line)) == 0, "%s",
               text ? text : "(none)");
        free(text);
    }
done:
    free(usage);
    free(md);
}

int unit_suite_cli(void)
{
    static const ut_test tests[] = {
        {"every flag row is consistent", test_flag_rows},
        {"every command has one row", test_command_rows},
        {"choices and command sets as words", test_words},
        {"a near command or flag is suggested, a far one not", test_suggestions},
        {"usage and Markdown from the tables", test_texts},
    };
    return ut_add_suite("cli", tests, sizeof(tests) / sizeof(tests[0]));
}
