/* pool — forking, channels, reaping and respawning workers (see pool.h). */
#include "pool.h"
#include "../common/base/clock.h"
#include "../common/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS_NS 1000000ULL

typedef struct pool_worker {
    pid_t pw_pid; /* 0: not running */
    int pw_fd;    /* the coordinator's end of the channel, -1 when closed */
    wire_reader pw_reader;
    bool pw_fatal;
    uint64_t pw_backoff_ms;
    uint64_t pw_respawn_at_ns;
    bool pw_hung; /* killed for not beating: reaped soon */
} pool_worker;

struct pool {
    shm_region *p_shm;
    int p_n;
    worker_config p_wcfg;
    bool p_draining;
    uint64_t p_watched_ns;    /* the watchdog's last look (watch_heartbeats) */
    uint64_t p_watch_from_ns; /* beats older than this are not held against anyone */
    pool_worker p_workers[SHM_MAX_WORKERS];
};

static int spawn(pool *p, int slot, err_info *e)
{
    pool_worker *w = &p->p_workers[slot];
    int sv[2];
    /* A new process has not beaten yet: its time starts now. */
    atomic_store(&p->p_shm->sr_slots[slot].sl_heartbeat_ns, clock_mono_ns());
    atomic_store(&p->p_shm->sr_slots[slot].sl_gate_ticket, 0);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return err_set(e, ERR_SYS, "socketpair: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return err_set(e, ERR_SYS, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* The child: only its own channel end; die with the coordinator. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* Ctrl-C, and a SIGTERM sent to the whole group (a plain scancel,
         * a kill of the process group), are the coordinator's to act on: it
         * drains, and tells the workers to stop once their work is in. */
        signal(SIGTERM, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        /* Keep stdio and this worker's channel only: a respawn happens after
         * LMDB is open, and its files (and the run lock) are not the
         * worker's to hold. */
        for (int fd = 3; fd < 4096; fd++)
            if (fd != sv[1])
                close(fd);
        if (getppid() == 1)
            _exit(WORKER_EXIT_RETRY);
        _exit(worker_main(p->p_shm, slot, sv[1], &p->p_wcfg));
    }
    close(sv[1]);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    w->pw_pid = pid;
    w->pw_fd = sv[0];
    wire_reader_free(&w->pw_reader);
    wire_reader_init(&w->pw_reader, WIRE_MAX_MSG_DEFAULT);
    atomic_store(&p->p_shm->sr_slots[slot].sl_pid, pid);
    return 0;
}

int pool_start(shm_region *shm, int nworkers, const worker_config *wcfg, pool **out, err_info *e)
{
    if (nworkers < 1 || (uint32_t)nworkers > shm->sr_nworkers)
        return err_set(e, ERR_INVALID, "pool: %d workers for a region of %u", nworkers,
                       shm->sr_nworkers);
    pool *p = calloc(1, sizeof(*p));
    if (!p)
        return err_set(e, ERR_NOMEM, "pool: out of memory");
    p->p_shm = shm;
    p->p_n = nworkers;
    p->p_wcfg = *wcfg;
    for (int i = 0; i < SHM_MAX_WORKERS; i++)
        p->p_workers[i].pw_fd = -1;
    for (int i = 0; i < nworkers; i++) {
        int rc = spawn(p, i, e);
        if (rc) {
            pool_destroy(p);
            return rc;
        }
    }
    *out = p;
    return 0;
}

static void close_channel(pool_worker *w)
{
    if (w->pw_fd >= 0)
        close(w->pw_fd);
    w->pw_fd = -1;
}

/* Reads what a worker sent and delivers every complete message. */
static int drain_channel(pool *p, int slot, const pool_events *ev)
{
    pool_worker *w = &p->p_workers[slot];
    err_info e = {0};
    int delivered = 0;
    for (;;) {
        int n = wire_read(&w->pw_reader, w->pw_fd, &e);
        wire_msg msg;
        int rc;
        while ((rc = wire_next(&w->pw_reader, &msg, &e)) == 1) {
            ev->pe_message(ev->pe_ctx, slot, &msg);
            delivered++;
        }
        if (rc < 0 || n == 0 || (n < 0 && n != ERR_AGAIN)) {
            /* A broken stream or EOF: the worker is done talking. */
            close_channel(w);
            if (rc < 0 && w->pw_pid > 0)
                kill(w->pw_pid, SIGKILL); /* corrupt output: drop the worker */
            return delivered;
        }
        if (n == ERR_AGAIN)
            return delivered;
    }
}

/* Lets go of what the process of `slot` (pid) held in the shared region
 * besides its jobs: the daily gate and the token refresh, which would
 * otherwise wait out their leases (a minute or more) for a dead holder. */
static void release_shared(pool *p, int slot, pid_t pid)
{
    shm_slot *s = &p->p_shm->sr_slots[slot];
    uint64_t ticket = atomic_exchange(&s->sl_gate_ticket, 0);
    rl_daily_release(&p->p_shm->sr_daily, &ticket);
    shm_token_end_refresh(p->p_shm, pid);
}

static void reap(pool *p, const pool_events *ev)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < p->p_n; i++) {
            pool_worker *w = &p->p_workers[i];
            if (w->pw_pid != pid)
                continue;
            /* Deliver what it sent before dying, then reclaim what it held. */
            if (w->pw_fd >= 0)
                drain_channel(p, i, ev);
            close_channel(w);
            shm_slot *s = &p->p_shm->sr_slots[i];
            bool held = atomic_load(&s->sl_state) == SHM_SLOT_ACTIVE;
            bool crashed = held || WIFSIGNALED(status);
            bool fatal = WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_FATAL;
            shm_job_reclaim(p->p_shm, i, 0);
            release_shared(p, i, pid);
            w->pw_hung = false;
            atomic_store(&s->sl_state, SHM_SLOT_FREE);
            atomic_store(&s->sl_pid, 0);
            w->pw_pid = 0;
            w->pw_fatal = fatal;
            bool clean = WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_DONE;
            w->pw_backoff_ms = clean ? 0 : (w->pw_backoff_ms ? w->pw_backoff_ms * 2 : 100);
            if (w->pw_backoff_ms > 5000)
                w->pw_backoff_ms = 5000;
            w->pw_respawn_at_ns = clock_mono_ns() + w->pw_backoff_ms * MS_NS;
            if (ev->pe_death)
                ev->pe_death(ev->pe_ctx, i, status, crashed, fatal);
        }
    }
}

/* The watchdog: a worker whose heartbeat is older than POOL_STALL_MS
 * (stopped, hung in a call, spinning outside its loop) is SIGKILLed (which
 * ends a stopped process too) and its jobs, daily gate and token refresh
 * are taken back at once; reap() collects it and the respawn replaces it.
 * If the coordinator itself went unscheduled for a while (the whole group
 * stopped and continued, a starved machine), nobody's silence over that
 * gap counts: every worker gets a fresh POOL_STALL_MS from now. */
static void watch_heartbeats(pool *p)
{
    uint64_t now = clock_mono_ns();
    if (p->p_watched_ns && now - p->p_watched_ns > POOL_WATCH_GAP_MS * MS_NS)
        p->p_watch_from_ns = now;
    p->p_watched_ns = now;
    for (int i = 0; i < p->p_n; i++) {
        pool_worker *w = &p->p_workers[i];
        if (w->pw_pid <= 0 || w->pw_hung)
            continue;
        uint64_t beat = atomic_load(&p->p_shm->sr_slots[i].sl_heartbeat_ns);
        if (beat < p->p_watch_from_ns)
            beat = p->p_watch_from_ns;
        if (now <= beat || now - beat <= POOL_STALL_MS * MS_NS)
            continue;
        kill(w->pw_pid, SIGKILL);
        w->pw_hung = true;
        /* Its generation is void from now on: whatever it may still have
         * sent is ignored, and its jobs go to the others now. */
        int jobs = shm_job_reclaim(p->p_shm, i, 0);
        release_shared(p, i, w->pw_pid);
        log_warn("worker %d (pid %d) has not beaten for %llu ms: killed and replaced, %d job%s "
                 "taken back",
                 i, (int)w->pw_pid, (unsigned long long)((now - beat) / MS_NS), jobs,
                 jobs == 1 ? "" : "s");
    }
}

int pool_poll(pool *p, int timeout_ms, const pool_events *ev)
{
    struct pollfd fds[SHM_MAX_WORKERS];
    int slots[SHM_MAX_WORKERS], n = 0;
    for (int i = 0; i < p->p_n; i++) {
        if (p->p_workers[i].pw_fd < 0)
            continue;
        fds[n] = (struct pollfd){p->p_workers[i].pw_fd, POLLIN, 0};
        slots[n++] = i;
    }
    int rc = poll(fds, (nfds_t)n, timeout_ms);
    if (rc < 0 && errno != EINTR)
        return ERR_SYS;
    int delivered = 0;
    for (int k = 0; rc > 0 && k < n; k++)
        if (fds[k].revents & (POLLIN | POLLHUP | POLLERR))
            delivered += drain_channel(p, slots[k], ev);
    reap(p, ev);
    watch_heartbeats(p);
    if (!p->p_draining) {
        uint64_t now = clock_mono_ns();
        for (int i = 0; i < p->p_n; i++) {
            pool_worker *w = &p->p_workers[i];
            if (w->pw_pid == 0 && !w->pw_fatal && now >= w->pw_respawn_at_ns) {
                err_info e = {0};
                spawn(p, i, &e); /* on failure, tried again next round */
            }
        }
    }
    return delivered;
}

void pool_drain(pool *p)
{
    p->p_draining = true;
    atomic_store(&p->p_shm->sr_stop, 1);
}

void pool_wake(pool *p)
{
    for (int i = 0; i < p->p_n; i++) {
        const pool_worker *w = &p->p_workers[i];
        /* A full channel means the worker has wake-ups pending already. */
        if (w->pw_pid > 0 && w->pw_fd >= 0)
            (void)!send(w->pw_fd, "w", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
}

int pool_alive(const pool *p)
{
    int n = 0;
    for (int i = 0; i < p->p_n; i++)
        n += p->p_workers[i].pw_pid > 0;
    return n;
}

/* Whether every worker has exited within grace_ms of being told to stop. */
static bool wait_exits(pool *p, uint64_t grace_ms)
{
    uint64_t end = clock_mono_ns() + grace_ms * MS_NS;
    for (;;) {
        int alive = 0;
        for (int i = 0; i < p->p_n; i++) {
            pool_worker *w = &p->p_workers[i];
            if (w->pw_pid > 0 && waitpid(w->pw_pid, NULL, WNOHANG) == w->pw_pid)
                w->pw_pid = 0;
            alive += w->pw_pid > 0;
        }
        if (alive == 0 || clock_mono_ns() >= end)
            return alive == 0;
        struct timespec ts = {0, 5 * (long)MS_NS};
        nanosleep(&ts, NULL);
    }
}

void pool_destroy(pool *p)
{
    if (!p)
        return;
    /* Idle workers see the stop flag within one poll (20 ms) and exit on
     * their own, freeing what they hold (valgrind checks that); a worker
     * still busy after the grace is killed, its work left to the leases. */
    pool_drain(p);
    pool_wake(p);
    wait_exits(p, POOL_EXIT_GRACE_MS);
    for (int i = 0; i < p->p_n; i++) {
        pool_worker *w = &p->p_workers[i];
        if (w->pw_pid > 0) {
            kill(w->pw_pid, SIGKILL);
            waitpid(w->pw_pid, NULL, 0);
        }
        close_channel(w);
        wire_reader_free(&w->pw_reader);
    }
    free(p);
}
