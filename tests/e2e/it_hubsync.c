/*
 * it_hubsync — driving bin/hubsync from the integration tests: see
 * it_hubsync.h.
 */
#include "it_hubsync.h"

#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/base/hs_types.h"

static bool it_oauth; /* see it_hubsync_use_oauth */

bool it_quick(void)
{
    const char *v = getenv("IT_QUICK");
    return v && *v && strcmp(v, "0") != 0;
}

void it_hubsync_use_oauth(bool on)
{
    it_oauth = on;
}

static const char *it_hubsync_path(void)
{
    const char *p = getenv("HUBSYNC");
    return p && *p ? p : "bin/hubsync";
}

/* Fills argv (room for 40) with `hubsync --db DB --base-url SIM ARGS…`
 * and puts the simulator's token in the environment. */
static void it_hubsync_argv(tl_sim *s, const char *db, const char *const *args, const char **argv)
{
    int n = 0;
    argv[n++] = it_hubsync_path();
    argv[n++] = "--db";
    argv[n++] = db;
    argv[n++] = "--base-url";
    argv[n++] = s->s_base_url;
    for (int i = 0; args[i] && n < 38; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (it_oauth) {
        unsetenv("HUBSPOT_ACCESS_TOKEN");
        setenv("HUBSPOT_REFRESH_TOKEN", IT_REFRESH_TOKEN, 1);
        setenv("HUBSPOT_CLIENT_ID", IT_CLIENT_ID, 1);
        setenv("HUBSPOT_CLIENT_SECRET", IT_CLIENT_SECRET, 1);
    } else {
        unsetenv("HUBSPOT_REFRESH_TOKEN");
        unsetenv("HUBSPOT_CLIENT_ID");
        unsetenv("HUBSPOT_CLIENT_SECRET");
        setenv("HUBSPOT_ACCESS_TOKEN", TL_TOKEN, 1);
    }
}

int it_hubsync_full(tl_sim *s, const char *db, const char *const *args, int64_t timeout_ms,
                    char **out, char **err_out)
{
    const char *argv[40];
    it_hubsync_argv(s, db, args, argv);
    int status = 0;
    char *o = NULL, *err = NULL;
    int rc = tl_run(argv[0], argv + 1, timeout_ms, &status, &o, &err);
    if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) <= 1) && !err_out)
        fprintf(stderr, "hubsync %s: exit %d\n%s\n", args[0],
                WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status), err ? err : "");
    if (err_out)
        *err_out = err;
    else
        free(err);
    if (out)
        *out = o;
    else
        free(o);
    if (rc != 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int it_hubsync(tl_sim *s, const char *db, const char *const *args, int64_t timeout_ms, char **out)
{
    return it_hubsync_full(s, db, args, timeout_ms, out, NULL);
}

int it_run_json(tl_sim *s, const char *db, const char *const *flags, json_object **summary)
{
    const char *args[24] = {"run", "--json", "--progress", "never"};
    int n = 4;
    for (int i = 0; flags && flags[i] && n < 23; i++)
        args[n++] = flags[i];
    args[n] = NULL;
    char *out = NULL;
    int rc = it_hubsync(s, db, args, 300000, &out);
    if (summary)
        *summary = out && *out ? json_tokener_parse(out) : NULL;
    free(out);
    return rc;
}

int it_hubsync_env(const char *const *vars, const char *const *args, int64_t timeout_ms, char **out,
                   char **err)
{
    static const char *const pass[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    char passbuf[3][512];
    const char *argv[64];
    size_t n = 0;
    argv[n++] = "-i";
    for (size_t i = 0; i < 3; i++)
        if (getenv(pass[i])) {
            snprintf(passbuf[i], sizeof(passbuf[i]), "%s=%s", pass[i], getenv(pass[i]));
            argv[n++] = passbuf[i];
        }
    for (size_t i = 0; vars && vars[i] && i < 24; i++)
        argv[n++] = vars[i];
    argv[n++] = it_hubsync_path();
    for (size_t i = 0; args && args[i] && i < 34; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int status = 0;
    char *o = NULL, *e = NULL;
    int rc = tl_run("env", argv, timeout_ms, &status, &o, &e);
    if (out)
        *out = o ? o : strdup("");
    else
        free(o);
    if (err)
        *err = e ? e : strdup("");
    else
        free(e);
    return rc == 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The mirror, as sorted export lines. */
int it_export_lines(tl_sim *s, const char *db, tl_lines *out)
{
    const char *args[] = {"export", "--format", "tsv", NULL};
    char *text = NULL;
    if (it_hubsync(s, db, args, 120000, &text) != 0) {
        free(text);
        return -1;
    }
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (*line)
            tl_lines_addf(out, "%s", line);
    }
    free(text);
    tl_lines_sort(out);
    return 0;
}

/* The truth of the six default tables, sorted. */
int it_truth_lines(tl_sim *s, tl_lines *out)
{
    for (int i = 0; i < HS_DEFAULT_TABLE_COUNT; i++) {
        char name[48];
        hs_table_name(hs_default_tables[i], name, sizeof(name));
        tl_lines t = {0};
        if (tl_truth(s, name, &t) != 0)
            return -1;
        for (size_t k = 0; k < t.l_count; k++)
            tl_lines_addf(out, "%s", t.l_items[k]);
        tl_lines_free(&t);
    }
    tl_lines_sort(out);
    return 0;
}

int it_add_records(const char *text, tl_lines *out)
{
    /* One pass (no strstr per record: the sanitizers' strstr measures the
     * whole rest of the text each call, which is quadratic). */
    const char *start = text;
    for (const char *p = text;; p++) {
        bool crlf = p[0] == '\r' && p[1] == '\n';
        if (!crlf && *p)
            continue;
        if ((p > start || crlf) && tl_lines_addf(out, "%.*s", (int)(p - start), start) != 0)
            return -1;
        if (!*p)
            return 0;
        start = ++p + 1;
    }
}

int it_truth_csv(tl_sim *s, tl_lines *out)
{
    for (int i = 0; i < HS_DEFAULT_TABLE_COUNT; i++) {
        char name[48];
        hs_table_name(hs_default_tables[i], name, sizeof(name));
        tl_resp r = {0};
        int rc = tl_getf(s, NULL, &r, "/_sim/truth?table=%s&format=csv", name);
        if (rc != 0 || r.r_status != 200 || it_add_records(r.r_body, out) != 0) {
            tl_resp_free(&r);
            return -1;
        }
        tl_resp_free(&r);
    }
    tl_lines_sort(out);
    return 0;
}

bool it_mirror_equals_truth(tl_sim *s, const char *db)
{
    tl_lines got = {0}, want = {0};
    bool ok = it_export_lines(s, db, &got) == 0 && it_truth_lines(s, &want) == 0 &&
              tl_lines_equal(&got, &want, "hubsync export", "/_sim/truth");
    if (ok)
        fprintf(stderr, "    mirror verified: %zu associations, 0 differences\n", got.l_count);
    tl_lines_free(&got);
    tl_lines_free(&want);
    return ok;
}

/* "TABLE\tPARENT\t" of an export line (the whole line when malformed). */
static size_t parent_prefix_len(const char *line)
{
    const char *tab = strchr(line, '\t');
    const char *tab2 = tab ? strchr(tab + 1, '\t') : NULL;
    return tab2 ? (size_t)(tab2 - line) + 1 : strlen(line);
}

bool it_mirror_consistent(tl_sim *s, const char *db, size_t *lines)
{
    tl_lines got = {0}, want = {0}, parents = {0};
    bool ok = it_export_lines(s, db, &got) == 0 && it_truth_lines(s, &want) == 0;
    int shown = 0;
    for (size_t i = 0; ok && i < got.l_count; i++) {
        if (!tl_lines_contains(&want, got.l_items[i])) {
            ok = false;
            fprintf(stderr, "    in the mirror, not in the truth: %s\n", got.l_items[i]);
        }
        tl_lines_addf(&parents, "%.*s", (int)parent_prefix_len(got.l_items[i]), got.l_items[i]);
    }
    tl_lines_sort(&parents);
    for (size_t i = 0; ok && i < want.l_count; i++) {
        char prefix[128];
        snprintf(prefix, sizeof(prefix), "%.*s", (int)parent_prefix_len(want.l_items[i]),
                 want.l_items[i]);
        if (tl_lines_contains(&parents, prefix) && !tl_lines_contains(&got, want.l_items[i]) &&
            shown++ < 10)
            fprintf(stderr, "    a merged parent misses: %s\n", want.l_items[i]);
    }
    ok = ok && shown == 0;
    if (ok)
        fprintf(stderr,
                "    mirror consistent: %zu associations, every one in the truth, every "
                "stored parent complete\n",
                got.l_count);
    if (lines)
        *lines = got.l_count;
    tl_lines_free(&got);
    tl_lines_free(&want);
    tl_lines_free(&parents);
    return ok;
}

int it_read_state(const char *db, const char *name, store_state *st)
{
    store *sto = NULL;
    store_txn *t = NULL;
    err_info e = {0};
    store_options o = {0};
    o.so_readonly = true;
    int rc = store_open(db, &o, &sto, &e);
    if (!rc)
        rc = store_txn_begin(sto, STORE_TXN_READ, &t, &e);
    if (!rc)
        rc = store_get_state(t, name, st, &e);
    if (t)
        store_txn_abort(t);
    store_close(sto);
    if (rc)
        fprintf(stderr, "    %s: %s\n", name, e.ei_msg);
    return rc ? -1 : 0;
}

int it_sim_post(tl_sim *s, const char *path, const char *body)
{
    tl_resp r = {0};
    int rc = tl_post_json(s, path, NULL, body, &r) == 0 && r.r_status == 200 ? 0 : -1;
    if (rc)
        tl_resp_dump(path, &r);
    tl_resp_free(&r);
    return rc;
}

void it_make_db(char *db, size_t n)
{
    snprintf(db, n, "/tmp/hubsync-it-XXXXXX");
    if (!mkdtemp(db))
        db[0] = '\0';
}

void it_remove_db(const char *db)
{
    if (!db[0])
        return;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", db);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", db);
}

/* Association batch reads the simulator has answered, all six tables. */
int64_t it_assoc_calls(tl_sim *s)
{
    json_object *st = tl_stats(s), *reqs = tl_jget(st, "requests");
    int64_t n = 0;
    for (int i = 0; i < HS_DEFAULT_TABLE_COUNT; i++) {
        char key[160];
        hs_table t = hs_default_tables[i];
        json_object *v = NULL;
        snprintf(key, sizeof(key), "POST /crm/v4/associations/%s/%s/batch/read",
                 hs_object(t.t_parent)->oi_plural, hs_object(t.t_child)->oi_plural);
        if (json_object_object_get_ex(reqs, key, &v))
            n += json_object_get_int64(v);
    }
    json_object_put(st);
    return n;
}

/* Starts `hubsync --db DB --base-url SIM args…` in its own process group
 * without waiting; returns its pid (or -1). */
pid_t it_hubsync_start_to(tl_sim *s, const char *db, const char *const *args, const char *out_path,
                          const char *err_path)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setpgid(0, 0);
    const char *paths[2] = {out_path, err_path};
    for (int fd = 1; fd <= 2; fd++) {
        if (!paths[fd - 1])
            continue;
        int f = open(paths[fd - 1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (f < 0 || dup2(f, fd) < 0)
            _exit(126);
        close(f);
    }
    const char *argv[40];
    it_hubsync_argv(s, db, args, argv);
    execv(argv[0], (char *const *)argv);
    _exit(127);
}

pid_t it_hubsync_start(tl_sim *s, const char *db, const char *const *args)
{
    return it_hubsync_start_to(s, db, args, NULL, NULL);
}

int it_children(pid_t parent, pid_t *pids, int max)
{
    FILE *f = popen("ps -eo pid=,ppid=", "r");
    int n = 0, child, ppid;
    while (f && n < max && fscanf(f, "%d %d", &child, &ppid) == 2)
        if (ppid == parent)
            pids[n++] = child;
    if (f)
        pclose(f);
    return n;
}

bool it_process_gone(pid_t pid)
{
    char path[64], state = '?';
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    /* "PID (COMM) STATE …": COMM may hold spaces, so look after the last ')'. */
    char buf[512];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close_paren = strrchr(buf, ')');
    if (close_paren && close_paren[1] == ' ')
        state = close_paren[2];
    return state == 'Z' || state == 'X';
}

/* Waits up to timeout_ms for pid; returns its exit code, or -1 (killed). */
int it_wait_exit(pid_t pid, int64_t timeout_ms)
{
    int64_t end = tl_now_ms() + timeout_ms;
    int status;
    while (tl_now_ms() < end) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        tl_sleep_ms(20);
    }
    kill(-pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

int64_t it_requests(tl_sim *s)
{
    json_object *st = tl_stats(s), *reqs = tl_jget(st, "requests");
    int64_t n = 0;
    if (reqs && json_object_is_type(reqs, json_type_object)) {
        json_object_object_foreach(reqs, endpoint, count)
        {
            (void)endpoint;
            n += json_object_get_int64(count);
        }
    }
    json_object_put(st);
    return n;
}

/* Waits until count(s) is at least n, or timeout_ms passes; true on the
 * former. Tests that interrupt or race a run wait for its progress, not for
 * a fixed time, so a slow or fast machine cannot move the moment past the
 * run's start or end. */
static bool wait_count(tl_sim *s, int64_t (*count)(tl_sim *), int64_t n, int64_t timeout_ms)
{
    int64_t end = tl_now_ms() + timeout_ms;
    while (tl_now_ms() < end) {
        if (count(s) >= n)
            return true;
        tl_sleep_ms(25);
    }
    return false;
}

bool it_wait_assoc_calls(tl_sim *s, int64_t n, int64_t timeout_ms)
{
    return wait_count(s, it_assoc_calls, n, timeout_ms);
}

bool it_wait_requests(tl_sim *s, int64_t n, int64_t timeout_ms)
{
    return wait_count(s, it_requests, n, timeout_ms);
}

int it_edit_state(const char *db, const char *name, void (*edit)(store_state *))
{
    store *st = NULL;
    store_txn *t = NULL;
    store_state ss;
    err_info e = {0};
    int rc = store_open(db, NULL, &st, &e);
    if (!rc)
        rc = store_txn_begin(st, STORE_TXN_WRITE, &t, &e);
    if (!rc)
        rc = store_get_state(t, name, &ss, &e);
    if (!rc) {
        edit(&ss);
        rc = store_put_state(t, name, &ss, &e);
    }
    if (!rc)
        rc = store_txn_commit(t, &e);
    else if (t)
        store_txn_abort(t);
    store_close(st);
    if (rc)
        fprintf(stderr, "edit_state %s: %s\n", name, e.ei_msg);
    return rc;
}
