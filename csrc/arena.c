/* arena.c: the node arena: creation, access, update, reclamation,
 * invariants, and the memory services of the other C files (checked
 * allocation, the scratch block).
 *
 * Reclamation is reference counting: a node's count is the number of Python
 * handles on it plus the number of nodes that take it as an input.  When the
 * count reaches zero the node is freed and its inputs lose one reference,
 * iteratively, so freeing a chain of any length uses constant stack.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>     /* malloc_trim */
#endif

#include "arena.h"
#include "rules.h"
#include "testing.h"

#define AG_FIRST_CAPACITY 1024
#define AG_MAX_NODES (INT32_MAX / 2)

ag_arena ag_global_arena = {
    .free_head = -1,
    .lock = {.mutex = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER},
};

/* Test hook: allocations left before one is made to fail, -1 when off. */
static int64_t fail_countdown = -1;

/* How many times a waiter looks at the lock before it goes to sleep: an
 * op's critical section is a fraction of a microsecond. */
#define AG_SPINS 200

/* ag_lock: take the arena lock, after every thread that asked before.  The
 * uncontended case is one atomic add and one load. */
void ag_lock(void)
{
    ag_ticket_lock *l = &ag_global_arena.lock;
    uint_fast64_t ticket = atomic_fetch_add(&l->next, 1);
    for (int i = 0; i < AG_SPINS; i++)
        if (atomic_load(&l->serving) == ticket) return;
    pthread_mutex_lock(&l->mutex);
    atomic_fetch_add(&l->sleepers, 1);
    while (atomic_load(&l->serving) != ticket) pthread_cond_wait(&l->wake, &l->mutex);
    atomic_fetch_sub(&l->sleepers, 1);
    pthread_mutex_unlock(&l->mutex);
}

/* ag_unlock: hand the lock to the next ticket, waking the sleepers if there
 * are any.  A waiter counts itself a sleeper under the mutex before it
 * checks `serving` and sleeps, and the broadcast takes the mutex: so either
 * the waiter sees the new ticket, or it is asleep when the broadcast comes. */
void ag_unlock(void)
{
    ag_ticket_lock *l = &ag_global_arena.lock;
    atomic_fetch_add(&l->serving, 1);
    if (atomic_load(&l->sleepers) > 0) {
        pthread_mutex_lock(&l->mutex);
        pthread_cond_broadcast(&l->wake);
        pthread_mutex_unlock(&l->mutex);
    }
}

/* fork(): only the forking thread goes on in the child, so a lock another
 * thread held would stay held there forever, over an arena it was part way
 * through changing.  Before the fork the forking thread takes the lock
 * (waiting for a call in progress to finish: the arena is then consistent);
 * the parent gives it back; the child starts from a fresh, free lock. */
static void before_fork(void) { ag_lock(); }
static void after_fork_in_parent(void) { ag_unlock(); }

static void after_fork_in_child(void)
{
    ag_ticket_lock *l = &ag_global_arena.lock;
    atomic_store(&l->next, 0);
    atomic_store(&l->serving, 0);
    atomic_store(&l->sleepers, 0);
    pthread_mutex_init(&l->mutex, NULL);
    pthread_cond_init(&l->wake, NULL);
}

/* Runs when the shared library is loaded. */
__attribute__((constructor)) static void install_fork_handlers(void)
{
    (void)pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

/* ag_fail_after: see testing.h. */
void ag_fail_after(int64_t n)
{
    ag_lock();
    fail_countdown = n < 0 ? -1 : n;
    ag_unlock();
}

/* Every allocation of the engine goes through ag_alloc and ag_realloc, with
 * the lock held, so the test hook can fail any one of them.  NULL on failure. */
static int injected_failure(void)
{
    if (fail_countdown < 0) return 0;
    if (fail_countdown-- > 0) return 0;
    return 1;
}

void *ag_alloc(size_t size)
{
    return injected_failure() ? NULL : malloc(size);
}

void *ag_realloc(void *p, size_t size)
{
    return injected_failure() ? NULL : realloc(p, size);
}

/* Whether id names a node that is in use. */
int ag_is_live(const ag_arena *ar, int32_t id)
{
    return id >= 0 && id < ar->count && ar->op[id] != AG_OP_FREE;
}

/* Resize one array to n elements of `size` bytes.  On failure *p is kept. */
static int resize(void **p, size_t n, size_t size)
{
    void *q = ag_realloc(*p, n * size);
    if (q == NULL) return AG_ENOMEM;
    *p = q;
    return AG_OK;
}

/* grow: double the arena's capacity.  Returns AG_OK, or AG_ENOMEM / AG_EFULL
 * with the arena unchanged: arrays already enlarged keep their old contents
 * and cap only moves once every array has its new size. */
static int grow(ag_arena *ar)
{
    if (ar->cap >= AG_MAX_NODES) return AG_EFULL;
    size_t cap = ar->cap ? (size_t)ar->cap * 2 : AG_FIRST_CAPACITY;
    if (cap > AG_MAX_NODES) cap = AG_MAX_NODES;
    if (resize((void **)&ar->value, cap, sizeof(double)) ||
        resize((void **)&ar->grad, cap, sizeof(double)) ||
        resize((void **)&ar->c, cap, sizeof(double)) ||
        resize((void **)&ar->a, cap, sizeof(int32_t)) ||
        resize((void **)&ar->b, cap, sizeof(int32_t)) ||
        resize((void **)&ar->refs, cap, sizeof(int32_t)) ||
        resize((void **)&ar->slot, cap, sizeof(int32_t)) ||
        resize((void **)&ar->stamp, cap, sizeof(uint64_t)) ||
        resize((void **)&ar->op, cap, sizeof(uint8_t)))
        return AG_ENOMEM;
    /* the sweep tolerates any slot value; zeroing keeps valgrind quiet. */
    memset(ar->slot + ar->cap, 0, (cap - (size_t)ar->cap) * sizeof(int32_t));
    ar->cap = (int32_t)cap;
    ar->shrink_below = ar->cap / 8;
    return AG_OK;
}

/* shrink: give memory back once the live nodes fill less than an eighth of
 * the arena.  The ids above the highest live one are dropped (count comes
 * down to it, the free list is rebuilt below it) and every array is cut to
 * the smallest power of two at least twice the new count, if that is at most
 * a quarter of cap.  A live node high up blocks it: the next try then waits
 * until the live nodes have halved again, so failed tries cost little.
 * Cutting an array cannot lose data; if realloc fails to cut one, it keeps
 * its larger block, which is as good.  Returns 1 if it shrank the arena.
 * Call with the lock held. */
static int shrink(ag_arena *ar)
{
    int32_t live = ar->count - ar->nfree;
    if (ar->cap <= AG_FIRST_CAPACITY || live >= ar->shrink_below) return 0;
    ar->shrink_below = live / 2;
    int32_t count = ar->count;
    while (count > 0 && ar->op[count - 1] == AG_OP_FREE) count--;
    size_t cap = AG_FIRST_CAPACITY;
    while (cap < 2 * (size_t)count) cap *= 2;
    if (cap > (size_t)ar->cap / 4) return 0;
    ar->free_head = -1;
    ar->nfree = 0;
    for (int32_t id = count - 1; id >= 0; id--) {
        if (ar->op[id] != AG_OP_FREE) continue;
        ar->a[id] = ar->free_head;
        ar->free_head = id;
        ar->nfree++;
    }
    ar->count = count;
    void **arrays[] = {(void **)&ar->value, (void **)&ar->grad, (void **)&ar->c, (void **)&ar->a,
                       (void **)&ar->b, (void **)&ar->refs, (void **)&ar->slot,
                       (void **)&ar->stamp, (void **)&ar->op};
    size_t sizes[] = {sizeof(double), sizeof(double), sizeof(double), sizeof(int32_t),
                      sizeof(int32_t), sizeof(int32_t), sizeof(int32_t), sizeof(uint64_t),
                      sizeof(uint8_t)};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *q = realloc(*arrays[i], cap * sizes[i]);
        if (q != NULL) *arrays[i] = q;
    }
    ar->cap = (int32_t)cap;
    ar->shrink_below = ar->cap / 8;
    return 1;
}

/* give_back: after a shrink, return the freed pages to the OS.  glibc keeps
 * blocks below its (self-raising) mmap threshold in its heap, where a cut or
 * freed array would otherwise stay resident. */
static void give_back(void)
{
#ifdef __GLIBC__
    (void)malloc_trim(0);
#endif
}

/* new_node: take a node from the free list, or the next unused id (growing
 * the arena if needed).  Returns the id with refs = 1 for the caller's
 * handle, or a negative status with the arena unchanged. */
static int32_t new_node(ag_arena *ar, int op, int32_t a, int32_t b, double c, double value)
{
    int32_t id;
    if (ar->free_head >= 0) {
        id = ar->free_head;
        ar->free_head = ar->a[id];
        ar->nfree--;
    } else {
        if (ar->count == ar->cap) {
            int status = grow(ar);
            if (status != AG_OK) return status;
        }
        id = ar->count++;
    }
    ar->op[id] = (uint8_t)op;
    ar->a[id] = a;
    ar->b[id] = b;
    ar->c[id] = c;
    ar->value[id] = value;
    ar->grad[id] = 0.0;
    ar->refs[id] = 1;
    ar->stamp[id] = ar->epoch;
    return id;
}

/* ag_leaf: a new leaf holding value.  Returns its id or a negative status. */
int32_t ag_leaf(double value)
{
    ag_lock();
    int32_t id = new_node(&ag_global_arena, AG_OP_LEAF, -1, -1, 0.0, value);
    ag_unlock();
    return id;
}

/* Compute op on inputs a (and b for binary ops; -1 otherwise) with constant
 * c into a new node: with record set, a node with its edges (a and b gain a
 * reference); without, a leaf holding the value.  Returns the id, or a
 * negative status with the arena unchanged. */
static int32_t compute_node(int op, int32_t a, int32_t b, double c, int record)
{
    ag_arena *ar = &ag_global_arena;
    int arity = ag_arity(op);
    double out;
    if (arity < 1) return AG_EBADOP;
    ag_lock();
    int32_t id;
    if (!ag_is_live(ar, a) || (arity == 2 ? !ag_is_live(ar, b) : b != -1)) {
        id = AG_EBADID;
    } else if (ag_forward(op, ar->value[a], arity == 2 ? ar->value[b] : 0.0, c, &out) != AG_OK) {
        id = AG_EBADOP;     /* an op of the table with no rule: never the identity */
    } else if (!record) {
        id = new_node(ar, AG_OP_LEAF, -1, -1, 0.0, out);
    } else if ((id = new_node(ar, op, a, b, c, out)) >= 0) {
        ar->refs[a]++;
        if (b >= 0) ar->refs[b]++;
    }
    ag_unlock();
    return id;
}

/* ag_apply: a new node computing op on inputs a (and b for binary ops; pass
 * -1 otherwise) with constant c.  The value is computed now.  Returns the id,
 * or a negative status with the arena unchanged. */
int32_t ag_apply(int op, int32_t a, int32_t b, double c)
{
    return compute_node(op, a, b, c, 1);
}

/* ag_apply_detached: a new leaf holding the value ag_apply would compute for
 * op on a (and b) with constant c.  No edge is recorded: a and b gain no
 * reference and the leaf has no inputs (no_grad mode).  Returns the id, or a
 * negative status with the arena unchanged. */
int32_t ag_apply_detached(int op, int32_t a, int32_t b, double c)
{
    return compute_node(op, a, b, c, 0);
}

/* ag_value, ag_grad: a node's value or gradient; nan for an id not in use. */
double ag_value(int32_t id)
{
    ag_lock();
    double v = ag_is_live(&ag_global_arena, id) ? ag_global_arena.value[id] : NAN;
    ag_unlock();
    return v;
}

double ag_grad(int32_t id)
{
    ag_lock();
    double g = ag_is_live(&ag_global_arena, id) ? ag_global_arena.grad[id] : NAN;
    ag_unlock();
    return g;
}

/* ag_set_value: replace a leaf's value.  AG_ENOTLEAF for any other node:
 * its value is a function of its inputs. */
int ag_set_value(int32_t id, double value)
{
    ag_arena *ar = &ag_global_arena;
    int status = AG_OK;
    ag_lock();
    if (!ag_is_live(ar, id)) status = AG_EBADID;
    else if (ar->op[id] != AG_OP_LEAF) status = AG_ENOTLEAF;
    else {
        ar->value[id] = value;
        ar->stamp[id] = ++ar->epoch;
    }
    ag_unlock();
    return status;
}

/* ag_set_grad: replace any node's accumulated gradient. */
int ag_set_grad(int32_t id, double grad)
{
    ag_arena *ar = &ag_global_arena;
    int status = AG_OK;
    ag_lock();
    if (!ag_is_live(ar, id)) status = AG_EBADID;
    else ar->grad[id] = grad;
    ag_unlock();
    return status;
}

/* ag_retain: one more Python handle on a node. */
int ag_retain(int32_t id)
{
    ag_arena *ar = &ag_global_arena;
    int status = AG_OK;
    ag_lock();
    if (!ag_is_live(ar, id)) status = AG_EBADID;
    else ar->refs[id]++;
    ag_unlock();
    return status;
}

/* Put one node on the free list. */
static void free_node(ag_arena *ar, int32_t id)
{
    ar->op[id] = AG_OP_FREE;
    ar->a[id] = ar->free_head;
    ar->b[id] = -1;
    ar->refs[id] = 0;
    ar->free_head = id;
    ar->nfree++;
}

/* Drop one reference to a live node, freeing whatever that leaves unused.
 * A node whose count reached zero has no more use for it: while it waits on
 * the release stack, refs holds the node below it (-1 at the bottom).  So the
 * cascade needs neither recursion nor an allocation. */
static void release_one(ag_arena *ar, int32_t id)
{
    if (--ar->refs[id] > 0) return;
    int32_t top = id;
    ar->refs[id] = -1;
    while (top >= 0) {
        int32_t node = top;
        int32_t a = ar->a[node], b = ar->b[node];
        top = ar->refs[node];
        free_node(ar, node);
        if (a >= 0 && --ar->refs[a] == 0) { ar->refs[a] = top; top = a; }
        if (b >= 0 && --ar->refs[b] == 0) { ar->refs[b] = top; top = b; }
    }
}

/* A scratch block this small is kept whatever the live nodes: a training
 * loop frees its graph after every step, and reallocating the block for the
 * next backward would bring the page faults back. */
#define AG_SCRATCH_KEEP ((size_t)8 << 20)

/* ag_scratch: a block of at least nodes * per_node bytes, lent to the caller
 * until it unlocks the arena (call with the lock held), or NULL.  The block
 * is kept from one call to the next: a fresh block of this size costs a page
 * fault, and the kernel zeroing a page, every 4 KiB, which on a 1M-node chain
 * was more than the sweep itself.  Only its size is state: callers write
 * every byte before they read it.  Reusing the block counts as an allocation
 * for the test hook, so a caller fails under it whether or not it grew. */
void *ag_scratch(ag_arena *ar, int64_t nodes, size_t per_node)
{
    size_t bytes = (size_t)nodes * per_node;
    ar->scratch_per_node = per_node;
    if (ar->scratch_size >= bytes) return injected_failure() ? NULL : ar->scratch;
    free(ar->scratch);
    ar->scratch_size = 0;
    ar->scratch = ag_alloc(bytes);
    if (ar->scratch != NULL) ar->scratch_size = bytes;
    return ar->scratch;
}

/* scratch_trim: free the scratch block once it is larger than
 * AG_SCRATCH_KEEP and more than four times what the live nodes could need,
 * so a large graph that is gone does not keep its sweep's memory. */
static void scratch_trim(ag_arena *ar)
{
    size_t need = (size_t)(ar->count - ar->nfree) * ar->scratch_per_node;
    if (ar->scratch_size > AG_SCRATCH_KEEP && ar->scratch_size > 4 * need) {
        free(ar->scratch);
        ar->scratch = NULL;
        ar->scratch_size = 0;
    }
}

/* ag_release: drop one Python handle on each of n nodes.  Ids not in use are
 * skipped and reported by AG_EBADID once all the others are released. */
int ag_release(const int32_t *ids, size_t n)
{
    ag_arena *ar = &ag_global_arena;
    int status = AG_OK;
    ag_lock();
    for (size_t i = 0; i < n; i++) {
        if (ag_is_live(ar, ids[i]) && ar->refs[ids[i]] > 0) release_one(ar, ids[i]);
        else status = AG_EBADID;
    }
    int shrunk = shrink(ar);
    scratch_trim(ar);
    if (shrunk) give_back();
    ag_unlock();
    return status;
}

/* ag_node_info: copy one node's fields into *out. */
int ag_node_info(int32_t id, ag_node *out)
{
    ag_arena *ar = &ag_global_arena;
    int status = AG_OK;
    ag_lock();
    if (!ag_is_live(ar, id)) {
        status = AG_EBADID;
    } else {
        out->op = ar->op[id];
        out->a = ar->a[id];
        out->b = ar->b[id];
        out->refs = ar->refs[id];
        out->c = ar->c[id];
        out->value = ar->value[id];
        out->grad = ar->grad[id];
    }
    ag_unlock();
    return status;
}

void ag_get_stats(ag_stats *out)
{
    ag_lock();
    out->live_nodes = ag_global_arena.count - ag_global_arena.nfree;
    out->capacity = ag_global_arena.cap;
    out->free_nodes = ag_global_arena.nfree;
    ag_unlock();
}

/* ag_check: verify the arena's invariants.  Returns the number of
 * violations found (0: consistent), or AG_ENOMEM if the scratch array for
 * counting edges cannot be allocated.
 *   - count <= cap; the free list holds exactly nfree free nodes, no cycle;
 *   - every node below count is free or has a valid op and live inputs;
 *   - a live node's refs is at least the number of edges into it, plus one
 *     if no edge holds it (else it would have been freed). */
int64_t ag_check(void)
{
    ag_arena *ar = &ag_global_arena;
    int64_t bad = 0;
    ag_lock();
    int32_t *edges = ag_alloc(((size_t)ar->count + 1) * sizeof(int32_t));
    if (edges == NULL) {
        ag_unlock();
        return AG_ENOMEM;
    }
    memset(edges, 0, ((size_t)ar->count + 1) * sizeof(int32_t));
    if (ar->count > ar->cap || ar->count < 0) bad++;
    int32_t seen = 0;
    for (int32_t id = ar->free_head; id >= 0 && seen <= ar->nfree; id = ar->a[id]) {
        if (id >= ar->count || ar->op[id] != AG_OP_FREE) { bad++; break; }
        seen++;
    }
    if (seen != ar->nfree) bad++;
    int32_t nfree = 0;
    for (int32_t id = 0; id < ar->count; id++) {
        if (ar->op[id] == AG_OP_FREE) { nfree++; continue; }
        int arity = ag_arity(ar->op[id]);
        if (arity < 0) { bad++; continue; }
        if (arity >= 1) {
            if (ag_is_live(ar, ar->a[id])) edges[ar->a[id]]++; else bad++;
        } else if (ar->a[id] != -1) {
            bad++;
        }
        if (arity == 2) {
            if (ag_is_live(ar, ar->b[id])) edges[ar->b[id]]++; else bad++;
        } else if (ar->b[id] != -1) {
            bad++;
        }
    }
    if (nfree != ar->nfree) bad++;
    for (int32_t id = 0; id < ar->count; id++) {
        if (ar->op[id] == AG_OP_FREE) continue;
        if (ar->refs[id] < edges[id] || ar->refs[id] < 1) bad++;
    }
    free(edges);
    ag_unlock();
    return bad;
}


/* ag_descend: for each of n leaves, value = value - lr * grad: the eager
 * `p.data -= lr * p.grad`, rounded the same way (one step of plain SGD).
 * Returns AG_OK, or AG_EBADID / AG_ENOTLEAF with no node changed. */
int ag_descend(const int32_t *ids, size_t n, double lr)
{
    ag_arena *ar = &ag_global_arena;
    int status = AG_OK;
    ag_lock();
    for (size_t i = 0; i < n && status == AG_OK; i++) {
        if (!ag_is_live(ar, ids[i])) status = AG_EBADID;
        else if (ar->op[ids[i]] != AG_OP_LEAF) status = AG_ENOTLEAF;
    }
    if (status == AG_OK) {
        ar->epoch++;
        for (size_t i = 0; i < n; i++) {
            int32_t id = ids[i];
            double step = lr * ar->grad[id];
            ar->value[id] = ar->value[id] - step;
            ar->stamp[id] = ar->epoch;
        }
    }
    ag_unlock();
    return status;
}

/* ag_zero_grads: set the grad of each of n nodes to 0.  Returns AG_OK, or
 * AG_EBADID with no node changed. */
int ag_zero_grads(const int32_t *ids, size_t n)
{
    ag_arena *ar = &ag_global_arena;
    int status = AG_OK;
    ag_lock();
    for (size_t i = 0; i < n && status == AG_OK; i++)
        if (!ag_is_live(ar, ids[i])) status = AG_EBADID;
    if (status == AG_OK)
        for (size_t i = 0; i < n; i++) ar->grad[ids[i]] = 0.0;
    ag_unlock();
    return status;
}

/* ag_collect: drop the handles that no Python object holds any more.  held
 * names, once per handle, the node of every handle Python holds (each
 * Value's, each of a tape's references).  A node whose refs exceed the edges
 * into it plus its entries in held lost handles: an interrupt (Ctrl-C) that
 * arrived while the engine made a node, raised as the call returned, before
 * a Value stored the id.  Its surplus is dropped, freeing what that leaves
 * unused.  Every surplus is found and taken first, then the nodes nothing
 * holds are freed.  Returns the number of handles dropped; AG_EBADID (held
 * names a node not in use) or AG_ENOMEM with nothing changed.  Correct only while no other
 * thread is between an engine call and the Value that stores its result. */
int64_t ag_collect(const int32_t *held, size_t n)
{
    ag_arena *ar = &ag_global_arena;
    int64_t dropped = 0;
    ag_lock();
    int32_t *expected = ag_alloc(((size_t)ar->count + 1) * sizeof(int32_t));
    if (expected == NULL) {
        ag_unlock();
        return AG_ENOMEM;
    }
    memset(expected, 0, ((size_t)ar->count + 1) * sizeof(int32_t));
    for (size_t i = 0; i < n && dropped == 0; i++) {
        if (ag_is_live(ar, held[i])) expected[held[i]]++;
        else dropped = AG_EBADID;
    }
    for (int32_t id = 0; id < ar->count && dropped == 0; id++) {
        if (ar->op[id] == AG_OP_FREE) continue;
        if (ar->a[id] >= 0) expected[ar->a[id]]++;
        if (ar->b[id] >= 0) expected[ar->b[id]]++;
    }
    for (int32_t id = 0; id < ar->count && dropped >= 0; id++) {
        int32_t keep = expected[id] > 0 ? expected[id] : 1;
        if (ar->op[id] == AG_OP_FREE || ar->refs[id] <= keep) continue;
        dropped += ar->refs[id] - keep;
        ar->refs[id] = keep;
    }
    /* a node nothing holds (one reference left) has no edge into it either:
     * no cascade from another reaches it, so each is freed by its own */
    for (int32_t id = 0; id < ar->count && dropped >= 0; id++) {
        if (ar->op[id] == AG_OP_FREE || expected[id] != 0 || ar->refs[id] != 1) continue;
        dropped++;
        release_one(ar, id);
    }
    free(expected);
    if (dropped > 0) {
        int shrunk = shrink(ar);
        scratch_trim(ar);
        if (shrunk) give_back();
    }
    ag_unlock();
    return dropped;
}
