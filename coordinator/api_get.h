/*
 * api_get — GET requests to HubSpot from the coordinator's own process, on
 * the HTTP engine (common/hubspot/http) with a run's limiter and token handling:
 * setup's and doctor's reads of properties and labels, and a run's
 * re-check of its rollup fields (parent_props_fetch) and of labels read
 * long ago (labels_fetch).
 */
#ifndef HUBSYNC_API_GET_H
#define HUBSYNC_API_GET_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/base/err.h"
#include "../common/hubspot/hs_codec.h"
#include "../common/hubspot/hs_paths.h"
#include "../common/ipc/shm.h"
#include "config.h"
#include "rollup.h"

/* Parses a 200 body into `out`. Returns 0, or an ERR_* with e set: the
 * request is then sent again (a body cut short where curl could not tell is
 * the usual cause), up to the engine's attempts. */
typedef int (*api_parse_fn)(const char *body, size_t len, void *out, err_info *e);

/* One GET for api_get_all: what to ask and where the answer goes. */
typedef struct api_get {
    char ag_path[HS_PATH_MAX]; /* "/crm/v3/properties/companies" (hs_paths) */
    api_parse_fn ag_parse;     /* reads a 200 body into ag_out */
    void *ag_out;
    const char *ag_scopes; /* named when HubSpot answers 403: "crm.schemas.*.read" */
    bool ag_done;          /* set by api_get_all: ag_parse accepted a 200 body */
} api_get;

/* A shared region of its own for requests outside a run (setup, doctor):
 * one slot, the run's limits (--rate, --daily) and its private token.
 * Returns 0 and *out (shm_destroy it), or prints the error and returns the
 * exit code (2: a token too long; 1 otherwise). */
int api_region_create(const hubsync_config *c, shm_region **out);

/* Sends the GET requests gets[0..n) to HubSpot in parallel, through the HTTP
 * engine in this process (at most c_inflight at once, under c's --rate,
 * --daily and --ca-file, with the private token or an OAuth refresh), and
 * parses each 200 with its ag_parse. An interactive command's patience: a
 * failed transfer is retried with backoff, 6 attempts and 30 s at most.
 * *api_calls grows by the requests sent (retries and token refreshes
 * included), failures included. n == 0 sends nothing.
 * Returns 0 when every request is done; otherwise prints the worst failure
 * (an untrusted certificate, refused credentials, the daily limit, then any
 * other: an HTTP error, a body that never parsed, HubSpot unreachable),
 * scrubbed of secrets, and returns its exit code (2, 3, 5, 1).
 * `shared`: NULL for a region (limiter, token) of its own, or a region from
 * api_region_create (what its answers taught stays: doctor reads the clock
 * skew from it), or a run's region, whose last slot is the coordinator's
 * (no worker uses it), so the requests are paced with the run's and use
 * its token. */
int api_get_all(const hubsync_config *c, shm_region *shared, api_get *gets, size_t n,
                unsigned long long *api_calls);

/* Fetches the properties of every type marked in pp_wanted and not fetched
 * yet (when none is marked: the parent of every table of c), in parallel
 * through the HTTP engine (api_get_all; `shared` as there).
 * Prints the error and returns its exit code (2 TLS, 3 auth, 5 daily, 1
 * otherwise), or 0. */
int parent_props_fetch(const hubsync_config *c, parent_props *pp, shm_region *shared);

/* Reads the association labels of tables[0..n) (GET …/{a}/{b}/labels, one
 * each, in parallel; api_get_all, `shared` as there) into out[i] (each
 * initialised by the caller); done[i] says which arrived. *api_calls grows
 * by the requests sent. Returns 0 or the exit code api_get_all gives. */
int labels_fetch(const hubsync_config *c, shm_region *shared, const hs_table *tables, size_t n,
                 hs_assoc_labels *out, bool *done, unsigned long long *api_calls);

#endif
