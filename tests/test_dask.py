"""autograd.dask on a LocalCluster of 2 worker processes: the root values of
one ``run_batch`` over all rows, bit for bit; the shared leaves' gradients
summed chunk by chunk in chunk order (the same bits for the same chunking;
from one ``run_batch``, within 1e-12 of the sum of the rows' terms'
magnitudes); the tape shipped once per worker; bad
columns refused before anything runs; a worker that dies changes nothing.

Needs the [dask] extra.  Without it these tests skip, unless
AUTOGRAD_REQUIRE_DASK=1 (as CI sets it): then they fail."""

from __future__ import annotations

import math
import os
import random
from array import array

import pytest
from graphs import bits

import autograd as ag
from autograd import nn, replay

if os.environ.get("AUTOGRAD_REQUIRE_DASK", "") in ("", "0"):
    if os.environ.get("AUTOGRAD_SANITIZER"):
        pytest.skip("worker processes under the sanitizers: run without AUTOGRAD_SANITIZER",
                    allow_module_level=True)
    pytest.importorskip("distributed", reason="the [dask] extra is not installed")
import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

from autograd import dask as ag_dask  # noqa: E402


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        yield c


class Problem:
    """W5's model (MLP(2, [16, 16, 1]) and its hinge loss) over n rows: the
    tape, its two input leaves and the data."""

    def __init__(self, n: int, seed: int = 0) -> None:
        rng = random.Random(seed)
        self.model = nn.MLP(2, [16, 16, 1], seed=seed)
        self.x1, self.x2, self.y = ag.Value(0.0), ag.Value(0.0), ag.Value(1.0)
        self.tape = replay.record(lambda: (1.0 - self.y * self.model([self.x1, self.x2])).relu())
        self.cols = {self.x1: [rng.uniform(-2.0, 2.0) for _ in range(n)],
                     self.x2: [rng.uniform(-1.0, 1.5) for _ in range(n)],
                     self.y: [rng.choice([-1.0, 1.0]) for _ in range(n)]}
        self.params = self.model.parameters()

    def magnitudes(self, seed: float) -> list[float]:
        """By parameter, the sum over the rows of |seed * d(loss_i)/d(p)|:
        the scale of the rounding of any order of summing the rows' terms
        (n * 2**-53 of it at most), so two orders agree within 1e-12 of it;
        not within 1e-12 of the sum itself, where the terms cancel."""
        saved = [p.grad for p in self.params]
        _, per_row = self.tape.run_batch(self.cols, seed=seed, grads_of=self.params)
        for p, g in zip(self.params, saved):
            p.grad = g
        return [math.fsum(abs(t) for t in col) for col in per_row]

    def zero(self) -> None:
        for p in self.params:
            p.grad = 0.0

    def local(self, chunk: int | None = None, seed: float = 1.0) -> tuple[list[str], list[float]]:
        """(the root values' bits, the parameters' summed grads) by run_batch
        here: over all rows at once, or chunk by chunk from zero, summed in
        chunk order (what autograd.dask promises for that chunking)."""
        n = len(self.cols[self.x1])
        size = chunk or n
        values: list[str] = []
        sums = [0.0] * len(self.params)
        for lo in range(0, n, size):
            self.zero()
            part = {leaf: col[lo:lo + size] for leaf, col in self.cols.items()}
            values += [bits(v) for v in self.tape.run_batch(part, seed=seed)]
            sums = [s + p.grad for s, p in zip(sums, self.params)]
        self.zero()
        return values, sums


def test_values_and_summed_grads_equal_one_run_batch(backend, client):
    prob = Problem(3000)
    values, whole = prob.local(seed=1.0 / 3000)
    for p in prob.params:
        p.grad = 0.5                               # the sums are added to what is there
    out = ag_dask.run_batch(prob.tape, prob.cols, client, chunk_size=700, seed=1.0 / 3000)
    assert [bits(v) for v in out.values] == values
    assert list(out.grads) == [v for v in prob.tape.leaves if v in prob.params]   # the model's own Values
    assert len(out.grads) == len(prob.params)
    for p, g, m in zip(prob.params, whole, prob.magnitudes(1.0 / 3000)):
        assert abs(out.grads[p] - g) <= 1e-12 * m, (out.grads[p], g, m)
    assert any(g != 0.0 for g in whole)
    # the same chunking gives the same bits: those of the chunk-by-chunk sum here
    grads = [p.grad for p in prob.params]
    _, chunked = prob.local(chunk=700, seed=1.0 / 3000)
    assert [bits(out.grads[p]) for p in prob.params] == [bits(g) for g in chunked]
    for p, g in zip(prob.params, grads):
        p.grad = g
    again = ag_dask.run_batch(prob.tape, prob.cols, client, chunk_size=700, seed=1.0 / 3000,
                              accumulate=False)
    assert [bits(again.grads[p]) for p in prob.params] == [bits(g) for g in chunked]
    assert [bits(p.grad) for p in prob.params] == [bits(0.5 + g) for g in chunked]    # added once


def test_dask_array_columns_and_row_grads(backend, client):
    prob = Problem(1000, seed=1)
    cols = {leaf: da.from_array(np.array(col), chunks=300) for leaf, col in prob.cols.items()}
    out = ag_dask.run_batch(prob.tape, cols, client, grads_of=[prob.x1, prob.x2], accumulate=False)
    values, (d1, d2) = prob.tape.run_batch(prob.cols, grads_of=[prob.x1, prob.x2])
    assert [bits(v) for v in out.values] == [bits(v) for v in values]
    assert [bits(v) for v in out.row_grads[0]] == [bits(v) for v in d1]
    assert [bits(v) for v in out.row_grads[1]] == [bits(v) for v in d2]
    _, chunked = prob.local(chunk=300)
    assert [bits(out.grads[p]) for p in prob.params] == [bits(g) for g in chunked]
    # chunk_size rechunks; a sequence column joins dask ones, cut the same way
    mixed = {prob.x1: cols[prob.x1], prob.x2: array("d", prob.cols[prob.x2]), prob.y: cols[prob.y]}
    out = ag_dask.run_batch(prob.tape, mixed, client, chunk_size=128, accumulate=False)
    assert [bits(v) for v in out.values] == [bits(v) for v in values]
    _, chunked = prob.local(chunk=128)
    assert [bits(out.grads[p]) for p in prob.params] == [bits(g) for g in chunked]


def test_the_tape_goes_once_to_each_worker_not_once_per_chunk(backend, client):
    prob = Problem(2000, seed=2)

    def loaded() -> dict:
        return client.run(lambda: __import__("autograd.dask").dask.loads)

    before = loaded()
    out = ag_dask.run_batch(prob.tape, prob.cols, client, chunk_size=100, accumulate=False)
    assert len(out.values) == 2000
    after = loaded()
    new = {w: after[w] - before.get(w, 0) for w in after}
    assert all(k <= 1 for k in new.values()) and sum(new.values()) >= 1, new


def test_bad_columns_raise_before_anything_runs(backend, client):
    prob = Problem(10)
    before = [p.grad for p in prob.params]
    cases = [
        ({ag.Value(1.0): [1.0] * 10}, ValueError, "not on this tape"),
        ({prob.x1: [1.0] * 10, prob.x2: [1.0] * 9}, ValueError, "every column needs one value per row"),
        ({prob.x1: ["a"] * 10}, TypeError, "not a number"),
        ({prob.x1: da.arange(10, chunks=5)}, TypeError, "float64"),
        ({prob.x1: da.zeros(10, chunks=5), prob.x2: da.zeros(11, chunks=5)}, ValueError, "one value per row"),
        ({}, TypeError, "non-empty"),
    ]
    for columns, error, message in cases:
        with pytest.raises(error, match=message):
            ag_dask.run_batch(prob.tape, columns, client)
    with pytest.raises(TypeError, match="Client"):
        ag_dask.run_batch(prob.tape, prob.cols, object())
    with pytest.raises(ValueError, match="chunk_size"):
        ag_dask.run_batch(prob.tape, prob.cols, client, chunk_size=0)
    with pytest.raises(ValueError, match="threads"):
        ag_dask.run_batch(prob.tape, prob.cols, client, threads=0)
    prob.tape.close()
    with pytest.raises(replay.ReplayError, match="closed"):
        ag_dask.run_batch(prob.tape, prob.cols, client)
    assert [p.grad for p in prob.params] == before


def _die_once(block, flag):  # type: ignore[no-untyped-def]
    """A block of the data that kills its worker the first time it is
    computed (the nanny starts a new one; Dask reruns what was lost)."""
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:              # dask calls it here too, on empty blocks, for its meta
        return block
    if not os.path.exists(flag):
        with open(flag, "w"):
            pass
        os._exit(1)
    return block


def test_a_worker_that_dies_is_retried_and_the_result_is_unchanged(backend, client, tmp_path):
    prob = Problem(1200, seed=3)
    want = ag_dask.run_batch(prob.tape, prob.cols, client, chunk_size=200, accumulate=False)
    flag = str(tmp_path / "died")
    cols = {leaf: da.from_array(np.array(col), chunks=200) for leaf, col in prob.cols.items()}
    cols[prob.x1] = cols[prob.x1].map_blocks(_die_once, flag, dtype="f8", meta=np.array((), dtype="f8"))
    got = ag_dask.run_batch(prob.tape, cols, client, accumulate=False)
    assert os.path.exists(flag)                     # a worker did die
    assert [bits(v) for v in got.values] == [bits(v) for v in want.values]
    assert [bits(g) for g in got.grads.values()] == [bits(g) for g in want.grads.values()]
    client.wait_for_workers(2, timeout=60)


@pytest.mark.parametrize("on_workers", [False, True])
def test_the_bench_w6_engine_equals_one_run_batch(client, on_workers):
    """W6 of the bench (python -m autograd bench --only W6): autograd.dask
    gives W5's mean loss of one run_batch bit for bit, and its parameters'
    grads within 1e-12."""
    from autograd.cli.bench import engines

    if "c" not in ag.available_backends():
        pytest.skip("W6 runs on the C engine")
    one = engines.w5_run_batch("c", 3000, 1)
    dist = engines.w6_dask(3000, on_workers, client)
    assert dist is not None
    assert bits(dist(0)["loss"]) == bits(one(0)["loss"])
    for a, b in zip(dist.params, one.params):  # type: ignore[attr-defined]
        assert abs(a.grad - b.grad) <= 1e-12 * abs(b.grad)
    assert any(p.grad != 0.0 for p in one.params)  # type: ignore[attr-defined]


def test_the_example_of_docs_scaling_runs():
    """docs/scaling.md's Dask example, as written (its own LocalCluster):
    its mean loss is that of one run_batch over the same rows."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "scaling.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(from distributed.*?)```", text, re.S).group(1)
    scope: dict = {}
    exec(compile(code, "docs/scaling.md", "exec"), scope)
    tape, columns, n = scope["tape"], scope["columns"], len(scope["Y"])
    grads = {p: p.grad for p in scope["model"].parameters()}
    assert all(grads[p] == g for p, g in scope["out"].grads.items())   # added into .grad from 0
    for p in grads:
        p.grad = 0.0
    values = tape.run_batch(columns, seed=1.0 / n)
    assert scope["mean_loss"] == sum(values) / n
    for p, g in grads.items():
        assert abs(p.grad - g) <= 1e-12 * abs(g)


def test_a_worker_with_two_threads_runs_chunks_side_by_side(backend):
    """One worker process with two threads: each running chunk has a copy
    of the tape of its own (their shared leaves hold one chunk's sums), so
    the result is still the chunk-order sum, bit for bit."""
    prob = Problem(2000, seed=4)
    _, chunked = prob.local(chunk=100)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as two:
        out = ag_dask.run_batch(prob.tape, prob.cols, two, chunk_size=100, accumulate=False)
        loaded = two.run(lambda: __import__("autograd.dask").dask.loads)
    assert [bits(out.grads[p]) for p in prob.params] == [bits(g) for g in chunked]
    assert 1 <= sum(loaded.values()) <= 2, loaded          # a copy per thread at most
