"""Threads build and back-propagate graphs that share leaves at once.

cffi releases the GIL around every C call, so only the engine's own lock
keeps the arena consistent.
"""

from __future__ import annotations

import threading

import pytest

import autograd as ag


def work(params: list[ag.Value], seed: int, steps: int) -> list[tuple[float, float]]:
    out = []
    for step in range(steps):
        x = ag.Value(0.01 * (seed * 31 + step))
        h = x
        for i, p in enumerate(params):
            h = (h * p + 0.1 * i).tanh()
        loss = h * h + x.sin()
        loss.backward()
        out.append((loss.data, x.grad))
    return out


def test_threads_agree_with_a_sequential_run(backend):
    nthreads, steps = 4, 300
    params = [ag.Value(0.5 - 0.1 * i) for i in range(6)]
    expected = [work(params, s, steps) for s in range(nthreads)]
    sequential_grads = [p.grad for p in params]
    ag.zero_grad(params)

    results: list[list[tuple[float, float]] | None] = [None] * nthreads
    errors: list[BaseException] = []
    barrier = threading.Barrier(nthreads)

    def run(s: int) -> None:
        try:
            barrier.wait()
            results[s] = work(params, s, steps)
        except BaseException as exc:  # report in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    # each thread's own values and gradients equal a run of the same work alone
    assert results == expected
    # shared leaves: the same sum, up to the order of additions
    for p, g in zip(params, sequential_grads):
        assert p.grad == pytest.approx(g, rel=1e-12)
    assert ag.check() == 0
