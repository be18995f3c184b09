/* sweep.h: a graph laid out flat, and the one reverse sweep over it;
 * shared by sweep.c (backward, gradients, topo) and tape.c (replay, batched
 * replay). */
#ifndef AUTOGRAD_SWEEP_H
#define AUTOGRAD_SWEEP_H

#include <stdint.h>

#include "arena.h"

/* The graph below a root, by position: inputs before the nodes that use
 * them (a depth-first post-order, first input first), at positions 1 .. n,
 * the root last.  Position 0 (AG_NONE) stands for a missing input: its value
 * is 0.0, what a one-input rule is given for y. */
#define AG_NONE 0

typedef struct {
    int64_t n;          /* nodes, at positions 1 .. n; the root is at n */
    int32_t *id;        /* the node's arena id (-1 at AG_NONE) */
    int32_t *a, *b;     /* the inputs' positions; AG_NONE for a missing one */
    uint8_t *op;
    double *c;
    double *value;
    double *adjoint;    /* filled by ag_sweep */
} ag_flat;

/* Bytes per node of a flat graph's arrays. */
#define AG_FLAT_BYTES (3 * sizeof(double) + 3 * sizeof(int32_t) + 1)

void ag_flat_carve(ag_flat *f, void *block, int64_t cap);
int32_t *ag_align4(void *p);
int64_t ag_flat_order(ag_arena *ar, ag_flat *f, int32_t root);
int ag_sweep(ag_flat *f, int64_t first, double seed, double *grad, ag_anomaly *anomaly);

/* A tile: the values or adjoints of one flat graph for AG_TILE_ROWS rows at
 * once, laid out by position, then by row: position i's row r at
 * [i * AG_TILE_ROWS + r].  The sweep then applies one op to a whole row of a
 * tile, a loop of a constant length that the compiler vectorises whole.
 * 64 rows: fewer spend the time dispatching on ops, more leave the cache
 * (W5's ~1,000 positions then fill a 1 MiB L2 with the two tiles); W5 ran
 * at 16 rows 2x, at 8 rows 2.5x, at 128 rows 1.2x slower. */
#define AG_TILE_ROWS 64
#define AG_TILE_AT(tile, i) ((tile) + (int64_t)(i) * AG_TILE_ROWS)

/* Where a tile keeps each position's rows, and how the sweep sends to them
 * (ag_flat_tile_plan).  A position's value needs a row of the value tile
 * only from the node that computes it to its last reader, and its adjoint
 * a row of the adjoint tile only from its first incoming add to the node's
 * own rule: rows are reused, so the tiles stay small and hot in cache.
 *
 * Fused chains: a neuron's sum b + w1*x1 + w2*x2 + ... records a mul and
 * an add per term, whose values and adjoints nothing else reads.  The plan
 * runs such a chain as one instruction at its last add (its end): forward,
 * the same adds and products in the same order in each row; backward, the
 * same sends in the same order as the unfused sweep (see
 * ag_flat_tile_plan).  The chain's other nodes are AG_FUSED: no rows, no
 * rule of their own. */
typedef struct {
    int32_t *value;     /* by position: its row of the value tile */
    int32_t *adjoint;   /* by position: its row of the adjoint tile */
    uint8_t *flags;     /* by position: AG_FIRST_A, AG_FIRST_B */
    int32_t *chain;     /* by position: AG_PLAIN, AG_FUSED, or a chain end's offset in terms */
    int32_t *terms;     /* a chain at offset o: terms[o] = m, its mul terms; terms[o + 1]
                           its start (AG_MUL_START: the first term is a mul); then the
                           m terms' inputs a, b, in the order the adds take them */
    uint8_t *term_flags;    /* at the offsets of terms: AG_FIRST_A at a send that is the
                               first add into its adjoint (the start's at o + 1) */
    int64_t nvalue;     /* rows of the value tile */
    int64_t nadjoint;   /* rows of the adjoint tile */
    int32_t *run;       /* the positions that run a rule or a chain, first to last */
    int64_t nrun;
    int64_t nchain;     /* chains fused */
} ag_tile_plan;

#define AG_FIRST_A 1    /* what the node sends to a is the first add into a's adjoint */
#define AG_FIRST_B 2

#define AG_PLAIN (-1)       /* chain[i]: node i runs its own rule */
#define AG_FUSED (-2)       /* chain[i]: node i runs inside its chain's end */
#define AG_MUL_START (-1)   /* a chain's start: none, the first term is a mul */

/* The leaves of one batched run, for the loops over its tiles.  A leaf that
 * no column feeds (and position AG_NONE's 0.0) is fixed: its value is the
 * same in every row, and a fused chain's term multiplies by the number
 * itself rather than reading a row of its copies from the value tile (W5's
 * weights: 304 rows of 512 bytes a tile, read twice).  x * w and w * x
 * round alike, so the bits do not change. */
typedef struct {
    int64_t first;          /* positions below it are leaves */
    const uint8_t *is_col;  /* by position below first: 1 when a column feeds it */
    const double *value;    /* by position below first: its value when fixed */
} ag_tile_leaves;

/* ag_is_fixed: position p is a fixed leaf of the run. */
static inline int ag_is_fixed(const ag_tile_leaves *leaves, int32_t p)
{
    return p < leaves->first && !leaves->is_col[p];
}

/* Bytes ag_flat_tile_plan needs for the plan's arrays and its scratch. */
#define AG_TILE_PLAN_BYTES(n) ((size_t)((n) + 1) * (12 * sizeof(int32_t) + 4))

void ag_flat_tile_plan(const ag_flat *f, int64_t first, ag_tile_plan *plan, void *block);
int ag_sweep_tile(const ag_flat *f, const ag_tile_leaves *leaves, const ag_tile_plan *plan, double seed,
                  const double *value, double *adjoint, double *scratch);

#endif
