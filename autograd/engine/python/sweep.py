"""The graph below a root laid out flat, the one reverse sweep over it, and
what is built on them: backward, gradients, topo.  The twin of csrc/sweep.c.

The layout is a depth-first post-order from the root (first input before
second) with an explicit stack, so no recursion on graph depth; each node is
copied to its position when the walk leaves it, with its inputs' positions.
``ar.slot`` is a sparse set: slot[id] counts only when visit[slot[id]] == id,
and visit belongs to this call, so nothing an earlier call left behind can
change this one.

``sweep`` is also the reverse sweep of the features written in Python on
either engine: ``gradients(..., create_graph=True)`` and ``explain`` run it
over a ``Flat`` read from the engine, with their own step (``rule``).
"""

from __future__ import annotations

import dis
from typing import Any, Callable, Optional

from ... import errors, ops
from .arena import ARITY, LEAF, ar, injected_failure, is_live
from .rules import LOCAL_GRADS
from .stale import stale_input

# A rule hook: (position, adjoint) -> what the node sends to its inputs a and
# b (None for an input that needs nothing), or None to skip the node.
Rule = Callable[[int, Any], Optional[tuple[Any, Any]]]


NONE = 0    # the position of a missing input, whose value is 0.0


class Flat:
    """The graph below a root, by position: inputs before the nodes that use
    them at positions 1 .. n, the root at n; position NONE (0) stands for a
    missing input, with value 0.0.  csrc/sweep.h's ag_flat."""

    __slots__ = ("n", "id", "a", "b", "op", "c", "value", "adjoint")

    def __init__(self, n: int, id: list[int], a: list[int], b: list[int], op: list[int],  # noqa: A002
                 c: list[float], value: list[float]) -> None:
        self.n = n
        self.id = id
        self.a = a
        self.b = b
        self.op = op
        self.c = c
        self.value = value
        self.adjoint: list[Any] = []


def flat_order(root: int) -> Flat | int:
    """The graph below root, a live node, laid out flat; or ENOMEM.  Call
    with the lock held."""
    if injected_failure():      # C's scratch block
        return errors.ENOMEM
    aop, aa, ab, ac, avalue, slot = ar.op, ar.a, ar.b, ar.c, ar.value, ar.slot
    visit = [root]              # by visit index: the node's id
    nxt = [0]                   # by visit index: which input to descend into next
    inputs = [-1, -1]           # by 2 * visit index (+1): the inputs' visit indices
    position = [-1]             # by visit index, once laid out
    slot[root] = 0
    stack = [0]                 # visit indices on the depth-first path
    ids: list[int] = [-1]       # by position; position NONE first
    a: list[int] = [NONE]
    b: list[int] = [NONE]
    op: list[int] = [LEAF]
    c: list[float] = [0.0]
    value: list[float] = [0.0]
    while stack:
        k = stack[-1]
        node = visit[k]
        j = nxt[k]
        if j < ARITY[aop[node]]:
            inp = aa[node] if j == 0 else ab[node]
            v = slot[inp]
            nxt[k] = j + 1
            if not (0 <= v < len(visit)) or visit[v] != inp:
                v = len(visit)
                visit.append(inp)
                nxt.append(0)
                inputs.append(-1)
                inputs.append(-1)
                position.append(-1)
                slot[inp] = v
                stack.append(v)
            inputs[2 * k + j] = v
        else:
            position[k] = len(ids)
            ids.append(node)
            op.append(aop[node])
            c.append(ac[node])
            value.append(avalue[node])
            a.append(position[inputs[2 * k]] if j >= 1 else NONE)
            b.append(position[inputs[2 * k + 1]] if j >= 2 else NONE)
            stack.pop()
    n = len(ids) - 1
    return Flat(n, ids, a, b, op, c, value)


def sweep(f: Flat, seed: Any, grad: list[float] | None = None, anomaly: list[Any] | None = None,
          rule: Rule | None = None, zero: Any = 0.0, first: int = 1) -> int:
    """The reverse sweep: f.adjoint[i] becomes d(root)/d(node i) * seed.
    Each node, root first, sends each input what its rule gives, first input
    first; a node's adjoint is complete when the sweep reaches it.  With grad
    (the arena's grads), that complete adjoint is added into the node's grad
    there and then.

    With anomaly (a list, anomaly mode) the sweep stops at the first rule
    that produces nan: anomaly becomes [node id, input (0: a, 1: b), g] and
    the result is ENAN.  Returns OK otherwise.

    ``rule(i, g)`` replaces the op's rule (rules.py on f's values) for the
    features that build something else than floats (create_graph: Values;
    explain: a record of each step).  ``zero`` is what every adjoint starts
    from; the first addition into it is ``zero + d``.  The sweep goes down
    to position ``first``: 1, or past a tape's leaves, which send nothing."""
    n = f.n
    a, b, op, c, value, ids = f.a, f.b, f.op, f.c, f.value, f.id
    adjoint = f.adjoint = [zero] * (n + 1)
    adjoint[n] = seed
    for i in range(n, first - 1, -1):
        if grad is not None:
            grad[ids[i]] += adjoint[i]
        if op[i] == LEAF:
            continue
        if rule is None:
            da, db = LOCAL_GRADS[op[i]](value[a[i]], value[b[i]], c[i], value[i],  # type: ignore[misc]
                                        adjoint[i])
        else:
            step = rule(i, adjoint[i])
            if step is None:
                continue
            da, db = step
        if anomaly is not None and (da != da or db != db):
            anomaly[:] = [ids[i], 0 if da != da else 1, adjoint[i]]
            return errors.ENAN
        if da is not None:
            adjoint[a[i]] += da
        # not NONE: adding to one place every time would chain the adds
        if b[i] != NONE and db is not None:
            adjoint[b[i]] += db
    return errors.OK


def backward_sweep(root: int, seed: float, anomaly: list[Any] | None) -> int:
    """backward, and with anomaly (a list to fill) backward_checked.  Grads
    are added only once the sweep is through."""
    with ar.lock:
        if not is_live(root):
            return errors.EBADID
        f = flat_order(root)
        if isinstance(f, int):
            return f
        if stale_input(f) >= 0:     # stale.py
            return errors.ESTALE
        status = sweep(f, seed, ar.grad if anomaly is None else None, anomaly)
        if status == errors.OK and anomaly is not None:
            grad, ids, adjoint = ar.grad, f.id, f.adjoint
            for i in range(1, f.n + 1):
                grad[ids[i]] += adjoint[i]
        return status


def backward(root: int, seed: float) -> int:
    """Add d(root)/d(node) * seed into the grad of every node reachable from
    root; the adjoints of this call are computed afresh, then added."""
    return backward_sweep(root, seed, None)


def backward_checked(root: int, seed: float) -> tuple[int, int, int, float]:
    """backward for anomaly mode: (status, node, input, g), as C's
    ag_backward_checked; status ENAN names the rule that produced nan."""
    anomaly: list[Any] = []
    status = backward_sweep(root, seed, anomaly)
    if status == errors.ENAN:
        return status, int(anomaly[0]), int(anomaly[1]), anomaly[2]
    return status, -1, -1, 0.0


def gradients(root: int, seed: float, ids: list[int]) -> list[float] | int:
    """d(root)/d(node) * seed for each node in ids (0.0 for a node root does
    not depend on): backward's sweep without the adding, so no grad changes;
    or a negative status."""
    with ar.lock:
        if not is_live(root) or not all(is_live(node) for node in ids):
            return errors.EBADID
        f = flat_order(root)
        if isinstance(f, int):
            return f
        if stale_input(f) >= 0:
            return errors.ESTALE
        sweep(f, seed)
        slot = ar.slot
        for i in range(1, f.n + 1):     # slot now as a sparse set by position
            slot[f.id[i]] = i
        out = []
        for node in ids:
            p = slot[node]
            out.append(f.adjoint[p] if 1 <= p <= f.n and f.id[p] == node else 0.0)
        return out


def topo(root: int) -> list[int] | int:
    """Ids reachable from root, inputs first; or a negative status."""
    with ar.lock:
        if not is_live(root):
            return errors.EBADID
        f = flat_order(root)
        if isinstance(f, int):
            return f
        return f.id[1:]



# A tile holds the values or adjoints of a flat graph for TILE_ROWS rows:
# position i's row r at tile_at(i) + r (C's AG_TILE_ROWS, AG_TILE_AT).
TILE_ROWS = 64
FIRST_A, FIRST_B = 1, 2     # the bits of tile_plan's flags


def tile_at(i: int) -> int:
    """Where position i's rows start in a tile."""
    return i * TILE_ROWS


READS_X, READS_Y, READS_OUT = 1, 2, 4     # what a backward rule reads


def rule_reads(op: int) -> int:
    """Which of x, y and out (READS_*) op's backward rule reads: the names its
    block in rules.py loads (C scans its rules.h row for them)."""
    grads = LOCAL_GRADS[op]
    if grads is None:
        return READS_X | READS_Y | READS_OUT
    names: set[str] = set(grads.__code__.co_cellvars)     # captured by an inner function
    for ins in dis.get_instructions(grads):
        if ins.opname.startswith(("LOAD_FAST", "LOAD_DEREF", "LOAD_CLOSURE")):
            names.update(ins.argval if isinstance(ins.argval, tuple) else (ins.argval,))
    return ((READS_X if "x" in names else 0) | (READS_Y if "y" in names else 0)
            | (READS_OUT if "out" in names else 0))


ADD, MUL = ops.BY_NAME["add"].code, ops.BY_NAME["mul"].code
# tile_plan's chain, by position: a node that runs its own rule, one that
# runs inside its chain's end; a chain's start when its first term is a mul
PLAIN, FUSED = -1, -2
MUL_START = -1
# how many steps per node tile_plan may spend checking that chains can be
# fused (C's AG_FUSE_CHECKS)
FUSE_CHECKS = 4


class TilePlan:
    """Where a tile keeps each position's rows, and how the sweep sends to
    them: csrc/sweep.h's ag_tile_plan, with its fused chains."""

    __slots__ = ("value", "adjoint", "flags", "chain", "terms", "term_flags", "run", "nvalue",
                 "nadjoint", "nchain")
    value: list[int]        # by position: its row of the value tile
    adjoint: list[int]      # by position: its row of the adjoint tile
    flags: list[int]        # by position: FIRST_A, FIRST_B
    chain: list[int]        # by position: PLAIN, FUSED, or a chain end's offset in terms
    terms: list[int]        # a chain at offset o: [m, start, a1, b1, ..., am, bm]
    term_flags: list[int]   # at the offsets of terms: FIRST_A at a first add
    run: list[int]          # the positions that run a rule or a chain, first to last
    nvalue: int
    nadjoint: int
    nchain: int             # chains fused


def find_chains(f: Flat, first: int, plan: TilePlan) -> list[int]:
    """Fill plan.chain, plan.terms and plan.nchain with the chains of f that
    are fused (csrc/sweep.c's find_chains, which says what a chain is and
    why fusing one gives the unfused bits); returns owner, by position: a
    fused node's chain end."""
    n, a, b, op = f.n, f.a, f.b, f.op
    readers = [0] * (n + 1)
    reader = [NONE] * (n + 1)
    owner = [NONE] * (n + 1)
    target = [NONE] * (n + 1)
    chain = [PLAIN] * (n + 1)
    terms: list[int] = []
    for i in range(first, n + 1):
        if op[i] == LEAF:
            continue
        readers[a[i]] += 1
        reader[a[i]] = i
        if b[i] != NONE:
            readers[b[i]] += 1
            reader[b[i]] = i

    def is_term(p: int) -> bool:        # a mul of the sweep with one reader
        return p >= first and op[p] == MUL and readers[p] == 1

    def is_link(i: int) -> bool:        # an add of the sweep whose b is a term
        return i >= first and op[i] == ADD and is_term(b[i])

    def is_inner(i: int) -> bool:       # a partial sum inside a longer chain
        return (is_link(i) and readers[i] == 1 and is_link(reader[i]) and a[reader[i]] == i
                and i < b[reader[i]])

    budget = FUSE_CHECKS * (n + 1)
    nchain = 0
    for e in range(first, n + 1):
        if not is_link(e) or is_inner(e):
            continue
        k, m = e, 1
        ordered = a[k] < b[k]
        while is_inner(a[k]):
            k = a[k]
            m += 1
            ordered = ordered and a[k] < b[k]
        start = a[k]
        mul_start = is_term(start)
        lo = start if mul_start else b[k]
        m += mul_start
        if not ordered or budget < e - lo:
            continue
        budget -= e - lo
        t = [0] * (2 + 2 * m)
        t[0] = m
        t[1] = MUL_START if mul_start else start
        if not mul_start:
            target[start] = e
        j = m
        k = e
        while True:
            owner[k] = owner[b[k]] = e
            j -= 1
            t[2 + 2 * j] = a[b[k]]
            t[3 + 2 * j] = b[b[k]]
            if a[k] == start:
                break
            k = a[k]
        if mul_start:
            owner[start] = e
            t[2], t[3] = a[start], b[start]
        for j in range(m):
            target[t[2 + 2 * j]] = target[t[3 + 2 * j]] = e
        clear = True
        for p in range(lo + 1, e):
            if owner[p] != e and op[p] != LEAF:
                clear = target[a[p]] != e and (b[p] == NONE or target[b[p]] != e)
                if not clear:
                    break
        if not clear:
            continue
        k = e
        while True:
            chain[k] = chain[b[k]] = FUSED
            if a[k] == start:
                break
            k = a[k]
        if mul_start:
            chain[start] = FUSED
        chain[e] = len(terms)
        terms.extend(t)
        nchain += 1
    plan.chain, plan.terms, plan.nchain = chain, terms, nchain
    return owner


def tile_plan(f: Flat, first: int) -> TilePlan:
    """The rows of f's tiles for a sweep down to ``first`` (the positions
    below it are leaves, with rows of their own), and its fused chains
    (find_chains): a node's value has a row from the node to its last reader
    in the forward pass (a chain's nodes read at its end; only the end has a
    row), unless a backward rule reads it (or it is the root's): then to
    the end; a position's adjoint has a row from its first incoming add to
    the node's own rule (the leaves' and the root's: to the end).
    flags[i]: FIRST_A when what node i sends its input a is the first add
    into a's adjoint, FIRST_B the same for b; term_flags the same for a
    chain's sends; sweep_tile stores 0.0 + d there (the bits the add into
    0.0 gives), so a reused row needs no zeroing."""
    n, a, b, op = f.n, f.a, f.b, f.op
    plan = TilePlan()
    owner = find_chains(f, first, plan)
    chain, terms = plan.chain, plan.terms
    reads = [rule_reads(code) for code in range(ops.COUNT)]
    keep = [p < first or p == n for p in range(n + 1)]
    last = list(range(n + 1))
    for i in range(first, n + 1):
        if op[i] == LEAF:
            continue
        r = reads[op[i]]
        at = owner[i] if chain[i] == FUSED else i      # where node i runs
        keep[i] = keep[i] or bool(r & READS_OUT)
        keep[a[i]] = keep[a[i]] or bool(r & READS_X)
        keep[b[i]] = keep[b[i]] or bool(r & READS_Y)
        last[a[i]] = max(last[a[i]], at)
        last[b[i]] = max(last[b[i]], at)
    value = [0] * (n + 1)
    adjoint = [0] * (n + 1)
    for p in range(min(first, n + 1)):
        value[p] = adjoint[p] = p
    spare: list[int] = []
    rows = first
    for i in range(first, n + 1):
        if chain[i] == FUSED:
            value[i] = adjoint[i] = NONE        # never read
            continue
        if spare:
            value[i] = spare.pop()
        else:
            value[i] = rows
            rows += 1
        if chain[i] >= 0:
            o = chain[i]
            for j in range(o + (2 if terms[o + 1] == MUL_START else 1), o + 2 + 2 * terms[o]):
                p = terms[j]
                if p >= first and not keep[p] and last[p] == i:
                    spare.append(value[p])
                    last[p] = -1        # freed: a second use in the chain frees nothing
            continue
        if a[i] >= first and not keep[a[i]] and last[a[i]] == i:
            spare.append(value[a[i]])
        if b[i] >= first and b[i] != a[i] and not keep[b[i]] and last[b[i]] == i:
            spare.append(value[b[i]])
    plan.nvalue = rows
    plan.run = [i for i in range(first, n + 1) if op[i] != LEAF and chain[i] != FUSED]
    flags = [0] * (n + 1)
    term_flags = [0] * len(terms)
    seen = [False] * (n + 1)
    spare = []
    rows = first

    def first_add(p: int) -> bool:
        """Whether a send into p is the first add into its adjoint; a
        position of the sweep then gets its adjoint row."""
        nonlocal rows
        if seen[p]:
            return False
        seen[p] = True
        if p >= first:
            if spare:
                adjoint[p] = spare.pop()
            else:
                adjoint[p] = rows
                rows += 1
        return True
    if n >= first:
        adjoint[n] = rows
        rows += 1
    for i in range(n, first - 1, -1):
        if op[i] == LEAF or chain[i] == FUSED:
            continue
        if chain[i] >= 0:
            # the unfused order: the terms from the last, the start's send
            # (made by the lowest link) between the first two
            o = chain[i]
            for j in range(terms[o] - 1, -1, -1):
                if j == 0 and terms[o + 1] != MUL_START and first_add(terms[o + 1]):
                    term_flags[o + 1] = FIRST_A
                if first_add(terms[o + 2 + 2 * j]):
                    term_flags[o + 2 + 2 * j] = FIRST_A
                if first_add(terms[o + 3 + 2 * j]):
                    term_flags[o + 3 + 2 * j] = FIRST_A
        else:
            if first_add(a[i]):
                flags[i] |= FIRST_A
            if b[i] != NONE and first_add(b[i]):
                flags[i] |= FIRST_B
        spare.append(adjoint[i])        # read by this node's rule, never again
    plan.nadjoint = rows
    plan.value, plan.adjoint, plan.flags, plan.term_flags = value, adjoint, flags, term_flags
    return plan


def local_grads_tile(op: int, value: list[float], xs: int, ys: int, c: float, outs: int,
                     adjoint: list[float], gs: int, da: list[float], db: list[float]) -> None:
    """Into da[r] and db[r], the adjoints op sends to its inputs in row r,
    given the rows of its inputs' values (at value[xs], value[ys]), its
    value (value[outs]) and its adjoint (adjoint[gs]): the op's rule, row by
    row."""
    grads = LOCAL_GRADS[op]
    for r in range(TILE_ROWS):
        da[r], db[r] = grads(value[xs + r], value[ys + r], c, value[outs + r], adjoint[gs + r])  # type: ignore[misc]


def send_rows(dst: list[float], at: int, d: list[float], first_add: int) -> None:
    """An input's adjoint rows receive d: 0.0 + d[r] at its first add, += after."""
    if first_add:
        for r in range(TILE_ROWS):
            dst[at + r] = 0.0 + d[r]
    else:
        for r in range(TILE_ROWS):
            dst[at + r] += d[r]


def send_terms(t: list[int], o: int, tf: list[int], vrow: list[int], arow: list[int], value: list[float],
               adjoint: list[float], gs: int, g0: list[float]) -> None:
    """A fused chain's sends for the rows of its end's adjoint (at
    adjoint[gs]), those of its unfused nodes in the unfused order: the end's
    a and term receive g, every other node of the chain then has 0.0 + g;
    the start receives what the lowest link has (g when it is the end); a
    term w * x sends (0.0 + g) * x to its a, then (0.0 + g) * w to its b.
    t[o:]: the chain's entry in the plan's terms (C's send_terms)."""
    for r in range(TILE_ROWS):
        g0[r] = 0.0 + adjoint[gs + r]
    m, start = t[o], t[o + 1]
    for j in range(m - 1, -1, -1):
        if j == 0 and start != MUL_START:
            d = [adjoint[gs + r] for r in range(TILE_ROWS)] if m == 1 else g0
            send_rows(adjoint, tile_at(arow[start]), d, tf[o + 1])
        pa, pb = t[o + 2 + 2 * j], t[o + 3 + 2 * j]
        xs, ws = tile_at(vrow[pb]), tile_at(vrow[pa])
        send_rows(adjoint, tile_at(arow[pa]), [g0[r] * value[xs + r] for r in range(TILE_ROWS)],
                  tf[o + 2 + 2 * j])
        send_rows(adjoint, tile_at(arow[pb]), [g0[r] * value[ws + r] for r in range(TILE_ROWS)],
                  tf[o + 3 + 2 * j])


def sweep_tile(f: Flat, first: int, plan: TilePlan, seed: float, value: list[float],
               adjoint: list[float], scratch: tuple[list[float], list[float]]) -> int:
    """sweep for TILE_ROWS rows at once: the same nodes in the same order,
    each rule applied to every row before the next node, so each row's
    adjoints are those sweep computes for it.  value holds the value tile
    (each position at its row of the plan; position NONE's row all 0.0);
    the adjoint tile (its contents of no matter) receives d(root)/d(node i) *
    seed in each row at the plan's rows.  plan: tile_plan(f, first), whose
    run list names the nodes to visit (a fused chain sends at its end:
    send_terms); scratch: two lists of TILE_ROWS floats.  No grads, no
    anomaly check; down to position ``first``.  Returns OK."""
    n = f.n
    a, b, op, c = f.a, f.b, f.op, f.c
    vrow, arow, flags, chain = plan.value, plan.adjoint, plan.flags, plan.chain
    da, db = scratch
    at = tile_at(arow[n])
    for r in range(TILE_ROWS):
        adjoint[at + r] = seed
    for i in reversed(plan.run):
        if chain[i] >= 0:
            send_terms(plan.terms, chain[i], plan.term_flags, vrow, arow, value, adjoint,
                       tile_at(arow[i]), da)
            continue
        local_grads_tile(op[i], value, tile_at(vrow[a[i]]), tile_at(vrow[b[i]]), c[i],
                         tile_at(vrow[i]), adjoint, tile_at(arow[i]), da, db)
        # da first, then db, row by row as sweep; when a == b the two loops
        # still add in that order in every row
        send_rows(adjoint, tile_at(arow[a[i]]), da, flags[i] & FIRST_A)
        if b[i] != NONE:
            send_rows(adjoint, tile_at(arow[b[i]]), db, flags[i] & FIRST_B)
    return errors.OK
