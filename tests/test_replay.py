"""Graph replay: equal to eager bit for bit on both backends, and loud when
it cannot stand for the computation."""

from __future__ import annotations

import gc
import random

import pytest
from graphs import bits

import autograd as ag
from autograd import Value, optim, replay


def all_bits(xs: list[float]) -> list[str]:
    return [bits(x) for x in xs]


def make_model(rng: random.Random) -> list[list[list[Value]]]:
    """A 2-8-8-1 MLP as layers of neurons of [w..., b]."""
    sizes = [2, 8, 8, 1]
    return [[[Value(rng.uniform(-1, 1)) for _ in range(nin + 1)] for _ in range(nout)]
            for nin, nout in zip(sizes, sizes[1:])]


def params(model: list[list[list[Value]]]) -> list[Value]:
    return [p for layer in model for neuron in layer for p in neuron]


def loss_fn(model: list[list[list[Value]]], xs: list[list[Value]], ys: list[float]) -> Value:
    total = Value(0.0)
    for x, y in zip(xs, ys):
        act = x
        for li, layer in enumerate(model):
            out = []
            for neuron in layer:
                s = neuron[-1]
                for w, xi in zip(neuron, act):
                    s = s + w * xi
                out.append(s.tanh() if li < len(model) - 1 else s)
            act = out
        total = total + (1 + -y * act[0]).relu()
    reg = sum((p * p for p in params(model)), Value(0.0))
    return total * (1.0 / len(ys)) + 1e-4 * reg


def data(rng: random.Random) -> tuple[list[list[float]], list[float]]:
    xs = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(6)]
    return xs, [1.0 if x[0] * x[1] > 0 else -1.0 for x in xs]


def train_eager(steps: int) -> tuple[list[float], list[float]]:
    rng = random.Random(7)
    model = make_model(rng)
    xs, ys = data(rng)
    xv = [[Value(v) for v in x] for x in xs]
    losses = []
    for _ in range(steps):
        loss = loss_fn(model, xv, ys)
        loss.backward()
        losses.append(loss.data)
        for p in params(model):
            p.data -= 0.1 * p.grad
            p.grad = 0.0
    return losses, [p.data for p in params(model)]


def train_replay(steps: int) -> tuple[list[float], list[float]]:
    rng = random.Random(7)
    model = make_model(rng)
    xs, ys = data(rng)
    xv = [[Value(v) for v in x] for x in xs]
    opt = optim.SGD(params(model), lr=0.1)
    losses = []
    with replay.record(lambda: loss_fn(model, xv, ys)) as tape:
        for _ in range(steps):
            opt.zero_grad()
            losses.append(tape.run())
            opt.step()
    return losses, [p.data for p in params(model)]


def test_replay_equals_eager_bitwise(backend: str) -> None:
    eager = train_eager(5)
    replayed = train_replay(5)
    assert all_bits(eager[0]) == all_bits(replayed[0])
    assert all_bits(eager[1]) == all_bits(replayed[1])
    assert eager[0][-1] < eager[0][0]


def test_replay_equal_across_backends(both_backends: list[str]) -> None:
    ag.set_backend("c")
    c = train_replay(3)
    ag.set_backend("python")
    py = train_replay(3)
    assert all_bits(c[0] + c[1]) == all_bits(py[0] + py[1])


def test_replay_uses_new_input_values(backend: str) -> None:
    x = Value(2.0)
    w = Value(3.0)
    tape = replay.record(lambda: (w * x).sin())
    x.data = -1.5
    got = tape.run()
    expect = (w * x).sin()
    expect.backward()
    assert bits(got) == bits(expect.data)
    tape.close()


def test_root_value_and_nonleaf_grads_reset(backend: str) -> None:
    x = Value(1.0)
    y = x * x
    tape = replay.Tape(y)
    x.data = 3.0
    assert tape.run() == 9.0 and y.data == 9.0
    assert tape.run() == 9.0 and y.grad == 1.0    # a fresh graph's grad, not 2
    assert x.grad == 12.0                          # leaves accumulate, as eager
    tape.close()


def test_value_read_while_recording_is_refused(backend: str) -> None:
    x = Value(1.0)

    def branchy() -> Value:
        return x * 2 if x.data > 0 else x * 3

    with pytest.raises(replay.ReplayError, match="read a value"):
        replay.record(branchy)
    replay.record(branchy, allow_reads=True).close()


def test_verify_catches_a_changed_graph(backend: str) -> None:
    x = Value(1.0)

    def branchy() -> Value:
        return x * 2 if x.data > 0 else (x * 3).exp()

    tape = replay.record(branchy, allow_reads=True)
    tape.verify(branchy())
    x.data = -1.0
    with pytest.raises(replay.ReplayError):
        tape.verify(branchy())
    tape.close()
    with pytest.raises(replay.ReplayError, match="closed"):
        tape.run()


def test_tape_keeps_its_graph_alive_until_closed(backend: str) -> None:
    x = Value(1.0)
    tape = replay.Tape((x + 1.0) * 2.0)
    live = ag.stats()["live_nodes"]
    assert tape.run() == 4.0
    assert len(tape) == 3
    tape.close()
    assert ag.stats()["live_nodes"] == live - 2


def test_a_closed_tape_keeps_none_of_the_callers_values_alive(backend: str) -> None:
    # tape.leaves of a recorded tape are the caller's own Values: once
    # closed, the tape (still referenced) must not hold them or their nodes
    base = ag.stats()["live_nodes"]
    xs = [Value(1.0)]
    tape = replay.record(lambda: (xs[0] + 1.0) * 2.0)
    assert tape.leaves[0] is xs[0]
    tape.close()
    xs.clear()
    gc.collect()
    assert ag.stats()["live_nodes"] == base
    with pytest.raises(replay.ReplayError, match="closed"):
        _ = tape.leaves


def test_sgd_refuses_non_leaves_and_changes_nothing(backend: str) -> None:
    x = Value(1.0)
    y = x + 1.0
    x.grad = y.grad = 1.0
    with pytest.raises(AttributeError, match="leaf"):
        optim.SGD([x, y], 0.1).step()
    assert x.data == 1.0


def test_out_of_memory_is_loud_and_changes_nothing(backend: str) -> None:
    eng = ag.backend.ENGINES[backend]
    x = Value(2.0)
    y = x * x
    y.backward()                # the sweep's scratch exists: reusing it must fail too
    x.grad = 0.0
    live = ag.stats()["live_nodes"]
    for attempt in (lambda: replay.Tape(y), y.backward):
        eng.fail_after(0)
        try:
            with pytest.raises(MemoryError):
                attempt()
        finally:
            eng.fail_after(-1)
        assert x.grad == 0.0 and ag.stats()["live_nodes"] == live
    with replay.Tape(y) as tape:
        assert tape.run() == 4.0 and x.grad == 4.0


def test_verify_catches_a_changed_constant_and_a_new_leaf(backend: str) -> None:
    x = Value(1.5)
    scale = [2.0]

    def fn() -> Value:
        return (x * scale[0]).tanh()

    tape = replay.record(fn)
    tape.verify(fn())
    scale[0] = 3.0                      # a number baked into the tape changed
    with pytest.raises(replay.ReplayError, match="constant"):
        tape.verify(fn())

    def fresh_leaf() -> Value:
        return x * Value(scale[0])      # a leaf made inside the function

    tape2 = replay.record(fresh_leaf)
    tape2.verify(fresh_leaf())          # a new leaf with the same value is fine
    scale[0] = 4.0
    with pytest.raises(replay.ReplayError, match="new leaf"):
        tape2.verify(fresh_leaf())
    tape.close()
    tape2.close()
