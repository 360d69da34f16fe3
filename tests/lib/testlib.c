/*
 * testlib — simulator processes, HTTP, JSON and line helpers for the
 * integration tests and the simulator benchmark (see testlib.h).
 */
#include "testlib.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "../../common/hs_types.h"
#include "../../common/jbuf.h"

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
static char *take_string(jbuf *b, size_t *len)
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
    return take_string(&b, &len);
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
    *out = take_string(&ob, &len);
    *err = take_string(&eb, &len);
    return rc;
}

/* ---- HTTP ---------------------------------------------------------------- */

/* One transfer in flight: its handle, request headers and the response being
 * filled. */
typedef struct xfer {
    CURL *x_curl;
    struct curl_slist *x_hdrs;
    tl_resp *x_resp;
    jbuf x_body;
    size_t x_index; /* which request, for tl_parallel */
} xfer;

static void free_headers(tl_resp *r)
{
    for (size_t i = 0; i < r->r_nheaders; i++) {
        free(r->r_headers[i].h_name);
        free(r->r_headers[i].h_value);
    }
    free(r->r_headers);
    r->r_headers = NULL;
    r->r_nheaders = 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    xfer *x = userdata;
    jb_raw(&x->x_body, data, size * nmemb);
    return jb_ok(&x->x_body) ? size * nmemb : 0;
}

/* Keeps the headers of the last response: a status line starts a new set. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    xfer *x = userdata;
    tl_resp *r = x->x_resp;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        free_headers(r);
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (!colon)
        return n;
    size_t name_len = (size_t)(colon - data);
    const char *v = colon + 1;
    const char *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    tl_header *grown = realloc(r->r_headers, (r->r_nheaders + 1) * sizeof(*grown));
    if (!grown)
        return 0;
    r->r_headers = grown;
    tl_header *h = &r->r_headers[r->r_nheaders];
    h->h_name = strndup(data, name_len);
    h->h_value = strndup(v, (size_t)(end - v));
    if (!h->h_name || !h->h_value) {
        free(h->h_name);
        free(h->h_value);
        return 0;
    }
    r->r_nheaders++;
    return n;
}

/* Sets up `x->x_curl` for `req` against `s`; the handle keeps its
 * connections across curl_easy_reset(). */
static int xfer_setup(xfer *x, const tl_sim *s, const tl_req *req, tl_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    x->x_resp = resp;
    x->x_hdrs = NULL;
    jb_init(&x->x_body);
    CURL *c = x->x_curl;
    curl_easy_reset(c);

    char *url = NULL;
    if (asprintf(&url, "%s%s", s->s_base_url, req->rq_path) < 0)
        return -1;
    char auth[512];
    if (req->rq_token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", req->rq_token);
        x->x_hdrs = curl_slist_append(x->x_hdrs, auth);
    }
    char ctype[128];
    snprintf(ctype, sizeof(ctype), "Content-Type:%s%s", req->rq_content_type ? " " : "",
             req->rq_content_type ? req->rq_content_type : "");
    x->x_hdrs = curl_slist_append(x->x_hdrs, ctype);
    /* No 100-continue round trip: the simulator answers big bodies directly. */
    x->x_hdrs = curl_slist_append(x->x_hdrs, "Expect:");

    curl_easy_setopt(c, CURLOPT_URL, url); /* curl keeps its own copy */
    free(url);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    if (s->s_ca_file[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, s->s_ca_file);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->x_hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_PRIVATE, x);
    if (strcmp(req->rq_method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->rq_body ? req->rq_body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(req->rq_body ? req->rq_body_len : 0));
        if (strcmp(req->rq_method, "POST") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->rq_method);
    }
    return 0;
}

/* Moves the received body and status into the response. */
static void xfer_finish(xfer *x, CURLcode code)
{
    tl_resp *r = x->x_resp;
    r->r_curl = code;
    curl_easy_getinfo(x->x_curl, CURLINFO_RESPONSE_CODE, &r->r_status);
    r->r_body = take_string(&x->x_body, &r->r_body_len);
    curl_slist_free_all(x->x_hdrs);
    x->x_hdrs = NULL;
}

int tl_request(tl_sim *s, const tl_req *req, tl_resp *resp)
{
    if (!s->s_curl) {
        memset(resp, 0, sizeof(*resp));
        resp->r_curl = CURLE_FAILED_INIT;
        resp->r_body = strdup("");
        return -1;
    }
    xfer x = {.x_curl = s->s_curl};
    if (xfer_setup(&x, s, req, resp) < 0) {
        xfer_finish(&x, CURLE_URL_MALFORMAT);
        return -1;
    }
    CURLcode code = curl_easy_perform(s->s_curl);
    xfer_finish(&x, code);
    return code == CURLE_OK ? 0 : -1;
}

int tl_get(tl_sim *s, const char *path, const char *token, tl_resp *resp)
{
    tl_req req = {.rq_method = "GET", .rq_path = path, .rq_token = token};
    return tl_request(s, &req, resp);
}

int tl_getf(tl_sim *s, const char *token, tl_resp *resp, const char *fmt, ...)
{
    char path[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return tl_get(s, path, token, resp);
}

int tl_post_json(tl_sim *s, const char *path, const char *token, const char *body, tl_resp *resp)
{
    tl_req req = {.rq_method = "POST",
                  .rq_path = path,
                  .rq_token = token,
                  .rq_content_type = "application/json",
                  .rq_body = body,
                  .rq_body_len = body ? strlen(body) : 0};
    return tl_request(s, &req, resp);
}

int tl_post_form(tl_sim *s, const char *path, const char *token, const char *body, tl_resp *resp)
{
    tl_req req = {.rq_method = "POST",
                  .rq_path = path,
                  .rq_token = token,
                  .rq_content_type = "application/x-www-form-urlencoded",
                  .rq_body = body,
                  .rq_body_len = body ? strlen(body) : 0};
    return tl_request(s, &req, resp);
}

/* Starts request `i` on transfer `x`; false when it could not be set up (the
 * response is then finished with an error). */
static bool parallel_start(CURLM *m, xfer *x, tl_sim *s, const tl_req *reqs, size_t i, tl_resp *out)
{
    x->x_index = i;
    if (xfer_setup(x, s, &reqs[i], &out[i]) < 0 ||
        curl_multi_add_handle(m, x->x_curl) != CURLM_OK) {
        xfer_finish(x, CURLE_FAILED_INIT);
        return false;
    }
    return true;
}

int tl_parallel(tl_sim *s, const tl_req *reqs, size_t n, int conns, tl_resp *out)
{
    if (conns < 1)
        conns = 1;
    CURLM *m = curl_multi_init();
    xfer *xs = calloc((size_t)conns, sizeof(*xs));
    int rc = -1;
    if (!m || !xs)
        goto done;
    for (int i = 0; i < conns; i++)
        if (!(xs[i].x_curl = curl_easy_init()))
            goto done;
    size_t next = 0;
    int active = 0;
    /* Fill every connection, then refill each one as its transfer ends
     * (curl's 10-at-a-time pattern). */
    for (int i = 0; i < conns; i++)
        while (next < n)
            if (parallel_start(m, &xs[i], s, reqs, next++, out)) {
                active++;
                break;
            }
    while (active > 0) {
        int running;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            xfer *x;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            CURLcode code = msg->data.result;
            curl_multi_remove_handle(m, x->x_curl);
            xfer_finish(x, code);
            active--;
            while (next < n)
                if (parallel_start(m, x, s, reqs, next++, out)) {
                    active++;
                    break;
                }
        }
        if (active > 0)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    rc = 0;
done:
    for (int i = 0; xs && i < conns; i++)
        if (xs[i].x_curl)
            curl_easy_cleanup(xs[i].x_curl);
    free(xs);
    if (m)
        curl_multi_cleanup(m);
    return rc;
}

const char *tl_header_get(const tl_resp *r, const char *name)
{
    for (size_t i = 0; i < r->r_nheaders; i++)
        if (strcasecmp(r->r_headers[i].h_name, name) == 0)
            return r->r_headers[i].h_value;
    return NULL;
}

size_t tl_header_count_prefix(const tl_resp *r, const char *prefix)
{
    size_t count = 0, n = strlen(prefix);
    for (size_t i = 0; i < r->r_nheaders; i++)
        if (strncasecmp(r->r_headers[i].h_name, prefix, n) == 0)
            count++;
    return count;
}

json_object *tl_resp_json(tl_resp *r)
{
    if (!r->r_json_tried) {
        r->r_json_tried = true;
        if (r->r_body && r->r_body_len > 0) {
            json_tokener *tok = json_tokener_new();
            if (tok) {
                r->r_json = json_tokener_parse_ex(tok, r->r_body, (int)r->r_body_len);
                /* Trailing garbage or an incomplete document is not JSON. */
                if (json_tokener_get_error(tok) != json_tokener_success ||
                    json_tokener_get_parse_end(tok) != r->r_body_len) {
                    json_object_put(r->r_json);
                    r->r_json = NULL;
                }
                json_tokener_free(tok);
            }
        }
    }
    return r->r_json;
}

void tl_resp_free(tl_resp *r)
{
    free(r->r_body);
    free_headers(r);
    json_object_put(r->r_json);
    memset(r, 0, sizeof(*r));
}

void tl_resp_dump(const char *what, const tl_resp *r)
{
    int shown = r->r_body_len > 600 ? 600 : (int)r->r_body_len;
    fprintf(stderr, "    %s: HTTP %ld%s%s, %zu bytes: %.*s%s\n", what, r->r_status,
            r->r_curl != CURLE_OK ? ", curl: " : "",
            r->r_curl != CURLE_OK ? curl_easy_strerror(r->r_curl) : "", r->r_body_len, shown,
            r->r_body ? r->r_body : "", r->r_body_len > 600 ? "…" : "");
}

/* ---- JSON ---------------------------------------------------------------- */

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Walks `path` from `root`. True when every step exists; *out is then the
 * value, NULL for a JSON null (json-c's representation of null). */
static bool jwalk(json_object *root, const char *path, json_object **out)
{
    json_object *cur = root;
    const char *p = path;
    while (*p) {
        if (!cur)
            return false;
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[256];
        if (n >= sizeof(key))
            return false;
        memcpy(key, p, n);
        key[n] = '\0';
        if (json_object_is_type(cur, json_type_array) && all_digits(key, n)) {
            uint64_t i;
            if (!tl_parse_u64(key, n, &i) || i >= json_object_array_length(cur))
                return false;
            cur = json_object_array_get_idx(cur, (size_t)i);
        } else if (json_object_is_type(cur, json_type_object)) {
            if (!json_object_object_get_ex(cur, key, &cur))
                return false;
        } else {
            return false;
        }
        p += n;
        if (*p == '.')
            p++;
    }
    *out = cur;
    return true;
}

json_object *tl_jget(json_object *root, const char *path)
{
    json_object *v;
    return root && jwalk(root, path, &v) ? v : NULL;
}

const char *tl_jstr(json_object *root, const char *path)
{
    json_object *v = tl_jget(root, path);
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

bool tl_jint(json_object *root, const char *path, bool allow_string, int64_t *out)
{
    json_object *v = tl_jget(root, path);
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_int64(v);
        return true;
    }
    if (allow_string && json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        uint64_t u;
        if (tl_parse_u64(s, strlen(s), &u) && u <= INT64_MAX) {
            *out = (int64_t)u;
            return true;
        }
    }
    return false;
}

int64_t tl_jint_or(json_object *root, const char *path, int64_t dflt)
{
    int64_t v;
    return tl_jint(root, path, false, &v) ? v : dflt;
}

size_t tl_jlen(json_object *root, const char *path)
{
    json_object *v = tl_jget(root, path);
    return json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
}

bool tl_jis(json_object *root, const char *path, json_type type)
{
    json_object *v;
    if (!root || !jwalk(root, path, &v))
        return false;
    return json_object_is_type(v, type); /* json-c: NULL has type json_type_null */
}

bool tl_parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (!all_digits(s, n) || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool tl_is_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

bool tl_is_hubspot_error(tl_resp *r, long http_status, const char *category)
{
    json_object *j = tl_resp_json(r);
    const char *why = NULL;
    const char *message = tl_jstr(j, "message");
    if (r->r_status != http_status)
        why = "HTTP status";
    else if (!j)
        why = "body is not JSON";
    else if (!tl_str_eq(tl_jstr(j, "status"), "error"))
        why = "\"status\" is not \"error\"";
    else if (!message || !*message)
        why = "no \"message\"";
    else if (!tl_is_uuid(tl_jstr(j, "correlationId")))
        why = "\"correlationId\" is not a UUID";
    else if (category && !tl_str_eq(tl_jstr(j, "category"), category))
        why = "\"category\" differs";
    if (!why)
        return true;
    fprintf(stderr, "    expected a HubSpot error (HTTP %ld, category %s): %s\n", http_status,
            category ? category : "any", why);
    tl_resp_dump("got", r);
    return false;
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

/* ---- simulator helpers --------------------------------------------------- */

json_object *tl_stats(tl_sim *s)
{
    tl_resp r;
    tl_get(s, "/_sim/stats", NULL, &r);
    json_object *j = r.r_status == 200 ? tl_resp_json(&r) : NULL;
    if (j)
        json_object_get(j);
    else
        tl_resp_dump("GET /_sim/stats", &r);
    tl_resp_free(&r);
    return j;
}

json_object *tl_mutate(tl_sim *s, const char *body)
{
    tl_resp r;
    tl_post_json(s, "/_sim/mutate", NULL, body, &r);
    json_object *j = r.r_status == 200 ? tl_resp_json(&r) : NULL;
    if (j)
        json_object_get(j);
    else
        tl_resp_dump("POST /_sim/mutate", &r);
    tl_resp_free(&r);
    return j;
}

/* A timestamp property: ISO-8601, or decimal milliseconds. -1 when absent. */
static int64_t time_prop(json_object *props, const char *name)
{
    const char *v = tl_jstr(props, name);
    int64_t ms;
    uint64_t u;
    if (!v)
        return -1;
    if (parse_iso8601_ms(v, strlen(v), &ms) == 0)
        return ms;
    if (tl_parse_u64(v, strlen(v), &u) && u <= INT64_MAX)
        return (int64_t)u;
    return -1;
}

int tl_objects_add(tl_objects *os, const tl_object *o)
{
    if (os->os_count == os->os_cap) {
        size_t cap = os->os_cap ? os->os_cap * 2 : 256;
        tl_object *grown = realloc(os->os_items, cap * sizeof(*grown));
        if (!grown)
            return -1;
        os->os_items = grown;
        os->os_cap = cap;
    }
    os->os_items[os->os_count++] = *o;
    return 0;
}

/* Appends one page's results; fails on a bad ID or one not above the last. */
static int list_page(json_object *page, const char *lastmod, tl_objects *out)
{
    json_object *results = tl_jget(page, "results");
    size_t n =
        json_object_is_type(results, json_type_array) ? json_object_array_length(results) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(results, i);
        const char *id = tl_jstr(item, "id");
        tl_object o = {0};
        if (!id || !tl_parse_u64(id, strlen(id), &o.o_id)) {
            fprintf(stderr, "testlib: list result without a decimal string id\n");
            return -1;
        }
        if (out->os_count && o.o_id <= out->os_items[out->os_count - 1].o_id) {
            fprintf(stderr, "testlib: list IDs not ascending at %s\n", id);
            return -1;
        }
        json_object *props = tl_jget(item, "properties");
        o.o_created_ms = time_prop(props, "createdate");
        o.o_modified_ms = time_prop(props, lastmod);
        json_object *arch = tl_jget(item, "archived");
        o.o_archived = arch && json_object_get_boolean(arch);
        if (tl_objects_add(out, &o) < 0)
            return -1;
    }
    return 0;
}

int tl_list_all(tl_sim *s, const char *type, bool archived, tl_objects *out)
{
    memset(out, 0, sizeof(*out));
    hs_object_type t;
    if (hs_object_parse(type, strlen(type), &t) < 0)
        return -1;
    const char *lastmod = hs_object(t)->oi_lastmod;
    char after[32] = "";
    for (;;) {
        tl_resp r;
        tl_getf(s, TL_TOKEN, &r, "/crm/v3/objects/%s?limit=100&properties=createdate,%s%s%s%s",
                type, lastmod, archived ? "&archived=true" : "", after[0] ? "&after=" : "", after);
        json_object *page = r.r_status == 200 ? tl_resp_json(&r) : NULL;
        if (!page || list_page(page, lastmod, out) < 0) {
            tl_resp_dump("list page", &r);
            tl_resp_free(&r);
            tl_objects_free(out);
            return -1;
        }
        const char *next = tl_jstr(page, "paging.next.after");
        uint64_t next_id = 0;
        bool more = next != NULL;
        if (more && (!tl_parse_u64(next, strlen(next), &next_id) ||
                     (out->os_count && next_id <= out->os_items[out->os_count - 1].o_id))) {
            fprintf(stderr, "testlib: paging.next.after \"%s\" does not advance\n", next);
            tl_resp_free(&r);
            tl_objects_free(out);
            return -1;
        }
        if (more)
            snprintf(after, sizeof(after), "%s", next);
        tl_resp_free(&r);
        if (!more)
            return 0;
    }
}

/* The last-modified property of `type` ("lastmodifieddate" for contacts),
 * or NULL for an unknown type. */
static const char *lastmod_of(const char *type)
{
    hs_object_type t;
    return hs_object_parse(type, strlen(type), &t) < 0 ? NULL : hs_object(t)->oi_lastmod;
}

/* POSTs `body` to /crm/v3/objects/{type}/{endpoint} and reads `lastmod` of
 * the first result; -1 when there is none. An answer other than a 200 (or
 * a 207 from a batch read, a search finding nothing) is dumped. */
static int64_t first_modified(tl_sim *s, const char *type, const char *endpoint,
                              const char *lastmod, const char *body)
{
    char path[96], prop[64];
    snprintf(path, sizeof(path), "/crm/v3/objects/%s/%s", type, endpoint);
    snprintf(prop, sizeof(prop), "results.0.properties.%s", lastmod);
    tl_resp r;
    tl_post_json(s, path, TL_TOKEN, body, &r);
    json_object *j = r.r_status == 200 ? tl_resp_json(&r) : NULL;
    const char *v = tl_jstr(j, prop);
    int64_t ms = -1;
    bool found = v && parse_iso8601_ms(v, strlen(v), &ms) == 0;
    if (!found && r.r_status != 207 && !(j && tl_jlen(j, "results") == 0))
        tl_resp_dump(endpoint, &r);
    tl_resp_free(&r);
    return found ? ms : -1;
}

int64_t tl_modified_of(tl_sim *s, const char *type, uint64_t id)
{
    const char *lastmod = lastmod_of(type);
    char body[192];
    if (!lastmod)
        return -1;
    snprintf(body, sizeof(body), "{\"properties\":[\"%s\"],\"inputs\":[{\"id\":\"%llu\"}]}",
             lastmod, (unsigned long long)id);
    return first_modified(s, type, "batch/read", lastmod, body);
}

int64_t tl_search_modified_of(tl_sim *s, const char *type, uint64_t id)
{
    const char *lastmod = lastmod_of(type);
    char body[256];
    if (!lastmod)
        return -1;
    snprintf(body, sizeof(body),
             "{\"properties\":[\"%s\"],\"filterGroups\":[{\"filters\":[{\"propertyName\":"
             "\"hs_object_id\",\"operator\":\"EQ\",\"value\":\"%llu\"}]}]}",
             lastmod, (unsigned long long)id);
    return first_modified(s, type, "search", lastmod, body);
}

const tl_object *tl_objects_find(const tl_objects *os, uint64_t id)
{
    size_t lo = 0, hi = os->os_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (os->os_items[mid].o_id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < os->os_count && os->os_items[lo].o_id == id ? &os->os_items[lo] : NULL;
}

void tl_objects_free(tl_objects *os)
{
    free(os->os_items);
    memset(os, 0, sizeof(*os));
}

/* ---- checks -------------------------------------------------------------- */

bool tl_str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

bool tl_check_impl(bool ok, unsigned line, const char *cond, const char *file, const char *fmt, ...)
{
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, cond, file, "", CU_FALSE);
    if (!ok) {
        fprintf(stderr, "  CHECK FAILED %s:%u: %s\n", file, line, cond);
        if (fmt) {
            va_list ap;
            va_start(ap, fmt);
            fputs("    ", stderr);
            vfprintf(stderr, fmt, ap);
            fputc('\n', stderr);
            va_end(ap);
        }
    }
    return ok;
}

bool tl_check_str_impl(const char *a, const char *b, unsigned line, const char *a_text,
                       const char *b_text, const char *file)
{
    char cond[256];
    snprintf(cond, sizeof(cond), "%s == %s", a_text, b_text);
    return tl_check_impl(tl_str_eq(a, b), line, cond, file, "%s = \"%s\", %s = \"%s\"", a_text,
                         a ? a : "(null)", b_text, b ? b : "(null)");
}

bool tl_check_cmp(long long a, const char *op, long long b, unsigned line, const char *text,
                  const char *file)
{
    bool ok = strcmp(op, "==") == 0   ? a == b
              : strcmp(op, "!=") == 0 ? a != b
              : strcmp(op, "<") == 0  ? a < b
              : strcmp(op, "<=") == 0 ? a <= b
              : strcmp(op, ">") == 0  ? a > b
              : strcmp(op, ">=") == 0 ? a >= b
                                      : false;
    return tl_check_impl(ok, line, text, file, "left = %lld, right = %lld", a, b);
}
