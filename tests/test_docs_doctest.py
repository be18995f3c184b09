"""Every >>> example in README.md and docs/*.md passes (python -m doctest README.md
docs/*.md), on both backends; and the README's API block runs as written."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


class BackendBlindChecker(doctest.OutputChecker):
    """The docs show output of the default (c) backend; a report's header names
    the backend it ran on, the only text that differs between the two."""

    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        got = got.replace("(python backend", "(c backend")
        return super().check_output(want, got, optionflags)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_doctests_pass(backend, doc, tmp_path, monkeypatch):
    if not doc.exists():
        pytest.skip(f"{doc.name} is not part of this distribution")
    monkeypatch.chdir(tmp_path)                 # examples that write files write them here
    parser = doctest.DocTestParser()
    test = parser.get_doctest(doc.read_text(encoding="utf-8"), {}, doc.name, str(doc), 0)
    runner = doctest.DocTestRunner(checker=BackendBlindChecker())   # no flags: as python -m doctest
    failures: list[str] = []
    runner.run(test, out=failures.append)
    assert runner.failures == 0, "\n".join(failures)


def python_block(heading: str) -> str:
    """The first ```python block after a README heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(f"\n{heading}\n"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


@pytest.mark.parametrize("heading", ["## Ten lines", "## API"])
def test_readme_code_blocks_run(backend, heading):
    exec(compile(python_block(heading), f"README.md {heading}", "exec"), {})
