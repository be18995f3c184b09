"""A wheel built from this tree's sdist installs in a fresh venv and runs with backend "c"."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SMOKE = """
import autograd as ag
assert ag.get_backend() == "c", ag.get_backend()
assert "site-packages" in ag.__file__, ag.__file__
x = ag.Value(2.0)
y = x * x + 2 ** x - 1 / x
y.backward()
assert abs(x.grad - 7.022588722239782) < 1e-12, x.grad
print("ok", ag.__file__)
"""


@pytest.mark.slow
def test_wheel_installs_and_imports_from_anywhere(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRAD_")}
    env["AUTOGRAD_STRICT_BUILD"] = "1"
    # sdist first, then the wheel from the sdist: the sdist must carry csrc/.
    # `build` makes it in an isolated environment with pyproject's setuptools
    # (the one a venv comes with may be too old to read [project]).
    sdists = tmp_path / "sdist"
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(sdists), str(ROOT)],
        check=True, env=env, capture_output=True,
    )
    (sdist,) = sdists.glob("*.tar.gz")
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(sdist)],
        check=True, env=env,
    )
    (wheel,) = wheels.glob("*.whl")
    assert "none-any" not in wheel.name, "the wheel must be a platform wheel"
    venv.create(tmp_path / "venv", with_pip=True)
    py = str(tmp_path / "venv" / "bin" / "python")
    subprocess.run([py, "-m", "pip", "install", "-q", str(wheel)], check=True, env=env)
    out = subprocess.run([py, "-c", SMOKE], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok")
