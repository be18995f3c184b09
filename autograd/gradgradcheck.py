"""Numerical checking of second derivatives.

gradgradcheck(f, inputs) checks, for each input i, the function
g_i = df/dx_i built by gradients(..., create_graph=True): gradcheck compares
g_i's backward() (the derivative of the backward pass: d2f/dx_i dx_j) with
central differences of g_i's values.  So every diagnosis of gradcheck
(wrong sign, half, missing path, stale state) applies to second derivatives.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable

from .errors import GradcheckError
from .functional import gradients
from .gradcheck import GradcheckReport, gradcheck
from .value import Value


@dataclass
class GradgradcheckReport:
    """Truthy when every second derivative passes.  ``reports[i]`` is the
    gradcheck of df/dx_i: its row j checks d2f / dx_i dx_j."""

    reports: list[GradcheckReport]

    @property
    def passed(self) -> bool:
        return all(report.passed for report in self.reports)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def max_error(self) -> float:
        return max((report.max_error for report in self.reports), default=0.0)

    @property
    def causes(self) -> list[str]:
        """The gradcheck causes (keys of gradcheck.CAUSES) of the failed rows."""
        out: list[str] = []
        for report in self.reports:
            out += [cause for cause in report.causes if cause not in out]
        return out

    def __str__(self) -> str:
        parts = []
        for i, report in enumerate(self.reports):
            parts.append(f"second derivatives d/dx_j (df/dx_{i}), one row per input j:\n{report}")
        return "\n\n".join(parts)

    __repr__ = __str__


def first_derivative(f: Callable[..., Value], i: int) -> Callable[..., Value]:
    """x -> df/dx_i as a differentiable Value (create_graph)."""

    @functools.wraps(f)   # gradcheck then checks f's own signature
    def df_dxi(*xs: Value) -> Value:
        return gradients(f(*xs), [xs[i]], create_graph=True)[0]  # type: ignore[no-any-return]

    return df_dxi


def gradgradcheck(
    f: Callable[..., Value],
    inputs: Sequence[float],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = False,
) -> GradgradcheckReport:
    """Compare every second derivative of f at ``inputs``, computed by
    differentiating the backward pass, with central differences of the
    first derivatives.  Tolerances as in gradcheck.

    >>> import autograd as ag
    >>> bool(ag.gradgradcheck(lambda x, y: (x * y).sin() + x ** 3, [0.4, 1.1]))
    True
    """
    reports = [gradcheck(first_derivative(f, i), inputs, eps=eps, atol=atol, rtol=rtol)
               for i in range(len(inputs))]
    result = GradgradcheckReport(reports)
    if raise_exception and not result.passed:
        raise GradcheckError(str(result))
    return result
