"""Issue 11, item 4: fork while another thread is inside the engine.

A lock held by another thread at fork() stays locked in the child forever
(only the forking thread is copied).  The engines now take their locks
before a fork and hand the child fresh ones (pthread_atfork in csrc/arena.c,
os.register_at_fork for the Python engine, Engine.flush and modes.py), so
the child finds a consistent arena and can use autograd at once.
"""

from __future__ import annotations

import pytest
from child import assert_ok, run_child

import autograd as ag

FORK = """
import os, sys, threading, time
import autograd as ag

ag.set_backend(sys.argv[1])
x = ag.Value(0.3)
y = x
for _ in range(int(sys.argv[2])):
    y = (y * 1.0000001).tanh() + x

stop = False
started = threading.Event()
def busy():                 # in the engine nearly all the time
    started.set()
    while not stop:
        y.backward()
        with ag.no_grad():
            z = x * 2.0
        del z

t = threading.Thread(target=busy)
t.start()
started.wait()
for i in range(int(sys.argv[3])):
    time.sleep(0.003 * (i % 4))
    pid = os.fork()
    if pid == 0:
        try:
            a = ag.Value(2.0)
            with ag.no_grad():
                b = a * 3.0
            c = (a * a).sin() + b
            c.backward()
            ok = a.grad == (2 * 2.0 * __import__("math").cos(4.0)) and ag.check() == 0
            y.backward()                       # the graph the parent's thread was using
            ok = ok and ag.check() == 0
        except BaseException as exc:
            print("child failed:", repr(exc), flush=True)
            ok = False
        os._exit(0 if ok else 1)
    deadline = time.monotonic() + 10
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            stop = True
            t.join()
            sys.exit(f"child {i} deadlocked")
        time.sleep(0.005)
    assert os.waitstatus_to_exitcode(status) == 0, f"child {i} failed"
stop = True
t.join()
assert ag.check() == 0
print("ok")
"""

POOL = """
import multiprocessing as mp, sys, threading
import autograd as ag

def work(k):
    x = ag.Value(float(k))
    y = x * x + x
    y.backward()
    return x.grad

if __name__ == "__main__":
    ag.set_backend(sys.argv[1])
    x = ag.Value(0.3)
    y = x
    for _ in range(int(sys.argv[2])):
        y = (y * 1.0000001).tanh() + x
    stop = False
    def busy():
        while not stop:
            y.backward()
    t = threading.Thread(target=busy)
    t.start()
    try:
        ctx = mp.get_context("fork")
        for _ in range(3):
            with ctx.Pool(2) as pool:
                assert pool.map(work, range(6), chunksize=1) == [2.0 * k + 1 for k in range(6)]
    finally:
        stop = True
        t.join()
    print("ok")
"""


@pytest.mark.parametrize("which, nodes", [("c", 200_000), ("python", 5_000)])
def test_fork_while_another_thread_is_in_the_engine(which, nodes):
    if which not in ag.available_backends():
        pytest.skip("C engine not built")
    out = assert_ok(run_child(FORK, which, str(nodes), "12", timeout=400))
    assert out.strip().endswith("ok")


@pytest.mark.parametrize("which, nodes", [("c", 200_000), ("python", 5_000)])
def test_multiprocessing_fork_pool_while_a_thread_is_in_the_engine(which, nodes):
    if which not in ag.available_backends():
        pytest.skip("C engine not built")
    out = assert_ok(run_child(POOL, which, str(nodes), timeout=120))
    assert out.strip().endswith("ok")
