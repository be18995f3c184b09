"""Re-running a recorded graph in place: the twin of csrc/tape.c.

A tape keeps one flat graph (sweep.Flat), its leaves moved first (positions
1 .. nleaf).  Replaying reads the leaves' current values, recomputes the
other values with the ops' rules, runs the same sweep as backward over the
other nodes, and writes values and grads back.
"""

from __future__ import annotations

from ... import errors
from .arena import LEAF, ar, injected_failure, is_live, release
from .rules import FORWARD
from .sweep import NONE, Flat, flat_order, sweep


class Tape:
    __slots__ = ("f", "nleaf")

    def __init__(self, f: Flat, nleaf: int) -> None:
        self.f: Flat | None = f
        self.nleaf = nleaf

    def __del__(self) -> None:
        # a tape dropped without Tape.close lets its graph go, as ffi.gc does in C
        if self.f is not None:
            tape_free(self)


def tape_new(root: int) -> Tape | int:
    """Record the graph below root, holding a reference on each of its nodes;
    or a negative status (nothing retained)."""
    with ar.lock:
        if injected_failure():          # C's tape struct
            return errors.ENOMEM
        if not is_live(root):
            return errors.EBADID
        f = flat_order(root)
        if isinstance(f, int):
            return f
        if injected_failure():          # C's block of arrays
            return errors.ENOMEM
        refs = ar.refs
        for i in range(1, f.n + 1):
            refs[f.id[i]] += 1
        return lay_out(f)


def lay_out(src: Flat) -> Tape:
    """A tape of src, leaves first."""
    n = src.n
    nleaf = sum(1 for i in range(1, n + 1) if src.op[i] == LEAF)
    moved = [NONE] * (n + 1)        # each position's new place
    leaf, other = 1, nleaf + 1
    for i in range(1, n + 1):
        if src.op[i] == LEAF:
            moved[i] = leaf
            leaf += 1
        else:
            moved[i] = other
            other += 1
    f = Flat(n, [-1] * (n + 1), [NONE] * (n + 1), [NONE] * (n + 1), [LEAF] * (n + 1), [0.0] * (n + 1),
             [0.0] * (n + 1))
    for i in range(n + 1):
        p = moved[i]
        f.id[p] = src.id[i]
        f.op[p] = src.op[i]
        f.c[p] = src.c[i]
        f.value[p] = src.value[i]
        f.a[p] = moved[src.a[i]]
        f.b[p] = moved[src.b[i]]
    return Tape(f, nleaf)


def tape_size(t: Tape) -> int:
    """The number of nodes on the tape, leaves included."""
    assert t.f is not None
    return t.f.n


def tape_run(t: Tape, seed: float) -> float:
    """Recompute the graph from its leaves' current values and add
    d(root)/d(node) * seed into every grad, as backward does on a graph built
    afresh; returns the root's new value."""
    f = t.f
    assert f is not None
    n, nleaf = f.n, t.nleaf
    a, b, ids, op, c, value = f.a, f.b, f.id, f.op, f.c, f.value
    with ar.lock:
        avalue, agrad = ar.value, ar.grad
        for i in range(1, nleaf + 1):
            value[i] = avalue[ids[i]]
        for i in range(nleaf + 1, n + 1):
            value[i] = FORWARD[op[i]](value[a[i]], value[b[i]], c[i])  # type: ignore[misc]
        sweep(f, seed, first=nleaf + 1)
        adjoint = f.adjoint
        for i in range(1, nleaf + 1):
            agrad[ids[i]] += adjoint[i]
        for i in range(nleaf + 1, n + 1):
            avalue[ids[i]] = value[i]
            agrad[ids[i]] = 0.0 + adjoint[i]    # as a fresh grad: -0.0 becomes +0.0
            ar.stamp[ids[i]] = ar.epoch         # recomputed from the leaves as they are (stale.py)
        return value[n]


def tape_free(t: Tape) -> None:
    """Drop the tape's references (freeing what only it kept)."""
    f = t.f
    if f is not None:
        t.f = None
        release(f.id[1:])
