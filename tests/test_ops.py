"""Each op: values and gradients against closed forms, gradcheck, conventions."""

from __future__ import annotations

import math

import pytest

import autograd as ag
from autograd.cli.check import OP_CASES

inf, nan = math.inf, math.nan

# (method or expression, d/dx as a closed form, points)
UNARY = [
    ("exp", lambda x: x.exp(), math.exp, math.exp, [-1.5, 0.0, 2.0]),
    ("log", lambda x: x.log(), math.log, lambda x: 1 / x, [0.5, 1.0, 3.0]),
    ("sin", lambda x: x.sin(), math.sin, math.cos, [-1.0, 0.0, 2.5]),
    ("cos", lambda x: x.cos(), math.cos, lambda x: -math.sin(x), [-1.0, 0.0, 2.5]),
    ("tanh", lambda x: x.tanh(), math.tanh, lambda x: 1 - math.tanh(x) ** 2, [-2.0, 0.0, 0.7]),
    ("relu", lambda x: x.relu(), lambda x: max(x, 0.0), lambda x: float(x > 0), [-2.0, 0.5, 3.0]),
    ("sigmoid", lambda x: x.sigmoid(), lambda x: 1 / (1 + math.exp(-x)),
     lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2, [-3.0, 0.0, 1.5]),
    ("sqrt", lambda x: x.sqrt(), math.sqrt, lambda x: 0.5 / math.sqrt(x), [0.25, 1.0, 9.0]),
    ("abs", lambda x: x.abs(), abs, lambda x: math.copysign(1.0, x), [-2.0, 0.5, 3.0]),
    ("neg", lambda x: -x, lambda x: -x, lambda x: -1.0, [-2.0, 0.5]),
    ("x ** 3", lambda x: x**3, lambda x: x**3, lambda x: 3 * x**2, [-2.0, 0.5, 1.5]),
    ("x ** -0.5", lambda x: x**-0.5, lambda x: x**-0.5, lambda x: -0.5 * x**-1.5, [0.25, 4.0]),
    ("2 ** x", lambda x: 2**x, lambda x: 2.0**x, lambda x: 2.0**x * math.log(2), [-1.0, 0.0, 3.0]),
    ("x + 2", lambda x: x + 2, lambda x: x + 2, lambda x: 1.0, [-1.0, 0.5]),
    ("2 + x", lambda x: 2 + x, lambda x: 2 + x, lambda x: 1.0, [-1.0, 0.5]),
    ("x - 2", lambda x: x - 2, lambda x: x - 2, lambda x: 1.0, [-1.0, 0.5]),
    ("2 - x", lambda x: 2 - x, lambda x: 2 - x, lambda x: -1.0, [-1.0, 0.5]),
    ("x * 3", lambda x: x * 3, lambda x: x * 3, lambda x: 3.0, [-1.0, 0.5]),
    ("3 * x", lambda x: 3 * x, lambda x: 3 * x, lambda x: 3.0, [-1.0, 0.5]),
    ("x / 4", lambda x: x / 4, lambda x: x / 4, lambda x: 0.25, [-1.0, 0.5]),
    ("4 / x", lambda x: 4 / x, lambda x: 4 / x, lambda x: -4 / x**2, [-1.0, 0.5, 3.0]),
]


@pytest.mark.parametrize("name,f,value,deriv,points", UNARY, ids=[u[0] for u in UNARY])
def test_unary_value_and_gradient(backend, name, f, value, deriv, points):
    for p in points:
        x = ag.Value(p)
        y = f(x)
        y.backward()
        assert y.data == pytest.approx(value(p), rel=1e-15, abs=1e-300)
        assert x.grad == pytest.approx(deriv(p), rel=1e-12), (name, p)


BINARY = [
    ("add", lambda x, y: x + y, lambda a, b: (1.0, 1.0)),
    ("sub", lambda x, y: x - y, lambda a, b: (1.0, -1.0)),
    ("mul", lambda x, y: x * y, lambda a, b: (b, a)),
    ("div", lambda x, y: x / y, lambda a, b: (1 / b, -a / b**2)),
    ("pow", lambda x, y: x**y, lambda a, b: (b * a ** (b - 1), a**b * math.log(a))),
]


@pytest.mark.parametrize("name,f,derivs", BINARY, ids=[b[0] for b in BINARY])
def test_binary_value_and_gradients(backend, name, f, derivs):
    for a, b in [(0.3, 1.7), (2.5, -0.4), (1.2, 3.0)]:
        x, y = ag.Value(a), ag.Value(b)
        z = f(x, y)
        z.backward()
        assert z.data == f(a, b) if name != "pow" else z.data == math.pow(a, b)
        da, db = derivs(a, b)
        assert x.grad == pytest.approx(da, rel=1e-12)
        assert y.grad == pytest.approx(db, rel=1e-12)


@pytest.mark.parametrize("case", OP_CASES, ids=[c.name for c in OP_CASES])
def test_gradcheck_every_op(backend, case):
    for point in case.points:
        report = ag.gradcheck(case.f, list(point))
        assert report, str(report)


def grad_of(f, *points):
    xs = [ag.Value(p) for p in points]
    f(*xs).backward()
    return [x.grad for x in xs]


def test_kink_conventions(backend):
    assert grad_of(lambda x: x.relu(), 0.0) == [0.0]
    assert grad_of(lambda x: x.abs(), 0.0) == [0.0]
    assert grad_of(lambda x: x.abs(), -0.0) == [0.0]
    assert grad_of(lambda x: x.sqrt(), 0.0) == [inf]
    # d(x**y)/dy = 0 where x == 0 and y >= 0; d(x**y)/dx = 0 where y == 0
    assert grad_of(lambda x, y: x**y, 0.0, 2.0) == [0.0, 0.0]
    assert grad_of(lambda x, y: x**y, 0.0, 0.0) == [0.0, 0.0]
    assert grad_of(lambda x, y: x**y, 3.0, 0.0) == [0.0, math.log(3.0)]
    assert grad_of(lambda x: 0.0**x, 1.5) == [0.0]
    assert grad_of(lambda x: x**0, 0.0) == [0.0]
    assert grad_of(lambda x: x**0.0, -2.0) == [0.0]


def test_rules_apply_even_where_adjoint_is_zero(backend):
    # 0 * log(x) at x = 0: the log rule sends 0 / 0 = nan, as in PyTorch
    (g,) = grad_of(lambda x: 0 * x.log(), 0.0)
    assert math.isnan(g)
    (g,) = grad_of(lambda x: x.sqrt() * 0, 0.0)
    assert math.isnan(g)


def test_ieee_results_not_exceptions(backend):
    assert ag.Value(0.0).log().data == -inf
    assert math.isnan(ag.Value(-1.0).log().data)
    assert ag.Value(1000.0).exp().data == inf
    assert (1 / ag.Value(0.0)).data == inf
    assert (1 / ag.Value(-0.0)).data == -inf
    assert math.isnan((0 / ag.Value(0.0)).data)
    assert (ag.Value(1.0) / 0).data == inf
    assert math.isnan(ag.Value(-1.0).sqrt().data)
    assert math.isnan(ag.Value(inf).sin().data)
    assert math.isnan(ag.Value(inf).cos().data)
    assert (ag.Value(0.0) ** -1).data == inf
    assert (ag.Value(-0.0) ** -1).data == -inf
    assert (ag.Value(-0.0) ** -2).data == inf
    assert math.isnan((ag.Value(-8.0) ** (1 / 3)).data)
    assert (ag.Value(10.0) ** 400).data == inf
    assert (ag.Value(-10.0) ** 401).data == -inf
    assert ag.Value(-1000.0).sigmoid().data == 0.0
    assert ag.Value(1000.0).sigmoid().data == 1.0
    assert math.isnan(ag.Value(nan).relu().data)


def test_constant_exponent_has_no_log_term(backend):
    # x ** 3 at x < 0: a log(x) term would make the gradient nan
    x = ag.Value(-2.0)
    y = x**3
    y.backward()
    assert x.grad == 12.0
    assert y.constant == 3.0 and y.op == "powc"
    assert len(y.inputs) == 1


def test_right_hand_ops_signs(backend):
    assert grad_of(lambda x: 5 - x, 1.0) == [-1.0]
    assert grad_of(lambda x: 8 / x, 2.0) == [-2.0]
    assert grad_of(lambda x: 2**x, 3.0) == [8 * math.log(2)]
    assert (5 - ag.Value(1.0)).data == 4.0
    assert (8 / ag.Value(2.0)).data == 4.0
    assert (2 ** ag.Value(3.0)).data == 8.0


def test_functions_value_in_value_out_number_in_float_out(backend):
    x = ag.Value(0.5)
    for name in ["exp", "log", "sin", "cos", "tanh", "relu", "sigmoid", "sqrt", "abs"]:
        fn = getattr(ag, name)
        out = fn(x)
        assert isinstance(out, ag.Value)
        assert out.data == getattr(x, name)().data
        number = fn(0.5)
        assert type(number) is float and number == out.data
    assert ag.exp(1000) == inf and ag.log(0) == -inf and math.isnan(ag.sqrt(-1))
    with pytest.raises(TypeError):
        ag.exp("1")
