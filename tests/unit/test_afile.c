/*
 * test_afile — a file replaced atomically (common/base/afile.c): a commit
 * replaces the target whole with the mode asked for; an abort, or a write
 * that fails, leaves it as it was and no temporary file behind; a folder
 * that does not exist is an error naming the file.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/base/afile.h"
#include "../lib/check.h"
#include "unit_suites.h"
#include "unit_util.h"

/* The entries of dir but . and .. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *de; (de = readdir(d)) != NULL;)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

static bool file_is(const char *path, const char *want)
{
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    if (!f)
        return CHECKF(false, "open %s", path);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return CHECK_STR(buf, want);
}

static void test_commit_abort(void)
{
    char dir[64], path[96], missing[128];
    afile f;
    err_info e = {0};
    REQUIRE(ut_tmpdir_make(dir, sizeof(dir), "afile"));
    snprintf(path, sizeof(path), "%s/out.csv", dir);
    /* A new file, whole, with its mode (umask aside). */
    mode_t old = umask(022);
    REQUIRE(afile_open(&f, path, 0644, &e) == 0);
    CHECK_EQ(entries(dir), 1); /* only the temporary so far */
    CHECK(access(path, F_OK) != 0);
    REQUIRE(afile_write(&f, "one\n", 4, &e) == 0);
    REQUIRE(afile_commit(&f, &e) == 0);
    umask(old);
    CHECK(file_is(path, "one\n"));
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
    CHECK_EQ(entries(dir), 1);
    afile_abort(&f); /* after a commit: nothing to do */
    CHECK(file_is(path, "one\n"));
    /* Aborted: the old file stands, nothing else is left. */
    REQUIRE(afile_open(&f, path, 0600, &e) == 0);
    REQUIRE(afile_write(&f, "two\n", 4, &e) == 0);
    afile_abort(&f);
    CHECK(file_is(path, "one\n"));
    CHECK_EQ(entries(dir), 1);
    /* A folder that does not exist: an error that names the file. */
    snprintf(missing, sizeof(missing), "%s/no/x.csv", dir);
    CHECK_EQ(afile_open(&f, missing, 0644, &e), ERR_SYS);
    CHECKF(strstr(e.ei_msg, "no/x.csv.tmp.") != NULL, "%s", e.ei_msg);
    afile_abort(&f);
    /* A path too long for the buffer. */
    char longp[5000];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    CHECK_EQ(afile_open(&f, longp, 0644, &e), ERR_INVALID);
    afile_abort(&f);
    /* A write to a full device fails and the commit is not made. */
    if (access("/dev/full", W_OK) == 0) {
        afile full = {.af_fd = -1};
        snprintf(full.af_path, sizeof(full.af_path), "%s", path);
        snprintf(full.af_tmp, sizeof(full.af_tmp), "%s/never", dir);
        REQUIRE((full.af_fd = open("/dev/full", O_WRONLY)) >= 0);
        CHECK_EQ(afile_write(&full, "x", 1, &e), ERR_SYS);
        close(full.af_fd);
    }
done:
    ut_tmpdir_remove(dir);
}

int unit_suite_afile(void)
{
    static const ut_test tests[] = {
        {"commit replaces whole; abort and errors leave it", test_commit_abort},
    };
    return ut_add_suite("afile", tests, UT_COUNT(tests));
}
