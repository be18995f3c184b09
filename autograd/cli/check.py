"""``python -m autograd check``: gradcheck every op on every backend."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Callable, NamedTuple

from .. import backend
from ..gradcheck import gradcheck
from ..value import Value


class OpCase(NamedTuple):
    name: str
    f: Callable[..., Value]
    points: Sequence[tuple[float, ...]]     # away from kinks and poles


UNARY_POINTS: list[tuple[float, ...]] = [(0.7,), (-1.3,), (2.9,)]
POSITIVE_POINTS: list[tuple[float, ...]] = [(0.4,), (1.7,), (5.3,)]

OP_CASES: list[OpCase] = [
    OpCase("add", lambda x, y: x + y, [(0.3, -0.8), (1.7, 2.2)]),
    OpCase("add number", lambda x: x + 2.5, UNARY_POINTS),
    OpCase("number + x", lambda x: 2.5 + x, UNARY_POINTS),
    OpCase("sub", lambda x, y: x - y, [(0.3, -0.8), (1.7, 2.2)]),
    OpCase("sub number", lambda x: x - 2.5, UNARY_POINTS),
    OpCase("number - x", lambda x: 2.5 - x, UNARY_POINTS),
    OpCase("mul", lambda x, y: x * y, [(0.3, -0.8), (1.7, 2.2)]),
    OpCase("mul number", lambda x: x * 2.5, UNARY_POINTS),
    OpCase("number * x", lambda x: 2.5 * x, UNARY_POINTS),
    OpCase("div", lambda x, y: x / y, [(0.3, -0.8), (1.7, 2.2)]),
    OpCase("div number", lambda x: x / 2.5, UNARY_POINTS),
    OpCase("number / x", lambda x: 2.5 / x, UNARY_POINTS),
    OpCase("pow", lambda x, y: x**y, [(1.3, 0.7), (0.6, -1.4), (2.2, 3.0)]),
    OpCase("pow number", lambda x: x**3, UNARY_POINTS),
    OpCase("pow -0.5", lambda x: x**-0.5, POSITIVE_POINTS),
    OpCase("number ** x", lambda x: 2**x, UNARY_POINTS),
    OpCase("neg", lambda x: -x, UNARY_POINTS),
    OpCase("exp", lambda x: x.exp(), UNARY_POINTS),
    OpCase("log", lambda x: x.log(), POSITIVE_POINTS),
    OpCase("sin", lambda x: x.sin(), UNARY_POINTS),
    OpCase("cos", lambda x: x.cos(), UNARY_POINTS),
    OpCase("tanh", lambda x: x.tanh(), UNARY_POINTS),
    OpCase("relu", lambda x: x.relu(), UNARY_POINTS),
    OpCase("sigmoid", lambda x: x.sigmoid(), UNARY_POINTS),
    OpCase("sqrt", lambda x: x.sqrt(), POSITIVE_POINTS),
    OpCase("abs", lambda x: x.abs(), UNARY_POINTS),
    OpCase("shared x * x", lambda x: x * x, UNARY_POINTS),
    OpCase("diamond", lambda x: (x + 1) * (x * 2), UNARY_POINTS),
    OpCase("composite", lambda x, y: x * y + x.sin() - 1 / y + 2**x, [(0.3, -0.8), (1.1, 2.4)]),
]


class CheckRow(NamedTuple):
    op: str
    backend: str
    max_error: float
    passed: bool


def run_check() -> list[CheckRow]:
    rows = []
    saved = backend.get_backend()
    try:
        for name in backend.available_backends():
            backend.set_backend(name)
            for case in OP_CASES:
                reports = [gradcheck(case.f, list(p)) for p in case.points]
                err = max(r.max_error for r in reports)
                rows.append(CheckRow(case.name, name, err, all(reports)))
    finally:
        backend.set_backend(saved)
    return rows


def main() -> int:
    print(f"default backend: {backend.DEFAULT_BACKEND} ({backend.DEFAULT_REASON})")
    if backend.C_ENGINE is None:
        print(f"C backend: not available ({backend.C_ERROR})")
    rows = run_check()
    print(f"\n| {'op':<14} | {'backend':<7} | {'max error':>9} | verdict |")
    print(f"|{'-' * 16}|{'-' * 9}|{'-' * 11}|---------|")
    for r in rows:
        err = f"{r.max_error:.1e}" if math.isfinite(r.max_error) else str(r.max_error)
        print(f"| {r.op:<14} | {r.backend:<7} | {err:>9} | {'ok' if r.passed else 'FAILED':<7} |")
    failed = [r for r in rows if not r.passed]
    print(f"\n{len(rows) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0
