"""Batched replay: ``tape.run_batch`` equals the Python loop of ``x.data =
row; tape.run(seed)`` bit for bit on both backends (root values, the shared
leaves' grads accumulated in row order, grads_of), for every op of the table
and for random programs, with any number of threads; bad columns raise before
any grad changes."""

from __future__ import annotations

import math
import random
from array import array

import pytest
from graphs import apply_op, bits, random_program, run_program

import autograd as ag
from autograd import ops, replay

# every op a node can hold, from the op table: a new op is tested here unasked
# every op with a rule, but primitive: a tape refuses an ag.primitive (its value and
# derivatives are numbers frozen at recording; tests/test_replay.py checks the refusal)
RULE_OPS = [op.name for op in ops.OPS if op.arity > 0 and op.name != "primitive"]
SPECIAL = [0.0, -0.0, 1.0, -1.0, 1e300, -1e300, 5e-324, math.inf, -math.inf, math.nan]


def same(xs, ys) -> bool:  # type: ignore[no-untyped-def]
    return [bits(x) for x in xs] == [bits(y) for y in ys]


def rows_for(rng: random.Random, n: int, k: int, special: bool = True) -> list[list[float]]:
    """n rows of k numbers: mostly ordinary, some at the edges of float."""
    out = []
    for _ in range(n):
        row = []
        for _ in range(k):
            u = rng.random()
            if special and u < 0.15:
                row.append(rng.choice(SPECIAL))
            elif u < 0.3:
                row.append(float(rng.randint(-3, 3)))
            else:
                row.append(rng.uniform(-3.0, 3.0))
        out.append(row)
    return out


class Graph:
    """One build of a graph: its input leaves (the columns), its shared
    leaves (parameters, with grads that accumulate) and its tape."""

    def __init__(self, build, n_inputs: int, shared_values: list[float]) -> None:  # type: ignore[no-untyped-def]
        self.inputs = [ag.Value(0.5) for _ in range(n_inputs)]
        self.shared = [ag.Value(v) for v in shared_values]
        for p in self.shared:
            p.grad = 0.125          # an earlier grad: the rows add to it
        self.tape = replay.record(lambda: build(self.inputs, self.shared))

    def leaves_on_tape(self) -> list[ag.Value]:
        ids = set(self.tape._eng.tape_leaves(self.tape._tape))
        return [v for v in self.inputs + self.shared if v._id in ids]


def loop(g: Graph, rows: list[list[float]], seed: float, grads_of: list[int]):  # type: ignore[no-untyped-def]
    """The reference: the Python loop the contract names.  grads_of are
    indices into g.inputs + g.shared; their per-row gradient is the sweep's
    adjoint (eng.gradients on the graph the run just computed)."""
    eng = g.tape._eng
    every = g.inputs + g.shared
    values, grads = [], [[] for _ in grads_of]
    for row in rows:
        for x, v in zip(g.inputs, row):
            x.data = v
        values.append(g.tape.run(seed))
        per_row = eng.gradients(g.tape.root._id, seed, [every[j]._id for j in grads_of])
        for out, d in zip(grads, per_row):
            out.append(d)
    return values, grads, [p.grad for p in g.shared]


def batched(g: Graph, rows: list[list[float]], seed: float, grads_of: list[int], threads: int):  # type: ignore[no-untyped-def]
    every = g.inputs + g.shared
    on_tape = {v._id for v in g.leaves_on_tape()}
    columns = {x: [row[k] for row in rows] for k, x in enumerate(g.inputs) if x._id in on_tape}
    data = [x.data for x in g.inputs]
    grads_before = [x.grad for x in g.inputs]
    values, grads = g.tape.run_batch(columns, seed=seed, grads_of=[every[j] for j in grads_of],
                                     threads=threads)
    # the columns' leaves keep their data and grads
    assert same([x.data for x in g.inputs], data)
    assert same([x.grad for x in g.inputs], grads_before)
    return list(values), [list(d) for d in grads], [p.grad for p in g.shared]


def check(build, n_inputs: int, shared_values: list[float], rows: list[list[float]],  # type: ignore[no-untyped-def]
          seed: float, threads: int) -> None:
    ref = Graph(build, n_inputs, shared_values)
    bat = Graph(build, n_inputs, shared_values)
    on_tape = [i for i, v in enumerate(ref.inputs + ref.shared) if v._id in
               {w._id for w in ref.leaves_on_tape()}]
    want = loop(ref, rows, seed, on_tape)
    got = batched(bat, rows, seed, on_tape, threads)
    assert same(got[0], want[0]), "root values differ"
    for j, (a, b) in enumerate(zip(got[1], want[1])):
        assert same(a, b), f"grads_of[{j}] differ"
    assert same(got[2], want[2]), "shared leaves' grads differ"
    ref.tape.close()
    bat.tape.close()


def op_graph(name: str):  # type: ignore[no-untyped-def]
    """A graph that uses op ``name`` on an input and a shared leaf, and on
    two inputs, with a second use of each (the adds of the sweep meet)."""
    def build(xs: list[ag.Value], ps: list[ag.Value]) -> ag.Value:
        u = apply_op(name, xs[0], ps[0], 1.5)
        v = apply_op(name, xs[1] * ps[1], xs[0], -0.5)
        w = apply_op(name, xs[1], xs[1], 2.0)      # the same node as both inputs
        return u * ps[1] + v + w * xs[0]
    return build


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("name", RULE_OPS)
def test_every_op_equals_the_loop(backend: str, name: str, threads: int) -> None:
    rng = random.Random(hash(name) % 1000)
    rows = rows_for(rng, 200, 2)                   # four tiles, the last partial
    check(op_graph(name), 2, [0.75, -1.25], rows, 1.0, threads)


def test_the_op_lists_cover_the_table() -> None:
    assert set(RULE_OPS) | {"leaf", "primitive"} == {op.name for op in ops.OPS}


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("seed", range(12))
def test_random_programs_equal_the_loop(backend: str, seed: int, threads: int) -> None:
    rng = random.Random(seed)
    _inputs, steps = random_program(seed, n_inputs=4, n_steps=30)
    n_rows = rng.choice([1, 3, 64, 65, 150])
    rows = rows_for(rng, n_rows, 2, special=seed % 3 == 0)

    def build(xs: list[ag.Value], ps: list[ag.Value]) -> ag.Value:
        return run_program(steps, xs + ps) + xs[0] * xs[1]     # both inputs on the tape
    check(build, 2, [rng.uniform(-2, 2), rng.uniform(-2, 2)], rows, rng.choice([1.0, 0.5, -2.0]),
          threads)


def test_a_long_graph(backend: str) -> None:
    """A graph whose tiles do not fit in a core's cache."""
    def build(xs: list[ag.Value], ps: list[ag.Value]) -> ag.Value:
        y = xs[0]
        for k in range(3000):
            y = (y * ps[0] + xs[1]).tanh() if k % 2 else y + ps[1] * 0.5
        return y
    rows = rows_for(random.Random(5), 40, 2, special=False)
    check(build, 2, [0.9, 0.3], rows, 1.0, 2)


def test_the_root_may_be_a_column(backend: str) -> None:
    x = ag.Value(2.0)
    tape = replay.record(lambda: x)
    values, (dx,) = tape.run_batch({x: [1.0, -3.0]}, grads_of=[x], seed=2.0)
    assert list(values) == [1.0, -3.0] and list(dx) == [2.0, 2.0]
    assert x.data == 2.0 and x.grad == 0.0


def test_column_kinds(backend: str) -> None:
    """Lists, tuples, array('d'), memoryviews, buffers of format '<d' and
    numpy arrays (contiguous or not) give the same results; results are
    sequences of floats."""
    x, w = ag.Value(0.0), ag.Value(2.0)
    tape = replay.record(lambda: (x * w).sin())
    data = [0.1 * k for k in range(10)]
    want = list(tape.run_batch({x: data}))
    import ctypes
    explicit = (ctypes.c_double * len(data))(*data)         # a buffer of format '<d'
    for col in [tuple(data), array("d", data), memoryview(array("d", data)), iter(data), explicit]:
        assert same(list(tape.run_batch({x: col})), want)
    assert list(tape.run_batch({x: []})) == []
    np = pytest.importorskip("numpy")
    assert same(list(tape.run_batch({x: np.array(data)})), want)
    assert same(list(tape.run_batch({x: np.repeat(np.array(data), 2)[::2]})), want)  # strided


def snapshot(vs: list[ag.Value]) -> list[tuple[str, str]]:
    return [(bits(v.data), bits(v.grad)) for v in vs]


def test_bad_columns_raise_before_any_grad_changes(backend: str) -> None:
    x, y, w = ag.Value(1.0), ag.Value(2.0), ag.Value(3.0)
    other = ag.Value(4.0)
    tape = replay.record(lambda: w * x + y)
    inner = w * x
    every = [x, y, w, other]
    before = snapshot(every)
    bad = [
        ({x: [1.0, 2.0], y: [1.0]}, ValueError, "column 1 has 1 values"),
        ({x: [1.0], other: [2.0]}, ValueError, "not on this tape"),
        ({inner: [1.0]}, ValueError, "not a leaf"),
        ({x: ["a", "b"]}, TypeError, "not a number"),
        ({x: "ab"}, TypeError, "not a sequence of numbers"),
        ({x: bytes(16)}, TypeError, "not a sequence of numbers"),
        ({x: memoryview(bytes(16))}, TypeError, "format 'B'"),
        ({x: array("f", [1.0])}, TypeError, "format 'f'"),
        ({x: 3.0}, TypeError, "not a number"),
        ({1.0: [1.0]}, TypeError, "must be a Value"),
        ({}, ValueError, "no columns"),
        ([(x, [1.0])], TypeError, "must map leaves"),
    ]
    for columns, exc, words in bad:
        with pytest.raises(exc, match=words):
            tape.run_batch(columns)  # type: ignore[arg-type]
        assert snapshot(every) == before
    same_leaf = ag.value._wrap(x._eng, x._id)
    x._eng.retain(x._id)
    with pytest.raises(ValueError, match="same leaf"):
        tape.run_batch({x: [1.0], same_leaf: [2.0]})
    for kwargs, exc, words in [({"grads_of": [other]}, ValueError, "not on this tape"),
                               ({"grads_of": x}, TypeError, "sequence of leaves"),
                               ({"threads": 0}, ValueError, "at least 1"),
                               ({"threads": 1.5}, TypeError, "must be an int")]:
        with pytest.raises(exc, match=words):
            tape.run_batch({x: [1.0]}, **kwargs)  # type: ignore[arg-type]
        assert snapshot(every) == before
    tape.close()
    with pytest.raises(replay.ReplayError, match="closed"):
        tape.run_batch({x: [1.0]})
    assert snapshot(every) == before


def test_out_of_memory_changes_nothing(backend: str) -> None:
    x, w = ag.Value(1.0), ag.Value(3.0)
    tape = replay.record(lambda: w * x)
    eng = x._eng
    for k in range(2):          # the plan, then the tiles
        eng.fail_after(k)
        with pytest.raises(MemoryError):
            tape.run_batch({x: [1.0, 2.0]})
        eng.fail_after(-1)
        assert w.grad == 0.0
    assert list(tape.run_batch({x: [1.0, 2.0]})) == [3.0, 6.0] and w.grad == 3.0


def test_both_backends_agree(both_backends: list[str]) -> None:
    """The same program on C and on Python: the same bits."""
    _inputs, steps = random_program(99, n_inputs=4, n_steps=40)
    rows = rows_for(random.Random(99), 100, 2)
    results = []
    for b in both_backends:
        ag.set_backend(b)
        g = Graph(lambda xs, ps: run_program(steps, xs + ps) + xs[0] * xs[1], 2, [0.3, -0.7])
        results.append(batched(g, rows, 0.5, list(range(4)), 2))
        g.tape.close()
    (v1, g1, s1), (v2, g2, s2) = results
    assert same(v1, v2) and all(same(a, b) for a, b in zip(g1, g2)) and same(s1, s2)


def test_tiles_reuse_rows(backend: str) -> None:
    """A tile keeps a row per value only while it is live: a chain whose
    rules read no values needs a few rows, however long it is (checked on
    the Python twin's plan, which is C's)."""
    from autograd.engine.python.sweep import tile_plan

    x = ag.Value(1.0)
    y = x
    for _ in range(500):
        y = (y * 2.0 + 1.0) * 0.5         # y + 0.5
    tape = replay.record(lambda: y)
    assert list(tape.run_batch({x: [1.0, -3.0]})) == [251.0, 247.0]
    if backend == "python":
        t = tape._tape
        plan = tile_plan(t.f, t.nleaf + 1)
        assert t.f.n == 1501 and plan.nvalue <= 4 and plan.nadjoint <= 4


@pytest.mark.parametrize("threads", [2, 3, 8])
def test_many_tiles_on_many_threads(backend: str, threads: int) -> None:
    """Enough rows for every thread (a thread per 4 tiles of 64 rows at
    most), each running tiles ahead of the sums: the same bits as the loop."""
    _inputs, steps = random_program(7, n_inputs=4, n_steps=12)
    rows = rows_for(random.Random(7), 64 * 4 * threads + 17, 2)

    def build(xs: list[ag.Value], ps: list[ag.Value]) -> ag.Value:
        return run_program(steps, xs + ps) + xs[0] * xs[1]
    check(build, 2, [0.4, -1.1], rows, 0.25, threads)


class Interrupted(Exception):
    """What the test's SIGALRM handler raises (as Ctrl-C raises KeyboardInterrupt)."""


def test_an_exception_mid_batch_on_threads_surfaces_and_changes_nothing(backend: str) -> None:
    """A signal handler's exception that lands while run_batch runs on two
    threads (the Python engine runs its tiles in Python; C's run is one
    call, so it lands after it): the caller gets that exception, not another
    one the threads' lock handling made, no thread is left behind, and the
    grads are either untouched or the whole batch's."""
    import signal
    import threading
    import time

    x, w = ag.Value(1.0), ag.Value(0.5)
    tape = replay.record(lambda: sum(((x * w + float(k)).tanh() * w for k in range(40)), ag.Value(0.0)))
    rows = [0.001 * i for i in range(64 * 4 * 2 * 4)]
    fired: list[int] = []

    def handler(signum: int, frame: object) -> None:
        fired.append(signum)
        raise Interrupted

    w.grad = 0.25
    old = signal.signal(signal.SIGALRM, handler)
    threads_before = threading.active_count()
    out = None
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.02)
        try:
            out = tape.run_batch({x: rows}, threads=2)
            while not fired:            # the run ended first: let the signal land here
                time.sleep(0.001)
        except Interrupted:
            pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert fired
    assert threading.active_count() == threads_before
    got = w.grad
    w.grad = 0.25
    tape.run_batch({x: rows}, threads=1)            # the whole batch's sums
    # untouched, or (the signal landed after the engine returned: C's call
    # releases the GIL, so on a slow machine it lands there) the whole batch's
    allowed = {bits(0.25), bits(w.grad)} if out is None else {bits(w.grad)}
    assert bits(got) in allowed
    assert ag.check() == 0


# ---- fused chains: a neuron's sum b + w1*x1 + w2*x2 + ... runs as one
# instruction of the tile plan (csrc/sweep.c's find_chains); these graphs
# have such chains in every shape the plan fuses or must refuse, and rows
# with the edges of float, subnormals included.
CHAIN_SPECIAL = [0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, -1e-310, 2.2250738585072014e-308,
                 1e300, -1e300]


def chain_rows(seed: int, n: int, k: int) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.choice(CHAIN_SPECIAL) if rng.random() < 0.2 else rng.uniform(-2.0, 2.0)
             for _ in range(k)] for _ in range(n)]


def neurons(xs: list[ag.Value], ps: list[ag.Value]) -> ag.Value:
    """W5's shape: layers of neurons sum(w*x, b) (chains of 1, 2 and 6
    terms), relu between them; one neuron starts with a product
    (w0*x0 + w1*x1), one sums its terms onto 0 (sum's own start)."""
    it = iter(ps)
    one = sum((next(it) * x for x in xs[:1]), next(it))          # 1 term
    two = sum((next(it) * x for x in xs[:2]), next(it))          # 2 terms
    many = sum((next(it) * x for x in xs), next(it))             # 6 terms
    first = next(it) * xs[0] + next(it) * xs[1] + next(it) * xs[2]     # mul start
    plain = sum(next(it) * x for x in xs[3:])                    # 0 + w*x + ...
    hidden = [one.relu(), two.relu(), many.relu(), first.relu(), plain.relu()]
    return sum((next(it) * h for h in hidden), next(it))


NEURON_PARAMS = 2 + 3 + 7 + 3 + 3 + 6


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_fused_neurons_equal_the_loop(backend: str, threads: int) -> None:
    rng = random.Random(11)
    params = [rng.uniform(-1.5, 1.5) for _ in range(NEURON_PARAMS)]
    params[3] = -0.0            # a weight of -0.0: products of -0.0 and the adds they meet
    rows = chain_rows(11, 64 * 4 * threads + 17, 6)
    check(neurons, 6, params, rows, 0.5, threads)


def shared_partial_sum(xs: list[ag.Value], ps: list[ag.Value]) -> ag.Value:
    """A chain's partial sum read elsewhere too: the chain stops there."""
    part = ps[0] + ps[1] * xs[0] + ps[2] * xs[1]
    whole = part + ps[3] * xs[2] + ps[4] * xs[3]
    return whole * part + (part * ps[1]).tanh()


def shared_weight(xs: list[ag.Value], ps: list[ag.Value]) -> ag.Value:
    """One weight in several chains, and as both inputs of a term (w * w)."""
    w = ps[0]
    c1 = ps[1] + w * xs[0] + ps[2] * xs[1]
    c2 = ps[3] + w * xs[1] + w * xs[2] + w * w
    c3 = c1.relu() * w + c2 * ps[2] + xs[3] * xs[3]
    return c3 + w * c1


def weight_inside(xs: list[ag.Value], ps: list[ag.Value]) -> ag.Value:
    """A chain whose term's input is computed from the chain's own weight:
    between the chain's first node and its end, another node sends into w's
    adjoint, and so does the root.  Fused, the chain would add its share
    into w before that node's: the plan must leave it unfused."""
    w = ps[0]
    inner = (w * xs[1]).tanh()
    chain = ps[1] + w * xs[0] + ps[2] * inner
    return chain * w


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("build", [shared_partial_sum, shared_weight, weight_inside])
def test_chains_with_shared_nodes_equal_the_loop(backend: str, build, threads: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(build.__name__)
    params = [rng.uniform(-1.5, 1.5) for _ in range(5)]
    rows = chain_rows(len(build.__name__), 64 * 4 * threads + 17, 4)
    check(build, 4, params, rows, -1.5, threads)


def python_plan(build, n_inputs: int, n_params: int):  # type: ignore[no-untyped-def]
    """The Python twin's tile plan (C's, by construction) of build's tape,
    with the tape's number of nodes and of leaves."""
    from autograd.engine.python.sweep import tile_plan

    g = Graph(build, n_inputs, [0.5] * n_params)
    t = g.tape._tape
    plan = tile_plan(t.f, t.nleaf + 1)
    n, nleaf = t.f.n, t.nleaf
    g.tape.close()
    return plan, n, nleaf


def test_chains_are_fused() -> None:
    """W5-like chains are fused: the plan runs far fewer instructions than
    the tape has nodes, so batched replay cannot quietly lose its fast path;
    a chain that cannot be fused exactly is left alone."""
    from autograd.cli.bench import engines
    from autograd.engine.python.sweep import FUSED, PLAIN

    saved = ag.get_backend()
    ag.set_backend("python")
    try:
        plan, n, nleaf = python_plan(neurons, 6, NEURON_PARAMS)
        runs = sum(1 for i in range(nleaf + 1, n + 1) if plan.chain[i] != FUSED)
        plain = sum(1 for i in range(nleaf + 1, n + 1) if plan.chain[i] == PLAIN)
        # 6 chains (the hidden layer's sum too); plain: the 5 relus, and the
        # 0 + w*x that sum() starts with when given no start (a mul read by
        # an addc, which then starts a chain): 13 instructions for 44 nodes
        assert plan.nchain == 6 and plain == 7 and runs == 13 and n - nleaf == 44

        plan, n, nleaf = python_plan(shared_partial_sum, 4, 5)
        assert plan.nchain == 2         # part, and whole from part on

        plan, n, nleaf = python_plan(weight_inside, 4, 5)
        assert plan.nchain == 0

        tape = engines.w5_tape("python", 4)[0]
        n, nleaf = tape._tape.f.n, tape._tape.nleaf
        from autograd.engine.python.sweep import tile_plan
        plan = tile_plan(tape._tape.f, nleaf + 1)
        runs = sum(1 for i in range(nleaf + 1, n + 1) if plan.chain[i] != FUSED)
        assert plan.nchain == 33 and runs == 69     # 16 + 16 neurons and the score; 36 plain
        tape.close()
    finally:
        ag.set_backend(saved)
