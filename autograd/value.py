"""``Value``: a scalar in the graph, a thin handle on one engine node.

``Value`` holds no math: it lifts numbers to constants, picks the op code,
calls its engine and wraps the new node id.  It has two slots, the node id and
the engine, and no references to other Values, so it is never part of a
reference cycle and dies the moment its last reference goes.

Its operators and math methods, and the free functions (``ag.exp(x)``), are
made from the op table (autograd/ops.py) below the class: one shape for every
op, so a new row of the table is a new method with no code here.
"""

from __future__ import annotations

import _thread
import numbers
import sys
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Union

from . import backend, modes, ops
from .engine import FINALIZED, FLUSH_THRESHOLD, Engine
from .engine.python.rules import forward as float_forward
from .errors import raise_for_status

_new = object.__new__
Operand = Union["Value", float]     # what an operator takes: a Value or a real number
_Real = numbers.Real
_INF = float("inf")


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
        v = float(x)
    except OverflowError:
        _too_large(x)
    if (v == _INF or v == -_INF) and x != v:  # a finite number beyond float64 (np.longdouble)
        _too_large(x)
    return v


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
    if FINALIZED in (a._eng, b._eng):
        FINALIZED.value(-1)     # raises: a resurrected Value
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
        eng.release([node])
    except MemoryError:
        pass


def _wrap(eng: Engine, node: int) -> Value:
    if node < 0:
        raise_for_status(node)
    try:
        out = _new(Value)
    except MemoryError:
        eng.release([node])  # nothing else holds it
        raise
    out._eng = eng
    out._id = node
    return out


def binary_op(op: int, op_const: int, doc: str) -> Callable[[Value, object], Value]:
    """The method for a binary op: op for a Value operand, op_const for a
    number (a constant: it never receives a gradient).  One shape for every
    op; the body is inlined because it runs once per node built.  While a
    mode is on (no_grad, anomaly mode, a recording: modes.py) the node is
    made through modes.apply; otherwise that costs one check of a module int."""

    def method(self: Value, other: object) -> Value:
        eng = self._eng
        apply = eng.apply
        if modes.active:
            apply = modes.applier(eng, self, other)
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
        if modes.active:
            apply = modes.applier(eng, self)
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
        if modes.active:
            apply = modes.applier(eng, self)
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

    # __weakref__: weakref.ref(v) works; 8 bytes a Value, no time measured
    __slots__ = ("_id", "_eng", "__weakref__")
    _id: int
    _eng: Engine

    # numpy: never broadcast over a Value (an object array of Values would be
    # an elementwise surprise); array <op> Value raises TypeError instead.
    __array_ufunc__ = None

    # __new__, not __init__: a second v.__init__(x) is then object.__init__,
    # which does nothing, rather than a new node over the old one (a leak).
    def __new__(cls, data: float, label: str | None = None) -> Value:
        x = as_number(data)
        if x is None:
            raise TypeError(f"Value() takes a real number, not {type(data).__name__}")
        self = _new(cls)  # before the node: a MemoryError here must not orphan it
        eng = backend.engine
        node = modes.leaf(eng, x) if modes.active else eng.leaf(x)
        if node < 0:
            raise_for_status(node)
        self._eng = eng
        self._id = node
        if label is not None:
            self.label = label
        return self

    def __del__(self, _threshold: int = FLUSH_THRESHOLD) -> None:
        try:
            eng = self._eng
        except AttributeError:  # __new__ failed before the node existed
            return
        # another finalizer in a garbage cycle may resurrect this Value
        # (PEP 442): from here on it reaches no node
        self._eng = FINALIZED
        try:
            eng.pending.append(self._id)
        except MemoryError:  # the list could not grow: release now, or the node leaks
            _release_now(eng, self._id)
            return
        if len(eng.pending) >= _threshold:
            eng.flush()

    if TYPE_CHECKING:   # made from the op table below the class; declared for type checkers
        def __add__(self, other: Operand) -> Value: ...
        def __radd__(self, other: float) -> Value: ...
        def __sub__(self, other: Operand) -> Value: ...
        def __rsub__(self, other: float) -> Value: ...
        def __mul__(self, other: Operand) -> Value: ...
        def __rmul__(self, other: float) -> Value: ...
        def __truediv__(self, other: Operand) -> Value: ...
        def __rtruediv__(self, other: float) -> Value: ...
        def __pow__(self, other: Operand, modulo: None = None) -> Value: ...
        def __rpow__(self, other: float) -> Value: ...
        def __neg__(self) -> Value: ...
        def __getattr__(self, name: str) -> Callable[[], Value]: ...   # x.exp(), x.cos(), ...

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        """abs(self): the ``abs`` op; its gradient at 0 is 0."""
        return self.abs()  # type: ignore[no-any-return, attr-defined]

    @property
    def data(self) -> float:
        """The value.  Settable on a leaf only."""
        if modes.active:
            modes.count_read()
        return self._eng.value(self._id)

    @data.setter
    def data(self, data: float) -> None:
        x = as_number(data)
        if x is None:
            raise TypeError(f".data takes a real number, not {type(data).__name__}")
        eng = self._eng
        status = modes.set_value(eng, self._id, x) if modes.active else eng.set_value(self._id, x)
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
        eng = self._eng
        status = modes.backward(eng, self._id, s) if modes.active else eng.backward(self._id, s)
        if status:
            eng.check_status(status, self._id)

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
        """The value as a float: it leaves the graph.  ``math.sin(v)`` calls
        this and returns a float that no gradient flows through; anomaly mode
        warns when it happens (use ``v.sin()`` or ``ag.sin(v)``)."""
        if modes.active and modes.anomaly is not None:
            warnings.warn("a Value was converted to a float (float(v), or a math.* function on a "
                          "Value): the result leaves the graph and gets no gradient. Use the "
                          "Value's methods (v.sin()) or ag.sin(v) instead.", GraphLeakWarning,
                          stacklevel=2)
        return self.data

    # Comparisons and truth, as float's, on the values (as PyTorch's 0-dim
    # tensors do), so max(a, b), sorted() and `if x > 0` work.  They are not
    # differentiable: the result is a bool, and the graph records nothing
    # (replay.record counts them as value reads and refuses the branch).
    # == and hash stay identity: by value, `v in values` and dict lookups
    # would silently match other Values that merely hold the same number.
    def __lt__(self, other: object) -> bool:
        return _compare(self, other, "<")

    def __le__(self, other: object) -> bool:
        return _compare(self, other, "<=")

    def __gt__(self, other: object) -> bool:
        return _compare(self, other, ">")

    def __ge__(self, other: object) -> bool:
        return _compare(self, other, ">=")

    def __bool__(self) -> bool:
        """False for 0.0, as a float (nan is True)."""
        return bool(self.data)

    __hash__ = object.__hash__

    @property
    def label(self) -> str | None:
        """A name for learners' tools (explain, to_dot, repr), or None.  It
        lives as long as the Value it was given to: ``Value(2.0, label="x")``."""
        return self._eng.labels.get(self._id) if type(self) is _Labelled else None

    @label.setter
    def label(self, text: str | None) -> None:
        if text is None:
            if type(self) is _Labelled:
                self._eng.labels.pop(self._id, None)
                self.__class__ = Value  # type: ignore[assignment]
            return
        if not isinstance(text, str):
            raise TypeError(f"a label is a str, not {type(text).__name__}")
        self._eng.labels[self._id] = text
        self.__class__ = _Labelled

    def __repr__(self) -> str:
        label = self.label
        shown = "" if label is None else f", label={label!r}"
        return f"Value(data={self.data!r}, grad={self.grad!r}{shown})"

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError(
            "a Value cannot be pickled or copied: it is a handle on a node of a live "
            "graph. Save float(v) (or Module.state_dict() for a model) instead."
        )


class _Labelled(Value):
    """A Value with a label: the label (kept by the engine, by node) goes when
    this Value does.  Same layout as Value, so a Value becomes one in place."""

    __slots__ = ()

    def __del__(self, _threshold: int = FLUSH_THRESHOLD) -> None:
        try:
            self._eng.labels.pop(self._id, None)
        except AttributeError:
            return
        Value.__del__(self, _threshold)


class GraphLeakWarning(UserWarning):
    """A Value's value left the graph as a float (anomaly mode only)."""


def _compared(other: object) -> float | None:
    """The number a Value is compared with: a Value's value or a real number."""
    if isinstance(other, Value):
        return other.data
    return as_number(other)


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda x, y: x < y, "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}


def _compare(lhs: Value, other: object, op: str) -> bool:
    """lhs op other on the values, reading each Value operand once (through
    .data, so a recording that watches reads sees it); ag.compile, while it
    records on this thread, turns the comparison into a guard."""
    y = _compared(other)
    if y is None:
        return NotImplemented  # type: ignore[return-value]
    result = _COMPARE[op](lhs.data, y)
    recorder = sys.modules.get("autograd.compile")
    if recorder is not None:
        recorder.note_comparison(op, lhs, other, result)
    return result


class ValueGroup:
    """Many Values of one engine, updated in one engine call each: what an
    optimizer does to its parameters every step."""

    __slots__ = ("values", "_eng", "_ids")

    def __init__(self, values: Iterable[Value]) -> None:
        self.values = list(values)
        for v in self.values:
            if not isinstance(v, Value):
                raise TypeError(f"expected Values, not {type(v).__name__}")
        engines = {v._eng for v in self.values}
        if len(engines) > 1:
            raise ValueError("the Values belong to more than one backend")
        self._eng: Engine | None = engines.pop() if engines else None
        self._ids = self._eng.id_array([v._id for v in self.values]) if self._eng else None

    def descend(self, lr: float) -> None:
        """``v.data -= lr * v.grad`` for each (leaves only), rounded the same way."""
        if self._eng is not None:
            status = self._eng.descend(self._ids, float(lr))
            if status:
                raise_for_status(status)

    def zero_grads(self) -> None:
        """``v.grad = 0`` for each."""
        if self._eng is not None:
            status = self._eng.zero_grads(self._ids)
            if status:
                raise_for_status(status)


# --- the operators and methods, from the op table ---------------------------
def _install_ops() -> None:
    for op in ops.OPS:
        if op.method is None:
            continue
        if op.arity == 2:
            const, right = ops.BY_NAME[op.const], ops.BY_NAME[op.right]  # type: ignore[index]
            method = binary_op(op.code, const.code, op.doc)
            if op.method == "__pow__":
                method = _ternary_pow(method)
            setattr(Value, op.method, method)
            right_doc = f"{right.formula}, with a = self and c = other"
            setattr(Value, "__r" + op.method[2:], right_op(right.code, right_doc))
        else:
            setattr(Value, op.method, unary_op(op.code, op.doc))


def _ternary_pow(pow2: Callable[[Value, object], Value]) -> Callable[..., Value]:
    """Python passes pow(x, y, m) a third argument; a Value has no modulus."""

    def __pow__(self: Value, other: object, modulo: None = None) -> Value:  # noqa: N807
        if modulo is not None:
            return NotImplemented  # type: ignore[no-any-return]
        return pow2(self, other)

    __pow__.__doc__ = pow2.__doc__
    return __pow__


_install_ops()


def free_function(op: ops.Op) -> Callable[[Any], Any]:
    """The op as a function: Value in, Value out; number in, float out (the
    engine's rule on floats, with C's IEEE semantics: exp(1000) = inf,
    log(0) = -inf, rather than math's exceptions)."""
    method = getattr(Value, op.method)  # type: ignore[arg-type]

    def function(x: Any) -> Any:
        if isinstance(x, Value):
            return method(x)
        v = as_number(x)
        if v is None:
            raise TypeError(f"{op.name}() takes a Value or a real number, not {type(x).__name__}")
        return float_forward(op.code, v)

    function.__name__ = function.__qualname__ = op.name
    function.__doc__ = op.doc
    return function


# ag.exp, ag.log, ...: one per unary op that a Value reaches by a method
FREE_FUNCTIONS: dict[str, Callable[[Any], Any]] = {op.name: free_function(op) for op in ops.UNARY_METHODS}


def _redeliver_interrupts(hook: Callable[[Any], object]) -> Callable[[Any], object]:
    """sys.unraisablehook that gives a KeyboardInterrupt raised inside
    Value.__del__ (or another of autograd's finalizers, or the callback of the
    weak map that notes a recording's operands) back to the main thread.
    Python cannot propagate an exception out of __del__ or a weakref
    callback: it reports it as unraisable and drops it, and
    Ctrl-C pressed while a Value was being freed (the signal is handled at
    the finalizer's first instruction) would be lost while training goes on.
    Any other unraisable exception goes to the hook that was in place."""

    def unraisablehook(unraisable: Any) -> object:
        obj = unraisable.object
        if unraisable.exc_type is KeyboardInterrupt and (
                (getattr(obj, "__name__", "") == "__del__"
                 and getattr(obj, "__module__", "").startswith("autograd."))
                or obj in modes.own_callbacks):     # a WeakSet: False for what it cannot hold
            # from another thread: raised here, in the hook, it would be
            # dropped again; that thread runs once this one lets the GIL go
            _thread.start_new_thread(_thread.interrupt_main, ())
            return None
        return hook(unraisable)

    unraisablehook.wrapped = hook  # type: ignore[attr-defined]
    return unraisablehook


sys.unraisablehook = _redeliver_interrupts(sys.unraisablehook)
