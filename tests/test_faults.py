"""Fault injection: an allocation that fails becomes MemoryError, and the arena
stays consistent (ag.check() == 0), leak-free and usable afterwards.

``eng.fail_after(n)`` makes the allocation after the next n fail once.  Both
engines count the same events (csrc/testing.h): eight when the arena grows
(one per array), one per sweep's scratch block (backward, gradients, topo),
two per tape, one per check.  The sweeps below find those counts by trying
n = 0, 1, 2, ... until the call succeeds, so they cover every allocation.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap

import pytest
from graphs import apply_op

import autograd as ag
from autograd import backend as ag_backend
from autograd import errors, ops
from autograd.engine.python.arena import ar as py_arena


def engine():
    return ag_backend.engine


# One maker per op code, from the op table: (x, y) -> a new Value made by that op.
OP_MAKERS = {op.name: (lambda x, y, name=op.name: apply_op(name, x, y, 2.0) if name != "leaf"
                       else ag.Value(0.25)) for op in ops.OPS}


def fill_arena() -> list[ag.Value]:
    """Leaves until no node is free and no capacity is spare: the next new
    node must grow the arena."""
    gc.collect()
    keep: list[ag.Value] = []
    while True:
        s = ag.stats()  # flushes pending releases
        if s["live_nodes"] == s["capacity"]:
            return keep
        keep.extend(ag.Value(0.0) for _ in range(s["capacity"] - s["live_nodes"]))


def refs(v: ag.Value) -> int:
    return v._eng.node(v._id).refs


def fails_with_memory_error(n: int, make) -> bool:
    """Run make() with the allocation after the next n made to fail."""
    eng = engine()
    eng.fail_after(n)
    try:
        make()
    except MemoryError as exc:
        assert "out of memory" in str(exc)
        return True
    finally:
        eng.fail_after(-1)
    return False


def test_growth_fails_cleanly_for_every_op(backend):
    x, y = ag.Value(0.5), ag.Value(1.5)
    base = ag.stats()["live_nodes"]
    keep = fill_arena()

    # A sweep over the allocations of one growth: each fails, the last succeeds.
    grow_allocs = 0
    while fails_with_memory_error(grow_allocs, lambda: keep.append(ag.Value(1.0))):
        assert ag.stats()["live_nodes"] == ag.stats()["capacity"]
        assert ag.check() == 0
        grow_allocs += 1
    assert grow_allocs >= 1, "filling the arena should have made the next node grow it"

    keep.extend(fill_arena())
    full = ag.stats()
    refs_before = (refs(x), refs(y))
    for name, make in OP_MAKERS.items():
        for n in range(grow_allocs):
            assert fails_with_memory_error(n, lambda make=make: make(x, y)), (name, n)
        assert ag.stats() == full, f"{name}: a failed op changed the arena"
        assert (refs(x), refs(y)) == refs_before, f"{name}: a failed op kept a reference"
        assert ag.check() == 0, name
    # usable again: each op now succeeds (the first grows the arena)
    made = {name: make(x, y) for name, make in OP_MAKERS.items()}
    assert made["mul"].data == 0.75 and made["rpowc"].data == 2.0**0.5
    made.clear()
    keep.clear()
    gc.collect()
    assert ag.stats()["live_nodes"] == base
    assert ag.check() == 0


def make_graph(xs: list[ag.Value]) -> ag.Value:
    """A DAG of a few hundred nodes touching every op with a gradient."""
    total = xs[0] * 0.0
    for i, x in enumerate(xs):
        y = xs[(i + 1) % len(xs)]
        t = (x * y + x / (y + 3.0) - y.sigmoid() + (x**2.0).sqrt() + 2.0**x).tanh()
        t = t + (x.abs() + 1.0).log() * x.sin() - x.cos().relu() + (-x).exp() / 4.0
        t = t + (y.abs() + 0.5) ** x + (1.0 - x) - 3.0 / (y * y + 1.0)
        total = total + t
    return total


def test_backward_fails_cleanly_at_every_allocation(backend):
    xs = [ag.Value(0.1 * i - 0.7) for i in range(14)]
    out = make_graph(xs)
    reference_xs = [ag.Value(x.data) for x in xs]
    make_graph(reference_xs).backward()
    reference = [x.grad for x in reference_xs]

    failures = 0
    while fails_with_memory_error(failures, lambda: out.backward()):
        assert all(x.grad == 0.0 for x in xs), "a failed backward changed a gradient"
        assert out.grad == 0.0
        assert ag.check() == 0
        failures += 1
    # the sweep takes one block for all its arrays (csrc/backward.c), so one
    # allocation can fail; reusing the kept block counts as one for the hook
    assert failures >= 1
    assert [x.grad for x in xs] == reference


def test_topo_and_check_fail_cleanly(backend):
    x = ag.Value(1.0)
    y = make_graph([x, x * 2.0])
    eng = engine()
    n = 0
    while fails_with_memory_error(n, lambda: errors.checked(eng.topo(y._id))):
        n += 1
    assert n >= 1
    assert errors.checked(eng.topo(y._id))[-1] == y._id
    eng.flush()
    eng.fail_after(0)
    try:
        assert eng.check() == errors.ENOMEM
    finally:
        eng.fail_after(-1)
    assert ag.check() == 0


def test_python_engine_survives_a_real_memory_error_part_way_through_a_growth():
    """A MemoryError from one of the arena's lists (not the test hook) while
    the arena grows must leave its capacity unchanged and the arena usable."""

    class FailingList(list):
        def extend(self, items):
            raise MemoryError

    x = ag_backend.ENGINES["python"]
    x.flush()
    fill = []
    while py_arena.free_head >= 0 or py_arena.count < py_arena.cap:  # the next node grows it
        fill.append(x.leaf(0.0))
    cap = py_arena.cap
    saved_slot = py_arena.slot
    py_arena.slot = FailingList(saved_slot)
    try:
        assert x.leaf(1.0) == errors.ENOMEM
    finally:
        py_arena.slot = list(py_arena.slot)
    assert py_arena.cap == cap and py_arena.count == cap
    node = x.leaf(3.0)
    assert x.value(node) == 3.0
    assert py_arena.cap == 2 * cap
    assert min(len(col) for col in (py_arena.value, py_arena.grad, py_arena.c, py_arena.a,
                                    py_arena.b, py_arena.refs, py_arena.slot, py_arena.op)) >= py_arena.cap
    x.release(fill + [node])
    assert ag.check("python") == 0


CHILD = textwrap.dedent(
    """
    import os, resource, sys
    import autograd as ag

    ag.set_backend(sys.argv[1])
    limited = os.environ.get("AUTOGRAD_SANITIZER") != "asan"
    if limited:
        # ASan reserves terabytes of address space: it gets max_allocation_size_mb instead
        with open("/proc/self/statm") as f:
            vm = int(f.read().split()[0]) * resource.getpagesize()
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (vm + int(sys.argv[2]) * 2**20, hard))
    x = ag.Value(1.0)
    steps = 0
    try:
        while True:
            x = x * 1.0000001 + 0.5
            steps += 1
    except MemoryError as exc:
        message = str(exc)
    if sys.argv[1] == "c":
        # the failed realloc took nothing: the C engine works on under the limit
        x = None
        a = ag.Value(3.0)
        b = a * a + a
        b.backward()
        assert a.grad == 7.0
    # The Python engine's lists hold the memory, so Python itself can do little
    # more under the limit; lift it (check() needs memory of its own as well).
    if limited:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    x = None
    assert ag.check() == 0, "arena inconsistent after MemoryError"
    a = ag.Value(3.0)
    b = a * a + a
    b.backward()
    assert a.grad == 7.0
    b = None
    live = ag.stats()["live_nodes"]
    print(f"MemoryError after {steps} steps: {message}; live nodes after release: {live}")
    """
)


# Several limits, so the MemoryError lands in different places: the engine's
# growth, a Value's allocation, a Value.__del__ that cannot record its release
# (56 MB leaked the whole chain before value.py handled the last two).  Known
# gap: at some limits (44 MB under pytest) the Python engine still leaks the
# chain; see docs/reliability.md.
@pytest.mark.parametrize("which, megabytes", [
    ("c", 32),
    ("python", 24),
    pytest.param("python", 56, marks=pytest.mark.xfail(
        run=False,
        reason="known gap, not run: at this limit the child sometimes never returns "
        "(seen stuck in mmap under CPython's frame allocation, on the Python backend); "
        "see docs/reliability.md",
    )),
])
def test_huge_graph_under_a_memory_limit_raises_memory_error(which, megabytes, tmp_path):
    if which not in ag.available_backends():
        pytest.skip("C engine not built")
    env = dict(os.environ)
    if env.get("AUTOGRAD_SANITIZER") == "asan":
        # ASan warns of each refused allocation: those expected warnings go to
        # tmp_path, not to the log that sanitize.sh fails on (a real ASan
        # error would still abort the child and fail this test)
        limits = f"allocator_may_return_null=1:max_allocation_size_mb=4:log_path={tmp_path}/asan"
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":" + limits
    elif env.get("AUTOGRAD_SANITIZER"):
        pytest.skip("cannot limit memory under " + env["AUTOGRAD_SANITIZER"])
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, which, str(megabytes)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, f"child died with {proc.returncode}:\n{proc.stdout}\n{proc.stderr[-3000:]}"
    assert "MemoryError after" in proc.stdout
    assert "live nodes after release: 1" in proc.stdout, proc.stdout  # the leaf a
