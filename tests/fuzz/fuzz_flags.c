/*
 * fuzz_flags — config_parse, hubsync's command line and environment
 * (coordinator/config.c, docs/CLI.md).
 *
 * The input is an argv: arguments separated by NUL or newline bytes
 * ("run\n--tables\ncompanies_contacts"). A line "@NAME=value" instead sets
 * one of the environment variables config_parse reads (HUBSPOT_ACCESS_TOKEN,
 * the three OAuth ones, HUBSYNC_DB, HUBSPOT_BASE_URL, HUBSYNC_TABLES); every
 * other variable of those families is removed at start-up and all of them
 * after each input, so the host's environment never leaks in.
 *
 * Sandbox: config_parse reads nothing but the --token-file and the --config
 * file (it only stat()s --ca-file and never touches the network), so every
 * value of those two is rewritten into a private temporary directory (its
 * '/' turned into '_'), which holds a good token file "token" and bad ones:
 * "loose" (mode 0644), "two" (two lines), "empty", "nul" (a NUL byte), "big"
 * (over 4 KiB); and config files: "conf" (settings and the token, 0600),
 * "conf-loose" (the same, 0644), "conf-bad" (a bad value, an unknown key).
 *
 * Checks, besides the sanitizers: the result is 0 or ERR_INVALID; a failure
 * leaves no secret in the config (config_wipe); a success gives values in
 * their documented ranges; an error message never shows a secret (a value
 * of 8 bytes or more with a '#' that no input but a secret carries).
 */
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../coordinator/config.h"
#include "fuzz.h"

enum { MAX_ARGS = 64, ARG_MAX_BYTES = 200 };

/* The first NSECRET are secrets: no message may show them. */
enum { NSECRET = 4 };
static const char *const env_names[] = {
    "HUBSPOT_ACCESS_TOKEN", "HUBSPOT_REFRESH_TOKEN", "HUBSPOT_CLIENT_ID", "HUBSPOT_CLIENT_SECRET",
    "HUBSYNC_DB",           "HUBSPOT_BASE_URL",      "HUBSYNC_TABLES"};
#define NENV (sizeof(env_names) / sizeof(env_names[0]))

static char sandbox[64];

static void write_file(const char *name, const char *text, size_t len, mode_t mode)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", sandbox, name);
    FILE *f = fopen(path, "w");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0 || chmod(path, mode) != 0) {
        perror(path);
        abort();
    }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_sandbox(void)
{
    nftw(sandbox, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    for (char **e = environ; *e;) {
        if (strncmp(*e, "HUBSPOT_", 8) == 0 || strncmp(*e, "HUBSYNC_", 8) == 0) {
            char name[256];
            size_t n = strcspn(*e, "=");
            snprintf(name, sizeof(name), "%.*s", (int)n, *e);
            unsetenv(name); /* shifts environ: look at the same slot again */
        } else {
            e++;
        }
    }
    snprintf(sandbox, sizeof(sandbox), "/tmp/hubsync-fuzz-flags-XXXXXX");
    if (!mkdtemp(sandbox)) {
        perror("mkdtemp");
        abort();
    }
    atexit(remove_sandbox);
    static char big[5000];
    memset(big, 'a', sizeof(big));
    write_file("token", "pat-na1-fuzz#token\n", 19, 0600);
    write_file("loose", "pat-na1-fuzz#token\n", 19, 0644);
    write_file("two", "pat-na1\npat-na2\n", 16, 0600);
    write_file("empty", "", 0, 0600);
    write_file("nul", "pat\0na1", 7, 0600);
    write_file("big", big, sizeof(big), 0600);
    static const char conf[] = "# fuzz\nHUBSYNC_WORKERS=2\nHUBSYNC_TABLES='companies_contacts'\n"
                               "HUBSPOT_ACCESS_TOKEN=pat-na1-fuzz#token\n";
    write_file("conf", conf, sizeof(conf) - 1, 0600);
    write_file("conf-loose", conf, sizeof(conf) - 1, 0644);
    static const char bad[] = "HUBSYNC_LAG_MS=-1\nHUBSYNC_WORKRES=2\n";
    write_file("conf-bad", bad, sizeof(bad) - 1, 0644);
    return 0;
}

/* A --token-file value moved into the sandbox. */
static void sandbox_path(char *dst, size_t size, const char *value)
{
    snprintf(dst, size, "%s/%.*s", sandbox, 100, value);
    for (char *p = dst + strlen(sandbox) + 1; *p; p++)
        if (*p == '/')
            *p = '_';
}

/* Whether an error message shows the secret `v`: only a value with a '#'
 * (which no message of config.c contains) of 8 bytes or more counts, and
 * only when no input that is not a secret carries it (an argument or a
 * variable such as HUBSYNC_TABLES may be echoed, and the secret inside it). */
static int shows_secret(const char *msg, const char *v, char **args, int nargs)
{
    if (!v || strlen(v) < 8 || !strchr(v, '#'))
        return 0;
    for (int i = 0; i < nargs; i++)
        if (strstr(args[i], v))
            return 0;
    for (size_t k = NSECRET; k < NENV; k++) { /* the variables that are not secrets */
        const char *other = getenv(env_names[k]);
        if (other && strstr(other, v))
            return 0;
    }
    return strstr(msg, v) != NULL;
}

/* Moves the value of --token-file or --config (in `arg`, or `arg` itself
 * when `prev` is the flag) into the sandbox. */
static void sandbox_arg(char *arg, const char *prev)
{
    static const char *const flags[] = {"--token-file", "--config"};
    for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
        size_t n = strlen(flags[k]);
        char path[ARG_MAX_BYTES + 80];
        if (strncmp(arg, flags[k], n) == 0 && arg[n] == '=') {
            sandbox_path(path, sizeof(path), arg + n + 1);
            snprintf(arg, ARG_MAX_BYTES + 128, "%s=%s", flags[k], path);
            return;
        }
        if (strcmp(prev, flags[k]) == 0 && strncmp(arg, "--", 2) != 0) {
            sandbox_path(path, sizeof(path), arg);
            snprintf(arg, ARG_MAX_BYTES + 128, "%s", path);
            return;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hubsync_config c;
    static char store[MAX_ARGS][ARG_MAX_BYTES + 128];
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = "hubsync";
    size_t start = 0;
    for (size_t i = 0; i <= size && argc < MAX_ARGS; i++) {
        if (i < size && data[i] != '\0' && data[i] != '\n')
            continue;
        size_t n = i - start;
        const char *tok = (const char *)data + start;
        start = i + 1;
        if (n > ARG_MAX_BYTES)
            n = ARG_MAX_BYTES;
        char *arg = store[argc];
        memcpy(arg, tok, n);
        arg[n] = '\0';
        if (arg[0] == '@' && strchr(arg, '=')) {
            size_t name_len = strcspn(arg + 1, "=");
            for (size_t k = 0; k < NENV; k++)
                if (strlen(env_names[k]) == name_len &&
                    strncmp(arg + 1, env_names[k], name_len) == 0)
                    setenv(env_names[k], arg + 2 + name_len, 1);
            continue;
        }
        sandbox_arg(arg, argc > 1 ? argv[argc - 1] : "");
        argv[argc++] = arg;
    }
    argv[argc] = NULL;

    err_info e;
    e.ei_msg[0] = '\0';
    memset(&c, 0x5a, sizeof(c));
    int rc = config_parse(argc, argv, &c, &e);
    FUZZ_CHECK(rc == 0 || rc == ERR_INVALID);
    if (rc) {
        FUZZ_CHECK(memchr(e.ei_msg, '\0', sizeof(e.ei_msg)) != NULL);
        static const char zero[CONFIG_SECRET_MAX];
        FUZZ_CHECK(memcmp(c.c_token, zero, sizeof(c.c_token)) == 0);
        FUZZ_CHECK(memcmp(c.c_refresh_token, zero, sizeof(c.c_refresh_token)) == 0);
        FUZZ_CHECK(memcmp(c.c_client_secret, zero, sizeof(c.c_client_secret)) == 0);
        for (size_t k = 0; k < NSECRET; k++)
            FUZZ_CHECK(!shows_secret(e.ei_msg, getenv(env_names[k]), argv, argc));
        FUZZ_CHECK(!shows_secret(e.ei_msg, "pat-na1-fuzz#token", argv, argc));
    } else if (c.c_command != CMD_HELP) {
        FUZZ_CHECK(c.c_command > CMD_NONE && c.c_command < CMD_HELP);
        FUZZ_CHECK(c.c_ntables >= 1 && c.c_ntables <= CONFIG_MAX_TABLES);
        FUZZ_CHECK(c.c_workers >= 1 && c.c_workers <= 64);
        FUZZ_CHECK(c.c_inflight >= 1 && c.c_inflight <= 64);
        FUZZ_CHECK(c.c_lag_ms >= 0 && c.c_lag_ms <= 86400000);
        FUZZ_CHECK(c.c_rate_window_ms > 0 && c.c_search_window_ms > 0);
        FUZZ_CHECK(memchr(c.c_db_dir, '\0', sizeof(c.c_db_dir)) && c.c_db_dir[0]);
        FUZZ_CHECK(memchr(c.c_base_url, '\0', sizeof(c.c_base_url)));
        FUZZ_CHECK(strncmp(c.c_base_url, "https://", 8) == 0 ||
                   strncmp(c.c_base_url, "http://", 7) == 0);
        size_t ulen = strlen(c.c_base_url);
        FUZZ_CHECK(ulen > 0 && c.c_base_url[ulen - 1] != '/');
        FUZZ_CHECK(memchr(c.c_token, '\0', sizeof(c.c_token)));
        for (const char *p = c.c_token; *p; p++)
            FUZZ_CHECK(*p > 0x20 && *p < 0x7f);
        FUZZ_CHECK(!c.c_oauth || (c.c_refresh_token[0] && c.c_client_id[0] &&
                                  c.c_client_secret[0] && !c.c_token[0]));
        FUZZ_CHECK(c.c_command != CMD_RUN || c.c_token[0] || c.c_oauth);
    }
    for (size_t k = 0; k < NENV; k++)
        unsetenv(env_names[k]);
    return 0;
}
