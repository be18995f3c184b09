/* arena.h: the arena's storage and services, shared by the engine's C files
 * (not by Python).  arena.c owns all of it.
 *
 * Nodes are stored as parallel arrays (structure of arrays) indexed by id.
 * A free node has op == AG_OP_FREE and links to the next free node through
 * `a`, so the free list costs no memory of its own.
 */
#ifndef AUTOGRAD_ARENA_H
#define AUTOGRAD_ARENA_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "autograd.h"

#define AG_OP_FREE 255  /* marks a node on the free list; not an op */

/* The arena's lock: a ticket lock, so threads get in in the order they
 * asked (a plain mutex let a thread looping backward take it again before a
 * waiter woke, for seconds).  A waiter sleeps on `wake`; `mutex` guards only
 * the sleeping and waking. */
typedef struct {
    atomic_uint_fast64_t next;      /* the ticket the next caller takes */
    atomic_uint_fast64_t serving;   /* the ticket that holds the lock */
    atomic_int sleepers;            /* waiters asleep (or about to be) on wake */
    pthread_mutex_t mutex;
    pthread_cond_t wake;
} ag_ticket_lock;

typedef struct {
    double *value;
    double *grad;
    double *c;          /* constant operand */
    int32_t *a;         /* first input; for a free node, the next free node */
    int32_t *b;         /* second input */
    int32_t *refs;      /* Python handles plus consuming nodes */
    int32_t *slot;      /* per node, for the sweep's sparse set (sweep.c) */
    uint64_t *stamp;    /* the epoch of the node's value: when it was computed or set */
    uint8_t *op;
    int32_t count;      /* ids below count have been handed out at least once */
    int32_t cap;        /* length of every array above */
    int32_t free_head;  /* first free node, -1 if none */
    int32_t nfree;
    uint64_t epoch;     /* bumped by each write to a leaf's value (set_value, descend) */
    int32_t shrink_below;   /* live nodes under which ag_release tries to shrink (see shrink) */
    void *scratch;      /* a block lent to one call at a time; see ag_scratch */
    size_t scratch_size;
    size_t scratch_per_node;    /* bytes per node its last user asked for */
    ag_ticket_lock lock;
} ag_arena;

extern ag_arena ag_global_arena;

void ag_lock(void);
void ag_unlock(void);
int ag_is_live(const ag_arena *ar, int32_t id);
void *ag_alloc(size_t size);
void *ag_realloc(void *p, size_t size);
void *ag_scratch(ag_arena *ar, int64_t nodes, size_t per_node);
/* stale.c */
int32_t ag_stale_input(const ag_arena *ar, int64_t n, const int32_t *id, const int32_t *a,
                       const int32_t *b);

#endif
