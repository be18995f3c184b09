"""The examples of docs/functional.md run, and pass, on both backends."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "functional.md"


def test_examples(backend: str) -> None:
    if not DOC.exists():
        pytest.skip("docs/ is not part of this distribution")
    failed, attempted = doctest.testfile(str(DOC), module_relative=False, verbose=False)
    assert attempted > 20 and failed == 0
