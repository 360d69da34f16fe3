/*
 * unit_util — shared helpers of the unit suites (see unit_util.h).
 *
 * The portal consistency check is written from the header's description of
 * the data model, not from the implementation: it is the oracle the mutation
 * tests lean on, so it must not share the code it checks.
 */
#include "unit_util.h"

#include <ftw.h>

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../common/base/jbuf.h"
#include "../lib/check.h"

/* ---- registration -------------------------------------------------------- */

int ut_add_suite(const char *name, const ut_test *tests, size_t n)
{
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    if (!s)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!CU_add_test(s, tests[i].t_name, tests[i].t_func))
            return -1;
    return 0;
}

/* ---- sandbox ------------------------------------------------------------- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int ut_run_sandboxed(int (*fn)(void *), void *arg, int64_t timeout_ms)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        /* _exit: no atexit handlers, no leak check of the parent's state. */
        _exit(fn(arg) & 255);
    }
    setpgid(pid, pid);
    int status = 0;
    int64_t waited = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0) {
            perror("waitpid");
            return -1;
        }
        if (waited >= timeout_ms) {
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            fprintf(stderr, "\n    sandboxed test timed out after %" PRId64 " ms\n", timeout_ms);
            return -1;
        }
        sleep_ms(5);
        waited += 5;
    }
    kill(-pid, SIGKILL); /* anything the child left behind in its group */
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- simulator portals ---------------------------------------------------- */

void ut_portal_config_small(sim_portal_config *c, uint64_t seed)
{
    sim_portal_config_defaults(c);
    c->pc_seed = seed;
    c->pc_count[HS_CONTACTS] = 3000;
    c->pc_count[HS_COMPANIES] = 600;
    c->pc_count[HS_DEALS] = 1500;
    c->pc_count[HS_TICKETS] = 400;
    c->pc_heavy_parents = 2;
    c->pc_heavy_links = 300;
    c->pc_nrollups = 0;
    c->pc_now_ms = UT_NOW_MS;
}

void ut_portal_add_rollup(sim_portal_config *c, const char *name, bool labels)
{
    hs_table t;
    if (CHECK(hs_table_parse(name, strlen(name), &t) == 0 && c->pc_nrollups < SIM_MAX_TABLES))
        c->pc_rollups[c->pc_nrollups++] = (sim_rollup_def){t, labels};
}

sim_portal *ut_portal_new(const sim_portal_config *c)
{
    sim_portal *p = NULL;
    int rc = sim_portal_create(c, &p);
    if (!CHECK(rc == 0 && p != NULL))
        return NULL;
    return p;
}

typedef struct violations {
    unsigned v_count;
} violations;

static void violation(violations *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void violation(violations *v, const char *fmt, ...)
{
    if (v->v_count++ < 5) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "\n    portal invariant violated: ");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
}

const sim_link *ut_find_link(const sim_adj *a, uint32_t other)
{
    /* A linear scan on purpose: it must not rely on the sort order it checks. */
    for (uint32_t i = 0; i < a->a_len; i++)
        if (a->a_links[i].l_other == other)
            return &a->a_links[i];
    return NULL;
}

/* Checks one direction of table t (the child→parent lists when `reverse`).
 * Returns the number of links seen. */
static uint64_t check_direction(const sim_portal *p, const sim_table *t, bool reverse,
                                violations *v)
{
    hs_object_type mine = reverse ? t->tb_pair.t_child : t->tb_pair.t_parent;
    hs_object_type theirs = reverse ? t->tb_pair.t_parent : t->tb_pair.t_child;
    const sim_objects *mo = &p->p_obj[mine], *to = &p->p_obj[theirs];
    const sim_adj *lists = reverse ? t->tb_rev : t->tb_fwd;
    const sim_adj *other_lists = reverse ? t->tb_fwd : t->tb_rev;
    const char *dir = reverse ? "rev" : "fwd";
    uint16_t label_mask = (uint16_t)((1u << t->tb_nlabels) - 1);
    bool has_primary = (reverse ? t->tb_primary_rev : t->tb_primary_fwd) != 0;
    uint64_t seen = 0;
    if (!lists) {
        if (mo->o_count)
            violation(v, "%s: %s lists missing", t->tb_name, dir);
        return 0;
    }
    for (uint32_t i = 0; i < mo->o_count; i++) {
        const sim_adj *a = &lists[i];
        uint32_t primaries = 0;
        if (a->a_len && mo->o_archived[i])
            violation(v, "%s %s: archived object %" PRIu64 " has %u links", t->tb_name, dir,
                      mo->o_id[i], a->a_len);
        for (uint32_t j = 0; j < a->a_len; j++) {
            const sim_link *l = &a->a_links[j];
            seen++;
            if (j > 0 && a->a_links[j - 1].l_other >= l->l_other)
                violation(v, "%s %s: list of %" PRIu64 " not strictly increasing at %u", t->tb_name,
                          dir, mo->o_id[i], j);
            if (l->l_other >= to->o_count) {
                violation(v, "%s %s: l_other %u out of range", t->tb_name, dir, l->l_other);
                continue;
            }
            if (to->o_archived[l->l_other])
                violation(v, "%s %s: %" PRIu64 " links to archived %" PRIu64, t->tb_name, dir,
                          mo->o_id[i], to->o_id[l->l_other]);
            if (l->l_labels & ~label_mask)
                violation(v, "%s %s: labels %#x beyond %d labels", t->tb_name, dir, l->l_labels,
                          t->tb_nlabels);
            if (l->l_primary > 1 || (l->l_primary && !has_primary))
                violation(v, "%s %s: primary %u on a pair without primary", t->tb_name, dir,
                          l->l_primary);
            if (l->l_reserved)
                violation(v, "%s %s: l_reserved %u", t->tb_name, dir, l->l_reserved);
            primaries += l->l_primary != 0;
            const sim_link *back = ut_find_link(&other_lists[l->l_other], i);
            if (!back)
                violation(v, "%s %s: %" PRIu64 "->%" PRIu64 " has no counterpart", t->tb_name, dir,
                          mo->o_id[i], to->o_id[l->l_other]);
            else if (back->l_labels != l->l_labels || back->l_primary != l->l_primary)
                violation(v, "%s %s: %" PRIu64 "->%" PRIu64 " labels %#x/%u vs counterpart %#x/%u",
                          t->tb_name, dir, mo->o_id[i], to->o_id[l->l_other], l->l_labels,
                          l->l_primary, back->l_labels, back->l_primary);
        }
        /* A child has at most one primary parent (its primary company). */
        if (reverse && primaries > 1)
            violation(v, "%s: child %" PRIu64 " has %u primary parents", t->tb_name, mo->o_id[i],
                      primaries);
    }
    return seen;
}

unsigned ut_portal_violations(const sim_portal *p)
{
    violations v = {0};
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++) {
        const sim_objects *o = &p->p_obj[t];
        uint32_t live = 0;
        for (uint32_t i = 0; i < o->o_count; i++) {
            live += !o->o_archived[i];
            if (o->o_id[i] <= UINT64_C(0xffffffff))
                violation(&v, "type %d: id %" PRIu64 " not above 2^32", t, o->o_id[i]);
            if (i && o->o_id[i - 1] >= o->o_id[i])
                violation(&v, "type %d: ids not increasing at %u", t, i);
        }
        if (live != o->o_live)
            violation(&v, "type %d: o_live %u but %u live objects", t, o->o_live, live);
    }
    for (int i = 0; i < p->p_ntables; i++) {
        const sim_table *t = &p->p_tables[i];
        uint64_t fwd = check_direction(p, t, false, &v);
        uint64_t rev = check_direction(p, t, true, &v);
        if (fwd != rev || fwd != t->tb_links)
            violation(&v, "%s: tb_links %" PRIu64 ", forward links %" PRIu64 ", reverse %" PRIu64,
                      t->tb_name, t->tb_links, fwd, rev);
    }
    return v.v_count;
}

int ut_table_index(sim_portal *p, const char *name)
{
    sim_table *t = sim_table_by_name(p, name, strlen(name));
    return t ? (int)(t - p->p_tables) : -1;
}

char *ut_truth(const sim_portal *p, const sim_table *t)
{
    jbuf b;
    jb_init(&b);
    jb_raw(&b, "", 0); /* an empty table still gives "" */
    sim_truth_tsv(p, t, &b);
    size_t len;
    return jb_steal(&b, &len);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits a copy of `s` into lines; returns the array (lines point into *copy). */
static char **split_lines(const char *s, size_t *n, char **copy)
{
    size_t cap = 1;
    for (const char *q = s; *q; q++)
        cap += *q == '\n';
    char **lines = malloc(cap * sizeof(*lines));
    *copy = strdup(s);
    *n = 0;
    if (!lines || !*copy) {
        free(lines);
        free(*copy);
        *copy = NULL;
        return NULL;
    }
    char *q = *copy;
    while (*q) {
        lines[(*n)++] = q;
        char *nl = strchr(q, '\n');
        if (!nl)
            break;
        *nl = '\0';
        q = nl + 1;
    }
    qsort(lines, *n, sizeof(*lines), cmp_str);
    return lines;
}

size_t ut_lines_missing(const char *a, const char *b)
{
    size_t na, nb;
    char *ca, *cb;
    char **la = split_lines(a, &na, &ca), **lb = split_lines(b, &nb, &cb);
    size_t missing = SIZE_MAX;
    if (la && lb) {
        missing = 0;
        size_t j = 0;
        for (size_t i = 0; i < na; i++) {
            while (j < nb && strcmp(lb[j], la[i]) < 0)
                j++;
            if (j < nb && strcmp(lb[j], la[i]) == 0)
                j++;
            else
                missing++;
        }
    }
    free(la);
    free(lb);
    free(ca);
    free(cb);
    return missing;
}

uint32_t ut_max_in_window(const uint64_t *t, size_t n, uint64_t window)
{
    uint32_t best = 0;
    size_t lo = 0;
    for (size_t hi = 0; hi < n; hi++) {
        while (t[lo] + window <= t[hi])
            lo++;
        if (hi - lo + 1 > best)
            best = (uint32_t)(hi - lo + 1);
    }
    return best;
}

bool ut_tmpdir_make(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "/tmp/hubsync-%s-XXXXXX", name);
    if (!mkdtemp(buf)) {
        perror("mkdtemp");
        buf[0] = '\0';
        return false;
    }
    return true;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void ut_tmpdir_remove(const char *dir)
{
    if (dir && dir[0])
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
