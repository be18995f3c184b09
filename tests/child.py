"""Run a test's child process: a fresh interpreter with a timeout, for the
cases that crash, hang or fork (they must not take pytest down with them)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def run_child(code: str, *args: str, timeout: float = 120, env: dict[str, str] | None = None,
              ) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (dedented) in a new interpreter with ``args`` as
    sys.argv[1:].  A child that times out fails the test with its output so
    far; the caller checks the return code (negative: killed by a signal)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                              capture_output=True, text=True, timeout=timeout, env=full_env)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr
        raise AssertionError(f"child hung (no exit within {timeout} s):\n{out}\n{err}") from None


def assert_ok(proc: subprocess.CompletedProcess[str]) -> str:
    """The child's stdout, once its exit status is 0."""
    assert proc.returncode == 0, (
        f"child exited with {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout
