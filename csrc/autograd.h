/* autograd.h: the public interface of the C engine.
 *
 * One process-wide arena of nodes, addressed by integer ids.  Python never
 * holds a pointer into it, so the arena is free to grow with realloc.  Every
 * function takes the arena lock: cffi releases the GIL around each call, so
 * the GIL does not protect the arena.
 *
 * This header is also fed to cffi's cdef (the build script drops the
 * preprocessor lines), so it holds only plain declarations.
 */
#ifndef AUTOGRAD_H
#define AUTOGRAD_H

#include <stddef.h>
#include <stdint.h>

/* Op codes.  autograd/ops.py holds the same table; a test checks they agree. */
enum {
    AG_OP_LEAF = 0,
    AG_OP_ADD = 1,      /* a + b */
    AG_OP_SUB = 2,      /* a - b */
    AG_OP_MUL = 3,      /* a * b */
    AG_OP_DIV = 4,      /* a / b */
    AG_OP_POW = 5,      /* a ** b */
    AG_OP_ADDC = 6,     /* a + c */
    AG_OP_SUBC = 7,     /* a - c */
    AG_OP_RSUBC = 8,    /* c - a */
    AG_OP_MULC = 9,     /* a * c */
    AG_OP_DIVC = 10,    /* a / c */
    AG_OP_RDIVC = 11,   /* c / a */
    AG_OP_POWC = 12,    /* a ** c */
    AG_OP_RPOWC = 13,   /* c ** a */
    AG_OP_NEG = 14,
    AG_OP_EXP = 15,
    AG_OP_LOG = 16,
    AG_OP_SIN = 17,
    AG_OP_COS = 18,
    AG_OP_TANH = 19,
    AG_OP_RELU = 20,
    AG_OP_SIGMOID = 21,
    AG_OP_SQRT = 22,
    AG_OP_ABS = 23,
    AG_OP_PRIMITIVE = 24, /* one input of a user primitive: the value of b, da = g * c */
    AG_OP_COUNT = 25,
    AG_OP_FREE = 255    /* marks a node on the free list */
};

/* Status codes returned (negated ids or ints) by the functions below. */
enum {
    AG_OK = 0,
    AG_ENOMEM = -1,     /* an allocation failed; the arena is unchanged */
    AG_EBADID = -2,     /* an id is out of range or names a free node */
    AG_EBADOP = -3,     /* an op code out of range, or the wrong arity */
    AG_ENOTLEAF = -4,   /* the node is not a leaf */
    AG_EFULL = -5,      /* the arena reached its maximum number of nodes */
    AG_ENAN = -6        /* ag_backward_checked: a backward rule produced nan */
};

typedef struct {
    int32_t op;
    int32_t a;          /* first input, -1 if none */
    int32_t b;          /* second input, -1 if none */
    int32_t refs;       /* Python handles plus consuming nodes */
    double c;           /* constant operand of the *C ops */
    double value;
    double grad;
} ag_node;

typedef struct {
    int64_t live_nodes;
    int64_t capacity;
    int64_t free_nodes;
} ag_stats;

/* Where ag_backward_checked found a backward rule producing nan. */
typedef struct {
    int32_t node;       /* the node whose rule produced it */
    int32_t input;      /* 0: for its first input (a), 1: for its second (b) */
    double g;           /* the adjoint the rule was given (never nan) */
} ag_anomaly;

/* Arena: creating, reading and releasing nodes (arena.c). */
int32_t ag_leaf(double value);
int32_t ag_apply(int op, int32_t a, int32_t b, double c);
int32_t ag_apply_detached(int op, int32_t a, int32_t b, double c);
double ag_value(int32_t id);
double ag_grad(int32_t id);
int ag_set_value(int32_t id, double value);
int ag_set_grad(int32_t id, double grad);
int ag_retain(int32_t id);
int ag_release(const int32_t *ids, size_t n);
int ag_node_info(int32_t id, ag_node *out);
void ag_get_stats(ag_stats *out);
int64_t ag_check(void);
void ag_fail_after(int64_t n);

/* Backward sweep (backward.c). */
int ag_backward(int32_t root, double seed);
int ag_backward_checked(int32_t root, double seed, ag_anomaly *out);
int64_t ag_topo(int32_t root, int32_t *out, int64_t cap);
int ag_gradients(int32_t root, double seed, const int32_t *ids, int64_t n, double *out);

/* Graph replay (replay.c).  A tape is opaque: created, run and freed here. */
typedef struct ag_tape ag_tape;
ag_tape *ag_tape_new(int32_t root, int *status);
int64_t ag_tape_size(const ag_tape *t);
int ag_tape_run(ag_tape *t, double seed, double *root_value);
void ag_tape_free(ag_tape *t);
int ag_sgd(const int32_t *ids, size_t n, double lr);

#endif
