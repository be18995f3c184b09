"""gradients(): first derivatives equal backward()'s bit for bit, .grad untouched."""

from __future__ import annotations

import math

import pytest
from graphs import bits, random_program, run_program

import autograd as ag
from autograd import backend as ag_backend
from autograd import errors
from autograd.cli.check import OP_CASES

SPECIAL_POINTS = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, math.inf, -math.inf, math.nan, 1e-300, 1e300]


def _backward_grads(f, point):  # type: ignore[no-untyped-def]
    xs = [ag.Value(p) for p in point]
    f(*xs).backward()
    return [bits(x.grad) for x in xs]


def _gradients(f, point, create_graph):  # type: ignore[no-untyped-def]
    xs = [ag.Value(p) for p in point]
    gs = ag.gradients(f(*xs), xs, create_graph=create_graph)
    return [bits(g.data if create_graph else g) for g in gs]


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("case", OP_CASES, ids=[c.name for c in OP_CASES])
def test_every_op_matches_backward_bitwise(backend: str, case, create_graph: bool) -> None:  # type: ignore[no-untyped-def]
    arity = len(case.points[0])
    points = list(case.points)
    # special values too: zeros of both signs, infinities, nan, poles, kinks
    points += [(p,) * arity for p in SPECIAL_POINTS]
    points += [(p, q) for p in SPECIAL_POINTS[:6] for q in SPECIAL_POINTS[:6]] if arity == 2 else []
    for point in points:
        assert _gradients(case.f, point, create_graph) == _backward_grads(case.f, point), point


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_match_backward_bitwise(backend: str, seed: int, create_graph: bool) -> None:
    inputs, steps = random_program(seed)
    f = lambda *xs: run_program(steps, list(xs))
    assert _gradients(f, inputs, create_graph) == _backward_grads(f, inputs)


@pytest.mark.parametrize("seed", range(20))
def test_random_graphs_bitwise_equal_across_backends(both_backends: list[str], seed: int) -> None:
    inputs, steps = random_program(seed)
    f = lambda *xs: run_program(steps, list(xs))
    results = []
    for name in both_backends:
        ag.set_backend(name)
        xs = [ag.Value(p) for p in inputs]
        out = f(*xs)
        firsts = ag.gradients(out, xs, create_graph=True)
        seconds = [[bits(h) for h in ag.gradients(g, xs)] for g in firsts]
        results.append(([bits(g.data) for g in firsts], seconds))
    assert results[0] == results[1]


def test_leaves_every_grad_untouched(backend: str) -> None:
    x, y = ag.Value(0.3), ag.Value(-1.2)
    h = (x * y).sin()
    out = h * x + y.exp()
    eng = ag.backend.ENGINES[backend]
    nodes = eng.topo(out._id)
    for k, node in enumerate(nodes):
        eng.set_grad(node, 0.25 * k - 1.0)
    before = [eng.node(node).grad for node in nodes]
    ag.gradients(out, [x, y, h])
    (dx, _, _) = ag.gradients(out, [x, y, h], create_graph=True)
    ag.gradients(dx, [x, y])
    assert [eng.node(node).grad for node in nodes] == before


def test_gradient_of_an_intermediate_node_is_its_adjoint(backend: str) -> None:
    x = ag.Value(0.8)
    h = x.tanh()
    out = h * h + h.exp()
    (dh,) = ag.gradients(out, [h])
    out.backward()
    assert bits(dh) == bits(h.grad)


def test_input_not_in_the_graph_gets_zero(backend: str) -> None:
    x, unused = ag.Value(2.0), ag.Value(5.0)
    out = x * 3.0
    assert ag.gradients(out, [x, unused]) == [3.0, 0.0]
    gx, gu = ag.gradients(out, [x, unused], create_graph=True)
    # a gradient that depends on no node is a new constant leaf
    assert (gx.op, gx.data, gu.op, gu.data) == ("leaf", 3.0, "leaf", 0.0)


def test_output_itself_and_repeated_inputs(backend: str) -> None:
    x = ag.Value(2.0)
    y = x * x
    assert ag.gradients(y, [y, x, x]) == [1.0, 4.0, 4.0]
    assert ag.gradients(y, x) == [4.0]          # a single Value is allowed


def test_nodes_are_released(backend: str) -> None:
    x = ag.Value(0.5)
    out = (x * x).sin() * x.exp()
    before = ag.stats()["live_nodes"]
    for _ in range(5):
        ag.gradients(out, [x])
        (g,) = ag.gradients(out, [x], create_graph=True)
        ag.gradients(g, [x])
        del g
    assert ag.stats()["live_nodes"] == before


def test_errors(backend: str) -> None:
    x = ag.Value(1.0)
    with pytest.raises(TypeError, match="output must be a Value"):
        ag.gradients(1.0, [x])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="inputs must be Values"):
        ag.gradients(x * 2, [1.0])  # type: ignore[list-item]


def test_mixed_backends_are_refused(both_backends: list[str]) -> None:
    ag.set_backend("c")
    x = ag.Value(1.0)
    ag.set_backend("python")
    y = ag.Value(1.0)
    with pytest.raises(TypeError, match="backend"):
        ag.gradients(x * 2, [y])


@pytest.mark.parametrize("seed", range(20))
def test_subsets_of_inputs_match_backward_bitwise(backend: str, seed: int) -> None:
    # nodes that do not depend on the chosen inputs are skipped by the sweep
    inputs, steps = random_program(seed)
    xs = [ag.Value(p) for p in inputs]
    out = run_program(steps, xs)
    out.backward()
    for i, x in enumerate(xs):
        (g,) = ag.gradients(out, [x], create_graph=True)
        assert bits(g.data) == bits(x.grad), i


# --- the engines' gradients(): backward()'s adjoints for chosen nodes ------------

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


def test_gradients_raises_when_the_engine_fails(backend: str) -> None:
    eng = ag_backend.ENGINES[backend]
    x = ag.Value(2.0)
    y = x * x
    eng.fail_after(0)
    try:
        with pytest.raises(MemoryError):
            ag.gradients(y, [x])
    finally:
        eng.fail_after(-1)
    assert ag.gradients(y, [x]) == [4.0]
