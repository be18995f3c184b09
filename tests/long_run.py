"""A long training loop whose memory must stay flat: a benchmark-style check.

    python tests/long_run.py                      # 200,000 steps, C backend
    python tests/long_run.py --steps 3000 --backend python

Trains a 2-4-1 tanh network on XOR with plain SGD (every step builds a fresh
graph of ~150 nodes, back-propagates it, updates .data and drops it).  At 20
checkpoints it prints resident memory (RSS), live nodes and arena capacity.
After the first tenth of the run (warm-up: allocator pools, arena growth),
live nodes must not change at all and RSS may not grow by more than
--rss-slack-kb.  Exit status 1 if either grows, so a leak of one node or one
Python object per step fails the run.  tests/test_long_run.py runs a short
version in the suite.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time

import autograd as ag

DATA = [((0.0, 0.0), -1.0), ((0.0, 1.0), 1.0), ((1.0, 0.0), 1.0), ((1.0, 1.0), -1.0)]


def rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--backend", default="c", choices=["c", "python"])
    parser.add_argument("--rss-slack-kb", type=int, default=1024)
    parser.add_argument("--leak", action="store_true", help="keep one node per step (to see a failure)")
    args = parser.parse_args(argv)
    ag.set_backend(args.backend)

    rng = random.Random(0)
    w1 = [[ag.Value(rng.uniform(-1, 1)) for _ in range(2)] for _ in range(4)]
    b1 = [ag.Value(0.0) for _ in range(4)]
    w2 = [ag.Value(rng.uniform(-1, 1)) for _ in range(4)]
    b2 = ag.Value(0.0)
    params = [w for row in w1 for w in row] + b1 + w2 + [b2]
    lr = 0.05

    checkpoints = max(1, args.steps // 20)
    warm = max(1, args.steps // 10)
    baseline: tuple[int, int, int] | None = None
    worst_rss = worst_live = worst_capacity = 0
    leaked = []
    start = time.perf_counter()
    print(f"{'step':>8} {'rss kB':>9} {'live':>6} {'capacity':>9} {'loss':>10}")
    for step in range(1, args.steps + 1):
        total = ag.Value(0.0)
        for (x0, x1), y in DATA:
            h = [(w[0] * x0 + w[1] * x1 + b).tanh() for w, b in zip(w1, b1)]
            out = sum((wo * hi for wo, hi in zip(w2, h)), b2)
            total = total + (out - y) ** 2
        ag.zero_grad(params)
        total.backward()
        for p in params:
            p.data -= lr * p.grad
        if args.leak:
            leaked.append(total)
        if step % checkpoints == 0 or step == warm:
            loss = total.data
            del total, h, out
            gc.collect()
            stats = ag.stats()
            rss = rss_kb()
            live, capacity = stats["live_nodes"], stats["capacity"]
            print(f"{step:>8} {rss:>9} {live:>6} {capacity:>9} {loss:>10.6f}", flush=True)
            if step == warm:
                baseline = (rss, live, capacity)
            elif baseline is not None:
                worst_rss = max(worst_rss, rss - baseline[0])
                worst_live = max(worst_live, abs(live - baseline[1]))
                worst_capacity = max(worst_capacity, capacity - baseline[2])
    elapsed = time.perf_counter() - start
    print(
        f"{args.steps} steps in {elapsed:.1f} s on the {args.backend} backend; "
        f"after warm-up RSS grew by at most {worst_rss} kB, live nodes changed by at most {worst_live}"
    )
    if worst_live or worst_rss > args.rss_slack_kb:
        print("FAIL: memory is not flat")
        return 1
    print("OK: memory is flat")
    return 0


if __name__ == "__main__":
    sys.exit(main())
