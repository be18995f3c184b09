"""Modes that change what an op does, and the one hook the Value layer
consults for them: ``no_grad``/``enable_grad`` (per thread), anomaly mode
(process-wide, autograd/anomaly.py) and a recording that watches value reads
and notes the Values it uses (``replay.record``).

``active`` counts what is on: the threads inside no_grad, plus one while
anomaly mode is on, plus one per recording that watches reads.  While it is
0, the usual case, an op decides with one check of this module-level int and
calls its engine directly; otherwise it goes through ``apply`` below.  No
engine function is ever replaced.

Each thread has a no_grad depth: how many ``no_grad`` blocks it is inside.
Ops record their node only at depth 0; inside ``no_grad`` they compute the
same value into a new leaf (``Engine.apply_detached``), so no edge is built.
"""

from __future__ import annotations

import functools
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .engine import Engine

_local = threading.local()      # .depth: this thread's no_grad depth
_count_lock = threading.Lock()
active = 0                      # threads in no_grad + anomaly mode + recordings
threads_in_no_grad = 0
anomaly: Any = None             # anomaly mode's checker while it is on (anomaly.Checker)
read_watches = 0                # recordings watching reads
reads = 0                       # value reads seen while read_watches > 0
operands_seen: Any = None       # while noting_operands: (id(engine), node) -> Value, weakly
# callbacks of autograd's own weak maps: a KeyboardInterrupt that lands in
# one is dropped by Python, and value.py's unraisablehook gives it back
own_callbacks: weakref.WeakSet[Any] = weakref.WeakSet()
_noting = 0                     # noting_operands blocks open


# another thread may have held the lock at fork(): it would never be
# released in the child
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_count_lock._at_fork_reinit)  # type: ignore[attr-defined]


def _add_active(k: int) -> None:
    global active
    with _count_lock:
        active += k


def _depth() -> int:
    return getattr(_local, "depth", 0)  # type: ignore[no-any-return]


def _set_depth(depth: int) -> None:
    """Set this thread's depth, keeping threads_in_no_grad and active in step."""
    global threads_in_no_grad, active
    was_off = _depth() > 0
    _local.depth = depth
    if was_off != (depth > 0):
        k = 1 if depth > 0 else -1
        with _count_lock:
            threads_in_no_grad += k
            active += k


def is_grad_enabled() -> bool:
    """Whether ops on this thread record the graph (False inside no_grad)."""
    return _depth() == 0


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside, ops on this thread record nothing: each result is a new leaf
    holding the value the op computes.  Nestable; other threads are not
    affected.  Also a decorator: ``@no_grad()``.

    >>> import autograd as ag
    >>> x = ag.Value(2.0)
    >>> with ag.no_grad():
    ...     y = x * x + 1
    >>> y.op, y.data
    ('leaf', 5.0)
    """
    depth = _depth()
    _set_depth(depth + 1)
    try:
        yield
    finally:
        _set_depth(depth)


@contextmanager
def enable_grad() -> Iterator[None]:
    """Inside, ops on this thread record the graph even within no_grad; the
    depth in force before it is restored on exit.  Also a decorator."""
    depth = _depth()
    _set_depth(0)
    try:
        yield
    finally:
        _set_depth(depth)


def set_anomaly(checker: Any) -> None:
    """Turn anomaly mode's checker on (an object) or off (None)."""
    global anomaly
    with _count_lock:
        was_on = anomaly is not None
        anomaly = checker
    if was_on != (checker is not None):
        _add_active(1 if checker is not None else -1)


@contextmanager
def watching_reads() -> Iterator[list[int]]:
    """Count value reads (``.data``, ``float(v)``) made anywhere while the
    block runs; the list it yields holds the count once the block ends."""
    global read_watches, reads
    with _count_lock:
        read_watches += 1
        start = reads
    _add_active(1)
    out = [0]
    try:
        yield out
    finally:
        _add_active(-1)
        with _count_lock:
            read_watches -= 1
            out[0] = reads - start


@contextmanager
def noting_operands() -> Iterator[weakref.WeakValueDictionary[tuple[int, int], Any]]:
    """While the block runs, keep a weak map from (id(engine), node) to the
    Value operands of the ops made (the slow path only: a recording is on):
    what a Tape needs to give back the caller's own leaf Values.  Nested
    blocks share one map."""
    global operands_seen, _noting
    with _count_lock:
        _noting += 1
        if operands_seen is None:
            operands_seen = weakref.WeakValueDictionary()
            # the function each of its weak references calls when a Value
            # dies (CPython's weakref.py keeps it as _remove)
            remove = getattr(operands_seen, "_remove", None)
            if remove is not None:
                own_callbacks.add(remove)
        seen = operands_seen
    _add_active(1)
    try:
        yield seen
    finally:
        _add_active(-1)
        with _count_lock:
            _noting -= 1
            if not _noting:
                operands_seen = None


def count_read() -> None:
    """A value was read (called on the slow path only)."""
    global reads
    if read_watches:
        with _count_lock:
            reads += 1


# --- the slow path of the Value layer -----------------------------------
def apply(eng: Engine, op: int, a: int, b: int, c: float) -> int:
    """An op while a mode is on: detached under no_grad, checked in anomaly mode."""
    fn = eng.apply if is_grad_enabled() else eng.apply_detached
    node = fn(op, a, b, c)
    checker = anomaly
    if checker is not None:
        node = checker.forward(eng, node, op, a, b, c)
    return node


def applier(eng: Engine, *operands: Any) -> Callable[[int, int, int, float], int]:
    """``apply`` for eng, as an engine's apply function; notes the op's
    Value operands (numbers are passed too, and skipped) while a recording
    wants them."""
    seen = operands_seen
    if seen is not None:
        for v in operands:
            node = getattr(v, "_id", None)
            if node is not None:
                seen[id(v._eng), node] = v
    return functools.partial(apply, eng)


def leaf(eng: Engine, x: float) -> int:
    checker = anomaly
    if checker is not None:
        return checker.leaf(eng, x)  # type: ignore[no-any-return]
    return eng.leaf(x)


def set_value(eng: Engine, node: int, x: float) -> int:
    checker = anomaly
    if checker is not None:
        checker.set_value(x)
    return eng.set_value(node, x)


def backward(eng: Engine, root: int, seed: float) -> int:
    checker = anomaly
    if checker is not None:
        return checker.backward(eng, root, seed)  # type: ignore[no-any-return]
    return eng.backward(root, seed)
