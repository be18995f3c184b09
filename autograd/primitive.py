"""User-defined differentiable functions: ``primitive(forward, *derivatives)``.

f(x1, ..., xn) enters the graph as a chain of PRIMITIVE nodes (see the
comment at the top of csrc/rules.h): a constant leaf holds f's value, and
node_i = PRIMITIVE(a=x_i, b=node_{i-1}, c=df/dx_i at the inputs), so the
value passes down the chain and x_i receives g * df/dx_i in backward().  The
derivatives are numbers evaluated at forward time: first derivatives are
exact, a second derivative through a primitive raises SecondDerivativeError.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, NamedTuple

from . import modes, ops
from .engine import Engine
from .value import Value, _mixed, _wrap, as_number, leaf

FloatFunction = Callable[..., float]


class Applied(NamedTuple):
    """One application of a primitive, as gradcheck's diagnosis sees it."""

    name: str
    forward: FloatFunction
    derivatives: tuple[FloatFunction, ...]
    xs: tuple[float, ...]                     # the input values
    base: Value                               # the constant leaf holding forward(*xs)
    links: tuple[tuple[int, Value, float], ...]  # (input index, its PRIMITIVE node, df/dx_i given)


# the list that applications are appended to while recording() runs (this thread or task only)
_applied: ContextVar[list[Applied] | None] = ContextVar("autograd_primitive_applied", default=None)


@contextmanager
def recording() -> Iterator[list[Applied]]:
    """Collect every primitive applied inside the block (gradcheck checks their
    derivatives numerically, one by one)."""
    applied: list[Applied] = []
    token = _applied.set(applied)
    try:
        yield applied
    finally:
        _applied.reset(token)


def _call(fn: FloatFunction, xs: list[float], name: str, what: str) -> float:
    out = fn(*xs)
    v = as_number(out)
    if v is None:
        raise TypeError(f"primitive {name}: {what} returned {type(out).__name__}, not a real number")
    return v


def primitive(forward: FloatFunction, *derivatives: FloatFunction) -> Callable[..., Any]:
    """A differentiable function of len(derivatives) inputs.

    forward(*xs) is f's value; derivatives[i](*xs) is df/dx_i; all take the
    input values as floats and return a float.  The result takes Values or
    numbers: with a Value among them it returns a Value (to use in backward,
    grad, gradcheck), with numbers only a float.

    >>> import math
    >>> import autograd as ag
    >>> hypot = ag.primitive(math.hypot, lambda x, y: x / math.hypot(x, y),
    ...                      lambda x, y: y / math.hypot(x, y))
    >>> ag.grad(hypot, argnums=(0, 1))(3.0, 4.0)
    (0.6, 0.8)
    """
    name = getattr(forward, "__name__", "primitive")
    for fn in (forward, *derivatives):
        if not callable(fn):
            raise TypeError(f"primitive {name}: forward and derivatives must be callable, "
                            f"not {type(fn).__name__}")
    if not derivatives:
        raise TypeError(f"primitive {name}: give one derivative per input (none given)")
    arity = len(derivatives)

    @functools.wraps(forward)
    def apply_primitive(*args: Any) -> Any:
        if len(args) != arity:
            raise TypeError(f"primitive {name} takes {arity} inputs (one per derivative), "
                            f"not {len(args)}")
        eng: Engine | None = None
        first: Value | None = None
        xs: list[float] = []
        for a in args:
            if isinstance(a, Value):
                if first is None:
                    first, eng = a, a._eng
                elif a._eng is not eng:
                    _mixed(first, a)
                xs.append(a.data)
            else:
                v = as_number(a)
                if v is None:
                    raise TypeError(f"primitive {name}: inputs must be Values or real numbers, "
                                    f"not {type(a).__name__}")
                xs.append(v)
        value = _call(forward, xs, name, "forward")
        if eng is None:
            return value
        node = base = leaf(eng, value)  # the base of the chain: a constant
        if not modes.is_grad_enabled():
            return node
        links = []
        for i, (a, derivative) in enumerate(zip(args, derivatives)):
            if isinstance(a, Value):    # a number input is a constant: no gradient
                c = _call(derivative, xs, name, f"derivative {i}")
                apply = modes.applier(eng) if modes.active else eng.apply
                node = _wrap(eng, apply(ops.PRIMITIVE, a._id, node._id, c))
                links.append((i, node, c))
        applied = _applied.get()
        if applied is not None:
            applied.append(Applied(name, forward, derivatives, tuple(xs), base, tuple(links)))
        return node

    return apply_primitive
