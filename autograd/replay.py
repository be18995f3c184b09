"""Graph replay: record a graph once, re-run forward and backward in the engine.

A training step whose graph has the same shape every time (same ops, same
constants, only the leaves' values change) need not rebuild the graph in
Python.  ``record`` builds it once, eagerly; ``Tape.run`` then recomputes
every node from the leaves' current values and runs the backward sweep,
entirely inside the engine (C, or its pure-Python twin), with the same
formulas in the same order: a replayed step equals an eager one bit for bit.
``optim.SGD`` updates every parameter in one engine call.

    tape = replay.record(lambda: loss_fn(model, x))     # builds the graph once
    opt = optim.SGD(model.parameters(), lr=0.05)
    for _ in range(100):
        opt.zero_grad()                                  # one engine call
        loss = tape.run()                                # forward + backward
        opt.step()                                       # p -= lr * p.grad, one call

What a tape cannot see: Python code runs only while recording.  A branch on a
value (``if x.data > 0``), a loop whose length depends on data, or a number
that changes between steps (a learning-rate schedule written as ``x * lr``)
is frozen at its recorded state.  Leaves are what may change: parameters and
inputs held as ``Value`` leaves and updated through ``.data`` or ``SGD``.
``record`` refuses a function that reads a value while building (the usual
sign of such a branch) unless told the reads are harmless, and
``Tape.verify`` compares the tape with a graph built afresh, to test a
training loop once before trusting replay with it.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from . import errors, modes, ops
from .engine import Engine
from .errors import raise_for_status
from .primitive import made as primitives_made
from .value import Value


class ReplayError(RuntimeError):
    """A tape cannot stand for the computation it was asked to replay."""


class Tape:
    """The recorded graph below ``root``.  It holds a reference on every node
    of the graph, so the nodes outlive the Values that built them; ``close``
    (or leaving a ``with`` block) lets them go."""

    # _lock: held by run and close, so a close waits for a run in progress in
    # another thread (cffi releases the GIL inside the run) instead of
    # freeing the tape under it.
    __slots__ = ("_eng", "_tape", "_root", "_lock", "__weakref__")

    def __init__(self, root: Value) -> None:
        if not isinstance(root, Value):
            raise TypeError(f"Tape() takes the Value to replay, not {type(root).__name__}")
        eng: Engine = root._eng
        if primitives_made[0] and ops.PRIMITIVE in eng.flat(root._id).op:
            # its value and derivatives come from Python functions, called
            # once while building: a replay would repeat them frozen
            raise ReplayError("the graph holds an ag.primitive, which a tape cannot replay (its "
                              "functions are Python, called only while building): build this "
                              "graph eagerly each step")
        tape = eng.tape_new(root._id)
        if isinstance(tape, int):
            raise_for_status(tape)
        self._eng = eng
        self._tape = tape
        self._root = root
        self._lock = threading.Lock()

    @property
    def root(self) -> Value:
        """The recorded output; its ``.data`` is the value of the last run."""
        return self._root

    def __len__(self) -> int:
        """Nodes on the tape, leaves included."""
        with self._lock:
            return self._eng.tape_size(self._live())

    def _live(self) -> Any:
        if self._tape is None:
            raise ReplayError("this tape was closed: record the graph again")
        return self._tape

    def run(self, seed: float = 1.0) -> float:
        """Recompute the graph from the leaves' current values and add
        d(root)/d(leaf) * seed into every leaf's ``.grad`` (as
        ``root.backward(seed)`` on a graph built afresh).  Returns the root's
        new value."""
        s = float(seed)
        with self._lock:
            return self._eng.tape_run(self._live(), s)

    def verify(self, root: Value) -> None:
        """Raise ReplayError unless ``root``, a graph built afresh by the code
        that was recorded, has the tape's shape: the same ops, constants and
        wiring, on the same leaves (or new leaves holding the same values)."""
        eng = self._eng
        if root._eng is not eng:
            raise ReplayError("the graph to verify belongs to another backend than the tape")
        with self._lock:    # a close in another thread waits (it would free the graph read here)
            self._live()
            self._verify(root)

    def _verify(self, root: Value) -> None:
        eng = self._eng
        old = errors.checked(eng.topo(self._root._id))
        new = errors.checked(eng.topo(root._id))
        if len(old) != len(new):
            raise ReplayError(f"the graph has {len(new)} nodes, the tape {len(old)}: "
                              "a branch or a loop took another path")
        pos_old = {node: i for i, node in enumerate(old)}
        pos_new = {node: i for i, node in enumerate(new)}
        for i, (o, n) in enumerate(zip(old, new)):
            a, b = eng.node(o), eng.node(n)
            if a.op != b.op or (a.op != 0 and a.c != b.c and not (a.c != a.c and b.c != b.c)):
                raise ReplayError(f"node {i} differs (op or constant): the computation "
                                  "changed since it was recorded")
            if a.op == 0:
                if o != n and a.value != b.value:
                    raise ReplayError(f"node {i} is a new leaf with another value: make it an "
                                      "input leaf that the tape shares, not a number made "
                                      "inside the recorded function")
                continue
            for x, y in ((a.a, b.a), (a.b, b.b)):
                if (x >= 0) != (y >= 0) or (x >= 0 and pos_old[x] != pos_new[y]):
                    raise ReplayError(f"node {i} takes other inputs than on the tape")

    def close(self) -> None:
        """Release the tape and the graph it holds.  Running it afterwards
        raises ReplayError."""
        with self._lock:
            tape, self._tape = self._tape, None
            if tape is not None:
                self._eng.tape_free(tape)
                self._root = None  # type: ignore[assignment]

    def __enter__(self) -> Tape:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def record(fn: Callable[[], Value], *, allow_reads: bool = False) -> Tape:
    """Call ``fn()`` once to build a graph and return its Tape.  While fn
    runs, reading any Value's value (``.data``, ``float(v)``) raises
    ReplayError, since a replay cannot repeat a decision taken on it; pass
    ``allow_reads=True`` when the values read do not steer the graph.  The
    watch (modes.watching_reads) sees every read in the process: record from
    one thread at a time, with no other thread reading values meanwhile."""
    with modes.watching_reads() as watched:
        root = fn()
    reads = 0 if allow_reads else watched[0]
    if reads:
        raise ReplayError(
            f"the recorded function read a value {reads} time(s) while building the graph; "
            "a branch on a value cannot be replayed. Pass allow_reads=True if the reads do "
            "not decide which ops run.")
    if not isinstance(root, Value):
        raise TypeError(f"the recorded function must return a Value, not {type(root).__name__}")
    return Tape(root)
