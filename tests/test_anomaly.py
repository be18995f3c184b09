"""Anomaly mode: FloatingPointError naming the op whose rule made the nan."""

from __future__ import annotations

import math

import pytest

import autograd as ag
from autograd import backend as ag_backend

NAN = math.nan
INF = math.inf

# (op name expected in the message, inputs, how the nan is made)
FORWARD_CASES = [
    ("log", [-1.0], lambda x: x.log()),
    ("sqrt", [-4.0], lambda x: x.sqrt()),
    ("div", [0.0, 0.0], lambda x, y: x / y),
    ("sub", [INF, INF], lambda x, y: x - y),
    ("mul", [INF, 0.0], lambda x, y: x * y),
    ("add", [INF, -INF], lambda x, y: x + y),
    ("pow", [-8.0, 1 / 3], lambda x, y: x**y),
    ("powc", [-8.0], lambda x: x ** (1 / 3)),
    ("rpowc", [1 / 3], lambda x: (-8.0) ** x),
    ("divc", [0.0], lambda x: x / 0.0),
    ("rdivc", [INF], lambda x: INF / x),
    ("mulc", [INF], lambda x: x * 0.0),
    ("sin", [INF], lambda x: x.sin()),
    ("cos", [-INF], lambda x: x.cos()),
    ("subc", [INF], lambda x: x - INF),
]


def leaves(xs):
    return [ag.Value(x) for x in xs]


@pytest.mark.parametrize("name, inputs, make", FORWARD_CASES, ids=[c[0] for c in FORWARD_CASES])
def test_forward_nan_names_the_op_that_made_it(backend, name, inputs, make):
    xs = leaves(inputs)
    expected = name
    before = ag.stats()["live_nodes"]
    with ag.detect_anomaly():
        with pytest.raises(FloatingPointError, match=f"forward rule of '{expected}'") as info:
            make(*xs)
    assert "test_anomaly.py:" in str(info.value), "the message should say where in the user's code"
    assert ag.stats()["live_nodes"] == before, "the nan node must not be left behind"
    assert math.isnan(make(*xs).data), "outside anomaly mode the same op gives nan silently"


def test_a_node_that_receives_nan_is_not_blamed(backend):
    x = ag.Value(NAN)  # made outside the mode: a nan input, not a nan made by an op
    with ag.detect_anomaly():
        y = x * 2.0 + 1.0
    assert math.isnan(y.data)


def test_a_nan_constant_is_refused_like_a_nan_leaf(backend):
    x = ag.Value(2.0)
    with ag.detect_anomaly():
        with pytest.raises(FloatingPointError, match="the constant operand of 'mulc' \\(a \\* c\\) is nan"):
            x * NAN
        with pytest.raises(FloatingPointError, match="constant operand of 'rpowc'"):
            NAN**x
        assert (ag.Value(1.0) ** NAN).data == 1.0  # pow(1, nan) = 1: no nan, no anomaly


def test_inf_is_not_an_anomaly(backend):
    x = ag.Value(0.0)
    with ag.detect_anomaly():
        assert (x.log()).data == -INF
        assert (1.0 / x).data == INF
        y = x.exp() * 1e308 * 10.0
        assert y.data == INF
        y.backward()


def test_nan_leaf_data_and_seed_are_refused_in_anomaly_mode(backend):
    x = ag.Value(1.0)
    with ag.detect_anomaly():
        with pytest.raises(FloatingPointError, match="leaf created with the value nan"):
            ag.Value(NAN)
        with pytest.raises(FloatingPointError, match=".data set to nan"):
            x.data = NAN
        with pytest.raises(FloatingPointError, match="seeded with nan"):
            (x * 2.0).backward(NAN)
    assert x.data == 1.0 and x.grad == 0.0


BACKWARD_CASES = [
    # (op, x, graph): each forward value is finite; a rule makes 0 * inf in backward
    ("sqrt", 0.0, lambda x: x.sqrt() * 0.0 + 1.0),  # sqrt'(0) = inf, times the 0 from "* 0.0"
    ("powc", 0.0, lambda x: (x**0.5) * 0.0),  # d(x**0.5)/dx at 0 = inf
    ("pow", 0.0, lambda x: (x ** ag.Value(0.5)) * 0.0),
    ("exp", 1000.0, lambda x: x.exp().tanh()),  # tanh'(inf) = 0, times exp(1000) = inf
]


@pytest.mark.parametrize("name, x0, make", BACKWARD_CASES, ids=[c[0] for c in BACKWARD_CASES])
def test_backward_nan_names_the_rule_that_made_it(backend, name, x0, make):
    x = ag.Value(x0)
    with ag.detect_anomaly():
        try:
            out = make(x)
        except FloatingPointError:
            pytest.fail("this case must produce its nan in backward, not forward")
        with pytest.raises(FloatingPointError, match=f"backward rule of '{name}'") as info:
            out.backward()
    message = str(info.value)
    assert "created at" in message and "test_anomaly.py:" in message
    assert "'leaf'" not in message
    assert x.grad == 0.0 and out.grad == 0.0, "no gradient changes when backward raises"
    out.backward()  # outside the mode: the nan flows silently, as in PyTorch
    assert math.isnan(x.grad)


def test_backward_nan_blames_the_rule_not_the_nodes_downstream(backend):
    x = ag.Value(0.0)
    with ag.detect_anomaly():
        y = x.sqrt()  # the culprit: sqrt'(0) * 0 = nan
        z = y * 0.0
        w = (z + x).exp() * 3.0 - x  # x also receives a clean gradient by another path
        with pytest.raises(FloatingPointError, match="backward rule of 'sqrt'"):
            w.backward()


def test_same_message_on_both_backends(both_backends):
    messages = []
    for name in ("c", "python"):
        ag.set_backend(name)
        x = ag.Value(0.0)
        with ag.detect_anomaly():
            try:
                (x.sqrt() * 0.0).backward()  # one line: the same site on both backends
            except FloatingPointError as exc:
                messages.append(str(exc))
            try:
                (x - 1.0).log()
            except FloatingPointError as exc:
                messages.append(str(exc))
    assert len(messages) == 4
    assert messages[0] == messages[2] and messages[1] == messages[3]


def test_graph_built_before_the_mode_is_still_checked(backend):
    x = ag.Value(0.0)
    out = x.sqrt() * 0.0
    with ag.detect_anomaly(), pytest.raises(FloatingPointError, match="before anomaly mode was turned on"):
        out.backward()


def test_flag_context_and_nesting_and_zero_cost_when_off():
    from autograd import modes

    engines = list(ag_backend.ENGINES.values())
    originals = [(e.leaf, e.apply, e.set_value, e.backward) for e in engines]
    assert not ag.is_anomaly_enabled() and modes.active == 0
    with ag.detect_anomaly():
        assert ag.is_anomaly_enabled() and modes.active == 1 and modes.anomaly is not None
        with ag.detect_anomaly():
            assert ag.is_anomaly_enabled()
        assert ag.is_anomaly_enabled()
    assert not ag.is_anomaly_enabled()
    # off: no mode is active, so an op checks one int and calls its engine
    assert modes.active == 0 and modes.anomaly is None
    # no engine function is ever replaced, on or off
    assert [(e.leaf, e.apply, e.set_value, e.backward) for e in engines] == originals
    ag.set_detect_anomaly(True)
    try:
        assert ag.is_anomaly_enabled()
        with pytest.raises(FloatingPointError):
            ag.Value(-1.0).log()
    finally:
        ag.set_detect_anomaly(False)
    assert math.isnan(ag.Value(-1.0).log().data)


def test_ops_under_no_grad_are_checked_too(backend):
    x = ag.Value(-1.0)
    with ag.detect_anomaly(), ag.no_grad(), pytest.raises(FloatingPointError, match="'log'"):
        x.log()
    with ag.no_grad():
        assert math.isnan(x.log().data)  # anomaly mode off again: nan is a value
