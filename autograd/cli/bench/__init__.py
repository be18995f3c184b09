"""python -m autograd bench: autograd against the engines users would
otherwise pick (micrograd, PyTorch), on workloads W1-W5, and W6 when asked
(see docs/performance.md and docs/scaling.md).

The machine this runs on may be shared and noisy, so the engines take turns
round by round, each number is a median over rounds, and every ratio is the
median of ratios taken within one round.
"""

from __future__ import annotations

import functools
import gc
import json
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

from . import engines


class Config:
    def __init__(self, quick: bool, rounds: int | None) -> None:
        self.quick = quick
        self.rounds = rounds or (3 if quick else 7)
        self.warmup = not quick                             # one untimed round first
        self.chain = 100_000 if quick else 1_000_000       # W2 nodes, autograd
        self.dag = 100_000 if quick else 1_000_000         # W3 nodes, autograd
        self.peer_nodes = 20_000 if quick else 200_000     # W2/W3 nodes, PyTorch 0-dim
        self.w4 = 100_000 if quick else 1_000_000          # W4 nodes, autograd
        self.w4_peer = 20_000 if quick else 200_000        # W4 nodes, micrograd and PyTorch
        self.big = 0 if quick else 10_000_000
        self.w5 = [100, 10_000, 100_000]                    # W5 samples
        self.w5_loop = 10_000                               # the tape.run loop up to this N
        self.w5_eager = 100                                 # the eager loop up to this N
        self.w6 = 100_000 if quick else 1_000_000          # W6 samples (--only W6)
        self.clock = "cpu"


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _available(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def _backends() -> list[str]:
    from ... import available_backends

    return available_backends()


def _setups(cfg: Config) -> dict[str, dict[str, Callable[[], Any]]]:
    """workload -> engine -> set-up returning a step (or None: not installed)."""
    w1: dict[str, Callable[[], Any]] = {}
    w2: dict[str, Callable[[], Any]] = {}
    w3: dict[str, Callable[[], Any]] = {}
    for b in _backends():
        w1[b] = functools.partial(engines.w1_autograd, b)
        w1[f"{b} replay"] = functools.partial(engines.w1_replay, b)
        w2[b] = functools.partial(engines.w2_autograd, b, cfg.chain)
        w3[b] = functools.partial(engines.w3_autograd, b, cfg.dag)
    w1["plain floats"] = engines.w1_floats
    w1["micrograd"] = engines.w1_micrograd
    w1["torch 0-dim"] = engines.w1_torch_scalar
    w1["torch batched"] = engines.w1_torch_batched
    w2["torch 0-dim"] = lambda: engines.w2_torch_scalar(cfg.peer_nodes)
    w3["torch 0-dim"] = lambda: engines.w3_torch_scalar(cfg.peer_nodes)
    w5: dict[str, Callable[[], Any]] = {}
    for n in cfg.w5:
        for t in (1, 2):
            w5[w5_name(f"c run_batch, {t} thread" + "s" * (t > 1), n)] = functools.partial(
                engines.w5_run_batch, "c", n, t)
        if n <= cfg.w5_loop:
            w5[w5_name("c tape.run loop", n)] = functools.partial(engines.w5_run_loop, "c", n)
        if n <= cfg.w5_eager:
            w5[w5_name("c eager loop", n)] = functools.partial(engines.w5_eager, "c", n)
        w5[w5_name("torch batched, 1 thread", n)] = functools.partial(engines.w5_torch, n, 1)
        w5[w5_name("torch batched, default threads", n)] = functools.partial(engines.w5_torch, n, None)
    w6: dict[str, Callable[[], Any]] = {}
    for t in (1, 2):
        w6[w5_name(f"c run_batch, {t} thread" + "s" * (t > 1), cfg.w6)] = functools.partial(
            engines.w5_run_batch, "c", cfg.w6, t)
    w6[w5_name(W6_SENT, cfg.w6)] = functools.partial(engines.w6_dask, cfg.w6, False)
    w6[w5_name(W6_HELD, cfg.w6)] = functools.partial(engines.w6_dask, cfg.w6, True)
    if "c" not in _backends():
        w5 = {k: v for k, v in w5.items() if not k.startswith("c ")}
        w6 = {}
    return {"W1": w1, "W2": w2, "W3": w3, "W5": w5, "W6": w6}


W6_SENT = "dask LocalCluster, columns sent"
W6_HELD = "dask LocalCluster, columns on the workers"


def w5_name(engine: str, n: int) -> str:
    return f"{engine} @ N={n:,}"


def w5_split(name: str) -> tuple[str, int]:
    engine, n = name.rsplit(" @ N=", 1)
    return engine, int(n.replace(",", ""))


def nodes_of(workload: str, engine: str, cfg: Config) -> int:
    if workload == "W2":
        return cfg.peer_nodes if engine.startswith("torch") else cfg.chain
    if workload == "W3":
        return cfg.peer_nodes if engine.startswith("torch") else cfg.dag
    return 0


# A turn lasts at least this long: a fast step (a replay, batched PyTorch) runs
# several times back to back, as it would in a training loop, and the turn
# reports each phase's median over its steps.  A slow step runs once.
TURN_SECONDS = 0.02


def burst(step: Callable[[int], dict[str, float]], calls: dict[str, int], engine: str
          ) -> dict[str, float]:
    outs: list[dict[str, float]] = []
    spent = 0.0
    while not outs or spent < TURN_SECONDS:
        out = step(calls[engine])
        calls[engine] += 1
        outs.append(out)
        spent += out.get("total", out.get("backward", 0.0) + out.get("build", 0.0))
    return {phase: median([o[phase] for o in outs]) for phase in outs[0]}


def run_timed(cfg: Config, only: set[str]) -> dict[str, Any]:
    """The timed workloads in `only`, engines interleaved round by round (one
    untimed warm-up round first).  results: workload -> engine -> phase ->
    one number per round."""
    results: dict[str, dict[str, dict[str, list[float]]]] = {}
    skipped: dict[str, str] = {}
    for workload, setups in _setups(cfg).items():
        if workload not in only:
            continue
        steps = {}
        for engine, setup in setups.items():
            _log(f"{workload}: setting up {engine}")
            step = setup()
            if step is None:
                extra = "dask" if workload == "W6" else "bench"
                skipped[engine] = f"not installed (pip install -e '.[{extra}]')"
                continue
            steps[engine] = step
        results[workload] = {e: {} for e in steps}
        calls = {e: 0 for e in steps}
        first = 0 if cfg.warmup else 1
        for r in range(first, cfg.rounds + 1):
            _log(f"{workload}: round {r}/{cfg.rounds}" + (" (warm-up)" if r == 0 else ""))
            for engine, step in steps.items():
                gc.collect()
                out = burst(step, calls, engine)
                if r == 0:
                    continue
                for phase, t in out.items():
                    results[workload][engine].setdefault(phase, []).append(t)
        del steps
        gc.collect()
    return {"timed": results, "skipped": skipped}


def check_w5_parity() -> dict[str, bool]:
    """Whether W5 through run_batch (1 and 2 threads) equals the tape.run
    loop bit for bit (losses and parameter grads), per backend, at N = 520
    (9 tiles: room for 2 threads) on C and N = 100 on Python."""
    out = {}
    for b in _backends():
        n = 520 if b == "c" else 100
        runs = []
        for step in (engines.w5_run_loop(b, n), engines.w5_run_batch(b, n, 1),
                     engines.w5_run_batch(b, n, 2)):
            loss = step(0)["loss"]
            runs.append((loss, [p.grad for p in step.params]))  # type: ignore[attr-defined]
        out[b] = runs[0] == runs[1] == runs[2]
    return out


def check_parity() -> dict[str, bool]:
    """Whether replayed W1 steps equal eager ones bit for bit, per backend."""
    out = {}
    for b in _backends():
        eager, rep = engines.w1_autograd(b), engines.w1_replay(b)
        same = all(eager(k)["loss"] == rep(k)["loss"] for k in range(3))
        out[b] = same and engines.last_params(eager) == engines.last_params(rep)
    return out


def run_memory(cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {"W4": {}, "big": None}
    candidates = _backends() + [e for e, mod in (("micrograd", "micrograd"), ("torch 0-dim", "torch"))
                                if _available(mod)]
    for engine in candidates:
        _log(f"W4: {engine}")
        n = cfg.w4 if engine in ("c", "python") else cfg.w4_peer
        out["W4"][engine] = _subprocess(["w4", engine, str(n)])
    if cfg.big and "c" in _backends():
        _log(f"big: {cfg.big:,} nodes on the C backend")
        out["big"] = _subprocess(["big", str(cfg.big)])
    return out


def _subprocess(args: list[str]) -> dict[str, float] | None:
    proc = subprocess.run([sys.executable, "-m", "autograd.bench.memory", *args],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        _log(proc.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- summary
def median(xs: list[float]) -> float:
    return statistics.median(xs)


def ratio(timed: dict, workload: str, num: str, den: str, phase: str = "total",
          den_phase: str | None = None) -> float | None:
    """Median over rounds of num's time / den's time in the same round."""
    w = timed.get(workload, {})
    if num not in w or den not in w:
        return None
    a, b = w[num].get(phase), w[den].get(den_phase or phase)
    if not a or not b:
        return None
    return median([x / y for x, y in zip(a, b)])


def summarize(cfg: Config, timed: dict, memory: dict) -> dict[str, Any]:
    t = timed
    targets: list[dict[str, Any]] = []

    def target(name: str, value: float | None, goal: float, higher: bool, unit: str) -> None:
        met = None if value is None else (value >= goal if higher else value <= goal)
        targets.append({"target": name, "value": value, "goal": goal, "unit": unit,
                        "higher_is_better": higher, "met": met})

    per_node: dict[str, dict[str, dict[str, float]]] = {}
    for w, phases in (("W2", ("build", "backward", "free")), ("W3", ("backward",))):
        for engine, res in t.get(w, {}).items():
            n = nodes_of(w, engine, cfg)
            per_node.setdefault(w, {})[engine] = {p: median(res[p]) / n * 1e9 for p in phases}

    target("W1 eager C: micrograd time / C time", ratio(t, "W1", "micrograd", "c"), 40, True, "x")
    target("W1 eager C: torch 0-dim time / C time", ratio(t, "W1", "torch 0-dim", "c"), 25, True, "x")
    target("W1 forward: C / plain floats", ratio(t, "W1", "c", "plain floats", "forward"), 8, False, "x")
    target("W1 eager Python backend: micrograd / Python", ratio(t, "W1", "micrograd", "python"),
           12, True, "x")
    target("W2 backward, C, chain", per_node.get("W2", {}).get("c", {}).get("backward"), 10, False,
           "ns/node")
    target("W3 backward, C, random DAG", per_node.get("W3", {}).get("c", {}).get("backward"), 40,
           False, "ns/node")
    w4c = (memory["W4"].get("c") or {}).get("bytes_per_node")
    target("W4 bytes per retained node, C", w4c, 64, False, "B")
    rep = t.get("W1", {}).get("c replay")
    rep_ns = median(rep["forward+backward"]) / rep["nodes"][0] * 1e9 if rep else None
    target("W1 replay, C, forward+backward", rep_ns, 5, False, "ns/node")
    target("W1: torch batched time / C replay time", ratio(t, "W1", "torch batched", "c replay"), 2,
           True, "x")
    if t.get("W5"):
        ns = {}
        for engine, res in t["W5"].items():
            per = median(res["total"]) / w5_split(engine)[1] * 1e9
            ns[engine] = per
            per_node.setdefault("W5", {})[engine] = {"ns_per_sample": per}
        rb1, rb2 = "c run_batch, 1 thread", "c run_batch, 2 threads"
        torch1 = "torch batched, 1 thread"
        for n in (100, 10_000):
            target(f"W5 N={n:,}: torch batched 1 thread / C run_batch 1 thread",
                   ratio(t, "W5", w5_name(torch1, n), w5_name(rb1, n)), 3, True, "x")
        a, b = ns.get(w5_name(rb1, 100_000)), ns.get(w5_name(rb1, 10_000))
        target("W5 C run_batch 1 thread: per sample at N=100,000 / at N=10,000",
               a / b if a and b else None, 1.3, False, "x")
        target("W5 N=10,000: C run_batch 1 thread / 2 threads",
               ratio(t, "W5", w5_name(rb1, 10_000), w5_name(rb2, 10_000)), 1.7, True, "x")
    if t.get("W6"):
        for engine, res in t["W6"].items():
            per = median(res["total"]) / w5_split(engine)[1] * 1e9
            per_node.setdefault("W6", {})[engine] = {"ns_per_sample": per}
    if memory.get("big"):
        b = memory["big"]
        ok = b["nodes"] >= 10_000_000 and b["live_after_free"] <= 1 and b["grad_ok"] == 1.0
        targets.append({"target": f"{b['nodes']:,}-node graph built, back-propagated, freed "
                        "(total time)",
                        "value": b["build_s"] + b["backward_s"] + b["free_s"], "goal": None,
                        "unit": "s", "met": ok, "higher_is_better": False})
    return {"per_node": per_node, "targets": targets}


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "—"
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def _w5_table(t: dict[str, Any], w: str, title: str) -> list[str]:
    """W5's or W6's table: ns per sample by engine and N, in brackets the
    time over C run_batch on 1 thread at the same N."""
    res = t.get(w, {})
    if not res:
        return []
    sizes = sorted({w5_split(e)[1] for e in res})
    names = list(dict.fromkeys(w5_split(e)[0] for e in res))
    lines = [f"**{w}** {title} (ns per sample, wall clock; in brackets, time / C run_batch on "
             "1 thread at the same N)", "",
             "| engine | " + " | ".join(f"N = {n:,}" for n in sizes) + " |",
             "|---|" + "---:|" * len(sizes)]
    for name in names:
        cells = []
        for n in sizes:
            key = w5_name(name, n)
            if key not in res:
                cells.append("—")
                continue
            per = median(res[key]["total"]) / n * 1e9
            rel = ratio(t, w, key, w5_name("c run_batch, 1 thread", n))
            cells.append(f"{_fmt(per)} ({_fmt(rel)})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def markdown(cfg: Config, data: dict[str, Any]) -> str:
    t, summary, mem = data["timed"], data["summary"], data["memory"]
    clock = "CPU time of the process" if cfg.clock == "cpu" else "wall-clock time"
    lines = [f"autograd bench ({'quick' if cfg.quick else 'full'}: {cfg.rounds} rounds, engines "
             f"interleaved; medians of {clock}; ratios are medians of same-round ratios; "
             f"Python {platform.python_version()}, {platform.machine()})", ""]
    w1 = t.get("W1", {})
    if w1:
        lines += ["**W1** micrograd's demo step, MLP(2,[16,16,1]), 100 moons (ms)", "",
                  "| engine | forward | backward | update | free | total | total / C eager |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for engine, res in w1.items():
            def ms(p: str, res: dict = res) -> str:
                return _fmt(median(res[p]) * 1e3) if p in res else "—"
            fwd = ms("forward") if "forward" in res else f"{ms('forward+backward')} (fwd+bwd)"
            bwd = ms("backward") if "backward" in res else ""
            lines.append(f"| {engine} | {fwd} | {bwd} | {ms('update')} | {ms('free')} | {ms('total')} "
                         f"| {_fmt(ratio(t, 'W1', engine, 'c'))} |")
        lines.append("")
    for w, title, phases in (
            ("W2", "chain, x * c and + c alternating", ("build", "backward", "free")),
            ("W3", "random DAG, backward only", ("backward",))):
        per = summary["per_node"].get(w, {})
        if not per:
            continue
        lines += [f"**{w}** {title} (ns per node)", "",
                  "| engine | nodes | " + " | ".join(phases) + " |",
                  "|---|---:|" + "---:|" * len(phases)]
        for engine, vals in per.items():
            lines.append(f"| {engine} | {nodes_of(w, engine, cfg):,} | "
                         + " | ".join(_fmt(vals[p]) for p in phases) + " |")
        lines.append("")
    for w, title in (("W5", "W1's model over N moons: mean hinge loss and its parameter gradients"),
                     ("W6", "W5 on this machine's cores: one run_batch against autograd.dask on a "
                      "LocalCluster (a worker process per core, chunks of N/8 rows)")):
        lines += _w5_table(t, w, title)
    if mem["W4"]:
        lines += ["**W4** bytes per node retained by a live graph (a chain held by its root; "
                  "growth of the resident set)", "", "| engine | nodes | bytes/node |",
                  "|---|---:|---:|"]
        for engine, res in mem["W4"].items():
            nodes = f"{res['nodes']:,}" if res else "—"
            lines.append(f"| {engine} | {nodes} | {_fmt(res and res['bytes_per_node'])} |")
        lines.append("")
    if mem.get("big"):
        b = mem["big"]
        lines += [f"**10M** {b['nodes']:,} nodes on C: build {b['build_s']:.2f} s, backward "
                  f"{b['backward_s']:.2f} s, free {b['free_s']:.2f} s, peak RSS "
                  f"{b['peak_rss_bytes'] / 2**20:,.0f} MiB", ""]
    lines += ["**Targets**", "", "| target | measured | goal | met |", "|---|---:|---:|:---:|"]
    for tg in summary["targets"]:
        if tg["goal"] is None:
            goal = "done"
        else:
            goal = ("≥ " if tg["higher_is_better"] else "≤ ") + f"{_fmt(tg['goal'])} {tg['unit']}"
        met = {True: "yes", False: "**no**", None: "—"}[tg["met"]]
        lines.append(f"| {tg['target']} | {_fmt(tg['value'])} {tg['unit']} | {goal} | {met} |")
    lines.append("")
    par5 = data.get("w5_parity", {})
    if par5:
        lines.append("W5 through run_batch (1 and 2 threads) equals the tape.run loop bit for bit "
                     "(loss and parameter grads; N = 520 on C, 100 on Python): "
                     + ", ".join(f"{b}: {'yes' if ok else 'NO'}" for b, ok in par5.items()) + ".")
    par = data.get("parity", {})
    if par:
        lines.append("Three W1 steps replayed equal three eager steps bit for bit (losses and "
                     "parameters): " + ", ".join(f"{b}: {'yes' if ok else 'NO'}"
                                                 for b, ok in par.items()) + ".")
    if data["skipped"]:
        lines.append("Skipped: " + "; ".join(f"{e}: {why}" for e, why in data["skipped"].items()) + ".")
    lines.append("micrograd runs W1 and W4 only: its recursive topological sort fails past ~1,000 "
                 "levels, so W2 and W3 are out of its reach. PyTorch uses one thread, but for W5's "
                 "'default threads'.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m autograd bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller graphs, 3 rounds: under a minute")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (default 7, quick 3)")
    parser.add_argument("--wall", action="store_true",
                        help="time with the wall clock (default: CPU time of the process)")
    parser.add_argument("--render", metavar="FILE",
                        help="print the Markdown table of a run saved with --json, and exit")
    parser.add_argument("--only", choices=["W1", "W2", "W3", "W4", "W5", "W6"], action="append",
                        help="run only these workloads (repeatable; W6, which starts a Dask "
                        "LocalCluster, runs only when named)")
    args = parser.parse_args(argv)
    if args.render:
        with open(args.render) as f:
            data = json.load(f)
        cfg = Config(False, None)
        vars(cfg).update(data["config"])
        print(markdown(cfg, data))
        return 0
    cfg = Config(args.quick, args.rounds)
    if args.wall:
        cfg.clock = "wall"
        engines.clock = time.perf_counter
    only = set(args.only or ["W1", "W2", "W3", "W4", "W5"])
    timed = run_timed(cfg, only)
    memory = run_memory(cfg) if "W4" in only else {"W4": {}, "big": None}
    parity = check_parity() if "W1" in only else {}
    w5_parity = check_w5_parity() if "W5" in only else {}
    data = {"config": vars(cfg), "parity": parity, "w5_parity": w5_parity,
            "python": platform.python_version(), "machine": platform.machine(),
            "timed": timed["timed"], "skipped": timed["skipped"], "memory": memory}
    data["summary"] = summarize(cfg, data["timed"], memory)
    print(json.dumps(data, indent=1) if args.json else markdown(cfg, data))
    return 0
