"""Re-running a recorded graph in place: the twin of csrc/tape.c.

A tape keeps one flat graph (sweep.Flat), its leaves moved first (positions
1 .. nleaf).  Replaying reads the leaves' current values, recomputes the
other values with the ops' rules, runs the same sweep as backward over the
other nodes, and writes values and grads back.

A batched run (tape_run_batch) is a run per row of input columns, in tiles
of rows: each node's rule applied to a whole tile row before the next node
(sweep_tile), the shared leaves' adjoints added into their grads tile after
tile, row by row in row order; the arena is read once before the rows and
written once after them.  Threads take tiles as C's do, and the tiles that
have run are added in tile order by one thread at a time.  The tile plan
(rows, fused chains) is made once, when the tape is recorded.
"""

from __future__ import annotations

import threading
from array import array
from typing import Any

from ... import errors
from .arena import LEAF, ar, injected_failure, is_live, release
from .rules import FORWARD
from .sweep import (
    MUL_START,
    NONE,
    PLAIN,
    TILE_ROWS,
    Flat,
    TilePlan,
    flat_order,
    sweep,
    sweep_tile,
    tile_at,
    tile_plan,
)


class Tape:
    __slots__ = ("f", "nleaf", "plan")

    def __init__(self, f: Flat, nleaf: int) -> None:
        self.f: Flat | None = f
        self.nleaf = nleaf
        # the tiles of a batched run and its fused chains, planned once: the
        # graph never changes after recording
        self.plan = tile_plan(f, nleaf + 1)

    def __del__(self) -> None:
        # a tape dropped without Tape.close lets its graph go, as ffi.gc does in C
        if self.f is not None:
            tape_free(self)


def tape_new(root: int) -> Tape | int:
    """Record the graph below root, holding a reference on each of its nodes;
    or a negative status (nothing retained)."""
    with ar.lock:
        if injected_failure():          # C's tape struct
            return errors.ENOMEM
        if not is_live(root):
            return errors.EBADID
        f = flat_order(root)
        if isinstance(f, int):
            return f
        if injected_failure():          # C's block of arrays
            return errors.ENOMEM
        refs = ar.refs
        for i in range(1, f.n + 1):
            refs[f.id[i]] += 1
        return lay_out(f)


def lay_out(src: Flat) -> Tape:
    """A tape of src, leaves first."""
    n = src.n
    nleaf = sum(1 for i in range(1, n + 1) if src.op[i] == LEAF)
    moved = [NONE] * (n + 1)        # each position's new place
    leaf, other = 1, nleaf + 1
    for i in range(1, n + 1):
        if src.op[i] == LEAF:
            moved[i] = leaf
            leaf += 1
        else:
            moved[i] = other
            other += 1
    f = Flat(n, [-1] * (n + 1), [NONE] * (n + 1), [NONE] * (n + 1), [LEAF] * (n + 1), [0.0] * (n + 1),
             [0.0] * (n + 1))
    for i in range(n + 1):
        p = moved[i]
        f.id[p] = src.id[i]
        f.op[p] = src.op[i]
        f.c[p] = src.c[i]
        f.value[p] = src.value[i]
        f.a[p] = moved[src.a[i]]
        f.b[p] = moved[src.b[i]]
    return Tape(f, nleaf)


def tape_size(t: Tape) -> int:
    """The number of nodes on the tape, leaves included."""
    assert t.f is not None
    return t.f.n


def tape_run(t: Tape, seed: float) -> float:
    """Recompute the graph from its leaves' current values and add
    d(root)/d(node) * seed into every grad, as backward does on a graph built
    afresh; returns the root's new value."""
    f = t.f
    assert f is not None
    n, nleaf = f.n, t.nleaf
    a, b, ids, op, c, value = f.a, f.b, f.id, f.op, f.c, f.value
    with ar.lock:
        avalue, agrad = ar.value, ar.grad
        for i in range(1, nleaf + 1):
            value[i] = avalue[ids[i]]
        for i in range(nleaf + 1, n + 1):
            value[i] = FORWARD[op[i]](value[a[i]], value[b[i]], c[i])  # type: ignore[misc]
        sweep(f, seed, first=nleaf + 1)
        adjoint = f.adjoint
        for i in range(1, nleaf + 1):
            agrad[ids[i]] += adjoint[i]
        for i in range(nleaf + 1, n + 1):
            avalue[ids[i]] = value[i]
            agrad[ids[i]] = 0.0 + adjoint[i]    # as a fresh grad: -0.0 becomes +0.0
            ar.stamp[ids[i]] = ar.epoch         # recomputed from the leaves as they are (stale.py)
        return value[n]


def tape_free(t: Tape) -> None:
    """Drop the tape's references (freeing what only it kept)."""
    f = t.f
    if f is not None:
        t.f = None
        release(f.id[1:])


def tape_leaves(t: Tape) -> list[int]:
    """The ids of the tape's leaves, in their order on the tape."""
    f = t.f
    assert f is not None
    return f.id[1:t.nleaf + 1]


# --- batched replay ----------------------------------------------------------
# C's AG_TILES_AHEAD: adjoint tiles per thread, how far it may run ahead of
# the sums; AG_TILES_PER_THREAD: tiles per thread at the least.
TILES_AHEAD = 3
TILES_PER_THREAD = 4


class Batch:
    """One batched run: what its threads share (C's batch)."""

    __slots__ = ("t", "nrows", "ntiles", "seed", "plan", "col_pos", "col", "grad_pos", "grad_out",
                 "values_out", "shared_pos", "acc", "leaf_value", "turn", "next_tile", "reduced",
                 "adding", "done", "owner", "error")
    t: Tape
    nrows: int
    ntiles: int
    seed: float
    plan: TilePlan
    col_pos: list[int]          # by column: the position of the leaf it feeds
    col: list[Any]              # by column: its nrows values
    grad_pos: list[int]         # by grads_of entry: the leaf's position
    grad_out: list[list[float]]
    values_out: list[float]
    shared_pos: list[int]       # the leaves whose grads accumulate
    acc: list[float] | None     # by shared leaf: its grad, rows added so far
    leaf_value: list[float]     # by position 1 .. nleaf
    turn: threading.Condition   # guards what follows; notified when a tile was added
    next_tile: int              # the next tile to claim
    reduced: int                # tiles 0 .. reduced - 1 are added into acc
    adding: bool                # a thread is adding tiles into acc
    done: list[list[float] | None]      # by tile: its adjoint tile once run, until added
    owner: list[Worker | None]  # by tile: the thread that ran it
    error: BaseException | None  # what a thread raised: every thread stops


class Worker:
    """One thread's tiles (C's worker)."""

    __slots__ = ("job", "value", "adjoint", "scratch", "ran", "added")
    job: Batch
    value: list[float]          # the value tile
    adjoint: list[list[float]]  # TILES_AHEAD adjoint tiles
    scratch: tuple[list[float], list[float]]
    ran: int                    # tiles it claimed
    added: int                  # of those, added into acc


def forward_tile(op: int, value: list[float], xs: int, ys: int, c: float, outs: int) -> None:
    """value[outs + r], the value of op in row r: the op's rule, row by row."""
    fwd = FORWARD[op]
    for r in range(TILE_ROWS):
        value[outs + r] = fwd(value[xs + r], value[ys + r], c)  # type: ignore[misc]


def chain_tile(t: list[int], o: int, vrow: list[int], value: list[float], outs: int) -> None:
    """value[outs + r], the value of a fused chain's end in row r (t[o:]:
    its entry in the plan's terms): the start, or the first term's product,
    then plus each next term's product, rounded at each step as the unfused
    adds and muls round (C's chain_tile)."""
    m, start = t[o], t[o + 1]
    first = 0       # the first term to add
    if start == MUL_START:
        ws, xs = tile_at(vrow[t[o + 2]]), tile_at(vrow[t[o + 3]])
        for r in range(TILE_ROWS):
            value[outs + r] = value[ws + r] * value[xs + r]
        first = 1
    else:
        s = tile_at(vrow[start])
        for r in range(TILE_ROWS):
            value[outs + r] = value[s + r]
    for j in range(first, m):
        ws, xs = tile_at(vrow[t[o + 2 + 2 * j]]), tile_at(vrow[t[o + 3 + 2 * j]])
        for r in range(TILE_ROWS):
            value[outs + r] = value[outs + r] + value[ws + r] * value[xs + r]


def run_tile(w: Worker, adjoint: list[float], row0: int, rows: int) -> None:
    """Rows row0 .. row0 + rows - 1 (rows <= TILE_ROWS) in w's value tile
    and the adjoint tile ``adjoint``: the columns into their leaves, every
    other value as tape_run computes it (a fused chain's at its end), the
    sweep, the root values and grads_of adjoints out.  A tile computes all
    its rows (past ``rows`` on numbers never read)."""
    job = w.job
    f = job.t.f
    assert f is not None
    n, nleaf = f.n, job.t.nleaf
    a, b, op, c = f.a, f.b, f.op, f.c
    vrow, arow = job.plan.value, job.plan.adjoint
    value = w.value
    for pos, col in zip(job.col_pos, job.col):
        at = tile_at(vrow[pos])
        for r in range(rows):
            value[at + r] = col[row0 + r]
    chain = job.plan.chain
    for i in job.plan.run:
        if chain[i] == PLAIN:
            forward_tile(op[i], value, tile_at(vrow[a[i]]), tile_at(vrow[b[i]]), c[i], tile_at(vrow[i]))
        else:
            chain_tile(job.plan.terms, chain[i], vrow, value, tile_at(vrow[i]))
    sweep_tile(f, nleaf + 1, job.plan, job.seed, value, adjoint, w.scratch)
    at = tile_at(vrow[n])
    for r in range(rows):
        job.values_out[row0 + r] = value[at + r]
    for pos, out in zip(job.grad_pos, job.grad_out):
        at = tile_at(arow[pos])
        for r in range(rows):
            out[row0 + r] = adjoint[at + r]


def add_tile(job: Batch, adjoint: list[float], rows: int) -> None:
    """Add the tile's rows of the shared leaves' adjoints into acc, row
    after row, as tape_run adds each run's into the grads (C keeps eight
    leaves' sums in registers at a time: the same adds, in the same order
    for each leaf)."""
    acc, arow = job.acc, job.plan.adjoint
    assert acc is not None
    for s, p in enumerate(job.shared_pos):
        at = tile_at(arow[p])
        total = acc[s]
        for r in range(rows):
            total += adjoint[at + r]
        acc[s] = total


def add_done(job: Batch) -> None:
    """With job.turn held: add into acc every tile that has run, in tile
    order, unless another thread is at it (the lock is let go while a tile
    is added)."""
    if job.adding:
        return
    job.adding = True
    while job.reduced < job.ntiles and job.done[job.reduced] is not None:
        k = job.reduced
        adjoint = job.done[k]
        job.turn.release()
        try:
            if job.acc is not None:
                add_tile(job, adjoint, min(TILE_ROWS, job.nrows - k * TILE_ROWS))  # type: ignore[arg-type]
        finally:
            job.turn.acquire()
        job.done[k] = None
        job.owner[k].added += 1  # type: ignore[union-attr]
        job.reduced = k + 1
        job.turn.notify_all()
    job.adding = False


def run_tiles(w: Worker) -> None:
    """A thread's loop: claim the next tile (once one of its adjoint tiles
    is free: at most TILES_AHEAD ahead of the sums), run it, publish it, add
    what can be added.  What a tile raises (a column entry that is not a
    number, an interrupt) goes into job.error, which stops every thread:
    tape_run_batch raises it once they are done."""
    job = w.job
    try:
        nleaf, vrow = job.t.nleaf, job.plan.value
        for r in range(TILE_ROWS):
            w.value[tile_at(vrow[NONE]) + r] = 0.0
        for p in range(1, nleaf + 1):
            for r in range(TILE_ROWS):
                w.value[tile_at(vrow[p]) + r] = job.leaf_value[p]
        with job.turn:
            while job.error is None:
                if w.ran - w.added == TILES_AHEAD:
                    job.turn.wait()
                    continue
                k = job.next_tile
                job.next_tile += 1
                if k >= job.ntiles:
                    break
                adjoint = w.adjoint[w.ran % TILES_AHEAD]
                w.ran += 1
                row0 = k * TILE_ROWS
                job.turn.release()
                try:
                    run_tile(w, adjoint, row0, min(TILE_ROWS, job.nrows - row0))
                finally:       # held again, whatever run_tile raised, for `with` to let go
                    job.turn.acquire()
                job.done[k] = adjoint
                job.owner[k] = w
                add_done(job)
    except BaseException as exc:    # noqa: BLE001 -- handed to the calling thread
        with job.turn:
            if job.error is None:
                job.error = exc
            job.turn.notify_all()


def leaf_position(t: Tape, node: int) -> int:
    """The position of leaf ``node`` on t (1 .. nleaf), or 0."""
    f = t.f
    assert f is not None
    for p in range(1, t.nleaf + 1):
        if f.id[p] == node:
            return p
    return 0


def tape_run_batch(t: Tape, nrows: int, col_ids: list[int], cols: list[Any], seed: float,
                   grad_ids: list[int], accumulate: bool, threads: int
                   ) -> tuple[array[float], list[array[float]]] | int:
    """For each row i < nrows, in order, what tape_run does after the leaves
    col_ids[j] took the values cols[j][i], bit for bit: returns (values,
    grads) with values[i] the root's value and grads[k][i] the adjoint
    d(root)/d(grad_ids[k]) * seed (array('d'), as C's); with accumulate, every other leaf's
    adjoint is added into its grad, row after row.  The columns' leaves and
    the tape's other nodes keep their values and grads.  Up to ``threads``
    threads run the tiles; the results do not depend on how many.  EBADID
    (nothing changed) for a column id that is not a leaf on the tape or is
    given twice, or a grads_of id that is not a leaf on the tape; ENOMEM."""
    f = t.f
    assert f is not None
    nleaf = t.nleaf
    if nrows < 0:
        return errors.EBADID
    ntiles = (nrows + TILE_ROWS - 1) // TILE_ROWS
    nthreads = max(threads, 1)
    if nthreads > (ntiles + TILES_PER_THREAD - 1) // TILES_PER_THREAD:
        nthreads = max((ntiles + TILES_PER_THREAD - 1) // TILES_PER_THREAD, 1)
    with ar.lock:
        if injected_failure():          # C's block of sums and positions
            return errors.ENOMEM
        plan = t.plan
        if injected_failure():          # C's tiles
            return errors.ENOMEM
        is_col = [False] * (nleaf + 1)
        col_pos = []
        for node in col_ids:
            p = leaf_position(t, node)
            if p == 0 or is_col[p]:
                return errors.EBADID
            is_col[p] = True
            col_pos.append(p)
        grad_pos = []
        for node in grad_ids:
            p = leaf_position(t, node)
            if p == 0:
                return errors.EBADID
            grad_pos.append(p)
        leaf_value = [0.0] * (nleaf + 1)
        shared_pos: list[int] = []
        acc: list[float] = []
        for p in range(1, nleaf + 1):
            leaf_value[p] = ar.value[f.id[p]]
            if not is_col[p]:
                shared_pos.append(p)
                acc.append(ar.grad[f.id[p]])
    values = [0.0] * nrows
    grads = [[0.0] * nrows for _ in grad_ids]
    if nrows == 0:
        return array("d", values), [array("d", g) for g in grads]
    job = Batch()
    job.t, job.nrows, job.ntiles, job.seed = t, nrows, ntiles, seed
    job.plan = plan
    job.col_pos, job.col, job.grad_pos, job.grad_out = col_pos, cols, grad_pos, grads
    job.values_out, job.shared_pos, job.leaf_value = values, shared_pos, leaf_value
    job.acc = acc if accumulate else None
    job.turn = threading.Condition()
    job.next_tile, job.reduced, job.adding = 0, 0, False
    job.done, job.owner = [None] * ntiles, [None] * ntiles
    job.error = None
    workers = []
    for _ in range(nthreads):
        w = Worker()
        w.job = job
        w.value = [0.0] * (plan.nvalue * TILE_ROWS)
        w.adjoint = [[0.0] * (plan.nadjoint * TILE_ROWS) for _ in range(TILES_AHEAD)]
        w.ran, w.added = 0, 0
        w.scratch = ([0.0] * TILE_ROWS, [0.0] * TILE_ROWS)
        workers.append(w)
    started = [threading.Thread(target=run_tiles, args=(w,)) for w in workers[1:]]
    for th in started:
        th.start()
    run_tiles(workers[0])
    for th in started:
        th.join()
    if job.error is not None:       # nothing was written back
        raise job.error
    assert job.reduced == ntiles
    if accumulate:
        with ar.lock:
            for s, p in enumerate(shared_pos):
                ar.grad[f.id[p]] = acc[s]
    return array("d", values), [array("d", g) for g in grads]
