"""Float math with C99's semantics, for code that computes on plain floats.

Python's ``math`` calls the same libm as C, so the bits agree; but where
``math`` raises (log(0), exp(1000), x / 0, sqrt(-1), pow(0, -1)), these
return what C returns (-inf, inf, +-inf or nan, nan, inf), so float code
behaves as the engines do and never raises for a numeric reason.
"""

from __future__ import annotations

import math
from math import copysign, inf, nan


def _is_odd_integer(y: float) -> bool:
    return math.isfinite(y) and abs(y) < 2.0**53 and y == int(y) and int(y) % 2 == 1


def c_div(x: float, y: float) -> float:
    """x / y: a zero divisor gives +-inf or nan."""
    try:
        return x / y
    except ZeroDivisionError:
        if x != x or x == 0.0:
            return nan
        return copysign(inf, x) * copysign(1.0, y)


def c_pow(x: float, y: float) -> float:
    """C99 pow(x, y)."""
    try:
        return math.pow(x, y)
    except OverflowError:
        return -inf if x < 0.0 and _is_odd_integer(y) else inf
    except ValueError:
        if x == 0.0:  # a pole: pow(+-0, y < 0)
            return copysign(inf, x) if _is_odd_integer(y) else inf
        return nan  # a negative base and a non-integer exponent


def c_exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return inf


def c_log(x: float) -> float:
    try:
        return math.log(x)
    except ValueError:
        return -inf if x == 0.0 else nan


def c_log1p(x: float) -> float:
    try:
        return math.log1p(x)
    except ValueError:
        return -inf if x == -1.0 else nan


def c_sin(x: float) -> float:
    try:
        return math.sin(x)
    except ValueError:  # +-inf
        return nan


def c_cos(x: float) -> float:
    try:
        return math.cos(x)
    except ValueError:
        return nan


def c_sqrt(x: float) -> float:
    try:
        return math.sqrt(x)
    except ValueError:
        return nan


c_tanh = math.tanh
c_fabs = math.fabs


def sign(x: float) -> float:
    """sign(x) with sign(0) = 0 and sign(nan) = nan."""
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return 0.0 if x == 0.0 else x
