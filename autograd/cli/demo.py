"""``python -m autograd demo``: micrograd's demo, trained on this engine.

MLP(2, [16, 16, 1]) on 100 noisy moons; loss = hinge (SVM max-margin) +
1e-4 * L2; plain SGD with the learning rate falling linearly from 1.0 towards
0.1; 100 full-batch steps.  Each step builds the loss once (about 65,000
nodes), runs one backward sweep and updates the 337 parameters.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO, cast

from .. import backend as ag_backend
from ..nn.datasets import DATASETS, Dataset
from ..nn.losses import hinge, l2
from ..nn.modules import MLP
from ..nn.optim import SGD, linear_decay
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


@dataclass
class StepRecord:
    step: int
    loss: float         # before this step's update, as micrograd prints it
    accuracy: float     # fraction of training points on the right side, before the update
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
    def ms_per_step(self) -> float:
        return 1e3 * self.seconds / max(1, len(self.history))

    def phase_ms(self) -> tuple[float, float, float]:
        """Mean milliseconds per step in forward, backward and update."""
        n = max(1, len(self.history))
        return (1e3 * sum(r.forward_s for r in self.history) / n,
                1e3 * sum(r.backward_s for r in self.history) / n,
                1e3 * sum(r.update_s for r in self.history) / n)


def accuracy(scores: list[Value], labels: list[int]) -> float:
    """Fraction of scores on the side of 0 that their 0/1 label says."""
    return sum((s.data > 0.0) == (y > 0) for s, y in zip(scores, labels)) / len(labels)


def train(model: MLP, X: list[list[float]], y: list[int], steps: int, *, alpha: float = ALPHA,
          lr_start: float = LR_START, lr_end: float = LR_END,
          on_step: Callable[[StepRecord], None] | None = None) -> list[StepRecord]:
    """Full-batch training with hinge + L2 loss and SGD; returns one record per step."""
    params = model.parameters()
    opt = SGD(params, lr=linear_decay(lr_start, lr_end, steps))
    history = []
    for k in range(steps):
        t0 = time.perf_counter()
        scores = [cast(Value, model(x)) for x in X]     # one output: a Value per point
        loss = hinge(scores, y) + l2(params, alpha)
        t1 = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        lr = opt.lr
        opt.step()
        t3 = time.perf_counter()
        record = StepRecord(k, loss.data, accuracy(scores, y), lr, t1 - t0, t2 - t1, t3 - t2)
        history.append(record)
        if on_step:
            on_step(record)
    return history


def run(*, dataset: str = DATASET, steps: int = STEPS, backend: str | None = None,
        seed: int | None = SEED, samples: int = SAMPLES, noise: float = NOISE,
        log_every: int = 10, out: TextIO | None = None) -> DemoResult:
    """Train the demo model on ``backend`` (default: the current one), printing
    progress and a summary to ``out`` (default stdout)."""
    out = out or sys.stdout
    saved = ag_backend.get_backend()
    if backend is not None:
        ag_backend.set_backend(backend)
    try:
        X, y = DATASETS[dataset](n_samples=samples, noise=noise, seed=seed)
        model = MLP(2, LAYERS, seed=seed)
        result = DemoResult(ag_backend.get_backend(), dataset, seed, steps, model=model, data=(X, y))
        print(f"training {model} ({len(model.parameters())} parameters) on {samples} {dataset}, "
              f"noise {noise}, seed {seed}, {result.backend} backend", file=out)
        print(f"loss = hinge + {ALPHA:g} * L2; SGD, lr {LR_START} -> {LR_END}; full batch", file=out)

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
        result.history = train(model, X, y, steps, on_step=progress)
        result.seconds = time.perf_counter() - t0
        result.cpu_seconds = time.process_time() - c0
        right = sum((model.predict(x) > 0.0) == (label > 0) for x, label in zip(X, y))  # type: ignore[operator]
        result.final_accuracy = right / len(y)
        fwd, bwd, upd = result.phase_ms()
        print(f"done: {steps} steps in {result.seconds:.2f} s, {result.ms_per_step:.1f} ms/step "
              f"(forward {fwd:.1f}, backward {bwd:.1f}, update {upd:.1f}; CPU "
              f"{1e3 * result.cpu_seconds / steps:.1f}) on the {result.backend} backend, "
              f"{result.nodes_per_step:,} nodes per step", file=out)
        print(f"training accuracy after the last step: {100 * result.final_accuracy:.1f}% "
              f"({right}/{len(y)})", file=out)
        return result
    finally:
        ag_backend.set_backend(saved)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", choices=sorted(DATASETS), default=DATASET,
                        help="two moons (default) or two circles")
    parser.add_argument("--steps", type=int, default=STEPS, help="training steps (default %(default)s)")
    parser.add_argument("--backend", choices=["c", "python"], default=None,
                        help="engine to train on (default: c when it is built)")
    parser.add_argument("--seed", type=int, default=SEED,
                        help="seed for the data and the initial weights (default %(default)s)")
    parser.add_argument("--samples", type=int, default=SAMPLES, help="points (default %(default)s)")
    parser.add_argument("--noise", type=float, default=NOISE, help="noise (default %(default)s)")
    parser.add_argument("--log-every", type=int, default=10, metavar="N",
                        help="print progress every N steps (default %(default)s)")
    parser.add_argument("--plot", metavar="FILE.png", default=None,
                        help="draw the decision boundary with the data (needs matplotlib)")


def main(args: argparse.Namespace) -> int:
    if args.steps < 1 or args.log_every < 1 or args.samples < 2:
        print("demo: --steps and --log-every must be >= 1, --samples >= 2", file=sys.stderr)
        return 2
    if args.plot:
        # fail before training, not after it
        from ..learn.plot import require_matplotlib

        try:
            require_matplotlib()
        except ImportError as exc:
            print(f"demo: {exc}", file=sys.stderr)
            return 1
    try:
        result = run(dataset=args.dataset, steps=args.steps, backend=args.backend, seed=args.seed,
                     samples=args.samples, noise=args.noise, log_every=args.log_every)
    except ImportError as exc:  # --backend c without a C build
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    if args.plot:
        from ..learn.plot import plot_decision_boundary

        assert result.model is not None and result.data is not None
        X, y = result.data
        plot_decision_boundary(result.model, X, y, args.plot,
                               title=f"{result.model} on {args.dataset}: "
                                     f"{100 * result.final_accuracy:.0f}% training accuracy")
        print(f"decision boundary written to {args.plot}")
    return 0
