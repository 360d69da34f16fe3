/*
 * conffile — `hubsync --config FILE` (and HUBSYNC_CONFIG): a file of
 * KEY=VALUE lines, KEY the environment variable a flag reads
 * (HUBSYNC_WORKERS=4) or a credential's (HUBSPOT_ACCESS_TOKEN), so the same
 * file serves as a systemd EnvironmentFile. Blank lines and lines starting
 * with '#' or ';' are skipped; spaces around KEY and VALUE are dropped; a
 * VALUE in matching double or single quotes loses them (no escapes, no
 * variables). Checked as strictly as flags: an unknown key (the nearest
 * known one suggested), a key given twice, a line without '=', an empty
 * value, a NUL byte are each refused with the file and line named. A file
 * that holds a credential must be readable by its owner alone.
 *
 * The values themselves are checked by config.c, as the flag's would be,
 * when the command reads them; a message never repeats a line's text, which
 * may be a secret.
 */
#ifndef HUBSYNC_CONFFILE_H
#define HUBSYNC_CONFFILE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "../common/base/err.h"

enum {
    CONF_MAX_BYTES = 65536, /* a bigger file is not a settings file */
    CONF_MAX_ENTRIES = 64,  /* more than there are keys: duplicates are refused */
    CONF_KEY_MAX = 48,
    CONF_SRC_MAX = 320
};

/* One KEY=VALUE line. */
typedef struct conf_entry {
    char ce_key[CONF_KEY_MAX];
    const char *ce_value;      /* into cf_text, NUL-terminated, never empty */
    int ce_line;               /* 1-based */
    char ce_src[CONF_SRC_MAX]; /* what messages call it: "FILE:LINE: KEY" */
} conf_entry;

typedef struct conf_file {
    char cf_path[PATH_MAX]; /* as given ("" when none was loaded) */
    char cf_text[CONF_MAX_BYTES + 1];
    conf_entry cf_entries[CONF_MAX_ENTRIES];
    size_t cf_count;
    int cf_secret_line; /* the first line holding a credential, or 0 */
} conf_file;

/* Parses `len` bytes of `text` (a file named `path` in messages) into cf.
 * Returns 0, or ERR_INVALID with a message naming path and line. */
int conf_parse(conf_file *cf, const char *path, const char *text, size_t len, err_info *e);

/* Reads and parses the file at `path`; `src` names where the path came from
 * ("--config", "HUBSYNC_CONFIG") in messages about the file itself. Refuses
 * what is not a regular file, a file over CONF_MAX_BYTES, and a file holding
 * a credential that its group or others may read (mode must be 0600 or
 * 0400, as a token file's). Returns 0 or ERR_INVALID. */
int conf_load(conf_file *cf, const char *src, const char *path, err_info *e);

/* The entry for `key`, or NULL. */
const conf_entry *conf_find(const conf_file *cf, const char *key);

/* Zeroes cf's text (secrets included) and entries. */
void conf_wipe(conf_file *cf);

#endif
