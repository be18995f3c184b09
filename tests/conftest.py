"""One fixture runs every engine test on both backends.

AUTOGRAD_REQUIRE_C=1 makes a missing C engine an error for the whole run
(rather than a skip): a run meant to cover C must not pass on Python alone.
"""

from __future__ import annotations

import gc
import os
import sys

import pytest

import autograd as ag
from autograd import backend as ag_backend

REQUIRE_C = os.environ.get("AUTOGRAD_REQUIRE_C", "") not in ("", "0")

if os.environ.get("AUTOGRAD_SANITIZER"):
    # matplotlib's C++ extension aborts with libasan preloaded (tests/sanitize.sh):
    # under the sanitizers it counts as not installed, so the tests that need it
    # skip (pytest.importorskip) instead of killing the run
    sys.modules["matplotlib"] = None  # type: ignore[assignment]
BACKENDS = ["c", "python"]


def pytest_configure(config: pytest.Config) -> None:
    if REQUIRE_C and ag_backend.C_ENGINE is None:
        raise pytest.UsageError(
            f"AUTOGRAD_REQUIRE_C=1 but the C engine did not load: {ag_backend.C_ERROR}"
        )


def pytest_report_header(config: pytest.Config) -> str:
    c = "loaded" if ag_backend.C_ENGINE is not None else f"NOT loaded ({ag_backend.C_ERROR})"
    return f"autograd: C engine {c}; default backend {ag.get_backend()}; from {ag.__file__}"


def use_backend(name: str) -> None:
    if name not in ag.available_backends():
        if REQUIRE_C:
            pytest.fail(f"the C backend is required but did not load: {ag_backend.C_ERROR}")
        pytest.skip(f"the C backend did not load: {ag_backend.C_ERROR}")
    ag.set_backend(name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The test runs once per backend, with that backend current; afterwards
    the arena's invariants must hold."""
    saved = ag.get_backend()
    use_backend(request.param)
    try:
        yield request.param
    finally:
        ag.set_backend(saved)
    gc.collect()
    assert ag.check(request.param) == 0, "arena invariants violated"


@pytest.fixture
def both_backends():  # type: ignore[no-untyped-def]
    """For parity tests: both backends must be present (C may be skipped only
    when it is not required).  The caller's backend is restored afterwards."""
    saved = ag.get_backend()
    use_backend("c")
    try:
        yield BACKENDS
    finally:
        ag.set_backend(saved)
    gc.collect()
    assert ag.check() == 0
