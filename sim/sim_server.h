/*
 * sim_server — the HTTP face of hubspot-sim (libmicrohttpd, one thread per
 * connection so latency and slow faults only ever delay their own
 * connection). Around sim_api it adds what HubSpot's edge does: auth, the
 * rate-limit policies and their headers, injected faults and latency, plus
 * the /_sim admin endpoints and background churn.
 */
#ifndef HUBSYNC_SIM_SERVER_H
#define HUBSYNC_SIM_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "sim_config.h"
#include "sim_portal.h"

typedef struct sim_server sim_server;

/* Starts serving `portal` (ownership passes to the server) with `cfg`.
 * Returns 0, or -1 with a message in err (the portal is then freed). */
int sim_server_start(const sim_config *cfg, sim_portal *portal, sim_server **out, char *err,
                     size_t errlen);

/* The port actually bound (useful with --port 0). */
uint16_t sim_server_port(const sim_server *s);

/* Stops accepting, waits for connection threads and churn, frees everything. */
void sim_server_stop(sim_server *s);

#endif
