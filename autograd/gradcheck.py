"""Numerical gradient checking, with a diagnosis of why a check failed.

The analytic gradient comes from backward(); the numeric one from central
differences, (f(x + h) - f(x - h)) / ((x + h) - (x - h)), dividing by the step
actually represented.  The error of that estimate is about h**2 |f'''| / 6 +
eps_machine |f| / h, smallest near h = 1e-6 relative to |x|.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable

from . import backend
from .errors import GradcheckError
from .value import Value, as_number

HALF = "half"
SIGN = "sign"
ZERO = "zero"
STALE = "stale"
DOUBLE = "double"
NONFINITE = "nonfinite"
WRONG = "wrong"

CAUSES = {
    HALF: "analytic is about half the numeric gradient: missing accumulation. A "
    "backward rule assigns (=) where it must add (+=), so of the paths through a "
    "node used twice only one counts.",
    SIGN: "analytic is about minus the numeric gradient: wrong sign. Check the "
    "operand order of a right-hand op (__rsub__, __rtruediv__, __rpow__).",
    ZERO: "analytic is 0 but the numeric gradient is not: a broken gradient path. "
    "An op without a backward rule, an output that was never seeded, or .data "
    "used inside the graph (which cuts it).",
    STALE: "the gradient changed between two identical runs: stale gradients or "
    "traversal state leak from one backward into the next.",
    DOUBLE: "analytic is about twice the numeric gradient: a contribution is "
    "counted twice.",
    NONFINITE: "analytic or numeric is not finite: f is not differentiable at this "
    "point (a pole or a kink); check at another point.",
    WRONG: "analytic and numeric disagree: a local derivative is wrong.",
}

NOISE = 1e-7  # mismatches at or below this are floating-point noise


@dataclass
class GradcheckRow:
    index: int
    input: float
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    passed: bool
    cause: str | None = None    # a key of CAUSES, for a failed row


@dataclass
class GradcheckReport:
    """Truthy when every input passes.  str() gives a table and a diagnosis."""

    rows: list[GradcheckRow]
    backend: str
    atol: float
    rtol: float
    causes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def max_error(self) -> float:
        return max((row.abs_error for row in self.rows), default=0.0)

    def diagnosis(self) -> str:
        if self.passed:
            noisy = any(0.0 < row.abs_error <= NOISE for row in self.rows)
            return "passed" + (" (mismatches at 1e-7 and below are floating-point noise)" if noisy else "")
        lines = ["FAILED:"]
        for cause in self.causes:
            bad = [str(row.index) for row in self.rows if row.cause == cause]
            lines.append(f"  input {', '.join(bad)}: {CAUSES[cause]}")
        return "\n".join(lines)

    def __str__(self) -> str:
        head = f"gradcheck ({self.backend} backend, atol={self.atol:g}, rtol={self.rtol:g})"
        cols = (
            f"{'input':>5} {'x':>12} {'analytic':>14} {'numeric':>14} "
            f"{'abs err':>10} {'rel err':>10}  verdict"
        )
        lines = [head, cols]
        for r in self.rows:
            verdict = "ok" if r.passed else f"FAIL ({r.cause})"
            lines.append(
                f"{r.index:>5} {r.input:>12.6g} {r.analytic:>14.8g} {r.numeric:>14.8g} "
                f"{r.abs_error:>10.2e} {r.rel_error:>10.2e}  {verdict}"
            )
        lines.append(self.diagnosis())
        return "\n".join(lines)

    __repr__ = __str__


def _call(f: Callable[..., Value], xs: Sequence[Value]) -> Value:
    out = f(*xs)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: f must return a Value, not {type(out).__name__}")
    return out


def _analytic(f: Callable[..., Value], inputs: list[float]) -> tuple[list[float], list[float]]:
    """Gradients after one backward, and after a second on the same graph."""
    xs = [Value(x) for x in inputs]
    out = _call(f, xs)
    out.backward()
    once = [x.grad for x in xs]
    out.backward()
    return once, [x.grad for x in xs]


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _diagnose(analytic: float, numeric: float, tol: float) -> str:
    if not (math.isfinite(analytic) and math.isfinite(numeric)):
        return NONFINITE
    if analytic == 0.0 and numeric != 0.0:
        return ZERO
    if abs(analytic + numeric) <= tol:
        return SIGN
    if abs(analytic - numeric / 2) <= tol:
        return HALF
    if abs(analytic - 2 * numeric) <= tol:
        return DOUBLE
    return WRONG


def gradcheck(
    f: Callable[..., Value],
    inputs: Sequence[float],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = False,
) -> GradcheckReport:
    """Compare backward()'s gradient of f at ``inputs`` with central differences.

    f takes one Value per input and returns a Value.  An input passes where
    |analytic - numeric| <= atol + rtol * |numeric|.  backward() is also run on
    a second, identical graph and a second time on the first: a gradient that
    changes between runs, or does not exactly double, fails as stale state.
    """
    if not callable(f):
        raise TypeError(f"gradcheck: f must be callable, not {type(f).__name__}")
    points: list[float] = []
    for x in inputs:
        v = as_number(x)
        if v is None:
            raise TypeError(f"gradcheck: inputs must be real numbers, not {type(x).__name__}")
        points.append(v)
    try:
        inspect.signature(f).bind(*points)
    except TypeError as exc:
        raise TypeError(f"gradcheck: f cannot take {len(points)} inputs: {exc}") from None
    except ValueError:
        pass  # no signature to check (some builtins)

    first, twice = _analytic(f, points)
    second, _ = _analytic(f, points)

    rows: list[GradcheckRow] = []
    causes: list[str] = []
    for i, x in enumerate(points):
        h = eps * max(1.0, abs(x))
        up, down = list(points), list(points)
        up[i], down[i] = x + h, x - h
        f_up = _call(f, [Value(v) for v in up]).data
        f_down = _call(f, [Value(v) for v in down]).data
        numeric = (f_up - f_down) / (up[i] - down[i])
        analytic = first[i]
        abs_error = abs(analytic - numeric)
        rel_error = abs_error / abs(numeric) if numeric != 0.0 else abs_error
        tol = atol + rtol * abs(numeric)
        stale = not _same(second[i], analytic) or not _same(twice[i], 2 * analytic)
        passed = abs_error <= tol and not stale
        cause = None
        if not passed:
            cause = STALE if stale else _diagnose(analytic, numeric, tol)
            if cause not in causes:
                causes.append(cause)
        rows.append(GradcheckRow(i, x, analytic, numeric, abs_error, rel_error, passed, cause))

    report = GradcheckReport(rows, backend.get_backend(), atol, rtol, causes)
    if raise_exception and not report.passed:
        raise GradcheckError(str(report))
    return report
