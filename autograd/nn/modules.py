"""A tiny neural-network library on ``Value``: micrograd's Module, Neuron, Layer, MLP.

A neuron computes act(b + w_1 x_1 + ... + w_n x_n).  Inputs may be plain
numbers: ``w * x`` with a number x is one node (the number is the node's
constant), so the first layer does not wrap the data in leaves.

Parameters are leaves; training changes their ``.data`` in place, and every
step builds a fresh graph from them (the old one is freed when its Values go).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator, Sequence
from functools import reduce
from operator import add, mul
from typing import Any, Callable, Union

from ..value import FREE_FUNCTIONS, Value

# What a layer takes: a list of Values or numbers, or a single one (the output
# of a one-neuron layer is a Value, and must still feed the next layer).
Inputs = Union[Sequence[Union[Value, float]], Value, float]
Output = Union[Value, list[Value]]

NONLINEARITIES: dict[str, Callable[[Value], Value] | None] = {
    "relu": getattr(Value, "relu"),  # noqa: B009  (made from the op table: mypy cannot see it)
    "tanh": getattr(Value, "tanh"),  # noqa: B009
    "sigmoid": getattr(Value, "sigmoid"),  # noqa: B009
    "linear": None,
}

# The same nonlinearities on plain floats, for predict(): the engines' own
# forward rules, so predict() equals the graph's .data bit for bit.
_FLOAT_NONLINEARITIES: dict[str, Callable[[float], float] | None] = {
    "relu": FREE_FUNCTIONS["relu"],
    "tanh": FREE_FUNCTIONS["tanh"],
    "sigmoid": FREE_FUNCTIONS["sigmoid"],
    "linear": None,
}


NONLIN_CHOICES = ("'relu', 'tanh', 'sigmoid' or 'linear' (also micrograd's True for relu, "
                  "False or None for linear)")


def _nonlin_name(nonlin: str | bool | None) -> str:
    """The name of a nonlinearity, one rule for Neuron, Layer and MLP."""
    # micrograd's Neuron takes nonlin=True/False; accept that too
    if nonlin is True:
        return "relu"
    if nonlin is False or nonlin is None:
        return "linear"
    if not isinstance(nonlin, str) or nonlin not in NONLINEARITIES:
        raise ValueError(f"nonlin must be {NONLIN_CHOICES}, not {nonlin!r}")
    return nonlin


def _size(n: object, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what} must be a positive int, not {n!r}")
    return n


class _GlobalRandom:
    """The random module's global generator (``random.seed(1337)`` seeds it),
    as micrograd draws its weights."""

    @staticmethod
    def uniform(a: float, b: float) -> float:
        return random.uniform(a, b)


Generator = Union[random.Random, _GlobalRandom]


def _as_list(x: Inputs) -> Sequence[Value | float]:
    if isinstance(x, (Value, int, float)):
        return [x]
    return x


class Module:
    """Something with parameters.  Subclasses override ``named_parameters``."""

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        return iter(())

    def parameters(self) -> list[Value]:
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0

    def state_dict(self) -> dict[str, float]:
        """{parameter name: value}, in parameter order; plain floats."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, float]) -> None:
        """Set every parameter from ``state``; its names must be exactly this
        module's (a different architecture is an error, not a partial load)."""
        params = dict(self.named_parameters())
        missing = [k for k in params if k not in state]
        unexpected = [k for k in state if k not in params]
        if missing or unexpected:
            raise KeyError(
                f"state_dict does not fit this {type(self).__name__}: "
                f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}"
            )
        for name, p in params.items():
            p.data = state[name]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the parameters to ``path`` as JSON.  Floats are written with
        repr, so loading gives the same bits back."""
        doc = {"format": "autograd.nn.state_dict/1", "module": repr(self), "state": self.state_dict()}
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")

    def load(self, path: str | os.PathLike[str]) -> None:
        """Read parameters written by ``save`` (or a bare state_dict as JSON)."""
        with open(path, encoding="utf-8") as f:
            doc: Any = json.load(f)
        state = doc["state"] if isinstance(doc, dict) and "state" in doc else doc
        if not isinstance(state, dict):
            raise ValueError(f"{os.fspath(path)!r} holds no state_dict")
        self.load_state_dict(state)


class Neuron(Module):
    """act(w . x + b), with w drawn uniformly from [-1, 1] and b = 0 (micrograd's init)."""

    def __init__(self, nin: int, nonlin: str | bool | None = "relu",
                 rng: Generator | None = None) -> None:
        rng = rng or _GlobalRandom()
        self.nin = _size(nin, "nin")
        self.w = [Value(rng.uniform(-1.0, 1.0)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = _nonlin_name(nonlin)
        self._act = NONLINEARITIES[self.nonlin]

    def __call__(self, x: Inputs) -> Value:
        x = _as_list(x)
        if len(x) != self.nin:
            raise ValueError(f"this neuron takes {self.nin} inputs, got {len(x)}")
        # b + w1*x1 + ... + wn*xn, summed left to right (map + sum: no Python frame per term)
        act = sum(map(mul, self.w, x), self.b)
        return self._act(act) if self._act else act  # type: ignore[return-value]

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        for i, w in enumerate(self.w):
            yield f"w.{i}", w
        yield "b", self.b

    def __repr__(self) -> str:
        return f"{self.nonlin.capitalize() if self.nonlin != 'relu' else 'ReLU'}Neuron({self.nin})"


class Layer(Module):
    """nout neurons reading the same inputs.  A layer of one neuron returns
    that neuron's Value rather than a list of one (micrograd's behaviour)."""

    def __init__(self, nin: int, nout: int, nonlin: str | bool | None = "relu",
                 rng: Generator | None = None) -> None:
        rng = rng or _GlobalRandom()
        _nonlin_name(nonlin)                    # a bad name fails here, not once per neuron
        self.neurons = [Neuron(nin, nonlin, rng) for _ in range(_size(nout, "nout"))]

    def __call__(self, x: Inputs) -> Output:
        x = _as_list(x)
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        for i, n in enumerate(self.neurons):
            for name, p in n.named_parameters():
                yield f"neurons.{i}.{name}", p

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multi-layer perceptron: ``MLP(2, [16, 16, 1])`` maps 2 inputs through
    two hidden layers of 16 to one output.  Hidden layers apply ``nonlin``;
    the output layer is linear.  ``seed`` makes the initial weights
    reproducible; with seed=None they come from the random module's global
    generator, so ``random.seed(1337)`` before ``MLP(...)`` does too.
    """

    def __init__(self, nin: int, nouts: Sequence[int], seed: int | None = None,
                 nonlin: str | bool | None = "relu") -> None:
        _size(nin, "nin (the number of inputs)")
        if isinstance(nouts, (int, float)) or not isinstance(nouts, Sequence):
            raise TypeError(f"nouts is a list of layer sizes, one per layer, like MLP({nin}, [16, 16, 1]), "
                            f"not {nouts!r}; for a single layer of {nouts!r} write MLP({nin}, [{nouts!r}])")
        if not nouts:
            raise ValueError("MLP needs at least one layer size in nouts, like MLP(2, [16, 16, 1])")
        for n in nouts:
            _size(n, "each layer size in nouts")
        rng: Generator = _GlobalRandom() if seed is None else random.Random(seed)
        sizes = [nin, *nouts]
        self.nin = nin
        self.nouts = list(nouts)
        self.nonlin = _nonlin_name(nonlin)
        self.layers = [
            Layer(sizes[i], sizes[i + 1], self.nonlin if i < len(nouts) - 1 else "linear", rng)
            for i in range(len(nouts))
        ]

    def _one_point(self, x: object, call: str) -> None:
        # a batch where one point is expected: say how to map over it
        if isinstance(x, (list, tuple)) and x and isinstance(x[0], (list, tuple)):
            raise TypeError(f"{call} takes one point, a list of {self.nin} numbers, not a list of "
                            f"{len(x)} points; for many points write [{call}(x) for x in X]")

    def __call__(self, x: Inputs) -> Output:
        self._one_point(x, "model")
        out: Any = x
        for layer in self.layers:
            out = layer(out)
        return out  # type: ignore[no-any-return]

    def predict(self, x: Sequence[float] | float) -> float | list[float]:
        """The output for numeric inputs x, computed on plain floats (no graph):
        equal, bit for bit, to ``self(x)``'s data, and far faster."""
        self._one_point(x, "model.predict")
        out: Any = list(_as_list(x))  # type: ignore[arg-type]
        for layer in self.layers:
            act = _FLOAT_NONLINEARITIES[layer.neurons[0].nonlin]
            res = []
            for n in layer.neurons:
                if len(out) != n.nin:
                    raise ValueError(f"this neuron takes {n.nin} inputs, got {len(out)}")
                # left to right, as the graph adds: not sum(), which on floats
                # compensates its rounding since Python 3.12
                s = reduce(add, map(mul, [w.data for w in n.w], out), n.b.data)
                res.append(act(s) if act else s)
            out = res
        return out[0] if len(out) == 1 else out

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        for i, layer in enumerate(self.layers):
            for name, p in layer.named_parameters():
                yield f"layers.{i}.{name}", p

    def __repr__(self) -> str:
        return f"MLP({self.nin}, {self.nouts}, nonlin={self.nonlin!r})"
