"""Random expression programs, replayable on any backend, for parity tests.

A program is a list of steps over a growing list of Values (the inputs
first); every step applies one op to earlier Values or to a constant, so the
program covers every op, shared subexpressions and constants on both sides.
"""

from __future__ import annotations

import math
import random
from typing import Callable

import autograd as ag

Step = tuple[str, int, int, float]      # (op, first operand, second operand, constant)

BINARY = ["add", "sub", "mul", "div", "pow"]
WITH_CONSTANT = ["addc", "subc", "rsubc", "mulc", "divc", "rdivc", "powc", "rpowc"]
UNARY = ["neg", "exp", "log", "sin", "cos", "tanh", "relu", "sigmoid", "sqrt", "abs"]

APPLY: dict[str, Callable[[ag.Value, ag.Value, float], ag.Value]] = {
    "add": lambda a, b, c: a + b,
    "sub": lambda a, b, c: a - b,
    "mul": lambda a, b, c: a * b,
    "div": lambda a, b, c: a / b,
    "pow": lambda a, b, c: abs(a) ** b,
    "addc": lambda a, b, c: a + c,
    "subc": lambda a, b, c: a - c,
    "rsubc": lambda a, b, c: c - a,
    "mulc": lambda a, b, c: a * c,
    "divc": lambda a, b, c: a / c,
    "rdivc": lambda a, b, c: c / a,
    "powc": lambda a, b, c: a**c,
    "rpowc": lambda a, b, c: abs(c) ** a,
    "neg": lambda a, b, c: -a,
    "exp": lambda a, b, c: (a * 0.3).exp(),
    "log": lambda a, b, c: (a * a + 0.5).log(),
    "sin": lambda a, b, c: a.sin(),
    "cos": lambda a, b, c: a.cos(),
    "tanh": lambda a, b, c: a.tanh(),
    "relu": lambda a, b, c: a.relu(),
    "sigmoid": lambda a, b, c: a.sigmoid(),
    "sqrt": lambda a, b, c: (a * a + 0.1).sqrt(),
    "abs": lambda a, b, c: a.abs(),
}


def random_program(seed: int, n_inputs: int = 3, n_steps: int = 25) -> tuple[list[float], list[Step]]:
    rng = random.Random(seed)
    inputs = [round(rng.uniform(-2.0, 2.0), 3) for _ in range(n_inputs)]
    steps: list[Step] = []
    for k in range(n_steps):
        op = rng.choice(BINARY + WITH_CONSTANT + UNARY)
        have = n_inputs + k
        # favour recent values so the graph is deep, sometimes reuse old ones
        a = rng.randrange(max(0, have - 4), have) if rng.random() < 0.7 else rng.randrange(have)
        b = rng.randrange(have)
        c = rng.choice([0.0, 1.0, -1.0, 0.5, 2.0, 3.0, -2.5, 1.7])
        if op == "powc":
            c = rng.choice([2.0, 3.0, 0.0, 1.0, -1.0])
        steps.append((op, a, b, c))
    return inputs, steps


def run_program(steps: list[Step], xs: list[ag.Value]) -> ag.Value:
    """The sum of the last few values of the program (so most steps matter)."""
    vals = list(xs)
    for op, a, b, c in steps:
        vals.append(APPLY[op](vals[a], vals[b], c))
    out = vals[-1]
    for v in vals[-4:-1]:
        out = out + v
    return out


def bits(x: float) -> str:
    """A float's bits, with every NaN the same (which NaN is unspecified)."""
    return "nan" if math.isnan(x) else x.hex()
