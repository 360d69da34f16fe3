/* sim_auth — private-app and OAuth tokens (see sim_auth.h). */
#include "sim_auth.h"

#include <stdio.h>
#include <string.h>

#include "sim_rand.h"

static void copy_str(char *dst, const char *src)
{
    snprintf(dst, SIM_TOKEN_MAX, "%s", src ? src : "");
}

void sim_auth_init(sim_auth *a, sim_auth_mode mode, const char *private_token,
                   const char *refresh_token, const char *client_id, const char *client_secret,
                   int64_t ttl_s, uint64_t seed)
{
    memset(a, 0, sizeof(*a));
    pthread_mutex_init(&a->au_lock, NULL);
    a->au_mode = mode;
    copy_str(a->au_private_token, private_token);
    copy_str(a->au_refresh_token, refresh_token);
    copy_str(a->au_client_id, client_id);
    copy_str(a->au_client_secret, client_secret);
    a->au_ttl_s = ttl_s;
    a->au_seed = seed;
}

void sim_auth_destroy(sim_auth *a)
{
    pthread_mutex_destroy(&a->au_lock);
}

void sim_auth_set_ttl(sim_auth *a, int64_t ttl_s)
{
    pthread_mutex_lock(&a->au_lock);
    a->au_ttl_s = ttl_s;
    pthread_mutex_unlock(&a->au_lock);
}

sim_auth_result sim_auth_check(sim_auth *a, const char *authorization, int64_t now_ms,
                               int64_t *expired_ms)
{
    static const char prefix[] = "Bearer ";
    if (!authorization || strncmp(authorization, prefix, sizeof(prefix) - 1) != 0)
        return SIM_AUTH_INVALID;
    const char *token = authorization + sizeof(prefix) - 1;
    if (a->au_mode == SIM_AUTH_PRIVATE)
        return strcmp(token, a->au_private_token) == 0 ? SIM_AUTH_OK : SIM_AUTH_INVALID;
    sim_auth_result r = SIM_AUTH_INVALID;
    pthread_mutex_lock(&a->au_lock);
    for (int i = 0; i < SIM_AUTH_TOKENS; i++) {
        const sim_issued_token *t = &a->au_tokens[i];
        if (t->it_token[0] && strcmp(t->it_token, token) == 0) {
            if (now_ms < t->it_expires_ms) {
                r = SIM_AUTH_OK;
            } else {
                r = SIM_AUTH_EXPIRED;
                *expired_ms = t->it_expires_ms;
            }
            break;
        }
    }
    pthread_mutex_unlock(&a->au_lock);
    return r;
}

int sim_auth_issue(sim_auth *a, const char *refresh_token, const char *client_id,
                   const char *client_secret, int64_t now_ms, char *out, int64_t *expires_in_s)
{
    if (a->au_mode != SIM_AUTH_OAUTH || !refresh_token || !client_id || !client_secret ||
        strcmp(refresh_token, a->au_refresh_token) != 0 ||
        strcmp(client_id, a->au_client_id) != 0 || strcmp(client_secret, a->au_client_secret) != 0)
        return -1;
    pthread_mutex_lock(&a->au_lock);
    uint64_t n = a->au_issued++;
    uint64_t x = a->au_seed ^ (n * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)now_ms;
    /* Shaped like HubSpot's (a long opaque string); unique per issue. */
    snprintf(out, SIM_TOKEN_MAX, "CN%016llx%016llxSIM%llu", (unsigned long long)sim_splitmix64(&x),
             (unsigned long long)sim_splitmix64(&x), (unsigned long long)n);
    sim_issued_token *t = &a->au_tokens[n % SIM_AUTH_TOKENS];
    copy_str(t->it_token, out);
    t->it_expires_ms = now_ms + a->au_ttl_s * 1000;
    *expires_in_s = a->au_ttl_s;
    pthread_mutex_unlock(&a->au_lock);
    return 0;
}
