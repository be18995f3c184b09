"""The graph behind a Value, read out of the engine for pictures and explain.

Each node gets a label: the name the caller gave it (``names={"x": x}``), the
label its Value was made with, or ``v<i>`` with i its position in the sweep's
order: the order Python evaluates the expression that reaches the node from
the output (inputs first, first input first, the output last; in ``c*b + a``:
c, b, c*b, a, the sum).  A picture and an explanation of the same graph use
the same names.  Not the order the nodes were created in: that would need a
stamp on every node of the arena (8 bytes, for every user) for a naming nicety.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import errors, ops
from ..value import Value


@dataclass(frozen=True)
class GraphNode:
    id: int                 # engine node id
    label: str
    op: int                 # op code (ops.OPS[op] says its name and formula)
    inputs: tuple[int, ...]  # positions (in walk order) of the input nodes
    c: float                # the constant operand, for ops that have one
    value: float
    grad: float

    @property
    def op_name(self) -> str:
        return ops.OPS[self.op].name

    @property
    def is_leaf(self) -> bool:
        return self.op == ops.LEAF


def fmt(x: float) -> str:
    """A number short enough for a picture, exact enough to follow the math
    (-0.0 shows as 0: x + 0.0 is +0.0 for either zero)."""
    return f"{x + 0.0:.6g}"


def walk(root: Value, names: Mapping[str, Value] | Any = None) -> list[GraphNode]:
    """Every node root depends on, inputs before outputs, root last.  Labels:
    ``names`` ({"x": x}, or a model: its named parameters), then the labels
    Values were made with, then v0, v1, ..."""
    if not isinstance(root, Value):
        raise TypeError(f"expected a Value, not {type(root).__name__}")
    eng = root._eng
    if names is not None and callable(getattr(names, "named_parameters", None)):
        names = dict(names.named_parameters())  # type: ignore[union-attr]  # a model
    given = dict(eng.labels)
    for name, v in (names or {}).items():
        if not isinstance(v, Value):
            raise TypeError(f"names[{name!r}] is a {type(v).__name__}, not a Value")
        if v._eng is eng:
            given[v._id] = name
    order = errors.checked(eng.topo(root._id))
    position = {node: i for i, node in enumerate(order)}
    out = []
    for i, node in enumerate(order):
        info = eng.node(node)
        arity = ops.OPS[info.op].arity
        inputs = tuple(position[n] for n in (info.a, info.b)[:arity])
        out.append(GraphNode(node, given.get(node, f"v{i}"), info.op, inputs, info.c, info.value, info.grad))
    return out


def formula(node: GraphNode, nodes: list[GraphNode]) -> str:
    """The op written with the input labels: "v3 = v1 * v2", "v4 = 2 ** x"."""
    if node.is_leaf:
        return node.label
    subs = {"c": fmt(node.c)}
    for name, pos in zip("ab", node.inputs):
        subs[name] = nodes[pos].label
    if node.op == ops.PRIMITIVE:  # one link of a user primitive's chain
        return f"{node.label} = {subs['b']}, sending g * {subs['c']} to {subs['a']}"
    rhs = re.sub(r"\b[abc]\b", lambda m: subs.get(m.group(0), m.group(0)), ops.OPS[node.op].formula)
    return f"{node.label} = {rhs}"
