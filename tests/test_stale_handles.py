"""Issue 11, item 2: a Value must never reach a node that is not its own.

A Value resurrected by another object's finalizer during garbage collection
(PEP 442: its own __del__ already ran and gave its node up) kept the node's
id; once new Values reused the id it read their data and backward added into
their grads.  Now __del__ points the Value at an engine whose every function
raises ReferenceError.  And ``v.__init__(5.0)`` no longer makes a second node
over the first (a leak): Value is built by __new__.
"""

from __future__ import annotations

import gc

import pytest

import autograd as ag


class Holder:
    saved: list[ag.Value] = []

    def __init__(self, v: ag.Value) -> None:
        self.v = v
        self.me = self          # a cycle: only the collector frees it

    def __del__(self) -> None:
        Holder.saved.append(self.v)     # resurrects v after its __del__ ran


def test_a_resurrected_value_never_reaches_another_node(backend):
    gc.collect()
    base = ag.stats()["live_nodes"]
    x = ag.Value(2.0)
    y = x * 3.0
    Holder(y)
    Holder(x)
    del x, y
    gc.collect()
    assert len(Holder.saved) == 2
    ag.stats()                              # flush: the nodes are released
    newcomers = [ag.Value(float(100 + i)) for i in range(50)]   # reuse the ids
    for v in Holder.saved:
        with pytest.raises(ReferenceError, match="resurrected"):
            _ = v.data
        with pytest.raises(ReferenceError):
            _ = v.grad
        with pytest.raises(ReferenceError):
            v.backward()
        with pytest.raises(ReferenceError):
            v * 2.0
        with pytest.raises(ReferenceError):
            newcomers[0] + v
        with pytest.raises(ReferenceError):
            v.data = 1.0
    assert [n.data for n in newcomers] == [float(100 + i) for i in range(50)]
    assert all(n.grad == 0.0 for n in newcomers)
    Holder.saved.clear()
    del newcomers
    assert ag.stats()["live_nodes"] == base
    assert ag.check() == 0


def test_calling_init_again_makes_no_second_node(backend):
    gc.collect()
    base = ag.stats()["live_nodes"]
    v = ag.Value(2.0)
    for _ in range(10):
        v.__init__(5.0)     # does nothing (object.__init__)
    assert v.data == 2.0
    del v
    assert ag.stats()["live_nodes"] == base
