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
from typing import Any, Callable, NamedTuple

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


# The functions an op or a Value's attribute calls, held in slots of each
# engine: an engine's own function (a cffi function, or the twin's Python
# function) in a slot costs one call and no wrapper, and the interpreter
# reads a slot fast (a builtin found on the class would not be).
HOT = ("leaf", "apply", "apply_detached", "value", "grad", "set_value", "set_grad", "backward")


class Engine:
    """One engine.  See csrc/autograd.h for each function's contract.

    The hot functions, bound by each engine's __init__ to its own functions:
    leaf(x) -> id; apply(op, a, b, c) -> id; apply_detached(op, a, b, c) -> id;
    value(id) -> float; grad(id) -> float; set_value(id, x) -> status;
    set_grad(id, g) -> status; backward(root, seed) -> status."""

    __slots__ = ("pending", "_flush_lock", *HOT)
    name: str
    leaf: Callable[[float], int]
    apply: Callable[[int, int, int, float], int]
    apply_detached: Callable[[int, int, int, float], int]
    value: Callable[[int], float]
    grad: Callable[[int], float]
    set_value: Callable[[int, float], int]
    set_grad: Callable[[int, float], int]
    backward: Callable[[int, float], int]

    # --- the other node functions (arena.c) ----------------------------------
    def retain(self, node: int) -> int: ...
    def release(self, ids: list[int]) -> int: ...
    def node_info(self, node: int) -> NodeInfo | None: ...
    def get_stats(self) -> tuple[int, int, int]: ...
    def check(self) -> int: ...
    def id_array(self, ids: list[int]) -> Any: ...       # ids in the form the next two take
    def descend(self, ids: Any, lr: float) -> int: ...
    def zero_grads(self, ids: Any) -> int: ...

    # --- the sweep (sweep.c) ------------------------------------------------
    def backward_checked(self, root: int, seed: float) -> tuple[int, int, int, float]: ...
    def topo(self, root: int) -> list[int] | int: ...
    def gradients(self, root: int, seed: float, ids: list[int]) -> list[float] | int: ...

    # --- replay (tape.c) ----------------------------------------------------
    def tape_new(self, root: int) -> Any: ...
    def tape_size(self, tape: Any) -> int: ...
    def tape_run(self, tape: Any, seed: float) -> float: ...
    def tape_free(self, tape: Any) -> None: ...
    def tape_leaves(self, tape: Any) -> list[int]: ...
    # (values, grads) or a negative status; cols: 1-D float64 buffers (or, for
    # the Python engine, any float sequences) of nrows each
    def tape_run_batch(self, tape: Any, nrows: int, col_ids: list[int], cols: list[Any], seed: float,
                       grad_ids: list[int], accumulate: bool, threads: int
                       ) -> tuple[Any, list[Any]] | int: ...

    # --- the test hook (testing.h) -------------------------------------------
    def fail_after(self, n: int) -> None: ...

    def __init__(self, hot: dict[str, Callable[..., Any]]) -> None:
        for name in HOT:
            setattr(self, name, hot[name])
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
        position = {node: i for i, node in enumerate(ids, 1)}
        infos = [self.node(node) for node in ids]
        none = 0
        return Flat(len(ids), [-1] + ids,
                    [none] + [position[info.a] if info.a >= 0 else none for info in infos],
                    [none] + [position[info.b] if info.b >= 0 else none for info in infos],
                    [0] + [info.op for info in infos], [0.0] + [info.c for info in infos],
                    [0.0] + [info.value for info in infos])

    def stats(self) -> dict[str, int]:
        """{"live_nodes", "capacity"}, pending releases applied first."""
        self.flush()
        live, capacity, _free = self.get_stats()
        return {"live_nodes": live, "capacity": capacity}
