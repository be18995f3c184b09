"""Each op's vector-Jacobian product written with Value ops.

These are the backward rules of csrc/rules.c (and its twin
autograd/engine_py/rules.py) as graph-building code: the same formulas, term
for term and in the same order of operations, so an adjoint built here rounds
exactly as backward() computes it, and it can itself be differentiated
(create_graph, grad of grad, hessian).

A rule sees one forward node through a ``NodeView``: its inputs x, y and
output out as Values (the forward nodes themselves, so derivatives flow back
through them), the same as floats (xv, yv, outv) and its constant c.  The
incoming adjoint g is a Value, or a float while it depends on no node.
Where rules.c branches on a value (relu, abs, the pow conventions) the branch
is taken here on the forward floats: the mask is piecewise constant, so its
own derivative is 0 wherever it is defined.

Swapped operands are exact: ``g * y`` with a float g becomes the node
``y * g``, and IEEE +, * are commutative bit for bit.
"""

from __future__ import annotations

from typing import Callable, Union

from . import ops
from .engine_py.rules import c_div, c_log, sign
from .value import Value

# An adjoint: a Value, or a float while it depends on no node.
Adjoint = Union[Value, float]


class NodeView:
    """One forward node as a rule sees it.  ``handle(id)`` gives the Value on
    a node, made on first use (a rule that needs no node makes none)."""

    __slots__ = ("a", "b", "node", "c", "xv", "yv", "outv", "handle")

    def __init__(self, a: int, b: int, node: int, c: float, xv: float, yv: float, outv: float,
                 handle: Callable[[int], Value]) -> None:
        self.a, self.b, self.node, self.c = a, b, node, c
        self.xv, self.yv, self.outv = xv, yv, outv
        self.handle = handle

    @property
    def x(self) -> Value:
        return self.handle(self.a)

    @property
    def y(self) -> Value:
        return self.handle(self.b)

    @property
    def out(self) -> Value:
        return self.handle(self.node)


def div(p: Adjoint, q: Adjoint) -> Adjoint:
    """p / q; with two floats, C's division (a zero divisor gives inf or nan)."""
    if isinstance(p, float) and isinstance(q, float):
        return c_div(p, q)
    return p / q


def log(x: Adjoint) -> Adjoint:
    """log(x) of a Value, or C's log of a float (rpowc's constant base)."""
    return x.log() if isinstance(x, Value) else c_log(x)


def pow_grad_base(x: Value, y: Adjoint, yv: float, g: Adjoint) -> Adjoint:
    """d(x**y)/dx times g, as rules.c: g * (y * x**(y - 1)); 0 where y == 0."""
    return 0.0 if yv == 0.0 else g * (y * x ** (y - 1.0))


def pow_grad_exponent(x: Adjoint, y: Adjoint, out: Value, xv: float, yv: float,
                      g: Adjoint) -> Adjoint:
    """d(x**y)/dy times g, as rules.c: g * (out * log(x)); 0 where x == 0 and y >= 0."""
    return 0.0 if (xv == 0.0 and yv >= 0.0) else g * (out * log(x))


Rule = Callable[[NodeView, Adjoint], "tuple[Adjoint, Adjoint]"]

# vjp(n, g) -> (da, db), one line per op, in rules.c's order of operations.
# Unary ops return db = 0.0.
VJP: list[Rule | None] = [None] * ops.COUNT

VJP[ops.ADD] = lambda n, g: (g, g)
VJP[ops.SUB] = lambda n, g: (g, -g)
VJP[ops.MUL] = lambda n, g: (g * n.y, g * n.x)
VJP[ops.DIV] = lambda n, g: (g / n.y, -g * (n.out / n.y))
VJP[ops.POW] = lambda n, g: (
    pow_grad_base(n.x, n.y, n.yv, g), pow_grad_exponent(n.x, n.y, n.out, n.xv, n.yv, g))
VJP[ops.ADDC] = lambda n, g: (g, 0.0)
VJP[ops.SUBC] = lambda n, g: (g, 0.0)
VJP[ops.RSUBC] = lambda n, g: (-g, 0.0)
VJP[ops.MULC] = lambda n, g: (g * n.c, 0.0)
VJP[ops.DIVC] = lambda n, g: (div(g, n.c), 0.0)
VJP[ops.RDIVC] = lambda n, g: (-g * (n.out / n.x), 0.0)             # d(c/x) = -c/x**2
VJP[ops.POWC] = lambda n, g: (pow_grad_base(n.x, n.c, n.c, g), 0.0)
VJP[ops.RPOWC] = lambda n, g: (pow_grad_exponent(n.c, n.x, n.out, n.c, n.xv, g), 0.0)
VJP[ops.NEG] = lambda n, g: (-g, 0.0)
VJP[ops.EXP] = lambda n, g: (g * n.out, 0.0)
VJP[ops.LOG] = lambda n, g: (g / n.x, 0.0)
VJP[ops.SIN] = lambda n, g: (g * n.x.cos(), 0.0)
VJP[ops.COS] = lambda n, g: (g * -n.x.sin(), 0.0)
VJP[ops.TANH] = lambda n, g: (g * (1.0 - n.out * n.out), 0.0)
VJP[ops.RELU] = lambda n, g: (0.0 if n.outv <= 0.0 else g, 0.0)       # mask: relu'(0) = 0
VJP[ops.SIGMOID] = lambda n, g: (g * (n.out * (1.0 - n.out)), 0.0)
VJP[ops.SQRT] = lambda n, g: (g / (2.0 * n.out), 0.0)
VJP[ops.ABS] = lambda n, g: (g * sign(n.xv), 0.0)                    # mask: sign(0) = 0
# c is df/dx evaluated at forward time, a number: da is exact, but its own
# derivative would miss dc/dx (functional.reverse_sweep refuses to build da
# when x depends on an input).  db = g passes the chain on exactly.
VJP[ops.PRIMITIVE] = lambda n, g: (g * n.c, g)

assert all(rule is not None for rule in VJP[1:]), "every op needs a vjp rule"
