"""Anomaly mode: stop at the op whose rule first produced a nan.

    with ag.detect_anomaly():
        loss = model(x)
        loss.backward()        # FloatingPointError naming the op that made the nan

or ``ag.set_detect_anomaly(True)`` for the rest of the program.

Forward: an op whose value is nan although none of its inputs (nor its
constant) is nan raises at once; so do a leaf created with nan and ``.data``
set to nan.  Backward runs the engines' ``backward_checked``, which stops at the
first rule that produced nan from a gradient that was not nan.  Both messages
name the op and its inputs, and the line of the user's code that created the
node (recorded for nodes made while the mode is on).  No gradient changes when
backward raises.  Only nan is an anomaly; inf (log(0), 1/0) is a legitimate
IEEE value here.

Cost: none while the mode is off.  Turning it on swaps each engine's ``leaf``,
``apply``, ``set_value`` and ``backward`` for the checking versions below
(Value looks them up on its engine at every call); turning it off puts the
originals back.  While on, every op costs an extra value read and a walk up
the stack for its creation site.
"""

from __future__ import annotations

import os
import sys
import threading
from types import FrameType
from typing import Callable

from . import backend, errors, ops
from .engine import Engine

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

_lock = threading.Lock()
_enabled = False
_originals: dict[str, tuple[Callable, Callable, Callable, Callable, Callable]] = {}
# creation site of each node made while the mode is on, by engine name
_sites: dict[str, dict[int, str]] = {}


def _site() -> str:
    """'file:line in function' of the nearest caller outside autograd."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        frame = frame.f_back
    if frame is None:
        return "an unknown place"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


def _inputs(eng: Engine, op: int, a: int, b: int, c: float) -> str:
    arity = ops.OPS[op].arity
    parts = []
    if arity >= 1:
        parts.append(f"a={eng.value(a)!r}")
    if arity == 2:
        parts.append(f"b={eng.value(b)!r}")
    if op in ops.CONSTANT_OPS or op == ops.PRIMITIVE:
        parts.append(f"c={c!r}")
    return ", ".join(parts)


def _checking(eng: Engine) -> tuple[Callable, Callable, Callable, Callable, Callable]:
    """The checking leaf, apply, apply_detached, set_value and backward for eng."""
    leaf, apply, apply_detached, set_value, _ = _originals[eng.name]
    sites = _sites[eng.name]
    isnan = _isnan

    def checked_leaf(x: float) -> int:
        if isnan(x):
            raise FloatingPointError(f"autograd anomaly: a leaf created with the value nan, at {_site()}")
        node = leaf(x)
        if node >= 0:
            sites[node] = _site()
        return node

    def checking(apply: Callable[[int, int, int, float], int]) -> Callable[[int, int, int, float], int]:
        # the same check for recorded ops and for ops under no_grad
        def checked_apply(op: int, a: int, b: int, c: float) -> int:
            return check_forward(apply(op, a, b, c), op, a, b, c)

        return checked_apply

    def check_forward(node: int, op: int, a: int, b: int, c: float) -> int:
        if node < 0:
            return node
        site = sites[node] = _site()
        if isnan(eng.value(node)):
            arity = ops.OPS[op].arity
            message = None
            if op in ops.CONSTANT_OPS and isnan(c):
                # the user's number, like a nan leaf
                message = f"the constant operand of {ops.OPS[op].name!r} ({ops.OPS[op].formula}) is nan"
            elif not (isnan(eng.value(a)) or (arity == 2 and isnan(eng.value(b)))):
                # nan from inputs that are not: this rule made it (else it only passes it on)
                message = (
                    f"the forward rule of {ops.OPS[op].name!r} ({ops.OPS[op].formula}) "
                    f"produced nan from {_inputs(eng, op, a, b, c)}"
                )
            if message is not None:
                eng._release([node])
                raise FloatingPointError(f"autograd anomaly: {message}, at {site}")
        return node

    def checked_set_value(node: int, x: float) -> int:
        if isnan(x):
            raise FloatingPointError(f"autograd anomaly: .data set to nan, at {_site()}")
        return set_value(node, x)

    def checked_backward(root: int, seed: float) -> int:
        if isnan(seed):
            raise FloatingPointError(f"autograd anomaly: backward() seeded with nan, at {_site()}")
        status, node, which, g = eng.backward_checked(root, seed)
        if status != errors.ENAN:
            return status
        info = eng.node(node)
        created = sites.get(node, "before anomaly mode was turned on")
        inputs = _inputs(eng, info.op, info.a, info.b, info.c)
        raise FloatingPointError(
            f"autograd anomaly: the backward rule of {ops.OPS[info.op].name!r} "
            f"({ops.OPS[info.op].formula}, created at {created}) produced nan for its input "
            f"{'ab'[which]} from the gradient {g!r}; its inputs: {inputs}, its value: {info.value!r}. "
            "No gradient was changed."
        )

    return checked_leaf, checking(apply), checking(apply_detached), checked_set_value, checked_backward


def _isnan(x: float) -> bool:
    return x != x


def _install(eng: Engine, functions: tuple[Callable, Callable, Callable, Callable, Callable]) -> None:
    eng.leaf, eng.apply, eng.apply_detached, eng.set_value, eng.backward = functions


def set_detect_anomaly(mode: bool) -> None:
    """Turn anomaly mode on or off for every backend (it is process-wide)."""
    global _enabled
    mode = bool(mode)
    with _lock:
        if mode == _enabled:
            return
        for name, eng in backend.ENGINES.items():
            if mode:
                _originals[name] = (eng.leaf, eng.apply, eng.apply_detached, eng.set_value,
                                    eng.backward)
                _sites[name] = {}
                _install(eng, _checking(eng))
            else:
                _install(eng, _originals.pop(name))
                _sites.pop(name, None)
        _enabled = mode


def is_anomaly_enabled() -> bool:
    return _enabled


class detect_anomaly:  # noqa: N801  (a context manager named like a function, as in PyTorch)
    """``with detect_anomaly():`` turns anomaly mode on for the block and
    restores the previous setting after it."""

    def __init__(self) -> None:
        self._previous: list[bool] = []

    def __enter__(self) -> detect_anomaly:
        self._previous.append(_enabled)
        set_detect_anomaly(True)
        return self

    def __exit__(self, *exc: object) -> None:
        set_detect_anomaly(self._previous.pop())
