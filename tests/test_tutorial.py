"""The tutorial's code must keep working: its expression blocks run, and the
explain and gradcheck output it shows is what the code prints today."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import autograd as ag

TUTORIAL = Path(__file__).resolve().parent.parent / "docs" / "tutorial.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", TUTORIAL.read_text(), re.S)


def test_tutorial_expression_and_picture(backend, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    forward, picture = blocks("python")[:2]
    scope: dict[str, object] = {}
    exec(forward, scope)
    assert scope["y"].data == 7.5  # type: ignore[attr-defined]
    if shutil.which("dot"):
        exec(picture, scope)
        assert (tmp_path / "graph.svg").exists()


def test_tutorial_shows_current_explain_and_gradcheck_output(backend):
    text = TUTORIAL.read_text()
    x = ag.Value(2.0)
    out = x * x + 2 ** x - 1 / x
    ex = ag.explain(out, names={"x": x, "out": out}, show=False)
    for line in str(ex).splitlines():
        assert line in text, f"the tutorial's explain output is stale: {line!r}"
    report = str(ag.gradcheck(lambda x: x * x + 2 ** x - 1 / x, [2.0]))
    for line in report.splitlines()[1:]:  # the first line names the backend
        assert line in text, f"the tutorial's gradcheck output is stale: {line!r}"


@pytest.mark.parametrize("path", ["graph.svg", "boundary.png"])
def test_tutorial_pictures_exist(path):
    assert (TUTORIAL.parent / path).stat().st_size > 1000
    assert f"]({path})" in TUTORIAL.read_text()
