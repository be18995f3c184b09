"""Each op's forward value and backward rule: the twin of csrc/rules.h (and the
arity table of csrc/rules.c).

The formulas are the C file's, written in the same order, so both backends
round identically.  Python's ``math`` calls the same libm as C; where ``math``
raises (log(0), exp(1000), x/0, sqrt(-1), ...), the helpers below return the
C99 result instead, so the pure-Python engine never raises for a numeric
reason.
"""

from __future__ import annotations

import math
from math import copysign, inf, nan
from typing import Callable

from .. import ops


def _is_odd_integer(y: float) -> bool:
    return math.isfinite(y) and abs(y) < 2.0**53 and y == int(y) and int(y) % 2 == 1


def c_div(x: float, y: float) -> float:
    """x / y with C99 semantics: a zero divisor gives +-inf or nan."""
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


def pow_grad_base(x: float, y: float, g: float) -> float:
    """d(x**y)/dx times g; 0 where y == 0, whatever g is."""
    return 0.0 if y == 0.0 else g * (y * c_pow(x, y - 1.0))


def pow_grad_exponent(x: float, y: float, out: float, g: float) -> float:
    """d(x**y)/dy times g, where out == x**y; 0 where x == 0 and y >= 0."""
    return 0.0 if (x == 0.0 and y >= 0.0) else g * (out * c_log(x))


def sign(x: float) -> float:
    """sign(x) with sign(0) = 0 and sign(nan) = nan."""
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return 0.0 if x == 0.0 else x


def op_arity(op: int) -> int:
    return ops.ARITY[op]


Forward = Callable[[float, float, float], float]
LocalGrads = Callable[[float, float, float, float, float], "tuple[float, float]"]

# forward(x, y, c) and local_grads(x, y, c, out, g) -> (da, db), one line per op.
# Unary ops ignore y and return db = 0.0.  A leaf, as in C's default case, is
# its own value and sends nothing.
FORWARD: list[Forward] = [lambda x, y, c: x] * ops.COUNT
LOCAL_GRADS: list[LocalGrads] = [lambda x, y, c, out, g: (0.0, 0.0)] * ops.COUNT

FORWARD[ops.ADD] = lambda x, y, c: x + y
LOCAL_GRADS[ops.ADD] = lambda x, y, c, out, g: (g, g)
FORWARD[ops.SUB] = lambda x, y, c: x - y
LOCAL_GRADS[ops.SUB] = lambda x, y, c, out, g: (g, -g)
FORWARD[ops.MUL] = lambda x, y, c: x * y
LOCAL_GRADS[ops.MUL] = lambda x, y, c, out, g: (g * y, g * x)
FORWARD[ops.DIV] = lambda x, y, c: c_div(x, y)
LOCAL_GRADS[ops.DIV] = lambda x, y, c, out, g: (c_div(g, y), -g * c_div(out, y))
FORWARD[ops.POW] = lambda x, y, c: c_pow(x, y)
LOCAL_GRADS[ops.POW] = lambda x, y, c, out, g: (
    pow_grad_base(x, y, g), pow_grad_exponent(x, y, out, g))
FORWARD[ops.ADDC] = lambda x, y, c: x + c
LOCAL_GRADS[ops.ADDC] = lambda x, y, c, out, g: (g, 0.0)
FORWARD[ops.SUBC] = lambda x, y, c: x - c
LOCAL_GRADS[ops.SUBC] = lambda x, y, c, out, g: (g, 0.0)
FORWARD[ops.RSUBC] = lambda x, y, c: c - x
LOCAL_GRADS[ops.RSUBC] = lambda x, y, c, out, g: (-g, 0.0)
FORWARD[ops.MULC] = lambda x, y, c: x * c
LOCAL_GRADS[ops.MULC] = lambda x, y, c, out, g: (g * c, 0.0)
FORWARD[ops.DIVC] = lambda x, y, c: c_div(x, c)
LOCAL_GRADS[ops.DIVC] = lambda x, y, c, out, g: (c_div(g, c), 0.0)
FORWARD[ops.RDIVC] = lambda x, y, c: c_div(c, x)
LOCAL_GRADS[ops.RDIVC] = lambda x, y, c, out, g: (-g * c_div(out, x), 0.0)  # d(c/x) = -c/x**2
FORWARD[ops.POWC] = lambda x, y, c: c_pow(x, c)
LOCAL_GRADS[ops.POWC] = lambda x, y, c, out, g: (pow_grad_base(x, c, g), 0.0)
FORWARD[ops.RPOWC] = lambda x, y, c: c_pow(c, x)
LOCAL_GRADS[ops.RPOWC] = lambda x, y, c, out, g: (pow_grad_exponent(c, x, out, g), 0.0)
FORWARD[ops.NEG] = lambda x, y, c: -x
LOCAL_GRADS[ops.NEG] = lambda x, y, c, out, g: (-g, 0.0)
FORWARD[ops.EXP] = lambda x, y, c: c_exp(x)
LOCAL_GRADS[ops.EXP] = lambda x, y, c, out, g: (g * out, 0.0)
FORWARD[ops.LOG] = lambda x, y, c: c_log(x)
LOCAL_GRADS[ops.LOG] = lambda x, y, c, out, g: (c_div(g, x), 0.0)
FORWARD[ops.SIN] = lambda x, y, c: c_sin(x)
LOCAL_GRADS[ops.SIN] = lambda x, y, c, out, g: (g * c_cos(x), 0.0)
FORWARD[ops.COS] = lambda x, y, c: c_cos(x)
LOCAL_GRADS[ops.COS] = lambda x, y, c, out, g: (g * -c_sin(x), 0.0)
FORWARD[ops.TANH] = lambda x, y, c: c_tanh(x)
LOCAL_GRADS[ops.TANH] = lambda x, y, c, out, g: (g * (1.0 - out * out), 0.0)
FORWARD[ops.RELU] = lambda x, y, c: 0.0 if x <= 0.0 else x  # keeps nan
LOCAL_GRADS[ops.RELU] = lambda x, y, c, out, g: (0.0 if out <= 0.0 else g, 0.0)
FORWARD[ops.SIGMOID] = lambda x, y, c: c_div(1.0, 1.0 + c_exp(-x))
LOCAL_GRADS[ops.SIGMOID] = lambda x, y, c, out, g: (g * (out * (1.0 - out)), 0.0)
FORWARD[ops.SQRT] = lambda x, y, c: c_sqrt(x)
LOCAL_GRADS[ops.SQRT] = lambda x, y, c, out, g: (c_div(g, 2.0 * out), 0.0)
FORWARD[ops.ABS] = lambda x, y, c: abs(x)
LOCAL_GRADS[ops.ABS] = lambda x, y, c, out, g: (g * sign(x), 0.0)
FORWARD[ops.PRIMITIVE] = lambda x, y, c: y  # carries f(...) down the chain
LOCAL_GRADS[ops.PRIMITIVE] = lambda x, y, c, out, g: (g * c, g)
