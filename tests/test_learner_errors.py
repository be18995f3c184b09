"""The learner's common mistakes get an error that says what to do, on both backends."""

from __future__ import annotations

import pytest

import autograd as ag
from autograd import datasets, nn, optim


def test_mlp_with_a_number_for_its_layers(backend):
    with pytest.raises(TypeError) as exc:
        nn.MLP(2, 16)
    assert "list of layer sizes" in str(exc.value) and "MLP(2, [16])" in str(exc.value)
    with pytest.raises(ValueError, match="positive int"):
        nn.MLP(2, [16, 0, 1])
    with pytest.raises(ValueError, match="nin"):
        nn.MLP(0, [1])


def test_a_batch_where_one_point_is_expected(backend):
    X, _ = datasets.make_moons(6, seed=0)
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(TypeError) as exc:
        model.predict(X[:2])
    assert "one point" in str(exc.value) and "[model.predict(x) for x in X]" in str(exc.value)
    with pytest.raises(TypeError) as exc:
        model(X[:2])
    assert "[model(x) for x in X]" in str(exc.value)
    assert model.predict(X[0]) == model(X[0]).data        # one point still works


@pytest.mark.parametrize("make", [optim.SGD, optim.Adam])
def test_optimizer_given_the_model(backend, make):
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(TypeError, match=r"model\.parameters\(\)"):
        make(model, lr=0.1)
    with pytest.raises(TypeError, match=r"model\.parameters\(\)"):
        make([1.0, 2.0], lr=0.1)                           # numbers, not Values
    with pytest.raises(ValueError, match=r"model\.parameters\(\)"):
        make([], lr=0.1)


def test_nonlin_choices_are_the_same_everywhere(backend):
    messages = set()
    for make in (lambda v: nn.MLP(2, [3, 1], nonlin=v), lambda v: nn.Layer(2, 3, nonlin=v),
                 lambda v: nn.Neuron(2, nonlin=v)):
        for bad in ("gelu", "ReLU", 3):
            with pytest.raises(ValueError) as exc:
                make(bad)
            messages.add(str(exc.value).replace(repr(bad), "BAD"))
    assert len(messages) == 1
    message = messages.pop()
    assert all(name in message for name in ("'relu'", "'tanh'", "'sigmoid'", "'linear'"))
    # None means no nonlinearity everywhere, as it did for Neuron
    assert nn.MLP(2, [3, 1], nonlin=None).layers[0].neurons[0].nonlin == "linear"
    assert nn.Neuron(2, nonlin=None).nonlin == "linear"


def test_grad_called_with_a_keyword_argument(backend):
    with pytest.raises(TypeError) as exc:
        ag.grad(lambda x: x * x)(x=2.0)
    msg = str(exc.value)
    assert "positional" in msg and "grad(f)(2.0)" in msg and "0 were given" not in msg
    assert ag.grad(lambda x, k: x * k)(2.0, k=3.0) == 3.0  # keywords still reach f, as constants
