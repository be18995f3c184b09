"""Topological order and the reverse sweep: the twin of csrc/backward.c.

A depth-first post-order from the root (first input before second) with an
explicit stack, so no recursion on graph depth.  While it walks, the sort
records each node's inputs as visit indices, so the sweep never looks an id
up again.  ``arena.slot`` is a sparse set: slot[id] counts only when
visit[slot[id]] == id, and visit belongs to this call, so nothing an earlier
call left behind can change this one.
"""

from __future__ import annotations

from .. import errors
from . import arena
from .rules import LOCAL_GRADS

ARITY = arena.ARITY


def sweep_order(root: int) -> tuple[list[int], list[int], list[int]]:
    """(visit, inputs, order): node ids by visit index (visit[0] is root);
    by 2 * visit index (+1) the inputs' visit indices, -1 none; visit indices
    in post-order, inputs first.  Call with the lock held."""
    op, a, b, slot = arena.op, arena.a, arena.b, arena.slot
    visit = [root]
    nxt = [0]               # by visit index: which input to descend into next
    inputs = [-1, -1]
    slot[root] = 0
    stack = [0]             # visit indices on the depth-first path
    order: list[int] = []
    while stack:
        k = stack[-1]
        node = visit[k]
        j = nxt[k]
        if j < ARITY[op[node]]:
            inp = a[node] if j == 0 else b[node]
            v = slot[inp]
            nxt[k] = j + 1
            if v >= len(visit) or visit[v] != inp:
                v = len(visit)
                visit.append(inp)
                nxt.append(0)
                inputs.append(-1)
                inputs.append(-1)
                slot[inp] = v
                stack.append(v)
            inputs[2 * k + j] = v
        else:
            order.append(k)
            stack.pop()
    return visit, inputs, order


def topo(root: int) -> list[int] | int:
    """Ids reachable from root, inputs first; or a negative status."""
    with arena.lock:
        if not arena.is_live(root):
            return errors.EBADID
        if arena.injected_failure():
            return errors.ENOMEM
        visit, _inputs, order = sweep_order(root)
        return [visit[k] for k in order]


def sweep_adjoints(
    visit: list[int],
    inputs: list[int],
    order: list[int],
    seed: float,
    add_to_grad: bool,
    anomaly: list[float] | None = None,
) -> list[float] | None:
    """The reverse sweep: adjoint[k] becomes d(root)/d(visit[k]) * seed; with
    add_to_grad it is added into grad when the sweep reaches the node (every
    node using it comes before it in the sweep, so it is complete then).

    With anomaly (a list, anomaly mode) grads are added only once the whole
    sweep is through, and the sweep stops at the first rule that produces
    nan: anomaly becomes [node, input (0: a, 1: b), g] and the result is None,
    with no grad changed.  That rule was given a complete adjoint that was not
    nan, so it made the nan."""
    op, a, b, c, value, grad = arena.op, arena.a, arena.b, arena.c, arena.value, arena.grad
    add_now = add_to_grad and anomaly is None
    adjoint = [0.0] * len(visit)
    adjoint[0] = seed
    for k in reversed(order):
        node = visit[k]
        if add_now:
            grad[node] += adjoint[k]
        ka = inputs[2 * k]
        if ka < 0:
            continue    # a leaf
        kb = inputs[2 * k + 1]
        if kb >= 0:
            da, db = LOCAL_GRADS[op[node]](value[a[node]], value[b[node]], c[node], value[node],
                                           adjoint[k])
        else:
            da, db = LOCAL_GRADS[op[node]](value[a[node]], 0.0, c[node], value[node], adjoint[k])
        if anomaly is not None and (da != da or db != db):
            anomaly[:] = [node, 0 if da != da else 1, adjoint[k]]
            return None
        adjoint[ka] += da
        if kb >= 0:
            adjoint[kb] += db
    if add_to_grad and not add_now:
        for k, node in enumerate(visit):
            grad[node] += adjoint[k]
    return adjoint


def backward_sweep(root: int, seed: float, anomaly: list[float] | None) -> int:
    """backward, and with anomaly (a list to fill) backward_checked."""
    with arena.lock:
        if not arena.is_live(root):
            return errors.EBADID
        if arena.injected_failure():
            return errors.ENOMEM
        visit, inputs, order = sweep_order(root)
        if sweep_adjoints(visit, inputs, order, seed, True, anomaly) is None:
            return errors.ENAN
        return errors.OK


def backward(root: int, seed: float) -> int:
    """Add d(root)/d(node) * seed into the grad of every node reachable from
    root; the adjoints of this call are computed afresh, then added."""
    return backward_sweep(root, seed, None)


def backward_checked(root: int, seed: float) -> tuple[int, int, int, float]:
    """backward for anomaly mode: (status, node, input, g), as C's
    ag_backward_checked; status ENAN names the rule that produced nan."""
    anomaly: list[float] = []
    status = backward_sweep(root, seed, anomaly)
    if status == errors.ENAN:
        return status, int(anomaly[0]), int(anomaly[1]), anomaly[2]
    return status, -1, -1, 0.0


def gradients(root: int, seed: float, ids: list[int]) -> list[float] | int:
    """d(root)/d(node) * seed for each node in ids (0.0 for a node root does
    not depend on): backward()'s sweep with add_to_grad off, so no grad
    changes; or a negative status."""
    slot = arena.slot
    with arena.lock:
        if not arena.is_live(root) or not all(arena.is_live(node) for node in ids):
            return errors.EBADID
        if arena.injected_failure():
            return errors.ENOMEM
        visit, inputs, order = sweep_order(root)
        adjoint = sweep_adjoints(visit, inputs, order, seed, False)
        assert adjoint is not None  # only anomaly mode stops early
        out = []
        for node in ids:
            k = slot[node]
            out.append(adjoint[k] if 0 <= k < len(visit) and visit[k] == node else 0.0)
        return out
