/* backward.c: topological order and the reverse sweep.
 *
 * The order is a depth-first post-order from the root (first input before
 * second), found with an explicit stack: no recursion on graph depth.  While
 * it walks, the sort records each node's inputs as visit indices, so the
 * sweep that follows reads per-call arrays in order and never looks an id up
 * again.  autograd/engine_py/backward.py is the twin of this file.
 *
 * Every piece of traversal state belongs to one call.  The arena's `slot`
 * array maps a node id to its index in this call's `visit` array, as a sparse
 * set: slot[id] counts only when visit[slot[id]] == id, and visit is filled by
 * this call, so whatever an earlier call left in slot can never be mistaken
 * for a visit of this one.  The lock is held for the whole call.
 */
#include <math.h>
#include <stdlib.h>

#include "arena.h"
#include "backward.h"
#include "rules.h"

/* How many nodes ahead the reverse sweep asks for scattered data. */
#define AG_PREFETCH 16
#if defined(__GNUC__)
#define AG_PREFETCH_LINE(p) __builtin_prefetch((p))
#else
#define AG_PREFETCH_LINE(p) ((void)(p))
#endif

/* Bytes of per-call arrays per node of room. */
#define AG_SWEEP_BYTES (sizeof(double) + 5 * sizeof(int32_t) + 1)

/* ag_sweep_free: end a sweep's use of the arena's scratch block. */
void ag_sweep_free(ag_sweep *s)
{
    *s = (ag_sweep){0};
}

/* A scratch block this small is kept whatever the live nodes: a training
 * loop frees its graph after every step, and reallocating the block for the
 * next backward would bring the page faults back. */
#define AG_SCRATCH_KEEP ((size_t)8 << 20)

/* ag_scratch_trim: free the scratch block once it is larger than
 * AG_SCRATCH_KEEP and more than four times the size the live nodes could
 * need, so a large graph that is gone does not keep its sweep's memory.
 * Called with the lock held, by ag_release. */
void ag_scratch_trim(ag_arena *ar)
{
    size_t need = (size_t)(ar->count - ar->nfree) * AG_SWEEP_BYTES;
    if (ar->scratch_size > AG_SCRATCH_KEEP && ar->scratch_size > 4 * need) {
        free(ar->scratch);
        ar->scratch = NULL;
        ar->scratch_size = 0;
    }
}

/* Carve every per-call array out of the arena's scratch block, with room for
 * cap nodes.  The caller passes the number of live nodes, a bound on any
 * graph's size, so the arrays never grow and filling them needs no bounds
 * check.  The block is kept from one call to the next (only its size is
 * state: every array is written before it is read, and `slot` is a sparse
 * set), because a fresh block of this size costs a page fault, and the kernel
 * zeroing a page, every 4 KiB: on a 1M-node chain that was more than the sweep
 * itself.  AG_ENOMEM on failure. */
static int sweep_alloc(ag_arena *ar, ag_sweep *s, int64_t cap)
{
    size_t bytes = (size_t)cap * AG_SWEEP_BYTES;
    /* Reusing the block counts as an allocation for the test hook, so that a
     * sweep fails under it whether or not the block had to grow. */
    if (ar->scratch_size >= bytes && ag_injected_failure()) return AG_ENOMEM;
    if (ar->scratch_size < bytes) {
        free(ar->scratch);
        ar->scratch_size = 0;
        ar->scratch = ag_alloc(bytes);
        if (ar->scratch == NULL) return AG_ENOMEM;
        ar->scratch_size = bytes;
    }
    char *p = ar->scratch;
    /* the doubles first, so they stay 8-byte aligned */
    s->block = p;
    s->adjoint = (double *)p;
    s->visit = (int32_t *)(s->adjoint + cap);
    s->input = s->visit + cap;
    s->order = s->input + 2 * cap;
    s->position = s->order + cap;
    s->next = (uint8_t *)(s->position + cap);
    s->cap = cap;
    return AG_OK;
}

/* ag_sweep_order: fill s (visit, input, order; s->n nodes; adjoint zeroed)
 * for the graph below root, a live node.  Returns s->n, or AG_ENOMEM (s is
 * then only to be freed).
 *
 * The depth-first path lives at the far end of the order array, growing
 * down: a node is on the path or in the order, never both, so the two never
 * meet, and the sweep touches one array less. */
int64_t ag_sweep_order(ag_arena *ar, ag_sweep *s, int32_t root)
{
    if (sweep_alloc(ar, s, (int64_t)ar->count - ar->nfree) != AG_OK) return AG_ENOMEM;
    int32_t *visit = s->visit, *input = s->input, *order = s->order, *slot = ar->slot;
    int32_t *stack = order + s->cap - 1;   /* stack[-d]: the path's d-th node from the root */
    double *adjoint = s->adjoint;
    uint8_t *next = s->next;    /* by visit index: which input to descend into next */
    int32_t n = 1, depth = 1, norder = 0;
    visit[0] = root;
    next[0] = 0;
    adjoint[0] = 0.0;
    slot[root] = 0;
    stack[0] = 0;
    while (depth > 0) {
        int32_t k = stack[1 - depth];
        int32_t id = visit[k];
        int j = next[k];
        if (j < ag_op_arity(ar->op[id])) {
            int32_t in = j == 0 ? ar->a[id] : ar->b[id];
            int32_t v = slot[in];
            next[k] = (uint8_t)(j + 1);
            /* unsigned: a stale negative slot fails the bound too */
            if ((uint32_t)v >= (uint32_t)n || visit[v] != in) {
                v = n++;
                visit[v] = in;
                next[v] = 0;
                adjoint[v] = 0.0;
                slot[in] = v;
                stack[-depth++] = v;
            }
            input[2 * k + j] = v;
        } else {
            if (j < 2) input[2 * k + 1] = -1;
            if (j < 1) input[2 * k] = -1;
            order[norder++] = k;
            depth--;
        }
    }
    s->n = n;
    return n;
}

/* ag_topo: write into out (room for cap ids) the ids of the nodes reachable
 * from root, inputs before the nodes that use them.  Returns their number n
 * (nothing is written when n > cap: call again with more room), AG_EBADID or
 * AG_ENOMEM. */
int64_t ag_topo(int32_t root, int32_t *out, int64_t cap)
{
    ag_arena *ar = &ag_global_arena;
    ag_sweep s = {0};
    int64_t n;
    ag_lock();
    if (!ag_is_live(ar, root)) {
        n = AG_EBADID;
    } else {
        n = ag_sweep_order(ar, &s, root);
        if (n > 0 && n <= cap)
            for (int64_t i = 0; i < n; i++) out[i] = s.visit[s.order[i]];
    }
    ag_unlock();
    ag_sweep_free(&s);
    return n;
}

/* ag_sweep_adjoints: the reverse sweep over s, as ag_sweep_order left it
 * (adjoints zeroed): s->adjoint[k] becomes d(root)/d(visit[k]) * seed.  A
 * node's adjoint is complete when the sweep reaches it (every node using it
 * comes later in the order, so earlier in the sweep): with add_to_grad set
 * it is added into grad there and then.
 *
 * With anomaly != NULL (anomaly mode) the sweep stops at the first rule that
 * produces nan, fills *anomaly and returns AG_ENAN, with no grad changed:
 * grads are then added only once the whole sweep is through.  The rule was
 * given a complete adjoint that was not nan (with a seed that is not nan), so
 * it made the nan; its input only received it.  Returns AG_OK otherwise. */
int ag_sweep_adjoints(ag_arena *ar, ag_sweep *s, double seed, int add_to_grad, ag_anomaly *anomaly)
{
    double *adjoint = s->adjoint;
    const int32_t *input = s->input, *visit = s->visit, *order = s->order;
    int add_now = add_to_grad && anomaly == NULL;
    adjoint[0] = seed;
    for (int64_t i = s->n - 1; i >= 0; i--) {
        if (i >= AG_PREFETCH) {
            /* a node's second input is wherever the graph put it: ask for
             * its value and adjoint a few nodes ahead of the sweep */
            int32_t k = order[i - AG_PREFETCH];
            int32_t kb = input[2 * k + 1];
            if (kb >= 0) {
                AG_PREFETCH_LINE(&adjoint[kb]);
                AG_PREFETCH_LINE(&ar->value[ar->b[visit[k]]]);
            }
        }
        int32_t k = order[i];
        int32_t ka = input[2 * k], kb = input[2 * k + 1];
        int32_t id = visit[k];
        if (add_now) ar->grad[id] += adjoint[k];
        if (ka < 0) continue;   /* a leaf */
        double da = 0.0, db = 0.0;
        /* the inputs' ids from the node itself: visit[ka] would be one more
         * scattered read */
        ag_local_grads(ar->op[id], ar->value[ar->a[id]], kb >= 0 ? ar->value[ar->b[id]] : 0.0,
                       ar->c[id], ar->value[id], adjoint[k], &da, &db);
        if (anomaly != NULL && (isnan(da) || isnan(db))) {
            anomaly->node = id;
            anomaly->input = isnan(da) ? 0 : 1;
            anomaly->g = adjoint[k];
            return AG_ENAN;
        }
        adjoint[ka] += da;
        if (kb >= 0) adjoint[kb] += db;
    }
    if (add_to_grad && !add_now)
        for (int64_t k = 0; k < s->n; k++) ar->grad[visit[k]] += adjoint[k];
    return AG_OK;
}

/* backward_sweep: ag_backward, and with anomaly != NULL ag_backward_checked. */
static int backward_sweep(int32_t root, double seed, ag_anomaly *anomaly)
{
    ag_arena *ar = &ag_global_arena;
    ag_sweep s = {0};
    int status = AG_OK;
    ag_lock();
    if (!ag_is_live(ar, root)) status = AG_EBADID;
    else if (ag_sweep_order(ar, &s, root) < 0) status = AG_ENOMEM;
    else status = ag_sweep_adjoints(ar, &s, seed, 1, anomaly);
    ag_unlock();
    ag_sweep_free(&s);
    return status;
}

/* ag_gradients: write into out[i] d(root)/d(ids[i]) * seed for each of the
 * n ids (0 for a node root does not depend on), without changing any grad.
 * It is ag_backward's sweep with add_to_grad off, so out[i] is what
 * ag_backward would add to the grad of ids[i].  Returns AG_OK; AG_EBADID if
 * root or an id is not in use, or AG_ENOMEM, with out unchanged. */
int ag_gradients(int32_t root, double seed, const int32_t *ids, int64_t n, double *out)
{
    ag_arena *ar = &ag_global_arena;
    ag_sweep s = {0};
    int status = AG_OK;
    ag_lock();
    if (!ag_is_live(ar, root)) status = AG_EBADID;
    for (int64_t i = 0; i < n && status == AG_OK; i++)
        if (!ag_is_live(ar, ids[i])) status = AG_EBADID;
    if (status == AG_OK && ag_sweep_order(ar, &s, root) < 0) status = AG_ENOMEM;
    if (status == AG_OK) {
        ag_sweep_adjoints(ar, &s, seed, 0, NULL);
        for (int64_t i = 0; i < n; i++) {
            int32_t k = ar->slot[ids[i]];   /* a sparse set, as in ag_sweep_order */
            out[i] = (k >= 0 && k < s.n && s.visit[k] == ids[i]) ? s.adjoint[k] : 0.0;
        }
    }
    ag_unlock();
    ag_sweep_free(&s);
    return status;
}

/* ag_backward: add d(root)/d(node) * seed into the grad of every node
 * reachable from root.  The adjoints of this call are computed afresh, then
 * added, so two calls add exactly twice.  Returns AG_OK, AG_EBADID, or
 * AG_ENOMEM with no grad changed. */
int ag_backward(int32_t root, double seed)
{
    return backward_sweep(root, seed, NULL);
}

/* ag_backward_checked: ag_backward for anomaly mode.  Also returns AG_ENAN,
 * with no grad changed and *out naming the first node (in sweep order) whose
 * backward rule produced nan from a gradient that was not nan. */
int ag_backward_checked(int32_t root, double seed, ag_anomaly *out)
{
    return backward_sweep(root, seed, out);
}
