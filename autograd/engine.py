"""The interface both engines present to ``Value``.

An ``Engine`` is a bundle of plain functions over one process-wide arena, with
the same names and contracts in both backends (C: csrc/autograd.h; Python:
autograd/engine_py).  Functions return node ids, or negative statuses that
``errors.raise_for_status`` turns into exceptions.

Releasing nodes is deferred: ``Value.__del__`` only appends its id to
``pending``, and ``flush`` hands the batch to the engine.  One C call per dead
Value would cost more than the op that made it.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, NamedTuple

from . import errors

# Pending releases are flushed once this many have gathered.
FLUSH_THRESHOLD = 4096


class NodeInfo(NamedTuple):
    op: int
    a: int          # first input, -1 if none
    b: int          # second input, -1 if none
    refs: int       # Python handles plus consuming nodes
    c: float        # constant operand of the *C ops
    value: float
    grad: float


class Engine:
    __slots__ = (
        "name", "leaf", "apply", "apply_detached", "value", "grad", "set_value", "set_grad",
        "retain", "backward", "backward_checked", "check", "fail_after", "pending",
        "_release", "_node_info", "_topo", "_gradients", "_stats", "_flush_lock",
        "tape_new", "tape_run", "tape_size", "tape_free", "id_array", "sgd",
    )

    def __init__(
        self,
        name: str,
        *,
        leaf: Callable[[float], int],
        apply: Callable[[int, int, int, float], int],
        apply_detached: Callable[[int, int, int, float], int],
        value: Callable[[int], float],
        grad: Callable[[int], float],
        set_value: Callable[[int, float], int],
        set_grad: Callable[[int, float], int],
        retain: Callable[[int], int],
        backward: Callable[[int, float], int],
        backward_checked: Callable[[int, float], tuple[int, int, int, float]],
        check: Callable[[], int],
        fail_after: Callable[[int], None],
        release: Callable[[list[int]], int],
        node_info: Callable[[int], NodeInfo | None],
        topo: Callable[[int], list[int] | int],
        gradients: Callable[[int, float, list[int]], list[float] | int],
        stats: Callable[[], tuple[int, int, int]],
        tape_new: Callable[[int], Any],
        tape_run: Callable[[Any, float], float],
        tape_size: Callable[[Any], int],
        tape_free: Callable[[Any], None],
        id_array: Callable[[list[int]], Any],
        sgd: Callable[[Any, float], int],
    ) -> None:
        self.name = name
        self.leaf = leaf
        self.apply = apply
        self.apply_detached = apply_detached  # the op's value as a new leaf (no_grad)
        self.value = value
        self.grad = grad
        self.set_value = set_value
        self.set_grad = set_grad
        self.retain = retain
        self.backward = backward
        self.backward_checked = backward_checked
        self.check = check
        self.fail_after = fail_after
        self.pending: list[int] = []
        self._release = release
        self._node_info = node_info
        self._topo = topo
        self._gradients = gradients
        self._stats = stats
        self._flush_lock = threading.Lock()
        # Graph replay (autograd/replay.py): tape_new returns a tape or a
        # negative status; id_array makes the engine's form of a list of ids.
        self.tape_new = tape_new
        self.tape_run = tape_run
        self.tape_size = tape_size
        self.tape_free = tape_free
        self.id_array = id_array
        self.sgd = sgd

    def flush(self) -> None:
        """Release every pending node.  Safe from any thread and from __del__:
        the batch is cut off the list under a lock (appends only ever go to its
        end), and a flush already in progress makes this one a no-op."""
        if not self._flush_lock.acquire(blocking=False):
            return
        try:
            pending = self.pending
            n = len(pending)
            batch = pending[:n]
            del pending[:n]
        finally:
            self._flush_lock.release()
        if batch:
            self._release(batch)

    def node(self, node: int) -> NodeInfo:
        info = self._node_info(node)
        if info is None:
            errors.raise_for_status(errors.EBADID)
        return info

    def topo(self, root: int) -> list[int]:
        """Ids of the nodes reachable from root, inputs before outputs."""
        ids = self._topo(root)
        if isinstance(ids, int):
            errors.raise_for_status(ids)
        return ids

    def gradients(self, root: int, seed: float, ids: list[int]) -> list[float]:
        """d(root)/d(node) * seed for each node in ids, as backward() would add
        them to .grad, with no .grad changed (0.0 where root does not depend
        on the node)."""
        out = self._gradients(root, seed, ids)
        if isinstance(out, int):
            errors.raise_for_status(out)
        return out

    def stats(self) -> dict[str, int]:
        self.flush()
        live, capacity, _free = self._stats()
        return {"live_nodes": live, "capacity": capacity}
