"""python -m autograd demo, end to end in a subprocess."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

import autograd as ag
from autograd.cli import demo

ROOT = Path(__file__).resolve().parent.parent


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "autograd", "demo", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_demo_defaults_reach_100_percent():
    """The issue's demo: micrograd's setup, 100 steps, on the default backend."""
    proc = run_demo()
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "MLP(2, [16, 16, 1]" in out and "337 parameters" in out and "100 moons" in out
    progress = [line for line in out.splitlines() if line.startswith("step ")]
    assert len(progress) == 11                      # steps 0, 10, ..., 90 and 99
    assert all("loss" in p and "accuracy" in p and "steps/s" in p for p in progress)
    assert progress[-1].startswith("step   99")
    assert "ms/step" in out
    assert "training accuracy after the last step: 100.0% (100/100)" in out


def test_demo_options_on_the_python_backend():
    if "python" not in ag.available_backends():  # always there; keeps the intent explicit
        pytest.skip("no python backend")
    proc = run_demo("--backend", "python", "--steps", "3", "--samples", "20", "--dataset", "circles",
                    "--seed", "7", "--log-every", "1")
    assert proc.returncode == 0, proc.stderr
    assert "20 circles" in proc.stdout and "seed 7" in proc.stdout
    assert "python backend" in proc.stdout
    assert sum(line.startswith("step ") for line in proc.stdout.splitlines()) == 3


@pytest.mark.skipif(
    bool(os.environ.get("AUTOGRAD_SANITIZER")),
    reason="matplotlib's C++ extension aborts with libasan preloaded (tests/sanitize.sh); "
    "the plot does not touch the C engine",
)
def test_demo_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "boundary.png"
    proc = run_demo("--steps", "2", "--samples", "20", "--plot", str(png))
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"decision boundary written to {png}" in proc.stdout


def test_demo_plot_without_matplotlib_fails_before_training(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import matplotlib -> ImportError
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    args = parser.parse_args(["--plot", str(tmp_path / "b.png")])
    assert demo.main(args) == 1
    captured = capsys.readouterr()
    assert 'pip install "scalar-autograd[plot]"' in captured.err
    assert "step" not in captured.out                       # no training was started


def test_demo_rejects_bad_options():
    proc = run_demo("--steps", "0")
    assert proc.returncode == 2 and "--steps" in proc.stderr
    proc = run_demo("--dataset", "spirals")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
