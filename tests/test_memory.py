"""Nodes are reclaimed with no user action: a loop runs in flat memory."""

from __future__ import annotations

import gc

import autograd as ag


def test_training_loop_keeps_live_nodes_exactly_constant(backend):
    base = ag.stats()["live_nodes"]  # nodes other tests' objects still hold
    w = [ag.Value(0.1 * i) for i in range(4)]
    xs = [ag.Value(1.0 + i) for i in range(4)]
    counts = set()
    for step in range(20_000):
        loss = sum((wi * xi for wi, xi in zip(w, xs)), ag.Value(0.0)).tanh() ** 2
        loss.backward()
        for p in w:
            p.data -= 0.01 * p.grad
            p.grad = 0.0
        if step >= 10 and step % 1000 == 0:
            counts.add(ag.stats()["live_nodes"])
    assert len(counts) == 1, counts
    del loss
    gc.collect()
    # only the 8 leaves are left
    assert ag.stats()["live_nodes"] == base + 8


def test_freed_nodes_are_reused(backend):
    x = ag.Value(1.0)
    live = ag.stats()["live_nodes"]
    ys = [x * i for i in range(5000)]
    del ys
    capacity = ag.stats()["capacity"]
    for _ in range(3):
        ys = [x * i for i in range(5000)]
        del ys
        ag.stats()  # applies the pending releases
    # the free list was reused: the arena did not grow
    assert ag.stats() == {"live_nodes": live, "capacity": capacity}


def test_inputs_keep_a_graph_alive(backend):
    x = ag.Value(2.0)
    y = (x * 3).exp()
    (a,) = y.inputs          # a new handle on the x * 3 node
    del y
    gc.collect()
    assert a.data == 6.0 and a.op == "mulc"
    (b,) = a.inputs
    assert b.data == 2.0



REENTRY = """
from autograd.engine import FLUSH_THRESHOLD
from autograd.engine.python.arena import ar
import autograd as ag
ag.set_backend("python")
x = ag.Value(0.5)
values = [x * 2 for _ in range(FLUSH_THRESHOLD)]
with ar.lock:          # as if the collector ran these finalizers inside an engine call
    del values         # FLUSH_THRESHOLD __del__s: a flush, and a release, in here
print(ag.stats()["live_nodes"], ag.check())
"""


def test_release_from_a_finalizer_inside_the_python_engine():
    # the collector can run Value.__del__, and through it a flush, inside a
    # Python-engine call that holds the arena lock: that must not deadlock
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", REENTRY], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "0"]
