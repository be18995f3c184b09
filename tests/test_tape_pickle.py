"""Tapes that pickle, and ``tape.leaves``: a pickled tape loads, in this
process or another, on either backend, as a standalone tape whose ``run`` and
``run_batch`` give the original's results bit for bit from the same leaf
values; a corrupted or foreign payload raises TapeFormatError, never reaches
the engine."""

from __future__ import annotations

import copy
import pickle
import random
import sys

import pytest
from child import assert_ok, run_child
from graphs import apply_op, bits, random_program, run_program

import autograd as ag
from autograd import ops, replay, tape_pickle
from autograd.tape_pickle import TapeFormatError

RULE_OPS = [op.name for op in ops.OPS if op.arity > 0 and op.name != "primitive"]


def results(tape: replay.Tape, rows: list[list[float]], seed: float = 0.75) -> list[str]:
    """Everything a tape computes from its leaves' present values: one run
    (root, every leaf's grad), then run_batch over rows fed to its first
    leaves (values, grads_of, the other leaves' summed grads), as bits."""
    leaves = tape.leaves
    for v in leaves:
        v.grad = 0.0
    out = [bits(tape.run(seed))] + [bits(v.grad) for v in leaves]
    k = min(len(rows[0]), len(leaves))
    cols = {leaves[j]: [row[j] for row in rows] for j in range(k)}
    values, grads = tape.run_batch(cols, seed=seed, grads_of=leaves[:k], threads=2)
    out += [bits(x) for x in values] + [bits(x) for g in grads for x in g]
    return out + [bits(v.grad) for v in leaves[k:]]


def program_tape(seed: int) -> tuple[replay.Tape, list[list[float]]]:
    """A recorded random program (its inputs and two parameters as leaves)
    and rows of values for its first two leaves."""
    inputs, steps = random_program(seed, n_inputs=4, n_steps=30)
    xs = [ag.Value(x) for x in inputs]
    tape = replay.record(lambda: run_program(steps, xs))
    rng = random.Random(seed)
    rows = [[rng.uniform(-2.0, 2.0) for _ in range(min(2, len(tape.leaves)))] for _ in range(70)]
    return tape, rows


@pytest.mark.parametrize("seed", range(25))
def test_a_loaded_tape_computes_what_the_original_does_bit_for_bit(backend, seed):
    tape, rows = program_tape(seed)
    loaded = pickle.loads(pickle.dumps(tape))
    assert len(loaded) == len(tape)
    assert [bits(v.data) for v in loaded.leaves] == [bits(v.data) for v in tape.leaves]
    assert loaded.leaves[0]._id != tape.leaves[0]._id          # standalone: its own nodes
    assert results(loaded, rows) == results(tape, rows)
    # the same from other leaf values, set on both after the pickle was made
    for v, w in zip(tape.leaves, loaded.leaves):
        v.data = w.data = v.data * 0.5 - 0.25
    assert results(loaded, rows) == results(tape, rows)


@pytest.mark.parametrize("name", RULE_OPS)
def test_every_op_survives_a_pickle(backend, name):
    a, b = ag.Value(0.7, label="a"), ag.Value(1.3)
    tape = replay.record(lambda: apply_op(name, a, b, 1.5) * a)
    loaded = pickle.loads(pickle.dumps(tape))
    rows = [[x / 7.0, 1.0 - x / 9.0] for x in range(-10, 11)]
    assert results(loaded, rows) == results(tape, rows)
    assert loaded.leaves[0].label == "a"


@pytest.mark.parametrize("make, load", [("c", "python"), ("python", "c")])
def test_a_tape_pickled_on_one_backend_loads_on_the_other(both_backends, make, load):
    ag.set_backend(make)
    tape, rows = program_tape(7)
    data = pickle.dumps(tape)
    ag.set_backend(load)
    loaded = pickle.loads(data)
    assert loaded.leaves[0]._eng is not tape.leaves[0]._eng
    assert results(loaded, rows) == results(tape, rows)


CHILD = """
import pickle, sys
import autograd as ag
from graphs import bits
ag.set_backend(sys.argv[1])
with open(sys.argv[2], "rb") as f:
    tape = pickle.load(f)
rows = [[x / 10.0, x / 20.0] for x in range(70)]
values, grads = tape.run_batch({tape.leaves[0]: [r[0] for r in rows],
                                tape.leaves[1]: [r[1] for r in rows]}, seed=0.75,
                               grads_of=tape.leaves[:2])
print(" ".join([bits(x) for x in values] + [bits(x) for g in grads for x in g]
               + [bits(v.grad) for v in tape.leaves[2:]]))
"""


def test_a_tape_loads_in_another_process(backend, tmp_path):
    x, y, w, b = ag.Value(0.5), ag.Value(-1.5), ag.Value(0.75), ag.Value(0.125)
    tape = replay.record(lambda: ((x * w + y * w * w + b).tanh() - (x / w).exp() + (y * b).sin()) ** 2)
    path = tmp_path / "tape.pickle"
    path.write_bytes(pickle.dumps(tape))
    rows = [[x / 10.0, x / 20.0] for x in range(70)]
    leaves = tape.leaves
    for v in leaves:
        v.grad = 0.0
    values, grads = tape.run_batch({leaves[0]: [r[0] for r in rows], leaves[1]: [r[1] for r in rows]},
                                   seed=0.75, grads_of=leaves[:2])
    here = " ".join([bits(x) for x in values] + [bits(x) for g in grads for x in g]
                    + [bits(v.grad) for v in leaves[2:]])
    for where in ag.available_backends():
        proc = run_child(CHILD, where, str(path), env={"PYTHONPATH": _tests_path()})
        assert assert_ok(proc).strip() == here, where


def _tests_path() -> str:
    import os

    return os.pathsep.join([os.path.dirname(__file__), *sys.path])


def test_leaves_are_the_recorded_leaves_in_order_and_key_run_batch(backend):
    w, x, y = ag.Value(3.0), ag.Value(0.5), ag.Value(-1.0)
    tape = replay.record(lambda: (w * x).tanh() + x * y)
    leaves = tape.leaves
    assert leaves == (w, x, y)                          # the caller's Values, depth first, a before b
    # a tape made from a root alone gives new Values on the same nodes
    other = replay.Tape(tape.root)
    assert [v._id for v in other.leaves] == [w._id, x._id, y._id] and other.leaves[0] is not w
    assert other.leaves is other.leaves                 # made once
    other.leaves[0].data = 2.0
    assert w.data == 2.0
    other.close()
    by_leaves = tape.run_batch({leaves[1]: [0.1, 0.2]}, grads_of=[leaves[2]])
    grad_w, grad_y = w.grad, y.grad
    w.grad = y.grad = 0.0
    by_values = tape.run_batch({x: [0.1, 0.2]}, grads_of=[y])
    assert [list(r) for r in (by_leaves[0], *by_leaves[1])] == \
        [list(r) for r in (by_values[0], *by_values[1])]
    assert (w.grad, y.grad) == (grad_w, grad_y) != (0.0, 0.0)
    tape.close()
    with pytest.raises(replay.ReplayError, match="closed"):
        _ = tape.leaves
    with pytest.raises(replay.ReplayError, match="closed"):
        pickle.dumps(tape)


def test_a_copy_is_a_standalone_tape(backend):
    x = ag.Value(0.5)
    tape = replay.record(lambda: x.exp() * x)
    twin = copy.deepcopy(tape)
    twin.leaves[0].data = 2.0
    assert twin.run() == (ag.Value(2.0).exp() * 2.0).data
    assert x.data == 0.5                                 # the original's leaf is its own
    assert tape.run() == (ag.Value(0.5).exp() * 0.5).data
    tape.close()
    assert twin.run() == (ag.Value(2.0).exp() * 2.0).data     # the copy outlives the original


# --- corrupted and foreign payloads ------------------------------------------

def small_payload() -> dict:
    x, y = ag.Value(0.5), ag.Value(2.0)
    tape = replay.record(lambda: (x * y).sin() + 3.0 * x)
    return tape_pickle.payload(tape)


def resealed(p: dict, **changes) -> dict:
    """p with some fields changed and its checksum made right again: a
    payload that is consistent but wrong, which the loader's checks must
    catch on their own."""
    from array import array

    q = dict(p)
    for name, value in changes.items():
        q[name] = array({"op": "H", "a": "i", "b": "i", "c": "d", "leaf_values": "d"}[name],
                        value).tobytes() if isinstance(value, list) else value
    q["crc32"] = tape_pickle._crc({name: q[name] for name, _ in tape_pickle._ARRAYS})
    return q


def test_a_payload_loads_and_what_it_holds(backend):
    p = small_payload()
    assert p["format"] == tape_pickle.FORMAT and p["version"] == tape_pickle.VERSION
    assert sorted(p["ops"]) == sorted({"leaf", "mul", "sin", "mulc", "add"})
    tape = tape_pickle.load(p)
    assert [v.data for v in tape.leaves] == [0.5, 2.0]


@pytest.mark.parametrize("change, message", [
    (lambda p: {**p, "version": 2}, "version 2"),
    (lambda p: {**p, "format": "numpy"}, "not a"),
    (lambda p: ["not", "a", "dict"], "not a"),
    (lambda p: {**p, "crc32": p["crc32"] ^ 1}, "checksum"),
    (lambda p: {**p, "c": p["c"][:-1]}, "checksum"),
    (lambda p: {k: v for k, v in p.items() if k != "a"}, "missing"),
    (lambda p: {**p, "ops": [*p["ops"][:-1], "frobnicate"]}, "frobnicate"),
    (lambda p: {**p, "ops": [*p["ops"][:-1], "primitive"]}, "primitive"),
    (lambda p: resealed(p, a=[0] * (len(p["a"]) // 4)), "inputs"),
    (lambda p: resealed(p, a=[len(p["a"]) // 4] * (len(p["a"]) // 4)), "inputs"),
    (lambda p: resealed(p, op=[0] * (len(p["op"]) // 2)), "inputs"),
    (lambda p: resealed(p, op=[99] * (len(p["op"]) // 2)), "out of range"),
    (lambda p: resealed(p, leaf_values=[1.0]), "leaf values"),
    (lambda p: resealed(p, c=[0.0]), "differ in length"),
    (lambda p: resealed(p, op=[], a=[], b=[], c=[]), "empty"),
    (lambda p: {**p, "labels": {7: "x"}}, "labels"),
    (lambda p: {**p, "byteorder": None}, "byte order"),
])
def test_a_corrupted_or_foreign_payload_raises_a_clear_error(backend, change, message):
    bad = change(small_payload())
    live = ag.stats()["live_nodes"]
    with pytest.raises(TapeFormatError, match=message):
        tape_pickle.load(bad)
    assert ag.stats()["live_nodes"] == live          # nothing was built


def test_a_root_that_is_not_last_is_refused(backend):
    x = ag.Value(0.5)
    p = tape_pickle.payload(replay.record(lambda: x.sin().cos()))
    # positions: leaf, sin, cos; make cos read the leaf: sin is read by nobody
    q = resealed(p, a=[0, 1, 1])
    with pytest.raises(TapeFormatError, match="root must be last"):
        tape_pickle.load(q)


def test_every_flipped_byte_of_a_pickle_raises_or_loads_the_same_tape(backend):
    """No corruption of the pickled bytes reaches the engine: each raises an
    exception, or (a changed label, a pickle opcode that means the same)
    loads a tape that computes the same bits."""
    x, y = ag.Value(0.5, label="x"), ag.Value(2.0)
    tape = replay.record(lambda: (x * y).sin() + x / y)
    data = pickle.dumps(tape)
    rows = [[0.25 * k, 1.0 + k] for k in range(5)]
    want = results(tape, rows)
    rng = random.Random(0)
    raised = 0
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 1 << rng.randrange(8)
        try:
            loaded = pickle.loads(bytes(bad))
        except Exception:
            raised += 1
            continue
        if isinstance(loaded, replay.Tape):
            assert results(loaded, rows) == want, i
            loaded.close()
    assert raised > len(data) // 2


def test_a_big_tape_pickles_compactly(backend):
    # the model of bench W5: its payload is a few bytes a node, not a pickle of objects
    from autograd import nn

    model = nn.MLP(2, [16, 16, 1])
    x1, x2 = ag.Value(0.0), ag.Value(0.0)
    tape = replay.record(lambda: model([x1, x2]))
    leaves = set(map(id, tape.leaves))
    assert leaves == set(map(id, [x1, x2, *model.parameters()]))    # the model's own Values
    data = pickle.dumps(tape)
    assert len(data) < 30 * len(tape) + 1000
