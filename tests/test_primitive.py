"""ag.primitive: user-defined differentiable functions, checked by gradcheck."""

from __future__ import annotations

import math

import pytest
from graphs import bits

import autograd as ag
from autograd.gradcheck import CAUSES, DOUBLE, HALF, SIGN, WRONG, ZERO

softplus = ag.primitive(
    lambda x: math.log1p(math.exp(x)),
    lambda x: 1.0 / (1.0 + math.exp(-x)),             # d softplus = sigmoid
)
hypot = ag.primitive(math.hypot, lambda x, y: x / math.hypot(x, y), lambda x, y: y / math.hypot(x, y))


def test_value_and_backward(backend: str) -> None:
    x = ag.Value(0.3)
    y = softplus(x)
    assert y.data == math.log1p(math.exp(0.3))
    y.backward()
    assert x.grad == 1.0 / (1.0 + math.exp(-0.3))


def test_several_inputs_in_a_larger_graph(backend: str) -> None:
    x, y = ag.Value(3.0), ag.Value(4.0)
    out = hypot(x, y) * x
    out.backward()
    # d/dx (x h) = h + x * x / h,  d/dy = x * y / h
    assert math.isclose(x.grad, 5.0 + 9.0 / 5.0, rel_tol=1e-15)
    assert math.isclose(y.grad, 12.0 / 5.0, rel_tol=1e-15)
    assert ag.grad(lambda a, b: hypot(a, b) * a, argnums=(0, 1))(3.0, 4.0) == (x.grad, y.grad)


def test_graph_shape(backend: str) -> None:
    x, y = ag.Value(3.0), ag.Value(4.0)
    h = hypot(x, y)
    # a chain: the last node takes y and the node for x, which takes x and the base leaf
    assert h.op == "primitive"
    last_input, previous = h.inputs
    assert last_input.data == 4.0 and previous.op == "primitive"
    first_input, base = previous.inputs
    assert first_input.data == 3.0 and base.op == "leaf" and base.data == 5.0
    assert previous.constant is None


def test_number_inputs(backend: str) -> None:
    assert hypot(3.0, 4.0) == 5.0                    # numbers only: a float
    x = ag.Value(3.0)
    h = hypot(x, 4)                                  # a number input is a constant
    h.backward()
    assert h.data == 5.0 and x.grad == 0.6


def test_same_value_twice(backend: str) -> None:
    x = ag.Value(3.0)
    hypot(x, x).backward()                           # d hypot(x, x) / dx = sqrt(2)
    assert math.isclose(x.grad, math.sqrt(2.0), rel_tol=1e-15)


def test_passes_gradcheck(backend: str) -> None:
    assert ag.gradcheck(softplus, [0.7])
    assert ag.gradcheck(lambda x, y: hypot(x, y) * x.sin(), [1.3, -0.4])


def _report_for(derivative):  # type: ignore[no-untyped-def]
    square = ag.primitive(lambda x: x * x, derivative)
    report = ag.gradcheck(lambda x: square(x) + x, [1.5])
    assert not report.passed
    return report


@pytest.mark.parametrize(
    ("derivative", "cause"),
    [
        (lambda x: -2.0 * x - 2.0, SIGN),     # d(x*x + x) = 2x + 1 -> analytic -(2x + 1)
        (lambda x: x - 0.5, HALF),            # analytic (2x + 1) / 2
        (lambda x: 4.0 * x + 1.0, DOUBLE),    # analytic 2 (2x + 1)
        (lambda x: -1.0, ZERO),               # analytic 0
        (lambda x: math.cos(x), WRONG),       # just wrong
    ],
    ids=["sign", "half", "double", "zero", "wrong"],
)
def test_wrong_derivative_is_caught_and_diagnosed(backend: str, derivative, cause: str) -> None:  # type: ignore[no-untyped-def]
    report = _report_for(derivative)
    assert report.causes == [cause]
    assert CAUSES[cause] in str(report)
    with pytest.raises(ag.GradcheckError, match="FAILED"):
        ag.gradcheck(lambda x: ag.primitive(lambda v: v * v, derivative)(x) + x, [1.5],
                     raise_exception=True)


def test_second_derivative_raises_a_clear_error(backend: str) -> None:
    with pytest.raises(ag.SecondDerivativeError, match="primitive"):
        ag.grad(ag.grad(softplus))(0.5)
    with pytest.raises(ag.SecondDerivativeError):
        ag.hessian(hypot)(3.0, 4.0)
    x = ag.Value(0.5)
    with pytest.raises(ag.SecondDerivativeError):
        ag.gradients(softplus(x) * x, [x], create_graph=True)
    with pytest.raises(ag.SecondDerivativeError):
        ag.gradgradcheck(softplus, [0.5])
    # first derivatives still work everywhere
    assert ag.gradients(softplus(x), [x]) == [ag.grad(softplus)(0.5)]


def test_second_derivatives_that_need_only_the_first_derivative_work(backend: str) -> None:
    f = lambda x, y: x * softplus(y) + x * x
    # d/dy (df/dx) = d/dy (softplus(y) + 2x) = sigmoid(y): the primitive's own derivative
    assert ag.grad(ag.grad(f, argnums=0), argnums=1)(1.5, 0.3) == 1.0 / (1.0 + math.exp(-0.3))
    # d2f/dx2 does not pass through the primitive's derivative
    assert ag.grad(ag.grad(f))(1.5, 0.3) == 2.0
    with pytest.raises(ag.SecondDerivativeError):
        ag.hessian(f)(1.5, 0.3)                    # needs softplus''


def test_no_grad_gives_a_leaf_and_skips_the_derivatives(backend: str) -> None:
    def never(x: float) -> float:
        raise AssertionError("a derivative was evaluated under no_grad")

    p = ag.primitive(math.exp, never)
    with ag.no_grad():
        y = p(ag.Value(1.0))
    assert y.op == "leaf" and y.data == math.e


def test_errors(backend: str) -> None:
    with pytest.raises(TypeError, match="takes 2 inputs"):
        hypot(ag.Value(1.0))
    with pytest.raises(TypeError, match="callable"):
        ag.primitive(math.exp, 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="one derivative per input"):
        ag.primitive(math.exp)
    bad = ag.primitive(lambda x: "one", lambda x: 1.0)
    with pytest.raises(TypeError, match="forward returned str"):
        bad(ag.Value(1.0))
    bad_d = ag.primitive(lambda x: 1.0, lambda x: None)
    with pytest.raises(TypeError, match="derivative 0 returned NoneType"):
        bad_d(ag.Value(1.0))
    with pytest.raises(TypeError, match="Values or real numbers"):
        hypot(ag.Value(1.0), "2")


def test_mixed_backends_are_refused(both_backends: list[str]) -> None:
    ag.set_backend("c")
    x = ag.Value(1.0)
    ag.set_backend("python")
    with pytest.raises(TypeError, match="backend"):
        hypot(x, ag.Value(2.0))


def test_bitwise_equal_across_backends(both_backends: list[str]) -> None:
    results = []
    for name in both_backends:
        ag.set_backend(name)
        x, y = ag.Value(0.37), ag.Value(-1.9)
        out = hypot(x * y, softplus(y)) / x
        out.backward()
        results.append([bits(out.data), bits(x.grad), bits(y.grad),
                        *[bits(g) for g in ag.gradients(out, [x, y])]])
    assert results[0] == results[1]
