"""Stateful fuzzing of both engines at once (hypothesis RuleBasedStateMachine).

Every rule does the same thing to a C Value and to its pure-Python twin:
create leaves, apply every op, drop Values in random order, gc.collect(),
flush, backward, zero_grad, set .data, read .inputs.  After every step both
arenas must satisfy their invariants (ag.check() == 0) and every pair of twins
must agree bitwise on value and gradient (NaN compared as a class).  At the
end, dropping everything must bring both arenas back to their starting number
of live nodes: no node leaks.

AUTOGRAD_FUZZ_EXAMPLES sets the number of programs (default 40, of up to
AUTOGRAD_FUZZ_STEPS = 40 steps each); CI's default runs in a few seconds.
"""

from __future__ import annotations

import gc
import math
import os

import pytest
from graphs import bits
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import autograd as ag
from autograd import backend as ag_backend
from autograd import ops
from autograd.value import _wrap, leaf

EXAMPLES = int(os.environ.get("AUTOGRAD_FUZZ_EXAMPLES", "40"))
STEPS = int(os.environ.get("AUTOGRAD_FUZZ_STEPS", "40"))

numbers = st.one_of(
    st.floats(-4.0, 4.0),
    st.floats(-4.0, 4.0),
    st.floats(-4.0, 4.0),
    st.sampled_from(
        [0.0, -0.0, 1.0, -1.0, 2.0, 0.5, 3.0, 1e-300, 5e-324, 1e308, -1e308, math.inf, -math.inf, math.nan]
    ),
)

# From the op table: a new op is fuzzed with no edit here.
BINARY = {op.name: (lambda x, y, m=op.method: getattr(x, m)(y))
          for op in ops.OPS if op.arity == 2 and op.method}
WITH_CONSTANT = {}
for _op in ops.OPS:
    if _op.const:
        WITH_CONSTANT[_op.const] = lambda x, c, m=_op.method: getattr(x, m)(c)
    if _op.right and _op.right != _op.const:
        WITH_CONSTANT[_op.right] = lambda x, c, m="__r" + _op.method[2:]: getattr(x, m)(c)
UNARY = [op.name for op in ops.OPS if op.arity == 1 and op.method]
UNARY_METHOD = {op.name: op.method for op in ops.OPS if op.arity == 1 and op.method}


def test_the_fuzzer_covers_every_op():
    covered = {"leaf", "primitive"} | set(BINARY) | set(WITH_CONSTANT) | set(UNARY)
    assert covered == set(ops.BY_NAME)


def unary(name: str, x: ag.Value) -> ag.Value:
    return getattr(x, UNARY_METHOD[name])()  # type: ignore[no-any-return]


class Twin:
    """The same node in both engines."""

    __slots__ = ("c", "py")

    def __init__(self, c: ag.Value, py: ag.Value) -> None:
        self.c = c
        self.py = py


class EnginesAgree(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engines = (ag_backend.ENGINES["c"], ag_backend.ENGINES["python"])
        self.cycles = False  # whether teardown needs the (slow) full collection
        self.baseline = [eng.stats()["live_nodes"] for eng in self.engines]
        self.twins: list[Twin] = []

    def pick(self, data: st.DataObject) -> Twin:
        """A random twin, the newest (deepest graph) half of the time."""
        if data.draw(st.booleans()):
            return self.twins[-1]
        return self.twins[data.draw(st.integers(0, len(self.twins) - 1))]

    def add(self, c: ag.Value, py: ag.Value) -> None:
        self.twins.append(Twin(c, py))

    @rule(x=numbers)
    def new_leaf(self, x: float) -> None:
        self.add(leaf(self.engines[0], x), leaf(self.engines[1], x))

    @precondition(lambda self: self.twins)
    @rule(name=st.sampled_from(sorted(BINARY)), data=st.data())
    def binary_op(self, name: str, data: st.DataObject) -> None:
        a, b = self.pick(data), self.pick(data)
        f = BINARY[name]
        self.add(f(a.c, b.c), f(a.py, b.py))

    @precondition(lambda self: self.twins)
    @rule(name=st.sampled_from(sorted(WITH_CONSTANT)), c=numbers, data=st.data())
    def constant_op(self, name: str, c: float, data: st.DataObject) -> None:
        a = self.pick(data)
        f = WITH_CONSTANT[name]
        self.add(f(a.c, c), f(a.py, c))

    @precondition(lambda self: self.twins)
    @rule(name=st.sampled_from(UNARY), data=st.data())
    def unary_op(self, name: str, data: st.DataObject) -> None:
        a = self.pick(data)
        self.add(unary(name, a.c), unary(name, a.py))

    @precondition(lambda self: self.twins)
    @rule(c=numbers, data=st.data())
    def primitive_op(self, c: float, data: st.DataObject) -> None:
        a, b = self.pick(data), self.pick(data)
        pairs = ((a.c, b.c), (a.py, b.py))
        made = [_wrap(x._eng, x._eng.apply(ops.PRIMITIVE, x._id, y._id, c)) for x, y in pairs]
        self.add(*made)

    @precondition(lambda self: self.twins)
    @rule(data=st.data())
    def drop(self, data: st.DataObject) -> None:
        del self.twins[data.draw(st.integers(0, len(self.twins) - 1))]

    @precondition(lambda self: self.twins)
    @rule(data=st.data(), keep=st.integers(0, 3))
    def drop_many(self, data: st.DataObject, keep: int) -> None:
        order = data.draw(st.permutations(range(len(self.twins))))
        self.twins = [self.twins[i] for i in order[:keep]]

    @precondition(lambda self: self.twins)
    @rule(data=st.data())
    def drop_into_a_cycle(self, data: st.DataObject) -> None:
        """Only the cycle collector can free these: __del__ then runs inside gc."""
        cycle: list[object] = [self.twins.pop(data.draw(st.integers(0, len(self.twins) - 1)))]
        cycle.append(cycle)
        self.cycles = True

    @rule(generation=st.sampled_from([0, 0, 1, 2]))
    def collect(self, generation: int) -> None:
        gc.collect(generation)  # a full collection costs ~50 ms with hypothesis loaded

    @rule()
    def flush(self) -> None:
        for eng in self.engines:
            eng.flush()

    @precondition(lambda self: self.twins)
    @rule(seed=numbers, data=st.data())
    def backward(self, seed: float, data: st.DataObject) -> None:
        a = self.pick(data)
        a.c.backward(seed)
        a.py.backward(seed)

    @precondition(lambda self: self.twins)
    @rule(data=st.data())
    def zero_grad(self, data: st.DataObject) -> None:
        a = self.pick(data)
        a.c.zero_grad()
        a.py.zero_grad()

    @precondition(lambda self: self.twins)
    @rule(x=numbers, data=st.data())
    def set_data(self, x: float, data: st.DataObject) -> None:
        a = self.pick(data)
        outcomes = []
        for v in (a.c, a.py):
            try:
                v.data = x
                outcomes.append("set")
            except AttributeError:
                outcomes.append("refused")
        assert outcomes[0] == outcomes[1]
        assert (outcomes[0] == "set") == (a.c.op == "leaf")

    @precondition(lambda self: self.twins)
    @rule(data=st.data())
    def inputs(self, data: st.DataObject) -> None:
        a = self.pick(data)
        ins_c, ins_py = a.c.inputs, a.py.inputs
        assert len(ins_c) == len(ins_py)
        for c, py in zip(ins_c, ins_py):
            self.add(c, py)

    @precondition(lambda self: self.twins)
    @rule(data=st.data())
    def detach(self, data: st.DataObject) -> None:
        a = self.pick(data)
        self.add(a.c.detach(), a.py.detach())

    @invariant()
    def arenas_consistent(self) -> None:
        assert ag.check("c") == 0
        assert ag.check("python") == 0

    @invariant()
    def twins_agree_bitwise(self) -> None:
        for t in self.twins:
            assert t.c.op == t.py.op
            assert bits(t.c.data) == bits(t.py.data), (t.c, t.py)
            assert bits(t.c.grad) == bits(t.py.grad), (t.c, t.py)

    @invariant()
    def newest_graph_agrees_node_by_node(self) -> None:
        """Every node of the newest twin's graph, in the same topological order:
        op, constant, value and gradient, so that an intermediate gradient
        that differs cannot hide behind a leaf that is no longer held."""
        if not self.twins:
            return
        t = self.twins[-1]
        eng_c, eng_py = self.engines
        nodes_c, nodes_py = eng_c.topo(t.c._id), eng_py.topo(t.py._id)
        assert len(nodes_c) == len(nodes_py)
        for nc, npy in zip(nodes_c, nodes_py):
            ic, ipy = eng_c.node(nc), eng_py.node(npy)
            assert ic.op == ipy.op
            assert (bits(ic.c), bits(ic.value), bits(ic.grad)) == (
                bits(ipy.c),
                bits(ipy.value),
                bits(ipy.grad),
            ), (ops.OPS[ic.op].name, ic, ipy)

    def teardown(self) -> None:
        self.twins.clear()
        if self.cycles:
            gc.collect()
        after = [eng.stats()["live_nodes"] for eng in self.engines]
        assert after == self.baseline, f"live nodes {self.baseline} -> {after}: a node leaked"


def run_state_machine() -> None:
    run = EnginesAgree.TestCase
    run.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    run().runTest()


@pytest.mark.usefixtures("both_backends")
def test_engines_agree_under_random_programs():
    if os.environ.get("AUTOGRAD_FUZZ_CHILD"):
        run_state_machine()
        return
    # A fresh process: ag.check() after every step walks the whole arena, and
    # in this process earlier tests have grown it to millions of nodes.
    import subprocess
    import sys

    env = dict(os.environ, AUTOGRAD_FUZZ_CHILD="1")
    test_id = f"{__file__}::{test_engines_agree_under_random_programs.__name__}"
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_id],
        env=env, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-2000:]
