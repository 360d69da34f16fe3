/*
 * afile — a file replaced atomically: written beside its target under a
 * temporary name, flushed to disk, then renamed over it. A reader sees the
 * old file or the whole new one, never half; a write that fails (a full
 * disk, a kill) leaves the target as it was and no temporary behind (a
 * kill -9 can leave the temporary, named PATH.tmp.XXXXXX).
 *
 * Used by `export -o FILE` and `run --metrics-file F`.
 */
#ifndef HUBSYNC_AFILE_H
#define HUBSYNC_AFILE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

typedef struct afile {
    int af_fd;                  /* the temporary file; -1 when none is open */
    char af_path[PATH_MAX];     /* the target */
    char af_tmp[PATH_MAX + 16]; /* PATH.tmp.XXXXXX */
} afile;

/* Creates the temporary file beside `path` with mode `mode`. Errors:
 * ERR_INVALID (the path is too long), ERR_SYS (the message names the file
 * and errno). */
int afile_open(afile *f, const char *path, mode_t mode, err_info *e);

/* Appends len bytes. Errors: ERR_SYS. */
int afile_write(afile *f, const void *data, size_t len, err_info *e);

/* Flushes the temporary file to disk and renames it over the target, then
 * flushes the folder, so the new file survives a crash. On an error the
 * temporary is removed and the target untouched. Errors: ERR_SYS. */
int afile_commit(afile *f, err_info *e);

/* Removes the temporary file, leaving the target as it was (no-op when
 * nothing is open, e.g. after afile_commit). */
void afile_abort(afile *f);

#endif
