"""Graph replay and SGD in one call: the twin of csrc/replay.c.

A tape is the sweep of one graph, kept: visit (node ids), order (post-order
of visit indices) and each node's inputs as visit indices.  Replaying
recomputes every non-leaf value in post-order with the forward rules, then
runs the same reverse sweep as ``backward``.
"""

from __future__ import annotations

from .. import errors
from . import arena
from .backward import topo_sort
from .rules import FORWARD, LOCAL_GRADS

ARITY = arena.ARITY


class Tape:
    __slots__ = ("visit", "order", "input")

    def __init__(self, visit: list[int], order: list[int], inputs: list[int]) -> None:
        self.visit = visit
        self.order = order
        self.input = inputs     # by 2 * visit index (+1): the inputs' visit indices, -1 none


def tape_new(root: int) -> Tape | int:
    """Record the graph below root, holding a reference on each of its nodes;
    or a negative status."""
    with arena.lock:
        if not arena.is_live(root):
            return errors.EBADID
        visit, _order = topo_sort(root)
        op, a, b, slot, refs = arena.op, arena.a, arena.b, arena.slot, arena.refs
        inputs = [-1] * (2 * len(visit))
        for k, node in enumerate(visit):
            arity = ARITY[op[node]]
            if arity >= 1:
                inputs[2 * k] = slot[a[node]]
            if arity == 2:
                inputs[2 * k + 1] = slot[b[node]]
            refs[node] += 1
        return Tape(visit, _order, inputs)


def tape_size(tape: Tape) -> int:
    return len(tape.visit)


def sweep_adjoints(tape: Tape, seed: float) -> None:
    """The reverse sweep of backward.backward over a tape, adding each node's
    completed adjoint into its grad.  Call with the lock held."""
    op, c, value, grad = arena.op, arena.c, arena.value, arena.grad
    visit, inputs = tape.visit, tape.input
    adjoint = [0.0] * len(visit)
    adjoint[0] = seed
    for k in reversed(tape.order):
        node = visit[k]
        grad[node] += adjoint[k]
        ka = inputs[2 * k]
        if ka < 0:
            continue
        kb = inputs[2 * k + 1]
        if kb >= 0:
            da, db = LOCAL_GRADS[op[node]](value[visit[ka]], value[visit[kb]], c[node], value[node],
                                           adjoint[k])
            adjoint[ka] += da
            adjoint[kb] += db
        else:
            da, _ = LOCAL_GRADS[op[node]](value[visit[ka]], 0.0, c[node], value[node], adjoint[k])
            adjoint[ka] += da


def tape_run(tape: Tape, seed: float) -> float:
    """Recompute the graph from its leaves' current values, reset the
    non-leaf grads, add d(root)/d(node) * seed into every grad; returns the
    root's new value."""
    op, c, value, grad = arena.op, arena.c, arena.value, arena.grad
    visit, inputs = tape.visit, tape.input
    with arena.lock:
        for k in tape.order:
            ka = inputs[2 * k]
            if ka < 0:
                continue
            node = visit[k]
            kb = inputs[2 * k + 1]
            value[node] = FORWARD[op[node]](value[visit[ka]], value[visit[kb]] if kb >= 0 else 0.0,
                                            c[node])
            grad[node] = 0.0
        sweep_adjoints(tape, seed)
        return value[visit[0]]


def tape_free(tape: Tape) -> None:
    arena.release(tape.visit)
    tape.visit = []
    tape.order = []
    tape.input = []


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
