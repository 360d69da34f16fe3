/*
 * testlib — processes for the integration tests and the simulator
 * benchmark (see testlib.h): starting the simulator and the client, the
 * registry that kills what a test left running, reading their output line
 * by line. HTTP is in tl_http.c, JSON in tl_json.c, the simulator's admin
 * helpers and the shared checks in tl_sim.c.
 */
#include "testlib.h"
#include "tl_internal.h"

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <CUnit/CUnit.h>

enum { MAX_CHILDREN = 64, MAX_ARGS = 128 };

/* Process groups we started and have not reaped. Plain ints, so the atexit
 * and signal handlers can use them whatever state the tests are in. */
static volatile pid_t g_children[MAX_CHILDREN];
static int64_t g_start_timeout_ms = 60000;

/* ---- time ---------------------------------------------------------------- */

int64_t tl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tl_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tl_sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* ---- child registry and cleanup handlers -------------------------------- */

static void register_child(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (g_children[i] == 0) {
            g_children[i] = pid;
            return;
        }
    }
    fprintf(stderr, "testlib: more than %d simulators at once; pid %d not tracked\n", MAX_CHILDREN,
            (int)pid);
}

static void unregister_child(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (g_children[i] == pid)
            g_children[i] = 0;
}

void tl_kill_all(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        pid_t pid = g_children[i];
        if (pid > 0) {
            kill(-pid, SIGKILL);
            waitpid(pid, NULL, 0);
            g_children[i] = 0;
        }
    }
}

static void kill_all_at_exit(void)
{
    tl_kill_all();
}

/* Async-signal-safe: kill() and waitpid() only, then die of the same signal. */
static void on_fatal_signal(int sig)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (g_children[i] > 0)
            kill(-g_children[i], SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

int tl_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "testlib: curl_global_init failed\n");
        return -1;
    }
    atexit(kill_all_at_exit);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

void tl_shutdown(void)
{
    tl_kill_all();
    curl_global_cleanup();
}

/* ---- spawning ------------------------------------------------------------ */

const char *tl_sim_path(void)
{
    const char *p = getenv("HUBSPOT_SIM");
    return p && *p ? p : "bin/hubspot-sim";
}

void tl_set_start_timeout_ms(int64_t ms)
{
    g_start_timeout_ms = ms;
}

/* The buffer's contents as a malloc'd NUL-terminated string ("" when empty
 * or failed). jb_steal() alone leaves an empty buffer unterminated. */
char *tl_take_string(jbuf *b, size_t *len)
{
    jb_raw(b, "", 0);
    char *s = jb_steal(b, len);
    if (!s) {
        *len = 0;
        s = strdup("");
    }
    return s;
}

/* Reads a whole file into a malloc'd NUL-terminated string ("" on error). */
static char *slurp_fd(int fd)
{
    jbuf b;
    jb_init(&b);
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            jb_raw(&b, chunk, (size_t)n);
    size_t len;
    return tl_take_string(&b, &len);
}

static char *slurp_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return strdup("");
    char *s = slurp_fd(fd);
    close(fd);
    return s;
}

/* Forks `bin args…` into its own process group with stdout on `out_fd` and
 * stderr on `err_fd`; stdin is /dev/null. Returns the pid or -1. */
static pid_t spawn(const char *bin, const char *const *args, int out_fd, int err_fd)
{
    const char *argv[MAX_ARGS];
    size_t n = 0;
    argv[n++] = bin;
    for (size_t i = 0; args && args[i]; i++) {
        if (n + 1 >= MAX_ARGS) {
            fprintf(stderr, "testlib: too many arguments for %s\n", bin);
            return -1;
        }
        argv[n++] = args[i];
    }
    argv[n] = NULL;

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "testlib: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        /* Die with the runner even if it crashes before its cleanup runs. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        signal(SIGPIPE, SIG_DFL);
        execvp(bin, (char *const *)argv);
        dprintf(2, "testlib: exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    /* Also from the parent, so the group exists before we might kill it. */
    setpgid(pid, pid);
    register_child(pid);
    return pid;
}

/* Reads one line (up to '\n', not included) from `fd` into buf, waiting until
 * `deadline_ms`. Returns 0, -1 on EOF or error, -2 on timeout, -3 for a line
 * longer than buf. */
static int read_line(int fd, char *buf, size_t size, int64_t deadline_ms)
{
    size_t len = 0;
    for (;;) {
        int64_t left = deadline_ms - tl_now_ms();
        if (left <= 0)
            return -2;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
        if (rc < 0 && errno != EINTR)
            return -1;
        if (rc <= 0)
            continue;
        /* One byte at a time: whatever follows the line stays in the pipe. */
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            return -1;
        if (n < 0)
            continue;
        if (c == '\n') {
            buf[len] = '\0';
            return 0;
        }
        if (len + 1 >= size)
            return -3;
        buf[len++] = c;
    }
}

/* Parses "…http://HOST:PORT" (or https://) at the end of the listening line. */
static int parse_listen_line(tl_sim *s)
{
    const char *url = strstr(s->s_first_line, "http://");
    if (!url)
        url = strstr(s->s_first_line, "https://");
    if (!url)
        return -1;
    const char *colon = strrchr(strstr(url, "://") + 3, ':');
    if (!colon)
        return -1;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || port <= 0 || port > 65535)
        return -1;
    s->s_port = (int)port;
    int n = snprintf(s->s_base_url, sizeof(s->s_base_url), "%s", url);
    return n > 0 && (size_t)n < sizeof(s->s_base_url) ? 0 : -1;
}

/* Empties `s`; `live` marks a tl_sim whose fields are now owned by testlib. */
static void sim_reset(tl_sim *s, bool live)
{
    memset(s, 0, sizeof(*s));
    s->s_stdout_fd = -1;
    s->s_stderr_fd = -1;
    s->s_live = live;
}

/* Starts the simulator and waits for its line; `port_file` (may be NULL) is
 * read afterwards. */
static int start_common(tl_sim *s, const char *const *args, const char *port_file)
{
    int pipefd[2] = {-1, -1};
    /* Unlinked at once, so nothing is left behind whatever happens; we keep
     * our descriptor to read it back. */
    char err_path[] = "/tmp/tl-sim-stderr-XXXXXX";
    s->s_stderr_fd = mkostemp(err_path, O_CLOEXEC);
    if (s->s_stderr_fd >= 0)
        unlink(err_path);
    if (s->s_stderr_fd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
        fprintf(stderr, "testlib: mkstemp/pipe: %s\n", strerror(errno));
        goto fail;
    }
    s->s_pid = spawn(tl_sim_path(), args, pipefd[1], s->s_stderr_fd);
    close(pipefd[1]);
    s->s_stdout_fd = pipefd[0];
    if (s->s_pid < 0) {
        s->s_pid = 0;
        goto fail;
    }
    int got = read_line(s->s_stdout_fd, s->s_first_line, sizeof(s->s_first_line),
                        tl_now_ms() + g_start_timeout_ms);
    if (got < 0) {
        fprintf(stderr, "testlib: %s %s\n", tl_sim_path(),
                got == -2   ? "printed no listening line in time"
                : got == -3 ? "printed an over-long first line"
                            : "closed stdout (exited?) before its listening line");
        goto fail;
    }
    if (parse_listen_line(s) < 0) {
        fprintf(stderr, "testlib: unexpected first stdout line: \"%s\"\n", s->s_first_line);
        goto fail;
    }
    if (port_file) {
        char *text = slurp_path(port_file);
        char *end;
        long port = strtol(text, &end, 10);
        s->s_port_file_port = end != text ? (int)port : 0;
        free(text);
    }
    s->s_curl = curl_easy_init();
    if (!s->s_curl)
        goto fail;
    return 0;
fail:
    tl_sim_stop(s);
    return -1;
}

int tl_sim_start_argv(tl_sim *s, const char *const *args)
{
    sim_reset(s, true);
    return start_common(s, args, NULL);
}

int tl_sim_start_tls(tl_sim *s, const char *cert_dir, const char *const *extra_args)
{
    char cert[512], key[512];
    const char *args[MAX_ARGS];
    size_t n = 0;
    snprintf(cert, sizeof(cert), "%s/server.pem", cert_dir);
    snprintf(key, sizeof(key), "%s/server.key", cert_dir);
    args[n++] = "--tls-cert";
    args[n++] = cert;
    args[n++] = "--tls-key";
    args[n++] = key;
    for (size_t i = 0; extra_args && extra_args[i]; i++) {
        if (n + 1 >= MAX_ARGS - 8) {
            fprintf(stderr, "testlib: too many simulator arguments\n");
            sim_reset(s, false);
            return -1;
        }
        args[n++] = extra_args[i];
    }
    args[n] = NULL;
    if (tl_sim_start(s, args) != 0)
        return -1;
    snprintf(s->s_ca_file, sizeof(s->s_ca_file), "%s/ca.pem", cert_dir);
    if (strncmp(s->s_base_url, "https://", 8) != 0) {
        fprintf(stderr, "testlib: --tls-cert given but the simulator said \"%s\"\n",
                s->s_first_line);
        tl_sim_stop(s);
        return -1;
    }
    return 0;
}

int tl_make_test_cert(const char *dir, const char *san)
{
    const char *args[] = {dir, san, NULL};
    int status = 0;
    char *out = NULL, *err = NULL;
    int rc = tl_run("scripts/make-test-cert.sh", args, 30000, &status, &out, &err);
    bool ok = rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok)
        fprintf(stderr, "testlib: scripts/make-test-cert.sh %s failed (status %d): %s\n", dir,
                status, err ? err : "");
    free(out);
    free(err);
    return ok ? 0 : -1;
}

int tl_sim_start(tl_sim *s, const char *const *extra_args)
{
    sim_reset(s, true);
    char port_file[64];
    snprintf(port_file, sizeof(port_file), "/tmp/tl-sim-port-XXXXXX");
    int fd = mkstemp(port_file);
    if (fd < 0) {
        fprintf(stderr, "testlib: mkstemp: %s\n", strerror(errno));
        return -1;
    }
    close(fd);
    const char *args[MAX_ARGS];
    size_t n = 0;
    args[n++] = "--port";
    args[n++] = "0";
    args[n++] = "--port-file";
    args[n++] = port_file;
    args[n++] = "--quiet";
    /* Most tests check an incremental mirror exactly, which needs every
     * association change on a rollup table to move the parent at once. */
    bool mode_given = false;
    for (size_t i = 0; extra_args && extra_args[i]; i++)
        mode_given |= strcmp(extra_args[i], "--rollup-bumps") == 0 ||
                      strncmp(extra_args[i], "--rollup-bumps=", 15) == 0;
    if (!mode_given) {
        args[n++] = "--rollup-bumps";
        args[n++] = "always";
    }
    for (size_t i = 0; extra_args && extra_args[i]; i++) {
        if (n + 1 >= MAX_ARGS) {
            fprintf(stderr, "testlib: too many simulator arguments\n");
            unlink(port_file);
            return -1;
        }
        args[n++] = extra_args[i];
    }
    args[n] = NULL;
    int rc = start_common(s, args, port_file);
    unlink(port_file);
    return rc;
}

/* Waits up to `ms` for `pid` to exit. True when it was reaped into *status. */
static bool wait_exit(pid_t pid, int64_t ms, int *status)
{
    int64_t deadline = tl_now_ms() + ms;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return r == pid;
        if (tl_now_ms() >= deadline)
            return false;
        tl_sleep_ms(5);
    }
}

static bool sanitizer_report(const char *err)
{
    return strstr(err, "AddressSanitizer") || strstr(err, "LeakSanitizer") ||
           strstr(err, "runtime error:");
}

int tl_sim_stop_signal(tl_sim *s, int sig, tl_sim_exit *ex)
{
    tl_sim_exit local;
    if (!ex)
        ex = &local;
    memset(ex, 0, sizeof(*ex));
    if (!s->s_live)
        return 0;
    int rc = 0;
    if (s->s_pid > 0) {
        pid_t pid = s->s_pid;
        if (waitpid(pid, &ex->ex_status, WNOHANG) == pid) {
            ex->ex_early = true;
        } else {
            kill(-pid, sig);
            if (!wait_exit(pid, 15000, &ex->ex_status)) {
                ex->ex_killed = true;
                kill(-pid, SIGKILL);
                waitpid(pid, &ex->ex_status, 0);
            }
        }
        unregister_child(pid);
        ex->ex_stdout = s->s_stdout_fd >= 0 ? slurp_fd(s->s_stdout_fd) : strdup("");
        ex->ex_stderr = strdup("");
        if (s->s_stderr_fd >= 0 && lseek(s->s_stderr_fd, 0, SEEK_SET) == 0) {
            free(ex->ex_stderr);
            ex->ex_stderr = slurp_fd(s->s_stderr_fd);
        }
        bool clean = !ex->ex_early && !ex->ex_killed && WIFEXITED(ex->ex_status) &&
                     WEXITSTATUS(ex->ex_status) == 0 && !sanitizer_report(ex->ex_stderr);
        if (!clean) {
            rc = -1;
            fprintf(stderr, "testlib: simulator pid %d %s (status 0x%x%s%s)\n", (int)pid,
                    ex->ex_early    ? "had already exited"
                    : ex->ex_killed ? "ignored the stop signal for 15 s"
                                    : "did not exit cleanly",
                    (unsigned)ex->ex_status, WIFSIGNALED(ex->ex_status) ? ", signal " : "",
                    WIFSIGNALED(ex->ex_status) ? strsignal(WTERMSIG(ex->ex_status)) : "");
            fprintf(stderr, "---- simulator stderr ----\n%s\n--------------------------\n",
                    ex->ex_stderr);
        }
    }
    if (s->s_stdout_fd >= 0)
        close(s->s_stdout_fd);
    if (s->s_stderr_fd >= 0)
        close(s->s_stderr_fd);
    if (s->s_curl)
        curl_easy_cleanup(s->s_curl);
    if (ex == &local)
        tl_sim_exit_free(ex);
    sim_reset(s, false);
    return rc;
}

int tl_sim_stop_ex(tl_sim *s, tl_sim_exit *ex)
{
    return tl_sim_stop_signal(s, SIGTERM, ex);
}

int tl_sim_stop(tl_sim *s)
{
    return tl_sim_stop_ex(s, NULL);
}

void tl_sim_exit_free(tl_sim_exit *ex)
{
    free(ex->ex_stdout);
    free(ex->ex_stderr);
    memset(ex, 0, sizeof(*ex));
}

/* Drains `fd` into `b` without blocking; false once it reached EOF. */
static bool drain_fd(int fd, jbuf *b)
{
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n > 0) {
            jb_raw(b, chunk, (size_t)n);
            continue;
        }
        if (n == 0)
            return false;
        return errno == EINTR || errno == EAGAIN;
    }
}

int tl_run(const char *bin, const char *const *args, int64_t timeout_ms, int *status, char **out,
           char **err)
{
    int op[2], ep[2];
    *out = *err = NULL;
    if (pipe2(op, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(ep, O_CLOEXEC) < 0) {
        close(op[0]);
        close(op[1]);
        return -1;
    }
    pid_t pid = spawn(bin, args, op[1], ep[1]);
    close(op[1]);
    close(ep[1]);
    fcntl(op[0], F_SETFL, O_NONBLOCK);
    fcntl(ep[0], F_SETFL, O_NONBLOCK);
    jbuf ob, eb;
    jb_init(&ob);
    jb_init(&eb);
    bool o_open = pid > 0, e_open = pid > 0;
    int64_t deadline = tl_now_ms() + timeout_ms;
    while ((o_open || e_open) && tl_now_ms() < deadline) {
        struct pollfd p[2] = {{.fd = o_open ? op[0] : -1, .events = POLLIN},
                              {.fd = e_open ? ep[0] : -1, .events = POLLIN}};
        if (poll(p, 2, 100) < 0 && errno != EINTR)
            break;
        if (o_open && p[0].revents)
            o_open = drain_fd(op[0], &ob);
        if (e_open && p[1].revents)
            e_open = drain_fd(ep[0], &eb);
    }
    int rc = 0;
    if (pid > 0) {
        if (!wait_exit(pid, o_open || e_open ? 0 : deadline - tl_now_ms() + 100, status)) {
            fprintf(stderr, "testlib: %s did not finish within %lld ms\n", bin,
                    (long long)timeout_ms);
            kill(-pid, SIGKILL);
            waitpid(pid, status, 0);
            rc = -1;
        }
        unregister_child(pid);
    } else {
        rc = -1;
    }
    close(op[0]);
    close(ep[0]);
    size_t len;
    *out = tl_take_string(&ob, &len);
    *err = tl_take_string(&eb, &len);
    return rc;
}

/* ---- lines --------------------------------------------------------------- */

int tl_lines_addf(tl_lines *l, const char *fmt, ...)
{
    if (l->l_count == l->l_cap) {
        size_t cap = l->l_cap ? l->l_cap * 2 : 64;
        char **grown = realloc(l->l_items, cap * sizeof(*grown));
        if (!grown)
            return -1;
        l->l_items = grown;
        l->l_cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *line = NULL;
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    l->l_items[l->l_count++] = line;
    return 0;
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void tl_lines_sort(tl_lines *l)
{
    if (l->l_count > 1)
        qsort(l->l_items, l->l_count, sizeof(*l->l_items), cmp_line);
}

bool tl_lines_equal(const tl_lines *a, const tl_lines *b, const char *a_name, const char *b_name)
{
    size_t i = 0, j = 0, shown = 0, diffs = 0;
    while (i < a->l_count || j < b->l_count) {
        int c = i == a->l_count ? 1 : j == b->l_count ? -1 : strcmp(a->l_items[i], b->l_items[j]);
        if (c == 0) {
            i++;
            j++;
            continue;
        }
        diffs++;
        const char *line = c < 0 ? a->l_items[i++] : b->l_items[j++];
        if (shown++ < 10)
            fprintf(stderr, "    only in %s: %s\n", c < 0 ? a_name : b_name, line);
    }
    if (diffs)
        fprintf(stderr, "    %zu lines differ (%s has %zu lines, %s has %zu)\n", diffs, a_name,
                a->l_count, b_name, b->l_count);
    return diffs == 0;
}

bool tl_lines_contains(const tl_lines *l, const char *line)
{
    return l->l_count &&
           bsearch(&line, l->l_items, l->l_count, sizeof(*l->l_items), cmp_line) != NULL;
}

void tl_lines_free(tl_lines *l)
{
    for (size_t i = 0; i < l->l_count; i++)
        free(l->l_items[i]);
    free(l->l_items);
    memset(l, 0, sizeof(*l));
}

int tl_truth(tl_sim *s, const char *table, tl_lines *out)
{
    memset(out, 0, sizeof(*out));
    tl_resp r;
    tl_getf(s, NULL, &r, "/_sim/truth?table=%s", table);
    int rc = -1;
    if (r.r_status != 200) {
        tl_resp_dump("GET /_sim/truth", &r);
        goto done;
    }
    const char *p = r.r_body;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n > 0 && tl_lines_addf(out, "%.*s", (int)n, p) < 0)
            goto done;
        p += n + (nl ? 1 : 0);
    }
    tl_lines_sort(out);
    rc = 0;
done:
    tl_resp_free(&r);
    return rc;
}
