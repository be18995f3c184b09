/* backward.c: topological order and the reverse sweep.
 *
 * The order is a depth-first post-order from the root (first input before
 * second), found with an explicit stack: no recursion on graph depth.
 * autograd/engine_py/backward.py is the twin of this file.
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
#include "rules.h"

#define AG_FIRST_SWEEP 64

typedef struct {
    int32_t *visit;     /* node ids, by visit index */
    int32_t *order;     /* visit indices in post-order: inputs first */
    int32_t *stack;     /* visit indices on the depth-first path */
    uint8_t *next;      /* by visit index: which input to descend into next */
    int64_t n;          /* nodes visited */
    int64_t cap;        /* length of the arrays above */
} sweep;

static void sweep_free(sweep *s)
{
    free(s->visit);
    free(s->order);
    free(s->stack);
    free(s->next);
}

static int sweep_resize(sweep *s, int64_t cap)
{
    void *p;
    if ((p = ag_realloc(s->visit, (size_t)cap * sizeof(int32_t))) == NULL) return AG_ENOMEM;
    s->visit = p;
    if ((p = ag_realloc(s->order, (size_t)cap * sizeof(int32_t))) == NULL) return AG_ENOMEM;
    s->order = p;
    if ((p = ag_realloc(s->stack, (size_t)cap * sizeof(int32_t))) == NULL) return AG_ENOMEM;
    s->stack = p;
    if ((p = ag_realloc(s->next, (size_t)cap)) == NULL) return AG_ENOMEM;
    s->next = p;
    s->cap = cap;
    return AG_OK;
}

static int visited(const ag_arena *ar, const sweep *s, int32_t id)
{
    int32_t k = ar->slot[id];
    return k >= 0 && k < s->n && s->visit[k] == id;
}

/* Record id as visited and push it on the path.  AG_ENOMEM on failure. */
static int visit(ag_arena *ar, sweep *s, int64_t *depth, int32_t id)
{
    if (s->n == s->cap && sweep_resize(s, s->cap * 2) != AG_OK) return AG_ENOMEM;
    int64_t k = s->n++;
    s->visit[k] = id;
    s->next[k] = 0;
    ar->slot[id] = (int32_t)k;
    s->stack[(*depth)++] = (int32_t)k;
    return AG_OK;
}

/* topo_sort: fill s with the nodes reachable from root in post-order.
 * Returns the number of nodes or AG_ENOMEM (s is then to be freed). */
static int64_t topo_sort(ag_arena *ar, sweep *s, int32_t root)
{
    int64_t depth = 0, norder = 0;
    if (sweep_resize(s, AG_FIRST_SWEEP) != AG_OK) return AG_ENOMEM;
    if (visit(ar, s, &depth, root) != AG_OK) return AG_ENOMEM;
    while (depth > 0) {
        int32_t k = s->stack[depth - 1];
        int32_t id = s->visit[k];
        if (s->next[k] < ag_op_arity(ar->op[id])) {
            int32_t input = s->next[k]++ == 0 ? ar->a[id] : ar->b[id];
            if (!visited(ar, s, input) && visit(ar, s, &depth, input) != AG_OK)
                return AG_ENOMEM;
        } else {
            s->order[norder++] = k;
            depth--;
        }
    }
    return norder;
}

/* ag_topo: write into out (room for cap ids) the ids of the nodes reachable
 * from root, inputs before the nodes that use them.  Returns their number n
 * (nothing is written when n > cap: call again with more room), AG_EBADID or
 * AG_ENOMEM. */
int64_t ag_topo(int32_t root, int32_t *out, int64_t cap)
{
    ag_arena *ar = &ag_global_arena;
    sweep s = {0};
    int64_t n;
    ag_lock();
    if (!ag_is_live(ar, root)) {
        n = AG_EBADID;
    } else {
        n = topo_sort(ar, &s, root);
        if (n > 0 && n <= cap)
            for (int64_t i = 0; i < n; i++) out[i] = s.visit[s.order[i]];
    }
    ag_unlock();
    sweep_free(&s);
    return n;
}

/* backward_sweep: ag_backward's sweep.  With anomaly != NULL it stops at the
 * first rule that produces nan, fills *anomaly and returns AG_ENAN, with no
 * grad changed.  The sweep visits a node only once its adjoint is complete,
 * so (with a seed that is not nan) that rule was given a gradient that is
 * not nan: it made the nan, its input only received it. */
static int backward_sweep(int32_t root, double seed, ag_anomaly *anomaly)
{
    ag_arena *ar = &ag_global_arena;
    sweep s = {0};
    double *adjoint = NULL;     /* by visit index */
    int status = AG_OK;
    ag_lock();
    if (!ag_is_live(ar, root)) {
        status = AG_EBADID;
        goto done;
    }
    int64_t n = topo_sort(ar, &s, root);
    if (n < 0 || (adjoint = ag_alloc((size_t)n * sizeof(double))) == NULL) {
        status = AG_ENOMEM;
        goto done;
    }
    for (int64_t k = 0; k < n; k++) adjoint[k] = 0.0;
    adjoint[ar->slot[root]] = seed;
    for (int64_t i = n - 1; i >= 0; i--) {
        int32_t k = s.order[i];
        int32_t id = s.visit[k];
        int arity = ag_op_arity(ar->op[id]);
        if (arity == 0) continue;
        int32_t a = ar->a[id], b = ar->b[id];
        double da = 0.0, db = 0.0;
        ag_local_grads(ar->op[id], ar->value[a], arity == 2 ? ar->value[b] : 0.0,
                       ar->c[id], ar->value[id], adjoint[k], &da, &db);
        if (anomaly != NULL && (isnan(da) || isnan(db))) {
            anomaly->node = id;
            anomaly->input = isnan(da) ? 0 : 1;
            anomaly->g = adjoint[k];
            status = AG_ENAN;
            goto done;
        }
        adjoint[ar->slot[a]] += da;
        if (arity == 2) adjoint[ar->slot[b]] += db;
    }
    for (int64_t k = 0; k < n; k++) ar->grad[s.visit[k]] += adjoint[k];
done:
    ag_unlock();
    free(adjoint);
    sweep_free(&s);
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
