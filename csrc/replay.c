/* replay.c: re-running a recorded graph in place, and SGD in one call.
 *
 * A tape is one graph laid out flat: its leaves, then its other nodes in the
 * post-order of backward.c's sweep; per position the node's op, constant and
 * input positions.  Replaying reads the leaves' current values from the
 * arena, recomputes every other value with ag_forward, runs the reverse sweep
 * with ag_local_grads in the order ag_backward uses, and writes values and
 * grads back to the arena.  Same arena, same formulas, same order of
 * operations: a replayed step equals an eagerly rebuilt one bit for bit.
 *
 * The tape holds one reference on every node of its graph, so no id it names
 * can be freed and handed to another node while it lives.
 */
#include <stdlib.h>

#include "arena.h"
#include "backward.h"
#include "rules.h"

struct ag_tape {
    int64_t n;          /* positions: leaves, then the other nodes, then `none` */
    int64_t nleaf;      /* the leaves come first: positions 0 .. nleaf - 1 */
    int64_t root;       /* the root's position */
    int32_t *id;        /* by position: the node's arena id */
    int32_t *a, *b;     /* by position: the inputs' positions; a missing one is `none` */
    uint8_t *op;
    double *c;
    double *value;      /* by position: values of the current run */
    double *adjoint;    /* by position: adjoints of the current run */
    void *block;        /* the one allocation holding the arrays above */
};

/* Lay the sweep s out flat in t: the leaves first, then the other nodes in
 * post-order, then one position `none` that stands for a missing input: its
 * value is 0.0, what ag_forward is given for a missing y, so the forward loop
 * needs no branch on arity.  s->position maps visit index to position. */
static void lay_out(ag_tape *t, ag_arena *ar, ag_sweep *s)
{
    int64_t n = s->n, nleaf = 0, none = s->n, next;
    for (int64_t i = 0; i < n; i++)
        if (s->input[2 * s->order[i]] < 0) nleaf++;
    next = nleaf;
    nleaf = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t k = s->order[i];
        s->position[k] = (int32_t)(s->input[2 * k] < 0 ? nleaf++ : next++);
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t k = s->order[i];
        int32_t ka = s->input[2 * k], kb = s->input[2 * k + 1];
        int32_t pos = s->position[k];
        int32_t id = s->visit[k];
        t->id[pos] = id;
        t->op[pos] = ar->op[id];
        t->c[pos] = ar->c[id];
        t->a[pos] = (int32_t)(ka >= 0 ? s->position[ka] : none);
        t->b[pos] = (int32_t)(kb >= 0 ? s->position[kb] : none);
    }
    t->id[none] = -1;
    t->op[none] = AG_OP_LEAF;
    t->c[none] = 0.0;
    t->a[none] = t->b[none] = (int32_t)none;
    t->n = n + 1;
    t->nleaf = nleaf;
    t->root = s->position[0];
}

/* ag_tape_new: record the graph below root.  Returns the tape, or NULL with
 * *status set to AG_EBADID or AG_ENOMEM (nothing retained). */
ag_tape *ag_tape_new(int32_t root, int *status)
{
    ag_arena *ar = &ag_global_arena;
    ag_sweep s = {0};
    ag_tape *t = ag_alloc(sizeof *t);
    if (t == NULL) {
        *status = AG_ENOMEM;
        return NULL;
    }
    t->block = NULL;
    ag_lock();
    if (!ag_is_live(ar, root)) {
        *status = AG_EBADID;
    } else if (ag_sweep_order(ar, &s, root) < 0) {
        *status = AG_ENOMEM;
    } else {
        int64_t n = s.n + 1;
        /* doubles first, for their alignment */
        t->block = ag_alloc((size_t)n * (3 * sizeof(double) + 3 * sizeof(int32_t) + 1));
        if (t->block == NULL) {
            *status = AG_ENOMEM;
        } else {
            t->c = t->block;
            t->value = t->c + n;
            t->adjoint = t->value + n;
            t->id = (int32_t *)(t->adjoint + n);
            t->a = t->id + n;
            t->b = t->a + n;
            t->op = (uint8_t *)(t->b + n);
            lay_out(t, ar, &s);
            for (int64_t i = 0; i < s.n; i++) ar->refs[s.visit[i]]++;
            *status = AG_OK;
        }
    }
    ag_unlock();
    ag_sweep_free(&s);
    if (*status != AG_OK) {
        free(t->block);
        free(t);
        return NULL;
    }
    return t;
}

/* ag_tape_size: the number of nodes on the tape, leaves included. */
int64_t ag_tape_size(const ag_tape *t)
{
    return t->n - 1;
}

/* ag_tape_run: recompute the graph from its leaves' current values, then add
 * d(root)/d(node) * seed into every node's grad, as ag_backward does on a
 * graph built afresh: a non-leaf's grad becomes 0.0 + its adjoint, a leaf's
 * grad accumulates.  *root_value receives the root's new value.  Returns
 * AG_OK (nothing can fail once recorded).
 *
 * The run works on the tape's own dense arrays and touches the arena only to
 * read the leaves and write the results back.  The non-leaf positions are in
 * the post-order of ag_sweep_order, so the loops below apply the rules, and
 * add the adjoints, in exactly the order ag_sweep_adjoints does. */
int ag_tape_run(ag_tape *t, double seed, double *root_value)
{
    ag_arena *ar = &ag_global_arena;
    const int64_t n = t->n - 1, nleaf = t->nleaf;     /* n: the position of `none` */
    const int32_t *a = t->a, *b = t->b, *id = t->id;
    const uint8_t *op = t->op;
    const double *c = t->c;
    double *value = t->value, *adjoint = t->adjoint;
    ag_lock();
    for (int64_t i = 0; i < nleaf; i++) value[i] = ar->value[id[i]];
    value[n] = 0.0;
    for (int64_t i = nleaf; i < n; i++) value[i] = ag_forward(op[i], value[a[i]], value[b[i]], c[i]);
    for (int64_t i = 0; i <= n; i++) adjoint[i] = 0.0;
    adjoint[t->root] = seed;
    for (int64_t i = n - 1; i >= nleaf; i--) {
        double da = 0.0, db = 0.0;
        ag_local_grads(op[i], value[a[i]], value[b[i]], c[i], value[i], adjoint[i], &da, &db);
        adjoint[a[i]] += da;
        /* not `none`: adding to one place every time would chain the adds */
        if (b[i] != n) adjoint[b[i]] += db;
    }
    for (int64_t i = 0; i < nleaf; i++) ar->grad[id[i]] += adjoint[i];
    for (int64_t i = nleaf; i < n; i++) {
        ar->value[id[i]] = value[i];
        ar->grad[id[i]] = 0.0 + adjoint[i];     /* as a fresh grad: -0.0 becomes +0.0 */
    }
    *root_value = value[t->root];
    ag_unlock();
    return AG_OK;
}

/* ag_tape_free: drop the tape's references (freeing what only it kept) and
 * its memory.  NULL is a no-op. */
void ag_tape_free(ag_tape *t)
{
    if (t == NULL) return;
    int status = ag_release(t->id, (size_t)t->n - 1);
    (void)status;   /* the tape's nodes are live: it holds them */
    free(t->block);
    free(t);
}

/* ag_sgd: for each of n leaves, value = value - lr * grad, then grad = 0:
 * the eager `p.data -= lr * p.grad; p.grad = 0`, rounded the same way.
 * Returns AG_OK, or AG_EBADID / AG_ENOTLEAF with no node changed. */
int ag_sgd(const int32_t *ids, size_t n, double lr)
{
    ag_arena *ar = &ag_global_arena;
    int status = AG_OK;
    ag_lock();
    for (size_t i = 0; i < n && status == AG_OK; i++) {
        if (!ag_is_live(ar, ids[i])) status = AG_EBADID;
        else if (ar->op[ids[i]] != AG_OP_LEAF) status = AG_ENOTLEAF;
    }
    if (status == AG_OK) {
        for (size_t i = 0; i < n; i++) {
            int32_t id = ids[i];
            double step = lr * ar->grad[id];
            ar->value[id] = ar->value[id] - step;
            ar->grad[id] = 0.0;
        }
    }
    ag_unlock();
    return status;
}
