"""Graph replay and SGD in one call: the twin of csrc/replay.c.

A tape is one graph laid out flat: its leaves, then its other nodes in the
post-order of the backward sweep, then one position ``none`` standing for a
missing input (value 0.0).  Replaying reads the leaves' current values,
recomputes the other values with the forward rules, runs the reverse sweep
in the order ``backward`` uses, and writes values and grads back.
"""

from __future__ import annotations

from .. import errors
from . import arena
from .backward import sweep_order
from .rules import FORWARD, LOCAL_GRADS

ARITY = arena.ARITY


class Tape:
    __slots__ = ("n", "nleaf", "root", "id", "a", "b", "op", "c", "value", "adjoint")

    def __init__(self) -> None:
        self.n = self.nleaf = self.root = 0
        self.id: list[int] = []     # by position: the node's arena id
        self.a: list[int] = []      # by position: the inputs' positions; a missing one is none
        self.b: list[int] = []
        self.op: list[int] = []
        self.c: list[float] = []
        self.value: list[float] = []
        self.adjoint: list[float] = []

    def __del__(self) -> None:
        # a tape dropped without Tape.close lets its graph go, as ffi.gc does in C
        if self.n:
            tape_free(self)


def lay_out(t: Tape, visit: list[int], inputs: list[int], order: list[int]) -> None:
    """The graph of the sweep (visit, inputs, order) laid out flat in t."""
    op, c = arena.op, arena.c
    n = len(visit)
    none = n
    nleaf = sum(1 for k in order if inputs[2 * k] < 0)
    pos = [0] * n                   # by visit index: the position
    nxt = nleaf
    nleaf = 0
    for k in order:
        if inputs[2 * k] < 0:
            pos[k] = nleaf
            nleaf += 1
        else:
            pos[k] = nxt
            nxt += 1
    t.id = [-1] * (n + 1)
    t.op = [arena.LEAF] * (n + 1)
    t.c = [0.0] * (n + 1)
    t.a = [none] * (n + 1)
    t.b = [none] * (n + 1)
    for k in order:
        ka, kb = inputs[2 * k], inputs[2 * k + 1]
        p = pos[k]
        node = visit[k]
        t.id[p] = node
        t.op[p] = op[node]
        t.c[p] = c[node]
        t.a[p] = pos[ka] if ka >= 0 else none
        t.b[p] = pos[kb] if kb >= 0 else none
    t.n = n + 1
    t.nleaf = nleaf
    t.root = pos[0]
    t.value = [0.0] * (n + 1)
    t.adjoint = [0.0] * (n + 1)


def tape_new(root: int) -> Tape | int:
    """Record the graph below root, holding a reference on each of its nodes;
    or a negative status."""
    with arena.lock:
        if not arena.is_live(root):
            return errors.EBADID
        if arena.injected_failure():
            return errors.ENOMEM
        visit, inputs, order = sweep_order(root)
        t = Tape()
        lay_out(t, visit, inputs, order)
        refs = arena.refs
        for node in visit:
            refs[node] += 1
        return t


def tape_size(t: Tape) -> int:
    return t.n - 1


def tape_run(t: Tape, seed: float) -> float:
    """Recompute the graph from its leaves' current values and add
    d(root)/d(node) * seed into every grad, as backward does on a graph built
    afresh; returns the root's new value."""
    n = t.n - 1                     # the position of none
    nleaf = t.nleaf
    a, b, ids, op, c = t.a, t.b, t.id, t.op, t.c
    value, adjoint = t.value, t.adjoint
    with arena.lock:
        avalue, agrad = arena.value, arena.grad
        for i in range(nleaf):
            value[i] = avalue[ids[i]]
        value[n] = 0.0
        for i in range(nleaf, n):
            value[i] = FORWARD[op[i]](value[a[i]], value[b[i]], c[i])
        for i in range(n + 1):
            adjoint[i] = 0.0
        adjoint[t.root] = seed
        for i in range(n - 1, nleaf - 1, -1):
            da, db = LOCAL_GRADS[op[i]](value[a[i]], value[b[i]], c[i], value[i], adjoint[i])
            adjoint[a[i]] += da
            if b[i] != n:
                adjoint[b[i]] += db
        for i in range(nleaf):
            agrad[ids[i]] += adjoint[i]
        for i in range(nleaf, n):
            avalue[ids[i]] = value[i]
            agrad[ids[i]] = 0.0 + adjoint[i]    # as a fresh grad: -0.0 becomes +0.0
        return value[t.root]


def tape_free(t: Tape) -> None:
    arena.release(t.id[: t.n - 1])
    t.__init__()  # type: ignore[misc]


def sgd(ids: list[int], lr: float) -> int:
    """value = value - lr * grad, then grad = 0, for each leaf in ids."""
    op, value, grad = arena.op, arena.value, arena.grad
    with arena.lock:
        for node in ids:
            if not arena.is_live(node):
                return errors.EBADID
            if op[node] != arena.LEAF:
                return errors.ENOTLEAF
        for node in ids:
            step = lr * grad[node]
            value[node] = value[node] - step
            grad[node] = 0.0
    return errors.OK
