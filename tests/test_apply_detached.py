"""Engine.apply_detached: an op's value as a new leaf, with no edge recorded."""

from __future__ import annotations

import math

import autograd as ag
from autograd import backend as ag_backend
from autograd import errors, ops


def _engine(name: str):  # type: ignore[no-untyped-def]
    return ag_backend.ENGINES[name]


def test_value_equals_apply_and_no_edge(backend: str) -> None:
    eng = _engine(backend)
    x, y = ag.Value(1.7), ag.Value(-0.3)
    for code, info in enumerate(ops.OPS):
        if info.arity == 0:
            continue
        b = y._id if info.arity == 2 else -1
        recorded = eng.apply(code, x._id, b, 2.5)
        detached = eng.apply_detached(code, x._id, b, 2.5)
        assert detached >= 0
        got, want = eng.node(detached), eng.node(recorded)
        assert got.op == ops.LEAF and got.a == -1 and got.b == -1 and got.refs == 1
        assert got.value == want.value or (math.isnan(got.value) and math.isnan(want.value))
        eng.pending.extend([recorded, detached])
    eng.flush()
    # the detached leaves took no reference on x and y
    assert eng.node(x._id).refs == 1 and eng.node(y._id).refs == 1


def test_bad_op_and_bad_id(backend: str) -> None:
    eng = _engine(backend)
    x = ag.Value(1.0)
    assert eng.apply_detached(ops.LEAF, x._id, -1, 0.0) == errors.EBADOP
    assert eng.apply_detached(200, x._id, -1, 0.0) == errors.EBADOP
    assert eng.apply_detached(ops.ADD, x._id, -1, 0.0) == errors.EBADID
    assert eng.apply_detached(ops.EXP, x._id, x._id, 0.0) == errors.EBADID


def test_parity_between_backends(both_backends: list[str]) -> None:
    results = []
    for name in both_backends:
        ag.set_backend(name)
        eng = _engine(name)
        x, y = ag.Value(0.8), ag.Value(2.3)
        row = []
        for code, info in enumerate(ops.OPS):
            if info.arity == 0:
                continue
            node = eng.apply_detached(code, x._id, y._id if info.arity == 2 else -1, -1.5)
            row.append(eng.value(node).hex())
            eng.pending.append(node)
        results.append(row)
    assert results[0] == results[1]

