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

import os
import threading
from typing import Any, Callable, NamedTuple, NoReturn

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

    __slots__ = ("pending", "labels", "_flush_lock", *HOT)
    name: str
    # whether release either drops every handle or, raising MemoryError,
    # none (then Engine.flush can put a batch back)
    release_is_all_or_nothing = False
    leaf: Callable[[float], int]
    apply: Callable[[int, int, int, float], int]
    apply_detached: Callable[[int, int, int, float], int]
    value: Callable[[int], float]
    grad: Callable[[int], float]
    set_value: Callable[[int, float], int]
    set_grad: Callable[[int, float], int]
    backward: Callable[[int, float], int]

    # --- the other node functions (arena.c) ----------------------------------
    @staticmethod
    def retain(node: int) -> int:
        raise NotImplementedError

    @staticmethod
    def release(ids: list[int]) -> int:
        raise NotImplementedError

    @staticmethod
    def node_info(node: int) -> NodeInfo | None:
        raise NotImplementedError

    @staticmethod
    def get_stats() -> tuple[int, int, int]:
        raise NotImplementedError

    @staticmethod
    def check() -> int:
        raise NotImplementedError

    @staticmethod
    def id_array(ids: list[int]) -> Any:
        raise NotImplementedError

    @staticmethod
    def descend(ids: Any, lr: float) -> int:
        raise NotImplementedError

    @staticmethod
    def zero_grads(ids: Any) -> int:
        raise NotImplementedError

    @staticmethod
    def find_stale(root: int) -> int:         # stale.c
        raise NotImplementedError

    @staticmethod
    def collect(held: list[int]) -> int:      # handles no Value holds: dropped
        raise NotImplementedError

    # --- the sweep (sweep.c) ------------------------------------------------
    @staticmethod
    def backward_checked(root: int, seed: float) -> tuple[int, int, int, float]:
        raise NotImplementedError

    @staticmethod
    def topo(root: int) -> list[int] | int:
        raise NotImplementedError

    @staticmethod
    def gradients(root: int, seed: float, ids: list[int]) -> list[float] | int:
        raise NotImplementedError

    # --- replay (tape.c) ----------------------------------------------------
    @staticmethod
    def tape_new(root: int) -> Any:
        raise NotImplementedError

    @staticmethod
    def tape_size(tape: Any) -> int:
        raise NotImplementedError

    @staticmethod
    def tape_run(tape: Any, seed: float) -> float:
        raise NotImplementedError

    @staticmethod
    def tape_free(tape: Any) -> None:
        raise NotImplementedError

    @staticmethod
    def tape_leaves(tape: Any) -> list[int]:
        raise NotImplementedError

    @staticmethod
    def tape_run_batch(tape: Any, nrows: int, col_ids: list[int], cols: list[Any], seed: float,
                       grad_ids: list[int], accumulate: bool, threads: int
                       ) -> tuple[Any, list[Any]] | int:
        """(values, grads) or a negative status; cols: 1-D float64 buffers
        (for the Python engine, any float sequences) of nrows each."""
        raise NotImplementedError

    # --- the test hook (testing.h) -------------------------------------------
    @staticmethod
    def fail_after(n: int) -> None:
        raise NotImplementedError

    def __init__(self, hot: dict[str, Callable[..., Any]]) -> None:
        for name in HOT:
            setattr(self, name, hot[name])
        self.pending: list[int] = []
        self.labels: dict[int, str] = {}   # node -> label, while its labelled Value lives
        self._flush_lock = threading.Lock()
        if hasattr(os, "register_at_fork"):
            # a flush in another thread at fork() would leave the lock held
            # in the child, and every flush there would wait for it forever
            os.register_at_fork(after_in_child=self._flush_lock._at_fork_reinit)  # type: ignore[attr-defined]

    def flush(self) -> None:
        """Release every pending node.  Safe from any thread, from __del__
        and against an interrupt: the batch is the pending list itself,
        swapped for a fresh one under a lock.  The swap is two stores with no
        call and no allocation, so no interrupt (3.11+), no garbage
        collection and so no finalizer can run while the lock is held (a
        finalizer's flush would wait for it forever).  Before, a
        non-blocking acquire left the lock held for good when an interrupt
        came right after it returned: every later flush was a no-op.  An
        interrupt between the swap and the release orphans the batch's
        nodes, as one after any engine call does: ag.collect() reclaims
        them."""
        fresh: list[int] = []
        with self._flush_lock:
            batch = self.pending
            self.pending = fresh
        if batch:
            try:
                self.release(batch)
            except MemoryError:
                # Out of memory before the engine changed anything (C: making
                # the id array): the batch goes back, or its nodes would leak.
                # The Python engine's release can fail part way, so its batch
                # cannot go back safely.
                if self.release_is_all_or_nothing:
                    self.pending.extend(batch)
                raise

    def check_status(self, status: int, root: int) -> None:
        """Raise for a negative status of a sweep from root; ESTALE names
        the input that changed."""
        if status == errors.ESTALE:
            self.stale_error(root)
        if status < 0:
            errors.raise_for_status(status)

    def stale_error(self, root: int) -> NoReturn:
        """Raise StaleGraphError naming the input of root's graph that
        changed after the graph read it."""
        node = self.find_stale(root)
        info = self.node_info(node) if node >= 0 else None
        if info is None:
            errors.raise_for_status(errors.ESTALE)
        if info.op == 0:
            what = (f"the leaf now holding {info.value!r} had its .data set after the graph "
                    "read it")
        else:
            what = (f"a node of the graph (now holding {info.value!r}) was recomputed by a Tape "
                    "run after the graph read it")
        raise errors.StaleGraphError(
            f"autograd: cannot differentiate this graph: {what}, so its values mix the old "
            "and the new value and its gradients would be wrong. Build the graph again "
            "from the new value (a Tape recomputes, so replay is never stale).")

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


class Finalized(Engine):
    """The engine of a Value whose ``__del__`` has run.  A finalizer elsewhere
    in a garbage cycle can resurrect such a Value (PEP 442: ``__del__`` runs
    once per object, and the object lives on); its node was handed to the
    engine for release and may already belong to another Value.  Every use of
    it raises, so it never reaches that node."""

    __slots__ = ()
    name = "finalized"

    def __init__(self) -> None:
        super().__init__({name: self._dead for name in HOT})

    @staticmethod
    def _dead(*args: Any) -> NoReturn:
        raise ReferenceError(
            "autograd: this Value was finalized (its __del__ ran during garbage collection) "
            "and then resurrected by another object's finalizer; its node is released. "
            "Keep the Value referenced from outside the garbage cycle.")

    retain = node_info = find_stale = topo = gradients = id_array = _dead  # type: ignore[assignment]
    descend = zero_grads = backward_checked = tape_new = _dead  # type: ignore[assignment]


FINALIZED = Finalized()
