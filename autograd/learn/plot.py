"""Pictures of training with matplotlib: the decision boundary of a 2-input MLP,
and the loss and accuracy curves of a run.

matplotlib is an optional extra; nothing else in autograd needs it.  The
figures are built on ``matplotlib.figure.Figure`` directly, never through
pyplot, so drawing a file neither opens a window nor changes the backend a
notebook has chosen, and the returned Figure shows inline in Jupyter.  The
boundary evaluates the model on a grid of some 40,000 points, so it uses
NumPy (which matplotlib brings) on the weights rather than building a graph
per point.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Callable, Protocol

from ..nn.modules import MLP

INSTALL_HINT = ('drawing needs matplotlib, which is not installed: pip install "scalar-autograd[plot]", '
                'or from a clone of the repository pip install -e ".[plot]"')
DEFAULT_FORMAT = "png"      # what a file name without an extension gets


class StepLike(Protocol):
    """One step of a training history (the demo's StepRecord has these)."""

    step: int
    loss: float
    accuracy: float


def require_matplotlib() -> Any:
    """matplotlib's Figure class, or ImportError saying how to install matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return Figure


def output_path(path: str | os.PathLike[str]) -> str:
    """The file a picture will really be written to: ``path``, with ".png"
    added when it has no extension (as matplotlib would add it).

    Raises ValueError, with a message that names the problem, when the file
    cannot be written: its directory is missing or read-only, it names a
    directory, or matplotlib has no writer for its extension.  Needs
    matplotlib for the last check (ImportError with the install hint)."""
    real = os.fspath(path)
    if not real:
        raise ValueError("the file name is empty")
    if os.path.isdir(real) or real.endswith(("/", os.sep)):
        raise ValueError(f"cannot write {real}: it is a directory; give a file name")
    ext = os.path.splitext(real)[1]
    if not ext:
        real = f"{real}.{DEFAULT_FORMAT}"
    folder = os.path.dirname(os.path.abspath(real))
    if not os.path.isdir(folder):
        raise ValueError(f"cannot write {real}: the directory {folder} does not exist")
    if os.path.isdir(real):
        raise ValueError(f"cannot write {real}: it is a directory; give a file name")
    if not os.access(folder, os.W_OK) or (os.path.exists(real) and not os.access(real, os.W_OK)):
        raise ValueError(f"cannot write {real}: permission denied")
    require_matplotlib()
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    fmt = os.path.splitext(real)[1].lstrip(".").lower()
    if fmt not in formats:
        raise ValueError(f"cannot write {real}: matplotlib writes .png, .svg, .pdf and "
                         f"{len(formats) - 3} other formats, not .{fmt}")
    return real


def grid_scores(model: MLP, xs: Any, ys: Any) -> Any:
    """The model's output at every (x, y) of two same-shape NumPy arrays."""
    import numpy as np

    acts: dict[str, Callable[[Any], Any]] = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh,
            "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)), "linear": lambda z: z}
    h = np.stack([xs.ravel(), ys.ravel()], axis=1)
    for layer in model.layers:
        W = np.array([[w.data for w in n.w] for n in layer.neurons])   # (nout, nin)
        b = np.array([n.b.data for n in layer.neurons])
        h = acts[layer.neurons[0].nonlin](h @ W.T + b)
    return h[:, 0].reshape(xs.shape)


def draw_decision_boundary(ax: Any, model: MLP, X: list[list[float]], y: list[int],
                           resolution: int = 200) -> None:
    """On matplotlib axes ``ax``: the model's two regions (score > 0 and < 0),
    the boundary between them, and the data points on top."""
    import numpy as np

    if model.nin != 2 or model.nouts[-1] != 1:
        raise ValueError(f"a decision boundary needs a model with 2 inputs and 1 output, not {model}")
    pts = np.array(X, dtype=float)
    labels = np.array(y)
    pad = 0.25 * (pts.max(axis=0) - pts.min(axis=0)) + 0.1
    lo, hi = pts.min(axis=0) - pad, pts.max(axis=0) + pad
    xs, ys = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    scores = grid_scores(model, xs, ys)
    ax.contourf(xs, ys, scores > 0, levels=[-0.5, 0.5, 1.5], colors=["#f4b6a8", "#b7d3ee"], alpha=0.9)
    if scores.min() < 0.0 < scores.max():       # no line to draw when one class covers the grid
        ax.contour(xs, ys, scores, levels=[0.0], colors="k", linewidths=1.2)
    for cls, color, marker in ((0, "#c0392b", "o"), (1, "#1f5fa8", "s")):
        sel = labels == cls
        ax.scatter(pts[sel, 0], pts[sel, 1], c=color, marker=marker, s=28, edgecolors="white",
                   linewidths=0.6, label=f"class {cls}")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(loc="upper right", fontsize=8)


def draw_history(ax_loss: Any, ax_accuracy: Any, history: Sequence[StepLike]) -> None:
    """The loss and the training accuracy of each step, on two axes."""
    steps = [r.step for r in history]
    ax_loss.plot(steps, [r.loss for r in history], color="#1f5fa8", linewidth=1.5)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("loss", fontsize=10)
    ax_loss.grid(alpha=0.3)
    ax_accuracy.plot(steps, [100 * r.accuracy for r in history], color="#c0392b", linewidth=1.5)
    ax_accuracy.set_xlabel("step")
    ax_accuracy.set_ylabel("training accuracy (%)")
    ax_accuracy.set_ylim(0, 102)
    ax_accuracy.set_title("accuracy", fontsize=10)
    ax_accuracy.grid(alpha=0.3)


def plot_decision_boundary(model: MLP, X: list[list[float]], y: list[int],
                           path: str | os.PathLike[str] | None = None, title: str | None = None,
                           resolution: int = 200) -> Any:
    """The decision boundary with the data as a matplotlib Figure, written to
    ``path`` when given (PNG, SVG, PDF, ... by its extension; .png if none)."""
    Figure = require_matplotlib()
    real = output_path(path) if path is not None else None
    fig = Figure(figsize=(6.0, 5.5), dpi=100)
    ax = fig.subplots()
    draw_decision_boundary(ax, model, X, y, resolution)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    if real is not None:
        fig.savefig(real)
    return fig


def plot_training(model: MLP, X: list[list[float]], y: list[int], history: Sequence[StepLike],
                  path: str | os.PathLike[str] | None = None, title: str | None = None,
                  resolution: int = 200) -> Any:
    """The decision boundary beside the loss and accuracy curves of the run
    that trained it, as a matplotlib Figure; written to ``path`` when given."""
    Figure = require_matplotlib()
    real = output_path(path) if path is not None else None
    fig = Figure(figsize=(11.0, 5.5), dpi=100)
    grid = fig.add_gridspec(2, 2, width_ratios=[1.25, 1.0])
    draw_decision_boundary(fig.add_subplot(grid[:, 0]), model, X, y, resolution)
    draw_history(fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, 1]), history)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    if real is not None:
        fig.savefig(real)
    return fig
