"""Graph pictures (to_dot, draw, Graph) and explain, on both backends."""

from __future__ import annotations

import gc
import html
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import autograd as ag
from autograd.learn import pictures as viz

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="Graphviz's dot is not installed")


def expression():
    """y = x*x + 2**x - 1/x at x = 2: six nodes, x used three times."""
    x = ag.Value(2.0)
    y = x * x + 2 ** x - 1 / x
    return x, y


# --- to_dot / draw --------------------------------------------------------

def test_to_dot_has_a_box_per_value_and_an_edge_per_input(backend):
    x, y = expression()
    y.backward()
    dot = ag.to_dot(y, names={"x": x, "y": y})
    boxes = re.findall(r'^\s+n\d+ \[label="(.*)", fillcolor', dot, re.M)
    ops_named = re.findall(r'tooltip="op: (\w+)"', dot)
    assert ops_named == ["leaf", "mul", "rpowc", "add", "rdivc", "sub"]
    edges = re.findall(r"^\s+n\d+ -> n\d+;", dot, re.M)
    assert len(boxes) == 6
    assert len(edges) == 8           # x*x counts x twice
    assert dot.startswith("digraph autograd {") and dot.rstrip().endswith("}")
    assert "{ x (leaf) | data 2 | grad 7.02259 }" in boxes
    assert "{ v1 = x * x | data 4 | grad 1 }" in boxes
    assert "{ v2 = 2 ** x | data 4 | grad 1 }" in boxes      # the constant sits in the formula
    assert "{ v4 = 1 / x | data 0.5 | grad -1 }" in boxes
    assert "{ y = v3 - v4 | data 7.5 | grad 1 }" in boxes


def test_to_dot_refuses_huge_graphs_unless_told(backend):
    x = ag.Value(1.0)
    y = x
    for _ in range(600):
        y = y + x
    with pytest.raises(ValueError, match="max_nodes"):
        ag.to_dot(y)
    assert ag.to_dot(y, max_nodes=None).count("->") == 1200


def test_to_dot_escapes_record_characters(backend):
    x = ag.Value(1.0)
    dot = ag.to_dot(x * 2, names={"x|<weird>": x})
    assert "x\\|\\<weird\\> (leaf)" in dot


@needs_dot
def test_dot_parses_the_output_and_draw_writes_files(backend, tmp_path):
    x, y = expression()
    y.backward()
    proc = subprocess.run(["dot", "-Tsvg"], input=ag.to_dot(y).encode(), capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"<svg" in proc.stdout
    g = ag.draw(y, tmp_path / "graph.svg", names={"x": x})
    assert (tmp_path / "graph.svg").read_text().lstrip().startswith("<?xml")
    g.save(tmp_path / "graph.png")
    assert (tmp_path / "graph.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    g.save(tmp_path / "graph.dot")
    assert (tmp_path / "graph.dot").read_text() == g.dot
    svg = ag.graph(y)._repr_svg_()
    assert svg is not None and "<svg" in svg


def test_draw_without_graphviz_says_how_to_install(backend, tmp_path, monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    x, y = expression()
    with pytest.raises(ag.GraphvizError, match="apt-get install graphviz"):
        ag.draw(y, tmp_path / "graph.svg")
    assert not (tmp_path / "graph.svg").exists()
    g = ag.graph(y)
    assert g._repr_svg_() is None          # Jupyter then shows the text repr
    assert "6 nodes" in repr(g)
    g.save(tmp_path / "graph.dot")         # the source needs no Graphviz


# --- explain --------------------------------------------------------------

def test_explain_lists_every_node_with_its_local_derivatives(backend, capsys):
    x, y = expression()
    ex = ag.explain(y, names={"x": x, "y": y})
    text = capsys.readouterr().out
    assert text.strip() == str(ex)
    # every node is named in the text; every non-leaf is one step, output first
    for label in ["x", "v1", "v2", "v3", "v4", "y"]:
        assert re.search(rf"\b{label}\b", text)
    assert [s.label for s in ex.steps] == ["y", "v4", "v3", "v2", "v1"]
    assert [s.op for s in ex.steps] == ["sub", "rdivc", "add", "rpowc", "mul"]
    local = {s.label: [(t.label, t.local) for t in s.inputs] for s in ex.steps}
    assert local["y"] == [("v3", 1.0), ("v4", -1.0)]
    assert local["v4"] == [("x", pytest.approx(-1 / 4))]            # d(1/x) = -1/x**2
    assert local["v3"] == [("v1", 1.0), ("v2", 1.0)]
    assert local["v2"] == [("x", pytest.approx(4 * math.log(2)))]   # d(2**x) = 2**x ln 2
    assert local["v1"] == [("x", 2.0), ("x", 2.0)]                  # x*x: x reached twice
    assert [s.adjoint for s in ex.steps] == [1.0, -1.0, 1.0, 1.0, 1.0]
    assert "local dv4/dx = -1/x**2 = -0.25" in text
    assert "x.grad += 7.02259 = 0.25 + 2.77259 + 2 + 2" in text


def test_explain_matches_backward_bitwise(backend):
    a, b = ag.Value(0.5), ag.Value(-1.5)
    z = (a * b).tanh() + (a / b).exp().relu() + a.sigmoid() * 3 - abs(b) ** 0.5 + (a - b).log()
    ex = ag.explain(z, names={"a": a, "b": b}, show=False, accumulate=True)
    assert ex.leaf_grads == {"a": a.grad, "b": b.grad}
    fresh_a, fresh_b = ag.Value(0.5), ag.Value(-1.5)
    fresh = ((fresh_a * fresh_b).tanh() + (fresh_a / fresh_b).exp().relu() + fresh_a.sigmoid() * 3
             - abs(fresh_b) ** 0.5 + (fresh_a - fresh_b).log())
    fresh.backward()
    assert (a.grad, b.grad) == (fresh_a.grad, fresh_b.grad)


def test_explain_counts_contributions_and_seed(backend):
    x = ag.Value(3.0)
    u = x * 2
    y = u * u + u        # u has two consumers (mul twice counts as two terms, add one)
    ex = ag.explain(y, names={"x": x, "u": u}, seed=0.5, show=False)
    step_u = next(s for s in ex.steps if s.label == "u")
    assert step_u.contributions == 3
    assert step_u.adjoint == 0.5 * (2 * 6.0 + 1)
    assert ex.leaf_grads["x"] == 0.5 * (2 * 6.0 + 1) * 2
    assert x.grad == 0.0 and u.grad == 0.0      # explain leaves every .grad as it was
    assert "seed dv3/dv3 = 0.5" in str(ex)
    assert "sum from 3 consumers" in str(ex)


def test_explain_truncates_large_graphs_with_a_count(backend):
    model = ag.nn.MLP(2, [8, 8, 1], seed=0)
    out = model([0.5, -0.5])
    ex = ag.explain(out, max_steps=10, show=False)
    text = str(ex)
    assert len(ex.steps) > 100
    assert len(re.findall(r"^step \d+:", text, re.M)) == 10
    assert f"... {len(ex.steps) - 10:,} more steps not shown" in text
    assert "more leaves" in text
    assert len(text.splitlines()) < 60


def test_explain_of_a_leaf(backend):
    x = ag.Value(4.0)
    ex = ag.explain(x, names={"x": x}, show=False)
    assert ex.steps == [] and ex.leaf_grads == {"x": 1.0} and x.grad == 0.0
    assert "1 node, 0 chain-rule steps" in str(ex)


# --- python -m autograd explain ---------------------------------------------

def run_explain(*args: str) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parent.parent
    return subprocess.run([sys.executable, "-m", "autograd", "explain", *args], cwd=root,
                          env=dict(os.environ, PYTHONPATH=str(root)), capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("name", ["c", "python"])
def test_explain_command(name, tmp_path):
    if name not in ag.available_backends():
        pytest.skip("the C backend is not built")
    args = ["x*x + 2**x - 1/x", "x=2", "--backend", name]
    if HAVE_DOT:
        args += ["--draw", str(tmp_path / "g.svg")]
    proc = run_explain(*args)
    assert proc.returncode == 0, proc.stderr
    assert "forward: out = x*x + 2**x - 1/x at x = 2 = 7.5" in proc.stdout
    assert "step 5: v1 = x * x" in proc.stdout
    assert "dout/dx = 7.022588722239782" in proc.stdout
    if HAVE_DOT:
        assert "<svg" in (tmp_path / "g.svg").read_text()


def test_explain_command_reports_bad_input():
    proc = run_explain("x +* 2", "x=1")
    assert proc.returncode == 2 and "SyntaxError" in proc.stderr
    proc = run_explain("x", "x=two")
    assert proc.returncode == 2 and "name=number" in proc.stderr
    proc = run_explain("3 + 4")
    assert proc.returncode == 2 and "not a Value" in proc.stderr


def test_notebook_without_graphviz_shows_why_and_the_dot_source(backend, monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    x, y = expression()
    g = ag.graph(y, names={"x": x})
    assert g._repr_svg_() is None
    page = g._repr_html_()                  # what Jupyter shows instead of the placeholder repr
    assert page is not None
    assert "Graphviz" in page and "apt-get install graphviz" in page and "brew install graphviz" in page
    assert html.escape(g.dot) in page       # the DOT text itself, escaped for HTML
    assert "x (leaf)" in page


def test_notebook_with_graphviz_shows_only_the_picture(backend, monkeypatch):
    calls = []

    def fake_render(source, fmt="svg"):
        calls.append(fmt)
        return b"<svg>picture</svg>"

    monkeypatch.setattr(viz, "render", fake_render)
    g = ag.graph(expression()[1])
    assert g._repr_svg_() == "<svg>picture</svg>"
    assert g._repr_html_() is None          # the picture wins; no HTML competes with it
    assert calls == ["svg"]                 # rendered once


def test_counts_and_zeros_read_naturally(backend):
    x = ag.Value(-1.0)
    y = x * 0.0                             # data -0.0, and x.grad = 0 * ... after backward
    y.backward()
    assert repr(ag.graph(x)) == "<autograd Graph of 1 node; .dot holds the DOT source>"
    assert "6 nodes" in repr(ag.graph(expression()[1]))
    dot = ag.to_dot(y, names={"x": x, "y": y})
    assert "data -0 " not in dot and "data 0 | grad 1" in dot


def test_explain_command_prints_no_negative_zero():
    proc = run_explain("(-x)*0", "x=2")
    assert proc.returncode == 0, proc.stderr
    assert "= 0.0\n" in proc.stdout and "-0.0" not in proc.stdout.splitlines()[0]
    assert proc.stdout.splitlines()[-1] == "dout/dx = 0.0"


def test_explain_help_describes_every_option():
    from autograd.cli import build_parser

    _, commands = build_parser()
    for action in commands["explain"]._actions:
        assert action.help, action.dest


def test_explain_at_a_prompt_prints_once_and_leaves_grads(backend, capsys):
    """In a REPL the return value is echoed: its repr must not be the text
    again, and explaining must not change .grad unless asked to."""
    x = ag.Value(2.0, label="x")
    y = x * x
    ex = ag.explain(y)
    printed = capsys.readouterr().out
    assert printed.count("backward from") == 1
    assert "backward from" not in repr(ex) and "print()" in repr(ex)
    assert x.grad == 0.0
    y.backward()
    assert x.grad == 4.0                          # not 8.0: explain added nothing
    ag.explain(y, show=False, accumulate=True)
    assert x.grad == 8.0


def test_labels_show_in_explain_pictures_and_repr(backend):
    x = ag.Value(2.0, label="x")
    w = ag.Value(-3.0)
    w.label = "weight"
    y = (x * w).relu()
    assert x.label == "x" and w.label == "weight" and y.label is None
    assert repr(x) == "Value(data=2.0, grad=0.0, label='x')"
    text = str(ag.explain(y, show=False))
    assert "x * weight" in text
    assert "weight" in ag.to_dot(y)
    w.label = None
    assert w.label is None and repr(w) == "Value(data=-3.0, grad=0.0)"
    with pytest.raises(TypeError, match="str"):
        ag.Value(1.0, label=3)


def test_a_label_goes_with_its_value_never_to_a_reused_node(backend):
    eng = ag.backend.ENGINES[backend]
    x = ag.Value(2.0, label="gone")
    node = x._id
    del x
    gc.collect()
    assert node not in eng.labels
    assert all(v.label is None for v in [ag.Value(1.0) for _ in range(10)])


def test_names_can_be_a_model(backend):
    model = ag.nn.MLP(2, [2, 1], seed=0)
    text = str(ag.explain(model([0.5, -0.5]), names=model, show=False))
    assert "layers.0.neurons.0.w.0" in text or "w.0" in text


def test_explain_counts_in_the_singular_and_shows_no_negative_zero(backend):
    x = ag.Value(-0.0, label="x")
    y = x * 1.0
    text = str(ag.explain(y, show=False))
    assert "2 nodes, 1 chain-rule step," in text and "-0" not in text
