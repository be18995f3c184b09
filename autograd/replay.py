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

import sys
import threading
from array import array
from collections.abc import Mapping, Sequence
from typing import Any, Callable

from . import errors, modes, ops
from .engine import Engine
from .errors import raise_for_status
from .primitive import made as primitives_made
from .value import Value, _wrap


class ReplayError(RuntimeError):
    """A tape cannot stand for the computation it was asked to replay."""


class Tape:
    """The recorded graph below ``root``.  It holds a reference on every node
    of the graph, so the nodes outlive the Values that built them; ``close``
    (or leaving a ``with`` block) lets them go."""

    # _lock: held by run and close, so a close waits for a run in progress in
    # another thread (cffi releases the GIL inside the run) instead of
    # freeing the tape under it.
    # _leaves: tape.leaves, made at its first use (a loaded tape's are its own)
    __slots__ = ("_eng", "_tape", "_root", "_leaves", "_lock", "__weakref__")

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
        self._leaves: tuple[Value, ...] | None = None
        self._lock = threading.Lock()

    @property
    def root(self) -> Value:
        """The recorded output; its ``.data`` is the value of the last run."""
        return self._root

    @property
    def leaves(self) -> tuple[Value, ...]:
        """The tape's leaves, inputs and parameters alike, in the order the
        tape records them (depth first from the root, first operand first):
        the keys ``run_batch`` takes.  ``replay.record`` gives back the very
        Values the recorded code used (``tape.leaves.index(x)`` finds x); a
        loaded tape's are its own.  A tape made with ``Tape(root)`` does not
        know the Values, and gives new ones on the same nodes (same
        ``.data``, same ``.grad``)."""
        with self._lock:
            tape = self._live()
            if self._leaves is None:
                self._leaves = tuple(_share(self._eng, node) for node in self._eng.tape_leaves(tape))
            return self._leaves

    def __reduce__(self) -> tuple[Any, tuple[Any]]:
        """Pickle (and copy) as the graph and the leaves' current values; see
        autograd/tape_pickle.py.  Unpickling gives a standalone tape."""
        from . import tape_pickle

        return tape_pickle._load_pickled, (tape_pickle.payload(self),)

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

    def run_batch(self, columns: Mapping[Value, Any], *, seed: float = 1.0,
                  grads_of: Sequence[Value] = (), threads: int = 1) -> Any:
        """Run the tape once per row of ``columns``, in order, all in the engine.

        ``columns`` maps some of the tape's leaves (the per-sample inputs) to
        N numbers each: a list, a tuple, an ``array('d')``, or a 1-D float64
        buffer such as a numpy array.  Row i is exactly ``leaf.data =
        column[i]`` for each of them, then ``run(seed)``: the result is the
        N root values (an ``array('d')``), and every other leaf's ``.grad``
        receives seed * d(root_i)/d(leaf) for each row, added in row order,
        bit for bit as that Python loop would add them.  The columns' leaves
        keep their ``.data`` and ``.grad``; the tape's other nodes keep those
        of the last ``run``.

        ``grads_of=[leaf, ...]`` (leaves on the tape): returns ``(values,
        grads)`` with ``grads[j][i]`` = seed * d(root_i)/d(grads_of[j]).

        ``threads=T`` runs the rows on up to T threads, outside the GIL on the
        C backend; every result is bit for bit that of one thread (each
        thread runs whole rows; the grads are summed in row order).

        Bad columns (not a leaf of this tape, a leaf given twice, lengths that
        differ, data that are not numbers) raise before any ``.grad``
        changes; a closed tape raises ReplayError.

        >>> import autograd as ag
        >>> from autograd import replay
        >>> w, x = ag.Value(3.0), ag.Value(0.0)
        >>> tape = replay.record(lambda: w * x * x)
        >>> list(tape.run_batch({x: [1.0, 2.0]}))                  # 3 x**2
        [3.0, 12.0]
        >>> w.grad                                                   # 1 + 4
        5.0
        >>> values, (dx,) = tape.run_batch({x: [1.0, 2.0]}, grads_of=[x])
        >>> list(dx)                                                 # 6 x
        [6.0, 12.0]
        """
        if not isinstance(columns, Mapping):
            raise TypeError("run_batch: columns must map leaves to sequences of numbers, "
                            f"not {type(columns).__name__}")
        if not columns:
            raise ValueError("run_batch: no columns: give at least one leaf its N values")
        values, grads = self._run_batch(list(columns.items()), None, seed, grads_of, threads, True)
        return (values, grads) if grads_of else values

    def _run_batch(self, columns: list[tuple[Value, Any]], nrows: int | None, seed: float,
                   grads_of: Sequence[Value], threads: int, accumulate: bool) -> tuple[Any, list[Any]]:
        """run_batch on (leaf, column) pairs; nrows: the number of rows, or
        None to take it from the columns.  accumulate=False leaves every
        grad as it was (ag.compile's f(*xs), as value_and_grad)."""
        s = float(seed)
        nthreads = _threads(threads)
        if not isinstance(grads_of, Sequence) or isinstance(grads_of, (str, Value)):
            raise TypeError("run_batch: grads_of must be a sequence of leaves (a list or a tuple)")
        with self._lock:
            tape = self._live()
            eng = self._eng
            leaves = set(eng.tape_leaves(tape))
            col_ids: list[int] = []
            cols: list[Any] = []
            for k, (leaf, data) in enumerate(columns):
                node = self._leaf_on_tape(leaf, leaves, f"column {k}")
                if node in col_ids:
                    raise ValueError(f"run_batch: column {k} feeds the same leaf as column "
                                     f"{col_ids.index(node)}")
                col = _column(data, k)
                if nrows is None:
                    nrows = len(col)
                elif len(col) != nrows:
                    raise ValueError(f"run_batch: column {k} has {len(col)} values, "
                                     + (f"column 0 has {nrows}" if k else f"there are {nrows} rows")
                                     + ": every column needs one value per row")
                col_ids.append(node)
                cols.append(col)
            grad_ids = [self._leaf_on_tape(leaf, leaves, f"grads_of[{j}]")
                        for j, leaf in enumerate(grads_of)]
            out = eng.tape_run_batch(tape, nrows or 0, col_ids, cols, s, grad_ids, accumulate, nthreads)
            if isinstance(out, int):
                raise_for_status(out)
        return out

    def _leaf_on_tape(self, leaf: Any, leaves: set[int], what: str) -> int:
        """leaf's node id; ValueError or TypeError, saying why, unless it is
        a leaf of this tape."""
        if not isinstance(leaf, Value):
            raise TypeError(f"run_batch: {what} must be a Value (a leaf of the tape), "
                            f"not {type(leaf).__name__}")
        if leaf._eng is not self._eng:
            raise ValueError(f"run_batch: {what} belongs to another backend than the tape")
        if leaf._id not in leaves:
            if self._eng.node(leaf._id).op != 0:
                raise ValueError(f"run_batch: {what} is not a leaf but a computed Value: only "
                                 "leaves take their values from columns")
            raise ValueError(f"run_batch: {what} is a leaf that is not on this tape: the recorded "
                             "root does not depend on it")
        return leaf._id

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
                self._leaves = None     # the caller's Values: a closed tape keeps none alive

    def __enter__(self) -> Tape:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _share(eng: Engine, node: int) -> Value:
    """A new Value on an existing node (one more reference on it)."""
    status = eng.retain(node)
    if status < 0:
        raise_for_status(status)
    return _wrap(eng, node)


def _threads(threads: Any) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError(f"run_batch: threads must be an int, not {type(threads).__name__}")
    if threads < 1:
        raise ValueError(f"run_batch: threads must be at least 1, not {threads}")
    return min(threads, 1024)


# The formats of a float64 buffer on this machine (numpy says '<d').
_FLOAT64 = {"d", "@d", "=d", "<d" if sys.byteorder == "little" else ">d"}


def _column(data: Any, k: int) -> Any:
    """Column k as a 1-D float64 buffer the engine reads in place: a buffer
    of doubles as it is (copied when not contiguous), any other sequence of
    numbers copied into an array('d').  TypeError for anything else."""
    if isinstance(data, (str, bytes, bytearray)):
        raise TypeError(f"run_batch: column {k} is a {type(data).__name__}, not a sequence of numbers")
    try:
        view = memoryview(data)
    except TypeError:
        view = None
    if view is not None:
        if view.ndim != 1 or view.format not in _FLOAT64:
            raise TypeError(f"run_batch: column {k} is a buffer of format {view.format!r} with "
                            f"{view.ndim} dimension(s): give 1-D float64 ('d') data, or a list")
        if not view.c_contiguous:
            return array("d", view.tolist())
        # '<d' or '=d' (ctypes arrays, some deserialised numpy arrays): the
        # same bytes as 'd', which is the one float format a memoryview indexes
        return view if view.format == "d" else view.cast("B").cast("d")
    try:
        return array("d", data)
    except TypeError as e:
        raise TypeError(f"run_batch: column {k} holds something that is not a number ({e})") from None


def record(fn: Callable[[], Value], *, allow_reads: bool = False) -> Tape:
    """Call ``fn()`` once to build a graph and return its Tape.  While fn
    runs, reading any Value's value (``.data``, ``float(v)``) raises
    ReplayError, since a replay cannot repeat a decision taken on it; pass
    ``allow_reads=True`` when the values read do not steer the graph.  The
    watch (modes.watching_reads) sees every read in the process: record from
    one thread at a time, with no other thread reading values meanwhile."""
    with modes.watching_reads() as watched, modes.noting_operands() as seen:
        root = fn()
    reads = 0 if allow_reads else watched[0]
    if reads:
        raise ReplayError(
            f"the recorded function read a value {reads} time(s) while building the graph; "
            "a branch on a value cannot be replayed. Pass allow_reads=True if the reads do "
            "not decide which ops run.")
    if not isinstance(root, Value):
        raise TypeError(f"the recorded function must return a Value, not {type(root).__name__}")
    tape = Tape(root)
    # tape.leaves: the caller's own leaf Values, where the recording saw them
    eng = tape._eng
    seen[id(eng), root._id] = root
    ids = eng.tape_leaves(tape._tape)
    known = [seen.get((id(eng), node)) for node in ids]
    tape._leaves = tuple(_share(eng, node) if v is None else v for v, node in zip(known, ids))
    return tape
