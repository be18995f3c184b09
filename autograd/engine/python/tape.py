"""Re-running a recorded graph in place: the twin of csrc/tape.c.

A tape keeps one flat graph (sweep.Flat).  Replaying reads the leaves'
current values, recomputes the other values with the ops' rules, runs the
same sweep as backward, and writes values and grads back.
"""

from __future__ import annotations

from ... import errors
from .arena import LEAF, ar, injected_failure, is_live, release
from .rules import FORWARD
from .sweep import Flat, flat_order, sweep


class Tape:
    __slots__ = ("f",)

    def __init__(self, f: Flat) -> None:
        self.f: Flat | None = f

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
        for i in range(f.n):
            refs[f.id[i]] += 1
        return Tape(f)


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
    n = f.n
    a, b, ids, op, c, value = f.a, f.b, f.id, f.op, f.c, f.value
    with ar.lock:
        avalue, agrad = ar.value, ar.grad
        for i in range(n):
            if op[i] == LEAF:
                value[i] = avalue[ids[i]]
            else:
                value[i] = FORWARD[op[i]](value[a[i]], value[b[i]], c[i])  # type: ignore[misc]
        sweep(f, seed)
        adjoint = f.adjoint
        for i in range(n):
            if op[i] == LEAF:
                agrad[ids[i]] += adjoint[i]
            else:
                avalue[ids[i]] = value[i]
                agrad[ids[i]] = 0.0 + adjoint[i]    # as a fresh grad: -0.0 becomes +0.0
        return value[n - 1]


def tape_free(t: Tape) -> None:
    """Drop the tape's references (freeing what only it kept)."""
    f = t.f
    if f is not None:
        t.f = None
        release(f.id[: f.n])
