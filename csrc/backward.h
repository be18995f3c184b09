/* backward.h: the sweep's order and adjoints, shared with replay.c. */
#ifndef AUTOGRAD_BACKWARD_H
#define AUTOGRAD_BACKWARD_H

#include <stdint.h>

#include "arena.h"

typedef struct {
    void *block;        /* the arena's scratch block, holding every array below */
    double *adjoint;    /* by visit index */
    int32_t *visit;     /* node ids, by visit index (visit[0] is the root) */
    int32_t *input;     /* by 2 * visit index (+1): the inputs' visit indices, -1 none */
    int32_t *order;     /* visit indices in post-order: inputs first */
    int32_t *position;  /* free for the caller (replay.c maps visit index to position) */
    uint8_t *next;      /* by visit index: which input to descend into next */
    int64_t n;          /* nodes reached */
    int64_t cap;        /* room in the arrays above, in nodes */
} ag_sweep;

int64_t ag_sweep_order(ag_arena *ar, ag_sweep *s, int32_t root);
int ag_sweep_adjoints(ag_arena *ar, ag_sweep *s, double seed, int add_to_grad,
                      ag_anomaly *anomaly);
void ag_sweep_free(ag_sweep *s);

#endif
