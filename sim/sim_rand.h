/*
 * sim_rand — a small, fast, seedable PRNG (splitmix64 to seed xoshiro256**).
 *
 * The portal must be a pure function of --seed, so every random choice in
 * generation draws from one of these, never from rand() or the clock.
 */
#ifndef HUBSYNC_SIM_RAND_H
#define HUBSYNC_SIM_RAND_H

#include <stdint.h>

typedef struct sim_rng {
    uint64_t s[4];
} sim_rng;

static inline uint64_t sim_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seeds `r` from `seed` and a stream number, so independent streams of one
 * seed (one per table, say) do not depend on each other's draw counts. */
static inline void sim_rng_seed(sim_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = sim_splitmix64(&x);
}

static inline uint64_t sim_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* The next 64 random bits. */
static inline uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = sim_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = sim_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static inline double sim_rng_unit(sim_rng *r)
{
    return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n); n > 0. (Multiply-shift: bias below 2^-32 for our n.) */
static inline uint64_t sim_rng_below(sim_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)sim_rng_next(r) * n) >> 64);
}

/* True with probability p. */
static inline int sim_rng_chance(sim_rng *r, double p)
{
    return sim_rng_unit(r) < p;
}

#endif
