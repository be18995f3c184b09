"""Topological order and the reverse sweep: the twin of csrc/backward.c.

A depth-first post-order from the root (first input before second) with an
explicit stack, so no recursion on graph depth.  ``arena.slot`` is a sparse
set: slot[id] counts only when visit[slot[id]] == id, and visit belongs to
this call, so nothing an earlier call left behind can change this one.
"""

from __future__ import annotations

from .. import errors
from . import arena
from .rules import LOCAL_GRADS

ARITY = arena.ARITY


def topo_sort(root: int) -> tuple[list[int], list[int]]:
    """(visit, order): node ids by visit index, and visit indices in
    post-order (inputs first).  Call with the lock held."""
    op, a, b, slot = arena.op, arena.a, arena.b, arena.slot
    visit = [root]
    nxt = [0]               # by visit index: which input to descend into next
    slot[root] = 0
    stack = [0]             # visit indices on the depth-first path
    order: list[int] = []
    while stack:
        k = stack[-1]
        node = visit[k]
        if nxt[k] < ARITY[op[node]]:
            inp = a[node] if nxt[k] == 0 else b[node]
            nxt[k] += 1
            s = slot[inp]
            if not (0 <= s < len(visit) and visit[s] == inp):
                s = len(visit)
                visit.append(inp)
                nxt.append(0)
                slot[inp] = s
                stack.append(s)
        else:
            order.append(k)
            stack.pop()
    return visit, order


def topo(root: int) -> list[int] | int:
    """Ids reachable from root, inputs first; or a negative status."""
    with arena.lock:
        if not arena.is_live(root):
            return errors.EBADID
        if arena.injected_failure():
            return errors.ENOMEM
        visit, order = topo_sort(root)
        return [visit[k] for k in order]


def backward_sweep(root: int, seed: float, checked: bool) -> tuple[int, int, int, float]:
    """backward's sweep; (status, node, input, g).  When checked, it stops at
    the first rule that produces nan and returns ENAN with that node, which
    input (0: a, 1: b) and the gradient the rule was given; no grad changes.
    Its adjoint was complete and not nan: the rule made the nan."""
    op, a, b, c, value, slot = arena.op, arena.a, arena.b, arena.c, arena.value, arena.slot
    with arena.lock:
        if not arena.is_live(root):
            return errors.EBADID, -1, -1, 0.0
        if arena.injected_failure():
            return errors.ENOMEM, -1, -1, 0.0
        visit, order = topo_sort(root)
        adjoint = [0.0] * len(visit)
        adjoint[slot[root]] = seed
        for k in reversed(order):
            node = visit[k]
            o = op[node]
            arity = ARITY[o]
            if arity == 0:
                continue
            ia = a[node]
            if arity == 2:
                ib = b[node]
                da, db = LOCAL_GRADS[o](value[ia], value[ib], c[node], value[node], adjoint[k])
                if checked and (da != da or db != db):
                    return errors.ENAN, node, 0 if da != da else 1, adjoint[k]
                adjoint[slot[ia]] += da
                adjoint[slot[ib]] += db
            else:
                da, _ = LOCAL_GRADS[o](value[ia], 0.0, c[node], value[node], adjoint[k])
                if checked and da != da:
                    return errors.ENAN, node, 0, adjoint[k]
                adjoint[slot[ia]] += da
        grad = arena.grad
        for k, node in enumerate(visit):
            grad[node] += adjoint[k]
        return errors.OK, -1, -1, 0.0


def backward(root: int, seed: float) -> int:
    """Add d(root)/d(node) * seed into the grad of every node reachable from
    root; the adjoints of this call are computed afresh, then added."""
    return backward_sweep(root, seed, False)[0]


def backward_checked(root: int, seed: float) -> tuple[int, int, int, float]:
    """backward for anomaly mode: (status, node, input, g), as C's
    ag_backward_checked; status ENAN names the rule that produced nan."""
    return backward_sweep(root, seed, True)
