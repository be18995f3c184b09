"""Graph replay: record a graph once, re-run forward and backward in the engine.

A training step whose graph has the same shape every time (same ops, same
constants, only the leaves' values change) need not rebuild the graph in
Python.  ``record`` builds it once, eagerly; ``Tape.run`` then recomputes
every node from the leaves' current values and runs the backward sweep,
entirely inside the engine (C, or its pure-Python twin), with the same
formulas in the same order: a replayed step equals an eager one bit for bit.
``SGD`` updates many parameters in one engine call.

    tape = replay.record(lambda: loss_fn(model, x))     # builds the graph once
    opt = replay.SGD(model.parameters(), lr=0.05)
    for _ in range(100):
        loss = tape.run()                                # forward + backward
        opt.step()                                       # p -= lr * p.grad; p.grad = 0

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

from collections.abc import Iterable
from typing import Callable

from .engine import Engine
from .errors import raise_for_status
from .value import Value


class ReplayError(RuntimeError):
    """A tape cannot stand for the computation it was asked to replay."""


class Tape:
    """The recorded graph below ``root``.  It holds a reference on every node
    of the graph, so the nodes outlive the Values that built them; ``close``
    (or leaving a ``with`` block) lets them go."""

    __slots__ = ("_eng", "_tape", "_root", "__weakref__")

    def __init__(self, root: Value) -> None:
        if not isinstance(root, Value):
            raise TypeError(f"Tape() takes the Value to replay, not {type(root).__name__}")
        eng: Engine = root._eng
        tape = eng.tape_new(root._id)
        if isinstance(tape, int):
            raise_for_status(tape)
        self._eng = eng
        self._tape = tape
        self._root = root

    @property
    def root(self) -> Value:
        """The recorded output; its ``.data`` is the value of the last run."""
        return self._root

    def __len__(self) -> int:
        """Nodes on the tape, leaves included."""
        return self._eng.tape_size(self._live())

    def _live(self) -> object:
        if self._tape is None:
            raise ReplayError("this tape was closed: record the graph again")
        return self._tape

    def run(self, seed: float = 1.0) -> float:
        """Recompute the graph from the leaves' current values and add
        d(root)/d(leaf) * seed into every leaf's ``.grad`` (as
        ``root.backward(seed)`` on a graph built afresh).  Returns the root's
        new value."""
        return self._eng.tape_run(self._live(), float(seed))

    def verify(self, root: Value) -> None:
        """Raise ReplayError unless ``root``, a graph built afresh by the code
        that was recorded, has the tape's shape: the same ops, constants and
        wiring, on the same leaves (or new leaves holding the same values)."""
        eng = self._eng
        if root._eng is not eng:
            raise ReplayError("the graph to verify belongs to another backend than the tape")
        old = eng.topo(self._root._id)
        new = eng.topo(root._id)
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
        if self._tape is not None:
            self._eng.tape_free(self._tape)
            self._tape = None
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
    watch is on the current backend's engine as a whole: record from one
    thread at a time, with no other thread reading values meanwhile."""
    from . import backend

    eng = backend.engine
    reads = 0
    read = eng.value

    def watched(node: int) -> float:
        nonlocal reads
        reads += 1
        return read(node)

    if not allow_reads:
        eng.value = watched
    try:
        root = fn()
    finally:
        eng.value = read
    if reads:
        raise ReplayError(
            f"the recorded function read a value {reads} time(s) while building the graph; "
            "a branch on a value cannot be replayed. Pass allow_reads=True if the reads do "
            "not decide which ops run.")
    if not isinstance(root, Value):
        raise TypeError(f"the recorded function must return a Value, not {type(root).__name__}")
    return Tape(root)


class SGD:
    """Plain SGD over many leaves in one engine call per step:
    ``p.data = p.data - lr * p.grad; p.grad = 0`` for each, rounded exactly
    as that Python line would."""

    __slots__ = ("params", "lr", "_eng", "_ids")

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params = list(params)
        self.lr = float(lr)
        engines = {p._eng for p in self.params}
        if len(engines) > 1:
            raise ValueError("SGD: the parameters belong to more than one backend")
        if not engines:
            raise ValueError("SGD: no parameters")
        self._eng: Engine = engines.pop()
        for p in self.params:
            if self._eng.node(p._id).op != 0:
                raise ValueError("SGD: every parameter must be a leaf Value (made by Value(x))")
        self._ids = self._eng.id_array([p._id for p in self.params])

    def step(self) -> None:
        status = self._eng.sgd(self._ids, self.lr)
        if status:
            raise_for_status(status)
