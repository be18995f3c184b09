"""Issue 11, item 5: backward over a graph whose leaf was set afterwards.

``x = Value(2.0); y = x.sin() * x; x.data = 3.0; y.backward()`` gave the
derivative at neither point.  Now it raises StaleGraphError naming the leaf,
with the same message on both engines; replay (which recomputes) and the
usual loop (update .data after backward, build a new graph) keep working.
"""

from __future__ import annotations

import math

import pytest

import autograd as ag
from autograd import replay


def test_backward_after_setting_a_leaf_raises_naming_it(backend):
    x = ag.Value(2.0)
    y = x.sin() * x
    x.data = 3.0
    with pytest.raises(ag.StaleGraphError, match="the leaf now holding 3.0 had its .data set"):
        y.backward()
    assert x.grad == 0.0        # nothing was added
    with pytest.raises(ag.StaleGraphError):
        ag.gradients(y, [x])
    with pytest.raises(ag.StaleGraphError):
        ag.gradients(y, [x], create_graph=True)


def test_the_same_message_on_both_engines(both_backends):
    messages = []
    for name in both_backends:
        ag.set_backend(name)
        x, w = ag.Value(2.0), ag.Value(-1.5)
        y = (x * w).tanh() + w
        w.data = 0.25
        with pytest.raises(ag.StaleGraphError) as info:
            y.backward()
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "0.25" in messages[0]


def test_the_usual_loop_keeps_working(backend):
    w = ag.Value(0.5)
    for _ in range(5):
        loss = (w * 3.0 - 1.0) ** 2
        loss.backward()
        w.data -= 0.01 * w.grad      # the old graph is still alive (loss)
        w.grad = 0.0
    loss = (w * 3.0 - 1.0) ** 2      # a new graph after the update
    loss.backward()
    assert w.grad == pytest.approx(2 * (w.data * 3.0 - 1.0) * 3.0)


def test_an_sgd_step_then_a_new_graph(backend):
    from autograd.nn import optim
    w = ag.Value(0.5)
    opt = optim.SGD([w], lr=0.1)
    loss = w * w
    loss.backward()
    opt.step()
    with pytest.raises(ag.StaleGraphError):
        loss.backward()
    opt.zero_grad()
    (w * w).backward()
    assert w.grad == 2 * w.data


def test_replay_recomputes_and_is_never_stale(backend):
    x = ag.Value(2.0)
    tape = replay.record(lambda: x.sin() * x)
    x.data = 3.0
    assert tape.run() == math.sin(3.0) * 3.0
    assert x.grad == math.cos(3.0) * 3.0 + math.sin(3.0)
    x.grad = 0.0
    tape.root.backward()        # the tape recomputed the graph: not stale
    assert x.grad == math.cos(3.0) * 3.0 + math.sin(3.0)
    tape.close()


def test_a_graph_built_on_a_replayed_graph_is_stale_after_another_run(backend):
    x = ag.Value(2.0)
    tape = replay.record(lambda: x * x)
    z = tape.root + 1.0             # reads the tape's root
    x.data = 3.0
    tape.run()                      # recomputes the root under z
    with pytest.raises(ag.StaleGraphError, match="recomputed by a Tape run"):
        z.backward()
    tape.close()


def test_a_leaf_set_before_the_graph_is_built_is_fine(backend):
    x = ag.Value(2.0)
    x.data = 5.0
    y = x * x
    assert x.data == 5.0        # reading is not writing
    y.backward()
    assert x.grad == 10.0
