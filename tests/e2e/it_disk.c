/*
 * it_disk — the database on a full filesystem: a tmpfs the test mounts (the
 * suite runs as root, as CI does), too small for a first sync. hubsync must
 * stop with exit 1 and a message naming the folder and "No space left on
 * device", leave no process and no lock behind, leave a database that
 * status and export still open, consistent with its last commit, and
 * complete on a rerun once the filesystem has room. Creating a database on a
 * filesystem with 0 to a few pages free must fail the same way: no SIGBUS
 * (LMDB writes its reader table through a shared mmap), and no half-created
 * data file that later opens as damaged. Not root: the tests say why they
 * cannot run and pass; root and the mount fails: they fail.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "../lib/check.h"
#include "../lib/testlib.h"
#include "it_hubsync.h"
#include "it_suites.h"

/* The tmpfs of the running test ("" when none): the teardown unmounts it
 * whatever happened. */
static char mount_dir[64];

static void unmount_scratch(void)
{
    if (!mount_dir[0])
        return;
    if (umount2(mount_dir, MNT_DETACH) != 0)
        fprintf(stderr, "disk: umount %s: %s\n", mount_dir, strerror(errno));
    if (rmdir(mount_dir) != 0)
        fprintf(stderr, "disk: rmdir %s: %s\n", mount_dir, strerror(errno));
    mount_dir[0] = '\0';
}

static void disk_teardown(void)
{
    tl_kill_all();
    unmount_scratch();
}

/* Mounts a tmpfs of `options` ("size=1m") on a new directory. Returns 1 when
 * mounted, 0 when not root (said why: the test is skipped), -1 when the
 * mount failed as root (said why: the test fails). */
static int mount_scratch(const char *options)
{
    if (geteuid() != 0) {
        fprintf(stderr, "    disk: not root: cannot mount a tmpfs; test not run (CI runs as "
                        "root)\n");
        return 0;
    }
    snprintf(mount_dir, sizeof(mount_dir), "/tmp/hubsync-disk-XXXXXX");
    if (!mkdtemp(mount_dir)) {
        fprintf(stderr, "disk: mkdtemp: %s\n", strerror(errno));
        mount_dir[0] = '\0';
        return -1;
    }
    char opts[128];
    snprintf(opts, sizeof(opts), "%s,mode=0700", options);
    if (mount("tmpfs", mount_dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) {
        fprintf(stderr, "disk: mount -t tmpfs -o %s tmpfs %s: %s\n", opts, mount_dir,
                strerror(errno));
        rmdir(mount_dir);
        mount_dir[0] = '\0';
        return -1;
    }
    return 1;
}

static int remount_scratch(const char *options)
{
    if (mount("tmpfs", mount_dir, NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV, options) != 0) {
        fprintf(stderr, "disk: remount %s %s: %s\n", mount_dir, options, strerror(errno));
        return -1;
    }
    return 0;
}

static long long free_bytes(const char *dir)
{
    struct statvfs v;
    return statvfs(dir, &v) == 0 ? (long long)v.f_bavail * (long long)v.f_frsize : -1;
}

/* Writes a file at `path` that leaves `leave` bytes free. Returns 0 or -1. */
static int fill_leaving(const char *path, long long leave)
{
    long long n = free_bytes(mount_dir) - leave;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || n < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    static const char zeros[4096];
    while (n > 0) {
        ssize_t w = write(fd, zeros, n < (long long)sizeof(zeros) ? (size_t)n : sizeof(zeros));
        if (w <= 0)
            break;
        n -= w;
    }
    close(fd);
    return n == 0 ? 0 : -1;
}

/* Processes whose command line names `db` (the coordinator and its forked
 * workers all do). */
static int processes_naming(const char *db)
{
    int found = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char path[300], buf[4096];
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
            buf[n] = '\0';
            if (strcmp(buf + i, db) == 0) {
                found++;
                break;
            }
        }
    }
    if (d)
        closedir(d);
    return found;
}

/* Whether anyone holds the run lock on `db` (hubsync.lock, an OFD lock). */
static bool run_lock_held(const char *db)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/hubsync.lock", db);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    bool held = fcntl(fd, F_OFD_GETLK, &fl) != 0 || fl.l_type != F_UNLCK;
    close(fd);
    return held;
}

static const char *const RUN_FAST[] = {"run",           "--workers", "2",          "--rate", "0",
                                       "--search-rate", "0",         "--progress", "never",  NULL};

/* A first sync that does not fit: exit 1 naming the folder and the cause;
 * nothing left running or locked; status and export open what was
 * committed, which is correct; more room, and the rerun completes. */
static void test_full_then_room(void)
{
    tl_sim s = {0};
    char db[128];
    char *out = NULL, *err = NULL;
    json_object *js = NULL;
    /* 3 MiB: the objects (about 1 MiB) and then some associations fit
     * before the disk is full, however the list and the scan interleave
     * (with 2 MiB, a run that listed first committed none, now and then). */
    int m = mount_scratch("size=3m");
    if (m == 0)
        return;
    REQUIRE(m == 1);
    snprintf(db, sizeof(db), "%s/db", mount_dir);
    /* About 5 MiB of mirror: it does not fit. */
    const char *args[] = {"--contacts", "10000", "--companies", "2000",      "--deals", "5000",
                          "--tickets",  "1000",  "--tier",      "unlimited", NULL};
    REQUIRE(tl_sim_start(&s, args) == 0);
    const char *setup[] = {"setup", NULL};
    REQUIRE(it_hubsync(&s, db, setup, 30000, NULL) == 0);
    CHECK_EQ(it_hubsync_full(&s, db, RUN_FAST, 60000, NULL, &err), 1);
    CHECKF(err && strstr(err, "No space left on device") && strstr(err, db), "stderr: %s",
           err ? err : "");
    fprintf(stderr, "    %s: %lld bytes free after the failed run\n", mount_dir,
            free_bytes(mount_dir));
    CHECK_EQ(processes_naming(db), 0);
    CHECK(!run_lock_held(db));
    const char *status[] = {"status", "--json", NULL};
    CHECK_EQ(it_hubsync(&s, db, status, 30000, &out), 0);
    js = out ? json_tokener_parse(out) : NULL;
    CHECK_EQ(tl_jlen(js, "tables"), 6);
    size_t lines = 0;
    CHECK(it_mirror_consistent(&s, db, &lines));
    CHECK_OP(lines, >, 0);
    /* Room again: the rerun resumes and completes. */
    REQUIRE(remount_scratch("size=64m") == 0);
    CHECK_EQ(it_hubsync(&s, db, RUN_FAST, 60000, NULL), 0);
    CHECK(it_mirror_equals_truth(&s, db));
done:
    json_object_put(js);
    free(out);
    free(err);
    CHECK(tl_sim_stop(&s) == 0);
    unmount_scratch();
}

/* Creating a database with 0 to 10 pages free: exit 1 with the message (no
 * SIGBUS, which 1 page free used to give) or success; then, with the room
 * back, setup completes on the same folder (no "damaged header" from a data
 * file cut after its first page). And no inode left for the folder. */
static void test_full_at_creation(void)
{
    tl_sim s = {0};
    char db[128], filler[128];
    char *err = NULL;
    int m = mount_scratch("size=1m");
    if (m == 0)
        return;
    REQUIRE(m == 1);
    REQUIRE(tl_sim_start(&s, (const char *const[]){IT_SMALL_PORTAL, NULL}) == 0);
    const char *setup[] = {"setup", NULL};
    int failed = 0, most_failed = -1;
    /* Page by page while creation goes through its first steps (the run
     * lock, lock.mdb, the data file's meta pages), then every other one. */
    for (int pages = 0; pages <= 10; pages += pages < 4 ? 1 : 2) {
        snprintf(db, sizeof(db), "%s/db%d", mount_dir, pages);
        snprintf(filler, sizeof(filler), "%s/filler", mount_dir);
        REQUIRE(fill_leaving(filler, pages * 4096LL) == 0);
        free(err);
        err = NULL;
        int rc = it_hubsync_full(&s, db, setup, 30000, NULL, &err);
        CHECKF(rc == 0 || rc == 1, "%d pages free: exit %d: %s", pages, rc, err ? err : "");
        if (rc == 1) {
            failed++;
            most_failed = pages;
            CHECKF(strstr(err, "No space left on device") && strstr(err, db), "%d pages free: %s",
                   pages, err);
        }
        CHECK(!run_lock_held(db));
        unlink(filler);
        /* Opens (and completes) what the failure left. */
        CHECKF(it_hubsync(&s, db, setup, 30000, NULL) == 0, "%d pages free, then room", pages);
        it_remove_db(db);
    }
    fprintf(stderr, "    creation failed cleanly %d times, with up to %d pages free\n", failed,
            most_failed);
    CHECK_OP(failed, >=, 4);
    /* No inode for the folder itself. */
    unmount_scratch();
    REQUIRE(mount_scratch("size=1m,nr_inodes=1") == 1);
    snprintf(db, sizeof(db), "%s/db", mount_dir);
    free(err);
    err = NULL;
    CHECK_EQ(it_hubsync_full(&s, db, setup, 30000, NULL, &err), 1);
    CHECKF(err && strstr(err, "mkdir") && strstr(err, "No space left on device") && strstr(err, db),
           "stderr: %s", err ? err : "");
done:
    free(err);
    CHECK(tl_sim_stop(&s) == 0);
    unmount_scratch();
}

int it_register_disk(void)
{
    CU_pSuite s = CU_add_suite_with_setup_and_teardown("disk", NULL, NULL, NULL, disk_teardown);
    return it_add_test(s, "full_then_room", test_full_then_room) ||
                   it_add_test(s, "full_at_creation", test_full_at_creation)
               ? -1
               : 0;
}
