"""Pictures of a graph: Graphviz DOT source, rendered files, Jupyter display.

    >>> import autograd as ag
    >>> x = ag.Value(2.0)
    >>> y = x * x + 1
    >>> print(ag.to_dot(y, names={"x": x, "y": y}).splitlines()[0])
    digraph autograd {

One box per Value showing how it was computed, its data and its grad; an
arrow from each input to the Value computed from it.  Constants (the 1 in
x * x + 1) are part of their node's formula, not boxes of their own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping

from .graphwalk import GraphNode, fmt, formula, walk
from ..value import Value

MAX_NODES = 500     # past this a picture is a grey smear; to_dot refuses unless told


class GraphvizError(RuntimeError):
    """Graphviz's ``dot`` program is missing or failed."""


def _escape(text: str) -> str:
    # characters with a meaning inside a record label
    for ch in '\\{}|<>"':
        text = text.replace(ch, "\\" + ch)
    return text


def _box(node: GraphNode, nodes: list[GraphNode], is_root: bool) -> str:
    head = f"{node.label} (leaf)" if node.is_leaf else formula(node, nodes)
    label = f"{{ {_escape(head)} | data {fmt(node.value)} | grad {fmt(node.grad)} }}"
    fill = "#fde3c0" if is_root else "#dff0d8" if node.is_leaf else "#ffffff"
    return f'  n{node.id} [label="{label}", fillcolor="{fill}", tooltip="op: {node.op_name}"];'


def to_dot(root: Value, names: Mapping[str, Value] | None = None, *, rankdir: str = "LR",
           max_nodes: int | None = MAX_NODES) -> str:
    """Graphviz DOT source for the graph of ``root``: a box per Value with its
    formula, data and grad, and an edge from each input to its output.

    ``names`` labels chosen Values ({"x": x}); the others are v0, v1, ... in
    topological order, as in ``explain``.  Raises ValueError for a graph of
    more than ``max_nodes`` nodes (None: no limit)."""
    nodes = walk(root, names)
    if max_nodes is not None and len(nodes) > max_nodes:
        raise ValueError(f"the graph has {len(nodes):,} nodes, more than max_nodes={max_nodes}; "
                         "a picture that large is unreadable (pass max_nodes=None to draw it anyway)")
    lines = [
        "digraph autograd {",
        f"  rankdir={rankdir};",
        '  node [shape=record, style=filled, fontname="Helvetica", fontsize=11];',
        "  edge [arrowsize=0.7];",
    ]
    for i, node in enumerate(nodes):
        lines.append(_box(node, nodes, i == len(nodes) - 1))
    for node in nodes:
        for pos in node.inputs:
            lines.append(f"  n{nodes[pos].id} -> n{node.id};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_source: str, fmt: str = "svg") -> bytes:
    """Run Graphviz's ``dot`` on DOT source; the picture in format fmt."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizError(
            "drawing a graph needs Graphviz's `dot` program, which is not on PATH. Install "
            "Graphviz (apt-get install graphviz, brew install graphviz, or "
            "https://graphviz.org/download/); ag.to_dot(value) gives the DOT source without it."
        )
    proc = subprocess.run([exe, f"-T{fmt}"], input=dot_source.encode(), capture_output=True, check=False)
    if proc.returncode != 0:
        raise GraphvizError(f"dot -T{fmt} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


class Graph:
    """A snapshot of a Value's graph (data and grads as they were when it was
    made).  Shows itself inline in Jupyter; ``save`` writes a picture."""

    def __init__(self, root: Value, names: Mapping[str, Value] | None = None, *,
                 rankdir: str = "LR", max_nodes: int | None = MAX_NODES) -> None:
        self.dot = to_dot(root, names, rankdir=rankdir, max_nodes=max_nodes)

    def svg(self) -> str:
        return render(self.dot, "svg").decode()

    def save(self, path: str | os.PathLike[str], format: str | None = None) -> None:  # noqa: A002
        """Write the picture; the format comes from the file's extension
        (svg, png, pdf, ...) unless given, and "dot" writes the source."""
        fmt_ = format or os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "svg"
        data = self.dot.encode() if fmt_ in ("dot", "gv") else render(self.dot, fmt_)
        with open(path, "wb") as f:
            f.write(data)

    def _repr_svg_(self) -> str | None:
        # Jupyter calls this; None makes it fall back to the text repr
        try:
            return self.svg()
        except GraphvizError:
            return None

    def __repr__(self) -> str:
        boxes = sum(1 for line in self.dot.splitlines() if "[label=" in line)
        return f"<autograd Graph of {boxes} nodes; .dot holds the DOT source>"


def graph(root: Value, names: Mapping[str, Value] | None = None, **kwargs: object) -> Graph:
    """The picture of root's graph as an object Jupyter displays inline."""
    return Graph(root, names, **kwargs)  # type: ignore[arg-type]


def draw(root: Value, path: str | os.PathLike[str], names: Mapping[str, Value] | None = None,
         **kwargs: object) -> Graph:
    """Render root's graph to ``path`` (e.g. "graph.svg" or "graph.png") with
    Graphviz's ``dot``; GraphvizError when it is not installed.  Returns the Graph."""
    g = Graph(root, names, **kwargs)  # type: ignore[arg-type]
    g.save(path)
    return g
