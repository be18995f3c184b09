"""Numerical checking of gradients and second derivatives, with a diagnosis
taken from the graph.

The analytic gradient comes from backward(); the numeric one from central
differences, (f(x + h) - f(x - h)) / ((x + h) - (x - h)), dividing by the step
actually represented.  The error of that estimate is about h**2 |f'''| / 6 +
eps_machine |f| / h, smallest near h = 1e-6 relative to |x|.

Kinks.  The one-sided slopes (f(x + h) - f(x)) / h and (f(x) - f(x - h)) / h
of a smooth f differ by about h |f''|, which shrinks with h; at a kink they
differ by the jump in slope whatever h.  Where they disagree at h and still at
h / 4, f is not differentiable at x: the row's verdict is KINK, not a failure,
as long as the analytic gradient lies between the two slopes (relu'(0) = 0 and
abs'(0) = 0 are conventions, not bugs).

The diagnosis.  A failed row shows a pattern (analytic about half, minus or
twice the numeric gradient, ...: CAUSES), but a pattern has many causes, so
when a row fails (or sits at a kink) gradcheck reads the graph f built and
looks for evidence (``report.findings``):

- LEAK: f is re-run with the input moved; a leaf that is not an input, or the
  constant of an op, whose value moved with it is the input's value entering
  the graph cut off from it (``.data``, ``float(x)``, ``Value(x.data)``,
  ``detach()`` inside f);
- PRIMITIVE: each derivative an ``ag.primitive`` gave is compared with
  central differences of its forward function;
- LOCAL: every op is rebuilt on fresh leaves holding its input values, and the
  engine's local derivative is compared with central differences of that op
  alone (the rest of the graph held fixed).  This also proves the engine's
  rules right at that point.

Findings name the op and the line of user code that built it (f is re-run
once under anomaly mode, which records creation sites).  Only a row with no
evidence falls back on the pattern's usual cause (HINTS).
"""

from __future__ import annotations

import functools
import inspect
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable

from . import backend, ops
from .anomaly import creation_site, detect_anomaly
from .errors import GradcheckError
from .functional import gradients
from .primitive import Applied, recording
from .value import Value, as_number

# the pattern of a failed row: what the numbers show
HALF = "half"
SIGN = "sign"
ZERO = "zero"
STALE = "stale"
DOUBLE = "double"
NONFINITE = "nonfinite"
WRONG = "wrong"

CAUSES = {
    HALF: "analytic is about half the numeric gradient",
    SIGN: "analytic is about minus the numeric gradient",
    ZERO: "analytic is 0 but the numeric gradient is not",
    STALE: "the gradient changed between two identical runs",
    DOUBLE: "analytic is about twice the numeric gradient",
    NONFINITE: "analytic or numeric is not finite",
    WRONG: "analytic and numeric disagree",
}

# the usual cause of each pattern, said only when the graph shows no evidence
HINTS = {
    HALF: "missing accumulation: a backward rule assigns (=) where it must add (+=), so of the "
    "paths through a node used twice only one counts.",
    SIGN: "a wrong sign: check the operand order of a right-hand op (__rsub__, __rtruediv__, "
    "__rpow__).",
    ZERO: "a broken gradient path: an op without a backward rule, or an output that was never "
    "seeded.",
    STALE: "stale gradients or traversal state leak from one backward into the next (or f builds "
    "a different graph each call).",
    DOUBLE: "a contribution is counted twice.",
    NONFINITE: "f is not differentiable at this point (a pole, or a value outside its domain); "
    "check at another point.",
    WRONG: "a local derivative is wrong, or the backward sweep combines them wrongly.",
}

# the kinds of evidence read from the graph
LEAK = "leak"
PRIMITIVE = "primitive"
LOCAL = "local"
KINK = "kink"

NOISE = 1e-7  # mismatches at or below this are floating-point noise
_EPS_MACHINE = 2.0**-52


@dataclass
class GradcheckRow:
    index: int
    input: float
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    passed: bool                             # False only for a real failure (a kink passes)
    cause: str | None = None                 # a failed row's pattern, a key of CAUSES
    kink: tuple[float, float] | None = None  # (left, right) slopes, where f has a kink
    found: str | None = None                 # a failed row's evidence: LEAK, PRIMITIVE or LOCAL

    @property
    def verdict(self) -> str:
        if not self.passed:
            return f"FAIL ({self.found or self.cause})"
        return "KINK" if self.kink else "ok"


@dataclass
class Finding:
    """Evidence from the graph about the rows of ``inputs``."""

    kind: str                  # LEAK, PRIMITIVE, LOCAL or KINK
    inputs: tuple[int, ...]    # the inputs whose gradient it concerns
    text: str
    op: str | None = None      # the op it names
    site: str | None = None    # where the user's code built that op

    def __str__(self) -> str:
        return self.text


@dataclass
class GradcheckReport:
    """Truthy when no input fails.  A row at a kink (f not differentiable
    there, the analytic gradient one of the one-sided slopes or between them)
    is not a failure: the engine is right, the check could not verify a
    derivative that does not exist.  It is listed in ``kinks``; demand
    ``report and not report.kinks`` to insist on a differentiable point.
    str() gives a table and a diagnosis."""

    rows: list[GradcheckRow]
    backend: str
    atol: float
    rtol: float
    causes: list[str] = field(default_factory=list)       # patterns of the failed rows
    findings: list[Finding] = field(default_factory=list)  # evidence from the graph
    checked: int = 0      # ops whose local derivative agreed with a numeric one

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def kinks(self) -> list[GradcheckRow]:
        """The rows at a kink."""
        return [row for row in self.rows if row.kink is not None and row.passed]

    @property
    def max_error(self) -> float:
        """The largest |analytic - numeric| over the rows not at a kink."""
        return max((row.abs_error for row in self.rows if row.kink is None or not row.passed),
                   default=0.0)

    def diagnosis(self) -> str:
        lines: list[str] = []
        failed = [row for row in self.rows if not row.passed]
        if not failed:
            noisy = any(0.0 < row.abs_error <= NOISE for row in self.rows if row.kink is None)
            kinks = ", ".join(str(row.index) for row in self.kinks)
            lines.append("passed" + (" (mismatches at 1e-7 and below are floating-point noise)"
                                     if noisy else "") + (f" (input {kinks} at a kink)" if kinks else ""))
        else:
            lines.append("FAILED:")
            for row in failed:
                lines += _wrap(f"input {row.index}: {CAUSES[row.cause or WRONG]}.", "  ", "    ")
                if row.found is None:
                    lines += _wrap(f"likely: {HINTS[row.cause or WRONG]}", "    ", "      ")
            evidence = [f for f in self.findings if f.kind != KINK]
            if evidence:
                lines.append("found in the graph:")
                for finding in evidence:
                    lines += _wrap(finding.text, "  - ", "    ")
            if self.checked:
                n = self.checked
                lines += _wrap(f"checked: {n}{' other' if evidence else ''} op{'s' * (n != 1)} in the "
                               f"graph; {'each' if n != 1 else 'its'} local derivative agrees with a "
                               "numeric one at this point.", "", "  ")
        for row in self.kinks:
            lines += _wrap(
                f"kink at input {row.index}: f is not differentiable in it at x = {row.input:g}; "
                f"its slope is {row.kink[0]:.6g} on the left and {row.kink[1]:.6g} on the right "  # type: ignore[index]
                f"(a kink or a jump). The analytic gradient {row.analytic:g} lies between them: "
                "a convention, not a bug. Check the gradient away from the kink.",
                "", "  ")
            for finding in self.findings:
                if finding.kind == KINK and row.index in finding.inputs:
                    lines += _wrap(finding.text, "  - ", "    ")
        return "\n".join(lines)

    def __str__(self) -> str:
        head = f"gradcheck ({self.backend} backend, atol={self.atol:g}, rtol={self.rtol:g})"
        cols = (
            f"{'input':>5} {'x':>12} {'analytic':>14} {'numeric':>14} "
            f"{'abs err':>10} {'rel err':>10}  verdict"
        )
        lines = [head, cols]
        for r in self.rows:
            lines.append(
                f"{r.index:>5} {r.input:>12.6g} {r.analytic:>14.8g} {r.numeric:>14.8g} "
                f"{r.abs_error:>10.2e} {r.rel_error:>10.2e}  {r.verdict}"
            )
        lines.append(self.diagnosis())
        return "\n".join(lines)

    __repr__ = __str__


def _wrap(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(text, 100, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False)


# --- the numbers ---------------------------------------------------------------------------


def _call(f: Callable[..., Value], xs: Sequence[Value]) -> Value:
    out = f(*xs)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: f must return a Value, not {type(out).__name__}")
    return out


def _analytic(f: Callable[..., Value], inputs: list[float]) -> tuple[list[float], list[float], float]:
    """Gradients after one backward, after a second on the same graph, and f's value."""
    xs = [Value(x) for x in inputs]
    out = _call(f, xs)
    out.backward()
    once = [x.grad for x in xs]
    out.backward()
    return once, [x.grad for x in xs], out.data


def _same(a: float | None, b: float | None) -> bool:
    return a == b or (a is not None and b is not None and math.isnan(a) and math.isnan(b))


def _finite(*xs: float) -> bool:
    return all(math.isfinite(x) for x in xs)


def _slopes(F: Callable[[float], float], x: float, fx: float, eps: float, atol: float,
            rtol: float) -> tuple[float, tuple[float, float] | None]:
    """The central difference of F at x, and (left, right) one-sided slopes
    where F has a kink at x (else None).  fx is F(x)."""
    h = eps * max(1.0, abs(x))
    up, down = x + h, x - h
    f_up, f_down = F(up), F(down)
    numeric = (f_up - f_down) / (up - down)
    gap = None
    for step in (h, h / 4):
        up, down = x + step, x - step
        if step != h:
            f_up, f_down = F(up), F(down)
        if not _finite(fx, f_up, f_down):
            return numeric, None
        right, left = (f_up - fx) / (up - x), (fx - f_down) / (x - down)
        # rounding in f's value, amplified by 1 / step, must not look like a kink
        noise = 64 * _EPS_MACHINE * max(abs(fx), abs(f_up), abs(f_down)) / step
        if abs(right - left) <= atol + rtol * max(abs(left), abs(right)) + noise:
            return numeric, None
        if gap is not None and abs(right - left) < 0.5 * gap:
            return numeric, None     # the gap shrinks with the step: a smooth, curved f
        gap = abs(right - left)
    return numeric, (left, right)


def _pattern(analytic: float, numeric: float, tol: float) -> str:
    if not (math.isfinite(analytic) and math.isfinite(numeric)):
        return NONFINITE
    if analytic == 0.0 and numeric != 0.0:
        return ZERO
    if abs(analytic + numeric) <= tol:
        return SIGN
    if abs(analytic - numeric / 2) <= tol:
        return HALF
    if abs(analytic - 2 * numeric) <= tol:
        return DOUBLE
    return WRONG


def _times(mine: float, numeric: float, what: str) -> str:
    """'about k × what' (k short: '-1', '0.5', '2', '0.731'), or, where the
    numeric derivative is 0, 'mine where what is 0'."""
    if numeric == 0.0:
        return f"{mine:.6g} where {what} is 0"
    r = mine / numeric
    for nice in (round(r), round(2 * r) / 2):
        if nice and abs(r - nice) <= 0.01 * abs(nice):
            return f"about {nice:g} × {what}"
    return f"about {r:.3g} × {what}"


def _agrees(mine: float, numeric: float, kink: tuple[float, float] | None, atol: float,
            rtol: float) -> bool:
    """mine matches numeric, or lies between the one-sided slopes of a kink."""
    if kink is not None:
        low, high = min(kink), max(kink)
        slack = atol + rtol * max(abs(low), abs(high))
        return low - slack <= mine <= high + slack
    return abs(mine - numeric) <= atol + rtol * abs(numeric)


# --- the graph -----------------------------------------------------------------------------


@dataclass
class _Node:
    value: Value               # a handle: keeps the node alive while gradcheck reads it
    op: str
    inputs: tuple[int, ...]    # positions of the input nodes in the walk
    constant: float | None
    data: float
    input_index: int           # which input of f this node is, -1 for any other
    site: str | None = None


def _walk(out: Value, xs: Sequence[Value]) -> list[_Node]:
    """Every node out depends on, inputs before outputs, out last (a depth-first
    post-order, first input first).  Nodes are told apart by their engine id."""
    which = {x._id: i for i, x in enumerate(xs)}
    position: dict[int, int] = {}
    nodes: list[_Node] = []
    stack: list[tuple[Value, tuple[Value, ...], list[int]]] = [(out, out.inputs, [0])]
    while stack:
        v, inputs, nxt = stack[-1]
        if nxt[0] < len(inputs):
            child = inputs[nxt[0]]
            nxt[0] += 1
            if child._id not in position:
                stack.append((child, child.inputs, [0]))
            continue
        stack.pop()
        position[v._id] = len(nodes)
        nodes.append(_Node(v, v.op, tuple(position[c._id] for c in inputs), v.constant, v.data,
                           which.get(v._id, -1)))
    return nodes


def _shape(nodes: list[_Node]) -> list[tuple[str, tuple[int, ...], int]]:
    return [(n.op, n.inputs, n.input_index) for n in nodes]


@dataclass
class _Graph:
    nodes: list[_Node]
    applied: list[Applied]
    xs: list[Value]


def _record(f: Callable[..., Value], points: Sequence[float], sites: bool) -> _Graph:
    """f's graph at points, with the primitives applied in it, and with sites
    the creation site of each node (f runs under anomaly mode)."""
    xs = [Value(p) for p in points]
    with recording() as applied:
        if not sites:
            return _Graph(_walk(_call(f, xs), xs), applied, xs)
        try:
            with detect_anomaly():
                nodes = _walk(_call(f, xs), xs)
                for node in nodes:
                    node.site = creation_site(node.value)
            return _Graph(nodes, applied, xs)
        except FloatingPointError:  # anomaly mode stopped f at a nan: go on without sites
            pass
    return _record(f, points, sites=False)


def _formula(op: str) -> str:
    info = ops.BY_NAME.get(op)
    return f"{op} ({info.formula})" if info is not None and op != "primitive" else op


def _at(site: str | None) -> str:
    return f", created at {site}" if site else ""


def _rebuilds() -> dict[str, Callable[..., Value]]:
    """Each op of the table rebuilt on fresh leaves from the Value method that
    makes it, (c, a[, b]) -> Value: a binary op's method with a Value, with
    the number c (its constant form) and its __r*__ method (the right-hand
    form).  An op missing here, or rebuilt to another value, is not checked."""
    out: dict[str, Callable[..., Value]] = {}
    for op in ops.OPS:
        m = op.method
        if m is None:
            continue
        if op.arity == 1:
            out[op.name] = lambda c, a, m=m: getattr(a, m)()
            continue
        out[op.name] = lambda c, a, b, m=m: getattr(a, m)(b)
        if op.const:
            out[op.const] = lambda c, a, m=m: getattr(a, m)(c)
        if op.right:      # c + a is a + c (addc): the constant form already rebuilds it
            out.setdefault(op.right, lambda c, a, m="__r" + m[2:]: getattr(a, m)(c))
    return out


_REBUILD = _rebuilds()


@dataclass
class _Local:
    slot: int                    # 0: input a, 1: input b
    engine: float                # the engine's local derivative
    numeric: float
    kink: tuple[float, float] | None


def _local(node: _Node, nodes: list[_Node], eps: float, atol: float,
           rtol: float) -> list[_Local] | None:
    """The local derivatives of one op at its input values, the engine's and
    numeric ones (each input nudged alone), or None where it cannot be rebuilt."""
    build = _REBUILD.get(node.op)
    if build is None:
        return None
    args = [nodes[p].data for p in node.inputs]
    leaves = [Value(a) for a in args]
    expr = build(node.constant, *leaves)
    if not _same(expr.data, node.data):
        return None
    engine = gradients(expr, leaves)
    out = []
    for j, a in enumerate(args):
        def F(t: float, j: int = j) -> float:
            return build(node.constant, *[Value(t if m == j else x) for m, x in enumerate(args)]).data

        numeric, kink = _slopes(F, a, node.data, eps, atol, rtol)
        out.append(_Local(j, engine[j], numeric, kink))
    return out


def _inputs_of(mask: int) -> tuple[int, ...]:
    return tuple(i for i in range(mask.bit_length()) if mask >> i & 1)


def _args(nodes: list[_Node], node: _Node) -> str:
    parts = [f"{name}={nodes[p].data:.6g}" for name, p in zip("ab", node.inputs)]
    if node.constant is not None:
        parts.append(f"c={node.constant:.6g}")
    return ", ".join(parts)


def _leak_text(i: int, x: float, graph: _Graph, k: int, constant: bool, exact: bool,
               by_value_only: bool) -> Finding:
    nodes = graph.nodes
    node = nodes[k]
    what = f"input {i}'s value ({x:g})" if exact else f"a value computed from input {i}"
    how = ("`.data`, `float(x)` or `Value(x.data)` inside f" if exact
           else "`.data`, `float(...)`, `Value(...)` or `.detach()` of a Value inside f")
    users = [n for n in nodes if k in n.inputs]
    if constant:
        where, op, site = f"the constant c of op {_formula(node.op)}", node.op, node.site
    elif users:
        shown = "" if exact else f" ({node.data:g})"
        where, op, site = f"a new leaf{shown} at op {_formula(users[0].op)}", users[0].op, users[0].site
    else:
        where, op, site = f"a new leaf ({node.data:g}) that is f's output", node.op, node.site
    text = f"{what} entered the graph cut off from input {i} ({how}): {where}{_at(site)}."
    if by_value_only:
        text = text[:-1] + f" (matched by value: f built a graph of another shape when input {i} moved)."
    return Finding(LEAK, (i,), text, op, site)


def _leaks(f: Callable[..., Value], points: list[float], i: int, graph: _Graph,
           skip: set[int], eps: float) -> list[Finding]:
    """Leaves (not inputs) and constants whose value moves with input i."""
    x = points[i]
    moved = list(points)
    moved[i] = x + eps * max(1.0, abs(x))
    try:
        other = _record(f, moved, sites=False).nodes
    except Exception:   # f fails at the moved point: compare by value alone
        other = []
    match = _shape(other) == _shape(graph.nodes)
    found = []
    for k, node in enumerate(graph.nodes):
        if k in skip:
            continue
        for constant in (False, True):
            mine = node.constant if constant else (node.data if node.op == "leaf" else None)
            if mine is None or (not constant and node.input_index >= 0):
                continue
            if match:
                theirs = other[k].constant if constant else other[k].data
                if _same(mine, theirs):
                    continue
                exact = mine == x and theirs == moved[i]
            elif mine == x:
                exact = True
            else:
                continue
            found.append(_leak_text(i, x, graph, k, constant, exact, not match))
    if len(found) > 3:
        rest = len(found) - 3
        found = found[:3] + [Finding(LEAK, (i,), f"... and {rest} more such leaves or constants.")]
    return found


def _primitive_findings(graph: _Graph, position: dict[int, int], masks: list[int], eps: float,
                        atol: float, rtol: float) -> tuple[list[Finding], int]:
    """Each derivative an ag.primitive gave, against central differences of
    its forward function."""
    found, checked = [], 0
    for applied in graph.applied:
        for i, node, given in applied.links:
            k = position.get(node._id)
            if k is None:
                continue

            def F(t: float, i: int = i, applied: Applied = applied) -> float:
                xs = list(applied.xs)
                xs[i] = t
                return float(applied.forward(*xs))

            try:
                numeric, kink = _slopes(F, applied.xs[i], F(applied.xs[i]), eps, atol, rtol)
            except (ArithmeticError, ValueError):
                continue
            if not math.isfinite(numeric):
                continue
            if _agrees(given, numeric, kink, atol, rtol):
                checked += 1
                continue
            at = ", ".join(f"{v:g}" for v in applied.xs)
            site = graph.nodes[k].site
            found.append(Finding(
                PRIMITIVE, _inputs_of(masks[graph.nodes[k].inputs[0]]),   # through input i only
                f"your derivative for input {i} of `{applied.name}` is "
                f"{_times(given, numeric, 'the numeric one')}: it gives {given:.8g}, central "
                f"differences of `{applied.name}` give {numeric:.8g}, at ({at})"
                + (f"; the primitive was applied at {site}." if site else "."),
                "primitive", site))
    return found, checked


def _evidence(f: Callable[..., Value], points: list[float], rows: list[GradcheckRow],
              eps: float, atol: float, rtol: float) -> tuple[list[Finding], int]:
    """Findings about the failed rows and the kinks, and how many ops (and
    primitive derivatives) were checked and agreed."""
    graph = _record(f, points, sites=True)
    nodes = graph.nodes
    position = {n.value._id: k for k, n in enumerate(nodes)}
    masks: list[int] = []               # by node: the inputs of f it depends on, as bits
    for n in nodes:
        mask = 1 << n.input_index if n.input_index >= 0 else 0
        for p in n.inputs:
            mask |= masks[p]
        masks.append(mask)
    failing = sum(1 << r.index for r in rows if not r.passed and r.cause not in (STALE, NONFINITE))
    kinked = sum(1 << r.index for r in rows if r.kink is not None)
    bases = {position[a.base._id] for a in graph.applied if a.base._id in position}

    findings: list[Finding] = []
    for i in _inputs_of(failing):
        findings += _leaks(f, points, i, graph, bases, eps)
    found, checked = _primitive_findings(graph, position, masks, eps, atol, rtol)
    findings += [p for p in found if set(p.inputs) & set(_inputs_of(failing | kinked))]
    for k, node in enumerate(nodes):
        if node.op in ("leaf", "primitive") or not masks[k] & (failing | kinked):
            continue
        try:
            local = _local(node, nodes, eps, atol, rtol)
        except (ArithmeticError, ValueError):
            local = None
        if local is None:
            continue
        agreed = True
        for d in local:
            name = "ab"[d.slot]
            if d.kink is not None:
                agreed = False
                if masks[k] & kinked:
                    findings.append(Finding(
                        KINK, _inputs_of(masks[k] & kinked),
                        f"{_formula(node.op)} is at a kink in its input {name} ({_args(nodes, node)}): "
                        f"slopes {d.kink[0]:.6g} and {d.kink[1]:.6g}{_at(node.site)}.",
                        node.op, node.site))
            elif (_finite(d.numeric, d.engine) and
                  abs(d.engine - d.numeric) > atol + rtol * abs(d.numeric)):
                agreed = False
                findings.append(Finding(
                    LOCAL, _inputs_of(masks[k] & (failing | kinked)),
                    f"the local derivative of {_formula(node.op)} for its input {name} at "
                    f"{_args(nodes, node)} is {d.engine:.8g} by the {backend.get_backend()} "
                    f"engine's rule but {d.numeric:.8g} numerically "
                    f"({_times(d.engine, d.numeric, 'that')}){_at(node.site)}.",
                    node.op, node.site))
        checked += agreed
    return findings, checked


# --- gradcheck -----------------------------------------------------------------------------


def _points(f: object, inputs: Sequence[float]) -> list[float]:
    if not callable(f):
        raise TypeError(f"gradcheck: f must be callable, not {type(f).__name__}")
    points: list[float] = []
    for x in inputs:
        v = as_number(x)
        if v is None:
            raise TypeError(f"gradcheck: inputs must be real numbers, not {type(x).__name__}")
        points.append(v)
    try:
        inspect.signature(f).bind(*points)
    except TypeError as exc:
        raise TypeError(f"gradcheck: f cannot take {len(points)} inputs: {exc}") from None
    except ValueError:
        pass  # no signature to check (some builtins)
    return points


def gradcheck(
    f: Callable[..., Value],
    inputs: Sequence[float],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = False,
) -> GradcheckReport:
    """Compare backward()'s gradient of f at ``inputs`` with central differences.

    f takes one Value per input and returns a Value.  An input passes where
    |analytic - numeric| <= atol + rtol * |numeric|.  backward() is also run on
    a second, identical graph and a second time on the first: a gradient that
    changes between runs, or does not exactly double, fails as stale state.

    Where the one-sided slopes disagree (f has a kink or a jump at that
    point), the row's verdict is KINK, listed in ``report.kinks``; it is not a
    failure (the report stays truthy) while the analytic gradient lies between
    the two slopes, since a derivative that does not exist cannot be wrong.
    When a row fails or has a kink, the report's diagnosis names the cause it
    finds in the graph (``report.findings``: a leak of an input's value into
    the graph, a primitive's wrong derivative, an op whose local derivative
    disagrees with a numeric one, the op at the kink), with the line of code
    that built it; without evidence, the pattern's usual cause.

    >>> import autograd as ag
    >>> bool(ag.gradcheck(lambda x, y: x * y + x.sin(), [0.3, -0.8]))
    True
    >>> report = ag.gradcheck(lambda x: x.relu(), [0.0])
    >>> bool(report), [row.verdict for row in report.rows], report.kinks[0].kink
    (True, ['KINK'], (0.0, 1.0))
    """
    points = _points(f, inputs)
    first, twice, value = _analytic(f, points)
    second, _, _ = _analytic(f, points)

    rows: list[GradcheckRow] = []
    causes: list[str] = []
    for i, x in enumerate(points):
        def F(t: float, i: int = i) -> float:
            moved = list(points)
            moved[i] = t
            return _call(f, [Value(v) for v in moved]).data

        numeric, kink = _slopes(F, x, value, eps, atol, rtol)
        analytic = first[i]
        abs_error = abs(analytic - numeric)
        rel_error = abs_error / abs(numeric) if numeric != 0.0 else abs_error
        tol = atol + rtol * abs(numeric)
        stale = not _same(second[i], analytic) or not _same(twice[i], 2 * analytic)
        if kink is not None and not stale:
            low, high = min(kink), max(kink)
            slack = atol + rtol * max(abs(low), abs(high))
            passed = low - slack <= analytic <= high + slack
        else:
            passed = abs_error <= tol and not stale
        cause = None
        if not passed:
            cause = STALE if stale else _pattern(analytic, numeric, tol)
            if cause not in causes:
                causes.append(cause)
        rows.append(GradcheckRow(i, x, analytic, numeric, abs_error, rel_error, passed, cause, kink))

    report = GradcheckReport(rows, backend.get_backend(), atol, rtol, causes)
    if any(not row.passed or row.kink for row in rows):
        report.findings, report.checked = _evidence(f, points, rows, eps, atol, rtol)
        for row in rows:
            if not row.passed:
                row.found = next((fd.kind for fd in report.findings
                                  if fd.kind != KINK and row.index in fd.inputs), None)
    if raise_exception and not report.passed:
        raise GradcheckError(str(report))
    return report


# --- gradgradcheck -------------------------------------------------------------------------


@dataclass
class GradgradcheckReport:
    """Truthy when every second derivative passes (kinks as in gradcheck).
    ``reports[i]`` is the gradcheck of df/dx_i: its row j checks
    d2f / dx_i dx_j, and its diagnosis reads the graph of df/dx_i, which is
    f's graph plus the backward pass built on it."""

    reports: list[GradcheckReport]

    @property
    def passed(self) -> bool:
        return all(report.passed for report in self.reports)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def max_error(self) -> float:
        return max((report.max_error for report in self.reports), default=0.0)

    @property
    def causes(self) -> list[str]:
        """The patterns (keys of CAUSES) of the failed rows."""
        out: list[str] = []
        for report in self.reports:
            out += [cause for cause in report.causes if cause not in out]
        return out

    @property
    def findings(self) -> list[Finding]:
        """The evidence of every report, in order."""
        return [finding for report in self.reports for finding in report.findings]

    @property
    def kinks(self) -> list[GradcheckRow]:
        return [row for report in self.reports for row in report.kinks]

    def __str__(self) -> str:
        parts = []
        for i, report in enumerate(self.reports):
            parts.append(f"second derivatives d/dx_j (df/dx_{i}), one row per input j:\n{report}")
        return "\n\n".join(parts)

    __repr__ = __str__


def first_derivative(f: Callable[..., Value], i: int) -> Callable[..., Value]:
    """x -> df/dx_i as a differentiable Value (create_graph)."""

    @functools.wraps(f)   # gradcheck then checks f's own signature
    def df_dxi(*xs: Value) -> Value:
        return gradients(f(*xs), [xs[i]], create_graph=True)[0]  # type: ignore[no-any-return]

    return df_dxi


def gradgradcheck(
    f: Callable[..., Value],
    inputs: Sequence[float],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = False,
) -> GradgradcheckReport:
    """Compare every second derivative of f at ``inputs``, computed by
    differentiating the backward pass, with central differences of the
    first derivatives: gradcheck of each df/dx_i, with its tolerances, kinks
    and diagnosis.

    >>> import autograd as ag
    >>> bool(ag.gradgradcheck(lambda x, y: (x * y).sin() + x ** 3, [0.4, 1.1]))
    True
    """
    points = _points(f, inputs)
    reports = [gradcheck(first_derivative(f, i), points, eps=eps, atol=atol, rtol=rtol)
               for i in range(len(points))]
    result = GradgradcheckReport(reports)
    if raise_exception and not result.passed:
        raise GradcheckError(str(result))
    return result
