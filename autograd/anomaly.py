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

Cost: none while the mode is off.  Turning it on installs a ``Checker`` as
the anomaly hook of autograd/modes.py, which the Value layer consults on its
slow path (no engine function is replaced); while on, every op costs an
extra value read and a walk up the stack for its creation site.
"""

from __future__ import annotations

import os
import sys
import threading
from types import FrameType
from typing import Any

from . import errors, modes, ops
from .engine import Engine

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

_lock = threading.Lock()
_enabled = False
# creation site of each node made while the mode is on, by engine name
_sites: dict[str, dict[int, str]] = {}


def _in_package(filename: str) -> bool:
    folder = os.path.dirname(os.path.abspath(filename))
    return folder == _PACKAGE_DIR or folder.startswith(_PACKAGE_DIR + os.sep)


def _site() -> str:
    """'file:line in function' of the nearest caller outside autograd."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and _in_package(frame.f_code.co_filename):
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


def _isnan(x: float) -> bool:
    return x != x


class Checker:
    """The checks of anomaly mode, called by modes.py's hooks."""

    def leaf(self, eng: Engine, x: float) -> int:
        if _isnan(x):
            raise FloatingPointError(f"autograd anomaly: a leaf created with the value nan, at {_site()}")
        node = eng.leaf(x)
        if node >= 0:
            _sites.setdefault(eng.name, {})[node] = _site()
        return node

    def forward(self, eng: Engine, node: int, op: int, a: int, b: int, c: float) -> int:
        """Check the node an op just made (recorded or under no_grad)."""
        if node < 0:
            return node
        site = _sites.setdefault(eng.name, {})[node] = _site()
        if _isnan(eng.value(node)):
            info = ops.OPS[op]
            message = None
            if op in ops.CONSTANT_OPS and _isnan(c):
                # the user's number, like a nan leaf
                message = f"the constant operand of {info.name!r} ({info.formula}) is nan"
            elif not (_isnan(eng.value(a)) or (info.arity == 2 and _isnan(eng.value(b)))):
                # nan from inputs that are not: this rule made it (else it only passes it on)
                message = (f"the forward rule of {info.name!r} ({info.formula}) "
                           f"produced nan from {_inputs(eng, op, a, b, c)}")
            if message is not None:
                eng.release([node])
                raise FloatingPointError(f"autograd anomaly: {message}, at {site}")
        return node

    def set_value(self, x: float) -> None:
        if _isnan(x):
            raise FloatingPointError(f"autograd anomaly: .data set to nan, at {_site()}")

    def backward(self, eng: Engine, root: int, seed: float) -> int:
        if _isnan(seed):
            raise FloatingPointError(f"autograd anomaly: backward() seeded with nan, at {_site()}")
        status, node, which, g = eng.backward_checked(root, seed)
        if status != errors.ENAN:
            return status
        info = eng.node(node)
        op = ops.OPS[info.op]
        created = _sites.get(eng.name, {}).get(node, "before anomaly mode was turned on")
        inputs = _inputs(eng, info.op, info.a, info.b, info.c)
        raise FloatingPointError(
            f"autograd anomaly: the backward rule of {op.name!r} "
            f"({op.formula}, created at {created}) produced nan for its input "
            f"{'ab'[which]} from the gradient {g!r}; its inputs: {inputs}, its value: {info.value!r}. "
            "No gradient was changed."
        )


def set_detect_anomaly(mode: bool) -> None:
    """Turn anomaly mode on or off for every backend (it is process-wide)."""
    global _enabled
    mode = bool(mode)
    with _lock:
        if mode == _enabled:
            return
        _sites.clear()
        modes.set_anomaly(Checker() if mode else None)
        _enabled = mode


def is_anomaly_enabled() -> bool:
    return _enabled


def creation_site(v: Any) -> str | None:
    """Where the user's code created v, if anomaly mode was on then."""
    return _sites.get(v._eng.name, {}).get(v._id)


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
