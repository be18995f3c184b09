/* sweep.c: the graph below a root laid out flat, the one reverse sweep over
 * it, and what is built on them: backward, gradients, topo.  tape.c keeps a
 * flat graph to replay it with the same sweep.
 *
 * The layout is a depth-first post-order from the root (first input before
 * second), found with an explicit stack: no recursion on graph depth.  Each
 * node is copied to its position when the walk leaves it, with its inputs'
 * positions (known by then: a node's inputs are left before it), so the
 * sweep reads dense arrays in order and never looks an id up.
 *
 * Every piece of traversal state belongs to one call.  The arena's `slot`
 * array maps a node id to its visit index as a sparse set: slot[id] counts
 * only when visit[slot[id]] == id, and visit is filled by this call, so
 * whatever an earlier call left in slot can never be mistaken for a visit of
 * this one.  The lock is held for the whole call.
 *
 * autograd/engine/python/sweep.py is the twin of this file.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "sweep.h"
#include "tile.h"

/* How many nodes ahead the reverse sweep asks for scattered data. */
#define AG_PREFETCH 16
#if defined(__GNUC__)
#define AG_PREFETCH_LINE(p) __builtin_prefetch((p))
#else
#define AG_PREFETCH_LINE(p) ((void)(p))
#endif

/* Bytes per node of the walk's own arrays: visit, position, two inputs, next. */
#define AG_WALK_BYTES (4 * sizeof(int32_t) + 1)

/* ag_align4: p rounded up to the next multiple of 4 bytes, for int32 arrays
 * placed after a byte array. */
int32_t *ag_align4(void *p)
{
    return (int32_t *)(((uintptr_t)p + 3) & ~(uintptr_t)3);
}

/* ag_flat_carve: point f's arrays into block, which has room for cap
 * positions (cap * AG_FLAT_BYTES bytes); the doubles first, for alignment.
 * Returns nothing: the caller owns block. */
void ag_flat_carve(ag_flat *f, void *block, int64_t cap)
{
    f->c = block;
    f->value = f->c + cap;
    f->adjoint = f->value + cap;
    f->id = (int32_t *)(f->adjoint + cap);
    f->a = f->id + cap;
    f->b = f->a + cap;
    f->op = (uint8_t *)(f->b + cap);
}

/* ag_flat_order: lay out in f the graph below root, a live node, in the
 * arena's scratch block (valid until the lock is released).  Returns the
 * number of nodes n, or AG_ENOMEM.
 *
 * Room: the live nodes bound any graph's size, so no array ever grows and
 * filling them needs no bounds check.  The depth-first path lives at the far
 * end of f->id, growing down: a node is on the path or laid out, never both,
 * so the two never meet (with AG_NONE, at most cap positions are in use). */
int64_t ag_flat_order(ag_arena *ar, ag_flat *f, int32_t root)
{
    int64_t cap = (int64_t)ar->count - ar->nfree + 1;     /* + 1: the position AG_NONE */
    /* one node more than cap: room to align the walk's arrays after f->op */
    char *block = ag_scratch(ar, cap + 1, AG_FLAT_BYTES + AG_WALK_BYTES);
    if (block == NULL) return AG_ENOMEM;
    ag_flat_carve(f, block, cap);
    int32_t *visit = ag_align4(f->op + cap);    /* by visit index: the node's id */
    int32_t *position = visit + cap;            /* by visit index, once laid out */
    int32_t *input = position + cap;            /* by 2 * visit index (+1): inputs' visit indices */
    uint8_t *next = (uint8_t *)(input + 2 * cap);   /* by visit index: input to descend into next */
    int32_t *slot = ar->slot;
    int32_t *stack = f->id + cap - 1;   /* stack[-d]: the path's d-th node from the root */
    int32_t n = 1, depth = 1, laid = 1;     /* laid: the next position */
    visit[0] = root;
    next[0] = 0;
    slot[root] = 0;
    stack[0] = 0;
    while (depth > 0) {
        int32_t k = stack[1 - depth];
        int32_t id = visit[k];
        int j = next[k];
        if (j < ag_arity(ar->op[id])) {
            int32_t in = j == 0 ? ar->a[id] : ar->b[id];
            int32_t v = slot[in];
            next[k] = (uint8_t)(j + 1);
            /* unsigned: a stale negative slot fails the bound too */
            if ((uint32_t)v >= (uint32_t)n || visit[v] != in) {
                v = n++;
                visit[v] = in;
                next[v] = 0;
                slot[in] = v;
                stack[-depth++] = v;
            }
            input[2 * k + j] = v;
        } else {
            int32_t pos = laid++;
            position[k] = pos;
            f->id[pos] = id;
            f->op[pos] = ar->op[id];
            f->c[pos] = ar->c[id];
            f->value[pos] = ar->value[id];
            f->a[pos] = j >= 1 ? position[input[2 * k]] : AG_NONE;
            f->b[pos] = j >= 2 ? position[input[2 * k + 1]] : AG_NONE;
            depth--;
        }
    }
    f->id[AG_NONE] = -1;
    f->op[AG_NONE] = AG_OP_LEAF;
    f->c[AG_NONE] = 0.0;
    f->value[AG_NONE] = 0.0;
    f->a[AG_NONE] = f->b[AG_NONE] = AG_NONE;
    f->n = n;
    return n;
}

/* ag_sweep: the reverse sweep.  f->adjoint[i] becomes d(root)/d(node i) *
 * seed for every position, from f's values.  Each node, root first, sends
 * each input what its rule gives (rules.h), first input first; a node's
 * adjoint is complete when the sweep reaches it, since every node using it
 * comes later in the layout.  With grad != NULL (the arena's grads), that
 * complete adjoint is added into the node's grad there and then.  The sweep
 * goes down to position `first`: 1, or past a tape's leaves, which send
 * nothing.
 *
 * With anomaly != NULL (anomaly mode) the sweep stops at the first rule that
 * produces nan, fills *anomaly and returns AG_ENAN.  The rule was given a
 * complete adjoint that was not nan (with a seed that is not nan), so it made
 * the nan; its input only received it.  Returns AG_OK otherwise. */
int ag_sweep(ag_flat *f, int64_t first, double seed, double *grad, ag_anomaly *anomaly)
{
    const int64_t n = f->n;
    const int32_t *a = f->a, *b = f->b, *id = f->id;
    const uint8_t *op = f->op;
    const double *c = f->c, *value = f->value;
    double *adjoint = f->adjoint;
    for (int64_t i = 0; i <= n; i++) adjoint[i] = 0.0;
    adjoint[n] = seed;
    for (int64_t i = n; i >= first; i--) {
        if (i > AG_PREFETCH) {
            /* a node's second input is wherever the graph put it: ask for
             * its value and adjoint a few nodes ahead of the sweep */
            int32_t pb = b[i - AG_PREFETCH];
            AG_PREFETCH_LINE(&adjoint[pb]);
            AG_PREFETCH_LINE(&value[pb]);
        }
        if (grad != NULL) grad[id[i]] += adjoint[i];
        if (op[i] == AG_OP_LEAF) continue;
        double da = 0.0, db = 0.0;
        (void)ag_local_grads(op[i], value[a[i]], value[b[i]], c[i], value[i], adjoint[i], &da, &db);
        if (anomaly != NULL && (isnan(da) || isnan(db))) {
            anomaly->node = id[i];
            anomaly->input = isnan(da) ? 0 : 1;
            anomaly->g = adjoint[i];
            return AG_ENAN;
        }
        adjoint[a[i]] += da;
        /* not AG_NONE: adding to one place every time would chain the adds */
        if (b[i] != AG_NONE) adjoint[b[i]] += db;
    }
    return AG_OK;
}

/* backward_sweep: ag_backward, and with anomaly != NULL ag_backward_checked,
 * whose grads are added only once the sweep is through, so a sweep stopped
 * by an anomaly changes none. */
static int backward_sweep(int32_t root, double seed, ag_anomaly *anomaly)
{
    ag_arena *ar = &ag_global_arena;
    ag_flat f;
    int status = AG_OK;
    ag_lock();
    if (!ag_is_live(ar, root)) status = AG_EBADID;
    else if (ag_flat_order(ar, &f, root) < 0) status = AG_ENOMEM;
    else if (ag_stale_input(ar, f.n, f.id, f.a, f.b) >= 0) status = AG_ESTALE;   /* stale.c */
    else status = ag_sweep(&f, 1, seed, anomaly == NULL ? ar->grad : NULL, anomaly);
    if (status == AG_OK && anomaly != NULL)
        for (int64_t i = 1; i <= f.n; i++) ar->grad[f.id[i]] += f.adjoint[i];
    ag_unlock();
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

/* ag_gradients: write into out[i] d(root)/d(ids[i]) * seed for each of the
 * n ids (0 for a node root does not depend on), without changing any grad.
 * It is ag_backward's sweep without the adding, so out[i] is what
 * ag_backward would add to the grad of ids[i].  Returns AG_OK; AG_EBADID if
 * root or an id is not in use, or AG_ENOMEM, with out unchanged. */
int ag_gradients(int32_t root, double seed, const int32_t *ids, int64_t n, double *out)
{
    ag_arena *ar = &ag_global_arena;
    ag_flat f;
    int status = AG_OK;
    ag_lock();
    if (!ag_is_live(ar, root)) status = AG_EBADID;
    for (int64_t i = 0; i < n && status == AG_OK; i++)
        if (!ag_is_live(ar, ids[i])) status = AG_EBADID;
    if (status == AG_OK && ag_flat_order(ar, &f, root) < 0) status = AG_ENOMEM;
    if (status == AG_OK && ag_stale_input(ar, f.n, f.id, f.a, f.b) >= 0) status = AG_ESTALE;
    if (status == AG_OK) {
        (void)ag_sweep(&f, 1, seed, NULL, NULL);
        /* slot now as a sparse set by position */
        for (int64_t i = 1; i <= f.n; i++) ar->slot[f.id[i]] = (int32_t)i;
        for (int64_t i = 0; i < n; i++) {
            int32_t p = ar->slot[ids[i]];
            out[i] = ((uint32_t)p - 1 < (uint32_t)f.n && f.id[p] == ids[i]) ? f.adjoint[p] : 0.0;
        }
    }
    ag_unlock();
    return status;
}

/* ag_topo: write into out (room for cap ids) the ids of the nodes reachable
 * from root, inputs before the nodes that use them.  Returns their number n
 * (nothing is written when n > cap: call again with more room), AG_EBADID or
 * AG_ENOMEM. */
int64_t ag_topo(int32_t root, int32_t *out, int64_t cap)
{
    ag_arena *ar = &ag_global_arena;
    ag_flat f;
    int64_t n;
    ag_lock();
    if (!ag_is_live(ar, root)) {
        n = AG_EBADID;
    } else {
        n = ag_flat_order(ar, &f, root);
        if (n > 0 && n <= cap)
            for (int64_t i = 0; i < n; i++) out[i] = f.id[i + 1];
    }
    ag_unlock();
    return n;
}

/* ---- the sweep over a tile of rows -------------------------------------
 * ag_sweep_tile is ag_sweep run for AG_TILE_ROWS rows side by side: the same
 * nodes in the same order, each rule applied to every row before the next
 * node.  Within a row every operation and its order are ag_sweep's (the
 * rules are rules.h's rows, expanded once more), so each row's adjoints are
 * bit for bit those ag_sweep computes for it; only the loop over rows is
 * new, and that loop is what the compiler vectorises.  The unit is built
 * at -O3 (gcc's -O2 vectorises only the cheapest loops), still without
 * contraction into FMA and without -ffast-math; on x86-64 with gcc the
 * functions are also compiled for AVX-512 and AVX2, picked at load time. */

/* Which of x, y, out an op's backward rule reads. */
#define AG_READS_X 1
#define AG_READS_Y 2
#define AG_READS_OUT 4

/* mentions: whether the C expression text has the identifier name. */
static int mentions(const char *text, const char *name)
{
    const size_t len = strlen(name);
    const char *p = text;
    while (*p != '\0') {
        if (isalpha((unsigned char)*p) || *p == '_') {
            const char *start = p;
            while (isalnum((unsigned char)*p) || *p == '_') p++;
            if ((size_t)(p - start) == len && memcmp(start, name, len) == 0) return 1;
        } else if (isdigit((unsigned char)*p)) {
            while (isalnum((unsigned char)*p) || *p == '.') p++;     /* 1.0, 1e-5 */
        } else {
            p++;
        }
    }
    return 0;
}

/* rule_reads: which of x, y and out (AG_READS_*) op's backward rule reads,
 * found in the text of its rules.h row: a value its row does not name, the
 * rule cannot read. */
static int rule_reads(int op)
{
    const char *text = "x y out";   /* no rule: assume it reads everything */
    switch (op) {
#define AG_READS_CASE(name, value, grad_a, grad_b) case AG_OP_##name: text = #grad_a " " #grad_b; break;
    AG_RULES(AG_READS_CASE)
#undef AG_READS_CASE
    default: break;
    }
    return (mentions(text, "x") ? AG_READS_X : 0) | (mentions(text, "y") ? AG_READS_Y : 0)
           | (mentions(text, "out") ? AG_READS_OUT : 0);
}

/* How many steps ag_flat_tile_plan may spend, per node, checking that
 * chains can be fused: chains inside chains make a check look at a node
 * once per chain around it, and past this the outer chains stay unfused,
 * so planning stays linear in the graph's size. */
#define AG_FUSE_CHECKS 4

/* Whether position p is a mul of the sweep with one reader (a term). */
static inline int is_term(const ag_flat *f, int64_t first, const int32_t *readers, int32_t p)
{
    return p >= first && f->op[p] == AG_OP_MUL && readers[p] == 1;
}

/* Whether position i is an add of the sweep whose b is a term (a link). */
static inline int is_link(const ag_flat *f, int64_t first, const int32_t *readers, int32_t i)
{
    return i >= first && f->op[i] == AG_OP_ADD && is_term(f, first, readers, f->b[i]);
}

/* Whether link i is a partial sum inside a longer chain: its one reader is
 * a link that takes it as a, with the reader's term laid out above it. */
static inline int is_inner(const ag_flat *f, int64_t first, const int32_t *readers,
                           const int32_t *reader, int32_t i)
{
    return is_link(f, first, readers, i) && readers[i] == 1
           && is_link(f, first, readers, reader[i]) && f->a[reader[i]] == i
           && i < f->b[reader[i]];
}

/* find_chains: fill plan->chain and plan->terms (see sweep.h) with the
 * chains of f that are fused, and return how many.  A chain ends at a link
 * e that is not inner; going down through a's, its links are e and the
 * inner links below it; the a of the lowest is the start, itself the first
 * term when it is a mul with one reader.  Every node of a chain but e has
 * one reader, inside the chain, so no other node reads its value or sends
 * into its adjoint; the layout (a first) puts each link's a below its b.
 *
 * Fused, the chain's sends all happen at e, in the unfused order; the sends
 * of other nodes stay where they were.  Into an adjoint that only the
 * chain sends to between its lowest node lo and e, the adds come in the
 * same order.  So a chain is fused only if no node strictly between lo and
 * e, outside the chain, sends into an input of the chain (a chain inside
 * is checked as its unfused nodes: they send into the same inputs).  A
 * chain refused runs unfused, all of it.
 *
 * Scratch (by position): readers, reader, owner, target; all n + 1. */
static int64_t find_chains(const ag_flat *f, int64_t first, ag_tile_plan *plan, int32_t *readers,
                           int32_t *reader, int32_t *owner, int32_t *target)
{
    const int64_t n = f->n;
    const int32_t *a = f->a, *b = f->b;
    int32_t *chain = plan->chain, *terms = plan->terms;
    int64_t budget = AG_FUSE_CHECKS * (n + 1);  /* steps left for the checks */
    int64_t used = 0, nchain = 0;               /* used: of terms */
    for (int64_t p = 0; p <= n; p++) {
        readers[p] = 0;
        reader[p] = AG_NONE;
        owner[p] = target[p] = AG_NONE;
        chain[p] = AG_PLAIN;
    }
    for (int64_t i = first; i <= n; i++) {
        if (f->op[i] == AG_OP_LEAF) continue;
        readers[a[i]]++;
        reader[a[i]] = (int32_t)i;
        if (b[i] != AG_NONE) {
            readers[b[i]]++;
            reader[b[i]] = (int32_t)i;
        }
    }
    for (int32_t e = (int32_t)first; e <= n; e++) {
        if (!is_link(f, first, readers, e) || is_inner(f, first, readers, reader, e)) continue;
        int32_t k = e, m = 1;   /* k: the lowest link so far; m: its terms */
        int ordered = a[k] < b[k];
        while (is_inner(f, first, readers, reader, a[k])) {
            k = a[k];
            m++;
            ordered &= a[k] < b[k];
        }
        int32_t start = a[k];
        int mul_start = is_term(f, first, readers, start);
        int32_t lo = mul_start ? start : b[k];      /* the chain's lowest node */
        m += mul_start;
        if (!ordered || budget < e - lo) continue;
        budget -= e - lo;
        /* mark the chain's nodes and its inputs, lay out its terms */
        int32_t *t = terms + used;
        t[0] = m;
        t[1] = mul_start ? AG_MUL_START : start;
        if (!mul_start) target[start] = e;
        int32_t j = m;      /* the next term to write, from the last */
        for (k = e;; k = a[k]) {
            owner[k] = owner[b[k]] = e;
            j--;
            t[2 + 2 * j] = a[b[k]];
            t[3 + 2 * j] = b[b[k]];
            if (a[k] == start) break;
        }
        if (mul_start) {
            owner[start] = e;
            t[2] = a[start];
            t[3] = b[start];
        }
        for (j = 0; j < m; j++) target[t[2 + 2 * j]] = target[t[3 + 2 * j]] = e;
        int clear = 1;      /* no other node in (lo, e) sends into the chain's inputs */
        for (int32_t p = lo + 1; p < e && clear; p++)
            if (owner[p] != e && f->op[p] != AG_OP_LEAF)
                clear = target[a[p]] != e && (b[p] == AG_NONE || target[b[p]] != e);
        if (!clear) continue;
        for (k = e;; k = a[k]) {
            chain[k] = chain[b[k]] = AG_FUSED;
            if (a[k] == start) break;
        }
        if (mul_start) chain[start] = AG_FUSED;
        chain[e] = (int32_t)used;
        used += 2 + 2 * m;
        nchain++;
    }
    return nchain;
}

/* first_add: whether a send into p is the first add into p's adjoint (seen
 * marks the positions that have received one); at a first add, a position
 * of the sweep gets its adjoint row.  *rows and spare: as in
 * ag_flat_tile_plan. */
static int first_add(int32_t p, int64_t first, uint8_t *seen, int32_t *adjoint, int32_t *spare,
                     int64_t *nspare, int64_t *rows)
{
    if (seen[p]) return 0;
    seen[p] = 1;
    if (p >= first) adjoint[p] = *nspare > 0 ? spare[--*nspare] : (int32_t)(*rows)++;
    return 1;
}

/* ag_flat_tile_plan: the rows of f's tiles for a sweep down to `first` (the
 * positions below it are leaves: rows of their own, 0 .. first - 1), and
 * its fused chains (find_chains), in block (AG_TILE_PLAN_BYTES(f->n) bytes,
 * which the plan's arrays point into).
 *
 * Values: a node's value gets a row when the forward pass computes it (a
 * chain: at its end; its other nodes get none); the row is free again
 * after its last reader in the forward pass (a chain's node reads at the
 * chain's end) unless a backward rule reads it (as x, y or out), or it is
 * the root's.  Adjoints: a position's adjoint gets a row at the first add
 * into it (the sweep goes from the root down) and frees it once the node's
 * own rule has read it; the root's and the leaves' keep theirs.  A node's
 * inputs get their rows before its own is freed, so no loop reads and
 * writes one row.
 *
 * flags[i]: AG_FIRST_A when what node i sends its input a is the first add
 * into a's adjoint, AG_FIRST_B the same for b (a node that takes one node
 * twice sends to a first); term_flags the same for a chain's sends.
 * ag_sweep adds into adjoints that start at 0.0; ag_sweep_tile stores 0.0 +
 * d at a first add instead (the bits the add gives), so a reused row needs
 * no zeroing. */
void ag_flat_tile_plan(const ag_flat *f, int64_t first, ag_tile_plan *plan, void *block)
{
    const int64_t n = f->n;
    const int32_t *a = f->a, *b = f->b;
    int32_t *value = block;
    int32_t *adjoint = value + n + 1;
    int32_t *last = adjoint + n + 1;        /* by position: where its last reader runs */
    int32_t *spare = last + n + 1;          /* rows free for reuse, a stack */
    int32_t *chain = spare + n + 1;
    int32_t *terms = chain + n + 1;         /* 2 * (n + 1): a chain of m terms has 2m nodes or more */
    int32_t *run = terms + 2 * (n + 1);
    int32_t *readers = run + n + 1;         /* find_chains' scratch, 4 * (n + 1) */
    uint8_t *flags = (uint8_t *)(readers + 4 * (n + 1));
    uint8_t *keep = flags + n + 1;          /* by position: its value row stays */
    uint8_t *term_flags = keep + n + 1;     /* 2 * (n + 1), as terms */
    int reads[AG_OP_COUNT];
    int64_t nspare = 0, rows;
    plan->chain = chain;
    plan->terms = terms;
    plan->term_flags = term_flags;
    plan->nchain = find_chains(f, first, plan, readers, readers + n + 1, readers + 2 * (n + 1),
                               readers + 3 * (n + 1));
    const int32_t *owner = readers + 2 * (n + 1);   /* a fused node's chain end */
    for (int op = 0; op < AG_OP_COUNT; op++) reads[op] = rule_reads(op);
    for (int64_t p = 0; p <= n; p++) {
        keep[p] = p < first || p == n;
        last[p] = (int32_t)p;
        flags[p] = 0;
    }
    for (int64_t p = 0; p < 2 * (n + 1); p++) term_flags[p] = 0;
    for (int64_t i = first; i <= n; i++) {
        if (f->op[i] == AG_OP_LEAF) continue;
        int r = reads[f->op[i]];
        int32_t at = chain[i] == AG_FUSED ? owner[i] : (int32_t)i;  /* where node i runs */
        keep[i] |= (r & AG_READS_OUT) != 0;
        keep[a[i]] |= (r & AG_READS_X) != 0;
        keep[b[i]] |= (r & AG_READS_Y) != 0;
        if (last[a[i]] < at) last[a[i]] = at;
        if (last[b[i]] < at) last[b[i]] = at;
    }
    for (int64_t p = 0; p < first && p <= n; p++) value[p] = adjoint[p] = (int32_t)p;
    rows = first;
    for (int64_t i = first; i <= n; i++) {
        if (chain[i] == AG_FUSED) {
            value[i] = adjoint[i] = AG_NONE;    /* never read */
            continue;
        }
        value[i] = nspare > 0 ? spare[--nspare] : (int32_t)rows++;
        if (chain[i] >= 0) {
            const int32_t *t = terms + chain[i];
            for (int64_t j = t[1] == AG_MUL_START ? 2 : 1; j < 2 + 2 * t[0]; j++) {
                int32_t p = t[j];
                if (p >= first && !keep[p] && last[p] == i) {
                    spare[nspare++] = value[p];
                    last[p] = -1;   /* freed: a second use in the chain frees nothing */
                }
            }
            continue;
        }
        if (a[i] >= first && !keep[a[i]] && last[a[i]] == i) spare[nspare++] = value[a[i]];
        if (b[i] >= first && b[i] != a[i] && !keep[b[i]] && last[b[i]] == i) spare[nspare++] = value[b[i]];
    }
    plan->nvalue = rows;
    plan->run = run;
    plan->nrun = 0;
    for (int64_t i = first; i <= n; i++)
        if (f->op[i] != AG_OP_LEAF && chain[i] != AG_FUSED) run[plan->nrun++] = (int32_t)i;

    /* keep[] now marks the positions that have received an add */
    for (int64_t p = 0; p <= n; p++) keep[p] = 0;
    nspare = 0;
    rows = first;
    if (n >= first) adjoint[n] = (int32_t)rows++;
    for (int64_t i = n; i >= first; i--) {
        if (f->op[i] == AG_OP_LEAF || chain[i] == AG_FUSED) continue;
        if (chain[i] >= 0) {
            /* the unfused order: the terms from the last, the start's send
             * (made by the lowest link) between the first two */
            const int32_t o = chain[i];
            const int32_t *t = terms + o;
            uint8_t *tf = term_flags + o;
            for (int32_t j = t[0] - 1; j >= 0; j--) {
                if (j == 0 && t[1] != AG_MUL_START && first_add(t[1], first, keep, adjoint, spare, &nspare, &rows))
                    tf[1] = AG_FIRST_A;
                if (first_add(t[2 + 2 * j], first, keep, adjoint, spare, &nspare, &rows))
                    tf[2 + 2 * j] = AG_FIRST_A;
                if (first_add(t[3 + 2 * j], first, keep, adjoint, spare, &nspare, &rows))
                    tf[3 + 2 * j] = AG_FIRST_A;
            }
        } else {
            if (first_add(a[i], first, keep, adjoint, spare, &nspare, &rows)) flags[i] |= AG_FIRST_A;
            if (b[i] != AG_NONE && first_add(b[i], first, keep, adjoint, spare, &nspare, &rows))
                flags[i] |= AG_FIRST_B;
        }
        spare[nspare++] = adjoint[i];   /* read by this node's rule, never again */
    }
    plan->nadjoint = rows;
    plan->value = value;
    plan->adjoint = adjoint;
    plan->flags = flags;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("O3", "fp-contract=off")
#endif

/* local_grads_tile: into da[r] and db[r], the adjoints op sends to its
 * inputs in row r, given the rows of its inputs' values (xs, ys), its
 * value (outs) and its adjoint (gs): ag_local_grads, row by row. */
static AG_TILE_INLINE void local_grads_tile(int op, const double *restrict xs, const double *restrict ys,
                                            double c, const double *restrict outs,
                                            const double *restrict gs, double *restrict da,
                                            double *restrict db)
{
    (void)c;
    switch (op) {
#define AG_BACKWARD_TILE_CASE(name, value, grad_a, grad_b) \
    case AG_OP_##name: \
        for (int r = 0; r < AG_TILE_ROWS; r++) { \
            const double x = xs[r], y = ys[r], out = outs[r], g = gs[r]; \
            (void)x; (void)y; (void)out; \
            da[r] = (grad_a); \
            db[r] = (grad_b); \
        } \
        break;
    AG_RULES(AG_BACKWARD_TILE_CASE)
#undef AG_BACKWARD_TILE_CASE
    default: break;     /* a leaf: the caller never asks */
    }
}

/* send_rows: an input's adjoint rows receive d: dst[r] = 0.0 + d[r] at its
 * first add (dst holds anything before), dst[r] += d[r] after. */
static AG_TILE_INLINE void send_rows(double *restrict dst, const double *restrict d, int first_add)
{
    if (first_add)
        for (int r = 0; r < AG_TILE_ROWS; r++) dst[r] = 0.0 + d[r];
    else
        for (int r = 0; r < AG_TILE_ROWS; r++) dst[r] += d[r];
}

/* send_product: a term's send into an input's adjoint rows dst: g[r] *
 * v[r], stored as 0.0 + d at the first add, added after (send_rows). */
static AG_TILE_INLINE void send_product(double *restrict dst, const double *restrict g,
                                        const double *restrict v, int first_add)
{
    if (first_add)
        for (int r = 0; r < AG_TILE_ROWS; r++) dst[r] = 0.0 + g[r] * v[r];
    else
        for (int r = 0; r < AG_TILE_ROWS; r++) dst[r] += g[r] * v[r];
}

/* send_scaled: send_product with every v[r] the same number v. */
static AG_TILE_INLINE void send_scaled(double *restrict dst, const double *restrict g, double v, int first_add)
{
    if (first_add)
        for (int r = 0; r < AG_TILE_ROWS; r++) dst[r] = 0.0 + g[r] * v;
    else
        for (int r = 0; r < AG_TILE_ROWS; r++) dst[r] += g[r] * v;
}

/* send_times: send_product by the value of position p: its row, or the
 * number of a fixed leaf. */
static AG_TILE_INLINE void send_times(double *restrict dst, const double *restrict g, int32_t p,
                                      const ag_tile_leaves *leaves, const int32_t *vrow,
                                      const double *value, int first_add)
{
    if (ag_is_fixed(leaves, p)) send_scaled(dst, g, leaves->value[p], first_add);
    else send_product(dst, g, AG_TILE_AT(value, vrow[p]), first_add);
}

/* send_terms: a fused chain's sends for the rows of its end's adjoint gs,
 * those of its unfused nodes in the unfused order (ag_flat_tile_plan).  The
 * end's a and the end's term receive gs; every other node of the chain
 * (inner link or term) then has the adjoint 0.0 + gs, its first and only
 * add, and so does every partial sum below.  The start receives what the
 * lowest link has: gs itself when that link is the end.  A term (a mul,
 * value w * x) sends (0.0 + g) * x to its a, then (0.0 + g) * w to its b
 * (one row when the term is x * x: the two sends still add in that order). */
static AG_TILE_INLINE void send_terms(const int32_t *t, const uint8_t *tf, const ag_tile_leaves *leaves,
                                      const int32_t *vrow, const int32_t *arow, const double *value,
                                      double *adjoint, const double *restrict gs, double *restrict g0)
{
    for (int r = 0; r < AG_TILE_ROWS; r++) g0[r] = 0.0 + gs[r];
    for (int32_t j = t[0] - 1; j >= 0; j--) {
        if (j == 0 && t[1] != AG_MUL_START)
            send_rows(AG_TILE_AT(adjoint, arow[t[1]]), t[0] == 1 ? gs : g0, tf[1]);
        const int32_t pa = t[2 + 2 * j], pb = t[3 + 2 * j];
        send_times(AG_TILE_AT(adjoint, arow[pa]), g0, pb, leaves, vrow, value, tf[2 + 2 * j]);
        send_times(AG_TILE_AT(adjoint, arow[pb]), g0, pa, leaves, vrow, value, tf[3 + 2 * j]);
    }
}

/* ag_sweep_tile: ag_sweep for AG_TILE_ROWS rows at once.  value holds the
 * value tile of f's values, each position at its row of the plan (position
 * AG_NONE's row all 0.0); the adjoint tile (its contents of no matter)
 * receives d(root)/d(node i) * seed in each row, at the plan's rows: for the
 * leaves (and the root) when the sweep ends, for the other positions while
 * their rows are theirs.  f's own value and adjoint arrays are not read.
 * plan: ag_flat_tile_plan(f, leaves->first), whose run list names the
 * nodes to visit (a fused chain sends at its end: send_terms).  A fixed
 * leaf's row holds its value in every row; send_terms multiplies by the
 * number.  scratch has room for 2 * AG_TILE_ROWS doubles.  No grads and no
 * anomaly check: the batched run (tape.c) reads the adjoints it needs from
 * the tile.  Goes down to position leaves->first, as ag_sweep.  Returns
 * AG_OK. */
AG_TILE_CLONES int ag_sweep_tile(const ag_flat *f, const ag_tile_leaves *leaves, const ag_tile_plan *plan,
                                 double seed, const double *value, double *adjoint, double *scratch)
{
    const int64_t n = f->n;
    const int32_t *a = f->a, *b = f->b, *vrow = plan->value, *arow = plan->adjoint, *chain = plan->chain;
    const uint8_t *op = f->op, *flags = plan->flags;
    const double *c = f->c;
    double *da = scratch, *db = scratch + AG_TILE_ROWS;
    for (int r = 0; r < AG_TILE_ROWS; r++) AG_TILE_AT(adjoint, arow[n])[r] = seed;
    for (int64_t k = plan->nrun - 1; k >= 0; k--) {
        const int32_t i = plan->run[k];
        if (chain[i] >= 0) {
            send_terms(plan->terms + chain[i], plan->term_flags + chain[i], leaves, vrow, arow, value,
                       adjoint, AG_TILE_AT(adjoint, arow[i]), da);
            continue;
        }
        local_grads_tile(op[i], AG_TILE_AT(value, vrow[a[i]]), AG_TILE_AT(value, vrow[b[i]]), c[i],
                         AG_TILE_AT(value, vrow[i]), AG_TILE_AT(adjoint, arow[i]), da, db);
        /* da first, then db, row by row as ag_sweep; when a == b the two
         * loops still add in that order in every row */
        send_rows(AG_TILE_AT(adjoint, arow[a[i]]), da, flags[i] & AG_FIRST_A);
        if (b[i] != AG_NONE) send_rows(AG_TILE_AT(adjoint, arow[b[i]]), db, flags[i] & AG_FIRST_B);
    }
    return AG_OK;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif
