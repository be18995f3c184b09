"""W5 of the bench (issue 12): its engines run and agree, its report renders.
No timing is asserted: speed is reported by `python -m autograd bench`."""

from __future__ import annotations

import pytest

from autograd.cli import bench
from autograd.cli.bench import engines


def test_w5_run_batch_equals_the_tape_run_loop(backend: str) -> None:
    n = 520 if backend == "c" else 70         # 9 tiles: room for 2 threads
    loop = engines.w5_run_loop(backend, n)
    want = loop(0)["loss"], [p.grad for p in loop.params]  # type: ignore[attr-defined]
    for threads in (1, 2):
        step = engines.w5_run_batch(backend, n, threads)
        assert (step(0)["loss"], [p.grad for p in step.params]) == want  # type: ignore[attr-defined]
    assert bench.check_w5_parity()[backend]


def test_w5_eager_and_torch_agree_closely() -> None:
    batch = engines.w5_run_batch("python", 20, 1)(0)["loss"]
    assert engines.w5_eager("python", 20)(0)["loss"] == batch
    torch_step = engines.w5_torch(20, 1)
    if torch_step is None:
        pytest.skip("torch is not installed")
    assert abs(torch_step(0)["loss"] - batch) < 1e-12


def test_w5_report_renders() -> None:
    cfg = bench.Config(quick=True, rounds=1)
    rb1, rb2 = "c run_batch, 1 thread", "c run_batch, 2 threads"
    timed = {"W5": {bench.w5_name(rb1, 100): {"total": [1e-4]},
                    bench.w5_name(rb2, 100): {"total": [6e-5]},
                    bench.w5_name("torch batched, 1 thread", 100): {"total": [4e-4]},
                    bench.w5_name(rb1, 10_000): {"total": [1e-2]},
                    bench.w5_name(rb2, 10_000): {"total": [5e-3]},
                    bench.w5_name(rb1, 100_000): {"total": [0.12]}}}
    memory = {"W4": {}, "big": None}
    data = {"config": vars(cfg), "timed": timed, "skipped": {}, "memory": memory,
            "w5_parity": {"c": True}}
    data["summary"] = bench.summarize(cfg, timed, memory)
    text = bench.markdown(cfg, data)
    assert "**W5**" in text and "| c run_batch, 1 thread | 1,000 (1) | 1,000 (1) | 1,200 (1) |" in text
    met = {t["target"]: t["met"] for t in data["summary"]["targets"]}
    assert met["W5 N=100: torch batched 1 thread / C run_batch 1 thread"] is True     # 4x
    assert met["W5 C run_batch 1 thread: per sample at N=100,000 / at N=10,000"] is True
    assert met["W5 N=10,000: C run_batch 1 thread / 2 threads"] is True              # 2x


def test_w6_report_renders() -> None:
    cfg = bench.Config(quick=False, rounds=1)
    rb1 = "c run_batch, 1 thread"
    timed = {"W6": {bench.w5_name(rb1, cfg.w6): {"total": [0.5]},
                    bench.w5_name(bench.W6_HELD, cfg.w6): {"total": [0.25]}}}
    memory = {"W4": {}, "big": None}
    data = {"config": vars(cfg), "timed": timed, "skipped": {}, "memory": memory}
    data["summary"] = bench.summarize(cfg, timed, memory)
    text = bench.markdown(cfg, data)
    assert "**W6**" in text and "**W5**" not in text
    assert f"| {bench.W6_HELD} | 250 (0.5) |" in text
