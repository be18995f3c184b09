/* tape.c: re-running a recorded graph in place.
 *
 * A tape keeps one flat graph (sweep.h) in its own memory, its leaves moved
 * first (positions 1 .. nleaf) and its other nodes after them in the order
 * ag_flat_order laid them out, so that the loops of a run need no test of
 * which kind a node is.  Replaying reads the leaves' current values from the
 * arena, recomputes every other value with the op's rule, runs ag_sweep over
 * the other nodes, and writes values and grads back to the arena.  Same
 * order of the nodes that have rules, same formulas, same sweep as
 * ag_backward: a replayed step equals an eagerly rebuilt one bit for bit.
 *
 * The tape holds one reference on every node of its graph, so no id it names
 * can be freed and handed to another node while it lives.
 * autograd/engine/python/tape.py is the twin of this file.
 */
#include <stdlib.h>

#include "rules.h"
#include "sweep.h"

struct ag_tape {
    ag_flat f;          /* the graph, with values and adjoints of the current run */
    int64_t nleaf;      /* its leaves are at positions 1 .. nleaf */
    void *block;        /* the one allocation holding f's arrays and `moved` */
};

/* lay_out: src into t, leaves first.  moved (room for src->n + 1) receives
 * each position's new place. */
static void lay_out(ag_tape *t, const ag_flat *src, int32_t *moved)
{
    ag_flat *dst = &t->f;
    int64_t n = src->n, nleaf = 0;
    for (int64_t i = 1; i <= n; i++) nleaf += src->op[i] == AG_OP_LEAF;
    int32_t leaf = 1, other = (int32_t)nleaf + 1;
    moved[AG_NONE] = AG_NONE;
    for (int64_t i = 1; i <= n; i++) moved[i] = src->op[i] == AG_OP_LEAF ? leaf++ : other++;
    for (int64_t i = 0; i <= n; i++) {
        int32_t p = moved[i];
        dst->id[p] = src->id[i];
        dst->op[p] = src->op[i];
        dst->c[p] = src->c[i];
        dst->value[p] = src->value[i];
        dst->a[p] = moved[src->a[i]];
        dst->b[p] = moved[src->b[i]];
    }
    dst->n = n;
    t->nleaf = nleaf;
}

/* ag_tape_new: record the graph below root.  Returns the tape, or NULL with
 * *status set to AG_EBADID or AG_ENOMEM (nothing retained). */
ag_tape *ag_tape_new(int32_t root, int *status)
{
    ag_arena *ar = &ag_global_arena;
    ag_flat f;
    ag_lock();
    ag_tape *t = ag_alloc(sizeof *t);
    if (t == NULL) {
        *status = AG_ENOMEM;
    } else if (!ag_is_live(ar, root)) {
        *status = AG_EBADID;
    } else if (ag_flat_order(ar, &f, root) < 0) {
        *status = AG_ENOMEM;
    } else if ((t->block = ag_alloc((size_t)(f.n + 1) * (AG_FLAT_BYTES + sizeof(int32_t)) + 3)) == NULL) {
        *status = AG_ENOMEM;
    } else {
        ag_flat_carve(&t->f, t->block, f.n + 1);
        lay_out(t, &f, ag_align4(t->f.op + f.n + 1));   /* + 3 bytes above: room to align */
        for (int64_t i = 1; i <= f.n; i++) ar->refs[f.id[i]]++;
        *status = AG_OK;
    }
    ag_unlock();
    if (*status != AG_OK) {
        free(t);
        return NULL;
    }
    return t;
}

/* ag_tape_size: the number of nodes on the tape, leaves included. */
int64_t ag_tape_size(const ag_tape *t)
{
    return t->f.n;
}

/* ag_tape_run: recompute the graph from its leaves' current values, then add
 * d(root)/d(node) * seed into every node's grad, as ag_backward does on a
 * graph built afresh: a non-leaf's grad becomes 0.0 + its adjoint, a leaf's
 * grad accumulates.  *root_value receives the root's new value.  Returns
 * AG_OK (nothing can fail once recorded). */
int ag_tape_run(ag_tape *t, double seed, double *root_value)
{
    ag_arena *ar = &ag_global_arena;
    ag_flat *f = &t->f;
    const int64_t n = f->n, nleaf = t->nleaf;
    const int32_t *a = f->a, *b = f->b, *id = f->id;
    const uint8_t *op = f->op;
    const double *c = f->c, *adjoint = f->adjoint;
    double *value = f->value;
    ag_lock();
    for (int64_t i = 1; i <= nleaf; i++) value[i] = ar->value[id[i]];
    for (int64_t i = nleaf + 1; i <= n; i++) (void)ag_forward(op[i], value[a[i]], value[b[i]], c[i], &value[i]);
    (void)ag_sweep(f, nleaf + 1, seed, NULL, NULL);
    for (int64_t i = 1; i <= nleaf; i++) ar->grad[id[i]] += adjoint[i];
    for (int64_t i = nleaf + 1; i <= n; i++) {
        ar->value[id[i]] = value[i];
        ar->grad[id[i]] = 0.0 + adjoint[i];     /* as a fresh grad: -0.0 becomes +0.0 */
        ar->stamp[id[i]] = ar->epoch;           /* recomputed from the leaves as they are (stale.c) */
    }
    *root_value = value[n];
    ag_unlock();
    return AG_OK;
}

/* ag_tape_free: drop the tape's references (freeing what only it kept) and
 * its memory.  NULL is a no-op. */
void ag_tape_free(ag_tape *t)
{
    if (t == NULL) return;
    int status = ag_release(t->f.id + 1, (size_t)t->f.n);
    (void)status;   /* the tape's nodes are live: it holds them */
    free(t->block);
    free(t);
}
