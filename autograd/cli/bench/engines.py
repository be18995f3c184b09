"""The engines the bench compares, each as a set of workload steps.

Every step function times its own phases with time.perf_counter and returns
{phase: seconds}; set-up (making the model, building the DAG) is untimed.
An engine whose package is missing is skipped, and said so.

W1  micrograd's demo step (models.py): forward, backward, update, free.
W2  a chain of n nodes, x * c and + c alternating: build, backward, free.
W3  a random DAG of n binary nodes, node i = op(node i-1, a uniformly random
    earlier node), + and * alternating, on leaves of +-1: backward only.
W5  W1's model over N samples: the mean hinge loss and its parameter
    gradients, through tape.run_batch (1 and 2 threads), a tape.run loop, an
    eager loop, PyTorch batched (1 thread and its default).
W6  W5 at N = 10**6 on one machine's cores: one run_batch (1 and 2 threads)
    against autograd.dask on a LocalCluster (the [dask] extra).
"""

from __future__ import annotations

import random
import time
from functools import reduce
from operator import add
from typing import Any, Callable

from . import models

# CPU time of this process by default: on a shared machine it does not count
# the time other processes hold the core (main() may switch it to wall time).
clock = time.process_time
Step = Callable[[int], "dict[str, float]"]
Workload = Callable[[int], "tuple[Step, int] | None"]   # (n) -> (step, nodes), or None


def last_params(step: Step) -> list[float]:
    """The parameter values of an autograd W1 step's model (for parity)."""
    return [p.data for p in step.params]  # type: ignore[attr-defined]


# ---------------------------------------------------------------- autograd
def _autograd(backend: str) -> Any:
    import autograd as ag

    ag.set_backend(backend)
    return ag


def w1_autograd(backend: str) -> Step:
    """Eager: the graph is rebuilt every step and its nodes are reclaimed by
    reference counting as soon as the loss is dropped."""
    ag = _autograd(backend)
    eng = ag.backend.engine
    xs, ys = models.moons()
    model = models.ScalarMLP(models.init_weights(), ag.Value)
    params = model.parameters()

    def relu(v: Any) -> Any:
        return v.relu()

    def step(k: int) -> dict[str, float]:
        t0 = clock()
        loss = models.loss(model, xs, ys, relu)
        t1 = clock()
        loss.backward()
        t2 = clock()
        lr = models.learning_rate(k)
        for p in params:
            p.data -= lr * p.grad
            p.grad = 0.0
        t3 = clock()
        value = loss.data
        del loss
        eng.flush()
        t4 = clock()
        return {"forward": t1 - t0, "backward": t2 - t1, "update": t3 - t2, "free": t4 - t3,
                "total": t4 - t0, "loss": value}

    step.params = params  # type: ignore[attr-defined]
    return step


def w1_replay(backend: str) -> Step:
    """The same step through graph replay: the graph is recorded once (not
    timed), each step is one tape run and the update in two engine calls
    (descend, zero the grads), as optim.SGD does it."""
    ag = _autograd(backend)
    from ... import replay
    from ...value import ValueGroup

    xs, ys = models.moons()
    model = models.ScalarMLP(models.init_weights(), ag.Value)
    tape = replay.record(lambda: models.loss(model, xs, ys, lambda v: v.relu()))
    params = ValueGroup(model.parameters())

    def step(k: int) -> dict[str, float]:
        t0 = clock()
        value = tape.run()
        t1 = clock()
        params.descend(models.learning_rate(k))
        params.zero_grads()
        t2 = clock()
        return {"forward+backward": t1 - t0, "update": t2 - t1, "total": t2 - t0, "loss": value,
                "nodes": float(len(tape))}

    step.params = model.parameters()  # type: ignore[attr-defined]
    return step


def w2_autograd(backend: str, n: int) -> Step:
    ag = _autograd(backend)
    eng = ag.backend.engine

    def step(k: int) -> dict[str, float]:
        ag.set_backend(backend)     # Value() below uses the current backend
        t0 = clock()
        x = ag.Value(1.0)
        y = x
        for _ in range(n // 2):
            y = y * 0.9999999
            y = y + 1e-7
        eng.flush()
        t1 = clock()
        y.backward()
        t2 = clock()
        del x, y
        eng.flush()
        t3 = clock()
        return {"build": t1 - t0, "backward": t2 - t1, "free": t3 - t2}

    return step


def _dag(make: Callable[[float], Any], n: int) -> Any:
    rng = random.Random(3)
    nodes = [make(rng.choice((-1.0, 1.0))) for _ in range(1000)]
    for i in range(n):
        a = nodes[-1]
        b = nodes[rng.randrange(len(nodes))]
        nodes.append(a * b if i % 2 else a + b)
    return nodes[-1]


def w3_autograd(backend: str, n: int) -> Step:
    ag = _autograd(backend)
    root = _dag(ag.Value, n)
    ag.backend.engine.flush()

    def step(k: int) -> dict[str, float]:
        t0 = clock()
        root.backward()
        return {"backward": clock() - t0}

    return step


# ---------------------------------------------------------------- floats
def w1_floats() -> Step:
    """The same forward on plain floats: no graph, the floor of the Python code."""
    xs, ys = models.moons()
    model = models.ScalarMLP(models.init_weights(), float, relu=models.float_relu)

    def step(k: int) -> dict[str, float]:
        t0 = clock()
        value = models.loss(model, xs, ys, models.float_relu)
        return {"forward": clock() - t0, "total": clock() - t0, "loss": value}

    return step


# ---------------------------------------------------------------- micrograd
def w1_micrograd() -> Step | None:
    try:
        from micrograd.engine import Value
    except ImportError:
        return None
    xs, ys = models.moons()
    model = models.ScalarMLP(models.init_weights(), Value)
    params = model.parameters()

    def relu(v: Any) -> Any:
        return v.relu()

    def step(k: int) -> dict[str, float]:
        t0 = clock()
        loss = models.loss(model, xs, ys, relu)
        t1 = clock()
        for p in params:            # micrograd's demo: model.zero_grad()
            p.grad = 0
        loss.backward()
        t2 = clock()
        lr = models.learning_rate(k)
        for p in params:
            p.data -= lr * p.grad
        t3 = clock()
        value = loss.data
        del loss                    # its nodes are cycles: the collector frees them
        t4 = clock()
        return {"forward": t1 - t0, "backward": t2 - t1, "update": t3 - t2, "free": t4 - t3,
                "total": t4 - t0, "loss": value}

    return step


# ---------------------------------------------------------------- PyTorch
# PyTorch's own number of threads, before the bench sets it to one
TORCH_DEFAULT_THREADS = 0


def _torch() -> Any:
    global TORCH_DEFAULT_THREADS
    try:
        import torch
    except ImportError:
        return None
    if not TORCH_DEFAULT_THREADS:
        TORCH_DEFAULT_THREADS = torch.get_num_threads()
    torch.set_num_threads(1)
    return torch


def w1_torch_scalar() -> Step | None:
    """PyTorch used as a scalar engine: 0-dim float64 tensors, op by op."""
    torch = _torch()
    if torch is None:
        return None
    xs, ys = models.moons()
    model = models.ScalarMLP(models.init_weights(),
                             lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))
    params = model.parameters()

    def relu(v: Any) -> Any:
        return v.relu()

    def step(k: int) -> dict[str, float]:
        t0 = clock()
        loss = models.loss(model, xs, ys, relu)
        t1 = clock()
        loss.backward()
        t2 = clock()
        lr = models.learning_rate(k)
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
        t3 = clock()
        value = loss.item()
        del loss
        t4 = clock()
        return {"forward": t1 - t0, "backward": t2 - t1, "update": t3 - t2, "free": t4 - t3,
                "total": t4 - t0, "loss": value}

    return step


def w1_torch_batched() -> Step | None:
    """The reference: the same model on batched float64 tensors."""
    torch = _torch()
    if torch is None:
        return None
    xs, ys = models.moons()
    X = torch.tensor(xs, dtype=torch.float64)
    Y = torch.tensor(ys, dtype=torch.float64)
    layers = []
    for layer in models.init_weights():
        w = torch.tensor([neuron[:-1] for neuron in layer], dtype=torch.float64).T.contiguous()
        b = torch.tensor([neuron[-1] for neuron in layer], dtype=torch.float64)
        layers.append((w.requires_grad_(), b.requires_grad_()))
    params = [p for wb in layers for p in wb]

    def step(k: int) -> dict[str, float]:
        t0 = clock()
        h = X
        for i, (w, b) in enumerate(layers):
            h = h @ w + b
            if i < len(layers) - 1:
                h = h.relu()
        data_loss = (1 - Y * h[:, 0]).relu().sum() * (1.0 / len(ys))
        loss = data_loss + models.ALPHA * sum((p * p).sum() for p in params)
        t1 = clock()
        loss.backward()
        t2 = clock()
        lr = models.learning_rate(k)
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
        t3 = clock()
        value = loss.item()
        del loss, h, data_loss
        t4 = clock()
        return {"forward": t1 - t0, "backward": t2 - t1, "update": t3 - t2, "free": t4 - t3,
                "total": t4 - t0, "loss": value}

    return step


def w2_torch_scalar(n: int) -> Step | None:
    torch = _torch()
    if torch is None:
        return None

    def step(k: int) -> dict[str, float]:
        t0 = clock()
        x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
        y = x
        for _ in range(n // 2):
            y = y * 0.9999999
            y = y + 1e-7
        t1 = clock()
        y.backward()
        t2 = clock()
        del x, y
        t3 = clock()
        return {"build": t1 - t0, "backward": t2 - t1, "free": t3 - t2}

    return step


def w3_torch_scalar(n: int) -> Step | None:
    torch = _torch()
    if torch is None:
        return None
    root = _dag(lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True), n)

    def step(k: int) -> dict[str, float]:
        t0 = clock()
        root.backward(retain_graph=True)
        return {"backward": clock() - t0}

    return step


# ---------------------------------------------------------------- W5
# W5: the W1 model's hinge loss per sample, max(0, 1 - y_i * score_i), its
# mean over N moons and the parameters' gradients of that mean (seed 1/N),
# parameters unchanged.  Every autograd engine records or builds the same
# per-sample graph (x1, x2, y leaves; the parameters shared).  W5 is timed
# with the wall clock: the CPU time of a process adds up its threads.
wall = time.perf_counter
def _w5_data(n: int) -> tuple[list[float], list[float], list[float]]:
    xs, ys = models.moons(n)
    return [x[0] for x in xs], [x[1] for x in xs], ys


def _w5_sample(ag: Any, model: Any) -> tuple[Any, Any, Any, Any]:
    """(x1, x2, y, loss): the per-sample graph on new leaves."""
    x1, x2, y = ag.Value(0.0), ag.Value(0.0), ag.Value(1.0)
    loss = (1 + -y * model([x1, x2])).relu()
    return x1, x2, y, loss


def w5_tape(backend: str, n: int) -> tuple[Any, Any, Any, Any, Any, Any]:
    """(tape, x1, x2, y, params, data) for W5 on a backend."""
    ag = _autograd(backend)
    from ... import replay
    from ...value import ValueGroup

    model = models.ScalarMLP(models.init_weights(), ag.Value)
    x1, x2, y, loss = _w5_sample(ag, model)
    tape = replay.Tape(loss)
    return tape, x1, x2, y, ValueGroup(model.parameters()), _w5_data(n)


def w5_run_batch(backend: str, n: int, threads: int) -> Step:
    tape, x1, x2, y, params, (c1, c2, cy) = w5_tape(backend, n)
    from array import array

    cols = {x1: array("d", c1), x2: array("d", c2), y: array("d", cy)}

    def step(k: int) -> dict[str, float]:
        params.zero_grads()
        t0 = wall()
        values = tape.run_batch(cols, seed=1.0 / n, threads=threads)
        mean = reduce(add, values, 0.0) / n     # left to right, as the loop adds (not sum():
        # on floats it compensates its rounding since Python 3.12)
        return {"total": wall() - t0, "loss": mean}

    step.params = params.values  # type: ignore[attr-defined]
    return step


def w5_run_loop(backend: str, n: int) -> Step:
    """The Python loop run_batch stands for: x.data = row; tape.run(1/N)."""
    tape, x1, x2, y, params, (c1, c2, cy) = w5_tape(backend, n)
    run = tape.run

    def step(k: int) -> dict[str, float]:
        params.zero_grads()
        t0 = wall()
        total = 0.0
        for a, b, c in zip(c1, c2, cy):
            x1.data, x2.data, y.data = a, b, c
            total += run(1.0 / n)
        return {"total": wall() - t0, "loss": total / n}

    step.params = params.values  # type: ignore[attr-defined]
    return step


def w5_eager(backend: str, n: int) -> Step:
    """A Python loop building each sample's graph and back-propagating it."""
    ag = _autograd(backend)
    eng = ag.backend.engine
    model = models.ScalarMLP(models.init_weights(), ag.Value)
    params = model.parameters()
    c1, c2, cy = _w5_data(n)

    def step(k: int) -> dict[str, float]:
        for p in params:
            p.grad = 0.0
        t0 = wall()
        total = 0.0
        for a, b, c in zip(c1, c2, cy):
            loss = (1 + -c * model([ag.Value(a), ag.Value(b)])).relu()
            loss.backward(1.0 / n)
            total += loss.data
        del loss
        eng.flush()
        return {"total": wall() - t0, "loss": total / n}

    return step


def w5_torch(n: int, threads: int | None) -> Step | None:
    """PyTorch batched float64, on one thread or (None) its default."""
    torch = _torch()
    if torch is None:
        return None
    c1, c2, cy = _w5_data(n)
    X = torch.tensor(list(zip(c1, c2)), dtype=torch.float64)
    Y = torch.tensor(cy, dtype=torch.float64)
    layers = []
    for layer in models.init_weights():
        w = torch.tensor([neuron[:-1] for neuron in layer], dtype=torch.float64).T.contiguous()
        b = torch.tensor([neuron[-1] for neuron in layer], dtype=torch.float64)
        layers.append((w.requires_grad_(), b.requires_grad_()))
    params = [p for wb in layers for p in wb]

    def step(k: int) -> dict[str, float]:
        torch.set_num_threads(threads or TORCH_DEFAULT_THREADS)
        for p in params:
            p.grad = None
        t0 = wall()
        h = X
        for i, (w, b) in enumerate(layers):
            h = h @ w + b
            if i < len(layers) - 1:
                h = h.relu()
        loss = (1 - Y * h[:, 0]).relu().mean()
        loss.backward()
        value = loss.item()
        t1 = wall()
        torch.set_num_threads(1)
        return {"total": t1 - t0, "loss": value}

    return step


# W6: W5 at N = 10**6 scaled out: one run_batch (1 and 2 threads) against
# autograd.dask on a LocalCluster of this machine's cores (a worker process
# per core, one thread each), with the columns sent from the client on every
# call or already held by the workers (persisted dask arrays, as a data set
# that lives on a cluster).  Wall clock: the work is in other processes.
def w6_dask(n: int, on_workers: bool, client: Any = None) -> Step | None:
    """autograd.dask.run_batch of W5's tape on a LocalCluster of a worker
    process per core (or on ``client``'s cluster), in chunks of a quarter of
    a worker's share of the rows."""
    try:
        import dask.array as da
        import numpy as np
        from distributed import Client, LocalCluster

        from ... import dask as ag_dask
    except ImportError:
        return None
    import atexit
    import os
    from array import array

    tape, x1, x2, y, params, (c1, c2, cy) = w5_tape("c", n)
    if client is None:
        cluster = LocalCluster(n_workers=max(os.cpu_count() or 1, 1), threads_per_worker=1,
                               processes=True, dashboard_address=":0")
        client = Client(cluster)
        atexit.register(cluster.close)
        atexit.register(client.close)
    workers = max(sum(client.nthreads().values()), 1)
    chunk = -(-n // (4 * workers))
    cols: dict[Any, Any] = {x1: array("d", c1), x2: array("d", c2), y: array("d", cy)}
    if on_workers:
        cols = {leaf: client.persist(da.from_array(np.frombuffer(col, dtype="f8"), chunks=chunk))
                for leaf, col in cols.items()}

    def step(k: int) -> dict[str, float]:
        params.zero_grads()
        t0 = wall()
        out = ag_dask.run_batch(tape, cols, client, chunk_size=None if on_workers else chunk,
                                seed=1.0 / n)
        mean = reduce(add, out.values, 0.0) / n
        return {"total": wall() - t0, "loss": mean}

    step.params = params.values  # type: ignore[attr-defined]
    return step
