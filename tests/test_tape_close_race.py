"""Issue 11, item 1: Tape.close() while other threads run the tape.

The C engine's tape run used the tape's arrays without a lock that close
took, so a close in one thread freed them under a run in another (a
segfault once freed blocks are unmapped: MALLOC_MMAP_THRESHOLD_).  Now a
close waits for a run in progress, and every later run raises ReplayError.
"""

from __future__ import annotations

import pytest
from child import assert_ok, run_child

import autograd as ag

RACE = """
import sys, threading, time
import autograd as ag
from autograd import replay

ag.set_backend(sys.argv[1])
rounds = int(sys.argv[2])
xs = [ag.Value(0.5 + i / 1000) for i in range(400)]

def model():
    y = xs[0]
    for x in xs[1:]:
        y = (y * x).tanh() + x
    return y

stop = False
def contend():           # a third thread keeps the engine's lock busy
    big = model()
    for _ in range(50):
        big = big * 1.0000001 + 0.5
    while not stop:
        big.backward()

closed_errors = []
def runner(tape, started):
    started.set()
    try:
        while True:
            tape.run()
    except replay.ReplayError as exc:
        closed_errors.append(str(exc))

background = threading.Thread(target=contend)
background.start()
for r in range(rounds):
    tape = replay.record(model)
    started = [threading.Event() for _ in range(3)]
    threads = [threading.Thread(target=runner, args=(tape, s)) for s in started]
    for t in threads:
        t.start()
    for s in started:
        s.wait()
    time.sleep(0.002 * (r % 5))
    tape.close()
    for t in threads:
        t.join(30)
        assert not t.is_alive(), "a runner did not stop after close"
    try:
        tape.run()
        raise AssertionError("a closed tape ran")
    except replay.ReplayError:
        pass
stop = True
background.join()
del tape
assert len(closed_errors) == 3 * rounds, closed_errors
assert all("closed" in e for e in closed_errors)
assert ag.check() == 0
print("ok", ag.stats()["live_nodes"])
"""


@pytest.mark.parametrize("which", ["c", "python"])
def test_close_while_other_threads_run_the_tape(which):
    if which not in ag.available_backends():
        pytest.skip("C engine not built")
    rounds = "40" if which == "c" else "8"
    out = assert_ok(run_child(RACE, which, rounds, timeout=240,
                              env={"MALLOC_MMAP_THRESHOLD_": "65536"}))
    assert out.startswith("ok")


def test_verify_after_close_raises_replay_error(backend):
    from autograd import replay

    x = ag.Value(2.0)
    tape = replay.record(lambda: x * x)
    fresh = x * x
    tape.verify(fresh)
    tape.close()
    with pytest.raises(replay.ReplayError, match="closed"):
        tape.verify(fresh)
