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
from autograd import ops
from autograd.value import _wrap

Step = tuple[str, int, int, float]      # (op, first operand, second operand, constant)

# Everything below derives from the op table: a new op is in every program.
CONST_OF = {op.const: op for op in ops.OPS if op.const}      # addc -> add, ...
RIGHT_OF = {op.right: op for op in ops.OPS if op.right and op.right not in CONST_OF}  # rsubc -> sub


def _domain(op: ops.Op, v: ag.Value) -> ag.Value:
    """v moved into the op's domain (x * x + 0.5 > 0 for log, sqrt, pow)."""
    return v * v + 0.5 if op.domain == ops.POSITIVE else v


def apply_op(name: str, a: ag.Value, b: ag.Value, c: float) -> ag.Value:
    """A Value made by op ``name`` from a, b (when it takes two) or the number c."""
    op = ops.BY_NAME[name]
    if name in CONST_OF:                          # a <op> c
        binary = CONST_OF[name]
        return getattr(_domain(op, a), binary.method)(c)
    if name in RIGHT_OF:                          # c <op> a
        binary = RIGHT_OF[name]
        base = abs(c) if binary.domain == ops.POSITIVE else c
        return getattr(a, "__r" + binary.method[2:])(base)
    if name == "primitive":                       # made by ag.primitive, not by a method
        return _wrap(a._eng, a._eng.apply(ops.PRIMITIVE, a._id, b._id, c))
    if op.arity == 2:
        return getattr(_domain(op, a), op.method)(b)
    return getattr(_domain(op, a), op.method)()


# the ops a random program draws from: every op of the table a Value can make
PROGRAM_OPS = [op.name for op in ops.OPS if op.arity > 0 and op.name != "primitive"]
APPLY: dict[str, Callable[[ag.Value, ag.Value, float], ag.Value]] = {
    name: (lambda a, b, c, name=name: apply_op(name, a, b, c)) for name in PROGRAM_OPS}


def random_program(seed: int, n_inputs: int = 3, n_steps: int = 25) -> tuple[list[float], list[Step]]:
    rng = random.Random(seed)
    inputs = [round(rng.uniform(-2.0, 2.0), 3) for _ in range(n_inputs)]
    steps: list[Step] = []
    for k in range(n_steps):
        op = rng.choice(PROGRAM_OPS)
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
