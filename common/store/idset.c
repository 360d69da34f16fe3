/*
 * idset — see idset.h.
 */
#include "idset.h"

#include <stdlib.h>

#include "../base/err.h"

void idset_init(idset *s)
{
    s->is_slots = NULL;
    s->is_cap = 0;
    s->is_count = 0;
    s->is_has_zero = false;
}

/* A 64-bit mix (the finaliser of MurmurHash3): record IDs come with gaps
 * and strides that would cluster under the identity. */
static size_t slot_of(uint64_t id, size_t cap)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    id *= 0xc4ceb9fe1a85ec53ULL;
    id ^= id >> 33;
    return (size_t)id & (cap - 1);
}

static void insert_slot(uint64_t *slots, size_t cap, uint64_t id)
{
    size_t i = slot_of(id, cap);
    while (slots[i] != 0)
        i = (i + 1) & (cap - 1);
    slots[i] = id;
}

static int grow(idset *s)
{
    size_t cap = s->is_cap ? s->is_cap * 2 : 64;
    uint64_t *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return ERR_NOMEM;
    for (size_t i = 0; i < s->is_cap; i++)
        if (s->is_slots[i])
            insert_slot(slots, cap, s->is_slots[i]);
    free(s->is_slots);
    s->is_slots = slots;
    s->is_cap = cap;
    return 0;
}

int idset_add(idset *s, uint64_t id)
{
    if (id == 0) {
        bool added = !s->is_has_zero;
        s->is_has_zero = true;
        s->is_count += added;
        return added;
    }
    if (idset_has(s, id))
        return 0;
    if ((s->is_count + 1) * 2 > s->is_cap && grow(s))
        return ERR_NOMEM;
    insert_slot(s->is_slots, s->is_cap, id);
    s->is_count++;
    return 1;
}

bool idset_has(const idset *s, uint64_t id)
{
    if (id == 0)
        return s->is_has_zero;
    if (s->is_cap == 0)
        return false;
    for (size_t i = slot_of(id, s->is_cap);; i = (i + 1) & (s->is_cap - 1)) {
        if (s->is_slots[i] == id)
            return true;
        if (s->is_slots[i] == 0)
            return false;
    }
}

size_t idset_count(const idset *s)
{
    return s->is_count;
}

void idset_free(idset *s)
{
    free(s->is_slots);
    idset_init(s);
}
