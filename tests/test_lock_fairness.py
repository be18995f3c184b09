"""Issue 11, item 6: a thread's small ops are not starved by another thread
looping backward.  The C engine's lock was a plain mutex: the thread that
just released it took it again before a waiter woke, so 200 trivial ops took
up to 4.6 s each.  Now a waiter gets in after about one critical section.

Not a benchmark: the bound is ten backward durations (plus a margin for a
busy machine), where the unfair lock gave hundreds.
"""

from __future__ import annotations

import pytest
from child import assert_ok, run_child

import autograd as ag

STARVE = """
import statistics, sys, threading, time
import autograd as ag

ag.set_backend(sys.argv[1])
x = ag.Value(0.3)
y = x
for _ in range(int(sys.argv[2])):
    y = (y * 1.0000001).tanh() + x

stop = False
done = 0                    # backward calls completed by the other thread
durations = []
started = threading.Event()
def loop_backward():
    global done
    started.set()
    while not stop:
        t = time.perf_counter()
        y.backward()
        durations.append(time.perf_counter() - t)
        done += 1

t = threading.Thread(target=loop_backward)
t.start()
started.wait()
time.sleep(0.05)
waits, overtaken = [], []
a = ag.Value(1.0)
for _ in range(int(sys.argv[3])):
    time.sleep(0.001)   # lets the other thread back into the engine
    before = done
    t0 = time.perf_counter()
    b = a * 2.0
    waits.append(time.perf_counter() - t0)
    overtaken.append(done - before)
stop = True
t.join()
backward_time = statistics.median(durations)
print(f"backward {backward_time * 1e3:.2f} ms; worst op {max(waits) * 1e3:.2f} ms; "
      f"total {sum(waits):.3f} s; most backward calls completed during one op {max(overtaken)}")
# fair: an op waits for the backward in progress; one more can finish first
# only if, just as this thread let the GIL go, the other thread counted the
# last one and took its ticket before this one did (main, with the mutex:
# 3 to 15 in three runs)
assert max(overtaken) <= 2, overtaken
assert max(waits) < 10 * backward_time + 0.05, (max(waits), backward_time)
"""


@pytest.mark.parametrize("which, nodes, ops", [("c", 100_000, 200), ("python", 20_000, 40)])
def test_small_ops_are_not_starved_by_a_backward_loop(which, nodes, ops):
    if which not in ag.available_backends():
        pytest.skip("C engine not built")
    out = assert_ok(run_child(STARVE, which, str(nodes), str(ops), timeout=300))
    print(out)
