"""The node arena of the pure-Python engine: the twin of csrc/arena.c.

Nodes are parallel lists indexed by id; a free node has op == FREE and links
to the next free node through ``a``.  Reference counts, the free list and the
release cascade are the C file's, step for step.  One lock guards every
function, as the C engine's mutex does: Python threads switch between
bytecodes, so a read-modify-write such as ``refs[a] += 1`` is not atomic.
"""

from __future__ import annotations

import threading

from .. import errors, ops
from .rules import FORWARD

FREE = ops.FREE
LEAF = ops.LEAF
ARITY = ops.ARITY
NOPS = len(ARITY)
MAX_NODES = 2**31 // 2 - 1

value: list[float] = []
grad: list[float] = []
c: list[float] = []     # constant operand of the *C ops
a: list[int] = []       # first input; for a free node, the next free node
b: list[int] = []       # second input
refs: list[int] = []    # Python handles plus consuming nodes
slot: list[int] = []    # backward's sparse-set index; see backward.py
op: list[int] = []
free_head = -1
nfree = 0
# Re-entrant, unlike the C mutex: the garbage collector can run inside any of
# these functions (at an allocation) and call a finalizer that releases nodes
# (Value.__del__ through Engine.flush, a dropped replay tape).  A nested
# release only frees nodes nobody holds, never ones the outer call is using,
# so letting it in is safe; a plain Lock would deadlock the thread.
lock = threading.RLock()

# Test hook: allocations left before one is made to fail, -1 when off.
fail_countdown = -1


def fail_after(n: int) -> None:
    """Make the allocation after the next n fail once; n < 0 turns it off."""
    global fail_countdown
    with lock:
        fail_countdown = -1 if n < 0 else n


def injected_failure() -> bool:
    global fail_countdown
    if fail_countdown < 0:
        return False
    fail_countdown -= 1
    return fail_countdown < 0


def is_live(node: int) -> bool:
    return 0 <= node < len(op) and op[node] != FREE


def new_node(o: int, ia: int, ib: int, cc: float, out: float) -> int:
    """A node from the free list or a new id, with refs = 1; status if none."""
    global free_head, nfree
    if free_head >= 0:
        node = free_head
        free_head = a[node]
        nfree -= 1
        op[node] = o
        a[node] = ia
        b[node] = ib
        c[node] = cc
        value[node] = out
        grad[node] = 0.0
        refs[node] = 1
        return node
    node = len(op)
    if node >= MAX_NODES:
        return errors.EFULL
    if injected_failure():
        return errors.ENOMEM
    # Append op last: it is what makes the node count as handed out.  A real
    # MemoryError part way would leave the lists of unequal length, and every
    # later node misaligned: cut them back, as C's grow() keeps cap unmoved.
    try:
        value.append(out)
        grad.append(0.0)
        c.append(cc)
        a.append(ia)
        b.append(ib)
        refs.append(1)
        slot.append(0)
        op.append(o)
    except MemoryError:
        for column in (value, grad, c, a, b, refs, slot, op):
            del column[node:]
        return errors.ENOMEM
    return node


def leaf(x: float) -> int:
    with lock:
        return new_node(LEAF, -1, -1, 0.0, x)


def apply(o: int, ia: int, ib: int, cc: float) -> int:
    """A new node computing op o on ia (and ib, or -1) with constant cc."""
    arity = ARITY[o] if 0 <= o < NOPS else -1
    if arity < 1:
        return errors.EBADOP
    with lock:
        # is_live, written out: apply runs once per node built
        n = len(op)
        if not (0 <= ia < n and op[ia] != FREE):
            return errors.EBADID
        if arity == 2:
            if not (0 <= ib < n and op[ib] != FREE):
                return errors.EBADID
            out = FORWARD[o](value[ia], value[ib], cc)
        else:
            if ib != -1:
                return errors.EBADID
            out = FORWARD[o](value[ia], 0.0, cc)
        node = new_node(o, ia, ib, cc, out)
        if node >= 0:
            refs[ia] += 1
            if ib >= 0:
                refs[ib] += 1
        return node


def apply_detached(o: int, ia: int, ib: int, cc: float) -> int:
    """A new leaf holding the value apply would compute; no edge is recorded
    (no_grad mode): ia and ib gain no reference."""
    arity = ARITY[o] if 0 <= o < len(ARITY) else -1
    if arity < 1:
        return errors.EBADOP
    with lock:
        if not is_live(ia) or (not is_live(ib) if arity == 2 else ib != -1):
            return errors.EBADID
        out = FORWARD[o](value[ia], value[ib] if arity == 2 else 0.0, cc)
        return new_node(LEAF, -1, -1, 0.0, out)


def get_value(node: int) -> float:
    with lock:
        return value[node] if is_live(node) else float("nan")


def get_grad(node: int) -> float:
    with lock:
        return grad[node] if is_live(node) else float("nan")


def set_value(node: int, x: float) -> int:
    with lock:
        if not is_live(node):
            return errors.EBADID
        if op[node] != LEAF:
            return errors.ENOTLEAF
        value[node] = x
        return errors.OK


def set_grad(node: int, g: float) -> int:
    with lock:
        if not is_live(node):
            return errors.EBADID
        grad[node] = g
        return errors.OK


def retain(node: int) -> int:
    with lock:
        if not is_live(node):
            return errors.EBADID
        refs[node] += 1
        return errors.OK


def free_node(node: int) -> None:
    global free_head, nfree
    op[node] = FREE
    a[node] = free_head
    b[node] = -1
    refs[node] = 0
    free_head = node
    nfree += 1


def release_one(node: int) -> None:
    """Drop one reference; free what that leaves unused.  As in C, a node whose
    count reached zero holds in refs the node below it on the release stack."""
    refs[node] -= 1
    if refs[node] > 0:
        return
    top = node
    refs[node] = -1
    while top >= 0:
        node = top
        ia = a[node]
        ib = b[node]
        top = refs[node]
        free_node(node)
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


def release(ids: list[int]) -> int:
    status = errors.OK
    with lock:
        n = len(op)
        for node in ids:
            # is_live, written out: release runs once per Value dropped
            if 0 <= node < n and op[node] != FREE and refs[node] > 0:
                release_one(node)
            else:
                status = errors.EBADID
    return status


def node_info(node: int) -> tuple[int, int, int, int, float, float, float] | None:
    """(op, a, b, refs, c, value, grad), or None for a node not in use."""
    with lock:
        if not is_live(node):
            return None
        return (op[node], a[node], b[node], refs[node], c[node], value[node], grad[node])


def get_stats() -> tuple[int, int, int]:
    """(live_nodes, capacity, free_nodes)."""
    with lock:
        return (len(op) - nfree, len(op), nfree)


def check() -> int:
    """The number of violated invariants (0: consistent); see csrc/arena.c."""
    bad = 0
    with lock:
        count = len(op)
        edges = [0] * count
        seen = 0
        node = free_head
        while node >= 0 and seen <= nfree:
            if node >= count or op[node] != FREE:
                bad += 1
                break
            seen += 1
            node = a[node]
        if seen != nfree:
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
        if n_free != nfree:
            bad += 1
        for node in range(count):
            if op[node] != FREE and (refs[node] < edges[node] or refs[node] < 1):
                bad += 1
    return bad
