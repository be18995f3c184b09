"""W4 (bytes per retained node) and the 10,000,000-node run, each in a fresh
process so that no earlier workload's arena or heap hides the growth.

    python -m autograd.bench.memory w4 <engine> <n>     one JSON line
    python -m autograd.bench.memory big <n>             one JSON line

W4 holds a chain of n nodes, y = y * y from a leaf of 1.0 (every node one
binary op on Values, so no engine adds constant leaves), by its root only,
and divides the growth of the resident set by the nodes in the graph.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import time
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def _make(engine: str) -> Any:
    if engine in ("c", "python"):
        import autograd as ag

        ag.set_backend(engine)
        return ag.Value
    if engine == "micrograd":
        from micrograd.engine import Value

        return Value
    if engine == "torch 0-dim":
        import torch

        return lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True)
    raise SystemExit(f"unknown engine {engine!r}")


def w4(engine: str, n: int) -> dict[str, float]:
    make = _make(engine)
    gc.collect()
    before = rss()
    y = make(1.0)
    for _ in range(n):
        y = y * y
    if engine in ("c", "python"):
        import autograd as ag

        ag.backend.engine.flush()
    gc.collect()
    after = rss()
    nodes = n + 1
    return {"bytes_per_node": (after - before) / nodes, "nodes": nodes}


def big(n: int) -> dict[str, float]:
    """Build, back-propagate and free a chain of n nodes on the C backend."""
    import autograd as ag

    ag.set_backend("c")
    eng = ag.backend.engine
    t0 = time.perf_counter()
    x = ag.Value(1.0)
    y = x
    for _ in range(n // 2):
        y = y * 0.9999999
        y = y + 1e-7
    eng.flush()
    t1 = time.perf_counter()
    y.backward()
    t2 = time.perf_counter()
    grad = x.grad
    live = ag.stats()["live_nodes"]
    del y
    eng.flush()
    t3 = time.perf_counter()
    left = ag.stats()["live_nodes"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"nodes": live, "build_s": t1 - t0, "backward_s": t2 - t1, "free_s": t3 - t2,
            "live_after_free": left, "grad_ok": float(grad == grad and grad > 0),
            "peak_rss_bytes": peak}


def main(argv: list[str]) -> int:
    if argv[0] == "w4":
        out = w4(argv[1], int(argv[2]))
    elif argv[0] == "big":
        out = big(int(argv[1]))
    else:
        raise SystemExit(__doc__)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
