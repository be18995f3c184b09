"""``python -m autograd demo``: micrograd's demo, trained on this engine.

MLP(2, [16, 16, 1]) on 100 noisy moons; loss = hinge (SVM max-margin) +
1e-4 * L2; plain SGD with the learning rate falling linearly from 1.0 towards
0.1; 100 full-batch steps.  Each step builds the loss once (about 65,000
nodes), runs one backward sweep and updates the 337 parameters.  The options
change the network, the loss, the optimizer, the batch and the data.

In a notebook: ``result = demo.run(steps=50)``; ``result.losses`` and
``result.accuracies`` are the curves, ``result.plot()`` draws them with the
decision boundary.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TextIO, cast

from .. import backend as ag_backend
from ..nn.datasets import DATASETS, Dataset
from ..nn.losses import binary_cross_entropy_with_logits, hinge, l2
from ..nn.modules import MLP
from ..nn.optim import SGD, Adam, Optimizer, linear_decay
from ..value import Value

# The embedded defaults: micrograd's demo notebook, with its seed.
DATASET = "moons"
SAMPLES = 100
NOISE = 0.1
STEPS = 100
SEED = 1337
LAYERS = (16, 16, 1)
ALPHA = 1e-4            # weight of the L2 term
LR_START = 1.0          # falling linearly towards LR_END over the run:
LR_END = 0.1            # micrograd's 1.0 - 0.9 * k / 100
LR_FALL = 10.0          # any starting rate falls to 1/LR_FALL of itself, as micrograd's does

LOSSES: dict[str, Callable[[list[Value], list[int]], Value]] = {
    "hinge": hinge,                                 # micrograd's: SVM max-margin
    "bce": binary_cross_entropy_with_logits,        # logistic regression's
}
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {"sgd": SGD, "adam": Adam}
DEFAULT_LR = {"sgd": LR_START, "adam": 0.05}        # a starting rate that trains the default net


@dataclass
class StepRecord:
    step: int
    loss: float         # before this step's update, as micrograd prints it (of the batch)
    accuracy: float     # fraction of all training points on the right side, before the update
    lr: float
    forward_s: float    # building the loss (the graph)
    backward_s: float   # zero_grad + backward sweep
    update_s: float     # the optimizer step


@dataclass
class DemoResult:
    backend: str
    dataset: str
    seed: int | None
    steps: int
    history: list[StepRecord] = field(default_factory=list)
    final_accuracy: float = 0.0     # after the last update
    nodes_per_step: int = 0
    seconds: float = 0.0            # wall clock for the whole run
    cpu_seconds: float = 0.0        # this process's CPU time: steadier on a busy machine
    model: MLP | None = None
    data: Dataset | None = None

    @property
    def losses(self) -> list[float]:
        """The loss at each step, before its update."""
        return [r.loss for r in self.history]

    @property
    def accuracies(self) -> list[float]:
        """The training accuracy (0 to 1) at each step, before its update."""
        return [r.accuracy for r in self.history]

    @property
    def ms_per_step(self) -> float:
        return 1e3 * self.seconds / max(1, len(self.history))

    def phase_ms(self) -> tuple[float, float, float]:
        """Mean milliseconds per step in forward, backward and update."""
        n = max(1, len(self.history))
        return (1e3 * sum(r.forward_s for r in self.history) / n,
                1e3 * sum(r.backward_s for r in self.history) / n,
                1e3 * sum(r.update_s for r in self.history) / n)

    def plot(self, path: str | os.PathLike[str] | None = None) -> Any:
        """The decision boundary beside the loss and accuracy curves, as a
        matplotlib Figure (shown inline in Jupyter); also written to ``path``
        when given.  Needs matplotlib."""
        from ..learn.plot import plot_training

        assert self.model is not None and self.data is not None
        X, y = self.data
        return plot_training(self.model, X, y, self.history, path, title=self.title())

    def title(self) -> str:
        return f"{self.model} on {self.dataset}: {100 * self.final_accuracy:.0f}% training accuracy"


def plural(n: int, word: str) -> str:
    """"1 step", "2 steps", "65,412 nodes"."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def accuracy(scores: list[Value], labels: list[int]) -> float:
    """Fraction of scores on the side of 0 that their 0/1 label says."""
    return sum((s.data > 0.0) == (y > 0) for s, y in zip(scores, labels)) / len(labels)


def predict_accuracy(model: MLP, X: list[list[float]], labels: list[int]) -> float:
    """The same fraction for the model's current weights, without a graph."""
    return sum((cast(float, model.predict(x)) > 0.0) == (y > 0) for x, y in zip(X, labels)) / len(labels)


def train(model: MLP, X: list[list[float]], y: list[int], steps: int, *, alpha: float = ALPHA,
          lr_start: float = LR_START, lr_end: float = LR_END, optimizer: str = "sgd",
          loss: str = "hinge", batch_size: int | None = None, seed: int | None = None,
          on_step: Callable[[StepRecord], None] | None = None) -> list[StepRecord]:
    """Train with ``loss`` + alpha * L2 and ``optimizer`` (lr falling linearly
    from lr_start towards lr_end); returns one record per step.

    Full batch unless ``batch_size`` is less than the number of points: then
    each step draws that many points at random (``random.Random(seed)``; the
    random module's global state for seed=None)."""
    params = model.parameters()
    opt = OPTIMIZERS[optimizer](params, lr=linear_decay(lr_start, lr_end, steps))
    loss_fn = LOSSES[loss]
    full = batch_size is None or batch_size >= len(X)
    rng: Any = random if seed is None else random.Random(seed)
    history = []
    for k in range(steps):
        t0 = time.perf_counter()
        if full:
            bx, by = X, y
        else:
            batch = rng.sample(range(len(X)), batch_size)
            bx, by = [X[i] for i in batch], [y[i] for i in batch]
        scores = [cast(Value, model(x)) for x in bx]     # one output: a Value per point
        total = loss_fn(scores, by) + l2(params, alpha)
        t1 = time.perf_counter()
        opt.zero_grad()
        total.backward()
        t2 = time.perf_counter()
        # the accuracy over all points (the batch's scores hold it for a full
        # batch), before the update; not part of any timed phase
        acc = accuracy(scores, y) if full else predict_accuracy(model, X, y)
        lr = opt.lr
        t3 = time.perf_counter()
        opt.step()
        t4 = time.perf_counter()
        record = StepRecord(k, total.data, acc, lr, t1 - t0, t2 - t1, t4 - t3)
        history.append(record)
        if on_step:
            on_step(record)
    return history


def run(*, dataset: str = DATASET, steps: int = STEPS, backend: str | None = None,
        seed: int | None = SEED, samples: int = SAMPLES, noise: float = NOISE,
        hidden: tuple[int, ...] = LAYERS[:-1], optimizer: str = "sgd", loss: str = "hinge",
        lr: float | None = None, batch_size: int | None = None,
        log_every: int = 10, out: TextIO | None = None) -> DemoResult:
    """Train the demo model on ``backend`` (default: the current one), printing
    progress and a summary to ``out`` (default stdout).  ``lr`` is the
    starting rate (default: 1.0 for sgd, 0.05 for adam); it falls linearly to
    a tenth of itself over the run."""
    out = out or sys.stdout
    lr_start = DEFAULT_LR[optimizer] if lr is None else lr
    lr_end = LR_END if lr is None and optimizer == "sgd" else lr_start / LR_FALL
    saved = ag_backend.get_backend()
    if backend is not None:
        ag_backend.set_backend(backend)
    try:
        X, y = DATASETS[dataset](n_samples=samples, noise=noise, seed=seed)
        model = MLP(2, [*hidden, 1], seed=seed)
        result = DemoResult(ag_backend.get_backend(), dataset, seed, steps, model=model, data=(X, y))
        batch = "full batch" if batch_size is None or batch_size >= samples else f"batches of {batch_size}"
        print(f"training {model} ({plural(len(model.parameters()), 'parameter')}) on {samples} {dataset}, "
              f"noise {noise}, seed {seed}, {result.backend} backend", file=out)
        print(f"loss = {loss} + {ALPHA:g} * L2; {optimizer.upper() if optimizer == 'sgd' else 'Adam'}, "
              f"lr {lr_start:g} -> {lr_end:g}; {batch}", file=out)

        last = [time.perf_counter(), 0]     # time and step of the last progress line

        def progress(r: StepRecord) -> None:
            if r.step == 0:
                # count this step's graph: the loss and everything it depends on
                result.nodes_per_step = ag_backend.ENGINES[result.backend].stats()["live_nodes"]
            if r.step % log_every == 0 or r.step == steps - 1:
                now = time.perf_counter()
                rate = (r.step + 1 - last[1]) / max(now - last[0], 1e-9)
                last[0], last[1] = now, r.step + 1
                print(f"step {r.step:4d}  loss {r.loss:.4f}  accuracy {100 * r.accuracy:5.1f}%  "
                      f"lr {r.lr:.3f}  {rate:6.1f} steps/s", file=out, flush=True)

        t0, c0 = time.perf_counter(), time.process_time()
        result.history = train(model, X, y, steps, lr_start=lr_start, lr_end=lr_end, optimizer=optimizer,
                               loss=loss, batch_size=batch_size, seed=seed, on_step=progress)
        result.seconds = time.perf_counter() - t0
        result.cpu_seconds = time.process_time() - c0
        right = sum((model.predict(x) > 0.0) == (label > 0) for x, label in zip(X, y))  # type: ignore[operator]
        result.final_accuracy = right / len(y)
        fwd, bwd, upd = result.phase_ms()
        print(f"done: {plural(steps, 'step')} in {result.seconds:.2f} s, {result.ms_per_step:.1f} ms/step "
              f"(forward {fwd:.1f}, backward {bwd:.1f}, update {upd:.1f}; CPU "
              f"{1e3 * result.cpu_seconds / steps:.1f}) on the {result.backend} backend, "
              f"{plural(result.nodes_per_step, 'node')} per step", file=out)
        print(f"training accuracy after the last step: {100 * result.final_accuracy:.1f}% "
              f"({right}/{len(y)})", file=out)
        return result
    finally:
        ag_backend.set_backend(saved)


def describe() -> str:
    """The demo's --help description (plain text, no markup)."""
    return (
        "Train micrograd's demo network on this engine and report loss, accuracy and speed.\n\n"
        f"By default: MLP(2, [16, 16, 1]) on {SAMPLES} noisy moons, hinge loss + {ALPHA:g} * L2,\n"
        f"SGD with the learning rate falling linearly from {LR_START} to {LR_END}, "
        f"{STEPS} full-batch steps.\n"
        "Each step builds the loss (about 65,000 nodes), runs backward and updates the weights."
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", choices=sorted(DATASETS), default=DATASET,
                        help="the data: two moons (default) or two circles")
    parser.add_argument("--samples", type=int, default=SAMPLES, metavar="N",
                        help="number of data points, at least 2 (default %(default)s)")
    parser.add_argument("--noise", type=float, default=NOISE,
                        help="standard deviation of the noise added to the points, >= 0 "
                             "(default %(default)s)")
    parser.add_argument("--seed", type=int, default=SEED,
                        help="seed for the data, the initial weights and the batches (default %(default)s)")
    parser.add_argument("--hidden", default=",".join(map(str, LAYERS[:-1])), metavar="SIZES",
                        help="hidden layer sizes, comma-separated; the output layer of 1 is added "
                             "(default %(default)s)")
    parser.add_argument("--loss", choices=sorted(LOSSES), default="hinge",
                        help="hinge: the SVM max-margin loss (default); bce: binary cross-entropy on "
                             "the output as a logit. Both add 1e-4 * L2 of the weights")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd",
                        help="sgd: plain gradient descent (default); adam: Adam")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate at the first step; it falls linearly to a tenth of that "
                             f"by the last step (default {DEFAULT_LR['sgd']} for sgd, "
                             f"{DEFAULT_LR['adam']} for adam)")
    parser.add_argument("--batch-size", type=int, default=None, metavar="N",
                        help="points per step, drawn at random each step (default: all of them)")
    parser.add_argument("--steps", type=int, default=STEPS, metavar="N",
                        help="training steps, at least 1 (default %(default)s)")
    parser.add_argument("--backend", choices=["c", "python"], default=None,
                        help="engine to train on (default: c when it is built)")
    parser.add_argument("--log-every", type=int, default=10, metavar="N",
                        help="print progress every N steps (default %(default)s)")
    parser.add_argument("--plot", metavar="FILE", default=None,
                        help="write the decision boundary with the data, beside the loss and accuracy "
                             "curves, to FILE (.png, .svg, .pdf; .png is added when FILE has no "
                             "extension); needs matplotlib")


def parse_hidden(text: str) -> tuple[int, ...]:
    """"16,16" -> (16, 16); ValueError naming the problem otherwise."""
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() and int(p) > 0 for p in parts):
        raise ValueError(f"--hidden takes positive layer sizes separated by commas, like 16,16, not {text!r}")
    return tuple(int(p) for p in parts)


def check_arguments(args: argparse.Namespace) -> str | None:
    """The first problem with the options, as one line, or None."""
    if args.steps < 1:
        return f"--steps must be at least 1, not {args.steps}"
    if args.log_every < 1:
        return f"--log-every must be at least 1, not {args.log_every}"
    if args.samples < 2:
        return f"--samples must be at least 2 (one point per class), not {args.samples}"
    if not (math.isfinite(args.noise) and args.noise >= 0.0):
        return f"--noise must be a number >= 0, not {args.noise}"
    if args.lr is not None and not (math.isfinite(args.lr) and args.lr > 0.0):
        return f"--lr must be a number > 0, not {args.lr}"
    if args.batch_size is not None and not 1 <= args.batch_size:
        return f"--batch-size must be at least 1, not {args.batch_size}"
    try:
        parse_hidden(args.hidden)
    except ValueError as exc:
        return str(exc)
    return None


def main(args: argparse.Namespace) -> int:
    problem = check_arguments(args)
    if problem:
        print(f"demo: {problem}", file=sys.stderr)
        return 2
    plot_path = None
    if args.plot is not None:
        # fail before training, not after it
        from ..learn.plot import output_path

        try:
            plot_path = output_path(args.plot)
        except ImportError as exc:
            print(f"demo: {exc}", file=sys.stderr)
            return 1
        except ValueError as exc:
            print(f"demo: --plot: {exc}", file=sys.stderr)
            return 2
    try:
        result = run(dataset=args.dataset, steps=args.steps, backend=args.backend, seed=args.seed,
                     samples=args.samples, noise=args.noise, hidden=parse_hidden(args.hidden),
                     optimizer=args.optimizer, loss=args.loss, lr=args.lr, batch_size=args.batch_size,
                     log_every=args.log_every)
    except ImportError as exc:  # --backend c without a C build
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    if plot_path is not None:
        result.plot(plot_path)
        print(f"decision boundary and training curves written to {plot_path}")
    return 0
