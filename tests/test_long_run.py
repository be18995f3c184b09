"""A short version of tests/long_run.py: memory stays flat over a few thousand
training steps.  The full run (200,000 steps) is a benchmark-style command; see
docs/reliability.md."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import autograd as ag

SCRIPT = Path(__file__).with_name("long_run.py")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("which, steps", [("c", "4000"), ("python", "1500")])
def test_training_loop_memory_is_flat(which, steps):
    if which not in ag.available_backends():
        pytest.skip("C engine not built")
    args = ["--steps", steps, "--backend", which]
    if os.environ.get("AUTOGRAD_SANITIZER"):
        # ASan's quarantine holds freed memory (up to 256 MB): RSS means nothing
        # there; live nodes and capacity must still be flat
        args += ["--rss-slack-kb", str(10**9)]
    proc = run(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK: memory is flat" in proc.stdout


def test_a_leak_of_one_node_per_step_is_caught():
    proc = run("--steps", "400", "--backend", "python", "--leak")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL: memory is not flat" in proc.stdout
