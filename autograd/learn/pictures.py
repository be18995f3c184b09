"""Pictures of a graph: Graphviz DOT source, rendered files, Jupyter display.

    >>> import autograd as ag
    >>> x = ag.Value(2.0)
    >>> y = x * x + 1
    >>> print(ag.to_dot(y, names={"x": x, "y": y}).splitlines()[0])
    digraph autograd {

One box per Value showing how it was computed, its data and its grad; an
arrow from each input to the Value computed from it.  Constants (the 1 in
x * x + 1) are part of their node's formula, not boxes of their own.

In Jupyter, ``ag.graph(y)`` shows the picture; without Graphviz it shows what
is missing, how to install it, and the DOT source.  ``Value`` itself has no
picture repr on purpose: every displayed Value would run Graphviz, on graphs
of any size (a training loss has some 65,000 nodes), where its text repr is
exact and instant; ``ag.graph(v)`` asks for the picture explicitly.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
from collections.abc import Mapping

from ..value import Value
from .graphwalk import GraphNode, fmt, formula, walk

MAX_NODES = 500     # past this a picture is a grey smear; to_dot refuses unless told


class GraphvizError(RuntimeError):
    """Graphviz's ``dot`` program is missing or failed."""


def _escape(text: str) -> str:
    # characters with a meaning inside a record label
    for ch in '\\{}|<>"':
        text = text.replace(ch, "\\" + ch)
    return text


def _number(x: float) -> str:
    # a zero's sign is noise in a picture: -0.0 shows as 0
    return fmt(x + 0.0)


def _box(node: GraphNode, nodes: list[GraphNode], is_root: bool) -> str:
    head = f"{node.label} (leaf)" if node.is_leaf else formula(node, nodes)
    label = f"{{ {_escape(head)} | data {_number(node.value)} | grad {_number(node.grad)} }}"
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
            "Graphviz (apt-get install graphviz, brew install graphviz, conda install graphviz, or "
            "https://graphviz.org/download/; pip install graphviz is only its Python binding); "
            "ag.to_dot(value) gives the DOT source without it."
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
        self._svg: str | None = None     # rendered once; a failure is retried (Graphviz may arrive)

    def svg(self) -> str:
        if self._svg is None:
            self._svg = render(self.dot, "svg").decode()
        return self._svg

    def save(self, path: str | os.PathLike[str], format: str | None = None) -> None:  # noqa: A002
        """Write the picture; the format comes from the file's extension
        (svg, png, pdf, ...) unless given, and "dot" writes the source."""
        fmt_ = format or os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "svg"
        data = self.dot.encode() if fmt_ in ("dot", "gv") else render(self.dot, fmt_)
        with open(path, "wb") as f:
            f.write(data)

    def _repr_svg_(self) -> str | None:
        # Jupyter calls this; None leaves the cell to _repr_html_ below
        try:
            return self.svg()
        except GraphvizError:
            return None

    def _repr_html_(self) -> str | None:
        # Jupyter shows this only when there is no picture: say why, how to
        # get one, and give the DOT source, which needs no Graphviz
        try:
            self.svg()
            return None
        except GraphvizError as exc:
            return (f"<p><b>No picture:</b> {html.escape(str(exc))}</p>"
                    f"<p>The DOT source of this graph ({html.escape(self._size())}); paste it into "
                    "any Graphviz viewer:</p>"
                    f"<pre>{html.escape(self.dot)}</pre>")

    def _size(self) -> str:
        boxes = sum(1 for line in self.dot.splitlines() if "[label=" in line)
        return "1 node" if boxes == 1 else f"{boxes:,} nodes"

    def __repr__(self) -> str:
        return f"<autograd Graph of {self._size()}; .dot holds the DOT source>"


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
