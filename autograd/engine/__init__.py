"""The engine interface: what both engines present to ``Value``.

An engine is one process-wide arena of nodes with the functions of
csrc/autograd.h, under the same names without the ``ag_`` prefix and with the
same contracts: ``CEngine`` (engine/c.py) binds the compiled functions
themselves, ``PythonEngine`` (engine/python/) the twin's, which mirror csrc/
file for file.  Functions return node ids, or negative statuses that
``errors.raise_for_status`` turns into exceptions.  Nothing here is replaced
while running: modes that change what ops do (no_grad, anomaly mode, a
recording that watches reads) are explicit hooks in autograd/modes.py.

Releasing nodes is deferred: ``Value.__del__`` only appends its id to
``pending``, and ``flush`` hands the batch to the engine.  One C call per dead
Value would cost more than the op that made it.

This package owns the engines; it imports only errors, ops and c99math.
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

from .. import errors

# Pending releases are flushed once this many have gathered.
FLUSH_THRESHOLD = 4096


class NodeInfo(NamedTuple):
    op: int
    a: int          # first input, -1 if none
    b: int          # second input, -1 if none
    refs: int       # Python handles plus consuming nodes
    c: float        # constant operand
    value: float
    grad: float


class Engine:
    """One engine.  The node functions below are the engine's own (a cffi
    function, or the twin's Python function), looked up on the class, so an
    op costs one call and no wrapper.  See csrc/autograd.h for each contract."""

    __slots__ = ("pending", "_flush_lock")
    name: str

    # --- the node functions (arena.c) ---------------------------------------
    def leaf(self, x: float) -> int: ...
    def apply(self, op: int, a: int, b: int, c: float) -> int: ...
    def apply_detached(self, op: int, a: int, b: int, c: float) -> int: ...
    def value(self, node: int) -> float: ...
    def grad(self, node: int) -> float: ...
    def set_value(self, node: int, x: float) -> int: ...
    def set_grad(self, node: int, g: float) -> int: ...
    def retain(self, node: int) -> int: ...
    def release(self, ids: list[int]) -> int: ...
    def node_info(self, node: int) -> NodeInfo | None: ...
    def get_stats(self) -> tuple[int, int, int]: ...
    def check(self) -> int: ...
    def id_array(self, ids: list[int]) -> Any: ...       # ids in the form the next two take
    def descend(self, ids: Any, lr: float) -> int: ...
    def zero_grads(self, ids: Any) -> int: ...

    # --- the sweep (sweep.c) ------------------------------------------------
    def backward(self, root: int, seed: float) -> int: ...
    def backward_checked(self, root: int, seed: float) -> tuple[int, int, int, float]: ...
    def topo(self, root: int) -> list[int] | int: ...
    def gradients(self, root: int, seed: float, ids: list[int]) -> list[float] | int: ...

    # --- replay (tape.c) ----------------------------------------------------
    def tape_new(self, root: int) -> Any: ...
    def tape_size(self, tape: Any) -> int: ...
    def tape_run(self, tape: Any, seed: float) -> float: ...
    def tape_free(self, tape: Any) -> None: ...

    # --- the test hook (testing.h) -------------------------------------------
    def fail_after(self, n: int) -> None: ...

    def __init__(self) -> None:
        self.pending: list[int] = []
        self._flush_lock = threading.Lock()

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
            self.release(batch)

    def node(self, node: int) -> NodeInfo:
        """The node's fields; RuntimeError for an id not in use."""
        info = self.node_info(node)
        if info is None:
            errors.raise_for_status(errors.EBADID)
        return info

    def flat(self, root: int) -> Any:
        """The graph below root laid out as the sweep reads it (a
        python.sweep.Flat), read through topo and node_info."""
        from .python.sweep import Flat

        ids = errors.checked(self.topo(root))
        position = {node: i for i, node in enumerate(ids)}
        n = len(ids)
        infos = [self.node(node) for node in ids]
        a = [position[info.a] if info.a >= 0 else n for info in infos] + [n]
        b = [position[info.b] if info.b >= 0 else n for info in infos] + [n]
        return Flat(n, ids + [-1], a, b, [info.op for info in infos] + [0],
                    [info.c for info in infos] + [0.0], [info.value for info in infos] + [0.0])

    def stats(self) -> dict[str, int]:
        """{"live_nodes", "capacity"}, pending releases applied first."""
        self.flush()
        live, capacity, _free = self.get_stats()
        return {"live_nodes": live, "capacity": capacity}
