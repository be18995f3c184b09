"""Engine.gradients: backward()'s adjoints for chosen nodes, no .grad changed."""

from __future__ import annotations

import pytest
from graphs import bits, random_program, run_program

import autograd as ag
from autograd import backend as ag_backend
from autograd import errors


@pytest.mark.parametrize("seed", range(30))
def test_equals_backward_bitwise(backend: str, seed: int) -> None:
    eng = ag_backend.ENGINES[backend]
    inputs, steps = random_program(seed)
    xs = [ag.Value(p) for p in inputs]
    out = run_program(steps, xs)
    nodes = eng.topo(out._id)
    got = eng.gradients(out._id, 1.5, nodes)
    assert all(eng.node(node).grad == 0.0 for node in nodes)     # untouched
    out.backward(1.5)
    assert [bits(g) for g in got] == [bits(eng.node(node).grad) for node in nodes]


def test_unreachable_and_empty(backend: str) -> None:
    eng = ag_backend.ENGINES[backend]
    x, other = ag.Value(2.0), ag.Value(3.0)
    y = x * x
    assert eng.gradients(y._id, 1.0, [x._id, other._id, y._id, x._id]) == [4.0, 0.0, 1.0, 4.0]
    assert eng.gradients(y._id, 1.0, []) == []


def test_bad_ids_and_out_of_memory(backend: str) -> None:
    eng = ag_backend.ENGINES[backend]
    x = ag.Value(2.0)
    y = x * x
    assert eng.gradients(y._id, 1.0, [10**8]) == errors.EBADID
    assert eng.gradients(-1, 1.0, [x._id]) == errors.EBADID
    eng.fail_after(0)
    try:
        assert eng.gradients(y._id, 1.0, [x._id]) == errors.ENOMEM
    finally:
        eng.fail_after(-1)
    assert eng.gradients(y._id, 1.0, [x._id]) == [4.0]
