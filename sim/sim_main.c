/*
 * hubspot-sim — entry point: parse options, generate the portal, serve it
 * until SIGINT or SIGTERM. The one stdout line is the readiness signal that
 * scripts and tests wait for; everything else goes to stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sim_config.h"
#include "sim_portal.h"
#include "sim_server.h"

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void print_summary(const sim_portal *p, double secs)
{
    uint64_t objects = 0, links = 0;
    for (int t = 0; t < HS_OBJECT_TYPE_COUNT; t++)
        objects += p->p_obj[t].o_count;
    for (int i = 0; i < p->p_ntables; i++)
        links += p->p_tables[i].tb_links;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr,
            "hubspot-sim: portal of %llu objects and %llu associations in %d tables, "
            "generated in %.2f s (peak RSS %.0f MiB)\n",
            (unsigned long long)objects, (unsigned long long)links, p->p_ntables, secs,
            (double)ru.ru_maxrss / 1024.0);
}

static int write_port_file(const char *path, unsigned port)
{
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

int main(int argc, char **argv)
{
    sim_config cfg;
    char err[256];
    sim_config_defaults(&cfg);
    int rc = sim_config_parse_args(&cfg, argc, argv, stdout, err, sizeof(err));
    if (rc == 1)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "hubspot-sim: %s\n", err);
        return 2;
    }
    /* Block the stop signals in every thread; main waits for them below. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    cfg.sc_portal.pc_now_ms =
        (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + cfg.sc_clock_offset_ms;
    sim_portal *portal;
    if (sim_portal_create(&cfg.sc_portal, &portal) != 0)
        return 1;
    if (!cfg.sc_quiet)
        print_summary(portal, seconds_since(&t0));
    sim_server *server;
    if (sim_server_start(&cfg, portal, &server, err, sizeof(err)) != 0) {
        fprintf(stderr, "hubspot-sim: %s\n", err);
        return 1;
    }
    unsigned port = sim_server_port(server);
    if (cfg.sc_port_file[0] && write_port_file(cfg.sc_port_file, port) != 0) {
        fprintf(stderr, "hubspot-sim: cannot write --port-file %s\n", cfg.sc_port_file);
        sim_server_stop(server);
        return 1;
    }
    printf("hubspot-sim listening on %s://%s:%u\n", cfg.sc_tls_cert[0] ? "https" : "http",
           cfg.sc_bind, port);
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    if (!cfg.sc_quiet)
        fprintf(stderr, "hubspot-sim: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    sim_server_stop(server);
    return 0;
}
