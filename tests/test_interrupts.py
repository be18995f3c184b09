"""Issue 11, item 3: Ctrl-C never breaks the arena, is never swallowed, and
what it orphans is reclaimed by ag.collect().

A thread sends SIGINT every few milliseconds (waiting until the last one was
seen) into a loop that builds a graph; the loop catches KeyboardInterrupt and
goes on.  Before: the C engine leaked whole graphs, the Python engine's
check() found refs == -1 left by an interrupted release cascade, and
Value.__del__ swallowed some interrupts ("Exception ignored in ...").
"""

from __future__ import annotations

import sys

import pytest
from child import assert_ok, run_child

import autograd as ag

CHILD = """
import gc, os, signal, sys, threading, time
import autograd as ag

# a shell that starts jobs in the background hands them SIGINT ignored
signal.signal(signal.SIGINT, signal.default_int_handler)
ag.set_backend(sys.argv[1])
interrupts = int(sys.argv[2])
gc.collect()
base = ag.stats()["live_nodes"]
seen = threading.Event()
inside = threading.Event()

def send():
    for _ in range(interrupts):
        # only into the counting try: sent while the main thread ran the
        # loop's header or the except clause, it would escape the count
        # (seen under load: "while caught < interrupts" raised it, the
        # child died, and this thread reported it swallowed)
        if not inside.wait(10):
            print("the main thread never got back into the loop", flush=True)
            os._exit(3)
        inside.clear()
        time.sleep(0.002)
        seen.clear()
        os.kill(os.getpid(), signal.SIGINT)
        if not seen.wait(10):
            print("an interrupt was swallowed", flush=True)
            os._exit(3)

caught = 0
bad_checks = 0
builds = 0
x = ag.Value(0.5)
sender = threading.Thread(target=send)
sender.start()
while caught < interrupts:
    try:
        # from here the only way out is an interrupt: each one is counted
        inside.set()
        while True:
            y = x
            for _ in range(2000):
                y = (y * 1.0000001).tanh() + x
            y.backward()
            builds += 1
            if builds % 25 == 1:
                bad_checks += ag.check() != 0
    except KeyboardInterrupt:
        caught += 1
        seen.set()
sender.join()
y = None
x = None
ag.collect()
assert ag.check() == 0, "arena invariants broken"
assert bad_checks == 0, f"{bad_checks} checks found a broken arena"
live = ag.stats()["live_nodes"]
assert live == base, f"{live - base} nodes leaked"
print("ok", caught)
"""


# The Python engine keeps its arena whole wherever CPython 3.11+ can raise an
# interrupt (calls and backward jumps: see engine/python/arena.py); 3.9 and
# 3.10 check for signals between more bytecodes, which the ordering does not
# cover (seen in CI on 3.9: "arena invariants broken").  The C engine is safe
# on every version.
PYTHON_ENGINE_SAFE = sys.version_info >= (3, 11)


@pytest.mark.parametrize("which, interrupts", [
    ("c", 200),
    pytest.param("python", 100, marks=pytest.mark.xfail(
        not PYTHON_ENGINE_SAFE, reason="the Python engine's interrupt safety needs CPython 3.11+",
        run=False, strict=True)),
])
def test_interrupts_break_nothing_and_are_all_delivered(which, interrupts):
    if which not in ag.available_backends():
        pytest.skip("C engine not built")
    proc = run_child(CHILD, which, str(interrupts), timeout=300)
    out = assert_ok(proc)
    assert out.startswith("ok")
    assert "Exception ignored" not in proc.stderr, proc.stderr[-2000:]


def test_collect_reclaims_nodes_no_value_holds(backend):
    from autograd import backend as ag_backend
    from autograd import ops

    eng = ag_backend.ENGINES[backend]
    base = ag.stats()["live_nodes"]
    x = ag.Value(1.0)
    y = x * 2.0
    orphan = eng.leaf(3.0)                              # as if the Value never got the id
    eng.apply(ops.BY_NAME["mulc"].code, orphan, -1, 1.0)
    for _ in range(10):
        eng.apply(ops.BY_NAME["mulc"].code, x._id, -1, 1.0)
    assert ag.stats()["live_nodes"] == base + 14
    assert ag.collect(backend) == 12
    assert ag.stats()["live_nodes"] == base + 2
    assert (x.data, y.data) == (1.0, 2.0)
    y.backward()
    assert x.grad == 2.0
    del x, y
    assert ag.stats()["live_nodes"] == base
    assert ag.collect(backend) == 0


WEAK_MAP_CHILD = """
import signal, sys, time, weakref
import autograd as ag
from autograd import modes

signal.signal(signal.SIGINT, signal.default_int_handler)
ag.set_backend(sys.argv[1])
remove_code = weakref.WeakValueDictionary.__init__.__code__.co_consts
remove_code = next(c for c in remove_code if getattr(c, "co_name", "") == "remove")

def raise_in_remove(frame, event, arg):
    # an interrupt at the callback's first instruction, as a SIGINT that
    # arrives while the Value is being freed
    if event == "call" and frame.f_code is remove_code:
        raise KeyboardInterrupt
    return None

caught = 0
try:
    with modes.noting_operands() as seen:
        v = ag.Value(1.0)
        seen[(0, 0)] = v
        sys.settrace(raise_in_remove)
        del v                       # the map's callback runs, and drops the interrupt
        sys.settrace(None)
        for _ in range(500):        # the interrupt handed back lands here
            time.sleep(0.01)        # (short sleeps: interrupt_main sends no real signal)
except KeyboardInterrupt:
    caught += 1
print("caught", caught)
"""


def test_an_interrupt_in_the_operand_maps_callback_is_handed_back(backend):
    """tests/test_stress_mix.py on 3.13: "Exception ignored in: <function
    WeakValueDictionary.__init__.<locals>.remove>: KeyboardInterrupt" (3 of
    10 runs under load): a SIGINT landed in the callback of modes'
    operand map, which Python drops, and the interrupt was lost."""
    proc = run_child(WEAK_MAP_CHILD, backend, timeout=60)
    assert assert_ok(proc).strip() == "caught 1"
    assert "Exception ignored" not in proc.stderr, proc.stderr[-2000:]
