"""Batched replay on a Dask cluster: ``tape.run_batch`` over rows split into
chunks, the chunks run on the workers of a ``distributed.Client``.

    from distributed import Client
    from autograd import dask as ag_dask

    client = Client("scheduler:8786")            # or Client(LocalCluster(...))
    out = ag_dask.run_batch(tape, {x1: X1, x2: X2}, client, chunk_size=100_000)
    out.values                                   # the N root values
    out.grads                                    # {shared leaf: its summed gradient}

The tape goes to each worker once, pickled (autograd/tape_pickle.py): the
workers build their own copy on first use and keep it for every chunk of the
call.  Each chunk is one ``run_batch`` on a worker, from zeroed grads; the
client puts the values together in row order and sums the chunks' gradients
in chunk order, so a result depends on the chunking only, never on which
worker ran what or when: the same chunking gives the same bits, and any
chunking agrees with one ``run_batch`` over all rows to rounding (the
partial sums are grouped by chunk instead of added row after row).  Dask
reruns the chunks of a worker that dies; its scheduler is all there is.

Needs the ``[dask]`` extra (dask and distributed); ``import autograd`` never
imports this module.  See docs/scaling.md.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from . import backend, tape_pickle
from .replay import Tape, _column, _threads
from .value import Value

try:
    from dask.base import is_dask_collection
except ImportError as exc:  # pragma: no cover - the message is the point
    raise ImportError("autograd.dask needs dask and distributed: pip install 'scalar-autograd[dask]' "
                      f"(or pip install 'dask[distributed]') ({exc})") from exc


class BatchResult(NamedTuple):
    """What ``run_batch`` returns.  A shared leaf is a leaf of the tape
    without a column (a parameter)."""

    values: array[float]            # the root's value, by row
    grads: dict[Value, float]       # by shared leaf: seed * sum over rows of d(root)/d(leaf)
    row_grads: list[array[float]]   # by grads_of leaf: seed * d(root_i)/d(leaf), by row


# Tapes built on this process from a payload: a worker counts its loads, so
# that a test can see the tape arrive once per worker and not once per chunk.
loads = 0
_loads_lock = threading.Lock()


class _WorkerTape:
    """A tape as a worker holds it: built from its payload once, pickled as
    that payload to the other workers (once each), then run chunk after
    chunk.  A chunk takes a copy of its own from ``free`` (a worker with
    several threads runs chunks side by side: run_batch releases the GIL,
    and each copy's shared leaves hold one chunk's sums), loading one more
    copy only when all are busy."""

    def __init__(self, payload: dict[str, Any], backend_name: str) -> None:
        self.payload = payload
        self.backend = backend_name
        self.lock = threading.Lock()    # guards free
        self.free = [self._load()]

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _WorkerTape, (self.payload, self.backend)

    def _load(self) -> Tape:
        global loads
        tape = tape_pickle.load(self.payload, backend.ENGINES.get(self.backend, backend.engine))
        with _loads_lock:
            loads += 1
        return tape

    def run(self, cols: list[Any], col_pos: list[int], grad_pos: list[int], seed: float,
            threads: int) -> tuple[array[float], list[float], list[array[float]]]:
        """One chunk: its root values, the shared leaves' gradients summed
        over its rows (from zero), the grads_of columns."""
        with self.lock:
            tape = self.free.pop() if self.free else None
        if tape is None:
            tape = self._load()
        try:
            leaves = tape.leaves
            shared = _shared(leaves, col_pos)
            for v in shared:
                v.grad = 0.0
            values, row_grads = tape._run_batch(
                [(leaves[p], col) for p, col in zip(col_pos, cols)], None, seed,
                [leaves[p] for p in grad_pos], threads, True)
            return values, [v.grad for v in shared], row_grads
        finally:
            with self.lock:
                self.free.append(tape)


def _shared(leaves: Sequence[Value], col_pos: list[int]) -> list[Value]:
    """The shared leaves, in tape order: those no column feeds."""
    is_col = set(col_pos)
    return [v for p, v in enumerate(leaves) if p not in is_col]


def run_batch(tape: Tape, columns: Mapping[Value, Any], client: Any, *, chunk_size: int | None = None,
              seed: float = 1.0, grads_of: Sequence[Value] = (), threads: int = 1,
              accumulate: bool = True) -> BatchResult:
    """``tape.run_batch(columns, seed=seed, grads_of=grads_of)`` with its rows
    run in chunks on the workers of ``client`` (a ``distributed.Client``).

    ``columns`` maps leaves of the tape (``tape.leaves`` holds them all) to
    N numbers each: 1-D float64 dask arrays, chunked as the chunks are to
    be, or sequences as ``run_batch`` takes them, split into chunks of
    ``chunk_size`` rows (default: four chunks per worker thread; give it for
    results that do not depend on the cluster's size).  ``chunk_size`` given
    with dask arrays rechunks them.  ``threads``: threads per chunk on the
    worker (``run_batch``'s).

    Returns BatchResult(values, grads, row_grads): the N root values; the
    gradients of the shared leaves (those without a column), seed times
    their sum over all rows, summed chunk by chunk in chunk order; for each
    ``grads_of`` leaf, its gradient by row.  With ``accumulate`` (the
    default) the sums are also added into the shared leaves' ``.grad``, as
    ``run_batch`` does.  A column that is not a leaf of the tape, lengths
    that differ, or data that are not float64 raise before anything runs.
    """
    if not isinstance(tape, Tape):
        raise TypeError(f"autograd.dask.run_batch takes a Tape, not {type(tape).__name__}")
    if not isinstance(columns, Mapping) or not columns:
        raise TypeError("autograd.dask.run_batch: columns must map leaves of the tape to their "
                        "N values each (a non-empty dict)")
    if not hasattr(client, "submit") or not hasattr(client, "gather"):
        raise TypeError("autograd.dask.run_batch takes a distributed.Client, not "
                        f"{type(client).__name__}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive int, not {chunk_size!r}")
    s = float(seed)
    nthreads = _threads(threads)
    leaves = tape.leaves
    position = {v._id: p for p, v in enumerate(leaves)}
    on_tape = set(position)
    col_pos = [position[tape._leaf_on_tape(leaf, on_tape, f"column {k}")]
               for k, leaf in enumerate(columns)]
    if len(set(col_pos)) != len(col_pos):
        raise ValueError("run_batch: two columns feed the same leaf")
    if not isinstance(grads_of, Sequence) or isinstance(grads_of, (str, Value)):
        raise TypeError("run_batch: grads_of must be a sequence of leaves (a list or a tuple)")
    grad_pos = [position[tape._leaf_on_tape(leaf, on_tape, f"grads_of[{j}]")]
                for j, leaf in enumerate(grads_of)]
    chunks, nrows = _chunks(list(columns.values()), chunk_size, client)
    shared = _shared(leaves, col_pos)

    # the tape, built once on each worker that runs a chunk (a task, not
    # scattered data: Dask can build it again if every copy is lost)
    shipped = client.submit(_WorkerTape, tape_pickle.payload(tape), backend.get_backend(), pure=False)
    futures = [client.submit(_WorkerTape.run, shipped, cols, col_pos, grad_pos, s, nthreads, pure=False)
               for cols in chunks]
    try:
        done = client.gather(futures)
    finally:
        client.cancel(futures + [shipped])

    values: array[float] = array("d")
    row_grads: list[array[float]] = [array("d") for _ in grad_pos]
    sums = [0.0] * len(shared)
    for chunk_values, chunk_grads, chunk_rows in done:
        values.extend(chunk_values)
        for j, rows in enumerate(chunk_rows):
            row_grads[j].extend(rows)
        for k, g in enumerate(chunk_grads):
            sums[k] += g
    assert len(values) == nrows
    if accumulate:
        for v, g in zip(shared, sums):
            v.grad = v.grad + g
    return BatchResult(values, dict(zip(shared, sums)), row_grads)


def _chunks(cols: list[Any], chunk_size: int | None, client: Any) -> tuple[list[list[Any]], int]:
    """The columns cut into chunks of rows: by chunk, one piece per column
    (a float64 array, or a future of a dask array's block), and the number
    of rows.  Raises for lengths that differ or data that are not float64."""
    lazy = [is_dask_collection(col) for col in cols]
    if any(lazy):
        import dask.array as da

        first = cols[lazy.index(True)]
        for k, col in enumerate(cols):
            if lazy[k] and (getattr(col, "ndim", None) != 1 or str(getattr(col, "dtype", "")) != "float64"):
                raise TypeError(f"run_batch: column {k} is a dask collection that is not a 1-D float64 "
                                "array")
        nrows = first.shape[0]
        bounds = (chunk_size,) if chunk_size is not None else first.chunks
        arrays = []
        for k, col in enumerate(cols):
            if not lazy[k]:
                import numpy as np

                col = da.from_array(np.frombuffer(_column(col, k), dtype="f8"), chunks=bounds)
            if col.shape[0] != nrows:
                raise ValueError(f"run_batch: column {k} has {col.shape[0]} values, column "
                                 f"{lazy.index(True)} has {nrows}: every column needs one value per row")
            arrays.append(col.rechunk(bounds))
        blocks = [client.compute(col.to_delayed().ravel().tolist()) for col in arrays]
        return [list(pieces) for pieces in zip(*blocks)], nrows
    views = [_column(col, k) for k, col in enumerate(cols)]
    nrows = len(views[0])
    for k, view in enumerate(views):
        if len(view) != nrows:
            raise ValueError(f"run_batch: column {k} has {len(view)} values, column 0 has {nrows}: "
                             "every column needs one value per row")
    if chunk_size is None:
        workers = max(sum(client.nthreads().values()), 1)
        chunk_size = max(-(-nrows // (4 * workers)), 1)
    out = []
    for lo in range(0, nrows, chunk_size):
        pieces = []
        for view in views:
            piece = array("d")
            piece.frombytes(memoryview(view)[lo:lo + chunk_size].cast("B"))
            pieces.append(piece)
        out.append(pieces)
    return out, nrows
