/* autograd.h: the public interface of the C engine.
 *
 * One process-wide arena of nodes, addressed by integer ids.  Python never
 * holds a pointer into it, so the arena is free to grow with realloc.  Every
 * function takes the arena lock: cffi releases the GIL around each call, so
 * the GIL does not protect the arena.
 *
 * The op codes are the table of autograd/ops.py (generated into ag_ops.h at
 * build time).  The Python twin, autograd/engine/python/, has the same
 * functions under the same names without the ag_ prefix, file for file:
 * arena.c, sweep.c, tape.c, rules.h.
 *
 * This header is also fed to cffi's cdef (the build script drops the
 * preprocessor lines), so it holds only plain declarations.
 */
#ifndef AUTOGRAD_H
#define AUTOGRAD_H

#include <stddef.h>
#include <stdint.h>

/* Status codes returned (negated ids or ints) by the functions below. */
enum {
    AG_OK = 0,
    AG_ENOMEM = -1,     /* an allocation failed; the arena is unchanged */
    AG_EBADID = -2,     /* an id is out of range or names a free node */
    AG_EBADOP = -3,     /* an op code out of range, or the wrong arity */
    AG_ENOTLEAF = -4,   /* the node is not a leaf */
    AG_EFULL = -5,      /* the arena reached its maximum number of nodes */
    AG_ENAN = -6,       /* ag_backward_checked: a backward rule produced nan */
    AG_ESTALE = -7      /* a leaf's value was set after a node of the graph read it */
};

typedef struct {
    int32_t op;
    int32_t a;          /* first input, -1 if none */
    int32_t b;          /* second input, -1 if none */
    int32_t refs;       /* Python handles plus consuming nodes */
    double c;           /* constant operand */
    double value;
    double grad;
} ag_node;

typedef struct {
    int64_t live_nodes;
    int64_t capacity;   /* nodes the arena has room for without growing */
    int64_t free_nodes;
} ag_stats;

/* Where ag_backward_checked found a backward rule producing nan. */
typedef struct {
    int32_t node;       /* the node whose rule produced it */
    int32_t input;      /* 0: for its first input (a), 1: for its second (b) */
    double g;           /* the adjoint the rule was given (never nan) */
} ag_anomaly;

/* The op table as compiled in (checked against autograd/ops.py at import). */
int ag_op_count(void);
int ag_op_arity(int op);
const char *ag_op_name(int op);
int ag_op_has_rule(int op);

/* Arena: creating, reading, updating and releasing nodes (arena.c). */
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
int ag_descend(const int32_t *ids, size_t n, double lr);
int ag_zero_grads(const int32_t *ids, size_t n);
int32_t ag_find_stale(int32_t root);
int64_t ag_collect(const int32_t *held, size_t n);

/* The reverse sweep and what is built on it (sweep.c). */
int ag_backward(int32_t root, double seed);
int ag_backward_checked(int32_t root, double seed, ag_anomaly *out);
int64_t ag_topo(int32_t root, int32_t *out, int64_t cap);
int ag_gradients(int32_t root, double seed, const int32_t *ids, int64_t n, double *out);

/* Graph replay (tape.c).  A tape is opaque: created, run and freed here. */
typedef struct ag_tape ag_tape;
ag_tape *ag_tape_new(int32_t root, int *status);
int64_t ag_tape_size(const ag_tape *t);
int ag_tape_run(ag_tape *t, double seed, double *root_value);
void ag_tape_free(ag_tape *t);
int64_t ag_tape_leaves(const ag_tape *t, int32_t *out, int64_t cap);
int ag_tape_run_batch(ag_tape *t, int64_t nrows, const int32_t *col_ids, double **cols, int64_t ncol,
                      double seed, const int32_t *grad_ids, double **grads, int64_t ngrad,
                      double *values, int accumulate, int threads);

#endif
