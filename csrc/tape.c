/* tape.c: re-running a recorded graph in place.
 *
 * A tape keeps one flat graph (sweep.h) in its own memory.  Replaying reads
 * the leaves' current values from the arena, recomputes every other value
 * with the op's rule, runs ag_sweep, and writes values and grads back to the
 * arena.  Same layout, same formulas, same sweep as ag_backward: a replayed
 * step equals an eagerly rebuilt one bit for bit.
 *
 * The tape holds one reference on every node of its graph, so no id it names
 * can be freed and handed to another node while it lives.
 * autograd/engine/python/tape.py is the twin of this file.
 */
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "sweep.h"

struct ag_tape {
    ag_flat f;          /* the graph, with values and adjoints of the current run */
    void *block;        /* the one allocation holding f's arrays */
};

/* copy: positions 0 .. n (none included) of src into dst. */
static void copy_flat(ag_flat *dst, const ag_flat *src)
{
    size_t n = (size_t)src->n + 1;
    memcpy(dst->id, src->id, n * sizeof(int32_t));
    memcpy(dst->a, src->a, n * sizeof(int32_t));
    memcpy(dst->b, src->b, n * sizeof(int32_t));
    memcpy(dst->op, src->op, n);
    memcpy(dst->c, src->c, n * sizeof(double));
    memcpy(dst->value, src->value, n * sizeof(double));
    dst->n = src->n;
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
    } else if ((t->block = ag_alloc((size_t)(f.n + 1) * AG_FLAT_BYTES)) == NULL) {
        *status = AG_ENOMEM;
    } else {
        ag_flat_carve(&t->f, t->block, f.n + 1);
        copy_flat(&t->f, &f);
        for (int64_t i = 0; i < f.n; i++) ar->refs[f.id[i]]++;
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
    const int64_t n = f->n;
    const int32_t *a = f->a, *b = f->b, *id = f->id;
    const uint8_t *op = f->op;
    double *value = f->value;
    ag_lock();
    for (int64_t i = 0; i < n; i++) {
        if (op[i] == AG_OP_LEAF) value[i] = ar->value[id[i]];
        else (void)ag_forward(op[i], value[a[i]], value[b[i]], f->c[i], &value[i]);
    }
    (void)ag_sweep(f, seed, NULL);
    for (int64_t i = 0; i < n; i++) {
        if (op[i] == AG_OP_LEAF) {
            ar->grad[id[i]] += f->adjoint[i];
        } else {
            ar->value[id[i]] = value[i];
            ar->grad[id[i]] = 0.0 + f->adjoint[i];   /* as a fresh grad: -0.0 becomes +0.0 */
        }
    }
    *root_value = value[n - 1];
    ag_unlock();
    return AG_OK;
}

/* ag_tape_free: drop the tape's references (freeing what only it kept) and
 * its memory.  NULL is a no-op. */
void ag_tape_free(ag_tape *t)
{
    if (t == NULL) return;
    int status = ag_release(t->f.id, (size_t)t->f.n);
    (void)status;   /* the tape's nodes are live: it holds them */
    free(t->block);
    free(t);
}
