"""Threads: 8 threads build, back-propagate and drop graphs that share
parameters, while another checks the arena.  Afterwards the arena's invariants
hold, no node leaked, and each shared parameter's gradient equals the sum of
every thread's contributions recomputed one by one (no lost or doubled
update).

AUTOGRAD_STRESS_SECONDS sets the duration per backend (default 1.2 s).
"""

from __future__ import annotations

import gc
import math
import os
import random
import sys
import threading
import time

import autograd as ag

SECONDS = float(os.environ.get("AUTOGRAD_STRESS_SECONDS", "1.2"))
THREADS = 8
N_PARAMS = 6


def loss(params: list[ag.Value], xs: list[float], target: float) -> ag.Value:
    """A small network's squared error; every param is used more than once."""
    h = [(p * x + params[(i + 1) % len(params)]).tanh() for i, (p, x) in enumerate(zip(params, xs))]
    out = h[0]
    for v in h[1:]:
        out = out + v * params[0]
    return (out - target) ** 2.0


def sample(rng: random.Random) -> tuple[list[float], float]:
    return [rng.uniform(-1.0, 1.0) for _ in range(N_PARAMS)], rng.uniform(-1.0, 1.0)


def test_threads_share_parameters_without_losing_gradients(backend):
    params = [ag.Value(0.1 * (i + 1)) for i in range(N_PARAMS)]
    base = ag.stats()["live_nodes"]
    stop = threading.Event()
    done: list[list[tuple[list[float], float]]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []
    checks = [0]

    def worker(k: int) -> None:
        rng = random.Random(k)
        try:
            while not stop.is_set():
                xs, target = sample(rng)
                private = ag.Value(rng.uniform(-1.0, 1.0))  # a leaf of this thread only
                out = loss(params, xs, target) + private * 0.0
                out.backward()
                done[k].append((xs, target))
                del out, private  # drop the graph: releases race with other threads' ops
                if rng.random() < 0.05:
                    gc.collect(0)
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            errors.append(exc)

    def checker() -> None:
        try:
            while not stop.is_set():
                assert ag.check() == 0
                checks[0] += 1
                time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: more interleavings
    try:
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
        threads.append(threading.Thread(target=checker))
        for t in threads:
            t.start()
        time.sleep(SECONDS)
        stop.set()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[:3]
    assert all(done), "every thread should have finished at least one step"
    assert checks[0] > 0

    # The same contributions, one at a time, on fresh copies of the parameters.
    fresh = [ag.Value(p.data) for p in params]
    expected = [0.0] * N_PARAMS
    steps = 0
    for work in done:
        for xs, target in work:
            for f in fresh:
                f.zero_grad()
            loss(fresh, xs, target).backward()
            for i, f in enumerate(fresh):
                expected[i] += f.grad
            steps += 1
    for p, e in zip(params, expected):
        # the order of the additions differs: equal up to rounding, far from
        # one step's contribution (a lost or doubled update)
        assert math.isclose(p.grad, e, rel_tol=1e-9, abs_tol=1e-9), (p.grad, e, steps)
    del fresh, f
    gc.collect()
    assert ag.stats()["live_nodes"] == base, "nodes leaked across threads"
    assert ag.check() == 0
