"""The functional API: gradients as functions, gradients of gradients.

``gradients(output, inputs)``, two ways, neither touching any ``.grad``:

- ``create_graph=False``: the engine's own backward sweep, copying out the
  adjoints of the inputs (``Engine.gradients``): floats equal bit for bit to
  what backward() adds to ``.grad``;
- ``create_graph=True``: ``reverse_sweep`` below runs the engines' sweep
  (engine/python/sweep.py, the twin of csrc/sweep.c) over the same layout,
  with a step that builds each adjoint from Value ops by the op table's vjp
  rules (csrc/rules.h's formulas in their order).  The gradients are Values
  whose graph is the backward pass itself, so differentiating them again is
  exact (reverse over reverse), and their values equal backward()'s bit for
  bit.

``grad``, ``value_and_grad`` and ``hessian`` are built on it.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Callable, Union

from . import errors, ops
from .engine import Engine
from .engine.python.sweep import Flat, sweep
from .errors import raise_for_status
from .modes import enable_grad
from .value import Value, _wrap, as_number, leaf

Argnums = Union[int, Sequence[int]]
# An adjoint: a Value, or a float while it depends on no node.
Adjoint = Union[Value, float]


class SecondDerivativeError(NotImplementedError):
    """create_graph=True would have to differentiate an ag.primitive's
    backward rule, whose derivatives are numbers."""


PRIMITIVE_TWICE = (
    "cannot build a differentiable gradient through an ag.primitive: its derivatives are "
    "numbers evaluated at forward time, so the derivative of a derivative through it is "
    "unknown. gradients(..., create_graph=True), grad(grad(f)), hessian and gradgradcheck "
    "need every op between the inputs and the output to be an autograd op; first "
    "derivatives (backward(), grad(f), gradients(..., create_graph=False)) of a "
    "primitive work."
)


def _plus_zero(d: Adjoint) -> Adjoint:
    """0.0 + d, the first addition into an adjoint as backward() does it.  It
    only changes -0.0 into +0.0, so a node is built only for a -0.0 Value."""
    if isinstance(d, float):
        return 0.0 + d
    v = d.data
    return d + 0.0 if v == 0.0 and math.copysign(1.0, v) < 0.0 else d


class _Zero:
    """An adjoint nothing was added to yet: ``_ZERO + d`` is backward()'s
    ``0.0 + d`` without building a node for it."""

    __slots__ = ()

    def __add__(self, d: Adjoint) -> Adjoint:
        return _plus_zero(d)


_ZERO = _Zero()


def _node_handles(eng: Engine) -> Callable[[int], Value]:
    """A function giving a Value on an existing node, one per node (cached)."""
    handles: dict[int, Value] = {}

    def handle(node: int) -> Value:
        v = handles.get(node)
        if v is None:
            status = eng.retain(node)   # the new Value's own reference
            if status:
                raise_for_status(status)
            v = handles[node] = _wrap(eng, node)
        return v

    return handle


class NodeView:
    """One forward node as a vjp rule of the op table sees it: its inputs x,
    y and output out as Values (the forward nodes themselves, made on first
    use, so derivatives flow back through them), the same as floats (xv, yv,
    outv) and its constant c."""

    __slots__ = ("f", "i", "handle")

    def __init__(self, f: Flat, i: int, handle: Callable[[int], Value]) -> None:
        self.f, self.i, self.handle = f, i, handle

    @property
    def x(self) -> Value:
        return self.handle(self.f.id[self.f.a[self.i]])

    @property
    def y(self) -> Value:
        return self.handle(self.f.id[self.f.b[self.i]])

    @property
    def out(self) -> Value:
        return self.handle(self.f.id[self.i])

    @property
    def xv(self) -> float:
        return self.f.value[self.f.a[self.i]]

    @property
    def yv(self) -> float:
        return self.f.value[self.f.b[self.i]]

    @property
    def outv(self) -> float:
        return self.f.value[self.i]

    @property
    def c(self) -> float:
        return self.f.c[self.i]


def reverse_sweep(output: Value, inputs: Sequence[Value]) -> list[Adjoint]:
    """d(output)/d(input) for each input, built from Value ops by the op
    table's vjp rules: a Value, or a float where it depends on no node.

    It is the engines' sweep (the same layout, order and accumulation) with
    a step that builds Values.  Nodes that do not depend on an input are
    skipped: nothing they send reaches an input, so the inputs' adjoints are
    unchanged, bit for bit.  An input that output does not depend on gets 0.0.

    Raises SecondDerivativeError if a primitive's input depends on an input:
    what it sends there, g * c, holds c = df/dx_i as a number, so the
    gradient's own derivative would silently miss dc/dx.
    """
    eng = output._eng
    f = eng.flat(output._id)
    n, a, b, op = f.n, f.a, f.b, f.op
    wanted = {v._id for v in inputs}
    depends = [False] * (n + 1)                 # position NONE (0) depends on nothing
    for i in range(1, n + 1):                   # inputs first
        depends[i] = f.id[i] in wanted or depends[a[i]] or depends[b[i]]
        if op[i] == ops.PRIMITIVE and depends[a[i]]:
            raise SecondDerivativeError(PRIMITIVE_TWICE)
    handle = _node_handles(eng)

    def step(i: int, g: Adjoint) -> tuple[Adjoint | None, Adjoint | None] | None:
        if not depends[i]:
            return None
        da, db = ops.OPS[op[i]].vjp(NodeView(f, i, handle), g)  # type: ignore[misc]
        return (da if depends[a[i]] else None, db if depends[b[i]] else None)

    sweep(f, 1.0, rule=step, zero=_ZERO)
    position = {node: i for i, node in enumerate(f.id) if i > 0}
    out: list[Adjoint] = []
    for v in inputs:
        d = f.adjoint[position[v._id]] if v._id in position else 0.0
        out.append(0.0 if d is _ZERO else d)
    return out


def _as_values(inputs: Value | Sequence[Value], eng: Engine) -> list[Value]:
    values = [inputs] if isinstance(inputs, Value) else list(inputs)
    for v in values:
        if not isinstance(v, Value):
            raise TypeError(f"gradients: inputs must be Values, not {type(v).__name__}")
        if v._eng is not eng:
            raise TypeError(
                f"gradients: an input lives on the {v._eng.name!r} backend and the output on "
                f"the {eng.name!r} backend: each backend keeps its own graph"
            )
    return values


def gradients(output: Value, inputs: Value | Sequence[Value],
              create_graph: bool = False) -> list[Any]:
    """The gradients of ``output`` with respect to each of ``inputs`` (a Value
    or a sequence of Values), in order, without changing any ``.grad``.

    create_graph=False: floats, equal bit for bit to the .grad that
    output.backward() would add to zeroed inputs.
    create_graph=True: Values whose graph is the backward pass, to be
    differentiated again (a gradient that depends on no node is a new leaf).

    >>> import autograd as ag
    >>> x = ag.Value(3.0)
    >>> y = x ** 3
    >>> ag.gradients(y, [x])                        # 3 x**2
    [27.0]
    >>> (dx,) = ag.gradients(y, [x], create_graph=True)
    >>> ag.gradients(dx, [x])                       # 6 x
    [18.0]
    """
    if not isinstance(output, Value):
        raise TypeError(f"gradients: output must be a Value, not {type(output).__name__}")
    eng = output._eng
    values = _as_values(inputs, eng)
    if not create_graph:
        return errors.checked(eng.gradients(output._id, 1.0, [v._id for v in values]))
    grads = reverse_sweep(output, values)
    return [g if isinstance(g, Value) else leaf(eng, g) for g in grads]


def _argnums(argnums: Argnums) -> tuple[tuple[int, ...], bool]:
    """(positions, whether a single int was given)."""
    if isinstance(argnums, int) and not isinstance(argnums, bool):
        return (argnums,), True
    if isinstance(argnums, Sequence) and argnums and all(
            isinstance(i, int) and not isinstance(i, bool) for i in argnums):
        return tuple(argnums), False
    raise TypeError(f"argnums must be an int or a non-empty sequence of ints, not {argnums!r}")


# .depth: how many grad / value_and_grad / hessian evaluations of f enclose
# the code running on this thread.
_nesting = threading.local()


@contextmanager
def _evaluating_f() -> Iterator[None]:
    depth = getattr(_nesting, "depth", 0)
    _nesting.depth = depth + 1
    try:
        with enable_grad():
            yield
    finally:
        _nesting.depth = depth


def _wants_values(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a grad must return differentiable Values rather than floats:
    when it runs inside another grad's f (which may differentiate it, also
    through Values f closes over), or is given a Value."""
    return (getattr(_nesting, "depth", 0) > 0
            or any(isinstance(a, Value) for a in args)
            or any(isinstance(a, Value) for a in kwargs.values()))


def _differentiable_args(args: tuple[Any, ...], positions: Sequence[int],
                         name: str) -> tuple[list[Any], list[Value]]:
    """(args with each differentiated argument replaced by a fresh node,
    those nodes).

    A number becomes a new leaf.  A Value (grad nested in grad) becomes
    ``v * 1.0``, a new node with v's exact value: this derivative is then with
    respect to this use of v only, so an outer derivative with respect to v
    is not confused with it (perturbation confusion).  Call with grad enabled.
    """
    out = list(args)
    fresh: list[Value] = []
    for i in positions:
        if not -len(args) <= i < len(args):
            raise TypeError(f"{name}: argnums asks for positional argument {i}, but {len(args)} "
                            f"positional arguments were given. {name} differentiates with respect to "
                            f"positional arguments only: call {name}(f)(2.0), not {name}(f)(x=2.0) "
                            "(keyword arguments are passed to f as constants)")
        a = args[i]
        if isinstance(a, Value):
            x = a * 1.0
        else:
            v = as_number(a)
            if v is None:
                raise TypeError(
                    f"{name}: argument {i} must be a real number or a Value, not {type(a).__name__}")
            x = Value(v)
        out[i] = x
        fresh.append(x)
    return out, fresh


def value_and_grad(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., tuple[Any, Any]]:
    """A function returning (f(*args), df/d args[argnums]).

    Called with numbers: floats (a tuple of gradients when argnums is a
    sequence).  Called with a Value among the arguments, or inside the f of
    another grad (nesting): Values, whose graph allows differentiating again.  Arguments not in argnums, and
    keyword arguments, are passed to f unchanged (constants).

    >>> import autograd as ag
    >>> ag.value_and_grad(lambda x, y: x * y + y, argnums=(0, 1))(2.0, 5.0)
    (15.0, (5.0, 3.0))
    """
    positions, single = _argnums(argnums)

    @functools.wraps(f)
    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        nested = _wants_values(args, kwargs)
        with _evaluating_f():
            call_args, xs = _differentiable_args(args, positions, "grad")
            out = f(*call_args, **kwargs)
        if isinstance(out, Value):
            grads: list[Any] = gradients(out, xs, create_graph=nested)
            value: Any = out if nested else out.data
        else:
            number = as_number(out)
            if number is None:
                raise TypeError(f"grad: f must return a Value or a number, not {type(out).__name__}")
            grads = [leaf(x._eng, 0.0) if nested else 0.0 for x in xs]
            value = number
        return value, (grads[0] if single else tuple(grads))

    return value_and_grad_f


def grad(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """A function computing df/d args[argnums] (see value_and_grad).

    It composes: grad(grad(f)) is the second derivative, computed by
    differentiating the backward pass.

    >>> import autograd as ag
    >>> f = lambda x: x ** 3
    >>> ag.grad(f)(2.0), ag.grad(ag.grad(f))(2.0)      # 3 x**2, 6 x
    (12.0, 12.0)
    """
    value_and_grad_f = value_and_grad(f, argnums)

    @functools.wraps(f)
    def grad_f(*args: Any, **kwargs: Any) -> Any:
        return value_and_grad_f(*args, **kwargs)[1]

    return grad_f


def hessian(f: Callable[..., Any]) -> Callable[..., list[list[Any]]]:
    """A function computing the matrix of second derivatives of a scalar f of
    its positional arguments: rows[i][j] = d2f / dx_i dx_j, exact (reverse
    over reverse).  Floats for numbers; Values for Values.

    >>> import autograd as ag
    >>> ag.hessian(lambda x, y: x * x * y)(3.0, 2.0)    # [[2y, 2x], [2x, 0]]
    [[4.0, 6.0], [6.0, 0.0]]
    """

    @functools.wraps(f)
    def hessian_f(*args: Any) -> list[list[Any]]:
        nested = _wants_values(args, {})
        with _evaluating_f():
            call_args, xs = _differentiable_args(args, range(len(args)), "hessian")
            out = f(*call_args)
            if not isinstance(out, Value):
                if as_number(out) is None:
                    raise TypeError(
                        f"hessian: f must return a Value or a number, not {type(out).__name__}")
                return [[leaf(x._eng, 0.0) if nested else 0.0 for x in xs] for _ in xs]
            first = gradients(out, xs, create_graph=True)
        return [gradients(g, xs, create_graph=nested) for g in first]

    return hessian_f


def vjp(f: Callable[..., Any], *primals: float) -> tuple[float, Callable[[float], tuple[float, ...]]]:
    """(f(*primals), vjp_fn), as JAX's ``jax.vjp``: ``vjp_fn(g)`` returns the
    tuple g * df/dx_i, one per primal, as floats.  The graph is built once;
    each call of vjp_fn is one engine sweep seeded with g, no .grad changed.

    >>> import autograd as ag
    >>> value, pullback = ag.vjp(lambda x, y: x * y + y, 2.0, 5.0)
    >>> value, pullback(1.0), pullback(2.0)
    (15.0, (5.0, 3.0), (10.0, 6.0))
    """
    for i, p in enumerate(primals):
        if isinstance(p, Value) or as_number(p) is None:
            raise TypeError(f"vjp: primal {i} must be a real number (a float), not {type(p).__name__}")
    with _evaluating_f():
        call_args, xs = _differentiable_args(primals, range(len(primals)), "vjp")
        out = f(*call_args)
    if not isinstance(out, Value):
        number = as_number(out)
        if number is None:
            raise TypeError(f"vjp: f must return a Value or a number, not {type(out).__name__}")
        return number, lambda g: tuple(0.0 for _ in xs)
    eng = out._eng
    ids = [x._id for x in xs]

    def vjp_fn(g: float) -> tuple[float, ...]:
        s = as_number(g)
        if s is None:
            raise TypeError(f"vjp: the cotangent must be a real number, not {type(g).__name__}")
        return tuple(errors.checked(eng.gradients(out._id, s, ids)))

    return out.data, vjp_fn
