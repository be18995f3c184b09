"""``Value``: a scalar in the graph, a thin handle on one engine node.

``Value`` holds no math: it lifts numbers to constants, picks the op code,
calls its engine and wraps the new node id.  It has two slots, the node id and
the engine, and no references to other Values, so it is never part of a
reference cycle and dies the moment its last reference goes.
"""

from __future__ import annotations

import numbers
from typing import NoReturn

from . import backend, ops
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
        return float(x)  # type: ignore[arg-type]  # OverflowError past 1e308
    if t is bool or not isinstance(x, _Real):
        return None
    return float(x)


def _mixed(a: Value, b: Value) -> NoReturn:
    raise TypeError(
        f"cannot combine a Value of the {a._eng.name!r} backend with a Value of the "
        f"{b._eng.name!r} backend: each backend keeps its own graph. Create both "
        "with the same backend (see autograd.set_backend)."
    )


def _wrap(eng: Engine, node: int) -> Value:
    if node < 0:
        raise_for_status(node)
    out = _new(Value)
    out._eng = eng
    out._id = node
    return out


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
        pending.append(self._id)
        if len(pending) >= _threshold:
            self._eng.flush()

    # one shape for every op: an op code for a Value operand, another for a
    # number (a constant, which never receives a gradient)
    def _binary(self, other: object, op: int, op_const: int) -> Value:
        eng = self._eng
        if isinstance(other, Value):
            if other._eng is not eng:
                _mixed(self, other)
            node = eng.apply(op, self._id, other._id, 0.0)
        else:
            c = as_number(other)
            if c is None:
                return NotImplemented
            node = eng.apply(op_const, self._id, -1, c)
        return _wrap(eng, node)

    def _const(self, other: object, op_const: int) -> Value:
        # a right-hand op: other is a number (a Value would have gone first)
        c = as_number(other)
        if c is None:
            return NotImplemented
        return _wrap(self._eng, self._eng.apply(op_const, self._id, -1, c))

    def _unary(self, op: int) -> Value:
        eng = self._eng
        return _wrap(eng, eng.apply(op, self._id, -1, 0.0))

    def __add__(self, other: object) -> Value:  # self + other
        return self._binary(other, ops.ADD, ops.ADDC)

    def __radd__(self, other: object) -> Value:  # other + self == self + other, bitwise
        return self._const(other, ops.ADDC)

    def __sub__(self, other: object) -> Value:  # self - other
        return self._binary(other, ops.SUB, ops.SUBC)

    def __rsub__(self, other: object) -> Value:  # other - self
        return self._const(other, ops.RSUBC)

    def __mul__(self, other: object) -> Value:  # self * other
        return self._binary(other, ops.MUL, ops.MULC)

    def __rmul__(self, other: object) -> Value:  # other * self == self * other, bitwise
        return self._const(other, ops.MULC)

    def __truediv__(self, other: object) -> Value:  # self / other
        return self._binary(other, ops.DIV, ops.DIVC)

    def __rtruediv__(self, other: object) -> Value:  # other / self
        return self._const(other, ops.RDIVC)

    def __pow__(self, other: object, modulo: None = None) -> Value:  # self ** other
        if modulo is not None:
            return NotImplemented
        return self._binary(other, ops.POW, ops.POWC)

    def __rpow__(self, other: object) -> Value:  # other ** self
        return self._const(other, ops.RPOWC)

    def __neg__(self) -> Value:
        return self._unary(ops.NEG)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return self._unary(ops.ABS)

    def exp(self) -> Value:
        return self._unary(ops.EXP)

    def log(self) -> Value:
        """Natural logarithm; log(0) = -inf, log(x < 0) = nan."""
        return self._unary(ops.LOG)

    def sin(self) -> Value:
        return self._unary(ops.SIN)

    def cos(self) -> Value:
        return self._unary(ops.COS)

    def tanh(self) -> Value:
        return self._unary(ops.TANH)

    def relu(self) -> Value:
        """max(x, 0); its gradient at 0 is 0."""
        return self._unary(ops.RELU)

    def sigmoid(self) -> Value:
        """1 / (1 + exp(-x))."""
        return self._unary(ops.SIGMOID)

    def sqrt(self) -> Value:
        return self._unary(ops.SQRT)

    def abs(self) -> Value:
        """|x|; its gradient at 0 is 0."""
        return self._unary(ops.ABS)

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
