/* replay.c: re-running a recorded graph in place, and SGD in one call.
 *
 * A tape is the sweep of one graph (backward.c's ag_sweep), kept: its post-
 * order, each node's inputs as visit indices, and room for the adjoints.
 * Replaying recomputes every non-leaf value in post-order with ag_forward
 * from the leaves' current values, then runs the very sweep ag_backward runs
 * (ag_sweep_adjoints).  Same arena, same formulas, same order of operations:
 * a replayed step equals an eagerly rebuilt one bit for bit.
 *
 * The tape holds one reference on every node of its graph, so no id it names
 * can be freed and handed to another node while it lives.
 */
#include <stdlib.h>

#include "arena.h"
#include "backward.h"
#include "rules.h"

struct ag_tape {
    ag_sweep sweep;
};

/* ag_tape_new: record the graph below root.  Returns the tape, or NULL with
 * *status set to AG_EBADID or AG_ENOMEM (nothing retained). */
ag_tape *ag_tape_new(int32_t root, int *status)
{
    ag_arena *ar = &ag_global_arena;
    ag_tape *t = ag_alloc(sizeof *t);
    if (t == NULL) {
        *status = AG_ENOMEM;
        return NULL;
    }
    t->sweep = (ag_sweep){0};
    ag_lock();
    if (!ag_is_live(ar, root)) {
        *status = AG_EBADID;
    } else if (ag_sweep_order(ar, &t->sweep, root) < 0) {
        *status = AG_ENOMEM;
    } else {
        for (int64_t k = 0; k < t->sweep.n; k++) ar->refs[t->sweep.visit[k]]++;
        *status = AG_OK;
    }
    ag_unlock();
    if (*status != AG_OK) {
        ag_sweep_free(&t->sweep);
        free(t);
        return NULL;
    }
    return t;
}

/* ag_tape_size: the number of nodes on the tape, leaves included. */
int64_t ag_tape_size(const ag_tape *t)
{
    return t->sweep.n;
}

/* ag_tape_run: recompute the graph from its leaves' current values, then add
 * d(root)/d(node) * seed into every node's grad, as ag_backward does.  The
 * grads of the non-leaf nodes are reset first, as they would be on a graph
 * built afresh; the leaves' grads accumulate.  *root_value receives the
 * root's new value.  Returns AG_OK (no failure is possible once recorded). */
int ag_tape_run(ag_tape *t, double seed, double *root_value)
{
    ag_arena *ar = &ag_global_arena;
    ag_sweep *s = &t->sweep;
    ag_lock();
    for (int64_t i = 0; i < s->n; i++) {
        int32_t k = s->order[i];
        int32_t ka = s->input[2 * k], kb = s->input[2 * k + 1];
        if (ka < 0) continue;   /* a leaf keeps its value */
        int32_t id = s->visit[k];
        ar->value[id] = ag_forward(ar->op[id], ar->value[s->visit[ka]],
                                   kb >= 0 ? ar->value[s->visit[kb]] : 0.0, ar->c[id]);
        ar->grad[id] = 0.0;
    }
    ag_sweep_adjoints(ar, s, seed, 1);
    *root_value = ar->value[s->visit[0]];
    ag_unlock();
    return AG_OK;
}

/* ag_tape_free: drop the tape's references (freeing what only it kept) and
 * its memory.  NULL is a no-op. */
void ag_tape_free(ag_tape *t)
{
    if (t == NULL) return;
    int status = ag_release(t->sweep.visit, (size_t)t->sweep.n);
    (void)status;   /* the tape's nodes are live: it holds them */
    ag_sweep_free(&t->sweep);
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
