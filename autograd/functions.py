"""The math functions as free functions: Value in, Value out; number in, float out.

For a number the result is the pure-Python engine's forward rule, so it has
the engine's IEEE semantics (exp(1000) = inf, log(0) = -inf) rather than
``math``'s exceptions.
"""

from __future__ import annotations

from typing import TypeVar

from . import ops
from .engine_py.rules import FORWARD
from .value import Value, as_number

T = TypeVar("T", Value, float)


def _apply(op: int, x: T) -> T:
    if isinstance(x, Value):
        return getattr(Value, ops.OPS[op].name)(x)  # type: ignore[no-any-return]
    v = as_number(x)
    if v is None:
        raise TypeError(f"{ops.OPS[op].name}() takes a Value or a real number, not {type(x).__name__}")
    return FORWARD[op](v, 0.0, 0.0)  # type: ignore[no-any-return]


def exp(x: T) -> T:
    """e ** x."""
    return _apply(ops.EXP, x)


def log(x: T) -> T:
    """Natural logarithm: log(0) = -inf, log(x < 0) = nan."""
    return _apply(ops.LOG, x)


def sin(x: T) -> T:
    return _apply(ops.SIN, x)


def cos(x: T) -> T:
    return _apply(ops.COS, x)


def tanh(x: T) -> T:
    return _apply(ops.TANH, x)


def relu(x: T) -> T:
    """max(x, 0), with relu'(0) = 0."""
    return _apply(ops.RELU, x)


def sigmoid(x: T) -> T:
    """1 / (1 + exp(-x))."""
    return _apply(ops.SIGMOID, x)


def sqrt(x: T) -> T:
    """Square root: sqrt(x < 0) = nan, sqrt'(0) = inf."""
    return _apply(ops.SQRT, x)


def abs(x: T) -> T:  # noqa: A001
    """|x|, with abs'(0) = 0."""
    return _apply(ops.ABS, x)
