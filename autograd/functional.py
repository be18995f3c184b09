"""The functional API: gradients as functions, gradients of gradients.

``gradients(output, inputs)``, two ways, neither touching any ``.grad``:

- ``create_graph=False``: the engine's own backward sweep, copying out the
  adjoints of the inputs (``Engine.gradients``): floats equal bit for bit to
  what backward() adds to ``.grad``;
- ``create_graph=True``: ``reverse_sweep`` below walks the same topological
  order in Python and builds each adjoint from Value ops with the rules of
  vjp.py (rules.c's formulas in rules.c's order).  The gradients are Values
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

from . import ops
from .engine import Engine, NodeInfo
from .errors import raise_for_status
from .grad_mode import enable_grad
from .value import Value, _wrap, as_number, leaf
from .vjp import VJP, Adjoint, NodeView

Argnums = Union[int, Sequence[int]]


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


def _depends_on(order: list[int], infos: list[NodeInfo], slot: dict[int, int],
                inputs: Sequence[Value]) -> list[bool]:
    """For each node (by topological index): whether it depends on one of
    the inputs.  Only those nodes' adjoints can reach the inputs."""
    wanted = {v._id for v in inputs}
    depends = [False] * len(order)
    for k, info in enumerate(infos):                # inputs first
        arity = ops.ARITY[info.op]
        depends[k] = (order[k] in wanted
                      or (arity >= 1 and depends[slot[info.a]])
                      or (arity == 2 and depends[slot[info.b]]))
    return depends


def reverse_sweep(output: Value, inputs: Sequence[Value]) -> list[Adjoint]:
    """d(output)/d(input) for each input, built from Value ops by the rules of
    vjp.py: a Value, or a float where it depends on no node.

    The twin of backward.c's sweep: the nodes in reverse topological order,
    each sending rule(g) to its first input, then its second; an adjoint
    starts at 0.0 and adds its contributions in that order.  Nodes that do
    not depend on an input are skipped: nothing they send reaches an input,
    so the inputs' adjoints are unchanged, bit for bit.  An input that output
    does not depend on gets 0.0.

    Raises SecondDerivativeError if a primitive's input depends on an input:
    what it sends there, g * c, holds c = df/dx_i as a number, so the
    gradient's own derivative would silently miss dc/dx.
    """
    eng = output._eng
    order = eng.topo(output._id)                 # inputs first
    slot = {node: k for k, node in enumerate(order)}
    infos = [eng.node(node) for node in order]
    depends = _depends_on(order, infos, slot, inputs)
    for info in infos:
        if info.op == ops.PRIMITIVE and depends[slot[info.a]]:
            raise SecondDerivativeError(PRIMITIVE_TWICE)
    adjoint: list[Adjoint] = [0.0] * len(order)
    reached = [False] * len(order)               # has adjoint[k] had its first addition
    root = slot[output._id]
    adjoint[root] = 1.0
    reached[root] = True
    handle = _node_handles(eng)

    def add(k: int, d: Adjoint) -> None:
        if not depends[k]:
            return
        if reached[k]:
            adjoint[k] = adjoint[k] + d
        else:
            adjoint[k] = _plus_zero(d)
            reached[k] = True

    for k in reversed(range(len(order))):
        info = infos[k]
        arity = ops.ARITY[info.op]
        if arity == 0 or not depends[k]:
            continue
        ka = slot[info.a]
        kb = slot[info.b] if arity == 2 else -1
        view = NodeView(info.a, info.b, order[k], info.c, infos[ka].value,
                        infos[kb].value if arity == 2 else 0.0, info.value, handle)
        da, db = VJP[info.op](view, adjoint[k])  # type: ignore[misc]
        add(ka, da)
        if arity == 2:
            add(kb, db)
    return [adjoint[slot[v._id]] if v._id in slot else 0.0 for v in inputs]


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
        return eng.gradients(output._id, 1.0, [v._id for v in values])
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
