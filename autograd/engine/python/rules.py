"""The math of every op, one block each: its value and what its inputs
receive, side by side.  The twin of csrc/rules.h.

In a block, ``value(x, y, c)`` is the op's value for the values x, y of its
inputs a, b (y is 0.0 for a one-input op) and its constant c;
``grads(x, y, c, out, g)`` returns the adjoints (da, db) it sends to a and b,
given its value out and its adjoint g (db is 0.0 for a one-input op).  The
formulas are csrc/rules.h's, written in the same order of operations, so both
backends round identically; where ``math`` would raise, the c99math helpers
return C's result.  The op names are autograd/ops.py's table: at import, every
op of the table must have a block here, and a code without one has no rule
(never the identity).
"""

from __future__ import annotations

from typing import Callable

from ... import ops
from ...c99math import c_cos, c_div, c_exp, c_log, c_log1p, c_pow, c_sin, c_sqrt, c_tanh, sign

Forward = Callable[[float, float, float], float]
LocalGrads = Callable[[float, float, float, float, float], "tuple[float, float]"]

# by op code (all 256 byte values): None where the code has no rule
FORWARD: list[Forward | None] = [None] * 256
LOCAL_GRADS: list[LocalGrads | None] = [None] * 256


def rule(name: str, value: Forward, grads: LocalGrads) -> None:
    code = ops.BY_NAME[name].code
    FORWARD[code] = value
    LOCAL_GRADS[code] = grads


def pow_grad_base(x: float, y: float, g: float) -> float:
    """d(x**y)/dx times g; 0 where y == 0, whatever g is."""
    return 0.0 if y == 0.0 else g * (y * c_pow(x, y - 1.0))


def pow_grad_exponent(x: float, y: float, out: float, g: float) -> float:
    """d(x**y)/dy times g, where out == x**y; 0 where x == 0 and y >= 0."""
    return 0.0 if (x == 0.0 and y >= 0.0) else g * (out * c_log(x))


rule("add",
     lambda x, y, c: x + y,
     lambda x, y, c, out, g: (g, g))
rule("sub",
     lambda x, y, c: x - y,
     lambda x, y, c, out, g: (g, -g))
rule("mul",
     lambda x, y, c: x * y,
     lambda x, y, c, out, g: (g * y, g * x))
rule("div",
     lambda x, y, c: c_div(x, y),
     lambda x, y, c, out, g: (c_div(g, y), -g * c_div(out, y)))
rule("pow",
     lambda x, y, c: c_pow(x, y),
     lambda x, y, c, out, g: (pow_grad_base(x, y, g), pow_grad_exponent(x, y, out, g)))
rule("addc",
     lambda x, y, c: x + c,
     lambda x, y, c, out, g: (g, 0.0))
rule("subc",
     lambda x, y, c: x - c,
     lambda x, y, c, out, g: (g, 0.0))
rule("rsubc",
     lambda x, y, c: c - x,
     lambda x, y, c, out, g: (-g, 0.0))
rule("mulc",
     lambda x, y, c: x * c,
     lambda x, y, c, out, g: (g * c, 0.0))
rule("divc",
     lambda x, y, c: c_div(x, c),
     lambda x, y, c, out, g: (c_div(g, c), 0.0))
rule("rdivc",                                           # d(c/x) = -c/x**2
     lambda x, y, c: c_div(c, x),
     lambda x, y, c, out, g: (-g * c_div(out, x), 0.0))
rule("powc",
     lambda x, y, c: c_pow(x, c),
     lambda x, y, c, out, g: (pow_grad_base(x, c, g), 0.0))
rule("rpowc",
     lambda x, y, c: c_pow(c, x),
     lambda x, y, c, out, g: (pow_grad_exponent(c, x, out, g), 0.0))
rule("neg",
     lambda x, y, c: -x,
     lambda x, y, c, out, g: (-g, 0.0))
rule("exp",
     lambda x, y, c: c_exp(x),
     lambda x, y, c, out, g: (g * out, 0.0))
rule("log",
     lambda x, y, c: c_log(x),
     lambda x, y, c, out, g: (c_div(g, x), 0.0))
rule("sin",
     lambda x, y, c: c_sin(x),
     lambda x, y, c, out, g: (g * c_cos(x), 0.0))
rule("cos",
     lambda x, y, c: c_cos(x),
     lambda x, y, c, out, g: (g * -c_sin(x), 0.0))
rule("tanh",
     lambda x, y, c: c_tanh(x),
     lambda x, y, c, out, g: (g * (1.0 - out * out), 0.0))
rule("relu",                                            # keeps nan
     lambda x, y, c: 0.0 if x <= 0.0 else x,
     lambda x, y, c, out, g: (0.0 if out <= 0.0 else g, 0.0))
rule("sigmoid",
     lambda x, y, c: c_div(1.0, 1.0 + c_exp(-x)),
     lambda x, y, c, out, g: (g * (out * (1.0 - out)), 0.0))
rule("sqrt",
     lambda x, y, c: c_sqrt(x),
     lambda x, y, c, out, g: (c_div(g, 2.0 * out), 0.0))
rule("abs",
     lambda x, y, c: abs(x),
     lambda x, y, c, out, g: (g * sign(x), 0.0))
rule("primitive",                                       # carries f(...) down the chain
     lambda x, y, c: y,
     lambda x, y, c, out, g: (g * c, g))
rule("softplus",                                        # max(x, 0) + log(1 + exp(-|x|)): no overflow
     lambda x, y, c: (x if x > 0.0 else 0.0) + c_log1p(c_exp(-abs(x))),
     lambda x, y, c, out, g: (g * c_div(1.0, 1.0 + c_exp(-x)), 0.0))


def _check() -> None:
    missing = [op.name for op in ops.OPS if op.arity > 0 and FORWARD[op.code] is None]
    if missing:
        raise ImportError(f"autograd: the Python engine has no rule for op(s) {missing} of "
                          "autograd/ops.py: add a block to autograd/engine/python/rules.py")


_check()


def forward(op: int, x: float, y: float = 0.0, c: float = 0.0) -> float:
    """The value of op for input values x, y and constant c (plain floats,
    C's semantics): what a node of that op would hold."""
    f = FORWARD[op]
    if f is None:
        raise ValueError(f"autograd: op code {op} has no rule")
    return f(x, y, c)
