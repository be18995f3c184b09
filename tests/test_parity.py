"""The two backends agree bitwise on values and gradients of random graphs.

A program is a list of instructions over earlier results: leaves (special
values included), every op with Value or number operands.  It is built on
both backends; every node's value and gradient must have the same bits
(NaN compared as a class: which NaN C returns is unspecified).
"""

from __future__ import annotations

import math

from graphs import bits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import autograd as ag
from autograd import ops

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 3.0, -3.0, 1e-310, -1e-310, 1e308, -1e308,
           math.inf, -math.inf, math.nan, 1e-8, 700.0, -700.0]

numbers = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=-5, max_value=5),
)

# from the op table: a new op is in every program with no edit here
BINARY = [op.method[2:-2] for op in ops.OPS if op.arity == 2 and op.method]    # add, ..., truediv, pow
UNARY = {op.name: op.method for op in ops.OPS if op.arity == 1 and op.method}   # neg -> __neg__, ...

instruction = st.one_of(
    st.tuples(st.just("leaf"), numbers),
    st.tuples(st.just("binary"), st.sampled_from(BINARY), st.integers(0, 10**6), st.integers(0, 10**6)),
    st.tuples(st.just("const"), st.sampled_from(BINARY), st.integers(0, 10**6), numbers, st.booleans()),
    st.tuples(st.just("unary"), st.sampled_from(sorted(UNARY)), st.integers(0, 10**6)),
)

programs = st.tuples(st.lists(numbers, min_size=1, max_size=4),
                     st.lists(instruction, min_size=1, max_size=40), numbers)


def run(program, backend: str):
    leaves, body, seed = program
    ag.set_backend(backend)
    nodes = [ag.Value(x) for x in leaves]
    for ins in body:
        kind = ins[0]
        if kind == "leaf":
            nodes.append(ag.Value(ins[1]))
        elif kind == "binary":
            _, name, i, j = ins
            a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
            nodes.append(getattr(a, f"__{name}__")(b))
        elif kind == "const":
            _, name, i, c, right = ins
            a = nodes[i % len(nodes)]
            nodes.append(getattr(a, f"__r{name}__" if right else f"__{name}__")(c))
        else:
            _, name, i = ins
            a = nodes[i % len(nodes)]
            nodes.append(getattr(a, UNARY[name])())
    root = nodes[-1]
    root.backward(seed)
    root.backward(seed)   # a second sweep adds the same again, on both
    return [(v.data, v.grad) for v in nodes]


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(programs)
def test_backends_agree_bitwise(both_backends, program):
    c = run(program, "c")
    py = run(program, "python")
    assert [(bits(v), bits(g)) for v, g in c] == [(bits(v), bits(g)) for v, g in py]


def test_libm_functions_agree_bitwise_on_a_grid(both_backends):
    xs = [i / 7.0 - 40.0 for i in range(561)] + SPECIAL
    for name in UNARY:
        out = {}
        for b in ("c", "python"):
            ag.set_backend(b)
            vals = []
            for x in xs:
                v = ag.Value(x)
                y = getattr(v, UNARY[name])()
                y.backward()
                vals.append((bits(y.data), bits(v.grad)))
            out[b] = vals
        assert out["c"] == out["python"], name
