"""The decision-boundary picture of a trained 2-input MLP, with matplotlib.

matplotlib is an optional extra (``pip install "scalar-autograd[plot]"``);
nothing else in autograd needs it.  The picture evaluates the model on a
grid of some 40,000 points, so it uses NumPy (which matplotlib brings) on the
weights rather than building a graph per point.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from ..nn.modules import MLP

INSTALL_HINT = ('drawing the decision boundary needs matplotlib, which is not installed: '
                'pip install "scalar-autograd[plot]" (or pip install matplotlib)')


def require_matplotlib() -> Any:
    """The matplotlib.pyplot module on the non-interactive Agg backend, or
    ImportError saying how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    matplotlib.use("Agg")  # write files; never open a window
    import matplotlib.pyplot as plt

    return plt


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


def plot_decision_boundary(model: MLP, X: list[list[float]], y: list[int],
                           path: str | os.PathLike[str], title: str | None = None,
                           resolution: int = 200) -> None:
    """Write a picture of the model's two regions (score > 0 and < 0) with
    the data points on top to ``path`` (PNG, SVG or PDF by its extension)."""
    plt = require_matplotlib()
    import numpy as np

    if model.nin != 2 or model.nouts[-1] != 1:
        raise ValueError(f"a decision boundary needs a model with 2 inputs and 1 output, not {model}")
    pts = np.array(X, dtype=float)
    labels = np.array(y)
    pad = 0.25 * (pts.max(axis=0) - pts.min(axis=0)) + 0.1
    lo, hi = pts.min(axis=0) - pad, pts.max(axis=0) + pad
    xs, ys = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    scores = grid_scores(model, xs, ys)

    aspect = (hi[1] - lo[1]) / (hi[0] - lo[0])
    fig, ax = plt.subplots(figsize=(6.0, min(6.0, 6.0 * aspect + 0.7)), dpi=100)
    ax.contourf(xs, ys, scores > 0, levels=[-0.5, 0.5, 1.5], colors=["#f4b6a8", "#b7d3ee"], alpha=0.9)
    ax.contour(xs, ys, scores, levels=[0.0], colors="k", linewidths=1.2)
    for cls, color, marker in ((0, "#c0392b", "o"), (1, "#1f5fa8", "s")):
        sel = labels == cls
        ax.scatter(pts[sel, 0], pts[sel, 1], c=color, marker=marker, s=28, edgecolors="white",
                   linewidths=0.6, label=f"class {cls}")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
