"""cffi build script for the C engine (out-of-line API mode).

setup.py names it in ``cffi_modules``; it compiles csrc/*.c into
``autograd._engine``.  -ffp-contract=off keeps the compiler from fusing a*b+c
into one rounding (that would break bitwise parity with the Python engine);
-ffast-math is never used (it would also flush subnormals process-wide).

Environment:
  AUTOGRAD_STRICT_BUILD=1   a failed compile fails the install (default: the
                            install goes on without the C engine, and import
                            warns that the Python engine is in use)
  AUTOGRAD_EXTRA_CFLAGS     more compiler and linker flags (the sanitizer build)
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["csrc/arena.c", "csrc/backward.c", "csrc/replay.c", "csrc/rules.c"]
CFLAGS = ["-O2", "-ffp-contract=off", "-fno-fast-math", "-std=c11", "-pthread"]


def _cdef_text() -> str:
    """csrc/autograd.h without its preprocessor lines, which cdef cannot parse."""
    header = (ROOT / "csrc" / "autograd.h").read_text()
    return "\n".join(line for line in header.splitlines() if not line.lstrip().startswith("#"))


extra = shlex.split(os.environ.get("AUTOGRAD_EXTRA_CFLAGS", ""))
strict = os.environ.get("AUTOGRAD_STRICT_BUILD", "") not in ("", "0")

ffibuilder = FFI()
ffibuilder.cdef(_cdef_text())
ffibuilder.set_source(
    "autograd._engine",
    '#include "autograd.h"',
    sources=SOURCES,
    include_dirs=["csrc"],
    depends=["csrc/autograd.h", "csrc/arena.h", "csrc/backward.h", "csrc/rules.h"],
    extra_compile_args=CFLAGS + extra,
    extra_link_args=["-pthread"] + extra,
    libraries=["m"],
    optional=not strict,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
