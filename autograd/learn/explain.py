"""``explain(y)``: run backward and show every chain-rule step it takes.

Reverse mode visits the nodes from the output back to the leaves.  At each
node it holds the node's adjoint, d(output)/d(node) (the seed at the output),
and for each input adds adjoint * d(node)/d(input) to that input's adjoint.
An input used by several nodes collects one contribution from each; it is
visited only after all of them, so its adjoint is complete when its turn comes.

The numbers come from the engines' own sweep and backward rules
(autograd/engine/python/, the twin of csrc/), with a step that records what
each node sends, so the leaf gradients shown equal what backward() adds.
The derivatives as text are the op table's (autograd/ops.py).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from .. import ops
from ..engine.python.rules import LOCAL_GRADS
from ..engine.python.sweep import sweep
from ..value import Value, as_number
from .graphwalk import GraphNode, fmt, formula, walk

MAX_STEPS = 50

@dataclass
class InputTerm:
    """What one input of a node receives at that node's step."""

    label: str
    local_formula: str      # d(node)/d(input), symbolically
    local: float            # ... and its value
    added: float            # adjoint * local: what this step adds to the input's adjoint


@dataclass
class ChainStep:
    label: str
    op: str
    formula: str            # "v3 = v1 * v2"
    value: float
    adjoint: float          # d(output)/d(this node), complete at this step
    contributions: int      # how many consumers added to it (0 for the output)
    inputs: list[InputTerm]


@dataclass
class Explanation:
    """The steps of one backward pass, output first.  str() is the printed text."""

    output: str
    seed: float
    nodes: int
    steps: list[ChainStep]
    leaf_grads: dict[str, float]        # label -> what backward added to the leaf's grad
    leaf_terms: dict[str, list[float]]  # label -> the contributions summed into it, in order
    max_steps: int | None = MAX_STEPS
    lines: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def __repr__(self) -> str:
        # short: at a prompt, explain() has printed the text already
        return (f"<Explanation of the backward pass from {self.output}: {self.nodes} "
                f"{'node' if self.nodes == 1 else 'nodes'}, {len(self.steps)} chain-rule "
                f"{'step' if len(self.steps) == 1 else 'steps'}; print() it for the text>")


def _count(n: int, what: str) -> str:
    """'1 node', '2 nodes', '1,000 more steps'."""
    return f"{n:,} {what}" + ("" if n == 1 else "s")


def _step_lines(step: ChainStep, index: int, root: str) -> list[str]:
    if step.contributions == 0:
        source = "the seed"
    elif step.contributions == 1:
        source = "from 1 consumer"
    else:
        source = f"sum from {step.contributions} consumers"
    head = (f"step {index}: {step.formula}   ({step.op}, value {fmt(step.value)})\n"
            f"    adjoint d{root}/d{step.label} = {fmt(step.adjoint)}  ({source})")
    lines = [head]
    width = max(len(t.label) for t in step.inputs)
    for t in step.inputs:
        local = t.local_formula if t.local_formula == fmt(t.local) else f"{t.local_formula} = {fmt(t.local)}"
        lines.append(f"    -> {t.label:<{width}}  local d{step.label}/d{t.label} = {local};  "
                     f"adds {fmt(step.adjoint)} * {fmt(t.local)} = {fmt(t.added)}")
    return lines


def _local_formula(node: GraphNode, which: int, nodes: list[GraphNode]) -> str:
    text = ops.OPS[node.op].derivatives[which]
    # name the inputs as the graph does, but keep the formula's shape readable
    subs = {"a": nodes[node.inputs[0]].label, "c": fmt(node.c), "out": node.label}
    if len(node.inputs) > 1:
        subs["b"] = nodes[node.inputs[1]].label
    out = []
    for token in _tokens(text):
        out.append(subs.get(token, token))
    return "".join(out)


def _tokens(text: str) -> list[str]:
    """Split into identifiers and everything else, keeping every character."""
    tokens: list[str] = []
    for ch in text:
        if tokens and (ch.isalnum() or ch == "_") and (tokens[-1][-1].isalnum() or tokens[-1][-1] == "_"):
            tokens[-1] += ch
        else:
            tokens.append(ch)
    return tokens


def explain(y: Value, names: Mapping[str, Value] | Any = None, *, seed: float = 1.0,
            max_steps: int | None = MAX_STEPS, file: TextIO | None = None,
            show: bool = True, accumulate: bool = False) -> Explanation:
    """Print each chain-rule step of ``y.backward(seed)``, output first: the
    node, its op, its adjoint, and for each input the local derivative and
    the amount added.  Returns the Explanation (str() gives the text).

    The trace is computed on adjoints of its own: every ``.grad`` is left as
    it was, unless ``accumulate=True``, which also runs ``y.backward(seed)``.
    ``names`` labels chosen Values ({"x": x}, or a model: its parameters'
    names); Values made with a label show it; others are v0, v1, ... (the
    labels ``to_dot`` uses).  Only the first ``max_steps`` steps are printed,
    followed by a count of the rest (None: print all); the Explanation holds
    every step.  ``show=False`` prints nothing."""
    s = as_number(seed)
    if s is None:
        raise TypeError(f"explain() takes a real number seed, not {type(seed).__name__}")
    nodes = walk(y, names)
    root = nodes[-1].label
    f = y._eng.flat(y._id)          # nodes[k] is at position k + 1
    consumers = [0] * len(nodes)
    terms_of: dict[int, list[float]] = {i: [] for i, n in enumerate(nodes) if n.is_leaf}
    steps: list[ChainStep] = []

    def record_step(i: int, g: float) -> tuple[float, float]:
        node = nodes[i - 1]
        rule = LOCAL_GRADS[node.op]
        assert rule is not None
        args = (f.value[f.a[i]], f.value[f.b[i]], f.c[i], f.value[i])
        local = rule(*args, 1.0)
        added = rule(*args, g)      # exactly what the engine adds
        terms = []
        for which, pos in enumerate(node.inputs):
            consumers[pos] += 1
            if pos in terms_of:
                terms_of[pos].append(added[which])
            terms.append(InputTerm(nodes[pos].label, _local_formula(node, which, nodes),
                                   local[which], added[which]))
        steps.append(ChainStep(node.label, node.op_name, formula(node, nodes), node.value, g,
                               consumers[i - 1], terms))
        return added

    sweep(f, s, rule=record_step)          # the engines' sweep order
    adjoint = f.adjoint[1:]
    leaf_grads = {nodes[i].label: adjoint[i] for i in terms_of}
    leaf_terms = {nodes[i].label: terms for i, terms in terms_of.items()}

    if accumulate:
        y.backward(s)

    ex = Explanation(root, s, len(nodes), steps, leaf_grads, leaf_terms, max_steps)
    lines = [f"backward from {root} = {fmt(nodes[-1].value)}: {_count(len(nodes), 'node')}, "
             f"{_count(len(steps), 'chain-rule step')}, seed d{root}/d{root} = {fmt(s)}"]
    shown = steps if max_steps is None else steps[:max_steps]
    for k, step in enumerate(shown, 1):
        lines.extend(_step_lines(step, k, root))
    if len(shown) < len(steps):
        lines.append(f"... {_count(len(steps) - len(shown), 'more step')} not shown "
                     f"(max_steps={max_steps}; pass max_steps=None to see all)")
    leaves = list(leaf_grads.items())
    shown_leaves = leaves if max_steps is None else leaves[:max_steps]
    lines.append("leaf gradients, what backward() adds to .grad:")
    for label, g in shown_leaves:
        parts_added = leaf_terms[label]
        parts = f" = {' + '.join(fmt(t) for t in parts_added)}" if 1 < len(parts_added) <= 8 else ""
        lines.append(f"    {label}.grad += {fmt(g)}{parts}")
    if len(shown_leaves) < len(leaves):
        more = len(leaves) - len(shown_leaves)
        lines.append(f"    ... and {more:,} more {'leaf' if more == 1 else 'leaves'}")
    ex.lines = lines
    if show:
        print(str(ex), file=file or sys.stdout)
    return ex
