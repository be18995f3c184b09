"""Optimizers: SGD with momentum and Adam, with a learning-rate schedule hook.

``lr`` is a number or a schedule: a function of the step number (0 for the
first step) that returns the learning rate for that step.  An optimizer only
reads each parameter's ``.grad`` and writes its ``.data``; call
``zero_grad()`` before each ``backward()``, since gradients accumulate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Callable, Union

from ..value import Value, ValueGroup

Schedule = Callable[[int], float]
LearningRate = Union[float, Schedule]


def linear_decay(start: float, end: float, steps: int) -> Schedule:
    """lr falling linearly from start (step 0) towards end (step ``steps``),
    micrograd's schedule: linear_decay(1.0, 0.1, 100) is 1.0 - 0.9 * k / 100."""
    if steps <= 0:
        raise ValueError(f"steps must be positive, not {steps}")
    return lambda k: start - (start - end) * k / steps


class Optimizer:
    def __init__(self, params: Iterable[Value], lr: LearningRate) -> None:
        name = type(self).__name__
        if hasattr(params, "parameters") and callable(params.parameters):
            raise TypeError(f"{name} takes the model's parameters, not the model: "
                            f"optim.{name}(model.parameters(), lr=...)")
        if isinstance(params, Value):
            raise TypeError(f"{name} takes a list of parameters: optim.{name}([x], lr=...)")
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{name} got no parameters; pass model.parameters()")
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"{name}'s parameters must be Values, but item {i} is a "
                                f"{type(p).__name__}; pass model.parameters()")
        self._group = ValueGroup(self.params)   # one engine call per update
        if not callable(lr) and not lr > 0.0:
            raise ValueError(f"lr must be positive or a schedule, not {lr!r}")
        self.schedule: LearningRate = lr
        self.steps = 0      # updates made so far

    @property
    def lr(self) -> float:
        """The learning rate the next step() will use."""
        return float(self.schedule(self.steps) if callable(self.schedule) else self.schedule)

    def zero_grad(self) -> None:
        self._group.zero_grads()

    def step(self) -> None:
        """Update every parameter from its .grad."""
        self._update(self.lr)
        self.steps += 1

    def _update(self, lr: float) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """v = momentum * v + grad;  p -= lr * v  (plain gradient descent for momentum=0)."""

    def __init__(self, params: Iterable[Value], lr: LearningRate = 0.1, momentum: float = 0.0) -> None:
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), not {momentum!r}")
        self.momentum = momentum
        self.velocity = [0.0] * len(self.params)

    def _update(self, lr: float) -> None:
        mu = self.momentum
        if mu == 0.0:
            self._group.descend(lr)     # p.data -= lr * p.grad for each, in one call
            return
        v = self.velocity
        for i, p in enumerate(self.params):
            v[i] = mu * v[i] + p.grad
            p.data -= lr * v[i]


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): running means of the gradient (m) and of its
    square (v), corrected for their zero start;  p -= lr * m^ / (sqrt(v^) + eps)."""

    def __init__(self, params: Iterable[Value], lr: LearningRate = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"betas must be in [0, 1), not {betas!r}")
        self.betas = (b1, b2)
        self.eps = eps
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def _update(self, lr: float) -> None:
        b1, b2 = self.betas
        t = self.steps + 1
        c1 = 1.0 - b1**t    # bias corrections: m and v start at 0
        c2 = 1.0 - b2**t
        m, v, eps = self.m, self.v, self.eps
        for i, p in enumerate(self.params):
            g = p.grad
            m[i] = b1 * m[i] + (1.0 - b1) * g
            v[i] = b2 * v[i] + (1.0 - b2) * g * g
            p.data -= lr * (m[i] / c1) / (math.sqrt(v[i] / c2) + eps)
