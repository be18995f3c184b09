"""``python -m autograd check``: gradcheck every op on every backend."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Callable, NamedTuple

from .. import backend, ops
from ..gradcheck import gradcheck
from ..value import Value


class OpCase(NamedTuple):
    name: str
    f: Callable[..., Value]
    points: Sequence[tuple[float, ...]]     # away from kinks and poles


# Sample points by the op table's domains, away from kinks and poles.
POINTS: dict[str, list[float]] = {ops.REAL: [0.7, -1.3, 2.9], ops.POSITIVE: [0.4, 1.7, 5.3]}
PAIRS: dict[str, list[tuple[float, float]]] = {
    ops.REAL: [(0.3, -0.8), (1.7, 2.2)],
    ops.POSITIVE: [(1.3, 0.7), (0.6, -1.4), (2.2, 3.0)],   # a ** b: the base positive
}
CONSTANT = 2.5      # the number operand of the constant forms (x + 2.5, 2.5 ** x)


def _method_case(op: ops.Op) -> OpCase:
    method = op.method
    assert method is not None
    return OpCase(op.name, lambda x: getattr(x, method)(), [(p,) for p in POINTS[op.domain]])


def _binary_cases(op: ops.Op) -> list[OpCase]:
    """x <op> y, x <op> number and number <op> x, through the operators."""
    method = op.method
    assert method is not None and op.const is not None and op.right is not None
    right = "__r" + method[2:]
    const, rconst = ops.BY_NAME[op.const], ops.BY_NAME[op.right]
    symbol = op.formula.split()[1]     # "a + b" -> "+"
    return [
        OpCase(op.name, lambda x, y: getattr(x, method)(y), PAIRS[op.domain]),
        OpCase(f"{const.name} (x {symbol} {CONSTANT})", lambda x: getattr(x, method)(CONSTANT),
               [(p,) for p in POINTS[const.domain]]),
        OpCase(f"{rconst.name} ({CONSTANT} {symbol} x)", lambda x: getattr(x, right)(CONSTANT),
               [(p,) for p in POINTS[rconst.domain]]),
    ]


def op_cases() -> list[OpCase]:
    """One case per way a Value reaches each op of the table."""
    cases: list[OpCase] = []
    for op in ops.OPS:
        if op.method is None:
            continue        # the leaf, the constant forms (below), primitive (test_primitive)
        cases.extend(_binary_cases(op) if op.arity == 2 else [_method_case(op)])
    return cases


OP_CASES: list[OpCase] = op_cases() + [
    OpCase("pow -0.5", lambda x: x**-0.5, [(p,) for p in POINTS[ops.POSITIVE]]),
    OpCase("shared x * x", lambda x: x * x, [(p,) for p in POINTS[ops.REAL]]),
    OpCase("diamond", lambda x: (x + 1) * (x * 2), [(p,) for p in POINTS[ops.REAL]]),
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
