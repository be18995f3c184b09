/* arena.h: the arena's storage, shared by the engine's C files (not by Python).
 *
 * Nodes are stored as parallel arrays (structure of arrays) indexed by id.
 * A free node has op == AG_OP_FREE and links to the next free node through
 * `a`, so the free list costs no memory of its own.
 */
#ifndef AUTOGRAD_ARENA_H
#define AUTOGRAD_ARENA_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "autograd.h"

typedef struct {
    double *value;
    double *grad;
    double *c;          /* constant operand of the *C ops */
    int32_t *a;         /* first input; for a free node, the next free node */
    int32_t *b;         /* second input */
    int32_t *refs;      /* Python handles plus consuming nodes */
    int32_t *slot;      /* backward's sparse-set index; see backward.c */
    uint8_t *op;
    int32_t count;      /* ids below count have been handed out at least once */
    int32_t cap;        /* length of every array above */
    int32_t free_head;  /* first free node, -1 if none */
    int32_t nfree;
    void *scratch;      /* backward.c's per-call arrays, kept between calls; see there */
    size_t scratch_size;
    pthread_mutex_t lock;
} ag_arena;

extern ag_arena ag_global_arena;

void ag_lock(void);
void ag_unlock(void);
int ag_is_live(const ag_arena *ar, int32_t id);
int ag_injected_failure(void);
void *ag_alloc(size_t size);
void *ag_realloc(void *p, size_t size);
void ag_scratch_trim(ag_arena *ar);

#endif
