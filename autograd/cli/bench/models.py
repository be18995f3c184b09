"""W1's model and data: micrograd's demo (MLP(2, [16, 16, 1]) on 100 moons,
hinge loss + L2), written once per kind of engine.

The scalar model below runs unchanged on autograd Values, micrograd Values
and PyTorch 0-dim tensors, which share the operators it uses; plain floats
get the same arithmetic with no graph, the floor of the Python code itself.
autograd.nn is not used on purpose: the bench must not move when it does.
"""

from __future__ import annotations

import math
import random
from typing import Any, Callable

SIZES = [2, 16, 16, 1]
N_SAMPLES = 100
ALPHA = 1e-4


def moons(n: int = N_SAMPLES, noise: float = 0.1, seed: int = 1) -> tuple[list[list[float]], list[float]]:
    """Two interleaved half circles (sklearn's make_moons), labels -1 / +1."""
    rng = random.Random(seed)
    half = n // 2
    xs: list[list[float]] = []
    ys: list[float] = []
    for i in range(n):
        outer = i < half
        m = half if outer else n - half
        t = math.pi * (i if outer else i - half) / (m - 1)
        x, y = (math.cos(t), math.sin(t)) if outer else (1 - math.cos(t), 1 - math.sin(t) - 0.5)
        xs.append([x + rng.gauss(0, noise), y + rng.gauss(0, noise)])
        ys.append(-1.0 if outer else 1.0)
    return xs, ys


def init_weights(seed: int = 1337) -> list[list[list[float]]]:
    """Weights as layers of neurons of [w_1..w_nin, b]: w uniform in [-1, 1],
    b = 0, as micrograd initialises them."""
    rng = random.Random(seed)
    return [[[rng.uniform(-1, 1) for _ in range(nin)] + [0.0] for _ in range(nout)]
            for nin, nout in zip(SIZES, SIZES[1:])]


class ScalarMLP:
    """The MLP over any scalar type with +, *, and .relu() (or a relu
    function for floats).  params[l][j] = [w..., b]."""

    def __init__(self, weights: list[list[list[float]]], make: Callable[[float], Any],
                 relu: Callable[[Any], Any] | None = None) -> None:
        self.layers = [[[make(v) for v in neuron] for neuron in layer] for layer in weights]
        self.relu = relu or (lambda v: v.relu())

    def parameters(self) -> list[Any]:
        return [p for layer in self.layers for neuron in layer for p in neuron]

    def __call__(self, x: list[Any]) -> Any:
        relu = self.relu
        last = len(self.layers) - 1
        for li, layer in enumerate(self.layers):
            out = []
            for neuron in layer:
                act = sum((wi * xi for wi, xi in zip(neuron, x)), neuron[-1])
                out.append(relu(act) if li < last else act)
            x = out
        return x[0]


def loss(model: Any, xs: list[list[float]], ys: list[float], relu: Callable[[Any], Any]) -> Any:
    """micrograd's demo loss: mean hinge loss + ALPHA * sum of squared params."""
    scores = [model(x) for x in xs]
    losses = [relu(1 + -yi * si) for yi, si in zip(ys, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def float_relu(v: float) -> float:
    return 0.0 if v <= 0.0 else v


def learning_rate(step: int) -> float:
    return 1.0 - 0.9 * step / 100
