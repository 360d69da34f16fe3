/*
 * sim_auth — the simulator's authentication: one private-app token, or OAuth
 * access tokens issued for a refresh token that expire after a TTL.
 *
 * Thread-safe (an internal mutex): the HTTP threads check tokens while the
 * token endpoint issues new ones.
 */
#ifndef HUBSYNC_SIM_AUTH_H
#define HUBSYNC_SIM_AUTH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum { SIM_AUTH_TOKENS = 256, SIM_TOKEN_MAX = 96 };

typedef enum sim_auth_mode { SIM_AUTH_PRIVATE, SIM_AUTH_OAUTH } sim_auth_mode;

typedef enum sim_auth_result {
    SIM_AUTH_OK,
    SIM_AUTH_INVALID, /* missing, malformed or unknown token */
    SIM_AUTH_EXPIRED  /* an OAuth token we issued whose TTL has passed */
} sim_auth_result;

typedef struct sim_issued_token {
    char it_token[SIM_TOKEN_MAX];
    int64_t it_expires_ms;
} sim_issued_token;

typedef struct sim_auth {
    pthread_mutex_t au_lock;
    sim_auth_mode au_mode;
    char au_private_token[SIM_TOKEN_MAX];
    char au_refresh_token[SIM_TOKEN_MAX];
    char au_client_id[SIM_TOKEN_MAX];
    char au_client_secret[SIM_TOKEN_MAX];
    int64_t au_ttl_s;
    uint64_t au_issued; /* tokens issued so far */
    uint64_t au_seed;
    sim_issued_token au_tokens[SIM_AUTH_TOKENS]; /* ring of the latest issued */
} sim_auth;

/* Initialises with the mode and credentials (copied). */
void sim_auth_init(sim_auth *a, sim_auth_mode mode, const char *private_token,
                   const char *refresh_token, const char *client_id, const char *client_secret,
                   int64_t ttl_s, uint64_t seed);

void sim_auth_destroy(sim_auth *a);

/* Checks an Authorization header value ("Bearer …"; NULL when absent). On
 * SIM_AUTH_EXPIRED, *expired_ms is when it expired. */
sim_auth_result sim_auth_check(sim_auth *a, const char *authorization, int64_t now_ms,
                               int64_t *expired_ms);

/* Issues an access token for a refresh-token grant. Returns 0 with the token
 * in out (SIM_TOKEN_MAX bytes) and *expires_in_s, or -1 when OAuth is off or
 * the credentials do not match. */
int sim_auth_issue(sim_auth *a, const char *refresh_token, const char *client_id,
                   const char *client_secret, int64_t now_ms, char *out, int64_t *expires_in_s);

/* Changes the TTL of tokens issued from now on. */
void sim_auth_set_ttl(sim_auth *a, int64_t ttl_s);

#endif
