"""Status codes of the engines and the Python exceptions they become."""

from __future__ import annotations

from typing import NoReturn, TypeVar

OK = 0
ENOMEM = -1     # an allocation failed; the arena is unchanged
EBADID = -2     # an id out of range or naming a freed node (a bug in autograd)
EBADOP = -3     # an op code out of range or used with the wrong arity
ENOTLEAF = -4   # .data set on a node that is not a leaf
EFULL = -5      # the arena holds its maximum number of nodes
ENAN = -6       # backward_checked: a backward rule produced nan (anomaly mode)
ESTALE = -7     # a leaf's value was set after a node of the graph read it


class StaleGraphError(RuntimeError):
    """backward (or gradients) over a graph one of whose leaves was set
    (``.data = ...``) after the graph read it."""


class GradcheckError(AssertionError):
    """Raised by gradcheck(..., raise_exception=True) when a gradient is wrong."""


T = TypeVar("T")


def checked(result: T | int) -> T:
    """result, unless it is a negative status: then its exception."""
    if isinstance(result, int) and result < 0:
        raise_for_status(result)
    return result  # type: ignore[return-value]


def raise_for_status(status: int) -> NoReturn:
    """Raise the exception for a negative engine status."""
    if status == ENOMEM:
        raise MemoryError("autograd: out of memory while growing the graph")
    if status == EFULL:
        raise MemoryError("autograd: the arena holds its maximum number of nodes")
    if status == ENOTLEAF:
        raise AttributeError(
            "can only set .data on a leaf Value: this Value is computed from its "
            "inputs (set .data on the leaves and recompute instead)"
        )
    if status == EBADOP:
        raise ValueError("autograd: unknown op code or wrong number of inputs")
    if status == ENAN:
        raise FloatingPointError("autograd: a backward rule produced nan")
    if status == ESTALE:
        raise StaleGraphError(
            "autograd: a leaf's .data was set after this graph read it: build the graph "
            "again from the new value (replay recomputes, so a Tape is never stale)")
    if status == EBADID:
        raise RuntimeError("autograd: internal error: a node id is not in use")
    raise RuntimeError(f"autograd: unknown engine status {status}")
