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
 *
 * A batched run (ag_tape_run_batch) is a run per row of input columns, done
 * in tiles of rows: the forward pass and ag_sweep_tile apply each node's
 * rule to a whole tile row before the next node, the rows' adjoints of the
 * shared leaves are then added into their grads tile after tile, row by row
 * in row order.  The arena is read once before the rows and written once
 * after them, so no row takes its lock; several threads may run tiles (a
 * few ahead of the sums each), and the tiles that have run are added in
 * tile order by one thread at a time, so the sums are those of one
 * thread.  Where the tiles keep each position's rows, and which chains of
 * the graph run fused, is planned once, when the tape is recorded
 * (ag_flat_tile_plan, ~50 bytes a node): the graph never changes after.
 * autograd/engine/python/tape.py is the twin of this file.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "sweep.h"
#include "tile.h"

struct ag_tape {
    ag_flat f;          /* the graph, with values and adjoints of the current run */
    int64_t nleaf;      /* its leaves are at positions 1 .. nleaf */
    ag_tile_plan plan;  /* the tiles of a batched run, and its fused chains (sweep.h) */
    void *block;        /* the one allocation holding f's arrays and the plan's */
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
    } else if ((t->block = ag_alloc((size_t)(f.n + 1) * AG_FLAT_BYTES + 3 + AG_TILE_PLAN_BYTES(f.n))) == NULL) {
        *status = AG_ENOMEM;
    } else {
        /* after f's arrays (+ 3 bytes: room to align), lay_out's `moved`,
         * then, over it, the plan's arrays (AG_TILE_PLAN_BYTES(n) holds n + 1 int32s) */
        ag_flat_carve(&t->f, t->block, f.n + 1);
        int32_t *after = ag_align4(t->f.op + f.n + 1);
        lay_out(t, &f, after);
        ag_flat_tile_plan(&t->f, t->nleaf + 1, &t->plan, after);
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

/* ag_tape_leaves: write into out (room for cap ids) the ids of the tape's
 * leaves, in their order on the tape.  Returns their number (nothing is
 * written when it exceeds cap). */
int64_t ag_tape_leaves(const ag_tape *t, int32_t *out, int64_t cap)
{
    if (t->nleaf <= cap)
        for (int64_t i = 0; i < t->nleaf; i++) out[i] = t->f.id[i + 1];
    return t->nleaf;
}

/* ---- batched replay ---------------------------------------------------- */

/* Adjoint tiles per thread: how many tiles a thread may run ahead of the
 * sums, which take the tiles strictly in order. */
#define AG_TILES_AHEAD 3
/* Tiles per thread at the least: starting a thread costs about a tile. */
#define AG_TILES_PER_THREAD 4

typedef struct worker worker;

/* One batched run: what its threads share.  Only the fields after `lock`
 * change while the threads run, under the lock (acc: by the one thread
 * that is adding). */
typedef struct {
    const ag_tape *t;
    int64_t nrows, ntiles;
    double seed;
    const ag_tile_plan *plan;   /* the rows of the tape's graph in a tile */
    int64_t ncol;
    const int32_t *col_pos;     /* by column: the position of the leaf it feeds */
    double *const *col;         /* by column: its nrows values */
    int64_t ngrad;
    const int32_t *grad_pos;    /* by grads_of entry: the leaf's position */
    double *const *grad_out;    /* by grads_of entry: room for nrows adjoints */
    double *values_out;         /* room for nrows root values */
    int64_t nshared;            /* leaves whose grads accumulate (NULL acc: none) */
    const int32_t *shared_pos;
    ag_tile_leaves leaves;      /* the columns' leaves, and the leaves' values (0: 0.0) */
    pthread_mutex_t lock;
    pthread_cond_t turn;        /* a tile was added: a thread may have room again */
    double *acc;                /* by shared leaf: its grad, rows added so far */
    int64_t next_tile;          /* the next tile to claim */
    int64_t reduced;            /* tiles 0 .. reduced - 1 are added into acc */
    int adding;                 /* a thread is adding tiles into acc */
    double **done;              /* by tile: its adjoint tile once run, until added */
    worker **owner;             /* by tile: the thread that ran it */
} batch;

/* One thread's tiles. */
struct worker {
    batch *job;
    double *value;              /* a tile of the plan's value rows */
    double *adjoint;            /* AG_TILES_AHEAD tiles of the plan's adjoint rows */
    double *scratch;            /* 2 * AG_TILE_ROWS, for ag_sweep_tile */
    int64_t ran, added;         /* tiles it claimed, and of those, added into acc */
};

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("O3", "fp-contract=off")
#endif

/* forward_tile: outs[r], the value of op in row r: ag_forward, row by row. */
static AG_TILE_INLINE void forward_tile(int op, const double *restrict xs, const double *restrict ys,
                                        double c, double *restrict outs)
{
    (void)c;
    switch (op) {
#define AG_FORWARD_TILE_CASE(name, value, grad_a, grad_b) \
    case AG_OP_##name: \
        for (int r = 0; r < AG_TILE_ROWS; r++) { \
            const double x = xs[r], y = ys[r]; \
            (void)x; (void)y; \
            outs[r] = (value); \
        } \
        break;
    AG_RULES(AG_FORWARD_TILE_CASE)
#undef AG_FORWARD_TILE_CASE
    default: break;     /* a leaf: its value is given */
    }
}

/* chain_tile: outs[r], the value of a fused chain's end in row r (terms:
 * its entry in the plan's terms, sweep.h): the start, or the first term's
 * product, then plus each next term's product, rounded at each step as the
 * unfused adds and muls round.  With gcc or clang, 32 rows at a time keep
 * their sums in vector registers over all the terms (8 of 4 doubles: the
 * AVX2 clone's registers; a vector's + and * round each lane as the scalar
 * ops do); gcc's own vectoriser spilled them on every term. */
#if defined(__GNUC__)
typedef double ag_rows4 __attribute__((vector_size(4 * sizeof(double))));
#define AG_CHAIN_ROWS 32

/* v = 4 rows at p: rows are 8-byte aligned only (a macro: a function
 * returning a vector would change the ABI where AVX is off) */
#define AG_LOAD4(v, p) memcpy(&(v), (p), sizeof(v))

/* chain_terms: sum + w * x for the AG_CHAIN_ROWS rows at r0 of term j,
 * (w, x) = (t[2 + 2j], t[3 + 2j]), or w * x when start; a fixed leaf's
 * number is broadcast, not read from its row. */
static AG_TILE_INLINE void chain_terms(const int32_t *t, int32_t j, const ag_tile_leaves *leaves,
                                       const int32_t *vrow, const double *value, int r0,
                                       ag_rows4 *restrict sum, int start)
{
    const int32_t pw = t[2 + 2 * j], px = t[3 + 2 * j];
    const int fw = ag_is_fixed(leaves, pw), fx = ag_is_fixed(leaves, px);
    ag_rows4 v, u;
    if (fw != fx) {
        /* w * x == x * w: one number times a row */
        const double k = leaves->value[fw ? pw : px];
        const double *x = AG_TILE_AT(value, vrow[fw ? px : pw]) + r0;
        for (int q = 0; q < AG_CHAIN_ROWS / 4; q++) {
            AG_LOAD4(u, x + 4 * q);
            sum[q] = start ? u * k : sum[q] + u * k;
        }
        return;
    }
    const double *w = AG_TILE_AT(value, vrow[pw]) + r0, *x = AG_TILE_AT(value, vrow[px]) + r0;
    for (int q = 0; q < AG_CHAIN_ROWS / 4; q++) {
        AG_LOAD4(v, w + 4 * q);
        AG_LOAD4(u, x + 4 * q);
        sum[q] = start ? v * u : sum[q] + v * u;
    }
}

static AG_TILE_INLINE void chain_tile(const int32_t *t, const ag_tile_leaves *leaves, const int32_t *vrow,
                                      const double *value, double *restrict outs)
{
    const int32_t m = t[0];
    for (int r0 = 0; r0 < AG_TILE_ROWS; r0 += AG_CHAIN_ROWS) {
        ag_rows4 sum[AG_CHAIN_ROWS / 4], v;
        int32_t j = 0;      /* the next term */
        if (t[1] == AG_MUL_START) {
            chain_terms(t, 0, leaves, vrow, value, r0, sum, 1);
            j = 1;
        } else {
            const double *s = AG_TILE_AT(value, vrow[t[1]]) + r0;
            for (int k = 0; k < AG_CHAIN_ROWS / 4; k++) {
                AG_LOAD4(v, s + 4 * k);
                sum[k] = v;
            }
        }
        for (; j < m; j++) chain_terms(t, j, leaves, vrow, value, r0, sum, 0);
        memcpy(outs + r0, sum, sizeof sum);
    }
}
#else
static AG_TILE_INLINE void chain_tile(const int32_t *t, const ag_tile_leaves *leaves, const int32_t *vrow,
                                      const double *value, double *restrict outs)
{
    (void)leaves;   /* a fixed leaf's row holds its number in every row */
    int32_t j = 0;      /* the next term */
    if (t[1] == AG_MUL_START) {
        const double *w = AG_TILE_AT(value, vrow[t[2]]), *x = AG_TILE_AT(value, vrow[t[3]]);
        for (int r = 0; r < AG_TILE_ROWS; r++) outs[r] = w[r] * x[r];
        j = 1;
    } else {
        const double *s = AG_TILE_AT(value, vrow[t[1]]);
        for (int r = 0; r < AG_TILE_ROWS; r++) outs[r] = s[r];
    }
    for (; j < t[0]; j++) {
        const double *w = AG_TILE_AT(value, vrow[t[2 + 2 * j]]), *x = AG_TILE_AT(value, vrow[t[3 + 2 * j]]);
        for (int r = 0; r < AG_TILE_ROWS; r++) outs[r] = outs[r] + w[r] * x[r];
    }
}
#endif

/* run_tile: rows row0 .. row0 + rows - 1 (rows <= AG_TILE_ROWS) in w's
 * value tile and the adjoint tile `adjoint`: the columns into their leaves,
 * every other node's value as ag_tape_run computes it (a fused chain's at
 * its end), the sweep, and the root values and grads_of adjoints out.  A tile always computes all its
 * rows (past `rows`, on numbers of no matter, never read).  The shared
 * leaves' adjoints stay in `adjoint` for add_tile. */
AG_TILE_CLONES static void run_tile(worker *w, double *adjoint, int64_t row0, int64_t rows)
{
    const batch *job = w->job;
    const ag_flat *f = &job->t->f;
    const int64_t n = f->n;
    const int32_t *a = f->a, *b = f->b, *vrow = job->plan->value, *arow = job->plan->adjoint;
    const int32_t *chain = job->plan->chain;
    const uint8_t *op = f->op;
    const double *c = f->c;
    double *value = w->value;
    const size_t bytes = (size_t)rows * sizeof(double);
    for (int64_t j = 0; j < job->ncol; j++)
        memcpy(AG_TILE_AT(value, vrow[job->col_pos[j]]), job->col[j] + row0, bytes);
    for (int64_t k = 0; k < job->plan->nrun; k++) {
        const int32_t i = job->plan->run[k];
        if (chain[i] == AG_PLAIN)
            forward_tile(op[i], AG_TILE_AT(value, vrow[a[i]]), AG_TILE_AT(value, vrow[b[i]]), c[i],
                         AG_TILE_AT(value, vrow[i]));
        else
            chain_tile(job->plan->terms + chain[i], &job->leaves, vrow, value, AG_TILE_AT(value, vrow[i]));
    }
    (void)ag_sweep_tile(f, &job->leaves, job->plan, job->seed, value, adjoint, w->scratch);
    memcpy(job->values_out + row0, AG_TILE_AT(value, vrow[n]), bytes);
    for (int64_t j = 0; j < job->ngrad; j++)
        memcpy(job->grad_out[j] + row0, AG_TILE_AT(adjoint, arow[job->grad_pos[j]]), bytes);
}

/* add_tile: add the tile's rows of the shared leaves' adjoints into acc,
 * row after row, as ag_tape_run adds each run's into the grads.  Leaves go
 * in groups of eight, each leaf's sum kept in a register over the rows: the
 * eight sums are eight chains of adds that run side by side. */
AG_TILE_CLONES static void add_tile(const batch *job, const double *adjoint, int64_t rows)
{
    const int64_t nshared = job->nshared;
    const int32_t *pos = job->shared_pos;
    double *acc = job->acc;
    int64_t s = 0;
    for (; s + 8 <= nshared; s += 8) {
        double sum[8];
        const double *row[8];
        for (int k = 0; k < 8; k++) {
            sum[k] = acc[s + k];
            row[k] = AG_TILE_AT(adjoint, job->plan->adjoint[pos[s + k]]);
        }
        for (int64_t r = 0; r < rows; r++)
            for (int k = 0; k < 8; k++) sum[k] += row[k][r];
        for (int k = 0; k < 8; k++) acc[s + k] = sum[k];
    }
    for (; s < nshared; s++) {
        double sum = acc[s];
        const double *row = AG_TILE_AT(adjoint, job->plan->adjoint[pos[s]]);
        for (int64_t r = 0; r < rows; r++) sum += row[r];
        acc[s] = sum;
    }
}

/* fill_leaves: in w's value tile, the row of position AG_NONE (0.0) and
 * of every leaf (its value from the arena), the same in every row of the
 * tile; run_tile then writes the columns' leaves over theirs. */
AG_TILE_CLONES static void fill_leaves(worker *w)
{
    const batch *job = w->job;
    const int32_t *vrow = job->plan->value;
    for (int r = 0; r < AG_TILE_ROWS; r++) AG_TILE_AT(w->value, vrow[AG_NONE])[r] = 0.0;
    for (int64_t p = 1; p <= job->t->nleaf; p++) {
        const double v = job->leaves.value[p];
        double *restrict row = AG_TILE_AT(w->value, vrow[p]);
        for (int r = 0; r < AG_TILE_ROWS; r++) row[r] = v;
    }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

/* add_done: with job->lock held, add into acc every tile that has run, in
 * tile order, unless another thread is at it; the lock is let go while a
 * tile is added.  Whoever finishes a tile calls it, so the tiles that have
 * run are always added: the one adding finds each next tile as it is
 * published, or else its publisher, who comes after, adds it. */
static void add_done(batch *job)
{
    if (job->adding) return;
    job->adding = 1;
    while (job->reduced < job->ntiles && job->done[job->reduced] != NULL) {
        int64_t k = job->reduced;
        int64_t rows = job->nrows - k * AG_TILE_ROWS < AG_TILE_ROWS ? job->nrows - k * AG_TILE_ROWS
                                                                     : AG_TILE_ROWS;
        pthread_mutex_unlock(&job->lock);
        if (job->acc != NULL) add_tile(job, job->done[k], rows);
        pthread_mutex_lock(&job->lock);
        job->done[k] = NULL;
        job->owner[k]->added++;
        job->reduced = k + 1;
        pthread_cond_broadcast(&job->turn);
    }
    job->adding = 0;
}

/* run_tiles: a thread's loop: claim the next tile (once one of its
 * adjoint tiles is free: it runs at most AG_TILES_AHEAD tiles ahead of the
 * sums), run it, publish it, add what can be added.  A thread waits only
 * when all its tiles have run and wait for an earlier tile of another
 * thread, which that thread publishes without waiting: no thread waits
 * forever. */
static void *run_tiles(void *arg)
{
    worker *w = arg;
    batch *job = w->job;
    const size_t adjoint_doubles = (size_t)job->plan->nadjoint * AG_TILE_ROWS;
    fill_leaves(w);
    pthread_mutex_lock(&job->lock);
    for (;;) {
        while (w->ran - w->added == AG_TILES_AHEAD) pthread_cond_wait(&job->turn, &job->lock);
        int64_t k = job->next_tile++;
        if (k >= job->ntiles) break;
        double *adjoint = w->adjoint + (size_t)(w->ran++ % AG_TILES_AHEAD) * adjoint_doubles;
        pthread_mutex_unlock(&job->lock);
        int64_t row0 = k * AG_TILE_ROWS;
        run_tile(w, adjoint, row0, job->nrows - row0 < AG_TILE_ROWS ? job->nrows - row0 : AG_TILE_ROWS);
        pthread_mutex_lock(&job->lock);
        job->done[k] = adjoint;
        job->owner[k] = w;
        add_done(job);
    }
    pthread_mutex_unlock(&job->lock);
    return NULL;
}

/* leaf_position: the position of leaf id on t (1 .. nleaf), or 0. */
static int64_t leaf_position(const ag_tape *t, int32_t id)
{
    for (int64_t p = 1; p <= t->nleaf; p++)
        if (t->f.id[p] == id) return p;
    return 0;
}

/* ag_tape_run_batch: for each row i < nrows, in order, what ag_tape_run
 * does after the leaves col_ids[j] took the values cols[j][i] (j < ncol),
 * bit for bit: values[i] receives the root's value, grads[k][i] the adjoint
 * d(root)/d(grad_ids[k]) * seed (k < ngrad), and with accumulate != 0 the
 * adjoint of every other leaf is added into its grad, row after row.  The
 * columns' leaves keep their values and grads; the other nodes of the tape
 * keep theirs (those of the last ag_tape_run).  Up to `threads` threads run
 * the rows (each tile of rows on one thread); the results do not depend on
 * how many.  The arena is locked only before and after the rows.
 *
 * Returns AG_OK; AG_EBADID, with nothing changed, if a column's id is not
 * a leaf on the tape or is given twice, or a grads_of id is not a leaf on
 * the tape; AG_ENOMEM with nothing changed.  A thread that cannot be
 * started leaves its share to the others. */
int ag_tape_run_batch(ag_tape *t, int64_t nrows, const int32_t *col_ids, double **cols, int64_t ncol,
                      double seed, const int32_t *grad_ids, double **grads, int64_t ngrad,
                      double *values, int accumulate, int threads)
{
    ag_arena *ar = &ag_global_arena;
    const ag_flat *f = &t->f;
    const int64_t nleaf = t->nleaf;
    if (nrows < 0 || ncol < 0 || ngrad < 0) return AG_EBADID;
    int64_t ntiles = (nrows + AG_TILE_ROWS - 1) / AG_TILE_ROWS;
    int64_t nthreads = threads < 1 ? 1 : threads;
    if (nthreads > (ntiles + AG_TILES_PER_THREAD - 1) / AG_TILES_PER_THREAD)
        nthreads = ntiles < 1 ? 1 : (ntiles + AG_TILES_PER_THREAD - 1) / AG_TILES_PER_THREAD;

    batch job;
    memset(&job, 0, sizeof job);
    /* one block: the shared leaves' sums, the leaves' values, the tiles
     * run and not added, the workers and their threads, positions and roles
     * by leaf; the tile plan is the tape's (ag_tape_new) */
    const ag_tile_plan *tp = &t->plan;
    size_t ints = (size_t)(ncol + ngrad + nleaf);
    size_t block_bytes = (size_t)(nleaf + nleaf + 2) * sizeof(double)
                        + (size_t)ntiles * (sizeof(double *) + sizeof(worker *))
                        + (size_t)nthreads * (sizeof(worker) + sizeof(pthread_t))
                        + ints * sizeof(int32_t) + (size_t)(nleaf + 1);
    size_t tile_doubles = (size_t)(tp->nvalue + AG_TILES_AHEAD * tp->nadjoint + 2) * AG_TILE_ROWS;
    double *tiles = NULL;
    ag_lock();
    char *block = ag_alloc(block_bytes);
    if (block != NULL) tiles = ag_alloc(tile_doubles * (size_t)nthreads * sizeof(double));
    if (tiles == NULL) {
        ag_unlock();
        free(block);
        return AG_ENOMEM;
    }
    double *acc = (double *)block;                   /* by shared leaf */
    double *leaf_value = acc + nleaf;               /* by position 0 .. nleaf */
    double **done = (double **)(leaf_value + nleaf + 1);
    worker **owner = (worker **)(done + ntiles);
    worker *w = (worker *)(owner + ntiles);
    pthread_t *thread = (pthread_t *)(w + nthreads);
    int32_t *col_pos = (int32_t *)(thread + nthreads);
    int32_t *grad_pos = col_pos + ncol;
    int32_t *shared_pos = grad_pos + ngrad;
    uint8_t *is_col = (uint8_t *)(shared_pos + nleaf);  /* by position 0 .. nleaf */
    int status = AG_OK;
    for (int64_t p = 0; p <= nleaf; p++) is_col[p] = 0;
    for (int64_t j = 0; j < ncol && status == AG_OK; j++) {
        int64_t p = leaf_position(t, col_ids[j]);
        if (p == 0 || is_col[p]) status = AG_EBADID;
        else is_col[p] = 1, col_pos[j] = (int32_t)p;
    }
    for (int64_t k = 0; k < ngrad && status == AG_OK; k++) {
        int64_t p = leaf_position(t, grad_ids[k]);
        if (p == 0) status = AG_EBADID;
        else grad_pos[k] = (int32_t)p;
    }
    int64_t nshared = 0;
    leaf_value[AG_NONE] = 0.0;
    for (int64_t p = 1; p <= nleaf && status == AG_OK; p++) {
        leaf_value[p] = ar->value[f->id[p]];
        if (!is_col[p]) {
            shared_pos[nshared] = (int32_t)p;
            acc[nshared++] = ar->grad[f->id[p]];
        }
    }
    ag_unlock();
    if (status != AG_OK || nrows == 0) {
        free(tiles);
        free(block);
        return status;
    }

    job.t = t;
    job.nrows = nrows;
    job.ntiles = ntiles;
    job.plan = tp;
    job.seed = seed;
    job.ncol = ncol;
    job.col_pos = col_pos;
    job.col = cols;
    job.ngrad = ngrad;
    job.grad_pos = grad_pos;
    job.grad_out = grads;
    job.values_out = values;
    job.nshared = nshared;
    job.shared_pos = shared_pos;
    job.acc = accumulate ? acc : NULL;
    job.leaves.first = nleaf + 1;
    job.leaves.is_col = is_col;
    job.leaves.value = leaf_value;
    job.done = done;
    job.owner = owner;
    for (int64_t k = 0; k < ntiles; k++) done[k] = NULL;
    if (pthread_mutex_init(&job.lock, NULL) != 0) {
        free(tiles);
        free(block);
        return AG_ENOMEM;
    }
    if (pthread_cond_init(&job.turn, NULL) != 0) {
        pthread_mutex_destroy(&job.lock);
        free(tiles);
        free(block);
        return AG_ENOMEM;
    }
    for (int64_t k = 0; k < nthreads; k++) {
        w[k].job = &job;
        w[k].value = tiles + (size_t)k * tile_doubles;
        w[k].adjoint = w[k].value + (size_t)tp->nvalue * AG_TILE_ROWS;
        w[k].scratch = w[k].adjoint + (size_t)AG_TILES_AHEAD * tp->nadjoint * AG_TILE_ROWS;
        w[k].ran = w[k].added = 0;
    }
    int64_t started = 1;    /* worker 0 is this thread */
    for (int64_t k = 1; k < nthreads; k++)
        if (pthread_create(&thread[started], NULL, run_tiles, &w[started]) == 0) started++;
    (void)run_tiles(&w[0]);
    for (int64_t k = 1; k < started; k++) pthread_join(thread[k], NULL);
    assert(job.reduced == ntiles);
    pthread_cond_destroy(&job.turn);
    pthread_mutex_destroy(&job.lock);

    if (accumulate) {
        ag_lock();
        for (int64_t s = 0; s < nshared; s++) ar->grad[f->id[shared_pos[s]]] = acc[s];
        ag_unlock();
    }
    free(tiles);
    free(block);
    return AG_OK;
}
