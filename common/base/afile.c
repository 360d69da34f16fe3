/*
 * afile — a file replaced atomically (see afile.h).
 */
#include "afile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int afile_open(afile *f, const char *path, mode_t mode, err_info *e)
{
    f->af_fd = -1;
    if (snprintf(f->af_path, sizeof(f->af_path), "%s", path) >= (int)sizeof(f->af_path))
        return err_set(e, ERR_INVALID, "%.200s…: the path is too long", path);
    snprintf(f->af_tmp, sizeof(f->af_tmp), "%s.tmp.XXXXXX", path);
    f->af_fd = mkostemp(f->af_tmp, O_CLOEXEC);
    if (f->af_fd < 0)
        return err_set(e, ERR_SYS, "create %.300s: %s", f->af_tmp, strerror(errno));
    /* mkostemp makes it 0600; the target's readers may be other users. */
    if (fchmod(f->af_fd, mode) != 0) {
        int err = errno;
        afile_abort(f);
        return err_set(e, ERR_SYS, "chmod %.300s: %s", f->af_tmp, strerror(err));
    }
    return 0;
}

int afile_write(afile *f, const void *data, size_t len, err_info *e)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(f->af_fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return err_set(e, ERR_SYS, "write %.300s: %s", f->af_tmp,
                           strerror(w < 0 ? errno : EIO));
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* fsync on the folder holding `path`, so a rename in it is on disk. */
static int sync_folder(const char *path)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof(copy), "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int err = fsync(fd) != 0 ? errno : 0;
    close(fd);
    /* Some filesystems cannot sync a folder: the rename stands anyway. */
    return err == EINVAL || err == EROFS ? 0 : err;
}

int afile_commit(afile *f, err_info *e)
{
    int err = fsync(f->af_fd) != 0 ? errno : 0;
    if (close(f->af_fd) != 0 && !err)
        err = errno;
    f->af_fd = -1;
    if (!err && rename(f->af_tmp, f->af_path) != 0)
        err = errno;
    if (err) {
        unlink(f->af_tmp);
        return err_set(e, ERR_SYS, "%.300s: %s", f->af_path, strerror(err));
    }
    if ((err = sync_folder(f->af_path)) != 0)
        return err_set(e, ERR_SYS, "%.300s: sync its folder: %s", f->af_path, strerror(err));
    return 0;
}

void afile_abort(afile *f)
{
    if (f->af_fd < 0)
        return;
    close(f->af_fd);
    unlink(f->af_tmp);
    f->af_fd = -1;
}
