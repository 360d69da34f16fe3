/*
 * idset — a set of 64-bit record IDs (open addressing, linear probing).
 *
 * The incremental route takes each changed parent once per run, however
 * many search slices report it; this is how it remembers which it took.
 * Memory is about 16 bytes per ID at most (the table doubles at half full).
 */
#ifndef HUBSYNC_IDSET_H
#define HUBSYNC_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct idset {
    uint64_t *is_slots; /* 0 marks an empty slot; ID 0 is kept in is_has_zero */
    size_t is_cap;      /* a power of two, or 0 before the first add */
    size_t is_count;
    bool is_has_zero;
} idset;

/* An empty set (no allocation until the first add). */
void idset_init(idset *s);

/* Adds id. Returns 1 when it was new, 0 when already present, ERR_NOMEM. */
int idset_add(idset *s, uint64_t id);

/* Whether id is in the set. */
bool idset_has(const idset *s, uint64_t id);

/* IDs in the set. */
size_t idset_count(const idset *s);

/* Frees the table; the set is empty (and usable) again. */
void idset_free(idset *s);

#endif
