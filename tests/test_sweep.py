"""The backward sweep: known gradients, shared inputs, deep graphs, parity."""

from __future__ import annotations

import math
import random
import struct

import autograd as ag
from autograd import Value


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def test_diamond_and_shared_input(backend: str) -> None:
    x = Value(3.0)
    y = Value(-2.0)
    z = x * x + x * y          # dz/dx = 2x + y, dz/dy = x
    w = z * z.tanh()
    z.backward()
    assert x.grad == 4.0 and y.grad == 3.0
    w.backward()
    t = math.tanh(3.0)
    assert math.isclose(y.grad, 3.0 + 3.0 * (t + 3.0 * (1 - t * t)))


def test_deep_chain_has_no_recursion(backend: str) -> None:
    x = Value(1.0)
    y = x
    for _ in range(200_000):
        y = y + 1.0
    y.backward()
    assert x.grad == 1.0
    assert len(ag.errors.checked(ag.backend.ENGINES[backend].topo(y._id))) == 200_001


def _random_graph(seed: int) -> list[float]:
    rng = random.Random(seed)
    leaves = [Value(rng.uniform(-2, 2)) for _ in range(8)]
    nodes = list(leaves)
    for i in range(300):
        a = nodes[-1 - rng.randrange(min(len(nodes), 20))]
        b = nodes[rng.randrange(len(nodes))]
        kind = i % 5
        if kind == 0:
            nodes.append(a * b)
        elif kind == 1:
            nodes.append(a + b)
        elif kind == 2:
            nodes.append((a - b).tanh())
        elif kind == 3:
            nodes.append(a.sigmoid() * 0.5)
        else:
            nodes.append(b / (a * a + 1.0))
    nodes[-1].backward()
    nodes[-1].backward(0.5)
    return [v.grad for v in leaves]


def test_random_graphs_bitwise_equal_across_backends(both_backends: list[str]) -> None:
    for seed in range(5):
        ag.set_backend("c")
        c = _random_graph(seed)
        ag.set_backend("python")
        py = _random_graph(seed)
        assert [bits(g) for g in c] == [bits(g) for g in py]
