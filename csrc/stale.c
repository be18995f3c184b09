/* stale.c: finding a graph whose leaf changed after the graph read it.
 *
 * `x.data = 3.0` on a leaf that a built graph already used leaves that
 * graph's values computed from the old value; a backward sweep over it would
 * mix old values (in the nodes) with the new one (in the leaf) and give the
 * derivative at neither point.  Each node carries a stamp: the arena's epoch
 * when its value was computed, or, for a leaf, when its value was last set
 * (each set bumps the epoch; arena.c).  An input stamped later than a node
 * that reads it has changed since: the sweeps refuse the graph (AG_ESTALE)
 * and ag_find_stale names the input.  Replay recomputes every value, so it
 * is never stale; it restamps what it recomputes (tape.c).
 *
 * autograd/engine/python/stale.py is the twin of this file.
 */
#include "sweep.h"

/* ag_stale_input: the first input (in layout order) whose value was written
 * after a node of a flat graph read it, or -1 if none.  The graph's n nodes
 * are given by position (1 .. n, as in sweep.h): id[i] the node, a[i] and
 * b[i] its inputs' positions (AG_NONE for none).  Call with the lock held. */
int32_t ag_stale_input(const ag_arena *ar, int64_t n, const int32_t *id, const int32_t *a,
                       const int32_t *b)
{
    const uint64_t *stamp = ar->stamp;
    /* the usual case first: every node computed since the last write to a
     * leaf (the graph was built after the update), so no input is newer */
    int64_t i = 1;
    while (i <= n && (a[i] == AG_NONE || stamp[id[i]] == ar->epoch)) i++;
    if (i > n) return -1;
    for (i = 1; i <= n; i++) {
        if (a[i] == AG_NONE) continue;              /* a leaf */
        uint64_t read = stamp[id[i]];
        if (stamp[id[a[i]]] > read) return id[a[i]];
        if (b[i] != AG_NONE && stamp[id[b[i]]] > read) return id[b[i]];
    }
    return -1;
}

/* ag_find_stale: the input that makes the graph below root stale (see
 * ag_stale_input), -1 if the graph is not stale; AG_EBADID or AG_ENOMEM. */
int32_t ag_find_stale(int32_t root)
{
    ag_arena *ar = &ag_global_arena;
    ag_flat f;
    int32_t out;
    ag_lock();
    if (!ag_is_live(ar, root)) out = AG_EBADID;
    else if (ag_flat_order(ar, &f, root) < 0) out = AG_ENOMEM;
    else out = ag_stale_input(ar, f.n, f.id, f.a, f.b);
    ag_unlock();
    return out;
}
