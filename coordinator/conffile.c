/*
 * conffile — the KEY=VALUE file of --config (see conffile.h). Parsing works
 * on a copy of the file in cf_text: each value is cut out of it in place, so
 * an entry points into the copy and nothing is allocated.
 */
#include "conffile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* The known key nearest `key` (cli_near), as "did you mean K? " into buf. */
static const char *nearest_key(const char *key, char *buf, size_t size)
{
    buf[0] = '\0';
    for (int i = 0; i < F_COUNT && !buf[0]; i++) {
        const char *k = cli_flags[i].fd_env;
        if (k && cli_config_key(k) && cli_near(key, k))
            snprintf(buf, size, "did you mean %s? ", k);
    }
    for (size_t i = 0; i < cli_credential_count && !buf[0]; i++)
        if (cli_near(key, cli_credential_vars[i]))
            snprintf(buf, size, "did you mean %s? ", cli_credential_vars[i]);
    return buf;
}

/* Whether s (n bytes) is a variable name: a letter or '_', then letters,
 * digits and '_'. */
static bool is_name(const char *s, size_t n)
{
    if (n == 0 || n >= CONF_KEY_MAX || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

/* [*lo, *hi) without the spaces (and a CR) at either end. */
static void trim(char **lo, char **hi)
{
    while (*lo < *hi && isspace((unsigned char)**lo))
        (*lo)++;
    while (*hi > *lo && isspace((unsigned char)(*hi)[-1]))
        (*hi)--;
}

/* One KEY=VALUE line [p, end) of number `line`: its entry in cf, its value
 * cut out of cf_text. The messages name the key only when it is a known
 * one's look-alike or a name at all: never the value. */
static int parse_line(conf_file *cf, const char *path, int line, char *p, char *end, err_info *e)
{
    char *eq = memchr(p, '=', (size_t)(end - p));
    if (!eq)
        return err_set(e, ERR_INVALID,
                       "%.200s:%d: expected KEY=VALUE (a variable such as HUBSYNC_WORKERS, '=' "
                       "and its value), or a comment starting with #",
                       path, line);
    char *klo = p, *khi = eq, *vlo = eq + 1, *vhi = end;
    trim(&klo, &khi);
    trim(&vlo, &vhi);
    size_t klen = (size_t)(khi - klo);
    if (!is_name(klo, klen))
        return err_set(e, ERR_INVALID,
                       "%.200s:%d: the text before '=' is not a variable name (letters, digits "
                       "and _; no `export`, no spaces)",
                       path, line);
    char key[CONF_KEY_MAX];
    memcpy(key, klo, klen);
    key[klen] = '\0';
    if (strcmp(key, cli_flags[F_CONFIG].fd_env) == 0)
        return err_set(e, ERR_INVALID, "%.200s:%d: %s: a config file cannot name another", path,
                       line, key);
    if (!cli_config_key(key)) {
        char near[80];
        return err_set(e, ERR_INVALID,
                       "%.200s:%d: unknown key %s (%skeys are the variables `hubsync help` lists)",
                       path, line, key, nearest_key(key, near, sizeof(near)));
    }
    const conf_entry *first = conf_find(cf, key);
    if (first)
        return err_set(e, ERR_INVALID, "%.200s:%d: %s is set again (first on line %d): set it once",
                       path, line, key, first->ce_line);
    /* Matching quotes around the whole value are dropped, as a shell or
     * systemd's EnvironmentFile= would; what is inside is taken as it is. */
    if (vhi - vlo >= 2 && (*vlo == '"' || *vlo == '\'') && vhi[-1] == *vlo) {
        vlo++;
        vhi--;
    } else if (vhi > vlo && (*vlo == '"' || *vlo == '\'')) {
        return err_set(e, ERR_INVALID, "%.200s:%d: %s: the value's opening quote is not closed",
                       path, line, key);
    }
    if (vhi == vlo)
        return err_set(e, ERR_INVALID,
                       "%.200s:%d: %s has no value (remove the line to use the default)", path,
                       line, key);
    if (cf->cf_count == CONF_MAX_ENTRIES)
        return err_set(e, ERR_INVALID, "%.200s:%d: more than %d settings", path, line,
                       CONF_MAX_ENTRIES);
    *vhi = '\0';
    conf_entry *ce = &cf->cf_entries[cf->cf_count++];
    memcpy(ce->ce_key, key, klen + 1);
    ce->ce_value = vlo;
    ce->ce_line = line;
    snprintf(ce->ce_src, sizeof(ce->ce_src), "%.200s:%d: %s", path, line, key);
    if (cli_credential_var(key) && !cf->cf_secret_line)
        cf->cf_secret_line = line;
    return 0;
}

int conf_parse(conf_file *cf, const char *path, const char *text, size_t len, err_info *e)
{
    conf_wipe(cf);
    snprintf(cf->cf_path, sizeof(cf->cf_path), "%s", path);
    if (len > CONF_MAX_BYTES)
        return err_set(e, ERR_INVALID, "%.200s is larger than %d bytes", path, CONF_MAX_BYTES);
    if (memchr(text, '\0', len))
        return err_set(e, ERR_INVALID, "%.200s holds a NUL byte: not a text file", path);
    memcpy(cf->cf_text, text, len);
    cf->cf_text[len] = '\0';
    char *p = cf->cf_text, *stop = cf->cf_text + len;
    for (int line = 1; p < stop; line++) {
        char *end = memchr(p, '\n', (size_t)(stop - p));
        if (!end)
            end = stop;
        char *lo = p, *hi = end;
        trim(&lo, &hi);
        if (lo < hi && *lo != '#' && *lo != ';') {
            int rc = parse_line(cf, path, line, lo, hi, e);
            if (rc)
                return rc;
        }
        p = end + 1;
    }
    return 0;
}

/* Reads the whole of fd (at most CONF_MAX_BYTES + 1 bytes) into buf. */
static int read_all(int fd, char *buf, size_t size, size_t *len)
{
    *len = 0;
    while (*len < size) {
        ssize_t n = read(fd, buf + *len, size - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        *len += (size_t)n;
    }
    return 0;
}

int conf_load(conf_file *cf, const char *src, const char *path, err_info *e)
{
    static char buf[CONF_MAX_BYTES + 1]; /* large: not on the stack */
    int rc = 0;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_set(e, ERR_INVALID, "%s %.200s: %s", src, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0)
        rc = err_set(e, ERR_INVALID, "%s %.200s: fstat: %s", src, path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = err_set(e, ERR_INVALID, "%s %.200s is not a regular file", src, path);
    else if (read_all(fd, buf, sizeof(buf), &len) != 0)
        rc = err_set(e, ERR_INVALID, "%s %.200s: read: %s", src, path, strerror(errno));
    else
        rc = conf_parse(cf, path, buf, len, e);
    /* A credential in a file others may read is as good as published: the
     * rule of --token-file (0600, or 0400), checked after parsing because
     * only then is it known that the file holds one. */
    if (rc == 0 && cf->cf_secret_line && ((st.st_mode & 07077) != 0 || !(st.st_mode & 0400)))
        rc = err_set(e, ERR_INVALID,
                     "%.200s:%d: a credential in a file of mode %04o; a config file holding "
                     "credentials must be readable by its owner alone, 0600 or 0400 (chmod 600 "
                     "%.200s)",
                     path, cf->cf_secret_line, (unsigned)(st.st_mode & 07777), path);
    volatile char *v = (volatile char *)buf;
    for (size_t i = 0; i < len; i++)
        v[i] = 0;
    close(fd);
    if (rc)
        conf_wipe(cf);
    return rc;
}

const conf_entry *conf_find(const conf_file *cf, const char *key)
{
    for (size_t i = 0; i < cf->cf_count; i++)
        if (strcmp(cf->cf_entries[i].ce_key, key) == 0)
            return &cf->cf_entries[i];
    return NULL;
}

void conf_wipe(conf_file *cf)
{
    volatile char *v = (volatile char *)cf->cf_text;
    for (size_t i = 0; i < sizeof(cf->cf_text); i++)
        v[i] = 0;
    memset(cf->cf_entries, 0, sizeof(cf->cf_entries));
    cf->cf_count = 0;
    cf->cf_secret_line = 0;
    cf->cf_path[0] = '\0';
}
