/*
 * it_startup — the simulator's command line and process behaviour: the one
 * stdout line it prints when ready (docs/SIMULATOR.md), --port-file, --quiet, --help,
 * rejected options, and a clean exit on SIGTERM and SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_suites.h"

/* The line must be exactly this, with the port it really listens on. */
static void test_listening_line(void)
{
    tl_sim s = {0};
    tl_sim_exit ex = {0};
    char port_file[64] = "/tmp/it-port-XXXXXX";
    int fd = mkstemp(port_file);
    REQUIRE(fd >= 0);
    close(fd);
    /* Without --quiet: the portal summary must go to stderr, not stdout. */
    const char *args[] = {"--port", "0", "--port-file", port_file, IT_SMALL_PORTAL, NULL};
    REQUIRE(tl_sim_start_argv(&s, args) == 0);

    char expected[128];
    snprintf(expected, sizeof(expected), "hubspot-sim listening on http://127.0.0.1:%d", s.s_port);
    CHECK_STR(s.s_first_line, expected);
    FILE *f = fopen(port_file, "r");
    int file_port = 0;
    CHECK(f && fscanf(f, "%d", &file_port) == 1);
    if (f)
        fclose(f);
    CHECK_EQ(file_port, s.s_port);

    tl_resp r;
    tl_get(&s, "/crm/v3/objects/contacts?limit=1", TL_TOKEN, &r);
    CHECK_EQ(r.r_status, 200);
    tl_resp_free(&r);

    CHECK_EQ(tl_sim_stop_ex(&s, &ex), 0);
    CHECKF(ex.ex_stdout && ex.ex_stdout[0] == '\0', "more stdout: \"%s\"", ex.ex_stdout);
    CHECKF(ex.ex_stderr && ex.ex_stderr[0] != '\0', "no portal summary on stderr");
done:
    tl_sim_stop(&s);
    tl_sim_exit_free(&ex);
    unlink(port_file);
}

static void test_quiet(void)
{
    tl_sim s = {0};
    tl_sim_exit ex = {0};
    const char *args[] = {IT_SMALL_PORTAL, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    CHECK(s.s_port > 0 && s.s_port_file_port == s.s_port);
    CHECK_EQ(tl_sim_stop_ex(&s, &ex), 0);
    CHECKF(ex.ex_stderr && ex.ex_stderr[0] == '\0', "--quiet, yet stderr: \"%s\"", ex.ex_stderr);
    CHECKF(ex.ex_stdout && ex.ex_stdout[0] == '\0', "more stdout: \"%s\"", ex.ex_stdout);
done:
    tl_sim_stop(&s);
    tl_sim_exit_free(&ex);
}

static void test_sigint(void)
{
    tl_sim s = {0};
    const char *args[] = {IT_SMALL_PORTAL, NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    CHECK_EQ(tl_sim_stop_signal(&s, SIGINT, NULL), 0);
done:
    tl_sim_stop(&s);
}

static void test_help(void)
{
    const char *args[] = {"--help", NULL};
    int status = 0;
    char *out = NULL, *err = NULL;
    REQUIRE(tl_run(tl_sim_path(), args, 15000, &status, &out, &err) == 0);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", (unsigned)status);
    /* Every documented option family is mentioned (stdout or stderr). */
    static const char *const options[] = {
        "--port",
        "--port-file",
        "--seed",
        "--contacts",
        "--companies",
        "--deals",
        "--tickets",
        "--density",
        "--heavy-parents",
        "--labels",
        "--rollups",
        "--rollup-bumps",
        "--rollup-lookalikes",
        "--rollup-delay-ms",
        "--rollup-tail",
        "--rollup-miss",
        "--tier",
        "--rate",
        "--search-rate",
        "--daily",
        "--latency-ms",
        "--fault-5xx",
        "--fault-reset",
        "--fault-truncate",
        "--auth",
        "--token",
        "--token-ttl",
        "--index-lag-ms",
        "--same-ms",
        "--churn",
        "--quiet",
        "--assoc-page-size",
    };
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        CHECKF(strstr(out, options[i]) || strstr(err, options[i]), "--help lacks %s", options[i]);
    CHECKF(!strstr(out, "listening on http://127.0.0.1:"), "--help started a server");
done:
    free(out);
    free(err);
}

/* Each of these must be refused at once: non-zero exit, a message on stderr,
 * no listening line. */
static void test_bad_options(void)
{
    static const char *const cases[][4] = {
        {"--no-such-option", NULL},
        {"--contacts", "many", NULL},
        {"--contacts", NULL},
        {"--rate", "fast", NULL},
        {"--search-rate", "5/x", NULL},
        {"--tier", "gold", NULL},
        {"--auth", "kerberos", NULL},
        {"--rollup-bumps", "maybe", NULL},
        {"--labels", "9", NULL},
        {"--rollups", "companies_widgets", NULL},
        {"--rollup-bumps", "on-ish", NULL},
        {"--rollup-delay-ms", "7000:2000", NULL},
        {"--rollup-tail", "0.5:100", NULL},
        {"--rollup-miss", "2", NULL},
        {"--rollup-lookalikes", "companies_contacts:labels", NULL},
        {"--port", "70000", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int status = 0;
        char *out = NULL, *err = NULL;
        int rc = tl_run(tl_sim_path(), cases[i], 5000, &status, &out, &err);
        bool refused = rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0;
        CHECKF(refused, "%s %s: rc %d, status 0x%x, stdout \"%s\"", cases[i][0],
               cases[i][1] ? cases[i][1] : "", rc, (unsigned)status, out ? out : "");
        CHECKF(err && err[0] != '\0', "%s: nothing on stderr", cases[i][0]);
        CHECKF(out && !strstr(out, "listening on"), "%s: it started listening", cases[i][0]);
        free(out);
        free(err);
    }
}

int it_register_startup(void)
{
    CU_pSuite s = it_add_suite("startup");
    if (!s)
        return -1;
    int rc = 0;
    rc |= it_add_test(s, "listening_line", test_listening_line);
    rc |= it_add_test(s, "quiet", test_quiet);
    rc |= it_add_test(s, "sigint", test_sigint);
    rc |= it_add_test(s, "help", test_help);
    rc |= it_add_test(s, "bad_options", test_bad_options);
    return rc;
}
