"""Whether ops record the graph: ``no_grad`` and ``enable_grad``, per thread.

Each thread has a depth: how many ``no_grad`` blocks it is inside.  Ops record
their node only at depth 0; inside ``no_grad`` they compute the same value
into a new leaf (``Engine.apply_detached``), so no edge is built.

``threads_in_no_grad`` counts the threads whose depth is above 0.  While it
is 0, the usual case, an op decides with one check of this module-level int
and never reads the thread-local depth (a thread-local lookup per op would
cost more than the check).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()      # .depth: this thread's no_grad depth
_count_lock = threading.Lock()
threads_in_no_grad = 0


def _depth() -> int:
    return getattr(_local, "depth", 0)  # type: ignore[no-any-return]


def _set_depth(depth: int) -> None:
    """Set this thread's depth, keeping threads_in_no_grad in step."""
    global threads_in_no_grad
    was_off = _depth() > 0
    _local.depth = depth
    if was_off != (depth > 0):
        with _count_lock:
            threads_in_no_grad += 1 if depth > 0 else -1


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
