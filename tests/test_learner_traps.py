"""The silent traps of issue 10: comparisons and truth on Values, a Value
leaving the graph as a float, replay's refusal of value-dependent branches,
and ag.vjp as a function."""

from __future__ import annotations

import math
import warnings

import pytest

import autograd as ag
from autograd import replay


def test_comparisons_and_truth_are_float_semantics_on_the_values(backend):
    a, b = ag.Value(2.0), ag.Value(-1.0)
    assert a > b and b < a and a >= 2.0 and a <= 2 and 3 > a and not (a < -5)
    assert max(a, b) is a and min(a, b) is b
    assert sorted([a, b, ag.Value(0.5)], key=float)[0] is b
    assert sorted([a, b])[0] is b
    assert bool(ag.Value(0.0)) is False and bool(ag.Value(-0.0)) is False
    assert bool(ag.Value(3.0)) and bool(ag.Value(math.nan))
    x = ag.Value(-0.5)
    y = x.relu() if x > 0 else x * 2     # a branch on a value works (and is not differentiable)
    y.backward()
    assert x.grad == 2.0


def test_equality_and_hash_stay_identity(backend):
    a, b = ag.Value(1.0), ag.Value(1.0)
    assert a == a and a != b and len({a, b}) == 2
    with pytest.raises(TypeError):
        a < "x"  # noqa: B015


def test_a_branch_on_a_comparison_is_refused_by_replay_record(backend):
    x = ag.Value(1.5)
    with pytest.raises(replay.ReplayError, match="read a value"):
        replay.record(lambda: x * 2 if x > 0 else x * 3)
    tape = replay.record(lambda: x * 2 if x > 0 else x * 3, allow_reads=True)
    assert tape.run() == 3.0


def test_float_of_a_value_warns_in_anomaly_mode(backend):
    x = ag.Value(0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.sin(x) == math.sin(0.3)          # off: no warning, no cost
    with ag.detect_anomaly(), pytest.warns(ag.GraphLeakWarning, match="leaves the graph"):
        y = math.sin(x)
    assert isinstance(y, float)


def test_vjp_is_a_function_like_jax(backend):
    value, pullback = ag.vjp(lambda x, y: x * y + ag.sin(x), 2.0, 3.0)
    assert value == 2.0 * 3.0 + math.sin(2.0)
    assert pullback(1.0) == ag.grad(lambda x, y: x * y + ag.sin(x), argnums=(0, 1))(2.0, 3.0)
    g = pullback(0.5)
    assert g == (0.5 * (3.0 + math.cos(2.0)), 0.5 * 2.0)
    assert ag.vjp(lambda x: 4.0, 1.0)[1](1.0) == (0.0,)
    with pytest.raises(TypeError, match="primal"):
        ag.vjp(lambda x: x, "a")
