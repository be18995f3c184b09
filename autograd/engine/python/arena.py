"""The node arena of the pure-Python engine: the twin of csrc/arena.c.

Nodes are parallel lists indexed by id, sized to a capacity that doubles as
C's arrays do; a free node has op == FREE and links to the next free node
through ``a``.  Reference counts, the free list, the release cascade and the
allocation events the test hook counts are the C file's, step for step.  One
lock guards every function, as the C engine's mutex does: Python threads
switch between bytecodes, so a read-modify-write such as ``refs[a] += 1`` is
not atomic.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from ... import errors, ops
from .rules import FORWARD

FREE = ops.FREE
LEAF = ops.LEAF
ARITY = ops.ARITY
FIRST_CAPACITY = 1024
MAX_NODES = 2**31 // 2 - 1


class Arena:
    """The storage of csrc/arena.h's ag_arena."""

    __slots__ = ("value", "grad", "c", "a", "b", "refs", "slot", "stamp", "op",
                 "count", "cap", "free_head", "nfree", "epoch", "release_top", "shrink_below",
                 "lock")

    def __init__(self) -> None:
        self.value: list[float] = []
        self.grad: list[float] = []
        self.c: list[float] = []        # constant operand
        self.a: list[int] = []          # first input; for a free node, the next free node
        self.b: list[int] = []          # second input
        self.refs: list[int] = []       # Python handles plus consuming nodes
        self.slot: list[int] = []       # per node, for the sweep's sparse set (sweep.py)
        self.stamp: list[int] = []      # the epoch of the node's value: when it was computed or set
        self.op: list[int] = []
        self.count = 0                  # ids below count have been handed out at least once
        self.cap = 0                    # length of every list above
        self.free_head = -1
        self.nfree = 0
        self.epoch = 0                  # bumped by each write to a leaf's value (set_value, descend)
        self.release_top = -1           # the release stack's top: see drain()
        self.shrink_below = 0           # live nodes under which release tries to shrink
        # Re-entrant, unlike the C mutex: the garbage collector can run inside
        # any of these functions (at an allocation) and call a finalizer that
        # releases nodes (Value.__del__ through Engine.flush, a dropped tape).
        # A nested release only frees nodes nobody holds, never ones the outer
        # call is using, so letting it in is safe; a Lock would deadlock.
        self.lock = threading.RLock()


ar = Arena()


# fork(): only the forking thread goes on in the child, so a lock another
# thread held would stay held there forever.  The child gets it back free
# (the lock's own builtin method: a Python function could be interrupted by
# a signal before it ran).  Unlike C, the parent does not take the lock
# before the fork: a blocking acquire is interruptible, and a Python thread
# that holds it stopped where the interpreter switches threads, which is
# also where it raises an interrupt: every function here leaves the arena
# consistent there (see drain, compute_node, shrink, collect).
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=ar.lock._at_fork_reinit)  # type: ignore[attr-defined]


# Test hook: allocations left before one is made to fail, -1 when off.
fail_countdown = -1


def fail_after(n: int) -> None:
    """See csrc/testing.h: the same events are counted."""
    global fail_countdown
    with ar.lock:
        fail_countdown = -1 if n < 0 else n


def injected_failure() -> bool:
    """One allocation event: True if the test hook makes it fail."""
    global fail_countdown
    if fail_countdown < 0:
        return False
    fail_countdown -= 1
    return fail_countdown < 0


def is_live(node: int) -> bool:
    return 0 <= node < ar.count and ar.op[node] != FREE


def grow() -> int:
    """Double the capacity; OK, or ENOMEM / EFULL with cap unchanged (lists
    already enlarged keep their contents, as C's realloc does)."""
    if ar.cap >= MAX_NODES:
        return errors.EFULL
    cap = min(ar.cap * 2 if ar.cap else FIRST_CAPACITY, MAX_NODES)
    extra = cap - ar.cap
    columns: list[tuple[list[Any], Any]] = [
        (ar.value, 0.0), (ar.grad, 0.0), (ar.c, 0.0), (ar.a, -1), (ar.b, -1), (ar.refs, 0), (ar.slot, 0),
        (ar.stamp, 0), (ar.op, FREE)]
    for column, fill in columns:
        if injected_failure():
            return errors.ENOMEM
        if len(column) < cap:
            try:
                column.extend([fill] * extra)
            except MemoryError:
                return errors.ENOMEM
    ar.cap = cap
    ar.shrink_below = cap // 8
    return errors.OK


def shrink() -> None:
    """Give memory back once the live nodes fill less than an eighth of the
    arena: see csrc/arena.c's shrink, step for step (no allocation event)."""
    live = ar.count - ar.nfree
    if ar.cap <= FIRST_CAPACITY or live >= ar.shrink_below:
        return
    op, a = ar.op, ar.a
    count = ar.count
    while count > 0 and op[count - 1] == FREE:
        count -= 1
    cap = FIRST_CAPACITY
    while cap < 2 * count:
        cap *= 2
    if cap > ar.cap // 4:
        # C sets this before it looks: here only once the try is over, or
        # an interrupt in the loops would leave the arena unshrunk until the
        # live nodes halve again
        ar.shrink_below = live // 2
        return
    # The new free list is built in a copy of the links: rebuilt in place, an
    # interrupt at the loop's back edge would leave the old list cut short.
    # The slice store and the four stores after it run with no call and no
    # back edge between them, so no interrupt lands among them (3.11+).
    links = a[:count]
    free_head, nfree = -1, 0
    for node in range(count - 1, -1, -1):
        if op[node] == FREE:
            links[node] = free_head
            free_head = node
            nfree += 1
    a[:count] = links
    ar.free_head, ar.nfree, ar.count, ar.cap = free_head, nfree, count, cap
    ar.shrink_below = cap // 8
    # cap first: a list longer than cap is fine, one shorter is not (an
    # interrupt at the loop's back edge stops between two lists)
    for column in (ar.value, ar.grad, ar.c, ar.a, ar.b, ar.refs, ar.slot, ar.stamp, ar.op):
        del column[cap:]


def new_node(o: int, ia: int, ib: int, cc: float, out: float) -> int:
    """A node from the free list or the next unused id (growing the arena if
    needed), with refs = 1; a negative status with the arena unchanged."""
    if ar.free_head >= 0:
        node = ar.free_head
        ar.free_head = ar.a[node]
        ar.nfree -= 1
    else:
        if ar.count == ar.cap:
            status = grow()
            if status != errors.OK:
                return status
        node = ar.count
        ar.count += 1
    ar.op[node] = o
    ar.a[node] = ia
    ar.b[node] = ib
    ar.c[node] = cc
    ar.value[node] = out
    ar.grad[node] = 0.0
    ar.refs[node] = 1
    ar.stamp[node] = ar.epoch
    return node


def leaf(x: float) -> int:
    """A new leaf holding x: its id, or a negative status."""
    with ar.lock:
        return new_node(LEAF, -1, -1, 0.0, x)


def compute_node(o: int, ia: int, ib: int, cc: float, record: bool) -> int:
    """Compute op o on ia (and ib for a two-input op; -1 otherwise) with
    constant cc into a new node: with record, a node with its edges; without,
    a leaf holding the value.  The id, or a negative status."""
    arity = ARITY[o] if 0 <= o < 256 else -1
    if arity < 1:
        return errors.EBADOP
    with ar.lock:
        value, op, count = ar.value, ar.op, ar.count
        # is_live, written out: this runs once per node built
        if not (0 <= ia < count and op[ia] != FREE):
            return errors.EBADID
        if arity == 2:
            if not (0 <= ib < count and op[ib] != FREE):
                return errors.EBADID
            y = value[ib]
        elif ib != -1:
            return errors.EBADID
        else:
            y = 0.0
        f = FORWARD[o]
        if f is None:
            return errors.EBADOP    # an op of the table with no rule: never the identity
        out = f(value[ia], y, cc)
        if not record:
            return new_node(LEAF, -1, -1, 0.0, out)
        # the inputs' references first: an interrupt (raised at a call) can
        # then only leave an extra reference, which ag.collect() reclaims,
        # never a node with an edge its input does not count
        refs = ar.refs
        refs[ia] += 1
        if ib >= 0:
            refs[ib] += 1
        node = new_node(o, ia, ib, cc, out)
        if node < 0:
            refs[ia] -= 1
            if ib >= 0:
                refs[ib] -= 1
        return node


def apply(o: int, ia: int, ib: int, cc: float) -> int:
    """A new node computing op o on ia (and ib, or -1) with constant cc."""
    return compute_node(o, ia, ib, cc, True)


def apply_detached(o: int, ia: int, ib: int, cc: float) -> int:
    """A new leaf holding the value apply would compute; no edge is recorded
    (no_grad mode): ia and ib gain no reference."""
    return compute_node(o, ia, ib, cc, False)


def value(node: int) -> float:
    """A node's value; nan for an id not in use."""
    with ar.lock:
        return ar.value[node] if is_live(node) else float("nan")


def grad(node: int) -> float:
    """A node's gradient; nan for an id not in use."""
    with ar.lock:
        return ar.grad[node] if is_live(node) else float("nan")


def set_value(node: int, x: float) -> int:
    with ar.lock:
        if not is_live(node):
            return errors.EBADID
        if ar.op[node] != LEAF:
            return errors.ENOTLEAF
        ar.value[node] = x
        ar.epoch += 1
        ar.stamp[node] = ar.epoch
        return errors.OK


def set_grad(node: int, g: float) -> int:
    with ar.lock:
        if not is_live(node):
            return errors.EBADID
        ar.grad[node] = g
        return errors.OK


def retain(node: int) -> int:
    """One more Python handle on a node."""
    with ar.lock:
        if not is_live(node):
            return errors.EBADID
        ar.refs[node] += 1
        return errors.OK


def release_one(node: int) -> None:
    """Drop one reference; free what that leaves unused.  As in C, a node whose
    count reached zero holds in refs the node below it on the release stack."""
    refs = ar.refs
    refs[node] -= 1
    if refs[node] > 0:
        return
    refs[node] = ar.release_top
    ar.release_top = node
    drain()


def drain() -> None:
    """Free the nodes on the release stack and what that leaves unused.

    The stack's top lives in ar.release_top, not in a local as in C: C runs
    to its end, but CPython may raise KeyboardInterrupt here.  It raises
    asynchronous exceptions only at a function's entry, after a call and at
    a loop's back edge; the loop body makes no call (free_node is written
    out), so at any of those points the stack is whole, and the next release,
    check or collect finishes the cascade."""
    refs, a, b, op = ar.refs, ar.a, ar.b, ar.op
    while ar.release_top >= 0:
        node = ar.release_top
        ia = a[node]
        ib = b[node]
        top = refs[node]
        op[node] = FREE             # free_node(node)
        a[node] = ar.free_head
        b[node] = -1
        refs[node] = 0
        ar.free_head = node
        ar.nfree += 1
        if ia >= 0:
            refs[ia] -= 1
            if refs[ia] == 0:
                refs[ia] = top
                top = ia
        if ib >= 0:
            refs[ib] -= 1
            if refs[ib] == 0:
                refs[ib] = top
                top = ib
        ar.release_top = top


def release(ids: list[int]) -> int:
    """Drop one Python handle on each node of ids; ids not in use are skipped
    and reported by EBADID once all the others are released."""
    status = errors.OK
    with ar.lock:
        drain()     # a cascade an interrupt stopped
        op, refs, count = ar.op, ar.refs, ar.count
        for node in ids:
            # is_live, written out: this runs once per Value dropped
            if 0 <= node < count and op[node] != FREE and refs[node] > 0:
                release_one(node)
            else:
                status = errors.EBADID
        shrink()
    return status


def node_info(node: int) -> tuple[int, int, int, int, float, float, float] | None:
    """(op, a, b, refs, c, value, grad), or None for a node not in use."""
    with ar.lock:
        if not is_live(node):
            return None
        return (ar.op[node], ar.a[node], ar.b[node], ar.refs[node], ar.c[node], ar.value[node],
                ar.grad[node])


def get_stats() -> tuple[int, int, int]:
    """(live_nodes, capacity, free_nodes)."""
    with ar.lock:
        drain()     # a cascade an interrupt stopped
        return (ar.count - ar.nfree, ar.cap, ar.nfree)


def check() -> int:
    """The number of violated invariants (0: consistent), or ENOMEM; see
    csrc/arena.c's ag_check."""
    bad = 0
    with ar.lock:
        drain()     # a cascade an interrupt stopped
        if injected_failure():
            return errors.ENOMEM
        op, a, b, refs, count = ar.op, ar.a, ar.b, ar.refs, ar.count
        edges = [0] * (count + 1)
        if count > ar.cap or count < 0:
            bad += 1
        seen = 0
        node = ar.free_head
        while node >= 0 and seen <= ar.nfree:
            if node >= count or op[node] != FREE:
                bad += 1
                break
            seen += 1
            node = a[node]
        if seen != ar.nfree:
            bad += 1
        n_free = 0
        for node in range(count):
            if op[node] == FREE:
                n_free += 1
                continue
            arity = ARITY[op[node]]
            if arity < 0:
                bad += 1
                continue
            if arity >= 1:
                if is_live(a[node]):
                    edges[a[node]] += 1
                else:
                    bad += 1
            elif a[node] != -1:
                bad += 1
            if arity == 2:
                if is_live(b[node]):
                    edges[b[node]] += 1
                else:
                    bad += 1
            elif b[node] != -1:
                bad += 1
        if n_free != ar.nfree:
            bad += 1
        for node in range(count):
            if op[node] != FREE and (refs[node] < edges[node] or refs[node] < 1):
                bad += 1
    return bad


def descend(ids: list[int], lr: float) -> int:
    """value = value - lr * grad for each leaf in ids: the eager
    ``p.data -= lr * p.grad``, rounded the same way.  OK, or EBADID /
    ENOTLEAF with no node changed."""
    with ar.lock:
        op, value, grad = ar.op, ar.value, ar.grad
        for node in ids:
            if not is_live(node):
                return errors.EBADID
            if op[node] != LEAF:
                return errors.ENOTLEAF
        ar.epoch += 1
        epoch, stamp = ar.epoch, ar.stamp
        for node in ids:
            step = lr * grad[node]
            value[node] = value[node] - step
            stamp[node] = epoch
    return errors.OK


def zero_grads(ids: list[int]) -> int:
    """grad = 0 for each node in ids; OK, or EBADID with no node changed."""
    with ar.lock:
        if not all(is_live(node) for node in ids):
            return errors.EBADID
        grad = ar.grad
        for node in ids:
            grad[node] = 0.0
    return errors.OK


def collect(held: list[int]) -> int:
    """Drop the handles no Python object holds any more: see csrc/arena.c's
    ag_collect.  The number dropped, or EBADID / ENOMEM with nothing changed."""
    with ar.lock:
        drain()     # a cascade an interrupt stopped
        if injected_failure():
            return errors.ENOMEM
        op, a, b, refs, count = ar.op, ar.a, ar.b, ar.refs, ar.count
        expected = [0] * (count + 1)
        for node in held:
            if not is_live(node):
                return errors.EBADID
            expected[node] += 1
        for node in range(count):
            if op[node] == FREE:
                continue
            if a[node] >= 0:
                expected[a[node]] += 1
            if b[node] >= 0:
                expected[b[node]] += 1
        dropped = 0
        for node in range(count):
            if op[node] == FREE or refs[node] <= max(expected[node], 1):
                continue
            dropped += refs[node] - max(expected[node], 1)
            refs[node] = max(expected[node], 1)
        # a node nothing holds (one reference left) has no edge into it
        # either: no cascade from another reaches it, so each is freed by its
        # own; stopped anywhere, what is left is whole, and a leak at worst
        for node in range(count):
            if op[node] != FREE and expected[node] == 0 and refs[node] == 1:
                dropped += 1
                release_one(node)
        if dropped:
            shrink()
        return dropped
