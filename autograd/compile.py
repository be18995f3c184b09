"""Compiled scalar functions: ``ag.compile(fn)`` records fn once and runs the
recording over many inputs inside the engine (replay.Tape.run_batch).

    f = ag.compile(lambda x, y: (x * y).sin() + x)
    value, (dx, dy) = f(1.0, 2.0)          # == ag.value_and_grad(fn, argnums=(0, 1))(1.0, 2.0)
    values, grads = f.map(rows, threads=2) # the same, row by row; grads[i] = (dx_i, dy_i)

``fn`` takes k Values and returns a Value (or a number).  Values that fn
closes over (a model's parameters) are the recording's shared leaves: their
current values are read at every call, and ``f.map`` adds their gradients,
summed over the rows in row order, into their ``.grad`` as ``run_batch``
does; ``f(*xs)``, like ``value_and_grad``, changes no ``.grad``.

Branches.  A recording stands for one path through fn.  fn may branch on a
comparison of Values (``if x > 0``, ``max(a, b)``): each comparison made
while recording becomes a *guard* (its operands and its outcome).  Every row
is checked against the guards of the recordings made so far; a row whose
outcomes differ from every recording's is run eagerly once to record its
path, and the rows run through the recording of their path.  Rows are run in
row order (consecutive rows of one path in one batch), so the shared leaves'
grads are summed exactly as the Python loop would sum them.  Past
MAX_PATHS recordings, ReplayError names the comparisons.

The guard interface, for Value's comparison operators: a comparison reads
its operands' values through ``.data`` (so a recording that does not take
guards, replay.record, sees the reads and refuses it), computes its bool,
and calls ``note_comparison(op, lhs, rhs, result)`` with op one of "<",
"<=", ">", ">=", "==", "!=" and lhs, rhs the operands as given (Values or
numbers).  Outside a compile recording on this thread that call does
nothing.  Reading ``.data`` or ``float(v)`` in fn without a comparison is
still refused: the recording cannot know what it decided.  (Value's
comparisons read through ``.data`` but do not call note_comparison yet: until
they do, a branch on one is refused with ReplayError.)
"""

from __future__ import annotations

import functools
import operator
import threading
from array import array
from collections.abc import Sequence
from typing import Any, Callable

from . import backend, modes
from .replay import ReplayError, Tape
from .value import Value, as_number

# Recordings (paths through fn) one compiled function keeps per backend.
MAX_PATHS = 32

COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne}

# .guards: the guard list of the compile recording running on this thread
_recording = threading.local()


def note_comparison(op: str, lhs: Any, rhs: Any, result: bool) -> None:
    """Called by a comparison of Values (see the module's docstring): while
    fn is being recorded on this thread, the comparison becomes a guard."""
    guards = getattr(_recording, "guards", None)
    if guards is None:
        return
    if op not in COMPARE:
        raise ValueError(f"note_comparison: unknown comparison {op!r}")
    guards.append(Guard(op, lhs, rhs, bool(result)))


class Guard:
    """One comparison made while recording: ``lhs op rhs`` gave ``outcome``.
    A Value operand is re-evaluated for each row through its own tape."""

    __slots__ = ("op", "operands", "outcome", "text")

    def __init__(self, op: str, lhs: Any, rhs: Any, outcome: bool) -> None:
        self.op = op
        self.outcome = outcome
        self.operands = [Tape(v) if isinstance(v, Value) else float(v) for v in (lhs, rhs)]
        names = [_describe(v) for v in (lhs, rhs)]
        self.text = f"{names[0]} {op} {names[1]} (recorded as {outcome})"

    def holds(self, inputs: list[Value], columns: list[array], nrows: int) -> list[bool]:
        """Per row: whether the comparison gives the recorded outcome."""
        sides = []
        for operand in self.operands:
            if isinstance(operand, Tape):
                on_tape = set(operand._eng.tape_leaves(operand._tape))
                cols = [(x, col) for x, col in zip(inputs, columns) if x._id in on_tape]
                values, _ = operand._run_batch(cols, nrows, 1.0, (), 1, False)
                sides.append(values)
            else:
                sides.append([operand] * nrows)
        compare, outcome = COMPARE[self.op], self.outcome
        return [compare(a, b) == outcome for a, b in zip(*sides)]

    def close(self) -> None:
        for operand in self.operands:
            if isinstance(operand, Tape):
                operand.close()


def _describe(v: Any) -> str:
    if isinstance(v, Value):
        return f"a Value made by {v.op!r}"
    return repr(v)


class Path:
    """One recording of fn: its k input leaves, its tape (None when fn gave
    a number), the guards it was recorded under."""

    __slots__ = ("inputs", "tape", "number", "guards", "on_tape")

    def __init__(self, fn: Callable[..., Any], row: Sequence[float]) -> None:
        self.inputs = [Value(x) for x in row]
        self.guards: list[Guard] = []
        _recording.guards = self.guards
        try:
            with modes.enable_grad(), modes.watching_reads() as watched:
                out = fn(*self.inputs)
        finally:
            _recording.guards = None
        # a comparison reads each of its Value operands once
        operands = sum(isinstance(o, Tape) for g in self.guards for o in g.operands)
        if watched[0] > operands:
            self.close()
            raise ReplayError(
                f"compile: fn read a value {watched[0] - operands} time(s) while being recorded "
                "(.data, float(v), or a comparison or truth test of a Value that was not reported "
                "to compile.note_comparison): a decision taken on it cannot be replayed. Compare "
                "Values (x > 0) through comparisons that report themselves, which compile records "
                "as guards.")
        self.tape: Tape | None = None
        self.number = 0.0
        if isinstance(out, Value):
            self.tape = Tape(out)
            on_tape = set(out._eng.tape_leaves(self.tape._tape))
            self.on_tape = [x._id in on_tape for x in self.inputs]
        else:
            number = as_number(out)
            if number is None:
                self.close()
                raise TypeError(f"compile: fn must return a Value or a number, not {type(out).__name__}")
            self.number = number
            self.on_tape = [False] * len(self.inputs)

    def holds(self, columns: list[array], nrows: int) -> list[bool]:
        """Per row: whether the row takes this recording's path."""
        ok = [True] * nrows
        for guard in self.guards:
            ok = [a and b for a, b in zip(ok, guard.holds(self.inputs, columns, nrows))]
        return ok

    def run(self, columns: list[array], nrows: int, threads: int, accumulate: bool
            ) -> tuple[Any, list[Any]]:
        """(values, one gradient column per input) for the rows of columns."""
        if self.tape is None:
            return array("d", [self.number]) * nrows, [array("d", bytes(8 * nrows))] * len(columns)
        cols = [(x, col) for x, col, on in zip(self.inputs, columns, self.on_tape) if on]
        wanted = [x for x, on in zip(self.inputs, self.on_tape) if on]
        values, got = self.tape._run_batch(cols, nrows, 1.0, wanted, threads, accumulate)
        grads, it = [], iter(got)
        for on in self.on_tape:
            grads.append(next(it) if on else array("d", bytes(8 * nrows)))
        return values, grads

    def close(self) -> None:
        if getattr(self, "tape", None) is not None:
            self.tape.close()      # type: ignore[union-attr]
        for guard in self.guards:
            guard.close()


class Compiled:
    """fn compiled: ``f(*xs)`` and ``f.map(X)``; see autograd/compile.py."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise TypeError(f"compile takes a function, not {type(fn).__name__}")
        self.fn = fn
        self.name: str = getattr(fn, "__name__", "fn")
        self.arity: int | None = None
        self._paths: dict[str, list[Path]] = {}    # by backend
        self._lock = threading.Lock()
        functools.update_wrapper(self, fn)

    def __call__(self, *xs: float) -> tuple[float, tuple[float, ...]]:
        """(fn(*xs), the k partials): ag.value_and_grad(fn, argnums=(0, ..., k-1))(*xs),
        bit for bit; no .grad changes."""
        row = [_number(x, f"argument {j}") for j, x in enumerate(xs)]
        values, grads = self._run([array("d", [x]) for x in row], 1, 1, False)
        return values[0], tuple(g[0] for g in grads)

    def map(self, X: Any, threads: int = 1) -> tuple[Any, list[tuple[float, ...]]]:
        """f over the N rows of X (a list of rows of k numbers, or a 2-D
        float64 buffer such as a numpy array): (values, grads) with values an
        array('d') of N and grads[i] the k partials at row i, each bit for bit
        what f(*X[i]) gives.  The shared leaves' .grad receive their
        gradients summed over the rows, in row order, as run_batch adds them."""
        columns, nrows = _columns(X, self.arity)
        values, grads = self._run(columns, nrows, threads, True)
        return values, list(zip(*grads)) if grads else [()] * nrows

    def _run(self, columns: list[array], nrows: int, threads: int, accumulate: bool
             ) -> tuple[Any, list[Any]]:
        k = len(columns)
        if self.arity is None:
            self.arity = k
        elif k != self.arity:
            raise TypeError(f"compile: {self.name} takes {self.arity} arguments, not {k}")
        with self._lock:
            paths = self._paths.setdefault(backend.get_backend(), [])
            which = self._assign(paths, columns, nrows)
            values = array("d", bytes(8 * nrows))
            grads = [array("d", bytes(8 * nrows)) for _ in range(k)]
            start = 0
            while start < nrows:                # runs of consecutive rows on one path, in order
                end = start + 1
                while end < nrows and which[end] == which[start]:
                    end += 1
                part = [col[start:end] for col in columns] if (start, end) != (0, nrows) else columns
                v, g = paths[which[start]].run(part, end - start, threads, accumulate)
                values[start:end] = array("d", v)
                for out, col in zip(grads, g):
                    out[start:end] = array("d", col)
                start = end
        return values, grads

    def _assign(self, paths: list[Path], columns: list[array], nrows: int) -> list[int]:
        """The path of every row, recording new paths as rows need them."""
        which = [-1] * nrows
        left = list(range(nrows))
        p = 0
        while left:
            fresh = p == len(paths)     # record the path of the first row left
            if fresh:
                if len(paths) >= MAX_PATHS:
                    raise ReplayError(
                        f"compile: {self.name} took more than {MAX_PATHS} paths; its "
                        "comparisons: " + "; ".join(g.text for path in paths for g in path.guards))
                paths.append(Path(self.fn, [col[left[0]] for col in columns]))
            path = paths[p]
            if path.guards:
                ok = path.holds([array("d", [col[i] for i in left]) for col in columns], len(left))
            else:
                ok = [True] * len(left)
            if fresh and not ok[0]:
                raise ReplayError("compile: a row does not take the path it was just recorded on: "
                                  "fn's comparisons do not depend on its inputs alone ("
                                  + "; ".join(g.text for g in path.guards) + ")")
            for i, good in zip(left, ok):
                if good:
                    which[i] = p
            left = [i for i, good in zip(left, ok) if not good]
            p += 1
        return which

    def clear(self) -> None:
        """Drop every recording (they are made again as needed)."""
        with self._lock:
            for paths in self._paths.values():
                for path in paths:
                    path.close()
            self._paths.clear()


def _number(x: Any, what: str) -> float:
    v = as_number(x)
    if v is None:
        raise TypeError(f"compile: {what} must be a real number, not {type(x).__name__}")
    return v


def _columns(X: Any, arity: int | None) -> tuple[list[array], int]:
    """X's columns as arrays of floats, and its number of rows."""
    try:
        view = memoryview(X)
    except TypeError:
        view = None
    if view is not None:
        if view.ndim != 2 or view.format not in ("d", "@d", "=d", "<d"):
            raise TypeError(f"map: X must be a 2-D float64 array or a list of rows, not a buffer of "
                            f"format {view.format!r} with {view.ndim} dimension(s)")
        nrows, k = view.shape[0], view.shape[1]  # type: ignore[index]
        flat: list[list[float]] = view.tolist()  # type: ignore[assignment]
        return [array("d", [row[j] for row in flat]) for j in range(k)], nrows
    if isinstance(X, (str, bytes)) or not isinstance(X, Sequence):
        raise TypeError(f"map: X must be a list of rows of numbers, not {type(X).__name__}")
    rows = list(X)
    k = arity if arity is not None else (len(rows[0]) if rows else 0)
    for i, row in enumerate(rows):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence) or len(row) != k:
            raise ValueError(f"map: row {i} must hold {k} numbers")
    try:
        return [array("d", [row[j] for row in rows]) for j in range(k)], len(rows)
    except TypeError as e:
        raise TypeError(f"map: X holds something that is not a number ({e})") from None


def compile(fn: Callable[..., Any]) -> Compiled:  # noqa: A001
    """fn, a function of k Values returning a Value, compiled: ``f(*xs)``
    gives ``(value, grads)`` equal bit for bit to
    ``ag.value_and_grad(fn, argnums=tuple(range(k)))(*xs)``, and ``f.map(X,
    threads=1)`` the same for each row of X, in the engine (see
    autograd/compile.py for shared leaves and branches).

    >>> import autograd as ag
    >>> f = ag.compile(lambda x, y: x * y + y)
    >>> f(2.0, 5.0)
    (15.0, (5.0, 3.0))
    >>> values, grads = f.map([[2.0, 5.0], [1.0, 1.0]])
    >>> list(values), grads
    ([15.0, 2.0], [(5.0, 3.0), (1.0, 2.0)])
    """
    return Compiled(fn)
