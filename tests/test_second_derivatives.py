"""Second derivatives by differentiating the backward pass: closed forms of
every op, gradgradcheck, grad of grad on composites, masks, nesting."""

from __future__ import annotations

import math
from math import cos, exp, log, sin, tanh

import pytest
from graphs import bits

import autograd as ag
from autograd.cli.check import OP_CASES

LN2 = log(2.0)


def sig(x: float) -> float:
    return 1.0 / (1.0 + exp(-x))


# (name, f, point, closed-form Hessian at the point)
HESSIANS = [
    ("add", lambda x, y: x + y, (0.3, -0.8), lambda x, y: [[0, 0], [0, 0]]),
    ("sub", lambda x, y: x - y, (0.3, -0.8), lambda x, y: [[0, 0], [0, 0]]),
    ("mul", lambda x, y: x * y, (0.3, -0.8), lambda x, y: [[0, 1], [1, 0]]),
    ("div", lambda x, y: x / y, (0.3, -0.8),
     lambda x, y: [[0, -1 / y**2], [-1 / y**2, 2 * x / y**3]]),
    ("pow", lambda x, y: x**y, (1.3, 0.7),
     lambda x, y: [[y * (y - 1) * x ** (y - 2), x ** (y - 1) * (1 + y * log(x))],
                   [x ** (y - 1) * (1 + y * log(x)), x**y * log(x) ** 2]]),
    ("addc", lambda x: x + 2.5, (0.7,), lambda x: [[0]]),
    ("subc", lambda x: x - 2.5, (0.7,), lambda x: [[0]]),
    ("rsubc", lambda x: 2.5 - x, (0.7,), lambda x: [[0]]),
    ("mulc", lambda x: x * 2.5, (0.7,), lambda x: [[0]]),
    ("divc", lambda x: x / 2.5, (0.7,), lambda x: [[0]]),
    ("rdivc", lambda x: 2.5 / x, (0.7,), lambda x: [[5.0 / x**3]]),
    ("powc", lambda x: x**3, (0.7,), lambda x: [[6 * x]]),
    ("powc -0.5", lambda x: x**-0.5, (1.7,), lambda x: [[0.75 * x**-2.5]]),
    ("rpowc", lambda x: 2**x, (0.7,), lambda x: [[2**x * LN2 * LN2]]),
    ("neg", lambda x: -x, (0.7,), lambda x: [[0]]),
    ("exp", lambda x: x.exp(), (0.7,), lambda x: [[exp(x)]]),
    ("log", lambda x: x.log(), (1.7,), lambda x: [[-1 / x**2]]),
    ("sin", lambda x: x.sin(), (0.7,), lambda x: [[-sin(x)]]),
    ("cos", lambda x: x.cos(), (0.7,), lambda x: [[-cos(x)]]),
    ("tanh", lambda x: x.tanh(), (0.7,), lambda x: [[-2 * tanh(x) * (1 - tanh(x) ** 2)]]),
    ("relu", lambda x: x.relu(), (0.7,), lambda x: [[0]]),
    ("relu <0", lambda x: x.relu(), (-0.7,), lambda x: [[0]]),
    ("sigmoid", lambda x: x.sigmoid(), (0.7,),
     lambda x: [[sig(x) * (1 - sig(x)) * (1 - 2 * sig(x))]]),
    ("sqrt", lambda x: x.sqrt(), (1.7,), lambda x: [[-0.25 * x**-1.5]]),
    ("abs", lambda x: x.abs(), (-0.7,), lambda x: [[0]]),
    ("x * x", lambda x: x * x, (0.7,), lambda x: [[2]]),
    ("composite", lambda x, y: x * y.sin() + y * y * x.log(), (1.3, 0.4),
     lambda x, y: [[-y * y / x**2, cos(y) + 2 * y / x], [cos(y) + 2 * y / x, -x * sin(y) + 2 * log(x)]]),
]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-14)


@pytest.mark.parametrize(("name", "f", "point", "closed"), HESSIANS, ids=[h[0] for h in HESSIANS])
def test_hessian_of_every_op_matches_its_closed_form(backend: str, name, f, point, closed) -> None:  # type: ignore[no-untyped-def]
    got = ag.hessian(f)(*point)
    want = closed(*point)
    assert all(_close(g, w) for grow, wrow in zip(got, want) for g, w in zip(grow, wrow)), (got, want)
    if len(point) == 1:
        assert bits(ag.grad(ag.grad(f))(*point)) == bits(got[0][0])


@pytest.mark.parametrize("case", OP_CASES, ids=[c.name for c in OP_CASES])
def test_gradgradcheck_passes_for_every_op(backend: str, case) -> None:  # type: ignore[no-untyped-def]
    for point in case.points:
        report = ag.gradgradcheck(case.f, list(point))
        assert report, str(report)


def test_grad_of_grad_on_composites(backend: str) -> None:
    f = lambda x: x.sin() * x.exp()
    assert _close(ag.grad(ag.grad(f))(0.4), 2 * cos(0.4) * exp(0.4))
    g = lambda x: x**x                                  # (x^x)'' = x^x (ln x + 1)^2 + x^(x-1)
    x = 1.7
    assert _close(ag.grad(ag.grad(g))(x), x**x * (log(x) + 1) ** 2 + x ** (x - 1))
    h = lambda x: (x * 2.0).exp()                       # third derivative: 8 e^(2x)
    assert _close(ag.grad(ag.grad(ag.grad(h)))(0.3), 8 * exp(0.6))
    t = lambda x: x.tanh()                              # tanh''' = -2 (1 - t^2)(1 - 3 t^2)
    tt = tanh(0.3)
    assert _close(ag.grad(ag.grad(ag.grad(t)))(0.3), -2 * (1 - tt * tt) * (1 - 3 * tt * tt))


def test_mixed_partials_with_argnums(backend: str) -> None:
    f = lambda x, y: x * x * y.exp()
    d_dy_d_dx = ag.grad(ag.grad(f, argnums=0), argnums=1)(1.5, 0.2)   # 2x e^y
    assert _close(d_dy_d_dx, 3.0 * exp(0.2))
    assert _close(ag.hessian(f)(1.5, 0.2)[0][1], 3.0 * exp(0.2))


def test_no_perturbation_confusion(backend: str) -> None:
    # d/dx [ d/dy (x * y) at y = x ] = d/dx x = 1 (2 if the two derivatives were confused)
    assert ag.grad(lambda x: ag.grad(lambda y: x * y)(x))(3.0) == 1.0
    # d/dx [ x * d/dy (x + y) at y = 1 ] = 1 (Siskind and Pearlmutter)
    assert ag.grad(lambda x: x * ag.grad(lambda y: x + y)(1.0))(1.0) == 1.0


def test_masks_are_piecewise_constant(backend: str) -> None:
    # kinks: the derivative is a mask, its derivative 0 (also at the kink itself)
    assert ag.hessian(lambda x: x.relu() * 3.0)(0.0) == [[0.0]]
    assert ag.hessian(lambda x: x.abs())(0.0) == [[0.0]]
    assert ag.grad(ag.grad(lambda x: x.relu() * x))(2.0) == 2.0
    assert ag.grad(ag.grad(lambda x: x.relu() * x))(-2.0) == 0.0
    # pow conventions, as backward(): d/dx = 0 where y == 0, d/dy = 0 where x == 0 and y >= 0.
    # The masked route is a constant 0, so at y == 0 exactly the mixed partial along the
    # base route is 0 while the exponent route gives 1/x (as PyTorch's masked_fill does).
    assert ag.hessian(lambda x, y: x**y)(2.0, 0.0) == [[0.0, 0.0], [0.5, LN2 * LN2]]
    assert ag.hessian(lambda x, y: x**y)(0.0, 2.0) == [[2.0, 0.0], [0.0, 0.0]]


def test_second_derivatives_bitwise_equal_across_backends(both_backends: list[str]) -> None:
    results = []
    for name in both_backends:
        ag.set_backend(name)
        row = []
        for _, f, point, _ in HESSIANS:
            row.append([[bits(v) for v in r] for r in ag.hessian(f)(*point)])
        results.append(row)
    assert results[0] == results[1]


def test_gradgradcheck_catches_a_backward_rule_that_is_not_differentiable(backend: str) -> None:
    from autograd import ops
    from autograd.gradcheck import ZERO

    # tanh's rule with its output detached: first derivatives stay right, the
    # derivative of the rule loses its path through out
    saved = ops.OPS
    broken = ops.OPS[ops.TANH]._replace(
        vjp=lambda n, g: (g * (1.0 - n.out.detach() * n.out.detach()), 0.0))
    ops.OPS = saved[: ops.TANH] + (broken,) + saved[ops.TANH + 1:]
    try:
        assert ag.gradcheck(lambda x: x.tanh(), [0.6])
        report = ag.gradgradcheck(lambda x: x.tanh(), [0.6])
        assert not report and report.causes == [ZERO]
        with pytest.raises(ag.GradcheckError, match="d/dx_j \\(df/dx_0\\)"):
            ag.gradgradcheck(lambda x: x.tanh(), [0.6], raise_exception=True)
    finally:
        ops.OPS = saved


def test_gradgradcheck_report(backend: str) -> None:
    report = ag.gradgradcheck(lambda x, y: x * y.exp(), [0.5, 0.25])
    assert report.passed and len(report.reports) == 2
    assert all(len(r.rows) == 2 for r in report.reports)
    assert report.max_error < 1e-6
    assert "df/dx_1" in str(report)


def test_inner_grad_called_with_numbers_or_closing_over_a_value(backend: str) -> None:
    # d/dx [ d/dy (x * y) at y = 1 ] = 1: the inner grad gets only numbers but
    # closes over the outer x, so it must return a differentiable Value
    assert ag.grad(lambda x: ag.grad(lambda y: x * y)(1.0))(3.0) == 1.0
    assert ag.grad(lambda x: ag.hessian(lambda y: x * y * y)(1.0)[0][0])(3.0) == 2.0
    # outside any grad, numbers in give floats out
    assert isinstance(ag.grad(lambda y: y * y)(1.0), float)
