"""The op table: every op of the engine, declared once.

One row per op: its name (the Value method, the free function, the C enum
``AG_OP_<NAME>``), its arity (node inputs), its value as a formula of the
inputs ``a``, ``b`` and the constant ``c``, its local derivatives as text (for
``explain``), its vector-Jacobian product written with Value operations (for
``create_graph``), how a Value reaches it, and where ``gradcheck`` may sample
it.  Everything else is derived from this table:

- the C enum, arity and name tables (``autograd/_build.py`` generates
  ``ag_ops.h`` from it at build time; the C engine is checked against it at
  import, and so is the Python engine's rule table);
- the Value operators and methods, and the free functions ``ag.exp`` ...;
- the op lists of ``python -m autograd check`` and of every test.

The op's rules themselves, value and backward side by side, are one block in
each engine: ``csrc/rules.h`` and ``autograd/engine/python/rules.py``.  Adding
an op: see CONTRIBUTING.md.

This module imports nothing from autograd at import time: the build script
loads it on its own, before the package exists.
"""

from __future__ import annotations

import re
from typing import Any, Callable, NamedTuple

# Where gradcheck may sample an op (well away from kinks and poles).
REAL = "real"           # any real number
POSITIVE = "positive"   # x > 0


class Op(NamedTuple):
    name: str
    code: int
    arity: int                      # node inputs: 0, 1 or 2
    formula: str                    # the value, e.g. "a * c" (a, b: inputs, c: constant)
    derivatives: tuple[str, ...]    # d(out)/d(a), d(out)/d(b) as text; "out" is the value
    vjp: Callable[[Any, Any], tuple[Any, Any]] | None   # (node view, g) -> (da, db) in Values
    method: str | None = None       # the Value method or operator that makes it
    const: str | None = None        # binary op: the op for a number on the right
    right: str | None = None        # binary op: the op for a number on the left (__r*__)
    domain: str = REAL              # where gradcheck samples its inputs
    doc: str = ""

    @property
    def has_constant(self) -> bool:
        """Whether the node holds a number operand c (x + 2, 2 ** x)."""
        return re.search(r"\bc\b", self.formula) is not None

    @property
    def enum(self) -> str:
        return "AG_OP_" + self.name.upper()


# --- helpers of the vjp rules: the C rules' formulas, as Value code --------
# A rule sees one forward node through a view n: n.x, n.y, n.out (the forward
# nodes as Values), n.xv, n.yv, n.outv (the same as floats), n.c (the
# constant).  g is a Value, or a float while it depends on no node.  Where
# the C rule branches on a value (relu, abs, the pow conventions) the branch
# is taken on the forward floats: the mask is piecewise constant, so its own
# derivative is 0 wherever it is defined.  Written term for term in the C
# rule's order of operations, so an adjoint built here rounds exactly as
# backward() computes it.

def _div(p: Any, q: Any) -> Any:
    """p / q; with two floats, C's division (a zero divisor gives inf or nan)."""
    if isinstance(p, float) and isinstance(q, float):
        from .c99math import c_div

        return c_div(p, q)
    return p / q


def _log(x: Any) -> Any:
    """log(x) of a Value, or C's log of a float (rpowc's constant base)."""
    if isinstance(x, float):
        from .c99math import c_log

        return c_log(x)
    return x.log()


def _sign(x: float) -> float:
    from .c99math import sign

    return sign(x)


def _pow_grad_base(x: Any, y: Any, yv: float, g: Any) -> Any:
    """d(x**y)/dx times g: g * (y * x**(y - 1)); 0 where y == 0."""
    return 0.0 if yv == 0.0 else g * (y * x ** (y - 1.0))


def _pow_grad_exponent(x: Any, y: Any, out: Any, xv: float, yv: float, g: Any) -> Any:
    """d(x**y)/dy times g: g * (out * log(x)); 0 where x == 0 and y >= 0."""
    return 0.0 if (xv == 0.0 and yv >= 0.0) else g * (out * _log(x))


# --- the table --------------------------------------------------------------
_ROWS: list[Op] = []


def _op(name: str, arity: int, formula: str, derivatives: tuple[str, ...],
        vjp: Callable[[Any, Any], tuple[Any, Any]] | None, **more: Any) -> None:
    _ROWS.append(Op(name, len(_ROWS), arity, formula, derivatives, vjp, **more))


_op("leaf", 0, "x", (), None)
# binary ops, and their forms with a number operand c (a constant: never a gradient)
_op("add", 2, "a + b", ("1", "1"), lambda n, g: (g, g),
    method="__add__", const="addc", right="addc", doc="self + other")
_op("sub", 2, "a - b", ("1", "-1"), lambda n, g: (g, -g),
    method="__sub__", const="subc", right="rsubc", doc="self - other")
_op("mul", 2, "a * b", ("b", "a"), lambda n, g: (g * n.y, g * n.x),
    method="__mul__", const="mulc", right="mulc", doc="self * other")
_op("div", 2, "a / b", ("1/b", "-a/b**2"), lambda n, g: (g / n.y, -g * (n.out / n.y)),
    method="__truediv__", const="divc", right="rdivc", doc="self / other")
_op("pow", 2, "a ** b", ("b * a**(b-1)", "out * log(a)"),
    lambda n, g: (_pow_grad_base(n.x, n.y, n.yv, g),
                  _pow_grad_exponent(n.x, n.y, n.out, n.xv, n.yv, g)),
    method="__pow__", const="powc", right="rpowc", domain=POSITIVE, doc="self ** other")
_op("addc", 1, "a + c", ("1",), lambda n, g: (g, 0.0))
_op("subc", 1, "a - c", ("1",), lambda n, g: (g, 0.0))
_op("rsubc", 1, "c - a", ("-1",), lambda n, g: (-g, 0.0))
_op("mulc", 1, "a * c", ("c",), lambda n, g: (g * n.c, 0.0))
_op("divc", 1, "a / c", ("1/c",), lambda n, g: (_div(g, n.c), 0.0))
_op("rdivc", 1, "c / a", ("-c/a**2",), lambda n, g: (-g * (n.out / n.x), 0.0))
_op("powc", 1, "a ** c", ("c * a**(c-1)",), lambda n, g: (_pow_grad_base(n.x, n.c, n.c, g), 0.0),
    domain=POSITIVE)
_op("rpowc", 1, "c ** a", ("out * log(c)",),
    lambda n, g: (_pow_grad_exponent(n.c, n.x, n.out, n.c, n.xv, g), 0.0))
# unary ops
_op("neg", 1, "-a", ("-1",), lambda n, g: (-g, 0.0), method="__neg__", doc="-self")
_op("exp", 1, "exp(a)", ("exp(a) = out",), lambda n, g: (g * n.out, 0.0),
    method="exp", doc="e ** x; exp(1000) = inf.")
_op("log", 1, "log(a)", ("1/a",), lambda n, g: (g / n.x, 0.0),
    method="log", domain=POSITIVE, doc="Natural logarithm; log(0) = -inf, log(x < 0) = nan.")
_op("sin", 1, "sin(a)", ("cos(a)",), lambda n, g: (g * n.x.cos(), 0.0), method="sin", doc="sin(x).")
_op("cos", 1, "cos(a)", ("-sin(a)",), lambda n, g: (g * -n.x.sin(), 0.0), method="cos", doc="cos(x).")
_op("tanh", 1, "tanh(a)", ("1 - out**2",), lambda n, g: (g * (1.0 - n.out * n.out), 0.0),
    method="tanh", doc="tanh(x).")
_op("relu", 1, "relu(a)", ("1 if a > 0 else 0",), lambda n, g: (0.0 if n.outv <= 0.0 else g, 0.0),
    method="relu", doc="max(x, 0); its gradient at 0 is 0.")
_op("sigmoid", 1, "sigmoid(a)", ("out * (1 - out)",),
    lambda n, g: (g * (n.out * (1.0 - n.out)), 0.0),
    method="sigmoid", doc="1 / (1 + exp(-x)).")
_op("sqrt", 1, "sqrt(a)", ("1 / (2 out)",), lambda n, g: (g / (2.0 * n.out), 0.0),
    method="sqrt", domain=POSITIVE, doc="Square root; sqrt(x < 0) = nan, its gradient at 0 is inf.")
_op("abs", 1, "abs(a)", ("sign(a)",), lambda n, g: (g * _sign(n.xv), 0.0),
    method="abs", doc="|x|; its gradient at 0 is 0.")
# One input of a user primitive f(x1, ..., xn): a chain of these nodes carries
# f's value (b) down; input a receives g * c, with c = df/da evaluated at
# forward time, a number: so da is exact, but its own derivative would miss
# dc/da (create_graph refuses it).  Made by ag.primitive, not by a method.
_op("primitive", 2, "b", ("c", "1"), lambda n, g: (g * n.c, g))
_op("softplus", 1, "softplus(a)", ("sigmoid(a)",), lambda n, g: (g * n.x.sigmoid(), 0.0),
    method="softplus", doc="log(1 + exp(x)), finite for any x; its gradient is sigmoid(x).")

OPS: tuple[Op, ...] = tuple(_ROWS)
COUNT = len(OPS)
BY_NAME: dict[str, Op] = {op.name: op for op in OPS}
FREE = 255      # not an op: marks a node on the free list (both arenas)

# op codes as module constants: ops.ADD, ops.COS, ...
globals().update({op.name.upper(): op.code for op in OPS})
LEAF: int
PRIMITIVE: int

# arity by op code, -1 for every byte that is not an op (the engines index it per node)
ARITY: list[int] = [op.arity for op in OPS] + [-1] * (256 - COUNT)

# ops with a number constant c
CONSTANT_OPS = frozenset(op.code for op in OPS if op.has_constant)

# unary ops a Value reaches by a method (x.exp()); also the free functions (ag.exp(x))
UNARY_METHODS: tuple[Op, ...] = tuple(op for op in OPS if op.arity == 1 and op.method
                                      and not op.method.startswith("__"))


def _check() -> None:
    for op in OPS:
        if op.arity > 0 and op.vjp is None:
            raise ImportError(f"autograd.ops: op {op.name!r} has no vjp rule")
        if len(op.derivatives) != op.arity:
            raise ImportError(f"autograd.ops: op {op.name!r} needs one derivative per input")
        for form in (op.const, op.right):
            if form is not None and (form not in BY_NAME or BY_NAME[form].arity != 1):
                raise ImportError(f"autograd.ops: op {op.name!r} names a constant form {form!r} "
                                  "that is not a one-input op of the table")


_check()


def c_header() -> str:
    """The C declarations generated from the table (autograd/_build.py writes
    them to ag_ops.h at build time)."""
    lines = [
        "/* ag_ops.h: generated from autograd/ops.py by autograd/_build.py; do not edit. */",
        "#ifndef AUTOGRAD_OPS_H",
        "#define AUTOGRAD_OPS_H",
        "",
        "enum {",
    ]
    lines += [f"    {op.enum + ' = ' + str(op.code) + ',':<26}/* {op.formula} */" for op in OPS]
    lines += [f"    AG_OP_COUNT = {COUNT}", "};", ""]
    arity = ", ".join(str(op.arity) for op in OPS)
    names = ", ".join(f'"{op.name}"' for op in OPS)
    lines += [
        "/* node inputs of each op */",
        f"static const signed char ag_op_arity_table[AG_OP_COUNT] = {{{arity}}};",
        f"static const char *const ag_op_name_table[AG_OP_COUNT] = {{{names}}};",
        "",
        "#endif",
        "",
    ]
    return "\n".join(lines)
