"""grad, value_and_grad, hessian: the calling conventions."""

from __future__ import annotations

import math
import threading

import pytest
from graphs import bits

import autograd as ag


def f(x: ag.Value, y: ag.Value) -> ag.Value:
    return ag.sin(x * y) + ag.exp(x) / y


def test_grad_equals_backward_bitwise(backend: str) -> None:
    x, y = ag.Value(0.6), ag.Value(1.7)
    f(x, y).backward()
    assert bits(ag.grad(f)(0.6, 1.7)) == bits(x.grad)
    assert [bits(g) for g in ag.grad(f, argnums=(0, 1))(0.6, 1.7)] == [bits(x.grad), bits(y.grad)]
    assert bits(ag.grad(f, argnums=-1)(0.6, 1.7)) == bits(y.grad)


def test_value_and_grad(backend: str) -> None:
    value, (dx, dy) = ag.value_and_grad(f, argnums=(0, 1))(0.6, 1.7)
    assert value == f(ag.Value(0.6), ag.Value(1.7)).data
    assert (dx, dy) == ag.grad(f, argnums=(0, 1))(0.6, 1.7)
    assert isinstance(value, float) and isinstance(dx, float)
    assert ag.value_and_grad(lambda x: x * x)(3) == (9.0, 6.0)      # ints are numbers


def test_other_arguments_are_constants(backend: str) -> None:
    g = lambda x, scale, *, shift: x * scale + shift
    assert ag.grad(g)(2.0, 3.0, shift=1.0) == 3.0
    assert ag.grad(lambda x, name: x * len(name))(2.0, "abc") == 3.0


def test_f_returning_a_number(backend: str) -> None:
    assert ag.value_and_grad(lambda x: 4.0)(1.0) == (4.0, 0.0)
    assert ag.hessian(lambda x, y: 1)(1.0, 2.0) == [[0.0, 0.0], [0.0, 0.0]]


def test_called_with_values_returns_values(backend: str) -> None:
    x = ag.Value(2.0)
    d = ag.grad(lambda v: v**3)(x)
    assert isinstance(d, ag.Value) and d.data == 12.0
    d.backward()                                     # d(3 x^2)/dx = 6x
    assert x.grad == 12.0


def test_hessian_shape_and_symmetry(backend: str) -> None:
    h = ag.hessian(lambda x, y, z: x * y * z + x * x)(1.0, 2.0, 3.0)
    assert h == [[2.0, 3.0, 2.0], [3.0, 0.0, 1.0], [2.0, 1.0, 0.0]]


def test_works_inside_no_grad(backend: str) -> None:
    with ag.no_grad():
        assert ag.grad(lambda x: x * x)(3.0) == 6.0
        assert ag.grad(ag.grad(lambda x: x**3))(2.0) == 12.0
        assert not ag.is_grad_enabled()


def test_metadata_is_kept(backend: str) -> None:
    def energy(x: ag.Value) -> ag.Value:
        """The energy."""
        return x * x

    assert ag.grad(energy).__name__ == "energy" and ag.grad(energy).__doc__ == "The energy."


def test_argument_errors(backend: str) -> None:
    with pytest.raises(TypeError, match="argnums"):
        ag.grad(f, argnums=True)
    with pytest.raises(TypeError, match="argnums"):
        ag.grad(f, argnums=())
    with pytest.raises(TypeError, match="argument 2"):
        ag.grad(f, argnums=2)(1.0, 2.0)
    with pytest.raises(TypeError, match="real number or a Value"):
        ag.grad(f)("1", 2.0)
    with pytest.raises(TypeError, match="must return a Value or a number"):
        ag.grad(lambda x: "x")(1.0)


def test_threads_are_independent(backend: str) -> None:
    errors: list[BaseException] = []
    results: dict[int, float] = {}

    def work(k: int) -> None:
        try:
            for _ in range(20):
                results[k] = ag.grad(ag.grad(lambda x: x**3 * k))(2.0)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert results == {k: 12.0 * k for k in range(1, 5)}
    assert ag.is_grad_enabled() and ag.modes.threads_in_no_grad == 0


def test_gradient_at_a_pole_and_a_kink(backend: str) -> None:
    assert ag.grad(lambda x: x.sqrt())(0.0) == math.inf
    assert ag.grad(lambda x: x.relu())(0.0) == 0.0
    assert ag.grad(lambda x: x.abs())(0.0) == 0.0
