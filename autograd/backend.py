"""Which engine new Values use.

The default is "c" when the compiled engine loads, else "python" with a
warning that says why.  AUTOGRAD_BACKEND=c|python forces one (c missing:
ImportError with the reason).  ``set_backend`` switches for new Values; Values
already made keep the engine that made them.
"""

from __future__ import annotations

import os
import warnings

from .engine import Engine
from .engine.python import ENGINE as PYTHON_ENGINE


class BackendWarning(UserWarning):
    """The C engine did not load and the pure-Python engine is in use."""


C_ENGINE: Engine | None
C_ERROR: str | None
try:
    from .engine.c import ENGINE as C_ENGINE

    C_ERROR = None
except ImportError as exc:
    C_ENGINE = None
    C_ERROR = f"{type(exc).__name__}: {exc}"

ENGINES: dict[str, Engine] = {"python": PYTHON_ENGINE}
if C_ENGINE is not None:
    ENGINES["c"] = C_ENGINE


def _choose_default() -> tuple[str, str]:
    forced = os.environ.get("AUTOGRAD_BACKEND", "").strip().lower()
    if forced == "c":
        if C_ENGINE is None:
            raise ImportError(f"AUTOGRAD_BACKEND=c, but the C engine did not load: {C_ERROR}")
        return "c", "AUTOGRAD_BACKEND=c"
    if forced == "python":
        return "python", "AUTOGRAD_BACKEND=python"
    if forced:
        raise ImportError(f"AUTOGRAD_BACKEND must be 'c' or 'python', not {forced!r}")
    if C_ENGINE is not None:
        return "c", "the compiled C engine loaded"
    warnings.warn(
        f"autograd: the C engine did not load ({C_ERROR}); using the pure-Python "
        "engine, which is much slower. Reinstall with a C compiler available "
        "(pip install -e . from a source checkout).",
        BackendWarning,
        stacklevel=3,
    )
    return "python", f"the C engine did not load ({C_ERROR})"


DEFAULT_BACKEND, DEFAULT_REASON = _choose_default()
BACKEND = DEFAULT_BACKEND
engine: Engine = ENGINES[BACKEND]


def get_backend() -> str:
    """The backend new Values use: "c" or "python"."""
    return BACKEND


def set_backend(name: str) -> None:
    """Use backend ``name`` ("c" or "python") for Values made from now on."""
    global BACKEND, engine
    if name not in ("c", "python"):
        raise ValueError(f"backend must be 'c' or 'python', not {name!r}")
    if name not in ENGINES:
        raise ImportError(f"the C backend is not available: {C_ERROR}")
    BACKEND = name
    engine = ENGINES[name]


def available_backends() -> list[str]:
    return [name for name in ("c", "python") if name in ENGINES]
