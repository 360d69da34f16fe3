/*
 * testlib — what the integration tests and the simulator benchmark share:
 * starting and stopping `hubspot-sim`, talking HTTP to it over keep-alive
 * curl handles, picking values out of JSON responses, and comparing
 * association tables as sorted §7 TSV lines.
 *
 * Process hygiene. Every simulator runs in its own process group and is
 * registered here; tl_sim_stop() kills the group and reaps it, and an atexit
 * handler plus SIGINT/SIGTERM/SIGHUP handlers kill whatever is still
 * registered, so neither a failed test nor a killed runner leaves a simulator
 * behind. The child also asks the kernel for SIGKILL when the runner dies
 * (PR_SET_PDEATHSIG), which covers a crashing runner.
 *
 * The checks the tests make are in check.h, shared with the unit tests.
 *
 * Errors: functions returning int return 0 on success and -1 on failure, with
 * the reason on stderr.
 */
#ifndef HUBSYNC_TESTLIB_H
#define HUBSYNC_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <curl/curl.h>
#include <json-c/json.h>

/* The simulator's default private-app token. */
#define TL_TOKEN "pat-na1-hubspot-sim"

/* ---- setup ------------------------------------------------------------- */

/* Initialises libcurl and installs the cleanup handlers. Call once, first. */
int tl_init(void);

/* Kills any simulator still running and releases libcurl. */
void tl_shutdown(void);

/* Monotonic clock in milliseconds. */
int64_t tl_now_ms(void);

/* Wall clock (UTC epoch) in milliseconds, as the simulator's timestamps. */
int64_t tl_wall_ms(void);

void tl_sleep_ms(int64_t ms);

/* ---- running the simulator -------------------------------------------- */

typedef struct tl_sim {
    pid_t s_pid;            /* also the process group; 0 when not running */
    int s_port;             /* from the stdout line */
    int s_port_file_port;   /* from --port-file, or 0 when none was read */
    char s_base_url[64];    /* "http://127.0.0.1:PORT" ("https://…" when serving TLS) */
    char s_ca_file[512];    /* the CA tl_request() trusts for https:// (tl_sim_start_tls) */
    int s_stdout_fd;        /* rest of the simulator's stdout */
    int s_stderr_fd;        /* an unlinked temporary file holding its stderr */
    char s_first_line[128]; /* the stdout line, without its newline */
    CURL *s_curl;           /* keep-alive handle for tl_request() */
    bool s_live;            /* holds resources; false in a zeroed or stopped tl_sim */
} tl_sim;

/* What tl_sim_stop_ex() found when the simulator went away. */
typedef struct tl_sim_exit {
    int ex_status;   /* waitpid() status */
    bool ex_killed;  /* it ignored SIGTERM and needed SIGKILL */
    bool ex_early;   /* it had exited before we asked it to */
    char *ex_stdout; /* stdout after the first line (malloc'd, NUL-terminated) */
    char *ex_stderr; /* everything it wrote on stderr (malloc'd) */
} tl_sim_exit;

/* The simulator binary: $HUBSPOT_SIM, else "bin/hubspot-sim". */
const char *tl_sim_path(void);

/* How long tl_sim_start*() wait for the "listening" line (default 60 s). */
void tl_set_start_timeout_ms(int64_t ms);

/* Starts the simulator with `--port 0 --port-file TMP --quiet`, then
 * `--rollup-bumps always` unless `extra_args` hold a --rollup-bumps of their
 * own (so an association change on a rollup table moves the parent's
 * last-modified time at once, as the tests that check an incremental mirror
 * exactly need; tests of the realistic rollup model pass
 * `--rollup-bumps realistic`), followed by `extra_args` (NULL-terminated;
 * NULL for none); waits for its stdout line and fills `s`. Initialises `s`
 * first, so a failed start leaves it safe to pass to tl_sim_stop(). */
int tl_sim_start(tl_sim *s, const char *const *extra_args);

/* tl_sim_start() (so `--rollup-bumps always` too, unless given) serving
 * HTTPS: `cert_dir` holds server.pem, server.key and ca.pem as
 * scripts/make-test-cert.sh writes them (tl_make_test_cert); the simulator
 * gets --tls-cert and --tls-key, and s->s_ca_file is ca.pem, so tl_request()
 * and every helper built on it verify the simulator's certificate against
 * that CA. */
int tl_sim_start_tls(tl_sim *s, const char *cert_dir, const char *const *extra_args);

/* Runs scripts/make-test-cert.sh DIR [SAN] (from the source tree: the
 * current directory, as `make test` runs): a CA and a server certificate
 * naming `san` (NULL: IP:127.0.0.1,DNS:localhost). Returns 0 or -1. */
int tl_make_test_cert(const char *dir, const char *san);

/* Starts the simulator with exactly `args` (NULL-terminated; the binary path is
 * prepended) and waits for its stdout line. For tests of the options
 * themselves; s_port_file_port stays 0. */
int tl_sim_start_argv(tl_sim *s, const char *const *args);

/* Sends SIGTERM to the simulator's group, waits up to 15 s (then SIGKILL),
 * reaps it and releases `s`. Returns 0 when it exited with status 0 of its own
 * accord after SIGTERM, -1 otherwise (crash, sanitizer report, hang); the
 * reason and its stderr are printed. A stopped, never-started or zeroed
 * (`tl_sim s = {0}`) `s` gives 0 and is left alone. */
int tl_sim_stop(tl_sim *s);

/* tl_sim_stop() that also hands back what the simulator printed (release
 * with tl_sim_exit_free()). `ex` may be NULL. */
int tl_sim_stop_ex(tl_sim *s, tl_sim_exit *ex);

/* tl_sim_stop_ex() with another signal than SIGTERM (SIGINT, …). */
int tl_sim_stop_signal(tl_sim *s, int sig, tl_sim_exit *ex);

void tl_sim_exit_free(tl_sim_exit *ex);

/* Kills (SIGKILL) every simulator still registered; for test teardown. */
void tl_kill_all(void);

/* Runs `bin args…` to completion (at most timeout_ms, then SIGKILL) with its
 * stdout and stderr captured (malloc'd, NUL-terminated; release with free()).
 * *status is the waitpid() status. */
int tl_run(const char *bin, const char *const *args, int64_t timeout_ms, int *status, char **out,
           char **err);

/* ---- HTTP -------------------------------------------------------------- */

typedef struct tl_header {
    char *h_name;
    char *h_value;
} tl_header;

typedef struct tl_resp {
    long r_status;   /* HTTP status, or 0 when no response arrived */
    CURLcode r_curl; /* CURLE_OK, or why the transfer failed */
    char *r_body;    /* NUL-terminated (malloc'd; "" when empty) */
    size_t r_body_len;
    tl_header *r_headers; /* of the final response */
    size_t r_nheaders;
    json_object *r_json; /* parsed lazily by tl_resp_json() */
    bool r_json_tried;
} tl_resp;

/* One request as tl_request() and tl_parallel() take it. */
typedef struct tl_req {
    const char *rq_method;       /* "GET", "POST" */
    const char *rq_path;         /* "/crm/v3/objects/contacts?limit=10" */
    const char *rq_token;        /* Bearer token, or NULL for none */
    const char *rq_content_type; /* NULL: none */
    const char *rq_body;         /* NULL: no body */
    size_t rq_body_len;
} tl_req;

/* Sends one request on the simulator's keep-alive handle. Fills *resp (which
 * the caller releases with tl_resp_free()) in every case. Returns 0 when an
 * HTTP response arrived (whatever its status), -1 on a transport error
 * (resp->r_curl says which; not printed, as fault tests expect them). */
int tl_request(tl_sim *s, const tl_req *req, tl_resp *resp);

/* GET `path`; `token` NULL sends no Authorization header. */
int tl_get(tl_sim *s, const char *path, const char *token, tl_resp *resp);

/* GET of a printf-formatted path. */
int tl_getf(tl_sim *s, const char *token, tl_resp *resp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* POST `body` (NUL-terminated) as application/json. */
int tl_post_json(tl_sim *s, const char *path, const char *token, const char *body, tl_resp *resp);

/* POST `body` as application/x-www-form-urlencoded. */
int tl_post_form(tl_sim *s, const char *path, const char *token, const char *body, tl_resp *resp);

/* Runs `n` requests over `conns` concurrent keep-alive connections (curl
 * multi, refilled as transfers finish) and fills out[0..n-1] in request
 * order. Returns 0 (transport errors are in each out[i].r_curl) or -1 when
 * curl could not be set up. */
int tl_parallel(tl_sim *s, const tl_req *reqs, size_t n, int conns, tl_resp *out);

/* Value of response header `name` (case-insensitive), or NULL. */
const char *tl_header_get(const tl_resp *r, const char *name);

/* How many response headers start with `prefix` (case-insensitive). */
size_t tl_header_count_prefix(const tl_resp *r, const char *prefix);

/* The body as JSON (owned by `r`), or NULL when it does not parse. */
json_object *tl_resp_json(tl_resp *r);

/* Releases everything in *r and zeroes it. */
void tl_resp_free(tl_resp *r);

/* Prints a one-line summary of a response (status, curl error, start of the
 * body) to stderr, prefixed by `what`: context for a failed check. */
void tl_resp_dump(const char *what, const tl_resp *r);

/* ---- JSON -------------------------------------------------------------- */

/* The value at `path` under `root`: keys separated by '.', array elements by
 * their index ("results.0.from.id"). NULL when any step is missing. */
json_object *tl_jget(json_object *root, const char *path);

/* The string at `path`, or NULL when absent or not a string. */
const char *tl_jstr(json_object *root, const char *path);

/* The integer at `path` (a JSON int, or a string of decimal digits when
 * `allow_string`): true and *out, or false. */
bool tl_jint(json_object *root, const char *path, bool allow_string, int64_t *out);

/* The integer at `path` (JSON int only), or `dflt`. */
int64_t tl_jint_or(json_object *root, const char *path, int64_t dflt);

/* Length of the array at `path`; 0 when absent or not an array. */
size_t tl_jlen(json_object *root, const char *path);

/* True when `path` exists and has type `type` (json_type_null: present and null). */
bool tl_jis(json_object *root, const char *path, json_type type);

/* Parses a decimal unsigned 64-bit number filling all of s[0..n). */
bool tl_parse_u64(const char *s, size_t n, uint64_t *out);

/* True when `s` looks like a UUID (8-4-4-4-12 hex digits). */
bool tl_is_uuid(const char *s);

/* True when `r` is HubSpot's error body with this HTTP status and category:
 * status "error", a non-empty message, a UUID correlationId. Prints what
 * differs otherwise. */
bool tl_is_hubspot_error(tl_resp *r, long http_status, const char *category);

/* ---- lines (the §7 TSV export, ID lists) -------------------------------- */

typedef struct tl_lines {
    char **l_items;
    size_t l_count, l_cap;
} tl_lines;

/* Appends a printf-formatted line (no newline). Returns 0 or -1. */
int tl_lines_addf(tl_lines *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sorts bytewise, as `LC_ALL=C sort`. */
void tl_lines_sort(tl_lines *l);

/* True when two sorted lists are equal; otherwise prints up to 10 lines that
 * differ (tagged with `a_name` / `b_name`) and the counts. */
bool tl_lines_equal(const tl_lines *a, const tl_lines *b, const char *a_name, const char *b_name);

/* True when (sorted) `l` contains `line`. */
bool tl_lines_contains(const tl_lines *l, const char *line);

void tl_lines_free(tl_lines *l);

/* Fetches GET /_sim/truth?table=T and returns its lines, sorted. */
int tl_truth(tl_sim *s, const char *table, tl_lines *out);

/* ---- simulator helpers ------------------------------------------------- */

/* GET /_sim/stats, parsed (the caller json_object_put()s it), or NULL. */
json_object *tl_stats(tl_sim *s);

/* An integer of /_sim/stats at a dotted path, or -1. */
int64_t tl_stat_int(tl_sim *s, const char *path);

/* POST /_sim/mutate with `body`; returns the parsed summary (caller puts it)
 * or NULL when the answer is not a 200 with JSON. */
json_object *tl_mutate(tl_sim *s, const char *body);

/* The type's last-modified time of object `id` of `type` ("companies") as a
 * batch read shows it (writes show there at once); -1 when it is not found
 * (a 207), or on any other failure (the answer is dumped). */
int64_t tl_modified_of(tl_sim *s, const char *type, uint64_t id);

/* The same as a search for hs_object_id = id shows it (writes show there
 * after the index lag); -1 when the search does not find it (or fails:
 * dumped). */
int64_t tl_search_modified_of(tl_sim *s, const char *type, uint64_t id);

/* One CRM object as the list endpoint shows it. */
typedef struct tl_object {
    uint64_t o_id;
    int64_t o_created_ms;  /* createdate, -1 when absent */
    int64_t o_modified_ms; /* the type's last-modified property, -1 when absent */
    bool o_archived;
} tl_object;

typedef struct tl_objects {
    tl_object *os_items;
    size_t os_count, os_cap;
} tl_objects;

/* Lists every object of `type` ("contacts") with GET /crm/v3/objects/{type}
 * (limit 100, following paging.next.after), with createdate and the type's
 * last-modified property; `archived` selects archived=true. Fails on any
 * non-200 answer, a repeated ID or paging that does not advance. */
int tl_list_all(tl_sim *s, const char *type, bool archived, tl_objects *out);

/* Appends a copy of `o`. Returns 0 or -1. */
int tl_objects_add(tl_objects *os, const tl_object *o);

/* The object with `id`, or NULL (binary search: lists come in ID order). */
const tl_object *tl_objects_find(const tl_objects *os, uint64_t id);

void tl_objects_free(tl_objects *os);

/* ---- strings ----------------------------------------------------------- */

/* NULL-safe string equality: false when either is NULL. */
bool tl_str_eq(const char *a, const char *b);

#endif
