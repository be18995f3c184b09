"""``Value``: a scalar in the graph, a thin handle on one engine node.

``Value`` holds no math: it lifts numbers to constants, picks the op code,
calls its engine and wraps the new node id.  It has two slots, the node id and
the engine, and no references to other Values, so it is never part of a
reference cycle and dies the moment its last reference goes.
"""

from __future__ import annotations

import numbers
from typing import Callable, NoReturn

from . import backend, grad_mode, ops
from .engine import FLUSH_THRESHOLD, Engine
from .errors import raise_for_status

_new = object.__new__
_Real = numbers.Real


def as_number(x: object) -> float | None:
    """x as a float if it is a real number (int, float, numpy scalar, ...),
    else None.  bool is refused: True + x is a bug far more often than not."""
    t = type(x)
    if t is float:
        return x  # type: ignore[return-value]
    if t is int:
        try:
            return float(x)  # type: ignore[arg-type]
        except OverflowError:
            _too_large(x)
    if t is bool or not isinstance(x, _Real):
        return None
    try:
        return float(x)
    except OverflowError:
        _too_large(x)


def _too_large(x: object) -> NoReturn:
    what = f"an int of {x.bit_length()} bits" if isinstance(x, int) else f"this {type(x).__name__}"
    raise OverflowError(
        f"autograd: {what} is too large for a Value, a float64 (at most about 1.8e308 or 2**1024)"
    ) from None


def _not_a_number(other: object) -> object:
    """The answer of an op to an operand that is not a number: NotImplemented,
    so Python can try the other operand, except for an array, which would
    otherwise end in numpy's misleading message."""
    if hasattr(other, "__array_interface__") or hasattr(other, "__array__"):
        raise TypeError(
            f"cannot combine a {type(other).__name__} with a Value: a Value is one scalar. "
            "Apply the op to each element (e.g. [x * v for x in array.tolist()])."
        )
    return NotImplemented


def _mixed(a: Value, b: Value) -> NoReturn:
    raise TypeError(
        f"cannot combine a Value of the {a._eng.name!r} backend with a Value of the "
        f"{b._eng.name!r} backend: each backend keeps its own graph. Create both "
        "with the same backend (see autograd.set_backend)."
    )


def _release_now(eng: Engine, node: int) -> None:
    """Release one node without the pending list (out of memory in __del__):
    flush first, which may free memory, then release it alone.  If even that
    fails the node leaks, which is still better than a corrupt arena."""
    try:
        eng.flush()
    except MemoryError:
        pass
    try:
        eng._release([node])
    except MemoryError:
        pass


def _wrap(eng: Engine, node: int) -> Value:
    if node < 0:
        raise_for_status(node)
    try:
        out = _new(Value)
    except MemoryError:
        eng._release([node])  # nothing else holds it
        raise
    out._eng = eng
    out._id = node
    return out


def binary_op(op: int, op_const: int, doc: str) -> Callable[[Value, object], Value]:
    """The method for a binary op: op for a Value operand, op_const for a
    number (a constant: it never receives a gradient).  One shape for every
    op; the body is inlined because it runs once per node built.  Inside
    no_grad (grad_mode.py) the node is a detached leaf; outside, that costs
    one check of a module-level int."""

    def method(self: Value, other: object) -> Value:
        eng = self._eng
        apply = eng.apply
        if grad_mode.threads_in_no_grad and not grad_mode.is_grad_enabled():
            apply = eng.apply_detached
        out = _new(Value)  # before the node: a MemoryError here must not orphan it
        if type(other) is Value or isinstance(other, Value):
            if other._eng is not eng:
                _mixed(self, other)
            node = apply(op, self._id, other._id, 0.0)
        else:
            c = as_number(other)
            if c is None:
                return _not_a_number(other)  # type: ignore[return-value]
            node = apply(op_const, self._id, -1, c)
        if node < 0:
            raise_for_status(node)
        out._eng = eng
        out._id = node
        return out

    method.__doc__ = doc
    return method


def right_op(op_const: int, doc: str) -> Callable[[Value, object], Value]:
    """The method for a right-hand op: other is a number (a Value on the left
    would have handled the operation itself)."""

    def method(self: Value, other: object) -> Value:
        c = as_number(other)
        if c is None:
            return _not_a_number(other)  # type: ignore[return-value]
        eng = self._eng
        out = _new(Value)  # before the node: a MemoryError here must not orphan it
        apply = eng.apply
        if grad_mode.threads_in_no_grad and not grad_mode.is_grad_enabled():
            apply = eng.apply_detached
        node = apply(op_const, self._id, -1, c)
        if node < 0:
            raise_for_status(node)
        out._eng = eng
        out._id = node
        return out

    method.__doc__ = doc
    return method


def unary_op(op: int, doc: str) -> Callable[[Value], Value]:
    def method(self: Value) -> Value:
        eng = self._eng
        out = _new(Value)  # before the node: a MemoryError here must not orphan it
        apply = eng.apply
        if grad_mode.threads_in_no_grad and not grad_mode.is_grad_enabled():
            apply = eng.apply_detached
        node = apply(op, self._id, -1, 0.0)
        if node < 0:
            raise_for_status(node)
        out._eng = eng
        out._id = node
        return out

    method.__doc__ = doc
    return method


def leaf(eng: Engine, x: float) -> Value:
    """A new leaf holding x in engine eng."""
    return _wrap(eng, eng.leaf(x))


class Value:
    """A scalar that records the operations applied to it.

    >>> x = Value(2.0)
    >>> y = x * x + 1
    >>> y.backward()
    >>> x.grad
    4.0
    """

    __slots__ = ("_id", "_eng")
    _id: int
    _eng: Engine

    # numpy: never broadcast over a Value (an object array of Values would be
    # an elementwise surprise); array <op> Value raises TypeError instead.
    __array_ufunc__ = None

    def __init__(self, data: float) -> None:
        x = as_number(data)
        if x is None:
            raise TypeError(f"Value() takes a real number, not {type(data).__name__}")
        eng = backend.engine
        node = eng.leaf(x)
        if node < 0:
            raise_for_status(node)
        self._eng = eng
        self._id = node

    def __del__(self, _threshold: int = FLUSH_THRESHOLD) -> None:
        try:
            pending = self._eng.pending
        except AttributeError:  # __init__ failed before the node existed
            return
        try:
            pending.append(self._id)
        except MemoryError:  # the list could not grow: release now, or the node leaks
            _release_now(self._eng, self._id)
            return
        if len(pending) >= _threshold:
            self._eng.flush()

    __add__ = binary_op(ops.ADD, ops.ADDC, "self + other")
    __radd__ = right_op(ops.ADDC, "other + self, equal bitwise to self + other")
    __sub__ = binary_op(ops.SUB, ops.SUBC, "self - other")
    __rsub__ = right_op(ops.RSUBC, "other - self")
    __mul__ = binary_op(ops.MUL, ops.MULC, "self * other")
    __rmul__ = right_op(ops.MULC, "other * self, equal bitwise to self * other")
    __truediv__ = binary_op(ops.DIV, ops.DIVC, "self / other")
    __rtruediv__ = right_op(ops.RDIVC, "other / self")
    __rpow__ = right_op(ops.RPOWC, "other ** self")
    _pow = binary_op(ops.POW, ops.POWC, "self ** other")

    def __pow__(self, other: object, modulo: None = None) -> Value:  # self ** other
        if modulo is not None:
            return NotImplemented
        return self._pow(other)

    __neg__ = unary_op(ops.NEG, "-self")

    def __pos__(self) -> Value:
        return self

    __abs__ = unary_op(ops.ABS, "|self|; its gradient at 0 is 0")

    exp = unary_op(ops.EXP, "e ** self.")

    log = unary_op(ops.LOG, "Natural logarithm; log(0) = -inf, log(x < 0) = nan.")

    sin = unary_op(ops.SIN, "sin(self).")

    cos = unary_op(ops.COS, "cos(self).")

    tanh = unary_op(ops.TANH, "tanh(self).")

    relu = unary_op(ops.RELU, "max(x, 0); its gradient at 0 is 0.")

    sigmoid = unary_op(ops.SIGMOID, "1 / (1 + exp(-x)).")

    sqrt = unary_op(ops.SQRT, "Square root; sqrt(x < 0) = nan, its gradient at 0 is inf.")

    abs = unary_op(ops.ABS, "|x|; its gradient at 0 is 0.")

    @property
    def data(self) -> float:
        """The value.  Settable on a leaf only."""
        return self._eng.value(self._id)

    @data.setter
    def data(self, data: float) -> None:
        x = as_number(data)
        if x is None:
            raise TypeError(f".data takes a real number, not {type(data).__name__}")
        status = self._eng.set_value(self._id, x)
        if status:
            raise_for_status(status)

    @property
    def grad(self) -> float:
        """The gradient accumulated by backward() since the last zero_grad()."""
        return self._eng.grad(self._id)

    @grad.setter
    def grad(self, grad: float) -> None:
        g = as_number(grad)
        if g is None:
            raise TypeError(f".grad takes a real number, not {type(grad).__name__}")
        status = self._eng.set_grad(self._id, g)
        if status:
            raise_for_status(status)

    def backward(self, seed: float = 1.0) -> None:
        """Add d(self)/d(node) * seed into the .grad of every node this Value
        depends on (itself included).  Calling it twice adds twice."""
        s = as_number(seed)
        if s is None:
            raise TypeError(f"backward() takes a real number seed, not {type(seed).__name__}")
        status = self._eng.backward(self._id, s)
        if status:
            raise_for_status(status)

    def zero_grad(self) -> None:
        """Reset .grad to 0."""
        status = self._eng.set_grad(self._id, 0.0)
        if status:
            raise_for_status(status)

    @property
    def op(self) -> str:
        """The name of the op that made this Value ("leaf" for a leaf)."""
        return ops.OPS[self._eng.node(self._id).op].name

    @property
    def inputs(self) -> tuple[Value, ...]:
        """The Values this one was computed from (constants are not Values)."""
        eng = self._eng
        info = eng.node(self._id)
        out = []
        for node in (info.a, info.b)[: ops.OPS[info.op].arity]:
            status = eng.retain(node)
            if status:
                raise_for_status(status)
            out.append(_wrap(eng, node))
        return tuple(out)

    @property
    def constant(self) -> float | None:
        """The number operand of an op with one (x + 2, 2 ** x), else None."""
        info = self._eng.node(self._id)
        return info.c if info.op in ops.CONSTANT_OPS else None

    @property
    def backend(self) -> str:
        """The backend whose graph holds this Value: "c" or "python"."""
        return self._eng.name

    def detach(self) -> Value:
        """A new leaf with the same value, cut off from this Value's graph."""
        return leaf(self._eng, self.data)

    def __float__(self) -> float:
        return self.data

    def __repr__(self) -> str:
        return f"Value(data={self.data!r}, grad={self.grad!r})"

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError(
            "a Value cannot be pickled or copied: it is a handle on a node of a live "
            "graph. Save float(v) (or Module.state_dict() for a model) instead."
        )
